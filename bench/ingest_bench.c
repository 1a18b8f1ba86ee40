/*
 * ingest_bench: the ingest half of the targets in docs/performance.md
 * against a real Kafka broker, in one run on the same generated data:
 * bootstrap rate against librdkafka consume-only, store size against the
 * raw values, point lookups while the tailer applies updates, and produce ->
 * visible latency against Kafka's own produce -> consume latency. Measurement only: it prints figures and ratios
 * next to the targets and never judges them; it fails (exit 1) when a
 * measurement is not valid (a record never arrived, updates were not
 * applied, a client error).
 *
 *   bench_ingest --brokers HOST:PORT [--records N] [--rates R1,R2,...]
 *                [--seconds S] [--dir DIR] [--json FILE] [--markdown FILE]
 *                [--hist-dir DIR] [--kafka-prop NAME=VALUE]...
 *
 * 0. Topics: the program creates its own through librdkafka's Admin API
 *    (CreateTopics), 4 partitions, cleanup.policy=compact, with names no
 *    earlier run used (fstore-bench-ingest-PID-TIME, and -kafka for Kafka's
 *    own latency), and deletes them at the end. The broker's default
 *    segment settings stay, so the log cleaner does not run during the
 *    measurements (every key is written once before the updates anyway).
 * 1. Bootstrap: N records (default 1,000,000), one per entity, of the bench
 *    row (bench_common: 32 scalars, a string, a 16-float embedding,
 *    Confluent-framed Avro, schema id 1) under keys "user:%09u" in shuffled
 *    order; every delivery is awaited. Then (a) librdkafka consume-only: a
 *    consumer assigned every partition at its low watermark reads to the
 *    high watermarks and discards (the ingest ceiling); (b) fstore: a new
 *    store and table, writer schema 1 registered, fstore_tail_add/start,
 *    timed until fstore_tail_wait_ready returns; (a) again. Both sides are
 *    timed from creating their Kafka client (fstore_tail_start creates its
 *    own) to the end: connecting, reading the end offsets and reading. Both
 *    read with isolation.level=read_committed and fetch.wait.max.ms=10 (the
 *    tailer's settings). Size: the store's statistics give its pages in
 *    use (extent - free list; also what is allocated on disk, as
 *    bench_baselines measures it), against the mean Avro value without its
 *    5-byte frame.
 * 2. Reads during ingest: one reader thread looks up random keys
 *    (fstore_get + the 4 columns of bench_baselines' point case, refreshing
 *    its snapshot every 1024 lookups) for S seconds with no records flowing,
 *    then again while a thread produces updates of random existing entities
 *    at 10,000 records/s (paced) that the tailer applies. The records the
 *    tailer applied inside the window come from the stats counters; after
 *    the window every updated entity's row must carry the offset of its last
 *    update (else the run fails).
 * 3. Freshness at each rate of --rates (default 1000,10000,50000), S seconds
 *    each, with a paced producer of records of new keys (linger.ms=0 and
 *    socket.nagle.disable=true, i.e. TCP_NODELAY as the Java client sets
 *    it; consumers as in 1.):
 *    (a) Kafka: a plain librdkafka consumer in this process assigned to the
 *    second topic; latency = receive time - the time taken just before the
 *    produce call; (b) fstore: a producer configured the same way, on the
 *    store's topic, and a thread that refreshes a reader every 0.1 ms
 *    and notes, per record, when a lookup first finds its key (a tight
 *    loop would take a core from the tailer and broker it measures). 20 warm-up
 *    records precede each case and are not counted. Every record must be seen
 * within 30 s of the last produce, or the run fails. The achieved producer rate
 * is reported (a 2-core machine shared with the broker may not keep the
 * target).
 *
 * Latencies go into bench_common's histograms; --hist-dir writes each as
 * DIR/<case>.dat for bench/run.sh's plots. --kafka-prop NAME=VALUE sets a
 * librdkafka property on every client of the run, the tailer's included.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench_common.h"

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/kafka_admin.h"

#define NPARTS 4
#define MAX_RATES 16
#define MAX_PROPS 16
#define TABLE BENCH_TABLE
#define UPDATE_RATE 10000.0    /* records/s during the read-while-ingest case */
#define REFRESH_EVERY 1024     /* lookups between reader refreshes */
#define CHECK_PAUSE_NS 100000L /* freshness checker: pause between rounds */
#define WARM_RECORDS 20        /* uncounted records before a freshness case */
#define SEEN_TIMEOUT_S 30      /* bound on a record's produce -> seen */
#define KAFKA_TIMEOUT_MS 30000 /* admin requests, metadata, watermarks */
#define FETCH_WAIT_MS "10"     /* fstore's tailer default, used on both sides */
#define LOAD_LINGER_MS "5"
#define FRESH_LINGER_MS "0"
/* librdkafka leaves Nagle's algorithm on by default; the Java client always
 * sets TCP_NODELAY. With it on, a linger.ms=0 producer's pipelined requests
 * wait for delayed ACKs (tens of milliseconds on loopback), which would be
 * measured as Kafka's latency and fstore's alike. */
#define FRESH_NAGLE_DISABLE "true"

/* ---- options ------------------------------------------------------------ */

static struct {
    const char *brokers;
    unsigned records;
    unsigned rates[MAX_RATES];
    int nrates;
    double seconds;
    const char *dir;
    const char *json;
    const char *markdown;
    const char *hist_dir;
    const char *props[MAX_PROPS]; /* NAME=VALUE for every Kafka client */
    int nprops;
    const char *fprops[MAX_PROPS]; /* NAME=VALUE fstore properties */
    int nfprops;
} opt = {.brokers = NULL,
         .records = 1000000,
         .rates = {1000, 10000, 50000},
         .nrates = 3,
         .seconds = 10.0};

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s --brokers HOST:PORT [--records N] [--rates R1,R2,...]\n"
            "          [--seconds S] [--dir DIR] [--json FILE]\n"
            "          [--markdown FILE] [--hist-dir DIR]\n"
            "          [--prop NAME=VALUE]... [--kafka-prop NAME=VALUE]...\n"
            "  --brokers HOST:PORT a running Kafka broker (required; e.g.\n"
            "                      BROKERS=$(tests/kafka/broker.sh start))\n"
            "  --records N         entities to produce and bootstrap "
            "(default 1000000)\n"
            "  --rates R1,R2,...   freshness rates in records/s (default\n"
            "                      1000,10000,50000)\n"
            "  --seconds S         measuring time per case (default 10)\n"
            "  --dir DIR           work directory for the store (default: a\n"
            "                      new temporary directory, removed after)\n"
            "  --json FILE         also write the figures as JSON\n"
            "  --markdown FILE     also write the tables as markdown\n"
            "  --hist-dir DIR      write each case's latency distribution\n"
            "                      as DIR/<case>.dat (for plots)\n"
            "  --prop N=V          an fstore property of the store (e.g.\n"
            "                      tail.batch.max_ms=1); repeatable\n"
            "  --kafka-prop N=V    a librdkafka property for every Kafka\n"
            "                      client of the run, the tailer's included\n"
            "                      (as kafka.N); repeatable\n",
            argv0);
    exit(2);
}

static void parse_rates(const char *v)
{
    opt.nrates = 0;
    const char *p = v;
    while (*p) {
        char *end;
        unsigned long r = strtoul(p, &end, 10);
        if (end == p || (*end != ',' && *end != '\0') || r < 1 ||
            r > 10000000ul || opt.nrates == MAX_RATES)
            die("--rates wants up to %d comma-separated integers in "
                "[1, 10000000], e.g. 1000,10000,50000",
                MAX_RATES);
        opt.rates[opt.nrates++] = (unsigned)r;
        p = *end == ',' ? end + 1 : end;
    }
    if (opt.nrates == 0)
        die("--rates wants at least one rate");
}

/* Adds @p v, the NAME=VALUE of option @p a, to @p list of @p *n. */
static void add_prop(const char *a, const char *v, const char **list, int *n)
{
    const char *eq = strchr(v, '=');
    if (eq == NULL || eq == v || *n == MAX_PROPS || strpbrk(v, "\"\\") != NULL)
        die("%s wants NAME=VALUE without quotes or backslashes (at most %d)", a,
            MAX_PROPS);
    list[(*n)++] = v;
}

/* The NAME of @p prop, a NAME=VALUE, after @p prefix into @p name; returns
 * its VALUE. */
static const char *prop_split(const char *prop, const char *prefix, char *name,
                              size_t size)
{
    size_t n = (size_t)(strchr(prop, '=') - prop);
    snprintf(name, size, "%s%.*s", prefix, (int)n, prop);
    return prop + n + 1;
}

static void parse_args(int argc, char **argv)
{
    /* Every option takes a value. */
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL)
            usage(argv[0]);
        if (strcmp(a, "--brokers") == 0) {
            opt.brokers = v;
        } else if (strcmp(a, "--records") == 0) {
            char *end;
            unsigned long n = strtoul(v, &end, 10);
            if (*end != '\0' || n < 1000 || n > 100000000ul)
                die("--records wants an integer in [1000, 100000000]");
            opt.records = (unsigned)n;
        } else if (strcmp(a, "--rates") == 0) {
            parse_rates(v);
        } else if (strcmp(a, "--seconds") == 0) {
            opt.seconds = atof(v);
            if (!(opt.seconds >= 0.1 && opt.seconds <= 3600))
                die("--seconds wants a number in [0.1, 3600]");
        } else if (strcmp(a, "--dir") == 0) {
            opt.dir = v;
        } else if (strcmp(a, "--json") == 0) {
            opt.json = v;
        } else if (strcmp(a, "--markdown") == 0) {
            opt.markdown = v;
        } else if (strcmp(a, "--hist-dir") == 0) {
            opt.hist_dir = v;
        } else if (strcmp(a, "--prop") == 0) {
            add_prop(a, v, opt.fprops, &opt.nfprops);
        } else if (strcmp(a, "--kafka-prop") == 0) {
            add_prop(a, v, opt.props, &opt.nprops);
        } else {
            usage(argv[0]);
        }
    }
    if (opt.brokers == NULL || opt.brokers[0] == '\0')
        die("--brokers HOST:PORT is required (start a broker with "
            "BROKERS=$(tests/kafka/broker.sh start); bench/run.sh does)");
    /* New keys of the freshness cases follow the N entities. */
    double fresh = 0;
    for (int i = 0; i < opt.nrates; i++)
        fresh += opt.rates[i] * opt.seconds * 1.01 + 2 * WARM_RECORDS + 16;
    if ((double)opt.records + fresh > 999999999.0)
        die("--records, --rates and --seconds ask for more than 999,999,999 "
            "keys; lower them");
}

