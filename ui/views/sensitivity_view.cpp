// SPDX-License-Identifier: MIT
#include "views/sensitivity_view.h"

#include "analysis/sensitivity.h"

#include <QComboBox>
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

namespace {

const QString kTrained = QStringLiteral("trained");
const QString kFloat = QStringLiteral("float");
const QString kLegacy = QStringLiteral("legacy");

QString percent(double v)
{
    return QStringLiteral("%1 %").arg(v * 100, 0, 'f', 2);
}

} // namespace

SensitivityView::SensitivityView(QWidget* parent) : QWidget(parent)
{
    m_mode = new QComboBox(this);
    m_mode->addItem(tr("Trained run: each layer's quantizers off"), kTrained);
    m_mode->setItemData(0, QString::fromStdString(analysis::describeMode(analysis::SensitivityMode::Trained)), Qt::ToolTipRole);
    m_mode->addItem(tr("Float model: each layer alone quantized"), kFloat);
    m_mode->setItemData(1, QString::fromStdString(analysis::describeMode(analysis::SensitivityMode::Float)), Qt::ToolTipRole);
    connect(m_mode, &QComboBox::currentIndexChanged, this, [this] {
        showMode();
        updateMeasureButton();
    });
    m_summary = new QLabel(this);
    m_summary->setWordWrap(true);
    m_images = new QSpinBox(this);
    m_images->setRange(100, 10000);
    m_images->setSingleStep(500);
    m_images->setValue(1000);
    m_images->setSuffix(tr(" test images"));
    m_measure = new QPushButton(tr("Measure Sensitivity"), this);
    connect(m_measure, &QPushButton::clicked, this, [this] { Q_EMIT measureRequested(m_runId, m_images->value(), mode()); });
    m_progress = new QProgressBar(this);
    m_progress->setMaximumWidth(200);
    m_progress->hide();

    m_plot = new QCustomPlot(this);
    m_plot->setMinimumHeight(200);
    m_plot->yAxis->setLabel(tr("top-1 the layer costs (points)"));
    m_plot->xAxis->setTickLabelRotation(30);

    auto* bar = new QHBoxLayout;
    bar->addWidget(new QLabel(tr("Measure:"), this));
    bar->addWidget(m_mode);
    bar->addStretch(1);
    bar->addWidget(m_images);
    bar->addWidget(m_measure);
    bar->addWidget(m_progress);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addLayout(bar);
    layout->addWidget(m_summary);
    layout->addWidget(m_plot, 1);
    showRun(0, {}, false, false);
}

int SensitivityView::images() const
{
    return m_images->value();
}

QString SensitivityView::mode() const
{
    return m_mode->currentData().toString();
}

void SensitivityView::setMode(const QString& mode)
{
    const int index = m_mode->findData(mode);
    if (index >= 0) {
        m_mode->setCurrentIndex(index);
    }
}

void SensitivityView::showRun(qint64 runId, const std::vector<store::SensitivityRow>& rows, bool hasTrainedState,
                              bool canMeasureFloat)
{
    m_runId = runId;
    m_rows = rows;
    m_hasTrainedState = hasTrainedState;
    m_canMeasureFloat = canMeasureFloat;
    const QSignalBlocker block(m_mode);
    // An older version's measurement is offered only where there is one.
    const bool legacy = std::any_of(rows.begin(), rows.end(), [](const auto& r) { return r.mode == "legacy"; });
    const int legacyIndex = m_mode->findData(kLegacy);
    if (legacy && legacyIndex < 0) {
        m_mode->addItem(tr("Older measurement (one layer quantized, the rest float)"), kLegacy);
    } else if (!legacy && legacyIndex >= 0) {
        m_mode->removeItem(legacyIndex);
    }
    // Keep the picked mode when it was measured, else show one that was.
    auto measured = [&](const QString& m) {
        return std::any_of(rows.begin(), rows.end(), [&](const auto& r) { return QString::fromStdString(r.mode) == m; });
    };
    if (!measured(mode())) {
        for (const auto& m : {kTrained, kFloat, kLegacy}) {
            if (measured(m)) {
                setMode(m);
                break;
            }
        }
    }
    showMode();
    updateMeasureButton();
}

void SensitivityView::updateMeasureButton()
{
    const bool can = m_runId > 0 && !m_busy
                     && ((mode() == kTrained && m_hasTrainedState) || (mode() == kFloat && m_canMeasureFloat));
    m_measure->setEnabled(can);
    m_measure->setToolTip(mode() == kLegacy ? tr("Pick a mode to measure again")
                                            : QString::fromStdString(analysis::describeStoredMode(mode().toStdString())));
}

void SensitivityView::showMode()
{
    std::vector<store::SensitivityRow> rows;
    for (const auto& r : m_rows) {
        if (QString::fromStdString(r.mode) == mode()) {
            rows.push_back(r);
        }
    }
    m_plot->clearPlottables();
    m_plot->clearItems();
    m_bars = int(rows.size());
    if (rows.empty()) {
        QString text;
        if (m_runId <= 0) {
            text = tr("Select a run.");
        } else if (mode() == kTrained && !m_hasTrainedState) {
            text = tr("Run %1 has no trained state (it did not get to train), so there is nothing to measure in this "
                      "mode; the float model's mode measures its plan.").arg(m_runId);
        } else {
            text = tr("Not measured yet for run %1 in this mode (%2): press Measure.")
                       .arg(m_runId)
                       .arg(QString::fromStdString(analysis::describeStoredMode(mode().toStdString())));
        }
        m_summary->setText(text);
        m_summary->setToolTip(QString());
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

    const auto& first = rows.front();
    m_images->setValue(int(first.images));
    QString text = tr("Run %1 on %2 test images, %3.")
                       .arg(m_runId)
                       .arg(first.images)
                       .arg(QString::fromStdString(analysis::describeStoredMode(first.mode)).toHtmlEscaped());
    if (mode() == kTrained && first.quantizedTop1) {
        text += tr(" The run: %1 (float model %2).").arg(percent(*first.quantizedTop1), percent(first.floatTop1.value_or(0)));
    } else if (mode() == kFloat && first.floatTop1) {
        text += tr(" Float model: %1; every layer quantized at once, untrained: %2.")
                    .arg(percent(*first.floatTop1), percent(first.quantizedTop1.value_or(0)));
    }
    const auto worst = std::max_element(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.drop < b.drop; });
    if (worst->drop > 0) {
        text += tr(" Most sensitive: <b>%1</b>.").arg(QString::fromStdString(worst->layer).toHtmlEscaped());
    }
    if (lowest < 0) {
        text += mode() == kTrained
                    ? tr(" Below zero: the run scores lower with that layer's quantizers off (its weights were trained "
                         "for them).")
                    : tr(" Below zero: that layer quantized scored higher than float (noise on few images).");
    }
    m_summary->setText(text);
    m_summary->setToolTip(tr("Measured %1").arg(QString::fromStdString(first.created)));
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void SensitivityView::setBusy(bool busy, const QString& text)
{
    m_busy = busy;
    m_mode->setEnabled(!busy);
    updateMeasureButton();
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
