# Runs a libFuzzer binary for SECONDS on a fresh copy of the SEEDS corpus
# (the committed corpus is never modified), in WORK.
# cmake -DFUZZER=bin -DSEEDS=dir -DWORK=dir -DSECONDS=60 -P fuzz_smoke.cmake
foreach(_v FUZZER SEEDS WORK SECONDS)
  if(NOT DEFINED ${_v})
    message(FATAL_ERROR "fuzz_smoke.cmake: ${_v} is not set")
  endif()
endforeach()

file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK}/corpus ${WORK}/artifacts)
file(GLOB _seeds ${SEEDS}/*)
if(NOT _seeds)
  message(FATAL_ERROR "fuzz_smoke.cmake: no seeds in ${SEEDS}")
endif()
file(COPY ${_seeds} DESTINATION ${WORK}/corpus)

execute_process(
  COMMAND ${FUZZER} -max_total_time=${SECONDS} -print_final_stats=1
    -timeout=10 -rss_limit_mb=2048 -artifact_prefix=${WORK}/artifacts/
    ${WORK}/corpus
  RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  file(GLOB _crashes ${WORK}/artifacts/*)
  message(FATAL_ERROR "fuzzer failed (${_rc}); reproducers: ${_crashes}")
endif()
