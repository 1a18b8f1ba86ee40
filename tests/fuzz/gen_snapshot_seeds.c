/*
 * Generates the seed corpus of the snapshot fuzz target with libfstore.
 *
 * Usage: fuzz_gen_snapshot_seeds OUTDIR
 * (the committed corpus is tests/fuzz/seeds/snapshot; `cmake --build BUILD
 *  --target fuzz_seeds` rewrites it).
 *
 * It builds a small store (two tables, a registered writer schema, a few
 * rows, one of them with a key long enough to be stored as a digest, and
 * offsets of two partitions), snapshots it, and writes:
 * - file-*: whole snapshot files (the target restores them as they are):
 *   the real one (format 2), a store without tables, truncations and
 *   flipped bytes; file-v1-*: the same content as a format 1 file, whole
 *   and with its header's checksum, length and count damaged;
 * - content-*: the snapshot's content, uncompressed, for the target's mode
 *   that wraps its input into a file with a valid checksum: the real content
 *   and damaged variants (unknown tags, missing end, entries out of order,
 *   rows before any table, damaged table definitions, version and rows, a
 *   table definition whose schema does not match its rows).
 * The creation time in file headers is zeroed, so the output is
 * deterministic and regenerating leaves the corpus unchanged.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fstore/fstore.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include "fuzz_snapshot.h"
#include "seed_out.h"


/* One content record; 'T' keeps its name in key, 'E' has neither. */
typedef struct {
    char tag;
    buf_t key, val;
} rec_t;

static char g_tmp[64];

static const char USERS_SCHEMA[] =
    "{\"type\":\"record\",\"name\":\"User\",\"fields\":["
    "{\"name\":\"s\",\"type\":\"string\"},"
    "{\"name\":\"l\",\"type\":\"long\"},"
    "{\"name\":\"d\",\"type\":\"double\"},"
    "{\"name\":\"n\",\"type\":[\"null\",\"long\"],\"default\":null},"
    "{\"name\":\"af\",\"type\":{\"type\":\"array\",\"items\":\"float\"}},"
    "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\","
    "\"symbols\":[\"A\",\"B\"]}}]}";

static const char ITEMS_SCHEMA[] =
    "{\"type\":\"record\",\"name\":\"Item\",\"fields\":["
    "{\"name\":\"i\",\"type\":\"int\"},"
    "{\"name\":\"by\",\"type\":\"bytes\"},"
    "{\"name\":\"fx\",\"type\":{\"type\":\"fixed\",\"name\":\"F4\","
    "\"size\":4}}]}";

/* Another layout for table "users": its rows then disagree with it. */
static const char OTHER_SCHEMA[] =
    "{\"type\":\"record\",\"name\":\"User\",\"fields\":["
    "{\"name\":\"af\",\"type\":{\"type\":\"array\",\"items\":\"double\"}},"
    "{\"name\":\"s\",\"type\":\"string\"},"
    "{\"name\":\"by\",\"type\":\"bytes\"}]}";

static void fail(const char *what, fstore_err_t err, const char *errstr)
{
    fprintf(stderr, "fuzz_gen_snapshot_seeds: %s: %s: %s\n", what,
            fstore_err_name(err), errstr ? errstr : "");
    exit(1);
}

/* ---- the store ---- */

static buf_t user_value(const char *s, int64_t l, double d, int null_n,
                        int nfloats, int e)
{
    buf_t b = {0};
    buf_varint(&b, (int64_t)strlen(s));
    buf_put(&b, s, strlen(s));
    buf_varint(&b, l);
    buf_put(&b, &d, 8);
    buf_varint(&b, null_n ? 0 : 1);
    if (!null_n)
        buf_varint(&b, l * 2);
    if (nfloats > 0) {
        buf_varint(&b, nfloats);
        for (int i = 0; i < nfloats; i++) {
            float f = (float)i + 0.5f;
            buf_put(&b, &f, 4);
        }
    }
    buf_varint(&b, 0);
    buf_varint(&b, e);
    return b;
}

static buf_t item_value(int32_t i, const char *by, size_t by_len)
{
    buf_t b = {0};
    static const uint8_t frame[5] = {0, 0, 0, 0, 3};
    buf_put(&b, frame, sizeof frame);
    buf_varint(&b, i);
    buf_varint(&b, (int64_t)by_len);
    buf_put(&b, by, by_len);
    buf_put(&b, "\x01\x02\x03\x04", 4);
    return b;
}

