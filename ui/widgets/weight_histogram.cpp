// SPDX-License-Identifier: MIT
#include "widgets/weight_histogram.h"

#include <QVBoxLayout>
#include <qcustomplot.h>

#include <algorithm>

namespace qat::ui {

namespace {

constexpr int64_t kMaxGridLines = 33; // beyond this the grid lines would be a grey wall

} // namespace

WeightHistogram::WeightHistogram(QWidget* parent) : QWidget(parent)
{
    m_plot = new QCustomPlot(this);
    m_plot->setMinimumHeight(180);
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    m_plot->axisRect()->setRangeZoom(Qt::Horizontal);
    m_plot->axisRect()->setRangeDrag(Qt::Horizontal);
    m_plot->xAxis->setLabel(tr("weight in grid units (w / step + zero point)"));
    m_plot->yAxis->setLabel(tr("weights"));
    m_bars = new QCPBars(m_plot->xAxis, m_plot->yAxis);
    m_bars->setPen(Qt::NoPen);
    m_bars->setBrush(QColor(31, 119, 180, 170));
    m_hint = new QCPItemText(m_plot);
    m_hint->position->setType(QCPItemPosition::ptAxisRectRatio);
    m_hint->position->setCoords(0.5, 0.5);
    m_hint->setColor(QColor(120, 120, 120));
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_plot);
    reset();
}

void WeightHistogram::reset()
{
    m_latest.clear();
    m_shown.clear();
    redraw();
}

void WeightHistogram::add(const train::WeightHistogramEvent& event)
{
    const auto name = QString::fromStdString(event.quantizer);
    m_latest[name] = event;
    if (name == m_shown) {
        redraw();
    }
}

void WeightHistogram::show(const QString& quantizer)
{
    if (quantizer != m_shown) {
        m_shown = quantizer;
        redraw();
    }
}

void WeightHistogram::redraw()
{
    m_plot->clearItems();
    m_hint = new QCPItemText(m_plot);
    m_hint->position->setType(QCPItemPosition::ptAxisRectRatio);
    m_hint->position->setCoords(0.5, 0.5);
    m_hint->setColor(QColor(120, 120, 120));
    m_bars->data()->clear();
    const auto found = m_latest.find(m_shown);
    if (found == m_latest.end()) {
        m_shownStep = -1;
        m_hint->setText(m_shown.isEmpty() || m_latest.empty()
                            ? tr("The selected weight quantizer's weights\nappear here during a run")
                            : tr("Histograms are drawn for weight quantizers;\n%1 quantizes activations").arg(m_shown));
        m_plot->xAxis->setRange(-2, 2);
        m_plot->yAxis->setRange(0, 1);
        m_plot->replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    const auto& h = found->second;
    m_shownStep = h.step;
    m_hint->setVisible(false);
    const double width = (h.hi - h.lo) / double(std::max<size_t>(h.counts.size(), 1));
    double top = 1;
    for (size_t i = 0; i < h.counts.size(); ++i) {
        m_bars->addData(h.lo + (double(i) + 0.5) * width, h.counts[i]);
        top = std::max(top, double(h.counts[i]));
    }
    m_bars->setWidth(width);
    if (h.qmax - h.qmin + 1 <= kMaxGridLines) {
        for (int64_t q = h.qmin; q <= h.qmax; ++q) {
            auto* line = new QCPItemStraightLine(m_plot);
            line->point1->setCoords(double(q), 0);
            line->point2->setCoords(double(q), 1);
            line->setPen(QPen(QColor(150, 150, 150), 1, Qt::DotLine));
        }
    }
    for (double edge : {double(h.qmin) - 0.5, double(h.qmax) + 0.5}) {
        auto* clip = new QCPItemStraightLine(m_plot);
        clip->point1->setCoords(edge, 0);
        clip->point2->setCoords(edge, 1);
        clip->setPen(QPen(QColor(200, 40, 40), 1.5, Qt::DashLine));
    }
    auto* title = new QCPItemText(m_plot);
    title->position->setType(QCPItemPosition::ptAxisRectRatio);
    title->position->setCoords(0.02, 0.03);
    title->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
    const bool dotted = h.qmax - h.qmin + 1 <= kMaxGridLines;
    title->setText(tr("%1, step %2\ngrid %3..%4%5, clip range dashed red")
                       .arg(m_shown)
                       .arg(h.step)
                       .arg(h.qmin)
                       .arg(h.qmax)
                       .arg(dotted ? tr(" (dotted)") : QString()));
    title->setBrush(QColor(255, 255, 255, 200));
    m_plot->xAxis->setRange(h.lo, h.hi);
    m_plot->yAxis->setRange(0, top * 1.15);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

} // namespace qat::ui
