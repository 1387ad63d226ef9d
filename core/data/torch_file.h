// SPDX-License-Identifier: MIT
#pragma once

#include "data/raw_array.h"

#include <map>
#include <string>

namespace qat::data {

/// The tensors of a torch.save file by name: a dict's keys (nested dicts joined with '_'),
/// a tuple or list as "images", "labels", a lone tensor as "images".
std::map<std::string, RawArray> readTorchSave(const std::string& path);

} // namespace qat::data
