/* The tailer thread: Kafka → decode → apply batches → LMDB view. */
#include <errno.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "hist.h"
#include "ingest.h"

enum { SK_DECODE, SK_SCHEMA, SK_RESOLVE, SK_NO_KEY, SK_N };
static const char *const fs_skip_names[SK_N] = {"decode", "schema", "resolve",
                                                "no_key"};

enum { ST_IDLE, ST_CONNECTING, ST_BOOTSTRAPPING, ST_READY, ST_FAILED, ST_STOPPED };
static const char *const fs_state_names[] = {
    "idle", "connecting", "bootstrapping", "ready", "failed", "stopped"};

typedef struct fs_tpart {
    int assigned;
    int64_t start;        /* offset the assignment started at (or logical) */
    int64_t end_at_start; /* end offset captured at start; -1 unknown */
    int64_t position;     /* next offset the consumer will deliver */
    int64_t delivered;    /* offset after the last record delivered, -1 */
    int from_low;         /* fetching from a queried low watermark */
    int64_t end;          /* latest known end offset */
    int64_t last_ts;      /* timestamp of the last applied record */
    int64_t applied;      /* offset stored in the view, -1 none */
    int ready;
} fs_tpart;

typedef struct fs_counters {
    uint64_t applied, deleted, bytes, skipped[SK_N];
} fs_counters;

typedef struct fs_ttopic {
    fstore_table_t *table;
    char *topic;
    int32_t *only; /* listed partitions, or NULL for all */
    size_t nonly;
    rd_kafka_topic_t *rkt;
    fs_tpart *parts;
    int32_t nparts;
    fs_counters c;
    fs_hist fresh; /* record timestamp → visible, microseconds */
    uint64_t rebuilds;
    int32_t seen_parts; /* partition count the watcher last saw (atomic) */
} fs_ttopic;

struct fs_tailer {
    fstore_store_t *store;
    fs_ttopic *topics;
    size_t ntopics;
    rd_kafka_t *rk;
    rd_kafka_queue_t *q;
    rd_kafka_t *dlq; /* dead-letter producer, optional */
    char *dlq_topic;
    pthread_t thread;
    pthread_t watcher; /* metadata requests, off the apply path */
    int started;
    int stop; /* atomic */
    /* mu guards everything read by other threads: states, counters,
     * partitions, histograms. The thread holds it only briefly. */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int state;
    int assigned;
    int connected;
    int ready;
    fstore_err_t err;
    char errmsg[512];
    char last_error[512]; /* last non-fatal error, for stats */
    int64_t started_ms, ready_ms, last_current_ms, last_commit_ms;
    /* the batch being filled (thread only) */
    fstore_batch_t *batch;
    int64_t batch_started_us, batch_cpu_us; /* wall and thread CPU clocks */
    struct {
        uint16_t topic;
        int64_t ts;     /* record timestamp (ms), or <= 0 */
        int64_t deq_us; /* when the tailer took it from the consumer */
    } * pend;
    int64_t round_us; /* when this poll round's records were taken */
    fs_hist apply;    /* taken from the consumer -> visible, microseconds */
    size_t npend, cap_pend;
    fs_counters *staged; /* per topic, folded in at commit */
    uint64_t max_records, max_ms, stats_interval_ms, bulk_bytes;
    int rebuild;
    /* Bootstrap of empty tables: one growing batch, committed when caught
     * up (or at bulk_bytes), so the store loads by sorted append. */
    int bulk;
    int64_t last_pos_us;
    int64_t last_stats_ms, last_meta_ms, last_warn_ms;
};

static int64_t fs_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* CPU time of the calling thread. */
static int64_t fs_cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t fs_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define TLOG(T, lvl, ...) fs_log((T)->store->conf, lvl, __VA_ARGS__)

/* ---- partition lists ---- */

static int fs_parse_partitions(const char *spec, int32_t **out, size_t *n)
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

/* ---- setup ---- */

static fs_tailer *fs_tailer_get(fstore_store_t *s)
{
    if (s->tail)
        return s->tail;
    fs_tailer *T = calloc(1, sizeof *T);
    if (!T)
        return NULL;
    T->store = s;
    pthread_mutex_init(&T->mu, NULL);
    pthread_cond_init(&T->cond, NULL);
    s->tail = T;
    return T;
}

fstore_err_t fstore_tail_add(fstore_store_t *s, const fstore_table_t *table,
                             const char *topic, const char *partitions,
                             char *errstr, size_t errstr_size)
{
    if (!s || !table || !topic || !*topic || table->store != s)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_INVALID_ARG,
                           "store, table (of that store) and topic are required");
    if (s->read_only)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_READ_ONLY,
                           "a read-only store cannot tail; open it writable "
                           "in one process");
    pthread_mutex_lock(&s->mu);
    fstore_err_t err = FSTORE_OK;
    fs_tailer *T = fs_tailer_get(s);
    if (!T) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
        goto out;
    }
    if (T->started) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_STATE,
                          "the tailer already runs; add tables before "
                          "fstore_tail_start");
        goto out;
    }
    for (size_t i = 0; i < T->ntopics; i++) {
        if (T->topics[i].table == table || !strcmp(T->topics[i].topic, topic)) {
            err = fstore__err(errstr, errstr_size, FSTORE_ERR_STATE,
                              "table \"%s\" or topic \"%s\" was already added",
                              table->name, topic);
            goto out;
        }
    }
    fs_ttopic tt;
    memset(&tt, 0, sizeof tt);
    tt.table = (fstore_table_t *)(uintptr_t)table;
    if (partitions && fs_parse_partitions(partitions, &tt.only, &tt.nonly)) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_CONF,
                          "partition list \"%s\" is invalid: use numbers and "
                          "ranges such as 0,2-5",
                          partitions);
        goto out;
    }
    fs_ttopic *nt = realloc(T->topics, (T->ntopics + 1) * sizeof *nt);
    if (!nt || !(tt.topic = fs_strdup(topic))) {
        if (nt)
            T->topics = nt;
        free(tt.only);
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
        goto out;
    }
    T->topics = nt;
    T->topics[T->ntopics++] = tt;
