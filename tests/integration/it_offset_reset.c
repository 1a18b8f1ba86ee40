/*
 * Scenario: a stored offset that no longer exists in the topic
 * (`tail.offset_reset`, docs/configuration.md; docs/architecture.md, Faults).
 *
 * Every case starts alike on a topic of its own (cleanup.policy=delete, 4
 * partitions): records of 2000 keys (puts, updates, tombstones) are tailed
 * into a store until ready, the store equals the topic, and it is closed.
 * More records follow (updates of 500 of the keys, 1000 new keys), then the
 * Admin API's DeleteRecords moves log starts. The store is reopened and
 * tailed again:
 *
 *   fail       partitions 0 and 1 lose records past the stored offset (half
 *              of what follows it), partition 2 loses records below it,
 *              3 nothing. The tailer stops: fstore_tail_wait_ready says
 *              FSTORE_ERR_STATE, fstore_tail_error FSTORE_ERR_KAFKA with a
 *              message saying the stored offset no longer exists and naming
 *              tail.offset_reset=rebuild, an error line is logged, the stats
 *              say state "failed" with that error, fstore_tail_stop returns
 *              the error. Readers keep serving: partitions 0 and 1 applied
 *              nothing more, and the store still equals the topic as it was
 *              up to its applied offsets, rows of deleted records included.
 *   rebuild    the same deletions. The tailer empties the table and reloads
 *              it from the new beginning of the topic: ready, no error,
 *              counters.rebuilds = 1 and a warning logged; the store equals
 *              exactly the records still in the topic (keys whose records
 *              were all deleted are gone), applied offsets = end - 1; then
 *              live records still apply.
 *   reachable  partition 0's log start moves exactly to the stored offset
 *              + 1 and partition 1's below the stored offset: nothing the
 *              store needs is gone, so `fail` is not triggered: ready, no
 *              error, no rebuild, every row kept (also rows of deleted
 *              records) and the new records applied.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "itest.h"

#define NPARTS 4
#define NA 2000     /* keys of the first records */
#define NB_UPD 500  /* of them, updated after the first tailing */
#define NB_NEW 1000 /* new keys after the first tailing */
#define NIDS (NA + NB_NEW)
#define READY_MS 60000

/* ---- log lines of the stores -------------------------------------------- */

typedef struct logbuf {
    pthread_mutex_t mu;
    char *text;
    size_t len, cap;
} logbuf;

static logbuf g_lb = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0};

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
    pthread_mutex_unlock(&lb->mu);
    if (level <= 4)
        fprintf(stderr, "fstore: %d %s\n", level, msg);
}

static void log_clear(void)
{
    pthread_mutex_lock(&g_lb.mu);
    g_lb.len = 0;
    if (g_lb.text)
        g_lb.text[0] = 0;
    pthread_mutex_unlock(&g_lb.mu);
}

/* Whether a line at level <= max_level holds every one of the NULL-ended
 * strings. */
static int log_has(int max_level, ...)
{
    const char *words[8];
    int nw = 0;
    va_list ap;
    va_start(ap, max_level);
    for (const char *w; nw < 8 && (w = va_arg(ap, const char *));)
        words[nw++] = w;
    va_end(ap);
    int found = 0;
    pthread_mutex_lock(&g_lb.mu);
    for (char *line = g_lb.text; !found && line && *line;) {
        char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char buf[2048];
        snprintf(buf, sizeof buf, "%.*s", (int)len, line);
        int ok = atoi(buf) <= max_level;
        for (int i = 0; ok && i < nw; i++)
            ok = strstr(buf, words[i]) != NULL;
        found = ok;
        line = end ? end + 1 : NULL;
    }
    pthread_mutex_unlock(&g_lb.mu);
    return found;
}

/* ---- one case's topic, producer and store -------------------------------- */

typedef struct world {
    const char *name;
    char *topic;
    it_reclog log;
    it_producer *p;
    int64_t ver[NIDS];
    char store[4200];
    int64_t stored[NPARTS]; /* applied offsets after the first tailing */
    int64_t end[NPARTS];    /* end offsets before the deletions */
} world;

static void put(world *w, int64_t id)
{
    it_put(w->p, id, ++w->ver[id], IT_ID_SERVING);
}

