/* Confluent framing, Avro binary decoding and writer → serving resolution
 * through compiled plans, and the cache that keeps plans by key. */
#include <stdio.h>
#include <stdlib.h>

#include "decode.h"

#define FS_MAX_DEPTH 64

enum { W_INT, W_LONG, W_FLOAT, W_DOUBLE };
enum { R_NULL, R_ERR, R_BOOL, R_NUM, R_BYTES, R_ENUM, R_FIXED, R_ARRAY };

typedef struct fs_read {
    uint8_t kind;
    uint8_t wprim; /* R_NUM and R_ARRAY elements: writer number type */
    int32_t enum_n;
    int32_t *enum_map; /* writer symbol → serving index, -1 if absent */
    int32_t fixed_size;
    char *errmsg; /* R_ERR */
} fs_read;

typedef struct fs_op {
    int col; /* serving column, or -1 to skip */
    const char *field;
    avro_schema_t wschema; /* for skipping */
    int nbranch;           /* > 0 when the writer type is a union */
    fs_read *branch;
    fs_read one;
} fs_op;

struct fs_plan {
    const fs_layout *L;
    avro_schema_t wschema;
    int nops;
    fs_op *ops;
    int ndefaults;
    int *defaults; /* serving columns the writer lacks */
};

typedef struct fs_in {
    const uint8_t *p, *end;
} fs_in;

/* ---- framing ---- */

fstore_err_t fs_frame_parse(const void *value, size_t len, int32_t *schema_id,
                            const uint8_t **payload, size_t *payload_len,
                            char *errstr, size_t errstr_size)
{
    const uint8_t *v = value;
    if (len < 5)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_DECODE_FRAME,
                           "value of %zu bytes is shorter than the 5-byte "
                           "Confluent header",
                           len);
    if (v[0] != 0)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_DECODE_FRAME,
                           "value starts with byte 0x%02x, not the Confluent "
                           "magic byte 0 (is the topic raw Avro or JSON?)",
                           v[0]);
    *schema_id = (int32_t)fs_load_be32(v + 1);
    *payload = v + 5;
    *payload_len = len - 5;
    return FSTORE_OK;
}

/* ---- primitive reads ---- */

static fstore_err_t rd_varint(fs_in *in, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (in->p >= in->end)
            return FSTORE_ERR_DECODE_TRUNCATED;
        uint8_t b = *in->p++;
        if (shift == 63 && (b & 0x7e))
            return FSTORE_ERR_DECODE_MALFORMED;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return FSTORE_OK;
        }
    }
    return FSTORE_ERR_DECODE_MALFORMED;
}

static fstore_err_t rd_long(fs_in *in, int64_t *out)
{
    uint64_t u = 0;
    fstore_err_t e = rd_varint(in, &u);
    *out = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    return e;
}

static fstore_err_t rd_int(fs_in *in, int32_t *out)
{
    int64_t v;
    fstore_err_t e = rd_long(in, &v);
    if (e)
        return e;
    if (v < INT32_MIN || v > INT32_MAX)
        return FSTORE_ERR_DECODE_MALFORMED;
    *out = (int32_t)v;
    return FSTORE_OK;
}

static fstore_err_t rd_fixed(fs_in *in, size_t n, const uint8_t **out)
{
    if ((size_t)(in->end - in->p) < n)
        return FSTORE_ERR_DECODE_TRUNCATED;
    *out = in->p;
    in->p += n;
    return FSTORE_OK;
}

static fstore_err_t rd_len(fs_in *in, size_t *n)
{
    int64_t v;
    fstore_err_t e = rd_long(in, &v);
    if (e)
        return e;
    if (v < 0)
        return FSTORE_ERR_DECODE_MALFORMED;
    if ((uint64_t)v > (uint64_t)(in->end - in->p))
        return FSTORE_ERR_DECODE_TRUNCATED;
    *n = (size_t)v;
    return FSTORE_OK;
}

