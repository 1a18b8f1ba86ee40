"""An independent reference of what `fstore aggregate` writes.

Given an aggregation spec and the events of the input topic (per partition,
in offset order), this module computes what the compacted output topic
must hold once the engine has consumed every event: per entity key, the
record of its window values at its partition's final stream time, or no
live record (a tombstone, or the key never written). End-to-end tests
compare the engine's output topic with it; it uses the standard library
only and imports nothing of fstore.

    expected = aggregate_reference.compute(spec, events)
    for key, record in actual_latest_records.items():
        ok, why = aggregate_reference.matches(expected.get(key), record)

or, for a whole topic, `aggregate_reference.compare(expected, actual)`.

Events are dicts:
    {"partition": int,
     "key": bytes | str | None,      # the Kafka record key (str: UTF-8)
     "timestamp": int,               # the Kafka record timestamp, ms
     "value": dict | None}           # the decoded event; None: undecodable

Semantics (those of libfstore/src/agg_spec.c, agg_tiles.c, agg_event.c and
agg_output.c):

Spec. Parsed like the engine parses it, with the same defaults: format
"confluent"; changelog "<output topic>-state"; output name the output
topic with every character outside [A-Za-z0-9] made "_" (and a leading
digit too); windows {"5m": "1m", "1h": "5m", "1d": "1h"}. Durations are
"<n>ms|s|m|h|d" with n > 0, no sign, no leading zero, up to 366 days. The
hop must divide its window; two windows may not have the same size; all
windows together have at most 10000 tiles (size / hop + 1 each). Windows
are ordered by size, which is the order of the output fields. The avro and
confluent formats need the events' schema (`schema=` or the spec's
input.schema file, relative to `base_dir`); json works with or without.

Event time. The spec's time field (a long of ms) or, when it names none,
the Kafka record timestamp (which must then be >= 0).

Invalid events are skipped: they move no stream time and change nothing.
An event is invalid when
  - its key is None or empty, or longer than 400 bytes;
  - its value is None;
  - the time field is missing, null or not an integer (bool is not an
    integer); with no time field, the record timestamp is None or < 0;
  - a field read by sum/mean/min/max holds something other than a number
    or null (missing is null);
  - json format only: the value is not a dict, or holds anywhere a float
    that is not finite or an integer outside int64 (such text does not
    parse); with a schema, a field read by `last` does not have the JSON
    form of its Avro type (boolean: bool; int, long: integer; float,
    double: number; string, bytes: str; fixed: str of `size` UTF-8 bytes;
    enum: one of its symbols; arrays of numbers: a list of numbers,
    integers for int and long items).
The avro and confluent formats are trusted to carry the schema's types
(the producer could not have encoded them otherwise); their values are
given as the spec's schema (the reader's) reads them.

Numbers. A numeric field's value is read as a double: ints converted, a
field of Avro type float (avro/confluent formats) rounded to float32 as
its encoding does; the json format keeps the JSON number as a double even
for float fields. NaN counts as null for n, sum, mean, min and max; the
event still counts in `count`.

Stream time. Per partition, q is the largest event time of its valid
events so far, updated with an event's time before the event is judged.
Window W with hop H at q holds the tiles k = floor(t / H) with
floor(q / H) - W / H <= k <= floor(q / H). An event whose tile is below
the first tile of every window at q is late: counted in `stats["late"]`,
changing nothing (no window, no last value, no event_time). Otherwise it
is accepted and counts in each window whose range holds its tile.

Output record, fields in order: for each feature in the spec's order,
count/sum/mean/min/max give "<name>_<window>" per window (count: events;
sum: 0.0 when no values; mean, min, max: None when no values); last gives
"<name>": the field of the accepted event with the greatest event time
(equal times: the later one in the partition), None when that field is
null. Then event_time, the greatest event time of the accepted events,
and as_of. Values of a last-feature are compared in Avro's raw form: ints
for date, time and timestamp logical types, str for uuid (matches()
converts the datetime, date, time and UUID objects an Avro reader may
return); float fields rounded to float32. Schemaless json keeps a last
value as text: a str as it is, anything else as compact JSON (compared
parsed when the texts differ: the engine formats reals its own way).

Tombstones. An entity whose every window is empty at its partition's
final stream time has no live record: `compute` maps it to None. Keys
with no accepted event are absent from the result (the engine never
writes them).

Expiry and last values. The engine drops an entity's state (last values
and event_time included) when it finds every window empty, which happens
at scans whose timing depends on transaction boundaries. This does not
make last or event_time ambiguous: an entity can only be dropped when all
its accepted events lie in tiles below every window's first tile, and any
later accepted event lies in a tile at or above some window's first tile
at a later (larger) stream time, so it is strictly later than every
dropped event. The greatest event time, and the event that carries it,
are therefore the same whether or not the drop happened. The reference
does not rely on that argument: it keeps one candidate (event_time, last
values) per possible drop point (an accepted event that finds the
entity's windows all empty at the stream time it is judged at) and one
for no drop at all, merging equal candidates; ExpectedRecord.alternatives
lists them and matches() accepts any. (The argument says there is always
exactly one, and the tests check that.)

as_of is the partition's stream time when the record was produced, which
depends on transaction boundaries. ExpectedRecord gives its range:
as_of_min = the latest stream time at which the entity's values changed,
that is the stream time after its last accepted event, or the latest
time <= the final stream time at which one of its windows lost a
non-empty tile ((k + W/H + 1) * H for tile k), whichever is later;
as_of_max = the final stream time. (Looser but always true:
event_time <= as_of <= final stream time.)

A key seen in two partitions is refused (ValueError): the engine keeps
one entity per partition and key, and which one the compacted topic
keeps would depend on timing.
"""

