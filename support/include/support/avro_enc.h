/*
 * Avro binary encoding of primitive values, for the programs that write
 * records by hand: zig-zag variable-length integers (int, long, and the
 * lengths of strings, bytes and blocks), little-endian IEEE floats, and
 * length-prefixed strings. Each writer returns the bytes it wrote.
 */
#ifndef FSTORE_SUPPORT_AVRO_ENC_H
#define FSTORE_SUPPORT_AVRO_ENC_H

#include <stddef.h>
#include <stdint.h>

/* The most bytes one zig-zag varint takes (a 64-bit value, 7 bits a byte). */
#define SUP_VARINT_MAX 10

/** @return @p v zig-zag mapped: 0, -1, 1, -2 ... become 0, 1, 2, 3 ... */
static inline uint64_t sup_zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

/** @return the value whose zig-zag mapping is @p z. */
static inline int64_t sup_unzigzag(uint64_t z)
{
    return (int64_t)((z >> 1) ^ ((uint64_t)0 - (z & 1)));
}

/** Writes @p v as a zig-zag varint (Avro int or long) at @p p. */
size_t sup_put_long(uint8_t *p, int64_t v);

/** Writes @p v as 8 little-endian bytes (Avro double) at @p p. */
size_t sup_put_double(uint8_t *p, double v);

/** Writes @p v as 4 little-endian bytes (Avro float) at @p p. */
size_t sup_put_float(uint8_t *p, float v);

/** Writes @p len, then the @p len bytes of @p s (Avro string or bytes). */
size_t sup_put_bytes(uint8_t *p, const void *s, size_t len);

/**
 * Reads one zig-zag varint from the @p len bytes at @p p into @p v.
 * @return the bytes it took, or 0 when they end first or run past
 *         SUP_VARINT_MAX bytes.
 */
size_t sup_get_long(const uint8_t *p, size_t len, int64_t *v);

#endif
