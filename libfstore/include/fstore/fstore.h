/*
 * fstore - the current features of every entity, served from process memory.
 *
 * Copyright 2026 The fstore authors. Licensed under the Apache License 2.0.
 */

/**
 * @file fstore.h
 * @brief The fstore C API. This header is the manual: anything not declared
 *        here is not API.
 *
 * fstore keeps a memory-mapped LMDB view of feature tables. Each table holds
 * the latest value of every entity (the Kafka record key), decoded once from
 * Avro into a fixed columnar row layout, so reading a column is one load at a
 * precomputed offset. One writer (a batch, or the tailing thread) applies
 * records together with the Kafka offsets they came from in a single
 * transaction; any number of reader threads and processes read concurrently
 * and never block the writer.
 *
 * @section conventions Conventions
 * - Every function that can fail returns an ::fstore_err_t. ::FSTORE_OK is
 *   success; ::FSTORE_NOT_FOUND and ::FSTORE_NULL are ordinary results, not
 *   failures, and format no message.
 * - Functions that may fail before a handle exists take an @p errstr buffer of
 *   @p errstr_size bytes that receives a NUL-terminated message saying what
 *   went wrong and what to do. The buffer may be NULL.
 * - Every destroy/close function accepts NULL.
 * - Thread safety is stated on every function. "Any thread" means the call
 *   may run concurrently with any other call on any handle. "One thread at a
 *   time per handle" means the caller serialises calls on that handle.
 *
 * @section caveats Caveats
 * - Row views (::fstore_row_t) point straight into the memory map. They stay
 *   valid until the reader that returned them is refreshed, reset or
 *   destroyed. Never write through them and never free them.
 * - A reader pins the snapshot it reads. A reader that is never refreshed or
 *   reset keeps old pages alive (the store file grows) and delays growth of
 *   the memory map. Refresh readers between requests.
 * - Data inside rows is little-endian and may be unaligned: use the
 *   accessors, or memcpy, rather than casting array pointers.
 * - After fork(), a child must open the store again; handles do not cross
 *   fork().
 *
 * @section stability Stability
 * Everything declared here is stable API except the interfaces of the
 * last section, @ref unstable, which may still change in a minor release.
 * From 1.0 on, the stable API follows semantic versioning.
 */
#ifndef FSTORE_H
#define FSTORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(FSTORE_STATIC_DEFINE)
#define FSTORE_API
#elif defined(_WIN32)
#ifdef FSTORE_BUILDING
#define FSTORE_API __declspec(dllexport)
#else
#define FSTORE_API __declspec(dllimport)
#endif
#else
#define FSTORE_API __attribute__((visibility("default")))
#endif

/**
 * @defgroup version Version
 * @{
 */

/* The single source of the version: CMake reads these three lines. */
#define FSTORE_VERSION_MAJOR 0
#define FSTORE_VERSION_MINOR 1
#define FSTORE_VERSION_PATCH 0

/** MAJOR*10000 + MINOR*100 + PATCH of the headers compiled against. */
#define FSTORE_VERSION_NUMBER                                                  \
    (FSTORE_VERSION_MAJOR * 10000 + FSTORE_VERSION_MINOR * 100 +               \
     FSTORE_VERSION_PATCH)

/** @return the library's version number at run time. Any thread. */
FSTORE_API unsigned fstore_version_number(void);

/** @return the library's version as "MAJOR.MINOR.PATCH" (static). Any thread. */
FSTORE_API const char *fstore_version_str(void);

/** @} */

/**
 * @defgroup errors Errors
 * Values are pinned forever and only appended, in families: ordinary
 * results (0-99), usage (100-199), storage (200-299), Kafka (300-399),
 * decode (400-499).
 * @{
 */
typedef enum fstore_err_t {
    FSTORE_OK = 0,
    /** The key has no row (ordinary result). */
    FSTORE_NOT_FOUND = 1,
    /** The column is null in this row (ordinary result). */
    FSTORE_NULL = 2,

    /** An argument is NULL, out of range or otherwise unusable. */
    FSTORE_ERR_INVALID_ARG = 100,
    /** Memory allocation failed. */
    FSTORE_ERR_NO_MEMORY = 101,
    /** Unknown configuration property or invalid value. */
    FSTORE_ERR_CONF = 102,
    /** No table of that name in this store. */
    FSTORE_ERR_NO_TABLE = 103,
    /** No column of that name or index in this table. */
    FSTORE_ERR_NO_COLUMN = 104,
    /** The accessor or projection does not fit the column's type. */
    FSTORE_ERR_TYPE = 105,
    /** The store was opened read-only. */
    FSTORE_ERR_READ_ONLY = 106,
    /** The call is not valid now (e.g. a second batch is already open). */
    FSTORE_ERR_STATE = 107,
    /** The key is unusable (empty). */
    FSTORE_ERR_KEY = 108,
    /** The serving schema is invalid or uses an unsupported type. */
    FSTORE_ERR_SCHEMA = 109,
    /** The table exists with a different serving schema. */
    FSTORE_ERR_SCHEMA_MISMATCH = 110,
    /** A caller buffer is too small or an index is out of range. */
    FSTORE_ERR_RANGE = 111,
    /** A wait ran out of time. */
    FSTORE_ERR_TIMED_OUT = 112,

    /** An operating-system I/O call failed (message has the cause). */
    FSTORE_ERR_IO = 200,
    /** The store's data is damaged (checksum mismatch, bad row header). */
    FSTORE_ERR_CORRUPT = 201,
    /** The store was written by an incompatible fstore version. */
    FSTORE_ERR_VERSION = 202,
    /** Another process has this store open for writing. */
    FSTORE_ERR_LOCKED = 203,
    /** The store's reader table is full (raise store.max_readers). */
    FSTORE_ERR_READERS_FULL = 204,
    /** The memory map cannot grow (store.map_size.max reached or no disk). */
    FSTORE_ERR_MAP_FULL = 205,
    /** Any other storage-engine failure (message has the cause). */
    FSTORE_ERR_STORAGE = 206,
    /** No store exists at the path (read-only open). */
    FSTORE_ERR_NO_STORE = 207,

    /** A Kafka client failure (message has the cause). */
    FSTORE_ERR_KAFKA = 300,

    /** The value is not in Confluent wire format (short or bad magic). */
    FSTORE_ERR_DECODE_FRAME = 400,
    /** The writer schema id is unknown to the store and every source. */
    FSTORE_ERR_DECODE_SCHEMA_ID = 401,
    /** The Avro payload ends before the record does. */
    FSTORE_ERR_DECODE_TRUNCATED = 402,
    /** The Avro payload is malformed (bad varint, length, branch, enum). */
    FSTORE_ERR_DECODE_MALFORMED = 403,
    /** Bytes remain after the record. */
    FSTORE_ERR_DECODE_TRAILING = 404,
    /** The writer schema cannot be resolved to the serving schema. */
    FSTORE_ERR_RESOLVE = 405,
    /** A writer schema is invalid Avro. */
    FSTORE_ERR_WRITER_SCHEMA = 406,
} fstore_err_t;

