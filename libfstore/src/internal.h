/*
 * Internal helpers shared by every module: error messages, little-endian
 * loads and stores, and small utilities. Nothing here knows about Kafka,
 * LMDB or Avro.
 */
#ifndef FSTORE_INTERNAL_H
#define FSTORE_INTERNAL_H

#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "fstore/fstore.h"

#if defined(__GNUC__)
#define FS_LIKELY(x) __builtin_expect(!!(x), 1)
#define FS_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define FS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define FS_LIKELY(x) (x)
#define FS_UNLIKELY(x) (x)
#define FS_PRINTF(f, a)
#endif

/* Formats into errstr (which may be NULL) and returns err, so a failing
 * path reads `return fstore__err(errstr, size, FSTORE_ERR_X, "...")`. */
fstore_err_t fstore__err(char *errstr, size_t errstr_size, fstore_err_t err,
                         const char *fmt, ...) FS_PRINTF(4, 5);
fstore_err_t fstore__verr(char *errstr, size_t errstr_size, fstore_err_t err,
                          const char *fmt, va_list ap) FS_PRINTF(4, 0);

/* Rows and keys are byte strings: loads and stores go through memcpy so
 * unaligned access is always defined; compilers turn these into one move. */
static inline uint32_t fs_load_u32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline uint64_t fs_load_u64(const void *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline void fs_store_u32(void *p, uint32_t v) { memcpy(p, &v, sizeof v); }
static inline void fs_store_u64(void *p, uint64_t v) { memcpy(p, &v, sizeof v); }

static inline uint32_t fs_load_be32(const void *p)
{
    const uint8_t *b = (const uint8_t *)p;
    return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) |
           ((uint32_t)b[2] << 8) | (uint32_t)b[3];
}
static inline void fs_store_be32(void *p, uint32_t v)
{
    uint8_t *b = (uint8_t *)p;
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

/* Avro's zig-zag variable-length integers (int and long): put writes at
 * most FS_VARINT_MAX bytes at p and returns how many; get reads from the n
 * bytes at p and returns how many it took, 0 when they end first or the
 * number runs past FS_VARINT_MAX bytes. */
#define FS_VARINT_MAX 10
static inline size_t fs_varint_put(uint8_t *p, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    size_t i = 0;
    while (z >= 0x80) {
        p[i++] = (uint8_t)(z | 0x80);
        z >>= 7;
    }
    p[i++] = (uint8_t)z;
    return i;
}
static inline size_t fs_varint_get(const uint8_t *p, size_t n, int64_t *v)
{
    uint64_t z = 0;
    for (size_t i = 0; i < n && i < FS_VARINT_MAX; i++) {
        z |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *v = (int64_t)((z >> 1) ^ ((uint64_t)0 - (z & 1)));
            return i + 1;
        }
    }
    return 0;
}

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "fstore rows are little-endian; big-endian hosts are not supported yet"
#endif

/* A growable byte buffer. */
typedef struct fs_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} fs_buf;

int fs_buf_reserve(fs_buf *b, size_t extra);
int fs_buf_append(fs_buf *b, const void *p, size_t n);
/* Appends v as an Avro zig-zag varint (fs_varint_put). 0, or -1 when out
 * of memory. */
int fs_buf_varint(fs_buf *b, int64_t v);
void fs_buf_free(fs_buf *b);

/* The whole file at path, NUL-terminated (malloc'ed), or NULL with errno
 * set (EFBIG when it holds more than max bytes). */
char *fs_read_file(const char *path, size_t max);

char *fs_strdup(const char *s);
char *fs_strndup(const char *s, size_t n);

#endif
