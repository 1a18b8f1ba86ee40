"""fstore.Aggregator: the aggregator (fstore aggregate) from Python.

Without a broker: spec mistakes refused by name before anything is created,
the forms of the spec argument and where its schema path is read from, bad
arguments. Then, against librdkafka's in-process mock cluster (created
through the librdkafka that libfstore links, as tests/unit/test_aggregate.c
does; it keeps no transactional offsets and writes no transaction markers,
so results are checked on the real broker): the lifecycle, a second run
refused, stop() from another thread, before run(), by close() and by
Ctrl-C, the timeout, and the GIL released during run().

Marked `kafka` (the real broker of FSTORE_TEST_BROKERS; they fail, never
skip, without it): a run until caught up whose output topic equals the
reference model and whose statistics count every event, and a run in a
background thread stopped from the main thread, whose commits a second
aggregator on the same state completes exactly.
"""

import ctypes
import json
import os
import pathlib
import random
import signal
import threading
import time

import pytest

import fstore
from test_aggregate_kafka import EVENTS, Setup, make_events

# A valid spec that needs no schema file: JSON events.
JSON_SPEC = {
    "input": {"topic": "ev", "format": "json", "time": "ts"},
    "output": {"topic": "feat", "schema_id": 9},
    "windows": {"1h": "5m"},
    "features": [{"name": "n", "op": "count"},
                 {"name": "a", "op": "sum", "field": "amount"},
                 {"name": "c", "op": "last", "field": "tag"}],
}


def json_spec(**changes):
    """JSON_SPEC with top-level members replaced (None removes one)."""
    spec = json.loads(json.dumps(JSON_SPEC))
    for k, v in changes.items():
        if v is None:
            spec.pop(k, None)
        else:
            spec[k] = v
    return spec


def avro_spec(tmp_path, **changes):
    """A spec of Avro events whose schema, events.avsc, sits in tmp_path."""
    (tmp_path / "events.avsc").write_text(json.dumps(EVENTS))
    spec = {"input": {"topic": "ev", "format": "avro", "schema": "events.avsc", "time": "ts"},
            "output": {"topic": "feat", "schema_id": 9},
            "features": [{"name": "n", "op": "count"}]}
    spec.update(changes)
    return spec


# -- spec mistakes, refused before anything is created -------------------------

SPEC_MISTAKES = [
    ("no input topic", lambda p: json_spec(input={"format": "json", "time": "ts"}),
     "spec: input.topic must be a non-empty string"),
    ("hop does not divide", lambda p: json_spec(windows={"5m": "2m"}),
     "spec: the hop 2m does not divide window 5m"),
    ("unknown key", lambda p: json_spec(colour="red"),
     "spec: unknown key \"colour\" in the spec"),
    ("bad duration", lambda p: json_spec(windows={"5x": "1m"}),
     "spec: window \"5x\" is not a duration"),
    ("same size", lambda p: json_spec(windows={"60m": "5m", "1h": "10m"}),
     "have the same size"),
    ("too many tiles", lambda p: json_spec(windows={"1d": "1s"}),
     "tiles (one per hop, plus one, over all windows); at most 10000"),
    ("duplicate names", lambda p: json_spec(features=[{"name": "n", "op": "count"},
                                                      {"name": "n", "op": "count"}]),
     "two output fields would be named \"n_1h\""),
    ("unknown op", lambda p: json_spec(features=[{"name": "n", "op": "median"}]),
     "feature \"n\": op \"median\" is not count, sum, mean, min, max or last"),
    ("bad schema_id", lambda p: json_spec(output={"topic": "feat", "schema_id": -1}),
     "spec: output.schema_id must be an integer from 0 to 2147483647"),
    ("sum of a string", lambda p: avro_spec(p, features=[
        {"name": "s", "op": "sum", "field": "country"}]),
     "feature \"s\": sum needs a numeric field"),
    ("unknown field", lambda p: avro_spec(p, features=[
        {"name": "s", "op": "max", "field": "price"}]),
     "feature \"s\": the events have no field \"price\""),
    ("schema file absent", lambda p: json_spec(input={
        "topic": "ev", "format": "json", "schema": "absent.avsc"}),
     "spec: input.schema: cannot read"),
    ("not JSON", lambda p: "{\"input\": ",
     "spec: not a JSON object"),
]


