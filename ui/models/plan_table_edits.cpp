// SPDX-License-Identifier: MIT
// Edits of the plan table: every change is a candidate plan, checked, then pushed as one
// undo step. Rows say where a value goes: a layer's override, a point's override, the
// input's or the model output's settings.
#include "models/plan_table_model.h"

#include "common/error.h"
#include "quantizers/registry_facade.h"
#include "targets/point_placement.h"
#include "targets/target_registry.h"

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

bool isActivationColumn(int column)
{
    return column == PlanTableModel::ActivationQuantizer || column == PlanTableModel::ActivationBits
           || column == PlanTableModel::Enabled;
}

} // namespace

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

bool applyActivationColumnValue(engine::ChoiceOverride& target, int column, const QVariant& value)
{
    if (!isActivationColumn(column)) {
        return false;
    }
    engine::LayerOverride both;
    both.activations = target;
    if (!applyColumnValue(both, column, value)) {
        return false;
    }
    target = both.activations;
    return true;
}

bool PlanTableModel::refuse(const QString& reason)
{
    m_lastError = reason;
    Q_EMIT editRefused(m_lastError);
    return false;
}

QString PlanTableModel::validate(const QuantizationPlan& candidate) const
{
    try {
        const auto r = resolve(candidate);
        if (m_registry) {
            engine::validatePlan(r.layers, candidate, *m_registry);
            engine::validatePoints(r.pointPlans, *m_registry);
        }
        engine::checkTarget(candidate, r.layers, r.pointPlans);
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
        return refuse(tr("%1 refused: a run is training with this plan; stop it to edit the plan").arg(description));
    }
    const auto problem = validate(candidate);
    if (!problem.isEmpty()) {
        return refuse(tr("%1 refused: %2").arg(description, problem));
    }
    m_lastError.clear();
    m_undo->push(new PlanEditCommand(this, m_plan, candidate, description));
    return true;
}

bool PlanTableModel::replacePlan(const QuantizationPlan& plan, const QString& description)
{
    if (!commit(plan, description)) return false;
    Q_EMIT planReplaced(description);
    return true;
}

bool PlanTableModel::setTarget(const QString& target)
{
    auto candidate = m_plan;
    candidate.target = target.toStdString();
    // Values set for points the new target does not place (an add under `generic`) go; undo
    // brings them back with the old target.
    try {
        const auto points = target::placeActivationPoints(m_graph, target::builtinTargets().find(candidate.target));
        for (auto it = candidate.pointOverrides.begin(); it != candidate.pointOverrides.end();) {
            const bool placed = std::any_of(points.begin(), points.end(), [&](const auto& p) { return p.name == it->first; });
            it = placed ? std::next(it) : candidate.pointOverrides.erase(it);
        }
    } catch (const std::exception& e) {
        return refuse(tr("Target %1 refused: %2").arg(target, QString::fromStdString(e.what())));
    }
    return commit(candidate, tr("Target %1").arg(target));
}

bool PlanTableModel::applyToRow(QuantizationPlan& candidate, int row, int column, const QVariant& value) const
{
    const auto& r = m_rows[size_t(row)];
    const auto name = rowName(row).toStdString();
    switch (r.kind) {
    case RowKind::Input:
        if (column == Enabled && value.toBool()) {
            candidate.quantizeInput = true;
        }
        return applyActivationColumnValue(candidate.input, column, value);
    case RowKind::Point: return applyActivationColumnValue(candidate.pointOverrides[name], column, value);
    case RowKind::Layer:
        // The model's output takes the plan's `output` settings last: edit those, or the
        // edit would not change what training uses.
        if (isOutputRow(row) && isActivationColumn(column)) {
            if (column == Enabled) {
                candidate.layers[name].weights.enabled = value.toBool();
            }
            return applyActivationColumnValue(candidate.output, column, value);
        }
        return applyColumnValue(candidate.layers[name], column, value);
    }
    return false;
}

