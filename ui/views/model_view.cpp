// SPDX-License-Identifier: MIT
#include "views/model_view.h"

#include "models/layer_table_model.h"
#include "views/graph_view.h"

#include <QEvent>
#include <QFileInfo>
#include <QHeaderView>
#include <QLabel>
#include <QMouseEvent>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QToolTip>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include <cmath>

namespace qat::ui {

namespace {

constexpr double kBarWidth = 0.75;
const QColor kBarColor(70, 120, 200, 170);
const QColor kSelectedColor(230, 140, 30, 220);

} // namespace

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
    connect(m_table->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            [this](const QModelIndex& current) { highlight(current.isValid() ? current.row() : -1); });

    m_plot = new QCustomPlot(this);
    m_plot->setMinimumHeight(160);
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    m_plot->axisRect()->setRangeDrag(Qt::Horizontal);
    m_plot->axisRect()->setRangeZoom(Qt::Horizontal);
    m_plot->setMouseTracking(true);
    m_plot->installEventFilter(this);
    // Zooming in makes room for names; zooming out thins the labels again.
    connect(m_plot->xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, [this] { updateTickLabels(); });
    connect(m_plot, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) { showBarToolTip(e->pos()); });
    connect(m_plot, &QCustomPlot::mousePress, this, [this](QMouseEvent* e) { m_pressedAt = e->pos(); });
    connect(m_plot, &QCustomPlot::mouseRelease, this, [this](QMouseEvent* e) {
        // A click, not the end of a drag: select the bar's row.
        const int row = layerAt(e->pos());
        if (e->button() == Qt::LeftButton && (e->pos() - m_pressedAt).manhattanLength() < 4 && row >= 0) {
            m_table->selectRow(row);
            m_table->scrollTo(m_model->index(row, 0));
        }
    });

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
    // The number of quantizers depends on the plan's target: the Quantization page lists them.
    QString text = tr("<b>%1</b> &nbsp; %2 layers to quantize, %3 parameters.")
                       .arg(QFileInfo(QString::fromStdString(info.path)).fileName().toHtmlEscaped())
                       .arg(info.layers.size())
                       .arg(QLocale().toString(static_cast<qlonglong>(info.parameterCount)));
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
    m_bars = new QCPBars(m_plot->xAxis, m_plot->yAxis);
    m_bars->setBrush(kBarColor);
    m_bars->setPen(QPen(QColor(40, 80, 160)));
    m_bars->setWidth(kBarWidth);
    m_selectedBar = new QCPBars(m_plot->xAxis, m_plot->yAxis);
    m_selectedBar->setBrush(kSelectedColor);
    m_selectedBar->setPen(QPen(kSelectedColor.darker(140)));
    m_selectedBar->setWidth(kBarWidth);
    m_selectedBar->setBaseValue(1);
    m_highlighted = -1;
    QVector<double> keys;
    QVector<double> values;
    double maxValue = 1;
    for (size_t i = 0; i < info.layers.size(); ++i) {
        keys << static_cast<double>(i + 1);
        values << static_cast<double>(info.layers[i].parameterCount);
        maxValue = std::max(maxValue, values.back());
    }
    m_bars->setBaseValue(1);
    m_bars->setData(keys, values, true);
    m_plot->xAxis->setTickLabelRotation(0);
    // Layer sizes span orders of magnitude (a 3x3 stem vs. a dense head): log scale.
    m_plot->yAxis->setScaleType(QCPAxis::stLogarithmic);
    m_plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>::create());
    m_plot->yAxis->setNumberFormat(QStringLiteral("eb"));
    m_plot->yAxis->setNumberPrecision(0);
    m_plot->yAxis->setLabel(tr("parameters per layer"));
    m_plot->yAxis->setRange(1, maxValue * 3);
    m_plot->xAxis->setRange(0.4, static_cast<double>(info.layers.size()) + 0.6); // updates the labels
    updateTickLabels();
    m_plot->replot();
}

