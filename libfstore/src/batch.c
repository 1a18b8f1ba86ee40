/*
 * Apply batches: decode records into rows, then write rows, tombstones,
 * offsets (and optionally the writer's statistics document) in one LMDB
 * write transaction. A first load into empty tables goes in key order by
 * append. One batch per store at a time, on the thread that began it.
 */
#include <errno.h>
#include <stdlib.h>

#include "batch.h"
#include "schemas.h"

enum { OP_PUT = 1, OP_DEL = 2 };

/* Queued operations are packed into one buffer:
 * [u32 table index][u8 kind][u32 key len][u32 value len][key][value].
 * For a put the value is the row; for a delete of a digest key it is the
 * full Kafka key, verified before deleting. */
#define FS_OPHDR 13

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

static void fs_batch_free(fstore_batch_t *b)
{
    __atomic_store_n(&b->store->batch_open, 0, __ATOMIC_RELEASE);
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

size_t fstore_batch_size(const fstore_batch_t *b) { return b ? b->count : 0; }

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

/* Does the row stored under a digest key belong to full key k? */
static int fs_fullkey_matches(const MDB_val *row, const uint8_t *k, size_t n)
{
    if (!fs_row_sane(row->mv_data, row->mv_size))
        return 0;
    const uint8_t *p = row->mv_data;
    size_t off = FS_ROW_HDR + fs_row_body_size(p);
    return (p[FS_H_FLAGS] & FS_ROW_F_FULLKEY) && row->mv_size - off == n &&
           memcmp(p + off, k, n) == 0;
}

/* A queued operation, decoded from the packed buffer. */
typedef struct fs_opv {
    const fstore_table_t *t;
    uint8_t kind;
    MDB_val k;
    const uint8_t *val;
    size_t vlen;
} fs_opv;

/* What a bulk load sorts: the first 16 key bytes as two big-endian words
 * (entity ids are rarely longer, so most comparisons end there without
 * touching the queued keys), and the queue position. Small and flat, so
 * the sort moves 32-byte elements instead of chasing pointers. */
typedef struct fs_sortkey {
    uint64_t k0, k1;
    uint32_t table, klen;
    uint32_t seq; /* index into the queued operations */
} fs_sortkey;

static const uint8_t *fs_op_next(const fstore_store_t *s, const uint8_t *p,
                                 fs_opv *o)
{
    o->t = s->tables[fs_load_u32(p)];
    o->kind = p[4];
    o->k.mv_size = fs_load_u32(p + 5);
    o->k.mv_data = (void *)(uintptr_t)(p + FS_OPHDR);
    o->vlen = fs_load_u32(p + 9);
    o->val = p + FS_OPHDR + o->k.mv_size;
    return o->val + o->vlen;
}

static int fs_apply_one(MDB_txn *txn, const fs_opv *o)
{
    int hashed = o->k.mv_size == FS_KEY_HASHED;
    MDB_val k = o->k;
    if (o->kind == OP_PUT) {
        MDB_val v = {o->vlen, (void *)(uintptr_t)o->val};
        if (hashed) {
            /* Never replace another entity's row whose key shares the
             * digest (a 128-bit collision): keep the first. */
            MDB_val old;
            const uint8_t *fk = o->val + FS_ROW_HDR + fs_row_body_size(o->val);
            size_t fklen = o->vlen - (size_t)(fk - o->val);
            if (mdb_get(txn, o->t->dbi, &k, &old) == 0 &&
                !fs_fullkey_matches(&old, fk, fklen))
                return 0;
        }
        return mdb_put(txn, o->t->dbi, &k, &v, 0);
    }
    if (hashed) {
        MDB_val old;
        if (mdb_get(txn, o->t->dbi, &k, &old) != 0 ||
            !fs_fullkey_matches(&old, o->val, o->vlen))
            return 0;
    }
    int rc = mdb_del(txn, o->t->dbi, &k, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* How many appends ahead a bulk load prefetches what it will read. */
#define FS_AHEAD 8

/* LMDB's default key order (bytes, then length); ties keep queue order.
 * The operations themselves are looked at only for keys longer than 16
 * bytes that agree on their first 16. */
static int fs_sortkey_cmp(const void *a, const void *b, void *arg)
{
    const fs_sortkey *x = a, *y = b;
    if (x->table != y->table)
        return x->table < y->table ? -1 : 1;
    if (x->k0 != y->k0)
        return x->k0 < y->k0 ? -1 : 1;
    if (x->k1 != y->k1)
        return x->k1 < y->k1 ? -1 : 1;
    uint32_t n = x->klen < y->klen ? x->klen : y->klen;
    if (n > 16) {
        const fs_opv *ops = arg;
        int c = memcmp((const uint8_t *)ops[x->seq].k.mv_data + 16,
                       (const uint8_t *)ops[y->seq].k.mv_data + 16, n - 16);
        if (c)
            return c;
    }
    if (x->klen != y->klen)
        return x->klen < y->klen ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Same table and key? */
static int fs_sortkey_same(const fs_sortkey *x, const fs_sortkey *y,
                           const fs_opv *ops)
{
    return x->table == y->table && x->k0 == y->k0 && x->k1 == y->k1 &&
           x->klen == y->klen &&
           (x->klen <= 16 ||
            !memcmp((const uint8_t *)ops[x->seq].k.mv_data + 16,
                    (const uint8_t *)ops[y->seq].k.mv_data + 16, x->klen - 16));
}

static uint64_t fs_load_be64(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++)
        v = (v << 8) | (i < n ? p[i] : 0);
    return v;
}

static void fs_sortkey_make(fs_sortkey *sk, const fs_opv *o, uint32_t seq)
{
    const uint8_t *k = o->k.mv_data;
    size_t n = o->k.mv_size;
    sk->k0 = fs_load_be64(k, n);
    sk->k1 = n > 8 ? fs_load_be64(k + 8, n - 8) : 0;
    sk->table = (uint32_t)o->t->index;
    sk->klen = (uint32_t)n;
    sk->seq = seq;
}

/* Loads the operations of tables that are empty in txn by sorting them and
 * appending each key's last state in key order (MDB_APPEND fills pages
 * sequentially, several times faster than random inserts: a bootstrap).
 * Operations of other tables are applied in queue order. */
static int fs_apply_ops(fstore_batch_t *b, MDB_txn *txn)
{
    fstore_store_t *s = b->store;
    if (!b->count)
        return 0;
    const uint8_t *p = b->ops.data, *end = p + b->ops.len;
    size_t nt = s->ntables;
    uint8_t *empty = calloc(nt ? nt : 1, 1);
    fs_opv *ops = NULL;
    fs_sortkey *keys = NULL;
    size_t nsorted = 0;
    int rc = 0;
    if (!empty)
        return ENOMEM;
    for (size_t i = 0; i < nt; i++) {
        MDB_stat st;
        /* Only tables this batch touches are looked at below. */
        empty[i] = mdb_stat(txn, s->tables[i]->dbi, &st) == 0 && st.ms_entries == 0;
    }
    if (b->count > 1 && b->count <= UINT32_MAX) {
        ops = malloc(b->count * sizeof *ops);
        keys = malloc(b->count * sizeof *keys);
        if (!ops || !keys) {
            free(ops);
            free(keys);
            ops = NULL;
            keys = NULL;
        }
    }
    while (p < end && !rc) {
        fs_opv o;
        p = fs_op_next(s, p, &o);
        if (ops && empty[o.t->index]) {
            ops[nsorted] = o;
            fs_sortkey_make(&keys[nsorted], &o, (uint32_t)nsorted);
            nsorted++;
        } else {
            rc = fs_apply_one(txn, &o);
        }
    }
    if (nsorted)
        qsort_r(keys, nsorted, sizeof *keys, fs_sortkey_cmp, ops);
    for (size_t i = 0; i < nsorted && !rc; i++) {
        /* Sorted order visits the queue at random: fetch ahead what the
         * next appends will read (their entry, then their key and row), so
         * the misses overlap instead of stalling each append. */
        if (i + 2 * FS_AHEAD < nsorted)
            __builtin_prefetch(&ops[keys[i + 2 * FS_AHEAD].seq]);
        if (i + FS_AHEAD < nsorted) {
            const fs_opv *f = &ops[keys[i + FS_AHEAD].seq];
            __builtin_prefetch(f->k.mv_data);
            if (f->vlen > 64)
                __builtin_prefetch(f->val + 64);
        }
        const fs_opv *o = &ops[keys[i].seq];
        if (i + 1 < nsorted && fs_sortkey_same(&keys[i], &keys[i + 1], ops))
            continue; /* a later operation on the same key wins */
        if (o->kind != OP_PUT)
            continue; /* deleting from an empty table */
        MDB_val k = o->k, v = {o->vlen, (void *)(uintptr_t)o->val};
        rc = mdb_put(txn, o->t->dbi, &k, &v, MDB_APPEND);
    }
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
    fstore_err_t err = FSTORE_OK;
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
