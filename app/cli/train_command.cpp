// SPDX-License-Identifier: MIT
#include "train_command.h"

#include "arguments.h"
#include "data_command.h"
#include "distributed_launch.h"
#include "progress_printer.h"
#include "registry_setup.h"

#include "common/error.h"
#include "data/data_report.h"
#include "storage/run_recorder.h"
#include "targets/target_registry.h"
#include "training/trainer.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <csignal>
#include <iostream>

namespace qat::cli {

const char* const kTrainHelp =
    "usage: qatwb train --model MODEL [options]\n"
    "\n"
    "Quantization-aware training of a TorchScript or ONNX classifier, headless. Prints progress on\n"
    "stderr; Ctrl-C stops cleanly after the current step.\n"
    "\n"
    "data and model:\n"
    "  --model FILE            TorchScript model (.pt), scripted or traced, or ONNX (.onnx)\n"
    QATWB_DATA_OPTIONS_HELP
    "  --limit-train N         use the first N training images\n"
    "  --limit-test N          evaluate on the first N test images\n"
    "  --cache-mb N            keep decoded JPEG / PNG images in memory, up to N MB (default a\n"
    "                          quarter of RAM; 0: decode every epoch)\n"
    "quantization plan (later options refine earlier ones):\n"
    "  --preset NAME           mct-default (default), w8a8-lsq, w4a8-lsq, w2a3, w4a4-lsq-uniform\n"
    "  --plan FILE             a plan file (JSON, see README)\n"
    "  --target NAME           deployment target: where tensors are quantized and which formats\n"
    "                          are allowed: imx500 (default), tflite-int8, qnnpack, lowbit, generic\n"
    "  --weights SPEC          TRAINING:METHOD:BITS[:per-channel|per-tensor], e.g. lsq:symmetric:4:per-channel\n"
    "  --activations SPEC      TRAINING:METHOD:BITS, e.g. ste:power-of-two:8\n"
    "  --init METHOD           max, mse, percentile or auto (chosen per quantizer by its output\n"
    "                          error on calibration data), for every quantizer\n"
    "  --no-fold-bn            keep BatchNorm instead of folding it into the conv\n"
    "  --train-bn              BatchNorm normalises each batch while training and is folded into\n"
    "                          its conv when training ends, the weight ranges scaled with it (w2a3)\n"
    "  --no-train-bn           fold BatchNorm before training, as MCT does\n"
    "  --input-bits N          bits of the model input's quantizer (default: the activations')\n"
    "  --no-input-quant        do not quantize the model input\n"
    "  --no-integer-bias       keep biases float (by default, where the target computes in integers,\n"
    "                          a layer's bias trains on the int32 grid s_in * s_w its kernel adds)\n"
    "  --save-plan FILE        write the plan used to FILE\n"
    "training:\n"
    "  --epochs N              (default 1)       --steps N     stop after N steps\n"
    "  --batch N               (default 128)     --seed N      (default 0)\n"
    "  --lr X|auto             weights learning rate (auto: 3e-3 with activations of 3 bits\n"
    "                          or fewer, 1e-3 with weights of 3 bits or fewer or activations\n"
    "                          of 4 bits, else 1e-4)\n"
    "  --qlr X|auto            quantizer parameters learning rate (auto: 1e-3 with weights of\n"
    "                          3 bits or fewer, else 1e-4; 1e-5 for uniform ranges)\n"
    "  --lr-probe              with both rates auto: measure them first (5 trials of 32 steps\n"
    "                          around the auto pair, scored on held-out training batches)\n"
    "  --no-lr-probe           take the auto rates as they are\n"
    "  --quantizer-warmup N    the quantizers' rate rises linearly from 0 over the first N steps\n"
    "                          (0 or left out: none; see README)\n"
    "  --optimizer adam|sgd    (default adam)    --schedule cosine|step|constant (default cosine)\n"
    "  --kd                    distil from the float model (the default; needs no labels)\n"
    "  --no-kd                 train on the labels with cross-entropy instead\n"
    "  --temperature X         distillation temperature (default 2)\n"
    "  --calibration-batches N batches used to initialise quantizers (default 8)\n"
    "  --freeze-bn-after N|auto|never  measure BatchNorm's statistics on the weights after N\n"
    "                          steps and fix them; BatchNorm that trains to be folded (w2a3,\n"
    "                          --train-bn) is folded into its conv then (auto: after two\n"
    "                          thirds of the steps; never: it trains to the end, then is folded)\n"
    "  --snapshot-every N      quantizer snapshots every N steps (default 10)\n"
    "  --threads N             compute threads (default: one per core)\n"
    "  --plugin PATH           load a quantizer plugin (repeatable)\n"
    "several processes (data-parallel; see README, \"Training on several processes\"):\n"
    "  --local-ranks N         run N processes on this machine as one job (threads split)\n"
    "  --world-size N          processes in the job (env WORLD_SIZE; default 1); --batch is per process\n"
    "  --rank R                this process's rank, 0 to N-1 (env RANK); rank 0 records the run\n"
    "  --master HOST:PORT      where rank 0 listens (env MASTER_ADDR, MASTER_PORT; default\n"
    "                          127.0.0.1:29500)\n"
    "  --dist-timeout SECONDS  how long to wait for a rank that stopped answering (default 300)\n"
    "run history:\n"
    "  --db FILE               run database (default $XDG_DATA_HOME/qat-workbench/runs.sqlite);\n"
    "                          every run is recorded there and its id printed\n"
    "output:\n"
    "  --json                  print a JSON result on stdout: run_id, state, float_top1,\n"
    "                          qat_top1, steps, seconds, message, epochs, quantizers, lr and\n"
    "                          quantizer_lr (the rates trained at, automatic ones resolved),\n"
    "                          quantizer_warmup_steps (the warm-up trained with, resolved),\n"
    "                          freeze_bn_step (the step BatchNorm was frozen or folded after,\n"
    "                          resolved; -1: never),\n"
    "                          world_size, samples_per_second (per rank), resources (what\n"
    "                          the plan costs, as `qatwb inspect --json`; null when unknown),\n"
    "                          unreached_points (activation points no calibration batch\n"
    "                          reached, their quantizers started at [-1, 1]; each also has\n"
    "                          \"unreached\": true in quantizers)\n"
    "\n"
    "exit codes: 0 finished, 1 failed, 2 usage error, 3 diverged, 130 cancelled\n";

namespace {

train::CancelToken* g_token = nullptr;

extern "C" void onInterrupt(int)
{
    if (g_token != nullptr) {
        g_token->cancel = true;
    }
}

// A learning rate option: a non-negative number, or "auto" (and absent) for -1.
double learningRate(const Arguments& a, const std::string& option)
{
    if (a.value(option).empty() || a.value(option) == "auto") {
        return -1;
    }
    const double value = a.number(option, -1);
    if (value < 0) {
        throw UsageError(option + " must not be negative");
    }
    return value;
}


nlohmann::json snapshotJson(const quant::QuantizerSnapshot& s)
{
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [name, values] : s.values) {
        j[name] = values;
    }
    return j;
}

// The learning-rate probe's trials ([] without a probe); a diverged trial's loss is null.
nlohmann::json lrTrials(const std::vector<train::LrTrial>& trials)
{
    auto out = nlohmann::json::array();
    for (const auto& t : trials) {
        out.push_back({{"lr", t.lr}, {"quantizer_lr", t.quantizerLr},
                       {"loss", std::isfinite(t.loss) ? nlohmann::json(t.loss) : nlohmann::json()}});
    }
    return out;
}

nlohmann::json resultJson(const train::TrainResult& r)
{
    auto number = [](double v) { return v < 0 ? nlohmann::json() : nlohmann::json(v); };
    nlohmann::json epochs = nlohmann::json::array();
    for (const auto& e : r.epochs) {
        epochs.push_back({{"epoch", e.epoch}, {"top1", e.top1}, {"loss", e.loss}});
    }
    nlohmann::json quantizers = nlohmann::json::array();
    nlohmann::json unreached = nlohmann::json::array();
    for (const auto& q : r.quantizers) {
        if (!q.reached) unreached.push_back(q.name);
        nlohmann::json entry{{"name", q.name},
                             {"layer", q.layer},
                             {"target", quant::toString(q.target)},
                             {"training", q.key.training},
                             {"method", quant::toString(q.key.method)},
                             {"bits", q.config.bits},
                             {"per_channel", q.config.perChannel},
                             {"init", quant::toString(q.config.init)},
                             {"initial", snapshotJson(q.initial)},
                             {"final", snapshotJson(q.final)}};
        train::addInitChoice(entry, q);
        quantizers.push_back(entry);
    }
    return {{"state", train::toString(r.state)},
            {"message", r.message},
            {"float_top1", number(r.floatTop1)},
            {"float_loss", number(r.floatLoss)},
            {"qat_top1", number(r.qatTop1)},
            {"qat_loss", number(r.qatLoss)},
            {"steps", r.steps},
            {"seconds", r.seconds},
            {"folded_batch_norms", r.foldedBatchNorms},
            {"lr", r.lr},
            {"quantizer_lr", r.quantizerLr},
            {"quantizer_warmup_steps", r.quantizerWarmupSteps},
            {"freeze_bn_step", r.batchNormFreezeStep},
            {"lr_probe", lrTrials(r.lrTrials)},
            {"world_size", r.worldSize},
            {"samples_per_second", r.samplesPerSecond},
            {"epochs", epochs},
            {"quantizers", quantizers},
            {"unreached_points", unreached}};
}

} // namespace

