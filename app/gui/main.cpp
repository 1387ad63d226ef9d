// SPDX-License-Identifier: MIT
// qat-workbench: the desktop application.
// `qat-workbench [MODEL | --demo] [--preset NAME] [--data NAME|PATH] [--page NAME] [--screenshot FILE [--run N]]`.
#include "controllers/training_controller.h"
#include "main_window.h"
#include "models/plan_table_model.h"
#include "resource_paths.h"
#include "training/train_types.h"
#include "views/quantization_view.h"
#include "views/training_view.h"

#include "../openmp_start.h"

#include "common/allocator.h"
#include "common/version.h"
#include "engine/quantization_plan.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>

#include <map>
#include <optional>

namespace {

// Before any library starts: training in the window runs with OpenMP's spinning bounded
// (openmp_start.h).
void boundOpenMpSpinning(int, char** argv, char** envp)
{
    qat::app::relaunchWithOpenMpSpinBound(argv, envp);
}
__attribute__((section(".preinit_array"), used)) void (*const kBoundOpenMpSpinning)(int, char**, char**) = boundOpenMpSpinning;

} // namespace

int main(int argc, char** argv)
{
    qat::keepFreedMemoryForReuse();
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("qat-workbench"));
    QApplication::setApplicationName(QStringLiteral("qat-workbench"));
    QApplication::setApplicationVersion(QString::fromStdString(qat::appVersion()));
    // Matches the installed .desktop file, so Wayland shells show its name and icon.
    QGuiApplication::setDesktopFileName(QStringLiteral("io.github.qatworkbench.QatWorkbench"));
    QApplication::setWindowIcon(qat::ui::appIcon());

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Quantization-aware training workbench"));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("model"), QStringLiteral("TorchScript or ONNX model to open"));
    QCommandLineOption modelOption(QStringLiteral("model"), QStringLiteral("TorchScript or ONNX model to open"),
                                   QStringLiteral("file"));
    QCommandLineOption screenshotOption(QStringLiteral("screenshot"),
                                        QStringLiteral("Render the window to a PNG once the model is "
                                                       "loaded, then exit"),
                                        QStringLiteral("file"));
    QCommandLineOption runOption(QStringLiteral("run"),
                                 QStringLiteral("With --screenshot: train N steps on a small data subset first "
                                                "(1024 training, 256 test images), then render the live plots"),
                                 QStringLiteral("N"));
    QCommandLineOption dataOption(QStringLiteral("data"),
                                  QStringLiteral("Training data: fashion-mnist, or a folder of images (one "
                                                 "sub-folder per class) or a data file"),
                                  QStringLiteral("name|path"));
    QCommandLineOption demoOption(QStringLiteral("demo"), QStringLiteral("Open the bundled demo model"));
    QCommandLineOption pageOption(QStringLiteral("page"),
                                  QStringLiteral("Open on a page: model, graph, quantization, plots, history or data "
                                                 "(with --screenshot: the page rendered)"),
                                  QStringLiteral("name"));
    QCommandLineOption presetOption(QStringLiteral("preset"),
                                    QStringLiteral("The plan to start from once the model is loaded: a preset "
                                                   "(mct-default, w4a8-lsq, w2a3, ...)"),
                                    QStringLiteral("name"));
    parser.addOption(modelOption);
    parser.addOption(presetOption);
    parser.addOption(demoOption);
    parser.addOption(screenshotOption);
    parser.addOption(runOption);
    parser.addOption(dataOption);
    parser.addOption(pageOption);
    parser.process(app);
    const std::map<QString, qat::ui::MainWindow::Page> pages = {
        {QStringLiteral("model"), qat::ui::MainWindow::Page::Model},
        {QStringLiteral("quantization"), qat::ui::MainWindow::Page::Quantization},
        {QStringLiteral("plots"), qat::ui::MainWindow::Page::Plots},
        {QStringLiteral("history"), qat::ui::MainWindow::Page::History},
        {QStringLiteral("data"), qat::ui::MainWindow::Page::Data}};
    // The graph is a tab of the Model page.
    const bool graphPage = parser.value(pageOption) == QStringLiteral("graph");
    const auto page = pages.find(graphPage ? QStringLiteral("model") : parser.value(pageOption));
    if (parser.isSet(pageOption) && page == pages.end()) {
        qCritical("qat-workbench: --page takes model, graph, quantization, plots, history or data");
        return 2;
    }

    std::optional<qat::engine::QuantizationPlan> preset;
    if (parser.isSet(presetOption)) {
        try {
            preset = qat::engine::presetPlan(parser.value(presetOption).toStdString());
        } catch (const std::exception& e) { // an unknown name: the message lists the presets
            qCritical("qat-workbench: %s", e.what());
            return 2;
        }
    }

    // The UI thread's own LibTorch work (opening a model, previews) runs on one thread: a
    // second OpenMP team kept alive by this thread would make the training thread's team
    // stop spinning between parallel regions (libgomp throttles spinning when it manages
    // more threads than there are cores), measured at 15-25 % slower steps on 2 cores.
    // Training, export and analysis set their own thread count on their worker threads.
    qat::setComputeThreads(1);
    qat::ui::MainWindow window;
    window.show();
    auto openPage = [&window, page, graphPage, &pages] {
        if (graphPage) {
            window.showGraph();
        } else if (page != pages.end()) {
            window.showPage(page->second);
        }
    };
    openPage();
    QString model = parser.value(modelOption);
    if (model.isEmpty() && !parser.positionalArguments().isEmpty()) {
        model = parser.positionalArguments().first();
    }
    if (model.isEmpty() && parser.isSet(demoOption)) {
        model = qat::ui::demoModelPath();
        if (model.isEmpty()) {
            qCritical("qat-workbench: the demo model was not found; reinstall QAT Workbench");
            return 1;
        }
        window.trainingView()->selectBundledData();
    }
    if (parser.isSet(dataOption)) {
        window.trainingView()->selectData(parser.value(dataOption));
    }
    if (preset) { // before --run's handler below, which starts training on the plan
        QObject::connect(&window, &qat::ui::MainWindow::modelLoadFinished, &window, [&window, plan = *preset](bool ok) {
            if (ok) {
                window.quantizationView()->planModel()->replacePlan(
                    plan, QStringLiteral("Preset %1").arg(QString::fromStdString(plan.preset)));
            }
        });
    }
    const QString screenshot = parser.value(screenshotOption);
    const int runSteps = parser.value(runOption).toInt();
    if (parser.isSet(runOption) && (runSteps < 1 || model.isEmpty())) {
        qCritical("qat-workbench: --run needs a number of steps (1 or more) and a model");
        return 2;
    }
    if (!screenshot.isEmpty()) {
        auto grab = [&window, &app, screenshot] {
            const bool saved = window.grab().save(screenshot);
            app.exit(saved ? 0 : 1);
        };
        if (runSteps > 0) {
            QObject::connect(&window, &qat::ui::MainWindow::modelLoadFinished, &window, [&window, &app, runSteps](bool ok) {
                window.trainingView()->setShortRun(runSteps, 1024, 256);
                window.showPage(qat::ui::MainWindow::Page::Plots); // plotting live while it trains
                if (!ok || !window.startTraining()) {
                    app.exit(1);
                }
            });
            QObject::connect(window.training(), &qat::ui::TrainingController::finished, &window,
                             [&window, grab](const qat::train::TrainResult&) {
                                 window.showPage(qat::ui::MainWindow::Page::Plots);
                                 QTimer::singleShot(300, grab);
                             });
        } else if (model.isEmpty()) {
            QTimer::singleShot(200, &window, grab);
        } else {
            QObject::connect(&window, &qat::ui::MainWindow::modelLoadFinished, &window, [grab, openPage](bool) {
                openPage();
                QTimer::singleShot(100, grab);
            });
        }
    }
    if (!model.isEmpty()) {
        window.openModel(model);
    }
    return app.exec();
}
