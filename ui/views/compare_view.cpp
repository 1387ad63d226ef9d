// SPDX-License-Identifier: MIT
#include "views/compare_view.h"

#include "analysis/resources.h"
#include "models/run_table_model.h"
#include "widgets/plot_style.h"

#include <nlohmann/json.hpp>

#include <QComboBox>
#include <QFileInfo>
#include <QGridLayout>
#include <QHeaderView>
#include <QLabel>
#include <QStandardItemModel>
#include <QTableView>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace qat::ui {

namespace {

using nlohmann::json;

QCustomPlot* makePlot(QWidget* parent, const QString& xLabel, const QString& yLabel)
{
    auto* plot = new QCustomPlot(parent);
    plot->setMinimumSize(260, 180);
    plot->xAxis->setLabel(xLabel);
    plot->yAxis->setLabel(yLabel);
    plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    styleLegend(plot);
    return plot;
}

QWidget* titled(QWidget* parent, QWidget* content, QWidget* header)
{
    auto* box = new QWidget(parent);
    auto* layout = new QVBoxLayout(box);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    layout->addWidget(header);
    layout->addWidget(content, 1);
    return box;
}

} // namespace

QString describeQuantizer(const store::QuantizerRow& q)
{
    const auto config = json::parse(q.config, nullptr, false);
    QString text = QStringLiteral("%1 %2").arg(QString::fromStdString(q.training), QString::fromStdString(q.method));
    if (config.is_object()) {
        text += QStringLiteral(" %1-bit").arg(config.value("bits", 0));
        if (q.target == "weights") {
            text += config.value("per_channel", false) ? QStringLiteral(" per-channel") : QStringLiteral(" per-tensor");
        }
    }
    return text;
}

CompareView::CompareView(QWidget* parent) : QWidget(parent)
{
    m_hint = new QLabel(tr("Select two or more runs in the table (Ctrl+click) and press Compare."), this);
    m_hint->setAlignment(Qt::AlignCenter);
    m_hint->setStyleSheet(QStringLiteral("color: palette(mid);"));

    m_content = new QWidget(this);
    m_loss = makePlot(m_content, tr("step"), tr("training loss"));
    m_accuracy = makePlot(m_content, tr("step"), tr("batch accuracy / test top-1"));
    m_trace = makePlot(m_content, tr("step"), tr("threshold"));
    m_quantizer = new QComboBox(m_content);
    m_quantizer->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    m_quantizer->setToolTip(tr("The quantizer whose parameter is traced (mean over channels)"));
    connect(m_quantizer, &QComboBox::currentIndexChanged, this, [this] { plotTrace(); });
    auto* traceHeader = new QWidget(m_content);
    auto* traceBar = new QHBoxLayout(traceHeader);
    traceBar->setContentsMargins(0, 0, 0, 0);
    traceBar->addWidget(new QLabel(tr("Quantizer:"), traceHeader));
    traceBar->addWidget(m_quantizer);
    traceBar->addStretch(1);

    m_diff = new QStandardItemModel(this);
    m_diffView = new QTableView(m_content);
    m_diffView->setModel(m_diff);
    m_diffView->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_diffView->verticalHeader()->hide();
    m_diffView->setWordWrap(false);
    m_diffView->setTextElideMode(Qt::ElideMiddle);
    m_diffView->setAlternatingRowColors(true);
    m_diffLabel = new QLabel(m_content);
    m_resources = new QStandardItemModel(this);
    m_resourcesView = new QTableView(m_content);
    m_resourcesView->setObjectName(QStringLiteral("compareResources"));
    m_resourcesView->setModel(m_resources);
    m_resourcesView->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_resourcesView->verticalHeader()->hide();
    m_resourcesView->setWordWrap(false);
    m_resourcesView->setAlternatingRowColors(true);
    m_resourcesView->setMaximumHeight(150);

    auto* grid = new QGridLayout(m_content);
    grid->setContentsMargins(0, 0, 0, 0);
    grid->addWidget(m_resourcesView, 0, 0, 1, 2);
    grid->addWidget(m_loss, 1, 0);
    grid->addWidget(m_accuracy, 1, 1);
    grid->addWidget(titled(m_content, m_trace, traceHeader), 2, 0);
    grid->addWidget(titled(m_content, m_diffView, m_diffLabel), 2, 1);
    grid->setRowStretch(1, 1);
    grid->setRowStretch(2, 1);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(m_hint, 1);
    layout->addWidget(m_content, 1);
    m_content->hide();
}

