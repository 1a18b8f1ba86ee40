"""fstore against a broker that requires SASL_SSL with SCRAM-SHA-512.

The module starts its own secured broker with tests/kafka/broker.sh
(`start --security sasl_ssl`) in a pytest temporary directory and stops it
at the end; it needs no FSTORE_TEST_BROKERS, and fails (never skips) when
the broker cannot start. The client settings come from the broker's
client.properties and reach fstore unchanged: `-X key=value` on the command
line, `kafka.key` properties in Python.

- Success: `fstore produce`, `fstore tail --until-caught-up`, `fstore get`,
  the Python tailer and `fstore aggregate` through SASL_SSL.
- Failure: a wrong password and an untrusted certificate (a CA file of
  another CA) each stop `fstore tail`, the Python tailer and `fstore
  aggregate` at start, exit status 1 (or fstore.KafkaError), with a message
  that names the cause, and write nothing: the store holds no row and no
  offset (the table itself is created before Kafka is contacted), and the
  aggregator creates no topic.
- Secrets: every case captures what fstore shows (stdout, stderr, log lines
  at level 7 with librdkafka's debug=all, the statistics JSON, exception
  messages, the store's own files) and the password appears in none of it.

Timings are printed as figures (`figure: ...`, also JUnit properties), never
asserted; subprocess timeouts only stop a hang.
"""

import json
import os
import re
import subprocess
import time
import uuid

import pytest

import fstore

pytestmark = pytest.mark.kafka

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
FSTORE = os.environ.get("FSTORE_BIN",
                        os.path.join(ROOT, "build", "release", "tools", "fstore"))
BROKER_SH = os.path.join(ROOT, "tests", "kafka", "broker.sh")
# Hang guards, not timing assertions: a start that fails must fail within a
# handshake, seconds at most; these only stop a test that would hang.
HANG_S = 120
BROKER_START_S = 900  # a first start may fetch the broker jars

SCHEMA_ID = 7
SCHEMA = {"type": "record", "name": "user", "fields": [
    {"name": "clicks", "type": "long"},
    {"name": "score", "type": "double"}]}
EVENTS = {"type": "record", "name": "ev", "fields": [
    {"name": "ts", "type": "long"},
    {"name": "amount", "type": "double"}]}

AUTH_CAUSE = re.compile(r"authentication failed", re.I)
TLS_CAUSE = re.compile(r"certificate verify failed", re.I)


def figure(record_property, name, value):
    """A measured figure: printed and kept in the JUnit report."""
    print("figure: %s = %s" % (name, value))
    record_property(name, value)


class Secured:
    """The secured broker: its address and the client settings."""

    def __init__(self, run_dir, bootstrap, props):
        self.dir = run_dir
        self.bootstrap = bootstrap
        self.props = props
        self.password = props["sasl.password"]

    def x_args(self, **override):
        """The client settings as fstore -X arguments; override replaces
        some (keys with '_' for '.')."""
        props = dict(self.props)
        for k, v in override.items():
            props[k.replace("_", ".")] = v
        out = []
        for k, v in props.items():
            out += ["-X", "%s=%s" % (k, v)]
        return out

    def kafka_conf(self, **override):
        """The client settings as fstore kafka.* properties."""
        args = self.x_args(**override)
        return {"kafka." + a.split("=", 1)[0]: a.split("=", 1)[1] for a in args[1::2]}

    def broker(self, *args, check=True):
        r = subprocess.run([BROKER_SH, args[0], "--dir", self.dir, *args[1:]],
                           capture_output=True, text=True, timeout=HANG_S)
        if check:
            assert r.returncode == 0, r.stderr[-2000:]
        return r

    def create_topic(self, name, partitions=1, *configs):
        self.broker("create-topic", name, str(partitions), *configs)


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    run_dir = str(tmp_path_factory.mktemp("secured-broker"))
    t0 = time.monotonic()
    r = subprocess.run([BROKER_SH, "start", "--dir", run_dir, "--security", "sasl_ssl"],
                       capture_output=True, text=True, timeout=BROKER_START_S)
    if r.returncode != 0:
        subprocess.run([BROKER_SH, "stop", "--dir", run_dir], capture_output=True,
                       timeout=HANG_S)
        pytest.fail("the secured broker did not start:\n" + r.stderr[-4000:])
    print("figure: secured broker start = %.1f s" % (time.monotonic() - t0))
    try:
        cc = subprocess.run([BROKER_SH, "client-config", "--dir", run_dir],
                            capture_output=True, text=True, timeout=HANG_S)
        assert cc.returncode == 0, cc.stderr
        props = {}
        with open(cc.stdout.strip()) as f:
            for line in f:
                line = line.strip()
                if line and not line.startswith("#"):
                    k, v = line.split("=", 1)
                    props[k] = v
        assert props["security.protocol"] == "SASL_SSL"
        assert props["sasl.mechanisms"] == "SCRAM-SHA-512"
        assert len(props["sasl.password"]) >= 16
        yield Secured(run_dir, r.stdout.strip(), props)
    finally:
        subprocess.run([BROKER_SH, "stop", "--dir", run_dir], capture_output=True,
                       timeout=HANG_S)


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory):
    """A CA file of a CA that did not sign the broker's certificate."""
    d = tmp_path_factory.mktemp("other-ca")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-noenc", "-keyout", str(d / "ca.key"),
                    "-out", str(d / "ca.pem"), "-days", "2", "-subj", "/CN=another CA"],
                   check=True, capture_output=True, timeout=HANG_S)
    return str(d / "ca.pem")


