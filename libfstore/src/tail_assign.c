/*
 * The tailer's Kafka side: partition lists, the consumer and producer
 * clients, assignment of partitions (manual, from the stored offsets),
 * consumer positions, and the watcher thread that asks the broker for
 * partition counts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "kconf.h"
#include "reader.h"
#include "tail_int.h"

int fs_parse_partitions(const char *spec, int32_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    const char *p = spec;
    while (*p) {
        char *end;
        errno = 0;
        long a = strtol(p, &end, 10), b = a;
        if (end == p || errno || a < 0 || a > INT32_MAX)
            goto bad;
        p = end;
        if (*p == '-') {
            p++;
            b = strtol(p, &end, 10);
            if (end == p || errno || b < a || b > INT32_MAX || b - a > 100000)
                goto bad;
            p = end;
        }
        for (long i = a; i <= b; i++) {
            if (*n == cap) {
                cap = cap ? cap * 2 : 16;
                int32_t *np = realloc(*out, cap * sizeof *np);
                if (!np)
                    goto bad;
                *out = np;
            }
            (*out)[(*n)++] = (int32_t)i;
        }
        if (*p == ',')
            p++;
        else if (*p)
            goto bad;
    }
    if (*n)
        return 0;
bad:
    free(*out);
    *out = NULL;
    return -1;
}

static int fs_topic_wants(const fs_ttopic *tt, int32_t p)
{
    if (!tt->only)
        return 1;
    for (size_t i = 0; i < tt->nonly; i++)
        if (tt->only[i] == p)
            return 1;
    return 0;
}

/* librdkafka's messages may quote its configuration: secrets go. */
static void fs_rk_log(const rd_kafka_t *rk, int level, const char *fac,
                      const char *buf)
{
    fs_tailer *T = rd_kafka_opaque(rk);
    char line[1024];
    snprintf(line, sizeof line, "kafka %s: %s", fac, buf);
    fs_kafka_redact(T->store->conf, line, sizeof line);
    TLOG(T, level, "%s", line);
}

static void fs_rk_error(rd_kafka_t *rk, int err, const char *reason, void *op)
{
    (void)rk;
    fs_tailer *T = op;
    char line[512];
    snprintf(line, sizeof line, "%s: %s", rd_kafka_err2name(err), reason);
    fs_kafka_redact(T->store->conf, line, sizeof line);
    pthread_mutex_lock(&T->mu);
    snprintf(T->last_error, sizeof T->last_error, "%s", line);
    T->kafka_errors++;
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ||
        err == RD_KAFKA_RESP_ERR__TRANSPORT)
        T->connected = 0;
    pthread_mutex_unlock(&T->mu);
    TLOG(T, 4, "kafka: %s", line);
}

rd_kafka_t *fs_rk_new(fs_tailer *T, rd_kafka_type_t type, char *errstr,
                             size_t errstr_size, fstore_err_t *err)
{
    const fstore_conf_t *conf = T->store->conf;
    rd_kafka_conf_t *rc = rd_kafka_conf_new();
    /* fstore's defaults first so the user's kafka.* settings win, then
     * the forced settings, which win over both (docs/configuration.md). */
    unsigned client = type == RD_KAFKA_CONSUMER ? FS_K_CONSUMER : FS_K_PRODUCER;
    fs_kafka_set(rc, client, 0);
    if ((*err = fs_kafka_user(conf, rc, errstr, errstr_size))) {
        rd_kafka_conf_destroy(rc);
        return NULL;
    }
    fs_kafka_set(rc, client, 1);
    rd_kafka_conf_set_opaque(rc, T);
    rd_kafka_conf_set_log_cb(rc, fs_rk_log);
    rd_kafka_conf_set_error_cb(rc, fs_rk_error);
    return fs_kafka_new(type, rc, "to tail", errstr, errstr_size, err);
}

fs_tpart *fs_part(fs_ttopic *tt, int32_t p)
{
    return p >= 0 && p < tt->nparts ? &tt->parts[p] : NULL;
}

/* Grows tt->parts to n partitions. */
static int fs_parts_grow(fs_ttopic *tt, int32_t n)
{
    if (n <= tt->nparts)
        return 0;
    fs_tpart *np = realloc(tt->parts, (size_t)n * sizeof *np);
    if (!np)
        return -1;
    for (int32_t i = tt->nparts; i < n; i++) {
        memset(&np[i], 0, sizeof np[i]);
        np[i].end_at_start = -1;
        np[i].position = -1;
        np[i].delivered = -1;
        np[i].end = -1;
        np[i].last_ts = -1;
        np[i].applied = -1;
        np[i].fp_offset = -1;
        np[i].skip_through = -1;
    }
    tt->parts = np;
    tt->nparts = n;
    return 0;
}

