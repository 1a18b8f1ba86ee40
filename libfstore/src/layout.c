/* Serving schema → row layout, defaults, and the row builder. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <xxhash.h>

#include "layout.h"

uint64_t fs_row_hash(const void *body, size_t n) { return XXH3_64bits(body, n); }

static void fs_json_strip_defaults(json_t *j)
{
    if (json_is_object(j)) {
        json_object_del(j, "default");
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v) fs_json_strip_defaults(v);
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) fs_json_strip_defaults(v);
    }
}

int fs_avro_parse(const char *json, avro_schema_t *out)
{
    /* avro-c ignores default values but its JSON reader refuses some valid
     * ones (a NUL in a bytes default), so it parses the schema without
     * them; fstore reads defaults itself. */
    json_t *j = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    char *text = NULL;
    if (j) {
        fs_json_strip_defaults(j);
        text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(j);
    }
    const char *src = text ? text : json;
    /* On failure avro-c may leave its pointer at a schema it has freed
     * already: *out changes only on success. */
    avro_schema_t s = NULL;
    int rc = avro_schema_from_json_length(src, strlen(src), &s);
    free(text);
    *out = rc ? NULL : s;
    return rc;
}

static const char *fs_avro_type_name(avro_schema_t s)
{
    switch (avro_typeof(s)) {
    case AVRO_STRING: return "string";
    case AVRO_BYTES: return "bytes";
    case AVRO_INT32: return "int";
    case AVRO_INT64: return "long";
    case AVRO_FLOAT: return "float";
    case AVRO_DOUBLE: return "double";
    case AVRO_BOOLEAN: return "boolean";
    case AVRO_NULL: return "null";
    case AVRO_RECORD: return "record";
    case AVRO_ENUM: return "enum";
    case AVRO_FIXED: return "fixed";
    case AVRO_MAP: return "map";
    case AVRO_ARRAY: return "array";
    case AVRO_UNION: return "union";
    case AVRO_LINK: return "record (recursive reference)";
    }
    return "unknown";
}

char *fs_json_canonical(const char *json, char *errstr, size_t errstr_size)
{
    json_error_t jerr;
    json_t *j = json_loads(json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!j) {
        fstore__err(errstr, errstr_size, FSTORE_ERR_SCHEMA,
                    "schema is not valid JSON: %s (line %d, column %d)",
                    jerr.text, jerr.line, jerr.column);
        return NULL;
    }
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_decref(j);
    return s;
}

/* The JSON of a field's non-null type: unwraps ["null", T] / [T, "null"]. */
static json_t *fs_json_nonnull(json_t *type)
{
    if (json_is_array(type)) {
        size_t i;
        json_t *b;
        json_array_foreach(type, i, b)
        {
            if (!(json_is_string(b) && !strcmp(json_string_value(b), "null")))
                return b;
        }
        return NULL;
    }
    return type;
}

static fstore_logical_t fs_logical(json_t *t, const char **unsupported)
{
    *unsupported = NULL;
    if (!json_is_object(t))
        return FSTORE_LOGICAL_NONE;
    const char *lt = json_string_value(json_object_get(t, "logicalType"));
    if (!lt)
        return FSTORE_LOGICAL_NONE;
    static const struct {
        const char *name;
        fstore_logical_t v;
    } map[] = {
        {"date", FSTORE_LOGICAL_DATE},
        {"time-millis", FSTORE_LOGICAL_TIME_MILLIS},
        {"time-micros", FSTORE_LOGICAL_TIME_MICROS},
        {"timestamp-millis", FSTORE_LOGICAL_TIMESTAMP_MILLIS},
        {"timestamp-micros", FSTORE_LOGICAL_TIMESTAMP_MICROS},
        {"local-timestamp-millis", FSTORE_LOGICAL_LOCAL_TIMESTAMP_MILLIS},
        {"local-timestamp-micros", FSTORE_LOGICAL_LOCAL_TIMESTAMP_MICROS},
        {"uuid", FSTORE_LOGICAL_UUID},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(lt, map[i].name))
            return map[i].v;
    if (!strcmp(lt, "decimal") || !strcmp(lt, "duration"))
        *unsupported = lt;
    /* Avro says unknown logical types fall back to the underlying type. */
    return FSTORE_LOGICAL_NONE;
}