int64_t quantizerWarmup(const Arguments& a)
{
    const int64_t steps = a.integer("--quantizer-warmup", -1);
    if (steps < -1) throw UsageError("--quantizer-warmup takes a number of steps (0: none)");
    return steps;
}

static int64_t freezeBatchNormAfter(const Arguments& a)
{
    const auto text = a.value("--freeze-bn-after");
    if (text.empty() || text == "auto") return train::TrainConfig::kAutoFreeze;
    if (text == "never") return -1;
    const int64_t steps = a.integer("--freeze-bn-after", -1);
    if (steps < 1) throw UsageError("--freeze-bn-after takes a number of steps (1 or more), auto or never");
    return steps;
}

engine::QuantizationPlan buildPlan(const Arguments& a)
{
    auto plan = a.value("--plan").empty() ? engine::presetPlan(a.value("--preset", "mct-default"))
                                          : engine::loadPlanFile(a.value("--plan"));
    if (!a.value("--plan").empty() && !a.value("--preset").empty()) {
        const auto preset = engine::presetPlan(a.value("--preset"));
        plan.weights = preset.weights;
        plan.activations = preset.activations;
        plan.preset = preset.preset;
        plan.target = preset.target;
    }
    if (!a.value("--target").empty()) {
        plan.target = target::builtinTargets().find(a.value("--target")).name;
    }
    if (!a.value("--weights").empty()) {
        engine::parseChoiceSpec(a.value("--weights"), "--weights").applyTo(plan.weights);
        plan.preset.clear();
    }
    if (!a.value("--activations").empty()) {
        auto spec = engine::parseChoiceSpec(a.value("--activations"), "--activations");
        if (spec.perChannel && *spec.perChannel) {
            throw UsageError("--activations: activations are quantized per tensor");
        }
        spec.perChannel.reset();
        spec.applyTo(plan.activations);
        plan.preset.clear();
    }
    if (!a.value("--init").empty()) {
        const auto init = quant::parseInitMethod(a.value("--init"));
        plan.weights.config.init = init;
        plan.activations.config.init = init;
    }
    if (!a.value("--input-bits").empty()) plan.input.bits = int(a.integer("--input-bits", 8));
    if (a.has("--no-fold-bn")) plan.foldBatchNorm = false;
    if (a.has("--train-bn")) plan.trainBatchNorm = true;
    if (a.has("--no-train-bn")) plan.trainBatchNorm = false;
    if (a.has("--no-input-quant")) plan.quantizeInput = false;
    if (a.has("--no-integer-bias")) plan.integerBias = false;
    return plan;
}

