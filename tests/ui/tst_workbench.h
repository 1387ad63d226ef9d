// SPDX-License-Identifier: MIT
#pragma once
// The workbench window test (tst_workbench): the class, its functions in tst_workbench.cpp
// (the plan table, presets, plan files, resource figures, fit to budget) and
// tst_workbench_training.cpp (short runs, stopping, plots, layout, --run), and the helpers
// both use.

#include <QList>
#include <QObject>
#include <QString>
#include <QTemporaryDir>

namespace qat::ui {
class MainWindow;
class PlanTableModel;
} // namespace qat::ui

namespace qat::test::workbench {
/// The window at a fixed size on the demo model's Quantization page.
bool showDemoPlan(qat::ui::MainWindow& window);
/// The plan table's rows whose layer kind is `kind` ("conv2d", "linear", ...).
QList<int> rowsOfKind(const qat::ui::PlanTableModel& model, const QString& kind);
} // namespace qat::test::workbench

class TestWorkbench : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void planTableEditsUndoesAndRefuses();
    void delegateEditsEverySelectedRow();
    void pluginQuantizersAreOffered();
    void rulesAndPresets();
    void presetComboNamesThePresetUntilEdited();
    void planFilesRoundTrip();
    void planTableShowsEveryQuantizer();
    void resourceFiguresFollowEdits();
    void fitToBudgetIsOneUndoStep();
    void shortRunPlotsAndRecords();
    void stopMidRun();
    void plotsOpenOnAQuantizerThatLearns();
    void calibrationBoxLeavesThePlansInit();
    void layoutPersists();
    void runOption();
    void presetOption();

private:
    QTemporaryDir m_dir;
};
