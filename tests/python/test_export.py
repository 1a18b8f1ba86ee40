"""`fstore export` read back by independent readers: the Avro file by
fastavro, the CSV by the csv module, the JSON lines by json. The store is
filled through the binding (every column type, nulls alternating), then the
CLI exports it from another process while the writable store stays open.

The CLI is found through FSTORE_CLI or FSTORE_BIN, else build/release/tools/fstore (the
release stage builds it before this stage runs)."""

import base64
import csv
import datetime
import io
import json
import math
import os
import subprocess

import fastavro
import numpy as np
import pytest

from conftest import PARSED, fstore_cli, SCHEMA, avro, confluent, fill, key_of, make_record

N = 200
DELETED = [key_of(3), key_of(150)]
UTC = datetime.timezone.utc


def export(store_path, fmt, out, *extra, table="users"):
    res = subprocess.run([fstore_cli(), "export", "--store", store_path, "--table", table,
                          "--format", fmt, "--out", str(out), *extra],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""  # not a terminal: no progress
    return out


@pytest.fixture
def exported(store, store_path):
    """The store with N rows, two of them deleted again; returns the path and
    {key: (record, timestamp, partition, offset)} of the live rows."""
    fill(store, N)
    store.apply("users", [(k, None) for k in DELETED])
    rows = {}
    for i in range(N):
        k = key_of(i)
        row = store.get("users", k)
        if k in DELETED:
            assert row is None
            continue
        rows[k] = (make_record(i), row.timestamp, row.partition, row.offset)
    assert all(ts == 1_600_000_000_000 + int(k[5:]) for k, (_, ts, _, _) in rows.items())
    return store_path, rows


def roundtrip(rec):
    """@p rec as fastavro reads it back from Avro: float32 rounding, and the
    logical types as date/time/datetime/UUID objects."""
    return fastavro.schemaless_reader(io.BytesIO(avro(rec)), PARSED)


def assert_same(got, want, what):
    if isinstance(want, float) and math.isnan(want):
        assert math.isnan(got), what
    else:
        assert got == want, what


def test_avro(exported, tmp_path):
    path, rows = exported
    out = export(path, "avro", tmp_path / "u.avro")
    assert not os.path.exists(str(out) + ".tmp")
    with open(out, "rb") as f:
        reader = fastavro.reader(f)
        assert reader.codec == "deflate"
        schema = reader.writer_schema
        records = list(reader)
    names = [f["name"] for f in schema["fields"]]
    assert names == [f["name"] for f in SCHEMA["fields"]] + [
        "__key", "__timestamp", "__partition", "__offset"]
    ts_field = schema["fields"][-3]
    assert ts_field["type"] == {"type": "long", "logicalType": "timestamp-millis"}
    # In key order, every live row exactly once.
    assert [r["__key"] for r in records] == sorted(rows)
    for r in records:
        rec, ts, part, off = rows[r["__key"]]
        want = roundtrip(rec)
        for name in want:
            assert_same(r[name], want[name], (r["__key"], name))
        assert r["__timestamp"] == datetime.datetime.fromtimestamp(ts / 1000, UTC)
        assert (r["__partition"], r["__offset"]) == (part, off)


def test_avro_null_codec_bytes_key(exported, tmp_path):
    path, rows = exported
    out = export(path, "avro", tmp_path / "u.avro", "--codec", "null", "--key-type", "bytes")
    with open(out, "rb") as f:
        reader = fastavro.reader(f)
        assert reader.codec == "null"
        keys = [r["__key"] for r in reader]
    assert keys == [k.encode() for k in sorted(rows)]


def csv_value(name, text, want):
    """@p text (a CSV field) as the raw Avro value of column @p name."""
    kind = next(f["type"] for f in SCHEMA["fields"] if f["name"] == name)
    if isinstance(kind, list):
        if text == "":
            return None
        kind = kind[1]
    if isinstance(kind, dict):
        kind = kind["type"]  # enum, fixed, array, or a logical type's base
    if kind == "boolean":
        assert text in ("true", "false"), name
        return text == "true"
    if kind in ("int", "long"):
        return int(text)
    if kind == "float":
        return float(np.float32(float(text)))
    if kind == "double":
        return float(text)
    if kind in ("bytes", "fixed"):
        return base64.b64decode(text, validate=True)
    if kind == "array":
        return json.loads(text)
    return text  # string, enum symbol, uuid


def test_csv(exported, tmp_path):
    path, rows = exported
    out = export(path, "csv", tmp_path / "u.csv")
    with open(out, newline="", encoding="utf-8") as f:
        data = list(csv.reader(f))
    header = data[0]
    assert header == ["key", "timestamp", "partition", "offset"] + [
        f["name"] for f in SCHEMA["fields"]]
    assert [line[0] for line in data[1:]] == sorted(rows)
    for line in data[1:]:
        rec, ts, part, off = rows[line[0]]
        assert [int(x) for x in line[1:4]] == [ts, part, off]
        for name, text in zip(header[4:], line[4:]):
            want = rec[name]
            if name in ("score", "opt_score") and want is not None:
                want = float(np.float32(want))
            assert csv_value(name, text, want) == want, (line[0], name)


def test_jsonl_stdout(exported):
    path, rows = exported
    res = subprocess.run([fstore_cli(), "export", "--store", path, "--table", "users",
                          "--format", "jsonl", "--out", "-"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    assert [o["key"] for o in lines] == sorted(rows)
    for o in lines:
        rec, ts, part, off = rows[o["key"]]
        assert (o["timestamp"], o["partition"], o["offset"]) == (ts, part, off)
        assert list(o["value"]) == [f["name"] for f in SCHEMA["fields"]]
        for name, want in rec.items():
            got = o["value"][name]
            if isinstance(want, bytes):
                got = base64.b64decode(got)
            assert got == want, (o["key"], name)


def test_empty_table_and_no_table(store, store_path, tmp_path):
    out = export(store_path, "avro", tmp_path / "e.avro")
    with open(out, "rb") as f:
        assert list(fastavro.reader(f)) == []
    res = subprocess.run([fstore_cli(), "export", "--store", store_path, "--table", "nope",
                          "--format", "csv", "--out", str(tmp_path / "n.csv")],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 1
    assert 'no table "nope"' in res.stderr
    assert not os.path.exists(tmp_path / "n.csv")
    assert not os.path.exists(tmp_path / "n.csv.tmp")


def test_key_not_utf8(store, store_path, tmp_path):
    store.apply("users", [(b"\xffbad", confluent(make_record(1)))])
    res = subprocess.run([fstore_cli(), "export", "--store", store_path, "--table", "users",
                          "--format", "avro", "--out", str(tmp_path / "k.avro")],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 1
    assert "--key-type bytes" in res.stderr
    assert not os.path.exists(tmp_path / "k.avro")
    out = export(store_path, "avro", tmp_path / "k.avro", "--key-type", "bytes")
    with open(out, "rb") as f:
        assert [r["__key"] for r in fastavro.reader(f)] == [b"\xffbad"]
