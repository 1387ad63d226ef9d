// SPDX-License-Identifier: MIT
#include "main_window.h"

#include "common/version.h"
#include "controllers/model_load_controller.h"
#include "controllers/training_controller.h"
#include "models/plan_table_model.h"
#include "quantizers/registry_facade.h"
#include "resource_paths.h"
#include "views/data_view.h"
#include "views/graph_view.h"
#include "views/history_view.h"
#include "views/model_view.h"
#include "views/quantization_view.h"
#include "views/training_view.h"
#include "views/welcome_view.h"
#include "widgets/live_plots.h"
#include "widgets/message_banner.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDateTime>
#include <QDir>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QScrollArea>
#include <QScrollBar>
#include <QSettings>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTableView>
#include <QTabWidget>
#include <QUndoStack>
#include <QVBoxLayout>

namespace qat::ui {

namespace {

constexpr int kMaxRecentFiles = 8;
const char* const kRecentKey = "recentModels";
const char* const kLastFolderKey = "lastModelFolder";

} // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent)
{
    setWindowTitle(tr("QAT Workbench"));
    setAcceptDrops(true);
    setDockOptions(QMainWindow::AnimatedDocks | QMainWindow::AllowTabbedDocks);
    m_undo = new QUndoStack(this);
    m_loader = new ModelLoadController(this);
    m_training = new TrainingController(this);
    m_banner = new MessageBanner(this);
    m_modelView = new ModelView(this);
    m_quantView = new QuantizationView(m_undo, this);
    m_plots = new LivePlots(this);
    m_tabs = new QTabWidget(this);
    m_tabs->setDocumentMode(true);
    m_tabs->addTab(m_modelView, tr("Model"));
    m_tabs->addTab(m_quantView, tr("Quantization"));
    m_tabs->addTab(m_plots, tr("Live Plots"));
    m_history = new HistoryView(this);
    m_tabs->addTab(m_history, tr("History"));
    m_dataView = new DataView(this);
    m_tabs->addTab(m_dataView, tr("Data"));
    m_pages = new QStackedWidget(this);
    m_pages->addWidget(createWelcomePage());
    m_pages->addWidget(m_tabs);

    auto* central = new QWidget(this);
    auto* layout = new QVBoxLayout(central);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->addWidget(m_banner);
    layout->addWidget(m_pages, 1);
    setCentralWidget(central);

    std::vector<quant::PluginReport> reports;
    m_registry = quant::makeSessionRegistry({}, &reports);
    m_quantView->setRegistry(m_registry);
    m_history->setRegistry(m_registry);
    m_history->setDatabasePath(m_training->databasePath());

    createDocks();
    createMenus();
    createStatusBar();
    connectTraining();
    for (const auto& report : reports) {
        appendLog(report.loaded ? tr("plugin %1: %2 quantizer(s)").arg(QString::fromStdString(report.path)).arg(report.quantizers.size())
                                : tr("plugin %1 refused: %2").arg(QString::fromStdString(report.path),
                                                                 QString::fromStdString(report.message)));
    }
    connect(m_loader, &ModelLoadController::loadStarted, this, [this](const QString& path) {
        statusBar()->showMessage(tr("Loading %1 ...").arg(QFileInfo(path).fileName()));
    });
    connect(m_loader, &ModelLoadController::loaded, this, &MainWindow::onLoaded);
    connect(m_loader, &ModelLoadController::failed, this, &MainWindow::onFailed);
    connect(m_quantView, &QuantizationView::statusMessage, this,
            [this](const QString& text) { statusBar()->showMessage(text, 8000); });
    connect(m_quantView, &QuantizationView::errorMessage, this,
            [this](const QString& text) { m_banner->showMessage(MessageBanner::Kind::Error, text); });
    connect(m_history, &HistoryView::rerunRequested, this, &MainWindow::loadRun);
    connect(m_history, &HistoryView::statusMessage, this, [this](const QString& text) { statusBar()->showMessage(text, 8000); });
    connect(m_history, &HistoryView::errorMessage, this,
            [this](const QString& text) { m_banner->showMessage(MessageBanner::Kind::Error, text); });
    connect(m_trainingView, &TrainingView::dataChanged, m_dataView, &DataView::setDataPath);
    m_dataView->setDataPath(QString::fromStdString(m_trainingView->config().data));
    connect(m_dataView, &DataView::errorMessage, this,
            [this](const QString& text) { m_banner->showMessage(MessageBanner::Kind::Error, text); });
    connect(m_quantView, &QuantizationView::quantizerSelected, m_plots, &LivePlots::selectQuantizer);
    // The Training dock's "auto" rates show what this plan resolves them to, as a run will.
    const auto showAutomaticRates = [this] {
        const auto* plan = m_quantView->planModel();
        const auto [lr, quantizerLr] = train::autoLearningRates(plan->resolved(), plan->pointPlans());
        m_trainingView->setAutomaticRates(lr, quantizerLr);
    };
    connect(m_quantView->planModel(), &PlanTableModel::planChanged, this, showAutomaticRates);
    showAutomaticRates();
    // A whole plan applied (a preset, a plan file) may change the target the load line named.
    connect(m_quantView->planModel(), &PlanTableModel::planReplaced, this, [this](const QString& description) {
        const auto text = description + pointsUnderTarget();
        statusBar()->showMessage(text);
        appendLog(text);
    });
    connectGraph();

    QSettings settings;
    if (!restoreGeometry(settings.value(QStringLiteral("mainWindow/geometry")).toByteArray())) {
        resize(1280, 800);
    }
    restoreState(settings.value(QStringLiteral("mainWindow/state")).toByteArray());
    m_tabs->setCurrentIndex(settings.value(QStringLiteral("mainWindow/page"), 0).toInt());
    statusBar()->showMessage(tr("Open a model (TorchScript or ONNX) to begin"));
}

MainWindow::~MainWindow() = default;

// The graph edits the Quantization page's plan and shares its table's selection.
void MainWindow::connectGraph()
{
    auto* graph = m_modelView->graphView();
    graph->setPlanModel(m_quantView->planModel(), m_quantView->table()->selectionModel());
    connect(graph, &GraphView::quantizerActivated, this, [this](const QString& quantizer) {
        m_plots->selectQuantizer(quantizer);
        // Before a run has values for it, the plots would be empty: say so instead.
        if (m_plots->quantizers().contains(quantizer)) {
            showPage(Page::Plots);
        } else {
            statusBar()->showMessage(tr("%1 has no values yet: the Live Plots show it once a run trains").arg(quantizer), 8000);
        }
    });
    connect(graph, &GraphView::rowActivated, this, [this](int row) {
        showPage(Page::Quantization);
        m_quantView->table()->scrollTo(m_quantView->planModel()->index(row, 0));
    });
    connect(m_training, &TrainingController::eventsArrived, graph, &GraphView::showTrainingEvents);
    connect(m_training, &TrainingController::started, graph, &GraphView::clearTrainingValues);
}

void MainWindow::createDocks()
{
    m_trainingView = new TrainingView(this);
    auto* scroll = new QScrollArea(this);
    scroll->setWidget(m_trainingView);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    m_trainingDock = new QDockWidget(tr("Training"), this);
    m_trainingDock->setObjectName(QStringLiteral("trainingDock"));
    m_trainingDock->setWidget(scroll);
    addDockWidget(Qt::LeftDockWidgetArea, m_trainingDock);

    m_log = new QPlainTextEdit(this);
    m_log->setReadOnly(true);
    m_log->setMaximumBlockCount(5000);
    m_log->setPlaceholderText(tr("Messages of model imports and training runs appear here."));
    m_logDock = new QDockWidget(tr("Log"), this);
    m_logDock->setObjectName(QStringLiteral("logDock"));
    m_logDock->setWidget(m_log);
    addDockWidget(Qt::BottomDockWidgetArea, m_logDock);
    // As wide as the settings need (their buttons row and the scroll bar), not a fixed guess:
    // at 290 px the Stop button was cut off.
    const int trainingWidth = m_trainingView->sizeHint().width() + scroll->verticalScrollBar()->sizeHint().width();
    resizeDocks({m_trainingDock}, {trainingWidth}, Qt::Horizontal);
    resizeDocks({m_logDock}, {110}, Qt::Vertical);
}

void MainWindow::createMenus()
{
    auto* file = menuBar()->addMenu(tr("&File"));
    auto* open = file->addAction(tr("&Open Model..."), this, &MainWindow::chooseModelFile);
    open->setShortcut(QKeySequence::Open);
    auto* demo = file->addAction(tr("Open &Demo Model"), this, [this] { openModel(demoModelPath()); });
    demo->setEnabled(!demoModelPath().isEmpty());
    m_recentMenu = file->addMenu(tr("Open &Recent"));
    rebuildRecentMenu();
    file->addSeparator();
    auto* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    auto* edit = menuBar()->addMenu(tr("&Edit"));
    m_undoAction = m_undo->createUndoAction(this, tr("&Undo"));
    m_undoAction->setShortcut(QKeySequence(QStringLiteral("Ctrl+Z")));
    m_redoAction = m_undo->createRedoAction(this, tr("&Redo"));
    m_redoAction->setShortcuts({QKeySequence(QStringLiteral("Ctrl+Shift+Z")), QKeySequence(QStringLiteral("Ctrl+Y"))});
    edit->addAction(m_undoAction);
    edit->addAction(m_redoAction);

    auto* training = menuBar()->addMenu(tr("&Training"));
    training->addAction(m_trainingView->startAction());
    training->addAction(m_trainingView->pauseAction());
    training->addAction(m_trainingView->stopAction());

    auto* view = menuBar()->addMenu(tr("&View"));
    const QStringList pages = {tr("&Model"), tr("&Quantization"), tr("&Live Plots"), tr("&History"), tr("&Data")};
    for (int i = 0; i < pages.size(); ++i) {
        auto* action = view->addAction(pages[i], this, [this, i] { showPage(Page(i)); });
        action->setShortcut(QKeySequence(QStringLiteral("Ctrl+%1").arg(i + 1)));
    }
    auto* graph = view->addAction(tr("Model &Graph"), this, [this] { showGraph(); });
    graph->setShortcut(QKeySequence(QStringLiteral("Ctrl+G")));
    view->addSeparator();
    view->addAction(m_trainingDock->toggleViewAction());
    view->addAction(m_logDock->toggleViewAction());

    auto* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About QAT Workbench"), this, [this] {
        QMessageBox::about(this, tr("About QAT Workbench"),
                           tr("<b>QAT Workbench %1</b><br>Quantization-aware training for TorchScript "
                              "and ONNX models.<br>LibTorch %2, Qt %3")
                               .arg(QString::fromStdString(appVersion()),
                                    QString::fromStdString(torchVersion()), QString::fromLatin1(qVersion())));
    });
}

