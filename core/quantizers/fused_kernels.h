// SPDX-License-Identifier: MIT
#pragma once
// The fused fake-quant kernels behind math::quantize: one pass forward, one pass backward,
// on float buffers, vectorised and split over LibTorch's intra-op threads. Internal.
//
// x is viewed as [outer, channels, inner] (per-tensor: channels = 1); channel c has its own
// step, zero point and low end. Values follow LibTorch's fake_quantize_per_{tensor,channel}
// kernels bit for bit: q = (clamp(zp + round_half_even(x * (1/step)), qmin, qmax) - zp) * step.

#include <cstdint>

namespace qat::quant::kernels {

struct Layout {
    int64_t outer = 1;
    int64_t channels = 1;
    int64_t inner = 1;
    int64_t numel() const { return outer * channels * inner; }
};

/// One value per channel; zeroPoint and low may be null (all zero). sign (null: all +1) holds
/// +1 or -1 per channel: the kernels then compute sign * q(sign * x), values and gradients as
/// the two multiplications around the quantizer give them (a weight whose BatchNorm trains).
struct Grid {
    const float* step = nullptr;
    const float* zeroPoint = nullptr;
    const float* low = nullptr;
    const float* sign = nullptr;
    float qmin = 0;
    float qmax = 0;
};

/// The gradient rules of math::ClipGradient, with g = dL/dq and inside = code within [qmin, qmax]:
///   Straight: dx = g;           dstep = g (q - x) / step
///   Masked:   dx = g inside;    dstep = g (q - x) / step inside, g (q - low) / step outside
///   Pact:     dx = g inside;    dstep = g (q - low) / step outside only
///   Masked and Pact with a low end: dlow = g outside.
enum class Rule { Straight, Masked, Pact };

/// Outputs of backward; a null pointer is not computed. dstep and dlow hold one sum per channel.
struct Gradients {
    float* dx = nullptr;
    double* dstep = nullptr;
    double* dlow = nullptr;
};

/// A ReLU (no high end) or hardtanh applied to x before it is quantized, fused into the same
/// pass: values of quantize(clamp(x)), and dx also zero where that op's own backward zeroes
/// it (x <= low, x >= high; a NaN passes, as in LibTorch's threshold / hardtanh backward).
struct InputClamp {
    bool on = false;
    float low = 0;
    bool hasHigh = false;
    float high = 0;
};

void forward(const float* x, float* q, const Layout& layout, const Grid& grid, const InputClamp& clamp = {});
/// What backward() sums per element, before it multiplies by g: stepMap gets the step's term
/// ((q - x) inside, (q - low) outside, as the rule weighs them; not yet divided by the step),
/// lowMap (may be null) 1 outside and 0 inside. For gradients that reach the quantizer through
/// a linear op, summed there (math::quantizeIntoConv); x's values as q(x), no input clamp, no sign.
void gradientMaps(const float* x, const Layout& layout, const Grid& grid, Rule rule, float* stepMap, float* lowMap);
void backward(const float* x, const float* g, const Layout& layout, const Grid& grid, Rule rule, Gradients out,
              const InputClamp& clamp = {});

} // namespace qat::quant::kernels
