"""Table handles, their columns, and the decoders that turn one column of a
row view into a Python value."""

import datetime
from collections import namedtuple

import numpy as np

from ._errors import NoColumnError, error_for
from ._fstore_cffi import ffi, lib

TYPE_NAMES = {
    lib.FSTORE_TYPE_BOOLEAN: "boolean",
    lib.FSTORE_TYPE_INT: "int",
    lib.FSTORE_TYPE_LONG: "long",
    lib.FSTORE_TYPE_FLOAT: "float",
    lib.FSTORE_TYPE_DOUBLE: "double",
    lib.FSTORE_TYPE_STRING: "string",
    lib.FSTORE_TYPE_BYTES: "bytes",
    lib.FSTORE_TYPE_ENUM: "enum",
    lib.FSTORE_TYPE_FIXED: "fixed",
    lib.FSTORE_TYPE_ARRAY_FLOAT: "array<float>",
    lib.FSTORE_TYPE_ARRAY_DOUBLE: "array<double>",
    lib.FSTORE_TYPE_ARRAY_INT: "array<int>",
    lib.FSTORE_TYPE_ARRAY_LONG: "array<long>",
}

LOGICAL_NAMES = {
    lib.FSTORE_LOGICAL_NONE: None,
    lib.FSTORE_LOGICAL_DATE: "date",
    lib.FSTORE_LOGICAL_TIME_MILLIS: "time-millis",
    lib.FSTORE_LOGICAL_TIME_MICROS: "time-micros",
    lib.FSTORE_LOGICAL_TIMESTAMP_MILLIS: "timestamp-millis",
    lib.FSTORE_LOGICAL_TIMESTAMP_MICROS: "timestamp-micros",
    lib.FSTORE_LOGICAL_LOCAL_TIMESTAMP_MILLIS: "local-timestamp-millis",
    lib.FSTORE_LOGICAL_LOCAL_TIMESTAMP_MICROS: "local-timestamp-micros",
    lib.FSTORE_LOGICAL_UUID: "uuid",
}

# Element dtype of each array column type (little-endian, as stored).
ARRAY_DTYPES = {
    lib.FSTORE_TYPE_ARRAY_FLOAT: np.dtype("<f4"),
    lib.FSTORE_TYPE_ARRAY_DOUBLE: np.dtype("<f8"),
    lib.FSTORE_TYPE_ARRAY_INT: np.dtype("<i4"),
    lib.FSTORE_TYPE_ARRAY_LONG: np.dtype("<i8"),
}

# Types fstore_get_batch() can put in a float32 matrix.
MATRIX_TYPES = frozenset((
    lib.FSTORE_TYPE_BOOLEAN, lib.FSTORE_TYPE_INT, lib.FSTORE_TYPE_LONG,
    lib.FSTORE_TYPE_FLOAT, lib.FSTORE_TYPE_DOUBLE, lib.FSTORE_TYPE_ENUM,
))

Column = namedtuple("Column", "name index type logical nullable size symbols")
Column.__doc__ = """One column of a table.

name, index: its name and position. type: "boolean", "int", "long", "float",
"double", "string", "bytes", "enum", "fixed", "array<float>",
"array<double>", "array<int>" or "array<long>". logical: the Avro logical
type ("date", "timestamp-millis", ...) or None. nullable: True for
["null", T] columns. size: bytes of a fixed column, else 0. symbols: the
symbols of an enum column, else ()."""


