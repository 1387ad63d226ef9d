// SPDX-License-Identifier: MIT
// libFuzzer target: the plan file parser. A plan it accepts must survive a round trip
// (written back and parsed again to the same JSON); anything else must be a qat::Error.
#include "common/error.h"
#include "engine/quantization_plan.h"

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const std::string text(reinterpret_cast<const char*>(data), size);
    qat::engine::QuantizationPlan plan;
    try {
        plan = qat::engine::parsePlan(text, "fuzz.json");
    } catch (const qat::Error&) {
        return 0;
    }
    const auto written = qat::engine::planToJson(plan);
    try {
        const auto again = qat::engine::planToJson(qat::engine::parsePlan(written, "written.json"));
        if (again != written) {
            __builtin_trap(); // the writer and the parser disagree
        }
    } catch (const qat::Error&) {
        __builtin_trap(); // a plan the parser accepted was written back unreadable
    }
    return 0;
}
