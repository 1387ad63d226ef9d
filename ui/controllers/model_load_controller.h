// SPDX-License-Identifier: MIT
#pragma once

#include "model/model_info.h"

#include <QFutureWatcher>
#include <QObject>
#include <QString>

#include <memory>

namespace qat::ui {

/// The outcome of one background import: the model's layers, or a message for the user.
struct ModelLoadResult {
    QString path;
    bool ok = false;
    model::ModelInfo info;
    QString error;
};

/// Imports TorchScript files on a worker thread (QtConcurrent) and reports back on the
/// UI thread. A newer load supersedes an older one still running. UI thread only.
class ModelLoadController : public QObject {
    Q_OBJECT
public:
    explicit ModelLoadController(QObject* parent = nullptr);
    ~ModelLoadController() override;

    void load(const QString& path);
    bool isLoading() const;

Q_SIGNALS:
    void loadStarted(const QString& path);
    void loaded(const qat::ui::ModelLoadResult& result);
    void failed(const QString& path, const QString& message);

private:
    void onFinished();

    QFutureWatcher<ModelLoadResult> m_watcher;
    QString m_pendingPath; ///< queued while another load runs
};

} // namespace qat::ui
