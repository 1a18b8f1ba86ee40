/* Batch lookups exported through the Arrow C Data Interface. */
#include <stdio.h>
#include <stdlib.h>

#include "reader.h"

/* ---- owned arrays and schemas ---- */

typedef struct fs_apriv {
    void *buf[3];
    const void *bp[3];
    struct ArrowArray **kids;
    int64_t nkids;
} fs_apriv;

static void fs_array_release(struct ArrowArray *a)
{
    fs_apriv *p = a->private_data;
    for (int i = 0; i < 3; i++)
        free(p->buf[i]);
    for (int64_t k = 0; k < p->nkids; k++) {
        if (p->kids[k] && p->kids[k]->release)
            p->kids[k]->release(p->kids[k]);
        free(p->kids[k]);
    }
    free(p->kids);
    free(p);
    a->release = NULL;
}

/* Initialises a (whose struct the caller owns) with nbuf buffers and
 * nkids zeroed child structs. */
static int fs_array_init(struct ArrowArray *a, int64_t len, int nbuf, int64_t nkids)
{
    memset(a, 0, sizeof *a);
    fs_apriv *p = calloc(1, sizeof *p);
    if (!p)
        return -1;
    a->private_data = p;
    a->release = fs_array_release;
    a->length = len;
    a->n_buffers = nbuf;
    a->buffers = p->bp;
    if (nkids) {
        p->kids = calloc((size_t)nkids, sizeof *p->kids);
        if (!p->kids)
            return -1;
        p->nkids = nkids;
        for (int64_t k = 0; k < nkids; k++)
            if (!(p->kids[k] = calloc(1, sizeof(struct ArrowArray))))
                return -1;
        a->n_children = nkids;
        a->children = p->kids;
    }
    return 0;
}

/* Allocates buffer i of a, zeroed. */
static void *fs_array_buf(struct ArrowArray *a, int i, size_t n)
{
    fs_apriv *p = a->private_data;
    /* Arrow asks for 8-byte alignment at least; 64 suits SIMD readers. */
    size_t sz = (n + 63) & ~(size_t)63;
    void *b = aligned_alloc(64, sz ? sz : 64);
    if (!b)
        return NULL;
    memset(b, 0, sz ? sz : 64);
    p->buf[i] = b;
    p->bp[i] = b;
    return b;
}

typedef struct fs_spriv {
    char *format;
    char *name;
    struct ArrowSchema **kids;
    int64_t nkids;
} fs_spriv;

static void fs_schema_release(struct ArrowSchema *s)
{
    fs_spriv *p = s->private_data;
    for (int64_t k = 0; k < p->nkids; k++) {
        if (p->kids[k] && p->kids[k]->release)
            p->kids[k]->release(p->kids[k]);
        free(p->kids[k]);
    }
    free(p->kids);
    free(p->format);
    free(p->name);
    free(p);
    s->release = NULL;
}

static int fs_schema_init(struct ArrowSchema *s, const char *format,
                          const char *name, int nullable, int64_t nkids)
{
    memset(s, 0, sizeof *s);
    fs_spriv *p = calloc(1, sizeof *p);
    if (!p)
        return -1;
    s->private_data = p;
    s->release = fs_schema_release;
    p->format = fs_strdup(format);
    p->name = fs_strdup(name);
    if (!p->format || !p->name)
        return -1;
    s->format = p->format;
    s->name = p->name;
    s->flags = nullable ? ARROW_FLAG_NULLABLE : 0;
    if (nkids) {
        p->kids = calloc((size_t)nkids, sizeof *p->kids);
        if (!p->kids)
            return -1;
        p->nkids = nkids;
        for (int64_t k = 0; k < nkids; k++)
            if (!(p->kids[k] = calloc(1, sizeof(struct ArrowSchema))))
                return -1;
        s->n_children = nkids;
        s->children = p->kids;
    }
    return 0;
}

/* ---- column formats ---- */

static void fs_format(const fs_col *c, char *fmt, size_t n)
{
    switch (c->type) {
    case FSTORE_TYPE_BOOLEAN: snprintf(fmt, n, "b"); break;
    case FSTORE_TYPE_INT:
        snprintf(fmt, n, "%s", c->logical == FSTORE_LOGICAL_DATE ? "tdD"
                               : c->logical == FSTORE_LOGICAL_TIME_MILLIS ? "ttm"
                                                                           : "i");
        break;
    case FSTORE_TYPE_LONG:
        switch (c->logical) {
        case FSTORE_LOGICAL_TIMESTAMP_MILLIS: snprintf(fmt, n, "tsm:UTC"); break;
        case FSTORE_LOGICAL_TIMESTAMP_MICROS: snprintf(fmt, n, "tsu:UTC"); break;
        case FSTORE_LOGICAL_LOCAL_TIMESTAMP_MILLIS: snprintf(fmt, n, "tsm:"); break;
        case FSTORE_LOGICAL_LOCAL_TIMESTAMP_MICROS: snprintf(fmt, n, "tsu:"); break;
        case FSTORE_LOGICAL_TIME_MICROS: snprintf(fmt, n, "ttu"); break;
        default: snprintf(fmt, n, "l"); break;
        }
        break;
    case FSTORE_TYPE_FLOAT: snprintf(fmt, n, "f"); break;
    case FSTORE_TYPE_DOUBLE: snprintf(fmt, n, "g"); break;
    case FSTORE_TYPE_STRING:
    case FSTORE_TYPE_ENUM: snprintf(fmt, n, "u"); break;
    case FSTORE_TYPE_BYTES: snprintf(fmt, n, "z"); break;
    case FSTORE_TYPE_FIXED: snprintf(fmt, n, "w:%d", c->fixed_size); break;
    default: snprintf(fmt, n, "+l"); break;
    }
}

