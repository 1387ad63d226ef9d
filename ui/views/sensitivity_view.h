// SPDX-License-Identifier: MIT
#pragma once

#include "storage/run_store.h"

#include <QWidget>

#include <vector>

class QComboBox;
class QCustomPlot;
class QLabel;
class QProgressBar;
class QPushButton;
class QSpinBox;

namespace qat::ui {

/// A run's per-layer sensitivity as a bar chart, in the mode picked above it (each layer's
/// quantizers off in the trained run, or each layer alone quantized from the float model;
/// see analysis/sensitivity.h) with the text saying which is shown and against what
/// baseline; and the button that measures the picked mode (the history controller does the
/// work off the UI thread). UI thread only.
class SensitivityView : public QWidget {
    Q_OBJECT
public:
    explicit SensitivityView(QWidget* parent = nullptr);

    /// Shows the stored rows of run, every mode (empty: "not measured yet").
    /// hasTrainedState: mode "trained" can be measured; canMeasureFloat: mode "float" can.
    void showRun(qint64 runId, const std::vector<store::SensitivityRow>& rows, bool hasTrainedState, bool canMeasureFloat);
    void setBusy(bool busy, const QString& text = {});
    void setProgress(int done, int total);
    int images() const;
    /// The mode shown and measured: "trained", "float" (or "legacy" for an older measurement).
    QString mode() const;
    void setMode(const QString& mode);

    QCustomPlot* plot() const { return m_plot; }
    QPushButton* measureButton() const { return m_measure; }
    QLabel* summary() const { return m_summary; }
    int barCount() const { return m_bars; }

Q_SIGNALS:
    void measureRequested(qint64 runId, int images, const QString& mode);

private:
    void showMode();
    void updateMeasureButton();

    QComboBox* m_mode = nullptr;
    QCustomPlot* m_plot = nullptr;
    QLabel* m_summary = nullptr;
    QSpinBox* m_images = nullptr;
    QPushButton* m_measure = nullptr;
    QProgressBar* m_progress = nullptr;
    std::vector<store::SensitivityRow> m_rows;
    qint64 m_runId = 0;
    bool m_hasTrainedState = false;
    bool m_canMeasureFloat = false;
    bool m_busy = false;
    int m_bars = 0;
};

} // namespace qat::ui
