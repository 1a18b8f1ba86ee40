/*
 * The aggregator's run loop: events in, staged into the local state; every
 * aggregate.commit_ms one Kafka transaction carries the changed entities'
 * output and changelog records and the input offsets, and the local state
 * commits after it (agg_int.h says why that order). Expiry runs at each
 * commit for partitions whose stream time moved. The rebalance callback
 * commits before partitions go and restores partitions that come.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <xxhash.h>

#include "agg_int.h"

static int64_t fs_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The same clock read cheaply (a few ms coarse): once per event. */
static int64_t fs_coarse_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static fstore_err_t fs_fail(fstore_aggregator_t *a, fstore_err_t err,
                            const char *what)
{
    pthread_mutex_lock(&a->mu);
    if (!a->failed) {
        a->failed = 1;
        a->fail_err = err;
        snprintf(a->errmsg, sizeof a->errmsg, "%s", what);
    }
    pthread_mutex_unlock(&a->mu);
    __atomic_store_n(&a->stop, 1, __ATOMIC_RELEASE);
    fs_log(a->conf, 3, "aggregator stopped: %s", what);
    return err;
}

/* Stops on a client's fatal error (e.g. fenced by a newer instance). */
static fstore_err_t fs_fatal(fstore_aggregator_t *a, rd_kafka_t *rk, const char *who)
{
    char why[400], msg[512];
    rd_kafka_resp_err_t e = rd_kafka_fatal_error(rk, why, sizeof why);
    snprintf(msg, sizeof msg, "%s failed: %s (%s)", who, e ? why : "fatal error",
             rd_kafka_err2name(e));
    return fs_fail(a, FSTORE_ERR_KAFKA, msg);
}

void fs_agg_publish(fstore_aggregator_t *a)
{
    pthread_mutex_lock(&a->mu);
    memcpy(a->pub, a->parts, (size_t)a->nparts * sizeof *a->pub);
    pthread_mutex_unlock(&a->mu);
}

/* ---- the entities changed in the open transaction ---- */

static size_t fs_slot_of(const fstore_aggregator_t *a, int32_t p, const void *key,
                         size_t len)
{
    uint64_t h = XXH3_64bits_withSeed(key, len, (uint64_t)p);
    return (size_t)h & (a->set_cap - 1);
}

static int fs_set_grow(fstore_aggregator_t *a)
{
    size_t cap = a->set_cap ? a->set_cap * 2 : 1024;
    uint32_t *set = calloc(cap, sizeof *set);
    if (!set)
        return -1;
    free(a->dirty_set);
    a->dirty_set = set;
    a->set_cap = cap;
    for (size_t i = 0; i < a->ndirty; i++) {
        const fs_agg_dirty *d = &a->dirty[i];
        size_t s = fs_slot_of(a, d->p, d->key, d->len);
        while (a->dirty_set[s])
            s = (s + 1) & (cap - 1);
        a->dirty_set[s] = (uint32_t)i + 1;
    }
    return 0;
}

/* The index of (p, key) in the open transaction's entities, added when
 * new; -1 when out of memory. */
static long fs_dirty_add(fstore_aggregator_t *a, int32_t p, const void *key, size_t len)
{
    if ((a->ndirty + 1) * 2 > a->set_cap && fs_set_grow(a))
        return -1;
    size_t s = fs_slot_of(a, p, key, len);
    for (; a->dirty_set[s]; s = (s + 1) & (a->set_cap - 1)) {
        const fs_agg_dirty *d = &a->dirty[a->dirty_set[s] - 1];
        if (d->p == p && d->len == len && !memcmp(d->key, key, len))
            return (long)a->dirty_set[s] - 1;
    }
    if (a->ndirty == a->cap_dirty) {
        size_t cap = a->cap_dirty ? a->cap_dirty * 2 : 256;
        fs_agg_dirty *nd = realloc(a->dirty, cap * sizeof *nd);
        if (!nd)
            return -1;
        memset(nd + a->cap_dirty, 0, (cap - a->cap_dirty) * sizeof *nd);
        a->dirty = nd;
        a->cap_dirty = cap;
    }
    fs_agg_dirty *d = &a->dirty[a->ndirty];
    d->p = p;
    d->len = (uint16_t)len;
    d->loaded = d->changed = 0;
    memcpy(d->key, key, len);
    a->dirty_set[s] = (uint32_t)++a->ndirty;
    return (long)a->ndirty - 1;
}

