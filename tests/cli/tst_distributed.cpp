// SPDX-License-Identifier: MIT
// Data-parallel training over loopback with real `qatwb train` processes and real SQLite
// files: 2 ranks x batch B against 1 process x batch 2B, a killed or hung rank, bad options.

#include "test_paths.h"
#include "storage/run_store.h"

#include <ATen/ATen.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include <QDir>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <map>

using qat::store::RunStore;

namespace {

constexpr int kTimeoutSeconds = 20;

// A loopback port nothing listens on (parallel ctest runs must not share one).
int freePort()
{
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t n = sizeof(a);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
    ::close(fd);
    return ntohs(a.sin_port);
}

QStringList trainArgs(const QString& db, int steps, int batch)
{
    return {QStringLiteral("train"),          QStringLiteral("--model"),   qat::test::path(QATWB_DEMO_MODEL),
            QStringLiteral("--preset"),       QStringLiteral("w4a8-lsq"),  QStringLiteral("--steps"),
            QString::number(steps),           QStringLiteral("--batch"),   QString::number(batch),
            QStringLiteral("--limit-train"),  QStringLiteral("2000"),      QStringLiteral("--limit-test"),
            QStringLiteral("500"),            QStringLiteral("--seed"),    QStringLiteral("5"),
            QStringLiteral("--threads"),      QStringLiteral("1"),         QStringLiteral("--snapshot-every"),
            QStringLiteral("0"),              QStringLiteral("--db"),      db,
            // Biases on the int32 grid turn the float differences of summing gradients in another
            // order into whole grid steps (round(b / s) flips); the mechanism under test here is
            // the averaging, so it is compared on float biases, to float tolerance.
            QStringLiteral("--no-integer-bias")};
}

QStringList rankArgs(int rank, int port)
{
    return {QStringLiteral("--world-size"), QStringLiteral("2"), QStringLiteral("--rank"), QString::number(rank),
            QStringLiteral("--master"), QStringLiteral("127.0.0.1:%1").arg(port), QStringLiteral("--dist-timeout"),
            QString::number(kTimeoutSeconds)};
}

struct Finished {
    int code = -1;
    QByteArray out;
    QByteArray err;
};

Finished runCli(const QStringList& args, int timeoutMs = 600000)
{
    QProcess p;
    p.start(qat::test::path(QATWB_CLI), args);
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished();
    }
    return {p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1, p.readAllStandardOutput(),
            p.readAllStandardError()};
}

// The run's stored tensors (model parameters, buffers, quantizer parameters) by name.
std::map<std::string, at::Tensor> checkpointTensors(const QString& db, int64_t runId)
{
    const auto bytes = RunStore(db.toStdString(), RunStore::Access::ReadOnly).checkpoint(runId);
    const auto root = torch::jit::pickle_load(std::vector<char>(bytes.begin(), bytes.end())).toGenericDict();
    std::map<std::string, at::Tensor> tensors;
    for (const auto& entry : root.at("tensors").toGenericDict()) {
        tensors[entry.key().toStringRef()] = entry.value().toTensor();
    }
    return tensors;
}

// Polls the run database until rank 0's run is training (its first steps are recorded).
bool waitUntilTraining(const QString& db, QProcess& rank0)
{
    for (int i = 0; i < 1200 && rank0.state() != QProcess::NotRunning; ++i) {
        QTest::qWait(100);
        if (!QFile::exists(db)) {
            continue;
        }
        try {
            RunStore runs(db.toStdString(), RunStore::Access::ReadOnly);
            const auto list = runs.listRuns();
            if (!list.empty() && !runs.metrics(list.front().id, "loss").empty()) {
                return true;
            }
        } catch (const qat::Error&) {
        }
    }
    return false;
}

} // namespace

class TestDistributed : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void twoRanksMatchOneProcessWithDoubleBatch();
    void lostRankStopsTheOther_data();
    void lostRankStopsTheOther();
    void badOptionsAreRefused();

private:
    QTemporaryDir m_dir;
};

