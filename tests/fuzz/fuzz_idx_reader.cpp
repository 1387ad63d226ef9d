// SPDX-License-Identifier: MIT
// libFuzzer target: the IDX reader (images and labels, raw or gzip) on arbitrary bytes.
// Any qat::DataError is a correct answer; a crash, a sanitizer report, a leak or an
// allocation far beyond the input's size is a bug.
#include "common/error.h"
#include "training/idx_reader.h"

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

namespace {

std::string scratchFile()
{
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir != nullptr ? dir : "/tmp") + "/qatwb-fuzz-idx-" + std::to_string(getpid());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    static const std::string path = scratchFile();
    FILE* file = std::fopen(path.c_str(), "wb");
    if (file == nullptr) {
        return 0;
    }
    std::fwrite(data, 1, size, file);
    std::fclose(file);
    try {
        const auto images = qat::train::readIdxImages(path);
        if (int64_t(images.pixels.size()) != images.count * images.height * images.width) {
            __builtin_trap();
        }
    } catch (const qat::DataError&) {
    }
    try {
        qat::train::readIdxLabels(path);
    } catch (const qat::DataError&) {
    }
    return 0;
}
