// SPDX-License-Identifier: MIT
#include "model/loaded_model.h"

#include "common/error.h"
#include "common/text.h"
#include "common/version.h"
#include "model/model_file.h"
#include "model/onnx_import.h"

#include <torch/csrc/jit/serialization/import.h>

namespace qat::model {

namespace {

// Module::clone() copies tensors with autograd history (CloneBackward): make every
// parameter and buffer a leaf again, or the optimizer could not train them.
void detachTensors(torch::jit::Module& module)
{
    for (auto sub : module.modules()) {
        for (const auto& attr : sub.named_attributes(/*recurse=*/false)) {
            if (attr.value.isTensor()) {
                sub._ivalue()->setAttr(attr.name, attr.value.toTensor().detach());
            }
        }
    }
}

void loadTorchScript(const std::string& path, LoadedModel& loaded)
{
    checkModelFile(path);
    try {
        auto original = torch::jit::load(path, c10::Device(c10::kCPU));
        loaded.module = original.clone();
        detachTensors(loaded.module);
    } catch (const c10::Error& e) {
        throw ModelError(path + ": LibTorch cannot load it: " + firstLine(e.what_without_backtrace()));
    } catch (const std::exception& e) {
        // The code inside does not compile (a torch::jit::ErrorReport, not a c10::Error):
        // typically ops of a newer PyTorch.
        throw ModelError(path + ": LibTorch " + torchVersion() + " cannot compile the code inside it ("
                         + firstLine(e.what()) + "); a model saved by a newer PyTorch may use ops this version "
                           "lacks: save it with PyTorch " + torchVersion() + ", or script it without that op");
    }
}

} // namespace

LoadedModel loadModel(const std::string& path)
{
    LoadedModel loaded;
    loaded.path = path;
    if (isOnnxPath(path)) {
        auto imported = importOnnxModel(path);
        loaded.module = imported.module;
        loaded.notes = std::move(imported.notes);
    } else {
        loadTorchScript(path, loaded);
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
