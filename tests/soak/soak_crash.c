/*
 * Campaign "crash anywhere": `fstore tail` SIGKILLed at random moments of
 * every kind of work it does, and the store proved exact after each kill.
 *
 * usage: soak_crash PATH-OF-fstore [--kills N] [--seed S] [--keys N]
 *                   [--preload N] [--rate R] [--phases LIST] [--keep-going]
 *
 * A topic of 4 partitions (not compacted, so DeleteRecords works and every
 * record stays readable) is preloaded with --preload records (default
 * 500,000) of --keys keys (default 50,000): puts carrying a per-key version
 * counter, 4 % tombstones, 5 % in an evolved writer schema. The first
 * store bootstraps from it uninterrupted, which calibrates how long the
 * kinds of work take. Then N times (--kills, default 20), `fstore tail`
 * runs while a producer writes --rate records/s (default 2000) and is
 * SIGKILLed in one of five phases, taken in turns (each round of five in a
 * random order; --phases bootstrap,rebuild,... keeps only those):
 *
 *   bootstrap  a new store bootstraps from the whole topic (by default in
 *              one bulk transaction; one run in three with a small
 *              tail.bootstrap.max_bytes, so that it commits in pieces);
 *              killed at a random moment of the time a bootstrap takes.
 *   live       the store is caught up and tails what the producer writes;
 *              killed 0..1.5 s after its "caught up" line.
 *   growth     a new store opened with store.map_size=65536 (the least),
 *              bootstrapping with a small tail.bootstrap.max_bytes, so its
 *              memory map grows again and again under the commits; killed
 *              at a random moment of that.
 *   rebuild    with the tailer down, more records, then DeleteRecords past
 *              the stored offset of one or more partitions (to a random
 *              point between stored + 2 and the end); every run tails with
 *              tail.offset_reset=rebuild, so this one empties the table and
 *              reloads it from the new log starts; killed at a random
 *              moment after its "rebuilding table" line, or (one run in
 *              two) as soon as the store shows the reload's first commit.
 *   snapshot   `fstore snapshot` of the store starts in another process
 *              while the tailer writes; the tailer is killed at a random
 *              moment of the time a snapshot takes. The snapshot must still
 *              succeed, and the store restored from it must be exact too.
 *
 * What is exact is decided by an independent consumer (crash_view.h): a
 * plain librdkafka consumer that reads the topic from its log start and
 * keeps every record it read, also those DeleteRecords removed later.
 * After every kill, with the producer stopped, the store (opened
 * read-only) must be the topic up to the offsets it says it applied: for
 * every key, the row is that key's latest record with an offset <= the
 * stored offset of its partition (same version, every column, and the same
 * Kafka offset: a record applied twice, out of order or skipped fails
 * this), or no row when that record is a tombstone or there is none; the
 * row count matches; and no stored offset is past the end of its
 * partition. Records before a partition's log start count only while the
 * store has not rebuilt past that cut (its stored offset is below the new
 * start - 1). Stored offsets never move back, except in a run that had a
 * cut to rebuild from; a run rebuilds exactly when it has such a cut.
 *
 * At the end a last `fstore tail --until-caught-up` must exit 0; the store
 * must equal the topic's latest value per key, as a second consumer reading
 * the topic afresh sees it, with stored offsets = end offsets - 1; and the
 * first consumer must have read exactly the records the producer says it
 * delivered.
 *
 * Progress goes to stdout, one line per kill; the summary line gives the
 * kills per phase (and how many landed inside their phase's work), records
 * produced, rows compared and mismatches. A mismatch fails the campaign
 * (exit 1) after the summary; --keep-going runs on to the end and counts
 * them all. The seed is printed at start; --seed replays a run (the
 * moments depend on timing, the choices do not).
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crash_prod.h"
#include "crash_run.h"
#include "crash_view.h"
#include "support/files.h"

#define NPARTS 4
#define MAX_CUTS 256 /* log starts a partition can have had */
#define TINY_MAP 65536
#define READY_WAIT_MS 300000
#define REBUILD_WAIT_MS 60000

enum { PH_BOOT, PH_LIVE, PH_GROW, PH_REBUILD, PH_SNAP, PH_N };
static const char *const ph_name[PH_N] = {"bootstrap", "live", "growth",
                                          "rebuild", "snapshot"};

typedef struct camp {
    const char *cli;
    char *topic;
    char store[4200], schema[4200], schemas[4200], snap[4200], restored[4200];
    char log[4200], snap_log[4200], tool_log[4200];
    int64_t nkeys, preload;
    long rate;
    int keep_going;
    int phases[PH_N], nphases; /* the phases of a round */
    uint64_t rs;
    it_reclog plog;
    cp_prod *prod;
    cv_view *view;
    /* Every log start each partition has had, in order (0 first). */
    int64_t starts[NPARTS][MAX_CUTS];
    int nstarts[NPARTS];
    int64_t prev[NPARTS]; /* stored offsets at the last check */
    /* How long the work takes here (calibrated, then updated). */
    double boot_us_per_rec;
    double grow_us_per_rec;
    double rebuild_us_per_rec;
    double snap_ms;
    /* Figures. */
    long kills[PH_N], landed[PH_N];
    long checks, bad_checks, restores;
    int64_t keys_cmp, rows_cmp;
    size_t mismatches;
    long cuts, rebuild_runs, reloads, wipes, max_growths;
    int64_t cut_records;
} camp;