/* ---- small helpers ------------------------------------------------------ */

static volatile uint64_t g_sink; /* keeps reads from being optimised out */

static double secs(uint64_t ns)
{
    return (double)ns / 1e9;
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void sleep_until(uint64_t when)
{
    uint64_t now = now_ns();
    if (when > now)
        sleep_ns(when - now);
}

/* "user:%09u" of @p id into @p buf (KEY_STRIDE bytes); returns KEY_LEN. */
static size_t key_of(char *buf, uint32_t id)
{
    snprintf(buf, KEY_STRIDE, "user:%09u", id);
    return KEY_LEN;
}

/* The id of a key "user:%09u", or UINT32_MAX for any other key. */
static uint32_t id_of(const void *key, size_t len)
{
    const char *k = key;
    if (key == NULL || len != KEY_LEN || memcmp(k, "user:", 5) != 0)
        return UINT32_MAX;
    uint32_t id = 0;
    for (size_t i = 5; i < KEY_LEN; i++) {
        if (k[i] < '0' || k[i] > '9')
            return UINT32_MAX;
        id = id * 10 + (uint32_t)(k[i] - '0');
    }
    return id;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (p == NULL)
        die("out of memory (%zu x %zu bytes)", n, size);
    return p;
}

/* ---- Kafka clients ------------------------------------------------------ */

static void rk_log(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf)
{
    (void)rk;
    if (level <= 3)
        fprintf(stderr, "ingest: librdkafka %s: %s\n", fac, buf);
}

/* Transport errors are retried by librdkafka; say when the broker is gone,
 * and let the bounded waits of each phase fail the run with context. */
static void rk_error(rd_kafka_t *rk, int err, const char *reason, void *op)
{
    (void)rk;
    (void)op;
    if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ||
        err == RD_KAFKA_RESP_ERR__FATAL)
        fprintf(stderr,
                "ingest: kafka: %s: %s (is the broker at %s still running?)\n",
                rd_kafka_err2name((rd_kafka_resp_err_t)err), reason,
                opt.brokers);
}

static void rk_set(rd_kafka_conf_t *c, const char *name, const char *value)
{
    char errstr[512];
    if (rd_kafka_conf_set(c, name, value, errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK)
        die("librdkafka property %s=%s: %s", name, value, errstr);
}

static rd_kafka_conf_t *rk_conf(const char *client_id)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    if (c == NULL)
        die("rd_kafka_conf_new: out of memory");
    rk_set(c, "bootstrap.servers", opt.brokers);
    rk_set(c, "client.id", client_id);
    for (int i = 0; i < opt.nprops; i++) {
        char name[256];
        const char *value = prop_split(opt.props[i], "", name, sizeof name);
        rk_set(c, name, value);
    }
    rd_kafka_conf_set_log_cb(c, rk_log);
    rd_kafka_conf_set_error_cb(c, rk_error);
    return c;
}

/* Consumes @p c on success, as rd_kafka_new does. */
static rd_kafka_t *rk_new(rd_kafka_type_t type, rd_kafka_conf_t *c,
                          const char *what)
{
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(type, c, errstr, sizeof errstr);
    if (rk == NULL)
        die("creating the %s: %s", what, errstr);
    return rk;
}

/* A consumer reading as the tailer does (read_committed, its
 * fetch.wait.max.ms), client and group @p id, committing nothing and
 * failing rather than resetting an offset; the caller assigns partitions. */
static rd_kafka_t *rk_consumer(const char *id, const char *what)
{
    rd_kafka_conf_t *c = rk_conf(id);
    rk_set(c, "group.id", id);
    rk_set(c, "enable.auto.commit", "false");
    rk_set(c, "enable.partition.eof", "false");
    rk_set(c, "auto.offset.reset", "error");
    rk_set(c, "isolation.level", "read_committed");
    rk_set(c, "fetch.wait.max.ms", FETCH_WAIT_MS);
    return rk_new(RD_KAFKA_CONSUMER, c, what);
}

/* Checks the broker answers at all, with a message saying what to do. */
static void check_broker(rd_kafka_t *rk)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, NULL, &md, 10000);
    if (e)
        die("no answer from the Kafka broker at %s within 10 s (%s); start "
            "one with BROKERS=$(tests/kafka/broker.sh start) and pass "
            "--brokers $BROKERS",
            opt.brokers, rd_kafka_err2str(e));
    rd_kafka_metadata_destroy(md);
}

/* Creates the compacted topics @p names[0..n) with NPARTS partitions and
 * waits until every partition has a leader. */
static void create_topics(const char *const *names, int n)
{
    static const char *const configs[] = {"cleanup.policy=compact", NULL};
    rd_kafka_t *rk = rk_new(RD_KAFKA_PRODUCER, rk_conf("fstore-bench-admin"),
                            "admin client");
    check_broker(rk);
    sup_topic t[2];
    for (int i = 0; i < n; i++)
        t[i] = (sup_topic){names[i], NPARTS, 1, configs};
    char why[512];
    if (sup_create_topics(rk, t, n, 0, KAFKA_TIMEOUT_MS, why, sizeof why) < 0)
        die("creating the bench topics: %s (the broker must allow "
            "CreateTopics; bench/run.sh starts one that does)",
            why);
    rd_kafka_destroy(rk);
}

/* Deletes the run's topics; a failure only warns (the data is the broker's
 * to keep, and nothing measured depends on it). */
static void delete_topics(const char *const *names, int n)
{
    rd_kafka_t *rk = rk_new(RD_KAFKA_PRODUCER, rk_conf("fstore-bench-admin"),
                            "admin client");
    char why[512];
    if (sup_delete_topics(rk, names, n, KAFKA_TIMEOUT_MS, why, sizeof why))
        fprintf(stderr,
                "ingest: warning: deleting the bench topics: %s; they may "
                "stay on the broker\n",
                why);
    rd_kafka_destroy(rk);
}

/* ---- producing ---------------------------------------------------------- */

/* A producer of one topic. Delivery reports run on the thread that polls
 * it, which is the one thread that produces; others read the counters
 * after that thread is done (or atomically). */
typedef struct {
    rd_kafka_t *rk;
    const char *topic;
    _Atomic uint64_t delivered;
    uint64_t failed;
    char first_error[256];
    int64_t max_offset[NPARTS]; /* highest delivered offset per partition */
    /* Optional, per entity id: partition and offset of its last delivered
     * record (the message opaque carries the id). */
    int64_t *last_offset;
    int32_t *last_partition;
    unsigned nids;
} producer_t;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                        void *opaque)
{
    (void)rk;
    producer_t *p = opaque;
    if (m->err) {
        if (p->failed++ == 0)
            snprintf(p->first_error, sizeof p->first_error, "%s",
                     rd_kafka_err2str(m->err));
        return;
    }
    if (m->partition >= 0 && m->partition < NPARTS &&
        m->offset > p->max_offset[m->partition])
        p->max_offset[m->partition] = m->offset;
    uint32_t id = (uint32_t)(uintptr_t)m->_private;
    if (p->last_offset != NULL && id < p->nids &&
        m->offset > p->last_offset[id]) {
        p->last_offset[id] = m->offset;
        p->last_partition[id] = m->partition;
    }
    atomic_fetch_add_explicit(&p->delivered, 1, memory_order_relaxed);
}

static void producer_init(producer_t *p, const char *topic,
                          const char *linger_ms, const char *nagle_disable,
                          const char *client_id)
{
    memset(p, 0, sizeof *p);
    for (int i = 0; i < NPARTS; i++)
        p->max_offset[i] = -1;
    p->topic = topic;
    rd_kafka_conf_t *c = rk_conf(client_id);
    /* The Java client's partitioner: keys land where Kafka Streams and
     * fstore_partition_for_key() put them. */
    rk_set(c, "partitioner", "murmur2_random");
    rk_set(c, "enable.idempotence", "true");
    rk_set(c, "linger.ms", linger_ms);
    if (nagle_disable != NULL)
        rk_set(c, "socket.nagle.disable", nagle_disable);
    rk_set(c, "message.timeout.ms", "120000");
    rk_set(c, "queue.buffering.max.messages", "1000000");
    rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
    rd_kafka_conf_set_opaque(c, p);
    p->rk = rk_new(RD_KAFKA_PRODUCER, c, "producer");
}

static void producer_check(producer_t *p)
{
    char errstr[512];
    if (p->failed)
        die("%" PRIu64 " deliveries to topic %s failed, the first with: %s "
            "(is the broker at %s still running?)",
            p->failed, p->topic, p->first_error, opt.brokers);
    if (rd_kafka_fatal_error(p->rk, errstr, sizeof errstr))
        die("producer to %s: fatal error: %s", p->topic, errstr);
}