int runTrain(const std::vector<std::string>& args)
{
    const CommandSpec spec{"train",
                           {"--model", "--data", "--preset", "--plan", "--target", "--weights", "--activations", "--init",
                            "--save-plan", "--epochs", "--steps", "--batch", "--lr", "--qlr", "--optimizer",
                            "--schedule", "--seed", "--threads", "--limit-train", "--limit-test", "--cache-mb", "--temperature",
                            "--calibration-batches", "--freeze-bn-after", "--snapshot-every", "--plugin", "--input-bits",
                            "--inject-nan-at", "--db", "--local-ranks", "--world-size", "--rank", "--master",
                            "--dist-timeout", "--data-format", "--resize", "--normalize", "--val-split",
                            "--split-seed", "--bad-images", "--quantizer-warmup"},
                           {"--json", "--kd", "--no-kd", "--no-fold-bn", "--train-bn", "--no-train-bn", "--no-input-quant", "--no-integer-bias", "--lr-probe",
                            "--no-lr-probe"},
                           0,
                           0};
    const auto a = parseArguments(spec, args);
    if (a.value("--model").empty()) {
        throw UsageError("--model is required");
    }
    const auto distributed = distributedOptions(a);
    if (!a.value("--local-ranks").empty()) {
        if (!a.value("--world-size").empty() || !a.value("--rank").empty() || !a.value("--master").empty()) {
            throw UsageError("--local-ranks chooses the world size, ranks and port itself; leave out --world-size, --rank "
                             "and --master");
        }
        return launchLocalRanks(int(a.integer("--local-ranks", 1)), args, distributed.timeoutSeconds);
    }
    train::TrainConfig config;
    config.modelPath = a.value("--model");
    config.data = a.value("--data", config.data);
    config.dataOptions = dataOptions(a);
    config.plan = buildPlan(a);
    config.epochs = int(a.integer("--epochs", config.epochs));
    config.maxSteps = a.integer("--steps", config.maxSteps);
    config.batch = int(a.integer("--batch", config.batch));
    config.lr = learningRate(a, "--lr");
    config.quantizerLr = learningRate(a, "--qlr");
    config.lrProbe = a.onOff("--lr-probe", "--no-lr-probe");
    config.quantizerWarmup = quantizerWarmup(a);
    if (!a.value("--optimizer").empty()) config.optimizer = train::parseOptimizer(a.value("--optimizer"));
    if (!a.value("--schedule").empty()) config.schedule = train::parseSchedule(a.value("--schedule"));
    config.seed = uint64_t(a.integer("--seed", 0));
    config.threads = int(a.integer("--threads", 0));
    config.limitTrain = a.integer("--limit-train", 0);
    config.limitTest = a.integer("--limit-test", 0);
    config.cacheMb = a.integer("--cache-mb", -1);
    if (config.cacheMb < -1) throw UsageError("--cache-mb takes a size in MB (0 turns the cache off)");
    config.distill = a.onOff("--kd", "--no-kd").value_or(true);
    config.temperature = a.number("--temperature", config.temperature);
    config.calibrationBatches = int(a.integer("--calibration-batches", config.calibrationBatches));
    config.freezeBatchNormAfter = freezeBatchNormAfter(a);
    config.snapshotEvery = int(a.integer("--snapshot-every", config.snapshotEvery));
    config.injectNanAtStep = a.integer("--inject-nan-at", -1);
    config.distributed = distributed;
    if (!a.value("--save-plan").empty()) {
        engine::savePlanFile(config.plan, a.value("--save-plan"));
    }

    return executeTraining(config, a.all("--plugin"), a.value("--db"), a.has("--json"));
}

