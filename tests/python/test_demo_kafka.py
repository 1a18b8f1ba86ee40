"""`fstore demo` (the five-step pipeline) against the real Kafka broker
(FSTORE_TEST_BROKERS): every stage delivers, and the predictions on the
topic are what the model gives for the features of the feature topic.
These tests fail, never skip, without a broker."""

import io
import json
import math
import os
import subprocess

import fastavro
import pytest

from conftest import brokers

pytestmark = pytest.mark.kafka

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FSTORE = os.environ.get("FSTORE_BIN",
                        os.path.join(ROOT, "build", "release", "tools", "fstore"))
MODEL = json.load(open(os.path.join(ROOT, "examples", "pipeline", "model.json")))


def read_topic(b, topic, decode):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": b, "group.id": "check-demo",
                  "isolation.level": "read_committed", "enable.auto.commit": False,
                  "enable.partition.eof": True})
    parts = c.list_topics(topic, timeout=30).topics[topic].partitions
    c.assign([TopicPartition(topic, p, 0) for p in parts])
    eof, out = set(), []
    while len(eof) < len(parts):
        msgs = c.consume(1000, 10.0)
        assert msgs, "could not read %s to its end" % topic
        for m in msgs:
            if m.error():
                assert m.error().code() == -191, str(m.error())  # partition EOF
                eof.add(m.partition())
            else:
                out.append(decode(m))
    c.close()
    return out


def score(features):
    z = MODEL["bias"] + sum(w * (features.get(name) or 0.0)
                            for name, w in MODEL["weights"].items())
    return 1.0 / (1.0 + math.exp(-z))


def test_the_pipeline_delivers_every_stage_and_scores_what_it_read(tmp_path):
    b = brokers()
    out = tmp_path / "demo.json"
    work = tmp_path / "work"
    r = subprocess.run([FSTORE, "demo", "--brokers", b, "--seconds", "3", "--rate", "500",
                        "--entities", "2000", "--keep", "--store", str(work),
                        "--json", str(out), "-q"],
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-3000:]
    fig = json.loads(out.read_text())
    topics = fig["topics"]
    try:
        assert fig["cluster"] == "brokers"
        for stage in ("kafka", "committed", "visible", "prediction", "produce_ack"):
            assert fig["latency_ms"][stage]["count"] > 0, stage
        p = fig["predictions"]
        assert p["failed"] == 0
        assert p["delivered"] == fig["scoring"]["requests"] > 0
        assert fig["aggregate"]["aborts"] == 0
        ev = fig["events"]
        assert fig["aggregate"]["late_dropped"] == ev["late"] + ev["warmup_late"]

        # Every prediction on the topic: one per request, a score in [0, 1].
        preds = read_topic(b, topics["predictions"], lambda m: json.loads(m.value()))
        assert len(preds) == p["delivered"]
        assert all(0.0 <= x["score"] <= 1.0 for x in preds)
        fresh = [x for x in preds if x["features_as_of"] >= x["request_ms"]]
        assert len(preds) - len(fresh) == p["stale"]

        # A prediction made from the user's last feature record (same
        # as_of) is the model of that record's values.
        schema = fastavro.parse_schema(json.loads(
            (work / "schemas" / "2.avsc").read_text()))

        def feature(m):
            v = m.value()
            rec = fastavro.schemaless_reader(io.BytesIO(v[5:]), schema) if v else None
            return m.key().decode(), rec

        latest = dict(read_topic(b, topics["features"], feature))
        checked = 0
        for x in preds:
            rec = latest.get(x["user"])
            if rec is None:
                continue
            as_of = rec["as_of"]
            as_of_ms = as_of if isinstance(as_of, int) else int(as_of.timestamp() * 1000)
            if as_of_ms != x["features_as_of"]:
                continue
            feats = {k: (float(v) if isinstance(v, (int, float)) else None)
                     for k, v in rec.items()}
            assert x["score"] == pytest.approx(score(feats), abs=1e-6), x
            checked += 1
        assert checked >= 100, "only %d predictions matched a last feature record" % checked
    finally:
        from confluent_kafka.admin import AdminClient
        admin = AdminClient({"bootstrap.servers": b})
        for f in admin.delete_topics(list(topics.values())).values():
            try:
                f.result(60)
            except Exception:
                pass
