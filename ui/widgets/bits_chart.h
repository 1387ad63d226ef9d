// SPDX-License-Identifier: MIT
#pragma once
// Bits per layer with each layer's sensitivity: a bar per layer at its weight bits (left axis)
// and, on a log right axis, the predicted loss of that layer at each candidate bit width, the
// chosen one filled. Shown by Fit to Budget with its result. UI thread only.

#include "analysis/bit_fit.h"

#include <QWidget>

class QCustomPlot;

namespace qat::ui {

class BitsChart : public QWidget {
    Q_OBJECT
public:
    explicit BitsChart(QWidget* parent = nullptr);

    /// Draws fit's layers in fit.sensitivity order; an empty fit clears the chart.
    void showFit(const analysis::FitResult& fit);
    void clear();
    /// Bars drawn (one per fitted layer) and each bar's height, for tests.
    int bars() const { return int(m_bits.size()); }
    const std::vector<int>& bits() const { return m_bits; }

private:
    QCustomPlot* m_plot = nullptr;
    std::vector<int> m_bits;
};

} // namespace qat::ui
