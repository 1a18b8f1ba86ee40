/* Unit suite of the support library the tools, benchmarks and tests share:
 * number grouping, Avro encoding, the line reader and the histogram. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "support/avro_enc.h"
#include "support/files.h"
#include "support/fmt.h"
#include "support/hist.h"
#include "support/lines.h"
#include "testutil.h"

/* ---- sup_grouped -------------------------------------------------------- */

static void expect_grouped(int64_t v, const char *want)
{
    char buf[SUP_GROUPED_MAX];
    cr_assert_str_eq(sup_grouped(v, buf, sizeof buf), want);
}

Test(fmt, zero_and_small)
{
    expect_grouped(0, "0");
    expect_grouped(7, "7");
    expect_grouped(999, "999");
    expect_grouped(1000, "1,000");
    expect_grouped(123456, "123,456");
    expect_grouped(1234567, "1,234,567");
}

Test(fmt, negative)
{
    expect_grouped(-1, "-1");
    expect_grouped(-999, "-999");
    expect_grouped(-1000, "-1,000");
    expect_grouped(-1234567, "-1,234,567");
}

Test(fmt, extremes)
{
    expect_grouped(INT64_MAX, "9,223,372,036,854,775,807");
    expect_grouped(INT64_MIN, "-9,223,372,036,854,775,808");
    expect_grouped(INT64_MIN + 1, "-9,223,372,036,854,775,807");
    char buf[SUP_GROUPED_MAX];
    cr_assert_eq(strlen(sup_grouped(INT64_MIN, buf, sizeof buf)),
                 SUP_GROUPED_MAX - 1);
}

Test(fmt, cut_to_the_buffer)
{
    char buf[6];
    cr_assert_str_eq(sup_grouped(1234567, buf, sizeof buf), "1,234");
    char one[1];
    cr_assert_str_eq(sup_grouped(-5, one, sizeof one), "");
}

/* ---- Avro encoding ------------------------------------------------------ */

Test(avro_enc, zigzag_mapping)
{
    cr_assert_eq(sup_zigzag(0), 0u);
    cr_assert_eq(sup_zigzag(-1), 1u);
    cr_assert_eq(sup_zigzag(1), 2u);
    cr_assert_eq(sup_zigzag(-2), 3u);
    cr_assert_eq(sup_zigzag(INT64_MAX), UINT64_MAX - 1);
    cr_assert_eq(sup_zigzag(INT64_MIN), UINT64_MAX);
}

static void expect_round_trip(int64_t v, size_t want_len)
{
    uint8_t buf[SUP_VARINT_MAX];
    size_t n = sup_put_long(buf, v);
    cr_assert_eq(n, want_len, "%lld took %zu bytes", (long long)v, n);
    int64_t back = 0;
    cr_assert_eq(sup_get_long(buf, n, &back), n);
    cr_assert_eq(back, v);
    cr_assert_eq(sup_unzigzag(sup_zigzag(v)), v);
    cr_assert_eq(sup_get_long(buf, n - 1, &back), 0u, "a cut varint");
}

Test(avro_enc, round_trips_at_the_extremes)
{
    expect_round_trip(0, 1);
    expect_round_trip(-1, 1);
    expect_round_trip(63, 1);
    expect_round_trip(-64, 1);
    expect_round_trip(64, 2);
    expect_round_trip(INT32_MAX, 5);
    expect_round_trip(INT32_MIN, 5);
    expect_round_trip(INT64_MAX, SUP_VARINT_MAX);
    expect_round_trip(INT64_MIN, SUP_VARINT_MAX);
    expect_round_trip(INT64_MIN + 1, SUP_VARINT_MAX);
}

Test(avro_enc, known_bytes)
{
    uint8_t buf[32];
    cr_assert_eq(sup_put_long(buf, 150), 2u); /* zig-zag 300 */
    cr_assert_eq(buf[0], 0xac);
    cr_assert_eq(buf[1], 0x02);
    cr_assert_eq(sup_put_double(buf, 1.0), 8u);
    static const uint8_t one[8] = {0, 0, 0, 0, 0, 0, 0xf0, 0x3f};
    cr_assert_arr_eq(buf, one, 8);
    cr_assert_eq(sup_put_float(buf, 1.0f), 4u);
    static const uint8_t onef[4] = {0, 0, 0x80, 0x3f};
    cr_assert_arr_eq(buf, onef, 4);
    cr_assert_eq(sup_put_bytes(buf, "abc", 3), 4u);
    cr_assert_arr_eq(buf,
                     "\x06"
                     "abc",
                     4);
    cr_assert_eq(sup_put_bytes(buf, NULL, 0), 1u);
    cr_assert_eq(buf[0], 0);
}

Test(avro_enc, overlong_varint_refused)
{
    uint8_t buf[SUP_VARINT_MAX + 1];
    memset(buf, 0x80, sizeof buf);
    buf[SUP_VARINT_MAX] = 0;
    int64_t v;
    cr_assert_eq(sup_get_long(buf, sizeof buf, &v), 0u);
}

