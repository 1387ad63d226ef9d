// SPDX-License-Identifier: MIT
// Bring your own data: every format tests/fixtures/make_data_fixtures.py writes loads to
// what the script wrote, the preprocessing matches the script's torch reference, a short
// QAT run works from each format, and each mistake is refused before training with its message.
#include "test_paths.h"
#include "common/error.h"
#include "data/batch_loader.h"
#include "data/data_plan.h"
#include "data/data_report.h"
#include "data/raw_array.h"
#include "data/sample_cache.h"
#include "quantizers/quantizer_registry.h"
#include "training/trainer.h"

#include <nlohmann/json.hpp>

#include <QtTest>

#include <filesystem>
#include <fstream>
#include <numeric>
#include <thread>

using namespace qat;
using nlohmann::json;

namespace {

const QString kData = qat::test::path(QATWB_SOURCE_DIR, "/tests/fixtures/data/");

std::string dataPath(const std::string& name)
{
    return (kData + QString::fromStdString(name)).toStdString();
}

const json& expected()
{
    static const json j = [] {
        std::ifstream in(dataPath("expected.json"));
        return json::parse(in);
    }();
    return j;
}

data::DataOptions optionsFor(const json& dataset)
{
    data::DataOptions o;
    if (dataset.contains("options")) {
        o.valSplit = dataset["options"].value("val_split", o.valSplit);
    }
    return o;
}

// The sample of split whose name ends in file; -1 when absent.
int64_t findSample(const data::Split& split, const std::string& file)
{
    for (auto i : split.indices) {
        const auto name = split.source->name(i);
        if (name.size() >= file.size() && name.compare(name.size() - file.size(), file.size(), file) == 0) {
            return i;
        }
    }
    return -1;
}

double maxDiff(const std::vector<float>& a, const json& b)
{
    double m = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        m = std::max(m, std::abs(double(a[i]) - b[i].get<double>()));
    }
    return m;
}

std::string errorOf(const std::function<void()>& f)
{
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

std::string modelFor(const std::string& dataset)
{
    const bool grey = dataset.find("gray") != std::string::npos || dataset.find("npy") != std::string::npos
                      || dataset.find("npz") != std::string::npos || dataset.find("tensors") != std::string::npos;
    return grey ? qat::test::path(QATWB_FIXTURES_DIR, "/mlp_traced.pt").toStdString() : dataPath("rgb_cnn.pt");
}

} // namespace

class TestData : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void formatsAreFound_data();
    void formatsAreFound();
    void samplesMatchTheFixtureScript();
    void arrayFormatsAgree();
    void preprocessingMatchesTorch_data();
    void preprocessingMatchesTorch();
    void automaticChoicesForTheModel();
    void optionsRoundTrip();
    void loaderKeepsOrderAcrossWorkers();
    void cacheServesLaterEpochsWithoutDecoding();
    void unreadableImagesSkipped();
    void mistakesRefusedBeforeTraining_data();
    void mistakesRefusedBeforeTraining();
    void damagedArraysRefused_data();
    void damagedArraysRefused();
    void qatRunFromEachFormat_data();
    void qatRunFromEachFormat();
};

void TestData::formatsAreFound_data()
{
    QTest::addColumn<QString>("name");
    for (const auto& [name, d] : expected()["datasets"].items()) {
        QTest::newRow(name.c_str()) << QString::fromStdString(name);
    }
}

void TestData::formatsAreFound()
{
    QFETCH(QString, name);
    const auto& d = expected()["datasets"][name.toStdString()];
    const auto opened = data::openData(dataPath(name.toStdString()), optionsFor(d));
    QCOMPARE(data::toString(opened.format), d["format"].get<std::string>());
    QCOMPARE(opened.train.size(), d["train"].get<int64_t>());
    QCOMPARE(opened.test.size(), d["test"].get<int64_t>());
    QCOMPARE(opened.labelled, d["labelled"].get<bool>());
    QCOMPARE(opened.classNames, d["classes"].get<std::vector<std::string>>());
    for (const auto* split : {&opened.train, &opened.test}) {
        for (auto l : split->labels) {
            QVERIFY(opened.labelled ? (l >= 0 && l < int64_t(opened.classNames.size())) : l == -1);
        }
    }
}

