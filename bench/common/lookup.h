/*
 * lookup: what the two lookup benchmarks (bench_baselines, bench_get_bench)
 * share - their common options, the fstore store and the plain LMDB
 * environment they load with the same rows under the same keys, the load
 * itself, and the point and batch operations on both that they time. The
 * operations are inline: they run inside the timed loops.
 *
 * Copyright 2026 The fstore authors. Licensed under the Apache License 2.0.
 */
#ifndef FSTORE_BENCH_LOOKUP_H
#define FSTORE_BENCH_LOOKUP_H

#include "bench_common.h"

#include <lmdb.h>

#include <stdint.h>
#include <string.h>

/* ---- options ------------------------------------------------------------ */

/* The options both programs take; each sets its own defaults. */
typedef struct {
    unsigned rows;    /* --rows N */
    const char *dir;  /* --dir DIR, or NULL: a temporary directory */
    double seconds;   /* --seconds S, measuring time per case */
    const char *json; /* --json FILE, or NULL */
    int keep;         /* --keep: keep the stores afterwards */
} lookup_opts_t;

/* Prints the program's usage and exits. */
typedef void (*lookup_usage_fn)(const char *argv0) __attribute__((noreturn));

/* Parses @p argv into @p o: --keep, and --rows, --dir, --seconds and --json
 * with their values; any other option with its value goes to @p extra,
 * which returns 0 for one it does not know either. An unknown option or a
 * missing value calls @p usage; an invalid value dies. */
void lookup_parse_args(int argc, char **argv, lookup_opts_t *o,
                       int (*extra)(const char *name, const char *value),
                       lookup_usage_fn usage);

/* ---- the two stores ----------------------------------------------------- */

typedef struct {
    char parent[4096], fdir[4200], rdir[4200];
    int made_parent;
    fstore_store_t *store;
    const fstore_table_t *table;
    MDB_env *env;
    MDB_dbi dbi;
    char *keys;    /* rows * KEY_STRIDE */
    uint32_t *seq; /* the random key sequence (make_seq) */
    int point_cols[4];
    int matrix_cols[MATRIX_COLS];
} lookup_t;

/* Makes the parent directory (bench_make_parent with @p dir and @p tmpl)
 * and names the stores' directories in it, parent/fstore and
 * parent/raw-lmdb; the caller checks and makes them. */
void lookup_dirs(lookup_t *L, const char *dir, const char *tmpl);

/* Opens (creating) the fstore store in L->fdir, map size 1 KiB per row (at
 * least 1 GiB), store.sync=@p sync, with the bench table and its point and
 * matrix columns; and the plain LMDB environment in L->rdir with the same
 * map size and the flags matching @p sync (none: MDB_NOSYNC, meta:
 * MDB_NOMETASYNC, full: none). */
void lookup_open(lookup_t *L, unsigned rows, const char *sync);

/* Closes both stores and frees keys and seq; unless @p keep, removes both
 * stores' directories, then the parent when lookup_dirs made it (any other
 * directory in it must be gone by then). */
void lookup_close(lookup_t *L, int keep);

/* ---- loading ------------------------------------------------------------ */

typedef struct {
    double encode_s, fstore_s, raw_s; /* encoding, and writing each store */
    uint64_t value_bytes;             /* the framed Avro values, in total */
    uint64_t fstore_disk, raw_disk;   /* allocated on disk (lookup_sizes) */
} lookup_load_t;

/* Loading rows 0..n-1 in batches of BATCH_ROWS, in a shuffled order: each
 * batch is encoded as Avro with avro-c, put into the fstore store through
 * one fstore batch (decode + write) and into the plain LMDB environment
 * through one write transaction (the value bytes as they are). */
typedef struct {
    lookup_t *L;
    lookup_load_t *fig; /* times and bytes so far */
    unsigned n;
    unsigned done;       /* rows loaded so far */
    const uint32_t *ids; /* the batch just loaded: ids[0..cnt) ... */
    size_t cnt;
    encoder_t enc;    /* ... and their values (encode_batch) */
    int tty;          /* stderr is a terminal: progress on one line */
    uint64_t t_start; /* now_ns() when the load began */
    uint32_t *perm;
    int64_t offset, ts;
} lookup_loader_t;

/* Starts loading @p n rows: makes L->keys and clears @p fig. */
void lookup_load_begin(lookup_loader_t *ld, lookup_t *L, unsigned n,
                       lookup_load_t *fig);

