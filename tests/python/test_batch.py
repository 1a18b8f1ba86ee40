"""Batch lookups into numpy, and writing through Batch / apply()."""

import numpy as np
import pytest

import fstore
from conftest import confluent, fill, key_of, make_record

COLS = ["count", "clicks", "score", "opt_score"]


def expected_matrix(indexes):
    rows = []
    for i in indexes:
        if i is None:
            rows.append([np.nan] * len(COLS))
        else:
            rec = make_record(i)
            rows.append([np.nan if rec[c] is None else rec[c] for c in COLS])
    return np.array(rows, dtype=np.float32)


def check(m, found, indexes):
    np.testing.assert_array_equal(found, [i is not None for i in indexes])
    np.testing.assert_array_equal(m, expected_matrix(indexes))  # NaN == NaN here


@pytest.mark.parametrize("form", ["str", "bytes", "mixed", "numpy_S", "numpy_U", "numpy_O"])
def test_key_forms(filled, form):
    idx = [3, None, 0, 199, None, 42]
    names = [key_of(i) if i is not None else "missing-%d" % j for j, i in enumerate(idx)]
    if form == "str":
        keys = names
    elif form == "bytes":
        keys = [k.encode() for k in names]
    elif form == "mixed":
        keys = [k.encode() if j % 2 else k for j, k in enumerate(names)]
    elif form == "numpy_S":
        keys = np.array([k.encode() for k in names], dtype="S")
    elif form == "numpy_U":
        keys = np.array(names)
    else:
        keys = np.array(names, dtype=object)
    m, found = filled.get_batch("users", keys, COLS)
    check(m, found, idx)


def test_numpy_S_keys_of_different_lengths(store):
    # Keys shorter than the array's width are NUL-padded by numpy; their
    # length is up to the last non-NUL byte.
    keys = [b"a", b"bb", b"ccc\x00d", b"eeeeeeee"]
    store.apply("users", [(k, confluent(make_record(i))) for i, k in enumerate(keys)])
    arr = np.array(keys + [b"ee"], dtype="S8")
    m, found = store.get_batch("users", arr, ["count"])
    np.testing.assert_array_equal(found, [True, True, True, True, False])
    np.testing.assert_array_equal(m[:4, 0], [make_record(i)["count"] for i in range(4)])
    # A strided (non-contiguous) key array is accepted too.
    m2, found2 = store.get_batch("users", arr[::2], ["count"])
    np.testing.assert_array_equal(found2, [True, True, False])


def test_non_ascii_str_keys(store):
    store.apply("users", [("ключ", confluent(make_record(1))), ("k", confluent(make_record(2)))])
    m, found = store.get_batch("users", ["ключ", "k", "ключ2"], ["count"])
    np.testing.assert_array_equal(found, [True, True, False])
    assert m[0, 0] == make_record(1)["count"]


def test_large_batch_equals_point_gets(store):
    n = 5000
    keys = fill(store, n)
    rng = np.random.default_rng(7)
    pick = rng.integers(0, n + 500, size=2000)  # some past the end: missing
    ask = [key_of(int(i)) for i in pick]
    m, found = store.get_batch("users", ask, COLS)
    for row, ok, i in zip(m, found, pick):
        point = store.get("users", key_of(int(i)))
        assert ok == (point is not None)
        if point is not None:
            assert row[0] == point["count"] and row[2] == pytest.approx(point["score"])
    assert found.sum() == (pick < n).sum()
    assert len(keys) == n


def test_default_columns_and_indexes(filled):
    t = filled.table("users")
    m, _ = filled.get_batch("users", [key_of(2)])
    numeric = [c.name for c in t.columns
               if c.type in ("boolean", "int", "long", "float", "double", "enum")]
    assert m.shape == (1, len(numeric))
    m2, _ = filled.get_batch("users", [key_of(2)], [t.column_index(c) for c in numeric])
    np.testing.assert_array_equal(m, m2)


def test_out_and_found_buffers(filled):
    wide = np.full((3, 10), -7.0, dtype=np.float32)
    found = np.zeros(3, dtype=bool)
    view = wide[:, 2:2 + len(COLS)]
    m, f = filled.get_batch("users", [key_of(1), "x", key_of(2)], COLS, out=view, found=found)
    assert m is view and f is found
    check(view, found, [1, None, 2])
    # The columns around the slice are untouched: the row stride was honoured.
    assert (wide[:, :2] == -7).all() and (wide[:, 2 + len(COLS):] == -7).all()
    with pytest.raises(ValueError):
        filled.get_batch("users", ["a"], COLS, out=np.empty((2, 4), np.float32))
    with pytest.raises(TypeError):
        filled.get_batch("users", ["a"], COLS, out=np.empty((1, 4), np.float64))


