// SPDX-License-Identifier: MIT
#pragma once
// Part of the plugin SDK: the one entry point a quantizer plugin exports.
//
//   #include "quantizers/plugin_api.h"
//   static void registerMine(qat::quant::QuantizerRegistry& registry) { registry.add(...); }
//   QATWB_DEFINE_PLUGIN(registerMine)
//
// The host calls qatwb_plugin_register(hostApiVersion, &registry, &error). The macro's body
// refuses a different API version without touching the registry (returning the plugin's
// version), and turns exceptions into a message (returning -1). 0 means registered.

#include "quantizers/quantizer_registry.h"

#include <exception>
#include <string>

/// Bumped whenever the SDK's classes change in a way that breaks built plugins.
#define QATWB_PLUGIN_API_VERSION 2 // 2: TrainableQuantizer::state()/restore() (checkpoints)
#define QATWB_PLUGIN_ENTRY_NAME "qatwb_plugin_register"

extern "C" {
typedef int (*QatwbPluginEntry)(int hostApiVersion, qat::quant::QuantizerRegistry* registry, const char** error);
}

#define QATWB_DEFINE_PLUGIN(registerFunction)                                                                   \
    extern "C" __attribute__((visibility("default"))) int qatwb_plugin_register(                              \
        int hostApiVersion, qat::quant::QuantizerRegistry* registry, const char** error)                      \
    {                                                                                                           \
        static std::string message;                                                                             \
        if (hostApiVersion != QATWB_PLUGIN_API_VERSION) {                                                       \
            return QATWB_PLUGIN_API_VERSION;                                                                    \
        }                                                                                                       \
        try {                                                                                                   \
            registerFunction(*registry);                                                                        \
            return 0;                                                                                           \
        } catch (const std::exception& e) {                                                                     \
            message = e.what();                                                                                 \
            *error = message.c_str();                                                                           \
            return -1;                                                                                          \
        }                                                                                                       \
    }
