#!/usr/bin/env bash
# Builds Release and runs the lookup benchmarks side by side on one machine:
# bench_baselines (fstore vs raw LMDB, RocksDB and Redis; it starts and stops
# its own redis-server on a free loopback port) and bench_get_bench. Writes
# bench/results/<date>-<host>.json (every figure), .md (the tables) and
# -point.png / -batch.png (latency distributions, gnuplot).
#
# Usage: bench/run.sh [--quick] [--rows N] [--seconds S] [--no-build] [--check]
#   --quick      50,000 rows and 0.5 s per case (a smoke run)
#   --check      then fail unless every measurement produced a number
#                (bench/check_results.py; never a speed judgement)
#   --rows N     rows to load (default 1,000,000)
#   --seconds S  measuring time per case (default 2)
#   --no-build   use the existing build/release
# Expects the dependencies from scripts/setup.sh (redis-server, librocksdb-dev,
# libhiredis-dev, gnuplot-nox). The benches measure; they never assert speed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROWS=1000000
SECS=2
BUILD=1
CHECK=0
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) ROWS=50000; SECS=0.5 ;;
    --rows) ROWS="$2"; shift ;;
    --seconds) SECS="$2"; shift ;;
    --no-build) BUILD=0 ;;
    --check) CHECK=1 ;;
    -h|--help) sed -n '2,17s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "run: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done

if [ "$BUILD" = 1 ]; then
    bash "$ROOT/scripts/build.sh" release >&2
fi
BIN="$ROOT/build/release/bench"
for b in bench_baselines bench_get_bench; do
    [ -x "$BIN/$b" ] || { echo "run: $BIN/$b missing (is librocksdb-dev/libhiredis-dev installed? see scripts/setup.sh)" >&2; exit 1; }
done
command -v redis-server >/dev/null || { echo "run: redis-server not found (scripts/setup.sh installs it)" >&2; exit 1; }
command -v gnuplot >/dev/null || { echo "run: gnuplot not found (scripts/setup.sh installs gnuplot-nox)" >&2; exit 1; }

OUT="$ROOT/bench/results"
mkdir -p "$OUT"
DATE="$(date +%Y-%m-%d)"
HOST="$(hostname -s 2>/dev/null || hostname)"
STEM="$OUT/$DATE-$HOST"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/fstore-bench-run-XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

echo "run: $ROWS rows, $SECS s per case; results in $STEM.{json,md}" >&2
"$BIN/bench_baselines" --rows "$ROWS" --seconds "$SECS" \
    --dir "$WORK/stores-baselines" --json "$WORK/baselines.json" \
    --markdown "$WORK/baselines.md" --hist-dir "$WORK/hist" \
    | tee "$WORK/baselines.txt"
echo
"$BIN/bench_get_bench" --rows "$ROWS" --seconds "$SECS" \
    --dir "$WORK/stores-get" --json "$WORK/get_bench.json" \
    | tee "$WORK/get_bench.txt"

COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ]; then
    COMMIT="$COMMIT (with local changes)"
fi
CPU="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
NCPU="$(nproc)"
MEM="$(awk '/MemTotal/ {printf "%.1f GB", $2 / 1048576}' /proc/meminfo)"
KERNEL="$(uname -sr)"
CC_VER="$(cc --version | head -n1)"

json_str() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }
{
    printf '{\n"date": "%s",\n"host": "%s",\n"commit": "%s",\n' \
        "$DATE" "$(json_str "$HOST")" "$(json_str "$COMMIT")"
    printf '"machine": {"cpu": "%s", "cpus": %s, "memory": "%s", "kernel": "%s", "compiler": "%s"},\n' \
        "$(json_str "$CPU")" "$NCPU" "$MEM" "$(json_str "$KERNEL")" "$(json_str "$CC_VER")"
    printf '"rows": %s,\n"seconds_per_case": %s,\n' "$ROWS" "$SECS"
    printf '"baselines": '; cat "$WORK/baselines.json"
    printf ',\n"get_bench": '; cat "$WORK/get_bench.json"
    printf '}\n'
} > "$STEM.json"

plot() { # plot <png> <title> <case ids...>
    local png="$1" title="$2"; shift 2
    local cmd="" sep=""
    for id in "$@"; do
        local label
        label="$(sed -n '1{s/^# //;s/: latency_ns.*//;p}' "$WORK/hist/$id.dat")"
        cmd="$cmd$sep'$WORK/hist/$id.dat' using 3:1 with steps lw 2 title '${label//\'/}'"
        sep=", "
    done
    gnuplot <<GP
set terminal pngcairo size 1100,650 noenhanced font ",10"
set output '$png'
set title '$title'
set logscale y
set xlabel 'percentile'
set ylabel 'latency per operation (ns, log scale)'
set xtics ("0%%" 0, "50%%" 0.30103, "90%%" 1, "99%%" 2, "99.9%%" 3, "99.99%%" 4, "99.999%%" 5)
set xrange [0:5]
set grid
set key left top
plot $cmd
GP
}
plot "$STEM-point.png" "point lookups, $ROWS rows ($HOST, $DATE)" \
    point_fstore point_raw point_rocksdb point_redis point_redis_pipe16 \
    point_fstore_2t point_raw_2t
plot "$STEM-batch.png" "batch lookups 256 keys x 32 columns, $ROWS rows ($HOST, $DATE)" \
    batch_fstore batch_raw batch_rocksdb batch_fstore_2t batch_raw_2t

{
    echo "# Lookup benchmarks: $DATE on $HOST"
    echo
    echo "- commit: $COMMIT"
    echo "- machine: $CPU, $NCPU CPUs, $MEM, $KERNEL"
    echo "- compiler: $CC_VER (Release build)"
    echo "- rows: $ROWS, $SECS s per case; command: \`bench/run.sh --rows $ROWS --seconds $SECS\`"
    echo "- figures: \`$(basename "$STEM").json\`"
    echo
    echo "## fstore against its baselines (bench_baselines)"
    echo
    cat "$WORK/baselines.md"
    echo
    echo "Load and sizes:"
    echo
    echo '```'
    sed -n '/^load (/,/^$/p' "$WORK/baselines.txt"
    echo '```'
    echo
    echo "![point lookup latency]($(basename "$STEM")-point.png)"
    echo
    echo "![batch lookup latency]($(basename "$STEM")-batch.png)"
    echo
    echo "## bench_get_bench"
    echo
    echo '```'
    cat "$WORK/get_bench.txt"
    echo '```'
} > "$STEM.md"

echo "run: wrote $STEM.json, $STEM.md, $STEM-point.png, $STEM-batch.png" >&2
if [ "$CHECK" = 1 ]; then
    python3 "$ROOT/bench/check_results.py" "$STEM.json"
fi
