// SPDX-License-Identifier: MIT
#pragma once
// A TorchScript model with trainable quantizers inserted into a private copy of its graph.
// Internal to the core (torch types); the UI and CLI use the training facade.

#include "engine/auto_init.h"
#include "engine/bn_folding.h"
#include "engine/quantization_plan.h"
#include "engine/quantizer_table.h"
#include "model/model_info.h"

#include <torch/csrc/jit/api/module.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace qat::quant {
class QuantizerRegistry;
}
namespace qat::target {
struct DeploymentTarget;
}
namespace qat::model {
struct LayerSite;
}

namespace qat::engine {

/// Where one quantizer sits.
struct QuantizerSite {
    std::string name;   ///< "features.0.weight", "features.0:output", "input"
    quant::Target target = quant::Target::Weights;
    std::string layer;  ///< layer name, "input", or empty for other activation points (add, pools)
    int64_t slot = 0;   ///< index in the model's QuantizerTable
    at::Tensor weight;  ///< the weight parameter (weight quantizers)
    /// While BatchNorm trains (QuantizationPlan::trainBatchNorm): the sign of its scale
    /// gamma / sqrt(var + eps) per output channel, kept current by the model; else undefined.
    at::Tensor foldSign;

    /// What the weight quantizer sees: the weight, folded with its BatchNorm when that trains.
    at::Tensor quantizedTensor() const { return foldSign.defined() ? weight * foldSign : weight; }
};

/// A layer whose bias is put on its integer kernel's int32 grid.
struct IntegerBiasSite {
    std::string weight;      ///< the layer's weight path ("features.0.weight")
    int64_t inputSlot = 0;   ///< the quantizer of the layer's input
    int64_t weightSlot = 0;  ///< the layer's weight quantizer
};

/// A quantized model: its own clone of the module with a `qat_forward` method whose graph
/// calls qat::quantize at every planned site, the quantizers, and a float copy of the
/// original model (the evaluation baseline and the distillation teacher). One thread at a time.
class QatModel {
public:
    /// Loads path twice (QAT copy and float copy), folds BatchNorm if the plan says so,
    /// creates and initialises the plan's quantizers, rewrites the graph.
    /// Throws qat::Error (ModelError for the file, Error for the plan).
    /// training: under a plan with trainBatchNorm, BatchNorm stays in the graph for training
    /// and foldedCopy() folds it at the end; otherwise (export, analysis) it is folded here.
    static std::unique_ptr<QatModel> build(const std::string& path, const QuantizationPlan& plan,
                                           const quant::QuantizerRegistry& registry, bool training = false);

    /// BatchNorms still training (build(..., true) under trainBatchNorm); 0 once folded.
    int trainingBatchNorms() const { return int(m_pendingFolds.size()); }
    /// The model as build() without training makes it (BatchNorm folded with its current
    /// running statistics) carrying this model's trained state, the weight quantizers'
    /// ranges scaled with the folded channels: what is evaluated, stored and exported after
    /// training. This model is spent (its quantizers are scaled). Throws qat::Error.
    std::unique_ptr<QatModel> foldedCopy();
    /// A quantizer's parameters as the deployed model has them: for a weight quantizer whose
    /// BatchNorm still trains, its ranges times that BatchNorm's |gamma| / sqrt(var + eps), as
    /// folding will scale them, so a plot does not jump when training ends.
    quant::QuantizerSnapshot snapshot(const QuantizerSite& site) const;
    /// The tensors folding changes, by checkpoint name ("model.<weight path>", "model.<folded
    /// bias>"): the folded weights and biases of the BatchNorms still training.
    std::vector<std::pair<std::string, at::Tensor>> foldedTensors() const;

    at::Tensor forward(const at::Tensor& x);
    at::Tensor floatForward(const at::Tensor& x);
    /// train(true) for training, train(false) for evaluation; both models. BatchNorm stays in
    /// eval mode after freezeBatchNorm().
    void train(bool on);
    /// Puts every BatchNorm left in the QAT model into eval mode (frozen statistics: it
    /// normalises with its running mean and variance and no longer updates them) for the
    /// rest of this model's life, train(true) included.
    void freezeBatchNorm();
    bool batchNormFrozen() const { return m_batchNormFrozen; }

