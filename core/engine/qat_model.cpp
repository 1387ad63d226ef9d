// SPDX-License-Identifier: MIT
#include "engine/qat_model.h"

#include "common/error.h"
#include "engine/bn_folding.h"
#include "engine/bn_fusion.h"
#include "engine/checkpoint.h"
#include "engine/clamp_fusion.h"
#include "engine/conv_fusion.h"
#include "engine/integer_bias.h"
#include "model/graph_util.h"
#include "quantizers/builtin_quantizer_base.h"
#include "model/layer_discovery.h"
#include "model/loaded_model.h"
#include "model/op_graph_builder.h"
#include "quantizers/quantizer_error.h"
#include "quantizers/quantizer_registry.h"
#include "quantizers/symmetric_quantizer.h"
#include "quantizers/uniform_quantizer.h"
#include "targets/point_placement.h"
#include "targets/target_registry.h"

#include <torch/csrc/jit/passes/dead_code_elimination.h>

#include <algorithm>
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
        // A quantizer alone cannot see its layer's output: auto starts from mse, and the
        // model replaces it with the best-scoring candidate after calibration.
        auto config = choice.config;
        if (config.init == quant::InitMethod::Auto) {
            config.init = quant::InitMethod::Mse;
        }
        auto quantizer = registry.create(choice.key, config);
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

// A weight quantizer that can take BatchNorm's scale when it is folded after training: the
// built-in per-channel grids other than power-of-two (SymmetricQuantizer::canScaleChannels).
bool scalesChannels(const quant::TrainableQuantizer& q)
{
    if (const auto* s = dynamic_cast<const quant::SymmetricQuantizer*>(&q)) return s->canScaleChannels();
    if (const auto* u = dynamic_cast<const quant::UniformQuantizer*>(&q)) return u->canScaleChannels();
    return false;
}

void scaleChannels(quant::TrainableQuantizer& q, const at::Tensor& factor)
{
    if (auto* s = dynamic_cast<quant::SymmetricQuantizer*>(&q)) s->scaleChannels(factor);
    else if (auto* u = dynamic_cast<quant::UniformQuantizer*>(&q)) u->scaleChannels(factor);
}

// The sign of BatchNorm's scale per channel, that of gamma (+1 where it is 0): the weight
// quantizer of a conv whose BatchNorm trains sees W * sign, the grid the folded weights will have.
at::Tensor foldSign(const BatchNormFold& fold)
{
    if (!fold.gamma.defined()) {
        return fold.perChannel(at::ones_like(fold.mean));
    }
    return fold.perChannel(at::where(fold.gamma < 0, at::full_like(fold.gamma, -1.0), at::ones_like(fold.gamma)));
}

// What folding multiplies a channel's quantizer range by: |gamma| / sqrt(var + eps), per
// output channel (kept above 0, so a dead channel's range stays positive).
at::Tensor rangeFactor(const BatchNormFold& fold)
{
    return fold.scale().abs().clamp_min(1e-12).flatten().to(at::kFloat).contiguous();
}

bool isBatchNormModule(const torch::jit::Module& m)
{
    const auto name = m.type()->name();
    return name && name->name().find("BatchNorm") != std::string::npos;
}

} // namespace

std::unique_ptr<QatModel> QatModel::build(const std::string& path, const QuantizationPlan& plan,
                                          const quant::QuantizerRegistry& registry, bool training)
{
    std::unique_ptr<QatModel> qat(new QatModel());
    qat->m_registry = &registry;
    qat->m_plan = plan;
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
        for (const auto& fold : findBatchNormFolds(qat->m_module, sites)) {
            if (training && plan.trainBatchNorm && qat->foldsAfterTraining(fold, sites[fold.site], registry)) {
                qat->m_pendingFolds.push_back(fold);
            } else {
                applyBatchNormFold(graph, qat->m_module, sites, fold);
                ++qat->m_folded;
            }
        }
    }
    qat->m_integerBias = plan.integerBias && target.integerBias;
    qat->insertQuantizers(graph, sites, target, registry);
    torch::jit::EliminateDeadCode(loaded.forward.graph);
    qat->m_fusedClamps = fuseInputClamps(loaded.forward.graph);
    qat->m_fusedBatchNorms = fuseBatchNorms(loaded.forward.graph);
    qat->m_fusedConvs = fuseInputConvs(loaded.forward.graph);
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

