// SPDX-License-Identifier: MIT
#pragma once

#include "model/model_info.h"

#include <QWidget>

class QCustomPlot;
class QCPBars;
class QLabel;
class QTabWidget;
class QTableView;

namespace qat::ui {

class GraphView;
class LayerTableModel;

/// Shows one imported model: a summary line, then as tabs its graph with the quantizers on
/// it (GraphView), and the layer table with a bar chart of parameters per layer that stays
/// readable at any layer count (names under the bars when they fit, else the table's row
/// numbers thinned to what fits; the full name on hover). Clicking a bar selects its table
/// row; the selected row's bar is highlighted. UI thread only.
class ModelView : public QWidget {
    Q_OBJECT
public:
    explicit ModelView(QWidget* parent = nullptr);

    void showModel(const model::ModelInfo& info);

    LayerTableModel* layerModel() const { return m_model; }
    QTableView* table() const { return m_table; }
    GraphView* graphView() const { return m_graph; }
    QString summary() const;
    /// Shows the graph tab (true) or the layer table (false).
    void showGraph(bool graph = true);
    /// The row whose bar is drawn highlighted (the table's current row), -1 for none.
    int highlightedLayer() const { return m_highlighted; }

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void plotParameters(const model::ModelInfo& info);
    /// Tick labels for the current width and zoom: names if all fit, else row numbers.
    void updateTickLabels();
    /// The layer (row) under a point of the plot, -1 when none.
    int layerAt(const QPoint& pos) const;
    void showBarToolTip(const QPoint& pos);
    void highlight(int row);

    QLabel* m_summary = nullptr;
    QTableView* m_table = nullptr;
    LayerTableModel* m_model = nullptr;
    QCustomPlot* m_plot = nullptr;
    QCPBars* m_bars = nullptr;
    QCPBars* m_selectedBar = nullptr;
    QPoint m_pressedAt;
    int m_highlighted = -1;
    GraphView* m_graph = nullptr;
    QTabWidget* m_tabs = nullptr;
};

} // namespace qat::ui
