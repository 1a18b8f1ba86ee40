/*
 * JSON output of the CLI: a growable text buffer, JSON strings, numbers that
 * round-trip, base64, and one row of a table as an object of its columns.
 */
#ifndef FSTORE_TOOLS_JSON_H
#define FSTORE_TOOLS_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "fstore/fstore.h"

/** A growable buffer; zero-initialise it. After a failed allocation @p oom
 * is set and further appends do nothing. */
typedef struct jbuf {
    char *data;
    size_t len, cap;
    int oom;
} jbuf;

void jbuf_free(jbuf *b);
void jbuf_clear(jbuf *b);
void jbuf_add(jbuf *b, const char *s, size_t n);
void jbuf_puts(jbuf *b, const char *s);

/**
 * Appends @p n bytes of @p s as a JSON string. Quotes, backslashes and
 * control characters are escaped; valid UTF-8 passes through; each byte
 * that is not part of valid UTF-8 becomes U+FFFD.
 */
void jbuf_string(jbuf *b, const char *s, size_t n);

/** Appends @p n bytes of @p data as a JSON string in base64 (RFC 4648). */
void jbuf_base64(jbuf *b, const void *data, size_t n);

/** As jbuf_base64() without the quotes. */
void jbuf_base64_raw(jbuf *b, const void *data, size_t n);

/**
 * Appends @p n bytes of @p s unquoted and unescaped, except that each byte
 * that is not part of valid UTF-8 becomes U+FFFD (as jbuf_string() does).
 */
void jbuf_utf8(jbuf *b, const char *s, size_t n);

/** @return 1 when the @p n bytes at @p s are valid UTF-8, else 0. */
int json_utf8_valid(const char *s, size_t n);

void jbuf_long(jbuf *b, int64_t v);

/** Appends the shortest text that reads back as @p v; NaN/Inf → null. */
void jbuf_double(jbuf *b, double v);

/** As jbuf_double() for a float: the shortest text that reads back. */
void jbuf_float(jbuf *b, float v);

/**
 * Loads a little-endian integer of @p size bytes (4 or 8) from @p data, which
 * may be unaligned: array elements in rows are stored so.
 */
uint64_t tool_load_le(const void *data, int size);

/**
 * Appends the value of non-null column @p col of @p row as JSON, mapped as
 * jbuf_row() does. @return ::FSTORE_OK, or the accessor's error.
 */
fstore_err_t jbuf_value(jbuf *b, const fstore_table_t *table,
                        const fstore_row_t *row, int col);

/**
 * Appends the columns of @p row as a JSON object, by name in schema order
 * (see docs/cli.md for the mapping of each type).
 * @return ::FSTORE_OK, or the accessor's error (the row is damaged).
 */
fstore_err_t jbuf_row(jbuf *b, const fstore_table_t *table,
                      const fstore_row_t *row);

/**
 * Appends where @p row came from as members of the object being written:
 * ,"timestamp":T,"partition":P,"offset":O.
 */
void jbuf_row_origin(jbuf *b, const fstore_row_t *row);

#endif
