// SPDX-License-Identifier: MIT
// The fused quantizer kernels against the composite reference (math::quantizeComposite), and
// the one-node grids (uniformGrid, thresholdStep) against their tensor-op references:
// values bit for bit, gradients of x and of every quantizer parameter within float rounding,
// for every built-in quantizer, per tensor and per channel, bits 2..8, odd shapes; the kernel
// itself on ties, zero points, middle channel axes, several chunks and both thread counts.
#include "quantizers/builtin_quantizer_base.h"
#include "quantizers/quant_math.h"
#include "quantizers/quantizer_registry.h"

#include "quantizer_test_util.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <QtTest>

#include <functional>

using namespace qat::quant;
using qat::test::calibrated;
using qat::test::describe;

namespace {

struct Pass {
    at::Tensor out;
    at::Tensor dx;
    std::vector<at::Tensor> dparams;
};

// forward + backward of q on input with upstream gradient g, using the fused kernels or not.
Pass run(TrainableQuantizer& q, const at::Tensor& input, const at::Tensor& g, bool fused)
{
    math::setFusedKernels(fused);
    for (auto& p : q.parameters()) {
        if (p.tensor.grad().defined()) {
            p.tensor.mutable_grad().zero_();
        }
    }
    auto x = input.detach().clone().requires_grad_();
    Pass pass;
    pass.out = q.forward(x);
    (pass.out * g).sum().backward();
    pass.dx = x.grad();
    for (const auto& p : q.parameters()) {
        pass.dparams.push_back(p.tensor.grad().defined() ? p.tensor.grad().clone() : at::Tensor());
    }
    math::setFusedKernels(true);
    return pass;
}

// forward + backward of f (the quantizer q with something around it) on a fresh copy of input.
Pass runAround(TrainableQuantizer& q, const std::function<at::Tensor(const at::Tensor&)>& f, const at::Tensor& input,
               const at::Tensor& g)
{
    for (auto& p : q.parameters()) {
        if (p.tensor.grad().defined()) p.tensor.mutable_grad().zero_();
    }
    auto x = input.clone().requires_grad_();
    Pass pass;
    pass.out = f(x);
    (pass.out * g).sum().backward();
    pass.dx = x.grad();
    for (const auto& p : q.parameters()) {
        pass.dparams.push_back(p.tensor.grad().defined() ? p.tensor.grad().clone() : at::Tensor());
    }
    return pass;
}

// Equal within float rounding: a sum over n terms of size ~scale.
bool close(const at::Tensor& a, const at::Tensor& b)
{
    if (a.defined() != b.defined()) {
        return false;
    }
    if (!a.defined()) {
        return true;
    }
    const double scale = std::max(a.abs().max().item<double>(), b.abs().max().item<double>());
    return at::allclose(a, b, 1e-4, 1e-5 * scale + 1e-7);
}

// Where fused differs from ref: values or dx not bit for bit, a parameter gradient beyond
// rounding; empty when they agree.
QString differences(const Pass& fused, const Pass& ref, const TrainableQuantizer& q)
{
    if (!at::equal(fused.out, ref.out)) return "values " + describe(fused.out, ref.out);
    if (!at::equal(fused.dx, ref.dx)) return "dx " + describe(fused.dx, ref.dx);
    for (size_t k = 0; k < fused.dparams.size(); ++k) {
        if (!close(fused.dparams[k], ref.dparams[k])) {
            return "gradient of " + QString::fromStdString(q.parameters()[k].name);
        }
    }
    return {};
}

QString name(const QuantizerKey& key, const QuantizerConfig& c, const at::Tensor& x)
{
    QString shape;
    for (auto s : x.sizes()) {
        shape += QString::number(s) + " ";
    }
    return QString::fromStdString(toString(key)) + QStringLiteral(" %1 bit%2 [%3]")
                                                       .arg(c.bits)
                                                       .arg(c.perChannel ? " per channel" : "")
                                                       .arg(shape.trimmed());
}

} // namespace

