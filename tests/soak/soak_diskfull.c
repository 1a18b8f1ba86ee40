/*
 * Campaign "disk full": a store on a small tmpfs fills up while it tails
 * the real broker, and nothing is lost.
 *
 * The store lives on a tmpfs of its own (--mib MiB), mounted under the
 * scratch directory (this needs root; a refused mount fails the run) and
 * grown with `mount -o remount,size=...` when the campaign frees space. A
 * producer writes new keys to a topic of 3 partitions; the store starts
 * with a small map (store.map_size 1 MiB), so the map grows on the way.
 *
 *   fill       the store bootstraps --keys keys, then new keys arrive
 *              until a commit finds the file system full. Asserted: the
 *              tailer pauses, it does not stop: fstore_tail_error() says
 *              what is full, how much is free and what to do (FSTORE_ERR_IO,
 *              the mount point, "MiB free", "free space or grow"), so do the
 *              statistics ("error", "last_error"; the state is not
 *              "failed") and an error line of the log; readers keep serving
 *              the last commit: the store equals the topic up to its stored
 *              offsets, and neither the offsets nor the rows move while
 *              paused; 120 readers at once (more than LMDB's first page of
 *              its reader table holds) all read.
 *   grow       the tmpfs grows: the tailer resumes by itself (the error
 *              clears, a "tailer resumed" line is logged), catches up, and
 *              the store equals the topic's latest value of every key.
 *   restart    new keys until the file system is full again; the tailer is
 *              stopped while paused (fstore_tail_stop() returns the error)
 *              and the store closed; reopened while still full it pauses
 *              again; closed, the tmpfs grown, reopened: it catches up and
 *              equals the topic.
 *   bootstrap  a new store on a second, smaller tmpfs bootstraps the whole
 *              topic in one commit, which does not fit: it pauses with the
 *              store still empty; grown, it loads everything and equals the
 *              topic.
 *   map        a store on the scratch disk whose map may not grow past
 *              store.map_size.max (1 MiB): it pauses saying the memory map
 *              is full and to raise store.map_size.max; reopened with a
 *              larger maximum it catches up and equals the topic.
 *   verify     `fstore verify` (FSTORE-CLI) finds every store clean.
 *
 * Figures (it_log): records and store size when full, time from the last
 * record produced to the pause being reported, attempts while paused, time
 * from growing to caught up.
 *
 * Usage: soak_diskfull FSTORE-CLI [--mib M] [--keys K] [--chunk N]
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define NPARTS 3
#define TABLE "t"
#define MAX_NIDS 4000000
#define NREADERS 120

static const char *g_cli;
static long g_mib = 4, g_keys = 2000, g_chunk = 2000;
static char *g_topic;
static it_reclog g_log;
static it_producer *g_prod;
static int64_t g_next_id; /* ids 0 .. g_next_id-1 were produced */

/* ---- the log of the stores ------------------------------------------------
 */

static pthread_mutex_t g_lines_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned g_paused_lines, g_still_lines, g_resumed_lines;
static char g_last_error_line[1024];

static void log_cb(void *opaque, int level, const char *msg)
{
    (void)opaque;
    pthread_mutex_lock(&g_lines_mu);
    if (level <= 3 && strstr(msg, "tailer paused: "))
        g_paused_lines++;
    if (level <= 3 && strstr(msg, "tailer still paused"))
        g_still_lines++;
    if (strstr(msg, "tailer resumed"))
        g_resumed_lines++;
    if (level <= 3)
        snprintf(g_last_error_line, sizeof g_last_error_line, "%s", msg);
    pthread_mutex_unlock(&g_lines_mu);
    if (level <= 4)
        it_log("  log %d: %s", level, msg);
}

static unsigned lines(unsigned *counter)
{
    pthread_mutex_lock(&g_lines_mu);
    unsigned n = *counter;
    pthread_mutex_unlock(&g_lines_mu);
    return n;
}

/* ---- the tmpfs ----------------------------------------------------------- */

