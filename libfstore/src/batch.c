/*
 * Apply batches: decode records into rows, then write rows, tombstones,
 * offsets (and optionally the writer's statistics document) in one LMDB
 * write transaction. A first load into empty tables goes in key order by
 * append. One batch per store at a time, on the thread that began it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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

/* A sorted run (fs_batch_spill): operations of empty tables in key order,
 * one per key (its last), deletes included, packed as in the queue, in an
 * unlinked file of the store's directory (gone with the descriptor, so a
 * crash leaves nothing behind). */
typedef struct fs_run {
    int fd;
    size_t len, count;
    uint8_t *map; /* mapped for the merge */
} fs_run;

struct fstore_batch_s {
    fstore_store_t *store;
    fs_buf ops;
    size_t count;
    fs_run *runs; /* oldest first */
    size_t nruns, spilled;
    struct fs_spill *spill; /* the spill in flight, newer than runs */
    fs_buf spare;           /* a spilled queue's memory, for the next */
    int failed;             /* a spilled queue was lost: never commit */
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
    for (size_t i = 0; i < b->nruns; i++) {
        if (b->runs[i].map)
            munmap(b->runs[i].map, b->runs[i].len);
        close(b->runs[i].fd);
    }
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

/* The queued operations in key order, for tables whose empty[] flag is set
 * (all of them when empty is NULL); the others are applied to txn in queue
 * order as they are met (txn NULL: there must be none). ops and keys are
 * malloc'ed (NULL with *n 0 when nothing is sorted, or when there is no
 * memory to sort: then everything is applied in queue order). @return an
 * LMDB code or errno. */
static int fs_sort_ops(const fstore_store_t *s, const fs_buf *queue, size_t count,
                       MDB_txn *txn, const uint8_t *empty, fs_opv **opsp,
                       fs_sortkey **keysp, size_t *n)
{
    const uint8_t *p = queue->data, *end = p + queue->len;
    fs_opv *ops = NULL;
    fs_sortkey *keys = NULL;
    size_t nsorted = 0;
    int rc = 0;
    *opsp = NULL;
    *keysp = NULL;
    *n = 0;
    if (count > 1 && count <= UINT32_MAX) {
        ops = malloc(count * sizeof *ops);
        keys = malloc(count * sizeof *keys);
        if (!ops || !keys) {
            free(ops);
            free(keys);
            ops = NULL;
            keys = NULL;
            if (!txn)
                return ENOMEM;
        }
    }
    while (p < end && !rc) {
        fs_opv o;
        p = fs_op_next(s, p, &o);
        if (ops && (!empty || empty[o.t->index])) {
            ops[nsorted] = o;
            fs_sortkey_make(&keys[nsorted], &o, (uint32_t)nsorted);
            nsorted++;
        } else {
            rc = fs_apply_one(txn, &o);
        }
    }
    if (nsorted)
        qsort_r(keys, nsorted, sizeof *keys, fs_sortkey_cmp, ops);
    *opsp = ops;
    *keysp = keys;
    *n = nsorted;
    return rc;
}

/* Fetches ahead what the appends after sorted position i will read (their
 * entry, then their key and row): sorted order visits the queue at random,
 * and overlapping the misses beats stalling each append. */
static inline void fs_sorted_prefetch(const fs_opv *ops, const fs_sortkey *keys,
                                      size_t i, size_t n)
{
    if (i + 2 * FS_AHEAD < n)
        __builtin_prefetch(&ops[keys[i + 2 * FS_AHEAD].seq]);
    if (i + FS_AHEAD < n) {
        const fs_opv *f = &ops[keys[i + FS_AHEAD].seq];
        __builtin_prefetch(f->k.mv_data);
        if (f->vlen > 64)
            __builtin_prefetch(f->val + 64);
    }
}

/* The next position at or after i whose key is not queued again later (the
 * last operation on a key wins), or n. */
static size_t fs_sorted_last(const fs_opv *ops, const fs_sortkey *keys,
                             size_t i, size_t n)
{
    while (i + 1 < n && fs_sortkey_same(&keys[i], &keys[i + 1], ops))
        i++;
    return i;
}

/* Writes all of buf[0..len) to fd; 0 or an errno. */
static int fs_write_all(int fd, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? errno : EIO;
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

/* Sorts the count operations packed in queue (of empty tables) and writes
 * each key's last one, in key order, to a new unlinked file in dir: *run.
 * @return 0, or an errno with a message in err. */
static int fs_run_write(const fstore_store_t *s, const fs_buf *queue,
                        size_t count, fs_run *run, char *err, size_t errn)
{
    fs_opv *ops;
    fs_sortkey *keys;
    size_t n;
    if (fs_sort_ops(s, queue, count, NULL, NULL, &ops, &keys, &n)) {
        snprintf(err, errn, "out of memory sorting %zu records", count);
        return ENOMEM;
    }
    size_t plen = strlen(s->path);
    char *path = malloc(plen + 32);
    int fd = -1, rc = ENOMEM;
    if (path) {
        memcpy(path, s->path, plen);
        memcpy(path + plen, "/.bulk-XXXXXX", 14);
        fd = mkostemp(path, O_CLOEXEC);
        rc = fd < 0 ? errno : 0;
        if (fd >= 0)
            unlink(path);
    }
    /* Gathered here, not by writev: the kernel's copy would meet every
     * row's cache and TLB misses in turn, where this one fetches ahead. */
    enum { STAGE = 1 << 20 };
    uint8_t *stage = rc ? NULL : malloc(STAGE);
    size_t used = 0, len = 0, nrun = 0;
    if (!rc && !stage)
        rc = ENOMEM;
    for (size_t i = 0; i < n && !rc; i++) {
        fs_sorted_prefetch(ops, keys, i, n);
        i = fs_sorted_last(ops, keys, i, n);
        const fs_opv *o = &ops[keys[i].seq];
        const uint8_t *op = (const uint8_t *)o->k.mv_data - FS_OPHDR;
        size_t oplen = FS_OPHDR + o->k.mv_size + o->vlen;
        if (used + oplen > STAGE) {
            rc = fs_write_all(fd, stage, used);
            used = 0;
        }
        if (rc)
            break;
        if (oplen > STAGE)
            rc = fs_write_all(fd, op, oplen);
        else {
            memcpy(stage + used, op, oplen);
            used += oplen;
        }
        len += oplen;
        nrun++;
    }
    if (!rc && used)
        rc = fs_write_all(fd, stage, used);
    free(stage);
    free(ops);
    free(keys);
    if (rc) {
        if (fd >= 0)
            close(fd);
        snprintf(err, errn, "writing a sorted run of %zu records to %s: %s",
                 count, path ? path : s->path, strerror(rc));
        free(path);
        return rc;
    }
    free(path);
    *run = (fs_run){fd, len, nrun, NULL};
    return 0;
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

/* The spill in flight on its own thread: its queue, then its outcome. */
struct fs_spill {
    const fstore_store_t *store;
    pthread_t th;
    fs_buf ops;
    size_t count;
    fs_run run;
    int rc, threaded;
    char err[512];
};

static void *fs_spill_main(void *arg)
{
    struct fs_spill *j = arg;
    j->rc = fs_run_write(j->store, &j->ops, j->count, &j->run, j->err,
                         sizeof j->err);
    return NULL;
}

/* Waits for the spill in flight, if any. A run it wrote joins b's runs and
 * its queue's memory is kept for the next one; a spill that failed gives
 * its queue back, before what was queued since (nothing is lost), and its
 * message. @return FSTORE_OK, or the failure of the spill. */
static fstore_err_t fs_spill_join(fstore_batch_t *b, char *errstr,
                                  size_t errstr_size)
{
    struct fs_spill *j = b->spill;
    if (!j)
        return FSTORE_OK;
    if (j->threaded)
        pthread_join(j->th, NULL);
    b->spill = NULL;
    fstore_err_t err = FSTORE_OK;
    if (!j->rc) {
        b->runs[b->nruns++] = j->run;
        j->ops.len = 0;
        fs_buf_free(&b->spare);
        b->spare = j->ops;
    } else {
        /* Older than the queue: it goes first. */
        int nomem = fs_buf_reserve(&j->ops, b->ops.len) != 0;
        if (!nomem)
            fs_buf_append(&j->ops, b->ops.data, b->ops.len);
        if (nomem) {
            /* Cannot happen without memory for both; keep order by
             * failing the batch rather than reordering it. */
            err = fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY,
                              "out of memory taking back a sorted run that "
                              "could not be written (%s)", j->err);
            fs_buf_free(&j->ops);
            b->failed = 1;
        } else {
            fs_buf_free(&b->ops);
            b->ops = j->ops;
            b->count += j->count;
            b->spilled -= j->count;
            err = fstore__err(errstr, errstr_size,
                              j->rc == ENOMEM ? FSTORE_ERR_NO_MEMORY : FSTORE_ERR_IO,
                              "%s", j->err);
        }
    }
    free(j);
    return err;
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
    struct fs_spill *j = calloc(1, sizeof *j);
    fs_run *runs = realloc(b->runs, (b->nruns + 1) * sizeof *runs);
    if (runs)
        b->runs = runs;
    if (!j || !runs) {
        free(j);
        return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY,
                           "out of memory");
    }
    j->store = s;
    j->ops = b->ops;
    j->count = b->count;
    b->ops = b->spare;
    b->spare = (fs_buf){0};
    j->threaded = pthread_create(&j->th, NULL, fs_spill_main, j) == 0;
    b->spill = j;
    b->spilled += j->count;
    b->count = 0;
    if (j->threaded)
        return FSTORE_OK;
    fs_spill_main(j); /* no thread: on this one */
    return fs_spill_join(b, errstr, errstr_size);
}

/* Applies the packed operations [p, end) in order. */
static int fs_apply_seq(const fstore_store_t *s, MDB_txn *txn,
                        const uint8_t *p, const uint8_t *end)
{
    int rc = 0;
    while (p < end && !rc) {
        fs_opv o;
        p = fs_op_next(s, p, &o);
        rc = fs_apply_one(txn, &o);
    }
    return rc;
}

/* Maps a run for reading, once; 0 or an errno. */
static int fs_run_map(fs_run *run)
{
    if (run->map || !run->len)
        return 0;
    void *m = mmap(NULL, run->len, PROT_READ, MAP_PRIVATE, run->fd, 0);
    if (m == MAP_FAILED)
        return errno;
    madvise(m, run->len, MADV_SEQUENTIAL);
    run->map = m;
    return 0;
}

/* One input of the merge: a run or the sorted queue. */
typedef struct fs_src {
    fs_opv cur;
    fs_sortkey key; /* cur's first 16 key bytes as words, table, length */
    int valid, run;
    size_t rank;            /* newer inputs rank higher */
    const uint8_t *p, *end; /* a run */
    size_t i;               /* the queue: sorted position after cur */
} fs_src;

/* LMDB's key order of two inputs' current (table, key), as fs_sortkey_cmp
 * orders the queue. */
static int fs_src_cmp(const fs_src *x, const fs_src *y)
{
    const fs_sortkey *a = &x->key, *b = &y->key;
    if (a->table != b->table)
        return a->table < b->table ? -1 : 1;
    if (a->k0 != b->k0)
        return a->k0 < b->k0 ? -1 : 1;
    if (a->k1 != b->k1)
        return a->k1 < b->k1 ? -1 : 1;
    uint32_t n = a->klen < b->klen ? a->klen : b->klen;
    if (n > 16) {
        int c = memcmp((const uint8_t *)x->cur.k.mv_data + 16,
                       (const uint8_t *)y->cur.k.mv_data + 16, n - 16);
        if (c)
            return c;
    }
    return a->klen < b->klen ? -1 : a->klen > b->klen;
}

static void fs_src_next(const fstore_store_t *s, fs_src *src, const fs_opv *ops,
                        const fs_sortkey *keys, size_t n)
{
    if (src->run) { /* one operation per key already */
        src->valid = src->p < src->end;
        if (src->valid) {
            src->p = fs_op_next(s, src->p, &src->cur);
            fs_sortkey_make(&src->key, &src->cur, 0);
            __builtin_prefetch(src->p);
        }
        return;
    }
    src->valid = src->i < n;
    if (src->valid) {
        fs_sorted_prefetch(ops, keys, src->i, n);
        src->i = fs_sorted_last(ops, keys, src->i, n);
        src->cur = ops[keys[src->i].seq];
        src->key = keys[src->i];
        src->i++;
    }
}

/* Heap order of the merge: smaller key first; on a tie the newer input
 * (a later run, the queue last of all). */
static int fs_src_before(const fs_src *x, const fs_src *y)
{
    int c = fs_src_cmp(x, y);
    return c < 0 || (c == 0 && x->rank > y->rank);
}

static void fs_heap_down(fs_src **h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && fs_src_before(h[l], h[m]))
            m = l;
        if (l + 1 < n && fs_src_before(h[l + 1], h[m]))
            m = l + 1;
        if (m == i)
            return;
        fs_src *t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* Moves the heap's top input past its current operation. */
static void fs_heap_advance(const fstore_store_t *s, fs_src **h, size_t *n,
                            const fs_opv *ops, const fs_sortkey *keys, size_t nq)
{
    fs_src_next(s, h[0], ops, keys, nq);
    if (!h[0]->valid)
        h[0] = h[--*n];
    fs_heap_down(h, *n, 0);
}

/* Loads the spilled runs and the queue into empty tables in one pass in
 * key order, the newest operation on each key winning. */
static int fs_merge_runs(fstore_batch_t *b, MDB_txn *txn, const fs_opv *ops,
                         const fs_sortkey *keys, size_t n)
{
    const fstore_store_t *s = b->store;
    size_t nsrc = b->nruns + 1, nh = 0;
    fs_src *src = calloc(nsrc, sizeof *src);
    fs_src **heap = calloc(nsrc, sizeof *heap);
    if (!src || !heap) {
        free(src);
        free(heap);
        return ENOMEM;
    }
    int rc = 0;
    for (size_t r = 0; r < nsrc && !rc; r++) {
        src[r].rank = r;
        if (r < b->nruns) {
            fs_run *run = &b->runs[r];
            if ((rc = fs_run_map(run)))
                break;
            src[r].run = 1;
            src[r].p = run->map;
            src[r].end = run->map + run->len;
        } /* else the queue: the newest */
        fs_src_next(s, &src[r], ops, keys, n);
        if (src[r].valid)
            heap[nh++] = &src[r];
    }
    for (size_t i = nh; i-- > 0;)
        fs_heap_down(heap, nh, i);
    while (!rc && nh) {
        /* The top is the newest operation on the smallest key; the older
         * ones on that key are passed over. */
        fs_src w = *heap[0];
        fs_heap_advance(s, heap, &nh, ops, keys, n);
        while (nh && fs_src_cmp(heap[0], &w) == 0)
            fs_heap_advance(s, heap, &nh, ops, keys, n);
        if (w.cur.kind != OP_PUT)
            continue; /* deleted: an empty table holds nothing to delete */
        MDB_val k = w.cur.k, v = {w.cur.vlen, (void *)(uintptr_t)w.cur.val};
        rc = mdb_put(txn, w.cur.t->dbi, &k, &v, MDB_APPEND);
    }
    free(src);
    free(heap);
    return rc;
}

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
    if (b->nruns && !all_empty) {
        /* Runs are spilled only while their tables are empty, and only
         * this batch writes; should a table have rows all the same, the
         * runs apply in the order they were queued in. */
        for (size_t r = 0; r < b->nruns && !rc; r++) {
            fs_run *run = &b->runs[r];
            if (!(rc = fs_run_map(run)))
                rc = fs_apply_seq(s, txn, run->map, run->map + run->len);
        }
        if (!rc)
            rc = fs_apply_seq(s, txn, b->ops.data, b->ops.data + b->ops.len);
        free(empty);
        return rc;
    }
    fs_opv *ops;
    fs_sortkey *keys;
    size_t n;
    rc = fs_sort_ops(s, &b->ops, b->count, txn, empty, &ops, &keys, &n);
    if (!rc && b->nruns) {
        rc = fs_merge_runs(b, txn, ops, keys, n);
    } else {
        for (size_t i = 0; i < n && !rc; i++) {
            fs_sorted_prefetch(ops, keys, i, n);
            i = fs_sorted_last(ops, keys, i, n);
            const fs_opv *o = &ops[keys[i].seq];
            if (o->kind != OP_PUT)
                continue; /* deleting from an empty table */
            MDB_val k = o->k, v = {o->vlen, (void *)(uintptr_t)o->val};
            rc = mdb_put(txn, o->t->dbi, &k, &v, MDB_APPEND);
        }
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