class TestFusedKernels : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init() { at::manual_seed(77); }
    void everyBuiltinQuantizerMatchesComposite();
    void fusedClampMatchesTheOpThenTheQuantizer();
    void quantizerIntoConvMatchesTheTwoOps();
    void signedChannelsMatchTheMultiplications();
    void tiesRoundToEvenLikeLibTorch();
    void middleChannelAxisWithZeroPoints();
    void gradientsDoNotDependOnThreads();
    void frozenParametersGetNoGradient();
    void sharedGradientsAreNotWrittenOver();
    void uniformGridMatchesComposite_data();
    void uniformGridMatchesComposite();
    void thresholdStepMatchesComposite_data();
    void thresholdStepMatchesComposite();

private:
    QuantizerRegistry& registry() { return qat::test::builtinRegistry(); }
};

void TestFusedKernels::everyBuiltinQuantizerMatchesComposite()
{
    const std::vector<std::vector<int64_t>> weightShapes{{5, 3, 3, 3}, {7, 13}, {3, 1, 5}, {1}};
    const std::vector<std::vector<int64_t>> activationShapes{{3, 5, 7, 9}, {17, 11}, {3, 200003}, {1}};
    int checked = 0;
    for (const auto& info : registry().entries()) {
        for (const auto method : info.methods) {
            const QuantizerKey key{info.target, method, info.training};
            const auto& shapes = info.target == Target::Weights ? weightShapes : activationShapes;
            for (const auto& shape : shapes) {
                for (const bool perChannel : {false, true}) {
                    if (perChannel && info.target != Target::Weights) {
                        continue;
                    }
                    for (const int bits : {2, 3, 8}) {
                        QuantizerConfig config;
                        config.bits = bits;
                        config.perChannel = perChannel;
                        config.init = InitMethod::MaxAbs;
                        const auto calibration = at::randn(shape);
                        auto q = calibrated(registry(), key, config, calibration);
                        // Scaled up so a part saturates; shifted so the grid is asymmetric.
                        const auto input = at::randn(shape) * 1.7 + 0.2;
                        const auto g = at::randn(shape);
                        const auto composite = run(*q, input, g, false);
                        const auto fused = run(*q, input, g, true);
                        const auto what = name(key, config, input);
                        QVERIFY2(at::equal(fused.out, composite.out),
                                 qPrintable(what + ": values differ, " + describe(fused.out, composite.out)));
                        QVERIFY2(close(fused.dx, composite.dx), qPrintable(what + ": dx " + describe(fused.dx, composite.dx)));
                        for (size_t i = 0; i < fused.dparams.size(); ++i) {
                            const auto& a = fused.dparams[i];
                            const auto& b = composite.dparams[i];
                            QVERIFY2(close(a, b), qPrintable(what + ": gradient of " + QString::fromStdString(q->parameters()[i].name)
                                                             + (a.defined() && b.defined() ? " " + describe(a, b) : " defined on one side only")));
                        }
                        ++checked;
                    }
                }
            }
        }
    }
    qInfo("%d quantizer / shape / granularity / bits combinations equal", checked);
    QVERIFY(checked >= 15 * 4 * 3);
}

