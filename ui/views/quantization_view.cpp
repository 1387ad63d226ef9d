// SPDX-License-Identifier: MIT
#include "views/quantization_view.h"

#include "models/plan_table_model.h"
#include "views/fit_budget_dialog.h"
#include "targets/target_registry.h"
#include "views/plan_item_delegate.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QRadioButton>
#include <QSettings>
#include <QTableView>
#include <QToolButton>
#include <QUndoStack>
#include <QVBoxLayout>

#include <set>

namespace qat::ui {

namespace {
const char* const kPlanFolderKey = "lastPlanFolder";
}

QuantizationView::QuantizationView(QUndoStack* undoStack, QWidget* parent) : QWidget(parent), m_undo(undoStack)
{
    m_model = new PlanTableModel(undoStack, this);
    m_table = new QTableView(this);
    m_table->setModel(m_model);
    m_table->setItemDelegate(new PlanItemDelegate(m_table));
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_table->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed
                             | QAbstractItemView::SelectedClicked);
    m_table->setAlternatingRowColors(true);
    m_table->verticalHeader()->hide();
    m_table->horizontalHeader()->setStretchLastSection(false);
    m_table->setWordWrap(false);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(createTopBar());
    layout->addWidget(m_table, 1);
    m_resources = new QLabel(this);
    m_resources->setObjectName(QStringLiteral("resourceSummary"));
    m_resources->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_resources->setToolTip(tr("What this plan costs on the chip: the layers' weights at their bits (against float32 "
                               "and every layer at 8 bits), the quantized tensors of one sample (the largest and "
                               "all of them), and bit operations (MACs x weight bits x input bits)"));
    layout->addWidget(m_resources);
    auto* hint = new QLabel(tr("Double-click a cell to change it; with several rows selected, all of them change. "
                               "Bold values are set for that row alone. Italic rows are tensors the target stores "
                               "between operators (adds, pools, concatenations, ...)."), this);
    hint->setWordWrap(true);
    hint->setStyleSheet(QStringLiteral("color: palette(dark);"));
    layout->addWidget(hint);
    layout->addWidget(createBulkBar());
    layout->addWidget(createRulesBox());

    connect(m_model, &PlanTableModel::editRefused, this, &QuantizationView::statusMessage);
    connect(m_model, &PlanTableModel::planChanged, this, [this] {
        m_resources->setText(resourceSummary());
        refreshPresetName();
        const QSignalBlocker blockTarget(m_target);
        m_target->setCurrentIndex(m_target->findData(QString::fromStdString(m_model->plan().target)));
        refreshRuleKinds();
        refreshRules();
    });
    connect(m_table->selectionModel(), &QItemSelectionModel::currentRowChanged, this,
            [this](const QModelIndex& current) {
                if (current.isValid()) {
                    Q_EMIT quantizerSelected(m_model->quantizerName(current.row()));
                }
            });
}