/* ---- small helpers ------------------------------------------------------- */

static uint64_t rnd(camp *c, uint64_t n)
{
    return n ? it_rand(&c->rs) % n : 0;
}

/* A uniform draw from [lo, hi). */
static double rnd_between(camp *c, double lo, double hi)
{
    return lo +
           (hi - lo) * (double)(it_rand(&c->rs) >> 11) / 9007199254740992.0;
}

static int store_exists(camp *c)
{
    const fstore_table_t *t;
    fstore_store_t *s = it_store_open_ro(c->store, c->topic, &t);
    fstore_store_close(s);
    return s != NULL;
}

static void wipe_store(camp *c)
{
    IT_CHECK(sup_rm_tree(c->store) == 0, "removing %s", c->store);
    for (int p = 0; p < NPARTS; p++)
        c->prev[p] = -1;
    c->wipes++;
}

static void mismatch(camp *c, size_t n)
{
    c->mismatches += n;
    c->bad_checks += n > 0;
}

static int64_t last_start(const camp *c, int p)
{
    return c->starts[p][c->nstarts[p] - 1];
}

/* Where the records a store holds of partition p begin, given its stored
 * offset: the latest log start the store has rebuilt from. A cut is made
 * only past stored + 1, and the tailer cannot move past it without
 * rebuilding, so a stored offset >= start - 1 means that start's rebuild
 * happened, and one below means it has not. */
static int64_t base_of(const camp *c, int p, int64_t stored)
{
    int64_t b = 0;
    for (int j = 0; j < c->nstarts[p]; j++)
        if (c->starts[p][j] <= stored + 1 && c->starts[p][j] > b)
            b = c->starts[p][j];
    return b;
}

/* Whether a store with these offsets must rebuild: a partition it holds
 * records of lost the records after them. */
static int must_rebuild(const camp *c, const int64_t *stored)
{
    for (int p = 0; p < NPARTS; p++)
        if (stored[p] >= 0 && stored[p] < last_start(c, p) - 1)
            return 1;
    return 0;
}

/* ---- the check ----------------------------------------------------------- */

/* Compares store dir with the topic up to the store's own offsets (see the
 * top of the file); final: also stored = end - 1. Returns the differences
 * (printed); fills stored and, when asked, the store's data extent. */
static size_t check_store(camp *c, const char *dir, const char *label,
                          int final, int64_t *stored, int64_t *data_bytes)
{
    cv_read(c->view);
    const fstore_table_t *t = NULL;
    fstore_store_t *s = it_store_open_ro(dir, c->topic, &t);
    it_stored_offsets(s, t, stored, NPARTS);
    size_t bad = 0;
    int64_t base[NPARTS];
    for (int p = 0; p < NPARTS; p++) {
        int64_t lo, hi;
        it_watermarks(c->topic, p, &lo, &hi);
        base[p] = base_of(c, p, stored[p]);
        if (stored[p] > hi - 1) {
            fprintf(stderr,
                    "  partition %d: stored offset %lld is past the end "
                    "offset - 1 = %lld\n",
                    p, (long long)stored[p], (long long)hi - 1);
            bad++;
        }
        if (final && hi > 0 && stored[p] != hi - 1) {
            fprintf(stderr,
                    "  partition %d: stored offset %lld after catching up, "
                    "want end offset - 1 = %lld\n",
                    p, (long long)stored[p], (long long)hi - 1);
            bad++;
        }
    }
    if (data_bytes)
        *data_bytes = -1;
    if (s) {
        it_expect *exp = cv_expected(c->view, base, stored);
        bad += it_compare(s, t, exp, c->nkeys, NPARTS);
        c->keys_cmp += c->nkeys;
        c->rows_cmp += (int64_t)it_live_count(exp, c->nkeys);
        free(exp);
        if (data_bytes) {
            json_t *st = it_stats(s);
            *data_bytes = it_json_int(st, -1, "store", "data_bytes", NULL);
            json_decref(st);
        }
        fstore_store_close(s);
    } else if (final) {
        fprintf(stderr, "  no store or no table at %s\n", dir);
        bad++;
    }
    c->checks++;
    if (bad) {
        mismatch(c, bad);
        fprintf(stderr,
                "MISMATCH %s: %zu differences (above); stored offsets "
                "%lld,%lld,%lld,%lld, records from %lld,%lld,%lld,%lld\n",
                label, bad, (long long)stored[0], (long long)stored[1],
                (long long)stored[2], (long long)stored[3], (long long)base[0],
                (long long)base[1], (long long)base[2], (long long)base[3]);
    }
    return bad;
}

