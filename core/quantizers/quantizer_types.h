// SPDX-License-Identifier: MIT
#pragma once
// Vocabulary of quantizers shared by the core, the UI, the CLI and plugins. No torch types.

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace qat::quant {

/// What a quantizer quantizes.
enum class Target { Weights = 1, Activations };

/// The quantization grid (mct_quantizers' QuantizationMethod, trainable subset).
enum class Method { Symmetric = 1, PowerOfTwo, Uniform };

/// How initial parameters are found from data (MCT's default is an MSE search). Auto: the
/// engine calibrates one quantizer per other method and keeps the one whose layer output
/// (weights) or model output (activations) is closest to the float model's on calibration
/// data (core/quantizers/README.md); a quantizer calibrated on its own treats it as Mse.
enum class InitMethod { MaxAbs = 1, Mse, Percentile, Auto };

/// LSQ's gradient scale g: MCT's 1/sqrt(Qp * #thresholds) (activations: Qp * channels), or
/// the paper's 1/sqrt(Qp * elements per scale).
enum class GradScale { Mct = 1, Paper };

std::string toString(Target target);       ///< "weights" / "activations"
std::string toString(Method method);       ///< "symmetric" / "power-of-two" / "uniform"
std::string toString(InitMethod method);   ///< "max" / "mse" / "percentile" / "auto"
std::string toString(GradScale scale);     ///< "mct" / "paper"
/// Parsers accept the names above (case-insensitive) and common aliases ("pot", "minmax");
/// they throw qat::quant::QuantizerError naming the accepted values.
Target parseTarget(const std::string& text);
Method parseMethod(const std::string& text);
InitMethod parseInitMethod(const std::string& text);
GradScale parseGradScale(const std::string& text);

/// Identifies a kind of trainable quantizer. The training method is a free string ("STE",
/// "LSQ", a plugin's "MyTraining"), compared case-insensitively.
struct QuantizerKey {
    Target target = Target::Weights;
    Method method = Method::Symmetric;
    std::string training;

    QuantizerKey() = default;
    QuantizerKey(Target t, Method m, const std::string& trainingId);
    bool operator==(const QuantizerKey& other) const;
};
std::string toString(const QuantizerKey& key); ///< "weights/symmetric/STE"
bool sameTrainingId(const std::string& a, const std::string& b); ///< case-insensitive

/// Everything a quantizer is configured with. Defaults are the safe choices; the MCT
/// behaviour each one replaces is named in its comment.
struct QuantizerConfig {
    int bits = 8;
    bool perChannel = false;            ///< weights only
    int channelAxis = 0;                ///< output-channel axis of the weight (1 for transposed convs)
    std::optional<bool> isSigned;       ///< activations: unset = decided from calibration data
    InitMethod init = InitMethod::Mse;
    double percentile = 99.99;          ///< for InitMethod::Percentile
    bool keepThresholdPositive = true;  ///< MCT: thresholds may go negative (log2 -> NaN at export)
    bool potDuringTraining = true;      ///< MCT: POT only at init and export (export then changes outputs)
    GradScale gradScale = GradScale::Mct;
    bool freeze = false;                ///< quantizer parameters not trained (MCT's freeze_quant_params)
    std::map<std::string, double> options; ///< extra numeric options for plugin quantizers
};

/// Parameter values of a quantizer at one moment, for plots and storage: e.g.
/// {"threshold": [per channel], "step": [...]} or {"min": [...], "max": [...]}.
struct QuantizerSnapshot {
    std::map<std::string, std::vector<float>> values;
};

/// What the registry knows about one quantizer class.
struct QuantizerInfo {
    std::string name;          ///< class-like name, unique in a registry ("STESymmetricWeightQuantizer")
    Target target = Target::Weights;
    std::vector<Method> methods; ///< grids this class implements
    std::string training;      ///< training-method id ("STE", "LSQ", ...)
    std::string description;   ///< one or two sentences for the UI
    std::string source = "builtin"; ///< "builtin" or the plugin file it came from
};

} // namespace qat::quant
