// SPDX-License-Identifier: MIT
#pragma once
// The deployment targets known to the application, by name.

#include "targets/deployment_target.h"

#include <string>
#include <vector>

namespace qat::target {

/// Targets by name, in the order added. Filled once, read-only afterwards; any thread.
class TargetRegistry {
public:
    /// Throws qat::Error when the name is taken.
    void add(DeploymentTarget target);
    /// Throws qat::Error naming the known targets when there is none of that name.
    const DeploymentTarget& find(const std::string& name) const;
    bool contains(const std::string& name) const;
    const std::vector<DeploymentTarget>& all() const { return m_targets; }

private:
    std::vector<DeploymentTarget> m_targets;
};

/// The one list of built-in targets: imx500, tflite-int8, qnnpack, lowbit, generic.
void registerBuiltinTargets(TargetRegistry& registry);

/// The built-in targets (made on first use).
const TargetRegistry& builtinTargets();

/// The target a plan uses when it names none (format version 2 and later).
constexpr const char* kDefaultTarget = "imx500";
/// The target of plans written before targets existed (format version 1): today's behaviour.
constexpr const char* kLegacyTarget = "generic";

} // namespace qat::target
