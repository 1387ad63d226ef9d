// SPDX-License-Identifier: MIT
#include "bench_profile.h"

#include "bench_measures.h"

#include <torch/csrc/autograd/profiler_legacy.h>

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <iostream>
#include <map>

namespace qat::cli::bench {

using nlohmann::json;
namespace profiler = torch::autograd::profiler;

namespace {

struct OpTime {
    double selfUs = 0;
    int64_t calls = 0;
};

// Pairs each thread's push/pop events into ranges and charges every range its own time
// minus the time of the ranges nested in it.
std::map<std::string, OpTime> selfTimes(const profiler::thread_event_lists& lists)
{
    std::map<std::string, OpTime> ops;
    for (const auto& events : lists) {
        struct Open {
            const profiler::LegacyEvent* push;
            double childUs;
        };
        std::vector<Open> stack;
        for (const auto& e : events) {
            if (e.kind() == profiler::EventKind::PushRange) {
                stack.push_back({&e, 0.0});
            } else if (e.kind() == profiler::EventKind::PopRange && !stack.empty()) {
                const auto open = stack.back();
                stack.pop_back();
                const double total = open.push->cpuElapsedUs(e);
                auto& op = ops[open.push->name()];
                op.selfUs += total - open.childUs;
                op.calls += 1;
                if (!stack.empty()) stack.back().childUs += total;
            }
        }
    }
    return ops;
}

json profileOf(const std::function<void(int64_t)>& step, int steps, int top)
{
    for (int i = 0; i < 2; ++i) step(i); // warm-up outside the profile
    profiler::enableProfilerLegacy(torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU));
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < steps; ++i) step(i);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const auto ops = selfTimes(profiler::disableProfilerLegacy());
    std::vector<std::pair<std::string, OpTime>> sorted(ops.begin(), ops.end());
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second.selfUs > b.second.selfUs; });
    double total = 0;
    for (const auto& [name, op] : sorted) total += op.selfUs;
    json rows = json::array();
    for (size_t i = 0; i < sorted.size() && int(i) < top; ++i) {
        rows.push_back({{"op", sorted[i].first},
                        {"self_ms", sorted[i].second.selfUs / 1000.0 / steps},
                        {"calls", double(sorted[i].second.calls) / steps}});
    }
    return {{"ops", rows}, {"total_self_ms", total / 1000.0 / steps}, {"wall_ms", wall * 1000.0 / steps}};
}

} // namespace

json stepProfile(const std::string& modelPath, const std::string& preset, int batch, int steps,
                 const train::TensorDataset& data, const quant::QuantizerRegistry& registry)
{
    StepRig rig(modelPath, preset, batch, data, registry);
    json out{{"preset", preset}, {"batch", batch}, {"steps", steps}};
    out["float"] = profileOf([&](int64_t i) { rig.floatStep(i); }, steps, 20);
    out["qat"] = profileOf([&](int64_t i) { rig.qatStep(i); }, steps, 20);
    return out;
}

void printStepProfile(const json& profile)
{
    std::cout << std::fixed << std::setprecision(2) << "\nprofile of one step (LibTorch profiler, self time per op, "
              << profile["preset"].get<std::string>() << ", batch " << profile["batch"] << ", mean of "
              << profile["steps"] << " steps; the profiler itself adds time)\n";
    for (const char* side : {"float", "qat"}) {
        const auto& p = profile[side];
        std::cout << "\n" << side << " step: " << p["wall_ms"].get<double>() << " ms, of which "
                  << p["total_self_ms"].get<double>() << " ms in ops\n";
        for (const auto& row : p["ops"]) {
            std::cout << "  " << std::setw(9) << row["self_ms"].get<double>() << " ms  " << std::setw(6)
                      << row["calls"].get<double>() << "x  " << row["op"].get<std::string>() << "\n";
        }
    }
}

} // namespace qat::cli::bench
