// SPDX-License-Identifier: MIT
#include "widgets/message_banner.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QStyle>
#include <QToolButton>

namespace qat::ui {

MessageBanner::MessageBanner(QWidget* parent) : QFrame(parent)
{
    setObjectName(QStringLiteral("messageBanner"));
    setFrameShape(QFrame::StyledPanel);
    m_icon = new QLabel(this);
    m_text = new QLabel(this);
    m_text->setWordWrap(true);
    m_text->setTextInteractionFlags(Qt::TextSelectableByMouse);
    auto* close = new QToolButton(this);
    close->setAutoRaise(true);
    close->setIcon(style()->standardIcon(QStyle::SP_TitleBarCloseButton));
    close->setToolTip(tr("Dismiss"));
    connect(close, &QToolButton::clicked, this, &QWidget::hide);
    auto* layout = new QHBoxLayout(this);
    layout->setContentsMargins(8, 6, 4, 6);
    layout->addWidget(m_icon, 0, Qt::AlignTop);
    layout->addWidget(m_text, 1);
    layout->addWidget(close, 0, Qt::AlignTop);
    hide();
}

void MessageBanner::showMessage(Kind kind, const QString& text)
{
    m_kind = kind;
    const bool error = kind == Kind::Error;
    m_icon->setPixmap(style()
                          ->standardIcon(error ? QStyle::SP_MessageBoxCritical : QStyle::SP_MessageBoxInformation)
                          .pixmap(20, 20));
    m_text->setText(text);
    setStyleSheet(error ? QStringLiteral("#messageBanner { background: #fde7e7; border: 1px solid #e0a0a0; }")
                        : QStringLiteral("#messageBanner { background: #e8f0fd; border: 1px solid #a0b8e0; }"));
    show();
}

QString MessageBanner::text() const
{
    return m_text->text();
}

} // namespace qat::ui
