// SPDX-License-Identifier: MIT
#include "widgets/live_plots.h"

#include "widgets/weight_histogram.h"
#include "widgets/plot_style.h"
#include "widgets/replot_throttle.h"

#include <QComboBox>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QSplitter>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include <algorithm>

namespace qat::ui {

namespace {

constexpr size_t kMaxChannelLines = 8;
const QColor kLossColor(40, 90, 180);
const QColor kAccuracyColor(230, 140, 30);
const QColor kEpochColor(200, 40, 40);
const QColor kBaselineColor(60, 150, 60);

QCPItemText* hintText(QCustomPlot* plot, const QString& text)
{
    auto* hint = new QCPItemText(plot);
    hint->position->setType(QCPItemPosition::ptAxisRectRatio);
    hint->position->setCoords(0.5, 0.5);
    hint->setText(text);
    hint->setColor(QColor(120, 120, 120));
    return hint;
}

QString parameterLabel(const QString& quantizer, const QString& parameter)
{
    const auto name = parameter == QStringLiteral("step")               ? QObject::tr("step size")
                      : parameter == QStringLiteral("latent_threshold") ? QObject::tr("threshold before POT rounding")
                                                                         : parameter;
    return QObject::tr("%1 of %2").arg(name, quantizer);
}

} // namespace

LivePlots::LivePlots(QWidget* parent) : QWidget(parent)
{
    m_metrics = new QCustomPlot(this);
    m_params = new QCustomPlot(this);
    m_histogram = new WeightHistogram(this);
    m_throttle = new ReplotThrottle(this);
    setUpMetricsPlot();
    setUpParametersPlot();

    m_quantizer = new QComboBox(this);
    m_quantizer->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    m_quantizer->setPlaceholderText(tr("(no data yet)"));
    m_parameter = new QComboBox(this);
    m_parameter->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    m_frozenNote = new QLabel(this);
    m_frozenNote->setStyleSheet(QStringLiteral("color: #8d6e00;"));
    m_frozenNote->hide();
    connect(m_quantizer, &QComboBox::currentIndexChanged, this, [this] {
        m_wantedQuantizer = m_quantizer->currentText();
        m_histogram->show(m_wantedQuantizer);
        refreshParameterNames();
        refreshFrozenNote();
        m_follow[m_params] = true;
        rebuildParameterGraphs();
        m_params->replot(QCustomPlot::rpQueuedReplot);
    });
    connect(m_parameter, &QComboBox::currentIndexChanged, this, [this] {
        m_follow[m_params] = true;
        rebuildParameterGraphs();
        m_params->replot(QCustomPlot::rpQueuedReplot);
    });

    auto* bottom = new QWidget(this);
    auto* controls = new QHBoxLayout;
    controls->addWidget(new QLabel(tr("Quantizer:"), bottom));
    controls->addWidget(m_quantizer);
    controls->addWidget(new QLabel(tr("Parameter:"), bottom));
    controls->addWidget(m_parameter);
    controls->addStretch(1);
    auto* hint = new QLabel(tr("Wheel: zoom, drag: pan, right-click: follow / save"), bottom);
    hint->setStyleSheet(QStringLiteral("color: palette(mid);"));
    controls->addWidget(hint);
    auto* bottomLayout = new QVBoxLayout(bottom);
    bottomLayout->setContentsMargins(0, 0, 0, 0);
    bottomLayout->addLayout(controls);
    // A row of its own, wrapped: a long note must not widen the page (and squeeze the dock).
    m_frozenNote->setWordWrap(true);
    bottomLayout->addWidget(m_frozenNote);
    auto* plots = new QHBoxLayout;
    plots->addWidget(m_params, 3);
    plots->addWidget(m_histogram, 2);
    bottomLayout->addLayout(plots, 1);

    auto* splitter = new QSplitter(Qt::Vertical, this);
    splitter->addWidget(m_metrics);
    splitter->addWidget(bottom);
    splitter->setChildrenCollapsible(false);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(splitter);

    for (auto* plot : {m_metrics, m_params}) {
        m_follow[plot] = true;
        plot->setMinimumHeight(180);
        // Lines as separate segments: a half to a quarter of the drawing time of joined
        // antialiased polylines (measured with QCustomPlot 2.1: 200 steps 12.5 -> 6.3 ms, 2,000
        // steps 117 -> 30 ms), which the throttle turns into more frequent redraws.
        plot->setPlottingHint(QCP::phFastPolylines, true);
        plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
        plot->setContextMenuPolicy(Qt::CustomContextMenu);
        connect(plot, &QCustomPlot::customContextMenuRequested, this,
                [this, plot](const QPoint& pos) { showContextMenu(plot, pos); });
        // Any zoom or pan by the user ends following the newest data.
        connect(plot, &QCustomPlot::mouseWheel, this, [this, plot] { m_follow[plot] = false; });
        connect(plot, &QCustomPlot::mousePress, this, [this, plot](QMouseEvent* e) {
            if (e->button() == Qt::LeftButton) {
                m_follow[plot] = false;
            }
        });
        connect(plot, &QCustomPlot::mouseDoubleClick, this, [this, plot] {
            m_follow[plot] = true;
            follow(plot);
            plot->replot();
        });
    }
}

void LivePlots::setUpMetricsPlot()
{
    auto* p = m_metrics;
    p->xAxis->setLabel(tr("step"));
    p->yAxis->setLabel(tr("training loss"));
    p->yAxis2->setVisible(true);
    p->yAxis2->setLabel(tr("accuracy"));
    p->yAxis2->setRange(0, 1.02);
    p->axisRect()->setRangeZoomAxes({p->xAxis, p->yAxis});
    p->axisRect()->setRangeDragAxes({p->xAxis, p->yAxis});
    auto* loss = p->addGraph(p->xAxis, p->yAxis);
    loss->setName(tr("loss (batch)"));
    loss->setPen(QPen(kLossColor, 1.5));
    auto* accuracy = p->addGraph(p->xAxis, p->yAxis2);
    accuracy->setName(tr("accuracy (batch)"));
    accuracy->setPen(QPen(kAccuracyColor, 1.2));
    auto* epochs = p->addGraph(p->xAxis, p->yAxis2);
    epochs->setName(tr("test top-1 (epoch)"));
    epochs->setLineStyle(QCPGraph::lsNone);
    epochs->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDiamond, kEpochColor, kEpochColor, 9));
    m_baseline = new QCPItemStraightLine(p);
    m_baseline->point1->setAxes(p->xAxis, p->yAxis2);
    m_baseline->point2->setAxes(p->xAxis, p->yAxis2);
    m_baseline->setPen(QPen(kBaselineColor, 1.5, Qt::DashLine));
    m_baseline->setVisible(false);
    m_baselineLabel = new QCPItemText(p);
    m_baselineLabel->position->setTypeX(QCPItemPosition::ptAxisRectRatio);
    m_baselineLabel->position->setTypeY(QCPItemPosition::ptPlotCoords);
    m_baselineLabel->position->setAxes(p->xAxis, p->yAxis2);
    m_baselineLabel->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
    m_baselineLabel->setColor(kBaselineColor);
    m_baselineLabel->setBrush(QColor(255, 255, 255, 200));
    m_baselineLabel->setVisible(false);
    styleLegend(p);
    p->xAxis->setRange(0, 10);
    p->yAxis->setRange(0, 1);
    m_metricsHint = hintText(p, tr("Start a run (Ctrl+R) to see loss and accuracy here"));
}

