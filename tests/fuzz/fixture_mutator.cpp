// SPDX-License-Identifier: MIT
// The fixture half of model_generator.h: real scripted and traced models (the test zoo)
// with values, shapes and code constants changed, as a damaged or hand-edited file would.
#include "model_generator.h"

#include <ATen/ATen.h>
#include <torch/csrc/jit/ir/ir.h>
#include <torch/csrc/jit/serialization/import.h>

#include <algorithm>
#include <filesystem>
#include <limits>
#include <sstream>

namespace qat::fuzz {

namespace {

std::string show(const c10::IValue& v)
{
    std::ostringstream s;
    s << v;
    return s.str();
}

std::vector<std::string> modelFiles(const std::vector<std::string>& dirs)
{
    std::vector<std::string> files;
    for (const auto& dir : dirs) {
        for (const auto& entry : std::filesystem::directory_iterator(dir)) {
            const auto name = entry.path().filename().string();
            if (entry.path().extension() == ".pt" && name.rfind("bad_", 0) != 0) {
                files.push_back(entry.path().string());
            }
        }
    }
    std::sort(files.begin(), files.end()); // directory order differs between file systems
    return files;
}

at::Tensor mutateTensor(ByteReader& in, at::Tensor t, std::string& log, const std::string& name)
{
    switch (in.pick(12)) {
    case 7: log += name + " zero; "; return at::zeros_like(t);
    case 8:
        log += name + " NaN; ";
        t = t.clone();
        if (t.numel() > 0 && t.is_floating_point()) {
            t.view(-1)[0] = std::numeric_limits<double>::quiet_NaN();
        }
        return t;
    case 9: log += name + " x1e30; "; return t.is_floating_point() ? t * 1e30 : t;
    case 10: log += name + " negated; "; return t.is_floating_point() ? -t : t;
    case 11:
        switch (in.pick(4)) {
        case 0:
            if (t.dim() > 0 && t.size(0) > 1) {
                log += name + " one row fewer; ";
                return t.narrow(0, 0, t.size(0) - 1).clone();
            }
            return t;
        case 1: log += name + " one row more; "; return t.dim() > 0 ? at::cat({t, t.narrow(0, 0, 1)}) : t;
        case 2: log += name + " flattened; "; return t.flatten().clone();
        default: log += name + " scalar; "; return t.sum();
        }
    default: return t;
    }
}

bool isPlain(const c10::TypePtr& type)
{
    if (const auto list = type->cast<c10::ListType>()) {
        return list->getElementType()->kind() == c10::TypeKind::IntType;
    }
    const auto kind = type->kind();
    return kind == c10::TypeKind::IntType || kind == c10::TypeKind::FloatType || kind == c10::TypeKind::BoolType;
}

// One constant of a method's code (an int, a list of ints, a float, a bool) changed.
void mutateConstants(ByteReader& in, torch::jit::Graph& graph, std::string& log)
{
    std::vector<torch::jit::Node*> constants;
    for (auto* node : graph.nodes()) {
        // Plain values only: a constant can also name a function or a module type.
        if (node->kind() == c10::prim::Constant && node->outputs().size() == 1 && isPlain(node->output()->type())) {
            constants.push_back(node);
        }
    }
    for (auto* node : constants) {
        if (in.pick(8) != 7) {
            continue;
        }
        const auto value = torch::jit::toIValue(node->output());
        static const int64_t kDelta[] = {1, -1, 2};
        c10::IValue changed;
        if (value->isInt()) {
            changed = value->toInt() + in.oneOf(kDelta);
        } else if (value->isIntList() && !value->toIntList().empty()) {
            auto v = value->toIntVector();
            v[size_t(in.pick(int(v.size())))] += in.oneOf(kDelta);
            changed = v;
        } else if (value->isDouble()) {
            static const double kValues[] = {0.0, -1.0, 1e30, std::numeric_limits<double>::quiet_NaN()};
            changed = in.oneOf(kValues);
        } else if (value->isBool()) {
            changed = !value->toBool();
        } else {
            continue;
        }
        log += "constant " + show(*value) + " -> " + show(changed) + "; ";
        torch::jit::WithInsertPoint guard(node);
        node->output()->replaceAllUsesWith(graph.insertConstant(changed));
        node->destroy();
    }
}

} // namespace

FuzzModel mutateFixture(ByteReader& in, const std::vector<std::string>& dirs)
{
    static const auto files = modelFiles(dirs);
    const auto& file = files.at(size_t(in.pick(int(files.size()))));
    auto module = torch::jit::load(file);
    std::string log = std::filesystem::path(file).filename().string() + ": ";
    at::NoGradGuard noGrad;
    for (auto sub : module.modules()) {
        std::vector<std::pair<std::string, at::Tensor>> tensors;
        for (const auto& attr : sub.named_attributes(/*recurse=*/false)) {
            if (attr.value.isTensor()) {
                tensors.emplace_back(attr.name, attr.value.toTensor());
            }
        }
        for (const auto& [name, tensor] : tensors) {
            sub._ivalue()->setAttr(name, mutateTensor(in, tensor, log, name));
        }
        for (const auto& method : sub.get_methods()) {
            mutateConstants(in, *method.graph(), log);
        }
    }
    static const std::vector<int64_t> kShapes[] = {{2, 1, 28, 28}, {1, 1, 28, 28}, {2, 1, 32, 32}, {2, 3, 28, 28}};
    const auto& shape = in.oneOf(kShapes);
    return {module, shape, log + "input " + show(c10::IValue(shape))};
}

} // namespace qat::fuzz
