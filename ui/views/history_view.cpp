// SPDX-License-Identifier: MIT
#include "views/history_view.h"

#include "controllers/history_controller.h"
#include "models/run_table_model.h"
#include "views/compare_view.h"
#include "views/export_dialog.h"
#include "views/run_details.h"
#include "views/sensitivity_view.h"

#include "storage/run_state.h"

#include <QComboBox>
#include <QDesktopServices>
#include <QDir>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QShortcut>
#include <QSplitter>
#include <QStandardItemModel>
#include <QTabWidget>
#include <QTableView>
#include <QTextBrowser>
#include <QTimer>
#include <QUrl>
#include <QVBoxLayout>

#include <algorithm>

namespace qat::ui {

HistoryView::HistoryView(QWidget* parent) : QWidget(parent)
{
    m_model = new RunTableModel(this);
    m_controller = new HistoryController(this);

    m_table = new QTableView(this);
    m_table->setModel(m_model);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setSortingEnabled(true);
    m_table->sortByColumn(RunTableModel::Id, Qt::DescendingOrder);
    m_table->setAlternatingRowColors(true);
    m_table->verticalHeader()->hide();
    m_table->verticalHeader()->setDefaultSectionSize(m_table->fontMetrics().height() + 8);
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->horizontalHeader()->setHighlightSections(false);
    const QList<int> widths{48, 120, 110, 60, 85, 120, 85, 85, 65};
    for (int c = 0; c < widths.size(); ++c) {
        m_table->setColumnWidth(c, widths[c]);
    }

    m_details = new QTextBrowser(this);
    m_details->setOpenExternalLinks(false);
    m_details->setOpenLinks(false);
    connect(m_details, &QTextBrowser::anchorClicked, this, [](const QUrl& url) { QDesktopServices::openUrl(url); });
    m_quantizers = new QStandardItemModel(this);
    auto* quantizerView = new QTableView(this);
    quantizerView->setModel(m_quantizers);
    quantizerView->setEditTriggers(QAbstractItemView::NoEditTriggers);
    quantizerView->verticalHeader()->hide();
    // The parameter columns share what the names and kinds leave (full text in tooltips).
    quantizerView->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_quantizerView = quantizerView;
    quantizerView->setAlternatingRowColors(true);
    quantizerView->setWordWrap(false);
    m_compare = new CompareView(this);
    m_sensitivity = new SensitivityView(this);

    m_tabs = new QTabWidget(this);
    m_tabs->setDocumentMode(true);
    m_tabs->insertTab(DetailsTab, m_details, tr("Details"));
    m_tabs->insertTab(QuantizersTab, quantizerView, tr("Quantizers"));
    m_tabs->insertTab(NotesTab, createNotesTab(), tr("Notes && Tags"));
    m_tabs->insertTab(CompareTab, m_compare, tr("Compare"));
    m_tabs->insertTab(SensitivityTab, m_sensitivity, tr("Sensitivity"));

    auto* splitter = new QSplitter(Qt::Vertical, this);
    splitter->addWidget(m_table);
    splitter->addWidget(m_tabs);
    splitter->setStretchFactor(0, 2);
    splitter->setStretchFactor(1, 3);
    splitter->setChildrenCollapsible(false);

    m_status = new QLabel(this);
    m_status->setWordWrap(true);
    m_status->hide();

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(createToolBar());
    layout->addWidget(m_status);
    layout->addWidget(splitter, 1);

    connect(m_table->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this] {
        showCurrentRun();
        updateActions();
    });
    connect(m_model, &QAbstractItemModel::modelAboutToBeReset, this, [this] {
        if (!m_restorePending) {
            m_keepSelection = selectedRunIds();
            m_restorePending = true;
        }
    });
    connect(m_model, &QAbstractItemModel::rowsInserted, this, [this] {
        m_count->setText(tr("%1 of %n run(s) shown", nullptr, int(m_model->totalCount())).arg(m_model->rowCount()));
    });
    connect(m_model, &QAbstractItemModel::modelReset, this, [this] {
        if (m_restorePending) {
            m_restorePending = false;
            selectRuns(m_keepSelection);
        }
        m_count->setText(tr("%1 of %n run(s) shown", nullptr, int(m_model->totalCount())).arg(m_model->rowCount()));
    });
    connect(m_sensitivity, &SensitivityView::measureRequested, this, &HistoryView::measureSensitivity);
    connect(m_controller, &HistoryController::sensitivityProgress, this, [this](qint64, int done, int total) {
        m_sensitivity->setProgress(done, total);
    });
    connect(m_controller, &HistoryController::sensitivityFinished, this,
            [this](qint64 runId, const analysis::SensitivityResult& result) {
                m_sensitivity->setBusy(false);
                if (runId == currentRunId()) {
                    showCurrentRun(); // with the new rows
                }
                Q_EMIT statusMessage(tr("Sensitivity of run %1 measured on %2 test images").arg(runId).arg(result.images));
                Q_EMIT jobFinished(QStringLiteral("sensitivity"), true);
            });
    connect(m_controller, &HistoryController::exportFinished, this, &HistoryView::showExportReport);
    connect(m_controller, &HistoryController::failed, this, [this](qint64 runId, const QString& what, const QString& message) {
        m_sensitivity->setBusy(false);
        m_exportButton->setEnabled(true);
        const auto text = what == QStringLiteral("export") ? tr("Export of run %1 failed: %2").arg(runId).arg(message)
                                                            : tr("Sensitivity of run %1 failed: %2").arg(runId).arg(message);
        if (what != QStringLiteral("export") && runId == currentRunId()) {
            m_sensitivity->setBusy(false, text);
        }
        Q_EMIT errorMessage(text);
        Q_EMIT jobFinished(what, false);
    });

