"""`fstore aggregate` against the real Kafka broker (FSTORE_TEST_BROKERS).

Events are produced keyed and partitioned as the Java client does, with
out-of-order times (some beyond every window: late), nulls, and a final
jump in time that expires idle entities. The output topic, read with
read_committed, must equal the reference model in aggregate_reference.py
(doubles within 1e-9 relative), whatever happened meanwhile: SIGKILLs at
random moments, a second instance joining the group and the first one
killed. These tests fail, never skip, without a broker.
"""

import io
import json
import os
import random
import re
import signal
import subprocess
import time
import uuid

import fastavro
import pytest

import aggregate_reference as ref
from conftest import brokers

pytestmark = pytest.mark.kafka

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FSTORE = os.environ.get("FSTORE_BIN",
                        os.path.join(ROOT, "build", "release", "tools", "fstore"))
PARTITIONS = 4
WRITER_ID = 7

EVENTS = {"type": "record", "name": "ev", "fields": [
    {"name": "ts", "type": "long"},
    {"name": "amount", "type": ["null", "double"], "default": None},
    {"name": "qty", "type": "int"},
    {"name": "country", "type": "string"}]}
PARSED = fastavro.parse_schema(EVENTS)


def spec_of(name, fmt):
    return {
        "input": {"topic": name + "-events", "format": fmt, "schema": "events.avsc",
                  "time": "ts"},
        "output": {"topic": name + "-features", "schema_id": 100},
        "windows": {"5m": "1m", "1h": "5m", "1d": "1h"},
        "features": [
            {"name": "events", "op": "count"},
            {"name": "amount_sum", "op": "sum", "field": "amount"},
            {"name": "amount_mean", "op": "mean", "field": "amount"},
            {"name": "amount_min", "op": "min", "field": "amount"},
            {"name": "amount_max", "op": "max", "field": "amount"},
            {"name": "qty_max", "op": "max", "field": "qty"},
            {"name": "country", "op": "last", "field": "country"}]}


def make_events(n, entities, seed):
    """(key, value dict) pairs: hot and cold entities, out-of-order and late
    times, nulls; a last stretch an hour and a day later expires most."""
    rnd = random.Random(seed)
    t = 1_700_000_000_000
    hot = max(10, entities // 100)
    out = []
    for i in range(n):
        if i == n - n // 50:
            t += 26 * 3600_000  # idle entities expire: tombstones
        t += rnd.randint(0, 40)
        ts = t
        r = rnd.random()
        if r < 0.03:
            ts = t - rnd.randint(0, 3 * 3600_000)  # late, often beyond 5m/1h
        elif r < 0.035:
            ts = t - 2 * 86400_000  # beyond every window: dropped
        key = "u%d" % (rnd.randrange(hot) if rnd.random() < 0.4 else rnd.randrange(entities))
        out.append((key, {"ts": ts,
                          "amount": None if rnd.random() < 0.1 else round(rnd.uniform(-50, 150), 3),
                          "qty": rnd.randint(0, 9),
                          "country": rnd.choice(["fr", "de", "it", "es", "nl"])}))
    return out


def rnd_part(key):
    """Keyed events go where the partitioner puts them; keyless ones to a
    partition of their own choosing (-1 would be the producer's)."""
    return -1 if key is not None else 1


def encode(fmt, value):
    if fmt == "json":
        return json.dumps(value).encode()
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, PARSED, value)
    body = buf.getvalue()
    return (b"\0" + WRITER_ID.to_bytes(4, "big") + body) if fmt == "confluent" else body