std::vector<qint64> CompareView::runIds() const
{
    std::vector<qint64> ids;
    for (const auto& r : m_runs) {
        ids.push_back(r.run.id);
    }
    return ids;
}

QStringList CompareView::quantizers() const
{
    QStringList names;
    for (int i = 0; i < m_quantizer->count(); ++i) {
        names << m_quantizer->itemText(i);
    }
    return names;
}

void CompareView::showRuns(store::RunStore* store, const std::vector<qint64>& ids)
{
    m_store = store;
    m_runs.clear();
    if (store != nullptr) {
        for (auto id : ids) {
            if (auto run = store->run(id)) {
                RunSeries s{*run, store->quantizers(id), {}};
                s.label = QStringLiteral("#%1 %2 %3").arg(id).arg(planPreset(run->plan), planBits(run->plan));
                m_runs.push_back(std::move(s));
            }
        }
    }
    const bool enough = m_runs.size() >= 2;
    m_hint->setVisible(!enough);
    m_content->setVisible(enough);

    // Quantizers any of the runs recorded, in the first run's order.
    const auto previous = m_quantizer->currentText();
    std::vector<QString> names;
    std::set<QString> seen;
    for (const auto& r : m_runs) {
        for (const auto& q : r.quantizers) {
            const auto name = QString::fromStdString(q.name);
            if (seen.insert(name).second) {
                names.push_back(name);
            }
        }
    }
    {
        const QSignalBlocker block(m_quantizer);
        m_quantizer->clear();
        for (const auto& n : names) {
            m_quantizer->addItem(n);
        }
        const int keep = m_quantizer->findText(previous);
        m_quantizer->setCurrentIndex(keep >= 0 ? keep : 0);
    }
    plotMetrics();
    plotTrace();
    fillDiff();
    fillResources();
}

void CompareView::selectQuantizer(const QString& quantizer)
{
    const int index = m_quantizer->findText(quantizer);
    if (index >= 0) {
        m_quantizer->setCurrentIndex(index);
    }
}

void CompareView::plotMetrics()
{
    m_loss->clearGraphs();
    m_accuracy->clearGraphs();
    if (m_store == nullptr) {
        return;
    }
    for (size_t i = 0; i < m_runs.size(); ++i) {
        const auto& r = m_runs[i];
        const auto color = seriesColor(i);
        auto* loss = m_loss->addGraph();
        loss->setName(r.label);
        loss->setPen(QPen(color, 1.5));
        for (const auto& p : m_store->metrics(r.run.id, "loss")) {
            loss->addData(double(p.step), p.value);
        }
        auto* accuracy = m_accuracy->addGraph();
        accuracy->setName(r.label);
        accuracy->setPen(QPen(color, 1.5));
        for (const auto& p : m_store->metrics(r.run.id, "accuracy")) {
            accuracy->addData(double(p.step), p.value);
        }
        // The test top-1 after training, as a marker at the run's last step.
        if (r.run.qatTop1) {
            auto* final = m_accuracy->addGraph();
            final->setLineStyle(QCPGraph::lsNone);
            final->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDiamond, color, color, 9));
            final->addData(double(r.run.steps), *r.run.qatTop1);
            final->removeFromLegend();
        }
    }
    for (auto* plot : {m_loss, m_accuracy}) {
        plot->rescaleAxes();
        plot->yAxis->scaleRange(1.1, plot->yAxis->range().center());
        // Room for the final top-1 markers at the last step.
        const auto x = plot->xAxis->range();
        plot->xAxis->setRange(x.lower, x.upper + std::max(1.0, x.size() * 0.03));
        plot->replot(QCustomPlot::rpQueuedReplot);
    }
}

