# dtsim check end to end: --update-baseline writes a baseline the same run
# passes (exit 0); a baseline whose first step time is far smaller makes the
# check fail with exit 4, a readable diff and a JUnit report naming the point.
foreach(var DTSIM SCENARIO WORK_DIR)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "${var} not set")
  endif()
endforeach()
file(MAKE_DIRECTORY "${WORK_DIR}")
set(baseline "${WORK_DIR}/baseline.json")
file(REMOVE "${baseline}")
function(check expected_status)
  execute_process(COMMAND "${DTSIM}" check "${SCENARIO}" --baseline "${baseline}" ${ARGN}
                  RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT status EQUAL expected_status)
    message(FATAL_ERROR "dtsim check ${ARGN}: exit ${status}, expected ${expected_status}\n${out}${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
endfunction()

check(0 --update-baseline)
check(0 --junit "${WORK_DIR}/pass.xml")
if(NOT out MATCHES "20 checked: 20 ok, 0 improved, 0 regressed, 0 new, 0 missing: PASSED")
  message(FATAL_ERROR "unexpected summary:\n${out}")
endif()

file(READ "${baseline}" text)
# CMake has no floating-point arithmetic: store a step time far below any real one.
string(JSON text SET "${text}" entries 0 step_time_s "1e-9")
file(WRITE "${baseline}" "${text}")
check(4 --junit "${WORK_DIR}/fail.xml")
if(NOT out MATCHES "REGRESSED  .*sweep-small.json: sweep-small \\[tp=1 pp=1\\]\n    step_time_s: 1e-09 -> [0-9.e-]+ \\(\\+[0-9.]+ %, tolerance 1.00 %\\) worse")
  message(FATAL_ERROR "unexpected diff:\n${out}")
endif()
file(READ "${WORK_DIR}/fail.xml" junit)
if(NOT junit MATCHES "<testsuites name=\"dtsim check\" tests=\"20\" failures=\"1\">.*<testcase classname=\"dtsim.check.sweep-small\" name=\"tp=1 pp=1\" time=\"0\">\n      <failure message=\"REGRESSED: step_time_s")
  message(FATAL_ERROR "unexpected JUnit report:\n${junit}")
endif()
