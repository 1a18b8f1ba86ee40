/* Cursors, snapshots and restore: a restored store equals its source
 * (rows, offsets, schemas, tables) and damaged files are refused whole. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testutil.h"

static char *dir, *dst, *snap;
static fstore_store_t *S;
static const fstore_table_t *T;

#define N 3000

static void setup(void)
{
    dir = tu_tmpdir();
    char *base = tu_tmpdir();
    dst = tu_path(base, "restored");
    snap = tu_path(base, "snap.fst");
    free(base);
    S = tu_store_open(dir, NULL);
    T = tu_simple_table(S, "t");
    fstore_batch_t *b = tu_begin(S);
    char key[700];
    for (int i = 0; i < N; i++) {
        /* Some keys long enough to be stored under a digest. */
        int n = i % 100 == 0 ? 600 : snprintf(key, sizeof key, "key-%05d", i);
        if (i % 100 == 0) {
            memset(key, 'x', 600);
            snprintf(key + 590, 10, "%09d", i);
        }
        tu_buf_t v = tu_simple_value(i, (size_t)(i % 5));
        cr_assert_eq(fstore_batch_put(b, T, key, (size_t)n, v.data, v.len, i % 3,
                                      i, 1000 + i, NULL, 0), FSTORE_OK);
        tu_buf_free(&v);
    }
    tu_commit(b);
}

static void teardown(void)
{
    fstore_store_close(S);
    tu_rmtree(dir);
    char *base = strdup(dst);
    *strrchr(base, '/') = 0;
    tu_rmtree(base);
    free(base);
    free(dir);
    free(dst);
    free(snap);
}

TestSuite(snapshot, .init = setup, .fini = teardown, .timeout = 120);

static void assert_same(fstore_store_t *a, fstore_store_t *b)
{
    const fstore_table_t *ta, *tb;
    cr_assert_eq(fstore_table_open(a, "t", &ta), FSTORE_OK);
    cr_assert_eq(fstore_table_open(b, "t", &tb), FSTORE_OK);
    cr_assert_str_eq(fstore_table_schema(ta), fstore_table_schema(tb));
    fstore_reader_t *ra, *rb;
    fstore_reader_new(a, &ra);
    fstore_reader_new(b, &rb);
    fstore_cursor_t *c;
    cr_assert_eq(fstore_cursor_open(ra, ta, &c), FSTORE_OK);
    const void *k;
    size_t kl;
    const fstore_row_t *row, *other;
    size_t n = 0;
    while (fstore_cursor_next(c, &k, &kl, &row) == FSTORE_OK) {
        cr_assert_eq(fstore_get(rb, tb, k, kl, &other), FSTORE_OK);
        cr_assert_eq(fstore_row_checksum(row), fstore_row_checksum(other));
        cr_assert_eq(fstore_row_offset(row), fstore_row_offset(other));
        cr_assert_eq(fstore_row_verify(other), FSTORE_OK);
        n++;
    }
    fstore_cursor_close(c);
    uint64_t rows;
    cr_assert_eq(fstore_reader_row_count(rb, tb, &rows), FSTORE_OK);
    cr_assert_eq(n, rows);
    for (int p = 0; p < 3; p++) {
        int64_t oa, ob;
        cr_assert_eq(fstore_reader_offset(ra, ta, p, &oa), FSTORE_OK);
        cr_assert_eq(fstore_reader_offset(rb, tb, p, &ob), FSTORE_OK);
        cr_assert_eq(oa, ob);
    }
    fstore_reader_destroy(ra);
    fstore_reader_destroy(rb);
}

Test(snapshot, cursor_visits_every_row_with_full_keys)
{
    fstore_reader_t *r;
    fstore_reader_new(S, &r);
    fstore_cursor_t *c;
    cr_assert_eq(fstore_cursor_open(r, T, &c), FSTORE_OK);
    const void *k;
    size_t kl, n = 0, longkeys = 0;
    const fstore_row_t *row;
    fstore_err_t e;
    while ((e = fstore_cursor_next(c, &k, &kl, &row)) == FSTORE_OK) {
        const fstore_row_t *again;
        cr_assert_eq(fstore_get(r, T, k, kl, &again), FSTORE_OK);
        cr_assert_eq(again, row);
        longkeys += kl == 600;
        n++;
    }
    cr_assert_eq(e, FSTORE_NOT_FOUND);
    cr_assert_eq(n, N);
    cr_assert_eq(longkeys, N / 100);
    fstore_cursor_close(c);
    fstore_reader_destroy(r);
}

