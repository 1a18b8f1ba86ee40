/*
 * Unit suite of the reader: lookups, snapshots (MVCC), row metadata and
 * accessors, long keys, readers in other threads and processes, and the
 * batch matrix. Forked children and threads never use Criterion asserts.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "testutil.h"

static char *dir;
static fstore_store_t *store;
static fstore_reader_t *rd;

static void setup(void)
{
    dir = tu_tmpdir();
    /* Durability is the store suite's business: skip the syncs here. */
    fstore_conf_t *c = tu_conf("store.sync", "none", NULL);
    store = tu_store_open(dir, c);
    fstore_conf_destroy(c);
    cr_assert_eq(fstore_reader_new(store, &rd), FSTORE_OK);
}

static void teardown(void)
{
    fstore_reader_destroy(rd);
    fstore_store_close(store);
    tu_rmtree(dir);
    free(dir);
}

TestSuite(reader, .init = setup, .fini = teardown);

static int wait_child(pid_t pid)
{
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 100 + WTERMSIG(st);
    return 255;
}

static void put_simple(const fstore_table_t *t, const char *key, int64_t n,
                       int64_t off)
{
    fstore_batch_t *b = tu_begin(store);
    tu_simple_put(b, t, key, n, 3, 0, off, 1000 + off);
    tu_commit(b);
}

static int64_t value_of(fstore_reader_t *r, const fstore_table_t *t,
                        const char *key)
{
    const fstore_row_t *row = NULL;
    fstore_err_t rc = fstore_get(r, t, key, strlen(key), &row);
    cr_assert_eq(rc, FSTORE_OK, "get %s: %s", key, fstore_err_name(rc));
    int64_t n = -1;
    cr_assert_eq(tu_simple_check_try(t, row, &n), 0, "%s not whole", key);
    return n;
}

/* ---- lookups and snapshots ---------------------------------------------- */

Test(reader, not_found)
{
    const fstore_table_t *t = tu_simple_table(store, "t");
    cr_assert_str_eq(fstore_reader_errmsg(rd), "");
    const fstore_row_t *row = (const fstore_row_t *)1;
    cr_assert_eq(fstore_get(rd, t, "nope", 4, &row), FSTORE_NOT_FOUND);
    cr_assert_null(row);
    cr_assert_str_eq(fstore_reader_errmsg(rd), "",
                     "not found formatted a message");
    put_simple(t, "yes", 1, 0);
    cr_assert_eq(fstore_reader_refresh(rd), FSTORE_OK);
    row = (const fstore_row_t *)1;
    cr_assert_eq(fstore_get(rd, t, "yes!", 4, &row), FSTORE_NOT_FOUND);
    cr_assert_null(row);
    cr_assert_eq(fstore_get(rd, t, "ye", 2, &row), FSTORE_NOT_FOUND);
    cr_assert_eq(fstore_get(rd, t, "yes", 3, &row), FSTORE_OK);
    cr_assert_not_null(row);
}

Test(reader, empty_key_and_bad_args)
{
    const fstore_table_t *t = tu_simple_table(store, "t");
    const fstore_row_t *row = NULL;
    cr_assert_eq(fstore_get(rd, t, "", 0, &row), FSTORE_ERR_KEY);
    cr_assert_gt(strlen(fstore_reader_errmsg(rd)), 0,
                 "no message after a failed call");
    cr_assert_eq(fstore_get(rd, NULL, "k", 1, &row), FSTORE_ERR_INVALID_ARG);
    cr_assert_eq(fstore_get(rd, t, "k", 1, NULL), FSTORE_ERR_INVALID_ARG);
    cr_assert_eq(fstore_get(NULL, t, "k", 1, &row), FSTORE_ERR_INVALID_ARG);
    const void *keys[1] = {""};
    size_t lens[1] = {0};
    int cols[1] = {0};
    float out[1];
    cr_assert_eq(fstore_get_batch(rd, t, 1, keys, lens, cols, 1, out, 1, NULL),
                 FSTORE_ERR_KEY);
}

Test(reader, null_key_pointer_is_invalid_arg)
{
    /* NULL with a length is a caller bug, not an empty key. */
    const fstore_table_t *t = tu_simple_table(store, "t");
    const fstore_row_t *row = NULL;
    fstore_err_t rc = fstore_get(rd, t, NULL, 4, &row);
    cr_assert_eq(rc, FSTORE_ERR_INVALID_ARG, "%s", fstore_err_name(rc));
}

Test(reader, refresh_and_mvcc)
{
    const fstore_table_t *t = tu_simple_table(store, "t");
    put_simple(t, "k", 1, 0);
    put_simple(t, "gone", 2, 1);
    cr_assert_eq(value_of(rd, t, "k"), 1);
    const fstore_row_t *old = NULL;
    cr_assert_eq(fstore_get(rd, t, "k", 1, &old), FSTORE_OK);

    /* A newer commit: overwrite, delete, insert. */
    fstore_batch_t *b = tu_begin(store);
    tu_simple_put(b, t, "k", 7, 3, 0, 2, 0);
    tu_batch_put(b, t, "gone", NULL, 0, 3, 0);
    tu_simple_put(b, t, "new", 8, 3, 0, 4, 0);
    tu_commit(b);

    /* The unrefreshed reader keeps its snapshot, row views stay valid. */
    int64_t n = -1;
    cr_assert_eq(tu_simple_check_try(t, old, &n), 0);
    cr_assert_eq(n, 1, "a held row view changed under the reader");
    cr_assert_eq(value_of(rd, t, "k"), 1);
    cr_assert_eq(value_of(rd, t, "gone"), 2);
    const fstore_row_t *row = NULL;
    cr_assert_eq(fstore_get(rd, t, "new", 3, &row), FSTORE_NOT_FOUND);
    int64_t off = -1;
    cr_assert_eq(fstore_reader_offset(rd, t, 0, &off), FSTORE_OK);
    cr_assert_eq(off, 1);
    uint64_t count = 0;
    cr_assert_eq(fstore_reader_row_count(rd, t, &count), FSTORE_OK);
    cr_assert_eq(count, 2);

    /* A new reader sees the new data. */
    fstore_reader_t *r2 = NULL;
    cr_assert_eq(fstore_reader_new(store, &r2), FSTORE_OK);
    cr_assert_eq(value_of(r2, t, "k"), 7);
    fstore_reader_destroy(r2);

    /* So does the old reader once refreshed. */
    cr_assert_eq(fstore_reader_refresh(rd), FSTORE_OK);
    cr_assert_eq(value_of(rd, t, "k"), 7);
    cr_assert_eq(value_of(rd, t, "new"), 8);
    cr_assert_eq(fstore_get(rd, t, "gone", 4, &row), FSTORE_NOT_FOUND);
    cr_assert_eq(fstore_reader_offset(rd, t, 0, &off), FSTORE_OK);
    cr_assert_eq(off, 4);
    cr_assert_eq(fstore_reader_row_count(rd, t, &count), FSTORE_OK);
    cr_assert_eq(count, 2);
}

Test(reader, snapshot_taken_at_first_lookup)
{
    const fstore_table_t *t = tu_simple_table(store, "t");
    fstore_reader_t *r2 = NULL;
    cr_assert_eq(fstore_reader_new(store, &r2), FSTORE_OK);
    put_simple(t, "k", 3, 0);
    cr_assert_eq(value_of(r2, t, "k"), 3);
    fstore_reader_destroy(r2);
}

Test(reader, reset_then_get)
{
    const fstore_table_t *t = tu_simple_table(store, "t");
    put_simple(t, "k", 1, 0);
    cr_assert_eq(value_of(rd, t, "k"), 1);
    fstore_reader_reset(rd);
    put_simple(t, "k", 2, 1);
    cr_assert_eq(value_of(rd, t, "k"), 2, "reset reader kept an old snapshot");
    fstore_reader_reset(rd);
    fstore_reader_reset(rd); /* twice is fine */
    cr_assert_eq(value_of(rd, t, "k"), 2);
    /* Refresh after reset works too. */
    fstore_reader_reset(rd);
    cr_assert_eq(fstore_reader_refresh(rd), FSTORE_OK);
    cr_assert_eq(value_of(rd, t, "k"), 2);
}

Test(reader, many_readers_one_thread)
{
    const fstore_table_t *t = tu_simple_table(store, "t");
    enum { N = 20 };
    fstore_reader_t *rs[N];
    for (int i = 0; i < N; i++) {
        put_simple(t, "k", i, i);
        cr_assert_eq(fstore_reader_new(store, &rs[i]), FSTORE_OK);
        cr_assert_eq(value_of(rs[i], t, "k"), i);
    }
    for (int i = 0; i < N; i++) {
        cr_assert_eq(value_of(rs[i], t, "k"), i, "reader %d moved", i);
        fstore_reader_destroy(rs[i]);
    }
}

