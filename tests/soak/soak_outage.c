/*
 * Reliability campaign "broker outage": readers are never hurt, and the
 * tailer survives a broker outage and catches up with nothing lost.
 *
 * It stops and kills brokers, so it runs a broker of its own
 * (outage_broker.h: tests/kafka/broker.sh with a --dir of its own, removed
 * at the end) and never contacts the one FSTORE_TEST_BROKERS names; that
 * variable must still be set, as for every kafka test. In every case a
 * store tails a topic (--partitions) holding every key (--keys), and another
 * process (this program with --reader, outage_reader.h) opens the store
 * read-only and looks keys up in a tight loop, checking every row.
 *
 *   stop       while a producer keeps producing (--rate records/s), the
 *              broker is stopped (broker.sh stop --keep) for
 *              --outage-seconds, then started again on the same port and
 *              data (broker.sh restart). Asserted: every lookup of the
 *              reader succeeded with a valid row, also during the outage;
 *              the tailer's statistics showed the outage (connected false
 *              or an error, and staleness_ms grew by at least half the
 *              outage); after the broker's return the tailer caught up by
 *              itself, the stats say ready, connected and current again,
 *              the store equals the latest value of every key as a consumer
 *              of its own reads the topic (which equals the producer's
 *              delivery log: nothing acknowledged was lost), and the
 *              applied offsets are the end offsets - 1. Every record
 *              produced during the outage decides its key's final value
 *              (prod_next), so a record lost on its way shows.
 *   kill       the same with the broker SIGKILLed (broker.sh stop --keep
 *              --kill) instead of stopped.
 *   recreate-fail, recreate-rebuild
 *              the topic is deleted while tailing, stays deleted for
 *              --outage-seconds and is created again with fewer records
 *              than the store applied (tail.offset_reset, see
 *              docs/configuration.md). fail: the tailer stops with an error
 *              saying the stored offset no longer exists, logged as an
 *              error line; the stats say failed; readers keep serving the
 *              rows they had, which still equal the old topic. rebuild: one
 *              warning line says the table is rebuilt, counters.rebuilds is
 *              1, the store equals the new topic and its offsets are its
 *              end offsets - 1; the reader's lookups never fail (keys absent
 *              while the emptied table reloads are counted, not failures).
 *   recreate-longer-fail, recreate-longer-rebuild
 *              the same while tailing, but the new topic is filled past the
 *              stored offsets at once, as producers that keep writing would
 *              fill it: whether the tailer's first fetch of the new topic
 *              comes before or after its end passes the stored offset is a
 *              race, which a tailer that looks only at offsets wins or
 *              loses by chance.
 *   recreate-paused-fail, recreate-paused-rebuild
 *              that race lost on purpose: the tailer sees its topic vanish,
 *              then the campaign's process is stopped (SIGSTOP, as a long
 *              pause of the machine would stop it) while a helper process
 *              creates the topic again and fills it past the stored offsets,
 *              and let go (SIGCONT).
 *   recreate-offline-fail, recreate-offline-rebuild
 *              the same promise when the topic is deleted, created again and
 *              filled past the stored offsets while the store is closed,
 *              and the store then tails again.
 *
 * The default cases are stop, kill, recreate-fail, recreate-rebuild,
 * recreate-paused-fail and recreate-offline-fail; --cases all runs every
 * one.
 *
 * Per case it prints the outage's length, lookups served (during the
 * outage too), the longest gap between two successful lookups (reported,
 * never asserted), records produced during the outage, the time to catch
 * up, and mismatches; it exits non-zero when any check failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"
#include "outage_broker.h"
#include "outage_reader.h"
#include "outage_topic.h"
#include "support/kafka_admin.h"

#ifndef FSTORE_SOAK_BROKER_SH
#define FSTORE_SOAK_BROKER_SH ""
#endif

/* Reader phases. */
enum { PH_BEFORE = 0, PH_OUTAGE = 1, PH_AFTER = 2, PH_END = 3 };

typedef struct cfg {
    const char *broker_sh;
    char self[4096];
    int outage_s; /* --outage-seconds */
    int after_s;  /* traffic after the broker's return */
    long rate;    /* records/s of the producer */
    long keys;    /* key ids 0 .. keys-1 */
    int parts;    /* partitions of each topic */
    int react_s;  /* bound on the tailer's reaction to a recreated topic */
    char cases[256];
    int reader_cpu; /* --reader-cpu: the reader process's CPU, or -1 */
} cfg;

/* What one case measured and found. */
typedef struct result {
    const char *name;
    int ran;
    double outage_s;
    int64_t lookups, lookups_outage, not_found;
    double gap_ms, gap_outage_ms;
    double gap_at_s;      /* when the longest gap ended, from t_outage0 */
    int64_t gaps_over[3]; /* gaps over 1, 10, 100 ms */
    int64_t gaps10_blocked, gaps10_preempted;
    int64_t t_outage0; /* it_now_us() when the outage began */
    int64_t produced_outage;
    double caught_up_s;
    int64_t stale_max_ms;
    int saw_disconnected;
    size_t mismatches;
    int failures;
    char note[512];
} result;

static void check(result *R, int ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A failed check is reported and counted; the case goes on so that its
 * summary is printed, and the campaign exits non-zero at the end. */
static void check(result *R, int ok, const char *fmt, ...)
{
    if (ok)
        return;
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "CHECK FAILED [%s]: ", R->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    R->failures++;
}

/* ---- the stores' log lines ----------------------------------------------- */

typedef struct logbuf {
    pthread_mutex_t mu;
    char *text;
    size_t len, cap;
    long warnings_printed;
} logbuf;

static logbuf g_lb = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, 0};

/* Keeps every line; prints errors, and the first warnings of each case (a
 * long outage logs the same connection warning every second). */
static void log_cb(void *opaque, int level, const char *msg)
{
    logbuf *lb = opaque;
    char line[2048];
    int n = snprintf(line, sizeof line, "%d %s\n", level, msg);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line)
        n = (int)sizeof line - 1;
    pthread_mutex_lock(&lb->mu);
    if (lb->len + (size_t)n + 1 > lb->cap) {
        lb->cap = (lb->len + (size_t)n + 1) * 2;
        lb->text = realloc(lb->text, lb->cap);
    }
    if (lb->text) {
        memcpy(lb->text + lb->len, line, (size_t)n + 1);
        lb->len += (size_t)n;
    }
    int print = level <= 3 || (level == 4 && lb->warnings_printed++ < 12) ||
                getenv("FSTORE_SOAK_VERBOSE");
    pthread_mutex_unlock(&lb->mu);
    if (print)
        fprintf(stderr, "fstore: %d %s\n", level, msg);
}

