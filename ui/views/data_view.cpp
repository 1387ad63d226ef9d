// SPDX-License-Identifier: MIT
#include "views/data_view.h"

#include "widgets/plot_style.h"

#include <qcustomplot.h>

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QImage>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QScrollArea>
#include <QSplitter>
#include <QTimer>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

namespace qat::ui {

namespace {

constexpr int kThumbnails = 40;
constexpr int kThumbnailPixels = 72;

QImage toImage(const data::Thumbnail& t)
{
    QImage image(int(t.width), int(t.height), t.channels == 1 ? QImage::Format_Grayscale8 : QImage::Format_RGB888);
    const int rowBytes = int(t.width * t.channels);
    for (int y = 0; y < int(t.height); ++y) {
        std::copy_n(t.pixels.data() + size_t(y * rowBytes), rowBytes, image.scanLine(y));
    }
    // small images (28x28) are enlarged without smoothing so their pixels stay visible
    return image.scaled(kThumbnailPixels, kThumbnailPixels, Qt::KeepAspectRatio,
                        t.width < kThumbnailPixels / 2 ? Qt::FastTransformation : Qt::SmoothTransformation);
}

QComboBox* editableCombo(QWidget* parent, const QStringList& items, const QString& tip)
{
    auto* combo = new QComboBox(parent);
    combo->setEditable(true);
    combo->addItems(items);
    combo->setToolTip(tip);
    combo->setInsertPolicy(QComboBox::NoInsert);
    return combo;
}

} // namespace

DataView::DataView(QWidget* parent) : QWidget(parent)
{
    m_title = new QLabel(this);
    m_title->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_format = new QComboBox(this);
    for (const char* f : {"auto", "image-folder", "images", "idx", "npy", "npz", "torch"}) {
        m_format->addItem(QString::fromLatin1(f));
    }
    m_format->setToolTip(tr("How to read the data: auto detects it from the path"));
    m_resize = editableCombo(this, {QStringLiteral("auto"), QStringLiteral("none"), QStringLiteral("crop:224x224"),
                                    QStringLiteral("crop:32x32"), QStringLiteral("32x32")},
                             tr("auto: to the model's input size when needed (shorter side, then centre crop); none; "
                                "HxW stretches; crop:HxW scales the shorter side and crops the centre"));
    m_normalize = editableCombo(this, {QStringLiteral("none"), QStringLiteral("imagenet"), QStringLiteral("data")},
                                tr("none: values in [0, 1]; imagenet: torchvision's mean/std; data: measured on the "
                                   "training data; or MEAN/STD such as 0.5/0.25 or 0.49,0.48,0.45/0.25,0.24,0.26"));
    m_valSplit = new QDoubleSpinBox(this);
    m_valSplit->setRange(0, 0.9);
    m_valSplit->setSingleStep(0.05);
    m_valSplit->setValue(0.1);
    m_valSplit->setToolTip(tr("Share held out for evaluation when the data has no val/ or test/ part"));
    m_badImages = new QComboBox(this);
    m_badImages->addItem(tr("refuse"), QStringLiteral("refuse"));
    m_badImages->addItem(tr("skip"), QStringLiteral("skip"));
    m_badImages->setToolTip(tr("An unreadable image stops the run before it starts (refuse) or is left out (skip)"));
    auto* refreshButton = new QPushButton(tr("Inspect Again"), this);

    // Two rows, so the page never widens the window beyond its other pages.
    auto* options = new QVBoxLayout;
    auto* firstRow = new QHBoxLayout;
    auto* secondRow = new QHBoxLayout;
    options->addLayout(firstRow);
    options->addLayout(secondRow);
    auto addOption = [&](QHBoxLayout* row, const QString& label, QWidget* w) {
        row->addWidget(new QLabel(label, this));
        row->addWidget(w);
    };
    addOption(firstRow, tr("Format:"), m_format);
    addOption(firstRow, tr("Resize:"), m_resize);
    addOption(firstRow, tr("Normalize:"), m_normalize);
    firstRow->addStretch(1);
    addOption(secondRow, tr("Held out:"), m_valSplit);
    addOption(secondRow, tr("Unreadable images:"), m_badImages);
    secondRow->addStretch(1);
    secondRow->addWidget(refreshButton);

    m_summary = new QLabel(this);
    m_summary->setWordWrap(true);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_pipeline = new QLabel(this);
    m_pipeline->setWordWrap(true);
    // Inside the splitter a wrapped label is not given its height for width: reserve lines.
    m_pipeline->setMinimumHeight(m_pipeline->fontMetrics().lineSpacing() * 7);
    m_summary->setMinimumHeight(m_summary->fontMetrics().lineSpacing() * 7);
    m_pipeline->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    m_summary->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    m_pipeline->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_thumbnails = new QListWidget(this);
    m_thumbnails->setViewMode(QListView::IconMode);
    m_thumbnails->setIconSize(QSize(kThumbnailPixels, kThumbnailPixels));
    m_thumbnails->setGridSize(QSize(kThumbnailPixels + 24, kThumbnailPixels + 26));
    m_thumbnails->setResizeMode(QListView::Adjust);
    m_thumbnails->setMovement(QListView::Static);
    m_thumbnails->setSelectionMode(QAbstractItemView::NoSelection);
    m_thumbnails->setMinimumSize(120, 100);
    m_histogram = new QCustomPlot(this);
    m_histogram->setMinimumHeight(160);
    m_histogram->setMaximumHeight(280);
    styleLegend(m_histogram);

    auto* right = new QWidget(this);
    auto* rightLayout = new QVBoxLayout(right);
    rightLayout->setContentsMargins(0, 0, 0, 0);
    rightLayout->addWidget(new QLabel(tr("<b>Samples per class</b>"), this));
    rightLayout->addWidget(m_histogram);
    rightLayout->addWidget(new QLabel(tr("<b>Preprocessing applied to every sample</b>"), this));
    rightLayout->addWidget(m_pipeline);
    rightLayout->addWidget(new QLabel(tr("<b>What was found</b>"), this));
    rightLayout->addWidget(m_summary);
    rightLayout->addStretch(1);
    auto* left = new QWidget(this);
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(0, 0, 0, 0);
    leftLayout->addWidget(new QLabel(tr("<b>Training samples as the model sees them</b> (before mean/std)"), this));
    leftLayout->addWidget(m_thumbnails, 1);
    // The right column scrolls rather than setting a minimum height for the whole window.
    auto* rightScroll = new QScrollArea(this);
    rightScroll->setWidget(right);
    rightScroll->setWidgetResizable(true);
    rightScroll->setFrameShape(QFrame::NoFrame);
    auto* split = new QSplitter(this);
    split->addWidget(left);
    split->addWidget(rightScroll);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(m_title);
    layout->addLayout(options);
    layout->addWidget(split, 1);

    m_debounce = new QTimer(this);
    m_debounce->setSingleShot(true);
    m_debounce->setInterval(300);
    connect(m_debounce, &QTimer::timeout, this, &DataView::refresh);
    connect(refreshButton, &QPushButton::clicked, this, &DataView::refresh);
    auto later = [this] { changed(); };
    connect(m_format, &QComboBox::currentIndexChanged, this, later);
    connect(m_resize, &QComboBox::currentTextChanged, this, later);
    connect(m_normalize, &QComboBox::currentTextChanged, this, later);
    connect(m_valSplit, &QDoubleSpinBox::valueChanged, this, later);
    connect(m_badImages, &QComboBox::currentIndexChanged, this, later);
    m_watcher = new QFutureWatcher<Outcome>(this);
    connect(m_watcher, &QFutureWatcher<Outcome>::finished, this, [this] {
        show(m_watcher->result());
        if (m_again) {
            m_again = false;
            refresh();
        }
    });
    m_title->setText(tr("Choose data in the Training panel."));
}

DataView::~DataView()
{
    m_watcher->waitForFinished();
}

void DataView::setDataPath(const QString& path)
{
    if (path == m_path) return;
    m_path = path;
    changed();
}

void DataView::setModelPath(const QString& path)
{
    if (path == m_model) return;
    m_model = path;
    changed();
}

data::DataOptions DataView::options() const
{
    data::DataOptions o;
    o.format = data::parseDataFormat(m_format->currentText().toStdString());
    o.resize = data::parseResize(m_resize->currentText().trimmed().toStdString());
    o.normalize = data::parseNormalize(m_normalize->currentText().trimmed().toStdString());
    o.valSplit = m_valSplit->value();
    o.badImages = data::parseBadImages(m_badImages->currentData().toString().toStdString());
    return o;
}

void DataView::setOptions(const data::DataOptions& o)
{
    m_format->setCurrentText(QString::fromStdString(data::toString(o.format)));
    m_resize->setCurrentText(QString::fromStdString(data::toString(o.resize)));
    m_normalize->setCurrentText(QString::fromStdString(o.normalize.mode == data::NormalizeMode::Imagenet
                                                           ? std::string("imagenet")
                                                           : data::toString(o.normalize)));
    m_valSplit->setValue(o.valSplit);
    m_badImages->setCurrentIndex(o.badImages == data::BadImages::Skip ? 1 : 0);
    changed();
}

QString DataView::pipelineText() const
{
    return m_pipeline->text();
}

void DataView::changed()
{
    m_stale = true;
    if (isVisible()) {
        m_debounce->start();
    }
}

void DataView::showEvent(QShowEvent* event)
{
    QWidget::showEvent(event);
    if (m_stale) {
        refresh();
    }
}

void DataView::refresh()
{
    m_debounce->stop();
    if (m_path.isEmpty()) return;
    m_stale = false;
    if (m_watcher->isRunning()) {
        m_again = true;
        return;
    }
    data::DataOptions o;
    try {
        o = options();
    } catch (const std::exception& e) {
        show({{}, QString::fromStdString(e.what())});
        return;
    }
    m_title->setText(tr("<b>%1</b> \u2014 inspecting...").arg(m_path.toHtmlEscaped()));
    const auto path = m_path.toStdString();
    const auto model = m_model.toStdString();
    m_watcher->setFuture(QtConcurrent::run([path, o, model]() -> Outcome {
        try {
            return {data::inspectData(path, o, model, kThumbnails), {}};
        } catch (const std::exception& e) {
            return {{}, QString::fromStdString(e.what())};
        }
    }));
}

void DataView::show(const Outcome& outcome)
{
    m_error = outcome.error;
    if (!outcome.error.isEmpty()) {
        m_title->setText(tr("<b>%1</b> \u2014 cannot be used").arg(m_path.toHtmlEscaped()));
        m_summary->setText(outcome.error.toHtmlEscaped());
        if (isVisible()) {
            Q_EMIT errorMessage(tr("Data: %1").arg(outcome.error));
        }
        Q_EMIT inspected(outcome.error);
        return;
    }
    m_report = outcome.report;
    const auto& r = m_report;
    m_title->setText(tr("<b>%1</b> \u2014 %2%3").arg(QString::fromStdString(r.path).toHtmlEscaped(),
                                                      QString::fromStdString(r.format),
                                                      r.labelled ? QString() : tr(", no labels (distillation only)")));
    QStringList shapes;
    for (const auto& s : r.shapes) {
        if (shapes.size() == 4) {
            shapes << tr("... %1 sizes").arg(r.shapes.size());
            break;
        }
        shapes << QStringLiteral("%1\u00d7%2\u00d7%3 (%4)").arg(s.channels).arg(s.height).arg(s.width).arg(s.count);
    }
    QString summary = tr("%1 training and %2 evaluation samples (evaluation: %3)<br>shapes C\u00d7H\u00d7W: %4<br>values: %5, %6 to %7")
                          .arg(r.trainSamples)
                          .arg(r.testSamples)
                          .arg(QString::fromStdString(r.testSource).toHtmlEscaped(), shapes.join(QStringLiteral(", ")),
                               QString::fromStdString(r.valueType))
                          .arg(r.minValue)
                          .arg(r.maxValue);
    if (!r.model.empty()) {
        summary += tr("<br>model input [N, %1, %2, %3], %4 classes")
                       .arg(r.modelInput[0])
                       .arg(r.modelInput[1])
                       .arg(r.modelInput[2])
                       .arg(r.modelClasses);
    }
    if (!r.skipped.empty()) {
        summary += tr("<br><span style='color:#b00'>%n unreadable file(s) left out</span>", nullptr, int(r.skipped.size()));
    }
    m_summary->setText(summary);
    QStringList steps;
    for (const auto& line : r.pipeline) {
        steps << QString::fromStdString(line).toHtmlEscaped();
    }
    m_pipeline->setText(steps.join(QStringLiteral("<br>")));
    m_thumbnails->clear();
    for (const auto& t : r.thumbnails) {
        auto* item = new QListWidgetItem(QIcon(QPixmap::fromImage(toImage(t))),
                                         t.className.empty() ? tr("unlabeled") : QString::fromStdString(t.className));
        item->setToolTip(QString::fromStdString(t.name));
        m_thumbnails->addItem(item);
    }
    showHistogram();
    Q_EMIT inspected(QString());
}

void DataView::showHistogram()
{
    m_histogram->clearPlottables();
    const auto& classes = m_report.classes;
    auto* train = new QCPBars(m_histogram->xAxis, m_histogram->yAxis);
    auto* test = new QCPBars(m_histogram->xAxis, m_histogram->yAxis);
    train->setName(tr("training"));
    test->setName(tr("evaluation"));
    train->setPen(Qt::NoPen);
    test->setPen(Qt::NoPen);
    train->setBrush(seriesColor(0));
    test->setBrush(seriesColor(1));
    test->moveAbove(train);
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    double most = 1;
    for (size_t i = 0; i < classes.size(); ++i) {
        train->addData(double(i), double(classes[i].train));
        test->addData(double(i), double(classes[i].test));
        ticker->addTick(double(i), QString::fromStdString(classes[i].name));
        most = std::max(most, double(classes[i].train + classes[i].test));
    }
    m_histogram->xAxis->setTicker(ticker);
    m_histogram->xAxis->setTickLabelRotation(classes.size() > 8 ? 45 : 0);
    m_histogram->xAxis->setRange(-0.7, std::max<double>(double(classes.size()) - 0.3, 0.3));
    m_histogram->yAxis->setRange(0, most * 1.1);
    showLegend(m_histogram, !classes.empty());
    m_histogram->replot();
}

} // namespace qat::ui