Test(reader, row_metadata)
{
    const fstore_table_t *t = tu_simple_table(store, "t");
    fstore_batch_t *b = tu_begin(store);
    tu_simple_put(b, t, "a", 11, 3, 5, 123456789012LL, 1700000000999LL);
    tu_simple_put(b, t, "b", 12, 3, 0, 0, -1);
    tu_commit(b);
    cr_assert_eq(fstore_reader_refresh(rd), FSTORE_OK);
    const fstore_row_t *a = NULL, *bb = NULL;
    cr_assert_eq(fstore_get(rd, t, "a", 1, &a), FSTORE_OK);
    cr_assert_eq(fstore_get(rd, t, "b", 1, &bb), FSTORE_OK);
    cr_assert_eq(fstore_row_timestamp(a), 1700000000999LL);
    cr_assert_eq(fstore_row_partition(a), 5);
    cr_assert_eq(fstore_row_offset(a), 123456789012LL);
    cr_assert_eq(fstore_row_schema_id(a), TU_SIMPLE_ID);
    cr_assert_eq(fstore_row_verify(a), FSTORE_OK);
    cr_assert_eq(fstore_row_timestamp(bb), -1);
    cr_assert_eq(fstore_row_partition(bb), 0);
    cr_assert_eq(fstore_row_offset(bb), 0);
    cr_assert_eq(fstore_row_verify(bb), FSTORE_OK);
    cr_assert_neq(fstore_row_checksum(a), fstore_row_checksum(bb),
                  "different rows share a checksum");
    /* The checksum is of the body: same content, same checksum. */
    b = tu_begin(store);
    tu_simple_put(b, t, "c", 11, 3, 9, 77, 5);
    tu_commit(b);
    cr_assert_eq(fstore_reader_refresh(rd), FSTORE_OK);
    const fstore_row_t *c = NULL;
    cr_assert_eq(fstore_get(rd, t, "c", 1, &c), FSTORE_OK);
    cr_assert_eq(fstore_get(rd, t, "a", 1, &a), FSTORE_OK);
    cr_assert_eq(fstore_row_verify(c), FSTORE_OK);
    (void)a;
}

Test(reader, row_count)
{
    const fstore_table_t *t = tu_simple_table(store, "t");
    char *s2 = tu_record_schema("{\"name\":\"x\",\"type\":\"int\"}");
    const fstore_table_t *u = tu_table(store, "u", s2);
    uint64_t count = 99;
    cr_assert_eq(fstore_reader_row_count(rd, t, &count), FSTORE_OK);
    cr_assert_eq(count, 0);
    fstore_batch_t *b = tu_begin(store);
    for (int i = 0; i < 1000; i++) {
        char key[16];
        snprintf(key, sizeof key, "%d", i);
        tu_simple_put(b, t, key, i, 1, 0, i, 0);
    }
    tu_commit(b);
    cr_assert_eq(fstore_reader_refresh(rd), FSTORE_OK);
    cr_assert_eq(fstore_reader_row_count(rd, t, &count), FSTORE_OK);
    cr_assert_eq(count, 1000);
    cr_assert_eq(fstore_reader_row_count(rd, u, &count), FSTORE_OK);
    cr_assert_eq(count, 0, "rows counted in the wrong table");
    free(s2);
}

/* ---- accessors ----------------------------------------------------------- */

