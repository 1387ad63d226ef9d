// SPDX-License-Identifier: MIT
#include "export/onnx_export.h"

#include "common/error.h"
#include "common/version.h"
#include "export/onnx_converters.h"
#include "model/graph_util.h"

#include <ATen/ATen.h>
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

namespace qat::exporter {

namespace {

using torch::jit::Node;
using torch::jit::Value;

void setTensorType(onnx::ValueInfoProto& info, int type, const std::vector<int64_t>& shape)
{
    auto* t = info.mutable_type()->mutable_tensor_type();
    t->set_elem_type(type);
    auto* s = t->mutable_shape();
    for (size_t i = 0; i < shape.size(); ++i) {
        auto* d = s->add_dim();
        if (i == 0) d->set_dim_param("batch_size");
        else d->set_dim_value(shape[i]);
    }
}

// Static values are materialised where they are used; a tuple only returned needs no node.
bool needsNoNode(Node* n)
{
    const auto kind = n->kind();
    if (kind == c10::prim::Constant || kind == c10::prim::GetAttr || kind == c10::prim::ListConstruct) {
        return true;
    }
    return kind == c10::prim::TupleConstruct && n->output()->uses().size() == 1
           && n->output()->uses()[0].user->kind() == c10::prim::Return;
}

// Sizes of every tensor the graph's top level computes, from one run of a copy of it on a
// batch of two (so that no size 1 is mistaken for the batch).
void probeShapes(OnnxContext& c, const torch::jit::Module& module, torch::jit::Graph& g, std::vector<int64_t> inputShape)
{
    auto probe = g.copy();
    std::vector<Value*> original;
    std::vector<Value*> copied;
    auto p = probe->nodes().begin();
    for (Node* node : g.nodes()) {
        for (size_t k = 0; k < node->outputs().size(); ++k) {
            if (node->output(k)->type()->kind() == c10::TypeKind::TensorType) {
                original.push_back(node->output(k));
                copied.push_back(p->output(k));
            }
        }
        ++p;
    }
    auto* tuple = probe->appendNode(probe->createTuple(copied));
    while (!probe->outputs().empty()) {
        probe->eraseOutput(0);
    }
    probe->registerOutput(tuple->output());
    torch::jit::GraphFunction run("qat_export_probe", probe, nullptr);
    inputShape.at(0) = 2;
    at::NoGradGuard noGrad;
    torch::jit::Stack stack{module._ivalue(), at::full(inputShape, 0.5f)};
    run.run(stack);
    const auto values = stack.back().toTupleRef().elements();
    std::map<Value*, std::vector<int64_t>> shapes;
    std::map<Value*, at::ScalarType> types;
    for (size_t i = 0; i < original.size(); ++i) {
        if (values[i].isTensor()) {
            shapes[original[i]] = values[i].toTensor().sizes().vec();
            types[original[i]] = values[i].toTensor().scalar_type();
        }
    }
    c.setShapes(std::move(shapes), std::move(types));
}

// The copy keeps the node order, so the n-th fake-quant node is the n-th of the slots.
void matchQuantizers(OnnxContext& c, torch::jit::Graph& g, const OnnxWriteOptions& options)
{
    size_t next = 0;
    for (Node* node : model::allNodes(g)) {
        if (node->kind() != c10::aten::fake_quantize_per_tensor_affine
            && node->kind() != c10::aten::fake_quantize_per_channel_affine) {
            continue;
        }
        if (next < options.quantizerSlots.size()) {
            const auto slot = size_t(options.quantizerSlots[next]);
            c.setQuantizer(node, slot < options.inferables.size() ? options.inferables[slot] : nullptr);
        }
        ++next;
    }
}

void translate(OnnxContext& c, torch::jit::Graph& g, const std::vector<int64_t>& inputShape,
               const std::vector<int64_t>& outputShape)
{
    auto* input = c.graph().add_input();
    input->set_name("input");
    setTensorType(*input, onnx::TensorProto::FLOAT, inputShape);
    c.bind(g.inputs()[1], "input");
    for (Node* node : g.nodes()) {
        if (needsNoNode(node)) {
            continue;
        }
        const auto* convert = converterFor(node);
        if (!convert) {
            OnnxContext::unsupported(node);
        }
        (*convert)(c, node);
    }
    std::vector<Value*> outputs;
    Value* returned = g.outputs()[0];
    if (returned->node()->kind() == c10::prim::TupleConstruct) {
        for (auto* v : returned->node()->inputs()) outputs.push_back(v);
    } else {
        outputs.push_back(returned);
    }
    for (size_t i = 0; i < outputs.size(); ++i) {
        const auto name = outputs.size() == 1 ? std::string("output") : "output_" + std::to_string(i);
        c.addNode("Identity", {c.tensor(outputs[i])}, {name});
        auto* out = c.graph().add_output();
        out->set_name(name);
        if (outputs.size() == 1) {
            setTensorType(*out, onnx::TensorProto::FLOAT, outputShape);
        } else {
            out->mutable_type()->mutable_tensor_type()->set_elem_type(onnx::TensorProto::FLOAT);
            out->mutable_type()->mutable_tensor_type()->mutable_shape();
        }
    }
}

// An output-less prim::If whose every branch is empty or raises: an input check
// (`assert x.dim() > 2`), which ONNX cannot express and inference never fails.
bool isAssertion(Node* node)
{
    if (node->kind() != c10::prim::If || node->outputs().size() != 0) {
        return false;
    }
    for (auto* block : node->blocks()) {
        const auto nodes = block->nodes();
        const bool raises = std::any_of(nodes.begin(), nodes.end(),
                                        [](const Node* n) { return n->kind() == c10::prim::RaiseException; });
        if (nodes.begin() != nodes.end() && !raises) {
            return false;
        }
    }
    return true;
}

// Drops input checks, bottom-up: destroying an If frees the nodes of its blocks, so a
// walk must never visit them afterwards (issue #26: a list of all nodes made first did).
// Nested checks go first; an `if` left holding only what a dropped `assert` computed is
// then dead code for DCE.
void removeAssertions(torch::jit::Block* block)
{
    for (auto it = block->nodes().begin(); it != block->nodes().end();) {
        Node* node = *it;
        ++it; // before node may be destroyed
        for (auto* sub : node->blocks()) {
            removeAssertions(sub);
        }
        if (isAssertion(node)) {
            node->destroy();
        }
    }
}

} // namespace

std::vector<std::string> supportedOnnxOps()
{
    return convertedOps();
}

OnnxWriteResult writeOnnxModel(const torch::jit::Module& module, const std::vector<int64_t>& inputShape,
                               const std::vector<int64_t>& outputShape, const std::string& path,
                               const OnnxWriteOptions& options)
{
    onnx::ModelProto proto;
    proto.set_ir_version(onnx::IR_VERSION);
    proto.set_producer_name("qat-workbench");
    proto.set_producer_version(appVersion());
    auto* opset = proto.add_opset_import();
    opset->set_domain("");
    opset->set_version(kOnnxOpset);
    if (options.quantizers == OnnxQuantizers::Mctq) {
        auto* custom = proto.add_opset_import();
        custom->set_domain(kMctqDomain);
        custom->set_version(1);
    }
    for (const auto& [key, value] : options.metadata) {
        auto* entry = proto.add_metadata_props();
        entry->set_key(key);
        entry->set_value(value);
    }
    auto* graph = proto.mutable_graph();
    graph->set_name("qat_workbench_export");
    OnnxContext context(module, *graph, options);
    const auto g = module.get_method("forward").graph()->copy();
    matchQuantizers(context, *g, options);
    removeAssertions(g->block());
    torch::jit::EliminateDeadCode(g);
    if (g->inputs().size() != 2) {
        throw Error("ONNX export: the model's forward takes " + std::to_string(g->inputs().size() - 1)
                    + " inputs; the writer handles one tensor input");
    }
    probeShapes(context, module, *g, inputShape);
    translate(context, *g, inputShape, outputShape);
    try {
        onnx::checker::check_model(proto);
        onnx::shape_inference::InferShapes(proto, onnx::OpSchemaRegistry::Instance(),
                                           onnx::ShapeInferenceOptions(true, 1, false));
    } catch (const std::exception& e) {
        throw Error(std::string("ONNX export: the translated model does not pass the ONNX checker (") + e.what()
                    + "); nothing was written");
    }
    const auto partial = path + ".partial";
    {
        std::ofstream out(partial, std::ios::binary);
        if (!proto.SerializeToOstream(&out) || !out.flush()) {
            std::remove(partial.c_str());
            throw Error("cannot write " + path + " (disk full or no permission?)");
        }
    }
    std::filesystem::rename(partial, path);
    return {context.quantizers()};
}

} // namespace qat::exporter
