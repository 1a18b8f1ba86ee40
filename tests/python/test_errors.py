"""Error mapping, bad arguments and use of closed stores: exceptions, never
crashes."""

import os
import pickle
import re

import numpy as np
import pytest

import fstore
from conftest import SCHEMA, confluent, key_of, make_record

HEADER = os.path.join(os.path.dirname(__file__), "..", "..", "libfstore", "include",
                      "fstore", "fstore.h")


def test_version_matches_the_header():
    text = open(HEADER).read()
    parts = tuple(int(re.search(r"#define FSTORE_VERSION_%s (\d+)" % p, text).group(1))
                  for p in ("MAJOR", "MINOR", "PATCH"))
    assert fstore.version_info == parts
    assert fstore.__version__ == "%d.%d.%d" % parts
    from importlib.metadata import version
    assert version("fstore") == fstore.__version__


def test_error_attributes_and_hierarchy(tmp_path):
    with pytest.raises(fstore.ConfError) as e:
        fstore.open(str(tmp_path / "s"), {"no.such.property": "1"})
    err = e.value
    assert isinstance(err, fstore.UsageError) and isinstance(err, fstore.Error)
    assert err.code == 102 and err.name == "FSTORE_ERR_CONF"
    assert "no.such.property" in err.message and str(err).startswith("FSTORE_ERR_CONF: ")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is fstore.ConfError and back.code == 102 and back.message == err.message
    assert fstore.err_name(205) == "FSTORE_ERR_MAP_FULL"
    assert fstore.strerror(1) and fstore.strerror(123456) == "unknown error code"


@pytest.mark.parametrize("code,cls", [
    (100, fstore.UsageError), (102, fstore.ConfError), (103, fstore.NoTableError),
    (104, fstore.NoColumnError), (105, fstore.ColumnTypeError), (106, fstore.ReadOnlyError),
    (107, fstore.StateError), (108, fstore.InvalidKeyError), (109, fstore.SchemaError),
    (110, fstore.SchemaError), (112, fstore.TimedOut), (200, fstore.StorageError),
    (201, fstore.StorageError), (203, fstore.LockedError), (207, fstore.NoStoreError),
    (300, fstore.KafkaError), (400, fstore.DecodeError), (405, fstore.DecodeError),
])
def test_code_to_class(code, cls):
    from fstore._errors import error_for
    e = error_for(code)
    assert type(e) is cls and e.code == code
    assert e.name == fstore.err_name(code) and e.message == fstore.strerror(code)


def test_bad_paths(tmp_path):
    with pytest.raises(fstore.NoStoreError) as e:
        fstore.open(str(tmp_path / "absent"), read_only=True)
    assert e.value.code == 207 and "absent" in e.value.message
    assert isinstance(e.value, FileNotFoundError)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(fstore.StorageError):
        fstore.open(str(a_file / "store"))


def test_bad_conf_values(tmp_path):
    with pytest.raises(fstore.ConfError) as e:
        fstore.open(str(tmp_path / "s"), {"store.map_size": "lots"})
    assert "store.map_size" in e.value.message
    with pytest.raises(TypeError):
        fstore.open(str(tmp_path / "s"), log=42)


def test_one_writer(store_path):
    with fstore.open(store_path):
        with pytest.raises(fstore.LockedError):
            fstore.open(store_path)
        # Readers are welcome while the writer is open.
        with fstore.open(store_path, read_only=True) as ro:
            assert ro.read_only


def test_read_only_refuses_writes(store_path):
    with fstore.open(store_path) as s:
        s.register_schema(1, SCHEMA)
        s.create_table("users", SCHEMA)
        s.apply("users", [("a", confluent(make_record(1)))])
    with fstore.open(store_path, read_only=True) as ro:
        assert ro.get("users", "a")["count"] == make_record(1)["count"]
        with pytest.raises(fstore.ReadOnlyError):
            ro.batch()
        with pytest.raises(fstore.ReadOnlyError):
            ro.create_table("other", SCHEMA)
        with pytest.raises(fstore.ReadOnlyError):
            ro.register_schema(2, SCHEMA)
        with pytest.raises(fstore.ReadOnlyError):
            ro.tail("users", "topic")
        # Opening the existing table read-only is fine.
        assert ro.create_table("users", SCHEMA).name == "users"


def test_schema_errors(store):
    bad = {"type": "record", "name": "x", "fields": [
        {"name": "m", "type": {"type": "map", "values": "int"}}]}
    with pytest.raises(fstore.SchemaError) as e:
        store.create_table("maps", bad)
    assert e.value.code == 109 and '"m"' in e.value.message
    with pytest.raises(fstore.SchemaError) as e:
        store.create_table("users", {"type": "record", "name": "y",
                                     "fields": [{"name": "a", "type": "int"}]})
    assert e.value.name == "FSTORE_ERR_SCHEMA_MISMATCH"
    with pytest.raises(fstore.SchemaError):
        store.register_schema(1, {"type": "record", "name": "z", "fields": []})
    with pytest.raises(fstore.DecodeError) as e:
        store.register_schema(5, "{not json")
    assert e.value.name == "FSTORE_ERR_WRITER_SCHEMA"
    store.register_schema(1, SCHEMA)  # the same schema again is a no-op


