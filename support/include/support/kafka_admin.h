/*
 * Topic administration over librdkafka's Admin API, for the demo, the
 * benchmarks and the Kafka tests: options with bounded timeouts, waiting for
 * a result, checking per-topic results, creating and deleting topics, and
 * waiting until every partition of a topic has a leader. Errors come back
 * as -1 (or NULL) with a message in @p errstr; nothing here exits.
 */
#ifndef FSTORE_SUPPORT_KAFKA_ADMIN_H
#define FSTORE_SUPPORT_KAFKA_ADMIN_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

/** A topic to create. */
typedef struct sup_topic {
    const char *name;
    int partitions;
    int replication;            /* -1: the broker's default */
    const char *const *configs; /* "key=value" ..., NULL-terminated, or NULL */
} sup_topic;

/**
 * Admin options for @p op with a request timeout of @p timeout_ms, and the
 * same operation timeout (the broker answers once the change is applied)
 * for the operations that have one. @return them, or NULL with a message.
 */
rd_kafka_AdminOptions_t *sup_admin_options(rd_kafka_t *rk,
                                           rd_kafka_admin_op_t op,
                                           int timeout_ms, char *errstr,
                                           size_t size);

/**
 * Waits up to @p timeout_ms on @p q for an event of type @p want, dropping
 * any other. @return it (rd_kafka_event_destroy() it), or NULL with a
 * message when none came or it carries a request-level error.
 */
rd_kafka_event_t *sup_admin_wait(rd_kafka_queue_t *q,
                                 rd_kafka_event_type_t want, int timeout_ms,
                                 char *errstr, size_t size);

/**
 * Checks the @p n per-topic results of an admin request: each must
 * succeed, or fail with @p allowed (RD_KAFKA_RESP_ERR_NO_ERROR: nothing
 * allowed). @return the count that succeeded, or -1 with "TOPIC: why" in
 * @p errstr (also when @p n is 0).
 */
int sup_topic_results(const rd_kafka_topic_result_t **res, size_t n,
                      rd_kafka_resp_err_t allowed, char *errstr, size_t size);

/**
 * Creates the @p n topics @p t in one request, waiting up to @p timeout_ms
 * for the answer and then for the leaders of each topic it made. With
 * @p exist_ok, a topic that already exists is left as it is (and not
 * waited for). @return how many it created, or -1 with a message.
 */
int sup_create_topics(rd_kafka_t *rk, const sup_topic *t, int n, int exist_ok,
                      int timeout_ms, char *errstr, size_t size);

/**
 * Grows topic @p name to @p total partitions and waits, up to
 * @p timeout_ms each, for the answer and for the leaders.
 * @return 0, or -1 with a message.
 */
int sup_add_partitions(rd_kafka_t *rk, const char *name, int total,
                       int timeout_ms, char *errstr, size_t size);

/**
 * Deletes the @p n topics @p names in one request, waiting up to
 * @p timeout_ms for the answer. @return 0, or -1 with a message.
 */
int sup_delete_topics(rd_kafka_t *rk, const char *const *names, int n,
                      int timeout_ms, char *errstr, size_t size);

/**
 * Waits up to @p timeout_ms until the metadata of topic @p name shows at
 * least @p partitions partitions (at least one when 0), every one with a
 * leader: metadata lags the controller for a moment after a topic is
 * created or grown. @return the partition count, or -1 with the last
 * reason in @p errstr.
 */
int sup_wait_leaders(rd_kafka_t *rk, const char *name, int partitions,
                     int timeout_ms, char *errstr, size_t size);

#endif
