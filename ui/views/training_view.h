// SPDX-License-Identifier: MIT
#pragma once

#include "training/train_types.h"

#include <QWidget>

#include <optional>

class QAction;
class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QSpinBox;

namespace qat::ui {

/// The training panel: data set, optimizer, learning rates, length, batch, seed,
/// distillation, calibration, and Start / Pause / Stop. Produces a TrainConfig (without
/// model and plan, which the window adds). Editors lock while a run is active. Settings
/// persist between sessions. UI thread only.
class TrainingView : public QWidget {
    Q_OBJECT
public:
    enum class Activity { Idle = 1, Running, Paused, Stopping };

    explicit TrainingView(QWidget* parent = nullptr);
    ~TrainingView() override;

    /// The settings as a run configuration; plan.weights/activations init is set by
    /// calibration(). Throws nothing; an unusable folder shows up when the run starts.
    train::TrainConfig config() const;
    /// The initialisation chosen for every quantizer, or none: the plan's own (its preset's
    /// default, or what a plan file says), the box's first entry and its default.
    std::optional<quant::InitMethod> calibration() const;
    /// Shows config's settings (a stored run's, for a re-run): data, subsets, optimizer,
    /// schedule, learning rates, length, batch, seed, distillation, and the calibration of
    /// its plan's weights.
    void setConfig(const train::TrainConfig& config);
    void setActivity(Activity activity);
    Activity activity() const { return m_activity; }
    /// Short run settings (tests, --run): steps and data subset.
    void setShortRun(int64_t steps, int64_t limitTrain, int64_t limitTest);
    /// Selects the bundled Fashion-MNIST as the data (the welcome page's demo does).
    void selectBundledData();
    /// Selects data by name (fashion-mnist) or path (a folder or file), as --data does.
    void selectData(const QString& data);

    QAction* startAction() const { return m_start; }
    QAction* pauseAction() const { return m_pause; }
    QAction* stopAction() const { return m_stop; }
    void setStatus(const QString& text);
    /// The rates the current plan resolves "auto" to (train::autoLearningRates), shown greyed
    /// while "auto" is ticked; a rate typed by hand comes back when "auto" is unticked.
    void setAutomaticRates(double lr, double quantizerLr);

Q_SIGNALS:
    void startRequested();
    void pauseRequested(bool paused);
    void stopRequested();
    /// The chosen data set changed (a name such as fashion-mnist, a folder or a file).
    void dataChanged(const QString& data);

private:
    void chooseDataFolder();
    void chooseDataFile();
    void addRecentDataFolder(const QString& folder);
    void saveSettings() const;
    void restoreSettings();
    /// The probe applies to automatic rates only: its box is off limits otherwise.
    void updateProbeEnabled();
    void showRates();

    QComboBox* m_data = nullptr;
    QSpinBox* m_limitTrain = nullptr;
    QSpinBox* m_limitTest = nullptr;
    QComboBox* m_optimizer = nullptr;
    QComboBox* m_schedule = nullptr;
    QCheckBox* m_lrAuto = nullptr;
    QDoubleSpinBox* m_lr = nullptr;
    QCheckBox* m_qlrAuto = nullptr;
    QDoubleSpinBox* m_qlr = nullptr;
    double m_manualLr = 1e-4;  ///< the rates typed by hand (kept while "auto" shows others)
    double m_manualQlr = 1e-4;
    double m_autoLr = -1;      ///< the plan's automatic rates; < 0: not known yet
    double m_autoQlr = -1;
    QCheckBox* m_lrProbe = nullptr;
    QSpinBox* m_warmup = nullptr; ///< quantizer warm-up steps; -1 auto
    QSpinBox* m_freezeBn = nullptr; ///< step BatchNorm is frozen (folded) after; -2 auto, -1 never
    QSpinBox* m_epochs = nullptr;
    QSpinBox* m_steps = nullptr;
    QSpinBox* m_batch = nullptr;
    QSpinBox* m_seed = nullptr;
    QCheckBox* m_distill = nullptr;
    QComboBox* m_calibration = nullptr;
    QLabel* m_status = nullptr;
    QAction* m_start = nullptr;
    QAction* m_pause = nullptr;
    QAction* m_stop = nullptr;
    QList<QWidget*> m_editors;
    Activity m_activity = Activity::Idle;
    int m_lastDataIndex = 0;
};

} // namespace qat::ui