#define ACC_FIELDS                                                             \
    "{\"name\":\"b\",\"type\":\"boolean\"},"                                   \
    "{\"name\":\"i\",\"type\":\"int\"},"                                       \
    "{\"name\":\"l\",\"type\":\"long\"},"                                      \
    "{\"name\":\"f\",\"type\":\"float\"},"                                     \
    "{\"name\":\"d\",\"type\":\"double\"},"                                    \
    "{\"name\":\"s\",\"type\":\"string\"},"                                    \
    "{\"name\":\"by\",\"type\":\"bytes\"},"                                    \
    "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":"  \
    "[\"X\",\"Y\",\"Z\"]}},"                                                   \
    "{\"name\":\"fx\",\"type\":{\"type\":\"fixed\",\"name\":\"F\","            \
    "\"size\":3}},"                                                            \
    "{\"name\":\"af\",\"type\":{\"type\":\"array\",\"items\":\"float\"}},"     \
    "{\"name\":\"ad\",\"type\":{\"type\":\"array\",\"items\":\"double\"}},"    \
    "{\"name\":\"ai\",\"type\":{\"type\":\"array\",\"items\":\"int\"}},"       \
    "{\"name\":\"al\",\"type\":{\"type\":\"array\",\"items\":\"long\"}},"      \
    "{\"name\":\"date\",\"type\":{\"type\":\"int\",\"logicalType\":"           \
    "\"date\"}},"                                                              \
    "{\"name\":\"ts\",\"type\":{\"type\":\"long\",\"logicalType\":"            \
    "\"timestamp-millis\"}},"                                                  \
    "{\"name\":\"ni\",\"type\":[\"null\",\"int\"]},"                           \
    "{\"name\":\"ns\",\"type\":[\"null\",\"string\"]},"                        \
    "{\"name\":\"naf\",\"type\":[\"null\",{\"type\":\"array\",\"items\":"      \
    "\"float\"}]},"                                                            \
    "{\"name\":\"nd\",\"type\":[\"null\",\"double\"]},"                        \
    "{\"name\":\"nb\",\"type\":[\"null\",\"boolean\"]},"                       \
    "{\"name\":\"tm\",\"type\":{\"type\":\"int\",\"logicalType\":"             \
    "\"time-millis\"}}"

enum {
    C_B,
    C_I,
    C_L,
    C_F,
    C_D,
    C_S,
    C_BY,
    C_E,
    C_FX,
    C_AF,
    C_AD,
    C_AI,
    C_AL,
    C_DATE,
    C_TS,
    C_NI,
    C_NS,
    C_NAF,
    C_ND,
    C_NB,
    C_TM,
    C_COUNT
};

#define ACC_ID 3

/* Writes the accessor row: every non-null column set, every nullable null. */
static const fstore_table_t *acc_table(const fstore_row_t **rowp)
{
    char *s = tu_record_schema(ACC_FIELDS);
    tu_register(store, ACC_ID, s);
    const fstore_table_t *t = tu_table(store, "acc", s);
    cr_assert_eq(fstore_table_column_count(t), C_COUNT);
    tu_rec_t w;
    tu_rec_init(&w, s);
    avro_value_t f, el;
    f = tu_field(&w, "b");
    avro_value_set_boolean(&f, 1);
    f = tu_field(&w, "i");
    avro_value_set_int(&f, -77);
    f = tu_field(&w, "l");
    avro_value_set_long(&f, 1LL << 40);
    f = tu_field(&w, "f");
    avro_value_set_float(&f, 2.5f);
    f = tu_field(&w, "d");
    avro_value_set_double(&f, -4.25);
    f = tu_field(&w, "s");
    avro_value_set_string(&f, "str");
    f = tu_field(&w, "by");
    avro_value_set_bytes(&f, (void *)(uintptr_t) "\x01\x02", 2);
    f = tu_field(&w, "e");
    avro_value_set_enum(&f, 2);
    f = tu_field(&w, "fx");
    avro_value_set_fixed(&f, (void *)(uintptr_t) "abc", 3);
    f = tu_field(&w, "af");
    for (int i = 0; i < 5; i++) {
        avro_value_append(&f, &el, NULL);
        avro_value_set_float(&el, (float)i + 0.5f);
    }
    f = tu_field(&w, "ad");
    for (int i = 0; i < 2; i++) {
        avro_value_append(&f, &el, NULL);
        avro_value_set_double(&el, -1.0 * i);
    }
    f = tu_field(&w, "ai");
    for (int i = 0; i < 3; i++) {
        avro_value_append(&f, &el, NULL);
        avro_value_set_int(&el, 100 * i);
    }
    f = tu_field(&w, "al");
    avro_value_append(&f, &el, NULL);
    avro_value_set_long(&el, 1LL << 33);
    f = tu_field(&w, "date");
    avro_value_set_int(&f, 19000);
    f = tu_field(&w, "ts");
    avro_value_set_long(&f, 1700000000000LL);
    static const char *const nulls[] = {"ni", "ns", "naf", "nd", "nb"};
    for (int i = 0; i < 5; i++) {
        f = tu_field(&w, nulls[i]);
        tu_set_null(&f);
    }
    f = tu_field(&w, "tm");
    avro_value_set_int(&f, 3600000);
    tu_buf_t v = tu_encode_framed(&w, ACC_ID);
    fstore_batch_t *b = tu_begin(store);
    tu_batch_put(b, t, "row", &v, 0, 0, 0);
    tu_commit(b);
    tu_buf_free(&v);
    tu_rec_free(&w);
    free(s);
    cr_assert_eq(fstore_reader_refresh(rd), FSTORE_OK);
    cr_assert_eq(fstore_get(rd, t, "row", 3, rowp), FSTORE_OK);
    return t;
}

enum {
    A_BOOL,
    A_INT,
    A_LONG,
    A_FLOAT,
    A_DOUBLE,
    A_BYTES,
    A_ARRAY,
    A_ARRAYF,
    A_COUNT
};
static const char *const acc_names[] = {
    "bool", "int", "long", "float", "double", "bytes", "array", "array_float"};

static fstore_err_t call(int acc, const fstore_table_t *t,
                         const fstore_row_t *r, int c)
{
    int bv;
    int32_t iv;
    int64_t lv;
    float fv, arr[8];
    double dv;
    const char *p;
    const void *vp;
    size_t n;
    switch (acc) {
    case A_BOOL: return fstore_row_bool(t, r, c, &bv);
    case A_INT: return fstore_row_int(t, r, c, &iv);
    case A_LONG: return fstore_row_long(t, r, c, &lv);
    case A_FLOAT: return fstore_row_float(t, r, c, &fv);
    case A_DOUBLE: return fstore_row_double(t, r, c, &dv);
    case A_BYTES: return fstore_row_bytes(t, r, c, &p, &n);
    case A_ARRAY: return fstore_row_array(t, r, c, &vp, &n);
    default: return fstore_row_array_float(t, r, c, arr, 8, &n);
    }
}

Test(reader, accessor_type_rules)
{
    const fstore_row_t *r = NULL;
    const fstore_table_t *t = acc_table(&r);
    /* ok[column] = bit set of accessors that accept it. */
    unsigned ok[C_COUNT] = {0};
#define OK(c, a) ok[c] |= 1u << (a)
    OK(C_B, A_BOOL);
    OK(C_I, A_INT);
    OK(C_I, A_LONG);
    OK(C_I, A_DOUBLE);
    OK(C_L, A_LONG);
    OK(C_L, A_DOUBLE);
    OK(C_F, A_FLOAT);
    OK(C_F, A_DOUBLE);
    OK(C_D, A_DOUBLE);
    OK(C_S, A_BYTES);
    OK(C_BY, A_BYTES);
    OK(C_E, A_INT);
    OK(C_E, A_BYTES);
    OK(C_FX, A_BYTES);
    OK(C_AF, A_ARRAY);
    OK(C_AF, A_ARRAYF);
    OK(C_AD, A_ARRAY);
    OK(C_AD, A_ARRAYF);
    OK(C_AI, A_ARRAY);
    OK(C_AI, A_ARRAYF);
    OK(C_AL, A_ARRAY);
    OK(C_AL, A_ARRAYF);
    OK(C_DATE, A_INT);
    OK(C_DATE, A_LONG);
    OK(C_DATE, A_DOUBLE);
    OK(C_TS, A_LONG);
    OK(C_TS, A_DOUBLE);
    OK(C_TM, A_INT);
    OK(C_TM, A_LONG);
    OK(C_TM, A_DOUBLE);
#undef OK
    for (int c = 0; c < C_COUNT; c++) {
        if (c >= C_NI && c <= C_NB)
            continue; /* nulls: see accessor_nulls */
        for (int a = 0; a < A_COUNT; a++) {
            fstore_err_t want = (ok[c] >> a) & 1 ? FSTORE_OK : FSTORE_ERR_TYPE;
            fstore_err_t got = call(a, t, r, c);
            cr_expect_eq(got, want, "fstore_row_%s on column %s: %s, want %s",
                         acc_names[a], fstore_table_column_name(t, c),
                         fstore_err_name(got), fstore_err_name(want));
        }
    }
}

Test(reader, accessor_values)
{
    const fstore_row_t *r = NULL;
    const fstore_table_t *t = acc_table(&r);
    int bv = -1;
    cr_assert_eq(fstore_row_bool(t, r, C_B, &bv), FSTORE_OK);
    cr_assert_eq(bv, 1);
    int32_t iv;
    cr_assert_eq(fstore_row_int(t, r, C_I, &iv), FSTORE_OK);
    cr_assert_eq(iv, -77);
    cr_assert_eq(fstore_row_int(t, r, C_E, &iv), FSTORE_OK);
    cr_assert_eq(iv, 2);
    cr_assert_eq(fstore_row_int(t, r, C_DATE, &iv), FSTORE_OK);
    cr_assert_eq(iv, 19000);
    cr_assert_eq(fstore_row_int(t, r, C_TM, &iv), FSTORE_OK);
    cr_assert_eq(iv, 3600000);
    int64_t lv;
    cr_assert_eq(fstore_row_long(t, r, C_I, &lv), FSTORE_OK);
    cr_assert_eq(lv, -77);
    cr_assert_eq(fstore_row_long(t, r, C_L, &lv), FSTORE_OK);
    cr_assert_eq(lv, 1LL << 40);
    cr_assert_eq(fstore_row_long(t, r, C_TS, &lv), FSTORE_OK);
    cr_assert_eq(lv, 1700000000000LL);
    float fv;
    cr_assert_eq(fstore_row_float(t, r, C_F, &fv), FSTORE_OK);
    cr_assert_eq(fv, 2.5f);
    double dv;
    cr_assert_eq(fstore_row_double(t, r, C_I, &dv), FSTORE_OK);
    cr_assert_eq(dv, -77.0);
    cr_assert_eq(fstore_row_double(t, r, C_L, &dv), FSTORE_OK);
    cr_assert_eq(dv, (double)(1LL << 40));
    cr_assert_eq(fstore_row_double(t, r, C_F, &dv), FSTORE_OK);
    cr_assert_eq(dv, 2.5);
    cr_assert_eq(fstore_row_double(t, r, C_D, &dv), FSTORE_OK);
    cr_assert_eq(dv, -4.25);
    const char *p;
    size_t n;
    cr_assert_eq(fstore_row_bytes(t, r, C_E, &p, &n), FSTORE_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(p[0], 'Z');
    cr_assert_eq(fstore_row_bytes(t, r, C_S, &p, &n), FSTORE_OK);
    cr_assert_eq(n, 3);
    cr_assert_eq(memcmp(p, "str", 4), 0);
    cr_assert_eq(fstore_row_bytes(t, r, C_FX, &p, &n), FSTORE_OK);
    cr_assert_eq(n, 3);
    cr_assert_eq(memcmp(p, "abc", 3), 0);

    /* Converted arrays, including a cap that is too small. */
    float out[8];
    for (int i = 0; i < 8; i++)
        out[i] = -1.0f;
    cr_assert_eq(fstore_row_array_float(t, r, C_AF, out, 8, &n), FSTORE_OK);
    cr_assert_eq(n, 5);
    for (int i = 0; i < 5; i++)
        cr_assert_eq(out[i], (float)i + 0.5f);
    cr_assert_eq(out[5], -1.0f, "wrote past the array");
    for (int i = 0; i < 8; i++)
        out[i] = -1.0f;
    n = 0;
    cr_assert_eq(fstore_row_array_float(t, r, C_AF, out, 3, &n),
                 FSTORE_ERR_RANGE);
    cr_assert_eq(n, 5, "count not set on RANGE");
    cr_assert_eq(out[0], 0.5f);
    cr_assert_eq(out[2], 2.5f, "first cap elements not written");
    cr_assert_eq(out[3], -1.0f, "wrote past cap");
    cr_assert_eq(fstore_row_array_float(t, r, C_AI, out, 8, &n), FSTORE_OK);
    cr_assert_eq(n, 3);
    cr_assert_eq(out[2], 200.0f);
    cr_assert_eq(fstore_row_array_float(t, r, C_AL, out, 8, &n), FSTORE_OK);
    cr_assert_eq(n, 1);
    cr_assert_eq(out[0], (float)(1LL << 33));
    cr_assert_eq(fstore_row_array_float(t, r, C_AD, out, 8, &n), FSTORE_OK);
    cr_assert_eq(n, 2);
    cr_assert_eq(out[1], -1.0f);
    /* Zero-copy array: 8-byte longs, possibly unaligned. */
    const void *vp;
    cr_assert_eq(fstore_row_array(t, r, C_AL, &vp, &n), FSTORE_OK);
    int64_t l0;
    memcpy(&l0, vp, 8);
    cr_assert_eq(l0, 1LL << 33);
}

Test(reader, accessor_nulls)
{
    const fstore_row_t *r = NULL;
    const fstore_table_t *t = acc_table(&r);
    for (int c = C_NI; c <= C_NB; c++)
        cr_assert_eq(fstore_row_is_null(t, r, c), 1, "%s",
                     fstore_table_column_name(t, c));
    for (int c = 0; c < C_NI; c++)
        cr_assert_eq(fstore_row_is_null(t, r, c), 0, "%s",
                     fstore_table_column_name(t, c));
    int32_t iv = 42;
    cr_assert_eq(fstore_row_int(t, r, C_NI, &iv), FSTORE_NULL);
    cr_assert_eq(iv, 42, "out written for null");
    int64_t lv = 42;
    cr_assert_eq(fstore_row_long(t, r, C_NI, &lv), FSTORE_NULL);
    cr_assert_eq(lv, 42);
    double dv = 42;
    cr_assert_eq(fstore_row_double(t, r, C_ND, &dv), FSTORE_NULL);
    cr_assert_eq(dv, 42);
    cr_assert_eq(fstore_row_double(t, r, C_NI, &dv), FSTORE_NULL);
    int bv = 42;
    cr_assert_eq(fstore_row_bool(t, r, C_NB, &bv), FSTORE_NULL);
    cr_assert_eq(bv, 42);
    const char *p = "untouched";
    size_t n = 42;
    cr_assert_eq(fstore_row_bytes(t, r, C_NS, &p, &n), FSTORE_NULL);
    cr_assert_str_eq(p, "untouched");
    cr_assert_eq(n, 42);
    const void *vp = p;
    cr_assert_eq(fstore_row_array(t, r, C_NAF, &vp, &n), FSTORE_NULL);
    cr_assert_eq(vp, (const void *)p);
    float out[2] = {7, 7};
    cr_assert_eq(fstore_row_array_float(t, r, C_NAF, out, 2, &n), FSTORE_NULL);
    cr_assert_eq(out[0], 7.0f);
}

Test(reader, accessor_bad_column)
{
    const fstore_row_t *r = NULL;
    const fstore_table_t *t = acc_table(&r);
    static const int bad[] = {-1, C_COUNT, C_COUNT + 1, 1 << 30, -1000};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_eq(fstore_row_is_null(t, r, bad[i]), -1);
        for (int a = 0; a < A_COUNT; a++)
            cr_assert_eq(call(a, t, r, bad[i]), FSTORE_ERR_NO_COLUMN,
                         "fstore_row_%s(col %d)", acc_names[a], bad[i]);
    }
}

/* ---- long keys --------------------------------------------------------------
 */

static char *make_key(size_t len, char tail, size_t tail_pos)
{
    char *k = malloc(len);
    for (size_t i = 0; i < len; i++)
        k[i] = i < 470 ? 'p' : (char)('a' + (i * 7) % 26);
    if (tail_pos < len)
        k[tail_pos] = tail;
    return k;
}

Test(reader, long_keys)
{
    const fstore_table_t *t = tu_simple_table(store, "t");
    static const size_t lens[] = {1,   479,  480,  481,   511,
                                  512, 1000, 4096, 100000};
    enum { NL = sizeof lens / sizeof lens[0], NV = 4 };
    /* Per length: the base key, one differing in its last byte, one
     * differing just after the shared 470-byte prefix, one at byte 500. */
    char *keys[NL][NV];
    size_t klen[NL][NV];
    int nkeys = 0;
    fstore_batch_t *b = tu_begin(store);
    for (size_t i = 0; i < NL; i++) {
        size_t L = lens[i];
        for (int v = 0; v < NV; v++) {
            size_t pos = v == 0 ? L : v == 1 ? L - 1 : v == 2 ? 470 : 500;
            keys[i][v] = make_key(L, v == 0 ? 0 : (char)('A' + v), pos);
            klen[i][v] = L;
            if (v > 0 && pos >= L) {
                klen[i][v] = 0; /* variant does not exist at this length */
                continue;
            }
            tu_buf_t val = tu_simple_value((int64_t)(i * NV + (size_t)v), 3);
            char err[256] = "";
            fstore_err_t rc =
                fstore_batch_put(b, t, keys[i][v], L, val.data, val.len, 0,
                                 nkeys, 0, err, sizeof err);
            cr_assert_eq(rc, FSTORE_OK, "put key of %zu bytes: %s (%s)", L,
                         fstore_err_name(rc), err);
            tu_buf_free(&val);
            nkeys++;
        }
    }
    tu_commit(b);
    cr_assert_eq(fstore_reader_refresh(rd), FSTORE_OK);
    uint64_t count = 0;
    cr_assert_eq(fstore_reader_row_count(rd, t, &count), FSTORE_OK);
    cr_assert_eq(count, (uint64_t)nkeys, "long keys collided");
    for (size_t i = 0; i < NL; i++)
        for (int v = 0; v < NV; v++) {
            if (klen[i][v] == 0)
                continue;
            const fstore_row_t *row = NULL;
            fstore_err_t rc = fstore_get(rd, t, keys[i][v], klen[i][v], &row);
            cr_assert_eq(rc, FSTORE_OK, "get %zu-byte key variant %d: %s",
                         lens[i], v, fstore_err_name(rc));
            int64_t n = -1;
            cr_assert_eq(tu_simple_check_try(t, row, &n), 0);
            cr_assert_eq(n, (int64_t)(i * NV + (size_t)v),
                         "%zu-byte key variant %d read another key's row",
                         lens[i], v);
        }
    /* Keys never put: a shorter prefix, a longer extension, another tail. */
    char *ext = malloc(1001);
    memcpy(ext, keys[6][0], 1000);
    ext[1000] = 'z';
    const fstore_row_t *row = NULL;
    cr_assert_eq(fstore_get(rd, t, ext, 1001, &row), FSTORE_NOT_FOUND);
    cr_assert_eq(fstore_get(rd, t, keys[6][0], 999, &row), FSTORE_NOT_FOUND);
    ext[999] = '#';
    cr_assert_eq(fstore_get(rd, t, ext, 1000, &row), FSTORE_NOT_FOUND);
    ext[999] = keys[6][0][999];
    ext[600] = '#';
    cr_assert_eq(fstore_get(rd, t, ext, 1000, &row), FSTORE_NOT_FOUND);
    free(ext);

    /* Batch lookups of long keys. */
    const void *bk[3] = {keys[8][1], keys[6][2], keys[3][0]};
    size_t bl[3] = {100000, 1000, 481};
    int cols[1] = {1}; /* l */
    float out[3];
    uint8_t found[3];
    cr_assert_eq(fstore_get_batch(rd, t, 3, bk, bl, cols, 1, out, 1, found),
                 FSTORE_OK);
    cr_assert_eq(found[0], 1);
    cr_assert_eq(out[0], (float)(8 * NV + 1));
    cr_assert_eq(out[1], (float)(6 * NV + 2));
    cr_assert_eq(out[2], (float)(3 * NV + 0));

    /* Deleting one long key leaves its siblings. */
    b = tu_begin(store);
    cr_assert_eq(
        fstore_batch_put(b, t, keys[6][1], 1000, NULL, 0, 0, 9999, 0, NULL, 0),
        FSTORE_OK);
    tu_commit(b);
    cr_assert_eq(fstore_reader_refresh(rd), FSTORE_OK);
    cr_assert_eq(fstore_get(rd, t, keys[6][1], 1000, &row), FSTORE_NOT_FOUND);
    cr_assert_eq(fstore_get(rd, t, keys[6][0], 1000, &row), FSTORE_OK);
    cr_assert_eq(fstore_get(rd, t, keys[6][2], 1000, &row), FSTORE_OK);
    cr_assert_eq(fstore_get(rd, t, keys[6][3], 1000, &row), FSTORE_OK);
    cr_assert_eq(fstore_reader_row_count(rd, t, &count), FSTORE_OK);
    cr_assert_eq(count, (uint64_t)nkeys - 1);
    for (size_t i = 0; i < NL; i++)
        for (int v = 0; v < NV; v++)
            free(keys[i][v]);
}

Test(reader, binary_keys)
{
    const fstore_table_t *t = tu_simple_table(store, "t");
    static const char k1[] = {'a', 0, 'b'}, k2[] = {'a', 0, 'c'},
                      k3[] = {'a', 0}, k4[] = {(char)0xff, (char)0xfe};
    const char *keys[] = {k1, k2, k3, k4, "a"};
    size_t lens[] = {3, 3, 2, 2, 1};
    fstore_batch_t *b = tu_begin(store);
    for (int i = 0; i < 5; i++) {
        tu_buf_t v = tu_simple_value(i, 1);
        cr_assert_eq(fstore_batch_put(b, t, keys[i], lens[i], v.data, v.len, 0,
                                      i, 0, NULL, 0),
                     FSTORE_OK);
        tu_buf_free(&v);
    }
    tu_commit(b);
    cr_assert_eq(fstore_reader_refresh(rd), FSTORE_OK);
    for (int i = 0; i < 5; i++) {
        const fstore_row_t *row = NULL;
        cr_assert_eq(fstore_get(rd, t, keys[i], lens[i], &row), FSTORE_OK);
        int64_t n = -1;
        cr_assert_eq(tu_simple_check_try(t, row, &n), 0);
        cr_assert_eq(n, i, "key %d read row %" PRId64, i, n);
    }
}

/* ---- readers in other threads and processes ---------------------------- */

#define CON_ROWS 100
#define CON_BATCHES 150

static void con_key(char *key, size_t size, int i)
{
    snprintf(key, size, "row-%03d", i);
}

/* Rewrites every row with n = @p batch; array length varies per batch.
 * Every row of a batch has the same value: encode it once. */
static void con_commit(const fstore_table_t *t, int batch)
{
    tu_buf_t v = tu_simple_value(batch, (size_t)(1 + (batch * 7) % 40));
    fstore_batch_t *b = tu_begin(store);
    for (int i = 0; i < CON_ROWS; i++) {
        char key[16];
        con_key(key, sizeof key, i);
        tu_batch_put(b, t, key, &v, 0, (int64_t)batch * CON_ROWS + i, batch);
    }
    tu_commit(b);
    tu_buf_free(&v);
}

/*
 * Reads every row of one snapshot. @return 0 and *batch when all rows are
 * whole and from one batch (and the stored offset agrees), else a code.
 */
static int con_scan(fstore_reader_t *r, const fstore_table_t *t, int *batch)
{
    int64_t first = -1;
    for (int i = 0; i < CON_ROWS; i++) {
        char key[16];
        con_key(key, sizeof key, i);
        const fstore_row_t *row = NULL;
        if (fstore_get(r, t, key, strlen(key), &row) != FSTORE_OK)
            return 40;
        int64_t n = -1;
        int bad = tu_simple_check_try(t, row, &n);
        if (bad != 0)
            return 10 + bad; /* a torn row: 11..20 */
        if (i == 0)
            first = n;
        else if (n != first)
            return 41; /* rows of two batches in one snapshot */
        if (fstore_row_offset(row) != n * CON_ROWS + i)
            return 42;
    }
    int64_t off = -1;
    if (fstore_reader_offset(r, t, 0, &off) != FSTORE_OK ||
        off != first * CON_ROWS + CON_ROWS - 1)
        return 43; /* the offset disagrees with the rows */
    *batch = (int)first;
    return 0;
}

static int con_child(const char *path, int done_fd)
{
    fstore_conf_t *c = fstore_conf_new();
    fstore_conf_set(c, "store.read_only", "true", NULL, 0);
    fstore_store_t *s = NULL;
    fstore_err_t rc = fstore_store_open(path, c, &s, NULL, 0);
    fstore_conf_destroy(c);
    if (rc != FSTORE_OK)
        return 1;
    const fstore_table_t *t = NULL;
    if (fstore_table_open(s, "t", &t) != FSTORE_OK)
        return 2;
    fstore_reader_t *r = NULL;
    if (fstore_reader_new(s, &r) != FSTORE_OK)
        return 3;
    int last = -1, scans = 0;
    for (;;) {
        char byte;
        ssize_t got = read(done_fd, &byte, 1);
        int done = got == 1 || got == 0; /* a byte, or the parent is gone */
        if (fstore_reader_refresh(r) != FSTORE_OK)
            return 4;
        int batch = -1;
        int bad = con_scan(r, t, &batch);
        if (bad != 0)
            return bad;
        if (batch < last)
            return 44; /* went back in time */
        last = batch;
        scans++;
        if (done) {
            if (batch != CON_BATCHES)
                return 45; /* the last commit is not visible */
            break;
        }
    }
    fstore_reader_destroy(r);
    fstore_store_close(s);
    return scans > 0 ? 0 : 46;
}

Test(reader, forked_reader_sees_whole_rows, .timeout = 300)
{
    const fstore_table_t *t = tu_simple_table(store, "t");
    con_commit(t, 0);
    int done[2];
    cr_assert_eq(pipe(done), 0);
    cr_assert_eq(fcntl(done[0], F_SETFL, O_NONBLOCK), 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(done[1]);
        _exit(con_child(dir, done[0]));
    }
    close(done[0]);
    for (int batch = 1; batch <= CON_BATCHES; batch++)
        con_commit(t, batch);
    char byte = 1;
    cr_assert_eq(write(done[1], &byte, 1), 1);
    close(done[1]);
    int st = wait_child(pid);
    cr_assert_eq(st, 0,
                 "child reader failed with %d (11-20 torn row, 41 mixed "
                 "batches, 42/43 offsets, 44 went back, 45 missed the last "
                 "commit, 100+ signal)",
                 st);
}

struct con_thread {
    const fstore_table_t *t;
    atomic_int *done;
    int result;
    int scans;
};

static void *con_thread_main(void *arg)
{
    struct con_thread *ct = arg;
    fstore_reader_t *r = NULL;
    if (fstore_reader_new(store, &r) != FSTORE_OK) {
        ct->result = 3;
        return NULL;
    }
    int last = -1;
    for (;;) {
        int done = atomic_load(ct->done);
        if (fstore_reader_refresh(r) != FSTORE_OK) {
            ct->result = 4;
            break;
        }
        int batch = -1;
        int bad = con_scan(r, ct->t, &batch);
        if (bad == 0 && batch < last)
            bad = 44;
        if (bad == 0 && done && batch != CON_BATCHES)
            bad = 45;
        if (bad != 0) {
            ct->result = bad;
            break;
        }
        last = batch;
        ct->scans++;
        if (done)
            break;
    }
    fstore_reader_destroy(r);
    return NULL;
}

Test(reader, reader_threads_see_whole_rows, .timeout = 300)
{
    const fstore_table_t *t = tu_simple_table(store, "t");
    con_commit(t, 0);
    atomic_int done = 0;
    struct con_thread ct[2];
    pthread_t th[2];
    for (int i = 0; i < 2; i++) {
        ct[i] = (struct con_thread){t, &done, 0, 0};
        cr_assert_eq(pthread_create(&th[i], NULL, con_thread_main, &ct[i]), 0);
    }
    for (int batch = 1; batch <= CON_BATCHES; batch++)
        con_commit(t, batch);
    atomic_store(&done, 1);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        cr_assert_eq(ct[i].result, 0, "thread %d failed with %d", i,
                     ct[i].result);
        cr_assert_gt(ct[i].scans, 0);
    }
}

