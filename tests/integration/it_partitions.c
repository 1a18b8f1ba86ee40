/*
 * Scenario 5a/5b: a partition subset, and partitions added while tailing.
 *
 * Subset: 2000 keys (two versions each) over 4 partitions; a store tailing
 * partitions "0,2" only must hold exactly the keys of partitions 0 and 2
 * (fstore_partition_for_key), with applied offsets for those two
 * partitions only, each at its end offset - 1.
 *
 * Growth: a topic of 2 partitions tailed with every partition (NULL list);
 * once ready, CreatePartitions raises it to 4 and a new producer writes
 * 1000 new keys (murmur2 over 4 partitions, so about half land in the new
 * partitions 2 and 3). They must all be visible within
 * FSTORE_IT_GROW_WAIT_S (30) s, with the new partitions' offsets applied.
 */
#include <stdlib.h>
#include <string.h>

#include "itest.h"

static int want_0_2(int32_t p, void *arg)
{
    (void)arg;
    return p == 0 || p == 2;
}

static void subset(void)
{
    const int64_t nids = 2000;
    char *topic = it_topic_name("subset");
    it_create_topic(topic, 4, it_compact_configs);
    it_reclog log;
    it_reclog_init(&log);
    it_producer *p = it_producer_new(topic, &log, NULL, NULL);
    for (int v = 1; v <= 2; v++)
        for (int64_t id = 0; id < nids; id++)
            if (v == 1 || id % 3)
                it_put(p, id, v, IT_ID_SERVING);
    for (int64_t id = 0; id < nids; id += 10)
        it_del(p, id);
    it_flush(p);

    char dir[4200], errstr[1024];
    snprintf(dir, sizeof dir, "%s/subset", it_dir());
    const fstore_table_t *t;
    fstore_store_t *s = it_store_open(dir, "subset", NULL, &t);
    IT_CHECK(!fstore_tail_add(s, t, topic, "0,2", errstr, sizeof errstr), "%s",
             errstr);
    IT_CHECK(!fstore_tail_start(s, errstr, sizeof errstr), "%s", errstr);
    fstore_err_t err = fstore_tail_wait_ready(s, 60000);
    IT_CHECK(err == FSTORE_OK, "subset store not ready: %s",
             fstore_err_name(err));

    it_expect *exp = it_expected(&log, nids, NULL, 0, want_0_2, NULL);
    size_t in_subset = 0, outside = 0;
    for (int64_t id = 0; id < nids; id++) {
        char key[IT_KEY_MAX];
        size_t kl = it_key(key, id);
        int32_t part = fstore_partition_for_key(key, kl, 4);
        if (part == 0 || part == 2)
            in_subset += exp[id].version >= 0;
        else
            outside++;
        /* Keys of partitions 1 and 3 must be absent: exp says so. */
        IT_CHECK(part == 0 || part == 2 || exp[id].partition < 0,
                 "test bug: key %lld of partition %d expected", (long long)id,
                 part);
    }
    size_t bad = it_compare(s, t, exp, nids, 4);
    IT_CHECK(bad == 0, "the 0,2 store differs in %zu places", bad);
    it_check_offsets(s, t, topic, 4, want_0_2, NULL);
    it_log("partitions 0,2: %zu live keys present, the %zu keys of partitions "
           "1 and 3 absent, offsets only for 0 and 2",
           in_subset, outside);
    IT_CHECK(fstore_tail_stop(s) == FSTORE_OK, "tail stop");
    fstore_store_close(s);
    it_producer_free(p);
    free(exp);
    it_reclog_free(&log);
    free(topic);
}

