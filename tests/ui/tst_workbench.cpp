// SPDX-License-Identifier: MIT
// The workbench window with real widgets, the real importer, the real trainer and a real
// (temporary) run database: the plan table, short runs, stopping, layout persistence.
#include "test_paths.h"
#include "analysis/resources.h"
#include "controllers/training_controller.h"
#include "main_window.h"
#include "window_test_util.h"
#include "tst_workbench.h"
#include "models/plan_table_model.h"
#include "model/model_inspector.h"
#include "storage/run_store.h"
#include "views/fit_budget_dialog.h"
#include "views/plan_item_delegate.h"
#include "views/quantization_view.h"
#include "views/training_view.h"
#include "widgets/bits_chart.h"
#include "widgets/live_plots.h"
#include "widgets/weight_histogram.h"

#include <QAbstractItemModelTester>
#include <QAbstractItemView>
#include <QComboBox>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QLabel>
#include <QPlainTextEdit>
#include <QProcess>
#include <QProgressBar>
#include <QSettings>
#include <QSpinBox>
#include <QStatusBar>
#include <QTableView>
#include <QTemporaryDir>
#include <QUndoStack>
#include <QtTest>
#include <qcustomplot.h>

using qat::ui::MainWindow;
using qat::ui::PlanTableModel;

using namespace qat::test::window;

namespace qat::test::workbench {

bool showDemoPlan(MainWindow& window)
{
    window.resize(1280, 800);
    window.show();
    if (!QTest::qWaitForWindowExposed(&window) || !openAndWait(window, qat::test::path(QATWB_DEMO_MODEL))) {
        return false;
    }
    window.showPage(MainWindow::Page::Quantization);
    return true;
}

QList<int> rowsOfKind(const PlanTableModel& model, const QString& kind)
{
    QList<int> rows;
    for (int r = 0; r < model.rowCount(); ++r) {
        if (model.index(r, PlanTableModel::Kind).data().toString() == kind) {
            rows << r;
        }
    }
    return rows;
}

} // namespace qat::test::workbench

using namespace qat::test::workbench;

void TestWorkbench::initTestCase()
{
    QCoreApplication::setOrganizationName(QStringLiteral("qat-workbench-tests"));
    QCoreApplication::setApplicationName(QStringLiteral("tst_workbench"));
    QSettings().clear();
    QVERIFY(m_dir.isValid());
}

