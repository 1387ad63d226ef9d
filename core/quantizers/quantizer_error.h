// SPDX-License-Identifier: MIT
#pragma once

#include "common/error.h"

namespace qat::quant {

/// An illegal quantizer configuration, an unknown or ambiguous registry key, or a plugin
/// that cannot be loaded. The message names the key or file and what is allowed.
class QuantizerError : public qat::Error {
public:
    using qat::Error::Error;
};

} // namespace qat::quant
