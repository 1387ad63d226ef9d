// SPDX-License-Identifier: MIT
// Finding what a --data path holds and reading it into sources and splits.
#include "data/sample_source.h"

#include "common/error.h"
#include "data/torch_file.h"
#include "training/idx_reader.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <map>
#include <regex>
#include <set>

namespace qat::data {

namespace fs = std::filesystem;

namespace {

std::string lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

bool hasExtension(const fs::path& p, const std::string& ext)
{
    return lower(p.extension().string()) == ext;
}

bool isIdxName(const std::string& name)
{
    static const std::regex kIdx(R"(.*(idx\d[-_.]ubyte|\.idx\d?)(\.gz)?$)", std::regex::icase);
    return std::regex_match(name, kIdx);
}

std::vector<fs::path> sortedEntries(const fs::path& dir)
{
    std::vector<fs::path> entries;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, fs::directory_options::skip_permission_denied, ec)) {
        entries.push_back(e.path());
    }
    std::sort(entries.begin(), entries.end());
    return entries;
}

std::vector<std::string> imagesUnder(const fs::path& dir, bool recursive)
{
    std::vector<std::string> files;
    std::error_code ec;
    if (recursive) {
        for (const auto& e : fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec)) {
            if (e.is_regular_file() && isImageFile(e.path().string())) files.push_back(e.path().string());
        }
        std::sort(files.begin(), files.end());
    } else {
        for (const auto& p : sortedEntries(dir)) {
            if (fs::is_regular_file(p) && isImageFile(p.string())) files.push_back(p.string());
        }
    }
    return files;
}

std::vector<fs::path> classFolders(const fs::path& dir)
{
    std::vector<fs::path> classes;
    for (const auto& p : sortedEntries(dir)) {
        if (fs::is_directory(p) && !imagesUnder(p, true).empty()) classes.push_back(p);
    }
    return classes;
}

const fs::path* findSplitFolder(const std::vector<fs::path>& dirs, std::initializer_list<const char*> names)
{
    for (const char* name : names) {
        for (const auto& d : dirs) {
            if (lower(d.filename().string()) == name) return &d;
        }
    }
    return nullptr;
}

std::vector<fs::path> subFolders(const fs::path& dir)
{
    std::vector<fs::path> dirs;
    for (const auto& p : sortedEntries(dir)) {
        if (fs::is_directory(p)) dirs.push_back(p);
    }
    return dirs;
}

struct FileList {
    std::vector<std::string> files;
    std::vector<ImageHeader> headers;
    std::vector<int64_t> labels;
};

void addFile(FileList& list, const std::string& file, int64_t label, const DataOptions& o, std::vector<std::string>& skipped)
{
    try {
        list.headers.push_back(readImageHeader(file));
    } catch (const DataError& e) {
        if (o.badImages == BadImages::Refuse) {
            throw DataError(std::string(e.what()) + " (--bad-images skip leaves unreadable files out)");
        }
        skipped.push_back(e.what());
        return;
    }
    list.files.push_back(file);
    list.labels.push_back(label);
}

// Class sub-folders of dir, labelled by their position in classNames (filled from dir when empty).
FileList scanClasses(const fs::path& dir, std::vector<std::string>& classNames, const DataOptions& o,
                     std::vector<std::string>& skipped)
{
    const auto classes = classFolders(dir);
    const bool defineClasses = classNames.empty();
    FileList list;
    for (const auto& c : classes) {
        const auto name = c.filename().string();
        if (defineClasses) classNames.push_back(name);
        const auto at = std::find(classNames.begin(), classNames.end(), name);
        if (at == classNames.end()) {
            throw DataError(c.string() + ": class '" + name + "' is not among the training classes ("
                            + std::to_string(classNames.size()) + " sub-folders of the training folder)");
        }
        for (const auto& f : imagesUnder(c, true)) addFile(list, f, at - classNames.begin(), o, skipped);
    }
    return list;
}

