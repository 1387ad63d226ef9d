// SPDX-License-Identifier: MIT
#pragma once
// Real bad files for the reliability matrix, shared by the CLI and GUI tests: IDX folders
// that are small, truncated, mislabelled or mismatched, and plan files that are wrong in
// each way a hand-edited plan can be.

#include <QByteArray>
#include <QDir>
#include <QFile>
#include <QString>

#include <cstdint>
#include <vector>

namespace qat::test {

inline QByteArray idxFile(int rank, const std::vector<uint32_t>& dims, uint8_t fill = 7)
{
    QByteArray data;
    data.append(char(0)).append(char(0)).append(char(0x08)).append(char(rank));
    int64_t elements = 1;
    for (auto d : dims) {
        for (int shift = 24; shift >= 0; shift -= 8) {
            data.append(char((d >> shift) & 0xff));
        }
        elements *= d;
    }
    for (int64_t i = 0; i < elements; ++i) {
        data.append(char(rank == 1 ? uint8_t(i % 10) : uint8_t((i * 31 + fill) % 256)));
    }
    return data;
}

inline bool writeFile(const QString& path, const QByteArray& data)
{
    QFile file(path);
    return file.open(QIODevice::WriteOnly) && file.write(data) == data.size();
}

/// An IDX folder with `side`x`side` images: train (count) and t10k (count / 4).
inline bool writeIdxFolder(const QString& folder, uint32_t count, uint32_t side)
{
    QDir().mkpath(folder);
    const QDir dir(folder);
    return writeFile(dir.filePath(QStringLiteral("train-images-idx3-ubyte")), idxFile(3, {count, side, side}))
           && writeFile(dir.filePath(QStringLiteral("train-labels-idx1-ubyte")), idxFile(1, {count}))
           && writeFile(dir.filePath(QStringLiteral("t10k-images-idx3-ubyte")), idxFile(3, {count / 4, side, side}))
           && writeFile(dir.filePath(QStringLiteral("t10k-labels-idx1-ubyte")), idxFile(1, {count / 4}));
}

/// The kinds of broken IDX folders (a good 28x28 folder, then one file spoiled).
enum class IdxFault { Truncated = 1, Mislabelled, CountMismatch, SmallImages };

inline bool writeBadIdxFolder(const QString& folder, IdxFault fault)
{
    if (!writeIdxFolder(folder, 64, fault == IdxFault::SmallImages ? 10 : 28)) {
        return false;
    }
    const QDir dir(folder);
    const auto images = dir.filePath(QStringLiteral("train-images-idx3-ubyte"));
    switch (fault) {
    case IdxFault::Truncated: return writeFile(images, idxFile(3, {64, 28, 28}).left(16 + 64 * 28 * 28 / 2));
    case IdxFault::Mislabelled: return writeFile(images, idxFile(1, {64})); // the labels file under the images name
    case IdxFault::CountMismatch:
        return writeFile(dir.filePath(QStringLiteral("train-labels-idx1-ubyte")), idxFile(1, {63}));
    case IdxFault::SmallImages: return true;
    }
    return false;
}

/// Plan files, each wrong in one way; "what" is the words its message must contain.
struct BadPlan {
    const char* name;
    const char* json;
    const char* mustSay;
};

inline std::vector<BadPlan> badPlans()
{
    return {
        {"unknown layer", R"({"format": "qat-workbench-plan", "version": 1, "layers": {"features.99": {"weights": {"bits": 4}}}})",
         "features.99"},
        {"unknown quantizer", R"({"format": "qat-workbench-plan", "version": 1, "weights": {"training": "Magic"}})",
         "Magic"},
        {"illegal bits", R"({"format": "qat-workbench-plan", "version": 1, "weights": {"bits": 99}})", "bits"},
        {"wrong type", R"({"format": "qat-workbench-plan", "version": 1, "weights": {"bits": "eight"}})",
         "weights.bits: expected an integer"},
        {"not json", R"({"format": "qat-workbench-plan", "version": 1, "weights": )", "not valid JSON"},
    };
}

} // namespace qat::test
