/*
 * The declarations of libfstore/include/fstore/fstore.h that the Python
 * bindings use, in the dialect cffi parses: no preprocessor logic, no
 * FSTORE_API, `...` for values the compiler supplies. cffi's API mode
 * compiles the extension against the real header, so any drift between this
 * file and the header (a changed signature, enum value or struct field)
 * fails the build instead of corrupting memory at run time.
 * tests/python/test_cdef.py checks that every function of the header is
 * declared here.
 */

/* Version */
#define FSTORE_VERSION_MAJOR ...
#define FSTORE_VERSION_MINOR ...
#define FSTORE_VERSION_PATCH ...
#define FSTORE_VERSION_NUMBER ...
unsigned fstore_version_number(void);
const char *fstore_version_str(void);

/* Errors */
typedef enum fstore_err_t {
    FSTORE_OK = 0,
    FSTORE_NOT_FOUND = 1,
    FSTORE_NULL = 2,
    FSTORE_ERR_INVALID_ARG = 100,
    FSTORE_ERR_NO_MEMORY = 101,
    FSTORE_ERR_CONF = 102,
    FSTORE_ERR_NO_TABLE = 103,
    FSTORE_ERR_NO_COLUMN = 104,
    FSTORE_ERR_TYPE = 105,
    FSTORE_ERR_READ_ONLY = 106,
    FSTORE_ERR_STATE = 107,
    FSTORE_ERR_KEY = 108,
    FSTORE_ERR_SCHEMA = 109,
    FSTORE_ERR_SCHEMA_MISMATCH = 110,
    FSTORE_ERR_RANGE = 111,
    FSTORE_ERR_TIMED_OUT = 112,
    FSTORE_ERR_IO = 200,
    FSTORE_ERR_CORRUPT = 201,
    FSTORE_ERR_VERSION = 202,
    FSTORE_ERR_LOCKED = 203,
    FSTORE_ERR_READERS_FULL = 204,
    FSTORE_ERR_MAP_FULL = 205,
    FSTORE_ERR_STORAGE = 206,
    FSTORE_ERR_NO_STORE = 207,
    FSTORE_ERR_KAFKA = 300,
    FSTORE_ERR_DECODE_FRAME = 400,
    FSTORE_ERR_DECODE_SCHEMA_ID = 401,
    FSTORE_ERR_DECODE_TRUNCATED = 402,
    FSTORE_ERR_DECODE_MALFORMED = 403,
    FSTORE_ERR_DECODE_TRAILING = 404,
    FSTORE_ERR_RESOLVE = 405,
    FSTORE_ERR_WRITER_SCHEMA = 406
} fstore_err_t;
const char *fstore_strerror(fstore_err_t err);
const char *fstore_err_name(fstore_err_t err);

/* Configuration */
typedef struct fstore_conf_s fstore_conf_t;
fstore_conf_t *fstore_conf_new(void);
fstore_conf_t *fstore_conf_dup(const fstore_conf_t *conf);
void fstore_conf_destroy(fstore_conf_t *conf);
fstore_err_t fstore_conf_set(fstore_conf_t *conf, const char *name,
                             const char *value, char *errstr,
                             size_t errstr_size);
fstore_err_t fstore_conf_get(const fstore_conf_t *conf, const char *name,
                             char *buf, size_t *size);
typedef void(fstore_log_cb)(void *opaque, int level, const char *msg);
fstore_err_t fstore_conf_set_log_cb(fstore_conf_t *conf, fstore_log_cb *cb,
                                    void *opaque);

/* Store and tables */
typedef struct fstore_store_s fstore_store_t;
typedef struct fstore_table_s fstore_table_t;
fstore_err_t fstore_store_open(const char *path, const fstore_conf_t *conf,
                               fstore_store_t **storep, char *errstr,
                               size_t errstr_size);
void fstore_store_close(fstore_store_t *store);
int fstore_store_read_only(const fstore_store_t *store);

typedef enum fstore_format_t {
    FSTORE_FORMAT_CONFLUENT = 0,
    FSTORE_FORMAT_AVRO = 1
} fstore_format_t;

fstore_err_t fstore_table_create(fstore_store_t *store, const char *name,
                                 const char *schema_json,
                                 fstore_format_t format,
                                 int32_t avro_schema_id,
                                 const fstore_table_t **tablep, char *errstr,
                                 size_t errstr_size);
fstore_err_t fstore_table_open(fstore_store_t *store, const char *name,
                               const fstore_table_t **tablep);
size_t fstore_table_count(fstore_store_t *store);
const fstore_table_t *fstore_table_at(fstore_store_t *store, size_t i);
const char *fstore_table_name(const fstore_table_t *table);
const char *fstore_table_schema(const fstore_table_t *table);
fstore_format_t fstore_table_format(const fstore_table_t *table);

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
    FSTORE_TYPE_ARRAY_LONG = 12
} fstore_type_t;