out:
    pthread_mutex_unlock(&s->mu);
    return err;
}

static void fs_rk_log(const rd_kafka_t *rk, int level, const char *fac,
                      const char *buf)
{
    fs_tailer *T = rd_kafka_opaque(rk);
    TLOG(T, level, "kafka %s: %s", fac, buf);
}

static void fs_rk_error(rd_kafka_t *rk, int err, const char *reason, void *op)
{
    (void)rk;
    fs_tailer *T = op;
    pthread_mutex_lock(&T->mu);
    snprintf(T->last_error, sizeof T->last_error, "%s: %s",
             rd_kafka_err2name(err), reason);
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ||
        err == RD_KAFKA_RESP_ERR__TRANSPORT)
        T->connected = 0;
    pthread_mutex_unlock(&T->mu);
    TLOG(T, 4, "kafka: %s: %s", rd_kafka_err2name(err), reason);
}

struct fs_pass {
    rd_kafka_conf_t *rc;
    char *errstr;
    size_t errstr_size;
    fstore_err_t err;
};

static void fs_pass_one(const char *name, const char *value, void *arg)
{
    struct fs_pass *p = arg;
    char buf[512];
    if (p->err)
        return;
    if (rd_kafka_conf_set(p->rc, name + 6, value, buf, sizeof buf) != RD_KAFKA_CONF_OK)
        p->err = fstore__err(p->errstr, p->errstr_size, FSTORE_ERR_CONF,
                             "%s: %s", name, buf);
}

static rd_kafka_t *fs_rk_new(fs_tailer *T, rd_kafka_type_t type, char *errstr,
                             size_t errstr_size, fstore_err_t *err)
{
    const fstore_conf_t *conf = T->store->conf;
    rd_kafka_conf_t *rc = rd_kafka_conf_new();
    char buf[512];
    /* Defaults first so the user's kafka.* settings win... */
    if (type == RD_KAFKA_CONSUMER) {
        rd_kafka_conf_set(rc, "group.id", "fstore", NULL, 0);
        rd_kafka_conf_set(rc, "isolation.level", "read_committed", NULL, 0);
        rd_kafka_conf_set(rc, "enable.partition.eof", "false", NULL, 0);
        rd_kafka_conf_set(rc, "fetch.wait.max.ms", "10", NULL, 0);
    } else {
        rd_kafka_conf_set(rc, "enable.idempotence", "true", NULL, 0);
        rd_kafka_conf_set(rc, "linger.ms", "5", NULL, 0);
    }
    rd_kafka_conf_set(rc, "client.id", "fstore", NULL, 0);
    /* Requests leave at once: freshness is the point (Kafka's own Java
     * clients set TCP_NODELAY too). */
    rd_kafka_conf_set(rc, "socket.nagle.disable", "true", NULL, 0);
    struct fs_pass pass = {rc, errstr, errstr_size, FSTORE_OK};
    fs_conf_each(conf, "kafka.", fs_pass_one, &pass);
    if (pass.err) {
        rd_kafka_conf_destroy(rc);
        *err = pass.err;
        return NULL;
    }
    if (type == RD_KAFKA_CONSUMER) {
        /* ...except these: offsets live in the store, committed with the
         * rows, and a vanished offset is ours to handle, never silently. */
        rd_kafka_conf_set(rc, "enable.auto.commit", "false", NULL, 0);
        rd_kafka_conf_set(rc, "enable.auto.offset.store", "false", NULL, 0);
        rd_kafka_conf_set(rc, "auto.offset.reset", "error", NULL, 0);
    }
    size_t n = sizeof buf;
    if (rd_kafka_conf_get(rc, "bootstrap.servers", buf, &n) != RD_KAFKA_CONF_OK ||
        !buf[0]) {
        rd_kafka_conf_destroy(rc);
        *err = fstore__err(errstr, errstr_size, FSTORE_ERR_CONF,
                           "set kafka.bootstrap.servers to tail (e.g. "
                           "127.0.0.1:9092)");
        return NULL;
    }
    rd_kafka_conf_set_opaque(rc, T);
    rd_kafka_conf_set_log_cb(rc, fs_rk_log);
    rd_kafka_conf_set_error_cb(rc, fs_rk_error);
    rd_kafka_t *rk = rd_kafka_new(type, rc, buf, sizeof buf);
    if (!rk) {
        rd_kafka_conf_destroy(rc);
        *err = fstore__err(errstr, errstr_size, FSTORE_ERR_CONF,
                           "cannot create the Kafka client: %s", buf);
    }
    return rk;
}

/* ---- assignment ---- */

static fs_tpart *fs_part(fs_ttopic *tt, int32_t p)
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
    }
    tt->parts = np;
    tt->nparts = n;
    return 0;
}

/* Assigns partitions of tt that exist (count n) and are not yet assigned;
 * new ones start at the stored offset + 1, or the beginning. capture says
 * whether to capture end offsets for readiness. */