static void log_clear(void)
{
    pthread_mutex_lock(&g_lb.mu);
    g_lb.len = 0;
    g_lb.warnings_printed = 0;
    if (g_lb.text)
        g_lb.text[0] = 0;
    pthread_mutex_unlock(&g_lb.mu);
}

/* How many logged lines at a level <= max_level hold every one of the
 * NULL-ended strings; the first of them is copied into out (empty when
 * none). */
static int log_find(char *out, size_t n, int max_level, ...)
{
    const char *words[8];
    int nw = 0;
    va_list ap;
    va_start(ap, max_level);
    for (const char *w; nw < 8 && (w = va_arg(ap, const char *));)
        words[nw++] = w;
    va_end(ap);
    int found = 0;
    out[0] = 0;
    pthread_mutex_lock(&g_lb.mu);
    for (char *line = g_lb.text; line && *line;) {
        char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char buf[2048];
        snprintf(buf, sizeof buf, "%.*s", (int)len, line);
        int ok = atoi(buf) <= max_level;
        for (int i = 0; ok && i < nw; i++)
            ok = strstr(buf, words[i]) != NULL;
        if (ok && !found++)
            snprintf(out, n, "%s", buf);
        line = end ? end + 1 : NULL;
    }
    pthread_mutex_unlock(&g_lb.mu);
    return found;
}

/* ---- statistics ---------------------------------------------------------- */

typedef struct sample {
    int connected, ready, topic_missing;
    int64_t stale_ms, rebuilds;
    char state[32], last_error[512], error[512];
} sample;

static void take_sample(fstore_store_t *s, const char *table, sample *o)
{
    json_t *st = it_stats(s);
    o->connected = json_is_true(it_json_at(st, "connected", NULL));
    o->ready = json_is_true(it_json_at(st, "ready", NULL));
    o->stale_ms = it_json_int(st, -1, "staleness_ms", NULL);
    o->rebuilds =
        it_json_int(st, -1, "tables", table, "counters", "rebuilds", NULL);
    o->topic_missing =
        json_is_true(it_json_at(st, "tables", table, "topic_missing", NULL));
    const char *v = json_string_value(it_json_at(st, "state", NULL));
    snprintf(o->state, sizeof o->state, "%s", v ? v : "?");
    v = json_string_value(it_json_at(st, "last_error", NULL));
    snprintf(o->last_error, sizeof o->last_error, "%s", v ? v : "");
    v = json_string_value(it_json_at(st, "error", NULL));
    snprintf(o->error, sizeof o->error, "%s", v ? v : "");
    json_decref(st);
}

static void print_stats(fstore_store_t *s)
{
    char *js = NULL;
    fstore_stats_json(s, &js);
    fprintf(stderr, "stats: %s\n", js ? js : "(none)");
    fstore_free(js);
}

/* ---- offsets ------------------------------------------------------------- */

/* The applied offsets of t (-1 where none) into off[0..parts). */
static void applied(fstore_store_t *s, const fstore_table_t *t, int parts,
                    int64_t *off)
{
    fstore_reader_t *r;
    IT_CHECK(fstore_reader_new(s, &r) == FSTORE_OK, "reader");
    for (int p = 0; p < parts; p++)
        if (fstore_reader_offset(r, t, p, &off[p]) != FSTORE_OK)
            off[p] = -1;
    fstore_reader_destroy(r);
}

/* Partitions whose applied offset is not at least hi[p] - 1 (exactly, when
 * exact), printed when verbose. */
static int behind(fstore_store_t *s, const fstore_table_t *t, int parts,
                  const int64_t *hi, int exact, int verbose)
{
    int64_t off[256];
    applied(s, t, parts, off);
    int n = 0;
    for (int p = 0; p < parts; p++) {
        int64_t want = hi[p] - 1;
        if (exact ? off[p] == want : off[p] >= want)
            continue;
        if (verbose)
            fprintf(stderr, "  partition %d: applied offset %lld, end %lld\n",
                    p, (long long)off[p], (long long)hi[p]);
        n++;
    }
    return n;
}

static void end_offsets(const char *topic, int parts, int64_t *hi)
{
    for (int p = 0; p < parts; p++) {
        int64_t lo;
        it_watermarks(topic, p, &lo, &hi[p]);
    }
}

/* Waits up to bound_s until every partition's applied offset is its end
 * offset (taken now) - 1. Returns the seconds it took, or -1. */
static double wait_applied(fstore_store_t *s, const fstore_table_t *t,
                           const char *topic, int parts, int bound_s)
{
    int64_t hi[256], t0 = it_now_us();
    end_offsets(topic, parts, hi);
    while (behind(s, t, parts, hi, 1, 0)) {
        if (it_now_us() - t0 > bound_s * 1000000LL) {
            behind(s, t, parts, hi, 1, 1);
            return -1;
        }
        it_sleep_ms(20);
    }
    return (double)(it_now_us() - t0) / 1e6;
}

/* ---- the producer -------------------------------------------------------- */

/* Produces rate records/s, so that every record produced during the
 * outage decides its key's final value: a record lost on the way into the
 * store then always shows in the final state, whereas a lost update that a
 * later one overwrites would not.
 *   before the outage: updates of random keys of 0 .. keys-1;
 *   during it: alternately an update of the next key of 0 .. keys/2-1
 *     (each once; inserts only once they are used up) and an insert of a
 *     key never written before (keys, keys+1, ...);
 *   after it: updates of random keys of keys/2 .. keys-1. */
enum { PP_BEFORE = 0, PP_OUTAGE = 1, PP_AFTER = 2 };

typedef struct prod {
    it_producer *p;
    int64_t *ver;
    long keys, rate;
    _Atomic int stop, phase;
    _Atomic int64_t sent, inserted, updated;
    pthread_t th;
} prod;

/* The key id of the next record (and whether it is new). */
static int64_t prod_next(prod *P, int64_t n, uint64_t *rs, int *insert)
{
    *insert = 0;
    int ph = atomic_load(&P->phase);
    int64_t half = P->keys / 2;
    if (ph == PP_BEFORE)
        return (int64_t)(it_rand(rs) % (uint64_t)P->keys);
    if (ph == PP_AFTER)
        return half + (int64_t)(it_rand(rs) % (uint64_t)(P->keys - half));
    if (n % 2 && atomic_load(&P->updated) < half)
        return atomic_fetch_add(&P->updated, 1);
    *insert = 1;
    return P->keys + atomic_fetch_add(&P->inserted, 1);
}

