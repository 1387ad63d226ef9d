// SPDX-License-Identifier: MIT
#pragma once

#include "data/data_options.h"
#include "data/data_report.h"

#include <QFutureWatcher>
#include <QWidget>

class QComboBox;
class QCustomPlot;
class QDoubleSpinBox;
class QLabel;
class QListWidget;
class QTimer;

namespace qat::ui {

/// The data page: what the chosen data holds (sample thumbnails with their labels, the
/// class histogram, shapes, value range) and the preprocessing that will be applied, with
/// the options that change it. The data set is inspected against the open model on a
/// worker thread when the page shows and after the data, the model or an option changed
/// while it shows. UI thread only.
class DataView : public QWidget {
    Q_OBJECT
public:
    explicit DataView(QWidget* parent = nullptr);
    ~DataView() override;

    void setDataPath(const QString& path);
    void setModelPath(const QString& path);
    /// The options as the user set them (automatic fields left automatic).
    data::DataOptions options() const;
    void setOptions(const data::DataOptions& options);
    /// The last successful inspection (empty report before the first).
    const data::DataReport& report() const { return m_report; }
    QString lastError() const { return m_error; }
    /// Inspects now (otherwise it happens shortly after a change).
    void refresh();
    QListWidget* thumbnails() const { return m_thumbnails; }
    QCustomPlot* histogram() const { return m_histogram; }
    QString pipelineText() const;

Q_SIGNALS:
    /// After each inspection; error is empty when it worked.
    void inspected(const QString& error);
    void errorMessage(const QString& text);

protected:
    void showEvent(QShowEvent* event) override;

private:
    void changed();
    struct Outcome {
        data::DataReport report;
        QString error;
    };
    void show(const Outcome& outcome);
    void showHistogram();

    QString m_path;
    QString m_model;
    QLabel* m_title = nullptr;
    QComboBox* m_format = nullptr;
    QComboBox* m_resize = nullptr;
    QComboBox* m_normalize = nullptr;
    QDoubleSpinBox* m_valSplit = nullptr;
    QComboBox* m_badImages = nullptr;
    QLabel* m_summary = nullptr;
    QLabel* m_pipeline = nullptr;
    QListWidget* m_thumbnails = nullptr;
    QCustomPlot* m_histogram = nullptr;
    QTimer* m_debounce = nullptr;
    QFutureWatcher<Outcome>* m_watcher = nullptr;
    bool m_again = false;
    bool m_stale = true;
    data::DataReport m_report;
    QString m_error;
};

} // namespace qat::ui
