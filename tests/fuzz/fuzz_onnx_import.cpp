// SPDX-License-Identifier: MIT
// libFuzzer target: the ONNX importer, from the protobuf bytes to the checked module (parse,
// opset and checker, conversion, the reference evaluation and the comparison on probes).
// Anything it refuses must be a qat::Error; a crash, a sanitizer report or another exception
// is a finding. Tensors are capped small so that no input can ask for gigabytes.
#include "common/error.h"
#include "model/onnx_graph.h"
#include "model/onnx_import.h"

#include <ATen/Parallel.h>

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    static const bool once = [] {
        at::set_num_threads(1);
        return true;
    }();
    (void)once;
    qat::model::OnnxImportOptions options;
    options.maxElements = int64_t(1) << 20;
    try {
        auto graph = qat::model::parseOnnxModel(std::string(reinterpret_cast<const char*>(data), size), "fuzz.onnx");
        qat::model::importOnnxGraph(std::move(graph), options);
    } catch (const qat::Error&) {
    }
    return 0;
}