class Scratch:
    """Out-parameters of the row accessors, allocated once per reader."""

    __slots__ = ("b", "i32", "i64", "f32", "f64", "data", "vdata", "len", "rowp",
                 "cap", "iv", "dv", "st", "ivp", "dvp", "stp")

    def __init__(self):
        self.b = ffi.new("int *")
        self.i32 = ffi.new("int32_t *")
        self.i64 = ffi.new("int64_t *")
        self.f32 = ffi.new("float *")
        self.f64 = ffi.new("double *")
        self.data = ffi.new("const char **")
        self.vdata = ffi.new("const void **")
        self.len = ffi.new("size_t *")
        self.rowp = ffi.new("const fstore_row_t **")
        self.grow(16)

    def grow(self, n):
        """Room for the scalar values of a row of @p n columns."""
        self.cap = n
        self.iv = np.zeros(n, dtype=np.int64)
        self.dv = np.zeros(n, dtype=np.float64)
        self.st = np.zeros(n, dtype=np.uint8)
        self.ivp = ffi.cast("int64_t *", ffi.from_buffer(self.iv))
        self.dvp = ffi.cast("double *", ffi.from_buffer(self.dv))
        self.stp = ffi.cast("uint8_t *", ffi.from_buffer(self.st))


def _fail(rc, col):
    raise error_for(rc, "column %d: %s" % (col, ffi.string(lib.fstore_strerror(rc)).decode()))


def _dec_bool(tp, row, col, s):
    rc = lib.fstore_row_bool(tp, row, col, s.b)
    if rc == 0:
        return bool(s.b[0])
    return None if rc == 2 else _fail(rc, col)


def _dec_int(tp, row, col, s):
    rc = lib.fstore_row_int(tp, row, col, s.i32)
    if rc == 0:
        return s.i32[0]
    return None if rc == 2 else _fail(rc, col)


def _dec_long(tp, row, col, s):
    rc = lib.fstore_row_long(tp, row, col, s.i64)
    if rc == 0:
        return s.i64[0]
    return None if rc == 2 else _fail(rc, col)


def _dec_float(tp, row, col, s):
    rc = lib.fstore_row_float(tp, row, col, s.f32)
    if rc == 0:
        return s.f32[0]
    return None if rc == 2 else _fail(rc, col)


def _dec_double(tp, row, col, s):
    rc = lib.fstore_row_double(tp, row, col, s.f64)
    if rc == 0:
        return s.f64[0]
    return None if rc == 2 else _fail(rc, col)


def _dec_bytes(tp, row, col, s):
    rc = lib.fstore_row_bytes(tp, row, col, s.data, s.len)
    if rc == 0:
        return ffi.unpack(s.data[0], s.len[0])
    return None if rc == 2 else _fail(rc, col)


def _dec_str(tp, row, col, s):
    rc = lib.fstore_row_bytes(tp, row, col, s.data, s.len)
    if rc == 0:
        return ffi.unpack(s.data[0], s.len[0]).decode("utf-8", "surrogateescape")
    return None if rc == 2 else _fail(rc, col)


def _array_decoder(dtype):
    def dec(tp, row, col, s):
        rc = lib.fstore_row_array(tp, row, col, s.vdata, s.len)
        if rc == 0:
            n = s.len[0]
            # One copy out of the map: the result outlives the snapshot.
            return np.frombuffer(ffi.buffer(s.vdata[0], n * dtype.itemsize), dtype=dtype).copy()
        return None if rc == 2 else _fail(rc, col)
    return dec


_EPOCH_DATE_ORDINAL = datetime.date(1970, 1, 1).toordinal()
_EPOCH_UTC = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_EPOCH_NAIVE = datetime.datetime(1970, 1, 1)
_MIDNIGHT = datetime.datetime(2000, 1, 1)


def _logical(base, convert):
    def dec(tp, row, col, s):
        v = base(tp, row, col, s)
        return None if v is None else convert(v)
    return dec


_LOGICAL_CONVERT = {
    lib.FSTORE_LOGICAL_DATE: lambda d: datetime.date.fromordinal(_EPOCH_DATE_ORDINAL + d),
    lib.FSTORE_LOGICAL_TIME_MILLIS:
        lambda ms: (_MIDNIGHT + datetime.timedelta(milliseconds=ms)).time(),
    lib.FSTORE_LOGICAL_TIME_MICROS:
        lambda us: (_MIDNIGHT + datetime.timedelta(microseconds=us)).time(),
    lib.FSTORE_LOGICAL_TIMESTAMP_MILLIS:
        lambda ms: _EPOCH_UTC + datetime.timedelta(milliseconds=ms),
    lib.FSTORE_LOGICAL_TIMESTAMP_MICROS:
        lambda us: _EPOCH_UTC + datetime.timedelta(microseconds=us),
    lib.FSTORE_LOGICAL_LOCAL_TIMESTAMP_MILLIS:
        lambda ms: _EPOCH_NAIVE + datetime.timedelta(milliseconds=ms),
    lib.FSTORE_LOGICAL_LOCAL_TIMESTAMP_MICROS:
        lambda us: _EPOCH_NAIVE + datetime.timedelta(microseconds=us),
}


