// SPDX-License-Identifier: MIT
#pragma once

#include "analysis/bit_fit.h"
#include "engine/quantization_plan.h"
#include "model/model_info.h"

#include <QDialog>
#include <QFutureWatcher>

#include <memory>
#include <optional>
#include <vector>

class QCheckBox;
class QComboBox;
class QDialogButtonBox;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace qat::quant {
class QuantizerRegistry;
}

namespace qat::ui {

class BitsChart;

/// "Fit to Budget...": measures each layer's sensitivity at the target's bit widths (once,
/// off the UI thread), then picks each layer's weight bits so a budget holds with the smallest
/// predicted loss (analysis::fitToBudget), showing the budgeted and the fitted figures side by
/// side. Changing the budget refits at once from the same measurement. Accepting gives the
/// fitted plan (fittedPlan()), which the caller applies as one undoable step.
class FitBudgetDialog : public QDialog {
    Q_OBJECT
public:
    FitBudgetDialog(model::ModelInfo info, engine::QuantizationPlan plan,
                    std::shared_ptr<const quant::QuantizerRegistry> registry, QWidget* parent = nullptr);
    ~FitBudgetDialog() override;

    /// Sets the budget fields from text such as "weights=50%" (false when it does not parse).
    bool setBudget(const QString& spec);
    /// Activation bits fitted too, the largest activation tensor at most kb (kb <= 0: not).
    void setActivationBudget(double kb);
    /// Training steps before each sensitivity measurement (BitSensitivityRequest::adaptSteps).
    void setAdaptSteps(int steps);
    QString budgetSpec() const;
    /// Measures (when not done yet) and fits; the result arrives with fitted() or failed().
    void fit();
    bool isMeasuring() const;
    /// The fitted plan, once a fit succeeded.
    const std::optional<analysis::FitResult>& result() const { return m_result; }
    QString statusText() const;
    /// The bits-per-layer chart of the result.
    const BitsChart* chart() const { return m_chart; }

Q_SIGNALS:
    void fitted();
    void failed(const QString& reason);

private:
    struct Measured {
        std::vector<analysis::LayerBitSensitivity> sensitivity;
        QString error;
    };
    bool canRefit() const;
    void refit();
    void showResult();
    void showPoints(const analysis::Resources& resources);
    void showError(const QString& text);

    model::ModelInfo m_info;
    engine::QuantizationPlan m_plan;
    std::shared_ptr<const quant::QuantizerRegistry> m_registry;
    QComboBox* m_kind = nullptr;
    QDoubleSpinBox* m_value = nullptr;
    QLineEdit* m_data = nullptr;
    QSpinBox* m_images = nullptr;
    QSpinBox* m_adaptSteps = nullptr;
    QCheckBox* m_activationsToo = nullptr;
    QDoubleSpinBox* m_activationKb = nullptr;
    QPushButton* m_fit = nullptr;
    QLabel* m_status = nullptr;
    BitsChart* m_chart = nullptr;
    QTableWidget* m_table = nullptr;
    QDialogButtonBox* m_buttons = nullptr;
    QFutureWatcher<Measured> m_watcher;
    std::vector<analysis::LayerBitSensitivity> m_sensitivity;
    std::optional<analysis::FitResult> m_result;
};

} // namespace qat::ui
