// SPDX-License-Identifier: MIT
#pragma once
// For fuzz targets whose reader takes a path: the input bytes written to one scratch file
// per process (in $TMPDIR, which run_fuzzers.sh points into the build tree).

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace qat::fuzz {

/// The path of the file now holding data, or "" when it cannot be written.
inline std::string writeInputFile(const char* tag, const uint8_t* data, size_t size)
{
    static const std::string path = [tag] {
        const char* dir = std::getenv("TMPDIR");
        return std::string(dir != nullptr ? dir : "/tmp") + "/qatwb-fuzz-" + tag + "-" + std::to_string(getpid());
    }();
    FILE* file = std::fopen(path.c_str(), "wb");
    if (file == nullptr) {
        return {};
    }
    std::fwrite(data, 1, size, file);
    std::fclose(file);
    return path;
}

} // namespace qat::fuzz
