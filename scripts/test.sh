#!/usr/bin/env bash
# Sets everything up and runs every test suite: a release build, an
# AddressSanitizer + UBSan build, a ThreadSanitizer build and a clang
# fuzz build (libFuzzer targets, ASan+UBSan, a short fuzzing run per
# target), each built and tested with ctest.
#
# Usage: scripts/test.sh [release] [asan] [tsan] [fuzz]
#   Default: all four. With release come the
#   python stage (pytest of the bindings), the kafka stage (integration
#   suites against a real broker started here) and the bench smoke; see
#   them below.
# Environment: FSTORE_TEST_JOBS  parallel ctest jobs (default 2)
#
# Exits non-zero when any build, test or the bench smoke fails, or when no
# test ran. The summary at the end gives, per stage, the tests that passed,
# failed and were skipped, names every failed and every skipped one, says
# when a time cap stopped a stage, and gives the bench smoke its own line
# (a measurement, not a test). Its last line is the total,
# "N passed, N failed, N skipped". A ctest test made of cases (cli.golden:
# tests/cli/run.sh) counts as its cases: it ends its output with
# "cases: N passed, N failed, N skipped" and names each skipped case.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
JOBS="${FSTORE_TEST_JOBS:-2}"
STAGES=("$@")
[ ${#STAGES[@]} -eq 0 ] && STAGES=(release asan tsan fuzz)

PASSED=0
FAILED=0
SKIPPED=0
STAGE_ORDER=()       # stages in the order they were counted
declare -A ST_PASS ST_FAIL ST_SKIP ST_NOTE
FAILS=()             # "stage: what failed", one per failure
SKIPS=()             # "stage: what was skipped, and why"
NOTES=()             # anything else the summary must say
BENCH=""             # the bench smoke's summary line

say() { printf '\n=== %s\n' "$*"; }

# count STAGE PASS FAIL SKIP [NOTE]: adds to the stage and to the totals.
count() {
    local stage="$1"
    [ -n "${ST_PASS[$stage]+x}" ] || {
        STAGE_ORDER+=("$stage")
        ST_PASS[$stage]=0 ST_FAIL[$stage]=0 ST_SKIP[$stage]=0
    }
    ST_PASS[$stage]=$((ST_PASS[$stage] + $2))
    ST_FAIL[$stage]=$((ST_FAIL[$stage] + $3))
    ST_SKIP[$stage]=$((ST_SKIP[$stage] + $4))
    [ -n "${5:-}" ] && ST_NOTE[$stage]="${ST_NOTE[$stage]:+${ST_NOTE[$stage]}; }$5"
    PASSED=$((PASSED + $2))
    FAILED=$((FAILED + $3))
    SKIPPED=$((SKIPPED + $4))
}

# fail_step STAGE WHAT: a step that is not a test (a build, an install, a
# broker) failed; it counts as one failure so that the run fails.
fail_step() {
    FAILS+=("$1: $2")
    count "$1" 0 1 0
}

# count_results STAGE RC JUNIT [LOG [NAMES]]: adds the results of one ctest
# or pytest run to the totals. JUnit (ctest's or pytest's) says what ran:
# a test counts as passed only when it ran and passed; disabled and skipped
# tests are counted and named as skipped; anything else (failed, not run,
# missing executable) counts as failed. A ctest test whose output ends with
# "cases: N passed, N failed, N skipped" counts as those cases, its skipped
# ones named from its "skip NAME: REASON" lines. Without JUnit (ctest was
# killed), LOG (ctest's output) says which tests finished, and each test of
# NAMES (one a line) without a result counts as failed. A non-zero RC
# without any failure counted is one failure.
count_results() {
    local stage="$1" rc="$2" junit="$3" log="${4:-}" names="${5:-}"
    local kind a b c out pass=0 fail=0 skip=0 note=""
    out="$(python3 - "$junit" "$log" "$names" <<'EOF'
import os, re, sys, xml.etree.ElementTree as ET
junit, log, names = sys.argv[1:4]
CASES = re.compile(r"^cases: (\d+) passed, (\d+) failed, (\d+) skipped$", re.M)
p = f = s = 0
def say(kind, text):
    print("%s\t%s" % (kind, " ".join(text.split())[:300]))
def ctest_case(name, status, output):
    global p, f, s
    m = CASES.findall(output) if status in ("run", "fail") else []
    if not m:
        if status == "run":
            p += 1
        elif status == "disabled":
            s += 1
            say("skip", "%s (disabled in this build)" % name)
        else:
            f += 1
            say("fail", "%s (%s)" % (name, {"fail": "failed", "notrun": "not run"}.get(status, status)))
        return
    cp, cf, cs = map(int, m[-1])
    say("note", "%s counted as its %d cases" % (name, cp + cf + cs))
    p += cp
    s += cs
    by_reason = {}
    for case, why in re.findall(r"^skip (\S+): (.*)$", output, re.M):
        by_reason.setdefault(why, []).append(case)
    for why, cases in by_reason.items():
        print("skip\t%s: %d case%s (%s): %s" % (name, len(cases), "s"[:len(cases) > 1], why, ", ".join(cases)))
    named = re.findall(r"^FAIL (\S+?):", output, re.M)
    for case in named:
        say("fail", "%s: case %s" % (name, case))
    if cf == 0 and status != "run":
        cf = 1
        say("fail", "%s (%s, though no case failed)" % (name, status))
    elif cf > len(named):
        say("fail", "%s: %d failed cases not named" % (name, cf - len(named)))
    f += cf
try:
    root = ET.parse(junit).getroot()
except (OSError, ET.ParseError):
    root = None
if root is not None:
    for c in root.iter("testcase"):
        status = c.get("status")
        if status is not None:  # ctest
            ctest_case(c.get("name"), status, c.findtext("system-out") or "")
            continue
        name = "%s::%s" % (c.get("classname"), c.get("name"))  # pytest
        bad = [e for e in c if e.tag in ("failure", "error")]
        skipped = [e for e in c if e.tag == "skipped"]
        if bad:
            f += 1
            say("fail", "%s (%s)" % (name, bad[0].get("message") or bad[0].tag))
        elif skipped:
            s += 1
            say("skip", "%s (%s)" % (name, skipped[0].get("message") or "skipped"))
        else:
            p += 1
elif log and os.path.exists(log):
    say("note", "no JUnit file: counted from ctest's output")
    seen = set()
    pat = re.compile(r"^\s*\d+/\d+ Test +#\d+: (\S+) \.*\s*(\*\*\*)?(.*?)\s+[0-9.]+ sec$")
    for line in open(log, errors="replace"):
        m = pat.match(line.rstrip("\n"))
        if not m:
            continue
        name, result = m.group(1), m.group(3)
        seen.add(name)
        status = {"Passed": "run", "Not Run (Disabled)": "disabled"}.get(result, result)
        ctest_case(name, status, "")
    if names and os.path.exists(names):
        for name in open(names).read().split():
            if name not in seen:
                f += 1
                say("fail", "%s (no result: ctest did not finish)" % name)
print("counts\t%d\t%d\t%d" % (p, f, s))
EOF
)"
    while IFS=$'\t' read -r kind a b c; do
        case "$kind" in
        fail) FAILS+=("$stage: $a") ;;
        skip) SKIPS+=("$stage: $a") ;;
        note) note="${note:+$note; }$a" ;;
        counts) pass=$a fail=$b skip=$c ;;
        esac
    done <<<"$out"
    if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
        # The run failed without naming a test (e.g. no tests found).
        fail=1
        case "$rc" in
        124) FAILS+=("$stage: stopped by its time cap") ;;
        5) FAILS+=("$stage: no tests ran (pytest exit 5)") ;;
        *) FAILS+=("$stage: exited with $rc") ;;
        esac
    fi
    count "$stage" "$pass" "$fail" "$skip" "$note"
}