/* A writer number, widened to both representations. */
static fstore_err_t rd_num(fs_in *in, int wprim, int64_t *i, double *d)
{
    fstore_err_t e = FSTORE_OK;
    const uint8_t *p;
    switch (wprim) {
    case W_INT: {
        int32_t v = 0;
        e = rd_int(in, &v);
        *i = v;
        *d = v;
        break;
    }
    case W_LONG:
        e = rd_long(in, i);
        *d = (double)*i;
        break;
    case W_FLOAT: {
        float f;
        if (!(e = rd_fixed(in, 4, &p))) {
            memcpy(&f, p, 4);
            *d = f;
        }
        break;
    }
    default:
        if (!(e = rd_fixed(in, 8, &p)))
            memcpy(d, p, 8);
        break;
    }
    return e;
}

/* ---- skipping writer-only data ---- */

static int fs_zero_size(avro_schema_t s, int depth)
{
    if (depth > FS_MAX_DEPTH)
        return 0;
    if (avro_typeof(s) == AVRO_LINK)
        s = avro_schema_link_target(s);
    if (avro_typeof(s) == AVRO_NULL)
        return 1;
    if (avro_typeof(s) == AVRO_RECORD) {
        size_t n = avro_schema_record_size(s);
        for (size_t i = 0; i < n; i++)
            if (!fs_zero_size(avro_schema_record_field_get_by_index(s, (int)i),
                              depth + 1))
                return 0;
        return 1;
    }
    if (avro_typeof(s) == AVRO_FIXED)
        return avro_schema_fixed_size(s) == 0;
    return 0;
}

static fstore_err_t fs_skip(avro_schema_t s, fs_in *in, int depth);

static fstore_err_t fs_skip_blocks(avro_schema_t items, int is_map, fs_in *in,
                                   int depth)
{
    /* Items that encode to nothing (null, empty records) have nothing to
     * skip: only their counts are read, however large they claim to be. */
    int empty = !is_map && fs_zero_size(items, depth);
    for (;;) {
        int64_t count;
        fstore_err_t e = rd_long(in, &count);
        if (e)
            return e;
        if (count == 0)
            return FSTORE_OK;
        if (count < 0) {
            if (count == INT64_MIN)
                return FSTORE_ERR_DECODE_MALFORMED;
            count = -count;
            size_t bytes;
            if ((e = rd_len(in, &bytes)))
                return e;
            /* The block size lets whole blocks be skipped at once. */
            in->p += bytes;
            continue;
        }
        if (empty)
            continue;
        /* Every other item takes at least one byte. */
        if ((uint64_t)count > (uint64_t)(in->end - in->p))
            return FSTORE_ERR_DECODE_TRUNCATED;
        for (int64_t k = 0; k < count; k++) {
            if (is_map) {
                size_t n;
                if ((e = rd_len(in, &n)))
                    return e;
                in->p += n;
            }
            if ((e = fs_skip(items, in, depth + 1)))
                return e;
        }
    }
}

static fstore_err_t fs_skip(avro_schema_t s, fs_in *in, int depth)
{
    if (depth > FS_MAX_DEPTH)
        return FSTORE_ERR_DECODE_MALFORMED;
    const uint8_t *p;
    uint64_t u;
    size_t n;
    fstore_err_t e;
    switch (avro_typeof(s)) {
    case AVRO_NULL:
        return FSTORE_OK;
    case AVRO_BOOLEAN:
        return rd_fixed(in, 1, &p);
    case AVRO_INT32:
    case AVRO_INT64:
    case AVRO_ENUM:
        return rd_varint(in, &u);
    case AVRO_FLOAT:
        return rd_fixed(in, 4, &p);
    case AVRO_DOUBLE:
        return rd_fixed(in, 8, &p);
    case AVRO_STRING:
    case AVRO_BYTES:
        if ((e = rd_len(in, &n)))
            return e;
        in->p += n;
        return FSTORE_OK;
    case AVRO_FIXED:
        return rd_fixed(in, (size_t)avro_schema_fixed_size(s), &p);
    case AVRO_RECORD: {
        size_t nf = avro_schema_record_size(s);
        for (size_t i = 0; i < nf; i++)
            if ((e = fs_skip(avro_schema_record_field_get_by_index(s, (int)i),
                             in, depth + 1)))
                return e;
        return FSTORE_OK;
    }
    case AVRO_ARRAY:
        return fs_skip_blocks(avro_schema_array_items(s), 0, in, depth);
    case AVRO_MAP:
        return fs_skip_blocks(avro_schema_map_values(s), 1, in, depth);
    case AVRO_UNION: {
        int64_t idx;
        if ((e = rd_long(in, &idx)))
            return e;
        if (idx < 0 || (size_t)idx >= avro_schema_union_size(s))
            return FSTORE_ERR_DECODE_MALFORMED;
        return fs_skip(avro_schema_union_branch(s, (int)idx), in, depth + 1);
    }
    case AVRO_LINK:
        return fs_skip(avro_schema_link_target(s), in, depth + 1);
    }
    return FSTORE_ERR_DECODE_MALFORMED;
}

