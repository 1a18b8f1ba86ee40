/*
 * Apply batches: decode records into rows, then write rows, tombstones,
 * offsets (and optionally the writer's statistics document) in one LMDB
 * write transaction. A first load into empty tables goes in key order by
 * append. One batch per store at a time, on the thread that began it.
 */
#include <errno.h>
#include <stdlib.h>

#include "batch.h"
#include "ops.h"
#include "schemas.h"

typedef struct fs_offset {
    const fstore_table_t *t;
    int32_t partition;
    int64_t offset;
    int64_t fp_offset; /* of the fingerprinted record; -1: none */
    uint64_t fp;
} fs_offset;

struct fstore_batch_s {
    fstore_store_t *store;
    fs_buf ops;
    size_t count;
    fs_run *runs; /* oldest first */
    size_t nruns, spilled;
    fs_spill *spill;        /* the spill in flight, newer than runs */
    fs_buf spare;           /* a spilled queue's memory, for the next */
    int failed;             /* a spilled queue was lost: never commit */
    int in_order;           /* apply the runs in order, no merge (below) */
    fs_buf row;
    fs_offset *offs;
    size_t noffs, cap_offs;
    char *stats; /* statistics document to record in the same transaction */
};

fstore_err_t fstore_batch_begin(fstore_store_t *s, fstore_batch_t **batchp)
{
    if (!s || !batchp)
        return FSTORE_ERR_INVALID_ARG;
    *batchp = NULL;
    if (s->read_only)
        return FSTORE_ERR_READ_ONLY;
    fstore_batch_t *b = calloc(1, sizeof *b);
    if (!b)
        return FSTORE_ERR_NO_MEMORY;
    /* Claimed without the store's mutex: a thread that holds a reader's
     * snapshot holds the remap lock, and mu is taken before remap
     * elsewhere (fstore_store_open), never after it. */
    if (__atomic_exchange_n(&s->batch_open, 1, __ATOMIC_ACQ_REL)) {
        free(b);
        return FSTORE_ERR_STATE;
    }
    b->store = s;
    *batchp = b;
    return FSTORE_OK;
}

static fstore_err_t fs_spill_join(fstore_batch_t *b, char *errstr,
                                  size_t errstr_size);

static void fs_batch_free(fstore_batch_t *b)
{
    fs_spill_join(b, NULL, 0);
    fs_buf_free(&b->spare);
    __atomic_store_n(&b->store->batch_open, 0, __ATOMIC_RELEASE);
    for (size_t i = 0; i < b->nruns; i++)
        fs_run_close(&b->runs[i]);
    free(b->runs);
    fs_buf_free(&b->ops);
    fs_buf_free(&b->row);
    free(b->offs);
    free(b->stats);
    free(b);
}

void fstore_batch_abort(fstore_batch_t *b)
{
    if (b)
        fs_batch_free(b);
}

size_t fstore_batch_size(const fstore_batch_t *b)
{
    return b ? b->count + b->spilled : 0;
}

size_t fs_batch_bytes(const fstore_batch_t *b) { return b ? b->ops.len : 0; }

void fs_batch_set_stats(fstore_batch_t *b, const char *json)
{
    free(b->stats);
    b->stats = fs_strdup(json);
}

/* The entry of (t, partition), made with offset -1 if new; NULL when out
 * of memory. */
static fs_offset *fs_batch_offset(fstore_batch_t *b, const fstore_table_t *t,
                                  int32_t partition)
{
    for (size_t i = 0; i < b->noffs; i++)
        if (b->offs[i].t == t && b->offs[i].partition == partition)
            return &b->offs[i];
    if (b->noffs == b->cap_offs) {
        size_t cap = b->cap_offs ? b->cap_offs * 2 : 16;
        fs_offset *n = realloc(b->offs, cap * sizeof *n);
        if (!n)
            return NULL;
        b->offs = n;
        b->cap_offs = cap;
    }
    b->offs[b->noffs] = (fs_offset){t, partition, -1, -1, 0};
    return &b->offs[b->noffs++];
}

