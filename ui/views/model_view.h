// SPDX-License-Identifier: MIT
#pragma once

#include "model/model_info.h"

#include <QWidget>

class QCustomPlot;
class QLabel;
class QTabWidget;
class QTableView;

namespace qat::ui {

class GraphView;
class LayerTableModel;

/// Shows one imported model: a summary line, then as tabs its graph with the quantizers on
/// it, and the layer table with a bar chart of parameters per layer. UI thread only.
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

private:
    void plotParameters(const model::ModelInfo& info);

    QLabel* m_summary = nullptr;
    QTableView* m_table = nullptr;
    LayerTableModel* m_model = nullptr;
    QCustomPlot* m_plot = nullptr;
    GraphView* m_graph = nullptr;
    QTabWidget* m_tabs = nullptr;
};

} // namespace qat::ui
