#!/usr/bin/env python3
"""Python lookup latency: fstore's bindings beside redis-py on loopback.

Fills one fstore table and one local redis-server with the same N entities
(a 34-field feature record: 32 numeric scalars, a string and an 8-float
embedding, Confluent-framed Avro as it arrives from Kafka), then times, one
call at a time with random keys:

  fstore get()            point lookup, every column decoded into a dict
  fstore get_batch(1)     one key into a float32 matrix (32 columns)
  fstore get_batch(256)   256 keys into a 256x32 float32 matrix
  fstore get_arrow(256)   256 keys, every column, as a pyarrow.RecordBatch
  fstore RowView[col]     one column of a zero-copy row view (explicit reader)
  redis GET               the raw value bytes, nothing decoded
  redis GET + decode      the value bytes decoded with fastavro (= get())
  redis MGET(256)         256 raw values in one round trip

redis-server (Debian's) is started on a free 127.0.0.1 port for the run and
stopped after it. Not a test: it asserts nothing and prints a table.

Usage: python bench/python_bench.py [--rows N] [--seconds S] [--json FILE]
Needs the fstore package (pip install ./bindings/python) plus numpy,
fastavro, redis (redis-py) and pyarrow in the same environment.
"""

import argparse
import importlib.util
import io
import json
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

import fastavro
import numpy as np

import fstore

NUM_FIELDS = 32
BATCH = 256

SCHEMA = {
    "type": "record", "name": "entity_features", "namespace": "bench",
    "fields": (
        [{"name": "f%02d" % i, "type": ["long", "float", "double", "int"][i % 4]}
         for i in range(NUM_FIELDS)]
        + [{"name": "segment", "type": "string"},
           {"name": "emb", "type": {"type": "array", "items": "float"}}]),
}
PARSED = fastavro.parse_schema(SCHEMA)
NUMERIC = ["f%02d" % i for i in range(NUM_FIELDS)]


def record(i, rng):
    r = {}
    for j in range(NUM_FIELDS):
        kind = SCHEMA["fields"][j]["type"]
        if kind in ("long", "int"):
            r["f%02d" % j] = rng.randrange(0, 1 << 20)
        else:
            r["f%02d" % j] = rng.random()
    r["segment"] = "segment-%d" % (i % 97)
    r["emb"] = [rng.random() for _ in range(8)]
    return r


def encode(rec):
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, PARSED, rec)
    return b"\0" + struct.pack(">I", 1) + buf.getvalue()


def decode(value):
    return fastavro.schemaless_reader(io.BytesIO(value[5:]), PARSED)


def key_of(i):
    return b"entity-%09d" % i


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(workdir):
    exe = shutil.which("redis-server")
    if not exe:
        sys.exit("python_bench: redis-server not found (Debian: redis-server; scripts/setup.sh)")
    port = free_port()
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", workdir, "--protected-mode", "yes", "--loglevel", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    import redis
    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            return proc, client
        except redis.ConnectionError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                sys.exit("python_bench: redis-server did not start")
            time.sleep(0.05)


def stop_redis(proc):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def timed(fn, args_list, seconds):
    """Calls fn(*args) for each args (cycling) for about @p seconds;
    returns per-call latencies in microseconds."""
    for a in args_list[:200]:  # warm up
        fn(*a)
    lat = []
    clock = time.perf_counter_ns
    deadline = time.monotonic() + seconds
    i, n = 0, len(args_list)
    while True:
        a = args_list[i % n]
        t0 = clock()
        fn(*a)
        lat.append(clock() - t0)
        i += 1
        if i % 256 == 0 and time.monotonic() > deadline:
            break
    return np.array(lat, dtype=np.float64) / 1000.0


