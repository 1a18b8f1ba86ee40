/*
 * Unit suite of decode plans and the plan cache (decode.h), called
 * directly through the library's internal headers: compiling a plan from a
 * writer schema against a serving layout, decoding through it, and caching
 * plans and the reasons a writer schema does not resolve.
 */
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "decode.h"

static const char serving[] =
    "{\"type\":\"record\",\"name\":\"u\",\"fields\":["
    "{\"name\":\"clicks\",\"type\":\"long\"},"
    "{\"name\":\"score\",\"type\":\"float\"}]}";

static fs_layout *layout(void)
{
    fs_layout *L = NULL;
    char err[256] = "";
    cr_assert_eq(fs_layout_new(serving, &L, err, sizeof err), FSTORE_OK, "%s", err);
    return L;
}

static fs_plan *plan(const fs_layout *L, const char *writer)
{
    fs_plan *p = NULL;
    char err[256] = "";
    cr_assert_eq(fs_plan_new(writer, L, &p, err, sizeof err), FSTORE_OK, "%s", err);
    cr_assert_not_null(p);
    return p;
}

Test(plans, decodes_into_the_serving_slots)
{
    fs_layout *L = layout();
    fs_plan *p = plan(L, serving);
    fs_buf row = {0};
    char err[256] = "";
    /* {clicks: 21, score: 0.5} */
    cr_assert_eq(fs_plan_decode(p, (const uint8_t *)"\x2a\x00\x00\x00\x3f", 5, &row,
                                err, sizeof err),
                 FSTORE_OK, "%s", err);
    cr_assert_eq((int64_t)fs_load_u64(row.data + FS_ROW_HDR + L->cols[0].slot), 21);
    float score;
    memcpy(&score, row.data + FS_ROW_HDR + L->cols[1].slot, sizeof score);
    cr_assert_float_eq(score, 0.5f, 1e-9);
    /* One byte short: an error, never a read past the end. */
    cr_assert_neq(fs_plan_decode(p, (const uint8_t *)"\x2a\x00\x00\x00", 4, &row,
                                 err, sizeof err),
                  FSTORE_OK);
    fs_buf_free(&row);
    fs_plan_free(p);
    fs_layout_free(L);
}

Test(plans, promotes_and_refuses_by_avros_rules)
{
    fs_layout *L = layout();
    /* int → long and an added field with no default in the writer. */
    fs_plan *p = plan(L, "{\"type\":\"record\",\"name\":\"u\",\"fields\":["
                         "{\"name\":\"clicks\",\"type\":\"int\"},"
                         "{\"name\":\"score\",\"type\":\"float\"},"
                         "{\"name\":\"extra\",\"type\":\"string\"}]}");
    fs_plan_free(p);
    fs_plan *q = NULL;
    char err[256] = "";
    cr_assert_eq(fs_plan_new("{\"type\":\"record\",\"name\":\"u\",\"fields\":["
                             "{\"name\":\"clicks\",\"type\":\"string\"},"
                             "{\"name\":\"score\",\"type\":\"float\"}]}",
                             L, &q, err, sizeof err),
                 FSTORE_ERR_RESOLVE);
    cr_assert_null(q);
    cr_assert_not_null(strstr(err, "clicks"), "the reason names the field: %s", err);
    cr_assert_eq(fs_plan_new("{not json", L, &q, err, sizeof err),
                 FSTORE_ERR_WRITER_SCHEMA);
    fs_layout_free(L);
}