def test_empty_key_list(filled):
    m, found = filled.get_batch("users", [], COLS)
    assert m.shape == (0, len(COLS)) and found.shape == (0,)
    m, found = filled.get_batch("users", np.array([], dtype="S4"), COLS)
    assert m.shape == (0, len(COLS))


def test_batch_errors(filled):
    with pytest.raises(fstore.InvalidKeyError):
        filled.get_batch("users", ["a", ""], COLS)
    with pytest.raises(fstore.InvalidKeyError):
        filled.get_batch("users", np.array([b"a", b""], dtype="S2"), COLS)
    with pytest.raises(fstore.ColumnTypeError):
        filled.get_batch("users", ["a"], ["label"])
    with pytest.raises(fstore.ColumnTypeError):
        filled.get_batch("users", ["a"], ["emb"])
    with pytest.raises(fstore.NoColumnError):
        filled.get_batch("users", ["a"], ["nope"])
    with pytest.raises(fstore.NoColumnError):
        filled.get_batch("users", ["a"], [999])
    with pytest.raises(TypeError):
        filled.get_batch("users", "user-000001", COLS)
    with pytest.raises(TypeError):
        filled.get_batch("users", [1, 2], COLS)
    with pytest.raises(TypeError):
        filled.get_batch("users", np.arange(3), COLS)
    with pytest.raises(fstore.NoTableError):
        filled.get_batch("nope", ["a"], COLS)


# -- writing ------------------------------------------------------------------

def test_batch_context_commits_and_offsets(store):
    with store.batch() as b:
        b.put("users", "a", confluent(make_record(1)), partition=0, offset=10)
        b.put("users", "b", confluent(make_record(2)), partition=1)  # offset 0
        b.put("users", "c", confluent(make_record(3)), partition=0)  # offset 11
        assert len(b) == 3
    assert b.closed
    assert store.offsets("users") == {0: 11, 1: 0}
    assert store.get("users", "c").offset == 11
    assert store.row_count("users") == 3
    # A later batch continues from the stored offsets.
    with store.batch() as b:
        b.put("users", "d", confluent(make_record(4)), partition=1)
        b.advance("users", 2, 99)
    assert store.get("users", "d").offset == 1
    assert store.offsets("users") == {0: 11, 1: 1, 2: 99}


def test_tombstone_deletes(filled):
    assert filled.get("users", key_of(5)) is not None
    with filled.batch() as b:
        b.delete("users", key_of(5))
        b.put("users", key_of(6), None)
    assert filled.get("users", key_of(5)) is None
    assert filled.get("users", key_of(6)) is None
    assert filled.row_count("users") == 198
    _, found = filled.get_batch("users", [key_of(4), key_of(5)], ["count"])
    assert list(found) == [True, False]


def test_batch_aborts_on_exception(filled):
    before = filled.offsets("users")
    with pytest.raises(RuntimeError):
        with filled.batch() as b:
            b.put("users", "new", confluent(make_record(1)))
            raise RuntimeError("boom")
    assert b.closed
    assert filled.get("users", "new") is None
    assert filled.offsets("users") == before


def test_decode_error_skips_the_record_only(store):
    with store.batch() as b:
        with pytest.raises(fstore.DecodeError) as e:
            b.put("users", "bad", b"\x07garbage", offset=5)
        assert e.value.code == 400 and e.value.name == "FSTORE_ERR_DECODE_FRAME"
        with pytest.raises(fstore.DecodeError) as e:
            b.put("users", "bad2", b"\x00\x00\x00\x00\x63abc", offset=6)
        assert e.value.name == "FSTORE_ERR_DECODE_SCHEMA_ID" and "99" in e.value.message
        with pytest.raises(fstore.DecodeError) as e:
            b.put("users", "bad3", confluent(make_record(1))[:-3], offset=7)
        assert e.value.name == "FSTORE_ERR_DECODE_TRUNCATED"
        b.put("users", "good", confluent(make_record(1)), offset=8)
    assert store.get("users", "bad") is None
    assert store.get("users", "good") is not None
    # Skipped records still count as consumed.
    assert store.offsets("users") == {0: 8}


def test_apply_is_all_or_nothing(store):
    with pytest.raises(fstore.DecodeError):
        store.apply("users", [("a", confluent(make_record(1))), ("b", b"junk")])
    assert store.get("users", "a") is None
    assert store.apply("users", [("a", confluent(make_record(1))), ("z", None)]) == 2
    assert store.get("users", "a")["count"] == make_record(1)["count"]


def test_one_batch_at_a_time(store):
    b = store.batch()
    with pytest.raises(fstore.StateError):
        store.batch()
    b.abort()
    b.abort()  # fine twice
    with pytest.raises(fstore.StateError):
        b.put("users", "a", confluent(make_record(1)))
    with store.batch() as b2:
        b2.put("users", "a", confluent(make_record(1)))
    with pytest.raises(fstore.StateError):
        b2.commit()
