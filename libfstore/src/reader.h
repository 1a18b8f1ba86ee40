/* Reader handles: one LMDB read snapshot each, renewed on demand. */
#ifndef FSTORE_READER_H
#define FSTORE_READER_H

#include "store.h"

struct fstore_reader_s {
    fstore_store_t *store;
    MDB_txn *txn;   /* kept across reset/renew so no allocation per refresh */
    int active;     /* snapshot held (and the remap lock shared) */
    size_t ntables; /* tables whose dbi the snapshot can see */
    uint8_t keybuf[FS_KEY_HASHED];
    char errmsg[512];
};

/* Row header checks shared by every path that hands out row views. */
static inline int fs_row_sane(const MDB_val *v)
{
    const uint8_t *p = v->mv_data;
    return v->mv_size >= FS_ROW_HDR && p[FS_H_VERSION] == FS_ROW_VERSION &&
           (size_t)fs_row_body_size(p) <= v->mv_size - FS_ROW_HDR;
}

#endif