/* ---- resolution (plan time) ---- */

static int fs_wprim(avro_type_t t)
{
    switch (t) {
    case AVRO_INT32: return W_INT;
    case AVRO_INT64: return W_LONG;
    case AVRO_FLOAT: return W_FLOAT;
    case AVRO_DOUBLE: return W_DOUBLE;
    default: return -1;
    }
}

/* Can writer number wp be promoted to serving type t by Avro's rules? */
static int fs_promotes(int wp, fstore_type_t t)
{
    switch (t) {
    case FSTORE_TYPE_INT: return wp == W_INT;
    case FSTORE_TYPE_LONG: return wp == W_INT || wp == W_LONG;
    case FSTORE_TYPE_FLOAT: return wp >= W_INT && wp <= W_FLOAT;
    case FSTORE_TYPE_DOUBLE: return wp >= W_INT && wp <= W_DOUBLE;
    default: return 0;
    }
}

static fstore_type_t fs_elem_scalar(fstore_type_t t)
{
    switch (t) {
    case FSTORE_TYPE_ARRAY_FLOAT: return FSTORE_TYPE_FLOAT;
    case FSTORE_TYPE_ARRAY_DOUBLE: return FSTORE_TYPE_DOUBLE;
    case FSTORE_TYPE_ARRAY_INT: return FSTORE_TYPE_INT;
    default: return FSTORE_TYPE_LONG;
    }
}

static const char *fs_tname(avro_schema_t s)
{
    const char *n = avro_schema_type_name(s);
    return n ? n : "?";
}

static const char *const fs_type_names[] = {
    "boolean", "int", "long", "float", "double", "string", "bytes",
    "enum", "fixed", "array<float>", "array<double>", "array<int>",
    "array<long>"};

/* Resolves one non-union writer type against column c. Returns 0 and fills
 * r, or -1 with a message in msg. */
