// SPDX-License-Identifier: MIT
#include "views/graph_view.h"

#include "graph/graph_canvas.h"
#include "graph/graph_items.h"
#include "graph/graph_layout.h"
#include "graph/node_content.h"
#include "models/plan_table_model.h"
#include "targets/target_registry.h"
#include "widgets/elided_label.h"

#include <QCompleter>
#include <QElapsedTimer>
#include <QGraphicsScene>
#include <QHBoxLayout>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QShortcut>
#include <QStringListModel>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>

namespace qat::ui {

GraphView::GraphView(QWidget* parent) : QWidget(parent)
{
    m_scene = new QGraphicsScene(this);
    m_canvas = new GraphCanvas(this);
    m_canvas->setScene(m_scene);
    m_canvas->viewport()->installEventFilter(this);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(2);
    layout->addWidget(createToolBar());
    layout->addWidget(m_canvas, 1);
    connect(m_scene, &QGraphicsScene::selectionChanged, this, &GraphView::syncFromScene);
    connect(m_canvas, &GraphCanvas::badgeClicked, this, &GraphView::quantizerActivated);
}

GraphView::~GraphView()
{
    // The scene deletes its items after this: their deselection must not reach syncFromScene.
    m_scene->disconnect(this);
}

QWidget* GraphView::createToolBar()
{
    auto* bar = new QWidget(this);
    auto* row = new QHBoxLayout(bar);
    row->setContentsMargins(0, 0, 0, 0);
    m_search = new QLineEdit(bar);
    m_search->setPlaceholderText(tr("Find a layer or op (Enter: next)"));
    m_search->setClearButtonEnabled(true);
    m_search->setMinimumWidth(200);
    m_search->setMaximumWidth(260);
    connect(m_search, &QLineEdit::returnPressed, this, [this] {
        if (!search(m_search->text())) {
            m_status->setText(tr("No layer or op named like \"%1\"").arg(m_search->text()));
        }
    });
    connect(m_search, &QLineEdit::textEdited, this, [this] { m_searchFrom = 0; });
    auto* completer = new QCompleter(new QStringListModel(this), m_search);
    completer->setCaseSensitivity(Qt::CaseInsensitive);
    completer->setFilterMode(Qt::MatchContains);
    connect(completer, qOverload<const QString&>(&QCompleter::activated), this, [this](const QString& name) {
        m_searchFrom = 0;
        search(name);
    });
    m_search->setCompleter(completer);
    auto* find = new QShortcut(QKeySequence::Find, this, [this] {
        m_search->setFocus();
        m_search->selectAll();
    });
    find->setContext(Qt::WidgetWithChildrenShortcut);
    auto button = [bar](const QString& text, const QString& tip) {
        auto* b = new QToolButton(bar);
        b->setText(text);
        b->setToolTip(tip);
        b->setAutoRaise(true);
        return b;
    };
    auto* fit = button(tr("Fit"), tr("Show the whole graph"));
    auto* zoomIn = button(QStringLiteral("+"), tr("Zoom in (or the mouse wheel)"));
    auto* zoomOut = button(QStringLiteral("\u2212"), tr("Zoom out"));
    connect(fit, &QToolButton::clicked, m_canvas, &GraphCanvas::fitAll);
    connect(zoomIn, &QToolButton::clicked, this, [this] { m_canvas->zoomBy(1.25); });
    connect(zoomOut, &QToolButton::clicked, this, [this] { m_canvas->zoomBy(0.8); });
    auto chip = [](const QColor& c, const QString& text) {
        return QStringLiteral("<span style='background:%1;color:white'>&nbsp;%2&nbsp;</span>").arg(c.name(), text);
    };
    auto* legend = new QLabel(bar);
    legend->setText(tr("%1 %2 %3 &nbsp;<span style='color:%4'><b>- - -</b> float tensor</span>")
                        .arg(chip(graph_colors::forMethod(QStringLiteral("symmetric")), tr("symmetric")),
                             chip(graph_colors::forMethod(QStringLiteral("power-of-two")), tr("power-of-two")),
                             chip(graph_colors::forMethod(QStringLiteral("uniform")), tr("uniform")),
                             graph_colors::floatEdge().name()));
    legend->setToolTip(tr("W: a layer's weight quantizer, A: the activation quantizer of the tensor below it; "
                          "the number is its bits. A float tensor is one the target stores but no quantizer "
                          "quantizes. Right-click nodes to change their quantizers; click a badge to plot it."));
    m_status = new ElidedLabel(bar);
    m_status->setStyleSheet(QStringLiteral("color: palette(dark);"));
    m_status->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    row->addWidget(m_search);
    row->addWidget(fit);
    row->addWidget(zoomIn);
    row->addWidget(zoomOut);
    row->addSpacing(8);
    row->addWidget(legend);
    row->addWidget(m_status, 1);
    return bar;
}

void GraphView::setPlanModel(PlanTableModel* model, QItemSelectionModel* selection)
{
    m_model = model;
    m_selection = selection;
    auto changed = [this] {
        m_dirty = true;
        if (isVisible()) {
            refresh();
        }
    };
    connect(model, &PlanTableModel::planChanged, this, changed);
    connect(model, &QAbstractItemModel::modelReset, this, changed);
    connect(selection, &QItemSelectionModel::selectionChanged, this, &GraphView::syncFromTable);
    changed();
}

void GraphView::showEvent(QShowEvent* event)
{
    QWidget::showEvent(event);
    refresh(); // what changed while hidden (a new model or target also resets the view point)
}

void GraphView::refresh()
{
    if (!m_model || !m_dirty) {
        return;
    }
    m_dirty = false;
    const auto& target = target::builtinTargets().find(m_model->plan().target);
    m_graph = buildDisplayGraph(m_model->opGraph(), m_model->points(), target);
    // Lay out again only when what is drawn changed (a target with other points); an edit of
    // bits or methods only restyles.
    // What is drawn: every node's texts (another model with the same ops differs there) and edges.
    QString signature;
    for (const auto& n : m_graph.nodes) {
        QString tip;
        const auto c = nodeContent(n, m_model->layers(), m_model->points(), &tip);
        signature += tip + c.title + c.detail + c.shapeText + QLatin1Char(';');
    }
    for (const auto& e : m_graph.edges) {
        signature += QStringLiteral("%1>%2:%3;").arg(e.from).arg(e.to).arg(e.folded.size());
    }
    if (signature != m_signature) {
        m_signature = signature;
        rebuildScene();
        m_canvas->showStart(); // another model or target: the old view point means nothing
    }
    restyle();
}

void GraphView::rebuildScene()
{
    QElapsedTimer total;
    total.start();
    m_nodes.clear();
    m_edges.clear();
    m_syncing = true; // removing selected items changes the selection: not the user's doing
    m_scene->clear();
    m_syncing = false;
    const auto& layers = m_model->layers();
    const auto& points = m_model->points();
    for (size_t i = 0; i < m_graph.nodes.size(); ++i) {
        const auto& d = m_graph.nodes[i];
        QString tip;
        const NodeContent c = nodeContent(d, layers, points, &tip);
        const QString key = rowKey(d, points);
        const int row = key.isEmpty() ? -1 : m_model->rowOf(key);
        auto* item = new NodeItem(c, font(), int(i));
        item->setRow(row);
        item->setFlag(QGraphicsItem::ItemIsSelectable, row >= 0);
        item->setNodeToolTip(tip);
        m_scene->addItem(item);
        m_nodes.push_back(item);
    }
    if (m_nodes.empty()) {
        m_status->setText(m_model->layers().empty() ? QString() : tr("No graph: the import found no data flow for this model"));
        return;
    }
    LayoutInput input;
    for (auto* n : m_nodes) {
        input.nodes.push_back(n->layoutSize());
    }
    for (const auto& e : m_graph.edges) {
        input.edges.emplace_back(e.from, e.to);
        input.edgeLabels.push_back(foldedLabel(e.folded));
    }
    QElapsedTimer timer;
    timer.start();
    GraphLayout laid;
    try {
        laid = layoutGraph(input);
    } catch (const std::exception& e) {
        m_status->setText(QString::fromStdString(e.what()));
        return;
    }
    m_layoutMs = double(timer.nsecsElapsed()) / 1e6;
    for (size_t i = 0; i < m_nodes.size(); ++i) {
        const auto size = m_nodes[i]->layoutSize();
        m_nodes[i]->setPos(laid.centers[i] - QPointF(size.width() / 2, size.height() / 2));
    }
    for (size_t i = 0; i < laid.edges.size(); ++i) {
        auto* edge = new EdgeItem(laid.edges[i].path, laid.edges[i].tip, input.edgeLabels[i], laid.edges[i].labelAt, font());
        m_scene->addItem(edge);
        m_edges.push_back(edge);
    }
    m_scene->setSceneRect(m_scene->itemsBoundingRect().adjusted(-40, -40, 40, 40));
    QStringList names;
    for (const auto& d : m_graph.nodes) {
        if (!d.layer.empty()) names << QString::fromStdString(d.layer);
        else if (d.point >= 0) names << QString::fromStdString(m_model->points()[size_t(d.point)].name);
    }
    names.removeDuplicates();
    static_cast<QStringListModel*>(m_search->completer()->model())->setStringList(names);
    m_sceneMs = double(total.nsecsElapsed()) / 1e6;
    m_status->setText(tr("%1 nodes, %2 tensors; laid out in %3 ms").arg(m_nodes.size()).arg(m_edges.size()).arg(m_layoutMs, 0, 'f', m_layoutMs < 10 ? 1 : 0));
    syncFromTable();
}

void GraphView::restyle()
{
    const auto& points = m_model->points();
    const auto& pointPlans = m_model->pointPlans();
    const auto& layers = m_model->layers();
    const auto& resolved = m_model->resolved();
    auto enabled = [&](int point) {
        return point >= 0 && size_t(point) < pointPlans.size() && pointPlans[size_t(point)].choice.enabled;
    };
    for (auto* item : m_nodes) {
        const auto& d = m_graph.nodes[size_t(item->displayNode())];
        Badge weight;
        if (d.kind == DisplayNode::Kind::Layer) {
            const auto layer = std::find_if(layers.begin(), layers.end(), [&](const auto& l) { return l.name == d.layer; });
            const auto index = size_t(layer - layers.begin());
            if (layer != layers.end() && index < resolved.size()) {
                weight = quantizerBadge(resolved[index].weights, QLatin1Char('W'), QString::fromStdString(layer->weightPath), tr("weights"));
            }
        }
        Badge activation;
        if (d.point >= 0 && size_t(d.point) < pointPlans.size()) {
            activation = quantizerBadge(pointPlans[size_t(d.point)].choice, QLatin1Char('A'),
                                  QString::fromStdString(points[size_t(d.point)].name), tr("output"));
        }
        item->setWeightBadge(weight);
        item->setActivationBadge(activation);
    }
    for (size_t i = 0; i < m_edges.size(); ++i) {
        m_edges[i]->setFloat(!enabled(m_graph.edges[i].point));
    }
    updateBadgeValues();
}

void GraphView::updateBadgeValues()
{
    if (m_liveValues.isEmpty()) {
        return;
    }
    auto withValue = [this](Badge badge) {
        const auto found = m_liveValues.find(badge.quantizer);
        if (badge.present && badge.enabled && found != m_liveValues.end()) {
            badge.text += QLatin1Char(' ') + found.value();
            badge.toolTip += QLatin1Char('\n') + m_liveTips.value(badge.quantizer);
        }
        return badge;
    };
    for (auto* item : m_nodes) {
        item->setWeightBadge(withValue(item->weightBadge()));
        item->setActivationBadge(withValue(item->activationBadge()));
    }
}

void GraphView::showTrainingEvents(const std::vector<train::TrainEvent>& events)
{
    bool any = false;
    for (const auto& event : events) {
        if (const auto* snap = std::get_if<train::SnapshotEvent>(&event)) {
            QString tip;
            const auto text = snapshotText(snap->values, &tip);
            if (!text.isEmpty()) {
                const auto name = QString::fromStdString(snap->quantizer);
                m_liveValues[name] = text;
                m_liveTips[name] = tr("step %1: %2").arg(snap->step).arg(tip);
                any = true;
            }
        }
    }
    if (any && m_model && !m_dirty) {
        restyle(); // badges from the plan, then the values
    }
}

void GraphView::clearTrainingValues()
{
    m_liveValues.clear();
    m_liveTips.clear();
    if (m_model && !m_dirty) {
        restyle();
    }
}

NodeItem* GraphView::nodeNamed(const QString& name) const
{
    for (auto* item : m_nodes) {
        if (item->content().layer == name || item->content().point == name) {
            return item;
        }
    }
    return nullptr;
}

bool GraphView::search(const QString& text)
{
    const auto needle = text.trimmed();
    if (needle.isEmpty() || m_nodes.empty()) {
        return false;
    }
    for (size_t k = 0; k < m_nodes.size(); ++k) {
        const size_t i = (size_t(m_searchFrom) + k) % m_nodes.size();
        if (m_nodes[i]->content().search.contains(needle, Qt::CaseInsensitive)) {
            m_searchFrom = int(i) + 1;
            m_scene->clearSelection();
            m_nodes[i]->setSelected(true);
            m_canvas->focusOn(m_nodes[i]->sceneBoundingRect());
            m_status->setText(tr("Found %1").arg(m_nodes[i]->nodeToolTip().section(QLatin1Char('\n'), 0, 0)));
            return true;
        }
    }
    return false;
}

} // namespace qat::ui