QWidget* QuantizationView::createTopBar()
{
    auto* bar = new QWidget(this);
    auto* row = new QHBoxLayout(bar);
    row->setContentsMargins(0, 0, 0, 0);
    m_preset = new QComboBox(bar);
    for (const auto& name : engine::presetNames()) {
        m_preset->addItem(QString::fromStdString(name), QString::fromStdString(name));
    }
    // Shown, not offered: with no item current the combo shows this.
    m_preset->setPlaceholderText(tr("(edited)"));
    m_preset->setToolTip(tr("Start the plan from a built-in preset (replaces the whole plan; Ctrl+Z undoes it)"));
    connect(m_preset, &QComboBox::activated, this, [this](int index) {
        const auto name = m_preset->itemData(index).toString();
        m_model->replacePlan(engine::presetPlan(name.toStdString()), tr("Preset %1").arg(name));
    });
    m_target = new QComboBox(bar);
    for (const auto& t : target::builtinTargets().all()) {
        m_target->addItem(QString::fromStdString(t.name), QString::fromStdString(t.name));
        m_target->setItemData(m_target->count() - 1, QString::fromStdString(t.description), Qt::ToolTipRole);
    }
    m_target->setToolTip(tr("The deployment target: which tensors are quantized (every tensor the chip stores, or "
                            "layer outputs only) and which quantizers and bit widths it runs"));
    connect(m_target, &QComboBox::activated, this, [this](int index) {
        if (!m_model->setTarget(m_target->itemData(index).toString())) {
            const QSignalBlocker block(m_target);
            m_target->setCurrentIndex(m_target->findData(QString::fromStdString(m_model->plan().target)));
        }
    });
    m_fitButton = new QPushButton(tr("Fit to Budget..."), bar);
    m_fitButton->setToolTip(tr("Choose each layer's weight bits among the target's so that weights memory or BOPs "
                               "fit a budget with the least predicted accuracy loss"));
    m_fitButton->setEnabled(false);
    connect(m_fitButton, &QPushButton::clicked, this, &QuantizationView::openFitDialog);
    row->addWidget(m_fitButton);
    auto* load = new QPushButton(tr("Load Plan..."), bar);
    auto* save = new QPushButton(tr("Save Plan..."), bar);
    connect(load, &QPushButton::clicked, this, &QuantizationView::choosePlanToLoad);
    connect(save, &QPushButton::clicked, this, &QuantizationView::choosePlanToSave);
    // Fixed texts: the undo action's text names the whole command and would widen the bar.
    auto* undo = new QPushButton(tr("Undo"), bar);
    auto* redo = new QPushButton(tr("Redo"), bar);
    undo->setEnabled(false);
    redo->setEnabled(false);
    connect(undo, &QPushButton::clicked, m_undo, &QUndoStack::undo);
    connect(redo, &QPushButton::clicked, m_undo, &QUndoStack::redo);
    connect(m_undo, &QUndoStack::canUndoChanged, undo, [this, undo](bool can) { undo->setEnabled(can && !m_model->isReadOnly()); });
    connect(m_undo, &QUndoStack::canRedoChanged, redo, [this, redo](bool can) { redo->setEnabled(can && !m_model->isReadOnly()); });
    connect(m_undo, &QUndoStack::undoTextChanged, undo, [undo](const QString& text) { undo->setToolTip(tr("Undo %1 (Ctrl+Z)").arg(text)); });
    connect(m_undo, &QUndoStack::redoTextChanged, redo, [redo](const QString& text) { redo->setToolTip(tr("Redo %1 (Ctrl+Shift+Z)").arg(text)); });
    m_undoButton = undo;
    m_redoButton = redo;
    row->addWidget(new QLabel(tr("Preset:"), bar));
    row->addWidget(m_preset);
    row->addSpacing(12);
    row->addWidget(new QLabel(tr("Target:"), bar));
    row->addWidget(m_target);
    row->addSpacing(12);
    row->addWidget(load);
    row->addWidget(save);
    row->addSpacing(12);
    row->addWidget(undo);
    row->addWidget(redo);
    row->addStretch(1);
    m_editors << m_preset << m_target << load;
    return bar;
}

