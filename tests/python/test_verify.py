"""Store.verify() and fstore.verify(): a clean store reports no damage; a byte
changed in the data file is named (kind, table, key, expected, found); the
progress callback sees the rows and may stop the check."""

import os

import pytest

import fstore
from conftest import fill


def _flip(path, needle, new):
    """Replaces the one occurrence of @p needle in the store's data file."""
    data_path = os.path.join(path, "data.mdb")
    with open(data_path, "rb") as f:
        data = f.read()
    assert data.count(needle) == 1, "%r occurs %d times" % (needle, data.count(needle))
    at = data.index(needle)
    with open(data_path, "r+b") as f:
        f.seek(at)
        f.write(new)


def test_a_clean_store_reports_no_damage(store, store_path):
    fill(store, 200)
    report = store.verify()
    assert report["clean"] is True
    assert report["rows_checked"] == 200
    assert report["damage"] == [] and report["damage_count"] == 0
    assert [t["name"] for t in report["tables"]] == ["users"]
    assert report["lmdb"]["accounting"] == "checked"
    store.close()
    assert fstore.verify(store_path)["clean"] is True


def test_a_changed_byte_is_named(store, store_path):
    fill(store, 50)
    store.close()
    # The string column of user-000007: its body checksum no longer holds.
    _flip(store_path, "user-7-é".encode(), b"U")
    report = fstore.verify(store_path)
    assert report["clean"] is False
    assert report["damaged_rows"] == 1 and report["damage_count"] == 1
    (d,) = report["damage"]
    assert d["kind"] == "row_checksum"
    assert d["table"] == "users"
    assert d["key"] == "user-000007"
    assert d["what"] == "body checksum"
    assert d["expected"].endswith("(stored in the header)")
    assert d["found"].endswith("(XXH3-64 of the body)")
    assert d["expected"].split()[0] != d["found"].split()[0]


def test_progress_sees_every_row_and_may_stop_the_check(store):
    fill(store, 300)
    seen = []
    store.verify(lambda checked, total: seen.append((checked, total)))
    assert seen[0] == (0, 300) and seen[-1] == (300, 300)

    class Stop(Exception):
        pass

    def stop(checked, total):
        raise Stop()

    with pytest.raises(Stop):
        store.verify(stop)
    # The store still works, and a later check runs to the end.
    assert store.verify()["clean"] is True


def test_verify_of_an_absent_store_raises(tmp_path):
    with pytest.raises(fstore.NoStoreError):
        fstore.verify(str(tmp_path / "absent"))
