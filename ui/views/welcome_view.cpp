// SPDX-License-Identifier: MIT
#include "views/welcome_view.h"

#include "common/error.h"
#include "resource_paths.h"
#include "training/idx_reader.h"

#include <QApplication>
#include <QClipboard>
#include <QFrame>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QVBoxLayout>

namespace qat::ui {

namespace {

const char* const kDataSet = "fashion-mnist";

QLabel* wrappedLabel(const QString& text, QWidget* parent)
{
    auto* label = new QLabel(text, parent);
    label->setWordWrap(true);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    return label;
}

} // namespace

QString WelcomeView::installCommandText()
{
    return QStringLiteral("sudo apt install dataset-fashion-mnist");
}

WelcomeView::WelcomeView(const QString& demoModel, QWidget* parent) : QWidget(parent)
{
    setObjectName(QStringLiteral("welcomeView"));
    auto* logo = new QLabel(this);
    logo->setPixmap(appIcon().pixmap(96, 96));
    logo->setAlignment(Qt::AlignCenter);
    logo->setFixedHeight(104);
    auto* title = new QLabel(tr("QAT Workbench"), this);
    title->setAlignment(Qt::AlignCenter);
    QFont titleFont = title->font();
    titleFont.setPointSizeF(titleFont.pointSizeF() * 1.6);
    titleFont.setBold(true);
    title->setFont(titleFont);
    auto* intro = wrappedLabel(
        tr("Quantization-aware training for TorchScript and ONNX models: choose a quantizer per layer, "
           "train with live plots, keep every run, export for integer hardware."),
        this);
    intro->setAlignment(Qt::AlignCenter);

    m_demo = new QPushButton(tr("Try the demo model"), this);
    m_demo->setObjectName(QStringLiteral("welcomeDemoButton"));
    m_demo->setDefault(true);
    m_demo->setMinimumHeight(40);
    m_demo->setEnabled(!demoModel.isEmpty());
    m_demo->setToolTip(demoModel.isEmpty() ? tr("The demo model was not found; reinstall QAT Workbench")
                                           : demoModel);
    connect(m_demo, &QPushButton::clicked, this, &WelcomeView::demoRequested);
    auto* demoText = wrappedLabel(
        demoModel.isEmpty()
            ? tr("The demo model was not found next to the application; reinstall QAT Workbench, "
                 "or open a model file.")
            : tr("A small CNN trained on Fashion-MNIST (92.9 % top-1). It opens with the bundled "
                 "Fashion-MNIST data selected: press <b>Start</b> (Ctrl+R) to quantize and train it."),
        this);
    demoText->setAlignment(Qt::AlignCenter);

    m_open = new QPushButton(tr("Open a model file..."), this);
    m_open->setObjectName(QStringLiteral("welcomeOpenButton"));
    connect(m_open, &QPushButton::clicked, this, &WelcomeView::openRequested);
    auto* openText = wrappedLabel(tr("A TorchScript <code>.pt</code> (scripted or traced) or an ONNX <code>.onnx</code>, "
                                     "or drop one on this window."),
                                  this);
    openText->setAlignment(Qt::AlignCenter);

    m_dataStatus = wrappedLabel(QString(), this);
    m_dataStatus->setObjectName(QStringLiteral("welcomeDataStatus"));
    m_dataStatus->setAlignment(Qt::AlignCenter);

    // Shown only when the data is missing: the command, selectable and copyable.
    m_install = new QFrame(this);
    m_install->setObjectName(QStringLiteral("welcomeInstall"));
    m_install->setStyleSheet(QStringLiteral("#welcomeInstall { background: #fff4d6; border: 1px solid #e0c070; }"));
    m_installCommand = new QLineEdit(installCommandText(), m_install);
    m_installCommand->setReadOnly(true);
    m_installCommand->setFont(QFont(QStringLiteral("monospace")));
    m_installCommand->setMinimumWidth(m_installCommand->fontMetrics().horizontalAdvance(installCommandText()) + 24);
    auto* copy = new QPushButton(tr("Copy"), m_install);
    connect(copy, &QPushButton::clicked, this, [this] { QApplication::clipboard()->setText(installCommandText()); });
    auto* recheck = new QPushButton(tr("Check Again"), m_install);
    connect(recheck, &QPushButton::clicked, this, &WelcomeView::refreshDataStatus);
    auto* installLayout = new QHBoxLayout(m_install);
    installLayout->setContentsMargins(8, 6, 8, 6);
    installLayout->addWidget(m_installCommand, 1);
    installLayout->addWidget(copy);
    installLayout->addWidget(recheck);

    auto* column = new QWidget(this);
    // A fixed width lets the wrapped labels compute their height (height-for-width).
    column->setFixedWidth(560);
    auto* c = new QVBoxLayout(column);
    c->setSpacing(8);
    c->addWidget(logo);
    c->addWidget(title);
    c->addWidget(intro);
    c->addSpacing(16);
    c->addWidget(m_demo);
    c->addWidget(demoText);
    c->addSpacing(12);
    c->addWidget(m_open);
    c->addWidget(openText);
    c->addSpacing(16);
    c->addWidget(m_dataStatus);
    c->addWidget(m_install);

    // Centred by stretches, not by alignment: an aligned widget only gets its size hint,
    // which squeezes the wrapped labels.
    auto* row = new QHBoxLayout;
    row->addStretch(1);
    row->addWidget(column);
    row->addStretch(1);
    auto* layout = new QVBoxLayout(this);
    layout->addStretch(1);
    layout->addLayout(row);
    layout->addStretch(2);
    refreshDataStatus();
}

void WelcomeView::refreshDataStatus()
{
    try {
        const auto folder = QString::fromStdString(train::resolveDatasetFolder(kDataSet));
        m_dataAvailable = true;
        m_dataStatus->setText(tr("Training data: Fashion-MNIST found in %1.").arg(folder));
        m_install->hide();
    } catch (const Error&) {
        m_dataAvailable = false;
        m_dataStatus->setText(tr("<b>Fashion-MNIST is not installed.</b> Models open without it, but "
                                 "training the demo needs its images (Debian package "
                                 "<code>dataset-fashion-mnist</code>). Install it with:"));
        m_install->show();
    }
}

} // namespace qat::ui
