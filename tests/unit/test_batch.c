/* Apply batches into empty tables take the sorted-append path: its result
 * must equal applying the same operations one by one, in queue order. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "ops.h"
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

/* Queues OPS random puts and deletes into a (empty tables: sorted append)
 * and b (a seed row: sequential apply), a's queue spilled as a sorted run
 * every spill_every operations (0: never), and checks both stores agree. */
static void append_equals_sequential(int spill_every)
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
        if (spill_every && op % spill_every == 1) {
            size_t before = fstore_batch_size(ba);
            char err[256];
            cr_assert_eq(fs_batch_spill(ba, err, sizeof err), FSTORE_OK, "%s", err);
            cr_assert_eq(fs_batch_bytes(ba), 0);
            cr_assert_eq(fstore_batch_size(ba), before);
        }
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

Test(batch, sorted_append_equals_sequential_apply)
{
    append_equals_sequential(0);
}

/* Runs spilled to disk and merged at the commit give the same rows: a key
 * put in one run and deleted in a later one (or in the queue) is gone, one
 * deleted and put again is there with its last value. */
Test(batch, spilled_runs_merge_to_the_sequential_result)
{
    append_equals_sequential(701);
    teardown();
    setup();
    append_equals_sequential(97);
}

/* Should the merge ever meet a key out of order (MDB_KEYEXIST from an
 * append), the batch applies the runs and the queue in order instead: the
 * same rows. */
Test(batch, a_failed_merge_falls_back_to_applying_in_order)
{
    unsigned long before = fs_batch_in_order_loads;
    fs_merge_fail_once = 1;
    append_equals_sequential(97);
    cr_assert_eq(fs_merge_fail_once, 0, "the merge ran");
    cr_assert_eq(fs_batch_in_order_loads, before + 1);
}

/* One record queued after the runs (a key before theirs) is merged like
 * any other, not applied ahead of them: before, it reached the table
 * first and the merge's next append failed with MDB_KEYEXIST. */
Test(batch, one_record_after_the_runs_is_merged)
{
    fstore_store_t *a = tu_store_open(dir_a, NULL);
    const fstore_table_t *t = tu_simple_table(a, "t");
    fstore_batch_t *ba = tu_begin(a);
    char key[32], err[256];
    for (int i = 10; i < 60; i++) {
        snprintf(key, sizeof key, "k%d", i);
        tu_simple_put(ba, t, key, i, 1, 0, i, 0);
        if (i % 20 == 19)
            cr_assert_eq(fs_batch_spill(ba, err, sizeof err), FSTORE_OK, "%s", err);
    }
    cr_assert_eq(fs_batch_spill(ba, err, sizeof err), FSTORE_OK, "%s", err);
    tu_simple_put(ba, t, "k0", 100, 1, 0, 100, 0);
    unsigned long before = fs_batch_in_order_loads;
    tu_commit(ba);
    cr_assert_eq(fs_batch_in_order_loads, before, "merged, not replayed in order");
    fstore_reader_t *r;
    fstore_reader_new(a, &r);
    uint64_t rows = 0;
    cr_assert_eq(fstore_reader_row_count(r, t, &rows), FSTORE_OK);
    cr_assert_eq(rows, 51);
    const fstore_row_t *row;
    cr_assert_eq(fstore_get(r, t, "k0", 2, &row), FSTORE_OK);
    tu_simple_assert(t, row, 100, 1);
    cr_assert_eq(fstore_get(r, t, "k59", 3, &row), FSTORE_OK);
    tu_simple_assert(t, row, 59, 1);
    fstore_reader_destroy(r);
    fstore_store_close(a);
}

/* A table with rows cannot take a run (its operations must apply in queue
 * order): the spill is refused and the batch commits as it was. */