static void put(fstore_batch_t *batch, const fstore_table_t *t, const char *key,
                size_t key_len, buf_t v, int32_t part, int64_t offset)
{
    char errstr[256] = "";
    fstore_err_t err =
        fstore_batch_put(batch, t, key, key_len, v.data, v.len, part, offset,
                         1700000000000LL + offset, errstr, sizeof errstr);
    free(v.data);
    if (err != FSTORE_OK)
        fail("fstore_batch_put", err, errstr);
}

static fstore_store_t *open_store(const char *dir)
{
    char errstr[256] = "";
    fstore_conf_t *conf = fstore_conf_new();
    fstore_store_t *s = NULL;
    if (conf == NULL || fstore_conf_set(conf, "store.map_size", "16777216",
                                        errstr, sizeof errstr) != FSTORE_OK)
        fail("fstore_conf_set", FSTORE_ERR_CONF, errstr);
    fstore_err_t err = fstore_store_open(dir, conf, &s, errstr, sizeof errstr);
    fstore_conf_destroy(conf);
    if (err != FSTORE_OK)
        fail("fstore_store_open", err, errstr);
    return s;
}

static void fill(fstore_store_t *s)
{
    char errstr[256] = "";
    const fstore_table_t *users, *items;
    fstore_err_t err =
        fstore_table_create(s, "users", USERS_SCHEMA, FSTORE_FORMAT_AVRO, -1,
                            &users, errstr, sizeof errstr);
    if (err == FSTORE_OK)
        err = fstore_schema_register(s, 3, ITEMS_SCHEMA, errstr, sizeof errstr);
    if (err == FSTORE_OK)
        err = fstore_table_create(s, "items", ITEMS_SCHEMA,
                                  FSTORE_FORMAT_CONFLUENT, -1, &items, errstr,
                                  sizeof errstr);
    if (err != FSTORE_OK)
        fail("creating the tables", err, errstr);

    fstore_batch_t *b = NULL;
    if ((err = fstore_batch_begin(s, &b)) != FSTORE_OK)
        fail("fstore_batch_begin", err, NULL);
    put(b, users, "alice", 5, user_value("Alice", 7, 1.5, 0, 3, 1), 0, 10);
    put(b, users, "bob", 3, user_value("", -1, -0.0, 1, 0, 0), 0, 11);
    char long_key[600];
    for (size_t i = 0; i < sizeof long_key; i++)
        long_key[i] = (char)('a' + i % 26);
    put(b, users, long_key, sizeof long_key,
        user_value("long key", 1, 2.0, 0, 1, 1), 1, 4);
    put(b, items, "i1", 2, item_value(42, "xyz", 3), 0, 100);
    put(b, items, "i2", 2, item_value(-5, "", 0), 2, 7);
    if ((err = fstore_batch_commit(b, errstr, sizeof errstr)) != FSTORE_OK)
        fail("fstore_batch_commit", err, errstr);
}

/* Snapshots the store in dir (filled or not) into *file. */
static void snapshot(int filled, buf_t *file)
{
    char dir[128], path[160], errstr[256] = "";
    snprintf(dir, sizeof dir, "%s/store-%d", g_tmp, filled);
    snprintf(path, sizeof path, "%s/snap-%d", g_tmp, filled);
    fstore_store_t *s = open_store(dir);
    if (filled)
        fill(s);
    fstore_err_t err = fstore_snapshot(s, path, errstr, sizeof errstr);
    fstore_store_close(s);
    if (err != FSTORE_OK)
        fail("fstore_snapshot", err, errstr);
    FILE *f = fopen(path, "rb");
    char chunk[4096];
    size_t n;
    while (f != NULL && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_put(file, chunk, n);
    if (f == NULL || file->len < FUZZ_SNAP_HDR)
        fail("reading the snapshot back", FSTORE_ERR_IO, path);
    fclose(f);
    memset(file->data + 24, 0, 8); /* the creation time */
}

static void rm_tmp(void)
{
    char file[600];
    DIR *d = opendir(g_tmp);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", g_tmp, e->d_name);
        if (unlink(p) != 0) {
            static const char *const files[] = {"data.mdb", "lock.mdb",
                                                "writer.lock"};
            for (size_t i = 0; i < 3; i++) {
                snprintf(file, sizeof file, "%s/%s", p, files[i]);
                unlink(file);
            }
            rmdir(p);
        }
    }
    if (d != NULL)
        closedir(d);
    rmdir(g_tmp);
}