/* ---- batch matrix
 * -------------------------------------------------------------- */

#define MAT_FIELDS                                                             \
    "{\"name\":\"b\",\"type\":\"boolean\"},"                                   \
    "{\"name\":\"i\",\"type\":\"int\"},"                                       \
    "{\"name\":\"l\",\"type\":\"long\"},"                                      \
    "{\"name\":\"f\",\"type\":\"float\"},"                                     \
    "{\"name\":\"d\",\"type\":\"double\"},"                                    \
    "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\",\"symbols\":"  \
    "[\"A\",\"B\",\"C\"]}},"                                                   \
    "{\"name\":\"s\",\"type\":\"string\"},"                                    \
    "{\"name\":\"ni\",\"type\":[\"null\",\"int\"]},"                           \
    "{\"name\":\"nd\",\"type\":[\"double\",\"null\"]},"                        \
    "{\"name\":\"af\",\"type\":{\"type\":\"array\",\"items\":\"float\"}},"     \
    "{\"name\":\"by\",\"type\":\"bytes\"},"                                    \
    "{\"name\":\"fx\",\"type\":{\"type\":\"fixed\",\"name\":\"F\","            \
    "\"size\":2}},"                                                            \
    "{\"name\":\"ts\",\"type\":{\"type\":\"long\",\"logicalType\":"            \
    "\"timestamp-millis\"}}"
