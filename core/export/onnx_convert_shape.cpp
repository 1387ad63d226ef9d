// SPDX-License-Identifier: MIT
// Converters for ops that move, reshape, split or join data without computing on it, and for
// the size arithmetic that feeds them (x.size(0), channels // groups, ...). Sizes stay
// computed at run time, so the exported graph keeps a free batch dimension.
#include "export/onnx_converters.h"

#include <limits>
#include <numeric>

namespace qat::exporter {

namespace {

using torch::jit::Node;
using torch::jit::Value;

void identity(OnnxContext& c, Node* n)
{
    c.unary(n, "Identity");
}

int64_t normaliseDim(int64_t dim, size_t rank)
{
    return dim < 0 ? dim + int64_t(rank) : dim;
}

size_t rankOf(OnnxContext& c, Node* n, size_t input = 0)
{
    return c.shapeOf(n, n->input(input)).size();
}

// size(x) -> int[]; size(x, dim) -> int
void size(OnnxContext& c, Node* n)
{
    const auto shape = c.fresh("shape");
    c.addNode("Shape", {c.tensor(n->input(0))}, {shape});
    if (n->inputs().size() == 1) {
        c.bind(n->output(0), shape);
        return;
    }
    const auto dim = c.addInitializer(at::tensor(c.intArg(n, 1), at::kLong).reshape({}), "dim");
    c.addNode("Gather", {shape, dim}, {c.out(n)});
}

// A list unpacked into its items: the parts of a split, or the sizes of size(x).
void listUnpack(OnnxContext& c, Node* n)
{
    auto* list = n->input(0);
    if (list->type()->kind() == c10::TypeKind::ListType
        && list->type()->containedType(0)->kind() == c10::TypeKind::IntType) {
        const auto all = c.intList(n, list);
        for (size_t i = 0; i < n->outputs().size(); ++i) {
            const auto index = c.addInitializer(at::tensor(int64_t(i), at::kLong).reshape({}), "index");
            c.addNode("Gather", {all, index}, {c.out(n, i)});
        }
        return;
    }
    const auto parts = c.tensorList(n, list);
    if (parts.size() != n->outputs().size()) OnnxContext::unsupported(n, "list length differs from its unpacking");
    for (size_t i = 0; i < parts.size(); ++i) c.bind(n->output(i), parts[i]);
}

// list[i]: of a list of tensors, or of sizes
void getItem(OnnxContext& c, Node* n)
{
    auto* list = n->input(0);
    if (list->type()->kind() == c10::TypeKind::ListType && list->type()->containedType(0)->kind() == c10::TypeKind::IntType) {
        // An entry of a list of sizes (a scripted `x.shape[2]`): that entry of the 1-d int64 list.
        const auto index = c.addInitializer(at::tensor(c.intArg(n, 1), at::kLong).reshape({}), "index");
        c.addNode("Gather", {c.intList(n, list), index}, {c.out(n)});
        return;
    }
    const auto parts = c.tensorList(n, n->input(0));
    auto i = c.intArg(n, 1);
    if (i < 0) i += int64_t(parts.size());
    if (i < 0 || i >= int64_t(parts.size())) OnnxContext::unsupported(n, "index out of range");
    c.bind(n->output(0), parts[size_t(i)]);
}

// Number <-> 0-d tensor conversions of sizes: the same int64 value in ONNX.
void sameValue(OnnxContext& c, Node* n)
{
    c.bind(n->output(0), c.intValue(n, n->input(0)));
}

// unchecked_cast(x): a scripted Optional[Tensor] used as a Tensor; a constant one (a bias) is
// read through by staticValue where it is used.
void uncheckedCast(OnnxContext& c, Node* n)
{
    if (!c.staticValue(n->output())) {
        c.bind(n->output(0), c.tensor(n->input(0)));
    }
}

// view / reshape(x, sizes)
void reshape(OnnxContext& c, Node* n)
{
    c.addNode("Reshape", {c.tensor(n->input(0)), c.intList(n, n->input(1))}, {c.out(n)});
}

// flatten(x, start_dim, end_dim): the kept leading and trailing sizes come from Shape(x).
void flatten(OnnxContext& c, Node* n)
{
    const auto rank = rankOf(c, n);
    const auto start = normaliseDim(c.intArg(n, 1), rank);
    const auto end = normaliseDim(c.intArg(n, 2), rank);
    if (end == int64_t(rank) - 1) {
        // Leading sizes copied (Reshape's 0), the rest folded into one.
        std::vector<int64_t> shape(size_t(start), 0);
        shape.push_back(-1);
        c.addNode("Reshape", {c.tensor(n->input(0)), c.ints(shape)}, {c.out(n)});
        return;
    }
    const auto shape = c.fresh("shape"), head = c.fresh("shape"), tail = c.fresh("shape"), sizes = c.fresh("sizes");
    c.addNode("Shape", {c.tensor(n->input(0))}, {shape});
    c.addNode("Slice", {shape, c.ints({0}), c.ints({start})}, {head});
    c.addNode("Slice", {shape, c.ints({end + 1}), c.ints({int64_t(rank)})}, {tail});
    setAttribute(c.addNode("Concat", {head, c.ints({-1}), tail}, {sizes}), "axis", int64_t(0));
    c.addNode("Reshape", {c.tensor(n->input(0)), sizes}, {c.out(n)});
}

// squeeze(x) / squeeze(x, dim): the dimensions of size 1 in the probe run, never the batch.
void squeeze(OnnxContext& c, Node* n)
{
    const auto& shape = c.shapeOf(n, n->input(0));
    std::vector<int64_t> axes;
    if (n->inputs().size() > 1) {
        for (auto d : c.intsArg(n, 1)) {
            const auto dim = normaliseDim(d, shape.size());
            if (dim > 0 && shape.at(size_t(dim)) == 1) axes.push_back(dim);
            if (dim == 0) OnnxContext::unsupported(n, "squeezing the batch dimension");
        }
    } else {
        for (size_t d = 1; d < shape.size(); ++d) {
            if (shape[d] == 1) axes.push_back(int64_t(d));
        }
    }
    if (axes.empty()) {
        identity(c, n);
        return;
    }
    c.addNode("Squeeze", {c.tensor(n->input(0)), c.ints(axes)}, {c.out(n)});
}

void unsqueeze(OnnxContext& c, Node* n)
{
    c.addNode("Unsqueeze", {c.tensor(n->input(0)), c.ints({c.intArg(n, 1)})}, {c.out(n)});
}

void transpose(OnnxContext& c, Node* n)
{
    const auto rank = rankOf(c, n);
    std::vector<int64_t> perm(rank);
    std::iota(perm.begin(), perm.end(), 0);
    std::swap(perm.at(size_t(normaliseDim(c.intArg(n, 1), rank))), perm.at(size_t(normaliseDim(c.intArg(n, 2), rank))));
    setAttribute(c.unary(n, "Transpose"), "perm", perm);
}

void permute(OnnxContext& c, Node* n)
{
    const auto rank = rankOf(c, n);
    auto perm = c.intsArg(n, 1);
    for (auto& d : perm) d = normaliseDim(d, rank);
    setAttribute(c.unary(n, "Transpose"), "perm", perm);
}

// 2-d transpose
void t(OnnxContext& c, Node* n)
{
    if (rankOf(c, n) < 2) return identity(c, n);
    setAttribute(c.unary(n, "Transpose"), "perm", std::vector<int64_t>{1, 0});
}

// Splits along dim into parts of the given sizes; the parts become the list n returns.
void splitInto(OnnxContext& c, Node* n, int64_t dim, const std::vector<int64_t>& sizes)
{
    std::vector<std::string> parts;
    for (size_t i = 0; i < sizes.size(); ++i) parts.push_back(c.fresh("part"));
    setAttribute(c.addNode("Split", {c.tensor(n->input(0)), c.ints(sizes)}, parts), "axis", dim);
    c.bindList(n->output(0), parts);
}

// chunk(x, chunks, dim): torch's chunk sizes (ceil(n / chunks), the last one smaller).
void chunk(OnnxContext& c, Node* n)
{
    const auto& shape = c.shapeOf(n, n->input(0));
    const auto dim = normaliseDim(c.intArg(n, 2), shape.size());
    if (dim == 0) OnnxContext::unsupported(n, "splitting the batch dimension");
    const auto total = shape.at(size_t(dim));
    const auto each = (total + c.intArg(n, 1) - 1) / c.intArg(n, 1);
    std::vector<int64_t> sizes;
    for (int64_t done = 0; done < total; done += each) sizes.push_back(std::min(each, total - done));
    splitInto(c, n, dim, sizes);
}

// split(x, split_size or sizes, dim) / split_with_sizes(x, sizes, dim)
void split(OnnxContext& c, Node* n)
{
    const auto& shape = c.shapeOf(n, n->input(0));
    const auto dim = normaliseDim(c.intArg(n, 2), shape.size());
    if (dim == 0) OnnxContext::unsupported(n, "splitting the batch dimension");
    const auto given = c.staticValue(n->input(1));
    if (given && given->isInt()) {
        const auto total = shape.at(size_t(dim));
        std::vector<int64_t> sizes;
        for (int64_t done = 0; done < total; done += given->toInt()) sizes.push_back(std::min(given->toInt(), total - done));
        return splitInto(c, n, dim, sizes);
    }
    splitInto(c, n, dim, c.intsArg(n, 1));
}

// cat(tensors, dim)
void cat(OnnxContext& c, Node* n)
{
    auto& node = c.addNode("Concat", c.tensorList(n, n->input(0)), {c.out(n)});
    setAttribute(node, "axis", c.intArg(n, 1));
}

// stack(tensors, dim): each unsqueezed at dim, then joined.
void stack(OnnxContext& c, Node* n)
{
    const auto dim = c.intArg(n, 1);
    std::vector<std::string> parts;
    for (const auto& item : c.tensorList(n, n->input(0))) {
        parts.push_back(c.fresh("stacked"));
        c.addNode("Unsqueeze", {item, c.ints({dim})}, {parts.back()});
    }
    setAttribute(c.addNode("Concat", parts, {c.out(n)}), "axis", dim);
}

// A bound of slice: absent (None), a constant, or a size computed at run time; as a 1-d int64.
std::string sliceBound(OnnxContext& c, Node* n, size_t i, int64_t absent)
{
    if (OnnxContext::isNone(n, i)) return c.ints({absent});
    if (const auto v = c.staticValue(n->input(i)); v && v->isInt()) return c.ints({v->toInt()});
    const auto bound = c.fresh("bound");
    c.addNode("Unsqueeze", {c.intValue(n, n->input(i)), c.ints({0})}, {bound});
    return bound;
}

// slice(x, dim, start, end, step) on a tensor: ONNX's Slice wraps negative bounds and clamps
// out-of-range ones as torch does.
void slice(OnnxContext& c, Node* n)
{
    if (n->input(0)->type()->kind() != c10::TypeKind::TensorType) OnnxContext::unsupported(n, "slicing a list");
    const auto dim = normaliseDim(c.intArg(n, 1), rankOf(c, n));
    const auto step = n->inputs().size() > 4 ? c.intArg(n, 4) : 1;
    if (step <= 0) OnnxContext::unsupported(n, "a step below 1");
    c.addNode("Slice",
              {c.tensor(n->input(0)), sliceBound(c, n, 2, 0), sliceBound(c, n, 3, std::numeric_limits<int64_t>::max()),
               c.ints({dim}), c.ints({step})},
              {c.out(n)});
}

// flip(x, dims): a backwards Slice over each dimension.
void flip(OnnxContext& c, Node* n)
{
    const auto rank = rankOf(c, n);
    auto dims = c.intsArg(n, 1);
    for (auto& d : dims) d = normaliseDim(d, rank);
    const std::vector<int64_t> starts(dims.size(), -1), ends(dims.size(), std::numeric_limits<int64_t>::min()),
        steps(dims.size(), -1);
    c.addNode("Slice", {c.tensor(n->input(0)), c.ints(starts), c.ints(ends), c.ints(dims), c.ints(steps)}, {c.out(n)});
}

// roll(x, shifts, dims) (Swin's shifted windows): ONNX has no Roll; per dimension the last
// `shift` entries moved to the front, two Slices and a Concat. Not over the batch, whose size
// the file leaves free, nor over the flattened tensor (no dims).
void roll(OnnxContext& c, Node* n)
{
    const auto rank = rankOf(c, n);
    const auto shifts = c.intsArg(n, 1);
    const auto dims = c.intsArg(n, 2);
    if (dims.empty() || shifts.size() != dims.size()) OnnxContext::unsupported(n, "a roll of the flattened tensor");
    const auto& shape = c.shapeOf(n, n->input(0));
    std::string current = c.tensor(n->input(0));
    std::vector<std::pair<int64_t, int64_t>> moves; // (dim, shift in [1, size))
    for (size_t i = 0; i < dims.size(); ++i) {
        const auto d = normaliseDim(dims[i], rank);
        if (d == 0) OnnxContext::unsupported(n, "a roll over the batch dimension");
        const auto size = shape[size_t(d)];
        const auto shift = size > 0 ? ((shifts[i] % size) + size) % size : 0;
        if (shift != 0) moves.emplace_back(d, shift);
    }
    if (moves.empty()) {
        c.addNode("Identity", {current}, {c.out(n)});
        return;
    }
    for (size_t i = 0; i < moves.size(); ++i) {
        const auto [d, shift] = moves[i];
        const auto size = shape[size_t(d)];
        const auto tail = c.fresh("rolled"), head = c.fresh("rolled");
        c.addNode("Slice", {current, c.ints({size - shift}), c.ints({size}), c.ints({d})}, {tail});
        c.addNode("Slice", {current, c.ints({0}), c.ints({size - shift}), c.ints({d})}, {head});
        current = i + 1 == moves.size() ? c.out(n) : c.fresh("rolled");
        setAttribute(c.addNode("Concat", {tail, head}, {current}), "axis", d);
    }
}

// select(x, dim, index): Gather with a 0-d index drops the dimension, as select does.
void select(OnnxContext& c, Node* n)
{
    const auto dim = normaliseDim(c.intArg(n, 1), rankOf(c, n));
    const auto index = c.addInitializer(at::tensor(c.intArg(n, 2), at::kLong).reshape({}), "index");
    setAttribute(c.addNode("Gather", {c.tensor(n->input(0)), index}, {c.out(n)}), "axis", dim);
}

// index_select(x, dim, indices)
void indexSelect(OnnxContext& c, Node* n)
{
    const auto dim = normaliseDim(c.intArg(n, 1), rankOf(c, n));
    setAttribute(c.addNode("Gather", {c.tensor(n->input(0)), c.tensor(n->input(2))}, {c.out(n)}), "axis", dim);
}

// index(x, [None, .., idx, None, ..]): x[idx], x[:, idx], ..: one integer index tensor, the
// other entries None, is a Gather on that axis (Swin's relative position bias table read
// through its index buffer). Boolean masks and several index tensors are refused.
void index(OnnxContext& c, Node* n)
{
    Node* list = n->input(1)->node();
    if (list->kind() != c10::prim::ListConstruct) OnnxContext::unsupported(n, "its list of indices is computed at run time");
    Value* indices = nullptr;
    int64_t axis = -1;
    for (size_t i = 0; i < list->inputs().size(); ++i) {
        if (OnnxContext::isNone(list, i)) continue;
        if (indices != nullptr) OnnxContext::unsupported(n, "it indexes with several tensors at once");
        indices = list->input(i);
        axis = int64_t(i);
    }
    if (indices == nullptr) OnnxContext::unsupported(n, "it has no index tensor");
    const auto value = c.staticValue(indices);
    const bool integers = value && value->isTensor() ? c10::isIntegralType(value->toTensor().scalar_type(), false)
                                                     : c.holdsIntegers(indices);
    if (!integers) OnnxContext::unsupported(n, "its index is a boolean mask or not an integer tensor");
    setAttribute(c.addNode("Gather", {c.tensor(n->input(0)), c.tensor(indices)}, {c.out(n)}), "axis", axis);
}

// reshape_as(x, other)
void reshapeAs(OnnxContext& c, Node* n)
{
    const auto shape = c.fresh("shape");
    c.addNode("Shape", {c.tensor(n->input(1))}, {shape});
    c.addNode("Reshape", {c.tensor(n->input(0)), shape}, {c.out(n)});
}

} // namespace

void addShapeConverters(OnnxConverterTable& table)
{
    for (const char* op : {"aten::dropout", "aten::feature_dropout", "aten::alpha_dropout", "aten::contiguous",
                           "aten::detach", "aten::clone"}) {
        table[op] = identity;
    }
    table["aten::size"] = size;
    table["prim::ListUnpack"] = listUnpack;
    table["aten::__getitem__"] = getItem;
    for (const char* op : {"prim::NumToTensor", "aten::Int", "aten::ScalarImplicit"}) table[op] = sameValue;
    table["prim::unchecked_cast"] = uncheckedCast;
    table["aten::view"] = reshape;
    table["aten::reshape"] = reshape;
    table["aten::flatten"] = flatten;
    table["aten::squeeze"] = squeeze;
    table["aten::unsqueeze"] = unsqueeze;
    table["aten::transpose"] = transpose;
    table["aten::permute"] = permute;
    table["aten::t"] = t;
    table["aten::chunk"] = chunk;
    table["aten::unsafe_chunk"] = chunk;
    table["aten::split"] = split;
    table["aten::split_with_sizes"] = split;
    table["aten::unsafe_split"] = split;
    table["aten::cat"] = cat;
    table["aten::stack"] = stack;
    table["aten::slice"] = slice;
    table["aten::flip"] = flip;
    table["aten::roll"] = roll;
    table["aten::select"] = select;
    table["aten::index_select"] = indexSelect;
    table["aten::index"] = index;
    table["aten::reshape_as"] = reshapeAs;
}

} // namespace qat::exporter