static fstore_store_t *open_tailing(world *w, const char *policy,
                                    const fstore_table_t **t)
{
    char prop[64], errstr[512];
    snprintf(prop, sizeof prop, "tail.offset_reset=%s", policy);
    const char *const props[] = {prop, NULL};
    fstore_store_t *s = it_store_open(w->store, w->topic, props, t);
    IT_CHECK(!fstore_tail_add(s, *t, w->topic, NULL, errstr, sizeof errstr),
             "%s", errstr);
    IT_CHECK(!fstore_tail_start(s, errstr, sizeof errstr), "%s", errstr);
    return s;
}

/* The latest state of every key from the records still in the topic: those
 * at or after the log start lo[p] of their partition. */
static it_expect *expected_from(world *w, const int64_t *lo)
{
    it_reclog f;
    it_reclog_init(&f);
    pthread_mutex_lock(&w->log.mu);
    f.recs = malloc((w->log.n + 1) * sizeof *f.recs);
    IT_CHECK(f.recs != NULL, "malloc");
    for (size_t i = 0; i < w->log.n; i++) {
        const it_rec *r = &w->log.recs[i];
        if (r->partition >= 0 && r->partition < NPARTS &&
            r->offset >= lo[r->partition])
            f.recs[f.n++] = *r;
    }
    pthread_mutex_unlock(&w->log.mu);
    f.cap = f.n;
    it_expect *e = it_expected(&f, NIDS, NULL, 0, NULL, NULL);
    it_reclog_free(&f);
    return e;
}

/* Keys with a value decided by a record before the log start lo[p]: rows a
 * rebuild drops (absent from the topic) or reads again from a later record. */
static size_t rows_of_deleted(const it_expect *all, const int64_t *lo)
{
    size_t n = 0;
    for (int64_t id = 0; id < NIDS; id++)
        n += all[id].version >= 0 && all[id].offset < lo[all[id].partition];
    return n;
}

/* The first records, tailed until ready; then the records that follow. */
static void setup_world(world *w, const char *name)
{
    memset(w, 0, sizeof *w);
    w->name = name;
    w->topic = it_topic_name(name);
    it_create_topic(w->topic, NPARTS, NULL);
    it_reclog_init(&w->log);
    w->p = it_producer_new(w->topic, &w->log, NULL, NULL);
    snprintf(w->store, sizeof w->store, "%s/store-%s", it_dir(), name);

    for (int64_t id = 0; id < NA; id++)
        put(w, id);
    for (int64_t id = 0; id < NA / 4; id++)
        put(w, id);
    for (int64_t id = 7; id < NA; id += 50)
        it_del(w->p, id);
    it_flush(w->p);

    const fstore_table_t *t;
    fstore_store_t *s = open_tailing(w, "fail", &t);
    IT_CHECK(fstore_tail_wait_ready(s, READY_MS) == FSTORE_OK,
             "%s: first tailing not ready", name);
    it_expect *exp = it_expected(&w->log, NIDS, NULL, 0, NULL, NULL);
    IT_CHECK(it_compare(s, t, exp, NIDS, NPARTS) == 0,
             "%s: the first tailing differs from the topic", name);
    it_check_offsets(s, t, w->topic, NPARTS, NULL, NULL);
    it_stored_offsets(s, t, w->stored, NPARTS);
    IT_CHECK(fstore_tail_stop(s) == FSTORE_OK, "%s: stop", name);
    fstore_store_close(s);
    size_t live = it_live_count(exp, NIDS);
    free(exp);

    for (int64_t id = 0; id < NB_UPD; id++) {
        if (id % 50 == 13)
            it_del(w->p, id);
        else
            put(w, id);
    }
    for (int64_t id = NA; id < NIDS; id++)
        put(w, id);
    it_flush(w->p);
    for (int p = 0; p < NPARTS; p++) {
        int64_t lo, hi;
        it_watermarks(w->topic, p, &lo, &hi);
        IT_CHECK(lo == 0 && w->stored[p] >= 10 && hi - w->stored[p] > 10,
                 "%s [%d]: log start %lld, stored offset %lld, end %lld",
                 w->topic, p, (long long)lo, (long long)w->stored[p],
                 (long long)hi);
        w->end[p] = hi;
    }
    it_log("%s: %s tailed (%zu live keys, applied %lld,%lld,%lld,%lld), then "
           "more records (ends %lld,%lld,%lld,%lld)",
           name, w->topic, live, (long long)w->stored[0],
           (long long)w->stored[1], (long long)w->stored[2],
           (long long)w->stored[3], (long long)w->end[0], (long long)w->end[1],
           (long long)w->end[2], (long long)w->end[3]);
}