void LivePlots::setUpParametersPlot()
{
    auto* p = m_params;
    p->xAxis->setLabel(tr("step"));
    p->yAxis->setLabel(tr("quantizer parameter"));
    styleLegend(p);
    showLegend(p, false);
    p->xAxis->setRange(0, 10);
    p->yAxis->setRange(0, 1);
    m_paramsHint = hintText(p, tr("Quantizer thresholds, steps or ranges appear here during a run"));
}

void LivePlots::reset()
{
    for (int i = 0; i < m_metrics->graphCount(); ++i) {
        m_metrics->graph(i)->data()->clear();
    }
    m_traces.clear();
    m_order.clear();
    m_learning.clear();
    m_frozenNote->hide();
    m_histogram->reset();
    m_floatTop1 = -1;
    m_lastStep = 0;
    m_baseline->setVisible(false);
    m_baselineLabel->setVisible(false);
    m_metricsHint->setText(tr("Loading data and the model, measuring the float model, calibrating..."));
    m_metricsHint->setVisible(true);
    m_paramsHint->setVisible(true);
    {
        const QSignalBlocker a(m_quantizer);
        const QSignalBlocker b(m_parameter);
        m_quantizer->clear();
        m_parameter->clear();
    }
    m_params->clearGraphs();
    showLegend(m_params, false);
    for (auto& [plot, on] : m_follow) {
        on = true;
    }
    m_metrics->replot();
    m_params->replot();
}

