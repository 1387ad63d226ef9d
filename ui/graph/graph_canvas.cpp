// SPDX-License-Identifier: MIT
#include "graph/graph_canvas.h"

#include "graph/graph_items.h"

#include <QMouseEvent>
#include <QScrollBar>
#include <QWheelEvent>

namespace qat::ui {

namespace {
constexpr double kMinZoom = 0.05;
constexpr double kMaxZoom = 4.0;
constexpr int kOverviewSize = 170;
// Below this the labels of a box cannot be read.
constexpr double kReadableZoom = 0.6;
constexpr double kComfortableZoom = 0.8;
} // namespace

GraphCanvas::GraphCanvas(QWidget* parent) : QGraphicsView(parent)
{
    setRenderHints(QPainter::Antialiasing | QPainter::TextAntialiasing);
    setDragMode(QGraphicsView::ScrollHandDrag);
    setTransformationAnchor(QGraphicsView::AnchorUnderMouse);
    setResizeAnchor(QGraphicsView::AnchorViewCenter);
    setViewportUpdateMode(QGraphicsView::SmartViewportUpdate);
    setBackgroundBrush(QColor(252, 252, 253));
    m_overview = new GraphOverview(this);
    m_overview->hide();
}

void GraphCanvas::fitAll()
{
    if (!scene() || scene()->items().isEmpty()) {
        return;
    }
    // The scene rect (the graph and a margin): fitting less would leave scroll bars up.
    const QRectF bounds = sceneRect();
    fitInView(bounds, Qt::KeepAspectRatio);
    if (zoom() > 1.0) {
        setTransform(QTransform());
        centerOn(bounds.center());
    }
    placeOverview();
}

void GraphCanvas::showStart()
{
    if (!scene() || scene()->items().isEmpty()) {
        return;
    }
    const QRectF bounds = sceneRect();
    const double fitAllZoom = std::min(viewport()->width() / bounds.width(), viewport()->height() / bounds.height());
    if (fitAllZoom >= kReadableZoom) {
        fitAll();
        return;
    }
    // As much of the graph as fits at a zoom that reads well, never more than 100 %.
    const double z = std::min({1.0, std::max(kComfortableZoom, fitAllZoom), std::max(kReadableZoom, viewport()->width() / bounds.width())});
    setTransform(QTransform::fromScale(z, z));
    const double halfHeight = viewport()->height() / (2 * z);
    centerOn(bounds.center().x(), bounds.top() + halfHeight);
    placeOverview();
}

void GraphCanvas::zoomBy(double factor)
{
    const double target = std::clamp(zoom() * factor, kMinZoom, kMaxZoom);
    scale(target / zoom(), target / zoom());
    placeOverview();
}

void GraphCanvas::focusOn(const QRectF& rect)
{
    const QRectF area = rect.adjusted(-40, -40, 40, 40);
    const double fit = std::min(viewport()->width() / area.width(), viewport()->height() / area.height());
    setTransform(QTransform::fromScale(std::min(1.0, fit), std::min(1.0, fit)));
    centerOn(rect.center());
    placeOverview();
}

void GraphCanvas::wheelEvent(QWheelEvent* event)
{
    const double steps = event->angleDelta().y() / 120.0;
    if (steps != 0) {
        zoomBy(std::pow(1.2, steps));
    }
    event->accept();
}

void GraphCanvas::mousePressEvent(QMouseEvent* event)
{
    if (event->button() == Qt::LeftButton) {
        for (auto* item : items(event->position().toPoint())) {
            if (item->type() == NodeItem::Type) {
                auto* node = static_cast<NodeItem*>(item);
                const auto quantizer = node->quantizerAt(node->mapFromScene(mapToScene(event->position().toPoint())));
                if (!quantizer.isEmpty()) {
                    Q_EMIT badgeClicked(quantizer);
                }
                break;
            }
        }
    }
    QGraphicsView::mousePressEvent(event);
}

void GraphCanvas::resizeEvent(QResizeEvent* event)
{
    QGraphicsView::resizeEvent(event);
    placeOverview();
}

void GraphCanvas::scrollContentsBy(int dx, int dy)
{
    QGraphicsView::scrollContentsBy(dx, dy);
    Q_EMIT viewportMoved();
    m_overview->viewport()->update();
}

// The overview shows only when part of the graph is out of sight.
void GraphCanvas::placeOverview()
{
    if (!scene()) {
        return;
    }
    const QRectF visible = mapToScene(viewport()->rect()).boundingRect();
    const bool needed = !visible.contains(scene()->itemsBoundingRect().adjusted(2, 2, -2, -2));
    m_overview->setVisible(needed && width() > 2 * kOverviewSize && height() > kOverviewSize + 40);
    if (m_overview->isVisible()) {
        const QRectF bounds = scene()->itemsBoundingRect();
        const double aspect = bounds.width() / std::max(1.0, bounds.height());
        const int w = aspect >= 1 ? kOverviewSize : std::max(60, int(kOverviewSize * aspect));
        const int h = aspect >= 1 ? std::max(60, int(kOverviewSize / aspect)) : kOverviewSize;
        const int scrollBar = verticalScrollBar()->isVisible() ? verticalScrollBar()->width() : 0;
        const int scrollBarH = horizontalScrollBar()->isVisible() ? horizontalScrollBar()->height() : 0;
        m_overview->setGeometry(width() - w - 8 - scrollBar, height() - h - 8 - scrollBarH, w, h);
        m_overview->refit();
    }
    Q_EMIT viewportMoved();
}

GraphOverview::GraphOverview(GraphCanvas* canvas) : QGraphicsView(canvas), m_canvas(canvas)
{
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    setInteractive(false);
    setRenderHints(QPainter::Antialiasing);
    setFrameShape(QFrame::Box);
    setBackgroundBrush(QColor(255, 255, 255, 235));
    setToolTip(tr("Overview: click or drag to move the view"));
}

void GraphOverview::refit()
{
    if (scene() != m_canvas->scene()) {
        setScene(m_canvas->scene());
    }
    if (scene()) {
        fitInView(scene()->itemsBoundingRect(), Qt::KeepAspectRatio);
    }
}

void GraphOverview::drawForeground(QPainter* painter, const QRectF&)
{
    const QRectF visible = m_canvas->mapToScene(m_canvas->viewport()->rect()).boundingRect();
    painter->setPen(QPen(graph_colors::selection(), 0));
    painter->setBrush(QColor(30, 120, 230, 40));
    painter->drawRect(visible);
}

void GraphOverview::mousePressEvent(QMouseEvent* event)
{
    m_canvas->centerOn(mapToScene(event->position().toPoint()));
    viewport()->update();
}

void GraphOverview::mouseMoveEvent(QMouseEvent* event)
{
    if (event->buttons() & Qt::LeftButton) {
        m_canvas->centerOn(mapToScene(event->position().toPoint()));
        viewport()->update();
    }
}

void GraphOverview::wheelEvent(QWheelEvent* event)
{
    event->accept(); // the overview always shows everything
}

} // namespace qat::ui