static void *prod_main(void *arg)
{
    prod *P = arg;
    uint64_t rs = 12345;
    int64_t t0 = it_now_us(), n = 0;
    while (!atomic_load(&P->stop)) {
        int64_t due = t0 + n * 1000000 / P->rate;
        if (due > it_now_us()) {
            it_poll(P->p, 1);
            continue;
        }
        int insert;
        int64_t id = prod_next(P, n, &rs, &insert);
        it_put(P->p, id, insert ? 1 : ++P->ver[id], IT_ID_SERVING);
        n++;
        atomic_store(&P->sent, n);
    }
    return NULL;
}

/* ---- the reader process -------------------------------------------------- */

typedef struct rproc {
    or_shared *sh;
    pid_t pid;
    char log[4200];
} rproc;

static void reader_start(const cfg *C, rproc *rp, const char *store,
                         const char *table, long nkeys, const char *tag)
{
    char shm[4200];
    snprintf(shm, sizeof shm, "%s/reader-%s.shm", it_dir(), tag);
    snprintf(rp->log, sizeof rp->log, "%s/reader-%s.log", it_dir(), tag);
    rp->sh = or_map(shm, 1);
    rp->pid = or_spawn(C->self, store, table, C->reader_cpu, nkeys, shm, rp->log);
    int64_t t0 = it_now_us();
    while (!atomic_load(&rp->sh->started)) {
        if (it_wait(rp->pid, 20) != -1 || it_now_us() - t0 > 30000000) {
            it_tail_file(rp->log, 20);
            IT_FAIL("the reader process did not start looking keys up");
        }
    }
}

static void reader_stop(rproc *rp, result *R)
{
    atomic_store(&rp->sh->stop, 1);
    int st = it_wait(rp->pid, 30000);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st)) {
        it_tail_file(rp->log, 20);
        check(R, 0, "the reader process ended badly (status %d)", st);
    }
    or_shared *sh = rp->sh;
    R->lookups = atomic_load(&sh->all.lookups);
    R->not_found = atomic_load(&sh->all.not_found);
    R->lookups_outage = atomic_load(&sh->ph[PH_OUTAGE].lookups);
    R->gap_ms = (double)atomic_load(&sh->all.max_gap_us) / 1e3;
    R->gap_outage_ms = (double)atomic_load(&sh->ph[PH_OUTAGE].max_gap_us) / 1e3;
    R->gap_at_s =
        (double)(atomic_load(&sh->all.max_gap_end_us) - R->t_outage0) / 1e6;
    for (int k = 0; k < 3; k++)
        R->gaps_over[k] = atomic_load(&sh->all.gaps_over[k]);
    R->gaps10_blocked = atomic_load(&sh->all.gaps10_blocked);
    R->gaps10_preempted = atomic_load(&sh->all.gaps10_preempted);
    int64_t failed = atomic_load(&sh->all.failed);
    check(R, failed == 0, "%lld lookups failed, the first: %s",
          (long long)failed, sh->why);
    check(R, R->lookups_outage > 0, "no lookup succeeded during the outage");
    check(R, atomic_load(&sh->ph[PH_AFTER].lookups) > 0,
          "no lookup succeeded after the outage");
    it_log("%s: reader: %lld lookups (%lld during the outage, %lld after), "
           "%lld not found; longest gap %.3f ms (%.3f ms during the outage), "
           "ended %+.1f s from the outage's start; gaps over 1/10/100 ms: "
           "%lld/%lld/%lld; of those over 10 ms, the reader blocked in %lld "
           "and was only preempted in %lld",
           R->name, (long long)R->lookups, (long long)R->lookups_outage,
           (long long)atomic_load(&sh->ph[PH_AFTER].lookups),
           (long long)R->not_found, R->gap_ms, R->gap_outage_ms, R->gap_at_s,
           (long long)R->gaps_over[0], (long long)R->gaps_over[1],
           (long long)R->gaps_over[2], (long long)R->gaps10_blocked,
           (long long)R->gaps10_preempted);
}

/* ---- a case's world ------------------------------------------------------ */

typedef struct world {
    char *topic;
    const char *table; /* the table's name (the case's) */
    char store_dir[4200];
    it_reclog log;
    it_producer *p;
    int64_t *ver;
    fstore_store_t *s;
    const fstore_table_t *t;
} world;

/* A topic holding every key once (version 1), and a store tailing it
 * until ready. */
static void world_open(const cfg *C, world *w, const char *tag,
                       const char *const *sprops)
{
    memset(w, 0, sizeof *w);
    w->topic = it_topic_name(tag);
    w->table = tag;
    it_create_topic(w->topic, C->parts, NULL);
    it_reclog_init(&w->log);
    char mto[64];
    /* Long enough to ride out the outage and the broker's restart. */
    snprintf(mto, sizeof mto, "message.timeout.ms=%d",
             (C->outage_s + 240) * 1000);
    const char *const props[] = {mto, "reconnect.backoff.max.ms=1000", NULL};
    w->p = it_producer_new(w->topic, &w->log, NULL, props);
    w->ver = calloc((size_t)C->keys, sizeof *w->ver);
    IT_CHECK(w->ver != NULL, "calloc");
    for (int64_t id = 0; id < C->keys; id++)
        it_put(w->p, id, ++w->ver[id], IT_ID_SERVING);
    it_flush(w->p);
    snprintf(w->store_dir, sizeof w->store_dir, "%s/store-%s", it_dir(), tag);
    w->s = it_store_open(w->store_dir, tag, sprops, &w->t);
    char errstr[1024];
    IT_CHECK(
        !fstore_tail_add(w->s, w->t, w->topic, NULL, errstr, sizeof errstr),
        "%s", errstr);
    IT_CHECK(!fstore_tail_start(w->s, errstr, sizeof errstr), "%s", errstr);
    IT_CHECK(fstore_tail_wait_ready(w->s, 60000) == FSTORE_OK,
             "%s: not ready within 60 s", tag);
}

static void world_close(world *w)
{
    if (w->s) {
        fstore_tail_stop(w->s);
        fstore_store_close(w->s);
    }
    it_producer_free(w->p);
    it_reclog_free(&w->log);
    free(w->ver);
    free(w->topic);
}

/* The store against the topic as a consumer of its own reads it, and the
 * topic against the producer's delivery log (when this process produced
 * it: log not NULL), over key ids < nids. Returns the differences. */
static size_t compare_all(const cfg *C, world *w, it_reclog *log,
                          const char *topic, int64_t nids)
{
    int64_t nrec = 0;
    it_expect *topic_view = ot_latest(topic, C->parts, nids, &nrec);
    it_expect *log_view =
        log ? it_expected(log, nids, NULL, 0, NULL, NULL) : NULL;
    size_t store_bad = it_compare(w->s, w->t, topic_view, nids, C->parts);
    size_t log_bad =
        log_view ? ot_diff("topic vs delivery log", topic_view, log_view, nids)
                 : 0;
    int64_t hi[256];
    end_offsets(topic, C->parts, hi);
    int off_bad = behind(w->s, w->t, C->parts, hi, 1, 1);
    it_log("compared: %lld records read back from %s; store vs topic: %zu "
           "differences; topic vs delivery log: %zu; partitions whose "
           "applied offset is not end - 1: %d",
           (long long)nrec, topic, store_bad, log_bad, off_bad);
    free(topic_view);
    free(log_view);
    return store_bad + log_bad + (size_t)off_bad;
}

