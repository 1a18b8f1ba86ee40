"""Explicit readers: snapshots, zero-copy row views and their invalidation."""

import numpy as np
import pytest

import fstore
from conftest import confluent, fill, key_of, make_record


def test_row_view_reads_columns(filled):
    with filled.reader() as r:
        v = r.get("users", key_of(4))
        assert isinstance(v, fstore.RowView) and v.valid
        assert v["count"] == make_record(4)["count"]
        assert v[0] == make_record(4)["flag"]
        assert v["opt_score"] == 4.5 and v.get("opt_label") == "opt-4"
        assert list(v) == filled.table("users").column_names and len(v) == 25
        assert v.key == key_of(4).encode()
        assert v.offset == 4 and v.partition == 0 and v.timestamp == 1_600_000_000_004
        assert v.schema_id == 1 and isinstance(v.checksum, int) and v.verify()
        np.testing.assert_array_equal(v.array("emb"), [4.0, 4.25, -1.5])
        assert v.array("ids", dtype=np.float32).dtype == np.float32
        row = v.to_dict()
        assert isinstance(row, fstore.Row) and row.offset == 4
        assert row["label"] == make_record(4)["label"]
        np.testing.assert_array_equal(row["emb"], [4.0, 4.25, -1.5])
        assert r.get("users", "missing") is None
        with pytest.raises(fstore.NoColumnError):
            v["nope"]
        with pytest.raises(fstore.ColumnTypeError):
            v.array("label")


def test_zero_copy_buffer(filled):
    with filled.reader() as r:
        v = r.get("users", key_of(3))
        mv = v.buffer("emb")
        assert isinstance(mv, memoryview) and mv.readonly and mv.format == "f"
        assert mv.tolist() == [3.0, 3.25, -1.5]
        assert v.buffer("big_ids").tolist() == [3 << 35]
        assert v.buffer("opt_emb") is None  # null in odd records
        r.reset()
        # Released with the snapshot: reading it now raises, not crashes.
        with pytest.raises(ValueError):
            mv.tolist()


@pytest.mark.parametrize("how", ["reset", "refresh", "close", "store_close"])
def test_views_raise_after_their_reader_moves_on(filled, how):
    r = filled.reader()
    v = r.get("users", key_of(1))
    assert v["count"] == make_record(1)["count"]
    {"reset": r.reset, "refresh": r.refresh, "close": r.close,
     "store_close": filled.close}[how]()
    assert not v.valid
    with pytest.raises(fstore.StateError):
        v["count"]
    with pytest.raises(fstore.StateError):
        v.offset
    with pytest.raises(fstore.StateError):
        v.to_dict()
    with pytest.raises(fstore.StateError):
        v.buffer("emb")
    if how in ("close", "store_close"):
        with pytest.raises(fstore.StateError):
            r.get("users", key_of(1))
    else:
        # The reader itself is usable again and sees the row.
        assert r.get("users", key_of(1))["count"] == make_record(1)["count"]
    r.close()
    r.close()


def test_snapshot_isolation(filled):
    with filled.reader() as r:
        before = r.get("users", key_of(0))["count"]
        assert r.row_count("users") == 200
        # A writer commits while the reader holds its snapshot...
        filled.apply("users", [(key_of(0), confluent(make_record(999))),
                               ("brand-new", confluent(make_record(1)))])
        # ...which the reader does not see until it refreshes.
        assert r.get("users", key_of(0))["count"] == before
        assert r.get("users", "brand-new") is None
        m, found = r.get_batch("users", [key_of(0), "brand-new"], ["count"])
        assert m[0, 0] == before and list(found) == [True, False]
        assert r.get_arrow("users", ["brand-new"], ["count"]).column("found").to_pylist() == [False]
        assert r.row_count("users") == 200
        r.refresh()
        assert r.get("users", key_of(0))["count"] == make_record(999)["count"]
        assert r.get("users", "brand-new") is not None
        assert r.row_count("users") == 201
        assert r.offsets("users") == filled.offsets("users")
    # The store's own lookups always see the newest commit.
    assert filled.get("users", key_of(0))["count"] == make_record(999)["count"]


def test_reader_is_one_thread_at_a_time(filled):
    import threading
    r = filled.reader()
    r._mutex.acquire()  # as if another thread were inside a call
    try:
        with pytest.raises(fstore.StateError):
            r.get("users", key_of(1))
    finally:
        r._mutex.release()
    assert r.get("users", key_of(1)) is not None
    errors = []

    def other():
        try:
            r.get("users", key_of(2))
        except fstore.Error as e:
            errors.append(e)
    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert not errors  # moving between threads is fine when calls do not overlap
    r.close()


def test_store_reads_are_fresh_per_call(store):
    fill(store, 3)
    assert store.get("users", key_of(1))["count"] == make_record(1)["count"]
    store.apply("users", [(key_of(1), confluent(make_record(50)))])
    assert store.get("users", key_of(1))["count"] == make_record(50)["count"]
    m, _ = store.get_batch("users", [key_of(1)], ["count"])
    assert m[0, 0] == make_record(50)["count"]
