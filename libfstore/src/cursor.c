/* Table cursors: a scan of one table, in key order, within a reader's
 * snapshot; rows come out as zero-copy views, like fstore_get's. */
#include <stdlib.h>

#include "reader.h"

struct fstore_cursor_s {
    fstore_reader_t *r;
    const fstore_table_t *t;
    MDB_cursor *c; /* NULL: the table is newer than the snapshot */
    int started;
};

fstore_err_t fstore_cursor_open(fstore_reader_t *r, const fstore_table_t *t,
                                fstore_cursor_t **cursorp)
{
    if (!r || !t || !cursorp || t->store != r->store)
        return FSTORE_ERR_INVALID_ARG;
    *cursorp = NULL;
    fstore_err_t e = fs_reader_ensure(r);
    if (e)
        return e;
    fstore_cursor_t *c = calloc(1, sizeof *c);
    if (!c)
        return FSTORE_ERR_NO_MEMORY;
    c->r = r;
    c->t = t;
    if (t->index < r->ntables) {
        int rc = mdb_cursor_open(r->txn, t->dbi, &c->c);
        if (rc) {
            free(c);
            return fs_mdb_err(rc, "opening a cursor", r->errmsg, sizeof r->errmsg);
        }
    }
    *cursorp = c;
    return FSTORE_OK;
}

fstore_err_t fstore_cursor_next(fstore_cursor_t *c, const void **key,
                                size_t *key_len, const fstore_row_t **row)
{
    if (!c || !key || !key_len || !row)
        return FSTORE_ERR_INVALID_ARG;
    if (!c->c)
        return FSTORE_NOT_FOUND;
    MDB_val k, v;
    int rc = mdb_cursor_get(c->c, &k, &v, c->started ? MDB_NEXT : MDB_FIRST);
    c->started = 1;
    if (rc == MDB_NOTFOUND)
        return FSTORE_NOT_FOUND;
    if (rc)
        return fs_mdb_err(rc, "scanning a table", c->r->errmsg, sizeof c->r->errmsg);
    if (!fs_row_sane(v.mv_data, v.mv_size))
        return FSTORE_ERR_CORRUPT;
    const uint8_t *p = v.mv_data;
    if (p[FS_H_FLAGS] & FS_ROW_F_FULLKEY) {
        size_t off = FS_ROW_HDR + fs_row_body_size(p);
        *key = p + off;
        *key_len = v.mv_size - off;
    } else {
        *key = k.mv_data;
        *key_len = k.mv_size;
    }
    *row = (const fstore_row_t *)p;
    return FSTORE_OK;
}

void fstore_cursor_close(fstore_cursor_t *c)
{
    if (!c)
        return;
    if (c->c)
        mdb_cursor_close(c->c);
    free(c);
}
