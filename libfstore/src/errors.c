/* Error codes, names and message formatting. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

#define FS_STR2(x) #x
#define FS_STR(x) FS_STR2(x)

unsigned fstore_version_number(void) { return FSTORE_VERSION_NUMBER; }

const char *fstore_version_str(void)
{
    return FS_STR(FSTORE_VERSION_MAJOR) "." FS_STR(
        FSTORE_VERSION_MINOR) "." FS_STR(FSTORE_VERSION_PATCH);
}

/* One table drives both the name and the description. */
#define FS_ERRORS(X)                                                           \
    X(FSTORE_OK, "success")                                                    \
    X(FSTORE_NOT_FOUND, "key not found")                                       \
    X(FSTORE_NULL, "value is null")                                            \
    X(FSTORE_ERR_INVALID_ARG, "invalid argument")                              \
    X(FSTORE_ERR_NO_MEMORY, "out of memory")                                   \
    X(FSTORE_ERR_CONF, "invalid configuration")                                \
    X(FSTORE_ERR_NO_TABLE, "no such table")                                    \
    X(FSTORE_ERR_NO_COLUMN, "no such column")                                  \
    X(FSTORE_ERR_TYPE, "column type does not fit the accessor")               \
    X(FSTORE_ERR_READ_ONLY, "store is read-only")                              \
    X(FSTORE_ERR_STATE, "operation not valid in the current state")            \
    X(FSTORE_ERR_KEY, "unusable key")                                          \
    X(FSTORE_ERR_SCHEMA, "invalid or unsupported serving schema")              \
    X(FSTORE_ERR_SCHEMA_MISMATCH, "schema differs from the stored one")        \
    X(FSTORE_ERR_RANGE, "buffer too small or index out of range")              \
    X(FSTORE_ERR_TIMED_OUT, "timed out")                                       \
    X(FSTORE_ERR_IO, "I/O error")                                              \
    X(FSTORE_ERR_CORRUPT, "store data is corrupt")                             \
    X(FSTORE_ERR_VERSION, "store format version not supported")                \
    X(FSTORE_ERR_LOCKED, "store is open for writing by another process")       \
    X(FSTORE_ERR_READERS_FULL, "reader table is full")                         \
    X(FSTORE_ERR_MAP_FULL, "memory map cannot grow")                           \
    X(FSTORE_ERR_STORAGE, "storage engine error")                              \
    X(FSTORE_ERR_NO_STORE, "no store at this path")                            \
    X(FSTORE_ERR_KAFKA, "Kafka client error")                                  \
    X(FSTORE_ERR_DECODE_FRAME, "value is not in Confluent wire format")        \
    X(FSTORE_ERR_DECODE_SCHEMA_ID, "unknown writer schema id")                 \
    X(FSTORE_ERR_DECODE_TRUNCATED, "Avro payload is truncated")                \
    X(FSTORE_ERR_DECODE_MALFORMED, "Avro payload is malformed")                \
    X(FSTORE_ERR_DECODE_TRAILING, "bytes left after the Avro record")          \
    X(FSTORE_ERR_RESOLVE, "writer schema does not resolve to serving schema")  \
    X(FSTORE_ERR_WRITER_SCHEMA, "invalid writer schema")

const char *fstore_strerror(fstore_err_t err)
{
    switch (err) {
#define X(code, text)                                                          \
    case code:                                                                 \
        return text;
        FS_ERRORS(X)
#undef X
    }
    return "unknown error code";
}

const char *fstore_err_name(fstore_err_t err)
{
    switch (err) {
#define X(code, text)                                                          \
    case code:                                                                 \
        return #code;
        FS_ERRORS(X)
#undef X
    }
    return "FSTORE_ERR_UNKNOWN";
}

fstore_err_t fstore__verr(char *errstr, size_t errstr_size, fstore_err_t err,
                          const char *fmt, va_list ap)
{
    if (errstr && errstr_size > 0)
        vsnprintf(errstr, errstr_size, fmt, ap);
    return err;
}

fstore_err_t fstore__err(char *errstr, size_t errstr_size, fstore_err_t err,
                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fstore__verr(errstr, errstr_size, err, fmt, ap);
    va_end(ap);
    return err;
}

int fs_buf_reserve(fs_buf *b, size_t extra)
{
    if (b->cap - b->len >= extra)
        return 0;
    size_t need = b->len + extra;
    if (need < b->len)
        return -1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
        if (cap > SIZE_MAX / 2)
            return -1;
        cap *= 2;
    }
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

int fs_buf_append(fs_buf *b, const void *p, size_t n)
{
    if (fs_buf_reserve(b, n))
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int fs_buf_varint(fs_buf *b, int64_t v)
{
    uint8_t tmp[FS_VARINT_MAX];
    return fs_buf_append(b, tmp, fs_varint_put(tmp, v));
}

void fs_buf_free(fs_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *fs_strndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *fs_strdup(const char *s) { return fs_strndup(s, strlen(s)); }

char *fs_read_file(const char *path, size_t max)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fs_buf b = {0};
    char chunk[4096];
    size_t n;
    int err = 0;
    while (!err && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        err = b.len + n > max ? EFBIG : fs_buf_append(&b, chunk, n) ? ENOMEM : 0;
    if (!err && ferror(f))
        err = EIO;
    fclose(f);
    if (!err && fs_buf_append(&b, "", 1))
        err = ENOMEM;
    if (err) {
        fs_buf_free(&b);
        errno = err;
        return NULL;
    }
    return (char *)b.data;
}
