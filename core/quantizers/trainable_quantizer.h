// SPDX-License-Identifier: MIT
#pragma once
// Part of the plugin SDK: the contract every trainable quantizer fulfils.

#include "quantizers/inferable_quantizer.h"
#include "quantizers/quantizer_types.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace qat::quant {

/// What a quantizer is told about the place it quantizes.
struct LayerContext {
    std::string name;          ///< "features.0.weight", or the activation point's name
    std::string kind;          ///< layer kind ("conv2d", "linear", "input", ...)
    std::vector<int64_t> shape;///< the weight's shape, or one activation batch's shape
};

/// One parameter tensor a quantizer owns.
struct QuantizerParameter {
    std::string name;  ///< "threshold", "min", "max", "scale", ...
    at::Tensor tensor; ///< requires_grad() says whether training updates it
};

/// A quantizer that fake-quantizes during training. Lifecycle: construct (the registry
/// validates the config) -> initialize(context) allocates parameters with their final
/// shapes -> observe(data) for calibration batches -> finishCalibration() sets parameters
/// -> forward() in training -> convertToInferable(); or, from a checkpoint, initialize ->
/// parameters loaded -> restore(). One thread at a time.
class TrainableQuantizer {
public:
    /// Throws QuantizerError when key.method is not one of supportedMethods.
    TrainableQuantizer(QuantizerKey key, QuantizerConfig config, std::vector<Method> supportedMethods);
    virtual ~TrainableQuantizer() = default;

    const QuantizerKey& key() const { return m_key; }
    const QuantizerConfig& config() const { return m_config; }
    const LayerContext& layer() const { return m_layer; }

    /// Stores the context and calls allocate(); call once.
    void initialize(const LayerContext& layer);
    /// Feeds calibration data (the weight itself, or activation batches). No gradients.
    virtual void observe(const at::Tensor& data) = 0;
    /// Sets the parameters from what observe() saw. Throws QuantizerError when nothing was seen.
    virtual void finishCalibration() = 0;
    /// Training-time fake quantization; differentiable in x and in the parameters.
    virtual at::Tensor forward(const at::Tensor& x) = 0;
    /// Every parameter tensor (trainable or not).
    virtual std::vector<QuantizerParameter> parameters() const = 0;
    /// Current parameter values for plots and storage.
    virtual QuantizerSnapshot snapshot() const = 0;
    /// The frozen deployment quantizer that reproduces forward() on the same input.
    virtual std::unique_ptr<InferableQuantizer> convertToInferable() const = 0;

    /// Checkpoints (a run's trained state, for export and re-runs) hold parameters() plus
    /// this: calibrated state kept outside the parameter tensors, e.g. an activation's
    /// signedness. Default: nothing.
    virtual nlohmann::json state() const { return nlohmann::json::object(); }
    /// Called instead of observe()/finishCalibration() when a checkpoint is loaded: the
    /// tensors of parameters() already hold their saved values and `state` is what state()
    /// returned. Override when the quantizer keeps more than its parameters. Default: nothing.
    virtual void restore(const nlohmann::json& state) { (void)state; }

protected:
    /// Creates the parameter tensors for layer().shape.
    virtual void allocate() = 0;

private:
    QuantizerKey m_key;
    QuantizerConfig m_config;
    LayerContext m_layer;
    bool m_initialized = false;
};

} // namespace qat::quant
