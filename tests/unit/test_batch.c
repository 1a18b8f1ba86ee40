/* Apply batches into empty tables take the sorted-append path: its result
 * must equal applying the same operations one by one, in queue order. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define KEYS 300
#define OPS 5000

static char *dir_a, *dir_b;

static void setup(void)
{
    dir_a = tu_tmpdir();
    dir_b = tu_tmpdir();
}

static void teardown(void)
{
    tu_rmtree(dir_a);
    tu_rmtree(dir_b);
    free(dir_a);
    free(dir_b);
}

TestSuite(batch, .init = setup, .fini = teardown, .timeout = 120);

/* Key i: short, long (digest-stored), or sharing prefixes (also beyond
 * the 16 bytes the bulk sort compares first), to exercise the sort order
 * against LMDB's. */
static size_t key_of(int i, char *buf, size_t cap)
{
    switch (i % 4) {
    case 3: /* "sixteen-byte-key" itself, and longer keys it prefixes:
             * "...key3" < "...key35" < "...key4" */
        if (i == 3)
            return (size_t)snprintf(buf, cap, "sixteen-byte-key");
        return (size_t)snprintf(buf, cap, "sixteen-byte-key%d", i / 4);
    case 0:
        return (size_t)snprintf(buf, cap, "k%d", i);
    case 1:
        return (size_t)snprintf(buf, cap, "k%d\xff", i - 1); /* "k3" and "k3\xff" */
    default: {
        size_t n = 500 + (size_t)(i % 50);
        memset(buf, 'L', n);
        snprintf(buf + n - 12, 12, "%011d", i);
        return n;
    }
    }
}

Test(batch, sorted_append_equals_sequential_apply)
{
    fstore_store_t *a = tu_store_open(dir_a, NULL);
    fstore_store_t *b = tu_store_open(dir_b, NULL);
    const fstore_table_t *ta = tu_simple_table(a, "t"), *ta2 = tu_simple_table(a, "u");
    const fstore_table_t *tb = tu_simple_table(b, "t"), *tb2 = tu_simple_table(b, "u");
    /* b gets one row first, so its tables are not empty and take the
     * sequential path; that row is deleted again by the same ops. */
    fstore_batch_t *bb = tu_begin(b);
    tu_simple_put(bb, tb, "seed", 1, 1, 0, 0, 0);
    tu_simple_put(bb, tb2, "seed", 1, 1, 0, 0, 0);
    tu_commit(bb);
    fstore_batch_t *ba = tu_begin(a);
    bb = tu_begin(b);
    unsigned seed = 3;
    char key[600];
    int64_t expect[KEYS];
    for (int i = 0; i < KEYS; i++)
        expect[i] = -1;
    for (int op = 0; op < OPS; op++) {
        int i = (int)(rand_r(&seed) % KEYS);
        size_t kl = key_of(i, key, sizeof key);
        const fstore_table_t *xa = op % 2 ? ta : ta2, *xb = op % 2 ? tb : tb2;
        if (op % 2 == 0)
            continue; /* second table: only the seed row, deleted below */
        if (rand_r(&seed) % 5 == 0) {
            cr_assert_eq(fstore_batch_put(ba, xa, key, kl, NULL, 0, 0, op + 1, 0, NULL, 0), FSTORE_OK);
            cr_assert_eq(fstore_batch_put(bb, xb, key, kl, NULL, 0, 0, op + 1, 0, NULL, 0), FSTORE_OK);
            expect[i] = -1;
        } else {
            tu_buf_t v = tu_simple_value(op, 1);
            cr_assert_eq(fstore_batch_put(ba, xa, key, kl, v.data, v.len, 0, op + 1, 0, NULL, 0), FSTORE_OK);
            cr_assert_eq(fstore_batch_put(bb, xb, key, kl, v.data, v.len, 0, op + 1, 0, NULL, 0), FSTORE_OK);
            tu_buf_free(&v);
            expect[i] = op;
        }
    }
    cr_assert_eq(fstore_batch_put(bb, tb, "seed", 4, NULL, 0, 0, OPS + 1, 0, NULL, 0), FSTORE_OK);
    cr_assert_eq(fstore_batch_put(bb, tb2, "seed", 4, NULL, 0, 0, OPS + 1, 0, NULL, 0), FSTORE_OK);
    cr_assert_eq(fstore_batch_advance(ba, ta, 0, OPS + 1), FSTORE_OK);
    tu_commit(ba);
    tu_commit(bb);

    fstore_reader_t *ra, *rb;
    fstore_reader_new(a, &ra);
    fstore_reader_new(b, &rb);
    uint64_t na, nb, live = 0;
    for (int i = 0; i < KEYS; i++) {
        size_t kl = key_of(i, key, sizeof key);
        const fstore_row_t *x, *y;
        fstore_err_t ea = fstore_get(ra, ta, key, kl, &x);
        fstore_err_t eb = fstore_get(rb, tb, key, kl, &y);
        cr_assert_eq(ea, eb, "key %d", i);
        if (expect[i] < 0) {
            cr_assert_eq(ea, FSTORE_NOT_FOUND, "key %d", i);
            continue;
        }
        live++;
        cr_assert_eq(ea, FSTORE_OK, "key %d", i);
        tu_simple_assert(ta, x, expect[i], 1);
        tu_simple_assert(tb, y, expect[i], 1);
    }
    cr_assert_eq(fstore_reader_row_count(ra, ta, &na), FSTORE_OK);
    cr_assert_eq(fstore_reader_row_count(rb, tb, &nb), FSTORE_OK);
    cr_assert_eq(na, live);
    cr_assert_eq(nb, live);
    cr_assert_eq(fstore_reader_row_count(rb, tb2, &nb), FSTORE_OK);
    cr_assert_eq(nb, 0);
    /* The appended table takes ordinary updates afterwards. b's snapshot
     * ends first: a thread that held one store's snapshot while it commits
     * to another would order the two stores' remap locks both ways, which
     * ThreadSanitizer reports; the locks prefer writers, so two stores
     * growing their maps at once could then deadlock. */
    fstore_reader_destroy(ra);
    fstore_reader_reset(rb);
    ba = tu_begin(a);
    tu_simple_put(ba, ta, "k0", 99, 1, 0, OPS + 2, 0);
    tu_simple_put(ba, ta, "aaa", 98, 1, 0, OPS + 3, 0);
    tu_commit(ba);
    fstore_reader_new(a, &ra);
    const fstore_row_t *row;
    cr_assert_eq(fstore_get(ra, ta, "k0", 2, &row), FSTORE_OK);
    tu_simple_assert(ta, row, 99, 1);
    cr_assert_eq(fstore_get(ra, ta, "aaa", 3, &row), FSTORE_OK);
    fstore_reader_destroy(ra);
    fstore_reader_destroy(rb);
    fstore_store_close(a);
    fstore_store_close(b);
}