def decoder_for(ctype, logical, raw=False):
    """The function (table_ptr, row, col, scratch) -> value of a column."""
    if ctype in ARRAY_DTYPES:
        return _array_decoder(ARRAY_DTYPES[ctype])
    base = {
        lib.FSTORE_TYPE_BOOLEAN: _dec_bool,
        lib.FSTORE_TYPE_INT: _dec_int,
        lib.FSTORE_TYPE_LONG: _dec_long,
        lib.FSTORE_TYPE_FLOAT: _dec_float,
        lib.FSTORE_TYPE_DOUBLE: _dec_double,
        lib.FSTORE_TYPE_STRING: _dec_str,
        lib.FSTORE_TYPE_BYTES: _dec_bytes,
        lib.FSTORE_TYPE_ENUM: _dec_str,
        lib.FSTORE_TYPE_FIXED: _dec_bytes,
    }[ctype]
    convert = None if raw else _LOGICAL_CONVERT.get(logical)
    return _logical(base, convert) if convert else base


# How get() turns column c of a row into a value (Table._plan).
PLAN_INT, PLAN_BOOL, PLAN_DOUBLE, PLAN_ENUM, PLAN_CONVERT, PLAN_DECODER = range(6)


def row_values(table, row, s, out):
    """Sets out[name] for every column of @p row: one C call reads the
    numeric scalars, Python reads strings, bytes and arrays."""
    n = len(table.columns)
    if s.cap < n:
        s.grow(n)
    tp = table._ptr
    rc = lib._fstore_py_row_scalars(tp, row, n, s.ivp, s.dvp, s.stp)
    if rc != 0:
        raise error_for(rc)
    ivl, dvl, st = s.iv.tolist(), s.dv.tolist(), s.st.tobytes()
    for name, c, how, arg in table._plan:
        if st[c] == 1:
            out[name] = None
        elif how == PLAN_INT:
            out[name] = ivl[c]
        elif how == PLAN_DOUBLE:
            out[name] = dvl[c]
        elif how == PLAN_BOOL:
            out[name] = ivl[c] != 0
        elif how == PLAN_ENUM:
            out[name] = arg[ivl[c]]
        elif how == PLAN_CONVERT:
            out[name] = arg(ivl[c])
        else:
            out[name] = arg(tp, row, c, s)
    return out


def _plan_for(ptr, col, symbols):
    ctype = lib.fstore_table_column_type(ptr, col)
    if ctype == lib.FSTORE_TYPE_BOOLEAN:
        return PLAN_BOOL, None
    if ctype in (lib.FSTORE_TYPE_INT, lib.FSTORE_TYPE_LONG):
        convert = _LOGICAL_CONVERT.get(lib.fstore_table_column_logical(ptr, col))
        return (PLAN_CONVERT, convert) if convert else (PLAN_INT, None)
    if ctype in (lib.FSTORE_TYPE_FLOAT, lib.FSTORE_TYPE_DOUBLE):
        return PLAN_DOUBLE, None
    if ctype == lib.FSTORE_TYPE_ENUM:
        return PLAN_ENUM, symbols
    return PLAN_DECODER, decoder_for(ctype, lib.fstore_table_column_logical(ptr, col))


def _cstr(p):
    return None if p == ffi.NULL else ffi.string(p).decode("utf-8")


