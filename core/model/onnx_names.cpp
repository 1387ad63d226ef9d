// SPDX-License-Identifier: MIT
#include "model/onnx_names.h"

#include <algorithm>
#include <cctype>

namespace qat::model {

namespace {

// PyTorch module names are any string; these are the ones kept as they are ('-' as in
// torchvision's regnet "block1-0"), anything else becomes '_'.
bool isWordChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; }

std::vector<std::string> split(const std::string& text, char separator)
{
    std::vector<std::string> parts;
    std::string current;
    for (char c : text) {
        if (c == separator) {
            if (!current.empty()) parts.push_back(current);
            current.clear();
        } else {
            current += c;
        }
    }
    if (!current.empty()) parts.push_back(current);
    return parts;
}

} // namespace

bool isPyTorchLikeName(const std::string& name)
{
    const auto parts = split(name, '.');
    if (parts.size() < 2 || name.front() == '.' || name.back() == '.' || name.find("..") != std::string::npos) {
        return false;
    }
    if (std::isdigit(static_cast<unsigned char>(name.front()))) {
        return false;
    }
    for (const auto& part : parts) {
        for (char c : part) {
            if (!isWordChar(c)) return false;
        }
    }
    return true;
}

std::string sanitiseNamePart(const std::string& part)
{
    std::string out;
    for (char c : part) {
        out += isWordChar(c) ? c : '_';
    }
    if (out.empty()) out = "_";
    if (out == "training" || out == "forward" || out == "qat_forward") out += "_";
    return out;
}

std::string sanitiseIdentifier(const std::string& name)
{
    auto out = sanitiseNamePart(name);
    std::replace(out.begin(), out.end(), '-', '_');
    if (std::isdigit(static_cast<unsigned char>(out.front()))) out = "input_" + out;
    return out;
}

std::vector<std::string> splitDottedName(const std::string& name)
{
    std::vector<std::string> path;
    for (const auto& part : split(name, '.')) path.push_back(sanitiseNamePart(part));
    return path;
}

std::vector<std::string> modulePathOfNode(const std::string& nodeName, const std::string& fallback)
{
    auto scopes = split(nodeName, '/');
    if (scopes.empty()) {
        return {sanitiseNamePart(fallback)};
    }
    if (scopes.size() > 1) {
        scopes.pop_back(); // the op's own name inside its scope
    }
    // TensorFlow wraps a Keras model's graph in a function call: noise to the user.
    if (scopes.size() > 1 && scopes.front() == "StatefulPartitionedCall") {
        scopes.erase(scopes.begin());
    }
    // torch.onnx repeats the full module path at each level: /layer1/layer1.0/conv1/Conv.
    std::vector<std::string> merged;
    for (const auto& scope : scopes) {
        if (!merged.empty() && scope.rfind(merged.back() + ".", 0) == 0) {
            merged.back() = scope;
        } else {
            merged.push_back(scope);
        }
    }
    std::vector<std::string> path;
    for (const auto& scope : merged) {
        for (const auto& part : splitDottedName(scope)) path.push_back(part);
    }
    return path;
}

} // namespace qat::model
