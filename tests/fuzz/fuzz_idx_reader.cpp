// SPDX-License-Identifier: MIT
// libFuzzer target: the IDX reader (images and labels, raw or gzip) on arbitrary bytes.
// Any qat::DataError is a correct answer; a crash, a sanitizer report, a leak or an
// allocation far beyond the input's size is a bug.
#include "common/error.h"
#include "input_file.h"
#include "training/idx_reader.h"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const auto path = qat::fuzz::writeInputFile("idx", data, size);
    if (path.empty()) {
        return 0;
    }
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
