// SPDX-License-Identifier: MIT
#include "model/loaded_model.h"

#include "common/error.h"
#include "common/text.h"
#include "model/model_file.h"

#include <torch/csrc/jit/serialization/import.h>

namespace qat::model {

LoadedModel loadModel(const std::string& path)
{
    checkModelFile(path);
    LoadedModel loaded;
    loaded.path = path;
    try {
        auto original = torch::jit::load(path, c10::Device(c10::kCPU));
        loaded.module = original.clone();
    } catch (const c10::Error& e) {
        throw ModelError(path + ": LibTorch cannot load it: " + firstLine(e.what_without_backtrace()));
    }
    try {
        loaded.forward = prepareForwardGraph(loaded.module);
    } catch (const ModelError& e) {
        throw ModelError(path + ": " + e.what());
    } catch (const c10::Error& e) {
        throw ModelError(path + ": cannot prepare forward(): " + firstLine(e.what_without_backtrace()));
    }
    return loaded;
}

} // namespace qat::model
