"""Store, readers, row views and batches over the libfstore C API."""

import atexit
import io
import json
import logging
import os
import threading
import time
import weakref

import numpy as np

from ._errors import (ColumnTypeError, Error, StateError, check, error_for,
                      errstr_text)
from ._fstore_cffi import ffi, lib
from ._keys import KeyArrays, key_bytes
from ._table import Scratch, Table, row_values

__all__ = ["Store", "Reader", "RowView", "Row", "Batch", "open", "restore", "verify"]

_ERRSTR = 512
# Opening (which may restore store.seed), snapshot and restore: their
# messages name a path or URL, nested in another message for a seed.
_ERRSTR_LONG = 2048
_OK = lib.FSTORE_OK
_NOT_FOUND = lib.FSTORE_NOT_FOUND
_NULL = lib.FSTORE_NULL
# wait_ready() waits in slices this long so that Ctrl-C and close() get a
# look in between.
_WAIT_SLICE_MS = 200

# Every store open in this process, to stop tailers before the interpreter
# goes away and to disown handles in a forked child.
_OPEN = weakref.WeakSet()
# Bumped in a forked child: handles opened before belong to the parent.
_FORK_GEN = [0]


def _conf_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _schema_text(schema):
    return schema if isinstance(schema, str) else json.dumps(schema)


def _closed_error():
    return StateError(lib.FSTORE_ERR_STATE, "the store is closed")


class Row(dict):
    """The columns of one row as a dict {column: value}, with the row's Kafka
    metadata as attributes: key (bytes), timestamp (ms since the epoch),
    partition, offset and schema_id (the writer schema id, -1 for raw Avro).

    A Row is a copy: it stays valid after the lookup that made it."""

    __slots__ = ("key", "timestamp", "partition", "offset", "schema_id")

    def __repr__(self):
        return "Row(%s, key=%r, partition=%d, offset=%d, timestamp=%d)" % (
            dict.__repr__(self), self.key, self.partition, self.offset, self.timestamp)

    def __reduce__(self):
        return (_make_row, (dict(self), self.key, self.timestamp, self.partition,
                            self.offset, self.schema_id))


def _make_row(values, key, timestamp, partition, offset, schema_id):
    r = Row(values)
    r.key, r.timestamp, r.partition, r.offset, r.schema_id = (
        key, timestamp, partition, offset, schema_id)
    return r


def _row_to_dict(table, row, scratch, key):
    out = row_values(table, row, scratch, Row())
    out.key = key
    out.timestamp = lib.fstore_row_timestamp(row)
    out.partition = lib.fstore_row_partition(row)
    out.offset = lib.fstore_row_offset(row)
    out.schema_id = lib.fstore_row_schema_id(row)
    return out


class _ReaderHandle:
    """One fstore_reader_t with its scratch out-parameters. Owned by a thread
    (the store's per-thread reader) or by a Reader object."""

    __slots__ = ("ptr", "scratch", "store_ref", "pid", "gen", "buffers", "__weakref__")

    def __init__(self, store):
        readerp = ffi.new("fstore_reader_t **")
        check(lib.fstore_reader_new(store._ptr, readerp))
        self.ptr = readerp[0]
        self.scratch = Scratch()
        self.store_ref = weakref.ref(store)
        self.pid = os.getpid()
        self.gen = 0  # bumped whenever row views it returned become invalid
        self.buffers = []  # memoryviews into the map from RowView.buffer()

    def invalidate(self):
        """Row views and buffers taken so far become invalid."""
        self.gen += 1
        buffers, self.buffers = self.buffers, []
        for mv in buffers:
            try:
                mv.release()
            except (BufferError, ValueError):
                pass  # exported (e.g. to numpy): documented as the caller's risk

    def errmsg(self):
        return ffi.string(lib.fstore_reader_errmsg(self.ptr)).decode("utf-8", "replace") or None

    def fail(self, rc):
        raise error_for(rc, self.errmsg())

    def destroy(self):
        """Destroys the C reader; the caller holds the store's lock."""
        ptr, self.ptr = self.ptr, None
        self.invalidate()
        if ptr is not None and self.pid == os.getpid():
            lib.fstore_reader_destroy(ptr)

    def __del__(self):
        store = self.store_ref()
        if self.ptr is None:
            return
        if store is None or self.pid != os.getpid():
            self.ptr = None
            return
        with store._lock:
            if self.ptr is not None and store._ptr is not None:
                store._readers.discard(self)
                self.destroy()


@ffi.def_extern()
def _fstore_py_log(opaque, level, msg):
    try:
        fn = ffi.from_handle(opaque)
        fn(level, ffi.string(msg).decode("utf-8", "replace"))
    except Exception:  # noqa: BLE001 - a log sink must never break the tailer
        pass


_SYSLOG_TO_LOGGING = {0: logging.CRITICAL, 1: logging.CRITICAL, 2: logging.CRITICAL,
                      3: logging.ERROR, 4: logging.WARNING, 5: logging.INFO,
                      6: logging.INFO, 7: logging.DEBUG}


def _logger_sink(logger):
    def sink(level, msg):
        logger.log(_SYSLOG_TO_LOGGING.get(level, logging.INFO), "%s", msg)
    return sink


def new_conf(props, log):
    """A new fstore_conf_t holding @p props ({name: value}; values go
    through str(), booleans become "true"/"false") and the log sink @p log
    (None, a logging.Logger or a callable(level, message)). Returns (conf,
    handle): the caller destroys conf, and keeps handle alive for as long as
    anything made from conf may log (None without a sink)."""
    handle = None
    if log is not None:
        sink = _logger_sink(log) if isinstance(log, logging.Logger) else log
        if not callable(sink):
            raise TypeError("log must be None, a logging.Logger or a callable")
        handle = ffi.new_handle(sink)
    c = lib.fstore_conf_new()
    if c == ffi.NULL:
        raise error_for(lib.FSTORE_ERR_NO_MEMORY)
    try:
        errbuf = ffi.new("char[]", _ERRSTR)
        for name, value in props.items():
            check(lib.fstore_conf_set(c, str(name).encode(), _conf_value(value).encode(),
                                      errbuf, _ERRSTR), errbuf)
        if handle is not None:
            check(lib.fstore_conf_set_log_cb(c, lib._fstore_py_log, handle))
    except BaseException:
        lib.fstore_conf_destroy(c)
        raise
    return c, handle


