// SPDX-License-Identifier: MIT
#pragma once
// N-dimensional arrays read from NumPy (.npy, .npz) and IDX files, before any tensor exists.
// Plain data; the reader functions may be called from any thread.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace qat::data {

enum class ElementType { U8 = 1, I8, U16, I16, I32, I64, F32, F64, Bool };
std::string toString(ElementType type);
size_t elementSize(ElementType type);
bool isInteger(ElementType type);

/// Values in native byte order, C (row-major) layout.
struct RawArray {
    ElementType type = ElementType::U8;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
    int64_t elements() const;
    /// Element i as a double (any type).
    double at(int64_t i) const;
};

std::string shapeText(const std::vector<int64_t>& shape);

/// A NumPy .npy file (format 1.0 - 3.0; C or Fortran order; little or big endian).
/// Throws qat::DataError naming the file for anything it cannot read.
RawArray readNpy(const std::string& path);
RawArray parseNpy(const std::vector<uint8_t>& bytes, const std::string& name);

/// Every array of a NumPy .npz archive (a zip of .npy files, stored or deflated), by name
/// without the .npy extension.
std::map<std::string, RawArray> readNpz(const std::string& path);

/// An IDX file of any rank and element type (.gz or raw).
RawArray readIdxArray(const std::string& path);

} // namespace qat::data