Test(snapshot, restore_equals_source_and_resumes_offsets)
{
    char err[512] = "";
    tu_register(S, 7, TU_SIMPLE_SCHEMA);
    cr_assert_eq(fstore_snapshot(S, snap, err, sizeof err), FSTORE_OK, "%s", err);
    cr_assert_eq(fstore_restore(snap, dst, NULL, err, sizeof err), FSTORE_OK, "%s", err);
    fstore_store_t *r = tu_store_open(dst, NULL);
    assert_same(S, r);
    /* Writer schemas came along: the same schema under id 7 is a no-op, a
     * different one a mismatch. */
    cr_assert_eq(fstore_schema_register(r, 7, TU_SIMPLE_SCHEMA, err, sizeof err), FSTORE_OK);
    cr_assert_eq(fstore_schema_register(r, 7, "{\"type\":\"record\",\"name\":\"X\","
                                              "\"fields\":[{\"name\":\"a\",\"type\":\"int\"}]}",
                                        err, sizeof err),
                 FSTORE_ERR_SCHEMA_MISMATCH);
    /* The restored store takes batches where the source left off. */
    const fstore_table_t *rt;
    cr_assert_eq(fstore_table_open(r, "t", &rt), FSTORE_OK);
    fstore_batch_t *b = tu_begin(r);
    tu_simple_put(b, rt, "late", 1, 1, 0, N + 10, 0);
    tu_commit(b);
    fstore_reader_t *rd;
    fstore_reader_new(r, &rd);
    int64_t off;
    cr_assert_eq(fstore_reader_offset(rd, rt, 0, &off), FSTORE_OK);
    cr_assert_eq(off, N + 10);
    fstore_reader_destroy(rd);
    fstore_store_close(r);
}

/* A snapshot holds every row: its file, and the store restored from it,
 * are as private as the store's own (store.file_mode, 0600 by default;
 * the directory 0700), whatever the umask. */
Test(snapshot, files_are_private_whatever_the_umask)
{
    char err[512] = "";
    mode_t old = umask(0);
    fstore_err_t e1 = fstore_snapshot(S, snap, err, sizeof err);
    fstore_err_t e2 = fstore_restore(snap, dst, NULL, err, sizeof err);
    umask(old);
    cr_assert_eq(e1, FSTORE_OK, "%s", err);
    cr_assert_eq(e2, FSTORE_OK, "%s", err);
    struct stat st;
    cr_assert_eq(stat(snap, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0600, "snapshot file mode %o", st.st_mode & 07777);
    cr_assert_eq(stat(dst, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0700, "restored directory mode %o", st.st_mode & 07777);
    char path[4200];
    snprintf(path, sizeof path, "%s/data.mdb", dst);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0600, "restored data.mdb mode %o", st.st_mode & 07777);
}

Test(snapshot, damaged_files_are_refused_whole)
{
    char err[512] = "";
    cr_assert_eq(fstore_snapshot(S, snap, err, sizeof err), FSTORE_OK, "%s", err);
    FILE *f = fopen(snap, "rb");
    cr_assert(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)len);
    cr_assert_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    struct stat st;

    /* A flipped byte in the compressed content. */
    buf[len / 2] ^= 0x40;
    tu_write_file(snap, buf, (size_t)len);
    cr_assert_eq(fstore_restore(snap, dst, NULL, err, sizeof err), FSTORE_ERR_CORRUPT, "%s", err);
    cr_assert_neq(stat(dst, &st), 0, "nothing is created");
    buf[len / 2] ^= 0x40;

    /* Truncated. */
    tu_write_file(snap, buf, (size_t)len - 100);
    cr_assert_eq(fstore_restore(snap, dst, NULL, err, sizeof err), FSTORE_ERR_CORRUPT, "%s", err);
    cr_assert_neq(stat(dst, &st), 0);

    /* Another format version. */
    buf[12] = 99;
    tu_write_file(snap, buf, (size_t)len);
    cr_assert_eq(fstore_restore(snap, dst, NULL, err, sizeof err), FSTORE_ERR_VERSION, "%s", err);
    buf[12] = 1;

    /* Not a snapshot at all. */
    tu_write_file(snap, "hello", 5);
    cr_assert_eq(fstore_restore(snap, dst, NULL, err, sizeof err), FSTORE_ERR_CORRUPT);

    /* A destination that holds something. */
    tu_write_file(snap, buf, (size_t)len);
    cr_assert_eq(fstore_restore(snap, dir, NULL, err, sizeof err), FSTORE_ERR_IO);
    cr_assert(strstr(err, "not empty"), "%s", err);
    cr_assert_eq(fstore_restore(snap, dst, NULL, err, sizeof err), FSTORE_OK, "%s", err);
    fstore_store_t *r = tu_store_open_ro(dst);
    assert_same(S, r);
    fstore_store_close(r);
    free(buf);
}
