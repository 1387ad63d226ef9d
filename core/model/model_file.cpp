// SPDX-License-Identifier: MIT
#include "model/model_file.h"

#include "common/error.h"
#include "common/text.h"

#include <caffe2/serialize/inline_container.h>

#include <c10/util/Exception.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>

namespace qat::model {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what)
{
    throw ModelError(path + ": " + what);
}


bool endsWith(const std::string& s, const std::string& suffix)
{
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

uint32_t le(const char* p, int bytes)
{
    uint32_t v = 0;
    for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
    return v;
}

// Whether the zip's central directory names a "version" record, which LibTorch's reader
// requires. Read from the end of the file only (models can be large). Unknown (true) when
// the directory cannot be found: LibTorch's reader then says what is damaged. Asked before
// LibTorch opens the file because its reader leaks the archive state when it refuses one.
bool zipHasVersionRecord(std::ifstream& in)
{
    in.clear();
    in.seekg(0, std::ios::end);
    const auto size = static_cast<int64_t>(in.tellg());
    const int64_t tailSize = std::min<int64_t>(size, 65536 + 22);
    std::string tail(size_t(tailSize), '\0');
    in.seekg(size - tailSize);
    if (!in.read(tail.data(), tailSize)) return true;
    const auto eocd = tail.rfind(std::string("PK\x05\x06", 4));
    if (eocd == std::string::npos || eocd + 22 > tail.size()) return true;
    const uint32_t entries = le(&tail[eocd + 10], 2);
    const uint32_t dirSize = le(&tail[eocd + 12], 4);
    const uint32_t dirOffset = le(&tail[eocd + 16], 4);
    if (dirSize == 0xffffffffu || dirOffset == 0xffffffffu || int64_t(dirOffset) + dirSize > size) return true; // zip64
    std::string dir(dirSize, '\0');
    in.seekg(dirOffset);
    if (!in.read(dir.data(), dirSize)) return true;
    size_t pos = 0;
    for (uint32_t e = 0; e < entries; ++e) {
        if (pos + 46 > dir.size() || dir.compare(pos, 4, "PK\x01\x02", 4) != 0) return true;
        const size_t nameLen = le(&dir[pos + 28], 2);
        if (pos + 46 + nameLen > dir.size()) return true;
        const std::string name = dir.substr(pos + 46, nameLen);
        if (name == "version" || endsWith(name, "/version")) return true;
        pos += 46 + nameLen + le(&dir[pos + 30], 2) + le(&dir[pos + 32], 2);
    }
    return false;
}

const char* kHowToSave = "save the model with torch.jit.script(model) or torch.jit.trace(model, "
                         "example_input), then .save(\"model.pt\")";

} // namespace

void checkModelFile(const std::string& path)
{
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
        fail(path, "no such file");
    }
    if (fs::is_directory(status)) {
        fail(path, "is a folder, not a TorchScript file (.pt)");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        fail(path, "cannot be read (check its permissions)");
    }
    char magic[4] = {0, 0, 0, 0};
    in.read(magic, 4);
    const auto got = in.gcount();
    if (got == 0) {
        fail(path, "the file is empty; " + std::string(kHowToSave));
    }
    const bool zip = got == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
    if (!zip) {
        if (static_cast<unsigned char>(magic[0]) == 0x80) {
            fail(path, "a legacy torch.save() pickle, not TorchScript; " + std::string(kHowToSave));
        }
        if (endsWith(path, ".onnx")) {
            fail(path, "an ONNX file; QAT Workbench imports TorchScript: " + std::string(kHowToSave));
        }
        fail(path, "not a TorchScript archive (TorchScript files are zip archives); "
                       + std::string(kHowToSave));
    }
    if (!zipHasVersionRecord(in)) {
        fail(path, "a zip archive without TorchScript content (no version record); " + std::string(kHowToSave));
    }
    bool hasCode = false;
    bool hasPickle = false;
    try {
        caffe2::serialize::PyTorchStreamReader reader(path);
        for (const auto& record : reader.getAllRecords()) {
            hasCode = hasCode || record == "constants.pkl" || record.rfind("code/", 0) == 0;
            hasPickle = hasPickle || record == "data.pkl";
        }
    } catch (const c10::Error& e) {
        const std::string reason = e.what_without_backtrace();
        // LibTorch's reader insists on a "version" record, which only its own archives have.
        if (reason.find("hasRecord(\"version\")") != std::string::npos) {
            fail(path, "a zip archive without TorchScript content (no version record); "
                           + std::string(kHowToSave));
        }
        fail(path, "damaged or truncated zip archive (" + firstLine(e.what_without_backtrace())
                       + "); copy or export the file again");
    }
    if (!hasCode) {
        if (hasPickle) {
            fail(path, "a torch.save() file (a state_dict or pickled module), not TorchScript; "
                           + std::string(kHowToSave));
        }
        fail(path, "a zip archive without TorchScript content (no code/ or constants.pkl); "
                       + std::string(kHowToSave));
    }
}

} // namespace qat::model
