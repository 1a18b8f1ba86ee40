/* fstore_get_batch_arrow: the exported record batch follows the Arrow C
 * Data Interface (formats, lengths, validity, offsets) and owns its memory. */
#include <criterion/criterion.h>
#include <string.h>

#include "testutil.h"

static char *dir;
static fstore_store_t *S;
static const fstore_table_t *T;

static void setup(void)
{
    dir = tu_tmpdir();
    S = tu_store_open(dir, NULL);
    T = tu_simple_table(S, "t");
    fstore_batch_t *b = tu_begin(S);
    tu_simple_put(b, T, "a", 10, 3, 0, 1, 1000); /* n%5==0: column n null */
    tu_simple_put(b, T, "b", 7, 2, 0, 2, 2000);
    tu_commit(b);
}

static void teardown(void)
{
    fstore_store_close(S);
    tu_rmtree(dir);
    free(dir);
}

static int bit(const void *buf, int64_t i)
{
    return buf ? (((const uint8_t *)buf)[i >> 3] >> (i & 7)) & 1 : 1;
}

TestSuite(arrow, .init = setup, .fini = teardown);

Test(arrow, record_batch_layout)
{
    fstore_reader_t *r;
    cr_assert_eq(fstore_reader_new(S, &r), FSTORE_OK);
    const void *keys[3] = {"a", "missing", "b"};
    size_t lens[3] = {1, 7, 1};
    int cols[5] = {1, 4, 6, 7, 8}; /* long, string, enum, array<float>, ["null",long] */
    struct ArrowSchema s;
    struct ArrowArray a;
    cr_assert_eq(fstore_get_batch_arrow(r, T, 3, keys, lens, cols, 5, &s, &a), FSTORE_OK);
    /* The export outlives the snapshot. */
    fstore_reader_destroy(r);

    cr_assert_str_eq(s.format, "+s");
    cr_assert_eq(s.n_children, 7);
    cr_assert_eq(a.length, 3);
    cr_assert_eq(a.n_children, 7);
    const char *names[7] = {"key", "found", "l", "s", "e", "a", "n"};
    const char *formats[7] = {"z", "b", "l", "u", "u", "+l", "l"};
    for (int i = 0; i < 7; i++) {
        cr_assert_str_eq(s.children[i]->name, names[i]);
        cr_assert_str_eq(s.children[i]->format, formats[i], "%s", names[i]);
        cr_assert_eq(a.children[i]->length, 3);
    }
    cr_assert_str_eq(s.children[5]->children[0]->format, "f");

    /* key: binary with offsets */
    const int32_t *ko = a.children[0]->buffers[1];
    const char *kb = a.children[0]->buffers[2];
    cr_assert_eq(ko[0], 0);
    cr_assert_eq(ko[3], 9);
    cr_assert(memcmp(kb + ko[1], "missing", 7) == 0);
    /* found */
    const void *fb = a.children[1]->buffers[1];
    cr_assert(bit(fb, 0) && !bit(fb, 1) && bit(fb, 2));
    /* long column: the missing key is null */
    struct ArrowArray *l = a.children[2];
    cr_assert_eq(l->null_count, 1);
    cr_assert(!bit(l->buffers[0], 1));
    cr_assert_eq(((const int64_t *)l->buffers[1])[0], 10);
    cr_assert_eq(((const int64_t *)l->buffers[1])[2], 7);
    /* string column */
    struct ArrowArray *st = a.children[3];
    const int32_t *so = st->buffers[1];
    cr_assert_eq(so[1] - so[0], 3);
    cr_assert(memcmp((const char *)st->buffers[2] + so[0], "v10", 3) == 0);
    cr_assert(memcmp((const char *)st->buffers[2] + so[2], "v7", 2) == 0);
    /* enum as its symbol */
    struct ArrowArray *en = a.children[4];
    const int32_t *eo = en->buffers[1];
    cr_assert(memcmp((const char *)en->buffers[2] + eo[0], "E2", 2) == 0);
    /* list<float>: 3 + 0 + 2 elements */
    struct ArrowArray *li = a.children[5];
    const int32_t *lo = li->buffers[1];
    cr_assert_eq(lo[0], 0);
    cr_assert_eq(lo[1], 3);
    cr_assert_eq(lo[2], 3);
    cr_assert_eq(lo[3], 5);
    cr_assert_eq(li->children[0]->length, 5);
    const float *fv = li->children[0]->buffers[1];
    cr_assert_eq(fv[0], 10.0f);
    cr_assert_eq(fv[2], 12.0f);
    cr_assert_eq(fv[4], 8.0f);
    /* nullable long: null for n=10 and for the missing key */
    struct ArrowArray *nl = a.children[6];
    cr_assert_eq(nl->null_count, 2);
    cr_assert(!bit(nl->buffers[0], 0) && bit(nl->buffers[0], 2));

    a.release(&a);
    s.release(&s);
    cr_assert_null(a.release);
    cr_assert_null(s.release);
}

Test(arrow, errors_export_nothing)
{
    fstore_reader_t *r;
    fstore_reader_new(S, &r);
    const void *keys[1] = {"a"};
    size_t lens[1] = {1};
    int bad[1] = {42};
    struct ArrowSchema s = {0};
    struct ArrowArray a = {0};
    cr_assert_eq(fstore_get_batch_arrow(r, T, 1, keys, lens, bad, 1, &s, &a),
                 FSTORE_ERR_NO_COLUMN);
    cr_assert_null(a.release);
    size_t zero[1] = {0};
    int ok[1] = {0};
    cr_assert_eq(fstore_get_batch_arrow(r, T, 1, keys, zero, ok, 1, &s, &a), FSTORE_ERR_KEY);
    cr_assert_null(s.release);
    fstore_reader_destroy(r);
}
