/*
 * Shared pieces of the stress programs: a tiny Avro encoder for the stress
 * schema, whose every column derives from one number n, and the check that
 * a row is whole. Plain C (no test framework), so the programs also run
 * under ThreadSanitizer.
 */
#ifndef FSTORE_STRESS_H
#define FSTORE_STRESS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fstore/fstore.h"
#include "support/avro_enc.h"

#define ST_SCHEMA                                                              \
    "{\"type\":\"record\",\"name\":\"S\",\"fields\":["                         \
    "{\"name\":\"a\",\"type\":\"long\"},"                                      \
    "{\"name\":\"b\",\"type\":\"double\"},"                                    \
    "{\"name\":\"s\",\"type\":\"string\"},"                                    \
    "{\"name\":\"e\",\"type\":{\"type\":\"array\",\"items\":\"float\"}}]}"
#define ST_DIM 8

#define ST_FAIL(...)                                                           \
    do {                                                                       \
        fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                   \
        fprintf(stderr, __VA_ARGS__);                                          \
        fputc('\n', stderr);                                                   \
        exit(1);                                                               \
    } while (0)

/* Raw Avro value of the stress record for n; returns its length. */
static inline size_t st_encode(uint8_t *p, int64_t n)
{
    size_t i = sup_put_long(p, n);
    i += sup_put_double(p + i, (double)n * 0.5);
    char s[32];
    int sl = snprintf(s, sizeof s, "v%lld", (long long)n);
    i += sup_put_bytes(p + i, s, (size_t)sl);
    i += sup_put_long(p + i, ST_DIM);
    for (int k = 0; k < ST_DIM; k++)
        i += sup_put_float(p + i, (float)(n + k));
    i += sup_put_long(p + i, 0);
    return i;
}

/* 0 when row is the whole row of some n (stored in *n), else a reason. */
static inline const char *st_check(const fstore_table_t *t,
                                   const fstore_row_t *row, int64_t *n)
{
    double b;
    const char *s;
    size_t sl, cnt;
    float e[ST_DIM];
    char want[32];
    if (fstore_row_verify(row) != FSTORE_OK)
        return "checksum";
    if (fstore_row_long(t, row, 0, n) || fstore_row_double(t, row, 1, &b) ||
        fstore_row_bytes(t, row, 2, &s, &sl) ||
        fstore_row_array_float(t, row, 3, e, ST_DIM, &cnt))
        return "accessor";
    snprintf(want, sizeof want, "v%lld", (long long)*n);
    if (b != (double)*n * 0.5 || strcmp(s, want) != 0 || cnt != ST_DIM)
        return "mixed columns";
    for (int k = 0; k < ST_DIM; k++)
        if (e[k] != (float)(*n + k))
            return "mixed array";
    return NULL;
}

/* Looks up @p key, entity @p k of @p keys, when the store has it: the row
 * must be whole, of that entity, and no older than @p seen[k] (the newest
 * n read before), which it then becomes. Fails the program otherwise. */
static inline void st_read_key(fstore_reader_t *rd, const fstore_table_t *t,
                               const char *key, int k, int keys, int64_t *seen)
{
    const fstore_row_t *row;
    fstore_err_t e = fstore_get(rd, t, key, strlen(key), &row);
    if (e == FSTORE_NOT_FOUND)
        return;
    if (e)
        ST_FAIL("get: %s", fstore_reader_errmsg(rd));
    int64_t n;
    const char *why = st_check(t, row, &n);
    if (why)
        ST_FAIL("%s: torn row (%s)", key, why);
    if (n % keys != k || n < seen[k])
        ST_FAIL("%s: n=%lld after %lld", key, (long long)n, (long long)seen[k]);
    seen[k] = n;
}

#endif
