#!/usr/bin/env bash
# Runs the reliability campaigns of docs/reliability.md at their long sizes
# (or, with --quick, at the sizes CI runs), against a Kafka broker this
# script starts, and writes a summary table.
#
# Usage: tests/soak/run.sh [--quick] [--only LIST] [--out DIR] [--fuzz-runs N]
#                          [--fuzz-seconds S]
#   --quick          the CI sizes (minutes instead of a few hours)
#   --only LIST      some of: crash,outage,steady,diskfull,fuzz (default all)
#   --out DIR        logs, samples, plots and summary.md (default
#                    soak-results/<date> under the repository)
#   --fuzz-runs N    executions per fuzz target (default 10000000; --quick
#                    100000)
#   --fuzz-seconds S at most S seconds per fuzz target, whatever N (default
#                    1800; --quick 60)
#
# Long sizes: crash 100 SIGKILLs; outage 60 s outages, every case; steady
# 30 minutes of 5k records/s with 4 reader processes; diskfull as in CI;
# fuzz 10M executions per target or 30 minutes, whichever comes first (on
# 2 cores the fast targets reach 10M in minutes; snapshot, about 1,000
# executions/s, and schema, about 2,000, stop at the time limit). Every
# campaign fails on any mismatch, sanitizer report or crash; the script
# exits non-zero when one did.
#
# The fuzz step runs every target of tests/fuzz/CMakeLists.txt, one at a
# time (one process), on a work corpus started from its seeds, then, when
# it found nothing, merges the inputs that add coverage into
# tests/fuzz/seeds/<target> (libFuzzer -merge=1). When that adds more than 500 files, the seeds are minimized
# instead: seeds and work corpus merged into an empty directory, whose
# inputs replace the seeds named by their hash (the named, generated seeds
# stay). Its summary row gives executions, executions/s, final coverage
# (cov, ft) and corpus size. Commit the seeds, and every build replays
# them from then on.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
QUICK=0
ONLY="crash,outage,steady,diskfull,fuzz"
OUT=""
FUZZ_RUNS=""
FUZZ_SECONDS=""
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) QUICK=1 ;;
    --only) ONLY="$2"; shift ;;
    --out) OUT="$2"; shift ;;
    --fuzz-runs) FUZZ_RUNS="$2"; shift ;;
    --fuzz-seconds) FUZZ_SECONDS="$2"; shift ;;
    -h|--help) sed -n '2,/^[^#]/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
[ -n "$FUZZ_RUNS" ] || FUZZ_RUNS=$([ "$QUICK" = 1 ] && echo 100000 || echo 10000000)
[ -n "$FUZZ_SECONDS" ] || FUZZ_SECONDS=$([ "$QUICK" = 1 ] && echo 60 || echo 1800)
[ -n "$OUT" ] || OUT="$ROOT/soak-results/$(date +%Y-%m-%d-%H%M)"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
wants() { case ",$ONLY," in *",$1,"*) return 0 ;; esac; return 1; }

log() { printf 'soak: %s\n' "$*" >&2; }

"$ROOT/scripts/setup.sh" >&2
"$ROOT/scripts/build.sh" release >&2
B="$ROOT/build/release"
CLI="$B/tools/fstore"
if wants fuzz; then
    "$ROOT/scripts/build.sh" fuzz >&2
fi

KAFKA_DIR=""
stop_broker() {
    [ -n "$KAFKA_DIR" ] && "$ROOT/tests/kafka/broker.sh" stop --dir "$KAFKA_DIR" >&2 || true
}
trap stop_broker EXIT
if wants crash || wants outage || wants steady || wants diskfull; then
    KAFKA_DIR="$OUT/kafka"
    FSTORE_TEST_BROKERS="$("$ROOT/tests/kafka/broker.sh" start --dir "$KAFKA_DIR")"
    export FSTORE_TEST_BROKERS
    log "broker at $FSTORE_TEST_BROKERS"
fi

ROWS=()
FAILED=0
# campaign NAME SIZE COMMAND...: runs it, logs to OUT/NAME.log, adds a row.
campaign() {
    local name="$1" size="$2" t0=$SECONDS rc=0
    shift 2
    log "$name ($size): $*"
    "$@" >"$OUT/$name.log" 2>&1 || rc=$?
    local secs=$((SECONDS - t0)) last
    last="$(grep -iE '^\[.*\] (summary|.*: summary)|^summary|^PASS|^FAIL|check failed' \
        "$OUT/$name.log" | tail -3 | tr '\n' ' ' | sed 's/|/\\|/g' || true)"
    if [ "$rc" = 0 ]; then
        ROWS+=("| $name | $size | pass | $secs | $last |")
    else
        FAILED=1
        ROWS+=("| $name | $size | **FAIL** (exit $rc) | $secs | $last |")
    fi
    log "$name: exit $rc after $secs s (log $OUT/$name.log)"
}

if wants crash; then
    K=$([ "$QUICK" = 1 ] && echo 20 || echo 100)
    campaign crash "$K kills" "$B/tests/soak/soak_crash" "$CLI" --kills "$K"
fi
if wants outage; then
    if [ "$QUICK" = 1 ]; then
        campaign outage "10 s outages, default cases" "$B/tests/soak/soak_outage" \
            --outage-seconds 10 --react-seconds 20
    else
        campaign outage "60 s outages, every case" "$B/tests/soak/soak_outage" \
            --outage-seconds 60 --cases all
    fi