static void fs_dirty_clear(fstore_aggregator_t *a)
{
    for (size_t i = 0; i < a->ndirty; i++)
        a->dirty[i].loaded = a->dirty[i].changed = 0;
    a->ndirty = 0;
    if (a->dirty_set)
        memset(a->dirty_set, 0, a->set_cap * sizeof *a->dirty_set);
}

/* ---- transactions ---- */

/* Aborted transactions in a row after which the aggregator gives up: a
 * failure that replaying does not cure. */
#define FS_AGG_MAX_ABORTS 10

static fstore_err_t fs_txn_open(fstore_aggregator_t *a)
{
    char err[512];
    if (!a->tx && fs_agg_txn_begin(a->st, &a->tx, err, sizeof err))
        return fs_fail(a, FSTORE_ERR_STORAGE, err);
    if (a->kafka_txn)
        return FSTORE_OK;
    rd_kafka_error_t *e = rd_kafka_begin_transaction(a->producer);
    if (e) {
        snprintf(err, sizeof err, "beginning a transaction: %s", rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return fs_fail(a, FSTORE_ERR_KAFKA, err);
    }
    a->kafka_txn = 1;
    a->txn_started_us = fs_now_us();
    return FSTORE_OK;
}

/* Rewinds the consumer of every assigned partition to its committed
 * offset, as after an aborted transaction. */
static void fs_rewind(fstore_aggregator_t *a)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(a->nparts);
    for (int32_t p = 0; p < a->nparts; p++)
        if (a->parts[p].assigned)
            rd_kafka_topic_partition_list_add(l, a->spec->input_topic, p);
    if (l->cnt && rd_kafka_committed(a->consumer, l, 10000) == 0) {
        for (int i = 0; i < l->cnt; i++) {
            if (l->elems[i].offset < 0)
                l->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
            a->parts[l->elems[i].partition].position = -1;
        }
        rd_kafka_error_t *e = rd_kafka_seek_partitions(a->consumer, l, 10000);
        if (e) {
            fs_log(a->conf, 3, "aggregator: rewinding after an abort: %s",
                   rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
}

/* Discards the open transaction: Kafka's, the staged state, and the input
 * read since the last commit. */
static void fs_abort(fstore_aggregator_t *a, const char *why)
{
    fs_log(a->conf, 4, "aggregator: aborting a transaction: %s", why);
    if (a->kafka_txn) {
        rd_kafka_error_t *e = rd_kafka_abort_transaction(a->producer, 30000);
        if (e) {
            char msg[512];
            snprintf(msg, sizeof msg, "aborting a transaction: %s", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            fs_fail(a, FSTORE_ERR_KAFKA, msg);
        }
    }
    fs_agg_txn_abort(a->tx);
    a->tx = NULL;
    a->kafka_txn = 0;
    a->doomed = 0;
    a->aborts_in_row++;
    a->c_emitted = a->c_tombstones = a->c_events = a->c_late = 0;
    for (int32_t p = 0; p < a->nparts; p++) {
        a->parts[p].q = a->parts[p].q_saved;
        a->parts[p].touched = 0;
        a->parts[p].cl_last = -1;
    }
    fs_dirty_clear(a);
    fs_rewind(a);
    fs_agg_publish(a);
    pthread_mutex_lock(&a->mu);
    a->c.aborts++;
    pthread_mutex_unlock(&a->mu);
}

/* Produces one record (with headers, which librdkafka then owns, when
 * hdrs is not NULL), waiting while librdkafka's queue is full. */
static fstore_err_t fs_produce(fstore_aggregator_t *a, rd_kafka_topic_t *rkt,
                               int32_t p, const void *key, size_t klen,
                               const void *val, size_t vlen, int64_t ts,
                               rd_kafka_headers_t *hdrs)
{
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            a->producer, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(p),
            RD_KAFKA_V_KEY((void *)(uintptr_t)key, klen),
            RD_KAFKA_V_VALUE((void *)(uintptr_t)val, vlen),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_TIMESTAMP(ts),
            RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(a->producer, 50);
            continue;
        }
        if (!e)
            return FSTORE_OK;
        if (hdrs)
            rd_kafka_headers_destroy(hdrs);
        char msg[512];
        snprintf(msg, sizeof msg, "producing to %s [%d]: %s", rd_kafka_topic_name(rkt), p,
                 rd_kafka_err2str(e));
        /* A record that can never be produced stops the aggregator; any
         * other failure dooms only the open transaction, which the next
         * commit aborts and replays. */
        if (e == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE || e == RD_KAFKA_RESP_ERR__INVALID_ARG ||
            e == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION || e == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
            e == RD_KAFKA_RESP_ERR__FATAL || !a->kafka_txn)
            return fs_fail(a, FSTORE_ERR_KAFKA, msg);
        if (!a->doomed)
            snprintf(a->doom_why, sizeof a->doom_why, "%s", msg);
        a->doomed = 1;
        return FSTORE_OK;
    }
}

/* ---- events ---- */

/* The event of m, or a skip reason (counted by the caller). */
static int fs_decode(fstore_aggregator_t *a, const rd_kafka_message_t *m,
                     int64_t ts, fs_agg_event *ev)
{
    const fs_agg_spec *s = a->spec;
    char err[512];
    if (s->format == FS_AGG_JSON)
        return fs_agg_event_from_json(a->in, s, m->payload, m->len, ts, ev, err,
                                      sizeof err)
                   ? FS_AGG_SK_DECODE
                   : -1;
    const uint8_t *payload = m->payload;
    size_t plen = m->len;
    int32_t id = -1;
    int64_t key = FS_PLAN_SERVING;
    if (s->format == FS_AGG_CONFLUENT) {
        if (fs_frame_parse(m->payload, m->len, &id, &payload, &plen, err, sizeof err))
            return FS_AGG_SK_DECODE;
        key = id;
    }
    const fs_plan *plan;
    if (fs_schema_plan(fs_agg_store_env(a->st), a->plans, s->events, s->schema_json,
                       key, &plan, err, sizeof err))
        return FS_AGG_SK_SCHEMA;
    a->row.len = 0;
    if (fs_plan_decode(plan, payload, plen, &a->row, err, sizeof err))
        return FS_AGG_SK_DECODE;
    fs_row_finish(&a->row, 0, id, ts, m->partition, m->offset);
    int rc = fs_agg_event_from_row(a->in, s, a->row.data, a->row.len, ts, ev, err,
                                   sizeof err);
    return rc ? FS_AGG_SK_TIME : -1;
}

/* Counts a skipped event and, with aggregate.dead_letter_topic, produces
 * it there unchanged in the open transaction: dead letters are written
 * exactly once too. */
static fstore_err_t fs_skip(fstore_aggregator_t *a, const rd_kafka_message_t *m,
                            int why)
{
    static const char *const names[] = {"undecodable", "unknown writer schema",
                                        "no key", "no usable time"};
    pthread_mutex_lock(&a->mu);
    a->c.skipped[why]++;
    pthread_mutex_unlock(&a->mu);
    fs_log(a->conf, 5, "aggregator: %s [%d] offset %lld skipped: %s",
           a->spec->input_topic, m->partition, (long long)m->offset, names[why]);
    fstore_err_t err = a->dlq_rkt ? fs_txn_open(a) : FSTORE_OK;
    if (!a->dlq_rkt || err)
        return err;
    char part[16], off[24];
    snprintf(part, sizeof part, "%d", m->partition);
    snprintf(off, sizeof off, "%lld", (long long)m->offset);
    rd_kafka_headers_t *h = rd_kafka_headers_new(4);
    rd_kafka_header_add(h, "fstore.topic", -1, a->spec->input_topic, -1);
    rd_kafka_header_add(h, "fstore.partition", -1, part, -1);
    rd_kafka_header_add(h, "fstore.offset", -1, off, -1);
    rd_kafka_header_add(h, "fstore.reason", -1, names[why], -1);
    return fs_produce(a, a->dlq_rkt, RD_KAFKA_PARTITION_UA, m->key, m->key_len, m->payload,
                      m->len, 0, h);
}

/* Applies one event to its entity, staged. */
static fstore_err_t fs_event(fstore_aggregator_t *a, const rd_kafka_message_t *m)
{
    int32_t p = m->partition;
    if (p < 0 || p >= a->nparts)
        return FSTORE_OK;
    fs_agg_ppart *pp = &a->parts[p];
    pp->position = m->offset + 1;
    if (!m->key || m->key_len < 1 || m->key_len > FS_AGG_MAX_KEY || !m->payload)
        return fs_skip(a, m, FS_AGG_SK_NO_KEY);
    rd_kafka_timestamp_type_t tst;
    int64_t ts = rd_kafka_message_timestamp(m, &tst);
    fs_agg_event ev;
    int why = fs_decode(a, m, ts, &ev);
    if (why >= 0)
        return fs_skip(a, m, why);
    fstore_err_t err = fs_txn_open(a);
    if (err)
        return err;
    char msg[512];
    int64_t q = ev.t > pp->q ? ev.t : pp->q;
    long i = fs_dirty_add(a, p, m->key, m->key_len);
    fs_agg_dirty *d = i < 0 ? NULL : &a->dirty[i];
    if (d && !d->e)
        d->e = fs_agg_entity_new(a->spec);
    if (!d || !d->e)
        return fs_fail(a, FSTORE_ERR_NO_MEMORY, "out of memory");
    if (!d->loaded) {
        err = fs_agg_txn_get(a->tx, p, m->key, m->key_len, d->e, msg, sizeof msg);
        if (err && err != FSTORE_NOT_FOUND)
            return fs_fail(a, err, msg);
        d->loaded = 1;
    }
    int added = fs_agg_add(d->e, a->spec, &ev, q);
    if (added < 0)
        return fs_fail(a, FSTORE_ERR_NO_MEMORY, "out of memory");
    d->changed |= (uint8_t)added;
    pp->q = q;
    pp->touched = 1;
    a->c_events++;
    a->c_late += !added;
    return FSTORE_OK;
}

/* ---- commit ---- */

typedef struct fs_due_ctx {
    fstore_aggregator_t *a;
    int32_t p;
    int64_t q;
    fstore_err_t err;
} fs_due_ctx;

/* Stores entity e (NULL: nothing left in its windows) of partition p as of
 * stream time q in the local state, and produces its output record (or
 * tombstone) and its changelog record, the state bytes just stored. */
static fstore_err_t fs_store_emit(fstore_aggregator_t *a, int32_t p, const void *key,
                                  size_t len, const fs_agg_entity *e, int64_t q)
{
    char msg[512];
    fstore_err_t err = fs_agg_txn_put(a->tx, p, key, len, e, q, msg, sizeof msg);
    if (err)
        return fs_fail(a, err, msg);
    size_t n = 0;
    const void *state = e ? fs_agg_txn_put_state(a->tx, &n) : NULL;
    a->rec.len = 0;
    if (e && fs_agg_encode(e, a->spec, q, &a->rec))
        return fs_fail(a, FSTORE_ERR_NO_MEMORY, "out of memory");
    err = fs_produce(a, a->out_rkt, p, key, len, e ? a->rec.data : NULL, e ? a->rec.len : 0,
                     q, NULL);
    uint8_t ck[1 + FS_AGG_MAX_KEY];
    ck[0] = FS_CL_ENTITY;
    memcpy(ck + 1, key, len);
    if (!err)
        err = fs_produce(a, a->cl_rkt, p, ck, 1u + len, state, n, q, NULL);
    if (e)
        a->c_emitted++;
    else
        a->c_tombstones++;
    return err;
}

/* An entity whose windows lost a tile: kept with its new values, or
 * deleted when nothing is left, and emitted. (An entity stored this
 * transaction changes next after the stream time, so it is never due
 * again here.) */
static int fs_due_one(void *arg, const void *key, size_t len)
{
    fs_due_ctx *d = arg;
    fstore_aggregator_t *a = d->a;
    char msg[512];
    d->err = fs_agg_txn_get(a->tx, d->p, key, len, a->e, msg, sizeof msg);
    if (d->err) {
        fs_fail(a, d->err, msg);
        return 1;
    }
    int empty = fs_agg_empty(a->e, a->spec, d->q);
    d->err = fs_store_emit(a, d->p, key, len, empty ? NULL : a->e, d->q);
    return d->err != FSTORE_OK || a->doomed;
}

/* Stores the transaction's changed entities at their partition's stream
 * time (one that expired meanwhile is deleted) and emits them, from their
 * cached copies. */
static fstore_err_t fs_flush(fstore_aggregator_t *a)
{
    for (size_t i = 0; i < a->ndirty && !a->doomed; i++) {
        fs_agg_dirty *d = &a->dirty[i];
        if (!d->loaded || !d->changed)
            continue;
        int64_t q = a->parts[d->p].q;
        int empty = fs_agg_empty(d->e, a->spec, q);
        fstore_err_t err = fs_store_emit(a, d->p, d->key, d->len, empty ? NULL : d->e, q);
        if (err)
            return err;
    }
    return FSTORE_OK;
}

/* Expires, then records each touched partition's stream time (for a
 * restore). */
static fstore_err_t fs_expire(fstore_aggregator_t *a)
{
    for (int32_t p = 0; p < a->nparts && !a->doomed; p++) {
        fs_agg_ppart *pp = &a->parts[p];
        if (!pp->touched)
            continue;
        fs_due_ctx d = {a, p, pp->q, FSTORE_OK};
        int rc = fs_agg_txn_due(a->tx, p, pp->q, fs_due_one, &d);
        if (d.err)
            return d.err;
        if (rc && !a->doomed)
            return fs_fail(a, FSTORE_ERR_STORAGE, "scanning entities due to expire");
        /* The partition record: stream time, then the group that writes
         * the changelog (a restore refuses another group's). */
        uint8_t key = FS_CL_PART, qb[8];
        fs_store_u64(qb, (uint64_t)pp->q);
        const char *group = fs_conf_str(a->conf, "aggregate.group");
        a->state.len = 0;
        if (fs_buf_append(&a->state, qb, 8) ||
            fs_buf_append(&a->state, group, strlen(group)))
            return fs_fail(a, FSTORE_ERR_NO_MEMORY, "out of memory");
        fstore_err_t err = fs_produce(a, a->cl_rkt, p, &key, 1, a->state.data, a->state.len,
                                      pp->q, NULL);
        if (err)
            return err;
    }
    return FSTORE_OK;
}

/* Sends the input positions and commits the Kafka transaction, retrying
 * what may be retried. 0, 1 when it must be aborted, -1 when fatal. */
static int fs_kafka_commit(fstore_aggregator_t *a, char *msg, size_t msg_size)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(a->nparts);
    for (int32_t p = 0; p < a->nparts; p++)
        if (a->parts[p].assigned && a->parts[p].position >= 0)
            rd_kafka_topic_partition_list_add(l, a->spec->input_topic, p)->offset =
                a->parts[p].position;
    rd_kafka_consumer_group_metadata_t *gm = rd_kafka_consumer_group_metadata(a->consumer);
    rd_kafka_error_t *e = NULL;
    for (int tries = 0; tries < 10; tries++) {
        e = l->cnt ? rd_kafka_send_offsets_to_transaction(a->producer, l, gm, -1) : NULL;
        if (!e)
            e = rd_kafka_commit_transaction(a->producer, -1);
        if (!e || !rd_kafka_error_is_retriable(e))
            break;
        rd_kafka_error_destroy(e);
        e = NULL;
    }
    rd_kafka_consumer_group_metadata_destroy(gm);
    rd_kafka_topic_partition_list_destroy(l);
    if (!e)
        return 0;
    snprintf(msg, msg_size, "committing a transaction: %s%s", rd_kafka_error_string(e),
             rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR__FENCED
                 ? " (another aggregator with the same group and aggregate.instance "
                   "started: this one stops)"
                 : "");
    int rc = rd_kafka_error_txn_requires_abort(e) ? 1 : -1;
    rd_kafka_error_destroy(e);
    return rc;
}

/* After the Kafka transaction: the local state, with the changelog
 * offsets it now reflects. */
static fstore_err_t fs_local_commit(fstore_aggregator_t *a)
{
    char msg[512];
    fstore_err_t err = FSTORE_OK;
    for (int32_t p = 0; p < a->nparts && !err; p++) {
        fs_agg_ppart *pp = &a->parts[p];
        if (pp->cl_last >= 0)
            pp->cl_next = pp->cl_last + 1;
        if (pp->touched) {
            fs_agg_part v = {pp->q, pp->cl_next};
            err = fs_agg_txn_part_put(a->tx, p, &v);
        }
    }
    uint64_t entities = fs_agg_txn_count(a->tx, -1);
    if (!err)
        err = fs_agg_txn_commit(a->tx, msg, sizeof msg);
    else
        fs_agg_txn_abort(a->tx);
    a->tx = NULL;
    if (err) {
        /* Kafka has the changes; the changelog brings them back. */
        fs_log(a->conf, 3, "aggregator: local state commit failed (%s); "
                           "restoring from the changelog", fstore_err_name(err));
        for (int32_t p = 0; p < a->nparts && !err; p++)
            if (a->parts[p].assigned)
                err = fs_agg_restore(a, p, msg, sizeof msg);
        if (err)
            return fs_fail(a, err, msg);
    }
    pthread_mutex_lock(&a->mu);
    a->c.commits++;
    a->entities = entities;
    pthread_mutex_unlock(&a->mu);
    return FSTORE_OK;
}

static fstore_err_t fs_commit(fstore_aggregator_t *a)
{
    if (!a->kafka_txn)
        return FSTORE_OK;
    if (a->failed) {
        /* After a fatal error the open transaction may miss an event whose
         * offset it would commit (the rebalance callback of the final
         * close lands here): it is discarded, never committed. */
        fs_abort(a, "the aggregator failed");
        return FSTORE_ERR_STATE;
    }
    int64_t t0 = fs_now_us();
    fstore_err_t err = fs_flush(a);
    if (!err)
        err = fs_expire(a);
    if (err) {
        fs_abort(a, "producing failed");
        return err;
    }
    char msg[512];
    int rc = 1;
    if (a->doomed)
        snprintf(msg, sizeof msg, "%s", a->doom_why);
    else
        rc = fs_kafka_commit(a, msg, sizeof msg);
    if (rc > 0) {
        fs_abort(a, msg);
        if (a->aborts_in_row >= FS_AGG_MAX_ABORTS) {
            char why[512];
            snprintf(why, sizeof why, "%u transactions in a row were aborted, the last: %.400s",
                     a->aborts_in_row, msg);
            return fs_fail(a, FSTORE_ERR_KAFKA, why);
        }
        return FSTORE_OK; /* the input is replayed */
    }
    if (rc < 0)
        return fs_fail(a, FSTORE_ERR_KAFKA, msg);
    a->kafka_txn = 0;
    a->aborts_in_row = 0;
    pthread_mutex_lock(&a->mu);
    a->c.emitted += a->c_emitted;
    a->c.tombstones += a->c_tombstones;
    a->c.events += a->c_events;
    a->c.late += a->c_late;
    pthread_mutex_unlock(&a->mu);
    a->c_emitted = a->c_tombstones = a->c_events = a->c_late = 0;
    err = fs_local_commit(a);
    for (int32_t p = 0; p < a->nparts; p++) {
        a->parts[p].q_saved = a->parts[p].q;
        a->parts[p].touched = 0;
        a->parts[p].cl_last = -1;
    }
    fs_dirty_clear(a);
    fs_agg_publish(a);
    pthread_mutex_lock(&a->mu);
    fs_hist_add(&a->commit_us, (uint64_t)(fs_now_us() - t0));
    pthread_mutex_unlock(&a->mu);
    return err;
}

/* ---- rebalances ---- */

static void fs_assigned(fstore_aggregator_t *a, rd_kafka_topic_partition_list_t *parts)
{
    char msg[512];
    for (int i = 0; i < parts->cnt && !a->failed; i++) {
        int32_t p = parts->elems[i].partition;
        if (p < 0 || p >= a->nparts)
            continue;
        fstore_err_t err = fs_agg_restore(a, p, msg, sizeof msg);
        if (err) {
            fs_fail(a, err, msg);
            break;
        }
        int64_t lo = 0, hi = -1;
        rd_kafka_query_watermark_offsets(a->consumer, a->spec->input_topic, p, &lo, &hi,
                                         10000);
        fs_agg_ppart *pp = &a->parts[p];
        pp->assigned = 1;
        pp->end_at_assign = hi;
        pp->position = -1;
    }
}

void fs_agg_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    fstore_aggregator_t *a = opaque;
    /* Whatever happens, the open transaction ends first: its offsets and
     * records belong to the assignment it was read under. */
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        fs_commit(a);
        fs_assigned(a, parts);
        fs_agg_publish(a);
        rd_kafka_error_t *e = rd_kafka_incremental_assign(rk, parts);
        if (e)
            rd_kafka_error_destroy(e);
        return;
    }
    if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS && !rd_kafka_assignment_lost(rk))
        fs_commit(a);
    else if (a->kafka_txn)
        fs_abort(a, "partitions were lost");
    for (int i = 0; i < parts->cnt; i++)
        if (parts->elems[i].partition >= 0 && parts->elems[i].partition < a->nparts)
            a->parts[parts->elems[i].partition].assigned = 0;
    fs_agg_publish(a);
    rd_kafka_error_t *e = rd_kafka_incremental_unassign(rk, parts);
    if (e)
        rd_kafka_error_destroy(e);
}

