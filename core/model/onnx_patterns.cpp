// SPDX-License-Identifier: MIT
#include "model/onnx_patterns.h"

#include <cmath>
#include <optional>
#include <set>
#include <vector>

namespace qat::model {

namespace {

constexpr double kSqrt2 = 1.4142135623730951;
constexpr double kSqrt2OverPi = 0.7978845608028654;
constexpr double kCubic = 0.044715;

// Who produces and who reads each value, for matching small subgraphs.
class PatternIndex {
public:
    explicit PatternIndex(OnnxGraph& graph) : m_graph(graph), m_dead(graph.nodes.size(), false)
    {
        for (size_t i = 0; i < graph.nodes.size(); ++i) {
            for (const auto& out : graph.nodes[i].outputs) m_producer[out] = int(i);
            for (const auto& in : graph.nodes[i].inputs) m_readers[in].push_back(int(i));
        }
        m_outputs.insert(graph.outputs.begin(), graph.outputs.end());
    }

    const OnnxNode& node(int i) const { return m_graph.nodes[size_t(i)]; }
    bool alive(int i) const { return i >= 0 && !m_dead[size_t(i)]; }

    // The node that computes name if it is an op of this type, still unmatched.
    int producer(const std::string& name, const std::string& op) const
    {
        const auto found = m_producer.find(name);
        if (found == m_producer.end() || !alive(found->second)) return -1;
        const auto& n = node(found->second);
        return n.op == op && n.domain.empty() ? found->second : -1;
    }

    // The only reader of name, if it is an op of this type; name must not be a graph output.
    int soleReader(const std::string& name, const std::string& op) const
    {
        const auto found = m_readers.find(name);
        if (found == m_readers.end() || found->second.size() != 1 || m_outputs.count(name)) return -1;
        const int reader = found->second.front();
        return alive(reader) && node(reader).op == op && node(reader).domain.empty() ? reader : -1;
    }

    std::optional<at::Tensor> constant(const std::string& name) const
    {
        if (auto init = m_graph.initializers.find(name); init != m_graph.initializers.end()) return init->second;
        const int p = producer(name, "Constant");
        if (p >= 0 && node(p).has("value")) return node(p).t("value");
        return std::nullopt;
    }

    bool isScalar(const std::string& name, double value) const
    {
        const auto t = constant(name);
        if (!t || t->numel() != 1 || !t->is_floating_point()) return false;
        return std::abs(t->reshape({}).item<double>() - value) <= 1e-4 * std::abs(value);
    }

    // For a binary node: the input that is not `known`, or "" when neither is.
    static std::string other(const OnnxNode& n, const std::string& known)
    {
        if (n.inputs.size() != 2) return {};
        if (n.inputs[0] == known) return n.inputs[1];
        if (n.inputs[1] == known) return n.inputs[0];
        return {};
    }

    // Replaces the matched nodes by one, placed where the last of them was.
    void fuse(const std::vector<int>& matched, OnnxNode fused)
    {
        int last = matched.front();
        for (int i : matched) last = std::max(last, i);
        fused.name = node(matched.front()).name;
        fused.index = node(matched.front()).index;
        fused.outputs = {node(last).outputs.at(0)};
        for (int i : matched) m_dead[size_t(i)] = true;
        m_replacement[last] = std::move(fused);
    }

    void apply()
    {
        std::vector<OnnxNode> nodes;
        for (size_t i = 0; i < m_graph.nodes.size(); ++i) {
            if (auto r = m_replacement.find(int(i)); r != m_replacement.end()) {
                nodes.push_back(r->second);
            } else if (!m_dead[i]) {
                nodes.push_back(m_graph.nodes[i]);
            }
        }
        m_graph.nodes = std::move(nodes);
    }