static fstore_err_t fs_assign_new(fs_tailer *T, fs_ttopic *tt, int32_t n,
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
        int64_t stored, start = RD_KAFKA_OFFSET_BEGINNING;
        if (fstore_reader_offset(r, tt->table, p, &stored) == FSTORE_OK)
            start = stored + 1;
        int64_t lo = 0, hi = -1;
        if (capture) {
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
        pthread_mutex_unlock(&T->mu);
        /* From the beginning: from the low watermark just queried, when
         * there is one. A logical offset would make librdkafka look it up
         * again per partition, retried after 500 ms for partitions whose
         * leader connection is not up yet, which is most of a bootstrap's
         * time on a small topic. Should the log start move in between,
         * fs_out_of_range() reassigns the partition at the new start. */
        tp->from_low = start < 0 && capture && hi > lo;
        rd_kafka_topic_partition_list_add(l, tt->topic, p)->offset =
            tp->from_low ? lo : start;
        TLOG(T, 6, "%s [%d]: assigned from %s%lld (end %lld)", tt->topic, p,
             start < 0 ? "beginning " : "offset ",
             (long long)(start < 0 ? lo : start), (long long)hi);
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
static int32_t fs_partition_count(fs_tailer *T, fs_ttopic *tt, int timeout_ms)
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
    else if (md->topic_cnt == 1)
        TLOG(T, 4, "topic %s: %s", tt->topic, rd_kafka_err2str(md->topics[0].err));
    rd_kafka_metadata_destroy(md);
    if (n > 0) {
        pthread_mutex_lock(&T->mu);
        T->connected = 1;
        pthread_mutex_unlock(&T->mu);
    }
    return n;
}

static fstore_err_t fs_assign_all(fs_tailer *T)
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

/* ---- batches ---- */

static int fs_all_ready(fs_tailer *T)
{
    for (size_t i = 0; i < T->ntopics; i++) {
        fs_ttopic *tt = &T->topics[i];
        for (int32_t p = 0; p < tt->nparts; p++)
            if (tt->parts[p].assigned && !tt->parts[p].ready)
                return 0;
        if (tt->only)
            for (size_t k = 0; k < tt->nonly; k++)
                if (tt->only[k] >= tt->nparts)
                    return 0;
    }
    return 1;
}

static void fs_set_state(fs_tailer *T, int st)
{
    pthread_mutex_lock(&T->mu);
    if (T->state != ST_FAILED && T->state != ST_STOPPED)
        T->state = st;
    pthread_cond_broadcast(&T->cond);
    pthread_mutex_unlock(&T->mu);
}

static void fs_fail(fs_tailer *T, fstore_err_t err, const char *fmt, ...)
    FS_PRINTF(3, 4);
static void fs_fail(fs_tailer *T, fstore_err_t err, const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&T->mu);
    if (T->state == ST_FAILED) {
        pthread_mutex_unlock(&T->mu); /* the first failure is the story */
        return;
    }
    va_start(ap, fmt);
    vsnprintf(T->errmsg, sizeof T->errmsg, fmt, ap);
    va_end(ap);
    T->err = err;
    T->state = ST_FAILED;
    snprintf(T->last_error, sizeof T->last_error, "%s", T->errmsg);
    __atomic_store_n(&T->stop, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&T->cond);
    pthread_mutex_unlock(&T->mu);
    TLOG(T, 3, "tailer stopped: %s", T->errmsg);
}

static json_t *fs_stats_build(fs_tailer *T);

/* The statistics as compact JSON text (malloc'ed), or NULL. */
static char *fs_stats_text(fs_tailer *T)
{
    json_t *st = fs_stats_build(T);
    char *txt = st ? json_dumps(st, JSON_COMPACT) : NULL;
    json_decref(st);
    return txt;
}

/* Positions after everything delivered so far; call with no messages of
 * this round left unprocessed. */
static void fs_positions(fs_tailer *T)
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

static void fs_update_ready(fs_tailer *T, int64_t now_ms);

/* Applies the open batch, if any, together with every partition's consumed
 * position: everything before a position was delivered (or was a control
 * record or a compaction gap), so the store may resume after it. With no
 * batch open it commits the offsets alone when positions moved (e.g. past
 * aborted transactions), so resume and readiness never wait for a record. */
static fstore_err_t fs_commit(fs_tailer *T)
{
    fs_positions(T);
    int moved = 0;
    for (size_t i = 0; i < T->ntopics; i++)
        for (int32_t p = 0; p < T->topics[i].nparts; p++) {
            const fs_tpart *tp = &T->topics[i].parts[p];
            if (tp->assigned && tp->position > 0 && tp->position - 1 > tp->applied)
                moved = 1;
        }
    if (!T->batch && moved) {
        if (fstore_batch_begin(T->store, &T->batch)) {
            fs_fail(T, FSTORE_ERR_STATE, "cannot start a batch: another batch "
                                         "is open on this store");
            return FSTORE_ERR_STATE;
        }
        T->batch_started_us = fs_now_us();
        T->batch_cpu_us = fs_cpu_us();
    }
    if (!T->batch) {
        fs_update_ready(T, fs_wall_ms());
        return FSTORE_OK;
    }
    for (size_t i = 0; i < T->ntopics; i++)
        for (int32_t p = 0; p < T->topics[i].nparts; p++) {
            const fs_tpart *tp = &T->topics[i].parts[p];
            if (tp->assigned && tp->position > 0)
                fstore_batch_advance(T->batch, T->topics[i].table, p,
                                     tp->position - 1);
        }
    int64_t now_ms = fs_wall_ms();
    if (now_ms - T->last_stats_ms >= (int64_t)T->stats_interval_ms) {
        char *txt = fs_stats_text(T);
        if (txt)
            fs_batch_set_stats(T->batch, txt);
        free(txt);
        T->last_stats_ms = now_ms;
    }
    char err[512];
    fstore_batch_t *b = T->batch;
    T->batch = NULL;
    size_t nops = fstore_batch_size(b);
    int64_t t0 = fs_now_us(), c0 = fs_cpu_us();
    fstore_err_t e = fstore_batch_commit(b, err, sizeof err);
    if (e) {
        fs_fail(T, e, "applying a batch failed: %s", err);
        return e;
    }
    TLOG(T, 7, "applied %zu records in %.3f ms (batch open %.3f ms, "
         "using %.3f ms of the tailer's CPU)", nops,
         (double)(fs_now_us() - t0) / 1e3,
         (double)(t0 - T->batch_started_us) / 1e3,
         (double)(c0 - T->batch_cpu_us) / 1e3);
    /* Visible now: account freshness, the tailer's own latency and the
     * counters. */
    int64_t vis = fs_wall_ms(), vis_us = fs_now_us();
    pthread_mutex_lock(&T->mu);
    for (size_t i = 0; i < T->npend; i++) {
        fs_ttopic *tt = &T->topics[T->pend[i].topic];
        if (T->pend[i].ts > 0) {
            int64_t d = vis - T->pend[i].ts;
            fs_hist_add(&tt->fresh, (uint64_t)(d < 0 ? 0 : d) * 1000u);
        }
        int64_t a = vis_us - T->pend[i].deq_us;
        fs_hist_add(&T->apply, (uint64_t)(a < 0 ? 0 : a));
    }
    for (size_t i = 0; i < T->ntopics; i++) {
        fs_counters *a = &T->topics[i].c, *s = &T->staged[i];
        a->applied += s->applied;
        a->deleted += s->deleted;
        a->bytes += s->bytes;
        for (int k = 0; k < SK_N; k++)
            a->skipped[k] += s->skipped[k];
        memset(s, 0, sizeof *s);
    }
    T->npend = 0;
    T->last_commit_ms = vis;
    for (size_t i = 0; i < T->ntopics; i++)
        for (int32_t p = 0; p < T->topics[i].nparts; p++) {
            fs_tpart *tp = &T->topics[i].parts[p];
            if (tp->assigned && tp->position > 0 && tp->position - 1 > tp->applied)
                tp->applied = tp->position - 1;
        }
    pthread_mutex_unlock(&T->mu);
    fs_update_ready(T, vis);
    return FSTORE_OK;
}

