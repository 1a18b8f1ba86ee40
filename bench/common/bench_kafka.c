/*
 * bench_kafka: see bench_kafka.h.
 *
 * Copyright 2026 The fstore authors. Licensed under the Apache License 2.0.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench_kafka.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/kafka_admin.h"

static bench_kafka_t K;

void bench_kafka_init(const bench_kafka_t *k)
{
    K = *k;
}

/* ---- the run's clients -------------------------------------------------- */

static void rk_log(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf)
{
    (void)rk;
    if (level <= 3)
        fprintf(stderr, "%s: librdkafka %s: %s\n", bench_prog(), fac, buf);
}

static void rk_error(rd_kafka_t *rk, int err, const char *reason, void *op)
{
    (void)rk;
    (void)op;
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ||
        err == RD_KAFKA_RESP_ERR__FATAL)
        fprintf(stderr,
                "%s: kafka: %s: %s (is the broker at %s still running?)\n",
                bench_prog(), rd_kafka_err2name((rd_kafka_resp_err_t)err),
                reason, K.brokers);
}

void rk_set(rd_kafka_conf_t *c, const char *name, const char *value)
{
    char errstr[512];
    if (rd_kafka_conf_set(c, name, value, errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK)
        die("librdkafka property %s=%s: %s", name, value, errstr);
}

rd_kafka_conf_t *rk_conf(const char *client_id)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (c == NULL)
        die("rd_kafka_conf_new: out of memory");
    rk_set(c, "bootstrap.servers", K.brokers);
    rk_set(c, "client.id", client_id);
    for (int i = 0; i < K.nprops; i++) {
        char name[256];
        const char *value = prop_split(K.props[i], "", name, sizeof name);
        rk_set(c, name, value);
    }
    rd_kafka_conf_set_log_cb(c, rk_log);
    if (K.broker_down_only)
        rd_kafka_conf_set_error_cb(c, rk_error);
    return c;
}

rd_kafka_t *rk_new(rd_kafka_type_t type, rd_kafka_conf_t *c, const char *what)
{
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(type, c, errstr, sizeof errstr);
    if (rk == NULL)
        die("creating the %s: %s", what, errstr);
    return rk;
}

rd_kafka_t *rk_consumer(const char *id, const char *what)
{
    rd_kafka_conf_t *c = rk_conf(id);
    rk_set(c, "group.id", id);
    rk_set(c, "enable.auto.commit", "false");
    rk_set(c, "enable.partition.eof", "false");
    rk_set(c, "auto.offset.reset", "error");
    rk_set(c, "isolation.level", "read_committed");
    rk_set(c, "fetch.wait.max.ms", FETCH_WAIT_MS);
    return rk_new(RD_KAFKA_CONSUMER, c, what);
}

void rk_assign_end(rd_kafka_t *rk, const char *topic, const char *what)
{
    rd_kafka_topic_partition_list_t *l =
        rd_kafka_topic_partition_list_new(NPARTS);
    for (int32_t q = 0; q < NPARTS; q++) {
        int64_t lo, hi;
        rd_kafka_resp_err_t e;
        /* A topic just created has no leader for a moment. */
        for (int tries = 0;; tries++) {
            e = rd_kafka_query_watermark_offsets(rk, topic, q, &lo, &hi,
                                                 KAFKA_TIMEOUT_MS);
            if ((e != RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION &&
                 e != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE &&
                 e != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) ||
                tries == 150)
                break;
            sleep_ns(200000000);
        }
        if (e)
            die("watermarks of %s [%d]: %s", topic, q, rd_kafka_err2str(e));
        rd_kafka_topic_partition_list_add(l, topic, q)->offset = hi;
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, l);
    if (e)
        die("assigning %s to the %s: %s", topic, what, rd_kafka_err2str(e));
    rd_kafka_topic_partition_list_destroy(l);
}

/* ---- topics ------------------------------------------------------------- */

