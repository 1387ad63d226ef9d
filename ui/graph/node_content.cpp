// SPDX-License-Identifier: MIT
#include "graph/node_content.h"

#include <QStringList>

#include <algorithm>
#include <numeric>

namespace qat::ui {

namespace {

QString joined(const std::vector<int64_t>& shape)
{
    QStringList parts;
    // The batch dimension says nothing about the model.
    for (size_t i = shape.size() > 1 ? 1 : 0; i < shape.size(); ++i) {
        parts << QString::number(shape[i]);
    }
    return parts.join(QChar(0x00d7));
}

QString layerTitle(const model::LayerInfo& layer)
{
    QString title = QString::fromStdString(layer.kind);
    const auto& w = layer.weightShape;
    if (w.size() > 2) {
        QStringList kernel;
        for (size_t i = 2; i < w.size(); ++i) {
            kernel << QString::number(w[i]);
        }
        title += QLatin1Char(' ') + kernel.join(QChar(0x00d7));
        if (layer.groups > 1 && w[1] == 1) {
            title += QStringLiteral(" dw");
        } else if (layer.groups > 1) {
            title += QStringLiteral(" g%1").arg(layer.groups);
        }
    }
    return title;
}

// Channels in and out (features for linear layers): the shape a reader compares along a path.
QString layerChannels(const model::LayerInfo& layer)
{
    const auto& w = layer.weightShape;
    if (w.size() < 2) {
        return {};
    }
    const bool transposed = layer.channelAxis == 1;
    const int64_t in = transposed ? w[0] : w[1] * layer.groups;
    const int64_t out = transposed ? w[1] * layer.groups : w[0];
    return QStringLiteral("%1 \u2192 %2").arg(in).arg(out);
}

QString weightShapeText(const model::LayerInfo& layer)
{
    QStringList parts;
    for (auto d : layer.weightShape) parts << QString::number(d);
    return parts.join(QChar(0x00d7));
}

QString methodOf(const engine::QuantizerChoice& choice)
{
    return QString::fromStdString(quant::toString(choice.key.method));
}

} // namespace

NodeContent nodeContent(const DisplayNode& d, const std::vector<model::LayerInfo>& layers,
                        const std::vector<model::ActivationPointInfo>& points, QString* toolTip)
{
    NodeContent c;
    c.outputBadge = d.point >= 0;
    const QString pointName = d.point >= 0 ? QString::fromStdString(points[size_t(d.point)].name) : QString();
    QStringList fused;
    for (const auto& f : d.fused) {
        fused << QString::fromStdString(f);
    }
    QString weightShape;
    if (d.kind == DisplayNode::Kind::Layer) {
        c.shape = NodeContent::Shape::Box;
        c.name = QString::fromStdString(d.layer);
        if (d.point >= 0 && points[size_t(d.point)].call > 1) {
            c.name += QStringLiteral(" #%1").arg(points[size_t(d.point)].call); // a layer called again
        }
        const auto layer = std::find_if(layers.begin(), layers.end(), [&](const auto& l) { return l.name == d.layer; });
        c.title = layer != layers.end() ? layerTitle(*layer) : QString::fromStdString(d.op);
        c.detail = fused.isEmpty() ? QString() : QStringLiteral("+ ") + fused.join(QStringLiteral(" + "));
        c.shapeText = d.shape.empty() && layer != layers.end() ? layerChannels(*layer) : joined(d.shape);
        weightShape = layer != layers.end() ? weightShapeText(*layer) : QString();
    } else if (d.kind == DisplayNode::Kind::Op) {
        c.title = QString::fromStdString(d.op) + (fused.isEmpty() ? QString() : QLatin1Char('+') + fused.join(QLatin1Char('+')));
    } else {
        c.shape = NodeContent::Shape::Terminal;
        c.title = d.kind == DisplayNode::Kind::Input ? QObject::tr("input") : QObject::tr("output");
        c.shapeText = joined(d.shape);
    }
    c.layer = QString::fromStdString(d.layer);
    c.point = pointName;
    c.search = QStringList({c.name, pointName, QString::fromStdString(d.scope), QString::fromStdString(d.op)}).join(QLatin1Char('\n'));
    QString tip = c.name.isEmpty() ? QString::fromStdString(d.op) : c.name;
    if (!weightShape.isEmpty()) tip += QStringLiteral("\nweight: ") + weightShape;
    if (!pointName.isEmpty()) tip += QStringLiteral("\noutput quantizer: ") + pointName;
    if (!d.scope.empty()) tip += QStringLiteral("\nin module: ") + QString::fromStdString(d.scope);
    if (!d.shape.empty()) tip += QStringLiteral("\noutput: ") + joined(d.shape);
    *toolTip = tip;
    return c;
}

QString rowKey(const DisplayNode& d, const std::vector<model::ActivationPointInfo>& points)
{
    switch (d.kind) {
    case DisplayNode::Kind::Layer: return QString::fromStdString(d.layer);
    case DisplayNode::Kind::Input: return QStringLiteral("input");
    case DisplayNode::Kind::Op: return d.point >= 0 ? QString::fromStdString(points[size_t(d.point)].name) : QString();
    case DisplayNode::Kind::Output: return {};
    }
    return {};
}

Badge quantizerBadge(const engine::QuantizerChoice& choice, QChar prefix, const QString& quantizer, const QString& what)
{
    Badge b;
    b.present = true;
    b.enabled = choice.enabled;
    b.quantizer = quantizer;
    b.color = graph_colors::forMethod(methodOf(choice));
    b.text = choice.enabled ? QStringLiteral("%1%2").arg(prefix).arg(choice.config.bits) : QStringLiteral("%1 float").arg(prefix);
    b.toolTip = choice.enabled ? QStringLiteral("%1: %2 %3, %4 bits%5\n%6")
                                     .arg(what, QString::fromStdString(choice.key.training), methodOf(choice))
                                     .arg(choice.config.bits)
                                     .arg(prefix == QLatin1Char('W') ? (choice.config.perChannel ? QStringLiteral(", per channel")
                                                                                                  : QStringLiteral(", per tensor"))
                                                                      : QString(),
                                          quantizer)
                               : QStringLiteral("%1: not quantized (float)\n%2").arg(what, quantizer);
    return b;
}

QString snapshotText(const quant::QuantizerSnapshot& snapshot, QString* tip)
{
    const std::vector<float>* values = nullptr;
    for (const char* key : {"threshold", "step", "scale"}) {
        const auto found = snapshot.values.find(key);
        if (found != snapshot.values.end() && !found->second.empty()) {
            values = &found->second;
            *tip = QString::fromLatin1(key);
            break;
        }
    }
    if (!values && !snapshot.values.empty() && !snapshot.values.begin()->second.empty()) {
        values = &snapshot.values.begin()->second;
        *tip = QString::fromStdString(snapshot.values.begin()->first);
    }
    if (!values) {
        return {};
    }
    const double mean = std::accumulate(values->begin(), values->end(), 0.0) / double(values->size());
    *tip += values->size() > 1 ? QStringLiteral(" (mean of %1 channels) %2").arg(values->size()).arg(mean, 0, 'g', 4)
                               : QStringLiteral(" %1").arg(mean, 0, 'g', 4);
    return QString::number(mean, 'g', 2);
}

// Ops that only unpack a list or copy (ListUnpack, contiguous, to, ...) say nothing to a reader.
QString foldedLabel(const std::vector<std::string>& folded)
{
    static const QStringList silent = {QStringLiteral("ListUnpack"), QStringLiteral("TupleUnpack"),
                                       QStringLiteral("TupleIndex"), QStringLiteral("__getitem__"),
                                       QStringLiteral("contiguous"), QStringLiteral("to"), QStringLiteral("detach"),
                                       QStringLiteral("clone"), QStringLiteral("identity"), QStringLiteral("float"),
                                       QStringLiteral("type_as")};
    QStringList shown;
    for (const auto& op : folded) {
        const auto name = QString::fromStdString(op);
        if (!silent.contains(name)) shown << name;
    }
    return shown.join(QChar(0x00b7));
}


} // namespace qat::ui
