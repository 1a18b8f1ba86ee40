/*
 * ingest_bench: the ingest half of the targets in docs/performance.md
 * against a real Kafka broker, in one run on the same generated data:
 * bootstrap rate against librdkafka consume-only, store size against the
 * raw values, point lookups while the tailer applies updates, and produce ->
 * visible latency against Kafka's own produce -> consume latency. Measurement
 * only: it prints figures and ratios next to the targets and never judges them;
 * it fails (exit 1) when a measurement is not valid (a record never arrived,
 * updates were not applied, a client error).
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
 * --cpus B,F is the standard setup of bench/run.sh on a machine of two or
 * more CPUs (docs/performance.md): the broker, started with broker.sh
 * --cpus B, has CPU B throughout; for the freshness cases every thread of
 * this process (the tailer's, librdkafka's, the producers') moves to CPU F,
 * so that neither side preempts the other. The bootstrap and the reads run
 * unplaced: on two CPUs, a tailer sharing one with the broker, or with a
 * reader in a tight loop, fell behind a 10k/s flow (5 updates/s applied).
 *
 * Latencies go into bench_common's histograms; --hist-dir writes each as
 * DIR/<case>.dat for bench/run.sh's plots. --kafka-prop NAME=VALUE sets a
 * librdkafka property on every client of the run, the tailer's included.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench_kafka.h"

#include <dirent.h>
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

#define MAX_RATES 16
#define MAX_PROPS 16
#define TABLE BENCH_TABLE
#define UPDATE_RATE 10000.0    /* records/s during the read-while-ingest case */
#define REFRESH_EVERY 1024     /* lookups between reader refreshes */
#define CHECK_PAUSE_NS 100000L /* freshness checker: pause between rounds */
#define WARM_RECORDS 20        /* uncounted records before a freshness case */
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
    int cpu_broker, cpu_fstore; /* --cpus B,F; -1: not pinned */
    const char *topic;          /* --topic: kept, reused when already full */
    int boot_only;              /* --only bootstrap */
} opt = {.brokers = NULL,
         .cpu_broker = -1,
         .cpu_fstore = -1,
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
            "          [--cpus B,F] [--topic NAME] [--only bootstrap]\n"
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
            "                      (as kafka.N); repeatable\n"
            "  --cpus B,F          the broker runs on CPU B (start it with\n"
            "                      broker.sh start --cpus B); for the\n"
            "                      freshness cases this process's threads\n"
            "                      move to CPU F\n"
            "  --topic NAME        with --only bootstrap: load NAME (and\n"
            "                      NAME-kafka) and keep them; a NAME that\n"
            "                      already holds --records records is read\n"
            "                      as it is, not produced again (a 10M\n"
            "                      topic takes minutes to load)\n"
            "  --only bootstrap    stop after consume-only, the bootstrap\n"
            "                      and the size\n",
            argv0);
    exit(2);
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
            opt.records = bench_parse_uint(a, v, 1000, 100000000ul);
        } else if (strcmp(a, "--rates") == 0) {
            opt.nrates = bench_parse_rates(v, opt.rates, MAX_RATES, 10000000ul);
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
        } else if (strcmp(a, "--topic") == 0) {
            if (!*v || strlen(v) > 100)
                die("--topic wants a topic name of 1 to 100 characters");
            opt.topic = v;
        } else if (strcmp(a, "--only") == 0) {
            if (strcmp(v, "bootstrap") != 0)
                die("--only takes one phase: bootstrap");
            opt.boot_only = 1;
        } else if (strcmp(a, "--cpus") == 0) {
            char *end;
            long b = strtol(v, &end, 10), f = *end == ',' ? strtol(end + 1, &end, 10) : -1;
            long n = sysconf(_SC_NPROCESSORS_ONLN);
            if (*end || b < 0 || f < 0 || b == f || b >= n || f >= n)
                die("--cpus wants BROKER,FSTORE: two different CPUs of 0-%ld", n - 1);
            opt.cpu_broker = (int)b;
            opt.cpu_fstore = (int)f;
        } else {
            usage(argv[0]);
        }
    }
    if (opt.topic && !opt.boot_only)
        die("--topic goes with --only bootstrap: the later phases add records "
            "to the topic, so it could not be read as it was again");
    if (opt.boot_only)
        opt.nrates = 0;
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

static volatile uint64_t g_sink; /* keeps reads from being optimised out */
/* Unframed value bytes the last consume-only run read. */
static uint64_t g_value_bytes;

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

/* Sets the properties @p props[0..n), NAME=VALUE each, on @p conf as
 * @p prefix NAME. */