import datetime as _dt
import json
import math
import os
import re
import struct
import uuid as _uuid
from dataclasses import dataclass

__all__ = [
    "SpecError", "Window", "Feature", "Spec", "parse_duration", "parse_spec",
    "output_fields", "ExpectedRecord", "Reference", "compute", "matches",
    "compare",
]

MAX_TILES = 10000
MAX_KEY = 400
MAX_DURATION_MS = 366 * 86400000
INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
DEFAULT_WINDOWS = (("5m", "1m"), ("1h", "5m"), ("1d", "1h"))
REL_TOL = 1e-9

_UNITS = {"ms": 1, "s": 1000, "m": 60000, "h": 3600000, "d": 86400000}
_DURATION = re.compile(r"^([1-9][0-9]*)(ms|s|m|h|d)$")
_AVRO_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_WINDOW_NAME = re.compile(r"^[0-9a-z]*$")
_OPS = ("count", "sum", "mean", "min", "max", "last")
_NUMERIC = ("int", "long", "float", "double")
_PRIMITIVES = ("null", "boolean", "int", "long", "float", "double", "bytes",
               "string")


class SpecError(ValueError):
    """A spec the engine refuses (the message names the mistake)."""


def parse_duration(text):
    """Milliseconds of "<n>ms|s|m|h|d" (n > 0, up to 366 days), or None."""
    m = _DURATION.match(text) if isinstance(text, str) else None
    if not m:
        return None
    ms = int(m.group(1)) * _UNITS[m.group(2)]
    return ms if ms <= MAX_DURATION_MS else None


@dataclass(frozen=True)
class Window:
    name: str     # as the spec writes it: the suffix of field names
    size_ms: int
    hop_ms: int

    @property
    def ntiles(self):
        return self.size_ms // self.hop_ms + 1

    def last_tile(self, q):
        return q // self.hop_ms  # Python's // floors, before the epoch too

    def first_tile(self, q):
        return q // self.hop_ms - (self.ntiles - 1)

    def tile(self, t):
        return t // self.hop_ms

    def leaves_at(self, k):
        """The stream time at which tile k drops out of the window."""
        return (k + self.ntiles) * self.hop_ms


@dataclass(frozen=True)
class Feature:
    name: str
    op: str
    field: str = None  # None for count


@dataclass(frozen=True)
class _Column:
    """What the reference needs of one field of the events' schema."""
    kind: str             # an Avro type name, "array" or "other"
    logical: str = None
    nullable: bool = False
    symbols: tuple = ()
    size: int = 0
    items: str = None     # arrays: the items' kind


@dataclass(frozen=True)
class Spec:
    input_topic: str
    format: str
    time_field: str
    output_topic: str
    output_name: str
    output_schema_id: int  # None: given by the registry
    changelog: str
    windows: tuple       # of Window, by size
    features: tuple      # of Feature, in the spec's order
    columns: dict = None  # field name -> _Column; None without a schema

    @property
    def numeric_fields(self):
        """The fields read by sum/mean/min/max, each once, in order."""
        out = []
        for f in self.features:
            if f.op not in ("count", "last") and f.field not in out:
                out.append(f.field)
        return tuple(out)

    @property
    def last_features(self):
        return tuple(f for f in self.features if f.op == "last")

    def output_fields(self):
        """The output record's field names, in order, as_of last."""
        names = []
        for f in self.features:
            if f.op == "last":
                names.append(f.name)
            else:
                names.extend("%s_%s" % (f.name, w.name) for w in self.windows)
        return names + ["event_time", "as_of"]


