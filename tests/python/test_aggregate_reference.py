"""Tests of aggregate_reference, the model of `fstore aggregate`'s output:
hand-computed cases (those of tests/unit/test_agg.c among them), the spec
rules, event validation, the comparison, and a randomized run against a
brute-force model that recomputes everything from the full event list.
No broker, no fstore."""

import datetime
import math
import random
import struct
from fractions import Fraction

import pytest

import aggregate_reference as ref

MIN = 60000
SEC = 1000

HEAD = {"input": {"topic": "events", "format": "json", "time": "ts"},
        "output": {"topic": "user-features", "schema_id": 42}}


def spec(windows=None, features=None, **input_over):
    s = {"input": dict(HEAD["input"], **input_over), "output": dict(HEAD["output"])}
    if windows is not None:
        s["windows"] = windows
    s["features"] = features or [
        {"name": "n", "op": "count"},
        {"name": "a", "op": "sum", "field": "amount"},
        {"name": "c", "op": "last", "field": "country"},
    ]
    return s


# One window of 5 minutes with 1-minute hops, count, a sum and a last.
SMALL = spec({"5m": "1m"})


def ev(key, ts, amount=None, country=None, partition=0, **more):
    value = {"ts": ts, "amount": amount, "country": country}
    value.update(more)
    return {"partition": partition, "key": key, "timestamp": 0, "value": value}


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


# ---- the worked example of tests/unit/test_agg.c ----

def test_sawtooth_window_late_and_expiry():
    r = ref.Reference(SMALL)
    # Events at 0:30, 2:10 and 5:59; stream time follows them.
    assert r.add(ev("u", 30 * SEC, 1, "fr")) == "accepted"
    assert r.add(ev("u", 2 * MIN + 10 * SEC, 2, "de")) == "accepted"
    assert r.add(ev("u", 5 * MIN + 59 * SEC, None, None)) == "accepted"
    rec = r.expected()[b"u"]
    # At 5:59 the window spans minutes 0..5: all three; the null adds nothing.
    assert rec["n_5m"] == 3 and rec["a_5m"] == 3.0
    # At 6:00 minute 0 left.
    rec = r.expected(at=6 * MIN)[b"u"]
    assert rec["n_5m"] == 2 and rec["a_5m"] == 2.0
    assert (rec.as_of_min, rec.as_of_max) == (6 * MIN, 6 * MIN)
    # Another entity moves the partition's stream time to 6:30.
    assert r.add(ev("v", 6 * MIN + 30 * SEC, 0, "xx")) == "accepted"
    # A late event at 1:00 still lands in minute 1...
    assert r.add(ev("u", MIN, 8, "it")) == "accepted"
    rec = r.expected()[b"u"]
    assert rec["n_5m"] == 3 and rec["a_5m"] == 10.0
    # ...but the last value stays with the latest event time (5:59, null).
    assert rec["c"] is None and rec["event_time"] == 5 * MIN + 59 * SEC
    # Changed by the 1:00 event at stream time 6:30.
    assert rec.as_of_min == 6 * MIN + 30 * SEC
    # An event from minute 0 at 6:30 is older than the window: dropped.
    assert r.add(ev("u", 59 * SEC, 100, "xx")) == "late"
    assert r.expected()[b"u"]["n_5m"] == 3
    assert r.stats == {"accepted": 5, "late": 1, "invalid": 0, "revived": 0}
    # Expiry: nothing left once minute 5 is out (at 11:00).
    rec = r.expected(at=11 * MIN - 1)[b"u"]
    assert rec["n_5m"] == 1 and rec["a_5m"] == 0.0
    assert rec.as_of_min == 8 * MIN, "minute 2 (the 2:10 event) left at 8:00"
    assert r.expected(at=11 * MIN)[b"u"] is None


def test_expired_entity_comes_back_fresh():
    r = ref.Reference(SMALL)
    r.add(ev("u", 30 * SEC, 1, "fr"))
    r.add(ev("u", 5 * MIN, 2, None))
    r.add(ev("v", 11 * MIN, 0, "xx"))
    assert r.expected()[b"u"] is None
    # Back at 12:00: its old events are out of every window, so the new
    # one is later than all of them; last and event_time are the new one's.
    assert r.add(ev("u", 12 * MIN, 5, "se")) == "accepted"
    assert r.stats["revived"] == 1
    rec = r.expected()[b"u"]
    assert rec["n_5m"] == 1 and rec["a_5m"] == 5.0
    assert rec["c"] == "se" and rec["event_time"] == 12 * MIN
    assert len(rec.alternatives) == 1