/* ---- whole files ---- */

static buf_t content_of(const buf_t *file);

/* The same content as a format 1 file. */
static void v1_file(const buf_t *content, buf_t *out)
{
    size_t cap = ZSTD_compressBound(content->len);
    uint8_t *z = malloc(cap);
    size_t n = z ? ZSTD_compress(z, cap, content->data, content->len, 3) : 0;
    if (z == NULL || ZSTD_isError(n))
        fail("compressing a format 1 file", FSTORE_ERR_NO_MEMORY, NULL);
    uint8_t hdr[FUZZ_SNAP_HDR];
    fuzz_snap_header_v1(hdr, XXH64(content->data, content->len, 0), content->len,
                        fuzz_snap_entries(content->data, content->len));
    out->len = 0;
    buf_put(out, hdr, sizeof hdr);
    buf_put(out, z, n);
    free(z);
}

static void file_seeds(const buf_t *full, const buf_t *empty)
{
    write_seed("file-full", full->data, full->len);
    write_seed("file-empty-store", empty->data, empty->len);

    static const struct {
        const char *name;
        size_t len; /* SIZE_MAX - k: k bytes short of the whole */
    } cuts[] = {{"file-cut-magic", 12},
                {"file-cut-header", FUZZ_SNAP_HDR - 1},
                {"file-cut-no-content", FUZZ_SNAP_HDR},
                {"file-cut-content-10", FUZZ_SNAP_HDR + 10},
                {"file-cut-minus-1", SIZE_MAX - 1},
                {"file-cut-minus-8", SIZE_MAX - 8}};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        size_t n = cuts[i].len > full->len
                       ? full->len - (SIZE_MAX - cuts[i].len)
                       : cuts[i].len;
        write_seed(cuts[i].name, full->data, n);
    }

    static const struct {
        const char *name;
        size_t at; /* SIZE_MAX - k: k bytes before the end */
        uint8_t xor ;
    } flips[] = {{"file-flip-version", 12, 0x03},
                 {"file-flip-flags", 16, 0x01},
                 {"file-flip-time", 24, 0x01},
                 {"file-flip-pad", 50, 0xff},
                 {"file-flip-zstd-magic", FUZZ_SNAP_HDR, 0x01},
                 {"file-flip-content", FUZZ_SNAP_HDR + 20, 0x40},
                 {"file-flip-checksum", SIZE_MAX - 1, 0x80},
                 {"file-flip-count", SIZE_MAX - 12, 0x01}};
    buf_t b = {0};
    for (size_t i = 0; i < sizeof flips / sizeof flips[0]; i++) {
        b.len = 0;
        buf_put(&b, full->data, full->len);
        size_t at = flips[i].at > full->len
                        ? full->len - (SIZE_MAX - flips[i].at)
                        : flips[i].at;
        b.data[at] ^= flips[i].xor ;
        write_seed(flips[i].name, b.data, b.len);
    }
    b.len = 0;
    buf_put(&b, full->data, full->len);
    buf_put(&b, "\0\0\0\0", 4);
    write_seed("file-trailing-bytes", b.data, b.len);

    /* Format 1, still read: the whole file, and its header's fields. */
    buf_t c = content_of(full);
    v1_file(&c, &b);
    write_seed("file-v1-full", b.data, b.len);
    static const struct {
        const char *name;
        size_t at;
    } v1flips[] = {{"file-v1-flip-checksum", 17},
                   {"file-v1-flip-length", 24},
                   {"file-v1-flip-entries", 32}};
    for (size_t i = 0; i < sizeof v1flips / sizeof v1flips[0]; i++) {
        b.data[v1flips[i].at] ^= 0x01;
        write_seed(v1flips[i].name, b.data, b.len);
        b.data[v1flips[i].at] ^= 0x01;
    }
    write_seed("file-v1-cut-minus-1", b.data, b.len - 1);
    free(c.data);
    free(b.data);
}

/* ---- contents ---- */

/* The uncompressed content of a (format 2) snapshot file, without the
 * entry count after its end record: the content as format 1 has it and the
 * target's content mode takes. */
