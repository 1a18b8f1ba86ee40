/*
 * libFuzzer target: snapshot files, restored with fstore_restore and then
 * read back, through the public API.
 *
 * A snapshot file is untrusted: it may come from another machine, be
 * truncated or damaged. Two input modes (see fuzz_snapshot.h):
 * - an input that starts with the snapshot magic is the whole file, as is;
 *   its checksum refuses nearly every mutation, which is what this mode
 *   tests;
 * - any other input is the snapshot's content (its records, uncompressed,
 *   as format 1 has them), which the target wraps into a valid file of each
 *   format: format 1 with a header holding the right length, entry count
 *   and checksum; format 2 with the entry count inserted after the end
 *   record and zstd's content checksum. So the fuzzer reaches the record
 *   parser and the store built from its records, through both formats.
 *
 * Restore must return FSTORE_OK or one of the errors it documents, with a
 * message, and on failure leave nothing behind. When it succeeds, the store
 * is opened read-only and read: its tables and their columns, row counts,
 * offsets, statistics, a scan with lookups of the keys it finds, and the
 * header and checksum of every row found. Reads of a damaged store may fail,
 * never crash. Every iteration works in one temporary directory (removed at
 * exit) and leaves it empty.
 *
 * Restore checks every row against its table's layout and refuses field
 * lengths past the content, so column values are read too: typed accessors
 * of rows that verify, batch lookups and the Arrow export.
 *
 * tests/fuzz/replay.c links this same file to replay corpora as ordinary
 * tests, so it builds with gcc too.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fstore/fstore.h>

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include "fuzz_snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ROWS 32 /* rows scanned per table */

static struct {
    int verbose; /* FUZZ_SNAPSHOT_VERBOSE set: print each outcome */
    char dir[96];
    char file[128];
    char store[128];
    fstore_conf_t *conf;
} g;

static void die(const char *what, fstore_err_t err, const char *errstr)
{
    fprintf(stderr, "fuzz_snapshot: %s: %s (%d): %s\n", what,
            fstore_err_name(err), (int)err, errstr ? errstr : "");
    abort();
}

/* Removes everything under path, one directory level deep (a store
 * directory holds files only). Returns how many entries there were. */
static int empty_dir(const char *path)
{
    DIR *d = opendir(path);
    if (d == NULL)
        return 0;
    int n = 0;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        n++;
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        if (unlink(p) != 0) {
            empty_dir(p);
            rmdir(p);
        }
    }
    closedir(d);
    return n;
}

static void cleanup(void)
{
    fstore_conf_destroy(g.conf);
    g.conf = NULL;
    if (g.dir[0] == '\0')
        return;
    empty_dir(g.dir);
    rmdir(g.dir);
    g.dir[0] = '\0';
}

static void setup(void)
{
    /* tmpfs when there is one: every iteration creates a store. */
    const char *tmp = getenv("TMPDIR");
    struct stat st;
    if (tmp == NULL || strlen(tmp) > 40)
        tmp = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
                      access("/dev/shm", W_OK) == 0
                  ? "/dev/shm"
                  : "/tmp";
    snprintf(g.dir, sizeof g.dir, "%s/fstore-fuzz-snap-XXXXXX", tmp);
    if (mkdtemp(g.dir) == NULL) {
        perror("fuzz_snapshot: mkdtemp");
        abort();
    }
    atexit(cleanup);
    g.verbose = getenv("FUZZ_SNAPSHOT_VERBOSE") != NULL;
    snprintf(g.file, sizeof g.file, "%s/in.snap", g.dir);
    snprintf(g.store, sizeof g.store, "%s/store", g.dir);

    char errstr[256] = "";
    g.conf = fstore_conf_new();
    if (g.conf == NULL)
        die("fstore_conf_new", FSTORE_ERR_NO_MEMORY, NULL);
    fstore_err_t err = fstore_conf_set(g.conf, "store.map_size", "16777216",
                                       errstr, sizeof errstr);
    if (err == FSTORE_OK)
        err = fstore_conf_set(g.conf, "store.max_tables", "8", errstr,
                              sizeof errstr);
    if (err != FSTORE_OK)
        die("fstore_conf_set", err, errstr);
}

static void write_file(const void *p, size_t n)
{
    FILE *f = fopen(g.file, "wb");
    if (f == NULL || (n > 0 && fwrite(p, 1, n, f) != n) || fclose(f) != 0) {
        perror("fuzz_snapshot: writing the input file");
        abort();
    }
}

/* Writes the content as a snapshot file of format version with a header
 * that matches it: format 1 with the content's checksum, length and entry
 * count; format 2 with the entry count inserted after the end record's tag
 * (when there is one) and zstd's content checksum. */