QString LivePlots::metricsHint() const
{
    return m_metricsHint->visible() ? m_metricsHint->text() : QString();
}

void LivePlots::setFloatTop1(double top1)
{
    m_floatTop1 = top1;
    m_baseline->point1->setCoords(0, top1);
    m_baseline->point2->setCoords(1, top1);
    m_baseline->setVisible(true);
    m_baselineLabel->position->setCoords(0.01, top1);
    m_baselineLabel->setText(tr("float model top-1 %1 %").arg(top1 * 100, 0, 'f', 2));
    m_baselineLabel->setVisible(true);
}

void LivePlots::append(const TrainEventBatch& events)
{
    bool metricsChanged = false;
    bool selectedChanged = false;
    bool newQuantizers = false;
    bool runEnded = false;
    const auto selected = m_quantizer->currentText();
    for (const auto& event : events) {
        if (const auto* s = std::get_if<train::StepEvent>(&event)) {
            const double step = double(s->step);
            m_metrics->graph(0)->addData(step, s->loss);
            m_metrics->graph(1)->addData(step, s->accuracy);
            m_lastStep = step;
            metricsChanged = true;
        } else if (const auto* e = std::get_if<train::EpochEvent>(&event)) {
            m_metrics->graph(2)->addData(m_lastStep, e->top1);
            metricsChanged = true;
        } else if (const auto* snap = std::get_if<train::SnapshotEvent>(&event)) {
            const auto name = QString::fromStdString(snap->quantizer);
            auto& params = m_traces[name];
            if (params.empty()) {
                m_order << name;
                newQuantizers = true;
            }
            for (const auto& [param, values] : snap->values.values) {
                params[QString::fromStdString(param)].emplace_back(double(snap->step), values);
            }
            selectedChanged = selectedChanged || name == selected;
        } else if (const auto* baseline = std::get_if<train::FloatModelEvent>(&event)) {
            setFloatTop1(baseline->top1);
            metricsChanged = true;
        } else if (const auto* histogram = std::get_if<train::WeightHistogramEvent>(&event)) {
            m_histogram->add(*histogram);
        } else if (const auto* state = std::get_if<train::StateEvent>(&event)) {
            runEnded = true; // or calibration began: either way, worth drawing now
            showEndWithoutSteps(*state);
        } else if (const auto* learning = std::get_if<train::QuantizersEvent>(&event)) {
            for (const auto& q : learning->quantizers) {
                m_learning[QString::fromStdString(q.quantizer)] = q;
            }
        }
    }
    if (newQuantizers) {
        // Combo order is the trainer's order (the model's), not alphabetical.
        const QSignalBlocker block(m_quantizer);
        for (const auto& name : m_order) {
            if (m_quantizer->findText(name) < 0) {
                m_quantizer->addItem(name);
            }
        }
        const int wanted = m_quantizer->findText(m_wantedQuantizer);
        if (m_quantizer->currentIndex() < 0 || (wanted >= 0 && wanted != m_quantizer->currentIndex())) {
            // Unless one was asked for: the first that learns (under mct-default the first
            // quantizer is an STE weight threshold, a flat line by design).
            m_quantizer->setCurrentIndex(wanted >= 0 ? wanted : firstLearningIndex());
            m_histogram->show(m_quantizer->currentText());
            refreshParameterNames();
            refreshFrozenNote();
            selectedChanged = true;
        }
    }
    if (metricsChanged) {
        m_metricsHint->setVisible(m_metrics->graph(0)->dataCount() == 0);
        if (m_metricsHint->visible()) {
            m_metricsHint->setText(tr("Calibrating the quantizers..."));
        }
        follow(m_metrics);
        m_throttle->request(m_metrics);
        if (!selectedChanged && m_params->graphCount() > 0) {
            follow(m_params);
            m_throttle->request(m_params);
        }
    }
    if (selectedChanged) {
        rebuildParameterGraphs();
        m_throttle->request(m_params);
    }
    if (runEnded) {
        // The final curves, not those of the last turn; both plots, laid out at their
        // current size (a plot last drawn before its page was first shown kept that size).
        m_throttle->request(m_metrics);
        m_throttle->request(m_params);
        m_throttle->flush();
    }
}

