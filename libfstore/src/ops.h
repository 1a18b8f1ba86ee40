/*
 * The queued operations of an apply batch (batch.c): their packed format,
 * applying one, sorting them into key order, sorted runs spilled to disk on
 * a thread of their own, and the merge that loads runs into empty tables by
 * append. Knows LMDB and the table catalog, nothing of Kafka or decoding.
 */
#ifndef FSTORE_OPS_H
#define FSTORE_OPS_H

#include "tables.h"

enum { OP_PUT = 1, OP_DEL = 2 };

/* Queued operations are packed into one buffer:
 * [u32 table index][u8 kind][u32 key len][u32 value len][key][value].
 * For a put the value is the row; for a delete of a digest key it is the
 * full Kafka key, verified before deleting. */
#define FS_OPHDR 13

/* A queued operation, decoded from the packed buffer. */
typedef struct fs_opv {
    const fstore_table_t *t;
    uint8_t kind;
    MDB_val k;
    const uint8_t *val;
    size_t vlen;
} fs_opv;

/* Decodes the operation at p into o; returns the next one's position. */
static inline const uint8_t *fs_op_next(const fstore_store_t *s,
                                        const uint8_t *p, fs_opv *o)
{
    o->t = s->tables[fs_load_u32(p)];
    o->kind = p[4];
    o->k.mv_size = fs_load_u32(p + 5);
    o->k.mv_data = (void *)(uintptr_t)(p + FS_OPHDR);
    o->vlen = fs_load_u32(p + 9);
    o->val = p + FS_OPHDR + o->k.mv_size;
    return o->val + o->vlen;
}

/* What a bulk load sorts: the first 16 key bytes as two big-endian words
 * (entity ids are rarely longer, so most comparisons end there without
 * touching the queued keys), and the queue position. Small and flat, so
 * the sort moves 32-byte elements instead of chasing pointers. */
typedef struct fs_sortkey {
    uint64_t k0, k1;
    uint32_t table, klen;
    uint32_t seq; /* index into the queued operations */
} fs_sortkey;

/* Applies the packed operations [p, end) to txn in order. @return an LMDB
 * code. */
int fs_ops_apply(const fstore_store_t *s, MDB_txn *txn, const uint8_t *p,
                 const uint8_t *end);

/* The count operations packed in queue in key order, for tables whose
 * empty[] flag is set (all of them when empty is NULL); the others are
 * applied to txn in queue order as they are met (txn NULL: there must be
 * none). ops and keys are malloc'ed (NULL with *n 0 when nothing is sorted,
 * or when there is no memory to sort: then, with a txn, everything is
 * applied in queue order). @return an LMDB code or errno. */
int fs_ops_sort(const fstore_store_t *s, const fs_buf *queue, size_t count,
                MDB_txn *txn, const uint8_t *empty, fs_opv **opsp,
                fs_sortkey **keysp, size_t *n);

/* Appends the last operation on each key of the sorted ops to txn (the
 * tables are empty: a delete has nothing to remove). */
int fs_ops_append(MDB_txn *txn, const fs_opv *ops, const fs_sortkey *keys,
                  size_t n);

/* A sorted run: operations of empty tables in key order, one per key (its
 * last), deletes included, packed as in the queue, in an unlinked file of
 * the store's directory (gone with the descriptor, so a crash leaves
 * nothing behind). */
typedef struct fs_run {
    int fd;
    size_t len, count;
    uint8_t *map; /* mapped for reading, once needed */
} fs_run;

/* Applies a run's operations to txn in order (tables that are not empty). */
int fs_run_apply(const fstore_store_t *s, MDB_txn *txn, fs_run *run);
void fs_run_close(fs_run *run);

/* Loads runs[0..nruns) (oldest first) and the sorted queue (newest) into
 * empty tables in one pass in key order with MDB_APPEND, the newest
 * operation on each key winning. @return an LMDB code or errno. */
int fs_ops_merge(const fstore_store_t *s, MDB_txn *txn, fs_run *runs,
                 size_t nruns, const fs_opv *ops, const fs_sortkey *keys,
                 size_t n);

/* Tests: the next merge fails with MDB_KEYEXIST (as an out-of-order key
 * would), to prove the batch's fallback. */
extern int fs_merge_fail_once;

/* A queue being sorted and written as a run on a thread of its own
 * (on the calling thread when no thread can start). */
typedef struct fs_spill fs_spill;

/* Takes over queue (count operations of empty tables). NULL when out of
 * memory (then the queue is still the caller's). */
fs_spill *fs_spill_start(const fstore_store_t *s, fs_buf *queue, size_t count);

/* Waits for j and frees it. @return 0 with the run in *run, the queue's
 * buffer emptied into *queue for reuse; or an errno with a message in err
 * and the whole queue back in *queue (*count operations). */
int fs_spill_wait(fs_spill *j, fs_run *run, fs_buf *queue, size_t *count,
                  char *err, size_t errn);

#endif
