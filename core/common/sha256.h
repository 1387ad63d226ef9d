// SPDX-License-Identifier: MIT
#pragma once

#include <string>

namespace qat {

/// SHA-256 of a file's content as 64 lowercase hex digits. Throws qat::Error when the file
/// cannot be read. Any thread.
std::string sha256File(const std::string& path);

/// SHA-256 of bytes, as hex.
std::string sha256(const std::string& bytes);

} // namespace qat