void TestData::samplesMatchTheFixtureScript()
{
    for (const auto& s : expected()["samples"]) {
        const auto name = s["dataset"].get<std::string>();
        const auto opened = data::openData(dataPath(name), optionsFor(expected()["datasets"][name]));
        data::Sample sample;
        if (s.contains("file")) {
            const auto file = s["file"].get<std::string>();
            auto index = findSample(opened.train, file);
            const auto& split = index >= 0 ? opened.train : opened.test;
            if (index < 0) index = findSample(opened.test, file);
            QVERIFY2(index >= 0, file.c_str());
            sample = split.source->sample(index);
        } else {
            sample = opened.train.source->sample(s["array_index"].get<int64_t>());
        }
        const auto shape = s["shape"].get<std::vector<int64_t>>();
        QCOMPARE(sample.channels, shape[0]);
        QCOMPARE(sample.height, shape[1]);
        QCOMPARE(sample.width, shape[2]);
        // JPEG: PIL decodes with the same libjpeg-turbo; the tolerance allows one level anyway
        QVERIFY2(maxDiff(sample.values, s["values"]) <= s["tolerance"].get<double>(), name.c_str());
    }
}

void TestData::arrayFormatsAgree()
{
    // The same 28x28 images as uint8 .npy, float .npz (channels last), uint8 and float torch.save.
    const auto reference = data::openData(dataPath("npy_pair"), {});
    const auto want = reference.train.source->sample(5);
    for (const char* name : {"npy_pair", "arrays.npz", "tensors_dict.pt", "tensors_tuple.pt"}) {
        const auto opened = data::openData(dataPath(name), {});
        const auto resolved = data::resolveOptions({}, opened, nullptr);
        const auto got = opened.train.source->sample(5);
        QCOMPARE(got.values.size(), want.values.size());
        double m = 0;
        for (size_t i = 0; i < got.values.size(); ++i) {
            m = std::max(m, std::abs(double(got.values[i]) / resolved.divisor - double(want.values[i]) / 255.0));
        }
        QVERIFY2(m < 1e-6, name);
    }
}

void TestData::preprocessingMatchesTorch_data()
{
    QTest::addColumn<int>("index");
    int i = 0;
    for (const auto& p : expected()["pipelines"]) {
        QTest::newRow(p["name"].get<std::string>().c_str()) << i++;
    }
}

void TestData::preprocessingMatchesTorch()
{
    QFETCH(int, index);
    const auto& p = expected()["pipelines"][size_t(index)];
    const auto file = dataPath(p["file"].get<std::string>());
    data::ImageFileSource source({file}, {data::readImageHeader(file)});
    const auto sample = source.sample(0);
    data::DataOptions o;
    o.resize = data::parseResize(p["resize"].get<std::string>());
    o.normalize = data::parseNormalize(p["normalize"].get<std::string>());
    o.channels = p["channels"].get<int64_t>();
    o.divisor = 255;
    const auto pipeline = data::makePipeline(o, sample.height, sample.width);
    const auto shape = p["shape"].get<std::vector<int64_t>>();
    QCOMPARE(pipeline.channels, shape[0]);
    QCOMPARE(pipeline.height, shape[1]);
    QCOMPARE(pipeline.width, shape[2]);
    std::vector<float> out(size_t(pipeline.outputSize()));
    data::preprocess(sample, pipeline, out.data(), file);
    const double diff = maxDiff(out, p["values"]);
    QVERIFY2(diff < 1e-4, qPrintable(QStringLiteral("max |diff| %1").arg(diff)));
}

