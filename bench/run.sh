#!/usr/bin/env bash
# Builds Release and runs the benchmarks side by side on one machine:
# bench_baselines (fstore vs raw LMDB, RocksDB and Redis; it starts and stops
# its own redis-server on a free loopback port), bench_get_bench, the file
# cases of bench_snapshot (fstore_snapshot and fstore_restore against zstd
# on the same store file, and a plain copy), then bench_ingest (bootstrap vs
# librdkafka consume-only, store size, reads during ingest, produce ->
# visible vs Kafka's own latency), the seeded start of bench_snapshot (a new
# replica from a snapshot and the records after it vs a full bootstrap, time
# to ready), bench_aggregate (aggregation throughput, restart after SIGKILL
# vs a full restore, event -> feature record -> visible in a tailing store
# vs Kafka's own latency), then the whole pipeline (`fstore demo --brokers`:
# event -> feature record -> store -> prediction at each rate and commit
# interval), against a real Kafka broker that this script starts
# (tests/kafka/broker.sh) and always stops. Writes
# bench/results/<date>-<host>.json (every figure), .md (the tables) and
# -point.png / -batch.png / -freshness.png / -ingest-reads.png /
# -aggregate-freshness.png (latency distributions), -pipeline.png (event
# -> prediction p99 by commit interval) and -snapshot.png (snapshot and
# restore against zstd, time to ready of a seeded and a full replica), with
# gnuplot.
#
# Usage: bench/run.sh [--quick] [--rows N] [--seconds S] [--ingest-records N]
#                     [--ingest-seconds S] [--rates R1,R2,...]
#                     [--agg-events N] [--agg-entities E] [--agg-rates R1,...]
#                     [--pipe-rates R1,...] [--pipe-commits MS1,...]
#                     [--snap-rows N] [--snap-rounds R] [--seed-rows N]
#                     [--no-build] [--build-dir DIR] [--out DIR] [--check]
#                     [--no-pin]
#   --quick             50,000 rows and 0.5 s per lookup case; 20,000 ingest
#                       records, rates 1000,5000, 2 s per ingest case;
#                       aggregation of 300,000 events over 50,000 entities,
#                       rates 1000,5000; the pipeline at 1000 events/s with
#                       commit intervals 25,100; snapshots of a 50,000-row
#                       store, one round; a seeded start at 20,000 entities
#   --check             then fail unless every measurement produced a number
#                       (bench/check_results.py; never a speed judgement)
#   --rows N            rows to load for the lookups (default 1,000,000)
#   --seconds S         measuring time per lookup case (default 2)
#   --ingest-records N  entities produced and bootstrapped (default 1,000,000)
#   --big-bootstrap N   then a bootstrap alone at N entities, against
#                       consume-only on the same topic (default 10,000,000,
#                       about 3 minutes and 15 GB of disk; 0 skips it)
#   --ingest-seconds S  measuring time per ingest case and per aggregation
#                       freshness rate (default 10)
#   --rates R1,R2,...   freshness rates, records/s (default 1000,10000,50000)
#   --agg-entities E    entities of the aggregation runs (default 1,000,000)
#   --agg-events N      events over them (default 4 x E)
#   --agg-rates R1,...  aggregation freshness rates, events/s (default
#                       1000,10000)
#   --pipe-rates R1,... pipeline rates, events/s (default 1000,10000), each
#                       for --ingest-seconds after warming up
#   --pipe-commits MS,... the aggregator's commit intervals to try (default
#                       10,25,50,100)
#   --snap-rows N       rows of the store snapshotted and restored against
#                       zstd (default 3,000,000)
#   --snap-rounds R     rounds of those cases, the best kept (default 2)
#   --seed-rows N       entities of the seeded start vs full bootstrap
#                       (default 1,000,000)
#   --no-build          use the existing build (build/release)
#   --build-dir DIR     with --no-build: the build to use instead
#   --out DIR           write the results there (default bench/results)
#   --no-pin            do not place the Kafka cases on CPUs (below)
# CPU placement (the standard setup, on a machine of 2 or more CPUs): the
# broker runs on CPU 0 (broker.sh start --cpus 0) and fstore's side of the
# Kafka cases on CPU 1 (bench_ingest's freshness cases with --cpus 0,1;
# the seeded start, bench_aggregate and the pipeline under taskset -c 1),
# so that neither preempts the other. bench_ingest's bootstrap and reads
# run unplaced (the broker still on CPU 0).
# Expects the dependencies from scripts/setup.sh (redis-server, librocksdb-dev,
# libhiredis-dev, gnuplot-nox, Java and kcat for the broker, whose jars
# tests/kafka/broker.sh fetches once). The benches measure; they never assert
# speed. A broker that cannot start fails the run: nothing is skipped.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROWS=1000000
SECS=2
IREC=1000000
ISECS=10
RATES=1000,10000,50000
AENT=1000000
AEV=
ARATES=1000,10000
PRATES=1000,10000
PCOMMITS=10,25,50,100
SROWS=3000000
SROUNDS=2
SEEDROWS=1000000
BIGBOOT=10000000
BUILD=1
PIN=1
BUILD_DIR=
OUT=
CHECK=0
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) ROWS=50000; SECS=0.5; IREC=20000; ISECS=2; RATES=1000,5000; BIGBOOT=0
             AENT=50000; AEV=300000; ARATES=1000,5000
             PRATES=1000; PCOMMITS=25,100
             SROWS=50000; SROUNDS=1; SEEDROWS=20000 ;;
    --rows) ROWS="$2"; shift ;;
    --seconds) SECS="$2"; shift ;;
    --ingest-records) IREC="$2"; shift ;;
    --big-bootstrap) BIGBOOT="$2"; shift ;;
    --ingest-seconds) ISECS="$2"; shift ;;
    --rates) RATES="$2"; shift ;;
    --agg-entities) AENT="$2"; shift ;;
    --agg-events) AEV="$2"; shift ;;
    --agg-rates) ARATES="$2"; shift ;;
    --pipe-rates) PRATES="$2"; shift ;;
    --pipe-commits) PCOMMITS="$2"; shift ;;
    --snap-rows) SROWS="$2"; shift ;;
    --no-pin) PIN=0 ;;
    --snap-rounds) SROUNDS="$2"; shift ;;
    --seed-rows) SEEDROWS="$2"; shift ;;
    --no-build) BUILD=0 ;;
    --build-dir) BUILD_DIR="$2"; shift ;;
    --out) OUT="$2"; shift ;;
    --check) CHECK=1 ;;
    -h|--help) sed -n '2,/^set -euo pipefail/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "run: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
    shift
