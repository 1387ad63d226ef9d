// SPDX-License-Identifier: MIT
#pragma once

#include <QFrame>

class QLabel;

namespace qat::ui {

/// A dismissable strip above the content that shows an error or a notice in the window
/// (never only on the console). UI thread only.
class MessageBanner : public QFrame {
    Q_OBJECT
public:
    enum class Kind { Error = 1, Info };

    explicit MessageBanner(QWidget* parent = nullptr);

    void showMessage(Kind kind, const QString& text);
    QString text() const;
    Kind kind() const { return m_kind; }

private:
    QLabel* m_icon = nullptr;
    QLabel* m_text = nullptr;
    Kind m_kind = Kind::Info;
};

} // namespace qat::ui
