// SPDX-License-Identifier: MIT
#pragma once
// Choices taken from a fuzz input, front to back, one byte each. Past the end every choice
// is 0, so a short input still makes a complete (small) model, and 0 is always the plain,
// valid option: a mutation the fuzzer makes to one byte changes one decision.

#include <cstddef>
#include <cstdint>

namespace qat::fuzz {

class ByteReader {
public:
    ByteReader(const uint8_t* data, size_t size) : m_data(data), m_size(size) {}

    /// 0 .. n-1 (n >= 1).
    int pick(int n)
    {
        if (m_pos >= m_size || n <= 1) {
            ++m_pos;
            return 0;
        }
        return int(m_data[m_pos++] % unsigned(n));
    }
    /// One of the given values; the first is the default.
    template <typename T, size_t N>
    T oneOf(const T (&values)[N])
    {
        return values[pick(int(N))];
    }
    bool flag() { return pick(2) == 1; }
    /// True rarely: for choices that make a model invalid on purpose.
    bool rarely() { return pick(16) == 15; }
    bool exhausted() const { return m_pos >= m_size; }

private:
    const uint8_t* m_data;
    size_t m_size;
    size_t m_pos = 0;
};

} // namespace qat::fuzz
