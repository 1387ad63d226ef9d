// SPDX-License-Identifier: MIT
#include "targets/deployment_target.h"

namespace qat::target {

namespace {

std::string joinOr(const std::vector<std::string>& parts)
{
    std::string text;
    for (size_t i = 0; i < parts.size(); ++i) {
        text += (i == 0 ? "" : (i + 1 == parts.size() ? " or " : ", ")) + parts[i];
    }
    return text;
}

} // namespace

bool isLayerOp(const std::string& op)
{
    return op == "linear" || op.rfind("conv", 0) == 0;
}

std::string NumberFormats::describe(bool weights) const
{
    std::vector<std::string> parts;
    std::vector<std::string> names;
    for (auto m : methods) {
        names.push_back(quant::toString(m));
    }
    parts.push_back(names.empty() ? "any method" : joinOr(names));
    std::vector<std::string> widths;
    for (auto it = bits.rbegin(); it != bits.rend(); ++it) {
        widths.push_back(std::to_string(*it));
    }
    parts.push_back(widths.empty() ? "any bit width" : joinOr(widths) + " bits");
    if (weights && !(perChannel && perTensor)) {
        parts.push_back(perChannel ? "per channel" : "per tensor");
    }
    std::string text;
    for (const auto& p : parts) {
        text += (text.empty() ? "" : ", ") + p;
    }
    return text;
}

OpRole DeploymentTarget::roleOf(const model::OpNode& node) const
{
    if (!node.layer.empty()) {
        return OpRole::Layer;
    }
    return passThrough.count(node.op) > 0 ? OpRole::PassThrough : OpRole::Quantize;
}

const std::set<std::string>& DeploymentTarget::fusedAfter(const std::string& op) const
{
    static const std::set<std::string> kNone;
    const auto key = op == "linear" ? op : (isLayerOp(op) ? std::string("conv") : op);
    const auto found = fusing.find(key);
    return found == fusing.end() ? kNone : found->second;
}

} // namespace qat::target