/* ---- runs of the CLI ----------------------------------------------------- */

/* `fstore tail` of the campaign's store with every -X of props
 * (NULL-terminated). */
static void tail_argv(camp *c, cr_argv *a, const char *const *props)
{
    memset(a, 0, sizeof *a);
    cr_arg(a, c->cli);
    cr_arg(a, "tail");
    cr_arg(a, "--brokers");
    cr_arg(a, it_brokers());
    cr_arg(a, "--topic");
    cr_arg(a, c->topic);
    cr_arg(a, "--schema");
    cr_arg(a, c->schema);
    cr_arg(a, "--store");
    cr_arg(a, c->store);
    cr_arg(a, "--schemas");
    cr_arg(a, c->schemas);
    /* Every run: a cut made while the tailer was down is rebuilt by
     * whichever run comes next. */
    cr_arg(a, "-X");
    cr_arg(a, "tail.offset_reset=rebuild");
    for (int i = 0; props && props[i]; i++) {
        cr_arg(a, "-X");
        cr_arg(a, props[i]);
    }
}

/* A run that must end by itself with status 0: a snapshot, a restore.
 * Returns its milliseconds. */
static int64_t run_to_end(cr_argv *a, const char *log, const char *what)
{
    cr_run r;
    cr_start(&r, a, log);
    cr_finish(&r, READY_WAIT_MS, what);
    IT_CHECK(r.sanitizer == 0, "%s: sanitizer report in %s", what, log);
    return r.end_ms;
}

/* `fstore tail --until-caught-up`, which must rebuild exactly when the
 * store has a cut to rebuild from. Returns how long it took to catch up,
 * as its "caught up" line says. */
static int64_t catch_up(camp *c, const char *why)
{
    cr_argv a;
    tail_argv(c, &a, NULL);
    cr_arg(&a, "--until-caught-up");
    cr_arg(&a, "--timeout");
    cr_arg(&a, "280");
    int want = must_rebuild(c, c->prev);
    cr_run r;
    cr_start(&r, &a, c->tool_log);
    cr_finish(&r, READY_WAIT_MS, why);
    IT_CHECK(r.sanitizer == 0, "%s: sanitizer report in %s", why, r.log);
    IT_CHECK(r.caught_up_s >= 0, "%s: no \"caught up\" line in %s", why, r.log);
    if (want != (r.rebuilds > 0)) {
        fprintf(stderr, "MISMATCH %s: %s\n", why,
                want ? "caught up without rebuilding past a cut"
                     : "rebuilt the table with no stored offset cut away");
        mismatch(c, 1);
    }
    c->rebuild_runs += r.rebuilds > 0;
    c->reloads += r.reloads;
    it_log("%s: fstore tail --until-caught-up caught up in %.2f s%s", why,
           r.caught_up_s, r.rebuilds ? " (rebuilt the table)" : "");
    return (int64_t)(r.caught_up_s * 1000);
}

static void snapshot_argv(camp *c, cr_argv *a)
{
    memset(a, 0, sizeof *a);
    cr_arg(a, c->cli);
    cr_arg(a, "snapshot");
    cr_arg(a, "--store");
    cr_arg(a, c->store);
    cr_arg(a, "--out");
    cr_arg(a, c->snap);
}

/* Restores the snapshot file and checks the restored store like the
 * store itself (it is the store at one instant). */
static size_t check_snapshot(camp *c, const char *label)
{
    cr_argv a;
    memset(&a, 0, sizeof a);
    cr_arg(&a, c->cli);
    cr_arg(&a, "restore");
    cr_arg(&a, "--in");
    cr_arg(&a, c->snap);
    cr_arg(&a, "--store");
    cr_arg(&a, c->restored);
    sup_rm_tree(c->restored);
    run_to_end(&a, c->tool_log, "fstore restore");
    int64_t stored[NPARTS];
    size_t bad = check_store(c, c->restored, label, 0, stored, NULL);
    c->restores++;
    IT_CHECK(sup_rm_tree(c->restored) == 0, "removing %s", c->restored);
    unlink(c->snap);
    return bad;
}

/* ---- one kill ------------------------------------------------------------ */

typedef struct cycle {
    long k;
    int ph;
    int fresh;            /* the store was removed first */
    int rebuild;          /* the store has a cut to rebuild from */
    int64_t records;      /* in the topic at the start */
    int64_t kill_ms;      /* when to kill, since start; -1 not yet known */
    int64_t snap_ms;      /* snapshot started, since start; -1 not */
    int at_commit;        /* rebuild: kill at its first commit */
    int snap_running;     /* the snapshot ran when the kill came */
    char note[160];       /* what the kill landed in */
    const char *props[4]; /* extra -X of this run */
    char pbuf[2][64];
} cycle;

