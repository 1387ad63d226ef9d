// SPDX-License-Identifier: MIT
#include "training/trainer.h"

#include "common/error.h"
#include "common/text.h"
#include "common/version.h"
#include "distributed/communicator.h"
#include "distributed/distributed_model.h"
#include "engine/bn_fusion.h"
#include "engine/checkpoint.h"
#include "engine/qat_model.h"
#include "quantizers/quantizer_registry.h"
#include "training/lr_probe.h"
#include "training/run_checks.h"
#include "training/optimizer.h"
#include "data/batch_loader.h"
#include "data/sample_cache.h"
#include "data/data_plan.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <functional>
#include <numeric>
#include <thread>

namespace qat::train {

using namespace checks;

namespace {

using Clock = std::chrono::steady_clock;
constexpr int64_t kEvalBatch = 1000;
constexpr size_t kModelGroup = 0;
constexpr size_t kQuantizerGroup = 1;
// The learning-rate probe: steps per trial and held-out batches it is scored on.
constexpr int64_t kProbeSteps = 32;
constexpr int64_t kProbeScoreBatches = 4;
// Batches that measure the running statistics of BatchNorm that trained, before it is folded.
constexpr int64_t kBatchNormBatches = 50;

struct Emitter {
    TrainObserver* observer;
    void operator()(const TrainEvent& event) const
    {
        if (observer != nullptr) {
            observer->onEvent(event);
        }
    }
};

// This rank's contiguous part of a global batch of indices (all of it for one process).
at::Tensor localPart(const at::Tensor& globalIdx, const dist::Communicator& comm)
{
    const auto [first, last] = dist::shardRange(globalIdx.size(0), comm.rank(), comm.worldSize());
    return globalIdx.slice(0, first, last);
}

// Top-1 and mean loss on the evaluation split; without labels, against the float model's
// predictions (agreement with the float model). Each rank evaluates its part; sums are added.
std::pair<double, double> evaluate(const std::function<at::Tensor(const at::Tensor&)>& forward,
                                   const std::function<at::Tensor(const at::Tensor&)>& floatForward,
                                   const data::PreparedData& data, dist::Communicator& comm)
{
    at::NoGradGuard noGrad;
    int64_t correct = 0;
    double loss = 0;
    const auto [first, last] = dist::shardRange(data.data.test.size(), comm.rank(), comm.worldSize());
    std::vector<int64_t> order(size_t(last - first));
    std::iota(order.begin(), order.end(), first);
    data::BatchLoader loader(data.data.test, data.pipeline, order, kEvalBatch, data.resolved.badImages);
    data::Batch batch;
    int64_t n = 0;
    while (loader.next(batch)) {
        const auto out = forward(batch.images);
        const auto labels = batch.labels.defined() ? batch.labels : floatForward(batch.images).argmax(1);
        loss += at::cross_entropy_loss(out, labels, {}, at::Reduction::Sum).item<double>();
        correct += out.argmax(1).eq(labels).sum().item<int64_t>();
        n += out.size(0);
    }
    if (comm.isDistributed()) {
        std::vector<double> sums{double(correct), loss, double(n)};
        comm.sum(sums);
        correct = int64_t(sums[0]);
        loss = sums[1];
        n = int64_t(sums[2]);
    }
    return {double(correct) / double(std::max<int64_t>(n, 1)), loss / double(std::max<int64_t>(n, 1))};
}

std::vector<int64_t> toVector(const at::Tensor& order)
{
    const auto o = order.contiguous();
    return {o.data_ptr<int64_t>(), o.data_ptr<int64_t>() + o.numel()};
}

// This rank's share of the first `count` images of a shuffled order: its part of each global
// batch in turn. With globalBatch = batch x ranks every full batch splits into `batch` each,
// so a loader with the per-rank batch size sees exactly its parts.
std::vector<int64_t> rankOrder(const at::Tensor& order, int64_t count, int64_t globalBatch, const dist::Communicator& comm)
{
    if (!comm.isDistributed()) {
        return toVector(order.slice(0, 0, count));
    }
    std::vector<int64_t> mine;
    for (int64_t start = 0; start < count; start += globalBatch) {
        const auto part = toVector(localPart(order.slice(0, start, std::min(count, start + globalBatch)), comm));
        mine.insert(mine.end(), part.begin(), part.end());
    }
    return mine;
}

double scheduledLr(const TrainConfig& config, double base, int64_t step, int64_t totalSteps, int epoch)
{
    switch (config.schedule) {
    case Schedule::Cosine:
        return base * 0.5 * (1.0 + std::cos(M_PI * double(step) / double(std::max<int64_t>(totalSteps, 1))));
    case Schedule::Step: return base * std::pow(config.stepGamma, epoch - 1);
    case Schedule::Constant: return base;
    }
    return base;
}

at::Tensor distillationLoss(const at::Tensor& student, const at::Tensor& teacher, double temperature)
{
    const auto target = at::softmax(teacher / temperature, 1);
    const auto logProbs = at::log_softmax(student / temperature, 1);
    return -(target * logProbs).sum(1).mean() * (temperature * temperature);
}

void checkConfig(const TrainConfig& c)
{
    if (c.batch < 1) throw Error("batch size must be at least 1");
    if (c.epochs < 1 && c.maxSteps < 1) throw Error("give at least one epoch or step");
    if (c.calibrationBatches < 1) throw Error("calibration needs at least one batch");
    if (c.temperature <= 0) throw Error("the distillation temperature must be positive");
}

// The probe's batches: its own shuffled order (training's stays what it is without a probe),
// most of it to train on, the rest held out to score; none when the split is too small.
LrProbeData probeData(const TrainConfig& config, const data::PreparedData& data, int64_t globalBatch,
                      const dist::Communicator& comm)
{
    LrProbeData probe;
    const auto& train = data.data.train;
    const int64_t batches = std::min((train.size() + globalBatch - 1) / globalBatch, kProbeSteps + kProbeScoreBatches);
    if (batches < 2) {
        return probe;
    }
    const int64_t scored = std::max<int64_t>(1, batches * kProbeScoreBatches / (kProbeSteps + kProbeScoreBatches));
    auto generator = at::make_generator<at::CPUGeneratorImpl>(config.seed + 1);
    const int64_t n = std::min(train.size(), batches * globalBatch);
    data::BatchLoader loader(train, data.pipeline, rankOrder(at::randperm(train.size(), generator), n, globalBatch, comm),
                             config.batch, data.resolved.badImages);
    int64_t i = 0;
    for (data::Batch b; loader.next(b); ++i) {
        auto& images = i < batches - scored ? probe.stepImages : probe.scoreImages;
        auto& labels = i < batches - scored ? probe.stepLabels : probe.scoreLabels;
        images.push_back(b.images);
        labels.push_back(b.labels);
    }
    return probe;
}

// Runs each on `batches` random global batches of the training split (this rank's part of each).
void forRandomBatches(const TrainConfig& config, const data::PreparedData& data, int64_t batches, int64_t globalBatch,
                      const dist::Communicator& comm, at::Generator& generator,
                      const std::function<void(const at::Tensor&)>& each)
{
    const auto& train = data.data.train;
    const auto n = std::min<int64_t>(train.size(), batches * globalBatch);
    data::BatchLoader loader(train, data.pipeline, rankOrder(at::randperm(train.size(), generator), n, globalBatch, comm),
                             config.batch, data.resolved.badImages);
    for (data::Batch batch; loader.next(batch);) {
        each(batch.images);
    }
}

// BatchNorm's running statistics measured on the current weights (the running ones mix in
// older weights' batches): kBatchNormBatches forward passes in training mode, no gradient.
void measureBatchNorm(engine::QatModel& model, const TrainConfig& config, const data::PreparedData& data,
                      int64_t globalBatch, dist::Communicator& comm, at::Generator& generator)
{
    at::NoGradGuard noGrad;
    model.train(true);
    forRandomBatches(config, data, kBatchNormBatches, globalBatch, comm, generator,
                     [&](const at::Tensor& images) { model.forward(images); });
    model.train(false);
    dist::shareModelState(model, comm, false);
}

// BatchNorm that trained (train_batch_norm) folded into its conv, as export builds the model,
// with running statistics measured on the weights of the moment: part-way (the folded convs
// train on) or after the last step.
std::unique_ptr<engine::QatModel> foldTrainedBatchNorm(std::unique_ptr<engine::QatModel> model, const TrainConfig& config,
                                                       const data::PreparedData& data, int64_t globalBatch,
                                                       dist::Communicator& comm, at::Generator& generator)
{
    measureBatchNorm(*model, config, data, globalBatch, comm, generator);
    auto folded = model->foldedCopy();
    folded->train(false);
    return folded;
}

// The loss a training step minimises: distillation from the float model, or cross-entropy.
// With `excess`, distillation's part above the float model's own (the KL divergence, 0 when
// the outputs match; the gradient is the same): what the probe compares, since the float
// outputs' entropy, the same for every trial, would swamp a relative margin (on the demo
// 1.61 of a loss whose trials differ by 0.003).
LossFunction trainingLoss(engine::QatModel& model, const TrainConfig& config, bool excess = false)
{
    return [&model, &config, excess](const at::Tensor& x, const at::Tensor& y) {
        const auto out = model.forward(x);
        if (!config.distill) {
            return at::cross_entropy_loss(out, y);
        }
        at::Tensor teacher;
        {
            at::NoGradGuard noGrad;
            teacher = model.floatForward(x);
        }
        const auto loss = distillationLoss(out, teacher, config.temperature);
        return excess ? loss - distillationLoss(teacher, teacher, config.temperature) : loss;
    };
}

} // namespace

std::pair<double, double> autoLearningRates(engine::QatModel& model)
{
    return autoLearningRates(model.layerPlans(), model.pointPlans());
}

TrainResult runTraining(const TrainConfig& config, const quant::QuantizerRegistry& registry,
                        TrainObserver* observer, CancelToken* token)
{
    const Emitter emit{observer};
    const auto started = Clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - started).count(); };
    TrainResult result;
    std::unique_ptr<engine::QatModel> model;
    std::vector<quant::QuantizerSnapshot> initial;
    auto finish = [&](RunState state, const std::string& message) {
        result.state = state;
        result.message = message;
        result.seconds = elapsed();
        try {
            emit(StateEvent{state, message});
        } catch (const std::exception&) {
            // An observer that cannot take the end state (a full disk) has said so already;
            // the result still carries the state.
        }
    };
    try {
        checkConfig(config);
        setComputeThreads(config.threads);
        dist::Communicator comm(config.distributed);
        result.worldSize = comm.worldSize();
        // Every rank takes its part of each global batch, so one process with this batch
        // size sees the same data in the same order.
        const int64_t globalBatch = int64_t(config.batch) * comm.worldSize();
        at::manual_seed(config.seed);
        emit(LogEvent{"loading " + config.data + " and " + config.modelPath});
        model = engine::QatModel::build(config.modelPath, config.plan, registry, true);
        dist::shareModelState(*model, comm, true);
        result.foldedBatchNorms = model->foldedBatchNorms();
        model->train(false);
        auto floatForward = [&](const at::Tensor& x) { return model->floatForward(x); };
        auto data = data::prepareData(config.data, config.dataOptions, floatForward, config.limitTrain, config.limitTest);
        for (const auto& line : data.describe()) {
            emit(LogEvent{line});
        }
        data::attachCaches(data.data, data.pipeline,
                           config.cacheMb < 0 ? data::defaultCacheBytes() : config.cacheMb * (int64_t(1) << 20));
        if (const auto cached = data::describeCaches(data.data); !cached.empty()) emit(LogEvent{cached});
        if (!data.data.labelled && !config.distill) {
            throw DataError(config.data + ": the data has no labels; train by distillation from the float model "
                                          "(leave out --no-kd)");
        }
        const auto& train = data.data.train;
        std::tie(result.floatTop1, result.floatLoss) = evaluate(floatForward, floatForward, data, comm);
        emit(LogEvent{"float model: top-1 " + std::to_string(result.floatTop1)
                      + (data.data.labelled ? "" : " (no labels: agreement with itself)")});
        emit(FloatModelEvent{result.floatTop1, result.floatLoss});

        emit(StateEvent{RunState::Calibrating, {}});
        auto generator = at::make_generator<at::CPUGeneratorImpl>(config.seed);
        model->calibrateWeights();
        model->beginActivationCalibration();
        forRandomBatches(config, data, config.calibrationBatches, globalBatch, comm, generator,
                         [&](const at::Tensor& images) { model->observeBatch(images); });
        dist::reduceCalibration(*model, comm);
        model->finishActivationCalibration();
        if (const auto& unreached = model->unreachedPoints(); !unreached.empty()) {
            std::string names;
            for (const auto& name : unreached) {
                names += (names.empty() ? "" : ", ") + name;
            }
            emit(LogEvent{std::to_string(unreached.size()) + " activation point(s) never ran on the calibration "
                          "batches (branches this model does not take for these inputs); their quantizers start "
                          "at the range [-1, 1]: " + names});
        }
        dist::shareQuantizerParameters(*model, comm);
        initial = snapshots(*model);
        emit(quantizerLearning(*model));
        auto positivityChecks = [&] {
            std::vector<bool> checks;
            for (const auto& site : model->sites()) {
                checks.push_back(needsPositivityCheck(*model, site, registry));
            }
            return checks;
        };
        auto checkEachStep = positivityChecks();

        const auto [autoLr, autoQuantizerLr] = autoLearningRates(*model);
        result.lr = config.lr >= 0 ? config.lr : autoLr;
        result.quantizerLr = config.quantizerLr >= 0 ? config.quantizerLr : autoQuantizerLr;
        if (probesLearningRates(config)) {
            const auto probeStarted = Clock::now();
            result.lrTrials = probeLearningRates(*model, config, {autoLr, autoQuantizerLr},
                                                 probeData(config, data, globalBatch, comm), trainingLoss(*model, config),
                                                 trainingLoss(*model, config, true),
                                                 [&](double v) {
                                                     std::vector<double> values{v};
                                                     comm.sum(values);
                                                     return values[0];
                                                 });
            const auto chosen = chooseLearningRates(result.lrTrials);
            result.lr = chosen.lr;
            result.quantizerLr = chosen.quantizerLr;
            emit(LogEvent{describeProbe(result.lrTrials, chosen, kProbeSteps,
                                        std::chrono::duration<double>(Clock::now() - probeStarted).count())});
        }
        auto makeOptimizer = [&] {
            std::vector<ParameterGroup> groups(2);
            groups[kModelGroup] = {model->modelParameters(), result.lr, model->modelStepScales()};
            groups[kQuantizerGroup] = {model->quantizerParameters(), result.quantizerLr, {}};
            return Optimizer(config.optimizer, std::move(groups), config.momentum);
        };
        Optimizer optimizer = makeOptimizer();
        int64_t stepsPerEpoch = (train.size() + globalBatch - 1) / globalBatch;
        if (comm.isDistributed() && train.size() % globalBatch != 0 && train.size() % globalBatch < comm.worldSize()) {
            --stepsPerEpoch; // a last batch with fewer images than ranks would leave a rank without data
        }
        // Averaged across ranks every step (gradients of weights and quantizer parameters).
        auto syncedParameters = [&] {
            auto params = model->modelParameters();
            for (const auto& p : model->quantizerParameters()) {
                params.push_back(p);
            }
            return params;
        };
        auto synced = syncedParameters();
        double trainSeconds = 0;
        int64_t localSamples = 0;
        const int64_t totalSteps = config.maxSteps > 0 ? config.maxSteps : stepsPerEpoch * config.epochs;
        const int epochs = int((totalSteps + stepsPerEpoch - 1) / stepsPerEpoch);
        const int64_t warmup = quantizerWarmupSteps(config, totalSteps);
        result.quantizerWarmupSteps = warmup;
        // A step asked for when the plan left no BatchNorm to freeze is dropped, and the log says so.
        const bool hasBatchNorm =
            engine::countBatchNorms(*model->module().get_method(engine::QatModel::kMethodName).graph()) > 0;
        result.batchNormFreezeStep =
            batchNormFreezeStep(config, totalSteps, model->trainingBatchNorms() > 0, hasBatchNorm);
        emit(StateEvent{RunState::Running, {}});
        if (!hasBatchNorm && config.freezeBatchNormAfter >= 0) {
            emit(LogEvent{"BatchNorm freeze at step " + std::to_string(config.freezeBatchNormAfter)
                          + " skipped: the model has no BatchNorm left to freeze (the plan folded every one "
                            "into its conv before training)"});
        }
        RunState state = RunState::Finished;
        std::string message;
        int64_t step = 0;
        for (int epoch = 1; epoch <= epochs && state == RunState::Finished; ++epoch) {
            model->train(true);
            data::BatchLoader batches(train, data.pipeline,
                                      rankOrder(at::randperm(train.size(), generator), train.size(), globalBatch, comm),
                                      config.batch, data.resolved.badImages);
            for (int64_t b = 0; b < stepsPerEpoch && step < totalSteps; ++b) {
                if (token != nullptr && token->pause && !token->cancel) {
                    emit(StateEvent{RunState::Paused, {}});
                    while (token->pause && !token->cancel) {
                        std::this_thread::sleep_for(std::chrono::milliseconds(20));
                    }
                    emit(StateEvent{RunState::Running, {}});
                }
                if (comm.any(token != nullptr && token->cancel)) {
                    state = RunState::Cancelled;
                    message = "stopped by the user after " + std::to_string(step) + " steps";
                    break;
                }
                const auto stepStarted = Clock::now();
                data::Batch batch;
                if (!batches.next(batch)) {
                    break;
                }
                const auto& x = batch.images;
                auto y = batch.labels;
                const int64_t globalCount = std::min(globalBatch, train.size() - b * globalBatch);
                const double lr = scheduledLr(config, result.lr, step, totalSteps, epoch);
                const double qlr =
                    scheduledLr(config, result.quantizerLr, step, totalSteps, epoch) * warmupFactor(step, warmup);
                optimizer.groups()[kModelGroup].lr = lr;
                optimizer.groups()[kQuantizerGroup].lr = qlr;
                const auto out = model->forward(x);
                at::Tensor loss;
                if (config.distill) {
                    at::Tensor teacher;
                    {
                        at::NoGradGuard noGrad;
                        teacher = model->floatForward(x);
                    }
                    loss = distillationLoss(out, teacher, config.temperature);
                    if (!y.defined()) {
                        y = teacher.argmax(1); // unlabeled: batch accuracy against the float model
                    }
                } else {
                    loss = at::cross_entropy_loss(out, y);
                }
                if (step + 1 == config.injectNanAtStep) {
                    loss = loss * std::nan("");
                }
                double lossValue = 0;
                double globalAccuracy = 0;
                optimizer.zeroGrad();
                if (!comm.isDistributed()) {
                    lossValue = loss.item<double>();
                } else {
                    // The loss is a per-sample mean: weighting each rank's by its share of the
                    // global batch makes the averaged gradient the global batch's.
                    const double n = double(globalCount);
                    (loss * (double(x.size(0)) * comm.worldSize() / n)).backward();
                    std::vector<double> sums{loss.item<double>() * double(x.size(0)),
                                             out.detach().argmax(1).eq(y).sum().item<double>()};
                    comm.allreduceGradients(synced, sums);
                    lossValue = sums[0] / n;
                    globalAccuracy = sums[1] / n;
                }
                if (!std::isfinite(lossValue)) {
                    state = RunState::Diverged;
                    message = "the loss became " + std::to_string(lossValue) + " at step " + std::to_string(step + 1)
                              + "; the parameters of step " + std::to_string(step) + " are kept";
                    break;
                }
                if (!comm.isDistributed()) {
                    loss.backward();
                }
                // Nothing is updated until the step is known to be sound, so a diverged run
                // keeps the weights and quantizers of its last good step (see README). After the
                // all-reduce every rank sees the same gradients, so all ranks decide alike.
                if (const auto bad = nonFiniteGradient(optimizer, kQuantizerGroup); !bad.empty()) {
                    state = RunState::Diverged;
                    message = "the gradient of " + bad + " became NaN or infinite at step " + std::to_string(step + 1)
                              + "; the parameters of step " + std::to_string(step) + " are kept";
                    break;
                }
                std::vector<at::Tensor> backup;
                for (const auto& p : model->quantizerParameters()) {
                    backup.push_back(p.detach().clone());
                }
                optimizer.step(kQuantizerGroup);
                const bool snapshotStep = config.snapshotEvery > 0 && ((step + 1) % config.snapshotEvery == 0 || step == 0);
                // Taken once: checked here and sent below (the model step does not change them).
                const auto current = snapshotStep ? snapshots(*model) : std::vector<quant::QuantizerSnapshot>();
                std::string bad = nonFiniteQuantizer(*model);
                for (size_t i = 0; i < model->sites().size() && bad.empty(); ++i) {
                    if (snapshotStep) {
                        bad = badQuantizer(*model, i, current[i]);
                    } else if (checkEachStep[i]) {
                        bad = badQuantizer(*model, i, model->table().at(size_t(model->sites()[i].slot)).snapshot());
                    }
                }
                if (!bad.empty()) {
                    at::NoGradGuard noGrad;
                    auto params = model->quantizerParameters();
                    for (size_t i = 0; i < params.size(); ++i) {
                        params[i].copy_(backup[i]);
                    }
                    state = RunState::Diverged;
                    message = "quantizer " + bad + " is no longer positive at step " + std::to_string(step + 1)
                              + "; the parameters of step " + std::to_string(step) + " are kept";
                    break;
                }
                optimizer.step(kModelGroup);
                ++step;
                result.steps = step; // also when a later step throws
                const double accuracy = comm.isDistributed()
                                            ? globalAccuracy
                                            : out.detach().argmax(1).eq(y).to(at::kFloat).mean().item<double>();
                localSamples += x.size(0);
                trainSeconds += std::chrono::duration<double>(Clock::now() - stepStarted).count();
                emit(StepEvent{step, epoch, lossValue, accuracy, lr, qlr, elapsed(), totalSteps});
                if (snapshotStep) {
                    for (size_t i = 0; i < current.size(); ++i) {
                        emit(SnapshotEvent{step, model->sites()[i].name, current[i]});
                    }
                    if (observer != nullptr) {
                        for (const auto& site : model->sites()) {
                            if (auto h = weightHistogram(*model, site, step); !h.counts.empty()) {
                                emit(h);
                            }
                        }
                    }
                }
                if (step == result.batchNormFreezeStep) {
                    // Statistics of the weights as they are now, then fixed: the steps left train
                    // what evaluation computes. BatchNorm that trains to be folded is folded now,
                    // so they train the deployed convs, biases on the integer grid included; the
                    // folded weights step |gamma| / sigma times the rate (modelStepScales()).
                    if (const int training = model->trainingBatchNorms(); training > 0) {
                        model = foldTrainedBatchNorm(std::move(model), config, data, globalBatch, comm, generator);
                        result.foldedBatchNorms = model->foldedBatchNorms();
                        optimizer = makeOptimizer();
                        synced = syncedParameters();
                        checkEachStep = positivityChecks();
                        emit(LogEvent{"BatchNorm folded into " + std::to_string(training) + " conv(s) at step "
                                      + std::to_string(step) + " with the current statistics; the folded convs train on"});
                    } else {
                        measureBatchNorm(*model, config, data, globalBatch, comm, generator);
                        model->freezeBatchNorm();
                        emit(LogEvent{"BatchNorm statistics measured and frozen at step " + std::to_string(step)});
                    }
                    model->train(true);
                }
            }
            model->train(false);
            dist::shareModelState(*model, comm, false);
            if (const int training = model->trainingBatchNorms();
                training > 0 && (epoch == epochs || step >= totalSteps || state != RunState::Finished)) {
                // The last evaluation is of the deployed model.
                model = foldTrainedBatchNorm(std::move(model), config, data, globalBatch, comm, generator);
                result.foldedBatchNorms = model->foldedBatchNorms();
                emit(LogEvent{"BatchNorm folded into " + std::to_string(training)
                              + " conv(s) with its final statistics (it normalised each batch while training)"});
            }
            const auto [top1, lossValue] = evaluate([&](const at::Tensor& x) { return model->forward(x); }, floatForward, data, comm);
            result.qatTop1 = top1;
            result.qatLoss = lossValue;
            result.epochs.push_back({epoch, top1, lossValue});
            emit(EpochEvent{epoch, top1, lossValue});
        }
        result.steps = step;
        result.trainSeconds = trainSeconds;
        const double samplesPerSecond = trainSeconds > 0 ? double(localSamples) / trainSeconds : 0.0;
        for (const auto& rate : comm.allgather(at::tensor({samplesPerSecond}, at::kDouble))) {
            result.samplesPerSecond.push_back(rate.item<double>());
        }
        finish(state, message);
    } catch (const Error& e) {
        const auto q = quantizerFailure(model.get());
        finish(RunState::Failed, q.empty() ? std::string(e.what()) : q);
    } catch (const c10::Error& e) {
        const auto q = quantizerFailure(model.get());
        finish(RunState::Failed, q.empty() ? firstLine(e.what_without_backtrace()) : q);
    } catch (const std::exception& e) {
        const auto q = quantizerFailure(model.get());
        finish(RunState::Failed, q.empty() ? std::string("unexpected error: ") + interpreterError(e.what()) : q);
    }
    if (model && initial.size() == model->sites().size()) {
        for (size_t i = 0; i < model->sites().size(); ++i) {
            const auto& site = model->sites()[i];
            const auto& q = model->table().at(size_t(site.slot));
            train::QuantizerSummary summary{site.name, site.layer, site.target, q.key(), q.config(), initial[i], model->snapshot(site),
                                            quant::InitMethod::Mse, {}};
            const auto& unreached = model->unreachedPoints();
            summary.reached = std::find(unreached.begin(), unreached.end(), site.name) == unreached.end();
            for (const auto& choice : model->initChoices()) {
                if (choice.slot == site.slot) {
                    summary.config.init = quant::InitMethod::Auto;
                    summary.initChosen = choice.chosen;
                    summary.initScores = choice.scores;
                }
            }
            result.quantizers.push_back(std::move(summary));
        }
        try {
            if (model->trainingBatchNorms() > 0) {
                model = model->foldedCopy(); // a run that failed before its last evaluation still exports
            }
            result.checkpoint = engine::saveCheckpoint(*model);
        } catch (const std::exception& e) {
            result.message += (result.message.empty() ? "" : "; ") + std::string("the trained state could not be kept: ") + e.what();
        }
    }
    return result;
}

} // namespace qat::train
