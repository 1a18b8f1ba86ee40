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
# Output: one line per case, "ok   NAME", "FAIL NAME: WHY" or
# "skip NAME: REASON" (a skipped case is always named), then the count of
# the cases on the last line, "cases: N passed, N failed, N skipped";
# scripts/test.sh adds these counts to its totals in place of the one ctest
# test. The exit status is non-zero when a case failed.
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
# avrocat (Avro files of `fstore export`, read back with avro-c) is built
# beside mkstore.
AVROCAT=$(dirname "$MKSTORE")/cli_avrocat

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
# While NOT_RUN is set, cases are counted without being run:
# "skip: REASON" counts each as skipped, "fail: REASON" as failed.
NOT_RUN=""
# not_run NAME: when NOT_RUN is set, counts case NAME as it says and
# returns 0 (do not run it); else returns 1.
not_run() {
    case $NOT_RUN in
    "") return 1 ;;
    skip:*)
        skip=$((skip + 1))
        echo "skip $1: ${NOT_RUN#skip: }" ;;
    *)
        fail=$((fail + 1))
        echo "FAIL $1: not run: ${NOT_RUN#fail: }" ;;
    esac
    return 0
}
# Sanitizer reports fail a case even when the exit status is as expected.
SANITIZER='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|ThreadSanitizer'

# Filters of stdout before comparison.
plain() { cat; }
# The version changes with releases, the clock between runs.
version_filter() { sed -E 's/[0-9]+\.[0-9]+\.[0-9]+/X.Y.Z/'; }
stats_filter() {
    sed -E -e 's/("time_ms": )[0-9]+/\1TIME/' \
        -e 's/("version": )"[^"]*"/\1"VERSION"/' \
        -e 's/("(bytes|data_bytes|free_bytes|used_bytes|map_size|page_size)": )[0-9]+/\1N/'
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
    not_run "$name" && return
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

# ---- aggregate (argument and spec mistakes; no broker is reached) ---------
check help_aggregate 0 "" plain "$F" aggregate --help
check aggregate_needs_args 2 "--brokers, --spec and --state are required" plain \
    "$F" aggregate --brokers 127.0.0.1:1
printf '{"input":{"topic":"e","format":"json"},"output":{"topic":"o","schema_id":1},"windows":{"5m":"2m"},"features":[{"name":"n","op":"count"}]}' \
    >"$WORK/bad-hop.json"
check aggregate_bad_hop 1 "the hop 2m does not divide window 5m" plain \
    "$F" aggregate --brokers 127.0.0.1:1 --spec "$WORK/bad-hop.json" --state "$WORK/agg"
printf '{"input":{"topic":"e","format":"json"},"output":{"topic":"o","schema_id":1},"features":[{"name":"n","op":"count"},{"name":"n","op":"count"}]}' \
    >"$WORK/dup.json"
check aggregate_duplicate_names 1 "two output fields would be named \"n_5m\"" plain \
    "$F" aggregate --brokers 127.0.0.1:1 --spec "$WORK/dup.json" --state "$WORK/agg"

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
# Several topics: each --topic takes its own schema and options.
check tail_twice_schema 2 "^fstore tail: --schema given twice for --topic t1" \
    plain "$F" tail "${T[@]}" --schema "$SCHEMA"
check tail_twice_before_topic 2 "^fstore tail: --table given twice before the first --topic" \
    plain "$F" tail --table a --table b "${T[@]}"
check tail_second_no_schema 2 "^fstore tail: missing --schema FILE for --topic t2" \
    plain "$F" tail "${T[@]}" --topic t2
check tail_same_table 2 "^fstore tail: table t1 would be filled from --topic t1 and --topic t2" \
    plain "$F" tail "${T[@]}" --topic t2 --schema "$SCHEMA" --table t1
check tail_second_writer_id 2 "needs --format avro" plain \
    "$F" tail "${T[@]}" --format avro --topic t2 --schema "$SCHEMA" \
    --writer-schema-id 3

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

# ---- export ---------------------------------------------------------------
# export_to FILE CMD...: runs CMD --out FILE, then prints FILE (an Avro file
# through avrocat) so that the golden output shows what was written.
export_to() {
    local file=$1
    shift
    "$@" --out "$file" || return
    case $file in
    *.avro) "$AVROCAT" "$file" ;;
    *) cat "$file" ;;
    esac
}
X=(--store "$S" --table features)
check help_export 0 "" plain "$F" export --help
check export_jsonl 0 "" plain "$F" export "${X[@]}" --format jsonl --out -
check export_csv 0 "" plain export_to "$WORK/f.csv" "$F" export "${X[@]}" \
    --format csv
