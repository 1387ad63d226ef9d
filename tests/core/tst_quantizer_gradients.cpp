// SPDX-License-Identifier: MIT
// Gradients of the built-in quantizers against the closed forms of design/quantizers.md
// (STE, LSQ inside / saturated / per channel, uniform, PACT, LSQ+) and against LibTorch's
// learnable fake-quant op; which parameters train; MCT's vs the paper's LSQ gradient scale.
#include "quantizers/quant_math.h"
#include "quantizers/quantizer_registry.h"

#include "quantizer_test_util.h"

#include <ATen/ATen.h>
#include <QtTest>

#include <cmath>

using namespace qat::quant;
using qat::test::calibrated;
using qat::test::describe;

namespace {

struct Backward {
    std::unique_ptr<TrainableQuantizer> q;
    at::Tensor x;        ///< the input, with its gradient
    at::Tensor upstream; ///< the gradient that arrived at the output
    at::Tensor out;
};

/// Calibrates a `bits`-bit quantizer for key (max initialisation) on calibration, then
/// back-propagates a random upstream gradient through forward(input).
Backward backward(const QuantizerRegistry& registry, const QuantizerKey& key, int bits, const at::Tensor& calibration,
                  const at::Tensor& input)
{
    QuantizerConfig config;
    config.bits = bits;
    config.init = InitMethod::MaxAbs;
    Backward b{calibrated(registry, key, config, calibration), input.detach().clone().requires_grad_(), {}, {}};
    b.upstream = at::randn(input.sizes());
    b.out = b.q->forward(b.x);
    (b.out * b.upstream).sum().backward();
    return b;
}

} // namespace

class TestQuantizerGradients : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init() { at::manual_seed(1234); }
    void steSymmetricGradients();
    void lsqSymmetricGradients();
    void lsqMatchesLibTorchLearnableFakeQuant();
    void lsqPerChannelWeightGradients();
    void steUniformGradients();
    void lsqUniformGradients();
    void pactGradients();
    void lsqPlusLearnsStepAndOffset();
    void steWeightThresholdIsFrozen();
    void gradScalePaperVsMct();

private:
    QuantizerRegistry& registry() { return qat::test::builtinRegistry(); }
};

void TestQuantizerGradients::steSymmetricGradients()
{
    const auto [q, x, upstream, out] =
        backward(registry(), {Target::Activations, Method::Symmetric, "STE"}, 4, at::randn({64, 8}), at::randn({64, 8}) * 3); // many values saturate
    const auto t = q->parameters()[0].tensor;
    QVERIFY(at::equal(x.grad(), upstream)); // identity everywhere, saturated too
    const auto expected = (upstream * (out.detach() - x.detach()) / t.detach()).sum();
    QVERIFY2(at::allclose(t.grad().sum(), expected, 1e-4, 1e-5), qPrintable(describe(t.grad().sum(), expected)));
}

void TestQuantizerGradients::lsqSymmetricGradients()
{
    const auto [q, x, upstream, out] =
        backward(registry(), {Target::Activations, Method::Symmetric, "LSQ"}, 4, at::randn({32, 6, 4}), at::randn({32, 6, 4}) * 3);
    const auto t = q->parameters()[0].tensor.detach();
    const auto range = math::symmetricRange(4, true);
    const auto step = t / range.divisor;
    const auto codes = at::round(x.detach() / step);
    const auto inside = (codes >= range.qmin).logical_and(codes <= range.qmax);
    QVERIFY(inside.logical_not().any().item<bool>()); // the case covers saturation
    QVERIFY(at::equal(x.grad(), upstream * inside));
    const double g = 1.0 / std::sqrt(double(range.qmax) * 6); // MCT: Qp * input channels
    const auto slope = at::where(inside, (out.detach() - x.detach()) / step, out.detach() / step);
    const auto expected = (upstream * slope).sum() * g / range.divisor;
    QVERIFY2(at::allclose(q->parameters()[0].tensor.grad().sum(), expected, 1e-4, 1e-6),
             qPrintable(describe(q->parameters()[0].tensor.grad().sum(), expected)));
}