fstore_err_t fstore_batch_advance(fstore_batch_t *b, const fstore_table_t *t,
                                  int32_t partition, int64_t offset)
{
    if (!b || !t || t->store != b->store || partition < 0 || offset < 0)
        return FSTORE_ERR_INVALID_ARG;
    fs_offset *o = fs_batch_offset(b, t, partition);
    if (!o)
        return FSTORE_ERR_NO_MEMORY;
    if (offset > o->offset)
        o->offset = offset;
    return FSTORE_OK;
}

fstore_err_t fs_batch_fprint(fstore_batch_t *b, const fstore_table_t *t,
                             int32_t partition, int64_t offset, uint64_t fp)
{
    fs_offset *o = fs_batch_offset(b, t, partition);
    if (!o)
        return FSTORE_ERR_NO_MEMORY;
    if (offset >= o->fp_offset) {
        o->fp_offset = offset;
        o->fp = fp;
    }
    return FSTORE_OK;
}

static fstore_err_t fs_batch_queue(fstore_batch_t *b, const fstore_table_t *t,
                                   uint8_t kind, const void *key, size_t klen,
                                   const void *val, size_t vlen)
{
    uint8_t digest[FS_KEY_HASHED];
    MDB_val k;
    fs_key_make(key, klen, digest, &k);
    if (vlen > UINT32_MAX)
        return FSTORE_ERR_INVALID_ARG;
    uint8_t h[FS_OPHDR];
    fs_store_u32(h, (uint32_t)t->index);
    h[4] = kind;
    fs_store_u32(h + 5, (uint32_t)k.mv_size);
    fs_store_u32(h + 9, (uint32_t)vlen);
    if (fs_buf_reserve(&b->ops, FS_OPHDR + k.mv_size + vlen))
        return FSTORE_ERR_NO_MEMORY;
    fs_buf_append(&b->ops, h, FS_OPHDR);
    fs_buf_append(&b->ops, k.mv_data, k.mv_size);
    fs_buf_append(&b->ops, val, vlen);
    b->count++;
    return FSTORE_OK;
}

static fstore_err_t fs_batch_put(fstore_batch_t *b, const fstore_table_t *tc,
                                 const void *key, size_t key_len,
                                 const void *value, size_t value_len,
                                 int32_t partition, int64_t offset,
                                 int64_t timestamp_ms, char *errstr,
                                 size_t errstr_size);

fstore_err_t fstore_batch_put(fstore_batch_t *b, const fstore_table_t *tc,
                              const void *key, size_t key_len,
                              const void *value, size_t value_len,
                              int32_t partition, int64_t offset,
                              int64_t timestamp_ms, char *errstr,
                              size_t errstr_size)
{
    if (!b || !tc || tc->store != b->store || (!key && key_len))
        return fstore__err(errstr, errstr_size, FSTORE_ERR_INVALID_ARG,
                           "batch and table (of the batch's store) are "
                           "required");
    if (partition < 0 || offset < 0)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_INVALID_ARG,
                           "partition and offset must not be negative");
    fstore_err_t err = fs_batch_put(b, tc, key, key_len, value, value_len,
                                    partition, offset, timestamp_ms, errstr,
                                    errstr_size);
    /* A record that failed for good counts as consumed so it is not retried
     * forever; one that failed for a passing reason (registry unreachable,
     * memory) does not, so the caller can retry it. */
    if (err == FSTORE_ERR_IO || err == FSTORE_ERR_NO_MEMORY)
        return err;
    fstore_err_t aerr = fstore_batch_advance(b, tc, partition, offset);
    if (aerr)
        return fstore__err(errstr, errstr_size, aerr, "out of memory");
    return err;
}

