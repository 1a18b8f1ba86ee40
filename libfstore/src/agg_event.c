/* Events in: an aggregation's values from a row or a JSON object
 * (agg_event.h). */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>

#include "agg_event.h"

struct fs_agg_input {
    double *num;
    uint8_t *num_null;
    fs_agg_value *last;
    fs_buf *lastbuf; /* per last-feature: its Avro bytes */
    int nlast;
};

fs_agg_input *fs_agg_input_new(const fs_agg_spec *s)
{
    fs_agg_input *in = calloc(1, sizeof *in);
    if (!in)
        return NULL;
    in->nlast = s->nlast;
    in->num = calloc((size_t)s->nnum + 1, sizeof *in->num);
    in->num_null = calloc((size_t)s->nnum + 1, 1);
    in->last = calloc((size_t)s->nlast + 1, sizeof *in->last);
    in->lastbuf = calloc((size_t)s->nlast + 1, sizeof *in->lastbuf);
    if (!in->num || !in->num_null || !in->last || !in->lastbuf) {
        fs_agg_input_free(in);
        return NULL;
    }
    return in;
}

void fs_agg_input_free(fs_agg_input *in)
{
    if (!in)
        return;
    free(in->num);
    free(in->num_null);
    free(in->last);
    for (int i = 0; in->lastbuf && i < in->nlast; i++)
        fs_buf_free(&in->lastbuf[i]);
    free(in->lastbuf);
    free(in);
}

#define FS_BADEV(...)                                                          \
    fstore__err(errstr, errstr_size, FSTORE_ERR_DECODE_MALFORMED, __VA_ARGS__)

/* Points the event at the input's arrays and last buffers. */
static void fs_event_bind(fs_agg_input *in, const fs_agg_spec *s, fs_agg_event *ev)
{
    ev->num = in->num;
    ev->num_null = in->num_null;
    ev->last = in->last;
    for (int i = 0; i < s->nlast; i++) {
        in->last[i].data = in->lastbuf[i].data;
        in->last[i].len = in->lastbuf[i].len;
    }
}

/* ---- rows ---- */

static double fs_num_at(const fs_col *c, const uint8_t *slot)
{
    switch (c->type) {
    case FSTORE_TYPE_INT: return (int32_t)fs_load_u32(slot);
    case FSTORE_TYPE_LONG: return (double)(int64_t)fs_load_u64(slot);
    case FSTORE_TYPE_FLOAT: {
        float f;
        memcpy(&f, slot, 4);
        return f;
    }
    default: {
        double d;
        memcpy(&d, slot, 8);
        return d;
    }
    }
}

/* The Avro binary of an array column's items. */
static int fs_avro_array(fs_buf *b, const fs_col *c, const uint8_t *body,
                         const uint8_t *slot)
{
    uint32_t count = fs_load_u32(slot + 4);
    const uint8_t *p = body + fs_load_u32(slot);
    if (count && fs_buf_varint(b, count))
        return -1;
    for (uint32_t i = 0; i < count; i++) {
        int bad;
        switch (c->type) {
        case FSTORE_TYPE_ARRAY_INT: bad = fs_buf_varint(b, (int32_t)fs_load_u32(p + 4 * i)); break;
        case FSTORE_TYPE_ARRAY_LONG: bad = fs_buf_varint(b, (int64_t)fs_load_u64(p + 8 * i)); break;
        case FSTORE_TYPE_ARRAY_FLOAT: bad = fs_buf_append(b, p + 4 * i, 4); break;
        default: bad = fs_buf_append(b, p + 8 * i, 8); break;
        }
        if (bad)
            return -1;
    }
    return fs_buf_varint(b, 0);
}

/* The Avro binary of column c's value (not null) in the row body. */
static int fs_avro_of(fs_buf *b, const fs_col *c, const uint8_t *body)
{
    const uint8_t *slot = body + c->slot;
    switch (c->type) {
    case FSTORE_TYPE_BOOLEAN: {
        uint8_t v = slot[0] != 0;
        return fs_buf_append(b, &v, 1);
    }
    case FSTORE_TYPE_INT:
    case FSTORE_TYPE_ENUM: return fs_buf_varint(b, (int32_t)fs_load_u32(slot));
    case FSTORE_TYPE_LONG: return fs_buf_varint(b, (int64_t)fs_load_u64(slot));
    case FSTORE_TYPE_FLOAT: return fs_buf_append(b, slot, 4);
    case FSTORE_TYPE_DOUBLE: return fs_buf_append(b, slot, 8);
    case FSTORE_TYPE_STRING:
    case FSTORE_TYPE_BYTES:
    case FSTORE_TYPE_FIXED: {
        uint32_t len = fs_load_u32(slot + 4);
        if (c->type != FSTORE_TYPE_FIXED && fs_buf_varint(b, len))
            return -1;
        return fs_buf_append(b, body + fs_load_u32(slot), len);
    }
    default: return fs_avro_array(b, c, body, slot);
    }
}

