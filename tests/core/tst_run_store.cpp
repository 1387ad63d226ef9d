// SPDX-License-Identifier: MIT
// The run history on real SQLite files, with real `qatwb train` processes for the kill,
// concurrent-reader and re-run cases.
#include "test_paths.h"
#include "storage/run_recorder.h"
#include "storage/run_store.h"

#include <QCryptographicHash>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <csignal>
#include <sqlite3.h>
#include <unistd.h>

using namespace qat;
using store::RunStore;

namespace {

QByteArray digest(const QString& path)
{
    QFile file(path);
    file.open(QIODevice::ReadOnly);
    return QCryptographicHash::hash(file.readAll(), QCryptographicHash::Sha256);
}

QString errorOf(const std::function<void()>& call)
{
    try {
        call();
    } catch (const store::StoreError& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

store::RunRecord sampleRun(const std::string& name, const std::string& model = "/models/a.pt")
{
    store::RunRecord r;
    r.name = name;
    r.modelPath = model;
    r.modelHash = "abc123";
    r.layerSummary = R"([{"name":"fc"}])";
    r.dataset = "fashion-mnist";
    r.plan = R"({"preset":"w4a8-lsq"})";
    r.hyperparameters = R"({"lr":0.001})";
    r.seed = 42;
    r.appVersion = "0.1.0";
    r.notes = "first try";
    r.tags = {"4bit", "baseline"};
    r.resources = R"({"weights_bytes":1234})";
    return r;
}

QStringList trainArgs(const QString& db, int steps)
{
    return {QStringLiteral("train"), QStringLiteral("--model"),
            QDir(qat::test::path(QATWB_FIXTURES_DIR)).filePath(QStringLiteral("cnn_bn_relu_traced.pt")),
            QStringLiteral("--db"), db, QStringLiteral("--steps"), QString::number(steps), QStringLiteral("--batch"),
            QStringLiteral("32"), QStringLiteral("--limit-test"), QStringLiteral("200"),
            QStringLiteral("--snapshot-every"), QStringLiteral("1"), QStringLiteral("--seed"), QStringLiteral("3")};
}

/// Starts qatwb and returns once it printed a training step.
bool startTraining(QProcess& process, const QStringList& args)
{
    process.setReadChannel(QProcess::StandardError);
    process.start(qat::test::path(QATWB_CLI), args);
    QByteArray err;
    while (!err.contains("step ") && process.waitForReadyRead(60000)) {
        err += process.readAllStandardError();
    }
    return err.contains("step ");
}

} // namespace

class TestRunStore : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void roundTrip();
    void listFiltersAndDelete();
    void runningRunOfDeadProcessBecomesInterrupted();
    void traceDownsamplingKeepsRunSmall();
    void defaultPathFollowsXdg();
    void corruptFileIsRefusedUntouched_data();
    void corruptFileIsRefusedUntouched();
    void newerSchemaIsRefusedUntouched();
    void lockedDatabaseGivesClearMessage();
    void readOnlyAccessRefusesWrites();
    void versionOneFixtureOpens();
    void killedTrainingIsInterruptedAndKept();
    void readerSeesConsistentRowsWhileTraining();
    void rerunReproducesMetrics();
    void pagesSortsAndSearches();
    void changeStampSeesOtherConnections();
    void sensitivityRoundTripAndCascade();
    void versionThreeFixtureKeepsSensitivityAsLegacy();

private:
    QTemporaryDir m_dir;
};

void TestRunStore::roundTrip()
{
    const auto path = m_dir.filePath(QStringLiteral("round.sqlite")).toStdString();
    RunStore runs(path);
    const auto id = runs.createRun(sampleRun("demo w4a8-lsq"));
    runs.setState(id, "running");
    runs.appendMetrics(id, {{1, "loss", 0.5}, {2, "loss", 0.25}, {1, "accuracy", 0.75}});
    runs.appendTraces(id, {{1, "fc.weight", "threshold", 0, 0.5}, {1, "fc.weight", "threshold", 1, 0.25}});
    runs.saveEpoch(id, {1, 0.9, 0.3});
    runs.saveQuantizers(id, {{"fc.weight", "fc", "weights", "LSQ", "symmetric", R"({"bits":4})", R"({"threshold":[1]})",
                              R"({"threshold":[0.5]})"}});
    store::RunRecord done;
    done.id = id;
    done.state = "finished";
    done.floatTop1 = 0.93;
    done.qatTop1 = 0.92;
    done.steps = 2;
    done.seconds = 1.5;
    runs.finishRun(done);
    runs.updateNotes(id, "better notes", {"keep"});

    RunStore reader(path, RunStore::Access::ReadOnly);
    const auto r = *reader.run(id);
    QCOMPARE(r.name, std::string("demo w4a8-lsq"));
    QCOMPARE(r.state, std::string("finished"));
    QCOMPARE(r.modelHash, std::string("abc123"));
    QCOMPARE(r.plan, std::string(R"({"preset":"w4a8-lsq"})"));
    QCOMPARE(r.resources, std::string(R"({"weights_bytes":1234})"));
    QCOMPARE(r.seed, 42);
    QCOMPARE(*r.floatTop1, 0.93);
    QCOMPARE(*r.qatTop1, 0.92);
    QVERIFY(!r.floatLoss);
    QCOMPARE(r.notes, std::string("better notes"));
    QCOMPARE(r.tags, std::vector<std::string>({"keep"}));
    QVERIFY(!r.finished.empty() && !r.created.empty());
    QCOMPARE(r.pid, int64_t(getpid()));
    QCOMPARE(reader.metrics(id, "loss").size(), size_t(2));
    QCOMPARE(reader.metrics(id).size(), size_t(3));
    QCOMPARE(reader.traces(id).size(), size_t(2));
    QCOMPARE(reader.epochs(id).at(0).top1, 0.9);
    QCOMPARE(reader.quantizers(id).at(0).final, std::string(R"({"threshold":[0.5]})"));
    QCOMPARE(reader.integrityCheck(), std::string("ok"));
}

void TestRunStore::listFiltersAndDelete()
{
    RunStore runs(m_dir.filePath(QStringLiteral("list.sqlite")).toStdString());
    const auto a = runs.createRun(sampleRun("a", "/m/demo_cnn.pt"));
    const auto b = runs.createRun(sampleRun("b", "/m/mlp.pt"));
    runs.setState(b, "diverged");
    runs.appendMetrics(a, {{1, "loss", 1.0}});
    runs.appendTraces(a, {{1, "q", "step", 0, 0.1}});
    QCOMPARE(runs.listRuns().size(), size_t(2));
    store::RunFilter diverged;
    diverged.state = "diverged";
    QCOMPARE(runs.listRuns(diverged).at(0).name, std::string("b"));
    store::RunFilter demo;
    demo.model = "demo";
    QCOMPARE(runs.listRuns(demo).at(0).id, a);
    QVERIFY(runs.deleteRun(a));
    QVERIFY(!runs.deleteRun(a));
    QVERIFY(runs.metrics(a).empty());
    QVERIFY(runs.traces(a).empty());
    QCOMPARE(runs.listRuns().size(), size_t(1));
}

void TestRunStore::runningRunOfDeadProcessBecomesInterrupted()
{
    const auto path = m_dir.filePath(QStringLiteral("interrupted.sqlite")).toStdString();
    QProcess finished;
    finished.start(QStringLiteral("true"));
    QVERIFY(finished.waitForFinished());
    const auto deadPid = finished.processId() > 0 ? finished.processId() : 999999;
    int64_t lost = 0;
    int64_t mine = 0;
    {
        RunStore runs(path);
        auto dead = sampleRun("dead");
        dead.pid = deadPid == 0 ? 999999 : deadPid;
        dead.state = "running";
        lost = runs.createRun(dead);
        auto alive = sampleRun("alive");
        alive.state = "running";
        mine = runs.createRun(alive);
        runs.appendMetrics(lost, {{1, "loss", 2.0}});
    }
    RunStore reopened(path);
    QCOMPARE(reopened.run(lost)->state, std::string("interrupted"));
    QVERIFY(!reopened.run(lost)->message.empty());
    QCOMPARE(reopened.metrics(lost).size(), size_t(1));
    QCOMPARE(reopened.run(mine)->state, std::string("running")); // its process (this test) is alive
}

void TestRunStore::traceDownsamplingKeepsRunSmall()
{
    RunStore runs(m_dir.filePath(QStringLiteral("thin.sqlite")).toStdString());
    const auto id = runs.createRun(sampleRun("long"));
    {
        store::RunRecorder recorder(runs, id, 1);
        for (int64_t step = 1; step <= 1500; ++step) {
            train::SnapshotEvent e;
            e.step = step;
            e.quantizer = "fc.weight";
            e.values.values["threshold"] = {0.5f, 0.25f, 0.125f};
            recorder.onEvent(e);
        }
    }
    const auto steps = runs.traceSteps(id);
    QVERIFY2(steps <= store::RunRecorder::kMaxTraceSteps + 1, qPrintable(QString::number(steps)));
    QVERIFY(steps >= store::RunRecorder::kMaxTraceSteps / 2);
    const auto traces = runs.traces(id);
    QCOMPARE(traces.front().step, 1);        // the start is kept
    QVERIFY(traces.back().step >= 1400);     // and the end
    QCOMPARE(traces.size(), size_t(steps * 3)); // every channel of every kept step
}

void TestRunStore::defaultPathFollowsXdg()
{
    const auto home = qgetenv("HOME");
    const auto data = qgetenv("XDG_DATA_HOME");
    auto restore = qScopeGuard([&] {
        qputenv("HOME", home);
        qputenv("XDG_DATA_HOME", data);
    });
    qputenv("XDG_DATA_HOME", "/tmp/xdg-test");
    QCOMPARE(store::defaultDatabasePath(), std::string("/tmp/xdg-test/qat-workbench/runs.sqlite"));
    qunsetenv("XDG_DATA_HOME");
    qputenv("HOME", "/home/someone");
    QCOMPARE(store::defaultDatabasePath(), std::string("/home/someone/.local/share/qat-workbench/runs.sqlite"));
}

void TestRunStore::corruptFileIsRefusedUntouched_data()
{
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<QString>("mustSay");
    QTest::newRow("text") << QByteArray("these are my notes, not a database\n").repeated(200)
                          << "not a QAT Workbench run database, or a damaged one";
    QByteArray header("SQLite format 3");
    header.append('\0');
    QTest::newRow("damaged header") << header + QByteArray(4000, '\x7f') << "damaged";
}

void TestRunStore::corruptFileIsRefusedUntouched()
{
    QFETCH(QByteArray, content);
    QFETCH(QString, mustSay);
    const auto path = m_dir.filePath(QStringLiteral("corrupt.sqlite"));
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
    file.write(content);
    file.close();
    const auto before = digest(path);
    const auto message = errorOf([&] { RunStore runs(path.toStdString()); });
    QVERIFY2(message.contains(mustSay), qPrintable(message));
    QVERIFY(message.startsWith(path));
    QCOMPARE(digest(path), before);
    QVERIFY(!QFile::exists(path + QStringLiteral("-wal")));
}

void TestRunStore::newerSchemaIsRefusedUntouched()
{
    const auto path = m_dir.filePath(QStringLiteral("newer.sqlite"));
    {
        RunStore runs(path.toStdString());
        runs.createRun(sampleRun("from the future"));
    }
    sqlite3* db = nullptr;
    QCOMPARE(sqlite3_open(path.toLocal8Bit().constData(), &db), SQLITE_OK);
    QCOMPARE(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
    const auto before = digest(path);
    const auto message = errorOf([&] { RunStore runs(path.toStdString()); });
    QVERIFY2(message.contains(QStringLiteral("newer QAT Workbench (schema version 99")), qPrintable(message));
    QCOMPARE(digest(path), before);
    // An SQLite file of another application is not touched either.
    const auto other = m_dir.filePath(QStringLiteral("other.sqlite"));
    QCOMPARE(sqlite3_open(other.toLocal8Bit().constData(), &db), SQLITE_OK);
    QCOMPARE(sqlite3_exec(db, "CREATE TABLE photos (id INTEGER)", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
    QVERIFY(errorOf([&] { RunStore runs(other.toStdString()); }).contains(QStringLiteral("not a QAT Workbench run database")));
}

void TestRunStore::lockedDatabaseGivesClearMessage()
{
    const auto path = m_dir.filePath(QStringLiteral("locked.sqlite"));
    int64_t id = 0;
    {
        RunStore runs(path.toStdString());
        id = runs.createRun(sampleRun("before the lock"));
    }
    // Another process holds the write lock (Python's sqlite3, a real second process).
    QProcess holder;
    holder.start(QStringLiteral("/usr/bin/python3"),
                 {QStringLiteral("-c"),
                  QStringLiteral("import sqlite3, sys, time\n"
                                 "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                                 "c.execute('BEGIN EXCLUSIVE')\n"
                                 "print('locked', flush=True)\n"
                                 "time.sleep(20)\n"),
                  path});
    QVERIFY(holder.waitForReadyRead(20000));
    QVERIFY(holder.readAllStandardOutput().contains("locked"));
    RunStore runs(path.toStdString(), RunStore::Access::ReadOnly);
    const auto message = errorOf([&] {
        RunStore writer(path.toStdString());
        writer.createRun(sampleRun("during the lock"));
    });
    holder.kill();
    holder.waitForFinished();
    QVERIFY2(message.contains(QStringLiteral("locked by another process")), qPrintable(message));
    RunStore after(path.toStdString());
    QCOMPARE(after.listRuns().size(), size_t(1));
    QCOMPARE(after.run(id)->name, std::string("before the lock"));
    QCOMPARE(after.integrityCheck(), std::string("ok"));
}

void TestRunStore::readOnlyAccessRefusesWrites()
{
    const auto path = m_dir.filePath(QStringLiteral("readonly.sqlite")).toStdString();
    {
        RunStore runs(path);
        runs.createRun(sampleRun("kept"));
    }
    // Root ignores file permissions, so read-only access is what this checks.
    RunStore runs(path, RunStore::Access::ReadOnly);
    QCOMPARE(runs.listRuns().size(), size_t(1));
    const auto message = errorOf([&] { runs.createRun(sampleRun("refused")); });
    QVERIFY2(message.contains(QStringLiteral("cannot write the run database")), qPrintable(message));
    QVERIFY(errorOf([&] { RunStore missing("/no/such/dir/runs.sqlite", RunStore::Access::ReadOnly); })
                .contains(QStringLiteral("no run database here yet")));
}

void TestRunStore::versionOneFixtureOpens()
{
    // A database written by schema version 1 (tests/fixtures/runs_v1.sqlite, made with the
    // real CLI): every row must survive opening by this version (and its migrations).
    const auto copy = m_dir.filePath(QStringLiteral("v1.sqlite"));
    QVERIFY(QFile::copy(qat::test::path(QATWB_FIXTURES_DIR, "/../runs_v1.sqlite"), copy));
    QFile::setPermissions(copy, QFile::ReadOwner | QFile::WriteOwner);
    RunStore runs(copy.toStdString());
    const auto list = runs.listRuns();
    QCOMPARE(list.size(), size_t(2));
    for (const auto& r : list) {
        QVERIFY(r.qatTop1.has_value());
        QVERIFY(!runs.metrics(r.id, "loss").empty());
        QVERIFY(!runs.quantizers(r.id).empty());
        QVERIFY(runs.traceSteps(r.id) > 0);
        QCOMPARE(r.resources, std::string()); // recorded before version 5: not known
    }
    QCOMPARE(runs.integrityCheck(), std::string("ok"));
}

void TestRunStore::killedTrainingIsInterruptedAndKept()
{
    const auto db = m_dir.filePath(QStringLiteral("killed.sqlite"));
    QProcess process;
    QVERIFY(startTraining(process, trainArgs(db, 100000)));
    // Kill once a reader can see flushed metrics (the recorder commits every 0.5 s).
    size_t seen = 0;
    for (int i = 0; i < 600 && seen <= 3; ++i) {
        process.waitForFinished(100);
        RunStore reader(db.toStdString(), RunStore::Access::ReadOnly);
        seen = reader.metrics(1, "loss").size();
    }
    QVERIFY(seen > 3);
    ::kill(pid_t(process.processId()), SIGKILL);
    QVERIFY(process.waitForFinished(20000));
    RunStore runs(db.toStdString());
    const auto list = runs.listRuns();
    QCOMPARE(list.size(), size_t(1));
    QCOMPARE(list[0].state, std::string("interrupted"));
    QCOMPARE(runs.integrityCheck(), std::string("ok"));
    QVERIFY2(runs.metrics(list[0].id, "loss").size() >= seen, "metrics flushed before the kill are missing");
    QVERIFY(runs.traceSteps(list[0].id) > 0);
}

void TestRunStore::readerSeesConsistentRowsWhileTraining()
{
    const auto db = m_dir.filePath(QStringLiteral("concurrent.sqlite"));
    QProcess process;
    QVERIFY(startTraining(process, trainArgs(db, 150)));
    int reads = 0;
    size_t lastCount = 0;
    while (process.state() != QProcess::NotRunning) {
        RunStore reader(db.toStdString(), RunStore::Access::ReadOnly);
        const auto list = reader.listRuns();
        QCOMPARE(list.size(), size_t(1));
        const auto loss = reader.metrics(list[0].id, "loss");
        QVERIFY(loss.size() >= lastCount); // rows only ever appear, whole
        for (size_t i = 0; i < loss.size(); ++i) {
            QCOMPARE(loss[i].step, int64_t(i + 1));
        }
        lastCount = loss.size();
        ++reads;
        process.waitForFinished(50);
    }
    QCOMPARE(process.exitCode(), 0);
    QVERIFY(reads > 3);
    RunStore after(db.toStdString(), RunStore::Access::ReadOnly);
    QCOMPARE(after.listRuns().at(0).state, std::string("finished"));
    QCOMPARE(after.metrics(1, "loss").size(), size_t(150));
}

void TestRunStore::rerunReproducesMetrics()
{
    const auto db = m_dir.filePath(QStringLiteral("rerun.sqlite"));
    QProcess first;
    // With the learning-rate probe and a quantizer warm-up: the re-run does both, so it trains
    // at the same rates.
    first.start(qat::test::path(QATWB_CLI), trainArgs(db, 12) << QStringLiteral("--lr-probe")
                                                               << QStringLiteral("--quantizer-warmup") << QStringLiteral("5"));
    QVERIFY(first.waitForFinished(120000));
    QCOMPARE(first.exitCode(), 0);
    QProcess again;
    again.start(qat::test::path(QATWB_CLI), {QStringLiteral("runs"), QStringLiteral("rerun"), QStringLiteral("1"),
                                            QStringLiteral("--db"), db, QStringLiteral("--json")});
    QVERIFY(again.waitForFinished(120000));
    QVERIFY2(again.exitCode() == 0, again.readAllStandardError().constData());
    QCOMPARE(QJsonDocument::fromJson(again.readAllStandardOutput()).object()[QStringLiteral("run_id")].toInt(), 2);
    RunStore runs(db.toStdString(), RunStore::Access::ReadOnly);
    const auto a = runs.metrics(1, "loss");
    const auto b = runs.metrics(2, "loss");
    QCOMPARE(a.size(), size_t(12));
    QCOMPARE(b.size(), a.size());
    for (size_t i = 0; i < a.size(); ++i) {
        QCOMPARE(b[i].value, a[i].value);
    }
    QCOMPARE(*runs.run(2)->qatTop1, *runs.run(1)->qatTop1);
    QCOMPARE(runs.run(2)->plan, runs.run(1)->plan);
    // (hyperparameters also hold each run's measured speed, so they are not compared whole)
    for (const int64_t id : {1, 2}) {
        QVERIFY(runs.run(id)->hyperparameters.find("\"lr_probe\":true") != std::string::npos);
        QVERIFY(runs.run(id)->hyperparameters.find("\"quantizer_warmup\":5") != std::string::npos);
    }
    QCOMPARE(runs.metrics(2, "lr").size(), a.size());
    QCOMPARE(runs.metrics(2, "lr").front().value, runs.metrics(1, "lr").front().value);
    const auto qlr = runs.metrics(2, "quantizer_lr");
    QCOMPARE(qlr.size(), a.size());
    for (size_t i = 0; i < qlr.size(); ++i) {
        QCOMPARE(qlr[i].value, runs.metrics(1, "quantizer_lr")[i].value);
    }
    QVERIFY(qlr[0].value < qlr[4].value); // the warm-up's ramp
}

void TestRunStore::pagesSortsAndSearches()
{
    RunStore runs(m_dir.filePath(QStringLiteral("pages.sqlite")).toStdString());
    std::vector<int64_t> ids;
    for (int i = 0; i < 7; ++i) {
        auto r = sampleRun("run " + std::to_string(i));
        r.plan = i % 2 ? R"({"preset":"w4a8-lsq","weights":{"bits":4},"activations":{"bits":8}})"
                       : R"({"preset":"mct-default","weights":{"bits":8},"activations":{"bits":8}})";
        r.tags = {i == 3 ? "golden" : "plain"};
        ids.push_back(runs.createRun(r));
        store::RunRecord done;
        done.id = ids.back();
        done.state = i == 5 ? "diverged" : "finished";
        done.qatTop1 = 0.5 + 0.01 * ((i * 3) % 7);
        runs.finishRun(done);
    }
    store::RunFilter page;
    page.descending = true;
    page.limit = 3;
    page.offset = 2;
    const auto rows = runs.listRuns(page);
    QCOMPARE(rows.size(), size_t(3));
    QCOMPARE(rows.front().id, ids[4]); // newest first, skipping two
    QCOMPARE(runs.countRuns(page), 7); // limit and offset do not count

    store::RunFilter byTop1;
    byTop1.order = store::RunFilter::Order::QatTop1;
    const auto sorted = runs.listRuns(byTop1);
    for (size_t i = 1; i < sorted.size(); ++i) {
        QVERIFY(*sorted[i - 1].qatTop1 <= *sorted[i].qatTop1);
    }
    store::RunFilter byBits;
    byBits.order = store::RunFilter::Order::WeightBits;
    QVERIFY(runs.listRuns(byBits).front().plan.find("w4a8") != std::string::npos);

    store::RunFilter text;
    text.text = "GOLDEN"; // tags, case-insensitive
    QCOMPARE(runs.listRuns(text).size(), size_t(1));
    text.text = "w4a8"; // the plan's preset
    QCOMPARE(runs.countRuns(text), 3);
    text.state = "diverged";
    QCOMPARE(runs.countRuns(text), 1);
}

void TestRunStore::changeStampSeesOtherConnections()
{
    const auto path = m_dir.filePath(QStringLiteral("stamp.sqlite")).toStdString();
    RunStore reader(path);
    const auto empty = reader.changeStamp();
    RunStore writer(path);
    const auto id = writer.createRun(sampleRun("a"));
    const auto added = reader.changeStamp();
    QVERIFY(added != empty);
    QVERIFY(reader.changeStamp() == added); // stable while nothing happens
    writer.appendMetrics(id, {{1, "loss", 0.5}}); // metrics alone do not reload the table
    QVERIFY(reader.changeStamp() == added);
    writer.setState(id, "running");
    const auto running = reader.changeStamp();
    QVERIFY(running != added);
    store::RunRecord done;
    done.id = id;
    done.state = "finished";
    writer.finishRun(done);
    QVERIFY(reader.changeStamp() != running);
}

namespace {

store::SensitivityRow sensitivityRow(const std::string& mode, const std::string& layer, double top1, double drop,
                                     int64_t images)
{
    store::SensitivityRow row;
    row.mode = mode;
    row.layer = layer;
    row.kind = "conv2d";
    row.top1 = top1;
    row.drop = drop;
    row.images = images;
    row.floatTop1 = 0.9;
    row.quantizedTop1 = 0.8;
    return row;
}

} // namespace

void TestRunStore::sensitivityRoundTripAndCascade()
{
    RunStore runs(m_dir.filePath(QStringLiteral("sensitivity.sqlite")).toStdString());
    const auto id = runs.createRun(sampleRun("a"));
    QVERIFY(runs.sensitivity(id).empty());
    runs.saveSensitivity(id, "trained",
                         {sensitivityRow("trained", "features.3", 0.7, 0.2, 500), sensitivityRow("trained", "features.0", 0.88, 0.02, 500)});
    runs.saveSensitivity(id, "float", {sensitivityRow("float", "features.3", 0.6, 0.3, 500)});
    auto rows = runs.sensitivity(id);
    QCOMPARE(rows.size(), size_t(3));
    QCOMPARE(rows[0].layer, std::string("features.3")); // the order saved, not alphabetical
    QCOMPARE(rows[0].drop, 0.2);
    QCOMPARE(rows[1].images, 500);
    QCOMPARE(rows[1].kind, std::string("conv2d"));
    QCOMPARE(*rows[1].quantizedTop1, 0.8);
    QVERIFY(!rows[1].created.empty());
    QCOMPARE(rows[2].mode, std::string("float"));
    QCOMPARE(runs.sensitivity(id, "float").size(), size_t(1));
    runs.saveSensitivity(id, "trained", {sensitivityRow("trained", "fc", 0.5, 0.4, 100)}); // replaces that mode only
    QCOMPARE(runs.sensitivity(id, "trained").size(), size_t(1));
    QCOMPARE(runs.sensitivity(id).size(), size_t(2));
    QVERIFY(runs.deleteRun(id));
    QVERIFY(runs.sensitivity(id).empty());
}

void TestRunStore::versionThreeFixtureKeepsSensitivityAsLegacy()
{
    // tests/fixtures/runs_v3.sqlite: schema version 3, written by the CLI before sensitivity
    // had modes (a residual net trained 3 steps, its sensitivity measured on 50 images).
    const auto copy = m_dir.filePath(QStringLiteral("v3.sqlite"));
    QVERIFY(QFile::copy(qat::test::path(QATWB_FIXTURES_DIR, "/../runs_v3.sqlite"), copy));
    QFile::setPermissions(copy, QFile::ReadOwner | QFile::WriteOwner);
    {
        RunStore runs(copy.toStdString());
        const auto rows = runs.sensitivity(1);
        QCOMPARE(rows.size(), size_t(6));
        QCOMPARE(rows.front().layer, std::string("stem"));
        QCOMPARE(rows.back().layer, std::string("head"));
        for (const auto& r : rows) {
            QCOMPARE(r.mode, std::string("legacy"));
            QCOMPARE(r.images, 50);
            QVERIFY(!r.floatTop1.has_value()); // it was the trained weights' top-1, not the float model's
            QVERIFY(!r.created.empty());
        }
        runs.saveSensitivity(1, "float", {sensitivityRow("float", "stem", 0.1, 0.0, 50)});
        QCOMPARE(runs.sensitivity(1).size(), size_t(7));
        QCOMPARE(runs.integrityCheck(), std::string("ok"));
    }
    sqlite3* db = nullptr;
    QCOMPARE(sqlite3_open(copy.toUtf8().constData(), &db), SQLITE_OK);
    sqlite3_stmt* version = nullptr;
    sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &version, nullptr);
    QCOMPARE(sqlite3_step(version), SQLITE_ROW);
    QCOMPARE(sqlite3_column_int(version, 0), RunStore::kSchemaVersion);
    sqlite3_finalize(version);
    sqlite3_close(db);
}

QTEST_GUILESS_MAIN(TestRunStore)
#include "tst_run_store.moc"
