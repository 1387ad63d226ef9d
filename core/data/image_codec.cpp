// SPDX-License-Identifier: MIT
#include "data/image_codec.h"

#include "common/error.h"

#include <png.h>
// jpeglib.h needs FILE and size_t declared first.
#include <cstdio>
#include <jpeglib.h>

#include <algorithm>
#include <cctype>
#include <csetjmp>
#include <memory>

namespace qat::data {

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what)
{
    throw DataError(path + ": " + what);
}

struct FileCloser {
    void operator()(FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<FILE, FileCloser>;

File openFile(const std::string& path, const char* mode)
{
    File f(std::fopen(path.c_str(), mode));
    if (!f) fail(path, "cannot be opened (no such file, or no permission)");
    return f;
}

std::string lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return s;
}

bool endsWith(const std::string& s, const std::string& end)
{
    return s.size() >= end.size() && s.compare(s.size() - end.size(), end.size(), end) == 0;
}

enum class Kind { Png, Jpeg };

Kind sniff(const std::string& path, FILE* f)
{
    unsigned char magic[8] = {};
    const auto got = std::fread(magic, 1, 8, f);
    std::rewind(f);
    if (got == 8 && png_sig_cmp(magic, 0, 8) == 0) return Kind::Png;
    if (got >= 3 && magic[0] == 0xFF && magic[1] == 0xD8 && magic[2] == 0xFF) return Kind::Jpeg;
    if (got == 0) fail(path, "unreadable image: the file is empty");
    fail(path, "unreadable image: neither PNG nor JPEG data");
}

// ---- PNG: the classic API, so 16-bit is reduced the plain way (no gamma handling).
struct PngError {
    std::string message;
};

void pngError(png_structp png, png_const_charp message)
{
    auto* error = static_cast<PngError*>(png_get_error_ptr(png));
    error->message = message;
    png_longjmp(png, 1);
}

void pngWarning(png_structp, png_const_charp) {}

Image readPng(const std::string& path, FILE* f, bool headerOnly)
{
    PngError error;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &error, pngError, pngWarning);
    png_infop info = png ? png_create_info_struct(png) : nullptr;
    if (!png || !info) fail(path, "out of memory");
    Image image;
    std::vector<png_bytep> rows;
    std::vector<uint8_t> raw;
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, nullptr);
        fail(path, "unreadable image: damaged PNG (" + error.message + ")");
    }
    png_init_io(png, f);
    png_read_info(png, info);
    const int colorType = png_get_color_type(png, info);
    png_set_strip_16(png);
    png_set_packing(png);
    if (colorType == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (colorType == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8) png_set_expand_gray_1_2_4_to_8(png);
    png_set_strip_alpha(png);
    png_read_update_info(png, info);
    image.width = png_get_image_width(png, info);
    image.height = png_get_image_height(png, info);
    image.channels = png_get_channels(png, info);
    if (image.channels != 1 && image.channels != 3) {
        png_destroy_read_struct(&png, &info, nullptr);
        fail(path, "unreadable image: PNG with " + std::to_string(image.channels) + " channels");
    }
    if (!headerOnly) {
        image.pixels.resize(size_t(image.width * image.height * image.channels));
        for (int64_t y = 0; y < image.height; ++y) rows.push_back(&image.pixels[size_t(y * image.width * image.channels)]);
        png_read_image(png, rows.data());
        png_read_end(png, nullptr);
    }
    png_destroy_read_struct(&png, &info, nullptr);
    return image;
}

// ---- JPEG: errors and "corrupt data" warnings both end the decode with the file's name.
struct JpegError {
    jpeg_error_mgr mgr;
    std::jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
};

void jpegError(j_common_ptr info)
{
    auto* error = reinterpret_cast<JpegError*>(info->err);
    (*info->err->format_message)(info, error->message);
    std::longjmp(error->jump, 1);
}

void jpegWarning(j_common_ptr info, int level)
{
    if (level < 0) jpegError(info); // a corrupt-data warning: refuse rather than decode garbage
}

Image readJpeg(const std::string& path, FILE* f, bool headerOnly)
{
    jpeg_decompress_struct info{};
    JpegError error{};
    info.err = jpeg_std_error(&error.mgr);
    error.mgr.error_exit = jpegError;
    error.mgr.emit_message = jpegWarning;
    Image image;
    if (setjmp(error.jump)) {
        jpeg_destroy_decompress(&info);
        fail(path, std::string("unreadable image: damaged JPEG (") + error.message + ")");
    }
    jpeg_create_decompress(&info);
    jpeg_stdio_src(&info, f);
    jpeg_read_header(&info, TRUE);
    if (info.jpeg_color_space == JCS_CMYK || info.jpeg_color_space == JCS_YCCK) {
        jpeg_destroy_decompress(&info);
        fail(path, "unreadable image: CMYK JPEG (convert it to RGB)");
    }
    info.out_color_space = info.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    image.width = info.image_width;
    image.height = info.image_height;
    image.channels = info.num_components == 1 ? 1 : 3;
    if (!headerOnly) {
        jpeg_start_decompress(&info);
        image.pixels.resize(size_t(image.width * image.height * image.channels));
        while (info.output_scanline < info.output_height) {
            JSAMPROW row = &image.pixels[size_t(int64_t(info.output_scanline) * image.width * image.channels)];
            jpeg_read_scanlines(&info, &row, 1);
        }
        jpeg_finish_decompress(&info);
    }
    jpeg_destroy_decompress(&info);
    return image;
}

Image read(const std::string& path, bool headerOnly)
{
    auto f = openFile(path, "rb");
    return sniff(path, f.get()) == Kind::Png ? readPng(path, f.get(), headerOnly) : readJpeg(path, f.get(), headerOnly);
}

} // namespace

bool isImageFile(const std::string& path)
{
    const auto l = lower(path);
    return endsWith(l, ".png") || endsWith(l, ".jpg") || endsWith(l, ".jpeg");
}

ImageHeader readImageHeader(const std::string& path)
{
    const auto image = read(path, true);
    return {image.width, image.height, image.channels};
}

Image decodeImage(const std::string& path)
{
    return read(path, false);
}

void writeJpeg(const std::string& path, const Image& image, int quality)
{
    auto f = openFile(path, "wb");
    jpeg_compress_struct info{};
    JpegError error{};
    info.err = jpeg_std_error(&error.mgr);
    error.mgr.error_exit = jpegError;
    if (setjmp(error.jump)) {
        jpeg_destroy_compress(&info);
        fail(path, std::string("cannot write JPEG (") + error.message + ")");
    }
    jpeg_create_compress(&info);
    jpeg_stdio_dest(&info, f.get());
    info.image_width = JDIMENSION(image.width);
    info.image_height = JDIMENSION(image.height);
    info.input_components = int(image.channels);
    info.in_color_space = image.channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&info);
    jpeg_set_quality(&info, quality, TRUE);
    jpeg_start_compress(&info, TRUE);
    while (info.next_scanline < info.image_height) {
        auto* row = const_cast<JSAMPROW>(&image.pixels[size_t(int64_t(info.next_scanline) * image.width * image.channels)]);
        jpeg_write_scanlines(&info, &row, 1);
    }
    jpeg_finish_compress(&info);
    jpeg_destroy_compress(&info);
}

} // namespace qat::data
