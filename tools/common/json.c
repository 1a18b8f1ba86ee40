/* JSON output of the CLI; see json.h. */
#include "json.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jbuf_free(jbuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void jbuf_clear(jbuf *b)
{
    b->len = 0;
}

void jbuf_add(jbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) {
            b->oom = 1;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void jbuf_puts(jbuf *b, const char *s)
{
    jbuf_add(b, s, strlen(s));
}

/* @return the length of the valid UTF-8 sequence at s (1-4), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the 2nd byte */
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* no overlong forms */
        else if (c == 0xED)
            hi = 0x9F; /* no UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F; /* nothing above U+10FFFF */
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return len;
}

void jbuf_string(jbuf *b, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    jbuf_add(b, "\"", 1);
    size_t run = 0; /* start of bytes copied through unchanged */
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t len = 1;
        const char *esc = NULL;
        char tmp[8];
        if (c >= 0x80) {
            len = utf8_len(s + i, n - i);
            if (len) {
                i += len;
                continue;
            }
            len = 1;
            esc = "\\ufffd";
        } else if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c < 0x20 || c == 0x7f) {
            snprintf(tmp, sizeof tmp, "\\u%04x", c);
            esc = tmp;
        } else {
            i++;
            continue;
        }
        jbuf_add(b, str + run, i - run);
        jbuf_puts(b, esc);
        i += len;
        run = i;
    }
    jbuf_add(b, str + run, n - run);
    jbuf_add(b, "\"", 1);
}

void jbuf_utf8(jbuf *b, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t run = 0; /* start of bytes copied through unchanged */
    for (size_t i = 0; i < n;) {
        size_t len = s[i] < 0x80 ? 1 : utf8_len(s + i, n - i);
        if (len) {
            i += len;
            continue;
        }
        jbuf_add(b, str + run, i - run);
        jbuf_puts(b, "\xef\xbf\xbd"); /* U+FFFD */
        run = ++i;
    }
    jbuf_add(b, str + run, n - run);
}

int json_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    for (size_t i = 0; i < n;) {
        size_t len = s[i] < 0x80 ? 1 : utf8_len(s + i, n - i);
        if (!len)
            return 0;
        i += len;
    }
    return 1;
}

void jbuf_base64(jbuf *b, const void *data, size_t n)
{
    jbuf_add(b, "\"", 1);
    jbuf_base64_raw(b, data, n);
    jbuf_add(b, "\"", 1);
}

void jbuf_base64_raw(jbuf *b, const void *data, size_t n)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        char out[4] = {tab[v >> 18], tab[(v >> 12) & 63],
                       i + 1 < n ? tab[(v >> 6) & 63] : '=',
                       i + 2 < n ? tab[v & 63] : '='};
        jbuf_add(b, out, 4);
    }
}

void jbuf_long(jbuf *b, int64_t v)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%" PRId64, v);
    jbuf_puts(b, tmp);
}

/* Prints with the fewest significant digits that read back exactly, so
 * 0.1 prints as 0.1; %.17g (double) and %.9g (float) always do. */
static void jbuf_real(jbuf *b, double v, int is_float)
{
    if (!isfinite(v)) {
        jbuf_puts(b, "null");
        return;
    }
    char tmp[40];
    for (int prec = is_float ? 6 : 15;; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (prec >= (is_float ? 9 : 17))
            break;
        if (is_float ? strtof(tmp, NULL) == (float)v : strtod(tmp, NULL) == v)
            break;
    }
    jbuf_puts(b, tmp);
}

void jbuf_double(jbuf *b, double v)
{
    jbuf_real(b, v, 0);
}

void jbuf_float(jbuf *b, float v)
{
    jbuf_real(b, v, 1);
}

