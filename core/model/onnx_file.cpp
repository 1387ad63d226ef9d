// SPDX-License-Identifier: MIT
#include "model/onnx_graph.h"
#include "model/onnx_tensor.h"

#include "common/error.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

namespace qat::model {

namespace {

namespace fs = std::filesystem;

// Protobuf cannot hold more; larger models keep their weights as external data.
constexpr uintmax_t kMaxFileBytes = uintmax_t(std::numeric_limits<int32_t>::max());

const char* kReexport = "export it again (torch.onnx.export, tf2onnx, ...)";

[[noreturn]] void fail(const std::string& path, const std::string& what)
{
    throw ModelError(path + ": " + what);
}

OnnxAttribute convertAttribute(const onnx::AttributeProto& a, const std::string& modelDir, const std::string& what)
{
    OnnxAttribute out;
    switch (a.type()) {
    case onnx::AttributeProto::INT:
        out.kind = OnnxAttribute::Kind::Int;
        out.i = a.i();
        break;
    case onnx::AttributeProto::FLOAT:
        out.kind = OnnxAttribute::Kind::Float;
        out.f = a.f();
        break;
    case onnx::AttributeProto::STRING:
        out.kind = OnnxAttribute::Kind::String;
        out.s = a.s();
        break;
    case onnx::AttributeProto::INTS:
        out.kind = OnnxAttribute::Kind::Ints;
        out.ints.assign(a.ints().begin(), a.ints().end());
        break;
    case onnx::AttributeProto::FLOATS:
        out.kind = OnnxAttribute::Kind::Floats;
        out.floats.assign(a.floats().begin(), a.floats().end());
        break;
    case onnx::AttributeProto::TENSOR:
        out.kind = OnnxAttribute::Kind::Tensor;
        out.t = tensorFromProto(a.t(), modelDir, what + " attribute '" + a.name() + "'");
        break;
    default:
        out.kind = OnnxAttribute::Kind::Other; // graphs, sparse tensors: no supported op takes them
        break;
    }
    return out;
}

int64_t defaultOpset(const onnx::ModelProto& model, const std::string& path)
{
    int64_t opset = -1;
    for (const auto& entry : model.opset_import()) {
        if (entry.domain().empty() || entry.domain() == "ai.onnx") {
            opset = entry.version();
        }
    }
    if (opset < 0) {
        fail(path, "the model imports no opset of the default ONNX domain; " + std::string(kReexport));
    }
    if (opset < kMinOnnxOpset || opset > kMaxOnnxOpset) {
        fail(path, "ONNX opset " + std::to_string(opset) + "; QAT Workbench imports opsets "
                       + std::to_string(kMinOnnxOpset) + " to " + std::to_string(kMaxOnnxOpset)
                       + ": export it with an opset in that range (torch.onnx.export(..., opset_version=17), "
                         "tf2onnx --opset 17), or convert it with onnx.version_converter");
    }
    return opset;
}

OnnxValueInfo convertValueInfo(const onnx::ValueInfoProto& info)
{
    OnnxValueInfo out;
    out.name = info.name();
    if (!info.type().has_tensor_type()) {
        return out;
    }
    const auto& tensor = info.type().tensor_type();
    out.elementType = tensor.elem_type();
    out.hasShape = tensor.has_shape();
    for (const auto& d : tensor.shape().dim()) {
        out.dims.push_back(d.has_dim_value() ? d.dim_value() : -1);
        out.dimParams.push_back(d.has_dim_param() ? d.dim_param() : std::string());
    }
    return out;
}

OnnxGraph convert(std::shared_ptr<onnx::ModelProto> model, const std::string& path)
{
    OnnxGraph graph;
    graph.path = path;
    graph.opset = defaultOpset(*model, path);
    graph.producer = model->producer_name() + (model->producer_version().empty() ? "" : " " + model->producer_version());
    const auto modelDir = fs::path(path).parent_path().string();
    const auto& g = model->graph();
    for (auto& init : *model->mutable_graph()->mutable_initializer()) {
        if (init.name().empty()) {
            fail(path, "an initializer has no name; the file is damaged");
        }
        const auto tensor = tensorFromProto(init, modelDir, path + ": initializer '" + init.name() + "'");
        graph.initializers[init.name()] = tensor;
        if (init.data_location() == onnx::TensorProto::EXTERNAL) {
            // The checker looks for external files relative to the working folder: hand it the data.
            init.clear_external_data();
            init.set_data_location(onnx::TensorProto::DEFAULT);
            if (init.data_type() == onnx::TensorProto::FLOAT16) init.set_data_type(onnx::TensorProto::FLOAT);
            init.set_raw_data(std::string(static_cast<const char*>(tensor.data_ptr()), size_t(tensor.nbytes())));
        }
    }
    for (const auto& input : g.input()) {
        if (graph.initializers.count(input.name()) == 0) {
            graph.inputs.push_back(convertValueInfo(input));
        }
    }
    for (const auto& output : g.output()) {
        graph.outputs.push_back(output.name());
    }
    int index = 0;
    for (const auto& n : g.node()) {
        OnnxNode node;
        node.op = n.op_type();
        node.name = n.name();
        node.domain = n.domain() == "ai.onnx" ? "" : n.domain();
        node.index = index++;
        node.inputs.assign(n.input().begin(), n.input().end());
        node.outputs.assign(n.output().begin(), n.output().end());
        for (const auto& a : n.attribute()) {
            node.attributes[a.name()] = convertAttribute(a, modelDir, path + ": " + node.label());
        }
        graph.nodes.push_back(std::move(node));
    }
    graph.proto = std::move(model);
    return graph;
}

} // namespace

OnnxGraph parseOnnxModel(const std::string& bytes, const std::string& path)
{
    if (bytes.empty()) {
        fail(path, "the file is empty; " + std::string(kReexport));
    }
    auto model = std::make_shared<onnx::ModelProto>();
    if (!model->ParseFromString(bytes)) {
        fail(path, "not an ONNX model, or a damaged or truncated one (it does not parse as an ONNX protobuf); "
                       + std::string(kReexport));
    }
    if (!model->has_graph() || model->ir_version() <= 0) {
        fail(path, "not an ONNX model (no graph or IR version in it); " + std::string(kReexport));
    }
    return convert(std::move(model), path);
}

OnnxGraph readOnnxFile(const std::string& path)
{
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
        fail(path, "no such file");
    }
    if (fs::is_directory(status)) {
        fail(path, "is a folder, not an ONNX file");
    }
    const auto size = fs::file_size(path, ec);
    if (ec || size > kMaxFileBytes) {
        fail(path, "larger than 2 GB; save the model with its weights as external data (onnx.save_model(..., "
                   "save_as_external_data=True))");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        fail(path, "cannot be read (check its permissions)");
    }
    std::string bytes(size_t(size), '\0');
    if (size > 0 && !in.read(bytes.data(), std::streamsize(size))) {
        fail(path, "cannot be read completely");
    }
    return parseOnnxModel(bytes, path);
}

void checkOnnxGraph(OnnxGraph& graph)
{
    if (!graph.proto) {
        return;
    }
    try {
        onnx::checker::check_model(*graph.proto);
    } catch (const std::exception& e) {
        std::string why = e.what();
        if (auto context = why.find("==>"); context != std::string::npos) {
            why = why.substr(0, context); // the checker appends the whole offending node
        }
        while (!why.empty() && (why.back() == ' ' || why.back() == '\n')) why.pop_back();
        fail(graph.path, "does not pass the ONNX checker (" + why + "); the file is damaged or was written by a "
                         "tool that breaks the ONNX rules: " + std::string(kReexport));
    }
    graph.proto.reset();
}

} // namespace qat::model
