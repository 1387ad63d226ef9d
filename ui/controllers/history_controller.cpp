// SPDX-License-Identifier: MIT
#include "controllers/history_controller.h"

#include "export/exporter.h"
#include "export/run_export.h"
#include "storage/run_store.h"

#include <QtConcurrent/QtConcurrentRun>

namespace qat::ui {

HistoryController::HistoryController(QObject* parent) : QObject(parent)
{
    connect(&m_watcher, &QFutureWatcher<Outcome>::finished, this, &HistoryController::onFinished);
}

HistoryController::~HistoryController()
{
    *m_cancel = true;
    m_watcher.waitForFinished();
}

bool HistoryController::exportRun(qint64 runId, const QString& outDir, const std::vector<exporter::Format>& formats)
{
    if (isBusy() || !m_registry) {
        return false;
    }
    m_job = Job::Export;
    m_outDir = outDir;
    const auto db = m_databasePath.toStdString();
    const auto out = outDir.toStdString();
    auto registry = m_registry;
    m_watcher.setFuture(QtConcurrent::run([db, out, formats, registry, runId] {
        Outcome o;
        o.runId = runId;
        try {
            store::RunStore runs(db);
            auto request = exporter::requestForRun(runs, runId, out);
            request.formats = formats;
            o.exported = exporter::exportModel(request, *registry);
            exporter::recordExport(runs, runId, o.exported);
        } catch (const std::exception& e) {
            o.error = QString::fromStdString(e.what());
        }
        return o;
    }));
    return true;
}

bool HistoryController::measureSensitivity(qint64 runId, int images, analysis::SensitivityMode mode)
{
    if (isBusy() || !m_registry) {
        return false;
    }
    m_job = Job::Sensitivity;
    const auto db = m_databasePath.toStdString();
    auto registry = m_registry;
    auto cancel = m_cancel;
    // The destructor waits for the job, so `this` outlives it; queued calls to a deleted
    // receiver are dropped.
    m_watcher.setFuture(QtConcurrent::run([this, db, registry, runId, images, mode, cancel] {
        Outcome o;
        o.runId = runId;
        try {
            store::RunStore runs(db);
            const auto request = analysis::sensitivityRequestForRun(runs, runId, images, mode);
            o.sensitivity = analysis::analyzeSensitivity(request, *registry, [&](int done, int total) {
                QMetaObject::invokeMethod(
                    this, [this, runId, done, total] { Q_EMIT sensitivityProgress(runId, done, total); },
                    Qt::QueuedConnection);
                return !*cancel;
            });
            runs.saveSensitivity(runId, analysis::toString(mode), analysis::toRows(o.sensitivity));
        } catch (const std::exception& e) {
            o.error = QString::fromStdString(e.what());
        }
        return o;
    }));
    return true;
}

void HistoryController::onFinished()
{
    const auto o = m_watcher.result();
    const QString what = m_job == Job::Export ? QStringLiteral("export") : QStringLiteral("sensitivity");
    if (!o.error.isEmpty()) {
        Q_EMIT failed(o.runId, what, o.error);
    } else if (m_job == Job::Export) {
        Q_EMIT exportFinished(o.runId, m_outDir, o.exported);
    } else {
        Q_EMIT sensitivityFinished(o.runId, o.sensitivity);
    }
}

} // namespace qat::ui