void TestData::automaticChoicesForTheModel()
{
    // JPEGs of mixed sizes and an RGB model with a fixed 32x32 input: crop to 32x32, 3 channels, / 255.
    const auto report = data::inspectData(dataPath("rgb_jpeg_split"), {}, dataPath("rgb_cnn.pt"), 6);
    QCOMPARE(report.modelInput, (std::vector<int64_t>{3, 32, 32}));
    QCOMPARE(report.modelClasses, int64_t(10));
    QCOMPARE(data::toString(report.resolved.resize), std::string("crop:32x32"));
    QCOMPARE(report.resolved.channels, int64_t(3));
    QCOMPARE(report.resolved.divisor, 255.0);
    QCOMPARE(report.shapes.size(), size_t(3));
    QCOMPARE(report.classes.size(), size_t(2));
    QCOMPARE(report.classes[1].name, std::string("bee"));
    QCOMPARE(report.classes[1].train, int64_t(6));
    QCOMPARE(report.classes[1].test, int64_t(2));
    QCOMPARE(report.thumbnails.size(), size_t(6));
    QCOMPARE(report.thumbnails[0].className, std::string("ant")); // round-robin over the classes
    QCOMPARE(report.thumbnails[1].className, std::string("bee"));
    QCOMPARE(report.thumbnails[0].width, int64_t(32));
    // Fashion-MNIST-sized grey PNGs and a model for them: nothing to resize.
    const auto grey = data::inspectData(dataPath("gray_png_split"), {}, modelFor("gray"), 0);
    QCOMPARE(data::toString(grey.resolved.resize), std::string("none"));
    QCOMPARE(grey.resolved.channels, int64_t(1));
    // mean/std measured on the data, stored as numbers
    data::DataOptions measured;
    measured.normalize = data::parseNormalize("data");
    const auto m = data::inspectData(dataPath("gray_png_split"), measured, modelFor("gray"), 0);
    QCOMPARE(m.resolved.normalize.mean.size(), size_t(1));
    QVERIFY(m.resolved.normalize.mean[0] > 0.2 && m.resolved.normalize.mean[0] < 0.8);
    QVERIFY(m.resolved.normalize.std[0] > 0.05);
}

void TestData::optionsRoundTrip()
{
    data::DataOptions o;
    o.format = data::DataFormat::ImageFolder;
    o.resize = data::parseResize("crop:224x200");
    o.normalize = data::parseNormalize("0.5,0.4,0.3/0.2,0.25,0.3");
    o.valSplit = 0.2;
    o.splitSeed = 7;
    o.badImages = data::BadImages::Skip;
    o.channels = 3;
    o.divisor = 255;
    const auto back = data::dataOptionsFromJson(data::toJson(o));
    QCOMPARE(data::toJson(back), data::toJson(o));
    QCOMPARE(data::toString(back.resize), std::string("crop:224x200"));
    QCOMPARE(back.normalize.std, (std::vector<double>{0.2, 0.25, 0.3}));
    QCOMPARE(data::dataOptionsFromJson("{}").valSplit, 0.1); // old runs: defaults
    QVERIFY(errorOf([] { data::parseResize("big"); }).find("crop:HxW") != std::string::npos);
    QVERIFY(errorOf([] { data::parseNormalize("0.5,0.5/0.2"); }).find("2 means but 1") != std::string::npos);
}

void TestData::loaderKeepsOrderAcrossWorkers()
{
    const auto opened = data::openData(dataPath("rgb_jpeg_split"), {});
    data::DataOptions o;
    o.resize = data::parseResize("crop:16x16");
    o.channels = 3;
    o.divisor = 255;
    const auto pipeline = data::pipelineFor(o, opened);
    std::vector<int64_t> order{5, 3, 11, 0, 1, 7, 2, 9, 4};
    data::BatchLoader loader(opened.train, pipeline, order, 2, data::BadImages::Refuse, 3, 2);
    QCOMPARE(loader.batches(), int64_t(5));
    std::vector<float> one(size_t(pipeline.outputSize()));
    size_t k = 0;
    data::Batch batch;
    while (loader.next(batch)) {
        for (int64_t b = 0; b < batch.images.size(0); ++b, ++k) {
            const auto index = opened.train.indices[size_t(order[k])];
            data::preprocess(opened.train.source->sample(index), pipeline, one.data(), "");
            const auto got = batch.images[b].contiguous();
            QVERIFY(std::equal(one.begin(), one.end(), got.data_ptr<float>()));
            QCOMPARE(batch.labels[b].item<int64_t>(), opened.train.labels[size_t(order[k])]);
        }
    }
    QCOMPARE(k, order.size());
}