/* Maps a bytes/fixed default ("\u00ff"-style JSON string) to raw bytes. */
static int fs_json_bytes(const char *s, size_t n, fs_buf *out)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        unsigned cp;
        if (p[0] < 0x80) {
            cp = p[0];
            p++;
        } else if ((p[0] & 0xE0) == 0xC0 && p + 1 < end) {
            cp = ((unsigned)(p[0] & 0x1F) << 6) | (p[1] & 0x3F);
            p += 2;
        } else {
            return -1;
        }
        if (cp > 0xFF)
            return -1;
        uint8_t byte = (uint8_t)cp;
        if (fs_buf_append(out, &byte, 1))
            return -1;
    }
    return 0;
}

static fstore_err_t fs_default_parse(fs_col *c, json_t *v, char *errstr,
                                     size_t errstr_size)
{
    fs_default *d = &c->def;
    d->present = 1;
    if (json_is_null(v)) {
        if (!c->nullable)
            goto bad;
        d->is_null = 1;
        return FSTORE_OK;
    }
    switch (c->type) {
    case FSTORE_TYPE_BOOLEAN:
        if (!json_is_boolean(v))
            goto bad;
        d->i = json_is_true(v);
        break;
    case FSTORE_TYPE_INT:
    case FSTORE_TYPE_LONG:
        if (!json_is_integer(v))
            goto bad;
        d->i = json_integer_value(v);
        if (c->type == FSTORE_TYPE_INT && (d->i < INT32_MIN || d->i > INT32_MAX))
            goto bad;
        break;
    case FSTORE_TYPE_FLOAT:
    case FSTORE_TYPE_DOUBLE:
        if (!json_is_number(v))
            goto bad;
        d->d = json_number_value(v);
        break;
    case FSTORE_TYPE_STRING:
        if (!json_is_string(v) ||
            fs_buf_append(&d->bytes, json_string_value(v), json_string_length(v)))
            goto bad;
        break;
    case FSTORE_TYPE_BYTES:
    case FSTORE_TYPE_FIXED:
        if (!json_is_string(v) ||
            fs_json_bytes(json_string_value(v), json_string_length(v), &d->bytes))
            goto bad;
        if (c->type == FSTORE_TYPE_FIXED && d->bytes.len != (size_t)c->fixed_size)
            goto bad;
        break;
    case FSTORE_TYPE_ENUM: {
        const char *sym = json_string_value(v);
        if (!sym)
            goto bad;
        d->i = -1;
        for (int i = 0; i < c->nsyms; i++)
            if (!strcmp(c->syms[i], sym))
                d->i = i;
        if (d->i < 0)
            goto bad;
        break;
    }
    case FSTORE_TYPE_ARRAY_FLOAT:
    case FSTORE_TYPE_ARRAY_DOUBLE:
    case FSTORE_TYPE_ARRAY_INT:
    case FSTORE_TYPE_ARRAY_LONG: {
        if (!json_is_array(v))
            goto bad;
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            uint8_t tmp[8];
            if (c->type == FSTORE_TYPE_ARRAY_FLOAT ||
                c->type == FSTORE_TYPE_ARRAY_DOUBLE) {
                if (!json_is_number(e))
                    goto bad;
                double x = json_number_value(e);
                float f = (float)x;
                if (c->elem == 4)
                    memcpy(tmp, &f, 4);
                else
                    memcpy(tmp, &x, 8);
            } else {
                if (!json_is_integer(e))
                    goto bad;
                int64_t x = json_integer_value(e);
                int32_t x32 = (int32_t)x;
                if (c->elem == 4) {
                    if (x < INT32_MIN || x > INT32_MAX)
                        goto bad;
                    memcpy(tmp, &x32, 4);
                } else {
                    memcpy(tmp, &x, 8);
                }
            }
            if (fs_buf_append(&d->bytes, tmp, c->elem))
                goto bad;
        }
        d->count = (uint32_t)json_array_size(v);
        break;
    }
    }
    return FSTORE_OK;
