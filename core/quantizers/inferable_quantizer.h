// SPDX-License-Identifier: MIT
#pragma once
// Part of the plugin SDK: inferable (deployment) quantizers, mirroring mct_quantizers.

#include "quantizers/quantizer_types.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace qat::quant {

/// An affine fake-quantization as LibTorch's own ops express it:
/// out = (clamp(round(x / scale) + zero_point, qmin, qmax) - zero_point) * scale,
/// per tensor (one scale) or per channel along axis.
struct FakeQuantSpec {
    bool perChannel = false;
    int64_t axis = 0;
    std::vector<float> scale;
    std::vector<int32_t> zeroPoint;
    int64_t qmin = 0;
    int64_t qmax = 255;
};

/// A frozen quantizer for deployment: its mct_quantizers class name and constructor
/// arguments (for the export spec), its forward, and its fake-quant form for export.
/// Immutable after construction; any thread may call it.
class InferableQuantizer {
public:
    virtual ~InferableQuantizer() = default;

    virtual Target target() const = 0;
    /// mct_quantizers' class name, e.g. "WeightsSymmetricInferableQuantizer".
    virtual std::string className() const = 0;
    /// Constructor arguments under mct_quantizers' names (num_bits, threshold, ...).
    virtual nlohmann::json arguments() const = 0;
    /// The affine grid; export writes it as fake_quantize_per_{tensor,channel}_affine or Q/DQ.
    virtual FakeQuantSpec fakeQuant() const = 0;
    /// Inference forward; by default LibTorch's fake_quantize op on fakeQuant().
    virtual at::Tensor forward(const at::Tensor& x) const;
};

/// LibTorch's fake-quant op on x for spec (no autograd).
at::Tensor applyFakeQuant(const at::Tensor& x, const FakeQuantSpec& spec);

/// Rebuilds a built-in inferable quantizer from its class name and arguments (the export
/// spec's vocabulary). Throws QuantizerError for an unknown class or bad arguments.
std::unique_ptr<InferableQuantizer> makeInferableQuantizer(const std::string& className,
                                                           const nlohmann::json& arguments);

} // namespace qat::quant
