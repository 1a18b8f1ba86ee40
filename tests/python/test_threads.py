"""Threads: per-thread readers, concurrent reads during writes, the GIL."""

import threading
import time

import numpy as np

import fstore
from conftest import SCHEMA, confluent, key_of, make_record

NKEYS = 50


def version_of(row):
    """The record index a row was written from (see make_record), checking
    that its columns all come from that one record."""
    v = (row["count"] + 1000) // 7
    assert row["clicks"] == v * 1_000_003 + (1 << 33)
    assert row["label"] == "user-%d-é" % v
    return v


def test_concurrent_readers_see_whole_rows(store):
    keys = [key_of(i) for i in range(NKEYS)]
    store.apply("users", [(k, confluent(make_record(0))) for k in keys])
    stop = threading.Event()
    failures, reads = [], [0]

    def read():
        last = {}
        try:
            while not stop.is_set():
                for k in keys[::7]:
                    v = version_of(store.get("users", k))
                    assert v >= last.get(k, 0), "went back in time"
                    last[k] = v
                m, found = store.get_batch("users", keys, ["count", "clicks"])
                assert found.all()
                vs = (m[:, 0].astype(np.int64) + 1000) // 7
                assert (vs >= 0).all()
                reads[0] += 1
        except Exception as e:  # noqa: BLE001
            failures.append(e)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for version in range(1, 60):
        store.apply("users", [(k, confluent(make_record(version))) for k in keys])
    time.sleep(0.05)
    stop.set()
    for t in threads:
        t.join()
    assert not failures, failures[0]
    assert reads[0] > 0
    assert all(version_of(store.get("users", k)) == 59 for k in keys)


def test_thread_readers_are_released_when_threads_end(tmp_path):
    # With room for 8 readers, 40 short-lived threads each doing lookups
    # only work when a finished thread's reader is destroyed.
    with fstore.open(str(tmp_path / "s"), {"store.max_readers": 8}) as s:
        s.register_schema(1, SCHEMA)
        s.create_table("users", SCHEMA)
        s.apply("users", [("a", confluent(make_record(1)))])
        errors = []

        def one():
            try:
                assert s.get("users", "a") is not None
                s.get_batch("users", ["a"], ["count"])
            except Exception as e:  # noqa: BLE001
                errors.append(e)
        for _ in range(40):
            t = threading.Thread(target=one)
            t.start()
            t.join()
        assert not errors, errors[0]


def _count_rate(seconds):
    n = [0]
    stop = threading.Event()

    def count():
        while not stop.is_set():
            n[0] += 1
    t = threading.Thread(target=count)
    t.start()
    time.sleep(seconds)
    stop.set()
    t.join()
    return n[0] / seconds


def test_blocking_calls_release_the_gil_and_close_waits(store_path):
    # wait_ready() on a tailer that cannot reach its broker blocks in C. If
    # the GIL were held meanwhile, a counting thread would stall.
    # (Stopping such a tailer takes up to the library's 5 s metadata
    # timeout, so one store serves both halves of this test.)
    s = fstore.open(store_path, {"kafka.bootstrap.servers": "127.0.0.1:1", "log.level": 0})
    s.create_table("users", SCHEMA)
    s.tail("users", "no-such-topic")
    s.start()
    rate = _count_rate(0.3)
    n = [0]
    stop = threading.Event()

    def count():
        while not stop.is_set():
            n[0] += 1
    t = threading.Thread(target=count)
    t.start()
    time.sleep(0.05)
    before, t0 = n[0], time.monotonic()
    assert s.wait_ready(timeout=1.0) is False
    elapsed, counted = time.monotonic() - t0, n[0] - before
    stop.set()
    t.join()
    assert elapsed >= 0.9
    assert counted > 0.3 * rate * elapsed, (counted, rate, elapsed)

    # close() from another thread while one waits: the waiter notices within
    # one wait slice and raises StateError; nothing crashes.
    result = []

    def wait():
        try:
            result.append(s.wait_ready(timeout=30))
        except fstore.Error as e:
            result.append(e)
    t = threading.Thread(target=wait)
    t.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    s.close()
    t.join(10)
    assert not t.is_alive()
    assert time.monotonic() - t0 < 15
    assert len(result) == 1 and isinstance(result[0], fstore.StateError)
