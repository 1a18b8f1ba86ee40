"""Reader processes reading one store while the parent writes to it."""

import multiprocessing as mp
import time

from conftest import confluent, key_of, make_record
from mp_worker import reader_process, use_parent_store

VERSIONS = 40


def test_reader_processes_during_commits(store):
    keys = [key_of(i) for i in range(64)]
    store.apply("users", [(k, confluent(make_record(0))) for k in keys])
    ctx = mp.get_context("spawn")
    out, ready = ctx.Queue(), ctx.Semaphore(0)
    procs = [ctx.Process(target=reader_process,
                         args=(store.path, keys, VERSIONS, 60, ready, out))
             for _ in range(3)]
    for p in procs:
        p.start()
    for _ in procs:
        assert ready.acquire(timeout=60)
    # Commit a new version of every row, one transaction per version, while
    # the children read.
    for v in range(1, VERSIONS + 1):
        store.apply("users", [(k, confluent(make_record(v))) for k in keys])
        time.sleep(0.005)
    results = [out.get(timeout=90) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    for reads, seen, err in results:
        assert err is None, err
        assert reads > 0 and seen[-1] == VERSIONS
    # The children really read while the parent wrote: they saw versions
    # between the first and the last.
    assert max(len(seen) for _, seen, _ in results) > 2


def test_fork_child_must_reopen(store):
    store.apply("users", [("k", confluent(make_record(3)))])
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    p = ctx.Process(target=use_parent_store, args=(store, out))
    p.start()
    res = out.get(timeout=60)
    p.join(30)
    assert p.exitcode == 0
    assert res[0] == "ok", res
    assert "fork" in res[1]
    assert res[2] == make_record(3)["count"]
    # The parent's handle is untouched by the child.
    assert store.get("users", "k")["count"] == make_record(3)["count"]
