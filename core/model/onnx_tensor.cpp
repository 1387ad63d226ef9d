// SPDX-License-Identifier: MIT
#include "model/onnx_tensor.h"

#include "common/error.h"

#include <onnx/onnx_pb.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

namespace qat::model {

namespace {

namespace fs = std::filesystem;

// Beyond this an initializer is not a weight of a model trained here (8 GiB of float32).
constexpr int64_t kMaxElements = int64_t(1) << 31;

[[noreturn]] void fail(const std::string& what, const std::string& why)
{
    throw ModelError(what + ": " + why);
}

struct TypeInfo {
    at::ScalarType scalar;
    size_t bytes;
};

TypeInfo typeInfo(int dataType, const std::string& what)
{
    switch (dataType) {
    case onnx::TensorProto::FLOAT: return {at::kFloat, 4};
    case onnx::TensorProto::DOUBLE: return {at::kDouble, 8};
    case onnx::TensorProto::FLOAT16: return {at::kHalf, 2};
    case onnx::TensorProto::INT64: return {at::kLong, 8};
    case onnx::TensorProto::INT32: return {at::kInt, 4};
    case onnx::TensorProto::INT16: return {at::kShort, 2};
    case onnx::TensorProto::INT8: return {at::kChar, 1};
    case onnx::TensorProto::UINT8: return {at::kByte, 1};
    case onnx::TensorProto::BOOL: return {at::kBool, 1};
    default: break;
    }
    fail(what, "holds " + onnxTypeName(dataType)
                   + " values; the importer reads float, double, float16 and integer tensors");
}

std::string externalLocation(const onnx::TensorProto& proto, int64_t& offset, int64_t& length, const std::string& what)
{
    std::string location;
    offset = 0;
    length = -1;
    for (const auto& entry : proto.external_data()) {
        try {
            if (entry.key() == "location") location = entry.value();
            if (entry.key() == "offset") offset = std::stoll(entry.value());
            if (entry.key() == "length") length = std::stoll(entry.value());
        } catch (const std::exception&) {
            fail(what, "external data entry '" + entry.key() + "' is not a number: '" + entry.value() + "'");
        }
    }
    if (location.empty()) {
        fail(what, "is stored as external data without a location");
    }
    if (offset < 0) {
        fail(what, "external data offset is negative");
    }
    return location;
}

// The bytes of an externally stored tensor, from a file beside the model.
std::string readExternal(const onnx::TensorProto& proto, const std::string& modelDir, size_t expected,
                         const std::string& what)
{
    int64_t offset = 0;
    int64_t length = -1;
    const auto location = externalLocation(proto, offset, length, what);
    const fs::path relative(location);
    bool escapes = relative.is_absolute();
    for (const auto& part : relative) {
        escapes = escapes || part == "..";
    }
    if (escapes) {
        fail(what, "external data location '" + location
                       + "' is outside the model's folder; the importer reads external data only from beside the model");
    }
    const auto file = fs::path(modelDir) / relative;
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) {
        fail(what, "its external data file '" + location + "' is missing (looked in " + fs::path(modelDir).string()
                       + "); copy it next to the .onnx file, or save the model without external data");
    }
    const auto size = fs::file_size(file, ec);
    if (length >= 0 && size_t(length) != expected) {
        fail(what, "external data length " + std::to_string(length) + " does not match its shape ("
                       + std::to_string(expected) + " bytes)");
    }
    if (ec || uint64_t(offset) > size || size - uint64_t(offset) < expected) {
        fail(what, "external data file '" + location + "' is too short (" + std::to_string(size) + " bytes, needs "
                       + std::to_string(offset + int64_t(expected)) + "); copy it again");
    }
    std::ifstream in(file, std::ios::binary);
    std::string bytes(expected, '\0');
    in.seekg(offset);
    if (!in.read(bytes.data(), std::streamsize(expected))) {
        fail(what, "cannot read its external data file '" + location + "'");
    }
    return bytes;
}

template <typename Field>
void checkCount(const Field& field, int64_t numel, const std::string& what)
{
    if (int64_t(field.size()) != numel) {
        fail(what, "has " + std::to_string(field.size()) + " values for a shape of " + std::to_string(numel)
                       + " elements; the file is damaged");
    }
}

// Values stored in the typed repeated fields instead of raw_data.
at::Tensor fromTypedFields(const onnx::TensorProto& proto, const TypeInfo& type, const std::vector<int64_t>& shape,
                           int64_t numel, const std::string& what)
{
    switch (proto.data_type()) {
    case onnx::TensorProto::FLOAT:
        checkCount(proto.float_data(), numel, what);
        return at::tensor(std::vector<float>(proto.float_data().begin(), proto.float_data().end())).reshape(shape);
    case onnx::TensorProto::DOUBLE:
        checkCount(proto.double_data(), numel, what);
        return at::tensor(std::vector<double>(proto.double_data().begin(), proto.double_data().end()), at::kDouble)
            .reshape(shape);
    case onnx::TensorProto::INT64:
        checkCount(proto.int64_data(), numel, what);
        return at::tensor(std::vector<int64_t>(proto.int64_data().begin(), proto.int64_data().end()), at::kLong)
            .reshape(shape);
    case onnx::TensorProto::FLOAT16: {
        checkCount(proto.int32_data(), numel, what);
        std::vector<int16_t> bits;
        bits.reserve(size_t(numel));
        for (auto v : proto.int32_data()) bits.push_back(int16_t(uint16_t(v)));
        return at::tensor(bits, at::kShort).view(at::kHalf).reshape(shape);
    }
    default:
        // INT32, INT16, INT8, UINT8, BOOL: int32_data, converted to the declared type.
        checkCount(proto.int32_data(), numel, what);
        return at::tensor(std::vector<int32_t>(proto.int32_data().begin(), proto.int32_data().end()), at::kInt)
            .to(type.scalar)
            .reshape(shape);
    }
}

} // namespace

