#!/usr/bin/env bash
# Sets everything up and runs every test suite: a release build, an
# AddressSanitizer + UBSan build, a ThreadSanitizer build and a clang
# fuzz build (libFuzzer targets, ASan+UBSan, a short fuzzing run per
# target), each built and tested with ctest.
#
# Usage: scripts/test.sh [release] [asan] [tsan] [fuzz]
#   Default: all four. With release come the
#   python stage (pytest of the bindings) and the kafka stage (integration
#   suites against a real broker started here); see them below.
# Environment: FSTORE_TEST_JOBS  parallel ctest jobs (default 2)
#
# Exits non-zero when any build or test fails. The last line of output is the
# total, "N passed, N failed" (", N skipped" when ctest reported tests it did
# not run, e.g. Criterion suites in the TSan build, each named above it).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JOBS="${FSTORE_TEST_JOBS:-2}"
STAGES=("$@")
[ ${#STAGES[@]} -eq 0 ] && STAGES=(release asan tsan fuzz)

PASSED=0
FAILED=0
SKIPPED=0
REPORT=()

say() { printf '\n=== %s\n' "$*"; }

# Adds one ctest JUnit file to the totals. A test counts as passed only when
# ctest ran it and it passed; disabled tests are reported by name as skipped;
# anything else (failed, not run, missing executable) counts as failed.
count_junit() {
    local stage="$1" junit="$2" ctest_rc="$3"
    local pass=0 fail=0 skip=0 name status line
    while IFS= read -r line; do
        name="$(sed -n 's/.*<testcase name="\([^"]*\)".*/\1/p' <<<"$line")"
        status="$(sed -n 's/.* status="\([^"]*\)".*/\1/p' <<<"$line")"
        case "$status" in
        run) pass=$((pass + 1)) ;;
        disabled)
            skip=$((skip + 1))
            REPORT+=("$stage: not run (disabled in this build): $name") ;;
        *)
            fail=$((fail + 1))
            REPORT+=("$stage: FAILED ($status): $name") ;;
        esac
    done < <(grep -o '<testcase [^>]*>' "$junit" 2>/dev/null)
    if [ "$ctest_rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
        # ctest failed without naming a test (e.g. no tests found).
        fail=1
        REPORT+=("$stage: ctest exited with $ctest_rc")
    fi
    PASSED=$((PASSED + pass))
    FAILED=$((FAILED + fail))
    SKIPPED=$((SKIPPED + skip))
    REPORT+=("$stage: $pass passed, $fail failed, $skip skipped")
}

# run_stage KIND [NAME=VALUE...]: builds KIND, then runs its ctest suites
# with the given environment.
run_stage() {
    local kind="$1"; shift
    local build="$ROOT/build/$kind" junit rc no_tests=error
    say "[$kind] build"
    if ! "$ROOT/scripts/build.sh" "$kind"; then
        FAILED=$((FAILED + 1))
        REPORT+=("$kind: BUILD FAILED (no tests run)")
        return
    fi
    # Under TSan the Criterion suites are disabled (see tests/CMakeLists.txt),
    # so the build may have no test that can run; each is still reported.
    [ "$kind" = tsan ] && no_tests=ignore
    junit="$build/ctest-junit.xml"
    rm -f "$junit"
    say "[$kind] ctest -j$JOBS${*:+ with $*}"
    (cd "$build" && env "$@" ctest --output-on-failure --no-tests="$no_tests" \
        -j"$JOBS" --timeout 900 --output-junit "$junit")
    rc=$?
    count_junit "$kind" "$junit" "$rc"
}

# Sanitizer options: stop at the first report, find leaks, print stacks.
# Options already in the environment come last and win.
ASAN_OPTS="halt_on_error=1:abort_on_error=1:detect_leaks=1"
ASAN_OPTS+=":detect_stack_use_after_return=1:strict_string_checks=1"
ASAN_OPTS+=":check_initialization_order=1:strict_init_order=1"
# A leak stack that ends inside avro-c or librdkafka (built without frame
# pointers) gets its callers with ASAN_OPTIONS=fast_unwind_on_malloc=0 in the
# environment; it is not the default because it makes malloc-heavy tests
# many times slower.
ASAN_OPTS+="${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
UBSAN_OPTS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
TSAN_OPTS="halt_on_error=1:second_deadlock_stack=1${TSAN_OPTIONS:+:$TSAN_OPTIONS}"

say "setup"
if ! "$ROOT/scripts/setup.sh"; then
    echo "setup failed: nothing was built or tested" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

for stage in "${STAGES[@]}"; do
    case "$stage" in
    release)
        run_stage release ;;
    asan|fuzz)
        run_stage "$stage" "ASAN_OPTIONS=$ASAN_OPTS" "UBSAN_OPTIONS=$UBSAN_OPTS" ;;
    tsan)
        run_stage tsan "TSAN_OPTIONS=$TSAN_OPTS" ;;
    *)
        echo "test: unknown stage '$stage' (release, asan, tsan or fuzz)" >&2
        FAILED=$((FAILED + 1))
        REPORT+=("$stage: unknown stage") ;;
    esac
