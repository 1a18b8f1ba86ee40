"""fstore: the current features of every entity, served from process memory.

Python bindings to libfstore (cffi, API mode; the extension links the static
library). Quick start::

    import fstore

    with fstore.open("features.db") as store:
        users = store.create_table("users", schema_json)        # Avro record
        store.apply("users", [(b"u42", confluent_framed_value)])
        row = store.get("users", "u42")      # Row (dict) or None
        row["clicks"], row.offset
        matrix, found = store.get_batch("users", keys, ["clicks", "score"])
        batch = store.get_arrow("users", keys)   # pyarrow.RecordBatch

Tailing Kafka::

    store = fstore.open("features.db", {"kafka.bootstrap.servers": brokers})
    store.create_table("users", schema_json)
    store.tail("users", topic="users")
    store.start()
    store.wait_ready(timeout=60)

Snapshots, and a replica that starts from one and tails only the gap::

    store.snapshot("features.fst")        # a path, or a binary file object
    fstore.restore("https://host/features.fst", "replica.db")  # or a path,
                                          # "-" (stdin), a binary file object
    replica = fstore.open("replica.db", {"kafka.bootstrap.servers": brokers,
                                         "store.seed": "https://host/features.fst"})
    # store.seed restores the snapshot first only when replica.db holds no store

Windowed features from a topic of raw events (fstore aggregate)::

    with fstore.Aggregator("features.json", "agg-state",
                           {"kafka.bootstrap.servers": brokers,
                            "schemas.dir": "schemas"}) as agg:
        agg.run(until_caught_up=True)
        agg.stats()["events"]

Every call into libfstore releases the GIL (cffi's API mode does so for all
functions), so blocking calls such as wait_ready(), stop(), get_batch() and
get_arrow() let other Python threads run. See docs/python.md.
"""

from ._errors import (ColumnTypeError, ConfError, DecodeError, Error,
                      InvalidKeyError, KafkaError, LockedError, NoColumnError,
                      NoStoreError, NoTableError, ReadOnlyError, SchemaError,
                      StateError, StorageError, TimedOut, UsageError)
from ._aggregate import Aggregator
from ._fstore_cffi import ffi as _ffi
from ._fstore_cffi import lib as _lib
from ._keys import key_bytes as _key_bytes
from ._store import Batch, Reader, Row, RowView, Store, open, restore, verify
from ._table import Column, Table

#: The version of libfstore compiled into this package ("MAJOR.MINOR.PATCH").
__version__ = _ffi.string(_lib.fstore_version_str()).decode()

#: (MAJOR, MINOR, PATCH) of the header the bindings were compiled against.
version_info = (_lib.FSTORE_VERSION_MAJOR, _lib.FSTORE_VERSION_MINOR, _lib.FSTORE_VERSION_PATCH)

if _lib.fstore_version_number() != _lib.FSTORE_VERSION_NUMBER:  # pragma: no cover
    raise ImportError("fstore: the linked libfstore is %s but the bindings were built for %d.%d.%d"
                      % ((__version__,) + version_info))


def partition_for_key(key, partition_count):
    """The partition Kafka's default partitioner (murmur2, as the Java
    client) assigns @p key (str or bytes) among @p partition_count."""
    if partition_count < 1:
        raise ValueError("partition_count must be at least 1")
    k = _key_bytes(key)
    return _lib.fstore_partition_for_key(k, len(k), partition_count)


def strerror(code):
    """The library's description of fstore_err_t @p code."""
    return _ffi.string(_lib.fstore_strerror(code)).decode()


def err_name(code):
    """The symbolic name of fstore_err_t @p code, e.g. "FSTORE_ERR_CONF"."""
    return _ffi.string(_lib.fstore_err_name(code)).decode()


__all__ = [
    "open", "restore", "verify", "Store", "Reader", "RowView", "Row", "Batch", "Table", "Column",
    "Aggregator",
    "Error", "UsageError", "ConfError", "NoTableError", "NoColumnError",
    "ColumnTypeError", "ReadOnlyError", "StateError", "InvalidKeyError",
    "SchemaError", "TimedOut", "StorageError", "NoStoreError", "LockedError",
    "KafkaError", "DecodeError", "partition_for_key", "strerror", "err_name",
    "version_info", "__version__",
]
