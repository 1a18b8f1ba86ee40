/*
 * Scenario: snapshot while tailing, restore, resume.
 *
 * A store tails a topic of FSTORE_IT_PARTITIONS (4) partitions while more
 * records arrive; fstore_snapshot copies it mid-stream (the tailer keeps
 * running). A thread keeps producing while the snapshot runs and watches
 * the store's applied offsets: the test requires that offsets beyond the
 * snapshot's were visible before the snapshot file appeared, i.e. that the
 * tailer committed while the snapshot was being taken (retrying with more
 * load if not), and that the snapshot is consistent all the same: its rows
 * are exactly the topic's state at the snapshot's offsets. Then more
 * updates and tombstones are produced. The snapshot is restored into a new
 * directory and tailed: it must catch up by reading only what came after
 * the snapshot's offsets, and end equal to the topic's latest state,
 * exactly as a store that tailed from the beginning.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* Produces n updates over nkeys keys, about 8 % tombstones; waits for
 * their delivery when flush is set. */
static void produce(it_producer *p, int64_t *ver, long nkeys, long n,
                    uint64_t *rs, int flush)
{
    for (long i = 0; i < n; i++) {
        int64_t id = (int64_t)(it_rand(rs) % (uint64_t)nkeys);
        if (ver[id] > 0 && it_rand(rs) % 100 < 8)
            it_del(p, id);
        else
            it_put(p, id, ++ver[id], IT_ID_SERVING);
    }
    if (flush)
        it_flush(p);
}

#define MAX_PARTS 64

/* Applied offset of every partition p < nparts in a fresh snapshot of r
 * (-1: nothing applied); returns their sum. */
static int64_t offsets_of(fstore_reader_t *r, const fstore_table_t *t,
                          int nparts, int64_t *off)
{
    IT_CHECK(fstore_reader_refresh(r) == FSTORE_OK, "reader refresh");
    int64_t sum = 0;
    for (int p = 0; p < nparts; p++) {
        fstore_err_t e = fstore_reader_offset(r, t, p, &off[p]);
        IT_CHECK(e == FSTORE_OK || e == FSTORE_NOT_FOUND, "offset of [%d]: %s",
                 p, fstore_err_name(e));
        if (e == FSTORE_NOT_FOUND)
            off[p] = -1;
        sum += off[p];
    }
    fstore_reader_reset(r);
    return sum;
}

/* The thread that runs beside fstore_snapshot: produces a burst of
 * updates, then samples the store's offsets, until the snapshot returned.
 * A sample counts as taken during the snapshot when the snapshot file did
 * not exist yet after it was read (fstore_snapshot renames the file into
 * place as its last step). */
typedef struct during {
    fstore_store_t *store;
    const fstore_table_t *t;
    it_producer *p;
    int64_t *ver;
    long nkeys;
    uint64_t *rs;
    int nparts;
    long burst;        /* records per round */
    const char *snap;  /* the snapshot's final path */
    atomic_int loaded; /* the tailer committed under this load */
    atomic_int done;   /* fstore_snapshot returned */
    /* The last offsets read before the snapshot file appeared. */
    int64_t seen[MAX_PARTS];
    long produced, samples;
} during;

