#!/usr/bin/env python3
"""Smoke check of a bench run's JSON (bench/run.sh --check): every
measurement produced a number. It never judges whether a number is fast.

A figure fails when it is missing (null), not a finite number, or not
positive where it counts something (rates, latencies, sizes). Ratios must be
positive numbers too. Under "ingest" (bench_ingest) every number must be
finite and positive, the figures listed in INGEST_FIGURES must be there, for
the bootstrap, the size, both read cases and both paths (Kafka, fstore) at
every freshness rate of the run, and every produced record must have been
seen. Under "aggregate" (bench_aggregate) every figure must be a finite
number, never negative; those listed in AGG_FIGURES must be there and
positive, those in AGG_COUNTS there and at least 0 (a restart may restore
nothing), and at every freshness rate of the run each path (Kafka, the
feature record, the tailing store) must hold the figures of AGG_PATH and
have seen every produced event. Under "pipeline" (one run of `fstore demo
--brokers` per rate and commit interval) every stage's latency must have
samples and finite positive percentiles, every request a delivered
prediction, and the aggregator must have committed. Under "snapshot"
(bench_snapshot --only files) every number must be finite, and each case
(fstore_snapshot and fstore_restore, zstd compression and decompression,
the copy) must hold the figures of SNAP_CASE and, but for the copy,
SNAP_STREAM, with the ratios of SNAP_RATIOS. Under "snapshot_seeded"
(bench_snapshot --only seeded) the seeded start must have run (not been
skipped), hold the figures of SEEDED_FIGURES, and both replicas the same
rows. "ingest_big_bootstrap" is null when the run skipped it
(big_bootstrap_entities 0), else must hold the figures of BIG_FIGURES. Exit
0 when all pass, 1 otherwise, naming each."""
import json
import math
import sys

COUNTED = ("ops", "per_s", "rate", "ns", "p50", "p99", "p999", "mean", "bytes",
           "mb", "value", "rows")


# Paths below "ingest" that must hold a finite positive number.
INGEST_FIGURES = (
    "records", "load.records_per_s",
    "bootstrap.consume_only[0].records_per_s",
    "bootstrap.consume_only[1].records_per_s",
    "bootstrap.consume_only_mean_records_per_s",
    "bootstrap.fstore.records", "bootstrap.fstore.seconds",
    "bootstrap.fstore.records_per_s", "bootstrap.ratio_fstore_over_consume_only",
    "size.mean_value_bytes_unframed", "size.store_used_bytes",
    "size.store_disk_bytes", "size.used_bytes_per_entity",
    "size.disk_bytes_per_entity", "size.ratio_used_over_values",
    "size.ratio_disk_over_values",
    "reads.read_only.lookups_per_s", "reads.read_only.p50_ns",
    "reads.read_only.p99_ns",
    "reads.during_ingest.lookups_per_s", "reads.during_ingest.p50_ns",
    "reads.during_ingest.p99_ns", "reads.during_ingest.updates_produced",
    "reads.during_ingest.updates_applied",
    "reads.during_ingest.updated_entities_checked",
    "reads.ratio_during_over_read_only",
    "ratios.bootstrap_fstore_over_consume_only.value",
    "ratios.size_used_over_values.value",
    "ratios.reads_during_over_read_only.value",
)
# Per freshness rate, per path.
FRESH_FIGURES = ("produced", "seen", "achieved_rate", "samples", "mean_ms",
                 "p50_ms", "p99_ms", "p999_ms", "max_ms")