static fstore_err_t fs_batch_put(fstore_batch_t *b, const fstore_table_t *tc,
                                 const void *key, size_t key_len,
                                 const void *value, size_t value_len,
                                 int32_t partition, int64_t offset,
                                 int64_t timestamp_ms, char *errstr,
                                 size_t errstr_size)
{
    fstore_err_t err;
    if (key_len == 0)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_KEY,
                           "record at partition %d offset %lld has no key; "
                           "a feature table needs the entity id as the key",
                           partition, (long long)offset);
    if (!value) /* tombstone */
        return fs_batch_queue(b, tc, OP_DEL, key, key_len, key,
                              fs_key_is_hashed(key_len) ? key_len : 0);

    const fstore_table_t *t = tc;
    int32_t schema_id;
    int64_t plan_key;
    const uint8_t *payload;
    size_t plen;
    if (t->format == FSTORE_FORMAT_CONFLUENT) {
        err = fs_frame_parse(value, value_len, &schema_id, &payload, &plen,
                             errstr, errstr_size);
        if (err)
            return err;
        plan_key = schema_id;
    } else {
        schema_id = t->avro_schema_id;
        plan_key = schema_id == -1 ? FS_PLAN_SERVING : schema_id;
        payload = value;
        plen = value_len;
    }
    const fs_plan *plan;
    if ((err = fs_table_plan(t, plan_key, &plan, errstr, errstr_size)))
        return err;
    if ((err = fs_plan_decode(plan, payload, plen, &b->row, errstr, errstr_size)))
        return err;
    uint8_t flags = 0;
    if (fs_key_is_hashed(key_len)) {
        flags |= FS_ROW_F_FULLKEY;
        /* The full key follows the body, outside the checksummed part. */
        size_t body_end = b->row.len;
        if (fs_buf_append(&b->row, key, key_len))
            return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY,
                               "out of memory");
        b->row.len = body_end;
        fs_row_finish(&b->row, flags, schema_id, timestamp_ms, partition, offset);
        b->row.len = body_end + key_len;
    } else {
        fs_row_finish(&b->row, flags, schema_id, timestamp_ms, partition, offset);
    }
    err = fs_batch_queue(b, t, OP_PUT, key, key_len, b->row.data, b->row.len);
    if (err)
        return fstore__err(errstr, errstr_size, err, "out of memory");
    return FSTORE_OK;
}

/* Runs a batch may hold: each keeps a descriptor open. */
#define FS_MAX_RUNS 64

/* The first runs' size; every 8 runs it doubles, up to half the memory. */
#define FS_RUN_BYTES ((size_t)64 << 20)

size_t fs_batch_run_bytes(const fstore_batch_t *b, size_t max_bytes)
{
    size_t runs = b->nruns + (b->spill != NULL), shift = runs / 8;
    size_t want = FS_RUN_BYTES << (shift < 16 ? shift : 16);
    return want < max_bytes / 2 ? want : max_bytes / 2;
}

/* Waits for the spill in flight, if any. A run it wrote joins b's runs and
 * its queue's memory is kept for the next one; a spill that failed gives
 * its queue back, before what was queued since (nothing is lost), and its
 * message. @return FSTORE_OK, or the failure of the spill. */
static fstore_err_t fs_spill_join(fstore_batch_t *b, char *errstr,
                                  size_t errstr_size)
{
    if (!b->spill)
        return FSTORE_OK;
    fs_buf q;
    size_t count;
    char why[512];
    int rc = fs_spill_wait(b->spill, &b->runs[b->nruns], &q, &count, why,
                           sizeof why);
    b->spill = NULL;
    if (!rc) {
        b->nruns++;
        fs_buf_free(&b->spare);
        b->spare = q; /* emptied: the next queue's memory */
        return FSTORE_OK;
    }
    /* Older than the queue: it goes first. */
    if (fs_buf_reserve(&q, b->ops.len)) {
        /* Without memory for both, fail the batch rather than reorder it. */
        fs_buf_free(&q);
        b->failed = 1;
        return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY,
                           "out of memory taking back a sorted run that "
                           "could not be written (%s)", why);
    }
    fs_buf_append(&q, b->ops.data, b->ops.len);
    fs_buf_free(&b->ops);
    b->ops = q;
    b->count += count;
    b->spilled -= count;
    return fstore__err(errstr, errstr_size,
                       rc == ENOMEM ? FSTORE_ERR_NO_MEMORY : FSTORE_ERR_IO, "%s",
                       why);
}

