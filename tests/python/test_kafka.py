"""Stores tailed from the real Kafka broker (FSTORE_TEST_BROKERS).

Records are produced with confluent-kafka in Confluent wire format, keyed
by entity and partitioned by murmur2 (as the Java client), to a compacted
topic. These tests fail, never skip, when no broker is configured: run them
through scripts/test.sh, whose kafka stage starts one.
"""

import logging
import time
import uuid

import numpy as np
import pytest

import fstore
from conftest import SCHEMA, SCHEMA_ID, brokers, confluent, key_of, make_record

pytestmark = pytest.mark.kafka

PARTITIONS = 3


@pytest.fixture
def kafka():
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic
    b = brokers()
    admin = AdminClient({"bootstrap.servers": b})
    topic = "py-%s" % uuid.uuid4().hex[:12]
    fut = admin.create_topics([NewTopic(topic, PARTITIONS, 1,
                                        config={"cleanup.policy": "compact"})])[topic]
    fut.result(60)
    producer = Producer({"bootstrap.servers": b, "partitioner": "murmur2_random",
                         "enable.idempotence": True, "linger.ms": 5})

    def produce(records):
        """records: iterable of (key, value bytes or None)."""
        for k, v in records:
            producer.produce(topic, key=k, value=v)
            producer.poll(0)
        assert producer.flush(60) == 0
    yield b, topic, produce
    producer.flush(10)
    admin.delete_topics([topic])[topic].result(60)


def tailing_store(path, b, topic, log=None, log_level=4):
    s = fstore.open(path, {"kafka.bootstrap.servers": b, "tail.batch.max_ms": 5,
                           "tail.stats_interval_ms": 100, "log.level": log_level}, log=log)
    s.register_schema(SCHEMA_ID, SCHEMA)
    s.create_table("users", SCHEMA)
    s.tail("users", topic)
    s.start()
    assert s.wait_ready(timeout=120), "bootstrap did not complete"
    return s


def wait_for(fn, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.01)
    raise AssertionError("condition not met within %s s" % timeout)


def test_bootstrap_tail_and_resume(kafka, store_path):
    b, topic, produce = kafka
    n = 300
    produce((key_of(i), confluent(make_record(i))) for i in range(n))
    # Updates, tombstones and one record that is not Confluent-framed.
    produce((key_of(i), confluent(make_record(i + 1000))) for i in range(50))
    produce((key_of(i), None) for i in range(50, 60))
    produce([(key_of(999), b"not avro")])

    lines = []
    s = tailing_store(store_path, b, topic, log=lambda level, msg: lines.append((level, msg)))
    try:
        # Every key has its latest value; tombstoned keys are gone.
        for i in range(n):
            row = s.get("users", key_of(i))
            if 50 <= i < 60:
                assert row is None, key_of(i)
                continue
            want = make_record(i + 1000 if i < 50 else i)
            assert row["count"] == want["count"] and row["label"] == want["label"]
            assert row.schema_id == SCHEMA_ID
            # Kafka's default partitioner and fstore's helper agree.
            assert row.partition == fstore.partition_for_key(key_of(i), PARTITIONS)
        assert s.get("users", key_of(999)) is None
        assert s.row_count("users") == n - 10
        offsets = s.offsets("users")
        assert sorted(offsets) == list(range(PARTITIONS))
        assert sum(o + 1 for o in offsets.values()) == n + 50 + 10 + 1

        # Batch and Arrow views of tailed data.
        keys = [key_of(i) for i in range(n)]
        m, found = s.get_batch("users", keys, ["count", "opt_score"])
        assert found.sum() == n - 10 and not found[50:60].any()
        assert np.isnan(m[50:60]).all()
        df = s.get_arrow("users", keys[:60], ["count", "label"]).to_pandas()
        assert list(df["found"]) == [True] * 50 + [False] * 10
        assert list(df["count"][:50]) == [make_record(i + 1000)["count"] for i in range(50)]

        # The undecodable record was skipped, counted and logged with its
        # topic, partition and offset.
        st = s.stats()
        assert st["tables"]["users"]["counters"]["skipped"]["decode"] == 1
        assert st["tables"]["users"]["rows"] == n - 10
        assert any(topic in msg for _, msg in lines), lines

        # Live updates become visible while tailing.
        t0 = time.monotonic()
        produce([(key_of(7), confluent(make_record(5007)))])
        wait_for(lambda: s.get("users", key_of(7))["count"] == make_record(5007)["count"])
        visible_s = time.monotonic() - t0
        assert visible_s < 10
        s.stop()
        s.stop()
    finally:
        s.close()

    # Records produced while no tailer runs are applied after a restart,
    # from the stored offsets: nothing twice, nothing lost.
    produce([(key_of(8), confluent(make_record(6008))), (key_of(55), confluent(make_record(55)))])
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)
    logger = logging.getLogger("fstore.test")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(Keep())
    with tailing_store(store_path, b, topic, log=logger, log_level=6) as s:
        assert s.get("users", key_of(8))["count"] == make_record(6008)["count"]
        assert s.get("users", key_of(55))["count"] == make_record(55)["count"]
        assert s.get("users", key_of(7))["count"] == make_record(5007)["count"]
        assert s.row_count("users") == n - 10 + 1
        assert sum(o + 1 for o in s.offsets("users").values()) == n + 50 + 10 + 1 + 1 + 2
        applied = wait_for(lambda: s.stats()["tables"]["users"]["counters"]["applied"])
        assert applied == 2
    # A logging.Logger receives the library's lines at mapped levels.
    assert any(r.levelno == logging.INFO and "caught up" in r.getMessage() for r in records), \
        [r.getMessage() for r in records]