void bench_create_topics(const char *const *names, int n, int first_compacted,
                         int exist_ok)
{
    static const char *const compact[] = {"cleanup.policy=compact", NULL};
    rd_kafka_t *rk =
        rk_new(RD_KAFKA_PRODUCER, rk_conf(K.admin_id), "admin client");
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, NULL, &md, 10000);
    if (e)
        die("no answer from the Kafka broker at %s within 10 s (%s); start "
            "one with BROKERS=$(tests/kafka/broker.sh start) and pass "
            "--brokers $BROKERS",
            K.brokers, rd_kafka_err2str(e));
    rd_kafka_metadata_destroy(md);
    sup_topic *t = xcalloc((size_t)n, sizeof *t);
    for (int i = 0; i < n; i++)
        t[i] = (sup_topic){names[i], NPARTS, 1,
                           i >= first_compacted ? compact : NULL};
    char why[512];
    if (sup_create_topics(rk, t, n, exist_ok, KAFKA_TIMEOUT_MS, why, sizeof why) <
        0)
        die("creating the bench topics: %s (the broker must allow "
            "CreateTopics; bench/run.sh starts one that does)",
            why);
    free(t);
    rd_kafka_destroy(rk);
}

int64_t bench_topic_records(const char *topic)
{
    rd_kafka_t *rk =
        rk_new(RD_KAFKA_PRODUCER, rk_conf(K.admin_id), "admin client");
    int64_t sum = 0;
    for (int32_t p = 0; p < NPARTS && sum >= 0; p++) {
        int64_t lo, hi;
        rd_kafka_resp_err_t e;
        /* A topic just created may not be known to every listener yet. */
        for (int tries = 0; (e = rd_kafka_query_watermark_offsets(
                                 rk, topic, p, &lo, &hi, KAFKA_TIMEOUT_MS)) &&
                            tries < 50;
             tries++)
            usleep(100000);
        if (e) {
            fprintf(stderr, "%s: watermarks of %s [%d]: %s\n", bench_prog(),
                    topic, p, rd_kafka_err2str(e));
            sum = -1;
        } else {
            sum += hi - lo;
        }
    }
    rd_kafka_destroy(rk);
    return sum;
}

void bench_delete_topics(const char *const *names, int n)
{
    if (n == 0)
        return;
    rd_kafka_t *rk =
        rk_new(RD_KAFKA_PRODUCER, rk_conf(K.admin_id), "admin client");
    char why[512];
    if (sup_delete_topics(rk, names, n, KAFKA_TIMEOUT_MS, why, sizeof why))
        fprintf(stderr,
                "%s: warning: deleting the bench topics: %s; they may "
                "stay on the broker\n",
                bench_prog(), why);
    rd_kafka_destroy(rk);
}

/* ---- producing ---------------------------------------------------------- */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                        void *opaque)
{
    (void)rk;
    producer_t *p = opaque;
    if (m->err) {
        if (p->failed++ == 0)
            snprintf(p->first_error, sizeof p->first_error, "%s",
                     rd_kafka_err2str(m->err));
        return;
    }
    if (m->partition >= 0 && m->partition < NPARTS &&
        m->offset > p->max_offset[m->partition])
        p->max_offset[m->partition] = m->offset;
    if (p->on_delivered != NULL)
        p->on_delivered(p, (uint32_t)(uintptr_t)m->_private, m->partition,
                        m->offset);
    atomic_fetch_add_explicit(&p->delivered, 1, memory_order_relaxed);
}

void producer_init(producer_t *p, const char *topic, const char *linger_ms,
                   const char *nagle_disable, const char *client_id)
{
    memset(p, 0, sizeof *p);
    for (int i = 0; i < NPARTS; i++)
        p->max_offset[i] = -1;
    p->topic = topic;
    rd_kafka_conf_t *c = rk_conf(client_id);
    /* The Java client's partitioner: keys land where Kafka Streams,
     * fstore_partition_for_key() and the aggregator's output put them. */
    rk_set(c, "partitioner", "murmur2_random");
    rk_set(c, "enable.idempotence", "true");
    rk_set(c, "linger.ms", linger_ms);
    if (nagle_disable != NULL)
        rk_set(c, "socket.nagle.disable", nagle_disable);
    rk_set(c, "message.timeout.ms", "120000");
    rk_set(c, "queue.buffering.max.messages", "1000000");
    rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
    rd_kafka_conf_set_opaque(c, p);
    p->rk = rk_new(RD_KAFKA_PRODUCER, c, "producer");
}

