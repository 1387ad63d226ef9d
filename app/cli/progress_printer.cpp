// SPDX-License-Identifier: MIT
#include "progress_printer.h"

#include <unistd.h>

#include <cstdio>
#include <iomanip>
#include <sstream>

namespace qat::cli {

namespace {

std::string clock(double seconds)
{
    const auto s = static_cast<long>(seconds + 0.5);
    char text[32];
    std::snprintf(text, sizeof text, "%ld:%02ld", s / 60, s % 60);
    return text;
}

std::string percent(double fraction)
{
    std::ostringstream s;
    s << std::fixed << std::setprecision(2) << fraction * 100 << " %";
    return s.str();
}

} // namespace

ProgressPrinter::ProgressPrinter(std::ostream& out) : m_out(out), m_terminal(isatty(STDERR_FILENO) != 0) {}

void ProgressPrinter::onEvent(const train::TrainEvent& event)
{
    if (const auto* step = std::get_if<train::StepEvent>(&event)) {
        const auto now = std::chrono::steady_clock::now();
        const int decile = int(10 * step->step / std::max<int64_t>(step->totalSteps, 1));
        const bool due = m_terminal ? now - m_lastPrint > std::chrono::milliseconds(200) : decile != m_lastDecile;
        if (!due && step->step != step->totalSteps) {
            return;
        }
        m_lastPrint = now;
        m_lastDecile = decile;
        const double eta = step->seconds / double(step->step) * double(step->totalSteps - step->step);
        std::ostringstream line;
        line << "epoch " << step->epoch << "  step " << step->step << "/" << step->totalSteps << "  loss "
             << std::fixed << std::setprecision(4) << step->loss << "  acc " << std::setprecision(3) << step->accuracy
             << "  eta " << clock(eta);
        if (m_terminal) {
            m_out << "\r" << line.str() << "   " << std::flush;
            m_lineOpen = true;
        } else {
            m_out << line.str() << "\n";
        }
    } else if (const auto* epoch = std::get_if<train::EpochEvent>(&event)) {
        if (m_lineOpen) {
            m_out << "\n";
            m_lineOpen = false;
        }
        m_out << "epoch " << epoch->epoch << ": QAT test top-1 " << percent(epoch->top1) << "\n";
    } else if (const auto* state = std::get_if<train::StateEvent>(&event)) {
        if (state->state == train::RunState::Calibrating) {
            m_out << "calibrating quantizers ...\n";
        }
    } else if (const auto* log = std::get_if<train::LogEvent>(&event)) {
        if (m_lineOpen) {
            m_out << "\n";
            m_lineOpen = false;
        }
        m_out << log->text << "\n";
    }
}

void ProgressPrinter::finish(const train::TrainResult& result)
{
    if (m_lineOpen) {
        m_out << "\n";
        m_lineOpen = false;
    }
    m_out << train::toString(result.state);
    if (result.floatTop1 >= 0 && result.qatTop1 >= 0) {
        m_out << ": float top-1 " << percent(result.floatTop1) << ", QAT top-1 " << percent(result.qatTop1) << " after "
              << result.steps << " steps in " << clock(result.seconds);
    }
    if (!result.message.empty()) {
        m_out << (result.floatTop1 >= 0 && result.qatTop1 >= 0 ? "; " : ": ") << result.message;
    }
    m_out << "\n";
}

} // namespace qat::cli
