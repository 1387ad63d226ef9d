// SPDX-License-Identifier: MIT
#include "engine/quantizer_table.h"

#include "common/error.h"
#include "engine/integer_bias.h"
#include "quantizers/uniform_quantizer.h"

#include <torch/library.h>

#include <atomic>
#include <mutex>
#include <typeinfo>
#include <unordered_map>

namespace qat::engine {

namespace {

std::mutex& tablesMutex()
{
    static std::mutex mutex;
    return mutex;
}

std::unordered_map<int64_t, QuantizerTable*>& tables()
{
    static std::unordered_map<int64_t, QuantizerTable*> map;
    return map;
}

std::atomic<int64_t> nextId{1};

// The kernel is CompositeImplicitAutograd: autograd records whatever the quantizer does,
// including its own parameter tensors, so no backward needs writing here.
QuantizerTable& tableOf(int64_t table)
{
    QuantizerTable* found = nullptr;
    {
        std::lock_guard<std::mutex> lock(tablesMutex());
        auto it = tables().find(table);
        found = it == tables().end() ? nullptr : it->second;
    }
    if (found == nullptr) {
        throw Error("qat::quantize: quantizer table " + std::to_string(table)
                    + " no longer exists (the QAT model was destroyed)");
    }
    return *found;
}

at::Tensor quantizeKernel(const at::Tensor& x, int64_t table, int64_t slot)
{
    return tableOf(table).apply(slot, x);
}

// The ops' (low, high) clamp arguments; no high end: a ReLU.
quant::math::InputClamp clampOf(double low, c10::optional<double> high)
{
    quant::math::InputClamp clamp;
    clamp.low = low;
    if (high) {
        clamp.high = *high;
    }
    return clamp;
}

at::Tensor quantizeClampedKernel(const at::Tensor& x, int64_t table, int64_t slot, double low,
                                 c10::optional<double> high)
{
    return tableOf(table).applyClamped(slot, x, clampOf(low, high));
}

at::Tensor quantizeConvKernel(const at::Tensor& x, int64_t table, int64_t slot, const at::Tensor& weight,
                              const c10::optional<at::Tensor>& bias, std::vector<int64_t> stride,
                              std::vector<int64_t> padding, std::vector<int64_t> dilation, bool transposed,
                              std::vector<int64_t> outputPadding, int64_t groups)
{
    auto conv = quant::math::convReader(std::move(stride), std::move(padding), std::move(dilation), transposed,
                                        std::move(outputPadding), groups);
    conv.weight = weight;
    conv.bias = bias && bias->defined() ? *bias : at::Tensor();
    return tableOf(table).applyConv(slot, x, conv);
}

at::Tensor quantizeBatchNormKernel(const at::Tensor& x, int64_t table, int64_t slot,
                                  const c10::optional<at::Tensor>& weight, const c10::optional<at::Tensor>& bias,
                                  const c10::optional<at::Tensor>& runningMean,
                                  const c10::optional<at::Tensor>& runningVar, bool training, double momentum,
                                  double eps, bool clamped, double low, c10::optional<double> high)
{
    const auto value = [](const c10::optional<at::Tensor>& t) { return t ? *t : at::Tensor(); };
    quant::math::BatchNormInput bn;
    bn.weight = value(weight);
    bn.bias = value(bias);
    bn.runningMean = value(runningMean);
    bn.runningVar = value(runningVar);
    bn.training = training;
    bn.momentum = momentum;
    bn.eps = eps;
    const auto clamp = clampOf(low, high);
    return tableOf(table).applyBatchNorm(slot, x, bn, clamped ? &clamp : nullptr);
}

// Biases are Optional[Tensor] attributes in scripted modules; the op passes None through.
c10::optional<at::Tensor> quantizeBiasKernel(const c10::optional<at::Tensor>& bias, int64_t table, int64_t inputSlot,
                                             int64_t weightSlot)
{
    if (!bias || !bias->defined()) {
        return bias;
    }
    return tableOf(table).applyBias(inputSlot, weightSlot, *bias);
}

} // namespace

TORCH_LIBRARY(qat, m)
{
    m.def("quantize(Tensor x, int table, int slot) -> Tensor");
    m.def("quantize_clamped(Tensor x, int table, int slot, float low, float? high) -> Tensor");
    m.def("quantize_conv(Tensor x, int table, int slot, Tensor weight, Tensor? bias, int[] stride, int[] padding, "
          "int[] dilation, bool transposed, int[] output_padding, int groups) -> Tensor");
    m.def("quantize_batch_norm(Tensor x, int table, int slot, Tensor? weight, Tensor? bias, Tensor? running_mean, "
          "Tensor? running_var, bool training, float momentum, float eps, bool clamped, float low, float? high) -> "
          "Tensor");
    m.def("quantize_bias(Tensor? bias, int table, int input_slot, int weight_slot) -> Tensor?");
}

TORCH_LIBRARY_IMPL(qat, CompositeImplicitAutograd, m)
{
    m.impl("quantize", &quantizeKernel);
    m.impl("quantize_clamped", &quantizeClampedKernel);
    m.impl("quantize_conv", &quantizeConvKernel);
    m.impl("quantize_batch_norm", &quantizeBatchNormKernel);
    m.impl("quantize_bias", &quantizeBiasKernel);
}

QuantizerTable::QuantizerTable() : m_id(nextId++)
{
    std::lock_guard<std::mutex> lock(tablesMutex());
    tables()[m_id] = this;
}

QuantizerTable::~QuantizerTable()
{
    std::lock_guard<std::mutex> lock(tablesMutex());
    tables().erase(m_id);
}

int64_t QuantizerTable::add(std::unique_ptr<quant::TrainableQuantizer> quantizer)
{
    m_quantizers.push_back(std::move(quantizer));
    m_enabled.push_back(true);
    m_observed.push_back(false);
    m_signs.emplace_back();
    return static_cast<int64_t>(m_quantizers.size() - 1);
}

std::unique_ptr<quant::TrainableQuantizer> QuantizerTable::replace(size_t slot,
                                                                   std::unique_ptr<quant::TrainableQuantizer> quantizer)
{
    std::swap(m_quantizers.at(slot), quantizer);
    return quantizer;
}

template <typename Fn>
at::Tensor QuantizerTable::recordingFailure(int64_t slot, Fn&& fn)
{
    // Quantizers may come from plugins: keep what they throw, in their own words.
    try {
        return fn();
    } catch (const c10::Error& e) {
        if (m_failure.slot < 0) {
            m_failure = {slot, e.what_without_backtrace()};
        }
        throw;
    } catch (const std::exception& e) {
        if (m_failure.slot < 0) {
            m_failure = {slot, e.what()};
        }
        throw;
    }
}

bool QuantizerTable::setSign(size_t slot, const at::Tensor& sign)
{
    const auto& config = at(slot).config();
    const auto& shape = at(slot).layer().shape;
    const auto axis = config.channelAxis;
    const bool alongAxis = config.perChannel && axis >= 0 && size_t(axis) < shape.size()
                           && sign.dim() == int64_t(shape.size()) && sign.size(axis) == sign.numel()
                           && sign.numel() == shape[size_t(axis)];
    if (m_signs.at(slot).defined() || !alongAxis || sign.scalar_type() != at::kFloat) {
        return false;
    }
    m_signs[slot] = sign;
    return true;
}

at::Tensor QuantizerTable::apply(int64_t slot, const at::Tensor& x)
{
    return recordingFailure(slot, [&] {
        const auto& sign = m_signs[size_t(slot)];
        if (!sign.defined()) {
            return applyUnchecked(slot, x);
        }
        if (auto* builtin = fusing(slot)) {
            return builtin->forwardSigned(x, sign);
        }
        // Calibration observes, and a plugin quantizes, the weight with its signs.
        return applyUnchecked(slot, x * sign) * sign;
    });
}

quant::BuiltinQuantizerBase* QuantizerTable::fusing(int64_t slot)
{
    auto& quantizer = *m_quantizers.at(size_t(slot));
    // Only the built-in classes themselves hand a clamp or a convolution to their kernel (a
    // subclass's own forward() would not).
    const auto& type = typeid(quantizer);
    const bool fuses = type == typeid(quant::SymmetricQuantizer) || type == typeid(quant::UniformQuantizer)
                       || type == typeid(quant::LsqPlusQuantizer);
    if (!fuses || m_mode != Mode::Quantize || !m_enabled.at(size_t(slot)) || m_capture != nullptr) {
        return nullptr;
    }
    return &static_cast<quant::BuiltinQuantizerBase&>(quantizer);
}

at::Tensor QuantizerTable::applyClamped(int64_t slot, const at::Tensor& x, const quant::math::InputClamp& clamp)
{
    auto* builtin = fusing(slot);
    if (builtin == nullptr) {
        return apply(slot, quant::math::applyInputClamp(x, clamp));
    }
    return recordingFailure(slot, [&] { return builtin->forwardClamped(x, clamp); });
}

at::Tensor QuantizerTable::applyBatchNorm(int64_t slot, const at::Tensor& x, const quant::math::BatchNormInput& bn,
                                          const quant::math::InputClamp* clamp)
{
    auto* builtin = fusing(slot);
    if (builtin == nullptr) {
        const auto y = quant::math::batchNorm(x, bn);
        return apply(slot, clamp != nullptr ? quant::math::applyInputClamp(y, *clamp) : y);
    }
    return recordingFailure(slot, [&] { return builtin->forwardBatchNorm(x, bn, clamp); });
}

at::Tensor QuantizerTable::applyConv(int64_t slot, const at::Tensor& x, const quant::math::ConvReader& conv)
{
    auto* builtin = fusing(slot);
    if (builtin == nullptr) {
        return quant::math::convolve(apply(slot, x), conv);
    }
    return recordingFailure(slot, [&] { return builtin->forwardIntoConv(x, conv); });
}

quant::FakeQuantSpec QuantizerTable::biasGrid(int64_t inputSlot, int64_t weightSlot, int64_t channels) const
{
    const auto input = at(size_t(inputSlot)).convertToInferable()->fakeQuant();
    const auto weights = at(size_t(weightSlot)).convertToInferable()->fakeQuant();
    return engine::biasGrid(input, weights, channels);
}

at::Tensor QuantizerTable::applyBias(int64_t inputSlot, int64_t weightSlot, const at::Tensor& bias)
{
    // Before calibration (and for the float model) the grids do not exist yet.
    if (m_mode != Mode::Quantize || !m_enabled.at(size_t(inputSlot)) || !m_enabled.at(size_t(weightSlot))) {
        return bias.clone();
    }
    try {
        return quantizeBias(bias, biasGrid(inputSlot, weightSlot, bias.size(0)));
    } catch (const std::exception& e) {
        if (m_failure.slot < 0) {
            m_failure = {weightSlot, std::string("integer bias: ") + e.what()};
        }
        throw;
    }
}

at::Tensor QuantizerTable::applyUnchecked(int64_t slot, const at::Tensor& x)
{
    auto& quantizer = *m_quantizers.at(static_cast<size_t>(slot));
    if (m_mode == Mode::Observe) {
        quantizer.observe(x);
        m_observed[size_t(slot)] = true;
    }
    if (m_capture != nullptr && (m_captureOnly.empty() || m_captureOnly.count(slot) != 0)) {
        (*m_capture)[slot] = x.detach().clone();
    }
    // A fresh tensor even when passing through: the op's schema promises no aliasing.
    if (m_mode != Mode::Quantize || !m_enabled[static_cast<size_t>(slot)]) {
        return x.clone();
    }
    return quantizer.forward(x);
}

} // namespace qat::engine
