// SPDX-License-Identifier: MIT
#pragma once
// Where an imported ONNX model's tensors live in the module tree, so that layer names mean
// something to the user: PyTorch's own names where the file has them, else the node's.

#include <string>
#include <vector>

namespace qat::model {

/// True for names such as "features.0.weight": identifiers and numbers joined by dots,
/// as torch.onnx.export keeps a module's parameters.
bool isPyTorchLikeName(const std::string& name);

/// A name part made fit for a TorchScript attribute: letters, digits, '_' and '-' only, not
/// empty, not a name the module type uses itself ("training", "forward").
std::string sanitiseNamePart(const std::string& part);

/// A valid identifier (for the forward argument, class names): letters, digits and '_',
/// not starting with a digit.
std::string sanitiseIdentifier(const std::string& name);

/// The module path a node's parameters belong to, from its name: torch.onnx's scopes
/// ("/features/features.0/Conv" -> features, 0), other exporters' name scopes
/// ("StatefulPartitionedCall/sequential/dense/MatMul" -> sequential, dense: TensorFlow's
/// function-call wrapper left out), or the plain name ("fc1" -> fc1).
/// An unnamed node gets fallback (e.g. "Conv_3").
std::vector<std::string> modulePathOfNode(const std::string& nodeName, const std::string& fallback);

/// "features.0.weight" -> features, 0, weight (each part sanitised).
std::vector<std::string> splitDottedName(const std::string& name);

} // namespace qat::model