def summary(name, lat, keys_per_call):
    return {
        "op": name, "calls": int(lat.size), "keys_per_call": keys_per_call,
        "mean_us": float(lat.mean()), "p50_us": float(np.percentile(lat, 50)),
        "p99_us": float(np.percentile(lat, 99)),
        "per_key_us": float(np.percentile(lat, 50)) / keys_per_call,
        "keys_per_s": keys_per_call / (float(lat.mean()) / 1e6),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=float, default=3.0, help="time per measured operation")
    ap.add_argument("--json", help="also write the results as JSON here")
    ap.add_argument("--dir", help="work directory (default: a temporary one, removed after)")
    args = ap.parse_args()

    workdir = args.dir or tempfile.mkdtemp(prefix="fstore-pybench-")
    os.makedirs(workdir, exist_ok=True)
    rng = random.Random(42)
    redis_proc = None
    try:
        redis_proc, client = start_redis(workdir)
        store = fstore.open(os.path.join(workdir, "store"),
                            {"store.map_size": 8 << 30, "store.sync": "none"})
        store.register_schema(1, SCHEMA)
        store.create_table("features", SCHEMA)

        t0 = time.monotonic()
        chunk = 20_000
        for start in range(0, args.rows, chunk):
            ids = range(start, min(start + chunk, args.rows))
            values = [(key_of(i), encode(record(i, rng))) for i in ids]
            store.apply("features", values)
            pipe = client.pipeline(transaction=False)
            pipe.mset(dict(values))
            pipe.execute()
        load_s = time.monotonic() - t0
        value_bytes = len(encode(record(0, rng)))
        print("loaded %d rows (%d-byte values) into fstore and redis in %.1f s"
              % (args.rows, value_bytes, load_s), file=sys.stderr)

        krng = np.random.default_rng(7)
        point = [(key_of(int(i)),) for i in krng.integers(0, args.rows, 50_000)]
        batches = [np.array([key_of(int(i)) for i in krng.integers(0, args.rows, BATCH)])
                   for _ in range(400)]
        batch_lists = [list(b) for b in batches]
        one = [(np.array([k]),) for (k,) in point[:5000]]

        table = store.table("features")
        results = []

        def run(name, fn, arglist, keys):
            lat = timed(fn, arglist, args.seconds)
            results.append(summary(name, lat, keys))
            print("  %-26s p50 %8.2f us" % (name, results[-1]["p50_us"]), file=sys.stderr)

        print("measuring (%.1f s each)..." % args.seconds, file=sys.stderr)
        run("fstore get() -> dict", lambda k: store.get(table, k), point, 1)
        run("fstore get_batch(1)", lambda k: store.get_batch(table, k, NUMERIC), one, 1)
        run("fstore get_batch(256) S", lambda k: store.get_batch(table, k, NUMERIC),
            [(b,) for b in batches], BATCH)
        run("fstore get_batch(256) list", lambda k: store.get_batch(table, k, NUMERIC),
            [(b,) for b in batch_lists], BATCH)
        if importlib.util.find_spec("pyarrow"):
            run("fstore get_arrow(256)", lambda k: store.get_arrow(table, k),
                [(b,) for b in batches], BATCH)
        else:
            print("  (pyarrow not installed: get_arrow skipped)", file=sys.stderr)
        with store.reader() as reader:
            def view_col(k):
                v = reader.get(table, k)
                x = v["f01"]
                reader.reset()
                return x
            run("fstore RowView[col]", view_col, point, 1)
        run("redis GET (raw bytes)", lambda k: client.get(k), point, 1)
        run("redis GET + decode", lambda k: decode(client.get(k)), point, 1)
        run("redis MGET(256) raw", lambda k: client.mget(k), [(b,) for b in batch_lists], BATCH)
        store.close()
    finally:
        if redis_proc is not None:
            stop_redis(redis_proc)
        if not args.dir:
            shutil.rmtree(workdir, ignore_errors=True)

    redis_get = next(r for r in results if r["op"] == "redis GET (raw bytes)")["p50_us"]
    print()
    print("Python lookups, %d rows, %d columns (fstore %s, Python %s, %d CPUs)" % (
        args.rows, len(SCHEMA["fields"]), fstore.__version__, sys.version.split()[0],
        os.cpu_count()))
    print()
    print("| operation | keys/call | p50 µs | p99 µs | mean µs | µs/key (p50) | keys/s | vs redis GET |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print("| %s | %d | %.2f | %.2f | %.2f | %.3f | %s | %.1fx |" % (
            r["op"], r["keys_per_call"], r["p50_us"], r["p99_us"], r["mean_us"],
            r["per_key_us"], "{:,.0f}".format(r["keys_per_s"]),
            redis_get / r["per_key_us"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"rows": args.rows, "columns": len(SCHEMA["fields"]),
                       "value_bytes": value_bytes, "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
