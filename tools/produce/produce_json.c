/* JSON → Avro for `fstore produce`; see produce_json.h. */
#include "produce_json.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The conversion of one value: where it is (for messages) and the error. */
typedef struct pj {
    char path[256];
    char *err;
    size_t err_size;
} pj;

static int pj_fail(pj *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int pj_fail(pj *p, const char *fmt, ...)
{
    int n = snprintf(p->err, p->err_size, "field \"%s\": ", p->path);
    if (n < 0 || (size_t)n >= p->err_size)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + n, p->err_size - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *json_kind(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

static int convert(pj *p, avro_value_t *v, avro_schema_t s, json_t *j);

/* Bytes and fixed: each code point of the string (U+0000..U+00FF) is one
 * byte. jansson gives UTF-8, so code points above U+007F come as two bytes.
 * @return the length in @p out (malloc'd), or -1. */
static long code_points_to_bytes(pj *p, json_t *j, unsigned char **out)
{
    const unsigned char *s = (const unsigned char *)json_string_value(j);
    size_t n = json_string_length(j), len = 0;
    unsigned char *buf = malloc(n + 1);
    if (!buf)
        return pj_fail(p, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (s[i] < 0x80)
            buf[len++] = s[i];
        else if ((s[i] == 0xC2 || s[i] == 0xC3) && i + 1 < n) {
            buf[len++] =
                (unsigned char)((s[i] & 0x03) << 6 | (s[i + 1] & 0x3F));
            i++;
        } else {
            free(buf);
            return pj_fail(p, "bytes are a string of code points U+0000 to "
                              "U+00FF (\"\\u00ff\" for byte 255)");
        }
    }
    *out = buf;
    return (long)len;
}

static int convert_bytes(pj *p, avro_value_t *v, avro_schema_t s, json_t *j)
{
    if (!json_is_string(j))
        return pj_fail(p, "expected bytes as a string, got %s", json_kind(j));
    unsigned char *buf = NULL;
    long len = code_points_to_bytes(p, j, &buf);
    if (len < 0)
        return -1;
    int rc;
    if (is_avro_fixed(s)) {
        int64_t size = avro_schema_fixed_size(s);
        if (len != size) {
            free(buf);
            return pj_fail(p, "fixed %s holds %lld bytes, got %ld",
                           avro_schema_name(s), (long long)size, len);
        }
        rc = avro_value_set_fixed(v, buf, (size_t)len);
    } else
        rc = avro_value_set_bytes(v, buf, (size_t)len);
    free(buf);
    return rc ? pj_fail(p, "out of memory") : 0;
}

static int convert_real(pj *p, avro_value_t *v, avro_schema_t s, json_t *j)
{
    double d;
    if (json_is_number(j))
        d = json_number_value(j);
    else if (json_is_string(j) && !strcmp(json_string_value(j), "NaN"))
        d = NAN;
    else if (json_is_string(j) && !strcmp(json_string_value(j), "Infinity"))
        d = INFINITY;
    else if (json_is_string(j) && !strcmp(json_string_value(j), "-Infinity"))
        d = -INFINITY;
    else
        return pj_fail(p, "expected a number, got %s", json_kind(j));
    int rc = is_avro_float(s) ? avro_value_set_float(v, (float)d)
                              : avro_value_set_double(v, d);
    return rc ? pj_fail(p, "out of memory") : 0;
}

static int convert_integer(pj *p, avro_value_t *v, avro_schema_t s, json_t *j)
{
    if (!json_is_integer(j))
        return pj_fail(p, "expected %s, got %s",
                       is_avro_int32(s) ? "an int" : "a long", json_kind(j));
    json_int_t x = json_integer_value(j);
    if (is_avro_int32(s) && (x < INT32_MIN || x > INT32_MAX))
        return pj_fail(p, "%lld does not fit an int (32 bits)", (long long)x);
    int rc = is_avro_int32(s) ? avro_value_set_int(v, (int32_t)x)
                              : avro_value_set_long(v, (int64_t)x);
    return rc ? pj_fail(p, "out of memory") : 0;
}

/* Appends ".name" or "[i]" to the path for the duration of a child. */
static size_t path_push(pj *p, const char *name, size_t i)
{
    size_t len = strlen(p->path);
    size_t room = sizeof p->path - len;
    if (name)
        snprintf(p->path + len, room, len ? ".%s" : "%s", name);
    else
        snprintf(p->path + len, room, "[%zu]", i);
    return len;
}

static int convert_array(pj *p, avro_value_t *v, avro_schema_t s, json_t *j)
{
    if (!json_is_array(j))
        return pj_fail(p, "expected an array, got %s", json_kind(j));
    avro_schema_t items = avro_schema_array_items(s);
    size_t i;
    json_t *e;
    json_array_foreach(j, i, e)
    {
        avro_value_t ev = {0};
        if (avro_value_append(v, &ev, NULL))
            return pj_fail(p, "out of memory");
        size_t mark = path_push(p, NULL, i);
        if (convert(p, &ev, items, e))
            return -1;
        p->path[mark] = '\0';
    }
    return 0;
}

static int convert_map(pj *p, avro_value_t *v, avro_schema_t s, json_t *j)
{
    if (!json_is_object(j))
        return pj_fail(p, "expected an object (a map), got %s", json_kind(j));
    avro_schema_t values = avro_schema_map_values(s);
    const char *k;
    json_t *e;
    json_object_foreach(j, k, e)
    {
        avro_value_t ev = {0};
        if (avro_value_add(v, k, &ev, NULL, NULL))
            return pj_fail(p, "out of memory");
        size_t mark = path_push(p, k, 0);
        if (convert(p, &ev, values, e))
            return -1;
        p->path[mark] = '\0';
    }
    return 0;
}

/* The "default" of field @p name in @p fields (the schema JSON), or NULL. */
static json_t *field_default(json_t *fields, const char *name)
{
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f)
    {
        json_t *n = json_object_get(f, "name");
        if (json_is_string(n) && !strcmp(json_string_value(n), name))
            return json_object_get(f, "default");
    }
    return NULL;
}

static int convert_record(pj *p, avro_value_t *v, avro_schema_t s, json_t *j,
                          json_t *fields)
{
    if (!json_is_object(j))
        return pj_fail(p, "expected an object (record %s), got %s",
                       avro_schema_name(s), json_kind(j));
    const char *k;
    json_t *e;
    json_object_foreach(j, k, e)
    {
        if (avro_schema_record_field_get_index(s, k) < 0) {
            size_t mark = path_push(p, k, 0);
            pj_fail(p, "no such field in record %s", avro_schema_name(s));
            p->path[mark] = '\0';
            return -1;
        }
    }
    size_t n = avro_schema_record_size(s);
    for (size_t i = 0; i < n; i++) {
        const char *name = avro_schema_record_field_name(s, (int)i);
        avro_value_t fv = {0};
        if (avro_value_get_by_index(v, i, &fv, NULL))
            return pj_fail(p, "avro-c: %s", avro_strerror());
        size_t mark = path_push(p, name, 0);
        json_t *fj = json_object_get(j, name);
        if (!fj && fields)
            fj = field_default(fields, name);
        if (!fj)
            return pj_fail(p, "missing (and the schema gives no default)");
        if (convert(p, &fv, avro_schema_record_field_get_by_index(s, (int)i),
                    fj))
            return -1;
        p->path[mark] = '\0';
    }
    return 0;
}

/* A union takes null (its null branch) or a value that one of its other
 * branches accepts, tried in order. */
static int convert_union(pj *p, avro_value_t *v, avro_schema_t s, json_t *j)
{
    size_t n = avro_schema_union_size(s), tried = 0;
    for (size_t b = 0; b < n; b++) {
        avro_schema_t bs = avro_schema_union_branch(s, (int)b);
        if (is_avro_null(bs) != json_is_null(j))
            continue;
        avro_value_t bv = {0};
        if (avro_value_set_branch(v, (int)b, &bv))
            return pj_fail(p, "avro-c: %s", avro_strerror());
        tried++;
        if (convert(p, &bv, bs, j) == 0)
            return 0;
    }
    if (tried == 1) /* ["null", T]: T's message says it best */
        return -1;
    return pj_fail(p, "%s matches no type of the union", json_kind(j));
}

static int convert(pj *p, avro_value_t *v, avro_schema_t s, json_t *j)
{
    int rc = 0;
    switch (avro_typeof(s)) {
    case AVRO_STRING:
        if (!json_is_string(j))
            return pj_fail(p, "expected a string, got %s", json_kind(j));
        rc = avro_value_set_string_len(v, json_string_value(j),
                                       json_string_length(j) + 1);
        break;
    case AVRO_BYTES:
    case AVRO_FIXED: return convert_bytes(p, v, s, j);
    case AVRO_INT32:
    case AVRO_INT64: return convert_integer(p, v, s, j);
    case AVRO_FLOAT:
    case AVRO_DOUBLE: return convert_real(p, v, s, j);
    case AVRO_BOOLEAN:
        if (!json_is_boolean(j))
            return pj_fail(p, "expected true or false, got %s", json_kind(j));
        rc = avro_value_set_boolean(v, json_is_true(j));
        break;
    case AVRO_NULL:
        if (!json_is_null(j))
            return pj_fail(p, "expected null, got %s", json_kind(j));
        rc = avro_value_set_null(v);
        break;
    case AVRO_ENUM: {
        int sym = json_is_string(j)
                      ? avro_schema_enum_get_by_name(s, json_string_value(j))
                      : -1;
        if (sym < 0)
            return pj_fail(p, "expected a symbol of enum %s, got %s%s%s",
                           avro_schema_name(s),
                           json_is_string(j) ? "\"" : json_kind(j),
                           json_is_string(j) ? json_string_value(j) : "",
                           json_is_string(j) ? "\"" : "");
        rc = avro_value_set_enum(v, sym);
        break;
    }
    case AVRO_ARRAY: return convert_array(p, v, s, j);
    case AVRO_MAP: return convert_map(p, v, s, j);
    case AVRO_RECORD: return convert_record(p, v, s, j, NULL);
    case AVRO_UNION: return convert_union(p, v, s, j);
    case AVRO_LINK: return convert(p, v, avro_schema_link_target(s), j);
    default: return pj_fail(p, "unsupported Avro type");
    }
    return rc ? pj_fail(p, "out of memory") : 0;
}

int produce_json_to_avro(avro_value_t *out, avro_schema_t schema, json_t *json,
                         json_t *fields, char *err, size_t err_size)
{
    pj p = {.err = err, .err_size = err_size};
    avro_value_reset(out);
    if (!is_avro_record(schema)) {
        snprintf(err, err_size, "the schema is not a record");
        return -1;
    }
    if (!json_is_object(json)) {
        snprintf(err, err_size, "value: expected an object or null, got %s",
                 json_kind(json));
        return -1;
    }
    return convert_record(&p, out, schema, json, fields);
}
