/*
 * Scenario 1: bootstrap from a topic the broker has really compacted.
 *
 * On a topic whose configs make the log cleaner eager, with
 * FSTORE_IT_PARTITIONS (4) partitions: writes every one of FSTORE_IT_KEYS
 * (110000) keys once, then FSTORE_IT_RECORDS (120000) updates in
 * FSTORE_IT_WAVES (5) waves, 80 % of them to FSTORE_IT_HOT (5000) hot keys
 * (dozens of versions each), with about 6 % tombstones and 10 % of the
 * values in an evolved writer schema. So the compacted topic still holds
 * about FSTORE_IT_KEYS records for the bootstrap to read. Waits past
 * segment.ms, appends one record per partition so the segments roll, and
 * waits (FSTORE_IT_COMPACT_WAIT_S, 60 s) until a plain consumer sees fewer
 * records than were produced and offset gaps in every partition: the broker
 * has compacted. Then times librdkafka reading the topic alone (the
 * consume-only ceiling, best of 3) and FSTORE_IT_BOOT_RUNS (2) fstore
 * bootstraps of it into fresh stores (C API: tail_add, start, wait_ready),
 * and checks each store equals the latest value of every key exactly: every
 * column, row metadata, deleted keys absent, row count, applied offsets =
 * end offsets - 1.
 */
#include <stdlib.h>
#include <string.h>

#include "itest.h"

