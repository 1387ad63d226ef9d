// SPDX-License-Identifier: MIT
#pragma once

#include <stdexcept>
#include <string>

namespace qat {

/// Base of every error the core throws on purpose. what() is a message a user can act on:
/// it names the file or item and says what is wrong and, where possible, what to do.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A model file that cannot be opened, is not TorchScript, or has no usable forward.
class ModelError : public Error {
public:
    using Error::Error;
};

/// A data set file or folder that is missing, truncated or inconsistent.
class DataError : public Error {
public:
    using Error::Error;
};

} // namespace qat
