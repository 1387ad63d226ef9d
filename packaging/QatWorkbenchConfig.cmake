# SPDX-License-Identifier: MIT
# find_package(QatWorkbench) for quantizer plugins: gives QatWorkbench::qatcore with the
# SDK headers and the LibTorch / nlohmann_json headers they use.
include(CMakeFindDependencyMacro)
find_dependency(Torch)
find_dependency(nlohmann_json)
include("${CMAKE_CURRENT_LIST_DIR}/QatWorkbenchTargets.cmake")
if(NOT QatWorkbench_SDK_LINKED)
  set(QatWorkbench_SDK_LINKED TRUE)
  set_property(TARGET QatWorkbench::qatcore APPEND PROPERTY
    INTERFACE_LINK_LIBRARIES ${TORCH_LIBRARIES} nlohmann_json::nlohmann_json)
endif()
