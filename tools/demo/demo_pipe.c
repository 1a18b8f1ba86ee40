/* The five-step pipeline of `fstore demo`; see demo_pipe.h. */
#include "demo_pipe.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "common/common.h"
#include "common/status.h"
#include "demo_data.h"
#include "demo_kafka.h"
#include "demo_out.h"
#include "demo_report.h"
#include "pipe_files.h"
#include "pipe_model.h"
#include "support/avro_enc.h"
#include "support/fmt.h"
#include "support/hist.h"
#include "support/kafka_admin.h"
#include "tail/tail_progress.h"

#define CMD "demo"
#define EVENTS_ID 1       /* the events' writer schema id */
#define STALE_US 3000000  /* a request waits this long for fresh features */
#define DRAIN_MS 20000    /* most time to finish the last requests */
#define LATE_PCT 1.0      /* events older than every window: dropped as late */
#define SLOW_PCT 2.0      /* events minutes late: still in the windows */
#define WARM_US 30000000  /* at most this long until the pipeline flows */
#define ZIPF_S 0.8        /* user activity: a few busy users, many quiet ones */
#define STAR_RANK 99      /* the story's user: the 100th busiest */

static const char *const countries[] = {"DE", "FR", "NL", "ES", "IT", "PL", "SE", "US"};

/* A scoring request: user id, the event time the features must reflect,
 * and when its event was produced. */
typedef struct pipe_req {
    uint32_t user;
    int64_t ts_ms, t0_us;
} pipe_req;

typedef struct pipe_run {
    const pipe_args *a;
    char dir[PATH_MAX];
    int made_dir;
    char t_events[200], t_features[200], t_state[220], t_pred[200], group[200];
    demo_kafka k; /* the events' producer; owns the mock cluster */
    rd_kafka_t *pred; /* the predictions' producer */
    demo_zipf z;
    pipe_model model;
    fstore_aggregator_t *agg;
    pthread_t agg_th, watch_th, score_th;
    int agg_started, watch_started, score_started;
    fstore_err_t agg_err;
    char agg_msg[1024];
    fstore_store_t *store;
    const fstore_table_t *table;
    int as_of_col;
    atomic_int stop_watch, stop_score;
    /* The committed-feature probes: per user, the event time of one
     * on-time event not yet seen in a committed feature record (0: none)
     * and when it was produced. */
    _Atomic int64_t *probe_ts;
    int64_t *probe_t0;
    /* Requests from the producing thread to the scorer. */
    pthread_mutex_t mu;
    pipe_req *ring;
    size_t ring_cap, ring_head, ring_len;
    atomic_long requests, predicted, delivered, stale, failed_pred;
    /* Latencies (us), each written by one thread. */
    fs_hist h_kafka, h_commit, h_visible, h_pred, h_lookup, h_model, h_batch, h_ack;
    /* Per prediction in flight (by a slot number that wraps): its event's
     * production time and its own. */
    int64_t (*slots)[2];
    uint64_t next_slot;
    uint64_t produced, late, slow;
    uint64_t warm, warm_late, warm_slow; /* of those, produced while warming up */
    double run_s;
    _Atomic int64_t measure_from_us; /* events produced before are not timed */
    atomic_int primed; /* a prediction was delivered: the pipeline flows */
    /* One active user's story. */
    uint32_t star, star_rank;
    uint64_t star_events;
    struct {
        int64_t ts;
        double amount;
        const char *country;
    } star_last[3];
    double star_score;
    int64_t star_as_of;
} pipe_run;

static int pipe_interrupted(const pipe_run *r)
{
    return r->a->interrupted && *r->a->interrupted;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static size_t user_key(uint32_t id, char *buf)
{
    return (size_t)snprintf(buf, 16, "u%06u", id);
}

/* ---- files and topics -------------------------------------------------- */

static int write_file(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    int bad = !f || fputs(text, f) < 0;
    if (f && fclose(f))
        bad = 1;
    if (bad)
        tool_msg(CMD, "cannot write %s: %s", path, strerror(errno));
    return bad ? TOOL_FAIL : TOOL_OK;
}

static char *read_text(const char *path)
{
    size_t len;
    return tool_read_file(path, &len);
}

/* The work directory: schemas (the events' under id 1, the features' as
 * the aggregator writes it), the aggregator's state, the store. */
static int pipe_dir(pipe_run *r)
{
    if (r->a->dir) {
        snprintf(r->dir, sizeof r->dir, "%s", r->a->dir);
        if (mkdir(r->dir, 0700) && errno != EEXIST) {
            tool_msg(CMD, "cannot create %s: %s", r->dir, strerror(errno));
            return TOOL_FAIL;
        }
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(r->dir, sizeof r->dir, "%s/fstore-demo-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(r->dir)) {
            tool_msg(CMD, "cannot create a temporary directory: %s", strerror(errno));
            return TOOL_FAIL;
        }
        r->made_dir = 1;
    }
    char sub[PATH_MAX + 16];
    snprintf(sub, sizeof sub, "%s/schemas", r->dir);
    if (mkdir(sub, 0700) && errno != EEXIST) {
        tool_msg(CMD, "cannot create %s: %s", sub, strerror(errno));
        return TOOL_FAIL;
    }
    int rc = write_file(r->dir, "events.avsc", pipe_events_avsc);
    if (rc == TOOL_OK)
        rc = write_file(sub, "1.avsc", pipe_events_avsc);
    return rc;
}

static void pipe_dir_remove(pipe_run *r)
{
    if (!r->made_dir || r->a->keep)
        return;
    char cmd[PATH_MAX + 32];
    /* Only a directory this run made from a mkdtemp template. */
    snprintf(cmd, sizeof cmd, "rm -rf -- '%s'", r->dir);
    if (strchr(r->dir, '\'') == NULL && system(cmd) != 0)
        tool_msg(CMD, "could not remove %s", r->dir);
}

/* The events topic (through demo_kafka, which also starts the mock
 * cluster), then the feature, state and prediction topics on the mock
 * cluster (on a real one the aggregator creates the first two). */
static int pipe_topics(pipe_run *r)
{
    const char *pre = "";
    char prefix[96] = "";
    if (r->a->brokers) {
        snprintf(prefix, sizeof prefix, "fstore-demo-%ld-%ld-", (long)getpid(),
                 (long)time(NULL));
        pre = prefix;
    }
    snprintf(r->t_events, sizeof r->t_events, "%spayments", pre);
    snprintf(r->t_features, sizeof r->t_features, "%suser-features", pre);
    snprintf(r->t_state, sizeof r->t_state, "%s-state", r->t_features);
    snprintf(r->t_pred, sizeof r->t_pred, "%spredictions", pre);
    snprintf(r->group, sizeof r->group, "%sfstore-demo-aggregate", pre);
    char err[1024];
    if (demo_kafka_open(&r->k, r->a->brokers, r->t_events, r->a->partitions, 0,
                        demo_log_kafka, err, sizeof err)) {
        tool_msg(CMD, "%s%s", err, r->a->brokers ? "; check --brokers" : "");
        return TOOL_FAIL;
    }
    if (r->k.mock) {
        rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(r->k.rk);
        const char *names[] = {r->t_features, r->t_state, r->t_pred};
        for (int i = 0; i < 3; i++) {
            rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, names[i], r->k.partitions, 1);
            if (e) {
                tool_msg(CMD, "cannot create mock topic %s: %s", names[i], rd_kafka_err2str(e));
                return TOOL_FAIL;
            }
        }
        return TOOL_OK;
    }
    sup_topic t = {r->t_pred, r->k.partitions, -1, NULL};
    if (sup_create_topics(r->k.rk, &t, 1, 1, 15000, err, sizeof err) < 0) {
        tool_msg(CMD, "cannot create topic %s: %s", r->t_pred, err);
        return TOOL_FAIL;
    }
    return TOOL_OK;
}