fstore_err_t fs_batch_spill(fstore_batch_t *b, char *errstr, size_t errstr_size)
{
    fstore_store_t *s = b->store;
    fstore_err_t err = fs_spill_join(b, errstr, errstr_size);
    if (err || b->count < 2)
        return err;
    if (b->nruns >= FS_MAX_RUNS)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_STATE,
                           "%d sorted runs already", FS_MAX_RUNS);
    /* Only a load into empty tables may leave the queue's order. */
    MDB_txn *txn;
    if ((err = fs_txn_begin(s, MDB_RDONLY, &txn, errstr, errstr_size)))
        return err;
    const uint8_t *p = b->ops.data, *end = p + b->ops.len;
    int all_empty = 1;
    while (p < end && all_empty) {
        fs_opv o;
        MDB_stat st;
        p = fs_op_next(s, p, &o);
        all_empty = mdb_stat(txn, o.t->dbi, &st) == 0 && st.ms_entries == 0;
    }
    fs_txn_abort(s, txn);
    if (!all_empty)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_STATE,
                           "only operations of empty tables can be spilled");
    fs_run *runs = realloc(b->runs, (b->nruns + 1) * sizeof *runs);
    if (runs)
        b->runs = runs;
    fs_spill *j = runs ? fs_spill_start(s, &b->ops, b->count) : NULL;
    if (!j)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY,
                           "out of memory");
    b->spill = j;
    b->ops = b->spare;
    b->spare = (fs_buf){0};
    b->spilled += b->count;
    b->count = 0;
    return FSTORE_OK;
}

unsigned long fs_batch_in_order_loads;

/* Loads the operations of tables that are empty in txn by sorting them and
 * appending each key's last state in key order (MDB_APPEND fills pages
 * sequentially, several times faster than random inserts: a bootstrap),
 * merged with the runs spilled before. Operations of other tables are
 * applied in queue order. */
static int fs_apply_ops(fstore_batch_t *b, MDB_txn *txn)
{
    fstore_store_t *s = b->store;
    if (!b->count && !b->nruns)
        return 0;
    size_t nt = s->ntables;
    uint8_t *empty = calloc(nt ? nt : 1, 1);
    if (!empty)
        return ENOMEM;
    int all_empty = 1;
    for (size_t i = 0; i < nt; i++) {
        MDB_stat st;
        /* Only tables this batch touches are looked at below. */
        empty[i] = mdb_stat(txn, s->tables[i]->dbi, &st) == 0 && st.ms_entries == 0;
        all_empty &= empty[i];
    }
    int rc = 0;
    fs_opv *ops = NULL;
    fs_sortkey *keys = NULL;
    size_t n = 0;
    /* With runs, nothing of the queue may reach the tables before the
     * merge does (a record applied first would stand before keys the
     * merge then appends): it is sorted whole, or the load goes in order. */
    if (b->nruns && all_empty && !b->in_order &&
        fs_ops_sort(s, &b->ops, b->count, NULL, NULL, &ops, &keys, &n))
        b->in_order = 1; /* no memory to sort it */
    if (b->nruns && (!all_empty || b->in_order)) {
        /* Runs are spilled only while their tables are empty, and only
         * this batch writes; should a table have rows all the same, the
         * runs apply in the order they were queued in. */
        if (b->in_order)
            fs_batch_in_order_loads++;
        free(ops);
        free(keys);
        for (size_t r = 0; r < b->nruns && !rc; r++)
            rc = fs_run_apply(s, txn, &b->runs[r]);
        if (!rc)
            rc = fs_ops_apply(s, txn, b->ops.data, b->ops.data + b->ops.len);
        free(empty);
        return rc;
    }
    if (b->nruns)
        rc = fs_ops_merge(s, txn, b->runs, b->nruns, ops, keys, n);
    else if (!(rc = fs_ops_sort(s, &b->ops, b->count, txn, empty, &ops, &keys, &n)))
        rc = fs_ops_append(txn, ops, keys, n);
    free(keys);
    free(ops);
    free(empty);
    return rc;
}