/* Assigns partitions of tt that exist (count n) and are not yet assigned;
 * new ones start at the stored offset + 1, or the beginning. capture says
 * whether to capture end offsets for readiness. */
fstore_err_t fs_assign_new(fs_tailer *T, fs_ttopic *tt, int32_t n,
                                  int capture)
{
    fstore_reader_t *r = NULL;
    if (fstore_reader_new(T->store, &r))
        return FSTORE_ERR_NO_MEMORY;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
    pthread_mutex_lock(&T->mu);
    int grown = fs_parts_grow(tt, n);
    pthread_mutex_unlock(&T->mu);
    if (grown) {
        fstore_reader_destroy(r);
        rd_kafka_topic_partition_list_destroy(l);
        return FSTORE_ERR_NO_MEMORY;
    }
    for (int32_t p = 0; p < n; p++) {
        fs_tpart *tp = &tt->parts[p];
        if (tp->assigned || !fs_topic_wants(tt, p))
            continue;
        int64_t stored = -1, start = RD_KAFKA_OFFSET_BEGINNING, fo = -1;
        uint64_t fp = 0;
        if (fstore_reader_offset(r, tt->table, p, &stored) == FSTORE_OK) {
            start = stored + 1;
            /* Resume at the record applied last, to check the topic still
             * holds it (tail_verify.c). */
            if (fs_reader_fprint(r, tt->table, p, &fo, &fp) != FSTORE_OK ||
                fo < 0 || fo > stored)
                fo = -1;
        }
        int64_t lo = 0, hi = -1;
        if (capture || fo >= 0) {
            rd_kafka_resp_err_t e =
                rd_kafka_query_watermark_offsets(T->rk, tt->topic, p, &lo, &hi, 5000);
            if (e) {
                TLOG(T, 4, "%s [%d]: cannot read end offset: %s", tt->topic, p,
                     rd_kafka_err2str(e));
                fstore_reader_destroy(r);
                rd_kafka_topic_partition_list_destroy(l);
                return FSTORE_ERR_KAFKA;
            }
        }
        pthread_mutex_lock(&T->mu);
        tp->assigned = 1;
        tp->start = start;
        tp->applied = start >= 0 ? start - 1 : -1;
        tp->end_at_start = capture ? hi : 0;
        tp->end = hi;
        /* Nothing to read: empty (or fully compacted away) or already
         * applied up to the end. A stored offset past the end is not
         * "caught up": the fetch reports it out of range. */
        tp->ready = !capture || (start < 0 && hi <= lo) || start == hi;
        /* A topic now shorter than what the store applied was replaced:
         * the fetch after the stored offset is out of range, unchecked. A
         * record below the log start (retention, DeleteRecords) cannot be
         * checked: resume after the stored offset. */
        if (fo >= 0 && (stored + 1 > hi || fo < lo))
            fo = -1;
        tp->fp_offset = fo;
        tp->fp = fp;
        tp->verify = fo >= 0;
        tp->replaced = 0;
        tp->recheck = 0;
        tp->skip_through = fo >= 0 ? stored : -1;
        /* Not ready before the check: the topic may have been replaced. */
        if (tp->verify && capture)
            tp->ready = 0;
        pthread_mutex_unlock(&T->mu);
        /* From the beginning: from the low watermark just queried, when
         * there is one. A logical offset would make librdkafka look it up
         * again per partition, retried after 500 ms for partitions whose
         * leader connection is not up yet, which is most of a bootstrap's
         * time on a small topic. Should the log start move in between,
         * fs_out_of_range() reassigns the partition at the new start. */
        tp->from_low = start < 0 && capture && hi > lo;
        rd_kafka_topic_partition_list_add(l, tt->topic, p)->offset =
            tp->verify ? fo : tp->from_low ? lo : start;
        TLOG(T, 6, "%s [%d]: assigned from %s%lld (end %lld)%s", tt->topic, p,
             start < 0 ? "beginning " : "offset ",
             (long long)(tp->verify ? fo : start < 0 ? lo : start),
             (long long)hi, tp->verify ? ", the record applied last" : "");
    }
    fstore_reader_destroy(r);
    rd_kafka_error_t *e = l->cnt ? rd_kafka_incremental_assign(T->rk, l) : NULL;
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        TLOG(T, 3, "assigning partitions of %s: %s", tt->topic,
             rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return FSTORE_ERR_KAFKA;
    }
    return FSTORE_OK;
}

