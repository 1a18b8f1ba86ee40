/* Topic administration of the support library; see kafka_admin.h. */
#include "support/kafka_admin.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POLL_MS 1000    /* one poll of an admin result queue */
#define RETRY_MS 100    /* between two metadata requests */
#define MD_TIMEOUT 5000 /* one metadata request */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Whether @p op takes an operation timeout (the others refuse one). */
static int has_operation_timeout(rd_kafka_admin_op_t op)
{
    return op == RD_KAFKA_ADMIN_OP_CREATETOPICS ||
           op == RD_KAFKA_ADMIN_OP_DELETETOPICS ||
           op == RD_KAFKA_ADMIN_OP_CREATEPARTITIONS ||
           op == RD_KAFKA_ADMIN_OP_DELETERECORDS;
}

rd_kafka_AdminOptions_t *sup_admin_options(rd_kafka_t *rk,
                                           rd_kafka_admin_op_t op,
                                           int timeout_ms, char *errstr,
                                           size_t size)
{
    rd_kafka_AdminOptions_t *o = rd_kafka_AdminOptions_new(rk, op);
    if (!o) {
        snprintf(errstr, size, "admin options: out of memory");
        return NULL;
    }
    char buf[512];
    if (rd_kafka_AdminOptions_set_request_timeout(o, timeout_ms, buf,
                                                  sizeof buf) ||
        (has_operation_timeout(op) &&
         rd_kafka_AdminOptions_set_operation_timeout(o, timeout_ms, buf,
                                                     sizeof buf))) {
        snprintf(errstr, size, "admin options: %s", buf);
        rd_kafka_AdminOptions_destroy(o);
        return NULL;
    }
    return o;
}

rd_kafka_event_t *sup_admin_wait(rd_kafka_queue_t *q,
                                 rd_kafka_event_type_t want, int timeout_ms,
                                 char *errstr, size_t size)
{
    int64_t deadline = now_ms() + timeout_ms;
    while (now_ms() < deadline) {
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, POLL_MS);
        if (!ev)
            continue;
        if (rd_kafka_event_type(ev) != want) {
            rd_kafka_event_destroy(ev);
            continue;
        }
        if (!rd_kafka_event_error(ev))
            return ev;
        snprintf(errstr, size, "%s", rd_kafka_event_error_string(ev));
        rd_kafka_event_destroy(ev);
        return NULL;
    }
    snprintf(errstr, size, "no answer from the broker within %d ms",
             timeout_ms);
    return NULL;
}

int sup_topic_results(const rd_kafka_topic_result_t **res, size_t n,
                      rd_kafka_resp_err_t allowed, char *errstr, size_t size)
{
    if (n == 0) {
        snprintf(errstr, size, "no result");
        return -1;
    }
    int ok = 0;
    for (size_t i = 0; i < n; i++) {
        rd_kafka_resp_err_t e = rd_kafka_topic_result_error(res[i]);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
            ok++;
        } else if (e != allowed) {
            const char *why = rd_kafka_topic_result_error_string(res[i]);
            snprintf(errstr, size, "%s: %s (%s)",
                     rd_kafka_topic_result_name(res[i]),
                     why ? why : rd_kafka_err2str(e), rd_kafka_err2name(e));
            return -1;
        }
    }
    return ok;
}

/* Sets the "key=value" configs of @p t on @p nt. @return 0 or -1. */
static int set_configs(rd_kafka_NewTopic_t *nt, const sup_topic *t,
                       char *errstr, size_t size)
{
    for (int i = 0; t->configs && t->configs[i]; i++) {
        char kv[512];
        snprintf(kv, sizeof kv, "%s", t->configs[i]);
        char *eq = strchr(kv, '=');
        if (!eq || eq == kv) {
            snprintf(errstr, size, "topic %s: config '%s' is not key=value",
                     t->name, t->configs[i]);
            return -1;
        }
        *eq = '\0';
        if (rd_kafka_NewTopic_set_config(nt, kv, eq + 1)) {
            snprintf(errstr, size, "topic %s: config %s refused", t->name,
                     t->configs[i]);
            return -1;
        }
    }
    return 0;
}

