// SPDX-License-Identifier: MIT
#include "views/export_dialog.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QStandardPaths>
#include <QVBoxLayout>

namespace qat::ui {

namespace {
const char* const kFolderKey = "history/exportFolder";
}

ExportDialog::ExportDialog(qint64 runId, QWidget* parent) : QDialog(parent)
{
    setWindowTitle(tr("Export Run %1").arg(runId));
    m_spec = new QCheckBox(tr("Spec JSON: mct_quantizers classes and arguments (.json)"), this);
    m_torchscript = new QCheckBox(tr("TorchScript for stock PyTorch, with fake-quant ops (.pt)"), this);
    m_onnx = new QCheckBox(tr("ONNX with QuantizeLinear/DequantizeLinear pairs, opset 17 (.onnx)"), this);
    m_mctq = new QCheckBox(tr("MCT's ONNX format: mct_quantizers nodes, for Sony's IMX500 converter (.mctq.onnx)"), this);
    for (auto* box : {m_spec, m_torchscript, m_onnx, m_mctq}) {
        box->setChecked(box != m_mctq);
        connect(box, &QCheckBox::toggled, this, &ExportDialog::updateOk);
    }
    const auto fallback = QDir(QStandardPaths::writableLocation(QStandardPaths::DocumentsLocation))
                              .filePath(QStringLiteral("qat-workbench-exports"));
    m_folder = new QLineEdit(QSettings().value(QString::fromLatin1(kFolderKey), fallback).toString(), this);
    connect(m_folder, &QLineEdit::textChanged, this, &ExportDialog::updateOk);
    auto* browse = new QPushButton(tr("Browse..."), this);
    connect(browse, &QPushButton::clicked, this, [this] {
        const auto dir = QFileDialog::getExistingDirectory(this, tr("Export Folder"), m_folder->text());
        if (!dir.isEmpty()) {
            m_folder->setText(dir);
        }
    });
    auto* folderRow = new QHBoxLayout;
    folderRow->addWidget(m_folder, 1);
    folderRow->addWidget(browse);

    auto* note = new QLabel(tr("Every export reloads the TorchScript model and compares it with the training "
                               "forward on the run's test images (the parity report). The ONNX file is also run in "
                               "ONNX Runtime with its integer kernels when Node.js and onnxruntime-node are installed."),
                            this);
    note->setWordWrap(true);
    note->setStyleSheet(QStringLiteral("color: palette(mid);"));

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    m_ok = buttons->button(QDialogButtonBox::Ok);
    m_ok->setText(tr("Export"));
    connect(buttons, &QDialogButtonBox::accepted, this, &ExportDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &ExportDialog::reject);

    auto* form = new QFormLayout;
    auto* formats = new QVBoxLayout;
    formats->addWidget(m_spec);
    formats->addWidget(m_torchscript);
    formats->addWidget(m_onnx);
    formats->addWidget(m_mctq);
    form->addRow(tr("Formats:"), formats);
    form->addRow(tr("Folder:"), folderRow);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(note);
    layout->addWidget(buttons);
    updateOk();
}

std::vector<exporter::Format> ExportDialog::formats() const
{
    std::vector<exporter::Format> f;
    if (m_spec->isChecked()) f.push_back(exporter::Format::Spec);
    if (m_torchscript->isChecked()) f.push_back(exporter::Format::TorchScript);
    if (m_onnx->isChecked()) f.push_back(exporter::Format::Onnx);
    if (m_mctq->isChecked()) f.push_back(exporter::Format::MctqOnnx);
    return f;
}

QString ExportDialog::folder() const
{
    return m_folder->text().trimmed();
}

void ExportDialog::accept()
{
    QSettings().setValue(QString::fromLatin1(kFolderKey), folder());
    QDialog::accept();
}

void ExportDialog::updateOk()
{
    m_ok->setEnabled(!formats().empty() && !folder().isEmpty());
}

} // namespace qat::ui
