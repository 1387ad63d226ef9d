// SPDX-License-Identifier: MIT
#include "common/zip_directory.h"

#include <algorithm>

namespace qat {

namespace {

uint32_t le(const char* p, int bytes)
{
    uint32_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
    return v;
}

} // namespace

std::optional<std::vector<ZipEntry>> readZipDirectory(std::istream& in)
{
    in.clear();
    in.seekg(0, std::ios::end);
    const auto size = static_cast<int64_t>(in.tellg());
    if (size < 22) return std::nullopt;
    // The end-of-central-directory record: the last PK\5\6 within 64 KiB + 22 of the end.
    const int64_t tailSize = std::min<int64_t>(size, 65535 + 22);
    std::string tail(size_t(tailSize), '\0');
    in.seekg(size - tailSize);
    if (!in.read(tail.data(), tailSize)) return std::nullopt;
    const auto eocd = tail.rfind(std::string("PK\x05\x06", 4));
    if (eocd == std::string::npos || eocd + 22 > tail.size()) return std::nullopt;
    const uint32_t entries = le(&tail[eocd + 10], 2);
    const uint32_t dirSize = le(&tail[eocd + 12], 4);
    const uint32_t dirOffset = le(&tail[eocd + 16], 4);
    if (int64_t(dirOffset) + int64_t(dirSize) > size) return std::nullopt;
    std::string dir(dirSize, '\0');
    in.seekg(dirOffset);
    if (!in.read(dir.data(), dirSize)) return std::nullopt;
    std::vector<ZipEntry> out;
    size_t pos = 0;
    for (uint32_t e = 0; e < entries; ++e) {
        if (pos + 46 > dir.size() || dir.compare(pos, 4, "PK\x01\x02", 4) != 0) return std::nullopt;
        const size_t nameLen = le(&dir[pos + 28], 2);
        if (pos + 46 + nameLen > dir.size()) return std::nullopt;
        ZipEntry entry;
        entry.method = int(le(&dir[pos + 10], 2));
        entry.compressed = le(&dir[pos + 20], 4);
        entry.size = le(&dir[pos + 24], 4);
        entry.localOffset = le(&dir[pos + 42], 4);
        entry.name = dir.substr(pos + 46, nameLen);
        out.push_back(std::move(entry));
        pos += 46 + nameLen + le(&dir[pos + 30], 2) + le(&dir[pos + 32], 2);
    }
    return out;
}

} // namespace qat