static void mount_tmpfs(const char *dir, long mib, int remount)
{
    char opts[64];
    snprintf(opts, sizeof opts, "size=%ldm,mode=0700", mib);
    if (mount("tmpfs", dir, "tmpfs", remount ? MS_REMOUNT : 0, opts) != 0)
        IT_FAIL("mount -t tmpfs -o %s%s %s: %s (the campaign needs root and "
                "tmpfs: it fails, never skips, without them)",
                remount ? "remount," : "", opts, dir, strerror(errno));
    it_log("tmpfs %s: %s%s", dir, remount ? "remounted " : "", opts);
}

/* ---- stores -------------------------------------------------------------- */

static fstore_store_t *open_tailing(const char *dir, const char *const *props,
                                    const fstore_table_t **t)
{
    fstore_store_t *s = it_store_open(dir, TABLE, props, t);
    char errstr[512];
    if (fstore_tail_add(s, *t, g_topic, NULL, errstr, sizeof errstr) ||
        fstore_tail_start(s, errstr, sizeof errstr))
        IT_FAIL("tailing %s: %s", g_topic, errstr);
    return s;
}

static const char *const g_tmpfs_props[] = {"store.map_size=1048576",
                                            "tail.stats_interval_ms=200", NULL};

/* Produces n records of new keys (the next ids). */
static void produce_new(long n)
{
    IT_CHECK(g_next_id + n <= MAX_NIDS, "more than %d keys", MAX_NIDS);
    for (long i = 0; i < n; i++)
        it_put(g_prod, g_next_id++, 1, IT_ID_SERVING);
    it_flush(g_prod);
}

/* The store's stored offset of every partition (-1: none). */
static void stored_offsets(fstore_store_t *s, const fstore_table_t *t,
                           int64_t *off)
{
    fstore_reader_t *r;
    IT_CHECK(fstore_reader_new(s, &r) == FSTORE_OK, "reader");
    for (int32_t p = 0; p < NPARTS; p++)
        if (fstore_reader_offset(r, t, p, &off[p]) != FSTORE_OK)
            off[p] = -1;
    fstore_reader_destroy(r);
}

static uint64_t row_count(fstore_store_t *s, const fstore_table_t *t)
{
    fstore_reader_t *r;
    uint64_t n = 0;
    IT_CHECK(fstore_reader_new(s, &r) == FSTORE_OK, "reader");
    IT_CHECK(fstore_reader_row_count(r, t, &n) == FSTORE_OK, "row count");
    fstore_reader_destroy(r);
    return n;
}

/* The store equals the topic up to limit (NULL: all of it). */
static void check_equal(fstore_store_t *s, const fstore_table_t *t,
                        const int64_t *limit, const char *when)
{
    it_expect *exp =
        it_expected(&g_log, g_next_id, limit, limit ? NPARTS : 0, NULL, NULL);
    size_t bad = it_compare(s, t, exp, g_next_id, NPARTS);
    IT_CHECK(bad == 0, "%s: the store differs from the topic in %zu places",
             when, bad);
    it_log("%s: the store equals the topic%s (%zu rows)", when,
           limit ? " up to its stored offsets" : "",
           it_live_count(exp, g_next_id));
    free(exp);
}

/* Waits until every stored offset is the end offset - 1. */
static double wait_caught_up(fstore_store_t *s, const fstore_table_t *t,
                             int timeout_s)
{
    int64_t t0 = it_now_us(), hi[NPARTS], lo, off[NPARTS];
    for (int32_t p = 0; p < NPARTS; p++)
        it_watermarks(g_topic, p, &lo, &hi[p]);
    for (;;) {
        stored_offsets(s, t, off);
        int done = 1;
        for (int32_t p = 0; p < NPARTS; p++)
            done &= off[p] == hi[p] - 1;
        if (done)
            return (double)(it_now_us() - t0) / 1e6;
        char msg[1024];
        fstore_err_t e = fstore_tail_error(s, msg, sizeof msg);
        IT_CHECK(it_now_us() - t0 < (int64_t)timeout_s * 1000000,
                 "not caught up after %d s (offsets %lld %lld %lld, ends %lld "
                 "%lld %lld; tail error %s: %s)",
                 timeout_s, (long long)off[0], (long long)off[1],
                 (long long)off[2], (long long)hi[0], (long long)hi[1],
                 (long long)hi[2], fstore_err_name(e), msg);
        it_sleep_ms(100);
    }
}