// The engine runs an activation's relu / relu6 / hardtanh inside the quantizer after it
// (forwardClamped): the values and gradients must be those of the op followed by the
// quantizer, with the fused kernels and with the composite reference, for every built-in
// activation quantizer and gradient rule, including inputs exactly at the clamp's ends and
// just below zero (where the op's gradient stops but the quantizer's would not).
void TestFusedKernels::fusedClampMatchesTheOpThenTheQuantizer()
{
    std::vector<math::InputClamp> clamps(3);
    clamps[1].high = 6.0;
    clamps[2].low = -1.0;
    clamps[2].high = 1.0;
    int checked = 0;
    for (const auto& info : registry().entries()) {
        if (info.target != Target::Activations) {
            continue;
        }
        for (const auto method : info.methods) {
            const QuantizerKey key{info.target, method, info.training};
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
                    for (const bool fusedKernels : {true, false}) {
                        math::setFusedKernels(fusedKernels);
                        auto reference = [&](const at::Tensor& x) { return q->forward(math::applyInputClamp(x, clamp)); };
                        auto fusedClamp = [&](const at::Tensor& x) { return builtin->forwardClamped(x, clamp); };
                        const Pass sides[2] = {runAround(*q, reference, input, g), runAround(*q, fusedClamp, input, g)};
                        math::setFusedKernels(true);
                        // dx is g or 0 on both sides: exactly equal.
                        const auto apart = differences(sides[1], sides[0], *q);
                        QVERIFY2(apart.isEmpty(), qPrintable(what + ": " + apart));
                        ++checked;
                    }
                }
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
    auto reader = [](std::vector<int64_t> stride, std::vector<int64_t> padding, std::vector<int64_t> dilation,
                     bool transposed, std::vector<int64_t> outputPadding, int64_t groups) {
        math::ConvReader c;
        c.stride = std::move(stride);
        c.padding = std::move(padding);
        c.dilation = std::move(dilation);
        c.transposed = transposed;
        c.outputPadding = std::move(outputPadding);
        c.groups = groups;
        return c;
    };
    const std::vector<Case> cases = {
        {"conv2d 1->8 3x3", {6, 1, 12, 12}, {8, 1, 3, 3}, true, reader({1, 1}, {1, 1}, {1, 1}, false, {0, 0}, 1)},
        {"conv2d 3->8 5x5 stride 2", {4, 3, 15, 15}, {8, 3, 5, 5}, false, reader({2, 2}, {2, 2}, {1, 1}, false, {0, 0}, 1)},
        {"conv2d 4->6 groups 2 dilation 2", {3, 4, 11, 11}, {6, 2, 3, 3}, true, reader({1, 1}, {0, 0}, {2, 2}, false, {0, 0}, 2)},
        {"conv1d 2->5", {5, 2, 40}, {5, 2, 7}, true, reader({3}, {3}, {1}, false, {0}, 1)},
        {"conv_transpose2d 3->4 stride 2", {4, 3, 7, 7}, {3, 4, 3, 3}, true, reader({2, 2}, {1, 1}, {1, 1}, true, {1, 1}, 1)},
    };
    int checked = 0;
    for (const auto& info : registry().entries()) {
        if (info.target != Target::Activations) {
            continue;
        }
        for (const auto method : info.methods) {
            const QuantizerKey key{info.target, method, info.training};
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
    }
    qInfo("%d activation quantizer / bits / convolution combinations equal", checked);
    QVERIFY(checked >= 4 * 2 * 5);
}

void TestFusedKernels::signedChannelsMatchTheMultiplications()
{
    // A weight whose BatchNorm trains is quantized as q(W s) s, s = +1 / -1 per output channel.
    int checked = 0;
    for (const auto& info : registry().entries()) {
        if (info.target != Target::Weights) {
            continue;
        }
        for (const auto method : info.methods) {
            const QuantizerKey key{info.target, method, info.training};
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
                    for (const bool fusedKernels : {true, false}) {
                        math::setFusedKernels(fusedKernels);
                        auto reference = [&](const at::Tensor& x) { return q->forward(x * sign) * sign; };
                        auto signedKernel = [&](const at::Tensor& x) { return builtin->forwardSigned(x, sign); };
                        const Pass sides[2] = {runAround(*q, reference, input, g), runAround(*q, signedKernel, input, g)};
                        math::setFusedKernels(true);
                        // dx is g or 0 on both sides: exactly equal.
                        const auto apart = differences(sides[1], sides[0], *q);
                        QVERIFY2(apart.isEmpty(), qPrintable(what + ": " + apart));
                        ++checked;
                    }
                }
            }
        }
    }
    qInfo("%d weight quantizer / bits / axis / kernel combinations equal", checked);
    QVERIFY(checked >= 3 * 3 * 2 * 2);
}