/* Describes the topics @p t[0..n) for CreateTopics into @p nt. */
static int new_topics(rd_kafka_NewTopic_t **nt, const sup_topic *t, int n,
                      char *errstr, size_t size)
{
    for (int i = 0; i < n; i++) {
        char buf[512];
        nt[i] = rd_kafka_NewTopic_new(t[i].name, t[i].partitions,
                                      t[i].replication, buf, sizeof buf);
        if (!nt[i]) {
            snprintf(errstr, size, "topic %s: %s", t[i].name, buf);
            return -1;
        }
        if (set_configs(nt[i], &t[i], errstr, size))
            return -1;
    }
    return 0;
}

/* The per-topic results of the admin result event @p ev. */
static const rd_kafka_topic_result_t **topic_results(rd_kafka_event_t *ev,
                                                     size_t *cnt)
{
    *cnt = 0;
    switch (rd_kafka_event_type(ev)) {
    case RD_KAFKA_EVENT_CREATETOPICS_RESULT:
        return rd_kafka_CreateTopics_result_topics(
            rd_kafka_event_CreateTopics_result(ev), cnt);
    case RD_KAFKA_EVENT_CREATEPARTITIONS_RESULT:
        return rd_kafka_CreatePartitions_result_topics(
            rd_kafka_event_CreatePartitions_result(ev), cnt);
    case RD_KAFKA_EVENT_DELETETOPICS_RESULT:
        return rd_kafka_DeleteTopics_result_topics(
            rd_kafka_event_DeleteTopics_result(ev), cnt);
    default: return NULL;
    }
}

/* Waits for the result @p want of a topic request sent to @p q and checks
 * it as sup_topic_results() does. @return what that returns, or -1. */
static int topic_request_done(rd_kafka_queue_t *q, rd_kafka_event_type_t want,
                              rd_kafka_resp_err_t allowed, int timeout_ms,
                              char *errstr, size_t size)
{
    rd_kafka_event_t *ev =
        sup_admin_wait(q, want, timeout_ms + 5000, errstr, size);
    if (!ev)
        return -1;
    size_t cnt;
    const rd_kafka_topic_result_t **res = topic_results(ev, &cnt);
    int rc = sup_topic_results(res, cnt, allowed, errstr, size);
    rd_kafka_event_destroy(ev);
    return rc;
}

/* Sends CreateTopics for @p nt[0..n) and checks the answer. @return how
 * many were created, or -1. */
static int create_request(rd_kafka_t *rk, rd_kafka_NewTopic_t **nt, int n,
                          int exist_ok, int timeout_ms, char *errstr,
                          size_t size)
{
    rd_kafka_AdminOptions_t *o = sup_admin_options(
        rk, RD_KAFKA_ADMIN_OP_CREATETOPICS, timeout_ms, errstr, size);
    if (!o)
        return -1;
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, nt, (size_t)n, o, q);
    int rc =
        topic_request_done(q, RD_KAFKA_EVENT_CREATETOPICS_RESULT,
                           exist_ok ? RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS
                                    : RD_KAFKA_RESP_ERR_NO_ERROR,
                           timeout_ms, errstr, size);
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(o);
    return rc;
}

int sup_create_topics(rd_kafka_t *rk, const sup_topic *t, int n, int exist_ok,
                      int timeout_ms, char *errstr, size_t size)
{
    rd_kafka_NewTopic_t **nt = calloc((size_t)n, sizeof *nt);
    if (!nt) {
        snprintf(errstr, size, "out of memory");
        return -1;
    }
    int rc = new_topics(nt, t, n, errstr, size);
    if (rc == 0)
        rc = create_request(rk, nt, n, exist_ok, timeout_ms, errstr, size);
    /* A topic that already existed keeps its own partitions: only the
     * new ones are waited for, when all of them are new. */
    int wait_all = rc == n;
    for (int i = 0; i < n; i++) {
        if (wait_all && sup_wait_leaders(rk, t[i].name, t[i].partitions,
                                         timeout_ms, errstr, size) < 0) {
            rc = -1;
            wait_all = 0;
        }
        if (nt[i])
            rd_kafka_NewTopic_destroy(nt[i]);
    }
    free(nt);
    return rc;
}