# ---- spec parsing ----

def _reject_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise SpecError("spec: not a JSON object: duplicate key \"%s\"" % k)
        d[k] = v
    return d


def _keys_known(obj, where, allowed):
    for k in obj:
        if k not in allowed:
            raise SpecError("spec: unknown key \"%s\" in %s" % (k, where))


def _str(obj, key, where, required):
    v = obj.get(key)
    if v is None and key not in obj and not required:
        return None
    if not isinstance(v, str) or not v:
        raise SpecError("spec: %s.%s must be a non-empty string" % (where, key))
    return v


def _columns(schema):
    """The top-level fields of a record schema (dict) as _Columns."""
    named = {}

    def resolve(t):
        nullable = False
        if isinstance(t, list):
            branches = [b for b in t if b != "null"]
            nullable = len(branches) < len(t)
            if len(branches) != 1:
                return _Column("other", nullable=nullable)
            t = branches[0]
        if isinstance(t, str):
            if t in _PRIMITIVES:
                return _Column(t, nullable=nullable)
            c = named.get(t) or named.get(t.rsplit(".", 1)[-1])
            if c is None:
                return _Column("other", nullable=nullable)
            return _Column(c.kind, c.logical, nullable, c.symbols, c.size, c.items)
        if not isinstance(t, dict):
            return _Column("other", nullable=nullable)
        kind = t.get("type")
        if isinstance(kind, (dict, list)):
            c = resolve(kind)
            return _Column(c.kind, c.logical, nullable or c.nullable, c.symbols,
                           c.size, c.items)
        col = _Column("other", nullable=nullable)
        if kind in _PRIMITIVES:
            col = _Column(kind, t.get("logicalType"), nullable)
        elif kind == "enum":
            col = _Column("enum", None, nullable, tuple(t.get("symbols", ())))
        elif kind == "fixed":
            col = _Column("fixed", t.get("logicalType"), nullable, size=int(t.get("size", 0)))
        elif kind == "array":
            items = resolve(t.get("items"))
            col = _Column("array", None, nullable, items=items.kind)
        if kind in ("enum", "fixed", "record") and isinstance(t.get("name"), str):
            named[t["name"]] = col
            if t.get("namespace"):
                named["%s.%s" % (t["namespace"], t["name"])] = col
        return col

    if not isinstance(schema, dict) or schema.get("type") != "record":
        raise SpecError("spec: input.schema: the events' schema must be a record")
    cols = {}
    for f in schema.get("fields", ()):
        cols[f["name"]] = resolve(f["type"])
    return cols


def _load_schema(inp, schema, base_dir):
    if schema is not None:
        return json.loads(schema) if isinstance(schema, (str, bytes)) else schema
    path = inp.get("schema")
    if path is None:
        return None
    full = path if os.path.isabs(path) or base_dir is None else os.path.join(base_dir, path)
    try:
        with open(full, "rb") as f:
            return json.loads(f.read())
    except (OSError, ValueError) as e:
        raise SpecError("spec: input.schema: cannot read %s: %s" % (full, e)) from None


def _parse_windows(win):
    if win is None:
        pairs = DEFAULT_WINDOWS
    elif not isinstance(win, dict) or not win:
        raise SpecError("spec: \"windows\" must be an object of window: hop, "
                        "e.g. {\"5m\": \"1m\"}")
    else:
        pairs = tuple(win.items())
    windows, tiles = [], 0
    for name, hop in pairs:
        size, hop_ms = parse_duration(name), parse_duration(hop)
        if size is None:
            raise SpecError("spec: window \"%s\" is not a duration" % name)
        if hop_ms is None:
            raise SpecError("spec: the hop \"%s\" of window \"%s\" is not a duration"
                            % (hop, name))
        if size % hop_ms:
            raise SpecError("spec: the hop %s does not divide window %s" % (hop, name))
        tiles += size // hop_ms + 1
        if tiles > MAX_TILES:
            raise SpecError("spec: window %s with hop %s makes %d tiles; at most %d"
                            % (name, hop, tiles, MAX_TILES))
        if not _WINDOW_NAME.match(name):
            raise SpecError("spec: window name \"%s\" must be lower case" % name)
        windows.append(Window(name, size, hop_ms))
    windows.sort(key=lambda w: (w.size_ms, w.hop_ms))
    for a, b in zip(windows, windows[1:]):
        if a.size_ms == b.size_ms:
            raise SpecError("spec: windows \"%s\" and \"%s\" have the same size"
                            % (a.name, b.name))
    return tuple(windows)