bad:
    return fstore__err(errstr, errstr_size, FSTORE_ERR_SCHEMA,
                       "field \"%s\": its default value does not fit its type",
                       c->name);
}

static fstore_err_t fs_col_type(fs_col *c, avro_schema_t t, json_t *tj,
                                char *errstr, size_t errstr_size)
{
    const char *unsup;
    fstore_logical_t lt = fs_logical(tj, &unsup);
    if (unsup)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_SCHEMA,
                           "field \"%s\": logical type %s is not supported "
                           "(use double, long or string)",
                           c->name, unsup);
    c->schema = t;
    switch (avro_typeof(t)) {
    case AVRO_BOOLEAN: c->type = FSTORE_TYPE_BOOLEAN; c->width = 1; break;
    case AVRO_INT32: c->type = FSTORE_TYPE_INT; c->width = 4; break;
    case AVRO_INT64: c->type = FSTORE_TYPE_LONG; c->width = 8; break;
    case AVRO_FLOAT: c->type = FSTORE_TYPE_FLOAT; c->width = 4; break;
    case AVRO_DOUBLE: c->type = FSTORE_TYPE_DOUBLE; c->width = 8; break;
    case AVRO_STRING: c->type = FSTORE_TYPE_STRING; c->width = 8; break;
    case AVRO_BYTES: c->type = FSTORE_TYPE_BYTES; c->width = 8; break;
    case AVRO_FIXED:
        c->type = FSTORE_TYPE_FIXED;
        c->width = 8;
        if (avro_schema_fixed_size(t) < 0 || avro_schema_fixed_size(t) > INT32_MAX)
            return fstore__err(errstr, errstr_size, FSTORE_ERR_SCHEMA,
                               "field \"%s\": fixed size %lld is invalid",
                               c->name, (long long)avro_schema_fixed_size(t));
        c->fixed_size = (int32_t)avro_schema_fixed_size(t);
        break;
    case AVRO_ENUM: {
        c->type = FSTORE_TYPE_ENUM;
        c->width = 4;
        c->nsyms = (int)avro_schema_enum_number_of_symbols(t);
        c->syms = calloc((size_t)c->nsyms + 1, sizeof(char *));
        if (!c->syms)
            return FSTORE_ERR_NO_MEMORY;
        for (int i = 0; i < c->nsyms; i++) {
            if (!(c->syms[i] = fs_strdup(avro_schema_enum_get(t, i))))
                return FSTORE_ERR_NO_MEMORY;
            for (int k = 0; k < i; k++)
                if (!strcmp(c->syms[k], c->syms[i]))
                    return fstore__err(errstr, errstr_size, FSTORE_ERR_SCHEMA,
                                       "field \"%s\": enum symbol %s appears "
                                       "twice",
                                       c->name, c->syms[i]);
        }
        /* Avro 1.9+: the enum's own default stands in for writer symbols
         * the serving enum lacks. */
        c->enum_default = -1;
        const char *ed = json_is_object(tj)
                             ? json_string_value(json_object_get(tj, "default"))
                             : NULL;
        for (int i = 0; ed && i < c->nsyms; i++)
            if (!strcmp(c->syms[i], ed))
                c->enum_default = i;
        break;
    }
    case AVRO_ARRAY: {
        avro_schema_t it = avro_schema_array_items(t);
        c->width = 8;
        switch (avro_typeof(it)) {
        case AVRO_FLOAT: c->type = FSTORE_TYPE_ARRAY_FLOAT; c->elem = 4; break;
        case AVRO_DOUBLE: c->type = FSTORE_TYPE_ARRAY_DOUBLE; c->elem = 8; break;
        case AVRO_INT32: c->type = FSTORE_TYPE_ARRAY_INT; c->elem = 4; break;
        case AVRO_INT64: c->type = FSTORE_TYPE_ARRAY_LONG; c->elem = 8; break;
        default:
            return fstore__err(errstr, errstr_size, FSTORE_ERR_SCHEMA,
                               "field \"%s\": array of %s is not supported "
                               "(arrays hold float, double, int or long)",
                               c->name, fs_avro_type_name(it));
        }
        break;
    }
    default:
        return fstore__err(errstr, errstr_size, FSTORE_ERR_SCHEMA,
                           "field \"%s\": type %s is not supported as a column "
                           "(see the column types in docs/row-format.md)",
                           c->name, fs_avro_type_name(t));
    }
    if (lt != FSTORE_LOGICAL_NONE) {
        int ok = (lt == FSTORE_LOGICAL_DATE || lt == FSTORE_LOGICAL_TIME_MILLIS)
                     ? c->type == FSTORE_TYPE_INT
                 : lt == FSTORE_LOGICAL_UUID ? c->type == FSTORE_TYPE_STRING
                                             : c->type == FSTORE_TYPE_LONG;
        /* Avro: a logical type on the wrong base type is ignored. */
        if (ok)
            c->logical = lt;
    }
    return FSTORE_OK;
}