int sup_add_partitions(rd_kafka_t *rk, const char *name, int total,
                       int timeout_ms, char *errstr, size_t size)
{
    char buf[512];
    rd_kafka_NewPartitions_t *np =
        rd_kafka_NewPartitions_new(name, (size_t)total, buf, sizeof buf);
    if (!np) {
        snprintf(errstr, size, "topic %s: %s", name, buf);
        return -1;
    }
    rd_kafka_AdminOptions_t *o = sup_admin_options(
        rk, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS, timeout_ms, errstr, size);
    int rc = -1;
    if (o) {
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_CreatePartitions(rk, &np, 1, o, q);
        rc = topic_request_done(q, RD_KAFKA_EVENT_CREATEPARTITIONS_RESULT,
                                RD_KAFKA_RESP_ERR_NO_ERROR, timeout_ms, errstr,
                                size);
        rd_kafka_queue_destroy(q);
        rd_kafka_AdminOptions_destroy(o);
    }
    rd_kafka_NewPartitions_destroy(np);
    if (rc < 0)
        return -1;
    return sup_wait_leaders(rk, name, total, timeout_ms, errstr, size) < 0 ? -1
                                                                           : 0;
}

int sup_delete_topics(rd_kafka_t *rk, const char *const *names, int n,
                      int timeout_ms, char *errstr, size_t size)
{
    rd_kafka_AdminOptions_t *o = sup_admin_options(
        rk, RD_KAFKA_ADMIN_OP_DELETETOPICS, timeout_ms, errstr, size);
    rd_kafka_DeleteTopic_t **dt = calloc((size_t)n, sizeof *dt);
    int rc = -1;
    if (!dt)
        snprintf(errstr, size, "out of memory");
    if (o && dt) {
        for (int i = 0; i < n; i++)
            dt[i] = rd_kafka_DeleteTopic_new(names[i]);
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_DeleteTopics(rk, dt, (size_t)n, o, q);
        rc = topic_request_done(q, RD_KAFKA_EVENT_DELETETOPICS_RESULT,
                                RD_KAFKA_RESP_ERR_NO_ERROR, timeout_ms, errstr,
                                size);
        rd_kafka_queue_destroy(q);
        rd_kafka_DeleteTopic_destroy_array(dt, (size_t)n);
    }
    free(dt);
    if (o)
        rd_kafka_AdminOptions_destroy(o);
    return rc < 0 ? -1 : 0;
}

/* Why the metadata @p md of one topic is not ready yet, or NULL when it
 * shows at least @p partitions partitions, each with a leader. */
static const char *not_ready(const struct rd_kafka_metadata *md, int partitions)
{
    if (md->topic_cnt != 1)
        return "topic missing";
    const struct rd_kafka_metadata_topic *t = &md->topics[0];
    if (t->err)
        return rd_kafka_err2str(t->err);
    if (t->partition_cnt < (partitions > 0 ? partitions : 1))
        return "partitions not yet visible";
    for (int i = 0; i < t->partition_cnt; i++)
        if (t->partitions[i].err || t->partitions[i].leader < 0)
            return "partition without leader";
    return NULL;
}

int sup_wait_leaders(rd_kafka_t *rk, const char *name, int partitions,
                     int timeout_ms, char *errstr, size_t size)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, name, NULL);
    if (!rkt) {
        snprintf(errstr, size, "topic %s: %s", name,
                 rd_kafka_err2str(rd_kafka_last_error()));
        return -1;
    }
    int64_t deadline = now_ms() + timeout_ms;
    const char *why = "no metadata";
    int found = -1;
    while (found < 0 && now_ms() < deadline) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t err =
            rd_kafka_metadata(rk, 0, rkt, &md, MD_TIMEOUT);
        why = err ? rd_kafka_err2str(err) : not_ready(md, partitions);
        if (!why)
            found = md->topics[0].partition_cnt;
        if (md)
            rd_kafka_metadata_destroy(md);
        if (found < 0)
            sleep_ms(RETRY_MS);
    }
    rd_kafka_topic_destroy(rkt);
    if (found < 0)
        snprintf(errstr, size,
                 "topic %s not ready with %d partitions within %d ms: %s", name,
                 partitions, timeout_ms, why);
    return found;
}
