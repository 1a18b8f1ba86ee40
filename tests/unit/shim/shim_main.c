/*
 * The plain runner behind shim/criterion/criterion.h (see there for why).
 *
 * Usage: test_<suite> [--filter=SUITE/NAME-PREFIX] [other Criterion options,
 * ignored]. Runs every registered test in a forked child, in registration
 * order, and prints one line per test and a summary line in Criterion's
 * words; the exit status is 0 when every test passed (skips included) and
 * 1 otherwise. A test with no timeout of its own or of its suite gets
 * CRS_DEFAULT_TIMEOUT seconds, so a hang fails the test instead of the run.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CRS_DEFAULT_TIMEOUT 600.0
#define CRS_EXIT_FAIL 70
#define CRS_EXIT_SKIP 71

typedef struct crs_test {
    const char *suite, *name;
    void (*fn)(void);
    const struct crs_opts *opts;
} crs_test;

typedef struct crs_suite {
    const char *name;
    const struct crs_opts *opts;
} crs_suite;

static crs_test *g_tests;
static size_t g_ntests, g_captests;
static crs_suite g_suites[64];
static size_t g_nsuites;

/* In the child: where a fatal assertion returns to, and whether any failed. */
static jmp_buf g_env;
static int g_in_test, g_failed;

static void die(const char *what)
{
    fprintf(stderr, "test runner: %s: %s\n", what, strerror(errno));
    exit(2);
}

void crs_register_test(const char *suite, const char *name, void (*fn)(void),
                       const struct crs_opts *opts)
{
    if (g_ntests == g_captests) {
        g_captests = g_captests ? 2 * g_captests : 64;
        g_tests = realloc(g_tests, g_captests * sizeof *g_tests);
        if (!g_tests)
            die("realloc");
    }
    g_tests[g_ntests++] = (crs_test){suite, name, fn, opts};
}

void crs_register_suite(const char *suite, const struct crs_opts *opts)
{
    if (g_nsuites == sizeof g_suites / sizeof g_suites[0]) {
        fprintf(stderr, "test runner: more than %zu suites\n", g_nsuites);
        exit(2);
    }
    g_suites[g_nsuites++] = (crs_suite){suite, opts};
}

void crs_fail(int fatal, const char *file, int line, const char *expr,
              const char *fmt, ...)
{
    g_failed = 1;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *m = msg[0] == ' ' ? msg + 1 : msg;
    fprintf(stderr, "[----] %s:%d: Assertion failed: %s%s%s\n", file, line,
            expr, *m ? ": " : "", m);
    fflush(stderr);
    if (fatal) {
        if (g_in_test)
            longjmp(g_env, 1);
        exit(CRS_EXIT_FAIL); /* in init or fini */
    }
}

void crs_skip(const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "[SKIP] %s\n", msg[0] == ' ' ? msg + 1 : msg);
    fflush(stderr);
    _exit(CRS_EXIT_SKIP);
}

static const struct crs_opts *suite_opts(const char *suite)
{
    for (size_t i = 0; i < g_nsuites; i++)
        if (!strcmp(g_suites[i].name, suite))
            return g_suites[i].opts;
    return NULL;
}

/* The child, as in Criterion: the suite's init, then the test's own; the
 * test; the test's fini, then the suite's (also after a fatal assertion in
 * the test). */
static _Noreturn void run_child(const crs_test *t, const struct crs_opts *so)
{
    if (so && so->init)
        so->init();
    if (t->opts->init)
        t->opts->init();
    g_in_test = 1;
    if (setjmp(g_env) == 0)
        t->fn();
    g_in_test = 0;
    if (t->opts->fini)
        t->opts->fini();
    if (so && so->fini)
        so->fini();
    fflush(NULL);
    exit(g_failed ? CRS_EXIT_FAIL : 0);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs one test; returns 0 passed, 1 failed, 2 skipped. */
static int run_one(const crs_test *t)
{
    const struct crs_opts *so = suite_opts(t->suite);
    double timeout = t->opts->timeout > 0                ? t->opts->timeout
                     : so && so->timeout > 0 ? so->timeout
                                                         : CRS_DEFAULT_TIMEOUT;
    fflush(NULL);
    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0)
        run_child(t, so);

    int status = 0, timed_out = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR)
            die("waitpid");
        if (now_s() - t0 > timeout) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            timed_out = 1;
            break;
        }
        usleep(2000);
    }
    double secs = now_s() - t0;
    if (timed_out) {
        printf("[FAIL] %s::%s: timed out after %.0f s\n", t->suite, t->name,
               timeout);
        return 1;
    }
    if (WIFSIGNALED(status)) {
        printf("[FAIL] %s::%s: CRASH (signal %d, %s)\n", t->suite, t->name,
               WTERMSIG(status), strsignal(WTERMSIG(status)));
        return 1;
    }
    int code = WEXITSTATUS(status);
    if (code == CRS_EXIT_SKIP) {
        printf("[SKIP] %s::%s\n", t->suite, t->name);
        return 2;
    }
    if (code != 0) {
        printf("[FAIL] %s::%s (%.2fs)%s\n", t->suite, t->name, secs,
               code == CRS_EXIT_FAIL ? "" : ": unexpected exit status");
        return 1;
    }
    printf("[PASS] %s::%s (%.2fs)\n", t->suite, t->name, secs);
    return 0;
}

int main(int argc, char **argv)
{
    const char *filter = NULL;
    for (int i = 1; i < argc; i++)
        if (!strncmp(argv[i], "--filter=", 9))
            filter = argv[i] + 9;
    size_t ran = 0, passed = 0, failed = 0, skipped = 0;
    for (size_t i = 0; i < g_ntests; i++) {
        const crs_test *t = &g_tests[i];
        const struct crs_opts *so = suite_opts(t->suite);
        char full[512];
        snprintf(full, sizeof full, "%s/%s", t->suite, t->name);
        if (filter && strncmp(full, filter, strlen(filter)))
            continue;
        if (t->opts->disabled || (so && so->disabled)) {
            printf("[SKIP] %s::%s: disabled\n", t->suite, t->name);
            skipped++;
            continue;
        }
        ran++;
        int r = run_one(t);
        passed += r == 0;
        failed += r == 1;
        skipped += r == 2;
        fflush(stdout);
    }
    printf("[====] Synthesis: Tested: %zu | Passing: %zu | Failing: %zu | "
           "Skipped: %zu\n",
           ran, passed, failed, skipped);
    if (ran == 0) {
        fprintf(stderr, "test runner: no test ran%s%s\n",
                filter ? " for --filter=" : "", filter ? filter : "");
        return 1;
    }
    return failed ? 1 : 0;
}