/* Marks partitions whose position reached the end captured at start, and
 * the tailer ready once all are. Positions must be fresh and everything
 * before them applied. */
static void fs_update_ready(fs_tailer *T, int64_t now_ms)
{
    pthread_mutex_lock(&T->mu);
    for (size_t i = 0; i < T->ntopics; i++) {
        fs_ttopic *tt = &T->topics[i];
        for (int32_t p = 0; p < tt->nparts; p++) {
            fs_tpart *tp = &tt->parts[p];
            if (tp->assigned && !tp->ready && tp->position >= tp->end_at_start &&
                tp->applied + 1 >= tp->end_at_start)
                tp->ready = 1;
        }
    }
    if (!T->ready && T->assigned && fs_all_ready(T)) {
        T->ready = 1;
        T->ready_ms = now_ms;
        T->state = ST_READY;
        TLOG(T, 6, "caught up in %lld ms", (long long)(now_ms - T->started_ms));
    }
    pthread_cond_broadcast(&T->cond);
    pthread_mutex_unlock(&T->mu);
}

static fs_ttopic *fs_topic_of(fs_tailer *T, const rd_kafka_message_t *m,
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

static void fs_dead_letter(fs_tailer *T, const rd_kafka_message_t *m,
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

/* Handles one record. Returns 1 when the record must be retried (passing
 * failure), 0 otherwise. */
static int fs_record(fs_tailer *T, const rd_kafka_message_t *m)
{
    size_t ti;
    fs_ttopic *tt = fs_topic_of(T, m, &ti);
    if (!tt)
        return 0;
    if (!T->batch) {
        if (fstore_batch_begin(T->store, &T->batch)) {
            fs_fail(T, FSTORE_ERR_STATE, "cannot start a batch: another batch "
                                         "is open on this store");
            return 0;
        }
        T->batch_started_us = fs_now_us();
        T->batch_cpu_us = fs_cpu_us();
    }
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(m, &tstype);
    char err[512] = "";
    fstore_err_t e = fstore_batch_put(T->batch, tt->table, m->key, m->key_len,
                                      m->payload, m->payload ? m->len : 0,
                                      m->partition, m->offset, ts, err, sizeof err);
    fs_counters *c = &T->staged[ti];
    if (e == FSTORE_ERR_IO || e == FSTORE_ERR_NO_MEMORY) {
        TLOG(T, 4, "%s [%d] offset %lld: %s; will retry", tt->topic,
             m->partition, (long long)m->offset, err);
        pthread_mutex_lock(&T->mu);
        snprintf(T->last_error, sizeof T->last_error, "%s", err);
        pthread_mutex_unlock(&T->mu);
        return 1;
    }
    if (e) {
        int reason = e == FSTORE_ERR_KEY                ? SK_NO_KEY
                     : e == FSTORE_ERR_RESOLVE          ? SK_RESOLVE
                     : e == FSTORE_ERR_DECODE_SCHEMA_ID ||
                             e == FSTORE_ERR_WRITER_SCHEMA
                         ? SK_SCHEMA
                         : SK_DECODE;
        c->skipped[reason]++;
        TLOG(T, 4, "%s [%d] offset %lld skipped (%s): %s", tt->topic,
             m->partition, (long long)m->offset, fstore_err_name(e), err);
        fs_dead_letter(T, m, e, err);
        return 0;
    }
    if (m->payload)
        c->applied++;
    else
        c->deleted++;
    c->bytes += m->len + m->key_len;
    pthread_mutex_lock(&T->mu);
    fs_tpart *tp = fs_part(tt, m->partition);
    if (tp) {
        tp->last_ts = ts;
        tp->delivered = m->offset + 1;
    }
    pthread_mutex_unlock(&T->mu);
    if (T->npend == T->cap_pend) {
        size_t cap = T->cap_pend ? T->cap_pend * 2 : 1024;
        void *np = realloc(T->pend, cap * sizeof *T->pend);
        if (!np)
            return 0; /* latency samples lost, nothing else */
        T->pend = np;
        T->cap_pend = cap;
    }
    T->pend[T->npend].topic = (uint16_t)ti;
    T->pend[T->npend].ts = ts;
    T->pend[T->npend].deq_us = T->round_us;
    T->npend++;
    return 0;
}

/* Offset out of range: the topic was truncated or recreated. */
static void fs_out_of_range(fs_tailer *T, fs_ttopic *tt, int32_t p)
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
            return;
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
        return;
    }
    if (!T->rebuild) {
        fs_fail(T, FSTORE_ERR_KAFKA,
                "%s [%d]: the stored offset no longer exists in the topic "
                "(truncated, or deleted and recreated); set "
                "tail.offset_reset=rebuild to reload the table, or rebuild "
                "the store",
                tt->topic, p);
        return;
    }
    TLOG(T, 4, "%s [%d]: stored offset is out of range; rebuilding table "
         "\"%s\" from the beginning of the topic",
         tt->topic, p, tt->table->name);
    if (fs_commit(T))
        return;
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

static void fs_message_error(fs_tailer *T, const rd_kafka_message_t *m)
{
    size_t ti;
    fs_ttopic *tt = m->rkt ? fs_topic_of(T, m, &ti) : NULL;
    switch (m->err) {
    case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
    case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
        if (tt)
            fs_out_of_range(T, tt, m->partition);
        return;
    case RD_KAFKA_RESP_ERR__PARTITION_EOF:
        return;
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
}

/* Periodic: new partitions, end offsets, positions moved without records
 * (aborted transactions), statistics for other processes. */
static void fs_housekeeping(fs_tailer *T)
{
    int64_t now = fs_wall_ms();
    if (now - T->last_meta_ms < 2000)
        return;
    T->last_meta_ms = now;
    for (size_t i = 0; i < T->ntopics; i++) {
        fs_ttopic *tt = &T->topics[i];
        int32_t n = __atomic_load_n(&tt->seen_parts, __ATOMIC_ACQUIRE);
        if (n > tt->nparts) {
            TLOG(T, 6, "topic %s grew to %d partitions", tt->topic, n);
            fs_assign_new(T, tt, n, 0);
        }
        pthread_mutex_lock(&T->mu);
        for (int32_t p = 0; p < tt->nparts; p++) {
            fs_tpart *tp = &tt->parts[p];
            int64_t lo, hi;
            if (tp->assigned &&
                rd_kafka_get_watermark_offsets(T->rk, tt->topic, p, &lo, &hi) == 0 &&
                hi >= 0)
                tp->end = hi;
        }
        pthread_mutex_unlock(&T->mu);
    }
    if (T->ready && !T->batch)
        fs_commit(T); /* records nothing unless positions moved */
    if (!T->batch && now - T->last_stats_ms >= (int64_t)T->stats_interval_ms) {
        char *txt = fs_stats_text(T);
        if (txt)
            fs_store_put_stats(T->store, txt);
        free(txt);
        T->last_stats_ms = now;
    }
}

/* The watcher thread asks the broker for partition counts every 0.5 s, so
 * a slow metadata answer never holds up applying records, partitions added
 * to a topic are noticed soon, and an unreachable broker shows in the
 * statistics within about a second (connected false, staleness growing). */
static void *fs_watch_main(void *arg)
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

#define FS_POLL_MAX 1000

/* Bootstrap batches are larger than live ones: latency does not matter
 * before the view is ready, and bigger transactions write each page once. */
#define FS_BOOT_MAX_RECORDS 200000
#define FS_BOOT_MAX_US 2000000
/* Before readiness, positions are asked for at most this often (and the
 * poll waits no longer) while the queue runs dry. */
#define FS_POS_EVERY_US 10000

/* Is every partition still bootstrapping at the end captured at start:
 * by its consumer position (which also moves past transaction markers and
 * compacted gaps), or by the records delivered to the tailer (known at no
 * cost, while positions are a list built and searched per call)? Call with
 * mu held. */
static int fs_at_end(fs_tailer *T, int by_delivered)
{
    for (size_t i = 0; i < T->ntopics; i++) {
        fs_ttopic *tt = &T->topics[i];
        for (int32_t p = 0; p < tt->nparts; p++) {
            fs_tpart *tp = &tt->parts[p];
            int64_t at = by_delivered ? tp->delivered : tp->position;
            if (tp->assigned && !tp->ready && at < tp->end_at_start)
                return 0;
        }
    }
    return 1;
}

/* How long the open batch may stay open, in microseconds. A bulk load
 * stays open until caught up (or full), whatever its age: its poll waits
 * are bounded by FS_POS_EVERY_US instead, and must never drop to zero (a
 * poll loop that spins steals the core the consumer's fetches need). */
static int64_t fs_batch_window_us(const fs_tailer *T)
{
    if (T->ready)
        return (int64_t)T->max_ms * 1000;
    return T->bulk ? INT64_MAX / 2 : FS_BOOT_MAX_US;
}

/* Should the open batch (or the positions alone) commit now? drained: the
 * last poll emptied the consumer's queue. */
static int fs_commit_due(fs_tailer *T, int drained)
{
    int64_t now = fs_now_us();
    if (T->batch) {
        int64_t age = now - T->batch_started_us;
        if (T->ready)
            return fstore_batch_size(T->batch) >= T->max_records ||
                   age >= (int64_t)T->max_ms * 1000;
        if (T->bulk ? fs_batch_bytes(T->batch) >= T->bulk_bytes
                    : fstore_batch_size(T->batch) >= FS_BOOT_MAX_RECORDS ||
                          age >= FS_BOOT_MAX_US)
            return 1;
    } else if (T->ready) {
        return 0; /* positions alone are committed by housekeeping */
    }
    /* Before readiness: commit as soon as every partition is at its end.
     * Records delivered up to the end say so at no cost; otherwise
     * positions (which also move past transaction markers and compacted
     * gaps) are asked for when the queue is drained, at most every
     * FS_POS_EVERY_US, and every 200 ms in any case. */
    pthread_mutex_lock(&T->mu);
    int done = fs_at_end(T, 1);
    pthread_mutex_unlock(&T->mu);
    if (done)
        return 1;
    if (now - T->last_pos_us < (drained ? FS_POS_EVERY_US : 200000))
        return 0;
    T->last_pos_us = now;
    fs_positions(T);
    pthread_mutex_lock(&T->mu);
    done = fs_at_end(T, 0);
    pthread_mutex_unlock(&T->mu);
    return done;
}

/* Waits up to wait_ms for the first record, then takes whatever else is
 * already queued without waiting: a poll returns as soon as there is
 * anything to apply (a batch poll would wait for a full batch). */
static ssize_t fs_poll(fs_tailer *T, int wait_ms, rd_kafka_message_t **msgs,
                       size_t room)
{
    rd_kafka_message_t *m = rd_kafka_consume_queue(T->q, wait_ms);
    if (!m)
        return 0;
    msgs[0] = m;
    ssize_t more = room > 1 ? rd_kafka_consume_batch_queue(T->q, 0, msgs + 1, room - 1)
                            : 0;
    return 1 + (more > 0 ? more : 0);
}

/* A table with rows but no offsets holds a bulk load that crashed before
 * its commit finished: start it over. Decides whether this start is a
 * bulk bootstrap (no table has offsets yet). */
static void fs_bootstrap_prepare(fs_tailer *T)
{
    fstore_reader_t *r;
    T->bulk = T->bulk_bytes > 0;
    if (fstore_reader_new(T->store, &r))
        return;
    for (size_t i = 0; i < T->ntopics; i++) {
        fstore_table_t *t = T->topics[i].table;
        size_t noffs = 0;
        uint64_t rows = 0;
        fstore_reader_offsets(r, t, NULL, NULL, 0, &noffs);
        fstore_reader_row_count(r, t, &rows);
        if (noffs)
            T->bulk = 0;
        else if (rows) {
            char err[256];
            fstore_reader_reset(r);
            TLOG(T, 4, "table \"%s\" holds %llu rows but no offsets (an "
                 "interrupted bootstrap): reloading it",
                 t->name, (unsigned long long)rows);
            if (fs_table_clear(t, err, sizeof err))
                TLOG(T, 3, "clearing table \"%s\": %s", t->name, err);
        }
    }
    fstore_reader_destroy(r);
}


static void *fs_tail_main(void *arg)
{
    fs_tailer *T = arg;
    rd_kafka_message_t **msgs = malloc(FS_POLL_MAX * sizeof *msgs);
    /* At most one rewind per record of a round. */
    struct fs_rewound {
        rd_kafka_topic_t *rkt;
        int32_t partition;
    } *rewound = malloc(FS_POLL_MAX * sizeof *rewound);
    if (!msgs || !rewound) {
        free(msgs);
        free(rewound);
        fs_fail(T, FSTORE_ERR_NO_MEMORY, "out of memory");
        return NULL;
    }
    fs_bootstrap_prepare(T);
    while (!__atomic_load_n(&T->stop, __ATOMIC_ACQUIRE)) {
        if (!T->assigned) {
            fs_set_state(T, ST_CONNECTING);
            if (fs_assign_all(T) == FSTORE_OK) {
                pthread_mutex_lock(&T->mu);
                T->assigned = 1;
                if (T->state == ST_CONNECTING)
                    T->state = ST_BOOTSTRAPPING;
                if (fs_all_ready(T)) {
                    T->ready = 1;
                    T->ready_ms = fs_wall_ms();
                    T->state = ST_READY;
                }
                pthread_cond_broadcast(&T->cond);
                pthread_mutex_unlock(&T->mu);
            } else {
                /* Broker unreachable or topic missing: retry soon. */
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_sec += 1;
                pthread_mutex_lock(&T->mu);
                if (!T->stop)
                    pthread_cond_timedwait(&T->cond, &T->mu, &ts);
                pthread_mutex_unlock(&T->mu);
                continue;
            }
        }
        int wait_ms = 100;
        if (T->batch) {
            int64_t left = fs_batch_window_us(T) - (fs_now_us() - T->batch_started_us);
            if (left < 100000)
                wait_ms = left <= 0 ? 0 : (int)((left + 999) / 1000);
        }
        if (!T->ready && wait_ms > FS_POS_EVERY_US / 1000)
            wait_ms = FS_POS_EVERY_US / 1000;
        size_t room = FS_POLL_MAX;
        if (T->ready && T->max_records - fstore_batch_size(T->batch) < room)
            room = T->max_records - fstore_batch_size(T->batch);
        ssize_t n = fs_poll(T, wait_ms, msgs, room);
        int drained = (size_t)n < room;
        if (n > 0)
            T->round_us = fs_now_us();
        /* Partitions rewound this round: their later records are dropped
         * here and fetched again after the seek. */
        int nrewound = 0, retry = 0, delivered = 0;
        for (ssize_t i = 0; i < n; i++) {
            rd_kafka_message_t *m = msgs[i];
            int skip = 0;
            for (int k = 0; k < nrewound; k++)
                if (rewound[k].rkt == m->rkt && rewound[k].partition == m->partition)
                    skip = 1;
            if (skip) {
                rd_kafka_message_destroy(m);
                continue;
            }
            if (m->err) {
                fs_message_error(T, m);
            } else {
                delivered = 1;
                if (fs_record(T, m)) {
                    /* Rewind to the record; what came before it applies. */
                    retry = 1;
                    rd_kafka_topic_partition_list_t *l =
                        rd_kafka_topic_partition_list_new(1);
                    rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(m->rkt),
                                                      m->partition)->offset = m->offset;
                    rd_kafka_error_t *se = rd_kafka_seek_partitions(T->rk, l, 5000);
                    if (se) {
                        fs_fail(T, FSTORE_ERR_KAFKA, "rewinding %s [%d]: %s",
                                rd_kafka_topic_name(m->rkt), m->partition,
                                rd_kafka_error_string(se));
                        rd_kafka_error_destroy(se);
                    }
                    rd_kafka_topic_partition_list_destroy(l);
                    rewound[nrewound].rkt = m->rkt;
                    rewound[nrewound].partition = m->partition;
                    nrewound++;
                }
            }
            rd_kafka_message_destroy(m);
        }
        if (delivered) {
            pthread_mutex_lock(&T->mu);
            T->connected = 1;
            pthread_mutex_unlock(&T->mu);
        }
        if ((retry && T->batch) || fs_commit_due(T, drained))
            fs_commit(T);
        /* Current: everything the broker handed over is visible. */
        if (drained && !T->batch && T->ready) {
            pthread_mutex_lock(&T->mu);
            if (T->connected)
                T->last_current_ms = fs_wall_ms();
            pthread_mutex_unlock(&T->mu);
        }
        if (retry) {
            /* Back off before asking the schema registry again. */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 1;
            pthread_mutex_lock(&T->mu);
            if (!T->stop)
                pthread_cond_timedwait(&T->cond, &T->mu, &ts);
            pthread_mutex_unlock(&T->mu);
        }
        if (T->dlq)
            rd_kafka_poll(T->dlq, 0);
        fs_housekeeping(T);
    }
    if (T->state != ST_FAILED)
        fs_commit(T);
    if (T->batch) {
        fstore_batch_abort(T->batch);
        T->batch = NULL;
    }
    free(msgs);
    free(rewound);
    return NULL;
}

fstore_err_t fstore_tail_start(fstore_store_t *s, char *errstr,
                               size_t errstr_size)
{
    if (!s)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_INVALID_ARG,
                           "store must not be NULL");
    pthread_mutex_lock(&s->mu);
    fs_tailer *T = s->tail;
    fstore_err_t err = FSTORE_OK;
    if (!T || !T->ntopics) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_STATE,
                          "no table to tail: call fstore_tail_add first");
        goto out;
    }
    if (T->started) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_STATE,
                          "the tailer already runs");
        goto out;
    }
    T->max_records = fs_conf_u64(s->conf, "tail.batch.max_records");
    T->max_ms = fs_conf_u64(s->conf, "tail.batch.max_ms");
    T->stats_interval_ms = fs_conf_u64(s->conf, "tail.stats_interval_ms");
    T->bulk_bytes = fs_conf_u64(s->conf, "tail.bootstrap.max_bytes");
    T->rebuild = !strcmp(fs_conf_str(s->conf, "tail.offset_reset"), "rebuild");
    T->staged = calloc(T->ntopics, sizeof *T->staged);
    if (!T->staged) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
        goto out;
    }
    if (!(T->rk = fs_rk_new(T, RD_KAFKA_CONSUMER, errstr, errstr_size, &err)))
        goto out;
    const char *dlq = fs_conf_str(s->conf, "tail.dead_letter_topic");
    if (dlq) {
        T->dlq_topic = fs_strdup(dlq);
        if (!T->dlq_topic ||
            !(T->dlq = fs_rk_new(T, RD_KAFKA_PRODUCER, errstr, errstr_size, &err)))
            goto undo;
    }
    for (size_t i = 0; i < T->ntopics; i++)
        T->topics[i].rkt = rd_kafka_topic_new(T->rk, T->topics[i].topic, NULL);
    T->q = rd_kafka_queue_get_consumer(T->rk);
    if (!T->q) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_KAFKA,
                          "cannot get the consumer queue");
        goto undo;
    }
    T->stop = 0;
    T->state = ST_CONNECTING;
    T->err = FSTORE_OK;
    T->started_ms = fs_wall_ms();
    if (pthread_create(&T->thread, NULL, fs_tail_main, T) != 0) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY,
                          "cannot start the tailer thread");
        goto undo;
    }
    pthread_setname_np(T->thread, "fstore:tail");
    if (pthread_create(&T->watcher, NULL, fs_watch_main, T) != 0) {
        pthread_mutex_lock(&T->mu);
        __atomic_store_n(&T->stop, 1, __ATOMIC_RELEASE);
        pthread_cond_broadcast(&T->cond);
        pthread_mutex_unlock(&T->mu);
        pthread_join(T->thread, NULL);
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY,
                          "cannot start the tailer's watcher thread");
        goto undo;
    }
    pthread_setname_np(T->watcher, "fstore:watch");
    T->started = 1;
    goto out;