void TestFusedKernels::tiesRoundToEvenLikeLibTorch()
{
    // x = (k + 1/2) * step exactly: half-way codes must go to the even neighbour, as in LibTorch.
    const auto k = at::arange(-300, 300, at::kFloat);
    const auto x = ((k + 0.5) * 0.25).reshape({6, 100});
    const auto step = at::full({1}, 0.25f);
    const auto fused = math::quantize(x, step, {}, {}, -128, 127, -1, math::ClipGradient::Masked);
    const auto reference = at::fake_quantize_per_tensor_affine(x, 0.25, 0, -128, 127);
    QVERIFY(at::equal(fused, reference));
    // and with a zero point and an unsigned grid
    const auto zero = at::full({1}, 37.0f);
    const auto fusedU = math::quantize(x, step, {}, zero, 0, 255, -1, math::ClipGradient::Straight);
    QVERIFY(at::equal(fusedU, at::fake_quantize_per_tensor_affine(x, 0.25, 37, 0, 255)));
}

void TestFusedKernels::middleChannelAxisWithZeroPoints()
{
    // Channels on a middle axis (outer > 1 and inner > 1), each with its own step, zero point
    // and low end, for all three gradient rules.
    for (const int64_t axis : {0, 1, 2, 3}) {
        const std::vector<int64_t> shape{4, 6, 5, 3};
        const auto channels = shape[size_t(axis)];
        std::vector<int64_t> paramShape(4, 1);
        paramShape[size_t(axis)] = channels;
        const auto stepValues = (at::rand({channels}) * 0.2 + 0.05).reshape(paramShape);
        const auto zero = at::randint(0, 16, {channels}).to(at::kFloat).reshape(paramShape);
        for (const auto rule : {math::ClipGradient::Straight, math::ClipGradient::Masked, math::ClipGradient::Pact}) {
            const auto input = at::randn(shape) * 2;
            const auto g = at::randn(shape);
            std::vector<at::Tensor> grads[2];
            at::Tensor outs[2];
            for (const bool fused : {false, true}) {
                auto x = input.clone().requires_grad_();
                auto step = stepValues.clone().requires_grad_();
                auto low = (-zero * stepValues).clone().requires_grad_();
                const auto out = fused ? math::quantize(x, step, low, zero, 0, 15, axis, rule)
                                       : math::quantizeComposite(x, step, low, zero, 0, 15, axis, rule);
                (out * g).sum().backward();
                outs[fused] = out.detach();
                grads[fused] = {x.grad(), step.grad(), low.grad()};
            }
            QVERIFY2(at::equal(outs[0], outs[1]), qPrintable(QStringLiteral("axis %1").arg(axis)));
            QVERIFY(at::equal(outs[1], at::fake_quantize_per_channel_affine(input, stepValues.reshape({-1}),
                                                                            zero.reshape({-1}).to(at::kInt), axis, 0, 15)));
            for (size_t i = 0; i < 3; ++i) {
                QVERIFY2(close(grads[1][i], grads[0][i]),
                         qPrintable(QStringLiteral("axis %1 rule %2 gradient %3").arg(axis).arg(int(rule)).arg(i)));
            }
        }
    }
}

void TestFusedKernels::gradientsDoNotDependOnThreads()
{
    const auto input = at::randn({8, 16, 64, 64}) * 3;
    const auto g = at::randn(input.sizes());
    const int threads = at::get_num_threads();
    at::Tensor grads[2];
    for (const int n : {1, 2}) {
        at::set_num_threads(n);
        auto x = input.clone().requires_grad_();
        auto step = at::full({1}, 0.05f).requires_grad_();
        (math::quantize(x, step, {}, {}, -128, 127, -1, math::ClipGradient::Masked) * g).sum().backward();
        grads[n - 1] = step.grad();
    }
    at::set_num_threads(threads);
    QVERIFY2(at::equal(grads[0], grads[1]), qPrintable(describe(grads[0], grads[1])));
}

void TestFusedKernels::frozenParametersGetNoGradient()
{
    // Without a trainable step only dx is produced; in eval (no grad mode) no graph at all.
    auto x = at::randn({4, 9}).requires_grad_();
    const auto step = at::full({1}, 0.1f);
    const auto out = math::quantize(x, step, {}, {}, -8, 7, -1, math::ClipGradient::Masked);
    out.sum().backward();
    QVERIFY(x.grad().defined());
    QVERIFY(!step.grad().defined());
    at::NoGradGuard noGrad;
    QVERIFY(!math::quantize(x, step, {}, {}, -8, 7, -1, math::ClipGradient::Masked).requires_grad());
}

