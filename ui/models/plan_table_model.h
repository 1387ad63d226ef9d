// SPDX-License-Identifier: MIT
#pragma once

#include "analysis/resources.h"
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

/// The quantization plan as a table of every quantizer it creates, in graph order: the model
/// input, one row per layer (its weights and its output), and under targets that quantize
/// every tensor one row per other activation point (add, cat, pools, ...). Each cell shows
/// the value training will use (the plan's defaults, rules, overrides, and for the model's
/// output the plan's `output` changes). The model never edits the plan in place: every
/// change is checked against the registry and the target and pushed onto the undo stack (an
/// illegal one is refused and editRefused says why). UI thread only.
class PlanTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Layer, Kind, WeightQuantizer, WeightBits, PerChannel, ActivationQuantizer, ActivationBits,
                  Enabled, Memory, Bops, ColumnCount };
    enum class RowKind { Input = 1, Layer, Point };

    PlanTableModel(QUndoStack* undoStack, QObject* parent = nullptr);

    void setRegistry(std::shared_ptr<const quant::QuantizerRegistry> registry);
    /// A model was opened: its layers and op graph (the graph places the activation points).
    /// Overrides for layers or points it does not have are dropped; the undo history is
    /// cleared (edits of another model's plan cannot be undone here).
    void setModel(std::vector<model::LayerInfo> layers, model::OpGraph graph);
    /// setModel without an op graph: layer rows only.
    void setLayers(std::vector<model::LayerInfo> layers) { setModel(std::move(layers), {}); }
    const std::vector<model::LayerInfo>& layers() const { return m_layers; }
    const model::OpGraph& opGraph() const { return m_graph; }
    const engine::QuantizationPlan& plan() const { return m_plan; }
    const std::vector<engine::LayerPlan>& resolved() const { return m_resolved; }
    /// The activation points of the plan's target and the choice each gets.
    const std::vector<model::ActivationPointInfo>& points() const { return m_points; }
    const std::vector<engine::PointPlan>& pointPlans() const { return m_pointPlans; }
    /// What the current plan costs (weights / activation memory, BOPs); recomputed with every
    /// edit, undo and redo. Activation figures and BOPs are unknown (-1) without op graph shapes.
    const analysis::Resources& resources() const { return m_resources; }

    RowKind rowKind(int row) const;
    /// The layer name, the point name ("block1:add") or "input".
    QString rowName(int row) const;
    /// The row showing a layer or point of that name, or -1.
    int rowOf(const QString& name) const;
    /// The training site a row's quantizer is plotted under ("features.0.weight", "block1:add").
    QString quantizerName(int row) const;
    /// The layer index of a layer row, or -1.
    int layerIndex(int row) const;

    /// Replaces the whole plan as one undoable step; false (and editRefused) when illegal.
    bool replacePlan(const engine::QuantizationPlan& plan, const QString& description);
    /// Changes the deployment target as one undoable step (refused when the plan breaks it).
    bool setTarget(const QString& target);
    /// Sets column to value for every row in rows as one undoable step (bulk edit). Rows
    /// without that field (weights of an add) are skipped; refused when none has it.
    bool setColumn(const QList<int>& rows, int column, const QVariant& value);
    /// Appends a rule that sets column to value: for layers by kind ("conv2d", "depthwise",
    /// "first", "last", empty: any) and name pattern, or, when kind is the op of an activation
    /// point that is not a layer ("add", "cat"), for those points. Explicit per-row values of
    /// that field on matching rows are dropped so the rule shows.
    bool addRule(const QString& kind, const QString& namePattern, int column, const QVariant& value);
    /// Removes rule index of ruleTexts() (layer rules first, then point rules).
    bool removeRule(int index);
    /// The plan's rules as sentences, in order: layer rules, then point rules.
    QStringList ruleTexts() const;
    /// The ops of activation points that are not layer outputs, for rules ("add", "cat").
    QStringList pointOps() const;

    /// Choices the registry offers for a quantizer column that are legal for row.
    std::vector<QuantizerOption> options(int row, int column) const;
    /// Every registered choice for a target (weights: WeightQuantizer, else activations).
    std::vector<QuantizerOption> allOptions(int column) const;
    /// What an editor of many rows offers for column, as (label, value for setColumn): the
    /// quantizers, the bit widths, or on / off.
    std::vector<std::pair<QString, QVariant>> valueChoices(int column) const;
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
    /// replacePlan() applied a whole plan (a preset, a plan file, a run's plan); description
    /// is what it was given ("Preset w2a3").
    void planReplaced(const QString& description);

private:
    struct Row {
        RowKind kind = RowKind::Layer;
        int layer = -1; ///< index in m_layers (layer rows)
        int point = -1; ///< index in m_points: the input, a point, or a layer's first output
    };
    /// What a plan means for this model: points of its target, resolved choices, rows.
    struct Resolution {
        std::vector<engine::LayerPlan> layers;
        std::vector<model::ActivationPointInfo> points;
        std::vector<engine::PointPlan> pointPlans;
    };
    Resolution resolve(const engine::QuantizationPlan& plan) const; ///< throws qat::Error
    void rebuild();
    bool commit(const engine::QuantizationPlan& candidate, const QString& description);
    QString validate(const engine::QuantizationPlan& candidate) const; ///< empty when legal
    bool isOverridden(int row, int column) const;
    bool isOutputRow(int row) const;
    bool hasColumn(int row, int column) const;
    /// Writes column = value into candidate for row; false when the value does not fit.
    bool applyToRow(engine::QuantizationPlan& candidate, int row, int column, const QVariant& value) const;
    const engine::QuantizerChoice& activationChoice(int row) const;
    bool refuse(const QString& reason);
    /// The Memory and Bops cells (plan_table_resources.cpp).
    QVariant resourceData(int row, int column, int role) const;

    QUndoStack* m_undo;
    std::shared_ptr<const quant::QuantizerRegistry> m_registry;
    std::vector<model::LayerInfo> m_layers;
    model::OpGraph m_graph;
    engine::QuantizationPlan m_plan = engine::presetPlan("mct-default");
    std::vector<engine::LayerPlan> m_resolved;
    std::vector<model::ActivationPointInfo> m_points;
    std::vector<engine::PointPlan> m_pointPlans;
    std::vector<Row> m_rows;
    analysis::Resources m_resources;
    QString m_lastError;
    bool m_readOnly = false;
};

/// Sets one field of an override from a table value; false when the value does not fit.
bool applyColumnValue(engine::LayerOverride& target, int column, const QVariant& value);
/// The same for an activation quantizer alone (a point, the input, the model output).
bool applyActivationColumnValue(engine::ChoiceOverride& target, int column, const QVariant& value);

} // namespace qat::ui
