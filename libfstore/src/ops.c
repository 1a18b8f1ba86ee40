/*
 * The queued operations of an apply batch: applying them in order or by
 * sorted append, sorted runs written to unlinked files by a thread of
 * their own, and the heap merge of runs into empty tables (ops.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ops.h"

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

int fs_ops_sort(const fstore_store_t *s, const fs_buf *queue, size_t count,
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
    if (count >= 1 && count <= UINT32_MAX) {
        ops = malloc(count * sizeof *ops);
        keys = malloc(count * sizeof *keys);
        if (!ops || !keys) {
            free(ops);
            free(keys);
            ops = NULL;
            keys = NULL;
        }
    }
    if (!ops && !txn) /* nothing to apply them to: sort or fail */
        return count > UINT32_MAX ? EFBIG : ENOMEM;
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

int fs_ops_append(MDB_txn *txn, const fs_opv *ops, const fs_sortkey *keys,
                  size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        fs_sorted_prefetch(ops, keys, i, n);
        i = fs_sorted_last(ops, keys, i, n);
        const fs_opv *o = &ops[keys[i].seq];
        if (o->kind != OP_PUT)
            continue; /* deleting from an empty table */
        MDB_val k = o->k, v = {o->vlen, (void *)(uintptr_t)o->val};
        rc = mdb_put(txn, o->t->dbi, &k, &v, MDB_APPEND);
    }
    return rc;
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
 * each key's last one, in key order, to a new unlinked file in the store's
 * directory: *run.
 * @return 0, or an errno with a message in err. */
static int fs_run_write(const fstore_store_t *s, const fs_buf *queue,
                        size_t count, fs_run *run, char *err, size_t errn)
{
    fs_opv *ops;
    fs_sortkey *keys;
    size_t n;
    if (fs_ops_sort(s, queue, count, NULL, NULL, &ops, &keys, &n)) {
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

/* The spill in flight: its queue, then its outcome. */
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

fs_spill *fs_spill_start(const fstore_store_t *s, fs_buf *queue, size_t count)
{
    fs_spill *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->store = s;
    j->ops = *queue;
    j->count = count;
    *queue = (fs_buf){0};
    j->threaded = pthread_create(&j->th, NULL, fs_spill_main, j) == 0;
    if (j->threaded)
        pthread_setname_np(j->th, "fstore:spill");
    else
        fs_spill_main(j);
    return j;
}

int fs_spill_wait(fs_spill *j, fs_run *run, fs_buf *queue, size_t *count,
                  char *err, size_t errn)
{
    if (j->threaded)
        pthread_join(j->th, NULL);
    int rc = j->rc;
    if (!rc) {
        *run = j->run;
        j->ops.len = 0;
        *count = 0;
    } else {
        snprintf(err, errn, "%s", j->err);
        *count = j->count;
    }
    *queue = j->ops;
    free(j);
    return rc;
}

int fs_ops_apply(const fstore_store_t *s, MDB_txn *txn, const uint8_t *p,
                 const uint8_t *end)
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

int fs_run_apply(const fstore_store_t *s, MDB_txn *txn, fs_run *run)
{
    int rc = fs_run_map(run);
    return rc ? rc : fs_ops_apply(s, txn, run->map, run->map + run->len);
}

void fs_run_close(fs_run *run)
{
    if (run->map)
        munmap(run->map, run->len);
    close(run->fd);
    run->map = NULL;
    run->fd = -1;
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

int fs_merge_fail_once;

int fs_ops_merge(const fstore_store_t *s, MDB_txn *txn, fs_run *runs,
                 size_t nruns, const fs_opv *ops, const fs_sortkey *keys,
                 size_t n)
{
    if (fs_merge_fail_once) {
        fs_merge_fail_once = 0;
        return MDB_KEYEXIST;
    }
    size_t nsrc = nruns + 1, nh = 0;
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
        if (r < nruns) {
            fs_run *run = &runs[r];
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
