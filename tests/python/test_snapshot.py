"""Snapshots from Python: a restored store holds the same rows and offsets,
and a damaged snapshot is refused without creating anything."""

import pytest

import fstore
from conftest import key_of


def test_snapshot_restore_round_trip(filled, tmp_path):
    snap = tmp_path / "snap.fst"
    filled.snapshot(snap)
    dst = tmp_path / "restored"
    fstore.restore(snap, dst)
    restored = fstore.open(dst, read_only=True)
    try:
        for i in range(0, 200, 7):
            a = filled.get("users", key_of(i))
            b = restored.get("users", key_of(i))
            assert a is not None and b is not None
            assert dict(a).keys() == dict(b).keys()
            assert a.offset == b.offset and a.partition == b.partition
        assert restored.get("users", "no such key") is None
        assert restored.stats()["tables"]["users"]["rows"] == \
            filled.stats()["tables"]["users"]["rows"]
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
