// SPDX-License-Identifier: MIT
#pragma once
// Where samples come from: arrays in memory or image files decoded on demand. Internal to
// the core. sample() is safe to call from several threads at once.

#include "data/data_options.h"
#include "data/image_codec.h"
#include "data/raw_array.h"

#include <memory>
#include <string>
#include <vector>

namespace qat::data {

/// One sample in the units it is stored in (0..255 for 8-bit), channels first.
struct Sample {
    int64_t channels = 0;
    int64_t height = 0;
    int64_t width = 0;
    std::vector<float> values;
};

struct SampleShape {
    int64_t channels = 0;
    int64_t height = 0;
    int64_t width = 0;
    bool operator==(const SampleShape& o) const { return channels == o.channels && height == o.height && width == o.width; }
    bool operator!=(const SampleShape& o) const { return !(*this == o); }
};

class SampleSource {
public:
    virtual ~SampleSource() = default;
    virtual int64_t size() const = 0;
    virtual Sample sample(int64_t i) const = 0;
    virtual SampleShape shape(int64_t i) const = 0;
    virtual std::string name(int64_t i) const = 0;
    virtual ElementType valueType() const = 0;
    /// Whether sample() decodes a file (worth caching) rather than reading memory.
    virtual bool decodes() const { return false; }
};

/// Images in one array: [N,H,W], [N,C,H,W] or [N,H,W,C] (channels last when the last axis
/// is 1 or 3 and the second is not).
class ArraySource : public SampleSource {
public:
    ArraySource(RawArray array, std::string name);
    int64_t size() const override { return m_shape.empty() ? 0 : m_array.shape[0]; }
    Sample sample(int64_t i) const override;
    SampleShape shape(int64_t) const override { return m_sample; }
    std::string name(int64_t i) const override { return m_name + "[" + std::to_string(i) + "]"; }
    ElementType valueType() const override { return m_array.type; }
    bool channelsLast() const { return m_channelsLast; }
    const RawArray& array() const { return m_array; }

private:
    RawArray m_array;
    std::string m_name;
    std::vector<int64_t> m_shape;
    SampleShape m_sample;
    bool m_channelsLast = false;
};

/// PNG / JPEG files; headers were read when the list was made.
class ImageFileSource : public SampleSource {
public:
    ImageFileSource(std::vector<std::string> files, std::vector<ImageHeader> headers);
    int64_t size() const override { return int64_t(m_files.size()); }
    Sample sample(int64_t i) const override;
    SampleShape shape(int64_t i) const override;
    std::string name(int64_t i) const override { return m_files[size_t(i)]; }
    ElementType valueType() const override { return ElementType::U8; }
    bool decodes() const override { return true; }

private:
    std::vector<std::string> m_files;
    std::vector<ImageHeader> m_headers;
};

/// Part of a source: which samples, in which order, with which labels (-1: none).
class SampleCache;

struct Split {
    std::shared_ptr<const SampleSource> source;
    std::vector<int64_t> indices;
    std::vector<int64_t> labels;
    /// Preprocessed samples by position (see sample_cache.h); null: none.
    std::shared_ptr<SampleCache> cache;
    int64_t size() const { return int64_t(indices.size()); }
};

/// A data set as found on disk, before any preprocessing.
struct OpenedData {
    std::string path;
    DataFormat format = DataFormat::Auto;
    Split train;
    Split test;
    bool labelled = true;
    std::vector<std::string> classNames; ///< by label; empty: labels are plain numbers
    std::string testSource;              ///< where the evaluation samples come from, in words
    std::vector<std::string> skipped;    ///< unreadable files left out (BadImages::Skip)
};

/// Finds the format (unless options.format says) and reads the data at path: arrays are
/// loaded, image files listed and their headers checked. Throws qat::DataError with a
/// message naming the file or folder.
OpenedData openData(const std::string& path, const DataOptions& options);

/// The format a path looks like (Auto never returned; throws when nothing fits).
DataFormat detectFormat(const std::string& path);

/// A deterministic shuffle of 0..n-1 (the same on every machine for a seed).
std::vector<int64_t> seededPermutation(int64_t n, uint64_t seed);

} // namespace qat::data