/**
 * @return a static English description of @p err, never NULL ("unknown
 *         error code" for values this version does not know). Any thread.
 */
FSTORE_API const char *fstore_strerror(fstore_err_t err);

/**
 * @return the static symbolic name of @p err (e.g. "FSTORE_ERR_CONF"),
 *         never NULL. Any thread.
 */
FSTORE_API const char *fstore_err_name(fstore_err_t err);

/** @} */

/**
 * @defgroup conf Configuration
 *
 * A conf object holds string properties. It is copied by the functions that
 * take it, so the caller keeps ownership and may destroy it right after.
 *
 * docs/configuration.md lists every property (`store.*`, `registry.*`,
 * `schemas.*`, `tail.*`, `kafka.*`, `log.*`) with its type, default,
 * allowed values and meaning. Properties named `kafka.*` pass through to
 * the Kafka client of the tailer (see @ref tail).
 * @{
 */
typedef struct fstore_conf_s fstore_conf_t;

/** @return a new conf with defaults, or NULL when out of memory. Any thread. */
FSTORE_API fstore_conf_t *fstore_conf_new(void);

/** @return a deep copy of @p conf, or NULL. Any thread; @p conf not mutated. */
FSTORE_API fstore_conf_t *fstore_conf_dup(const fstore_conf_t *conf);

/** Destroys @p conf (NULL is fine). One thread at a time per conf. */
FSTORE_API void fstore_conf_destroy(fstore_conf_t *conf);

/**
 * Sets property @p name to @p value, validating both.
 * @return ::FSTORE_OK, ::FSTORE_ERR_CONF (unknown name or bad value, message
 *         in @p errstr), ::FSTORE_ERR_INVALID_ARG, ::FSTORE_ERR_NO_MEMORY.
 * One thread at a time per conf.
 */
FSTORE_API fstore_err_t fstore_conf_set(fstore_conf_t *conf, const char *name,
                                        const char *value, char *errstr,
                                        size_t errstr_size);

/**
 * Copies the value of @p name (NUL-terminated) into @p buf of @p *size bytes.
 * On return @p *size holds the length needed including the NUL.
 * @return ::FSTORE_OK, ::FSTORE_NOT_FOUND (unset), ::FSTORE_ERR_RANGE
 *         (@p buf too small; @p *size says how much is needed),
 *         ::FSTORE_ERR_INVALID_ARG. Any thread while no one sets.
 */
FSTORE_API fstore_err_t fstore_conf_get(const fstore_conf_t *conf,
                                        const char *name, char *buf,
                                        size_t *size);

/**
 * Log callback: @p level as syslog (3 error, 4 warning, 6 info, 7 debug),
 * @p msg a NUL-terminated line without newline. Runs on the thread that
 * logs, usually the tailer thread; it must not call back into the store.
 */
typedef void(fstore_log_cb)(void *opaque, int level, const char *msg);

/**
 * Sets the log callback of stores opened with @p conf (NULL restores the
 * default: lines on stderr). @return ::FSTORE_OK or ::FSTORE_ERR_INVALID_ARG.
 * One thread at a time per conf.
 */
FSTORE_API fstore_err_t fstore_conf_set_log_cb(fstore_conf_t *conf,
                                               fstore_log_cb *cb,
                                               void *opaque);

/** @} */

/**
 * @defgroup store Store and tables
 * @{
 */
typedef struct fstore_store_s fstore_store_t;
typedef struct fstore_table_s fstore_table_t;

/**
 * Opens (creating when writable and absent) the store in directory @p path.
 * A writable open takes an exclusive lock: one writing process per store.
 * @param conf may be NULL for defaults; it is copied.
 * @return ::FSTORE_OK, ::FSTORE_ERR_CONF, ::FSTORE_ERR_NO_STORE,
 *         ::FSTORE_ERR_LOCKED, ::FSTORE_ERR_VERSION, ::FSTORE_ERR_IO,
 *         ::FSTORE_ERR_STORAGE, ::FSTORE_ERR_NO_MEMORY.
 * Any thread. The store may then be used from any thread; close it once,
 * after every reader and batch on it is gone.
 */
FSTORE_API fstore_err_t fstore_store_open(const char *path,
                                          const fstore_conf_t *conf,
                                          fstore_store_t **storep,
                                          char *errstr, size_t errstr_size);

/**
 * Closes @p store (NULL is fine). Table handles of this store become invalid.
 * Not concurrently with any other call on this store or its handles.
 */
FSTORE_API void fstore_store_close(fstore_store_t *store);

/** @return 1 when the store was opened read-only, else 0. Any thread. */
FSTORE_API int fstore_store_read_only(const fstore_store_t *store);

/** Value formats of a table's Kafka records. */
typedef enum fstore_format_t {
    /** Magic byte 0, 4-byte big-endian schema id, Avro binary. */
    FSTORE_FORMAT_CONFLUENT = 0,
    /** Avro binary with one fixed writer schema. */
    FSTORE_FORMAT_AVRO = 1,
} fstore_format_t;

/**
 * Creates table @p name with serving schema @p schema_json (an Avro record;
 * its top-level fields are the columns), or opens it if it exists with the
 * same serving schema. The value format may change between opens; the
 * serving schema may not.
 * @param format how record values are framed.
 * @param avro_schema_id for ::FSTORE_FORMAT_AVRO, the registered writer
 *        schema id of the values, or -1 when they are written with the
 *        serving schema itself. Ignored for ::FSTORE_FORMAT_CONFLUENT.
 * @param tablep receives a handle owned by the store, valid until close.
 * @return ::FSTORE_OK, ::FSTORE_ERR_SCHEMA (message names the field and its
 *         type), ::FSTORE_ERR_SCHEMA_MISMATCH, ::FSTORE_ERR_READ_ONLY (table
 *         absent in a read-only store), ::FSTORE_ERR_INVALID_ARG,
 *         storage errors.
 * Any thread.
 */