void CompareView::plotTrace()
{
    m_trace->clearGraphs();
    const auto quantizer = m_quantizer->currentText().toStdString();
    if (m_store == nullptr || quantizer.empty()) {
        m_trace->replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    QString parameterShown;
    for (size_t i = 0; i < m_runs.size(); ++i) {
        const auto points = m_store->traces(m_runs[i].run.id, quantizer);
        if (points.empty()) {
            continue;
        }
        // The threshold when the quantizer has one, else its first parameter (step, min, ...).
        std::string parameter = points.front().parameter;
        for (const auto& p : points) {
            if (p.parameter == "threshold") {
                parameter = p.parameter;
                break;
            }
        }
        parameterShown = QString::fromStdString(parameter);
        std::map<int64_t, std::pair<double, int>> byStep; // step -> (sum, channels)
        for (const auto& p : points) {
            if (p.parameter == parameter) {
                auto& [sum, n] = byStep[p.step];
                sum += p.value;
                ++n;
            }
        }
        auto* graph = m_trace->addGraph();
        graph->setName(m_runs[i].label);
        graph->setPen(QPen(seriesColor(i), 1.5));
        for (const auto& [step, acc] : byStep) {
            graph->addData(double(step), acc.first / acc.second);
        }
    }
    m_trace->yAxis->setLabel(parameterShown.isEmpty() ? tr("no trace recorded") : tr("mean %1").arg(parameterShown));
    m_trace->rescaleAxes();
    m_trace->yAxis->scaleRange(1.1, m_trace->yAxis->range().center());
    if (m_trace->yAxis->range().size() < 1e-9) { // a constant trace: show it mid-plot
        const double v = m_trace->yAxis->range().center();
        m_trace->yAxis->setRange(v - std::max(std::abs(v) * 0.05, 1e-6), v + std::max(std::abs(v) * 0.05, 1e-6));
    }
    m_trace->replot(QCustomPlot::rpQueuedReplot);
}

void CompareView::fillDiff()
{
    m_diff->clear();
    QStringList headers{tr("Quantizer")};
    for (const auto& r : m_runs) {
        headers << QStringLiteral("#%1 %2").arg(r.run.id).arg(planPreset(r.run.plan));
    }
    m_diff->setHorizontalHeaderLabels(headers);
    std::vector<std::string> names;
    std::set<std::string> seen;
    for (const auto& r : m_runs) {
        for (const auto& q : r.quantizers) {
            if (seen.insert(q.name).second) {
                names.push_back(q.name);
            }
        }
    }
    int differing = 0;
    for (const auto& name : names) {
        QStringList cells;
        for (const auto& r : m_runs) {
            const auto found = std::find_if(r.quantizers.begin(), r.quantizers.end(),
                                            [&](const auto& q) { return q.name == name; });
            cells << (found != r.quantizers.end() ? describeQuantizer(*found)
                                                  : r.quantizers.empty() ? tr("(not recorded: %1)").arg(QString::fromStdString(r.run.state))
                                                                         : tr("(none)"));
        }
        if (cells.count(cells.front()) == cells.size()) {
            continue;
        }
        ++differing;
        QList<QStandardItem*> row{new QStandardItem(QString::fromStdString(name))};
        for (const auto& c : cells) {
            row << new QStandardItem(c);
        }
        m_diff->appendRow(row);
    }
    m_diffLabel->setText(differing == 0 ? tr("The plans agree on all %n quantizer(s).", nullptr, int(names.size()))
                                        : tr("Plan differences: %1 of %n quantizer(s)", nullptr, int(names.size())).arg(differing));
    m_diffView->resizeColumnsToContents();
}

// Smallest weights first, so runs of one size sit together.
void CompareView::fillResources()
{
    m_resources->clear();
    m_resources->setHorizontalHeaderLabels({tr("Run"), tr("Weight bits"), tr("Weights"), tr("Activations (max)"),
                                            tr("BOPs"), tr("Float top-1"), tr("QAT top-1")});
    struct Row {
        const RunSeries* series;
        analysis::Resources resources;
        bool known = false;
    };
    std::vector<Row> rows;
    for (const auto& r : m_runs) {
        Row row{&r, {}, false};
        try {
            if (!r.run.resources.empty()) {
                row.resources = analysis::resourcesFromJson(r.run.resources);
                row.known = true;
            }
        } catch (const std::exception&) {
        }
        rows.push_back(std::move(row));
    }
    std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
        return a.known != b.known ? a.known : a.resources.weightsBytes < b.resources.weightsBytes;
    });
    const auto percent = [](const std::optional<double>& v) {
        return v ? QString::number(*v * 100.0, 'f', 2) : QStringLiteral("-");
    };
    for (const auto& row : rows) {
        const auto& r = row.resources;
        QString bits = tr("(not recorded)");
        QString weights = bits;
        if (row.known) {
            QStringList perLayer;
            std::set<int> distinct;
            for (const auto& l : r.layers) {
                perLayer << QString::number(l.weightBits);
                distinct.insert(l.weightBits);
            }
            bits = distinct.size() == 1 ? tr("uniform %1").arg(perLayer.front())
                                        : tr("mixed %1").arg(perLayer.join(QLatin1Char('/')));
            weights = QStringLiteral("%1 (%2 % of 8-bit)")
                          .arg(QString::fromStdString(analysis::formatBytes(r.weightsBytes)))
                          .arg(r.weightsBytes8bit > 0 ? 100.0 * double(r.weightsBytes) / double(r.weightsBytes8bit) : 0.0,
                               0, 'f', 1);
        }
        const auto& run = row.series->run;
        QList<QStandardItem*> items{new QStandardItem(row.series->label), new QStandardItem(bits),
                                    new QStandardItem(weights),
                                    new QStandardItem(row.known ? QString::fromStdString(analysis::formatBytes(r.activationBytesMax)) : QString()),
                                    new QStandardItem(row.known ? QString::fromStdString(analysis::formatCount(r.bops)) : QString()),
                                    new QStandardItem(percent(run.floatTop1)), new QStandardItem(percent(run.qatTop1))};
        items[2]->setData(qlonglong(row.known ? r.weightsBytes : -1), Qt::UserRole);
        items[6]->setData(run.qatTop1 ? *run.qatTop1 : -1.0, Qt::UserRole);
        m_resources->appendRow(items);
    }
    // Bold: the runs no other run beats with as few weight bytes or fewer (the size/top-1 frontier).
    for (int i = 0; i < m_resources->rowCount(); ++i) {
        const auto size = m_resources->item(i, 2)->data(Qt::UserRole).toLongLong();
        const auto top1 = m_resources->item(i, 6)->data(Qt::UserRole).toDouble();
        bool beaten = size < 0 || top1 < 0;
        for (int j = 0; j < m_resources->rowCount() && !beaten; ++j) {
            const auto other = m_resources->item(j, 2)->data(Qt::UserRole).toLongLong();
            beaten = other >= 0 && other <= size && m_resources->item(j, 6)->data(Qt::UserRole).toDouble() > top1;
        }
        auto font = m_resources->item(i, 6)->font();
        font.setBold(!beaten);
        m_resources->item(i, 6)->setFont(font);
    }
    m_resourcesView->resizeColumnsToContents();
}

} // namespace qat::ui
