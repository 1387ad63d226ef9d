// SPDX-License-Identifier: MIT
#pragma once

#include "analysis/sensitivity.h"
#include "export/export_types.h"

#include <QFutureWatcher>
#include <QObject>
#include <QString>

#include <atomic>
#include <memory>

namespace qat::quant {
class QuantizerRegistry;
}

namespace qat::ui {

/// The slow things the history does, one at a time, on a worker thread: exporting a run
/// (files plus parity check, stored with the run as `qatwb export` does) and measuring its
/// per-layer sensitivity in one mode (stored with the run, as `qatwb runs sensitivity` does). Each job opens its own RunStore connection.
/// Results come back as signals on the UI thread. UI thread only; the destructor cancels a
/// sensitivity job and waits for the running job.
class HistoryController : public QObject {
    Q_OBJECT
public:
    struct Outcome {
        qint64 runId = 0;
        QString error; ///< empty: success
        exporter::ExportResult exported;
        analysis::SensitivityResult sensitivity;
    };

    explicit HistoryController(QObject* parent = nullptr);
    ~HistoryController() override;

    void setDatabasePath(const QString& path) { m_databasePath = path; }
    void setRegistry(std::shared_ptr<const quant::QuantizerRegistry> registry) { m_registry = std::move(registry); }

    /// false when a job is running already.
    bool exportRun(qint64 runId, const QString& outDir, const std::vector<exporter::Format>& formats);
    bool measureSensitivity(qint64 runId, int images, analysis::SensitivityMode mode);
    bool isBusy() const { return m_watcher.isRunning(); }

Q_SIGNALS:
    void exportFinished(qint64 runId, const QString& outDir, const qat::exporter::ExportResult& result);
    void sensitivityProgress(qint64 runId, int done, int total);
    void sensitivityFinished(qint64 runId, const qat::analysis::SensitivityResult& result);
    /// what: "export" or "sensitivity"; message: why, for the user.
    void failed(qint64 runId, const QString& what, const QString& message);

private:
    enum class Job { Export = 1, Sensitivity };
    void onFinished();

    QString m_databasePath;
    std::shared_ptr<const quant::QuantizerRegistry> m_registry;
    QFutureWatcher<Outcome> m_watcher;
    Job m_job = Job::Export;
    QString m_outDir;
    std::shared_ptr<std::atomic<bool>> m_cancel = std::make_shared<std::atomic<bool>>(false);
};

} // namespace qat::ui
