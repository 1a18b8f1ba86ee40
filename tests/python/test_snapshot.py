"""Snapshots from Python: a restored store holds the same rows (every
column value and the row metadata) and the same offsets, and a damaged
snapshot is refused without creating anything."""

import datetime

import numpy as np
import pytest

import fstore
from conftest import SCHEMA, fill_history, key_of

NKEYS = 300


def plain(value):
    """A column value in a form == compares exactly: numpy arrays as lists
    of their elements (dtype included), everything else as is."""
    if isinstance(value, np.ndarray):
        return (str(value.dtype), value.tolist())
    return value


def row_of(store, key):
    """(column values, key, timestamp, partition, offset, schema_id) of the
    row of @p key, or None."""
    r = store.get("users", key)
    if r is None:
        return None
    return ({c: plain(v) for c, v in r.items()}, r.key, r.timestamp,
            r.partition, r.offset, r.schema_id)


def test_snapshot_restore_round_trip(store, tmp_path):
    deleted = fill_history(store, NKEYS)
    snap = tmp_path / "snap.fst"
    store.snapshot(snap)
    dst = tmp_path / "restored"
    fstore.restore(snap, dst)
    restored = fstore.open(dst, read_only=True)
    try:
        live = 0
        for i in range(NKEYS):
            a = row_of(store, key_of(i))
            b = row_of(restored, key_of(i))
            assert b == a, key_of(i)
            live += a is not None
        assert row_of(restored, "no such key") is None
        # The comparison saw what was written: live rows, overwritten values
        # and tombstones, every column of every type.
        assert live == NKEYS - len(deleted) > 0
        row5 = row_of(restored, key_of(5))[0]
        assert row5["count"] == 1005 * 7 - 1000 and row5["opt_count"] is None
        assert isinstance(row5["day"], datetime.date)
        assert row_of(restored, key_of(12)) is None
        assert set(row5) == {f["name"] for f in SCHEMA["fields"]}
        assert restored.row_count("users") == store.row_count("users") == live
        assert restored.stats()["tables"]["users"]["rows"] == live
        # Offsets of every partition, so tailing resumes where the source was.
        assert restored.offsets("users") == store.offsets("users")
        assert store.offsets("users") == {
            p: 900 + max(i for i in deleted if i % 3 == p) for p in range(3)}
    finally:
        restored.close()


def test_damaged_snapshot_is_refused(filled, tmp_path):
    snap = tmp_path / "snap.fst"
    filled.snapshot(snap)
    data = bytearray(snap.read_bytes())
    data[len(data) // 2] ^= 0x10
    snap.write_bytes(bytes(data))
    dst = tmp_path / "restored"
    with pytest.raises(fstore.Error) as info:
        fstore.restore(snap, dst)
    assert info.value.name == "FSTORE_ERR_CORRUPT"
    assert not dst.exists()