    /// Weights: observe the (folded) weights. Activations: run batches through the model
    /// in eval mode with quantizers observing (the float forward), then set parameters.
    /// Quantizers configured with init auto are then chosen among candidates, scored on the
    /// first kScoringSamples observed inputs (chooseInitialisations()).
    void calibrateWeights();
    void beginActivationCalibration();
    void observeBatch(const at::Tensor& x);
    void finishActivationCalibration();
    /// What init: auto chose, one entry per auto quantizer (after finishActivationCalibration()).
    const std::vector<InitChoice>& initChoices() const { return m_initChoices; }
    /// Activation points no calibration batch reached (branches the model does not take for
    /// its inputs, such as attention's unused projection paths); their quantizers start from a
    /// default range [-1, 1] instead of failing the run.
    const std::vector<std::string>& unreachedPoints() const { return m_unreachedPoints; }
    static constexpr int64_t kScoringSamples = 128;

    std::vector<at::Tensor> modelParameters() const;
    std::vector<at::Tensor> quantizerParameters() const;
    /// For a model foldedCopy() made while training goes on: per parameter of
    /// modelParameters(), what the fold multiplied it by (|gamma| / sqrt(var + eps) per output
    /// channel, shaped like the weight), undefined for the rest. A step of d on W is one of
    /// k * d on the folded W' = k * W, so the trainer scales these weights' steps by k: the
    /// folded convs go on learning at the pace the conv before its BatchNorm did.
    std::vector<at::Tensor> modelStepScales() const;
    const std::vector<QuantizerSite>& sites() const { return m_sites; }
    QuantizerTable& table() { return *m_table; }
    const model::ModelInfo& info() const { return m_info; }
    const std::vector<LayerPlan>& layerPlans() const { return m_layerPlans; }
    /// Every activation point under the plan's target with the choice training uses.
    const std::vector<PointPlan>& pointPlans() const { return m_pointPlans; }
    int foldedBatchNorms() const { return m_folded; }
    /// ReLU / ReLU6 ops training runs inside the quantizer after them (clamp_fusion.h).
    int fusedClamps() const { return m_fusedClamps; }
    /// BatchNorms (still training) run inside the quantizer after them (bn_fusion.h).
    int fusedBatchNorms() const { return m_fusedBatchNorms; }
    /// How many input quantizers run inside the convolution reading them (conv_fusion.h).
    int fusedConvs() const { return m_fusedConvs; }
    /// The layers whose bias trains on the int32 grid (plan.integerBias and the target's).
    const std::vector<IntegerBiasSite>& integerBiases() const { return m_integerBiases; }
    torch::jit::Module& module() { return m_module; }
    /// The method whose graph calls qat::quantize (the training forward).
    static constexpr const char* kMethodName = "qat_forward";

private:
    QatModel() = default;
    void insertQuantizers(torch::jit::Graph& graph, const std::vector<model::LayerSite>& sites,
                          const target::DeploymentTarget& target, const quant::QuantizerRegistry& registry);
    void insertIntegerBias(torch::jit::Graph& graph, const model::LayerSite& site,
                           const target::DeploymentTarget& target, int64_t weightSlot);
    void noteAuto(int64_t slot, const QuantizerChoice& choice);
    void refreshFoldSigns();
    bool foldsAfterTraining(const BatchNormFold& fold, const model::LayerSite& site,
                            const quant::QuantizerRegistry& registry) const;

    std::unique_ptr<QuantizerTable> m_table;
    torch::jit::Module m_module;
    torch::jit::Module m_float;
    std::vector<QuantizerSite> m_sites;
    model::ModelInfo m_info;
    std::vector<LayerPlan> m_layerPlans;
    std::vector<PointPlan> m_pointPlans;
    int m_folded = 0;
    int m_fusedClamps = 0;
    int m_fusedBatchNorms = 0;
    int m_fusedConvs = 0;
    QuantizationPlan m_plan;
    // BatchNorms that train until foldedCopy(), and their signs (attributes the graph reads).
    std::vector<BatchNormFold> m_pendingFolds;
    std::vector<at::Tensor> m_foldSigns; // sign(gamma) per channel
    std::vector<int64_t> m_foldSlots;     // their weight quantizers, -1 for none
    bool m_batchNormFrozen = false;
    bool m_integerBias = false;
    std::vector<IntegerBiasSite> m_integerBiases;
    // init: auto. The registry creates the candidates; it outlives calibration (the trainer's).
    const quant::QuantizerRegistry* m_registry = nullptr;
    std::vector<int64_t> m_autoSlots;
    std::vector<at::Tensor> m_scoringInputs;
    int64_t m_scoringCount = 0;
    std::vector<InitChoice> m_initChoices;
    // Set by foldedCopy(): weight path -> |gamma| / sqrt(var + eps), shaped like the weight.
    std::map<std::string, at::Tensor> m_foldFactors;
    std::vector<std::string> m_unreachedPoints;
};

} // namespace qat::engine
