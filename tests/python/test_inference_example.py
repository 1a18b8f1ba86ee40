"""The example inference service (examples/python/inference_service.py)
against the real Kafka broker (FSTORE_TEST_BROKERS).

The whole pipeline of examples/pipeline runs on topics of its own: payment
events are produced Confluent-framed, `fstore aggregate --until-caught-up`
turns them into the feature topic, the service tails that topic into a fresh
store and answers scoring requests. Every request must get exactly one
prediction, and each score must be the model of model.json applied to the
reference aggregation of the events (aggregate_reference.py), computed here
on its own. get_batch() hands the model a float32 matrix, so the expected
features are rounded to float32 as fstore_get_batch() converts them; the
rest is float64 on both sides, within 1e-9 relative. These tests fail,
never skip, without a broker.
"""

import datetime
import io
import json
import math
import os
import queue
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid

import fastavro
import numpy as np
import pytest

import aggregate_reference as ref
from conftest import brokers

pytestmark = pytest.mark.kafka

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
FSTORE = os.environ.get("FSTORE_BIN", os.path.join(ROOT, "build", "release", "tools", "fstore"))
PIPELINE = os.path.join(ROOT, "examples", "pipeline")
SERVICE = os.path.join(ROOT, "examples", "python", "inference_service.py")
EVENTS_ID = 1  # writer schema id of the payment events
T0 = 1_700_000_000_000
REL = 1e-9


def load(name):
    with open(os.path.join(PIPELINE, name)) as f:
        return json.load(f)


def make_events(rnd, n=3000):
    """(key, value) payments over three hours, times a little out of order.
    u000-u099 pay throughout, u100-u149 only in the first half hour (their
    5m and 1h windows are empty at the end: null means and maxima), and
    u000-u004 burst in the last five minutes."""
    out = []
    for i in range(n):
        t = T0 + i * 3 * 3600_000 // n
        if rnd.random() < 0.6:
            user = rnd.randrange(100)
        elif t < T0 + 1800_000:
            user = 100 + rnd.randrange(50)
        else:
            user = rnd.randrange(100)
        if i > n - n // 20:
            user = rnd.randrange(5)
        out.append(("u%03d" % user, {
            "ts": t - rnd.randrange(0, 120_000),
            "amount": round(rnd.uniform(1.0, 400.0), 2),
            "country": rnd.choice(["fr", "de", "it", "es"])}))
    return out


def millis(dt):
    """A decoded timestamp-millis (an aware datetime) in ms."""
    return (dt - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)) \
        // datetime.timedelta(milliseconds=1)


def model_score(model, values):
    """model.json applied to one feature record (a dict; None: no row), the
    features rounded to float32 as the matrix holds them."""
    z = model["bias"]
    for name, w in model["weights"].items():
        v = values[name] if values is not None else None
        z += w * float(np.float32(v if v is not None else 0.0))
    return 1.0 / (1.0 + math.exp(-z))


class Pipeline:
    def __init__(self, tmp_path):
        from confluent_kafka.admin import AdminClient, NewTopic
        self.b = brokers()
        self.name = "infer-%s" % uuid.uuid4().hex[:8]
        self.dir = tmp_path
        self.spec = load("spec.json")
        self.spec["input"]["topic"] = self.name + "-payments"
        self.spec["output"]["topic"] = self.name + "-features"
        self.requests = self.name + "-requests"
        self.predictions = self.name + "-predictions"
        shutil.copy(os.path.join(PIPELINE, "events.avsc"), tmp_path / "events.avsc")
        (tmp_path / "spec.json").write_text(json.dumps(self.spec))
        self.schemas = tmp_path / "schemas"
        self.schemas.mkdir()
        shutil.copy(os.path.join(PIPELINE, "events.avsc"), self.schemas / ("%d.avsc" % EVENTS_ID))
        self.admin = AdminClient({"bootstrap.servers": self.b})
        self.created = []
        for topic, parts in ((self.spec["input"]["topic"], 2), (self.requests, 2),
                             (self.predictions, 1)):
            self.admin.create_topics([NewTopic(topic, parts, 1)])[topic].result(60)
            self.created.append(topic)
        self.created += [self.spec["output"]["topic"], self.spec["output"]["topic"] + "-state"]

    def produce(self, topic, records, on_delivery=None):
        from confluent_kafka import Producer
        p = Producer({"bootstrap.servers": self.b, "partitioner": "murmur2_random",
                      "enable.idempotence": True, "linger.ms": 5})
        for key, value in records:
            p.produce(topic, key=key.encode(), value=value, on_delivery=on_delivery)
            p.poll(0)
        assert p.flush(60) == 0

    def read(self, topic, partitions):
        """Every message of @p topic, committed ones only, to its end."""
        from confluent_kafka import Consumer, TopicPartition
        c = Consumer({"bootstrap.servers": self.b, "group.id": "check-" + uuid.uuid4().hex,
                      "isolation.level": "read_committed", "enable.auto.commit": False,
                      "enable.partition.eof": True})
        c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        eof, out = set(), []
        deadline = time.monotonic() + 60
        while len(eof) < partitions and time.monotonic() < deadline:
            for m in c.consume(1000, 0.5):
                if m.error():
                    assert m.error().code() == -191, str(m.error())  # partition EOF
                    eof.add(m.partition())
                else:
                    out.append(m)
        c.close()
        assert len(eof) == partitions, "could not read %s to its end" % topic
        return out

    def close(self):
        for f in self.admin.delete_topics(self.created).values():
            try:
                f.result(60)
            except Exception:
                pass


