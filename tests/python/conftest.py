"""Shared fixtures of the Python binding tests.

Values are encoded the way Kafka producers write them: Avro binary from
fastavro's schemaless_writer, framed Confluent-style (magic byte 0, 4-byte
big-endian schema id). The stores under test are filled through the
binding's own batch API (fstore_batch_put/commit) or, for the tests marked
`kafka`, tailed from the real broker named by FSTORE_TEST_BROKERS.
"""

import io
import os
import struct

import fastavro
import pytest

import fstore

SCHEMA_ID = 1

# One column of every type fstore serves, nullable variants and the logical
# types.
SCHEMA = {
    "type": "record",
    "name": "features",
    "namespace": "fstore.test",
    "fields": [
        {"name": "flag", "type": "boolean"},
        {"name": "count", "type": "int"},
        {"name": "clicks", "type": "long"},
        {"name": "score", "type": "float"},
        {"name": "ratio", "type": "double"},
        {"name": "label", "type": "string"},
        {"name": "blob", "type": "bytes"},
        {"name": "tier", "type": {"type": "enum", "name": "Tier",
                                  "symbols": ["FREE", "PRO", "ENTERPRISE"]}},
        {"name": "digest", "type": {"type": "fixed", "name": "Digest", "size": 4}},
        {"name": "emb", "type": {"type": "array", "items": "float"}},
        {"name": "emb64", "type": {"type": "array", "items": "double"}},
        {"name": "ids", "type": {"type": "array", "items": "int"}},
        {"name": "big_ids", "type": {"type": "array", "items": "long"}},
        {"name": "opt_flag", "type": ["null", "boolean"], "default": None},
        {"name": "opt_count", "type": ["null", "int"], "default": None},
        {"name": "opt_clicks", "type": ["null", "long"], "default": None},
        {"name": "opt_score", "type": ["null", "float"], "default": None},
        {"name": "opt_ratio", "type": ["null", "double"], "default": None},
        {"name": "opt_label", "type": ["null", "string"], "default": None},
        {"name": "opt_emb", "type": ["null", {"type": "array", "items": "float"}],
         "default": None},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "tod", "type": {"type": "int", "logicalType": "time-millis"}},
        {"name": "seen_ms", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "seen_us", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "uid", "type": {"type": "string", "logicalType": "uuid"}},
    ],
}

PARSED = fastavro.parse_schema(SCHEMA)

# The numeric columns a float32 matrix can hold, in schema order.
MATRIX_COLUMNS = ["flag", "count", "clicks", "score", "ratio", "tier", "opt_flag",
                  "opt_count", "opt_clicks", "opt_score", "opt_ratio", "day", "tod",
                  "seen_ms", "seen_us"]

TIERS = ["FREE", "PRO", "ENTERPRISE"]


def avro(record, parsed=PARSED):
    """Avro binary of @p record (ints for the logical types)."""
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, parsed, record)
    return buf.getvalue()


def confluent(record, schema_id=SCHEMA_ID, parsed=PARSED):
    """@p record in Confluent wire format."""
    return b"\0" + struct.pack(">I", schema_id) + avro(record, parsed)


def make_record(i, nulls=None):
    """A deterministic record for entity @p i. nulls: True/False forces the
    nullable columns null or set; None alternates by parity."""
    if nulls is None:
        nulls = i % 2 == 1
    rec = {
        "flag": i % 3 == 0,
        "count": i * 7 - 1000,
        "clicks": i * 1_000_003 + (1 << 33),
        "score": i * 0.5,
        "ratio": i / 8.0,
        "label": "user-%d-é" % i,
        "blob": bytes([i % 256, 0, 255]),
        "tier": TIERS[i % 3],
        "digest": struct.pack(">I", i & 0xFFFFFFFF),
        "emb": [float(i), i + 0.25, -1.5],
        "emb64": [i * 2.0] * (i % 4),
        "ids": [i, -i],
        "big_ids": [i << 35],
        "opt_flag": None if nulls else bool(i % 2 == 0),
        "opt_count": None if nulls else i,
        "opt_clicks": None if nulls else -i,
        "opt_score": None if nulls else i + 0.5,
        "opt_ratio": None if nulls else i * 0.125,
        "opt_label": None if nulls else "opt-%d" % i,
        "opt_emb": None if nulls else [1.0] * 3,
        "day": 19000 + i,
        "tod": (i * 1000) % 86_400_000,
        "seen_ms": 1_700_000_000_000 + i,
        "seen_us": 1_700_000_000_000_000 + i,
        "uid": "00000000-0000-0000-0000-%012d" % i,
    }
    return rec


def key_of(i):
    return "user-%06d" % i


@pytest.fixture
def store_path(tmp_path):
    return str(tmp_path / "store")


@pytest.fixture
def store(store_path):
    """A writable store with table "users" (Confluent format, schema id 1
    registered)."""
    s = fstore.open(store_path, {"store.map_size": 1 << 30})
    s.register_schema(SCHEMA_ID, SCHEMA)
    s.create_table("users", SCHEMA)
    yield s
    s.close()


def fill(store, n, start=0, table="users", partition=0, nulls=None):
    """Puts records start..start+n-1 into @p table; returns their keys."""
    keys = [key_of(i) for i in range(start, start + n)]
    store.apply(table, [(k, confluent(make_record(i, nulls)), partition, None, 1_600_000_000_000 + i)
                        for k, i in zip(keys, range(start, start + n))])
    return keys


def fill_history(store, nkeys):
    """Rows over three partitions with explicit offsets (gaps included),
    then overwrites with other values (nulls included) and tombstones.
    Returns the deleted key ids."""
    for part in range(3):
        fill(store, nkeys // 3, start=nkeys // 3 * part, partition=part)
    deleted = range(1, nkeys, 11)
    with store.batch() as b:
        for i in range(0, nkeys, 5):
            b.put("users", key_of(i), confluent(make_record(i + 1000, nulls=True)),
                  i % 3, 500 + i, 1_650_000_000_000 + i)
        for i in deleted:
            b.delete("users", key_of(i), partition=i % 3, offset=900 + i)
    return deleted


def fstore_cli():
    """The fstore CLI: FSTORE_CLI, else FSTORE_BIN, else the release build's.
    A test that needs it fails without it."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = (os.environ.get("FSTORE_CLI") or os.environ.get("FSTORE_BIN")
            or os.path.join(root, "build", "release", "tools", "fstore"))
    if not os.access(path, os.X_OK):
        pytest.fail("no fstore CLI at %s: build it (scripts/build.sh release) or set "
                    "FSTORE_CLI" % path)
    return path


@pytest.fixture
def filled(store):
    """The store with 200 rows, user-000000..user-000199."""
    fill(store, 200)
    return store


def brokers():
    """The real broker of the kafka stage. Tests marked `kafka` fail, never
    skip, without it: scripts/test.sh starts one and sets the variable."""
    b = os.environ.get("FSTORE_TEST_BROKERS")
    if not b:
        pytest.fail("FSTORE_TEST_BROKERS is not set: the kafka tests need the real broker "
                    "(scripts/test.sh starts one; or tests/kafka/broker.sh start)")
    return b
