// SPDX-License-Identifier: MIT
// Built-in quantizers: values against LibTorch's fake-quant kernels, conversion, POT and
// positivity options, initialisation, illegal configs, registry errors. Gradients:
// tst_quantizer_gradients.cpp.
#include "quantizers/builtin_inferable.h"
#include "quantizers/quant_math.h"
#include "quantizers/quantizer_error.h"
#include "quantizers/quantizer_registry.h"
#include "quantizers/symmetric_quantizer.h"

#include "quantizer_test_util.h"

#include <ATen/ATen.h>
#include <QtTest>

#include <cmath>
#include <set>

using namespace qat::quant;
using qat::test::calibrated;
using qat::test::describe;

Q_DECLARE_METATYPE(qat::quant::Target)
Q_DECLARE_METATYPE(qat::quant::Method)

namespace {

struct Case {
    Target target;
    Method method;
    const char* training;
    int bits;
    bool perChannel;
    const char* data; ///< "signed", "relu", "wide"
};

std::vector<Case>& caseList()
{
    static std::vector<Case> list;
    return list;
}

at::Tensor makeData(const std::string& kind, std::vector<int64_t> shape)
{
    auto x = at::randn(shape);
    if (kind == "relu") {
        return x.relu() * 3;
    }
    if (kind == "wide") {
        return x * 4 + 1;
    }
    return x * 2;
}

std::vector<int64_t> shapeFor(Target target)
{
    return target == Target::Weights ? std::vector<int64_t>{8, 4, 3, 3} : std::vector<int64_t>{16, 6, 5, 5};
}

QuantizerConfig configFor(const Case& c)
{
    QuantizerConfig config;
    config.bits = c.bits;
    config.perChannel = c.perChannel;
    return config;
}

// The affine fake-quant formula written out, independent of any kernel.
at::Tensor manualFakeQuant(const at::Tensor& x, const FakeQuantSpec& spec)
{
    std::vector<int64_t> shape(size_t(x.dim()), 1);
    auto scale = at::tensor(at::ArrayRef<float>(spec.scale));
    auto zero = at::tensor(at::ArrayRef<int32_t>(spec.zeroPoint)).to(at::kFloat);
    if (spec.perChannel) {
        shape[size_t(spec.axis)] = -1;
        scale = scale.reshape(shape);
        zero = zero.reshape(shape);
    }
    const auto codes = at::clamp(at::round(x * scale.reciprocal()) + zero, double(spec.qmin), double(spec.qmax));
    return (codes - zero) * scale;
}

void addCases()
{
    QTest::addColumn<int>("index");
    static const std::vector<Case> cases = {
        {Target::Weights, Method::Symmetric, "STE", 8, true, "signed"},
        {Target::Weights, Method::PowerOfTwo, "STE", 4, false, "signed"},
        {Target::Weights, Method::Uniform, "STE", 8, true, "wide"},
        {Target::Weights, Method::Symmetric, "LSQ", 2, true, "signed"},
        {Target::Weights, Method::PowerOfTwo, "LSQ", 3, true, "signed"},
        {Target::Weights, Method::Uniform, "LSQ", 4, false, "wide"},
        {Target::Activations, Method::Symmetric, "STE", 8, false, "signed"},
        {Target::Activations, Method::PowerOfTwo, "STE", 8, false, "relu"},
        {Target::Activations, Method::Uniform, "STE", 8, false, "wide"},
        {Target::Activations, Method::Symmetric, "LSQ", 4, false, "signed"},
        {Target::Activations, Method::PowerOfTwo, "LSQ", 16, false, "relu"},
        {Target::Activations, Method::Uniform, "LSQ", 3, false, "relu"},
        {Target::Activations, Method::Symmetric, "PACT", 4, false, "relu"},
        {Target::Activations, Method::PowerOfTwo, "PACT", 8, false, "signed"},
        {Target::Activations, Method::Uniform, "LSQ+", 4, false, "wide"},
    };
    for (size_t i = 0; i < cases.size(); ++i) {
        const auto& c = cases[i];
        QTest::newRow(qPrintable(QStringLiteral("%1/%2/%3/%4b%5")
                                     .arg(QString::fromStdString(toString(c.target)),
                                          QString::fromStdString(toString(c.method)), QString::fromLatin1(c.training))
                                     .arg(c.bits)
                                     .arg(c.perChannel ? "/pc" : "")))
            << int(i);
    }
    caseList() = cases;
}

} // namespace

