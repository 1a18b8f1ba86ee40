/*
 * Row layout: a table's serving schema compiled into fixed column slots, and
 * the builder that writes rows in that layout. Knows Avro schemas, nothing of
 * Kafka or LMDB. The byte format is specified in docs/row-format.md.
 */
#ifndef FSTORE_LAYOUT_H
#define FSTORE_LAYOUT_H

#include <avro.h>

#include "internal.h"

/* Row header, 40 bytes, little-endian. */
#define FS_ROW_VERSION 1
#define FS_ROW_HDR 40
#define FS_H_VERSION 0 /* u8  format version */
#define FS_H_FLAGS 1   /* u8  FS_ROW_F_* */
#define FS_H_HDRSIZE 2 /* u16 header size (40) */
#define FS_H_SCHEMA 4  /* i32 writer schema id, -1 for raw Avro */
#define FS_H_TS 8      /* i64 record timestamp, ms */
#define FS_H_OFFSET 16 /* i64 Kafka offset */
#define FS_H_PART 24   /* i32 Kafka partition */
#define FS_H_BODY 28   /* u32 body size in bytes */
#define FS_H_CSUM 32   /* u64 XXH3-64 of the body */

/* The full key follows the body (keys too long to be stored as LMDB keys). */
#define FS_ROW_F_FULLKEY 0x01

/* A column's default value, pre-encoded in the column's storage form. */
typedef struct fs_default {
    int present;  /* the serving schema gives a default */
    int is_null;
    int64_t i;    /* boolean, int, long, enum index */
    double d;     /* float, double */
    fs_buf bytes; /* string/bytes/fixed bytes, or packed array elements */
    uint32_t count; /* array element count */
} fs_default;

typedef struct fs_col {
    char *name;
    fstore_type_t type;
    fstore_logical_t logical;
    int nullable;
    uint32_t slot;  /* byte offset of the slot inside the body */
    uint8_t width;  /* slot width: 1, 4 or 8 */
    uint8_t elem;   /* array element width: 4 or 8; 0 otherwise */
    int nsyms;      /* enum */
    char **syms;
    int enum_default; /* symbol for unknown writer symbols, or -1 */
    int32_t fixed_size;
    avro_schema_t schema; /* the non-null type (borrowed from layout) */
    fs_default def;
} fs_col;

typedef struct fs_layout {
    int ncols;
    fs_col *cols;
    uint32_t bitmap_size;
    uint32_t var_start; /* body offset where the variable area begins */
    avro_schema_t schema;
    char *canonical; /* compact JSON with sorted keys, for comparisons */
} fs_layout;

/* Compiles a serving schema. On failure errstr names the field and type. */
fstore_err_t fs_layout_new(const char *schema_json, fs_layout **out,
                           char *errstr, size_t errstr_size);
void fs_layout_free(fs_layout *L);
int fs_layout_col(const fs_layout *L, const char *name);

/* avro_schema_from_json for any schema text fstore accepts; 0 on success,
 * else avro_strerror() says why. */
int fs_avro_parse(const char *json, avro_schema_t *out);

/* Canonical JSON (sorted keys, compact) of a schema text; NULL on error. */
char *fs_json_canonical(const char *json, char *errstr, size_t errstr_size);

/* Builder. A row is started, every column set once (or left null/zero),
 * then finished, which fills the header and the checksum. */
int fs_row_begin(fs_buf *b, const fs_layout *L);
static inline void fs_row_set_null(fs_buf *b, int col)
{
    b->data[FS_ROW_HDR + (col >> 3)] |= (uint8_t)(1u << (col & 7));
}
static inline void fs_row_set_raw(fs_buf *b, const fs_col *c, const void *v)
{
    memcpy(b->data + FS_ROW_HDR + c->slot, v, c->width);
}
/* Reserves nbytes in the variable area for column c and records its
 * (offset, count) in the slot. Returns the write position (valid until the
 * buffer next grows) or NULL when out of memory. nul adds a terminator. */
uint8_t *fs_row_var(fs_buf *b, const fs_col *c, size_t nbytes, uint32_t count,
                    int nul);
int fs_row_set_default(fs_buf *b, const fs_layout *L, int col);
void fs_row_finish(fs_buf *b, uint8_t flags, int32_t schema_id, int64_t ts,
                   int32_t partition, int64_t offset);

/* Whether column col is null in a row body (its bit in the null bitmap). */
static inline int fs_body_is_null(const uint8_t *body, int col)
{
    return (body[col >> 3] >> (col & 7)) & 1;
}

/* Header reads. */
static inline uint32_t fs_row_body_size(const uint8_t *row)
{
    return fs_load_u32(row + FS_H_BODY);
}
uint64_t fs_row_hash(const void *body, size_t n);

/* Whether the n bytes at row are a whole row of layout L: a sane header,
 * every slot inside the body, every variable-length value (string, bytes,
 * fixed, array) inside the body, strings terminated, fixed values of their
 * size, enum indexes in range. For rows from outside (a restored
 * snapshot); rows the library wrote itself are whole by construction. */
int fs_row_fits(const fs_layout *L, const void *row, size_t n);

/* Whether n bytes at row can be a row of this format (version known, body
 * inside): checked by every path that hands out or copies row views. */
static inline int fs_row_sane(const void *row, size_t n)
{
    const uint8_t *p = (const uint8_t *)row;
    return n >= FS_ROW_HDR && p[FS_H_VERSION] == FS_ROW_VERSION &&
           (size_t)fs_row_body_size(p) <= n - FS_ROW_HDR;
}

#endif
