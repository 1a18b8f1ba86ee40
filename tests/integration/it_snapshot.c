/*
 * Scenario: snapshot while tailing, restore, resume.
 *
 * A store tails a topic of FSTORE_IT_PARTITIONS (4) partitions while more
 * records arrive; fstore_snapshot copies it mid-stream (the tailer keeps
 * running). Then more updates and tombstones are produced. The snapshot is
 * restored into a new directory and tailed: it must catch up by reading
 * only what came after the snapshot's offsets, and end equal to the topic's
 * latest state, exactly as a store that tailed from the beginning.
 */
#include <stdlib.h>
#include <string.h>

#include "itest.h"

static fstore_store_t *tail_ready(const char *dir, const char *topic,
                                  const fstore_table_t **t)
{
    fstore_store_t *s = it_store_open(dir, "features", NULL, t);
    char errstr[1024];
    IT_CHECK(fstore_tail_add(s, *t, topic, NULL, errstr, sizeof errstr) == FSTORE_OK,
             "tail_add: %s", errstr);
    IT_CHECK(fstore_tail_start(s, errstr, sizeof errstr) == FSTORE_OK,
             "tail_start: %s", errstr);
    fstore_err_t err = fstore_tail_wait_ready(s, 120000);
    if (err) {
        fstore_tail_error(s, errstr, sizeof errstr);
        IT_FAIL("not ready: %s (%s)", fstore_err_name(err), errstr);
    }
    return s;
}

/* Produces n updates over nkeys keys, about 8 % tombstones. */
static void produce(it_producer *p, int64_t *ver, long nkeys, long n,
                    uint64_t *rs)
{
    for (long i = 0; i < n; i++) {
        int64_t id = (int64_t)(it_rand(rs) % (uint64_t)nkeys);
        if (ver[id] > 0 && it_rand(rs) % 100 < 8)
            it_del(p, id);
        else
            it_put(p, id, ++ver[id], IT_ID_SERVING);
    }
    it_flush(p);
}

static int64_t records_read(fstore_store_t *s)
{
    json_t *st = it_stats(s);
    int64_t n = it_json_int(st, 0, "tables", "features", "counters", "applied", NULL) +
                it_json_int(st, 0, "tables", "features", "counters", "deleted", NULL);
    json_decref(st);
    return n;
}

int main(void)
{
    it_init("snapshot");
    const long nkeys = it_env_long("FSTORE_IT_KEYS", 20000);
    const long nrec = it_env_long("FSTORE_IT_RECORDS", 40000);
    const int nparts = (int)it_env_long("FSTORE_IT_PARTITIONS", 4);
    uint64_t rs = it_seed();
    char *topic = it_topic_name("snapshot");
    it_create_topic(topic, nparts, NULL);
    it_reclog log;
    it_reclog_init(&log);
    it_producer *p = it_producer_new(topic, &log, NULL, NULL);
    int64_t *ver = calloc((size_t)nkeys, sizeof *ver);
    IT_CHECK(ver != NULL, "calloc");
    produce(p, ver, nkeys, nrec, &rs);

    char dir_a[4096], dir_b[4096], dir_c[4096], snap[4096];
    snprintf(dir_a, sizeof dir_a, "%s/a", it_dir());
    snprintf(dir_b, sizeof dir_b, "%s/b", it_dir());
    snprintf(dir_c, sizeof dir_c, "%s/c", it_dir());
    snprintf(snap, sizeof snap, "%s/a.fst", it_dir());
    const fstore_table_t *ta, *tb, *tc;
    fstore_store_t *a = tail_ready(dir_a, topic, &ta);

    /* Snapshot while records keep arriving and the tailer applies them. */
    produce(p, ver, nkeys, nrec / 4, &rs);
    char errstr[1024];
    int64_t t0 = it_now_us();
    IT_CHECK(fstore_snapshot(a, snap, errstr, sizeof errstr) == FSTORE_OK,
             "snapshot: %s", errstr);
    it_log("snapshot of a tailing store in %.3f s",
           (double)(it_now_us() - t0) / 1e6);
    produce(p, ver, nkeys, nrec / 2, &rs);
    fstore_store_close(a);

    t0 = it_now_us();
    IT_CHECK(fstore_restore(snap, dir_b, NULL, errstr, sizeof errstr) == FSTORE_OK,
             "restore: %s", errstr);
    it_log("restore in %.3f s", (double)(it_now_us() - t0) / 1e6);
    fstore_store_t *b = tail_ready(dir_b, topic, &tb);
    fstore_store_t *c = tail_ready(dir_c, topic, &tc);
    int64_t total = (int64_t)it_producer_delivered(p);
    int64_t read_b = records_read(b), read_c = records_read(c);
    it_log("restored store read %lld records to catch up; a store from the "
           "beginning read %lld of %lld produced",
           (long long)read_b, (long long)read_c, (long long)total);
    IT_CHECK(read_b > 0 && read_b < total,
             "the restored store resumed at the snapshot's offsets (%lld of %lld)",
             (long long)read_b, (long long)total);
    it_expect *exp = it_expected(&log, nkeys, NULL, 0, NULL, NULL);
    IT_CHECK(it_compare(b, tb, exp, nkeys, nparts) == 0, "restored store differs");
    IT_CHECK(it_compare(c, tc, exp, nkeys, nparts) == 0, "fresh store differs");
    it_check_offsets(b, tb, topic, nparts, NULL, NULL);
    free(exp);
    fstore_store_close(b);
    fstore_store_close(c);
    it_producer_free(p);
    it_reclog_free(&log);
    free(ver);
    free(topic);
    return it_pass();
}