def _parse_features(fs, columns):
    if not isinstance(fs, list) or not fs:
        raise SpecError("spec: \"features\" must be a non-empty array")
    out = []
    for i, j in enumerate(fs):
        where = "features[%d]" % i
        if not isinstance(j, dict):
            raise SpecError("spec: %s must be an object with a name and an op" % where)
        _keys_known(j, where, ("name", "op", "field"))
        name = _str(j, "name", where, True)
        op = _str(j, "op", where, True)
        if op not in _OPS:
            raise SpecError("spec: feature \"%s\": op \"%s\" is not count, sum, "
                            "mean, min, max or last" % (name, op))
        fld = _str(j, "field", where, False)
        if not _AVRO_NAME.match(name):
            raise SpecError("spec: feature name \"%s\" is not an Avro name" % name)
        if op == "count":
            if fld is not None:
                raise SpecError("spec: feature \"%s\": count takes no field" % name)
        elif fld is None:
            raise SpecError("spec: feature \"%s\" needs a field" % name)
        elif columns is not None:
            if fld not in columns:
                raise SpecError("spec: feature \"%s\": the events have no field \"%s\""
                                % (name, fld))
            if op != "last" and columns[fld].kind not in _NUMERIC:
                raise SpecError("spec: feature \"%s\": %s needs a numeric field" % (name, op))
        out.append(Feature(name, op, fld))
    return tuple(out)


def parse_spec(spec, schema=None, base_dir=None):
    """A Spec from the spec (a dict, or its JSON text).

    schema: the events' Avro schema (a dict or JSON text); when None, the
    spec's input.schema file is read, relative to base_dir (None: the
    working directory). Raises SpecError for the mistakes the engine
    refuses (not necessarily all of them)."""
    if isinstance(spec, (str, bytes)):
        try:
            spec = json.loads(spec, object_pairs_hook=_reject_duplicates)
        except SpecError:
            raise
        except ValueError as e:
            raise SpecError("spec: not a JSON object: %s" % e) from None
    if not isinstance(spec, dict):
        raise SpecError("spec: not a JSON object")
    _keys_known(spec, "the spec", ("input", "output", "changelog", "windows", "features"))

    inp = spec.get("input")
    if not isinstance(inp, dict):
        raise SpecError("spec: \"input\" must be an object with at least a topic")
    _keys_known(inp, "input", ("topic", "format", "schema", "time"))
    input_topic = _str(inp, "topic", "input", True)
    fmt = _str(inp, "format", "input", False) or "confluent"
    time_field = _str(inp, "time", "input", False)
    _str(inp, "schema", "input", False)
    if fmt not in ("confluent", "avro", "json"):
        raise SpecError("spec: input.format \"%s\" is not confluent, avro or json" % fmt)
    schema = _load_schema(inp, schema, base_dir)
    if schema is None and fmt != "json":
        raise SpecError("spec: input.schema is required for the %s format" % fmt)
    columns = _columns(schema) if schema is not None else None
    if columns is not None and time_field is not None:
        c = columns.get(time_field)
        if c is None:
            raise SpecError("spec: input.time: the events have no field \"%s\"" % time_field)
        if c.kind != "long" or c.logical not in (None, "timestamp-millis"):
            raise SpecError("spec: input.time: field \"%s\" must be a long of "
                            "milliseconds (or timestamp-millis)" % time_field)

    out = spec.get("output")
    if not isinstance(out, dict):
        raise SpecError("spec: \"output\" must be an object with a topic")
    _keys_known(out, "output", ("topic", "name", "schema_id"))
    output_topic = _str(out, "topic", "output", True)
    output_name = _str(out, "name", "output", False)
    if output_name is None:
        output_name = re.sub(r"[^A-Za-z0-9]", "_", output_topic)
        if output_name[0].isdigit():
            output_name = "_" + output_name[1:]
    if not _AVRO_NAME.match(output_name):
        raise SpecError("spec: output.name \"%s\" is not an Avro name" % output_name)
    sid = out.get("schema_id")
    # Absent: the registry gives the id.
    if sid is not None and (isinstance(sid, bool) or not isinstance(sid, int)
                            or not 0 <= sid <= 2147483647):
        raise SpecError("spec: output.schema_id must be an integer from 0 to 2147483647")
    changelog = spec.get("changelog", output_topic + "-state")
    if not isinstance(changelog, str) or not changelog:
        raise SpecError("spec: \"changelog\" must be a non-empty topic name")

    windows = _parse_windows(spec.get("windows"))
    features = _parse_features(spec.get("features"), columns)
    s = Spec(input_topic, fmt, time_field, output_topic, output_name, sid,
             changelog, windows, features, columns)
    seen = set()
    for name in s.output_fields():
        if name in seen:
            raise SpecError("spec: two output fields would be named \"%s\"; "
                            "rename a feature" % name)
        seen.add(name)
    return s