static int fs_resolve1(avro_schema_t w, const fs_col *c, fs_read *r, char *msg,
                       size_t msg_size)
{
    avro_type_t wt = avro_typeof(w);
    if (wt == AVRO_LINK)
        w = avro_schema_link_target(w), wt = avro_typeof(w);
    memset(r, 0, sizeof *r);
    if (wt == AVRO_NULL) {
        if (c->nullable) {
            r->kind = R_NULL;
            return 0;
        }
        snprintf(msg, msg_size,
                 "field \"%s\": the writer sends null but the serving column "
                 "is not nullable",
                 c->name);
        return -1;
    }
    int wp = fs_wprim(wt);
    switch (c->type) {
    case FSTORE_TYPE_BOOLEAN:
        if (wt == AVRO_BOOLEAN) {
            r->kind = R_BOOL;
            return 0;
        }
        break;
    case FSTORE_TYPE_INT:
    case FSTORE_TYPE_LONG:
    case FSTORE_TYPE_FLOAT:
    case FSTORE_TYPE_DOUBLE:
        if (wp >= 0 && fs_promotes(wp, c->type)) {
            r->kind = R_NUM;
            r->wprim = (uint8_t)wp;
            return 0;
        }
        break;
    case FSTORE_TYPE_STRING:
    case FSTORE_TYPE_BYTES:
        if (wt == AVRO_STRING || wt == AVRO_BYTES) {
            r->kind = R_BYTES;
            return 0;
        }
        break;
    case FSTORE_TYPE_ENUM:
        if (wt == AVRO_ENUM) {
            r->kind = R_ENUM;
            r->enum_n = (int32_t)avro_schema_enum_number_of_symbols(w);
            r->enum_map = malloc(sizeof(int32_t) * (size_t)(r->enum_n + 1));
            if (!r->enum_map) {
                snprintf(msg, msg_size, "out of memory");
                return -1;
            }
            for (int32_t i = 0; i < r->enum_n; i++) {
                const char *sym = avro_schema_enum_get(w, i);
                r->enum_map[i] = c->enum_default;
                for (int k = 0; k < c->nsyms; k++)
                    if (!strcmp(sym, c->syms[k]))
                        r->enum_map[i] = k;
            }
            return 0;
        }
        break;
    case FSTORE_TYPE_FIXED:
        if (wt == AVRO_FIXED && avro_schema_fixed_size(w) == c->fixed_size) {
            r->kind = R_FIXED;
            r->fixed_size = c->fixed_size;
            return 0;
        }
        break;
    case FSTORE_TYPE_ARRAY_FLOAT:
    case FSTORE_TYPE_ARRAY_DOUBLE:
    case FSTORE_TYPE_ARRAY_INT:
    case FSTORE_TYPE_ARRAY_LONG:
        if (wt == AVRO_ARRAY) {
            avro_schema_t it = avro_schema_array_items(w);
            if (avro_typeof(it) == AVRO_LINK)
                it = avro_schema_link_target(it);
            int ep = fs_wprim(avro_typeof(it));
            if (ep >= 0 && fs_promotes(ep, fs_elem_scalar(c->type))) {
                r->kind = R_ARRAY;
                r->wprim = (uint8_t)ep;
                return 0;
            }
        }
        break;
    }
    if (wt == AVRO_ARRAY)
        snprintf(msg, msg_size,
                 "field \"%s\": writer type array<%s> cannot be read as %s",
                 c->name, fs_tname(avro_schema_array_items(w)),
                 fs_type_names[c->type]);
    else if (wt == AVRO_FIXED && c->type == FSTORE_TYPE_FIXED)
        snprintf(msg, msg_size,
                 "field \"%s\": writer fixed(%lld) cannot be read as fixed(%d)",
                 c->name, (long long)avro_schema_fixed_size(w), c->fixed_size);
    else
        snprintf(msg, msg_size,
                 "field \"%s\": writer type %s cannot be read as %s", c->name,
                 fs_tname(w), fs_type_names[c->type]);
    return -1;
}

static void fs_read_free(fs_read *r)
{
    free(r->enum_map);
    free(r->errmsg);
}

void fs_plan_free(fs_plan *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->nops; i++) {
        fs_op *op = &p->ops[i];
        fs_read_free(&op->one);
        for (int b = 0; b < op->nbranch; b++)
            fs_read_free(&op->branch[b]);
        free(op->branch);
    }
    free(p->ops);
    free(p->defaults);
    if (p->wschema)
        avro_schema_decref(p->wschema);
    free(p);
}

