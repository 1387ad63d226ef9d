// SPDX-License-Identifier: MIT
#pragma once

#include "model/model_info.h"

#include <QWidget>

#include <memory>

class QAction;
class QComboBox;
class QLineEdit;
class QListWidget;
class QPushButton;
class QRadioButton;
class QTableView;
class QUndoStack;

namespace qat::quant {
class QuantizerRegistry;
}

namespace qat::ui {

class PlanTableModel;

/// The per-layer quantization plan: preset, the plan table (edit cells; an edit on a
/// multi-row selection changes every selected row), a bulk bar ("set COLUMN to VALUE for
/// the selected layers, or as a rule for layers by kind and name"), the plan's rules, and
/// plan files. Every edit is undoable. UI thread only.
class QuantizationView : public QWidget {
    Q_OBJECT
public:
    QuantizationView(QUndoStack* undoStack, QWidget* parent = nullptr);

    void setRegistry(std::shared_ptr<const quant::QuantizerRegistry> registry);
    void showModel(const model::ModelInfo& info);

    PlanTableModel* planModel() const { return m_model; }
    QTableView* table() const { return m_table; }
    /// Loads a plan file; false (and a message through problem) when it is unreadable or
    /// does not fit the model. Undoable.
    bool loadPlan(const QString& path, QString* problem = nullptr);
    /// What "Load Plan..." does with the chosen file: loads it, and says so or says what is
    /// wrong with it (statusMessage / errorMessage).
    void openPlanFile(const QString& path);
    bool savePlan(const QString& path, QString* problem = nullptr);
    /// While a run trains, the plan it uses must stay what the user sees.
    void setLocked(bool locked);

Q_SIGNALS:
    /// A message for the status bar (refused edits, saved files).
    void statusMessage(const QString& text);
    /// An error for the banner (a plan file that cannot be read).
    void errorMessage(const QString& text);
    /// The user selected a row: the name its quantizer trains under ("features.0.weight",
    /// "block1:add", "input"), e.g. to show it in the plots.
    void quantizerSelected(const QString& quantizer);

private:
    QWidget* createTopBar();
    QWidget* createBulkBar();
    QWidget* createRulesBox();
    void refreshBulkValues();
    void refreshRuleKinds();
    void applyBulk();
    void refreshRules();
    void refreshPresetName();
    void choosePlanToLoad();
    void choosePlanToSave();

    QUndoStack* m_undo;
    PlanTableModel* m_model = nullptr;
    QTableView* m_table = nullptr;
    QComboBox* m_preset = nullptr;
    QComboBox* m_target = nullptr;
    QComboBox* m_bulkColumn = nullptr;
    QComboBox* m_bulkValue = nullptr;
    QRadioButton* m_toSelection = nullptr;
    QRadioButton* m_asRule = nullptr;
    QComboBox* m_ruleKind = nullptr;
    QLineEdit* m_rulePattern = nullptr;
    QListWidget* m_rules = nullptr;
    QPushButton* m_removeRule = nullptr;
    QPushButton* m_undoButton = nullptr;
    QPushButton* m_redoButton = nullptr;
    QList<QWidget*> m_editors; ///< locked during a run
};

} // namespace qat::ui
