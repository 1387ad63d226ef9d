// SPDX-License-Identifier: MIT
#include "main_window.h"

#include "common/version.h"
#include "controllers/model_load_controller.h"
#include "resource_paths.h"
#include "views/model_view.h"
#include "widgets/message_banner.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QPushButton>
#include <QSettings>
#include <QStackedWidget>
#include <QStatusBar>
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
    m_loader = new ModelLoadController(this);
    m_banner = new MessageBanner(this);
    m_modelView = new ModelView(this);
    m_pages = new QStackedWidget(this);
    m_pages->addWidget(createWelcomePage());
    m_pages->addWidget(m_modelView);

    auto* central = new QWidget(this);
    auto* layout = new QVBoxLayout(central);
    layout->setContentsMargins(6, 6, 6, 6);
    layout->addWidget(m_banner);
    layout->addWidget(m_pages, 1);
    setCentralWidget(central);

    createMenus();
    connect(m_loader, &ModelLoadController::loadStarted, this, [this](const QString& path) {
        statusBar()->showMessage(tr("Loading %1 ...").arg(QFileInfo(path).fileName()));
    });
    connect(m_loader, &ModelLoadController::loaded, this, &MainWindow::onLoaded);
    connect(m_loader, &ModelLoadController::failed, this, &MainWindow::onFailed);

    QSettings settings;
    if (!restoreGeometry(settings.value(QStringLiteral("mainWindow/geometry")).toByteArray())) {
        resize(1100, 720);
    }
    statusBar()->showMessage(tr("Open a TorchScript model to begin"));
}

MainWindow::~MainWindow() = default;

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

    auto* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About QAT Workbench"), this, [this] {
        QMessageBox::about(this, tr("About QAT Workbench"),
                           tr("<b>QAT Workbench %1</b><br>Quantization-aware training for TorchScript "
                              "models.<br>LibTorch %2, Qt %3")
                               .arg(QString::fromStdString(appVersion()),
                                    QString::fromStdString(torchVersion()), QString::fromLatin1(qVersion())));
    });
}

QWidget* MainWindow::createWelcomePage()
{
    auto* page = new QWidget(this);
    auto* title = new QLabel(tr("<h2>QAT Workbench</h2>"
                                "<p>Open a TorchScript model (<i>File \u25B8 Open</i>, Ctrl+O), or drop a "
                                "<code>.pt</code> file on this window, to see its quantizable layers.</p>"),
                             page);
    title->setAlignment(Qt::AlignCenter);
    title->setWordWrap(true);
    auto* demo = new QPushButton(tr("Open the demo model (a CNN trained on Fashion-MNIST)"), page);
    demo->setEnabled(!demoModelPath().isEmpty());
    connect(demo, &QPushButton::clicked, this, [this] { openModel(demoModelPath()); });
    auto* layout = new QVBoxLayout(page);
    layout->addStretch(1);
    layout->addWidget(title);
    layout->addWidget(demo, 0, Qt::AlignHCenter);
    layout->addStretch(2);
    return page;
}

void MainWindow::chooseModelFile()
{
    QSettings settings;
    const auto folder = settings.value(QString::fromLatin1(kLastFolderKey), QDir::homePath()).toString();
    const auto path = QFileDialog::getOpenFileName(this, tr("Open TorchScript Model"), folder,
                                                   tr("TorchScript models (*.pt *.pth *.ptl);;All files (*)"));
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
    m_loader->load(QFileInfo(path).absoluteFilePath());
}

void MainWindow::onLoaded(const ModelLoadResult& result)
{
    m_banner->hide();
    m_currentPath = result.path;
    m_modelView->showModel(result.info);
    m_pages->setCurrentWidget(m_modelView);
    setWindowTitle(tr("%1 \u2014 QAT Workbench").arg(QFileInfo(result.path).fileName()));
    statusBar()->showMessage(tr("Loaded %1: %n quantizable layer(s)", nullptr,
                                static_cast<int>(result.info.layers.size()))
                                 .arg(QFileInfo(result.path).fileName()));
    addRecentFile(result.path);
    Q_EMIT modelLoadFinished(true);
}

void MainWindow::onFailed(const QString& path, const QString& message)
{
    // The model shown before (if any) stays: a bad file never costs the user their view.
    m_banner->showMessage(MessageBanner::Kind::Error, tr("Could not open the model. %1").arg(message));
    statusBar()->showMessage(tr("Could not open %1").arg(QFileInfo(path).fileName()));
    Q_EMIT modelLoadFinished(false);
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
    QSettings().setValue(QStringLiteral("mainWindow/geometry"), saveGeometry());
    QMainWindow::closeEvent(event);
}

} // namespace qat::ui
