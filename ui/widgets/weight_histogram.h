// SPDX-License-Identifier: MIT
#pragma once

#include "training/train_types.h"

#include <QWidget>

#include <map>

class QCustomPlot;
class QCPBars;
class QCPItemText;

namespace qat::ui {

/// The selected weight quantizer's latent weights in grid units (w / step + zero point per
/// channel) as a histogram, with the quantization grid (integers qmin..qmax) and the clip
/// range (qmin - 0.5, qmax + 0.5) drawn over it: weights piling up at the clip lines are
/// saturating; a distribution much narrower than the grid wastes levels. UI thread only.
class WeightHistogram : public QWidget {
    Q_OBJECT
public:
    explicit WeightHistogram(QWidget* parent = nullptr);

    void reset();
    /// Keeps the newest histogram per quantizer; redraws when it is the shown one.
    void add(const train::WeightHistogramEvent& event);
    /// Shows quantizer's newest histogram (or a hint when it has none: activations).
    void show(const QString& quantizer);

    QCustomPlot* plot() const { return m_plot; }
    int64_t shownStep() const { return m_shownStep; }

private:
    void redraw();

    QCustomPlot* m_plot = nullptr;
    QCPBars* m_bars = nullptr;
    QCPItemText* m_hint = nullptr;
    std::map<QString, train::WeightHistogramEvent> m_latest;
    QString m_shown;
    int64_t m_shownStep = -1;
};

} // namespace qat::ui
