// SPDX-License-Identifier: MIT
#pragma once

#include <string>

namespace qat {

/// The text up to the first newline (LibTorch errors append a C++ backtrace).
inline std::string firstLine(const std::string& text)
{
    const auto end = text.find('\n');
    return end == std::string::npos ? text : text.substr(0, end);
}

} // namespace qat
