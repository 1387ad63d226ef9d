// SPDX-License-Identifier: MIT
#pragma once

#include <QMainWindow>
#include <QStringList>

class QMenu;
class QStackedWidget;
class QPushButton;

namespace qat::ui {

class MessageBanner;
class ModelLoadController;
class ModelView;
struct ModelLoadResult;

/// The workbench's frame: menus, banner, and the views it hosts. Opening a model
/// (File > Open, recent files, drag and drop) imports it off the UI thread. UI thread only.
class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    /// Starts importing path; the result appears in the window (layers or an error banner).
    void openModel(const QString& path);

    ModelView* modelView() const { return m_modelView; }
    MessageBanner* banner() const { return m_banner; }
    ModelLoadController* loader() const { return m_loader; }
    QString currentModelPath() const { return m_currentPath; }
    QStringList recentFiles() const;

Q_SIGNALS:
    /// Emitted after every import attempt, successful or not (tests and --screenshot wait on it).
    void modelLoadFinished(bool ok);

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;
    void closeEvent(QCloseEvent* event) override;

private:
    void createMenus();
    QWidget* createWelcomePage();
    void chooseModelFile();
    void onLoaded(const ModelLoadResult& result);
    void onFailed(const QString& path, const QString& message);
    void addRecentFile(const QString& path);
    void rebuildRecentMenu();

    MessageBanner* m_banner = nullptr;
    QStackedWidget* m_pages = nullptr;
    ModelView* m_modelView = nullptr;
    ModelLoadController* m_loader = nullptr;
    QMenu* m_recentMenu = nullptr;
    QString m_currentPath;
};

} // namespace qat::ui
