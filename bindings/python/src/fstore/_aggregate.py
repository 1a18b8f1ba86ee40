"""The aggregator (fstore aggregate) over the libfstore C API: windowed
features from a topic of raw events, exactly once."""

import atexit
import json
import math
import numbers
import os
import threading
import weakref

from ._errors import StateError, check, error_for, errstr_text
from ._fstore_cffi import ffi, lib
from ._store import new_conf

__all__ = ["Aggregator"]

_ERRSTR = 1024
_OK = lib.FSTORE_OK
# run() waits for the C loop in slices this long so that Ctrl-C gets a look
# in between.
_WAIT_SLICE_S = 0.2
_MAX_TIMEOUT_MS = 2**31 - 1

# Every aggregator open in this process, to stop and close them before the
# interpreter goes away and to disown them in a forked child.
_OPEN = weakref.WeakSet()


def _spec_text(spec, base_dir):
    """(JSON text, base_dir) of @p spec: a dict, JSON text, or the path of a
    spec file (whose folder is then the default base_dir, as for `fstore
    aggregate --spec`)."""
    if isinstance(spec, dict):
        return json.dumps(spec), base_dir
    if isinstance(spec, (str, bytes, os.PathLike)):
        path = os.fspath(spec)
        text = path if isinstance(path, str) else path.decode("utf-8", "surrogateescape")
        if text.lstrip().startswith("{"):
            return text, base_dir
        if not path:
            raise ValueError("spec must be a dict, JSON text or the path of a spec file, "
                             "not an empty string")
        with open(path, "rb") as f:
            data = f.read()
        if base_dir is None:
            base_dir = os.path.dirname(path) or os.curdir
        return data.decode("utf-8", "surrogateescape"), base_dir
    raise TypeError("spec must be a dict, JSON text or the path of a spec file, not %s"
                    % type(spec).__name__)