FileList scanUnlabeled(const fs::path& dir, bool recursive, const DataOptions& o, std::vector<std::string>& skipped)
{
    FileList list;
    for (const auto& f : imagesUnder(dir, recursive)) addFile(list, f, -1, o, skipped);
    return list;
}

Split fileSplit(FileList list)
{
    Split s;
    s.source = std::make_shared<ImageFileSource>(std::move(list.files), std::move(list.headers));
    s.labels = std::move(list.labels);
    s.indices.resize(s.labels.size());
    for (size_t i = 0; i < s.indices.size(); ++i) s.indices[i] = int64_t(i);
    return s;
}

// Reorders a split (seeded) so that its first N samples are a fair subset (for --limit-*).
void shuffle(Split& s, uint64_t seed)
{
    const auto order = seededPermutation(s.size(), seed);
    Split out{s.source, {}, {}};
    for (auto i : order) {
        out.indices.push_back(s.indices[size_t(i)]);
        out.labels.push_back(s.labels[size_t(i)]);
    }
    s = std::move(out);
}

// Holds out options.valSplit of all (seeded) for evaluation.
void holdOut(OpenedData& d, const DataOptions& o)
{
    Split all = std::move(d.train);
    const auto n = all.size();
    if (o.valSplit < 0 || o.valSplit >= 1) {
        throw DataError("--val-split must be at least 0 and below 1, not " + std::to_string(o.valSplit));
    }
    auto nTest = int64_t(std::llround(double(n) * o.valSplit));
    if (o.valSplit > 0 && nTest == 0 && n > 1) nTest = 1;
    shuffle(all, o.splitSeed);
    d.train = Split{all.source, {}, {}};
    d.test = Split{all.source, {}, {}};
    for (int64_t i = 0; i < n; ++i) {
        auto& to = i < nTest ? d.test : d.train;
        to.indices.push_back(all.indices[size_t(i)]);
        to.labels.push_back(all.labels[size_t(i)]);
    }
    if (nTest == 0) {
        d.test = d.train;
        d.testSource = "the training samples (--val-split 0)";
    } else {
        char share[32];
        std::snprintf(share, sizeof share, "%g", o.valSplit * 100);
        d.testSource = "held out: " + std::to_string(nTest) + " of " + std::to_string(n) + " (" + share + " %, seed "
                       + std::to_string(o.splitSeed) + ")";
    }
}

OpenedData openImageFolder(const fs::path& root, const DataOptions& o)
{
    OpenedData d;
    d.format = DataFormat::ImageFolder;
    const auto dirs = subFolders(root);
    const auto* trainDir = findSplitFolder(dirs, {"train", "training"});
    const auto* testDir = findSplitFolder(dirs, {"val", "valid", "validation", "test", "testing"});
    if (trainDir != nullptr) {
        const bool labelled = !classFolders(*trainDir).empty();
        d.labelled = labelled;
        d.train = fileSplit(labelled ? scanClasses(*trainDir, d.classNames, o, d.skipped)
                                     : scanUnlabeled(*trainDir, false, o, d.skipped));
        if (d.train.size() == 0) throw DataError(trainDir->string() + ": no readable images");
        if (testDir != nullptr) {
            d.test = fileSplit(labelled ? scanClasses(*testDir, d.classNames, o, d.skipped)
                                        : scanUnlabeled(*testDir, false, o, d.skipped));
            if (d.test.size() == 0) throw DataError(testDir->string() + ": no readable images");
            d.testSource = "the " + testDir->filename().string() + "/ folder";
            shuffle(d.train, o.splitSeed);
            shuffle(d.test, o.splitSeed);
        } else {
            holdOut(d, o);
        }
        return d;
    }
    d.train = fileSplit(scanClasses(root, d.classNames, o, d.skipped));
    if (d.classNames.empty()) {
        throw DataError(root.string() + ": no class sub-folders with PNG or JPEG images");
    }
    if (d.train.size() == 0) throw DataError(root.string() + ": no readable images in its class sub-folders");
    holdOut(d, o);
    return d;
}