QWidget* QuantizationView::createBulkBar()
{
    auto* box = new QGroupBox(tr("Change many layers"), this);
    m_bulkColumn = new QComboBox(box);
    for (int c = PlanTableModel::WeightQuantizer; c <= PlanTableModel::Enabled; ++c) {
        m_bulkColumn->addItem(PlanTableModel::columnName(c), c);
    }
    m_bulkValue = new QComboBox(box);
    m_bulkValue->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    m_toSelection = new QRadioButton(tr("selected layers"), box);
    m_toSelection->setChecked(true);
    m_asRule = new QRadioButton(tr("a rule: layers or ops of kind"), box);
    m_asRule->setToolTip(tr("Adds a rule to the plan: it also applies to models opened later, and replaces values "
                            "set per row on the rows it matches (a layer kind, or an op such as add for the "
                            "outputs of every add)"));
    m_ruleKind = new QComboBox(box);
    m_ruleKind->addItem(tr("any"), QString());
    m_rulePattern = new QLineEdit(box);
    m_rulePattern->setPlaceholderText(tr("name regex, e.g. features\\..*"));
    m_rulePattern->setToolTip(tr("ECMAScript regular expression that must match the whole layer name; empty: any"));
    auto* apply = new QPushButton(tr("Apply"), box);
    auto* grid = new QGridLayout(box);
    auto* what = new QHBoxLayout;
    what->addWidget(new QLabel(tr("Set"), box));
    what->addWidget(m_bulkColumn);
    what->addWidget(new QLabel(tr("to"), box));
    what->addWidget(m_bulkValue);
    what->addStretch(1);
    what->addWidget(apply);
    auto* who = new QHBoxLayout;
    who->addWidget(new QLabel(tr("for"), box));
    who->addWidget(m_toSelection);
    who->addSpacing(12);
    who->addWidget(m_asRule);
    who->addWidget(m_ruleKind);
    who->addWidget(new QLabel(tr("named"), box));
    who->addWidget(m_rulePattern, 1);
    grid->addLayout(what, 0, 0);
    grid->addLayout(who, 1, 0);
    connect(m_bulkColumn, &QComboBox::currentIndexChanged, this, &QuantizationView::refreshBulkValues);
    connect(apply, &QPushButton::clicked, this, &QuantizationView::applyBulk);
    connect(m_rulePattern, &QLineEdit::textEdited, this, [this] { m_asRule->setChecked(true); });
    connect(m_ruleKind, &QComboBox::activated, this, [this] { m_asRule->setChecked(true); });
    m_editors << box;
    refreshBulkValues();
    return box;
}

QWidget* QuantizationView::createRulesBox()
{
    auto* box = new QGroupBox(tr("Rules (applied in order, before per-layer values)"), this);
    auto* row = new QHBoxLayout(box);
    m_rules = new QListWidget(box);
    m_rules->setMaximumHeight(72);
    m_removeRule = new QPushButton(tr("Remove Rule"), box);
    m_removeRule->setEnabled(false);
    connect(m_rules, &QListWidget::currentRowChanged, this, [this](int r) { m_removeRule->setEnabled(r >= 0); });
    connect(m_removeRule, &QPushButton::clicked, this, [this] { m_model->removeRule(m_rules->currentRow()); });
    row->addWidget(m_rules, 1);
    row->addWidget(m_removeRule, 0, Qt::AlignTop);
    m_editors << box;
    return box;
}

FitBudgetDialog* QuantizationView::openFitDialog()
{
    if (m_info.layers.empty() || m_model->isReadOnly()) {
        return nullptr;
    }
    auto* dialog = new FitBudgetDialog(m_info, m_model->plan(), m_registry, this);
    dialog->setAttribute(Qt::WA_DeleteOnClose);
    connect(dialog, &QDialog::accepted, this, [this, dialog] {
        if (dialog->result()) {
            m_model->replacePlan(dialog->result()->plan, tr("Fit to budget %1").arg(dialog->budgetSpec()));
        }
    });
    dialog->open();
    return dialog;
}

QString QuantizationView::resourceSummary() const
{
    if (m_model->layers().empty()) {
        return {};
    }
    return tr("Resources: %1").arg(QString::fromStdString(analysis::describeResources(m_model->resources())));
}

void QuantizationView::setRegistry(std::shared_ptr<const quant::QuantizerRegistry> registry)
{
    m_registry = registry;
    m_model->setRegistry(std::move(registry));
    refreshBulkValues();
}

