// SPDX-License-Identifier: MIT
#pragma once
// Helpers shared by the quantizer tests (LibTorch + Qt Test, built with QT_NO_KEYWORDS).

#include "quantizers/quantizer_registry.h"

#include <ATen/ATen.h>
#include <QString>

#include <memory>

namespace qat::test {

using namespace qat::quant;

/// The built-in quantizers, registered once per test process.
inline QuantizerRegistry& builtinRegistry()
{
    static QuantizerRegistry registry;
    if (registry.entries().empty()) {
        registerBuiltinQuantizers(registry);
    }
    return registry;
}

/// A quantizer from registry, initialised for data's shape and calibrated on data.
inline std::unique_ptr<TrainableQuantizer> calibrated(const QuantizerRegistry& registry, const QuantizerKey& key,
                                               const QuantizerConfig& config, const at::Tensor& data)
{
    auto q = registry.create(key, config);
    q->initialize({"test." + toString(key.target), "conv2d", data.sizes().vec()});
    q->observe(data);
    q->finishCalibration();
    return q;
}

/// "max |diff| ..." for failure messages.
inline QString describe(const at::Tensor& a, const at::Tensor& b)
{
    return QStringLiteral("max |diff| %1").arg((a - b).abs().max().item<double>());
}

} // namespace qat::test