# ---- boundaries ----

def test_event_at_a_hop_boundary():
    r = ref.Reference(SMALL)
    r.add(ev("at", MIN, 1))           # tile 1
    r.add(ev("before", MIN - 1, 1))   # tile 0
    assert r.expected(at=6 * MIN - 1)[b"before"]["n_5m"] == 1
    assert r.expected(at=6 * MIN)[b"before"] is None
    assert r.expected(at=7 * MIN - 1)[b"at"]["n_5m"] == 1
    assert r.expected(at=7 * MIN)[b"at"] is None
    # Judged at stream time 6:00 exactly: 1:00 counts, 0:59.999 is late.
    r.add(ev("q", 6 * MIN))
    assert r.add(ev("x", MIN, 1)) == "accepted"
    assert r.add(ev("y", MIN - 1, 1)) == "late"


def test_times_before_the_epoch_floor():
    r = ref.Reference(SMALL)
    r.add(ev("u", -1, 1))  # minute -1, which leaves at 5:00
    assert r.expected(at=5 * MIN - 1)[b"u"]["n_5m"] == 1
    assert r.expected(at=5 * MIN)[b"u"] is None
    w = ref.parse_spec(SMALL).windows[0]
    assert [w.tile(t) for t in (-1, -MIN, -MIN - 1, 0)] == [-1, -1, -2, 0]
    assert w.first_tile(-1) == -6 and w.leaves_at(-1) == 5 * MIN


def test_late_by_every_window_but_counted_in_the_longest():
    s = spec({"1m": "10s", "10m": "1m"})
    r = ref.Reference(s)
    r.add(ev("u", 10 * MIN, 1))
    # 5 minutes back: out of 1m, inside 10m.
    assert r.add(ev("u", 5 * MIN, 2)) == "accepted"
    rec = r.expected()[b"u"]
    assert (rec["n_1m"], rec["n_10m"]) == (1, 2)
    assert (rec["a_1m"], rec["a_10m"]) == (1.0, 3.0)
    assert r.add(ev("u", -MIN, 4)) == "late"


# ---- values ----

def test_empty_windows_give_zero_sums_and_null_means():
    # tests/unit/test_agg.c output_records_read_back_with_the_output_schema,
    # with Avro events and the events' schema.
    schema = {"type": "record", "name": "ev", "fields": [
        {"name": "ts", "type": "long"},
        {"name": "amount", "type": ["null", "double"]},
        {"name": "qty", "type": "int"},
        {"name": "country", "type": "string"},
        {"name": "kind", "type": {"type": "enum", "name": "K", "symbols": ["a", "b"]}},
        {"name": "micros", "type": {"type": "long", "logicalType": "timestamp-micros"}}]}
    s = {"input": {"topic": "events", "time": "ts"},
         "output": {"topic": "user-features", "schema_id": 42},
         "windows": {"1h": "5m", "5m": "1m"},
         "features": [{"name": "events", "op": "count"},
                      {"name": "amount_sum", "op": "sum", "field": "amount"},
                      {"name": "amount_mean", "op": "mean", "field": "amount"},
                      {"name": "amount_min", "op": "min", "field": "amount"},
                      {"name": "qty_max", "op": "max", "field": "qty"},
                      {"name": "country", "op": "last", "field": "country"},
                      {"name": "kind", "op": "last", "field": "kind"}]}
    events = [{"partition": 0, "key": b"k", "timestamp": 0,
               "value": {"ts": t, "amount": a, "qty": q, "country": "fr", "kind": "b",
                         "micros": 0}}
              for t, a, q in ((10000, 5, 1), (200000, 7, 9), (3400000, 11, 4))]
    r = ref.Reference(s, schema=schema)
    r.add_all(events)
    rec = r.expected()[b"k"]
    assert list(rec.values) == ref.output_fields(s, schema)[:-1]
    assert rec["events_5m"] == 1 and rec["events_1h"] == 3
    assert rec["amount_sum_1h"] == 23.0
    assert rec["amount_mean_1h"] == pytest.approx(23.0 / 3)
    assert rec["amount_min_5m"] == 11.0 and rec["qty_max_1h"] == 9.0
    assert rec["country"] == "fr" and rec["kind"] == "b"
    assert rec["event_time"] == 3400000 and rec.as_of_max == 3400000
    later = r.expected(at=3400000 + 6 * MIN)[b"k"]
    assert later["events_5m"] == 0
    assert later["amount_sum_5m"] == 0.0 and isinstance(later["amount_sum_5m"], float)
    assert later["amount_mean_5m"] is None
    assert later["amount_min_5m"] is None and later["qty_max_5m"] is None
    assert later["events_1h"] == 3


