// SPDX-License-Identifier: MIT
// The plan table's rows and what each cell shows; edits are in plan_table_edits.cpp.
#include "models/plan_table_model.h"

#include "common/error.h"
#include "targets/point_placement.h"
#include "targets/target_registry.h"

#include <QColor>
#include <QFont>
#include <QUndoStack>

#include <set>

namespace qat::ui {

using quant::Method;

namespace {

QString methodName(Method method)
{
    return QString::fromStdString(quant::toString(method));
}

QString choiceLabel(const engine::QuantizerChoice& choice)
{
    return QString::fromStdString(choice.key.training) + QLatin1Char(' ') + methodName(choice.key.method);
}

QString choiceValue(const engine::QuantizerChoice& choice)
{
    return QString::fromStdString(choice.key.training) + QLatin1Char('|') + methodName(choice.key.method);
}

QString pointKind(const model::ActivationPointInfo& point)
{
    QString text = QString::fromStdString(point.op);
    for (const auto& op : point.fusedOps) {
        text += QLatin1Char('+') + QString::fromStdString(op);
    }
    return text;
}

} // namespace

QString QuantizerOption::value() const
{
    return training + QLatin1Char('|') + methodName(method);
}

PlanTableModel::PlanTableModel(QUndoStack* undoStack, QObject* parent)
    : QAbstractTableModel(parent), m_undo(undoStack)
{
}

void PlanTableModel::setRegistry(std::shared_ptr<const quant::QuantizerRegistry> registry)
{
    m_registry = std::move(registry);
}

void PlanTableModel::setModel(std::vector<model::LayerInfo> layers, model::OpGraph graph)
{
    beginResetModel();
    m_layers = std::move(layers);
    m_graph = std::move(graph);
    for (auto it = m_plan.layers.begin(); it != m_plan.layers.end();) {
        const bool known = std::any_of(m_layers.begin(), m_layers.end(),
                                       [&](const auto& l) { return l.name == it->first; });
        it = known ? std::next(it) : m_plan.layers.erase(it);
    }
    try {
        const auto& target = target::builtinTargets().find(m_plan.target);
        const auto points = target::placeActivationPoints(m_graph, target);
        for (auto it = m_plan.pointOverrides.begin(); it != m_plan.pointOverrides.end();) {
            const bool known = std::any_of(points.begin(), points.end(), [&](const auto& p) { return p.name == it->first; });
            it = known ? std::next(it) : m_plan.pointOverrides.erase(it);
        }
        resolve(m_plan);
    } catch (const std::exception&) {
        // A rule whose pattern fails cannot have been accepted; start clean if it happens.
        m_plan.rules.clear();
        m_plan.points.clear();
    }
    rebuild();
    endResetModel();
    m_undo->clear();
    Q_EMIT planChanged();
}

PlanTableModel::Resolution PlanTableModel::resolve(const engine::QuantizationPlan& plan) const
{
    Resolution r;
    r.layers = engine::resolvePlan(plan, m_layers);
    if (!m_graph.empty()) {
        r.points = target::placeActivationPoints(m_graph, target::builtinTargets().find(plan.target));
        r.pointPlans = engine::resolvePoints(plan, r.layers, r.points);
    }
    return r;
}

// Rows in graph order: the input, then each layer where its first output is, and the other
// points where they are. Layers the graph does not reach come last.
void PlanTableModel::rebuild()
{
    Resolution r;
    try {
        r = resolve(m_plan);
    } catch (const std::exception&) {
        // Only reachable through a plan validate() would have refused.
    }
    m_resolved = std::move(r.layers);
    m_points = std::move(r.points);
    m_pointPlans = std::move(r.pointPlans);
    m_rows.clear();
    m_resources = {};
    if (m_resolved.size() == m_layers.size() && m_pointPlans.size() == m_points.size()) {
        m_resources = analysis::computeResources(m_layers, m_graph, m_plan.target, m_plan.foldBatchNorm, m_resolved,
                                                 m_points, m_pointPlans);
    }
    if (m_resolved.size() != m_layers.size()) {
        return;
    }
    std::set<std::string> placed;
    for (size_t i = 0; i < m_points.size(); ++i) {
        const auto& p = m_points[i];
        if (p.isInput) {
            m_rows.push_back({RowKind::Input, -1, int(i)});
        } else if (p.afterLayer.empty()) {
            m_rows.push_back({RowKind::Point, -1, int(i)});
        } else if (placed.insert(p.afterLayer).second) {
            for (size_t l = 0; l < m_layers.size(); ++l) {
                if (m_layers[l].name == p.afterLayer) {
                    m_rows.push_back({RowKind::Layer, int(l), int(i)});
                }
            }
        }
    }
    for (size_t l = 0; l < m_layers.size(); ++l) {
        if (placed.count(m_layers[l].name) == 0) {
            m_rows.push_back({RowKind::Layer, int(l), -1});
        }
    }
}

void PlanTableModel::applyPlan(const engine::QuantizationPlan& plan)
{
    const auto before = m_rows.size();
    const auto targetBefore = m_plan.target;
    m_plan = plan;
    // The rows themselves change with the target (which points exist); values otherwise.
    if (targetBefore != m_plan.target) {
        beginResetModel();
        rebuild();
        endResetModel();
    } else {
        rebuild();
        if (m_rows.size() != before) {
            beginResetModel();
            endResetModel();
        } else if (rowCount() > 0) {
            Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
        }
    }
    Q_EMIT planChanged();
}

PlanTableModel::RowKind PlanTableModel::rowKind(int row) const
{
    return m_rows.at(size_t(row)).kind;
}

int PlanTableModel::layerIndex(int row) const
{
    return row >= 0 && row < rowCount() ? m_rows[size_t(row)].layer : -1;
}

QString PlanTableModel::rowName(int row) const
{
    const auto& r = m_rows.at(size_t(row));
    return QString::fromStdString(r.kind == RowKind::Layer ? m_layers[size_t(r.layer)].name : m_points[size_t(r.point)].name);
}

int PlanTableModel::rowOf(const QString& name) const
{
    for (int r = 0; r < rowCount(); ++r) {
        if (rowName(r) == name) {
            return r;
        }
    }
    return -1;
}

QString PlanTableModel::quantizerName(int row) const
{
    const auto& r = m_rows.at(size_t(row));
    return r.kind == RowKind::Layer ? QString::fromStdString(m_layers[size_t(r.layer)].weightPath) : rowName(row);
}

// A layer row whose outputs are all what forward() returns: the plan's `output` applies.
bool PlanTableModel::isOutputRow(int row) const
{
    const auto& r = m_rows.at(size_t(row));
    if (r.kind == RowKind::Input || r.point < 0) {
        return false;
    }
    if (r.kind == RowKind::Point) {
        return m_points[size_t(r.point)].isModelOutput;
    }
    bool any = false;
    for (const auto& p : m_points) {
        if (p.afterLayer == m_layers[size_t(r.layer)].name) {
            if (!p.isModelOutput) {
                return false;
            }
            any = true;
        }
    }
    return any;
}

bool PlanTableModel::hasColumn(int row, int column) const
{
    const bool weightColumn = column == WeightQuantizer || column == WeightBits || column == PerChannel;
    return !weightColumn || rowKind(row) == RowKind::Layer;
}

const engine::QuantizerChoice& PlanTableModel::activationChoice(int row) const
{
    const auto& r = m_rows.at(size_t(row));
    if (r.point >= 0 && size_t(r.point) < m_pointPlans.size()) {
        return m_pointPlans[size_t(r.point)].choice;
    }
    return m_resolved.at(size_t(r.layer)).activations;
}

int PlanTableModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int PlanTableModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant PlanTableModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || !checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
        return {};
    }
    const int row = index.row();
    const auto& r = m_rows[size_t(row)];
    const int column = index.column();
    if (column == Memory || column == Bops) {
        return resourceData(row, column, role);
    }
    const auto& activations = activationChoice(row);
    const engine::LayerPlan* lp = r.kind == RowKind::Layer ? &m_resolved[size_t(r.layer)] : nullptr;
    const bool enabled = activations.enabled || (lp != nullptr && lp->weights.enabled);
    const bool feedsLastLayer = r.kind != RowKind::Input && r.point >= 0 && m_points[size_t(r.point)].feedsLastLayer;
    if (!hasColumn(row, column)) {
        if (role == Qt::ToolTipRole) {
            return r.kind == RowKind::Input ? tr("The model input has no weights") : tr("This op has no weights");
        }
        return {};
    }
    if (role == Qt::DisplayRole || role == Qt::EditRole) {
        const bool edit = role == Qt::EditRole;
        switch (column) {
        case Layer: return rowName(row);
        case Kind: {
            if (r.kind == RowKind::Input) return tr("model input");
            const auto kind = r.kind == RowKind::Layer ? QString::fromStdString(m_layers[size_t(r.layer)].kind)
                                                       : pointKind(m_points[size_t(r.point)]);
            if (edit) return kind;
            if (isOutputRow(row)) return tr("%1 (model output)").arg(kind);
            return feedsLastLayer ? tr("%1 (last layer's input)").arg(kind) : kind;
        }
        case WeightQuantizer: return edit ? choiceValue(lp->weights) : choiceLabel(lp->weights);
        case WeightBits: return lp->weights.config.bits;
        case ActivationQuantizer: return edit ? choiceValue(activations) : choiceLabel(activations);
        case ActivationBits: return activations.config.bits;
        default: return {};
        }
    }
    if (role == Qt::CheckStateRole) {
        if (column == PerChannel) return lp->weights.config.perChannel ? Qt::Checked : Qt::Unchecked;
        if (column == Enabled) return enabled ? Qt::Checked : Qt::Unchecked;
        return {};
    }
    if (role == Qt::FontRole) {
        QFont font;
        font.setBold(isOverridden(row, column));
        font.setItalic(r.kind != RowKind::Layer && column == Layer);
        if (font.bold() || font.italic()) {
            return font;
        }
        return {};
    }
    if (role == Qt::ForegroundRole && column != Layer && column != Enabled) {
        const bool columnOn = column == ActivationQuantizer || column == ActivationBits ? activations.enabled
                                                                                        : (lp == nullptr || lp->weights.enabled);
        if (!enabled || !columnOn) {
            return QColor(Qt::gray);
        }
    }
    if (role == Qt::TextAlignmentRole && (column == WeightBits || column == ActivationBits)) {
        return QVariant::fromValue(Qt::AlignVCenter | Qt::AlignRight);
    }
    if (role == Qt::ToolTipRole) {
        if (isOutputRow(row) && (column == ActivationQuantizer || column == ActivationBits || column == Layer)) {
            return tr("The model's output: the plan's output settings apply to it (an edit here changes them)");
        }
        if (isOverridden(row, column)) {
            return tr("Set for this row (bold); the plan's defaults and rules no longer apply to this field");
        }
        if (feedsLastLayer && (column == ActivationQuantizer || column == ActivationBits || column == Kind)) {
            return tr("The last layer reads this tensor: the plan's last-layer-input settings apply to it (the "
                      "low-bit presets keep it at 8 bits); an edit here overrides them for this row");
        }
        if (column == Layer && r.kind == RowKind::Layer) {
            return tr("Weight parameter: %1").arg(QString::fromStdString(m_layers[size_t(r.layer)].weightPath));
        }
        if (column == Kind && r.point >= 0 && r.kind != RowKind::Input) {
            const auto& p = m_points[size_t(r.point)];
            return p.fusedOps.empty() ? tr("Quantized right after %1").arg(QString::fromStdString(p.op))
                                      : tr("One fused unit, quantized at its end: %1").arg(pointKind(p));
        }
        if (column == Layer && r.kind == RowKind::Point) {
            const auto& p = m_points[size_t(r.point)];
            return tr("The output of %1 in %2, stored as integers on the chip under target %3")
                .arg(pointKind(p), p.callSite.empty() ? tr("the model's forward()") : QString::fromStdString(p.callSite),
                     QString::fromStdString(m_plan.target));
        }
    }
    return {};
}