fstore_err_t fs_plan_new(const char *writer_json, const fs_layout *L,
                         fs_plan **out, char *errstr, size_t errstr_size)
{
    *out = NULL;
    fs_plan *p = calloc(1, sizeof *p);
    if (!p)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY,
                           "out of memory");
    p->L = L;
    fstore_err_t err;
    if (fs_avro_parse(writer_json, &p->wschema)) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_WRITER_SCHEMA,
                          "writer schema is not valid Avro: %s",
                          avro_strerror());
        goto fail;
    }
    if (avro_typeof(p->wschema) != AVRO_RECORD) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_RESOLVE,
                          "writer schema is a %s, not a record",
                          fs_tname(p->wschema));
        goto fail;
    }
    size_t nf = avro_schema_record_size(p->wschema);
    p->ops = calloc(nf ? nf : 1, sizeof(fs_op));
    p->defaults = calloc((size_t)L->ncols, sizeof(int));
    uint8_t *seen = calloc((size_t)L->ncols, 1);
    if (!p->ops || !p->defaults || !seen) {
        free(seen);
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY,
                          "out of memory");
        goto fail;
    }
    p->nops = (int)nf;
    char msg[512];
    for (size_t i = 0; i < nf; i++) {
        fs_op *op = &p->ops[i];
        op->field = avro_schema_record_field_name(p->wschema, (int)i);
        op->wschema = avro_schema_record_field_get_by_index(p->wschema, (int)i);
        op->col = fs_layout_col(L, op->field);
        if (op->col < 0)
            continue;
        seen[op->col] = 1;
        const fs_col *c = &L->cols[op->col];
        if (avro_typeof(op->wschema) == AVRO_UNION) {
            /* Each branch is resolved on its own; a branch that cannot
             * resolve only fails the records that use it (Avro's rule). */
            int nb = (int)avro_schema_union_size(op->wschema);
            op->nbranch = nb;
            op->branch = calloc((size_t)nb, sizeof(fs_read));
            if (!op->branch) {
                free(seen);
                err = fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY,
                                  "out of memory");
                goto fail;
            }
            int usable = 0;
            for (int b = 0; b < nb; b++) {
                fs_read *r = &op->branch[b];
                if (fs_resolve1(avro_schema_union_branch(op->wschema, b), c, r,
                                msg, sizeof msg) == 0) {
                    usable++;
                } else {
                    r->kind = R_ERR;
                    r->errmsg = fs_strdup(msg);
                }
            }
            if (!usable) {
                free(seen);
                err = fstore__err(errstr, errstr_size, FSTORE_ERR_RESOLVE,
                                  "field \"%s\": no branch of the writer's "
                                  "union can be read as the serving type",
                                  op->field);
                goto fail;
            }
        } else if (fs_resolve1(op->wschema, c, &op->one, msg, sizeof msg)) {
            free(seen);
            err = fstore__err(errstr, errstr_size, FSTORE_ERR_RESOLVE, "%s", msg);
            goto fail;
        }
    }
    for (int c = 0; c < L->ncols; c++) {
        if (seen[c])
            continue;
        if (!L->cols[c].def.present) {
            free(seen);
            err = fstore__err(errstr, errstr_size, FSTORE_ERR_RESOLVE,
                              "field \"%s\": the writer schema lacks it and "
                              "the serving schema gives no default",
                              L->cols[c].name);
            goto fail;
        }
        p->defaults[p->ndefaults++] = c;
    }
    free(seen);
    *out = p;
    return FSTORE_OK;
fail:
    fs_plan_free(p);
    return err;
}

/* ---- decoding (hot path) ---- */

static void fs_store_num(fs_buf *b, const fs_col *c, int64_t i, double d,
                         int wprim)
{
    uint8_t *slot = b->data + FS_ROW_HDR + c->slot;
    switch (c->type) {
    case FSTORE_TYPE_INT: {
        int32_t v = (int32_t)i;
        memcpy(slot, &v, 4);
        break;
    }
    case FSTORE_TYPE_LONG:
        memcpy(slot, &i, 8);
        break;
    case FSTORE_TYPE_FLOAT: {
        float f = wprim <= W_LONG ? (float)i : (float)d;
        memcpy(slot, &f, 4);
        break;
    }
    default: {
        double v = wprim <= W_LONG ? (double)i : d;
        memcpy(slot, &v, 8);
        break;
    }
    }
}

