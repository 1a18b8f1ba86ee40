#!/usr/bin/env python3
"""Smoke check of a bench run's JSON (bench/run.sh --check): every
measurement produced a number. It never judges whether a number is fast.

A figure fails when it is missing (null), not a finite number, or not
positive where it counts something (rates, latencies, sizes). Ratios must be
positive numbers too. Exit 0 when all pass, 1 otherwise, naming each."""
import json
import math
import sys

COUNTED = ("ops", "per_s", "rate", "ns", "p50", "p99", "p999", "mean", "bytes",
           "mb", "value", "rows")


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
    for section in ("baselines", "get_bench"):
        if not doc.get(section):
            bad.append(f"{section}: no figures")
    if numbers < 50:
        bad.append(f"only {numbers} figures in {path}")
    for b in bad:
        print("bench check: " + b, file=sys.stderr)
    print(f"bench check: {numbers} figures, {len(bad)} problems")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