bool PlanTableModel::setData(const QModelIndex& index, const QVariant& value, int role)
{
    if (!index.isValid() || !checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
        return false;
    }
    const bool checkColumn = index.column() == PerChannel || index.column() == Enabled;
    if ((checkColumn && role != Qt::CheckStateRole && role != Qt::EditRole) || (!checkColumn && role != Qt::EditRole)) {
        return false;
    }
    const QVariant v = checkColumn ? QVariant(value.toInt() == Qt::Checked || value.toBool()) : value;
    return setColumn({index.row()}, index.column(), v);
}

Qt::ItemFlags PlanTableModel::flags(const QModelIndex& index) const
{
    if (!index.isValid() || !checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
        return Qt::NoItemFlags;
    }
    auto f = Qt::ItemIsEnabled | Qt::ItemIsSelectable;
    if (m_readOnly || !hasColumn(index.row(), index.column())) {
        return f;
    }
    switch (index.column()) {
    case WeightQuantizer:
    case WeightBits:
    case ActivationQuantizer:
    case ActivationBits: f |= Qt::ItemIsEditable; break;
    case PerChannel:
    case Enabled: f |= Qt::ItemIsUserCheckable; break;
    default: break;
    }
    return f;
}

QString PlanTableModel::columnName(int column)
{
    switch (column) {
    case Layer: return tr("Layer / point");
    case Kind: return tr("Kind");
    case WeightQuantizer: return tr("Weight quantizer");
    case WeightBits: return tr("W bits");
    case PerChannel: return tr("Per channel");
    case ActivationQuantizer: return tr("Activation quantizer");
    case ActivationBits: return tr("A bits");
    case Enabled: return tr("Quantize");
    case Memory: return tr("Memory");
    case Bops: return tr("BOPs");
    default: return {};
    }
}