/* Adds to what the kill landed in ("; " between parts). */
static void note(cycle *y, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void note(cycle *y, const char *fmt, ...)
{
    size_t w = strlen(y->note);
    if (w && w + 2 < sizeof y->note) {
        memcpy(y->note + w, "; ", 3);
        w += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(y->note + w, sizeof y->note - w, fmt, ap);
    va_end(ap);
}

/* Records in the topic now (sum over partitions of end - start). */
static int64_t topic_records(camp *c)
{
    int64_t n = 0;
    for (int p = 0; p < NPARTS; p++) {
        int64_t lo, hi;
        it_watermarks(c->topic, p, &lo, &hi);
        n += hi - lo;
    }
    return n;
}

/* DeleteRecords past the stored offset of one or more partitions (the
 * tailer is down). Everything before the cut goes, so first more records,
 * enough that about --preload stay in the topic (bootstraps and rebuilds
 * keep taking a while); the independent consumer reads them before the
 * cut. Returns 0 when no partition has a stored offset. */
static int cut(camp *c, cycle *y)
{
    int32_t parts[NPARTS];
    int64_t before[NPARTS], lo[NPARTS], hi[NPARTS], remain = 0;
    int n = 0, first = (int)rnd(c, NPARTS);
    for (int i = 0; i < NPARTS; i++) {
        int p = (first + i) % NPARTS;
        if (c->prev[p] >= 0 && (n == 0 || rnd(c, 2)))
            parts[n++] = p;
    }
    if (!n)
        return 0;
    for (int p = 0; p < NPARTS; p++) {
        it_watermarks(c->topic, p, &lo[p], &hi[p]);
        int is_cut = 0;
        for (int i = 0; i < n; i++)
            is_cut |= parts[i] == p;
        remain += is_cut ? hi[p] - c->prev[p] - 2 : hi[p] - lo[p];
    }
    int64_t burst = 500 + (int64_t)rnd(c, 2000);
    if (remain + burst < c->preload)
        burst = c->preload - remain;
    cp_burst(c->prod, burst);
    cv_read(c->view);
    int m = 0;
    for (int i = 0; i < n; i++) {
        int p = parts[i];
        int64_t s = c->prev[p];
        it_watermarks(c->topic, p, &lo[p], &hi[p]);
        if (hi[p] < s + 2)
            continue; /* nothing past the stored offset + 1 to cut at */
        IT_CHECK(c->nstarts[p] < MAX_CUTS, "too many cuts of partition %d", p);
        int64_t span = hi[p] - s - 1 < 2000 ? hi[p] - s - 1 : 2000;
        parts[m] = p;
        before[m] = s + 2 + (int64_t)rnd(c, (uint64_t)span);
        c->cut_records += before[m] - lo[p];
        c->starts[p][c->nstarts[p]++] = before[m];
        m++;
    }
    IT_CHECK(m > 0,
             "no partition grew past its stored offset + 1 after %lld "
             "more records",
             (long long)burst);
    it_delete_records(c->topic, parts, before, m);
    c->cuts++;
    char parts_txt[160] = "";
    size_t w = 0;
    for (int i = 0; i < m && w < sizeof parts_txt; i++)
        w += (size_t)snprintf(
            parts_txt + w, sizeof parts_txt - w, " %d@%lld(stored %lld)",
            parts[i], (long long)before[i], (long long)c->prev[parts[i]]);
    note(y, "+%lld records, cut%s", (long long)burst, parts_txt);
    return 1;
}

/* Gets the store ready for the phase and picks the run's properties and,
 * where it is known at start, the kill moment. */
static void prepare(camp *c, cycle *y)
{
    int np = 0;
    if (y->ph == PH_BOOT || y->ph == PH_GROW) {
        wipe_store(c);
        y->fresh = 1;
    }
    if (y->ph == PH_REBUILD && !must_rebuild(c, c->prev)) {
        if (!store_exists(c) || (c->prev[0] < 0 && c->prev[1] < 0 &&
                                 c->prev[2] < 0 && c->prev[3] < 0)) {
            catch_up(c, "rebuild needs stored offsets");
            int64_t stored[NPARTS];
            check_store(c, c->store, "after the catch-up", 0, stored, NULL);
            memcpy(c->prev, stored, sizeof stored);
        }
        IT_CHECK(cut(c, y), "no partition to cut");
    }
    y->rebuild = must_rebuild(c, c->prev);
    y->records = topic_records(c);
    y->kill_ms = -1;
    y->snap_ms = -1;
    double boot_ms = c->boot_us_per_rec * (double)y->records / 1000;
    if (y->ph == PH_BOOT) {
        if (rnd(c, 3) == 0) {
            snprintf(y->pbuf[0], sizeof y->pbuf[0],
                     "tail.bootstrap.max_bytes=%llu",
                     (unsigned long long)(262144 + rnd(c, 4 << 20)));
            y->props[np++] = y->pbuf[0];
        }
        y->kill_ms = (int64_t)(boot_ms * rnd_between(c, 0.05, 1.0));
    } else if (y->ph == PH_GROW) {
        snprintf(y->pbuf[0], sizeof y->pbuf[0], "store.map_size=%d", TINY_MAP);
        snprintf(y->pbuf[1], sizeof y->pbuf[1], "tail.bootstrap.max_bytes=%llu",
                 (unsigned long long)(131072 + rnd(c, 2 << 20)));
        y->props[np++] = y->pbuf[0];
        y->props[np++] = y->pbuf[1];
        y->kill_ms = (int64_t)(c->grow_us_per_rec * (double)y->records / 1000 *
                               rnd_between(c, 0.05, 1.0));
    } else if (y->ph == PH_SNAP) {
        y->snap_ms = 200 + (int64_t)rnd(c, 1500);
    } else if (y->ph == PH_REBUILD) {
        y->at_commit = (int)rnd(c, 2);
    }
    y->props[np] = NULL;
}

/* Decides, while the run goes, when to kill it; returns 1 at the moment.
 * Fails the campaign when the run does not get where its phase needs. */
static int due(camp *c, cycle *y, cr_run *r, cr_run *snap)
{
    int64_t now = cr_ms(r);
    switch (y->ph) {
    case PH_LIVE:
        if (y->kill_ms < 0 && r->ready_ms >= 0)
            y->kill_ms = r->ready_ms + (int64_t)rnd(c, 1500);
        if (y->kill_ms < 0 && now > READY_WAIT_MS)
            IT_FAIL("kill %ld: fstore tail not caught up within %d s", y->k,
                    READY_WAIT_MS / 1000);
        break;
    case PH_REBUILD:
        if (y->kill_ms < 0 && r->rebuild_ms >= 0 && !y->at_commit)
            y->kill_ms = r->rebuild_ms +
                         (int64_t)(c->rebuild_us_per_rec * (double)y->records /
                                   1000 * rnd_between(c, 0, 0.9));
        /* Or the moment the store shows the reload's first commit: offsets
         * again, and none from before the cut (or at ready, if it never
         * showed one). */
        if (y->at_commit && y->kill_ms < 0 && r->rebuild_ms >= 0) {
            const fstore_table_t *t = NULL;
            fstore_store_t *s = it_store_open_ro(c->store, c->topic, &t);
            int64_t st[NPARTS];
            it_stored_offsets(s, t, st, NPARTS);
            fstore_store_close(s);
            int any = 0;
            for (int p = 0; p < NPARTS; p++)
                any |= st[p] >= 0;
            if ((any && !must_rebuild(c, st)) || r->ready_ms >= 0) {
                y->kill_ms = now;
                note(y, "at the reload's first commit");
            }
        }
        if (y->kill_ms < 0 && now > REBUILD_WAIT_MS) {
            it_tail_file(r->log, 20);
            IT_FAIL("kill %ld: no \"rebuilding table\" within %d s after a "
                    "cut past the stored offsets (%s)",
                    y->k, REBUILD_WAIT_MS / 1000, y->note);
        }
        break;
    case PH_SNAP:
        if (y->snap_ms >= 0 && snap->pid == 0 && now >= y->snap_ms &&
            store_exists(c)) {
            cr_argv a;
            snapshot_argv(c, &a);
            unlink(c->snap);
            cr_start(snap, &a, c->snap_log);
            y->kill_ms = now + (int64_t)(c->snap_ms * rnd_between(c, 0, 0.9));
        }
        break;
    default: break;
    }
    return y->kill_ms >= 0 && now >= y->kill_ms;
}

/* What the kill landed in, for the figures. */
static int landed(camp *c, cycle *y, const cr_run *r, int64_t data_bytes)
{
    int before_ready = r->ready_ms < 0;
    switch (y->ph) {
    case PH_BOOT:
        note(y, "%s", before_ready ? "mid-bootstrap" : "after ready");
        return before_ready;
    case PH_LIVE:
        note(y, "%lld ms after ready", (long long)(y->kill_ms - r->ready_ms));
        return !before_ready;
    case PH_GROW: {
        /* The map began at 64 KiB and holds the data: it doubled at least
         * this often. */
        long g = 0;
        while (data_bytes > (int64_t)TINY_MAP << g)
            g++;
        if (g > c->max_growths)
            c->max_growths = g;
        note(y, "map grew >= %ld times, data %.1f MiB, %s", g,
             (double)(data_bytes < 0 ? 0 : data_bytes) / 1048576,
             before_ready ? "before ready" : "after ready");
        return g > 0 && before_ready;
    }
    case PH_REBUILD:
        note(y, "%s",
             r->rebuild_ms < 0 ? "before the rebuild"
             : before_ready    ? "mid-rebuild"
                               : "after the rebuild");
        return r->rebuild_ms >= 0 && before_ready;
    default:
        note(y, "%s", y->snap_running ? "mid-snapshot" : "after the snapshot");
        return y->snap_running;
    }
}

/* After the kill: the run's log, stored offsets and the snapshot. */
static size_t judge(camp *c, cycle *y, cr_run *r, cr_run *snap,
                    const int64_t *stored)
{
    size_t bad = 0;
    IT_CHECK(r->sanitizer == 0, "sanitizer report in %s", r->log);
    if (r->rebuilds && !y->rebuild) {
        fprintf(stderr,
                "MISMATCH kill %ld: the run rebuilt the table with "
                "no stored offset cut away\n",
                y->k);
        bad++;
    }
    if (y->rebuild && r->ready_ms >= 0 && !r->rebuilds) {
        fprintf(stderr,
                "MISMATCH kill %ld: caught up without rebuilding "
                "past a cut (%s)\n",
                y->k, y->note);
        bad++;
    }
    for (int p = 0; p < NPARTS && !y->rebuild; p++)
        if (stored[p] < c->prev[p]) {
            fprintf(stderr,
                    "MISMATCH kill %ld: stored offset of partition "
                    "%d went back from %lld to %lld\n",
                    y->k, p, (long long)c->prev[p], (long long)stored[p]);
            bad++;
        }
    mismatch(c, bad);
    if (snap->pid) {
        char label[64];
        snprintf(label, sizeof label, "kill %ld: restored snapshot", y->k);
        bad += check_snapshot(c, label);
    }
    return bad;
}

static void cycle_run(camp *c, long k, int ph, long kills)
{
    cycle y;
    memset(&y, 0, sizeof y);
    y.k = k;
    y.ph = ph;
    prepare(c, &y);
    cr_argv a;
    tail_argv(c, &a, y.props);
    cr_run r, snap;
    memset(&snap, 0, sizeof snap);
    cp_run(c->prod, 1);
    cr_start(&r, &a, c->log);
    while (!due(c, &y, &r, &snap)) {
        if (!cr_poll(&r))
            cr_kill(&r, "fstore tail"); /* fails: it ended by itself */
        if (snap.pid)
            cr_poll(&snap);
        it_sleep_ms(5);
    }
    y.snap_running = snap.pid && cr_poll(&snap);
    cr_kill(&r, "fstore tail");
    int64_t at = cr_ms(&r);
    cp_run(c->prod, 0);
    if (snap.pid) { /* it must finish, writer or not */
        cr_finish(&snap, READY_WAIT_MS,
                  "fstore snapshot (its store's writer "
                  "SIGKILLed meanwhile)");
        IT_CHECK(snap.sanitizer == 0, "sanitizer report in %s", snap.log);
        c->snap_ms = (double)snap.end_ms;
    }
    c->kills[ph]++;
    c->rebuild_runs += r.rebuilds > 0;
    c->reloads += r.reloads;
    /* How long the work really takes: the latest run that finished it
     * says (the machine's load changes). */
    if (y.fresh && r.ready_ms > 0)
        *(ph == PH_GROW ? &c->grow_us_per_rec : &c->boot_us_per_rec) =
            (double)r.ready_ms * 1000 / (double)y.records;
    if (r.rebuild_ms >= 0 && r.ready_ms > r.rebuild_ms)
        c->rebuild_us_per_rec =
            (double)(r.ready_ms - r.rebuild_ms) * 1000 / (double)y.records;
    int64_t stored[NPARTS], data_bytes = -1;
    char label[64];
    snprintf(label, sizeof label, "kill %ld (%s)", k, ph_name[ph]);
    size_t bad = check_store(c, c->store, label, 0, stored, &data_bytes);
    c->landed[ph] += landed(c, &y, &r, data_bytes);
    bad += judge(c, &y, &r, &snap, stored);
    memcpy(c->prev, stored, sizeof stored);
    it_log("kill %ld/%ld %-9s at %5lld ms (%s): stored %lld,%lld,%lld,%lld; "
           "%s; %lld records produced",
           k, kills, ph_name[ph], (long long)at, y.note, (long long)stored[0],
           (long long)stored[1], (long long)stored[2], (long long)stored[3],
           bad ? "MISMATCH" : "store = topic up to them",
           (long long)cp_written(c->prod));
}

/* ---- summary and main ---------------------------------------------------- */

static void summary(camp *c, long kills, uint64_t seed)
{
    long total = 0, in = 0;
    for (int i = 0; i < PH_N; i++) {
        total += c->kills[i];
        in += c->landed[i];
    }
    printf("SUMMARY crash: seed %llu; kills %ld (bootstrap %ld/%ld, live "
           "%ld/%ld, growth %ld/%ld, rebuild %ld/%ld, snapshot %ld/%ld landed "
           "in their phase's work; %ld of %ld asked); records produced %lld; "
           "cuts %ld (%lld records deleted), rebuild runs %ld, interrupted "
           "bootstraps reloaded %ld, map growths up to >= %ld; checks %ld (%ld "
           "restored snapshots); keys compared %lld, rows compared %lld; "
           "mismatches %zu (in %ld checks)\n",
           (unsigned long long)seed, total, c->landed[PH_BOOT],
           c->kills[PH_BOOT], c->landed[PH_LIVE], c->kills[PH_LIVE],
           c->landed[PH_GROW], c->kills[PH_GROW], c->landed[PH_REBUILD],
           c->kills[PH_REBUILD], c->landed[PH_SNAP], c->kills[PH_SNAP], in,
           kills, (long long)cp_written(c->prod), c->cuts,
           (long long)c->cut_records, c->rebuild_runs, c->reloads,
           c->max_growths, c->checks, c->restores, (long long)c->keys_cmp,
           (long long)c->rows_cmp, c->mismatches, c->bad_checks);
    fflush(stdout);
}

static void usage_fail(void)
{
    IT_FAIL("usage: soak_crash PATH-OF-fstore [--kills N] [--seed S] "
            "[--keys N] [--preload N] [--rate R] [--phases LIST] "
            "[--keep-going]");
}

/* --phases bootstrap,live,...: the phases of every round. */
static void phases_arg(camp *c, const char *v)
{
    char *copy = strdup(v), *save = NULL;
    IT_CHECK(copy != NULL, "strdup");
    c->nphases = 0;
    for (char *w = strtok_r(copy, ",", &save); w;
         w = strtok_r(NULL, ",", &save)) {
        int ph = -1;
        for (int i = 0; i < PH_N; i++)
            if (!strcmp(w, ph_name[i]))
                ph = i;
        if (ph < 0)
            IT_FAIL("--phases: unknown phase '%s' (bootstrap, live, growth, "
                    "rebuild, snapshot)",
                    w);
        for (int i = 0; i < c->nphases; i++)
            if (c->phases[i] == ph)
                ph = -1;
        if (ph >= 0)
            c->phases[c->nphases++] = ph;
    }
    free(copy);
    if (!c->nphases)
        IT_FAIL("--phases: name at least one phase");
}

static long long num_arg(const char *name, const char *v)
{
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*end || n < 0)
        IT_FAIL("%s '%s': want a non-negative integer", name, v);
    return n;
}

static long parse_args(camp *c, int argc, char **argv, uint64_t *seed)
{
    static const struct option opts[] = {
        {"kills", required_argument, NULL, 'k'},
        {"seed", required_argument, NULL, 's'},
        {"keys", required_argument, NULL, 'n'},
        {"preload", required_argument, NULL, 'p'},
        {"rate", required_argument, NULL, 'r'},
        {"phases", required_argument, NULL, 'f'},
        {"keep-going", no_argument, NULL, 'g'},
        {NULL, 0, NULL, 0},
    };
    long kills = 20;
    c->nkeys = 50000;
    c->preload = 500000;
    c->rate = 2000;
    *seed = 0;
    c->nphases = PH_N;
    for (int i = 0; i < PH_N; i++)
        c->phases[i] = i;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'k': kills = (long)num_arg("--kills", optarg); break;
        case 's': *seed = (uint64_t)num_arg("--seed", optarg); break;
        case 'n': c->nkeys = num_arg("--keys", optarg); break;
        case 'p': c->preload = num_arg("--preload", optarg); break;
        case 'r': c->rate = (long)num_arg("--rate", optarg); break;
        case 'f': phases_arg(c, optarg); break;
        case 'g': c->keep_going = 1; break;
        default: usage_fail();
        }
    }
    if (optind != argc - 1 || access(argv[optind], X_OK))
        usage_fail();
    c->cli = argv[optind];
    if (kills < 1 || c->nkeys < 100 || c->rate < 1)
        IT_FAIL("--kills >= 1, --keys >= 100 and --rate >= 1, please");
    return kills;
}