class Setup:
    def __init__(self, tmp_path, fmt):
        from confluent_kafka.admin import AdminClient, NewTopic
        self.b = brokers()
        self.name = "agg-%s-%s" % (fmt, uuid.uuid4().hex[:8])
        self.fmt = fmt
        self.spec = spec_of(self.name, fmt)
        self.dir = tmp_path
        (tmp_path / "events.avsc").write_text(json.dumps(EVENTS))
        self.schemas = tmp_path / "schemas"
        self.schemas.mkdir()
        (self.schemas / ("%d.avsc" % WRITER_ID)).write_text(json.dumps(EVENTS))
        self.spec_path = tmp_path / "spec.json"
        self.spec_path.write_text(json.dumps(self.spec))
        self.admin = AdminClient({"bootstrap.servers": self.b})
        topic = self.spec["input"]["topic"]
        self.admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(60)

    def produce(self, events):
        """events: (key or None, value dict, or bytes sent as they are)."""
        from confluent_kafka import Producer
        p = Producer({"bootstrap.servers": self.b, "partitioner": "murmur2_random",
                      "enable.idempotence": True, "linger.ms": 5})
        topic = self.spec["input"]["topic"]
        for key, value in events:
            raw = value if isinstance(value, bytes) else encode(self.fmt, value)
            while True:
                try:
                    p.produce(topic, key=key.encode() if key is not None else None,
                              value=raw, partition=rnd_part(key))
                    break
                except BufferError:
                    p.poll(0.1)
            p.poll(0)
        assert p.flush(120) == 0

    def command(self, state, group="g", extra=()):
        return [FSTORE, "aggregate", "--brokers", self.b, "--spec", str(self.spec_path),
                "--state", str(self.dir / state), "--group", self.name + "-" + group,
                "--schemas", str(self.schemas), "-X", "aggregate.commit_ms=30",
                "-X", "log.level=6", *extra]

    def run(self, state, group="g", timeout=240, extra=()):
        r = subprocess.run(self.command(state, group, [*extra, "--until-caught-up",
                                                       "--timeout", str(timeout)]),
                           capture_output=True, text=True, timeout=timeout + 60)
        assert r.returncode == 0, r.stderr[-3000:]
        return r.stderr

    def read(self, topic, decode, partitions=PARTITIONS):
        from confluent_kafka import Consumer, TopicPartition
        c = Consumer({"bootstrap.servers": self.b, "group.id": "check-" + uuid.uuid4().hex,
                      "isolation.level": "read_committed", "enable.auto.commit": False,
                      "enable.partition.eof": True})
        c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        eof, out = set(), []
        deadline = time.monotonic() + 180
        while len(eof) < partitions and time.monotonic() < deadline:
            for m in c.consume(1000, 1.0):
                if m.error():
                    if m.error().code() == -191:  # partition EOF
                        eof.add(m.partition())
                        continue
                    raise AssertionError(str(m.error()))
                out.append(decode(m))
        c.close()
        assert len(eof) == partitions, "could not read %s to its end" % topic
        return out

    def check(self):
        """The output topic equals the reference model of the events topic."""
        out_schema = fastavro.parse_schema(
            json.loads((self.schemas / "100.avsc").read_text()))

        def event(m):
            v = m.value()
            if self.fmt == "json":
                try:
                    val = json.loads(v)
                except ValueError:
                    val = None  # not JSON: skipped by both
            else:
                val = fastavro.schemaless_reader(
                    io.BytesIO(v[5:] if self.fmt == "confluent" else v), PARSED)
            return {"partition": m.partition(), "offset": m.offset(), "key": m.key(),
                    "timestamp": m.timestamp()[1], "value": val, "raw": v}

        def output(m):
            v = m.value()
            if v is not None:
                assert v[:5] == b"\0" + (100).to_bytes(4, "big")
            return m.key(), (fastavro.schemaless_reader(io.BytesIO(v[5:]), out_schema)
                             if v is not None else None)

        events = self.events = self.read(self.spec["input"]["topic"], event)
        latest = dict(self.read(self.spec["output"]["topic"], output))
        r = ref.Reference(self.spec, schema=EVENTS)
        r.add_all(events)
        expected = r.expected()
        problems = ref.compare(expected, latest)
        assert not problems, "%d problems, first: %s" % (len(problems), problems[:5])
        return r, expected, latest

    def close(self):
        topics = [self.spec["input"]["topic"], self.spec["output"]["topic"],
                  self.spec["output"]["topic"] + "-state", self.name + "-dead"]
        for f in self.admin.delete_topics(topics).values():
            try:
                f.result(60)
            except Exception:
                pass


def stats_of(stderr):
    """The final statistics line of a run."""
    lines = [l for l in stderr.splitlines() if l.startswith("fstore aggregate: {")]
    assert lines, stderr[-2000:]
    return json.loads(lines[-1][len("fstore aggregate: "):])


def restored_of(stderr):
    return sum(int(n) for n in re.findall(r"restored from changelog offsets \S+ \((\d+) records\)",
                                          stderr))


