"""Replicas seeded from a snapshot, against the real Kafka broker
(FSTORE_TEST_BROKERS): `fstore tail --seed` (and store.seed in Python)
restores a snapshot of a tailed store, then reads only the records the topic
got since, and ends equal to the topic.

- The gap: 30,000 records (20,000 keys) are tailed into store A with `fstore
  tail --until-caught-up`, A is snapshotted, 5,000 more records follow
  (updates, tombstones and new keys, each of another key). A store seeded
  from the snapshot equals the topic's latest record per key, as an
  independent consumer reads it, and its counters show it applied exactly
  the 5,000 records of the gap.
- A seed older than the topic's log start: after the snapshot, DeleteRecords
  moves every partition's log start past the snapshot's offsets. With
  tail.offset_reset=fail the seeded tail exits 1 saying the stored offset no
  longer exists and what to do; with rebuild it reloads the table from the
  topic and ends equal to it.

Records are produced with confluent-kafka in Confluent wire format, keyed by
entity and partitioned by murmur2 (as the Java client). These tests fail,
never skip, without a broker. Timings are reported as figures (JUnit
properties), never asserted; subprocess timeouts only stop a hang.
"""

import io
import json
import subprocess
import time
import uuid

import fastavro
import pytest

import fstore
from conftest import (PARSED, SCHEMA, SCHEMA_ID, brokers, confluent, fstore_cli, key_of,
                      make_record)

pytestmark = pytest.mark.kafka

PARTITIONS = 3
HANG_S = 300


class Topic:
    """A new topic of its own, a producer, and the files `fstore tail`
    needs (the serving schema, and the writer schema by id)."""

    def __init__(self, tmp_path, policy):
        from confluent_kafka import Producer
        from confluent_kafka.admin import AdminClient, NewTopic
        self.b = brokers()
        self.admin = AdminClient({"bootstrap.servers": self.b})
        self.name = "py-seed-%s" % uuid.uuid4().hex[:12]
        config = {"cleanup.policy": policy}
        if "delete" in policy:
            config["retention.ms"] = "-1"  # only DeleteRecords removes records
        self.admin.create_topics([NewTopic(self.name, PARTITIONS, 1,
                                           config=config)])[self.name].result(60)
        self.producer = Producer({"bootstrap.servers": self.b,
                                  "partitioner": "murmur2_random",
                                  "enable.idempotence": True, "linger.ms": 5})
        self.schema = tmp_path / "users.avsc"
        self.schema.write_text(json.dumps(SCHEMA))
        self.schemas = tmp_path / "schemas"
        self.schemas.mkdir()
        (self.schemas / ("%d.avsc" % SCHEMA_ID)).write_text(json.dumps(SCHEMA))

    def produce(self, records):
        """records: iterable of (key, record dict or None for a tombstone)."""
        n = 0
        for k, rec in records:
            self.producer.produce(self.name, key=k,
                                  value=None if rec is None else confluent(rec))
            self.producer.poll(0)
            n += 1
        assert self.producer.flush(60) == 0
        return n

    def tail(self, store, *extra):
        """`fstore tail --until-caught-up` into @p store; the finished
        process (stdout, stderr as text) and its duration in seconds."""
        t0 = time.monotonic()
        r = subprocess.run([fstore_cli(), "tail", "--brokers", self.b, "--topic", self.name,
                            "--table", "users", "--schema", str(self.schema), "--schemas",
                            str(self.schemas), "--store", str(store), "--until-caught-up",
                            "--timeout", "240", "-X", "tail.batch.max_ms=5", *extra],
                           capture_output=True, text=True, timeout=HANG_S)
        return r, time.monotonic() - t0

    def latest(self):
        """{key: (value bytes or None, partition, offset, timestamp)} of the
        last record of every key from the log start to the end, read by a
        consumer of its own."""
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition
        c = Consumer({"bootstrap.servers": self.b, "group.id": "check-" + self.name,
                      "enable.auto.commit": False, "enable.partition.eof": True})
        c.assign([TopicPartition(self.name, p, OFFSET_BEGINNING) for p in range(PARTITIONS)])
        eof, out = set(), {}
        while len(eof) < PARTITIONS:
            msgs = c.consume(1000, 10.0)
            assert msgs, "could not read %s to its end" % self.name
            for m in msgs:
                if m.error():
                    assert m.error().code() == -191, str(m.error())  # partition EOF
                    eof.add(m.partition())
                else:
                    out[m.key().decode()] = (m.value(), m.partition(), m.offset(),
                                             m.timestamp()[1])
        c.close()
        return out

    def delete_records(self, before):
        """DeleteRecords: partition p keeps only offsets >= before[p]."""
        from confluent_kafka import TopicPartition
        res = self.admin.delete_records([TopicPartition(self.name, p, o)
                                         for p, o in before.items()])
        for f in res.values():
            f.result(60)

    def close(self):
        self.producer.flush(10)
        self.admin.delete_topics([self.name])[self.name].result(60)