def test_mean_min_max_of_null_values_only():
    s = spec({"5m": "1m"}, [{"name": "n", "op": "count"},
                           {"name": "s", "op": "sum", "field": "amount"},
                           {"name": "m", "op": "mean", "field": "amount"},
                           {"name": "lo", "op": "min", "field": "amount"},
                           {"name": "hi", "op": "max", "field": "amount"}])
    rec = ref.compute(s, [ev("u", 1000), ev("u", 2000, None)])[b"u"]
    assert rec.values == {"n_5m": 2, "s_5m": 0.0, "m_5m": None, "lo_5m": None,
                          "hi_5m": None, "event_time": 2000}


def test_nan_is_a_null_value_but_counts_as_an_event():
    s = spec({"5m": "1m"}, [{"name": "n", "op": "count"},
                           {"name": "s", "op": "sum", "field": "amount"},
                           {"name": "m", "op": "mean", "field": "amount"},
                           {"name": "lo", "op": "min", "field": "amount"}],
             format="avro")
    schema = {"type": "record", "name": "e", "fields": [
        {"name": "ts", "type": "long"}, {"name": "amount", "type": "double"}]}
    evs = [ev("u", 1000, math.nan), ev("u", 2000, 3.0), ev("u", 3000, 5.0),
           ev("w", 3000, math.nan)]
    for e in evs:
        del e["value"]["country"]
    out = ref.compute(s, evs, schema=schema)
    assert out[b"u"].values == {"n_5m": 3, "s_5m": 8.0, "m_5m": 4.0, "lo_5m": 3.0,
                                "event_time": 3000}
    assert out[b"w"].values == {"n_5m": 1, "s_5m": 0.0, "m_5m": None, "lo_5m": None,
                                "event_time": 3000}


def test_json_cannot_carry_nan():
    r = ref.Reference(SMALL)
    assert r.add(ev("u", 1000, math.nan)) == "invalid"
    assert r.add(ev("u", 1000, 1, "fr", extra=[1, math.inf])) == "invalid"
    assert r.add(ev("u", 1000, 1, "fr", extra=1 << 63)) == "invalid"
    assert r.stream_time(0) is None


def test_last_by_event_time_with_out_of_order_arrival():
    r = ref.Reference(SMALL)
    r.add(ev("u", 5000, 1, "a"))
    r.add(ev("u", 3000, 1, "b"))  # older: "a" stays
    assert r.expected()[b"u"]["c"] == "a"
    r.add(ev("u", 5000, 1, "c"))  # same time, later in the partition: wins
    assert r.expected()[b"u"]["c"] == "c"
    r.add(ev("u", 6000, 1, None))  # the latest event's field is null
    rec = r.expected()[b"u"]
    assert rec["c"] is None and rec["event_time"] == 6000


def test_idle_entities_become_tombstones():
    r = ref.Reference(SMALL)
    r.add(ev("idle", 0, 1, "fr"))
    r.add(ev("busy", 0, 1, "fr"))
    for t in range(MIN, 20 * MIN, MIN):
        r.add(ev("busy", t, 1, "de"))
    out = r.expected()
    assert out[b"idle"] is None
    assert out[b"busy"]["n_5m"] == 6
    # Only late events: never written, so not in the result at all.
    assert r.add(ev("ghost", 0, 1)) == "late"
    assert b"ghost" not in r.expected()


