// SPDX-License-Identifier: MIT
// The built-in deployment targets: the one list to edit. Facts in design/targets.md.
#include "targets/target_registry.h"

namespace qat::target {

namespace {

using quant::Method;

// Ops whose output is its input's values rearranged, selected or dropped: the grid passes
// through and the op needs no quantizer of its own (MCT: reshape-like, max pooling, dropout,
// padding, split / getitem, cast).
const std::set<std::string>& gridPreserving()
{
    static const std::set<std::string> ops = {
        "view", "view_as", "reshape", "reshape_as", "flatten", "unflatten", "squeeze", "unsqueeze", "permute",
        "transpose", "t", "movedim", "swapaxes", "contiguous", "expand", "expand_as", "repeat", "flip", "roll",
        "narrow", "select", "slice", "index_select", "gather", "__getitem__", "ListUnpack", "TupleUnpack",
        "TupleIndex", "chunk", "split", "split_with_sizes", "unsafe_chunk", "unsafe_split", "unbind",
        "tensor_split", "dropout", "feature_dropout", "alpha_dropout", "feature_alpha_dropout", "max_pool1d",
        "max_pool2d", "max_pool3d", "max_pool1d_with_indices", "max_pool2d_with_indices",
        "max_pool3d_with_indices", "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d", "max",
        "amax", "topk", "pad", "constant_pad_nd", "reflection_pad1d", "reflection_pad2d", "replication_pad1d",
        "replication_pad2d", "replication_pad3d", "to", "type_as", "float", "detach", "clone", "identity",
        "channel_shuffle", "pixel_shuffle", "pixel_unshuffle", "upsample_nearest1d", "upsample_nearest2d",
        "upsample_nearest3d", "if", "loop"};
    return ops;
}

DeploymentTarget everyTensor(const std::string& name, const std::string& description)
{
    DeploymentTarget t;
    t.name = name;
    t.description = description;
    t.passThrough = gridPreserving();
    return t;
}

DeploymentTarget imx500()
{
    auto t = everyTensor("imx500",
                         "Sony IMX500 as MCT's default target platform (TPC v1) describes it: every tensor passed "
                         "between operators is quantized (8-bit power-of-two activations); weights symmetric, 8, 4 "
                         "or 2 bits; conv and linear fuse a following activation, add / sub / mul / div a ReLU-like one");
    const std::set<std::string> reluLike = {"relu", "relu6", "leaky_relu", "hardtanh"};
    t.fusing["conv"] = {"relu", "relu6", "leaky_relu", "hardtanh", "silu", "hardswish", "prelu", "sigmoid", "tanh"};
    t.fusing["linear"] = {"relu", "relu6", "leaky_relu", "hardtanh", "silu", "hardswish", "sigmoid"};
    for (const char* op : {"add", "sub", "mul", "div"}) {
        t.fusing[op] = reluLike;
    }
    t.weights = {{Method::Symmetric, Method::PowerOfTwo}, {8, 4, 2}, true, true};
    t.activations = {{Method::PowerOfTwo}, {8}, false, true};
    t.integerBias = true;
    return t;
}

DeploymentTarget tfliteInt8()
{
    auto t = everyTensor("tflite-int8",
                         "TensorFlow Lite int8 and ONNX Runtime's QDQ kernels: every tensor quantized, 8-bit "
                         "activations per tensor (uniform, with a zero point), 8-bit symmetric weights, int32 bias; "
                         "conv, linear, add, sub, mul and div fuse a following ReLU / ReLU6");
    for (const char* op : {"conv", "linear", "add", "sub", "mul", "div"}) {
        t.fusing[op] = {"relu", "relu6", "hardtanh"};
    }
    t.weights = {{Method::Symmetric, Method::PowerOfTwo}, {8}, true, true};
    t.activations = {{Method::Uniform, Method::Symmetric, Method::PowerOfTwo}, {8}, false, true};
    t.integerBias = true;
    return t;
}

DeploymentTarget qnnpack()
{
    auto t = everyTensor("qnnpack",
                         "PyTorch's QNNPACK backend (mobile): every tensor quantized, 8-bit activations per tensor "
                         "(uniform), 8-bit weights per tensor, int32 bias; conv, linear and add fuse a following ReLU");
    for (const char* op : {"conv", "linear", "add"}) {
        t.fusing[op] = {"relu"};
    }
    t.weights = {{Method::Symmetric, Method::PowerOfTwo, Method::Uniform}, {8}, false, true};
    t.activations = {{Method::Uniform, Method::Symmetric, Method::PowerOfTwo}, {8}, false, true};
    t.integerBias = true;
    return t;
}

DeploymentTarget lowbit()
{
    auto t = imx500();
    t.name = "lowbit";
    t.description = "For bit widths below what shipping chips run: every tensor quantized and fused as on the "
                    "IMX500, with any registered quantizer at any bit width";
    t.weights = {};
    t.activations = {};
    return t;
}

// The behaviour before targets existed: old plans and stored runs keep their meaning.
DeploymentTarget generic()
{
    DeploymentTarget t;
    t.name = "generic";
    t.description = "Layer outputs only, as before deployment targets existed: the output of each conv / linear "
                    "layer (after its BatchNorm and activation) and the model input are quantized, other tensors "
                    "stay float; any quantizer";
    t.layerOutputsOnly = true;
    const std::set<std::string> anyActivation = {"relu", "relu6", "hardtanh", "hardswish", "hardsigmoid", "gelu",
                                                 "silu", "sigmoid", "tanh", "leaky_relu", "elu", "selu", "celu",
                                                 "mish", "softplus", "prelu"};
    t.fusing["conv"] = anyActivation;
    t.fusing["linear"] = anyActivation;
    return t;
}

} // namespace

void registerBuiltinTargets(TargetRegistry& registry)
{
    registry.add(imx500());
    registry.add(tfliteInt8());
    registry.add(qnnpack());
    registry.add(lowbit());
    registry.add(generic());
}

} // namespace qat::target
