// SPDX-License-Identifier: MIT
#pragma once
// The central directory of a zip archive (TorchScript files, NumPy .npz), read from the end of
// a file without reading the entries themselves. Plain data; any thread.

#include <cstdint>
#include <istream>
#include <optional>
#include <vector>
#include <string>

namespace qat {

struct ZipEntry {
    std::string name;
    int method = 0;           ///< 0 stored, 8 deflated
    uint64_t compressed = 0;  ///< 0xffffffff: zip64 (not read here)
    uint64_t size = 0;
    uint64_t localOffset = 0; ///< of the entry's local header
};

/// Every entry of the archive in `in` (positioned anywhere), or nothing when no intact
/// directory is found (not a zip, truncated, or a directory pointing past the end).
std::optional<std::vector<ZipEntry>> readZipDirectory(std::istream& in);

} // namespace qat
