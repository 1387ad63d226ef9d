// SPDX-License-Identifier: MIT
#pragma once

#include "model/model_info.h"
#include "training/train_types.h"

#include <QMainWindow>
#include <QStringList>

#include <memory>
#include <optional>
#include <utility>

class QDockWidget;
class QLabel;
class QMenu;
class QPlainTextEdit;
class QProgressBar;
class QStackedWidget;
class QTabWidget;
class QUndoStack;

namespace qat::quant {
class QuantizerRegistry;
}
namespace qat::train {
struct TrainResult;
}

namespace qat::ui {

class LivePlots;
class MessageBanner;
class ModelLoadController;
class DataView;
class HistoryView;
class ModelView;
class QuantizationView;
class TrainingController;
class TrainingView;
struct ModelLoadResult;

/// The workbench's frame: menus, banner, status bar, and the views it hosts: pages for
/// the model's layers, the quantization plan, the live plots and the run history, docks
/// for training settings and the log. Opening a model (File > Open, recent files, drag and drop)
/// imports it off the UI thread; training runs on a worker thread. UI thread only.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    enum class Page { Model = 0, Quantization, Plots, History, Data };

    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    /// Starts importing path; the result appears in the window (layers or an error banner).
    void openModel(const QString& path);
    /// Starts a run of the current model with the plan and training settings shown;
    /// false (and a banner) when there is no model or a run is active.
    bool startTraining();
    /// Where runs are recorded (default: $QATWB_RUNS_DB, else the CLI's default database).
    void setRunDatabasePath(const QString& path);
    /// Shows page; the History page also shows before any model is open.
    void showPage(Page page);
    /// Shows the Model page's graph of the model with its quantizers.
    void showGraph();
    /// Loads a stored run's plan and training settings into the Quantization page and the
    /// Training dock (opening its model first if another one is shown), ready to run again
    /// or to change; false (and a banner) when the run's model is gone or changed, or a run
    /// is training.
    bool loadRun(qint64 runId);

    ModelView* modelView() const { return m_modelView; }
    QuantizationView* quantizationView() const { return m_quantView; }
    TrainingView* trainingView() const { return m_trainingView; }
    LivePlots* livePlots() const { return m_plots; }
    HistoryView* historyView() const { return m_history; }
    DataView* dataView() const { return m_dataView; }
    TrainingController* training() const { return m_training; }
    QProgressBar* progressBar() const { return m_progress; }
    QLabel* etaLabel() const { return m_eta; }
    QPlainTextEdit* logView() const { return m_log; }
    QUndoStack* undoStack() const { return m_undo; }
    MessageBanner* banner() const { return m_banner; }
    ModelLoadController* loader() const { return m_loader; }
    QString currentModelPath() const { return m_currentPath; }
    QStringList recentFiles() const;

Q_SIGNALS:
    /// Emitted after every import attempt, successful or not (tests and --screenshot wait on it).
    void modelLoadFinished(bool ok);

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;
    void closeEvent(QCloseEvent* event) override;

private:
    void createMenus();
    void createDocks();
    void createStatusBar();
    void connectTraining();
    void connectGraph();
    QWidget* createWelcomePage();
    void chooseModelFile();
    void onLoaded(const ModelLoadResult& result);
    void onFailed(const QString& path, const QString& message);
    void onTrainingFinished(const train::TrainResult& result);
    void setTrainingLocked(bool locked);
    void applyRun(qint64 runId, const train::TrainConfig& config);
    void appendLog(const QString& text);
    /// ", N activation point(s) under target T" of the plan shown, for the log.
    QString pointsUnderTarget() const;
    void addRecentFile(const QString& path);
    void rebuildRecentMenu();

    MessageBanner* m_banner = nullptr;
    QStackedWidget* m_pages = nullptr;
    QTabWidget* m_tabs = nullptr;
    ModelView* m_modelView = nullptr;
    QuantizationView* m_quantView = nullptr;
    TrainingView* m_trainingView = nullptr;
    LivePlots* m_plots = nullptr;
    HistoryView* m_history = nullptr;
    DataView* m_dataView = nullptr;
    std::optional<std::pair<qint64, train::TrainConfig>> m_pendingRun; ///< applied once its model loads
    QPlainTextEdit* m_log = nullptr;
    QDockWidget* m_trainingDock = nullptr;
    QDockWidget* m_logDock = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_eta = nullptr;
    QUndoStack* m_undo = nullptr;
    QAction* m_undoAction = nullptr;
    QAction* m_redoAction = nullptr;
    ModelLoadController* m_loader = nullptr;
    TrainingController* m_training = nullptr;
    std::shared_ptr<const quant::QuantizerRegistry> m_registry;
    model::ModelInfo m_modelInfo;
    QMenu* m_recentMenu = nullptr;
    QString m_currentPath;
    double m_firstStepSeconds = -1;
    qint64 m_firstStep = 0;
};

} // namespace qat::ui
