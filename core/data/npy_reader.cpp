// SPDX-License-Identifier: MIT
// NumPy .npy and .npz. The npz container is a zip archive; its entries are read through
// the central directory (sizes in local headers may be zero when NumPy streams them).
#include "data/raw_array.h"

#include "common/error.h"
#include "common/zip_directory.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>

namespace qat::data {

namespace {

[[noreturn]] void fail(const std::string& name, const std::string& what)
{
    throw DataError(name + ": " + what);
}

std::vector<uint8_t> readFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(path, "cannot be opened (no such file, or no permission)");
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// The value of 'key' in NumPy's header dict, as written (quotes and brackets kept).
std::string headerValue(const std::string& header, const std::string& key, const std::string& name)
{
    const auto k = header.find("'" + key + "'");
    if (k == std::string::npos) fail(name, "the .npy header has no '" + key + "'");
    auto pos = header.find(':', k);
    if (pos == std::string::npos) fail(name, "damaged .npy header");
    ++pos;
    while (pos < header.size() && header[pos] == ' ') ++pos;
    if (pos < header.size() && header[pos] == '(') {
        return header.substr(pos, header.find(')', pos) - pos + 1);
    }
    const auto end = header.find_first_of(",}", pos);
    return header.substr(pos, end - pos);
}

ElementType parseDescr(const std::string& quoted, bool& swap, const std::string& name)
{
    const auto d = quoted.size() >= 2 ? quoted.substr(1, quoted.size() - 2) : quoted;
    if (d.size() < 3) fail(name, "unknown element type " + quoted);
    const char order = d[0];
    const auto kind = d.substr(1);
    swap = order == '>';
    static const std::map<std::string, ElementType> kTypes = {
        {"u1", ElementType::U8},  {"i1", ElementType::I8},  {"u2", ElementType::U16}, {"i2", ElementType::I16},
        {"i4", ElementType::I32}, {"i8", ElementType::I64}, {"f4", ElementType::F32}, {"f8", ElementType::F64},
        {"b1", ElementType::Bool}};
    auto found = kTypes.find(kind);
    if (found == kTypes.end()) {
        fail(name, "element type " + quoted + " is not supported (use uint8, int8-64, float32/64 or bool arrays)");
    }
    return found->second;
}

std::vector<int64_t> parseShape(const std::string& text, const std::string& name)
{
    std::vector<int64_t> shape;
    std::string digits;
    for (char c : text) {
        if (c >= '0' && c <= '9') {
            digits += c;
            if (digits.size() > 18) fail(name, "damaged .npy header (a dimension of " + digits + "... in shape)");
        } else if (!digits.empty()) {
            shape.push_back(std::stoll(digits));
            digits.clear();
        }
    }
    if (text.empty() || text[0] != '(') fail(name, "damaged .npy header (shape " + text + ")");
    return shape;
}

// Reverses the axes of a Fortran-ordered array so the bytes read as C order.
void fortranToC(RawArray& a)
{
    const auto rank = a.shape.size();
    if (rank < 2) return;
    const size_t es = elementSize(a.type);
    std::vector<uint8_t> out(a.bytes.size());
    const int64_t n = a.elements();
    std::vector<int64_t> idx(rank, 0);
    for (int64_t f = 0; f < n; ++f) {
        // idx holds the coordinates of Fortran element f (first axis fastest)
        int64_t c = 0;
        for (size_t d = 0; d < rank; ++d) c = c * a.shape[d] + idx[d];
        std::memcpy(&out[size_t(c) * es], &a.bytes[size_t(f) * es], es);
        for (size_t d = 0; d < rank; ++d) {
            if (++idx[d] < a.shape[d]) break;
            idx[d] = 0;
        }
    }
    a.bytes.swap(out);
}

uint16_t le16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }
uint32_t le32(const uint8_t* p) { return uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24); }

std::vector<uint8_t> inflateRaw(const uint8_t* data, size_t size, size_t expected, const std::string& name)
{
    std::vector<uint8_t> out(expected);
    z_stream z{};
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK) fail(name, "zlib could not start");
    z.next_in = const_cast<Bytef*>(data);
    z.avail_in = uInt(size);
    z.next_out = out.data();
    z.avail_out = uInt(out.size());
    const int rc = inflate(&z, Z_FINISH);
    inflateEnd(&z);
    if (rc != Z_STREAM_END || z.total_out != expected) fail(name, "damaged compressed entry");
    return out;
}

} // namespace