OpenedData openImages(const fs::path& root, const DataOptions& o)
{
    OpenedData d;
    d.format = DataFormat::Images;
    d.labelled = false;
    d.train = fileSplit(scanUnlabeled(root, true, o, d.skipped));
    if (d.train.size() == 0) {
        throw DataError(root.string() + (d.skipped.empty() ? ": no PNG or JPEG images" : ": no readable images"));
    }
    holdOut(d, o);
    return d;
}

// ---- arrays: NumPy, torch.save, IDX

enum class Role { None, Images, Labels };
enum class Part { Any, Train, Test };

void classify(const std::string& key, Role& role, Part& part)
{
    static const std::set<std::string> kImages = {"images", "image", "imgs", "x", "data", "inputs", "input", "features"};
    static const std::set<std::string> kLabels = {"labels", "label", "y", "targets", "target", "classes"};
    static const std::set<std::string> kTrain = {"train", "training"};
    static const std::set<std::string> kTest = {"test", "val", "valid", "validation", "t10k", "testing"};
    role = Role::None;
    part = Part::Any;
    std::string token;
    auto take = [&] {
        if (kImages.count(token)) role = Role::Images;
        if (kLabels.count(token)) role = Role::Labels;
        if (kTrain.count(token)) part = Part::Train;
        if (kTest.count(token)) part = Part::Test;
        token.clear();
    };
    for (char c : lower(key)) {
        if (std::isalnum(static_cast<unsigned char>(c))) {
            token += c;
        } else {
            take();
        }
    }
    take();
}

std::vector<int64_t> labelsOf(const RawArray& a, const std::string& name, int64_t expected, const std::string& imagesName)
{
    auto shape = a.shape;
    if (shape.size() == 2 && shape[1] == 1) shape.pop_back();
    if (shape.size() != 1) {
        throw DataError(name + ": labels must be one number per image ([N]), not shape " + shapeText(a.shape));
    }
    if (shape[0] != expected) {
        throw DataError(name + " has " + std::to_string(shape[0]) + " labels but " + imagesName + " has "
                        + std::to_string(expected) + " images; the arrays do not belong together");
    }
    std::vector<int64_t> labels(static_cast<size_t>(shape[0]));
    for (int64_t i = 0; i < shape[0]; ++i) {
        const double v = a.at(i);
        if (v < 0 || v != std::floor(v)) {
            throw DataError(name + ": label " + std::to_string(i) + " is " + std::to_string(v)
                            + "; labels must be class numbers 0, 1, 2, ...");
        }
        labels[size_t(i)] = int64_t(v);
    }
    return labels;
}

Split arraySplit(RawArray images, const std::string& imagesName, const RawArray* labels, const std::string& labelsName)
{
    Split s;
    auto source = std::make_shared<ArraySource>(std::move(images), imagesName);
    const auto n = source->size();
    s.labels = labels != nullptr ? labelsOf(*labels, labelsName, n, imagesName) : std::vector<int64_t>(size_t(n), -1);
    s.source = std::move(source);
    s.indices.resize(size_t(n));
    for (int64_t i = 0; i < n; ++i) s.indices[size_t(i)] = i;
    return s;
}