static fstore_err_t fs_read_array(const fs_read *r, const fs_col *c, fs_in *in,
                                  fs_buf *b)
{
    if (!fs_row_var(b, c, 0, 0, 0))
        return FSTORE_ERR_NO_MEMORY;
    size_t slot = FS_ROW_HDR + c->slot;
    uint32_t total = 0;
    fstore_type_t et = fs_elem_scalar(c->type);
    for (;;) {
        int64_t count;
        fstore_err_t e = rd_long(in, &count);
        if (e)
            return e;
        if (count == 0)
            break;
        if (count < 0) {
            if (count == INT64_MIN)
                return FSTORE_ERR_DECODE_MALFORMED;
            count = -count;
            size_t ignored;
            if ((e = rd_len(in, &ignored)))
                return e;
        }
        /* Every writer element takes at least one byte. */
        if ((uint64_t)count > (uint64_t)(in->end - in->p))
            return FSTORE_ERR_DECODE_TRUNCATED;
        if ((uint64_t)total + (uint64_t)count > UINT32_MAX / 8)
            return FSTORE_ERR_DECODE_MALFORMED;
        if (fs_buf_reserve(b, (size_t)count * c->elem))
            return FSTORE_ERR_NO_MEMORY;
        for (int64_t k = 0; k < count; k++) {
            int64_t i = 0;
            double d = 0;
            if ((e = rd_num(in, r->wprim, &i, &d)))
                return e;
            uint8_t *dst = b->data + b->len;
            switch (et) {
            case FSTORE_TYPE_INT: {
                int32_t v = (int32_t)i;
                memcpy(dst, &v, 4);
                break;
            }
            case FSTORE_TYPE_LONG:
                memcpy(dst, &i, 8);
                break;
            case FSTORE_TYPE_FLOAT: {
                float f = r->wprim <= W_LONG ? (float)i : (float)d;
                memcpy(dst, &f, 4);
                break;
            }
            default: {
                double v = r->wprim <= W_LONG ? (double)i : d;
                memcpy(dst, &v, 8);
                break;
            }
            }
            b->len += c->elem;
        }
        total += (uint32_t)count;
    }
    fs_store_u32(b->data + slot + 4, total);
    return FSTORE_OK;
}

static fstore_err_t fs_read_col(const fs_read *r, const fs_col *c, int col,
                                fs_in *in, fs_buf *b, char *errstr,
                                size_t errstr_size)
{
    fstore_err_t e;
    const uint8_t *p;
    switch (r->kind) {
    case R_NULL:
        fs_row_set_null(b, col);
        return FSTORE_OK;
    case R_ERR:
        return fstore__err(errstr, errstr_size, FSTORE_ERR_RESOLVE, "%s",
                           r->errmsg ? r->errmsg : "unresolvable branch");
    case R_BOOL:
        if ((e = rd_fixed(in, 1, &p)))
            return e;
        if (*p > 1)
            return FSTORE_ERR_DECODE_MALFORMED;
        fs_row_set_raw(b, c, p);
        return FSTORE_OK;
    case R_NUM: {
        int64_t i = 0;
        double d = 0;
        if ((e = rd_num(in, r->wprim, &i, &d)))
            return e;
        fs_store_num(b, c, i, d, r->wprim);
        return FSTORE_OK;
    }
    case R_BYTES: {
        size_t n;
        if ((e = rd_len(in, &n)))
            return e;
        uint8_t *dst = fs_row_var(b, c, n, (uint32_t)n, c->type == FSTORE_TYPE_STRING);
        if (!dst)
            return FSTORE_ERR_NO_MEMORY;
        memcpy(dst, in->p, n);
        in->p += n;
        return FSTORE_OK;
    }
    case R_ENUM: {
        int32_t idx;
        if ((e = rd_int(in, &idx)))
            return e;
        if (idx < 0 || idx >= r->enum_n)
            return FSTORE_ERR_DECODE_MALFORMED;
        int32_t v = r->enum_map[idx];
        if (v < 0)
            return fstore__err(errstr, errstr_size, FSTORE_ERR_RESOLVE,
                               "field \"%s\": writer enum symbol #%d is not a "
                               "symbol of the serving enum",
                               c->name, idx);
        fs_row_set_raw(b, c, &v);
        return FSTORE_OK;
    }
    case R_FIXED: {
        if ((e = rd_fixed(in, (size_t)r->fixed_size, &p)))
            return e;
        uint8_t *dst = fs_row_var(b, c, (size_t)r->fixed_size,
                                  (uint32_t)r->fixed_size, 0);
        if (!dst)
            return FSTORE_ERR_NO_MEMORY;
        memcpy(dst, p, (size_t)r->fixed_size);
        return FSTORE_OK;
    }
    case R_ARRAY:
        return fs_read_array(r, c, in, b);
    }
    return FSTORE_ERR_DECODE_MALFORMED;
}