static void pipe_topics_delete(pipe_run *r)
{
    if (!r->k.rk || r->k.mock || r->a->keep)
        return;
    const char *names[] = {r->t_features, r->t_state, r->t_pred};
    char why[512];
    sup_delete_topics(r->k.rk, names, 3, 15000, why, sizeof why);
}

/* ---- configuration ----------------------------------------------------- */

static fstore_conf_t *pipe_conf(pipe_run *r, const char *const (*defaults)[2], size_t n)
{
    char err[512], schemas[PATH_MAX + 16];
    snprintf(schemas, sizeof schemas, "%s/schemas", r->dir);
    fstore_conf_t *c = fstore_conf_new();
    if (!c) {
        tool_msg(CMD, "out of memory");
        return NULL;
    }
    fstore_conf_set_log_cb(c, demo_log_fstore, NULL);
    fstore_err_t e = FSTORE_OK;
    for (size_t i = 0; i < n && !e; i++)
        e = fstore_conf_set(c, defaults[i][0], defaults[i][1], err, sizeof err);
    if (!e)
        e = fstore_conf_set(c, "kafka.bootstrap.servers", r->k.bootstraps, err, sizeof err);
    if (!e)
        e = fstore_conf_set(c, "schemas.dir", schemas, err, sizeof err);
    for (int i = 0; i < r->a->nprops && !e; i++) {
        char *eq = strchr(r->a->props[i], '=');
        *eq = '\0';
        e = fstore_conf_set(c, r->a->props[i], eq + 1, err, sizeof err);
        *eq = '=';
    }
    if (e) {
        tool_msg(CMD, "configuration: %s", err);
        fstore_conf_destroy(c);
        return NULL;
    }
    return c;
}

/* ---- the aggregator ----------------------------------------------------- */

static void *agg_thread(void *arg)
{
    pipe_run *r = arg;
    r->agg_err = fstore_aggregator_run(r->agg, 0, -1, r->agg_msg, sizeof r->agg_msg);
    return NULL;
}

/* The shipped spec with this run's topic names. */
static char *pipe_spec(pipe_run *r)
{
    json_error_t jerr;
    json_t *s = json_loads(pipe_spec_json, 0, &jerr);
    if (!s)
        return NULL;
    json_object_set_new(json_object_get(s, "input"), "topic", json_string(r->t_events));
    json_object_set_new(json_object_get(s, "output"), "topic", json_string(r->t_features));
    json_object_set_new(s, "changelog", json_string(r->t_state));
    char *txt = json_dumps(s, JSON_COMPACT);
    json_decref(s);
    return txt;
}

static int pipe_aggregator(pipe_run *r)
{
    char commit[32], state[PATH_MAX + 16], err[1024] = "";
    snprintf(commit, sizeof commit, "%d", r->a->commit_ms);
    const char *const defaults[][2] = {
        {"aggregate.commit_ms", commit},
        {"aggregate.group", r->group},
        {"aggregate.instance", "demo"},
    };
    fstore_conf_t *c = pipe_conf(r, defaults, sizeof defaults / sizeof *defaults);
    if (!c)
        return TOOL_FAIL;
    snprintf(state, sizeof state, "%s/state", r->dir);
    char *spec = pipe_spec(r);
    fstore_err_t e = spec ? fstore_aggregator_new(spec, r->dir, state, c, &r->agg, err,
                                                  sizeof err)
                          : FSTORE_ERR_NO_MEMORY;
    free(spec);
    fstore_conf_destroy(c);
    if (e)
        return tool_fail(CMD, e, err, "cannot start the aggregator");
    if (pthread_create(&r->agg_th, NULL, agg_thread, r)) {
        tool_msg(CMD, "cannot start the aggregator's thread");
        return TOOL_FAIL;
    }
    r->agg_started = 1;
    return TOOL_OK;
}