static void setup(camp *c)
{
    c->topic = it_topic_name("crash");
    it_create_topic(c->topic, NPARTS, NULL);
    const char *d = it_dir();
    snprintf(c->store, sizeof c->store, "%s/store", d);
    snprintf(c->schema, sizeof c->schema, "%s/serving.avsc", d);
    snprintf(c->schemas, sizeof c->schemas, "%s/schemas", d);
    snprintf(c->snap, sizeof c->snap, "%s/store.fst", d);
    snprintf(c->restored, sizeof c->restored, "%s/restored", d);
    snprintf(c->log, sizeof c->log, "%s/tail.log", d);
    snprintf(c->snap_log, sizeof c->snap_log, "%s/snapshot.log", d);
    snprintf(c->tool_log, sizeof c->tool_log, "%s/tool.log", d);
    it_write_file(c->schema, IT_SCHEMA);
    it_write_schemas_dir(c->schemas);
    for (int p = 0; p < NPARTS; p++) {
        c->nstarts[p] = 1; /* starts[p][0] = 0 */
        c->prev[p] = -1;
    }
    it_reclog_init(&c->plog);
    c->prod = cp_start(c->topic, &c->plog, c->nkeys, c->rate,
                       c->rs ^ 0x9e3779b97f4a7c15ULL);
    c->view = cv_new(c->topic, NPARTS, c->nkeys);
}

