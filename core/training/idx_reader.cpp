// SPDX-License-Identifier: MIT
#include "training/idx_reader.h"

#include "common/error.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <filesystem>
#include <memory>

namespace qat::train {

namespace fs = std::filesystem;

namespace {

constexpr uint8_t kUnsignedByte = 0x08;
constexpr int64_t kMaxDim = 1 << 24;
constexpr int64_t kMaxElements = int64_t(1) << 40;
constexpr int64_t kReadChunk = int64_t(1) << 24;

[[noreturn]] void fail(const std::string& path, const std::string& what)
{
    throw DataError(path + ": " + what);
}

// gzread reads both gzip and plain files, so .gz and raw IDX share one path.
class GzFile {
public:
    explicit GzFile(const std::string& path) : m_path(path)
    {
        std::error_code ec;
        if (!fs::is_regular_file(path, ec)) {
            fail(path, "no such file");
        }
        m_file = gzopen(path.c_str(), "rb");
        if (m_file == nullptr) {
            fail(path, "cannot be opened (check its permissions)");
        }
    }
    ~GzFile() { gzclose(m_file); }
    GzFile(const GzFile&) = delete;
    GzFile& operator=(const GzFile&) = delete;

    // Reads up to size bytes; returns how many were read. Throws on a damaged stream.
    size_t read(void* buffer, size_t size)
    {
        size_t total = 0;
        auto* out = static_cast<char*>(buffer);
        while (total < size) {
            const auto chunk = static_cast<unsigned>(std::min<size_t>(size - total, 1u << 30));
            const int got = gzread(m_file, out + total, chunk);
            if (got < 0) {
                int code = 0;
                const char* message = gzerror(m_file, &code);
                fail(m_path, std::string("damaged compressed data (") + message + ")");
            }
            if (got == 0) {
                break;
            }
            total += static_cast<size_t>(got);
        }
        return total;
    }

private:
    std::string m_path;
    gzFile m_file = nullptr;
};

uint32_t bigEndian(const unsigned char* p)
{
    return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

struct IdxHeader {
    std::vector<int64_t> dims;
    int64_t elements = 1;
};

IdxHeader readHeader(GzFile& file, const std::string& path, int expectedRank, const char* what)
{
    std::array<unsigned char, 4> magic{};
    if (file.read(magic.data(), 4) < 4) {
        fail(path, "too short to be an IDX file (no 4-byte header)");
    }
    if (magic[0] != 0 || magic[1] != 0) {
        fail(path, "not an IDX file (bad magic number); expected MNIST-style " + std::string(what));
    }
    if (magic[2] != kUnsignedByte) {
        fail(path, "IDX element type 0x" + std::to_string(magic[2])
                       + " is not supported; only unsigned bytes (0x08) are");
    }
    if (magic[3] != expectedRank) {
        fail(path, "has " + std::to_string(magic[3]) + " dimensions; " + what + " need "
                       + std::to_string(expectedRank) + " (is this the right file?)");
    }
    IdxHeader header;
    for (int i = 0; i < expectedRank; ++i) {
        std::array<unsigned char, 4> raw{};
        if (file.read(raw.data(), 4) < 4) {
            fail(path, "truncated header");
        }
        const auto dim = static_cast<int64_t>(bigEndian(raw.data()));
        if (dim <= 0 || dim > kMaxDim) {
            fail(path, "dimension " + std::to_string(i) + " is " + std::to_string(dim)
                           + ", which is not a plausible size");
        }
        if (header.elements > kMaxElements / dim) {
            fail(path, "the header describes more than " + std::to_string(kMaxElements)
                           + " values, which is not a plausible data set (damaged file?)");
        }
        header.dims.push_back(dim);
        header.elements *= dim;
    }
    return header;
}

std::vector<unsigned char> readBody(GzFile& file, const std::string& path, int64_t elements)
{
    // The buffer grows with the data actually read: a 16-byte header must not make us
    // allocate what it promises (fuzz_idx_reader found a header asking for 86 GB).
    std::vector<unsigned char> body;
    while (int64_t(body.size()) < elements) {
        const auto start = body.size();
        const auto want = size_t(std::min<int64_t>(elements - int64_t(start), kReadChunk));
        body.resize(start + want);
        const auto got = file.read(body.data() + start, want);
        body.resize(start + got);
        if (got < want) {
            fail(path, "truncated: the header promises " + std::to_string(elements) + " bytes of data, "
                           "the file has " + std::to_string(body.size())
                           + "; copy or download the file again");
        }
    }
    unsigned char extra = 0;
    if (file.read(&extra, 1) != 0) {
        fail(path, "has data after the " + std::to_string(elements)
                       + " bytes its header describes (wrong or concatenated file?)");
    }
    return body;
}

std::string findSplitFile(const std::string& folder, const std::string& stem)
{
    for (const auto& candidate : {stem + ".gz", stem}) {
        const auto path = (fs::path(folder) / candidate).string();
        if (fs::exists(path)) {
            return path;
        }
    }
    throw DataError(folder + ": no " + stem + " or " + stem
                    + ".gz (an IDX data folder holds train-/t10k- images and labels files)");
}

} // namespace

ImageSet readIdxImages(const std::string& path)
{
    GzFile file(path);
    const auto header = readHeader(file, path, 3, "image files");
    const auto body = readBody(file, path, header.elements);
    ImageSet set;
    set.count = header.dims[0];
    set.height = header.dims[1];
    set.width = header.dims[2];
    set.pixels.resize(body.size());
    std::transform(body.begin(), body.end(), set.pixels.begin(),
                   [](unsigned char v) { return static_cast<float>(v) / 255.0f; });
    return set;
}

std::vector<int64_t> readIdxLabels(const std::string& path)
{
    GzFile file(path);
    const auto header = readHeader(file, path, 1, "label files");
    const auto body = readBody(file, path, header.elements);
    return std::vector<int64_t>(body.begin(), body.end());
}

LabelledImages readIdxSplit(const std::string& folder, const std::string& prefix)
{
    const auto imagesPath = findSplitFile(folder, prefix + "-images-idx3-ubyte");
    const auto labelsPath = findSplitFile(folder, prefix + "-labels-idx1-ubyte");
    LabelledImages split;
    split.images = readIdxImages(imagesPath);
    split.labels = readIdxLabels(labelsPath);
    if (static_cast<int64_t>(split.labels.size()) != split.images.count) {
        throw DataError(labelsPath + ": " + std::to_string(split.labels.size()) + " labels for "
                        + std::to_string(split.images.count) + " images in " + imagesPath
                        + "; the two files do not belong together");
    }
    const auto maxLabel = *std::max_element(split.labels.begin(), split.labels.end());
    split.classCount = maxLabel + 1;
    return split;
}

std::string resolveDatasetFolder(const std::string& nameOrFolder)
{
    if (nameOrFolder == "fashion-mnist") {
        const char* root = std::getenv("QATWB_DATASETS_DIR");
        const auto folder = (fs::path(root ? root : "/usr/share/datasets") / "fashion-mnist").string();
        if (!fs::is_directory(folder)) {
            throw DataError("fashion-mnist: " + folder + " does not exist; install the data with "
                            "`sudo apt-get install dataset-fashion-mnist`");
        }
        return folder;
    }
    if (!fs::is_directory(nameOrFolder)) {
        throw DataError(nameOrFolder + ": no such data folder (give `fashion-mnist` or a folder "
                        "with IDX files)");
    }
    return nameOrFolder;
}

} // namespace qat::train
