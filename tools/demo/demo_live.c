/* The write side of `fstore demo`; see demo_live.h. */
#include "demo_live.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define PROBE_INTERVAL_NS 20000000u   /* one probe every 20 ms */
#define PROBE_POLL_NS 50000L          /* reader poll while waiting */
#define PROBE_GIVE_UP_NS 10000000000u /* a probe not visible in 10 s */

static void sleep_ns(long ns)
{
    struct timespec ts = {ns / 1000000000L, ns % 1000000000L};
    nanosleep(&ts, NULL);
}

/* Produces one record of entity rank @p rank: an update, or a tombstone
 * with probability DEMO_DELETE_SHARE when @p may_delete. @return 0, 1 for a
 * tombstone, or -1 (message in @p errstr). */
static int produce_entity(demo_kafka *k, const demo_zipf *z, uint32_t rank,
                          int may_delete, demo_rng *r, char *errstr,
                          size_t size)
{
    uint32_t id = demo_zipf_entity(z, rank);
    char key[DEMO_KEY_MAX];
    size_t klen = demo_key(id, key);
    int64_t now = demo_wall_ms();
    if (may_delete && demo_rng_unit(r) < DEMO_DELETE_SHARE)
        return demo_kafka_produce(k, RD_KAFKA_PARTITION_UA, key, klen, NULL, 0,
                                  now, errstr, size)
                   ? -1
                   : 1;
    demo_features f;
    uint8_t val[DEMO_VALUE_MAX];
    demo_features_gen(&f, id, rank, now, r);
    size_t vlen = demo_encode(&f, val);
    return demo_kafka_produce(k, RD_KAFKA_PARTITION_UA, key, klen, val, vlen,
                              now, errstr, size);
}

int demo_load(demo_kafka *k, const demo_zipf *z, uint64_t records,
              uint64_t *deletes, int (*tick)(void *opaque, uint64_t done),
              void *opaque, char *errstr, size_t size)
{
    demo_rng r = {42};
    *deletes = 0;
    /* History first (updates and deletes of Zipf-drawn entities), then the
     * latest value of every entity: a log whose oldest records are all
     * superseded, as a compacted topic's uncleaned head is. */
    uint64_t history = records > z->n ? records - z->n : 0;
    for (uint64_t i = 0; i < records; i++) {
        int hist = i < history;
        uint32_t rank = hist ? demo_zipf_rank(z, &r) : (uint32_t)(i - history);
        int rc = produce_entity(k, z, rank, 1, &r, errstr, size);
        if (rc < 0)
            return -1;
        *deletes += (uint64_t)rc;
        if ((i & 1023) == 1023) {
            rd_kafka_poll(k->rk, 0);
            if (tick && tick(opaque, i + 1))
                return 1;
        }
    }
    return 0;
}

static void live_fail(demo_live *l, const char *msg)
{
    if (atomic_exchange(&l->failed, 1) == 0)
        snprintf(l->err, sizeof l->err, "%s", msg);
    atomic_store(&l->stop, 1);
}

/* Produces at l->rate records/s, paced every millisecond. */
static void *producer_main(void *arg)
{
    demo_live *l = arg;
    demo_rng r = {7};
    char err[512];
    uint64_t t0 = demo_now_ns();
    long sent = 0;
    while (!atomic_load(&l->stop)) {
        double due = (double)(demo_now_ns() - t0) / 1e9 * l->rate;
        while (sent < (long)due && !atomic_load(&l->stop)) {
            int rc = produce_entity(l->k, l->z, demo_zipf_rank(l->z, &r), 1, &r,
                                    err, sizeof err);
            if (rc < 0) {
                live_fail(l, err);
                return NULL;
            }
            sent++;
            atomic_fetch_add(&l->produced, 1);
            if (rc == 1)
                atomic_fetch_add(&l->deleted, 1);
        }
        rd_kafka_poll(l->k->rk, 0);
        sleep_ns(1000000L);
    }
    return NULL;
}

