// SPDX-License-Identifier: MIT
#include "export/torchscript_export.h"

#include "common/error.h"
#include "engine/bn_fusion.h"
#include "engine/clamp_fusion.h"
#include "engine/conv_fusion.h"
#include "engine/integer_bias.h"
#include "engine/qat_model.h"
#include "engine/quantizer_table.h"
#include "model/graph_util.h"

#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>

#include <map>
#include <set>

namespace qat::exporter {

using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

namespace {

Value* insertFakeQuant(Graph& graph, Value* x, const quant::FakeQuantSpec& spec)
{
    if (!spec.perChannel) {
        return graph.insert(c10::aten::fake_quantize_per_tensor_affine,
                            {x, double(spec.scale.at(0)), int64_t(spec.zeroPoint.at(0)), spec.qmin, spec.qmax});
    }
    const auto n = int64_t(spec.scale.size());
    const auto scale = at::from_blob(const_cast<float*>(spec.scale.data()), {n}, at::kFloat).clone();
    const auto zeroPoint = at::from_blob(const_cast<int32_t*>(spec.zeroPoint.data()), {n}, at::kInt).clone();
    return graph.insert(c10::aten::fake_quantize_per_channel_affine,
                        {x, graph.insertConstant(scale), graph.insertConstant(zeroPoint), spec.axis, spec.qmin,
                         spec.qmax});
}

// Sets the tensor attribute at path ("features.0.weight") of root.
void setTensorAttribute(torch::jit::Module root, const std::string& path, const at::Tensor& value)
{
    auto module = root;
    size_t start = 0;
    for (size_t dot = path.find('.'); dot != std::string::npos; dot = path.find('.', start)) {
        module = module.attr(path.substr(start, dot - start)).toModule();
        start = dot + 1;
    }
    module.setattr(path.substr(start), value);
}

void removeMethod(torch::jit::Module& module, const std::string& name)
{
    if (module.find_method(name)) {
        module.type()->unsafeRemoveMethod(name);
        module._ivalue()->compilation_unit()->unsafeRemoveMethod(c10::QualifiedName(*module.type()->name(), name));
    }
}

} // namespace

torch::jit::Module makeExportModule(engine::QatModel& model,
                                    const std::vector<std::unique_ptr<quant::InferableQuantizer>>& inferables,
                                    std::vector<int64_t>* slotsInOrder)
{
    auto module = model.module();
    auto graph = module.get_method(engine::QatModel::kMethodName).graph()->copy();
    engine::unfuseBatchNorms(graph);  // BatchNorm kept by the plan, before its clamp and quantizer
    engine::unfuseInputClamps(graph); // the model's own relu / hardtanh ops, then the quantizers
    engine::unfuseInputConvs(graph);  // and its first convolution
    const auto quantizeOp = c10::Symbol::fromQualString(engine::kQuantizeOp);
    std::map<Node*, int64_t> slotOf;
    for (Node* node : model::allNodes(*graph)) {
        if (node->kind() != quantizeOp) {
            continue;
        }
        const auto slot = torch::jit::toIValue(node->input(2))->toInt();
        const auto& inferable = inferables.at(size_t(slot));
        if (!inferable) {
            throw Error("quantizer slot " + std::to_string(slot) + " has no inferable quantizer");
        }
        torch::jit::WithInsertPoint guard(node);
        auto* replaced = insertFakeQuant(*graph, node->input(0), inferable->fakeQuant());
        slotOf[replaced->node()] = slot;
        node->output()->replaceAllUsesWith(replaced);
        node->destroy();
    }
    // Integer biases: the same int32 grid training used, as LibTorch's own fake-quant op.
    const auto biasOp = c10::Symbol::fromQualString(engine::kQuantizeBiasOp);
    for (Node* node : model::allNodes(*graph)) {
        if (node->kind() != biasOp) {
            continue;
        }
        const auto input = torch::jit::toIValue(node->input(2))->toInt();
        const auto weight = torch::jit::toIValue(node->input(3))->toInt();
        const auto bias = model::attributeValue(module, *model::attributePath(node->input(0)))->toTensor();
        const auto grid = engine::biasGrid(inferables.at(size_t(input))->fakeQuant(),
                                           inferables.at(size_t(weight))->fakeQuant(), bias.size(0));
        torch::jit::WithInsertPoint guard(node);
        // A scripted module's bias is Optional[Tensor]; the fake-quant op takes a Tensor.
        auto* value = node->input(0);
        if (value->type()->kind() != c10::TypeKind::TensorType) {
            value = graph->insertUncheckedCast(value, c10::TensorType::get());
        }
        auto* replaced = insertFakeQuant(*graph, value, grid);
        slotOf[replaced->node()] = -1; // no quantizer of the plan: the ONNX writers' slot order skips it
        node->output()->replaceAllUsesWith(replaced);
        node->destroy();
    }
    // An export is for inference: fix every `training` flag to false, so BatchNorm's
    // statistics updates and training-only checks fold away.
    for (Node* node : model::allNodes(*graph)) {
        if (node->kind() == c10::prim::GetAttr && node->s(c10::attr::name) == "training") {
            torch::jit::WithInsertPoint guard(node);
            node->output()->replaceAllUsesWith(graph->insertConstant(false));
            node->destroy();
        }
    }
    torch::jit::ConstantPropagation(graph);
    torch::jit::EliminateDeadCode(graph);
    if (slotsInOrder) {
        slotsInOrder->clear();
        for (Node* node : model::allNodes(*graph)) {
            if (const auto found = slotOf.find(node); found != slotOf.end()) {
                slotsInOrder->push_back(found->second);
            }
        }
    }

    at::NoGradGuard noGrad;
    for (const auto& site : model.sites()) {
        if (site.target == quant::Target::Weights) {
            setTensorAttribute(module, site.name, inferables.at(size_t(site.slot))->forward(site.weight.detach()));
        }
    }
    for (const auto& p : module.named_parameters(true)) {
        p.value.set_requires_grad(false);
    }
    removeMethod(module, engine::QatModel::kMethodName);
    removeMethod(module, "forward");
    auto* cu = module._ivalue()->compilation_unit().get();
    auto* fn = cu->create_function(c10::QualifiedName(*module.type()->name(), "forward"), graph, true);
    module.type()->addMethod(fn);
    module.eval();
    return module;
}

std::vector<std::string> foreignOps(const torch::jit::Module& module)
{
    std::set<std::string> found;
    for (const auto& m : module.modules()) {
        for (const auto& method : m.get_methods()) {
            model::forEachNode(method.graph()->block(), [&](Node* n) {
                const std::string ns = n->kind().ns().toUnqualString();
                if (ns != "aten" && ns != "prim") {
                    found.insert(n->kind().toQualString());
                }
            });
        }
    }
    return {found.begin(), found.end()};
}

} // namespace qat::exporter