void TestFusedKernels::sharedGradientsAreNotWrittenOver()
{
    // Gradients autograd shares: an add hands one tensor to both its inputs (two quantizers
    // here), a retained gradient keeps one, a view passes a buffer on. Each reader must see it
    // unmasked by the other (a backward that wrote dx over its incoming gradient would not).
    const auto a0 = at::randn({6, 999}) * 3;
    const auto b0 = at::randn({6, 999}) * 3;
    const auto g = at::randn({6, 999});
    const auto step = at::full({1}, 0.02f); // [-2.56, 2.54]: a third of the values clip
    auto quantize = [&](const at::Tensor& x) {
        return math::quantize(x, step, {}, {}, -128, 127, -1, math::ClipGradient::Masked);
    };
    at::Tensor grads[2][4];
    for (const bool fused : {false, true}) {
        math::setFusedKernels(fused);
        auto a = a0.clone().requires_grad_();
        auto b = b0.clone().requires_grad_();
        auto c = a0.clone().requires_grad_();
        auto d = b0.clone().requires_grad_();
        auto ya = quantize(a);
        ya.retain_grad();
        ((ya + quantize(b)) * g).sum().backward();
        // A gradient that arrives through a view, and another quantizer reading the same view.
        const auto shared = (quantize(c) + d).view({-1});
        (shared * g.view({-1})).sum().backward();
        auto& out = grads[fused ? 1 : 0];
        out[0] = a.grad();
        out[1] = b.grad();
        out[2] = c.grad();
        out[3] = ya.grad();
        QVERIFY2(at::equal(d.grad(), g), "an input beside a quantizer got a masked gradient");
        QVERIFY2(at::equal(ya.grad(), g), "the retained gradient was written over");
    }
    math::setFusedKernels(true);
    const char* names[] = {"a (add, first input)", "b (add, second input)", "c (through a view)", "retained"};
    for (int i = 0; i < 4; ++i) {
        QVERIFY2(at::equal(grads[1][i], grads[0][i]), qPrintable(QString::fromLatin1(names[i]) + ": "
                                                                 + describe(grads[1][i], grads[0][i])));
    }
    // The masking happened: a clipped value's gradient is 0, an inside one's is g.
    const auto code = (a0 * (1.0f / 0.02f)).round();
    const auto inside = code.ge(-128).logical_and(code.le(127));
    QVERIFY(inside.logical_not().any().item<bool>());
    QVERIFY(at::equal(grads[1][0], at::where(inside, g, at::zeros_like(g))));
}

namespace {

struct GridPass {
    math::UniformGrid grid;
    at::Tensor dlo;
    at::Tensor dhi;
};

GridPass gridPass(const at::Tensor& lo0, const at::Tensor& hi0, int bits, double scale, bool fused)
{
    math::setFusedKernels(fused);
    auto lo = lo0.clone().requires_grad_();
    auto hi = hi0.clone().requires_grad_();
    GridPass pass{math::uniformGrid(lo, hi, bits, scale), {}, {}};
    math::setFusedKernels(true);
    const auto gStep = at::randn(pass.grid.step.sizes(), at::TensorOptions().dtype(at::kFloat));
    const auto gLow = at::randn(pass.grid.low.sizes(), at::TensorOptions().dtype(at::kFloat));
    (pass.grid.step * gStep + pass.grid.low * gLow).sum().backward();
    pass.dlo = lo.grad();
    pass.dhi = hi.grad();
    return pass;
}

} // namespace

void TestFusedKernels::uniformGridMatchesComposite_data()
{
    QTest::addColumn<double>("center");
    QTest::addColumn<double>("width");
    QTest::addColumn<int>("bits");
    QTest::addColumn<double>("scale");
    // Each adjustRangeToIncludeZero case, a range too narrow for the minimum step, LSQ's scale.
    QTest::newRow("across zero, 4 bits") << 0.1 << 2.0 << 4 << 1.0;
    QTest::newRow("across zero, 8 bits, grad scale") << -0.3 << 5.0 << 8 << 0.02;
    QTest::newRow("all positive, 2 bits") << 3.0 << 1.0 << 2 << 1.0;
    QTest::newRow("all negative, 3 bits") << -3.0 << 1.0 << 3 << 0.5;
    QTest::newRow("collapsed ranges") << 0.0 << 1e-7 << 4 << 1.0;
    QTest::newRow("mixed cases per channel") << 0.0 << 6.0 << 5 << 1.0;
}