static void conf_props(fstore_conf_t *conf, const char *const *props, int n,
                       const char *prefix)
{
    for (int i = 0; i < n; i++) {
        char name[256];
        const char *value = prop_split(props[i], prefix, name, sizeof name);
        bench_conf_set(conf, name, value);
    }
}

/* Opens (creating) the store with its table and writer schema 1. */
static void store_open(void)
{
    fstore_conf_t *conf = bench_conf_new(bench_map_size(opt.records, 2048u));
    bench_conf_set(conf, "kafka.bootstrap.servers", opt.brokers);
    conf_props(conf, opt.props, opt.nprops, "kafka.");
    conf_props(conf, opt.fprops, opt.nfprops, "");
    B.store = bench_store_open(B.dir, conf, &B.table);
    bench_point_cols(B.table, B.point_cols);
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
    bench_tail_check(B.store, "waiting for the bootstrap");
    if (err == FSTORE_ERR_TIMED_OUT)
        die("the store was not ready %d s after fstore_tail_start (the "
            "tailer's messages above, if any, say why)",
            timeout_s);
    fs_check(err, "fstore_tail_wait_ready", NULL);
    return secs(t1 - t0);
}

/* tables.<TABLE>.counters.applied of the live stats. */
static uint64_t stats_applied(void)
{
    json_t *root = bench_store_stats(B.store);
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
    g_value_bytes = 0;
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
            g_value_bytes += m->len >= 5 ? m->len - 5 : 0;
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
    json_t *root = bench_store_stats(B.store),
           *st = json_object_get(root, "store");
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
    if (bt->value_bytes == 0) /* a reused topic: not produced by this run */
        bt->value_bytes = g_value_bytes;
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

/* ---- CPU placement (--cpus) ---------------------------------------------- */

static void pin_thread(pid_t tid, int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    /* A thread may end between the listing and the call. */
    if (sched_setaffinity(tid, sizeof set, &set) != 0 && errno != ESRCH)
        die("pinning thread %d to CPU %d: %s", (int)tid, cpu, strerror(errno));
}

/* Moves every thread of this process (this one, librdkafka's, the
 * tailer's) to cpu; threads made later inherit it from their maker. */
static void pin_process(int cpu)
{
    if (cpu < 0)
        return;
    DIR *d = opendir("/proc/self/task");
    if (d == NULL)
        die("/proc/self/task: %s", strerror(errno));
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] >= '0' && e->d_name[0] <= '9')
            pin_thread((pid_t)atoi(e->d_name), cpu);
    closedir(d);
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
    /* Per entity: partition and offset of its last delivered update. */
    int64_t *last_offset;
    int32_t *last_partition;
} updater_t;

