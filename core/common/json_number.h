// SPDX-License-Identifier: MIT
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <optional>

namespace qat {

/// The integer in value when it is a JSON integer that fits T, else nothing. nlohmann's
/// get<int>() takes 1e30 (undefined behaviour, a float cast out of range) and 4294967300
/// (silently 4) without a word; the fuzzers found both in the plan and spec readers.
template <typename T>
std::optional<T> exactInteger(const nlohmann::json& value)
{
    static_assert(std::numeric_limits<T>::is_integer && sizeof(T) <= sizeof(int64_t), "an integer type");
    if (value.is_number_unsigned()) {
        const auto v = value.get<uint64_t>();
        if (v > uint64_t(std::numeric_limits<T>::max())) {
            return std::nullopt;
        }
        return T(v);
    }
    if (value.is_number_integer()) {
        const auto v = value.get<int64_t>();
        if (v < int64_t(std::numeric_limits<T>::min()) || uint64_t(v) > uint64_t(std::numeric_limits<T>::max())) {
            return std::nullopt;
        }
        return T(v);
    }
    return std::nullopt;
}

} // namespace qat
