// SPDX-License-Identifier: MIT
#include "models/layer_table_model.h"

#include "model/layer_kind.h"

#include <QLocale>
#include <QStringList>

namespace qat::ui {

namespace {

QString shapeText(const std::vector<int64_t>& shape)
{
    QStringList parts;
    for (auto d : shape) {
        parts << QString::number(d);
    }
    return parts.join(QChar(0x00D7));
}

QString activationText(const model::ActivationPoint& point)
{
    if (point.chain.empty()) {
        return QStringLiteral("layer output");
    }
    QStringList ops;
    for (const auto& op : point.chain) {
        ops << QString::fromStdString(op);
    }
    return QStringLiteral("after ") + ops.join(QStringLiteral(" \u2192 "));
}

} // namespace

LayerTableModel::LayerTableModel(QObject* parent) : QAbstractTableModel(parent) {}

void LayerTableModel::setLayers(std::vector<model::LayerInfo> layers)
{
    beginResetModel();
    m_layers = std::move(layers);
    endResetModel();
}

int LayerTableModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_layers.size());
}

int LayerTableModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant LayerTableModel::displayData(const model::LayerInfo& l, int row, int column) const
{
    switch (column) {
    case Index: return row + 1;
    case Layer: return QString::fromStdString(l.name);
    case Kind: return QString::fromStdString(model::kindLabel(l));
    case WeightShape: return shapeText(l.weightShape);
    case Groups: return static_cast<qlonglong>(l.groups);
    case ChannelAxis: return static_cast<qlonglong>(l.channelAxis);
    case Bias: return l.hasBias ? tr("yes") : tr("no");
    case Parameters: return QLocale().toString(static_cast<qlonglong>(l.parameterCount));
    case CallSites: return l.callSites;
    case ActivationPoint: {
        QStringList points;
        for (const auto& p : l.activationPoints) {
            points << activationText(p);
        }
        return points.join(QStringLiteral("; "));
    }
    default: return {};
    }
}

QVariant LayerTableModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
        return {};
    }
    const auto& layer = m_layers[static_cast<size_t>(index.row())];
    if (role == Qt::DisplayRole) {
        return displayData(layer, index.row(), index.column());
    }
    if (role == Qt::ToolTipRole) {
        if (index.column() == Layer) {
            return tr("Weight parameter: %1").arg(QString::fromStdString(layer.weightPath));
        }
        if (index.column() == ActivationPoint) {
            return tr("Where this layer's output is quantized (MCT fuses the layer with a following "
                      "BatchNorm and activation)");
        }
    }
    if (role == Qt::TextAlignmentRole) {
        const bool numeric = index.column() == Index || index.column() == Groups
                             || index.column() == ChannelAxis || index.column() == Parameters
                             || index.column() == CallSites;
        return QVariant::fromValue(Qt::AlignVCenter | (numeric ? Qt::AlignRight : Qt::AlignLeft));
    }
    return {};
}

QVariant LayerTableModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) {
        return QAbstractTableModel::headerData(section, orientation, role);
    }
    static const char* const kTitles[ColumnCount] = {
        QT_TR_NOOP("#"), QT_TR_NOOP("Layer"), QT_TR_NOOP("Kind"), QT_TR_NOOP("Weight shape"),
        QT_TR_NOOP("Groups"), QT_TR_NOOP("Channel axis"), QT_TR_NOOP("Bias"), QT_TR_NOOP("Parameters"),
        QT_TR_NOOP("Calls"), QT_TR_NOOP("Activation point")};
    return section >= 0 && section < ColumnCount ? tr(kTitles[section]) : QVariant();
}

} // namespace qat::ui