class TestQuantizers : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void init();
    void forwardEqualsFakeQuant_data() { addCases(); }
    void forwardEqualsFakeQuant();
    void inferableReproducesTrainable_data() { addCases(); }
    void inferableReproducesTrainable();
    void potKeptDuringTrainingMakesExportExact();
    void potRoundedUpAtConversionInMctMode();
    void thresholdKeptPositive();
    void twoBitWeightsHaveFourValuesPerChannel();
    void maxInitIsMaxAbsPerChannel();
    void mseInitBeatsMaxOnHeavyTails();
    void percentileInit();
    void signednessFromData();
    void searchChoosesSignByError();
    void calibrationSpansBatches();
    void illegalBits_data();
    void illegalBits();
    void illegalConfigs();
    void registryErrors();
    void trainingIdIsCaseInsensitive();

private:
    QuantizerRegistry& registry() { return qat::test::builtinRegistry(); }
};

void TestQuantizers::init()
{
    at::manual_seed(1234);
}

void TestQuantizers::forwardEqualsFakeQuant()
{
    QFETCH(int, index);
    const auto& c = caseList()[size_t(index)];
    const QuantizerKey key(c.target, c.method, c.training);
    const auto data = makeData(c.data, shapeFor(c.target));
    auto q = calibrated(registry(), key, configFor(c), data);
    const auto x = (makeData(c.data, shapeFor(c.target)) * 1.3).requires_grad_();
    const auto out = q->forward(x);
    const auto spec = q->convertToInferable()->fakeQuant();
    const auto kernel = spec.perChannel
                            ? at::fake_quantize_per_channel_affine(
                                  x.detach(), at::tensor(at::ArrayRef<float>(spec.scale)),
                                  at::tensor(at::ArrayRef<int32_t>(spec.zeroPoint)), spec.axis, spec.qmin, spec.qmax)
                            : at::fake_quantize_per_tensor_affine(x.detach(), spec.scale[0], spec.zeroPoint[0],
                                                                  spec.qmin, spec.qmax);
    QVERIFY2(at::equal(out.detach(), kernel), qPrintable(describe(out, kernel)));
    const auto manual = manualFakeQuant(x.detach(), spec);
    QVERIFY2(at::equal(manual, kernel), qPrintable(describe(manual, kernel)));
    // Something was actually quantized: fewer distinct values than inputs.
    QVERIFY(std::get<0>(at::_unique(out.detach())).numel() <= (int64_t(1) << c.bits) * (c.perChannel ? 8 : 1));
}

void TestQuantizers::inferableReproducesTrainable()
{
    QFETCH(int, index);
    const auto& c = caseList()[size_t(index)];
    const QuantizerKey key(c.target, c.method, c.training);
    auto q = calibrated(registry(), key, configFor(c), makeData(c.data, shapeFor(c.target)));
    const auto x = makeData(c.data, shapeFor(c.target));
    const auto trained = q->forward(x).detach();
    const auto inferable = q->convertToInferable();
    QVERIFY(at::equal(inferable->forward(x), trained));
    // The spec's vocabulary rebuilds the same quantizer.
    const auto rebuilt = makeInferableQuantizer(inferable->className(), inferable->arguments());
    QCOMPARE(rebuilt->className(), inferable->className());
    QVERIFY(at::equal(rebuilt->forward(x), trained));
    const auto args = inferable->arguments();
    QCOMPARE(args["num_bits"].get<int>(), c.bits);
    if (c.method == Method::PowerOfTwo) {
        QVERIFY(inferable->className().find("POT") != std::string::npos);
        for (float t : args["threshold"].get<std::vector<float>>()) {
            QCOMPARE(std::exp2(std::round(std::log2(t))), double(t));
        }
    }
    if (c.method == Method::Uniform) {
        const auto spec = inferable->fakeQuant();
        for (size_t i = 0; i < spec.scale.size(); ++i) {
            // Zero is on the grid: an integer zero point inside the code range.
            QVERIFY(spec.zeroPoint[i] >= spec.qmin && spec.zeroPoint[i] <= spec.qmax);
        }
        QVERIFY(at::equal(inferable->forward(at::zeros_like(x)), at::zeros_like(x)));
    }
}

void TestQuantizers::potKeptDuringTrainingMakesExportExact()
{
    auto q = calibrated(registry(), {Target::Activations, Method::PowerOfTwo, "LSQ"}, QuantizerConfig{},
                        at::randn({100}));
    {
        at::NoGradGuard noGrad;
        q->parameters()[0].tensor.fill_(0.7f); // what training could make of it
    }
    const auto x = at::randn({100});
    QCOMPARE(q->snapshot().values["threshold"][0], 1.0f);
    QVERIFY(at::equal(q->convertToInferable()->forward(x), q->forward(x).detach()));
}

