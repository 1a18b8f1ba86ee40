/*
 * The local state of an aggregation (the --state directory): an LMDB
 * environment (store.c) holding, per input partition, every entity's
 * window state, an index of entities by the stream time their values next
 * change without an event, and the partition's stream time and changelog
 * position. Changes are staged in one write transaction, which the caller
 * commits only after the Kafka transaction that carries the same changes
 * committed, or aborts with it. Knows nothing of Kafka.
 */
#ifndef FSTORE_AGG_STORE_H
#define FSTORE_AGG_STORE_H

#include "agg_tiles.h"
#include "store.h"

/* Entity keys up to this length are kept; longer ones are refused (an
 * entity id is short: a user or device id). */
#define FS_AGG_MAX_KEY 400

typedef struct fs_agg_store fs_agg_store;
typedef struct fs_agg_txn fs_agg_txn;

/* What the state knows of an input partition. */
typedef struct fs_agg_part {
    int64_t q;              /* stream time: the largest event time seen */
    int64_t changelog_next; /* changelog offset the state reflects up to */
} fs_agg_part;

/* Opens (creating) the state in dir for spec s. FSTORE_ERR_SCHEMA_MISMATCH
 * when dir holds the state of a spec with other windows or features;
 * FSTORE_ERR_LOCKED when another process writes it. */
fstore_err_t fs_agg_store_open(const char *dir, const fs_agg_spec *s,
                               const fstore_conf_t *conf, fs_agg_store **out,
                               char *errstr, size_t errstr_size);
void fs_agg_store_close(fs_agg_store *st); /* aborts an open txn; accepts NULL */

/* The environment under the state, whose catalog and lookup chain also
 * serve the events' writer schemas (schemas.h). */
fstore_store_t *fs_agg_store_env(fs_agg_store *st);

/* Begins the one write transaction (FSTORE_ERR_STATE when one is open). */
fstore_err_t fs_agg_txn_begin(fs_agg_store *st, fs_agg_txn **out, char *errstr,
                              size_t errstr_size);
/* Makes the staged changes durable and visible; the txn is gone either way. */
fstore_err_t fs_agg_txn_commit(fs_agg_txn *tx, char *errstr, size_t errstr_size);
void fs_agg_txn_abort(fs_agg_txn *tx); /* accepts NULL */

/* The partition's record (FSTORE_NOT_FOUND: never seen; *out is then
 * {INT64_MIN, 0}), and its replacement. */
fstore_err_t fs_agg_txn_part(fs_agg_txn *tx, int32_t p, fs_agg_part *out);
fstore_err_t fs_agg_txn_part_put(fs_agg_txn *tx, int32_t p, const fs_agg_part *v);

/* Reads entity key of partition p into e (FSTORE_NOT_FOUND: e is cleared,
 * a new entity). FSTORE_ERR_CORRUPT when the stored state does not read. */
fstore_err_t fs_agg_txn_get(fs_agg_txn *tx, int32_t p, const void *key,
                            size_t len, fs_agg_entity *e, char *errstr,
                            size_t errstr_size);
/* Stores e as of stream time q (and indexes when it next changes), or,
 * with e NULL, deletes the entity. */
fstore_err_t fs_agg_txn_put(fs_agg_txn *tx, int32_t p, const void *key,
                            size_t len, const fs_agg_entity *e, int64_t q,
                            char *errstr, size_t errstr_size);
/* The changelog value of the last fs_agg_txn_put of an entity (its stream
 * time, 8 bytes, then its state), valid until the transaction's next call. */
const void *fs_agg_txn_put_state(const fs_agg_txn *tx, size_t *n);
/* Stores a changelog record's value: the stream time it was written at (8
 * bytes, little-endian), then the state bytes; NULL: a tombstone, the
 * entity is deleted. FSTORE_ERR_CORRUPT when the value does not read. */
fstore_err_t fs_agg_txn_put_bytes(fs_agg_txn *tx, int32_t p, const void *key,
                                  size_t len, const void *data, size_t n,
                                  char *errstr, size_t errstr_size);

/* Calls fn for every entity of partition p whose values change at a stream
 * time <= q, in that order, until fn returns non-zero (which is returned).
 * fn must put (at q) or delete the entity it is given; one that stays due
 * ends the scan with -1. An LMDB error is returned as its code. */
typedef int fs_agg_due_fn(void *arg, const void *key, size_t len);
int fs_agg_txn_due(fs_agg_txn *tx, int32_t p, int64_t q, fs_agg_due_fn *fn,
                   void *arg);

/* Forgets partition p: its entities, index and record (it moved to
 * another instance, or its state is to be restored anew). */
fstore_err_t fs_agg_txn_drop(fs_agg_txn *tx, int32_t p, char *errstr,
                             size_t errstr_size);

/* Entities of partition p (p < 0: of every partition), for statistics. */
uint64_t fs_agg_txn_count(fs_agg_txn *tx, int32_t p);

#endif
