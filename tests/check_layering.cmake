# SPDX-License-Identifier: MIT
# Fails when core/ includes a Qt header or ui/ (or the GUI main) includes a torch header.
# Qt's slots/signals macros break LibTorch headers, so this is a compile-safety rule.
if(NOT SOURCE_DIR)
  message(FATAL_ERROR "pass -DSOURCE_DIR=<repository root>")
endif()

function(check_tree dir regex what)
  file(GLOB_RECURSE files "${SOURCE_DIR}/${dir}/*.h" "${SOURCE_DIR}/${dir}/*.cpp")
  foreach(file IN LISTS files)
    file(STRINGS "${file}" hits REGEX "${regex}")
    if(hits)
      list(GET hits 0 first)
      message(SEND_ERROR "${file}: ${what}: ${first}")
      set(failed TRUE PARENT_SCOPE)
    endif()
  endforeach()
endfunction()

set(failed FALSE)
check_tree(core "^[ \t]*#[ \t]*include[ \t]*[<\"](Q[A-Za-z]+|Qt[A-Za-z]*/)" "core/ must not include Qt")
check_tree(ui "^[ \t]*#[ \t]*include[ \t]*[<\"](torch|ATen|c10|caffe2)/" "ui/ must not include torch")
check_tree(app/gui "^[ \t]*#[ \t]*include[ \t]*[<\"](torch|ATen|c10|caffe2)/" "the GUI must not include torch")
if(failed)
  message(FATAL_ERROR "layering check failed")
endif()
message(STATUS "layering check passed: core/ has no Qt includes, ui/ has no torch includes")
