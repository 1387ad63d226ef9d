// SPDX-License-Identifier: MIT
// Resource figures (weights memory, activation memory, BOPs) against values computed by hand
// from the fixture models' definitions in tests/fixtures/make_fixtures.py.
#include "test_paths.h"
#include "analysis/bit_fit.h"
#include "analysis/resources.h"
#include "common/error.h"
#include "engine/quantization_plan.h"
#include "model/model_inspector.h"

#include <QtTest>

#include <algorithm>
#include <map>
#include <set>

using qat::analysis::computeResources;
using qat::engine::presetPlan;

namespace {

std::string fixture(const char* name) { return std::string(QATWB_FIXTURES_DIR) + "/" + name; }

const qat::analysis::LayerResources& layer(const qat::analysis::Resources& r, const std::string& name)
{
    for (const auto& l : r.layers) {
        if (l.name == name) return l;
    }
    throw std::runtime_error("no layer " + name);
}

} // namespace

class TestResources : public QObject {
    Q_OBJECT

private Q_SLOTS:
    // CnnBnRelu on 1x28x28: features.0 conv 1->8 3x3 (72 weights, out 8x28x28), features.3
    // conv 8->16 groups 2 (576 weights, out 16x28x28, no bias but a folded BN), max-pool,
    // features.7 conv 16->16 (2304 weights, out 16x14x14), avg-pool, fc 16->10 (160 weights).
    void cnnAllEightBits_data()
    {
        QTest::addColumn<QString>("file");
        QTest::newRow("scripted") << "cnn_bn_relu_scripted.pt";
        QTest::newRow("traced") << "cnn_bn_relu_traced.pt";
    }
    void cnnAllEightBits()
    {
        QFETCH(QString, file);
        const auto info = qat::model::inspectModel(fixture(file.toStdString().c_str()));
        QCOMPARE(info.probeInput, (std::vector<int64_t>{1, 1, 28, 28}));
        const auto r = computeResources(info, presetPlan("mct-default")); // imx500, w8a8
        QCOMPARE(r.weightsBytesFloat32, int64_t(4 * 3112));
        QCOMPARE(r.weightsBytes8bit, int64_t(3112));
        QCOMPARE(r.weightsBytes, int64_t(3112));
        QCOMPARE(r.biasBytes, int64_t(4 * (8 + 16 + 16 + 10)));
        QCOMPARE(layer(r, "features.0").macs, int64_t(8 * 28 * 28 * 9));
        QCOMPARE(layer(r, "features.3").macs, int64_t(16 * 28 * 28 * 36));
        QCOMPARE(layer(r, "features.7").macs, int64_t(16 * 14 * 14 * 144));
        QCOMPARE(layer(r, "fc").macs, int64_t(160));
        QCOMPARE(r.macs, int64_t(56448 + 451584 + 451584 + 160));
        QCOMPARE(r.bops, r.macs * 64);
        // input 784, features.0 6272, features.3 12544, features.7 3136, the pool 16, fc 10
        QCOMPARE(r.activationBytesMax, int64_t(12544));
        QCOMPARE(r.activationBytesTotal, int64_t(784 + 6272 + 12544 + 3136 + 16 + 10));
        QCOMPARE(int(r.points.size()), 6);
    }

    // Per-layer bits change each layer's own figures and the BOPs of the layer that reads it.
    void cnnMixedBits()
    {
        const auto info = qat::model::inspectModel(fixture("cnn_bn_relu_traced.pt"));
        auto plan = presetPlan("mct-default");
        plan.layers["features.3"].weights.bits = 4;
        plan.layers["features.3"].activations.bits = 4;
        plan.layers["features.7"].weights.enabled = false;
        plan.layers["fc"].weights.bits = 2;
        plan.quantizeInput = false;
        const auto r = computeResources(info, plan);
        QCOMPARE(r.weightsBytes, int64_t(72 + 576 / 2 + 2304 * 4 + 160 / 4));
        QCOMPARE(layer(r, "features.7").weightBits, 32);
        QCOMPARE(layer(r, "features.0").activationBits, 32); // the float input
        QCOMPARE(layer(r, "features.7").activationBits, 4);  // through the max-pool
        QCOMPARE(r.bops, int64_t(56448) * 8 * 32 + int64_t(451584) * 4 * 8 + int64_t(451584) * 32 * 4
                             + int64_t(160) * 2 * 8);
        QCOMPARE(r.activationBytesMax, int64_t(6272));
        QCOMPARE(r.activationBytesTotal, int64_t(6272 + 6272 + 3136 + 16 + 10));
    }

