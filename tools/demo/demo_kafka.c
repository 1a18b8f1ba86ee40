/* The Kafka side of `fstore demo`; see demo_kafka.h. */
#include "demo_kafka.h"

#include <stdio.h>
#include <string.h>

#include <librdkafka/rdkafka_mock.h>

#include "support/kafka_admin.h"

static void demo_kafka_dr(rd_kafka_t *rk, const rd_kafka_message_t *m,
                          void *opaque)
{
    (void)rk;
    demo_kafka *k = opaque;
    if (!m->err) {
        atomic_fetch_add(&k->delivered, 1);
        return;
    }
    if (atomic_fetch_add(&k->failed, 1) == 0)
        atomic_store(&k->first_err, (int)m->err);
}

static int demo_kafka_set(rd_kafka_conf_t *conf, const char *name,
                          const char *value, char *errstr, size_t size)
{
    char buf[256];
    if (rd_kafka_conf_set(conf, name, value, buf, sizeof buf) ==
        RD_KAFKA_CONF_OK)
        return 0;
    snprintf(errstr, size, "producer property %s=%s: %s", name, value, buf);
    return -1;
}

/* Creates the producer; in mock mode with its mock cluster. */
static int demo_kafka_producer(demo_kafka *k, const char *brokers,
                               void (*log)(const rd_kafka_t *, int,
                                           const char *, const char *),
                               char *errstr, size_t size)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    /* linger.ms=1: records of the live phase leave within a millisecond,
     * so produce→visible measures the store, not the producer's batching.
     * murmur2_random: Kafka's default partitioner, as the Java clients. */
    int bad =
        demo_kafka_set(conf, "linger.ms", "1", errstr, size) ||
        demo_kafka_set(conf, "partitioner", "murmur2_random", errstr, size) ||
        demo_kafka_set(conf, "queue.buffering.max.messages", "500000", errstr,
                       size) ||
        /* Nagle off, as Kafka's Java clients: a record must not wait
         * for the acknowledgement of the previous request. */
        demo_kafka_set(conf, "socket.nagle.disable", "true", errstr, size) ||
        (brokers
             ? demo_kafka_set(conf, "bootstrap.servers", brokers, errstr, size)
             : demo_kafka_set(conf, "test.mock.num.brokers", "1", errstr,
                              size));
    if (bad) {
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rd_kafka_conf_set_opaque(conf, k);
    rd_kafka_conf_set_dr_msg_cb(conf, demo_kafka_dr);
    if (log)
        rd_kafka_conf_set_log_cb(conf, log);
    char buf[512];
    k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, buf, sizeof buf);
    if (!k->rk) {
        rd_kafka_conf_destroy(conf);
        snprintf(errstr, size, "cannot start a Kafka producer: %s", buf);
        return -1;
    }
    return 0;
}

#define DEMO_ADMIN_MS 15000 /* the topic's creation or deletion */
#define DEMO_READY_MS 30000 /* until every partition has a leader */

/* Creates the topic (cleanup.policy=compact when asked) with the Admin API, or uses
 * the one that exists, and reads its partition count once every partition
 * has a leader (a topic that already existed keeps its own count). */
static int demo_kafka_create(demo_kafka *k, int compact, char *errstr, size_t size)
{
    static const char *const configs[] = {"cleanup.policy=compact", NULL};
    sup_topic t = {k->topic, k->partitions, -1, compact ? configs : NULL};
    char why[512];
    int made =
        sup_create_topics(k->rk, &t, 1, 1, DEMO_ADMIN_MS, why, sizeof why);
    if (made < 0) {
        snprintf(errstr, size, "cannot create topic %s: %s", k->topic, why);
        return -1;
    }
    k->created = made == 1;
    int parts =
        sup_wait_leaders(k->rk, k->topic, 0, DEMO_READY_MS, why, sizeof why);
    if (parts < 0) {
        snprintf(errstr, size, "%s", why);
        return -1;
    }
    k->partitions = parts;
    return 0;
}