/* ---- cases 1 and 2: the broker stopped or killed ------------------------- */

/* Samples the stats while the broker is down. */
typedef struct watch {
    int64_t stale0, stale_max;
    int saw_disconnected, saw_error;
    char error_seen[512];
} watch;

static void watch_sample(world *w, watch *W)
{
    sample sm;
    take_sample(w->s, w->table, &sm);
    W->saw_disconnected |= !sm.connected;
    if (sm.last_error[0] && !W->error_seen[0]) {
        W->saw_error = 1;
        snprintf(W->error_seen, sizeof W->error_seen, "%s", sm.last_error);
    }
    if (sm.stale_ms > W->stale_max)
        W->stale_max = sm.stale_ms;
}

/* The broker down for outage_s, then back; the stats watched meanwhile. */
static void outage(const cfg *C, ob_broker *B, world *w, rproc *rp, prod *P,
                   int kill, result *R, watch *W, int64_t *t_back)
{
    sample sm;
    take_sample(w->s, w->table, &sm);
    check(R, sm.connected && !strcmp(sm.state, "ready"),
          "before the outage the stats say state %s, connected %d", sm.state,
          sm.connected);
    W->stale0 = W->stale_max = sm.stale_ms;
    atomic_store(&rp->sh->phase, PH_OUTAGE);
    int64_t sent0 = atomic_load(&P->sent), t0 = it_now_us();
    R->t_outage0 = t0;
    atomic_store(&P->phase, PP_OUTAGE);
    double down_s = ob_down(B, kill);
    it_log("%s: broker %s in %.1f s; down for %d s while the producer keeps "
           "producing",
           R->name, kill ? "SIGKILLed" : "stopped", down_s, C->outage_s);
    while (it_now_us() - t0 < C->outage_s * 1000000LL) {
        watch_sample(w, W);
        it_sleep_ms(200);
    }
    double restart_at = (double)(it_now_us() - t0) / 1e6;
    pid_t up = ob_up_begin(B);
    double up_s = 0;
    while (ob_up_poll(B, up, 200, &up_s))
        watch_sample(w, W);
    *t_back = it_now_us();
    R->outage_s = (double)(*t_back - t0) / 1e6;
    atomic_store(&P->phase, PP_AFTER);
    R->produced_outage = atomic_load(&P->sent) - sent0;
    atomic_store(&rp->sh->phase, PH_AFTER);
    it_log("%s: broker back after %.1f s (restart began at +%.1f s, took "
           "%.1f s); %lld records produced meanwhile (%lld of them new "
           "keys, %lld updates each of a key of its own); the stats showed "
           "connected=false: %s, an error: %s, "
           "staleness from %lld up to %lld ms",
           R->name, R->outage_s, restart_at, up_s,
           (long long)R->produced_outage, (long long)atomic_load(&P->inserted),
           (long long)atomic_load(&P->updated),
           W->saw_disconnected ? "yes" : "no",
           W->saw_error ? W->error_seen : "none", (long long)W->stale0,
           (long long)W->stale_max);
}

/* From the broker's return until the store holds what was produced during
 * the outage: the records queued by then are delivered, and the applied
 * offsets reach the end offsets taken after that. */
static double catch_up(world *w, prod *P, const cfg *C, int64_t t_back,
                       result *R)
{
    size_t want = (size_t)C->keys + (size_t)atomic_load(&P->sent);
    int64_t bound = t_back + 120 * 1000000LL;
    /* The producer thread serves the delivery reports. */
    while (it_producer_delivered(w->p) < want) {
        if (it_now_us() > bound) {
            check(R, 0,
                  "the records produced during the outage were not "
                  "delivered within 120 s of the broker's return");
            return -1;
        }
        it_sleep_ms(10);
    }
    int64_t hi[256];
    end_offsets(w->topic, C->parts, hi);
    while (behind(w->s, w->t, C->parts, hi, 0, 0)) {
        if (it_now_us() > bound) {
            behind(w->s, w->t, C->parts, hi, 0, 1);
            print_stats(w->s);
            check(R, 0, "no catch-up within 120 s of the broker's return");
            return -1;
        }
        it_sleep_ms(10);
    }
    return (double)(it_now_us() - t_back) / 1e6;
}

/* After the catch-up the stats say ready, connected and current. */
static void stats_current(world *w, result *R)
{
    int64_t t0 = it_now_us();
    sample sm;
    for (;;) {
        take_sample(w->s, w->table, &sm);
        if (sm.connected && sm.stale_ms >= 0 && sm.stale_ms < 3000 &&
            !strcmp(sm.state, "ready"))
            break;
        if (it_now_us() - t0 > 30000000) {
            print_stats(w->s);
            check(R, 0,
                  "30 s after catching up the stats still say state %s, "
                  "connected %d, staleness %lld ms",
                  sm.state, sm.connected, (long long)sm.stale_ms);
            return;
        }
        it_sleep_ms(100);
    }
}

static void case_outage(const cfg *C, ob_broker *B, result *R, int kill)
{
    R->ran = 1;
    log_clear();
    world w;
    const char *const sprops[] = {"kafka.reconnect.backoff.max.ms=1000", NULL};
    world_open(C, &w, R->name, sprops);
    rproc rp;
    reader_start(C, &rp, w.store_dir, w.table, C->keys, R->name);
    prod P = {.p = w.p, .ver = w.ver, .keys = C->keys, .rate = C->rate};
    IT_CHECK(!pthread_create(&P.th, NULL, prod_main, &P), "thread");
    it_sleep_ms(3000); /* steady state: current, staleness small */

    watch W = {0};
    int64_t t_back = 0;
    outage(C, B, &w, &rp, &P, kill, R, &W, &t_back);
    R->saw_disconnected = W.saw_disconnected;
    R->stale_max_ms = W.stale_max;
    check(R, W.saw_disconnected || W.saw_error,
          "during the outage the stats said connected and no error");
    check(R, W.stale_max - W.stale0 >= (int64_t)(R->outage_s * 500),
          "staleness_ms went from %lld to only %lld ms during a %.1f s "
          "outage",
          (long long)W.stale0, (long long)W.stale_max, R->outage_s);

    R->caught_up_s = catch_up(&w, &P, C, t_back, R);
    it_log("%s: caught up %.2f s after the broker's return", R->name,
           R->caught_up_s);
    it_sleep_ms(C->after_s * 1000); /* traffic goes on */
    atomic_store(&P.stop, 1);
    pthread_join(P.th, NULL);
    it_flush(w.p);
    check(R, wait_applied(w.s, w.t, w.topic, C->parts, 60) >= 0,
          "the last records were not applied within 60 s");
    stats_current(&w, R);
    atomic_store(&rp.sh->phase, PH_END);
    reader_stop(&rp, R);
    R->mismatches =
        compare_all(C, &w, &w.log, w.topic, C->keys + atomic_load(&P.inserted));
    check(R, R->mismatches == 0, "%zu mismatches after the outage (above)",
          R->mismatches);
    char msg[512] = "";
    check(R, fstore_tail_error(w.s, msg, sizeof msg) == FSTORE_OK,
          "the tailer stopped: %s", msg);
    world_close(&w);
}