enum {
    MC_B,
    MC_I,
    MC_L,
    MC_F,
    MC_D,
    MC_E,
    MC_S,
    MC_NI,
    MC_ND,
    MC_AF,
    MC_BY,
    MC_FX,
    MC_TS
};
#define MAT_ID 4
#define MAT_KEYS 10

/* Key k<i>: b=i&1, i=-i, l=i<<32, f=i/4, d=i*1.5, e=i%3, ni null for even
 * i else 10*i, nd null for i%3==0 else -i, ts = 1000*i. */
static const fstore_table_t *mat_table(void)
{
    char *s = tu_record_schema(MAT_FIELDS);
    tu_register(store, MAT_ID, s);
    const fstore_table_t *t = tu_table(store, "m", s);
    tu_rec_t w;
    tu_rec_init(&w, s);
    fstore_batch_t *b = tu_begin(store);
    for (int i = 0; i < MAT_KEYS; i++) {
        avro_value_reset(&w.value);
        avro_value_t f = tu_field(&w, "b"), br;
        avro_value_set_boolean(&f, i & 1);
        f = tu_field(&w, "i");
        avro_value_set_int(&f, -i);
        f = tu_field(&w, "l");
        avro_value_set_long(&f, (int64_t)i << 32);
        f = tu_field(&w, "f");
        avro_value_set_float(&f, (float)i / 4);
        f = tu_field(&w, "d");
        avro_value_set_double(&f, i * 1.5);
        f = tu_field(&w, "e");
        avro_value_set_enum(&f, i % 3);
        f = tu_field(&w, "s");
        avro_value_set_string(&f, "s");
        f = tu_field(&w, "ni");
        if (i % 2 == 0) {
            tu_set_null(&f);
        } else {
            br = tu_nonnull(&f);
            avro_value_set_int(&br, 10 * i);
        }
        f = tu_field(&w, "nd");
        if (i % 3 == 0) {
            tu_set_null(&f);
        } else {
            br = tu_nonnull(&f);
            avro_value_set_double(&br, -i);
        }
        f = tu_field(&w, "by");
        avro_value_set_bytes(&f, (void *)(uintptr_t) "x", 1);
        f = tu_field(&w, "fx");
        avro_value_set_fixed(&f, (void *)(uintptr_t) "xy", 2);
        f = tu_field(&w, "ts");
        avro_value_set_long(&f, 1000LL * i);
        tu_buf_t v = tu_encode_framed(&w, MAT_ID);
        char key[8];
        snprintf(key, sizeof key, "k%d", i);
        tu_batch_put(b, t, key, &v, 0, i, 0);
        tu_buf_free(&v);
    }
    tu_commit(b);
    tu_rec_free(&w);
    free(s);
    cr_assert_eq(fstore_reader_refresh(rd), FSTORE_OK);
    return t;
}

static float mat_expect(int key, int c)
{
    switch (c) {
    case MC_B: return (float)(key & 1);
    case MC_I: return (float)-key;
    case MC_L: return (float)((int64_t)key << 32);
    case MC_F: return (float)key / 4;
    case MC_D: return (float)(key * 1.5);
    case MC_E: return (float)(key % 3);
    case MC_NI: return key % 2 == 0 ? NAN : (float)(10 * key);
    case MC_ND: return key % 3 == 0 ? NAN : (float)-key;
    case MC_TS: return (float)(1000LL * key);
    default: return -999;
    }
}