    m_poll = new QTimer(this);
    m_poll->setInterval(kPollMs);
    connect(m_poll, &QTimer::timeout, this, &HistoryView::refresh);
    updateActions();
}

HistoryView::~HistoryView() = default;

QWidget* HistoryView::createToolBar()
{
    auto* bar = new QWidget(this);
    m_filter = new QLineEdit(bar);
    m_filter->setPlaceholderText(tr("Filter: model, preset, state, tag or note"));
    m_filter->setClearButtonEnabled(true);
    m_state = new QComboBox(bar);
    m_state->addItem(tr("any state"), QString());
    for (const auto& info : store::runStates()) {
        const auto name = QString::fromStdString(info.name);
        m_state->addItem(name, name);
        m_state->setItemData(m_state->count() - 1, QString::fromStdString(info.meaning), Qt::ToolTipRole);
    }
    auto* debounce = new QTimer(this);
    debounce->setSingleShot(true);
    debounce->setInterval(250);
    connect(m_filter, &QLineEdit::textChanged, debounce, qOverload<>(&QTimer::start));
    connect(debounce, &QTimer::timeout, this, [this] { setFilter(m_filter->text(), m_state->currentData().toString()); });
    connect(m_state, &QComboBox::currentIndexChanged, this,
            [this] { setFilter(m_filter->text(), m_state->currentData().toString()); });
    m_count = new QLabel(bar);
    m_count->setStyleSheet(QStringLiteral("color: palette(mid);"));

    m_compareButton = new QPushButton(tr("Compare"), bar);
    m_compareButton->setToolTip(tr("Overlay the selected runs' curves and list where their plans differ"));
    m_rerunButton = new QPushButton(tr("Re-run..."), bar);
    m_rerunButton->setToolTip(tr("Load the run's plan and training settings into the workbench, to run it again or change it"));
    m_exportButton = new QPushButton(tr("Export..."), bar);
    m_exportButton->setToolTip(tr("Write the run's quantizers as spec JSON, TorchScript and/or ONNX, with a parity check"));
    m_deleteButton = new QPushButton(tr("Delete"), bar);
    m_deleteButton->setToolTip(tr("Delete the selected runs with their metrics, traces and exports records (Del)"));
    connect(m_compareButton, &QPushButton::clicked, this, &HistoryView::compareSelected);
    connect(m_rerunButton, &QPushButton::clicked, this, [this] { Q_EMIT rerunRequested(currentRunId()); });
    connect(m_exportButton, &QPushButton::clicked, this, &HistoryView::chooseExport);
    connect(m_deleteButton, &QPushButton::clicked, this, [this] { deleteRuns(selectedRunIds(), Confirm::Ask); });
    auto* del = new QShortcut(QKeySequence::Delete, m_table);
    del->setContext(Qt::WidgetShortcut);
    connect(del, &QShortcut::activated, this, [this] { deleteRuns(selectedRunIds(), Confirm::Ask); });

    auto* layout = new QHBoxLayout(bar);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(m_filter, 2);
    layout->addWidget(m_state);
    layout->addWidget(m_count, 1);
    for (auto* b : {m_compareButton, m_rerunButton, m_exportButton, m_deleteButton}) {
        layout->addWidget(b);
    }
    return bar;
}

