// SPDX-License-Identifier: MIT
#pragma once
// The graph view's canvas: a QGraphicsView that zooms with the wheel (around the cursor),
// pans by dragging the background, and shows an overview of the whole graph in a corner
// when the graph does not fit.

#include <QGraphicsView>

namespace qat::ui {

class GraphOverview;

/// Zoomable, pannable view of a graph scene. UI thread only.
class GraphCanvas : public QGraphicsView {
    Q_OBJECT
public:
    explicit GraphCanvas(QWidget* parent = nullptr);

    /// Fits the whole scene into the window (never magnifies past 100 %).
    void fitAll();
    /// A first view that can be read: the whole graph when it fits at a readable zoom, else
    /// its top at the largest readable zoom (the overview shows the rest).
    void showStart();
    void zoomBy(double factor);
    double zoom() const { return transform().m11(); }
    /// Centres rect and zooms so it reads (100 %, or less when it would not fit).
    void focusOn(const QRectF& rect);
    GraphOverview* overview() const { return m_overview; }

Q_SIGNALS:
    /// A quantizer badge was clicked: its training site name.
    void badgeClicked(const QString& quantizer);
    /// The visible part of the scene changed (the overview follows).
    void viewportMoved();

protected:
    void wheelEvent(QWheelEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void scrollContentsBy(int dx, int dy) override;

private:
    void placeOverview();

    GraphOverview* m_overview = nullptr;
};

/// The whole scene small, with the canvas's visible part as a rectangle; click or drag to
/// move there. UI thread only.
class GraphOverview : public QGraphicsView {
    Q_OBJECT
public:
    explicit GraphOverview(GraphCanvas* canvas);
    void refit();

protected:
    void drawForeground(QPainter* painter, const QRectF& rect) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;

private:
    GraphCanvas* m_canvas;
};

} // namespace qat::ui
