/*
 * Scenario 4: read_committed, and readiness with transaction markers.
 *
 * A transactional producer (init/begin/commit/abort) writes, to a topic of
 * 4 partitions:
 *   T1 commit  300 "committed" keys, none of them in partition 3
 *   T2 abort   200 keys of their own, and new values for 100 committed keys
 *   T3 commit  new versions for 150 committed keys, tombstones for 20
 *   T4 abort   100 more keys of their own, new values for 50 committed keys
 *   T5 abort   100 more keys of their own, across every partition
 * so every partition ends with an abort marker and partition 3 holds
 * nothing but aborted records. A plain consumer checks that the aborted
 * records are in the log (read_uncommitted sees them) and invisible to
 * read_committed. Then a store bootstraps: it must become ready (readiness
 * is by consumer position; a partition whose tail is control records and
 * aborted data, or that has nothing else, must not hang it) and hold
 * exactly the committed records: no aborted key, no aborted value.
 *
 * Live: T6 commits new versions, T7 aborts values for the same keys and new
 * keys, T8 commits a sentinel; once the sentinel is visible the store must
 * again equal the committed records only.
 *
 * Resume: with the tailer stopped, T9 commits and T10 aborts across every
 * partition; the store, reopened, resumes from its stored offsets and must
 * again become ready (this time catching up from offsets, not loading an
 * empty store) and equal the committed records. Then the same with nothing
 * but an aborted transaction (T11) since the stop: no record reaches the
 * tailer at all, only consumer positions move.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"

#define NPARTS 4
#define NCOMMITTED 300

static int32_t part_of(int64_t id)
{
    char key[IT_KEY_MAX];
    size_t kl = it_key(key, id);
    return fstore_partition_for_key(key, kl, NPARTS);
}

static void wait_ready_or_fail(fstore_store_t *s, const char *what)
{
    char errstr[1024];
    int64_t t0 = it_now_us();
    fstore_err_t err = fstore_tail_wait_ready(s, 30000);
    if (err) {
        fstore_tail_error(s, errstr, sizeof errstr);
        char *js = NULL;
        fstore_stats_json(s, &js);
        fprintf(stderr, "%s\n", js ? js : "");
        fstore_free(js);
        IT_FAIL("%s: not ready after %.1f s: %s %s (stats above: readiness "
                "must not hang on transaction markers or aborted records at "
                "the end of a partition)",
                what, (double)(it_now_us() - t0) / 1e6, fstore_err_name(err),
                errstr);
    }
    it_log("%s: ready in %.2f s", what, (double)(it_now_us() - t0) / 1e6);
}

int main(void)
{
    it_init("txn");
    char *topic = it_topic_name("txn");
    it_create_topic(topic, NPARTS, NULL);

    /* Key ids: committed ones avoid partition 3; the aborted-only ones are
     * 1000 and up. */
    int64_t committed[NCOMMITTED];
    for (int64_t id = 0, n = 0; n < NCOMMITTED; id++)
        if (part_of(id) != 3)
            committed[n++] = id;
    const int64_t nids = 2000;

    it_reclog log;
    it_reclog_init(&log);
    char txn_id[64];
    snprintf(txn_id, sizeof txn_id, "fstore-it-txn-%d", (int)getpid());
    it_producer *p = it_producer_new(topic, &log, txn_id, NULL);

    it_txn_begin(p); /* T1 */
    for (int i = 0; i < NCOMMITTED; i++)
        it_put(p, committed[i], 1, IT_ID_SERVING);
    it_txn_commit(p);

    it_txn_begin(p); /* T2 */
    for (int64_t id = 1000; id < 1200; id++)
        it_put(p, id, 1, IT_ID_SERVING);
    for (int i = 0; i < 100; i++)
        it_put(p, committed[i], 99, IT_ID_SERVING);
    it_txn_abort(p);

    it_txn_begin(p); /* T3 */
    for (int i = 0; i < 150; i++)
        it_put(p, committed[i], 2, IT_ID_SERVING);
    for (int i = 150; i < 170; i++)
        it_del(p, committed[i]);
    it_txn_commit(p);

    it_txn_begin(p); /* T4 */
    for (int64_t id = 1200; id < 1300; id++)
        it_put(p, id, 1, IT_ID_SERVING);
    for (int i = 0; i < 50; i++)
        it_put(p, committed[i], 98, IT_ID_SERVING);
    it_txn_abort(p);

    it_txn_begin(p); /* T5: the last word of every partition is an abort */
    int hit[NPARTS] = {0};
    for (int64_t id = 1300; id < 1400; id++) {
        it_put(p, id, 1, IT_ID_SERVING);
        hit[part_of(id)]++;
    }
    it_txn_abort(p);
    for (int q = 0; q < NPARTS; q++)
        IT_CHECK(hit[q] > 0, "T5 wrote nothing to partition %d", q);
    it_log("5 transactions written (2 committed, 3 aborted)");

    /* The log holds the aborted records; read_committed hides them. */
    int64_t *seen_u = calloc((size_t)nids, sizeof *seen_u);
    int64_t *seen_c = calloc((size_t)nids, sizeof *seen_c);
    IT_CHECK(seen_u && seen_c, "calloc");
    it_scan su =
        it_consume_all(topic, NPARTS, "read_uncommitted", seen_u, nids);
    it_scan sc = it_consume_all(topic, NPARTS, "read_committed", seen_c, nids);
    for (int64_t id = 1000; id < 1400; id++) {
        IT_CHECK(seen_u[id] == 1, "aborted key %lld: read_uncommitted saw %lld",
                 (long long)id, (long long)seen_u[id]);
        IT_CHECK(seen_c[id] == 0, "aborted key %lld: read_committed saw %lld",
                 (long long)id, (long long)seen_c[id]);
    }
    it_log("plain consumer: %lld records read_uncommitted, %lld read_committed",
           (long long)su.records, (long long)sc.records);
    int64_t lo, hi3;
    it_watermarks(topic, 3, &lo, &hi3);
    it_log("partition 3: end offset %lld, only aborted records and markers",
           (long long)hi3);

    char dir[4200], errstr[1024];
    snprintf(dir, sizeof dir, "%s/store", it_dir());
    const fstore_table_t *t;
    fstore_store_t *s = it_store_open(dir, "txn", NULL, &t);
    IT_CHECK(!fstore_tail_add(s, t, topic, NULL, errstr, sizeof errstr), "%s",
             errstr);
    IT_CHECK(!fstore_tail_start(s, errstr, sizeof errstr), "%s", errstr);
    wait_ready_or_fail(s, "bootstrap over aborted tails");

    it_expect *exp = it_expected(&log, nids, NULL, 0, NULL, NULL);
    for (int64_t id = 1000; id < 1400; id++)
        IT_CHECK(exp[id].version < 0, "test bug: aborted key %lld expected",
                 (long long)id);
    size_t bad = it_compare(s, t, exp, nids, NPARTS);
    IT_CHECK(bad == 0,
             "the store is not the committed records: %zu "
             "differences (an aborted record applied?)",
             bad);
    it_log("store = committed records: %zu live keys, none of the 400 "
           "aborted keys, no aborted value",
           it_live_count(exp, nids));
    free(exp);

    /* Live: commit, abort, commit a sentinel. */
    it_txn_begin(p); /* T6 */
    for (int i = 0; i < 50; i++)
        it_put(p, committed[i], 3, IT_ID_SERVING);
    it_txn_commit(p);
    it_txn_begin(p); /* T7 */
    for (int i = 0; i < 50; i++)
        it_put(p, committed[i], 97, IT_ID_SERVING);
    for (int64_t id = 1400; id < 1450; id++)
        it_put(p, id, 1, IT_ID_SERVING);
    it_txn_abort(p);
    it_txn_begin(p); /* T8 */
    int64_t sentinel = committed[NCOMMITTED - 1];
    it_put(p, sentinel, 5, IT_ID_SERVING);
    it_txn_commit(p);

    fstore_reader_t *r;
    IT_CHECK(fstore_reader_new(s, &r) == FSTORE_OK, "reader");
    char key[IT_KEY_MAX];
    size_t kl = it_key(key, sentinel);
    int64_t deadline = it_now_us() + 30 * 1000000LL, t0 = it_now_us();
    for (;;) {
        const fstore_row_t *row;
        int64_t v = -1;
        IT_CHECK(fstore_reader_refresh(r) == FSTORE_OK, "refresh");
        if (fstore_get(r, t, key, kl, &row) == FSTORE_OK &&
            fstore_row_long(t, row, fstore_table_column_index(t, "version"),
                            &v) == FSTORE_OK &&
            v == 5)
            break;
        IT_CHECK(it_now_us() < deadline,
                 "the live committed sentinel did not appear within 30 s");
        it_sleep_ms(10);
    }
    fstore_reader_destroy(r);
    it_log("live commit/abort/commit: sentinel visible after %.2f s",
           (double)(it_now_us() - t0) / 1e6);
    exp = it_expected(&log, nids, NULL, 0, NULL, NULL);
    bad = it_compare(s, t, exp, nids, NPARTS);
    IT_CHECK(bad == 0,
             "after live transactions the store is not the "
             "committed records: %zu differences",
             bad);

    IT_CHECK(fstore_tail_stop(s) == FSTORE_OK, "tail stop");
    fstore_store_close(s);
    free(exp);

    /* Resume over a tail of aborted transactions. */
    it_txn_begin(p); /* T9 */
    for (int i = 0; i < 100; i++)
        it_put(p, committed[i], 4, IT_ID_SERVING);
    it_txn_commit(p);
    it_txn_begin(p); /* T10 */
    for (int64_t id = 1500; id < 1600; id++)
        it_put(p, id, 1, IT_ID_SERVING);
    for (int i = 0; i < 100; i++)
        it_put(p, committed[i], 96, IT_ID_SERVING);
    it_txn_abort(p);
    s = it_store_open(dir, "txn", NULL, &t);
    IT_CHECK(!fstore_tail_add(s, t, topic, NULL, errstr, sizeof errstr), "%s",
             errstr);
    IT_CHECK(!fstore_tail_start(s, errstr, sizeof errstr), "%s", errstr);
    wait_ready_or_fail(s, "resume over aborted tails");
    exp = it_expected(&log, nids, NULL, 0, NULL, NULL);
    bad = it_compare(s, t, exp, nids, NPARTS);
    IT_CHECK(bad == 0,
             "after resuming, the store is not the committed "
             "records: %zu differences",
             bad);
    it_log("resumed store = committed records: %zu live keys",
           it_live_count(exp, nids));

    free(exp);

    /* Resume when all that was added since is one aborted transaction: no
     * record at all reaches the tailer, only positions move. */
    IT_CHECK(fstore_tail_stop(s) == FSTORE_OK, "tail stop");
    fstore_store_close(s);
    it_txn_begin(p); /* T11 */
    for (int64_t id = 1600; id < 1700; id++)
        it_put(p, id, 1, IT_ID_SERVING);
    it_txn_abort(p);
    s = it_store_open(dir, "txn", NULL, &t);
    IT_CHECK(!fstore_tail_add(s, t, topic, NULL, errstr, sizeof errstr), "%s",
             errstr);
    IT_CHECK(!fstore_tail_start(s, errstr, sizeof errstr), "%s", errstr);
    wait_ready_or_fail(s, "resume over only an aborted transaction");
    exp = it_expected(&log, nids, NULL, 0, NULL, NULL);
    bad = it_compare(s, t, exp, nids, NPARTS);
    IT_CHECK(bad == 0, "after the aborted-only resume the store differs in "
                       "%zu places", bad);

    json_t *st = it_stats(s);
    const char *skips[] = {"decode", "schema", "resolve", "no_key"};
    for (int i = 0; i < 4; i++)
        IT_CHECK(it_json_int(st, -1, "tables", "txn", "counters", "skipped",
                             skips[i], NULL) == 0,
                 "skipped.%s is not 0", skips[i]);
    IT_CHECK(json_is_true(it_json_at(st, "ready", NULL)), "stats: not ready");
    json_decref(st);
    IT_CHECK(fstore_tail_stop(s) == FSTORE_OK, "tail stop");
    fstore_store_close(s);
    it_producer_free(p);
    free(exp);
    free(seen_u);
    free(seen_c);
    it_reclog_free(&log);
    free(topic);
    return it_pass();
}