/* Waits for the tailer to report an error; returns it and its message. */
static fstore_err_t wait_error(fstore_store_t *s, int timeout_ms, char *msg,
                               size_t size)
{
    int64_t t0 = it_now_us();
    for (;;) {
        fstore_err_t e = fstore_tail_error(s, msg, size);
        if (e != FSTORE_OK || it_now_us() - t0 > (int64_t)timeout_ms * 1000)
            return e;
        it_sleep_ms(50);
    }
}

/* Produces chunks of new keys until the tailer reports the store full. */
static void fill_until_full(fstore_store_t *s, const char *what)
{
    char msg[1024];
    int64_t produced0 = g_next_id;
    for (;;) {
        IT_CHECK(g_next_id - produced0 < MAX_NIDS / 4,
                 "%s: %lld records and the store never filled its %ld MiB "
                 "tmpfs",
                 what, (long long)(g_next_id - produced0), g_mib);
        produce_new(g_chunk);
        int64_t t0 = it_now_us();
        fstore_err_t e = wait_error(s, 3000, msg, sizeof msg);
        if (e == FSTORE_OK)
            continue;
        it_log("%s: full after %lld records (%lld keys in all); reported "
               "%.2f s after the last record was acknowledged",
               what, (long long)(g_next_id - produced0), (long long)g_next_id,
               (double)(it_now_us() - t0) / 1e6);
        return;
    }
}

/* ---- what a pause must look like ----------------------------------------- */

static void check_pause_message(fstore_store_t *s, const char *mnt)
{
    char msg[1024];
    fstore_err_t e = fstore_tail_error(s, msg, sizeof msg);
    it_log("fstore_tail_error: %s: %s", fstore_err_name(e), msg);
    IT_CHECK(e == FSTORE_ERR_IO, "the pause says %s, want FSTORE_ERR_IO",
             fstore_err_name(e));
    IT_CHECK(strstr(msg, "file system is full") && strstr(msg, mnt) &&
                 strstr(msg, "MiB free") && strstr(msg, "free space or grow") &&
                 strstr(msg, "records wait"),
             "the message does not say what is full, how much is free and "
             "what to do: %s",
             msg);
    json_t *st = it_stats(s);
    const char *state = json_string_value(it_json_at(st, "state", NULL));
    const char *err = json_string_value(it_json_at(st, "error", NULL));
    const char *last = json_string_value(it_json_at(st, "last_error", NULL));
    IT_CHECK(state && strcmp(state, "failed") != 0 &&
                 strcmp(state, "stopped") != 0,
             "stats state %s: paused, not stopped", state ? state : "(none)");
    IT_CHECK(err && strstr(err, "file system is full"), "stats error: %s",
             err ? err : "(none)");
    IT_CHECK(last && strstr(last, "file system is full"),
             "stats last_error: %s", last ? last : "(none)");
    IT_CHECK(json_is_true(it_json_at(st, "paused", NULL)) &&
                 json_is_integer(it_json_at(st, "paused_since_ms", NULL)),
             "stats do not say paused");
    json_decref(st);
    IT_CHECK(lines(&g_paused_lines) > 0,
             "no \"tailer paused\" error line logged");
    pthread_mutex_lock(&g_lines_mu);
    IT_CHECK(strstr(g_last_error_line, "file system is full"),
             "the last error line: %s", g_last_error_line);
    pthread_mutex_unlock(&g_lines_mu);
}

/* 120 readers at once, each holding a snapshot while the others start. */
typedef struct readers {
    fstore_store_t *s;
    const fstore_table_t *t;
    pthread_barrier_t all_in;
    long ok, failed;
    pthread_mutex_t mu;
} readers;