static const char *fs_elem_format(fstore_type_t t)
{
    switch (t) {
    case FSTORE_TYPE_ARRAY_FLOAT: return "f";
    case FSTORE_TYPE_ARRAY_DOUBLE: return "g";
    case FSTORE_TYPE_ARRAY_INT: return "i";
    default: return "l";
    }
}

static inline void fs_bit_set(uint8_t *bits, size_t i)
{
    bits[i >> 3] |= (uint8_t)(1u << (i & 7));
}

/* ---- filling ---- */

/* A variable-size value of row (string/bytes/fixed/array/enum symbol). */
static void fs_var(const fs_col *c, const uint8_t *row, const uint8_t **data,
                   size_t *len)
{
    const uint8_t *body = row + FS_ROW_HDR;
    const uint8_t *slot = body + c->slot;
    if (c->type == FSTORE_TYPE_ENUM) {
        int32_t idx = (int32_t)fs_load_u32(slot);
        const char *sym = idx >= 0 && idx < c->nsyms ? c->syms[idx] : "";
        *data = (const uint8_t *)sym;
        *len = strlen(sym);
        return;
    }
    *data = body + fs_load_u32(slot);
    *len = fs_load_u32(slot + 4);
    if (c->elem)
        *len *= c->elem; /* arrays: bytes */
}

static int fs_is_null(const uint8_t *row, int col)
{
    return !row || fs_body_is_null(row + FS_ROW_HDR, col);
}

static int fs_fill_column(struct ArrowArray *a, const fs_col *c, int col,
                          const uint8_t *const *rows, size_t n)
{
    int is_var = c->type == FSTORE_TYPE_STRING || c->type == FSTORE_TYPE_BYTES ||
                 c->type == FSTORE_TYPE_ENUM || c->elem;
    int fixed = c->type == FSTORE_TYPE_FIXED;
    if (fs_array_init(a, (int64_t)n, is_var && !c->elem ? 3 : 2, c->elem ? 1 : 0))
        return -1;
    uint8_t *valid = fs_array_buf(a, 0, (n + 7) / 8);
    if (!valid)
        return -1;
    int64_t nulls = 0;
    for (size_t i = 0; i < n; i++) {
        if (fs_is_null(rows[i], col))
            nulls++;
        else
            fs_bit_set(valid, i);
    }
    a->null_count = nulls;
    if (c->type == FSTORE_TYPE_BOOLEAN) {
        uint8_t *bits = fs_array_buf(a, 1, (n + 7) / 8);
        if (!bits)
            return -1;
        for (size_t i = 0; i < n; i++)
            if (!fs_is_null(rows[i], col) && rows[i][FS_ROW_HDR + c->slot])
                fs_bit_set(bits, i);
        return 0;
    }
    if (!is_var && !fixed) {
        uint8_t *vals = fs_array_buf(a, 1, n * c->width);
        if (!vals)
            return -1;
        for (size_t i = 0; i < n; i++)
            if (!fs_is_null(rows[i], col))
                memcpy(vals + i * c->width, rows[i] + FS_ROW_HDR + c->slot, c->width);
        return 0;
    }
    if (fixed) {
        size_t w = (size_t)c->fixed_size;
        uint8_t *vals = fs_array_buf(a, 1, n * w);
        if (!vals)
            return -1;
        for (size_t i = 0; i < n; i++) {
            const uint8_t *d;
            size_t len;
            if (fs_is_null(rows[i], col))
                continue;
            fs_var(c, rows[i], &d, &len);
            memcpy(vals + i * w, d, len < w ? len : w);
        }
        return 0;
    }
    /* Variable: offsets, then the bytes (or the list's child values). */
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *d;
        size_t len;
        if (fs_is_null(rows[i], col))
            continue;
        fs_var(c, rows[i], &d, &len);
        total += len;
    }
    size_t unit = c->elem ? c->elem : 1;
    if (total / unit > INT32_MAX)
        return -1;
    int32_t *offs = fs_array_buf(a, 1, (n + 1) * sizeof(int32_t));
    uint8_t *bytes;
    if (c->elem) {
        struct ArrowArray *child = a->children[0];
        /* Elements are never null: their validity buffer stays absent. */
        if (fs_array_init(child, (int64_t)(total / unit), 2, 0))
            return -1;
        bytes = fs_array_buf(child, 1, total);
    } else {
        bytes = fs_array_buf(a, 2, total);
    }
    if (!offs || !bytes)
        return -1;
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        offs[i] = (int32_t)(pos / unit);
        const uint8_t *d;
        size_t len;
        if (fs_is_null(rows[i], col))
            continue;
        fs_var(c, rows[i], &d, &len);
        memcpy(bytes + pos, d, len);
        pos += len;
    }
    offs[n] = (int32_t)(pos / unit);
    return 0;
}