@pytest.mark.parametrize("what,make,message", SPEC_MISTAKES, ids=[m[0] for m in SPEC_MISTAKES])
def test_spec_mistakes_are_refused_by_name(tmp_path, what, make, message):
    state = tmp_path / "state"
    # No broker and no kafka.bootstrap.servers: the spec is checked first.
    with pytest.raises(fstore.ConfError) as e:
        fstore.Aggregator(make(tmp_path), str(state), base_dir=str(tmp_path))
    assert e.value.code == 102 and e.value.name == "FSTORE_ERR_CONF"
    assert message in e.value.message, e.value.message
    assert str(e.value) == "FSTORE_ERR_CONF: " + e.value.message
    assert not state.exists(), "a refused spec created the state directory"


def test_a_good_spec_gets_as_far_as_the_missing_brokers(tmp_path):
    with pytest.raises(fstore.ConfError) as e:
        fstore.Aggregator(JSON_SPEC, tmp_path / "state")
    assert "set kafka.bootstrap.servers" in e.value.message, e.value.message


# -- the forms of the spec and its base_dir -------------------------------------

def refused_for(spec, state, **kw):
    """The message fstore.Aggregator refuses @p spec with, given no brokers."""
    with pytest.raises(fstore.Error) as e:
        fstore.Aggregator(spec, state, **kw)
    return e.value.message


def test_a_spec_file_reads_its_schema_beside_it(tmp_path, monkeypatch):
    conf_dir = tmp_path / "conf"
    conf_dir.mkdir()
    spec = avro_spec(conf_dir)
    path = conf_dir / "features.json"
    path.write_text(json.dumps(spec))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    brokers_missing = "set kafka.bootstrap.servers"
    # The path as str, bytes and PathLike, absolute and relative: the schema
    # is found in the spec's folder, and only the missing brokers stop it.
    for form in (str(path), os.fsencode(str(path)), path, pathlib.PurePath(path),
                 os.path.relpath(path)):
        assert brokers_missing in refused_for(form, tmp_path / "s1")
    # An explicit base_dir wins over the spec's folder.
    msg = refused_for(path, tmp_path / "s2", base_dir=elsewhere)
    assert "input.schema: cannot read %s/events.avsc" % elsewhere in msg, msg
    # A dict or JSON text: relative to base_dir, else to the working directory.
    assert brokers_missing in refused_for(spec, tmp_path / "s3", base_dir=conf_dir)
    assert brokers_missing in refused_for(json.dumps(spec), tmp_path / "s4",
                                          base_dir=str(conf_dir))
    msg = refused_for(spec, tmp_path / "s5")
    assert "input.schema: cannot read events.avsc" in msg, msg
    monkeypatch.chdir(conf_dir)
    assert brokers_missing in refused_for(spec, tmp_path / "s6")
    # JSON text may start with white space.
    assert brokers_missing in refused_for("\n  " + json.dumps(JSON_SPEC), tmp_path / "s7")


def test_bad_arguments(tmp_path):
    state = str(tmp_path / "state")
    for spec in (42, None, ["input"], 1.5):
        with pytest.raises(TypeError, match="spec must be a dict, JSON text or the path"):
            fstore.Aggregator(spec, state)
    with pytest.raises(ValueError, match="not an empty string"):
        fstore.Aggregator("", state)
    with pytest.raises(FileNotFoundError):
        fstore.Aggregator(str(tmp_path / "absent.json"), state)
    for bad in (None, 7):
        with pytest.raises(TypeError, match="state_dir must be a path"):
            fstore.Aggregator(JSON_SPEC, bad)
    with pytest.raises(ValueError, match="state_dir must not be empty"):
        fstore.Aggregator(JSON_SPEC, "")
    with pytest.raises(fstore.ConfError) as e:
        fstore.Aggregator(JSON_SPEC, state, {"aggregate.no_such": 1})
    assert "aggregate.no_such" in e.value.message
    with pytest.raises(fstore.ConfError) as e:
        fstore.Aggregator(JSON_SPEC, state, {"aggregate.commit_ms": 0})
    assert "aggregate.commit_ms" in e.value.message
    with pytest.raises(TypeError, match="log must be"):
        fstore.Aggregator(JSON_SPEC, state, log=3)
    assert not os.path.exists(state)


