"""get_arrow(): Arrow C Data Interface import into pyarrow and pandas."""

import datetime
import gc

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import fstore
from conftest import SCHEMA, fill, key_of, make_record

ARROW_TYPES = {
    "flag": pa.bool_(), "count": pa.int32(), "clicks": pa.int64(), "score": pa.float32(),
    "ratio": pa.float64(), "label": pa.string(), "blob": pa.binary(), "tier": pa.string(),
    "digest": pa.binary(4), "day": pa.date32(), "seen_ms": pa.timestamp("ms", tz="UTC"),
    "seen_us": pa.timestamp("us", tz="UTC"), "uid": pa.string(),
    "opt_score": pa.float32(), "opt_label": pa.string(),
}


def test_schema_and_types(filled):
    rb = filled.get_arrow("users", [key_of(1), "missing", key_of(2)])
    assert isinstance(rb, pa.RecordBatch)
    assert rb.num_rows == 3
    assert rb.schema.names == ["key", "found"] + [f["name"] for f in SCHEMA["fields"]]
    assert rb.schema.field("key").type == pa.binary()
    assert rb.schema.field("found").type == pa.bool_()
    for name, typ in ARROW_TYPES.items():
        assert rb.schema.field(name).type == typ, name
    for name, elem in [("emb", pa.float32()), ("emb64", pa.float64()),
                       ("ids", pa.int32()), ("big_ids", pa.int64())]:
        t = rb.schema.field(name).type
        assert pa.types.is_list(t) and t.value_type == elem, name


def test_values_match_get(filled):
    keys = [key_of(i) for i in (0, 1, 2, 3, 150)] + ["missing"]
    rb = filled.get_arrow("users", keys)
    cols = rb.to_pydict()
    assert cols["key"] == [k.encode() for k in keys]
    assert cols["found"] == [True] * 5 + [False]
    for j, k in enumerate(keys[:-1]):
        row = filled.get("users", k)
        for f in SCHEMA["fields"]:
            name = f["name"]
            got, want = cols[name][j], row[name]
            if isinstance(want, np.ndarray):
                assert got == pytest.approx(want.tolist()), name
            elif isinstance(want, float):
                assert got == pytest.approx(want), name
            else:
                assert got == want, (name, got, want)
    # A missing key is null in every column.
    for f in SCHEMA["fields"]:
        assert cols[f["name"]][-1] is None


def test_nulls_are_arrow_nulls(store):
    fill(store, 4)  # odd records have their nullable columns null
    rb = store.get_arrow("users", [key_of(i) for i in range(4)], ["opt_score", "opt_emb"])
    assert rb.schema.names == ["key", "found", "opt_score", "opt_emb"]
    assert rb.column("opt_score").null_count == 2
    assert rb.column("opt_score").to_pylist() == [0.5, None, 2.5, None]
    assert rb.column("opt_emb").to_pylist() == [[1.0] * 3, None, [1.0] * 3, None]


def test_pandas_round_trip(filled):
    keys = [key_of(i) for i in range(50)]
    df = filled.get_arrow("users", keys, ["count", "score", "label", "opt_score", "tier",
                                          "day", "seen_ms", "emb"]).to_pandas()
    assert isinstance(df, pd.DataFrame) and len(df) == 50
    assert df["found"].all()
    assert list(df["count"]) == [make_record(i)["count"] for i in range(50)]
    assert list(df["label"]) == [make_record(i)["label"] for i in range(50)]
    assert df["opt_score"].isna().sum() == 25
    assert list(df["tier"]) == [make_record(i)["tier"] for i in range(50)]
    assert df["day"][3] == datetime.date(1970, 1, 1) + datetime.timedelta(days=19003)
    assert df["seen_ms"][0] == pd.Timestamp(1_700_000_000_000, unit="ms", tz="UTC")
    np.testing.assert_array_equal(df["emb"][7], [7.0, 7.25, -1.5])
    # The matrix and the frame agree on the numeric columns.
    m, _ = filled.get_batch("users", keys, ["count", "score"])
    np.testing.assert_array_equal(m[:, 0], df["count"].to_numpy(np.float32))
    np.testing.assert_array_equal(m[:, 1], df["score"].to_numpy(np.float32))


def test_numpy_keys_and_subset_order(filled):
    keys = np.array([key_of(9).encode(), key_of(8).encode()], dtype="S")
    rb = filled.get_arrow("users", keys, ["score", "count"])
    assert rb.schema.names == ["key", "found", "score", "count"]
    assert rb.column("count").to_pylist() == [make_record(9)["count"], make_record(8)["count"]]


def test_result_outlives_snapshot_and_store(store):
    fill(store, 10)
    rb = store.get_arrow("users", [key_of(1), key_of(2)], ["label", "emb"])
    # Overwrite and delete the rows, then close the store: the batch owns
    # copies of the values.
    store.apply("users", [(key_of(1), None), (key_of(2), None)])
    store.close()
    gc.collect()
    assert rb.column("label").to_pylist() == [make_record(1)["label"], make_record(2)["label"]]
    assert rb.column("emb").to_pylist()[1] == [2.0, 2.25, -1.5]


def test_empty_and_errors(filled):
    rb = filled.get_arrow("users", [], ["count"])
    assert rb.num_rows == 0 and rb.schema.names == ["key", "found", "count"]
    with pytest.raises(fstore.NoColumnError):
        filled.get_arrow("users", ["a"], ["nope"])
    with pytest.raises(fstore.InvalidKeyError):
        filled.get_arrow("users", ["a", b""])
    with pytest.raises(fstore.NoTableError):
        filled.get_arrow("nope", ["a"])


def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def test_released_buffers_are_freed(store):
    # Each batch exports ~10k rows of a 3-float list plus strings; if
    # pyarrow's release never reached libfstore's release callbacks, 300
    # batches would keep hundreds of megabytes.
    keys = fill(store, 10_000)
    for _ in range(20):
        store.get_arrow("users", keys, ["label", "emb", "blob", "emb64"])
    gc.collect()
    before = _rss_bytes()
    for _ in range(300):
        rb = store.get_arrow("users", keys, ["label", "emb", "blob", "emb64"])
        assert rb.num_rows == 10_000
        del rb
    gc.collect()
    grown = _rss_bytes() - before
    assert grown < 64 << 20, "RSS grew by %d MiB over 300 batches" % (grown >> 20)