void QuantizationView::showModel(const model::ModelInfo& info)
{
    m_info = info;
    m_model->setModel(info.layers, info.opGraph);
    m_fitButton->setEnabled(!info.layers.empty() && !m_model->isReadOnly());
    refreshRuleKinds();
    m_table->resizeColumnsToContents();
    // The layer names keep their width (they are what a user reads first; stretched, they
    // were cut to "feat..." beside the training settings) and the Kind column gives way.
    m_table->horizontalHeader()->setSectionResizeMode(PlanTableModel::Kind, QHeaderView::Stretch);
    for (int c : {int(PlanTableModel::WeightQuantizer), int(PlanTableModel::ActivationQuantizer)}) {
        // Room for the longest name a combo box can offer ("LSQ+ power-of-two").
        m_table->setColumnWidth(c, std::max(m_table->columnWidth(c), fontMetrics().horizontalAdvance(QStringLiteral("LSQ+ power-of-two")) + 28));
    }
    for (int c : {int(PlanTableModel::Memory), int(PlanTableModel::Bops)}) {
        // Room for the widest figure an edit can bring ("888.88 M", "888.9 KB"): the contents
        // at opening can be narrower than what the next edit shows.
        const int widest = std::max(fontMetrics().horizontalAdvance(QStringLiteral("888.88 M")),
                                    fontMetrics().horizontalAdvance(QStringLiteral("888.9 KB")));
        m_table->setColumnWidth(c, std::max(m_table->columnWidth(c), widest + 24));
    }
}

// Layer kinds and selectors, then the ops of the target's other activation points.
void QuantizationView::refreshRuleKinds()
{
    std::set<std::string> kinds;
    for (const auto& l : m_model->layers()) {
        kinds.insert(l.kind);
    }
    QStringList wanted{QString()};
    for (const auto& k : kinds) {
        wanted << QString::fromStdString(k);
    }
    if (!m_model->layers().empty()) {
        wanted << QStringLiteral("first") << QStringLiteral("last");
    }
    if (std::any_of(m_model->layers().begin(), m_model->layers().end(), [](const auto& l) {
            return l.groups > 1 && l.weightShape.size() > 2 && l.weightShape[1] == 1;
        })) {
        wanted << QStringLiteral("depthwise");
    }
    wanted << m_model->pointOps();
    QStringList current;
    for (int i = 0; i < m_ruleKind->count(); ++i) {
        current << m_ruleKind->itemData(i).toString();
    }
    if (current == wanted) {
        return;
    }
    const auto selected = m_ruleKind->currentData().toString();
    m_ruleKind->clear();
    for (const auto& k : wanted) {
        m_ruleKind->addItem(k.isEmpty() ? tr("any") : k, k);
    }
    m_ruleKind->setCurrentIndex(std::max(0, m_ruleKind->findData(selected)));
}

void QuantizationView::refreshBulkValues()
{
    const int column = m_bulkColumn->currentData().toInt();
    m_bulkValue->clear();
    for (const auto& [label, value] : m_model->valueChoices(column)) {
        m_bulkValue->addItem(label, value);
    }
    if (column == PlanTableModel::WeightBits || column == PlanTableModel::ActivationBits) {
        m_bulkValue->setCurrentIndex(m_bulkValue->findData(column == PlanTableModel::WeightBits ? 4 : 8));
    }
}

void QuantizationView::applyBulk()
{
    const int column = m_bulkColumn->currentData().toInt();
    const auto value = m_bulkValue->currentData();
    if (m_asRule->isChecked()) {
        if (m_model->addRule(m_ruleKind->currentData().toString(), m_rulePattern->text(), column, value)) {
            Q_EMIT statusMessage(tr("Rule added"));
        }
        return;
    }
    QList<int> rows;
    for (const auto& index : m_table->selectionModel()->selectedRows()) {
        rows << index.row();
    }
    std::sort(rows.begin(), rows.end());
    if (m_model->setColumn(rows, column, value)) {
        Q_EMIT statusMessage(m_undo->undoText());
    }
}