def test_exported():
    assert "Aggregator" in fstore.__all__
    assert all(hasattr(fstore, n) for n in fstore.__all__)


# -- librdkafka's in-process mock cluster ---------------------------------------

class MockCluster:
    """A mock cluster of one broker, owned by a producer handle of the
    librdkafka libfstore links, with topics ev, feat and feat-state."""

    def __init__(self, partitions=2):
        rk = self.rk = ctypes.CDLL("librdkafka.so.1")
        vp, cp = ctypes.c_void_p, ctypes.c_char_p
        rk.rd_kafka_conf_new.restype = vp
        rk.rd_kafka_conf_set.argtypes = [vp, cp, cp, cp, ctypes.c_size_t]
        rk.rd_kafka_new.restype = vp
        rk.rd_kafka_new.argtypes = [ctypes.c_int, vp, cp, ctypes.c_size_t]
        rk.rd_kafka_handle_mock_cluster.restype = vp
        rk.rd_kafka_handle_mock_cluster.argtypes = [vp]
        rk.rd_kafka_mock_cluster_bootstraps.restype = cp
        rk.rd_kafka_mock_cluster_bootstraps.argtypes = [vp]
        rk.rd_kafka_mock_topic_create.argtypes = [vp, cp, ctypes.c_int, ctypes.c_int]
        rk.rd_kafka_destroy.argtypes = [vp]
        err = ctypes.create_string_buffer(512)
        conf = rk.rd_kafka_conf_new()
        assert rk.rd_kafka_conf_set(conf, b"test.mock.num.brokers", b"1", err, 512) == 0
        assert rk.rd_kafka_conf_set(conf, b"log_level", b"2", err, 512) == 0
        self.handle = rk.rd_kafka_new(0, conf, err, 512)  # RD_KAFKA_PRODUCER
        assert self.handle, err.value
        mc = rk.rd_kafka_handle_mock_cluster(self.handle)
        assert mc
        self.brokers = rk.rd_kafka_mock_cluster_bootstraps(mc).decode()
        # Unknown topics would be created with the mock's own partition
        # count: create them all as a real cluster would.
        for topic in (b"ev", b"feat", b"feat-state"):
            assert rk.rd_kafka_mock_topic_create(mc, topic, partitions, 1) == 0

    def produce(self, records):
        from confluent_kafka import Producer
        p = Producer({"bootstrap.servers": self.brokers, "linger.ms": 5})
        for key, value in records:
            p.produce("ev", key=key, value=value)
            p.poll(0)
        assert p.flush(30) == 0

    def close(self):
        self.rk.rd_kafka_destroy(self.handle)


@pytest.fixture
def mock(tmp_path):
    m = MockCluster()
    (tmp_path / "schemas").mkdir()
    m.conf = {"kafka.bootstrap.servers": m.brokers, "schemas.dir": str(tmp_path / "schemas"),
              "aggregate.commit_ms": 20, "store.sync": "none", "log.level": 3}
    yield m
    m.close()


def mock_aggregator(mock, tmp_path, state="state", **kw):
    return fstore.Aggregator(JSON_SPEC, tmp_path / state, mock.conf, **kw)


def run_in_thread(agg, **kw):
    """Starts agg.run(**kw) on a thread; returns (thread, outcome list)."""
    outcome = []

    def go():
        try:
            agg.run(**kw)
            outcome.append(None)
        except BaseException as e:  # noqa: BLE001
            outcome.append(e)
    t = threading.Thread(target=go)
    t.start()
    return t, outcome


def wait_running(agg, timeout=10):
    deadline = time.monotonic() + timeout
    while not agg.running:
        assert time.monotonic() < deadline, "run() did not start"
        time.sleep(0.01)