def test_reader_process_sees_live_tailing(kafka, store_path):
    import multiprocessing as mp
    from mp_worker import reader_process
    b, topic, produce = kafka
    keys = [key_of(i) for i in range(30)]
    produce((k, confluent(make_record(0))) for k in keys)
    with tailing_store(store_path, b, topic) as s:
        ctx = mp.get_context("spawn")
        out, ready = ctx.Queue(), ctx.Semaphore(0)
        p = ctx.Process(target=reader_process, args=(store_path, keys, 20, 90, ready, out))
        p.start()
        assert ready.acquire(timeout=60)
        for v in range(1, 21):
            produce((k, confluent(make_record(v))) for k in keys)
        reads, seen, err = out.get(timeout=120)
        p.join(30)
        assert err is None, err
        assert seen[-1] == 20 and reads > 0
        # The tailer in this process applied every record: 30 at bootstrap,
        # then 20 versions of 30 keys.
        assert s.stats()["tables"]["users"]["counters"]["applied"] == 30 + 20 * 30
        # Statistics recorded by the tailer are readable from a read-only
        # handle too.
        with fstore.open(store_path, read_only=True) as ro:
            st = wait_for(lambda: ro.stats().get("tables", {}).get("users"))
            assert st["rows"] == len(keys)


def test_cli_tails_two_topics_into_one_store(kafka, tmp_path):
    """`fstore tail` with two --topic groups: one writer fills two tables
    of one store (the second from partition 0 only), waits for both, and
    says how many rows each holds."""
    import json
    import subprocess
    from confluent_kafka.admin import AdminClient, NewTopic
    from conftest import fstore_cli
    b, topic, produce = kafka
    produce((key_of(i), confluent(make_record(i))) for i in range(120))
    admin = AdminClient({"bootstrap.servers": b})
    topic2 = topic + "-items"
    admin.create_topics([NewTopic(topic2, PARTITIONS, 1,
                                  config={"cleanup.policy": "compact"})])[topic2].result(60)
    try:
        from confluent_kafka import Producer
        p = Producer({"bootstrap.servers": b, "partitioner": "murmur2_random"})
        for i in range(60):
            p.produce(topic2, key=key_of(i), value=confluent(make_record(i + 500)))
        assert p.flush(60) == 0
        schema = tmp_path / "s.avsc"
        schema.write_text(json.dumps(SCHEMA))
        ids = tmp_path / "ids"
        ids.mkdir()
        (ids / ("%d.avsc" % SCHEMA_ID)).write_text(json.dumps(SCHEMA))
        store = tmp_path / "two"
        r = subprocess.run([fstore_cli(), "tail", "--brokers", b, "--store", str(store),
                            "--schemas", str(ids), "--until-caught-up", "--timeout", "120",
                            "--topic", topic, "--schema", str(schema), "--table", "users",
                            "--topic", topic2, "--schema", str(schema), "--table", "items",
                            "--partitions", "0"],
                           stderr=subprocess.PIPE, text=True, timeout=180)
        assert r.returncode == 0, r.stderr
        with fstore.open(str(store), read_only=True) as s:
            assert s.row_count("users") == 120
            in_p0 = [i for i in range(60)
                     if fstore.partition_for_key(key_of(i), PARTITIONS) == 0]
            assert 0 < len(in_p0) < 60
            assert s.row_count("items") == len(in_p0)
            i = in_p0[0]
            assert s.get("items", key_of(i))["count"] == make_record(i + 500)["count"]
            assert s.get("users", key_of(i))["count"] == make_record(i)["count"]
        assert "table items (topic %s): %d rows" % (topic2, len(in_p0)) in r.stderr
        assert "table users (topic %s): 120 rows" % topic in r.stderr
    finally:
        admin.delete_topics([topic2])[topic2].result(60)
