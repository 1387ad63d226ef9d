// SPDX-License-Identifier: MIT
#pragma once

#include "model/model_info.h"

#include <QWidget>

class QCustomPlot;
class QLabel;
class QTableView;

namespace qat::ui {

class LayerTableModel;

/// Shows one imported model: a summary line, the layer table and a bar chart of
/// parameters per layer. UI thread only.
class ModelView : public QWidget {
    Q_OBJECT
public:
    explicit ModelView(QWidget* parent = nullptr);

    void showModel(const model::ModelInfo& info);

    LayerTableModel* layerModel() const { return m_model; }
    QTableView* table() const { return m_table; }
    QString summary() const;

private:
    void plotParameters(const model::ModelInfo& info);

    QLabel* m_summary = nullptr;
    QTableView* m_table = nullptr;
    LayerTableModel* m_model = nullptr;
    QCustomPlot* m_plot = nullptr;
};

} // namespace qat::ui