static void producer_poll(producer_t *p, int timeout_ms)
{
    rd_kafka_poll(p->rk, timeout_ms);
    producer_check(p);
}

/* Queues one record; waits (serving delivery reports) while the local
 * queue is full. @p id travels as the message opaque. */
static void produce(producer_t *p, const char *key, const void *value,
                    size_t len, uint32_t id)
{
    uint64_t deadline = now_ns() + 120 * 1000000000ull;
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            p->rk, RD_KAFKA_V_TOPIC(p->topic),
            RD_KAFKA_V_KEY((void *)(uintptr_t)key, (size_t)KEY_LEN),
            RD_KAFKA_V_VALUE((void *)(uintptr_t)value, len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_OPAQUE((void *)(uintptr_t)id), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR)
            return;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || now_ns() > deadline)
            die("producing to topic %s: %s", p->topic, rd_kafka_err2str(e));
        producer_poll(p, 10);
    }
}

/* Waits for every delivery (bounded) and fails on any error. */
static void producer_flush(producer_t *p)
{
    rd_kafka_resp_err_t e = rd_kafka_flush(p->rk, 120000);
    producer_check(p);
    if (e)
        die("waiting for deliveries to topic %s: %s (%d records still queued; "
            "is the broker at %s still running?)",
            p->topic, rd_kafka_err2str(e), rd_kafka_outq_len(p->rk),
            opt.brokers);
}

static void producer_free(producer_t *p)
{
    if (p->rk != NULL)
        rd_kafka_destroy(p->rk);
    p->rk = NULL;
}

/* ---- the store ---------------------------------------------------------- */

typedef struct {
    char work[4096], dir[4200];
    int made_work;
    fstore_store_t *store;
    const fstore_table_t *table;
    int point_cols[4];
    char *keys; /* N * KEY_STRIDE */
    char topic[128], ktopic[160];
} bench_t;

static bench_t B;

static void cleanup_work(void)
{
    if (B.made_work) {
        remove_flat_dir(B.dir);
        rmdir(B.work);
    }
}

static void make_dirs(void)
{
    B.made_work = bench_make_parent(B.work, sizeof B.work, opt.dir,
                                    "fstore-ingest-XXXXXX");
    if (B.made_work)
        atexit(cleanup_work);
    snprintf(B.dir, sizeof B.dir, "%s/store", B.work);
    struct stat st;
    if (stat(B.dir, &st) == 0)
        die("%s already holds a bench store; use an empty --dir", B.work);
}

/* Opens (creating) the store with its table and writer schema 1. */
static void store_open(void)
{
    fstore_conf_t *conf = bench_conf_new(bench_map_size(opt.records, 2048u));
    bench_conf_set(conf, "kafka.bootstrap.servers", opt.brokers);
    for (int i = 0; i < opt.nprops; i++) {
        char name[256];
        const char *value =
            prop_split(opt.props[i], "kafka.", name, sizeof name);
        bench_conf_set(conf, name, value);
    }
    for (int i = 0; i < opt.nfprops; i++) {
        char name[256];
        const char *value = prop_split(opt.fprops[i], "", name, sizeof name);
        bench_conf_set(conf, name, value);
    }
    B.store = bench_store_open(B.dir, conf, &B.table);
    bench_point_cols(B.table, B.point_cols);
}

/* Fails with the tailer's own error when it stopped on one. */
static void tail_check(const char *when)
{
    char msg[1024] = "";
    fstore_err_t err = fstore_tail_error(B.store, msg, sizeof msg);
    if (err != FSTORE_OK)
        die("%s: the tailer stopped: %s: %s", when, fstore_err_name(err),
            msg[0] ? msg : fstore_strerror(err));
}

/* Adds the table's topic and starts the tailer; returns the seconds from
 * fstore_tail_start until fstore_tail_wait_ready returned. */
static double tail_until_ready(int timeout_s)
{
    char errstr[512] = "";
    fs_check(
        fstore_tail_add(B.store, B.table, B.topic, NULL, errstr, sizeof errstr),
        "fstore_tail_add", errstr);
    uint64_t t0 = now_ns();
    fs_check(fstore_tail_start(B.store, errstr, sizeof errstr),
             "fstore_tail_start", errstr);
    /* Waits in slices to show progress; wait_ready returns as soon as the
     * view is ready, whatever the slice. */
    fstore_err_t err;
    int waited = 0;
    while ((err = fstore_tail_wait_ready(B.store, 5000)) ==
               FSTORE_ERR_TIMED_OUT &&
           (waited += 5) < timeout_s)
        fprintf(stderr, "  not ready yet after %d s...\n", waited);
    uint64_t t1 = now_ns();
    tail_check("waiting for the bootstrap");
    if (err == FSTORE_ERR_TIMED_OUT)
        die("the store was not ready %d s after fstore_tail_start (the "
            "tailer's messages above, if any, say why)",
            timeout_s);
    fs_check(err, "fstore_tail_wait_ready", NULL);
    return secs(t1 - t0);
}

/* The live statistics, parsed (json_decref() it). */
static json_t *stats_load(void)
{
    char *txt = NULL;
    fs_check(fstore_stats_json(B.store, &txt), "fstore_stats_json", NULL);
    json_error_t jerr;
    json_t *root = json_loads(txt, 0, &jerr);
    if (root == NULL)
        die("fstore_stats_json returned invalid JSON: %s", jerr.text);
    fstore_free(txt);
    return root;
}

/* The tailer's apply_ms (taken off the consumer -> visible) since it
 * started: p50, p99, p999, max in ms. */
static void stats_apply(double out[4])
{
    json_t *root = stats_load(), *a = json_object_get(root, "apply_ms");
    const char *const names[4] = {"p50", "p99", "p999", "max"};
    for (int i = 0; i < 4; i++) {
        json_t *v = json_object_get(a, names[i]);
        if (!json_is_number(v))
            die("fstore_stats_json has no apply_ms.%s (see docs/stats.md)",
                names[i]);
        out[i] = json_number_value(v);
    }
    json_decref(root);
}

/* tables.<TABLE>.counters.applied of the live stats. */
static uint64_t stats_applied(void)
{
    json_t *root = stats_load();
    json_t *v = json_object_get(
        json_object_get(json_object_get(json_object_get(root, "tables"), TABLE),
                        "counters"),
        "applied");
    if (!json_is_integer(v))
        die("fstore_stats_json has no tables.%s.counters.applied (see "
            "docs/stats.md)",
            TABLE);
    uint64_t n = (uint64_t)json_integer_value(v);
    json_decref(root);
    return n;
}

static uint64_t row_count(void)
{
    fstore_reader_t *rd;
    uint64_t n = 0;
    fs_check(fstore_reader_new(B.store, &rd), "fstore_reader_new", NULL);
    fs_check(fstore_reader_row_count(rd, B.table, &n),
             "fstore_reader_row_count", fstore_reader_errmsg(rd));
    fstore_reader_destroy(rd);
    return n;
}

/* ---- phase 1: load, consume-only, bootstrap, size ----------------------- */

typedef struct {
    uint64_t records;
    double seconds;
} run_t;

static double run_rate(const run_t *r)
{
    return ratio((double)r->records, r->seconds);
}

/* Page use of a store (from its statistics). */
typedef struct {
    uint64_t page_size;
    uint64_t pages;      /* last page number + 1: the file's extent */
    uint64_t free_pages; /* pages on LMDB's free list, reusable */
} lmdb_usage_t;

/* Bytes of the pages holding data: (pages - free_pages) * page_size. */
static inline uint64_t lmdb_used_bytes(const lmdb_usage_t *u)
{
    return (u->pages - u->free_pages) * u->page_size;
}

typedef struct {
    run_t load;
    uint64_t value_bytes; /* unframed */
    run_t consume[2];
    run_t fstore;
    lmdb_usage_t lmdb;
    uint64_t disk_bytes;
} boot_t;

static void progress(const char *what, uint64_t done, uint64_t total,
                     uint64_t t0, int tty)
{
    double el = secs(now_ns() - t0);
    double rate = el > 0 ? (double)done / el : 0;
    fprintf(stderr, "%s%s: %" PRIu64 "/%" PRIu64 " records, %.0f/s, %.1f s%s",
            tty ? "\r" : "", what, done, total, rate, el, tty ? "   " : "\n");
}

/* Produces one record per entity, shuffled, and waits for every delivery. */
static void load_topic(boot_t *bt)
{
    const unsigned n = opt.records;
    producer_t p;
    producer_init(&p, B.topic, LOAD_LINGER_MS, NULL, "fstore-bench-load");
    uint32_t *perm = make_perm(n);
    encoder_t enc;
    encoder_init(&enc);
    int tty = isatty(STDERR_FILENO);
    uint64_t t0 = now_ns(), next = t0 + 2000000000ull;
    for (unsigned base = 0; base < n; base += BATCH_ROWS) {
        size_t cnt = n - base < BATCH_ROWS ? n - base : BATCH_ROWS;
        encode_batch(&enc, perm + base, cnt);
        for (size_t i = 0; i < cnt; i++) {
            size_t len = enc.starts[i + 1] - enc.starts[i];
            produce(&p, B.keys + (size_t)perm[base + i] * KEY_STRIDE,
                    enc.arena + enc.starts[i], len, perm[base + i]);
            bt->value_bytes += len - 5;
        }
        producer_poll(&p, 0);
        if (now_ns() >= next) {
            next += 2000000000ull;
            progress("producing", atomic_load(&p.delivered), n, t0, tty);
        }
    }
    producer_flush(&p);
    uint64_t t1 = now_ns();
    progress("producing", atomic_load(&p.delivered), n, t0, tty);
    if (tty)
        fputc('\n', stderr);
    if (atomic_load(&p.delivered) != n)
        die("%" PRIu64 " of %u records were delivered to %s",
            (uint64_t)atomic_load(&p.delivered), n, B.topic);
    bt->load.records = n;
    bt->load.seconds = secs(t1 - t0);
    producer_free(&p);
    encoder_free(&enc);
    free(perm);
}