/* ---- the store ---------------------------------------------------------- */

static int pipe_store(pipe_run *r)
{
    static const char *const defaults[][2] = {
        {"tail.batch.max_ms", "1"},
        {"kafka.fetch.wait.max.ms", "1"},
    };
    fstore_conf_t *c = pipe_conf(r, defaults, sizeof defaults / sizeof *defaults);
    if (!c)
        return TOOL_FAIL;
    char path[PATH_MAX + 32], err[1024] = "";
    snprintf(path, sizeof path, "%s/store", r->dir);
    fstore_err_t e = fstore_store_open(path, c, &r->store, err, sizeof err);
    fstore_conf_destroy(c);
    if (e)
        return tool_fail(CMD, e, err, "cannot open the store in %s", path);
    /* The serving schema: the aggregator's output schema, written under
     * its id when the aggregator started. */
    json_t *spec = json_loads(pipe_spec_json, 0, NULL);
    int id = (int)json_integer_value(json_object_get(json_object_get(spec, "output"), "schema_id"));
    json_decref(spec);
    snprintf(path, sizeof path, "%s/schemas/%d.avsc", r->dir, id);
    char *schema = read_text(path);
    if (!schema) {
        tool_msg(CMD, "cannot read the feature schema %s: %s", path, strerror(errno));
        return TOOL_FAIL;
    }
    e = fstore_table_create(r->store, "features", schema, FSTORE_FORMAT_CONFLUENT, -1,
                            &r->table, err, sizeof err);
    free(schema);
    if (!e)
        e = fstore_tail_add(r->store, r->table, r->t_features, NULL, err, sizeof err);
    if (!e)
        e = fstore_tail_start(r->store, err, sizeof err);
    if (e)
        return tool_fail(CMD, e, err, "cannot tail %s", r->t_features);
    r->as_of_col = fstore_table_column_index(r->table, "as_of");
    if (pipe_model_bind(&r->model, r->table, err, sizeof err) || r->as_of_col < 0) {
        tool_msg(CMD, "%s", r->as_of_col < 0 ? "the feature table has no as_of" : err);
        return TOOL_FAIL;
    }
    return TOOL_OK;
}

/* ---- the watcher: Kafka's own latency and committed feature records ---- */