void MainWindow::createStatusBar()
{
    m_eta = new QLabel(this);
    m_progress = new QProgressBar(this);
    m_progress->setMaximumWidth(220);
    m_progress->setFormat(tr("step %v / %m"));
    m_progress->setVisible(false);
    statusBar()->addPermanentWidget(m_eta);
    statusBar()->addPermanentWidget(m_progress);
}

QWidget* MainWindow::createWelcomePage()
{
    auto* welcome = new WelcomeView(demoModelPath(), this);
    connect(welcome, &WelcomeView::openRequested, this, &MainWindow::chooseModelFile);
    connect(welcome, &WelcomeView::demoRequested, this, [this] {
        m_trainingView->selectBundledData();
        openModel(demoModelPath());
    });
    return welcome;
}

void MainWindow::showGraph()
{
    showPage(Page::Model);
    m_modelView->showGraph();
}

void MainWindow::showPage(Page page)
{
    if (page == Page::History) {
        m_pages->setCurrentWidget(m_tabs); // the history needs no model
    }
    if (m_pages->currentWidget() == m_tabs) {
        m_tabs->setCurrentIndex(int(page));
    }
}

void MainWindow::chooseModelFile()
{
    QSettings settings;
    const auto folder = settings.value(QString::fromLatin1(kLastFolderKey), QDir::homePath()).toString();
    const auto path = QFileDialog::getOpenFileName(this, tr("Open Model"), folder,
                                                   tr("Models (*.pt *.pth *.ptl *.onnx);;TorchScript (*.pt *.pth *.ptl);;"
                                                      "ONNX (*.onnx);;All files (*)"));
    if (!path.isEmpty()) {
        settings.setValue(QString::fromLatin1(kLastFolderKey), QFileInfo(path).absolutePath());
        openModel(path);
    }
}

