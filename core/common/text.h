// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

namespace qat {

/// The first non-empty line (LibTorch errors append a C++ backtrace; TorchScript compile
/// errors start with a newline).
inline std::string firstLine(const std::string& text)
{
    const auto start = std::min(text.find_first_not_of('\n'), text.size());
    const auto end = text.find('\n', start);
    return text.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

/// The error itself out of a TorchScript interpreter failure ("The following operation
/// failed in the TorchScript interpreter. Traceback ... RuntimeError: mat1 and mat2 shapes
/// cannot be multiplied (2x100 and 784x32)"); other texts as firstLine().
inline std::string interpreterError(const std::string& text)
{
    const std::string marker = "Error: ";
    if (text.rfind("The following operation failed in the TorchScript interpreter", 0) != 0) {
        return firstLine(text);
    }
    // The traceback's last line that names an error type is the error.
    size_t lineStart = text.size();
    while (lineStart > 0) {
        const auto start = text.rfind('\n', lineStart - 1);
        const auto from = start == std::string::npos ? 0 : start + 1;
        const auto line = text.substr(from, lineStart - from);
        if (const auto at = line.find(marker); at != std::string::npos && line.find(' ') > at) {
            return line.substr(at + marker.size());
        }
        if (start == std::string::npos) {
            break;
        }
        lineStart = start;
    }
    return firstLine(text);
}

/// The non-empty items of a comma-separated list ("a,b,,c" -> a, b, c).
inline std::vector<std::string> splitList(const std::string& list)
{
    std::vector<std::string> items;
    std::stringstream stream(list);
    for (std::string item; std::getline(stream, item, ',');) {
        if (!item.empty()) {
            items.push_back(item);
        }
    }
    return items;
}

} // namespace qat