static fstore_err_t fs_col_init(fs_col *c, avro_schema_t ft, json_t *fj,
                                char *errstr, size_t errstr_size)
{
    json_t *tj = json_object_get(fj, "type");
    avro_schema_t t = ft;
    if (avro_typeof(ft) == AVRO_UNION) {
        size_t n = avro_schema_union_size(ft);
        avro_schema_t b0 = n > 0 ? avro_schema_union_branch(ft, 0) : NULL;
        avro_schema_t b1 = n > 1 ? avro_schema_union_branch(ft, 1) : NULL;
        if (n == 2 && avro_typeof(b0) == AVRO_NULL && avro_typeof(b1) != AVRO_NULL)
            t = b1;
        else if (n == 2 && avro_typeof(b1) == AVRO_NULL && avro_typeof(b0) != AVRO_NULL)
            t = b0;
        else
            return fstore__err(errstr, errstr_size, FSTORE_ERR_SCHEMA,
                               "field \"%s\": a union of %zu branches is not "
                               "supported (only [\"null\", T] or [T, \"null\"])",
                               c->name, n);
        c->nullable = 1;
        tj = fs_json_nonnull(tj);
    }
    /* A named type defined by an earlier field is referenced by name. */
    if (avro_typeof(t) == AVRO_LINK &&
        avro_typeof(avro_schema_link_target(t)) != AVRO_RECORD)
        t = avro_schema_link_target(t);
    fstore_err_t err = fs_col_type(c, t, tj, errstr, errstr_size);
    if (err)
        return err;
    json_t *dj = json_object_get(fj, "default");
    if (dj) {
        /* For a union the default belongs to the first branch. */
        if (c->nullable && avro_typeof(avro_schema_union_branch(ft, 0)) == AVRO_NULL &&
            !json_is_null(dj))
            return fstore__err(errstr, errstr_size, FSTORE_ERR_SCHEMA,
                               "field \"%s\": the default of a [\"null\", T] "
                               "union must be null",
                               c->name);
        return fs_default_parse(c, dj, errstr, errstr_size);
    }
    return FSTORE_OK;
}

static uint32_t fs_align(uint32_t v, uint32_t a) { return (v + a - 1) & ~(a - 1); }

