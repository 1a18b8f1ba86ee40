"""Every column type through get(), get_array(), get_batch() and RowView."""

import datetime
import math

import numpy as np
import pytest

import fstore
from conftest import MATRIX_COLUMNS, SCHEMA, TIERS, confluent, fill, key_of, make_record

UTC = datetime.timezone.utc


def expected_value(name, v):
    """What get() returns for the raw Avro value @p v of column @p name."""
    if v is None:
        return None
    if name == "day":
        return datetime.date(1970, 1, 1) + datetime.timedelta(days=v)
    if name == "tod":
        return (datetime.datetime(2000, 1, 1) + datetime.timedelta(milliseconds=v)).time()
    if name == "seen_ms":
        return datetime.datetime(1970, 1, 1, tzinfo=UTC) + datetime.timedelta(milliseconds=v)
    if name == "seen_us":
        return datetime.datetime(1970, 1, 1, tzinfo=UTC) + datetime.timedelta(microseconds=v)
    return v


def assert_row_matches(row, rec):
    assert set(row) == {f["name"] for f in SCHEMA["fields"]}
    for name, v in rec.items():
        got = row[name]
        want = expected_value(name, v)
        if isinstance(want, list):
            assert isinstance(got, np.ndarray), name
            np.testing.assert_array_equal(got, np.array(want, dtype=got.dtype), err_msg=name)
        elif isinstance(want, float):
            assert got == pytest.approx(want, rel=1e-6), name
        else:
            assert got == want, name


@pytest.mark.parametrize("nulls", [False, True])
def test_get_every_type(store, nulls):
    fill(store, 10, nulls=nulls)
    for i in range(10):
        row = store.get("users", key_of(i))
        assert isinstance(row, fstore.Row) and isinstance(row, dict)
        assert_row_matches(row, make_record(i, nulls))


def test_array_dtypes(filled):
    row = filled.get("users", key_of(5))
    assert row["emb"].dtype == np.float32
    assert row["emb64"].dtype == np.float64
    assert row["ids"].dtype == np.int32
    assert row["big_ids"].dtype == np.int64
    assert row["big_ids"][0] == 5 << 35
    # Empty arrays stay arrays.
    row = filled.get("users", key_of(4))
    assert row["emb64"].shape == (0,)


def test_row_metadata(store):
    store.apply("users", [(b"a", confluent(make_record(1)), 3, 41, 1_650_000_000_123)])
    row = store.get("users", "a")
    assert row.key == b"a"
    assert row.partition == 3
    assert row.offset == 41
    assert row.timestamp == 1_650_000_000_123
    assert row.schema_id == 1
    assert "partition=3" in repr(row)


def test_row_pickles(filled):
    import pickle
    row = filled.get("users", key_of(3))
    back = pickle.loads(pickle.dumps(row))
    assert back.offset == row.offset and back.key == row.key
    assert back["label"] == row["label"]


def test_missing_key_is_none(filled):
    assert filled.get("users", "nobody") is None
    assert filled.get_array("users", "nobody", "emb") is None


def test_get_array_converts_to_float32(filled):
    for col, want in [("emb", [7.0, 7.25, -1.5]), ("emb64", [14.0] * 3), ("ids", [7, -7]),
                      ("big_ids", [float(7 << 35)])]:
        arr = filled.get_array("users", key_of(7), col)
        assert arr.dtype == np.float32, col
        np.testing.assert_array_equal(arr, np.array(want, dtype=np.float32))
    # A null array column gives None; a set one its values.
    assert filled.get_array("users", key_of(1), "opt_emb") is None
    np.testing.assert_array_equal(filled.get_array("users", key_of(2), "opt_emb"), [1.0] * 3)


def test_get_array_refuses_scalars(filled):
    with pytest.raises(fstore.ColumnTypeError) as e:
        filled.get_array("users", key_of(1), "label")
    assert e.value.code == 105 and "label" in str(e.value)
    with pytest.raises(fstore.NoColumnError):
        filled.get_array("users", key_of(1), "nope")


def test_matrix_values_and_nan_for_nulls(store):
    fill(store, 6)
    keys = [key_of(i) for i in range(6)]
    m, found = store.get_batch("users", keys, MATRIX_COLUMNS)
    assert m.dtype == np.float32 and m.shape == (6, len(MATRIX_COLUMNS))
    assert found.dtype == np.bool_ and found.all()
    for i in range(6):
        rec = make_record(i)
        for j, col in enumerate(MATRIX_COLUMNS):
            v = rec[col]
            if v is None:
                assert math.isnan(m[i, j]), (i, col)
            elif col == "tier":
                assert m[i, j] == TIERS.index(v)
            elif isinstance(v, bool):
                assert m[i, j] == (1.0 if v else 0.0)
            else:
                assert m[i, j] == np.float32(v), (i, col)


def test_table_columns_describe_the_schema(store):
    t = store.table("users")
    assert t.name == "users" and t.format == "confluent"
    assert t.column_names == [f["name"] for f in SCHEMA["fields"]]
    by = {c.name: c for c in t.columns}
    assert by["tier"].type == "enum" and by["tier"].symbols == tuple(TIERS)
    assert by["digest"].type == "fixed" and by["digest"].size == 4
    assert by["emb"].type == "array<float>" and by["big_ids"].type == "array<long>"
    assert by["opt_score"].nullable and not by["score"].nullable
    assert by["day"].logical == "date" and by["seen_us"].logical == "timestamp-micros"
    assert by["uid"].logical == "uuid" and by["label"].logical is None
    assert t.column_index("ratio") == 4 and t.column(4).name == "ratio"
    assert [x.name for x in store.tables()] == ["users"]


def test_raw_avro_format(store_path):
    with fstore.open(store_path) as s:
        s.create_table("raw", SCHEMA, format="avro")
        from conftest import avro
        s.apply("raw", [("k", avro(make_record(9)))])
        row = s.get("raw", "k")
        assert_row_matches(row, make_record(9))
        assert row.schema_id == -1
        assert s.table("raw").format == "avro"
    with pytest.raises(ValueError):
        fstore.open(store_path).create_table("x", SCHEMA, format="json")


def test_writer_schema_resolution(store):
    # A writer schema with fewer fields and an int where the serving schema
    # has a long: resolved by Avro's rules (defaults, promotion).
    writer = {"type": "record", "name": "features", "namespace": "fstore.test",
              "fields": [f for f in SCHEMA["fields"] if not f["name"].startswith("opt_")]}
    store.register_schema(2, writer)
    import fastavro
    parsed = fastavro.parse_schema(writer)
    rec = {k: v for k, v in make_record(4, nulls=False).items() if not k.startswith("opt_")}
    store.apply("users", [("w2", confluent(rec, 2, parsed))])
    row = store.get("users", "w2")
    assert row.schema_id == 2
    assert row["opt_score"] is None and row["label"] == rec["label"]