void TestQuantizers::potRoundedUpAtConversionInMctMode()
{
    QuantizerConfig mct;
    mct.potDuringTraining = false;
    auto q = calibrated(registry(), {Target::Activations, Method::PowerOfTwo, "LSQ"}, mct, at::randn({100}));
    {
        at::NoGradGuard noGrad;
        q->parameters()[0].tensor.fill_(0.7f);
    }
    const auto x = at::randn({100});
    const auto inferable = q->convertToInferable();
    QCOMPARE(inferable->arguments()["threshold"][0].get<float>(), 1.0f);
    QVERIFY(!at::equal(inferable->forward(x), q->forward(x).detach())); // MCT's export gap
}

void TestQuantizers::thresholdKeptPositive()
{
    auto q = calibrated(registry(), {Target::Activations, Method::Symmetric, "LSQ"}, QuantizerConfig{}, at::randn({30}));
    {
        at::NoGradGuard noGrad;
        q->parameters()[0].tensor.fill_(-0.5f);
    }
    const auto x = at::randn({30}).requires_grad_();
    const auto out = q->forward(x);
    out.sum().backward();
    QVERIFY(at::isfinite(out).all().item<bool>());
    QCOMPARE(q->snapshot().values["threshold"][0], float(math::kMinThreshold));
    QVERIFY(at::isfinite(q->parameters()[0].tensor.grad()).all().item<bool>());
}

void TestQuantizers::twoBitWeightsHaveFourValuesPerChannel()
{
    QuantizerConfig config;
    config.bits = 2;
    config.perChannel = true;
    for (const char* training : {"STE", "LSQ"}) {
        for (auto method : {Method::Symmetric, Method::PowerOfTwo, Method::Uniform}) {
            const auto w = at::randn({6, 5, 3});
            auto q = calibrated(registry(), {Target::Weights, method, training}, config, w);
            const auto out = q->convertToInferable()->forward(w);
            for (int64_t c = 0; c < 6; ++c) {
                QVERIFY2(std::get<0>(at::_unique(out[c])).numel() <= 4, training);
            }
        }
    }
}

void TestQuantizers::maxInitIsMaxAbsPerChannel()
{
    QuantizerConfig config;
    config.perChannel = true;
    config.init = InitMethod::MaxAbs;
    const auto w = at::randn({7, 3, 2, 2});
    auto q = calibrated(registry(), {Target::Weights, Method::Symmetric, "STE"}, config, w);
    const auto expected = w.abs().amax({1, 2, 3}, true);
    QVERIFY(at::equal(q->parameters()[0].tensor, expected));
}

void TestQuantizers::mseInitBeatsMaxOnHeavyTails()
{
    auto w = at::randn({1, 4000});
    w.index_put_({0, at::arange(0, 4000, 400)}, 25.0);
    auto error = [&](InitMethod init) {
        QuantizerConfig config;
        config.bits = 4;
        config.init = init;
        auto q = calibrated(registry(), {Target::Weights, Method::Symmetric, "STE"}, config, w);
        return std::make_pair((q->forward(w) - w).pow(2).mean().item<double>(),
                              q->parameters()[0].tensor.item<double>());
    };
    const auto [maxError, maxThreshold] = error(InitMethod::MaxAbs);
    const auto [mseError, mseThreshold] = error(InitMethod::Mse);
    QVERIFY2(mseError < maxError, qPrintable(QStringLiteral("%1 vs %2").arg(mseError).arg(maxError)));
    QVERIFY(mseThreshold < maxThreshold);
}

void TestQuantizers::percentileInit()
{
    QuantizerConfig config;
    config.init = InitMethod::Percentile;
    config.percentile = 99.0;
    const auto x = at::randn({20000}).relu();
    auto q = calibrated(registry(), {Target::Activations, Method::Symmetric, "STE"}, config, x);
    const double expected = at::quantile(x, 0.99).item<double>();
    QVERIFY(std::abs(q->parameters()[0].tensor.item<double>() - expected) < 1e-4);
}

