// SPDX-License-Identifier: MIT
#pragma once

#include "graph/display_graph.h"
#include "training/train_types.h"

#include <QHash>
#include <QWidget>

#include <vector>

class QGraphicsScene;
class QItemSelectionModel;
class QLabel;
class QLineEdit;

namespace qat::ui {

class EdgeItem;
class GraphCanvas;
class NodeItem;
class PlanTableModel;

/// The model as a graph with its quantizers on it: layers as boxes with their weight
/// quantizer, other ops as small nodes, each activation quantizer as a badge on the output it
/// quantizes, float tensors in a warning colour. It edits the plan only through the
/// Quantization page's PlanTableModel and shares that table's selection (one undo stack, one
/// selection). Laid out by Graphviz when the graph's structure changes, restyled on every
/// plan change. UI thread only.
class GraphView : public QWidget {
    Q_OBJECT
public:
    explicit GraphView(QWidget* parent = nullptr);
    ~GraphView() override;

    /// The plan to show and edit, and the selection of its table (both owned elsewhere).
    void setPlanModel(PlanTableModel* model, QItemSelectionModel* selection);
    /// Builds the graph now if the plan changed since (it waits for the view to be shown).
    void refresh();

    /// Sets column to value for the selected nodes' rows (one undoable step), as the context
    /// menu does; false when nothing is selected or the model refused it.
    bool applyToSelection(int column, const QVariant& value);
    /// Selects the next node whose layer, point or module name contains text, and shows it;
    /// false when none does.
    bool search(const QString& text);
    /// Training events: snapshots put the current threshold / step on the badges.
    void showTrainingEvents(const std::vector<train::TrainEvent>& events);
    /// Drops the values of a previous run from the badges.
    void clearTrainingValues();

    GraphCanvas* canvas() const { return m_canvas; }
    QGraphicsScene* scene() const { return m_scene; }
    const std::vector<NodeItem*>& nodeItems() const { return m_nodes; }
    const std::vector<EdgeItem*>& edgeItems() const { return m_edges; }
    const DisplayGraph& displayGraph() const { return m_graph; }
    /// The node drawn for a layer ("features.0") or activation point ("block1:add"), or null.
    NodeItem* nodeNamed(const QString& name) const;
    /// How long the last Graphviz layout took.
    double layoutMilliseconds() const { return m_layoutMs; }
    /// How long the last rebuild of the scene took: items, layout and placement.
    double sceneMilliseconds() const { return m_sceneMs; }

Q_SIGNALS:
    /// A badge was clicked (open that quantizer in the Live Plots).
    void quantizerActivated(const QString& quantizer);
    /// A node was double-clicked: show its row in the Quantization table.
    void rowActivated(int row);

protected:
    void showEvent(QShowEvent* event) override;
    void contextMenuEvent(QContextMenuEvent* event) override;
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    QWidget* createToolBar();
    void rebuildScene();
    void restyle();
    void updateBadgeValues();
    void syncFromScene();
    void syncFromTable();
    QList<int> selectedRows() const;
    NodeItem* nodeAtViewPos(const QPoint& pos) const;

    PlanTableModel* m_model = nullptr;
    QItemSelectionModel* m_selection = nullptr;
    GraphCanvas* m_canvas = nullptr;
    QGraphicsScene* m_scene = nullptr;
    QLineEdit* m_search = nullptr;
    QLabel* m_status = nullptr;
    DisplayGraph m_graph;
    QString m_signature; ///< structure the scene was laid out for
    std::vector<NodeItem*> m_nodes;
    std::vector<EdgeItem*> m_edges;
    QHash<QString, QString> m_liveValues; ///< quantizer site -> value text while training
    QHash<QString, QString> m_liveTips;
    int m_searchFrom = 0;
    double m_layoutMs = 0;
    double m_sceneMs = 0;
    bool m_dirty = true;
    bool m_syncing = false;
};

} // namespace qat::ui
