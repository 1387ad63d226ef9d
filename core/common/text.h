// SPDX-License-Identifier: MIT
#pragma once

#include <sstream>
#include <string>
#include <vector>

namespace qat {

/// The text up to the first newline (LibTorch errors append a C++ backtrace).
inline std::string firstLine(const std::string& text)
{
    const auto end = text.find('\n');
    return end == std::string::npos ? text : text.substr(0, end);
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