static void growth(void)
{
    const long wait_s = it_env_long("FSTORE_IT_GROW_WAIT_S", 30);
    const int64_t nold = 1000, nnew = 1000, nids = 10000 + nnew;
    char *topic = it_topic_name("grow");
    it_create_topic(topic, 2, it_compact_configs);
    it_reclog log;
    it_reclog_init(&log);
    it_producer *p = it_producer_new(topic, &log, NULL, NULL);
    for (int64_t id = 0; id < nold; id++)
        it_put(p, id, 1, IT_ID_SERVING);
    it_flush(p);
    it_producer_free(p);

    char dir[4200], errstr[1024];
    snprintf(dir, sizeof dir, "%s/grow", it_dir());
    const fstore_table_t *t;
    fstore_store_t *s = it_store_open(dir, "grow", NULL, &t);
    IT_CHECK(!fstore_tail_add(s, t, topic, NULL, errstr, sizeof errstr), "%s",
             errstr);
    IT_CHECK(!fstore_tail_start(s, errstr, sizeof errstr), "%s", errstr);
    IT_CHECK(fstore_tail_wait_ready(s, 60000) == FSTORE_OK, "not ready");
    it_expect *exp = it_expected(&log, nids, NULL, 0, NULL, NULL);
    IT_CHECK(it_compare(s, t, exp, nids, 2) == 0, "2-partition store differs");
    free(exp);

    it_add_partitions(topic, 4);
    int64_t t0 = it_now_us();
    it_log("topic grown from 2 to 4 partitions while tailing");
    /* A new producer: its first metadata has 4 partitions. Only new keys,
     * so no key has values in two partitions. */
    p = it_producer_new(topic, &log, NULL, NULL);
    int in_new = 0;
    for (int64_t id = 10000; id < 10000 + nnew; id++) {
        char key[IT_KEY_MAX];
        size_t kl = it_key(key, id);
        in_new += fstore_partition_for_key(key, kl, 4) >= 2;
        it_put(p, id, 1, IT_ID_SERVING);
    }
    it_flush(p);
    IT_CHECK(in_new > 0, "no new key maps to partitions 2 or 3");

    fstore_reader_t *r;
    IT_CHECK(fstore_reader_new(s, &r) == FSTORE_OK, "reader");
    int64_t missing = nnew;
    while (missing > 0) {
        IT_CHECK(fstore_reader_refresh(r) == FSTORE_OK, "refresh");
        missing = 0;
        for (int64_t id = 10000; id < 10000 + nnew; id++) {
            char key[IT_KEY_MAX];
            size_t kl = it_key(key, id);
            const fstore_row_t *row;
            missing += fstore_get(r, t, key, kl, &row) != FSTORE_OK;
        }
        if (missing && it_now_us() - t0 > wait_s * 1000000) {
            char *js = NULL;
            fstore_stats_json(s, &js);
            fprintf(stderr, "%s\n", js ? js : "");
            fstore_free(js);
            IT_FAIL("%lld of %lld records produced after the topic grew are "
                    "not visible %ld s later (%d of them in the new "
                    "partitions; stats above)",
                    (long long)missing, (long long)nnew, wait_s, in_new);
        }
        if (missing)
            it_sleep_ms(100);
    }
    fstore_reader_destroy(r);
    double secs = (double)(it_now_us() - t0) / 1e6;
    exp = it_expected(&log, nids, NULL, 0, NULL, NULL);
    size_t bad = it_compare(s, t, exp, nids, 0);
    IT_CHECK(bad == 0, "after growth the store differs in %zu places", bad);
    it_check_offsets(s, t, topic, 4, NULL, NULL);
    it_log("all %lld new keys visible %.1f s after CreatePartitions (%d in "
           "the new partitions 2 and 3), offsets for all 4 partitions",
           (long long)nnew, secs, in_new);
    IT_CHECK(fstore_tail_stop(s) == FSTORE_OK, "tail stop");
    fstore_store_close(s);
    it_producer_free(p);
    free(exp);
    it_reclog_free(&log);
    free(topic);
}

int main(void)
{
    it_init("partitions");
    subset();
    growth();
    return it_pass();
}