void producer_check(producer_t *p)
{
    char errstr[512];
    if (p->failed)
        die("%" PRIu64 " deliveries to topic %s failed, the first with: %s "
            "(is the broker at %s still running?)",
            p->failed, p->topic, p->first_error, K.brokers);
    if (rd_kafka_fatal_error(p->rk, errstr, sizeof errstr))
        die("producer to %s: fatal error: %s", p->topic, errstr);
}

void producer_poll(producer_t *p, int timeout_ms)
{
    rd_kafka_poll(p->rk, timeout_ms);
    producer_check(p);
}

void produce(producer_t *p, const char *key, const void *value, size_t len,
             uint32_t id)
{
    uint64_t deadline = now_ns() + 120 * 1000000000ull;
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            p->rk, RD_KAFKA_V_TOPIC(p->topic),
            RD_KAFKA_V_KEY((void *)(uintptr_t)key, (size_t)KEY_LEN),
            RD_KAFKA_V_VALUE((void *)(uintptr_t)value, len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_OPAQUE((void *)(uintptr_t)id), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
            return;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || now_ns() > deadline)
            die("producing to topic %s: %s", p->topic, rd_kafka_err2str(e));
        producer_poll(p, 10);
    }
}

void producer_flush(producer_t *p)
{
    rd_kafka_resp_err_t e = rd_kafka_flush(p->rk, 120000);
    producer_check(p);
    if (e)
        die("waiting for deliveries to topic %s: %s (%d records still queued; "
            "is the broker at %s still running?)",
            p->topic, rd_kafka_err2str(e), rd_kafka_outq_len(p->rk), K.brokers);
}

void producer_free(producer_t *p)
{
    if (p->rk != NULL)
        rd_kafka_destroy(p->rk);
    p->rk = NULL;
}

/* ---- freshness: produce -> seen ------------------------------------------ */

void fresh_init(fresh_t *F, int npaths, size_t cap)
{
    memset(F, 0, sizeof *F);
    F->npaths = npaths;
    F->sent = xcalloc(cap, sizeof *F->sent);
    for (int k = 0; k < npaths; k++) {
        F->path[k].F = F;
        F->path[k].seen = xcalloc(cap, sizeof *F->path[k].seen);
    }
}

void fresh_reset(fresh_t *F, uint32_t base, size_t total)
{
    F->base = base;
    F->total = total;
    atomic_store(&F->produced, 0);
    atomic_store(&F->done_at, 0);
    memset(F->sent, 0, total * sizeof *F->sent);
    for (int k = 0; k < F->npaths; k++) {
        atomic_store(&F->path[k].nseen, 0);
        memset(F->path[k].seen, 0, total * sizeof *F->path[k].seen);
    }
}

void fresh_free(fresh_t *F)
{
    free(F->sent);
    for (int k = 0; k < F->npaths; k++)
        free(F->path[k].seen);
}

int fresh_finished(fresh_t *F)
{
    uint64_t done = atomic_load(&F->done_at);
    int all = 1;
    for (int k = 0; k < F->npaths; k++)
        all &= atomic_load(&F->path[k].nseen) == F->total;
    if (all)
        return 1;
    return done != 0 && now_ns() - done > SEEN_TIMEOUT_S * 1000000000ull;
}

void fresh_mark(fresh_path_t *p, uint32_t id, uint64_t t)
{
    fresh_t *F = p->F;
    if (id < F->base || id - F->base >= F->total)
        return;
    size_t i = id - F->base;
    /* A record cannot arrive before its produce call. */
    if (i >= atomic_load_explicit(&F->produced, memory_order_acquire) ||
        p->seen[i] != 0)
        return;
    p->seen[i] = t;
    atomic_fetch_add(&p->nseen, 1);
}

