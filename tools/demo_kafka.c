/* The Kafka side of `fstore demo`; see demo_kafka.h. */
#include "demo_kafka.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka_mock.h>

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
    int bad = demo_kafka_set(conf, "linger.ms", "1", errstr, size) ||
              demo_kafka_set(conf, "partitioner", "murmur2_random", errstr,
                             size) ||
              demo_kafka_set(conf, "queue.buffering.max.messages", "500000",
                             errstr, size) ||
              /* Nagle off, as Kafka's Java clients: a record must not wait
               * for the acknowledgement of the previous request. */
              demo_kafka_set(conf, "socket.nagle.disable", "true", errstr,
                             size) ||
              (brokers ? demo_kafka_set(conf, "bootstrap.servers", brokers,
                                        errstr, size)
                       : demo_kafka_set(conf, "test.mock.num.brokers", "1",
                                        errstr, size));
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

/* Creates the topic with the Admin API; an existing topic is fine. */
static int demo_kafka_create(demo_kafka *k, char *errstr, size_t size)
{
    char buf[512];
    rd_kafka_NewTopic_t *nt =
        rd_kafka_NewTopic_new(k->topic, k->partitions, -1, buf, sizeof buf);
    if (!nt) {
        snprintf(errstr, size, "cannot describe topic %s: %s", k->topic, buf);
        return -1;
    }
    rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
    rd_kafka_AdminOptions_t *opt =
        rd_kafka_AdminOptions_new(k->rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_AdminOptions_set_operation_timeout(opt, 15000, buf, sizeof buf);
    rd_kafka_AdminOptions_set_request_timeout(opt, 20000, buf, sizeof buf);
    rd_kafka_queue_t *q = rd_kafka_queue_new(k->rk);
    rd_kafka_CreateTopics(k->rk, &nt, 1, opt, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
    int rc = -1;
    const rd_kafka_CreateTopics_result_t *res =
        ev ? rd_kafka_event_CreateTopics_result(ev) : NULL;
    size_t n = 0;
    const rd_kafka_topic_result_t **tr =
        res ? rd_kafka_CreateTopics_result_topics(res, &n) : NULL;
    if (!ev)
        snprintf(errstr, size, "cannot create topic %s: no answer in 30 s",
                 k->topic);
    else if (rd_kafka_event_error(ev))
        snprintf(errstr, size, "cannot create topic %s: %s", k->topic,
                 rd_kafka_event_error_string(ev));
    else if (n != 1)
        snprintf(errstr, size, "cannot create topic %s: no result", k->topic);
    else if (rd_kafka_topic_result_error(tr[0]) ==
             RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        rc = 0;
    else if (rd_kafka_topic_result_error(tr[0]))
        snprintf(errstr, size, "cannot create topic %s: %s", k->topic,
                 rd_kafka_topic_result_error_string(tr[0]));
    else
        rc = 0, k->created = 1;
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(opt);
    rd_kafka_NewTopic_destroy(nt);
    return rc;
}

/* Waits until the topic's metadata is known and reads its partition count
 * (a topic that already existed keeps its own). */
static int demo_kafka_partitions(demo_kafka *k, char *errstr, size_t size)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(k->rk, k->topic, NULL);
    if (!rkt) {
        snprintf(errstr, size, "cannot use topic %s: %s", k->topic,
                 rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int attempt = 0; attempt < 40; attempt++) {
        const struct rd_kafka_metadata *md = NULL;
        err = rd_kafka_metadata(k->rk, 0, rkt, &md, 5000);
        if (!err && md->topic_cnt == 1) {
            err = md->topics[0].err;
            if (!err && md->topics[0].partition_cnt > 0)
                k->partitions = md->topics[0].partition_cnt;
            else if (!err)
                err = RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
        }
        if (md)
            rd_kafka_metadata_destroy(md);
        if (!err)
            break;
        struct timespec ts = {0, 250000000L};
        nanosleep(&ts, NULL);
    }
    rd_kafka_topic_destroy(rkt);
    if (err) {
        snprintf(errstr, size, "topic %s: no metadata: %s", k->topic,
                 rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

int demo_kafka_open(demo_kafka *k, const char *brokers, const char *topic,
                    int partitions,
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
        return demo_kafka_create(k, errstr, size) ||
                       demo_kafka_partitions(k, errstr, size)
                   ? -1
                   : 0;
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
    while ((err = rd_kafka_producev(
                k->rk, RD_KAFKA_V_TOPIC(k->topic),
                RD_KAFKA_V_PARTITION(partition),
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

int demo_kafka_flush(demo_kafka *k, int timeout_ms, char *errstr,
                     size_t size)
{
    rd_kafka_resp_err_t err = rd_kafka_flush(k->rk, timeout_ms);
    long failed = atomic_load(&k->failed);
    if (failed) {
        snprintf(errstr, size, "%ld records were not delivered to %s: %s",
                 failed, k->topic,
                 rd_kafka_err2str((rd_kafka_resp_err_t)atomic_load(
                     &k->first_err)));
        return -1;
    }
    if (err) {
        snprintf(errstr, size,
                 "%d records not delivered to %s within %d s: %s",
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

static void demo_kafka_delete(demo_kafka *k)
{
    rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(k->topic);
    rd_kafka_queue_t *q = rd_kafka_queue_new(k->rk);
    rd_kafka_DeleteTopics(k->rk, &dt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 15000);
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_DeleteTopic_destroy(dt);
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