    // Transposed convs cost per input element; a layer called twice counts its weights once
    // and its MACs twice; the probe shape can be given.
    void otherLayers()
    {
        auto info = qat::model::inspectModel(fixture("conv_transpose_net_scripted.pt"));
        auto r = computeResources(info, presetPlan("mct-default"));
        // down: 1->8 3x3 s2 -> 8x14x14; up: ConvTranspose 8->4 k2 s2 reads 8x14x14, weight [8,4,2,2]
        QCOMPARE(layer(r, "down").macs, int64_t(8 * 14 * 14 * 9));
        QCOMPARE(layer(r, "up").macs, int64_t(8 * 14 * 14 * 16));
        QCOMPARE(layer(r, "up").weightElements, int64_t(128));
        info = qat::model::inspectModel(fixture("shared_linear_traced.pt"));
        r = computeResources(info, presetPlan("mct-default"));
        QCOMPARE(layer(r, "fc").weightsBytes, int64_t(32 * 32));
        QCOMPARE(layer(r, "fc").macs, int64_t(2 * 32 * 32));
        info = qat::model::inspectModel(fixture("cnn_bn_relu_scripted.pt"), {1, 1, 56, 56});
        r = computeResources(info, presetPlan("mct-default"));
        QCOMPARE(layer(r, "features.0").macs, int64_t(8 * 56 * 56 * 9));
        QCOMPARE(layer(r, "fc").macs, int64_t(160)); // after the adaptive pool
    }

    // Whole bytes per layer: 3 weights at 3 bits are 9 bits, 2 bytes. A hand-made model
    // without shapes has weights but no activation figures.
    void roundingAndUnknownShapes()
    {
        qat::model::ModelInfo info;
        qat::model::LayerInfo l;
        l.name = "tiny";
        l.weightPath = "tiny.weight";
        l.kind = "linear";
        l.weightShape = {3, 1};
        l.outChannels = 3;
        l.activationPoints = {{"linear", {}}};
        info.layers = {l};
        info.opGraph.nodes = {{0, "input", "", "", {}, {}}, {1, "linear", "", "tiny", {0}, {}}, {2, "output", "", "", {1}, {}}};
        auto plan = presetPlan("mct-default");
        plan.layers["tiny"].weights.bits = 3;
        const auto r = computeResources(info, plan);
        QCOMPARE(r.weightsBytes, int64_t(2));
        QCOMPARE(r.activationBytesMax, int64_t(-1));
        QCOMPARE(r.bops, int64_t(-1));
        const auto back = qat::analysis::resourcesFromJson(qat::analysis::resourcesToJson(r));
        QCOMPARE(back.weightsBytes, int64_t(2));
        QCOMPARE(back.bops, int64_t(-1));
        QCOMPARE(back.layers.front().weightBits, 3);
    }

