// SPDX-License-Identifier: MIT
#include "export/onnx_runtime_check.h"

#include "common/error.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace qat::exporter {

namespace {

namespace fs = std::filesystem;

std::string env(const char* name)
{
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
}

std::string findOnPath(const std::vector<std::string>& names)
{
    std::stringstream path(env("PATH"));
    for (std::string dir; std::getline(path, dir, ':');) {
        for (const auto& name : names) {
            const auto candidate = fs::path(dir.empty() ? "." : dir) / name;
            if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
        }
    }
    return {};
}

std::string programDir()
{
    std::error_code ec;
    const auto exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? std::string() : exe.parent_path().string();
}

std::string defaultModulesParent()
{
    const auto cache = env("XDG_CACHE_HOME").empty() ? env("HOME") + "/.cache" : env("XDG_CACHE_HOME");
    return cache + "/qat-workbench/onnxruntime";
}

std::string readFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs argv with extra environment entries, stdout and stderr to files; returns the exit code.
int runProcess(const std::vector<std::string>& argv, const std::vector<std::string>& extraEnv,
               const std::string& outPath, const std::string& errPath)
{
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    std::vector<std::string> envStrings(extraEnv);
    for (char** e = environ; e && *e; ++e) envStrings.emplace_back(*e);
    std::vector<char*> envp;
    for (auto& e : envStrings) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, errPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid = 0;
    const int spawned = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) {
        return -1;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace

std::optional<OnnxRuntimeSetup> findOnnxRuntime(std::string* reason)
{
    const auto parent = env("QATWB_ONNXRUNTIME_DIR").empty() ? defaultModulesParent() : env("QATWB_ONNXRUNTIME_DIR");
    const auto enable = "; to enable it, install Node.js and run `npm install --prefix " + parent
                        + " --ignore-scripts onnxruntime-node@1.30.0` (packaging/install-deps.sh does this)";
    OnnxRuntimeSetup setup;
    setup.node = env("QATWB_NODE").empty() ? findOnPath({"node", "nodejs"}) : env("QATWB_NODE");
    if (setup.node.empty()) {
        if (reason) *reason = "Node.js (node) was not found on PATH" + enable;
        return std::nullopt;
    }
    setup.script = env("QATWB_ORT_SCRIPT");
    if (setup.script.empty()) {
        setup.script = programDir() + "/../share/qat-workbench/onnxruntime/run_onnx.js";
    }
    if (!fs::is_regular_file(setup.script)) {
        if (reason) *reason = "the runner script " + setup.script + " is missing (a broken installation?)";
        return std::nullopt;
    }
    setup.modulesDir = parent + "/node_modules";
    if (!fs::is_regular_file(setup.modulesDir + "/onnxruntime-node/package.json")) {
        if (reason) *reason = "onnxruntime-node was not found in " + parent + enable;
        return std::nullopt;
    }
    return setup;
}

OrtRun runOnnxRuntime(const OnnxRuntimeSetup& setup, const std::string& onnxPath, const at::Tensor& images,
                      OrtOptimization optimization)
{
    auto pattern = (fs::temp_directory_path() / "qatwb-ort-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) {
        throw Error("ONNX Runtime check: cannot make a temporary folder in " + fs::temp_directory_path().string());
    }
    const fs::path dir = pattern;
    struct Cleanup {
        fs::path dir;
        ~Cleanup()
        {
            std::error_code ec;
            fs::remove_all(dir, ec);
        }
    } cleanup{dir};
    const auto input = (dir / "input.f32").string();
    const auto output = (dir / "output.f32").string();
    const auto x = images.to(at::kFloat).contiguous();
    {
        std::ofstream out(input, std::ios::binary);
        out.write(static_cast<const char*>(x.data_ptr()), std::streamsize(x.nbytes()));
        if (!out) throw Error("ONNX Runtime check: cannot write a temporary file in " + dir.string());
    }
    std::string shape;
    for (auto s : x.sizes()) shape += (shape.empty() ? "" : ",") + std::to_string(s);
    const auto code = runProcess({setup.node, setup.script, "--model", onnxPath, "--input", input, "--shape", shape,
                                  "--output", output, "--optimization",
                                  optimization == OrtOptimization::Default ? "default" : "none"},
                                 {"NODE_PATH=" + setup.modulesDir}, (dir / "stdout").string(), (dir / "stderr").string());
    if (code != 0) {
        auto message = readFile((dir / "stderr").string());
        while (!message.empty() && (message.back() == '\n' || message.back() == '\r')) message.pop_back();
        throw Error("ONNX Runtime could not run " + onnxPath + ": "
                    + (message.empty() ? "exit code " + std::to_string(code) : message));
    }
    const auto report = nlohmann::json::parse(readFile((dir / "stdout").string()), nullptr, false);
    if (!report.is_object() || !report.contains("output_shape")) {
        throw Error("ONNX Runtime check: the runner printed no report");
    }
    const auto outShape = report["output_shape"].get<std::vector<int64_t>>();
    const auto bytes = readFile(output);
    auto outputs = at::empty(outShape, at::kFloat);
    if (size_t(outputs.nbytes()) != bytes.size()) {
        throw Error("ONNX Runtime check: the runner wrote " + std::to_string(bytes.size()) + " bytes for shape "
                    + report["output_shape"].dump());
    }
    std::memcpy(outputs.data_ptr(), bytes.data(), bytes.size());
    return {outputs, report.value("ort_version", std::string("?"))};
}

} // namespace qat::exporter
