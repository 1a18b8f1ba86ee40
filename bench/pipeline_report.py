#!/usr/bin/env python3
"""Gathers the pipeline runs of bench/run.sh (`fstore demo --json`, one file
per rate and commit interval) into one JSON array, a markdown section and a
gnuplot data file of event -> prediction p99 by commit interval.

Usage: pipeline_report.py --markdown OUT.md --json OUT.json --dat OUT.dat
                          RUN.json [RUN.json ...]
"""

import argparse
import json
import os
import sys


def lat(run, stage, q):
    return run["latency_ms"][stage][q]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--markdown", required=True)
    ap.add_argument("--json", required=True)
    ap.add_argument("--dat", required=True)
    ap.add_argument("runs", nargs="+")
    a = ap.parse_args()
    runs = []
    for path in a.runs:
        with open(path) as f:
            runs.append(json.load(f))
    runs.sort(key=lambda r: (r["rate"], r["commit_ms"]))
    with open(a.json, "w") as f:
        json.dump(runs, f, indent=1)

    md = []
    md.append("Each run: `fstore demo --brokers B --rate R --commit-ms C --seconds S "
              "--entities 100000`, timed after a warm-up that ends with the first "
              "prediction delivered. Latencies in ms from the payment event's "
              "production; Kafka is a plain consumer of the same events.")
    md.append("")
    md.append("| events/s (achieved) | commit ms | Kafka p50 / p99 | committed p50 / p99 "
              "| visible p50 / p99 | prediction p50 / p99 | transactions, commit p50 / p99 "
              "| stale | CPU s |")
    md.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in runs:
        ag = r.get("aggregate") or {}
        cm = ag.get("commit_ms") or {}
        md.append("| %d (%.0f) | %d | %.1f / %.1f | %.1f / %.1f | %.1f / %.1f | %.1f / %.1f "
                  "| %d, %.1f / %.1f | %d | %.1f |" % (
                      r["rate"], r["achieved_rate"], r["commit_ms"],
                      lat(r, "kafka", "p50"), lat(r, "kafka", "p99"),
                      lat(r, "committed", "p50"), lat(r, "committed", "p99"),
                      lat(r, "visible", "p50"), lat(r, "visible", "p99"),
                      lat(r, "prediction", "p50"), lat(r, "prediction", "p99"),
                      ag.get("commits", 0), cm.get("p50", 0), cm.get("p99", 0),
                      r["predictions"]["stale"], r["process_cpu_s"]))
    md.append("")
    md.append("Where an event's time goes, p50 (ms): until its feature record is "
              "committed (half a commit interval on average, then the commit), "
              "until the store has applied it, then scoring (lookup and model, per "
              "micro-batch) and producing the prediction.")
    md.append("")
    md.append("| events/s | commit ms | to committed | committed -> visible | lookup + model "
              "| produce -> acknowledged | event -> prediction |")
    md.append("|---|--:|--:|--:|--:|--:|--:|")
    for r in runs:
        score_ms = (r["scoring"]["lookup_us"]["p50"] + r["scoring"]["model_us"]["p50"]) / 1e3
        md.append("| %d | %d | %.1f | %.1f | %.3f | %.1f | %.1f |" % (
            r["rate"], r["commit_ms"], lat(r, "committed", "p50"),
            lat(r, "visible", "p50") - lat(r, "committed", "p50"), score_ms,
            lat(r, "produce_ack", "p50"), lat(r, "prediction", "p50")))
    with open(a.markdown, "w") as f:
        f.write("\n".join(md) + "\n")

    # One block per rate: commit interval, event -> prediction p99, Kafka p99.
    os.makedirs(os.path.dirname(a.dat) or ".", exist_ok=True)
    with open(a.dat, "w") as f:
        rates = sorted({r["rate"] for r in runs})
        for rate in rates:
            f.write("# rate %d events/s: commit_ms prediction_p99_ms kafka_p99_ms "
                    "prediction_p50_ms\n" % rate)
            for r in runs:
                if r["rate"] == rate:
                    f.write("%d %.3f %.3f %.3f\n" % (
                        r["commit_ms"], lat(r, "prediction", "p99"), lat(r, "kafka", "p99"),
                        lat(r, "prediction", "p50")))
            f.write("\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