static void free_world(world *w)
{
    it_producer_free(w->p);
    it_reclog_free(&w->log);
    free(w->topic);
}

/* Moves the log starts of the four partitions to lo[p] (0: untouched). */
static void truncate_topic(world *w, const int64_t *lo)
{
    int32_t parts[NPARTS];
    int64_t before[NPARTS];
    int n = 0;
    for (int p = 0; p < NPARTS; p++)
        if (lo[p] > 0) {
            parts[n] = p;
            before[n++] = lo[p];
        }
    it_delete_records(w->topic, parts, before, n);
    for (int p = 0; p < NPARTS; p++) {
        int64_t l, h;
        it_watermarks(w->topic, p, &l, &h);
        IT_CHECK(l == lo[p] && h == w->end[p],
                 "%s [%d]: watermarks %lld..%lld after DeleteRecords, want "
                 "%lld..%lld",
                 w->topic, p, (long long)l, (long long)h, (long long)lo[p],
                 (long long)w->end[p]);
    }
    it_log("%s: DeleteRecords: log starts now %lld,%lld,%lld,%lld (stored "
           "offsets %lld,%lld,%lld,%lld)",
           w->name, (long long)lo[0], (long long)lo[1], (long long)lo[2],
           (long long)lo[3], (long long)w->stored[0], (long long)w->stored[1],
           (long long)w->stored[2], (long long)w->stored[3]);
}

/* Partitions 0 and 1 lose half of what follows the stored offset, 2 some of
 * what precedes it, 3 nothing. */
static void truncate_past_stored(world *w, int64_t *lo)
{
    for (int p = 0; p < 2; p++)
        lo[p] = w->stored[p] + 1 + (w->end[p] - w->stored[p] - 1) / 2;
    lo[2] = w->stored[2] / 2;
    lo[3] = 0;
    for (int p = 0; p < 2; p++)
        IT_CHECK(lo[p] > w->stored[p] + 1, "%s [%d]: nothing to cut", w->topic,
                 p);
    truncate_topic(w, lo);
}

static const char *json_str(json_t *root, const char *key)
{
    const char *v = json_string_value(json_object_get(root, key));
    return v ? v : "(missing)";
}

/* ---- cases ----------------------------------------------------------------
 */

