/*
 * Scenario 2: live tailing, produce -> visible latency.
 *
 * Bootstraps a store from a topic preloaded with FSTORE_IT_LIVE_PRELOAD
 * (1000) keys, then produces FSTORE_IT_LIVE_COUNT (8000) records of new keys
 * at FSTORE_IT_LIVE_RATE (1000) records/s with linger.ms=0. A checker thread
 * refreshes a reader in a loop and notes, per record, the time from the
 * produce call until a lookup finds it. Prints p50/p99/p999/max (no timing
 * assertion: the bench owns performance), and asserts that every record
 * became visible, with exactly the value produced, within
 * FSTORE_IT_LIVE_WAIT_S (30) s of the last produce, and that the store then
 * equals the topic.
 *
 * It also reads fstore_stats_json() every second while the records flow:
 * the tailer must say ready and connected, and staleness_ms ("grows while
 * the broker is unreachable or the tailer falls behind", docs/stats.md)
 * must stay under FSTORE_IT_LIVE_MAX_STALE_MS (5000) once 5 s of steady
 * traffic have passed, since the view is well under a second behind.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "itest.h"

typedef struct live {
    fstore_store_t *store;
    const fstore_table_t *t;
    int64_t base, total;
    int64_t *sent_us;         /* written before the record's produce call */
    _Atomic int64_t produced; /* records whose sent_us is set */
    int64_t *vis_us;
    _Atomic int done; /* producer finished at this time (us), or 0 */
    int64_t wait_us;
    int64_t visible;
    const char *error;
    long poll_ns; /* pause between lookups rounds */
} live;

static void *checker(void *arg)
{
    live *L = arg;
    fstore_reader_t *r;
    if (fstore_reader_new(L->store, &r)) {
        L->error = "reader";
        return NULL;
    }
    int64_t lo = 0, done_at = 0;
    while (lo < L->total) {
        if (fstore_reader_refresh(r)) {
            L->error = "refresh failed";
            break;
        }
        int64_t now = it_now_us();
        int64_t n = atomic_load(&L->produced);
        for (int64_t i = lo; i < n; i++) {
            if (L->vis_us[i])
                continue;
            char key[IT_KEY_MAX];
            size_t kl = it_key(key, L->base + i);
            const fstore_row_t *row;
            fstore_err_t e = fstore_get(r, L->t, key, kl, &row);
            if (e == FSTORE_NOT_FOUND)
                continue;
            if (e) {
                L->error = fstore_err_name(e);
                goto out;
            }
            const char *why =
                it_row_check(L->t, row, L->base + i, 1, IT_ID_SERVING);
            if (why) {
                L->error = why;
                goto out;
            }
            L->vis_us[i] = now;
            L->visible++;
        }
        while (lo < n && L->vis_us[lo])
            lo++;
        if (!done_at && atomic_load(&L->done))
            done_at = it_now_us();
        if (done_at && it_now_us() - done_at > L->wait_us)
            break;
        fstore_reader_reset(r);
        struct timespec ts = {0, L->poll_ns};
        nanosleep(&ts, NULL);
    }
out:
    fstore_reader_destroy(r);
    return NULL;
}