static int same(float a, float b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

#define SENTINEL -12345.5f

Test(reader, batch_matrix)
{
    const fstore_table_t *t = mat_table();
    /* Missing keys interleaved, a repeated key, caller column order. */
    static const char *const qk[] = {"k3", "missing", "k0", "k9",
                                     "k3", "nope",    "k4", "k7"};
    static const int qi[] = {3, -1, 0, 9, 3, -1, 4, 7};
    enum { NK = 8, NC = 9, STRIDE = NC + 3 };
    static const int cols[NC] = {MC_ND, MC_B, MC_TS, MC_E, MC_NI,
                                 MC_I,  MC_L, MC_F,  MC_D};
    const void *keys[NK];
    size_t lens[NK];
    for (int k = 0; k < NK; k++) {
        keys[k] = qk[k];
        lens[k] = strlen(qk[k]);
    }
    float out[NK * STRIDE];
    for (int i = 0; i < NK * STRIDE; i++)
        out[i] = SENTINEL;
    uint8_t found[NK];
    memset(found, 7, sizeof found);
    fstore_err_t rc =
        fstore_get_batch(rd, t, NK, keys, lens, cols, NC, out, STRIDE, found);
    cr_assert_eq(rc, FSTORE_OK, "%s (%s)", fstore_err_name(rc),
                 fstore_reader_errmsg(rd));
    for (int k = 0; k < NK; k++) {
        cr_assert_eq(found[k], qi[k] >= 0 ? 1 : 0, "found[%d]", k);
        for (int c = 0; c < NC; c++) {
            float got = out[k * STRIDE + c];
            float want = qi[k] >= 0 ? mat_expect(qi[k], cols[c]) : NAN;
            cr_assert(same(got, want), "key %s column %s: %g, want %g", qk[k],
                      fstore_table_column_name(t, cols[c]), (double)got,
                      (double)want);
        }
        for (int p = NC; p < STRIDE; p++)
            cr_assert_eq(out[k * STRIDE + p], SENTINEL,
                         "padding of row %d overwritten", k);
    }
}

Test(reader, batch_matrix_dense_no_found_mask)
{
    const fstore_table_t *t = mat_table();
    const void *keys[MAT_KEYS];
    size_t lens[MAT_KEYS];
    char names[MAT_KEYS][8];
    for (int k = 0; k < MAT_KEYS; k++) {
        snprintf(names[k], sizeof names[k], "k%d", MAT_KEYS - 1 - k);
        keys[k] = names[k];
        lens[k] = strlen(names[k]);
    }
    int cols[2] = {MC_E, MC_E}; /* a column twice */
    float out[MAT_KEYS * 2 + 1];
    out[MAT_KEYS * 2] = SENTINEL;
    cr_assert_eq(
        fstore_get_batch(rd, t, MAT_KEYS, keys, lens, cols, 2, out, 2, NULL),
        FSTORE_OK);
    for (int k = 0; k < MAT_KEYS; k++) {
        cr_assert_eq(out[2 * k], (float)((MAT_KEYS - 1 - k) % 3));
        cr_assert_eq(out[2 * k + 1], out[2 * k]);
    }
    cr_assert_eq(out[MAT_KEYS * 2], SENTINEL, "wrote past the matrix");
    /* Zero keys is fine and writes nothing. */
    cr_assert_eq(fstore_get_batch(rd, t, 0, keys, lens, cols, 2, out, 2, NULL),
                 FSTORE_OK);
}

Test(reader, batch_matrix_refuses_non_numeric)
{
    const fstore_table_t *t = mat_table();
    const void *keys[1] = {"k1"};
    size_t lens[1] = {2};
    float out[4];
    uint8_t found[1];
    static const int bad_type[] = {MC_S, MC_AF, MC_BY, MC_FX};
    for (size_t i = 0; i < 4; i++) {
        int cols[2] = {MC_I, bad_type[i]};
        cr_assert_eq(
            fstore_get_batch(rd, t, 1, keys, lens, cols, 2, out, 2, found),
            FSTORE_ERR_TYPE, "column %s accepted",
            fstore_table_column_name(t, bad_type[i]));
    }
    static const int bad_col[] = {-1, 13, 1000};
    for (size_t i = 0; i < 3; i++) {
        int cols[2] = {bad_col[i], MC_I};
        cr_assert_eq(
            fstore_get_batch(rd, t, 1, keys, lens, cols, 2, out, 2, found),
            FSTORE_ERR_NO_COLUMN, "column %d accepted", bad_col[i]);
    }
    /* A stride below the column count is unusable. */
    int cols[2] = {MC_I, MC_L};
    cr_assert_eq(fstore_get_batch(rd, t, 1, keys, lens, cols, 2, out, 1, found),
                 FSTORE_ERR_INVALID_ARG);
    cr_assert_eq(
        fstore_get_batch(rd, t, 1, keys, lens, cols, 2, NULL, 2, found),
        FSTORE_ERR_INVALID_ARG);
}

Test(reader, batch_matrix_sees_snapshot)
{
    /* get_batch reads the reader's snapshot like get does. */
    const fstore_table_t *t = mat_table();
    const void *keys[1] = {"k5"};
    size_t lens[1] = {2};
    int cols[1] = {MC_I};
    float out[1];
    uint8_t found[1];
    cr_assert_eq(fstore_get_batch(rd, t, 1, keys, lens, cols, 1, out, 1, found),
                 FSTORE_OK);
    cr_assert_eq(out[0], -5.0f);
    fstore_batch_t *b = tu_begin(store);
    tu_batch_put(b, t, "k5", NULL, 0, 100, 0);
    tu_commit(b);
    cr_assert_eq(fstore_get_batch(rd, t, 1, keys, lens, cols, 1, out, 1, found),
                 FSTORE_OK);
    cr_assert_eq(found[0], 1, "unrefreshed reader lost a row");
    cr_assert_eq(fstore_reader_refresh(rd), FSTORE_OK);
    cr_assert_eq(fstore_get_batch(rd, t, 1, keys, lens, cols, 1, out, 1, found),
                 FSTORE_OK);
    cr_assert_eq(found[0], 0);
    cr_assert(isnan(out[0]));
}

/* ---- more reader behaviour ------------------------------------------------
 */

Test(reader, tables_are_separate)
{
    const fstore_table_t *a = tu_simple_table(store, "a");
    const fstore_table_t *b = tu_table(store, "b", TU_SIMPLE_SCHEMA);
    put_simple(a, "only-in-a", 1, 0);
    cr_assert_eq(fstore_reader_refresh(rd), FSTORE_OK);
    const fstore_row_t *row = NULL;
    cr_assert_eq(fstore_get(rd, b, "only-in-a", 9, &row), FSTORE_NOT_FOUND);
    cr_assert_eq(fstore_get(rd, a, "only-in-a", 9, &row), FSTORE_OK);
}

Test(reader, readers_full)
{
    fstore_reader_destroy(rd);
    rd = NULL;
    fstore_store_close(store);
    char *d = tu_path(dir, "few");
    fstore_conf_t *c = tu_conf("store.max_readers", "2", NULL);
    store = tu_store_open(d, c);
    fstore_conf_destroy(c);
    free(d);
    const fstore_table_t *t = tu_simple_table(store, "t");
    put_simple(t, "k", 1, 0);
    fstore_reader_t *r[3];
    for (int i = 0; i < 3; i++)
        cr_assert_eq(fstore_reader_new(store, &r[i]), FSTORE_OK);
    const fstore_row_t *row = NULL;
    cr_assert_eq(fstore_get(r[0], t, "k", 1, &row), FSTORE_OK);
    cr_assert_eq(fstore_get(r[1], t, "k", 1, &row), FSTORE_OK);
    fstore_err_t rc = fstore_get(r[2], t, "k", 1, &row);
    cr_assert_eq(rc, FSTORE_ERR_READERS_FULL, "third snapshot: %s",
                 fstore_err_name(rc));
    cr_assert_gt(strlen(fstore_reader_errmsg(r[2])), 0);
    /* A destroyed reader gives its slot up. */
    fstore_reader_destroy(r[0]);
    r[0] = NULL;
    rc = fstore_get(r[2], t, "k", 1, &row);
    cr_assert_eq(rc, FSTORE_OK, "after a destroy: %s", fstore_err_name(rc));
    for (int i = 0; i < 3; i++)
        fstore_reader_destroy(r[i]);
}

/* Flips one byte of every occurrence of @p marker in @p path. @return the
 * number of occurrences. */
static int damage_file(const char *path, const char *marker)
{
    int fd = open(path, O_RDWR);
    cr_assert_geq(fd, 0);
    struct stat st;
    cr_assert_eq(fstat(fd, &st), 0);
    uint8_t *m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
                      MAP_SHARED, fd, 0);
    cr_assert_neq(m, MAP_FAILED);
    size_t ml = strlen(marker);
    int hits = 0;
    for (size_t i = 0; i + ml <= (size_t)st.st_size; i++)
        if (memcmp(m + i, marker, ml) == 0) {
            m[i + ml - 1] ^= 0x01;
            hits++;
        }
    munmap(m, (size_t)st.st_size);
    close(fd);
    return hits;
}