void *fresh_consumer_main(void *path)
{
    fresh_path_t *p = path;
    while (!fresh_finished(p->F)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(p->consumer, 50);
        uint64_t t = now_ns();
        if (m == NULL)
            continue;
        if (m->err)
            die("freshness: consuming %s: %s", rd_kafka_topic_name(m->rkt),
                rd_kafka_message_errstr(m));
        fresh_mark(p, id_of(m->key, m->key_len), t);
        rd_kafka_message_destroy(m);
    }
    return NULL;
}

size_t fresh_lookup(fresh_path_t *p, fstore_reader_t *rd,
                    const fstore_table_t *table, size_t lo, uint64_t t)
{
    fresh_t *F = p->F;
    char key[KEY_STRIDE];
    size_t n = atomic_load_explicit(&F->produced, memory_order_acquire);
    for (size_t i = lo; i < n; i++) {
        if (p->seen[i] != 0)
            continue;
        const fstore_row_t *row;
        key_of(key, F->base + (uint32_t)i);
        fstore_err_t err = fstore_get(rd, table, key, KEY_LEN, &row);
        if (err == FSTORE_NOT_FOUND)
            continue;
        if (err != FSTORE_OK)
            die("freshness: fstore_get %s: %s (%s)", key, fstore_err_name(err),
                fstore_reader_errmsg(rd));
        p->seen[i] = t;
        atomic_fetch_add(&p->nseen, 1);
    }
    while (lo < n && p->seen[lo] != 0)
        lo++;
    return lo;
}

uint64_t fresh_collect(const fresh_path_t *p, size_t warm, fs_hist *h,
                       const char *what, unsigned rate, const char *unit)
{
    const fresh_t *F = p->F;
    uint64_t seen = 0, produced = F->total - warm;
    for (size_t i = warm; i < F->total; i++)
        if (p->seen[i] != 0) {
            seen++;
            /* seen >= sent: a snapshot taken before a produce call cannot
             * hold its record; guard the unsigned difference anyway. */
            fs_hist_add(h,
                        p->seen[i] > F->sent[i] ? p->seen[i] - F->sent[i] : 0);
        }
    if (seen == produced)
        return seen;
    fprintf(stderr,
            "\n%s: FRESHNESS FAILURE (%s at %u %s/s): %" PRIu64 " of %" PRIu64
            " produced %s were not seen within %d s of the last produce; "
            "first missing keys:\n",
            bench_prog(), what, rate, unit, produced - seen, produced, unit,
            SEEN_TIMEOUT_S);
    for (size_t i = warm, shown = 0; i < F->total && shown < 10; i++)
        if (p->seen[i] == 0) {
            fprintf(stderr, "  user:%09u\n", F->base + (uint32_t)i);
            shown++;
        }
    die("%s: %s produced but never seen: the latency figures would be wrong",
        what, unit);
}

/* ---- a tailing store's statistics --------------------------------------- */

json_t *bench_store_stats(fstore_store_t *store)
{
    char *txt = NULL;
    fs_check(fstore_stats_json(store, &txt), "fstore_stats_json", NULL);
    json_error_t jerr;
    json_t *root = json_loads(txt, 0, &jerr);
    if (root == NULL)
        die("fstore_stats_json returned invalid JSON: %s", jerr.text);
    fstore_free(txt);
    return root;
}

void bench_apply_ms(fstore_store_t *store, double out[4])
{
    json_t *root = bench_store_stats(store);
    json_t *a = json_object_get(root, "apply_ms");
    const char *const names[4] = {"p50", "p99", "p999", "max"};
    for (int i = 0; i < 4; i++) {
        json_t *v = json_object_get(a, names[i]);
        if (!json_is_number(v))
            die("fstore_stats_json has no apply_ms.%s (see docs/stats.md)",
                names[i]);
        out[i] = json_number_value(v);
    }
    json_decref(root);
}
