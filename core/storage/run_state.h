// SPDX-License-Identifier: MIT
#pragma once
// What a recorded run's state means, decided in one place: the run store, `qatwb runs`, the
// History page and the window's Log all read states and their words through this.

#include <cstdint>
#include <string>
#include <vector>

namespace qat::store {

struct RunRecord;

/// How far a run got: still training (as far as the record says), or how it ended.
enum class StateKind { Training = 1, Finished, Stopped, Failed };

struct RunStateInfo {
    std::string name;    ///< as stored and shown: "running", "interrupted", ...
    StateKind kind = StateKind::Training;
    std::string meaning; ///< one sentence for tooltips and help
};

/// Every state a run can be in, in the order a run goes through them.
const std::vector<RunStateInfo>& runStates();
bool isKnownState(const std::string& state);
/// The kind of a state; a name this version does not know (a newer one's) counts as Failed.
StateKind stateKind(const std::string& state);
/// created, calibrating, running or paused: the record says a process is still at it.
bool isTraining(const std::string& state);

/// The message of a run whose recording process ended without finishing it.
extern const char* const kInterruptedMessage;

/// This machine's host name, as runs record it.
std::string thisHost();
/// Whether a process with this id exists on this host.
bool processAlive(int64_t pid);

/// The state that is true now: a run recorded as training by a process on this host that
/// no longer exists is "interrupted"; any other state is as recorded. Runs recorded on
/// another host cannot be checked and stay as recorded.
std::string currentState(const std::string& state, const std::string& host, int64_t pid);
/// Sets run's state (and, when it changed, its message) to what is true now. Every reader
/// of the store gets its records through this, so a killed run reads "interrupted" even
/// from a read-only connection that cannot write it down.
void settleState(RunRecord& run);

/// How every reader words a state: "finished", "cancelled: stopped by the user after 12 steps".
std::string stateLine(const std::string& state, const std::string& message);

} // namespace qat::store
