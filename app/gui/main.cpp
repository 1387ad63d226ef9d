// SPDX-License-Identifier: MIT
// qat-workbench: the desktop application. `qat-workbench [MODEL] [--screenshot FILE]`.
#include "main_window.h"

#include "common/version.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>

int main(int argc, char** argv)
{
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("qat-workbench"));
    QApplication::setApplicationName(QStringLiteral("qat-workbench"));
    QApplication::setApplicationVersion(QString::fromStdString(qat::appVersion()));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Quantization-aware training workbench"));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("model"), QStringLiteral("TorchScript model to open"));
    QCommandLineOption modelOption(QStringLiteral("model"), QStringLiteral("TorchScript model to open"),
                                   QStringLiteral("file"));
    QCommandLineOption screenshotOption(QStringLiteral("screenshot"),
                                        QStringLiteral("Render the window to a PNG once the model is "
                                                       "loaded, then exit"),
                                        QStringLiteral("file"));
    parser.addOption(modelOption);
    parser.addOption(screenshotOption);
    parser.process(app);

    qat::setComputeThreads(0);
    qat::ui::MainWindow window;
    window.show();

    QString model = parser.value(modelOption);
    if (model.isEmpty() && !parser.positionalArguments().isEmpty()) {
        model = parser.positionalArguments().first();
    }
    const QString screenshot = parser.value(screenshotOption);
    if (!screenshot.isEmpty()) {
        auto grab = [&window, &app, screenshot] {
            const bool saved = window.grab().save(screenshot);
            app.exit(saved ? 0 : 1);
        };
        if (model.isEmpty()) {
            QTimer::singleShot(200, &window, grab);
        } else {
            QObject::connect(&window, &qat::ui::MainWindow::modelLoadFinished, &window,
                             [grab](bool) { QTimer::singleShot(100, grab); });
        }
    }
    if (!model.isEmpty()) {
        window.openModel(model);
    }
    return app.exec();
}