void TestFusedKernels::uniformGridMatchesComposite()
{
    QFETCH(double, center);
    QFETCH(double, width);
    QFETCH(int, bits);
    QFETCH(double, scale);
    // 64 channels around center; each channel's range width ~width.
    const auto mid = at::randn({64, 1}) * width + center;
    const auto half = at::rand({64, 1}) * width * 0.5 + width * 0.01;
    const auto lo = mid - half;
    const auto hi = mid + half;
    at::manual_seed(5);
    const auto fused = gridPass(lo, hi, bits, scale, true);
    at::manual_seed(5);
    const auto composite = gridPass(lo, hi, bits, scale, false);
    QVERIFY2(at::equal(fused.grid.step, composite.grid.step), qPrintable(describe(fused.grid.step, composite.grid.step)));
    QVERIFY2(at::equal(fused.grid.zeroPoint, composite.grid.zeroPoint),
             qPrintable(describe(fused.grid.zeroPoint, composite.grid.zeroPoint)));
    QVERIFY2(at::equal(fused.grid.low, composite.grid.low), qPrintable(describe(fused.grid.low, composite.grid.low)));
    QVERIFY(!fused.grid.zeroPoint.requires_grad());
    QVERIFY2(close(fused.dlo, composite.dlo), qPrintable(describe(fused.dlo, composite.dlo)));
    QVERIFY2(close(fused.dhi, composite.dhi), qPrintable(describe(fused.dhi, composite.dhi)));
    // Without gradients the same values come back with no graph.
    at::NoGradGuard noGrad;
    const auto plain = math::uniformGrid(lo, hi, bits);
    QVERIFY(at::equal(plain.step, composite.grid.step) && !plain.step.requires_grad());
}

void TestFusedKernels::thresholdStepMatchesComposite_data()
{
    QTest::addColumn<bool>("keepPositive");
    QTest::addColumn<bool>("pot");
    QTest::addColumn<double>("divisor");
    QTest::addColumn<double>("scale");
    QTest::newRow("symmetric") << false << false << 128.0 << 1.0;
    QTest::newRow("kept positive, LSQ scale") << true << false << 8.0 << 0.03;
    QTest::newRow("power of two") << true << true << 128.0 << 1.0;
    QTest::newRow("power of two, not kept positive, LSQ scale") << false << true << 4.0 << 0.1;
}

void TestFusedKernels::thresholdStepMatchesComposite()
{
    QFETCH(bool, keepPositive);
    QFETCH(bool, pot);
    QFETCH(double, divisor);
    QFETCH(double, scale);
    // Thresholds over several octaves, some below the minimum and some negative.
    const auto sign = at::where(at::rand({48}) < 0.1, at::full({48}, -1.0f), at::full({48}, 1.0f));
    const auto base = at::exp2(at::rand({48}) * 12 - 8) * sign;
    QCOMPARE(base.scalar_type(), at::kFloat);
    const auto g = at::randn({48});
    at::Tensor values[2];
    at::Tensor grads[2];
    for (const bool fused : {true, false}) {
        math::setFusedKernels(fused);
        auto t = base.clone().requires_grad_();
        const auto step = math::thresholdStep(t, divisor, keepPositive, pot, scale);
        math::setFusedKernels(true);
        (step * g).sum().backward();
        values[fused ? 0 : 1] = step.detach();
        grads[fused ? 0 : 1] = t.grad();
    }
    QVERIFY2(at::equal(values[0], values[1]), qPrintable(describe(values[0], values[1])));
    QVERIFY2(close(grads[0], grads[1]), qPrintable(describe(grads[0], grads[1])));
}

QTEST_GUILESS_MAIN(TestFusedKernels)
#include "tst_fused_kernels.moc"