std::string toString(ElementType t)
{
    switch (t) {
    case ElementType::U8: return "uint8";
    case ElementType::I8: return "int8";
    case ElementType::U16: return "uint16";
    case ElementType::I16: return "int16";
    case ElementType::I32: return "int32";
    case ElementType::I64: return "int64";
    case ElementType::F32: return "float32";
    case ElementType::F64: return "float64";
    case ElementType::Bool: return "bool";
    }
    return "?";
}

size_t elementSize(ElementType t)
{
    switch (t) {
    case ElementType::U8: case ElementType::I8: case ElementType::Bool: return 1;
    case ElementType::U16: case ElementType::I16: return 2;
    case ElementType::I32: case ElementType::F32: return 4;
    case ElementType::I64: case ElementType::F64: return 8;
    }
    return 1;
}

bool isInteger(ElementType t)
{
    return t != ElementType::F32 && t != ElementType::F64;
}

int64_t RawArray::elements() const
{
    int64_t n = 1;
    for (auto d : shape) {
        if (d < 0 || __builtin_mul_overflow(n, d, &n)) {
            return std::numeric_limits<int64_t>::max(); // a header's promise no file can keep
        }
    }
    return n;
}

double RawArray::at(int64_t i) const
{
    const uint8_t* p = bytes.data() + size_t(i) * elementSize(type);
    switch (type) {
    case ElementType::U8: case ElementType::Bool: return *p;
    case ElementType::I8: return *reinterpret_cast<const int8_t*>(p);
    case ElementType::U16: { uint16_t v; std::memcpy(&v, p, 2); return v; }
    case ElementType::I16: { int16_t v; std::memcpy(&v, p, 2); return v; }
    case ElementType::I32: { int32_t v; std::memcpy(&v, p, 4); return v; }
    case ElementType::I64: { int64_t v; std::memcpy(&v, p, 8); return double(v); }
    case ElementType::F32: { float v; std::memcpy(&v, p, 4); return v; }
    case ElementType::F64: { double v; std::memcpy(&v, p, 8); return v; }
    }
    return 0;
}

std::string shapeText(const std::vector<int64_t>& shape)
{
    std::string text = "[";
    for (size_t i = 0; i < shape.size(); ++i) text += (i ? ", " : "") + std::to_string(shape[i]);
    return text + "]";
}

namespace {

// The data size a header promises, refused when it does not fit in memory's address range
// (a header of a damaged file can promise anything; the product must not wrap around).
size_t promisedBytes(const RawArray& a, const std::string& name)
{
    const int64_t n = a.elements();
    size_t bytes = 0;
    if (n == std::numeric_limits<int64_t>::max() || __builtin_mul_overflow(size_t(n), elementSize(a.type), &bytes)) {
        fail(name, "the header's shape " + shapeText(a.shape) + " is impossibly large; the file is damaged");
    }
    return bytes;
}

} // namespace

RawArray parseNpy(const std::vector<uint8_t>& b, const std::string& name)
{
    static const uint8_t kMagic[] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
    if (b.size() < 10 || std::memcmp(b.data(), kMagic, 6) != 0) fail(name, "not a NumPy .npy file (no \\x93NUMPY magic)");
    const int major = b[6];
    size_t headerLen = 0;
    size_t start = 0;
    if (major == 1) {
        headerLen = le16(&b[8]);
        start = 10;
    } else if (major == 2 || major == 3) {
        if (b.size() < 12) fail(name, "truncated .npy header");
        headerLen = le32(&b[8]);
        start = 12;
    } else {
        fail(name, ".npy format version " + std::to_string(major) + " is not supported");
    }
    if (start + headerLen > b.size()) fail(name, "truncated .npy header");
    const std::string header(b.begin() + long(start), b.begin() + long(start + headerLen));
    const auto descr = headerValue(header, "descr", name);
    if (descr.find('O') != std::string::npos) {
        fail(name, "holds Python objects (dtype=object); save a numeric array instead");
    }
    bool swap = false;
    RawArray a;
    a.type = parseDescr(descr, swap, name);
    const bool fortran = headerValue(header, "fortran_order", name).find("True") != std::string::npos;
    a.shape = parseShape(headerValue(header, "shape", name), name);
    const size_t bytes = promisedBytes(a, name);
    const size_t body = start + headerLen;
    if (b.size() - body < bytes) {
        fail(name, "truncated: shape " + shapeText(a.shape) + " of " + toString(a.type) + " needs " + std::to_string(bytes)
                       + " bytes, the file has " + std::to_string(b.size() - body));
    }
    a.bytes.assign(b.begin() + long(body), b.begin() + long(body + bytes));
    const size_t es = elementSize(a.type);
    if (swap && es > 1) {
        for (size_t i = 0; i < a.bytes.size(); i += es) std::reverse(&a.bytes[i], &a.bytes[i] + es);
    }
    if (fortran) {
        fortranToC(a);
    }
    return a;
}