void MainWindow::openModel(const QString& path)
{
    if (path.isEmpty()) {
        m_banner->showMessage(MessageBanner::Kind::Error,
                              tr("The demo model was not found; reinstall QAT Workbench or open a model file."));
        Q_EMIT modelLoadFinished(false);
        return;
    }
    if (m_training->isActive()) {
        m_banner->showMessage(MessageBanner::Kind::Info, tr("A run is training; stop it (Ctrl+.) before opening another model."));
        Q_EMIT modelLoadFinished(false);
        return;
    }
    m_loader->load(QFileInfo(path).absoluteFilePath());
}

QString MainWindow::pointsUnderTarget() const
{
    const auto* plan = m_quantView->planModel();
    return tr(", %n activation point(s) under target %1", nullptr, static_cast<int>(plan->points().size()))
        .arg(QString::fromStdString(plan->plan().target));
}

void MainWindow::onLoaded(const ModelLoadResult& result)
{
    m_banner->hide();
    m_currentPath = result.path;
    m_modelInfo = result.info;
    m_dataView->setModelPath(result.path);
    m_modelView->showModel(result.info);
    m_quantView->showModel(result.info);
    m_pages->setCurrentWidget(m_tabs);
    if (m_tabs->currentWidget() == m_plots) {
        m_tabs->setCurrentWidget(m_modelView); // plots of another model's run would mislead
    }
    setWindowTitle(tr("%1 \u2014 QAT Workbench").arg(QFileInfo(result.path).fileName()));
    const auto text = tr("Loaded %1: %n quantizable layer(s)", nullptr, static_cast<int>(result.info.layers.size()))
                          .arg(QFileInfo(result.path).fileName())
                      + pointsUnderTarget();
    statusBar()->showMessage(text);
    appendLog(text);
    if (result.info.layers.empty()) {
        // It opens (the user may want to see why), but training it would fail later.
        m_banner->showMessage(MessageBanner::Kind::Error,
                              tr("%1 has no quantizable layer (conv, conv_transpose or linear): there is nothing to "
                                 "quantize in it. Open a model that has one.")
                                  .arg(QFileInfo(result.path).fileName()));
    }
    addRecentFile(result.path);
    if (m_pendingRun) {
        const auto [id, config] = *m_pendingRun;
        m_pendingRun.reset();
        applyRun(id, config);
    }
    Q_EMIT modelLoadFinished(true);
}