/* Partition count of a topic from the broker, or -1. */
int32_t fs_partition_count(fs_tailer *T, fs_ttopic *tt, int timeout_ms)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(T->rk, 0, tt->rkt, &md, timeout_ms);
    if (e) {
        pthread_mutex_lock(&T->mu);
        T->connected = 0;
        snprintf(T->last_error, sizeof T->last_error,
                 "metadata for %s: %s", tt->topic, rd_kafka_err2str(e));
        pthread_mutex_unlock(&T->mu);
        return -1;
    }
    int32_t n = -1;
    if (md->topic_cnt == 1 && !md->topics[0].err)
        n = md->topics[0].partition_cnt;
    else if (md->topic_cnt == 1) {
        TLOG(T, 4, "topic %s: %s", tt->topic, rd_kafka_err2str(md->topics[0].err));
        /* Deleted: the tail thread reassigns its partitions at their last
         * records, to be checked when the topic returns (tail_verify.c).
         * Until it returns the view is not current. */
        if (md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
            __atomic_store_n(&tt->vanished, 1, __ATOMIC_RELEASE);
            __atomic_store_n(&tt->missing, 1, __ATOMIC_RELEASE);
            pthread_mutex_lock(&T->mu);
            snprintf(T->last_error, sizeof T->last_error,
                     "topic %s does not exist on the broker (deleted?): table "
                     "\"%s\" is not current until it returns",
                     tt->topic, tt->table->name);
            pthread_mutex_unlock(&T->mu);
        }
    }
    rd_kafka_metadata_destroy(md);
    if (n > 0) {
        __atomic_store_n(&tt->missing, 0, __ATOMIC_RELEASE);
        pthread_mutex_lock(&T->mu);
        T->connected = 1;
        pthread_mutex_unlock(&T->mu);
    }
    return n;
}

fstore_err_t fs_assign_all(fs_tailer *T)
{
    for (size_t i = 0; i < T->ntopics; i++) {
        fs_ttopic *tt = &T->topics[i];
        int32_t n = fs_partition_count(T, tt, 2000);
        if (n <= 0)
            return FSTORE_ERR_KAFKA;
        if (tt->only)
            for (size_t k = 0; k < tt->nonly; k++)
                if (tt->only[k] >= n)
                    TLOG(T, 4, "topic %s has %d partitions; partition %d "
                         "will be assigned when it exists",
                         tt->topic, n, tt->only[k]);
        fstore_err_t err = fs_assign_new(T, tt, n, 1);
        if (err)
            return err;
    }
    return FSTORE_OK;
}

fs_ttopic *fs_topic_of(fs_tailer *T, const rd_kafka_message_t *m,
                              size_t *idx)
{
    const char *name = rd_kafka_topic_name(m->rkt);
    for (size_t i = 0; i < T->ntopics; i++)
        if (!strcmp(T->topics[i].topic, name)) {
            *idx = i;
            return &T->topics[i];
        }
    return NULL;
}

/* Positions after everything delivered so far; call with no messages of
 * this round left unprocessed. */
void fs_positions(fs_tailer *T)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
    for (size_t i = 0; i < T->ntopics; i++)
        for (int32_t p = 0; p < T->topics[i].nparts; p++)
            if (T->topics[i].parts[p].assigned)
                rd_kafka_topic_partition_list_add(l, T->topics[i].topic, p);
    pthread_mutex_lock(&T->mu);
    if (l->cnt && rd_kafka_position(T->rk, l) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int k = 0; k < l->cnt; k++) {
            const rd_kafka_topic_partition_t *e = &l->elems[k];
            if (e->offset < 0)
                continue;
            for (size_t i = 0; i < T->ntopics; i++) {
                fs_ttopic *tt = &T->topics[i];
                fs_tpart *tp = strcmp(tt->topic, e->topic) ? NULL
                                                           : fs_part(tt, e->partition);
                if (!tp)
                    continue;
                tp->position = e->offset;
            }
        }
    }
    pthread_mutex_unlock(&T->mu);
    rd_kafka_topic_partition_list_destroy(l);
}

/* The watcher thread asks the broker for partition counts every 0.5 s, so
 * a slow metadata answer never holds up applying records, partitions added
 * to a topic are noticed soon, and an unreachable broker shows in the
 * statistics within about a second (connected false, staleness growing). */
void *fs_watch_main(void *arg)
{
    fs_tailer *T = arg;
    pthread_mutex_lock(&T->mu);
    while (!T->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 500000000L;
        if (ts.tv_nsec >= 1000000000L)
            ts.tv_sec++, ts.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&T->cond, &T->mu, &ts);
        if (T->stop || !T->assigned)
            continue;
        pthread_mutex_unlock(&T->mu);
        for (size_t i = 0; i < T->ntopics; i++) {
            int32_t n = fs_partition_count(T, &T->topics[i], 1000);
            if (n > 0)
                __atomic_store_n(&T->topics[i].seen_parts, n, __ATOMIC_RELEASE);
        }
        pthread_mutex_lock(&T->mu);
    }
    pthread_mutex_unlock(&T->mu);
    return NULL;
}
