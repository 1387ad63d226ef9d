// SPDX-License-Identifier: MIT
#pragma once
// A layered top-down layout of a directed graph by Graphviz's `dot`. Sizes and positions are
// in scene pixels (one Graphviz point each), y growing downwards as in Qt.

#include <QPainterPath>
#include <QPointF>
#include <QRectF>
#include <QSizeF>
#include <QString>

#include <utility>
#include <vector>

namespace qat::ui {

struct LayoutInput {
    std::vector<QSizeF> nodes;               ///< each node's size, kept exactly
    std::vector<std::pair<int, int>> edges;  ///< (from, to) node indices
    std::vector<QString> edgeLabels;         ///< empty or one per edge ("" for none)
};

struct LayoutEdge {
    QPainterPath path; ///< the spline from the tail node's border to the arrow's base
    QPointF tip;       ///< where the arrowhead points (the head node's border)
    QPointF labelAt;   ///< centre of the edge's label, when it has one
};

struct GraphLayout {
    std::vector<QPointF> centers; ///< node centres
    std::vector<LayoutEdge> edges;
    QRectF bounds;
};

/// Lays input out with `dot` (ranks top to bottom). Throws std::runtime_error when Graphviz
/// cannot (its layout plugin missing). UI thread only: Graphviz keeps global state.
GraphLayout layoutGraph(const LayoutInput& input);

} // namespace qat::ui