    size_t size() const { return m_graph.nodes.size(); }

private:
    OnnxGraph& m_graph;
    std::vector<bool> m_dead;
    std::map<std::string, int> m_producer;
    std::map<std::string, std::vector<int>> m_readers;
    std::set<std::string> m_outputs;
    std::map<int, OnnxNode> m_replacement;
};

// From the `1 + erf(...)` or `1 + tanh(...)` value: the multiplications by x and by 0.5,
// in any of the orders exporters write. Appends the nodes and returns the last one.
int halfTimesX(const PatternIndex& index, const std::string& plusOne, const std::string& x, std::vector<int>& matched)
{
    const int m1 = index.soleReader(plusOne, "Mul");
    if (m1 < 0) return -1;
    const auto other = PatternIndex::other(index.node(m1), plusOne);
    if (other == x || index.isScalar(other, 0.5)) {
        const int m2 = index.soleReader(index.node(m1).outputs.at(0), "Mul");
        if (m2 < 0) return -1;
        const auto last = PatternIndex::other(index.node(m2), index.node(m1).outputs.at(0));
        if (!(other == x ? index.isScalar(last, 0.5) : last == x)) return -1;
        matched.insert(matched.end(), {m1, m2});
        return m2;
    }
    // (0.5 * x) computed first, then times (1 + ...).
    const int half = index.producer(other, "Mul");
    if (half < 0 || index.soleReader(other, "Mul") != m1) return -1;
    const auto factor = PatternIndex::other(index.node(half), x);
    if (factor.empty() || !index.isScalar(factor, 0.5)) return -1;
    matched.insert(matched.end(), {half, m1});
    return m1;
}

OnnxNode fusedNode(const std::string& domain, const std::string& op, std::vector<std::string> inputs)
{
    OnnxNode n;
    n.domain = domain;
    n.op = op;
    n.inputs = std::move(inputs);
    return n;
}

bool erfGelu(PatternIndex& index, int erf)
{
    const auto& e = index.node(erf);
    std::string x;
    int scale = index.producer(e.inputs.at(0), "Div");
    if (scale >= 0 && index.isScalar(index.node(scale).inputs.at(1), kSqrt2)) {
        x = index.node(scale).inputs.at(0);
    } else if ((scale = index.producer(e.inputs.at(0), "Mul")) >= 0) {
        for (const auto& in : index.node(scale).inputs) {
            if (index.isScalar(in, 1.0 / kSqrt2)) x = PatternIndex::other(index.node(scale), in);
        }
    }
    if (x.empty() || index.soleReader(e.inputs[0], "Erf") != erf) return false;
    const int plus = index.soleReader(e.outputs.at(0), "Add");
    if (plus < 0 || !index.isScalar(PatternIndex::other(index.node(plus), e.outputs[0]), 1.0)) return false;
    std::vector<int> matched{scale, erf, plus};
    if (halfTimesX(index, index.node(plus).outputs.at(0), x, matched) < 0) return false;
    auto gelu = fusedNode("qatwb", "Gelu", {x});
    gelu.attributes["approximate"].kind = OnnxAttribute::Kind::String;
    gelu.attributes["approximate"].s = "none";
    index.fuse(matched, gelu);
    return true;
}

// x^3 as Pow(x, 3) or x * (x * x): returns x, appending the nodes.
std::string cubeOf(const PatternIndex& index, const std::string& value, std::vector<int>& matched)
{
    if (const int pow = index.producer(value, "Pow"); pow >= 0 && index.isScalar(index.node(pow).inputs.at(1), 3.0)) {
        matched.push_back(pow);
        return index.node(pow).inputs.at(0);
    }
    const int outer = index.producer(value, "Mul");
    if (outer < 0) return {};
    for (const auto& in : index.node(outer).inputs) {
        const int square = index.producer(in, "Mul");
        if (square < 0 || index.soleReader(in, "Mul") != outer) continue;
        const auto& sq = index.node(square);
        const auto x = PatternIndex::other(index.node(outer), in);
        if (sq.inputs.size() == 2 && sq.inputs[0] == x && sq.inputs[1] == x) {
            matched.insert(matched.end(), {square, outer});
            return x;
        }
    }
    return {};
}

bool tanhGelu(PatternIndex& index, int tanh)
{
    const auto& t = index.node(tanh);
    std::vector<int> matched;
    const int scale = index.producer(t.inputs.at(0), "Mul");
    if (scale < 0 || index.soleReader(t.inputs[0], "Tanh") != tanh) return false;
    std::string inner;
    for (const auto& in : index.node(scale).inputs) {
        if (index.isScalar(in, kSqrt2OverPi)) inner = PatternIndex::other(index.node(scale), in);
    }
    const int sum = inner.empty() ? -1 : index.producer(inner, "Add");
    if (sum < 0 || index.soleReader(inner, "Mul") != scale) return false;
    // x + 0.044715 x^3, either way round.
    std::string x;
    for (const auto& in : index.node(sum).inputs) {
        const int cubic = index.producer(in, "Mul");
        if (cubic < 0 || index.soleReader(in, "Add") != sum) continue;
        for (const auto& factor : index.node(cubic).inputs) {
            if (!index.isScalar(factor, kCubic)) continue;
            std::vector<int> cube;
            const auto cubed = PatternIndex::other(index.node(cubic), factor);
            const auto base = cubeOf(index, cubed, cube);
            if (!base.empty() && index.soleReader(cubed, "Mul") == cubic && PatternIndex::other(index.node(sum), in) == base) {
                x = base;
                matched = cube;
                matched.push_back(cubic);
            }
        }
    }
    if (x.empty()) return false;
    matched.insert(matched.end(), {sum, scale, tanh});
    const int plus = index.soleReader(t.outputs.at(0), "Add");
    if (plus < 0 || !index.isScalar(PatternIndex::other(index.node(plus), t.outputs[0]), 1.0)) return false;
    matched.push_back(plus);
    if (halfTimesX(index, index.node(plus).outputs.at(0), x, matched) < 0) return false;
    auto gelu = fusedNode("qatwb", "Gelu", {x});
    gelu.attributes["approximate"].kind = OnnxAttribute::Kind::String;
    gelu.attributes["approximate"].s = "tanh";
    index.fuse(matched, gelu);
    return true;
}

// x * f(x) for a gate f (Sigmoid: SiLU, HardSigmoid(1/6, 1/2): hardswish).
bool gated(PatternIndex& index, int gate, const std::string& domain, const std::string& op)
{
    const auto& g = index.node(gate);
    if (g.op == "HardSigmoid"
        && (std::abs(g.f("alpha", 0.2f) - 1.0 / 6.0) > 1e-6 || std::abs(g.f("beta", 0.5f) - 0.5) > 1e-6)) {
        return false;
    }
    const int mul = index.soleReader(g.outputs.at(0), "Mul");
    if (mul < 0 || PatternIndex::other(index.node(mul), g.outputs[0]) != g.inputs.at(0)) return false;
    index.fuse({gate, mul}, fusedNode(domain, op, {g.inputs[0]}));
    return true;
}

bool denseLayer(PatternIndex& index, int matmul)
{
    const auto& mm = index.node(matmul);
    const auto weight = index.constant(mm.inputs.at(1));
    if (!weight || weight->dim() != 2 || index.constant(mm.inputs.at(0))) return false;
    const int add = index.soleReader(mm.outputs.at(0), "Add");
    if (add < 0) return false;
    const auto biasName = PatternIndex::other(index.node(add), mm.outputs[0]);
    const auto bias = biasName.empty() ? std::nullopt : index.constant(biasName);
    if (!bias || bias->numel() != weight->size(1) || !(bias->dim() == 1 || (bias->dim() == 2 && bias->size(0) == 1))) {
        return false;
    }
    index.fuse({matmul, add}, fusedNode("qatwb", "Linear", {mm.inputs[0], mm.inputs[1], biasName}));
    return true;
}

} // namespace

std::map<std::string, int> fuseOnnxPatterns(OnnxGraph& graph)
{
    std::map<std::string, int> found;
    using Matcher = bool (*)(PatternIndex&, int);
    const std::vector<std::pair<std::string, std::pair<std::string, Matcher>>> passes = {
        {"Erf", {"GELU", erfGelu}},
        {"Tanh", {"GELU (tanh)", tanhGelu}},
        {"Sigmoid", {"SiLU", [](PatternIndex& i, int n) { return gated(i, n, "qatwb", "Silu"); }}},
        {"HardSigmoid", {"hardswish", [](PatternIndex& i, int n) { return gated(i, n, "", "HardSwish"); }}},
        {"MatMul", {"MatMul + Add", denseLayer}},
    };
    for (const auto& [op, pass] : passes) {
        PatternIndex index(graph);
        for (size_t i = 0; i < index.size(); ++i) {
            if (index.alive(int(i)) && index.node(int(i)).op == op && index.node(int(i)).domain.empty()
                && pass.second(index, int(i))) {
                ++found[pass.first];
            }
        }
        index.apply();
    }
    return found;
}

} // namespace qat::model
