# Runs the dtsim binary with ARGS (a ;-list) and checks its exit status and
# that stdout followed by stderr matches EXPECT_OUTPUT (a CMake regex).
foreach(var DTSIM EXPECT_STATUS EXPECT_OUTPUT WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "${var} not set")
  endif()
endforeach()
file(MAKE_DIRECTORY "${WORK_DIR}")
set(args ${ARGS})
list(FILTER args EXCLUDE REGEX "^$")
execute_process(COMMAND "${DTSIM}" ${args}
                RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(all "${out}${err}")
if(NOT "${status}" STREQUAL "${EXPECT_STATUS}")
  message(FATAL_ERROR "dtsim ${args}: exit status ${status}, expected ${EXPECT_STATUS}\n--- output ---\n${all}")
endif()
if(NOT "${all}" MATCHES "${EXPECT_OUTPUT}")
  message(FATAL_ERROR "dtsim ${args}: output does not match\n  ${EXPECT_OUTPUT}\n--- output ---\n${all}")
endif()