def output_fields(spec, schema=None, base_dir=None):
    """The output record's field names in order (as_of last)."""
    if not isinstance(spec, Spec):
        spec = parse_spec(spec, schema, base_dir)
    return spec.output_fields()


# ---- values ----

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
_EPOCH_NAIVE = _dt.datetime(1970, 1, 1)


def _to_raw(v, logical):
    """An Avro logical value as its raw form (ints; str for uuid)."""
    if isinstance(v, _uuid.UUID):
        return str(v)
    if isinstance(v, _dt.datetime):
        micros = (v - (_EPOCH if v.tzinfo else _EPOCH_NAIVE)) // _dt.timedelta(microseconds=1)
        return micros if logical in ("timestamp-micros", "local-timestamp-micros") \
            else micros // 1000
    if isinstance(v, _dt.date):
        return (v - _dt.date(1970, 1, 1)).days
    if isinstance(v, _dt.time):
        micros = ((v.hour * 60 + v.minute) * 60 + v.second) * 1000000 + v.microsecond
        return micros if logical == "time-micros" else micros // 1000
    return v


def _f32(x):
    """x rounded to float32, as an Avro float holds it."""
    x = float(x)
    try:
        return struct.unpack("<f", struct.pack("<f", x))[0]
    except OverflowError:
        return math.copysign(math.inf, x)


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _json_parses(v):
    """Whether v, written as JSON, is text the engine's parser reads."""
    if isinstance(v, float):
        return math.isfinite(v)
    if _is_int(v):
        return INT64_MIN <= v <= INT64_MAX
    if isinstance(v, dict):
        return all(isinstance(k, str) and _json_parses(x) for k, x in v.items())
    if isinstance(v, (list, tuple)):
        return all(_json_parses(x) for x in v)
    return v is None or isinstance(v, (str, bool))


class _Invalid(Exception):
    pass


def _last_from_json(v, col):
    """The raw value a JSON value becomes in a field of type col."""
    k = col.kind
    ok = {
        "boolean": lambda: isinstance(v, bool),
        "int": lambda: _is_int(v),
        "long": lambda: _is_int(v),
        "float": lambda: _is_number(v),
        "double": lambda: _is_number(v),
        "string": lambda: isinstance(v, str),
        "bytes": lambda: isinstance(v, str),
        "fixed": lambda: isinstance(v, str) and len(v.encode()) == col.size,
        "enum": lambda: isinstance(v, str) and v in col.symbols,
        "array": lambda: isinstance(v, list) and all(
            _is_int(x) if col.items in ("int", "long") else _is_number(x) for x in v),
    }.get(k, lambda: False)()
    if not ok:
        raise _Invalid("field does not have the schema's type")
    if k == "float":
        return _f32(v)
    if k == "double":
        return float(v)
    if k in ("bytes", "fixed"):
        return v.encode()
    if k == "array":
        return [_f32(x) if col.items == "float" else
                float(x) if col.items == "double" else x for x in v]
    return v


def _last_from_avro(v, col):
    """The raw value of an Avro-decoded field (floats rounded to float32)."""
    if col is None:
        return v
    v = _to_raw(v, col.logical)
    if col.kind == "float" and _is_number(v):
        return _f32(v)
    if col.kind == "double" and _is_number(v):
        return float(v)
    if col.kind == "array" and isinstance(v, (list, tuple)):
        return [_f32(x) if col.items == "float" else
                float(x) if col.items == "double" else x for x in v]
    return v