# Paths below "aggregate" that must hold a finite positive number.
AGG_FIGURES = (
    "events", "entities", "partitions", "seconds_per_case",
    "load.events", "load.distinct_entities", "load.seconds", "load.events_per_s",
    "throughput.events", "throughput.wall_s", "throughput.cpu_s",
    "throughput.events_per_s", "throughput.events_per_cpu_s",
    "throughput.ready_s", "throughput.commits", "throughput.commit_p50_ms",
    "throughput.commit_p99_ms", "throughput.commit_max_ms",
    "throughput.emitted", "throughput.entities", "throughput.state_bytes",
    "throughput.state_bytes_per_entity",
    "restart.entities", "restart.killed.seconds_before_kill",
    "restart.killed.ms_after_last_commit", "restart.killed.planned_delay_ms",
    "restart.killed.events_at_kill", "restart.killed.entities_at_kill",
    "restart.killed.commits_at_kill",
    "restart.after_sigkill.ready_s", "restart.after_sigkill.caught_up_s",
    "restart.after_sigkill.events_read", "restart.after_sigkill.entities",
    "restart.after_sigkill.commits",
    "restart.after_clean_stop.ready_s", "restart.after_clean_stop.caught_up_s",
    "restart.wiped.ready_s", "restart.wiped.caught_up_s",
    "restart.wiped.restored_records",
    "restart.ratio_ready_wiped_over_sigkill",
    "ratios.aggregate_events_per_cpu_s.value",
    "ratios.restart_ready_wiped_over_sigkill.value",
)
# Paths below "aggregate" that must hold a finite number >= 0: a restart
# after SIGKILL or a clean stop usually restores nothing, and one after a
# clean stop or on a wiped state reads no event.
AGG_COUNTS = (
    "restart.after_sigkill.restored_records",
    "restart.after_clean_stop.restored_records",
    "restart.after_clean_stop.events_read",
    "restart.wiped.events_read",
)
# Per aggregation freshness rate: the case, then each path.
AGG_FRESH = ("produced", "achieved_rate", "machine_busy_pct",
             "process_cpu_pct", "aggregator_commits",
             "aggregator_commit_p50_ms", "aggregator_commit_p99_ms",
             "tailer_apply_p99_ms")
AGG_PATHS = ("kafka", "output", "store")
AGG_PATH = ("seen", "samples", "mean_ms", "p50_ms", "p99_ms", "p999_ms",
            "max_ms")
# Text fields of the "aggregate" section; every other leaf is a number
# (booleans only as the ratios' "met").
AGG_TEXT = ("bench", "fstore_version", "librdkafka_version", "spec")


def at(doc, path):
    """The value at a dotted path with [i] indexes, or None."""
    x = doc
    for part in path.replace("[", ".[").split("."):
        if part.startswith("["):
            i = int(part[1:-1])
            x = x[i] if isinstance(x, list) and i < len(x) else None
        else:
            x = x.get(part) if isinstance(x, dict) else None
        if x is None:
            return None
    return x


