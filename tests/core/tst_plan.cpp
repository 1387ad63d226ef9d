// SPDX-License-Identifier: MIT
// Quantization plans: presets, rules, overrides, the JSON file format and its errors.
#include "test_paths.h"
#include "common/error.h"
#include "engine/qat_model.h"
#include "engine/quantization_plan.h"
#include "model/model_inspector.h"
#include "quantizers/quantizer_registry.h"
#include "targets/point_placement.h"
#include "targets/target_registry.h"

#include <QTemporaryDir>
#include <QtTest>

using namespace qat;
using engine::QuantizationPlan;

namespace {

const std::vector<model::LayerInfo>& demoLayers()
{
    static const auto info = model::inspectModel(QATWB_DEMO_MODEL);
    return info.layers;
}

const engine::LayerPlan& layer(const std::vector<engine::LayerPlan>& plans, const std::string& name)
{
    for (const auto& p : plans) {
        if (p.layer == name) {
            return p;
        }
    }
    throw std::runtime_error("no layer " + name);
}

QString errorOf(const std::function<void()>& call)
{
    try {
        call();
    } catch (const Error& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

} // namespace

class TestPlan : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { quant::registerBuiltinQuantizers(m_registry); }
    void presetsResolve_data();
    void presetsResolve();
    void mctDefaultIsMctsPlatform();
    void rulesThenOverrides();
    void jsonRoundTrip();
    void fileRoundTrip();
    void invalidFiles_data();
    void invalidFiles();
    void resolveErrors();
    void validateNamesLayerAndField();
    void w2a3KeepsInputAndOutputAtEightBits();
    void w4a4KeepsInputAndLogitsAtEightBits();
    void choiceSpecs_data();
    void choiceSpecs();
    void presetsAndOldFilesNameTheirTarget();
    void pointRulesAndOverrides();
    void lastLayerInputBeforeExplicitOverrides();
    void trainBatchNormInPlanFiles();
    void targetRefusesWhatItDoesNotRun();
    void genericKeepsTheQuantizersOfOldRuns();

private:
    quant::QuantizerRegistry m_registry;
};

void TestPlan::presetsResolve_data()
{
    QTest::addColumn<QString>("preset");
    QTest::addColumn<int>("weightBits");
    QTest::addColumn<int>("activationBits");
    QTest::newRow("mct-default") << "mct-default" << 8 << 8;
    QTest::newRow("w8a8-lsq") << "w8a8-lsq" << 8 << 8;
    QTest::newRow("w4a8-lsq") << "w4a8-lsq" << 4 << 8;
    QTest::newRow("w2a3") << "w2a3" << 2 << 3;
    QTest::newRow("w4a4-lsq-uniform") << "w4a4-lsq-uniform" << 4 << 4;
}

void TestPlan::presetsResolve()
{
    QFETCH(QString, preset);
    QFETCH(int, weightBits);
    QFETCH(int, activationBits);
    const auto plan = engine::presetPlan(preset.toStdString());
    const auto resolved = engine::resolvePlan(plan, demoLayers());
    QCOMPARE(resolved.size(), size_t(5));
    engine::validatePlan(resolved, plan, m_registry);
    for (size_t i = 0; i < resolved.size(); ++i) {
        const auto& lp = resolved[i];
        // w2a3 keeps the first and last layers' weights at 8 bits (the demo has no depthwise conv).
        const bool edge = i == 0 || i + 1 == resolved.size();
        QCOMPARE(lp.weights.config.bits, preset == QStringLiteral("w2a3") && edge ? 8 : weightBits);
        QCOMPARE(lp.activations.config.bits, activationBits);
        QVERIFY(lp.weights.config.perChannel);
        QVERIFY(!lp.activations.config.perChannel);
        QCOMPARE(quant::toString(lp.weights.key.target), std::string("weights"));
    }
    QVERIFY(plan.quantizeInput);
    QVERIFY(plan.foldBatchNorm);
}

void TestPlan::mctDefaultIsMctsPlatform()
{
    const auto plan = engine::presetPlan("mct-default");
    QCOMPARE(plan.weights.key.training, std::string("STE"));
    QCOMPARE(quant::toString(plan.weights.key.method), std::string("symmetric"));
    QCOMPARE(plan.activations.key.training, std::string("STE"));
    QCOMPARE(quant::toString(plan.activations.key.method), std::string("power-of-two"));
    QCOMPARE(quant::toString(plan.weights.config.init), std::string("mse"));
    QVERIFY(errorOf([] { engine::presetPlan("w1a1"); }).contains(QStringLiteral("presets: mct-default")));
}

void TestPlan::rulesThenOverrides()
{
    auto plan = engine::presetPlan("w4a8-lsq");
    engine::PlanRule linear;
    linear.kind = "linear";
    linear.weights.bits = 8;
    engine::PlanRule firstConvs;
    firstConvs.namePattern = "features\\.[04]";
    firstConvs.activations.enabled = false;
    plan.rules = {linear, firstConvs};
    plan.layers["classifier.3"].weights.enabled = false;
    plan.layers["features.0"].weights.training = "STE";
    const auto resolved = engine::resolvePlan(plan, demoLayers());
    QCOMPARE(layer(resolved, "classifier.1").weights.config.bits, 8);
    QCOMPARE(layer(resolved, "features.8").weights.config.bits, 4);
    QVERIFY(!layer(resolved, "features.0").activations.enabled);
    QVERIFY(!layer(resolved, "features.4").activations.enabled);
    QVERIFY(layer(resolved, "features.8").activations.enabled);
    QVERIFY(!layer(resolved, "classifier.3").weights.enabled);
    QCOMPARE(layer(resolved, "features.0").weights.key.training, std::string("STE"));
    QCOMPARE(layer(resolved, "features.4").weights.key.training, std::string("LSQ"));
}

void TestPlan::jsonRoundTrip()
{
    auto plan = engine::presetPlan("w2a3");
    plan.quantizeInput = false;
    engine::PlanRule rule;
    rule.kind = "conv2d";
    rule.namePattern = "features\\..*";
    rule.weights.init = quant::InitMethod::Percentile;
    rule.weights.percentile = 99.9;
    plan.rules.push_back(rule);
    plan.layers["classifier.3"].activations.enabled = false;
    const auto text = engine::planToJson(plan);
    const auto parsed = engine::parsePlan(text, "plan.json");
    QCOMPARE(engine::planToJson(parsed), text);
    QCOMPARE(parsed.preset, std::string("w2a3"));
    QVERIFY(!parsed.quantizeInput);
    QCOMPARE(parsed.rules.size(), size_t(4)); // w2a3's three rules and this one
    QCOMPARE(*parsed.rules.back().weights.percentile, 99.9);
}

void TestPlan::fileRoundTrip()
{
    QTemporaryDir dir;
    const auto path = dir.filePath(QStringLiteral("plan.json")).toStdString();
    auto plan = engine::presetPlan("w4a4-lsq-uniform");
    plan.layers["features.4"].weights.bits = 6;
    engine::savePlanFile(plan, path);
    const auto loaded = engine::loadPlanFile(path);
    QCOMPARE(engine::planToJson(loaded), engine::planToJson(plan));
    QVERIFY(errorOf([] { engine::savePlanFile(engine::presetPlan("w2a3"), "/no/such/dir/plan.json"); })
                .contains(QStringLiteral("cannot write")));
    QVERIFY(errorOf([] { engine::loadPlanFile("/no/such/plan.json"); }).contains(QStringLiteral("cannot read")));
}

void TestPlan::invalidFiles_data()
{
    QTest::addColumn<QString>("json");
    QTest::addColumn<QString>("mustSay");
    const QString head = QStringLiteral(R"("format": "qat-workbench-plan", "version": 1)");
    QTest::newRow("not json") << "{ nope" << "not valid JSON";
    QTest::newRow("no format") << R"({"weights": {}})" << "not a QAT Workbench plan";
    QTest::newRow("newer") << R"({"format": "qat-workbench-plan", "version": 99})" << "newer than this QAT Workbench";
    QTest::newRow("unknown field") << "{" + head + R"(, "colour": 1})" << "colour: unknown field";
    QTest::newRow("bits as text") << "{" + head + R"(, "weights": {"bits": "four"}})" << "weights.bits: expected an integer";
    QTest::newRow("bits fraction") << "{" + head + R"(, "weights": {"bits": 4.5}})" << "weights.bits: expected an integer";
    QTest::newRow("bad method") << "{" + head + R"(, "activations": {"method": "lut"}})" << "unknown quantization method 'lut'";
    QTest::newRow("bad init") << "{" + head + R"(, "weights": {"init": "guess"}})" << "unknown initialisation method";
    QTest::newRow("rule field") << "{" + head + R"(, "rules": [{"kind": "conv2d", "colour": "red"}]})"
                                << "rules[0].colour: unknown field";
    QTest::newRow("layer not object") << "{" + head + R"(, "layers": {"features.0": 3}})" << "layers.features.0: expected an object";
    QTest::newRow("unknown preset") << "{" + head + R"(, "preset": "w1a1"})" << "unknown preset 'w1a1'";
    QTest::newRow("weights wrong type") << "{" + head + R"(, "weights": 8})" << "weights: expected an object";
    // Found by fuzz_plan_parser (tests/fuzz/regressions/plan_parser): a json type_error
    // escaped instead of a message.
    QTest::newRow("fuzz: format a number") << R"({"format": 0, "preset": "w4a8-lsq"})" << "not a QAT Workbench plan";
    QTest::newRow("fuzz: number overflow") << "{" + head + R"(, "weights": {"percentile": 1e999}})" << "not valid JSON";
    QTest::newRow("fuzz: bits 1e30") << "{" + head + R"(, "weights": {"bits": 1e30}})" << "weights.bits: expected an integer";
    QTest::newRow("bits 2^32 + 4") << "{" + head + R"(, "weights": {"bits": 4294967300}})"
                                   << "weights.bits: expected an integer, got 4294967300";
    QTest::newRow("version a string") << R"({"format": "qat-workbench-plan", "version": "1"})" << "not a QAT Workbench plan";
}

void TestPlan::invalidFiles()
{
    QFETCH(QString, json);
    QFETCH(QString, mustSay);
    const auto message = errorOf([&] { engine::parsePlan(json.toStdString(), "my-plan.json"); });
    QVERIFY2(message.startsWith(QStringLiteral("my-plan.json: ")) || message.startsWith(QStringLiteral("unknown preset")),
             qPrintable(message));
    QVERIFY2(message.contains(mustSay), qPrintable(message));
}

void TestPlan::resolveErrors()
{
    auto plan = engine::presetPlan("mct-default");
    plan.layers["features.99"].weights.bits = 4;
    const auto unknown = errorOf([&] { engine::resolvePlan(plan, demoLayers()); });
    QVERIFY2(unknown.contains(QStringLiteral("'features.99', which the model does not have")), qPrintable(unknown));
    QVERIFY(unknown.contains(QStringLiteral("classifier.3")));
    plan.layers.clear();
    engine::PlanRule rule;
    rule.namePattern = "features[";
    plan.rules.push_back(rule);
    QVERIFY(errorOf([&] { engine::resolvePlan(plan, demoLayers()); }).contains(QStringLiteral("not a valid regular expression")));
}

void TestPlan::validateNamesLayerAndField()
{
    auto plan = engine::presetPlan("mct-default");
    plan.layers["features.4"].weights.bits = 1;
    auto resolved = engine::resolvePlan(plan, demoLayers());
    auto message = errorOf([&] { engine::validatePlan(resolved, plan, m_registry); });
    QVERIFY2(message.startsWith(QStringLiteral("layer features.4 weights: ")), qPrintable(message));
    QVERIFY(message.contains(QStringLiteral("1 bits is not supported")));
    plan.layers.clear();
    plan.layers["classifier.1"].activations.training = "DQA";
    resolved = engine::resolvePlan(plan, demoLayers());
    message = errorOf([&] { engine::validatePlan(resolved, plan, m_registry); });
    QVERIFY2(message.contains(QStringLiteral("layer classifier.1 activations: no quantizer is registered")), qPrintable(message));
}

void TestPlan::w4a4KeepsInputAndLogitsAtEightBits()
{
    // 16 levels cannot rank 10 classes (issue #27: most of what w4a4 lost on two zoo models).
    const auto model = std::string(QATWB_FIXTURES_DIR) + "/mlp_scripted.pt";
    auto qat = engine::QatModel::build(model, engine::presetPlan("w4a4-lsq-uniform"), m_registry);
    std::map<std::string, int> bits;
    for (const auto& site : qat->sites()) {
        bits[site.name] = qat->table().at(size_t(site.slot)).config().bits;
    }
    QCOMPARE(bits.at("layers.5:output"), 8); // the logits forward() returns
    QCOMPARE(bits.at("layers.1:output"), 4);
    QCOMPARE(bits.at("layers.3:output"), 4);
    QCOMPARE(bits.at("layers.4:gelu"), 8); // what the last layer reads
    QCOMPARE(bits.at("input"), 8); // the 8-bit pixels a camera delivers
    QCOMPARE(bits.at("layers.1.weight"), 4);
    QCOMPARE(bits.at("layers.5.weight"), 4);
}

void TestPlan::w2a3KeepsInputAndOutputAtEightBits()
{
    const auto model = std::string(QATWB_FIXTURES_DIR) + "/mlp_scripted.pt";
    auto qat = engine::QatModel::build(model, engine::presetPlan("w2a3"), m_registry);
    std::map<std::string, int> bits;
    for (const auto& site : qat->sites()) {
        bits[site.name] = qat->table().at(size_t(site.slot)).config().bits;
    }
    QCOMPARE(bits.at("input"), 8);
    QCOMPARE(bits.at("layers.5:output"), 8); // the logits forward() returns
    QCOMPARE(bits.at("layers.1:output"), 3);
    QCOMPARE(bits.at("layers.1.weight"), 8); // first layer
    QCOMPARE(bits.at("layers.3.weight"), 2);
    QCOMPARE(bits.at("layers.5.weight"), 8); // last layer
    // Depthwise convolutions keep 8-bit weights too; the pointwise ones get 2.
    auto dw = engine::QatModel::build(std::string(QATWB_FIXTURES_DIR) + "/residual_dw_traced.pt",
                                      engine::presetPlan("w2a3"), m_registry);
    std::map<std::string, int> dwBits;
    for (const auto& site : dw->sites()) {
        dwBits[site.name] = dw->table().at(size_t(site.slot)).config().bits;
    }
    QCOMPARE(dwBits.at("block1.dw.weight"), 8);
    QCOMPARE(dwBits.at("block1.pw.weight"), 2);
    QCOMPARE(dwBits.at("stem.weight"), 8);
    QCOMPARE(dwBits.at("head.weight"), 8);
    auto plan = engine::presetPlan("w2a3");
    plan.output = {};
    auto plain = engine::QatModel::build(model, plan, m_registry);
    for (const auto& site : plain->sites()) {
        if (site.name == "layers.5:output") {
            QCOMPARE(plain->table().at(size_t(site.slot)).config().bits, 3);
        }
    }
}

void TestPlan::choiceSpecs_data()
{
    QTest::addColumn<QString>("spec");
    QTest::addColumn<QString>("mustSay");
    QTest::newRow("lsq") << "lsq:symmetric:4:per-channel" << "";
    QTest::newRow("ste pot") << "ste:power-of-two:8" << "";
    QTest::newRow("pot alias") << "LSQ:pot:3:per-tensor" << "";
    QTest::newRow("two parts") << "lsq:symmetric" << "expected TRAINING:METHOD:BITS";
    QTest::newRow("bad method") << "lsq:lut:4" << "unknown quantization method";
    QTest::newRow("bad bits") << "lsq:symmetric:four" << "expected TRAINING:METHOD:BITS";
    QTest::newRow("bad granularity") << "lsq:symmetric:4:sideways" << "expected TRAINING:METHOD:BITS";
}

void TestPlan::choiceSpecs()
{
    QFETCH(QString, spec);
    QFETCH(QString, mustSay);
    const auto message = errorOf([&] {
        const auto o = engine::parseChoiceSpec(spec.toStdString(), "--weights");
        engine::QuantizerChoice choice;
        o.applyTo(choice);
        if (spec.startsWith(QStringLiteral("lsq:symmetric:4"))) {
            QCOMPARE(choice.key.training, std::string("LSQ"));
            QCOMPARE(choice.config.bits, 4);
            QVERIFY(choice.config.perChannel);
        }
        if (spec.startsWith(QStringLiteral("LSQ:pot"))) {
            QCOMPARE(quant::toString(choice.key.method), std::string("power-of-two"));
            QVERIFY(!choice.config.perChannel);
        }
    });
    if (mustSay.isEmpty()) {
        QVERIFY2(message.isEmpty(), qPrintable(message));
    } else {
        QVERIFY2(message.contains(mustSay), qPrintable(message));
        QVERIFY(message.startsWith(QStringLiteral("--weights '")));
    }
}

void TestPlan::presetsAndOldFilesNameTheirTarget()
{
    QCOMPARE(engine::presetPlan("mct-default").target, std::string("imx500"));
    QCOMPARE(engine::presetPlan("w4a8-lsq").target, std::string("imx500"));
    QCOMPARE(engine::presetPlan("w2a3").target, std::string("lowbit"));
    QCOMPARE(engine::presetPlan("w4a4-lsq-uniform").target, std::string("lowbit"));
    // Version 1 was written before targets: it keeps meaning "layer outputs only".
    const auto v1 = engine::parsePlan(R"({"format": "qat-workbench-plan", "version": 1, "preset": "w4a8-lsq"})", "old.json");
    QCOMPARE(v1.target, std::string("generic"));
    const auto v2 = engine::parsePlan(R"({"format": "qat-workbench-plan", "version": 2, "preset": "w4a8-lsq"})", "new.json");
    QCOMPARE(v2.target, std::string("imx500"));
    const auto named = engine::parsePlan(R"({"format": "qat-workbench-plan", "version": 2, "target": "qnnpack"})", "q.json");
    QCOMPARE(named.target, std::string("qnnpack"));
    const auto unknown =
        errorOf([] { engine::parsePlan(R"({"format": "qat-workbench-plan", "version": 2, "target": "tpu"})", "t.json"); });
    QVERIFY2(unknown.startsWith(QStringLiteral("t.json: target: unknown deployment target 'tpu'")), qPrintable(unknown));
    QVERIFY(unknown.contains(QStringLiteral("tflite-int8")));
    // Saved plans say their target, and read back as they were.
    auto plan = engine::presetPlan("w2a3");
    engine::PointRule adds;
    adds.op = "add";
    adds.activations.bits = 8;
    plan.points.push_back(adds);
    plan.pointOverrides["mean"].enabled = false;
    const auto text = engine::planToJson(plan);
    QVERIFY(text.find("\"target\": \"lowbit\"") != std::string::npos);
    QCOMPARE(engine::planToJson(engine::parsePlan(text, "saved.json")), text);
}

void TestPlan::pointRulesAndOverrides()
{
    const auto info = model::inspectModel(std::string(QATWB_FIXTURES_DIR) + "/residual_dw_scripted.pt");
    const auto& imx = target::builtinTargets().find("imx500");
    const auto points = target::placeActivationPoints(info.opGraph, imx);
    auto plan = engine::presetPlan("w4a8-lsq");
    engine::PointRule adds;
    adds.op = "add";
    adds.activations.bits = 6;
    adds.activations.training = "STE";
    plan.points.push_back(adds);
    plan.pointOverrides["mean"].enabled = false;
    plan.layers["block1.dw"].activations.bits = 5;
    plan.output.bits = 7;
    plan.input.bits = 4;
    const auto layers = engine::resolvePlan(plan, info.layers);
    const auto resolved = engine::resolvePoints(plan, layers, points);
    std::map<std::string, engine::QuantizerChoice> byName;
    for (const auto& p : resolved) {
        byName[p.name] = p.choice;
    }
    QCOMPARE(byName.at("block1:add").config.bits, 6);
    QCOMPARE(byName.at("block1:add").key.training, std::string("STE"));
    QVERIFY(!byName.at("mean").enabled);
    QCOMPARE(byName.at("block1.dw:output").config.bits, 5); // a layer's output follows its layer's plan
    QCOMPARE(byName.at("block1.pw:output").config.bits, 8);
    QCOMPARE(byName.at("head:output").config.bits, 7);      // the model output: `output` last
    QCOMPARE(byName.at("input").config.bits, 4);
    plan.pointOverrides["block9:add"].bits = 4;
    const auto message = errorOf([&] { engine::resolvePoints(plan, layers, points); });
    QVERIFY2(message.contains(QStringLiteral("'block9:add', which the model does not have")), qPrintable(message));
    QVERIFY2(message.contains(QStringLiteral("block1:add, mean")), qPrintable(message));
}

void TestPlan::lastLayerInputBeforeExplicitOverrides()
{
    // The residual net's head reads the pooled features (`mean`), the conv1d net's the second
    // conv's output: both points the plan's lastLayerInput applies to.
    const auto residual = model::inspectModel(std::string(QATWB_FIXTURES_DIR) + "/residual_dw_scripted.pt");
    const auto conv1d = model::inspectModel(std::string(QATWB_FIXTURES_DIR) + "/conv1d_net_scripted.pt");
    const auto& lowbit = target::builtinTargets().find("lowbit");
    auto resolve = [&](const model::ModelInfo& info, const QuantizationPlan& plan) {
        const auto points = target::placeActivationPoints(info.opGraph, lowbit);
        return engine::resolvePoints(plan, engine::resolvePlan(plan, info.layers), points);
    };
    auto bitsOf = [&](const model::ModelInfo& info, const QuantizationPlan& plan) {
        std::map<std::string, int> bits;
        for (const auto& p : resolve(info, plan)) {
            bits[p.name] = p.choice.config.bits;
        }
        return bits;
    };
    auto plan = engine::presetPlan("w4a4-lsq-uniform");
    for (const auto* info : {&residual, &conv1d}) {
        QStringList marked;
        for (const auto& p : resolve(*info, plan)) {
            if (p.isLastLayerInput) marked << QString::fromStdString(p.name);
        }
        QCOMPARE(marked, QStringList{info == &conv1d ? QStringLiteral("conv2:output") : QStringLiteral("mean")});
    }
    QCOMPARE(bitsOf(residual, plan).at("mean"), 8);
    QCOMPARE(bitsOf(residual, plan).at("block1:add"), 4);
    QCOMPARE(bitsOf(conv1d, plan).at("conv2:output"), 8);
    QCOMPARE(bitsOf(conv1d, plan).at("conv1:output"), 4);
    // Rules for every layer or every mean come before it; an edit of the one point after.
    engine::PlanRule everyLayer;
    everyLayer.activations.bits = 6;
    plan.rules.push_back(everyLayer);
    engine::PointRule means;
    means.op = "mean";
    means.activations.bits = 6;
    plan.points.push_back(means);
    QCOMPARE(bitsOf(conv1d, plan).at("conv2:output"), 8);
    QCOMPARE(bitsOf(conv1d, plan).at("conv1:output"), 6);
    QCOMPARE(bitsOf(residual, plan).at("mean"), 8);
    auto editedConv = plan;
    editedConv.layers["conv2"].activations.bits = 5;
    QCOMPARE(bitsOf(conv1d, editedConv).at("conv2:output"), 5);
    auto editedMean = plan;
    editedMean.pointOverrides["mean"].bits = 3;
    QCOMPARE(bitsOf(residual, editedMean).at("mean"), 3);
    // Saved and read back; a plan file from before the field (version 2) keeps its meaning.
    const auto saved = engine::parsePlan(engine::planToJson(engine::presetPlan("w2a3")), "saved.json");
    QCOMPARE(*saved.lastLayerInput.bits, 8);
    const auto old = engine::parsePlan(R"({"format": "qat-workbench-plan", "version": 2, "preset": "w2a3"})", "old.json");
    QVERIFY(old.lastLayerInput.empty());
    QCOMPARE(bitsOf(conv1d, old).at("conv2:output"), 3);
    const auto set = engine::parsePlan(
        R"({"format": "qat-workbench-plan", "version": 3, "preset": "mct-default", "last_layer_input": {"bits": 4}})",
        "set.json");
    QCOMPARE(*set.lastLayerInput.bits, 4);
}

// train_batch_norm is saved and read back; a file from before it (version 3) keeps BatchNorm
// folded before training whatever its preset now does; a value of another type is refused by name.
void TestPlan::trainBatchNormInPlanFiles()
{
    auto plan = engine::presetPlan("mct-default");
    QVERIFY(!plan.trainBatchNorm); // MCT folds before QAT
    plan.trainBatchNorm = true;
    QVERIFY(engine::parsePlan(engine::planToJson(plan), "saved.json").trainBatchNorm);
    plan.trainBatchNorm = false;
    QVERIFY(!engine::parsePlan(engine::planToJson(plan), "saved.json").trainBatchNorm);
    for (const auto& name : engine::presetNames()) {
        QCOMPARE(engine::parsePlan(engine::planToJson(engine::presetPlan(name)), "saved.json").trainBatchNorm,
                 engine::presetPlan(name).trainBatchNorm);
        const auto old = engine::parsePlan(R"({"format": "qat-workbench-plan", "version": 3, "preset": ")" + name + R"("})",
                                           "old.json");
        QVERIFY2(!old.trainBatchNorm, name.c_str());
    }
    const auto message = errorOf([] {
        engine::parsePlan(R"({"format": "qat-workbench-plan", "version": 4, "train_batch_norm": "yes"})", "t.json");
    });
    QVERIFY2(message.contains(QStringLiteral("train_batch_norm")) && message.contains(QStringLiteral("true or false")),
             qPrintable(message));
}

void TestPlan::targetRefusesWhatItDoesNotRun()
{
    const auto mlp = std::string(QATWB_FIXTURES_DIR) + "/mlp_traced.pt";
    auto plan = engine::presetPlan("w2a3");
    plan.target = "imx500";
    auto message = errorOf([&] { engine::QatModel::build(mlp, plan, m_registry); });
    QVERIFY2(message.contains(QStringLiteral("3 bits are not offered by deployment target imx500 (activations: "
                                             "power-of-two, 8 bits)")),
             qPrintable(message));
    QVERIFY(message.contains(QStringLiteral("lowbit")));
    plan = engine::presetPlan("mct-default");
    plan.target = "qnnpack";
    message = errorOf([&] { engine::QatModel::build(mlp, plan, m_registry); });
    QVERIFY2(message.startsWith(QStringLiteral("layer layers.1 weights: per-channel scales are not offered by "
                                               "deployment target qnnpack")),
             qPrintable(message));
    plan.weights.config.perChannel = false;
    QVERIFY(engine::QatModel::build(mlp, plan, m_registry) != nullptr);
    plan.activations.config.bits = 4;
    message = errorOf([&] { engine::QatModel::build(mlp, plan, m_registry); });
    QVERIFY2(message.contains(QStringLiteral("4 bits are not offered by deployment target qnnpack")), qPrintable(message));
    plan.activations.config.bits = 8;
    plan.target = "imx500";
    plan.activations.key.method = quant::Method::Uniform;
    message = errorOf([&] { engine::QatModel::build(mlp, plan, m_registry); });
    QVERIFY2(message.contains(QStringLiteral("the uniform grid is not offered by deployment target imx500")), qPrintable(message));
    // A quantizer turned off is not held against the target.
    plan = engine::presetPlan("w2a3");
    plan.target = "imx500";
    plan.activations.enabled = false;
    plan.input.enabled = true;
    plan.output.enabled = true;
    QVERIFY(engine::QatModel::build(mlp, plan, m_registry) != nullptr);
}

void TestPlan::genericKeepsTheQuantizersOfOldRuns()
{
    // An old run's plan (format version 1): the quantizers it was trained with, by name and order:
    // each layer's weights then its output(s), and the input last.
    for (const char* name : {"residual_dw_scripted.pt", "se_net_traced.pt", "shared_linear_scripted.pt", "cnn_bn_relu_traced.pt"}) {
        const auto path = std::string(QATWB_FIXTURES_DIR) + "/" + name;
        const auto plan = engine::parsePlan(R"({"format": "qat-workbench-plan", "version": 1})", "old.json");
        const auto qat = engine::QatModel::build(path, plan, m_registry);
        std::vector<std::string> names;
        for (const auto& site : qat->sites()) {
            names.push_back(site.name);
        }
        std::vector<std::string> expected;
        for (const auto& layer : model::inspectModel(path).layers) {
            expected.push_back(layer.weightPath);
            for (int call = 1; call <= layer.callSites; ++call) {
                expected.push_back(layer.name + ":output" + (call > 1 ? "#" + std::to_string(call) : ""));
            }
        }
        expected.push_back("input");
        QCOMPARE(names, expected);
    }
}

QTEST_GUILESS_MAIN(TestPlan)
#include "tst_plan.moc"
