/* Row view accessors: O(1) reads at precomputed offsets, no allocation. */
#include "layout.h"
#include "tables.h"

#define FS_ROW(r) ((const uint8_t *)(r))
#define FS_BODY(r) (FS_ROW(r) + FS_ROW_HDR)

int64_t fstore_row_timestamp(const fstore_row_t *row)
{
    return (int64_t)fs_load_u64(FS_ROW(row) + FS_H_TS);
}
int32_t fstore_row_partition(const fstore_row_t *row)
{
    return (int32_t)fs_load_u32(FS_ROW(row) + FS_H_PART);
}
int64_t fstore_row_offset(const fstore_row_t *row)
{
    return (int64_t)fs_load_u64(FS_ROW(row) + FS_H_OFFSET);
}
int32_t fstore_row_schema_id(const fstore_row_t *row)
{
    return (int32_t)fs_load_u32(FS_ROW(row) + FS_H_SCHEMA);
}
uint64_t fstore_row_checksum(const fstore_row_t *row)
{
    return fs_load_u64(FS_ROW(row) + FS_H_CSUM);
}

fstore_err_t fstore_row_verify(const fstore_row_t *row)
{
    if (!row)
        return FSTORE_ERR_INVALID_ARG;
    uint32_t n = fs_row_body_size(FS_ROW(row));
    return fs_row_hash(FS_BODY(row), n) == fstore_row_checksum(row)
               ? FSTORE_OK
               : FSTORE_ERR_CORRUPT;
}

/* Resolves (table, row, col) to the column, or an error; reports nulls. */
static inline fstore_err_t fs_at(const fstore_table_t *t, const fstore_row_t *row,
                                 int col, const fs_col **c)
{
    if (FS_UNLIKELY(!t || !row || col < 0 || col >= t->L->ncols))
        return FSTORE_ERR_NO_COLUMN;
    *c = &t->L->cols[col];
    if (fs_body_is_null(FS_BODY(row), col))
        return FSTORE_NULL;
    return FSTORE_OK;
}

#define FS_ACCESS(cond)                                                        \
    const fs_col *c;                                                           \
    fstore_err_t e = fs_at(t, row, col, &c);                                   \
    if (e == FSTORE_ERR_NO_COLUMN)                                             \
        return e;                                                              \
    if (FS_UNLIKELY(!(cond)))                                                  \
        return FSTORE_ERR_TYPE;                                                \
    if (e)                                                                     \
        return e;                                                              \
    const uint8_t *slot = FS_BODY(row) + c->slot

int fstore_row_is_null(const fstore_table_t *t, const fstore_row_t *row, int col)
{
    const fs_col *c;
    fstore_err_t e = fs_at(t, row, col, &c);
    return e == FSTORE_ERR_NO_COLUMN ? -1 : e == FSTORE_NULL;
}

fstore_err_t fstore_row_bool(const fstore_table_t *t, const fstore_row_t *row,
                             int col, int *out)
{
    FS_ACCESS(c->type == FSTORE_TYPE_BOOLEAN);
    *out = slot[0] != 0;
    return FSTORE_OK;
}

fstore_err_t fstore_row_int(const fstore_table_t *t, const fstore_row_t *row,
                            int col, int32_t *out)
{
    FS_ACCESS(c->type == FSTORE_TYPE_INT || c->type == FSTORE_TYPE_ENUM);
    *out = (int32_t)fs_load_u32(slot);
    return FSTORE_OK;
}

fstore_err_t fstore_row_long(const fstore_table_t *t, const fstore_row_t *row,
                             int col, int64_t *out)
{
    FS_ACCESS(c->type == FSTORE_TYPE_INT || c->type == FSTORE_TYPE_LONG);
    *out = c->type == FSTORE_TYPE_INT ? (int32_t)fs_load_u32(slot)
                                      : (int64_t)fs_load_u64(slot);
    return FSTORE_OK;
}

fstore_err_t fstore_row_float(const fstore_table_t *t, const fstore_row_t *row,
                              int col, float *out)
{
    FS_ACCESS(c->type == FSTORE_TYPE_FLOAT);
    memcpy(out, slot, 4);
    return FSTORE_OK;
}

fstore_err_t fstore_row_double(const fstore_table_t *t, const fstore_row_t *row,
                               int col, double *out)
{
    FS_ACCESS(c->type >= FSTORE_TYPE_INT && c->type <= FSTORE_TYPE_DOUBLE);
    switch (c->type) {
    case FSTORE_TYPE_INT:
        *out = (int32_t)fs_load_u32(slot);
        break;
    case FSTORE_TYPE_LONG:
        *out = (double)(int64_t)fs_load_u64(slot);
        break;
    case FSTORE_TYPE_FLOAT: {
        float f;
        memcpy(&f, slot, 4);
        *out = f;
        break;
    }
    default:
        memcpy(out, slot, 8);
        break;
    }
    return FSTORE_OK;
}

fstore_err_t fstore_row_bytes(const fstore_table_t *t, const fstore_row_t *row,
                              int col, const char **data, size_t *len)
{
    FS_ACCESS(c->type >= FSTORE_TYPE_STRING && c->type <= FSTORE_TYPE_FIXED);
    if (!data || !len)
        return FSTORE_ERR_INVALID_ARG;
    if (c->type == FSTORE_TYPE_ENUM) {
        int32_t idx = (int32_t)fs_load_u32(slot);
        if (idx < 0 || idx >= c->nsyms)
            return FSTORE_ERR_CORRUPT;
        *data = c->syms[idx];
        *len = strlen(c->syms[idx]);
        return FSTORE_OK;
    }
    *data = (const char *)FS_BODY(row) + fs_load_u32(slot);
    *len = fs_load_u32(slot + 4);
    return FSTORE_OK;
}

fstore_err_t fstore_row_array(const fstore_table_t *t, const fstore_row_t *row,
                              int col, const void **data, size_t *count)
{
    FS_ACCESS(c->elem != 0);
    if (!data || !count)
        return FSTORE_ERR_INVALID_ARG;
    *data = FS_BODY(row) + fs_load_u32(slot);
    *count = fs_load_u32(slot + 4);
    return FSTORE_OK;
}

fstore_err_t fstore_row_array_float(const fstore_table_t *t,
                                    const fstore_row_t *row, int col,
                                    float *out, size_t cap, size_t *count)
{
    FS_ACCESS(c->elem != 0);
    if (!count || (cap && !out))
        return FSTORE_ERR_INVALID_ARG;
    const uint8_t *p = FS_BODY(row) + fs_load_u32(slot);
    size_t n = fs_load_u32(slot + 4);
    *count = n;
    size_t m = n < cap ? n : cap;
    switch (c->type) {
    case FSTORE_TYPE_ARRAY_FLOAT:
        if (m)
            memcpy(out, p, m * 4);
        break;
    case FSTORE_TYPE_ARRAY_DOUBLE:
        for (size_t i = 0; i < m; i++) {
            double d;
            memcpy(&d, p + i * 8, 8);
            out[i] = (float)d;
        }
        break;
    case FSTORE_TYPE_ARRAY_INT:
        for (size_t i = 0; i < m; i++)
            out[i] = (float)(int32_t)fs_load_u32(p + i * 4);
        break;
    default:
        for (size_t i = 0; i < m; i++)
            out[i] = (float)(int64_t)fs_load_u64(p + i * 8);
        break;
    }
    return n > cap ? FSTORE_ERR_RANGE : FSTORE_OK;
}
