// SPDX-License-Identifier: MIT
#pragma once

#include <QStyledItemDelegate>

class QAbstractItemView;

namespace qat::ui {

/// Editors for the plan table: a combo box of the quantizers a layer can take (fed by the
/// registry through PlanTableModel::options), a spin box for bits. An edit made on a row
/// that is part of a multi-row selection applies to every selected row (one undo step).
/// UI thread only.
class PlanItemDelegate : public QStyledItemDelegate {
    Q_OBJECT
public:
    explicit PlanItemDelegate(QAbstractItemView* view);

    QWidget* createEditor(QWidget* parent, const QStyleOptionViewItem& option, const QModelIndex& index) const override;
    void setEditorData(QWidget* editor, const QModelIndex& index) const override;
    void setModelData(QWidget* editor, QAbstractItemModel* model, const QModelIndex& index) const override;

protected:
    void initStyleOption(QStyleOptionViewItem* option, const QModelIndex& index) const override;

private:
    QAbstractItemView* m_view;
};

} // namespace qat::ui
