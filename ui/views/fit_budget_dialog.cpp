// SPDX-License-Identifier: MIT
#include "views/fit_budget_dialog.h"

#include "analysis/resources.h"
#include "common/error.h"
#include "widgets/bits_chart.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

namespace qat::ui {

namespace {

// The budget kinds as the combo offers them: the spec's key and the value's unit.
struct KindEntry {
    const char* key;
    const char* label;
    const char* suffix;
};
const KindEntry kKinds[] = {{"weights", "Weights memory, % of every layer at 8 bits", "%"},
                            {"weights-kb", "Weights memory, KB", ""},
                            {"bops", "Bit operations (BOPs), millions", "M"},
                            {"activations-kb", "Largest activation tensor, KB (activation bits)", ""}};

bool isActivationKind(int index) { return index == int(analysis::BudgetKind::ActivationsKb) - 1; }

QString text(const std::string& s) { return QString::fromStdString(s); }

} // namespace

FitBudgetDialog::FitBudgetDialog(model::ModelInfo info, engine::QuantizationPlan plan,
                                 std::shared_ptr<const quant::QuantizerRegistry> registry, QWidget* parent)
    : QDialog(parent), m_info(std::move(info)), m_plan(std::move(plan)), m_registry(std::move(registry))
{
    setWindowTitle(tr("Fit to Budget"));
    m_kind = new QComboBox(this);
    for (const auto& k : kKinds) {
        m_kind->addItem(tr(k.label), QString::fromLatin1(k.key));
    }
    m_value = new QDoubleSpinBox(this);
    m_value->setRange(0.001, 1e9);
    m_value->setDecimals(1);
    m_value->setValue(50);
    m_data = new QLineEdit(QStringLiteral("fashion-mnist"), this);
    m_data->setToolTip(tr("Calibration data: the layers' sensitivity is measured on its training images"));
    m_images = new QSpinBox(this);
    m_images->setRange(32, 10000);
    m_images->setValue(512);
    m_adaptSteps = new QSpinBox(this);
    m_adaptSteps->setRange(0, 1000);
    m_adaptSteps->setValue(analysis::BitSensitivityRequest{}.adaptSteps);
    m_adaptSteps->setToolTip(tr("Training steps taken with each layer at each bit width before its loss is measured: "
                                "what training recovers is not counted as lost (0: measured straight after "
                                "initialisation, which overrates what low bits cost)"));
    m_activationsToo = new QCheckBox(tr("Activation bits too, largest tensor at most (KB):"), this);
    m_activationsToo->setToolTip(tr("Each quantized activation tensor gets the most bits of the target's that keep it "
                                    "within the limit (exact: the tensors do not interact), then the weights are fitted"));
    m_activationKb = new QDoubleSpinBox(this);
    m_activationKb->setRange(0.001, 1e9);
    m_activationKb->setDecimals(3);
    m_activationKb->setValue(16);
    m_activationKb->setEnabled(false);
    m_fit = new QPushButton(tr("Fit"), this);
    m_fit->setDefault(true);
    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("fitStatus"));
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_chart = new BitsChart(this);
    m_table = new QTableWidget(this);
    m_table->verticalHeader()->hide();
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    m_buttons->button(QDialogButtonBox::Ok)->setText(tr("Apply to Plan"));
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(false);

    const auto candidates = analysis::candidateBits(m_plan);
    QStringList bits;
    for (int b : candidates) bits << QString::number(b);
    auto* form = new QFormLayout;
    form->addRow(tr("Budget:"), m_kind);
    form->addRow(tr("At most:"), m_value);
    form->addRow(tr("Calibration data:"), m_data);
    form->addRow(tr("Images compared:"), m_images);
    form->addRow(tr("Training steps per measurement:"), m_adaptSteps);
    form->addRow(m_activationsToo, m_activationKb);
    auto* explain = new QLabel(tr("Each layer's weights get %1 bits (what target %2 runs), chosen so the budget holds "
                                  "and the predicted accuracy loss is smallest. The prediction: how much the model's "
                                  "logits change with only that layer quantized at each bit width and adapted by a few "
                                  "training steps (what training recovers is not counted as lost), measured once on "
                                  "held-out calibration images; the choice is exact (dynamic programming).")
                                   .arg(bits.join(QStringLiteral(", ")), text(m_plan.target)),
                               this);
    explain->setWordWrap(true);
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(explain);
    layout->addLayout(form);
    layout->addWidget(m_fit, 0, Qt::AlignLeft);
    layout->addWidget(m_status);
    layout->addWidget(m_chart, 3);
    layout->addWidget(m_table, 2);
    layout->addWidget(m_buttons);
    resize(720, 760);