uint64_t tool_load_le(const void *data, int size)
{
    const unsigned char *p = data;
    uint64_t v = 0;
    for (int i = size - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static fstore_err_t jbuf_array(jbuf *b, const fstore_table_t *t,
                               const fstore_row_t *row, int col, int type)
{
    const void *data;
    size_t count;
    fstore_err_t err = fstore_row_array(t, row, col, &data, &count);
    if (err)
        return err;
    const unsigned char *p = data;
    int size = type == FSTORE_TYPE_ARRAY_FLOAT || type == FSTORE_TYPE_ARRAY_INT
                   ? 4
                   : 8;
    jbuf_add(b, "[", 1);
    for (size_t i = 0; i < count; i++, p += size) {
        if (i)
            jbuf_add(b, ",", 1);
        uint64_t u = tool_load_le(p, size);
        if (type == FSTORE_TYPE_ARRAY_FLOAT) {
            uint32_t u32 = (uint32_t)u;
            float f;
            memcpy(&f, &u32, 4);
            jbuf_float(b, f);
        } else if (type == FSTORE_TYPE_ARRAY_DOUBLE) {
            double d;
            memcpy(&d, &u, 8);
            jbuf_double(b, d);
        } else if (type == FSTORE_TYPE_ARRAY_INT)
            jbuf_long(b, (int32_t)(uint32_t)u);
        else
            jbuf_long(b, (int64_t)u);
    }
    jbuf_add(b, "]", 1);
    return FSTORE_OK;
}

fstore_err_t jbuf_value(jbuf *b, const fstore_table_t *t,
                        const fstore_row_t *row, int col)
{
    int type = fstore_table_column_type(t, col);
    fstore_err_t err;
    switch (type) {
    case FSTORE_TYPE_BOOLEAN: {
        int v;
        if (!(err = fstore_row_bool(t, row, col, &v)))
            jbuf_puts(b, v ? "true" : "false");
        return err;
    }
    case FSTORE_TYPE_INT:
    case FSTORE_TYPE_LONG: {
        int64_t v;
        if (!(err = fstore_row_long(t, row, col, &v)))
            jbuf_long(b, v);
        return err;
    }
    case FSTORE_TYPE_FLOAT: {
        float v;
        if (!(err = fstore_row_float(t, row, col, &v)))
            jbuf_float(b, v);
        return err;
    }
    case FSTORE_TYPE_DOUBLE: {
        double v;
        if (!(err = fstore_row_double(t, row, col, &v)))
            jbuf_double(b, v);
        return err;
    }
    case FSTORE_TYPE_STRING:
    case FSTORE_TYPE_ENUM:
    case FSTORE_TYPE_BYTES:
    case FSTORE_TYPE_FIXED: {
        const char *data;
        size_t len;
        if ((err = fstore_row_bytes(t, row, col, &data, &len)))
            return err;
        if (type == FSTORE_TYPE_BYTES || type == FSTORE_TYPE_FIXED)
            jbuf_base64(b, data, len);
        else
            jbuf_string(b, data, len);
        return FSTORE_OK;
    }
    case FSTORE_TYPE_ARRAY_FLOAT:
    case FSTORE_TYPE_ARRAY_DOUBLE:
    case FSTORE_TYPE_ARRAY_INT:
    case FSTORE_TYPE_ARRAY_LONG: return jbuf_array(b, t, row, col, type);
    default:
        /* A column type newer than this tool: fail rather than guess. */
        return FSTORE_ERR_TYPE;
    }
}

fstore_err_t jbuf_row(jbuf *b, const fstore_table_t *t, const fstore_row_t *row)
{
    int n = fstore_table_column_count(t);
    jbuf_add(b, "{", 1);
    for (int col = 0; col < n; col++) {
        const char *name = fstore_table_column_name(t, col);
        if (col)
            jbuf_add(b, ",", 1);
        jbuf_string(b, name, strlen(name));
        jbuf_add(b, ":", 1);
        if (fstore_row_is_null(t, row, col) == 1) {
            jbuf_puts(b, "null");
            continue;
        }
        fstore_err_t err = jbuf_value(b, t, row, col);
        if (err)
            return err;
    }
    jbuf_add(b, "}", 1);
    return FSTORE_OK;
}

void jbuf_row_origin(jbuf *b, const fstore_row_t *row)
{
    jbuf_puts(b, ",\"timestamp\":");
    jbuf_long(b, fstore_row_timestamp(row));
    jbuf_puts(b, ",\"partition\":");
    jbuf_long(b, fstore_row_partition(row));
    jbuf_puts(b, ",\"offset\":");
    jbuf_long(b, fstore_row_offset(row));
}
