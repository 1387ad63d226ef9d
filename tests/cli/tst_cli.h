// SPDX-License-Identifier: MIT
#pragma once
// The real qatwb executable (tst_cli): the test class, its functions in tst_cli.cpp (usage,
// inspect, quantizers, train, plan) and tst_cli_runs.cpp (stored runs, ONNX models, export,
// data folders), and the helpers both use.
#include "run_process.h"

#include <QObject>
#include <QProcess>
#include <QString>
#include <QStringList>

namespace qat::test::cli {

using Result = qat::test::ProcessResult;
using qat::test::runCli;

/// A fixture model's path.
QString fixture(const QString& name);
/// An ONNX fixture's path.
QString onnxFixture(const QString& name);
/// Starts qatwb with args and returns once it printed a training step (false if it never did).
bool startUntilFirstStep(QProcess& process, const QStringList& args);
/// `train` on a model with a few hundred images, batch 64, two calibration batches.
QStringList quickTrain(const QString& model);
/// A data row (args, exitCode, mustSay): the CLI ends with that code and says those words.
void checkExitRow();

} // namespace qat::test::cli

class TestCli : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void version();
    void trainingBoundsOpenMpSpinning();
    void help();
    void usageErrors_data();
    void usageErrors();
    void inspectJsonMatchesFixture_data();
    void inspectJsonMatchesFixture();
    void inspectTableListsLayers();
    void badFilesFailWithOneLine_data();
    void badFilesFailWithOneLine();
    void quantizersListsBuiltins();
    void quantizersLoadsPluginsAndWarns();
    void quantizersTable();
    void trainPrintsJsonResult();
    void trainReportsUnreachedPoints();
    void planReportsAndFitsBudget();
    void trainFailuresHaveExitCodes_data();
    void trainFailuresHaveExitCodes();
    void trainStopsOnInterrupt();
    void trainSavesPlan();
    void runsListAndShow();
    void killedRunReadsInterruptedWithoutWriting();
    void sensitivityHasTwoModesStoredWithTheRun();
    void onnxModelTrainsAndReruns();
    void exportWritesFilesAndPythonAgrees();
    void dataInspectDescribesFolder();
    void trainOnJpegFolderStoresPreprocessing();
    void dataMistakesHaveExitCodes_data();
    void dataMistakesHaveExitCodes();
};
