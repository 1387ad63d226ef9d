// SPDX-License-Identifier: MIT
// GraphView's selection (shared with the Quantization table) and its edits (through the plan
// model, so the table's undo stack holds them).
#include "views/graph_view.h"

#include "graph/graph_canvas.h"
#include "graph/graph_items.h"
#include "models/plan_table_model.h"

#include <QContextMenuEvent>
#include <QGraphicsScene>
#include <QItemSelectionModel>
#include <QMenu>
#include <QMouseEvent>

#include <algorithm>

namespace qat::ui {

QList<int> GraphView::selectedRows() const
{
    QList<int> rows;
    for (auto* item : m_nodes) {
        if (item->isSelected() && item->row() >= 0 && !rows.contains(item->row())) {
            rows << item->row();
        }
    }
    std::sort(rows.begin(), rows.end());
    return rows;
}

void GraphView::syncFromScene()
{
    if (m_syncing || !m_selection) {
        return;
    }
    m_syncing = true;
    QItemSelection selection;
    const auto rows = selectedRows();
    for (int row : rows) {
        selection.select(m_model->index(row, 0), m_model->index(row, m_model->columnCount() - 1));
    }
    if (!rows.isEmpty()) {
        // The current row is what the Live Plots follow.
        m_selection->setCurrentIndex(m_model->index(rows.first(), 0), QItemSelectionModel::NoUpdate);
    }
    m_selection->select(selection, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    // A layer called twice is two boxes: select both.
    for (auto* item : m_nodes) {
        item->setSelected(item->row() >= 0 && rows.contains(item->row()));
    }
    m_syncing = false;
}

void GraphView::syncFromTable()
{
    if (m_syncing || !m_selection) {
        return;
    }
    m_syncing = true;
    QList<int> rows;
    for (const auto& index : m_selection->selectedRows()) {
        rows << index.row();
    }
    for (auto* item : m_nodes) {
        item->setSelected(item->row() >= 0 && rows.contains(item->row()));
    }
    m_syncing = false;
}

bool GraphView::applyToSelection(int column, const QVariant& value)
{
    const auto rows = selectedRows();
    return !rows.isEmpty() && m_model->setColumn(rows, column, value);
}

NodeItem* GraphView::nodeAtViewPos(const QPoint& pos) const
{
    for (auto* item : m_canvas->items(pos)) {
        if (item->type() == NodeItem::Type) {
            return static_cast<NodeItem*>(item);
        }
    }
    return nullptr;
}

bool GraphView::eventFilter(QObject* watched, QEvent* event)
{
    if (watched == m_canvas->viewport() && event->type() == QEvent::MouseButtonDblClick) {
        auto* node = nodeAtViewPos(static_cast<QMouseEvent*>(event)->position().toPoint());
        if (node && node->row() >= 0) {
            Q_EMIT rowActivated(node->row());
            return true;
        }
    }
    return QWidget::eventFilter(watched, event);
}

// Right click: the editors of the Quantization table for the selected nodes.
void GraphView::contextMenuEvent(QContextMenuEvent* event)
{
    if (!m_model) {
        return;
    }
    auto* node = nodeAtViewPos(m_canvas->viewport()->mapFrom(this, event->pos()));
    if (node && node->row() >= 0 && !node->isSelected()) {
        m_scene->clearSelection();
        node->setSelected(true);
    }
    const auto rows = selectedRows();
    if (rows.isEmpty()) {
        return;
    }
    QMenu menu(this);
    auto addValues = [this](QMenu* into, int column) {
        for (const auto& [label, value] : m_model->valueChoices(column)) {
            into->addAction(label, this, [this, column, value = value] { applyToSelection(column, value); });
        }
    };
    const bool anyLayer = std::any_of(rows.begin(), rows.end(), [this](int r) { return m_model->rowKind(r) == PlanTableModel::RowKind::Layer; });
    const bool on = m_model->index(rows.first(), PlanTableModel::Enabled).data(Qt::CheckStateRole).toInt() == Qt::Checked;
    menu.addSection(rows.size() == 1 ? m_model->rowName(rows.first()) : tr("%1 selected rows").arg(rows.size()));
    auto* quantize = menu.addAction(tr("Quantize"), this, [this, on] { applyToSelection(PlanTableModel::Enabled, !on); });
    quantize->setCheckable(true);
    quantize->setChecked(on);
    quantize->setEnabled(!m_model->isReadOnly());
    if (anyLayer) {
        addValues(menu.addMenu(tr("Weight quantizer")), PlanTableModel::WeightQuantizer);
        addValues(menu.addMenu(tr("Weight bits")), PlanTableModel::WeightBits);
        addValues(menu.addMenu(tr("Per channel")), PlanTableModel::PerChannel);
    }
    addValues(menu.addMenu(tr("Activation quantizer")), PlanTableModel::ActivationQuantizer);
    addValues(menu.addMenu(tr("Activation bits")), PlanTableModel::ActivationBits);
    menu.addSeparator();
    menu.addAction(tr("Show in the Quantization table"), this, [this, rows] { Q_EMIT rowActivated(rows.first()); });
    menu.addAction(tr("Plot in Live Plots"), this, [this, rows] { Q_EMIT quantizerActivated(m_model->quantizerName(rows.first())); });
    // While a run trains with this plan, the editors show but do not edit.
    for (auto* action : menu.actions()) {
        if (action->menu()) action->menu()->setEnabled(!m_model->isReadOnly());
    }
    menu.exec(event->globalPos());
}

} // namespace qat::ui