bool QatModel::foldsAfterTraining(const BatchNormFold& fold, const model::LayerSite& site,
                                  const quant::QuantizerRegistry& registry) const
{
    const auto name = model::layerName(site.weightPath);
    const auto lp = std::find_if(m_layerPlans.begin(), m_layerPlans.end(), [&](const LayerPlan& p) { return p.layer == name; });
    if (lp == m_layerPlans.end() || !lp->weights.enabled) {
        return true;
    }
    const auto probe = makeQuantizer(registry, lp->weights, {site.weightPath, site.kind, fold.weight.sizes().vec()});
    return scalesChannels(*probe);
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
    std::map<const Node*, size_t> pendingFold; // conv -> index in m_pendingFolds
    m_foldSigns.assign(m_pendingFolds.size(), at::Tensor());
    m_foldSlots.assign(m_pendingFolds.size(), -1);
    for (size_t i = 0; i < m_pendingFolds.size(); ++i) {
        pendingFold[sites[m_pendingFolds[i].site].node] = i;
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
            const auto pending = pendingFold.find(site.node);
            // The bias of a conv whose BatchNorm still trains is not the one deployed: the
            // folded bias gets its grid when foldedCopy() builds the folded model.
            outputQuantized[site.node] = pp.choice.enabled && pending == pendingFold.end();
            const auto& lp = *planByLayer.at(point.afterLayer);
            const auto weight = model::attributeValue(m_module, *model::attributePath(site.weight))->toTensor();
            if (lp.weights.enabled) {
                at::Tensor sign;
                if (pending != pendingFold.end()) {
                    sign = foldSign(m_pendingFolds[pending->second]).detach().clone();
                    m_foldSigns[pending->second] = sign;
                }
                auto found = weightSlots.find(site.weightPath);
                if (found == weightSlots.end()) {
                    quant::LayerContext context{site.weightPath, site.kind, weight.sizes().vec()};
                    const auto slot = table.add(makeQuantizer(registry, lp.weights, context));
                    noteAuto(slot, lp.weights);
                    found = weightSlots.emplace(site.weightPath, slot).first;
                    m_sites.push_back({site.weightPath, quant::Target::Weights, point.afterLayer, slot, weight, sign});
                }
                if (pending != pendingFold.end()) {
                    m_foldSlots[pending->second] = found->second;
                }
                torch::jit::WithInsertPoint guard(site.node);
                Value* w = site.node->input(1);
                if (sign.defined() && table.setSign(size_t(found->second), sign)) {
                    // conv(x, q(W * s) * s) with s = sign(gamma), then the BatchNorm. Folding
                    // multiplies the weights by |gamma| / sqrt(var + eps) per channel, and the
                    // quantizer's per-channel range with them: the folded conv computes what
                    // this one and the BatchNorm in eval mode compute (foldedCopy()). The
                    // table applies s inside the quantizer's kernel.
                    site.node->replaceInput(1, insertQuantize(graph, w, tableId, found->second));
                } else if (sign.defined()) {
                    // The same as multiplications in the graph (a grid not per channel along s).
                    const auto name = "qat_fold_sign_" + std::to_string(pending->second);
                    m_module.register_attribute(name, c10::TensorType::get(), sign, false, false);
                    Value* s = graph.insertGetAttr(graph.inputs()[0], name);
                    Value* q = insertQuantize(graph, graph.insert(c10::aten::mul, {w, s}), tableId, found->second);
                    site.node->replaceInput(1, graph.insert(c10::aten::mul, {q, s}));
                } else {
                    site.node->replaceInput(1, insertQuantize(graph, w, tableId, found->second));
                }
            }
        }
        if (!pp.choice.enabled) {
            continue;
        }
        quant::LayerContext context{point.name, kind, {}};
        const auto slot = table.add(makeQuantizer(registry, pp.choice, context));
        noteAuto(slot, pp.choice);
        m_sites.push_back({point.name, quant::Target::Activations, point.afterLayer, slot, {}, {}});
        Node* last = ops.nodes[size_t(point.node)];
        Value* value = ops.values[size_t(point.node)];
        torch::jit::WithInsertPoint guard(last->next());
        auto* quantized = insertQuantize(graph, value, tableId, slot);
        value->replaceAllUsesAfterNodeWith(quantized->node(), quantized);
    }
    auto inputs = graph.inputs();
    if (inputPlan != nullptr && inputPlan->choice.enabled) {
        const auto slot = table.add(makeQuantizer(registry, inputPlan->choice, {"input", "input", {}}));
        noteAuto(slot, inputPlan->choice);
        m_sites.push_back({"input", quant::Target::Activations, "input", slot, {}, {}});
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
    if (const auto value = model::attributeValue(m_module, *model::attributePath(bias)); !value || value->isNone()) {
        return; // a scripted layer built with bias=False: its Optional bias attribute is None
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
    refreshFoldSigns();
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
    if (on && m_batchNormFrozen) {
        freezeBatchNorm();
    }
}

void QatModel::freezeBatchNorm()
{
    m_batchNormFrozen = true;
    for (auto child : m_module.modules()) {
        if (isBatchNormModule(child)) {
            child.train(false);
        }
    }
}

void QatModel::refreshFoldSigns()
{
    if (m_foldSigns.empty()) {
        return;
    }
    at::NoGradGuard noGrad;
    for (size_t i = 0; i < m_foldSigns.size(); ++i) {
        if (m_foldSigns[i].defined()) {
            m_foldSigns[i].copy_(foldSign(m_pendingFolds[i]));
        }
    }
}

quant::QuantizerSnapshot QatModel::snapshot(const QuantizerSite& site) const
{
    auto snap = m_table->at(size_t(site.slot)).snapshot();
    const auto pending = std::find(m_foldSlots.begin(), m_foldSlots.end(), site.slot);
    if (site.target != quant::Target::Weights || pending == m_foldSlots.end()) {
        return snap;
    }
    at::NoGradGuard noGrad;
    const auto factor = rangeFactor(m_pendingFolds[size_t(pending - m_foldSlots.begin())]);
    const auto* f = factor.data_ptr<float>();
    for (auto& [name, values] : snap.values) {
        if (name == "zero_point" || values.size() != size_t(factor.numel())) {
            continue; // integers, or one value for every channel
        }
        for (size_t c = 0; c < values.size(); ++c) {
            values[c] *= f[c];
        }
    }
    return snap;
}

std::vector<std::pair<std::string, at::Tensor>> QatModel::foldedTensors() const
{
    at::NoGradGuard noGrad;
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    for (size_t i = 0; i < m_pendingFolds.size(); ++i) {
        const auto& fold = m_pendingFolds[i];
        tensors.emplace_back("model." + fold.weightPath, fold.weight * fold.scale());
        tensors.emplace_back("model." + BatchNormFold::biasName(fold.index), fold.foldedBias());
    }
    return tensors;
}

std::unique_ptr<QatModel> QatModel::foldedCopy()
{
    std::map<std::string, at::Tensor> factors; // the folded model's step scales
    {
        at::NoGradGuard noGrad;
        for (size_t i = 0; i < m_pendingFolds.size(); ++i) {
            const auto& fold = m_pendingFolds[i];
            const auto factor = rangeFactor(fold);
            factors[fold.weightPath] = factor.reshape(fold.scale().sizes()).to(fold.weight.scalar_type());
            if (m_foldSlots[i] >= 0) {
                scaleChannels(m_table->at(size_t(m_foldSlots[i])), factor);
            }
        }
        m_foldSlots.assign(m_foldSlots.size(), -1); // scaled once
    }
    const auto state = saveCheckpoint(*this, CheckpointForm::Folded);
    auto folded = build(m_info.path, m_plan, *m_registry);
    loadCheckpoint(*folded, state);
    folded->m_initChoices = m_initChoices;
    folded->m_foldFactors = std::move(factors);
    return folded;
}

void QatModel::calibrateWeights()
{
    refreshFoldSigns();
    for (const auto& site : m_sites) {
        if (site.target == quant::Target::Weights) {
            auto& quantizer = m_table->at(size_t(site.slot));
            quantizer.observe(site.quantizedTensor().detach());
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
    if (!m_autoSlots.empty() && m_scoringCount < kScoringSamples && x.dim() > 0) {
        const auto kept = x.slice(0, 0, std::min(x.size(0), kScoringSamples - m_scoringCount)).detach().clone();
        m_scoringCount += kept.size(0);
        m_scoringInputs.push_back(kept);
    }
}

void QatModel::noteAuto(int64_t slot, const QuantizerChoice& choice)
{
    // Plugin quantizers keep mse: what they observe is their own business.
    if (choice.config.init == quant::InitMethod::Auto
        && dynamic_cast<const quant::BuiltinQuantizerBase*>(&m_table->at(size_t(slot))) != nullptr) {
        m_autoSlots.push_back(slot);
    }
}

void QatModel::finishActivationCalibration()
{
    m_table->setMode(QuantizerTable::Mode::Quantize);
    m_unreachedPoints.clear();
    for (const auto& site : m_sites) {
        if (site.target == quant::Target::Activations && !m_table->observed(size_t(site.slot))) {
            // Nothing to measure: a neutral signed range, so the point still quantizes
            // should another input take its branch.
            m_table->at(size_t(site.slot)).observe(at::tensor({-1.0F, 0.0F, 1.0F}));
            m_unreachedPoints.push_back(site.name);
            m_autoSlots.erase(std::remove(m_autoSlots.begin(), m_autoSlots.end(), site.slot), m_autoSlots.end());
        }
    }
    // finishCalibration() frees what a quantizer observed; the candidates need it.
    std::map<int64_t, quant::calib::ValueSample> samples;
    for (auto slot : m_autoSlots) {
        if (auto* builtin = dynamic_cast<quant::BuiltinQuantizerBase*>(&m_table->at(size_t(slot)))) {
            samples[slot] = builtin->activationSample();
        }
    }
    for (const auto& site : m_sites) {
        if (site.target == quant::Target::Activations) {
            m_table->at(size_t(site.slot)).finishCalibration();
        }
    }
    if (!m_autoSlots.empty() && !m_scoringInputs.empty()) {
        m_initChoices = chooseInitialisations(*this, m_autoSlots, samples, at::cat(m_scoringInputs), *m_registry);
    }
    m_scoringInputs.clear();
}

std::vector<at::Tensor> QatModel::modelParameters() const
{
    std::vector<at::Tensor> params;
    for (const auto& p : m_module.parameters()) {
        params.push_back(p);
    }
    return params;
}

std::vector<at::Tensor> QatModel::modelStepScales() const
{
    std::vector<at::Tensor> scales;
    for (const auto& p : m_module.named_parameters()) {
        const auto found = m_foldFactors.find(p.name);
        scales.push_back(found == m_foldFactors.end() ? at::Tensor() : found->second);
    }
    return scales;
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
