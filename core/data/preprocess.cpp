// SPDX-License-Identifier: MIT
#include "data/preprocess.h"

#include "common/error.h"

#include <algorithm>
#include <cmath>

namespace qat::data {

namespace {

struct Taps {
    std::vector<int64_t> start;
    std::vector<int64_t> count;
    std::vector<float> weights; ///< count.max() per output position
    int64_t width = 0;
};

// As PyTorch's _compute_indices_weights_aa (and PIL's precompute_coeffs) for bilinear.
Taps taps(int64_t inSize, int64_t outSize)
{
    const float scale = float(inSize) / float(outSize);
    const float support = scale >= 1.0f ? scale : 1.0f;
    const float invScale = scale >= 1.0f ? 1.0f / scale : 1.0f;
    Taps t;
    t.width = int64_t(std::ceil(support)) * 2 + 1;
    t.start.resize(size_t(outSize));
    t.count.resize(size_t(outSize));
    t.weights.assign(size_t(outSize * t.width), 0.0f);
    for (int64_t i = 0; i < outSize; ++i) {
        const float center = scale * (float(i) + 0.5f);
        const int64_t lo = std::max<int64_t>(int64_t(center - support + 0.5f), 0);
        const int64_t n = std::min<int64_t>(int64_t(center + support + 0.5f), inSize) - lo;
        float total = 0;
        float* w = &t.weights[size_t(i * t.width)];
        for (int64_t j = 0; j < n && j < t.width; ++j) {
            const float x = std::abs((float(j + lo) - center + 0.5f) * invScale);
            w[j] = x < 1.0f ? 1.0f - x : 0.0f;
            total += w[j];
        }
        for (int64_t j = 0; j < n && j < t.width; ++j) w[j] = total != 0 ? w[j] / total : 0;
        t.start[size_t(i)] = lo;
        t.count[size_t(i)] = std::min(n, t.width);
    }
    return t;
}

std::string sizeText(int64_t h, int64_t w)
{
    return std::to_string(h) + "x" + std::to_string(w);
}

void run(const Sample& s, const Pipeline& p, float* out, const std::string& name, bool normalize)
{
    const int64_t hw = s.height * s.width;
    // channels first, in source units
    std::vector<float> converted;
    const float* src = s.values.data();
    if (s.channels != p.channels) {
        converted.resize(size_t(p.channels * hw));
        if (s.channels == 1) {
            for (int64_t c = 0; c < p.channels; ++c) std::copy(src, src + hw, converted.begin() + c * hw);
        } else if (s.channels == 3 && p.channels == 1) {
            for (int64_t i = 0; i < hw; ++i) {
                converted[size_t(i)] = 0.299f * src[i] + 0.587f * src[hw + i] + 0.114f * src[2 * hw + i];
            }
        } else {
            throw DataError(name + ": has " + std::to_string(s.channels) + " channels; the model needs "
                            + std::to_string(p.channels) + " and only grey <-> RGB can be converted");
        }
        src = converted.data();
    }
    std::vector<float> resized;
    if (p.resize == ResizeMode::None || (s.height == p.height && s.width == p.width)) {
        if (s.height != p.height || s.width != p.width) {
            throw DataError(name + ": is " + sizeText(s.height, s.width) + " but the other samples are "
                            + sizeText(p.height, p.width) + "; mixed sizes need --resize (e.g. --resize "
                            + sizeText(p.height, p.width) + " or crop:" + sizeText(p.height, p.width) + ")");
        }
    } else if (p.resize == ResizeMode::Stretch) {
        resized.resize(size_t(p.outputSize()));
        resizeBilinear(src, p.channels, s.height, s.width, resized.data(), p.height, p.width);
        src = resized.data();
    } else {
        const auto [h, w] = cropScaledSize(s.height, s.width, p.height, p.width);
        std::vector<float> scaled(size_t(p.channels * h * w));
        resizeBilinear(src, p.channels, s.height, s.width, scaled.data(), h, w);
        const int64_t top = (h - p.height) / 2;
        const int64_t left = (w - p.width) / 2;
        resized.resize(size_t(p.outputSize()));
        for (int64_t c = 0; c < p.channels; ++c) {
            for (int64_t y = 0; y < p.height; ++y) {
                const float* row = &scaled[size_t((c * h + top + y) * w + left)];
                std::copy(row, row + p.width, &resized[size_t((c * p.height + y) * p.width)]);
            }
        }
        src = resized.data();
    }
    const int64_t phw = p.height * p.width;
    for (int64_t c = 0; c < p.channels; ++c) {
        const bool norm = normalize && !p.mean.empty();
        const float mean = norm ? p.mean[size_t(c)] : 0.0f;
        const float std = norm ? p.std[size_t(c)] : 1.0f;
        for (int64_t i = 0; i < phw; ++i) {
            const float v = src[c * phw + i] / p.divisor;
            out[c * phw + i] = norm ? (v - mean) / std : v;
        }
    }
}

} // namespace

std::pair<int64_t, int64_t> cropScaledSize(int64_t inH, int64_t inW, int64_t height, int64_t width)
{
    // the side that needs the larger scale decides; the other keeps the aspect ratio
    if (double(height) / double(inH) >= double(width) / double(inW)) {
        return {height, std::max(width, int64_t(double(inW) * double(height) / double(inH)))};
    }
    return {std::max(height, int64_t(double(inH) * double(width) / double(inW))), width};
}

void resizeBilinear(const float* in, int64_t channels, int64_t inH, int64_t inW, float* out, int64_t outH, int64_t outW)
{
    // A pipeline without an output size (no model to take it from) or an empty image: the
    // taps' scale would be infinite (found by UBSan: a loader started on such a pipeline).
    if (inH <= 0 || inW <= 0 || outH <= 0 || outW <= 0) {
        throw DataError("cannot resize an image of " + sizeText(inH, inW) + " to " + sizeText(outH, outW)
                        + "; give the size to resize to (--resize)");
    }
    const auto tx = taps(inW, outW);
    const auto ty = taps(inH, outH);
    // Rows first: each output row is a weighted sum of whole input rows, contiguous, so the
    // loop vectorises; then the per-pixel dot products run on the outH rows only. PIL and
    // PyTorch go columns first, with dot products on every input row: ~3x the scalar work when
    // shrinking 96 -> 32, the loader's main cost after JPEG decoding. Same weights; the sums
    // differ from theirs by float rounding only.
    std::vector<float> tmp(size_t(outH * inW));
    for (int64_t c = 0; c < channels; ++c) {
        const float* plane = in + c * inH * inW;
        for (int64_t y = 0; y < outH; ++y) {
            const float* w = &ty.weights[size_t(y * ty.width)];
            const float* first = plane + ty.start[size_t(y)] * inW;
            float* dst = &tmp[size_t(y * inW)];
            const float w0 = w[0];
#pragma omp simd
            for (int64_t x = 0; x < inW; ++x) dst[x] = w0 * first[x];
            for (int64_t j = 1; j < ty.count[size_t(y)]; ++j) {
                const float* row = first + j * inW;
                const float wj = w[j];
#pragma omp simd
                for (int64_t x = 0; x < inW; ++x) dst[x] += wj * row[x];
            }
        }
        for (int64_t y = 0; y < outH; ++y) {
            const float* row = &tmp[size_t(y * inW)];
            float* dst = out + (c * outH + y) * outW;
            for (int64_t x = 0; x < outW; ++x) {
                const float* w = &tx.weights[size_t(x * tx.width)];
                const float* src = row + tx.start[size_t(x)];
                float acc = 0;
                for (int64_t j = 0; j < tx.count[size_t(x)]; ++j) acc += w[j] * src[j];
                dst[x] = acc;
            }
        }
    }
}

Pipeline makePipeline(const DataOptions& o, int64_t height, int64_t width)
{
    Pipeline p;
    p.channels = o.channels;
    p.resize = o.resize.mode;
    p.height = o.resize.mode == ResizeMode::None ? height : o.resize.height;
    p.width = o.resize.mode == ResizeMode::None ? width : o.resize.width;
    p.divisor = float(o.divisor > 0 ? o.divisor : 1);
    if (o.normalize.mode != NormalizeMode::None && !o.normalize.mean.empty()) {
        for (int64_t c = 0; c < p.channels; ++c) {
            const size_t k = o.normalize.mean.size() == 1 ? 0 : size_t(c);
            p.mean.push_back(float(o.normalize.mean.at(k)));
            p.std.push_back(float(o.normalize.std.at(k)));
        }
    }
    return p;
}

void preprocess(const Sample& sample, const Pipeline& pipeline, float* out, const std::string& name)
{
    run(sample, pipeline, out, name, true);
}

void preprocessForDisplay(const Sample& sample, const Pipeline& pipeline, float* out, const std::string& name)
{
    run(sample, pipeline, out, name, false);
}

} // namespace qat::data
