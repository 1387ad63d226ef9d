// SPDX-License-Identifier: MIT
#pragma once

#include "training/train_types.h"

#include <chrono>
#include <ostream>

namespace qat::cli {

/// Shows training progress on a stream (stderr): one self-overwriting line on a terminal,
/// a line per 10 % otherwise. Called on the training thread (the CLI's main thread).
class ProgressPrinter : public train::TrainObserver {
public:
    explicit ProgressPrinter(std::ostream& out);
    void onEvent(const train::TrainEvent& event) override;
    /// Prints the outcome line.
    void finish(const train::TrainResult& result);

private:
    std::ostream& m_out;
    bool m_terminal;
    bool m_lineOpen = false;
    int m_lastDecile = -1;
    std::chrono::steady_clock::time_point m_lastPrint;
};

} // namespace qat::cli