/* The first store bootstraps uninterrupted: it times a bootstrap and a
 * snapshot here, and the kills start from a store that is exact. */
static void calibrate(camp *c)
{
    int64_t t0 = it_now_us();
    cp_burst(c->prod, c->preload);
    it_log("preloaded %lld records of %lld keys in %.1f s",
           (long long)c->preload, (long long)c->nkeys,
           (double)(it_now_us() - t0) / 1e6);
    int64_t recs = topic_records(c);
    int64_t ms = catch_up(c, "first bootstrap");
    c->boot_us_per_rec = (double)ms * 1000 / (double)(recs ? recs : 1);
    /* Until a growth run says otherwise. */
    c->grow_us_per_rec = c->boot_us_per_rec;
    /* A rebuild commits as it goes (no bulk load): assume three times. */
    c->rebuild_us_per_rec = 3 * c->boot_us_per_rec;
    int64_t stored[NPARTS];
    IT_CHECK(check_store(c, c->store, "after the first bootstrap", 1, stored,
                         NULL) == 0,
             "the first bootstrap is not exact");
    memcpy(c->prev, stored, sizeof stored);
    cr_argv a;
    snapshot_argv(c, &a);
    c->snap_ms = (double)run_to_end(&a, c->snap_log, "fstore snapshot");
    IT_CHECK(check_snapshot(c, "first snapshot") == 0,
             "the first snapshot is not exact");
    it_log("calibrated: bootstrap of %lld records in %lld ms (%.2f us per "
           "record), snapshot in %.0f ms",
           (long long)recs, (long long)ms, c->boot_us_per_rec, c->snap_ms);
}

