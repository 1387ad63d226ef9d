// SPDX-License-Identifier: MIT
#include "storage/run_state.h"

#include "storage/run_store.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <unistd.h>

namespace qat::store {

const char* const kInterruptedMessage = "the process recording this run ended without finishing it";

const std::vector<RunStateInfo>& runStates()
{
    static const std::vector<RunStateInfo> states = {
        {"created", StateKind::Training, "recorded; loading the data and the model"},
        {"calibrating", StateKind::Training, "initialising the quantizers from calibration batches"},
        {"running", StateKind::Training, "training"},
        {"paused", StateKind::Training, "training, paused by the user"},
        {"finished", StateKind::Finished, "trained every step it was asked to"},
        {"cancelled", StateKind::Stopped, "stopped by the user; what it trained is kept"},
        {"diverged", StateKind::Failed, "stopped because the loss or a quantizer stopped being a finite number; "
                                        "the last good step is kept"},
        {"failed", StateKind::Failed, "stopped by an error (the message says which)"},
        {"interrupted", StateKind::Stopped, "its process ended without finishing it (killed, or the machine went "
                                            "down); what it wrote is kept"},
    };
    return states;
}

namespace {

const RunStateInfo* findState(const std::string& state)
{
    const auto& states = runStates();
    const auto found = std::find_if(states.begin(), states.end(), [&](const auto& s) { return s.name == state; });
    return found == states.end() ? nullptr : &*found;
}

} // namespace

bool isKnownState(const std::string& state)
{
    return findState(state) != nullptr;
}

StateKind stateKind(const std::string& state)
{
    const auto* info = findState(state);
    return info ? info->kind : StateKind::Failed;
}

bool isTraining(const std::string& state)
{
    return stateKind(state) == StateKind::Training;
}

std::string thisHost()
{
    char name[256] = {0};
    gethostname(name, sizeof name - 1);
    return name;
}

bool processAlive(int64_t pid)
{
    return pid > 0 && (::kill(pid_t(pid), 0) == 0 || errno == EPERM);
}

std::string currentState(const std::string& state, const std::string& host, int64_t pid)
{
    if (isTraining(state) && host == thisHost() && !processAlive(pid)) {
        return "interrupted";
    }
    return state;
}

void settleState(RunRecord& run)
{
    auto now = currentState(run.state, run.host, run.pid);
    if (now != run.state) {
        run.state = std::move(now);
        run.message = kInterruptedMessage;
    }
}

std::string stateLine(const std::string& state, const std::string& message)
{
    return message.empty() ? state : state + ": " + message;
}

} // namespace qat::store