OpenedData fromArrays(std::map<std::string, RawArray> arrays, const std::string& where, DataFormat format,
                      const DataOptions& o)
{
    struct Found {
        std::string key;
        RawArray* array = nullptr;
    };
    std::map<std::pair<Role, Part>, Found> found;
    for (auto& [key, array] : arrays) {
        Role role;
        Part part;
        classify(key, role, part);
        if (role == Role::None) {
            if (arrays.size() <= 2 && array.shape.size() >= 3) role = Role::Images;
            else if (arrays.size() <= 2 && array.shape.size() == 1) role = Role::Labels;
            else continue;
        }
        auto& slot = found[{role, part}];
        if (slot.array == nullptr) slot = {key, &array};
    }
    auto get = [&](Role r, Part p) -> Found {
        auto f = found.find({r, p});
        return f == found.end() ? Found{} : f->second;
    };
    std::string names;
    for (const auto& a : arrays) names += (names.empty() ? "" : ", ") + a.first + " " + shapeText(a.second.shape);
    auto trainImages = get(Role::Images, Part::Train);
    auto trainLabels = get(Role::Labels, Part::Train);
    if (trainImages.array == nullptr) {
        trainImages = get(Role::Images, Part::Any);
        trainLabels = get(Role::Labels, Part::Any);
    }
    if (trainImages.array == nullptr) {
        throw DataError(where + ": no images array found (arrays: " + names
                        + "); name them images/labels, x/y, or x_train/y_train/x_test/y_test");
    }
    const auto testImages = get(Role::Images, Part::Test);
    const auto testLabels = get(Role::Labels, Part::Test);
    const auto label = [&](const Found& f) {
        if (format != DataFormat::Npy) return where + ":" + f.key;
        const auto dir = fs::is_directory(where) ? fs::path(where) : fs::path(where).parent_path();
        return (dir / (f.key + ".npy")).string();
    };
    OpenedData d;
    d.format = format;
    d.labelled = trainLabels.array != nullptr;
    d.train = arraySplit(std::move(*trainImages.array), label(trainImages), trainLabels.array, label(trainLabels));
    if (testImages.array != nullptr) {
        if (d.labelled && testLabels.array == nullptr) {
            throw DataError(where + ": " + testImages.key + " has no labels array beside it (e.g. y_test or test_labels)");
        }
        d.test = arraySplit(std::move(*testImages.array), label(testImages), d.labelled ? testLabels.array : nullptr,
                            label(testLabels));
        const auto a = d.train.source->shape(0);
        const auto b = d.test.source->shape(0);
        if (a != b) {
            throw DataError(where + ": " + trainImages.key + " holds images of " + std::to_string(a.channels) + "x"
                            + std::to_string(a.height) + "x" + std::to_string(a.width) + " but " + testImages.key
                            + " of " + std::to_string(b.channels) + "x" + std::to_string(b.height) + "x"
                            + std::to_string(b.width) + " (channels x height x width); the shapes must agree");
        }
        d.testSource = testImages.key;
    } else {
        holdOut(d, o);
    }
    return d;
}

std::map<std::string, RawArray> idxFiles(const fs::path& path)
{
    std::map<std::string, RawArray> arrays;
    if (fs::is_directory(path)) {
        for (const auto& p : sortedEntries(path)) {
            if (fs::is_regular_file(p) && isIdxName(p.filename().string())) {
                arrays[p.filename().string()] = readIdxArray(p.string());
            }
        }
        if (arrays.empty()) throw DataError(path.string() + ": no IDX files");
        return arrays;
    }
    arrays["images"] = readIdxArray(path.string());
    // The labels beside an images file: the same name with images -> labels, idxN -> idx1.
    auto name = path.filename().string();
    const auto at = lower(name).find("images");
    if (at != std::string::npos) {
        name.replace(at, 6, "labels");
        name = std::regex_replace(name, std::regex(R"(idx\d)"), "idx1");
        const auto labels = path.parent_path() / name;
        if (fs::exists(labels)) arrays["labels"] = readIdxArray(labels.string());
    }
    return arrays;
}

std::map<std::string, RawArray> npyFiles(const fs::path& path)
{
    std::map<std::string, RawArray> arrays;
    const auto dir = fs::is_directory(path) ? path : path.parent_path();
    if (!fs::is_directory(path)) {
        arrays[path.stem().string()] = readNpy(path.string());
        // a sibling labels file of the same part (x_train.npy -> y_train.npy, images.npy -> labels.npy)
        Role role;
        Part part;
        classify(path.stem().string(), role, part);
        for (const auto& p : sortedEntries(dir)) {
            if (p == path || !hasExtension(p, ".npy")) continue;
            Role r;
            Part q;
            classify(p.stem().string(), r, q);
            if (r == Role::Labels && q == part) arrays[p.stem().string()] = readNpy(p.string());
        }
        return arrays;
    }
    for (const auto& p : sortedEntries(dir)) {
        if (fs::is_regular_file(p) && hasExtension(p, ".npy")) arrays[p.stem().string()] = readNpy(p.string());
    }
    if (arrays.empty()) throw DataError(path.string() + ": no .npy files");
    return arrays;
}

} // namespace

