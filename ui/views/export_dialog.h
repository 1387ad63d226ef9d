// SPDX-License-Identifier: MIT
#pragma once

#include "export/export_types.h"

#include <QDialog>

class QCheckBox;
class QLineEdit;
class QPushButton;

namespace qat::ui {

/// Asks what to export of a run (spec JSON, TorchScript, ONNX QDQ, MCT's ONNX) and where. Remembers the
/// last folder. UI thread only.
class ExportDialog : public QDialog {
    Q_OBJECT
public:
    ExportDialog(qint64 runId, QWidget* parent = nullptr);

    std::vector<exporter::Format> formats() const;
    QString folder() const;

    void accept() override;

private:
    void updateOk();

    QCheckBox* m_spec = nullptr;
    QCheckBox* m_torchscript = nullptr;
    QCheckBox* m_onnx = nullptr;
    QCheckBox* m_mctq = nullptr;
    QLineEdit* m_folder = nullptr;
    QPushButton* m_ok = nullptr;
};

} // namespace qat::ui