typedef enum fstore_logical_t {
    FSTORE_LOGICAL_NONE = 0,
    FSTORE_LOGICAL_DATE = 1,
    FSTORE_LOGICAL_TIME_MILLIS = 2,
    FSTORE_LOGICAL_TIME_MICROS = 3,
    FSTORE_LOGICAL_TIMESTAMP_MILLIS = 4,
    FSTORE_LOGICAL_TIMESTAMP_MICROS = 5,
    FSTORE_LOGICAL_LOCAL_TIMESTAMP_MILLIS = 6,
    FSTORE_LOGICAL_LOCAL_TIMESTAMP_MICROS = 7,
    FSTORE_LOGICAL_UUID = 8
} fstore_logical_t;

int fstore_table_column_count(const fstore_table_t *table);
int fstore_table_column_index(const fstore_table_t *table, const char *name);
const char *fstore_table_column_name(const fstore_table_t *table, int col);
int fstore_table_column_type(const fstore_table_t *table, int col);
int fstore_table_column_logical(const fstore_table_t *table, int col);
int fstore_table_column_nullable(const fstore_table_t *table, int col);
int fstore_table_column_size(const fstore_table_t *table, int col);
const char *fstore_table_enum_symbol(const fstore_table_t *table, int col,
                                     int i);
fstore_err_t fstore_schema_register(fstore_store_t *store, int32_t id,
                                    const char *schema_json, char *errstr,
                                    size_t errstr_size);

/* Reading */
typedef struct fstore_reader_s fstore_reader_t;
typedef struct fstore_row_s fstore_row_t;
fstore_err_t fstore_reader_new(fstore_store_t *store,
                               fstore_reader_t **readerp);
void fstore_reader_destroy(fstore_reader_t *reader);
fstore_err_t fstore_reader_refresh(fstore_reader_t *reader);
void fstore_reader_reset(fstore_reader_t *reader);
const char *fstore_reader_errmsg(const fstore_reader_t *reader);
fstore_err_t fstore_get(fstore_reader_t *reader, const fstore_table_t *table,
                        const void *key, size_t key_len,
                        const fstore_row_t **rowp);
fstore_err_t fstore_reader_offset(fstore_reader_t *reader,
                                  const fstore_table_t *table,
                                  int32_t partition, int64_t *offset);
fstore_err_t fstore_reader_offsets(fstore_reader_t *reader,
                                   const fstore_table_t *table,
                                   int32_t *partitions, int64_t *offsets,
                                   size_t cap, size_t *count);
fstore_err_t fstore_reader_row_count(fstore_reader_t *reader,
                                     const fstore_table_t *table,
                                     uint64_t *count);

/* Row views */
int64_t fstore_row_timestamp(const fstore_row_t *row);
int32_t fstore_row_partition(const fstore_row_t *row);
int64_t fstore_row_offset(const fstore_row_t *row);
int32_t fstore_row_schema_id(const fstore_row_t *row);
fstore_err_t fstore_row_verify(const fstore_row_t *row);
int fstore_row_is_null(const fstore_table_t *table, const fstore_row_t *row,
                       int col);
fstore_err_t fstore_row_bool(const fstore_table_t *table,
                             const fstore_row_t *row, int col, int *out);
fstore_err_t fstore_row_int(const fstore_table_t *table,
                            const fstore_row_t *row, int col, int32_t *out);
fstore_err_t fstore_row_long(const fstore_table_t *table,
                             const fstore_row_t *row, int col, int64_t *out);
fstore_err_t fstore_row_float(const fstore_table_t *table,
                              const fstore_row_t *row, int col, float *out);
fstore_err_t fstore_row_double(const fstore_table_t *table,
                               const fstore_row_t *row, int col, double *out);
fstore_err_t fstore_row_bytes(const fstore_table_t *table,
                              const fstore_row_t *row, int col,
                              const char **data, size_t *len);
fstore_err_t fstore_row_array(const fstore_table_t *table,
                              const fstore_row_t *row, int col,
                              const void **data, size_t *count);
fstore_err_t fstore_row_array_float(const fstore_table_t *table,
                                    const fstore_row_t *row, int col,
                                    float *out, size_t cap, size_t *count);

/* Reading many rows: batch lookups and scans */
fstore_err_t fstore_get_batch(fstore_reader_t *reader,
                              const fstore_table_t *table, size_t nkeys,
                              const void *const *keys, const size_t *key_lens,
                              const int *cols, size_t ncols, float *out,
                              size_t row_stride, uint8_t *found);
typedef struct fstore_cursor_s fstore_cursor_t;
fstore_err_t fstore_cursor_open(fstore_reader_t *reader,
                                const fstore_table_t *table,
                                fstore_cursor_t **cursorp);
fstore_err_t fstore_cursor_next(fstore_cursor_t *cursor, const void **key,
                                size_t *key_len, const fstore_row_t **row);