fstore_err_t fs_agg_event_from_row(fs_agg_input *in, const fs_agg_spec *s,
                                   const uint8_t *row, size_t n,
                                   int64_t record_ts, fs_agg_event *ev,
                                   char *errstr, size_t errstr_size)
{
    const fs_layout *L = s->events;
    if (!L || !fs_row_fits(L, row, n))
        return FS_BADEV("the event is not a row of the events' schema");
    const uint8_t *body = row + FS_ROW_HDR;
    ev->t = record_ts;
    if (s->time_col >= 0) {
        if (fs_body_is_null(body, s->time_col))
            return FS_BADEV("the event's time field \"%s\" is null", s->time_field);
        ev->t = (int64_t)fs_load_u64(body + L->cols[s->time_col].slot);
    } else if (record_ts < 0) {
        return FS_BADEV("the record has no timestamp (and the spec names no "
                        "time field)");
    }
    for (int f = 0; f < s->nnum; f++) {
        const fs_col *c = &L->cols[s->num_cols[f]];
        in->num_null[f] = (uint8_t)fs_body_is_null(body, s->num_cols[f]);
        in->num[f] = in->num_null[f] ? 0 : fs_num_at(c, body + c->slot);
    }
    for (int i = 0, k = 0; i < s->nfeatures; i++) {
        const fs_agg_feature *f = &s->features[i];
        if (f->op != FS_AGG_LAST)
            continue;
        in->lastbuf[k].len = 0;
        in->last[k].null = fs_body_is_null(body, f->col);
        if (!in->last[k].null && fs_avro_of(&in->lastbuf[k], &L->cols[f->col], body))
            return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
        k++;
    }
    fs_event_bind(in, s, ev);
    return FSTORE_OK;
}

/* ---- JSON ---- */

/* A JSON array of numbers as the Avro array of column c. */
static int fs_json_array(fs_buf *b, const fs_col *c, json_t *v)
{
    size_t n = json_array_size(v);
    if (n && fs_buf_varint(b, (int64_t)n))
        return -1;
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_array_get(v, i);
        if (!json_is_number(x))
            return 1;
        double d = json_number_value(x);
        float f = (float)d;
        int bad;
        switch (c->type) {
        case FSTORE_TYPE_ARRAY_INT:
        case FSTORE_TYPE_ARRAY_LONG:
            if (!json_is_integer(x))
                return 1;
            bad = fs_buf_varint(b, json_integer_value(x));
            break;
        case FSTORE_TYPE_ARRAY_FLOAT: bad = fs_buf_append(b, &f, 4); break;
        default: bad = fs_buf_append(b, &d, 8); break;
        }
        if (bad)
            return -1;
    }
    return fs_buf_varint(b, 0);
}

static int fs_json_enum(fs_buf *b, const fs_col *c, json_t *v)
{
    if (!json_is_string(v))
        return 1;
    for (int i = 0; i < c->nsyms; i++)
        if (!strcmp(c->syms[i], json_string_value(v)))
            return fs_buf_varint(b, i);
    return 1;
}

/* The Avro binary of JSON value v as column c's type: 0, 1 when v has the
 * wrong type, -1 when out of memory. */