static void case_fail(void)
{
    world *w = calloc(1, sizeof *w);
    IT_CHECK(w != NULL, "calloc");
    setup_world(w, "fail");
    int64_t lo[NPARTS];
    truncate_past_stored(w, lo);

    log_clear();
    const fstore_table_t *t;
    int64_t t0 = it_now_us();
    fstore_store_t *s = open_tailing(w, "fail", &t);
    fstore_err_t e = fstore_tail_wait_ready(s, READY_MS);
    IT_CHECK(e == FSTORE_ERR_STATE,
             "tail.offset_reset=fail: fstore_tail_wait_ready returned %s, "
             "want FSTORE_ERR_STATE (the tailer stopped on an error)",
             fstore_err_name(e));
    double stop_s = (double)(it_now_us() - t0) / 1e6;
    char msg[1024] = "";
    e = fstore_tail_error(s, msg, sizeof msg);
    IT_CHECK(e == FSTORE_ERR_KAFKA, "fstore_tail_error: %s (%s)",
             fstore_err_name(e), msg);
    IT_CHECK(strstr(msg, "no longer exists") &&
                 strstr(msg, "tail.offset_reset=rebuild") &&
                 strstr(msg, w->topic) &&
                 (strstr(msg, "[0]") || strstr(msg, "[1]")),
             "the error says neither what happened nor where nor what to "
             "do: %s",
             msg);

    json_t *st = it_stats(s);
    IT_CHECK(!strcmp(json_str(st, "state"), "failed") &&
                 !strcmp(json_str(st, "error"), msg) &&
                 json_is_false(json_object_get(st, "ready")),
             "stats: state %s, error '%s', want failed with '%s'",
             json_str(st, "state"), json_str(st, "error"), msg);
    IT_CHECK(it_json_int(st, -1, "tables", w->topic, "counters", "rebuilds",
                         NULL) == 0,
             "tail.offset_reset=fail rebuilt the table");
    json_decref(st);

    /* Readers keep serving: partitions 0 and 1 applied nothing more, the
     * others may have gone on; the store is the topic as it was up to the
     * applied offsets, rows of deleted records included. */
    int64_t now[NPARTS];
    it_stored_offsets(s, t, now, NPARTS);
    for (int p = 0; p < NPARTS; p++)
        IT_CHECK(p < 2 ? now[p] == w->stored[p] : now[p] >= w->stored[p],
                 "partition %d: applied offset %lld after the failure, "
                 "stored %lld",
                 p, (long long)now[p], (long long)w->stored[p]);
    it_expect *exp = it_expected(&w->log, NIDS, now, NPARTS, NULL, NULL);
    size_t bad = it_compare(s, t, exp, NIDS, NPARTS);
    IT_CHECK(bad == 0,
             "after the failure the store is not the topic up to its "
             "applied offsets: %zu differences (above)",
             bad);
    size_t kept = rows_of_deleted(exp, lo);
    IT_CHECK(kept > 0, "no row of a deleted record to keep serving");
    free(exp);
    e = fstore_tail_stop(s);
    IT_CHECK(e == FSTORE_ERR_KAFKA,
             "fstore_tail_stop returned %s, want the "
             "error that stopped the tailer",
             fstore_err_name(e));
    /* The tailer logs as it stops; its thread is joined now. */
    IT_CHECK(log_has(3, "no longer exists", w->topic, NULL),
             "no error line logged about the vanished offset");
    fstore_store_close(s);
    it_log("fail: stopped after %.1f s with \"%s\"; applied %lld,%lld,%lld,"
           "%lld; readers serve the store (%zu rows of deleted records)",
           stop_s, msg, (long long)now[0], (long long)now[1], (long long)now[2],
           (long long)now[3], kept);
    free_world(w);
    free(w);
}

/* Waits until the store has applied everything up to the ends. */
static void wait_applied_to_end(world *w, fstore_store_t *s,
                                const fstore_table_t *t)
{
    int64_t hi[NPARTS], lo_ignored;
    for (int p = 0; p < NPARTS; p++)
        it_watermarks(w->topic, p, &lo_ignored, &hi[p]);
    int64_t deadline = it_now_us() + 30 * 1000000LL;
    for (;;) {
        int64_t now[NPARTS];
        it_stored_offsets(s, t, now, NPARTS);
        int done = 1;
        for (int p = 0; p < NPARTS; p++)
            done &= now[p] == hi[p] - 1;
        if (done)
            return;
        if (it_now_us() > deadline)
            IT_FAIL("live records not applied within 30 s: applied "
                    "%lld,%lld,%lld,%lld, ends %lld,%lld,%lld,%lld",
                    (long long)now[0], (long long)now[1], (long long)now[2],
                    (long long)now[3], (long long)hi[0], (long long)hi[1],
                    (long long)hi[2], (long long)hi[3]);
        it_sleep_ms(50);
    }
}