# capped STAGE RC CAP: when RC says that `timeout` stopped the command
# (124), says so in the summary; the tests it kept from finishing count as
# failed (count_results).
capped() {
    [ "$2" -eq 124 ] || return 0
    NOTES+=("$1: STOPPED by its time cap of $3 s: the tests still to finish did not run")
}

# ctest_list DIR DEFAULT_TIMEOUT NAMES_FILE [CTEST ARGS...]: writes the names
# of the tests ctest would run to NAMES_FILE, one a line, and prints the sum
# of their timeouts (DEFAULT_TIMEOUT for a test without one); prints nothing
# when ctest cannot list them.
ctest_list() {
    local dir="$1" default="$2" names="$3"
    shift 3
    : >"$names"
    (cd "$dir" && ctest "$@" --show-only=json-v1) 2>/dev/null |
        python3 -c '
import json, sys
default, names = float(sys.argv[1]), sys.argv[2]
total, out = 0.0, []
try:
    tests = json.load(sys.stdin).get("tests", [])
except ValueError:
    sys.exit(1)
for t in tests:
    props = {p["name"]: p["value"] for p in t.get("properties", [])}
    if props.get("DISABLED"):
        continue
    out.append(t["name"])
    total += float(props.get("TIMEOUT", default))
open(names, "w").write("".join(n + "\n" for n in out))
print(int(total))
' "$default" "$names"
}