bool PlanTableModel::setColumn(const QList<int>& rows, int column, const QVariant& value)
{
    if (rows.isEmpty()) {
        return refuse(tr("Select the layers to change first."));
    }
    auto candidate = m_plan;
    QList<int> applied;
    for (int row : rows) {
        if (row < 0 || row >= rowCount()) {
            return false;
        }
        if (!hasColumn(row, column)) {
            continue;
        }
        if (!applyToRow(candidate, row, column, value)) {
            return refuse(tr("%1: '%2' is not a valid value").arg(columnName(column), value.toString()));
        }
        applied << row;
    }
    if (applied.isEmpty()) {
        return refuse(tr("%1 applies to layers only; the selected rows have no weights").arg(columnName(column)));
    }
    const bool allLayers = std::all_of(applied.begin(), applied.end(), [this](int r) { return rowKind(r) == RowKind::Layer; });
    const auto what = valueText(column, value);
    const auto description =
        applied.size() == 1 ? tr("Set %1 of %2 to %3").arg(columnName(column), rowName(applied.first()), what)
        : allLayers         ? tr("Set %1 of %n layers to %2", nullptr, int(applied.size())).arg(columnName(column), what)
                            : tr("Set %1 of %n rows to %2", nullptr, int(applied.size())).arg(columnName(column), what);
    return commit(candidate, description);
}

QStringList PlanTableModel::pointOps() const
{
    QStringList ops;
    for (const auto& p : m_points) {
        const auto op = QString::fromStdString(p.op);
        if (p.afterLayer.empty() && !p.isInput && !ops.contains(op)) {
            ops << op;
        }
    }
    return ops;
}

bool PlanTableModel::addRule(const QString& kind, const QString& namePattern, int column, const QVariant& value)
{
    engine::LayerOverride fields;
    if (!applyColumnValue(fields, column, value)) {
        return refuse(tr("%1: '%2' is not a valid value").arg(columnName(column), value.toString()));
    }
    std::optional<std::regex> pattern;
    try {
        if (!namePattern.isEmpty()) {
            pattern.emplace(namePattern.toStdString(), std::regex::ECMAScript);
        }
    } catch (const std::regex_error&) {
        return refuse(tr("Rule refused: '%1' is not a valid regular expression").arg(namePattern));
    }
    auto candidate = m_plan;
    const bool forPoints = !kind.isEmpty() && pointOps().contains(kind);
    if (forPoints) {
        if (!isActivationColumn(column)) {
            return refuse(tr("Rule refused: %1 outputs have no weights").arg(kind));
        }
        candidate.points.push_back({kind.toStdString(), namePattern.toStdString(), fields.activations});
        for (const auto& p : m_points) {
            const bool matches = p.op == kind.toStdString() && p.afterLayer.empty()
                                 && (!pattern || std::regex_match(p.name, *pattern));
            if (auto found = candidate.pointOverrides.find(p.name); matches && found != candidate.pointOverrides.end()) {
                engine::LayerOverride o{{}, found->second};
                clearColumn(o, column);
                found->second = o.activations;
            }
        }
    } else {
        const engine::PlanRule rule{kind.toStdString(), namePattern.toStdString(), fields.weights, fields.activations};
        candidate.rules.push_back(rule);
        for (const auto& layer : m_layers) {
            const bool kindMatches = kind.isEmpty() || layer.kind == rule.kind;
            const bool nameMatches = !pattern || std::regex_match(layer.name, *pattern);
            if (auto found = candidate.layers.find(layer.name); found != candidate.layers.end() && kindMatches && nameMatches) {
                clearColumn(found->second, column);
            }
        }
    }
    const auto who = (kind.isEmpty() ? tr("every layer") : forPoints ? tr("%1 outputs").arg(kind) : tr("%1 layers").arg(kind))
                     + (namePattern.isEmpty() ? QString() : tr(" named like %1").arg(namePattern));
    return commit(candidate, tr("Rule: %1 = %2 for %3").arg(columnName(column), valueText(column, value), who));
}

