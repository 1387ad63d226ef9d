// SPDX-License-Identifier: MIT
#include "engine/qat_model.h"

#include "common/error.h"
#include "engine/bn_folding.h"
#include "engine/integer_bias.h"
#include "model/graph_util.h"
#include "model/layer_discovery.h"
#include "model/loaded_model.h"
#include "model/op_graph_builder.h"
#include "quantizers/quantizer_error.h"
#include "quantizers/quantizer_registry.h"
#include "targets/point_placement.h"
#include "targets/target_registry.h"

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

// The slot of the quantizer whose output a value is, through grid-preserving ops; -1 when
// the value is not quantized.
int64_t inputSlot(torch::jit::Value* value, const target::DeploymentTarget& target)
{
    const auto quantizeOp = c10::Symbol::fromQualString(kQuantizeOp);
    for (Node* n = value->node();; n = n->input(0)->node()) {
        if (n->kind() == quantizeOp) {
            return torch::jit::toIValue(n->input(2))->toInt();
        }
        if (n->inputs().empty() || !n->blocks().empty() || target.passThrough.count(model::normalisedOpName(n)) == 0) {
            return -1;
        }
    }
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
    qat->m_info.opGraph = model::buildOpGraph(graph, sites).graph;
    qat->m_info.layers = model::summariseLayers(
        sites, qat->m_module,
        target::placeActivationPoints(qat->m_info.opGraph, target::builtinTargets().find(target::kLegacyTarget)));
    if (qat->m_info.layers.empty()) {
        throw ModelError(path + ": no quantizable layer (conv, conv_transpose or linear) was found; there is "
                                "nothing to train with quantizers");
    }
    const auto& target = target::builtinTargets().find(plan.target);
    // Names and choices come from the graph as the user sees it (before BatchNorm folding).
    qat->m_layerPlans = resolvePlan(plan, qat->m_info.layers);
    validatePlan(qat->m_layerPlans, plan, registry);
    qat->m_pointPlans = resolvePoints(plan, qat->m_layerPlans, target::placeActivationPoints(qat->m_info.opGraph, target));
    validatePoints(qat->m_pointPlans, registry);
    checkTarget(plan, qat->m_layerPlans, qat->m_pointPlans);
    if (plan.foldBatchNorm) {
        qat->m_folded = foldBatchNorms(graph, qat->m_module, sites);
    }
    qat->m_integerBias = plan.integerBias && target.integerBias;
    qat->insertQuantizers(graph, sites, target, registry);
    torch::jit::EliminateDeadCode(loaded.forward.graph);
    auto* cu = qat->m_module._ivalue()->compilation_unit().get();
    auto* fn = cu->create_function(c10::QualifiedName(*qat->m_module.type()->name(), kMethodName),
                                   loaded.forward.graph, true);
    qat->m_module.type()->addMethod(fn);
    for (auto p : qat->m_module.parameters()) {
        p.set_requires_grad(true);
    }
    qat->m_info.quantizerCount = static_cast<int>(qat->m_table->size());
    return qat;
}

