// SPDX-License-Identifier: MIT
#pragma once

#include <QIcon>
#include <QString>

namespace qat::ui {

/// The bundled demo model: $QATWB_DEMO_MODEL, else the installed copy relative to the
/// executable (<prefix>/bin/../share/qat-workbench/models, so an unpacked or relocated
/// install works too), else one in $XDG_DATA_DIRS (/usr/share, /usr/local/share), else,
/// only when running from the build tree, the source tree's. Empty when none exists.
QString demoModelPath();

/// The application icon (the SVG compiled into the binary; needs Qt's SVG plugins).
QIcon appIcon();

} // namespace qat::ui