# run_ctest STAGE DIR CAP [NAME=VALUE...] -- [CTEST ARGS...]: runs ctest in
# DIR with that environment (under a time cap of CAP seconds unless CAP is
# 0), its output also in DIR/ctest-STAGE.log, and counts its results.
# Passed tests keep up to 64 KiB of output in the JUnit file, so that the
# case count at the end of a test of cases is there.
run_ctest() {
    local stage="$1" dir="$2" cap="$3" rc
    shift 3
    local envs=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    local junit="$dir/ctest-$stage-junit.xml" log="$dir/ctest-$stage.log"
    local names="$dir/ctest-$stage-tests.txt" timeout=()
    rm -f "$junit" "$log"
    ctest_list "$dir" 900 "$names" "$@" >/dev/null
    [ "$cap" -gt 0 ] && timeout=(timeout -k 30 "$cap")
    (cd "$dir" && env "${envs[@]}" "${timeout[@]}" ctest --output-on-failure \
        --test-output-size-passed 65536 --test-output-truncation middle \
        --output-junit "$junit" "$@") 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    capped "$stage" "$rc" "$cap"
    count_results "$stage" "$rc" "$junit" "$log" "$names"
}

declare -A BUILT  # BUILT[KIND]=1 once build/KIND is built
# run_stage KIND [NAME=VALUE...]: builds KIND, then runs its ctest suites
# with the given environment.
run_stage() {
    local kind="$1"; shift
    local build="$ROOT/build/$kind" no_tests=error
    say "[$kind] build"
    if ! "$ROOT/scripts/build.sh" "$kind"; then
        fail_step "$kind" "BUILD FAILED (no tests run)"
        return
    fi
    BUILT[$kind]=1
    [ "$kind" = fuzz ] && fuzz_corpus_sizes before
    say "[$kind] ctest -j$JOBS${*:+ with $*}"
    run_ctest "$kind" "$build" 0 "$@" -- --no-tests="$no_tests" -j"$JOBS" \
        --timeout 900
    [ "$kind" = fuzz ] && fuzz_corpus_sizes after
}