Test(reader, verify_detects_damaged_row)
{
    const fstore_table_t *t = tu_simple_table(store, "t");
    put_simple(t, "k", 987654321987LL, 0);
    put_simple(t, "other", 5, 1);
    fstore_reader_destroy(rd);
    rd = NULL;
    fstore_store_close(store);
    char *data = tu_path(dir, "data.mdb");
    cr_assert_gt(damage_file(data, "v987654321987"), 0, "marker not found");
    free(data);

    store = tu_store_open(dir, NULL);
    cr_assert_eq(fstore_reader_new(store, &rd), FSTORE_OK);
    cr_assert_eq(fstore_table_open(store, "t", &t), FSTORE_OK);
    const fstore_row_t *row = NULL;
    fstore_err_t rc = fstore_get(rd, t, "k", 1, &row);
    if (rc == FSTORE_OK)
        cr_assert_eq(fstore_row_verify(row), FSTORE_ERR_CORRUPT,
                     "a damaged row verifies");
    else
        cr_assert_eq(rc, FSTORE_ERR_CORRUPT, "%s", fstore_err_name(rc));
    /* The undamaged row still reads and verifies. */
    cr_assert_eq(value_of(rd, t, "other"), 5);
}

#define GROW_ALEN 16000
#define GROW_ROWS 300

static int grow_child(const char *path, int ready_fd, int go_fd)
{
    fstore_conf_t *c = fstore_conf_new();
    fstore_conf_set(c, "store.read_only", "true", NULL, 0);
    fstore_conf_set(c, "store.map_size", "1048576", NULL, 0);
    fstore_store_t *s = NULL;
    fstore_err_t rc = fstore_store_open(path, c, &s, NULL, 0);
    fstore_conf_destroy(c);
    if (rc != FSTORE_OK)
        return 1;
    const fstore_table_t *t = NULL;
    if (fstore_table_open(s, "t", &t) != FSTORE_OK)
        return 2;
    fstore_reader_t *r = NULL;
    const fstore_row_t *row = NULL;
    int64_t n = -1;
    if (fstore_reader_new(s, &r) != FSTORE_OK ||
        fstore_get(r, t, "small", 5, &row) != FSTORE_OK ||
        tu_simple_check_try(t, row, &n) != 0 || n != 1)
        return 3;
    char byte = 1;
    if (write(ready_fd, &byte, 1) != 1 || read(go_fd, &byte, 1) != 1)
        return 4;
    /* The old snapshot still reads while the writer has grown the map. */
    if (fstore_get(r, t, "small", 5, &row) != FSTORE_OK ||
        tu_simple_check_try(t, row, &n) != 0 || n != 1)
        return 5;
    if (fstore_reader_refresh(r) != FSTORE_OK)
        return 6;
    for (int i = 0; i < GROW_ROWS; i++) {
        char key[32];
        snprintf(key, sizeof key, "big-%d", i);
        if (fstore_get(r, t, key, strlen(key), &row) != FSTORE_OK)
            return 7;
        if (tu_simple_check_try(t, row, &n) != 0 || n != i)
            return 8;
    }
    fstore_reader_destroy(r);
    fstore_store_close(s);
    return 0;
}

Test(reader, forked_reader_survives_map_growth, .timeout = 300)
{
    char *d = tu_path(dir, "grow");
    fstore_conf_t *c = tu_conf("store.map_size", "1048576", NULL);
    fstore_store_t *w = tu_store_open(d, c);
    fstore_conf_destroy(c);
    const fstore_table_t *t = tu_simple_table(w, "t");
    fstore_batch_t *b = tu_begin(w);
    tu_simple_put(b, t, "small", 1, 2, 0, 0, 0);
    tu_commit(b);
    int ready[2], go[2];
    cr_assert_eq(pipe(ready), 0);
    cr_assert_eq(pipe(go), 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(ready[0]);
        close(go[1]);
        _exit(grow_child(d, ready[1], go[0]));
    }
    close(ready[1]);
    close(go[0]);
    char byte;
    cr_assert_eq(read(ready[0], &byte, 1), 1, "child failed before growth");
    for (int i = 0; i < GROW_ROWS; i += 50) {
        b = tu_begin(w);
        for (int j = i; j < i + 50; j++) {
            char key[32];
            snprintf(key, sizeof key, "big-%d", j);
            tu_simple_put(b, t, key, j, GROW_ALEN, 0, 1 + j, 0);
        }
        tu_commit(b);
    }
    cr_assert_eq(write(go[1], &byte, 1), 1);
    int st = wait_child(pid);
    cr_assert_eq(st, 0,
                 "reader process failed with %d (6: refresh after the map "
                 "grew, 7/8: rows past the old map, 100+: signal)",
                 st);
    close(ready[0]);
    close(go[1]);
    fstore_store_close(w);
    free(d);
}

/*
 * Map growth while another process reads. The writer (this process) starts
 * at a 1 MiB map and commits GROWR_BATCHES batches; each rewrites the
 * GROWR_KNOWN known keys with n = the batch number and adds GROWR_BIG rows
 * of 64 KB, so the map doubles several times (1 MiB to 64 MiB). Meanwhile a
 * forked read-only process runs GROWR_THREADS threads that never pause:
 * each refreshes its reader and checks a whole snapshot, over and over:
 * every known key found, whole, all from one batch g (offsets agree),
 * g never going back, the row count and the big rows of batch g exactly as
 * written, the next batch's first big row absent. Any error (a failed
 * refresh or lookup after the map grew), a wrong value or a crash fails
 * it. The writer commits the next batch only once every reading thread has
 * seen the previous one, so growth happens while they read at every size;
 * the child also reports how many map sizes it went through.
 */
#define GROWR_KNOWN 64
#define GROWR_ALEN 16000 /* 64 KB of floats per big row */
#define GROWR_BIG 40     /* big rows per batch: 2.5 MB */
#define GROWR_BATCHES 16 /* 40 MB in all */
#define GROWR_THREADS 2

enum {
    GR_OPEN = 1,    /* opening the store read-only */
    GR_TABLE = 2,   /* opening the table */
    GR_READER = 3,  /* fstore_reader_new */
    GR_REFRESH = 4, /* fstore_reader_refresh failed */
    GR_KNOWN = 5,   /* a known key not found (or another lookup error) */
    GR_TORN = 6,    /* a known row not whole */
    GR_MIXED = 7,   /* known rows of two batches in one snapshot */
    GR_OFFSET = 8,  /* row offset or stored offset disagrees */
    GR_BACK = 9,    /* a snapshot older than an earlier one */
    GR_COUNT = 10,  /* row count */
    GR_BIGROW = 11, /* a big row missing, not whole or wrong */
    GR_FUTURE = 12, /* a big row of a later batch present */
    GR_LAST = 13,   /* the final snapshot is not the last batch */
    GR_THREAD = 14, /* pthread_create */
    GR_SIZES = 15,  /* the child went through too few map sizes */
    GR_REPORT = 16, /* writing to the parent */
};

static void growr_known_key(char *key, size_t size, int i)
{
    snprintf(key, size, "known-%02d", i);
}

static void growr_big_key(char *key, size_t size, int j)
{
    snprintf(key, size, "grow-%05d", j);
}

typedef struct growr_shared {
    fstore_store_t *s;
    const fstore_table_t *t;
    atomic_int stop;
    atomic_int seen[GROWR_THREADS]; /* the batch each thread last saw */
} growr_shared;

typedef struct growr_thread {
    growr_shared *sh;
    int idx;
    int result;
    long scans;
} growr_thread;

/* Checks one snapshot; @return 0 and *g its batch, or a GR_ code. */
static int growr_scan(fstore_reader_t *r, const fstore_table_t *t, long scan,
                      int *g)
{
    int64_t first = -1;
    for (int i = 0; i < GROWR_KNOWN; i++) {
        char key[32];
        growr_known_key(key, sizeof key, i);
        const fstore_row_t *row = NULL;
        if (fstore_get(r, t, key, strlen(key), &row) != FSTORE_OK)
            return GR_KNOWN;
        int64_t n = -1;
        if (tu_simple_check_try(t, row, &n) != 0)
            return GR_TORN;
        if (i == 0)
            first = n;
        else if (n != first)
            return GR_MIXED;
        if (fstore_row_partition(row) != 0 ||
            fstore_row_offset(row) != n * GROWR_KNOWN + i)
            return GR_OFFSET;
    }
    int64_t off = -1;
    if (fstore_reader_offset(r, t, 0, &off) != FSTORE_OK ||
        off != first * GROWR_KNOWN + GROWR_KNOWN - 1)
        return GR_OFFSET;
    int b = (int)first;
    uint64_t rows = 0;
    if (fstore_reader_row_count(r, t, &rows) != FSTORE_OK ||
        rows != (uint64_t)(GROWR_KNOWN + b * GROWR_BIG))
        return GR_COUNT;
    /* The big rows of batch b, one older big row (a different one each
     * scan) and the first row of batch b + 1, which must be absent. */
    int nbig = b * GROWR_BIG;
    for (int k = 0; k <= GROWR_BIG + 1 && nbig > 0; k++) {
        int j = k < GROWR_BIG    ? nbig - GROWR_BIG + k
                : k == GROWR_BIG ? (int)(scan % nbig)
                                 : nbig;
        char key[32];
        growr_big_key(key, sizeof key, j);
        const fstore_row_t *row = NULL;
        fstore_err_t rc = fstore_get(r, t, key, strlen(key), &row);
        if (j == nbig) {
            if (rc != FSTORE_NOT_FOUND)
                return GR_FUTURE;
            continue;
        }
        int64_t n = -1;
        if (rc != FSTORE_OK || tu_simple_check_try(t, row, &n) != 0 || n != j ||
            fstore_row_partition(row) != 1 || fstore_row_offset(row) != j)
            return GR_BIGROW;
        const void *adata;
        size_t acount = 0;
        if (fstore_row_array(t, row, 7, &adata, &acount) != FSTORE_OK ||
            acount != GROWR_ALEN)
            return GR_BIGROW;
    }
    if (nbig == 0) {
        const fstore_row_t *row = NULL;
        if (fstore_get(r, t, "grow-00000", 10, &row) != FSTORE_NOT_FOUND)
            return GR_FUTURE;
    }
    *g = b;
    return 0;
}

