// SPDX-License-Identifier: MIT
#include "graph/graph_items.h"

#include <QFontMetricsF>
#include <QGraphicsSceneHoverEvent>
#include <QPainter>
#include <QStyleOptionGraphicsItem>
#include <QtMath>

namespace qat::ui {

namespace graph_colors {
QColor forMethod(const QString& method)
{
    if (method == QLatin1String("symmetric")) return QColor(44, 110, 200);
    if (method == QLatin1String("power-of-two")) return QColor(136, 68, 170);
    if (method == QLatin1String("uniform")) return QColor(36, 140, 84);
    return QColor(110, 120, 130);
}
QColor floatEdge() { return QColor(226, 110, 20); }
QColor quantizedEdge() { return QColor(105, 112, 125); }
QColor selection() { return QColor(30, 120, 230); }
} // namespace graph_colors

namespace {
constexpr qreal kPadX = 8;
constexpr qreal kPadY = 4;
constexpr qreal kBadgeGap = 3;
// Room for a badge's value while training ("A8 0.0312"), so a live value never overlaps.
const QString kBadgeSample = QStringLiteral("W16 1.2e-05");

// A point of leading keeps an underscore ("batch_norm") off the line below.
qreal lineHeight(const QFont& font)
{
    return QFontMetricsF(font).height() + 1;
}
} // namespace

NodeItem::NodeItem(NodeContent content, const QFont& font, int displayNode)
    : m_content(std::move(content)), m_font(font), m_small(font), m_bold(font), m_displayNode(displayNode)
{
    m_small.setPointSizeF(font.pointSizeF() * 0.85);
    m_bold.setBold(true);
    setFlag(ItemIsSelectable);
    setAcceptHoverEvents(true);
    const QFontMetricsF fm(m_font);
    const QFontMetricsF sm(m_small);
    const QFontMetricsF bm(m_bold);
    const qreal badgeWidth = sm.horizontalAdvance(kBadgeSample) + 10;
    qreal width = 0;
    qreal height = 2 * kPadY;
    if (m_content.shape == NodeContent::Shape::Box) {
        width = std::max({sm.horizontalAdvance(m_content.title) + 6 + badgeWidth, bm.horizontalAdvance(m_content.name),
                          sm.horizontalAdvance(m_content.detail), sm.horizontalAdvance(m_content.shapeText)});
        height += lineHeight(m_small) + lineHeight(m_bold);
        height += m_content.detail.isEmpty() ? 0 : lineHeight(m_small);
        height += m_content.shapeText.isEmpty() ? 0 : lineHeight(m_small);
    } else {
        width = std::max(fm.horizontalAdvance(m_content.title), sm.horizontalAdvance(m_content.shapeText));
        height += lineHeight(m_font) + (m_content.shapeText.isEmpty() ? 0 : lineHeight(m_small));
    }
    width += 2 * kPadX;
    m_box = QRectF(0, 0, width, height);
    m_size = QSizeF(width, height);
    if (m_content.outputBadge) {
        m_size = QSizeF(std::max(width, badgeWidth), height + sm.height() + 2 + 2 * kBadgeGap);
    }
    m_box.moveLeft((m_size.width() - width) / 2);
}

QRectF NodeItem::boundingRect() const
{
    return QRectF(QPointF(0, 0), m_size).adjusted(-2, -2, 2, 2);
}

void NodeItem::setWeightBadge(const Badge& badge)
{
    m_weight = badge;
    update();
}

void NodeItem::setActivationBadge(const Badge& badge)
{
    m_activation = badge;
    update();
}

QRectF NodeItem::badgeRectFor(const QString& text, const QPointF& anchor, Qt::Alignment align) const
{
    const QFontMetricsF sm(m_small);
    const QSizeF size(sm.horizontalAdvance(text) + 8, sm.height() + 2);
    QRectF r(QPointF(0, 0), size);
    if (align & Qt::AlignRight) {
        r.moveTopRight(anchor);
    } else {
        r.moveTop(anchor.y());
        r.moveLeft(anchor.x() - size.width() / 2);
    }
    return r;
}

QRectF NodeItem::weightBadgeRect() const
{
    return badgeRectFor(m_weight.text, m_box.topRight() + QPointF(-4, 3), Qt::AlignRight);
}

QRectF NodeItem::activationBadgeRect() const
{
    return badgeRectFor(m_activation.text, QPointF(m_box.center().x(), m_box.bottom() + kBadgeGap), Qt::AlignHCenter);
}

QString NodeItem::quantizerAt(const QPointF& pos) const
{
    if (m_weight.present && weightBadgeRect().contains(pos)) return m_weight.quantizer;
    if (m_activation.present && activationBadgeRect().contains(pos)) return m_activation.quantizer;
    return {};
}

void NodeItem::setNodeToolTip(const QString& text)
{
    m_nodeTip = text;
    setToolTip(text);
}

void NodeItem::hoverMoveEvent(QGraphicsSceneHoverEvent* event)
{
    const QPointF pos = event->pos();
    if (m_weight.present && weightBadgeRect().contains(pos)) {
        setToolTip(m_weight.toolTip);
    } else if (m_activation.present && activationBadgeRect().contains(pos)) {
        setToolTip(m_activation.toolTip);
    } else {
        setToolTip(m_nodeTip);
    }
    QGraphicsItem::hoverMoveEvent(event);
}

void NodeItem::paintBadge(QPainter* painter, const QRectF& rect, const Badge& badge) const
{
    const QColor color = badge.enabled ? badge.color : graph_colors::floatEdge();
    painter->setPen(QPen(color, 1));
    painter->setBrush(badge.enabled ? color : QColor(255, 244, 232));
    painter->drawRoundedRect(rect, 4, 4);
    painter->setPen(badge.enabled ? Qt::white : color);
    painter->setFont(m_small);
    painter->drawText(rect, Qt::AlignCenter, badge.text);
}

void NodeItem::paint(QPainter* painter, const QStyleOptionGraphicsItem*, QWidget*)
{
    painter->setRenderHint(QPainter::Antialiasing);
    const bool selected = isSelected();
    const bool terminal = m_content.shape == NodeContent::Shape::Terminal;
    QColor fill = m_content.shape == NodeContent::Shape::Box ? QColor(248, 249, 252)
                  : terminal                                   ? QColor(222, 230, 242)
                                                               : QColor(238, 240, 243);
    QColor border = m_content.shape == NodeContent::Shape::Box ? QColor(80, 95, 120) : QColor(130, 138, 150);
    if (selected) {
        fill = QColor(224, 237, 252);
        border = graph_colors::selection();
    }
    if (m_activation.present) {
        // The stem from the box to the badge: the start of the outgoing edge.
        painter->setPen(QPen(m_activation.enabled ? graph_colors::quantizedEdge() : graph_colors::floatEdge(), 1.3));
        painter->drawLine(QPointF(m_box.center().x(), m_box.bottom()), QPointF(m_box.center().x(), m_size.height()));
    }
    painter->setPen(QPen(border, selected ? 2.5 : 1.2));
    painter->setBrush(fill);
    const qreal radius = m_content.shape == NodeContent::Shape::Box ? 5 : m_box.height() / 2;
    painter->drawRoundedRect(m_box, radius, radius);

    QRectF line = m_box.adjusted(kPadX, kPadY, -kPadX, 0);
    auto draw = [&](const QFont& font, const QString& text, const QColor& color, Qt::Alignment align) {
        if (text.isEmpty()) return;
        painter->setFont(font);
        painter->setPen(color);
        line.setHeight(lineHeight(font));
        painter->drawText(line, align | Qt::AlignVCenter, text);
        line.translate(0, line.height());
    };
    if (m_content.shape == NodeContent::Shape::Box) {
        draw(m_small, m_content.title, QColor(90, 98, 110), Qt::AlignLeft);
        draw(m_bold, m_content.name, QColor(20, 24, 32), Qt::AlignHCenter);
        draw(m_small, m_content.detail, QColor(70, 80, 95), Qt::AlignHCenter);
        draw(m_small, m_content.shapeText, QColor(110, 116, 126), Qt::AlignHCenter);
    } else {
        draw(m_font, m_content.title, QColor(30, 34, 40), Qt::AlignHCenter);
        draw(m_small, m_content.shapeText, QColor(110, 116, 126), Qt::AlignHCenter);
    }
    if (m_weight.present) {
        paintBadge(painter, weightBadgeRect(), m_weight);
    }
    if (m_activation.present) {
        paintBadge(painter, activationBadgeRect(), m_activation);
    }
}

EdgeItem::EdgeItem(const QPainterPath& path, const QPointF& tip, const QString& label, const QPointF& labelAt,
                   const QFont& font)
    : QGraphicsPathItem(path), m_tip(tip), m_label(label), m_labelAt(labelAt), m_font(font)
{
    m_font.setPointSizeF(font.pointSizeF() * 0.8);
    m_font.setItalic(true);
    setZValue(-1);
    setFloat(false);
}

void EdgeItem::setFloat(bool isFloat)
{
    m_float = isFloat;
    QPen pen(isFloat ? graph_colors::floatEdge() : graph_colors::quantizedEdge(), isFloat ? 2.4 : 1.3);
    if (isFloat) {
        pen.setStyle(Qt::DashLine);
    }
    setPen(pen);
    update();
}

QRectF EdgeItem::boundingRect() const
{
    QRectF r = path().boundingRect().united(QRectF(m_tip, QSizeF(1, 1))).adjusted(-8, -8, 8, 8);
    if (!m_label.isEmpty()) {
        const QFontMetricsF fm(m_font);
        r = r.united(QRectF(m_labelAt - QPointF(fm.horizontalAdvance(m_label) / 2 + 2, fm.height() / 2),
                            QSizeF(fm.horizontalAdvance(m_label) + 4, fm.height())));
    }
    return r;
}

void EdgeItem::paint(QPainter* painter, const QStyleOptionGraphicsItem*, QWidget*)
{
    painter->setRenderHint(QPainter::Antialiasing);
    painter->setPen(pen());
    painter->setBrush(Qt::NoBrush);
    painter->drawPath(path());
    const QPointF base = path().currentPosition();
    QPointF dir = m_tip - base;
    if (qFuzzyIsNull(dir.x()) && qFuzzyIsNull(dir.y())) {
        dir = base - path().pointAtPercent(0.95);
    }
    const qreal length = std::hypot(dir.x(), dir.y());
    if (length > 0) {
        const QPointF u = dir / length;
        const QPointF n(-u.y(), u.x());
        const qreal size = m_float ? 9 : 7;
        painter->drawLine(base, m_tip);
        QPen solid = pen();
        solid.setStyle(Qt::SolidLine);
        painter->setPen(solid);
        painter->setBrush(pen().color());
        const QPointF back = m_tip - u * size;
        painter->drawPolygon(QPolygonF({m_tip, back + n * size * 0.45, back - n * size * 0.45}));
    }
    if (!m_label.isEmpty()) {
        painter->setFont(m_font);
        const QFontMetricsF fm(m_font);
        const QRectF box(m_labelAt - QPointF(fm.horizontalAdvance(m_label) / 2 + 2, fm.height() / 2),
                         QSizeF(fm.horizontalAdvance(m_label) + 4, fm.height()));
        // Graphviz estimates label widths with its own font metrics: a backing keeps the text
        // legible where it touches its edge.
        painter->setPen(Qt::NoPen);
        painter->setBrush(QColor(252, 252, 253, 220));
        painter->drawRoundedRect(box, 3, 3);
        painter->setPen(QColor(95, 100, 110));
        painter->drawText(box, Qt::AlignCenter, m_label);
    }
}

} // namespace qat::ui