/* ---- case 3: the topic deleted and created again ------------------------- */

static rd_kafka_t *admin_client(void)
{
    char errstr[512];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (rd_kafka_conf_set(c, "bootstrap.servers", it_brokers(), errstr,
                          sizeof errstr))
        IT_FAIL("conf: %s", errstr);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, errstr, sizeof errstr);
    if (!rk)
        IT_FAIL("rd_kafka_new: %s", errstr);
    return rk;
}

/* Deletes topic and waits until the broker's metadata no longer has it. */
static void delete_topic(const char *topic)
{
    rd_kafka_t *rk = admin_client();
    char why[512];
    const char *names[] = {topic};
    if (sup_delete_topics(rk, names, 1, 30000, why, sizeof why))
        IT_FAIL("deleting %s: %s", topic, why);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    int64_t t0 = it_now_us();
    for (;;) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 5000);
        int gone = !e && md->topic_cnt == 1 &&
                   md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
        if (md)
            rd_kafka_metadata_destroy(md);
        if (gone)
            break;
        if (it_now_us() - t0 > 30000000)
            IT_FAIL("%s still in the metadata 30 s after its deletion", topic);
        it_sleep_ms(100);
    }
    rd_kafka_topic_destroy(rkt);
    rd_kafka_destroy(rk);
}

/* Creates topic again, retrying while the broker still finishes the
 * deletion. */
static void create_again(const char *topic, int parts)
{
    rd_kafka_t *rk = admin_client();
    sup_topic t = {topic, parts, 1, NULL};
    char why[512];
    int64_t t0 = it_now_us();
    while (sup_create_topics(rk, &t, 1, 0, 30000, why, sizeof why) != 1) {
        if (it_now_us() - t0 > 60000000)
            IT_FAIL("creating %s again: %s", topic, why);
        it_sleep_ms(500);
    }
    rd_kafka_destroy(rk);
}

/* The keys of the new topic: all but the last tenth, whose rows a rebuild
 * must drop. */
static long new_keys(const cfg *C)
{
    return C->keys - C->keys / 10;
}

/* Versions of the new topic start here: a row from before the deletion
 * can never pass for one of the new topic. */
#define NEW_VERSION 1000000

/* Waits for the tailer's answer to the recreated topic: failed (fail) or
 * rebuilt and caught up with the new topic (rebuild). Returns the seconds
 * from the creation, or -1 when it did not come within react_s. */
static double wait_reaction(const cfg *C, world *w, int rebuild,
                            int64_t t_created)
{
    const char *table = w->table;
    int64_t hi[256];
    end_offsets(w->topic, C->parts, hi);
    for (;;) {
        sample sm;
        take_sample(w->s, table, &sm);
        if (!rebuild && !strcmp(sm.state, "failed"))
            break;
        if (rebuild && sm.rebuilds > 0 &&
            !behind(w->s, w->t, C->parts, hi, 1, 0))
            break;
        if (it_now_us() - t_created > C->react_s * 1000000LL) {
            print_stats(w->s);
            if (rebuild)
                behind(w->s, w->t, C->parts, hi, 1, 1);
            return -1;
        }
        it_sleep_ms(50);
    }
    return (double)(it_now_us() - t_created) / 1e6;
}

/* fail: the tailer stopped with an error that says what happened (the
 * stored offset is gone, or the topic was recreated), where (the topic),
 * and what to do (tail.offset_reset=rebuild); the stats and an error line
 * of the log say the same; the rows stay those of the old topic. */
static void recreate_checks_fail(world *w, it_expect *before, const cfg *C,
                                 result *R)
{
    char msg[1024] = "";
    fstore_err_t e = fstore_tail_error(w->s, msg, sizeof msg);
    check(R,
          e == FSTORE_ERR_KAFKA && strstr(msg, w->topic) &&
              (strstr(msg, "no longer exists") || strstr(msg, "recreated")) &&
              strstr(msg, "tail.offset_reset=rebuild"),
          "fstore_tail_error: %s \"%s\", want FSTORE_ERR_KAFKA saying the "
          "stored offset of %s no longer exists or the topic was recreated, "
          "and naming tail.offset_reset=rebuild",
          fstore_err_name(e), msg, w->topic);
    sample sm;
    take_sample(w->s, w->table, &sm);
    check(R, !strcmp(sm.state, "failed") && !strcmp(sm.error, msg),
          "stats: state %s, error \"%s\"", sm.state, sm.error);
    check(R, sm.rebuilds == 0, "tail.offset_reset=fail rebuilt the table");
    char line[2048] = "";
    int lines = msg[0] ? log_find(line, sizeof line, 3, msg, NULL) : 0;
    check(R, lines > 0, "no error line logged with the tailer's error");
    if (line[0])
        snprintf(R->note, sizeof R->note, "logged: %.480s", line);
    /* The rows stay as they were: the store still equals the old topic. */
    size_t bad = it_compare(w->s, w->t, before, C->keys, C->parts);
    check(R, bad == 0,
          "after the failure the store differs from the topic "
          "before the deletion in %zu places (above)",
          bad);
    R->mismatches += bad;
}

static void recreate_checks_rebuild(world *w, it_reclog *nlog, const cfg *C,
                                    result *R)
{
    char msg[1024] = "";
    fstore_err_t e = fstore_tail_error(w->s, msg, sizeof msg);
    check(R, e == FSTORE_OK, "the tailer stopped: %s", msg);
    sample sm;
    take_sample(w->s, w->table, &sm);
    check(R, sm.rebuilds == 1 && !strcmp(sm.state, "ready"),
          "stats: counters.rebuilds %lld, state %s; want 1 and ready",
          (long long)sm.rebuilds, sm.state);
    char line[2048];
    int lines =
        log_find(line, sizeof line, 4, w->topic, "rebuilding table", NULL);
    check(R, lines == 1,
          "%d warnings logged about rebuilding the table, want 1 (one "
          "recreated topic)",
          lines);
    if (line[0])
        snprintf(R->note, sizeof R->note, "logged (%d times): %.440s", lines,
                 line);
    R->mismatches += compare_all(C, w, nlog, w->topic, C->keys);
    check(R, R->mismatches == 0, "%zu mismatches after the rebuild (above)",
          R->mismatches);
}

