// SPDX-License-Identifier: MIT
#pragma once
// The graph view's scene items: a node (a layer box or a small op node) with its quantizer
// badges, and an edge (a tensor) drawn in a warning colour when it is float.

#include <QColor>
#include <QFont>
#include <QGraphicsItem>
#include <QGraphicsPathItem>
#include <QPen>
#include <QString>
#include <QStringList>

namespace qat::ui {

/// One quantizer badge: its text ("W4", "A8 t=2"), colour (by method), whether it is on.
struct Badge {
    bool present = false;
    bool enabled = true;
    QString text;
    QColor color;
    QString quantizer; ///< training site name ("features.0.weight", "block1:add")
    QString toolTip;
};

/// What a node shows; the view fills it from the display graph and the plan.
struct NodeContent {
    enum class Shape { Box = 1, Small, Terminal };
    Shape shape = Shape::Small;
    QString title;    ///< "conv2d 3x3 depthwise", "add"
    QString name;     ///< layer name, or empty
    QString detail;   ///< "+ batch_norm + relu"
    QString shapeText;///< "16x14x14"
    QString search;   ///< every name search matches (layer, point, scope)
    QString layer;    ///< the layer drawn ("features.0"), or empty
    QString point;    ///< the activation point of its output ("block1:add"), or empty
    bool outputBadge = false; ///< its output has an activation quantizer: room for the badge below
};

/// A node at a layout position. The area below its box is its output's activation badge, so
/// the layout keeps badges clear of other nodes. UI thread only.
class NodeItem : public QGraphicsItem {
public:
    enum { Type = UserType + 1 };
    NodeItem(NodeContent content, const QFont& font, int displayNode);

    int type() const override { return Type; }
    int displayNode() const { return m_displayNode; }
    const NodeContent& content() const { return m_content; }
    /// The size the layout must reserve: the box and the badge area under it.
    QSizeF layoutSize() const { return m_size; }
    QRectF boundingRect() const override;
    /// The box alone, in item coordinates (for overlap checks and highlight).
    QRectF boxRect() const { return m_box; }

    void setWeightBadge(const Badge& badge);
    void setActivationBadge(const Badge& badge);
    const Badge& weightBadge() const { return m_weight; }
    const Badge& activationBadge() const { return m_activation; }
    QRectF weightBadgeRect() const;
    QRectF activationBadgeRect() const;
    /// The quantizer whose badge is at pos (item coordinates), or empty.
    QString quantizerAt(const QPointF& pos) const;
    /// The plan row this node edits, -1 when none (a max-pool has no quantizer).
    int row() const { return m_row; }
    void setRow(int row) { m_row = row; }

    /// The node's own tooltip; over a badge the badge's is shown instead.
    void setNodeToolTip(const QString& text);
    QString nodeToolTip() const { return m_nodeTip; }

    void paint(QPainter* painter, const QStyleOptionGraphicsItem* option, QWidget* widget) override;

protected:
    void hoverMoveEvent(QGraphicsSceneHoverEvent* event) override;

private:
    void paintBadge(QPainter* painter, const QRectF& rect, const Badge& badge) const;
    QRectF badgeRectFor(const QString& text, const QPointF& anchor, Qt::Alignment align) const;

    NodeContent m_content;
    QFont m_font;
    QFont m_small;
    QFont m_bold;
    int m_displayNode;
    int m_row = -1;
    QSizeF m_size;
    QRectF m_box;
    Badge m_weight;
    Badge m_activation;
    QString m_nodeTip;
};

/// One tensor between two nodes: a spline with an arrowhead, labelled with the shape ops
/// folded into it. UI thread only.
class EdgeItem : public QGraphicsPathItem {
public:
    enum { Type = UserType + 2 };
    EdgeItem(const QPainterPath& path, const QPointF& tip, const QString& label, const QPointF& labelAt,
             const QFont& font);
    int type() const override { return Type; }
    /// Float under the target (no quantizer, or its quantizer off): the warning colour.
    void setFloat(bool isFloat);
    bool isFloat() const { return m_float; }
    QPen currentPen() const { return pen(); }
    QRectF boundingRect() const override;
    void paint(QPainter* painter, const QStyleOptionGraphicsItem* option, QWidget* widget) override;

private:
    QPointF m_tip;
    QString m_label;
    QPointF m_labelAt;
    QFont m_font;
    bool m_float = false;
};

/// Colours shared by the items and the legend.
namespace graph_colors {
QColor forMethod(const QString& method); ///< "symmetric", "power-of-two", "uniform", other
QColor floatEdge();
QColor quantizedEdge();
QColor selection();
} // namespace graph_colors

} // namespace qat::ui
