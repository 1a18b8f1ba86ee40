/*
 * Shared helpers of the Criterion unit suites: temporary stores, an avro-c
 * reference encoder with Confluent framing, and a "simple" table whose every
 * column is derived from one number, so a row can be checked for being whole.
 *
 * Helpers whose name does not end in _try assert through Criterion and so
 * may only run inside a test (not in a forked child of one).
 */
#ifndef FSTORE_TESTUTIL_H
#define FSTORE_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include <avro.h>

#include "fstore/fstore.h"

/* ---- temporary directories ---------------------------------------------- */

/** @return a new empty directory /tmp/fstore-unit-XXXXXX (malloc'd path). */
char *tu_tmpdir(void);

/** Removes @p path and everything under it (missing is fine). */
void tu_rmtree(const char *path);

/* Entries of directory dir whose names start with prefix (-1: no dir). */
int tu_count_prefixed(const char *dir, const char *prefix);

/** @return "dir/name" (malloc'd). */
char *tu_path(const char *dir, const char *name);

/** Writes @p len bytes of @p data to file @p path (asserts). */
void tu_write_file(const char *path, const void *data, size_t len);

/* ---- conf and store ------------------------------------------------------ */

/**
 * @return a conf with the NULL-terminated name/value pairs set (asserts
 *         each set succeeds). Caller destroys.
 */
fstore_conf_t *tu_conf(const char *name, ...);

/** Opens the store at @p dir with @p conf (may be NULL), asserting success. */
fstore_store_t *tu_store_open(const char *dir, const fstore_conf_t *conf);

/** As tu_store_open with store.read_only=true. */
fstore_store_t *tu_store_open_ro(const char *dir);

/** Creates table @p name (Confluent format), asserting success. */
const fstore_table_t *tu_table(fstore_store_t *store, const char *name,
                               const char *schema_json);

/** Registers writer schema @p json under @p id, asserting success. */
void tu_register(fstore_store_t *store, int32_t id, const char *json);

/** @return "{"type":"record","name":"R","fields":[<fields>]}" (malloc'd). */
char *tu_record_schema(const char *fields);

/* ---- byte buffers ----------------------------------------------------------
 */

typedef struct tu_buf {
    uint8_t *data;
    size_t len;
} tu_buf_t;

void tu_buf_free(tu_buf_t *b);

/** @return 0x00, big-endian @p id, then @p len bytes of @p payload. */
tu_buf_t tu_frame(int32_t id, const void *payload, size_t len);

/* ---- avro-c reference encoder ---------------------------------------------
 */

typedef struct tu_rec {
    avro_schema_t schema;
    avro_value_iface_t *iface;
    avro_value_t value;
} tu_rec_t;

/** Parses @p json with avro-c and makes an empty generic value (asserts). */
void tu_rec_init(tu_rec_t *r, const char *json);
void tu_rec_free(tu_rec_t *r);

/** @return record field @p name of @p r's value (asserts it exists). */
avro_value_t tu_field(tu_rec_t *r, const char *name);

/** Selects the null branch of union @p u and sets it (asserts). */
void tu_set_null(avro_value_t *u);

/** Selects the first non-null branch of union @p u and @return it. */
avro_value_t tu_nonnull(avro_value_t *u);

/** @return the Avro binary encoding of @p v (asserts). */
tu_buf_t tu_encode(avro_value_t *v);

/** @return tu_frame(id, tu_encode(&r->value)). */
tu_buf_t tu_encode_framed(tu_rec_t *r, int32_t id);

/* ---- batches
 * ----------------------------------------------------------------- */

fstore_batch_t *tu_begin(fstore_store_t *store);

/** Commits @p b, asserting success. */
void tu_commit(fstore_batch_t *b);

/** fstore_batch_put of a NUL-terminated key, asserting FSTORE_OK. */
void tu_batch_put(fstore_batch_t *b, const fstore_table_t *t, const char *key,
                  const tu_buf_t *value, int32_t partition, int64_t offset,
                  int64_t timestamp_ms);

/** One batch with one put (value may be NULL: tombstone), committed. */
void tu_put1(fstore_store_t *store, const fstore_table_t *t, const char *key,
             const tu_buf_t *value, int32_t partition, int64_t offset);

/**
 * Puts a value with one batch and @return fstore_batch_put's code (the batch
 * is committed whatever the outcome). @p errstr may be NULL.
 */
fstore_err_t tu_put_rc(fstore_store_t *store, const fstore_table_t *t,
                       const void *key, size_t key_len, const void *value,
                       size_t value_len, int64_t offset, char *errstr,
                       size_t errstr_size);

/** fstore_get of a NUL-terminated key through a fresh reader snapshot. */
fstore_err_t tu_get(fstore_reader_t *rd, const fstore_table_t *t,
                    const char *key, const fstore_row_t **rowp);

/* ---- the simple table
 * -------------------------------------------------------- */

/*
 * Columns (index: name type):
 *  0 i int, 1 l long, 2 f float, 3 d double, 4 s string, 5 b boolean,
 *  6 e enum {E0,E1,E2,E3}, 7 a array<float>, 8 n ["null","long"]
 * For value n every column is derived from n: i=(int32)n, l=n, f=(float)n,
 * d=(double)n, s="v<n>", b=n&1, e=E<n%4>, a=[n,n+1,...] (alen elements,
 * element k = (float)(n+k)), n=null when n%5==0 else n.
 */
#define TU_SIMPLE_ID 1
#define TU_SIMPLE_NCOLS 9
extern const char *const TU_SIMPLE_SCHEMA;

/** Registers the simple schema as id TU_SIMPLE_ID and creates the table. */
const fstore_table_t *tu_simple_table(fstore_store_t *store, const char *name);

/** @return the framed (id TU_SIMPLE_ID) value for @p n, @p alen elements. */
tu_buf_t tu_simple_value(int64_t n, size_t alen);

/** Queues the simple value for @p n under @p key (asserts FSTORE_OK). */
void tu_simple_put(fstore_batch_t *b, const fstore_table_t *t, const char *key,
                   int64_t n, size_t alen, int32_t partition, int64_t offset,
                   int64_t timestamp_ms);

/**
 * Checks that @p row is a whole simple row: all columns derived from one n,
 * and its checksum verifies. Asserts nothing (usable in a forked child).
 * @return 0 and *n_out when whole, else a positive code naming the column
 *         that disagreed (1+column index), or 20 for a checksum failure.
 */
int tu_simple_check_try(const fstore_table_t *t, const fstore_row_t *row,
                        int64_t *n_out);

/** Asserts @p row is the simple row for @p n with @p alen array elements. */
void tu_simple_assert(const fstore_table_t *t, const fstore_row_t *row,
                      int64_t n, size_t alen);

#endif /* FSTORE_TESTUTIL_H */