void TestDistributed::twoRanksMatchOneProcessWithDoubleBatch()
{
    constexpr int kSteps = 20;
    const auto oneDb = m_dir.filePath(QStringLiteral("one.sqlite"));
    const auto twoDb = m_dir.filePath(QStringLiteral("two.sqlite"));
    auto oneArgs = trainArgs(oneDb, kSteps, 16);
    oneArgs << QStringLiteral("--json");
    auto twoArgs = trainArgs(twoDb, kSteps, 8);
    twoArgs << QStringLiteral("--json") << QStringLiteral("--local-ranks") << QStringLiteral("2");
    const auto one = runCli(oneArgs);
    QVERIFY2(one.code == 0, one.err.constData());
    const auto two = runCli(twoArgs);
    QVERIFY2(two.code == 0, two.err.constData());

    const auto a = QJsonDocument::fromJson(one.out).object();
    const auto b = QJsonDocument::fromJson(two.out).object();
    QCOMPARE(a.value(QStringLiteral("steps")).toInt(), kSteps);
    QCOMPARE(b.value(QStringLiteral("steps")).toInt(), kSteps);
    QCOMPARE(b.value(QStringLiteral("world_size")).toInt(), 2);
    QCOMPARE(b.value(QStringLiteral("samples_per_second")).toArray().size(), 2);

    // Quantizer parameters (JSON snapshots) and every stored tensor after kSteps steps.
    double quantizerDiff = 0;
    const auto qa = a.value(QStringLiteral("quantizers")).toArray();
    const auto qb = b.value(QStringLiteral("quantizers")).toArray();
    QCOMPARE(qa.size(), qb.size());
    QVERIFY(!qa.isEmpty());
    for (int i = 0; i < qa.size(); ++i) {
        for (const char* when : {"initial", "final"}) {
            const auto pa = qa[i].toObject().value(QLatin1String(when)).toObject();
            const auto pb = qb[i].toObject().value(QLatin1String(when)).toObject();
            QCOMPARE(pa.keys(), pb.keys());
            for (const auto& key : pa.keys()) {
                const auto va = pa.value(key).toArray();
                const auto vb = pb.value(key).toArray();
                QCOMPARE(va.size(), vb.size());
                for (int c = 0; c < va.size(); ++c) {
                    const double x = va[c].toDouble();
                    quantizerDiff = std::max(quantizerDiff, std::abs(x - vb[c].toDouble()) / std::max(std::abs(x), 1e-3));
                }
            }
        }
    }
    const auto ta = checkpointTensors(oneDb, a.value(QStringLiteral("run_id")).toInteger());
    const auto tb = checkpointTensors(twoDb, b.value(QStringLiteral("run_id")).toInteger());
    QCOMPARE(ta.size(), tb.size());
    double tensorDiff = 0;
    for (const auto& [name, t] : ta) {
        QVERIFY2(tb.count(name) == 1, name.c_str());
        tensorDiff = std::max(tensorDiff, t.sub(tb.at(name)).abs().max().item<double>());
    }
    const double top1a = a.value(QStringLiteral("qat_top1")).toDouble();
    const double top1b = b.value(QStringLiteral("qat_top1")).toDouble();
    qInfo("1 x batch 16 vs 2 x batch 8, %d steps: quantizer parameters max relative diff %.3g, stored tensors max "
          "|diff| %.3g, QAT top-1 %.2f %% vs %.2f %%",
          kSteps, quantizerDiff, tensorDiff, top1a * 100, top1b * 100);
    QVERIFY2(quantizerDiff < 1e-4, "quantizer parameters differ beyond float tolerance");
    QVERIFY2(tensorDiff < 1e-4, "weights differ beyond float tolerance");
    QVERIFY(std::abs(top1a - top1b) <= 0.001);
    QVERIFY(std::abs(a.value(QStringLiteral("float_top1")).toDouble() - b.value(QStringLiteral("float_top1")).toDouble())
            <= 0.001);

    // Rank 0 recorded the run, with the world size and each rank's throughput; rank 1 wrote nothing.
    RunStore runs(twoDb.toStdString(), RunStore::Access::ReadOnly);
    const auto list = runs.listRuns();
    QCOMPARE(list.size(), size_t(1));
    QCOMPARE(list.front().state, std::string("finished"));
    const auto h = QJsonDocument::fromJson(QByteArray::fromStdString(list.front().hyperparameters)).object();
    QCOMPARE(h.value(QStringLiteral("world_size")).toInt(), 2);
    QCOMPARE(h.value(QStringLiteral("batch")).toInt(), 8);
    const auto rates = h.value(QStringLiteral("samples_per_second_per_rank")).toArray();
    QCOMPARE(rates.size(), 2);
    QVERIFY(rates[0].toDouble() > 0 && rates[1].toDouble() > 0);
}

void TestDistributed::lostRankStopsTheOther_data()
{
    QTest::addColumn<int>("lost");
    QTest::addColumn<bool>("hang");
    QTest::newRow("rank 1 killed") << 1 << false;
    QTest::newRow("rank 0 killed") << 0 << false;
    QTest::newRow("rank 1 hangs") << 1 << true;
}