void TestQuantizers::signednessFromData()
{
    const QuantizerKey key(Target::Activations, Method::Symmetric, "STE");
    auto relu = calibrated(registry(), key, QuantizerConfig{}, at::randn({100}).relu());
    auto both = calibrated(registry(), key, QuantizerConfig{}, at::randn({100}));
    QuantizerConfig forced;
    forced.isSigned = true;
    auto forcedSigned = calibrated(registry(), key, forced, at::randn({100}).relu());
    QCOMPARE(relu->convertToInferable()->arguments()["signed"].get<bool>(), false);
    QCOMPARE(both->convertToInferable()->arguments()["signed"].get<bool>(), true);
    QCOMPARE(forcedSigned->convertToInferable()->arguments()["signed"].get<bool>(), true);
    QCOMPARE(relu->convertToInferable()->fakeQuant().qmin, 0);
}

// MSE initialisation of an activation that went negative also tries an unsigned grid (the
// negatives clipped to 0) and keeps the sign with the smaller error: hardswish's small
// negative tail is clipped at 3 bits, where a signed grid would spend half its 8 levels on
// it, and kept at 8 bits; max initialisation keeps every value, so stays signed.
void TestQuantizers::searchChoosesSignByError()
{
    at::manual_seed(7);
    const auto x = at::hardswish(at::randn({20000}) * 3);
    QVERIFY(x.min().item<double>() < -0.3);
    const QuantizerKey key(Target::Activations, Method::PowerOfTwo, "STE");
    const auto isSigned = [](TrainableQuantizer& q) { return q.convertToInferable()->arguments()["signed"].get<bool>(); };
    const auto error = [&](TrainableQuantizer& q) { return (q.forward(x).detach() - x).pow(2).mean().item<double>(); };
    for (int bits : {3, 8}) {
        QuantizerConfig config;
        config.bits = bits;
        auto chosen = calibrated(registry(), key, config, x);
        QuantizerConfig other = config;
        other.isSigned = !isSigned(*chosen);
        auto alternative = calibrated(registry(), key, other, x);
        QCOMPARE(isSigned(*alternative), !isSigned(*chosen));
        QVERIFY2(error(*chosen) < error(*alternative),
                 qPrintable(QStringLiteral("%1 bits: chosen %2, other %3").arg(bits).arg(error(*chosen)).arg(error(*alternative))));
        QCOMPARE(isSigned(*chosen), bits == 8);
    }
    QuantizerConfig max;
    max.bits = 3;
    max.init = InitMethod::MaxAbs;
    QVERIFY(isSigned(*calibrated(registry(), key, max, x)));
    // Symmetric data stays signed at 3 bits: clipping half of it costs more than the levels.
    QuantizerConfig low;
    low.bits = 3;
    QVERIFY(isSigned(*calibrated(registry(), key, low, at::randn({20000}))));
}

void TestQuantizers::calibrationSpansBatches()
{
    QuantizerConfig config;
    config.init = InitMethod::MaxAbs;
    auto q = registry().create({Target::Activations, Method::Uniform, "STE"}, config);
    q->initialize({"act", "relu", {4, 10}});
    q->observe(at::full({4, 10}, 1.0));
    q->observe(at::full({4, 10}, 5.0));
    q->observe(at::full({4, 10}, -2.0));
    q->finishCalibration();
    QCOMPARE(q->snapshot().values["min"][0], -2.0f);
    QCOMPARE(q->snapshot().values["max"][0], 5.0f);
}

void TestQuantizers::illegalBits_data()
{
    QTest::addColumn<int>("bits");
    for (int bits : {0, 1, 17, 33}) {
        QTest::newRow(qPrintable(QString::number(bits))) << bits;
    }
}

void TestQuantizers::illegalBits()
{
    QFETCH(int, bits);
    QuantizerConfig config;
    config.bits = bits;
    for (auto target : {Target::Weights, Target::Activations}) {
        try {
            registry().create({target, Method::Symmetric, "LSQ"}, config);
            QFAIL("illegal bits accepted");
        } catch (const QuantizerError& e) {
            QVERIFY2(QString::fromLatin1(e.what()).contains(QStringLiteral("%1 bits is not supported").arg(bits)), e.what());
        }
    }
}

