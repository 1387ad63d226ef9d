// SPDX-License-Identifier: MIT
#include "model/onnx_import.h"

#include "common/error.h"
#include "common/text.h"
#include "model/onnx_builder.h"
#include "model/onnx_names.h"
#include "model/onnx_patterns.h"
#include "model/onnx_reference.h"
#include "model/onnx_tensor.h"

#include <ATen/CPUGeneratorImpl.h>
#include <c10/util/Exception.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>

namespace qat::model {

namespace {

constexpr uint64_t kProbeSeed = 20240521;

[[noreturn]] void fail(const OnnxGraph& g, const std::string& what)
{
    throw ModelError(g.path + ": " + what);
}

std::string joined(const std::vector<int64_t>& dims)
{
    std::string text;
    for (auto d : dims) text += (text.empty() ? "" : ", ") + (d < 0 ? std::string("N") : std::to_string(d));
    return "[" + text + "]";
}

std::string scientific(double v)
{
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.2g", v);
    return buffer;
}

// TorchScript's schema errors start with an empty line.
std::string firstTextLine(const std::string& text)
{
    const auto start = text.find_first_not_of(" \n");
    return start == std::string::npos ? text : firstLine(text.substr(start));
}

// Every node must have a builder; all are named at once, before anything is built.
void checkOpsSupported(const OnnxGraph& g)
{
    const auto& builders = opBuilders();
    std::vector<std::string> missing;
    std::set<std::string> seen;
    for (const auto& n : g.nodes) {
        if (builders.count(builderKey(n)) || !seen.insert(n.label()).second) continue;
        missing.push_back(n.label());
        if (missing.size() == 5) break;
    }
    if (missing.empty()) return;
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    fail(g, "unsupported ONNX op: " + list + (missing.size() == 5 ? ", ..." : "")
                + "; nothing was imported. QAT Workbench imports: " + [] {
                      std::string ops;
                      for (const auto& op : supportedOnnxImportOps()) ops += (ops.empty() ? "" : ", ") + op;
                      return ops;
                  }());
}

struct InputLayout {
    std::vector<int64_t> onnxShape; ///< with the batch at its probe size
    std::vector<int64_t> perm;      ///< absorbed channels-last transpose, empty when none
    std::set<std::string> absorbed; ///< outputs of the absorbed Transpose nodes
};

// The input's declared shape, checked; and whether its first ops turn NHWC into NCHW.
InputLayout inputLayout(const OnnxGraph& g)
{
    if (g.inputs.size() != 1) {
        std::string names;
        for (const auto& in : g.inputs) names += (names.empty() ? "" : ", ") + in.name;
        fail(g, "the graph takes " + std::to_string(g.inputs.size()) + " inputs (" + names
                    + "); QAT Workbench trains models that take one image batch. Export a graph with one input");
    }
    if (g.outputs.size() != 1) {
        fail(g, "the graph has " + std::to_string(g.outputs.size())
                    + " outputs; QAT Workbench trains models with one output (the logits)");
    }
    const auto& input = g.inputs.front();
    if (input.elementType != onnx::TensorProto::FLOAT) {
        fail(g, "the input '" + input.name + "' is " + onnxTypeName(input.elementType)
                    + "; QAT Workbench feeds float32 images. Export the model with a float input");
    }
    if (!input.hasShape || input.dims.size() < 2) {
        fail(g, "the input '" + input.name + "' has no declared shape of rank 2 or more; export it with "
                    "a fixed input size (only the batch axis dynamic)");
    }
    InputLayout layout;
    layout.onnxShape = input.dims;
    for (size_t d = 1; d < input.dims.size(); ++d) {
        if (input.dims[d] <= 0) {
            fail(g, "the input '" + input.name + "' has no fixed size in axis " + std::to_string(d) + " ("
                        + (input.dimParams[d].empty() ? "unknown" : "'" + input.dimParams[d] + "'")
                        + "); export it with a fixed input size (only the batch axis dynamic)");
        }
    }
    const auto rank = int64_t(input.dims.size());
    std::vector<int64_t> channelsFirst{0, rank - 1};
    for (int64_t d = 1; d + 1 < rank; ++d) channelsFirst.push_back(d);
    bool allTransposes = rank >= 3;
    bool any = false;
    for (const auto& n : g.nodes) {
        if (std::find(n.inputs.begin(), n.inputs.end(), input.name) == n.inputs.end()) continue;
        const bool toChannelsFirst = n.op == "Transpose" && n.domain.empty() && n.ints("perm") == channelsFirst;
        allTransposes = allTransposes && toChannelsFirst;
        any = true;
        if (toChannelsFirst) layout.absorbed.insert(n.outputs.at(0));
    }
    if (any && allTransposes && std::find(g.outputs.begin(), g.outputs.end(), input.name) == g.outputs.end()) {
        layout.perm = channelsFirst;
    } else {
        layout.absorbed.clear();
    }
    return layout;
}

at::Tensor probeInput(std::vector<int64_t> shape, int64_t batch, uint64_t seed)
{
    shape[0] = batch;
    auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
    return at::rand(shape, generator);
}

ReferenceRun referenceRun(const OnnxGraph& g, const at::Tensor& input, const ReferenceContext& context,
                          bool fixedBatch)
{
    try {
        return runOnnxReference(g, input, context);
    } catch (const ModelError& e) {
        if (!fixedBatch) throw ModelError(g.path + ": " + e.what());
        fail(g, "the graph does not run on a batch of " + std::to_string(input.size(0)) + " (" + e.what()
                    + "); its input declares a fixed batch size: export it with a dynamic batch axis "
                      "(torch.onnx.export(..., dynamic_axes={'input': {0: 'batch'}}))");
    }
}

// The largest difference between the module's and the reference's output; refuses above tolerance.
double compareOutputs(const OnnxGraph& g, const at::Tensor& built, const at::Tensor& expected, double tolerance)
{
    if (built.sizes() != expected.sizes()) {
        fail(g, "the converted module's output has the shape " + joined(built.sizes().vec()) + " where the ONNX graph's "
                    "has " + joined(expected.sizes().vec()) + "; the model cannot be imported as it is");
    }
    const auto a = built.to(at::kDouble);
    const auto b = expected.to(at::kDouble);
    const auto bothNan = at::isnan(a) & at::isnan(b);
    if ((at::isnan(a) != at::isnan(b)).any().item<bool>()) {
        fail(g, "the converted module's output has NaN where the ONNX graph's has none, or the other way round");
    }
    const auto diff = at::where(bothNan, at::zeros_like(a), (a - b).abs());
    const double worst = diff.numel() ? diff.max().item<double>() : 0.0;
    const auto finite = at::where(at::isfinite(b), b.abs(), at::zeros_like(b));
    const double scale = finite.numel() ? finite.max().item<double>() : 0.0;
    if (!(worst <= tolerance * std::max(1.0, scale))) {
        fail(g, "the converted module differs from the ONNX graph evaluated op by op by up to " + scientific(worst)
                    + " (outputs up to " + scientific(scale) + ") on a probe input; the model cannot be imported "
                    "reliably");
    }
    return worst;
}

// Builds forward() node by node.
void buildForward(OnnxGraph& g, const InputLayout& layout, const ShapeProbe& probe, OnnxModuleTree& tree,
                  const ReferenceContext& context)
{
    auto graph = std::make_shared<torch::jit::Graph>();
    auto* self = graph->addInput("self");
    self->setType(tree.root().type());
    const auto& inputName = g.inputs.front().name;
    auto* x = graph->addInput(sanitiseIdentifier(inputName));
    x->setType(c10::TensorType::get());
    OnnxBuilder b(g, probe, tree, *graph, context);
    BuiltValue input;
    input.tensor = x;
    for (const auto& name : layout.absorbed) b.bind(name, input);
    if (layout.absorbed.empty()) b.bind(inputName, input);
    for (const auto& n : g.nodes) {
        if (!n.outputs.empty() && layout.absorbed.count(n.outputs[0])) continue;
        try {
            if (b.tryFold(n)) continue;
            opBuilders().at(builderKey(n))(b, n);
        } catch (const ModelError&) {
            throw;
        } catch (const c10::Error& e) {
            b.fail(n, "cannot be converted: " + firstTextLine(e.what_without_backtrace()));
        } catch (const std::exception& e) {
            b.fail(n, "cannot be converted: " + firstTextLine(e.what()));
        }
    }
    OnnxNode output;
    output.inputs = {g.outputs.front()};
    output.name = g.outputs.front();
    const auto& result = b.value(output, 0);
    if (result.kind != BuiltValue::Kind::Tensor || result.tensor == x) {
        fail(g, "the graph's output does not depend on its input; there is nothing to train");
    }
    graph->registerOutput(result.tensor);
    auto module = tree.root();
    auto* fn = module._ivalue()->compilation_unit()->create_function(
        c10::QualifiedName(*module.type()->name(), "forward"), graph);
    module.type()->addMethod(fn);
}

std::string patternNote(const std::map<std::string, int>& found)
{
    std::string text;
    for (const auto& [what, count] : found) {
        text += (text.empty() ? "" : ", ") + std::to_string(count) + " " + what;
    }
    return text.empty() ? text : "recognised exporter patterns as single PyTorch ops: " + text;
}

} // namespace

bool isOnnxPath(const std::string& path)
{
    auto ext = std::filesystem::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return ext == ".onnx";
}

std::vector<std::string> supportedOnnxImportOps()
{
    std::vector<std::string> ops;
    for (const auto& [key, builder] : opBuilders()) {
        if (key.find('.') == std::string::npos) ops.push_back(key);
    }
    return ops;
}

OnnxImport importOnnxModel(const std::string& path, const OnnxImportOptions& options)
{
    return importOnnxGraph(readOnnxFile(path), options);
}

OnnxImport importOnnxGraph(OnnxGraph graph, const OnnxImportOptions& options)
{
    checkOpsSupported(graph);
    checkOnnxGraph(graph);
    const auto layout = inputLayout(graph);
    ReferenceContext context;
    context.opset = graph.opset;
    context.maxElements = options.maxElements;
    const bool fixedBatch = layout.onnxShape[0] > 0;
    at::NoGradGuard noGrad;
    std::vector<at::Tensor> probes;
    std::vector<ReferenceRun> runs;
    for (int64_t batch : {2, 3}) {
        probes.push_back(probeInput(layout.onnxShape, batch, kProbeSeed + uint64_t(batch)));
        runs.push_back(referenceRun(graph, probes.back(), context, fixedBatch));
    }
    ShapeProbe probe{runs[0].shapes, runs[1].shapes};
    auto fused = graph;
    const auto patterns = fuseOnnxPatterns(fused);
    OnnxModuleTree tree(std::filesystem::path(graph.path).stem().string());
    buildForward(fused, layout, probe, tree, context);

    OnnxImport result;
    result.module = tree.root();
    result.module.train(false);
    result.inputShape = layout.onnxShape;
    if (!layout.perm.empty()) {
        std::vector<int64_t> shape;
        for (auto p : layout.perm) shape.push_back(layout.onnxShape[size_t(p)]);
        result.inputShape = shape;
    }
    result.inputShape[0] = -1;
    for (size_t i = 0; i < probes.size(); ++i) {
        const auto input = layout.perm.empty() ? probes[i] : probes[i].permute(layout.perm).contiguous();
        at::Tensor built;
        try {
            built = result.module.forward({input}).toTensor();
        } catch (const c10::Error& e) {
            fail(graph, "the converted module fails on a probe input: " + interpreterError(e.what_without_backtrace()));
        } catch (const std::exception& e) {
            fail(graph, "the converted module fails on a probe input: " + interpreterError(e.what()));
        }
        result.maxDifference = std::max(result.maxDifference, compareOutputs(graph, built, runs[i].outputs.at(0), options.tolerance));
    }
    result.notes.push_back("ONNX opset " + std::to_string(graph.opset)
                           + (graph.producer.empty() ? "" : " from " + graph.producer)
                           + ": converted to TorchScript; on probe inputs it matches the ONNX graph evaluated op by op "
                             "(max |diff| " + scientific(result.maxDifference) + ")");
    if (!layout.perm.empty()) {
        auto declared = layout.onnxShape;
        declared[0] = -1;
        result.notes.push_back("the ONNX input '" + graph.inputs[0].name + "' is channels-last " + joined(declared)
                               + "; its leading Transpose to channels-first was absorbed, so the imported model takes "
                               + joined(result.inputShape)
                               + " (NCHW) like every model here (the data pipeline feeds NCHW)");
    }
    if (auto note = patternNote(patterns); !note.empty()) result.notes.push_back(note);
    return result;
}

} // namespace qat::model