# The fuzz-smoke tests keep a corpus per target across runs, in the
# directory FSTORE_FUZZ_CORPUS of build/fuzz (tests/fuzz/CMakeLists.txt);
# fuzz_corpus_sizes before|after notes how many inputs each holds, and how
# many this run added.
declare -A FUZZ_KEPT
fuzz_corpus_sizes() {
    local dir t n line=""
    dir="$(sed -n 's/^FSTORE_FUZZ_CORPUS:[A-Z]*=//p' "$ROOT/build/fuzz/CMakeCache.txt" 2>/dev/null)"
    [ -n "$dir" ] || return 0
    for t in "$dir"/* ; do
        [ -d "$t" ] || continue
        n="$(find "$t" -maxdepth 1 -type f | wc -l)"
        if [ "$1" = before ]; then
            FUZZ_KEPT[${t##*/}]=$n
        else
            line="${line:+$line, }${t##*/} $n (+$((n - ${FUZZ_KEPT[${t##*/}]:-0})))"
        fi
    done
    [ "$1" = after ] && NOTES+=("fuzz: corpora kept in ${dir#"$ROOT"/}, inputs (+ this run): ${line:-none}")
    return 0
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
    echo "0 passed, 1 failed, 0 skipped"
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
        fail_step "$stage" "unknown stage" ;;
    esac
done

# --- Python tests and real-broker integration tests ---------------------------
# Both need the release build and run after the build stages, adding their
# results to the totals the same way.
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
# pytest has no time limit per test: a cap of PY_CAP seconds
# (FSTORE_TEST_PYTHON_TIMEOUT, default 1800) bounds each run; it interrupts
# pytest (SIGINT), which still writes the results of the tests that ran.
PY_CAP="${FSTORE_TEST_PYTHON_TIMEOUT:-1800}"
run_python_stage() {
    local stage="$1"; shift
    local junit="$ROOT/build/$stage-junit.xml" rc
    say "[$stage] venv and bindings"
    if ! python_venv; then
        fail_step "$stage" "INSTALL FAILED (venv or bindings; no tests run)"
        return
    fi
    rm -f "$junit"
    say "[$stage] pytest tests/python $* (time cap ${PY_CAP} s)"
    (cd "$ROOT/tests/python" && timeout -s INT -k 60 "$PY_CAP" \
        "$PY_VENV/bin/python" -m pytest -c pytest.ini -p no:cacheprovider \
        --junitxml="$junit" "$@" .)
    rc=$?
    capped "$stage" "$rc" "$PY_CAP"
    count_results "$stage" "$rc" "$junit"
}

# python_list [PYTEST ARGS...]: prints the number of tests pytest selects
# and, on a second line, how many of them each file holds.
python_list() {
    python_venv >/dev/null 2>&1 || return 1
    (cd "$ROOT/tests/python" && "$PY_VENV/bin/python" -m pytest -c pytest.ini \
        -p no:cacheprovider --collect-only -q "$@" . 2>/dev/null) |
        awk -F'::' '/::/ { n++; f[$1]++ }
            END { if (!n) exit 1; print n
                  for (k in f) s = s (s ? ", " : "") k " " f[k]; print s }'
}

RELEASE_BUILT="${BUILT[release]:-}"

# The python stage runs after (and only with) the release stage.
case " ${STAGES[*]} " in
*" release "*)
    if [ -n "$RELEASE_BUILT" ]; then
        run_python_stage python -m "not kafka"
    else
        fail_step python "not run: the release build failed"
    fi ;;
esac

