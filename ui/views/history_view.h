// SPDX-License-Identifier: MIT
#pragma once

#include "export/export_types.h"

#include <QList>
#include <QMessageBox>
#include <QPointer>
#include <QWidget>

#include <memory>

class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QStandardItemModel;
class QTabWidget;
class QTableView;
class QTextBrowser;
class QTimer;

namespace qat::quant {
class QuantizerRegistry;
}

namespace qat::ui {

class CompareView;
class HistoryController;
class RunTableModel;
class SensitivityView;

/// The History page: every recorded run in a sortable, filterable table (loaded a page at a
/// time), and for the selected run its configuration, per-layer quantizers (initial and
/// final parameters), notes and tags, per-layer sensitivity; Compare overlays two or more
/// runs. Re-run hands a run to the window (rerunRequested); Export and Sensitivity run off
/// the UI thread. Polls the database every 2 s, so runs that the CLI adds appear. UI thread only.
class HistoryView : public QWidget {
    Q_OBJECT
public:
    enum class Confirm { Ask = 1, No };
    enum Tab { DetailsTab = 0, QuantizersTab, NotesTab, CompareTab, SensitivityTab };
    static constexpr int kPollMs = 2000;

    explicit HistoryView(QWidget* parent = nullptr);
    ~HistoryView() override;

    /// Opens (creates, migrates) the run database; on failure the page says why.
    void setDatabasePath(const QString& path);
    void setRegistry(std::shared_ptr<const quant::QuantizerRegistry> registry);

    /// Re-reads the table when the database changed (cheap otherwise).
    void refresh();
    void setFilter(const QString& text, const QString& state);
    void selectRuns(const QList<qint64>& ids);
    QList<qint64> selectedRunIds() const;
    qint64 currentRunId() const;

    /// Compares the selected runs (two or more) on the Compare tab.
    void compareSelected();
    /// Deletes runs with everything recorded for them; Confirm::Ask asks first. Runs still
    /// training are refused. Returns how many were deleted.
    int deleteRuns(const QList<qint64>& ids, Confirm confirm);
    /// Starts exporting run id into folder (off the UI thread); false when busy.
    bool exportRun(qint64 id, const QString& folder, const std::vector<exporter::Format>& formats);
    /// Starts measuring run id's per-layer sensitivity in mode ("trained" or "float") on
    /// images test images; false when busy or the mode is unknown.
    bool measureSensitivity(qint64 id, int images, const QString& mode = QStringLiteral("trained"));
    /// Saves the notes and tags editors for the current run (RunStore::updateNotes).
    bool saveNotes();

    RunTableModel* runModel() const { return m_model; }
    QTableView* table() const { return m_table; }
    QTabWidget* tabs() const { return m_tabs; }
    QTextBrowser* details() const { return m_details; }
    QStandardItemModel* quantizerModel() const { return m_quantizers; }
    QPlainTextEdit* notesEdit() const { return m_notes; }
    QLineEdit* tagsEdit() const { return m_tags; }
    CompareView* compareView() const { return m_compare; }
    SensitivityView* sensitivityView() const { return m_sensitivity; }
    HistoryController* controller() const { return m_controller; }
    QLabel* statusLabel() const { return m_status; }
    /// The last export's report box (non-modal), or nullptr.
    QMessageBox* exportReport() const { return m_report; }

Q_SIGNALS:
    /// Load run id's plan and settings into the workbench.
    void rerunRequested(qint64 runId);
    void statusMessage(const QString& text);
    void errorMessage(const QString& text);
    /// A background job ended (export or sensitivity), successfully or not.
    void jobFinished(const QString& what, bool ok);

private:
    QWidget* createToolBar();
    QWidget* createNotesTab();
    void showCurrentRun();
    void updateActions();
    void chooseExport();
    void showExportReport(qint64 runId, const QString& folder, const exporter::ExportResult& result);

    RunTableModel* m_model = nullptr;
    HistoryController* m_controller = nullptr;
    QTableView* m_table = nullptr;
    QLineEdit* m_filter = nullptr;
    QComboBox* m_state = nullptr;
    QLabel* m_count = nullptr;
    QLabel* m_status = nullptr;
    QPushButton* m_compareButton = nullptr;
    QPushButton* m_rerunButton = nullptr;
    QPushButton* m_exportButton = nullptr;
    QPushButton* m_deleteButton = nullptr;
    QTabWidget* m_tabs = nullptr;
    QTextBrowser* m_details = nullptr;
    QStandardItemModel* m_quantizers = nullptr;
    QTableView* m_quantizerView = nullptr;
    QPlainTextEdit* m_notes = nullptr;
    QLineEdit* m_tags = nullptr;
    QPushButton* m_saveNotes = nullptr;
    CompareView* m_compare = nullptr;
    SensitivityView* m_sensitivity = nullptr;
    QPointer<QMessageBox> m_report;
    bool m_restorePending = false;
    QTimer* m_poll = nullptr;
    QList<qint64> m_keepSelection;
    qint64 m_shownRun = 0;
};

} // namespace qat::ui