static void write_wrapped(const uint8_t *content, size_t len, int version)
{
    size_t end;
    uint64_t entries = fuzz_snap_scan(content, len, &end);
    uint8_t *c = malloc(len + 8);
    if (c == NULL)
        abort();
    memcpy(c, content, end);
    size_t clen = end;
    if (version != FUZZ_SNAP_V1 && end > 0 && content[end - 1] == 'E') {
        memcpy(c + clen, &entries, 8);
        clen += 8;
    }
    memcpy(c + clen, content + end, len - end);
    clen += len - end;
    size_t cap = ZSTD_compressBound(clen);
    uint8_t *file = malloc(FUZZ_SNAP_HDR + cap);
    ZSTD_CCtx *z = ZSTD_createCCtx();
    if (file == NULL || z == NULL)
        abort();
    ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, 1);
    ZSTD_CCtx_setParameter(z, ZSTD_c_checksumFlag, version != FUZZ_SNAP_V1);
    size_t n = ZSTD_compress2(z, file + FUZZ_SNAP_HDR, cap, c, clen);
    ZSTD_freeCCtx(z);
    if (ZSTD_isError(n))
        die("ZSTD_compress2", FSTORE_OK, ZSTD_getErrorName(n));
    if (version == FUZZ_SNAP_V1)
        fuzz_snap_header_v1(file, XXH64(c, clen, 0), clen, entries);
    else
        fuzz_snap_header(file);
    write_file(file, FUZZ_SNAP_HDR + n);
    free(file);
    free(c);
}

/* The accessors of every column of a row that verifies. Values are only
 * looked at through the accessors: pointers they return are not read. */
static void read_row(const fstore_table_t *t, const fstore_row_t *row)
{
    (void)fstore_row_timestamp(row);
    (void)fstore_row_partition(row);
    (void)fstore_row_offset(row);
    (void)fstore_row_schema_id(row);
    if (fstore_row_verify(row) != FSTORE_OK)
        return;
    int n = fstore_table_column_count(t);
    for (int col = 0; col < n; col++) {
        int b;
        int32_t i;
        int64_t l;
        float f;
        double d;
        const char *s;
        const void *a;
        size_t len;
        (void)fstore_row_is_null(t, row, col);
        (void)fstore_row_bool(t, row, col, &b);
        (void)fstore_row_int(t, row, col, &i);
        (void)fstore_row_long(t, row, col, &l);
        (void)fstore_row_float(t, row, col, &f);
        (void)fstore_row_double(t, row, col, &d);
        (void)fstore_row_bytes(t, row, col, &s, &len);
        (void)fstore_row_array(t, row, col, &a, &len);
        (void)fstore_row_array_float(t, row, col, NULL, 0, &len);
    }
}

static void read_schema(const fstore_table_t *t)
{
    (void)fstore_table_name(t);
    (void)fstore_table_schema(t);
    (void)fstore_table_format(t);
    int n = fstore_table_column_count(t);
    for (int col = -1; col <= n; col++) {
        (void)fstore_table_column_name(t, col);
        (void)fstore_table_column_type(t, col);
        (void)fstore_table_column_logical(t, col);
        (void)fstore_table_column_nullable(t, col);
        int size = fstore_table_column_size(t, col);
        for (int i = -1; i <= size && i < 300; i++)
            (void)fstore_table_enum_symbol(t, col, i);
    }
}

/* Batch lookups of the keys found, as floats (numeric columns) and as
 * Arrow arrays (every column). */
static void read_batches(fstore_reader_t *r, const fstore_table_t *t,
                         const void *const *keys, const size_t *lens,
                         size_t nkeys)
{
    int ncols = fstore_table_column_count(t);
    if (ncols > 64)
        ncols = 64;
    int all[64], num[64];
    size_t nnum = 0;
    for (int col = 0; col < ncols; col++) {
        int type = fstore_table_column_type(t, col);
        all[col] = col;
        if (type >= FSTORE_TYPE_BOOLEAN && type <= FSTORE_TYPE_DOUBLE)
            num[nnum++] = col;
    }
    float out[MAX_ROWS * 64];
    uint8_t found[MAX_ROWS];
    if (nkeys > 0 && nnum > 0)
        (void)fstore_get_batch(r, t, nkeys, keys, lens, num, nnum, out, nnum,
                               found);
    struct ArrowSchema schema;
    struct ArrowArray array;
    if (nkeys > 0 &&
        fstore_get_batch_arrow(r, t, nkeys, keys, lens, all, (size_t)ncols,
                               &schema, &array) == FSTORE_OK) {
        array.release(&array);
        schema.release(&schema);
    }
}