static void *reader_thread(void *arg)
{
    readers *R = arg;
    fstore_reader_t *r;
    long ok = 0, failed = 0;
    char key[IT_KEY_MAX];
    IT_CHECK(fstore_reader_new(R->s, &r) == FSTORE_OK, "reader");
    const fstore_row_t *row;
    fstore_err_t e = fstore_get(r, R->t, key, it_key(key, 0), &row);
    failed += e != FSTORE_OK && e != FSTORE_NOT_FOUND;
    pthread_barrier_wait(&R->all_in);
    for (int64_t id = 0; id < 2000; id++) {
        e = fstore_get(r, R->t, key, it_key(key, id), &row);
        if (e == FSTORE_OK && fstore_row_verify(row) != FSTORE_OK)
            e = FSTORE_ERR_CORRUPT;
        if (e == FSTORE_OK || e == FSTORE_NOT_FOUND)
            ok++;
        else
            failed++;
    }
    fstore_reader_destroy(r);
    pthread_mutex_lock(&R->mu);
    R->ok += ok;
    R->failed += failed;
    pthread_mutex_unlock(&R->mu);
    return NULL;
}

static void check_readers(fstore_store_t *s, const fstore_table_t *t)
{
    readers R = {.s = s, .t = t};
    pthread_t th[NREADERS];
    pthread_barrier_init(&R.all_in, NULL, NREADERS);
    pthread_mutex_init(&R.mu, NULL);
    for (int i = 0; i < NREADERS; i++)
        IT_CHECK(pthread_create(&th[i], NULL, reader_thread, &R) == 0,
                 "thread");
    for (int i = 0; i < NREADERS; i++)
        pthread_join(th[i], NULL);
    IT_CHECK(R.failed == 0, "%ld of %ld lookups failed while paused", R.failed,
             R.ok + R.failed);
    it_log("%d readers at once while paused: %ld lookups, all served", NREADERS,
           R.ok);
    pthread_barrier_destroy(&R.all_in);
}

/* Paused: the store is the topic up to its stored offsets, and stays so. */
static void check_paused(fstore_store_t *s, const fstore_table_t *t,
                         const char *mnt, const char *what)
{
    check_pause_message(s, mnt);
    int64_t before[NPARTS], after[NPARTS];
    stored_offsets(s, t, before);
    uint64_t rows = row_count(s, t);
    check_equal(s, t, before, what);
    check_readers(s, t);
    it_sleep_ms(3000);
    stored_offsets(s, t, after);
    for (int32_t p = 0; p < NPARTS; p++)
        IT_CHECK(
            before[p] == after[p],
            "partition %d's stored offset moved while paused: %lld -> %lld", p,
            (long long)before[p], (long long)after[p]);
    IT_CHECK(row_count(s, t) == rows, "rows moved while paused");
    IT_CHECK(fstore_tail_error(s, NULL, 0) == FSTORE_ERR_IO,
             "the pause's error went away with the disk still full");
}

static void data_size(const char *dir, const char *what)
{
    char p[4096];
    struct stat st;
    snprintf(p, sizeof p, "%s/data.mdb", dir);
    if (stat(p, &st) == 0)
        it_log("%s: data.mdb %.1f MiB", what, (double)st.st_size / 1048576.0);
}

/* ---- the phases ------------------------------------------------------------
 */

static void phase_fill_and_grow(const char *mnt, const char *dir)
{
    const fstore_table_t *t;
    produce_new(g_keys);
    fstore_store_t *s = open_tailing(dir, g_tmpfs_props, &t);
    IT_CHECK(fstore_tail_wait_ready(s, 120000) == FSTORE_OK, "bootstrap");
    check_equal(s, t, NULL, "bootstrap");

    fill_until_full(s, "fill");
    data_size(dir, "fill");
    check_paused(s, t, mnt, "fill, paused");

    unsigned attempts = lines(&g_still_lines) + 1;
    int64_t t0 = it_now_us();
    mount_tmpfs(mnt, 2 * g_mib, 1);
    double caught = wait_caught_up(s, t, 120);
    IT_CHECK(fstore_tail_error(s, NULL, 0) == FSTORE_OK,
             "caught up, but fstore_tail_error still reports the pause");
    IT_CHECK(lines(&g_resumed_lines) >= 1, "no \"tailer resumed\" line logged");
    json_t *st = it_stats(s);
    IT_CHECK(json_is_false(it_json_at(st, "paused", NULL)) &&
                 json_is_null(it_json_at(st, "paused_since_ms", NULL)),
             "caught up, but the stats still say paused");
    json_decref(st);
    it_log("grow: caught up %.1f s after the tmpfs grew (%u attempts while "
           "paused)",
           caught, attempts);
    (void)t0;
    check_equal(s, t, NULL, "grow");
    fstore_store_close(s);
}