std::string onnxTypeName(int dataType)
{
    if (onnx::TensorProto::DataType_IsValid(dataType)) {
        return onnx::TensorProto::DataType_Name(onnx::TensorProto::DataType(dataType));
    }
    return "type " + std::to_string(dataType);
}

at::Tensor tensorFromProto(const onnx::TensorProto& proto, const std::string& modelDir, const std::string& what)
{
    const auto type = typeInfo(proto.data_type(), what);
    std::vector<int64_t> shape;
    int64_t numel = 1;
    for (auto d : proto.dims()) {
        if (d < 0) {
            fail(what, "has a negative dimension (" + std::to_string(d) + ")");
        }
        if (d > 0 && numel > kMaxElements / d) {
            fail(what, "is too large (more than " + std::to_string(kMaxElements) + " elements)");
        }
        numel *= d;
        shape.push_back(d);
    }
    const size_t bytes = size_t(numel) * type.bytes;
    at::Tensor tensor;
    if (proto.data_location() == onnx::TensorProto::EXTERNAL) {
        const auto raw = readExternal(proto, modelDir, bytes, what);
        tensor = at::empty(shape, at::TensorOptions().dtype(type.scalar));
        std::memcpy(tensor.data_ptr(), raw.data(), bytes);
    } else if (proto.has_raw_data()) {
        if (proto.raw_data().size() != bytes) {
            fail(what, "has " + std::to_string(proto.raw_data().size()) + " bytes of data for " + std::to_string(numel)
                           + " elements (" + std::to_string(bytes) + " bytes); the file is damaged");
        }
        tensor = at::empty(shape, at::TensorOptions().dtype(type.scalar));
        if (bytes > 0) {
            std::memcpy(tensor.data_ptr(), proto.raw_data().data(), bytes);
        }
    } else {
        tensor = fromTypedFields(proto, type, shape, numel, what);
    }
    return tensor.scalar_type() == at::kHalf ? tensor.to(at::kFloat) : tensor;
}

} // namespace qat::model
