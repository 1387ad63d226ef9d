// SPDX-License-Identifier: MIT
#include "model/onnx_window.h"

#include "common/error.h"

#include <algorithm>

namespace qat::model {

std::vector<int64_t> perAxis(const OnnxNode& node, const std::string& attr, size_t rank, int64_t fallback)
{
    auto values = node.ints(attr, std::vector<int64_t>(rank, fallback));
    if (values.size() != rank) {
        throw ModelError(node.label() + ": attribute '" + attr + "' has " + std::to_string(values.size())
                         + " values for " + std::to_string(rank) + " spatial axes");
    }
    for (auto v : values) {
        if (v < (fallback > 0 ? 1 : 0) || v > kMaxWindowValue) {
            throw ModelError(node.label() + ": attribute '" + attr + "' has the value " + std::to_string(v));
        }
    }
    return values;
}

Window convWindow(const OnnxNode& node, const std::vector<int64_t>& kernel, const std::vector<int64_t>& spatialIn,
                  bool hasDilations)
{
    const size_t rank = kernel.size();
    for (auto k : kernel) {
        if (k < 1 || k > kMaxWindowValue) throw ModelError(node.label() + ": a kernel size of " + std::to_string(k));
    }
    Window w;
    w.kernel = kernel;
    w.strides = perAxis(node, "strides", rank, 1);
    w.dilations = hasDilations ? perAxis(node, "dilations", rank, 1) : std::vector<int64_t>(rank, 1);
    const auto autoPad = node.s("auto_pad", "NOTSET");
    if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
        // Output size ceil(in / stride); the odd pixel of padding goes after (UPPER) or before (LOWER).
        for (size_t i = 0; i < rank; ++i) {
            const int64_t out = (spatialIn.at(i) + w.strides[i] - 1) / w.strides[i];
            const int64_t total =
                std::max<int64_t>(0, (out - 1) * w.strides[i] + (kernel[i] - 1) * w.dilations[i] + 1 - spatialIn[i]);
            const int64_t half = total / 2;
            w.begin.push_back(autoPad == "SAME_UPPER" ? half : total - half);
            w.end.push_back(autoPad == "SAME_UPPER" ? total - half : half);
        }
    } else if (autoPad == "VALID") {
        w.begin.assign(rank, 0);
        w.end.assign(rank, 0);
    } else if (autoPad == "NOTSET") {
        const auto pads = node.ints("pads", std::vector<int64_t>(2 * rank, 0));
        if (pads.size() != 2 * rank) {
            throw ModelError(node.label() + ": attribute 'pads' needs " + std::to_string(2 * rank) + " values");
        }
        for (size_t i = 0; i < rank; ++i) {
            if (pads[i] < 0 || pads[i + rank] < 0 || pads[i] > kMaxWindowValue || pads[i + rank] > kMaxWindowValue) {
                throw ModelError(node.label() + ": pads must be between 0 and " + std::to_string(kMaxWindowValue));
            }
            w.begin.push_back(pads[i]);
            w.end.push_back(pads[i + rank]);
        }
    } else {
        throw ModelError(node.label() + ": auto_pad '" + autoPad + "' is not an ONNX value");
    }
    return w;
}

std::vector<int64_t> torchPads(const std::vector<int64_t>& begin, const std::vector<int64_t>& end)
{
    std::vector<int64_t> pads;
    for (size_t i = begin.size(); i-- > 0;) {
        pads.push_back(begin[i]);
        pads.push_back(end[i]);
    }
    return pads;
}

} // namespace qat::model
