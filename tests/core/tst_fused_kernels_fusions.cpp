// SPDX-License-Identifier: MIT
// Fused forms of the built-in quantizers (tst_fused_kernels, continued), each against the
// separate ops it replaces: a ReLU / ReLU6 / hardtanh in front (forwardClamped), the
// convolution reading the model input's quantizer (forwardIntoConv), a BatchNorm fold sign
// around a weight quantizer (forwardSigned) and a BatchNorm in front (forwardBatchNorm);
// values bit for bit, gradients within rounding.
#include "tst_fused_kernels.h"

#include "quantizers/builtin_quantizer_base.h"
#include "quantizers/quant_math.h"

#include <ATen/ATen.h>
#include <QtTest>

#include <optional>

using namespace qat::quant;
using qat::test::calibrated;
using qat::test::describe;
using namespace qat::test::fused;

void TestFusedKernels::fusedClampMatchesTheOpThenTheQuantizer()
{
    std::vector<math::InputClamp> clamps(3);
    clamps[1].high = 6.0;
    clamps[2].low = -1.0;
    clamps[2].high = 1.0;
    int checked = 0;
    for (const auto& key : keysOf(Target::Activations)) {
        for (const auto& clamp : clamps) {
            for (const int bits : {3, 8}) {
                QuantizerConfig config;
                config.bits = bits;
                config.init = InitMethod::MaxAbs;
                auto q = calibrated(registry(), key, config, at::randn({4, 8, 9, 9}) * 3);
                auto* builtin = dynamic_cast<BuiltinQuantizerBase*>(q.get());
                QVERIFY(builtin != nullptr);
                auto input = at::randn({4, 8, 9, 9}) * 4;
                auto flat = input.view({-1});
                flat.slice(0, 0, 50).fill_(0.0f);
                flat.slice(0, 50, 100).fill_(-1e-4f);
                flat.slice(0, 100, 150).fill_(float(clamp.low));
                flat.slice(0, 150, 200).fill_(float(clamp.high.value_or(100.0)));
                const auto g = at::randn(input.sizes());
                const auto what = QString::fromStdString(toString(key))
                                  + QStringLiteral(" %1 bit, clamp [%2, %3]")
                                        .arg(bits)
                                        .arg(clamp.low)
                                        .arg(clamp.high ? QString::number(*clamp.high) : QStringLiteral("inf"));
                auto reference = [&](const at::Tensor& x) { return q->forward(math::applyInputClamp(x, clamp)); };
                auto fusedClamp = [&](const at::Tensor& x) { return builtin->forwardClamped(x, clamp); };
                // dx is g or 0 on both sides: exactly equal.
                const auto apart = differencesBothWays(*q, reference, fusedClamp, input, g);
                QVERIFY2(apart.isEmpty(), qPrintable(what + ": " + apart));
                checked += 2;
            }
        }
    }
    qInfo("%d activation quantizer / clamp / bits / kernel combinations equal", checked);
    QVERIFY(checked >= 4 * 3 * 2 * 2);
}