def test_partitions_have_their_own_stream_time():
    r = ref.Reference(SMALL)
    r.add(ev("a", MIN, 1, partition=0))
    r.add(ev("b", 100 * MIN, 1, partition=1))
    assert (r.stream_time(0), r.stream_time(1)) == (MIN, 100 * MIN)
    # Late by partition 1's clock, not by partition 0's.
    assert r.add(ev("c", 2 * MIN, 1, partition=0)) == "accepted"
    assert r.add(ev("d", 2 * MIN, 1, partition=1)) == "late"
    out = r.expected()
    assert out[b"a"]["n_5m"] == 1 and out[b"a"].as_of_max == 2 * MIN
    assert out[b"b"].as_of_max == 100 * MIN
    assert r.expected(at={0: 7 * MIN})[b"a"] is None
    with pytest.raises(ValueError):
        r.expected(at=0)
    with pytest.raises(ValueError):
        r.add(ev("a", 3 * MIN, partition=1))


def test_record_timestamp_without_a_time_field():
    s = spec({"5m": "1m"})
    del s["input"]["time"]
    r = ref.Reference(s)
    e = ev("u", None, 2, "fr")
    e["timestamp"] = 90 * SEC
    assert r.add(e) == "accepted"
    e = dict(e, timestamp=-1)
    assert r.add(e) == "invalid"
    rec = r.expected()[b"u"]
    assert rec["event_time"] == 90 * SEC and rec["a_5m"] == 2.0


def test_windows_sorted_by_size():
    s = spec({"1d": "1h", "5m": "1m", "1h": "5m"}, [{"name": "n", "op": "count"}])
    assert ref.output_fields(s) == ["n_5m", "n_1h", "n_1d", "event_time", "as_of"]
    s = spec(None, [{"name": "n", "op": "count"}, {"name": "x", "op": "last", "field": "y"},
                    {"name": "m", "op": "max", "field": "y"}])
    p = ref.parse_spec(s)
    assert [(w.name, w.hop_ms, w.ntiles) for w in p.windows] == [
        ("5m", MIN, 6), ("1h", 5 * MIN, 13), ("1d", 60 * MIN, 25)]
    assert p.output_fields() == ["n_5m", "n_1h", "n_1d", "x", "m_5m", "m_1h", "m_1d",
                                 "event_time", "as_of"]


# ---- numbers and last values by format ----

FLOATS = {"type": "record", "name": "e", "fields": [
    {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
    {"name": "score", "type": "float"},
    {"name": "big", "type": "long"},
    {"name": "emb", "type": {"type": "array", "items": "float"}},
    {"name": "day", "type": {"type": "int", "logicalType": "date"}},
    {"name": "tag", "type": ["null", "string"]}]}

FLOAT_FEATURES = [{"name": "s", "op": "sum", "field": "score"},
                  {"name": "b", "op": "max", "field": "big"},
                  {"name": "score", "op": "last", "field": "score"},
                  {"name": "emb", "op": "last", "field": "emb"},
                  {"name": "day", "op": "last", "field": "day"}]


def float_event(fmt, ts=1000):
    value = {"ts": ts, "score": 0.1, "big": (1 << 53) + 1, "emb": [0.1, 2.5],
             "day": 19000, "tag": None}
    if fmt != "json":
        value["ts"] = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) \
            + datetime.timedelta(milliseconds=ts)
        value["day"] = datetime.date(2022, 1, 8)  # day 19000
    return {"partition": 0, "key": "k", "timestamp": 0, "value": value}


def test_avro_floats_are_float32():
    s = spec({"5m": "1m"}, FLOAT_FEATURES, format="confluent")
    rec = ref.compute(s, [float_event("confluent")], schema=FLOATS)[b"k"]
    assert rec["s_5m"] == f32(0.1) != 0.1
    assert rec["b_5m"] == float((1 << 53) + 1)
    assert rec["score"] == f32(0.1) and rec["emb"] == [f32(0.1), 2.5]
    assert rec["day"] == 19000 and rec["event_time"] == 1000


def test_json_with_a_schema_keeps_numbers_as_doubles():
    s = spec({"5m": "1m"}, FLOAT_FEATURES)
    r = ref.Reference(s, schema=FLOATS)
    assert r.add(float_event("json")) == "accepted"
    rec = r.expected()[b"k"]
    assert rec["s_5m"] == 0.1, "a JSON number is a double, float field or not"
    assert rec["score"] == f32(0.1), "but its last value is Avro: a float"
    # Types of last fields are checked; numeric fields only need numbers.
    bad = float_event("json")
    bad["value"]["day"] = 1.5
    assert r.add(bad) == "invalid"
    ok = float_event("json")
    ok["value"]["big"] = 1.5
    assert r.add(ok) == "accepted"


