/*
 * Scenario 5d: the broker stops and restarts mid-stream.
 *
 * A store tails a topic while a producer keeps updating 1000 keys (500
 * records/s, message.timeout.ms long enough to ride out the outage) and a
 * reader thread keeps looking keys up. The test restarts the broker with
 * `tests/kafka/broker.sh restart` (same ports, same data; the broker must
 * be the one that script manages: FSTORE_TEST_BROKER_DIR names its --dir
 * when it was started with one). Asserted:
 *   - readers keep serving throughout: every lookup succeeds with a whole,
 *     consistent row, lookups continue during the outage, no stall > 2 s;
 *   - the stats show the outage: connected false, or staleness_ms growing
 *     to >= 2 s;
 *   - after the restart the tailer catches up by itself: applied offsets
 *     reach the end offsets, the store equals the latest value of every
 *     key, and the stats say connected and current again.
 *
 * It restarts the shared broker, so ctest runs it alone (RUN_SERIAL).
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#ifndef FSTORE_IT_BROKER_SH
#error "FSTORE_IT_BROKER_SH must name tests/kafka/broker.sh"
#endif

#define NPARTS 2
#define NKEYS 1000

static char *A(const char *s)
{
    return (char *)(uintptr_t)s;
}

typedef struct shared {
    fstore_store_t *store;
    const fstore_table_t *t;
    it_producer *p;
    int64_t ver[NKEYS];
    long rate;
    _Atomic int stop_prod, stop_read;
    _Atomic int64_t gets, bad_gets, max_gap_us;
    char why[256];
} shared;

static void *producer_main(void *arg)
{
    shared *S = arg;
    uint64_t rs = 12345;
    int64_t t0 = it_now_us(), sent = 0;
    while (!atomic_load(&S->stop_prod)) {
        int64_t due = t0 + sent * 1000000 / S->rate;
        if (due > it_now_us()) {
            it_poll(S->p, 1);
            continue;
        }
        int64_t id = (int64_t)(it_rand(&rs) % NKEYS);
        it_put(S->p, id, ++S->ver[id], IT_ID_SERVING);
        sent++;
    }
    return NULL;
}

static void *reader_main(void *arg)
{
    shared *S = arg;
    fstore_reader_t *r;
    if (fstore_reader_new(S->store, &r)) {
        snprintf(S->why, sizeof S->why, "reader_new");
        atomic_fetch_add(&S->bad_gets, 1);
        return NULL;
    }
    uint64_t rs = 999;
    int col = fstore_table_column_index(S->t, "version");
    int64_t last = it_now_us();
    while (!atomic_load(&S->stop_read)) {
        int64_t id = (int64_t)(it_rand(&rs) % NKEYS);
        char key[IT_KEY_MAX];
        size_t kl = it_key(key, id);
        const fstore_row_t *row;
        int64_t v = -1;
        fstore_err_t e = fstore_reader_refresh(r);
        if (!e)
            e = fstore_get(r, S->t, key, kl, &row);
        const char *why = NULL;
        if (e)
            why = fstore_err_name(e);
        else if (fstore_row_long(S->t, row, col, &v))
            why = "version unreadable";
        else
            why = it_row_check(S->t, row, id, v, IT_ID_SERVING);
        if (why) {
            if (!atomic_fetch_add(&S->bad_gets, 1))
                snprintf(S->why, sizeof S->why, "key %lld: %s", (long long)id,
                         why);
        }
        int64_t now = it_now_us();
        if (now - last > atomic_load(&S->max_gap_us))
            atomic_store(&S->max_gap_us, now - last);
        last = now;
        atomic_fetch_add(&S->gets, 1);
        fstore_reader_reset(r);
        it_sleep_ms(1);
    }
    fstore_reader_destroy(r);
    return NULL;
}

/* connected, staleness_ms (-1 if absent), state of the live stats. */
static void sample(fstore_store_t *s, int *connected, int64_t *stale,
                   char *state, size_t n)
{
    json_t *st = it_stats(s);
    *connected = json_is_true(it_json_at(st, "connected", NULL));
    *stale = it_json_int(st, -1, "staleness_ms", NULL);
    const char *sv = json_string_value(it_json_at(st, "state", NULL));
    snprintf(state, n, "%s", sv ? sv : "?");
    json_decref(st);
}