FSTORE_API fstore_err_t fstore_table_create(fstore_store_t *store,
                                            const char *name,
                                            const char *schema_json,
                                            fstore_format_t format,
                                            int32_t avro_schema_id,
                                            const fstore_table_t **tablep,
                                            char *errstr, size_t errstr_size);

/**
 * Finds table @p name, including tables another process created since open.
 * @return ::FSTORE_OK, ::FSTORE_ERR_NO_TABLE, storage errors. Any thread.
 */
FSTORE_API fstore_err_t fstore_table_open(fstore_store_t *store,
                                          const char *name,
                                          const fstore_table_t **tablep);

/** @return the number of tables known to this handle. Any thread. */
FSTORE_API size_t fstore_table_count(fstore_store_t *store);

/** @return the @p i-th table known to this handle or NULL. Any thread. */
FSTORE_API const fstore_table_t *fstore_table_at(fstore_store_t *store,
                                                 size_t i);

/** @return the table's name (valid while the store is open). Any thread. */
FSTORE_API const char *fstore_table_name(const fstore_table_t *table);

/** @return the serving schema JSON as given at creation. Any thread. */
FSTORE_API const char *fstore_table_schema(const fstore_table_t *table);

/** @return the table's value format. Any thread. */
FSTORE_API fstore_format_t fstore_table_format(const fstore_table_t *table);

/** Column types. Logical types refine them (see ::fstore_logical_t). */
typedef enum fstore_type_t {
    FSTORE_TYPE_BOOLEAN = 0,
    FSTORE_TYPE_INT = 1,
    FSTORE_TYPE_LONG = 2,
    FSTORE_TYPE_FLOAT = 3,
    FSTORE_TYPE_DOUBLE = 4,
    FSTORE_TYPE_STRING = 5,
    FSTORE_TYPE_BYTES = 6,
    FSTORE_TYPE_ENUM = 7,
    FSTORE_TYPE_FIXED = 8,
    FSTORE_TYPE_ARRAY_FLOAT = 9,
    FSTORE_TYPE_ARRAY_DOUBLE = 10,
    FSTORE_TYPE_ARRAY_INT = 11,
    FSTORE_TYPE_ARRAY_LONG = 12,
} fstore_type_t;

/** Avro logical types carried by columns. */
typedef enum fstore_logical_t {
    FSTORE_LOGICAL_NONE = 0,
    FSTORE_LOGICAL_DATE = 1,             /**< int: days since the epoch */
    FSTORE_LOGICAL_TIME_MILLIS = 2,      /**< int */
    FSTORE_LOGICAL_TIME_MICROS = 3,      /**< long */
    FSTORE_LOGICAL_TIMESTAMP_MILLIS = 4, /**< long */
    FSTORE_LOGICAL_TIMESTAMP_MICROS = 5, /**< long */
    FSTORE_LOGICAL_LOCAL_TIMESTAMP_MILLIS = 6, /**< long */
    FSTORE_LOGICAL_LOCAL_TIMESTAMP_MICROS = 7, /**< long */
    FSTORE_LOGICAL_UUID = 8,             /**< string */
} fstore_logical_t;

/** @return the number of columns. Any thread. */
FSTORE_API int fstore_table_column_count(const fstore_table_t *table);

/** @return the index of column @p name, or -1. Any thread. */
FSTORE_API int fstore_table_column_index(const fstore_table_t *table,
                                         const char *name);

/** @return column @p col's name, or NULL when out of range. Any thread. */
FSTORE_API const char *fstore_table_column_name(const fstore_table_t *table,
                                                int col);

/** @return column @p col's type, or -1 when out of range. Any thread. */
FSTORE_API int fstore_table_column_type(const fstore_table_t *table, int col);

/** @return column @p col's logical type, or -1 when out of range. */
FSTORE_API int fstore_table_column_logical(const fstore_table_t *table,
                                           int col);

/** @return 1 if column @p col may be null, 0 if not, -1 out of range. */
FSTORE_API int fstore_table_column_nullable(const fstore_table_t *table,
                                            int col);

/**
 * @return for an enum column, the number of symbols; for a fixed column, its
 *         size in bytes; otherwise 0. -1 when out of range. Any thread.
 */
FSTORE_API int fstore_table_column_size(const fstore_table_t *table, int col);

/** @return symbol @p i of enum column @p col, or NULL. Any thread. */
FSTORE_API const char *fstore_table_enum_symbol(const fstore_table_t *table,
                                                int col, int i);

/**
 * Registers writer schema @p schema_json under Schema Registry id @p id in
 * the store, so records carrying that id decode without any other source.
 * Registering the same schema again is a no-op; a different schema under a
 * known id is ::FSTORE_ERR_SCHEMA_MISMATCH.
 * @return ::FSTORE_OK, ::FSTORE_ERR_WRITER_SCHEMA, ::FSTORE_ERR_READ_ONLY,
 *         ::FSTORE_ERR_SCHEMA_MISMATCH, storage errors. Any thread.
 */
FSTORE_API fstore_err_t fstore_schema_register(fstore_store_t *store,
                                               int32_t id,
                                               const char *schema_json,
                                               char *errstr,
                                               size_t errstr_size);

/** @} */

/**
 * @defgroup reader Reading
 *
 * A reader reads one consistent snapshot of the store until it is refreshed.
 * Readers never block the writer or one another. Use one reader per thread;
 * a reader may move between threads if calls on it are serialised.
 * @{
 */
typedef struct fstore_reader_s fstore_reader_t;

/** A row view: points into the memory map. See the zero-copy rule below. */
typedef struct fstore_row_s fstore_row_t;

/**
 * Creates a reader on @p store. It takes its snapshot at the first lookup.
 * @return ::FSTORE_OK, ::FSTORE_ERR_NO_MEMORY. Any thread.
 */
FSTORE_API fstore_err_t fstore_reader_new(fstore_store_t *store,
                                          fstore_reader_t **readerp);

/** Destroys @p reader (NULL is fine); its row views become invalid. */
FSTORE_API void fstore_reader_destroy(fstore_reader_t *reader);

/**
 * Moves @p reader to the newest committed snapshot. Row views it returned
 * before become invalid.
 * @return ::FSTORE_OK, ::FSTORE_ERR_READERS_FULL, ::FSTORE_ERR_STORAGE.
 * One thread at a time per reader.
 */
FSTORE_API fstore_err_t fstore_reader_refresh(fstore_reader_t *reader);