undo:
    if (T->q)
        rd_kafka_queue_destroy(T->q);
    T->q = NULL;
    for (size_t i = 0; i < T->ntopics; i++)
        if (T->topics[i].rkt)
            rd_kafka_topic_destroy(T->topics[i].rkt), T->topics[i].rkt = NULL;
    if (T->rk)
        rd_kafka_destroy(T->rk);
    if (T->dlq)
        rd_kafka_destroy(T->dlq);
    T->rk = T->dlq = NULL;
out:
    pthread_mutex_unlock(&s->mu);
    return err;
}

fstore_err_t fstore_tail_wait_ready(fstore_store_t *s, int timeout_ms)
{
    if (!s)
        return FSTORE_ERR_INVALID_ARG;
    fs_tailer *T = s->tail;
    if (!T || !T->started)
        return FSTORE_ERR_STATE;
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    if (timeout_ms >= 0) {
        dl.tv_sec += timeout_ms / 1000;
        dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (dl.tv_nsec >= 1000000000L)
            dl.tv_sec++, dl.tv_nsec -= 1000000000L;
    }
    fstore_err_t err = FSTORE_OK;
    pthread_mutex_lock(&T->mu);
    while (!T->ready && T->state != ST_FAILED && T->state != ST_STOPPED) {
        int rc = timeout_ms < 0 ? pthread_cond_wait(&T->cond, &T->mu)
                                : pthread_cond_timedwait(&T->cond, &T->mu, &dl);
        if (rc == ETIMEDOUT) {
            err = T->ready ? FSTORE_OK : FSTORE_ERR_TIMED_OUT;
            break;
        }
    }
    if (!T->ready && err == FSTORE_OK)
        err = FSTORE_ERR_STATE;
    pthread_mutex_unlock(&T->mu);
    return err;
}

