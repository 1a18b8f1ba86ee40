#!/usr/bin/env python3
"""Scores requests with the current features of an fstore store.

    python examples/python/inference_service.py --brokers 127.0.0.1:9092 \\
        --schema schemas/2.avsc --store /var/lib/fstore/serve

(examples/python/README.md runs the whole pipeline around it.) The service
tails the compacted feature topic that `fstore aggregate` writes into a
store of its own, waits until the store has caught up, and then serves:

  requests    (--requests-topic): key = the user id, value = JSON
              {"request_id": any JSON value, "sent_ms": ms since the epoch}
  predictions (--predictions-topic): key = the user id, value = JSON
              {"user": str, "score": float, "features_as_of": ms or null,
               "request_ms": the request's sent_ms,
               "request_id": the request's request_id}

Requests are gathered in micro-batches of up to --batch requests or
--batch-ms milliseconds. Each batch is one fstore lookup into a float32
matrix of the model's features, scored with numpy by the logistic
regression of --model: score = 1 / (1 + exp(-(bias + weights . features))),
where a null feature counts as 0. A user with no row is scored with every
feature 0 and gets features_as_of null. features_as_of is the row's as_of
column, the stream time at which the aggregator produced it, read from each
row found in the same snapshot (milliseconds do not fit a float32). A request
without a key, or whose value is not a JSON object with a request_id, is
skipped and counted. Offsets of the requests are committed automatically,
so after a crash a few requests may be answered twice or not at all.

--schema is the feature topic's Avro schema: `fstore aggregate --schemas
DIR` writes it as DIR/<output.schema_id>.avsc, and the store looks up the
records' writer schemas by id in the same folder. A status line (requests/s,
batch p50/p99 ms) goes to stdout every --report-s seconds; SIGINT or SIGTERM
stops the service. Needs the fstore package, numpy and confluent-kafka.
"""

import argparse
import datetime
import json
import os
import signal
import sys
import time

import numpy as np
from confluent_kafka import Consumer, Producer

import fstore

HERE = os.path.dirname(os.path.abspath(__file__))
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
MS = datetime.timedelta(milliseconds=1)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--brokers", required=True, metavar="B", help="Kafka bootstrap servers")
    p.add_argument("--requests-topic", default="score-requests", metavar="TOPIC",
                   help="where requests come from (default %(default)s)")
    p.add_argument("--predictions-topic", default="predictions", metavar="TOPIC",
                   help="where predictions go (default %(default)s)")
    p.add_argument("--features-topic", default="user-features", metavar="TOPIC",
                   help="the compacted topic `fstore aggregate` writes, and the store's "
                        "table (default %(default)s)")
    p.add_argument("--schema", required=True, metavar="FILE",
                   help="the feature topic's Avro schema (DIR/<id>.avsc of `fstore "
                        "aggregate --schemas DIR`)")
    p.add_argument("--store", required=True, metavar="DIR",
                   help="the service's store (created if absent, resumed if not)")
    p.add_argument("--model", metavar="FILE",
                   default=os.path.normpath(os.path.join(HERE, "..", "pipeline", "model.json")),
                   help="{\"bias\": b, \"weights\": {column: w}} (default %(default)s)")
    p.add_argument("--batch", type=int, default=256, metavar="N",
                   help="most requests per micro-batch (default %(default)s)")
    p.add_argument("--batch-ms", type=int, default=10, metavar="T",
                   help="most milliseconds a micro-batch waits (default %(default)s)")
    p.add_argument("--group", default="fstore-inference",
                   help="consumer group of the requests (default %(default)s)")
    p.add_argument("--report-s", type=float, default=10.0, metavar="S",
                   help="seconds between status lines (default %(default)s)")
    return p.parse_args()


class Model:
    """score = 1 / (1 + exp(-(bias + weights . features))), nulls as 0."""

    def __init__(self, path):
        with open(path) as f:
            m = json.load(f)
        self.columns = list(m["weights"])
        self.weights = np.array([m["weights"][c] for c in self.columns], dtype=np.float64)
        self.bias = float(m["bias"])

    def score(self, x):
        """x: float32 matrix, one row per request, NaN for nulls."""
        z = self.bias + np.nan_to_num(x.astype(np.float64), nan=0.0) @ self.weights
        return 1.0 / (1.0 + np.exp(-z))


