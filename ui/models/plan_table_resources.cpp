// SPDX-License-Identifier: MIT
// The plan table's resource columns: what each layer's weights and each stored tensor cost.
#include "models/plan_table_model.h"

#include <QColor>

namespace qat::ui {

namespace {

QString text(const std::string& s) { return QString::fromStdString(s); }

} // namespace

QVariant PlanTableModel::resourceData(int row, int column, int role) const
{
    const auto& r = m_rows.at(size_t(row));
    const analysis::LayerResources* layer = nullptr;
    if (r.kind == RowKind::Layer && size_t(r.layer) < m_resources.layers.size()) {
        layer = &m_resources.layers[size_t(r.layer)];
    }
    const analysis::PointResources* point = nullptr;
    if (r.point >= 0 && size_t(r.point) < m_points.size()) {
        for (const auto& p : m_resources.points) {
            if (p.name == m_points[size_t(r.point)].name) point = &p;
        }
    }
    if (role == Qt::TextAlignmentRole) {
        return QVariant::fromValue(Qt::AlignVCenter | Qt::AlignRight);
    }
    if (role == Qt::DisplayRole) {
        if (column == Memory) {
            if (layer) return text(analysis::formatBytes(layer->weightsBytes));
            return point ? text(analysis::formatBytes(point->bytes)) : QVariant(tr("float"));
        }
        return layer ? text(analysis::formatCount(layer->bops)) : QVariant();
    }
    if (role == Qt::ForegroundRole && !layer) {
        return QColor(Qt::gray); // tensors, not weights: the summary adds them up apart
    }
    if (role == Qt::ToolTipRole) {
        if (layer) {
            auto tip = tr("Weights: %1 values at %2 = %3 (float32: %4)")
                           .arg(layer->weightElements)
                           .arg(layer->weightBits == 32 ? tr("32 bits (float)") : tr("%1 bits").arg(layer->weightBits))
                           .arg(text(analysis::formatBytes(layer->weightsBytes)),
                                text(analysis::formatBytes(layer->weightElements * 4)));
            if (layer->biasBytes > 0) tip += tr("\nBias: %1").arg(text(analysis::formatBytes(layer->biasBytes)));
            if (layer->macs >= 0) {
                tip += tr("\n%1 MACs per sample, input at %2 bits: %3 BOPs")
                           .arg(text(analysis::formatCount(layer->macs)))
                           .arg(layer->activationBits)
                           .arg(text(analysis::formatCount(layer->bops)));
            }
            if (point && point->bytes >= 0) {
                tip += tr("\nOutput tensor: %1 values at %2 bits = %3")
                           .arg(point->elements)
                           .arg(point->bits)
                           .arg(text(analysis::formatBytes(point->bytes)));
            }
            return tip;
        }
        if (point) {
            return point->bytes >= 0 ? tr("%1 values at %2 bits = %3, one sample")
                                           .arg(point->elements)
                                           .arg(point->bits)
                                           .arg(text(analysis::formatBytes(point->bytes)))
                                     : tr("The tensor's shape is unknown (the model's probe forward failed)");
        }
        return tr("Not quantized: the tensor stays float");
    }
    return {};
}

} // namespace qat::ui