fstore_err_t fstore_tail_error(fstore_store_t *s, char *buf, size_t size)
{
    if (!s)
        return FSTORE_ERR_INVALID_ARG;
    fs_tailer *T = s->tail;
    if (buf && size)
        buf[0] = 0;
    if (!T)
        return FSTORE_OK;
    pthread_mutex_lock(&T->mu);
    fstore_err_t e = T->err;
    if (buf && size)
        snprintf(buf, size, "%s", T->errmsg);
    pthread_mutex_unlock(&T->mu);
    return e;
}

fstore_err_t fstore_tail_stop(fstore_store_t *s)
{
    if (!s || !s->tail)
        return FSTORE_OK;
    fs_tailer *T = s->tail;
    if (T->started) {
        pthread_mutex_lock(&T->mu);
        __atomic_store_n(&T->stop, 1, __ATOMIC_RELEASE);
        pthread_cond_broadcast(&T->cond);
        pthread_mutex_unlock(&T->mu);
        pthread_join(T->thread, NULL);
        pthread_join(T->watcher, NULL);
        T->started = 0;
        /* Record the final figures for other processes. */
        pthread_mutex_lock(&T->mu);
        if (T->state != ST_FAILED)
            T->state = ST_STOPPED;
        pthread_cond_broadcast(&T->cond);
        pthread_mutex_unlock(&T->mu);
        char *txt = fs_stats_text(T);
        if (txt)
            fs_store_put_stats(s, txt);
        free(txt);
        if (T->dlq) {
            rd_kafka_flush(T->dlq, 5000);
            rd_kafka_destroy(T->dlq);
            T->dlq = NULL;
        }
        rd_kafka_queue_destroy(T->q);
        T->q = NULL;
        for (size_t i = 0; i < T->ntopics; i++)
            if (T->topics[i].rkt)
                rd_kafka_topic_destroy(T->topics[i].rkt), T->topics[i].rkt = NULL;
        /* No group membership to leave: close only stops the fetchers. */
        rd_kafka_consumer_close(T->rk);
        rd_kafka_destroy(T->rk);
        T->rk = NULL;
        T->assigned = 0;
    }
    return T->err;
}

