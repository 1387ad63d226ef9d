// SPDX-License-Identifier: MIT
#include "widgets/bits_chart.h"

#include "widgets/plot_style.h"

#include <QVBoxLayout>

#include <qcustomplot.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace qat::ui {

BitsChart::BitsChart(QWidget* parent) : QWidget(parent)
{
    m_plot = new QCustomPlot(this);
    m_plot->setObjectName(QStringLiteral("bitsChart"));
    m_plot->setMinimumHeight(220);
    m_plot->yAxis->setLabel(tr("weight bits"));
    m_plot->yAxis2->setLabel(tr("predicted loss (log)"));
    m_plot->yAxis2->setVisible(true);
    m_plot->yAxis2->setScaleType(QCPAxis::stLogarithmic);
    m_plot->yAxis2->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    m_plot->yAxis2->setNumberFormat(QStringLiteral("eb"));
    m_plot->yAxis2->setNumberPrecision(0);
    m_plot->xAxis->setTickLabelRotation(30);
    styleLegend(m_plot);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_plot);
}

void BitsChart::clear()
{
    m_bits.clear();
    m_plot->clearPlottables();
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void BitsChart::showFit(const analysis::FitResult& fit)
{
    clear();
    if (fit.sensitivity.empty()) {
        showLegend(m_plot, false);
        return;
    }
    auto* bars = new QCPBars(m_plot->xAxis, m_plot->yAxis);
    bars->setName(tr("bits chosen"));
    bars->setWidth(0.6);
    bars->setPen(Qt::NoPen);
    bars->setBrush(QColor(31, 119, 180, 170));
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    const auto& candidates = fit.sensitivity.front().bits;
    // One scatter per candidate: each layer's predicted loss at that width, the chosen one filled.
    std::vector<QCPGraph*> losses;
    for (size_t c = 0; c < candidates.size(); ++c) {
        auto* g = m_plot->addGraph(m_plot->xAxis, m_plot->yAxis2);
        g->setName(tr("loss at %1 bits").arg(candidates[c]));
        g->setLineStyle(QCPGraph::lsNone);
        g->setPen(QPen(seriesColor(c + 1), 1.5));
        g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, seriesColor(c + 1), 7));
        losses.push_back(g);
    }
    auto* chosen = m_plot->addGraph(m_plot->xAxis, m_plot->yAxis2);
    chosen->setName(tr("at the chosen bits"));
    chosen->setLineStyle(QCPGraph::lsNone);
    chosen->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, Qt::black, 5));
    double lowest = std::numeric_limits<double>::max();
    double highest = 0;
    int most = 8;
    for (size_t i = 0; i < fit.sensitivity.size(); ++i) {
        const auto& s = fit.sensitivity[i];
        int bits = 32;
        for (const auto& l : fit.resources.layers) {
            if (l.name == s.layer) bits = l.weightBits;
        }
        m_bits.push_back(bits);
        most = std::max(most, std::min(bits, 32));
        const double x = double(i + 1);
        bars->addData(x, bits);
        ticker->addTick(x, QString::fromStdString(s.layer));
        for (size_t c = 0; c < s.loss.size() && c < losses.size(); ++c) {
            if (s.loss[c] <= 0) continue; // nothing to show on a log axis
            losses[c]->addData(x, s.loss[c]);
            lowest = std::min(lowest, s.loss[c]);
            highest = std::max(highest, s.loss[c]);
            if (s.bits[c] == bits) chosen->addData(x, s.loss[c]);
        }
    }
    m_plot->xAxis->setTicker(ticker);
    m_plot->xAxis->setRange(0.3, double(fit.sensitivity.size()) + 0.7);
    m_plot->yAxis->setRange(0, most + 1);
    if (highest > 0) {
        m_plot->yAxis2->setRange(lowest / 3, highest * 3);
    }
    showLegend(m_plot, true);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

} // namespace qat::ui