RawArray readNpy(const std::string& path)
{
    return parseNpy(readFile(path), path);
}

std::map<std::string, RawArray> readNpz(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(path, "cannot be opened (no such file, or no permission)");
    const auto directory = readZipDirectory(in);
    if (!directory) fail(path, "no intact zip directory (not a NumPy .npz archive, or a damaged zip directory)");
    const auto zip = readFile(path);
    std::map<std::string, RawArray> arrays;
    for (const auto& entry : *directory) {
        auto name = entry.name;
        if (entry.compressed == 0xffffffff || entry.size == 0xffffffff) {
            fail(path, name + " is larger than 4 GB (zip64), not supported");
        }
        const size_t local = entry.localOffset;
        if (local + 30 > zip.size() || le32(&zip[local]) != 0x04034b50) fail(path, "damaged zip entry " + name);
        const size_t dataStart = local + 30 + le16(&zip[local + 26]) + le16(&zip[local + 28]);
        if (dataStart + entry.compressed > zip.size()) fail(path, "truncated zip entry " + name);
        std::vector<uint8_t> bytes;
        if (entry.method == 0) {
            bytes.assign(zip.begin() + long(dataStart), zip.begin() + long(dataStart + entry.compressed));
        } else if (entry.method == 8) {
            // Deflate cannot shrink data more than ~1032:1; a directory promising more is
            // damaged (or a zip bomb), and must not make us allocate what it promises.
            if (entry.size / 1032 > entry.compressed + 1) fail(path, "damaged zip entry " + name + " (impossible size)");
            bytes = inflateRaw(&zip[dataStart], entry.compressed, entry.size, path + ":" + name);
        } else {
            fail(path, name + " uses zip compression method " + std::to_string(entry.method) + " (only stored and deflated)");
        }
        if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) name.resize(name.size() - 4);
        arrays[name] = parseNpy(bytes, path + ":" + name);
    }
    if (arrays.empty()) fail(path, "the archive holds no arrays");
    return arrays;
}

RawArray readIdxArray(const std::string& path)
{
    gzFile file = gzopen(path.c_str(), "rb");
    if (file == nullptr) fail(path, "cannot be opened (no such file, or no permission)");
    std::vector<uint8_t> b;
    uint8_t chunk[1 << 16];
    int got = 0;
    while ((got = gzread(file, chunk, sizeof chunk)) > 0) b.insert(b.end(), chunk, chunk + got);
    gzclose(file);
    if (got < 0) fail(path, "damaged compressed data");
    if (b.size() < 4 || b[0] != 0 || b[1] != 0) fail(path, "not an IDX file (bad magic number)");
    static const std::map<int, ElementType> kTypes = {{0x08, ElementType::U8},  {0x09, ElementType::I8},
                                                      {0x0B, ElementType::I16}, {0x0C, ElementType::I32},
                                                      {0x0D, ElementType::F32}, {0x0E, ElementType::F64}};
    auto type = kTypes.find(b[2]);
    if (type == kTypes.end()) fail(path, "IDX element type " + std::to_string(b[2]) + " is unknown");
    const int rank = b[3];
    if (rank < 1 || b.size() < size_t(4 + 4 * rank)) fail(path, "truncated IDX header");
    RawArray a;
    a.type = type->second;
    for (int i = 0; i < rank; ++i) {
        const uint8_t* p = &b[size_t(4 + 4 * i)];
        a.shape.push_back(int64_t((uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3]));
    }
    const size_t es = elementSize(a.type);
    const size_t bytes = promisedBytes(a, path);
    const size_t body = size_t(4 + 4 * rank);
    if (b.size() - body != bytes) {
        fail(path, "the header promises " + std::to_string(bytes) + " bytes of data (shape " + shapeText(a.shape)
                       + "), the file has " + std::to_string(b.size() - body));
    }
    a.bytes.assign(b.begin() + long(body), b.end());
    if (es > 1) { // IDX is big-endian
        for (size_t i = 0; i < a.bytes.size(); i += es) std::reverse(&a.bytes[i], &a.bytes[i] + es);
    }
    return a;
}

} // namespace qat::data