void TestFusedKernels::quantizerIntoConvMatchesTheTwoOps()
{
    // Convolutions of every kind at::convolution takes: few and many input channels, stride,
    // dilation, groups, transposed with output padding, 1-d and 2-d, with and without bias.
    struct Case {
        const char* name;
        std::vector<int64_t> input;
        std::vector<int64_t> weight;
        bool bias;
        math::ConvReader conv;
    };
    const auto reader = math::convReader;
    const std::vector<Case> cases = {
        {"conv2d 1->8 3x3", {6, 1, 12, 12}, {8, 1, 3, 3}, true, reader({1, 1}, {1, 1}, {1, 1}, false, {0, 0}, 1)},
        {"conv2d 3->8 5x5 stride 2", {4, 3, 15, 15}, {8, 3, 5, 5}, false, reader({2, 2}, {2, 2}, {1, 1}, false, {0, 0}, 1)},
        {"conv2d 4->6 groups 2 dilation 2", {3, 4, 11, 11}, {6, 2, 3, 3}, true, reader({1, 1}, {0, 0}, {2, 2}, false, {0, 0}, 2)},
        {"conv1d 2->5", {5, 2, 40}, {5, 2, 7}, true, reader({3}, {3}, {1}, false, {0}, 1)},
        {"conv_transpose2d 3->4 stride 2", {4, 3, 7, 7}, {3, 4, 3, 3}, true, reader({2, 2}, {1, 1}, {1, 1}, true, {1, 1}, 1)},
    };
    int checked = 0;
    for (const auto& key : keysOf(Target::Activations)) {
        for (const int bits : {3, 8}) {
            for (const auto& c : cases) {
                QuantizerConfig config;
                config.bits = bits;
                config.init = InitMethod::MaxAbs;
                // Calibrated on a narrower range than the input: some values fall outside the grid.
                auto q = calibrated(registry(), key, config, at::randn(c.input));
                auto* builtin = dynamic_cast<BuiltinQuantizerBase*>(q.get());
                QVERIFY(builtin != nullptr);
                const auto input = at::randn(c.input) * 3;
                auto conv = c.conv;
                conv.weight = at::randn(c.weight).requires_grad_();
                conv.bias = c.bias ? at::randn({c.conv.transposed ? c.weight[1] : c.weight[0]}).requires_grad_()
                                   : at::Tensor();
                const auto what = QString::fromStdString(toString(key)) + QStringLiteral(" %1 bit, ").arg(bits)
                                  + QString::fromLatin1(c.name);
                Pass sides[2];
                at::Tensor g;
                for (int i = 0; i < 2; ++i) {
                    for (auto& p : q->parameters()) {
                        if (p.tensor.grad().defined()) p.tensor.mutable_grad().zero_();
                    }
                    conv.weight.mutable_grad() = at::Tensor();
                    if (conv.bias.defined()) conv.bias.mutable_grad() = at::Tensor();
                    // The reference: the quantizer, then the convolution; its input needs no gradient.
                    sides[i].out = i == 0 ? math::convolve(q->forward(input), conv) : builtin->forwardIntoConv(input, conv);
                    if (!g.defined()) g = at::randn(sides[i].out.sizes());
                    (sides[i].out * g).sum().backward();
                    sides[i].dparams.push_back(conv.weight.grad().clone());
                    sides[i].dparams.push_back(conv.bias.defined() ? conv.bias.grad().clone() : at::Tensor());
                    for (const auto& p : q->parameters()) {
                        sides[i].dparams.push_back(p.tensor.grad().defined() ? p.tensor.grad().clone() : at::Tensor());
                    }
                }
                const auto& [ref, fused] = sides;
                QVERIFY2(at::equal(fused.out, ref.out), qPrintable(what + ": values " + describe(fused.out, ref.out)));
                for (size_t k = 0; k < fused.dparams.size(); ++k) {
                    const auto param = k < 2 ? QString::fromLatin1(k == 0 ? "weight" : "bias")
                                             : QString::fromStdString(q->parameters()[k - 2].name);
                    QVERIFY2(close(fused.dparams[k], ref.dparams[k]),
                             qPrintable(what + ": gradient of " + param + " "
                                        + (fused.dparams[k].defined() && ref.dparams[k].defined()
                                               ? describe(fused.dparams[k], ref.dparams[k])
                                               : QStringLiteral("defined on one side only"))));
                }
                // Every trainable parameter of the quantizer got a gradient through the weights.
                for (size_t k = 2; k < fused.dparams.size(); ++k) {
                    QVERIFY2(fused.dparams[k].defined() && fused.dparams[k].abs().sum().item<double>() > 0,
                             qPrintable(what + ": no gradient for " + QString::fromStdString(q->parameters()[k - 2].name)));
                }
                ++checked;
            }
        }
    }
    qInfo("%d activation quantizer / bits / convolution combinations equal", checked);
    QVERIFY(checked >= 4 * 2 * 5);
}

void TestFusedKernels::signedChannelsMatchTheMultiplications()
{
    // A weight whose BatchNorm trains is quantized as q(W s) s, s = +1 / -1 per output channel.
    int checked = 0;
    for (const auto& key : keysOf(Target::Weights)) {
        for (const int bits : {2, 4, 8}) {
            for (const int64_t axis : {0, 1}) {
                QuantizerConfig config;
                config.bits = bits;
                config.perChannel = true;
                config.channelAxis = axis;
                std::vector<int64_t> signShape{1, 1, 1, 1};
                signShape[size_t(axis)] = 6;
                const auto sign = at::where(at::rand(signShape) < 0.5, -1.0f, 1.0f).to(at::kFloat);
                sign.view({-1})[0] = -1.0f;
                sign.view({-1})[1] = 1.0f;
                const auto input = at::randn(axis == 0 ? std::vector<int64_t>{6, 5, 3, 3} : std::vector<int64_t>{5, 6, 3, 3});
                auto q = calibrated(registry(), key, config, input * sign);
                auto* builtin = dynamic_cast<BuiltinQuantizerBase*>(q.get());
                QVERIFY(builtin != nullptr);
                const auto g = at::randn(input.sizes());
                const auto what = QString::fromStdString(toString(key)) + QStringLiteral(" %1 bit, axis %2").arg(bits).arg(axis);
                auto reference = [&](const at::Tensor& x) { return q->forward(x * sign) * sign; };
                auto signedKernel = [&](const at::Tensor& x) { return builtin->forwardSigned(x, sign); };
                // dx is g or 0 on both sides: exactly equal.
                const auto apart = differencesBothWays(*q, reference, signedKernel, input, g);
                QVERIFY2(apart.isEmpty(), qPrintable(what + ": " + apart));
                checked += 2;
            }
        }
    }
    qInfo("%d weight quantizer / bits / axis / kernel combinations equal", checked);
    QVERIFY(checked >= 3 * 3 * 2 * 2);
}