/* librdkafka alone: every partition from its low watermark to its high
 * watermark, records discarded. Timed from creating the client. */
static run_t consume_only(uint64_t expect)
{
    run_t r = {0, 0};
    uint64_t t0 = now_ns();
    rd_kafka_t *rk =
        rk_consumer("fstore-bench-consume-only", "consume-only consumer");
    int64_t hi[NPARTS];
    int done[NPARTS], left = 0;
    rd_kafka_topic_partition_list_t *l =
        rd_kafka_topic_partition_list_new(NPARTS);
    for (int32_t p = 0; p < NPARTS; p++) {
        int64_t lo;
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
            rk, B.topic, p, &lo, &hi[p], KAFKA_TIMEOUT_MS);
        if (e)
            die("watermarks of %s [%d]: %s", B.topic, p, rd_kafka_err2str(e));
        done[p] = hi[p] <= lo;
        if (!done[p]) {
            /* The offset itself, not OFFSET_BEGINNING, which would cost
             * one more request per partition. */
            rd_kafka_topic_partition_list_add(l, B.topic, p)->offset = lo;
            left++;
        }
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, l);
    if (e)
        die("assigning %s to the consume-only consumer: %s", B.topic,
            rd_kafka_err2str(e));
    rd_kafka_topic_partition_list_destroy(l);
    uint64_t deadline = now_ns() + 600 * 1000000000ull, sink = 0;
    /* One message per poll: the ordinary consume loop. */
    while (left > 0) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m == NULL) {
            if (now_ns() > deadline)
                die("reading %s to its end took over 600 s (%" PRIu64
                    " records read)",
                    B.topic, r.records);
            continue;
        }
        if (m->err)
            die("consume-only reading %s: %s", B.topic,
                rd_kafka_message_errstr(m));
        int32_t p = m->partition;
        if (p >= 0 && p < NPARTS && !done[p]) {
            r.records++;
            sink += m->len + m->key_len;
            if (m->offset >= hi[p] - 1) {
                done[p] = 1;
                left--;
            }
        }
        rd_kafka_message_destroy(m);
    }
    r.seconds = secs(now_ns() - t0);
    g_sink += sink;
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (r.records != expect)
        die("consume-only read %" PRIu64 " records of %s, %" PRIu64
            " were produced",
            r.records, B.topic, expect);
    return r;
}

/* The store's page use from its statistics (docs/stats.md, "store"). */
static void stats_space(lmdb_usage_t *u)
{
    json_t *root = stats_load(), *st = json_object_get(root, "store");
    const char *const names[3] = {"page_size", "data_bytes", "free_bytes"};
    uint64_t v[3];
    for (int i = 0; i < 3; i++) {
        json_t *x = json_object_get(st, names[i]);
        if (!json_is_integer(x) || json_integer_value(x) < 0)
            die("fstore_stats_json has no store.%s (see docs/stats.md)",
                names[i]);
        v[i] = (uint64_t)json_integer_value(x);
    }
    json_decref(root);
    if (v[0] == 0)
        die("fstore_stats_json: store.page_size is 0");
    u->page_size = v[0];
    u->pages = v[1] / v[0];
    u->free_pages = v[2] / v[0];
}

/* Stops the tailer, closes and reopens the store, and tails on from its
 * stored offsets with the tailer's statistics starting over. */
static void store_reopen(void)
{
    fs_check(fstore_tail_stop(B.store), "fstore_tail_stop", NULL);
    fstore_store_close(B.store);
    B.store = NULL;
    store_open();
    double s = tail_until_ready(120);
    fprintf(stderr, "store reopened, tailing again (ready in %.3f s)\n", s);
}

static void bootstrap(boot_t *bt)
{
    const uint64_t n = opt.records;
    fprintf(stderr, "consume-only (librdkafka), run 1...\n");
    bt->consume[0] = consume_only(n);
    fprintf(stderr, "  %" PRIu64 " records in %.3f s = %.0f records/s\n",
            bt->consume[0].records, bt->consume[0].seconds,
            run_rate(&bt->consume[0]));

    fprintf(stderr, "fstore bootstrap (tail_start -> wait_ready)...\n");
    store_open();
    bt->fstore.seconds = tail_until_ready(1800);
    bt->fstore.records = stats_applied();
    uint64_t rows = row_count();
    if (bt->fstore.records != n || rows != n)
        die("the bootstrap applied %" PRIu64 " records and holds %" PRIu64
            " rows; %" PRIu64 " entities were produced",
            bt->fstore.records, rows, n);
    fprintf(stderr, "  %" PRIu64 " records in %.3f s = %.0f records/s\n",
            bt->fstore.records, bt->fstore.seconds, run_rate(&bt->fstore));

    fprintf(stderr, "consume-only (librdkafka), run 2...\n");
    bt->consume[1] = consume_only(n);
    fprintf(stderr, "  %" PRIu64 " records in %.3f s = %.0f records/s\n",
            bt->consume[1].records, bt->consume[1].seconds,
            run_rate(&bt->consume[1]));

    /* Size, from the store's own statistics while it tails on. */
    stats_space(&bt->lmdb);
    bt->disk_bytes = dir_disk_bytes(B.dir);
}

/* ---- phase 2: reads during ingest ---------------------------------------- */

typedef struct {
    double seconds;
    uint64_t lookups;
    double elapsed;
    fs_hist h;
    /* the records the tailer applied inside the window (stats) */
    uint64_t applied;
    /* the update producer inside the window */
    uint64_t produced;
    double produced_s;
} reads_t;

typedef struct {
    reads_t *r;
    const uint32_t *seq;
    size_t cursor;
} reader_job_t;

static void *reader_main(void *arg)
{
    reader_job_t *j = arg;
    reads_t *r = j->r;
    fstore_reader_t *rd;
    fs_check(fstore_reader_new(B.store, &rd), "fstore_reader_new", NULL);
    uint64_t sink = 0, t = 0, start = now_ns();
    uint64_t deadline = start + (uint64_t)(r->seconds * 1e9);
    size_t pos = j->cursor;
    do {
        /* A serving thread refreshes between requests: the updates the
         * tailer commits become visible, and old pages are released. */
        fs_check(fstore_reader_refresh(rd), "fstore_reader_refresh",
                 fstore_reader_errmsg(rd));
        for (int k = 0; k < REFRESH_EVERY; k++) {
            const char *key =
                B.keys + (size_t)j->seq[pos++ & (SEQ_LEN - 1)] * KEY_STRIDE;
            uint64_t t0 = now_ns();
            sink += point_get(rd, B.table, B.point_cols, key);
            t = now_ns();
            fs_hist_add(&r->h, t - t0);
        }
        r->lookups += REFRESH_EVERY;
    } while (t < deadline);
    r->elapsed = secs(t - start);
    j->cursor = pos;
    g_sink += sink;
    fstore_reader_destroy(rd);
    return NULL;
}

/* Touches every key once: no first page faults inside a measurement. */
static void warm_up(void)
{
    fstore_reader_t *rd;
    fs_check(fstore_reader_new(B.store, &rd), "fstore_reader_new", NULL);
    uint64_t sink = 0;
    for (unsigned i = 0; i < opt.records; i++) {
        const fstore_row_t *row;
        fstore_err_t err = fstore_get(
            rd, B.table, B.keys + (size_t)i * KEY_STRIDE, KEY_LEN, &row);
        if (err != FSTORE_OK)
            die("warm-up: fstore_get %.*s: %s (%s)", KEY_LEN,
                B.keys + (size_t)i * KEY_STRIDE, fstore_err_name(err),
                fstore_reader_errmsg(rd));
        sink += (uint64_t)fstore_row_offset(row);
    }
    g_sink += sink;
    fstore_reader_destroy(rd);
}

typedef struct {
    producer_t p;
    double rate;
    _Atomic int stop;
    _Atomic uint64_t sent;
    uint8_t *touched; /* per entity: updated at least once */
} updater_t;

/* Paced updates of random existing entities, each a new version of the
 * entity's values. */
static void *updater_main(void *arg)
{
    updater_t *u = arg;
    encoder_t enc;
    encoder_init(&enc);
    uint64_t st = 0xa11ce5eedULL, t0 = now_ns();
    for (uint64_t i = 0; !atomic_load(&u->stop); i++) {
        uint32_t id = (uint32_t)(splitmix64(&st) % opt.records);
        encode_batch_version(&enc, &id, 1, (uint32_t)(i + 1));
        sleep_until(t0 + (uint64_t)((double)i * 1e9 / u->rate));
        produce(&u->p, B.keys + (size_t)id * KEY_STRIDE, enc.arena,
                enc.starts[1], id);
        u->touched[id] = 1;
        atomic_store(&u->sent, i + 1);
        producer_poll(&u->p, 0);
    }
    producer_flush(&u->p);
    encoder_free(&enc);
    return NULL;
}

static void run_reads(reads_t *r, reader_job_t *job)
{
    pthread_t th;
    r->seconds = opt.seconds;
    job->r = r;
    uint64_t a0 = stats_applied();
    if (pthread_create(&th, NULL, reader_main, job) != 0)
        die("pthread_create failed");
    pthread_join(th, NULL);
    r->applied = stats_applied() - a0;
}

/* Waits until the view holds every delivered record of @p p (the stored
 * offset of each partition reaches the last delivered one). */