int main(void)
{
    it_init("bootstrap");
    const long nrec = it_env_long("FSTORE_IT_RECORDS", 120000);
    const long nkeys = it_env_long("FSTORE_IT_KEYS", 110000);
    const long nhot = it_env_long("FSTORE_IT_HOT", 5000);
    const int nparts = (int)it_env_long("FSTORE_IT_PARTITIONS", 4);
    const int waves = (int)it_env_long("FSTORE_IT_WAVES", 5);
    const long compact_wait_s = it_env_long("FSTORE_IT_COMPACT_WAIT_S", 60);
    IT_CHECK(nrec > 0 && nkeys > 0 && nparts > 0 && waves > 0 && nhot > 0 &&
                 nhot <= nkeys,
             "sizes must be positive, FSTORE_IT_HOT <= FSTORE_IT_KEYS");
    uint64_t rs = it_seed();

    char *topic = it_topic_name("bootstrap");
    it_create_topic(topic, nparts, it_compact_configs);
    it_log("topic %s: %d partitions, compaction configs", topic, nparts);

    it_reclog log;
    it_reclog_init(&log);
    it_producer *p = it_producer_new(topic, &log, NULL, NULL);
    int64_t *ver = calloc((size_t)nkeys, sizeof *ver);
    IT_CHECK(ver != NULL, "calloc");
    long dels = 0, v2 = 0;
    int64_t t0 = it_now_us();
    /* Wave 0: the initial load, every key once. */
    for (int64_t id = 0; id < nkeys; id++)
        it_put(p, id, ++ver[id], IT_ID_SERVING);
    it_flush(p);
    it_sleep_ms(250);
    for (int w = 0; w < waves; w++) {
        long n = nrec / waves + (w == waves - 1 ? nrec % waves : 0);
        for (long i = 0; i < n; i++) {
            uint64_t space =
                it_rand(&rs) % 100 < 80 ? (uint64_t)nhot : (uint64_t)nkeys;
            int64_t id = (int64_t)(it_rand(&rs) % space);
            uint64_t r = it_rand(&rs) % 100;
            if (ver[id] > 0 && r < 6) {
                it_del(p, id);
                dels++;
            } else {
                int32_t sid = r >= 90 ? IT_ID_V2 : IT_ID_SERVING;
                v2 += sid == IT_ID_V2;
                it_put(p, id, ++ver[id], sid);
            }
        }
        it_flush(p);
        /* Past segment.ms: the next append rolls the active segment, so
         * this wave becomes cleanable. */
        it_sleep_ms(250);
    }
    double produce_s = (double)(it_now_us() - t0) / 1e6;
    it_log("produced %zu records (%ld tombstones, %ld in writer schema 2) in "
           "%.1f s (%.0f records/s)",
           it_producer_delivered(p), dels, v2, produce_s,
           (double)it_producer_delivered(p) / produce_s);

    /* One key per partition, to append a record that rolls its segment. */
    int64_t *roll_id = malloc((size_t)nparts * sizeof *roll_id);
    IT_CHECK(roll_id != NULL, "malloc");
    for (int q = 0; q < nparts; q++) {
        roll_id[q] = -1;
        for (int64_t id = 0; id < nkeys && roll_id[q] < 0; id++) {
            char key[IT_KEY_MAX];
            size_t kl = it_key(key, id);
            if (fstore_partition_for_key(key, kl, nparts) == q)
                roll_id[q] = id;
        }
        IT_CHECK(roll_id[q] >= 0, "no key of partition %d among %ld", q, nkeys);
    }

    /* Wait until the broker has compacted every partition. */
    it_scan sc;
    int64_t deadline = it_now_us() + compact_wait_s * 1000000;
    int rounds = 0;
    for (;;) {
        for (int q = 0; q < nparts; q++)
            it_put(p, roll_id[q], ++ver[roll_id[q]], IT_ID_SERVING);
        it_flush(p);
        it_sleep_ms(500);
        rounds++;
        sc = it_consume_all(topic, nparts, "read_uncommitted", NULL, 0);
        size_t produced = it_producer_delivered(p);
        it_log("compaction check %d: %lld of %zu records remain, %lld offset "
               "gaps in %lld of %d partitions",
               rounds, (long long)sc.records, produced, (long long)sc.gaps,
               (long long)sc.parts_gapped, nparts);
        if (sc.records < (int64_t)produced && sc.parts_gapped == nparts)
            break;
        if (it_now_us() > deadline)
            IT_FAIL("the broker did not compact %s within %ld s: %lld of %zu "
                    "records remain, gaps in %lld of %d partitions (check the "
                    "broker log for 'cleaned log')",
                    topic, compact_wait_s, (long long)sc.records, produced,
                    (long long)sc.parts_gapped, nparts);
        it_sleep_ms(1000);
    }
    size_t produced = it_producer_delivered(p);
    it_producer_free(p);
    it_log("compacted: %zu records produced, %lld remain (%.0f %%), %lld "
           "tombstones remain",
           produced, (long long)sc.records,
           100.0 * (double)sc.records / (double)produced,
           (long long)sc.tombstones);

    /* The ingest ceiling: librdkafka reading the same topic, nothing else;
     * the best of three passes (the first also warms the broker's caches,
     * as the bootstraps below find them). */
    double raw_rate = 0;
    for (int i = 0; i < 3; i++) {
        it_scan raw = it_consume_all(topic, nparts, "read_committed", NULL, 0);
        double r = (double)raw.records / raw.seconds;
        it_log("consume-only pass %d (librdkafka, read_committed): %lld "
               "records in %.3f s = %.0f records/s",
               i + 1, (long long)raw.records, raw.seconds, r);
        if (r > raw_rate)
            raw_rate = r;
    }

    /* Bootstrap stores through the C API, each checked against the latest
     * value of every key. */
    const int runs = (int)it_env_long("FSTORE_IT_BOOT_RUNS", 2);
    IT_CHECK(runs >= 1, "FSTORE_IT_BOOT_RUNS >= 1");
    it_expect *exp = it_expected(&log, nkeys, NULL, 0, NULL, NULL);
    size_t live = it_live_count(exp, nkeys);
    double best = 0, best_s = 0;
    int64_t read = 0;
    for (int run = 1; run <= runs; run++) {
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/store%d", it_dir(), run);
        const fstore_table_t *t;
        fstore_store_t *s = it_store_open(dir, "features", NULL, &t);
        char errstr[1024];
        fstore_err_t err =
            fstore_tail_add(s, t, topic, NULL, errstr, sizeof errstr);
        IT_CHECK(err == FSTORE_OK, "fstore_tail_add: %s", errstr);
        int64_t b0 = it_now_us();
        err = fstore_tail_start(s, errstr, sizeof errstr);
        IT_CHECK(err == FSTORE_OK, "fstore_tail_start: %s", errstr);
        err = fstore_tail_wait_ready(s, 180000);
        double boot_s = (double)(it_now_us() - b0) / 1e6;
        if (err) {
            fstore_tail_error(s, errstr, sizeof errstr);
            IT_FAIL("not ready after %.1f s: %s (%s)", boot_s,
                    fstore_err_name(err), errstr);
        }
        json_t *st = it_stats(s);
        int64_t applied = it_json_int(st, -1, "tables", "features", "counters",
                                      "applied", NULL);
        int64_t deleted = it_json_int(st, -1, "tables", "features", "counters",
                                      "deleted", NULL);
        read = applied + deleted;
        double rate = (double)read / boot_s;
        it_log("bootstrap %d: %lld records (%lld upserts, %lld tombstones) "
               "ready in %.3f s = %.0f records/s (%.2f x consume-only)",
               run, (long long)read, (long long)applied, (long long)deleted,
               boot_s, rate, rate / raw_rate);
        if (rate > best) {
            best = rate;
            best_s = boot_s;
        }

        size_t bad = it_compare(s, t, exp, nkeys, nparts);
        if (bad)
            IT_FAIL("store %d differs from the topic's latest values in %zu "
                    "places (see above)",
                    run, bad);
        it_check_offsets(s, t, topic, nparts, NULL, NULL);
        IT_CHECK(it_json_int(st, -1, "tables", "features", "rows", NULL) ==
                     (int64_t)live,
                 "stats rows");
        const char *skips[] = {"decode", "schema", "resolve", "no_key"};
        for (int i = 0; i < 4; i++)
            IT_CHECK(it_json_int(st, -1, "tables", "features", "counters",
                                 "skipped", skips[i], NULL) == 0,
                     "skipped.%s is not 0", skips[i]);
        IT_CHECK(json_is_true(it_json_at(st, "ready", NULL)),
                 "stats: not ready");
        /* What fstore read is a subset of what was produced. */
        IT_CHECK(read > 0 && read <= (int64_t)produced,
                 "read %lld of %zu produced", (long long)read, produced);
        json_decref(st);
        err = fstore_tail_stop(s);
        IT_CHECK(err == FSTORE_OK, "fstore_tail_stop: %s",
                 fstore_err_name(err));
        fstore_store_close(s);
    }
    it_log("store equals the expected map: %zu live keys, %ld deleted or "
           "never written, all columns and row metadata, offsets = end - 1",
           live, nkeys - (long)live);
    printf("RESULT bootstrap produced=%zu compacted_to=%lld "
           "consume_only_rps=%.0f bootstrap_records=%lld bootstrap_s=%.3f "
           "bootstrap_rps=%.0f ratio=%.2f\n",
           produced, (long long)sc.records, raw_rate, (long long)read, best_s,
           best, best / raw_rate);
    free(exp);
    free(ver);
    free(roll_id);
    it_reclog_free(&log);
    free(topic);
    return it_pass();
}