def test_lifecycle_on_the_mock_cluster(mock, tmp_path):
    n = 300
    mock.produce([(b"k%d" % (i % 12), json.dumps({"ts": 1_700_000_000_000 + i, "amount": 1,
                                                   "tag": "t%d" % i}).encode())
                  for i in range(n)])
    agg = mock_aggregator(mock, tmp_path)
    assert not agg.closed and not agg.running
    assert repr(agg) == "<fstore.Aggregator 'ev' -> 'feat' state_dir=%r (ready)>" % str(
        tmp_path / "state")
    assert agg.spec == JSON_SPEC and agg.state_dir == str(tmp_path / "state")
    assert agg.base_dir is None
    before = agg.stats()
    assert before["events"] == 0 and before["commits"] == 0
    # The output schema went to schemas.dir at creation.
    out_schema = json.loads((tmp_path / "schemas" / "9.avsc").read_text())
    assert [f["name"] for f in out_schema["fields"]] == ["n_1h", "a_1h", "c", "event_time",
                                                         "as_of"]
    assert agg.run(until_caught_up=True, timeout=60) is None
    st = agg.stats()
    assert st["events"] == n and st["emitted"] >= 12 and st["commits"] > 0
    assert sum(st["skipped"].values()) == 0 and st["error"] == ""
    assert repr(agg).endswith("(finished)>")
    # An aggregator runs once: the library's refusal, as StateError.
    with pytest.raises(fstore.StateError) as e:
        agg.run(until_caught_up=True, timeout=5)
    assert e.value.code == 107
    assert "an aggregator runs once" in e.value.message
    agg.close()
    assert agg.closed and repr(agg).endswith("(closed)>")
    agg.close()  # harmless
    for call in (agg.stats, agg.stop, agg.run, lambda: agg.run(True, 1)):
        with pytest.raises(fstore.StateError, match="the aggregator is closed"):
            call()
    # The state is released: another aggregator opens it.
    with mock_aggregator(mock, tmp_path) as again:
        assert again.stats()["events"] == 0
    assert again.closed


def test_the_state_is_locked_while_open(mock, tmp_path):
    with mock_aggregator(mock, tmp_path):
        with pytest.raises(fstore.LockedError):
            mock_aggregator(mock, tmp_path)


def test_stop_before_run_is_not_lost(mock, tmp_path):
    with mock_aggregator(mock, tmp_path) as agg:
        # A refused timeout does not use up the one run.
        for bad in (-1, float("nan"), 1e10):
            with pytest.raises(ValueError, match="timeout"):
                agg.run(timeout=bad)
        with pytest.raises(TypeError):
            agg.run(timeout="1")
        assert repr(agg).endswith("(ready)>")
        agg.stop()
        t0 = time.monotonic()
        assert agg.run(timeout=30) is None
        assert time.monotonic() - t0 < 10


def test_stop_from_another_thread_and_the_gil(mock, tmp_path):
    with mock_aggregator(mock, tmp_path) as agg:
        ticks, done = [0], threading.Event()

        def count():
            while not done.is_set():
                ticks[0] += 1

        counter = threading.Thread(target=count)
        counter.start()
        stopper = threading.Timer(1.0, agg.stop)
        stopper.start()
        t0 = time.monotonic()
        try:
            agg.run(timeout=30)  # were the GIL held, stop() could not come
        finally:
            done.set()
            counter.join()
            stopper.join()
        elapsed = time.monotonic() - t0
        assert 1.0 <= elapsed < 10, elapsed
        # The counting thread ran all along: run() does not hold the GIL.
        assert ticks[0] > 100_000, ticks[0]
        assert not agg.running


def test_a_second_concurrent_run_is_refused(mock, tmp_path):
    with mock_aggregator(mock, tmp_path) as agg:
        t, outcome = run_in_thread(agg)
        try:
            wait_running(agg)
            assert repr(agg).endswith("(running)>")
            with pytest.raises(fstore.StateError, match="already running"):
                agg.run(timeout=1)
            assert agg.stats()["error"] == ""  # stats while it runs
        finally:
            agg.stop()
            t.join(30)
        assert not t.is_alive() and outcome == [None]


def test_close_stops_a_running_aggregator(mock, tmp_path):
    agg = mock_aggregator(mock, tmp_path)
    t, outcome = run_in_thread(agg)
    wait_running(agg)
    t0 = time.monotonic()
    agg.close()
    assert time.monotonic() - t0 < 10
    t.join(30)
    assert not t.is_alive() and outcome == [None]
    assert agg.closed


def test_the_timeout_raises_timed_out(mock, tmp_path):
    with mock_aggregator(mock, tmp_path) as agg:
        t0 = time.monotonic()
        with pytest.raises(fstore.TimedOut) as e:
            agg.run(timeout=0.5)
        assert 0.5 <= time.monotonic() - t0 < 10
        assert isinstance(e.value, TimeoutError) and e.value.code == 112
        assert "500 ms" in e.value.message, e.value.message


