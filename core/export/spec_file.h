// SPDX-License-Identifier: MIT
#pragma once
// The inferable-quantizer spec: every quantizer of an export with its mct_quantizers class
// name and constructor arguments. Schema: resources/schemas/inferable_spec.schema.json.

#include "quantizers/inferable_quantizer.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

namespace qat::exporter {

constexpr int kSpecFormatVersion = 1;

struct SpecEntry {
    std::string name;   ///< "features.0.weight", "features.0:output", "input"
    std::string layer;
    quant::Target target = quant::Target::Weights;
    std::string training; ///< how it was trained ("LSQ", ...), for the reader's information
    std::string method;
    std::string className;     ///< mct_quantizers' class name, or a plugin's own
    nlohmann::json arguments;  ///< its constructor arguments
    /// Rebuilt by readSpecFile (built-in classes); not needed for writing.
    std::unique_ptr<quant::InferableQuantizer> quantizer;
};

struct Spec {
    std::string modelPath;
    std::string modelHash;
    int64_t runId = 0;
    std::string appVersion;
    std::vector<SpecEntry> entries;
};

nlohmann::json specToJson(const Spec& spec);
/// Reads a spec file back into inferable quantizers (built-in classes). Throws qat::Error
/// naming the file and the entry for a wrong format version, a missing field or bad arguments.
Spec readSpecFile(const std::string& path);
/// The same for a spec's text; origin names it in messages.
Spec parseSpecText(const std::string& text, const std::string& origin);

} // namespace qat::exporter