    // activations-kb bounds the largest activation tensor: each tensor gets the most bits
    // (lowbit: 2, 4, 8) that keep it within the limit. 4 KB = 4096 bytes: the input (784
    // elements) and features.7 (3136) stay at 8 bits, features.0 (6272) goes to 4 (3136 B),
    // features.3 (12544) to 2 (3136 B), the pool and the logits stay at 8.
    void activationBitsFitted()
    {
        const auto info = qat::model::inspectModel(fixture("cnn_bn_relu_traced.pt"));
        auto plan = presetPlan("mct-default");
        plan.target = "lowbit";
        const auto fit = qat::analysis::fitToBudget(info, plan, qat::analysis::parseBudget("activations-kb=4"), {});
        QCOMPARE(fit.limit, int64_t(4096));
        QCOMPARE(fit.figure, int64_t(3136));
        QCOMPARE(fit.resources.activationBytesMax, int64_t(3136));
        QCOMPARE(fit.resources.activationBytesTotal, int64_t(784 + 3136 + 3136 + 3136 + 16 + 10));
        std::map<std::string, int> bits;
        for (const auto& p : fit.resources.points) bits[p.name] = p.bits;
        QCOMPARE(bits.at("input"), 8);
        QCOMPARE(bits.at("features.0:output"), 4);
        QCOMPARE(bits.at("features.3:output"), 2);
        QCOMPARE(bits.at("features.7:output"), 8);
        QCOMPARE(fit.resources.weightsBytes, int64_t(3112)); // weight bits untouched
        QCOMPARE(layer(fit.resources, "features.7").activationBits, 2); // it reads features.3 through the pool
        // The fitted plan is an ordinary plan: the same figures from its JSON.
        const auto again = computeResources(info, qat::engine::parsePlan(qat::engine::planToJson(fit.plan), "fitted"));
        QCOMPARE(again.activationBytesMax, int64_t(3136));

        // Below features.3 at 2 bits (3136 bytes): refused, naming the smallest reachable figure.
        try {
            qat::analysis::fitToBudget(info, plan, qat::analysis::parseBudget("activations-kb=3"), {});
            QFAIL("an activation budget below every tensor at 2 bits was accepted");
        } catch (const qat::Error& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("smallest reachable is 3.1 KB")), e.what());
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("features.3")), e.what());
        }
        // imx500 runs 8-bit activations only: 12 KB is below features.3 at 8 bits (12544 bytes).
        plan.target = "imx500";
        QVERIFY_THROWS_EXCEPTION(qat::Error, qat::analysis::checkBudgetReachable(
                                                 info, plan, qat::analysis::parseBudget("activations-kb=12")));
        QCOMPARE(qat::analysis::fitToBudget(info, plan, qat::analysis::parseBudget("activations-kb=13"), {}).figure,
                 int64_t(12544));
    }

    // Weights and activation bits together: weights fitted (all losses equal: any choice that
    // fits) to 50 %, activations to 4 KB; both figures hold.
    void weightsAndActivationsFitted()
    {
        const auto info = qat::model::inspectModel(fixture("cnn_bn_relu_traced.pt"));
        auto plan = presetPlan("mct-default");
        plan.target = "lowbit";
        std::vector<qat::analysis::LayerBitSensitivity> flat;
        for (const auto& l : info.layers) flat.push_back({l.name, {2, 4, 8}, {3.0, 2.0, 1.0}});
        const auto fit = qat::analysis::fitWithActivations(info, plan, qat::analysis::parseBudget("weights=50%"),
                                                           qat::analysis::parseBudget("activations-kb=4"), flat);
        QCOMPARE(fit.limit, int64_t(3112 / 2));
        QVERIFY(fit.resources.weightsBytes <= 3112 / 2);
        QCOMPARE(fit.activationLimit, int64_t(4096));
        QCOMPARE(fit.activationFigure, int64_t(3136));
        QVERIFY(qat::analysis::fitToJson(fit).find("\"activation_budget\"") != std::string::npos);
    }

    // The plans the joint verification chooses among: the predicted best first, the uniform
    // plan, plans with the largest layer at other widths; all distinct, all within the budget.
    // chooseMeasured then takes the measured best (the better predicted on a tie), whatever
    // the prediction said.
    void candidatesAndMeasuredChoice()
    {
        const auto info = qat::model::inspectModel(fixture("cnn_bn_relu_traced.pt"));
        const auto plan = presetPlan("mct-default"); // imx500: 2, 4, 8
        // Losses that make uniform 4 bits the predicted best under 50 %: 2 bits costs a lot
        // everywhere, 8 bits little.
        std::vector<qat::analysis::LayerBitSensitivity> sensitivity;
        for (const char* name : {"features.0", "features.3", "features.7", "fc"}) {
            sensitivity.push_back({name, {2, 4, 8}, {10.0, 1.0, 0.1}});
        }
        const auto budget = qat::analysis::parseBudget("weights=50%");
        auto fit = qat::analysis::fitToBudget(info, plan, budget, sensitivity, 6);
        QCOMPARE(fit.limit, int64_t(3112 / 2));
        QVERIFY(fit.candidates.size() >= 3 && fit.candidates.size() <= 6);
        QCOMPARE(fit.chosen, size_t(0));
        QVERIFY(!fit.verified);
        QCOMPARE(fit.candidates.front().why, std::string("predicted best"));
        QCOMPARE(fit.candidates.front().predictedLoss, 4.0); // every layer at 4 bits
        QCOMPARE(fit.predictedLoss, 4.0);
        std::set<std::string> plans;
        for (const auto& c : fit.candidates) {
            QVERIFY2(c.figure <= fit.limit, c.why.c_str());
            QCOMPARE(c.figure, c.resources.weightsBytes);
            QVERIFY(c.predictedLoss >= fit.predictedLoss);
            QVERIFY(c.measuredLoss < 0);
            plans.insert(qat::engine::planToJson(c.plan));
        }
        QCOMPARE(plans.size(), fit.candidates.size());
        // features.7 (2304 of 3112 weights) at 2 bits leaves room for 8 bits elsewhere.
        const auto wide = std::find_if(fit.candidates.begin(), fit.candidates.end(),
                                       [](const auto& c) { return c.why == "features.7 at 2 bits"; });
        QVERIFY(wide != fit.candidates.end());
        QCOMPARE(layer(wide->resources, "features.7").weightBits, 2);
        QCOMPARE(layer(wide->resources, "features.0").weightBits, 8);
        QCOMPARE(layer(wide->resources, "fc").weightBits, 8);

        // Measured: the third candidate is best; a later one equal to the best does not win.
        std::vector<double> measured(fit.candidates.size(), 5.0);
        measured[2] = 1.5;
        measured.back() = fit.candidates.size() > 3 ? 1.5 : measured.back();
        qat::analysis::chooseMeasured(fit, measured);
        QVERIFY(fit.verified);
        QCOMPARE(fit.chosen, size_t(2));
        QCOMPARE(qat::engine::planToJson(fit.plan), qat::engine::planToJson(fit.candidates[2].plan));
        QCOMPARE(fit.figure, fit.candidates[2].figure);
        QVERIFY(fit.figure <= fit.limit);
        QCOMPARE(fit.predictedLoss, fit.candidates[2].predictedLoss);
        QCOMPARE(fit.resources.weightsBytes, computeResources(info, fit.plan).weightsBytes);
        const auto json = qat::analysis::fitToJson(fit);
        QVERIFY(json.find("\"verification\"") != std::string::npos);
        QVERIFY(json.find("\"measured_loss\": 1.5") != std::string::npos);
        QVERIFY_THROWS_EXCEPTION(qat::Error, qat::analysis::chooseMeasured(fit, {1.0}));
        // One candidate asked for: the predicted best alone.
        QCOMPARE(qat::analysis::fitToBudget(info, plan, budget, sensitivity).candidates.size(), size_t(1));
    }

    void badInputShape()
    {
        QVERIFY_THROWS_EXCEPTION(qat::Error, qat::model::parseInputShape("28x"));
        QVERIFY_THROWS_EXCEPTION(qat::Error, qat::model::parseInputShape("0x28"));
        QCOMPARE(qat::model::parseInputShape("3x32x32"), (std::vector<int64_t>{1, 3, 32, 32}));
        try {
            qat::model::inspectModel(fixture("mlp_scripted.pt"), {1, 1, 5, 5});
            QFAIL("a shape the model refuses was accepted");
        } catch (const qat::ModelError& e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("1x5x5")), e.what());
        }
    }
};

QTEST_GUILESS_MAIN(TestResources)
#include "tst_resources.moc"