@pytest.fixture
def compacted(tmp_path):
    t = Topic(tmp_path, "compact")
    yield t
    t.close()


@pytest.fixture
def deletable(tmp_path):
    t = Topic(tmp_path, "compact,delete")
    yield t
    t.close()


def figure(record_property, name, value):
    record_property(name, value)
    print("figure: %s = %s" % (name, value))


def counters(path):
    r = subprocess.run([fstore_cli(), "stats", "--store", str(path)], capture_output=True,
                       text=True, timeout=HANG_S)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["tables"]["users"]["counters"]


def assert_equals_topic(path, latest):
    """The store at @p path holds, for every key, the latest record the
    topic has (the row gone for a tombstone): the values, partition, offset
    and timestamp. Returns the number of live keys."""
    live = 0
    with fstore.open(path, read_only=True) as s:
        for key, (value, part, offset, ts) in latest.items():
            row = s.get("users", key)
            if value is None:
                assert row is None, key
                continue
            live += 1
            assert row is not None, key
            want = fastavro.schemaless_reader(io.BytesIO(value[5:]), PARSED)
            got = (row["count"], row["clicks"], row["label"], row["ratio"],
                   row.partition, row.offset, row.timestamp, row.schema_id)
            assert got == (want["count"], want["clicks"], want["label"], want["ratio"],
                           part, offset, ts, SCHEMA_ID), key
        assert s.row_count("users") == live
    return live


def test_seeded_replica_reads_only_the_gap(compacted, tmp_path, record_property):
    t = compacted
    n_keys = 20_000
    n = t.produce((key_of(i), make_record(i)) for i in range(n_keys))
    n += t.produce((key_of(i), make_record(i + 50_000)) for i in range(10_000))
    a = tmp_path / "a"
    r, full_s = t.tail(a)
    assert r.returncode == 0, r.stderr
    assert "caught up in " in r.stderr and ": 30,000 records" in r.stderr, r.stderr
    snap = tmp_path / "a.fst"
    r = subprocess.run([fstore_cli(), "snapshot", "--store", str(a), "--out", str(snap)],
                       capture_output=True, text=True, timeout=HANG_S)
    assert r.returncode == 0, r.stderr

    # The gap: updates, tombstones and new keys, one record per key.
    updates = range(0, 3000)
    tombstones = range(3000, 4000)
    new = range(n_keys, n_keys + 1000)
    m = t.produce((key_of(i), make_record(i + 90_000)) for i in updates)
    m += t.produce((key_of(i), None) for i in tombstones)
    m += t.produce((key_of(i), make_record(i)) for i in new)
    assert m == 5000

    b = tmp_path / "b"
    r, seeded_s = t.tail(b, "--seed", str(snap))
    assert r.returncode == 0, r.stderr
    assert "seeded %s in " % b in r.stderr, r.stderr
    assert ": 5,000 records" in r.stderr, r.stderr  # the "caught up" line
    latest = t.latest()
    assert len(latest) == n_keys + len(new)
    live = assert_equals_topic(b, latest)
    assert live == n_keys + len(new) - len(tombstones)
    # Only the gap was read: every record of it applied, none before it.
    c = counters(b)
    assert c["applied"] + c["deleted"] == m
    assert (c["applied"], c["deleted"]) == (len(updates) + len(new), len(tombstones))
    assert sum(c["skipped"].values()) == 0 and c["rebuilds"] == 0

    # The same through store.seed in Python.
    py = str(tmp_path / "py")
    t0 = time.monotonic()
    with fstore.open(py, {"kafka.bootstrap.servers": t.b, "store.seed": str(snap),
                          "tail.batch.max_ms": 5}) as s:
        s.register_schema(SCHEMA_ID, SCHEMA)
        s.create_table("users", SCHEMA)
        s.tail("users", t.name)
        s.start()
        assert s.wait_ready(timeout=240), "the seeded store did not catch up"
        s.stop()  # records the final statistics
        pc = s.stats()["tables"]["users"]["counters"]
    py_s = time.monotonic() - t0
    assert (pc["applied"], pc["deleted"]) == (len(updates) + len(new), len(tombstones))
    assert_equals_topic(py, latest)

    figure(record_property, "full_bootstrap_s_30000_records", "%.2f" % full_s)
    figure(record_property, "seeded_start_s_5000_gap_records", "%.2f" % seeded_s)
    figure(record_property, "python_seeded_start_s", "%.2f" % py_s)
    figure(record_property, "snapshot_bytes", snap.stat().st_size)