static void wait_applied(const producer_t *p, const char *what)
{
    fstore_reader_t *rd;
    fs_check(fstore_reader_new(B.store, &rd), "fstore_reader_new", NULL);
    uint64_t deadline = now_ns() + SEEN_TIMEOUT_S * 1000000000ull;
    for (;;) {
        int behind = 0;
        fs_check(fstore_reader_refresh(rd), "fstore_reader_refresh",
                 fstore_reader_errmsg(rd));
        for (int32_t q = 0; q < NPARTS; q++) {
            int64_t off = -1;
            fstore_err_t err = fstore_reader_offset(rd, B.table, q, &off);
            if (err != FSTORE_OK && err != FSTORE_NOT_FOUND)
                fs_check(err, "fstore_reader_offset", fstore_reader_errmsg(rd));
            if (off < p->max_offset[q])
                behind = 1;
        }
        if (!behind)
            break;
        tail_check(what);
        if (now_ns() > deadline)
            die("%s: the store had not applied every delivered record %d s "
                "after the last one",
                what, SEEN_TIMEOUT_S);
        sleep_ns(2000000);
    }
    fstore_reader_destroy(rd);
}

/* Every updated entity's row must come from its last delivered update. */
static uint64_t check_updates(const updater_t *u)
{
    fstore_reader_t *rd;
    fs_check(fstore_reader_new(B.store, &rd), "fstore_reader_new", NULL);
    uint64_t checked = 0, wrong = 0;
    for (unsigned id = 0; id < opt.records; id++) {
        if (!u->touched[id])
            continue;
        const fstore_row_t *row;
        const char *key = B.keys + (size_t)id * KEY_STRIDE;
        fs_check(fstore_get(rd, B.table, key, KEY_LEN, &row), "fstore_get",
                 fstore_reader_errmsg(rd));
        checked++;
        if (fstore_row_offset(row) != u->p.last_offset[id] ||
            fstore_row_partition(row) != u->p.last_partition[id]) {
            if (wrong++ < 5)
                fprintf(stderr,
                        "ingest: %.*s: row from [%d] offset %" PRId64
                        ", its last update is [%d] offset %" PRId64 "\n",
                        KEY_LEN, key, fstore_row_partition(row),
                        fstore_row_offset(row), u->p.last_partition[id],
                        u->p.last_offset[id]);
        }
    }
    fstore_reader_destroy(rd);
    if (wrong)
        die("%" PRIu64 " of %" PRIu64 " updated entities do not hold their "
            "last update after the tailer applied every delivered record",
            wrong, checked);
    return checked;
}

typedef struct {
    reads_t ro, during;
    uint64_t updates_total, checked;
    double updates_s;
} reads_result_t;

static void reads_during_ingest(reads_result_t *res)
{
    uint32_t *seq = make_seq(opt.records);
    reader_job_t job = {NULL, seq, 0};
    fprintf(stderr, "warming up (every key once)...\n");
    warm_up();

    fprintf(stderr, "reads, read-only, %.1f s...\n", opt.seconds);
    run_reads(&res->ro, &job);
    tail_check("reads, read-only");

    updater_t *u = xcalloc(1, sizeof *u);
    u->rate = UPDATE_RATE;
    u->touched = xcalloc(opt.records, 1);
    producer_init(&u->p, B.topic, LOAD_LINGER_MS, NULL, "fstore-bench-updates");
    u->p.nids = opt.records;
    u->p.last_offset = xcalloc(opt.records, sizeof *u->p.last_offset);
    u->p.last_partition = xcalloc(opt.records, sizeof *u->p.last_partition);
    for (unsigned i = 0; i < opt.records; i++)
        u->p.last_offset[i] = -1;
    fprintf(stderr, "reads while %.0f updates/s flow, %.1f s...\n", UPDATE_RATE,
            opt.seconds);
    pthread_t th;
    uint64_t u0 = now_ns();
    if (pthread_create(&th, NULL, updater_main, u) != 0)
        die("pthread_create failed");
    /* Let the flow reach the store before the window opens. */
    sleep_ns(1000000000u);
    uint64_t s0 = atomic_load(&u->sent), w0 = now_ns();
    run_reads(&res->during, &job);
    res->during.produced = atomic_load(&u->sent) - s0;
    res->during.produced_s = secs(now_ns() - w0);
    atomic_store(&u->stop, 1);
    pthread_join(th, NULL);
    res->updates_total = atomic_load(&u->sent);
    res->updates_s = secs(now_ns() - u0);
    tail_check("reads during ingest");
    if (res->during.applied == 0)
        die("the tailer applied no record while %" PRIu64 " updates were "
            "produced during the read window: the reads-during-ingest figure "
            "would be a read-only one",
            res->during.produced);
    wait_applied(&u->p, "reads during ingest");
    res->checked = check_updates(u);
    producer_free(&u->p);
    free(u->p.last_offset);
    free(u->p.last_partition);
    free(u->touched);
    free(u);
    free(seq);
}

/* ---- phase 3: freshness ---------------------------------------------------
 */

typedef struct {
    unsigned rate;
    uint64_t produced, seen;
    double produce_s; /* first to last measured produce call */
    fs_hist h;        /* produce -> seen, ns */
} side_t;

typedef struct {
    side_t kafka, fstore;
    double apply[4]; /* the tailer's apply_ms in the case: p50 p99 p999 max */
} fresh_case_t;

/* One freshness run: records [0, total) of keys base + i; the first
 * WARM_RECORDS are not counted. */
typedef struct {
    uint32_t base;
    size_t total;
    uint64_t *sent; /* ns, taken just before each produce call */
    uint64_t *seen; /* ns, when first seen */
    _Atomic size_t produced;
    _Atomic uint64_t done_at; /* every delivery confirmed at, or 0 */
    _Atomic uint64_t nseen;   /* written by the watching thread only */
    rd_kafka_t *consumer;     /* the Kafka side */
} fresh_t;

static int fresh_finished(fresh_t *F)
{
    uint64_t done = atomic_load(&F->done_at);
    if (atomic_load(&F->nseen) == F->total)
        return 1;
    return done != 0 && now_ns() - done > SEEN_TIMEOUT_S * 1000000000ull;
}

static void fresh_mark(fresh_t *F, uint32_t id, uint64_t t)
{
    if (id < F->base || id - F->base >= F->total)
        return;
    size_t i = id - F->base;
    /* produced is stored (release) after sent[i]: this acquire makes
     * sent[i] readable. A record cannot arrive before its produce call. */
    if (i >= atomic_load_explicit(&F->produced, memory_order_acquire) ||
        F->seen[i] != 0)
        return;
    F->seen[i] = t;
    atomic_fetch_add(&F->nseen, 1);
}

static void *kafka_consumer_main(void *arg)
{
    fresh_t *F = arg;
    while (!fresh_finished(F)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(F->consumer, 50);
        uint64_t t = now_ns();
        if (m == NULL)
            continue;
        if (m->err)
            die("consuming %s: %s", B.ktopic, rd_kafka_message_errstr(m));
        fresh_mark(F, id_of(m->key, m->key_len), t);
        rd_kafka_message_destroy(m);
    }
    return NULL;
}

/* Refreshes a reader every CHECK_PAUSE_NS and looks up every record produced
 * and not seen yet; the time after a refresh is the time its finds are
 * first visible. */
static void *fstore_checker_main(void *arg)
{
    fresh_t *F = arg;
    fstore_reader_t *rd;
    fs_check(fstore_reader_new(B.store, &rd), "fstore_reader_new", NULL);
    size_t lo = 0;
    char key[KEY_STRIDE];
    while (!fresh_finished(F)) {
        fs_check(fstore_reader_refresh(rd), "fstore_reader_refresh",
                 fstore_reader_errmsg(rd));
        uint64_t t = now_ns();
        size_t n = atomic_load_explicit(&F->produced, memory_order_acquire);
        for (size_t i = lo; i < n; i++) {
            if (F->seen[i] != 0)
                continue;
            const fstore_row_t *row;
            key_of(key, F->base + (uint32_t)i);
            fstore_err_t err = fstore_get(rd, B.table, key, KEY_LEN, &row);
            if (err == FSTORE_NOT_FOUND)
                continue;
            if (err != FSTORE_OK)
                die("freshness: fstore_get %s: %s (%s)", key,
                    fstore_err_name(err), fstore_reader_errmsg(rd));
            F->seen[i] = t;
            atomic_fetch_add(&F->nseen, 1);
        }
        while (lo < n && F->seen[lo] != 0)
            lo++;
        /* A reader polling in a tight loop would take a core from the
         * tailer and the broker it measures (all share this machine):
         * poll every CHECK_PAUSE_NS, the resolution of these figures. */
        struct timespec pause = {0, CHECK_PAUSE_NS};
        nanosleep(&pause, NULL);
    }
    fstore_reader_destroy(rd);
    return NULL;
}

/* Produces F->total records at @p rate (after the warm-up) while @p fn
 * watches for them; fills @p side. */