# The kafka stage runs after (and only with) the release stage: it starts a
# real single-node broker with tests/kafka/broker.sh (which resolves the
# broker jars with Maven on first use and caches them), runs the `kafka`
# ctest suites of build/release (tests/integration) and the pytest tests
# marked kafka against it (stage python-kafka), then, when this run built
# tsan, the same ctest suites of build/tsan (stage kafka-tsan), and stops
# the broker on exit whatever happens.
# Environment: FSTORE_TEST_KAFKA=0 leaves it out (each of its tests counted
# and named as skipped); FSTORE_TEST_KAFKA_JOBS ctest jobs (default 1: the
# suites measure latencies and share a 2-core machine with the broker);
# FSTORE_TEST_KAFKA_TIMEOUT seconds for the whole ctest run (default: the
# sum of the kafka tests' own timeouts, plus 120 s, so that each test can use
# all of its own); the FSTORE_IT_* size knobs of tests/integration/README.md
# pass through.
KAFKA_DIR=""
kafka_stop() {
    [ -n "$KAFKA_DIR" ] || return 0
    "$ROOT/tests/kafka/broker.sh" stop --dir "$KAFKA_DIR" >&2 || true
    rm -rf "$KAFKA_DIR"
    KAFKA_DIR=""
}
run_kafka_stage() {
    local build="$ROOT/build/release" brokers sum cap list n
    local jobs="${FSTORE_TEST_KAFKA_JOBS:-1}"
    list="$build/ctest-kafka-tests.txt"
    if [ "${FSTORE_TEST_KAFKA:-1}" = 0 ]; then
        # Count and name what is left out. The kafka tests are registered
        # when FSTORE_TEST_BROKERS is defined (tests/integration).
        FSTORE_TEST_BROKERS="" ctest_list "$build" 600 "$list" -L kafka >/dev/null
        n="$(grep -c . "$list" 2>/dev/null)"
        if [ "${n:-0}" -gt 0 ]; then
            count kafka 0 0 "$n" "not run: FSTORE_TEST_KAFKA=0"
            SKIPS+=("kafka: $n tests (FSTORE_TEST_KAFKA=0): $(paste -sd' ' "$list" | sed 's/ /, /g')")
        else
            count kafka 0 0 1 "not run: FSTORE_TEST_KAFKA=0"
            SKIPS+=("kafka: the stage (FSTORE_TEST_KAFKA=0; its tests could not be listed)")
        fi
        if [ -n "${BUILT[tsan]:-}" ]; then
            FSTORE_TEST_BROKERS="" ctest_list "$ROOT/build/tsan" 600 "$list.tsan" -L kafka >/dev/null
            n="$(grep -c . "$list.tsan" 2>/dev/null)"
            count kafka-tsan 0 0 "${n:-1}" "not run: FSTORE_TEST_KAFKA=0"
            SKIPS+=("kafka-tsan: ${n:-?} tests (FSTORE_TEST_KAFKA=0)")
        fi
        if n="$(python_list -m kafka)"; then
            count python-kafka 0 0 "${n%%$'\n'*}" "not run: FSTORE_TEST_KAFKA=0"
            SKIPS+=("python-kafka: ${n%%$'\n'*} tests (FSTORE_TEST_KAFKA=0): by file: ${n#*$'\n'}")
        else
            count python-kafka 0 0 1 "not run: FSTORE_TEST_KAFKA=0"
            SKIPS+=("python-kafka: the stage (FSTORE_TEST_KAFKA=0; its tests could not be listed)")
        fi
        return
    fi
    if [ -z "$RELEASE_BUILT" ]; then
        fail_step kafka "not run: the release build failed"
        return
    fi
    say "[kafka] start a broker (tests/kafka/broker.sh)"
    KAFKA_DIR="$(mktemp -d "${TMPDIR:-/tmp}/fstore-test-kafka.XXXXXX")"
    trap kafka_stop EXIT
    trap 'kafka_stop; exit 130' INT
    trap 'kafka_stop; exit 143' TERM
    if ! brokers="$("$ROOT/tests/kafka/broker.sh" start --dir "$KAFKA_DIR")"; then
        fail_step kafka "BROKER DID NOT START (no tests run; see above)"
        kafka_stop
        return
    fi
    export FSTORE_TEST_BROKERS="$brokers" FSTORE_TEST_BROKER_DIR="$KAFKA_DIR"
    # Without a list of the tests, each runs under its own timeout alone.
    sum="$(ctest_list "$build" 600 "$list" -L kafka)"
    cap="${FSTORE_TEST_KAFKA_TIMEOUT:-$([ -n "$sum" ] && echo $((sum + 120)) || echo 0)}"
    if [ "$cap" -gt 0 ]; then
        say "[kafka] ctest -L kafka -j$jobs against $brokers (time cap $cap s; the tests' own timeouts add up to ${sum:-?} s)"
    else
        say "[kafka] ctest -L kafka -j$jobs against $brokers (no time cap: the tests could not be listed; each has its own timeout)"
    fi
    run_ctest kafka "$build" "$cap" -- -L kafka --no-tests=error -j"$jobs" \
        --timeout 600
    run_python_stage python-kafka -m kafka
    # The same Kafka tests under ThreadSanitizer, when this run built tsan:
    # its librdkafka is instrumented (docs/building.md, Sanitizer builds).
    if [ -n "${BUILT[tsan]:-}" ]; then
        local tbuild="$ROOT/build/tsan"
        sum="$(ctest_list "$tbuild" 600 "$tbuild/ctest-kafka-tsan-tests.txt" -L kafka)"
        cap="${FSTORE_TEST_KAFKA_TIMEOUT:-$([ -n "$sum" ] && echo $((sum + 120)) || echo 0)}"
        say "[kafka-tsan] ctest -L kafka -j$jobs in build/tsan against $brokers (time cap $cap s)"
        run_ctest kafka-tsan "$tbuild" "$cap" "TSAN_OPTIONS=$TSAN_OPTS" -- \
            -L kafka --no-tests=error -j"$jobs" --timeout 600
    fi
    kafka_stop
    trap - INT TERM
    unset FSTORE_TEST_BROKERS FSTORE_TEST_BROKER_DIR
}
case " ${STAGES[*]} " in
*" release "*) run_kafka_stage ;;
esac

