/* Readers: snapshots, point lookups, batch projection, offsets. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "reader.h"

fstore_err_t fstore_reader_new(fstore_store_t *store, fstore_reader_t **readerp)
{
    if (!store || !readerp)
        return FSTORE_ERR_INVALID_ARG;
    fstore_reader_t *r = calloc(1, sizeof *r);
    if (!r)
        return FSTORE_ERR_NO_MEMORY;
    r->store = store;
    *readerp = r;
    return FSTORE_OK;
}

void fstore_reader_reset(fstore_reader_t *r)
{
    if (!r || !r->active)
        return;
    mdb_txn_reset(r->txn);
    r->active = 0;
    pthread_rwlock_unlock(&r->store->remap);
}

void fstore_reader_destroy(fstore_reader_t *r)
{
    if (!r)
        return;
    fstore_reader_reset(r);
    if (r->txn)
        mdb_txn_abort(r->txn);
    free(r);
}

static fstore_err_t fs_reader_fail(fstore_reader_t *r, fstore_err_t e,
                                   const char *fmt, ...) FS_PRINTF(3, 4);
static fstore_err_t fs_reader_fail(fstore_reader_t *r, fstore_err_t e,
                                   const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fstore__verr(r->errmsg, sizeof r->errmsg, e, fmt, ap);
    va_end(ap);
    return e;
}

static fstore_err_t fs_reader_begin(fstore_reader_t *r)
{
    fstore_store_t *s = r->store;
    for (int tries = 0;; tries++) {
        /* Sample the table count first: every table counted had its dbi
         * committed before, so the snapshot below can read it. */
        r->ntables = __atomic_load_n(&s->ntables, __ATOMIC_ACQUIRE);
        pthread_rwlock_rdlock(&s->remap);
        int rc = r->txn ? mdb_txn_renew(r->txn)
                        : mdb_txn_begin(s->env, NULL, MDB_RDONLY, &r->txn);
        if (rc == 0) {
            r->active = 1;
            return FSTORE_OK;
        }
        pthread_rwlock_unlock(&s->remap);
        if (rc == MDB_MAP_RESIZED && tries < 3) {
            fs_store_adopt_size(s);
            continue;
        }
        return fs_mdb_err(rc, "starting a read snapshot", r->errmsg,
                          sizeof r->errmsg);
    }
}

fstore_err_t fstore_reader_refresh(fstore_reader_t *r)
{
    if (!r)
        return FSTORE_ERR_INVALID_ARG;
    fstore_reader_reset(r);
    return fs_reader_begin(r);
}

const char *fstore_reader_errmsg(const fstore_reader_t *r)
{
    return r ? r->errmsg : "";
}

fstore_err_t fs_reader_ensure(fstore_reader_t *r)
{
    return r->active ? FSTORE_OK : fs_reader_begin(r);
}

/* The lookup shared by fstore_get, fstore_get_batch and the Arrow export. */
static inline fstore_err_t fs_lookup(fstore_reader_t *r, const fstore_table_t *t,
                                     const void *key, size_t key_len,
                                     const uint8_t **rowp)
{
    if (FS_UNLIKELY(key_len == 0 || !key))
        return key_len ? fs_reader_fail(r, FSTORE_ERR_INVALID_ARG,
                                        "a key of %zu bytes at NULL", key_len)
                       : fs_reader_fail(r, FSTORE_ERR_KEY,
                                        "keys must not be empty");
    if (FS_UNLIKELY(t->index >= r->ntables))
        return FSTORE_NOT_FOUND; /* the table is newer than this snapshot */
    MDB_val k, v;
    fs_key_make(key, key_len, r->keybuf, &k);
    int rc = mdb_get(r->txn, t->dbi, &k, &v);
    if (rc == MDB_NOTFOUND)
        return FSTORE_NOT_FOUND;
    if (FS_UNLIKELY(rc))
        return fs_mdb_err(rc, "looking up a key", r->errmsg, sizeof r->errmsg);
    const uint8_t *row = v.mv_data;
    if (FS_UNLIKELY(!fs_row_sane(v.mv_data, v.mv_size)))
        return fs_reader_fail(r, FSTORE_ERR_CORRUPT,
                              "table \"%s\": a row has a damaged header",
                              t->name);
    if (FS_UNLIKELY(fs_key_is_hashed(key_len))) {
        /* Digest keys carry the full key after the body: compare it. */
        size_t off = FS_ROW_HDR + fs_row_body_size(row);
        if (!(row[FS_H_FLAGS] & FS_ROW_F_FULLKEY) ||
            v.mv_size - off != key_len || memcmp(row + off, key, key_len))
            return FSTORE_NOT_FOUND;
    }
    *rowp = row;
    return FSTORE_OK;
}

