/*
 * The Kafka side of `fstore demo`: one producer, which in mock mode also
 * owns librdkafka's in-process mock cluster; the demo topic (a mock topic,
 * or a compacted topic created on a real cluster); producing and flushing.
 */
#ifndef FSTORE_TOOLS_DEMO_KAFKA_H
#define FSTORE_TOOLS_DEMO_KAFKA_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

typedef struct demo_kafka {
    rd_kafka_t *rk;       /* the producer (owns the mock cluster) */
    char bootstraps[512]; /* for the store's kafka.bootstrap.servers */
    char topic[250];
    int partitions;        /* of the topic */
    int mock;              /* in-process mock cluster */
    int created;           /* this run created the topic on a real cluster */
    atomic_long delivered; /* delivery reports: successes */
    atomic_long failed;    /* delivery reports: failures */
    atomic_int first_err;  /* rd_kafka_resp_err_t of the first failure */
} demo_kafka;

/**
 * Starts the producer and the topic. With @p brokers NULL, starts a mock
 * cluster of one broker and creates @p topic there with @p partitions;
 * otherwise connects to @p brokers and creates @p topic (cleanup.policy=
 * compact with @p compact) with rd_kafka_CreateTopics, or uses it if it
 * already exists.
 * @p log receives librdkafka's log lines (level as syslog).
 * @return 0, or -1 with a message in @p errstr.
 */
int demo_kafka_open(demo_kafka *k, const char *brokers, const char *topic,
                    int partitions, int compact,
                    void (*log)(const rd_kafka_t *rk, int level,
                                const char *fac, const char *buf),
                    char *errstr, size_t size);

/**
 * Produces one record (copied) with timestamp @p ts_ms to @p partition
 * (RD_KAFKA_PARTITION_UA: Kafka's default partitioner, murmur2); @p value
 * NULL is a tombstone. Waits while the local queue is full.
 * @return 0, or -1 with a message in @p errstr. Any thread.
 */
int demo_kafka_produce(demo_kafka *k, int32_t partition, const void *key,
                       size_t key_len, const void *value, size_t value_len,
                       int64_t ts_ms, char *errstr, size_t size);

/**
 * Waits up to @p timeout_ms until every record produced so far is
 * delivered. @return 0, or -1 (not delivered, or a delivery failed) with a
 * message in @p errstr.
 */
int demo_kafka_flush(demo_kafka *k, int timeout_ms, char *errstr, size_t size);

/**
 * @return the records the topic holds now (end minus start offsets over
 *         its partitions), or -1 when the cluster does not say.
 */
int64_t demo_kafka_retained(demo_kafka *k);

/**
 * Deletes the topic if this run created it and @p delete_topic, then stops
 * the producer (and the mock cluster). Safe on a zeroed or closed @p k.
 */
void demo_kafka_close(demo_kafka *k, int delete_topic);

#endif
