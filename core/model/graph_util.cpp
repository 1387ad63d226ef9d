// SPDX-License-Identifier: MIT
#include "model/graph_util.h"

namespace qat::model {

using torch::jit::Block;
using torch::jit::Node;
using torch::jit::Value;

void forEachNode(Block* block, const std::function<void(Node*)>& fn)
{
    for (Node* node : block->nodes()) {
        fn(node);
        for (Block* sub : node->blocks()) {
            forEachNode(sub, fn);
        }
    }
}

std::vector<Node*> allNodes(torch::jit::Graph& graph)
{
    std::vector<Node*> nodes;
    forEachNode(graph.block(), [&](Node* n) { nodes.push_back(n); });
    return nodes;
}

std::optional<std::vector<std::string>> attributePath(const Value* value)
{
    std::vector<std::string> reversed;
    const Value* current = value;
    while (current->node()->kind() == c10::prim::GetAttr) {
        reversed.push_back(current->node()->s(c10::attr::name));
        current = current->node()->input(0);
    }
    const auto& inputs = value->owningGraph()->inputs();
    if (reversed.empty() || inputs.empty() || current != inputs[0]) {
        return std::nullopt;
    }
    return std::vector<std::string>(reversed.rbegin(), reversed.rend());
}

std::optional<c10::IValue> attributeValue(const torch::jit::Module& root,
                                          const std::vector<std::string>& path)
{
    c10::IValue current = root._ivalue();
    for (const auto& name : path) {
        if (!current.isObject()) {
            return std::nullopt;
        }
        auto object = current.toObject();
        if (!object->type()->hasAttribute(name)) {
            return std::nullopt;
        }
        current = object->getAttr(name);
    }
    return current;
}

std::string joinPath(const std::vector<std::string>& path)
{
    std::string joined;
    for (const auto& part : path) {
        if (!joined.empty()) {
            joined += '.';
        }
        joined += part;
    }
    return joined;
}

std::string normalisedOpName(const Node* node)
{
    std::string name = node->kind().toUnqualString();
    if (name.size() > 1 && name.back() == '_' && name[name.size() - 2] != '_') {
        name.pop_back();
    }
    return name;
}

} // namespace qat::model