def _timeout_ms(timeout):
    """@p timeout (seconds or None) as the C call's milliseconds (-1: none)."""
    if timeout is None:
        return -1
    if not isinstance(timeout, numbers.Real):
        raise TypeError("timeout must be None or a number of seconds, not %s"
                        % type(timeout).__name__)
    t = float(timeout)
    if math.isnan(t) or t < 0:
        raise ValueError("timeout must be None or a number of seconds >= 0, not %r" % (timeout,))
    ms = math.ceil(t * 1000)
    if ms > _MAX_TIMEOUT_MS:
        raise ValueError("timeout must be at most %d seconds (None: no limit)"
                         % (_MAX_TIMEOUT_MS // 1000))
    return ms


def _closed_error():
    return StateError(lib.FSTORE_ERR_STATE, "the aggregator is closed")


class Aggregator:
    """An aggregator: reads a topic of raw events, keeps every entity's
    windows in a local state, and produces each changed entity's feature
    record to a compacted output topic, exactly once (what `fstore
    aggregate` does; docs/aggregate.md describes the spec and the windows).

    Aggregator(spec, state_dir, conf=None, base_dir=None, *, log=None)

    - spec: a dict, JSON text (a str starting with "{"), or the path of a
      spec file (str, bytes or os.PathLike).
    - state_dir: the local state's directory, created if absent. Give every
      instance its own.
    - conf: dict of fstore properties, as for Store: "kafka.bootstrap.servers"
      (required), "aggregate.group", "aggregate.commit_ms",
      "aggregate.instance", "aggregate.dead_letter_topic", "schemas.dir" or
      "registry.url" for the events' writer schemas, other "kafka.*" client
      properties, "store.*" for the state. See docs/configuration.md.
    - base_dir: the folder the spec's input.schema path is relative to.
      Default: the spec file's folder when spec is a path, else the working
      directory.
    - log: None (stderr), a logging.Logger, or a callable(level, message)
      with syslog levels. It runs on the Kafka clients' threads and on the
      one running run(), and must not call back into the aggregator.

    Creating one checks the spec (a mistake raises ConfError naming it),
    opens the state, writes, checks or registers the output schema,
    connects, creates the output and changelog topics where absent and
    initializes transactions. Raises ConfError, SchemaError (the state or the
    schema file belongs to another spec), LockedError (another process uses
    the state), KafkaError, StorageError; OSError when the spec file cannot be
    read.

    run() aggregates until stop(), an error, or (until_caught_up=True) the
    end of the events at assignment; an aggregator runs once. stop() and
    stats() work from any thread. Use it as a context manager, or call
    close().
    """

    def __init__(self, spec, state_dir, conf=None, base_dir=None, *, log=None):
        self._ptr = None
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._active = 0
        self._closing = False
        self._running = False
        self._ran = False
        self._pid = os.getpid()
        self._log_handle = None
        if not isinstance(state_dir, (str, bytes, os.PathLike)):
            raise TypeError("state_dir must be a path, not %s" % type(state_dir).__name__)
        if not os.fspath(state_dir):
            raise ValueError("state_dir must not be empty")
        text, base_dir = _spec_text(spec, base_dir)
        self.state_dir = os.fsdecode(state_dir)
        self.base_dir = None if base_dir is None else os.fsdecode(base_dir)
        c, handle = new_conf(dict(conf or {}), log)
        try:
            aggp = ffi.new("fstore_aggregator_t **")
            errbuf = ffi.new("char[]", _ERRSTR)
            check(lib.fstore_aggregator_new(
                text.encode("utf-8", "surrogateescape"),
                ffi.NULL if base_dir is None else os.fsencode(base_dir),
                os.fsencode(state_dir), c, aggp, errbuf, _ERRSTR), errbuf)
        finally:
            lib.fstore_conf_destroy(c)
        try:
            #: The spec as a dict (what the library accepted).
            self.spec = json.loads(text)
        except ValueError:  # pragma: no cover - the library parsed it
            self.spec = {}
        self._log_handle = handle
        self._ptr = aggp[0]
        _OPEN.add(self)

    # -- lifetime -----------------------------------------------------------

    def _check_open_locked(self):
        if self._ptr is None or self._closing:
            raise _closed_error()
        if self._pid != os.getpid():
            raise StateError(lib.FSTORE_ERR_STATE, "this aggregator was created before fork(): "
                             "create another one in this process")

    def _enter(self):
        """Marks one call in progress; raises when the aggregator is closed."""
        with self._lock:
            self._check_open_locked()
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
    def running(self):
        """True while run() is aggregating."""
        return self._running

    def close(self):
        """Stops a running run() (it commits what it holds and returns),
        waits for it and for stats() calls in other threads, then closes the
        Kafka clients and the state. Calling it again is fine; any later use
        raises StateError. Not from the log callback."""
        with self._lock:
            if self._ptr is None or self._closing:
                return
            if self._pid != os.getpid():
                # A forked child never touches its parent's clients.
                self._ptr = None
                return
            self._closing = True
            lib.fstore_aggregator_stop(self._ptr)
            while self._active:
                self._idle.wait()
            ptr = self._ptr
        try:
            lib.fstore_aggregator_destroy(ptr)  # the GIL is released meanwhile
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
        spec = getattr(self, "spec", None) or {}
        topics = ""
        try:
            topics = " %r -> %r" % (spec["input"]["topic"], spec["output"]["topic"])
        except (KeyError, TypeError):
            pass
        state = ("closed" if self._ptr is None else "running" if self._running
                 else "finished" if self._ran else "ready")
        return "<fstore.Aggregator%s state_dir=%r (%s)>" % (
            topics, getattr(self, "state_dir", None), state)

    # -- running ------------------------------------------------------------

    def run(self, until_caught_up=False, timeout=None):
        """Aggregates: joins the group, restores the state of the assigned
        partitions from the changelog's tail, and commits a transaction every
        aggregate.commit_ms, until stop() (from any thread) or close(), a
        fatal error, or, with @p until_caught_up, every assigned partition is
        consumed to its end offset at assignment and committed. Then it
        commits what it holds, leaves the group and returns None.

        timeout: seconds that bound the whole run (None: no limit); when they
        pass, TimedOut is raised, also without until_caught_up.

        The loop runs in libfstore with the GIL released, on a helper thread
        while this one waits, so that Ctrl-C works: KeyboardInterrupt stops
        the aggregator, waits for it to commit, and propagates. A stop()
        made before run() is not lost: run() then returns at once.

        An aggregator runs once: a second run() raises StateError, as does a
        run() while another thread runs it. Raises TimedOut, KafkaError (e.g.
        fenced by a newer instance of the same id), StorageError, with the
        library's message."""
        timeout_ms = _timeout_ms(timeout)
        with self._lock:
            self._check_open_locked()
            if self._running:
                raise StateError(lib.FSTORE_ERR_STATE,
                                 "the aggregator is already running in another thread "
                                 "(an aggregator runs once)")
            self._running = True
            self._ran = True
            self._active += 1
            ptr = self._ptr
        done = threading.Event()
        failure = []

        def loop():
            try:
                errbuf = ffi.new("char[]", _ERRSTR)
                rc = lib.fstore_aggregator_run(ptr, 1 if until_caught_up else 0, timeout_ms,
                                               errbuf, _ERRSTR)
                if rc != _OK:
                    failure.append(error_for(rc, errstr_text(errbuf)))
            finally:
                with self._lock:
                    self._running = False
                self._leave()
                done.set()

        worker = threading.Thread(target=loop, name="fstore-aggregator", daemon=True)
        try:
            worker.start()
        except BaseException:
            with self._lock:
                self._running = False
            self._leave()
            raise
        try:
            while not done.wait(_WAIT_SLICE_S):
                pass
        except BaseException:
            # Ctrl-C (or another asynchronous exception): commit and stop.
            self._stop_running()
            done.wait()
            raise
        if failure:
            raise failure[0]

    def _stop_running(self):
        with self._lock:
            if self._running and self._ptr is not None:
                lib.fstore_aggregator_stop(self._ptr)

    def stop(self):
        """Asks run() to commit what it holds and return; returns at once
        (run() returns soon after). Any thread. A stop() before run() makes
        run() return at once. Raises StateError once closed."""
        ptr = self._enter()
        try:
            lib.fstore_aggregator_stop(ptr)
        finally:
            self._leave()

    def stats(self):
        """The aggregator's figures as a dict: events, late_dropped, skipped
        (by reason: decode, schema, no_key, time), emitted, tombstones,
        entities, commits, aborts, restored_records, commit_ms percentiles,
        error, and per assigned partition its stream time and position. Any
        thread, also while run() runs. The fields are not yet stable
        (docs/aggregate.md)."""
        ptr = self._enter()
        try:
            jp = ffi.new("char **")
            check(lib.fstore_aggregator_stats_json(ptr, jp))
            try:
                text = ffi.string(jp[0])
            finally:
                lib.fstore_free(jp[0])
        finally:
            self._leave()
        return json.loads(text)


# -- process lifetime ---------------------------------------------------------

def _close_all():
    for agg in list(_OPEN):
        try:
            agg.close()
        except Exception:  # noqa: BLE001
            pass


def _after_fork_in_child():
    # The parent's Kafka clients and threads do not exist here: forget the
    # handles without closing anything.
    for agg in list(_OPEN):
        agg._lock = threading.Lock()
        agg._idle = threading.Condition(agg._lock)
        agg._active = 0
        agg._closing = False
        agg._running = False
    _OPEN.clear()


atexit.register(_close_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