void TestDistributed::lostRankStopsTheOther()
{
    QFETCH(int, lost);
    QFETCH(bool, hang);
    const auto db = m_dir.filePath(QStringLiteral("lost-%1-%2.sqlite").arg(lost).arg(hang));
    const int port = freePort();
    QProcess ranks[2];
    for (int r = 0; r < 2; ++r) {
        ranks[r].start(qat::test::path(QATWB_CLI), trainArgs(db, 100000, 8) + rankArgs(r, port));
    }
    QVERIFY2(waitUntilTraining(db, ranks[0]), ranks[0].readAllStandardError().constData());
    const int survivor = 1 - lost;
    QElapsedTimer timer;
    timer.start();
    if (hang) {
        ::kill(pid_t(ranks[lost].processId()), SIGSTOP);
    } else {
        ranks[lost].kill();
    }
    QVERIFY(ranks[survivor].waitForFinished((kTimeoutSeconds + 60) * 1000));
    const double seconds = double(timer.elapsed()) / 1000.0;
    if (hang) {
        ranks[lost].kill();
    }
    ranks[lost].waitForFinished();
    const auto err = QString::fromUtf8(ranks[survivor].readAllStandardError());
    qInfo("rank %d stopped %.1f s after rank %d was %s (timeout %d s): %s", survivor, seconds, lost,
          hang ? "stopped" : "killed", kTimeoutSeconds, qPrintable(err.trimmed().split(QLatin1Char('\n')).last()));
    QCOMPARE(ranks[survivor].exitStatus(), QProcess::NormalExit);
    QCOMPARE(ranks[survivor].exitCode(), 1);
    QVERIFY2(err.contains(QStringLiteral("lost contact with the other ranks")), qPrintable(err));
    QVERIFY(seconds < kTimeoutSeconds + 15);

    RunStore runs(db.toStdString(), RunStore::Access::ReadOnly);
    const auto list = runs.listRuns();
    QCOMPARE(list.size(), size_t(1));
    if (survivor == 0) {
        QCOMPARE(list.front().state, std::string("failed"));
        QVERIFY2(list.front().message.find("lost contact") != std::string::npos, list.front().message.c_str());
    } else {
        QVERIFY(list.front().state != "finished");
    }
}

void TestDistributed::badOptionsAreRefused()
{
    const auto db = m_dir.filePath(QStringLiteral("bad.sqlite"));
    const auto base = trainArgs(db, 2, 8);
    const auto rankTooHigh = runCli(base + QStringList{QStringLiteral("--world-size"), QStringLiteral("2"),
                                                       QStringLiteral("--rank"), QStringLiteral("2")});
    QCOMPARE(rankTooHigh.code, 2);
    QVERIFY(rankTooHigh.err.contains("--rank 2 is not below --world-size 2"));
    const auto badMaster = runCli(base + QStringList{QStringLiteral("--world-size"), QStringLiteral("2"),
                                                     QStringLiteral("--master"), QStringLiteral("nohost")});
    QCOMPARE(badMaster.code, 2);
    QVERIFY(badMaster.err.contains("HOST:PORT"));
    const auto both = runCli(base + QStringList{QStringLiteral("--local-ranks"), QStringLiteral("2"),
                                                QStringLiteral("--rank"), QStringLiteral("1")});
    QCOMPARE(both.code, 2);
    // A rank whose rank 0 never comes gives up after the timeout and says where it looked.
    const int port = freePort();
    QElapsedTimer timer;
    timer.start();
    const auto alone = runCli(base + QStringList{QStringLiteral("--world-size"), QStringLiteral("2"),
                                                 QStringLiteral("--rank"), QStringLiteral("1"),
                                                 QStringLiteral("--master"), QStringLiteral("127.0.0.1:%1").arg(port),
                                                 QStringLiteral("--dist-timeout"), QStringLiteral("3")});
    qInfo("a rank without rank 0 gave up after %.1f s: %s", double(timer.elapsed()) / 1000.0, alone.err.trimmed().constData());
    QCOMPARE(alone.code, 1);
    QVERIFY2(alone.err.contains("127.0.0.1:" + QByteArray::number(port)), alone.err.constData());
    QVERIFY(!QFile::exists(db)); // ranks other than 0 write nothing
}

QTEST_GUILESS_MAIN(TestDistributed)
#include "tst_distributed.moc"