/* ---- the line reader ---------------------------------------------------- */

Test(lines, lf_crlf_and_a_last_line_without_end)
{
    char *dir = tu_tmpdir();
    char *path = tu_path(dir, "in.txt");
    static const char text[] = "a\nb\r\n\r\nmid\rdle\n\nlast";
    tu_write_file(path, text, sizeof text - 1);
    static const char *const want[] = {"a", "b", "", "mid\rdle", "", "last"};
    sup_lines in;
    cr_assert_eq(sup_lines_open(&in, path), 0);
    ssize_t n;
    size_t i = 0;
    while ((n = sup_lines_next(&in)) >= 0) {
        cr_assert_lt(i, sizeof want / sizeof *want);
        cr_assert_eq((size_t)n, strlen(want[i]));
        cr_assert_str_eq(in.line, want[i]);
        i++;
    }
    cr_assert_eq(i, sizeof want / sizeof *want);
    cr_assert_eq(sup_lines_failed(&in), 0);
    sup_lines_close(&in);
    tu_rmtree(dir);
    free(path);
    free(dir);
}

Test(lines, missing_file)
{
    sup_lines in;
    cr_assert_eq(sup_lines_open(&in, "/nonexistent/fstore/lines.txt"), -1);
}

/* ---- the histogram ------------------------------------------------------ */

Test(hist, bucket_bounds)
{
    for (unsigned i = 0; i < FS_HIST_N; i++) {
        uint64_t lo = fs_hist_bucket_low(i), hi = fs_hist_bucket_high(i);
        cr_assert_leq(lo, hi);
        cr_assert_eq(fs_hist_index(lo), i);
        cr_assert_eq(fs_hist_index(hi), i);
        if (i + 1 < FS_HIST_N)
            cr_assert_eq(hi + 1, fs_hist_bucket_low(i + 1));
    }
    cr_assert_eq(fs_hist_bucket_high(FS_HIST_N - 1), UINT64_MAX);
}

Test(hist, quantiles_mean_and_merge)
{
    static fs_hist a, b;
    for (uint64_t v = 1; v <= 100; v++)
        fs_hist_add(v <= 50 ? &a : &b, v * 1000);
    fs_hist_merge(&a, &b);
    cr_assert_eq(a.count, 100u);
    cr_assert_eq(a.max, 100000u);
    cr_assert_float_eq(fs_hist_mean(&a), 50500.0, 1e-9);
    /* Nearest rank: the 50th value is 50000, its bucket ends within 1/32. */
    uint64_t p50 = fs_hist_quantile_high(&a, 0.5);
    cr_assert_geq(p50, 50000u);
    cr_assert_leq(p50, 50000u + 50000u / 32);
    cr_assert_eq(fs_hist_quantile_high(&a, 1.0), 100000u);
    cr_assert_eq(fs_hist_quantile_high(&a, 0.0),
                 fs_hist_bucket_high(fs_hist_index(1000)));
    uint64_t mid = fs_hist_quantile(&a, 0.5);
    cr_assert_geq(mid, fs_hist_bucket_low(fs_hist_index(50000)));
    cr_assert_leq(mid, p50 + 50000u / 32);
    static const fs_hist empty;
    cr_assert_eq(fs_hist_quantile_high(&empty, 0.99), 0u);
    cr_assert_eq(fs_hist_quantile(&empty, 0.99), 0u);
    cr_assert_float_eq(fs_hist_mean(&empty), 0.0, 1e-12);
}

/* ---- files: removing a tree ---------------------------------------------- */

static void touch(const char *path)
{
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs("x", f);
    fclose(f);
}

Test(files, removes_a_tree_but_not_what_a_link_points_to)
{
    char *top = tu_tmpdir(), *keep = tu_tmpdir();
    char *tree = tu_path(top, "t"), *sub = tu_path(tree, "a"), *deep = tu_path(sub, "b");
    cr_assert_eq(mkdir(tree, 0700), 0);
    cr_assert_eq(mkdir(sub, 0700), 0);
    cr_assert_eq(mkdir(deep, 0700), 0);
    char *f1 = tu_path(deep, "f"), *f2 = tu_path(tree, "g"), *target = tu_path(keep, "kept");
    char *link = tu_path(sub, "link");
    touch(f1);
    touch(f2);
    touch(target);
    cr_assert_eq(symlink(keep, link), 0);
    cr_assert_eq(sup_rm_tree(tree), 0);
    struct stat st;
    cr_assert_neq(lstat(tree, &st), 0, "the tree is gone");
    cr_assert_eq(stat(target, &st), 0, "the link's target is left");
    cr_assert_eq(sup_rm_tree(tree), 0, "a missing tree is no error");
    tu_rmtree(top);
    tu_rmtree(keep);
    free(top), free(keep), free(tree), free(sub), free(deep);
    free(f1), free(f2), free(target), free(link);
}
