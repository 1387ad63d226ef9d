// SPDX-License-Identifier: MIT
#include "bench_data.h"

#include "data/batch_loader.h"
#include "data/data_plan.h"
#include "data/image_codec.h"
#include "data/sample_cache.h"
#include "engine/qat_model.h"
#include "quantizers/quantizer_registry.h"
#include "training/optimizer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <unistd.h>

namespace qat::cli {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

} // namespace

void writeImageFolder(const std::filesystem::path& dir, int images, int size)
{
    for (int i = 0; i < images; ++i) {
        const int label = i % 4;
        const auto folder = dir / ("class" + std::to_string(label));
        std::filesystem::create_directories(folder);
        data::Image im{size, size, 3, std::vector<uint8_t>(size_t(size * size * 3))};
        for (int y = 0; y < size; ++y) {
            for (int x = 0; x < size; ++x) {
                for (int c = 0; c < 3; ++c) {
                    const double v = 127 + 100 * std::sin((x * (label + 1) + y * (c + 1) + i) * 0.05);
                    im.pixels[size_t((y * size + x) * 3 + c)] = uint8_t(v);
                }
            }
        }
        data::writeJpeg((folder / (std::to_string(i) + ".jpg")).string(), im, 90);
    }
}

nlohmann::json dataLoaderBench(const std::string& modelPath, const std::string& dataDir, int images, int size, int batch)
{
    auto dir = std::filesystem::path(dataDir);
    const bool made = dataDir.empty();
    if (made) {
        dir = std::filesystem::temp_directory_path() / ("qatwb-bench-data-" + std::to_string(getpid()));
        writeImageFolder(dir, images, size);
    }
    quant::QuantizerRegistry registry;
    quant::registerBuiltinQuantizers(registry);
    auto model = engine::QatModel::build(modelPath, engine::presetPlan("mct-default"), registry);
    model->train(false);
    data::DataOptions options;
    options.valSplit = 0;
    auto prepared =
        data::prepareData(dir.string(), options, [&](const at::Tensor& x) { return model->floatForward(x); }, 0, 0);
    const auto& train = prepared.data.train;
    std::vector<int64_t> order(static_cast<size_t>(train.size()));
    std::iota(order.begin(), order.end(), 0);

    // the loader alone
    auto start = Clock::now();
    int64_t loaded = 0;
    int loaderThreads = 0;
    {
        data::BatchLoader loader(train, prepared.pipeline, order, batch);
        loaderThreads = loader.threads();
        for (data::Batch b; loader.next(b);) loaded += b.images.size(0);
    }
    const double loaderPerS = double(loaded) / since(start);

    // the QAT step alone, on one preprocessed batch
    data::BatchLoader first(train, prepared.pipeline, {order.begin(), order.begin() + std::min<int64_t>(batch, train.size())}, batch);
    data::Batch b0;
    first.next(b0);
    model->calibrateWeights();
    model->beginActivationCalibration();
    model->observeBatch(b0.images);
    model->finishActivationCalibration();
    model->train(true);
    train::Optimizer opt(train::OptimizerKind::Adam, {{model->modelParameters(), 1e-4}, {model->quantizerParameters(), 1e-4}}, 0.9);
    auto step = [&](const data::Batch& b) {
        opt.zeroGrad();
        at::cross_entropy_loss(model->forward(b.images), b.labels).backward();
        opt.step();
    };
    step(b0);
    const int steps = 10;
    start = Clock::now();
    for (int i = 0; i < steps; ++i) step(b0);
    const double stepS = since(start) / steps;

    // training fed by the loader: how long did the steps wait for data? Without the cache
    // (every epoch decodes), then with it (as training runs: the first epoch decodes and
    // keeps the samples, the second reads them from memory).
    auto fedEpoch = [&](double* waitShare) {
        const auto epochStart = Clock::now();
        int64_t fed = 0;
        data::BatchLoader loader(train, prepared.pipeline, order, batch);
        for (data::Batch b; loader.next(b);) {
            step(b);
            fed += b.images.size(0);
        }
        const double seconds = since(epochStart);
        *waitShare = loader.waitSeconds() / seconds;
        return double(fed) / seconds;
    };
    double uncachedWait = 0, firstWait = 0, laterWait = 0;
    const double fedPerS = fedEpoch(&uncachedWait);
    data::attachCaches(prepared.data, prepared.pipeline, data::defaultCacheBytes());
    fedEpoch(&firstWait);
    fedEpoch(&laterWait);
    if (made) std::filesystem::remove_all(dir);
    const auto& p = prepared.pipeline;
    return {{"images", train.size()},
            {"image_size", made ? size : 0},
            {"batch", batch},
            {"fed_shape", {p.channels, p.height, p.width}},
            {"loader_threads", loaderThreads},
            {"loader_images_per_s", loaderPerS},
            {"step_ms", stepS * 1000},
            {"steps_per_s", 1.0 / stepS},
            {"training_images_per_s", double(batch) / stepS},
            {"loader_over_training", loaderPerS * stepS / double(batch)},
            {"fed_training_images_per_s", fedPerS},
            {"fed_wait_share", uncachedWait},
            {"wait_share_first_epoch", firstWait},
            {"wait_share_later_epochs", laterWait},
            {"cached_images", prepared.data.train.cache ? prepared.data.train.cache->cached() : 0}};
}

} // namespace qat::cli