QWidget* HistoryView::createNotesTab()
{
    auto* page = new QWidget(this);
    m_notes = new QPlainTextEdit(page);
    m_notes->setPlaceholderText(tr("What was this run for, what did you learn from it?"));
    m_tags = new QLineEdit(page);
    m_tags->setPlaceholderText(tr("comma-separated, e.g. baseline, paper"));
    m_saveNotes = new QPushButton(tr("Save Notes"), page);
    connect(m_saveNotes, &QPushButton::clicked, this, &HistoryView::saveNotes);
    auto* form = new QFormLayout(page);
    form->addRow(tr("Notes:"), m_notes);
    form->addRow(tr("Tags:"), m_tags);
    form->addRow(QString(), m_saveNotes);
    return page;
}

void HistoryView::setDatabasePath(const QString& path)
{
    m_controller->setDatabasePath(path);
    try {
        m_model->setDatabasePath(path);
        m_status->hide();
        m_poll->start();
    } catch (const std::exception& e) {
        m_poll->stop();
        m_status->setText(tr("The run history cannot be shown: %1").arg(QString::fromStdString(e.what())));
        m_status->show();
    }
    showCurrentRun();
    updateActions();
}

void HistoryView::setRegistry(std::shared_ptr<const quant::QuantizerRegistry> registry)
{
    m_controller->setRegistry(std::move(registry));
}

void HistoryView::refresh()
{
    try {
        if (m_model->refresh() && m_shownRun != 0 && currentRunId() == m_shownRun) {
            showCurrentRun(); // its state or results may have changed
        }
    } catch (const std::exception& e) {
        m_status->setText(tr("The run history could not be read: %1").arg(QString::fromStdString(e.what())));
        m_status->show();
    }
}

void HistoryView::setFilter(const QString& text, const QString& state)
{
    if (m_filter->text() != text) {
        const QSignalBlocker block(m_filter);
        m_filter->setText(text);
    }
    const int index = m_state->findData(state);
    if (index >= 0 && index != m_state->currentIndex()) {
        const QSignalBlocker block(m_state);
        m_state->setCurrentIndex(index);
    }
    m_model->setFilter(text, state);
}

void HistoryView::selectRuns(const QList<qint64>& ids)
{
    QItemSelection selection;
    int first = -1;
    for (auto id : ids) {
        const int row = m_model->rowOf(id);
        if (row >= 0) {
            selection.select(m_model->index(row, 0), m_model->index(row, RunTableModel::ColumnCount - 1));
            first = first < 0 ? row : first;
        }
    }
    if (first >= 0) {
        m_table->selectionModel()->setCurrentIndex(m_model->index(first, 0), QItemSelectionModel::NoUpdate);
    }
    m_table->selectionModel()->select(selection, QItemSelectionModel::ClearAndSelect);
}

QList<qint64> HistoryView::selectedRunIds() const
{
    QList<qint64> ids;
    auto rows = m_table->selectionModel()->selectedRows();
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.row() < b.row(); });
    for (const auto& index : rows) {
        ids << m_model->runId(index.row());
    }
    return ids;
}

qint64 HistoryView::currentRunId() const
{
    const auto current = m_table->selectionModel()->currentIndex();
    const auto selected = selectedRunIds();
    if (current.isValid() && selected.contains(m_model->runId(current.row()))) {
        return m_model->runId(current.row());
    }
    return selected.isEmpty() ? 0 : selected.front();
}

void HistoryView::updateActions()
{
    const auto ids = selectedRunIds();
    const auto* record = m_model->record(m_model->rowOf(currentRunId()));
    const bool one = ids.size() == 1 && record != nullptr;
    m_compareButton->setEnabled(ids.size() >= 2);
    m_rerunButton->setEnabled(one);
    m_exportButton->setEnabled(one && !m_controller->isBusy() && m_model->store() && m_model->store()->hasCheckpoint(record->id));
    m_deleteButton->setEnabled(!ids.isEmpty());
}