/**
 * Releases @p reader's snapshot (so old pages can be reused) until the next
 * lookup, which takes a fresh one. Row views become invalid.
 * One thread at a time per reader.
 */
FSTORE_API void fstore_reader_reset(fstore_reader_t *reader);

/**
 * @return the message of the last failed call on @p reader ("" if none).
 *         Valid until the next call on @p reader.
 */
FSTORE_API const char *fstore_reader_errmsg(const fstore_reader_t *reader);

/**
 * Looks up @p key in @p table: one B-tree probe, no allocation.
 * On ::FSTORE_OK, @p *rowp points at the row inside the memory map.
 * Zero-copy rule: the view is valid until @p reader is refreshed, reset or
 * destroyed; never write through it or free it.
 * @return ::FSTORE_OK, ::FSTORE_NOT_FOUND (@p *rowp = NULL),
 *         ::FSTORE_ERR_KEY, ::FSTORE_ERR_CORRUPT, ::FSTORE_ERR_READERS_FULL,
 *         ::FSTORE_ERR_STORAGE, ::FSTORE_ERR_INVALID_ARG.
 * One thread at a time per reader.
 */
FSTORE_API fstore_err_t fstore_get(fstore_reader_t *reader,
                                   const fstore_table_t *table,
                                   const void *key, size_t key_len,
                                   const fstore_row_t **rowp);

/**
 * Reads the offset applied last for (@p table, @p partition) in the
 * reader's snapshot, i.e. the offset the rows reflect.
 * @return ::FSTORE_OK, ::FSTORE_NOT_FOUND (nothing applied yet), storage
 *         errors. One thread at a time per reader.
 */
FSTORE_API fstore_err_t fstore_reader_offset(fstore_reader_t *reader,
                                             const fstore_table_t *table,
                                             int32_t partition,
                                             int64_t *offset);

/**
 * Lists the partitions of @p table with applied offsets in the reader's
 * snapshot, ascending. Fills up to @p cap entries of @p partitions and
 * @p offsets (either may be NULL when @p cap is 0) and sets @p *count to the
 * total number. @return ::FSTORE_OK, storage errors.
 * One thread at a time per reader.
 */
FSTORE_API fstore_err_t fstore_reader_offsets(fstore_reader_t *reader,
                                              const fstore_table_t *table,
                                              int32_t *partitions,
                                              int64_t *offsets, size_t cap,
                                              size_t *count);

/**
 * Counts the rows of @p table in the reader's snapshot.
 * @return ::FSTORE_OK, storage errors. One thread at a time per reader.
 */
FSTORE_API fstore_err_t fstore_reader_row_count(fstore_reader_t *reader,
                                                const fstore_table_t *table,
                                                uint64_t *count);

/** @} */

/**
 * @defgroup rows Row views
 *
 * Accessors read straight out of the row; each is O(1) and allocates
 * nothing. They take the table the row came from. Pointers they return
 * follow the zero-copy rule of fstore_get(). Thread: as the reader.
 * @{
 */

/** @return the Kafka record timestamp (ms since the epoch) of the row. */
FSTORE_API int64_t fstore_row_timestamp(const fstore_row_t *row);
/** @return the Kafka partition the row came from. */
FSTORE_API int32_t fstore_row_partition(const fstore_row_t *row);
/** @return the Kafka offset the row came from. */
FSTORE_API int64_t fstore_row_offset(const fstore_row_t *row);
/** @return the writer schema id of the record (-1 for raw Avro). */
FSTORE_API int32_t fstore_row_schema_id(const fstore_row_t *row);

/**
 * Recomputes the body checksum. @return ::FSTORE_OK or ::FSTORE_ERR_CORRUPT.
 */
FSTORE_API fstore_err_t fstore_row_verify(const fstore_row_t *row);

/**
 * @return 1 when column @p col is null, 0 when it has a value, -1 when
 *         @p col is out of range.
 */
FSTORE_API int fstore_row_is_null(const fstore_table_t *table,
                                  const fstore_row_t *row, int col);

/**
 * Typed accessors. Each returns ::FSTORE_OK, ::FSTORE_NULL (the value is
 * null; @p *out untouched), ::FSTORE_ERR_TYPE (the column's type does not
 * convert without loss), or ::FSTORE_ERR_NO_COLUMN.
 * - fstore_row_bool: boolean.
 * - fstore_row_int: int (incl. date, time-millis), enum (symbol index).
 * - fstore_row_long: int or long (incl. timestamps).
 * - fstore_row_float: float.
 * - fstore_row_double: int, long, float or double.
 */
FSTORE_API fstore_err_t fstore_row_bool(const fstore_table_t *table,
                                        const fstore_row_t *row, int col,
                                        int *out);
FSTORE_API fstore_err_t fstore_row_int(const fstore_table_t *table,
                                       const fstore_row_t *row, int col,
                                       int32_t *out);
FSTORE_API fstore_err_t fstore_row_long(const fstore_table_t *table,
                                        const fstore_row_t *row, int col,
                                        int64_t *out);
FSTORE_API fstore_err_t fstore_row_float(const fstore_table_t *table,
                                         const fstore_row_t *row, int col,
                                         float *out);
FSTORE_API fstore_err_t fstore_row_double(const fstore_table_t *table,
                                          const fstore_row_t *row, int col,
                                          double *out);

/**
 * String, bytes, fixed and enum values. For strings @p *data is followed by
 * a NUL byte (not counted in @p *len); for enums it is the symbol name.
 * @return as the typed accessors above, or ::FSTORE_ERR_CORRUPT for an enum
 *         index outside the serving schema's symbols.
 */
FSTORE_API fstore_err_t fstore_row_bytes(const fstore_table_t *table,
                                         const fstore_row_t *row, int col,
                                         const char **data, size_t *len);

/**
 * Array columns, zero-copy: @p *data points at @p *count little-endian
 * elements of the column's element type (4 bytes for int/float, 8 for
 * long/double), possibly unaligned. @return as the typed accessors above.
 */
FSTORE_API fstore_err_t fstore_row_array(const fstore_table_t *table,
                                         const fstore_row_t *row, int col,
                                         const void **data, size_t *count);

/**
 * Array columns, converted: copies up to @p cap elements as float32 into
 * @p out and sets @p *count to the array's length.
 * @return as the typed accessors above, or ::FSTORE_ERR_RANGE when
 *         @p cap < @p *count (the first @p cap elements are written).
 */