void QatModel::insertQuantizers(torch::jit::Graph& graph, const std::vector<model::LayerSite>& sites,
                                const target::DeploymentTarget& target, const quant::QuantizerRegistry& registry)
{
    m_table = std::make_unique<QuantizerTable>();
    auto& table = *m_table;
    const auto tableId = table.id();
    // Placed again on the folded graph: a unit that ended at a folded BatchNorm now ends at its
    // conv. Names do not change (folding only removes BatchNorms inside layer units).
    const auto ops = model::buildOpGraph(graph, sites);
    const auto points = target::placeActivationPoints(ops.graph, target);
    if (points.size() != m_pointPlans.size()) {
        throw Error("internal error: BatchNorm folding changed the activation points");
    }
    std::map<const Node*, const model::LayerSite*> siteOf;
    for (const auto& site : sites) {
        siteOf[site.node] = &site;
    }
    std::map<std::string, const LayerPlan*> planByLayer;
    for (const auto& lp : m_layerPlans) {
        planByLayer[lp.layer] = &lp;
    }
    std::map<std::string, int64_t> weightSlots;
    std::map<const Node*, bool> outputQuantized;
    const PointPlan* inputPlan = nullptr;
    for (size_t i = 0; i < points.size(); ++i) {
        const auto& point = points[i];
        const auto& pp = m_pointPlans[i];
        if (pp.name != point.name) {
            throw Error("internal error: activation point " + pp.name + " moved to " + point.name + " after folding");
        }
        if (point.isInput) {
            inputPlan = &pp;
            continue;
        }
        std::string kind = point.op;
        if (!point.afterLayer.empty()) {
            const auto& site = *siteOf.at(ops.nodes[size_t(point.root)]);
            kind = site.kind;
            outputQuantized[site.node] = pp.choice.enabled;
            const auto& lp = *planByLayer.at(point.afterLayer);
            const auto weight = model::attributeValue(m_module, *model::attributePath(site.weight))->toTensor();
            if (lp.weights.enabled) {
                auto found = weightSlots.find(site.weightPath);
                if (found == weightSlots.end()) {
                    quant::LayerContext context{site.weightPath, site.kind, weight.sizes().vec()};
                    const auto slot = table.add(makeQuantizer(registry, lp.weights, context));
                    found = weightSlots.emplace(site.weightPath, slot).first;
                    m_sites.push_back({site.weightPath, quant::Target::Weights, point.afterLayer, slot, weight});
                }
                torch::jit::WithInsertPoint guard(site.node);
                site.node->replaceInput(1, insertQuantize(graph, site.node->input(1), tableId, found->second));
            }
        }
        if (!pp.choice.enabled) {
            continue;
        }
        quant::LayerContext context{point.name, kind, {}};
        const auto slot = table.add(makeQuantizer(registry, pp.choice, context));
        m_sites.push_back({point.name, quant::Target::Activations, point.afterLayer, slot, {}});
        Node* last = ops.nodes[size_t(point.node)];
        Value* value = ops.values[size_t(point.node)];
        torch::jit::WithInsertPoint guard(last->next());
        auto* quantized = insertQuantize(graph, value, tableId, slot);
        value->replaceAllUsesAfterNodeWith(quantized->node(), quantized);
    }
    auto inputs = graph.inputs();
    if (inputPlan != nullptr && inputPlan->choice.enabled) {
        const auto slot = table.add(makeQuantizer(registry, inputPlan->choice, {"input", "input", {}}));
        m_sites.push_back({"input", quant::Target::Activations, "input", slot, {}});
        torch::jit::WithInsertPoint guard(graph.nodes().front());
        auto* quantized = insertQuantize(graph, inputs[1], tableId, slot);
        inputs[1]->replaceAllUsesAfterNodeWith(quantized->node(), quantized);
    }
    if (m_integerBias) {
        for (const auto& site : sites) {
            const auto weight = weightSlots.find(site.weightPath);
            if (weight != weightSlots.end() && outputQuantized[site.node]) {
                insertIntegerBias(graph, site, target, weight->second);
            }
        }
    }
}

void QatModel::insertIntegerBias(torch::jit::Graph& graph, const model::LayerSite& site,
                                 const target::DeploymentTarget& target, int64_t weightSlot)
{
    Value* bias = site.node->input(2);
    if (bias->type()->kind() == c10::TypeKind::NoneType || !model::attributePath(bias)) {
        return; // no bias (or one computed in forward()): nothing to put on a grid
    }
    const auto input = inputSlot(site.node->input(0), target);
    if (input < 0) {
        return; // a float input: the runtime runs this layer in float
    }
    // int32 accumulators are what 8-bit kernels use; wider operands have no such kernel.
    constexpr int kIntegerKernelBits = 8;
    if (m_table->at(size_t(input)).config().bits > kIntegerKernelBits
        || m_table->at(size_t(weightSlot)).config().bits > kIntegerKernelBits) {
        return;
    }
    torch::jit::WithInsertPoint guard(site.node);
    auto* quantized = graph.insert(c10::Symbol::fromQualString(kQuantizeBiasOp),
                                   {bias, graph.insertConstant(m_table->id()), graph.insertConstant(input),
                                    graph.insertConstant(weightSlot)});
    site.node->replaceInput(2, quantized);
    m_integerBiases.push_back({site.weightPath, input, weightSlot});
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