class Store:
    """An open fstore store: a directory holding an LMDB environment of
    feature tables.

    Store(path, conf=None, read_only=False, log=None)

    - conf: dict of fstore properties, e.g. {"kafka.bootstrap.servers":
      "127.0.0.1:9092", "tail.batch.max_ms": "5", "store.map_size":
      1 << 30} (values are converted with str(); booleans become
      "true"/"false"). See docs/configuration.md. {"store.seed": SRC}
      (a snapshot file, "-" or an http(s) URL, as for fstore.restore)
      restores SRC first when @p path holds no store, so tailing resumes at
      the snapshot's offsets; it is ignored when a store is there. A bad
      seed raises the restore's error ("seeding PATH (store.seed): ...")
      and leaves no store.
    - read_only: open without writing (sets store.read_only); the store must
      exist (NoStoreError otherwise).
    - log: where the library's log lines go: None (stderr), a
      logging.Logger, or a callable(level, message) with syslog levels
      (3 error, 4 warning, 6 info, 7 debug). It runs on the thread that logs,
      usually the tailer thread, and must not call back into the store.

    A Store may be shared by every thread of the process. Lookups (get,
    get_batch, get_arrow, ...) use a reader per thread, created on first use
    and reset after every call, so each call sees the newest committed data
    and nothing pins old pages between calls. After fork() a child must open
    the store again: a Store from the parent raises StateError there.

    Use it as a context manager, or call close(); closing stops the tailer.
    """

    def __init__(self, path, conf=None, read_only=False, log=None):
        self._ptr = None
        self._lock = threading.RLock()
        self._idle = threading.Condition(self._lock)
        self._active = 0
        self._closing = False
        self._pid = os.getpid()
        self._fork_gen = _FORK_GEN[0]
        self._tables = {}
        self._local = threading.local()
        self._readers = weakref.WeakSet()
        self._batch = None
        self._log_handle = None
        self.path = os.fspath(path)

        props = dict(conf or {})
        if read_only:
            props["store.read_only"] = True
        c, self._log_handle = new_conf(props, log)
        errbuf = ffi.new("char[]", _ERRSTR_LONG)
        try:
            storep = ffi.new("fstore_store_t **")
            check(lib.fstore_store_open(os.fsencode(self.path), c, storep, errbuf,
                                        _ERRSTR_LONG), errbuf)
        finally:
            lib.fstore_conf_destroy(c)
        self._ptr = storep[0]
        _OPEN.add(self)

    # -- lifetime -----------------------------------------------------------

    def _enter(self):
        """Marks one call in progress; raises when the store is closed."""
        with self._lock:
            if self._ptr is None or self._closing:
                raise _closed_error()
            if self._fork_gen != _FORK_GEN[0]:
                raise StateError(lib.FSTORE_ERR_STATE,
                                 "this store was opened before fork(): open it again in this process")
            self._active += 1
            return self._ptr

    def _leave(self):
        with self._lock:
            self._active -= 1
            if self._closing and self._active == 0:
                self._idle.notify_all()

    @property
    def closed(self):
        """True once close() was called."""
        return self._ptr is None

    @property
    def read_only(self):
        """True when the store was opened read-only."""
        ptr = self._enter()
        try:
            return bool(lib.fstore_store_read_only(ptr))
        finally:
            self._leave()

    def close(self):
        """Stops the tailer, aborts an open batch, destroys every reader and
        closes the store. Waits for calls in progress in other threads.
        Calling it again is fine; any later use raises StateError."""
        with self._lock:
            if self._ptr is None or self._closing:
                return
            if self._pid != os.getpid():
                # A forked child never closes its parent's environment.
                self._ptr = None
                return
            self._closing = True
            while self._active:
                self._idle.wait()
            for handle in list(self._readers):
                handle.destroy()
            self._readers = weakref.WeakSet()
            self._local = threading.local()
            if self._batch is not None:
                self._batch._abort_locked()
            for t in self._tables.values():
                t._ptr = None
            self._tables = {}
            ptr = self._ptr
        try:
            lib.fstore_store_close(ptr)  # joins the tailer; the GIL is released
        finally:
            with self._lock:
                self._ptr = None
                self._closing = False
                self._log_handle = None
            _OPEN.discard(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            if getattr(self, "_ptr", None) is not None:
                self.close()
        except Exception:  # noqa: BLE001 - never raise from a finaliser
            pass

    def __repr__(self):
        try:
            state = "read-only" if self.read_only else "writable"
        except Error:
            state = "closed"
        return "<fstore.Store %r (%s)>" % (self.path, state)

    # -- tables and schemas -------------------------------------------------

    def create_table(self, name, schema, format="confluent", avro_schema_id=-1):
        """Creates table @p name with serving schema @p schema (an Avro record
        as JSON text or a dict), or opens it when it exists with the same
        schema. format: "confluent" (magic byte, 4-byte schema id, Avro) or
        "avro" (raw Avro binary written with schema id @p avro_schema_id, or
        with the serving schema itself when -1). Returns the Table.
        Raises SchemaError (invalid schema, or a different one exists),
        ReadOnlyError."""
        fmt = {"confluent": lib.FSTORE_FORMAT_CONFLUENT, "avro": lib.FSTORE_FORMAT_AVRO}.get(format)
        if fmt is None:
            raise ValueError("format must be 'confluent' or 'avro', not %r" % (format,))
        ptr = self._enter()
        try:
            tablep = ffi.new("const fstore_table_t **")
            errbuf = ffi.new("char[]", _ERRSTR)
            check(lib.fstore_table_create(ptr, name.encode(), _schema_text(schema).encode(), fmt,
                                          avro_schema_id, tablep, errbuf, _ERRSTR), errbuf)
            return self._table_for(tablep[0])
        finally:
            self._leave()

    def _table_for(self, tptr):
        with self._lock:
            name = ffi.string(lib.fstore_table_name(tptr)).decode()
            t = self._tables.get(name)
            if t is None or t._ptr != tptr:
                t = Table(self, tptr)
                self._tables[name] = t
            return t

    def table(self, name):
        """The Table called @p name (also one another process created since
        this store was opened). Raises NoTableError."""
        t = self._tables.get(name)
        if t is not None and t._ptr is not None:
            return t
        ptr = self._enter()
        try:
            tablep = ffi.new("const fstore_table_t **")
            rc = lib.fstore_table_open(ptr, name.encode(), tablep)
            if rc != _OK:
                raise error_for(rc, "no table %r in store %s" % (name, self.path)
                                if rc == lib.FSTORE_ERR_NO_TABLE else None)
            return self._table_for(tablep[0])
        finally:
            self._leave()

    def tables(self):
        """The Tables this handle knows, in creation order."""
        ptr = self._enter()
        try:
            return [self._table_for(lib.fstore_table_at(ptr, i))
                    for i in range(lib.fstore_table_count(ptr))]
        finally:
            self._leave()

    def _resolve(self, table):
        if isinstance(table, Table):
            if table._store is not self or table._ptr is None:
                if self._ptr is None:
                    raise _closed_error()
                raise StateError(lib.FSTORE_ERR_STATE, "table %r belongs to another or a closed store"
                                 % table.name)
            return table
        return self.table(table)

    def register_schema(self, schema_id, schema):
        """Registers writer schema @p schema (JSON text or dict) under Schema
        Registry id @p schema_id in the store, so Confluent-framed records
        carrying that id decode without a registry. Raises DecodeError
        (invalid Avro), SchemaError (a different schema has that id),
        ReadOnlyError."""
        ptr = self._enter()
        try:
            errbuf = ffi.new("char[]", _ERRSTR)
            check(lib.fstore_schema_register(ptr, schema_id, _schema_text(schema).encode(),
                                             errbuf, _ERRSTR), errbuf)
        finally:
            self._leave()

    # -- writing ------------------------------------------------------------

    def batch(self):
        """Starts a Batch: upserts, deletes and offsets applied together in
        one transaction by commit(). Use it as a context manager: it commits
        when the block ends normally and aborts on an exception. One batch may
        be open per store. Raises ReadOnlyError, StateError."""
        return Batch(self)

    def apply(self, table, records):
        """Applies @p records to @p table in one transaction and returns how
        many were queued. Each record is (key, value) or (key, value,
        partition, offset) or (key, value, partition, offset, timestamp_ms);
        value is the encoded Kafka record value (framed per the table's
        format), or None for a tombstone. Offsets default to the next offset
        of the partition. Any failure (e.g. DecodeError) aborts everything."""
        t = self._resolve(table)
        with self.batch() as b:
            for rec in records:
                b.put(t, *rec)
            return len(b)

    # -- reading ------------------------------------------------------------

    def _thread_reader(self):
        h = getattr(self._local, "h", None)
        if h is None or h.ptr is None:
            with self._lock:
                h = _ReaderHandle(self)
                self._readers.add(h)
            self._local.h = h
        return h

    def reader(self):
        """A Reader for zero-copy row views over one snapshot, for the
        calling thread. Use it as a context manager (it closes on exit)."""
        return Reader(self)

    def get(self, table, key):
        """The row of @p key (str or bytes) in @p table as a Row (a dict of
        column values with key/timestamp/partition/offset/schema_id
        attributes), or None when the key has no row. Null columns are None,
        array columns numpy arrays, date/time/timestamp columns datetime
        objects. Raises NoTableError, InvalidKeyError (empty key)."""
        t = self._resolve(table)
        return self._with_row(t, key, lambda row, s, k: _row_to_dict(t, row, s, k))

    def _with_row(self, t, key, fn):
        """Looks up @p key in table @p t on this thread's reader and returns
        fn(row, scratch, key_bytes) while the row view is valid, or None when
        the key has no row. The reader is reset afterwards."""
        k = key_bytes(key)
        self._enter()
        try:
            h = self._thread_reader()
            try:
                s = h.scratch
                rc = lib.fstore_get(h.ptr, t._ptr, k, len(k), s.rowp)
                if rc == _NOT_FOUND:
                    return None
                if rc != _OK:
                    h.fail(rc)
                return fn(s.rowp[0], s, k)
            finally:
                lib.fstore_reader_reset(h.ptr)
        finally:
            self._leave()

    def get_array(self, table, key, column):
        """Array column @p column of @p key as a new float32 numpy array
        (converted from the stored element type), or None when the key has
        no row or the value is null. Raises ColumnTypeError for a column that
        is not an array."""
        t = self._resolve(table)
        col = t.column_index(column)
        return self._with_row(t, key, lambda row, s, k: _array_float(t, row, col, s))

    def get_batch(self, table, keys, columns=None, out=None, found=None):
        """Looks up @p keys and returns (matrix, found): a float32 matrix with
        one row per key and one column per entry of @p columns (names or
        indexes; default: every boolean, int, long, float, double and enum
        column), filled by libfstore straight into the numpy buffer, and a
        bool array saying which keys have a row. Missing keys and null values
        are NaN; booleans 0/1; enums their symbol index.

        keys: a list of str/bytes, or a numpy array of dtype 'S' (fixed-width
        bytes; trailing NUL bytes are not part of a key), 'U' or object.
        out: optional float32 array of shape (len(keys), len(columns)) to fill
        instead of a new one (rows may be strided, e.g. a slice of a wider
        matrix); found: optional bool array of len(keys).
        Raises ColumnTypeError (string, bytes, fixed or array column),
        NoColumnError, InvalidKeyError (an empty key)."""
        t = self._resolve(table)
        cols, ncols = t.column_array(columns, t._matrix_cols)
        if columns is None and ncols == 0:
            raise ColumnTypeError(lib.FSTORE_ERR_TYPE,
                                  "table %r has no numeric column for a matrix" % t.name)
        ka = KeyArrays(keys)
        out, stride = _matrix_out(out, ka.n, ncols)
        found = _found_out(found, ka.n)
        if ka.n == 0:
            return out, found
        self._enter()
        try:
            h = self._thread_reader()
            try:
                rc = lib.fstore_get_batch(h.ptr, t._ptr, ka.n, ka.ptrs, ka.lens, cols, ncols,
                                          _float_ptr(out), stride, _u8_ptr(found))
                if rc != _OK:
                    h.fail(rc)
            finally:
                lib.fstore_reader_reset(h.ptr)
        finally:
            self._leave()
        return out, found

    def get_arrow(self, table, keys, columns=None):
        """Looks up @p keys and returns a pyarrow.RecordBatch with one row per
        key: "key" (binary), "found" (bool), then each of @p columns (names or
        indexes; default every column) typed as the column (strings and enum
        symbols utf8, arrays lists, dates date32, timestamps timestamp). Missing
        keys give nulls. The batch is imported through the Arrow C Data
        Interface without a copy: pyarrow owns and releases the buffers
        libfstore exported. .to_pandas() turns it into a DataFrame.
        Needs pyarrow."""
        t = self._resolve(table)
        pa = _pyarrow()
        cols, ncols = t.column_array(columns, range(len(t.columns)))
        ka = KeyArrays(keys)
        self._enter()
        try:
            h = self._thread_reader()
            try:
                return _arrow_batch(pa, h, t, ka, cols, ncols)
            finally:
                lib.fstore_reader_reset(h.ptr)
        finally:
            self._leave()

    def row_count(self, table):
        """The number of rows of @p table."""
        t = self._resolve(table)
        self._enter()
        try:
            h = self._thread_reader()
            try:
                return _row_count(h, t)
            finally:
                lib.fstore_reader_reset(h.ptr)
        finally:
            self._leave()

    def offsets(self, table):
        """{partition: offset} of the last Kafka offset applied to @p table
        per partition (the offsets its rows reflect)."""
        t = self._resolve(table)
        self._enter()
        try:
            h = self._thread_reader()
            try:
                return _offsets(h, t)
            finally:
                lib.fstore_reader_reset(h.ptr)
        finally:
            self._leave()

    # -- tailing ------------------------------------------------------------

    def tail(self, table, topic=None, partitions=None):
        """Adds @p table, fed by Kafka topic @p topic (default: the table's
        name), to the store's tailer. partitions: None for every partition
        (also ones added later), a list of ints, or a string like "0,2-5".
        Needs a writable store opened with kafka.bootstrap.servers.
        Raises ReadOnlyError, StateError (already running or already added),
        ConfError (bad partition list)."""
        t = self._resolve(table)
        if partitions is not None and not isinstance(partitions, str):
            partitions = ",".join(str(int(p)) for p in partitions)
        ptr = self._enter()
        try:
            errbuf = ffi.new("char[]", _ERRSTR)
            check(lib.fstore_tail_add(ptr, t._ptr, (topic or t.name).encode(),
                                      partitions.encode() if partitions is not None else ffi.NULL,
                                      errbuf, _ERRSTR), errbuf)
        finally:
            self._leave()

    def start(self):
        """Starts the background tailer thread (it first captures the end
        offset of every assigned partition). Raises ConfError (no
        kafka.bootstrap.servers or a refused Kafka property), StateError,
        KafkaError."""
        ptr = self._enter()
        try:
            errbuf = ffi.new("char[]", _ERRSTR)
            check(lib.fstore_tail_start(ptr, errbuf, _ERRSTR), errbuf)
        finally:
            self._leave()

    def wait_ready(self, timeout=None):
        """Waits until the tailer has caught up with the end offsets captured
        at start (bootstrap complete). timeout: seconds, None to wait without
        limit. Returns True when ready, False when the timeout passed (as
        threading.Event.wait). The GIL is released while waiting. Raises the
        tailer's error when it stopped on one, StateError when not started."""
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        while True:
            if deadline is None:
                slice_ms = _WAIT_SLICE_MS
            else:
                left = deadline - time.monotonic()
                slice_ms = max(0, min(_WAIT_SLICE_MS, int(left * 1000 + 0.999)))
            ptr = self._enter()
            try:
                rc = lib.fstore_tail_wait_ready(ptr, slice_ms)
            finally:
                self._leave()
            if rc == _OK:
                return True
            if rc != lib.FSTORE_ERR_TIMED_OUT:
                err = self.tail_error()
                raise err if err is not None else error_for(
                    rc, "the tailer is not running: call tail() and start() first")
            if deadline is not None and time.monotonic() >= deadline:
                return False

    def stop(self):
        """Stops the tailer: applies what was consumed and joins its thread
        (the GIL is released meanwhile). Fine when it is not running. Raises
        the error that stopped the tailer earlier, if any."""
        ptr = self._enter()
        try:
            rc = lib.fstore_tail_stop(ptr)
        finally:
            self._leave()
        if rc != _OK:
            err = self.tail_error()
            raise err if err is not None else error_for(rc)

    def tail_error(self):
        """The Error that stopped the tailer, or None."""
        ptr = self._enter()
        try:
            buf = ffi.new("char[]", 1024)
            rc = lib.fstore_tail_error(ptr, buf, 1024)
        finally:
            self._leave()
        return None if rc == _OK else error_for(rc, errstr_text(buf))

    def stats(self):
        """Statistics as a dict (docs/stats.md): per table and partition the
        applied and end offsets, lag, last record timestamp, freshness
        percentiles and counters. Live in the tailing process; elsewhere what
        the tailer last recorded in the store."""
        ptr = self._enter()
        try:
            jp = ffi.new("char **")
            check(lib.fstore_stats_json(ptr, jp))
            try:
                text = ffi.string(jp[0])
            finally:
                lib.fstore_free(jp[0])
        finally:
            self._leave()
        return json.loads(text)


    def verify(self, progress=None):
        """Checks the whole store as a reader, as `fstore verify` does (see
        docs/python.md): every row of every table (header, fit to the
        table's schema, body checksum, key, offset against its partition's
        stored offset), every metadata entry, LMDB's key order and page
        accounting. Returns the report as a dict: "clean" (bool),
        "rows_checked", "damaged_rows", "damage_count", "tables", "lmdb" and
        "damage", a list of {"kind", "table", "key", "what", "expected",
        "found"} ("table" and "key" when they apply; keys shown printable and
        escaped). Damage is not an exception: read report["clean"].

        progress: None, or a callable(rows_checked, rows_total) called every
        few thousand rows on this thread. An exception it raises (or Ctrl-C
        during the check) stops the check and is raised here. The GIL is
        released while the check runs. Raises fstore.Error when the check
        cannot run."""
        state = [progress, None]
        handle = ffi.new_handle(state)
        rp = ffi.new("char **")
        errbuf = ffi.new("char[]", _ERRSTR)
        ptr = self._enter()
        try:
            rc = lib.fstore_verify(ptr, lib._fstore_py_verify_progress, handle, rp,
                                   errbuf, _ERRSTR)
            text = None
            if rp[0] != ffi.NULL:
                try:
                    text = ffi.string(rp[0])
                finally:
                    lib.fstore_free(rp[0])
        finally:
            self._leave()
        if state[1] is not None:
            raise state[1]
        if text is None:
            check(rc, errbuf)
            raise error_for(rc, errstr_text(errbuf))
        return json.loads(text)

    def snapshot(self, target):
        """Writes a consistent point-in-time copy of the store (every table,
        the schemas and the offsets of one instant), zstd-compressed and
        checksummed; a running tailer keeps writing meanwhile.

        target is either
        - a file path (str, bytes or os.PathLike): written under a temporary
          name, synced and renamed, so the path never holds a partial
          snapshot ("-" is a file of that name, as in the C API);
        - a binary file object with a real file descriptor (fileno()): a
          file opened "wb" or "ab", sys.stdout.buffer, a pipe, a socket's
          makefile("wb"). It is flushed, then the snapshot streams to its
          descriptor from its position (the format needs no seeking); the
          object stays open, positioned after the snapshot when seekable.
          Nothing is synced. A snapshot that fails midway leaves a partial
          stream there, which restore refuses.

        Raises TypeError for another kind of target (io.BytesIO has no
        descriptor: write to a file or a pipe), fstore.StorageError when
        the snapshot cannot be written."""
        fd = None if _is_path(target) else _binary_fd(target, "snapshot target")
        if fd is not None:
            _sync_position(target, fd)
        errbuf = ffi.new("char[]", _ERRSTR_LONG)
        ptr = self._enter()
        try:
            if fd is None:
                rc = lib.fstore_snapshot(ptr, os.fsencode(os.fspath(target)), errbuf,
                                         _ERRSTR_LONG)
            else:
                rc = lib.fstore_snapshot_fd(ptr, fd, errbuf, _ERRSTR_LONG)
        finally:
            self._leave()
        if fd is not None:
            _follow_position(target, fd)
        check(rc, errbuf)


@ffi.def_extern()
def _fstore_py_verify_progress(opaque, rows_checked, rows_total):
    # state: [progress callable or None, the exception that stopped the check]
    state = ffi.from_handle(opaque)
    if state[1] is not None:
        return 1
    try:
        if state[0] is not None:
            state[0](rows_checked, rows_total)
        return 0
    except BaseException as e:  # noqa: BLE001 - Ctrl-C too: stop, raise in verify()
        state[1] = e
        return 1


def _is_path(x):
    return isinstance(x, (str, bytes, os.PathLike))


def _binary_fd(f, what):
    """The file descriptor under binary file object @p f; TypeError when
    @p f is a text stream or has no descriptor."""
    if isinstance(f, io.TextIOBase):
        raise TypeError("%s: %r is a text stream; give a binary one (opened with \"b\", "
                        "or sys.stdout.buffer / sys.stdin.buffer)" % (what, f))
    fileno = getattr(f, "fileno", None)
    if fileno is None:
        raise TypeError("%s must be a path or a binary file object with fileno(), not %s"
                        % (what, type(f).__name__))
    try:
        return fileno()
    except (io.UnsupportedOperation, OSError, ValueError) as e:
        raise TypeError("%s: %r has no file descriptor (%s); write to or read from a "
                        "file, a pipe or a socket" % (what, f, e)) from None


def _sync_position(f, fd):
    """Before the C library reads or writes fd: what @p f buffered for
    writing reaches fd, and fd stands where @p f does (a buffered reader
    may have read ahead of its position)."""
    flush = getattr(f, "flush", None)
    if flush is not None and getattr(f, "writable", lambda: False)():
        flush()
    if getattr(f, "seekable", lambda: False)():
        os.lseek(fd, f.tell(), os.SEEK_SET)


def _follow_position(f, fd):
    """After the C library read or wrote fd: @p f moves to where fd is."""
    if getattr(f, "seekable", lambda: False)():
        try:
            f.seek(os.lseek(fd, 0, os.SEEK_CUR))
        except OSError:
            pass


def restore(source, path, conf=None, *, log=None):
    """Creates the store in directory @p path from a snapshot, read once,
    front to back, as it arrives.

    source is either
    - a file path (str, bytes or os.PathLike);
    - "-": standard input (file descriptor 0);
    - an "http://" or "https://" URL, streamed with libcurl, never held
      whole; an HTTP error status (400 or more) fails. Credentials in the URL
      ("https://user:password@host/...") go as HTTP basic authentication;
    - a binary file object with a real file descriptor (fileno()): a file
      opened "rb", sys.stdin.buffer, a subprocess's stdout, a socket's
      makefile("rb"). It is read from its position to its end and left
      open. A pipe must not have been read from in Python (what its
      buffer holds is not seen).

    path must not exist, or be an empty directory (a mount point will do).
    Every entry is checked as it is read (version, each row against its
    table, key order, entry count, checksum); the store is built inside
    @p path and moved into place only once all of it verified, so @p path
    holds a complete store or none. Tailing the new store resumes at the
    snapshot's offsets.

    conf: dict of store properties for the new store (store.file_mode,
    store.dir_mode, store.map_size.max, ...), as for Store. log: where the
    library's log lines go, as for Store (with {"log.level": 6} a success
    logs the source, its size and the time it took).

    Raises fstore.StorageError: e.name is "FSTORE_ERR_CORRUPT" for a
    damaged, truncated or foreign snapshot, "FSTORE_ERR_VERSION" for one of
    an unknown format, "FSTORE_ERR_IO" for an unreadable source, an HTTP
    error or @p path not empty. On any failure nothing was restored: a
    directory restore created is removed, one that existed stays empty.
    Messages show a URL without its user:password@ and query string.
    TypeError for a source of another kind. The GIL is released meanwhile
    (other threads run); Ctrl-C is seen only once the call returned."""
    fd = None
    if not _is_path(source):
        fd = _binary_fd(source, "restore source")
        _sync_position(source, fd)
    c, handle = new_conf(dict(conf or {}), log)
    errbuf = ffi.new("char[]", _ERRSTR_LONG)
    try:
        dst = os.fsencode(os.fspath(path))
        if fd is None:
            src = source if isinstance(source, bytes) else os.fsencode(os.fspath(source))
            rc = lib.fstore_restore(src, dst, c, errbuf, _ERRSTR_LONG)
        else:
            rc = lib.fstore_restore_fd(fd, dst, c, errbuf, _ERRSTR_LONG)
    finally:
        lib.fstore_conf_destroy(c)
        handle = None  # the log sink lived as long as the call
    if fd is not None:
        _follow_position(source, fd)
    check(rc, errbuf)


def verify(path, progress=None):
    """Opens the store at @p path read-only (a tailer may keep writing it),
    checks it as Store.verify() does, closes it and returns the report."""
    with Store(path, read_only=True) as s:
        return s.verify(progress)


def open(path, conf=None, *, read_only=False, log=None, **props):  # noqa: A001 - fstore.open
    """Opens the store at @p path: fstore.open("features.db",
    read_only=True) or fstore.open(path, {"kafka.bootstrap.servers": B}).
    Properties may also be given as keyword arguments when their names are
    identifiers. See Store."""
    merged = dict(conf or {})
    merged.update(props)
    return Store(path, merged, read_only=read_only, log=log)


# -- helpers shared by Store and Reader ---------------------------------------

def _pyarrow():
    try:
        import pyarrow
    except ImportError as e:
        raise ImportError("get_arrow needs pyarrow: pip install pyarrow") from e
    return pyarrow


def _matrix_out(out, n, ncols):
    if out is None:
        return np.empty((n, ncols), dtype=np.float32), ncols
    if not isinstance(out, np.ndarray) or out.dtype != np.float32 or out.ndim != 2:
        raise TypeError("out must be a 2-D float32 numpy array")
    if out.shape != (n, ncols):
        raise ValueError("out has shape %s, expected %s" % (out.shape, (n, ncols)))
    if not out.flags.writeable:
        raise ValueError("out is read-only")
    if ncols > 0 and out.strides[1] != 4 or n > 0 and (out.strides[0] % 4 or out.strides[0] < 4 * ncols):
        raise ValueError("out must have contiguous rows (a row stride of whole floats)")
    stride = out.strides[0] // 4 if n > 0 else ncols
    return out, max(stride, ncols)


def _float_ptr(out):
    """float * to the first element of @p out, without a copy."""
    if out.flags.c_contiguous:
        return ffi.cast("float *", ffi.from_buffer(out, require_writable=True))
    # Strided rows (a slice of a wider matrix): the address of element 0.
    return ffi.cast("float *", out.__array_interface__["data"][0])


def _u8_ptr(found):
    return ffi.cast("uint8_t *", ffi.from_buffer(found, require_writable=True))


def _found_out(found, n):
    if found is None:
        return np.empty(n, dtype=np.bool_)
    if not isinstance(found, np.ndarray) or found.dtype != np.bool_ or found.shape != (n,) \
            or not found.flags.c_contiguous or not found.flags.writeable:
        raise TypeError("found must be a writable contiguous bool array of %d elements" % n)
    return found


def _array_float(t, row, col, s):
    rc = lib.fstore_row_array(t._ptr, row, col, s.vdata, s.len)
    if rc == _NULL:
        return None
    if rc != _OK:
        raise error_for(rc, "column %r of table %r is %s, not an array" % (
            t.columns[col].name, t.name, t.columns[col].type) if rc == lib.FSTORE_ERR_TYPE else None)
    n = s.len[0]
    arr = np.empty(n, dtype=np.float32)
    rc = lib.fstore_row_array_float(t._ptr, row, col, ffi.cast("float *", ffi.from_buffer(arr)),
                                    n, s.len)
    check(rc)
    return arr


def _arrow_batch(pa, h, t, ka, cols, ncols):
    schema = ffi.new("struct ArrowSchema *")
    array = ffi.new("struct ArrowArray *")
    rc = lib.fstore_get_batch_arrow(h.ptr, t._ptr, ka.n, ka.ptrs, ka.lens, cols, ncols,
                                    schema, array)
    if rc != _OK:
        h.fail(rc)
    try:
        # pyarrow moves both structs (marking them released) and from then on
        # owns the exported buffers; nothing is copied.
        return pa.RecordBatch._import_from_c(int(ffi.cast("uintptr_t", array)),
                                             int(ffi.cast("uintptr_t", schema)))
    finally:
        # Only reached with a live struct when the import failed.
        if array.release != ffi.NULL:
            array.release(array)
        if schema.release != ffi.NULL:
            schema.release(schema)


def _row_count(h, t):
    n = ffi.new("uint64_t *")
    rc = lib.fstore_reader_row_count(h.ptr, t._ptr, n)
    if rc != _OK:
        h.fail(rc)
    return int(n[0])


def _offsets(h, t):
    count = ffi.new("size_t *")
    rc = lib.fstore_reader_offsets(h.ptr, t._ptr, ffi.NULL, ffi.NULL, 0, count)
    if rc != _OK:
        h.fail(rc)
    while True:
        cap = count[0]
        parts = ffi.new("int32_t[]", max(cap, 1))
        offs = ffi.new("int64_t[]", max(cap, 1))
        rc = lib.fstore_reader_offsets(h.ptr, t._ptr, parts, offs, cap, count)
        if rc != _OK:
            h.fail(rc)
        if count[0] <= cap:
            return {parts[i]: offs[i] for i in range(count[0])}


# -- explicit readers and zero-copy row views ---------------------------------

class Reader:
    """A reader over one consistent snapshot of the store, for zero-copy row
    views (Store.reader()).

    get() returns RowView objects that read their columns straight out of the
    memory map when accessed. They are valid until the reader is refreshed,
    reset or closed (or the store closes); using one after that raises
    StateError instead of reading freed pages. The snapshot is taken at the
    first lookup and kept until refresh()/reset(): a long-lived snapshot pins
    old pages, so refresh between requests.

    One thread at a time: calls are serialised by a lock.
    """

    def __init__(self, store):
        self._store = store
        self._mutex = threading.Lock()
        store._enter()
        try:
            with store._lock:
                self._h = _ReaderHandle(store)
                store._readers.add(self._h)
        finally:
            store._leave()

    def _begin(self):
        self._store._enter()
        if not self._mutex.acquire(blocking=False):
            self._store._leave()
            raise StateError(lib.FSTORE_ERR_STATE, "a Reader is used by one thread at a time")
        if self._h.ptr is None:
            self._end()
            raise StateError(lib.FSTORE_ERR_STATE, "the reader is closed")
        return self._h

    def _end(self):
        self._mutex.release()
        self._store._leave()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def closed(self):
        return self._h.ptr is None

    def close(self):
        """Destroys the reader; its row views become invalid. Fine twice."""
        store = self._store
        with self._mutex:
            with store._lock:
                if self._h.ptr is not None:
                    store._readers.discard(self._h)
                    self._h.destroy()

    def refresh(self):
        """Moves to the newest committed snapshot; row views become invalid."""
        h = self._begin()
        try:
            h.invalidate()
            rc = lib.fstore_reader_refresh(h.ptr)
            if rc != _OK:
                h.fail(rc)
        finally:
            self._end()

    def reset(self):
        """Releases the snapshot until the next lookup; row views become invalid."""
        h = self._begin()
        try:
            h.invalidate()
            lib.fstore_reader_reset(h.ptr)
        finally:
            self._end()

    def get(self, table, key):
        """A RowView of @p key in @p table, or None."""
        t = self._store._resolve(table)
        k = key_bytes(key)
        h = self._begin()
        try:
            rowp = ffi.new("const fstore_row_t **")
            rc = lib.fstore_get(h.ptr, t._ptr, k, len(k), rowp)
            if rc == _NOT_FOUND:
                return None
            if rc != _OK:
                h.fail(rc)
            return RowView(self, t, rowp[0], k, h.gen)
        finally:
            self._end()

    def get_batch(self, table, keys, columns=None, out=None, found=None):
        """As Store.get_batch(), in this reader's snapshot."""
        t = self._store._resolve(table)
        cols, ncols = t.column_array(columns, t._matrix_cols)
        ka = KeyArrays(keys)
        out, stride = _matrix_out(out, ka.n, ncols)
        found = _found_out(found, ka.n)
        if ka.n == 0:
            return out, found
        h = self._begin()
        try:
            rc = lib.fstore_get_batch(h.ptr, t._ptr, ka.n, ka.ptrs, ka.lens, cols, ncols,
                                      _float_ptr(out), stride, _u8_ptr(found))
            if rc != _OK:
                h.fail(rc)
        finally:
            self._end()
        return out, found

    def get_arrow(self, table, keys, columns=None):
        """As Store.get_arrow(), in this reader's snapshot."""
        t = self._store._resolve(table)
        pa = _pyarrow()
        cols, ncols = t.column_array(columns, range(len(t.columns)))
        ka = KeyArrays(keys)
        h = self._begin()
        try:
            return _arrow_batch(pa, h, t, ka, cols, ncols)
        finally:
            self._end()

    def row_count(self, table):
        """The number of rows of @p table in this snapshot."""
        t = self._store._resolve(table)
        h = self._begin()
        try:
            return _row_count(h, t)
        finally:
            self._end()

    def offsets(self, table):
        """{partition: offset} applied to @p table in this snapshot."""
        t = self._store._resolve(table)
        h = self._begin()
        try:
            return _offsets(h, t)
        finally:
            self._end()


class RowView:
    """A zero-copy view of one row inside the memory map (Reader.get()).

    view["col"] or view[i] reads one column when asked (None when null);
    view.array(col) copies an array column into numpy; view.buffer(col)
    exposes it without a copy as a memoryview. Metadata: key, timestamp,
    partition, offset, schema_id, checksum; verify() recomputes the checksum.
    Valid until its reader is refreshed, reset or closed: any use after that
    raises StateError, and memoryviews from buffer() are released (using
    them raises ValueError)."""

    __slots__ = ("_reader", "_table", "_row", "_gen", "key")

    def __init__(self, reader, table, row, key, gen):
        self._reader = reader
        self._table = table
        self._row = row
        self._gen = gen
        self.key = key

    def _begin(self):
        h = self._reader._begin()
        if self._gen != h.gen:
            self._reader._end()
            raise StateError(lib.FSTORE_ERR_STATE,
                             "row view used after its reader was refreshed, reset or closed")
        return h

    def _meta(self, fn):
        self._begin()
        try:
            return fn(self._row)
        finally:
            self._reader._end()

    @property
    def valid(self):
        """False once the reader was refreshed, reset or closed."""
        h = self._reader._h
        return h.ptr is not None and h.gen == self._gen and not self._reader._store.closed

    @property
    def timestamp(self):
        return self._meta(lib.fstore_row_timestamp)

    @property
    def partition(self):
        return self._meta(lib.fstore_row_partition)

    @property
    def offset(self):
        return self._meta(lib.fstore_row_offset)

    @property
    def schema_id(self):
        return self._meta(lib.fstore_row_schema_id)

    @property
    def checksum(self):
        return self._meta(lib.fstore_row_checksum)

    def verify(self):
        """Recomputes the row checksum: True when it matches."""
        return self._meta(lib.fstore_row_verify) == _OK

    @property
    def table(self):
        return self._table

    def __getitem__(self, col):
        t = self._table
        i = t.column_index(col)
        h = self._begin()
        try:
            _name, _i, dec = t._decoders[i]
            return dec(t._ptr, self._row, i, h.scratch)
        finally:
            self._reader._end()

    def get(self, col, default=None):
        v = self[col]
        return default if v is None else v

    def __iter__(self):
        return iter(self._table.column_names)

    def __len__(self):
        return len(self._table.columns)

    def keys(self):
        return self._table.column_names

    def to_dict(self):
        """All columns as a Row (a copy that outlives the view)."""
        h = self._begin()
        try:
            return _row_to_dict(self._table, self._row, h.scratch, self.key)
        finally:
            self._reader._end()

    def array(self, col, dtype=None):
        """Array column @p col as a new numpy array of its element type, or
        converted to @p dtype (e.g. np.float32); None when null."""
        t = self._table
        i = t.column_index(col)
        h = self._begin()
        try:
            if dtype is not None and np.dtype(dtype) == np.float32:
                return _array_float(t, self._row, i, h.scratch)
            v = t._decoders[i][2](t._ptr, self._row, i, h.scratch)
            if v is not None and not isinstance(v, np.ndarray):
                raise ColumnTypeError(lib.FSTORE_ERR_TYPE, "column %r is %s, not an array"
                                      % (t.columns[i].name, t.columns[i].type))
            return v if v is None or dtype is None else v.astype(dtype)
        finally:
            self._reader._end()

    def buffer(self, col):
        """Array column @p col without a copy: a read-only memoryview of its
        elements ("f", "d", "i" or "q" format) pointing into the memory map,
        or None when null. It is released when the row view becomes invalid;
        do not keep numpy arrays made from it (np.frombuffer) past that."""
        t = self._table
        i = t.column_index(col)
        h = self._begin()
        try:
            s = h.scratch
            rc = lib.fstore_row_array(t._ptr, self._row, i, s.vdata, s.len)
            if rc == _NULL:
                return None
            if rc != _OK:
                raise error_for(rc)
            fmt = {"array<float>": "f", "array<double>": "d",
                   "array<int>": "i", "array<long>": "q"}[t.columns[i].type]
            size = {"f": 4, "d": 8, "i": 4, "q": 8}[fmt]
            raw = memoryview(ffi.buffer(s.vdata[0], s.len[0] * size)).toreadonly()
            mv = raw.cast(fmt)
            raw.release()
            h.buffers.append(mv)  # released when the reader moves on
            return mv
        finally:
            self._reader._end()

    def __repr__(self):
        state = "" if self.valid else " (invalid)"
        return "<fstore.RowView %r of table %r%s>" % (self.key, self._table.name, state)


# -- batches ------------------------------------------------------------------

class Batch:
    """Upserts, deletes and consumed offsets applied in one transaction
    (Store.batch()). One batch may be open per store; one thread at a time.

    put() decodes the value at once, so a bad record raises DecodeError from
    put() (the record is skipped but its offset still counts as consumed,
    and the batch stays usable)."""

    def __init__(self, store):
        self._store = store
        self._mutex = threading.Lock()
        self._next = {}
        ptr = store._enter()
        try:
            batchp = ffi.new("fstore_batch_t **")
            with store._lock:
                if store._batch is not None:
                    raise StateError(lib.FSTORE_ERR_STATE, "a batch is already open on this store")
                check(lib.fstore_batch_begin(ptr, batchp))
                self._ptr = batchp[0]
                store._batch = self
        finally:
            store._leave()

    def _begin(self):
        self._store._enter()
        self._mutex.acquire()
        if self._ptr is None:
            self._end()
            raise StateError(lib.FSTORE_ERR_STATE, "the batch is already committed or aborted")
        return self._ptr

    def _end(self):
        self._mutex.release()
        self._store._leave()

    def _next_offset(self, t, partition):
        k = (t.name, partition)
        nxt = self._next.get(k)
        if nxt is None:
            nxt = self._store.offsets(t).get(partition, -1) + 1
        self._next[k] = nxt + 1
        return nxt

    def put(self, table, key, value, partition=0, offset=None, timestamp=None):
        """Queues the upsert of @p key with the encoded record @p value
        (bytes framed per the table's format; None deletes the key).
        offset: the record's Kafka offset (default: the partition's next
        one); timestamp: ms since the epoch (default: now). Raises
        DecodeError (record skipped), InvalidKeyError (empty key)."""
        t = self._store._resolve(table)
        k = key_bytes(key)
        if offset is None:
            offset = self._next_offset(t, partition)
        else:
            self._next[(t.name, partition)] = offset + 1
        if timestamp is None:
            timestamp = int(time.time() * 1000)
        ptr = self._begin()
        try:
            errbuf = ffi.new("char[]", _ERRSTR)
            if value is None:
                vp, vlen = ffi.NULL, 0
            else:
                vp = ffi.from_buffer(value)
                vlen = len(vp)
            check(lib.fstore_batch_put(ptr, t._ptr, k, len(k), vp, vlen, partition, offset,
                                       timestamp, errbuf, _ERRSTR), errbuf)
        finally:
            self._end()

    def delete(self, table, key, partition=0, offset=None, timestamp=None):
        """Queues the deletion of @p key (a tombstone)."""
        self.put(table, key, None, partition, offset, timestamp)

    def advance(self, table, partition, offset):
        """Marks @p offset of (@p table, @p partition) consumed without a record."""
        t = self._store._resolve(table)
        ptr = self._begin()
        try:
            check(lib.fstore_batch_advance(ptr, t._ptr, partition, offset))
            self._next[(t.name, partition)] = max(self._next.get((t.name, partition), 0), offset + 1)
        finally:
            self._end()

    def __len__(self):
        ptr = self._begin()
        try:
            return lib.fstore_batch_size(ptr)
        finally:
            self._end()

    def commit(self):
        """Applies everything queued, and the offsets, in one transaction.
        The batch is finished whatever the outcome. Raises StorageError."""
        ptr = self._begin()
        try:
            self._ptr = None
            with self._store._lock:
                self._store._batch = None
            errbuf = ffi.new("char[]", _ERRSTR)
            check(lib.fstore_batch_commit(ptr, errbuf, _ERRSTR), errbuf)
        finally:
            self._end()

    def abort(self):
        """Discards the batch: nothing is applied. Fine after commit()."""
        with self._store._lock:
            self._abort_locked()

    def _abort_locked(self):
        ptr, self._ptr = self._ptr, None
        if self._store._batch is self:
            self._store._batch = None
        if ptr is not None and self._store._pid == os.getpid():
            lib.fstore_batch_abort(ptr)

    @property
    def closed(self):
        return self._ptr is None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None and self._ptr is not None:
            self.commit()
        else:
            self.abort()

    def __del__(self):
        try:
            if getattr(self, "_ptr", None) is not None:
                self.abort()
        except Exception:  # noqa: BLE001
            pass


# -- process lifetime ---------------------------------------------------------

def _close_all():
    for store in list(_OPEN):
        try:
            store.close()
        except Exception:  # noqa: BLE001
            pass


def _after_fork_in_child():
    # Handles do not cross fork(): the child forgets them without closing
    # anything (closing would act on the parent's environment).
    _FORK_GEN[0] += 1
    for store in list(_OPEN):
        store._closing = False
        store._lock = threading.RLock()
        store._idle = threading.Condition(store._lock)
        store._active = 0
    _OPEN.clear()


atexit.register(_close_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