void MainWindow::onFailed(const QString& path, const QString& message)
{
    // The model shown before (if any) stays: a bad file never costs the user their view.
    m_banner->showMessage(MessageBanner::Kind::Error, tr("Could not open the model. %1").arg(message));
    statusBar()->showMessage(tr("Could not open %1").arg(QFileInfo(path).fileName()));
    appendLog(tr("could not open %1: %2").arg(path, message));
    m_pendingRun.reset();
    Q_EMIT modelLoadFinished(false);
}

void MainWindow::appendLog(const QString& text)
{
    m_log->appendPlainText(QDateTime::currentDateTime().toString(QStringLiteral("HH:mm:ss  ")) + text);
}

QStringList MainWindow::recentFiles() const
{
    return QSettings().value(QString::fromLatin1(kRecentKey)).toStringList();
}

void MainWindow::addRecentFile(const QString& path)
{
    auto files = recentFiles();
    files.removeAll(path);
    files.prepend(path);
    while (files.size() > kMaxRecentFiles) {
        files.removeLast();
    }
    QSettings().setValue(QString::fromLatin1(kRecentKey), files);
    rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu()
{
    m_recentMenu->clear();
    const auto files = recentFiles();
    for (const auto& file : files) {
        m_recentMenu->addAction(QFileInfo(file).fileName(), this, [this, file] { openModel(file); })
            ->setToolTip(file);
    }
    m_recentMenu->setEnabled(!files.isEmpty());
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event)
{
    if (event->mimeData()->hasUrls() && event->mimeData()->urls().first().isLocalFile()) {
        event->acceptProposedAction();
    }
}

void MainWindow::dropEvent(QDropEvent* event)
{
    const auto urls = event->mimeData()->urls();
    if (!urls.isEmpty() && urls.first().isLocalFile()) {
        openModel(urls.first().toLocalFile());
        event->acceptProposedAction();
    }
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    QSettings settings;
    settings.setValue(QStringLiteral("mainWindow/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("mainWindow/state"), saveState());
    settings.setValue(QStringLiteral("mainWindow/page"), m_tabs->currentIndex());
    m_training->stop(); // the controller waits for the current step when it is destroyed
    QMainWindow::closeEvent(event);
}

} // namespace qat::ui
