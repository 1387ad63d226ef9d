// SPDX-License-Identifier: MIT
#pragma once
// ONNX TensorProto -> at::Tensor. Internal to the core.

#include <ATen/ATen.h>

#include <string>

namespace onnx {
class TensorProto;
}

namespace qat::model {

/// The tensor's values as an ATen tensor (float16 widened to float32). External data is
/// read from modelDir, and only from inside it. Sizes are checked against the declared
/// shape before anything is allocated. Throws qat::ModelError with `what` (e.g.
/// "initializer 'fc.weight'") in the message.
at::Tensor tensorFromProto(const onnx::TensorProto& proto, const std::string& modelDir, const std::string& what);

/// "FLOAT", "INT64", ... for messages.
std::string onnxTypeName(int dataType);

} // namespace qat::model