void fs_tailer_free(fs_tailer *T)
{
    if (!T)
        return;
    fstore_tail_stop(T->store);
    for (size_t i = 0; i < T->ntopics; i++) {
        free(T->topics[i].topic);
        free(T->topics[i].only);
        free(T->topics[i].parts);
    }
    free(T->topics);
    free(T->staged);
    free(T->pend);
    free(T->dlq_topic);
    pthread_mutex_destroy(&T->mu);
    pthread_cond_destroy(&T->cond);
    free(T);
}

/* ---- statistics ---- */

static json_t *fs_hist_json(const fs_hist *h)
{
    return json_pack("{s:I, s:f, s:f, s:f, s:f, s:f}", "count", (json_int_t)h->count,
                     "p50", fs_hist_quantile(h, 0.50) / 1000.0, "p99",
                     fs_hist_quantile(h, 0.99) / 1000.0, "p999",
                     fs_hist_quantile(h, 0.999) / 1000.0, "max",
                     h->max / 1000.0, "mean",
                     h->count ? (double)h->sum / (double)h->count / 1000.0 : 0.0);
}

static json_t *fs_stats_build(fs_tailer *T)
{
    json_t *root = json_object(), *tables = json_object();
    fs_hist *all = calloc(1, sizeof *all);
    if (!root || !tables || !all) {
        json_decref(root);
        json_decref(tables);
        free(all);
        return NULL;
    }
    int64_t now = fs_wall_ms();
    pthread_mutex_lock(&T->mu);
    json_object_set_new(root, "recorded_at_ms", json_integer(now));
    json_object_set_new(root, "state", json_string(fs_state_names[T->state]));
    json_object_set_new(root, "ready", json_boolean(T->ready));
    json_object_set_new(root, "connected", json_boolean(T->connected));
    json_object_set_new(root, "started_at_ms", json_integer(T->started_ms));
    json_object_set_new(root, "bootstrap_ms",
                        T->ready ? json_integer(T->ready_ms - T->started_ms) : json_null());
    json_object_set_new(root, "last_commit_ms", json_integer(T->last_commit_ms));
    json_object_set_new(root, "last_current_ms", json_integer(T->last_current_ms));
    json_object_set_new(root, "last_error", json_string(T->last_error));
    json_object_set_new(root, "error", json_string(T->errmsg));
    for (size_t i = 0; i < T->ntopics; i++) {
        fs_ttopic *tt = &T->topics[i];
        json_t *t = json_object(), *parts = json_object(), *sk = json_object();
        for (int32_t p = 0; p < tt->nparts; p++) {
            fs_tpart *tp = &tt->parts[p];
            if (!tp->assigned)
                continue;
            char name[16];
            snprintf(name, sizeof name, "%d", p);
            int64_t lag = tp->end >= 0 && tp->position >= 0 ? tp->end - tp->position
                          : tp->end >= 0 && tp->start >= 0 ? tp->end - tp->start
                                                           : -1;
            json_object_set_new(
                parts, name,
                json_pack("{s:I, s:I, s:I, s:I, s:b}", "position",
                          (json_int_t)tp->position, "end_offset", (json_int_t)tp->end,
                          "lag", (json_int_t)(lag < 0 ? 0 : lag),
                          "last_record_timestamp_ms", (json_int_t)tp->last_ts,
                          "caught_up", tp->ready));
        }
        for (int k = 0; k < SK_N; k++)
            json_object_set_new(sk, fs_skip_names[k], json_integer((json_int_t)tt->c.skipped[k]));
        json_object_set_new(t, "topic", json_string(tt->topic));
        json_object_set_new(t, "partitions", parts);
        json_object_set_new(t, "counters",
                            json_pack("{s:I, s:I, s:I, s:o, s:I}", "applied",
                                      (json_int_t)tt->c.applied, "deleted",
                                      (json_int_t)tt->c.deleted, "bytes",
                                      (json_int_t)tt->c.bytes, "skipped", sk,
                                      "rebuilds", (json_int_t)tt->rebuilds));
        json_object_set_new(t, "freshness_ms", fs_hist_json(&tt->fresh));
        fs_hist_merge(all, &tt->fresh);
        json_object_set_new(tables, tt->table->name, t);
    }
    json_object_set_new(root, "apply_ms", fs_hist_json(&T->apply));
    pthread_mutex_unlock(&T->mu);
    json_object_set_new(root, "freshness_ms", fs_hist_json(all));
    json_object_set_new(root, "tables", tables);
    free(all);
    return root;
}

json_t *fs_tailer_stats(fs_tailer *T) { return T ? fs_stats_build(T) : NULL; }

int32_t fstore_partition_for_key(const void *key, size_t key_len,
                                 int32_t partition_count)
{
    if (partition_count < 1)
        return -1;
    return rd_kafka_msg_partitioner_murmur2(NULL, key, key_len, partition_count,
                                            NULL, NULL);
}

int fs_tailer_running(const fs_tailer *T) { return T && T->started; }
