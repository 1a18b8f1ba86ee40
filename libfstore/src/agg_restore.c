/*
 * Catching a partition's aggregation state up from the changelog: from the
 * changelog offset the local state reflects (the beginning on a new
 * machine) to the changelog's end, so a crash or a moved partition costs
 * only the changelog's tail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agg_int.h"

/* Applies one changelog record to the local state; *q follows the
 * partition records. */
static fstore_err_t fs_apply(fstore_aggregator_t *a, int32_t p,
                             const rd_kafka_message_t *m, int64_t *q,
                             char *errstr, size_t errstr_size)
{
    const uint8_t *key = m->key;
    if (!key || m->key_len < 1)
        return FSTORE_OK;
    if (key[0] == FS_CL_PART) {
        if (!m->payload || m->len < 8)
            return FSTORE_OK;
        int64_t v = (int64_t)fs_load_u64(m->payload);
        *q = v > *q ? v : *q;
        /* Another group's changelog: its state holds events this group
         * will read again. */
        const char *group = fs_conf_str(a->conf, "aggregate.group");
        const char *by = (const char *)m->payload + 8;
        size_t n = m->len - 8;
        if (n && (n != strlen(group) || memcmp(by, group, n) != 0))
            return fstore__err(errstr, errstr_size, FSTORE_ERR_STATE,
                               "changelog %s is written by consumer group \"%.*s\", not "
                               "this aggregator's \"%s\": a second group on one changelog "
                               "would count every event twice; run as group \"%.*s\", or "
                               "give this group its own output topic and changelog",
                               a->spec->changelog, (int)(n > 200 ? 200 : n), by, group,
                               (int)(n > 200 ? 200 : n), by);
        return FSTORE_OK;
    }
    if (key[0] != FS_CL_ENTITY || m->key_len < 2 || m->key_len - 1 > FS_AGG_MAX_KEY)
        return FSTORE_OK; /* not ours: skipped */
    return fs_agg_txn_put_bytes(a->tx, p, key + 1, m->key_len - 1, m->payload,
                                m->payload ? m->len : 0, errstr, errstr_size);
}

/* Reads changelog partition p from start until its position reaches hi. */
static fstore_err_t fs_read_tail(fstore_aggregator_t *a, int32_t p, int64_t start,
                                 int64_t hi, int64_t *q, uint64_t *count,
                                 char *errstr, size_t errstr_size)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, a->spec->changelog, p)->offset = start;
    rd_kafka_resp_err_t ke = rd_kafka_assign(a->reader, l);
    fstore_err_t err = ke ? fstore__err(errstr, errstr_size, FSTORE_ERR_KAFKA,
                                        "reading changelog %s [%d]: %s",
                                        a->spec->changelog, p, rd_kafka_err2str(ke))
                          : FSTORE_OK;
    int idle = 0;
    while (!err && idle < 300) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(a->reader, 100);
        if (m && !m->err) {
            idle = 0;
            (*count)++;
            err = fs_apply(a, p, m, q, errstr, errstr_size);
        } else if (m && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            err = fstore__err(errstr, errstr_size, FSTORE_ERR_KAFKA,
                              "reading changelog %s [%d]: %s", a->spec->changelog, p,
                              rd_kafka_message_errstr(m));
        } else {
            idle++;
        }
        if (m)
            rd_kafka_message_destroy(m);
        /* The position, not the last record, says where reading got:
         * transaction markers take offsets too. */
        if (!err && rd_kafka_position(a->reader, l) == 0 && l->elems[0].offset >= hi)
            break;
    }
    if (!err && idle >= 300)
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_TIMED_OUT,
                          "changelog %s [%d] stopped short of offset %lld",
                          a->spec->changelog, p, (long long)hi);
    rd_kafka_assign(a->reader, NULL);
    rd_kafka_topic_partition_list_destroy(l);
    return err;
}

/* The changelog partition's watermarks. A topic just created has no
 * leader for a moment, and the client's metadata may not know its
 * partitions yet: such answers are waited out (30 s at most). */
static rd_kafka_resp_err_t fs_watermarks(fstore_aggregator_t *a, int32_t p, int64_t *lo,
                                         int64_t *hi)
{
    rd_kafka_resp_err_t ke = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int tries = 0; tries < 150; tries++) {
        ke = rd_kafka_query_watermark_offsets(a->reader, a->spec->changelog, p, lo, hi,
                                              10000);
        if (ke != RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION &&
            ke != RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE &&
            ke != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART &&
            ke != RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION &&
            ke != RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC)
            break;
        struct timespec ts = {0, 200000000L};
        nanosleep(&ts, NULL);
    }
    return ke;
}

fstore_err_t fs_agg_restore(fstore_aggregator_t *a, int32_t p, char *errstr,
                            size_t errstr_size)
{
    fstore_err_t err = fs_agg_txn_begin(a->st, &a->tx, errstr, errstr_size);
    if (err)
        return err;
    fs_agg_part part;
    int known = fs_agg_txn_part(a->tx, p, &part) == FSTORE_OK;
    int64_t lo = 0, hi = 0;
    rd_kafka_resp_err_t ke = fs_watermarks(a, p, &lo, &hi);
    if (ke)
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_KAFKA,
                          "end of changelog %s [%d]: %s", a->spec->changelog, p,
                          rd_kafka_err2str(ke));
    int64_t start = known ? part.changelog_next : lo;
    if (!err && (start > hi || start < lo)) {
        /* The changelog was truncated or recreated: start over. */
        fs_log(a->conf, 4, "aggregator: changelog %s [%d] does not hold offset "
                           "%lld any more; restoring the partition from its start",
               a->spec->changelog, p, (long long)start);
        err = fs_agg_txn_drop(a->tx, p, errstr, errstr_size);
        part.q = INT64_MIN;
        start = lo;
    }
    uint64_t count = 0;
    int64_t q = part.q;
    if (!err && start < hi)
        err = fs_read_tail(a, p, start, hi, &q, &count, errstr, errstr_size);
    if (!err) {
        fs_agg_part np = {q, hi};
        err = fs_agg_txn_part_put(a->tx, p, &np);
    }
    if (err) {
        fs_agg_txn_abort(a->tx);
        a->tx = NULL;
        return err;
    }
    err = fs_agg_txn_commit(a->tx, errstr, errstr_size);
    a->tx = NULL;
    if (err)
        return err;
    fs_agg_ppart *pp = &a->parts[p];
    pp->q = pp->q_saved = q;
    pp->cl_next = hi;
    pthread_mutex_lock(&a->mu);
    a->c.restored += count;
    pthread_mutex_unlock(&a->mu);
    fs_log(a->conf, 6, "aggregator: partition %d restored from changelog "
                       "offsets %lld..%lld (%llu records)",
           p, (long long)start, (long long)hi, (unsigned long long)count);
    return FSTORE_OK;
}
