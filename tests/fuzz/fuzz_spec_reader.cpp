// SPDX-License-Identifier: MIT
// libFuzzer target: the inferable-quantizer spec reader (JSON, then the quantizers it
// describes). Anything but a qat::Error is a bug.
#include "common/error.h"
#include "export/spec_file.h"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        qat::exporter::parseSpecText(text, "fuzz.spec.json");
    } catch (const qat::Error&) {
    }
    return 0;
}