void fstore_cursor_close(fstore_cursor_t *cursor);

/* Writing: apply batches */
typedef struct fstore_batch_s fstore_batch_t;
fstore_err_t fstore_batch_begin(fstore_store_t *store,
                                fstore_batch_t **batchp);
fstore_err_t fstore_batch_put(fstore_batch_t *batch,
                              const fstore_table_t *table, const void *key,
                              size_t key_len, const void *value,
                              size_t value_len, int32_t partition,
                              int64_t offset, int64_t timestamp_ms,
                              char *errstr, size_t errstr_size);
fstore_err_t fstore_batch_advance(fstore_batch_t *batch,
                                  const fstore_table_t *table,
                                  int32_t partition, int64_t offset);
size_t fstore_batch_size(const fstore_batch_t *batch);
fstore_err_t fstore_batch_commit(fstore_batch_t *batch, char *errstr,
                                 size_t errstr_size);
void fstore_batch_abort(fstore_batch_t *batch);

/* Tailing Kafka */
fstore_err_t fstore_tail_add(fstore_store_t *store,
                             const fstore_table_t *table, const char *topic,
                             const char *partitions, char *errstr,
                             size_t errstr_size);
fstore_err_t fstore_tail_start(fstore_store_t *store, char *errstr,
                               size_t errstr_size);
fstore_err_t fstore_tail_wait_ready(fstore_store_t *store, int timeout_ms);
fstore_err_t fstore_tail_stop(fstore_store_t *store);
fstore_err_t fstore_tail_error(fstore_store_t *store, char *buf, size_t size);

/* Statistics */
fstore_err_t fstore_stats_json(fstore_store_t *store, char **json);

/* Snapshots and restore */
fstore_err_t fstore_snapshot(fstore_store_t *store, const char *path,
                             char *errstr, size_t errstr_size);
fstore_err_t fstore_snapshot_fd(fstore_store_t *store, int fd, char *errstr,
                                size_t errstr_size);
fstore_err_t fstore_restore(const char *source, const char *dir,
                            const fstore_conf_t *conf, char *errstr,
                            size_t errstr_size);
fstore_err_t fstore_restore_fd(int fd, const char *dir,
                               const fstore_conf_t *conf, char *errstr,
                               size_t errstr_size);

/* Verification */
typedef int(fstore_verify_cb)(void *opaque, uint64_t rows_checked,
                              uint64_t rows_total);
fstore_err_t fstore_verify(fstore_store_t *store, fstore_verify_cb *progress,
                           void *opaque, char **report, char *errstr,
                           size_t errstr_size);

/* Utilities */
void fstore_free(void *p);
int32_t fstore_partition_for_key(const void *key, size_t key_len,
                                 int32_t partition_count);

/* Not yet stable: the Arrow export (the Arrow C Data Interface's own
 * structs) and the row checksum. */
#define ARROW_FLAG_DICTIONARY_ORDERED ...
#define ARROW_FLAG_NULLABLE ...
#define ARROW_FLAG_MAP_KEYS_SORTED ...
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
fstore_err_t fstore_get_batch_arrow(fstore_reader_t *reader,
                                    const fstore_table_t *table, size_t nkeys,
                                    const void *const *keys,
                                    const size_t *key_lens, const int *cols,
                                    size_t ncols,
                                    struct ArrowSchema *schema_out,
                                    struct ArrowArray *array_out);
uint64_t fstore_row_checksum(const fstore_row_t *row);

typedef struct fstore_aggregator_s fstore_aggregator_t;
fstore_err_t fstore_aggregator_new(const char *spec_json, const char *base_dir,
                                   const char *state_dir,
                                   const fstore_conf_t *conf,
                                   fstore_aggregator_t **aggp, char *errstr,
                                   size_t errstr_size);
fstore_err_t fstore_aggregator_run(fstore_aggregator_t *agg,
                                   int until_caught_up, int timeout_ms,
                                   char *errstr, size_t errstr_size);
void fstore_aggregator_stop(fstore_aggregator_t *agg);
fstore_err_t fstore_aggregator_stats_json(fstore_aggregator_t *agg,
                                          char **json);
void fstore_aggregator_destroy(fstore_aggregator_t *agg);

/* Compiled into the extension (build_ffi.py), over the public API only:
 * reads every numeric scalar column of a row in one call for get(). */
int _fstore_py_row_scalars(const fstore_table_t *table, const fstore_row_t *row,
                           int ncols, int64_t *iv, double *dv, uint8_t *state);

/* The log callback the bindings install: it runs on the logging thread
 * (usually the tailer's) and takes the GIL. */
extern "Python" void _fstore_py_log(void *opaque, int level, const char *msg);

/* The progress callback of Store.verify(): it runs on the calling thread
 * and takes the GIL. */
extern "Python" int _fstore_py_verify_progress(void *opaque, uint64_t rows_checked,
                                               uint64_t rows_total);