static int fs_json_avro(fs_buf *b, const fs_col *c, json_t *v)
{
    double d = json_number_value(v);
    float f = (float)d;
    switch (c->type) {
    case FSTORE_TYPE_BOOLEAN: {
        uint8_t x = json_is_true(v);
        return json_is_boolean(v) ? fs_buf_append(b, &x, 1) : 1;
    }
    case FSTORE_TYPE_INT:
    case FSTORE_TYPE_LONG:
        return json_is_integer(v) ? fs_buf_varint(b, json_integer_value(v)) : 1;
    case FSTORE_TYPE_FLOAT: return json_is_number(v) ? fs_buf_append(b, &f, 4) : 1;
    case FSTORE_TYPE_DOUBLE: return json_is_number(v) ? fs_buf_append(b, &d, 8) : 1;
    case FSTORE_TYPE_ENUM: return fs_json_enum(b, c, v);
    case FSTORE_TYPE_STRING:
    case FSTORE_TYPE_BYTES:
    case FSTORE_TYPE_FIXED: {
        size_t len = json_string_length(v);
        if (!json_is_string(v) ||
            (c->type == FSTORE_TYPE_FIXED && len != (size_t)c->fixed_size))
            return 1;
        if (c->type != FSTORE_TYPE_FIXED && fs_buf_varint(b, (int64_t)len))
            return -1;
        return fs_buf_append(b, json_string_value(v), len);
    }
    default: return json_is_array(v) ? fs_json_array(b, c, v) : 1;
    }
}

/* A schemaless last value: a string's text, or any other value's JSON. */
static int fs_json_text(fs_buf *b, json_t *v)
{
    if (json_is_string(v))
        return fs_buf_varint(b, (int64_t)json_string_length(v)) ||
               fs_buf_append(b, json_string_value(v), json_string_length(v));
    char *txt = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    int bad = !txt || fs_buf_varint(b, (int64_t)strlen(txt)) ||
              fs_buf_append(b, txt, strlen(txt));
    free(txt);
    return bad ? -1 : 0;
}

static fstore_err_t fs_json_time(const fs_agg_spec *s, json_t *obj,
                                 int64_t record_ts, int64_t *t, char *errstr,
                                 size_t errstr_size)
{
    *t = record_ts;
    if (!s->time_field)
        return record_ts < 0 ? FS_BADEV("the record has no timestamp (and the "
                                        "spec names no time field)")
                             : FSTORE_OK;
    json_t *v = json_object_get(obj, s->time_field);
    if (!json_is_integer(v))
        return FS_BADEV("the event's time field \"%s\" is %s, not an integer of "
                        "milliseconds",
                        s->time_field, v ? "of another type" : "missing");
    *t = json_integer_value(v);
    return FSTORE_OK;
}

static fstore_err_t fs_json_values(fs_agg_input *in, const fs_agg_spec *s,
                                   json_t *obj, char *errstr, size_t errstr_size)
{
    for (int f = 0; f < s->nnum; f++) {
        json_t *v = json_object_get(obj, s->num_names[f]);
        in->num_null[f] = !v || json_is_null(v);
        if (!in->num_null[f] && !json_is_number(v))
            return FS_BADEV("the event's field \"%s\" is not a number", s->num_names[f]);
        in->num[f] = in->num_null[f] ? 0 : json_number_value(v);
    }
    for (int i = 0, k = 0; i < s->nfeatures; i++) {
        const fs_agg_feature *f = &s->features[i];
        if (f->op != FS_AGG_LAST)
            continue;
        json_t *v = json_object_get(obj, f->field);
        in->lastbuf[k].len = 0;
        in->last[k].null = !v || json_is_null(v);
        int rc = in->last[k].null ? 0
                 : s->events      ? fs_json_avro(&in->lastbuf[k], &s->events->cols[f->col], v)
                                  : fs_json_text(&in->lastbuf[k], v);
        if (rc < 0)
            return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
        if (rc)
            return FS_BADEV("the event's field \"%s\" does not have the schema's type",
                            f->field);
        k++;
    }
    return FSTORE_OK;
}

fstore_err_t fs_agg_event_from_json(fs_agg_input *in, const fs_agg_spec *s,
                                    const char *json, size_t n,
                                    int64_t record_ts, fs_agg_event *ev,
                                    char *errstr, size_t errstr_size)
{
    json_error_t jerr;
    json_t *obj = json_loadb(json, n, 0, &jerr);
    fstore_err_t err = FSTORE_OK;
    if (!json_is_object(obj))
        err = FS_BADEV("the event is not a JSON object%s%s", obj ? "" : ": ",
                       obj ? "" : jerr.text);
    if (!err)
        err = fs_json_time(s, obj, record_ts, &ev->t, errstr, errstr_size);
    if (!err)
        err = fs_json_values(in, s, obj, errstr, errstr_size);
    json_decref(obj);
    if (!err)
        fs_event_bind(in, s, ev);
    return err;
}