check export_avro 0 "" plain export_to "$WORK/f.avro" "$F" export "${X[@]}" \
    --format avro
check export_avro_plain 0 "" plain export_to "$WORK/p.avro" "$F" export \
    --store "$S" --table other --format avro --codec null --key-type bytes
check export_other_csv 0 "" plain "$F" export --store "$S" --table other \
    --format csv --out -
check export_no_format 2 "^fstore export: missing --format" plain \
    "$F" export "${X[@]}" --out -
check export_bad_format 2 "^fstore export: --format is jsonl, csv or avro" \
    plain "$F" export "${X[@]}" --format parquet --out -
check export_avro_stdout 2 "^fstore export: --format avro writes a file" \
    plain "$F" export "${X[@]}" --format avro --out -
check export_codec_needs_avro 2 "^fstore export: --codec and --key-type need --format avro" \
    plain "$F" export "${X[@]}" --format csv --codec null --out -
check export_bad_codec 2 "^fstore export: --codec is deflate or null" plain \
    "$F" export "${X[@]}" --format avro --codec zstd --out "$WORK/x.avro"
check export_no_table 1 "^fstore export: no table \"nope\" in store .*: features other" \
    plain "$F" export --store "$S" --table nope --format csv --out "$WORK/n.csv"
check export_no_store 1 "^fstore export: cannot open store .*FSTORE_ERR_NO_STORE" \
    plain "$F" export --store "$WORK/absent" --table t --format csv --out -
# A failed export leaves neither FILE nor FILE.tmp behind.
absent() {
    for f; do [ ! -e "$f" ] || echo "$f exists"; done
}
check export_nothing_left 0 "" plain absent "$WORK/n.csv" "$WORK/n.csv.tmp" \
    "$WORK/x.avro" "$WORK/x.avro.tmp"
# A damaged row (one byte of its string changed in the data file) fails its
# checksum: the export stops, names the key and writes nothing.
cp -r "$S" "$WORK/damaged"
off=$(grep -obUa 'coder' "$WORK/damaged/data.mdb" | head -n1 | cut -d: -f1)
printf 'K' | dd of="$WORK/damaged/data.mdb" bs=1 seek="${off:-0}" \
    conv=notrunc status=none
check export_damaged 1 "^fstore export: .*key \"user-1\".*damaged.*FSTORE_ERR_CORRUPT" \
    plain "$F" export --store "$WORK/damaged" --table features --format jsonl \
    --out "$WORK/d.jsonl"
check export_damaged_nothing_left 0 "" plain absent "$WORK/d.jsonl" \
    "$WORK/d.jsonl.tmp"

# ---- verify ---------------------------------------------------------------
# The report's path and page counts depend on the run, the rest does not.
verify_filter() {
    sed -E -e 's/("path": )"[^"]*"/\1"PATH"/' \
        -e 's/("(pages|free_pages|page_size)": )[0-9]+/\1N/'
}
check verify_help 0 "" plain "$F" help verify
check verify_clean 0 "" plain "$F" verify --store "$S"
check verify_clean_json 0 "" verify_filter "$F" verify --store "$S" --json -q
# The store damaged for export above: one byte of user-1's name changed.
check verify_damaged 1 "^fstore verify: store .*/damaged is damaged: problems 1, damaged rows 1 of 5" \
    plain "$F" verify --store "$WORK/damaged"
check verify_damaged_json 1 "^fstore verify: store .*/damaged is damaged" \
    verify_filter "$F" verify --store "$WORK/damaged" --json
check verify_no_store 1 "^fstore verify: cannot open store .*FSTORE_ERR_NO_STORE" \
    plain "$F" verify --store "$WORK/absent"
check verify_no_flag 2 "^fstore verify: missing --store" plain "$F" verify
check verify_extra_arg 2 "^fstore verify: unexpected argument 'x'" plain \
    "$F" verify --store "$S" x
check verify_bad_option 2 "^fstore verify: unknown option --bogus" plain \
    "$F" verify --bogus

