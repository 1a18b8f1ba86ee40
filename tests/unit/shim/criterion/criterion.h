/*
 * A plain runner for the unit suites, with the part of Criterion's API they
 * use: Test, TestSuite (.init, .fini, .timeout), the cr_assert_* and
 * cr_expect_* macros and cr_skip_test.
 *
 * Criterion cannot start under ThreadSanitizer (its inheritable arena wants
 * address space TSan has reserved), so the TSan build compiles the same
 * test sources against this header instead (tests/CMakeLists.txt puts its
 * directory first on the include path) and links shim_main.c. Like
 * Criterion, it runs every test in a child process of its own, with its
 * suite's init and fini, under the test's (or suite's) timeout, and the
 * child's exit status, a signal, a timeout or a failed assertion fails the
 * test. The parent forks before it ever starts a thread.
 */
#ifndef FSTORE_TEST_SHIM_CRITERION_H
#define FSTORE_TEST_SHIM_CRITERION_H

#include <math.h>
#include <stddef.h>
#include <string.h>

struct crs_opts {
    int dummy_; /* lets a Test() without options initialize to zeroes */
    void (*init)(void);
    void (*fini)(void);
    double timeout; /* seconds; 0: the suite's, or none */
    int disabled;
    const char *description;
};

void crs_register_test(const char *suite, const char *name, void (*fn)(void),
                       const struct crs_opts *opts);
void crs_register_suite(const char *suite, const struct crs_opts *opts);
/* A failed assertion: reports and, when fatal, ends the test (fini runs). */
void crs_fail(int fatal, const char *file, int line, const char *expr,
              const char *fmt, ...) __attribute__((format(printf, 5, 6)));
_Noreturn void crs_skip(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

#define CRS_ID_(suite, name, what) crs_##suite##_##name##_##what

#define Test(suite, name, ...)                                                 \
    static void CRS_ID_(suite, name, fn)(void);                                \
    static const struct crs_opts CRS_ID_(suite, name, opts) = {                \
        .dummy_ = 0, __VA_ARGS__};                                             \
    __attribute__((constructor)) static void CRS_ID_(suite, name, reg)(void)  \
    {                                                                          \
        crs_register_test(#suite, #name, CRS_ID_(suite, name, fn),             \
                          &CRS_ID_(suite, name, opts));                        \
    }                                                                          \
    static void CRS_ID_(suite, name, fn)(void)

#define TestSuite(suite, ...)                                                  \
    static const struct crs_opts crs_suite_##suite##_opts = {.dummy_ = 0,      \
                                                             __VA_ARGS__};     \
    __attribute__((constructor)) static void crs_suite_##suite##_reg(void)    \
    {                                                                          \
        crs_register_suite(#suite, &crs_suite_##suite##_opts);                 \
    }                                                                          \
    extern int crs_suite_##suite##_unused_

/* " " __VA_ARGS__: the message is optional and, when given, starts with a
 * string literal, as Criterion requires. */
#define CRS_CHECK_(fatal, cond, expr, ...)                                     \
    do {                                                                       \
        if (!(cond))                                                           \
            crs_fail(fatal, __FILE__, __LINE__, expr, " " __VA_ARGS__);        \
    } while (0)

#define cr_assert(c, ...) CRS_CHECK_(1, (c), #c, __VA_ARGS__)
#define cr_assert_not(c, ...) CRS_CHECK_(1, !(c), "!(" #c ")", __VA_ARGS__)
#define cr_assert_fail(...) CRS_CHECK_(1, 0, "cr_assert_fail", __VA_ARGS__)
#define cr_assert_null(p, ...)                                                 \
    CRS_CHECK_(1, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_assert_not_null(p, ...)                                             \
    CRS_CHECK_(1, (p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_assert_eq(a, b, ...)                                                \
    CRS_CHECK_(1, (a) == (b), #a " == " #b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...)                                               \
    CRS_CHECK_(1, (a) != (b), #a " != " #b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...)                                                \
    CRS_CHECK_(1, (a) < (b), #a " < " #b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...)                                               \
    CRS_CHECK_(1, (a) <= (b), #a " <= " #b, __VA_ARGS__)
#define cr_assert_gt(a, b, ...)                                                \
    CRS_CHECK_(1, (a) > (b), #a " > " #b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...)                                               \
    CRS_CHECK_(1, (a) >= (b), #a " >= " #b, __VA_ARGS__)
#define cr_assert_float_eq(a, b, eps, ...)                                     \
    CRS_CHECK_(1, fabs((double)(a) - (double)(b)) <= (double)(eps),            \
               "|" #a " - " #b "| <= " #eps, __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...)                                            \
    CRS_CHECK_(1, strcmp((a), (b)) == 0, #a " equals " #b, __VA_ARGS__)
#define cr_assert_str_neq(a, b, ...)                                           \
    CRS_CHECK_(1, strcmp((a), (b)) != 0, #a " differs from " #b, __VA_ARGS__)
#define cr_assert_str_empty(s, ...)                                            \
    CRS_CHECK_(1, (s)[0] == '\0', #s " is empty", __VA_ARGS__)
#define cr_assert_arr_eq(a, b, n, ...)                                         \
    CRS_CHECK_(1, memcmp((a), (b), (n)) == 0, #a " equals " #b, __VA_ARGS__)

#define cr_expect(c, ...) CRS_CHECK_(0, (c), #c, __VA_ARGS__)
#define cr_expect_eq(a, b, ...)                                                \
    CRS_CHECK_(0, (a) == (b), #a " == " #b, __VA_ARGS__)
#define cr_expect_gt(a, b, ...)                                                \
    CRS_CHECK_(0, (a) > (b), #a " > " #b, __VA_ARGS__)

#define cr_skip_test(...) crs_skip(" " __VA_ARGS__)

#endif
