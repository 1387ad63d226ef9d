// SPDX-License-Identifier: MIT
// qatwb: the headless QAT Workbench. Every error ends as one line on stderr and exit != 0.
#include "arguments.h"
#include "bench_command.h"
#include "data_command.h"
#include "export_command.h"
#include "inspect_command.h"
#include "plan_command.h"
#include "quantizers_command.h"
#include "runs_command.h"
#include "train_command.h"

#include "../openmp_start.h"

#include "common/error.h"
#include "common/allocator.h"
#include "common/version.h"

#include <cstring>
#include <functional>
#include <iostream>
#include <map>

namespace {

// Before any library starts: the commands that train run with OpenMP's spinning bounded
// (openmp_start.h); the others are not worth the relaunch's ~0.35 s.
void boundOpenMpSpinning(int argc, char** argv, char** envp)
{
    if (argc > 1 && (std::strcmp(argv[1], "train") == 0 || std::strcmp(argv[1], "bench") == 0)) {
        qat::app::relaunchWithOpenMpSpinBound(argv, envp);
    }
}
__attribute__((section(".preinit_array"), used)) void (*const kBoundOpenMpSpinning)(int, char**, char**) = boundOpenMpSpinning;

const char* const kUsage =
    "usage: qatwb [--version] [--help] COMMAND [ARGS]\n"
    "\n"
    "Quantization-aware training workbench, headless.\n"
    "\n"
    "commands:\n"
    "  inspect MODEL [--json]   list a model's quantizable layers (.pt or .onnx)\n"
    "  plan --model MODEL ...   what a plan costs (memory, BOPs); --fit bits to a budget\n"
    "  quantizers [--json]      list the registered trainable quantizers (plugins included)\n"
    "  train --model MODEL ...  quantization-aware training, recorded in the run history\n"
    "  data inspect PATH        what a data set holds and how it will be fed to a model\n"
    "  runs list|show|delete|rerun|sensitivity   the run history\n"
    "  export RUN_ID --out DIR  write a run's quantizers: spec JSON, TorchScript, ONNX QDQ\n"
    "  bench [--quick] [--json] measure QAT vs float, vs Python, quantizer kernels, GUI, storage\n"
    "  help [COMMAND]           show help for a command\n"
    "\n"
    "Run `qatwb COMMAND --help` for a command's options.\n";

struct Command {
    const char* help;
    std::function<int(const std::vector<std::string>&)> run;
};

const std::map<std::string, Command>& commands()
{
    static const std::map<std::string, Command> kCommands = {
        {"inspect", {qat::cli::kInspectHelp, qat::cli::runInspect}},
        {"plan", {qat::cli::kPlanHelp, qat::cli::runPlan}},
        {"quantizers", {qat::cli::kQuantizersHelp, qat::cli::runQuantizers}},
        {"train", {qat::cli::kTrainHelp, qat::cli::runTrain}},
        {"data", {qat::cli::kDataHelp, qat::cli::runData}},
        {"runs", {qat::cli::kRunsHelp, qat::cli::runRuns}},
        {"export", {qat::cli::kExportHelp, qat::cli::runExport}},
        {"bench", {qat::cli::kBenchHelp, qat::cli::runBench}},
    };
    return kCommands;
}

int showHelp(const std::vector<std::string>& args)
{
    if (args.empty()) {
        std::cout << kUsage;
        return 0;
    }
    auto found = commands().find(args.front());
    if (found == commands().end()) {
        std::cerr << "qatwb: no command '" << args.front() << "'; see `qatwb --help`\n";
        return 2;
    }
    std::cout << found->second.help;
    return 0;
}

} // namespace

int main(int argc, char** argv)
{
    qat::keepFreedMemoryForReuse();
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty()) {
        std::cerr << kUsage;
        return 2;
    }
    const auto first = args.front();
    if (first == "--version" || first == "-V") {
        std::cout << "qatwb " << qat::appVersion() << " (LibTorch " << qat::torchVersion() << ")\n";
        return 0;
    }
    if (first == "--help" || first == "-h") {
        return showHelp({});
    }
    args.erase(args.begin());
    if (first == "help") {
        return showHelp(args);
    }
    auto found = commands().find(first);
    if (found == commands().end()) {
        std::cerr << "qatwb: unknown command '" << first << "'; see `qatwb --help`\n";
        return 2;
    }
    for (const auto& arg : args) {
        if (arg == "--help" || arg == "-h") {
            std::cout << found->second.help;
            return 0;
        }
    }
    qat::setComputeThreads(0);
    try {
        return found->second.run(args);
    } catch (const qat::cli::UsageError& e) {
        std::cerr << "qatwb: " << e.what() << "; see `qatwb " << first << " --help`\n";
        return 2;
    } catch (const qat::Error& e) {
        std::cerr << "qatwb: " << e.what() << "\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "qatwb: unexpected error: " << e.what() << "\n";
        return 1;
    }
}
