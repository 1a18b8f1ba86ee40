#!/usr/bin/env python3
"""Smoke check of a bench run's JSON (bench/run.sh --check): every
measurement produced a number. It never judges whether a number is fast.

A figure fails when it is missing (null), not a finite number, or not
positive where it counts something (rates, latencies, sizes). Ratios must be
positive numbers too. Under "ingest" (bench_ingest) every number must be
finite and positive, the figures listed in INGEST_FIGURES must be there, for
the bootstrap, the size, both read cases and both paths (Kafka, fstore) at
every freshness rate of the run, and every produced record must have been
seen. Exit 0 when all pass, 1 otherwise, naming each."""
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


def positive(v):
    return (isinstance(v, (int, float)) and not isinstance(v, bool)
            and math.isfinite(v) and v > 0)


def check_ingest(ing, rates, bad):
    """bad += what is wrong with the "ingest" section."""
    for p, v in leaves(ing):
        if isinstance(v, (int, float)) and not isinstance(v, bool) \
                and not positive(v):
            bad.append(f"ingest{p}: {v} (expected a finite positive figure)")
    for p in INGEST_FIGURES:
        v = at(ing, p)
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            bad.append(f"ingest.{p}: missing")
    fresh = ing.get("freshness")
    if not isinstance(fresh, list) or not fresh:
        bad.append("ingest.freshness: no figures")
        return
    seen_rates = [f.get("rate") for f in fresh if isinstance(f, dict)]
    for r in rates:
        if r not in seen_rates:
            bad.append(f"ingest.freshness: no case at rate {r}")
    for i, f in enumerate(fresh):
        for side in ("kafka", "fstore"):
            s = f.get(side) if isinstance(f, dict) else None
            where = f"ingest.freshness[{i}].{side}"
            if not isinstance(s, dict):
                bad.append(f"{where}: missing")
                continue
            for k in FRESH_FIGURES:
                v = s.get(k)
                if not isinstance(v, (int, float)) or isinstance(v, bool):
                    bad.append(f"{where}.{k}: missing")
            if s.get("seen") != s.get("produced"):
                bad.append(f"{where}: {s.get('seen')} of {s.get('produced')} "
                           f"produced records seen")


def leaves(x, path=""):
    if isinstance(x, dict):
        for k, v in x.items():
            yield from leaves(v, f"{path}.{k}")
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield from leaves(v, f"{path}[{i}]")
    else:
        yield path, x


def main(path):
    with open(path) as f:
        doc = json.load(f)
    bad, numbers = [], 0
    for p, v in leaves(doc):
        last = p.rsplit(".", 1)[-1].lower()
        if p.startswith(".ingest.") and v is not None:
            numbers += isinstance(v, (int, float)) and not isinstance(v, bool)
            continue  # check_ingest: every number there must be positive
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
    for section in ("baselines", "get_bench", "ingest"):
        if not doc.get(section):
            bad.append(f"{section}: no figures")
    if doc.get("ingest"):
        check_ingest(doc["ingest"], doc.get("ingest_rates") or [], bad)
    if numbers < 50:
        bad.append(f"only {numbers} figures in {path}")
    for b in bad:
        print("bench check: " + b, file=sys.stderr)
    print(f"bench check: {numbers} figures, {len(bad)} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
