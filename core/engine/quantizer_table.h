// SPDX-License-Identifier: MIT
#pragma once
// The quantizers of one QAT model, reachable from its graph through the custom op
// qat::quantize(Tensor x, int table, int slot). Internal to the core.

#include "quantizers/inferable_quantizer.h"
#include "quantizers/quant_math.h"
#include "quantizers/trainable_quantizer.h"

#include <ATen/ATen.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace qat::quant {
class BuiltinQuantizerBase;
}

namespace qat::engine {

/// Owns one model's quantizers. Registered under a process-unique id for as long as it
/// lives, so several quantized models (a run and a comparison, two tests) coexist.
/// Used by one training thread at a time.
class QuantizerTable {
public:
    enum class Mode {
        Quantize = 1, ///< forward through each quantizer (training, evaluation)
        Observe,      ///< pass values through unchanged and feed them to observe() (calibration)
        Bypass,       ///< pass values through unchanged (the float model)
    };

    QuantizerTable();
    ~QuantizerTable();
    QuantizerTable(const QuantizerTable&) = delete;
    QuantizerTable& operator=(const QuantizerTable&) = delete;

    int64_t id() const { return m_id; }
    int64_t add(std::unique_ptr<quant::TrainableQuantizer> quantizer);
    size_t size() const { return m_quantizers.size(); }
    quant::TrainableQuantizer& at(size_t slot) { return *m_quantizers.at(slot); }
    const quant::TrainableQuantizer& at(size_t slot) const { return *m_quantizers.at(slot); }

    void setMode(Mode mode) { m_mode = mode; }
    Mode mode() const { return m_mode; }
    /// Per-slot switch (a disabled slot passes values through).
    void setEnabled(size_t slot, bool enabled) { m_enabled.at(slot) = enabled; }
    bool enabled(size_t slot) const { return m_enabled.at(slot); }
    /// Whether the slot's quantizer was fed data in Observe mode (a quantizer on a branch the
    /// model does not take for its inputs never is).
    bool observed(size_t slot) const { return m_observed.at(slot); }
    /// Puts another quantizer in a slot (init: auto installs the candidate it keeps) and
    /// returns the one that was there. Call before an optimizer holds the parameters.
    std::unique_ptr<quant::TrainableQuantizer> replace(size_t slot, std::unique_ptr<quant::TrainableQuantizer> quantizer);

    at::Tensor apply(int64_t slot, const at::Tensor& x);
    /// From now on apply(slot, x) is apply(slot, x * sign) * sign: +1 / -1 per channel of the
    /// slot's per-channel grid, shaped to broadcast against x (a weight whose BatchNorm trains;
    /// the tensor is read at every apply, so updating it in place takes effect). The built-in
    /// quantizers do it inside their kernels while training. Returns false, changing nothing,
    /// when the slot has a sign already or its quantizer's grid is not per channel along sign.
    bool setSign(size_t slot, const at::Tensor& sign);
    /// apply(slot, math::applyInputClamp(x, clamp)): the relu or hardtanh in front fused into
    /// the built-in quantizers' kernels while training; every other mode, and plugin
    /// quantizers, run the clamp op first.
    at::Tensor applyClamped(int64_t slot, const at::Tensor& x, const quant::math::InputClamp& clamp);
    /// math::convolve(apply(slot, x), conv): the model input's quantizer and the first layer,
    /// whose input gradient training then skips (conv_fusion.h); every other mode, and plugin
    /// quantizers, run the two apart.
    at::Tensor applyConv(int64_t slot, const at::Tensor& x, const quant::math::ConvReader& conv);
    /// apply(slot, clamp(batch_norm(x))) (clamp null: none): the BatchNorm in front, and its
    /// clamp, fused into the built-in quantizers' kernels while training (bn_fusion.h); every
    /// other mode, and plugin quantizers, run the ops first.
    at::Tensor applyBatchNorm(int64_t slot, const at::Tensor& x, const quant::math::BatchNormInput& bn,
                              const quant::math::InputClamp* clamp);
    /// A layer's bias on the int32 grid of its input and weight quantizers (integer kernels).
    at::Tensor applyBias(int64_t inputSlot, int64_t weightSlot, const at::Tensor& bias);
    /// That grid now (for export).
    quant::FakeQuantSpec biasGrid(int64_t inputSlot, int64_t weightSlot, int64_t channels) const;

    /// The first error a quantizer threw inside apply(): the TorchScript interpreter rewraps
    /// exceptions in a traceback of its own, so the trainer reports this one instead.
    struct Failure {
        int64_t slot = -1; ///< -1: none
        std::string message;
    };
    const Failure& failure() const { return m_failure; }

    /// While set, apply() keeps a copy of each slot's latest input (for per-layer parity),
    /// or only of the slots in `only` when it is not empty.
    void setCapture(std::map<int64_t, at::Tensor>* sink, std::set<int64_t> only = {})
    {
        m_capture = sink;
        m_captureOnly = std::move(only);
    }

private:
    at::Tensor applyUnchecked(int64_t slot, const at::Tensor& x);
    /// The slot's quantizer when it runs a fused form now (a built-in class, quantizing, no capture).
    quant::BuiltinQuantizerBase* fusing(int64_t slot);
    template <typename Fn>
    at::Tensor recordingFailure(int64_t slot, Fn&& fn);

    int64_t m_id;
    Mode m_mode = Mode::Quantize;
    std::vector<std::unique_ptr<quant::TrainableQuantizer>> m_quantizers;
    std::vector<bool> m_enabled;
    std::vector<bool> m_observed;
    std::vector<at::Tensor> m_signs;
    std::map<int64_t, at::Tensor>* m_capture = nullptr;
    std::set<int64_t> m_captureOnly;
    Failure m_failure;
};

/// The op's schema name, for graph rewriting and for checking exports.
constexpr const char* kQuantizeOp = "qat::quantize";
/// quantize_clamped(Tensor x, int table, int slot, float low, float? high): quantize(relu(x))
/// (high None) or quantize(hardtanh(x, low, high)), the form training runs (clamp_fusion.h).
constexpr const char* kQuantizeClampedOp = "qat::quantize_clamped";
/// quantize_conv(Tensor x, int table, int slot, Tensor weight, Tensor? bias, int[] stride,
/// int[] padding, int[] dilation, bool transposed, int[] output_padding, int groups):
/// aten::convolution(quantize(x), ...), the form training runs (conv_fusion.h).
constexpr const char* kQuantizeConvOp = "qat::quantize_conv";
/// quantize_batch_norm(Tensor x, int table, int slot, Tensor? weight, Tensor? bias, Tensor?
/// running_mean, Tensor? running_var, bool training, float momentum, float eps, bool clamped,
/// float low, float? high): quantize(batch_norm(x, ...)) or, when clamped,
/// quantize_clamped(batch_norm(x, ...), low, high), the form training runs (bn_fusion.h).
constexpr const char* kQuantizeBatchNormOp = "qat::quantize_batch_norm";

} // namespace qat::engine