def test_ctrl_c_stops_the_run_and_propagates(mock, tmp_path):
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with mock_aggregator(mock, tmp_path) as agg:
            timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
            timer.start()
            t0 = time.monotonic()
            with pytest.raises(KeyboardInterrupt):
                agg.run(timeout=30)
            timer.join()
            assert 1.0 <= time.monotonic() - t0 < 10
            # It stopped (and so committed) before the interrupt went on.
            assert not agg.running
            with pytest.raises(fstore.StateError, match="runs once"):
                agg.run(timeout=1)
    finally:
        signal.signal(signal.SIGINT, old)


def test_the_log_callback_gets_the_aggregators_lines(mock, tmp_path):
    lines = []
    conf = dict(mock.conf, **{"log.level": 6})
    with fstore.Aggregator(JSON_SPEC, tmp_path / "state", conf,
                           log=lambda level, msg: lines.append((level, msg))) as agg:
        agg.stop()
        agg.run()
    assert any("transactional id" in msg for _, msg in lines), lines[:10]
    assert all(isinstance(level, int) for level, _ in lines)


# -- the real broker --------------------------------------------------------------

def aggregator_for(s, state, **conf):
    """An Aggregator on Setup @p s's spec file (its schema read beside it)."""
    props = {"kafka.bootstrap.servers": s.b, "aggregate.group": s.name + "-g",
             "schemas.dir": str(s.schemas), "aggregate.commit_ms": 30}
    props.update(conf)
    return fstore.Aggregator(s.spec_path, s.dir / state, props)


@pytest.mark.kafka
def test_run_until_caught_up_matches_the_reference(tmp_path):
    s = Setup(tmp_path, "confluent")
    try:
        events = make_events(12_000, 1_500, seed=31)
        rnd = random.Random(7)
        for i in range(40):  # keyless: skipped
            events.insert(rnd.randrange(len(events)), (None, events[i][1]))
        s.produce(events)
        with aggregator_for(s, "state") as agg:
            assert agg.base_dir == str(tmp_path)
            assert agg.run(until_caught_up=True, timeout=240) is None
            st = agg.stats()
        assert st["skipped"]["no_key"] == 40 and sum(st["skipped"].values()) == 40
        assert st["events"] == len(events) - 40
        assert st["commits"] > 0 and st["aborts"] == 0 and st["error"] == ""
        assert st["emitted"] > 0 and st["tombstones"] > 0
        r, expected, latest = s.check()
        assert r.stats["accepted"] + r.stats["late"] == st["events"]
        assert st["late_dropped"] == r.stats["late"] > 0
        assert st["entities"] == sum(1 for v in expected.values() if v is not None)
        assert sum(1 for v in expected.values() if v is not None) > 100
    finally:
        s.close()


@pytest.mark.kafka
def test_stop_from_the_main_thread_returns_promptly(tmp_path):
    s = Setup(tmp_path, "confluent")
    try:
        events = make_events(15_000, 2_000, seed=32)
        s.produce(events[:5_000])
        agg = aggregator_for(s, "state")
        t, outcome = run_in_thread(agg)  # no end: runs until stopped
        try:
            deadline = time.monotonic() + 120
            while agg.stats()["events"] < 5_000:
                assert time.monotonic() < deadline and t.is_alive(), outcome
                time.sleep(0.05)
            # More arrives while it runs; it is stopped in the middle.
            for i in range(5_000, 10_000, 1_000):
                s.produce(events[i:i + 1_000])
            t0 = time.monotonic()
            agg.stop()
            t.join(30)
            took = time.monotonic() - t0
        finally:
            agg.stop()
            t.join(60)
        assert not t.is_alive() and outcome == [None]
        assert took < 10, took
        st = agg.stats()
        assert 5_000 <= st["events"] <= 10_000, st["events"]
        assert st["commits"] > 0 and st["aborts"] == 0 and st["error"] == ""
        agg.close()
        s.produce(events[10_000:])
        # What the stopped run committed, a second run on the same state
        # completes exactly: each event counted once, the output equals the
        # reference.
        with aggregator_for(s, "state") as again:
            again.run(until_caught_up=True, timeout=240)
            st2 = again.stats()
        assert st["events"] + st2["events"] == len(events)
        assert st2["aborts"] == 0
        s.check()
    finally:
        s.close()