done

# --- Python tests and real-broker integration tests ---------------------------
# Both need the release build and run after the build stages, adding their
# results to PASSED/FAILED/SKIPPED the same way.
# -----------------------------------------------------------------------------

# Python bindings (bindings/python, tests/python). python_venv prepares, once
# per run, the venv build/venv with the test dependencies from PyPI and the
# bindings built against build/release (FSTORE_BUILD_DIR: the extension
# links its static libfstore.a, so nothing depends on libfstore.so).
PY_VENV="$ROOT/build/venv"
PY_VENV_STATE=""  # "", ok or failed
python_venv() {
    [ -n "$PY_VENV_STATE" ] && { [ "$PY_VENV_STATE" = ok ]; return; }
    PY_VENV_STATE=failed
    local py="${FSTORE_PYTHON:-python3}"
    [ -f "$ROOT/build/release/libfstore/libfstore.a" ] || {
        echo "python: build/release has no libfstore.a" >&2; return 1; }
    [ -x "$PY_VENV/bin/python" ] || "$py" -m venv "$PY_VENV" || return 1
    "$PY_VENV/bin/python" -m pip install -q --disable-pip-version-check \
        "setuptools>=61" wheel "cffi>=1.15" numpy pyarrow pandas fastavro \
        confluent-kafka pytest || return 1
    FSTORE_BUILD_DIR="$ROOT/build/release" "$PY_VENV/bin/python" -m pip install -q \
        --disable-pip-version-check --no-build-isolation --force-reinstall \
        --no-deps "$ROOT/bindings/python" || return 1
    PY_VENV_STATE=ok
}

# run_python_stage NAME [PYTEST ARGS...]: runs tests/python with pytest in
# the venv and adds its JUnit results to the totals. Exit 5 (no test ran)
# counts as a failure. The python stage (below) runs every test not marked
# kafka; the kafka stage runs `run_python_stage python-kafka -m kafka` with
# FSTORE_TEST_BROKERS set (without it those tests fail, never skip).
run_python_stage() {
    local stage="$1"; shift
    local junit="$ROOT/build/$stage-junit.xml" rc counts
    say "[$stage] venv and bindings"
    if ! python_venv; then
        FAILED=$((FAILED + 1))
        REPORT+=("$stage: INSTALL FAILED (venv or bindings; no tests run)")
        return
    fi
    rm -f "$junit"
    say "[$stage] pytest tests/python $*"
    (cd "$ROOT/tests/python" && timeout 1800 "$PY_VENV/bin/python" -m pytest \
        -c pytest.ini -p no:cacheprovider --junitxml="$junit" "$@" .)
    rc=$?
    # "passed failed skipped" and one line per test that did not pass.
    counts="$("$PY_VENV/bin/python" - "$junit" "$stage" <<'EOF'
import sys, xml.etree.ElementTree as ET
path, stage = sys.argv[1:]
p = f = s = 0
try:
    cases = ET.parse(path).getroot().iter("testcase")
except (OSError, ET.ParseError):
    cases = []
for c in cases:
    name = "%s::%s" % (c.get("classname"), c.get("name"))
    kinds = [e.tag for e in c if e.tag in ("failure", "error", "skipped")]
    if "failure" in kinds or "error" in kinds:
        f += 1
        print("%s: FAILED: %s" % (stage, name))
    elif "skipped" in kinds:
        s += 1
        print("%s: skipped: %s" % (stage, name))
    else:
        p += 1
print(p, f, s)
EOF
)"
    local line pass fail skip
    while IFS= read -r line; do
        case "$line" in
        *:\ FAILED:* | *:\ skipped:*) REPORT+=("$line") ;;
        *) read -r pass fail skip <<<"$line" ;;
        esac
    done <<<"$counts"
    pass=${pass:-0} fail=${fail:-0} skip=${skip:-0}
    if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
        fail=1
        REPORT+=("$stage: pytest exited with $rc$([ "$rc" -eq 5 ] && echo ' (no tests ran)')")
    fi
    PASSED=$((PASSED + pass))
    FAILED=$((FAILED + fail))
    SKIPPED=$((SKIPPED + skip))
    REPORT+=("$stage: $pass passed, $fail failed, $skip skipped")
}

