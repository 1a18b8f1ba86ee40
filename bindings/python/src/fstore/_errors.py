"""Exceptions: one class per family of fstore_err_t codes."""

from ._fstore_cffi import ffi, lib

__all__ = [
    "Error", "UsageError", "ConfError", "NoTableError", "NoColumnError",
    "ColumnTypeError", "ReadOnlyError", "StateError", "InvalidKeyError", "SchemaError",
    "TimedOut", "StorageError", "NoStoreError", "LockedError", "KafkaError",
    "DecodeError", "error_for", "check",
]


class Error(Exception):
    """Base of every fstore failure.

    Attributes:
        code: the fstore_err_t value (an int, e.g. 102).
        name: its symbolic name from fstore_err_name(), e.g. "FSTORE_ERR_CONF".
        message: what went wrong and what to do (the library's errstr or
            reader message, else fstore_strerror()).
    """

    def __init__(self, code, message=None):
        self.code = int(code)
        self.name = _name(self.code)
        if not message:
            message = _strerror(self.code)
        self.message = message
        super().__init__("%s: %s" % (self.name, message))

    def __reduce__(self):
        # Picklable (multiprocessing sends exceptions between processes).
        return (error_for, (self.code, self.message))


class UsageError(Error):
    """The call is not usable as made (codes 100-199)."""


class ConfError(UsageError):
    """Unknown configuration property or invalid value (FSTORE_ERR_CONF)."""


class NoTableError(UsageError):
    """No table of that name in the store (FSTORE_ERR_NO_TABLE)."""


class NoColumnError(UsageError):
    """No column of that name or index (FSTORE_ERR_NO_COLUMN)."""


class ColumnTypeError(UsageError, TypeError):
    """The column's type does not fit the request (FSTORE_ERR_TYPE), e.g. a
    string column in a float32 matrix."""


class ReadOnlyError(UsageError):
    """The store was opened read-only (FSTORE_ERR_READ_ONLY)."""


class StateError(UsageError):
    """The call is not valid now (FSTORE_ERR_STATE): the store is closed, a
    row view outlived its reader, a batch is already open, ..."""


class InvalidKeyError(UsageError, ValueError):
    """The key is unusable: empty (FSTORE_ERR_KEY)."""


class SchemaError(UsageError):
    """Invalid or unsupported serving schema (FSTORE_ERR_SCHEMA), or a table or
    schema id that exists with a different schema (FSTORE_ERR_SCHEMA_MISMATCH)."""


class TimedOut(UsageError, TimeoutError):
    """A wait ran out of time (FSTORE_ERR_TIMED_OUT)."""


class StorageError(Error):
    """The storage engine or the operating system failed (codes 200-299)."""


class NoStoreError(StorageError, FileNotFoundError):
    """No store exists at the path of a read-only open (FSTORE_ERR_NO_STORE)."""


class LockedError(StorageError):
    """Another process has the store open for writing (FSTORE_ERR_LOCKED)."""


class KafkaError(Error):
    """A Kafka client failure (codes 300-399)."""


class DecodeError(Error):
    """A record could not be decoded or resolved (codes 400-499)."""


_BY_CODE = {
    lib.FSTORE_ERR_CONF: ConfError,
    lib.FSTORE_ERR_NO_TABLE: NoTableError,
    lib.FSTORE_ERR_NO_COLUMN: NoColumnError,
    lib.FSTORE_ERR_TYPE: ColumnTypeError,
    lib.FSTORE_ERR_READ_ONLY: ReadOnlyError,
    lib.FSTORE_ERR_STATE: StateError,
    lib.FSTORE_ERR_KEY: InvalidKeyError,
    lib.FSTORE_ERR_SCHEMA: SchemaError,
    lib.FSTORE_ERR_SCHEMA_MISMATCH: SchemaError,
    lib.FSTORE_ERR_TIMED_OUT: TimedOut,
    lib.FSTORE_ERR_NO_STORE: NoStoreError,
    lib.FSTORE_ERR_LOCKED: LockedError,
}


def _family(code):
    if 100 <= code < 200:
        return UsageError
    if 200 <= code < 300:
        return StorageError
    if 300 <= code < 400:
        return KafkaError
    if 400 <= code < 500:
        return DecodeError
    return Error


def _name(code):
    return ffi.string(lib.fstore_err_name(code)).decode("utf-8", "replace")


def _strerror(code):
    return ffi.string(lib.fstore_strerror(code)).decode("utf-8", "replace")


def error_for(code, message=None):
    """Returns the exception instance for fstore_err_t @p code."""
    cls = _BY_CODE.get(code) or _family(code)
    return cls(code, message)


def errstr_text(buf):
    """The message an errstr buffer received, or None when empty."""
    text = ffi.string(buf).decode("utf-8", "replace")
    return text or None


def check(code, errbuf=None, message=None):
    """Raises the exception for @p code unless it is FSTORE_OK."""
    if code != lib.FSTORE_OK:
        if message is None and errbuf is not None:
            message = errstr_text(errbuf)
        raise error_for(code, message)