FSTORE_API fstore_err_t fstore_row_array_float(const fstore_table_t *table,
                                               const fstore_row_t *row,
                                               int col, float *out, size_t cap,
                                               size_t *count);

/** @} */

/**
 * @defgroup bulk Reading many rows: batch lookups and scans
 *
 * Lookups of many keys in one call, and cursors over every row of a
 * table, both in a reader's snapshot. The same lookups as Arrow columns:
 * fstore_get_batch_arrow() in @ref unstable.
 * @{
 */

/**
 * Looks up @p nkeys keys and writes the chosen numeric columns of each into
 * a row-major float32 matrix, with no allocation per key.
 * Row i of the output starts at @p out + i * @p row_stride and holds
 * @p ncols values in the order of @p cols. Boolean → 0/1, enum → symbol
 * index, int/long/double → float. A missing key or a null value → NaN.
 * @param keys,key_lens the keys; @param found if not NULL, receives 1 or 0
 *        per key. @param row_stride in floats, at least @p ncols.
 * @return ::FSTORE_OK (missing keys are not errors), ::FSTORE_ERR_TYPE (a
 *         column is a string, bytes, fixed or array column),
 *         ::FSTORE_ERR_NO_COLUMN, ::FSTORE_ERR_KEY (an empty key),
 *         ::FSTORE_ERR_INVALID_ARG, storage errors. On error the output is
 *         unspecified. One thread at a time per reader.
 */
FSTORE_API fstore_err_t fstore_get_batch(fstore_reader_t *reader,
                                         const fstore_table_t *table,
                                         size_t nkeys,
                                         const void *const *keys,
                                         const size_t *key_lens,
                                         const int *cols, size_t ncols,
                                         float *out, size_t row_stride,
                                         uint8_t *found);

typedef struct fstore_cursor_s fstore_cursor_t;

/**
 * Opens a cursor over every row of @p table in @p reader's snapshot, in
 * key order (bytes, then length; keys of 480 bytes or more come in the
 * order of their stored digest form). The cursor is valid until the reader
 * is refreshed, reset or destroyed; close it before that.
 * @return ::FSTORE_OK, ::FSTORE_ERR_NO_MEMORY, storage errors.
 * One thread at a time per reader.
 */
FSTORE_API fstore_err_t fstore_cursor_open(fstore_reader_t *reader,
                                           const fstore_table_t *table,
                                           fstore_cursor_t **cursorp);

/**
 * Moves to the next row: @p *key (@p *key_len bytes, the full Kafka key)
 * and @p *row point into the memory map under the zero-copy rule of
 * fstore_get().
 * @return ::FSTORE_OK, ::FSTORE_NOT_FOUND past the last row,
 *         ::FSTORE_ERR_CORRUPT, storage errors.
 */
FSTORE_API fstore_err_t fstore_cursor_next(fstore_cursor_t *cursor,
                                           const void **key, size_t *key_len,
                                           const fstore_row_t **row);

/** Closes @p cursor (NULL is fine). */
FSTORE_API void fstore_cursor_close(fstore_cursor_t *cursor);

/** @} */

/**
 * @defgroup batch Writing: apply batches
 *
 * A batch collects upserts, deletes and consumed offsets, then applies them
 * all and the new per-partition offsets in one transaction: after any crash
 * the rows and the offsets agree. One batch may be open per store at a time.
 * @{
 */
typedef struct fstore_batch_s fstore_batch_t;

/**
 * Starts a batch on writable @p store.
 * @return ::FSTORE_OK, ::FSTORE_ERR_READ_ONLY, ::FSTORE_ERR_STATE (a batch
 *         is already open), ::FSTORE_ERR_NO_MEMORY. Any thread.
 */
FSTORE_API fstore_err_t fstore_batch_begin(fstore_store_t *store,
                                           fstore_batch_t **batchp);

/**
 * Decodes one Kafka record's @p value (@p value_len bytes, framed per the
 * table's format) into the table's row layout and queues the upsert of @p key.
 * @p value NULL is a tombstone: the key is deleted.
 * The record's @p offset counts as consumed for (@p table, @p partition)
 * whether it applies or fails to decode, so an undecodable record is not
 * retried forever; except on ::FSTORE_ERR_IO (a schema registry could not
 * be reached) and ::FSTORE_ERR_NO_MEMORY, after which the same record may
 * be put again later.
 * @p timestamp_ms is the record's timestamp, kept as row metadata.
 * @return ::FSTORE_OK, ::FSTORE_ERR_KEY (empty key: record skipped), a
 *         decode error (record skipped; message in @p errstr),
 *         ::FSTORE_ERR_IO, ::FSTORE_ERR_INVALID_ARG, ::FSTORE_ERR_NO_MEMORY.
 * One thread at a time per batch. Keys and values are copied.
 */
FSTORE_API fstore_err_t fstore_batch_put(fstore_batch_t *batch,
                                         const fstore_table_t *table,
                                         const void *key, size_t key_len,
                                         const void *value, size_t value_len,
                                         int32_t partition, int64_t offset,
                                         int64_t timestamp_ms, char *errstr,
                                         size_t errstr_size);

/**
 * Marks @p offset of (@p table, @p partition) consumed without a record
 * (e.g. a record skipped before decoding). Offsets only move forward.
 * @return ::FSTORE_OK, ::FSTORE_ERR_INVALID_ARG, ::FSTORE_ERR_NO_MEMORY.
 * One thread at a time per batch.
 */
FSTORE_API fstore_err_t fstore_batch_advance(fstore_batch_t *batch,
                                             const fstore_table_t *table,
                                             int32_t partition,
                                             int64_t offset);

/** @return records queued in @p batch (puts and deletes). */
FSTORE_API size_t fstore_batch_size(const fstore_batch_t *batch);

/**
 * Applies everything queued and the offsets in one transaction, growing the
 * memory map if needed, and frees @p batch whatever the outcome.
 * @return ::FSTORE_OK, ::FSTORE_ERR_MAP_FULL, ::FSTORE_ERR_IO,
 *         ::FSTORE_ERR_STORAGE (nothing was applied on any error).
 * One thread at a time per batch.
 */
FSTORE_API fstore_err_t fstore_batch_commit(fstore_batch_t *batch,
                                            char *errstr, size_t errstr_size);

/** Discards @p batch: nothing is applied (NULL is fine). */
FSTORE_API void fstore_batch_abort(fstore_batch_t *batch);

/** @} */