    connect(m_fit, &QPushButton::clicked, this, &FitBudgetDialog::fit);
    auto refitIfFitted = [this] {
        if (canRefit()) refit();
    };
    connect(m_kind, &QComboBox::currentIndexChanged, this, [this, refitIfFitted](int index) {
        m_value->setSuffix(QString::fromLatin1(kKinds[index].suffix));
        refitIfFitted();
    });
    connect(m_value, &QDoubleSpinBox::valueChanged, this, refitIfFitted);
    // The measurement belongs to this data and image count: another one measures again.
    auto forget = [this] { m_sensitivity.clear(); };
    connect(m_data, &QLineEdit::textChanged, this, forget);
    connect(m_images, &QSpinBox::valueChanged, this, forget);
    connect(m_adaptSteps, &QSpinBox::valueChanged, this, forget);
    connect(m_activationsToo, &QCheckBox::toggled, m_activationKb, &QWidget::setEnabled);
    connect(m_activationsToo, &QCheckBox::toggled, this, refitIfFitted);
    connect(m_activationKb, &QDoubleSpinBox::valueChanged, this, refitIfFitted);
    connect(m_buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(m_buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(&m_watcher, &QFutureWatcher<Measured>::finished, this, [this] {
        m_fit->setEnabled(true);
        const auto measured = m_watcher.result();
        if (!measured.error.isEmpty()) {
            showError(measured.error);
            return;
        }
        m_sensitivity = measured.sensitivity;
        refit();
    });
    m_value->setSuffix(QStringLiteral("%"));
}

FitBudgetDialog::~FitBudgetDialog()
{
    m_watcher.waitForFinished();
}

bool FitBudgetDialog::setBudget(const QString& spec)
{
    try {
        const auto budget = analysis::parseBudget(spec.toStdString());
        const int index = int(budget.kind) - 1;
        m_kind->setCurrentIndex(index);
        m_value->setValue(budget.kind == analysis::BudgetKind::Bops ? budget.value / 1e6 : budget.value);
        return true;
    } catch (const Error&) {
        return false;
    }
}

void FitBudgetDialog::setActivationBudget(double kb)
{
    m_activationsToo->setChecked(kb > 0);
    if (kb > 0) m_activationKb->setValue(kb);
}

void FitBudgetDialog::setAdaptSteps(int steps) { m_adaptSteps->setValue(steps); }

QString FitBudgetDialog::budgetSpec() const
{
    const auto& kind = kKinds[m_kind->currentIndex()];
    return QString::fromLatin1(kind.key) + QLatin1Char('=') + QString::number(m_value->value(), 'g', 10)
           + QString::fromLatin1(kind.suffix);
}

// Measured already, or activation bits (which need no measurement).
bool FitBudgetDialog::canRefit() const
{
    return !m_sensitivity.empty() || isActivationKind(m_kind->currentIndex());
}

bool FitBudgetDialog::isMeasuring() const { return m_watcher.isRunning(); }

QString FitBudgetDialog::statusText() const { return m_status->text(); }

void FitBudgetDialog::fit()
{
    if (isMeasuring()) {
        return;
    }
    m_result.reset();
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(false);
    if (canRefit()) {
        refit();
        return;
    }
    try { // an impossible budget is refused before the measurement
        analysis::checkBudgetReachable(m_info, m_plan, analysis::parseBudget(budgetSpec().toStdString()));
    } catch (const std::exception& e) {
        showError(QString::fromStdString(e.what()));
        return;
    }
    if (!m_registry) {
        showError(tr("No quantizers are registered"));
        return;
    }
    analysis::BitSensitivityRequest request;
    request.modelPath = m_info.path;
    request.plan = m_plan;
    request.data = m_data->text().toStdString();
    request.images = m_images->value();
    request.adaptSteps = m_adaptSteps->value();
    m_fit->setEnabled(false);
    m_status->setText(tr("Measuring each layer at each bit width on %1 images...").arg(request.images));
    auto registry = m_registry;
    m_watcher.setFuture(QtConcurrent::run([request, registry] {
        Measured m;
        try {
            m.sensitivity = analysis::measureBitSensitivity(request, *registry);
        } catch (const std::exception& e) {
            m.error = QString::fromStdString(e.what());
        }
        return m;
    }));
}

void FitBudgetDialog::refit()
{
    m_result.reset();
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(false);
    try {
        const auto budget = analysis::parseBudget(budgetSpec().toStdString());
        if (m_activationsToo->isChecked() && budget.kind != analysis::BudgetKind::ActivationsKb) {
            const auto activations = analysis::parseBudget(
                "activations-kb=" + QString::number(m_activationKb->value(), 'g', 10).toStdString());
            m_result = analysis::fitWithActivations(m_info, m_plan, budget, activations, m_sensitivity);
        } else {
            m_result = analysis::fitToBudget(m_info, m_plan, budget, m_sensitivity);
        }
    } catch (const std::exception& e) {
        showError(QString::fromStdString(e.what()));
        return;
    }
    showResult();
    m_buttons->button(QDialogButtonBox::Ok)->setEnabled(true);
    Q_EMIT fitted();
}

void FitBudgetDialog::showResult()
{
    const auto& fit = *m_result;
    const bool bops = fit.budget.kind == analysis::BudgetKind::Bops;
    auto show = [bops](int64_t v) { return text(bops ? analysis::formatCount(v) + " BOPs" : analysis::formatBytes(v)); };
    m_status->setText(tr("<b>Budget %1</b>: %2 &nbsp; <b>Fitted</b>: %3 &nbsp; (predicted loss %4)<br>%5")
                          .arg(text(fit.budget.text).toHtmlEscaped(), show(fit.limit), show(fit.figure))
                          .arg(fit.predictedLoss, 0, 'g', 3)
                          .arg(text(analysis::describeResources(fit.resources)).toHtmlEscaped()));
    m_chart->showFit(fit);
    if (fit.budget.kind == analysis::BudgetKind::ActivationsKb) {
        showPoints(fit.resources);
        return;
    }
    const auto& candidates = fit.sensitivity.empty() ? std::vector<int>{} : fit.sensitivity.front().bits;
    QStringList headers{tr("Layer"), tr("Bits"), tr("Weights")};
    for (int b : candidates) headers << tr("Loss at %1 bits").arg(b);
    m_table->clear();
    m_table->setColumnCount(int(headers.size()));
    m_table->setHorizontalHeaderLabels(headers);
    m_table->setRowCount(int(fit.sensitivity.size()));
    for (size_t i = 0; i < fit.sensitivity.size(); ++i) {
        const auto& s = fit.sensitivity[i];
        const analysis::LayerResources* layer = nullptr;
        for (const auto& l : fit.resources.layers) {
            if (l.name == s.layer) layer = &l;
        }
        m_table->setItem(int(i), 0, new QTableWidgetItem(text(s.layer)));
        m_table->setItem(int(i), 1, new QTableWidgetItem(layer ? QString::number(layer->weightBits) : QString()));
        m_table->setItem(int(i), 2, new QTableWidgetItem(layer ? text(analysis::formatBytes(layer->weightsBytes)) : QString()));
        for (size_t c = 0; c < s.loss.size(); ++c) {
            auto* item = new QTableWidgetItem(QString::number(s.loss[c], 'g', 3));
            if (layer && s.bits[c] == layer->weightBits) {
                QFont bold = item->font();
                bold.setBold(true);
                item->setFont(bold);
            }
            m_table->setItem(int(i), int(3 + c), item);
        }
    }
    m_table->resizeColumnsToContents();
    m_table->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
}

void FitBudgetDialog::showPoints(const analysis::Resources& resources)
{
    m_table->clear();
    m_table->setColumnCount(3);
    m_table->setHorizontalHeaderLabels({tr("Activation tensor"), tr("Bits"), tr("Bytes (one sample)")});
    m_table->setRowCount(int(resources.points.size()));
    for (size_t i = 0; i < resources.points.size(); ++i) {
        const auto& p = resources.points[i];
        m_table->setItem(int(i), 0, new QTableWidgetItem(text(p.name)));
        m_table->setItem(int(i), 1, new QTableWidgetItem(QString::number(p.bits)));
        m_table->setItem(int(i), 2, new QTableWidgetItem(text(analysis::formatBytes(p.bytes))));
    }
    m_table->resizeColumnsToContents();
    m_table->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
}

void FitBudgetDialog::showError(const QString& message)
{
    m_status->setText(QStringLiteral("<span style='color:#b00020'>%1</span>").arg(message.toHtmlEscaped()));
    m_chart->clear();
    Q_EMIT failed(message);
}

} // namespace qat::ui