Test(plans, cache_keeps_plans_and_reasons_by_key)
{
    fs_layout *L = layout();
    fs_plan_cache *c = fs_plan_cache_new();
    cr_assert_not_null(c);
    const fs_plan *got = (const fs_plan *)1;
    const char *why = "x";
    cr_assert_eq(fs_plan_cache_get(c, 7, &got, &why), 0);

    /* More keys than the first allocation holds, the extremes among them. */
    fs_plan *plans[10];
    int64_t keys[10] = {INT64_MIN, 0, 1, 2, 3, 4, 5, 6, INT32_MAX, -1};
    for (int i = 0; i < 10; i++) {
        plans[i] = plan(L, serving);
        cr_assert_eq(fs_plan_cache_put(c, keys[i], plans[i], NULL), 0);
    }
    char reason[32] = "field x: no such type";
    cr_assert_eq(fs_plan_cache_put(c, 99, NULL, reason), 0);
    reason[0] = 'X'; /* the cache keeps its own copy */

    for (int i = 0; i < 10; i++) {
        cr_assert_eq(fs_plan_cache_get(c, keys[i], &got, &why), 1);
        cr_assert_eq(got, plans[i]);
        cr_assert_null(why);
    }
    cr_assert_eq(fs_plan_cache_get(c, 99, &got, &why), 1);
    cr_assert_null(got);
    cr_assert_str_eq(why, "field x: no such type");
    cr_assert_eq(fs_plan_cache_get(c, 100, &got, &why), 0);
    fs_plan_cache_free(c); /* frees the plans: ASan reports a leak otherwise */
    fs_plan_cache_free(NULL);
    fs_layout_free(L);
}

/* fs_row_fits: the check restore applies to rows from outside the store. */
Test(plans, row_fits_only_its_own_layout)
{
    static const char with_string[] =
        "{\"type\":\"record\",\"name\":\"s\",\"fields\":["
        "{\"name\":\"clicks\",\"type\":\"long\"},"
        "{\"name\":\"name\",\"type\":\"string\"}]}";
    fs_layout *S = NULL, *L = layout();
    char err[256] = "";
    cr_assert_eq(fs_layout_new(with_string, &S, err, sizeof err), FSTORE_OK, "%s", err);
    fs_plan *p = plan(S, with_string);
    fs_buf row = {0};
    /* {clicks: 21, name: "abc"} */
    cr_assert_eq(fs_plan_decode(p, (const uint8_t *)"\x2a\x06" "abc", 5, &row, err,
                                sizeof err),
                 FSTORE_OK, "%s", err);
    fs_row_finish(&row, 0, 1, 0, 0, 0);
    cr_assert(fs_row_fits(S, row.data, row.len));
    cr_assert(!fs_row_fits(S, row.data, row.len - 1), "a cut row");
    /* The string's offset pointing past the body. */
    uint8_t *slot = row.data + FS_ROW_HDR + S->cols[1].slot;
    uint32_t off = fs_load_u32(slot);
    fs_store_u32(slot, off + 100);
    cr_assert(!fs_row_fits(S, row.data, row.len));
    fs_store_u32(slot, off);
    /* Its terminator overwritten. */
    row.data[FS_ROW_HDR + off + 3] = 'x';
    cr_assert(!fs_row_fits(S, row.data, row.len));
    row.data[FS_ROW_HDR + off + 3] = 0;
    cr_assert(fs_row_fits(S, row.data, row.len));
    /* The same bytes read as a row of a layout with a float where the
     * string's slot is: fits (slots inside the body), and a layout whose
     * fixed part is longer than the body does not. */
    cr_assert(fs_row_fits(L, row.data, row.len));
    fs_layout *Big = NULL;
    cr_assert_eq(fs_layout_new("{\"type\":\"record\",\"name\":\"b\",\"fields\":["
                               "{\"name\":\"a\",\"type\":\"long\"},"
                               "{\"name\":\"b\",\"type\":\"long\"},"
                               "{\"name\":\"c\",\"type\":\"long\"},"
                               "{\"name\":\"d\",\"type\":\"long\"},"
                               "{\"name\":\"e\",\"type\":\"long\"}]}",
                               &Big, err, sizeof err),
                 FSTORE_OK, "%s", err);
    cr_assert(!fs_row_fits(Big, row.data, row.len));
    fs_buf_free(&row);
    fs_plan_free(p);
    fs_layout_free(Big);
    fs_layout_free(S);
    fs_layout_free(L);
}
