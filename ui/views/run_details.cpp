// SPDX-License-Identifier: MIT
#include "views/run_details.h"

#include "analysis/resources.h"
#include "common/error.h"
#include "data/data_options.h"
#include "storage/run_state.h"
#include "training/train_types.h"

#include "models/run_table_model.h"
#include "views/compare_view.h"

#include <nlohmann/json.hpp>

#include <QCoreApplication>
#include <QFileInfo>
#include <QStandardItemModel>
#include <QUrl>

#include <algorithm>

namespace qat::ui {

namespace {

using nlohmann::json;

QString tr(const char* text, const char* disambiguation = nullptr, int n = -1)
{
    return QCoreApplication::translate("qat::ui::HistoryView", text, disambiguation, n);
}

QString html(const std::string& text)
{
    return QString::fromStdString(text).toHtmlEscaped();
}

QString percent(const std::optional<double>& v)
{
    return v ? QStringLiteral("%1 %").arg(*v * 100, 0, 'f', 2) : QStringLiteral("\u2013");
}

/// The rates a run started from (its first step's), and how they were chosen.
QString learningRates(const store::RunStore& store, int64_t id, bool probed)
{
    const auto lr = store.metrics(id, "lr");
    const auto quantizerLr = store.metrics(id, "quantizer_lr");
    if (lr.empty() || quantizerLr.empty()) {
        return tr("no step recorded");
    }
    const QString chosen = probed ? tr(" (chosen by the learning-rate probe)") : QString();
    // A quantizer warm-up: the rate rises to its peak (the first step at it) and the
    // schedule takes over from there.
    size_t peak = 0;
    for (size_t i = 1; i < quantizerLr.size(); ++i) {
        if (quantizerLr[i].value > quantizerLr[peak].value) peak = i;
    }
    if (peak > 0) {
        return tr("weights %1 at the first step, quantizers warming up from 0 to %2 at step %3%4")
            .arg(lr.front().value, 0, 'g', 3)
            .arg(quantizerLr[peak].value, 0, 'g', 3)
            .arg(quantizerLr[peak].step)
            .arg(chosen);
    }
    return tr("weights %1, quantizers %2 at the first step%3")
        .arg(lr.front().value, 0, 'g', 3)
        .arg(quantizerLr.front().value, 0, 'g', 3)
        .arg(chosen);
}

} // namespace

QString snapshotText(const std::string& text)
{
    const auto j = json::parse(text, nullptr, false);
    if (!j.is_object()) {
        return {};
    }
    QStringList parts;
    for (const auto& [name, value] : j.items()) {
        std::vector<double> values;
        if (value.is_array()) {
            for (const auto& v : value) {
                if (v.is_number()) values.push_back(v.get<double>());
            }
        } else if (value.is_number()) {
            values.push_back(value.get<double>());
        }
        if (values.empty()) {
            continue;
        }
        const auto key = QString::fromStdString(name);
        if (values.size() == 1) {
            parts << QStringLiteral("%1 %2").arg(key).arg(values[0], 0, 'g', 4);
        } else {
            double sum = 0;
            for (double v : values) sum += v;
            const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
            parts << QStringLiteral("%1 mean %2 [%3 \u2026 %4] (%5 ch)")
                         .arg(key)
                         .arg(sum / double(values.size()), 0, 'g', 4)
                         .arg(*lo, 0, 'g', 3)
                         .arg(*hi, 0, 'g', 3)
                         .arg(values.size());
        }
    }
    return parts.join(QStringLiteral("; "));
}

QString parityLine(const exporter::ParityReport& p)
{
    return tr("Parity on %1 test images: top-1 training %2 %, exported %3 %, same class %4 %, max |diff| %5")
               .arg(p.images)
               .arg(p.trainingTop1 * 100, 0, 'f', 2)
               .arg(p.exportedTop1 * 100, 0, 'f', 2)
               .arg(p.top1Agreement * 100, 0, 'f', 2)
               .arg(p.maxAbsDiff, 0, 'e', 2)
           + runtimeLine(p.runtime);
}

QString runtimeLine(const exporter::RuntimeParity& r)
{
    if (r.checked) {
        return tr(" %1: top-1 %2 %, same class %3 %, max |diff| %4.")
            .arg(QString::fromStdString(r.runtime))
            .arg(r.runtimeTop1 * 100, 0, 'f', 2)
            .arg(r.top1Agreement * 100, 0, 'f', 2)
            .arg(r.maxAbsDiff, 0, 'e', 2);
    }
    // Exports without ONNX, and records from before the check, have nothing to say.
    return r.note.empty() ? QString() : QStringLiteral(" ONNX: ") + QString::fromStdString(r.note);
}

QString runDetailsHtml(const store::RunStore& store, const store::RunRecord& r)
{
    QString text = QStringLiteral("<h3>Run %1: %2</h3><table cellspacing='2' cellpadding='2'>").arg(r.id).arg(html(r.name));
    auto row = [&text](const QString& key, const QString& value) {
        text += QStringLiteral("<tr><td style='color:gray; padding-right:12px'>%1</td><td>%2</td></tr>").arg(key, value);
    };
    row(tr("State"), html(store::stateLine(r.state, r.message)));
    row(tr("Model"), html(r.modelPath));
    row(tr("Model hash"), QStringLiteral("<code>%1</code>").arg(html(r.modelHash.substr(0, 16))));
    row(tr("Data"), tr("%1, seed %2").arg(html(r.dataset)).arg(r.seed));
    row(tr("Plan"), tr("%1, %2").arg(planPreset(r.plan), planBits(r.plan)));
    row(tr("Target"), planTarget(r.plan));
    if (!r.resources.empty()) {
        try {
            row(tr("Resources"), html(analysis::describeResources(analysis::resourcesFromJson(r.resources))));
        } catch (const Error&) {
            // A damaged figure says nothing; the rest of the run still shows.
        }
    }
    row(tr("Started"), html(r.created) + (r.finished.empty() ? QString() : tr(", finished %1").arg(html(r.finished))));
    row(tr("Top-1"), store::isTraining(r.state)
                         ? tr("float %1, QAT %2 at the latest epoch (still training)").arg(percent(r.floatTop1), percent(r.qatTop1))
                         : tr("float %1, QAT %2 after %n step(s)", nullptr, int(r.steps)).arg(percent(r.floatTop1), percent(r.qatTop1)));
    row(tr("Duration"), tr("%1 s").arg(r.seconds, 0, 'f', 1));
    row(tr("Recorded by"), tr("QAT Workbench %1 on %2 (pid %3)").arg(html(r.appVersion), html(r.host)).arg(r.pid));
    const auto hyper = json::parse(r.hyperparameters, nullptr, false);
    if (hyper.is_object()) {
        QStringList items;
        for (const auto& [key, value] : hyper.items()) {
            if (key == "data") {
                continue;
            }
            // Automatic learning rates and warm-up are stored as -1; the rates used are in the
            // next row.
            const bool automatic = (key == "lr" || key == "quantizer_lr" || key == "quantizer_warmup") && value.is_number()
                                   && value.get<double>() < 0;
            QString shown = automatic ? tr("auto") : html(value.dump());
            if (key == "freeze_bn_after" && value.is_number_integer() && value.get<int64_t>() < 0) {
                shown = value.get<int64_t>() == train::TrainConfig::kAutoFreeze ? tr("auto") : tr("never");
            }
            items << QStringLiteral("%1 = %2").arg(QString::fromStdString(key), shown);
        }
        row(tr("Training"), items.join(QStringLiteral(", ")));
        row(tr("Learning rates"), learningRates(store, r.id, hyper.contains("lr_probe") && hyper["lr_probe"] == true));
        if (hyper.contains("data")) {
            const auto options = data::dataOptionsFromJson(hyper["data"].dump());
            QStringList steps{tr("format %1, held out %2, unreadable images: %3")
                                  .arg(html(data::toString(options.format)))
                                  .arg(options.valSplit)
                                  .arg(html(data::toString(options.badImages)))};
            for (const auto& line : data::describePipeline(options)) {
                steps << html(line);
            }
            row(tr("Preprocessing"), steps.join(QStringLiteral("<br>")));
        }
    }
    for (const auto& e : store.epochs(r.id)) {
        row(tr("Epoch %1").arg(e.epoch), tr("test top-1 %1, loss %2").arg(percent(e.top1)).arg(e.loss, 0, 'f', 4));
    }
    std::string lastParity;
    for (const auto& x : store.exports(r.id)) {
        const auto path = QString::fromStdString(x.path);
        row(tr("Export"), QStringLiteral("%1 <a href='%2'>%3</a> (%4)")
                              .arg(html(x.format), QUrl::fromLocalFile(QFileInfo(path).absolutePath()).toString(),
                                   path.toHtmlEscaped(), html(x.created)));
        if (x.parity != lastParity) {
            lastParity = x.parity;
            const auto p = exporter::parityFromJson(x.parity);
            row(tr("Parity"), parityLine(p).toHtmlEscaped());
        }
    }
    text += QStringLiteral("</table><h4>%1</h4><pre>%2</pre>").arg(tr("Plan"), html(r.plan));
    return text;

}

QString initText(const std::string& configJson, QString* detail)
{
    const auto config = json::parse(configJson, nullptr, false);
    if (!config.is_object() || !config.contains("init") || !config["init"].is_string()) {
        return {};
    }
    auto text = QString::fromStdString(config["init"].get<std::string>());
    if (config.contains("init_choice") && config["init_choice"].is_string()) {
        text += QStringLiteral(": ") + QString::fromStdString(config["init_choice"].get<std::string>());
    }
    if (config.contains("unreached") && config["unreached"].is_boolean() && config["unreached"].get<bool>()) {
        text += tr(", unreached");
        if (detail != nullptr) {
            *detail = tr("No calibration batch reached this point (a branch the model did not take for them): "
                         "its quantizer started at the range [-1, 1].");
        }
    }
    if (detail != nullptr && config.contains("init_scores") && config["init_scores"].is_object()) {
        QStringList scores;
        for (const auto& [method, score] : config["init_scores"].items()) {
            if (score.is_number()) {
                scores << QStringLiteral("%1 %2").arg(QString::fromStdString(method)).arg(score.get<double>(), 0, 'e', 2);
            }
        }
        *detail = tr("output error (lower is better): %1").arg(scores.join(QStringLiteral(", ")));
    }
    return text;
}

void fillQuantizerTable(QStandardItemModel* model, const std::vector<store::QuantizerRow>& rows)
{
    model->setHorizontalHeaderLabels(
        {tr("Quantizer"), tr("Layer"), tr("Target"), tr("Kind"), tr("Init"), tr("Initial"), tr("Final")});
    for (const auto& q : rows) {
        QString initDetail;
        auto* init = new QStandardItem(initText(q.config, &initDetail));
        QList<QStandardItem*> items{new QStandardItem(QString::fromStdString(q.name)),
                                    new QStandardItem(QString::fromStdString(q.layer)),
                                    new QStandardItem(QString::fromStdString(q.target)),
                                    new QStandardItem(describeQuantizer(q)),
                                    init,
                                    new QStandardItem(snapshotText(q.initial)),
                                    new QStandardItem(snapshotText(q.final))};
        for (auto* item : items) {
            item->setToolTip(item->text());
        }
        if (!initDetail.isEmpty()) {
            init->setToolTip(initDetail);
        }
        model->appendRow(items);
    }
}

} // namespace qat::ui
