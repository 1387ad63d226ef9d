// SPDX-License-Identifier: MIT
#include "views/sensitivity_view.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>

namespace qat::ui {

SensitivityView::SensitivityView(QWidget* parent) : QWidget(parent)
{
    m_summary = new QLabel(this);
    m_summary->setWordWrap(true);
    m_images = new QSpinBox(this);
    m_images->setRange(100, 10000);
    m_images->setSingleStep(500);
    m_images->setValue(1000);
    m_images->setSuffix(tr(" test images"));
    m_measure = new QPushButton(tr("Measure Sensitivity"), this);
    m_measure->setToolTip(tr("Quantize one layer at a time (the rest float) and measure the top-1 it costs"));
    connect(m_measure, &QPushButton::clicked, this, [this] { Q_EMIT measureRequested(m_runId, m_images->value()); });
    m_progress = new QProgressBar(this);
    m_progress->setMaximumWidth(200);
    m_progress->hide();

    m_plot = new QCustomPlot(this);
    m_plot->setMinimumHeight(200);
    m_plot->yAxis->setLabel(tr("top-1 drop (points; higher: more sensitive)"));
    m_plot->xAxis->setTickLabelRotation(30);

    auto* bar = new QHBoxLayout;
    bar->addWidget(m_summary, 1);
    bar->addWidget(m_images);
    bar->addWidget(m_measure);
    bar->addWidget(m_progress);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(bar);
    layout->addWidget(m_plot, 1);
    showRun(0, {}, false);
}

int SensitivityView::images() const
{
    return m_images->value();
}

void SensitivityView::showRun(qint64 runId, const std::vector<store::SensitivityRow>& rows, bool canMeasure)
{
    m_runId = runId;
    m_canMeasure = canMeasure;
    m_measure->setEnabled(canMeasure && runId > 0);
    m_plot->clearPlottables();
    m_plot->clearItems();
    m_bars = int(rows.size());
    if (rows.empty()) {
        m_summary->setText(runId <= 0 ? tr("Select a run.")
                           : canMeasure ? tr("Not measured yet for run %1: press Measure to quantize one layer at a "
                                             "time and see which layers cost accuracy.").arg(runId)
                                        : tr("Run %1 has no trained state (it did not get to train), so there is "
                                             "nothing to measure.").arg(runId));
        m_plot->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
        m_plot->replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    auto* bars = new QCPBars(m_plot->xAxis, m_plot->yAxis);
    bars->setWidth(0.6);
    bars->setPen(Qt::NoPen);
    bars->setBrush(QColor(214, 39, 40, 200));
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    double lowest = 0;
    double highest = 0.1;
    for (size_t i = 0; i < rows.size(); ++i) {
        const double drop = rows[i].drop * 100;
        bars->addData(double(i + 1), drop);
        ticker->addTick(double(i + 1), QString::fromStdString(rows[i].layer));
        lowest = std::min(lowest, drop);
        highest = std::max(highest, drop);
    }
    const double span = std::max(highest - lowest, 0.1);
    // The value on every bar: a layer that costs nothing has no visible bar otherwise.
    for (size_t i = 0; i < rows.size(); ++i) {
        const double drop = rows[i].drop * 100;
        auto* label = new QCPItemText(m_plot);
        label->position->setCoords(double(i + 1), drop >= 0 ? drop + span * 0.03 : drop - span * 0.03);
        label->setPositionAlignment(Qt::AlignHCenter | (drop >= 0 ? Qt::AlignBottom : Qt::AlignTop));
        label->setText(QStringLiteral("%1%2").arg(drop < 0 ? QStringLiteral("\u2212") : QString()).arg(std::abs(drop), 0, 'f', 2));
    }
    m_plot->xAxis->setTicker(ticker);
    m_plot->xAxis->setRange(0.3, double(rows.size()) + 0.7);
    m_plot->yAxis->setRange(std::min(lowest, 0.0) - span * 0.15, std::max(highest, 0.0) + span * 0.15);
    const auto worst = std::max_element(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.drop < b.drop; });
    const double floatTop1 = rows.front().top1 + rows.front().drop;
    m_images->setValue(int(rows.front().images));
    QString text = tr("Run %1 on %2 test images. Each bar: the top-1 lost when only that layer is quantized, against "
                      "the trained weights with every quantizer off (top-1 %3 %).")
                       .arg(runId)
                       .arg(rows.front().images)
                       .arg(floatTop1 * 100, 0, 'f', 2);
    if (worst->drop > 0) {
        text += tr(" Most sensitive: <b>%1</b>.").arg(QString::fromStdString(worst->layer));
    }
    if (lowest < 0) {
        text += tr(" Below zero: that layer quantized scored higher than float (noise on few images).");
    }
    m_summary->setText(text);
    m_summary->setToolTip(tr("Measured %1").arg(QString::fromStdString(rows.front().created)));
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void SensitivityView::setBusy(bool busy, const QString& text)
{
    m_measure->setEnabled(!busy && m_canMeasure && m_runId > 0);
    m_progress->setVisible(busy);
    m_progress->setRange(0, 0);
    if (!text.isEmpty()) {
        m_summary->setText(text);
    }
}

void SensitivityView::setProgress(int done, int total)
{
    m_progress->setRange(0, total);
    m_progress->setValue(done);
}

} // namespace qat::ui