fstore_err_t fs_layout_new(const char *schema_json, fs_layout **out,
                           char *errstr, size_t errstr_size)
{
    *out = NULL;
    if (!schema_json)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_INVALID_ARG,
                           "schema must not be NULL");
    json_error_t jerr;
    json_t *root = json_loads(schema_json, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!root)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_SCHEMA,
                           "serving schema is not valid JSON: %s (line %d, "
                           "column %d)",
                           jerr.text, jerr.line, jerr.column);
    fs_layout *L = calloc(1, sizeof *L);
    fstore_err_t err = FSTORE_ERR_NO_MEMORY;
    if (!L)
        goto fail;
    if (fs_avro_parse(schema_json, &L->schema)) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_SCHEMA,
                          "serving schema is not valid Avro: %s", avro_strerror());
        goto fail;
    }
    if (avro_typeof(L->schema) != AVRO_RECORD || !json_is_object(root)) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_SCHEMA,
                          "serving schema must be an Avro record (its fields "
                          "are the columns), not %s",
                          fs_avro_type_name(L->schema));
        goto fail;
    }
    json_t *fields = json_object_get(root, "fields");
    size_t n = avro_schema_record_size(L->schema);
    if (n == 0 || !json_is_array(fields) || json_array_size(fields) != n) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_SCHEMA,
                          "serving schema must have at least one field");
        goto fail;
    }
    if (n > 65535) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_SCHEMA,
                          "serving schema has %zu fields; at most 65535", n);
        goto fail;
    }
    L->ncols = (int)n;
    L->cols = calloc(n, sizeof(fs_col));
    if (!L->cols)
        goto fail;
    L->bitmap_size = (uint32_t)((n + 7) / 8);
    uint32_t pos = fs_align(L->bitmap_size, 8);
    for (size_t i = 0; i < n; i++) {
        fs_col *c = &L->cols[i];
        const char *name = avro_schema_record_field_name(L->schema, (int)i);
        if (!(c->name = fs_strdup(name)))
            goto fail;
        for (size_t k = 0; k < i; k++) {
            if (!strcmp(L->cols[k].name, name)) {
                err = fstore__err(errstr, errstr_size, FSTORE_ERR_SCHEMA,
                                  "field \"%s\" appears twice", name);
                goto fail;
            }
        }
        err = fs_col_init(c, avro_schema_record_field_get_by_index(L->schema, (int)i),
                          json_array_get(fields, i), errstr, errstr_size);
        if (err)
            goto fail;
        pos = fs_align(pos, c->width);
        c->slot = pos;
        pos += c->width;
    }
    L->var_start = fs_align(pos, 8);
    if (!(L->canonical = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS)))
        goto fail;
    json_decref(root);
    *out = L;
    return FSTORE_OK;
fail:
    if (err == FSTORE_ERR_NO_MEMORY)
        fstore__err(errstr, errstr_size, err, "out of memory");
    json_decref(root);
    fs_layout_free(L);
    return err;
}

void fs_layout_free(fs_layout *L)
{
    if (!L)
        return;
    for (int i = 0; L->cols && i < L->ncols; i++) {
        fs_col *c = &L->cols[i];
        free(c->name);
        for (int s = 0; c->syms && s < c->nsyms; s++)
            free(c->syms[s]);
        free(c->syms);
        fs_buf_free(&c->def.bytes);
    }
    free(L->cols);
    if (L->schema)
        avro_schema_decref(L->schema);
    free(L->canonical);
    free(L);
}

int fs_layout_col(const fs_layout *L, const char *name)
{
    for (int i = 0; i < L->ncols; i++)
        if (!strcmp(L->cols[i].name, name))
            return i;
    return -1;
}

int fs_row_begin(fs_buf *b, const fs_layout *L)
{
    b->len = 0;
    size_t fixed = FS_ROW_HDR + L->var_start;
    if (fs_buf_reserve(b, fixed + 256))
        return -1;
    memset(b->data, 0, fixed);
    b->len = fixed;
    return 0;
}

uint8_t *fs_row_var(fs_buf *b, const fs_col *c, size_t nbytes, uint32_t count,
                    int nul)
{
    /* Arrays start 8-aligned within the body so rows that land aligned in
     * the map (large rows live on page-aligned overflow pages) can be read
     * in place. */
    size_t start = b->len;
    if (c->elem)
        start = FS_ROW_HDR + fs_align((uint32_t)(b->len - FS_ROW_HDR), 8);
    if (nbytes > UINT32_MAX - 16 ||
        start - FS_ROW_HDR > UINT32_MAX - nbytes - 16)
        return NULL;
    if (fs_buf_reserve(b, (start - b->len) + nbytes + 1))
        return NULL;
    memset(b->data + b->len, 0, start - b->len);
    uint8_t *slot = b->data + FS_ROW_HDR + c->slot;
    fs_store_u32(slot, (uint32_t)(start - FS_ROW_HDR));
    fs_store_u32(slot + 4, count);
    b->len = start + nbytes;
    if (nul)
        b->data[b->len++] = 0;
    return b->data + start;
}

