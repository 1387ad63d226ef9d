// SPDX-License-Identifier: MIT
// libFuzzer target: the array readers behind `--data` (NumPy .npy and .npz, IDX of any rank,
// raw or gzip) on arbitrary bytes. Any qat::DataError is a correct answer; a crash, a
// sanitizer report, a leak, an allocation far beyond the input's size, or an array whose
// bytes do not match its shape is a bug.
#include "common/error.h"
#include "input_file.h"
#include "data/raw_array.h"

#include <cstdint>
#include <string>
#include <vector>

namespace {

void check(const qat::data::RawArray& a)
{
    if (a.bytes.size() != size_t(a.elements()) * qat::data::elementSize(a.type)) {
        __builtin_trap();
    }
    if (a.elements() > 0) {
        (void)a.at(a.elements() - 1); // the last element is readable
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const auto path = qat::fuzz::writeInputFile("array", data, size);
    if (path.empty()) {
        return 0;
    }
    try {
        check(qat::data::parseNpy(std::vector<uint8_t>(data, data + size), "input.npy"));
    } catch (const qat::DataError&) {
    }
    try {
        for (const auto& [name, array] : qat::data::readNpz(path)) {
            check(array);
        }
    } catch (const qat::DataError&) {
    }
    try {
        check(qat::data::readIdxArray(path));
    } catch (const qat::DataError&) {
    }
    return 0;
}