DataFormat detectFormat(const std::string& text)
{
    const fs::path path(text);
    std::error_code ec;
    if (fs::is_regular_file(path, ec)) {
        if (hasExtension(path, ".npy")) return DataFormat::Npy;
        if (hasExtension(path, ".npz")) return DataFormat::Npz;
        if (hasExtension(path, ".pt") || hasExtension(path, ".pth") || hasExtension(path, ".tar")) return DataFormat::TorchSave;
        if (isIdxName(path.filename().string())) return DataFormat::Idx;
        throw DataError(text + ": not a data file the workbench knows (.npy, .npz, .pt from torch.save, IDX); "
                               "give --data-format to say what it is");
    }
    if (!fs::is_directory(path, ec)) {
        throw DataError(text + ": no such data folder or file (give `fashion-mnist`, a folder of images or IDX "
                               "files, or a .npy, .npz or .pt file)");
    }
    const auto entries = sortedEntries(path);
    if (entries.empty()) throw DataError(text + ": the folder is empty; put images in it (one sub-folder per class)");
    bool images = false;
    bool folders = false;
    for (const auto& p : entries) {
        if (fs::is_regular_file(p) && isIdxName(p.filename().string())) return DataFormat::Idx;
        if (fs::is_regular_file(p) && hasExtension(p, ".npy")) return DataFormat::Npy;
        images = images || (fs::is_regular_file(p) && isImageFile(p.string()));
        folders = folders || (fs::is_directory(p) && !imagesUnder(p, true).empty());
    }
    for (const auto& p : entries) {
        if (fs::is_regular_file(p) && hasExtension(p, ".npz")) return DataFormat::Npz;
    }
    if (folders) return DataFormat::ImageFolder;
    if (images) return DataFormat::Images;
    throw DataError(text + ": no images found (PNG or JPEG files, one sub-folder per class or directly in the folder) "
                           "and no IDX, .npy or .npz files");
}

OpenedData openData(const std::string& nameOrPath, const DataOptions& o)
{
    std::string path = nameOrPath;
    if (path == "fashion-mnist") path = train::resolveDatasetFolder(path);
    const auto format = o.format == DataFormat::Auto ? detectFormat(path) : o.format;
    if (!fs::exists(path)) {
        throw DataError(path + ": no such data folder or file");
    }
    OpenedData d;
    switch (format) {
    case DataFormat::ImageFolder: d = openImageFolder(path, o); break;
    case DataFormat::Images: d = openImages(path, o); break;
    case DataFormat::Idx: d = fromArrays(idxFiles(path), path, format, o); break;
    case DataFormat::Npy: d = fromArrays(npyFiles(path), path, format, o); break;
    case DataFormat::Npz: {
        auto file = fs::path(path);
        if (fs::is_directory(file)) {
            for (const auto& p : sortedEntries(file)) {
                if (hasExtension(p, ".npz")) file = p;
            }
        }
        d = fromArrays(readNpz(file.string()), file.string(), format, o);
        break;
    }
    case DataFormat::TorchSave: d = fromArrays(readTorchSave(path), path, format, o); break;
    case DataFormat::Auto: break;
    }
    d.path = nameOrPath;
    int64_t maxLabel = -1;
    for (auto l : d.train.labels) maxLabel = std::max(maxLabel, l);
    if (d.labelled && d.classNames.empty()) {
        for (int64_t c = 0; c <= maxLabel; ++c) d.classNames.push_back(std::to_string(c));
    }
    return d;
}

} // namespace qat::data
