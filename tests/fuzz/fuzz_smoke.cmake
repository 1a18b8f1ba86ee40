# Runs a libFuzzer binary for SECONDS in WORK, on a fresh copy of the SEEDS
# corpus (the committed corpus is never modified) and, when CORPUS is given,
# on that directory too: a corpus kept across runs. After a run without
# findings, CORPUS takes in (libFuzzer's -merge=1) every input of the run
# that adds coverage to it, seeds included, so each run starts from what
# the earlier ones learned.
# cmake -DFUZZER=bin -DSEEDS=dir -DWORK=dir -DSECONDS=60 [-DCORPUS=dir]
#   -P fuzz_smoke.cmake
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

# New inputs go to the first directory (the copy); CORPUS is only read here.
set(_dirs ${WORK}/corpus)
if(CORPUS)
  file(MAKE_DIRECTORY ${CORPUS})
  file(GLOB _kept ${CORPUS}/*)
  list(LENGTH _kept _kept_before)
  list(APPEND _dirs ${CORPUS})
endif()

set(_opts -timeout=10 -rss_limit_mb=2048 -artifact_prefix=${WORK}/artifacts/)
execute_process(
  COMMAND ${FUZZER} -max_total_time=${SECONDS} -print_final_stats=1 ${_opts}
    ${_dirs}
  RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  file(GLOB _crashes ${WORK}/artifacts/*)
  message(FATAL_ERROR "fuzzer failed (${_rc}); reproducers: ${_crashes}")
endif()

if(CORPUS)
  execute_process(
    COMMAND ${FUZZER} -merge=1 ${_opts} ${CORPUS} ${WORK}/corpus
    RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "merging into ${CORPUS} failed (${_rc})")
  endif()
  file(GLOB _kept ${CORPUS}/*)
  list(LENGTH _kept _kept_after)
  message(STATUS "kept corpus ${CORPUS}: ${_kept_after} inputs "
    "(${_kept_before} before this run)")
endif()