@pytest.mark.parametrize("fmt", ["avro", "json"])
def test_formats_match_the_reference(tmp_path, fmt):
    s = Setup(tmp_path, fmt)
    try:
        events = make_events(30_000, 3_000, seed=11)
        # Bad events, dead-lettered: keyless ones, and for JSON values that
        # are not JSON or have no time.
        rnd = random.Random(3)
        for i in range(60):
            bad = (None, events[i][1]) if fmt != "json" or i % 3 == 0 else \
                  ("u1", b"{not json" if i % 3 == 1 else b'{"amount": 1}')
            events.insert(rnd.randrange(len(events)), bad)
        s.produce(events)
        dlq = s.name + "-dead"
        st = stats_of(s.run("state", extra=["-X", "aggregate.dead_letter_topic=" + dlq]))
        assert st["late_dropped"] > 0, "the stream had events beyond every window"
        assert sum(st["skipped"].values()) == 60
        r, expected, latest = s.check()
        assert st["late_dropped"] == r.stats["late"]
        assert r.stats["invalid"] == 60
        assert sum(1 for v in expected.values() if v is None) > 100, "idle entities expired"
        assert st["tombstones"] > 0
        # The dead letters are exactly the skipped events, once each.
        invalid = {(e["partition"], e["offset"]) for i, e in enumerate(s.events)
                   if i in {j for j, _ in r.invalid_reasons}}
        raw = {(e["partition"], e["offset"]): (e["key"], e["raw"]) for e in s.events}

        def letter(m):
            h = dict(m.headers())
            return ((int(h["fstore.partition"]), int(h["fstore.offset"])),
                    (m.key(), m.value()))
        letters = s.read(dlq, letter, partitions=PARTITIONS)
        assert sorted(k for k, _ in letters) == sorted(invalid)
        for k, v in letters:
            assert v == raw[k]
    finally:
        s.close()


def test_sigkills_lose_nothing_and_restart_from_the_changelog_tail(tmp_path):
    s = Setup(tmp_path, "confluent")
    try:
        events = make_events(200_000, 12_000, seed=12)
        s.produce(events[:100_000])
        rnd = random.Random(5)
        kills = assigned = 0
        restored_after_kills = []
        for i in range(10):
            if i == 5:
                s.produce(events[100_000:])  # more arrives while it crashes
            log = open(tmp_path / ("run%d.log" % i), "w+")
            p = subprocess.Popen(s.command("state"), stderr=log, text=True)
            time.sleep(rnd.uniform(1.0, 2.5))
            p.send_signal(signal.SIGKILL)
            p.wait(30)
            kills += 1
            log.seek(0)
            text = log.read()
            log.close()
            assigned += "restored from changelog" in text
            if i:
                restored_after_kills.append(restored_of(text))
        assert kills == 10
        assert assigned >= 5, "most runs got their partitions before the kill"
        final = s.run("state")
        st = stats_of(final)
        assert st["events"] < 200_000, "the killed runs committed progress"
        r, expected, latest = s.check()
        assert r.stats["accepted"] + r.stats["late"] == 200_000
        changelog_records = len(s.read(s.spec["output"]["topic"] + "-state",
                                       lambda m: m.offset()))
        # Each restart read at most the changelog's tail, never all of it.
        for n in restored_after_kills + [restored_of(final)]:
            assert n < changelog_records / 4, (n, changelog_records)
        assert sum(1 for v in expected.values() if v) > 100
    finally:
        s.close()


def test_a_second_instance_takes_over(tmp_path):
    s = Setup(tmp_path, "confluent")
    try:
        events = make_events(80_000, 5_000, seed=13)
        s.produce(events[:40_000])
        fast = ["-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=500"]
        log_a = open(tmp_path / "a.log", "w+")
        a = subprocess.Popen(s.command("state-a", extra=fast), stderr=log_a, text=True)
        time.sleep(3)
        log_b = open(tmp_path / "b.log", "w+")
        b = subprocess.Popen(s.command("state-b", extra=fast), stderr=log_b, text=True)
        time.sleep(4)
        s.produce(events[40_000:])
        time.sleep(1)
        a.send_signal(signal.SIGKILL)
        a.wait(30)
        # b takes a's partitions once the group notices a is gone.
        time.sleep(12)
        b.send_signal(signal.SIGTERM)
        assert b.wait(60) == 0
        log_b.seek(0)
        text_b = log_b.read()
        assert "restored from changelog" in text_b
        # Whatever b did not reach, a last run on b's state finishes.
        s.run("state-b")
        s.check()
        log_a.close()
        log_b.close()
    finally:
        s.close()


