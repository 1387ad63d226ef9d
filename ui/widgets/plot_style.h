// SPDX-License-Identifier: MIT
#pragma once
// Looks shared by the workbench's plots. UI thread only.

#include <QColor>

class QCustomPlot;

namespace qat::ui {

/// Puts the legend in a row above the axis rect, so it never hides data.
void styleLegend(QCustomPlot* plot);
/// Shows or hides that legend. A hidden one leaves the layout: an empty legend would still
/// cap the width of its column, squeezing the axis rect to a sliver.
void showLegend(QCustomPlot* plot, bool on);
/// The i-th colour of a qualitative palette (tab10), for one series per run or channel.
QColor seriesColor(size_t i);

} // namespace qat::ui
