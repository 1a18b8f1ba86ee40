"""Reader processes for test_multiprocess.py (a module of its own so that
spawned children can import it)."""

import time

import numpy as np

import fstore


def reader_process(path, keys, final_version, deadline_s, ready, out):
    """Opens the store read-only and reads until every key shows
    @p final_version, checking that rows are whole and never go back in
    time. Releases semaphore @p ready once it reads. Puts (reads, versions
    seen, error or None) on @p out."""
    seen, reads = set(), 0
    try:
        with fstore.open(path, read_only=True) as s:
            s.get_batch("users", keys, ["count"])
            ready.release()
            last = np.full(len(keys), -1, dtype=np.int64)
            deadline = time.monotonic() + deadline_s
            while time.monotonic() < deadline:
                m, found = s.get_batch("users", keys, ["count", "clicks"])
                if found.all():
                    v = (m[:, 0].astype(np.int64) + 1000) // 7
                    if (v < last).any():
                        raise AssertionError("a row went back in time")
                    last = v
                    seen.update(v.tolist())
                row = s.get("users", keys[reads % len(keys)])
                if row is not None:
                    v = (row["count"] + 1000) // 7
                    if row["clicks"] != v * 1_000_003 + (1 << 33):
                        raise AssertionError("torn row: %r" % (row,))
                reads += 1
                if found.all() and (last == final_version).all():
                    break
            else:
                raise AssertionError("never saw version %d (last %s)" % (final_version, last))
        out.put((reads, sorted(seen), None))
    except Exception as e:  # noqa: BLE001 - reported to the parent
        out.put((reads, sorted(seen), repr(e)))


def use_parent_store(store, out):
    """In a fork child: the parent's Store must raise, a new open must work."""
    try:
        store.get("users", "k")
        out.put("no error")
    except fstore.StateError as e:
        try:
            with fstore.open(store.path, read_only=True) as mine:
                row = mine.get("users", "k")
                out.put(("ok", str(e), None if row is None else row["count"]))
        except Exception as e2:  # noqa: BLE001
            out.put(repr(e2))
    except Exception as e:  # noqa: BLE001
        out.put(repr(e))
