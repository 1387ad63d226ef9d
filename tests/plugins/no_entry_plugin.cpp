// SPDX-License-Identifier: MIT
// A shared library that is not a plugin (no entry point).
extern "C" __attribute__((visibility("default"))) int some_other_function()
{
    return 42;
}