done
# Validate the sizes' shape here; the benches check their ranges.
for v in "$ROWS" "$IREC" "$AENT" ${AEV:+"$AEV"} "$SROWS" "$SROUNDS" "$SEEDROWS" "$BIGBOOT"; do
    [[ $v =~ ^[0-9]+$ ]] || { echo "run: '$v' is not a count (try --help)" >&2; exit 2; }
done
for v in "$RATES" "$ARATES"; do
    [[ $v =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "run: '$v' is not a list of rates R1,R2,... (try --help)" >&2; exit 2; }
done
[ -n "$AEV" ] || AEV=$((4 * AENT))

if [ -n "$BUILD_DIR" ] && [ "$BUILD" = 1 ]; then
    echo "run: --build-dir goes with --no-build (run.sh builds build/release itself)" >&2
    exit 2
fi
if [ "$BUILD" = 1 ]; then
    bash "$ROOT/scripts/build.sh" release >&2
fi
BUILD_DIR="${BUILD_DIR:-$ROOT/build/release}"
BIN="$BUILD_DIR/bench"
for b in bench_baselines bench_get_bench bench_ingest bench_aggregate bench_snapshot; do
    [ -x "$BIN/$b" ] || { echo "run: $BIN/$b missing (is librocksdb-dev/libhiredis-dev installed? see scripts/setup.sh)" >&2; exit 1; }
done
[ -x "$BUILD_DIR/tools/fstore" ] || { echo "run: $BUILD_DIR/tools/fstore missing (the pipeline runs fstore demo)" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "run: redis-server not found (scripts/setup.sh installs it)" >&2; exit 1; }
command -v gnuplot >/dev/null || { echo "run: gnuplot not found (scripts/setup.sh installs gnuplot-nox)" >&2; exit 1; }
BROKER_SH="$ROOT/tests/kafka/broker.sh"
[ -x "$BROKER_SH" ] || { echo "run: $BROKER_SH missing; the ingest and aggregate benches need it to start a Kafka broker" >&2; exit 1; }
# What the broker needs, checked now rather than after the lookup benches.
command -v "${JAVA:-java}" >/dev/null || { echo "run: ${JAVA:-java} not found; the Kafka broker of the ingest and aggregate benches needs Java 17+ (scripts/setup.sh installs it)" >&2; exit 1; }
command -v "${KCAT:-kcat}" >/dev/null || { echo "run: ${KCAT:-kcat} not found; tests/kafka/broker.sh needs it (scripts/setup.sh installs it)" >&2; exit 1; }

OUT="${OUT:-$ROOT/bench/results}"
mkdir -p "$OUT"
DATE="$(date +%Y-%m-%d)"
HOST="$(hostname -s 2>/dev/null || hostname)"
STEM="$OUT/$DATE-$HOST"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/fstore-bench-run-XXXXXX")"
KAFKA_DIR="$WORK/kafka"
# The broker (once started) is stopped on every way out: normal end, a
# failing command, Ctrl-C, or a timeout's SIGTERM.
BENCH_PID=
cleanup() {
    if [ -n "$BENCH_PID" ] && kill -0 "$BENCH_PID" 2>/dev/null; then
        kill "$BENCH_PID" 2>/dev/null || true
        wait "$BENCH_PID" 2>/dev/null || true
    fi
    if [ -d "$KAFKA_DIR" ]; then
        "$BROKER_SH" stop --dir "$KAFKA_DIR" >/dev/null 2>&1 ||
            echo "run: warning: stopping the Kafka broker in $KAFKA_DIR failed" >&2
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "run: $ROWS rows, $SECS s per lookup case; ingest: $IREC records, rates $RATES, $ISECS s per case; aggregate: $AEV events over $AENT entities, rates $ARATES; results in $STEM.{json,md}" >&2
"$BIN/bench_baselines" --rows "$ROWS" --seconds "$SECS" \
    --dir "$WORK/stores-baselines" --json "$WORK/baselines.json" \
    --markdown "$WORK/baselines.md" --hist-dir "$WORK/hist" \
    | tee "$WORK/baselines.txt"
echo
"$BIN/bench_get_bench" --rows "$ROWS" --seconds "$SECS" \
    --dir "$WORK/stores-get" --json "$WORK/get_bench.json" \
    | tee "$WORK/get_bench.txt"
echo
# Snapshots and restores against zstd need no broker: before it starts.
SNAP_T0=$SECONDS
"$BIN/bench_snapshot" --only files --rows "$SROWS" --rounds "$SROUNDS" \
    --dir "$WORK/snapshot-files" --json "$WORK/snapshot.json" \
    --markdown "$WORK/snapshot.md" | tee "$WORK/snapshot.txt"
echo "run: bench_snapshot (files) took $((SECONDS - SNAP_T0)) s" >&2
echo

# The broker starts only now, so that its JVM does not share the CPUs with
# the lookup benches. Placement: see the header.
BROKER_CPU=0
FSTORE_CPU=1
[ "$(nproc)" -ge 2 ] || PIN=0
PIN_BROKER=()
PIN_INGEST=()
ON_FSTORE=()
PLACEMENT="not pinned (the broker and fstore share every CPU)"
if [ "$PIN" = 1 ]; then
    command -v taskset >/dev/null || { echo "run: taskset not found (util-linux); use --no-pin" >&2; exit 1; }
    PIN_BROKER=(--cpus "$BROKER_CPU")
    PIN_INGEST=(--cpus "$BROKER_CPU,$FSTORE_CPU")
    ON_FSTORE=(taskset -c "$FSTORE_CPU")
    PLACEMENT="the broker on CPU $BROKER_CPU, fstore's side on CPU $FSTORE_CPU (bench_ingest's bootstrap and reads unplaced)"
fi
echo "run: CPU placement of the Kafka cases: $PLACEMENT" >&2
echo "run: starting a Kafka broker for bench_ingest and bench_aggregate ($BROKER_SH start --dir $KAFKA_DIR)" >&2
if ! BROKERS="$("$BROKER_SH" start --dir "$KAFKA_DIR" "${PIN_BROKER[@]}")" || [ -z "$BROKERS" ]; then
    echo "run: the Kafka broker did not start (see broker.sh's messages above; scripts/setup.sh installs Java and kcat, and '$BROKER_SH fetch' the jars); the ingest and aggregate figures cannot be measured without it" >&2
    exit 1
fi
# bench_aggregate reports the broker's CPU time beside its freshness cases.
BROKER_PID="$(cat "$KAFKA_DIR/pid" 2>/dev/null || true)"
if ! [[ $BROKER_PID =~ ^[0-9]+$ ]] || ! kill -0 "$BROKER_PID" 2>/dev/null; then
    echo "run: $KAFKA_DIR/pid names no running broker; the broker's CPU time cannot be reported" >&2
    exit 1
fi
# Each bench runs in the background with `wait`, so that a signal reaches
# the trap (which stops the broker) at once rather than when the bench ends.
"$BIN/bench_ingest" --brokers "$BROKERS" --records "$IREC" "${PIN_INGEST[@]}" \
    --rates "$RATES" --seconds "$ISECS" --dir "$WORK/stores-ingest" \
    --json "$WORK/ingest.json" --markdown "$WORK/ingest.md" \
    --hist-dir "$WORK/hist" > >(tee "$WORK/ingest.txt") &
BENCH_PID=$!
wait "$BENCH_PID"
BENCH_PID=
rm -rf "$WORK/stores-ingest"
echo
# The bootstrap at a size many times its memory (tail.bootstrap.max_bytes),
# against consume-only on the same topic, which it then deletes.
if [ "$BIGBOOT" -gt 0 ]; then
    BIG_T0=$SECONDS
    "$BIN/bench_ingest" --brokers "$BROKERS" --records "$BIGBOOT" --only bootstrap \
        --dir "$WORK/stores-bigboot" --json "$WORK/ingest_big.json" \
        --markdown "$WORK/ingest_big.md" > >(tee "$WORK/ingest_big.txt") &
    BENCH_PID=$!
    wait "$BENCH_PID"
    BENCH_PID=
    rm -rf "$WORK/stores-bigboot"
    echo "run: the bootstrap at $BIGBOOT entities took $((SECONDS - BIG_T0)) s" >&2
    echo
else
    echo null > "$WORK/ingest_big.json"
    echo "Not run (--big-bootstrap 0)." > "$WORK/ingest_big.md"
fi
SNAP_T0=$SECONDS
"${ON_FSTORE[@]}" "$BIN/bench_snapshot" --only seeded --seed-rows "$SEEDROWS" \
    --brokers "$BROKERS" --dir "$WORK/snapshot-seeded" \
    --json "$WORK/snapshot_seeded.json" --markdown "$WORK/snapshot_seeded.md" \
    > >(tee "$WORK/snapshot_seeded.txt") &
BENCH_PID=$!
wait "$BENCH_PID"
BENCH_PID=
echo "run: bench_snapshot (seeded start) took $((SECONDS - SNAP_T0)) s" >&2
echo
AGG_T0=$SECONDS
"${ON_FSTORE[@]}" "$BIN/bench_aggregate" --brokers "$BROKERS" --broker-pid "$BROKER_PID" \
    --entities "$AENT" --events "$AEV" --rates "$ARATES" --seconds "$ISECS" \
    --dir "$WORK/stores-aggregate" --json "$WORK/aggregate.json" \
    --markdown "$WORK/aggregate.md" --hist-dir "$WORK/hist" \
    > >(tee "$WORK/aggregate.txt") &
BENCH_PID=$!
wait "$BENCH_PID"
BENCH_PID=
echo "run: bench_aggregate took $((SECONDS - AGG_T0)) s" >&2
# The pipeline: `fstore demo` against the same broker, one run per rate and
# commit interval, 100,000 users, figures as JSON.
PIPE_T0=$SECONDS
PIPE_FILES=()
for r in ${PRATES//,/ }; do
    for c in ${PCOMMITS//,/ }; do
        echo "run: pipeline at $r events/s, aggregate.commit_ms $c" >&2
        "${ON_FSTORE[@]}" "$BUILD_DIR/tools/fstore" demo --brokers "$BROKERS" --rate "$r" \
            --commit-ms "$c" --seconds "$ISECS" --entities 100000 -q \
            --json "$WORK/pipe-$r-$c.json" > "$WORK/pipe-$r-$c.txt" &
        BENCH_PID=$!
        wait "$BENCH_PID"
        BENCH_PID=
        PIPE_FILES+=("$WORK/pipe-$r-$c.json")
    done
done
echo "run: the pipeline runs took $((SECONDS - PIPE_T0)) s" >&2
python3 "$ROOT/bench/pipeline_report.py" --markdown "$WORK/pipeline.md" \
    --json "$WORK/pipeline.json" --dat "$WORK/hist/pipeline.dat" "${PIPE_FILES[@]}"
"$BROKER_SH" stop --dir "$KAFKA_DIR" >&2
rm -rf "$KAFKA_DIR"

COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git -C "$ROOT" status --porcelain 2>/dev/null)" ]; then
    COMMIT="$COMMIT (with local changes)"
fi
CPU="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
NCPU="$(nproc)"
MEM="$(awk '/MemTotal/ {printf "%.1f GB", $2 / 1048576}' /proc/meminfo)"
KERNEL="$(uname -sr)"
CC_VER="$(cc --version | head -n1)"
KAFKA_VER="${FSTORE_KAFKA_VERSION:-$(sed -n 's/^KAFKA_VERSION=\${FSTORE_KAFKA_VERSION:-\(.*\)}$/\1/p' "$BROKER_SH")}"

json_str() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }
{
    printf '{\n"date": "%s",\n"host": "%s",\n"commit": "%s",\n' \
        "$DATE" "$(json_str "$HOST")" "$(json_str "$COMMIT")"
    printf '"machine": {"cpu": "%s", "cpus": %s, "memory": "%s", "kernel": "%s", "compiler": "%s"},\n' \
        "$(json_str "$CPU")" "$NCPU" "$MEM" "$(json_str "$KERNEL")" "$(json_str "$CC_VER")"
    printf '"kafka_cpu_placement": "%s",\n' "$(json_str "$PLACEMENT")"
    printf '"rows": %s,\n"seconds_per_case": %s,\n' "$ROWS" "$SECS"
    printf '"ingest_records": %s,\n"ingest_seconds_per_case": %s,\n"ingest_rates": [%s],\n' \
        "$IREC" "$ISECS" "$RATES"
    printf '"big_bootstrap_entities": %s,\n' "$BIGBOOT"
    printf '"aggregate_events": %s,\n"aggregate_entities": %s,\n"aggregate_rates": [%s],\n' \
        "$AEV" "$AENT" "$ARATES"
    printf '"snapshot_rows": %s,\n"snapshot_rounds": %s,\n"seed_rows": %s,\n' \
        "$SROWS" "$SROUNDS" "$SEEDROWS"
    printf '"baselines": '; cat "$WORK/baselines.json"
    printf ',\n"get_bench": '; cat "$WORK/get_bench.json"
    printf ',\n"snapshot": '; cat "$WORK/snapshot.json"
    printf ',\n"snapshot_seeded": '; cat "$WORK/snapshot_seeded.json"
    printf ',\n"ingest": '; cat "$WORK/ingest.json"
    printf ',\n"ingest_big_bootstrap": '; cat "$WORK/ingest_big.json"
    printf ',\n"aggregate": '; cat "$WORK/aggregate.json"
    printf ',\n"pipeline": '; cat "$WORK/pipeline.json"
    printf '}\n'
} > "$STEM.json"

plot() { # plot <png> <title> <ylabel> <ns per y unit> <case id[:gnuplot style]...>
    local png="$1" title="$2" ylabel="$3" div="$4"; shift 4
    local cmd="" sep=""
    for spec in "$@"; do
        local id="${spec%%:*}" style="" label
        [ "$id" = "$spec" ] || style="${spec#*:}"
        label="$(sed -n '1{s/^# //;s/: latency_ns.*//;p}' "$WORK/hist/$id.dat")"
        cmd="$cmd$sep'$WORK/hist/$id.dat' using 3:(\$1/$div) with steps lw 2 $style title '${label//\'/}'"
        sep=", "
    done
    gnuplot <<GP
set terminal pngcairo size 1100,650 noenhanced font ",10"
set output '$png'
set title '$title'
set logscale y
set xlabel 'percentile'
set ylabel '$ylabel'
set xtics ("0%%" 0, "50%%" 0.30103, "90%%" 1, "99%%" 2, "99.9%%" 3, "99.99%%" 4, "99.999%%" 5)
set xrange [0:5]
set grid
set key left top
plot $cmd
GP
}
NS='latency per operation (ns, log scale)'
plot "$STEM-point.png" "point lookups, $ROWS rows ($HOST, $DATE)" "$NS" 1 \
    point_fstore point_raw point_rocksdb point_redis point_redis_pipe16 \
    point_fstore_2t point_raw_2t
plot "$STEM-batch.png" "batch lookups 256 keys x 32 columns, $ROWS rows ($HOST, $DATE)" "$NS" 1 \
    batch_fstore batch_raw batch_rocksdb batch_fstore_2t batch_raw_2t
FRESH_IDS=()
n=0
for r in ${RATES//,/ }; do # one colour per rate; Kafka dashed, fstore solid
    n=$((n + 1))
    FRESH_IDS+=("fresh_kafka_$r:lc $n dt 2" "fresh_fstore_$r:lc $n")
done
plot "$STEM-freshness.png" "produce -> seen: Kafka consumer vs fstore reader, $IREC entities ($HOST, $DATE)" \
    'latency per record (ms, log scale)' 1e6 "${FRESH_IDS[@]}"
AGG_IDS=()
n=0
for r in ${ARATES//,/ }; do # one colour per rate; Kafka dashed, output dotted, store solid
    n=$((n + 1))
    AGG_IDS+=("agg_fresh_kafka_$r:lc $n dt 2" "agg_fresh_output_$r:lc $n dt 3" "agg_fresh_store_$r:lc $n")
done
plot "$STEM-aggregate-freshness.png" "event -> consumed (Kafka), -> feature record consumed, -> visible in a tailing store ($HOST, $DATE)" \
    'latency per event (ms, log scale)' 1e6 "${AGG_IDS[@]}"
plot "$STEM-ingest-reads.png" "fstore_get + 4 columns, read-only vs during 10k updates/s, $IREC entities ($HOST, $DATE)" \
    "$NS" 1 ingest_reads_read_only ingest_reads_during
# The pipeline: event -> prediction p99 (solid) and Kafka's own p99
# (dashed) by commit interval, one colour per rate.
PIPE_PLOT="" sep=""
n=0
for r in ${PRATES//,/ }; do
    PIPE_PLOT="$PIPE_PLOT$sep'$WORK/hist/pipeline.dat' index $n using 1:2 with linespoints lw 2 lc $((n + 1)) title 'event -> prediction p99, $r events/s', '$WORK/hist/pipeline.dat' index $n using 1:3 with linespoints lw 1 dt 2 lc $((n + 1)) title 'Kafka produce -> consume p99, $r events/s'"
    sep=", "
    n=$((n + 1))
done
gnuplot <<GP
set terminal pngcairo size 1100,650 noenhanced font ",10"
set output '$STEM-pipeline.png'
set title 'the pipeline: event -> prediction p99 by commit interval ($HOST, $DATE)'
set logscale y
set xlabel 'aggregate.commit_ms'
set ylabel 'latency (ms, log scale)'
set grid
set key left top
plot $PIPE_PLOT
GP
# Snapshots: data.mdb MB/s of fstore_snapshot / fstore_restore against zstd
# on the same file (left); the time to ready of a seeded and a fully
# bootstrapped replica, open (with the seed's restore) then tailing (right).
python3 - "$WORK/snapshot.json" "$WORK/snapshot_seeded.json" "$WORK/hist/snapshot.dat" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))["files"]["cases"]
s = json.load(open(sys.argv[2]))["seeded_start"]
with open(sys.argv[3], "w") as out:
    for label, a, b in (("compress, %d thr." % f["snapshot"]["threads"],
                         "snapshot", "zstd_compress"),
                        ("compress, 1 thr.", "snapshot_1t", "zstd_compress_1t"),
                        ("decompress", "restore", "zstd_decompress")):
        out.write(f'"{label}" {f[a]["store_mb_per_s"]} {f[b]["store_mb_per_s"]}\n')
    out.write("\n\n")
    for label in ("seeded", "full"):
        out.write(f'"{label}" {s[label]["open_s"]} {s[label]["ready_s"]}\n')
PY
gnuplot <<GP
set terminal pngcairo size 1100,500 noenhanced font ",10"
set output '$STEM-snapshot.png'
set multiplot layout 1,2 title 'snapshots of $SROWS rows; seeded start at $SEEDROWS entities ($HOST, $DATE)'
set style data histograms
set style fill solid 0.8 border -1
set boxwidth 0.9
set grid y
set key left top box opaque
set yrange [0:*]
set offsets 0, 0, graph 0.25, 0
set style histogram clustered gap 1
set ylabel 'MB of data.mdb per second'
set title 'fstore against zstd -3 on the same store file'
plot '$WORK/hist/snapshot.dat' index 0 using 2:xtic(1) title 'fstore_snapshot, fstore_restore', '' index 0 using 3 title 'zstd -3, zstd -d (streaming, the same bytes)'
set style histogram rowstacked
set boxwidth 0.5
set ylabel 'seconds'
set title 'time to ready of a new replica'
plot '$WORK/hist/snapshot.dat' index 1 using 2:xtic(1) title 'open (seeded: restores the snapshot)', '' index 1 using 3 title 'tail until ready'
unset multiplot
GP

{
    echo "# Benchmarks: $DATE on $HOST"
    echo
    echo "- commit: $COMMIT"
    echo "- machine: $CPU, $NCPU CPUs, $MEM, $KERNEL"
    echo "- compiler: $CC_VER (Release build)"
    echo "- lookups: $ROWS rows, $SECS s per case; ingest: $IREC records, rates $RATES records/s, $ISECS s per case; aggregate: $AEV events over $AENT entities, rates $ARATES events/s; pipeline: rates $PRATES events/s, commit intervals $PCOMMITS ms; snapshots: $SROWS rows, $SROUNDS round(s), seeded start at $SEEDROWS entities"
    echo "- command: \`bench/run.sh --rows $ROWS --seconds $SECS --ingest-records $IREC --big-bootstrap $BIGBOOT --ingest-seconds $ISECS --rates $RATES --agg-entities $AENT --agg-events $AEV --agg-rates $ARATES --pipe-rates $PRATES --pipe-commits $PCOMMITS --snap-rows $SROWS --snap-rounds $SROUNDS --seed-rows $SEEDROWS\`"
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
    echo
    echo "## Snapshots and seeded start (bench_snapshot)"
    echo
    cat "$WORK/snapshot.md"
    echo
    cat "$WORK/snapshot_seeded.md"
    echo
    echo "![snapshots and seeded start]($(basename "$STEM")-snapshot.png)"
    echo
    echo "## Ingest against a real Kafka broker (bench_ingest)"
    echo
    echo "Single-node Kafka $KAFKA_VER (KRaft) from tests/kafka/broker.sh on the same machine; topics of 4 partitions, cleanup.policy=compact. CPU placement: $PLACEMENT."
    echo
    cat "$WORK/ingest.md"
    echo
    echo "![freshness latency]($(basename "$STEM")-freshness.png)"
    echo
    echo "![reads during ingest]($(basename "$STEM")-ingest-reads.png)"
    echo
    echo "## A bootstrap many times its memory (bench_ingest --only bootstrap, $BIGBOOT entities)"
    echo
    cat "$WORK/ingest_big.md"
    echo
    echo "## Aggregation against the same broker (bench_aggregate)"
    echo
    echo "fstore_aggregator_* with the spec of docs/aggregate.md (default windows, six features), 4 partitions, on topics created for the run."
    echo
    cat "$WORK/aggregate.md"
    echo
    echo "![aggregation freshness]($(basename "$STEM")-aggregate-freshness.png)"
    echo
    echo "## The pipeline against the same broker (fstore demo --brokers)"
    echo
    cat "$WORK/pipeline.md"
    echo
    echo "![pipeline latency]($(basename "$STEM")-pipeline.png)"
} > "$STEM.md"

echo "run: wrote $STEM.json, $STEM.md, $STEM-point.png, $STEM-batch.png, $STEM-freshness.png, $STEM-ingest-reads.png, $STEM-aggregate-freshness.png, $STEM-pipeline.png, $STEM-snapshot.png" >&2
if [ "$CHECK" = 1 ]; then
    python3 "$ROOT/bench/check_results.py" "$STEM.json"
fi
