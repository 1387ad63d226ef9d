// SPDX-License-Identifier: MIT
// A transformer block (nn.MultiheadAttention, LayerNorm, GELU MLP) trains and exports: scripted,
// attention holds a fused inference op beside its composite path and builds lists of tensors;
// traced without gradients, the fused op alone. The patch embedding has no bias (scripted, a
// None attribute under the integer-bias rule).
#include "test_paths.h"
#include "tst_export.h"

#include "engine/qat_model.h"
#include "engine/quantization_plan.h"
#include "engine/quantizer_table.h"
#include "export/exporter.h"
#include "training/trainer.h"

#include <QtTest>

#include <algorithm>

using namespace qat;

void TestExport::attentionTrainsAndExportsItsComposition_data()
{
    QTest::addColumn<QString>("model");
    QTest::addColumn<bool>("traced");
    // Scripted, the graph keeps attention's data-dependent branches, which ONNX cannot hold.
    QTest::newRow("scripted") << QStringLiteral("attention_net_scripted.pt") << false;
    QTest::newRow("traced") << QStringLiteral("attention_net_traced.pt") << true;
    // Traced without gradients: the fused op alone, rewritten as the composite math.
    QTest::newRow("traced without gradients") << QStringLiteral("attention_net_fused_traced.pt") << true;
}

void TestExport::attentionTrainsAndExportsItsComposition()
{
    QFETCH(QString, model);
    QFETCH(bool, traced);
    const auto c = config(model, engine::presetPlan("mct-default"));
    const auto qat = engine::QatModel::build(c.modelPath, c.plan, m_registry);
    std::vector<std::string> names;
    for (const auto& site : qat->sites()) {
        names.push_back(site.name);
    }
    const auto has = [&](const std::string& name) { return std::count(names.begin(), names.end(), name) == 1; };
    // The projections are quantized layers (the fused op would have read them unquantized),
    // and the attention's own tensors get activation quantizers.
    QVERIFY(has("attn.in_proj_weight"));
    QVERIFY(has("attn.out_proj.weight"));
    QVERIFY(has("attn:softmax"));
    const auto products = std::count_if(names.begin(), names.end(), [](const std::string& name) {
        return name.rfind("attn:bmm", 0) == 0 || name.rfind("attn:matmul", 0) == 0; // q k^T, then times v
    });
    QCOMPARE(products, 2L);
    // With every quantizer passing values through, the rewritten graph computes what the
    // model file computes (the fused op's rewrite included).
    const auto probe = test::exports::testImages(c.modelPath, c.data, 8);
    qat->table().setMode(engine::QuantizerTable::Mode::Bypass);
    at::Tensor rewritten;
    at::Tensor original;
    {
        at::NoGradGuard noGrad;
        qat->train(false);
        rewritten = qat->forward(probe);
        original = qat->floatForward(probe);
    }
    QVERIFY2(at::allclose(rewritten, original, 1e-5, 1e-5),
             qPrintable(QString::number((rewritten - original).abs().max().item<double>())));
    // Calibrated, the points on paths this model never takes (attention's separate query, key
    // and value projections: scripted only) are reported, not an error; the rest all ran.
    qat->calibrateWeights();
    qat->beginActivationCalibration();
    qat->observeBatch(test::exports::testImages(c.modelPath, c.data, 32));
    qat->finishActivationCalibration();
    const auto& unreached = qat->unreachedPoints();
    QCOMPARE(unreached.empty(), traced); // the traced graph has no untaken branch
    for (const auto& name : unreached) {
        QVERIFY2(name.rfind("attn:", 0) == 0 && name.find("softmax") == std::string::npos, name.c_str());
    }

    const auto result = train::runTraining(c, m_registry);
    QVERIFY2(result.state == train::RunState::Finished, result.message.c_str());
    QVERIFY(result.qatTop1 >= 0); // evaluated (a random model: no accuracy to expect)
    std::vector<exporter::Format> formats{exporter::Format::Spec, exporter::Format::TorchScript};
    if (traced) {
        formats.push_back(exporter::Format::Onnx); // layer_norm, bmm, softmax, trace's size arithmetic
    }
    const auto exported = exporter::exportModel(request(c, result, QStringLiteral("attention"), formats), m_registry);
    QVERIFY2(exported.parity.maxAbsDiff <= 1e-6, qPrintable(QString::number(exported.parity.maxAbsDiff)));
    QCOMPARE(exported.parity.top1Agreement, 1.0);
    if (traced) {
        checkInOnnxRuntime(model, exported, test::exports::pathOf(exported, exporter::Format::Onnx),
                           test::exports::pathOf(exported, exporter::Format::TorchScript),
                           test::exports::testImages(c.modelPath, c.data, 64), true);
    }
}
