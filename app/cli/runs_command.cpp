// SPDX-License-Identifier: MIT
#include "runs_command.h"

#include "arguments.h"
#include "train_command.h"

#include "registry_setup.h"

#include "analysis/sensitivity.h"
#include "quantizers/quantizer_registry.h"
#include "storage/run_recorder.h"
#include "storage/run_state.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace qat::cli {

const char* const kRunsHelp =
    "usage: qatwb runs list [--json] [--state S] [--model M] [--db FILE]\n"
    "       qatwb runs show ID [--json] [--db FILE]\n"
    "       qatwb runs delete ID [--db FILE]\n"
    "       qatwb runs rerun ID [--json] [--plugin PATH]... [--db FILE]\n"
    "       qatwb runs sensitivity ID [--mode trained|float] [--limit-test N] [--json] [--plugin PATH]...\n"
    "                                 [--db FILE]\n"
    "\n"
    "The history of QAT runs recorded by `qatwb train` (and the workbench window).\n"
    "  list     every run, oldest first; --state and --model (a substring of the model\n"
    "           path) filter. JSON: [{id, name, state, message, model, float_top1, qat_top1,\n"
    "           created, ...}]. States: created, calibrating, running, paused, finished,\n"
    "           cancelled, diverged, failed, interrupted (a run recorded as training whose\n"
    "           process on this host is gone reads interrupted)\n"
    "  show     a run's configuration, per-layer quantizers (initial and final parameters),\n"
    "           epoch results, final metrics, and its exports with their parity reports\n"
    "  delete   remove a run with its metrics and traces\n"
    "  rerun    train again with the same model, data, plan, hyperparameters and seed (a new run)\n"
    "  sensitivity  per-layer sensitivity, scored on the first N test images (default: the run's\n"
    "           test subset) and stored with the run, one result per mode:\n"
    "           --mode trained (default): from the trained run, each layer's quantizers turned off\n"
    "             while the rest stay quantized; drop = the top-1 that layer costs the run\n"
    "           --mode float: from the float model's own weights, each layer alone quantized at the\n"
    "             plan's bits, calibrated as the run was (not trained); drop = the top-1 it loses\n"
    "             against the float model: what the plan costs before training (mixed precision)\n"
    "           JSON: {mode, float_top1, quantized_top1, images, layers: [{layer, kind, quantizers,\n"
    "           top1, drop}]}\n"
    "  --db FILE   run database (default $XDG_DATA_HOME/qat-workbench/runs.sqlite)\n";

