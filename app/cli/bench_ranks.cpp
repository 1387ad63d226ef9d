// SPDX-License-Identifier: MIT
#include "bench_ranks.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

namespace qat::cli {

namespace {

// Runs command, returns its stdout parsed as JSON (null when it failed) and the seconds taken.
std::pair<nlohmann::json, double> runJson(const std::string& command)
{
    const auto start = std::chrono::steady_clock::now();
    std::string text;
    if (FILE* pipe = ::popen(command.c_str(), "r")) {
        char buffer[4096];
        size_t n = 0;
        while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
            text.append(buffer, n);
        }
        if (::pclose(pipe) != 0) {
            text.clear();
        }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return {nlohmann::json::parse(text, nullptr, false), seconds};
}

} // namespace

nlohmann::json localRanksThroughput(const std::string& qatwb, const std::string& model, bool quick)
{
    const auto dir = std::filesystem::temp_directory_path() / ("qatwb-bench-ranks-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir);
    const int globalBatch = 128;
    const std::string steps = quick ? "40" : "120";
    nlohmann::json rows = nlohmann::json::array();
    for (int ranks : {1, 2}) {
        const auto db = (dir / ("r" + std::to_string(ranks) + ".sqlite")).string();
        std::string command = qatwb + " train --model " + model + " --steps " + steps
                              + " --limit-train 8192 --limit-test 512 --snapshot-every 0 --json --db " + db
                              + " --batch " + std::to_string(globalBatch / ranks);
        if (ranks > 1) {
            command += " --local-ranks " + std::to_string(ranks);
        }
        const auto [result, seconds] = runJson(command + " 2>/dev/null");
        nlohmann::json row{{"ranks", ranks}, {"global_batch", globalBatch}, {"wall_seconds", seconds}};
        if (result.is_object() && result.contains("samples_per_second")) {
            double total = 0;
            for (const auto& rate : result["samples_per_second"]) {
                total += rate.get<double>();
            }
            row["images_per_second"] = total;
            row["per_rank"] = result["samples_per_second"];
        } else {
            row["images_per_second"] = nullptr;
            row["note"] = "the run failed";
        }
        rows.push_back(row);
    }
    std::filesystem::remove_all(dir);
    return rows;
}

} // namespace qat::cli