void TestWorkbench::planTableEditsUndoesAndRefuses()
{
    MainWindow window;
    auto* model = window.quantizationView()->planModel();
    QAbstractItemModelTester tester(model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QVERIFY(openAndWait(window, qat::test::path(QATWB_DEMO_MODEL)));
    // Every quantizer the plan creates has a row: the input first, then the five layers.
    QCOMPARE(model->rowCount(), 6);
    QCOMPARE(model->index(0, PlanTableModel::Layer).data().toString(), QStringLiteral("input"));
    QCOMPARE(model->index(0, PlanTableModel::Kind).data().toString(), QStringLiteral("model input"));
    const int f0 = model->rowOf(QStringLiteral("features.0"));
    QCOMPARE(f0, 1);
    // The default preset: MCT's 8-bit STE symmetric per-channel weights, 8-bit POT activations.
    QCOMPARE(model->index(f0, PlanTableModel::WeightQuantizer).data().toString(), QStringLiteral("STE symmetric"));
    QCOMPARE(model->index(f0, PlanTableModel::WeightBits).data().toInt(), 8);
    QCOMPARE(model->index(f0, PlanTableModel::PerChannel).data(Qt::CheckStateRole).toInt(), int(Qt::Checked));
    QCOMPARE(model->index(f0, PlanTableModel::ActivationQuantizer).data().toString(), QStringLiteral("STE power-of-two"));
    QVERIFY(!model->index(0, PlanTableModel::WeightBits).data().isValid()); // the input has no weights

    const auto before = qat::engine::planToJson(model->plan());
    const auto convs = rowsOfKind(*model, QStringLiteral("conv2d"));
    QCOMPARE(convs.size(), 3);
    QVERIFY(model->setColumn(convs, PlanTableModel::WeightQuantizer, QStringLiteral("LSQ|symmetric")));
    QVERIFY(model->setColumn(convs, PlanTableModel::WeightBits, 4));
    for (int r = 0; r < model->rowCount(); ++r) {
        if (model->rowKind(r) != PlanTableModel::RowKind::Layer) {
            continue;
        }
        const bool conv = convs.contains(r);
        QCOMPARE(model->index(r, PlanTableModel::WeightQuantizer).data().toString(),
                 conv ? QStringLiteral("LSQ symmetric") : QStringLiteral("STE symmetric"));
        QCOMPARE(model->index(r, PlanTableModel::WeightBits).data().toInt(), conv ? 4 : 8);
        QCOMPARE(model->resolved()[size_t(model->layerIndex(r))].weights.key.training, conv ? std::string("LSQ") : std::string("STE"));
    }
    QCOMPARE(window.undoStack()->count(), 2);
    QCOMPARE(window.undoStack()->undoText(), QStringLiteral("Set W bits of 3 layers to 4"));

    // Illegal choices are refused with the reason, and change nothing.
    QSignalSpy refused(model, &PlanTableModel::editRefused);
    QVERIFY(!model->setData(model->index(f0, PlanTableModel::WeightBits), 1));
    QCOMPARE(refused.size(), 1);
    QVERIFY2(refused.first().at(0).toString().contains(QStringLiteral("bits")), qPrintable(refused.first().at(0).toString()));
    QCOMPARE(window.statusBar()->currentMessage(), refused.first().at(0).toString()); // the user sees why
    QVERIFY(!model->setColumn({f0}, PlanTableModel::ActivationQuantizer, QStringLiteral("NoSuchMethod|symmetric")));
    // The deployment target refuses what it does not run, and says which target would.
    QVERIFY(!model->setColumn({f0}, PlanTableModel::WeightBits, 3));
    QVERIFY2(model->lastError().contains(QStringLiteral("not offered by deployment target imx500")), qPrintable(model->lastError()));
    QCOMPARE(window.undoStack()->count(), 2);

    // Only what a layer can take under the target is offered: symmetric and power-of-two
    // weights on the IMX500; the uniform grid once the target allows it.
    auto weightOptions = model->options(f0, PlanTableModel::WeightQuantizer);
    QVERIFY(weightOptions.size() >= 4);
    QVERIFY(std::none_of(weightOptions.begin(), weightOptions.end(),
                         [](const auto& o) { return o.label == QStringLiteral("LSQ uniform"); }));
    QVERIFY(std::none_of(weightOptions.begin(), weightOptions.end(),
                         [](const auto& o) { return o.training == QStringLiteral("PACT"); }));
    QVERIFY(model->setTarget(QStringLiteral("lowbit")));
    weightOptions = model->options(f0, PlanTableModel::WeightQuantizer);
    QVERIFY(std::any_of(weightOptions.begin(), weightOptions.end(),
                        [](const auto& o) { return o.label == QStringLiteral("LSQ uniform"); }));
    window.undoStack()->undo();

    // Check boxes edit through the model too, and the window's Ctrl+Z undoes every step.
    const int last = model->rowOf(QStringLiteral("classifier.3"));
    QVERIFY(model->setData(model->index(last, PlanTableModel::Enabled), Qt::Unchecked, Qt::CheckStateRole));
    QVERIFY(!model->resolved()[size_t(model->layerIndex(last))].weights.enabled);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    window.showPage(MainWindow::Page::Quantization);
    QTest::keyClick(&window, Qt::Key_Z, Qt::ControlModifier);
    QVERIFY(model->resolved()[size_t(model->layerIndex(last))].weights.enabled);
    window.undoStack()->undo();
    window.undoStack()->undo();
    QCOMPARE(qat::engine::planToJson(model->plan()), before);
    QTest::keyClick(&window, Qt::Key_Z, Qt::ControlModifier | Qt::ShiftModifier);
    QCOMPARE(model->index(f0, PlanTableModel::WeightQuantizer).data().toString(), QStringLiteral("LSQ symmetric"));
}

void TestWorkbench::delegateEditsEverySelectedRow()
{
    MainWindow window;
    window.show();
    QVERIFY(openAndWait(window, qat::test::path(QATWB_DEMO_MODEL)));
    auto* view = window.quantizationView()->table();
    auto* model = window.quantizationView()->planModel();
    QVERIFY(model->setTarget(QStringLiteral("lowbit"))); // any activation quantizer
    const int fc1 = model->rowOf(QStringLiteral("classifier.1"));
    const int fc2 = model->rowOf(QStringLiteral("classifier.3"));
    view->selectionModel()->select(QItemSelection(model->index(fc1, 0), model->index(fc2, PlanTableModel::ColumnCount - 1)),
                                   QItemSelectionModel::ClearAndSelect);
    auto* delegate = view->itemDelegate();
    const auto index = model->index(fc2, PlanTableModel::ActivationQuantizer);
    std::unique_ptr<QWidget> editor(delegate->createEditor(view->viewport(), QStyleOptionViewItem(), index));
    auto* combo = qobject_cast<QComboBox*>(editor.get());
    QVERIFY(combo != nullptr);
    // Activations: the registry's activation quantizers, PACT included.
    QVERIFY(combo->findText(QStringLiteral("PACT symmetric")) >= 0);
    QVERIFY(combo->findText(QStringLiteral("LSQ uniform")) >= 0);
    combo->setCurrentIndex(combo->findText(QStringLiteral("LSQ uniform")));
    delegate->setModelData(combo, model, index);
    QCOMPARE(model->index(fc1, PlanTableModel::ActivationQuantizer).data().toString(), QStringLiteral("LSQ uniform"));
    QCOMPARE(model->index(fc2, PlanTableModel::ActivationQuantizer).data().toString(), QStringLiteral("LSQ uniform"));
    QCOMPARE(model->index(1, PlanTableModel::ActivationQuantizer).data().toString(), QStringLiteral("STE power-of-two"));
    QCOMPARE(window.undoStack()->count(), 2);
    QVERIFY(model->index(fc1, PlanTableModel::ActivationQuantizer).data(Qt::FontRole).value<QFont>().bold());
    // The logits' row edits the plan's output settings: that is what training uses for them.
    QVERIFY(model->plan().output.method.has_value());
    QVERIFY(!model->plan().layers.count("classifier.3") || !model->plan().layers.at("classifier.3").activations.method);
}

void TestWorkbench::pluginQuantizersAreOffered()
{
    // The example plugin (built into build/plugins) adds "MyTraining" on a symmetric grid.
    qputenv("QATWB_PLUGIN_DIR", QATWB_PLUGIN_DIR_BUILT);
    MainWindow window;
    qunsetenv("QATWB_PLUGIN_DIR");
    QVERIFY(openAndWait(window, qat::test::path(QATWB_DEMO_MODEL)));
    auto* model = window.quantizationView()->planModel();
    const int f0 = model->rowOf(QStringLiteral("features.0"));
    const auto options = model->options(f0, PlanTableModel::WeightQuantizer);
    QVERIFY(std::any_of(options.begin(), options.end(),
                        [](const auto& o) { return o.label == QStringLiteral("MyTraining symmetric"); }));
    QVERIFY(model->setColumn({f0}, PlanTableModel::WeightQuantizer, QStringLiteral("MyTraining|symmetric")));
    // Its grid is symmetric only: a power-of-two MyTraining is not offered and is refused.
    QVERIFY(std::none_of(options.begin(), options.end(),
                         [](const auto& o) { return o.label == QStringLiteral("MyTraining power-of-two"); }));
    QVERIFY(!model->setColumn({f0}, PlanTableModel::WeightQuantizer, QStringLiteral("MyTraining|power-of-two")));
    QVERIFY2(model->lastError().contains(QStringLiteral("MyTraining")), qPrintable(model->lastError()));
    QVERIFY(window.logView()->toPlainText().contains(QStringLiteral("my_training")));
}

void TestWorkbench::rulesAndPresets()
{
    MainWindow window;
    QVERIFY(openAndWait(window, qat::test::path(QATWB_DEMO_MODEL)));
    auto* model = window.quantizationView()->planModel();
    QVERIFY(model->setTarget(QStringLiteral("lowbit"))); // 3- and 6-bit values below
    const int f0 = model->rowOf(QStringLiteral("features.0"));
    const int f4 = model->rowOf(QStringLiteral("features.4"));
    const int fc1 = model->rowOf(QStringLiteral("classifier.1"));
    const int fc2 = model->rowOf(QStringLiteral("classifier.3"));
    // An explicit per-layer value first; a rule for all linear layers then takes over those.
    QVERIFY(model->setColumn({fc1}, PlanTableModel::WeightBits, 6));
    QVERIFY(model->addRule(QStringLiteral("linear"), QString(), PlanTableModel::WeightBits, 3));
    QCOMPARE(model->index(fc1, PlanTableModel::WeightBits).data().toInt(), 3);
    QCOMPARE(model->index(fc2, PlanTableModel::WeightBits).data().toInt(), 3);
    QCOMPARE(model->index(f0, PlanTableModel::WeightBits).data().toInt(), 8);
    QVERIFY(model->addRule(QString(), QStringLiteral("features\\.[03]"), PlanTableModel::ActivationBits, 6));
    QCOMPARE(model->index(f0, PlanTableModel::ActivationBits).data().toInt(), 6);
    QCOMPARE(model->index(f4, PlanTableModel::ActivationBits).data().toInt(), 8);
    QCOMPARE(model->ruleTexts().size(), 2);
    QVERIFY(model->ruleTexts().at(0).startsWith(QStringLiteral("linear layers")));
    QVERIFY(!model->addRule(QString(), QStringLiteral("features(["), PlanTableModel::WeightBits, 4));
    QVERIFY(model->lastError().contains(QStringLiteral("regular expression")));
    QVERIFY(model->removeRule(1));
    QCOMPARE(model->index(f0, PlanTableModel::ActivationBits).data().toInt(), 8);

    QVERIFY(model->replacePlan(qat::engine::presetPlan("w4a8-lsq"), QStringLiteral("Preset w4a8-lsq")));
    QCOMPARE(model->index(f0, PlanTableModel::WeightQuantizer).data().toString(), QStringLiteral("LSQ symmetric"));
    QCOMPARE(model->index(fc1, PlanTableModel::WeightBits).data().toInt(), 4);
    QVERIFY(model->ruleTexts().isEmpty());
    window.undoStack()->undo();
    QCOMPARE(model->index(fc1, PlanTableModel::WeightBits).data().toInt(), 3);
}

// Issue #25 item 2: picking a preset in the combo (keyboard, through its list) shows that
// preset's name, also for a preset with rules of its own (w2a3); "(edited)" appears once
// the user changes something, goes again on undo, and is never an item to pick.
void TestWorkbench::presetComboNamesThePresetUntilEdited()
{
    MainWindow window;
    QVERIFY(showDemoPlan(window));
    auto* model = window.quantizationView()->planModel();
    QComboBox* combo = nullptr;
    for (auto* c : window.quantizationView()->findChildren<QComboBox*>()) {
        if (c->findText(QStringLiteral("w2a3")) >= 0) {
            combo = c;
        }
    }
    QVERIFY(combo != nullptr);
    auto shown = [combo] { return combo->currentIndex() >= 0 ? combo->currentText() : combo->placeholderText(); };
    QCOMPARE(shown(), QStringLiteral("mct-default"));
    for (int i = 0; i < combo->count(); ++i) {
        QVERIFY2(combo->itemText(i) != QStringLiteral("(edited)"), "(edited) is a state, not a choice");
    }

    // Open the list, Down to w2a3, Return.
    combo->setFocus();
    combo->showPopup();
    auto* list = combo->view();
    QTRY_VERIFY(list->isVisible());
    for (int i = 0; i < combo->count() && list->currentIndex().data().toString() != QStringLiteral("w2a3"); ++i) {
        QTest::keyClick(list, Qt::Key_Down);
    }
    QTest::keyClick(list, Qt::Key_Return);
    QTRY_VERIFY(!list->isVisible());
    QCOMPARE(QString::fromStdString(model->plan().preset), QStringLiteral("w2a3"));
    QVERIFY(!model->plan().rules.empty()); // the preset's own rules (first/last/depthwise at 8 bits)
    QCOMPARE(shown(), QStringLiteral("w2a3"));
    saveScreenshot(window, QStringLiteral("quantization_preset.png"));

    QVERIFY(model->setColumn({1}, PlanTableModel::WeightBits, 5));
    QCOMPARE(shown(), QStringLiteral("(edited)"));
    saveScreenshot(window, QStringLiteral("quantization_edited.png"));
    window.undoStack()->undo();
    QCOMPARE(shown(), QStringLiteral("w2a3"));
    window.undoStack()->redo();
    QCOMPARE(shown(), QStringLiteral("(edited)"));
    // A rule of the user's own is an edit too.
    window.undoStack()->undo();
    QVERIFY(model->addRule(QStringLiteral("linear"), QString(), PlanTableModel::WeightBits, 4));
    QCOMPARE(shown(), QStringLiteral("(edited)"));
    window.undoStack()->undo();
    window.undoStack()->undo(); // back to the first preset
    QCOMPARE(shown(), QStringLiteral("mct-default"));
}

void TestWorkbench::planFilesRoundTrip()
{
    MainWindow window;
    QVERIFY(openAndWait(window, qat::test::path(QATWB_DEMO_MODEL)));
    auto* view = window.quantizationView();
    auto* model = view->planModel();
    QVERIFY(model->setColumn(rowsOfKind(*model, QStringLiteral("conv2d")), PlanTableModel::WeightQuantizer,
                             QStringLiteral("LSQ|symmetric")));
    QVERIFY(model->setColumn(rowsOfKind(*model, QStringLiteral("conv2d")), PlanTableModel::WeightBits, 4));
    QVERIFY(model->addRule(QStringLiteral("linear"), QString(), PlanTableModel::PerChannel, false));
    const auto path = m_dir.filePath(QStringLiteral("plan.json"));
    QString problem;
    QVERIFY2(view->savePlan(path, &problem), qPrintable(problem));
    const auto saved = qat::engine::planToJson(model->plan());

    QVERIFY(model->replacePlan(qat::engine::presetPlan("mct-default"), QStringLiteral("reset")));
    QVERIFY(qat::engine::planToJson(model->plan()) != saved);
    QVERIFY2(view->loadPlan(path, &problem), qPrintable(problem));
    QCOMPARE(qat::engine::planToJson(model->plan()), saved);
    const int f4 = model->rowOf(QStringLiteral("features.4"));
    const int fc1 = model->rowOf(QStringLiteral("classifier.1"));
    QCOMPARE(model->index(f4, PlanTableModel::WeightBits).data().toInt(), 4);
    QCOMPARE(model->index(fc1, PlanTableModel::PerChannel).data(Qt::CheckStateRole).toInt(), int(Qt::Unchecked));
    window.undoStack()->undo(); // loading is one undo step
    QCOMPARE(model->index(f4, PlanTableModel::WeightBits).data().toInt(), 8);

    // A file that does not fit is refused with a reason naming the file or the layer.
    QFile bad(m_dir.filePath(QStringLiteral("bad_plan.json")));
    QVERIFY(bad.open(QIODevice::WriteOnly));
    bad.write(R"({"format": "qat-workbench-plan", "version": 1, "layers": {"no.such.layer": {"weights": {"bits": 4}}}})");
    bad.close();
    QVERIFY(!view->loadPlan(bad.fileName(), &problem));
    QVERIFY2(problem.contains(QStringLiteral("no.such.layer")), qPrintable(problem));
    QVERIFY(!view->loadPlan(m_dir.filePath(QStringLiteral("missing.json")), &problem));
    QVERIFY2(problem.contains(QStringLiteral("missing.json")), qPrintable(problem));
}

// The Memory / BOPs columns and the summary line are the core's figures for the plan shown,
// and follow every edit and its undo.
void TestWorkbench::resourceFiguresFollowEdits()
{
    MainWindow window;
    QVERIFY(showDemoPlan(window));
    auto* view = window.quantizationView();
    auto* model = view->planModel();
    const auto info = qat::model::inspectModel(QATWB_DEMO_MODEL);
    auto expected = qat::analysis::computeResources(info, model->plan());
    QVERIFY(expected.bops > 0 && expected.activationBytesMax > 0);
    QCOMPARE(model->resources().weightsBytes, expected.weightsBytes);
    QCOMPARE(model->resources().activationBytesTotal, expected.activationBytesTotal);
    QCOMPARE(model->resources().bops, expected.bops);
    auto* line = view->findChild<QLabel*>(QStringLiteral("resourceSummary"));
    QVERIFY(line);
    const auto before = line->text();
    QCOMPARE(before, QStringLiteral("Resources: ") + QString::fromStdString(qat::analysis::describeResources(expected)));
    QVERIFY2(before.contains(QStringLiteral("100% of 8-bit")), qPrintable(before));

    const int fc = model->rowOf(QStringLiteral("classifier.1"));
    const auto fcBefore = model->index(fc, PlanTableModel::Memory).data().toString();
    QVERIFY(model->setData(model->index(fc, PlanTableModel::WeightBits), 4));
    expected = qat::analysis::computeResources(info, model->plan());
    QCOMPARE(model->resources().weightsBytes, expected.weightsBytes);
    QCOMPARE(model->resources().bops, expected.bops);
    const auto& fcFigures = expected.layers[size_t(model->layerIndex(fc))];
    QCOMPARE(fcFigures.weightBits, 4);
    QCOMPARE(model->index(fc, PlanTableModel::Memory).data().toString(),
             QString::fromStdString(qat::analysis::formatBytes(fcFigures.weightsBytes)));
    QCOMPARE(model->index(fc, PlanTableModel::Bops).data().toString(),
             QString::fromStdString(qat::analysis::formatCount(fcFigures.bops)));
    QVERIFY(line->text() != before);
    QCOMPARE(line->text(), QStringLiteral("Resources: ") + QString::fromStdString(qat::analysis::describeResources(expected)));
    saveScreenshot(window, QStringLiteral("quantization_resources.png"));
    window.undoStack()->undo();
    QCOMPARE(line->text(), before);
    QCOMPARE(model->index(fc, PlanTableModel::Memory).data().toString(), fcBefore);
}

// Fit to Budget: an impossible budget says what is reachable without measuring; a fit to half
// the 8-bit weights measures once, refits at once for another budget, and applies as one
// undoable step whose figures the summary line shows.
void TestWorkbench::fitToBudgetIsOneUndoStep()
{
    MainWindow window;
    QVERIFY(showDemoPlan(window));
    auto* view = window.quantizationView();
    auto* model = view->planModel();
    const auto all8 = model->resources().weightsBytes8bit;
    const int undoBefore = window.undoStack()->count();
    auto* dialog = view->openFitDialog();
    QVERIFY(dialog);
    QVERIFY(dialog->setBudget(QStringLiteral("weights=10%")));
    QSignalSpy failed(dialog, &qat::ui::FitBudgetDialog::failed);
    dialog->fit();
    QCOMPARE(failed.size(), 1);
    QVERIFY(!dialog->isMeasuring());
    QVERIFY2(failed.first().at(0).toString().contains(QStringLiteral("smallest reachable")),
             qPrintable(failed.first().at(0).toString()));

    QVERIFY(dialog->setBudget(QStringLiteral("weights=50%")));
    QCOMPARE(dialog->budgetSpec(), QStringLiteral("weights=50%"));
    dialog->setAdaptSteps(2); // the mechanism, not the prediction's quality: a lean test
    QSignalSpy fitted(dialog, &qat::ui::FitBudgetDialog::fitted);
    dialog->fit();
    QVERIFY(fitted.wait(600000));
    QVERIFY(dialog->result());
    QVERIFY(dialog->result()->figure <= all8 / 2);
    QVERIFY(dialog->statusText().contains(QStringLiteral("Fitted")));
    // The chart: a bar per fitted layer at the bits the fit chose.
    QCOMPARE(dialog->chart()->bars(), int(dialog->result()->sensitivity.size()));
    for (int i = 0; i < dialog->chart()->bars(); ++i) {
        const auto& name = dialog->result()->sensitivity[size_t(i)].layer;
        for (const auto& l : dialog->result()->resources.layers) {
            if (l.name == name) QCOMPARE(dialog->chart()->bits()[size_t(i)], l.weightBits);
        }
    }
    // Activation bits: imx500 runs 8-bit activations only, so a limit below the largest
    // tensor at 8 bits is refused at once, without measuring.
    const auto largest = dialog->result()->resources.activationBytesMax;
    dialog->setActivationBudget(double(largest - 1) / 1024.0);
    QVERIFY(!dialog->result());
    QVERIFY2(dialog->statusText().contains(QStringLiteral("smallest reachable")), qPrintable(dialog->statusText()));
    dialog->setActivationBudget(double(largest) / 1024.0);
    QVERIFY(dialog->result() && dialog->result()->activationBudget);
    QCOMPARE(dialog->result()->activationFigure, largest);
    dialog->setActivationBudget(0);
    QVERIFY(dialog->result() && !dialog->result()->activationBudget);
    // Another budget refits from the same measurement, without measuring again.
    QVERIFY(dialog->setBudget(QStringLiteral("weights=35%")));
    QVERIFY(!dialog->isMeasuring());
    QVERIFY(dialog->result() && dialog->result()->figure <= all8 * 35 / 100);
    QVERIFY(dialog->setBudget(QStringLiteral("weights=50%")));
    dialog->resize(720, 760);
    saveScreenshot(*dialog, QStringLiteral("fit_to_budget.png"));
    const auto fittedBytes = dialog->result()->figure;
    dialog->accept();
    QCOMPARE(window.undoStack()->count(), undoBefore + 1);
    QCOMPARE(model->resources().weightsBytes, fittedBytes);
    QVERIFY(window.undoStack()->undoText().startsWith(QStringLiteral("Fit to budget weights=50%")));
    window.undoStack()->undo();
    QCOMPARE(model->resources().weightsBytes, all8);
}

// Every quantizer the plan creates has a row with the value training will use: the input and
// the logits at 8 bits under w2a3 (the preset's input and output settings), and the mean the
// head reads (its last-layer-input setting), the residual add at 3 bits like the other
// activations; edits of those rows go where they take effect, and the target decides which
// rows exist.
void TestWorkbench::planTableShowsEveryQuantizer()
{
    MainWindow window;
    window.resize(1280, 800);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    QVERIFY(openAndWait(window, qat::test::path(QATWB_FIXTURES_DIR, "/residual_dw_traced.pt")));
    auto* model = window.quantizationView()->planModel();
    QAbstractItemModelTester tester(model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QVERIFY(model->replacePlan(qat::engine::presetPlan("w2a3"), QStringLiteral("Preset w2a3")));
    QCOMPARE(model->rowCount(), 1 + 6 + 2); // input, six layers, the add and the mean
    auto bits = [&](const char* name) {
        const int row = model->rowOf(QString::fromLatin1(name));
        return row < 0 ? -1 : model->index(row, PlanTableModel::ActivationBits).data().toInt();
    };
    QCOMPARE(bits("input"), 8);
    QCOMPARE(bits("head"), 8); // the model's output: the preset keeps the logits at 8 bits
    QCOMPARE(bits("block1:add"), 3);
    QCOMPARE(bits("mean"), 8); // what the last layer reads
    QCOMPARE(bits("block1.pw"), 3);
    const int head = model->rowOf(QStringLiteral("head"));
    QCOMPARE(model->index(head, PlanTableModel::Kind).data().toString(), QStringLiteral("linear (model output)"));
    QCOMPARE(model->index(model->rowOf(QStringLiteral("block1:add")), PlanTableModel::Kind).data().toString(),
             QStringLiteral("add+relu"));
    const int meanRow = model->rowOf(QStringLiteral("mean"));
    QCOMPARE(model->index(meanRow, PlanTableModel::Kind).data().toString(), QStringLiteral("mean (last layer's input)"));
    QVERIFY(model->index(meanRow, PlanTableModel::ActivationBits).data(Qt::ToolTipRole).toString().contains(
        QStringLiteral("last layer reads")));
    window.showPage(MainWindow::Page::Quantization);
    saveScreenshot(window, QStringLiteral("quantization_points.png"));
    // At 1280 px beside the training settings every Kind reads in full: the column wraps at
    // spaces (it was cut to "linea..." and "mea..."), so each word fits its width and the
    // wrapped text its row.
    auto* table = window.quantizationView()->findChild<QTableView*>();
    QVERIFY(table != nullptr);
    const int kindWidth = table->columnWidth(PlanTableModel::Kind) - 8; // the cell's margins
    for (int row = 0; row < model->rowCount(); ++row) {
        const auto text = model->index(row, PlanTableModel::Kind).data().toString();
        for (const auto& word : text.split(QLatin1Char(' '))) {
            QVERIFY2(table->fontMetrics().horizontalAdvance(word) <= kindWidth, qPrintable(text));
        }
        const auto wrapped = table->fontMetrics().boundingRect(QRect(0, 0, kindWidth, 1000), Qt::TextWordWrap, text);
        QVERIFY2(wrapped.height() <= table->rowHeight(row), qPrintable(text));
    }

    // An edit goes where it changes what training uses: the output settings, the point's own
    // override, the input settings.
    QVERIFY(model->setData(model->index(head, PlanTableModel::ActivationBits), 6));
    QCOMPARE(*model->plan().output.bits, 6);
    QCOMPARE(bits("head"), 6);
    QVERIFY(model->setData(model->index(model->rowOf(QStringLiteral("block1:add")), PlanTableModel::ActivationBits), 8));
    QCOMPARE(*model->plan().pointOverrides.at("block1:add").bits, 8);
    QCOMPARE(bits("block1:add"), 8);
    QVERIFY(model->index(model->rowOf(QStringLiteral("block1:add")), PlanTableModel::ActivationBits).data(Qt::FontRole).value<QFont>().bold());
    const int mean = model->rowOf(QStringLiteral("mean"));
    QVERIFY(model->setData(model->index(mean, PlanTableModel::ActivationBits), 4)); // the row's own edit wins
    QCOMPARE(*model->plan().pointOverrides.at("mean").bits, 4);
    QCOMPARE(bits("mean"), 4);
    QVERIFY(model->setData(model->index(mean, PlanTableModel::Enabled), Qt::Unchecked, Qt::CheckStateRole));
    QCOMPARE(model->index(mean, PlanTableModel::Enabled).data(Qt::CheckStateRole).toInt(), int(Qt::Unchecked));
    QVERIFY(model->setData(model->index(0, PlanTableModel::ActivationBits), 7));
    QCOMPARE(*model->plan().input.bits, 7);
    // The add and the mean have no weights: nothing to edit there, and a bulk edit skips them.
    QVERIFY(!(model->flags(model->index(mean, PlanTableModel::WeightBits)) & Qt::ItemIsEditable));
    QVERIFY(!model->setColumn({mean}, PlanTableModel::WeightBits, 4));
    QVERIFY(model->lastError().contains(QStringLiteral("no weights")));
    QVERIFY(model->setColumn({mean, model->rowOf(QStringLiteral("block1.pw"))}, PlanTableModel::WeightBits, 4));
    // The last layer's input settings and BatchNorm's training are listed after the rules,
    // and can be removed there.
    QVERIFY(model->replacePlan(qat::engine::presetPlan("w2a3"), QStringLiteral("Preset w2a3")));
    const auto rules = model->ruleTexts();
    QCOMPARE(rules.size(), 5);
    QVERIFY2(rules.at(3).startsWith(QStringLiteral("what the last layer reads: activations")), qPrintable(rules.at(3)));
    QVERIFY(rules.at(3).contains(QStringLiteral("8")));
    QVERIFY2(rules.at(4).startsWith(QStringLiteral("BatchNorm: normalises each batch")), qPrintable(rules.at(4)));
    QVERIFY(model->removeRule(4));
    QVERIFY(!model->plan().trainBatchNorm);
    QCOMPARE(window.undoStack()->undoText(), QStringLiteral("Fold BatchNorm before training"));
    QVERIFY(model->removeRule(3));
    QCOMPARE(bits("mean"), 3);
    QCOMPARE(model->ruleTexts().size(), 3);
    QVERIFY(!model->removeRule(3));
    // Rules for ops: every add's output.
    QVERIFY(model->pointOps().contains(QStringLiteral("add")));
    QVERIFY(model->addRule(QStringLiteral("add"), QString(), PlanTableModel::ActivationBits, 5));
    QCOMPARE(bits("block1:add"), 5); // the rule replaced the row's own value
    QVERIFY(model->ruleTexts().last().startsWith(QStringLiteral("add outputs")));

    // The target: the IMX500 runs no 3-bit activations, so w2a3 is refused there; generic
    // (before targets) has no rows for the add and the mean.
    QVERIFY(!model->setTarget(QStringLiteral("imx500")));
    QVERIFY2(model->lastError().contains(QStringLiteral("not offered by deployment target imx500")), qPrintable(model->lastError()));
    QVERIFY(model->setTarget(QStringLiteral("generic")));
    QCOMPARE(model->rowCount(), 1 + 6);
    QCOMPARE(model->rowOf(QStringLiteral("block1:add")), -1);
    window.undoStack()->undo();
    QCOMPARE(model->rowCount(), 1 + 6 + 2);
}

QTEST_MAIN(TestWorkbench)