/**
 * @defgroup tail Tailing Kafka
 *
 * A writable store can keep its tables current from their Kafka topics
 * with one background thread. It assigns every partition of each added
 * topic (or the listed ones) itself, with no consumer group, and starts
 * each partition at its stored offset + 1, or at the beginning. Records are
 * read with isolation.level=read_committed and applied in batches whose
 * offsets commit in the same transaction as their rows, so a crash at any
 * moment resumes exactly where the store left off.
 *
 * Undecodable records, records of unknown or unresolvable writer schemas
 * and records without a key are skipped, counted by reason, logged with
 * topic, partition and offset, and never stop the tailer. Broker outages
 * only delay the view: readers keep serving and catch-up resumes.
 *
 * A batch that does not fit (the store's file system is full, or its
 * memory map is at store.map_size.max) pauses the tailer: nothing of the
 * batch was applied, fstore_tail_error(), the statistics and an error line
 * of the log say what is full, how much is free and what to do, readers
 * keep serving the last commit, and the tailer reads the records again
 * from the stored offsets and retries (after 1 s, doubling up to 30 s). It
 * resumes by itself once there is room; a restart resumes as well.
 * @{
 */

/**
 * Adds table @p table, fed by @p topic, to the store's tailer.
 * @param partitions NULL for every partition (including ones added to the
 *        topic later), or a list such as "0,2-5".
 * @return ::FSTORE_OK, ::FSTORE_ERR_READ_ONLY, ::FSTORE_ERR_STATE (the
 *         tailer already runs, or the table was added), ::FSTORE_ERR_CONF
 *         (bad partition list), ::FSTORE_ERR_INVALID_ARG.
 * Any thread.
 */
FSTORE_API fstore_err_t fstore_tail_add(fstore_store_t *store,
                                        const fstore_table_t *table,
                                        const char *topic,
                                        const char *partitions, char *errstr,
                                        size_t errstr_size);

/**
 * Starts the tailer thread. It first captures the end offset of every
 * assigned partition; fstore_tail_wait_ready() waits until the view has
 * caught up with them. With TLS or SASL (kafka.security.protocol), it
 * first waits for the broker's first answer, up to 10 s: a refused login
 * or an unverifiable certificate fails here (docs/cli.md, "Security").
 * @return ::FSTORE_OK, ::FSTORE_ERR_CONF (no kafka.bootstrap.servers, or a
 *         Kafka property librdkafka refuses), ::FSTORE_ERR_STATE (already
 *         running, or no table added), ::FSTORE_ERR_KAFKA (also a refused
 *         login or certificate).
 * Any thread.
 */
FSTORE_API fstore_err_t fstore_tail_start(fstore_store_t *store, char *errstr,
                                          size_t errstr_size);

/**
 * Blocks until every assigned partition's consumer position has reached
 * the end offset captured at start (bootstrap complete), up to
 * @p timeout_ms (-1: no limit).
 * @return ::FSTORE_OK, ::FSTORE_ERR_TIMED_OUT, ::FSTORE_ERR_STATE (not
 *         started, or the tailer stopped on an error: see
 *         fstore_tail_error()). Any thread.
 */
FSTORE_API fstore_err_t fstore_tail_wait_ready(fstore_store_t *store,
                                               int timeout_ms);

/**
 * Stops the tailer: applies what was consumed, joins the thread and
 * returns. Also done by fstore_store_close(). Calling it when the tailer is
 * not running is fine. @return ::FSTORE_OK, or the error that stopped the
 * tailer earlier (or the pause it was in: what it consumed since the last
 * commit was not applied, and the next start reads it again). Any thread
 * but the tailer's (the log callback).
 */
FSTORE_API fstore_err_t fstore_tail_stop(fstore_store_t *store);

/**
 * Copies the message of the error that stopped the tailer ("" if none)
 * into @p buf, or, while the tailer is paused because a batch does not fit
 * (it retries by itself, see above), the message of that pause: then the
 * code is ::FSTORE_ERR_IO (the file system is full or cannot be written)
 * or ::FSTORE_ERR_MAP_FULL, fstore_tail_wait_ready() still waits instead of
 * returning ::FSTORE_ERR_STATE, and the error clears once a retry applies.
 * @return that error's code, or ::FSTORE_OK. Any thread.
 */
FSTORE_API fstore_err_t fstore_tail_error(fstore_store_t *store, char *buf,
                                          size_t size);

/** @} */

/**
 * @defgroup stats Statistics
 *
 * The call is stable; the fields of the document it returns are not yet
 * (see @ref unstable).
 * @{
 */

/**
 * Statistics as a JSON document (see docs/stats.md), written to
 * @p *json, to be freed with fstore_free(). In the tailing process the
 * figures are live; in other processes they are what the tailer last
 * recorded in the store (every tail.stats_interval_ms) plus the store's
 * own offsets and row counts.
 * @return ::FSTORE_OK, ::FSTORE_ERR_NO_MEMORY, storage errors. Any thread.
 */
FSTORE_API fstore_err_t fstore_stats_json(fstore_store_t *store, char **json);

/** @} */

/**
 * @defgroup snapshot Snapshots and restore
 *
 * A snapshot file is a consistent copy of a whole store, from which a new
 * store is created. The calls are stable; the file's format is not yet
 * (see @ref unstable).
 * @{
 */

/**
 * Writes a consistent point-in-time copy of @p store to file @p path: every
 * table, the serving and writer schemas and the per-partition offsets of
 * one snapshot, taken in one read transaction while the tailer keeps
 * running. The content is one zstd stream (compressed by
 * `store.snapshot_threads` threads; memory stays bounded whatever the
 * store's size) with a format version, an entry count and zstd's content
 * checksum. It is written to a temporary name, synced and renamed, so
 * @p path never holds a partial snapshot.
 * @return ::FSTORE_OK, ::FSTORE_ERR_IO, ::FSTORE_ERR_NO_MEMORY, storage
 *         errors. Any thread.
 */
FSTORE_API fstore_err_t fstore_snapshot(fstore_store_t *store,
                                        const char *path, char *errstr,
                                        size_t errstr_size);

/**
 * The same snapshot as fstore_snapshot(), streamed to file descriptor
 * @p fd (a pipe, a socket, standard output) as it is made: the format
 * writes nothing after the fact, so it needs no seeking. @p fd is neither
 * synced nor closed. A failed snapshot has written part of a stream that
 * restore refuses (it ends without its end record and checksum).
 * @return as fstore_snapshot().
 */