def _json_text(v):
    """A schemaless last value: a str as it is, anything else as JSON."""
    if isinstance(v, str):
        return v
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _same(a, b):
    """Equality that holds NaN equal to NaN (and not True equal to 1)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


# ---- the incremental model ----

class _Num:
    __slots__ = ("n", "sum", "min", "max", "abs")

    def __init__(self):
        self.n, self.sum, self.min, self.max, self.abs = 0, 0.0, 0.0, 0.0, 0.0

    def add(self, v):
        if self.n == 0:
            self.sum = self.min = self.max = v
        else:
            self.sum += v
            self.min = min(self.min, v)
            self.max = max(self.max, v)
        self.abs += abs(v)
        self.n += 1


class _Tile:
    __slots__ = ("count", "num")

    def __init__(self, nnum):
        self.count = 0
        self.num = [_Num() for _ in range(nnum)]


class _Entity:
    """One key's state: per window its tiles (tile index -> _Tile) still in
    range, and the candidate (event_time, last_t, last values)."""

    def __init__(self, spec, partition):
        self.partition = partition
        self.tiles = [dict() for _ in spec.windows]
        self.candidates = []   # [event_time, last_t, [values]]
        self.q_last = None     # stream time after its last accepted event
        self.changed = None    # latest tile departure seen by pruning

    def prune(self, spec, q):
        for w, tiles in zip(spec.windows, self.tiles):
            first = w.first_tile(q)
            for k in [k for k in tiles if k < first]:
                self.changed = max(self.changed or INT64_MIN, w.leaves_at(k))
                del tiles[k]

    def empty(self):
        return not any(self.tiles)


@dataclass
class ExpectedRecord:
    """What the output topic must hold for one key.

    values: every output field but as_of, in output order (event_time and
    the last-features from the first alternative); alternatives: the
    acceptable {"event_time": ..., <last feature>: ...} dicts (one, see the
    module's documentation); tolerances: per double field, the absolute
    error allowed besides REL_TOL relative (REL_TOL times the sum of the
    magnitudes of the values it adds); kinds: per field, "long",
    "double", "opt_double", "last" or "json_text"; logical: per last
    field, its Avro logical type (or None)."""
    key: bytes
    partition: int
    values: dict
    alternatives: tuple
    tolerances: dict
    kinds: dict
    logical: dict
    as_of_min: int
    as_of_max: int

    def __getitem__(self, name):
        return self.values[name]


class Reference:
    """The aggregation of a stream of events, event by event.

    add(event) returns "accepted", "late" or "invalid"; stats counts them
    (and "revived", see __init__);
    expected() gives the output at the current stream times (or at later
    ones, `at`)."""

    def __init__(self, spec, schema=None, base_dir=None):
        self.spec = spec if isinstance(spec, Spec) else parse_spec(spec, schema, base_dir)
        # revived: accepted events of an entity whose windows were all
        # empty (the engine may have dropped it before them).
        self.stats = {"accepted": 0, "late": 0, "invalid": 0, "revived": 0}
        self.invalid_reasons = []   # (event index, reason)
        self._q = {}                # partition -> stream time
        self._entities = {}         # key -> _Entity
        self._partition_of = {}     # key -> partition
        self._index = 0

    def stream_time(self, partition):
        """The partition's stream time, or None before any valid event."""
        return self._q.get(partition)

    # -- events in --

    def _time(self, ev, value):
        s = self.spec
        if s.time_field is None:
            ts = ev.get("timestamp")
            if not _is_int(ts) or ts < 0:
                raise _Invalid("the record has no timestamp")
            return ts
        t = value.get(s.time_field)
        if s.format != "json":
            t = _to_raw(t, "timestamp-millis")
        if not _is_int(t) or not INT64_MIN <= t <= INT64_MAX:
            raise _Invalid("time field missing, null or not an integer")
        return t

    def _numbers(self, value):
        s, out = self.spec, []
        for name in s.numeric_fields:
            v = value.get(name)
            if v is None:
                out.append(None)
                continue
            if not _is_number(v):
                raise _Invalid("field \"%s\" is not a number" % name)
            col = s.columns.get(name) if s.columns else None
            if s.format != "json" and col is not None and col.kind == "float":
                v = _f32(v)
            v = float(v)
            out.append(None if math.isnan(v) else v)
        return out

    def _lasts(self, value):
        s, out = self.spec, []
        for f in s.last_features:
            v = value.get(f.field)
            if v is None:
                out.append(None)
            elif s.format != "json":
                out.append(_last_from_avro(v, s.columns.get(f.field) if s.columns else None))
            elif s.columns is not None:
                try:
                    out.append(_last_from_json(v, s.columns[f.field]))
                except _Invalid:
                    raise _Invalid("field \"%s\" does not have the schema's type"
                                   % f.field) from None
            else:
                out.append(_json_text(v))
        return out

    def _decode(self, ev):
        key = ev.get("key")
        if isinstance(key, str):
            key = key.encode()
        if not key:
            raise _Invalid("no key")
        if len(key) > MAX_KEY:
            raise _Invalid("key longer than %d bytes" % MAX_KEY)
        value = ev.get("value")
        if value is None:
            raise _Invalid("no value")
        if self.spec.format == "json" and not (isinstance(value, dict) and _json_parses(value)):
            raise _Invalid("not a JSON object the engine can parse")
        if not isinstance(value, dict):
            raise _Invalid("not a record")
        t = self._time(ev, value)
        return key, t, self._numbers(value), self._lasts(value)

    def add(self, ev):
        """Feeds one event; "accepted", "late" or "invalid"."""
        index, self._index = self._index, self._index + 1
        p = ev["partition"]
        key = ev.get("key")
        key = key.encode() if isinstance(key, str) else key
        if key:
            if self._partition_of.setdefault(key, p) != p:
                raise ValueError("key %r in partitions %d and %d"
                                 % (key, self._partition_of[key], p))
        try:
            key, t, nums, lasts = self._decode(ev)
        except _Invalid as e:
            self.stats["invalid"] += 1
            self.invalid_reasons.append((index, str(e)))
            return "invalid"
        q = max(self._q.get(p, t), t)
        self._q[p] = q
        s = self.spec
        windows = [w for w in s.windows if w.tile(t) >= w.first_tile(q)]
        if not windows:
            self.stats["late"] += 1
            return "late"
        self.stats["accepted"] += 1
        e = self._entities.get(key)
        if e is None:
            e = self._entities[key] = _Entity(s, p)
        e.prune(s, q)
        if e.empty():
            # New, or the engine may have dropped it before this event: one
            # more candidate, starting afresh.
            self.stats["revived"] += bool(e.candidates)
            e.candidates.append([INT64_MIN, INT64_MIN, [None] * len(lasts)])
        for w in windows:
            i = s.windows.index(w)
            tile = e.tiles[i].get(w.tile(t))
            if tile is None:
                tile = e.tiles[i][w.tile(t)] = _Tile(len(nums))
            tile.count += 1
            for a, v in zip(tile.num, nums):
                if v is not None:
                    a.add(v)
        for c in e.candidates:
            c[0] = max(c[0], t)
            if t >= c[1]:  # equal times: the later event wins
                c[1], c[2] = t, list(lasts)
        merged = []
        for c in e.candidates:
            if not any(m[0] == c[0] and _same(m[2], c[2]) for m in merged):
                merged.append(c)
        e.candidates = merged
        e.q_last = q
        return "accepted"

    def add_all(self, events):
        for ev in events:
            self.add(ev)
        return self

    # -- the output --

    def _record(self, key, e, qf):
        s = self.spec
        per_window = []
        changed = max(e.q_last, e.changed if e.changed is not None else INT64_MIN)
        nnum = len(s.numeric_fields)
        for w, tiles in zip(s.windows, e.tiles):
            lo, hi = w.first_tile(qf), w.last_tile(qf)
            count, agg = 0, [_Num() for _ in range(nnum)]
            for k, tile in tiles.items():
                if not lo <= k <= hi:
                    if k < lo:
                        changed = max(changed, w.leaves_at(k))
                    continue
                count += tile.count
                for a, b in zip(agg, tile.num):
                    if b.n:
                        if a.n == 0:
                            a.sum, a.min, a.max = b.sum, b.min, b.max
                        else:
                            a.sum += b.sum
                            a.min = min(a.min, b.min)
                            a.max = max(a.max, b.max)
                        a.n += b.n
                        a.abs += b.abs
            per_window.append((count, agg))
        if not any(c for c, _ in per_window):
            return None
        values, tol, kinds, logical = {}, {}, {}, {}
        lasts = s.last_features
        alternatives = tuple(
            dict([("event_time", c[0])] + [(f.name, v) for f, v in zip(lasts, c[2])])
            for c in e.candidates)
        for f in s.features:
            if f.op == "last":
                values[f.name] = alternatives[0][f.name]
                col = s.columns.get(f.field) if s.columns else None
                kinds[f.name] = "json_text" if s.format == "json" and s.columns is None \
                    else "last"
                logical[f.name] = col.logical if col else None
                continue
            slot = s.numeric_fields.index(f.field) if f.op != "count" else None
            for w, (count, agg) in zip(s.windows, per_window):
                name = "%s_%s" % (f.name, w.name)
                if f.op == "count":
                    values[name], kinds[name] = count, "long"
                    continue
                a = agg[slot]
                if f.op == "sum":
                    values[name], kinds[name] = (a.sum if a.n else 0.0), "double"
                    tol[name] = REL_TOL * a.abs
                    continue
                kinds[name] = "opt_double"
                if not a.n:
                    values[name] = None
                elif f.op == "mean":
                    values[name] = a.sum / a.n
                    tol[name] = REL_TOL * a.abs / a.n
                else:
                    values[name] = a.min if f.op == "min" else a.max
                    tol[name] = 0.0
        values["event_time"] = alternatives[0]["event_time"]
        kinds["event_time"] = "long"
        return ExpectedRecord(key, e.partition, values, alternatives, tol, kinds,
                              logical, changed, qf)

    def expected(self, at=None):
        """{key: ExpectedRecord, or None for no live record} over every key
        with an accepted event, at each partition's stream time, or at `at`
        (an int for every partition, or {partition: ms}), which may not
        precede it."""
        out = {}
        for key, e in self._entities.items():
            q = self._q[e.partition]
            qf = at.get(e.partition, q) if isinstance(at, dict) else q if at is None else at
            if qf < q:
                raise ValueError("at %d precedes partition %d's stream time %d"
                                 % (qf, e.partition, q))
            out[key] = self._record(key, e, qf)
        return out


def compute(spec, events, schema=None, base_dir=None, at=None):
    """The expected output: {key (bytes): ExpectedRecord or None}."""
    return Reference(spec, schema, base_dir).add_all(events).expected(at)


# ---- comparing ----

def _millis(v):
    return _to_raw(v, "timestamp-millis")


def _close(e, a, tol, rel):
    if not _is_number(a):
        return False
    e, a = float(e), float(a)
    if math.isnan(e) or math.isnan(a):
        return math.isnan(e) and math.isnan(a)
    if math.isinf(e) or math.isinf(a):
        return e == a
    return abs(a - e) <= max(rel * abs(e), tol)


def _last_ok(kind, logical, e, a):
    if kind == "json_text":
        if e is None or a is None:
            return e is None and a is None
        if e == a:
            return True
        try:
            return _same(json.loads(e), json.loads(a))
        except (TypeError, ValueError):
            return False
    if isinstance(a, tuple):
        a = list(a)
    return _same(e, _to_raw(a, logical))


def matches(expected, actual, rel_tol=REL_TOL):
    """(True, "") when the decoded output record `actual` (a dict, or None
    for a tombstone or no record) is what `expected` (an ExpectedRecord, or
    None) allows; else (False, why). Longs compare exactly, doubles within
    rel_tol relative or the record's absolute tolerance, nulls exactly,
    event_time and last values against any alternative, as_of within
    [as_of_min, as_of_max]. datetime values are read as milliseconds."""
    if expected is None:
        return (actual is None,
                "" if actual is None else "expected no live record, got %r" % (actual,))
    if actual is None:
        return False, "expected a record, got none (tombstone or absent)"
    want = list(expected.values) + ["as_of"]
    if set(actual) != set(want):
        return False, "fields differ: missing %s, unexpected %s" % (
            sorted(set(want) - set(actual)), sorted(set(actual) - set(want)))
    for name, kind in expected.kinds.items():
        if kind in ("last", "json_text") or name == "event_time":
            continue
        e, a = expected.values[name], actual[name]
        if kind == "long":
            ok = _is_int(a) and a == e
        elif e is None or a is None:
            ok = e is None and a is None
        else:
            ok = _close(e, a, expected.tolerances.get(name, 0.0), rel_tol)
        if not ok:
            return False, "%s: expected %r, got %r" % (name, e, a)
    why = ""
    for alt in expected.alternatives:
        et = _millis(actual["event_time"])
        if et != alt["event_time"]:
            why = "event_time: expected %r, got %r" % (alt["event_time"], et)
            continue
        for name, e in alt.items():
            if name == "event_time":
                continue
            if not _last_ok(expected.kinds[name], expected.logical.get(name), e, actual[name]):
                why = "%s: expected %r, got %r" % (name, e, actual[name])
                break
        else:
            why = ""
            break
    if why:
        return False, why
    as_of = _millis(actual["as_of"])
    if not _is_int(as_of) or not expected.as_of_min <= as_of <= expected.as_of_max:
        return False, "as_of %r outside [%d, %d]" % (as_of, expected.as_of_min,
                                                     expected.as_of_max)
    return True, ""


def compare(expected, actual, rel_tol=REL_TOL):
    """Problems (a list of str; empty: all is well) between compute()'s
    result and the output topic's latest record per key (`actual`: {key:
    decoded dict, or None for a tombstone}; keys as bytes or str). A key
    expected None may be absent or a tombstone; any other key must match."""
    act = {(k.encode() if isinstance(k, str) else k): v for k, v in actual.items()}
    problems = []
    for key in sorted(set(act) - set(expected)):
        if act[key] is not None:
            problems.append("%r: unexpected record %r" % (key, act[key]))
    for key in sorted(expected):
        ok, why = matches(expected[key], act.get(key), rel_tol)
        if not ok:
            problems.append("%r: %s" % (key, why))
    return problems
