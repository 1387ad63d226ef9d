// SPDX-License-Identifier: MIT
#include "data_command.h"

#include "common/error.h"
#include "data/data_report.h"

#include <iostream>

namespace qat::cli {

const std::vector<std::string> kDataOptions = {"--data-format", "--resize", "--normalize", "--val-split", "--split-seed",
                                               "--bad-images"};

const char* const kDataHelp =
    "usage: qatwb data inspect PATH [--model MODEL] [--json] [data options]\n"
    "\n"
    "Shows what a data set holds and what will be fed to the model: format, samples per split,\n"
    "classes and their counts, sample shapes, value range, and the preprocessing (with --model,\n"
    "the automatic choices are made for that model's input, as `qatwb train` makes them).\n"
    "\n"
    "  --model FILE            check against this model (.pt or .onnx) (input size, class count)\n"
    "  --json                  one JSON object: path, format, labelled, train_samples,\n"
    "                          test_samples, test_source, classes [{name, train, test}], shapes,\n"
    "                          value_type, value_range, skipped, preprocessing, pipeline, model\n"
    "data options (as for `qatwb train`):\n" QATWB_DATA_OPTIONS_HELP;

data::DataOptions dataOptions(const Arguments& a)
{
    data::DataOptions o;
    try {
        if (!a.value("--data-format").empty()) o.format = data::parseDataFormat(a.value("--data-format"));
        if (!a.value("--resize").empty()) o.resize = data::parseResize(a.value("--resize"));
        if (!a.value("--normalize").empty()) o.normalize = data::parseNormalize(a.value("--normalize"));
        if (!a.value("--bad-images").empty()) o.badImages = data::parseBadImages(a.value("--bad-images"));
    } catch (const Error& e) {
        throw UsageError(e.what());
    }
    o.valSplit = a.number("--val-split", o.valSplit);
    if (o.valSplit < 0 || o.valSplit >= 1) {
        throw UsageError("--val-split must be at least 0 and below 1 (e.g. 0.1)");
    }
    o.splitSeed = uint64_t(a.integer("--split-seed", 0));
    return o;
}

int runData(const std::vector<std::string>& args)
{
    std::vector<std::string> values{"--model"};
    values.insert(values.end(), kDataOptions.begin(), kDataOptions.end());
    CommandSpec spec{"data", {values.begin(), values.end()}, {"--json"}, 2, 2};
    const auto a = parseArguments(spec, args);
    if (a.positional[0] != "inspect") {
        throw UsageError("data: unknown subcommand '" + a.positional[0] + "' (use inspect)");
    }
    const auto report = data::inspectData(a.positional[1], dataOptions(a), a.value("--model"), 0);
    if (a.has("--json")) {
        std::cout << data::reportToJson(report) << "\n";
    } else {
        std::cout << data::reportToText(report);
    }
    return 0;
}

} // namespace qat::cli