def test_a_zombie_is_fenced(tmp_path):
    """A second instance under the same name (a restarted pod whose old
    process still runs) fences the first: the zombie stops with an error
    that says so, its open transaction is never committed, and the output
    still equals the reference."""
    s = Setup(tmp_path, "confluent")
    try:
        events = make_events(40_000, 4_000, seed=17)
        s.produce(events[:20_000])
        same = ["-X", "aggregate.instance=pod-0"]
        log_a = open(tmp_path / "a.log", "w+")
        a = subprocess.Popen(s.command("state-a", extra=same), stderr=log_a, text=True)
        time.sleep(4)
        log_b = open(tmp_path / "b.log", "w+")
        b = subprocess.Popen(s.command("state-b", extra=same), stderr=log_b, text=True)
        s.produce(events[20_000:])
        rc = a.wait(90)
        log_a.seek(0)
        text_a = log_a.read()
        assert rc == 1, text_a[-2000:]
        assert "fenced" in text_a.lower(), text_a[-2000:]
        b.send_signal(signal.SIGTERM)
        assert b.wait(60) == 0
        s.run("state-b", extra=same)
        s.check()
        log_a.close()
        log_b.close()
    finally:
        s.close()


def test_registry_mode_registers_the_output_schema(tmp_path):
    """With --registry and no output.schema_id, the aggregator registers the
    output schema under <output topic>-value, frames its records with the
    id the registry gives, and `fstore tail --registry` serves them; a
    registry that refuses the schema as incompatible stops the start with
    its reason."""
    import fstore
    from registry_double import RegistryDouble
    reg = RegistryDouble(first_id=100, preload={WRITER_ID: json.dumps(EVENTS)})
    s = Setup(tmp_path, "confluent")
    try:
        del s.spec["output"]["schema_id"]
        s.spec_path.write_text(json.dumps(s.spec))
        out_topic = s.spec["output"]["topic"]
        events = make_events(6_000, 600, seed=23)
        s.produce(events)

        def with_registry(cmd):
            i = cmd.index("--schemas")
            return cmd[:i] + ["--registry", reg.url] + cmd[i + 2:]

        r = subprocess.run(with_registry(s.command("state", extra=[
            "--until-caught-up", "--timeout", "240"])), capture_output=True, text=True,
            timeout=300)
        assert r.returncode == 0, r.stderr[-3000:]
        text = reg.schema_of(out_topic + "-value")
        assert reg.subjects[out_topic + "-value"] == [100]
        assert json.loads(text)["type"] == "record"
        # check() decodes with schemas/100.avsc and asserts the frame's id.
        (s.schemas / "100.avsc").write_text(text)
        _, expected, latest = s.check()
        assert expected, "the reference expects features"

        # fstore tail serves the output with the schema from the registry.
        (tmp_path / "out.avsc").write_text(text)
        store = tmp_path / "store"
        t = subprocess.run([FSTORE, "tail", "--brokers", s.b, "--topic", out_topic,
                            "--schema", str(tmp_path / "out.avsc"), "--store", str(store),
                            "--table", "f", "--registry", reg.url, "--until-caught-up"],
                           capture_output=True, text=True, timeout=300)
        assert t.returncode == 0, t.stderr[-3000:]
        assert ("GET", "/schemas/ids/100") in reg.requests
        live = {k: v for k, v in latest.items() if v is not None}
        assert live
        with fstore.open(str(store), read_only=True) as st:
            for key, rec in list(live.items())[:200]:
                row = st.get("f", key)
                assert row is not None, key
                assert set(row) == set(rec), key
                for name, want in rec.items():
                    got = row[name]
                    if isinstance(want, float):
                        assert got == pytest.approx(want, rel=1e-12), (key, name)
                    else:
                        assert got == want, (key, name)
                assert row.schema_id == 100

        # A registry that refuses the schema: the start fails, saying why.
        reg.incompatible.add(out_topic + "-value")
        r = subprocess.run(with_registry(s.command("state2", group="h", extra=[
            "--until-caught-up", "--timeout", "60"])), capture_output=True, text=True,
            timeout=120)
        assert r.returncode != 0
        assert "incompatible" in r.stderr and out_topic + "-value" in r.stderr, r.stderr[-2000:]
    finally:
        s.close()
        reg.close()


def test_a_second_group_on_one_changelog_is_refused(tmp_path):
    """Two groups on one changelog would each count every event (the second
    restores the first's state, then reads the input from its own start):
    the second is refused, naming both groups."""
    s = Setup(tmp_path, "json")
    try:
        s.produce(make_events(3_000, 300, seed=29))
        s.run("state-g")
        r = subprocess.run(s.command("state-h", group="h", extra=[
            "--until-caught-up", "--timeout", "120"]), capture_output=True, text=True,
            timeout=180)
        assert r.returncode == 1, r.stderr[-2000:]
        assert ('written by consumer group "%s-g"' % s.name) in r.stderr, r.stderr[-2000:]
        assert ('"%s-h"' % s.name) in r.stderr
        # The first group goes on as before, and its output is still right.
        s.run("state-g")
        s.check()
    finally:
        s.close()
