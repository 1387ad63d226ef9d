// SPDX-License-Identifier: MIT
#include "engine/qat_model.h"

#include "common/error.h"
#include "engine/bn_folding.h"
#include "model/graph_util.h"
#include "model/layer_discovery.h"
#include "model/loaded_model.h"
#include "quantizers/quantizer_error.h"
#include "quantizers/quantizer_registry.h"

#include <torch/csrc/jit/passes/dead_code_elimination.h>

#include <map>

namespace qat::engine {

using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

namespace {

Value* insertQuantize(Graph& graph, Value* input, int64_t table, int64_t slot)
{
    return graph.insert(c10::Symbol::fromQualString(kQuantizeOp),
                        {input, graph.insertConstant(table), graph.insertConstant(slot)});
}

std::unique_ptr<quant::TrainableQuantizer> makeQuantizer(const quant::QuantizerRegistry& registry,
                                                         const QuantizerChoice& choice, const quant::LayerContext& context)
{
    try {
        auto quantizer = registry.create(choice.key, choice.config);
        quantizer->initialize(context);
        return quantizer;
    } catch (const quant::QuantizerError& e) {
        throw Error(context.name + ": " + e.what());
    }
}

// True when value is what forward() returns (directly, or as an element of a returned tuple).
bool isModelOutput(Graph& graph, Value* value)
{
    for (const auto& use : value->uses()) {
        if (use.user == graph.return_node()
            || (use.user->kind() == c10::prim::TupleConstruct && use.user->output()->uses().size() == 1
                && use.user->output()->uses()[0].user == graph.return_node())) {
            return true;
        }
    }
    return false;
}

bool isBatchNormModule(const torch::jit::Module& m)
{
    const auto name = m.type()->name();
    return name && name->name().find("BatchNorm") != std::string::npos;
}

} // namespace

std::unique_ptr<QatModel> QatModel::build(const std::string& path, const QuantizationPlan& plan,
                                          const quant::QuantizerRegistry& registry)
{
    std::unique_ptr<QatModel> qat(new QatModel());
    auto loaded = model::loadModel(path);
    qat->m_float = model::loadModel(path).module;
    qat->m_module = loaded.module;
    auto& graph = *loaded.forward.graph;
    auto sites = model::findLayerSites(graph, qat->m_module, &qat->m_info.notes);
    qat->m_info.path = path;
    qat->m_info.layers = model::summariseLayers(sites, qat->m_module);
    if (qat->m_info.layers.empty()) {
        throw ModelError(path + ": no quantizable layer (conv, conv_transpose or linear) was found; there is "
                                "nothing to train with quantizers");
    }
    qat->m_layerPlans = resolvePlan(plan, qat->m_info.layers);
    validatePlan(qat->m_layerPlans, plan, registry);
    if (plan.foldBatchNorm) {
        qat->m_folded = foldBatchNorms(graph, qat->m_module, sites);
    }
    std::map<std::string, const LayerPlan*> planByLayer;
    for (const auto& lp : qat->m_layerPlans) {
        planByLayer[lp.layer] = &lp;
    }
    qat->m_table = std::make_unique<QuantizerTable>();
    auto& table = *qat->m_table;
    const auto tableId = table.id();

    std::map<std::string, int64_t> weightSlots;
    std::map<std::string, int> callIndex;
    for (auto& site : sites) {
        const auto layerName = model::layerName(site.weightPath);
        const auto& lp = *planByLayer.at(layerName);
        const auto weight = model::attributeValue(qat->m_module, *model::attributePath(site.weight))->toTensor();
        if (lp.weights.enabled) {
            auto found = weightSlots.find(site.weightPath);
            if (found == weightSlots.end()) {
                quant::LayerContext context{site.weightPath, site.kind, weight.sizes().vec()};
                const auto slot = table.add(makeQuantizer(registry, lp.weights, context));
                found = weightSlots.emplace(site.weightPath, slot).first;
                qat->m_sites.push_back({site.weightPath, quant::Target::Weights, layerName, slot, weight});
            }
            torch::jit::WithInsertPoint guard(site.node);
            site.node->replaceInput(1, insertQuantize(graph, site.node->input(1), tableId, found->second));
        }
        auto activations = lp.activations;
        if (isModelOutput(graph, site.activationNode->output())) {
            plan.output.applyTo(activations);
        }
        if (activations.enabled) {
            const int call = callIndex[layerName]++;
            const auto name = layerName + ":output" + (call > 0 ? "#" + std::to_string(call + 1) : "");
            quant::LayerContext context{name, site.kind, {}};
            const auto slot = table.add(makeQuantizer(registry, activations, context));
            qat->m_sites.push_back({name, quant::Target::Activations, layerName, slot, {}});
            Node* last = site.activationNode;
            torch::jit::WithInsertPoint guard(last->next());
            auto* quantized = insertQuantize(graph, last->output(), tableId, slot);
            last->output()->replaceAllUsesAfterNodeWith(quantized->node(), quantized);
        }
    }
    auto inputs = graph.inputs();
    const auto input = inputChoice(plan);
    if (input.enabled && inputs.size() > 1 && inputs[1]->type()->kind() == c10::TypeKind::TensorType) {
        const auto slot = table.add(makeQuantizer(registry, input, {"input", "input", {}}));
        qat->m_sites.push_back({"input", quant::Target::Activations, "input", slot, {}});
        torch::jit::WithInsertPoint guard(graph.nodes().front());
        auto* quantized = insertQuantize(graph, inputs[1], tableId, slot);
        inputs[1]->replaceAllUsesAfterNodeWith(quantized->node(), quantized);
    }
    torch::jit::EliminateDeadCode(loaded.forward.graph);
    auto* cu = qat->m_module._ivalue()->compilation_unit().get();
    auto* fn = cu->create_function(c10::QualifiedName(*qat->m_module.type()->name(), kMethodName),
                                   loaded.forward.graph, true);
    qat->m_module.type()->addMethod(fn);
    for (auto p : qat->m_module.parameters()) {
        p.set_requires_grad(true);
    }
    qat->m_info.quantizerCount = static_cast<int>(table.size());
    return qat;
}

at::Tensor QatModel::forward(const at::Tensor& x)
{
    return m_module.get_method(kMethodName)({x}).toTensor();
}

at::Tensor QatModel::floatForward(const at::Tensor& x)
{
    return m_float.forward({x}).toTensor();
}

void QatModel::train(bool on)
{
    m_module.train(on);
    m_float.train(false); // the teacher and baseline always run in eval mode
}

void QatModel::freezeBatchNorm()
{
    for (auto child : m_module.modules()) {
        if (isBatchNormModule(child)) {
            child.train(false);
        }
    }
}

void QatModel::calibrateWeights()
{
    for (const auto& site : m_sites) {
        if (site.target == quant::Target::Weights) {
            auto& quantizer = m_table->at(size_t(site.slot));
            quantizer.observe(site.weight.detach());
            quantizer.finishCalibration();
        }
    }
}

void QatModel::beginActivationCalibration()
{
    m_module.train(false);
    m_table->setMode(QuantizerTable::Mode::Observe);
}

void QatModel::observeBatch(const at::Tensor& x)
{
    at::NoGradGuard noGrad;
    forward(x);
}

void QatModel::finishActivationCalibration()
{
    m_table->setMode(QuantizerTable::Mode::Quantize);
    for (const auto& site : m_sites) {
        if (site.target == quant::Target::Activations) {
            m_table->at(size_t(site.slot)).finishCalibration();
        }
    }
}

std::vector<at::Tensor> QatModel::modelParameters() const
{
    std::vector<at::Tensor> params;
    for (const auto& p : m_module.parameters()) {
        params.push_back(p);
    }
    return params;
}

std::vector<at::Tensor> QatModel::quantizerParameters() const
{
    std::vector<at::Tensor> params;
    for (size_t i = 0; i < m_table->size(); ++i) {
        for (const auto& p : m_table->at(i).parameters()) {
            if (p.tensor.requires_grad()) {
                params.push_back(p.tensor);
            }
        }
    }
    return params;
}

} // namespace qat::engine