static void case_rebuild(void)
{
    world *w = calloc(1, sizeof *w);
    IT_CHECK(w != NULL, "calloc");
    setup_world(w, "rebuild");
    int64_t lo[NPARTS];
    truncate_past_stored(w, lo);
    it_expect *all = it_expected(&w->log, NIDS, NULL, 0, NULL, NULL);
    it_expect *exp = expected_from(w, lo);
    /* Rows the first tailing made whose records are all gone: a rebuild
     * that does not empty the table keeps them. */
    size_t dropped = 0;
    for (int64_t id = 0; id < NIDS; id++)
        dropped += all[id].version >= 0 && exp[id].version < 0;
    IT_CHECK(dropped > 0, "no key lost all its records");
    free(all);

    log_clear();
    const fstore_table_t *t;
    int64_t t0 = it_now_us();
    fstore_store_t *s = open_tailing(w, "rebuild", &t);
    fstore_err_t e = fstore_tail_wait_ready(s, READY_MS);
    char msg[1024] = "";
    fstore_tail_error(s, msg, sizeof msg);
    IT_CHECK(e == FSTORE_OK,
             "tail.offset_reset=rebuild: fstore_tail_wait_ready returned %s "
             "(%s)",
             fstore_err_name(e), msg);
    double ready_s = (double)(it_now_us() - t0) / 1e6;
    IT_CHECK(fstore_tail_error(s, msg, sizeof msg) == FSTORE_OK && !msg[0],
             "error after a rebuild: %s", msg);
    json_t *st = it_stats(s);
    int64_t rebuilds =
        it_json_int(st, -1, "tables", w->topic, "counters", "rebuilds", NULL);
    IT_CHECK(rebuilds == 1, "counters.rebuilds = %lld, want 1",
             (long long)rebuilds);
    IT_CHECK(!strcmp(json_str(st, "state"), "ready"), "state %s",
             json_str(st, "state"));
    json_decref(st);
    IT_CHECK(log_has(4, w->topic, "rebuild", NULL),
             "no warning logged about rebuilding the table");

    size_t bad = it_compare(s, t, exp, NIDS, NPARTS);
    IT_CHECK(bad == 0,
             "after the rebuild the store is not the records left in the "
             "topic: %zu differences (above)",
             bad);
    it_check_offsets(s, t, w->topic, NPARTS, NULL, NULL);
    size_t live = it_live_count(exp, NIDS);
    free(exp);
    it_log("rebuild: ready after %.1f s, 1 rebuild; the store is the %zu keys "
           "left in the topic (%zu rows of deleted records gone)",
           ready_s, live, dropped);

    /* Live records apply after the rebuild. */
    for (int64_t id = 0; id < NIDS; id += 7)
        put(w, id);
    it_flush(w->p);
    wait_applied_to_end(w, s, t);
    exp = expected_from(w, lo);
    bad = it_compare(s, t, exp, NIDS, NPARTS);
    IT_CHECK(bad == 0, "after live records: %zu differences (above)", bad);
    free(exp);
    st = it_stats(s);
    IT_CHECK(it_json_int(st, -1, "tables", w->topic, "counters", "rebuilds",
                         NULL) == 1,
             "rebuilt again");
    json_decref(st);
    IT_CHECK(fstore_tail_stop(s) == FSTORE_OK, "stop");
    fstore_store_close(s);
    it_log("rebuild: live records after the rebuild applied");
    free_world(w);
    free(w);
}

static void case_reachable(void)
{
    world *w = calloc(1, sizeof *w);
    IT_CHECK(w != NULL, "calloc");
    setup_world(w, "reachable");
    int64_t lo[NPARTS] = {w->stored[0] + 1, w->stored[1] / 2, 0, 0};
    truncate_topic(w, lo);

    log_clear();
    const fstore_table_t *t;
    fstore_store_t *s = open_tailing(w, "fail", &t);
    fstore_err_t e = fstore_tail_wait_ready(s, READY_MS);
    char msg[1024] = "";
    fstore_tail_error(s, msg, sizeof msg);
    IT_CHECK(e == FSTORE_OK,
             "log starts at or below the stored offset + 1: "
             "fstore_tail_wait_ready returned %s (%s)",
             fstore_err_name(e), msg);
    json_t *st = it_stats(s);
    IT_CHECK(it_json_int(st, -1, "tables", w->topic, "counters", "rebuilds",
                         NULL) == 0,
             "rebuilt although every record it needs is in the topic");
    json_decref(st);
    it_expect *exp = it_expected(&w->log, NIDS, NULL, 0, NULL, NULL);
    size_t kept = rows_of_deleted(exp, lo);
    IT_CHECK(kept > 0, "no row of a deleted record to keep");
    size_t bad = it_compare(s, t, exp, NIDS, NPARTS);
    IT_CHECK(bad == 0,
             "the store is not the whole topic: %zu differences "
             "(above)",
             bad);
    it_check_offsets(s, t, w->topic, NPARTS, NULL, NULL);
    free(exp);
    IT_CHECK(fstore_tail_stop(s) == FSTORE_OK, "stop");
    fstore_store_close(s);
    it_log("reachable: resumed without a reset; %zu rows of deleted records "
           "kept, the new records applied",
           kept);
    free_world(w);
    free(w);
}

int main(void)
{
    it_init("offset_reset");
    it_set_store_log_cb(log_cb, &g_lb);
    case_fail();
    case_rebuild();
    case_reachable();
    free(g_lb.text);
    return it_pass();
}