int main(void)
{
    it_init("live");
    const long preload = it_env_long("FSTORE_IT_LIVE_PRELOAD", 1000);
    const long count = it_env_long("FSTORE_IT_LIVE_COUNT", 8000);
    const long rate = it_env_long("FSTORE_IT_LIVE_RATE", 1000);
    const long wait_s = it_env_long("FSTORE_IT_LIVE_WAIT_S", 30);
    const long max_stale = it_env_long("FSTORE_IT_LIVE_MAX_STALE_MS", 5000);
    const int nparts = 4;
    IT_CHECK(count > 0 && rate > 0, "FSTORE_IT_LIVE_COUNT and _RATE > 0");

    char *topic = it_topic_name("live");
    /* Compacted, with the broker's default segment settings: the eager
     * cleaner configs of the compaction scenario roll a segment every
     * 100 ms and cost plain librdkafka consumers tens of milliseconds of
     * fetch latency on a 2-core machine, which is not what is measured
     * here. */
    const char *const configs[] = {"cleanup.policy=compact", NULL};
    it_create_topic(topic, nparts, configs);
    it_reclog log;
    it_reclog_init(&log);
    /* linger.ms=0: each record leaves at once, as a latency-minded
     * producer would send it. */
    const char *const props[] = {"linger.ms=0", NULL};
    it_producer *p = it_producer_new(topic, &log, NULL, props);
    for (long id = 0; id < preload; id++)
        it_put(p, id, 1, IT_ID_SERVING);
    it_flush(p);

    char dir[4200], errstr[1024];
    snprintf(dir, sizeof dir, "%s/store", it_dir());
    const fstore_table_t *t;
    fstore_store_t *s = it_store_open(dir, "live", NULL, &t);
    IT_CHECK(!fstore_tail_add(s, t, topic, NULL, errstr, sizeof errstr), "%s",
             errstr);
    IT_CHECK(!fstore_tail_start(s, errstr, sizeof errstr), "%s", errstr);
    fstore_err_t err = fstore_tail_wait_ready(s, 60000);
    if (err) {
        fstore_tail_error(s, errstr, sizeof errstr);
        IT_FAIL("not ready: %s (%s)", fstore_err_name(err), errstr);
    }
    it_log("ready with %ld preloaded keys; producing %ld records at %ld/s",
           preload, count, rate);

    live L;
    memset(&L, 0, sizeof L);
    L.store = s;
    L.t = t;
    L.base = preload;
    L.total = count;
    L.sent_us = calloc((size_t)count, sizeof *L.sent_us);
    L.vis_us = calloc((size_t)count, sizeof *L.vis_us);
    L.wait_us = wait_s * 1000000;
    L.poll_ns = it_env_long("FSTORE_IT_LIVE_POLL_US", 100) * 1000;
    IT_CHECK(L.sent_us && L.vis_us, "calloc");
    pthread_t th;
    IT_CHECK(pthread_create(&th, NULL, checker, &L) == 0, "pthread_create");

    int64_t t0 = it_now_us(), next_stats = t0 + 1000000;
    /* staleness_ms samples after 5 s of traffic: worst, and how many had
     * none (the tailer never knew itself current). */
    int64_t stale_last = -1, stale_max = -1;
    int stale_samples = 0, stale_absent = 0;
    int stats_bad = 0;
    char stats_why[256] = "";
    for (long i = 0; i < count; i++) {
        if (it_now_us() >= next_stats) {
            /* Once a second: what the stats say about live tailing. */
            next_stats += 1000000;
            json_t *st = it_stats(s);
            int64_t stale = it_json_int(st, -1, "staleness_ms", NULL);
            const char *state =
                json_string_value(it_json_at(st, "state", NULL));
            int conn = json_is_true(it_json_at(st, "connected", NULL));
            if ((!state || strcmp(state, "ready") || !conn) && !stats_bad++)
                snprintf(stats_why, sizeof stats_why,
                         "state %s, connected %d at %.1f s",
                         state ? state : "?", conn,
                         (double)(it_now_us() - t0) / 1e6);
            json_decref(st);
            stale_last = stale;
            if (it_now_us() - t0 >= 5000000) {
                stale_samples++;
                stale_absent += stale < 0;
                if (stale > stale_max)
                    stale_max = stale;
            }
        }
        int64_t due = t0 + (int64_t)i * 1000000 / rate;
        int64_t now = it_now_us();
        if (due > now) {
            struct timespec ts = {(due - now) / 1000000,
                                  (long)((due - now) % 1000000) * 1000};
            nanosleep(&ts, NULL);
        }
        L.sent_us[i] = it_now_us();
        atomic_store(&L.produced, i + 1);
        it_put(p, preload + i, 1, IT_ID_SERVING);
    }
    double prod_s = (double)(it_now_us() - t0) / 1e6;
    it_log("stats while producing: last staleness_ms %lld; after 5 s: "
           "worst %lld, absent in %d of %d samples",
           (long long)stale_last, (long long)stale_max, stale_absent,
           stale_samples);
    it_flush(p);
    atomic_store(&L.done, 1);
    pthread_join(th, NULL);
    if (L.error)
        IT_FAIL("checker: %s", L.error);
    it_log("produced %ld records in %.1f s (%.0f/s); %lld visible", count,
           prod_s, (double)count / prod_s, (long long)L.visible);
    if (L.visible != count) {
        for (long i = 0, shown = 0; i < count && shown < 10; i++)
            if (!L.vis_us[i]) {
                fprintf(stderr, "  not visible: key-%08ld\n", preload + i);
                shown++;
            }
        IT_FAIL("%lld of %ld records never became visible within %ld s of "
                "the last produce",
                (long long)(count - L.visible), count, wait_s);
    }

    double *lat = malloc((size_t)count * sizeof *lat);
    IT_CHECK(lat != NULL, "malloc");
    for (long i = 0; i < count; i++)
        lat[i] = (double)(L.vis_us[i] - L.sent_us[i]) / 1000.0;
    if (getenv("FSTORE_IT_LIVE_TRACE"))
        for (long i = 0; i<count; i += count / 50> 0 ? count / 50 : 1)
            printf("  record %5ld sent +%7.1f ms  latency %7.2f ms\n", i,
                   (double)(L.sent_us[i] - t0) / 1000.0, lat[i]);
    double p50 = it_quantile(lat, (size_t)count, 0.50);
    double p99 = it_quantile(lat, (size_t)count, 0.99);
    double p999 = it_quantile(lat, (size_t)count, 0.999);
    double mx = lat[count - 1];
    it_log("produce -> visible (ms): p50 %.2f  p99 %.2f  p999 %.2f  max %.2f",
           p50, p99, p999, mx);
    json_t *st = it_stats(s);
    json_t *fr = it_json_at(st, "freshness_ms", NULL);
    it_log("fstore's own freshness (record timestamp -> visible, all %lld "
           "records incl. the preload): p50 %.2f p99 %.2f ms",
           (long long)it_json_int(fr, -1, "count", NULL),
           json_number_value(json_object_get(fr, "p50")),
           json_number_value(json_object_get(fr, "p99")));
    json_decref(st);
    printf("RESULT live count=%ld rate=%ld p50_ms=%.2f p99_ms=%.2f "
           "p999_ms=%.2f max_ms=%.2f\n",
           count, rate, p50, p99, p999, mx);

    IT_CHECK(!stats_bad, "while tailing live the stats said %s", stats_why);
    IT_CHECK(stale_absent == 0 && stale_max < max_stale,
             "with records flowing and visible within p99 %.0f ms, stats "
             "staleness_ms reached %lld ms (absent in %d of %d samples: "
             "never current) after 5 s of steady traffic; it must stay < %ld "
             "ms (docs/stats.md: it grows only while the broker is "
             "unreachable or the tailer falls behind)",
             p99, (long long)stale_max, stale_absent, stale_samples, max_stale);

    it_expect *exp = it_expected(&log, preload + count, NULL, 0, NULL, NULL);
    size_t bad = it_compare(s, t, exp, preload + count, nparts);
    IT_CHECK(bad == 0, "the store differs from the topic in %zu places", bad);
    it_check_offsets(s, t, topic, nparts, NULL, NULL);
    IT_CHECK(fstore_tail_stop(s) == FSTORE_OK, "tail stop");
    fstore_store_close(s);
    it_producer_free(p);
    free(exp);
    free(lat);
    free(L.sent_us);
    free(L.vis_us);
    it_reclog_free(&log);
    free(topic);
    return it_pass();
}