def test_json_with_a_schema_checks_last_types():
    schema = {"type": "record", "name": "ev", "fields": [
        {"name": "ts", "type": "long"}, {"name": "amount", "type": ["null", "double"]},
        {"name": "country", "type": "string"},
        {"name": "kind", "type": {"type": "enum", "name": "K", "symbols": ["a", "b"]}},
        {"name": "id", "type": {"type": "fixed", "name": "F", "size": 2}},
        {"name": "kind2", "type": "K"}]}
    s = spec({"5m": "1m"}, [{"name": "n", "op": "count"},
                           {"name": "a", "op": "sum", "field": "amount"},
                           {"name": "c", "op": "last", "field": "country"},
                           {"name": "k", "op": "last", "field": "kind"},
                           {"name": "i", "op": "last", "field": "id"},
                           {"name": "k2", "op": "last", "field": "kind2"}])
    r = ref.Reference(s, schema=schema)
    assert r.add(ev("u", 1, 2.5, "fr", kind="b", id="xy", kind2="a")) == "accepted"
    for bad in (ev("u", 2, "2.5"), ev("u", 2, True), ev("u", 2, 1, 7), ev("u", 2, kind="c"),
                ev("u", 2, id="xyz"), ev("u", 2, kind2="z"), ev("u", "noon"), ev("u", None),
                ev("u", True), ev("u", 2.0), ev(None, 2), ev("", 2), ev("x" * 401, 2),
                {"partition": 0, "key": b"u", "timestamp": 0, "value": None}):
        assert r.add(bad) == "invalid", bad
    assert r.stats["invalid"] == 14 and r.stream_time(0) == 1
    rec = r.expected()[b"u"]
    assert (rec["c"], rec["k"], rec["i"], rec["k2"]) == ("fr", "b", b"xy", "a")


def test_schemaless_json_last_values_are_text():
    s = spec({"5m": "1m"}, [{"name": "x", "op": "sum", "field": "v"},
                           {"name": "y", "op": "last", "field": "tag"}])
    del s["input"]["time"]
    out = ref.compute(s, [
        {"partition": 0, "key": b"obj", "timestamp": 777, "value": {"v": 3, "tag": {"a": [1, 2]}}},
        {"partition": 0, "key": b"str", "timestamp": 778, "value": {"v": 1, "tag": "plain"}},
        {"partition": 0, "key": b"num", "timestamp": 779, "value": {"v": 1, "tag": 0.1}}])
    assert out[b"obj"]["y"] == '{"a":[1,2]}' and out[b"obj"]["x_5m"] == 3.0
    assert out[b"str"]["y"] == "plain"
    # The engine writes reals its own way: compared parsed.
    actual = {"x_5m": 1.0, "y": "0.10000000000000001", "event_time": 779, "as_of": 779}
    assert ref.matches(out[b"num"], actual) == (True, "")
    assert not ref.matches(out[b"num"], dict(actual, y="0.2"))[0]


# ---- the spec ----

def test_spec_defaults():
    p = ref.parse_spec(spec(None, [{"name": "n", "op": "count"}]))
    assert p.changelog == "user-features-state" and p.output_name == "user_features"
    assert p.output_schema_id == 42 and p.time_field == "ts"
    s = {"input": {"topic": "e", "format": "json"},
         "output": {"topic": "9-lives", "schema_id": 1}, "changelog": "c",
         "features": [{"name": "n", "op": "count"}]}
    p = ref.parse_spec(s)
    assert (p.output_name, p.changelog, p.format, p.time_field) == ("__lives", "c", "json", None)
    assert ref.parse_spec(dict(s, input={"topic": "e", "schema": "x.avsc"}),
                          schema='{"type":"record","name":"r","fields":[]}').format == "confluent"


def test_durations():
    assert [ref.parse_duration(t) for t in ("1ms", "90s", "5m", "2h", "1d", "366d")] == [
        1, 90000, 300000, 7200000, 86400000, 366 * 86400000]
    for bad in ("", "0s", "5", "5x", "ms", "-1s", "1.5m", " 5m", "5m ", "367d",
                "99999999999999999999d", "05m", "+5m", None, 5):
        assert ref.parse_duration(bad) is None, bad