class Service:
    """The example as a subprocess; its stdout lines gathered by a thread."""

    def __init__(self, p, store):
        self.lines = queue.Queue()
        self.seen = []
        self.err = open(p.dir / "service.err", "w+")
        self.proc = subprocess.Popen(
            [sys.executable, SERVICE, "--brokers", p.b, "--requests-topic", p.requests,
             "--predictions-topic", p.predictions, "--features-topic", p.spec["output"]["topic"],
             "--schema", str(p.schemas / ("%d.avsc" % p.spec["output"]["schema_id"])),
             "--store", str(store), "--batch", "64", "--batch-ms", "20",
             "--group", p.name + "-service", "--report-s", "0.5"],
            stdout=subprocess.PIPE, stderr=self.err, text=True)
        self.pump = threading.Thread(target=self._pump, daemon=True)
        self.pump.start()

    def _pump(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, prefix, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                assert self.proc.poll() is None, "the service exited: " + self.stderr()
                continue
            self.seen.append(line)
            if line.startswith(prefix):
                return line
        raise AssertionError("no line %r within %s s: %s %s" % (prefix, timeout, self.seen,
                                                                  self.stderr()))

    def drain(self):
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return self.seen

    def stderr(self):
        self.err.seek(0)
        return self.err.read()[-3000:]

    def stop(self):
        """SIGTERM; the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait(30)
        self.pump.join(10)
        return rc

    def close(self):
        self.stop()
        self.proc.stdout.close()
        self.err.close()


def produce_events(p, events):
    """Produces the payments Confluent-framed (writer schema EVENTS_ID) and
    returns them as aggregate_reference wants them: each partition's events
    in offset order, from the delivery reports."""
    parsed = fastavro.parse_schema(load("events.avsc"))
    delivered = []

    def framed(value):
        buf = io.BytesIO()
        fastavro.schemaless_writer(buf, parsed, value)
        return b"\0" + EVENTS_ID.to_bytes(4, "big") + buf.getvalue()

    def on_delivery(err, msg):
        assert err is None, str(err)
        delivered.append((msg.partition(), msg.offset(), msg.key(), msg.timestamp()[1]))
    p.produce(p.spec["input"]["topic"], [(k, framed(v)) for k, v in events], on_delivery)
    assert len(delivered) == len(events)
    # One key's events go to one partition, in the order they were sent.
    per_key = {}
    for key, value in events:
        per_key.setdefault(key.encode(), []).append(value)
    order = {k: iter(v) for k, v in per_key.items()}
    return [{"partition": part, "offset": off, "key": key, "timestamp": ts,
             "value": next(order[key])}
            for part, off, key, ts in sorted(delivered, key=lambda d: d[:2])]


def read_predictions(p, n):
    """(key, value) of the predictions, once n arrived and 1.5 s more went
    by for any duplicate to show (or after 40 s)."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": p.b, "group.id": "check-" + uuid.uuid4().hex,
                  "enable.auto.commit": False})
    c.assign([TopicPartition(p.predictions, 0, 0)])
    got, extra = [], None
    deadline = time.monotonic() + 40
    while time.monotonic() < min(deadline, extra or deadline):
        for m in c.consume(500, 0.2):
            assert not m.error(), str(m.error())
            got.append((m.key(), json.loads(m.value())))
        if extra is None and len(got) >= n:
            extra = time.monotonic() + 1.5
    c.close()
    return got