fi
if wants steady; then
    S=$([ "$QUICK" = 1 ] && echo 60 || echo 1800)
    I=$([ "$QUICK" = 1 ] && echo 5 || echo 10)
    campaign steady "$S s at 5k/s, 4 readers" "$B/tests/soak/soak_steady" "$CLI" \
        --seconds "$S" --rate 5000 --keys 100000 --readers 4 --sample-s "$I" \
        --out "$OUT/steady"
fi
if wants diskfull; then
    if [ -x "$B/tests/soak/soak_diskfull" ]; then
        campaign diskfull "4 MiB tmpfs" "$B/tests/soak/soak_diskfull" "$CLI" --mib 4
    else
        FAILED=1
        ROWS+=("| diskfull | - | **FAIL**: no build/release/tests/soak/soak_diskfull | 0 | |")
    fi
fi
if wants fuzz; then
    TARGETS="$(sed -n 's/^set(FSTORE_FUZZ_TARGETS \(.*\))$/\1/p' "$ROOT/tests/fuzz/CMakeLists.txt")"
    [ -n "$TARGETS" ] || { FAILED=1; log "no fuzz targets found in tests/fuzz/CMakeLists.txt"; }
    FUZZ_OPTS=(-timeout=10 -rss_limit_mb=2048)
    # seed_count DIR: its files; hashed DIR: those libFuzzer named (SHA-1).
    seed_count() { find "$1" -maxdepth 1 -type f | wc -l; }
    hashed() { find "$1" -maxdepth 1 -type f -regextype posix-extended -regex '.*/[0-9a-f]{40}'; }
    # fuzz_run LOG COMMAND...: runs the fuzzer, whose output goes to LOG,
    # then ends LOG with a summary line of its figures.
    fuzz_run() {
        local log="$1" rc=0 execs rate cov
        shift
        "$@" || rc=$?
        execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
        rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")"
        cov="$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1 || true)"
        echo "summary: ${execs:-?} executions, ${rate:-?}/s, ${cov:-no coverage line}"
        return "$rc"
    }
    for t in $TARGETS; do
        bin="$ROOT/build/fuzz/tests/fuzz/fuzz_$t"
        seeds="$ROOT/tests/fuzz/seeds/$t"
        work="$OUT/fuzz/$t"
        rm -rf "$work"
        mkdir -p "$work/corpus" "$work/artifacts"
        # Longer inputs cost produce_json ten times the executions/s; the
        # committed deep-nesting seeds are replayed whole in every build.
        extra=()
        [ "$t" = produce_json ] && extra=(-max_len=2048)
        before="$(seed_count "$seeds")"
        log="$OUT/fuzz-$t.log"
        campaign "fuzz-$t" "$FUZZ_RUNS runs or $FUZZ_SECONDS s" fuzz_run "$log" env \
            ASAN_OPTIONS=halt_on_error=1:detect_leaks=1 \
            UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
            "$bin" -runs="$FUZZ_RUNS" -max_total_time="$FUZZ_SECONDS" \
            "${FUZZ_OPTS[@]}" "${extra[@]}" -print_final_stats=1 \
            -artifact_prefix="$work/artifacts/" "$work/corpus" "$seeds"
        figures="$(sed -n 's/^summary: //p' "$log" | tail -1)"
        crashes="$(find "$work/artifacts" -type f | wc -l)"
        # Keep what adds coverage, for every build to replay; after a
        # finding, nothing (fix it first, and add its reproducer by hand).
        if [ "$crashes" = 0 ]; then
            "$bin" -merge=1 "${FUZZ_OPTS[@]}" "$seeds" "$work/corpus" \
                >"$work/merge.log" 2>&1 || { FAILED=1; log "merge into $seeds failed"; }
        fi
        added=$(($(seed_count "$seeds") - before))
        if [ "$added" -gt 500 ]; then
            # Too many: the smallest set of seeds and work corpus with the
            # same coverage replaces the hashed seeds; named seeds stay.
            mini="$work/minimized"
            mkdir -p "$mini"
            if "$bin" -merge=1 "${FUZZ_OPTS[@]}" "$mini" "$seeds" "$work/corpus" \
                >"$work/minimize.log" 2>&1; then
                hashed "$seeds" | xargs -r rm -f
                named="$(find "$seeds" -maxdepth 1 -type f -regextype posix-extended \
                    ! -regex '.*/[0-9a-f]{40}' \
                    -exec sha1sum {} + | cut -d' ' -f1)"
                for f in $(hashed "$mini"); do
                    grep -qx "$(basename "$f")" <<<"$named" || cp "$f" "$seeds/"
                done
            else
                FAILED=1
                log "minimizing $seeds failed"
            fi
        fi
        after="$(seed_count "$seeds")"
        # The figures take the row's last column.
        row="${ROWS[${#ROWS[@]}-1]}"
        ROWS[${#ROWS[@]}-1]="${row%|*|}| ${figures:-no figures}; findings $crashes (in $work/artifacts); seeds $before -> $after |"
    done
fi

{
    echo "# Reliability campaigns, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "fstore $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo '?'), $(nproc) CPUs; logs in this directory."
    echo
    echo "| campaign | size | result | seconds | last lines |"
    echo "|---|---|---|--:|---|"
    printf '%s\n' "${ROWS[@]}"
} >"$OUT/summary.md"
cat "$OUT/summary.md"
exit "$FAILED"