@pytest.mark.parametrize("change, want", [
    ({"feature": []}, "unknown key \"feature\""),
    ({"windows": {"5m": "2m"}}, "does not divide"),
    ({"windows": {"5q": "1m"}}, "is not a duration"),
    ({"windows": {"1d": "1s"}}, "tiles"),
    ({"windows": {"60m": "1m", "1h": "5m"}}, "same size"),
    ({"windows": {}}, "\"windows\" must be"),
    ({"features": [{"name": "n", "op": "count"}, {"name": "n", "op": "count"}]},
     "two output fields would be named \"n_5m\""),
    ({"features": [{"name": "as_of", "op": "last", "field": "qty"}]}, "named \"as_of\""),
    ({"features": [{"name": "n", "op": "count", "field": "qty"}]}, "count takes no field"),
    ({"features": [{"name": "n", "op": "median", "field": "qty"}]}, "op \"median\""),
    ({"features": [{"name": "n-1", "op": "count"}]}, "not an Avro name"),
    ({"features": [{"name": "s", "op": "sum"}]}, "needs a field"),
    ({"features": []}, "non-empty array"),
    ({"output": {"topic": "o", "schema_id": -1}}, "output.schema_id"),
    ({"output": {"topic": "o", "schema_id": True}}, "output.schema_id"),
    ({"input": {"topic": "e", "format": "xml"}}, "not confluent, avro or json"),
    ({"input": {"topic": "e"}}, "input.schema is required"),
])
def test_spec_mistakes(change, want):
    s = dict(spec(), **change)
    with pytest.raises(ref.SpecError, match=want.replace("\"", ".")):
        ref.parse_spec(s)


def test_spec_mistakes_against_the_schema():
    schema = {"type": "record", "name": "ev", "fields": [
        {"name": "ts", "type": "long"}, {"name": "country", "type": "string"},
        {"name": "micros", "type": {"type": "long", "logicalType": "timestamp-micros"}}]}
    with pytest.raises(ref.SpecError, match="no field .nope."):
        ref.parse_spec(spec(None, [{"name": "x", "op": "sum", "field": "nope"}]), schema)
    with pytest.raises(ref.SpecError, match="mean needs a numeric field"):
        ref.parse_spec(spec(None, [{"name": "x", "op": "mean", "field": "country"}]), schema)
    with pytest.raises(ref.SpecError, match="must be a long of milliseconds"):
        ref.parse_spec(spec(None, [{"name": "n", "op": "count"}], time="micros"), schema)
    with pytest.raises(ref.SpecError, match="not a JSON object"):
        ref.parse_spec('{"input": {"topic": "e"}, "features": [], "features": []}')


def test_schema_file_relative_to_base_dir(tmp_path):
    (tmp_path / "e.avsc").write_text(
        '{"type":"record","name":"e","fields":[{"name":"ts","type":"long"},'
        '{"name":"score","type":"float"}]}')
    s = spec({"5m": "1m"}, [{"name": "s", "op": "sum", "field": "score"}],
             format="avro", schema="e.avsc")
    out = ref.compute(s, [{"partition": 0, "key": b"k", "value": {"ts": 5, "score": 0.1}}],
                      base_dir=str(tmp_path))
    assert out[b"k"]["s_5m"] == f32(0.1)
    with pytest.raises(ref.SpecError, match="cannot read"):
        ref.parse_spec(s, base_dir=str(tmp_path / "nowhere"))


# ---- matches ----

def small_record():
    r = ref.Reference(spec({"5m": "1m"}, [{"name": "n", "op": "count"},
                                          {"name": "a", "op": "sum", "field": "amount"},
                                          {"name": "m", "op": "mean", "field": "amount"},
                                          {"name": "c", "op": "last", "field": "country"}]))
    r.add(ev("u", 1000, 1e6, "fr"))
    r.add(ev("u", 2000, -1e6 + 0.5, "de"))
    r.add(ev("v", 3000))
    return r.expected()[b"u"]


