// SPDX-License-Identifier: MIT
// Run store speed: metric and trace inserts during a run, and listing 1,000 runs.
// Prints numbers (median of 5); asserts nothing. Usage: bench_run_store [DIR]
#include "storage/run_store.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <vector>

using namespace qat::store;
using Clock = std::chrono::steady_clock;

namespace {

double seconds(Clock::time_point start)
{
    return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv)
{
    const auto dir = std::filesystem::path(argc > 1 ? argv[1] : std::filesystem::temp_directory_path().string())
                     / "qatwb-bench-runs";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    RunStore runs((dir / "runs.sqlite").string());
    RunRecord record;
    record.name = "bench";
    record.modelPath = "/models/bench.pt";
    record.plan = R"({"preset":"w4a8-lsq"})";
    const auto id = runs.createRun(record);

    std::vector<double> metricRates;
    std::vector<double> traceRates;
    for (int repeat = 0; repeat < 5; ++repeat) {
        std::vector<MetricPoint> metrics;
        std::vector<TracePoint> traces;
        for (int i = 0; i < 512; ++i) {
            metrics.push_back({repeat * 512 + i, "loss", 0.5});
            traces.push_back({repeat * 512 + i, "features.0.weight", "threshold", i % 64, 0.25});
        }
        auto start = Clock::now();
        runs.appendMetrics(id, metrics);
        metricRates.push_back(512 / seconds(start));
        start = Clock::now();
        runs.appendTraces(id, traces);
        traceRates.push_back(512 / seconds(start));
    }
    for (int i = 0; i < 999; ++i) {
        record.name = "bench " + std::to_string(i);
        runs.createRun(record);
    }
    std::vector<double> listTimes;
    size_t listed = 0;
    for (int repeat = 0; repeat < 5; ++repeat) {
        RunStore reader((dir / "runs.sqlite").string(), RunStore::Access::ReadOnly);
        const auto start = Clock::now();
        listed = reader.listRuns().size();
        listTimes.push_back(seconds(start));
    }
    std::printf("metric inserts (batches of 512): %.0f points/s\n", median(metricRates));
    std::printf("trace inserts (batches of 512):  %.0f points/s\n", median(traceRates));
    std::printf("list %zu runs:                  %.2f ms\n", listed, median(listTimes) * 1000);
    std::filesystem::remove_all(dir);
    return 0;
}