class Table:
    """A table of an open store (from Store.create_table() or Store.table()).

    Attributes: name, schema (the serving schema JSON), format ("confluent"
    or "avro"), columns (a tuple of Column). The handle is owned by its store
    and is usable until the store closes.
    """

    __slots__ = ("name", "schema", "format", "columns", "_ptr", "_store", "_index",
                 "_decoders", "_plan", "_matrix_cols", "_col_cache", "__weakref__")

    def __init__(self, store, ptr):
        self._store = store
        self._ptr = ptr
        self.name = _cstr(lib.fstore_table_name(ptr))
        self.schema = _cstr(lib.fstore_table_schema(ptr))
        self.format = "avro" if lib.fstore_table_format(ptr) == lib.FSTORE_FORMAT_AVRO else "confluent"
        cols = []
        for i in range(lib.fstore_table_column_count(ptr)):
            ctype = lib.fstore_table_column_type(ptr, i)
            size = lib.fstore_table_column_size(ptr, i)
            symbols = ()
            if ctype == lib.FSTORE_TYPE_ENUM:
                symbols = tuple(_cstr(lib.fstore_table_enum_symbol(ptr, i, j)) for j in range(size))
                size = 0
            cols.append(Column(
                name=_cstr(lib.fstore_table_column_name(ptr, i)), index=i,
                type=TYPE_NAMES.get(ctype, str(ctype)),
                logical=LOGICAL_NAMES.get(lib.fstore_table_column_logical(ptr, i)),
                nullable=lib.fstore_table_column_nullable(ptr, i) == 1,
                size=size if ctype == lib.FSTORE_TYPE_FIXED else 0, symbols=symbols))
        self.columns = tuple(cols)
        self._index = {c.name: c.index for c in cols}
        self._decoders = tuple(
            (c.name, c.index, decoder_for(lib.fstore_table_column_type(ptr, c.index),
                                          lib.fstore_table_column_logical(ptr, c.index)))
            for c in cols)
        self._plan = tuple((c.name, c.index) + _plan_for(ptr, c.index, c.symbols) for c in cols)
        self._col_cache = {}
        self._matrix_cols = tuple(
            c.index for c in cols if lib.fstore_table_column_type(ptr, c.index) in MATRIX_TYPES)

    @property
    def column_names(self):
        """The column names in order."""
        return [c.name for c in self.columns]

    def column(self, col):
        """The Column for a name or index; raises NoColumnError."""
        return self.columns[self.column_index(col)]

    def column_index(self, col):
        """The index of column @p col (a name or an index); raises NoColumnError."""
        if isinstance(col, str):
            i = self._index.get(col)
            if i is None:
                raise NoColumnError(lib.FSTORE_ERR_NO_COLUMN,
                                    "table %r has no column %r" % (self.name, col))
            return i
        i = int(col)
        if not 0 <= i < len(self.columns):
            raise NoColumnError(lib.FSTORE_ERR_NO_COLUMN,
                                "table %r has no column %d" % (self.name, i))
        return i

    def column_array(self, columns, default):
        """(int[] cdata, n) for a list of column names/indexes, or for
        @p default when @p columns is None. Cached: callers pass the same
        column list again and again."""
        try:
            key = (None, tuple(default)) if columns is None else tuple(columns)
            hit = self._col_cache.get(key)
        except TypeError:  # unhashable entries
            key, hit = None, None
        if hit is not None:
            return hit
        if columns is None:
            idx = list(default)
        elif isinstance(columns, (str, int)):
            raise TypeError("columns must be a sequence of names or indexes")
        else:
            idx = [self.column_index(c) for c in columns]
        arr = ffi.new("int[]", max(len(idx), 1))
        for j, i in enumerate(idx):
            arr[j] = i
        if key is not None:
            if len(self._col_cache) >= 256:
                self._col_cache.clear()
            self._col_cache[key] = (arr, len(idx))
        return arr, len(idx)

    def __repr__(self):
        return "<fstore.Table %r: %s>" % (
            self.name, ", ".join("%s %s" % (c.name, c.type) for c in self.columns))