def test_seed_older_than_the_log_start(deletable, tmp_path, record_property):
    t = deletable
    n_keys = 6000
    t.produce((key_of(i), make_record(i)) for i in range(n_keys))
    a = tmp_path / "a"
    r, _ = t.tail(a, "-q")
    assert r.returncode == 0, r.stderr
    with fstore.open(a, read_only=True) as s:
        stored = s.offsets("users")
    assert sorted(stored) == list(range(PARTITIONS))
    snap = tmp_path / "a.fst"
    r = subprocess.run([fstore_cli(), "snapshot", "--store", str(a), "--out", str(snap)],
                       capture_output=True, text=True, timeout=HANG_S)
    assert r.returncode == 0, r.stderr
    # More records, then every partition's log start moves past the
    # snapshot's offsets, halfway into what followed them.
    t.produce((key_of(i), make_record(i + 70_000)) for i in range(0, 3000))
    t.produce((key_of(i), make_record(i)) for i in range(n_keys, n_keys + 1000))
    before_gap = {p: o + 1 for p, o in stored.items()}
    ends = {}
    latest = t.latest()
    for _key, (_v, p, off, _ts) in latest.items():
        ends[p] = max(ends.get(p, -1), off + 1)
    before = {p: before_gap[p] + (ends[p] - before_gap[p]) // 2 for p in range(PARTITIONS)}
    assert all(before[p] > before_gap[p] for p in range(PARTITIONS)), (before, before_gap)
    t.delete_records(before)

    # fail (the default, given explicitly): exit 1, the reason and the way out.
    r, _ = t.tail(tmp_path / "b-fail", "--seed", str(snap), "-X", "tail.offset_reset=fail")
    assert r.returncode == 1, r.stderr
    assert "seeded %s in " % (tmp_path / "b-fail") in r.stderr, r.stderr
    assert "the stored offset no longer exists in the topic" in r.stderr, r.stderr
    assert "set tail.offset_reset=rebuild to reload the table" in r.stderr, r.stderr
    assert "(FSTORE_ERR_KAFKA)" in r.stderr, r.stderr

    # rebuild: the table is reloaded from the new log start: equal to what
    # the topic still holds, and keys whose records were all deleted are gone.
    b = tmp_path / "b-rebuild"
    r, rebuild_s = t.tail(b, "--seed", str(snap), "-X", "tail.offset_reset=rebuild")
    assert r.returncode == 0, r.stderr
    assert 'rebuilding table "users"' in r.stderr, r.stderr
    remaining = t.latest()
    assert min(off for _v, _p, off, _ts in remaining.values()) >= min(before.values())
    live = assert_equals_topic(b, remaining)
    gone = [k for k in latest if k not in remaining]
    assert gone, "DeleteRecords removed no key entirely"
    with fstore.open(b, read_only=True) as s:
        assert all(s.get("users", k) is None for k in gone)
        assert s.offsets("users") == {p: ends[p] - 1 for p in range(PARTITIONS)}
    c = counters(b)
    assert c["rebuilds"] == 1
    assert c["applied"] + c["deleted"] >= live
    figure(record_property, "rebuild_after_seed_s", "%.2f" % rebuild_s)
    figure(record_property, "keys_gone_with_deleted_records", len(gone))