fstore_err_t fstore_get_batch_arrow(fstore_reader_t *r, const fstore_table_t *t,
                                    size_t nkeys, const void *const *keys,
                                    const size_t *key_lens, const int *cols,
                                    size_t ncols, struct ArrowSchema *schema_out,
                                    struct ArrowArray *array_out)
{
    if (!r || !t || t->store != r->store || !schema_out || !array_out ||
        (nkeys && (!keys || !key_lens)) || (ncols && !cols))
        return FSTORE_ERR_INVALID_ARG;
    const fs_layout *L = t->L;
    for (size_t j = 0; j < ncols; j++)
        if (cols[j] < 0 || cols[j] >= L->ncols) {
            snprintf(r->errmsg, sizeof r->errmsg,
                     "table \"%s\" has no column %d", t->name, cols[j]);
            return FSTORE_ERR_NO_COLUMN;
        }
    fstore_err_t err = fs_reader_ensure(r);
    if (err)
        return err;
    const uint8_t **rows = calloc(nkeys ? nkeys : 1, sizeof *rows);
    if (!rows)
        return FSTORE_ERR_NO_MEMORY;
    size_t keybytes = 0;
    for (size_t i = 0; i < nkeys; i++) {
        err = fs_reader_lookup(r, t, keys[i], key_lens[i], &rows[i]);
        if (err == FSTORE_NOT_FOUND) {
            rows[i] = NULL;
            err = FSTORE_OK;
        }
        if (err) {
            free(rows);
            return err;
        }
        keybytes += key_lens[i];
    }
    struct ArrowArray a;
    struct ArrowSchema s;
    int64_t nf = (int64_t)ncols + 2;
    int bad = fs_array_init(&a, (int64_t)nkeys, 1, nf) ||
              fs_schema_init(&s, "+s", "", 0, nf);
    /* The struct itself has no nulls: its validity buffer may be omitted. */
    if (!bad) {
        /* key */
        struct ArrowArray *ka = a.children[0];
        bad = fs_schema_init(s.children[0], "z", "key", 0, 0) ||
              fs_array_init(ka, (int64_t)nkeys, 3, 0);
        int32_t *ko = bad ? NULL : fs_array_buf(ka, 1, (nkeys + 1) * sizeof(int32_t));
        uint8_t *kb = bad ? NULL : fs_array_buf(ka, 2, keybytes);
        bad = bad || !ko || !kb || keybytes > INT32_MAX;
        size_t pos = 0;
        for (size_t i = 0; !bad && i < nkeys; i++) {
            ko[i] = (int32_t)pos;
            memcpy(kb + pos, keys[i], key_lens[i]);
            pos += key_lens[i];
        }
        if (!bad)
            ko[nkeys] = (int32_t)pos;
    }
    if (!bad) {
        /* found */
        struct ArrowArray *fa = a.children[1];
        bad = fs_schema_init(s.children[1], "b", "found", 0, 0) ||
              fs_array_init(fa, (int64_t)nkeys, 2, 0);
        uint8_t *fb = bad ? NULL : fs_array_buf(fa, 1, (nkeys + 7) / 8);
        bad = bad || !fb;
        for (size_t i = 0; !bad && i < nkeys; i++)
            if (rows[i])
                fs_bit_set(fb, i);
    }
    for (size_t j = 0; !bad && j < ncols; j++) {
        const fs_col *c = &L->cols[cols[j]];
        char fmt[32];
        fs_format(c, fmt, sizeof fmt);
        struct ArrowSchema *cs = s.children[j + 2];
        bad = fs_schema_init(cs, fmt, c->name, 1, c->elem ? 1 : 0) ||
              (c->elem && fs_schema_init(cs->children[0], fs_elem_format(c->type),
                                         "item", 0, 0)) ||
              fs_fill_column(a.children[j + 2], c, cols[j], rows, nkeys);
    }
    free(rows);
    if (bad) {
        if (a.release)
            a.release(&a);
        if (s.release)
            s.release(&s);
        snprintf(r->errmsg, sizeof r->errmsg,
                 "out of memory exporting %zu keys to Arrow", nkeys);
        return FSTORE_ERR_NO_MEMORY;
    }
    *array_out = a;
    *schema_out = s;
    return FSTORE_OK;
}