void TestQuantizers::illegalConfigs()
{
    auto message = [&](const std::function<void()>& call) -> QString {
        try {
            call();
        } catch (const QuantizerError& e) {
            return QString::fromLatin1(e.what());
        }
        return {};
    };
    QuantizerConfig perChannel;
    perChannel.perChannel = true;
    QVERIFY(message([&] { registry().create({Target::Activations, Method::Symmetric, "STE"}, perChannel); })
                .contains(QStringLiteral("per tensor")));
    QVERIFY(message([] { parseMethod("lut"); }).contains(QStringLiteral("power-of-two")));
    QVERIFY(message([] { parseTarget("bias"); }).contains(QStringLiteral("weights")));
    QVERIFY(message([] { SymmetricQuantizer({Target::Weights, Method::Uniform, "X"}, QuantizerConfig{}, TrainingStyle{}); })
                .contains(QStringLiteral("method mismatch")));
    QuantizerConfig unsignedWeights;
    unsignedWeights.isSigned = false;
    QVERIFY(message([&] { registry().create({Target::Weights, Method::Symmetric, "STE"}, unsignedWeights); })
                .contains(QStringLiteral("always signed")));
    QuantizerConfig badPercentile;
    badPercentile.init = InitMethod::Percentile;
    badPercentile.percentile = 40;
    QVERIFY(message([&] { registry().create({Target::Weights, Method::Symmetric, "STE"}, badPercentile); })
                .contains(QStringLiteral("percentile")));
    QuantizerConfig axis3;
    axis3.perChannel = true;
    axis3.channelAxis = 3;
    auto q = registry().create({Target::Weights, Method::Symmetric, "LSQ"}, axis3);
    QVERIFY(message([&] { q->initialize({"fc.weight", "linear", {10, 4}}); }).contains(QStringLiteral("channel axis 3")));
    auto uncalibrated = registry().create({Target::Weights, Method::Symmetric, "LSQ"}, QuantizerConfig{});
    uncalibrated->initialize({"fc.weight", "linear", {10, 4}});
    QVERIFY(message([&] { uncalibrated->forward(at::randn({10, 4})); }).contains(QStringLiteral("before calibration")));
    QVERIFY(message([] { makeInferableQuantizer("WeightsLUTPOTInferableQuantizer", {}); }).contains(QStringLiteral("unknown")));
    QVERIFY(message([] { SymmetricInferableQuantizer(Target::Weights, true, 8, {0.3f}, false, 0, true); })
                .contains(QStringLiteral("not a power of two")));
    QVERIFY(message([] { UniformInferableQuantizer(Target::Weights, 8, {1.0f}, {0.5f}, false, 0); })
                .contains(QStringLiteral("not below")));
}

void TestQuantizers::registryErrors()
{
    QuantizerRegistry local;
    registerBuiltinQuantizers(local);
    auto message = [&](const std::function<void()>& call) -> QString {
        try {
            call();
        } catch (const QuantizerError& e) {
            return QString::fromLatin1(e.what());
        }
        return {};
    };
    const auto missing = message([&] { local.find({Target::Weights, Method::Uniform, "DQA"}); });
    QVERIFY2(missing.contains(QStringLiteral("no quantizer is registered for weights/uniform/DQA")), qPrintable(missing));
    QVERIFY2(missing.contains(QStringLiteral("LSQ (symmetric, power-of-two)")), qPrintable(missing));
    auto factory = [](const QuantizerKey& key, const QuantizerConfig& config) {
        return std::make_unique<SymmetricQuantizer>(key, config, TrainingStyle{});
    };
    const auto duplicate = message([&] {
        local.add({"LSQWeightQATQuantizer", Target::Weights, {Method::Symmetric}, "Other", ""}, factory);
    });
    QVERIFY2(duplicate.contains(QStringLiteral("already registered (by builtin)")), qPrintable(duplicate));
    local.setSource("second.so");
    local.add({"AnotherSte", Target::Weights, {Method::Symmetric}, "ste", "same key as STE"}, factory);
    const auto ambiguous = message([&] { local.find({Target::Weights, Method::Symmetric, "STE"}); });
    QVERIFY2(ambiguous.contains(QStringLiteral("2 quantizers are registered for weights/symmetric/STE")), qPrintable(ambiguous));
    QVERIFY(ambiguous.contains(QStringLiteral("AnotherSte (from second.so)")));
    // The other method of the class is still unambiguous.
    QCOMPARE(local.find({Target::Weights, Method::PowerOfTwo, "STE"}).name, std::string("STEWeightQATQuantizer"));
    local.removeSource("second.so");
    QCOMPARE(local.entries().size(), size_t(10));
    QVERIFY(message([&] { local.add({"", Target::Weights, {}, "", ""}, factory); }).contains(QStringLiteral("needs a name")));
}

void TestQuantizers::trainingIdIsCaseInsensitive()
{
    QCOMPARE(registry().find({Target::Activations, Method::Uniform, "lsq+"}).name,
             std::string("LSQPlusActivationQuantizer"));
    QCOMPARE(registry().available(Target::Weights).size(), size_t(4));
    QCOMPARE(registry().available(Target::Activations).size(), size_t(6));
}

QTEST_GUILESS_MAIN(TestQuantizers)
#include "tst_quantizers.moc"
