// SPDX-License-Identifier: MIT
#include "data/sample_source.h"

#include "common/error.h"

namespace qat::data {

ArraySource::ArraySource(RawArray array, std::string name) : m_array(std::move(array)), m_name(std::move(name))
{
    const auto& s = m_array.shape;
    if (s.size() == 3) {
        m_sample = {1, s[1], s[2]};
    } else if (s.size() == 4) {
        const bool small1 = s[1] == 1 || s[1] == 3;
        const bool small3 = s[3] == 1 || s[3] == 3;
        m_channelsLast = small3 && !small1;
        m_sample = m_channelsLast ? SampleShape{s[3], s[1], s[2]} : SampleShape{s[1], s[2], s[3]};
    } else {
        throw DataError(m_name + ": images of shape " + shapeText(s)
                        + " (need [N, H, W], [N, C, H, W] or [N, H, W, C])");
    }
    if (s[0] < 1 || m_sample.channels < 1 || m_sample.height < 1 || m_sample.width < 1) {
        throw DataError(m_name + ": no images (shape " + shapeText(s) + ")");
    }
    m_shape = s;
}

Sample ArraySource::sample(int64_t i) const
{
    Sample out{m_sample.channels, m_sample.height, m_sample.width, {}};
    const int64_t hw = m_sample.height * m_sample.width;
    const int64_t n = hw * m_sample.channels;
    out.values.resize(size_t(n));
    const int64_t base = i * n;
    if (!m_channelsLast) {
        if (m_array.type == ElementType::U8) { // the common case, without the per-element switch
            const uint8_t* p = m_array.bytes.data() + base;
            for (int64_t k = 0; k < n; ++k) out.values[size_t(k)] = float(p[k]);
        } else if (m_array.type == ElementType::F32) {
            const auto* p = reinterpret_cast<const float*>(m_array.bytes.data()) + base;
            std::copy(p, p + n, out.values.begin());
        } else {
            for (int64_t k = 0; k < n; ++k) out.values[size_t(k)] = float(m_array.at(base + k));
        }
        return out;
    }
    const int64_t c = m_sample.channels;
    for (int64_t p = 0; p < hw; ++p) {
        for (int64_t ch = 0; ch < c; ++ch) {
            out.values[size_t(ch * hw + p)] = float(m_array.at(base + p * c + ch));
        }
    }
    return out;
}

ImageFileSource::ImageFileSource(std::vector<std::string> files, std::vector<ImageHeader> headers)
    : m_files(std::move(files)), m_headers(std::move(headers))
{
}

SampleShape ImageFileSource::shape(int64_t i) const
{
    const auto& h = m_headers[size_t(i)];
    return {h.channels, h.height, h.width};
}

Sample ImageFileSource::sample(int64_t i) const
{
    const auto image = decodeImage(m_files[size_t(i)]);
    Sample out{image.channels, image.height, image.width, {}};
    const int64_t hw = image.height * image.width;
    out.values.resize(size_t(hw * image.channels));
    for (int64_t p = 0; p < hw; ++p) {
        for (int64_t ch = 0; ch < image.channels; ++ch) {
            out.values[size_t(ch * hw + p)] = float(image.pixels[size_t(p * image.channels + ch)]);
        }
    }
    return out;
}

std::vector<int64_t> seededPermutation(int64_t n, uint64_t seed)
{
    std::vector<int64_t> order(size_t(std::max<int64_t>(n, 0)));
    for (int64_t i = 0; i < n; ++i) order[size_t(i)] = i;
    uint64_t state = seed + 0x9E3779B97F4A7C15ull;
    auto next = [&state] { // splitmix64
        uint64_t z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    };
    for (int64_t i = n - 1; i > 0; --i) {
        std::swap(order[size_t(i)], order[size_t(next() % uint64_t(i + 1))]);
    }
    return order;
}

} // namespace qat::data
