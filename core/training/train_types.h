// SPDX-License-Identifier: MIT
#pragma once
// The training facade: configuration, events, result. Plain data (no torch, no Qt), so
// the CLI and the UI drive training through it.

#include "data/data_options.h"
#include "engine/quantization_plan.h"
#include "quantizers/quantizer_types.h"

#include <nlohmann/json_fwd.hpp>

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace qat::train {

/// created -> calibrating -> running (<-> paused) -> finished / cancelled / diverged / failed.
enum class RunState { Created = 1, Calibrating, Running, Paused, Finished, Cancelled, Diverged, Failed };
std::string toString(RunState state);

enum class OptimizerKind { Adam = 1, Sgd };
enum class Schedule { Cosine = 1, Step, Constant };
std::string toString(OptimizerKind kind);
std::string toString(Schedule schedule);
OptimizerKind parseOptimizer(const std::string& text);
Schedule parseSchedule(const std::string& text);

/// Data-parallel training over processes (core/distributed/): this process is `rank` of
/// `worldSize`; rank 0 hosts the rendezvous (a c10d TCPStore) at masterAddress:masterPort.
struct DistributedOptions {
    int worldSize = 1;
    int rank = 0;
    std::string masterAddress = "127.0.0.1";
    int masterPort = 29500;
    int timeoutSeconds = 300; ///< how long the others wait for a rank that stopped answering
};

/// Everything a run needs. Defaults are what the README explains and the tests measure.
struct TrainConfig {
    std::string modelPath;
    std::string data = "fashion-mnist"; ///< a data set name, folder or file (see data/sample_source.h)
    data::DataOptions dataOptions;      ///< format, preprocessing, split (stored resolved with a run)
    engine::QuantizationPlan plan = engine::presetPlan("mct-default");
    int epochs = 1;
    int64_t maxSteps = 0;          ///< > 0: stop after this many steps (may end mid-epoch)
    int batch = 128;               ///< per process: the global batch is batch * distributed.worldSize
    OptimizerKind optimizer = OptimizerKind::Adam;
    double lr = -1;                ///< model weights; < 0: automatic (see autoLearningRate)
    double quantizerLr = -1;       ///< quantizer parameters (their own group); < 0: automatic
    double momentum = 0.9;         ///< SGD
    Schedule schedule = Schedule::Cosine;
    double stepGamma = 0.1;        ///< Step schedule: lr *= gamma at each epoch boundary
    /// Steps over which the quantizer parameters' rate rises linearly from 0 to its schedule's
    /// value; -1: automatic (see quantizerWarmupSteps), 0: none.
    int64_t quantizerWarmup = -1;
    uint64_t seed = 0;
    bool distill = true;           ///< knowledge distillation from the float model (no labels needed)
    double temperature = 2.0;
    /// Steps after which BatchNorm's statistics are measured on the weights of the moment and
    /// fixed; BatchNorm that trains to be folded (train_batch_norm) is folded into its conv
    /// then, and the folded convs train on. -1: never; kAutoFreeze: see batchNormFreezeStep.
    static constexpr int64_t kAutoFreeze = -2;
    int64_t freezeBatchNormAfter = kAutoFreeze;
    int calibrationBatches = 8;
    int64_t limitTrain = 0;        ///< > 0: use the first N training images
    int64_t limitTest = 0;         ///< > 0: evaluate on the first N test images
    int64_t cacheMb = -1;          ///< decoded images kept in memory (MB); -1: a quarter of RAM; 0: none
    int snapshotEvery = 10;        ///< quantizer parameter snapshots every k steps
    int threads = 0;               ///< LibTorch threads; 0 = one per core
    int64_t injectNanAtStep = -1;  ///< testing aid: make the loss NaN at this step
    /// Automatic learning rates (lr and quantizerLr < 0) measured by a short probe from the
    /// calibrated state instead of taken from the rule (training/lr_probe.h); unset: the
    /// default (see probesLearningRates).
    std::optional<bool> lrProbe;
    DistributedOptions distributed;
};

struct StepEvent {
    int64_t step = 0;   ///< 1-based, global
    int epoch = 0;      ///< 1-based
    double loss = 0;
    double accuracy = 0; ///< on this batch (when labels exist)
    double lr = 0;
    double quantizerLr = 0;
    double seconds = 0;  ///< since training started
    int64_t totalSteps = 0;
};

struct SnapshotEvent {
    int64_t step = 0;
    std::string quantizer; ///< site name ("features.0.weight", "features.0:output", "input")
    quant::QuantizerSnapshot values;
};

struct EpochEvent {
    int epoch = 0;
    double top1 = 0;
    double loss = 0;
};

struct StateEvent {
    RunState state = RunState::Created;
    std::string message;
};

struct LogEvent {
    std::string text;
};

/// The float model's result on the test data, once, before calibration (the baseline).
struct FloatModelEvent {
    double top1 = 0;
    double loss = 0;
};

/// A weight quantizer's latent weights in grid units, sent with each snapshot: every
/// weight w becomes w / scale + zero_point of its channel, so the quantization grid is the
/// integers qmin..qmax for every channel and the clip range is [qmin - 0.5, qmax + 0.5].
/// counts is a histogram over [lo, hi]; values beyond it are counted in the end bins.
struct WeightHistogramEvent {
    int64_t step = 0;
    std::string quantizer;
    double lo = 0;
    double hi = 0;
    int64_t qmin = 0;
    int64_t qmax = 0;
    std::vector<float> counts;
};

/// Whether one quantizer of the run learns, for plots that would otherwise draw a flat line.
struct QuantizerLearning {
    std::string quantizer;     ///< site name, as in SnapshotEvent
    std::string training;      ///< training method id ("STE", "LSQ", ...)
    bool learns = true;        ///< some parameter of it is trained
    bool frozenByPlan = false; ///< its training method would train it; the plan's `freeze` holds it
};

/// Once, when calibration is done: every quantizer of the run, in site order.
struct QuantizersEvent {
    std::vector<QuantizerLearning> quantizers;
};

using TrainEvent = std::variant<StepEvent, SnapshotEvent, EpochEvent, StateEvent, LogEvent, FloatModelEvent,
                                WeightHistogramEvent, QuantizersEvent>;

/// Receives events on the training thread; implementations must be quick or hand off.
class TrainObserver {
public:
    virtual ~TrainObserver() = default;
    virtual void onEvent(const TrainEvent& event) = 0;
};

/// Set from any thread; the trainer checks it before every step.
struct CancelToken {
    std::atomic<bool> cancel{false};
    std::atomic<bool> pause{false};
};

/// One quantizer after training.
struct QuantizerSummary {
    std::string name;
    std::string layer;
    quant::Target target = quant::Target::Weights;
    quant::QuantizerKey key;
    quant::QuantizerConfig config;
    quant::QuantizerSnapshot initial;
    quant::QuantizerSnapshot final;
    /// init auto (config.init): the method it chose and each candidate's output error.
    quant::InitMethod initChosen = quant::InitMethod::Mse;
    std::map<quant::InitMethod, double> initScores;
    /// false: no calibration batch reached this activation point (a branch the model did not
    /// take for them); its quantizer started at the range [-1, 1].
    bool reached = true;
};

/// Adds init auto's choice to a quantizer's config JSON (`init_choice`, `init_scores` per
/// candidate), as runs store it and `qatwb train --json` prints it; nothing for other inits.
/// A point no calibration batch reached gets `"unreached": true` whatever its init.
void addInitChoice(nlohmann::json& config, const QuantizerSummary& quantizer);

/// Whether a run probes its learning rates (training/lr_probe.h): lrProbe, off when not set,
/// and only when both rates are automatic. Stored with each run, so a re-run does the same.
bool probesLearningRates(const TrainConfig& config);

/// The quantizer warm-up of a run of totalSteps steps: config.quantizerWarmup when given,
/// else the default share of the run.
int64_t quantizerWarmupSteps(const TrainConfig& config, int64_t totalSteps);

/// The step after which BatchNorm is frozen (see TrainConfig::freezeBatchNormAfter), or -1:
/// automatic folds BatchNorm that trains to be folded after two thirds of the steps (README,
/// "BatchNorm folded two thirds of the way"), and leaves BatchNorm kept by the plan alone.
/// Without BatchNorm in the training graph (hasBatchNorm false: the plan folded every one
/// before training) there is nothing to freeze, whatever the config asks.
int64_t batchNormFreezeStep(const TrainConfig& config, int64_t totalSteps, bool foldsAfterTraining,
                            bool hasBatchNorm = true);

/// The factor the warm-up puts on the quantizers' rate at a 0-based step: (step + 1) / warmup,
/// 1 from the warm-up's end on.
double warmupFactor(int64_t step, int64_t warmupSteps);

/// The weights' learning rate when none is given: 1e-3 when any layer's weights have 3 bits or
/// fewer (they must move across much coarser grids) or any activation has 4 bits or fewer
/// (to make up for coarse activations: w4a4-lsq-uniform, 1 epoch, the zoo and the demo, sum
/// of the deltas -12.65 pt at 1e-4, -7.46 at 1e-3, README), else 1e-4 (measured on the demo);
/// 3e-3 when an activation has 3 bits or fewer (w2a3, 3 epochs, the zoo and the demo, two
/// seeds: mean sum of the deltas -23.25 pt at 1e-3, -18.55 at 3e-3, README).
double autoLearningRate(int lowestWeightBits, int lowestActivationBits = 32);

/// The quantizer parameters' learning rate when none is given: 1e-3 when any layer's weights
/// have 3 bits or fewer, else 1e-4, and a tenth of that when some quantizer learns a uniform
/// (min, max) range and no weights have 3 bits or fewer; activation bits do not raise it. Adam
/// moves each min and max by about the rate per step whatever LSQ's gradient scale: at 1e-4,
/// w4a4-lsq-uniform lost 35.8 pt in 1 epoch on the SE/hardswish zoo net, 5.3 at 1e-5 (README).
double autoQuantizerLearningRate(int lowestWeightBits, bool uniformRanges);

/// The (weights, quantizers) rates a run of this resolved plan takes when both are automatic:
/// the rules above over its enabled quantizers (layers' weights, activation points).
std::pair<double, double> autoLearningRates(const std::vector<engine::LayerPlan>& layers,
                                            const std::vector<engine::PointPlan>& points);

/// One candidate pair of the learning-rate probe and the training loss it left on held-out
/// training batches (infinite: it diverged).
struct LrTrial {
    double lr = 0;
    double quantizerLr = 0;
    double loss = 0;
};

struct TrainResult {
    RunState state = RunState::Created;
    std::string message;          ///< why it failed or diverged
    double floatTop1 = -1;        ///< -1: not measured
    double floatLoss = -1;
    double qatTop1 = -1;
    double qatLoss = -1;
    int64_t steps = 0;
    double seconds = 0;
    int foldedBatchNorms = 0;
    double lr = 0;                ///< the learning rates used (after "automatic")
    double quantizerLr = 0;
    int64_t quantizerWarmupSteps = 0; ///< the warm-up used (after "automatic"); 0: none
    int64_t batchNormFreezeStep = -1; ///< the step BatchNorm was frozen (or folded) after; -1: never
    std::vector<LrTrial> lrTrials; ///< the probe's trials in the order run (empty without a probe)
    int worldSize = 1;
    std::vector<double> samplesPerSecond; ///< training throughput of each rank, in rank order
    double trainSeconds = 0; ///< time in the training steps only (no loading, calibration, evaluation)
    std::vector<EpochEvent> epochs;
    std::vector<QuantizerSummary> quantizers;
    /// The trained state (bytes, see engine/checkpoint.h) when training started: what export
    /// and re-runs load. Diverged runs keep the last good quantizer parameters.
    std::string checkpoint;
};

} // namespace qat::train
