/*
 * The store: an LMDB environment holding one sub-database per table and a
 * metadata sub-database (table definitions, writer schemas, offsets,
 * statistics). This header owns the environment, its transactions, the
 * metadata keys and the encoding of Kafka keys as LMDB keys. Knows nothing
 * of Kafka, Avro or what a row holds.
 */
#ifndef FSTORE_STORE_H
#define FSTORE_STORE_H

#include <lmdb.h>
#include <pthread.h>

#include "conf.h"

/* Kafka keys of this length or more are stored under a fixed-size digest
 * key (FS_KEY_HASHED bytes: a prefix of the key, then its XXH3-128) with the
 * full key kept after the row body; shorter keys are stored as they are.
 * The lengths never overlap, so the two forms cannot collide. */
#define FS_KEY_HASHED 480
#define FS_KEY_PREFIX (FS_KEY_HASHED - 16)

/* Metadata keys: a tag byte, then the parts below. */
#define FS_META_VERSION 'V' /* → u32 store format version */
#define FS_META_TABLE 'T'   /* + name → table definition JSON */
#define FS_META_SCHEMA 'S'  /* + be32 id → writer schema JSON */
#define FS_META_OFFSET 'O'  /* + name + NUL + be32 partition → i64 */
/* + name + NUL + be32 partition → i64 offset, u64 fingerprint of the last
 * record the tailer applied at or before the stored offset (resume checks
 * the record is still there: tail_verify.c) */
#define FS_META_FPRINT 'F'
#define FS_META_STATS 'X'   /* tailer statistics JSON, for other processes */
#define FS_STORE_VERSION 1

/* Threads: any number of caller threads (readers, table lookups), at most
 * one batch owner (a caller thread or the tail thread) and the tailer's
 * watcher use one store. Fields set at open and never changed after need
 * no lock; the others say what guards them. */
struct fstore_store_s {
    char *path;
    fstore_conf_t *conf;
    MDB_env *env;
    MDB_dbi meta;
    int read_only;
    int lock_fd;
    /* Guards the table list, dbi opening and schema registration. */
    pthread_mutex_t mu;
    fstore_table_t **tables; /* store.max_tables slots, never moved */
    size_t ntables;          /* published with release, read with acquire */
    size_t cap_tables;
    /* Shared by every live transaction of this process; taken exclusively
     * to resize the memory map, which moves it. */
    pthread_rwlock_t remap;
    uint64_t map_max;
    int batch_open; /* one batch at a time; atomic, never under mu */
    /* The tailer attached by fstore_tail_add, owned and freed by the
     * tailer module (see fstore.c); the store never looks inside. */
    struct fs_tailer *tail;
};

/* Opens the environment and its metadata (no tables yet: see tables.h).
 * On failure nothing is left open. */
fstore_err_t fs_store_open(const char *path, const fstore_conf_t *conf,
                           fstore_store_t **storep, char *errstr,
                           size_t errstr_size);
/* Closes the environment (syncing a writable one first) and frees s; the
 * tables and the tailer must have been freed already. Accepts NULL. */
void fs_store_free(fstore_store_t *s);

/* Writes dir/writer.lock as a writer that has the store open in this boot
 * would (synced): a store made without syncing its data (a restore under
 * store.sync=none) is then emptied at its next writable open should the
 * machine go down before its pages reach the disk. 0 or an errno. */
int fs_writer_lock_open(const char *dir, unsigned mode);

/* Transactions holding the remap lock shared (see fs_store_grow).
 * @thread any; a write transaction only on the batch owner's thread */
fstore_err_t fs_txn_begin(fstore_store_t *s, unsigned flags, MDB_txn **txn,
                          char *errstr, size_t errstr_size);
void fs_txn_abort(fstore_store_t *s, MDB_txn *txn);
int fs_txn_commit(fstore_store_t *s, MDB_txn *txn);

/* Translates an LMDB code into ours, with a message naming the action. */
fstore_err_t fs_mdb_err(int rc, const char *what, char *errstr,
                        size_t errstr_size);

/* Grows the map (caller holds no transaction). @thread the batch owner
 * @locks takes remap exclusively: waits for this process's transactions */
fstore_err_t fs_store_grow(fstore_store_t *s, char *errstr, size_t errstr_size);
/* Adopts a map grown by another process (caller holds no transaction).
 * @thread any  @locks takes remap exclusively */
void fs_store_adopt_size(fstore_store_t *s);

/* The statistics document of the last writer, for readers in other
 * processes: written alone (put) or with a batch (batch.h); get returns a
 * malloc'ed copy or NULL. */
fstore_err_t fs_store_put_stats(fstore_store_t *s, const char *json);
int fs_meta_put_stats(fstore_store_t *s, MDB_txn *txn, const char *json);
char *fs_store_get_stats(fstore_store_t *s);

/* Space of the store's data file, seen from read transaction txn. */
typedef struct fs_usage {
    uint64_t page_size;
    uint64_t pages;      /* the file's extent: last page number + 1 */
    uint64_t free_pages; /* on LMDB's free list, reused by later writes */
    uint64_t map_size;
} fs_usage;
int fs_store_usage(fstore_store_t *s, MDB_txn *txn, fs_usage *u);

/* Builds the LMDB key for a Kafka key: the key itself, or its digest form
 * written into buf (FS_KEY_HASHED bytes). */
static inline void fs_key_make(const void *key, size_t len, uint8_t *buf,
                               MDB_val *out);
static inline int fs_key_is_hashed(size_t len) { return len >= FS_KEY_HASHED; }

#include <xxhash.h>
static inline void fs_key_make(const void *key, size_t len, uint8_t *buf,
                               MDB_val *out)
{
    if (FS_LIKELY(len < FS_KEY_HASHED)) {
        out->mv_data = (void *)(uintptr_t)key;
        out->mv_size = len;
        return;
    }
    XXH128_hash_t h = XXH3_128bits(key, len);
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, h);
    memcpy(buf, key, FS_KEY_PREFIX);
    memcpy(buf + FS_KEY_PREFIX, c.digest, 16);
    out->mv_data = buf;
    out->mv_size = FS_KEY_HASHED;
}

#endif