/* How the topic comes back. */
enum {
    RC_SHORTER, /* while tailing, with fewer records than the store applied */
    RC_LONGER,  /* while tailing, at once with more records than that */
    RC_PAUSED,  /* the same while the tailing process is stopped */
    RC_OFFLINE, /* while the store is closed, with more records than that */
};

/* Fills the recreated topic: every key of new_keys() once (shorter), or
 * rounds of them, as fast as the producer goes, until every partition
 * ends at least 500 records past its stored offset. Returns the records
 * produced; the end offsets in hi. */
static int64_t fill_again(const cfg *C, const char *topic, it_producer *np,
                          int mode, const int64_t *stored, int64_t *hi)
{
    int64_t n = 0;
    for (int round = 0;; round++) {
        for (int64_t id = 0; id < new_keys(C); id++, n++)
            it_put(np, id, NEW_VERSION + round, IT_ID_SERVING);
        it_flush(np);
        end_offsets(topic, C->parts, hi);
        int past = 1;
        for (int p = 0; p < C->parts; p++)
            past &= hi[p] > stored[p] + 500;
        if (mode == RC_SHORTER || past)
            return n;
    }
}

/* --pause-fill PARENT TOPIC PARTS KEYS STORED,...: stops the campaign's
 * process (SIGSTOP: its tailer, its Kafka clients, everything but the
 * reader process), creates TOPIC again, fills it past the stored offsets
 * and lets the campaign go on (SIGCONT), whatever became of the filling:
 * a tailer that is paused (a long pause of the machine, of the process)
 * exactly while its topic comes back. The filling runs in a child, so that
 * the campaign is let go even when it fails. */
static int pause_fill_main(int argc, char **argv)
{
    if (argc != 5)
        IT_FAIL("usage: --pause-fill PARENT TOPIC PARTS KEYS STORED,...");
    pid_t parent = (pid_t)atol(argv[0]);
    cfg C = {.parts = atoi(argv[2]), .keys = atol(argv[3])};
    int64_t stored[256], hi[256];
    char *save = NULL, *list = argv[4];
    int n = 0;
    for (char *t = strtok_r(list, ",", &save); t && n < 256;
         t = strtok_r(NULL, ",", &save))
        stored[n++] = atoll(t);
    IT_CHECK(parent > 1 && C.parts > 0 && C.parts == n && C.keys > 0,
             "bad --pause-fill arguments");
    if (kill(parent, SIGSTOP))
        IT_FAIL("SIGSTOP %d: %s", (int)parent, strerror(errno));
    fflush(stdout);
    pid_t w = fork();
    if (w == 0) {
        it_init("soak.outage.fill");
        create_again(argv[1], C.parts);
        int64_t t0 = it_now_us();
        it_reclog log;
        it_reclog_init(&log);
        it_producer *np = it_producer_new(argv[1], &log, NULL, NULL);
        int64_t nrec = fill_again(&C, argv[1], np, RC_PAUSED, stored, hi);
        it_log("created %s again and filled it with %lld records in %.2f s",
               argv[1], (long long)nrec, (double)(it_now_us() - t0) / 1e6);
        it_producer_free(np);
        it_reclog_free(&log);
        _exit(it_pass());
    }
    int st = -1;
    if (w > 0)
        while (waitpid(w, &st, 0) < 0 && errno == EINTR)
            ;
    kill(parent, SIGCONT);
    return w > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

/* RC_PAUSED: the topic comes back while this process is stopped. Returns
 * the records of the new topic; its end offsets in hi. */
static int64_t paused_return(const cfg *C, world *w, const int64_t *stored,
                             int64_t *hi)
{
    char list[4096] = "", ppid[32], parts[16], keys[32], logp[4200];
    for (int p = 0; p < C->parts; p++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%lld",
                 p ? "," : "", (long long)stored[p]);
    snprintf(ppid, sizeof ppid, "%d", (int)getpid());
    snprintf(parts, sizeof parts, "%d", C->parts);
    snprintf(keys, sizeof keys, "%ld", C->keys);
    snprintf(logp, sizeof logp, "%s/pause-fill-%s.log", it_dir(), w->table);
    char *argv[] = {(char *)(uintptr_t)C->self,
                    (char *)(uintptr_t) "--pause-fill",
                    ppid,
                    w->topic,
                    parts,
                    keys,
                    list,
                    NULL};
    pid_t pid = it_spawn(argv, logp);
    int st = it_wait(pid, 180000);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st)) {
        it_tail_file(logp, 20);
        IT_FAIL("recreating and filling %s while the campaign was stopped "
                "failed (status %d)",
                w->topic, st);
    }
    end_offsets(w->topic, C->parts, hi);
    int64_t n = 0;
    for (int p = 0; p < C->parts; p++)
        n += hi[p];
    return n;
}

/* Deleted for outage_s while the stats are watched: a store that tails it
 * must not look current (staleness grows, the table says its topic is
 * missing, last_error says so). */
static void deleted_for(const cfg *C, world *w, result *R, int64_t t0)
{
    watch W = {0};
    W.stale0 = -1;
    int said_gone = 0; /* last_error said so at least once */
    while (it_now_us() - t0 < C->outage_s * 1000000LL) {
        if (w->s) {
            watch_sample(w, &W);
            if (W.stale0 < 0)
                W.stale0 = W.stale_max;
            sample sm;
            take_sample(w->s, w->table, &sm);
            said_gone |= strstr(sm.last_error, "does not exist") != NULL;
        }
        it_sleep_ms(200);
    }
    if (!w->s)
        return;
    sample sm;
    take_sample(w->s, w->table, &sm);
    it_log("%s: while deleted the stats said state %s, connected %d, "
           "topic_missing %d, staleness %lld ms (from %lld, at most %lld), "
           "last_error \"%s\"",
           R->name, sm.state, sm.connected, sm.topic_missing,
           (long long)sm.stale_ms, (long long)W.stale0, (long long)W.stale_max,
           sm.last_error);
    check(R, sm.topic_missing, "the table's topic_missing is false while its "
                               "topic has been deleted for %d s",
          C->outage_s);
    check(R, W.stale_max - W.stale0 >= C->outage_s * 500LL,
          "staleness_ms went from %lld to only %lld ms while the topic was "
          "deleted for %d s: the store looked current",
          (long long)W.stale0, (long long)W.stale_max, C->outage_s);
    check(R, said_gone, "last_error never said the topic is gone (last: \"%s\")",
          sm.last_error);
}