namespace {

int exitCodeOf(train::RunState state)
{
    switch (state) {
    case train::RunState::Finished: return 0;
    case train::RunState::Diverged: return 3;
    case train::RunState::Cancelled: return 130;
    default: return 1;
    }
}

/// Sends every event to each observer in turn.
class FanOut : public train::TrainObserver {
public:
    explicit FanOut(std::vector<train::TrainObserver*> observers) : m_observers(std::move(observers)) {}
    void onEvent(const train::TrainEvent& event) override
    {
        for (auto* o : m_observers) {
            o->onEvent(event);
        }
    }

private:
    std::vector<train::TrainObserver*> m_observers;
};

} // namespace

// Ranks other than 0 of a distributed job: train, write nothing, say only how it ended.
int executeFollowerRank(const train::TrainConfig& config, const quant::QuantizerRegistry& registry)
{
    train::CancelToken token;
    g_token = &token;
    std::signal(SIGINT, onInterrupt);
    std::signal(SIGTERM, onInterrupt);
    const auto result = train::runTraining(config, registry, nullptr, &token);
    g_token = nullptr;
    if (result.state != train::RunState::Finished) {
        std::cerr << "rank " << config.distributed.rank << ": " << train::toString(result.state)
                  << (result.message.empty() ? "" : ": " + result.message) << "\n";
    }
    return exitCodeOf(result.state);
}