def test_matches():
    rec = small_record()
    good = {"n_5m": 2, "a_5m": 0.5, "m_5m": 0.25, "c": "de", "event_time": 2000,
            "as_of": 3000}
    assert ref.matches(rec, good) == (True, "")
    assert rec.as_of_min == 2000 and rec.as_of_max == 3000
    # Within 1e-9 of the magnitudes added, though far from 0.5 relatively.
    assert ref.matches(rec, dict(good, a_5m=0.5 + 1e-4))[0]
    assert not ref.matches(rec, dict(good, a_5m=0.5 + 1e-2))[0]
    assert not ref.matches(rec, dict(good, n_5m=2.0))[0], "a long is an int"
    assert not ref.matches(rec, dict(good, m_5m=None))[0]
    assert not ref.matches(rec, dict(good, c="fr"))[0]
    assert not ref.matches(rec, dict(good, event_time=1000))[0]
    assert "as_of" in ref.matches(rec, dict(good, as_of=1999))[1]
    assert not ref.matches(rec, dict(good, as_of=3001))[0]
    assert "unexpected ['x']" in ref.matches(rec, dict(good, x=1))[1]
    assert not ref.matches(rec, {k: v for k, v in good.items() if k != "c"})[0]
    assert not ref.matches(rec, None)[0]
    assert ref.matches(None, None) == (True, "")
    assert not ref.matches(None, good)[0]
    # Timestamps as an Avro reader may return them.
    utc = datetime.timezone.utc
    as_dt = dict(good, event_time=datetime.datetime(1970, 1, 1, 0, 0, 2, tzinfo=utc),
                 as_of=datetime.datetime(1970, 1, 1, 0, 0, 3, tzinfo=utc))
    assert ref.matches(rec, as_dt) == (True, "")


def test_matches_a_record_read_back_by_fastavro():
    fastavro = pytest.importorskip("fastavro")
    import io
    millis = {"type": "long", "logicalType": "timestamp-millis"}
    schema = fastavro.parse_schema({"type": "record", "name": "user_features", "fields": [
        {"name": "n_5m", "type": "long"}, {"name": "a_5m", "type": "double"},
        {"name": "c", "type": ["null", "string"]},
        {"name": "event_time", "type": millis}, {"name": "as_of", "type": millis}]})
    rec = ref.compute(SMALL, [ev("u", 1000, 2.5, "fr"), ev("u", 2000, None, "de")])[b"u"]
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, schema, {"n_5m": 2, "a_5m": 2.5, "c": "de",
                                             "event_time": 2000, "as_of": 2000})
    buf.seek(0)
    actual = fastavro.schemaless_reader(buf, schema)
    assert isinstance(actual["as_of"], datetime.datetime)
    assert ref.matches(rec, actual) == (True, "")


def test_compare_a_topic():
    out = ref.compute(SMALL, [ev("a", 0, 1, "x"), ev("b", 10 * MIN, 2, "y")])
    assert out[b"a"] is None
    b = {"n_5m": 1, "a_5m": 2.0, "c": "y", "event_time": 10 * MIN, "as_of": 10 * MIN}
    assert ref.compare(out, {b"b": b}) == []
    assert ref.compare(out, {"a": None, "b": b}) == []
    assert len(ref.compare(out, {b"b": b, b"z": b})) == 1
    assert len(ref.compare(out, {b"a": b, b"b": None})) == 2


# ---- randomized, against a brute force over the full event list ----

WINDOWS = {"10s": "2s", "1m": "10s", "7s": "1s"}
KEYS = ["user-%d" % i for i in range(40)]
# Avro events: NaN is a value there (JSON text cannot carry it).
RANDOM_SCHEMA = {"type": "record", "name": "e", "fields": [
    {"name": "ts", "type": "long"}, {"name": "amount", "type": ["null", "double"]},
    {"name": "country", "type": ["null", "string"]}]}


def gen_events(rng, n):
    clock = {p: -30 * SEC for p in range(3)}
    out = []
    for _ in range(n):
        # A few busy keys, many rare ones (which expire between events).
        key = rng.choice(KEYS[:6] if rng.random() < 0.7 else KEYS[6:])
        p = KEYS.index(key) % 3
        r = rng.random()
        if r < 0.005:
            clock[p] += 3 * MIN  # a jump: entities expire, some come back
        t = clock[p] + rng.randrange(3000) - (rng.randrange(90000) if r < 0.12 else 1000)
        clock[p] = max(clock[p], t)
        amount = rng.choice([None, math.nan, rng.randrange(-1000, 1000) / 8,
                             rng.randrange(-50, 50), rng.uniform(-1e6, 1e6)])
        value = {"ts": t, "amount": amount, "country": rng.choice([None, "fr", "de", "it"])}
        r = rng.random()
        if r < 0.01:
            value = None
        elif r < 0.02:
            del value["ts"]
        elif r < 0.03:
            value["amount"] = rng.choice(["12", True, [1]])
        elif r < 0.035:
            key = None
        out.append({"partition": p, "key": key, "timestamp": 0, "value": value})
    return out