/* Loads the next batch into both stores. @return 0 when every row was
 * loaded already. */
int lookup_load_next(lookup_loader_t *ld);

/* Ends the load (ends the progress line on a terminal). */
void lookup_load_end(lookup_loader_t *ld);

/* Syncs the plain LMDB environment and reads both stores' sizes on disk
 * into @p fig. */
void lookup_sizes(lookup_t *L, lookup_load_t *fig);

/* ---- operations --------------------------------------------------------- */

/* The key at position @p pos of the random key sequence (cyclic). */
static inline const char *lookup_key(const lookup_t *L, size_t pos)
{
    return L->keys + (size_t)L->seq[pos & (SEQ_LEN - 1)] * KEY_STRIDE;
}

/* Reads 4 bytes spread over a value of @p n bytes, the first one after its
 * 5-byte frame: what the baselines do with a value where fstore reads 4
 * columns. */
static inline uint64_t touch4(const void *data, size_t n)
{
    const uint8_t *p = data;
    return (uint64_t)p[5] + p[n / 3] + p[2 * n / 3] + p[n - 1];
}

/* fstore_get + the 4 point columns. */
static inline uint64_t lookup_point_fstore(const lookup_t *L,
                                           fstore_reader_t *rd, const char *key)
{
    return point_get(rd, L->table, L->point_cols, key);
}

/* mdb_get + 4 bytes of the value. */
static inline uint64_t lookup_point_raw(const lookup_t *L, MDB_txn *txn,
                                        const char *key)
{
    MDB_val kv = {KEY_LEN, (void *)(uintptr_t)key}, v;
    int rc = mdb_get(txn, L->dbi, &kv, &v);
    if (rc != MDB_SUCCESS)
        die("mdb_get %.*s: %s", KEY_LEN, key, mdb_strerror(rc));
    return touch4(v.mv_data, v.mv_size);
}

/* One batch: GET_BATCH keys in, a GET_BATCH x MATRIX_COLS float32 matrix
 * and a found flag per key out. */
typedef struct {
    const void *keys[GET_BATCH];
    size_t lens[GET_BATCH];
    float out[GET_BATCH * MATRIX_COLS];
    uint8_t found[GET_BATCH];
} lookup_batch_t;

/* The bits of one float of the matrix, for a sink. */
static inline uint64_t lookup_batch_sink(const lookup_batch_t *bb)
{
    uint32_t bits;
    memcpy(&bits, &bb->out[(GET_BATCH - 1) * MATRIX_COLS], 4);
    return bits;
}

/* fstore_get_batch of the keys, the matrix columns into the matrix. */
static inline uint64_t
lookup_batch_fstore(const lookup_t *L, fstore_reader_t *rd, lookup_batch_t *bb)
{
    fstore_err_t err = fstore_get_batch(rd, L->table, GET_BATCH, bb->keys,
                                        bb->lens, L->matrix_cols, MATRIX_COLS,
                                        bb->out, MATRIX_COLS, bb->found);
    if (err != FSTORE_OK)
        die("fstore_get_batch: %s (%s)", fstore_err_name(err),
            fstore_reader_errmsg(rd));
    return lookup_batch_sink(bb);
}

/* mdb_get of each key, then a memcpy of MATRIX_COLS floats of its value into
 * the matrix. */
static inline uint64_t lookup_batch_raw(const lookup_t *L, MDB_txn *txn,
                                        lookup_batch_t *bb)
{
    const size_t want = MATRIX_COLS * sizeof(float);
    for (int i = 0; i < GET_BATCH; i++) {
        MDB_val kv = {KEY_LEN, (void *)(uintptr_t)bb->keys[i]}, v;
        float *row = bb->out + (size_t)i * MATRIX_COLS;
        if (mdb_get(txn, L->dbi, &kv, &v) == MDB_SUCCESS &&
            v.mv_size >= 5 + want) {
            memcpy(row, (const uint8_t *)v.mv_data + 5, want);
            bb->found[i] = 1;
        } else {
            bb->found[i] = 0;
        }
    }
    return lookup_batch_sink(bb);
}

/* Dies unless every key of the batch was found; run outside the timed
 * region. */
static inline void lookup_batch_check(const lookup_batch_t *bb,
                                      const char *what)
{
    for (int i = 0; i < GET_BATCH; i++)
        if (!bb->found[i])
            die("%s: key %.*s not found (or value short)", what, KEY_LEN,
                (const char *)bb->keys[i]);
}

#endif