Test(batch, spill_refused_when_a_table_has_rows)
{
    fstore_store_t *a = tu_store_open(dir_a, NULL);
    const fstore_table_t *t = tu_simple_table(a, "t");
    fstore_batch_t *ba = tu_begin(a);
    tu_simple_put(ba, t, "k1", 1, 1, 0, 1, 0);
    tu_commit(ba);
    ba = tu_begin(a);
    tu_simple_put(ba, t, "k2", 2, 1, 0, 2, 0);
    tu_simple_put(ba, t, "k1", 3, 1, 0, 3, 0);
    char err[256] = "";
    cr_assert_eq(fs_batch_spill(ba, err, sizeof err), FSTORE_ERR_STATE);
    cr_assert_not_null(strstr(err, "empty tables"), "%s", err);
    cr_assert_eq(fstore_batch_size(ba), 2);
    tu_commit(ba);
    fstore_reader_t *r;
    fstore_reader_new(a, &r);
    const fstore_row_t *row;
    cr_assert_eq(fstore_get(r, t, "k1", 2, &row), FSTORE_OK);
    tu_simple_assert(t, row, 3, 1);
    cr_assert_eq(fstore_get(r, t, "k2", 2, &row), FSTORE_OK);
    tu_simple_assert(t, row, 2, 1);
    fstore_reader_destroy(r);
    fstore_store_close(a);
}

static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    cr_assert_not_null(d);
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* An aborted batch takes its runs with it: no file is left in the store's
 * directory or open, and nothing was written. */
Test(batch, aborted_runs_leave_nothing)
{
    fstore_store_t *a = tu_store_open(dir_a, NULL);
    const fstore_table_t *t = tu_simple_table(a, "t");
    int fds = open_fds();
    fstore_batch_t *ba = tu_begin(a);
    char key[32], err[256];
    for (int i = 0; i < 90; i++) {
        snprintf(key, sizeof key, "k%d", i);
        tu_simple_put(ba, t, key, i, 1, 0, i, 0);
        if (i % 30 == 29)
            cr_assert_eq(fs_batch_spill(ba, err, sizeof err), FSTORE_OK, "%s", err);
    }
    /* Nothing queued: this only waits for the spill in flight. */
    cr_assert_eq(fs_batch_spill(ba, err, sizeof err), FSTORE_OK, "%s", err);
    cr_assert_eq(fstore_batch_size(ba), 90);
    cr_assert_eq(open_fds(), fds + 3, "three runs, three descriptors");
    fstore_batch_abort(ba);
    cr_assert_eq(open_fds(), fds);
    cr_assert_eq(tu_count_prefixed(dir_a, ".bulk-"), 0);
    fstore_reader_t *r;
    fstore_reader_new(a, &r);
    uint64_t rows = 1;
    cr_assert_eq(fstore_reader_row_count(r, t, &rows), FSTORE_OK);
    cr_assert_eq(rows, 0);
    fstore_reader_destroy(r);
    fstore_store_close(a);
}

/* A run that cannot be written (here: past the file size limit) gives its
 * queue back in front of what was queued since: the commit holds every
 * record, the newest value of a key winning. */
Test(batch, failed_spill_loses_nothing)
{
    fstore_store_t *a = tu_store_open(dir_a, NULL);
    const fstore_table_t *t = tu_simple_table(a, "t");
    fstore_batch_t *ba = tu_begin(a);
    char key[32], err[256] = "";
    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof key, "k%d", i);
        tu_simple_put(ba, t, key, i, 1, 0, i, 0);
    }
    struct rlimit old;
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    struct rlimit small = {1000, old.rlim_max}; /* the soft limit only */
    signal(SIGXFSZ, SIG_IGN);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
    cr_assert_eq(fs_batch_spill(ba, err, sizeof err), FSTORE_OK, "%s", err);
    for (int i = 40; i < 60; i++) { /* k40..k49 again, newer */
        snprintf(key, sizeof key, "k%d", i);
        tu_simple_put(ba, t, key, 1000 + i, 1, 0, 100 + i, 0);
    }
    cr_assert_eq(fs_batch_spill(ba, err, sizeof err), FSTORE_ERR_IO);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    cr_assert_not_null(strstr(err, "writing a sorted run"), "%s", err);
    cr_assert_eq(fstore_batch_size(ba), 70);
    tu_commit(ba);
    fstore_reader_t *r;
    fstore_reader_new(a, &r);
    uint64_t rows = 0;
    cr_assert_eq(fstore_reader_row_count(r, t, &rows), FSTORE_OK);
    cr_assert_eq(rows, 60);
    for (int i = 0; i < 60; i++) {
        const fstore_row_t *row;
        snprintf(key, sizeof key, "k%d", i);
        cr_assert_eq(fstore_get(r, t, key, strlen(key), &row), FSTORE_OK, "%s", key);
        tu_simple_assert(t, row, i < 40 ? i : 1000 + i, 1);
    }
    fstore_reader_destroy(r);
    fstore_store_close(a);
}