/* The last catch-up, then the store against a consumer that reads the
 * topic afresh, and the first consumer against the producer. */
static void finish(camp *c)
{
    catch_up(c, "final");
    int64_t stored[NPARTS];
    check_store(c, c->store, "after the final catch-up", 1, stored, NULL);
    cv_view *fresh = cv_new(c->topic, NPARTS, c->nkeys);
    int64_t n = cv_read(fresh), base[NPARTS] = {0}, lim[NPARTS];
    for (int p = 0; p < NPARTS; p++)
        lim[p] = INT64_MAX;
    const fstore_table_t *t = NULL;
    fstore_store_t *s = it_store_open_ro(c->store, c->topic, &t);
    IT_CHECK(s != NULL, "no store after the final catch-up");
    it_expect *exp = cv_expected(fresh, base, lim);
    size_t bad = it_compare(s, t, exp, c->nkeys, NPARTS);
    size_t live = it_live_count(exp, c->nkeys);
    c->keys_cmp += c->nkeys;
    c->rows_cmp += (int64_t)live;
    c->checks++;
    if (bad) {
        mismatch(c, bad);
        fprintf(stderr,
                "MISMATCH final: %zu differences from the topic "
                "read afresh (above)\n",
                bad);
    }
    free(exp);
    fstore_store_close(s);
    cv_free(fresh);
    it_log("final: %zu live keys of %lld; the store = the latest record of "
           "every key in the topic read afresh (%lld records)%s",
           live, (long long)c->nkeys, (long long)n, bad ? " -- NOT" : "");
    size_t diff = cv_diff_log(c->view, &c->plog);
    IT_CHECK(diff == 0,
             "the independent consumer's records differ from what the "
             "producer delivered in %zu places (above): the check itself is "
             "broken",
             diff);
}