void HistoryView::showCurrentRun()
{
    const auto id = currentRunId();
    auto* store = m_model->store();
    const auto run = store && id > 0 ? store->run(id) : std::nullopt;
    m_quantizers->clear();
    if (!run) {
        m_shownRun = 0;
        m_details->setHtml(tr("<p style='color:gray'>Select a run to see its configuration, quantizers and notes.</p>"));
        m_notes->clear();
        m_tags->clear();
        m_notes->setEnabled(false);
        m_tags->setEnabled(false);
        m_saveNotes->setEnabled(false);
        m_sensitivity->showRun(0, {}, false, false);
        return;
    }
    const auto& r = *run;
    const bool sameRun = m_shownRun == r.id;
    m_shownRun = r.id;

    m_details->setHtml(runDetailsHtml(*store, r));
    fillQuantizerTable(m_quantizers, store->quantizers(r.id));
    for (int c = 0; c < 4 && c < m_quantizers->columnCount(); ++c) {
        m_quantizerView->horizontalHeader()->setSectionResizeMode(c, QHeaderView::ResizeToContents);
    }
    if (m_quantizers->rowCount() == 0) {
        m_quantizers->appendRow(new QStandardItem(tr("No quantizers recorded: the run ended as %1 before they were saved.")
                                                      .arg(QString::fromStdString(r.state))));
    }

    // Unsaved edits of the same run survive a refresh.
    if (!sameRun) {
        m_notes->setPlainText(QString::fromStdString(r.notes));
        QStringList tags;
        for (const auto& t : r.tags) {
            tags << QString::fromStdString(t);
        }
        m_tags->setText(tags.join(QStringLiteral(", ")));
    }
    m_notes->setEnabled(true);
    m_tags->setEnabled(true);
    m_saveNotes->setEnabled(true);
    if (!m_controller->isBusy()) {
        m_sensitivity->showRun(r.id, store->sensitivity(r.id), store->hasCheckpoint(r.id), !store::isTraining(r.state));
    }
}

bool HistoryView::saveNotes()
{
    const auto id = currentRunId();
    if (id <= 0 || !m_model->store()) {
        return false;
    }
    std::vector<std::string> tags;
    for (const auto& t : m_tags->text().split(QLatin1Char(','), Qt::SkipEmptyParts)) {
        if (!t.trimmed().isEmpty()) {
            tags.push_back(t.trimmed().toStdString());
        }
    }
    try {
        m_model->store()->updateNotes(id, m_notes->toPlainText().toStdString(), tags);
    } catch (const std::exception& e) {
        Q_EMIT errorMessage(tr("The notes of run %1 could not be saved: %2").arg(id).arg(QString::fromStdString(e.what())));
        return false;
    }
    m_model->reload(); // the Tags column
    Q_EMIT statusMessage(tr("Notes of run %1 saved").arg(id));
    return true;
}

void HistoryView::compareSelected()
{
    std::vector<qint64> ids;
    for (auto id : selectedRunIds()) {
        ids.push_back(id);
    }
    std::sort(ids.begin(), ids.end()); // oldest first: colours and columns in the order the runs were made
    m_compare->showRuns(m_model->store(), ids);
    m_tabs->setCurrentIndex(CompareTab);
}

int HistoryView::deleteRuns(const QList<qint64>& ids, Confirm confirm)
{
    auto* store = m_model->store();
    if (ids.isEmpty() || store == nullptr) {
        return 0;
    }
    QList<qint64> deletable;
    QStringList refused;
    for (auto id : ids) {
        const auto run = store->run(id);
        if (run && store::isTraining(run->state) && run->host == store::thisHost()) {
            refused << QString::number(id);
        } else if (run) {
            deletable << id;
        }
    }
    if (!refused.isEmpty()) {
        Q_EMIT errorMessage(tr("Run(s) %1 are still training; stop them before deleting.").arg(refused.join(QStringLiteral(", "))));
    }
    if (deletable.isEmpty()) {
        return 0;
    }
    if (confirm == Confirm::Ask) {
        QStringList names;
        for (auto id : deletable) {
            names << QString::number(id);
        }
        const auto answer = QMessageBox::question(
            this, tr("Delete Runs"),
            tr("Delete %n run(s) (%1) with their metrics, traces, checkpoints and sensitivity? Exported files on disk "
               "stay. This cannot be undone.", nullptr, int(deletable.size()))
                .arg(names.join(QStringLiteral(", "))),
            QMessageBox::Yes | QMessageBox::Cancel, QMessageBox::Cancel);
        if (answer != QMessageBox::Yes) {
            return 0;
        }
    }
    int deleted = 0;
    try {
        for (auto id : deletable) {
            deleted += store->deleteRun(id) ? 1 : 0;
        }
    } catch (const std::exception& e) {
        Q_EMIT errorMessage(tr("Deleting failed: %1").arg(QString::fromStdString(e.what())));
    }
    m_restorePending = true; // nothing to restore: the selection is gone
    m_keepSelection.clear();
    m_model->reload();
    if (m_compare->runIds().size() >= 2) {
        std::vector<qint64> left;
        for (auto id : m_compare->runIds()) {
            if (!deletable.contains(id)) left.push_back(id);
        }
        m_compare->showRuns(store, left);
    }
    Q_EMIT statusMessage(tr("Deleted %n run(s)", nullptr, deleted));
    return deleted;
}

