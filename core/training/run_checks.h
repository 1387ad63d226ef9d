// SPDX-License-Identifier: MIT
#pragma once
// What the trainer checks and reports about a run's quantizers as it trains: their
// parameters, whether they learn, whether one diverged (not positive, not finite), a weight
// quantizer's latent weights in grid units, and which quantizer made a forward throw.
// Internal to the core.

#include "training/train_types.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace qat::engine {
class QatModel;
struct QuantizerSite;
} // namespace qat::engine
namespace qat::quant {
class QuantizerRegistry;
}

namespace qat::train {
class Optimizer;
}

namespace qat::train::checks {

/// The parameters of every quantizer, in site order.
std::vector<quant::QuantizerSnapshot> snapshots(engine::QatModel& model);

/// Which quantizers learn, so the plots can open on one that does and say why another stays flat.
QuantizersEvent quantizerLearning(engine::QatModel& model);

/// "site (threshold -0.1)" when a threshold or step of this snapshot is not a positive number, else "".
std::string badQuantizer(const engine::QatModel& model, size_t site, const quant::QuantizerSnapshot& snapshot);

/// Whether a quantizer's threshold / step can become non-positive while staying finite (then
/// it is checked every step; built-ins that clamp it are not).
bool needsPositivityCheck(engine::QatModel& model, const engine::QuantizerSite& site,
                          const quant::QuantizerRegistry& registry);

/// The quantizer with a NaN or infinite threshold / step, "" when all are finite (one pass).
std::string nonFiniteQuantizer(engine::QatModel& model);

/// The site's latent weights in grid units (WeightHistogramEvent); empty for activations and
/// for quantizers that cannot be converted yet.
WeightHistogramEvent weightHistogram(engine::QatModel& model, const engine::QuantizerSite& site, int64_t step);

/// Which group has a NaN or infinite gradient: "a quantizer parameter" (the group
/// quantizerGroup), "the model's weights", or "" when none.
std::string nonFiniteGradient(Optimizer& optimizer, size_t quantizerGroup);

/// When a quantizer threw inside the model's forward: its own words and where, else "".
std::string quantizerFailure(engine::QatModel* model);

} // namespace qat::train::checks