int main(int argc, char **argv)
{
    it_init("soak.crash");
    camp *c = calloc(1, sizeof *c);
    IT_CHECK(c != NULL, "calloc");
    uint64_t seed;
    long kills = parse_args(c, argc, argv, &seed);
    if (!seed)
        seed = it_seed();
    c->rs = seed;
    it_log("seed %llu (--seed %llu replays it); %ld kills, %lld keys, "
           "preload %lld, %ld records/s while tailing",
           (unsigned long long)seed, (unsigned long long)seed, kills,
           (long long)c->nkeys, (long long)c->preload, c->rate);
    setup(c);
    calibrate(c);
    int order[PH_N];
    for (long k = 1; k <= kills; k++) {
        int at = (int)((k - 1) % c->nphases);
        if (at == 0) { /* a new round: its phases shuffled */
            memcpy(order, c->phases, sizeof order);
            for (int i = c->nphases - 1; i > 0; i--) {
                int j = (int)rnd(c, (uint64_t)i + 1), t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
        cycle_run(c, k, order[at], kills);
        if (c->mismatches && !c->keep_going)
            break;
    }
    if (!c->mismatches || c->keep_going)
        finish(c);
    summary(c, kills, seed);
    if (c->mismatches)
        IT_FAIL("%zu mismatches in %ld checks (seed %llu)", c->mismatches,
                c->bad_checks, (unsigned long long)seed);
    cp_free(c->prod);
    cv_free(c->view);
    it_reclog_free(&c->plog);
    free(c->topic);
    free(c);
    return it_pass();
}