# The python stage runs after (and only with) the release stage.
case " ${STAGES[*]} " in
*" release "*) run_python_stage python -m "not kafka" ;;
esac

# The kafka stage runs after (and only with) the release stage: it starts a
# real single-node broker with tests/kafka/broker.sh (which resolves the
# broker jars with Maven on first use and caches them), runs the `kafka`
# ctest suites of build/release (tests/integration) and the pytest tests
# marked kafka against it, and stops the broker on exit whatever happens.
# Environment: FSTORE_TEST_KAFKA=0 leaves it out (counted as skipped);
# FSTORE_TEST_KAFKA_JOBS ctest jobs (default 1: the suites measure
# latencies and share a 2-core machine with the broker);
# FSTORE_TEST_KAFKA_TIMEOUT seconds for the whole ctest run (default 540);
# the FSTORE_IT_* size knobs of tests/integration/README.md pass through.
KAFKA_DIR=""
kafka_stop() {
    [ -n "$KAFKA_DIR" ] || return 0
    "$ROOT/tests/kafka/broker.sh" stop --dir "$KAFKA_DIR" >&2 || true
    rm -rf "$KAFKA_DIR"
    KAFKA_DIR=""
}
run_kafka_stage() {
    local build="$ROOT/build/release" junit rc brokers
    local jobs="${FSTORE_TEST_KAFKA_JOBS:-1}" limit="${FSTORE_TEST_KAFKA_TIMEOUT:-540}"
    if [ "${FSTORE_TEST_KAFKA:-1}" = 0 ]; then
        SKIPPED=$((SKIPPED + 1))
        REPORT+=("kafka: not run (FSTORE_TEST_KAFKA=0)")
        return
    fi
    case " ${REPORT[*]} " in
    *"release: BUILD FAILED"*)
        FAILED=$((FAILED + 1))
        REPORT+=("kafka: not run: the release build failed")
        return ;;
    esac
    say "[kafka] start a broker (tests/kafka/broker.sh)"
    KAFKA_DIR="$(mktemp -d "${TMPDIR:-/tmp}/fstore-test-kafka.XXXXXX")"
    trap kafka_stop EXIT
    trap 'kafka_stop; exit 130' INT
    trap 'kafka_stop; exit 143' TERM
    if ! brokers="$("$ROOT/tests/kafka/broker.sh" start --dir "$KAFKA_DIR")"; then
        FAILED=$((FAILED + 1))
        REPORT+=("kafka: BROKER DID NOT START (no tests run; see above)")
        kafka_stop
        return
    fi
    export FSTORE_TEST_BROKERS="$brokers" FSTORE_TEST_BROKER_DIR="$KAFKA_DIR"
    junit="$build/ctest-kafka-junit.xml"
    rm -f "$junit"
    say "[kafka] ctest -L kafka -j$jobs against $brokers"
    (cd "$build" && timeout "$limit" ctest -L kafka --output-on-failure \
        --no-tests=error -j"$jobs" --timeout 600 --output-junit "$junit")
    rc=$?
    [ "$rc" -eq 124 ] && REPORT+=("kafka: ctest stopped after ${limit}s")
    count_junit kafka "$junit" "$rc"
    if declare -F run_python_stage >/dev/null; then
        run_python_stage python-kafka -m kafka
    fi
    kafka_stop
    trap - INT TERM
    unset FSTORE_TEST_BROKERS FSTORE_TEST_BROKER_DIR
}
case " ${STAGES[*]} " in
*" release "*) run_kafka_stage ;;
esac

# The bench stage: a quick run of the benchmark harness (bench/run.sh
# --quick) on the release build, checked only for producing every figure —
# never for speed (that is bench/'s job, on a quiet machine).
run_bench_stage() {
    case " ${REPORT[*]} " in
    *"release: BUILD FAILED"*)
        FAILED=$((FAILED + 1))
        REPORT+=("bench: not run: the release build failed")
        return ;;
    esac
    say "[bench] bench/run.sh --quick --no-build --check"
    if timeout 900 "$ROOT/bench/run.sh" --quick --no-build --check; then
        PASSED=$((PASSED + 1))
        REPORT+=("bench: 1 passed, 0 failed, 0 skipped (every figure produced)")
    else
        FAILED=$((FAILED + 1))
        REPORT+=("bench: FAILED: bench/run.sh --quick --check")
    fi
}
case " ${STAGES[*]} " in
*" release "*) run_bench_stage ;;
esac

say "summary"
printf '%s\n' "${REPORT[@]}"
if [ "$SKIPPED" -gt 0 ]; then
    echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
else
    echo "$PASSED passed, $FAILED failed"
fi
[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
