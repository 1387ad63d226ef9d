// SPDX-License-Identifier: MIT
#include "bench_models.h"

#include "common/error.h"
#include "model/loaded_model.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace qat::cli::bench {

namespace {

namespace fs = std::filesystem;

// The model's input, found by dry forwards on zeros: Fashion-MNIST's shape first, then the
// usual RGB and grey sizes. Throws qat::Error naming the model when none fits.
BenchModel probe(const std::string& path, std::vector<std::vector<int64_t>> shapes)
{
    auto module = model::loadModel(path).module;
    module.eval();
    for (const auto& s : shapes) {
        try {
            at::NoGradGuard noGrad;
            const auto out = module.forward({at::zeros({2, s[0], s[1], s[2]})}).toTensor();
            if (out.dim() == 2) {
                return {path, fs::path(path).filename().string(), s, out.size(1), s == std::vector<int64_t>{1, 28, 28}};
            }
        } catch (const std::exception&) {
            // the next shape
        }
    }
    throw Error("qatwb bench: " + path + " takes none of the input shapes tried ([N, 1, 28, 28], RGB and grey at 32 to "
                "224 pixels) or does not return [batch, classes]");
}

std::vector<std::vector<int64_t>> usualShapes()
{
    std::vector<std::vector<int64_t>> shapes{{1, 28, 28}};
    for (int64_t size : {32, 64, 96, 128, 224}) {
        shapes.push_back({3, size, size});
        shapes.push_back({1, size, size});
    }
    return shapes;
}

std::string cacheDir()
{
    if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) return std::string(xdg) + "/qat-workbench/bench-models-64";
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "/tmp") + "/.cache/qat-workbench/bench-models-64";
}

} // namespace

BenchModel benchModel(const std::string& path)
{
    return probe(path, usualShapes());
}

// Written once into the cache by the fixture script (it keeps files newer than itself).
std::vector<BenchModel> benchArchitectures(std::string* note)
{
    const auto dir = cacheDir();
    const std::string script = QATWB_SOURCE_DIR "/tests/fixtures/make_torchvision_fixtures.py";
    const auto command = "/usr/bin/python3 " + script + " " + dir
                         + " --size 64 --models mobilenet_v2,resnet18 --formats scripted >/dev/null 2>&1";
    if (!fs::exists(script) || std::system(command.c_str()) != 0) {
        *note = "MobileNet v2 and ResNet-18 were not timed: writing them needs /usr/bin/python3 with python3-torch and "
                "python3-torchvision (" + script + ")";
        return {};
    }
    std::vector<BenchModel> models;
    for (const auto& name : {"mobilenet_v2_scripted.pt", "resnet18_scripted.pt"}) {
        models.push_back(probe(dir + "/" + name, {{3, 64, 64}}));
    }
    return models;
}

train::TensorDataset benchData(const BenchModel& model, int64_t n)
{
    if (model.fashionMnist) return train::loadIdxDataset("fashion-mnist", "train", n);
    const auto generator = at::detail::createCPUGenerator(0);
    train::TensorDataset data;
    data.images = at::rand({n, model.input[0], model.input[1], model.input[2]}, generator);
    data.labels = at::randint(model.classes, {n}, generator, at::TensorOptions().dtype(at::kLong));
    data.classCount = model.classes;
    return data;
}

} // namespace qat::cli::bench
