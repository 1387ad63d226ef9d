// SPDX-License-Identifier: MIT
// init: auto: each quantizer keeps the candidate calibration with the smallest error in its
// layer's output, on constructed cases where the tensor's own error points elsewhere.
#include "test_paths.h"
#include "engine/qat_model.h"
#include "engine/quantization_plan.h"
#include "quantizers/calibration.h"
#include "quantizers/quantizer_registry.h"

#include <QTemporaryDir>
#include <QtTest>

#include <torch/csrc/jit/serialization/import.h>
#include <torch/script.h>

using namespace qat;
using quant::InitMethod;

Q_DECLARE_METATYPE(quant::InitMethod)

namespace {

constexpr const char* kWeight = "layers.1.weight"; // the MLP fixture's first Linear (784 -> 64)

// The MLP fixture with its first layer's weight replaced: in every row, column 0 holds the
// largest magnitude (+-1) and the other 783 columns uniform values in [-0.3, 0.3].
std::string modelWithOutlierColumn(const QString& folder)
{
    auto module = torch::jit::load(std::string(QATWB_FIXTURES_DIR) + "/mlp_traced.pt");
    torch::NoGradGuard noGrad;
    at::manual_seed(3);
    for (const auto& p : module.named_parameters()) {
        if (p.name == kWeight) {
            auto w = (at::rand(p.value.sizes()) * 0.6 - 0.3);
            w.select(1, 0).copy_(at::where(at::rand({p.value.size(0)}) < 0.5, -1.0, 1.0));
            p.value.copy_(w);
        }
    }
    const auto path = folder.toStdString() + "/outlier_mlp.pt";
    module.save(path);
    return path;
}

} // namespace

class TestAutoInit : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { quant::registerBuiltinQuantizers(m_registry); }
    void picksLowestOutputError_data();
    void picksLowestOutputError();

private:
    quant::QuantizerRegistry m_registry;
};

void TestAutoInit::picksLowestOutputError_data()
{
    QTest::addColumn<bool>("onlyOutlierInput");
    QTest::addColumn<InitMethod>("expected");
    // Only pixel 0 carries signal: the layer's output depends on the outlier weight alone, so
    // keeping it unclipped (max) is best, although clipping it lowers the weight's own MSE.
    QTest::newRow("only the outlier's input is active") << true << InitMethod::MaxAbs;
    // Every pixel carries independent signal: the output error follows the weight's own
    // error, and the MSE search's clipped threshold wins.
    QTest::newRow("every input is active") << false << InitMethod::Mse;
}

void TestAutoInit::picksLowestOutputError()
{
    QFETCH(bool, onlyOutlierInput);
    QFETCH(InitMethod, expected);
    QTemporaryDir dir;
    const auto path = modelWithOutlierColumn(dir.path());
    auto plan = engine::presetPlan("w4a8-lsq"); // 4-bit per-channel symmetric weights
    plan.weights.config.init = InitMethod::Auto;
    plan.activations.config.init = InitMethod::Auto;
    auto model = engine::QatModel::build(path, plan, m_registry);

    at::manual_seed(5);
    auto x = at::randn({96, 1, 28, 28});
    if (onlyOutlierInput) {
        auto flat = x.view({96, -1});
        flat.slice(1, 1).zero_();
    }
    model->calibrateWeights();
    model->beginActivationCalibration();
    model->observeBatch(x.slice(0, 0, 64));
    model->observeBatch(x.slice(0, 64)); // scoring keeps the first 128 images: both batches
    model->finishActivationCalibration();

    const engine::QuantizerSite* weightSite = nullptr;
    for (const auto& site : model->sites()) {
        if (site.name == kWeight) {
            weightSite = &site;
        }
    }
    QVERIFY(weightSite != nullptr);
    // Every quantizer of the plan was chosen, each the candidate with the lowest score.
    QCOMPARE(model->initChoices().size(), model->sites().size());
    const engine::InitChoice* weightChoice = nullptr;
    for (const auto& choice : model->initChoices()) {
        QCOMPARE(choice.scores.size(), engine::autoInitCandidates().size());
        for (const auto& [method, score] : choice.scores) {
            QVERIFY2(choice.scores.at(choice.chosen) <= score, quant::toString(method).c_str());
        }
        QCOMPARE(quant::toString(model->table().at(size_t(choice.slot)).config().init), quant::toString(choice.chosen));
        if (choice.slot == weightSite->slot) {
            weightChoice = &choice;
        }
    }
    QVERIFY(weightChoice != nullptr);
    QCOMPARE(quant::toString(weightChoice->chosen), quant::toString(expected));
    for (const auto& [method, score] : weightChoice->scores) {
        if (method != expected) {
            QVERIFY2(weightChoice->scores.at(expected) < score, quant::toString(method).c_str());
        }
    }

    // The tensor's own error disagrees in the first case: the MSE search clips every row's
    // outlier (so a tensor-MSE criterion would have picked mse there).
    const auto rows = quant::calib::channelRows(weightSite->weight, 0);
    const auto mse = quant::calib::symmetricThreshold(rows, 4, true, false, InitMethod::Mse, 99.99);
    QVERIFY((mse < 0.99).all().item<bool>());
    // The installed quantizer is the chosen candidate: its thresholds are that method's.
    const auto chosen = quant::calib::symmetricThreshold(rows, 4, true, false, expected, 99.99);
    const auto installed = model->table().at(size_t(weightSite->slot)).snapshot().values.at("threshold");
    QVERIFY(at::allclose(at::tensor(installed), chosen.reshape({-1}), 1e-5, 1e-6));
}

QTEST_GUILESS_MAIN(TestAutoInit)
#include "tst_auto_init.moc"
