// SPDX-License-Identifier: MIT
#pragma once

#include "storage/run_store.h"

#include <QWidget>

#include <vector>

class QCustomPlot;
class QLabel;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace qat::ui {

/// A run's per-layer sensitivity as a bar chart: the top-1 lost when only that layer is
/// quantized (the rest float), with the float and fully quantized top-1 for scale; and
/// the button that measures it (the history controller does the work off the UI thread).
/// UI thread only.
class SensitivityView : public QWidget {
    Q_OBJECT
public:
    explicit SensitivityView(QWidget* parent = nullptr);

    /// Shows the stored rows of run (empty: "not measured yet"); canMeasure: the run has a
    /// trained state.
    void showRun(qint64 runId, const std::vector<store::SensitivityRow>& rows, bool canMeasure);
    void setBusy(bool busy, const QString& text = {});
    void setProgress(int done, int total);
    int images() const;

    QCustomPlot* plot() const { return m_plot; }
    QPushButton* measureButton() const { return m_measure; }
    int barCount() const { return m_bars; }

Q_SIGNALS:
    void measureRequested(qint64 runId, int images);

private:
    QCustomPlot* m_plot = nullptr;
    QLabel* m_summary = nullptr;
    QSpinBox* m_images = nullptr;
    QPushButton* m_measure = nullptr;
    QProgressBar* m_progress = nullptr;
    qint64 m_runId = 0;
    bool m_canMeasure = false;
    int m_bars = 0;
};

} // namespace qat::ui
