// SPDX-License-Identifier: MIT
#include "storage/run_recorder.h"

#include "common/sha256.h"
#include "common/version.h"
#include "data/data_options.h"
#include "analysis/resources.h"
#include "model/model_inspector.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>

namespace qat::store {

using nlohmann::json;

namespace {

constexpr auto kFlushInterval = std::chrono::milliseconds(500);

std::string snapshotJson(const quant::QuantizerSnapshot& s)
{
    json j = json::object();
    for (const auto& [name, values] : s.values) {
        j[name] = values;
    }
    return j.dump();
}

std::string configJson(const train::QuantizerSummary& q)
{
    const auto& c = q.config;
    json j = {{"bits", c.bits},
              {"per_channel", c.perChannel},
              {"channel_axis", c.channelAxis},
              {"init", quant::toString(c.init)},
              {"keep_threshold_positive", c.keepThresholdPositive},
              {"pot_during_training", c.potDuringTraining},
              {"grad_scale", quant::toString(c.gradScale)},
              {"freeze", c.freeze}};
    if (c.isSigned) j["signed"] = *c.isSigned;
    train::addInitChoice(j, q);
    return j.dump();
}

// The layer summary and the plan's resource figures, from one inspection of the model.
void describeModel(RunRecord& run, const train::TrainConfig& config, const std::vector<int64_t>& modelInput)
{
    json layers = json::array();
    try {
        std::vector<int64_t> probe;
        if (!modelInput.empty()) {
            probe = {1};
            probe.insert(probe.end(), modelInput.begin(), modelInput.end());
        }
        const auto info = model::inspectModel(config.modelPath, probe);
        for (const auto& l : info.layers) {
            layers.push_back({{"name", l.name}, {"kind", l.kind}, {"weight_shape", l.weightShape},
                              {"parameters", l.parameterCount}});
        }
        run.resources = analysis::resourcesToJson(analysis::computeResources(info, config.plan));
    } catch (const Error&) {
        // The trainer reports an unreadable model or a plan that does not fit it itself;
        // the run row still gets written.
    }
    run.layerSummary = layers.dump();
}

} // namespace

RunRecorder::RunRecorder(RunStore& store, int64_t runId, int snapshotEvery)
    : m_store(store), m_runId(runId), m_interval(std::max(snapshotEvery, 1)), m_lastFlush(std::chrono::steady_clock::now())
{
}

RunRecorder::~RunRecorder()
{
    try {
        flush();
    } catch (const Error&) {
        // Destructors must not throw; finish() reports write errors.
    }
}

void RunRecorder::onEvent(const train::TrainEvent& event)
{
    const auto* state = std::get_if<train::StateEvent>(&event);
    if (!m_writeError.empty()) {
        // The database refused a write (a full disk): only the end state is still tried,
        // it fits in the pages the failed transaction already claimed.
        if (state != nullptr) {
            try {
                m_store.setState(m_runId, train::toString(state->state), state->message);
            } catch (const Error&) {
            }
        }
        return;
    }
    try {
        record(event);
    } catch (const Error& e) {
        m_writeError = e.what();
        m_metrics.clear();
        m_traces.clear();
        // Thrown on to the trainer, which ends the run failed with this message.
        throw;
    }
}

void RunRecorder::record(const train::TrainEvent& event)
{
    if (const auto* step = std::get_if<train::StepEvent>(&event)) {
        if (step->step == 2) {
            flush(); // the first step's rows at once, while the disk surely has room for them
        }
        m_metrics.push_back({step->step, "loss", step->loss});
        m_metrics.push_back({step->step, "accuracy", step->accuracy});
        m_metrics.push_back({step->step, "lr", step->lr});
        m_metrics.push_back({step->step, "quantizer_lr", step->quantizerLr});
    } else if (const auto* snapshot = std::get_if<train::SnapshotEvent>(&event)) {
        if (snapshot->step != 1 && snapshot->step % m_interval != 0) {
            return;
        }
        m_traceSteps.insert(snapshot->step);
        for (const auto& [parameter, values] : snapshot->values.values) {
            for (size_t c = 0; c < values.size(); ++c) {
                m_traces.push_back({snapshot->step, snapshot->quantizer, parameter, int64_t(c), values[c]});
            }
        }
        if (int64_t(m_traceSteps.size()) > kMaxTraceSteps) {
            flush();
            m_interval *= 2;
            m_store.thinTraces(m_runId, m_interval);
            for (auto it = m_traceSteps.begin(); it != m_traceSteps.end();) {
                it = (*it != 1 && *it % m_interval != 0) ? m_traceSteps.erase(it) : std::next(it);
            }
        }
    } else if (const auto* epoch = std::get_if<train::EpochEvent>(&event)) {
        flush();
        m_store.saveEpoch(m_runId, {epoch->epoch, epoch->top1, epoch->loss});
    } else if (const auto* baseline = std::get_if<train::FloatModelEvent>(&event)) {
        m_store.saveFloatResult(m_runId, baseline->top1, baseline->loss); // the History shows it while the run trains
    } else if (const auto* state = std::get_if<train::StateEvent>(&event)) {
        flush();
        m_store.setState(m_runId, train::toString(state->state), state->message);
        return;
    }
    if (std::chrono::steady_clock::now() - m_lastFlush > kFlushInterval) {
        flush();
    }
}

void RunRecorder::flush()
{
    // Metrics first, in their own transaction: they are small, and when the disk fills up
    // the larger batch of traces is the one that fails, not the loss curve before it.
    if (!m_metrics.empty()) {
        m_store.append(m_runId, m_metrics, {});
        m_metrics.clear();
    }
    if (!m_traces.empty()) {
        m_store.append(m_runId, {}, m_traces);
        m_traces.clear();
    }
    m_lastFlush = std::chrono::steady_clock::now();
}

train::TrainResult RunRecorder::finish(train::TrainResult result)
{
    RunRecord run;
    run.id = m_runId;
    run.state = train::toString(result.state);
    run.message = result.message;
    try {
        if (m_writeError.empty()) {
            flush();
        }
        std::vector<QuantizerRow> rows;
        for (const auto& q : result.quantizers) {
            rows.push_back({q.name, q.layer, quant::toString(q.target), q.key.training, quant::toString(q.key.method),
                            configJson(q), snapshotJson(q.initial), snapshotJson(q.final)});
        }
        m_store.saveQuantizers(m_runId, rows);
        if (result.steps > 0 || result.worldSize > 1) {
            if (const auto stored = m_store.run(m_runId)) {
                auto h = json::parse(stored->hyperparameters);
                if (result.worldSize > 1) {
                    h["world_size"] = result.worldSize;
                }
                h["samples_per_second_per_rank"] = result.samplesPerSecond;
                h["train_seconds"] = result.trainSeconds; // the steps alone (bench: GUI vs headless)
                m_store.updateHyperparameters(m_runId, h.dump());
            }
        }
        if (!result.checkpoint.empty()) {
            m_store.saveCheckpoint(m_runId, result.steps, result.checkpoint);
        }
    } catch (const Error& e) {
        // What was written so far stays; the run ends failed and says why.
        if (m_writeError.empty()) {
            m_writeError = e.what();
        }
        run.state = train::toString(train::RunState::Failed);
        run.message = (result.message.empty() || result.message == m_writeError ? "" : result.message + "; ")
                      + m_writeError;
    }
    if (!m_writeError.empty() && run.state != train::toString(train::RunState::Failed)) {
        run.state = train::toString(train::RunState::Failed);
        run.message = m_writeError;
    }
    auto measured = [](double v) { return v < 0 ? std::optional<double>() : std::optional<double>(v); };
    run.floatTop1 = measured(result.floatTop1);
    run.qatTop1 = measured(result.qatTop1);
    run.floatLoss = measured(result.floatLoss);
    run.qatLoss = measured(result.qatLoss);
    run.steps = result.steps;
    run.seconds = result.seconds;
    try {
        m_store.finishRun(run);
    } catch (const Error& e) {
        run.state = train::toString(train::RunState::Failed);
        run.message = std::string("the run could not be recorded completely: ") + e.what();
    }
    // What the caller reports is what a reader of the database will read.
    if (run.state != train::toString(result.state)) {
        result.state = train::RunState::Failed;
    }
    result.message = run.message;
    return result;
}

std::string hyperparametersJson(const train::TrainConfig& c)
{
    json h{{"epochs", c.epochs},
           {"steps", c.maxSteps},
           {"batch", c.batch},
           {"optimizer", train::toString(c.optimizer)},
           {"lr", c.lr},
           {"quantizer_lr", c.quantizerLr},
           {"lr_probe", train::probesLearningRates(c)},
           {"quantizer_warmup", c.quantizerWarmup},
           {"momentum", c.momentum},
           {"schedule", train::toString(c.schedule)},
           {"step_gamma", c.stepGamma},
           {"distill", c.distill},
           {"temperature", c.temperature},
           {"freeze_bn_after", c.freezeBatchNormAfter},
           {"calibration_batches", c.calibrationBatches},
           {"limit_train", c.limitTrain},
           {"limit_test", c.limitTest},
           {"snapshot_every", c.snapshotEvery},
           {"threads", c.threads},
           {"data", json::parse(data::toJson(c.dataOptions))}};
    if (c.distributed.worldSize > 1) {
        h["world_size"] = c.distributed.worldSize; // batch is per rank
    }
    return h.dump();
}

RunRecord describeRun(const train::TrainConfig& config, const std::vector<int64_t>& modelInput)
{
    RunRecord run;
    const auto stem = std::filesystem::path(config.modelPath).stem().string();
    run.name = stem + " " + (config.plan.preset.empty() ? std::string("custom plan") : config.plan.preset);
    run.modelPath = std::filesystem::absolute(config.modelPath).lexically_normal().string();
    try {
        run.modelHash = sha256File(config.modelPath);
    } catch (const Error&) {
        run.modelHash = "";
    }
    describeModel(run, config, modelInput);
    run.dataset = config.data;
    run.plan = engine::planToJson(config.plan);
    run.hyperparameters = hyperparametersJson(config);
    run.seed = int64_t(config.seed);
    run.appVersion = appVersion();
    return run;
}

train::TrainConfig configFromRun(const RunRecord& run)
{
    if (!std::filesystem::exists(run.modelPath)) {
        throw StoreError("run " + std::to_string(run.id) + ": its model " + run.modelPath + " no longer exists");
    }
    if (sha256File(run.modelPath) != run.modelHash) {
        throw StoreError("run " + std::to_string(run.id) + ": its model " + run.modelPath
                         + " has changed since the run (different content hash); a re-run would not be the same "
                           "experiment");
    }
    train::TrainConfig c;
    c.modelPath = run.modelPath;
    c.data = run.dataset;
    c.plan = engine::parsePlan(run.plan, "run " + std::to_string(run.id) + " plan");
    c.seed = uint64_t(run.seed);
    const auto h = json::parse(run.hyperparameters);
    c.epochs = h.value("epochs", c.epochs);
    c.maxSteps = h.value("steps", c.maxSteps);
    c.batch = h.value("batch", c.batch);
    c.optimizer = train::parseOptimizer(h.value("optimizer", std::string("adam")));
    c.lr = h.value("lr", c.lr);
    c.quantizerLr = h.value("quantizer_lr", c.quantizerLr);
    if (h.contains("lr_probe") && h["lr_probe"].is_boolean()) {
        c.lrProbe = h["lr_probe"].get<bool>(); // runs before the probe: the default, off
    }
    // Runs from before the warm-up trained without one.
    const auto warmup = h.find("quantizer_warmup");
    c.quantizerWarmup = warmup != h.end() && warmup->is_number_integer() ? std::max<int64_t>(-1, warmup->get<int64_t>()) : 0;
    c.momentum = h.value("momentum", c.momentum);
    c.schedule = train::parseSchedule(h.value("schedule", std::string("cosine")));
    c.stepGamma = h.value("step_gamma", c.stepGamma);
    c.distill = h.value("distill", c.distill);
    c.temperature = h.value("temperature", c.temperature);
    // Runs from before the automatic freeze stored -1 (never) or no key (never).
    c.freezeBatchNormAfter = h.value("freeze_bn_after", int64_t(-1));
    c.calibrationBatches = h.value("calibration_batches", c.calibrationBatches);
    c.limitTrain = h.value("limit_train", c.limitTrain);
    c.limitTest = h.value("limit_test", c.limitTest);
    c.snapshotEvery = h.value("snapshot_every", c.snapshotEvery);
    c.threads = h.value("threads", c.threads);
    // A distributed run is re-run in one process with the same global batch.
    c.batch *= h.value("world_size", 1);
    if (h.contains("data")) { // runs before data options were stored read IDX with the defaults
        c.dataOptions = data::dataOptionsFromJson(h["data"].dump());
    }
    return c;
}

} // namespace qat::store