fstore_err_t fstore_get(fstore_reader_t *r, const fstore_table_t *t,
                        const void *key, size_t key_len,
                        const fstore_row_t **rowp)
{
    if (FS_UNLIKELY(!r || !t || !rowp || t->store != r->store))
        return FSTORE_ERR_INVALID_ARG;
    *rowp = NULL;
    fstore_err_t e;
    if (FS_UNLIKELY(!r->active) && (e = fs_reader_begin(r)))
        return e;
    const uint8_t *row = NULL;
    e = fs_lookup(r, t, key, key_len, &row);
    *rowp = (const fstore_row_t *)row;
    return e;
}

/* A column of a batch projection, flattened so the per-key loop touches
 * only this small array. */
typedef struct fs_proj {
    uint32_t slot;
    uint16_t nbyte; /* null bitmap byte */
    uint8_t nbit;
    uint8_t kind; /* P_* */
} fs_proj;

enum { P_BOOL, P_I32, P_I64, P_F32, P_F64 };

static inline float fs_cell(const fs_proj *p, const uint8_t *body)
{
    const uint8_t *slot = body + p->slot;
    float f;
    double d;
    switch (p->kind) {
    case P_BOOL:
        return slot[0] ? 1.0f : 0.0f;
    case P_I32:
        return (float)(int32_t)fs_load_u32(slot);
    case P_I64:
        return (float)(int64_t)fs_load_u64(slot);
    case P_F32:
        memcpy(&f, slot, 4);
        return f;
    default:
        memcpy(&d, slot, 8);
        return (float)d;
    }
}

#define FS_PROJ_STACK 64

fstore_err_t fstore_get_batch(fstore_reader_t *r, const fstore_table_t *t,
                              size_t nkeys, const void *const *keys,
                              const size_t *key_lens, const int *cols,
                              size_t ncols, float *out, size_t row_stride,
                              uint8_t *found)
{
    if (!r || !t || t->store != r->store || (nkeys && (!keys || !key_lens)) ||
        (ncols && !cols) || (nkeys && ncols && !out) || row_stride < ncols)
        return FSTORE_ERR_INVALID_ARG;
    const fs_layout *L = t->L;
    fs_proj stack[FS_PROJ_STACK];
    fs_proj *proj = ncols <= FS_PROJ_STACK ? stack : malloc(ncols * sizeof *proj);
    if (!proj)
        return FSTORE_ERR_NO_MEMORY;
    fstore_err_t e = FSTORE_OK;
    for (size_t j = 0; j < ncols && !e; j++) {
        if (cols[j] < 0 || cols[j] >= L->ncols) {
            e = fs_reader_fail(r, FSTORE_ERR_NO_COLUMN,
                               "table \"%s\" has no column %d", t->name, cols[j]);
            break;
        }
        const fs_col *c = &L->cols[cols[j]];
        switch (c->type) {
        case FSTORE_TYPE_BOOLEAN: proj[j].kind = P_BOOL; break;
        case FSTORE_TYPE_INT:
        case FSTORE_TYPE_ENUM: proj[j].kind = P_I32; break;
        case FSTORE_TYPE_LONG: proj[j].kind = P_I64; break;
        case FSTORE_TYPE_FLOAT: proj[j].kind = P_F32; break;
        case FSTORE_TYPE_DOUBLE: proj[j].kind = P_F64; break;
        default:
            e = fs_reader_fail(r, FSTORE_ERR_TYPE,
                               "column \"%s\" is not numeric; a matrix holds "
                               "boolean, int, long, float, double and enum "
                               "columns",
                               c->name);
            break;
        }
        proj[j].slot = c->slot;
        proj[j].nbyte = (uint16_t)(cols[j] >> 3);
        proj[j].nbit = (uint8_t)(1u << (cols[j] & 7));
    }
    if (!e && !r->active)
        e = fs_reader_begin(r);
    for (size_t i = 0; !e && i < nkeys; i++) {
        float *o = out + i * row_stride;
        const uint8_t *row = NULL;
        e = fs_lookup(r, t, keys[i], key_lens[i], &row);
        if (e == FSTORE_NOT_FOUND) {
            e = FSTORE_OK;
            for (size_t j = 0; j < ncols; j++)
                o[j] = NAN;
            if (found)
                found[i] = 0;
            continue;
        }
        if (e)
            break;
        const uint8_t *body = row + FS_ROW_HDR;
        for (size_t j = 0; j < ncols; j++)
            o[j] = body[proj[j].nbyte] & proj[j].nbit ? NAN : fs_cell(&proj[j], body);
        if (found)
            found[i] = 1;
    }
    if (proj != stack)
        free(proj);
    return e;
}