static void read_table(fstore_reader_t *r, const fstore_table_t *t)
{
    read_schema(t);
    uint64_t count;
    (void)fstore_reader_row_count(r, t, &count);
    int32_t parts[8];
    int64_t offs[8];
    size_t nparts;
    (void)fstore_reader_offsets(r, t, parts, offs, 8, &nparts);
    int64_t off;
    (void)fstore_reader_offset(r, t, 0, &off);

    const void *keys[MAX_ROWS];
    size_t lens[MAX_ROWS], nkeys = 0;
    fstore_cursor_t *c = NULL;
    if (fstore_cursor_open(r, t, &c) == FSTORE_OK) {
        const void *key;
        size_t len;
        const fstore_row_t *row;
        while (nkeys < MAX_ROWS &&
               fstore_cursor_next(c, &key, &len, &row) == FSTORE_OK) {
            read_row(t, row);
            keys[nkeys] = key;
            lens[nkeys++] = len;
        }
        for (size_t i = 0; i < nkeys; i++) {
            const fstore_row_t *row2;
            if (fstore_get(r, t, keys[i], lens[i], &row2) == FSTORE_OK)
                read_row(t, row2);
        }
        read_batches(r, t, keys, lens, nkeys);
        fstore_cursor_close(c);
    }
}

static void read_store(void)
{
    fstore_conf_t *conf = fstore_conf_dup(g.conf);
    char errstr[256] = "";
    if (conf == NULL || fstore_conf_set(conf, "store.read_only", "true", errstr,
                                        sizeof errstr) != FSTORE_OK)
        die("fstore_conf_set", FSTORE_ERR_CONF, errstr);
    fstore_store_t *s = NULL;
    fstore_err_t err =
        fstore_store_open(g.store, conf, &s, errstr, sizeof errstr);
    fstore_conf_destroy(conf);
    if (g.verbose)
        fprintf(stderr, "fuzz_snapshot: open: %s %s, %zu tables\n",
                fstore_err_name(err), err == FSTORE_OK ? "" : errstr,
                err == FSTORE_OK ? fstore_table_count(s) : 0);
    if (err != FSTORE_OK)
        return; /* a damaged store may be refused */
    fstore_reader_t *r = NULL;
    if (fstore_reader_new(s, &r) == FSTORE_OK) {
        size_t n = fstore_table_count(s);
        for (size_t i = 0; i < n; i++)
            read_table(r, fstore_table_at(s, i));
        (void)fstore_reader_errmsg(r);
        fstore_reader_destroy(r);
    }
    char *json = NULL;
    if (fstore_stats_json(s, &json) == FSTORE_OK)
        fstore_free(json);
    fstore_store_close(s);
}

/* Restore's documented outcomes. */
static int restore_err_ok(fstore_err_t err)
{
    return err == FSTORE_ERR_CORRUPT || err == FSTORE_ERR_VERSION ||
           err == FSTORE_ERR_IO || err == FSTORE_ERR_NO_MEMORY ||
           err == FSTORE_ERR_STORAGE || err == FSTORE_ERR_MAP_FULL;
}

/* Restores the input file and checks the outcome. */
static void restore_one(void)
{
    char errstr[256];
    memset(errstr, 0xff, sizeof errstr);
    fstore_err_t err =
        fstore_restore(g.file, g.store, g.conf, errstr, sizeof errstr);
    if (g.verbose)
        fprintf(stderr, "fuzz_snapshot: restore: %s %s\n", fstore_err_name(err),
                err == FSTORE_OK || memchr(errstr, '\0', sizeof errstr) == NULL
                    ? ""
                    : errstr);
    if (err == FSTORE_OK) {
        read_store();
    } else {
        if (!restore_err_ok(err)) {
            errstr[sizeof errstr - 1] = '\0';
            die("fstore_restore returned an undocumented code", err, errstr);
        }
        if (memchr(errstr, '\0', sizeof errstr) == NULL || errstr[0] == '\0')
            die("fstore_restore failed without a message", err, NULL);
        struct stat st;
        if (stat(g.store, &st) == 0)
            die("a failed restore left the store directory", err, errstr);
    }
    unlink(g.file);
    empty_dir(g.store);
    rmdir(g.store);
    /* Nothing else: a failed restore removes its temporary directory. */
    if (empty_dir(g.dir) != 0)
        die("restore left files behind", err, errstr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g.conf == NULL)
        setup();
    if (fuzz_snap_is_file(data, size)) {
        write_file(data, size);
        restore_one();
        return 0;
    }
    /* Content: through both formats. */
    for (int version = FUZZ_SNAP_V1; version <= FUZZ_SNAP_VERSION; version++) {
        write_wrapped(data, size, version);
        restore_one();
    }
    return 0;
}