FSTORE_API fstore_err_t fstore_snapshot_fd(fstore_store_t *store, int fd,
                                           char *errstr, size_t errstr_size);

/**
 * Creates the store in directory @p dir (absent, or empty: a mount point
 * will do) from the snapshot at @p source: a file path, `-` for standard
 * input, or an `http://` / `https://` URL, streamed with libcurl (an
 * HTTP error status, 400 or above, fails; redirects are followed, to http(s)
 * only). The stream is restored as it arrives and
 * checked entry by entry (version, every row against its table's layout,
 * key order, entry count, checksum); the store is built in a temporary
 * directory inside @p dir and its file moved into place only once all of
 * it verified, so @p dir holds a complete store or none, also after a
 * crash (a later restore removes what a dead one left). Tailing the
 * restored store resumes at the snapshot's offsets. Snapshots written by
 * earlier versions of this format are read too. Messages show a URL
 * without its user information and query string. Decompression runs on a
 * thread of its own, ahead of the checks and writes. Durability follows
 * `store.sync`: under `none` (the default) nothing waits for the disk and
 * a machine crash before the pages reach it empties the store at its next
 * writable open; otherwise the store is synced before it moves into place.
 * @param conf store properties for the new store (may be NULL).
 * @return ::FSTORE_OK, ::FSTORE_ERR_CORRUPT (damaged or truncated),
 *         ::FSTORE_ERR_VERSION, ::FSTORE_ERR_IO (unreadable source, HTTP
 *         error, @p dir not empty), ::FSTORE_ERR_NO_MEMORY, storage errors.
 *         Any thread.
 */
FSTORE_API fstore_err_t fstore_restore(const char *source, const char *dir,
                                       const fstore_conf_t *conf, char *errstr,
                                       size_t errstr_size);

/**
 * fstore_restore() from file descriptor @p fd, read to its end and not
 * closed.
 */
FSTORE_API fstore_err_t fstore_restore_fd(int fd, const char *dir,
                                          const fstore_conf_t *conf,
                                          char *errstr, size_t errstr_size);

/** @} */

/**
 * @defgroup verify Verification
 *
 * A check of a whole store, as `fstore verify` runs it. The call is
 * stable; the fields of its report are not yet (see @ref unstable).
 * @{
 */

/**
 * Progress of fstore_verify(): @p rows_checked rows so far, of about
 * @p rows_total (the rows when the check began). Runs on the thread that
 * called fstore_verify(), every few thousand rows and at the end.
 * @return 0 to go on, anything else to stop the check.
 */
typedef int(fstore_verify_cb)(void *opaque, uint64_t rows_checked,
                              uint64_t rows_total);

/**
 * Checks the whole of @p store as a reader (it never blocks the writer,
 * in this process or another; open the store read-only to check one that
 * `fstore tail` writes). Every row of every table: its header, its fit to
 * the table's serving schema, its body checksum, its key (and the full key
 * kept after the body of a long key), and its offset against the stored
 * offset of its partition; every metadata entry (table definitions, writer
 * schemas, stored offsets, which must belong to a table); the key order of
 * every database, and LMDB's page accounting (every page of the file is in
 * exactly one tree or on the free list; checked in a moment when the
 * writer is not committing, else skipped and said so). The check renews
 * its snapshot about twice a second, so a long check does not pin pages.
 * @param progress may be NULL; @p opaque is passed to it.
 * @param report receives the report, a JSON document (docs/cli.md,
 *        `fstore verify --json`: per damage its kind, table, key shown
 *        printable and escaped, what is wrong, expected and found) to free
 *        with fstore_free(), on ::FSTORE_OK and ::FSTORE_ERR_CORRUPT; else
 *        NULL.
 * @return ::FSTORE_OK (no damage), ::FSTORE_ERR_CORRUPT (damage found:
 *         the report lists it), ::FSTORE_ERR_STATE (@p progress stopped
 *         the check), ::FSTORE_ERR_NO_MEMORY, ::FSTORE_ERR_INVALID_ARG,
 *         storage errors (the check could not run; message in @p errstr).
 * Any thread.
 */
FSTORE_API fstore_err_t fstore_verify(fstore_store_t *store,
                                      fstore_verify_cb *progress, void *opaque,
                                      char **report, char *errstr,
                                      size_t errstr_size);

/** @} */

/**
 * @defgroup util Utilities
 * @{
 */

/** Frees memory returned by fstore (NULL is fine). Any thread. */
FSTORE_API void fstore_free(void *p);

/**
 * @return the partition Kafka's default partitioner (murmur2, as the Java
 *         client) assigns @p key among @p partition_count partitions, or -1
 *         when @p partition_count < 1. Any thread.
 */
FSTORE_API int32_t fstore_partition_for_key(const void *key, size_t key_len,
                                            int32_t partition_count);

/** @} */

/**
 * @defgroup unstable Not yet stable
 *
 * The interfaces of this section, and the formats listed below, are not yet
 * stable: any minor release may change them incompatibly, or remove them.
 * They are declared like the rest of the header, with nothing to define to
 * use them. Everything else in this header is the stable API, which follows
 * semantic versioning once fstore reaches 1.0.
 *
 * Declared here:
 * - The Arrow export, fstore_get_batch_arrow(): the Arrow type each column
 *   maps to, and the fields "key" and "found" beside the columns, may
 *   change.
 * - fstore_row_checksum(): its value is defined by the row format
 *   (docs/row-format.md), which may change with the store format version.
 *   fstore_row_verify() is the stable way to check a row.
 * - The aggregator (fstore_aggregator_new() and the rest): new, and its
 *   statistics and state format may change.
 *
 * Formats of stable calls:
 * - The fields of the statistics document of fstore_stats_json()
 *   (docs/stats.md): fields may be added, renamed or removed.
 * - The snapshot file of fstore_snapshot(): a snapshot is restored by the
 *   fstore version that wrote it; fstore_restore() of another version may
 *   refuse it with ::FSTORE_ERR_VERSION.
 * - The fields of the report of fstore_verify() (docs/cli.md): fields and
 *   kinds of damage may be added, renamed or removed.
 * - The order in which fstore_cursor_next() returns keys of 480 bytes or
 *   more.
 * @{
 */

/**
 * @name Arrow export
 *
 * Batch lookups as Apache Arrow columns through the Arrow C Data Interface,
 * which numpy-free consumers (pyarrow, pandas, polars, DuckDB) import
 * without copying. The two structs are the interface's own definitions.
 * @{
 */
