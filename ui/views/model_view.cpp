// SPDX-License-Identifier: MIT
#include "views/model_view.h"

#include "models/layer_table_model.h"
#include "views/graph_view.h"

#include <QFileInfo>
#include <QHeaderView>
#include <QLabel>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>
#include <qcustomplot.h>

namespace qat::ui {

ModelView::ModelView(QWidget* parent) : QWidget(parent)
{
    m_summary = new QLabel(this);
    m_summary->setWordWrap(true);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_model = new LayerTableModel(this);
    m_table = new QTableView(this);
    m_table->setModel(m_model);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setAlternatingRowColors(true);
    m_table->verticalHeader()->hide();
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->setWordWrap(false);

    m_plot = new QCustomPlot(this);
    m_plot->setMinimumHeight(160);
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    m_plot->axisRect()->setRangeDrag(Qt::Horizontal);
    m_plot->axisRect()->setRangeZoom(Qt::Horizontal);

    auto* splitter = new QSplitter(Qt::Vertical, this);
    splitter->addWidget(m_table);
    splitter->addWidget(m_plot);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);

    m_graph = new GraphView(this);
    m_tabs = new QTabWidget(this);
    m_tabs->setDocumentMode(true);
    m_tabs->addTab(m_graph, tr("Graph"));
    m_tabs->addTab(splitter, tr("Layers"));

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_summary);
    layout->addWidget(m_tabs, 1);
}

void ModelView::showGraph(bool graph)
{
    m_tabs->setCurrentIndex(graph ? 0 : 1);
}

void ModelView::showModel(const model::ModelInfo& info)
{
    m_model->setLayers(info.layers);
    m_table->resizeColumnsToContents();
    QString text = tr("<b>%1</b> &nbsp; %2 layers to quantize, %3 parameters; a full "
                      "weights + activations assignment creates %4 quantizers.")
                       .arg(QFileInfo(QString::fromStdString(info.path)).fileName().toHtmlEscaped())
                       .arg(info.layers.size())
                       .arg(QLocale().toString(static_cast<qlonglong>(info.parameterCount)))
                       .arg(info.quantizerCount);
    for (const auto& note : info.notes) {
        text += QStringLiteral("<br><i>") + QString::fromStdString(note).toHtmlEscaped() + QStringLiteral("</i>");
    }
    m_summary->setText(text);
    plotParameters(info);
}

QString ModelView::summary() const
{
    return m_summary->text();
}

void ModelView::plotParameters(const model::ModelInfo& info)
{
    m_plot->clearPlottables();
    auto* bars = new QCPBars(m_plot->xAxis, m_plot->yAxis);
    bars->setBrush(QColor(70, 120, 200, 170));
    bars->setPen(QPen(QColor(40, 80, 160)));
    auto ticker = QSharedPointer<QCPAxisTickerText>::create();
    QVector<double> keys;
    QVector<double> values;
    double maxValue = 1;
    for (size_t i = 0; i < info.layers.size(); ++i) {
        const auto& layer = info.layers[i];
        keys << static_cast<double>(i + 1);
        values << static_cast<double>(layer.parameterCount);
        maxValue = std::max(maxValue, values.back());
        ticker->addTick(keys.back(), QString::fromStdString(layer.name));
    }
    bars->setBaseValue(1);
    bars->setData(keys, values, true);
    m_plot->xAxis->setTicker(ticker);
    m_plot->xAxis->setTickLabelRotation(info.layers.size() > 6 ? 30 : 0);
    m_plot->xAxis->setRange(0.4, static_cast<double>(info.layers.size()) + 0.6);
    // Layer sizes span orders of magnitude (a 3x3 stem vs. a dense head): log scale.
    m_plot->yAxis->setScaleType(QCPAxis::stLogarithmic);
    m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
    m_plot->yAxis->setNumberFormat(QStringLiteral("eb"));
    m_plot->yAxis->setNumberPrecision(0);
    m_plot->yAxis->setLabel(tr("parameters per layer"));
    m_plot->yAxis->setRange(1, maxValue * 3);
    m_plot->replot();
}

} // namespace qat::ui
