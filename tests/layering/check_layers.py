#!/usr/bin/env python3
"""Checks that libfstore's source files call each other one way only.

Reads the library's object files (one per source file), resolves every
undefined symbol of each to the object that defines it, and fails when the
resulting call graph has a circle or an arrow that points up the layer map
of docs/architecture.md (a file may call files of lower layers, and within
the tailer's layer only files listed after it).

Usage: check_layers.py OBJECT_FILE...   (the ctest test "layering" passes
the objects of the fstore_obj target)
"""
import os
import subprocess
import sys

# The layer map of docs/architecture.md, bottom (0) to top. Keep the two in step.
LAYERS = {
    0: ["errors", "conf", "hist", "partition", "layout", "decode"],
    1: ["store", "source", "registry", "kconf", "agg_spec", "agg_tiles", "agg_event", "agg_output"],
    2: ["tables", "agg_store"],
    3: ["schemas", "reader", "verify", "ops"],
    4: ["batch", "snapshot", "cursor", "arrow", "row"],
    5: ["tail_state", "tail_stats", "tail_assign", "tail_verify", "tail_faults", "tail_loop",
        "tail",
        "agg_kafka", "agg_restore", "agg_loop", "aggregate"],
    6: ["fstore", "stats"],
}
# Inside a layer, files may call those listed before them only in these
# orders (everything else in a layer must not call its neighbours).
ORDERED = [
    ["errors", "conf", "layout", "decode"],
    ["agg_spec", "agg_tiles", "agg_event", "agg_output"],
    ["source", "registry"],
    ["tail_state", "tail_stats", "tail_assign", "tail_verify", "tail_faults", "tail_loop",
     "tail"],
    ["agg_kafka", "agg_restore", "agg_loop", "aggregate"],
]


def symbols(path):
    out = subprocess.run(["nm", "--defined-only", "-g", path], capture_output=True,
                         text=True, check=True).stdout
    defined = {l.split()[-1] for l in out.splitlines() if l.strip()}
    out = subprocess.run(["nm", "-u", path], capture_output=True, text=True,
                         check=True).stdout
    undefined = {l.split()[-1] for l in out.splitlines() if l.strip()}
    return defined, undefined


def allowed(src, dst, layer):
    if layer[dst] < layer[src]:
        return True
    if layer[dst] > layer[src]:
        return False
    for order in ORDERED:
        if src in order and dst in order:
            return order.index(dst) < order.index(src)
    return False


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    layer = {m: n for n, mods in LAYERS.items() for m in mods}
    objs = {}
    for path in sys.argv[1:]:
        name = os.path.basename(path)
        if name.endswith(".c.o"):
            objs[name[:-4]] = symbols(path)
    unknown = sorted(set(objs) - set(layer))
    missing = sorted(set(layer) - set(objs))
    if unknown or missing:
        print(f"layer map out of date: not in the map {unknown}, no object {missing}")
        return 1
    owner = {sym: m for m, (defs, _) in objs.items() for sym in defs}
    bad = []
    edges = 0
    for m, (_, undef) in objs.items():
        for sym in sorted(undef):
            dst = owner.get(sym)
            if dst is None or dst == m:
                continue
            edges += 1
            if not allowed(m, dst, layer):
                bad.append(f"{m}.c -> {dst}.c ({sym})")
    for line in bad:
        print("points up or sideways:", line)
    print(f"{len(objs)} files, {edges} calls between them, {len(bad)} against the map")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
