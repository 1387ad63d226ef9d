// SPDX-License-Identifier: MIT
#pragma once

#include "controllers/training_controller.h"

#include <QWidget>

#include <map>
#include <vector>

class QComboBox;
class QCPItemStraightLine;
class QCPItemText;
class QCustomPlot;
class QLabel;

namespace qat::ui {

class ReplotThrottle;
class WeightHistogram;

/// Live plots of a run: loss and accuracy vs step (with the float model's top-1 as a
/// baseline and each epoch's test top-1), and the selected quantizer's parameters vs step
/// (one line per channel, or a min / median / max band past 8 channels) beside its weights
/// histogram on the quantization grid (weight quantizers). The parameters plot opens on
/// the first quantizer that learns (unless one was asked for) and says of a frozen one
/// why its line is flat. Data is added per batch of
/// events; the plots redraw at most a few times a second (ReplotThrottle) so drawing does
/// not take the cores from training, and at once when the run's state changes. A plot
/// follows the newest data until the user zooms or pans it (right-click: follow again, save
/// as PNG or PDF).
/// UI thread only.
class LivePlots : public QWidget {
    Q_OBJECT
public:
    explicit LivePlots(QWidget* parent = nullptr);

    /// Clears everything for a new run.
    void reset();
    void append(const TrainEventBatch& events);
    /// Shows quantizer (a site name such as "features.0.weight") if it has data, or once it has.
    void selectQuantizer(const QString& quantizer);
    void setFloatTop1(double top1);

    QCustomPlot* metricsPlot() const { return m_metrics; }
    QCustomPlot* parametersPlot() const { return m_params; }
    WeightHistogram* weightHistogram() const { return m_histogram; }
    int stepCount() const;
    QString selectedQuantizer() const;
    /// Why the selected quantizer's parameters stay flat ("" when they learn or it is unknown).
    QString frozenNote() const;
    QStringList quantizers() const;
    double floatTop1() const { return m_floatTop1; }
    /// The text over the loss plot while it has no data ("" when hidden).
    QString metricsHint() const;
    bool isFollowing(const QCustomPlot* plot) const;
    /// Follow the newest data again (as the context menu's entry does), or stop following.
    void setFollowing(QCustomPlot* plot, bool on);
    /// Writes plot to path; .pdf gives a PDF, anything else a PNG.
    bool savePlot(QCustomPlot* plot, const QString& path);

private:
    using Trace = std::vector<std::pair<double, std::vector<float>>>; ///< (step, per-channel values)
    void setUpMetricsPlot();
    void setUpParametersPlot();
    void showContextMenu(QCustomPlot* plot, const QPoint& pos);
    void rebuildParameterGraphs();
    void refreshParameterNames();
    void follow(QCustomPlot* plot);
    void showEndWithoutSteps(const train::StateEvent& state);
    int firstLearningIndex() const;
    void refreshFrozenNote();

    QCustomPlot* m_metrics = nullptr;
    QCustomPlot* m_params = nullptr;
    WeightHistogram* m_histogram = nullptr;
    ReplotThrottle* m_throttle = nullptr;
    QComboBox* m_quantizer = nullptr;
    QComboBox* m_parameter = nullptr;
    QLabel* m_frozenNote = nullptr;
    QCPItemStraightLine* m_baseline = nullptr;
    QCPItemText* m_baselineLabel = nullptr;
    QCPItemText* m_metricsHint = nullptr;
    QCPItemText* m_paramsHint = nullptr;
    std::map<QString, std::map<QString, Trace>> m_traces; ///< quantizer -> parameter -> trace
    QStringList m_order; ///< quantizers in the order their first snapshot arrived
    std::map<QString, train::QuantizerLearning> m_learning; ///< quantizer -> whether it learns
    std::map<const QCustomPlot*, bool> m_follow;
    QString m_wantedQuantizer;
    double m_floatTop1 = -1;
    double m_lastStep = 0;
};

} // namespace qat::ui