static void fresh_run(fresh_t *F, producer_t *p, encoder_t *enc, unsigned rate,
                      void *(*fn)(void *), side_t *side, const char *what)
{
    pthread_t th;
    atomic_store(&F->produced, 0);
    atomic_store(&F->done_at, 0);
    atomic_store(&F->nseen, 0);
    memset(F->sent, 0, F->total * sizeof *F->sent);
    memset(F->seen, 0, F->total * sizeof *F->seen);
    if (pthread_create(&th, NULL, fn, F) != 0)
        die("pthread_create failed");
    char key[KEY_STRIDE];
    uint64_t t0 = now_ns(), first = 0, last = 0;
    for (size_t i = 0; i < F->total; i++) {
        uint32_t id = F->base + (uint32_t)i;
        encode_batch(enc, &id, 1);
        key_of(key, id);
        if (i < WARM_RECORDS) {
            sleep_until(t0 + i * 1000000u); /* 1 ms apart */
        } else {
            if (i == WARM_RECORDS) {
                /* The clients are connected and warm once the warm-up
                 * records have arrived. */
                uint64_t deadline = now_ns() + SEEN_TIMEOUT_S * 1000000000ull;
                while (atomic_load(&F->nseen) < WARM_RECORDS) {
                    producer_poll(p, 1);
                    if (now_ns() > deadline)
                        die("%s: the %d warm-up records were not seen within "
                            "%d s",
                            what, WARM_RECORDS, SEEN_TIMEOUT_S);
                }
                t0 = now_ns();
            }
            sleep_until(t0 +
                        (uint64_t)((double)(i - WARM_RECORDS) * 1e9 / rate));
        }
        uint64_t t = now_ns();
        F->sent[i] = t;
        atomic_store_explicit(&F->produced, i + 1, memory_order_release);
        produce(p, key, enc->arena, enc->starts[1], id);
        producer_poll(p, 0);
        if (i == WARM_RECORDS)
            first = t;
        last = t;
    }
    producer_flush(p);
    atomic_store(&F->done_at, now_ns());
    pthread_join(th, NULL);

    memset(side, 0, sizeof *side);
    side->rate = rate;
    side->produced = F->total - WARM_RECORDS;
    side->produce_s = secs(last - first);
    for (size_t i = WARM_RECORDS; i < F->total; i++)
        if (F->seen[i] != 0) {
            side->seen++;
            /* seen >= sent: a snapshot taken before a produce call cannot
             * hold its record; guard the unsigned difference anyway. */
            fs_hist_add(&side->h,
                        F->seen[i] > F->sent[i] ? F->seen[i] - F->sent[i] : 0);
        }
    if (side->seen != side->produced) {
        fprintf(stderr,
                "\ningest: FRESHNESS FAILURE (%s at %u records/s): %" PRIu64
                " of %" PRIu64 " produced records were not seen within %d s "
                "of the last produce; first missing keys:\n",
                what, rate, side->produced - side->seen, side->produced,
                SEEN_TIMEOUT_S);
        for (size_t i = WARM_RECORDS, shown = 0; i < F->total && shown < 10;
             i++)
            if (F->seen[i] == 0) {
                fprintf(stderr, "  user:%09u\n", F->base + (uint32_t)i);
                shown++;
            }
        die("%s: records produced but never seen: the latency figures would "
            "be wrong",
            what);
    }
}

static void freshness(fresh_case_t *fc)
{
    size_t cap = 0;
    for (int r = 0; r < opt.nrates; r++) {
        size_t total =
            WARM_RECORDS + (size_t)(opt.rates[r] * opt.seconds + 0.5);
        if (total > cap)
            cap = total;
    }
    fresh_t F;
    memset(&F, 0, sizeof F);
    F.sent = xcalloc(cap, sizeof *F.sent);
    F.seen = xcalloc(cap, sizeof *F.seen);

    /* Kafka's side: a plain consumer of the second topic, from its end. */
    F.consumer =
        rk_consumer("fstore-bench-fresh-consumer", "freshness consumer");
    rd_kafka_topic_partition_list_t *l =
        rd_kafka_topic_partition_list_new(NPARTS);
    for (int32_t q = 0; q < NPARTS; q++) {
        int64_t lo, hi;
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
            F.consumer, B.ktopic, q, &lo, &hi, KAFKA_TIMEOUT_MS);
        if (e)
            die("watermarks of %s [%d]: %s", B.ktopic, q, rd_kafka_err2str(e));
        rd_kafka_topic_partition_list_add(l, B.ktopic, q)->offset = hi;
    }
    rd_kafka_poll_set_consumer(F.consumer);
    rd_kafka_resp_err_t e = rd_kafka_assign(F.consumer, l);
    if (e)
        die("assigning %s to the freshness consumer: %s", B.ktopic,
            rd_kafka_err2str(e));
    rd_kafka_topic_partition_list_destroy(l);

    producer_t pk, pf;
    producer_init(&pk, B.ktopic, FRESH_LINGER_MS, FRESH_NAGLE_DISABLE,
                  "fstore-bench-fresh-kafka");
    producer_init(&pf, B.topic, FRESH_LINGER_MS, FRESH_NAGLE_DISABLE,
                  "fstore-bench-fresh-fstore");
    encoder_t enc;
    encoder_init(&enc);
    uint32_t next = opt.records;
    for (int r = 0; r < opt.nrates; r++) {
        unsigned rate = opt.rates[r];
        F.total = WARM_RECORDS + (size_t)(rate * opt.seconds + 0.5);
        fprintf(stderr,
                "freshness at %u records/s, %.1f s: Kafka "
                "produce -> consume...\n",
                rate, opt.seconds);
        F.base = next;
        next += (uint32_t)F.total;
        fresh_run(&F, &pk, &enc, rate, kafka_consumer_main, &fc[r].kafka,
                  "Kafka produce -> consume");
        fprintf(stderr,
                "freshness at %u records/s, %.1f s: fstore "
                "produce -> visible...\n",
                rate, opt.seconds);
        /* A new tailer, so that its apply_ms covers this case alone. */
        store_reopen();
        F.base = next;
        next += (uint32_t)F.total;
        fresh_run(&F, &pf, &enc, rate, fstore_checker_main, &fc[r].fstore,
                  "fstore produce -> visible");
        tail_check("freshness");
        stats_apply(fc[r].apply);
    }
    encoder_free(&enc);
    producer_free(&pk);
    producer_free(&pf);
    rd_kafka_consumer_close(F.consumer);
    rd_kafka_destroy(F.consumer);
    free(F.sent);
    free(F.seen);
}

/* ---- reporting ------------------------------------------------------------
 */

static double ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

static double pms(const fs_hist *h, double q)
{
    return ms(fs_hist_quantile_high(h, q));
}

static double lookups_per_s(const reads_t *r)
{
    return ratio((double)r->lookups, r->elapsed);
}

static double side_rate(const side_t *s)
{
    return ratio((double)(s->produced > 1 ? s->produced - 1 : 0), s->produce_s);
}

typedef struct {
    boot_t boot;
    reads_result_t reads;
    fresh_case_t fresh[MAX_RATES];
    double clk;
    double value_mean, used_per_entity, disk_per_entity, consume_mean;
    ratio_t ratios[8 + MAX_RATES];
    int nratios;
} report_t;

static void add_ratio(report_t *R, const char *id, const char *what,
                      double value, const char *target, int at_least,
                      double goal)
{
    ratio_t r = {id, what, value, target, at_least, goal};
    R->ratios[R->nratios++] = r;
}

static void compute(report_t *R)
{
    const boot_t *b = &R->boot;
    const uint64_t n = opt.records;
    R->value_mean = (double)b->value_bytes / (double)n;
    R->used_per_entity = (double)lmdb_used_bytes(&b->lmdb) / (double)n;
    R->disk_per_entity = (double)b->disk_bytes / (double)n;
    R->consume_mean =
        (run_rate(&b->consume[0]) + run_rate(&b->consume[1])) / 2.0;
    add_ratio(R, "bootstrap_fstore_over_consume_only",
              "bootstrap: fstore / librdkafka consume-only (mean)",
              ratio(run_rate(&b->fstore), R->consume_mean), ">= 0.7", 1, 0.7);
    add_ratio(R, "size_used_over_values",
              "size: store pages in use / raw Avro values (unframed)",
              ratio(R->used_per_entity, R->value_mean), "<= 1.5", 0, 1.5);
    add_ratio(R, "size_disk_over_values",
              "size: store on disk / raw Avro values (unframed)",
              ratio(R->disk_per_entity, R->value_mean), NULL, 0, 0);
    add_ratio(
        R, "reads_during_over_read_only",
        "reads: lookups/s during ingest / read-only",
        ratio(lookups_per_s(&R->reads.during), lookups_per_s(&R->reads.ro)),
        ">= 0.9", 1, 0.9);
    add_ratio(R, "reads_p99_during_over_read_only",
              "reads: p99 during ingest / read-only",
              ratio((double)fs_hist_quantile_high(&R->reads.during.h, .99),
                    (double)fs_hist_quantile_high(&R->reads.ro.h, .99)),
              NULL, 0, 0);
    for (int r = 0; r < opt.nrates; r++) {
        static char ids[MAX_RATES][64], whats[MAX_RATES][96];
        const fresh_case_t *f = &R->fresh[r];
        snprintf(ids[r], sizeof ids[r], "fresh_p99_fstore_over_kafka_at_%u",
                 opt.rates[r]);
        snprintf(whats[r], sizeof whats[r],
                 "freshness at %u/s: p99 fstore / Kafka", opt.rates[r]);
        add_ratio(R, ids[r], whats[r],
                  ratio((double)fs_hist_quantile_high(&f->fstore.h, .99),
                        (double)fs_hist_quantile_high(&f->kafka.h, .99)),
                  NULL, 0, 0);
        if (opt.rates[r] == 10000)
            add_ratio(R, "fresh_p99_ms_at_10000",
                      "produce -> visible p99 at 10k records/s (ms)",
                      pms(&f->fstore.h, .99), "<= 5 ms", 0, 5.0);
    }
}

static void print_run(FILE *f, int md, const char *name, const run_t *r)
{
    if (md)
        fprintf(f, "| %s | %" PRIu64 " | %.3f | %.0f |\n", name, r->records,
                r->seconds, run_rate(r));
    else
        fprintf(f, "  %-46s %10" PRIu64 " %9.3f %12.0f\n", name, r->records,
                r->seconds, run_rate(r));
}