/* The update producer's on_delivered: notes entity @p id's last update. */
static void note_update(producer_t *p, uint32_t id, int32_t partition,
                        int64_t offset)
{
    updater_t *u = p->ctx;
    if (id < opt.records && offset > u->last_offset[id]) {
        u->last_offset[id] = offset;
        u->last_partition[id] = partition;
    }
}

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
        bench_tail_check(B.store, what);
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
        if (fstore_row_offset(row) != u->last_offset[id] ||
            fstore_row_partition(row) != u->last_partition[id]) {
            if (wrong++ < 5)
                fprintf(stderr,
                        "ingest: %.*s: row from [%d] offset %" PRId64
                        ", its last update is [%d] offset %" PRId64 "\n",
                        KEY_LEN, key, fstore_row_partition(row),
                        fstore_row_offset(row), u->last_partition[id],
                        u->last_offset[id]);
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
    bench_tail_check(B.store, "reads, read-only");

    updater_t *u = xcalloc(1, sizeof *u);
    u->rate = UPDATE_RATE;
    u->touched = xcalloc(opt.records, 1);
    producer_init(&u->p, B.topic, LOAD_LINGER_MS, NULL, "fstore-bench-updates");
    u->p.on_delivered = note_update;
    u->p.ctx = u;
    u->last_offset = xcalloc(opt.records, sizeof *u->last_offset);
    u->last_partition = xcalloc(opt.records, sizeof *u->last_partition);
    for (unsigned i = 0; i < opt.records; i++)
        u->last_offset[i] = -1;
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
    bench_tail_check(B.store, "reads during ingest");
    if (res->during.applied == 0)
        die("the tailer applied no record while %" PRIu64 " updates were "
            "produced during the read window: the reads-during-ingest figure "
            "would be a read-only one",
            res->during.produced);
    wait_applied(&u->p, "reads during ingest");
    res->checked = check_updates(u);
    producer_free(&u->p);
    free(u->last_offset);
    free(u->last_partition);
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

/* The two sides of a freshness case, as the JSON and the plots name them,
 * and as the tables do. */
enum { S_KAFKA, S_FSTORE, SIDES };
static const char *const SIDE_ID[SIDES] = {"kafka", "fstore"};
static const char *const SIDE_NAME[SIDES] = {"Kafka produce -> consume",
                                             "fstore produce -> visible"};

typedef struct {
    side_t side[SIDES];
    double apply[4]; /* the tailer's apply_ms in the case: p50 p99 p999 max */
} fresh_case_t;

/* Refreshes a reader every CHECK_PAUSE_NS and looks up every record produced
 * and not seen yet; the time after a refresh is the time its finds are
 * first visible. Its argument: the run's one path. */
static void *fstore_checker_main(void *arg)
{
    fresh_path_t *p = arg;
    fstore_reader_t *rd;
    fs_check(fstore_reader_new(B.store, &rd), "fstore_reader_new", NULL);
    size_t lo = 0;
    while (!fresh_finished(p->F)) {
        fs_check(fstore_reader_refresh(rd), "fstore_reader_refresh",
                 fstore_reader_errmsg(rd));
        lo = fresh_lookup(p, rd, B.table, lo, now_ns());
        /* A reader polling in a tight loop would take a core from the
         * tailer and the broker it measures (all share this machine):
         * poll every CHECK_PAUSE_NS, the resolution of these figures. */
        struct timespec pause = {0, CHECK_PAUSE_NS};
        nanosleep(&pause, NULL);
    }
    fstore_reader_destroy(rd);
    return NULL;
}

/* Produces @p total records of keys @p base + i at @p rate (after the
 * warm-up) while @p fn watches for them on F's one path; fills @p side. */
static void fresh_run(fresh_t *F, uint32_t base, size_t total, producer_t *p,
                      encoder_t *enc, unsigned rate, void *(*fn)(void *),
                      side_t *side, const char *what)
{
    pthread_t th;
    fresh_reset(F, base, total);
    if (pthread_create(&th, NULL, fn, &F->path[0]) != 0)
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
                while (atomic_load(&F->path[0].nseen) < WARM_RECORDS) {
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
    side->seen = fresh_collect(&F->path[0], WARM_RECORDS, &side->h, what, rate,
                               "records");
}

static void freshness(fresh_case_t *fc)
{
    pin_process(opt.cpu_fstore); /* --cpus: all of it on fstore's CPU */
    size_t cap = 0;
    for (int r = 0; r < opt.nrates; r++) {
        size_t total =
            WARM_RECORDS + (size_t)(opt.rates[r] * opt.seconds + 0.5);
        if (total > cap)
            cap = total;
    }
    fresh_t F; /* one path: the Kafka consumer's, then the store's */
    fresh_init(&F, 1, cap);

    /* Kafka's side: a plain consumer of the second topic, from its end. */
    rd_kafka_t *consumer =
        rk_consumer("fstore-bench-fresh-consumer", "freshness consumer");
    rk_assign_end(consumer, B.ktopic, "freshness consumer");
    F.path[0].consumer = consumer;

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
        size_t total = WARM_RECORDS + (size_t)(rate * opt.seconds + 0.5);
        fprintf(stderr, "freshness at %u records/s, %.1f s: %s...\n", rate,
                opt.seconds, SIDE_NAME[S_KAFKA]);
        fresh_run(&F, next, total, &pk, &enc, rate, fresh_consumer_main,
                  &fc[r].side[S_KAFKA], SIDE_NAME[S_KAFKA]);
        next += (uint32_t)total;
        fprintf(stderr, "freshness at %u records/s, %.1f s: %s...\n", rate,
                opt.seconds, SIDE_NAME[S_FSTORE]);
        /* A new tailer, so that its apply_ms covers this case alone. */
        store_reopen();
        fresh_run(&F, next, total, &pf, &enc, rate, fstore_checker_main,
                  &fc[r].side[S_FSTORE], SIDE_NAME[S_FSTORE]);
        next += (uint32_t)total;
        bench_tail_check(B.store, "freshness");
        bench_apply_ms(B.store, fc[r].apply);
    }
    encoder_free(&enc);
    producer_free(&pk);
    producer_free(&pf);
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    fresh_free(&F);
}

/* ---- reporting ------------------------------------------------------------
 */

static double lookups_per_s(const reads_t *r)
{
    return ratio((double)r->lookups, r->elapsed);
}

static double side_rate(const side_t *s)
{
    return ratio((double)(s->produced > 1 ? s->produced - 1 : 0), s->produce_s);
}

/* p99 produce -> visible over Kafka's p99 produce -> consume. */
static double fresh_p99_ratio(const fresh_case_t *f)
{
    return ratio((double)fs_hist_quantile_high(&f->side[S_FSTORE].h, .99),
                 (double)fs_hist_quantile_high(&f->side[S_KAFKA].h, .99));
}

typedef struct {
    boot_t boot;
    reads_result_t reads;
    fresh_case_t fresh[MAX_RATES];
    double clk;
    double value_mean, used_per_entity, disk_per_entity, consume_mean;
    ratios_t ratios;
} report_t;

static void compute(report_t *R)
{
    const boot_t *b = &R->boot;
    const uint64_t n = opt.records;
    R->value_mean = (double)b->value_bytes / (double)n;
    R->used_per_entity = (double)lmdb_used_bytes(&b->lmdb) / (double)n;
    R->disk_per_entity = (double)b->disk_bytes / (double)n;
    R->consume_mean =
        (run_rate(&b->consume[0]) + run_rate(&b->consume[1])) / 2.0;
    add_ratio(&R->ratios, "bootstrap_fstore_over_consume_only",
              "bootstrap: fstore / librdkafka consume-only (mean)",
              ratio(run_rate(&b->fstore), R->consume_mean), ">= 0.7", 1, 0.7);
    add_ratio(&R->ratios, "size_used_over_values",
              "size: store pages in use / raw Avro values (unframed)",
              ratio(R->used_per_entity, R->value_mean), "<= 1.5", 0, 1.5);
    add_ratio(&R->ratios, "size_disk_over_values",
              "size: store on disk / raw Avro values (unframed)",
              ratio(R->disk_per_entity, R->value_mean), NULL, 0, 0);
    if (opt.boot_only)
        return;
    add_ratio(
        &R->ratios, "reads_during_over_read_only",
        "reads: lookups/s during ingest / read-only",
        ratio(lookups_per_s(&R->reads.during), lookups_per_s(&R->reads.ro)),
        ">= 0.9", 1, 0.9);
    add_ratio(&R->ratios, "reads_p99_during_over_read_only",
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
        add_ratio(&R->ratios, ids[r], whats[r], fresh_p99_ratio(f), NULL, 0, 0);
        if (opt.rates[r] == 10000)
            add_ratio(&R->ratios, "fresh_p99_ms_at_10000",
                      "produce -> visible p99 at 10k records/s (ms)",
                      pms(&f->side[S_FSTORE].h, .99), "<= 5 ms", 0, 5.0);
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

static void print_tables(FILE *f, int md, const void *report)
{
    const report_t *R = report;
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
    if (opt.boot_only)
        goto ratios;

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
    print_note(f, md,
               "updates: %" PRIu64 " produced in the %.2f s window (%.0f/s; "
               "target %.0f/s, linger.ms=" LOAD_LINGER_MS "), %" PRIu64
               " applied by the tailer in it (%.0f/s); afterwards all %" PRIu64
               " updated entities hold their last update (row offsets "
               "checked). Lookups/s and latencies come from one loop with a "
               "clock read around each lookup (%.1f ns each here); the reader "
               "refreshes every %d lookups, outside the latencies but inside "
               "lookups/s.\n",
               rr->during.produced, rr->during.produced_s,
               ratio((double)rr->during.produced, rr->during.produced_s),
               UPDATE_RATE, rr->during.applied,
               ratio((double)rr->during.applied, rr->during.elapsed),
               rr->checked, R->clk, REFRESH_EVERY);

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
        for (int i = 0; i < SIDES; i++) {
            const side_t *s = &R->fresh[r].side[i];
            fprintf(f,
                    md ? "| %u | %s | %" PRIu64 " | %" PRIu64
                         " | %.0f | %.2f | %.2f | %.2f | %.2f |\n"
                       : "  %8u %-28s %8" PRIu64 " %8" PRIu64
                         " %10.0f %8.2f %8.2f %8.2f %8.2f\n",
                    s->rate, SIDE_NAME[i], s->produced, s->seen, side_rate(s),
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
    print_note(f, md,
               "latency = when the record was received (Kafka) or first "
               "found by a reader refreshed every 0.1 ms (fstore) - the "
               "time taken just before its produce call. Every produced "
               "record was seen. The tailer's part (its statistics' apply_ms, "
               "docs/stats.md): from taking a record off the consumer's queue "
               "to the commit that made it visible.\n");

ratios:
    print_ratios(f, md, R->ratios.r, R->ratios.n, 56);
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

static void write_json(FILE *f, const void *report)
{
    const report_t *R = report;
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
    if (opt.cpu_fstore >= 0)
        fprintf(f, "  \"cpus\": {\"broker\": %d, \"fstore_freshness\": %d},\n",
                opt.cpu_broker, opt.cpu_fstore);

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
    if (opt.boot_only)
        goto ratios;
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
        fprintf(f, "    {\"rate\": %u", opt.rates[r]);
        for (int i = 0; i < SIDES; i++) {
            const side_t *s = &R->fresh[r].side[i];
            fprintf(f,
                    ",\n     \"%s\": {\"produced\": %" PRIu64
                    ", \"seen\": %" PRIu64 ", \"achieved_rate\": %.1f, ",
                    SIDE_ID[i], s->produced, s->seen, side_rate(s));
            json_hist(f, &s->h, 1);
            fprintf(f, "}");
        }
        const double *a = R->fresh[r].apply;
        fprintf(f,
                ",\n     \"fstore_tailer_apply\": {\"p50_ms\": %.4f, "
                "\"p99_ms\": %.4f, \"p999_ms\": %.4f, \"max_ms\": %.4f}",
                a[0], a[1], a[2], a[3]);
        fprintf(f, ",\n     \"ratio_p99_fstore_over_kafka\": %.4f}%s\n",
                fresh_p99_ratio(&R->fresh[r]), r + 1 < opt.nrates ? "," : "");
    }
    fprintf(f, "  ],\n");
ratios:
    fprintf(f, "  \"ratios\": {\n");
    json_ratios(f, R->ratios.r, R->ratios.n, 4);
    fprintf(f, "  }\n}\n");
}

static void write_hists(const report_t *R)
{
    if (opt.boot_only)
        return;
    h_write_dat_in(&R->reads.ro.h, opt.hist_dir, "ingest_reads_read_only",
                   "fstore_get + 4 columns, read-only");
    h_write_dat_in(&R->reads.during.h, opt.hist_dir, "ingest_reads_during",
                   "fstore_get + 4 columns, during 10k updates/s");
    for (int r = 0; r < opt.nrates; r++) {
        for (int i = 0; i < SIDES; i++) {
            char name[64], label[160];
            snprintf(name, sizeof name, "fresh_%s_%u", SIDE_ID[i],
                     opt.rates[r]);
            snprintf(label, sizeof label, "%s, %u/s", SIDE_NAME[i],
                     opt.rates[r]);
            h_write_dat_in(&R->fresh[r].side[i].h, opt.hist_dir, name, label);
        }
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
    if (opt.topic)
        snprintf(B.topic, sizeof B.topic, "%s", opt.topic);
    else
        snprintf(B.topic, sizeof B.topic, "fstore-bench-ingest-%u-%ld", pid, t);
    snprintf(B.ktopic, sizeof B.ktopic, "%s-kafka", B.topic);
    bench_kafka_t k = {opt.brokers, opt.props, opt.nprops, "fstore-bench-admin",
                       1};
    bench_kafka_init(&k);
    const char *topics[2] = {B.topic, B.ktopic};
    bench_create_topics(topics, 2, 0, opt.topic != NULL);
    int64_t held = opt.topic ? bench_topic_records(B.topic) : 0;
    if (held != 0 && held != (int64_t)opt.records)
        die("--topic %s holds %" PRId64 " records, not --records %u: "
            "delete it or name another",
            B.topic, held, opt.records);
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
    if (opt.cpu_fstore >= 0)
        printf("CPUs: the broker on %d; for the freshness cases this process "
               "on %d (the bootstrap and the reads unplaced)\n",
               opt.cpu_broker, opt.cpu_fstore);
    else
        printf("CPUs: not pinned (every thread and the broker share the "
               "machine's CPUs)\n");
    printf("\n");
    fflush(stdout);

    if (held == 0) {
        fprintf(stderr, "producing %u records (one per entity)...\n",
                opt.records);
        load_topic(&R.boot);
    } else {
        fprintf(stderr, "%s already holds %u records: not produced again\n",
                B.topic, opt.records);
    }
    bootstrap(&R.boot);
    if (!opt.boot_only) {
        reads_during_ingest(&R.reads);
        freshness(R.fresh);
    }
    fs_check(fstore_tail_stop(B.store), "fstore_tail_stop", NULL);
    compute(&R);

    bench_tables(print_tables, &R, opt.markdown);
    if (opt.hist_dir != NULL)
        write_hists(&R);
    bench_json(write_json, &R, opt.json);

    fstore_store_close(B.store);
    B.store = NULL;
    if (!opt.topic)
        bench_delete_topics(topics, 2);
    free(B.keys);
    return 0;
}