int executeTraining(const train::TrainConfig& request, const std::vector<std::string>& plugins,
                    const std::string& dbPath, bool json)
{
    quant::QuantizerRegistry registry;
    setUpRegistry(registry, plugins);
    // The data is checked against the model and its automatic choices resolved before the
    // run is recorded, so the run stores exactly what will be fed (and a mistake stops here).
    // Every rank resolves the same data the same way.
    auto config = request;
    std::string dataError;
    std::vector<int64_t> modelInput;
    try {
        const auto report = data::inspectData(config.data, config.dataOptions, config.modelPath, 0);
        config.dataOptions = report.resolved;
        modelInput = report.modelInput;
        if (config.distributed.rank == 0) {
            std::cerr << data::reportToText(report);
        }
    } catch (const Error& e) {
        dataError = e.what();
    }
    if (config.distributed.rank > 0) {
        if (!dataError.empty()) {
            std::cerr << "rank " << config.distributed.rank << ": " << dataError << "\n";
            return 1;
        }
        return executeFollowerRank(config, registry);
    }
    // The run is recorded before training starts; a database that cannot take it stops here.
    store::RunStore runs(dbPath.empty() ? store::defaultDatabasePath() : dbPath);
    auto record = store::describeRun(config, modelInput);
    const auto runId = runs.createRun(record);
    std::cerr << "run " << runId << " recorded in " << runs.path() << "\n";
    store::RunRecorder recorder(runs, runId, config.snapshotEvery);
    train::CancelToken token;
    g_token = &token;
    std::signal(SIGINT, onInterrupt);
    std::signal(SIGTERM, onInterrupt);
    ProgressPrinter progress(std::cerr);
    FanOut observers({&progress, &recorder});
    train::TrainResult result;
    if (dataError.empty()) {
        result = train::runTraining(config, registry, &observers, &token);
    } else {
        result.state = train::RunState::Failed;
        result.message = dataError;
    }
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    g_token = nullptr;
    result = recorder.finish(std::move(result));
    progress.finish(result);
    if (json) {
        auto out = resultJson(result);
        out["run_id"] = runId;
        out["resources"] = record.resources.empty() ? nlohmann::json(nullptr) : nlohmann::json::parse(record.resources);
        std::cout << out.dump(2) << "\n";
    }
    return exitCodeOf(result.state);
}

} // namespace qat::cli