static void print_size(FILE *f, int md, const char *name, uint64_t bytes,
                       double per_entity, double x_value)
{
    if (md)
        fprintf(f, "| %s | %" PRIu64 " | %.1f | %.2f |\n", name, bytes,
                per_entity, x_value);
    else
        fprintf(f, "  %-46s %12" PRIu64 " B %8.1f B/entity %6.2fx\n", name,
                bytes, per_entity, x_value);
}

static void print_tables(FILE *f, int md, const report_t *R)
{
    const boot_t *b = &R->boot;
    const reads_result_t *rr = &R->reads;

    if (md)
        fprintf(f,
                "### Bootstrap (%u records, one per entity, %d "
                "partitions)\n\n| run | records | seconds | records/s |\n"
                "|---|--:|--:|--:|\n",
                opt.records, NPARTS);
    else
        fprintf(f,
                "bootstrap: %u records, one per entity, %d partitions\n"
                "  %-46s %10s %9s %12s\n",
                opt.records, NPARTS, "run", "records", "seconds", "records/s");
    print_run(f, md, "producing them (linger.ms=" LOAD_LINGER_MS ")", &b->load);
    print_run(f, md, "librdkafka consume-only, run 1", &b->consume[0]);
    print_run(f, md, "fstore bootstrap (tail_start -> wait_ready)", &b->fstore);
    print_run(f, md, "librdkafka consume-only, run 2", &b->consume[1]);
    if (md)
        fprintf(f, "| librdkafka consume-only, mean | | | %.0f |\n",
                R->consume_mean);
    else
        fprintf(f, "  %-46s %10s %9s %12.0f\n", "librdkafka consume-only, mean",
                "", "", R->consume_mean);

    fprintf(f,
            md ? "\n### Size after the bootstrap (%u entities)\n\n"
                 "| what | bytes | bytes per entity | x raw value |\n"
                 "|---|--:|--:|--:|\n"
               : "\nsize after the bootstrap: %u entities\n",
            opt.records);
    print_size(f, md, "raw Avro values (without the 5-byte frame)",
               b->value_bytes, R->value_mean, 1.0);
    print_size(f, md, "fstore: LMDB pages in use (extent - free list)",
               lmdb_used_bytes(&b->lmdb), R->used_per_entity,
               ratio(R->used_per_entity, R->value_mean));
    print_size(f, md, "fstore: allocated on disk (as bench_baselines)",
               b->disk_bytes, R->disk_per_entity,
               ratio(R->disk_per_entity, R->value_mean));
    if (!md)
        fprintf(f,
                "  (%" PRIu64 " pages of %" PRIu64 " bytes, %" PRIu64
                " of them free)\n",
                b->lmdb.pages, b->lmdb.page_size, b->lmdb.free_pages);

    if (md)
        fprintf(f,
                "\n### Reads during ingest (1 reader thread, random keys, "
                "fstore_get + 4 columns, %.1f s each)\n\n"
                "| case | lookups/s | mean ns | p50 ns | p99 ns | p999 ns "
                "| records applied in window |\n"
                "|---|--:|--:|--:|--:|--:|--:|\n",
                opt.seconds);
    else
        fprintf(f,
                "\nreads during ingest: 1 reader thread, random keys, "
                "fstore_get + 4 columns, %.1f s each\n"
                "  %-34s %11s %8s %8s %8s %9s %9s\n",
                opt.seconds, "case", "lookups/s", "mean ns", "p50 ns", "p99 ns",
                "p999 ns", "applied");
    const reads_t *cases[2] = {&rr->ro, &rr->during};
    const char *names[2] = {"read-only (tailer idle)",
                            "while 10k updates/s are applied"};
    for (int i = 0; i < 2; i++) {
        const reads_t *r = cases[i];
        fprintf(f,
                md ? "| %s | %.0f | %.0f | %.0f | %.0f | %.0f | %" PRIu64 " |\n"
                   : "  %-34s %11.0f %8.0f %8.0f %8.0f %9.0f %9" PRIu64 "\n",
                names[i], lookups_per_s(r), fs_hist_mean(&r->h),
                (double)fs_hist_quantile_high(&r->h, .5),
                (double)fs_hist_quantile_high(&r->h, .99),
                (double)fs_hist_quantile_high(&r->h, .999), r->applied);
    }
    fprintf(f,
            "%supdates: %" PRIu64 " produced in the %.2f s window (%.0f/s; "
            "target %.0f/s, linger.ms=" LOAD_LINGER_MS "), %" PRIu64
            " applied by the tailer in it (%.0f/s); afterwards all %" PRIu64
            " updated entities hold their last update (row offsets "
            "checked). Lookups/s and latencies come from one loop with a "
            "clock read around each lookup (%.1f ns each here); the reader "
            "refreshes every %d lookups, outside the latencies but inside "
            "lookups/s.\n",
            md ? "\n" : "  ", rr->during.produced, rr->during.produced_s,
            ratio((double)rr->during.produced, rr->during.produced_s),
            UPDATE_RATE, rr->during.applied,
            ratio((double)rr->during.applied, rr->during.elapsed), rr->checked,
            R->clk, REFRESH_EVERY);

    if (md)
        fprintf(f,
                "\n### Freshness (new keys, %.1f s per case; producers "
                "linger.ms=" FRESH_LINGER_MS
                ", socket.nagle.disable=" FRESH_NAGLE_DISABLE
                "; consumers fetch.wait.max.ms=" FETCH_WAIT_MS
                ", read_committed)\n\n"
                "| rate target | path | produced | seen | achieved/s | "
                "p50 ms | p99 ms | p999 ms | max ms |\n"
                "|--:|---|--:|--:|--:|--:|--:|--:|--:|\n",
                opt.seconds);
    else
        fprintf(f,
                "\nfreshness: new keys, %.1f s per case; producers "
                "linger.ms=" FRESH_LINGER_MS
                ", socket.nagle.disable=" FRESH_NAGLE_DISABLE
                "; consumers fetch.wait.max.ms=" FETCH_WAIT_MS
                ", read_committed\n"
                "  %8s %-28s %8s %8s %10s %8s %8s %8s %8s\n",
                opt.seconds, "target/s", "path", "produced", "seen",
                "achieved/s", "p50 ms", "p99 ms", "p999 ms", "max ms");
    for (int r = 0; r < opt.nrates; r++) {
        const side_t *sides[2] = {&R->fresh[r].kafka, &R->fresh[r].fstore};
        const char *paths[2] = {"Kafka produce -> consume",
                                "fstore produce -> visible"};
        for (int i = 0; i < 2; i++) {
            const side_t *s = sides[i];
            fprintf(f,
                    md ? "| %u | %s | %" PRIu64 " | %" PRIu64
                         " | %.0f | %.2f | %.2f | %.2f | %.2f |\n"
                       : "  %8u %-28s %8" PRIu64 " %8" PRIu64
                         " %10.0f %8.2f %8.2f %8.2f %8.2f\n",
                    s->rate, paths[i], s->produced, s->seen, side_rate(s),
                    pms(&s->h, .5), pms(&s->h, .99), pms(&s->h, .999),
                    ms(s->h.max));
        }
        const double *a = R->fresh[r].apply;
        fprintf(f,
                md ? "| %u | %s | %s | %s | %s | %.2f | %.2f | %.2f | %.2f |\n"
                   : "  %8u %-28s %8s %8s %10s %8.2f %8.2f %8.2f %8.2f\n",
                opt.rates[r], "  of which the tailer's", md ? "" : "-",
                md ? "" : "-", md ? "" : "-", a[0], a[1], a[2], a[3]);
    }
    fprintf(f,
            "%slatency = when the record was received (Kafka) or first "
            "found by a reader refreshed every 0.1 ms (fstore) - the "
            "time taken just before its produce call. Every produced "
            "record was seen. The tailer's part (its statistics' apply_ms, "
            "docs/stats.md): from taking a record off the consumer's queue "
            "to the commit that made it visible.\n",
            md ? "\n" : "  ");

    print_ratios(f, md, R->ratios, R->nratios, 56);
}

static void json_run(FILE *f, const char *name, const run_t *r,
                     const char *tail)
{
    fprintf(f,
            "%s{\"records\": %" PRIu64 ", \"seconds\": %.4f, "
            "\"records_per_s\": %.1f}%s",
            name, r->records, r->seconds, run_rate(r), tail);
}

static void json_hist(FILE *f, const fs_hist *h, int in_ms)
{
    if (in_ms)
        fprintf(f,
                "\"samples\": %" PRIu64 ", \"mean_ms\": %.4f, "
                "\"p50_ms\": %.4f, \"p99_ms\": %.4f, \"p999_ms\": %.4f, "
                "\"max_ms\": %.4f",
                h->count, fs_hist_mean(h) / 1e6, pms(h, .5), pms(h, .99),
                pms(h, .999), ms(h->max));
    else
        fprintf(f,
                "\"samples\": %" PRIu64 ", \"mean_ns\": %.1f, \"p50_ns\": "
                "%" PRIu64 ", \"p99_ns\": %" PRIu64 ", \"p999_ns\": %" PRIu64
                ", \"max_ns\": %" PRIu64,
                h->count, fs_hist_mean(h), fs_hist_quantile_high(h, .5),
                fs_hist_quantile_high(h, .99), fs_hist_quantile_high(h, .999),
                h->max);
}

static void json_reads(FILE *f, const char *name, const reads_t *r)
{
    fprintf(f,
            "    \"%s\": {\"lookups\": %" PRIu64 ", \"seconds\": %.4f, "
            "\"lookups_per_s\": %.1f, ",
            name, r->lookups, r->elapsed, lookups_per_s(r));
    json_hist(f, &r->h, 0);
}