void TestFusedKernels::batchNormInFrontMatchesTheOps()
{
    // A BatchNorm (batch statistics, or running ones), a clamp or none, then the quantizer: the
    // fused kernel against at::batch_norm, the clamp op and the quantizer's own kernel. With
    // running statistics the op runs those same ops (evaluation must equal the export bit for
    // bit): those rows check that it does, and leaves the running statistics alone.
    std::vector<std::optional<math::InputClamp>> clamps(3);
    clamps[1] = math::InputClamp{};
    clamps[2] = math::InputClamp{0.0, 6.0};
    // Rows of 63 and 40 values (the row form), of 4 (the block form, in two chunks of samples)
    // and of one (BatchNorm1d on [N, C]).
    const std::vector<std::vector<int64_t>> shapes{{8, 6, 7, 9}, {5, 4, 40}, {64, 160, 2, 2}, {9, 5}};
    int checked = 0;
    for (const auto& key : keysOf(Target::Activations)) {
        for (const int bits : {3, 8}) {
            for (const auto& clamp : clamps) {
                for (const bool training : {true, false}) {
                    for (const auto& shape : shapes) {
                        const int64_t channels = shape[1];
                        const auto x = at::randn(shape) * 2 + 0.5;
                        auto gamma = at::randn({channels});
                        gamma[0] = -0.7f; // a negative scale flips the channel
                        const auto beta = at::randn({channels}) * 0.3;
                        const auto runningMean = at::randn({channels}) * 0.2;
                        const auto runningVar = at::rand({channels}) + 0.5;
                        QuantizerConfig config;
                        config.bits = bits;
                        config.init = InitMethod::MaxAbs;
                        // Calibrated on a narrower range than it will see: some values clip.
                        const auto normed = at::batch_norm(x, gamma, beta, runningMean, runningVar, training, 0.1,
                                                           1e-5, false);
                        auto q = calibrated(registry(), key, config, normed * 0.7);
                        auto* builtin = dynamic_cast<BuiltinQuantizerBase*>(q.get());
                        QVERIFY(builtin != nullptr);
                        const auto g = at::randn(shape);
                        const auto what = QString::fromStdString(toString(key))
                                          + QStringLiteral(" %1 bit, %2, %3, shape %4")
                                                .arg(bits)
                                                .arg(clamp ? (clamp->high ? "relu6" : "relu") : "no clamp")
                                                .arg(training ? "batch statistics" : "running statistics")
                                                .arg(QString::fromStdString(c10::str(at::IntArrayRef(shape))));
                        struct Side {
                            Pass pass;
                            at::Tensor runningMean;
                            at::Tensor runningVar;
                        };
                        Side sides[2];
                        for (int i = 0; i < 2; ++i) {
                            for (auto& p : q->parameters()) {
                                if (p.tensor.grad().defined()) p.tensor.mutable_grad().zero_();
                            }
                            math::BatchNormInput bn;
                            bn.weight = gamma.clone().requires_grad_();
                            bn.bias = beta.clone().requires_grad_();
                            bn.runningMean = runningMean.clone();
                            bn.runningVar = runningVar.clone();
                            bn.training = training;
                            const auto input = x.clone().requires_grad_();
                            at::Tensor out;
                            if (i == 0) {
                                const auto y = math::batchNorm(input, bn);
                                out = q->forward(clamp ? math::applyInputClamp(y, *clamp) : y);
                            } else {
                                out = builtin->forwardBatchNorm(input, bn, clamp ? &*clamp : nullptr);
                            }
                            (out * g).sum().backward();
                            auto& side = sides[i];
                            side.pass.out = out.detach();
                            side.pass.dx = input.grad();
                            side.pass.dparams = {bn.weight.grad(), bn.bias.grad()};
                            for (const auto& p : q->parameters()) {
                                side.pass.dparams.push_back(p.tensor.grad().defined() ? p.tensor.grad().clone()
                                                                                     : at::Tensor());
                            }
                            side.runningMean = bn.runningMean;
                            side.runningVar = bn.runningVar;
                        }
                        const auto& [ref, fused] = sides;
                        QVERIFY2(at::equal(fused.pass.out, ref.pass.out),
                                 qPrintable(what + ": values " + describe(fused.pass.out, ref.pass.out)));
                        QVERIFY2(close(fused.pass.dx, ref.pass.dx),
                                 qPrintable(what + ": dx " + describe(fused.pass.dx, ref.pass.dx)));
                        for (size_t k = 0; k < fused.pass.dparams.size(); ++k) {
                            const auto param = k < 2 ? QString::fromLatin1(k == 0 ? "gamma" : "beta")
                                                     : QString::fromStdString(q->parameters()[k - 2].name);
                            QVERIFY2(close(fused.pass.dparams[k], ref.pass.dparams[k]),
                                     qPrintable(what + ": gradient of " + param));
                        }
                        QVERIFY2(at::allclose(fused.runningMean, ref.runningMean, 1e-6, 1e-7)
                                     && at::allclose(fused.runningVar, ref.runningVar, 1e-6, 1e-7),
                                 qPrintable(what + ": running statistics"));
                        if (training) {
                            QVERIFY(!at::equal(fused.runningMean, runningMean)); // they moved
                        }
                        ++checked;
                    }
                }
            }
        }
    }
    qInfo("%d activation quantizer / bits / clamp / statistics / shape combinations equal", checked);
    QVERIFY(checked >= 4 * 2 * 3 * 2 * 4);
}
