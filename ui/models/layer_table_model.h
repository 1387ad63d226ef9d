// SPDX-License-Identifier: MIT
#pragma once

#include "model/model_info.h"

#include <QAbstractTableModel>

#include <vector>

namespace qat::ui {

/// Read-only table of a model's quantizable layers, one row per weight parameter.
/// Lives on the UI thread.
class LayerTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Index, Layer, Kind, WeightShape, Groups, ChannelAxis, Bias, Parameters, CallSites,
                  ActivationPoint, ColumnCount };

    explicit LayerTableModel(QObject* parent = nullptr);

    void setLayers(std::vector<model::LayerInfo> layers);
    const std::vector<model::LayerInfo>& layers() const { return m_layers; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QVariant displayData(const model::LayerInfo& layer, int row, int column) const;

    std::vector<model::LayerInfo> m_layers;
};

} // namespace qat::ui
