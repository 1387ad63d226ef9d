// SPDX-License-Identifier: MIT
#include "models/run_table_model.h"

#include "engine/quantization_plan.h"
#include "storage/run_state.h"

#include <nlohmann/json.hpp>

#include <QBrush>
#include <QColor>
#include <QDateTime>
#include <QFileInfo>

namespace qat::ui {

namespace {

using nlohmann::json;

QString percent(const std::optional<double>& v)
{
    return v ? QStringLiteral("%1 %").arg(*v * 100, 0, 'f', 2) : QString();
}

QString duration(double seconds)
{
    if (seconds <= 0) {
        return QString();
    }
    const auto s = qint64(seconds + 0.5);
    return s >= 3600 ? QStringLiteral("%1:%2:%3").arg(s / 3600).arg(s / 60 % 60, 2, 10, QLatin1Char('0')).arg(s % 60, 2, 10, QLatin1Char('0'))
                     : QStringLiteral("%1:%2").arg(s / 60).arg(s % 60, 2, 10, QLatin1Char('0'));
}

QColor stateColor(const std::string& state)
{
    switch (store::stateKind(state)) {
    case store::StateKind::Finished: return QColor(0x2e, 0x7d, 0x32);
    case store::StateKind::Failed: return QColor(0xc6, 0x28, 0x28);
    case store::StateKind::Stopped: return QColor(0x8d, 0x6e, 0x00);
    case store::StateKind::Training: break;
    }
    return QColor(0x15, 0x65, 0xc0);
}

store::RunFilter::Order orderOf(int column)
{
    using O = store::RunFilter::Order;
    switch (column) {
    case RunTableModel::Model: return O::Model;
    case RunTableModel::Plan: return O::Preset;
    case RunTableModel::Bits: return O::WeightBits;
    case RunTableModel::State: return O::State;
    case RunTableModel::Created: return O::Created;
    case RunTableModel::FloatTop1: return O::FloatTop1;
    case RunTableModel::QatTop1: return O::QatTop1;
    case RunTableModel::Duration: return O::Seconds;
    case RunTableModel::Tags: return O::Tags;
    default: return O::Id;
    }
}

} // namespace

QString planBits(const std::string& planJson)
{
    const auto plan = json::parse(planJson, nullptr, false);
    if (!plan.is_object() || !plan.contains("weights")) {
        return QString();
    }
    auto bits = [](const json& choice) {
        return choice.value("enabled", true) ? QString::number(choice.value("bits", 0)) : QStringLiteral("-");
    };
    const bool mixed = (plan.contains("rules") && !plan["rules"].empty()) || (plan.contains("layers") && !plan["layers"].empty());
    return QStringLiteral("w%1 a%2%3").arg(bits(plan["weights"]), bits(plan.value("activations", json::object())),
                                          mixed ? QStringLiteral("*") : QString());
}

QString planPreset(const std::string& planJson)
{
    const auto plan = json::parse(planJson, nullptr, false);
    const auto preset = plan.is_object() ? plan.value("preset", std::string()) : std::string();
    return preset.empty() ? QStringLiteral("custom") : QString::fromStdString(preset);
}

QString planTarget(const std::string& planJson)
{
    try {
        return QString::fromStdString(engine::parsePlan(planJson, "plan").target);
    } catch (const std::exception&) {
        return QString();
    }
}

RunTableModel::RunTableModel(QObject* parent) : QAbstractTableModel(parent)
{
    m_filter.order = store::RunFilter::Order::Id;
    m_filter.descending = true; // newest first
}

RunTableModel::~RunTableModel() = default;

void RunTableModel::setDatabasePath(const QString& path)
{
    auto opened = std::make_unique<store::RunStore>(path.toStdString());
    beginResetModel();
    m_store = std::move(opened);
    m_rows.clear();
    m_total = 0;
    m_stamp = {};
    endResetModel();
    resetTo(kPageSize);
}

QString RunTableModel::databasePath() const
{
    return m_store ? QString::fromStdString(m_store->path()) : QString();
}

void RunTableModel::setFilter(const QString& text, const QString& state)
{
    m_filter.text = text.trimmed().toStdString();
    m_filter.state = state.toStdString();
    resetTo(kPageSize);
}

void RunTableModel::sort(int column, Qt::SortOrder order)
{
    m_filter.order = orderOf(column);
    m_filter.descending = order == Qt::DescendingOrder;
    if (!m_store) {
        return;
    }
    // Sorting in SQL changes which runs the loaded pages hold, so this is a reset; the
    // history view restores its selection by run id.
    resetTo(std::max<int>(int(m_rows.size()), kPageSize));
}

bool RunTableModel::refresh()
{
    if (!m_store) {
        return false;
    }
    // A run whose process was killed while this window is open would show as running
    // forever; only runs still unfinished are checked, so this is cheap.
    if (!m_stamp.unfinished.empty()) {
        m_store->markInterrupted();
    }
    if (m_store->changeStamp() == m_stamp) {
        return false;
    }
    reload();
    return true;
}

void RunTableModel::reload()
{
    resetTo(std::max<int>(int(m_rows.size()), kPageSize));
}

void RunTableModel::resetTo(int count)
{
    if (!m_store) {
        return;
    }
    beginResetModel();
    m_stamp = m_store->changeStamp();
    m_total = m_store->countRuns(m_filter);
    auto filter = m_filter;
    filter.limit = count;
    m_rows = m_store->listRuns(filter);
    // Views and testers ask for more while they handle the reset; the rows they would
    // insert then would arrive inside the reset.
    m_fetchBlocked = true;
    endResetModel();
    m_fetchBlocked = false;
}

void RunTableModel::load(int count)
{
    if (!m_store) {
        return;
    }
    m_stamp = m_store->changeStamp();
    m_total = m_store->countRuns(m_filter);
    auto filter = m_filter;
    filter.offset = qint64(m_rows.size());
    filter.limit = count;
    auto page = m_store->listRuns(filter);
    if (page.empty()) {
        return;
    }
    // No nested fetches while the rows go in (a tester or view reacting to the signals
    // would read the same page again).
    m_fetchBlocked = true;
    beginInsertRows({}, int(m_rows.size()), int(m_rows.size() + page.size()) - 1);
    for (auto& r : page) {
        m_rows.push_back(std::move(r));
    }
    endInsertRows();
    m_fetchBlocked = false;
}

qint64 RunTableModel::runId(int row) const
{
    return row >= 0 && row < int(m_rows.size()) ? m_rows[size_t(row)].id : 0;
}

const store::RunRecord* RunTableModel::record(int row) const
{
    return row >= 0 && row < int(m_rows.size()) ? &m_rows[size_t(row)] : nullptr;
}

int RunTableModel::rowOf(qint64 runId) const
{
    for (size_t i = 0; i < m_rows.size(); ++i) {
        if (m_rows[i].id == runId) {
            return int(i);
        }
    }
    return -1;
}

int RunTableModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int RunTableModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

bool RunTableModel::canFetchMore(const QModelIndex& parent) const
{
    return !parent.isValid() && m_store && !m_fetchBlocked && qint64(m_rows.size()) < m_total;
}

void RunTableModel::fetchMore(const QModelIndex& parent)
{
    if (canFetchMore(parent)) {
        load(kPageSize);
    }
}

QVariant RunTableModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
        return {};
    }
    const auto& r = m_rows[size_t(index.row())];
    if (role == RunIdRole) {
        return qint64(r.id);
    }
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case Id: return qint64(r.id);
        case Model: return QFileInfo(QString::fromStdString(r.modelPath)).fileName();
        case Plan: return planPreset(r.plan);
        case Bits: return planBits(r.plan);
        case State: return QString::fromStdString(r.state);
        case Created: {
            const auto when = QDateTime::fromString(QString::fromStdString(r.created), Qt::ISODate);
            return when.isValid() ? when.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm"))
                                  : QString::fromStdString(r.created);
        }
        case FloatTop1: return percent(r.floatTop1);
        case QatTop1: return percent(r.qatTop1);
        case Duration: return duration(r.seconds);
        case Tags: {
            QStringList tags;
            for (const auto& t : r.tags) {
                tags << QString::fromStdString(t);
            }
            return tags.join(QStringLiteral(", "));
        }
        default: return {};
        }
    }
    if (role == Qt::ForegroundRole && index.column() == State) {
        return QBrush(stateColor(r.state));
    }
    if (role == Qt::TextAlignmentRole
        && (index.column() == Id || index.column() == FloatTop1 || index.column() == QatTop1 || index.column() == Duration)) {
        return QVariant(Qt::AlignRight | Qt::AlignVCenter);
    }
    if (role == Qt::ToolTipRole) {
        switch (index.column()) {
        case Model: return QString::fromStdString(r.modelPath);
        case State: return QString::fromStdString(store::stateLine(r.state, r.message));
        case Duration: return tr("%n step(s)", nullptr, int(r.steps));
        case QatTop1:
            return store::isTraining(r.state) && r.qatTop1 ? tr("the latest epoch's (the run is still training)")
                                                            : QString::fromStdString(r.name);
        default: return QString::fromStdString(r.name);
        }
    }
    return {};
}

QVariant RunTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole || section < 0 || section >= ColumnCount) {
        return QAbstractTableModel::headerData(section, orientation, role);
    }
    switch (section) {
    case Id: return tr("Run");
    case Model: return tr("Model");
    case Plan: return tr("Plan");
    case Bits: return tr("Bits");
    case State: return tr("State");
    case Created: return tr("Started");
    case FloatTop1: return tr("Float top-1");
    case QatTop1: return tr("QAT top-1");
    case Duration: return tr("Duration");
    case Tags: return tr("Tags");
    default: return {};
    }
}

} // namespace qat::ui
