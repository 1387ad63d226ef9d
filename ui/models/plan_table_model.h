// SPDX-License-Identifier: MIT
#pragma once

#include "engine/quantization_plan.h"
#include "model/model_info.h"

#include <QAbstractTableModel>
#include <QList>

#include <memory>
#include <vector>

class QUndoStack;

namespace qat::quant {
class QuantizerRegistry;
}

namespace qat::ui {

/// One quantizer a combo box offers: a training method on a grid ("LSQ symmetric").
struct QuantizerOption {
    QString training;
    quant::Method method = quant::Method::Symmetric;
    QString label;       ///< "LSQ symmetric"
    QString description; ///< from the registry
    QString value() const; ///< what setData takes: "LSQ|symmetric"
};

/// The per-layer quantization plan as a table: one row per layer, the choices that the
/// plan's defaults, rules and overrides resolve to. The model never edits the plan in
/// place: every change is checked against the registry and pushed onto the undo stack
/// (an illegal one is refused and editRefused says why). UI thread only.
class PlanTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Layer, Kind, WeightQuantizer, WeightBits, PerChannel, ActivationQuantizer, ActivationBits,
                  Enabled, ColumnCount };

    PlanTableModel(QUndoStack* undoStack, QObject* parent = nullptr);

    void setRegistry(std::shared_ptr<const quant::QuantizerRegistry> registry);
    /// New layers (a model was opened): overrides for layers it does not have are dropped.
    /// Clears the undo history (edits of another model's plan cannot be undone here).
    void setLayers(std::vector<model::LayerInfo> layers);
    const std::vector<model::LayerInfo>& layers() const { return m_layers; }
    const engine::QuantizationPlan& plan() const { return m_plan; }
    const std::vector<engine::LayerPlan>& resolved() const { return m_resolved; }

    /// Replaces the whole plan as one undoable step; false (and editRefused) when illegal.
    bool replacePlan(const engine::QuantizationPlan& plan, const QString& description);
    /// Sets column to value for every row in rows as one undoable step (bulk edit).
    bool setColumn(const QList<int>& rows, int column, const QVariant& value);
    /// Appends a rule (layers by kind and name pattern) that sets column to value; explicit
    /// per-layer values of that field on matching layers are dropped so the rule shows.
    bool addRule(const QString& kind, const QString& namePattern, int column, const QVariant& value);
    bool removeRule(int index);
    /// The plan's rules as sentences, in order.
    QStringList ruleTexts() const;

    /// Choices the registry offers for a quantizer column that are legal for row.
    std::vector<QuantizerOption> options(int row, int column) const;
    /// Every registered choice for a target (weights: WeightQuantizer, else activations).
    std::vector<QuantizerOption> allOptions(int column) const;
    /// Applies plan without undo (used by the undo commands).
    void applyPlan(const engine::QuantizationPlan& plan);
    QString lastError() const { return m_lastError; }
    /// While a run trains with this plan: nothing is editable, edits are refused.
    void setReadOnly(bool readOnly);
    bool isReadOnly() const { return m_readOnly; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    static QString columnName(int column);

Q_SIGNALS:
    /// An edit was refused; reason says why (for the status bar).
    void editRefused(const QString& reason);
    /// The plan changed (edit, undo, redo, load).
    void planChanged();

private:
    bool commit(const engine::QuantizationPlan& candidate, const QString& description);
    QString validate(const engine::QuantizationPlan& candidate) const; ///< empty when legal
    bool isOverridden(int row, int column) const;

    QUndoStack* m_undo;
    std::shared_ptr<const quant::QuantizerRegistry> m_registry;
    std::vector<model::LayerInfo> m_layers;
    engine::QuantizationPlan m_plan = engine::presetPlan("mct-default");
    std::vector<engine::LayerPlan> m_resolved;
    QString m_lastError;
    bool m_readOnly = false;
};

/// Sets one field of an override from a table value; false when the value does not fit.
bool applyColumnValue(engine::LayerOverride& target, int column, const QVariant& value);

} // namespace qat::ui
