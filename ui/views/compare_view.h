// SPDX-License-Identifier: MIT
#pragma once

#include "storage/run_store.h"

#include <QWidget>

#include <vector>

class QComboBox;
class QCustomPlot;
class QLabel;
class QStandardItemModel;
class QTableView;

namespace qat::ui {

/// Two or more runs side by side: loss and accuracy vs step overlaid (one colour per run,
/// the legend names them), the chosen quantizer's parameter trace overlaid (mean over
/// channels), a table of what each plan costs and reached (weights memory, activation memory,
/// BOPs, top-1; smallest weights first, so a fitted plan sits beside the uniform plans of its
/// size), and a table of the quantizers whose plan differs between the runs. Reads
/// through the history's RunStore connection. UI thread only.
class CompareView : public QWidget {
    Q_OBJECT
public:
    explicit CompareView(QWidget* parent = nullptr);

    /// Shows runs ids read from store (which must outlive this view's use of it); fewer
    /// than two: a hint instead.
    void showRuns(store::RunStore* store, const std::vector<qint64>& ids);
    /// A quantizer site such as "features.0.weight" (one of quantizers()).
    void selectQuantizer(const QString& quantizer);

    std::vector<qint64> runIds() const;
    QStringList quantizers() const;
    QCustomPlot* lossPlot() const { return m_loss; }
    QCustomPlot* accuracyPlot() const { return m_accuracy; }
    QCustomPlot* tracePlot() const { return m_trace; }
    QStandardItemModel* diffModel() const { return m_diff; }
    /// One row per run: Run, Weight bits, Weights, Activations (max), BOPs, Float top-1, QAT top-1.
    QStandardItemModel* resourcesModel() const { return m_resources; }

private:
    struct RunSeries {
        store::RunRecord run;
        std::vector<store::QuantizerRow> quantizers;
        QString label;
    };
    void plotMetrics();
    void plotTrace();
    void fillDiff();
    void fillResources();

    store::RunStore* m_store = nullptr;
    std::vector<RunSeries> m_runs;
    QCustomPlot* m_loss = nullptr;
    QCustomPlot* m_accuracy = nullptr;
    QCustomPlot* m_trace = nullptr;
    QComboBox* m_quantizer = nullptr;
    QLabel* m_hint = nullptr;
    QLabel* m_diffLabel = nullptr;
    QStandardItemModel* m_diff = nullptr;
    QTableView* m_diffView = nullptr;
    QStandardItemModel* m_resources = nullptr;
    QTableView* m_resourcesView = nullptr;
    QWidget* m_content = nullptr;
};

/// "LSQ symmetric 4-bit per-channel" for a stored quantizer.
QString describeQuantizer(const store::QuantizerRow& q);

} // namespace qat::ui