# The bench smoke: a quick run of the benchmark harness (bench/run.sh
# --quick) on the release build, checked only for producing every figure —
# never for speed (that is bench/'s job, on a quiet machine). A measurement,
# not a test: it has its own line in the summary and is not counted among
# the tests, but its failure fails the run.
BENCH_CAP=900
run_bench_smoke() {
    local rc
    if [ -z "$RELEASE_BUILT" ]; then
        BENCH="bench smoke: not run (the release build failed)"
        return
    fi
    say "[bench] bench/run.sh --quick --no-build --check (time cap $BENCH_CAP s)"
    timeout -k 30 "$BENCH_CAP" "$ROOT/bench/run.sh" --quick --no-build --check
    rc=$?
    case "$rc" in
    0) BENCH="bench smoke: ok (every figure produced)" ;;
    124) BENCH="bench smoke: FAILED (STOPPED by its time cap of $BENCH_CAP s)" ;;
    *) BENCH="bench smoke: FAILED (bench/run.sh --quick --check exited with $rc)" ;;
    esac
}
case " ${STAGES[*]} " in
*" release "*) run_bench_smoke ;;
esac

# The summary: per stage, then every failure and every skip by name, the
# notes, the bench smoke, and the total on the last line.
say "summary"
for stage in "${STAGE_ORDER[@]}"; do
    echo "$stage: ${ST_PASS[$stage]} passed, ${ST_FAIL[$stage]} failed, ${ST_SKIP[$stage]} skipped${ST_NOTE[$stage]:+ (${ST_NOTE[$stage]})}"
done
if [ ${#FAILS[@]} -gt 0 ]; then
    echo "failed:"
    printf '  %s\n' "${FAILS[@]}"
fi
if [ ${#SKIPS[@]} -gt 0 ]; then
    echo "skipped:"
    printf '  %s\n' "${SKIPS[@]}"
fi
[ ${#NOTES[@]} -gt 0 ] && printf '%s\n' "${NOTES[@]}"
[ -n "$BENCH" ] && echo "$BENCH"
echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ] && [[ "$BENCH" != *FAILED* ]]