static void *during_main(void *arg)
{
    during *d = arg;
    fstore_reader_t *r;
    IT_CHECK(fstore_reader_new(d->store, &r) == FSTORE_OK, "reader");
    int64_t off[MAX_PARTS];
    int64_t first = offsets_of(r, d->t, d->nparts, off);
    while (!atomic_load(&d->done)) {
        produce(d->p, d->ver, d->nkeys, d->burst, d->rs, 0);
        d->produced += d->burst;
        int64_t sum = offsets_of(r, d->t, d->nparts, off);
        struct stat st;
        if (stat(d->snap, &st) != 0) {
            memcpy(d->seen, off, sizeof off[0] * (size_t)d->nparts);
            d->samples++;
        }
        if (sum > first)
            atomic_store(&d->loaded, 1);
        it_sleep_ms(1);
    }
    fstore_reader_destroy(r);
    return NULL;
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
    produce(p, ver, nkeys, nrec, &rs, 1);

    IT_CHECK(nparts <= MAX_PARTS, "at most %d partitions", MAX_PARTS);
    char dir_a[4096], dir_b[4096], dir_c[4096], snap[4096];
    snprintf(dir_a, sizeof dir_a, "%s/a", it_dir());
    snprintf(dir_c, sizeof dir_c, "%s/c", it_dir());
    snprintf(snap, sizeof snap, "%s/a.fst", it_dir());
    const fstore_table_t *ta, *tb, *tc;
    fstore_store_t *a = tail_ready(dir_a, topic, &ta);

    /* Snapshot while records keep arriving and the tailer applies them,
     * until a commit is seen to overlap the snapshot. */
    char errstr[1024];
    int64_t snap_off[MAX_PARTS];
    int overlap = 0, attempt;
    long burst = 0;
    for (attempt = 1; attempt <= 5 && !overlap; attempt++) {
        during d;
        memset(&d, 0, sizeof d);
        d.store = a, d.t = ta, d.p = p, d.ver = ver, d.nkeys = nkeys;
        d.rs = &rs, d.nparts = nparts, d.snap = snap;
        d.burst = burst = 50L << attempt; /* more load on each retry */
        unlink(snap);
        pthread_t th;
        IT_CHECK(!pthread_create(&th, NULL, during_main, &d), "thread");
        int64_t deadline = it_now_us() + 30 * 1000000LL;
        while (!atomic_load(&d.loaded)) {
            IT_CHECK(it_now_us() < deadline,
                     "the tailer committed nothing for 30 s under load");
            it_sleep_ms(1);
        }
        int64_t t0 = it_now_us();
        fstore_err_t e = fstore_snapshot(a, snap, errstr, sizeof errstr);
        int64_t t1 = it_now_us();
        atomic_store(&d.done, 1);
        IT_CHECK(!pthread_join(th, NULL), "join");
        IT_CHECK(e == FSTORE_OK, "snapshot: %s", errstr);
        it_flush(p); /* every record up to the snapshot's offsets is logged */

        snprintf(dir_b, sizeof dir_b, "%s/b%d", it_dir(), attempt);
        int64_t t2 = it_now_us();
        IT_CHECK(fstore_restore(snap, dir_b, NULL, errstr, sizeof errstr) ==
                     FSTORE_OK,
                 "restore: %s", errstr);
        int64_t t3 = it_now_us();
        fstore_store_t *b = it_store_open(dir_b, "features", NULL, &tb);
        fstore_reader_t *r;
        IT_CHECK(fstore_reader_new(b, &r) == FSTORE_OK, "reader");
        int64_t snap_sum = offsets_of(r, tb, nparts, snap_off);
        fstore_reader_destroy(r);
        /* Consistent: the rows are the topic's state at those offsets. */
        it_expect *exp = it_expected(&log, nkeys, snap_off, nparts, NULL, NULL);
        size_t diff = it_compare(b, tb, exp, nkeys, nparts);
        IT_CHECK(diff == 0,
                 "snapshot %d: its rows differ in %zu places from the topic "
                 "at its offsets",
                 attempt, diff);
        free(exp);
        fstore_store_close(b);
        /* Overlapped: offsets beyond the snapshot's were visible before the
         * snapshot was complete (offsets only grow, so such a commit came
         * after the snapshot's read began). */
        int64_t seen_sum = 0;
        for (int q = 0; q < nparts; q++) {
            seen_sum += d.seen[q];
            overlap |= d.samples > 0 && d.seen[q] > snap_off[q];
        }
        it_log("snapshot %d of a tailing store in %.3f s (restore %.3f s), "
               "%ld records produced beside it: it holds offsets summing to "
               "%lld; before it was complete the store showed %lld",
               attempt, (double)(t1 - t0) / 1e6, (double)(t3 - t2) / 1e6,
               d.produced, (long long)snap_sum, (long long)seen_sum);
    }
    IT_CHECK(overlap,
             "no commit of the tailer overlapped any of 5 snapshots, the last "
             "with %ld records per round produced beside it",
             burst);
    it_log("a commit overlapped snapshot %d, whose rows still equal the topic "
           "at its offsets",
           attempt - 1);
    produce(p, ver, nkeys, nrec / 2, &rs, 1);
    fstore_store_close(a);

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