void HistoryView::chooseExport()
{
    const auto id = currentRunId();
    if (id <= 0) {
        return;
    }
    ExportDialog dialog(id, this);
    if (dialog.exec() == QDialog::Accepted) {
        exportRun(id, dialog.folder(), dialog.formats());
    }
}

bool HistoryView::exportRun(qint64 id, const QString& folder, const std::vector<exporter::Format>& formats)
{
    if (!m_controller->exportRun(id, folder, formats)) {
        Q_EMIT errorMessage(tr("Another export or analysis is running; wait for it to finish."));
        return false;
    }
    m_exportButton->setEnabled(false);
    Q_EMIT statusMessage(tr("Exporting run %1 to %2 ...").arg(id).arg(folder));
    return true;
}

bool HistoryView::measureSensitivity(qint64 id, int images, const QString& mode)
{
    auto parsed = analysis::SensitivityMode::Trained;
    try {
        parsed = analysis::parseSensitivityMode(mode.toStdString());
    } catch (const std::exception& e) {
        Q_EMIT errorMessage(QString::fromStdString(e.what()));
        return false;
    }
    if (!m_controller->measureSensitivity(id, images, parsed)) {
        Q_EMIT errorMessage(tr("Another export or analysis is running; wait for it to finish."));
        return false;
    }
    m_sensitivity->setMode(mode);
    m_sensitivity->setBusy(true, tr("Measuring run %1 on %2 test images, %3 ...")
                                     .arg(id)
                                     .arg(images)
                                     .arg(QString::fromStdString(analysis::describeMode(parsed))));
    m_tabs->setCurrentIndex(SensitivityTab);
    return true;
}

void HistoryView::showExportReport(qint64 runId, const QString& folder, const exporter::ExportResult& result)
{
    updateActions();
    if (runId == currentRunId()) {
        showCurrentRun(); // the exports appear in the details
    }
    QStringList files;
    for (const auto& f : result.files) {
        files << QFileInfo(QString::fromStdString(f.path)).fileName();
    }
    QStringList sites;
    for (const auto& s : result.parity.sites) {
        sites << QStringLiteral("%1  %2  max |diff| %3%4")
                     .arg(QString::fromStdString(s.name), QString::fromStdString(s.className))
                     .arg(s.maxAbsDiff, 0, 'e', 2)
                     .arg(s.note.empty() ? QString() : QStringLiteral("  ") + QString::fromStdString(s.note));
    }
    for (const auto& n : result.parity.notes) {
        sites << tr("note: %1").arg(QString::fromStdString(n));
    }
    if (m_report) {
        m_report->close();
    }
    m_report = new QMessageBox(this);
    m_report->setAttribute(Qt::WA_DeleteOnClose);
    m_report->setWindowTitle(tr("Run %1 Exported").arg(runId));
    m_report->setIcon(result.parity.top1Agreement >= 0.99 ? QMessageBox::Information : QMessageBox::Warning);
    m_report->setTextFormat(Qt::RichText);
    m_report->setText(tr("Run %1 exported to <b>%2</b>:<br>%3")
                          .arg(runId)
                          .arg(QDir::toNativeSeparators(folder).toHtmlEscaped(), files.join(QStringLiteral("<br>"))));
    const auto& p = result.parity;
    m_report->setInformativeText(tr("Parity on %1 test images: top-1 training %2 %, exported %3 %; same class for "
                                    "%4 % of the images; largest logit difference %5.")
                                     .arg(p.images)
                                     .arg(p.trainingTop1 * 100, 0, 'f', 2)
                                     .arg(p.exportedTop1 * 100, 0, 'f', 2)
                                     .arg(p.top1Agreement * 100, 0, 'f', 2)
                                     .arg(p.maxAbsDiff, 0, 'g', 3)
                                 + runtimeLine(p.runtime));
    // QMessageBox sizes itself to its text; keep the paths from wrapping mid-word.
    m_report->setStyleSheet(
        QStringLiteral("QLabel#qt_msgbox_label, QLabel#qt_msgbox_informativelabel { min-width: 460px; }"));
    m_report->setDetailedText(sites.join(QLatin1Char('\n')));
    auto* open = m_report->addButton(tr("Open Folder"), QMessageBox::ActionRole);
    m_report->addButton(QMessageBox::Close);
    connect(open, &QPushButton::clicked, this, [folder] { QDesktopServices::openUrl(QUrl::fromLocalFile(folder)); });
    m_report->setModal(false);
    m_report->show();
    Q_EMIT statusMessage(tr("Run %1 exported: %2").arg(runId).arg(parityLine(result.parity)));
    Q_EMIT jobFinished(QStringLiteral("export"), true);
}

} // namespace qat::ui