namespace {

using nlohmann::json;

json optional(const std::optional<double>& v)
{
    return v ? json(*v) : json();
}

json runJson(const store::RunRecord& r)
{
    return {{"id", r.id},
            {"name", r.name},
            {"state", r.state},
            {"message", r.message},
            {"model", r.modelPath},
            {"model_hash", r.modelHash},
            {"dataset", r.dataset},
            {"float_top1", optional(r.floatTop1)},
            {"qat_top1", optional(r.qatTop1)},
            {"float_loss", optional(r.floatLoss)},
            {"qat_loss", optional(r.qatLoss)},
            {"steps", r.steps},
            {"seconds", r.seconds},
            {"created", r.created},
            {"finished", r.finished},
            {"seed", r.seed},
            {"app_version", r.appVersion},
            {"host", r.host},
            {"notes", r.notes},
            {"tags", r.tags}};
}

int64_t parseId(const std::string& text)
{
    const auto id = parseInteger(text);
    if (!id || *id <= 0) {
        throw UsageError("runs: '" + text + "' is not a run id (see `qatwb runs list`)");
    }
    return *id;
}

std::string percent(const std::optional<double>& v)
{
    if (!v) {
        return "-";
    }
    std::ostringstream s;
    s << std::fixed << std::setprecision(2) << *v * 100;
    return s.str();
}

store::RunRecord requireRun(const store::RunStore& runs, int64_t id)
{
    auto run = runs.run(id);
    if (!run) {
        throw store::StoreError(runs.path() + ": there is no run " + std::to_string(id) + " (see `qatwb runs list`)");
    }
    return *run;
}

std::string databasePath(const Arguments& a)
{
    return a.value("--db").empty() ? store::defaultDatabasePath() : a.value("--db");
}

int list(const Arguments& a)
{
    store::RunStore runs(databasePath(a), store::RunStore::Access::ReadOnly);
    store::RunFilter filter;
    filter.state = a.value("--state");
    if (!filter.state.empty() && !store::isKnownState(filter.state)) {
        std::string names;
        for (const auto& s : store::runStates()) {
            names += (names.empty() ? "" : ", ") + s.name;
        }
        throw UsageError("runs list: unknown state '" + filter.state + "' (states: " + names + ")");
    }
    filter.model = a.value("--model");
    const auto rows = runs.listRuns(filter);
    if (a.has("--json")) {
        json out = json::array();
        for (const auto& r : rows) {
            out.push_back(runJson(r));
        }
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    std::cout << std::left << std::setw(6) << "id" << std::setw(12) << "state" << std::setw(34) << "name"
              << std::setw(9) << "float %" << std::setw(9) << "QAT %" << "created\n";
    for (const auto& r : rows) {
        std::cout << std::left << std::setw(6) << r.id << std::setw(12) << r.state << std::setw(34) << r.name.substr(0, 33)
                  << std::setw(9) << percent(r.floatTop1) << std::setw(9) << percent(r.qatTop1) << r.created << "\n";
    }
    std::cout << rows.size() << " runs in " << runs.path() << "\n";
    return 0;
}

void printExports(const std::vector<store::ExportRow>& rows)
{
    std::string lastParity;
    for (const auto& x : rows) {
        std::cout << "  export     " << x.format << " " << x.path << " (" << x.created << ")\n";
        if (x.parity == lastParity) {
            continue;
        }
        lastParity = x.parity;
        const auto p = json::parse(x.parity, nullptr, false);
        if (!p.is_object()) {
            continue;
        }
        std::ostringstream line;
        line << std::fixed << std::setprecision(2) << "  parity     " << p.value("images", 0) << " test images: top-1 training "
             << p.value("training_top1", 0.0) * 100 << " %, exported " << p.value("exported_top1", 0.0) * 100
             << " %, same class " << p.value("top1_agreement", 0.0) * 100 << " %, max |diff| " << std::scientific
             << std::setprecision(3) << p.value("max_abs_diff", 0.0);
        std::cout << line.str() << "\n";
        for (const auto& note : p.value("notes", std::vector<std::string>{})) {
            std::cout << "             " << note << "\n";
        }
    }
}

int show(const Arguments& a)
{
    store::RunStore runs(databasePath(a), store::RunStore::Access::ReadOnly);
    const auto run = requireRun(runs, parseId(a.positional.at(1)));
    const auto quantizers = runs.quantizers(run.id);
    const auto epochs = runs.epochs(run.id);
    if (a.has("--json")) {
        auto out = runJson(run);
        out["plan"] = json::parse(run.plan);
        out["hyperparameters"] = json::parse(run.hyperparameters);
        out["layers"] = json::parse(run.layerSummary);
        json qs = json::array();
        for (const auto& q : quantizers) {
            qs.push_back({{"name", q.name}, {"layer", q.layer}, {"target", q.target}, {"training", q.training},
                          {"method", q.method}, {"config", json::parse(q.config)},
                          {"initial", json::parse(q.initial)}, {"final", json::parse(q.final)}});
        }
        out["quantizers"] = qs;
        json es = json::array();
        for (const auto& e : epochs) {
            es.push_back({{"epoch", e.epoch}, {"top1", e.top1}, {"loss", e.loss}});
        }
        out["epochs"] = es;
        json xs = json::array();
        for (const auto& x : runs.exports(run.id)) {
            xs.push_back({{"format", x.format}, {"path", x.path}, {"created", x.created},
                          {"parity", json::parse(x.parity, nullptr, false)}});
        }
        out["exports"] = xs;
        json sens = json::array();
        for (const auto& row : runs.sensitivity(run.id)) {
            sens.push_back({{"mode", row.mode}, {"layer", row.layer}, {"kind", row.kind}, {"top1", row.top1},
                            {"drop", row.drop}, {"images", row.images}, {"float_top1", optional(row.floatTop1)},
                            {"quantized_top1", optional(row.quantizedTop1)}});
        }
        out["sensitivity"] = sens;
        out["has_checkpoint"] = !runs.checkpoint(run.id).empty();
        out["metric_points"] = runs.metrics(run.id, "loss").size();
        out["trace_steps"] = runs.traceSteps(run.id);
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    std::cout << "run " << run.id << ": " << run.name << "\n"
              << "  state      " << store::stateLine(run.state, run.message) << "\n"
              << "  model      " << run.modelPath << "\n  hash       " << run.modelHash << "\n"
              << "  data       " << run.dataset << ", seed " << run.seed << "\n"
              << "  created    " << run.created << (run.finished.empty() ? "" : ", finished " + run.finished) << "\n"
              << "  top-1      float " << percent(run.floatTop1) << " %, QAT " << percent(run.qatTop1) << " % after "
              << run.steps << " steps\n"
              << "  training   " << run.hyperparameters << "\n";
    for (const auto& e : epochs) {
        std::cout << "  epoch " << e.epoch << "    top-1 " << percent(e.top1) << " %\n";
    }
    std::cout << "  quantizers\n";
    for (const auto& q : quantizers) {
        std::cout << "    " << std::left << std::setw(26) << q.name << std::setw(9) << q.training << std::setw(14)
                  << q.method << json::parse(q.config).value("bits", 0) << " bits\n";
    }
    std::cout << "  plan       " << json::parse(run.plan).dump() << "\n";
    printExports(runs.exports(run.id));
    std::string mode;
    for (const auto& row : runs.sensitivity(run.id)) {
        if (row.mode != mode) {
            mode = row.mode;
            std::cout << "  sensitivity (" << mode << ", " << row.images << " images) "
                      << analysis::describeStoredMode(mode) << "\n";
        }
        std::cout << "    " << std::left << std::setw(28) << row.layer << "top-1 " << percent(row.top1) << " %, costs "
                  << percent(row.drop) << " points\n";
    }
    return 0;
}

int remove(const Arguments& a)
{
    store::RunStore runs(databasePath(a));
    const auto id = parseId(a.positional.at(1));
    if (!runs.deleteRun(id)) {
        throw store::StoreError(runs.path() + ": there is no run " + std::to_string(id));
    }
    std::cout << "deleted run " << id << "\n";
    return 0;
}

int rerun(const Arguments& a)
{
    train::TrainConfig config;
    {
        store::RunStore runs(databasePath(a), store::RunStore::Access::ReadOnly);
        config = store::configFromRun(requireRun(runs, parseId(a.positional.at(1))));
    }
    std::cerr << "re-running run " << a.positional.at(1) << "\n";
    return executeTraining(config, a.all("--plugin"), databasePath(a), a.has("--json"));
}

int sensitivity(const Arguments& a)
{
    quant::QuantizerRegistry registry;
    setUpRegistry(registry, a.all("--plugin"));
    analysis::SensitivityMode mode = analysis::SensitivityMode::Trained;
    try {
        mode = analysis::parseSensitivityMode(a.value("--mode", "trained"));
    } catch (const Error& e) {
        throw UsageError(std::string("runs sensitivity: ") + e.what());
    }
    store::RunStore runs(databasePath(a));
    const auto id = parseId(a.positional.at(1));
    auto request = analysis::sensitivityRequestForRun(runs, id, a.integer("--limit-test", 0), mode);
    request.threads = int(a.integer("--threads", 0));
    const auto result = analysis::analyzeSensitivity(request, registry, [](int done, int total) {
        std::cerr << "\rsensitivity: " << done << " / " << total << " evaluations" << std::flush;
        return true;
    });
    std::cerr << "\n";
    runs.saveSensitivity(id, analysis::toString(mode), analysis::toRows(result));
    if (a.has("--json")) {
        json layers = json::array();
        for (const auto& l : result.layers) {
            layers.push_back({{"layer", l.layer}, {"kind", l.kind}, {"quantizers", l.quantizers}, {"top1", l.top1},
                              {"drop", l.drop}});
        }
        std::cout << json{{"run_id", id}, {"mode", analysis::toString(mode)}, {"images", result.images},
                          {"float_top1", result.floatTop1}, {"quantized_top1", result.quantizedTop1}, {"layers", layers}}
                         .dump(2)
                  << "\n";
        return 0;
    }
    std::cout << std::fixed << std::setprecision(2) << "run " << id << " on " << result.images << " test images, "
              << analysis::describeMode(mode) << "\n  float model " << result.floatTop1 * 100 << " %, all quantized "
              << result.quantizedTop1 * 100 << " %" << (mode == analysis::SensitivityMode::Trained ? " (the run)" : " (calibrated, untrained)")
              << "\n";
    for (const auto& l : result.layers) {
        std::cout << "  " << std::left << std::setw(28) << l.layer << std::setw(10) << l.kind << std::right
                  << std::setw(7) << l.top1 * 100 << " %  costs " << std::setw(6) << l.drop * 100 << " points\n";
    }
    return 0;
}

} // namespace

int runRuns(const std::vector<std::string>& args)
{
    if (args.empty()) {
        throw UsageError("runs: say list, show ID, delete ID, rerun ID or sensitivity ID");
    }
    const auto& verb = args.front();
    if (verb == "list") {
        return list(parseArguments({"runs list", {"--db", "--state", "--model"}, {"--json"}, 1, 1}, args));
    }
    if (verb == "show") {
        return show(parseArguments({"runs show", {"--db"}, {"--json"}, 2, 2}, args));
    }
    if (verb == "delete") {
        return remove(parseArguments({"runs delete", {"--db"}, {}, 2, 2}, args));
    }
    if (verb == "rerun") {
        return rerun(parseArguments({"runs rerun", {"--db", "--plugin"}, {"--json"}, 2, 2}, args));
    }
    if (verb == "sensitivity") {
        return sensitivity(
            parseArguments({"runs sensitivity", {"--db", "--plugin", "--limit-test", "--threads", "--mode"}, {"--json"}, 2, 2}, args));
    }
    throw UsageError("runs: unknown action '" + verb + "' (list, show, delete, rerun, sensitivity)");
}

} // namespace qat::cli
