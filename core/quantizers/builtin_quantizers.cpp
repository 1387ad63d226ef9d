// SPDX-License-Identifier: MIT
// The one list of built-in quantizers. Names follow MCT's classes where MCT has one.
#include "quantizers/quantizer_registry.h"
#include "quantizers/symmetric_quantizer.h"
#include "quantizers/uniform_quantizer.h"

namespace qat::quant {

namespace {

using math::ClipGradient;

constexpr TrainingStyle kSteFrozen{ClipGradient::Straight, false, false};
constexpr TrainingStyle kSte{ClipGradient::Straight, false, true};
constexpr TrainingStyle kLsq{ClipGradient::Masked, true, true};
constexpr TrainingStyle kPact{ClipGradient::Pact, false, true};

const std::vector<Method> kSymmetricPot = {Method::Symmetric, Method::PowerOfTwo};
const std::vector<Method> kUniform = {Method::Uniform};

template <typename Q>
QuantizerRegistry::Factory make(TrainingStyle style)
{
    return [style](const QuantizerKey& key, const QuantizerConfig& config) {
        return std::make_unique<Q>(key, config, style);
    };
}

} // namespace

void registerBuiltinQuantizers(QuantizerRegistry& registry)
{
    registry.setSource("builtin");
    const auto W = Target::Weights;
    const auto A = Target::Activations;
    registry.add({"STEWeightQATQuantizer", W, kSymmetricPot, "STE",
                  "Weights on a symmetric or power-of-two grid with a straight-through estimator; "
                  "the threshold stays at its initial value and only the weights learn (as in MCT)."},
                 make<SymmetricQuantizer>(kSteFrozen));
    registry.add({"STEUniformWeightQATQuantizer", W, kUniform, "STE",
                  "Weights on a uniform grid with a straight-through estimator; min and max stay at "
                  "their initial values (as in MCT)."},
                 make<UniformQuantizer>(kSteFrozen));
    registry.add({"LSQWeightQATQuantizer", W, kSymmetricPot, "LSQ",
                  "Weights on a symmetric or power-of-two grid whose threshold is learned with LSQ "
                  "(hard clip, scaled step gradient)."},
                 make<SymmetricQuantizer>(kLsq));
    registry.add({"LSQUniformWeightQATQuantizer", W, kUniform, "LSQ",
                  "Weights on a uniform grid whose min and max are learned with LSQ."},
                 make<UniformQuantizer>(kLsq));
    registry.add({"STESymmetricActivationTrainableQuantizer", A, kSymmetricPot, "STE",
                  "Activations on a symmetric or power-of-two grid, signed or unsigned, threshold "
                  "learned through a straight-through estimator (no clipping mask, as in MCT)."},
                 make<SymmetricQuantizer>(kSte));
    registry.add({"STEUniformActivationTrainableQuantizer", A, kUniform, "STE",
                  "Activations on a uniform grid with learned min and max, straight-through estimator."},
                 make<UniformQuantizer>(kSte));
    registry.add({"LSQSymmetricActivationTrainableQuantizer", A, kSymmetricPot, "LSQ",
                  "Activations on a symmetric or power-of-two grid with an LSQ-learned threshold."},
                 make<SymmetricQuantizer>(kLsq));
    registry.add({"LSQUniformActivationTrainableQuantizer", A, kUniform, "LSQ",
                  "Activations on a uniform grid with LSQ-learned min and max."},
                 make<UniformQuantizer>(kLsq));
    registry.add({"PACTActivationQuantizer", A, kSymmetricPot, "PACT",
                  "PACT: a learned clipping level alpha; values above it saturate and only they move "
                  "alpha (Choi et al. 2018). Exports as a symmetric or POT activation quantizer."},
                 make<SymmetricQuantizer>(kPact));
    registry.add({"LSQPlusActivationQuantizer", A, kUniform, "LSQ+",
                  "LSQ+: learned step and offset for asymmetric activations such as those after "
                  "swish or GELU (Bhalgat et al. 2020). Exports as a uniform activation quantizer."},
                 [](const QuantizerKey& key, const QuantizerConfig& config) {
                     return std::make_unique<LsqPlusQuantizer>(key, config);
                 });
}

} // namespace qat::quant