// Decoded images kept in memory: a second pass over the split reads them from the cache, so
// it succeeds, bit for bit the same, after the files are gone; a budget for part of the split
// caches that part only; arrays (already in memory) get no cache. The loader starts a worker
// per core while it decodes image files, one per two cores once the cache serves every
// sample, and for arrays.
void TestData::cacheServesLaterEpochsWithoutDecoding()
{
    QTemporaryDir dir;
    const auto folder = std::filesystem::path(dir.path().toStdString()) / "images";
    std::filesystem::copy(dataPath("rgb_jpeg_split"), folder, std::filesystem::copy_options::recursive);
    auto opened = data::openData(folder.string(), {});
    data::DataOptions o;
    o.resize = data::parseResize("crop:16x16");
    o.channels = 3;
    o.divisor = 255;
    const auto pipeline = data::pipelineFor(o, opened);
    const int64_t sampleBytes = pipeline.outputSize() * int64_t(sizeof(float));
    QCOMPARE(data::attachCaches(opened, pipeline, (opened.train.size() + opened.test.size()) * sampleBytes),
             (opened.train.size() + opened.test.size()) * sampleBytes);
    std::vector<int64_t> order(size_t(opened.train.size()));
    std::iota(order.rbegin(), order.rend(), 0);
    auto pass = [&](const data::Pipeline& p) {
        std::vector<at::Tensor> images;
        data::BatchLoader loader(opened.train, p, order, 3, data::BadImages::Refuse, 2, 2);
        for (data::Batch b; loader.next(b);) images.push_back(b.images);
        return at::cat(images);
    };
    const auto first = pass(pipeline);
    QCOMPARE(opened.train.cache->cached(), opened.train.size());
    // Loader threads: from a full cache (copies only), one per two cores.
    const int cores = std::max(1, int(std::thread::hardware_concurrency()));
    QVERIFY(opened.train.size() >= cores);
    QCOMPARE(data::BatchLoader(opened.train, pipeline, order, 1).threads(), std::max(1, cores / 2));
    std::filesystem::remove_all(folder);
    QVERIFY(at::equal(pass(pipeline), first));
    // Another pipeline is not served from this cache: it decodes, and the files are gone.
    auto other = pipeline;
    other.divisor = 1;
    QVERIFY(errorOf([&] { pass(other); }).find("images") != std::string::npos);

    // A budget for 3 images: 3 cached, the rest decoded every time.
    std::filesystem::copy(dataPath("rgb_jpeg_split"), folder, std::filesystem::copy_options::recursive);
    auto part = data::openData(folder.string(), {});
    part.test = {};
    QCOMPARE(data::attachCaches(part, pipeline, 3 * sampleBytes + 1), 3 * sampleBytes);
    QCOMPARE(part.train.cache->slots(), int64_t(3));
    {
        data::BatchLoader loader(part.train, pipeline, order, 4);
        for (data::Batch b; loader.next(b);) {
        }
    }
    QCOMPARE(part.train.cache->cached(), int64_t(3));
    // Samples still decoded every pass: every core gets a worker (the extra ones at idle priority).
    QCOMPARE(data::BatchLoader(part.train, pipeline, order, 1).threads(), cores);
    QCOMPARE(data::attachCaches(part, pipeline, 0), int64_t(0));
    QVERIFY(!part.train.cache);

    auto arrays = data::openData(dataPath("arrays.npz"), {});
    QCOMPARE(data::attachCaches(arrays, data::pipelineFor(data::DataOptions{}, arrays), int64_t(1) << 30), int64_t(0));
    QVERIFY(!arrays.train.cache);
    // Arrays are copied, not decoded: one worker per two cores, no idle-priority one.
    std::vector<int64_t> all(size_t(arrays.train.size()));
    std::iota(all.begin(), all.end(), 0);
    QVERIFY(arrays.train.size() >= cores);
    QCOMPARE(data::BatchLoader(arrays.train, data::pipelineFor(data::DataOptions{}, arrays), all, 1).threads(),
             std::max(1, cores / 2));
}