int fs_row_set_default(fs_buf *b, const fs_layout *L, int col)
{
    const fs_col *c = &L->cols[col];
    const fs_default *d = &c->def;
    if (d->is_null) {
        fs_row_set_null(b, col);
        return 0;
    }
    switch (c->type) {
    case FSTORE_TYPE_BOOLEAN: {
        uint8_t v = (uint8_t)d->i;
        fs_row_set_raw(b, c, &v);
        return 0;
    }
    case FSTORE_TYPE_INT:
    case FSTORE_TYPE_ENUM: {
        int32_t v = (int32_t)d->i;
        fs_row_set_raw(b, c, &v);
        return 0;
    }
    case FSTORE_TYPE_LONG:
        fs_row_set_raw(b, c, &d->i);
        return 0;
    case FSTORE_TYPE_FLOAT: {
        float v = (float)d->d;
        fs_row_set_raw(b, c, &v);
        return 0;
    }
    case FSTORE_TYPE_DOUBLE:
        fs_row_set_raw(b, c, &d->d);
        return 0;
    default: {
        int is_array = c->elem != 0;
        uint32_t count = is_array ? d->count : (uint32_t)d->bytes.len;
        uint8_t *p = fs_row_var(b, c, d->bytes.len, count,
                                c->type == FSTORE_TYPE_STRING);
        if (!p)
            return -1;
        if (d->bytes.len)
            memcpy(p, d->bytes.data, d->bytes.len);
        return 0;
    }
    }
}

void fs_row_finish(fs_buf *b, uint8_t flags, int32_t schema_id, int64_t ts,
                   int32_t partition, int64_t offset)
{
    uint8_t *h = b->data;
    uint32_t body = (uint32_t)(b->len - FS_ROW_HDR);
    uint16_t hs = FS_ROW_HDR;
    h[FS_H_VERSION] = FS_ROW_VERSION;
    h[FS_H_FLAGS] = flags;
    memcpy(h + FS_H_HDRSIZE, &hs, 2);
    memcpy(h + FS_H_SCHEMA, &schema_id, 4);
    memcpy(h + FS_H_TS, &ts, 8);
    memcpy(h + FS_H_OFFSET, &offset, 8);
    memcpy(h + FS_H_PART, &partition, 4);
    fs_store_u32(h + FS_H_BODY, body);
    fs_store_u64(h + FS_H_CSUM, fs_row_hash(h + FS_ROW_HDR, body));
}

/* Whether the variable-length value of column c in body (of size body_n)
 * lies inside the body. */
static int fs_var_fits(const fs_col *c, const uint8_t *body, uint32_t body_n)
{
    const uint8_t *slot = body + c->slot;
    uint64_t off = fs_load_u32(slot), count = fs_load_u32(slot + 4);
    uint64_t bytes = c->elem ? count * c->elem : count;
    if (c->type == FSTORE_TYPE_FIXED && count != (uint64_t)c->fixed_size)
        return 0;
    if (c->elem && off % c->elem)
        return 0;
    if (c->type == FSTORE_TYPE_STRING)
        return off + bytes < body_n && body[off + bytes] == 0;
    return off + bytes <= body_n;
}

int fs_row_fits(const fs_layout *L, const void *row, size_t n)
{
    if (!fs_row_sane(row, n))
        return 0;
    const uint8_t *body = (const uint8_t *)row + FS_ROW_HDR;
    uint32_t body_n = fs_row_body_size(row);
    if (body_n < L->var_start)
        return 0;
    for (int i = 0; i < L->ncols; i++) {
        const fs_col *c = &L->cols[i];
        if (fs_body_is_null(body, i))
            continue; /* null */
        if (c->type == FSTORE_TYPE_ENUM) {
            int32_t idx = (int32_t)fs_load_u32(body + c->slot);
            if (idx < 0 || idx >= c->nsyms)
                return 0;
        } else if (c->elem || c->type == FSTORE_TYPE_STRING ||
                   c->type == FSTORE_TYPE_BYTES || c->type == FSTORE_TYPE_FIXED) {
            if (!fs_var_fits(c, body, body_n))
                return 0;
        }
    }
    return 1;
}