QVariant PlanTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal) {
        return QAbstractTableModel::headerData(section, orientation, role);
    }
    if (role == Qt::DisplayRole) {
        // Two lines: the column holds a check box, its one-line title was most of its width.
        return section == PerChannel ? tr("Per\nchannel") : columnName(section);
    }
    if (role == Qt::ToolTipRole) {
        switch (section) {
        case Layer: return tr("A layer (its weights and its output), the model input, or another tensor the target "
                              "quantizes (italic: the output of an add, a pool, a concatenation, ...)");
        case WeightQuantizer: return tr("Training method and grid of the layer's weight quantizer");
        case WeightBits: return tr("Bits of the weight quantizer (2 to 16)");
        case PerChannel: return tr("One threshold per output channel (else one for the whole tensor)");
        case ActivationQuantizer: return tr("Training method and grid of the quantizer at the layer's output "
                                            "(after its BatchNorm and activation) or at the op's output");
        case ActivationBits: return tr("Bits of the activation quantizer (2 to 16)");
        case Enabled: return tr("Quantize this row at all (a layer: weights and output)");
        case Memory: return tr("A layer: its weights at their bits (float: 32 bits). Other rows: the tensor the "
                               "quantizer stores, at its bits, for one sample");
        case Bops: return tr("Bit operations of a layer for one sample: MACs x weight bits x input bits");
        default: return {};
        }
    }
    return {};
}

} // namespace qat::ui
