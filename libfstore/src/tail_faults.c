/*
 * The tailer's faults: consumer errors, offsets out of range (a moved log
 * start, or a truncated or recreated topic: fail or rebuild, per
 * tail.offset_reset) and the dead-letter topic for skipped records.
 */
#include <stdio.h>

#include "tail_int.h"

void fs_dead_letter(fs_tailer *T, const rd_kafka_message_t *m,
                           fstore_err_t e, const char *why)
{
    if (!T->dlq)
        return;
    char part[16], off[24];
    snprintf(part, sizeof part, "%d", m->partition);
    snprintf(off, sizeof off, "%lld", (long long)m->offset);
    rd_kafka_resp_err_t r = rd_kafka_producev(
        T->dlq, RD_KAFKA_V_TOPIC(T->dlq_topic),
        RD_KAFKA_V_KEY(m->key, m->key_len),
        RD_KAFKA_V_VALUE(m->payload, m->len),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_HEADER("fstore.topic", rd_kafka_topic_name(m->rkt), -1),
        RD_KAFKA_V_HEADER("fstore.partition", part, -1),
        RD_KAFKA_V_HEADER("fstore.offset", off, -1),
        RD_KAFKA_V_HEADER("fstore.error", fstore_err_name(e), -1),
        RD_KAFKA_V_HEADER("fstore.reason", why, -1), RD_KAFKA_V_END);
    if (r)
        TLOG(T, 4, "dead-letter produce to %s failed: %s", T->dlq_topic,
             rd_kafka_err2str(r));
}

/* Offset out of range: the log start moved, or the topic was truncated or
 * recreated. Returns tt when its table must be rebuilt. */
static fs_ttopic *fs_out_of_range(fs_tailer *T, fs_ttopic *tt, int32_t p)
{
    fs_tpart *tp = fs_part(tt, p);
    if (tp && tp->from_low && tp->delivered < 0) {
        /* The log start moved after the low watermark was queried, before
         * anything of this partition was read: read from the new start
         * (once; a second time is an ordinary out-of-range). */
        tp->from_low = 0;
        int64_t lo = 0, hi = -1;
        rd_kafka_resp_err_t qe =
            rd_kafka_query_watermark_offsets(T->rk, tt->topic, p, &lo, &hi, 5000);
        if (qe) {
            fs_fail(T, FSTORE_ERR_KAFKA, "%s [%d]: cannot read the log start: %s",
                    tt->topic, p, rd_kafka_err2str(qe));
            return NULL;
        }
        TLOG(T, 6, "%s [%d]: the log start moved; reading from %lld",
             tt->topic, p, (long long)lo);
        /* A new assignment at the new start (a seek does not restart a
         * partition stopped by an offset error). */
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, tt->topic, p);
        rd_kafka_error_t *ae = rd_kafka_incremental_unassign(T->rk, l);
        if (!ae) {
            l->elems[0].offset = lo;
            ae = rd_kafka_incremental_assign(T->rk, l);
        }
        rd_kafka_topic_partition_list_destroy(l);
        if (ae) {
            fs_fail(T, FSTORE_ERR_KAFKA, "reassigning %s [%d] at its start: %s",
                    tt->topic, p, rd_kafka_error_string(ae));
            rd_kafka_error_destroy(ae);
        }
        return NULL;
    }
    /* Assigned from the beginning (a rebuild, or an empty table) with
     * nothing read since: the error is about the assignment before. */
    if (tp && tp->start < 0 && !tp->from_low && tp->delivered < 0) {
        TLOG(T, 7, "%s [%d]: offset error of an earlier assignment ignored",
             tt->topic, p);
        return NULL;
    }
    /* Resuming at the record applied last, below a log start that still
     * keeps the stored offset: resume after it, unchecked. */
    if (fs_verify_give_up(T, tt, p))
        return NULL;
    return fs_reset_policy(T, tt, p,
                           "the stored offset no longer exists in the topic "
                           "(truncated, or deleted and recreated)");
}

void fs_rebuild(fs_tailer *T, fs_ttopic *tt)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(tt->nparts);
    for (int32_t i = 0; i < tt->nparts; i++)
        if (tt->parts[i].assigned)
            rd_kafka_topic_partition_list_add(l, tt->topic, i);
    rd_kafka_error_t *e = rd_kafka_incremental_unassign(T->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        fs_fail(T, FSTORE_ERR_KAFKA, "unassigning %s: %s", tt->topic,
                rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return;
    }
    char err[512];
    fstore_err_t fe = fs_table_clear(tt->table, err, sizeof err);
    if (fe) {
        fs_fail(T, fe, "rebuilding table \"%s\": %s", tt->table->name, err);
        return;
    }
    pthread_mutex_lock(&T->mu);
    for (int32_t i = 0; i < tt->nparts; i++) {
        tt->parts[i].assigned = 0;
        tt->parts[i].position = -1;
        tt->parts[i].delivered = -1;
    }
    tt->rebuilds++;
    pthread_mutex_unlock(&T->mu);
    int32_t n = fs_partition_count(T, tt, 5000);
    if (n <= 0 || fs_assign_new(T, tt, n, !T->ready))
        fs_fail(T, FSTORE_ERR_KAFKA, "reassigning %s after a rebuild failed",
                tt->topic);
}

fs_ttopic *fs_message_error(fs_tailer *T, const rd_kafka_message_t *m)
{
    size_t ti;
    fs_ttopic *tt = m->rkt ? fs_topic_of(T, m, &ti) : NULL;
    switch (m->err) {
    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
    case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
        return tt ? fs_out_of_range(T, tt, m->partition) : NULL;
    case RD_KAFKA_RESP_ERR__PARTITION_EOF:
        return NULL;
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
        /* Deleted? If it comes back, it must still hold what was applied. */
        if (tt)
            fs_partition_vanished(T, tt, m->partition);
        break;
    default:
        break;
    }
    int64_t now = fs_wall_ms();
    pthread_mutex_lock(&T->mu);
    snprintf(T->last_error, sizeof T->last_error, "%s: %s",
             rd_kafka_err2name(m->err), rd_kafka_message_errstr(m));
    if (m->err == RD_KAFKA_RESP_ERR__TRANSPORT ||
        m->err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
        T->connected = 0;
    pthread_mutex_unlock(&T->mu);
    if (now - T->last_warn_ms > 5000) {
        T->last_warn_ms = now;
        TLOG(T, 4, "consumer: %s%s%s [%d]: %s", rd_kafka_err2name(m->err),
             tt ? " on " : "", tt ? tt->topic : "", m->partition,
             rd_kafka_message_errstr(m));
    }
    return NULL;
}
