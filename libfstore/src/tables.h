/*
 * The table catalog: one LMDB sub-database per feature table, its serving
 * schema and row layout, and its definition in the metadata. Knows nothing
 * of Kafka or of writer schemas beyond holding each table's plan cache.
 */
#ifndef FSTORE_TABLES_H
#define FSTORE_TABLES_H

#include "decode.h"
#include "layout.h"
#include "store.h"

struct fstore_table_s {
    fstore_store_t *store;
    char *name;
    char *schema_json;
    fs_layout *L;
    MDB_dbi dbi;
    size_t index; /* position in store->tables */
    /* Value format: changed by fstore_table_create between batches, read
     * by the thread that holds the store's batch. */
    fstore_format_t format;
    int32_t avro_schema_id;
    /* Decode plans by writer schema id (schemas.h). The table is shared
     * read-only; the cache behind this pointer is mutable state touched
     * only by the thread that holds the store's batch (store->batch_open
     * admits one at a time). */
    fs_plan_cache *plans;
};

/* Loads the tables defined in the store that this handle does not know
 * yet (at open, and when another process may have created some). Caller
 * holds s->mu. */
fstore_err_t fs_tables_load(fstore_store_t *s, char *errstr,
                            size_t errstr_size);
/* Frees every table of s (at close; no reader or batch may be left). */
void fs_tables_free(fstore_store_t *s);

/* The row layout of a stored table definition (a metadata value), for
 * checking rows that come from outside the store (restore). */
fstore_err_t fs_table_def_layout(const void *def, size_t def_len, fs_layout **out,
                                 char *errstr, size_t errstr_size);

/* Meta offset key for (table, partition) into buf; returns its length, 0
 * when cap is too small. */
size_t fs_offset_key(const fstore_table_t *t, int32_t partition, uint8_t *buf,
                     size_t cap);
/* The meta key tag + table name + NUL + be32 partition (FS_META_OFFSET,
 * FS_META_FPRINT); 0 when cap is too small. */
size_t fs_part_key(uint8_t tag, const fstore_table_t *t, int32_t partition,
                   uint8_t *buf, size_t cap);

/* Empties table t and forgets its offsets, in one transaction (a rebuild
 * after the topic lost the stored offsets, or an interrupted bootstrap).
 * Writer thread only. */
fstore_err_t fs_table_clear(const fstore_table_t *t, char *errstr, size_t errstr_size);

/* Pages (branch, leaf, overflow) of table t in txn, 0 if unknown. */
uint64_t fs_table_pages(const fstore_table_t *t, MDB_txn *txn);

#endif
