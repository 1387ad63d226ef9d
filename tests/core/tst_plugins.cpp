// SPDX-License-Identifier: MIT
// Plugin loading: the example "MyTraining" plugin loads and trains; broken ones are refused
// with a message and leave the registry as it was.
#include "test_paths.h"
#include "quantizers/plugin_loader.h"
#include "quantizers/quantizer_registry.h"

#include <ATen/ATen.h>
#include <QtTest>

using namespace qat::quant;

namespace {

QString builtPlugin(const char* name)
{
    return QDir(qat::test::path(QATWB_TEST_PLUGIN_DIR)).filePath(QString::fromLatin1(name));
}

QString examplePlugin()
{
    const auto fromEnv = qEnvironmentVariable("QATWB_TEST_PLUGIN");
    return fromEnv.isEmpty() ? QDir(qat::test::path(QATWB_PLUGIN_DIR_BUILT)).filePath(QStringLiteral("my_training.so"))
                             : fromEnv;
}

PluginReport loadOne(QuantizerRegistry& registry, const QString& path)
{
    const auto reports = loadPlugins(registry, {path.toStdString()});
    return reports.size() == 1 ? reports.front() : PluginReport{};
}

} // namespace

class TestPlugins : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void loadsAndTrainsExamplePlugin();
    void refusesWrongApiVersion();
    void refusesLibraryWithoutEntryPoint();
    void failingPluginLeavesRegistryAsItWas();
    void folderLoadsEveryPluginAndKeepsGoing();
    void userPluginDirectoryFollowsEnvironment();
};

void TestPlugins::loadsAndTrainsExamplePlugin()
{
    QuantizerRegistry registry;
    registerBuiltinQuantizers(registry);
    const auto path = examplePlugin();
    const auto report = loadOne(registry, path);
    QVERIFY2(report.loaded, report.message.c_str());
    QCOMPARE(report.quantizers, std::vector<std::string>({"MyTrainingWeightQuantizer", "MyTrainingActivationQuantizer"}));
    const auto& info = registry.find({Target::Weights, Method::Symmetric, "MyTraining"});
    QCOMPARE(QString::fromStdString(info.source), path);

    at::manual_seed(7);
    QuantizerConfig perChannel;
    perChannel.perChannel = true;
    perChannel.bits = 4;
    auto weights = registry.create({Target::Weights, Method::Symmetric, "MyTraining"}, perChannel);
    auto activations = registry.create({Target::Activations, Method::Symmetric, "MyTraining"}, QuantizerConfig{});
    auto w = (at::randn({6, 5}) * 0.5).requires_grad_();
    const auto x = at::randn({32, 5});
    const auto target = at::randn({32, 6}).relu();
    weights->initialize({"fc.weight", "linear", {6, 5}});
    weights->observe(w.detach());
    weights->finishCalibration();
    activations->initialize({"fc", "linear", {32, 6}});
    activations->observe(at::linear(x, w.detach()).relu());
    activations->finishCalibration();

    // One training step: forward, loss, backward, SGD on weights and quantizer parameters.
    std::vector<at::Tensor> params{w};
    for (const auto* q : {weights.get(), activations.get()}) {
        for (const auto& p : q->parameters()) {
            params.push_back(p.tensor);
        }
    }
    std::vector<at::Tensor> before;
    for (const auto& p : params) {
        before.push_back(p.detach().clone());
    }
    auto out = activations->forward(at::linear(x, weights->forward(w)).relu());
    auto loss = (out - target).pow(2).mean();
    QVERIFY(std::isfinite(loss.item<double>()));
    loss.backward();
    {
        at::NoGradGuard noGrad;
        for (auto& p : params) {
            QVERIFY(p.grad().defined());
            p.sub_(p.grad() * 0.1);
        }
    }
    for (size_t i = 0; i < params.size(); ++i) {
        QVERIFY2(!at::equal(params[i], before[i]), qPrintable(QStringLiteral("parameter %1 did not move").arg(i)));
    }
    const auto inferable = weights->convertToInferable();
    QCOMPARE(inferable->className(), std::string("WeightsSymmetricInferableQuantizer"));
    QVERIFY(at::allclose(inferable->forward(w.detach()), weights->forward(w.detach()).detach(), 1e-5, 1e-6));
    QCOMPARE(activations->convertToInferable()->arguments()["signed"].get<bool>(), false);
}

void TestPlugins::refusesWrongApiVersion()
{
    QuantizerRegistry registry;
    registerBuiltinQuantizers(registry);
    const auto report = loadOne(registry, builtPlugin("wrong_version_plugin.so"));
    QVERIFY(!report.loaded);
    QVERIFY2(report.message.find("plugin API version 999") != std::string::npos, report.message.c_str());
    QVERIFY(report.message.find("rebuild") != std::string::npos);
    QCOMPARE(registry.entries().size(), size_t(10));
}

void TestPlugins::refusesLibraryWithoutEntryPoint()
{
    QuantizerRegistry registry;
    const auto report = loadOne(registry, builtPlugin("no_entry_plugin.so"));
    QVERIFY(!report.loaded);
    QVERIFY2(report.message.find("not a QAT Workbench plugin") != std::string::npos, report.message.c_str());
    const auto missing = loadOne(registry, QStringLiteral("/no/such/plugin.so"));
    QVERIFY(missing.message.find("no such file") != std::string::npos);
    QTemporaryFile notElf;
    QVERIFY(notElf.open());
    notElf.write("not a shared library");
    notElf.close();
    const auto garbage = loadOne(registry, notElf.fileName());
    QVERIFY2(garbage.message.find("cannot be loaded") != std::string::npos, garbage.message.c_str());
}

void TestPlugins::failingPluginLeavesRegistryAsItWas()
{
    QuantizerRegistry registry;
    registerBuiltinQuantizers(registry);
    const auto report = loadOne(registry, builtPlugin("failing_plugin.so"));
    QVERIFY(!report.loaded);
    QVERIFY2(report.message.find("already registered (by builtin)") != std::string::npos, report.message.c_str());
    QCOMPARE(registry.entries().size(), size_t(10));
    for (const auto& info : registry.entries()) {
        QVERIFY(info.name != "HalfwayQuantizer");
        QCOMPARE(info.source, std::string("builtin"));
    }
}

void TestPlugins::folderLoadsEveryPluginAndKeepsGoing()
{
    QuantizerRegistry registry;
    registerBuiltinQuantizers(registry);
    const auto reports = loadPlugins(registry, {QATWB_TEST_PLUGIN_DIR, examplePlugin().toStdString()});
    // Four from the folder (three refused; faulty_plugin, the reliability tests' misbehaving
    // quantizers, loads), then the example.
    QCOMPARE(reports.size(), size_t(5));
    for (const auto& r : reports) {
        const bool good = r.path.find("faulty_plugin") != std::string::npos || r.path.find("my_training") != std::string::npos;
        QVERIFY2(r.loaded == good, r.path.c_str());
    }
    QVERIFY(reports.back().loaded);
    QCOMPARE(registry.entries().size(), size_t(12 + 3));
}

void TestPlugins::userPluginDirectoryFollowsEnvironment()
{
    qputenv("QATWB_PLUGIN_DIR", "/opt/plugins");
    QCOMPARE(userPluginDirectory(), std::string("/opt/plugins"));
    qunsetenv("QATWB_PLUGIN_DIR");
    qputenv("XDG_DATA_HOME", "/tmp/xdg");
    QCOMPARE(userPluginDirectory(), std::string("/tmp/xdg/qat-workbench/plugins"));
}

QTEST_GUILESS_MAIN(TestPlugins)
#include "tst_plugins.moc"
