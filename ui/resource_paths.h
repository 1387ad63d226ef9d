// SPDX-License-Identifier: MIT
#pragma once

#include <QString>

namespace qat::ui {

/// The bundled demo model: $QATWB_DEMO_MODEL, else the installed copy next to the
/// executable (../share/qat-workbench/models), else the source tree's. Empty when none exists.
QString demoModelPath();

} // namespace qat::ui
