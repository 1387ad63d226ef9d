// SPDX-License-Identifier: MIT
// A plugin built for another plugin API version: the host must refuse it untouched.
#include "quantizers/plugin_api.h"

extern "C" __attribute__((visibility("default"))) int qatwb_plugin_register(int, qat::quant::QuantizerRegistry*,
                                                                            const char**)
{
    return 999;
}
