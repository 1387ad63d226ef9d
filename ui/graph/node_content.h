// SPDX-License-Identifier: MIT
#pragma once
// The texts the graph view draws: what a node says about its op or layer, its quantizer
// badges, live parameter values, the labels of folded ops. No torch.

#include "engine/quantization_plan.h"
#include "graph/display_graph.h"
#include "graph/graph_items.h"
#include "model/model_info.h"
#include "quantizers/quantizer_types.h"

#include <QString>

#include <vector>

namespace qat::ui {

/// What node d shows (layers and points describe it), and its tooltip through toolTip.
NodeContent nodeContent(const DisplayNode& d, const std::vector<model::LayerInfo>& layers,
                        const std::vector<model::ActivationPointInfo>& points, QString* toolTip);

/// The plan-table row name node d edits: its layer, its point, "input"; empty for none.
QString rowKey(const DisplayNode& d, const std::vector<model::ActivationPointInfo>& points);

/// A quantizer's badge: prefix 'W' (weights) or 'A' (activations) and its bits, coloured by its
/// grid; what names it in the tooltip ("weights", "output").
Badge quantizerBadge(const engine::QuantizerChoice& choice, QChar prefix, const QString& quantizer,
                     const QString& what);

/// A quantizer's current parameter as a short text for its badge ("0.031"): its threshold,
/// else its step, else the first it has (the mean over channels when per channel); empty
/// when it has none. detail gets a longer text for the tooltip.
QString snapshotText(const quant::QuantizerSnapshot& snapshot, QString* detail);

/// The label of an edge with folded ops ("view·transpose·view·chunk"), leaving out those that
/// only unpack or copy.
QString foldedLabel(const std::vector<std::string>& folded);

} // namespace qat::ui