static buf_t content_of(const buf_t *file)
{
    buf_t c = {0};
    c.cap = 16u << 20;
    c.data = malloc(c.cap);
    size_t n = c.data ? ZSTD_decompress(c.data, c.cap, file->data + FUZZ_SNAP_HDR,
                                        file->len - FUZZ_SNAP_HDR)
                      : 0;
    if (c.data == NULL || ZSTD_isError(n) || n < 9 || c.data[n - 9] != 'E')
        fail("decompressing the snapshot", FSTORE_ERR_CORRUPT, NULL);
    c.len = n - 8;
    return c;
}

static void field(const buf_t *c, size_t *pos, buf_t *out)
{
    uint32_t n;
    memcpy(&n, c->data + *pos, 4);
    *pos += 4;
    buf_put(out, c->data + *pos, n);
    *pos += n;
}

/* Splits a (valid) content into its records, the end record included. */
static size_t parse(const buf_t *c, rec_t *recs, size_t cap)
{
    size_t n = 0, pos = 0;
    while (pos < c->len && n < cap) {
        rec_t *r = &recs[n++];
        memset(r, 0, sizeof *r);
        r->tag = (char)c->data[pos++];
        if (r->tag == 'E')
            break;
        field(c, &pos, &r->key);
        if (r->tag != 'T')
            field(c, &pos, &r->val);
    }
    return n;
}

static void emit(buf_t *out, const rec_t *r)
{
    buf_byte(out, (uint8_t)r->tag);
    if (r->tag == 'E')
        return;
    buf_u32(out, (uint32_t)r->key.len);
    buf_put(out, r->key.data, r->key.len);
    if (r->tag == 'T')
        return;
    buf_u32(out, (uint32_t)r->val.len);
    buf_put(out, r->val.data, r->val.len);
}

/* Writes recs[0..n) as content seed name. */
static void write_recs(const char *name, const rec_t *recs, size_t n)
{
    buf_t out = {0};
    for (size_t i = 0; i < n; i++)
        emit(&out, &recs[i]);
    write_seed(name, out.data, out.len);
    free(out.data);
}

static size_t find(const rec_t *recs, size_t n, char tag, char first)
{
    for (size_t i = 0; i < n; i++)
        if (recs[i].tag == tag &&
            (first == 0 ||
             (recs[i].key.len > 0 && recs[i].key.data[0] == first)))
            return i;
    fail("the snapshot lacks an expected record", FSTORE_ERR_CORRUPT, NULL);
    return 0;
}

static void set(buf_t *b, const void *p, size_t n)
{
    b->len = 0;
    buf_put(b, p, n);
}

/* A copy of recs with one record's value replaced. */
static void with_value(const char *name, rec_t *recs, size_t n, size_t at,
                       const void *v, size_t vlen)
{
    buf_t saved = recs[at].val;
    recs[at].val = (buf_t){0};
    set(&recs[at].val, v, vlen);
    write_recs(name, recs, n);
    free(recs[at].val.data);
    recs[at].val = saved;
}