static void phase_restart(const char *mnt, const char *dir)
{
    const fstore_table_t *t;
    fstore_store_t *s = open_tailing(dir, g_tmpfs_props, &t);
    IT_CHECK(fstore_tail_wait_ready(s, 120000) == FSTORE_OK, "reopen");
    fill_until_full(s, "restart");
    data_size(dir, "restart");
    check_pause_message(s, mnt);
    fstore_err_t e = fstore_tail_stop(s);
    IT_CHECK(e == FSTORE_ERR_IO,
             "fstore_tail_stop while paused: %s, want "
             "FSTORE_ERR_IO",
             fstore_err_name(e));
    int64_t off[NPARTS];
    stored_offsets(s, t, off);
    check_equal(s, t, off, "restart, stopped while full");
    fstore_store_close(s);

    /* Reopened on the full disk: it pauses again, harmlessly. New keys
     * first: the records that waited may fit by themselves once no reader
     * pins the pages earlier commits freed (the live run's readers did),
     * and then there would be nothing to pause on. Four chunks need more
     * room than any free list of the full file holds. */
    produce_new(4 * g_chunk);
    s = open_tailing(dir, g_tmpfs_props, &t);
    char msg[1024];
    e = wait_error(s, 60000, msg, sizeof msg);
    IT_CHECK(e == FSTORE_ERR_IO, "reopened on a full disk: %s (%s)",
             fstore_err_name(e), msg);
    it_log("restart: reopened on the full disk, paused again");
    fstore_store_close(s);

    mount_tmpfs(mnt, 4 * g_mib, 1);
    s = open_tailing(dir, g_tmpfs_props, &t);
    IT_CHECK(fstore_tail_wait_ready(s, 120000) == FSTORE_OK, "restart after "
                                                             "growing");
    double caught = wait_caught_up(s, t, 120);
    it_log("restart: caught up %.1f s after reopening on the grown tmpfs",
           caught);
    check_equal(s, t, NULL, "restart");
    fstore_store_close(s);
}

static void phase_bootstrap(const char *mnt, const char *dir)
{
    const fstore_table_t *t;
    fstore_store_t *s = open_tailing(dir, g_tmpfs_props, &t);
    char msg[1024];
    fstore_err_t e = wait_error(s, 120000, msg, sizeof msg);
    IT_CHECK(e == FSTORE_ERR_IO, "a bootstrap larger than the disk: %s (%s)",
             fstore_err_name(e), msg);
    check_pause_message(s, mnt);
    int64_t off[NPARTS];
    stored_offsets(s, t, off);
    IT_CHECK(off[0] < 0 && off[1] < 0 && off[2] < 0 && row_count(s, t) == 0,
             "a bootstrap that did not fit left rows or offsets");
    it_log(
        "bootstrap: paused with the store empty (its one commit did not fit)");
    mount_tmpfs(mnt, 8 * g_mib, 1);
    IT_CHECK(fstore_tail_wait_ready(s, 180000) == FSTORE_OK, "bootstrap after "
                                                             "growing");
    wait_caught_up(s, t, 120);
    check_equal(s, t, NULL, "bootstrap");
    fstore_store_close(s);
}

static void phase_map(const char *dir)
{
    const fstore_table_t *t;
    static const char *const small[] = {"store.map_size=1048576",
                                        "store.map_size.max=1048576", NULL};
    fstore_store_t *s = open_tailing(dir, small, &t);
    char msg[1024];
    fstore_err_t e = wait_error(s, 120000, msg, sizeof msg);
    it_log("map: fstore_tail_error: %s: %s", fstore_err_name(e), msg);
    IT_CHECK(e == FSTORE_ERR_MAP_FULL && strstr(msg, "memory map is full") &&
                 strstr(msg, "raise store.map_size.max"),
             "a map that may not grow: %s (%s)", fstore_err_name(e), msg);
    json_t *st = it_stats(s);
    const char *state = json_string_value(it_json_at(st, "state", NULL));
    IT_CHECK(state && strcmp(state, "failed") != 0, "map: stats state %s",
             state ? state : "(none)");
    json_decref(st);
    fstore_store_close(s);
    static const char *const large[] = {"store.map_size=1048576",
                                        "store.map_size.max=1073741824", NULL};
    s = open_tailing(dir, large, &t);
    IT_CHECK(fstore_tail_wait_ready(s, 180000) == FSTORE_OK,
             "map: reopened "
             "with a larger maximum");
    wait_caught_up(s, t, 120);
    check_equal(s, t, NULL, "map");
    fstore_store_close(s);
}

