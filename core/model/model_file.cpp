// SPDX-License-Identifier: MIT
#include "model/model_file.h"

#include "common/error.h"
#include "common/text.h"
#include "common/zip_directory.h"

#include <caffe2/serialize/inline_container.h>

#include <c10/util/Exception.h>

#include <algorithm>
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

// Whether the zip's central directory names a "version" record, which LibTorch's reader
// requires. Unknown (true) when no intact directory is found: LibTorch's reader then says
// what is damaged. Asked before LibTorch opens the file because its reader leaks the
// archive state when it refuses one.
bool zipHasVersionRecord(std::ifstream& in)
{
    const auto entries = readZipDirectory(in);
    if (!entries) return true;
    return std::any_of(entries->begin(), entries->end(),
                       [](const ZipEntry& e) { return e.name == "version" || endsWith(e.name, "/version"); });
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