int demo_kafka_open(demo_kafka *k, const char *brokers, const char *topic,
                    int partitions, int compact,
                    void (*log)(const rd_kafka_t *, int, const char *,
                                const char *),
                    char *errstr, size_t size)
{
    memset(k, 0, sizeof *k);
    snprintf(k->topic, sizeof k->topic, "%s", topic);
    k->partitions = partitions;
    k->mock = brokers == NULL;
    if (demo_kafka_producer(k, brokers, log, errstr, size))
        return -1;
    if (!k->mock) {
        snprintf(k->bootstraps, sizeof k->bootstraps, "%s", brokers);
        return demo_kafka_create(k, compact, errstr, size);
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(k->rk);
    if (!mc) {
        snprintf(errstr, size, "librdkafka did not start its mock cluster");
        return -1;
    }
    rd_kafka_resp_err_t err =
        rd_kafka_mock_topic_create(mc, k->topic, partitions, 1);
    if (err) {
        snprintf(errstr, size, "cannot create mock topic %s: %s", k->topic,
                 rd_kafka_err2str(err));
        return -1;
    }
    snprintf(k->bootstraps, sizeof k->bootstraps, "%s",
             rd_kafka_mock_cluster_bootstraps(mc));
    return 0;
}

int demo_kafka_produce(demo_kafka *k, int32_t partition, const void *key,
                       size_t key_len, const void *value, size_t value_len,
                       int64_t ts_ms, char *errstr, size_t size)
{
    rd_kafka_resp_err_t err;
    /* The casts: librdkafka's macros take non-const pointers but copy. */
    while (
        (err = rd_kafka_producev(
             k->rk, RD_KAFKA_V_TOPIC(k->topic), RD_KAFKA_V_PARTITION(partition),
             RD_KAFKA_V_KEY((void *)(uintptr_t)key, key_len),
             RD_KAFKA_V_VALUE((void *)(uintptr_t)value, value_len),
             RD_KAFKA_V_TIMESTAMP(ts_ms),
             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
        RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(k->rk, 10);
    if (err) {
        snprintf(errstr, size, "cannot produce to %s: %s", k->topic,
                 rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

int demo_kafka_flush(demo_kafka *k, int timeout_ms, char *errstr, size_t size)
{
    rd_kafka_resp_err_t err = rd_kafka_flush(k->rk, timeout_ms);
    long failed = atomic_load(&k->failed);
    if (failed) {
        snprintf(
            errstr, size, "%ld records were not delivered to %s: %s", failed,
            k->topic,
            rd_kafka_err2str((rd_kafka_resp_err_t)atomic_load(&k->first_err)));
        return -1;
    }
    if (err) {
        snprintf(errstr, size, "%d records not delivered to %s within %d s: %s",
                 rd_kafka_outq_len(k->rk), k->topic, timeout_ms / 1000,
                 rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

int64_t demo_kafka_retained(demo_kafka *k)
{
    int64_t sum = 0;
    for (int p = 0; p < k->partitions; p++) {
        int64_t lo = 0, hi = 0;
        if (rd_kafka_query_watermark_offsets(k->rk, k->topic, p, &lo, &hi,
                                             5000))
            return -1;
        sum += hi - lo;
    }
    return sum;
}

/* Deletes the topic this run created; a failure leaves it on the cluster. */
static void demo_kafka_delete(demo_kafka *k)
{
    const char *names[] = {k->topic};
    char why[512];
    sup_delete_topics(k->rk, names, 1, DEMO_ADMIN_MS, why, sizeof why);
}

void demo_kafka_close(demo_kafka *k, int delete_topic)
{
    if (!k->rk)
        return;
    if (k->created && delete_topic)
        demo_kafka_delete(k);
    /* After a failure or Ctrl-C, drop what was not sent rather than warn. */
    rd_kafka_purge(k->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(k->rk, 1000);
    rd_kafka_destroy(k->rk);
    k->rk = NULL;
}