void TestQuantizerGradients::lsqMatchesLibTorchLearnableFakeQuant()
{
    QuantizerConfig config;
    config.bits = 8;
    config.init = InitMethod::MaxAbs;
    auto q = calibrated(registry(), {Target::Activations, Method::Symmetric, "LSQ"}, config, at::randn({20, 5}));
    const auto x = (at::randn({20, 5}) * 2).requires_grad_();
    const auto upstream = at::randn({20, 5});
    (q->forward(x) * upstream).sum().backward();
    const auto range = math::symmetricRange(8, true);
    const auto threshold = q->parameters()[0].tensor;
    const auto scale = (threshold.detach() / range.divisor).clone().requires_grad_();
    const auto x2 = x.detach().clone().requires_grad_();
    const double g = 1.0 / std::sqrt(double(range.qmax) * 5);
    const auto reference = at::_fake_quantize_learnable_per_tensor_affine(x2, scale, at::zeros({1}), range.qmin,
                                                                          range.qmax, g);
    (reference * upstream).sum().backward();
    QVERIFY(at::equal(q->forward(x).detach(), reference.detach()));
    QVERIFY(at::allclose(x.grad(), x2.grad()));
    QVERIFY2(at::allclose(threshold.grad(), scale.grad() / range.divisor, 1e-4, 1e-6),
             qPrintable(describe(threshold.grad(), scale.grad() / range.divisor)));
}

void TestQuantizerGradients::lsqPerChannelWeightGradients()
{
    QuantizerConfig config;
    config.bits = 3;
    config.perChannel = true;
    config.init = InitMethod::MaxAbs;
    const auto w = at::randn({5, 4, 3, 3}).requires_grad_();
    auto q = calibrated(registry(), {Target::Weights, Method::Symmetric, "LSQ"}, config, w.detach() * 0.5);
    const auto upstream = at::randn({5, 4, 3, 3});
    const auto out = q->forward(w);
    (out * upstream).sum().backward();
    const auto t = q->parameters()[0].tensor;
    QCOMPARE(t.sizes().vec(), std::vector<int64_t>({5, 1, 1, 1}));
    const auto range = math::symmetricRange(3, true);
    const auto step = t.detach() / range.divisor;
    const auto codes = at::round(w.detach() / step);
    const auto inside = (codes >= range.qmin).logical_and(codes <= range.qmax);
    const double g = 1.0 / std::sqrt(double(range.qmax) * 5); // MCT: Qp * number of thresholds
    const auto slope = at::where(inside, (out.detach() - w.detach()) / step, out.detach() / step);
    const auto expected = (upstream * slope).sum({1, 2, 3}, true) * g / range.divisor;
    QVERIFY2(at::allclose(t.grad(), expected, 1e-4, 1e-6), qPrintable(describe(t.grad(), expected)));
    QVERIFY(at::equal(w.grad(), upstream * inside));
}

void TestQuantizerGradients::steUniformGradients()
{
    const auto [q, x, upstream, out] =
        backward(registry(), {Target::Activations, Method::Uniform, "STE"}, 4, at::randn({40, 3}), at::randn({40, 3}) * 3);
    const auto params = q->parameters();
    const auto lo = params[0].tensor;
    const auto hi = params[1].tensor;
    QVERIFY(lo.item<float>() < 0 && hi.item<float>() > 0); // the mid case of the zero fix
    const double levels = 15;
    const auto step = (hi.detach() - lo.detach()) / levels;
    const auto dStep = (upstream * (out.detach() - x.detach()) / step).sum();
    QVERIFY(at::equal(x.grad(), upstream));
    QVERIFY2(at::allclose(hi.grad(), dStep / levels, 1e-4, 1e-5), qPrintable(describe(hi.grad(), dStep / levels)));
    QVERIFY2(at::allclose(lo.grad(), -dStep / levels, 1e-4, 1e-5), qPrintable(describe(lo.grad(), -dStep / levels)));
}

void TestQuantizerGradients::lsqUniformGradients()
{
    const auto [q, x, upstream, out] =
        backward(registry(), {Target::Activations, Method::Uniform, "LSQ"}, 4, at::randn({40, 3}), at::randn({40, 3}) * 3);
    const auto lo = q->parameters()[0].tensor;
    const auto hi = q->parameters()[1].tensor;
    const double levels = 15;
    const auto sc = (hi.detach() - lo.detach()) / levels;
    const auto a = sc * at::round(lo.detach() / sc);
    const auto zero = at::round(-a / sc);
    const auto codes = at::round(x.detach() / sc) + zero;
    const auto inside = (codes >= 0).logical_and(codes <= levels);
    const auto outside = inside.logical_not();
    QVERIFY(outside.any().item<bool>());
    const double g = 1.0 / std::sqrt(levels * 3);
    const auto slope = at::where(inside, (out.detach() - x.detach()) / sc, (out.detach() - a) / sc);
    const auto viaStep = (upstream * slope).sum() * g / levels;
    const auto viaLow = (upstream * outside).sum() * at::round(lo.detach() / sc) / levels;
    QVERIFY(at::equal(x.grad(), upstream * inside));
    QVERIFY2(at::allclose(hi.grad(), viaStep + viaLow, 1e-4, 1e-5), qPrintable(describe(hi.grad(), viaStep + viaLow)));
    QVERIFY2(at::allclose(lo.grad(), -viaStep - viaLow, 1e-4, 1e-5), qPrintable(describe(lo.grad(), -viaStep - viaLow)));
}

