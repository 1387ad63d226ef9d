// SPDX-License-Identifier: MIT
#include "views/training_view.h"

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QSettings>
#include <QSignalBlocker>
#include <QSpinBox>
#include <QToolButton>
#include <QValidator>
#include <QVBoxLayout>

#include <algorithm>

namespace qat::ui {

namespace {

const QString kFashionMnist = QStringLiteral("fashion-mnist");
const QString kChooseFolder = QStringLiteral("choose-folder");
const QString kChooseFile = QStringLiteral("choose-file");
const char* const kRecentDataKey = "training/recentDataFolders";
constexpr int kMaxRecentFolders = 5;
constexpr int kPlanInit = -1; // the Calibration box's "the plan's" entry

QDoubleSpinBox* lrSpin(QWidget* parent, double value)
{
    auto* spin = new QDoubleSpinBox(parent);
    spin->setDecimals(6);
    spin->setRange(1e-6, 1.0);
    spin->setSingleStep(1e-4);
    spin->setValue(value);
    return spin;
}

// A step count with two words below it: auto (TrainConfig::kAutoFreeze) and never (-1).
class FreezeStepBox : public QSpinBox {
public:
    explicit FreezeStepBox(QWidget* parent) : QSpinBox(parent)
    {
        setRange(int(train::TrainConfig::kAutoFreeze), 10'000'000);
    }

protected:
    QString textFromValue(int value) const override
    {
        if (value == int(train::TrainConfig::kAutoFreeze)) return tr("auto");
        if (value < 0) return tr("never");
        return tr("after step %1").arg(value);
    }
    int valueFromText(const QString& text) const override
    {
        const auto t = text.trimmed();
        if (t == tr("auto")) return int(train::TrainConfig::kAutoFreeze);
        if (t == tr("never")) return -1;
        return digits(t).toInt();
    }
    QValidator::State validate(QString& text, int&) const override
    {
        const auto t = text.trimmed();
        if (t == tr("auto") || t == tr("never")) return QValidator::Acceptable;
        if (const auto d = digits(t); !d.isEmpty()) {
            return d.toLongLong() <= maximum() ? QValidator::Acceptable : QValidator::Invalid;
        }
        for (const auto& word : {tr("auto"), tr("never"), tr("after step ")}) {
            if (word.startsWith(t)) return QValidator::Intermediate;
        }
        return QValidator::Invalid;
    }

private:
    // The number in "after step N" or "N"; empty when there is none.
    static QString digits(const QString& t)
    {
        const auto prefix = tr("after step ");
        const auto n = t.startsWith(prefix) ? t.mid(prefix.size()) : t;
        for (const auto c : n) {
            if (!c.isDigit()) return QString();
        }
        return n;
    }
};

QWidget* row(QWidget* parent, QWidget* a, QWidget* b)
{
    auto* w = new QWidget(parent);
    auto* l = new QHBoxLayout(w);
    l->setContentsMargins(0, 0, 0, 0);
    l->addWidget(a);
    l->addWidget(b, 1);
    return w;
}

} // namespace

TrainingView::TrainingView(QWidget* parent) : QWidget(parent)
{
    m_data = new QComboBox(this);
    m_data->addItem(tr("Fashion-MNIST (bundled)"), kFashionMnist);
    m_data->setToolTip(tr("The bundled Fashion-MNIST; a folder of PNG/JPEG images (one sub-folder per class, or "
                          "none for unlabeled images) or of IDX or .npy files; or a .npz, .npy, IDX or torch.save "
                          "file. The Data page shows what it holds and how it will be fed."));
    for (const auto& folder : QSettings().value(QString::fromLatin1(kRecentDataKey)).toStringList()) {
        // A folder deleted since (a temporary one, an unplugged drive) is not offered, nor
        // restored as the data: a run on it would fail before its first step.
        if (!QFileInfo::exists(folder)) {
            continue;
        }
        m_data->addItem(QFileInfo(folder).fileName(), folder);
        m_data->setItemData(m_data->count() - 1, folder, Qt::ToolTipRole);
    }
    m_data->addItem(tr("Data folder..."), kChooseFolder);
    m_data->addItem(tr("Data file..."), kChooseFile);
    connect(m_data, &QComboBox::activated, this, [this](int index) {
        if (m_data->itemData(index).toString() == kChooseFolder) {
            chooseDataFolder();
        } else if (m_data->itemData(index).toString() == kChooseFile) {
            chooseDataFile();
        } else {
            m_lastDataIndex = index;
        }
    });
    connect(m_data, &QComboBox::currentIndexChanged, this, [this] {
        const auto data = m_data->currentData().toString();
        if (data != kChooseFolder && data != kChooseFile) {
            Q_EMIT dataChanged(data);
        }
    });
    m_limitTrain = new QSpinBox(this);
    m_limitTrain->setRange(0, 10'000'000);
    m_limitTrain->setSpecialValueText(tr("all"));
    m_limitTrain->setSingleStep(1024);
    m_limitTest = new QSpinBox(this);
    m_limitTest->setRange(0, 10'000'000);
    m_limitTest->setSpecialValueText(tr("all"));
    m_limitTest->setSingleStep(1000);

    m_optimizer = new QComboBox(this);
    m_optimizer->addItem(QStringLiteral("Adam"), int(train::OptimizerKind::Adam));
    m_optimizer->addItem(QStringLiteral("SGD (momentum 0.9)"), int(train::OptimizerKind::Sgd));
    m_schedule = new QComboBox(this);
    m_schedule->addItem(tr("cosine"), int(train::Schedule::Cosine));
    m_schedule->addItem(tr("step (x0.1 per epoch)"), int(train::Schedule::Step));
    m_schedule->addItem(tr("constant"), int(train::Schedule::Constant));
    m_lrAuto = new QCheckBox(tr("auto"), this);
    m_lrAuto->setToolTip(tr("3e-3 when an activation has 3 bits or fewer; 1e-3 when any layer has weights of 3 bits or fewer or activations of 4 bits; else 1e-4"));
    m_lr = lrSpin(this, 1e-4);
    m_qlrAuto = new QCheckBox(tr("auto"), this);
    m_qlrAuto->setToolTip(
        tr("1e-3 when any layer has weights of 3 bits or fewer, else 1e-4; a tenth of that for uniform (min, max) "
           "ranges unless some weights have 3 bits or fewer"));
    m_qlr = lrSpin(this, 1e-4);
    m_lrAuto->setObjectName(QStringLiteral("weightsRateAuto"));
    m_lr->setObjectName(QStringLiteral("weightsRate"));
    m_qlrAuto->setObjectName(QStringLiteral("quantizerRateAuto"));
    m_qlr->setObjectName(QStringLiteral("quantizerRate"));
    connect(m_lrAuto, &QCheckBox::toggled, m_lr, [this](bool on) { m_lr->setEnabled(!on && m_activity == Activity::Idle); });
    connect(m_qlrAuto, &QCheckBox::toggled, m_qlr, [this](bool on) { m_qlr->setEnabled(!on && m_activity == Activity::Idle); });
    connect(m_lr, &QDoubleSpinBox::valueChanged, this, [this](double v) { m_manualLr = m_lrAuto->isChecked() ? m_manualLr : v; });
    connect(m_qlr, &QDoubleSpinBox::valueChanged, this, [this](double v) { m_manualQlr = m_qlrAuto->isChecked() ? m_manualQlr : v; });
    connect(m_lrAuto, &QCheckBox::toggled, this, &TrainingView::showRates);
    connect(m_qlrAuto, &QCheckBox::toggled, this, &TrainingView::showRates);
    m_lrAuto->setChecked(true);
    m_qlrAuto->setChecked(true);
    // The learning-rate probe (qatwb train --lr-probe): only for automatic rates.
    m_lrProbe = new QCheckBox(tr("Probe learning rates first"), this);
    m_lrProbe->setToolTip(tr("Before training, 32 steps at each of five rate pairs around the automatic ones, "
                             "the model put back after each; trains at the best (about a fifth more time per epoch)"));
    connect(m_lrAuto, &QCheckBox::toggled, this, [this] { updateProbeEnabled(); });
    connect(m_qlrAuto, &QCheckBox::toggled, this, [this] { updateProbeEnabled(); });
    // qatwb train --quantizer-warmup: -1 is the automatic share of the run, 0 none.
    m_warmup = new QSpinBox(this);
    m_warmup->setRange(-1, 10'000'000);
    // "auto" is the default share of the run, which is none until measurements say otherwise.
    m_warmup->setSpecialValueText(train::quantizerWarmupSteps(train::TrainConfig{}, 1000) == 0 ? tr("auto (none)") : tr("auto"));
    m_warmup->setSuffix(tr(" steps"));
    m_warmup->setValue(-1);
    m_warmup->setToolTip(tr("The quantizer parameters' learning rate rises linearly from 0 over these first steps "
                            "(0: none; auto: the default share of the run)"));

    // qatwb train --freeze-bn-after.
    m_freezeBn = new FreezeStepBox(this);
    m_freezeBn->setValue(int(train::TrainConfig::kAutoFreeze));
    m_freezeBn->setToolTip(tr("After this step BatchNorm's statistics are measured on the current weights and fixed; "
                              "BatchNorm that trains to be folded (w2a3) is folded then and the folded convs train "
                              "on. auto: after two thirds of the steps when BatchNorm trains to be folded, else "
                              "never; never: folded after the last step"));

    m_epochs = new QSpinBox(this);
    m_epochs->setRange(1, 1000);
    m_steps = new QSpinBox(this);
    m_steps->setRange(0, 10'000'000);
    m_steps->setSpecialValueText(tr("whole epochs"));
    m_steps->setToolTip(tr("Stop after this many steps (may end mid-epoch)"));
    m_batch = new QSpinBox(this);
    m_batch->setRange(1, 65536);
    m_batch->setValue(128);
    m_seed = new QSpinBox(this);
    m_seed->setRange(0, std::numeric_limits<int>::max());
    m_distill = new QCheckBox(tr("Distil from the float model"), this);
    m_distill->setToolTip(tr("Knowledge distillation (needs no labels); off: cross-entropy on the labels"));
    m_distill->setChecked(true);
    m_calibration = new QComboBox(this);
    m_calibration->addItem(tr("the plan's (preset default)"), kPlanInit);
    m_calibration->addItem(tr("MSE search"), int(quant::InitMethod::Mse));
    m_calibration->addItem(tr("max"), int(quant::InitMethod::MaxAbs));
    m_calibration->addItem(tr("percentile (99.99)"), int(quant::InitMethod::Percentile));
    m_calibration->addItem(tr("auto (per quantizer, by output error)"), int(quant::InitMethod::Auto));
    m_calibration->setToolTip(tr("How every quantizer's initial threshold is found from calibration batches; "
                                 "the plan's: as its preset (or plan file) says, per quantizer"));

    m_start = new QAction(tr("&Start Training"), this);
    m_start->setShortcut(QKeySequence(QStringLiteral("Ctrl+R")));
    m_start->setToolTip(tr("Start a QAT run with these settings and the quantization plan (Ctrl+R)"));
    m_pause = new QAction(tr("&Pause"), this);
    m_pause->setCheckable(true);
    m_pause->setToolTip(tr("Pause or resume after the current step"));
    m_stop = new QAction(tr("S&top"), this);
    m_stop->setShortcut(QKeySequence(QStringLiteral("Ctrl+.")));
    m_stop->setToolTip(tr("Stop after the current step; the run is kept as cancelled (Ctrl+.)"));
    connect(m_start, &QAction::triggered, this, &TrainingView::startRequested);
    connect(m_pause, &QAction::toggled, this, &TrainingView::pauseRequested);
    connect(m_stop, &QAction::triggered, this, &TrainingView::stopRequested);

    auto* form = new QFormLayout;
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    form->addRow(tr("Data:"), m_data);
    form->addRow(tr("Train images:"), m_limitTrain);
    form->addRow(tr("Test images:"), m_limitTest);
    form->addRow(tr("Optimizer:"), m_optimizer);
    form->addRow(tr("Schedule:"), m_schedule);
    form->addRow(tr("Weights LR:"), row(this, m_lrAuto, m_lr));
    form->addRow(tr("Quantizer LR:"), row(this, m_qlrAuto, m_qlr));
    form->addRow(QString(), m_lrProbe);
    form->addRow(tr("Quantizer warm-up:"), m_warmup);
    form->addRow(tr("Freeze BatchNorm:"), m_freezeBn);
    form->addRow(tr("Epochs:"), m_epochs);
    form->addRow(tr("Max steps:"), m_steps);
    form->addRow(tr("Batch:"), m_batch);
    form->addRow(tr("Seed:"), m_seed);
    form->addRow(tr("Calibration:"), m_calibration);
    form->addRow(QString(), m_distill);

    auto* buttons = new QHBoxLayout;
    for (auto* action : {m_start, m_pause, m_stop}) {
        auto* b = new QToolButton(this);
        b->setDefaultAction(action);
        b->setToolButtonStyle(Qt::ToolButtonTextOnly);
        b->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
        buttons->addWidget(b);
    }
    m_status = new QLabel(tr("No run yet."), this);
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_status->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    // Room for three lines: inside the dock's scroll area a wrapped label does not grow.
    m_status->setMinimumHeight(m_status->fontMetrics().lineSpacing() * 3 + 4);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addLayout(buttons);
    layout->addWidget(m_status);
    layout->addStretch(1);

    m_editors = {m_data, m_limitTrain, m_limitTest, m_optimizer, m_schedule, m_lrAuto, m_lr, m_qlrAuto, m_qlr,
                 m_lrProbe, m_warmup, m_freezeBn, m_epochs, m_steps, m_batch, m_seed, m_distill, m_calibration};
    restoreSettings();
    setActivity(Activity::Idle);
}

TrainingView::~TrainingView()
{
    saveSettings();
}

void TrainingView::selectBundledData()
{
    m_data->setCurrentIndex(m_data->findData(kFashionMnist));
    m_lastDataIndex = m_data->currentIndex();
}

train::TrainConfig TrainingView::config() const
{
    train::TrainConfig c;
    c.data = m_data->currentData().toString().toStdString();
    if (c.data == kChooseFolder.toStdString() || c.data == kChooseFile.toStdString()) {
        c.data = kFashionMnist.toStdString();
    }
    c.limitTrain = m_limitTrain->value();
    c.limitTest = m_limitTest->value();
    c.optimizer = train::OptimizerKind(m_optimizer->currentData().toInt());
    c.schedule = train::Schedule(m_schedule->currentData().toInt());
    c.lr = m_lrAuto->isChecked() ? -1 : m_lr->value();
    c.quantizerLr = m_qlrAuto->isChecked() ? -1 : m_qlr->value();
    c.lrProbe = m_lrProbe->isChecked() && c.lr < 0 && c.quantizerLr < 0;
    c.quantizerWarmup = m_warmup->value();
    c.freezeBatchNormAfter = m_freezeBn->value();
    c.epochs = m_epochs->value();
    c.maxSteps = m_steps->value();
    c.batch = m_batch->value();
    c.seed = uint64_t(m_seed->value());
    c.distill = m_distill->isChecked();
    return c;
}

std::optional<quant::InitMethod> TrainingView::calibration() const
{
    const int data = m_calibration->currentData().toInt();
    return data == kPlanInit ? std::nullopt : std::optional(quant::InitMethod(data));
}

void TrainingView::selectData(const QString& data)
{
    if (m_data->findData(data) < 0) {
        addRecentDataFolder(data);
    }
    m_data->setCurrentIndex(m_data->findData(data));
    m_lastDataIndex = m_data->currentIndex();
}

void TrainingView::setConfig(const train::TrainConfig& c)
{
    selectData(QString::fromStdString(c.data));
    m_limitTrain->setValue(int(c.limitTrain));
    m_limitTest->setValue(int(c.limitTest));
    m_optimizer->setCurrentIndex(std::max(0, m_optimizer->findData(int(c.optimizer))));
    m_schedule->setCurrentIndex(std::max(0, m_schedule->findData(int(c.schedule))));
    m_manualLr = c.lr > 0 ? c.lr : m_manualLr;
    m_manualQlr = c.quantizerLr > 0 ? c.quantizerLr : m_manualQlr;
    m_lrAuto->setChecked(c.lr < 0);
    m_qlrAuto->setChecked(c.quantizerLr < 0);
    showRates();
    m_epochs->setValue(c.epochs);
    m_steps->setValue(int(c.maxSteps));
    m_batch->setValue(c.batch);
    m_seed->setValue(int(c.seed));
    m_distill->setChecked(c.distill);
    m_lrProbe->setChecked(train::probesLearningRates(c));
    m_warmup->setValue(int(std::clamp<int64_t>(c.quantizerWarmup, -1, m_warmup->maximum())));
    m_freezeBn->setValue(int(std::clamp<int64_t>(c.freezeBatchNormAfter, m_freezeBn->minimum(), m_freezeBn->maximum())));
    m_calibration->setCurrentIndex(std::max(0, m_calibration->findData(int(c.plan.weights.config.init))));
}

void TrainingView::setShortRun(int64_t steps, int64_t limitTrain, int64_t limitTest)
{
    m_steps->setValue(int(steps));
    m_limitTrain->setValue(int(limitTrain));
    m_limitTest->setValue(int(limitTest));
}

void TrainingView::setAutomaticRates(double lr, double quantizerLr)
{
    m_autoLr = lr;
    m_autoQlr = quantizerLr;
    showRates();
}

void TrainingView::showRates()
{
    const QSignalBlocker blockLr(m_lr);
    const QSignalBlocker blockQlr(m_qlr);
    m_lr->setValue(m_lrAuto->isChecked() && m_autoLr > 0 ? m_autoLr : m_manualLr);
    m_qlr->setValue(m_qlrAuto->isChecked() && m_autoQlr > 0 ? m_autoQlr : m_manualQlr);
}

void TrainingView::updateProbeEnabled()
{
    m_lrProbe->setEnabled(m_activity == Activity::Idle && m_lrAuto->isChecked() && m_qlrAuto->isChecked());
}

void TrainingView::setActivity(Activity activity)
{
    m_activity = activity;
    const bool idle = activity == Activity::Idle;
    for (auto* w : m_editors) {
        w->setEnabled(idle);
    }
    m_lr->setEnabled(idle && !m_lrAuto->isChecked());
    m_qlr->setEnabled(idle && !m_qlrAuto->isChecked());
    updateProbeEnabled();
    m_start->setEnabled(idle);
    m_pause->setEnabled(activity == Activity::Running || activity == Activity::Paused);
    {
        const QSignalBlocker block(m_pause);
        m_pause->setChecked(activity == Activity::Paused);
    }
    m_pause->setText(activity == Activity::Paused ? tr("&Resume") : tr("&Pause"));
    m_stop->setEnabled(activity == Activity::Running || activity == Activity::Paused);
}

void TrainingView::setStatus(const QString& text)
{
    m_status->setText(text);
}

void TrainingView::chooseDataFolder()
{
    const auto folder = QFileDialog::getExistingDirectory(
        this, tr("Data Folder (images in class sub-folders, unlabeled images, IDX or .npy files)"));
    if (folder.isEmpty()) {
        m_data->setCurrentIndex(m_lastDataIndex);
        return;
    }
    addRecentDataFolder(folder);
}

void TrainingView::chooseDataFile()
{
    const auto file = QFileDialog::getOpenFileName(this, tr("Data File"), QString(),
                                                   tr("Data (*.npz *.npy *.pt *.pth *ubyte *ubyte.gz *.idx);;All files (*)"));
    if (file.isEmpty()) {
        m_data->setCurrentIndex(m_lastDataIndex);
        return;
    }
    addRecentDataFolder(file);
}

void TrainingView::addRecentDataFolder(const QString& folder)
{
    QSettings settings;
    auto folders = settings.value(QString::fromLatin1(kRecentDataKey)).toStringList();
    folders.removeAll(folder);
    folders.prepend(folder);
    while (folders.size() > kMaxRecentFolders) {
        folders.removeLast();
    }
    settings.setValue(QString::fromLatin1(kRecentDataKey), folders);
    const int existing = m_data->findData(folder);
    if (existing >= 0) {
        m_data->removeItem(existing);
    }
    m_data->insertItem(1, QFileInfo(folder).fileName(), folder);
    m_data->setItemData(1, folder, Qt::ToolTipRole);
    m_data->setCurrentIndex(1);
    m_lastDataIndex = 1;
}

void TrainingView::saveSettings() const
{
    QSettings s;
    s.beginGroup(QStringLiteral("training"));
    s.setValue(QStringLiteral("data"), m_data->currentData());
    s.setValue(QStringLiteral("optimizer"), m_optimizer->currentIndex());
    s.setValue(QStringLiteral("schedule"), m_schedule->currentIndex());
    s.setValue(QStringLiteral("lrAuto"), m_lrAuto->isChecked());
    s.setValue(QStringLiteral("lr"), m_manualLr);
    s.setValue(QStringLiteral("qlrAuto"), m_qlrAuto->isChecked());
    s.setValue(QStringLiteral("qlr"), m_manualQlr);
    s.setValue(QStringLiteral("lrProbe"), m_lrProbe->isChecked());
    s.setValue(QStringLiteral("quantizerWarmup"), m_warmup->value());
    s.setValue(QStringLiteral("freezeBatchNormAfter"), m_freezeBn->value());
    s.setValue(QStringLiteral("epochs"), m_epochs->value());
    s.setValue(QStringLiteral("batch"), m_batch->value());
    s.setValue(QStringLiteral("seed"), m_seed->value());
    s.setValue(QStringLiteral("distill"), m_distill->isChecked());
    s.setValue(QStringLiteral("calibrationInit"), m_calibration->currentData());
}

void TrainingView::restoreSettings()
{
    QSettings s;
    s.beginGroup(QStringLiteral("training"));
    const int data = m_data->findData(s.value(QStringLiteral("data"), kFashionMnist));
    m_data->setCurrentIndex(data >= 0 && m_data->itemData(data) != kChooseFolder && m_data->itemData(data) != kChooseFile ? data : 0);
    m_lastDataIndex = m_data->currentIndex();
    m_optimizer->setCurrentIndex(s.value(QStringLiteral("optimizer"), 0).toInt());
    m_schedule->setCurrentIndex(s.value(QStringLiteral("schedule"), 0).toInt());
    m_manualLr = s.value(QStringLiteral("lr"), 1e-4).toDouble();
    m_manualQlr = s.value(QStringLiteral("qlr"), 1e-4).toDouble();
    m_lrAuto->setChecked(s.value(QStringLiteral("lrAuto"), true).toBool());
    m_qlrAuto->setChecked(s.value(QStringLiteral("qlrAuto"), true).toBool());
    showRates();
    m_lrProbe->setChecked(s.value(QStringLiteral("lrProbe"), false).toBool());
    m_warmup->setValue(s.value(QStringLiteral("quantizerWarmup"), -1).toInt());
    m_freezeBn->setValue(s.value(QStringLiteral("freezeBatchNormAfter"), int(train::TrainConfig::kAutoFreeze)).toInt());
    m_epochs->setValue(s.value(QStringLiteral("epochs"), 1).toInt());
    m_batch->setValue(s.value(QStringLiteral("batch"), 128).toInt());
    m_seed->setValue(s.value(QStringLiteral("seed"), 0).toInt());
    m_distill->setChecked(s.value(QStringLiteral("distill"), true).toBool());
    // By value (before the plan's entry came first, the index was stored, under "calibration").
    m_calibration->setCurrentIndex(std::max(0, m_calibration->findData(s.value(QStringLiteral("calibrationInit"), kPlanInit))));
}

} // namespace qat::ui