// A run that ends before its first step (a data or model problem, a cancel during
// calibration) must not leave "Loading data..." on the empty plot.
void LivePlots::showEndWithoutSteps(const train::StateEvent& state)
{
    using train::RunState;
    const bool ended = state.state == RunState::Failed || state.state == RunState::Cancelled
                       || state.state == RunState::Diverged || state.state == RunState::Finished;
    if (!ended || m_metrics->graph(0)->dataCount() > 0) {
        return;
    }
    auto reason = QString::fromStdString(state.message).section(QLatin1Char('\n'), 0, 0);
    if (reason.size() > 90) {
        reason = reason.left(87) + QStringLiteral("...");
    }
    m_metricsHint->setText(state.state == RunState::Failed ? tr("The run failed before its first step:\n%1").arg(reason)
                                                           : tr("The run ended before its first step."));
    m_metricsHint->setVisible(true);
    m_throttle->request(m_metrics);
}

int LivePlots::firstLearningIndex() const
{
    for (int i = 0; i < m_quantizer->count(); ++i) {
        const auto found = m_learning.find(m_quantizer->itemText(i));
        if (found != m_learning.end() && found->second.learns) {
            return i;
        }
    }
    return 0;
}

QString LivePlots::frozenNote() const
{
    const auto found = m_learning.find(m_quantizer->currentText());
    if (found == m_learning.end() || found->second.learns) {
        return {};
    }
    return found->second.frozenByPlan
               ? tr("frozen by the plan (freeze): its parameters keep their calibrated values")
               : tr("frozen by its training method (%1): its parameters keep their calibrated values")
                     .arg(QString::fromStdString(found->second.training));
}

void LivePlots::refreshFrozenNote()
{
    const auto note = frozenNote();
    m_frozenNote->setText(note);
    m_frozenNote->setVisible(!note.isEmpty());
}

void LivePlots::refreshParameterNames()
{
    const QSignalBlocker block(m_parameter);
    const auto previous = m_parameter->currentText();
    m_parameter->clear();
    const auto found = m_traces.find(m_quantizer->currentText());
    if (found == m_traces.end()) {
        return;
    }
    for (const auto& [param, unused] : found->second) {
        m_parameter->addItem(param);
    }
    const int keep = m_parameter->findText(previous);
    m_parameter->setCurrentIndex(keep >= 0 ? keep : 0);
}

void LivePlots::rebuildParameterGraphs()
{
    m_params->clearGraphs();
    const auto q = m_traces.find(m_quantizer->currentText());
    if (q == m_traces.end() || q->second.find(m_parameter->currentText()) == q->second.end()) {
        showLegend(m_params, false);
        m_paramsHint->setVisible(true);
        return;
    }
    const auto& trace = q->second.at(m_parameter->currentText());
    m_paramsHint->setVisible(trace.empty());
    const size_t channels = trace.empty() ? 0 : trace.front().second.size();
    m_params->yAxis->setLabel(parameterLabel(m_quantizer->currentText(), m_parameter->currentText()));
    if (channels <= kMaxChannelLines) {
        for (size_t c = 0; c < channels; ++c) {
            auto* g = m_params->addGraph();
            g->setName(channels == 1 ? m_parameter->currentText() : tr("channel %1").arg(c));
            g->setPen(QPen(seriesColor(c), 1.5));
            // Snapshots come every few steps: dots show where they are (and a lone first one).
            g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 4));
            for (const auto& [step, values] : trace) {
                if (c < values.size()) {
                    g->addData(step, values[c]);
                }
            }
        }
    } else {
        // Many channels: a band from the smallest to the largest, and the median.
        auto* low = m_params->addGraph();
        auto* high = m_params->addGraph();
        auto* median = m_params->addGraph();
        low->setName(tr("min of %1 channels").arg(channels));
        high->setName(tr("max"));
        median->setName(tr("median"));
        const QColor band(31, 119, 180);
        low->setPen(QPen(band.lighter(130), 1));
        high->setPen(QPen(band.lighter(130), 1));
        high->setBrush(QColor(band.red(), band.green(), band.blue(), 50));
        high->setChannelFillGraph(low);
        median->setPen(QPen(band.darker(120), 2));
        median->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 5));
        for (const auto& [step, values] : trace) {
            if (values.empty()) {
                continue;
            }
            auto sorted = values;
            std::sort(sorted.begin(), sorted.end());
            low->addData(step, sorted.front());
            high->addData(step, sorted.back());
            median->addData(step, sorted[sorted.size() / 2]);
        }
    }
    showLegend(m_params, channels > 1);
    follow(m_params);
}