def run(cmd, timeout=HANG_S):
    """Runs cmd; returns (CompletedProcess, seconds)."""
    t0 = time.monotonic()
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True,
                       timeout=timeout)
    return r, time.monotonic() - t0


def assert_no_secret(secret, *texts):
    for i, t in enumerate(texts):
        at = t.find(secret)
        assert at < 0, "the password appears in output #%d: ...%s<the password>%s..." % (
            i, t[max(0, at - 200):at], t[at + len(secret):at + len(secret) + 50])


def assert_no_secret_in_files(secret, path):
    """Not in any file under path (the store's LMDB files, stats included)."""
    needle = secret.encode()
    for root, _, files in os.walk(path):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                assert needle not in f.read(), os.path.join(root, name)


def topic_name(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def write_json(path, doc):
    path.write_text(json.dumps(doc))
    return str(path)


def produce(secured, tmp_path, topic, schema, records, schema_id=SCHEMA_ID, extra=()):
    """`fstore produce` of records [(key, value dict)] through SASL_SSL."""
    src = tmp_path / ("in-%s.jsonl" % uuid.uuid4().hex[:6])
    src.write_text("".join(json.dumps({"key": k, "value": v}) + "\n" for k, v in records))
    r, secs = run([FSTORE, "produce", "--brokers", secured.bootstrap, "--topic", topic,
                   "--schema", schema, "--schema-id", str(schema_id), "--input", src,
                   *secured.x_args(), *extra])
    assert r.returncode == 0, r.stderr[-3000:]
    assert "delivered %d records" % len(records) in r.stderr, r.stderr[-2000:]
    return r, secs


def user_record(i):
    return {"clicks": i, "score": i / 2}


@pytest.fixture
def user_setup(secured, tmp_path):
    """A compacted topic of 2 partitions, the schema files and 40 records."""
    topic = topic_name("sec-users")
    secured.create_topic(topic, 2, "cleanup.policy=compact")
    schema = write_json(tmp_path / "user.avsc", SCHEMA)
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    write_json(schemas / ("%d.avsc" % SCHEMA_ID), SCHEMA)
    records = [("u%03d" % i, user_record(i)) for i in range(40)]
    return topic, schema, str(schemas), records


def tail_cmd(secured, topic, schema, schemas, store, *x):
    return [FSTORE, "tail", "--brokers", secured.bootstrap, "--topic", topic,
            "--schema", schema, "--store", store, "--schemas", schemas,
            "--until-caught-up", "--timeout", "120", *x]


# ---- success ----------------------------------------------------------------

def test_cli_produce_tail_get(secured, user_setup, tmp_path, record_property):
    topic, schema, schemas, records = user_setup
    pr, produce_s = produce(secured, tmp_path, topic, schema, records, extra=["-X", "debug=all"])
    store = str(tmp_path / "store")
    # The most the CLI logs: fstore's debug level and every librdkafka
    # debug context (its configuration dump included).
    tr, tail_s = run(tail_cmd(secured, topic, schema, schemas, store, *secured.x_args(),
                              "-X", "log.level=7", "-X", "debug=all"))
    assert tr.returncode == 0, tr.stderr[-3000:]
    assert "caught up" in tr.stderr
    assert "sasl.password" in tr.stderr, "librdkafka's configuration dump is missing"
    gr, _ = run([FSTORE, "get", "--store", store, "--table", topic, *[k for k, _ in records]])
    assert gr.returncode == 0, gr.stderr
    rows = [json.loads(line) for line in gr.stdout.splitlines()]
    assert [r["key"] for r in rows] == [k for k, _ in records]
    assert all(r["found"] for r in rows), rows
    assert [r["value"] for r in rows] == [v for _, v in records]
    sr, _ = run([FSTORE, "stats", "--store", store])
    assert sr.returncode == 0, sr.stderr
    stats = json.loads(sr.stdout)
    assert stats["tables"][topic]["rows"] == len(records)
    assert_no_secret(secured.password, pr.stdout, pr.stderr, tr.stdout, tr.stderr,
                     gr.stdout, gr.stderr, sr.stdout, sr.stderr)
    assert_no_secret_in_files(secured.password, store)
    figure(record_property, "produce 40 records over SASL_SSL (s)", "%.2f" % produce_s)
    figure(record_property, "tail --until-caught-up over SASL_SSL (s)", "%.2f" % tail_s)


def test_python_tail(secured, user_setup, tmp_path, record_property):
    topic, schema, schemas, records = user_setup
    produce(secured, tmp_path, topic, schema, records)
    lines = []
    conf = {"kafka.bootstrap.servers": secured.bootstrap, "log.level": 7,
            "kafka.debug": "all", "tail.stats_interval_ms": 100, **secured.kafka_conf()}
    t0 = time.monotonic()
    with fstore.open(str(tmp_path / "store"), conf,
                     log=lambda level, msg: lines.append(msg)) as s:
        s.register_schema(SCHEMA_ID, SCHEMA)
        s.create_table(topic, SCHEMA)
        s.tail(topic)
        s.start()
        assert s.wait_ready(timeout=HANG_S), "bootstrap did not complete"
        ready_s = time.monotonic() - t0
        for k, v in records:
            row = s.get(topic, k)
            assert row is not None, k
            assert row["clicks"] == v["clicks"] and row["score"] == v["score"]
        stats = s.stats()
        text = repr(s)
    assert stats["tables"][topic]["rows"] == len(records)
    log = "\n".join(lines)
    assert "caught up" in log and "sasl.password" in log, log[-2000:]
    assert_no_secret(secured.password, log, json.dumps(stats), text)
    assert_no_secret_in_files(secured.password, str(tmp_path / "store"))
    figure(record_property, "Python tail ready over SASL_SSL (s)", "%.2f" % ready_s)


def test_cli_aggregate(secured, tmp_path, record_property):
    name = topic_name("sec-agg")
    events = name + "-events"
    secured.create_topic(events, 2)
    write_json(tmp_path / "events.avsc", EVENTS)
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    write_json(schemas / ("%d.avsc" % SCHEMA_ID), EVENTS)
    spec = write_json(tmp_path / "spec.json", {
        "input": {"topic": events, "format": "confluent", "schema": "events.avsc",
                  "time": "ts"},
        "output": {"topic": name + "-features", "schema_id": 100},
        "windows": {"1h": "5m"},
        "features": [{"name": "events", "op": "count"},
                     {"name": "amount_sum", "op": "sum", "field": "amount"}]})
    t = 1_700_000_000_000
    evs = [("e%d" % (i % 5), {"ts": t + i * 1000, "amount": float(i)}) for i in range(30)]
    produce(secured, tmp_path, events, str(tmp_path / "events.avsc"), evs)
    ar, agg_s = run([FSTORE, "aggregate", "--brokers", secured.bootstrap, "--spec", spec,
                     "--state", tmp_path / "state", "--group", name, "--schemas", schemas,
                     "--until-caught-up", "--timeout", "120", "-X", "aggregate.commit_ms=30",
                     "-X", "log.level=7", *secured.x_args()])
    assert ar.returncode == 0, ar.stderr[-3000:]
    # The features, read back through SASL_SSL by the tailer. Kafka writes
    # the commit markers after the aggregator's commit returns, and a
    # read_committed reader's end offset moves only then: a tailer started
    # at once may catch up with nothing yet, so tail again (from the stored
    # offsets) until every entity is there.
    store = str(tmp_path / "features")
    keys = ["e%d" % k for k in range(5)]
    outputs = []
    for _ in range(60):
        tr, _ = run(tail_cmd(secured, name + "-features", str(schemas / "100.avsc"),
                             schemas, store, *secured.x_args()))
        assert tr.returncode == 0, tr.stderr[-3000:]
        gr, _ = run([FSTORE, "get", "--store", store, "--table", name + "-features", *keys])
        assert gr.returncode == 0, gr.stderr
        outputs += [tr.stdout, tr.stderr, gr.stdout, gr.stderr]
        rows = [json.loads(line) for line in gr.stdout.splitlines()]
        if all(r["found"] for r in rows):
            break
        time.sleep(0.5)
    assert all(r["found"] for r in rows), (gr.stdout, ar.stderr[-2000:])
    got = {r["key"]: r["value"] for r in rows}
    for k in range(5):
        mine = [v["amount"] for key, v in evs if key == "e%d" % k]
        assert got["e%d" % k]["events_1h"] == len(mine)
        assert got["e%d" % k]["amount_sum_1h"] == pytest.approx(sum(mine))
    assert_no_secret(secured.password, ar.stdout, ar.stderr, *outputs)
    assert_no_secret_in_files(secured.password, str(tmp_path / "state"))
    assert_no_secret_in_files(secured.password, store)
    figure(record_property, "aggregate --until-caught-up over SASL_SSL (s)", "%.2f" % agg_s)


# ---- failures at start --------------------------------------------------------

def bad_settings(secured, other_ca, cause):
    """(-X overrides, expected message, the password given) of a failure: a
    wrong password or a CA file that does not hold the broker's CA."""
    if cause == "wrong_password":
        wrong = "not-" + secured.password[::-1]
        return {"sasl_password": wrong}, AUTH_CAUSE, wrong
    return {"ssl_ca_location": other_ca}, TLS_CAUSE, secured.password


def assert_no_secrets(secrets, *texts):
    for secret in secrets:
        assert_no_secret(secret, *texts)


def assert_nothing_written(path, table):
    """No row and no offset (and no statistics) in the store, if it exists:
    the CLI and the caller create the store and the table before Kafka is
    contacted; nothing comes from Kafka."""
    if not os.path.exists(path):
        return
    with fstore.open(path, read_only=True) as s:
        names = [t.name for t in s.tables()]
        assert names in ([], [table]), names
        if names:
            assert s.row_count(table) == 0
            assert s.offsets(table) == {}
        st = s.stats()
        assert st["source"] == "none", st  # no tailer ever recorded figures
        assert not any(t["partitions"] for t in st["tables"].values()), st


@pytest.mark.parametrize("cause", ["wrong_password", "untrusted_ca"])
def test_cli_tail_fails_at_start(secured, other_ca, user_setup, tmp_path, cause,
                                 record_property):
    topic, schema, schemas, records = user_setup
    produce(secured, tmp_path, topic, schema, records)
    override, expect, given = bad_settings(secured, other_ca, cause)
    store = str(tmp_path / "store")
    r, secs = run(tail_cmd(secured, topic, schema, schemas, store,
                           *secured.x_args(**override), "-X", "log.level=7"))
    figure(record_property, "tail fails on %s after (s)" % cause, "%.2f" % secs)
    assert r.returncode == 1, r.stderr[-3000:]
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("fstore tail: cannot start tailing %s: " % topic), last
    assert expect.search(last), last
    assert_no_secrets({secured.password, given}, r.stdout, r.stderr)
    assert_nothing_written(store, topic)


@pytest.mark.parametrize("cause", ["wrong_password", "untrusted_ca"])
def test_python_tail_fails_at_start(secured, other_ca, user_setup, tmp_path, cause,
                                    record_property):
    topic, schema, schemas, records = user_setup
    produce(secured, tmp_path, topic, schema, records)
    override, expect, given = bad_settings(secured, other_ca, cause)
    lines = []
    path = str(tmp_path / "store")
    conf = {"kafka.bootstrap.servers": secured.bootstrap, "log.level": 7,
            **secured.kafka_conf(**override)}
    with fstore.open(path, conf, log=lambda level, msg: lines.append(msg)) as s:
        s.register_schema(SCHEMA_ID, SCHEMA)
        s.create_table(topic, SCHEMA)
        s.tail(topic)
        t0 = time.monotonic()
        with pytest.raises(fstore.KafkaError) as exc:
            s.start()
        secs = time.monotonic() - t0
        assert s.tail_error() is None  # never started
    figure(record_property, "Python start fails on %s after (s)" % cause, "%.2f" % secs)
    assert expect.search(str(exc.value)), str(exc.value)
    assert_no_secrets({secured.password, given}, str(exc.value), repr(exc.value),
                      "\n".join(lines))
    assert_nothing_written(path, topic)


@pytest.mark.parametrize("cause", ["wrong_password", "untrusted_ca"])
def test_cli_aggregate_fails_at_start(secured, other_ca, tmp_path, cause, record_property):
    name = topic_name("sec-aggfail")
    secured.create_topic(name + "-events", 1)
    write_json(tmp_path / "events.avsc", EVENTS)
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    spec = write_json(tmp_path / "spec.json", {
        "input": {"topic": name + "-events", "format": "confluent", "schema": "events.avsc",
                  "time": "ts"},
        "output": {"topic": name + "-features", "schema_id": 100},
        "windows": {"1h": "5m"}, "features": [{"name": "events", "op": "count"}]})
    override, expect, given = bad_settings(secured, other_ca, cause)
    r, secs = run([FSTORE, "aggregate", "--brokers", secured.bootstrap, "--spec", spec,
                   "--state", tmp_path / "state", "--group", name, "--schemas", schemas,
                   "--until-caught-up", "--timeout", "120", "-X", "log.level=7",
                   *secured.x_args(**override)])
    figure(record_property, "aggregate fails on %s after (s)" % cause, "%.2f" % secs)
    assert r.returncode == 1, r.stderr[-3000:]
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("fstore aggregate: cannot start aggregating"), last
    assert expect.search(last), last
    assert_no_secrets({secured.password, given}, r.stdout, r.stderr)
    # Nothing reached the broker: neither the output topic nor the changelog.
    for t in (name + "-features", name + "-features-state"):
        d = secured.broker("describe-topic", t, check=False)
        assert d.returncode != 0, "topic %s was created" % t


# ---- secrets in error messages ------------------------------------------------

def test_secret_in_a_refused_property_is_redacted(secured, user_setup, tmp_path):
    """A secret that librdkafka would quote back (here the password given
    as the mechanism too, a paste in the wrong place) is redacted from
    fstore's messages, on the command line and in Python."""
    topic, schema, schemas, _ = user_setup
    pw = secured.password
    store = str(tmp_path / "store")
    r, _ = run(tail_cmd(secured, topic, schema, schemas, store,
                        *secured.x_args(sasl_mechanisms=pw)))
    assert r.returncode == 1, r.stderr[-2000:]
    assert "Unsupported SASL mechanism: [redacted]" in r.stderr, r.stderr[-2000:]
    assert_no_secret(pw, r.stdout, r.stderr)
    conf = {"kafka.bootstrap.servers": secured.bootstrap,
            **secured.kafka_conf(sasl_mechanisms=pw)}
    with fstore.open(str(tmp_path / "py"), conf) as s:
        s.register_schema(SCHEMA_ID, SCHEMA)
        s.create_table(topic, SCHEMA)
        s.tail(topic)
        with pytest.raises(fstore.ConfError) as exc:
            s.start()
    assert "[redacted]" in str(exc.value), str(exc.value)
    assert_no_secret(pw, str(exc.value))
    a, _ = run([FSTORE, "aggregate", "--brokers", secured.bootstrap, "--spec",
                write_json(tmp_path / "spec.json", {
                    "input": {"topic": topic, "format": "json", "time": "ts"},
                    "output": {"topic": topic + "-f", "schema_id": 100},
                    "features": [{"name": "n", "op": "count"}]}),
                "--state", tmp_path / "state", "--schemas", schemas,
                *secured.x_args(sasl_mechanisms=pw)])
    assert a.returncode == 1, a.stderr[-2000:]
    assert "[redacted]" in a.stderr, a.stderr[-2000:]
    assert_no_secret(pw, a.stdout, a.stderr)


@pytest.mark.parametrize("cause", ["wrong_password", "untrusted_ca"])
def test_cli_produce_fails_fast(secured, other_ca, user_setup, tmp_path, cause,
                                record_property):
    """A refused login or certificate stops `fstore produce` at once with
    the cause, instead of each record failing at message.timeout.ms (the
    run sets 60 s: a produce that waits for it fails this test)."""
    topic, schema, _, records = user_setup
    override, expect, given = bad_settings(secured, other_ca, cause)
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"key": k, "value": v}) + "\n" for k, v in records))
    r, secs = run([FSTORE, "produce", "--brokers", secured.bootstrap, "--topic", topic,
                   "--schema", schema, "--schema-id", str(SCHEMA_ID), "--input", src,
                   *secured.x_args(**override), "-X", "message.timeout.ms=60000"])
    figure(record_property, "produce fails on %s after (s)" % cause, "%.2f" % secs)
    assert r.returncode == 1, r.stderr[-3000:]
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("fstore produce: "), last
    assert expect.search(last), last
    assert "timed out" not in r.stderr, r.stderr[-3000:]
    assert_no_secrets({secured.password, given}, r.stdout, r.stderr)