/* Produces one probe (count_1d = seq) and waits until a refreshed reader
 * sees it. @return 0, 1 when it never became visible, -1 on error. */
static int probe_once(demo_live *l, fstore_reader_t *rd, int col, long seq,
                      char *err, size_t size)
{
    int32_t p = (int32_t)(seq % l->k->partitions);
    char key[DEMO_KEY_MAX];
    int klen = snprintf(key, sizeof key, "probe-%d", (int)p);
    demo_features f;
    demo_rng r = {(uint64_t)seq};
    uint8_t val[DEMO_VALUE_MAX];
    demo_features_gen(&f, 0, 0, demo_wall_ms(), &r);
    f.count[2] = seq;
    size_t vlen = demo_encode(&f, val);
    uint64_t t0 = demo_now_ns();
    if (demo_kafka_produce(l->k, p, key, (size_t)klen, val, vlen,
                           demo_wall_ms(), err, size))
        return -1;
    for (;;) {
        fstore_err_t e = fstore_reader_refresh(rd);
        const fstore_row_t *row = NULL;
        int64_t v = 0;
        if (!e)
            e = fstore_get(rd, l->table, key, (size_t)klen, &row);
        if (e == FSTORE_OK &&
            fstore_row_long(l->table, row, col, &v) == FSTORE_OK && v == seq) {
            fs_hist_add(&l->probe_ns, demo_now_ns() - t0);
            atomic_store(&l->probe_p99_ns,
                         fs_hist_quantile(&l->probe_ns, 0.99));
            return 0;
        }
        if (e != FSTORE_OK && e != FSTORE_NOT_FOUND) {
            snprintf(err, size, "probe lookup: %s", fstore_reader_errmsg(rd));
            return -1;
        }
        if (demo_now_ns() - t0 > PROBE_GIVE_UP_NS)
            return 1;
        sleep_ns(PROBE_POLL_NS);
    }
}

static void *prober_main(void *arg)
{
    demo_live *l = arg;
    char err[512];
    fstore_reader_t *rd = NULL;
    int col = fstore_table_column_index(l->table, "count_1d");
    if (col < 0 || fstore_reader_new(l->store, &rd) != FSTORE_OK) {
        live_fail(l, "cannot start the probe reader");
        return NULL;
    }
    for (long seq = 1; !atomic_load(&l->stop); seq++) {
        uint64_t t0 = demo_now_ns();
        int rc = probe_once(l, rd, col, seq, err, sizeof err);
        if (rc < 0) {
            live_fail(l, err);
            break;
        }
        l->probes_lost += rc;
        atomic_fetch_add(&l->probes, 1);
        uint64_t spent = demo_now_ns() - t0;
        if (spent < PROBE_INTERVAL_NS)
            sleep_ns((long)(PROBE_INTERVAL_NS - spent));
    }
    fstore_reader_destroy(rd);
    return NULL;
}

int demo_live_start(demo_live *l)
{
    atomic_store(&l->stop, 0);
    if (l->rate > 0) {
        if (pthread_create(&l->producer, NULL, producer_main, l) != 0) {
            snprintf(l->err, sizeof l->err, "cannot start a thread");
            return -1;
        }
        l->producer_on = 1;
    }
    if (pthread_create(&l->prober, NULL, prober_main, l) != 0) {
        snprintf(l->err, sizeof l->err, "cannot start a thread");
        demo_live_stop(l);
        return -1;
    }
    l->prober_on = 1;
    return 0;
}

int demo_live_stop(demo_live *l)
{
    atomic_store(&l->stop, 1);
    if (l->producer_on)
        pthread_join(l->producer, NULL);
    if (l->prober_on)
        pthread_join(l->prober, NULL);
    l->producer_on = l->prober_on = 0;
    return atomic_load(&l->failed) ? -1 : 0;
}
