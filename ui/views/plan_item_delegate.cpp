// SPDX-License-Identifier: MIT
#include "views/plan_item_delegate.h"

#include "models/plan_table_model.h"

#include <QAbstractItemView>
#include <QComboBox>
#include <QItemSelectionModel>
#include <QSpinBox>

namespace qat::ui {

PlanItemDelegate::PlanItemDelegate(QAbstractItemView* view) : QStyledItemDelegate(view), m_view(view) {}

QWidget* PlanItemDelegate::createEditor(QWidget* parent, const QStyleOptionViewItem& option,
                                        const QModelIndex& index) const
{
    const auto* model = qobject_cast<const PlanTableModel*>(index.model());
    if (model == nullptr) {
        return QStyledItemDelegate::createEditor(parent, option, index);
    }
    switch (index.column()) {
    case PlanTableModel::WeightQuantizer:
    case PlanTableModel::ActivationQuantizer: {
        auto* combo = new QComboBox(parent);
        for (const auto& o : model->options(index.row(), index.column())) {
            combo->addItem(o.label, o.value());
            combo->setItemData(combo->count() - 1, o.description, Qt::ToolTipRole);
        }
        return combo;
    }
    case PlanTableModel::WeightBits:
    case PlanTableModel::ActivationBits: {
        auto* spin = new QSpinBox(parent);
        spin->setRange(2, 16);
        spin->setSuffix(tr(" bits"));
        return spin;
    }
    default: return QStyledItemDelegate::createEditor(parent, option, index);
    }
}

void PlanItemDelegate::setEditorData(QWidget* editor, const QModelIndex& index) const
{
    if (auto* combo = qobject_cast<QComboBox*>(editor)) {
        combo->setCurrentIndex(std::max(0, combo->findData(index.data(Qt::EditRole))));
        return;
    }
    QStyledItemDelegate::setEditorData(editor, index);
}

void PlanItemDelegate::setModelData(QWidget* editor, QAbstractItemModel* model, const QModelIndex& index) const
{
    auto* plan = qobject_cast<PlanTableModel*>(model);
    QVariant value;
    if (auto* combo = qobject_cast<QComboBox*>(editor)) {
        value = combo->currentData();
    } else if (auto* spin = qobject_cast<QSpinBox*>(editor)) {
        spin->interpretText();
        value = spin->value();
    }
    if (plan == nullptr || !value.isValid()) {
        QStyledItemDelegate::setModelData(editor, model, index);
        return;
    }
    QList<int> rows;
    const auto selected = m_view->selectionModel()->selectedRows();
    for (const auto& s : selected) {
        rows << s.row();
    }
    if (!rows.contains(index.row())) {
        rows = {index.row()};
    }
    std::sort(rows.begin(), rows.end());
    if (rows.size() == 1 && value == index.data(Qt::EditRole)) {
        return; // nothing changed: no undo step
    }
    plan->setColumn(rows, index.column(), value);
}

// The Kind column wraps: beside the training settings at 1280 px it is the column that gives
// way, and a second line keeps "(model output)" and "(last layer's input)" readable.
void PlanItemDelegate::initStyleOption(QStyleOptionViewItem* option, const QModelIndex& index) const
{
    QStyledItemDelegate::initStyleOption(option, index);
    if (index.column() == PlanTableModel::Kind) {
        option->features |= QStyleOptionViewItem::WrapText;
    }
}

} // namespace qat::ui
