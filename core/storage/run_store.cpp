// SPDX-License-Identifier: MIT
#include "storage/run_store.h"

#include "storage/run_state.h"
#include "storage/sqlite_statement.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <unistd.h>

namespace qat::store {

namespace fs = std::filesystem;

namespace {

constexpr int kBusyTimeoutMs = 3000;

const char* const kRunColumns =
    "id, name, created, finished, state, message, model_path, model_hash, layer_summary, dataset, plan, "
    "hyperparameters, seed, app_version, host, pid, notes, tags, float_top1, qat_top1, float_loss, qat_loss, "
    "steps, seconds";

RunRecord readRun(const Statement& s)
{
    RunRecord r;
    r.id = s.integer(0);
    r.name = s.text(1);
    r.created = s.text(2);
    r.finished = s.text(3);
    r.state = s.text(4);
    r.message = s.text(5);
    r.modelPath = s.text(6);
    r.modelHash = s.text(7);
    r.layerSummary = s.text(8);
    r.dataset = s.text(9);
    r.plan = s.text(10);
    r.hyperparameters = s.text(11);
    r.seed = s.integer(12);
    r.appVersion = s.text(13);
    r.host = s.text(14);
    r.pid = s.integer(15);
    r.notes = s.text(16);
    r.tags = nlohmann::json::parse(s.text(17), nullptr, false).is_array()
                 ? nlohmann::json::parse(s.text(17)).get<std::vector<std::string>>()
                 : std::vector<std::string>{};
    r.floatTop1 = s.optionalReal(18);
    r.qatTop1 = s.optionalReal(19);
    r.floatLoss = s.optionalReal(20);
    r.qatLoss = s.optionalReal(21);
    r.steps = s.integer(22);
    r.seconds = s.real(23);
    settleState(r);
    return r;
}

// qat_state(state, host, pid): the state that is true now (run_state.h), so that filters,
// sorting and the change stamp see a killed run as interrupted on a read-only connection too.
void sqlCurrentState(sqlite3_context* context, int, sqlite3_value** args)
{
    auto text = [&](int i) {
        const auto* t = sqlite3_value_text(args[i]);
        return t ? std::string(reinterpret_cast<const char*>(t)) : std::string();
    };
    const auto state = currentState(text(0), text(1), sqlite3_value_int64(args[2]));
    sqlite3_result_text(context, state.c_str(), int(state.size()), SQLITE_TRANSIENT);
}

// SQL for "the record says it is training": state IN ('created', ...).
std::string trainingStatesSql()
{
    std::string list;
    for (const auto& s : runStates()) {
        if (s.kind == StateKind::Training) {
            list += (list.empty() ? "'" : ", '") + s.name + "'";
        }
    }
    return "state IN (" + list + ")";
}

} // namespace

std::string defaultDatabasePath()
{
    const char* data = std::getenv("XDG_DATA_HOME");
    const char* home = std::getenv("HOME");
    const fs::path base = data && *data ? fs::path(data) : fs::path(home ? home : ".") / ".local" / "share";
    return (base / "qat-workbench" / "runs.sqlite").string();
}

std::string nowIso8601()
{
    const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm utc{};
    gmtime_r(&now, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
}

RunStore::RunStore(const std::string& path, Access access) : m_path(path)
{
    std::error_code ec;
    if (access == Access::ReadWrite && fs::path(path).has_parent_path()) {
        fs::create_directories(fs::path(path).parent_path(), ec);
    }
    if (access == Access::ReadOnly && !fs::exists(path, ec)) {
        throw StoreError(path + ": no run database here yet (it is created by the first `qatwb train`)");
    }
    const int flags = access == Access::ReadWrite ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
    const int code = sqlite3_open_v2(path.c_str(), &m_db, flags | SQLITE_OPEN_FULLMUTEX, nullptr);
    if (code != SQLITE_OK) {
        const std::string detail = m_db ? sqlite3_errmsg(m_db) : sqlite3_errstr(code);
        sqlite3_close(m_db);
        m_db = nullptr;
        throw StoreError(path + ": cannot open the run database (" + detail
                         + "); check that the folder exists and is writable, or pass another file with --db");
    }
    sqlite3_busy_timeout(m_db, kBusyTimeoutMs);
    sqlite3_create_function_v2(m_db, "qat_state", 3, SQLITE_UTF8, nullptr, sqlCurrentState, nullptr, nullptr, nullptr);
    try {
        migrate();
        if (access == Access::ReadWrite) {
            markInterrupted();
        }
    } catch (...) {
        sqlite3_close(m_db);
        m_db = nullptr;
        throw;
    }
}

RunStore::~RunStore()
{
    sqlite3_close(m_db);
}

int RunStore::markInterrupted()
{
    std::vector<int64_t> lost;
    {
        Statement s(m_db, m_path,
                    ("SELECT id FROM runs WHERE " + trainingStatesSql() + " AND qat_state(state, host, pid) = 'interrupted'").c_str());
        while (s.step()) {
            lost.push_back(s.integer(0));
        }
    }
    for (auto id : lost) {
        setState(id, "interrupted", kInterruptedMessage);
    }
    return int(lost.size());
}

int64_t RunStore::createRun(const RunRecord& r)
{
    Statement s(m_db, m_path,
                "INSERT INTO runs (name, created, state, message, model_path, model_hash, layer_summary, dataset, "
                "plan, hyperparameters, seed, app_version, host, pid, notes, tags) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    s.bind(1, r.name).bind(2, r.created.empty() ? nowIso8601() : r.created).bind(3, r.state).bind(4, r.message);
    s.bind(5, r.modelPath).bind(6, r.modelHash).bind(7, r.layerSummary).bind(8, r.dataset).bind(9, r.plan);
    s.bind(10, r.hyperparameters).bind(11, r.seed).bind(12, r.appVersion);
    s.bind(13, r.host.empty() ? thisHost() : r.host).bind(14, r.pid > 0 ? r.pid : int64_t(getpid()));
    s.bind(15, r.notes).bind(16, nlohmann::json(r.tags).dump());
    s.run();
    return sqlite3_last_insert_rowid(m_db);
}

void RunStore::setState(int64_t id, const std::string& state, const std::string& message)
{
    Statement s(m_db, m_path, "UPDATE runs SET state = ?, message = ? WHERE id = ?");
    s.bind(1, state).bind(2, message).bind(3, id).run();
}

void RunStore::finishRun(const RunRecord& r)
{
    Statement s(m_db, m_path,
                "UPDATE runs SET state = ?, message = ?, finished = ?, float_top1 = ?, qat_top1 = ?, float_loss = ?, "
                "qat_loss = ?, steps = ?, seconds = ? WHERE id = ?");
    s.bind(1, r.state).bind(2, r.message).bind(3, r.finished.empty() ? nowIso8601() : r.finished);
    s.bind(4, r.floatTop1).bind(5, r.qatTop1).bind(6, r.floatLoss).bind(7, r.qatLoss);
    s.bind(8, r.steps).bind(9, r.seconds).bind(10, r.id).run();
}

void RunStore::updateNotes(int64_t id, const std::string& notes, const std::vector<std::string>& tags)
{
    Statement s(m_db, m_path, "UPDATE runs SET notes = ?, tags = ? WHERE id = ?");
    s.bind(1, notes).bind(2, nlohmann::json(tags).dump()).bind(3, id).run();
}

void RunStore::updateHyperparameters(int64_t id, const std::string& json)
{
    Statement s(m_db, m_path, "UPDATE runs SET hyperparameters = ? WHERE id = ?");
    s.bind(1, json).bind(2, id).run();
}

void RunStore::saveQuantizers(int64_t id, const std::vector<QuantizerRow>& rows)
{
    Transaction transaction(m_db, m_path);
    Statement s(m_db, m_path,
                "INSERT OR REPLACE INTO quantizers (run_id, name, layer, target, training, method, config, initial, "
                "final) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    for (const auto& q : rows) {
        s.bind(1, id).bind(2, q.name).bind(3, q.layer).bind(4, q.target).bind(5, q.training).bind(6, q.method);
        s.bind(7, q.config).bind(8, q.initial).bind(9, q.final).run();
    }
    transaction.commit();
}

void RunStore::saveEpoch(int64_t id, const EpochRow& e)
{
    Transaction transaction(m_db, m_path);
    Statement s(m_db, m_path, "INSERT OR REPLACE INTO epochs (run_id, epoch, top1, loss) VALUES (?, ?, ?, ?)");
    s.bind(1, id).bind(2, int64_t(e.epoch)).bind(3, e.top1).bind(4, e.loss).run();
    // Until the run ends (finishRun sets the final result), its QAT result is its latest epoch's.
    Statement latest(m_db, m_path, "UPDATE runs SET qat_top1 = ?, qat_loss = ? WHERE id = ? AND finished = ''");
    latest.bind(1, e.top1).bind(2, e.loss).bind(3, id).run();
    transaction.commit();
}

void RunStore::saveFloatResult(int64_t id, double top1, double loss)
{
    Statement s(m_db, m_path, "UPDATE runs SET float_top1 = ?, float_loss = ? WHERE id = ?");
    s.bind(1, top1).bind(2, loss).bind(3, id).run();
}

void RunStore::appendMetrics(int64_t id, const std::vector<MetricPoint>& points)
{
    append(id, points, {});
}

void RunStore::appendTraces(int64_t id, const std::vector<TracePoint>& points)
{
    append(id, {}, points);
}

void RunStore::append(int64_t id, const std::vector<MetricPoint>& metrics, const std::vector<TracePoint>& traces)
{
    Transaction transaction(m_db, m_path);
    if (!metrics.empty()) {
        Statement s(m_db, m_path, "INSERT INTO metrics (run_id, step, name, value) VALUES (?, ?, ?, ?)");
        for (const auto& p : metrics) {
            s.bind(1, id).bind(2, p.step).bind(3, p.name).bind(4, p.value).run();
        }
    }
    if (!traces.empty()) {
        Statement s(m_db, m_path,
                    "INSERT INTO traces (run_id, step, quantizer, parameter, channel, value) VALUES (?, ?, ?, ?, ?, ?)");
        for (const auto& p : traces) {
            s.bind(1, id).bind(2, p.step).bind(3, p.quantizer).bind(4, p.parameter).bind(5, p.channel).bind(6, p.value).run();
        }
    }
    transaction.commit();
}

void RunStore::thinTraces(int64_t id, int64_t interval)
{
    Statement s(m_db, m_path, "DELETE FROM traces WHERE run_id = ? AND step % ? != 0 AND step != 1");
    s.bind(1, id).bind(2, interval).run();
}

namespace {

// Shared by listRuns and countRuns: ?1 state, ?2 model substring, ?3 text.
const char* const kRunWhere =
    " WHERE (?1 = '' OR qat_state(state, host, pid) = ?1) AND (?2 = '' OR instr(model_path, ?2) > 0) AND (?3 = '' OR "
    "instr(lower(name || ' ' || model_path || ' ' || qat_state(state, host, pid) || ' ' || tags || ' ' || notes || ' ' || "
    "coalesce(CASE WHEN json_valid(plan) THEN json_extract(plan, '$.preset') END, '')), lower(?3)) > 0)";

const char* orderExpression(RunFilter::Order order)
{
    switch (order) {
    case RunFilter::Order::Id: return "id";
    case RunFilter::Order::Name: return "name";
    case RunFilter::Order::Model: return "model_path";
    case RunFilter::Order::Preset: return "CASE WHEN json_valid(plan) THEN json_extract(plan, '$.preset') END";
    case RunFilter::Order::WeightBits:
        return "CASE WHEN json_valid(plan) THEN json_extract(plan, '$.weights.bits') * 100 + "
               "json_extract(plan, '$.activations.bits') END";
    case RunFilter::Order::State: return "qat_state(state, host, pid)";
    case RunFilter::Order::Created: return "created";
    case RunFilter::Order::FloatTop1: return "float_top1";
    case RunFilter::Order::QatTop1: return "qat_top1";
    case RunFilter::Order::Seconds: return "seconds";
    case RunFilter::Order::Tags: return "tags";
    }
    return "id";
}

} // namespace

std::vector<RunRecord> RunStore::listRuns(const RunFilter& filter) const
{
    const std::string direction = filter.descending ? " DESC" : "";
    auto sql = std::string("SELECT ") + kRunColumns + " FROM runs" + kRunWhere + " ORDER BY "
               + orderExpression(filter.order) + direction + ", id" + direction;
    if (filter.limit > 0) {
        sql += " LIMIT " + std::to_string(filter.limit) + " OFFSET " + std::to_string(std::max<int64_t>(filter.offset, 0));
    }
    Statement s(m_db, m_path, sql.c_str());
    s.bind(1, filter.state).bind(2, filter.model).bind(3, filter.text);
    std::vector<RunRecord> runs;
    while (s.step()) {
        runs.push_back(readRun(s));
    }
    return runs;
}

int64_t RunStore::countRuns(const RunFilter& filter) const
{
    Statement s(m_db, m_path, (std::string("SELECT count(*) FROM runs") + kRunWhere).c_str());
    s.bind(1, filter.state).bind(2, filter.model).bind(3, filter.text);
    return s.step() ? s.integer(0) : 0;
}

ChangeStamp RunStore::changeStamp() const
{
    // Runs still training contribute their state as true now and the results a reader can
    // already show (float top-1 before the first step, the latest epoch's top-1).
    const auto sql = "SELECT count(*), coalesce(max(id), 0), coalesce(max(finished), ''), coalesce((SELECT "
                     "group_concat(id || ':' || qat_state(state, host, pid) || ':' || coalesce(float_top1, '') || ':' || "
                     "coalesce(qat_top1, '')) FROM runs WHERE finished = '' AND " + trainingStatesSql() + "), '') FROM runs";
    Statement s(m_db, m_path, sql.c_str());
    ChangeStamp stamp;
    if (s.step()) {
        stamp = {s.integer(0), s.integer(1), s.text(2), s.text(3)};
    }
    return stamp;
}

std::optional<RunRecord> RunStore::run(int64_t id) const
{
    const auto sql = std::string("SELECT ") + kRunColumns + " FROM runs WHERE id = ?";
    Statement s(m_db, m_path, sql.c_str());
    s.bind(1, id);
    if (!s.step()) {
        return std::nullopt;
    }
    return readRun(s);
}

std::vector<QuantizerRow> RunStore::quantizers(int64_t id) const
{
    Statement s(m_db, m_path,
                "SELECT name, layer, target, training, method, config, initial, final FROM quantizers WHERE run_id = ? "
                "ORDER BY rowid");
    s.bind(1, id);
    std::vector<QuantizerRow> rows;
    while (s.step()) {
        rows.push_back({s.text(0), s.text(1), s.text(2), s.text(3), s.text(4), s.text(5), s.text(6), s.text(7)});
    }
    return rows;
}

std::vector<EpochRow> RunStore::epochs(int64_t id) const
{
    Statement s(m_db, m_path, "SELECT epoch, top1, loss FROM epochs WHERE run_id = ? ORDER BY epoch");
    s.bind(1, id);
    std::vector<EpochRow> rows;
    while (s.step()) {
        rows.push_back({int(s.integer(0)), s.real(1), s.real(2)});
    }
    return rows;
}

std::vector<MetricPoint> RunStore::metrics(int64_t id, const std::string& name) const
{
    Statement s(m_db, m_path,
                "SELECT step, name, value FROM metrics WHERE run_id = ? AND (?2 = '' OR name = ?2) ORDER BY step, rowid");
    s.bind(1, id).bind(2, name);
    std::vector<MetricPoint> points;
    while (s.step()) {
        points.push_back({s.integer(0), s.text(1), s.real(2)});
    }
    return points;
}

std::vector<TracePoint> RunStore::traces(int64_t id, const std::string& quantizer) const
{
    Statement s(m_db, m_path,
                "SELECT step, quantizer, parameter, channel, value FROM traces WHERE run_id = ? "
                "AND (?2 = '' OR quantizer = ?2) ORDER BY step, rowid");
    s.bind(1, id).bind(2, quantizer);
    std::vector<TracePoint> points;
    while (s.step()) {
        points.push_back({s.integer(0), s.text(1), s.text(2), s.integer(3), s.real(4)});
    }
    return points;
}

int64_t RunStore::traceSteps(int64_t id) const
{
    Statement s(m_db, m_path, "SELECT count(DISTINCT step) FROM traces WHERE run_id = ?");
    s.bind(1, id);
    return s.step() ? s.integer(0) : 0;
}

void RunStore::saveCheckpoint(int64_t id, int64_t step, const std::string& bytes)
{
    Statement s(m_db, m_path, "INSERT OR REPLACE INTO checkpoints (run_id, created, step, data) VALUES (?, ?, ?, ?)");
    s.bind(1, id).bind(2, nowIso8601()).bind(3, step).bindBlob(4, bytes).run();
}

std::string RunStore::checkpoint(int64_t id) const
{
    Statement s(m_db, m_path, "SELECT data FROM checkpoints WHERE run_id = ?");
    s.bind(1, id);
    return s.step() ? s.blob(0) : std::string();
}

bool RunStore::hasCheckpoint(int64_t id) const
{
    Statement s(m_db, m_path, "SELECT 1 FROM checkpoints WHERE run_id = ?");
    s.bind(1, id);
    return s.step();
}

void RunStore::saveExport(int64_t id, const ExportRow& row)
{
    Statement s(m_db, m_path, "INSERT INTO exports (run_id, created, format, path, parity) VALUES (?, ?, ?, ?, ?)");
    s.bind(1, id).bind(2, nowIso8601()).bind(3, row.format).bind(4, row.path).bind(5, row.parity).run();
}

std::vector<ExportRow> RunStore::exports(int64_t id) const
{
    Statement s(m_db, m_path, "SELECT id, created, format, path, parity FROM exports WHERE run_id = ? ORDER BY id");
    s.bind(1, id);
    std::vector<ExportRow> rows;
    while (s.step()) {
        rows.push_back({s.integer(0), s.text(1), s.text(2), s.text(3), s.text(4)});
    }
    return rows;
}

void RunStore::saveSensitivity(int64_t id, const std::string& mode, const std::vector<SensitivityRow>& rows)
{
    Transaction transaction(m_db, m_path);
    Statement clear(m_db, m_path, "DELETE FROM sensitivity WHERE run_id = ? AND mode = ?");
    clear.bind(1, id).bind(2, mode).run();
    Statement s(m_db, m_path,
                "INSERT INTO sensitivity (run_id, mode, layer, kind, top1, top1_drop, float_top1, quantized_top1, images, "
                "created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    const auto now = nowIso8601();
    for (const auto& r : rows) {
        s.bind(1, id).bind(2, mode).bind(3, r.layer).bind(4, r.kind).bind(5, r.top1).bind(6, r.drop);
        s.bind(7, r.floatTop1).bind(8, r.quantizedTop1).bind(9, r.images).bind(10, now).run();
    }
    transaction.commit();
}

std::vector<SensitivityRow> RunStore::sensitivity(int64_t id, const std::string& mode) const
{
    Statement s(m_db, m_path,
                "SELECT mode, layer, kind, top1, top1_drop, images, float_top1, quantized_top1, created FROM sensitivity "
                "WHERE run_id = ?1 AND (?2 = '' OR mode = ?2) ORDER BY CASE mode WHEN 'trained' THEN 0 WHEN 'float' THEN 1 ELSE 2 "
                "END, rowid");
    s.bind(1, id).bind(2, mode);
    std::vector<SensitivityRow> rows;
    while (s.step()) {
        rows.push_back({s.text(0), s.text(1), s.text(2), s.real(3), s.real(4), s.integer(5), s.optionalReal(6),
                        s.optionalReal(7), s.text(8)});
    }
    return rows;
}

bool RunStore::deleteRun(int64_t id)
{
    Statement s(m_db, m_path, "DELETE FROM runs WHERE id = ?");
    s.bind(1, id).run();
    return sqlite3_changes(m_db) > 0;
}

std::string RunStore::integrityCheck() const
{
    Statement s(m_db, m_path, "PRAGMA integrity_check");
    return s.step() ? s.text(0) : "no answer";
}

} // namespace qat::store