/* ---- the loop ---- */

/* Every assigned partition consumed to its end at assignment, all
 * committed. Positions come from the consumer: a partition with nothing
 * left to read has none from records. */
static int fs_caught_up(fstore_aggregator_t *a)
{
    if (a->kafka_txn)
        return 0;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(a->nparts);
    for (int32_t p = 0; p < a->nparts; p++)
        if (a->parts[p].assigned)
            rd_kafka_topic_partition_list_add(l, a->spec->input_topic, p);
    int done = l->cnt > 0;
    if (done && rd_kafka_position(a->consumer, l) == 0) {
        for (int i = 0; i < l->cnt && done; i++) {
            int64_t pos = l->elems[i].offset;
            const fs_agg_ppart *pp = &a->parts[l->elems[i].partition];
            if (pos < 0)
                pos = pp->position;
            if (pos < 0) {
                /* Nothing read yet: caught up only if the committed
                 * offset is the end. */
                rd_kafka_topic_partition_list_t *c = rd_kafka_topic_partition_list_new(1);
                rd_kafka_topic_partition_list_add(c, a->spec->input_topic,
                                                  l->elems[i].partition);
                if (rd_kafka_committed(a->consumer, c, 5000) == 0)
                    pos = c->elems[0].offset;
                rd_kafka_topic_partition_list_destroy(c);
            }
            done = pp->end_at_assign <= 0 || pos >= pp->end_at_assign;
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
    return done;
}

fstore_err_t fs_agg_loop(fstore_aggregator_t *a, int until_caught_up, int timeout_ms,
                         char *errstr, size_t errstr_size)
{
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(sub, a->spec->input_topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t ke = rd_kafka_subscribe(a->consumer, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (ke)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_KAFKA, "subscribing to %s: %s",
                           a->spec->input_topic, rd_kafka_err2str(ke));
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : fs_now_us() + (int64_t)timeout_ms * 1000;
    int64_t last_check = 0;
    fstore_err_t err = FSTORE_OK;
    while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(a->consumer, 20);
        if (m) {
            if (!m->err)
                err = fs_event(a, m);
            else if (m->err == RD_KAFKA_RESP_ERR__FATAL)
                err = fs_fatal(a, a->consumer, "the consumer");
            else if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                fs_log(a->conf, 4, "aggregator: consumer: %s",
                       rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            if (err)
                break;
        }
        int64_t now = fs_coarse_us();
        if (a->kafka_txn && now - a->txn_started_us >= (int64_t)a->commit_ms * 1000 &&
            (err = fs_commit(a)))
            break;
        if (until_caught_up && !m && now - last_check > 100000) {
            last_check = now;
            if (fs_caught_up(a))
                break;
        }
        if (now > deadline) {
            err = fstore__err(errstr, errstr_size, FSTORE_ERR_TIMED_OUT,
                              until_caught_up ? "the aggregator did not catch up in %d ms"
                                              : "the aggregator ran for its timeout of %d ms",
                              timeout_ms);
            break;
        }
    }
    if (!a->failed && a->kafka_txn) {
        fstore_err_t cerr = fs_commit(a);
        err = err ? err : cerr;
    }
    rd_kafka_consumer_close(a->consumer);
    if (a->failed) {
        pthread_mutex_lock(&a->mu);
        err = fstore__err(errstr, errstr_size, a->fail_err, "%s", a->errmsg);
        pthread_mutex_unlock(&a->mu);
    }
    return err;
}