static void content_seeds(const buf_t *full)
{
    buf_t c = content_of(full);
    write_seed("content-full", c.data, c.len);
    rec_t recs[64];
    size_t n = parse(&c, recs, 64);
    free(c.data);

    write_recs("content-no-end", recs, n - 1);
    write_recs("content-meta-only", recs, find(recs, n, 'T', 0));

    size_t v = find(recs, n, 'M', 'V');
    static const uint8_t v2[4] = {2, 0, 0, 0};
    with_value("content-version-2", recs, n, v, v2, 4);
    with_value("content-version-short", recs, n, v, v2, 2);

    size_t td = find(recs, n, 'M', 'T');
    char def[1024];
    snprintf(def, sizeof def,
             "{\"schema\":\"%s\",\"format\":\"avro\",\"avro_schema_id\":-1}",
             "{\\\"type\\\":\\\"record\\\",\\\"name\\\":\\\"X\\\","
             "\\\"fields\\\":[]}");
    with_value("content-table-def-no-fields", recs, n, td, def, strlen(def));
    with_value("content-table-def-not-json", recs, n, td, "{\"schema\":", 10);
    with_value("content-table-def-no-schema", recs, n, td,
               "{\"format\":\"avro\"}", 17);
    with_value("content-table-def-empty", recs, n, td, "", 0);
    /* The definition of "items" with the schema of "users", and back. */
    size_t td2 = td + 1;
    if (recs[td2].tag == 'M' && recs[td2].key.data[0] == 'T') {
        buf_t saved = recs[td].val;
        recs[td].val = recs[td2].val;
        write_recs("content-table-defs-swapped", recs, n);
        recs[td].val = saved;
    }
    /* Table "users" read with another layout: the rows disagree with it. */
    buf_t other = {0};
    buf_put(&other, "{\"schema\":\"", 11);
    for (const char *p = OTHER_SCHEMA; *p; p++) {
        if (*p == '"' || *p == '\\')
            buf_byte(&other, '\\');
        buf_byte(&other, (uint8_t)*p);
    }
    buf_put(&other, "\",\"format\":\"avro\",\"avro_schema_id\":-1}", 38);
    size_t tu = td;
    for (size_t i = 0; i < n; i++)
        if (recs[i].tag == 'M' && recs[i].key.len == 6 &&
            memcmp(recs[i].key.data, "Tusers", 6) == 0)
            tu = i;
    with_value("content-table-layout-mismatch", recs, n, tu, other.data,
               other.len);
    free(other.data);

    size_t sc = find(recs, n, 'M', 'S');
    with_value("content-writer-schema-not-json", recs, n, sc, "{\"type\":", 8);
    size_t of = find(recs, n, 'M', 'O');
    with_value("content-offset-short", recs, n, of, "\x01\x02\x03", 3);

    size_t row = find(recs, n, 'R', 0);
    with_value("content-row-short", recs, n, row, recs[row].val.data, 10);
    buf_t big = {0};
    buf_put(&big, recs[row].val.data, recs[row].val.len);
    big.data[28] = 0xff; /* body size: past the value */
    with_value("content-row-body-size", recs, n, row, big.data, big.len);
    big.data[28] = recs[row].val.data[28];
    big.data[0] = 9; /* row format version */
    with_value("content-row-version", recs, n, row, big.data, big.len);
    big.data[0] = recs[row].val.data[0];
    big.data[35] ^= 0x01; /* the row's body checksum (bytes 32-39) */
    with_value("content-row-checksum", recs, n, row, big.data, big.len);
    big.data[35] ^= 0x01;
    big.data[big.len - 1] ^= 0x01; /* the body itself */
    with_value("content-row-body-flip", recs, n, row, big.data, big.len);
    free(big.data);

    /* Records out of place: a row before any table, entries out of key
     * order, an unknown tag. */
    rec_t moved[66];
    size_t t = find(recs, n, 'T', 0);
    memcpy(moved, recs, t * sizeof *recs);
    moved[t] = recs[row];
    memcpy(moved + t + 1, recs + t, (n - t) * sizeof *recs);
    write_recs("content-row-before-table", moved, n + 1);
    memcpy(moved, recs, n * sizeof *recs);
    moved[v] = recs[td];
    moved[td] = recs[v];
    write_recs("content-meta-out-of-order", moved, n);
    memcpy(moved, recs, n * sizeof *recs);
    moved[row].tag = 'Z';
    write_recs("content-unknown-tag", moved, n);
    memcpy(moved, recs, n * sizeof *recs);
    moved[row + 1] = recs[row];
    write_recs("content-row-twice", moved, n);
    memcpy(moved, recs, n * sizeof *recs);
    char name[300];
    memset(name, 'x', sizeof name);
    moved[t].key = (buf_t){(uint8_t *)name, sizeof name, sizeof name};
    write_recs("content-table-name-long", moved, n);
    static uint8_t nul_name[] = {'a', 0, 'b'};
    moved[t].key = (buf_t){nul_name, 0, 0};
    write_recs("content-table-name-empty", moved, n);
    moved[t].key = (buf_t){nul_name, 3, 3};
    write_recs("content-table-name-nul", moved, n);

    for (size_t i = 0; i < n; i++) {
        free(recs[i].key.data);
        free(recs[i].val.data);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    seed_begin("fuzz_gen_snapshot_seeds", argv[1]);
    snprintf(g_tmp, sizeof g_tmp, "/tmp/fstore-gen-snap-XXXXXX");
    if (mkdtemp(g_tmp) == NULL) {
        perror("fuzz_gen_snapshot_seeds: mkdtemp");
        return 1;
    }
    buf_t full = {0}, empty = {0};
    snapshot(1, &full);
    snapshot(0, &empty);
    rm_tmp();
    file_seeds(&full, &empty);
    content_seeds(&full);
    free(full.data);
    free(empty.data);
    seed_end();
    return 0;
}
