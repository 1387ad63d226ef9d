// SPDX-License-Identifier: MIT
#include "model/onnx_graph.h"

#include "common/error.h"

namespace qat::model {

namespace {

const OnnxAttribute* find(const OnnxNode& node, const std::string& attr, OnnxAttribute::Kind kind, const char* what)
{
    const auto found = node.attributes.find(attr);
    if (found == node.attributes.end()) {
        return nullptr;
    }
    if (found->second.kind != kind) {
        throw ModelError(node.label() + ": attribute '" + attr + "' should be " + what);
    }
    return &found->second;
}

} // namespace

int64_t OnnxNode::i(const std::string& attr, int64_t fallback) const
{
    const auto* a = find(*this, attr, OnnxAttribute::Kind::Int, "an integer");
    return a ? a->i : fallback;
}

float OnnxNode::f(const std::string& attr, float fallback) const
{
    const auto* a = find(*this, attr, OnnxAttribute::Kind::Float, "a float");
    return a ? a->f : fallback;
}

std::string OnnxNode::s(const std::string& attr, const std::string& fallback) const
{
    const auto* a = find(*this, attr, OnnxAttribute::Kind::String, "a string");
    return a ? a->s : fallback;
}

std::vector<int64_t> OnnxNode::ints(const std::string& attr, const std::vector<int64_t>& fallback) const
{
    const auto* a = find(*this, attr, OnnxAttribute::Kind::Ints, "a list of integers");
    return a ? a->ints : fallback;
}

std::vector<float> OnnxNode::floats(const std::string& attr) const
{
    const auto* a = find(*this, attr, OnnxAttribute::Kind::Floats, "a list of floats");
    return a ? a->floats : std::vector<float>{};
}

at::Tensor OnnxNode::t(const std::string& attr) const
{
    const auto* a = find(*this, attr, OnnxAttribute::Kind::Tensor, "a tensor");
    return a ? a->t : at::Tensor();
}

std::string OnnxNode::label() const
{
    const auto type = domain.empty() ? op : domain + "." + op;
    if (name.empty()) {
        return type + " node #" + std::to_string(index);
    }
    return "node '" + name + "' (" + type + ")";
}

} // namespace qat::model
