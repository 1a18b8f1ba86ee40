#!/usr/bin/env bash
# Golden tests of the fstore CLI. No Kafka needed: mkstore builds a fixed
# store through the public API, then each case runs `fstore` and compares
#   - stdout with expected/NAME.out (after a filter for time fields),
#   - the exit status with the expected one,
#   - stderr with a pattern (empty on success; "fstore CMD: ..." on errors).
#
# The last group runs `fstore tail` end to end against librdkafka's mock
# cluster, served on a loopback port by mockkafka.
#
# FSTORE_CLI_NO_KAFKA=1 skips the cases that start a Kafka client (set
# under ThreadSanitizer: it cannot see librdkafka's C11 threads and crashes).
#
# Usage: run.sh FSTORE MKSTORE MOCKKAFKA EXPECTED_DIR [--update]
# --update rewrites expected/*.out from the current output (review the diff).
set -u

if [ $# -lt 4 ]; then
    echo "usage: $0 FSTORE MKSTORE MOCKKAFKA EXPECTED_DIR [--update]" >&2
    exit 2
fi
FSTORE=$1
MKSTORE=$2
MOCKKAFKA=$3
EXPECTED=$4
UPDATE=${5:-}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/fstore-cli-XXXXXX") || exit 1
mockpid=
cleanup() {
    exec 3>&- 2>/dev/null
    [ -n "$mockpid" ] && kill "$mockpid" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT
STORE=$WORK/store
if ! "$MKSTORE" "$STORE"; then
    echo "FAIL: mkstore could not build the test store" >&2
    exit 1
fi

pass=0
fail=0
skip=0
NO_KAFKA=${FSTORE_CLI_NO_KAFKA:-0}
# Sanitizer reports fail a case even when the exit status is as expected.
SANITIZER='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|ThreadSanitizer'

# Filters of stdout before comparison.
plain() { cat; }
# The version changes with releases, the clock between runs.
version_filter() { sed -E 's/[0-9]+\.[0-9]+\.[0-9]+/X.Y.Z/'; }
stats_filter() {
    sed -E -e 's/("time_ms": )[0-9]+/\1TIME/' \
        -e 's/("version": )"[^"]*"/\1"VERSION"/'
}
# get over a tailed topic: record timestamps are the time of producing.
ts_filter() { sed -E 's/"timestamp":[0-9]+/"timestamp":TIME/'; }
# stats after tailing: only the fields that do not depend on timing.
tailed_stats_filter() {
    grep -E '"(source|state|rows|applied_offset|applied|deleted|decode|schema)"'
}

# check NAME STATUS STDERR_ERE FILTER CMD [ARG...]
#   STDERR_ERE "" means stderr must be empty. Reads stdin from $CASE_STDIN
#   when set, else /dev/null.
check() {
    local name=$1 want=$2 errpat=$3 filter=$4
    shift 4
    local out=$WORK/$name.out err=$WORK/$name.err status
    "$@" <"${CASE_STDIN:-/dev/null}" >"$out.raw" 2>"$err"
    status=$?
    "$filter" <"$out.raw" >"$out"
    local why=""
    if [ "$status" != "$want" ]; then
        why="exit status $status, expected $want"
    elif grep -Eq "$SANITIZER" "$err"; then
        why="sanitizer report on stderr"
    elif [ -z "$errpat" ] && [ -s "$err" ]; then
        why="unexpected stderr"
    elif [ -n "$errpat" ] && ! grep -Eq -- "$errpat" "$err"; then
        why="stderr does not match /$errpat/"
    fi
    if [ "$UPDATE" = "--update" ]; then
        cp "$out" "$EXPECTED/$name.out"
    elif [ ! -f "$EXPECTED/$name.out" ]; then
        why="${why:+$why; }no $EXPECTED/$name.out"
    elif ! cmp -s "$out" "$EXPECTED/$name.out"; then
        why="${why:+$why; }stdout differs from expected/$name.out:
$(diff -u "$EXPECTED/$name.out" "$out" | head -40)"
    fi
    if [ -n "$why" ]; then
        fail=$((fail + 1))
        echo "FAIL $name: $why"
        echo "  command: $*"
        sed 's/^/  stderr: /' "$err" | head -20
    else
        pass=$((pass + 1))
        echo "ok   $name"
    fi
}

F=$FSTORE
S=$STORE

# ---- global ---------------------------------------------------------------
check help 0 "" plain "$F" --help
check version 0 "" version_filter "$F" --version
check no_command 2 "^Usage: fstore COMMAND" plain "$F"
check unknown_command 2 "^fstore: unknown command 'frobnicate'" plain \
    "$F" frobnicate
check help_get 0 "" plain "$F" get --help
check help_tail 0 "" plain "$F" help tail
check help_stats 0 "" plain "$F" stats -h

# ---- get ------------------------------------------------------------------
# shellcheck disable=SC1003 # the key is quote"key\ (ends in a backslash)
check get_rows 0 "" plain "$F" get --store "$S" --table features \
    user-1 user-2 'quote"key\' gone missing 'ключ' $'bad\xffkey\x01'
check get_other 0 "" plain "$F" get --table other only user-1 --store "$S"
printf 'user-2\n\nmissing\r\n-dash\nuser-1' >"$WORK/keys"
check get_keys_from 0 "" plain "$F" get --store "$S" --table features \
    --keys-from "$WORK/keys" -- -first
CASE_STDIN=$WORK/keys check get_keys_stdin 0 "" plain \
    "$F" get --store "$S" --table features --keys-from -
check get_no_store 1 "^fstore get: cannot open store .*no store at.*FSTORE_ERR_NO_STORE" \
    plain "$F" get --store "$WORK/absent" --table features user-1
check get_no_table 1 "^fstore get: no table \"nope\" in store .*: features other" \
    plain "$F" get --store "$S" --table nope user-1
check get_no_keys 2 "^fstore get: give at least one KEY" plain \
    "$F" get --store "$S" --table features
check get_no_store_flag 2 "^fstore get: missing --store" plain \
    "$F" get --table features user-1
check get_no_table_flag 2 "^fstore get: missing --table" plain \
    "$F" get --store "$S" user-1
check get_empty_key 2 "^fstore get: keys must not be empty" plain \
    "$F" get --store "$S" --table features ""
check get_bad_option 2 "^fstore get: unknown option --bogus" plain \
    "$F" get --bogus
check get_missing_value 2 "^fstore get: option --store needs a value" plain \
    "$F" get --table features --store
check get_keys_from_absent 1 "^fstore get: cannot open --keys-from" plain \
    "$F" get --store "$S" --table features --keys-from "$WORK/absent"

# ---- stats ----------------------------------------------------------------
check stats 0 "" stats_filter "$F" stats --store "$S"
check stats_no_store 1 "^fstore stats: cannot open store .*FSTORE_ERR_NO_STORE" \
    plain "$F" stats --store "$WORK/absent"
check stats_no_flag 2 "^fstore stats: missing --store" plain "$F" stats
check stats_extra_arg 2 "^fstore stats: unexpected argument 'x'" plain \
    "$F" stats --store "$S" x

# ---- tail: usage errors (no broker needed) --------------------------------
SCHEMA=$WORK/s.avsc
echo '{"type":"record","name":"R","fields":[{"name":"x","type":"long"}]}' \
    >"$SCHEMA"
T=(--brokers 127.0.0.1:1 --topic t1 --schema "$SCHEMA" --store "$WORK/tail")
check tail_no_brokers 2 "^fstore tail: missing --brokers" plain \
    "$F" tail --topic t --schema "$SCHEMA" --store "$WORK/tail"
check tail_no_schema 2 "^fstore tail: missing --schema" plain \
    "$F" tail --brokers b:1 --topic t --store "$WORK/tail"
check tail_bad_format 2 "^fstore tail: --format is confluent or avro" plain \
    "$F" tail "${T[@]}" --format json
check tail_bad_partitions 2 "^fstore tail: --partitions wants a list" plain \
    "$F" tail "${T[@]}" --partitions 3-1
check tail_bad_table 2 "^fstore tail: table name 'a/b'" plain \
    "$F" tail "${T[@]}" --table a/b
check tail_bad_timeout 2 "^fstore tail: --timeout wants seconds" plain \
    "$F" tail "${T[@]}" --until-caught-up --timeout soon
check tail_timeout_alone 2 "^fstore tail: --timeout needs --until-caught-up" \
    plain "$F" tail "${T[@]}" --timeout 1
check tail_bad_x 2 "^fstore tail: -X wants PROP=VALUE" plain \
    "$F" tail "${T[@]}" -X novalue
check tail_unknown_prop 2 "^fstore tail: -X tail.bogus=1: unknown property" \
    plain "$F" tail "${T[@]}" -X tail.bogus=1
check tail_bad_prop_value 2 "^fstore tail: -X tail.batch.max_ms=-5" plain \
    "$F" tail "${T[@]}" -X tail.batch.max_ms=-5
check tail_writer_id_needs_avro 2 "needs --format avro" plain \
    "$F" tail "${T[@]}" --writer-schema-id 3

# ---- tail: runtime errors (before any Kafka client starts) ---------------
check tail_no_schema_file 1 "^fstore tail: cannot read --schema" plain \
    "$F" tail "${T[@]/$SCHEMA/$WORK/absent.avsc}"
echo '{"type":"record","name":"R","fields":[{"name":"m","type":{"type":"map","values":"int"}}]}' \
    >"$WORK/bad.avsc"
check tail_bad_schema 1 "^fstore tail: cannot create table t1 .*FSTORE_ERR_SCHEMA" \
    plain "$F" tail "${T[@]/$SCHEMA/$WORK/bad.avsc}"
# Table "features" of the golden store has another serving schema.
check tail_schema_mismatch 1 "^fstore tail: table features exists with another serving schema.*FSTORE_ERR_SCHEMA_MISMATCH" \
    plain "$F" tail --brokers 127.0.0.1:1 --topic features --schema "$SCHEMA" \
    --store "$S"

if [ "$NO_KAFKA" = 1 ]; then
    echo "skip tail_timeout, tail_kafka_prop_refused, tail_table_created, tail_sigterm, mock_*: FSTORE_CLI_NO_KAFKA=1"
    skip=$((skip + 14))
    echo "$pass passed, $fail failed, $skip skipped"
    [ "$fail" = 0 ]
    exit
fi

# ---- tail: timeout and stopping (nothing listens on port 1) ---------------
check tail_timeout 1 "^fstore tail: not caught up after 1 s" plain \
    "$F" tail "${T[@]}" -q -X fetch.wait.max.ms=50 --until-caught-up --timeout 1
check tail_kafka_prop_refused 1 "^fstore tail: cannot start tailing t1: kafka.bogus.prop: .*FSTORE_ERR_CONF" \
    plain "$F" tail "${T[@]}" -X bogus.prop=1
# The failed runs above still created the table: it is empty, not missing.
check tail_table_created 0 "" plain "$F" get --store "$WORK/tail" --table t1 k

# A running tailer stops cleanly on SIGTERM and exits 0.
"$F" tail "${T[@]}" -q >"$WORK/sig.out" 2>"$WORK/sig.err" &
pid=$!
sleep 1
kill -TERM "$pid"
wait "$pid"
status=$?
if [ "$status" = 0 ] && ! grep -Eq "$SANITIZER" "$WORK/sig.err"; then
    pass=$((pass + 1))
    echo "ok   tail_sigterm"
else
    fail=$((fail + 1))
    echo "FAIL tail_sigterm: exit status $status, expected 0"
    sed 's/^/  stderr: /' "$WORK/sig.err" | head -20
fi

# ---- tail end to end: librdkafka's mock cluster on a loopback port ---------
# mock_start N: a cluster whose topic "feat" has 3 partitions, keys k0..kN-1
# with x = 10 * i, then k0 deleted; values are Confluent-framed with writer
# schema id 7, found in --schemas DIR. Sets B to its bootstrap servers ("" if
# it did not start). mock_stop ends it.
mkfifo "$WORK/ctl"
mock_start() {
    : >"$WORK/boot"
    "$MOCKKAFKA" feat 3 "$1" <"$WORK/ctl" >"$WORK/boot" 2>"$WORK/mock.err" &
    mockpid=$!
    exec 3>"$WORK/ctl" # the cluster stays up until this closes
    for _ in $(seq 300); do
        [ -s "$WORK/boot" ] && break
        kill -0 "$mockpid" 2>/dev/null || break
        sleep 0.1
    done
    B=$(head -n1 "$WORK/boot")
    if [ -z "$B" ]; then
        fail=$((fail + 1))
        echo "FAIL mockkafka did not start"
        sed 's/^/  stderr: /' "$WORK/mock.err" | head -20
    fi
}
mock_stop() {
    exec 3>&-
    wait "$mockpid" 2>/dev/null
    mockpid=
}

mkdir "$WORK/ids"
echo '{"type":"record","name":"R","fields":[{"name":"x","type":"long"}]}' \
    >"$WORK/ids/7.avsc"
mock_start 1000
M=(--brokers "$B" --topic feat --schema "$SCHEMA" --schemas "$WORK/ids"
    --store "$WORK/mock" --until-caught-up --timeout 60)
if [ -n "$B" ]; then
    check mock_tail 0 "" plain "$F" tail "${M[@]}" -q
    check mock_get 0 "" ts_filter "$F" get --store "$WORK/mock" --table feat \
        k0 k1 k2 k500 k999 k1000
    check mock_stats 0 "" tailed_stats_filter "$F" stats --store "$WORK/mock"
    # A second run resumes at the stored offsets: nothing is applied twice.
    check mock_tail_again 0 "^fstore tail: caught up in [0-9.]+ s: 0 records" \
        plain "$F" tail "${M[@]}"
    check mock_get_again 0 "" ts_filter "$F" get --store "$WORK/mock" \
        --table feat k0 k1 k2 k500 k999 k1000
    # Only partition 0, into a table of another name.
    check mock_tail_partition 0 "" plain "$F" tail "${M[@]}" -q \
        --table feat.p0 --partitions 0
    check mock_get_partition 0 "" ts_filter "$F" get --store "$WORK/mock" \
        --table feat.p0 k1 k2 k500 k999
fi
mock_stop

# The topic is recreated with 10 records: the stored offsets are gone. The
# tailer stops on that error (tail.offset_reset=fail), or reloads the table.
mock_start 10
M=(--brokers "$B" --topic feat --schema "$SCHEMA" --schemas "$WORK/ids"
    --store "$WORK/mock" --table feat --until-caught-up --timeout 60 -q)
if [ -n "$B" ]; then
    check mock_offset_gone 1 "^fstore tail: the tailer stopped on an error: .*stored offset no longer exists.*FSTORE_ERR_KAFKA" \
        plain "$F" tail "${M[@]}"
    check mock_rebuild 0 "rebuilding table \"feat\"" plain \
        "$F" tail "${M[@]}" -X tail.offset_reset=rebuild
    check mock_get_rebuilt 0 "" ts_filter "$F" get --store "$WORK/mock" \
        --table feat k0 k1 k9 k10 k500
fi
mock_stop

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