void TestQuantizerGradients::pactGradients()
{
    const auto [q, x, upstream, out] =
        backward(registry(), {Target::Activations, Method::Symmetric, "PACT"}, 4, at::randn({50}).relu(), at::randn({50}).relu() * 3);
    const auto alpha = q->parameters()[0].tensor;
    const auto range = math::symmetricRange(4, false);
    const auto step = alpha.detach() / range.divisor;
    const auto inside = at::round(x.detach() / step) <= range.qmax;
    QVERIFY(inside.logical_not().any().item<bool>());
    QVERIFY(at::equal(x.grad(), upstream * inside));
    const auto expected = (upstream * inside.logical_not() * out.detach() / step).sum() / range.divisor;
    QVERIFY2(at::allclose(alpha.grad().sum(), expected, 1e-4, 1e-6), qPrintable(describe(alpha.grad().sum(), expected)));
}

void TestQuantizerGradients::lsqPlusLearnsStepAndOffset()
{
    auto q = calibrated(registry(), {Target::Activations, Method::Uniform, "LSQ+"}, QuantizerConfig{},
                        at::randn({64, 4}) + 0.5);
    const auto x = (at::randn({64, 4}) * 2 + 0.5).requires_grad_();
    q->forward(x).pow(2).sum().backward();
    for (const auto& p : q->parameters()) {
        QVERIFY2(p.tensor.grad().defined() && p.tensor.grad().abs().sum().item<double>() > 0, p.name.c_str());
        QVERIFY(at::isfinite(p.tensor.grad()).all().item<bool>());
    }
    const auto snapshot = q->snapshot().values;
    QVERIFY(snapshot.count("step") && snapshot.count("min") && snapshot.count("zero_point"));
}

void TestQuantizerGradients::steWeightThresholdIsFrozen()
{
    const auto w = at::randn({4, 3}).requires_grad_();
    auto ste = calibrated(registry(), {Target::Weights, Method::Symmetric, "STE"}, QuantizerConfig{}, w.detach());
    auto lsq = calibrated(registry(), {Target::Weights, Method::Symmetric, "LSQ"}, QuantizerConfig{}, w.detach());
    QVERIFY(!ste->parameters()[0].tensor.requires_grad());
    QVERIFY(lsq->parameters()[0].tensor.requires_grad());
    (ste->forward(w) + lsq->forward(w)).sum().backward();
    QVERIFY(!ste->parameters()[0].tensor.grad().defined());
    QVERIFY(lsq->parameters()[0].tensor.grad().defined());
    QuantizerConfig frozen;
    frozen.freeze = true;
    auto steAct = calibrated(registry(), {Target::Activations, Method::PowerOfTwo, "STE"}, frozen, at::randn({9}));
    QVERIFY(!steAct->parameters()[0].tensor.requires_grad());
}

void TestQuantizerGradients::gradScalePaperVsMct()
{
    const auto w = at::randn({6, 10});
    QuantizerConfig mct;
    mct.init = InitMethod::MaxAbs;
    QuantizerConfig paper = mct;
    paper.gradScale = GradScale::Paper;
    const QuantizerKey key(Target::Weights, Method::Symmetric, "LSQ");
    auto a = calibrated(registry(), key, mct, w * 0.7);
    auto b = calibrated(registry(), key, paper, w * 0.7);
    a->forward(w).sum().backward();
    b->forward(w).sum().backward();
    // Per-tensor: MCT divides by sqrt(Qp * 1), the paper by sqrt(Qp * 60 weights).
    const auto ratio = a->parameters()[0].tensor.grad() / b->parameters()[0].tensor.grad();
    QVERIFY2(std::abs(ratio.item<double>() - std::sqrt(60.0)) < 1e-3, qPrintable(QString::number(ratio.item<double>())));
}

QTEST_GUILESS_MAIN(TestQuantizerGradients)
#include "tst_quantizer_gradients.moc"
