// SPDX-License-Identifier: MIT
#include "model/onnx_module_tree.h"

#include "model/graph_util.h"
#include "model/onnx_names.h"

namespace qat::model {

namespace {

constexpr const char* kNamespace = "__torch__.onnx_import.";

} // namespace

OnnxModuleTree::OnnxModuleTree(const std::string& className)
    : m_cu(std::make_shared<torch::jit::CompilationUnit>()), m_root(makeModule(sanitiseIdentifier(className)))
{
}

torch::jit::Module OnnxModuleTree::makeModule(const std::string& className)
{
    torch::jit::Module module(c10::QualifiedName(kNamespace + className), m_cu, /*shouldMangle=*/true);
    module.register_attribute("training", c10::BoolType::get(), false);
    return module;
}

std::vector<std::string> OnnxModuleTree::add(std::vector<std::string> path, const at::Tensor& t, TensorKind kind,
                                             const std::string& moduleClass)
{
    torch::jit::Module current = m_root;
    for (size_t i = 0; i + 1 < path.size(); ++i) {
        auto& part = path[i];
        // A tensor already holds this name: the submodule takes a suffixed one.
        while (current.type()->hasAttribute(part) && !current.attr(part).isModule()) {
            part += "_";
        }
        if (current.type()->hasAttribute(part)) {
            current = current.attr(part).toModule();
            continue;
        }
        auto child = makeModule(i + 2 == path.size() && !moduleClass.empty() ? sanitiseIdentifier(moduleClass) : "Module");
        current.register_module(part, child);
        current = child;
    }
    auto& name = path.back();
    if (current.type()->hasAttribute(name)) {
        int suffix = 1;
        while (current.type()->hasAttribute(name + "_" + std::to_string(suffix))) ++suffix;
        name += "_" + std::to_string(suffix);
    }
    const auto stored = t.detach().contiguous().clone();
    if (kind == TensorKind::Parameter) {
        current.register_parameter(name, stored.set_requires_grad(stored.is_floating_point()), false);
    } else {
        current.register_buffer(name, stored);
    }
    return path;
}

torch::jit::Value* OnnxModuleTree::getAttr(torch::jit::Graph& g, const std::vector<std::string>& path)
{
    torch::jit::Value* current = g.inputs()[0];
    std::vector<std::string> prefix;
    for (const auto& part : path) {
        prefix.push_back(part);
        const auto key = joinPath(prefix);
        const auto found = m_attrValues.find(key);
        if (found != m_attrValues.end()) {
            current = found->second;
            continue;
        }
        current = g.insertGetAttr(current, part);
        m_attrValues[key] = current;
    }
    return current;
}

} // namespace qat::model
