/* Reader handles: one LMDB read snapshot each, renewed on demand. */
#ifndef FSTORE_READER_H
#define FSTORE_READER_H

#include "tables.h"

struct fstore_reader_s {
    fstore_store_t *store;
    MDB_txn *txn;   /* kept across reset/renew so no allocation per refresh */
    int active;     /* snapshot held (and the remap lock shared) */
    size_t ntables; /* tables whose dbi the snapshot can see */
    uint8_t keybuf[FS_KEY_HASHED];
    char errmsg[512];
};

/* One lookup in the reader's snapshot (which must be active): the shared
 * core of fstore_get, fstore_get_batch and the Arrow export. */
fstore_err_t fs_reader_lookup(fstore_reader_t *r, const fstore_table_t *t,
                              const void *key, size_t key_len,
                              const uint8_t **rowp);
/* Starts the snapshot if the reader has none. */
fstore_err_t fs_reader_ensure(fstore_reader_t *r);

/* The fingerprint the tailer stored for (t, partition): the offset of the
 * last record it applied at or before the stored offset, and that record's
 * fingerprint. @return FSTORE_OK, FSTORE_NOT_FOUND (none stored: a store
 * written before fingerprints, or by fstore_batch_* calls alone),
 * FSTORE_ERR_CORRUPT, storage errors. */
fstore_err_t fs_reader_fprint(fstore_reader_t *r, const fstore_table_t *t,
                              int32_t partition, int64_t *offset, uint64_t *fp);

#endif