bool PlanTableModel::removeRule(int index)
{
    // The list: layer rules, point rules, the last layer's input settings, then BatchNorm
    // training (ruleTexts).
    const int layerRules = int(m_plan.rules.size());
    const int pointRules = int(m_plan.points.size());
    const int lastLayer = m_plan.lastLayerInput.empty() ? 0 : 1;
    const bool trainsBatchNorm = m_plan.foldBatchNorm && m_plan.trainBatchNorm;
    if (index < 0 || index >= layerRules + pointRules + lastLayer + (trainsBatchNorm ? 1 : 0)) {
        return false;
    }
    auto candidate = m_plan;
    if (index < layerRules) {
        candidate.rules.erase(candidate.rules.begin() + index);
    } else if (index < layerRules + pointRules) {
        candidate.points.erase(candidate.points.begin() + (index - layerRules));
    } else if (index < layerRules + pointRules + lastLayer) {
        candidate.lastLayerInput = {};
        return commit(candidate, tr("Remove the settings for what the last layer reads"));
    } else {
        candidate.trainBatchNorm = false;
        return commit(candidate, tr("Fold BatchNorm before training"));
    }
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
    for (const auto& rule : m_plan.points) {
        QString who = rule.op.empty() ? tr("every other activation point")
                                      : tr("%1 outputs").arg(QString::fromStdString(rule.op));
        if (!rule.namePattern.empty()) {
            who += tr(" named like %1").arg(QString::fromStdString(rule.namePattern));
        }
        texts << tr("%1: %2").arg(who, overrideText(rule.activations));
    }
    if (!m_plan.lastLayerInput.empty()) {
        texts << tr("what the last layer reads: activations %1").arg(overrideText(m_plan.lastLayerInput));
    }
    if (m_plan.foldBatchNorm && m_plan.trainBatchNorm) {
        texts << tr("BatchNorm: normalises each batch while training, folded into its conv when training ends");
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

std::vector<std::pair<QString, QVariant>> PlanTableModel::valueChoices(int column) const
{
    std::vector<std::pair<QString, QVariant>> values;
    if (column == WeightQuantizer || column == ActivationQuantizer) {
        for (const auto& o : allOptions(column)) {
            values.emplace_back(o.label, o.value());
        }
    } else if (column == WeightBits || column == ActivationBits) {
        for (int bits = 2; bits <= 16; ++bits) {
            values.emplace_back(tr("%1 bits").arg(bits), bits);
        }
    } else {
        values.emplace_back(tr("on"), true);
        values.emplace_back(tr("off"), false);
    }
    return values;
}

std::vector<QuantizerOption> PlanTableModel::options(int row, int column) const
{
    std::vector<QuantizerOption> legal;
    if (row < 0 || row >= rowCount() || !hasColumn(row, column)) {
        return legal;
    }
    for (const auto& option : allOptions(column)) {
        auto candidate = m_plan;
        if (applyToRow(candidate, row, column, option.value()) && validate(candidate).isEmpty()) {
            legal.push_back(option);
        }
    }
    return legal;
}

bool PlanTableModel::isOverridden(int row, int column) const
{
    const auto& r = m_rows[size_t(row)];
    auto fieldSet = [column](const ChoiceOverride& o) {
        switch (column) {
        case WeightQuantizer:
        case ActivationQuantizer: return o.training || o.method;
        case WeightBits:
        case ActivationBits: return bool(o.bits);
        case PerChannel: return bool(o.perChannel);
        case Enabled: return bool(o.enabled);
        default: return false;
        }
    };
    const auto name = rowName(row).toStdString();
    if (r.kind == RowKind::Input) {
        return isActivationColumn(column) && (fieldSet(m_plan.input) || (column == Enabled && !m_plan.quantizeInput));
    }
    if (r.kind == RowKind::Point) {
        const auto found = m_plan.pointOverrides.find(name);
        return isActivationColumn(column) && ((found != m_plan.pointOverrides.end() && fieldSet(found->second))
                                              || (isOutputRow(row) && fieldSet(m_plan.output)));
    }
    bool layerSet = false;
    if (const auto found = m_plan.layers.find(name); found != m_plan.layers.end()) {
        const auto& w = found->second.weights;
        const auto& a = found->second.activations;
        layerSet = column == Enabled ? fieldSet(w) || fieldSet(a) : isActivationColumn(column) ? fieldSet(a) : fieldSet(w);
    }
    return layerSet || (isOutputRow(row) && isActivationColumn(column) && fieldSet(m_plan.output));
}

} // namespace qat::ui