def floor_div(a, b):
    return math.floor(Fraction(a, b))


def brute_force(windows, events):
    """{key: the record at the final stream time, or None}, recomputing
    every window from the list of accepted events."""
    wins = sorted(((ref.parse_duration(w), ref.parse_duration(h), w) for w, h in windows.items()))
    q, accepted, part = {}, {}, {}
    for seq, e in enumerate(events):
        v, key = e["value"], e["key"]
        if not key or v is None or type(v.get("ts")) is not int:
            continue
        a = v["amount"]
        if a is not None and type(a) not in (int, float):
            continue
        t, p = v["ts"], e["partition"]
        q[p] = max(q.get(p, t), t)
        # The stream times at which the windows it counts in lose its tile.
        leaves = [(floor_div(t, hop) + size // hop + 1) * hop for size, hop, _ in wins
                  if floor_div(t, hop) >= floor_div(q[p], hop) - size // hop]
        if not leaves:
            continue
        accepted.setdefault(key.encode(), []).append((t, seq, a, v["country"], q[p], leaves))
        part[key.encode()] = p
    out = {}
    for key, evs in accepted.items():
        qf = q[part[key]]
        rec = {}
        inside = {}
        for size, hop, name in wins:
            hi = floor_div(qf, hop)
            inside[name] = [x for x in evs if hi - size // hop <= floor_div(x[0], hop) <= hi]
        if not any(inside.values()):
            out[key] = None
            continue
        for _, _, name in wins:
            rec["n_" + name] = len(inside[name])
        for op in ("sum", "mean", "min", "max"):
            for _, _, name in wins:
                vals = [x[2] for x in inside[name] if x[2] is not None and not math.isnan(x[2])]
                rec["%s_%s" % (op, name)] = (
                    math.fsum(vals) if op == "sum" else
                    None if not vals else
                    math.fsum(vals) / len(vals) if op == "mean" else
                    min(vals) if op == "min" else max(vals))
        latest = max(evs, key=lambda x: (x[0], x[1]))
        rec["c"] = latest[3]
        rec["event_time"] = latest[0]
        rec["as_of"] = qf
        # as_of is at least the last time its values changed.
        changes = [x[4] for x in evs] + [at for x in evs for at in x[5] if at <= qf]
        out[key] = rec, max(changes)
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_events_match_brute_force(seed):
    rng = random.Random(seed)
    events = gen_events(rng, 4000)
    s = spec(WINDOWS, [{"name": "n", "op": "count"}] +
             [{"name": op, "op": op, "field": "amount"} for op in ("sum", "mean", "min", "max")] +
             [{"name": "c", "op": "last", "field": "country"}], format="avro")
    r = ref.Reference(s, schema=RANDOM_SCHEMA)
    r.add_all(events)
    expected = r.expected()
    brute = brute_force(WINDOWS, events)
    as_of_min = {k: v[1] for k, v in brute.items() if v is not None}
    brute = {k: v and v[0] for k, v in brute.items()}
    assert set(expected) == set(brute)
    assert ref.compare(expected, brute) == []
    for key, rec in expected.items():
        assert (rec is None) == (brute[key] is None)
        if rec is not None:
            assert len(rec.alternatives) == 1
            assert rec["event_time"] <= rec.as_of_min <= rec.as_of_max
            assert rec.as_of_min == as_of_min[key]
    # The stream had every case in it.
    assert r.stats["late"] > 20 and r.stats["invalid"] > 20 and r.stats["revived"] > 5
    assert sum(v is None for v in expected.values()) > 3
    assert sum(v is not None for v in expected.values()) > 3
    # The brute force's values are not the reference's by construction:
    # a wrong value is caught.
    key = next(k for k, v in expected.items() if v is not None)
    wrong = dict(brute[key], n_7s=brute[key]["n_7s"] + 1)
    assert not ref.matches(expected[key], wrong)[0]