/* Tails the store of w again (after RC_OFFLINE closed it). */
static void reopen(world *w, const char *const *sprops)
{
    w->s = it_store_open(w->store_dir, w->table, sprops, &w->t);
    char errstr[1024];
    IT_CHECK(
        !fstore_tail_add(w->s, w->t, w->topic, NULL, errstr, sizeof errstr),
        "%s", errstr);
    IT_CHECK(!fstore_tail_start(w->s, errstr, sizeof errstr), "%s", errstr);
}

/* A store tailing every key in two versions; the old topic's state in
 * *before, the applied offsets in stored. */
static void recreate_setup(const cfg *C, world *w, result *R,
                           const char *const *sprops, it_expect **before,
                           int64_t *stored)
{
    world_open(C, w, R->name, sprops);
    /* A second version of every key: the stored offsets are then about
     * twice what a shorter new topic holds. */
    for (int64_t id = 0; id < C->keys; id++)
        it_put(w->p, id, ++w->ver[id], IT_ID_SERVING);
    it_flush(w->p);
    check(R, wait_applied(w->s, w->t, w->topic, C->parts, 60) >= 0,
          "the second versions were not applied within 60 s");
    *before = it_expected(&w->log, C->keys, NULL, 0, NULL, NULL);
    it_producer_free(w->p);
    w->p = NULL;
    applied(w->s, w->t, C->parts, stored);
}

static const char *const rc_where[] = {
    " while tailing", " while tailing",
    (" while tailing (the tailing process is stopped while it comes back)"),
    " with the store closed"};

static void case_recreate(const cfg *C, result *R, int rebuild, int mode)
{
    R->ran = 1;
    log_clear();
    world w;
    const char *const sprops[] = {rebuild ? "tail.offset_reset=rebuild"
                                          : "tail.offset_reset=fail",
                                  "kafka.reconnect.backoff.max.ms=1000", NULL};
    it_expect *before;
    int64_t stored[256], hi[256];
    recreate_setup(C, &w, R, sprops, &before, stored);
    rproc rp;
    reader_start(C, &rp, w.store_dir, w.table, new_keys(C), R->name);
    it_sleep_ms(1000);
    /* A rebuild empties the table before it reloads it. */
    atomic_store(&rp.sh->allow_not_found, rebuild);
    atomic_store(&rp.sh->phase, PH_OUTAGE);
    if (mode == RC_OFFLINE) {
        IT_CHECK(fstore_tail_stop(w.s) == FSTORE_OK, "tail stop");
        fstore_store_close(w.s);
        w.s = NULL;
    }
    int64_t t0 = it_now_us();
    R->t_outage0 = t0;
    delete_topic(w.topic);
    it_log("%s: %s deleted%s (applied offsets %lld, %lld, %lld, ...); it "
           "stays deleted for %d s",
           R->name, w.topic, rc_where[mode], (long long)stored[0],
           (long long)stored[1], (long long)stored[2], C->outage_s);
    deleted_for(C, &w, R, t0);

    it_reclog nlog;
    it_reclog_init(&nlog);
    it_producer *np = NULL;
    int64_t t_created = it_now_us();
    if (mode == RC_PAUSED) {
        R->produced_outage = paused_return(C, &w, stored, hi);
    } else {
        create_again(w.topic, C->parts);
        t_created = it_now_us();
        np = it_producer_new(w.topic, &nlog, NULL, NULL);
        R->produced_outage = fill_again(C, w.topic, np, mode, stored, hi);
    }
    R->outage_s = (double)(t_created - t0) / 1e6;
    it_log("%s: created again; %.2f s later it held %lld records (end "
           "offsets %lld, %lld, %lld, ...; stored %lld, %lld, %lld, ...)",
           R->name, (double)(it_now_us() - t_created) / 1e6,
           (long long)R->produced_outage, (long long)hi[0], (long long)hi[1],
           (long long)hi[2], (long long)stored[0], (long long)stored[1],
           (long long)stored[2]);
    for (int p = 0; mode == RC_SHORTER && p < C->parts; p++)
        IT_CHECK(hi[p] <= stored[p], "partition %d: end %lld, stored %lld", p,
                 (long long)hi[p], (long long)stored[p]);
    if (mode == RC_PAUSED)
        t_created = it_now_us(); /* the tailer goes on from here */
    if (mode == RC_OFFLINE) {
        t_created = it_now_us();
        reopen(&w, sprops);
    }

    R->caught_up_s = wait_reaction(C, &w, rebuild, t_created);
    check(R, R->caught_up_s >= 0,
          "tail.offset_reset=%s: no reaction within %d s to the recreated "
          "topic",
          rebuild ? "rebuild" : "fail", C->react_s);
    it_log("%s: the tailer %s %.2f s after the topic's return", R->name,
           R->caught_up_s < 0 ? "did nothing (so far)"
           : rebuild          ? "rebuilt the table"
                              : "stopped",
           R->caught_up_s);
    atomic_store(&rp.sh->phase, PH_AFTER);
    it_sleep_ms(2000); /* readers go on after it */
    atomic_store(&rp.sh->phase, PH_END);
    reader_stop(&rp, R);
    if (rebuild)
        recreate_checks_rebuild(&w, np ? &nlog : NULL, C, R);
    else
        recreate_checks_fail(&w, before, C, R);
    it_producer_free(np);
    it_reclog_free(&nlog);
    free(before);
    world_close(&w);
}