/* `broker.sh CMD [--dir D]`, its stdout captured into out. */
static int broker_sh(const char *cmd, char *out, size_t n, int timeout_ms)
{
    const char *bdir = getenv("FSTORE_TEST_BROKER_DIR");
    char logp[4200];
    snprintf(logp, sizeof logp, "%s/broker-%s.log", it_dir(), cmd);
    char *argv[] = {A(FSTORE_IT_BROKER_SH), A(cmd), NULL, NULL, NULL};
    if (bdir && *bdir) {
        argv[2] = A("--dir");
        argv[3] = A(bdir);
    }
    remove(logp);
    pid_t pid = it_spawn(argv, logp);
    int st = it_wait(pid, timeout_ms);
    if (st == -1)
        IT_FAIL("broker.sh %s did not finish within %d ms (log %s)", cmd,
                timeout_ms, logp);
    if (out) {
        out[0] = 0;
        FILE *f = fopen(logp, "r");
        char line[512];
        while (f && fgets(line, sizeof line, f))
            if (!strncmp(line, "127.0.0.1:", 10))
                snprintf(out, n, "%.*s", (int)strcspn(line, "\n"), line);
        if (f)
            fclose(f);
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st)) {
        it_tail_file(logp, 20);
        return -1;
    }
    return 0;
}