void LivePlots::follow(QCustomPlot* plot)
{
    if (!m_follow[plot]) {
        return;
    }
    bool anyKey = false;
    bool anyValue = false;
    double lastKey = 1;
    double low = 0;
    double high = 0;
    for (int i = 0; i < plot->graphCount(); ++i) {
        auto* g = plot->graph(i);
        bool ok = false;
        const auto keys = g->getKeyRange(ok);
        if (!ok) {
            continue;
        }
        anyKey = true;
        lastKey = std::max(lastKey, keys.upper);
        if (g->valueAxis() != plot->yAxis) {
            continue; // accuracy has its fixed 0..1 axis
        }
        const auto values = g->getValueRange(ok);
        if (ok) {
            low = anyValue ? std::min(low, values.lower) : values.lower;
            high = anyValue ? std::max(high, values.upper) : values.upper;
            anyValue = true;
        }
    }
    if (!anyKey) {
        return;
    }
    if (plot == m_params) {
        lastKey = std::max(lastKey, m_lastStep); // line up with the loss plot's steps
    }
    plot->xAxis->setRange(0, lastKey * 1.02);
    if (anyValue) {
        const double span = std::max(high - low, std::abs(high) * 1e-3 + 1e-9);
        plot->yAxis->setRange(low - span * 0.05, high + span * 0.05);
    }
}

void LivePlots::selectQuantizer(const QString& quantizer)
{
    m_wantedQuantizer = quantizer;
    const int index = m_quantizer->findText(quantizer);
    if (index >= 0) {
        m_quantizer->setCurrentIndex(index);
    }
}

int LivePlots::stepCount() const
{
    return m_metrics->graph(0)->dataCount();
}

QString LivePlots::selectedQuantizer() const
{
    return m_quantizer->currentText();
}

QStringList LivePlots::quantizers() const
{
    return m_order;
}

void LivePlots::setFollowing(QCustomPlot* plot, bool on)
{
    m_follow[plot] = on;
    follow(plot);
    plot->replot();
}

bool LivePlots::isFollowing(const QCustomPlot* plot) const
{
    const auto found = m_follow.find(plot);
    return found != m_follow.end() && found->second;
}

bool LivePlots::savePlot(QCustomPlot* plot, const QString& path)
{
    if (path.endsWith(QStringLiteral(".pdf"), Qt::CaseInsensitive)) {
        return plot->savePdf(path);
    }
    return plot->savePng(path);
}

void LivePlots::showContextMenu(QCustomPlot* plot, const QPoint& pos)
{
    QMenu menu(this);
    auto* followAction = menu.addAction(tr("Follow Newest Data"));
    followAction->setCheckable(true);
    followAction->setChecked(m_follow[plot]);
    connect(followAction, &QAction::toggled, this, [this, plot](bool on) {
        m_follow[plot] = on;
        follow(plot);
        plot->replot();
    });
    menu.addSeparator();
    menu.addAction(tr("Save as PNG..."), this, [this, plot] {
        const auto path = QFileDialog::getSaveFileName(this, tr("Save Plot"), QStringLiteral("plot.png"),
                                                       tr("PNG images (*.png)"));
        if (!path.isEmpty()) savePlot(plot, path);
    });
    menu.addAction(tr("Save as PDF..."), this, [this, plot] {
        const auto path = QFileDialog::getSaveFileName(this, tr("Save Plot"), QStringLiteral("plot.pdf"),
                                                       tr("PDF documents (*.pdf)"));
        if (!path.isEmpty()) savePlot(plot, path);
    });
    menu.exec(plot->mapToGlobal(pos));
}

} // namespace qat::ui