/* ---- main ---------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: soak_outage [--broker-sh PATH] [--outage-seconds N] "
            "[--after-seconds N] [--rate N] [--keys N] [--partitions N] "
            "[--react-seconds N] [--cases all|CASE,...] [--reader-cpu N]\n"
            "--reader-cpu N: the reader process runs on CPU N only\n"
            "cases: stop kill recreate-fail recreate-rebuild "
            "recreate-longer-fail recreate-longer-rebuild "
            "recreate-paused-fail recreate-paused-rebuild "
            "recreate-offline-fail recreate-offline-rebuild\n"
            "default: stop,kill,recreate-fail,recreate-rebuild,"
            "recreate-paused-fail,recreate-offline-fail\n");
    exit(2);
}

static long num_arg(const char *name, const char *v, long lo, long hi)
{
    char *end;
    errno = 0;
    long n = v ? strtol(v, &end, 10) : 0;
    if (!v || errno || *end || n < lo || n > hi) {
        fprintf(stderr, "%s needs an integer from %ld to %ld\n", name, lo, hi);
        usage();
    }
    return n;
}

static void parse_args(cfg *C, int argc, char **argv)
{
    C->broker_sh = FSTORE_SOAK_BROKER_SH;
    C->outage_s = 12;
    C->after_s = 3;
    C->rate = 500;
    C->keys = 3000;
    C->parts = 3;
    C->react_s = 30;
    C->reader_cpu = -1;
    snprintf(C->cases, sizeof C->cases, "%s",
             "stop,kill,recreate-fail,recreate-rebuild,recreate-paused-fail,"
             "recreate-offline-fail");
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--broker-sh") && v)
            C->broker_sh = v;
        else if (!strcmp(a, "--outage-seconds"))
            C->outage_s = (int)num_arg(a, v, 1, 3600);
        else if (!strcmp(a, "--after-seconds"))
            C->after_s = (int)num_arg(a, v, 0, 3600);
        else if (!strcmp(a, "--rate"))
            C->rate = num_arg(a, v, 1, 100000);
        else if (!strcmp(a, "--keys"))
            C->keys = num_arg(a, v, 100, 10000000);
        else if (!strcmp(a, "--partitions"))
            C->parts = (int)num_arg(a, v, 1, 256);
        else if (!strcmp(a, "--react-seconds"))
            C->react_s = (int)num_arg(a, v, 1, 3600);
        else if (!strcmp(a, "--reader-cpu"))
            C->reader_cpu = (int)num_arg(a, v, 0, CPU_SETSIZE - 1);
        else if (!strcmp(a, "--cases") && v)
            snprintf(C->cases, sizeof C->cases, "%s", v);
        else
            usage();
    }
    if (!C->broker_sh[0])
        usage();
    ssize_t n = readlink("/proc/self/exe", C->self, sizeof C->self - 1);
    if (n <= 0)
        IT_FAIL("readlink /proc/self/exe: %s", strerror(errno));
    C->self[n] = 0;
}

static int wanted(const cfg *C, const char *name)
{
    char list[256];
    snprintf(list, sizeof list, "%s", C->cases);
    char *save = NULL;
    for (char *c = strtok_r(list, ",", &save); c;
         c = strtok_r(NULL, ",", &save))
        if (!strcmp(c, name) || !strcmp(c, "all"))
            return 1;
    return 0;
}

static int summary(const cfg *C, const result *R, int n)
{
    int failed = 0;
    printf("\nSUMMARY (outage %d s, %ld keys, %d partitions, %ld records/s)\n",
           C->outage_s, C->keys, C->parts, C->rate);
    printf("%-24s %8s %10s %9s %8s %9s %9s %8s %9s %6s %s\n", "case",
           "outage_s", "lookups", "in_outage", "gap_ms", "gap_out", "produced",
           "caught_s", "stale_ms", "mism", "result");
    for (int i = 0; i < n; i++) {
        if (!R[i].ran)
            continue;
        printf("%-24s %8.1f %10lld %9lld %8.3f %9.3f %9lld %8.2f %9lld %6zu "
               "%s\n",
               R[i].name, R[i].outage_s, (long long)R[i].lookups,
               (long long)R[i].lookups_outage, R[i].gap_ms, R[i].gap_outage_ms,
               (long long)R[i].produced_outage, R[i].caught_up_s,
               (long long)R[i].stale_max_ms, R[i].mismatches,
               R[i].failures ? "FAILED" : "ok");
        printf("RESULT soak.outage case=%s outage_s=%.1f lookups=%lld "
               "lookups_outage=%lld not_found=%lld gap_ms=%.3f "
               "gap_outage_ms=%.3f produced_outage=%lld caught_up_s=%.2f "
               "stale_max_ms=%lld mismatches=%zu failures=%d\n",
               R[i].name, R[i].outage_s, (long long)R[i].lookups,
               (long long)R[i].lookups_outage, (long long)R[i].not_found,
               R[i].gap_ms, R[i].gap_outage_ms, (long long)R[i].produced_outage,
               R[i].caught_up_s, (long long)R[i].stale_max_ms, R[i].mismatches,
               R[i].failures);
        if (R[i].note[0])
            printf("  %s\n", R[i].note);
        failed += R[i].failures > 0;
    }
    return failed;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "--reader"))
        return or_main(argc - 2, argv + 2);
    if (argc >= 2 && !strcmp(argv[1], "--pause-fill"))
        return pause_fill_main(argc - 2, argv + 2);
    cfg C;
    parse_args(&C, argc, argv);
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *sel = getenv("FSTORE_TEST_BROKERS");
    if (!sel || !*sel)
        IT_FAIL("FSTORE_TEST_BROKERS is not set: start a broker with "
                "`BROKERS=$(tests/kafka/broker.sh start)` and export "
                "FSTORE_TEST_BROKERS=$BROKERS (scripts/test.sh does this in "
                "its kafka stage)");
    printf("FSTORE_TEST_BROKERS=%s selects the kafka tests; this campaign "
           "stops and kills brokers, so it starts one of its own and never "
           "contacts that one\n",
           sel);
    if (C.reader_cpu >= 0)
        printf("the reader process runs on CPU %d only\n", C.reader_cpu);
    ob_broker B;
    ob_start(&B, C.broker_sh);
    setenv("FSTORE_TEST_BROKERS", B.addr, 1);
    it_init("soak.outage");
    it_set_store_log_cb(log_cb, &g_lb);

    result R[] = {{.name = "stop"},
                  {.name = "kill"},
                  {.name = "recreate-fail"},
                  {.name = "recreate-rebuild"},
                  {.name = "recreate-longer-fail"},
                  {.name = "recreate-longer-rebuild"},
                  {.name = "recreate-paused-fail"},
                  {.name = "recreate-paused-rebuild"},
                  {.name = "recreate-offline-fail"},
                  {.name = "recreate-offline-rebuild"}};
    if (wanted(&C, "stop"))
        case_outage(&C, &B, &R[0], 0);
    if (wanted(&C, "kill"))
        case_outage(&C, &B, &R[1], 1);
    for (int i = 2; i < 10; i++)
        if (wanted(&C, R[i].name))
            case_recreate(&C, &R[i], i % 2, (i - 2) / 2);
    int ran = 0;
    for (size_t i = 0; i < sizeof R / sizeof R[0]; i++)
        ran += R[i].ran;
    if (!ran)
        IT_FAIL("--cases %s names no case", C.cases);
    int failed = summary(&C, R, (int)(sizeof R / sizeof R[0]));
    ob_finish(&B, failed > 0);
    free(g_lb.text);
    if (failed) {
        fprintf(stderr,
                "FAIL soak.outage: %d case(s) failed; scratch "
                "directory kept: %s\n",
                failed, it_dir());
        return 1;
    }
    return it_pass();
}