static int fs_apply(fstore_batch_t *b, MDB_txn *txn)
{
    fstore_store_t *s = b->store;
    int rc = fs_apply_ops(b, txn);
    for (size_t i = 0; i < b->noffs && !rc; i++) {
        const fs_offset *o = &b->offs[i];
        uint8_t kb[300];
        MDB_val k = {fs_offset_key(o->t, o->partition, kb, sizeof kb), kb}, old;
        int64_t off = o->offset;
        if (off < 0)
            continue; /* a fingerprint without an offset: nothing to store */
        if (mdb_get(txn, s->meta, &k, &old) == 0 && old.mv_size == 8 &&
            (int64_t)fs_load_u64(old.mv_data) >= off)
            continue; /* offsets only move forward */
        MDB_val v = {8, &off};
        rc = mdb_put(txn, s->meta, &k, &v, 0);
        if (!rc && o->fp_offset >= 0 && o->fp_offset <= off) {
            uint8_t fv[16];
            fs_store_u64(fv, (uint64_t)o->fp_offset);
            fs_store_u64(fv + 8, o->fp);
            MDB_val fk = {fs_part_key(FS_META_FPRINT, o->t, o->partition, kb,
                                      sizeof kb),
                          kb},
                    fval = {sizeof fv, fv};
            rc = mdb_put(txn, s->meta, &fk, &fval, 0);
        }
    }
    if (!rc && b->stats)
        rc = fs_meta_put_stats(s, txn, b->stats);
    return rc;
}

fstore_err_t fstore_batch_commit(fstore_batch_t *b, char *errstr,
                                 size_t errstr_size)
{
    if (!b)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_INVALID_ARG,
                           "batch must not be NULL");
    fstore_store_t *s = b->store;
    /* A spill that failed gave its queue back; only a lost one fails. */
    fstore_err_t err = fs_spill_join(b, errstr, errstr_size);
    if (err && b->failed) {
        fs_batch_free(b);
        return err;
    }
    err = FSTORE_OK;
    for (;;) {
        MDB_txn *txn;
        pthread_rwlock_rdlock(&s->remap);
        int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
        if (rc) {
            pthread_rwlock_unlock(&s->remap);
            err = fs_mdb_err(rc, "starting a write transaction", errstr,
                             errstr_size);
            break;
        }
        rc = fs_apply(b, txn);
        if (rc)
            mdb_txn_abort(txn);
        else
            rc = mdb_txn_commit(txn);
        pthread_rwlock_unlock(&s->remap);
        if (rc == MDB_KEYEXIST && b->nruns && !b->in_order) {
            /* The merge met a key out of order, which it must never do (a
             * queue of one record once reached the table ahead of it).
             * Rather than fail the load, replay it applying each run,
             * oldest first, then the queue, in order: slower, as right. */
            b->in_order = 1;
            continue;
        }
        if (rc == MDB_MAP_FULL) {
            /* Nothing was applied; grow and replay the whole batch. */
            if ((err = fs_store_grow(s, errstr, errstr_size)))
                break;
            continue;
        }
        if (rc)
            err = fs_mdb_err(rc, "committing a batch", errstr, errstr_size);
        break;
    }
    fs_batch_free(b);
    return err;
}
