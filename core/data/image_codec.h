// SPDX-License-Identifier: MIT
#pragma once
// PNG (libpng) and JPEG (libjpeg-turbo) files to 8-bit pixels. Plain data; any thread.

#include <cstdint>
#include <string>
#include <vector>

namespace qat::data {

/// Pixels row-major, channels interleaved (HWC); channels 1 (grey) or 3 (RGB).
struct Image {
    int64_t width = 0;
    int64_t height = 0;
    int64_t channels = 0;
    std::vector<uint8_t> pixels;
};

struct ImageHeader {
    int64_t width = 0;
    int64_t height = 0;
    int64_t channels = 0; ///< after decoding: 1 or 3 (alpha is dropped)
};

/// True when the file name ends in .png, .jpg or .jpeg (any case).
bool isImageFile(const std::string& path);

/// Reads only the header. Throws qat::DataError naming the file when it is not a PNG or
/// JPEG we can decode.
ImageHeader readImageHeader(const std::string& path);

/// Decodes the whole file: 16-bit PNG is reduced to 8 bits, palettes expanded, alpha
/// dropped; CMYK JPEG is refused. Corrupt data is an error, never a grey patch.
Image decodeImage(const std::string& path);

/// Writes an 8-bit baseline JPEG (used by the benchmark to make an image folder).
void writeJpeg(const std::string& path, const Image& image, int quality);

} // namespace qat::data
