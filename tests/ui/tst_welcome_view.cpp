// SPDX-License-Identifier: MIT
// The first-run page: the demo model with the bundled data in one click, and a missing
// Fashion-MNIST package explained with the command that installs it.
#include "test_paths.h"
#include "main_window.h"
#include "resource_paths.h"
#include "views/training_view.h"
#include "views/welcome_view.h"

#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QTemporaryDir>
#include <QtTest>

using qat::ui::MainWindow;
using qat::ui::WelcomeView;

class TestWelcomeView : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void cleanup();
    void findsDemoModelInBuildTree();
    void missingDataShowsInstallCommand();
    void presentDataHidesInstallCommand();
    void missingDemoModelDisablesButton();
    void demoButtonOpensDemoWithBundledData();
    void vanishedDataFolderIsNotRestored();
};

void TestWelcomeView::initTestCase()
{
    QCoreApplication::setOrganizationName(QStringLiteral("qat-workbench-tests"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_welcome_view"));
    QSettings().clear();
}

void TestWelcomeView::cleanup()
{
    qunsetenv("QATWB_DATASETS_DIR");
}

void TestWelcomeView::findsDemoModelInBuildTree()
{
    const auto path = qat::ui::demoModelPath();
    QVERIFY(!path.isEmpty());
    QCOMPARE(path, QFileInfo(qat::test::path(QATWB_DEMO_MODEL)).canonicalFilePath());
}

void TestWelcomeView::missingDataShowsInstallCommand()
{
    QTemporaryDir empty;
    qputenv("QATWB_DATASETS_DIR", empty.path().toUtf8());
    WelcomeView view(qat::test::path(QATWB_DEMO_MODEL));
    QVERIFY(!view.dataAvailable());
    QVERIFY(view.installCommand()->isVisibleTo(&view));
    QCOMPARE(view.installCommand()->text(), QStringLiteral("sudo apt install dataset-fashion-mnist"));
    QVERIFY(view.dataStatusLabel()->text().contains(QStringLiteral("not installed")));
    // The demo model itself still opens without the data.
    QVERIFY(view.demoButton()->isEnabled());

    // Installing the package (here: creating its folder) and checking again clears it.
    QVERIFY(QDir(empty.path()).mkdir(QStringLiteral("fashion-mnist")));
    view.refreshDataStatus();
    QVERIFY(view.dataAvailable());
    QVERIFY(!view.installCommand()->isVisibleTo(&view));
}

void TestWelcomeView::presentDataHidesInstallCommand()
{
    QTemporaryDir root;
    QVERIFY(QDir(root.path()).mkdir(QStringLiteral("fashion-mnist")));
    qputenv("QATWB_DATASETS_DIR", root.path().toUtf8());
    WelcomeView view(qat::test::path(QATWB_DEMO_MODEL));
    QVERIFY(view.dataAvailable());
    QVERIFY(!view.installCommand()->isVisibleTo(&view));
    QVERIFY(view.dataStatusLabel()->text().contains(QStringLiteral("fashion-mnist")));
}

void TestWelcomeView::missingDemoModelDisablesButton()
{
    WelcomeView view{QString()};
    QVERIFY(!view.demoButton()->isEnabled());
    QVERIFY(view.openButton()->isEnabled());
}

void TestWelcomeView::demoButtonOpensDemoWithBundledData()
{
    // The last session trained on a folder of IDX files: the demo must still get its data.
    QTemporaryDir folder;
    {
        QSettings settings;
        settings.setValue(QStringLiteral("training/recentDataFolders"), QStringList{folder.path()});
        settings.setValue(QStringLiteral("training/data"), folder.path());
    }
    MainWindow window;
    QCOMPARE(window.trainingView()->config().data, folder.path().toStdString());
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    auto* welcome = window.findChild<WelcomeView*>();
    QVERIFY(welcome != nullptr);
    QVERIFY(welcome->isVisible());
    QSignalSpy finished(&window, &MainWindow::modelLoadFinished);
    QTest::mouseClick(welcome->demoButton(), Qt::LeftButton);
    QVERIFY(finished.wait(60000));
    QVERIFY(finished.takeFirst().at(0).toBool());
    QCOMPARE(window.currentModelPath(), qat::ui::demoModelPath());
    QCOMPARE(window.trainingView()->config().data, std::string("fashion-mnist"));
    QVERIFY(!welcome->isVisible());
}

void TestWelcomeView::vanishedDataFolderIsNotRestored()
{
    // The last session trained on a folder that has been deleted since: the window starts on
    // the bundled data instead of a run that fails before its first step.
    QString vanished;
    {
        QTemporaryDir folder;
        vanished = folder.path();
    }
    QVERIFY(!QFileInfo::exists(vanished));
    {
        QSettings settings;
        settings.setValue(QStringLiteral("training/recentDataFolders"), QStringList{vanished});
        settings.setValue(QStringLiteral("training/data"), vanished);
    }
    MainWindow window;
    QCOMPARE(window.trainingView()->config().data, std::string("fashion-mnist"));
    QSettings().clear();
}

QTEST_MAIN(TestWelcomeView)
#include "tst_welcome_view.moc"