def numeric(v):
    """An int or a float, not a bool."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def number(v):
    return numeric(v) and math.isfinite(v)


def positive(v):
    return number(v) and v > 0


def fresh_cases(sec, name, rates, bad):
    """The freshness cases of section `name` (bad += a rate of the run
    without one); [] with a problem when there are none."""
    fresh = sec.get("freshness")
    if not isinstance(fresh, list) or not fresh:
        bad.append(f"{name}.freshness: no figures")
        return []
    seen_rates = [f.get("rate") for f in fresh if isinstance(f, dict)]
    for r in rates:
        if r not in seen_rates:
            bad.append(f"{name}.freshness: no case at rate {r}")
    return fresh


def fresh_path(f, side, where, bad):
    """The figures of path `side` of freshness case `f`, or None with a
    problem."""
    s = f.get(side) if isinstance(f, dict) else None
    if not isinstance(s, dict):
        bad.append(f"{where}.{side}: missing")
        return None
    return s


def check_ingest(ing, rates, bad):
    """bad += what is wrong with the "ingest" section."""
    for p, v in leaves(ing):
        # "cpus" names CPUs (0 is one), it is not a figure.
        if numeric(v) and not positive(v) and not p.startswith(".cpus."):
            bad.append(f"ingest{p}: {v} (expected a finite positive figure)")
    for p in INGEST_FIGURES:
        if not numeric(at(ing, p)):
            bad.append(f"ingest.{p}: missing")
    for i, f in enumerate(fresh_cases(ing, "ingest", rates, bad)):
        where = f"ingest.freshness[{i}]"
        for side in ("kafka", "fstore"):
            s = fresh_path(f, side, where, bad)
            if s is None:
                continue
            for k in FRESH_FIGURES:
                if not numeric(s.get(k)):
                    bad.append(f"{where}.{side}.{k}: missing")
            if s.get("seen") != s.get("produced"):
                bad.append(f"{where}.{side}: {s.get('seen')} of "
                           f"{s.get('produced')} produced records seen")


def check_aggregate(agg, rates, bad):
    """bad += what is wrong with the "aggregate" section."""
    for p, v in leaves(agg):
        key = p.rsplit(".", 1)[-1]
        if p.startswith(".ratios.") and key in ("what", "target", "met"):
            continue
        if p[1:] in AGG_TEXT:
            if not isinstance(v, str):
                bad.append(f"aggregate{p}: {v!r} (expected text)")
        elif not number(v):
            bad.append(f"aggregate{p}: {v!r} (expected a finite number)")
        elif v < 0:
            bad.append(f"aggregate{p}: {v} (expected a figure >= 0)")
    for p in AGG_FIGURES:
        v = at(agg, p)
        if not positive(v):
            bad.append(f"aggregate.{p}: {'missing' if v is None else v}"
                       " (expected a finite positive figure)")
    for p in AGG_COUNTS:
        if not number(at(agg, p)):
            bad.append(f"aggregate.{p}: missing")
    for i, f in enumerate(fresh_cases(agg, "aggregate", rates, bad)):
        where = f"aggregate.freshness[{i}]"
        if not isinstance(f, dict):
            bad.append(f"{where}: not an object")
            continue
        for k in AGG_FRESH:
            if not positive(f.get(k)):
                bad.append(f"{where}.{k}: {f.get(k)!r} (expected a finite "
                           "positive figure)")
        for side in AGG_PATHS:
            s = fresh_path(f, side, where, bad)
            if s is None:
                continue
            for k in AGG_PATH:
                if not positive(s.get(k)):
                    bad.append(f"{where}.{side}.{k}: {s.get(k)!r} (expected a "
                               "finite positive figure)")
            if s.get("seen") != f.get("produced"):
                bad.append(f"{where}.{side}: {s.get('seen')} of "
                           f"{f.get('produced')} produced events seen")


# bench_snapshot --only files: per case, finite positive figures (cpu_s,
# and fsync_s of the baselines, may be 0 for a small store), then the ratios.
SNAP_CASES = ("snapshot", "zstd_compress", "snapshot_1t", "zstd_compress_1t",
              "restore", "zstd_decompress", "copy")
SNAP_CASE = ("threads", "seconds", "store_mb_per_s")
SNAP_STREAM = ("stream_bytes", "stream_mb_per_s")
SNAP_FILES = ("rows", "store_bytes", "store_bytes_per_row", "restored_bytes",
              "rounds", "threads")
SNAP_RATIOS = ("snapshot_over_zstd", "snapshot_1t_over_zstd_1t",
               "restore_over_zstd_decompress")
# bench_snapshot --only seeded.
SEEDED_FIGURES = (
    "entities", "gap_updates", "gap_new", "snapshot_bytes", "rows_compared",
    "produce.seconds", "bootstrap_a.seconds", "snapshot_a.seconds",
    "gap.seconds", "seeded.open_s", "seeded.ready_s", "seeded.time_to_ready_s",
    "seeded.rows", "seeded.store_bytes", "full.ready_s",
    "full.time_to_ready_s", "full.rows", "full.store_bytes",
    "ratio_full_over_seeded",
)


def check_numbers(sec, name, bad):
    """bad += every leaf of `sec` that is a number but not finite (text and
    booleans pass)."""
    for p, v in leaves(sec):
        if numeric(v) and not math.isfinite(v):
            bad.append(f"{name}{p}: {v} (expected a finite figure)")
        elif v is None:
            bad.append(f"{name}{p}: missing")


def check_snapshot(sec, bad):
    """bad += what is wrong with the "snapshot" section."""
    check_numbers(sec, "snapshot", bad)
    files = sec.get("files")
    if not isinstance(files, dict):
        bad.append("snapshot.files: no figures")
        return
    for k in SNAP_FILES:
        if not positive(files.get(k)):
            bad.append(f"snapshot.files.{k}: {files.get(k)!r} (expected a "
                       "finite positive figure)")
    cases = files.get("cases") or {}
    for c in SNAP_CASES:
        fig = cases.get(c)
        if not isinstance(fig, dict):
            bad.append(f"snapshot.files.cases.{c}: missing")
            continue
        for k in SNAP_CASE + (SNAP_STREAM if c != "copy" else ()):
            if not positive(fig.get(k)):
                bad.append(f"snapshot.files.cases.{c}.{k}: {fig.get(k)!r} "
                           "(expected a finite positive figure)")
        zero_ok = ("cpu_s", "fsync_s") if c.startswith(("zstd", "copy")) \
            else ("cpu_s",)
        for k in zero_ok:
            if not (number(fig.get(k)) and fig[k] >= 0):
                bad.append(f"snapshot.files.cases.{c}.{k}: {fig.get(k)!r} "
                           "(expected a finite figure >= 0)")
    for r in SNAP_RATIOS:
        if not positive(at(sec, f"ratios.{r}.value")):
            bad.append(f"snapshot.ratios.{r}: missing")


def check_seeded(sec, bad):
    """bad += what is wrong with the "snapshot_seeded" section."""
    check_numbers(sec, "snapshot_seeded", bad)
    st = sec.get("seeded_start")
    if not isinstance(st, dict) or "skipped" in st:
        why = st.get("skipped") if isinstance(st, dict) else "no figures"
        bad.append(f"snapshot_seeded.seeded_start: not measured ({why})")
        return
    for k in SEEDED_FIGURES:
        if not positive(at(st, k)):
            bad.append(f"snapshot_seeded.seeded_start.{k}: {at(st, k)!r} "
                       "(expected a finite positive figure)")
    if at(st, "seeded.rows") != at(st, "full.rows"):
        bad.append(f"snapshot_seeded: the seeded replica holds "
                   f"{at(st, 'seeded.rows')!r} rows, the full one "
                   f"{at(st, 'full.rows')!r}")
    if not positive(at(sec, "ratios.full_over_seeded_ready.value")):
        bad.append("snapshot_seeded.ratios.full_over_seeded_ready: missing")


PIPE_STAGES = ("kafka", "committed", "visible", "prediction", "produce_ack")


def check_pipeline(runs, bad):
    """bad += what is wrong with the "pipeline" section (a list of runs)."""
    if not isinstance(runs, list) or not runs:
        bad.append("pipeline: no runs")
        return
    for i, r in enumerate(runs):
        where = f"pipeline[{i}]"
        for k in ("rate", "achieved_rate", "seconds", "commit_ms", "process_cpu_s"):
            if not positive(r.get(k)):
                bad.append(f"{where}.{k}: {r.get(k)!r} (expected a finite positive figure)")
        for st in PIPE_STAGES:
            h = (r.get("latency_ms") or {}).get(st) or {}
            for q in ("p50", "p99", "max", "count"):
                if not positive(h.get(q)):
                    bad.append(f"{where}.latency_ms.{st}.{q}: {h.get(q)!r} "
                               "(expected a finite positive figure)")
        pr, sc = r.get("predictions") or {}, r.get("scoring") or {}
        if not positive(sc.get("requests")) or pr.get("delivered") != sc.get("requests"):
            bad.append(f"{where}: {pr.get('delivered')!r} predictions delivered for "
                       f"{sc.get('requests')!r} requests")
        if pr.get("failed") != 0:
            bad.append(f"{where}.predictions.failed: {pr.get('failed')!r}")
        if not positive((r.get("aggregate") or {}).get("commits")):
            bad.append(f"{where}.aggregate.commits: no transaction committed")


def leaves(x, path=""):
    if isinstance(x, dict):
        for k, v in x.items():
            yield from leaves(v, f"{path}.{k}")
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from leaves(v, f"{path}[{i}]")
    else:
        yield path, x


# Figures of the bootstrap alone at --big-bootstrap entities.
BIG_FIGURES = (
    "records", "bootstrap.consume_only_mean_records_per_s",
    "bootstrap.fstore.records", "bootstrap.fstore.seconds",
    "bootstrap.fstore.records_per_s", "bootstrap.ratio_fstore_over_consume_only",
    "size.store_used_bytes", "size.ratio_used_over_values",
)


def check_big_bootstrap(doc, bad):
    """bad += what is wrong with "ingest_big_bootstrap": null when the run
    skipped it (big_bootstrap_entities 0), else the bootstrap of that many
    entities with BIG_FIGURES finite and positive."""
    n = doc.get("big_bootstrap_entities")
    big = doc.get("ingest_big_bootstrap")
    if not isinstance(n, int) or n < 0:
        bad.append(f"big_bootstrap_entities: {n!r} (expected a count)")
        return
    if n == 0:
        if big is not None:
            bad.append("ingest_big_bootstrap: figures of a run that was skipped")
        return
    if not isinstance(big, dict):
        bad.append("ingest_big_bootstrap: missing")
        return
    for p in BIG_FIGURES:
        v = at(big, p)
        if not numeric(v) or not positive(v):
            bad.append(f"ingest_big_bootstrap.{p}: {'missing' if v is None else v}")
    if at(big, "records") != n:
        bad.append(f"ingest_big_bootstrap.records: {at(big, 'records')} (expected {n})")


def main(path):
    with open(path) as f:
        doc = json.load(f)
    bad, numbers = [], 0
    for p, v in leaves(doc):
        last = p.rsplit(".", 1)[-1].lower()
        if p.startswith(".ingest.") and v is not None:
            numbers += numeric(v)
            continue  # check_ingest: every number there must be positive
        if p.startswith(".aggregate."):
            numbers += number(v)
            continue  # check_aggregate: every leaf there is checked
        if p.startswith(".pipeline["):
            numbers += number(v)
            continue  # check_pipeline
        if p.startswith((".snapshot.", ".snapshot_seeded.")):
            numbers += number(v)
            continue  # check_snapshot, check_seeded
        if p == ".ingest_big_bootstrap" or p.startswith(".ingest_big_bootstrap."):
            numbers += numeric(v)
            continue  # check_big_bootstrap
        if v is None:
            bad.append(f"{p}: missing")
        elif isinstance(v, bool) or isinstance(v, str):
            continue
        elif isinstance(v, (int, float)):
            numbers += 1
            if not math.isfinite(v):
                bad.append(f"{p}: {v}")
            elif any(w in last for w in COUNTED) and v <= 0:
                bad.append(f"{p}: {v} (expected a positive figure)")
    check_big_bootstrap(doc, bad)
    for section in ("baselines", "get_bench", "snapshot", "snapshot_seeded",
                    "ingest", "aggregate", "pipeline"):
        if not doc.get(section):
            bad.append(f"{section}: no figures")
    if doc.get("ingest"):
        check_ingest(doc["ingest"], doc.get("ingest_rates") or [], bad)
    if doc.get("aggregate"):
        check_aggregate(doc["aggregate"], doc.get("aggregate_rates") or [],
                        bad)
    if doc.get("pipeline"):
        check_pipeline(doc["pipeline"], bad)
    if doc.get("snapshot"):
        check_snapshot(doc["snapshot"], bad)
    if doc.get("snapshot_seeded"):
        check_seeded(doc["snapshot_seeded"], bad)
    if numbers < 50:
        bad.append(f"only {numbers} figures in {path}")
    for b in bad:
        print("bench check: " + b, file=sys.stderr)
    print(f"bench check: {numbers} figures, {len(bad)} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