static fstore_err_t fs_field_err(fstore_err_t e, const char *field,
                                 size_t at, char *errstr, size_t errstr_size)
{
    switch (e) {
    case FSTORE_ERR_DECODE_TRUNCATED:
        return fstore__err(errstr, errstr_size, e,
                           "field \"%s\": the Avro payload ends at byte %zu, "
                           "inside this field",
                           field, at);
    case FSTORE_ERR_DECODE_MALFORMED:
        return fstore__err(errstr, errstr_size, e,
                           "field \"%s\": malformed Avro at byte %zu (bad "
                           "varint, length, union branch or enum index)",
                           field, at);
    case FSTORE_ERR_NO_MEMORY:
        return fstore__err(errstr, errstr_size, e, "out of memory");
    default:
        return e; /* message already formatted */
    }
}

fstore_err_t fs_plan_decode(const fs_plan *p, const uint8_t *data, size_t len,
                            fs_buf *b, char *errstr, size_t errstr_size)
{
    const fs_layout *L = p->L;
    if (fs_row_begin(b, L))
        return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY,
                           "out of memory");
    fs_in in = {data, data + len};
    for (int i = 0; i < p->nops; i++) {
        const fs_op *op = &p->ops[i];
        fstore_err_t e;
        const uint8_t *at = in.p;
        if (op->col < 0) {
            e = fs_skip(op->wschema, &in, 0);
        } else if (op->nbranch) {
            int64_t idx;
            e = rd_long(&in, &idx);
            if (!e && (idx < 0 || idx >= op->nbranch))
                e = FSTORE_ERR_DECODE_MALFORMED;
            if (!e)
                e = fs_read_col(&op->branch[idx], &L->cols[op->col], op->col,
                                &in, b, errstr, errstr_size);
        } else {
            e = fs_read_col(&op->one, &L->cols[op->col], op->col, &in, b,
                            errstr, errstr_size);
        }
        if (FS_UNLIKELY(e))
            return fs_field_err(e, op->field, (size_t)(at - data), errstr,
                                errstr_size);
    }
    if (in.p != in.end)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_DECODE_TRAILING,
                           "%zu bytes remain after the Avro record (the "
                           "writer schema does not match the payload?)",
                           (size_t)(in.end - in.p));
    for (int i = 0; i < p->ndefaults; i++)
        if (fs_row_set_default(b, L, p->defaults[i]))
            return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY,
                               "out of memory");
    return FSTORE_OK;
}

/* ---- plan cache ---- */

typedef struct fs_plan_slot {
    int64_t key;
    fs_plan *plan; /* NULL: the schema does not resolve ... */
    char *why;     /* ... for this reason */
} fs_plan_slot;

struct fs_plan_cache {
    fs_plan_slot *slots;
    size_t n, cap;
};

fs_plan_cache *fs_plan_cache_new(void) { return calloc(1, sizeof(fs_plan_cache)); }

void fs_plan_cache_free(fs_plan_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        fs_plan_free(c->slots[i].plan);
        free(c->slots[i].why);
    }
    free(c->slots);
    free(c);
}

int fs_plan_cache_get(const fs_plan_cache *c, int64_t key, const fs_plan **plan,
                      const char **why)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->slots[i].key == key) {
            *plan = c->slots[i].plan;
            *why = c->slots[i].why;
            return 1;
        }
    }
    return 0;
}

int fs_plan_cache_put(fs_plan_cache *c, int64_t key, fs_plan *plan,
                      const char *why)
{
    char *w = plan ? NULL : fs_strdup(why ? why : "no plan");
    if (!plan && !w)
        return -1;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 4;
        fs_plan_slot *ns = realloc(c->slots, cap * sizeof *ns);
        if (!ns) {
            fs_plan_free(plan);
            free(w);
            return -1;
        }
        c->slots = ns;
        c->cap = cap;
    }
    c->slots[c->n].key = key;
    c->slots[c->n].plan = plan;
    c->slots[c->n].why = w;
    c->n++;
    return 0;
}
