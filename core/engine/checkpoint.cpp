// SPDX-License-Identifier: MIT
#include "engine/checkpoint.h"

#include "common/error.h"
#include "common/text.h"
#include "engine/qat_model.h"

#include <torch/csrc/jit/serialization/pickle.h>

#include <nlohmann/json.hpp>

#include <map>

namespace qat::engine {

namespace {

constexpr int64_t kFormat = 1;

// Every tensor of the model and its quantizers under a stable name.
std::map<std::string, at::Tensor> namedTensors(QatModel& model)
{
    std::map<std::string, at::Tensor> all;
    for (const auto& p : model.module().named_parameters(true)) {
        all["model." + p.name] = p.value;
    }
    for (const auto& b : model.module().named_buffers(true)) {
        all["model." + b.name] = b.value;
    }
    for (const auto& site : model.sites()) {
        for (const auto& p : model.table().at(size_t(site.slot)).parameters()) {
            all["quantizer." + site.name + "." + p.name] = p.tensor;
        }
    }
    return all;
}

std::string shapeText(at::IntArrayRef sizes)
{
    std::string text;
    for (auto s : sizes) {
        text += (text.empty() ? "" : "x") + std::to_string(s);
    }
    return "[" + text + "]";
}

} // namespace

std::string saveCheckpoint(QatModel& model, CheckpointForm form)
{
    auto all = namedTensors(model);
    if (form == CheckpointForm::Folded) {
        for (const auto& [name, tensor] : model.foldedTensors()) {
            all[name] = tensor;
        }
    }
    c10::Dict<std::string, at::Tensor> tensors;
    for (const auto& [name, tensor] : all) {
        tensors.insert(name, tensor.detach().clone());
    }
    nlohmann::json states = nlohmann::json::object();
    for (const auto& site : model.sites()) {
        states[site.name] = model.table().at(size_t(site.slot)).state();
    }
    c10::impl::GenericDict root(c10::StringType::get(), c10::AnyType::get());
    root.insert("format", kFormat);
    root.insert("tensors", tensors);
    root.insert("states", states.dump());
    const auto bytes = torch::jit::pickle_save(root);
    return std::string(bytes.begin(), bytes.end());
}

void loadCheckpoint(QatModel& model, const std::string& bytes)
{
    c10::IValue root;
    try {
        root = torch::jit::pickle_load(std::vector<char>(bytes.begin(), bytes.end()));
    } catch (const c10::Error& e) {
        throw Error("the stored checkpoint cannot be read (" + firstLine(e.what_without_backtrace())
                    + "); train the run again");
    }
    if (!root.isGenericDict() || !root.toGenericDict().contains("tensors")) {
        throw Error("the stored checkpoint is not a QAT Workbench checkpoint; train the run again");
    }
    const auto dict = root.toGenericDict();
    const auto format = dict.at("format").toInt();
    if (format != kFormat) {
        throw Error("the stored checkpoint has format " + std::to_string(format) + "; this version reads format "
                    + std::to_string(kFormat));
    }
    const auto saved = dict.at("tensors").toGenericDict();
    const auto states = nlohmann::json::parse(dict.at("states").toStringRef());
    at::NoGradGuard noGrad;
    for (auto& [name, tensor] : namedTensors(model)) {
        if (!saved.contains(name)) {
            throw Error("the checkpoint does not match the model and plan: it has no tensor '" + name
                        + "' (was the plan or the model changed after training?)");
        }
        const auto value = saved.at(name).toTensor();
        if (value.sizes() != tensor.sizes()) {
            throw Error("the checkpoint does not match the model: '" + name + "' is " + shapeText(value.sizes())
                        + " there and " + shapeText(tensor.sizes()) + " in the model");
        }
        tensor.copy_(value);
    }
    for (const auto& site : model.sites()) {
        model.table().at(size_t(site.slot)).restore(states.value(site.name, nlohmann::json::object()));
    }
}

} // namespace qat::engine