#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE
#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4
struct ArrowSchema {
    const char *format;
    const char *name;
    const char *metadata;
    int64_t flags;
    int64_t n_children;
    struct ArrowSchema **children;
    struct ArrowSchema *dictionary;
    void (*release)(struct ArrowSchema *);
    void *private_data;
};
struct ArrowArray {
    int64_t length;
    int64_t null_count;
    int64_t offset;
    int64_t n_buffers;
    int64_t n_children;
    const void **buffers;
    struct ArrowArray **children;
    struct ArrowArray *dictionary;
    void (*release)(struct ArrowArray *);
    void *private_data;
};
#endif /* ARROW_C_DATA_INTERFACE */

/**
 * Looks up @p nkeys keys and exports the chosen columns as one Arrow struct
 * array (a record batch) of @p nkeys rows: field "key" (binary), field
 * "found" (boolean), then each column of @p cols by name, nullable, typed
 * as its column: boolean, int32, int64, float32, float64, utf8 (string and
 * enum symbols), binary, fixed_size_binary, and list of int32/int64/
 * float32/float64 for arrays; date32, time32[ms], time64[us] and
 * timestamp[ms|us] (UTC for timestamp-*, no zone for local-timestamp-*) for
 * those logical types. A missing key gives nulls in every column.
 * The values are copied out of the map into buffers owned by the exported
 * arrays, so the result outlives the reader's snapshot; release both structs
 * with their release callbacks (importers such as pyarrow do).
 * @return ::FSTORE_OK, ::FSTORE_ERR_NO_COLUMN, ::FSTORE_ERR_KEY,
 *         ::FSTORE_ERR_NO_MEMORY, ::FSTORE_ERR_INVALID_ARG, storage errors;
 *         on error nothing is exported. One thread at a time per reader.
 */
FSTORE_API fstore_err_t fstore_get_batch_arrow(
    fstore_reader_t *reader, const fstore_table_t *table, size_t nkeys,
    const void *const *keys, const size_t *key_lens, const int *cols,
    size_t ncols, struct ArrowSchema *schema_out,
    struct ArrowArray *array_out);

/** @} */

/**
 * @name Row checksum
 * @{
 */

/** @return the row's stored XXH3-64 checksum of its body. */
FSTORE_API uint64_t fstore_row_checksum(const fstore_row_t *row);

/** @} */

/**
 * @name Aggregation
 *
 * An aggregator turns a topic of raw events into a compacted topic of
 * per-entity window features (counts, sums, means, minima, maxima over
 * several windows, and last values), exactly once, as `fstore aggregate`
 * does; the spec, the window semantics and the state are described in
 * docs/aggregate.md. Instances with the same aggregate.group share the
 * events' partitions through Kafka's consumer group protocol.
 * @{
 */

/** An aggregator: one spec, one state directory, its Kafka clients. */
typedef struct fstore_aggregator_s fstore_aggregator_t;

/**
 * Creates an aggregator for the spec @p spec_json (the events' schema file
 * it names is read relative to @p base_dir, NULL for the working
 * directory) with its local state in @p state_dir (created if absent).
 * @p conf gives kafka.* (kafka.bootstrap.servers is required), aggregate.*,
 * registry.url / schemas.dir for the events' writer schemas, store.* for the
 * state; it is copied. Connects, creates the output and changelog topics
 * where absent (compacted, partitioned as the events), writes or checks the
 * output schema in schemas.dir, and initializes transactions (fencing an
 * earlier incarnation of the same instance). With TLS or SASL, a refused
 * login or an unverifiable certificate fails here, within a handshake, as
 * ::FSTORE_ERR_KAFKA (docs/cli.md, "Security").
 * @return ::FSTORE_OK; ::FSTORE_ERR_CONF (a mistake in the spec or conf,
 *         named in @p errstr), ::FSTORE_ERR_SCHEMA_MISMATCH (the state
 *         directory or schema file belongs to another spec),
 *         ::FSTORE_ERR_LOCKED (another process uses the state),
 *         ::FSTORE_ERR_KAFKA, storage errors. Any thread.
 */
FSTORE_API fstore_err_t fstore_aggregator_new(const char *spec_json,
                                              const char *base_dir,
                                              const char *state_dir,
                                              const fstore_conf_t *conf,
                                              fstore_aggregator_t **aggp,
                                              char *errstr, size_t errstr_size);

/**
 * Runs the aggregator on the calling thread: joins the group, restores the
 * state of assigned partitions from the changelog's tail, and aggregates
 * until fstore_aggregator_stop() is called, a fatal error happens, or,
 * with @p until_caught_up, every assigned partition is consumed to its end
 * offset captured when it was assigned and everything is committed. Then it
 * commits what it holds and leaves the group. @p timeout_ms (-1: none)
 * bounds the run. Runs once per aggregator: a second call (also one
 * concurrent with the first) gets ::FSTORE_ERR_STATE.
 * @return ::FSTORE_OK, ::FSTORE_ERR_TIMED_OUT, ::FSTORE_ERR_KAFKA (e.g.
 *         fenced by a newer instance of the same id, or ten transactions
 *         in a row aborted), ::FSTORE_ERR_STATE, storage errors; the
 *         reason in @p errstr.
 */
FSTORE_API fstore_err_t fstore_aggregator_run(fstore_aggregator_t *agg,
                                              int until_caught_up,
                                              int timeout_ms, char *errstr,
                                              size_t errstr_size);

/**
 * Asks a running fstore_aggregator_run() to commit and return. Any thread,
 * and safe in a signal handler. Called before the run starts, it makes
 * the run return at once.
 */
FSTORE_API void fstore_aggregator_stop(fstore_aggregator_t *agg);

/**
 * The aggregator's figures as JSON (events, late_dropped, skipped by
 * reason, emitted, tombstones, entities, commits, aborts, restored records,
 * commit time percentiles, per-partition stream time and position), in a
 * string to release with fstore_free(). The counts are of committed work
 * (an aborted and replayed event counts once); the figures move at each
 * commit. Any thread, also while it runs.
 * @return ::FSTORE_OK, ::FSTORE_ERR_NO_MEMORY, ::FSTORE_ERR_INVALID_ARG.
 */
FSTORE_API fstore_err_t fstore_aggregator_stats_json(fstore_aggregator_t *agg,
                                                     char **json);

/** Closes the aggregator (not while it runs). Accepts NULL. */
FSTORE_API void fstore_aggregator_destroy(fstore_aggregator_t *agg);

/** @} */

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* FSTORE_H */