static void *watch_thread(void *arg)
{
    pipe_run *r = arg;
    char err[512];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    char group[260];
    snprintf(group, sizeof group, "%s-watch", r->group);
    const char *const props[][2] = {
        {"bootstrap.servers", r->k.bootstraps},
        {"group.id", group},
        {"enable.auto.commit", "false"},
        {"isolation.level", "read_committed"},
        {"fetch.wait.max.ms", "1"},
        {"socket.nagle.disable", "true"},
    };
    for (size_t i = 0; i < sizeof props / sizeof *props; i++)
        rd_kafka_conf_set(c, props[i][0], props[i][1], err, sizeof err);
    rd_kafka_conf_set_log_cb(c, demo_log_kafka);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof err);
    if (!rk) {
        rd_kafka_conf_destroy(c);
        tool_status_line(CMD, 0, "cannot start the watching consumer: %s", err);
        return NULL;
    }
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(2 * r->k.partitions);
    for (int p = 0; p < r->k.partitions; p++) {
        rd_kafka_topic_partition_list_add(l, r->t_events, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_topic_partition_list_add(l, r->t_features, p)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    while (!atomic_load(&r->stop_watch)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 20);
        if (!m)
            continue;
        int64_t now = now_us();
        if (!m->err && !strcmp(rd_kafka_topic_name(m->rkt), r->t_events)) {
            rd_kafka_headers_t *h = NULL;
            const void *v;
            size_t n;
            if (!rd_kafka_message_headers(m, &h) &&
                !rd_kafka_header_get_last(h, "t", &v, &n) && n == 8) {
                int64_t t0;
                memcpy(&t0, v, 8);
                if (t0 >= r->measure_from_us)
                    fs_hist_add(&r->h_kafka, (uint64_t)(now > t0 ? now - t0 : 0));
            }
        } else if (!m->err && m->key_len > 1 && ((const char *)m->key)[0] == 'u') {
            /* A feature record reflects the probe once its as_of (the
             * record's timestamp: the partition's stream time) reached
             * the probe's event time. */
            char kb[16];
            size_t kl = m->key_len < sizeof kb - 1 ? m->key_len : sizeof kb - 1;
            memcpy(kb, m->key, kl);
            kb[kl] = '\0';
            unsigned long id = strtoul(kb + 1, NULL, 10);
            int64_t as_of = rd_kafka_message_timestamp(m, NULL);
            if (id < r->a->users) {
                int64_t ts = atomic_load_explicit(&r->probe_ts[id], memory_order_acquire);
                if (ts && as_of >= ts) {
                    int64_t t0 = r->probe_t0[id];
                    if (atomic_compare_exchange_strong(&r->probe_ts[id], &ts, 0))
                        fs_hist_add(&r->h_commit, (uint64_t)(now > t0 ? now - t0 : 0));
                }
            }
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return NULL;
}

/* ---- the scorer --------------------------------------------------------- */

static void pred_delivered(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    pipe_run *r = opaque;
    if (m->err) {
        atomic_fetch_add(&r->failed_pred, 1);
        return;
    }
    /* A prediction delivered: the pipeline flows end to end. */
    atomic_store(&r->primed, 1);
    const int64_t *slot = r->slots[(uintptr_t)m->_private % r->ring_cap];
    int64_t t0 = slot[0], now = now_us();
    if (t0 >= r->measure_from_us) {
        fs_hist_add(&r->h_pred, (uint64_t)(now > t0 ? now - t0 : 0));
        fs_hist_add(&r->h_ack, (uint64_t)(now > slot[1] ? now - slot[1] : 0));
    }
    atomic_fetch_add(&r->delivered, 1);
}

static int pipe_pred_producer(pipe_run *r)
{
    char err[512];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", r->k.bootstraps, err, sizeof err);
    rd_kafka_conf_set(c, "linger.ms", "1", err, sizeof err);
    rd_kafka_conf_set(c, "socket.nagle.disable", "true", err, sizeof err);
    rd_kafka_conf_set_opaque(c, r);
    rd_kafka_conf_set_dr_msg_cb(c, pred_delivered);
    rd_kafka_conf_set_log_cb(c, demo_log_kafka);
    r->pred = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
    if (!r->pred) {
        rd_kafka_conf_destroy(c);
        tool_msg(CMD, "cannot start the predictions' producer: %s", err);
        return TOOL_FAIL;
    }
    return TOOL_OK;
}

/* Takes every queued request into pend (growing it). */
static size_t take_requests(pipe_run *r, pipe_req **pend, size_t n, size_t *cap)
{
    pthread_mutex_lock(&r->mu);
    if (n + r->ring_len > *cap) {
        size_t nc = (n + r->ring_len) * 2 + 1024;
        pipe_req *np = realloc(*pend, nc * sizeof *np);
        if (np) {
            *pend = np;
            *cap = nc;
        }
    }
    while (r->ring_len && n < *cap) {
        (*pend)[n++] = r->ring[r->ring_head];
        r->ring_head = (r->ring_head + 1) % r->ring_cap;
        r->ring_len--;
    }
    pthread_mutex_unlock(&r->mu);
    return n;
}

/* Scores one micro-batch of requests; keeps in place (compacted to the
 * front, count returned) those whose features are not fresh yet. */
static size_t score_batch(pipe_run *r, fstore_reader_t *rd, pipe_req *b, size_t n)
{
    enum { MAXB = 1024 };
    char keys[MAXB][16];
    const void *kp[MAXB];
    size_t kl[MAXB];
    static float x[MAXB * PIPE_MODEL_MAX];
    int64_t t_start = now_us();
    for (size_t i = 0; i < n; i++) {
        kl[i] = user_key(b[i].user, keys[i]);
        kp[i] = keys[i];
    }
    fstore_err_t e = fstore_get_batch(rd, r->table, n, kp, kl, r->model.cols,
                                      (size_t)r->model.n, x, (size_t)r->model.n, NULL);
    int64_t as_of[MAXB];
    for (size_t i = 0; i < n; i++) {
        const fstore_row_t *row;
        as_of[i] = -1;
        if (!e && fstore_get(rd, r->table, keys[i], kl[i], &row) == FSTORE_OK)
            fstore_row_long(r->table, row, r->as_of_col, &as_of[i]);
    }
    int64_t t_looked = now_us();
    fs_hist_add(&r->h_lookup, (uint64_t)(t_looked - t_start));
    size_t kept = 0, scored = 0;
    for (size_t i = 0; i < n; i++) {
        int fresh = as_of[i] >= b[i].ts_ms;
        if (!fresh && t_looked - b[i].t0_us < STALE_US) {
            b[kept++] = b[i];
            continue;
        }
        if (!fresh)
            atomic_fetch_add(&r->stale, 1);
        else if (b[i].t0_us >= r->measure_from_us)
            fs_hist_add(&r->h_visible, (uint64_t)(t_looked - b[i].t0_us));
        double score = pipe_model_score(&r->model, x + i * (size_t)r->model.n);
        if (b[i].user == r->star) {
            r->star_score = score;
            r->star_as_of = as_of[i];
        }
        char val[200];
        int vl = snprintf(val, sizeof val,
                          "{\"user\":\"%s\",\"score\":%.6f,\"features_as_of\":%" PRId64
                          ",\"request_ms\":%" PRId64 "}",
                          keys[i], score, as_of[i], b[i].t0_us / 1000);
        uint64_t slot = r->next_slot++ % r->ring_cap;
        r->slots[slot][0] = b[i].t0_us;
        r->slots[slot][1] = now_us();
        rd_kafka_resp_err_t pe;
        while ((pe = rd_kafka_producev(
                    r->pred, RD_KAFKA_V_TOPIC(r->t_pred), RD_KAFKA_V_KEY(keys[i], kl[i]),
                    RD_KAFKA_V_VALUE(val, (size_t)vl), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                    RD_KAFKA_V_OPAQUE((void *)(uintptr_t)slot), RD_KAFKA_V_END)) ==
               RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(r->pred, 5);
        if (pe)
            atomic_fetch_add(&r->failed_pred, 1);
        scored++;
    }
    if (scored) {
        fs_hist_add(&r->h_model, (uint64_t)(now_us() - t_looked));
        fs_hist_add(&r->h_batch, scored);
        atomic_fetch_add(&r->predicted, (long)scored);
    }
    return kept;
}

static void *score_thread(void *arg)
{
    pipe_run *r = arg;
    fstore_reader_t *rd = NULL;
    if (fstore_reader_new(r->store, &rd)) {
        tool_status_line(CMD, 0, "cannot create a reader");
        return NULL;
    }
    pipe_req *pend = NULL;
    size_t n = 0, cap = 0;
    size_t bmax = (size_t)r->a->batch;
    while (!atomic_load(&r->stop_score)) {
        n = take_requests(r, &pend, n, &cap);
        if (!n) {
            struct timespec ts = {0, 500000};
            nanosleep(&ts, NULL);
            rd_kafka_poll(r->pred, 0);
            continue;
        }
        fstore_reader_refresh(rd);
        size_t kept = 0;
        for (size_t i = 0; i < n; i += bmax) {
            size_t m = n - i < bmax ? n - i : bmax;
            size_t k = score_batch(r, rd, pend + i, m);
            memmove(pend + kept, pend + i, k * sizeof *pend);
            kept += k;
        }
        n = kept;
        rd_kafka_poll(r->pred, 0);
        if (n) {
            /* Waiting for fresher features: look again in a moment. */
            struct timespec ts = {0, 500000};
            nanosleep(&ts, NULL);
        }
    }
    free(pend);
    fstore_reader_destroy(rd);
    return NULL;
}

/* Waits until the aggregator owns every partition of the events. */
static int pipe_wait_assigned(pipe_run *r)
{
    for (int i = 0; i < 600 && !pipe_interrupted(r); i++) {
        char *txt = NULL;
        if (fstore_aggregator_stats_json(r->agg, &txt) == FSTORE_OK) {
            json_t *j = json_loads(txt, 0, NULL);
            fstore_free(txt);
            size_t n = json_object_size(json_object_get(j, "partitions"));
            json_decref(j);
            if (n >= (size_t)r->k.partitions)
                return TOOL_OK;
        }
        if (r->agg_err)
            return tool_fail(CMD, r->agg_err, r->agg_msg, "the aggregator stopped");
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
    }
    tool_msg(CMD, "the aggregator was not given the partitions of %s within 30 s",
             r->t_events);
    return TOOL_FAIL;
}

/* ---- the events --------------------------------------------------------- */

static size_t encode_event(uint8_t *buf, int64_t ts, double amount, const char *country)
{
    size_t n = 0;
    buf[n++] = 0;
    buf[n++] = 0;
    buf[n++] = 0;
    buf[n++] = 0;
    buf[n++] = EVENTS_ID;
    n += sup_put_long(buf + n, ts);
    n += sup_put_double(buf + n, amount);
    n += sup_put_bytes(buf + n, country, strlen(country));
    return n;
}

static int queue_request(pipe_run *r, uint32_t user, int64_t ts, int64_t t0)
{
    pthread_mutex_lock(&r->mu);
    int full = r->ring_len == r->ring_cap;
    if (!full) {
        r->ring[(r->ring_head + r->ring_len) % r->ring_cap] = (pipe_req){user, ts, t0};
        r->ring_len++;
    }
    pthread_mutex_unlock(&r->mu);
    if (!full)
        atomic_fetch_add(&r->requests, 1);
    return full ? -1 : 0;
}

/* One payment of user id: mostly now; some minutes late; a few older than
 * every window. */
static int produce_event(pipe_run *r, demo_rng *rng, uint32_t rank)
{
    uint32_t id = demo_zipf_entity(&r->z, rank);
    int64_t t0 = now_us(), ts = t0 / 1000;
    double u = demo_rng_unit(rng) * 100;
    int late = u < LATE_PCT, slow = !late && u < LATE_PCT + SLOW_PCT;
    if (late)
        ts -= 26 * 3600 * 1000; /* past the day's window and its hop */
    else if (slow)
        ts -= 60000 + (int64_t)(demo_rng_unit(rng) * 40 * 60000);
    /* Amounts: a per-user level, with noise. */
    double amount = 5 + (double)(id % 97) + demo_rng_unit(rng) * 30;
    const char *country = countries[(id + (demo_rng_unit(rng) < 0.1)) % 8];
    uint8_t val[64];
    size_t vl = encode_event(val, ts, amount, country);
    char key[16];
    size_t kl = user_key(id, key);
    rd_kafka_headers_t *h = rd_kafka_headers_new(1);
    rd_kafka_header_add(h, "t", 1, &t0, 8);
    rd_kafka_resp_err_t e;
    while ((e = rd_kafka_producev(r->k.rk, RD_KAFKA_V_TOPIC(r->t_events),
                                  RD_KAFKA_V_KEY(key, kl), RD_KAFKA_V_VALUE(val, vl),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_HEADERS(h),
                                  RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(r->k.rk, 5);
    if (e) {
        rd_kafka_headers_destroy(h);
        tool_status_line(CMD, 0, "cannot produce to %s: %s", r->t_events, rd_kafka_err2str(e));
        return -1;
    }
    r->produced++;
    r->late += late;
    r->slow += slow;
    if (id == r->star) {
        r->star_events++;
        memmove(&r->star_last[1], &r->star_last[0], 2 * sizeof r->star_last[0]);
        r->star_last[0].ts = ts;
        r->star_last[0].amount = amount;
        r->star_last[0].country = country;
    }
    if (late || slow)
        return 0;
    /* An on-time payment: the user's score is asked for at once, and it
     * may become the user's probe of committed features. */
    int64_t zero = 0;
    if (t0 >= r->measure_from_us &&
        atomic_load_explicit(&r->probe_ts[id], memory_order_acquire) == 0) {
        r->probe_t0[id] = t0;
        atomic_compare_exchange_strong(&r->probe_ts[id], &zero, ts);
    }
    return queue_request(r, id, ts, t0);
}

/* Produces paced events: first until the pipeline flows end to end (a
 * prediction was delivered; those events are not timed),
 * then for the run's length. */
static int pipe_produce(pipe_run *r)
{
    demo_rng rng = {0x5eed5eedULL};
    int64_t start = now_us(), end = INT64_MAX, last_draw = 0;
    double per_us = r->a->rate / 1e6;
    uint64_t due = 0;
    for (int64_t now = start; now < end; now = now_us()) {
        if (pipe_interrupted(r))
            return TOOL_FAIL;
        if (end == INT64_MAX && atomic_load(&r->primed)) {
            atomic_store(&r->measure_from_us, now);
            r->warm = r->produced;
            r->warm_late = r->late;
            r->warm_slow = r->slow;
            end = now + (int64_t)r->a->run_ms * 1000;
        } else if (end == INT64_MAX && now - start > WARM_US) {
            demo_status_clear();
            tool_msg(CMD, "no prediction was delivered within %d s",
                     WARM_US / 1000000);
            return TOOL_FAIL;
        }
        /* Paced: the events due by now, then a short sleep. */
        uint64_t want = (uint64_t)((double)(now - start) * per_us);
        for (; due < want; due++)
            if (produce_event(r, &rng, demo_zipf_rank(&r->z, &rng)))
                return TOOL_FAIL;
        rd_kafka_poll(r->k.rk, 0);
        if (now - last_draw > 250000) {
            last_draw = now;
            char a[32], b[32], c[32];
            if (end == INT64_MAX)
                demo_status("warming up: %s events", sup_grouped((int64_t)r->produced, a, sizeof a));
            else
                demo_status("pipeline %.0f / %.0f s: %s events, %s predictions, %s stale",
                            (double)(now - atomic_load(&r->measure_from_us)) / 1e6,
                            (double)r->a->run_ms / 1e3,
                            sup_grouped((int64_t)(r->produced - r->warm), a, sizeof a),
                            sup_grouped(atomic_load(&r->delivered), b, sizeof b),
                            sup_grouped(atomic_load(&r->stale), c, sizeof c));
        }
        if (r->agg_started && r->agg_err) {
            demo_status_clear();
            return tool_fail(CMD, r->agg_err, r->agg_msg, "the aggregator stopped");
        }
        struct timespec ts = {0, 500000};
        nanosleep(&ts, NULL);
    }
    r->run_s = (double)(now_us() - atomic_load(&r->measure_from_us)) / 1e6;
    return TOOL_OK;
}

/* Waits until every request is answered and every prediction delivered. */
static int pipe_drain(pipe_run *r)
{
    char err[512];
    if (demo_kafka_flush(&r->k, 30000, err, sizeof err)) {
        tool_msg(CMD, "%s", err);
        return TOOL_FAIL;
    }
    int64_t until = now_us() + (int64_t)DRAIN_MS * 1000;
    while (now_us() < until && !pipe_interrupted(r)) {
        long done = atomic_load(&r->delivered) + atomic_load(&r->failed_pred);
        if (done >= atomic_load(&r->requests))
            return TOOL_OK;
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
    demo_status_clear();
    tool_msg(CMD, "%ld of %ld requests were not answered within %d s",
             atomic_load(&r->requests) - atomic_load(&r->delivered), atomic_load(&r->requests),
             DRAIN_MS / 1000);
    return TOOL_FAIL;
}

/* ---- the report --------------------------------------------------------- */

static void row_ms(FILE *out, const char *what, const fs_hist *h)
{
    char n[32];
    if (!h->count) {
        fprintf(out, "  %-44s %9s\n", what, "no samples");
        return;
    }
    fprintf(out, "  %-44s %9.2f %9.2f %9.2f %10s\n", what,
            (double)fs_hist_quantile(h, 0.5) / 1e3, (double)fs_hist_quantile(h, 0.99) / 1e3,
            (double)h->max / 1e3, sup_grouped((int64_t)h->count, n, sizeof n));
}

static json_t *stats_of(fstore_err_t (*get)(void *, char **), void *obj)
{
    char *txt = NULL;
    if (get(obj, &txt))
        return NULL;
    json_t *j = json_loads(txt, 0, NULL);
    fstore_free(txt);
    return j;
}

static fstore_err_t agg_stats(void *a, char **t) { return fstore_aggregator_stats_json(a, t); }
static fstore_err_t store_stats(void *s, char **t) { return fstore_stats_json(s, t); }

static double jnum(json_t *o, const char *a, const char *b)
{
    json_t *v = json_object_get(o, a);
    if (b)
        v = json_object_get(v, b);
    return json_is_number(v) ? json_number_value(v) : -1;
}

static void pipe_report(pipe_run *r)
{
    FILE *out = stdout;
    char a[32], b[32], c[32], d[32], e[32];
    fprintf(out, "\nfstore demo: the pipeline on %s: %.0f s of payments at %s/s over %s "
                 "users, aggregate.commit_ms %d\n",
            r->k.mock ? "librdkafka's in-process mock cluster" : r->a->brokers, r->run_s,
            sup_grouped((int64_t)r->a->rate, a, sizeof a),
            sup_grouped(r->a->users, b, sizeof b), r->a->commit_ms);
    fprintf(out, "\nlatency after a payment event is produced (ms)      p50       p99       "
                 "max    samples\n");
    row_ms(out, "Kafka's own produce -> consume (same events)", &r->h_kafka);
    row_ms(out, "-> its feature record committed", &r->h_commit);
    row_ms(out, "-> visible in the store (seen by the scorer)", &r->h_visible);
    row_ms(out, "-> its prediction produced", &r->h_pred);
    row_ms(out, "   of which produce -> acknowledged", &r->h_ack);

    json_t *as = stats_of(agg_stats, r->agg);
    json_t *ss = stats_of(store_stats, r->store);
    tail_figures tf;
    int have_tail = tail_figures_read(r->store, &tf) == 0;
    fprintf(out, "\nper stage\n");
    fprintf(out, "  %-20s %s events (%s/s) after %s to warm up; %s minutes late, %s older "
                 "than every window\n",
            "events", sup_grouped((int64_t)(r->produced - r->warm), a, sizeof a),
            sup_grouped((int64_t)((double)(r->produced - r->warm) / r->run_s), b, sizeof b),
            sup_grouped((int64_t)r->warm, e, sizeof e),
            sup_grouped((int64_t)(r->slow - r->warm_slow), c, sizeof c),
            sup_grouped((int64_t)(r->late - r->warm_late), d, sizeof d));
    if (as)
        fprintf(out, "  %-20s %s events in %s transactions (commit p50 %.1f ms, p99 %.1f ms), "
                     "%s late dropped, %s users\n",
                "aggregate", sup_grouped((int64_t)jnum(as, "events", NULL), a, sizeof a),
                sup_grouped((int64_t)jnum(as, "commits", NULL), b, sizeof b),
                jnum(as, "commit_ms", "p50"), jnum(as, "commit_ms", "p99"),
                sup_grouped((int64_t)jnum(as, "late_dropped", NULL), c, sizeof c),
                sup_grouped((int64_t)jnum(as, "entities", NULL), d, sizeof d));
    if (have_tail)
        fprintf(out, "  %-20s %s feature records applied; the tailer's own part "
                     "(apply) p99 %.2f ms\n",
                "store", sup_grouped(tf.records, a, sizeof a), jnum(ss, "apply_ms", "p99"));
    fprintf(out, "  %-20s %s requests in %s micro-batches (mean %.1f); lookup p50 %.0f us, "
                 "p99 %.0f us; model p50 %.0f us\n",
            "scoring", sup_grouped(atomic_load(&r->predicted), a, sizeof a),
            sup_grouped((int64_t)r->h_batch.count, b, sizeof b), fs_hist_mean(&r->h_batch),
            (double)fs_hist_quantile(&r->h_lookup, 0.5),
            (double)fs_hist_quantile(&r->h_lookup, 0.99),
            (double)fs_hist_quantile(&r->h_model, 0.5));
    fprintf(out, "  %-20s %s delivered to %s, %s scored on features older than the event "
                 "(waited %d s)\n",
            "predictions", sup_grouped(atomic_load(&r->delivered), a, sizeof a), r->t_pred,
            sup_grouped(atomic_load(&r->stale), b, sizeof b), STALE_US / 1000000);
    json_decref(as);
    json_decref(ss);

    /* One user's story. */
    char key[16];
    user_key(r->star, key);
    fprintf(out, "\none user's story: %s, number %s of %s by activity\n", key,
            sup_grouped(r->star_rank + 1, a, sizeof a), sup_grouped(r->a->users, b, sizeof b));
    fprintf(out, "  %s payments in the run; the last ones:\n",
            sup_grouped((int64_t)r->star_events, a, sizeof a));
    for (int i = 0; i < 3 && r->star_last[i].country; i++) {
        time_t s = (time_t)(r->star_last[i].ts / 1000);
        struct tm tm;
        gmtime_r(&s, &tm);
        fprintf(out, "    %02d:%02d:%02d.%03d UTC  %8.2f EUR  %s\n", tm.tm_hour, tm.tm_min,
                tm.tm_sec, (int)(r->star_last[i].ts % 1000), r->star_last[i].amount,
                r->star_last[i].country);
    }
    demo_report_sample(out, r->store, r->table, &r->z, r->star_rank, user_key);
    fprintf(out, "  its last score: %.4f, from features as of %" PRId64 " (ms)\n",
            r->star_score, r->star_as_of);
}

static json_t *hist_json(const fs_hist *h, double div)
{
    return json_pack("{s:f, s:f, s:f, s:I}", "p50", (double)fs_hist_quantile(h, 0.5) / div,
                     "p99", (double)fs_hist_quantile(h, 0.99) / div, "max",
                     (double)h->max / div, "count", (json_int_t)h->count);
}

/* Every figure of the run as JSON into a->json (for the benchmarks). */
static int pipe_json(pipe_run *r)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    json_t *as = stats_of(agg_stats, r->agg);
    json_t *ss = stats_of(store_stats, r->store);
    tail_figures tf;
    if (tail_figures_read(r->store, &tf))
        tf.records = -1;
    uint64_t timed = r->produced - r->warm;
    json_t *root = json_pack(
        "{s:s, s:s, s:f, s:f, s:f, s:I, s:i, s:i, s:i,"
        " s:{s:o, s:o, s:o, s:o, s:o},"
        " s:{s:I, s:I, s:I, s:I, s:I},"
        " s:o, s:{s:I, s:f},"
        " s:{s:I, s:I, s:f, s:o, s:o},"
        " s:{s:I, s:I, s:I}, s:f}",
        "mode", "pipeline", "cluster", r->k.mock ? "mock" : "brokers", "rate", r->a->rate,
        "achieved_rate", (double)timed / r->run_s, "seconds", r->run_s, "users",
        (json_int_t)r->a->users, "commit_ms", r->a->commit_ms, "batch", r->a->batch,
        "partitions", r->k.partitions, "latency_ms", "kafka", hist_json(&r->h_kafka, 1e3),
        "committed", hist_json(&r->h_commit, 1e3), "visible", hist_json(&r->h_visible, 1e3),
        "prediction", hist_json(&r->h_pred, 1e3), "produce_ack", hist_json(&r->h_ack, 1e3),
        "events", "produced", (json_int_t)timed, "warmup", (json_int_t)r->warm, "late",
        (json_int_t)(r->late - r->warm_late), "warmup_late", (json_int_t)r->warm_late,
        "minutes_late", (json_int_t)(r->slow - r->warm_slow), "aggregate",
        as ? as : json_null(), "store", "applied", (json_int_t)tf.records, "apply_p99_ms",
        jnum(ss, "apply_ms", "p99"), "scoring", "requests",
        (json_int_t)atomic_load(&r->predicted), "batches", (json_int_t)r->h_batch.count,
        "batch_mean", fs_hist_mean(&r->h_batch), "lookup_us", hist_json(&r->h_lookup, 1),
        "model_us", hist_json(&r->h_model, 1), "predictions", "delivered",
        (json_int_t)atomic_load(&r->delivered), "stale", (json_int_t)atomic_load(&r->stale),
        "failed", (json_int_t)atomic_load(&r->failed_pred), "process_cpu_s", cpu);
    json_decref(ss);
    json_object_set_new(root, "topics",
                        json_pack("{s:s, s:s, s:s, s:s}", "events", r->t_events, "features",
                                  r->t_features, "changelog", r->t_state, "predictions",
                                  r->t_pred));
    json_object_set_new(root, "dir", json_string(r->dir));
    if (!root || json_dump_file(root, r->a->json, JSON_INDENT(1))) {
        json_decref(root);
        tool_msg(CMD, "cannot write --json %s: %s", r->a->json, strerror(errno));
        return TOOL_FAIL;
    }
    json_decref(root);
    return TOOL_OK;
}

/* ---- the run ------------------------------------------------------------ */

static void pipe_stop_threads(pipe_run *r)
{
    atomic_store(&r->stop_score, 1);
    if (r->score_started)
        pthread_join(r->score_th, NULL);
    r->score_started = 0;
    if (r->agg_started) {
        fstore_aggregator_stop(r->agg);
        pthread_join(r->agg_th, NULL);
        r->agg_started = 0;
    }
    atomic_store(&r->stop_watch, 1);
    if (r->watch_started)
        pthread_join(r->watch_th, NULL);
    r->watch_started = 0;
}

static int pipe_end(pipe_run *r, int rc)
{
    pipe_stop_threads(r);
    if (r->store) {
        fstore_tail_stop(r->store);
        fstore_store_close(r->store);
    }
    fstore_aggregator_destroy(r->agg);
    if (r->pred) {
        rd_kafka_flush(r->pred, 5000);
        rd_kafka_destroy(r->pred);
    }
    pipe_topics_delete(r);
    demo_kafka_close(&r->k, !r->a->keep);
    pipe_dir_remove(r);
    if (r->a->keep)
        tool_msg(CMD, "kept %s%s", r->dir, r->k.mock ? "" : " and the topics");
    pipe_model_free(&r->model);
    demo_zipf_free(&r->z);
    free(r->probe_ts);
    free(r->probe_t0);
    free(r->ring);
    free(r->slots);
    pthread_mutex_destroy(&r->mu);
    return rc;
}

int demo_pipeline(const pipe_args *a)
{
    static pipe_run run; /* large (histograms): not on the stack */
    pipe_run *r = &run;
    memset(r, 0, sizeof *r);
    r->a = a;
    atomic_store(&r->measure_from_us, INT64_MAX);
    pthread_mutex_init(&r->mu, NULL);
    char err[1024];
    char *model_text = a->model ? read_text(a->model) : strdup(pipe_model_json);
    if (!model_text) {
        tool_msg(CMD, "cannot read --model %s: %s", a->model, strerror(errno));
        return pipe_end(r, TOOL_FAIL);
    }
    int bad = pipe_model_parse(&r->model, model_text, err, sizeof err);
    free(model_text);
    if (bad) {
        tool_msg(CMD, "%s%s", a->model ? a->model : "the shipped model", err);
        return pipe_end(r, TOOL_FAIL);
    }
    r->ring_cap = 1u << 20;
    r->ring = malloc(r->ring_cap * sizeof *r->ring);
    r->slots = malloc(r->ring_cap * sizeof *r->slots);
    r->probe_ts = calloc(a->users, sizeof *r->probe_ts);
    r->probe_t0 = calloc(a->users, sizeof *r->probe_t0);
    if (!r->ring || !r->slots || !r->probe_ts || !r->probe_t0 || demo_zipf_init(&r->z, a->users, ZIPF_S)) {
        tool_msg(CMD, "out of memory");
        return pipe_end(r, TOOL_FAIL);
    }
    r->star_rank = a->users > STAR_RANK ? STAR_RANK : a->users - 1;
    r->star = demo_zipf_entity(&r->z, r->star_rank);
    int rc = pipe_dir(r);
    if (rc == TOOL_OK) {
        demo_step("topics on %s", a->brokers ? a->brokers : "librdkafka's mock cluster");
        rc = pipe_topics(r);
    }
    if (rc == TOOL_OK) {
        demo_step("starting the aggregator (windows 5m, 1h, 1d; commit every %d ms)",
                  a->commit_ms);
        rc = pipe_aggregator(r);
    }
    if (rc == TOOL_OK) {
        demo_step("opening a store in %s/store that tails %s", r->dir, r->t_features);
        rc = pipe_store(r);
    }
    if (rc == TOOL_OK)
        rc = pipe_pred_producer(r);
    if (rc == TOOL_OK) {
        if (pthread_create(&r->watch_th, NULL, watch_thread, r) ||
            pthread_create(&r->score_th, NULL, score_thread, r)) {
            tool_msg(CMD, "cannot start a thread");
            rc = TOOL_FAIL;
        } else {
            r->watch_started = r->score_started = 1;
        }
    }
    if (rc == TOOL_OK)
        rc = pipe_wait_assigned(r);
    if (rc == TOOL_OK) {
        demo_step("producing payments for %.0f s at %.0f/s; scoring each user after each "
                  "payment, in micro-batches of up to %d",
                  a->run_ms / 1e3, a->rate, a->batch);
        rc = pipe_produce(r);
    }
    if (rc == TOOL_OK)
        rc = pipe_drain(r);
    demo_status_clear();
    if (rc == TOOL_OK) {
        /* The last commit and the watcher's last records, then figures. */
        struct timespec ts = {0, 300000000};
        nanosleep(&ts, NULL);
        pipe_stop_threads(r);
        if (r->agg_err && r->agg_err != FSTORE_OK) {
            rc = tool_fail(CMD, r->agg_err, r->agg_msg, "the aggregator stopped");
        } else {
            pipe_report(r);
            if (r->a->json)
                rc = pipe_json(r);
        }
    }
    return pipe_end(r, rc);
}
