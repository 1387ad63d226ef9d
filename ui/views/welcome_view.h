// SPDX-License-Identifier: MIT
#pragma once

#include <QWidget>

class QLabel;
class QLineEdit;
class QPushButton;
class QFrame;

namespace qat::ui {

/// The first page, shown while no model is open: opens the bundled demo model with the
/// bundled Fashion-MNIST data in one click, or any model file, and says (with the command
/// that installs it) when the Fashion-MNIST package is missing. UI thread only.
class WelcomeView : public QWidget {
    Q_OBJECT
public:
    /// demoModel: the demo model's path, empty when it was not found.
    explicit WelcomeView(const QString& demoModel, QWidget* parent = nullptr);

    /// Looks for the Fashion-MNIST data again and updates the page.
    void refreshDataStatus();
    /// True when the bundled data set's folder exists.
    bool dataAvailable() const { return m_dataAvailable; }

    QPushButton* demoButton() const { return m_demo; }
    QPushButton* openButton() const { return m_open; }
    QLabel* dataStatusLabel() const { return m_dataStatus; }
    /// The install command shown when the data is missing.
    QLineEdit* installCommand() const { return m_installCommand; }

    static QString installCommandText();

Q_SIGNALS:
    /// Open the demo model and select the bundled data for training.
    void demoRequested();
    /// Let the user choose a model file.
    void openRequested();

private:
    QPushButton* m_demo = nullptr;
    QPushButton* m_open = nullptr;
    QLabel* m_dataStatus = nullptr;
    QFrame* m_install = nullptr;
    QLineEdit* m_installCommand = nullptr;
    bool m_dataAvailable = false;
};

} // namespace qat::ui