void ModelView::updateTickLabels()
{
    const auto& layers = m_model->layers();
    if (layers.empty() || m_plot->axisRect()->width() <= 0) {
        return;
    }
    const QFontMetrics metrics(m_plot->xAxis->tickLabelFont());
    const double perBar = std::abs(m_plot->xAxis->coordToPixel(2) - m_plot->xAxis->coordToPixel(1));
    const int gap = metrics.horizontalAdvance(QStringLiteral("  "));
    int widestName = 0;
    for (const auto& l : layers) {
        widestName = std::max(widestName, metrics.horizontalAdvance(QString::fromStdString(l.name)));
    }
    auto ticker = QSharedPointer<QCPAxisTickerText>::create();
    ticker->setSubTickCount(0);
    if (widestName + gap <= perBar) {
        for (size_t i = 0; i < layers.size(); ++i) {
            ticker->addTick(double(i + 1), QString::fromStdString(layers[i].name));
        }
        m_plot->xAxis->setLabel(QString());
    } else {
        // Row numbers of the table, every `stride`-th: 1, 2, 5, 10, 20, 50, ... bars apart.
        const int widestNumber = metrics.horizontalAdvance(QString::number(layers.size())) + gap;
        int stride = 1;
        for (int step = 0; stride * perBar < widestNumber; ++step) {
            stride = (step % 3 == 0 ? 2 : step % 3 == 1 ? 5 : 10) * int(std::pow(10, step / 3));
        }
        for (size_t row = 1; row <= layers.size(); ++row) {
            if (row % size_t(stride) == 0 || stride == 1) {
                ticker->addTick(double(row), QString::number(row));
            }
        }
        m_plot->xAxis->setLabel(tr("layer # as in the table (hover a bar for its name, click to select its row, "
                                   "wheel to zoom)"));
    }
    m_plot->xAxis->setTicker(ticker);
}

bool ModelView::eventFilter(QObject* watched, QEvent* event)
{
    if (watched == m_plot && event->type() == QEvent::Resize) {
        // Lay the axis rect out for the new size first, then fit the labels to it.
        QMetaObject::invokeMethod(this, [this] {
            m_plot->replot(QCustomPlot::rpImmediateRefresh);
            updateTickLabels();
            m_plot->replot();
        }, Qt::QueuedConnection);
    }
    return QWidget::eventFilter(watched, event);
}

int ModelView::layerAt(const QPoint& pos) const
{
    if (!m_plot->axisRect()->rect().contains(pos)) {
        return -1;
    }
    const double key = m_plot->xAxis->pixelToCoord(pos.x());
    const long row = std::lround(key) - 1;
    if (row < 0 || row >= long(m_model->layers().size()) || std::abs(key - std::round(key)) > kBarWidth / 2) {
        return -1;
    }
    return int(row);
}

void ModelView::showBarToolTip(const QPoint& pos)
{
    const int row = layerAt(pos);
    if (row < 0) {
        QToolTip::hideText();
        return;
    }
    const auto& layer = m_model->layers()[size_t(row)];
    QToolTip::showText(m_plot->mapToGlobal(pos),
                       tr("#%1 %2\n%3, %4 parameters")
                           .arg(row + 1)
                           .arg(QString::fromStdString(layer.name),
                                m_model->index(row, LayerTableModel::Kind).data().toString(),
                                QLocale().toString(static_cast<qlonglong>(layer.parameterCount))),
                       m_plot);
}

void ModelView::highlight(int row)
{
    m_highlighted = row;
    if (m_selectedBar == nullptr) {
        return;
    }
    m_selectedBar->data()->clear();
    if (row >= 0 && row < int(m_model->layers().size())) {
        m_selectedBar->addData(double(row + 1), double(m_model->layers()[size_t(row)].parameterCount));
    }
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

} // namespace qat::ui