void TestData::unreadableImagesSkipped()
{
    data::DataOptions o;
    o.badImages = data::BadImages::Skip;
    const auto opened = data::openData(dataPath("bad/unreadable"), o);
    QCOMPARE(opened.skipped.size(), size_t(2));
    QCOMPARE(opened.train.size() + opened.test.size(), int64_t(6));
    QVERIFY(QString::fromStdString(opened.skipped[0]).contains(QStringLiteral("truncated.jpg")));
    QVERIFY(QString::fromStdString(opened.skipped[1]).contains(QStringLiteral("broken.png")));
}

void TestData::mistakesRefusedBeforeTraining_data()
{
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("options"); // resize|normalize|bad-images
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("mustSay");
    const auto rgb = QString::fromStdString(dataPath("rgb_cnn.pt"));
    const auto grey = QString::fromStdString(modelFor("gray"));
    auto path = [](const char* p) { return QString::fromStdString(dataPath(p)); };
    QTest::newRow("empty folder") << QStringLiteral("EMPTY") << "" << rgb << "the folder is empty";
    QTest::newRow("no images") << QStringLiteral("TEXT") << "" << rgb << "no images found";
    QTest::newRow("mixed sizes, no resize") << path("rgb_jpeg_split") << "none||" << rgb << "mixed image sizes";
    QTest::newRow("unreadable image") << path("bad/unreadable") << "" << rgb << "truncated.jpg: unreadable image";
    QTest::newRow("label outside the model") << path("bad/label_too_big") << "" << grey
                                             << "label 12 (class '12', e.g.";
    QTest::newRow("arrays disagree") << path("bad/shapes_disagree") << "" << grey
                                     << "labels.npy has 10 labels but";
    QTest::newRow("imagenet on grey") << path("gray_png_split") << "|imagenet|" << grey << "needs 3 channels";
    QTest::newRow("no such path") << QStringLiteral("/no/such/data") << "" << grey << "no such data folder";
    QTest::newRow("wrong size, no resize") << path("unlabeled") << "none||" << QString::fromStdString(modelFor("gray"))
                                           << "the model takes 28x28";
}

void TestData::mistakesRefusedBeforeTraining()
{
    QFETCH(QString, path);
    QFETCH(QString, options);
    QFETCH(QString, model);
    QFETCH(QString, mustSay);
    QTemporaryDir dir;
    if (path == QStringLiteral("EMPTY")) {
        path = dir.path();
    } else if (path == QStringLiteral("TEXT")) {
        QFile f(dir.filePath(QStringLiteral("notes.txt")));
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("not an image");
        f.close();
        path = dir.path();
    }
    data::DataOptions o;
    const auto parts = options.split(QLatin1Char('|'));
    if (parts.size() > 0 && !parts[0].isEmpty()) o.resize = data::parseResize(parts[0].toStdString());
    if (parts.size() > 1 && !parts[1].isEmpty()) o.normalize = data::parseNormalize(parts[1].toStdString());
    const auto message = errorOf([&] { data::inspectData(path.toStdString(), o, model.toStdString(), 0); });
    QVERIFY2(QString::fromStdString(message).contains(mustSay), message.c_str());
    // the trainer refuses the same, as a failed run with the same message, before any step
    quant::QuantizerRegistry registry;
    quant::registerBuiltinQuantizers(registry);
    train::TrainConfig c;
    c.modelPath = model.toStdString();
    c.data = path.toStdString();
    c.dataOptions = o;
    c.maxSteps = 1;
    const auto result = train::runTraining(c, registry);
    QVERIFY(result.state == train::RunState::Failed);
    QVERIFY2(QString::fromStdString(result.message).contains(mustSay), result.message.c_str());
    QCOMPARE(result.steps, int64_t(0));
}

