// SPDX-License-Identifier: MIT
#include "models/plan_table_model.h"

#include "common/error.h"
#include "quantizers/registry_facade.h"

#include <QColor>
#include <QFont>
#include <QUndoCommand>
#include <QUndoStack>

#include <regex>

namespace qat::ui {

using engine::ChoiceOverride;
using engine::QuantizationPlan;
using quant::Method;
using quant::Target;

namespace {

/// Swaps the whole plan: plans are small, so before/after copies keep undo exact.
class PlanEditCommand : public QUndoCommand {
public:
    PlanEditCommand(PlanTableModel* model, QuantizationPlan before, QuantizationPlan after, const QString& text)
        : QUndoCommand(text), m_model(model), m_before(std::move(before)), m_after(std::move(after))
    {
    }
    void undo() override { m_model->applyPlan(m_before); }
    void redo() override { m_model->applyPlan(m_after); }

private:
    PlanTableModel* m_model;
    QuantizationPlan m_before;
    QuantizationPlan m_after;
};

QString methodName(Method method)
{
    return QString::fromStdString(quant::toString(method));
}

QString choiceLabel(const engine::QuantizerChoice& choice)
{
    return QString::fromStdString(choice.key.training) + QLatin1Char(' ') + methodName(choice.key.method);
}

// The override fields a column writes; used to drop them when a rule takes over.
void clearColumn(engine::LayerOverride& o, int column)
{
    switch (column) {
    case PlanTableModel::WeightQuantizer: o.weights.training.reset(); o.weights.method.reset(); break;
    case PlanTableModel::WeightBits: o.weights.bits.reset(); break;
    case PlanTableModel::PerChannel: o.weights.perChannel.reset(); break;
    case PlanTableModel::ActivationQuantizer: o.activations.training.reset(); o.activations.method.reset(); break;
    case PlanTableModel::ActivationBits: o.activations.bits.reset(); break;
    case PlanTableModel::Enabled: o.weights.enabled.reset(); o.activations.enabled.reset(); break;
    default: break;
    }
}

QString overrideText(const ChoiceOverride& o)
{
    QStringList parts;
    if (o.enabled) parts << (*o.enabled ? QObject::tr("on") : QObject::tr("off"));
    if (o.training) parts << QString::fromStdString(*o.training);
    if (o.method) parts << methodName(*o.method);
    if (o.bits) parts << QObject::tr("%1 bits").arg(*o.bits);
    if (o.perChannel) parts << (*o.perChannel ? QObject::tr("per channel") : QObject::tr("per tensor"));
    return parts.join(QLatin1Char(' '));
}

QString valueText(int column, const QVariant& value)
{
    if (column == PlanTableModel::PerChannel || column == PlanTableModel::Enabled) {
        return value.toBool() ? QObject::tr("on") : QObject::tr("off");
    }
    return value.toString().replace(QLatin1Char('|'), QLatin1Char(' '));
}

} // namespace

QString QuantizerOption::value() const
{
    return training + QLatin1Char('|') + methodName(method);
}

bool applyColumnValue(engine::LayerOverride& target, int column, const QVariant& value)
{
    auto quantizer = [&value](ChoiceOverride& o) {
        // "LSQ|symmetric" (what the delegates store) or "LSQ symmetric" (what is shown).
        auto parts = value.toString().split(QLatin1Char('|'));
        if (parts.size() != 2) {
            parts = value.toString().split(QLatin1Char(' '));
        }
        if (parts.size() != 2 || parts[0].isEmpty()) {
            return false;
        }
        try {
            o.method = quant::parseMethod(parts[1].toStdString());
        } catch (const std::exception&) {
            return false;
        }
        o.training = parts[0].toStdString();
        return true;
    };
    bool ok = true;
    switch (column) {
    case PlanTableModel::WeightQuantizer: return quantizer(target.weights);
    case PlanTableModel::ActivationQuantizer: return quantizer(target.activations);
    case PlanTableModel::WeightBits: target.weights.bits = value.toInt(&ok); return ok;
    case PlanTableModel::ActivationBits: target.activations.bits = value.toInt(&ok); return ok;
    case PlanTableModel::PerChannel:
        target.weights.perChannel = value.toBool();
        return true;
    case PlanTableModel::Enabled:
        target.weights.enabled = value.toBool();
        target.activations.enabled = value.toBool();
        return true;
    default: return false;
    }
}

PlanTableModel::PlanTableModel(QUndoStack* undoStack, QObject* parent)
    : QAbstractTableModel(parent), m_undo(undoStack)
{
}

void PlanTableModel::setRegistry(std::shared_ptr<const quant::QuantizerRegistry> registry)
{
    m_registry = std::move(registry);
}

void PlanTableModel::setLayers(std::vector<model::LayerInfo> layers)
{
    beginResetModel();
    m_layers = std::move(layers);
    for (auto it = m_plan.layers.begin(); it != m_plan.layers.end();) {
        const bool known = std::any_of(m_layers.begin(), m_layers.end(),
                                       [&](const auto& l) { return l.name == it->first; });
        it = known ? std::next(it) : m_plan.layers.erase(it);
    }
    try {
        m_resolved = engine::resolvePlan(m_plan, m_layers);
    } catch (const std::exception&) {
        // A rule whose pattern fails cannot have been accepted; start clean if it happens.
        m_plan.rules.clear();
        m_resolved = engine::resolvePlan(m_plan, m_layers);
    }
    endResetModel();
    m_undo->clear();
    Q_EMIT planChanged();
}

QString PlanTableModel::validate(const QuantizationPlan& candidate) const
{
    try {
        const auto resolved = engine::resolvePlan(candidate, m_layers);
        if (m_registry) {
            engine::validatePlan(resolved, candidate, *m_registry);
        }
    } catch (const std::exception& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

void PlanTableModel::setReadOnly(bool readOnly)
{
    m_readOnly = readOnly;
    if (rowCount() > 0) {
        Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
    }
}

bool PlanTableModel::commit(const QuantizationPlan& candidate, const QString& description)
{
    if (m_readOnly) {
        m_lastError = tr("%1 refused: a run is training with this plan; stop it to edit the plan").arg(description);
        Q_EMIT editRefused(m_lastError);
        return false;
    }
    const auto problem = validate(candidate);
    if (!problem.isEmpty()) {
        m_lastError = tr("%1 refused: %2").arg(description, problem);
        Q_EMIT editRefused(m_lastError);
        return false;
    }
    m_lastError.clear();
    m_undo->push(new PlanEditCommand(this, m_plan, candidate, description));
    return true;
}

void PlanTableModel::applyPlan(const QuantizationPlan& plan)
{
    m_plan = plan;
    try {
        m_resolved = engine::resolvePlan(m_plan, m_layers);
    } catch (const std::exception&) {
        m_resolved.clear(); // only reachable through a plan validate() would have refused
    }
    if (rowCount() > 0) {
        Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
    }
    Q_EMIT planChanged();
}

bool PlanTableModel::replacePlan(const QuantizationPlan& plan, const QString& description)
{
    return commit(plan, description);
}

bool PlanTableModel::setColumn(const QList<int>& rows, int column, const QVariant& value)
{
    if (rows.isEmpty()) {
        m_lastError = tr("Select the layers to change first.");
        Q_EMIT editRefused(m_lastError);
        return false;
    }
    auto candidate = m_plan;
    for (int row : rows) {
        if (row < 0 || row >= rowCount()) {
            return false;
        }
        auto& o = candidate.layers[m_layers[size_t(row)].name];
        if (!applyColumnValue(o, column, value)) {
            m_lastError = tr("%1: '%2' is not a valid value").arg(columnName(column), value.toString());
            Q_EMIT editRefused(m_lastError);
            return false;
        }
    }
    const auto what = valueText(column, value);
    const auto description = rows.size() == 1
        ? tr("Set %1 of %2 to %3").arg(columnName(column), QString::fromStdString(m_layers[size_t(rows.first())].name), what)
        : tr("Set %1 of %n layers to %2", nullptr, int(rows.size())).arg(columnName(column), what);
    return commit(candidate, description);
}

bool PlanTableModel::addRule(const QString& kind, const QString& namePattern, int column, const QVariant& value)
{
    engine::LayerOverride fields;
    if (!applyColumnValue(fields, column, value)) {
        m_lastError = tr("%1: '%2' is not a valid value").arg(columnName(column), value.toString());
        Q_EMIT editRefused(m_lastError);
        return false;
    }
    engine::PlanRule rule{kind.toStdString(), namePattern.toStdString(), fields.weights, fields.activations};
    auto candidate = m_plan;
    candidate.rules.push_back(rule);
    std::optional<std::regex> pattern;
    try {
        if (!namePattern.isEmpty()) {
            pattern.emplace(namePattern.toStdString(), std::regex::ECMAScript);
        }
    } catch (const std::regex_error&) {
        m_lastError = tr("Rule refused: '%1' is not a valid regular expression").arg(namePattern);
        Q_EMIT editRefused(m_lastError);
        return false;
    }
    for (const auto& layer : m_layers) {
        const bool kindMatches = kind.isEmpty() || layer.kind == rule.kind;
        const bool nameMatches = !pattern || std::regex_match(layer.name, *pattern);
        if (auto found = candidate.layers.find(layer.name); found != candidate.layers.end() && kindMatches && nameMatches) {
            clearColumn(found->second, column);
        }
    }
    const auto who = (kind.isEmpty() ? tr("every layer") : tr("%1 layers").arg(kind))
                     + (namePattern.isEmpty() ? QString() : tr(" named like %1").arg(namePattern));
    return commit(candidate, tr("Rule: %1 = %2 for %3").arg(columnName(column), valueText(column, value), who));
}

bool PlanTableModel::removeRule(int index)
{
    if (index < 0 || index >= int(m_plan.rules.size())) {
        return false;
    }
    auto candidate = m_plan;
    candidate.rules.erase(candidate.rules.begin() + index);
    return commit(candidate, tr("Remove rule %1").arg(index + 1));
}

QStringList PlanTableModel::ruleTexts() const
{
    QStringList texts;
    for (const auto& rule : m_plan.rules) {
        QString who = rule.kind.empty() ? tr("every layer") : tr("%1 layers").arg(QString::fromStdString(rule.kind));
        if (!rule.namePattern.empty()) {
            who += tr(" named like %1").arg(QString::fromStdString(rule.namePattern));
        }
        QStringList what;
        if (!rule.weights.empty()) what << tr("weights %1").arg(overrideText(rule.weights));
        if (!rule.activations.empty()) what << tr("activations %1").arg(overrideText(rule.activations));
        texts << tr("%1: %2").arg(who, what.join(QStringLiteral(", ")));
    }
    return texts;
}

std::vector<QuantizerOption> PlanTableModel::allOptions(int column) const
{
    std::vector<QuantizerOption> options;
    if (!m_registry) {
        return options;
    }
    const auto target = column == WeightQuantizer ? Target::Weights : Target::Activations;
    for (const auto& info : quant::registeredQuantizers(*m_registry)) {
        if (info.target != target) {
            continue;
        }
        for (auto method : info.methods) {
            const auto training = QString::fromStdString(info.training);
            options.push_back({training, method, training + QLatin1Char(' ') + methodName(method),
                               QString::fromStdString(info.description)});
        }
    }
    return options;
}

std::vector<QuantizerOption> PlanTableModel::options(int row, int column) const
{
    std::vector<QuantizerOption> legal;
    if (row < 0 || row >= rowCount()) {
        return legal;
    }
    for (const auto& option : allOptions(column)) {
        auto candidate = m_plan;
        applyColumnValue(candidate.layers[m_layers[size_t(row)].name], column, option.value());
        if (validate(candidate).isEmpty()) {
            legal.push_back(option);
        }
    }
    return legal;
}

bool PlanTableModel::isOverridden(int row, int column) const
{
    const auto found = m_plan.layers.find(m_layers[size_t(row)].name);
    if (found == m_plan.layers.end()) {
        return false;
    }
    const auto& w = found->second.weights;
    const auto& a = found->second.activations;
    switch (column) {
    case WeightQuantizer: return w.training || w.method;
    case WeightBits: return bool(w.bits);
    case PerChannel: return bool(w.perChannel);
    case ActivationQuantizer: return a.training || a.method;
    case ActivationBits: return bool(a.bits);
    case Enabled: return w.enabled || a.enabled;
    default: return false;
    }
}

int PlanTableModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(std::min(m_layers.size(), m_resolved.size()));
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
    const auto& lp = m_resolved[size_t(index.row())];
    const auto& layer = m_layers[size_t(index.row())];
    const int column = index.column();
    const bool enabled = lp.weights.enabled || lp.activations.enabled;
    if (role == Qt::DisplayRole || role == Qt::EditRole) {
        const bool edit = role == Qt::EditRole;
        switch (column) {
        case Layer: return QString::fromStdString(layer.name);
        case Kind: return QString::fromStdString(layer.kind);
        case WeightQuantizer:
            return edit ? QString::fromStdString(lp.weights.key.training) + QLatin1Char('|') + methodName(lp.weights.key.method)
                        : choiceLabel(lp.weights);
        case WeightBits: return lp.weights.config.bits;
        case ActivationQuantizer:
            return edit ? QString::fromStdString(lp.activations.key.training) + QLatin1Char('|')
                              + methodName(lp.activations.key.method)
                        : choiceLabel(lp.activations);
        case ActivationBits: return lp.activations.config.bits;
        default: return {};
        }
    }
    if (role == Qt::CheckStateRole) {
        if (column == PerChannel) return lp.weights.config.perChannel ? Qt::Checked : Qt::Unchecked;
        if (column == Enabled) return enabled ? Qt::Checked : Qt::Unchecked;
        return {};
    }
    if (role == Qt::FontRole && isOverridden(index.row(), column)) {
        QFont bold;
        bold.setBold(true);
        return bold;
    }
    if (role == Qt::ForegroundRole && !enabled && column != Layer && column != Enabled) {
        return QColor(Qt::gray);
    }
    if (role == Qt::TextAlignmentRole && (column == WeightBits || column == ActivationBits)) {
        return QVariant::fromValue(Qt::AlignVCenter | Qt::AlignRight);
    }
    if (role == Qt::ToolTipRole) {
        if (isOverridden(index.row(), column)) {
            return tr("Set for this layer (bold); the plan's defaults and rules no longer apply to this field");
        }
        if (column == Layer) {
            return tr("Weight parameter: %1").arg(QString::fromStdString(layer.weightPath));
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
    if (m_readOnly) {
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
    case Layer: return tr("Layer");
    case Kind: return tr("Kind");
    case WeightQuantizer: return tr("Weight quantizer");
    case WeightBits: return tr("W bits");
    case PerChannel: return tr("Per channel");
    case ActivationQuantizer: return tr("Activation quantizer");
    case ActivationBits: return tr("A bits");
    case Enabled: return tr("Quantize");
    default: return {};
    }
}

QVariant PlanTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal) {
        return QAbstractTableModel::headerData(section, orientation, role);
    }
    if (role == Qt::DisplayRole) {
        return columnName(section);
    }
    if (role == Qt::ToolTipRole) {
        switch (section) {
        case WeightQuantizer: return tr("Training method and grid of the layer's weight quantizer");
        case WeightBits: return tr("Bits of the weight quantizer (2 to 16)");
        case PerChannel: return tr("One threshold per output channel (else one for the whole tensor)");
        case ActivationQuantizer: return tr("Training method and grid of the quantizer at the layer's output "
                                            "(after its BatchNorm and activation)");
        case ActivationBits: return tr("Bits of the activation quantizer (2 to 16)");
        case Enabled: return tr("Quantize this layer at all (weights and output)");
        default: return {};
        }
    }
    return {};
}

} // namespace qat::ui
