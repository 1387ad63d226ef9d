// SPDX-License-Identifier: MIT
#include "controllers/model_load_controller.h"

#include "common/error.h"
#include "model/model_inspector.h"

#include <QtConcurrent/QtConcurrentRun>

namespace qat::ui {

namespace {

ModelLoadResult importModel(const QString& path)
{
    ModelLoadResult result;
    result.path = path;
    try {
        result.info = model::inspectModel(path.toStdString());
        result.ok = true;
    } catch (const std::exception& e) {
        // Core errors already name the file; anything else is reported the same way
        // so that no user file can take the window down.
        result.error = QString::fromStdString(e.what());
        if (!dynamic_cast<const qat::Error*>(&e)) {
            result.error = path + QStringLiteral(": unexpected error: ") + result.error;
        }
    }
    return result;
}

} // namespace

ModelLoadController::ModelLoadController(QObject* parent) : QObject(parent)
{
    connect(&m_watcher, &QFutureWatcher<ModelLoadResult>::finished, this, &ModelLoadController::onFinished);
}

ModelLoadController::~ModelLoadController()
{
    m_watcher.waitForFinished();
}

void ModelLoadController::load(const QString& path)
{
    if (m_watcher.isRunning()) {
        m_pendingPath = path;
        return;
    }
    Q_EMIT loadStarted(path);
    m_watcher.setFuture(QtConcurrent::run(importModel, path));
}

bool ModelLoadController::isLoading() const
{
    return m_watcher.isRunning() || !m_pendingPath.isEmpty();
}

void ModelLoadController::onFinished()
{
    if (!m_pendingPath.isEmpty()) {
        // The user asked for another file meanwhile: this result is stale.
        const auto next = m_pendingPath;
        m_pendingPath.clear();
        load(next);
        return;
    }
    const auto result = m_watcher.result();
    if (result.ok) {
        Q_EMIT loaded(result);
    } else {
        Q_EMIT failed(result.path, result.error);
    }
}

} // namespace qat::ui
