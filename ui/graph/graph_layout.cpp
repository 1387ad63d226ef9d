// SPDX-License-Identifier: MIT
#include "graph/graph_layout.h"

#include <graphviz/cgraph.h>
#include <graphviz/gvc.h>

#include <stdexcept>
#include <string>

namespace qat::ui {

namespace {

// Graphviz's C API takes char* for names and values it never writes.
char* cstr(const char* text)
{
    return const_cast<char*>(text);
}

void set(void* object, const char* name, const std::string& value)
{
    agsafeset(object, cstr(name), cstr(value.c_str()), cstr(""));
}

// One context for the process: creating it loads the plugin configuration (milliseconds).
GVC_t* context()
{
    static GVC_t* gvc = gvContext();
    return gvc;
}

// Graphviz's owner of one graph: closes it (and its layout) however the layout ends.
class GraphHandle {
public:
    GraphHandle() : m_graph(agopen(cstr("model"), Agdirected, nullptr)) {}
    ~GraphHandle()
    {
        if (m_laidOut) {
            gvFreeLayout(context(), m_graph);
        }
        agclose(m_graph);
    }
    GraphHandle(const GraphHandle&) = delete;
    GraphHandle& operator=(const GraphHandle&) = delete;
    Agraph_t* get() const { return m_graph; }
    void setLaidOut() { m_laidOut = true; }

private:
    Agraph_t* m_graph;
    bool m_laidOut = false;
};

} // namespace

GraphLayout layoutGraph(const LayoutInput& input)
{
    GraphLayout out;
    if (input.nodes.empty()) {
        return out;
    }
    GraphHandle handle;
    Agraph_t* g = handle.get();
    set(g, "rankdir", "TB");
    set(g, "nodesep", "0.3");
    set(g, "ranksep", "0.35");
    set(g, "splines", "spline");
    std::vector<Agnode_t*> nodes;
    nodes.reserve(input.nodes.size());
    for (size_t i = 0; i < input.nodes.size(); ++i) {
        auto* n = agnode(g, cstr(std::to_string(i).c_str()), 1);
        set(n, "shape", "box");
        set(n, "fixedsize", "true");
        set(n, "label", "");
        // Graphviz sizes are inches of 72 points; one point is one scene pixel here.
        set(n, "width", std::to_string(input.nodes[i].width() / 72.0));
        set(n, "height", std::to_string(input.nodes[i].height() / 72.0));
        nodes.push_back(n);
    }
    std::vector<Agedge_t*> edges;
    edges.reserve(input.edges.size());
    for (size_t i = 0; i < input.edges.size(); ++i) {
        const auto [from, to] = input.edges[i];
        // A name per edge keeps parallel edges (add(x, x)) apart.
        auto* e = agedge(g, nodes.at(size_t(from)), nodes.at(size_t(to)), cstr(std::to_string(i).c_str()), 1);
        // Tensors leave a node at the bottom centre, under its output's badge, and enter at the top.
        set(e, "tailport", "s");
        set(e, "headport", "n");
        if (i < input.edgeLabels.size() && !input.edgeLabels[i].isEmpty()) {
            set(e, "label", input.edgeLabels[i].toStdString());
            set(e, "fontname", "Helvetica");
            set(e, "fontsize", "9");
        }
        edges.push_back(e);
    }
    if (gvLayout(context(), g, "dot") != 0) {
        throw std::runtime_error("Graphviz could not lay out the graph (is its dot layout plugin installed? "
                                 "reinstall the libgvc6 package)");
    }
    handle.setLaidOut();
    const boxf bb = GD_bb(g);
    const double top = bb.UR.y;
    auto toScene = [top](pointf p) { return QPointF(p.x, top - p.y); };
    out.bounds = QRectF(QPointF(bb.LL.x, 0), QPointF(bb.UR.x, bb.UR.y - bb.LL.y));
    for (auto* n : nodes) {
        out.centers.push_back(toScene(ND_coord(n)));
    }
    for (auto* e : edges) {
        LayoutEdge le;
        const splines* spl = ED_spl(e);
        if (spl && spl->size > 0) {
            const bezier& b = spl->list[0];
            if (b.size > 0) {
                le.path.moveTo(toScene(b.list[0]));
                for (int k = 1; k + 2 < b.size; k += 3) {
                    le.path.cubicTo(toScene(b.list[k]), toScene(b.list[k + 1]), toScene(b.list[k + 2]));
                }
                le.tip = b.eflag ? toScene(b.ep) : toScene(b.list[b.size - 1]);
            }
        }
        if (ED_label(e)) {
            le.labelAt = toScene(ED_label(e)->pos);
        }
        out.edges.push_back(std::move(le));
    }
    return out;
}

} // namespace qat::ui
