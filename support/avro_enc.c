/* Avro binary encoding of the support library; see avro_enc.h. */
#include "support/avro_enc.h"

#include <string.h>

/* The varints are libfstore's own (internal.h), like the histogram. */
#include "internal.h"

size_t sup_put_long(uint8_t *p, int64_t v) { return fs_varint_put(p, v); }

/* Writes the @p n low bytes of @p u, least significant first. */
static size_t put_le(uint8_t *p, uint64_t u, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(u >> (8 * i));
    return n;
}

size_t sup_put_double(uint8_t *p, double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return put_le(p, u, 8);
}

size_t sup_put_float(uint8_t *p, float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return put_le(p, u, 4);
}

size_t sup_put_bytes(uint8_t *p, const void *s, size_t len)
{
    size_t i = sup_put_long(p, (int64_t)len);
    if (len)
        memcpy(p + i, s, len);
    return i + len;
}

size_t sup_get_long(const uint8_t *p, size_t len, int64_t *v)
{
    return fs_varint_get(p, len, v);
}
