// SPDX-License-Identifier: MIT
// Tensors saved from Python with torch.save: LibTorch's pickle_load reads the zip format
// torch.save writes (since PyTorch 1.6) when the file holds tensors, tuples, lists and
// dicts of them.
#include "data/torch_file.h"

#include "common/error.h"
#include "common/text.h"

#include <torch/csrc/jit/serialization/pickle.h>

#include <fstream>
#include <iterator>

namespace qat::data {

namespace {

RawArray toRaw(const at::Tensor& tensor, const std::string& path, const std::string& key)
{
    auto t = tensor.contiguous();
    RawArray a;
    switch (t.scalar_type()) {
    case at::kByte: a.type = ElementType::U8; break;
    case at::kChar: a.type = ElementType::I8; break;
    case at::kShort: a.type = ElementType::I16; break;
    case at::kInt: a.type = ElementType::I32; break;
    case at::kLong: a.type = ElementType::I64; break;
    case at::kFloat: a.type = ElementType::F32; break;
    case at::kDouble: a.type = ElementType::F64; break;
    case at::kBool: a.type = ElementType::Bool; break;
    case at::kHalf:
    case at::kBFloat16:
        t = t.to(at::kFloat);
        a.type = ElementType::F32;
        break;
    default:
        throw DataError(path + ": " + key + " is a tensor of " + std::string(c10::toString(t.scalar_type()))
                        + ", not numbers the workbench reads");
    }
    a.shape.assign(t.sizes().begin(), t.sizes().end());
    const auto* p = static_cast<const uint8_t*>(t.data_ptr());
    a.bytes.assign(p, p + t.numel() * int64_t(t.element_size()));
    return a;
}

void collect(const c10::IValue& value, const std::string& key, const std::string& path,
             std::map<std::string, RawArray>& out)
{
    if (value.isTensor()) {
        out[key.empty() ? "images" : key] = toRaw(value.toTensor(), path, key.empty() ? "the file" : key);
    } else if (value.isTuple() || value.isList()) {
        const auto items = value.isTuple() ? value.toTupleRef().elements().vec() : value.toListRef().vec();
        // (images, labels) by position
        for (size_t i = 0; i < items.size(); ++i) {
            const std::string role = i == 0 ? "images" : i == 1 ? "labels" : "extra" + std::to_string(i);
            collect(items[i], key.empty() ? role : key + "_" + role, path, out);
        }
    } else if (value.isGenericDict()) {
        for (const auto& entry : value.toGenericDict()) {
            if (!entry.key().isString()) continue;
            const auto name = entry.key().toStringRef();
            collect(entry.value(), key.empty() ? name : key + "_" + name, path, out);
        }
    }
}

} // namespace

std::map<std::string, RawArray> readTorchSave(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) throw DataError(path + ": cannot be opened (no such file, or no permission)");
    const std::vector<char> bytes(std::istreambuf_iterator<char>(in), {});
    c10::IValue value;
    try {
        value = torch::jit::pickle_load(bytes);
    } catch (const c10::Error& e) {
        throw DataError(path + ": not a file torch.save wrote with tensors LibTorch can read ("
                        + firstLine(e.what_without_backtrace())
                        + "); save a dict or tuple of tensors, e.g. torch.save({'images': x, 'labels': y}, path)");
    }
    std::map<std::string, RawArray> arrays;
    collect(value, "", path, arrays);
    if (arrays.empty()) {
        throw DataError(path + ": holds no tensors; save a dict or tuple of tensors, e.g. "
                               "torch.save({'images': x, 'labels': y}, path)");
    }
    return arrays;
}

} // namespace qat::data