def open_store(args, model):
    """A store tailing the feature topic; wait_ready() says when it caught up."""
    with open(args.schema) as f:
        schema = f.read()
    store = fstore.open(args.store, {
        "kafka.bootstrap.servers": args.brokers,
        "schemas.dir": os.path.dirname(os.path.abspath(args.schema)),
    })
    table = store.create_table(args.features_topic, schema)  # or opens it
    missing = set(model.columns) - set(table.column_names)
    if missing:
        store.close()
        sys.exit("the model's columns %s are not in %s" % (sorted(missing), args.schema))
    store.tail(table, topic=args.features_topic)
    store.start()
    return store, table


def parse_request(msg):
    """(user bytes, request dict) of a request message, or None."""
    if msg.error():
        print("requests: %s" % msg.error(), file=sys.stderr, flush=True)
        return None
    try:
        req = json.loads(msg.value())
        if msg.key() and isinstance(req, dict) and "request_id" in req:
            return msg.key(), req
    except (TypeError, ValueError):
        pass
    return None


def predict(reader, table, model, reqs, x, found):
    """The prediction values of a batch of requests, from one snapshot."""
    n = len(reqs)
    keys = [user for user, _ in reqs]
    reader.get_batch(table, keys, model.columns, out=x[:n], found=found[:n])
    # as_of in ms does not fit a float32: read it from each row found.
    as_of = [(reader.get(table, k)["as_of"] - EPOCH) // MS if f else None
             for k, f in zip(keys, found[:n])]
    reader.reset()  # no snapshot pinned while waiting for the next batch
    return [{"user": user.decode(errors="replace"), "score": float(score),
             "features_as_of": ts, "request_ms": req.get("sent_ms"),
             "request_id": req["request_id"]}
            for (user, req), score, ts in zip(reqs, model.score(x[:n]), as_of)]


def delivered(err, msg):
    if err is not None:
        print("predictions: %s" % err, file=sys.stderr, flush=True)


def serve(args, store, table, model, stopping):
    consumer = Consumer({"bootstrap.servers": args.brokers, "group.id": args.group,
                         "auto.offset.reset": "earliest"})
    producer = Producer({"bootstrap.servers": args.brokers, "linger.ms": 2})
    consumer.subscribe([args.requests_topic])
    reader = store.reader()
    x = np.empty((args.batch, len(model.columns)), dtype=np.float32)
    found = np.empty(args.batch, dtype=np.bool_)
    served, skipped, batch_ms = 0, 0, []
    last_report = time.monotonic()
    print("serving %s -> %s" % (args.requests_topic, args.predictions_topic), flush=True)
    try:
        while not stopping:
            msgs = consumer.consume(args.batch, args.batch_ms / 1000.0)
            t0 = time.perf_counter()
            reqs = [r for r in map(parse_request, msgs) if r]
            skipped += sum(1 for m in msgs if not m.error()) - len(reqs)
            if reqs:
                for (user, _), value in zip(reqs, predict(reader, table, model, reqs, x, found)):
                    producer.produce(args.predictions_topic, key=user, value=json.dumps(value),
                                     on_delivery=delivered)
                producer.poll(0)
                served += len(reqs)
                batch_ms.append((time.perf_counter() - t0) * 1000.0)
            now = time.monotonic()
            if now - last_report >= args.report_s:
                p50, p99 = np.percentile(batch_ms, [50, 99]) if batch_ms else (0.0, 0.0)
                print("%.0f requests/s, %d batches, batch p50 %.2f ms p99 %.2f ms, %d skipped"
                      % (served / (now - last_report), len(batch_ms), p50, p99, skipped),
                      flush=True)
                served, skipped, batch_ms, last_report = 0, 0, [], now
    finally:
        reader.close()
        producer.flush(30)
        consumer.close()


def main():
    args = parse_args()
    model = Model(args.model)
    stopping = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.append(True))
    store, table = open_store(args, model)
    try:
        print("bootstrapping %s into %s" % (args.features_topic, args.store), flush=True)
        while not store.wait_ready(timeout=1.0):
            if stopping:
                return
        print("ready: %d rows" % store.row_count(table), flush=True)
        serve(args, store, table, model, stopping)
    finally:
        store.close()


if __name__ == "__main__":
    main()