def test_bad_table_column_key(filled):
    with pytest.raises(fstore.NoTableError) as e:
        filled.get("nope", "a")
    assert "nope" in e.value.message
    with pytest.raises(fstore.NoTableError):
        filled.table("nope")
    with pytest.raises(fstore.InvalidKeyError):
        filled.get("users", "")
    with pytest.raises(fstore.InvalidKeyError):
        filled.get("users", b"")
    with pytest.raises(TypeError):
        filled.get("users", 12)
    with pytest.raises(fstore.NoColumnError):
        filled.get_array("users", key_of(1), 99)


def test_closed_store_raises_everywhere(filled):
    t = filled.table("users")
    r = filled.reader()
    filled.close()
    filled.close()  # twice is fine
    assert filled.closed
    calls = [
        lambda: filled.get("users", key_of(1)),
        lambda: filled.get(t, key_of(1)),
        lambda: filled.get_array("users", key_of(1), "emb"),
        lambda: filled.get_batch("users", [key_of(1)], ["count"]),
        lambda: filled.get_batch(t, np.array([b"a"]), ["count"]),
        lambda: filled.get_arrow("users", [key_of(1)]),
        lambda: filled.table("users"),
        lambda: filled.tables(),
        lambda: filled.create_table("x", SCHEMA),
        lambda: filled.register_schema(3, SCHEMA),
        lambda: filled.apply("users", [("a", None)]),
        lambda: filled.batch(),
        lambda: filled.row_count("users"),
        lambda: filled.offsets("users"),
        lambda: filled.stats(),
        lambda: filled.tail("users", "t"),
        lambda: filled.start(),
        lambda: filled.wait_ready(0.1),
        lambda: filled.stop(),
        lambda: filled.reader(),
        lambda: filled.read_only,
        lambda: r.get("users", key_of(1)),
        lambda: r.get_batch("users", [key_of(1)], ["count"]),
    ]
    for call in calls:
        with pytest.raises(fstore.StateError) as e:
            call()
        assert e.value.code == 107
    assert "closed" in repr(filled)


def test_close_aborts_an_open_batch(store):
    b = store.batch()
    b.put("users", "a", confluent(make_record(1)))
    store.close()
    with pytest.raises(fstore.StateError):
        b.put("users", "b", confluent(make_record(1)))
    with pytest.raises(fstore.StateError):
        b.commit()
    b.abort()


def test_table_of_another_store(tmp_path, store):
    with fstore.open(str(tmp_path / "other")) as other:
        t = other.create_table("users", SCHEMA)
        with pytest.raises(fstore.StateError):
            store.get(t, "a")


def test_stats_is_a_dict(filled):
    st = filled.stats()
    assert isinstance(st, dict)
    assert st["tables"]["users"]["rows"] == 200
    assert st["version"] == fstore.__version__
    space = st["store"]
    assert 0 < st["tables"]["users"]["bytes"] <= space["used_bytes"]
    assert space["used_bytes"] + space["free_bytes"] == space["data_bytes"]


def _murmur2(data):
    """Kafka's Utils.murmur2 (the Java client's default partitioner hash)."""
    m, r, mask = 0x5BD1E995, 24, 0xFFFFFFFF
    h = (0x9747B28C ^ len(data)) & mask
    n4 = len(data) // 4
    for i in range(n4):
        k = int.from_bytes(data[4 * i:4 * i + 4], "little")
        k = (k * m) & mask
        k ^= k >> r
        k = (k * m) & mask
        h = (h * m) & mask
        h ^= k
    rest = data[4 * n4:]
    if len(rest) >= 3:
        h ^= rest[2] << 16
    if len(rest) >= 2:
        h ^= rest[1] << 8
    if len(rest) >= 1:
        h ^= rest[0]
        h = (h * m) & mask
    h ^= h >> 13
    h = (h * m) & mask
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def test_partition_for_key_matches_kafka():
    # Kafka's own murmur2 test vectors (UtilsTest.testMurmur2).
    for key, want in [(b"21", -973932308), (b"foobar", -790332482),
                      (b"a-little-bit-long-string", -985981536),
                      (b"a-little-bit-longer-string", -1486304829), (b"abc", 479470107)]:
        assert _murmur2(key) == want
    for i in range(2000):
        key = ("user-%d" % i).encode()
        for n in (1, 3, 8, 100):
            assert fstore.partition_for_key(key, n) == (_murmur2(key) & 0x7FFFFFFF) % n
    assert fstore.partition_for_key("k", 8) == fstore.partition_for_key(b"k", 8)
    with pytest.raises(ValueError):
        fstore.partition_for_key("k", 0)


def test_tail_setup_errors(store_path):
    with fstore.open(store_path) as s:
        s.create_table("users", SCHEMA)
        with pytest.raises(fstore.StateError):
            s.start()  # nothing to tail
        with pytest.raises(fstore.ConfError) as e:
            s.tail("users", "t", partitions="a")
        assert "partition list" in e.value.message
        s.tail("users", "t", partitions=[0, 2])
        with pytest.raises(fstore.StateError):
            s.tail("users", "t")
        with pytest.raises(fstore.ConfError) as e:
            s.start()  # no kafka.bootstrap.servers
        assert "kafka.bootstrap.servers" in e.value.message
        with pytest.raises(fstore.StateError):
            s.wait_ready(0.1)
        s.stop()  # not running: fine
        assert s.tail_error() is None
    with fstore.open(store_path, {"kafka.bootstrap.servers": "127.0.0.1:1",
                                  "kafka.no.such.prop": "x"}) as s:
        s.tail("users")
        with pytest.raises(fstore.ConfError) as e:
            s.start()
        assert "no.such.prop" in e.value.message