fstore_err_t fstore_reader_offset(fstore_reader_t *r, const fstore_table_t *t,
                                  int32_t partition, int64_t *offset)
{
    if (!r || !t || !offset || partition < 0)
        return FSTORE_ERR_INVALID_ARG;
    fstore_err_t e;
    if (!r->active && (e = fs_reader_begin(r)))
        return e;
    uint8_t kb[300];
    MDB_val k = {fs_offset_key(t, partition, kb, sizeof kb), kb}, v;
    int rc = mdb_get(r->txn, r->store->meta, &k, &v);
    if (rc == MDB_NOTFOUND)
        return FSTORE_NOT_FOUND;
    if (rc)
        return fs_mdb_err(rc, "reading an offset", r->errmsg, sizeof r->errmsg);
    if (v.mv_size != 8)
        return fs_reader_fail(r, FSTORE_ERR_CORRUPT, "a stored offset is damaged");
    *offset = (int64_t)fs_load_u64(v.mv_data);
    return FSTORE_OK;
}

fstore_err_t fs_reader_fprint(fstore_reader_t *r, const fstore_table_t *t,
                              int32_t partition, int64_t *offset, uint64_t *fp)
{
    fstore_err_t e;
    if (!r->active && (e = fs_reader_begin(r)))
        return e;
    uint8_t kb[300];
    MDB_val k = {fs_part_key(FS_META_FPRINT, t, partition, kb, sizeof kb), kb},
            v;
    int rc = mdb_get(r->txn, r->store->meta, &k, &v);
    if (rc == MDB_NOTFOUND)
        return FSTORE_NOT_FOUND;
    if (rc)
        return fs_mdb_err(rc, "reading a fingerprint", r->errmsg,
                          sizeof r->errmsg);
    if (v.mv_size != 16)
        return fs_reader_fail(r, FSTORE_ERR_CORRUPT,
                              "a stored fingerprint is damaged");
    *offset = (int64_t)fs_load_u64(v.mv_data);
    *fp = fs_load_u64((const uint8_t *)v.mv_data + 8);
    return FSTORE_OK;
}

fstore_err_t fstore_reader_offsets(fstore_reader_t *r, const fstore_table_t *t,
                                   int32_t *partitions, int64_t *offsets,
                                   size_t cap, size_t *count)
{
    if (!r || !t || !count || (cap && (!partitions || !offsets)))
        return FSTORE_ERR_INVALID_ARG;
    *count = 0;
    fstore_err_t e;
    if (!r->active && (e = fs_reader_begin(r)))
        return e;
    uint8_t kb[300];
    size_t plen = fs_offset_key(t, 0, kb, sizeof kb) - 4; /* tag+name+NUL */
    MDB_cursor *cur;
    int rc = mdb_cursor_open(r->txn, r->store->meta, &cur);
    if (rc)
        return fs_mdb_err(rc, "listing offsets", r->errmsg, sizeof r->errmsg);
    MDB_val k = {plen, kb}, v;
    size_t n = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != plen + 4 || memcmp(k.mv_data, kb, plen) != 0)
            break;
        if (n < cap && v.mv_size == 8) {
            partitions[n] = (int32_t)fs_load_be32((uint8_t *)k.mv_data + plen);
            offsets[n] = (int64_t)fs_load_u64(v.mv_data);
        }
        n++;
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND)
        return fs_mdb_err(rc, "listing offsets", r->errmsg, sizeof r->errmsg);
    *count = n;
    return FSTORE_OK;
}

fstore_err_t fstore_reader_row_count(fstore_reader_t *r, const fstore_table_t *t,
                                     uint64_t *count)
{
    if (!r || !t || !count)
        return FSTORE_ERR_INVALID_ARG;
    fstore_err_t e;
    if (!r->active && (e = fs_reader_begin(r)))
        return e;
    *count = 0;
    if (t->index >= r->ntables)
        return FSTORE_OK;
    MDB_stat st;
    int rc = mdb_stat(r->txn, t->dbi, &st);
    if (rc)
        return fs_mdb_err(rc, "counting rows", r->errmsg, sizeof r->errmsg);
    *count = st.ms_entries;
    return FSTORE_OK;
}

fstore_err_t fs_reader_lookup(fstore_reader_t *r, const fstore_table_t *t,
                              const void *key, size_t key_len,
                              const uint8_t **rowp)
{
    return fs_lookup(r, t, key, key_len, rowp);
}