void TestData::qatRunFromEachFormat_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<bool>("distill");
    for (const auto& [name, d] : expected()["datasets"].items()) {
        QTest::newRow(name.c_str()) << QString::fromStdString(name) << true;
    }
    QTest::newRow("gray_png_split, labels") << QStringLiteral("gray_png_split") << false;
    QTest::newRow("fashion-mnist") << QStringLiteral("fashion-mnist") << true;
}

void TestData::qatRunFromEachFormat()
{
    QFETCH(QString, name);
    QFETCH(bool, distill);
    quant::QuantizerRegistry registry;
    quant::registerBuiltinQuantizers(registry);
    train::TrainConfig c;
    const auto key = name.toStdString();
    c.modelPath = key == "fashion-mnist" ? qat::test::path(QATWB_DEMO_MODEL).toStdString() : modelFor(key);
    c.data = key == "fashion-mnist" ? key : dataPath(key);
    if (expected()["datasets"].contains(key)) c.dataOptions = optionsFor(expected()["datasets"][key]);
    c.plan = engine::presetPlan("w4a8-lsq");
    c.maxSteps = 3;
    c.batch = 4;
    c.calibrationBatches = 1;
    c.limitTrain = 16;
    c.limitTest = 8;
    c.distill = distill;
    struct Log : train::TrainObserver {
        std::vector<std::string> lines;
        void onEvent(const train::TrainEvent& e) override
        {
            if (const auto* l = std::get_if<train::LogEvent>(&e)) lines.push_back(l->text);
        }
    } log;
    const auto result = train::runTraining(c, registry, &log);
    QVERIFY2(result.state == train::RunState::Finished, result.message.c_str());
    QCOMPARE(result.steps, int64_t(3));
    QVERIFY(result.qatTop1 >= 0 && result.qatTop1 <= 1);
    QVERIFY(!result.checkpoint.empty());
    bool described = false;
    for (const auto& l : log.lines) described = described || l.rfind("preprocessing resize:", 0) == 0;
    QVERIFY(described);
}

// Headers of damaged files promise shapes no memory holds, names past the end of the
// archive, or 4 GB from a few bytes: each is refused with a message, nothing is allocated for
// the promise, nothing is read out of bounds (the fuzzer's regression inputs, committed).
void TestData::damagedArraysRefused_data()
{
    QTest::addColumn<QString>("file");
    QTest::addColumn<QString>("mustSay");
    QTest::newRow("npy shape overflows") << "npy-shape-overflows-int64" << "is impossibly large; the file is damaged";
    QTest::newRow("npy bytes wrap around") << "npy-shape-wraps-size_t" << "is impossibly large; the file is damaged";
    QTest::newRow("npy dimension too long") << "npy-dimension-beyond-int64" << "damaged .npy header";
    QTest::newRow("idx dims overflow") << "idx-dims-overflow" << "is impossibly large; the file is damaged";
    QTest::newRow("npz name past the end") << "npz-name-past-end" << "damaged zip directory";
    QTest::newRow("npz claims 4 GB") << "npz-claims-4GB" << "impossible size";
}

void TestData::damagedArraysRefused()
{
    QFETCH(QString, file);
    QFETCH(QString, mustSay);
    const auto path = std::string(QATWB_SOURCE_DIR) + "/tests/fuzz/regressions/array_reader/" + file.toStdString();
    const auto message = errorOf([&] {
        if (file.startsWith(QStringLiteral("npy"))) {
            data::readNpy(path);
        } else if (file.startsWith(QStringLiteral("npz"))) {
            data::readNpz(path);
        } else {
            data::readIdxArray(path);
        }
    });
    QVERIFY2(QString::fromStdString(message).contains(mustSay), message.c_str());
    QVERIFY2(QString::fromStdString(message).contains(file), message.c_str()); // names the file
}

QTEST_GUILESS_MAIN(TestData)
#include "tst_data.moc"