int main(void)
{
    it_init("outage");
    char addr[256];
    if (broker_sh("bootstrap", addr, sizeof addr, 30000) ||
        strcmp(addr, it_brokers()))
        IT_FAIL(
            "FSTORE_TEST_BROKERS=%s is not the broker tests/kafka/broker.sh "
            "manages (it says '%s'); this test restarts it, so start it "
            "with broker.sh and set FSTORE_TEST_BROKER_DIR to its --dir "
            "if one was given",
            it_brokers(), addr);

    char *topic = it_topic_name("outage");
    it_create_topic(topic, NPARTS, NULL);
    it_reclog log;
    it_reclog_init(&log);
    static shared S;
    S.rate = it_env_long("FSTORE_IT_OUTAGE_RATE", 500);
    const char *const props[] = {"message.timeout.ms=300000", NULL};
    S.p = it_producer_new(topic, &log, NULL, props);
    for (int64_t id = 0; id < NKEYS; id++)
        it_put(S.p, id, ++S.ver[id], IT_ID_SERVING);
    it_flush(S.p);

    char dir[4200], errstr[1024];
    snprintf(dir, sizeof dir, "%s/store", it_dir());
    /* Reconnect quickly once the broker is back. */
    const char *const sprops[] = {"kafka.reconnect.backoff.max.ms=1000", NULL};
    S.store = it_store_open(dir, "outage", sprops, &S.t);
    IT_CHECK(!fstore_tail_add(S.store, S.t, topic, NULL, errstr, sizeof errstr),
             "%s", errstr);
    IT_CHECK(!fstore_tail_start(S.store, errstr, sizeof errstr), "%s", errstr);
    IT_CHECK(fstore_tail_wait_ready(S.store, 60000) == FSTORE_OK, "not ready");

    pthread_t pt, rt;
    IT_CHECK(!pthread_create(&pt, NULL, producer_main, &S), "thread");
    IT_CHECK(!pthread_create(&rt, NULL, reader_main, &S), "thread");
    it_sleep_ms(3000); /* steady state: current, staleness small */
    int conn;
    int64_t stale;
    char state[32];
    sample(S.store, &conn, &stale, state, sizeof state);
    it_log("before the restart: state %s, connected %d, staleness %lld ms, "
           "%lld lookups",
           state, conn, (long long)stale, (long long)atomic_load(&S.gets));
    IT_CHECK(conn, "not connected before the outage");

    /* Restart the broker in the background and watch. */
    const char *bdir = getenv("FSTORE_TEST_BROKER_DIR");
    char logp[4200];
    snprintf(logp, sizeof logp, "%s/broker-restart.log", it_dir());
    char *argv[] = {A(FSTORE_IT_BROKER_SH), A("restart"), NULL, NULL, NULL};
    if (bdir && *bdir) {
        argv[2] = A("--dir");
        argv[3] = A(bdir);
    }
    int64_t stale0 = stale < 0 ? 0 : stale;
    int64_t r0 = it_now_us(), gets0 = atomic_load(&S.gets);
    pid_t pid = it_spawn(argv, logp);
    int st = -1, saw_disconnected = 0;
    int64_t max_stale = -1;
    while ((st = it_wait(pid, 250)) == -1) {
        IT_CHECK(it_now_us() - r0 < 180 * 1000000LL,
                 "broker.sh restart takes over 180 s");
        sample(S.store, &conn, &stale, state, sizeof state);
        saw_disconnected |= !conn;
        if (stale > max_stale)
            max_stale = stale;
    }
    double restart_s = (double)(it_now_us() - r0) / 1e6;
    int64_t outage_gets = atomic_load(&S.gets) - gets0;
    if (!WIFEXITED(st) || WEXITSTATUS(st)) {
        it_tail_file(logp, 30);
        IT_FAIL("broker.sh restart failed (status %d)", st);
    }
    it_log("broker restarted in %.1f s; meanwhile %lld lookups, stats showed "
           "connected=false: %s, staleness from %lld up to %lld ms",
           restart_s, (long long)outage_gets, saw_disconnected ? "yes" : "no",
           (long long)stale0, (long long)max_stale);

    it_sleep_ms(3000); /* more records after the restart */
    atomic_store(&S.stop_prod, 1);
    pthread_join(pt, NULL);
    it_flush(S.p);
    int64_t c0 = it_now_us();
    /* Catch-up: the applied offsets reach the end offsets. */
    for (;;) {
        fstore_reader_t *r;
        IT_CHECK(fstore_reader_new(S.store, &r) == FSTORE_OK, "reader");
        int done = 1;
        for (int32_t q = 0; q < NPARTS; q++) {
            int64_t lo, hi, off = -1;
            it_watermarks(topic, q, &lo, &hi);
            fstore_reader_offset(r, S.t, q, &off);
            done &= off == hi - 1;
        }
        fstore_reader_destroy(r);
        if (done)
            break;
        if (it_now_us() - c0 > 60 * 1000000LL) {
            char *js = NULL;
            fstore_stats_json(S.store, &js);
            fprintf(stderr, "%s\n", js ? js : "");
            fstore_free(js);
            IT_FAIL("no catch-up within 60 s of the restart (stats above)");
        }
        it_sleep_ms(100);
    }
    it_log("caught up %.1f s after the restart finished",
           (double)(it_now_us() - c0) / 1e6);
    /* The stats say current again. */
    int64_t s0 = it_now_us();
    for (;;) {
        sample(S.store, &conn, &stale, state, sizeof state);
        if (conn && stale >= 0 && stale < 3000 && !strcmp(state, "ready"))
            break;
        IT_CHECK(it_now_us() - s0 < 30 * 1000000LL,
                 "30 s after catching up the stats still say state %s, "
                 "connected %d, staleness %lld ms",
                 state, conn, (long long)stale);
        it_sleep_ms(200);
    }
    atomic_store(&S.stop_read, 1);
    pthread_join(rt, NULL);

    IT_CHECK(atomic_load(&S.bad_gets) == 0, "%lld lookups failed, first: %s",
             (long long)atomic_load(&S.bad_gets), S.why);
    IT_CHECK(outage_gets > 0, "no lookup completed while the broker restarted");
    IT_CHECK(atomic_load(&S.max_gap_us) < 2000000,
             "a lookup stalled for %.1f s", atomic_load(&S.max_gap_us) / 1e6);
    IT_CHECK(saw_disconnected || max_stale - stale0 >= 2000,
             "during a %.1f s outage the stats never showed it (connected "
             "stayed true, staleness went from %lld to %lld ms)",
             restart_s, (long long)stale0, (long long)max_stale);
    it_expect *exp = it_expected(&log, NKEYS, NULL, 0, NULL, NULL);
    size_t bad = it_compare(S.store, S.t, exp, NKEYS, NPARTS);
    IT_CHECK(bad == 0, "after the outage the store differs in %zu places", bad);
    it_check_offsets(S.store, S.t, topic, NPARTS, NULL, NULL);
    it_log("readers served %lld lookups (%lld during the restart, longest "
           "gap %.0f ms, none failed); store = topic after catch-up",
           (long long)atomic_load(&S.gets), (long long)outage_gets,
           atomic_load(&S.max_gap_us) / 1000.0);
    IT_CHECK(fstore_tail_stop(S.store) == FSTORE_OK, "tail stop");
    fstore_store_close(S.store);
    it_producer_free(S.p);
    free(exp);
    it_reclog_free(&log);
    free(topic);
    return it_pass();
}