def test_the_service_scores_with_the_aggregated_features(tmp_path):
    p = Pipeline(tmp_path)
    service = None
    try:
        rnd = random.Random(41)
        model = load("model.json")

        # 1. Payments, aggregated until every one is consumed and committed.
        events = make_events(rnd)
        stream = produce_events(p, events)
        r = subprocess.run([FSTORE, "aggregate", "--brokers", p.b,
                            "--spec", str(tmp_path / "spec.json"),
                            "--state", str(tmp_path / "agg"), "--group", p.name,
                            "--schemas", str(p.schemas), "-q", "-X", "aggregate.commit_ms=50",
                            "--until-caught-up", "--timeout", "60"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr[-3000:]
        # The reference's records, and the feature topic's, agree.
        expected = ref.compute(p.spec, stream, base_dir=str(tmp_path))
        out_schema = fastavro.parse_schema(json.loads((p.schemas / "2.avsc").read_text()))
        latest = {m.key(): fastavro.schemaless_reader(io.BytesIO(m.value()[5:]), out_schema)
                  for m in p.read(p.spec["output"]["topic"], 2) if m.value() is not None}
        problems = ref.compare(expected, latest)
        assert not problems, problems[:5]
        assert sum(1 for r in expected.values() if r and r["amount_max_1h"] is None) > 20, \
            "users idle for an hour have null features"

        # 2. The service, on a fresh store.
        service = Service(p, tmp_path / "store")
        assert service.wait_for("ready:") == "ready: %d rows" % len(latest)
        service.wait_for("serving ")

        # 3. Requests: every user with payments, users without, some twice,
        # and two that are not requests.
        known = sorted({k for k, _ in events})
        assert len(known) > 140
        unknown = ["nobody-%d" % i for i in range(25)] + ["u%03d" % i for i in range(150, 160)]
        users = known + unknown + rnd.sample(known, 20) + unknown[:5]
        rnd.shuffle(users)
        requests = {"req-%d" % i: (user, int(time.time() * 1000) + i)
                    for i, user in enumerate(users)}
        p.produce(p.requests, [(u, json.dumps({"request_id": rid, "sent_ms": ms}).encode())
                               for rid, (u, ms) in requests.items()]
                  + [("u001", b"not json"), ("u002", b'{"sent_ms": 1}')])

        # 4. One prediction per request, each the model of model.json
        # applied to the reference's features.
        got = read_predictions(p, len(requests))
        ids = [v["request_id"] for _, v in got]
        assert len(ids) == len(set(ids)), "a request got two predictions"
        assert set(ids) == set(requests), "missing: %s; service: %s %s" % (
            sorted(set(requests) - set(ids))[:10], service.drain(), service.stderr())
        zero = model_score(model, None)
        scores = set()
        for key, v in got:
            user, sent_ms = requests[v["request_id"]]
            assert key == user.encode() and v["user"] == user
            assert v["request_ms"] == sent_ms
            rec = expected.get(user.encode())
            if rec is None:
                assert user in unknown
                assert v["features_as_of"] is None, v
                assert abs(v["score"] - zero) <= REL * zero, v
                continue
            want = model_score(model, rec.values)
            assert abs(v["score"] - want) <= REL * want, (user, v["score"], want, rec.values)
            as_of = millis(latest[user.encode()]["as_of"])
            assert v["features_as_of"] == as_of, (user, v, as_of)
            assert rec.as_of_min <= as_of <= rec.as_of_max
            scores.add(round(v["score"], 6))
        assert len(scores) > 50, "the scores tell users apart"
        assert max(scores) > 0.5 > min(scores), "the bursting users stand out"

        # 5. Its status lines count the batches and the two skipped
        # messages, and SIGTERM stops it cleanly.
        time.sleep(0.6)
        rc = service.stop()
        assert rc == 0, service.stderr()
        pat = re.compile(r"^\d+ requests/s, (\d+) batches, batch p50 [\d.]+ ms p99 [\d.]+ ms, "
                         r"(\d+) skipped$")
        reports = [pat.match(line) for line in service.drain() if "requests/s" in line]
        assert reports and all(reports), service.seen
        assert sum(int(m.group(1)) for m in reports) >= 2, service.seen
        assert sum(int(m.group(2)) for m in reports) == 2, service.seen
    finally:
        if service is not None:
            service.close()
        p.close()