static void verify_clean(const char *dir)
{
    char *argv[] = {(char *)(uintptr_t)g_cli,      (char *)(uintptr_t) "verify",
                    (char *)(uintptr_t) "--store", (char *)(uintptr_t)dir,
                    (char *)(uintptr_t) "-q",      NULL};
    char log[4096];
    snprintf(log, sizeof log, "%s/verify.log", it_dir());
    pid_t pid = it_spawn(argv, log);
    int status = it_wait(pid, 300000);
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        it_tail_file(log, 30);
        IT_FAIL("fstore verify --store %s: status %d", dir, status);
    }
    it_forget_child(pid);
    it_log("fstore verify --store %s: clean", dir);
}

/* Everything but the mounts, in a child process: a failure ends it with
 * _exit, and the parent still unmounts. */
static int campaign(const char *mnt, const char *mnt2)
{
    it_set_store_log_cb(log_cb, NULL);
    it_reclog_init(&g_log);
    g_topic = it_topic_name("diskfull");
    it_create_topic(g_topic, NPARTS, NULL);
    g_prod = it_producer_new(g_topic, &g_log, NULL, NULL);
    char dir[4096], dir2[4096], dir3[4096];
    snprintf(dir, sizeof dir, "%s/store", mnt);
    snprintf(dir2, sizeof dir2, "%s/store", mnt2);
    snprintf(dir3, sizeof dir3, "%s/map-store", it_dir());

    it_log("== fill and grow");
    phase_fill_and_grow(mnt, dir);
    it_log("== restart");
    phase_restart(mnt, dir);
    it_log("== bootstrap");
    phase_bootstrap(mnt2, dir2);
    it_log("== map");
    phase_map(dir3);
    it_log("== verify");
    verify_clean(dir);
    verify_clean(dir2);
    verify_clean(dir3);
    it_producer_free(g_prod);
    return 0;
}

static void unmount(const char *dir)
{
    if (umount2(dir, MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT)
        fprintf(stderr, "umount %s: %s\n", dir, strerror(errno));
    rmdir(dir);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argv[1][0] == '-') {
        fprintf(stderr,
                "usage: %s FSTORE-CLI [--mib M] [--keys K] [--chunk N]\n",
                argv[0]);
        return 2;
    }
    g_cli = argv[1];
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--mib"))
            g_mib = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--keys"))
            g_keys = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--chunk"))
            g_chunk = atol(argv[i + 1]);
        else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (g_mib < 2 || g_keys < 1 || g_chunk < 1) {
        fprintf(stderr,
                "--mib must be 2 or more, --keys and --chunk 1 or more\n");
        return 2;
    }
    it_init("soak-diskfull");
    char mnt[2048], mnt2[2048];
    snprintf(mnt, sizeof mnt, "%s/mnt", it_dir());
    snprintf(mnt2, sizeof mnt2, "%s/mnt2", it_dir());
    IT_CHECK(mkdir(mnt, 0700) == 0 && mkdir(mnt2, 0700) == 0, "mkdir: %s",
             strerror(errno));
    mount_tmpfs(mnt, g_mib, 0);
    if (mount("tmpfs", mnt2, "tmpfs", 0, "size=1m,mode=0700") != 0) {
        int e = errno;
        unmount(mnt);
        IT_FAIL("mount -t tmpfs %s: %s", mnt2, strerror(e));
    }
    fflush(stdout);
    pid_t pid = fork();
    IT_CHECK(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        int rc = campaign(mnt, mnt2);
        fflush(stdout);
        _exit(rc);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    unmount(mnt);
    unmount(mnt2);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr,
                "FAIL soak-diskfull: the campaign ended with status "
                "%d (scratch kept: %s, tmpfs unmounted)\n",
                status, it_dir());
        return 1;
    }
    return it_pass();
}
