// SPDX-License-Identifier: MIT
#pragma once
// The module tree of an imported ONNX model. Internal to the core.

#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/ir/ir.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace qat::model {

enum class TensorKind { Parameter = 1, Buffer };

/// A TorchScript module built in C++ whose submodules are created on demand along dotted
/// paths (features -> 0 -> weight). Every module has the `training` flag TorchScript modules
/// have (false: imported models start in eval mode). One thread.
class OnnxModuleTree {
public:
    /// className: the root's class, e.g. the file's stem.
    explicit OnnxModuleTree(const std::string& className);

    torch::jit::Module& root() { return m_root; }

    /// Registers t at path (submodules..., attribute name) and returns the path used, which
    /// differs only where the requested one is taken (a suffix is added). The module that
    /// holds the tensor gets class moduleClass when it is created here (e.g. "BatchNorm").
    std::vector<std::string> add(std::vector<std::string> path, const at::Tensor& t, TensorKind kind,
                                 const std::string& moduleClass);

    /// The prim::GetAttr chain from self (graph input 0) to path, inserted at the graph's
    /// insertion point; module prefixes are shared between calls.
    torch::jit::Value* getAttr(torch::jit::Graph& g, const std::vector<std::string>& path);

private:
    torch::jit::Module makeModule(const std::string& className);

    std::shared_ptr<torch::jit::CompilationUnit> m_cu;
    torch::jit::Module m_root;
    std::map<std::string, torch::jit::Value*> m_attrValues; ///< dotted path -> GetAttr output
};

} // namespace qat::model