static void *growr_thread_main(void *arg)
{
    growr_thread *th = arg;
    growr_shared *sh = th->sh;
    fstore_reader_t *r = NULL;
    if (fstore_reader_new(sh->s, &r) != FSTORE_OK) {
        th->result = GR_READER;
        return NULL;
    }
    int last = -1;
    for (;;) {
        int stop = atomic_load(&sh->stop);
        if (fstore_reader_refresh(r) != FSTORE_OK) {
            th->result = GR_REFRESH;
            break;
        }
        int g = -1;
        int bad = growr_scan(r, sh->t, th->scans, &g);
        th->scans++;
        if (bad) {
            th->result = bad;
            break;
        }
        if (g < last) {
            th->result = GR_BACK;
            break;
        }
        last = g;
        atomic_store(&sh->seen[th->idx], g);
        if (stop) {
            /* The writer had committed everything before saying stop. */
            if (g != GROWR_BATCHES)
                th->result = GR_LAST;
            break;
        }
    }
    fstore_reader_destroy(r);
    return NULL;
}

/* The map size the store of this process uses, from its statistics. */
static unsigned long long growr_map_size(fstore_store_t *s)
{
    char *json = NULL;
    if (fstore_stats_json(s, &json) != FSTORE_OK || !json)
        return 0;
    const char *p = strstr(json, "\"map_size\":");
    unsigned long long v = p ? strtoull(p + 11, NULL, 10) : 0;
    fstore_free(json);
    return v;
}

/* The reading process: reports on report_fd the batch every thread has
 * seen (one int per new batch); stops when done_fd yields a byte or EOF.
 * @return 0 or a GR_ code (the first failing thread's). */
static int growr_child(const char *path, int report_fd, int done_fd)
{
    fstore_conf_t *c = fstore_conf_new();
    fstore_conf_set(c, "store.read_only", "true", NULL, 0);
    fstore_conf_set(c, "store.map_size", "1048576", NULL, 0);
    growr_shared sh;
    memset(&sh, 0, sizeof sh);
    fstore_err_t rc = fstore_store_open(path, c, &sh.s, NULL, 0);
    fstore_conf_destroy(c);
    if (rc != FSTORE_OK)
        return GR_OPEN;
    if (fstore_table_open(sh.s, "t", &sh.t) != FSTORE_OK)
        return GR_TABLE;
    for (int i = 0; i < GROWR_THREADS; i++)
        atomic_init(&sh.seen[i], -1);
    atomic_init(&sh.stop, 0);
    growr_thread th[GROWR_THREADS];
    pthread_t tid[GROWR_THREADS];
    int started = 0, result = 0;
    for (int i = 0; i < GROWR_THREADS; i++) {
        th[i] = (growr_thread){.sh = &sh, .idx = i};
        if (pthread_create(&tid[i], NULL, growr_thread_main, &th[i]) != 0) {
            result = GR_THREAD;
            break;
        }
        started++;
    }
    int reported = -1, sizes = 0;
    unsigned long long last_size = 0;
    while (!result) {
        char byte;
        ssize_t got = read(done_fd, &byte, 1);
        if (got == 1 || got == 0)
            break;
        int min = GROWR_BATCHES + 1, failed = 0;
        for (int i = 0; i < started; i++) {
            int v = atomic_load(&sh.seen[i]);
            min = v < min ? v : min;
            failed |= th[i].result != 0 && v < GROWR_BATCHES;
        }
        if (failed)
            break; /* a thread stopped early: its code is below */
        if (min > reported) {
            unsigned long long size = growr_map_size(sh.s);
            if (size != last_size) {
                sizes++;
                last_size = size;
            }
            reported = min;
            if (write(report_fd, &min, sizeof min) != sizeof min)
                result = GR_REPORT;
        }
        usleep(500);
    }
    atomic_store(&sh.stop, 1);
    /* The code of a thread that failed by itself, rather than GR_LAST of
     * one that was stopped early because of it. */
    int last_code = 0;
    for (int i = 0; i < started; i++) {
        pthread_join(tid[i], NULL);
        if (th[i].result == GR_LAST)
            last_code = GR_LAST;
        else if (!result && th[i].result)
            result = th[i].result;
    }
    if (!result)
        result = last_code;
    unsigned long long size = growr_map_size(sh.s);
    if (size != last_size)
        sizes++;
    fstore_store_close(sh.s);
    /* 1 MiB to 64 MiB: the reader saw at least 4 of the sizes. */
    if (!result && sizes < 4)
        result = GR_SIZES;
    return result;
}

#define GROWR_CODES                                                            \
    "1-3 open, 4 refresh failed, 5 known key lookup failed, 6 torn row, 7 "    \
    "mixed batches, 8 offsets, 9 went back, 10 row count, 11 big row, 12 "     \
    "future row, 13 not the last batch, 14 thread, 15 fewer than 4 map sizes " \
    "seen, 16 pipe, 100+ signal"

Test(reader, forked_reader_reads_on_while_map_grows, .timeout = 300)
{
    char *d = tu_path(dir, "grow-reading");
    fstore_conf_t *c =
        tu_conf("store.map_size", "1048576", "store.sync", "none", NULL);
    fstore_store_t *w = tu_store_open(d, c);
    fstore_conf_destroy(c);
    const fstore_table_t *t = tu_simple_table(w, "t");
    fstore_batch_t *b = tu_begin(w);
    for (int i = 0; i < GROWR_KNOWN; i++) {
        char key[32];
        growr_known_key(key, sizeof key, i);
        tu_simple_put(b, t, key, 0, 1, 0, i, 0);
    }
    tu_commit(b);
    uint64_t start_size = 0;
    {
        char *json = NULL;
        cr_assert_eq(fstore_stats_json(w, &json), FSTORE_OK);
        const char *p = strstr(json, "\"map_size\":");
        cr_assert_not_null(p);
        start_size = strtoull(p + 11, NULL, 10);
        fstore_free(json);
    }
    int report[2], done[2];
    cr_assert_eq(pipe(report), 0);
    cr_assert_eq(pipe(done), 0);
    cr_assert_eq(fcntl(done[0], F_SETFL, O_NONBLOCK), 0);
    fflush(NULL);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(report[0]);
        close(done[1]);
        _exit(growr_child(d, report[1], done[0]));
    }
    close(report[1]);
    close(done[0]);
    int seen = -1, grown = 0;
    uint64_t size = start_size;
    for (int batch = 0; batch <= GROWR_BATCHES; batch++) {
        if (batch > 0) {
            /* Known keys first, the big rows after: the map grows in the
             * middle of a batch that rewrites rows the reader checks. */
            b = tu_begin(w);
            for (int i = 0; i < GROWR_KNOWN; i++) {
                char key[32];
                growr_known_key(key, sizeof key, i);
                tu_simple_put(b, t, key, batch, 1 + batch % 8, 0,
                              (int64_t)batch * GROWR_KNOWN + i, 0);
            }
            for (int j = (batch - 1) * GROWR_BIG; j < batch * GROWR_BIG; j++) {
                char key[32];
                growr_big_key(key, sizeof key, j);
                tu_simple_put(b, t, key, j, GROWR_ALEN, 1, j, 0);
            }
            tu_commit(b);
            char *json = NULL;
            cr_assert_eq(fstore_stats_json(w, &json), FSTORE_OK);
            uint64_t now =
                strtoull(strstr(json, "\"map_size\":") + 11, NULL, 10);
            fstore_free(json);
            grown += now != size;
            size = now;
        }
        /* Every reading thread sees this batch before the next one. */
        while (seen < batch) {
            ssize_t got = read(report[0], &seen, sizeof seen);
            if (got != sizeof seen) {
                int st = wait_child(pid);
                cr_assert_fail("the reading process stopped at batch %d "
                               "with status %d (" GROWR_CODES ")",
                               batch, st);
            }
        }
    }
    char byte = 1;
    cr_assert_eq(write(done[1], &byte, 1), 1);
    close(done[1]);
    int st = wait_child(pid);
    close(report[0]);
    cr_assert_eq(st, 0,
                 "the reading process failed with status %d (" GROWR_CODES ")",
                 st);
    /* 1 MiB to 64 MiB, in at least 4 of the batches (a batch may double
     * it twice). */
    cr_assert(grown >= 4 && size >= 32u << 20,
              "the map grew in %d batches only (%llu to %llu bytes)", grown,
              (unsigned long long)start_size, (unsigned long long)size);
    fstore_store_close(w);
    free(d);
}
