// SPDX-License-Identifier: MIT
// The fused quantizer kernels against the composite reference (math::quantizeComposite), and
// the one-node grids (uniformGrid, thresholdStep) against their tensor-op references:
// values bit for bit, gradients of x and of every quantizer parameter within float rounding,
// for every built-in quantizer, per tensor and per channel, bits 2..8, odd shapes; the kernel
// itself on ties, zero points, middle channel axes, several chunks and both thread counts.
// The fused forms (clamp, convolution, sign) are in tst_fused_kernels_fusions.cpp.
#include "tst_fused_kernels.h"

#include "quantizers/builtin_quantizer_base.h"
#include "quantizers/quant_math.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <QtTest>

#include <functional>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

using namespace qat::quant;
using qat::test::calibrated;
using qat::test::describe;
using namespace qat::test::fused;

namespace qat::test::fused {

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

std::vector<QuantizerKey> keysOf(Target target)
{
    std::vector<QuantizerKey> keys;
    for (const auto& info : qat::test::builtinRegistry().entries()) {
        if (info.target != target) {
            continue;
        }
        for (const auto method : info.methods) {
            keys.push_back({info.target, method, info.training});
        }
    }
    return keys;
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

Pass run(TrainableQuantizer& q, const at::Tensor& input, const at::Tensor& g, bool fused)
{
    math::setFusedKernels(fused);
    auto pass = runAround(q, [&](const at::Tensor& x) { return q.forward(x); }, input, g);
    math::setFusedKernels(true);
    return pass;
}

QString differencesBothWays(TrainableQuantizer& q, const Around& reference, const Around& fusedForm,
                            const at::Tensor& input, const at::Tensor& g)
{
    for (const bool fusedKernels : {true, false}) {
        math::setFusedKernels(fusedKernels);
        const auto ref = runAround(q, reference, input, g);
        const auto fused = runAround(q, fusedForm, input, g);
        math::setFusedKernels(true);
        const auto apart = differences(fused, ref, q);
        if (!apart.isEmpty()) {
            return (fusedKernels ? QStringLiteral("fused kernels: ") : QStringLiteral("composite: ")) + apart;
        }
    }
    return {};
}

} // namespace qat::test::fused


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

    // A BatchNorm in front, long rows (a channel's rows a task) and short ones (a sample's
    // block a task, several chunks of samples): every gradient the same whatever the threads.
    for (const auto& shape : {std::vector<int64_t>{16, 24, 9, 9}, std::vector<int64_t>{64, 40, 4, 4}}) {
        const auto xs = at::randn(shape) * 3;
        const auto gs = at::randn(shape);
        const auto gamma = at::rand({shape[1]}).add_(0.5);
        std::vector<at::Tensor> all[2];
        for (const int n : {1, 2}) {
            at::set_num_threads(n);
            math::BatchNormInput bn;
            bn.weight = gamma.clone().requires_grad_();
            bn.bias = at::zeros({shape[1]}).requires_grad_();
            auto x = xs.clone().requires_grad_();
            auto step = at::full({1}, 0.05f).requires_grad_();
            const math::InputClamp relu;
            const auto out =
                math::quantizeBatchNorm(x, step, {}, {}, 0, 255, -1, math::ClipGradient::Masked, &relu, bn);
            (out * gs).sum().backward();
            all[n - 1] = {out.detach(), x.grad(), step.grad(), bn.weight.grad(), bn.bias.grad()};
        }
        at::set_num_threads(threads);
        for (size_t i = 0; i < all[0].size(); ++i) {
            const auto what = QStringLiteral("BatchNorm on %1x%1 maps, output %2: ").arg(shape[2]).arg(i);
            QVERIFY2(at::equal(all[0][i], all[1][i]), qPrintable(what + describe(all[0][i], all[1][i])));
        }
    }
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

// The sanitizer stage's ASan build serves LibTorch's large buffers from a cache
// (core/common/sanitizer_allocator.cpp: ASan alone faulted every step's activations in
// afresh). What the kernels' tests rely on ASan for must hold for those buffers too: a write
// past a buffer's end lands in a redzone, a freed buffer is poisoned until it is handed out
// again, and then it is whole.
void TestFusedKernels::largeBuffersStayCheckedUnderAddressSanitizer()
{
#if defined(__SANITIZE_ADDRESS__)
    const int64_t count = 100003; // 400,012 bytes: not a multiple of a page or of 64
    const auto bytes = static_cast<size_t>(count) * sizeof(float);
    auto a = at::empty({count});
    auto* first = static_cast<char*>(a.data_ptr());
    QVERIFY(__asan_region_is_poisoned(first, bytes) == nullptr);
    QVERIFY(__asan_address_is_poisoned(first + bytes));
    a = at::Tensor();
    QVERIFY(__asan_region_is_poisoned(first, bytes) != nullptr);
    auto b = at::empty({count});
    auto* second = static_cast<char*>(b.data_ptr());
    QCOMPARE(static_cast<void*>(second), static_cast<void*>(first)); // reused: not mapped afresh
    QVERIFY(__asan_region_is_poisoned(second, bytes) == nullptr);
    QVERIFY(__asan_address_is_poisoned(second + bytes));
    b.fill_(1.0f);
    QCOMPARE(b.sum().item<double>(), static_cast<double>(count));
#else
    QSKIP("built without AddressSanitizer (the sanitizer stage's build runs this)");
#endif
}

QTEST_GUILESS_MAIN(TestFusedKernels)