void QuantizationView::refreshPresetName()
{
    // The preset's name while the plan is exactly what choosing it gave (its own rules and
    // overrides included), "(edited)" after any change, and the name again after undoing it.
    const auto& plan = m_model->plan();
    const int found = m_preset->findData(QString::fromStdString(plan.preset));
    const bool asChosen = found >= 0 && engine::planToJson(plan) == engine::planToJson(engine::presetPlan(plan.preset));
    const QSignalBlocker block(m_preset);
    m_preset->setCurrentIndex(asChosen ? found : -1);
}

void QuantizationView::refreshRules()
{
    m_rules->clear();
    m_rules->addItems(m_model->ruleTexts());
    if (m_rules->count() == 0) {
        auto* none = new QListWidgetItem(tr("No rules: every row uses the preset, except values set per row."));
        none->setFlags(Qt::NoItemFlags);
        m_rules->addItem(none);
    }
    m_removeRule->setEnabled(false);
}

bool QuantizationView::loadPlan(const QString& path, QString* problem)
{
    try {
        auto plan = engine::loadPlanFile(path.toStdString());
        if (!m_model->replacePlan(plan, tr("Load plan %1").arg(QFileInfo(path).fileName()))) {
            if (problem) *problem = m_model->lastError();
            return false;
        }
    } catch (const std::exception& e) {
        if (problem) *problem = QString::fromStdString(e.what());
        return false;
    }
    return true;
}

bool QuantizationView::savePlan(const QString& path, QString* problem)
{
    try {
        engine::savePlanFile(m_model->plan(), path.toStdString());
    } catch (const std::exception& e) {
        if (problem) *problem = QString::fromStdString(e.what());
        return false;
    }
    return true;
}

void QuantizationView::choosePlanToLoad()
{
    QSettings settings;
    const auto path = QFileDialog::getOpenFileName(this, tr("Load Quantization Plan"),
                                                   settings.value(QString::fromLatin1(kPlanFolderKey)).toString(),
                                                   tr("Plan files (*.json);;All files (*)"));
    if (path.isEmpty()) {
        return;
    }
    settings.setValue(QString::fromLatin1(kPlanFolderKey), QFileInfo(path).absolutePath());
    openPlanFile(path);
}

void QuantizationView::openPlanFile(const QString& path)
{
    QString problem;
    if (loadPlan(path, &problem)) {
        Q_EMIT statusMessage(tr("Loaded plan %1").arg(QFileInfo(path).fileName()));
    } else {
        Q_EMIT errorMessage(tr("Could not load the plan. %1").arg(problem));
    }
}

void QuantizationView::choosePlanToSave()
{
    QSettings settings;
    const auto folder = settings.value(QString::fromLatin1(kPlanFolderKey)).toString();
    const auto path = QFileDialog::getSaveFileName(this, tr("Save Quantization Plan"),
                                                   QDir(folder).filePath(QStringLiteral("plan.json")),
                                                   tr("Plan files (*.json)"));
    if (path.isEmpty()) {
        return;
    }
    settings.setValue(QString::fromLatin1(kPlanFolderKey), QFileInfo(path).absolutePath());
    QString problem;
    if (savePlan(path, &problem)) {
        Q_EMIT statusMessage(tr("Saved plan to %1").arg(path));
    } else {
        Q_EMIT errorMessage(tr("Could not save the plan. %1").arg(problem));
    }
}

void QuantizationView::setLocked(bool locked)
{
    m_table->setEditTriggers(locked ? QAbstractItemView::NoEditTriggers
                                    : QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed
                                          | QAbstractItemView::SelectedClicked);
    for (auto* w : m_editors) {
        w->setEnabled(!locked);
    }
    // Check boxes edit without an editor: the model's flags block them.
    m_model->setReadOnly(locked);
    m_fitButton->setEnabled(!locked && !m_info.layers.empty());
    m_undoButton->setEnabled(!locked && m_undo->canUndo());
    m_redoButton->setEnabled(!locked && m_undo->canRedo());
}

} // namespace qat::ui
