// SPDX-License-Identifier: MIT
#include "targets/target_registry.h"

#include "common/error.h"

#include <algorithm>

namespace qat::target {

void TargetRegistry::add(DeploymentTarget target)
{
    if (contains(target.name)) {
        throw Error("deployment target '" + target.name + "' is registered twice");
    }
    m_targets.push_back(std::move(target));
}

bool TargetRegistry::contains(const std::string& name) const
{
    return std::any_of(m_targets.begin(), m_targets.end(), [&](const auto& t) { return t.name == name; });
}

const DeploymentTarget& TargetRegistry::find(const std::string& name) const
{
    for (const auto& t : m_targets) {
        if (t.name == name) {
            return t;
        }
    }
    std::string names;
    for (const auto& t : m_targets) {
        names += (names.empty() ? "" : ", ") + t.name;
    }
    throw Error("unknown deployment target '" + name + "' (targets: " + names + ")");
}

const TargetRegistry& builtinTargets()
{
    static const TargetRegistry registry = [] {
        TargetRegistry r;
        registerBuiltinTargets(r);
        return r;
    }();
    return registry;
}

} // namespace qat::target