static void write_json(const report_t *R)
{
    FILE *f = fopen(opt.json, "w");
    if (f == NULL)
        die("%s: %s", opt.json, strerror(errno));
    const boot_t *b = &R->boot;
    const reads_result_t *rr = &R->reads;
    fprintf(f,
            "{\n  \"bench\": \"ingest\",\n  \"fstore_version\": \"%s\",\n"
            "  \"librdkafka_version\": \"%s\",\n  \"records\": %u,\n"
            "  \"partitions\": %d,\n  \"seconds_per_case\": %.2f,\n"
            "  \"clock_overhead_ns\": %.2f,\n  \"topic\": \"%s\",\n"
            "  \"clients\": {\"load_producer\": \"linger.ms=%s\", "
            "\"update_producer\": \"linger.ms=%s\", "
            "\"freshness_producers\": \"linger.ms=%s "
            "socket.nagle.disable=%s\", \"consumers\": "
            "\"fetch.wait.max.ms=%s isolation.level=read_committed\", "
            "\"partitioner\": \"murmur2_random\", "
            "\"extra_properties\": [",
            fstore_version_str(), rd_kafka_version_str(), opt.records, NPARTS,
            opt.seconds, R->clk, B.topic, LOAD_LINGER_MS, LOAD_LINGER_MS,
            FRESH_LINGER_MS, FRESH_NAGLE_DISABLE, FETCH_WAIT_MS);
    for (int i = 0; i < opt.nprops; i++)
        fprintf(f, "%s\"%s\"", i ? ", " : "", opt.props[i]);
    fprintf(f, "], \"fstore_properties\": [");
    for (int i = 0; i < opt.nfprops; i++)
        fprintf(f, "%s\"%s\"", i ? ", " : "", opt.fprops[i]);
    fprintf(f, "]},\n");
    json_run(f, "  \"load\": ", &b->load, ",\n");
    fprintf(f, "  \"bootstrap\": {\n    \"consume_only\": [");
    json_run(f, "", &b->consume[0], ", ");
    json_run(f, "", &b->consume[1], "],\n");
    fprintf(f, "    \"consume_only_mean_records_per_s\": %.1f,\n",
            R->consume_mean);
    json_run(f, "    \"fstore\": ", &b->fstore, ",\n");
    fprintf(f, "    \"ratio_fstore_over_consume_only\": %.4f\n  },\n",
            ratio(run_rate(&b->fstore), R->consume_mean));
    fprintf(f,
            "  \"size\": {\"entities\": %u, \"value_bytes_unframed\": %" PRIu64
            ", \"mean_value_bytes_unframed\": %.2f, \"page_size_bytes\": "
            "%" PRIu64 ", \"lmdb_pages\": %" PRIu64 ", \"store_used_bytes\": "
            "%" PRIu64 ", \"store_disk_bytes\": %" PRIu64
            ", \"used_bytes_per_entity\": %.2f, \"disk_bytes_per_entity\": "
            "%.2f, \"ratio_used_over_values\": %.4f, "
            "\"ratio_disk_over_values\": %.4f},\n",
            opt.records, b->value_bytes, R->value_mean, b->lmdb.page_size,
            b->lmdb.pages, lmdb_used_bytes(&b->lmdb), b->disk_bytes,
            R->used_per_entity, R->disk_per_entity,
            ratio(R->used_per_entity, R->value_mean),
            ratio(R->disk_per_entity, R->value_mean));
    fprintf(f, "  \"reads\": {\n    \"refresh_every_lookups\": %d,\n",
            REFRESH_EVERY);
    json_reads(f, "read_only", &rr->ro);
    fprintf(f, "},\n");
    json_reads(f, "during_ingest", &rr->during);
    fprintf(f,
            ", \"update_rate_target\": %.0f, \"updates_produced\": %" PRIu64
            ", \"updates_produced_per_s\": %.1f, \"updates_applied\": %" PRIu64
            ", \"updates_applied_per_s\": %.1f, \"updated_entities_checked\": "
            "%" PRIu64 "},\n",
            UPDATE_RATE, rr->during.produced,
            ratio((double)rr->during.produced, rr->during.produced_s),
            rr->during.applied,
            ratio((double)rr->during.applied, rr->during.elapsed), rr->checked);
    fprintf(f, "    \"ratio_during_over_read_only\": %.4f\n  },\n",
            ratio(lookups_per_s(&rr->during), lookups_per_s(&rr->ro)));
    fprintf(f, "  \"freshness\": [\n");
    for (int r = 0; r < opt.nrates; r++) {
        const side_t *sides[2] = {&R->fresh[r].kafka, &R->fresh[r].fstore};
        const char *names[2] = {"kafka", "fstore"};
        fprintf(f, "    {\"rate\": %u", opt.rates[r]);
        for (int i = 0; i < 2; i++) {
            const side_t *s = sides[i];
            fprintf(f,
                    ",\n     \"%s\": {\"produced\": %" PRIu64
                    ", \"seen\": %" PRIu64 ", \"achieved_rate\": %.1f, ",
                    names[i], s->produced, s->seen, side_rate(s));
            json_hist(f, &s->h, 1);
            fprintf(f, "}");
        }
        const double *a = R->fresh[r].apply;
        fprintf(f,
                ",\n     \"fstore_tailer_apply\": {\"p50_ms\": %.4f, "
                "\"p99_ms\": %.4f, \"p999_ms\": %.4f, \"max_ms\": %.4f}",
                a[0], a[1], a[2], a[3]);
        fprintf(f, ",\n     \"ratio_p99_fstore_over_kafka\": %.4f}%s\n",
                ratio((double)fs_hist_quantile_high(&R->fresh[r].fstore.h, .99),
                      (double)fs_hist_quantile_high(&R->fresh[r].kafka.h, .99)),
                r + 1 < opt.nrates ? "," : "");
    }
    fprintf(f, "  ],\n  \"ratios\": {\n");
    json_ratios(f, R->ratios, R->nratios, 4);
    fprintf(f, "  }\n}\n");
    if (fclose(f) != 0)
        die("%s: write failed", opt.json);
}

static void write_hists(const report_t *R)
{
    char path[4400], label[160];
    if (mkdir(opt.hist_dir, 0755) != 0 && errno != EEXIST)
        die("mkdir %s: %s", opt.hist_dir, strerror(errno));
    snprintf(path, sizeof path, "%s/ingest_reads_read_only.dat", opt.hist_dir);
    h_write_dat(&R->reads.ro.h, path, "fstore_get + 4 columns, read-only");
    snprintf(path, sizeof path, "%s/ingest_reads_during.dat", opt.hist_dir);
    h_write_dat(&R->reads.during.h, path,
                "fstore_get + 4 columns, during 10k updates/s");
    for (int r = 0; r < opt.nrates; r++) {
        snprintf(path, sizeof path, "%s/fresh_kafka_%u.dat", opt.hist_dir,
                 opt.rates[r]);
        snprintf(label, sizeof label, "Kafka produce -> consume, %u/s",
                 opt.rates[r]);
        h_write_dat(&R->fresh[r].kafka.h, path, label);
        snprintf(path, sizeof path, "%s/fresh_fstore_%u.dat", opt.hist_dir,
                 opt.rates[r]);
        snprintf(label, sizeof label, "fstore produce -> visible, %u/s",
                 opt.rates[r]);
        h_write_dat(&R->fresh[r].fstore.h, path, label);
    }
}

int main(int argc, char **argv)
{
    bench_set_prog("ingest");
    parse_args(argc, argv);
    make_dirs();
    static report_t R; /* histograms: keep off the stack */
    R.clk = clock_overhead_ns();

    unsigned pid = (unsigned)getpid();
    long t = (long)time(NULL);
    snprintf(B.topic, sizeof B.topic, "fstore-bench-ingest-%u-%ld", pid, t);
    snprintf(B.ktopic, sizeof B.ktopic, "%s-kafka", B.topic);
    const char *topics[2] = {B.topic, B.ktopic};
    create_topics(topics, 2);
    B.keys = make_keys(opt.records);

    printf("ingest: fstore %s, librdkafka %s, broker %s\n",
           fstore_version_str(), rd_kafka_version_str(), opt.brokers);
    printf("topics %s and %s (%d partitions, cleanup.policy=compact); store "
           "in %s\n",
           B.topic, B.ktopic, NPARTS, B.dir);
    for (int i = 0; i < opt.nprops; i++)
        printf("every Kafka client (the tailer's too): %s\n", opt.props[i]);
    for (int i = 0; i < opt.nfprops; i++)
        printf("fstore property: %s\n", opt.fprops[i]);
    printf("\n");
    fflush(stdout);

    fprintf(stderr, "producing %u records (one per entity)...\n", opt.records);
    load_topic(&R.boot);
    bootstrap(&R.boot);
    reads_during_ingest(&R.reads);
    freshness(R.fresh);
    fs_check(fstore_tail_stop(B.store), "fstore_tail_stop", NULL);
    compute(&R);

    print_tables(stdout, 0, &R);
    FILE *md = NULL;
    if (opt.markdown != NULL) {
        if ((md = fopen(opt.markdown, "w")) == NULL)
            die("%s: %s", opt.markdown, strerror(errno));
        print_tables(md, 1, &R);
        if (fclose(md) != 0)
            die("%s: write failed", opt.markdown);
    }
    if (opt.hist_dir != NULL)
        write_hists(&R);
    if (opt.json != NULL) {
        write_json(&R);
        printf("figures written to %s\n", opt.json);
    }

    fstore_store_close(B.store);
    B.store = NULL;
    delete_topics(topics, 2);
    free(B.keys);
    return 0;
}