# ---- snapshot, restore, tail --seed (no broker reached) --------------------
# fstore get of the golden store's rows, to compare a restored copy with.
GET=(--table features user-1 user-2 'quote"key\' gone missing)
# empty_dir DIR: prints DIR's entries, "empty" or "absent".
empty_dir() {
    local entries
    [ -d "$1" ] || { echo absent; return; }
    entries=$(ls -A "$1")
    echo "${entries:-empty}"
}
# hides CMD...: runs CMD; fails (status 99) when its stderr shows the
# password or the query string of the URLs below.
hides() {
    local status
    "$@" 2>"$WORK/hides.err"
    status=$?
    cat "$WORK/hides.err" >&2
    if grep -Eq 'pw@|hunter2|X-Signature|secret' "$WORK/hides.err"; then
        echo "stderr shows a secret" >&2
        return 99
    fi
    return "$status"
}
# piped: fstore snapshot --out - | fstore restore --in -, then the rows.
piped() {
    "$F" snapshot --store "$S" --out - | "$F" restore --in - --store "$WORK/piped" &&
        "$F" get --store "$WORK/piped" "${GET[@]}"
}
check help_snapshot 0 "" plain "$F" snapshot --help
check help_restore 0 "" plain "$F" help restore
check snapshot_no_out 2 "^fstore snapshot: missing --out FILE\|-" plain \
    "$F" snapshot --store "$S"
check snapshot_in 2 "^fstore snapshot: unknown option --in" plain \
    "$F" snapshot --store "$S" --in x
check restore_no_in 2 "^fstore restore: missing --in FILE\|-\|URL" plain \
    "$F" restore --store "$WORK/r"
check restore_no_store 2 "^fstore restore: missing --store DIR" plain \
    "$F" restore --in x
check snapshot_file 0 "^fstore snapshot: wrote .*/snap.fst \([0-9.]+ (bytes|KiB)\) in [0-9.]+ s$" \
    plain "$F" snapshot --store "$S" --out "$WORK/snap.fst"
check restore_file 0 "^fstore restore: created .*/restored in [0-9.]+ s: store of [0-9.]+ KiB, from a snapshot of [0-9.]+ (bytes|KiB)$" \
    plain "$F" restore --in "$WORK/snap.fst" --store "$WORK/restored"
check restore_file_get 0 "" plain "$F" get --store "$WORK/restored" "${GET[@]}"
check snapshot_pipe_restore 0 "^fstore restore: created .*/piped in" plain piped
CASE_STDIN=$WORK/snap.fst check restore_stdin_file 0 "from a snapshot of" plain \
    "$F" restore --in - --store "$WORK/from-stdin"
check restore_not_empty 1 "^fstore restore: cannot restore into .*/restored: .*exists and is not empty.*FSTORE_ERR_IO" \
    plain "$F" restore --in "$WORK/snap.fst" --store "$WORK/restored"
check restore_empty_stdin 1 "^fstore restore: cannot restore into .*/e: standard input is not an fstore snapshot \(it is empty\); nothing was restored \(FSTORE_ERR_CORRUPT\)" \
    plain "$F" restore --in - --store "$WORK/e"
head -c 300 "$WORK/snap.fst" >"$WORK/trunc.fst"
mkdir "$WORK/mnt"
check restore_truncated 1 "^fstore restore: cannot restore into .*/mnt: .*/trunc.fst is damaged: it ends early \(truncated\); nothing was restored \(FSTORE_ERR_CORRUPT\)" \
    plain "$F" restore --in "$WORK/trunc.fst" --store "$WORK/mnt"
# An existing empty directory (a mount point) stays, empty; one the failed
# restore created is removed.
check restore_failed_left 0 "" plain empty_dir "$WORK/mnt"
check restore_failed_left_new 0 "" plain empty_dir "$WORK/e"
check restore_into_empty_dir 0 "^fstore restore: created .*/mnt in" plain \
    "$F" restore --in "$WORK/snap.fst" --store "$WORK/mnt"
check restore_url_refused 1 "^fstore restore: cannot restore into .*/u: reading http://127\.0\.0\.1:1/snap\.fst \(query not shown\): .*FSTORE_ERR_IO" \
    plain hides "$F" restore --store "$WORK/u" \
    --in 'http://reader:hunter2@127.0.0.1:1/snap.fst?X-Signature=secret'
# -X: store properties for the new store (or of the snapshot's reading).
filemode() { stat -c '%a' "$1"; }
check restore_x_props 0 "^fstore restore: created .*/xprops in" plain \
    "$F" restore --in "$WORK/snap.fst" --store "$WORK/xprops" \
    -X store.sync=full -X store.file_mode=0640
check restore_x_props_mode 0 "" plain filemode "$WORK/xprops/data.mdb"
check restore_x_kafka 2 "^fstore restore: -X sasl.password: only store.\* properties and log.level apply here$" \
    plain "$F" restore --in "$WORK/snap.fst" --store "$WORK/x" -X sasl.password=hunter2
check restore_x_bad_value 2 "^fstore restore: -X store.sync: .*not one of" plain \
    "$F" restore --in "$WORK/snap.fst" --store "$WORK/x" -X store.sync=sometimes
check snapshot_x_read_only 2 "^fstore snapshot: -X store.read_only: not a property of fstore snapshot" \
    plain "$F" snapshot --store "$S" --out "$WORK/x.fst" -X store.read_only=false
check snapshot_x_threads 0 "^fstore snapshot: wrote .*/one-thread.fst" plain \
    "$F" snapshot --store "$S" --out "$WORK/one-thread.fst" -X store.snapshot_threads=1
printf 'FSTORESNAP but garbage after it, and more of it, past the 64 bytes of a header\n' \
    >"$WORK/garbage.fst"
# A bug that ignored the seed would tail (port 1: nothing answers): bounded.
T2=(--brokers 127.0.0.1:1 --topic t1 --schema "$SCHEMA" --store "$WORK/seeded"
    --until-caught-up --timeout 3)
check tail_seed_empty 2 "^fstore tail: store.seed: " plain \
    "$F" tail "${T2[@]}" --seed ''
check tail_seed_bad 1 "^fstore tail: cannot open store .*/seeded: seeding .*/seeded \(store.seed\): .*/garbage.fst is not an fstore snapshot \(no snapshot header\); nothing was restored \(FSTORE_ERR_CORRUPT\)" \
    plain "$F" tail "${T2[@]}" --seed "$WORK/garbage.fst"
check tail_seed_bad_left 0 "" plain empty_dir "$WORK/seeded"
# -X store.seed=SRC is the same as --seed SRC.
mkdir "$WORK/seeded"
check tail_seed_x_truncated 1 "^fstore tail: cannot open store .*/seeded: seeding .*/trunc.fst is damaged: it ends early \(truncated\); nothing was restored" \
    plain "$F" tail "${T2[@]}" -X store.seed="$WORK/trunc.fst"
check tail_seed_x_left 0 "" plain empty_dir "$WORK/seeded"
check tail_seed_url_refused 1 "^fstore tail: cannot open store .*/seeded: seeding .*: reading https://127\.0\.0\.1:1/s \(query not shown\)" \
    plain hides "$F" tail "${T2[@]}" -q \
    --seed 'https://reader:hunter2@127.0.0.1:1/s?X-Signature=secret'

# ---- produce: usage and bad lines (no Kafka client starts) ----------------
# both CMD...: stderr into stdout, so the golden file holds the messages.
both() { "$@" 2>&1; }
PSCHEMA=$WORK/p.avsc
cat >"$PSCHEMA" <<'EOF'
{"type": "record", "name": "P", "namespace": "cli.produce", "fields": [
  {"name": "active", "type": "boolean"},
  {"name": "visits", "type": "int"},
  {"name": "total", "type": "long"},
  {"name": "score", "type": "float"},
  {"name": "ratio", "type": "double"},
  {"name": "name", "type": "string"},
  {"name": "blob", "type": "bytes"},
  {"name": "tier", "type": {"type": "enum", "name": "Tier",
                            "symbols": ["FREE", "PRO", "ENTERPRISE"]}},
  {"name": "hash", "type": {"type": "fixed", "name": "Hash4", "size": 4}},
  {"name": "embedding", "type": {"type": "array", "items": "float"}},
  {"name": "ids", "type": {"type": "array", "items": "long"}},
  {"name": "last_seen", "type": {"type": "long",
                                 "logicalType": "timestamp-millis"}},
  {"name": "birthday", "type": {"type": "int", "logicalType": "date"}},
  {"name": "counts", "type": {"type": "array", "items": "int"},
   "default": [7]},
  {"name": "nickname", "type": ["null", "string"], "default": null},
  {"name": "bonus", "type": ["null", "double"], "default": null},
  {"name": "plan", "type": ["null", {"type": "enum", "name": "Plan",
                                     "symbols": ["BASIC", "PLUS", "MAX"]}],
   "default": null},
  {"name": "history", "type": ["null", {"type": "array", "items": "float"}],
   "default": null}
]}
EOF
# A value with every field without a default; the cases below vary it.
V='"active":true,"visits":3,"total":9007199254740993,"score":0.5,"ratio":0.1,"name":"Zo\u00eb \"q\"","blob":"\u0000\u00ffA","tier":"PRO","hash":"\u00de\u00ad\u00be\u00ef","embedding":[0.5,-1.25],"ids":[-9223372036854775808,1],"last_seen":1700000000123,"birthday":19000'
{
    echo '{"key": "a", "value": '
    echo '[1, 2]'
    echo '{"value": {}}'
    echo '{"key": "", "value": null}'
    echo '{"key": "a"}'
    echo "{\"key\":\"a\",\"value\":{${V/\"visits\":3/\"visits\":\"x\"}}}"
    echo "{\"key\":\"a\",\"value\":{${V/\"visits\":3/\"visits\":3000000000}}}"
    echo "{\"key\":\"a\",\"value\":{${V/\"PRO\"/\"GOLD\"}}}"
    echo "{\"key\":\"a\",\"value\":{${V/\\u00de\\u00ad\\u00be/}}}"
    echo "{\"key\":\"a\",\"value\":{${V/\\u00ff/\\u0100}}}"
    echo "{\"key\":\"a\",\"value\":{${V/-1.25/\"a\"}}}"
    echo "{\"key\":\"a\",\"value\":{$V,\"nickname\":5}}"
    echo "{\"key\":\"a\",\"value\":{$V,\"bogus\":1}}"
    echo "{\"key\":\"a\",\"value\":{${V/\"active\":true,/}}}"
    echo '{"key": "a", "value": 5}'
    echo '{"key": "a", "value": null, "partition": 1}'
    echo '{"key": 1, "value": null}'
} >"$WORK/bad.jsonl"
P=(--brokers 127.0.0.1:1 --topic prod --schema "$PSCHEMA")
check help_produce 0 "" plain "$F" help produce
CASE_STDIN=$WORK/bad.jsonl check produce_bad_lines 1 "" plain \
    both "$F" produce "${P[@]}" --schema-id 9 --input -
check produce_bad_file 1 "^fstore produce: .*/bad.jsonl:1: invalid JSON" \
    plain "$F" produce "${P[@]}" --schema-id 9 --input "$WORK/bad.jsonl"
check produce_no_schema_id 2 "^fstore produce: missing --schema-id" plain \
    "$F" produce "${P[@]}" --input "$WORK/bad.jsonl"
check produce_bad_schema_id 2 "^fstore produce: --schema-id wants a number" \
    plain "$F" produce "${P[@]}" --schema-id -1 --input "$WORK/bad.jsonl"
check produce_no_input 2 "^fstore produce: missing --input" plain \
    "$F" produce "${P[@]}" --schema-id 9
check produce_bad_x 2 "^fstore produce: -X bogus.prop=\\.\\.\\.: " plain \
    "$F" produce "${P[@]}" --schema-id 9 --input - -X bogus.prop=1
# A refused property is named, its value never shown (a mistyped password
# property would print the password).
check produce_bad_x_secret 2 "^fstore produce: -X sasl.pasword=\\.\\.\\.: No such configuration property" plain \
    hides "$F" produce "${P[@]}" --schema-id 9 --input - -X sasl.pasword=hunter2
check produce_input_absent 1 "^fstore produce: cannot open --input" plain \
    "$F" produce "${P[@]}" --schema-id 9 --input "$WORK/absent.jsonl"
check produce_bad_schema 1 "^fstore produce: --schema .* must be an Avro record" \
    plain "$F" produce --brokers b:1 --topic t --schema-id 9 --input - \
    --schema <(echo '"long"')

# ---- demo: usage and store errors (before any Kafka client starts) -------
check help_demo 0 "" plain "$F" demo --help
check demo_bad_entities 2 "^fstore demo: --entities wants 1 to" plain \
    "$F" demo --entities 0
check demo_topic_needs_brokers 2 "^fstore demo: --topic needs --brokers" \
    plain "$F" demo --topic t
check demo_store_not_empty 1 "^fstore demo: --store .* is not empty" plain \
    "$F" demo --store-only --store "$S"
check demo_records_store_only 2 "^fstore demo: --topic and --records are for --store-only" \
    plain "$F" demo --records 10
check demo_batch_pipeline_only 2 "^fstore demo: --commit-ms, --batch, --model and --json are for the pipeline" \
    plain "$F" demo --store-only --batch 8
check demo_bad_commit_ms 2 "^fstore demo: --commit-ms wants 1 to 60000" plain \
    "$F" demo --commit-ms 0

# Every case from here on starts a Kafka client (a tailer, a producer or
# the mock cluster): all are counted as skipped, each by name, under
# FSTORE_CLI_NO_KAFKA=1.
if [ "$NO_KAFKA" = 1 ]; then
    NOT_RUN="skip: starts a Kafka client, and FSTORE_CLI_NO_KAFKA=1"
fi

# ---- tail: timeout and stopping (nothing listens on port 1) ---------------
check tail_timeout 1 "^fstore tail: not caught up after 1 s" plain \
    "$F" tail "${T[@]}" -q -X fetch.wait.max.ms=50 --until-caught-up --timeout 1
check tail_kafka_prop_refused 1 "^fstore tail: cannot start tailing t1: kafka.bogus.prop: .*FSTORE_ERR_CONF" \
    plain "$F" tail "${T[@]}" -X bogus.prop=1
# The failed runs above still created the table: it is empty, not missing.
check tail_table_created 0 "" plain "$F" get --store "$WORK/tail" --table t1 k

# A running tailer stops cleanly on SIGTERM and exits 0.
if ! not_run tail_sigterm; then
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
fi

# ---- tail end to end: librdkafka's mock cluster on a loopback port ---------
# mock_start N [TOPIC]: a cluster whose topic "feat" (or TOPIC) has 3
# partitions, keys k0..kN-1 with x = 10 * i, then k0 deleted; values are
# Confluent-framed with writer schema id 7, found in --schemas DIR. Sets B to
# its bootstrap servers. When it does not start, the cases up to mock_stop
# are each counted as failed, not run. mock_stop ends it. Nothing starts
# while cases are skipped (NOT_RUN).
mkfifo "$WORK/ctl"
mock_start() {
    B=""
    [ -n "$NOT_RUN" ] && return
    : >"$WORK/boot"
    "$MOCKKAFKA" "${2:-feat}" 3 "$1" <"$WORK/ctl" >"$WORK/boot" \
        2>"$WORK/mock.err" &
    mockpid=$!
    exec 3>"$WORK/ctl" # the cluster stays up until this closes
    for _ in $(seq 300); do
        [ -s "$WORK/boot" ] && break
        kill -0 "$mockpid" 2>/dev/null || break
        sleep 0.1
    done
    B=$(head -n1 "$WORK/boot")
    if [ -z "$B" ]; then
        NOT_RUN="fail: mockkafka did not start"
        echo "mockkafka did not start:"
        sed 's/^/  stderr: /' "$WORK/mock.err" | head -20
    fi
}
mock_stop() {
    [ "$NOT_RUN" = "fail: mockkafka did not start" ] && NOT_RUN=""
    [ -n "$mockpid" ] || return 0
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
# The tailed store checks clean: rows, offsets and pages.
check verify_mock 0 "" plain "$F" verify --store "$WORK/mock"
# A replica seeded from a snapshot of the tailed store reads nothing more:
# tailing resumes at the snapshot's offsets, which are the topic's end.
check mock_snapshot 0 "^fstore snapshot: wrote" plain \
    "$F" snapshot --store "$WORK/mock" --out "$WORK/mock.fst"
check mock_seed_tail 0 "^fstore tail: caught up in [0-9.]+ s: 0 records" \
    plain "$F" tail "${M[@]/$WORK\/mock/$WORK/mock-seeded}" --seed "$WORK/mock.fst"
check mock_seed_get 0 "" ts_filter "$F" get --store "$WORK/mock-seeded" \
    --table feat k0 k1 k2 k500 k999 k1000
# A store is there now: the seed is ignored (a bad one too).
check mock_seed_ignored 0 "^fstore tail: caught up in [0-9.]+ s: 0 records" \
    plain "$F" tail "${M[@]/$WORK\/mock/$WORK/mock-seeded}" --seed "$WORK/garbage.fst"
mock_stop

# Two topics into two tables of one store, the second from partition 0 only.
mock_start 100 feat,feat2
M=(--brokers "$B" --schemas "$WORK/ids" --store "$WORK/mock-two"
    --until-caught-up --timeout 60)
check mock_tail_two 0 "^fstore tail:   table f2 \(topic feat2\): 32 rows, 34 records" plain \
    "$F" tail "${M[@]}" --topic feat --schema "$SCHEMA" \
    --topic feat2 --schema "$SCHEMA" --table f2 --partitions 0
check mock_get_two 0 "" ts_filter "$F" get --store "$WORK/mock-two" \
    --table feat k0 k1 k99
check mock_get_two_f2 0 "" ts_filter "$F" get --store "$WORK/mock-two" \
    --table f2 k1 k2 k99
check mock_tail_two_again 0 "^fstore tail: caught up in [0-9.]+ s: 0 records" \
    plain "$F" tail "${M[@]}" --topic feat --schema "$SCHEMA" \
    --topic feat2 --schema "$SCHEMA" --table f2 --partitions 0
mock_stop

# The topic is recreated with 10 records: the stored offsets are gone. The
# tailer stops on that error (tail.offset_reset=fail), or reloads the table.
mock_start 10
M=(--brokers "$B" --topic feat --schema "$SCHEMA" --schemas "$WORK/ids"
    --store "$WORK/mock" --table feat --until-caught-up --timeout 60 -q)
check mock_offset_gone 1 "^fstore tail: the tailer stopped on an error: .*stored offset no longer exists.*FSTORE_ERR_KAFKA" \
    plain "$F" tail "${M[@]}"
check mock_rebuild 0 "rebuilding table \"feat\"" plain \
    "$F" tail "${M[@]}" -X tail.offset_reset=rebuild
check mock_get_rebuilt 0 "" ts_filter "$F" get --store "$WORK/mock" \
    --table feat k0 k1 k9 k10 k500
mock_stop

# ---- produce end to end: JSON lines → topic → fstore tail → fstore get -----
# Topic "prod" starts with only the tombstone of k0 (mockkafka with 0
# records). Line 5 is bad: reported, not sent, exit status 1; the rest are
# delivered (p4 put, then deleted).
mkdir "$WORK/pids"
cp "$PSCHEMA" "$WORK/pids/9.avsc"
{
    echo "{\"key\":\"p1\",\"value\":{$V,\"history\":[1.5,\"NaN\",\"-Infinity\"]}}"
    echo "{\"key\":\"p2\",\"value\":{${V/\"PRO\"/\"FREE\"}}}"
    echo ''
    echo "{\"key\":\"p3\",\"value\":{$V,\"counts\":[],\"nickname\":\"nick\",\"bonus\":1e300,\"plan\":\"BASIC\",\"history\":[]}}"
    echo "{\"key\":\"p9\",\"value\":{${V/\"visits\":3/\"visits\":1.5}}}"
    echo "{\"key\":\"p4\",\"value\":{$V}}"
    echo '{"key":"p4","value":null}'
} >"$WORK/good.jsonl"
echo "{\"key\":\"p5\",\"value\":{$V,\"bonus\":-0.25}}" >"$WORK/p5.jsonl"
mock_start 0 prod
PT=(--brokers "$B" --topic prod --schema "$PSCHEMA" --schemas "$WORK/pids"
    --store "$WORK/prod" --until-caught-up --timeout 60 -q)
CASE_STDIN=$WORK/good.jsonl check produce_mock 1 "" plain both \
    "$F" produce --brokers "$B" --topic prod --schema "$PSCHEMA" \
    --schema-id 9 --input -
CASE_STDIN=$WORK/p5.jsonl check produce_mock_stdin 0 \
    "^fstore produce: delivered 1 records to prod \(values 1, tombstones 0, bytes [0-9]+\); per partition: [0-2]: 1$" \
    plain "$F" produce --brokers "$B" --topic prod --schema "$PSCHEMA" \
    --schema-id 9 --input - -X kafka.linger.ms=1
check produce_mock_tail 0 "" plain "$F" tail "${PT[@]}"
check produce_mock_get 0 "" ts_filter "$F" get --store "$WORK/prod" \
    --table prod p1 p2 p3 p4 p5 p9 k0
mock_stop

# ---- demo: the five-step pipeline on the in-process mock cluster ----------
# Exit 0, every figure of the summary on stdout (each latency row with
# samples), nothing from the demo on stderr (--quiet), its temporary
# directory removed at exit.
case_demo_pipeline() {
    local status why pat
    mkdir "$WORK/pipe-tmp"
    TMPDIR=$WORK/pipe-tmp "$F" demo --entities 2000 --seconds 2 --rate 500 \
        --quiet >"$WORK/pipe.out" 2>"$WORK/pipe.err"
    status=$?
    why=""
    if [ "$status" != 0 ]; then
        why="exit status $status, expected 0"
    elif grep -Eq "$SANITIZER|^fstore demo:" "$WORK/pipe.err"; then
        why="messages on stderr"
    elif [ -n "$(ls -A "$WORK/pipe-tmp")" ]; then
        why="the temporary directory was not removed"
    fi
    N='[0-9]+\.[0-9]{2}'
    for pat in "^fstore demo: the pipeline on librdkafka's in-process mock cluster: [0-9]+ s of payments at 500/s over 2,000 users" \
        "^  Kafka's own produce -> consume \(same events\) +$N +$N +$N +[1-9][0-9,]*$" \
        "^  -> its feature record committed +$N +$N +$N +[1-9][0-9,]*$" \
        "^  -> visible in the store \(seen by the scorer\) +$N +$N +$N +[1-9][0-9,]*$" \
        "^  -> its prediction produced +$N +$N +$N +[1-9][0-9,]*$" \
        '^  aggregate +[1-9][0-9,]* events in [1-9][0-9,]* transactions' \
        '^  store +[1-9][0-9,]* feature records applied' \
        '^  scoring +[1-9][0-9,]* requests in [1-9][0-9,]* micro-batches' \
        '^  predictions +[1-9][0-9,]* delivered to predictions' \
        "^one user's story: u[0-9]{6}, number 100 of 2,000 by activity" \
        '^  payments_5m +[1-9][0-9]*$' \
        '^  its last score: [01]\.[0-9]{4}, from features as of [1-9][0-9]+ \(ms\)$'; do
        [ -n "$why" ] && break
        grep -Eq -- "$pat" "$WORK/pipe.out" || why="no line /$pat/ in the summary"
    done
    if [ -z "$why" ]; then
        pass=$((pass + 1))
        echo "ok   demo_pipeline"
    else
        fail=$((fail + 1))
        echo "FAIL demo_pipeline: $why"
        sed 's/^/  stdout: /' "$WORK/pipe.out" | head -40
        sed 's/^/  stderr: /' "$WORK/pipe.err" | head -20
    fi
}
not_run demo_pipeline || case_demo_pipeline

# ---- demo --store-only: the store alone on the in-process mock cluster ----
# Exit 0, every figure of the summary on stdout, nothing from the demo on
# stderr (--quiet), and its temporary store removed at exit.
case_demo() {
    local status why pat
    mkdir "$WORK/demo-tmp"
    TMPDIR=$WORK/demo-tmp "$F" demo --store-only --entities 2000 --records 6000 --seconds 1 \
        --rate 2000 --quiet >"$WORK/demo.out" 2>"$WORK/demo.err"
    status=$?
    why=""
    if [ "$status" != 0 ]; then
        why="exit status $status, expected 0"
    elif grep -Eq "$SANITIZER|^fstore demo:" "$WORK/demo.err"; then
        why="messages on stderr"
    elif [ -n "$(ls -A "$WORK/demo-tmp")" ]; then
        why="the temporary store was not removed"
    fi
    for pat in '^fstore demo results$' \
        '^  entities bootstrapped +[1-9][0-9,]* \(of 2,000 entities' \
        '^  bootstrap rate +[1-9][0-9,]* records/s \(' \
        '^  lookup +p50 [0-9.]+ (ns|us|ms)  p99 [0-9.]+ (ns|us|ms) \(fstore_get \+ 15 columns' \
        '^  batch throughput +[1-9][0-9,]* keys/s \(fstore_get_batch of 256 keys x 13 columns' \
        '^  live updates +[1-9][0-9,]* records in ' \
        '^  produce->visible +p50 [0-9.]+ (us|ms|s)  p99 [0-9.]+ (us|ms|s) \(' \
        '^  freshness +p50 [0-9.]+ ms  p99 [0-9.]+ ms \(' \
        '^    of which fstore.s +p50 [0-9.]+ ms  p99 [0-9.]+ ms \(tailer: taken off' \
        '^feature vector of user-[0-9]+ \(popularity rank 1 ' \
        '^  segment +(NEW|CASUAL|REGULAR|POWER|DORMANT)$' \
        '^  embedding +\[ *-?[0-9]'; do
        [ -n "$why" ] && break
        grep -Eq -- "$pat" "$WORK/demo.out" || why="no line /$pat/ in the summary"
    done
    if [ -z "$why" ]; then
        pass=$((pass + 1))
        echo "ok   demo"
    else
        fail=$((fail + 1))
        echo "FAIL demo: $why"
        sed 's/^/  stdout: /' "$WORK/demo.out" | head -40
        sed 's/^/  stderr: /' "$WORK/demo.err" | head -20
    fi
}
not_run demo || case_demo

echo "cases: $pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
