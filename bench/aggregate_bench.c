/*
 * aggregate_bench: fstore aggregate (fstore_aggregator_*) against a real
 * Kafka broker, in one run. Measurement only: it prints figures and ratios
 * next to the targets of docs/performance.md and never judges them; it
 * fails (exit 1) when a measurement is not valid (an event never arrived, a
 * client error, a kill that came too late to be mid-stream).
 *
 *   bench_aggregate --brokers HOST:PORT [--events N] [--entities E]
 *                   [--rates R1,R2,...] [--seconds S] [--dir DIR]
 *                   [--json FILE] [--markdown FILE] [--hist-dir DIR]
 *                   [--broker-pid PID]
 *
 * Every aggregation uses the spec of docs/aggregate.md: Confluent-framed
 * Avro events (ts, amount, country) keyed by entity, the default windows
 * (5m/1m, 1h/5m, 1d/1h) and six features (count, sum, mean, min, max of
 * amount, last country), 4 partitions, the default commit interval. Topics
 * are new for every run (fstore-bench-agg-PID-TIME-...) and deleted at the
 * end.
 *
 * 1. Load and throughput: N events (default 4 x E) over E entities (default
 *    1,000,000; keys "user:%09u", uniform at random), event times 2 ms
 *    apart, every delivery awaited. A new aggregator in this process runs
 *    until caught up: events per second of wall time and per CPU-second of
 *    the process (librdkafka's threads included), its transactions, and the
 *    bytes of local state per entity.
 * 2. Restart after SIGKILL: a second aggregation of the same events (its own
 *    group, output and changelog) runs in a child process (fork(); the child
 *    creates the aggregator and its Kafka clients), which reports its
 *    statistics through a pipe every 5 ms. Once 90 % of the entities are in
 *    its committed state, the parent waits one commit interval and half a
 *    median commit more, so that the kill falls inside a transaction (in
 *    its commit when committing takes longer than reading), and SIGKILLs
 *    it; it fails if the child had committed every event by then. Then, on
 *    the same state directory (same instance, which fences the dead one's
 *    transaction): (a) a restart on the state the kill left; (b) a restart
 *    after (a)'s clean stop (the fixed cost of a start); (c) a restart on
 *    the wiped state directory: a full restore from the changelog. Each is
 *    timed from fstore_aggregator_new() to "ready" (every partition
 *    assigned and restored: the statistics list it, polled every 1 ms) and
 *    to caught up (fstore_aggregator_run(until_caught_up) returned), with
 *    the changelog records it restored (restored_records) and the events it
 *    read: for (a), every event the dead process had not committed. The
 *    changelog is as young as the run: its records are every state
 *    written, not yet compacted to one per entity.
 * 3. Freshness at each rate of --rates (default 1000,10000), S seconds each
 *    (default 10), on new topics: an aggregator on a thread of this
 *    process, a store tailing its output topic (fstore_store_open +
 *    fstore_tail_add; the output schema from schemas.dir/2.avsc, registered
 *    as writer schema 2 and used as the table's schema), and a paced
 *    producer (linger.ms=0, socket.nagle.disable=true) of events of new
 *    entities, one per event. Per event, from the time taken just before its
 *    produce call: (a) Kafka: the event consumed from the events topic; (b)
 *    its feature record consumed from the output topic; (c) its entity
 *    found in the tailing store by a reader refreshed every 0.1 ms (looking
 *    keys up only when the table's applied offsets moved). Consumers read
 *    with isolation.level=read_committed and fetch.wait.max.ms=10. 20
 *    warm-up events precede each case and are not counted; every event must
 *    be seen on each path within 30 s of the last produce, or the run
 *    fails. The achieved rate, the share of the machine's CPU time that was
 *    busy (/proc/stat), and the CPU time of this process and of the broker
 *    (--broker-pid) are reported: on 2 cores shared with the broker a rate
 *    may saturate the machine, and then the latencies measure that.
 *
 * Latencies go into histograms; --hist-dir writes each freshness path as
 * DIR/agg_fresh_{kafka,output,store}_<rate>.dat for bench/run.sh's plots.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench_kafka.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/avro_enc.h"
#include "support/files.h"

#define WRITER_ID 1 /* the events' writer schema */
#define OUTPUT_ID 2 /* the output schema (output.schema_id) */
#define MAX_RATES 8
#define MAX_TOPICS (3 * (MAX_RATES + 2))
/* The child is killed once this share of the entities is in its committed
 * state. */
#define KILL_ENTITIES 0.9
#define REPORT_MS 5            /* the child's statistics reports */
#define POLL_STATS_NS 1000000L /* "ready" resolution of the timed runs */
#define RUN_TIMEOUT_MS 1800000 /* bound on one aggregation run */
#define WARM_EVENTS 20         /* uncounted events before a freshness case */
#define WARM_TIMEOUT_S 60      /* bound on the warm-up events' arrival */
#define CHECK_PAUSE_NS 100000L /* store checker: pause between rounds */
#define LOAD_LINGER_MS "20"
#define FRESH_LINGER_MS "0"
#define FRESH_NAGLE_DISABLE "true"
#define EVENT_STEP_MS 2 /* event time between two loaded events */
#define PATHS 3

/* ---- options ------------------------------------------------------------ */

static struct {
    const char *brokers, *dir, *json, *markdown, *hist_dir;
    unsigned events, entities;
    int broker_pid; /* 0: unknown */
    unsigned rates[MAX_RATES];
    int nrates;
    double seconds;
} opt = {
    .entities = 1000000, .rates = {1000, 10000}, .nrates = 2, .seconds = 10};

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s --brokers HOST:PORT [--events N] [--entities E]\n"
            "          [--rates R1,R2,...] [--seconds S] [--dir DIR]\n"
            "          [--json FILE] [--markdown FILE] [--hist-dir DIR]\n"
            "          [--broker-pid PID]\n"
            "  --brokers HOST:PORT a running Kafka broker (required; e.g.\n"
            "                      BROKERS=$(tests/kafka/broker.sh start))\n"
            "  --entities E        entities of the throughput and restart\n"
            "                      runs (default 1000000)\n"
            "  --events N          events over them (default 4 x E, at\n"
            "                      least 50000)\n"
            "  --rates R1,R2,...   freshness rates in events/s (default\n"
            "                      1000,10000)\n"
            "  --seconds S         measuring time per freshness rate\n"
            "                      (default 10)\n"
            "  --dir DIR           work directory for states and stores\n"
            "                      (default: a new temporary directory,\n"
            "                      removed after)\n"
            "  --json FILE         also write the figures as JSON\n"
            "  --markdown FILE     also write the tables as markdown\n"
            "  --hist-dir DIR      write each freshness path's latency\n"
            "                      distribution as DIR/<case>.dat (plots)\n"
            "  --broker-pid PID    the broker's process on this machine: its\n"
            "                      CPU time is reported beside the freshness\n"
            "                      cases\n",
            argv0);
    exit(2);
}

static void parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 || v == NULL)
            usage(argv[0]);
        if (strcmp(a, "--brokers") == 0)
            opt.brokers = v;
        else if (strcmp(a, "--events") == 0)
            opt.events = bench_parse_uint(a, v, 50000, 1000000000ul);
        else if (strcmp(a, "--entities") == 0)
            opt.entities = bench_parse_uint(a, v, 100, 100000000ul);
        else if (strcmp(a, "--rates") == 0)
            opt.nrates = bench_parse_rates(v, opt.rates, MAX_RATES, 1000000ul);
        else if (strcmp(a, "--seconds") == 0) {
            opt.seconds = atof(v);
            if (!(opt.seconds >= 0.1 && opt.seconds <= 3600))
                die("--seconds wants a number in [0.1, 3600]");
        } else if (strcmp(a, "--dir") == 0)
            opt.dir = v;
        else if (strcmp(a, "--json") == 0)
            opt.json = v;
        else if (strcmp(a, "--markdown") == 0)
            opt.markdown = v;
        else if (strcmp(a, "--hist-dir") == 0)
            opt.hist_dir = v;
        else if (strcmp(a, "--broker-pid") == 0)
            opt.broker_pid = (int)bench_parse_uint(a, v, 1, 4194304);
        else
            usage(argv[0]);
    }
    if (opt.brokers == NULL || opt.brokers[0] == '\0')
        die("--brokers HOST:PORT is required (start a broker with "
            "BROKERS=$(tests/kafka/broker.sh start); bench/run.sh does)");
    if (opt.events == 0) {
        uint64_t n = 4ull * opt.entities;
        opt.events = n < 50000           ? 50000
                     : n > 1000000000ull ? 1000000000u
                                         : (unsigned)n;
    }
    /* Event times stay inside the 1-day window: no entity expires. */
    if ((uint64_t)opt.events * EVENT_STEP_MS >= 86400000ull)
        die("--events %u spans more than a day of event time; at most %u",
            opt.events, 86400000u / EVENT_STEP_MS - 1);
}

/* ---- small helpers ------------------------------------------------------ */

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The machine's CPU time from /proc/stat's first line: busy and total
 * jiffies (idle and iowait are not busy). */
typedef struct {
    uint64_t busy, total;
} cpu_sample;

static cpu_sample machine_cpu(void)
{
    cpu_sample s = {0, 0};
    FILE *f = fopen("/proc/stat", "r");
    unsigned long long v[8] = {0};
    if (f == NULL ||
        fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
               &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 8)
        die("reading /proc/stat failed");
    fclose(f);
    for (int i = 0; i < 8; i++)
        s.total += v[i];
    s.busy = s.total - v[3] - v[4];
    return s;
}

/* The CPU seconds process @p pid has used (all its threads). */
static double proc_cpu_s(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = '\0';
    /* Fields after the command's closing parenthesis: state is the 3rd,
     * utime and stime the 14th and 15th. */
    const char *p = strrchr(buf, ')');
    unsigned long long ut, st;
    if (p == NULL ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
               &ut, &st) != 2)
        die("reading %s failed (is --broker-pid %d a process of this machine?)",
            path, pid);
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double busy_pct(cpu_sample a, cpu_sample b)
{
    return b.total > a.total
               ? 100.0 * (double)(b.busy - a.busy) / (double)(b.total - a.total)
               : 0.0;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0)
        die("writing %s: %s", path, strerror(errno));
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        die("%s: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = xcalloc(cap, 1);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (nb == NULL)
                die("out of memory");
            buf = nb;
        }
    }
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* ---- Kafka clients ------------------------------------------------------ */

/* A consumer reading as the tailer does (bench_kafka's rk_consumer),
 * assigned @p topic's partitions at their high watermarks, so that it sees
 * what comes next. */
static rd_kafka_t *rk_watcher(const char *id, const char *topic)
{
    rd_kafka_t *rk = rk_consumer(id, "watching consumer");
    rk_assign_end(rk, topic, "watching consumer");
    return rk;
}

/* Every topic the run made or had made, deleted at the end. */
static char g_topics[MAX_TOPICS][320];
static int g_ntopics;

static void note_topic(const char *name)
{
    if (g_ntopics == MAX_TOPICS)
        die("too many topics");
    snprintf(g_topics[g_ntopics++], sizeof g_topics[0], "%s", name);
}

/* Creates topics @p names[0..n) of NPARTS partitions, compacted from
 * @p first_compacted on, waits for their leaders, and notes them for
 * delete_topics(). */
static void create_topics(const char *const *names, int n, int first_compacted)
{
    bench_create_topics(names, n, first_compacted, 0);
    for (int i = 0; i < n; i++)
        note_topic(names[i]);
}

/* Deletes the run's topics; a failure only warns. */
static void delete_topics(void)
{
    const char *names[MAX_TOPICS];
    for (int i = 0; i < g_ntopics; i++)
        names[i] = g_topics[i];
    bench_delete_topics(names, g_ntopics);
    g_ntopics = 0;
}

/* The Confluent-framed Avro value of one event. */
static size_t encode_event(uint8_t *buf, int64_t ts, double amount,
                           const char *country)
{
    size_t n = 0;
    buf[n++] = 0;
    buf[n++] = 0, buf[n++] = 0, buf[n++] = 0, buf[n++] = WRITER_ID;
    n += sup_put_long(buf + n, ts);
    n += sup_put_double(buf + n, amount);
    n += sup_put_bytes(buf + n, country, strlen(country));
    return n;
}

static const char events_schema[] =
    "{\"type\":\"record\",\"name\":\"ev\",\"fields\":["
    "{\"name\":\"ts\",\"type\":\"long\"},"
    "{\"name\":\"amount\",\"type\":\"double\"},"
    "{\"name\":\"country\",\"type\":\"string\"}]}";

/* ---- aggregations ------------------------------------------------------- */

static struct {
    char work[4096];
    int made_work;
    char run[128]; /* fstore-bench-agg-PID-TIME */
} W;

static void cleanup_work(void)
{
    if (W.made_work)
        sup_rm_tree(W.work);
}

/* One aggregation: its spec, topics, state and schemas directories. */
typedef struct {
    char name[32];
    char input[300], output[300], changelog[320];
    char state[4200], schemas[4200];
    char spec[4096];
    fstore_conf_t *conf;
} agg_case;

static void case_init(agg_case *c, const char *name, const char *input)
{
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    if (input != NULL)
        snprintf(c->input, sizeof c->input, "%s", input);
    else
        snprintf(c->input, sizeof c->input, "%s-%s-events", W.run, name);
    snprintf(c->output, sizeof c->output, "%s-%s-features", W.run, name);
    snprintf(c->changelog, sizeof c->changelog, "%s-state", c->output);
    snprintf(c->state, sizeof c->state, "%s/%s-state", W.work, name);
    /* Each case writes its own output schema: a schemas directory each. */
    snprintf(c->schemas, sizeof c->schemas, "%s/%s-schemas", W.work, name);
    if (mkdir(c->schemas, 0700) != 0 && errno != EEXIST)
        die("mkdir %s: %s", c->schemas, strerror(errno));
    char path[4400];
    snprintf(path, sizeof path, "%s/%d.avsc", c->schemas, WRITER_ID);
    write_file(path, events_schema);
    snprintf(
        c->spec, sizeof c->spec,
        "{\"input\":{\"topic\":\"%s\",\"time\":\"ts\","
        "\"schema\":\"events.avsc\"},"
        "\"output\":{\"topic\":\"%s\",\"name\":\"features\",\"schema_id\":%d},"
        "\"features\":[{\"name\":\"events\",\"op\":\"count\"},"
        "{\"name\":\"amount_sum\",\"op\":\"sum\",\"field\":\"amount\"},"
        "{\"name\":\"amount_mean\",\"op\":\"mean\",\"field\":\"amount\"},"
        "{\"name\":\"amount_min\",\"op\":\"min\",\"field\":\"amount\"},"
        "{\"name\":\"amount_max\",\"op\":\"max\",\"field\":\"amount\"},"
        "{\"name\":\"country\",\"op\":\"last\",\"field\":\"country\"}]}",
        c->input, c->output, OUTPUT_ID);
    char group[400];
    snprintf(group, sizeof group, "%s-%s", W.run, name);
    c->conf = fstore_conf_new();
    if (c->conf == NULL)
        die("fstore_conf_new: out of memory");
    bench_conf_set(c->conf, "kafka.bootstrap.servers", opt.brokers);
    bench_conf_set(c->conf, "schemas.dir", c->schemas);
    bench_conf_set(c->conf, "aggregate.group", group);
    bench_conf_set(c->conf, "log.level", "3");
}

/* Creates @p c's topics: its events (unless they are another case's), and
 * its output and changelog as fstore_aggregator_new() would (compacted,
 * partitioned as the events). Made here, with their leaders awaited:
 * fstore_aggregator_new() does not wait for the leaders of topics it
 * creates, and its first restore may then find the changelog's partitions
 * unknown to the client. */
static void case_topics(const agg_case *c, int with_input)
{
    const char *names[3] = {c->input, c->output, c->changelog};
    if (with_input)
        create_topics(names, 3, 1);
    else
        create_topics(names + 1, 2, 0);
}

static void case_free(agg_case *c)
{
    fstore_conf_destroy(c->conf);
    c->conf = NULL;
    sup_rm_tree(c->state);
}

/* A new aggregator of @p c (the events' schema is read from the work
 * directory); dies with fstore's message. */
static fstore_aggregator_t *agg_new(const agg_case *c)
{
    char err[1024] = "";
    fstore_aggregator_t *a = NULL;
    fs_check(fstore_aggregator_new(c->spec, W.work, c->state, c->conf, &a, err,
                                   sizeof err),
             "fstore_aggregator_new", err);
    return a;
}

static json_t *agg_stats(fstore_aggregator_t *a)
{
    char *txt = NULL;
    fs_check(fstore_aggregator_stats_json(a, &txt),
             "fstore_aggregator_stats_json", NULL);
    json_error_t jerr;
    json_t *j = json_loads(txt, 0, &jerr);
    fstore_free(txt);
    if (j == NULL)
        die("fstore_aggregator_stats_json returned invalid JSON: %s",
            jerr.text);
    return j;
}

static uint64_t stat_u(json_t *j, const char *name)
{
    json_t *v = json_object_get(j, name);
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        die("the aggregator's statistics have no %s (docs/aggregate.md)", name);
    return (uint64_t)json_integer_value(v);
}

static double stat_commit(json_t *j, const char *name)
{
    json_t *v = json_object_get(json_object_get(j, "commit_ms"), name);
    if (!json_is_number(v))
        die("the aggregator's statistics have no commit_ms.%s", name);
    return json_number_value(v);
}

/* The partitions the aggregator holds: assigned and restored. */
static size_t stat_parts(json_t *j)
{
    return json_object_size(json_object_get(j, "partitions"));
}

/* fstore_aggregator_run() on a thread of its own. */
typedef struct {
    fstore_aggregator_t *a;
    int until_caught_up;
    fstore_err_t err;
    char msg[1024];
    _Atomic int done;
    int joined;
    pthread_t th;
} runner_t;

static void *runner_main(void *arg)
{
    runner_t *r = arg;
    r->err = fstore_aggregator_run(r->a, r->until_caught_up,
                                   r->until_caught_up ? RUN_TIMEOUT_MS : -1,
                                   r->msg, sizeof r->msg);
    atomic_store(&r->done, 1);
    return NULL;
}

static void runner_start(runner_t *r, fstore_aggregator_t *a,
                         int until_caught_up)
{
    memset(r, 0, sizeof *r);
    r->a = a;
    r->until_caught_up = until_caught_up;
    if (pthread_create(&r->th, NULL, runner_main, r) != 0)
        die("pthread_create failed");
}

static void runner_join(runner_t *r, const char *what)
{
    if (!r->joined)
        pthread_join(r->th, NULL);
    r->joined = 1;
    fs_check(r->err, what, r->msg);
}

/* One aggregator from fstore_aggregator_new() until caught up. */
typedef struct {
    double ready_s;     /* every partition assigned and restored */
    double caught_up_s; /* fstore_aggregator_run returned */
    double cpu_s;       /* this process's CPU time over the run */
    uint64_t events, restored, entities, commits, emitted;
    double commit_p50, commit_p99, commit_max;
} run_result;

static void timed_run(const agg_case *c, run_result *r)
{
    memset(r, 0, sizeof *r);
    double c0 = cpu_s();
    uint64_t t0 = now_ns();
    fstore_aggregator_t *a = agg_new(c);
    runner_t run;
    runner_start(&run, a, 1);
    while (!atomic_load(&run.done)) {
        sleep_ns(POLL_STATS_NS);
        if (r->ready_s == 0) {
            json_t *st = agg_stats(a);
            if (stat_parts(st) == NPARTS)
                r->ready_s = secs(now_ns() - t0);
            json_decref(st);
        }
    }
    runner_join(&run, "fstore_aggregator_run");
    r->caught_up_s = secs(now_ns() - t0);
    r->cpu_s = cpu_s() - c0;
    /* With nothing to read, the run checks that it caught up right after
     * the last partition is restored, and may end between two polls: ready
     * is then the end, an upper bound. */
    if (r->ready_s == 0)
        r->ready_s = r->caught_up_s;
    json_t *st = agg_stats(a);
    r->events = stat_u(st, "events");
    r->restored = stat_u(st, "restored_records");
    r->entities = stat_u(st, "entities");
    r->commits = stat_u(st, "commits");
    r->emitted = stat_u(st, "emitted");
    r->commit_p50 = stat_commit(st, "p50");
    r->commit_p99 = stat_commit(st, "p99");
    r->commit_max = stat_commit(st, "max");
    json_decref(st);
    fstore_aggregator_destroy(a);
}

/* ---- 1: load and throughput --------------------------------------------- */

typedef struct {
    double load_s;
    uint64_t distinct;
    run_result run;
    uint64_t state_bytes;
} throughput_t;

static void load_events(const char *topic, throughput_t *t)
{
    producer_t p;
    producer_init(&p, topic, LOAD_LINGER_MS, NULL, "fstore-bench-agg-load");
    uint8_t *has = xcalloc(opt.entities, 1);
    static const char *const countries[] = {"fr", "de", "it", "es"};
    uint64_t rng = 7, t0 = now_ns();
    int64_t ts = wall_ms() - 86400000;
    char key[KEY_STRIDE];
    uint8_t v[64];
    for (unsigned i = 0; i < opt.events; i++) {
        uint32_t id = (uint32_t)(splitmix64(&rng) % opt.entities);
        t->distinct += !has[id];
        has[id] = 1;
        key_of(key, id);
        ts += EVENT_STEP_MS;
        size_t n = encode_event(v, ts, unit(&rng) * 100, countries[i % 4]);
        produce(&p, key, v, n, id);
        if ((i & 1023) == 0)
            producer_poll(&p, 0);
    }
    producer_flush(&p);
    t->load_s = secs(now_ns() - t0);
    uint64_t delivered = atomic_load(&p.delivered);
    if (delivered != opt.events)
        die("%" PRIu64 " of %u events were delivered to %s", delivered,
            opt.events, topic);
    producer_free(&p);
    free(has);
}

static void phase_throughput(agg_case *c, throughput_t *t)
{
    fprintf(stderr, "producing %u events over %u entities to %s...\n",
            opt.events, opt.entities, c->input);
    load_events(c->input, t);
    fprintf(stderr, "  %.1f s, %.0f events/s; %" PRIu64 " distinct entities\n",
            t->load_s, opt.events / t->load_s, t->distinct);
    fprintf(stderr, "throughput: aggregating until caught up...\n");
    timed_run(c, &t->run);
    t->state_bytes = dir_disk_bytes(c->state);
    if (t->run.events != opt.events)
        die("throughput: the aggregator read %" PRIu64
            " events, %u were produced",
            t->run.events, opt.events);
    fprintf(stderr, "  %.2f s wall, %.2f s CPU, %" PRIu64 " entities\n",
            t->run.caught_up_s, t->run.cpu_s, t->run.entities);
}

/* ---- 2: restart after SIGKILL ------------------------------------------- */

typedef struct {
    /* The child's last report: events and entities committed, commits. */
    uint64_t events, entities, commits;
    double seconds;         /* fork -> SIGKILL */
    double after_commit_ms; /* since the report of its last commit */
    double delay_ms;        /* planned: commit interval + commit p50 / 2 */
} killed_t;

typedef struct {
    killed_t killed;
    run_result after_kill, after_clean, wiped;
} restart_t;

/* The child: aggregates @p c until killed, reporting its statistics on
 * @p fd every REPORT_MS as "S events entities commits commit_p50_ms" (the
 * figures of its commits), or "E message" when the aggregator fails. Never
 * returns. */
static void child_main(const agg_case *c, int fd, pid_t parent)
{
    /* Dies with the bench, however the bench ends; the work directory is
     * the parent's to remove. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1); /* the parent died before prctl */
    W.made_work = 0;
    char err[1024] = "";
    fstore_aggregator_t *a = NULL;
    fstore_err_t e = fstore_aggregator_new(c->spec, W.work, c->state, c->conf,
                                           &a, err, sizeof err);
    if (e != FSTORE_OK) {
        dprintf(fd, "E fstore_aggregator_new: %s: %s\n", fstore_err_name(e),
                err);
        _exit(1);
    }
    runner_t run;
    runner_start(&run, a, 0);
    for (;;) {
        sleep_ns(REPORT_MS * 1000000ull);
        if (atomic_load(&run.done)) {
            dprintf(fd, "E fstore_aggregator_run returned: %s: %s\n",
                    fstore_err_name(run.err), run.msg);
            _exit(1);
        }
        char *txt = NULL;
        if (fstore_aggregator_stats_json(a, &txt) != FSTORE_OK)
            continue;
        json_t *st = json_loads(txt, 0, NULL);
        fstore_free(txt);
        if (st == NULL)
            continue;
        dprintf(fd, "S %lld %lld %lld %.3f\n",
                (long long)json_integer_value(json_object_get(st, "events")),
                (long long)json_integer_value(json_object_get(st, "entities")),
                (long long)json_integer_value(json_object_get(st, "commits")),
                json_number_value(
                    json_object_get(json_object_get(st, "commit_ms"), "p50")));
        json_decref(st);
    }
}

/* aggregate.commit_ms of @p c's configuration (its default when unset). */
static double commit_interval_ms(const agg_case *c)
{
    char buf[32];
    size_t size = sizeof buf;
    if (fstore_conf_get(c->conf, "aggregate.commit_ms", buf, &size) ==
        FSTORE_OK)
        return atof(buf);
    return 100;
}

/* Forks the child and reads its reports. Once KILL_ENTITIES of the
 * @p distinct entities are in its committed state, it waits one commit
 * interval and half a median commit more, so that the SIGKILL falls in a
 * transaction (in its commit when commits take longer than reading), and
 * kills the child. */
static void run_and_kill(const agg_case *c, uint64_t distinct, killed_t *k)
{
    const uint64_t kill_entities = (uint64_t)(KILL_ENTITIES * (double)distinct);
    int fds[2];
    if (pipe(fds) != 0)
        die("pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    uint64_t t0 = now_ns();
    pid_t parent = getpid(), pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        close(fds[0]);
        child_main(c, fds[1], parent);
    }
    close(fds[1]);
    char buf[4096];
    size_t len = 0;
    uint64_t deadline = t0 + (uint64_t)RUN_TIMEOUT_MS * 1000000ull;
    uint64_t kill_at = 0, commit_seen = 0, commits = 0;
    for (;;) {
        uint64_t now = now_ns();
        if (kill_at != 0 && now >= kill_at)
            break;
        if (now > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            die("restart: the child had not committed %" PRIu64
                " entities after %d s",
                kill_entities, RUN_TIMEOUT_MS / 1000);
        }
        int wait_ms = kill_at != 0 ? (int)((kill_at - now) / 1000000u) : 1000;
        struct pollfd pfd = {fds[0], POLLIN, 0};
        int n = poll(&pfd, 1, wait_ms);
        if (n < 0 && errno != EINTR)
            die("poll: %s", strerror(errno));
        if (n <= 0)
            continue;
        ssize_t got = read(fds[0], buf + len, sizeof buf - 1 - len);
        if (got <= 0) {
            int st = 0;
            waitpid(pid, &st, 0);
            die("restart: the aggregating child ended before it was killed "
                "(status %d)",
                st);
        }
        len += (size_t)got;
        buf[len] = '\0';
        char *line = buf, *nl;
        while ((nl = strchr(line, '\n')) != NULL) {
            *nl = '\0';
            if (line[0] == 'E') {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                die("restart: the aggregating child failed: %s", line + 2);
            }
            unsigned long long ev, en, cm;
            double p50;
            if (sscanf(line, "S %llu %llu %llu %lf", &ev, &en, &cm, &p50) ==
                4) {
                k->events = ev;
                k->entities = en;
                k->commits = cm;
                if (cm != commits) {
                    commits = cm;
                    commit_seen = now_ns();
                }
                if (ev >= opt.events) {
                    kill(pid, SIGKILL);
                    waitpid(pid, NULL, 0);
                    die("restart: the child committed all %u events before it "
                        "was killed: not mid-stream (give more --events for "
                        "these --entities)",
                        opt.events);
                }
                if (kill_at == 0 && en >= kill_entities) {
                    k->delay_ms = commit_interval_ms(c) + p50 / 2;
                    kill_at = now_ns() + (uint64_t)(k->delay_ms * 1e6);
                }
            }
            line = nl + 1;
        }
        len -= (size_t)(line - buf);
        memmove(buf, line, len);
    }
    kill(pid, SIGKILL);
    uint64_t t = now_ns();
    k->seconds = secs(t - t0);
    k->after_commit_ms = ms(t - commit_seen);
    close(fds[0]);
    int st = 0;
    if (waitpid(pid, &st, 0) != pid || !WIFSIGNALED(st) ||
        WTERMSIG(st) != SIGKILL)
        die("restart: the aggregating child did not die by SIGKILL (status %d)",
            st);
}

static void phase_restart(agg_case *c, uint64_t distinct, restart_t *r)
{
    fprintf(stderr,
            "restart: aggregating the same events in a child process, to be "
            "SIGKILLed in a transaction once %.0f %% of the entities are "
            "committed...\n",
            KILL_ENTITIES * 100);
    run_and_kill(c, distinct, &r->killed);
    fprintf(stderr,
            "  killed after %.2f s, %.0f ms after its last commit: %" PRIu64
            " events and %" PRIu64 " entities committed, %" PRIu64 " commits\n",
            r->killed.seconds, r->killed.after_commit_ms, r->killed.events,
            r->killed.entities, r->killed.commits);
    fprintf(stderr, "restart on the state the SIGKILL left...\n");
    timed_run(c, &r->after_kill);
    fprintf(stderr, "restart after a clean stop...\n");
    timed_run(c, &r->after_clean);
    fprintf(stderr, "restart on a wiped state directory (full restore)...\n");
    sup_rm_tree(c->state);
    timed_run(c, &r->wiped);
}

/* ---- 3: freshness ------------------------------------------------------- */

enum { P_KAFKA, P_OUTPUT, P_STORE };
_Static_assert(PATHS <= FRESH_MAX_PATHS, "a fresh_t holds every path");
static const char *const PATH_ID[PATHS] = {"kafka", "output", "store"};
static const char *const PATH_NAME[PATHS] = {
    "Kafka produce -> consume (the event)", "event -> feature record consumed",
    "event -> visible in a tailing store"};

/* A freshness case's run (bench_kafka's fresh_t, keys from 0) on paths
 * P_KAFKA and P_OUTPUT, watched by consumers, and P_STORE, watched by
 * store_main() in the tailing store. */
typedef struct {
    fresh_t F;
    fstore_store_t *store;
    const fstore_table_t *table;
} watch_t;

typedef struct {
    unsigned rate;
    uint64_t produced;
    double produce_s, achieved, busy_pct, cpu_pct, broker_pct;
    uint64_t seen[PATHS];
    fs_hist h[PATHS];
    uint64_t commits;
    double commit_p50, commit_p99, apply_p99;
} fresh_result;

/* Refreshes a reader every CHECK_PAUSE_NS; when the table's applied offsets
 * moved, looks up every event produced and not seen yet. The time after a
 * refresh is the time its finds are first visible. */
static void *store_main(void *arg)
{
    watch_t *w = arg;
    fresh_path_t *p = &w->F.path[P_STORE];
    fstore_reader_t *rd;
    fs_check(fstore_reader_new(w->store, &rd), "fstore_reader_new", NULL);
    size_t lo = 0;
    int64_t last_sum = -2;
    while (!fresh_finished(&w->F)) {
        fs_check(fstore_reader_refresh(rd), "fstore_reader_refresh",
                 fstore_reader_errmsg(rd));
        uint64_t t = now_ns();
        int32_t parts[NPARTS * 2];
        int64_t offs[NPARTS * 2], sum = 0;
        size_t count = 0;
        fs_check(fstore_reader_offsets(rd, w->table, parts, offs, NPARTS * 2,
                                       &count),
                 "fstore_reader_offsets", fstore_reader_errmsg(rd));
        for (size_t i = 0; i < count && i < NPARTS * 2; i++)
            sum += offs[i] + 1;
        if (sum != last_sum) {
            last_sum = sum;
            lo = fresh_lookup(p, rd, w->table, lo, t);
        }
        /* A tight loop would take a core from the aggregator, the tailer
         * and the broker it measures (all share this machine). */
        sleep_ns(CHECK_PAUSE_NS);
    }
    fstore_reader_destroy(rd);
    return NULL;
}

/* Opens a store in @p dir tailing @p c's output topic with the output
 * schema the aggregator wrote; returns it ready. */
static fstore_store_t *store_open(const agg_case *c, const char *dir,
                                  size_t rows, const fstore_table_t **table)
{
    char path[4400], errstr[512] = "";
    snprintf(path, sizeof path, "%s/%d.avsc", c->schemas, OUTPUT_ID);
    char *schema = read_file(path);
    fstore_conf_t *conf = bench_conf_new(bench_map_size((unsigned)rows, 1024));
    bench_conf_set(conf, "kafka.bootstrap.servers", opt.brokers);
    bench_conf_set(conf, "log.level", "3");
    fstore_store_t *store;
    fs_check(fstore_store_open(dir, conf, &store, errstr, sizeof errstr),
             "fstore_store_open", errstr);
    fstore_conf_destroy(conf);
    fs_check(
        fstore_schema_register(store, OUTPUT_ID, schema, errstr, sizeof errstr),
        "fstore_schema_register", errstr);
    fs_check(fstore_table_create(store, "features", schema,
                                 FSTORE_FORMAT_CONFLUENT, -1, table, errstr,
                                 sizeof errstr),
             "fstore_table_create", errstr);
    free(schema);
    fs_check(
        fstore_tail_add(store, *table, c->output, NULL, errstr, sizeof errstr),
        "fstore_tail_add", errstr);
    fs_check(fstore_tail_start(store, errstr, sizeof errstr),
             "fstore_tail_start", errstr);
    fs_check(fstore_tail_wait_ready(store, KAFKA_TIMEOUT_MS),
             "fstore_tail_wait_ready", NULL);
    return store;
}

static void phase_freshness(unsigned rate, fresh_result *R)
{
    char name[32];
    snprintf(name, sizeof name, "f%u", rate);
    agg_case c;
    case_init(&c, name, NULL);
    case_topics(&c, 1);
    fprintf(stderr,
            "freshness at %u events/s, %.1f s: starting the aggregator...\n",
            rate, opt.seconds);
    fstore_aggregator_t *a = agg_new(&c);
    runner_t run;
    runner_start(&run, a, 0);
    uint64_t deadline = now_ns() + KAFKA_TIMEOUT_MS * 1000000ull;
    for (;;) {
        json_t *st = agg_stats(a);
        size_t n = stat_parts(st);
        json_decref(st);
        if (n == NPARTS)
            break;
        if (atomic_load(&run.done))
            runner_join(&run, "fstore_aggregator_run");
        if (now_ns() > deadline)
            die("freshness: the aggregator had not taken its partitions after "
                "%d s",
                KAFKA_TIMEOUT_MS / 1000);
        sleep_ns(10000000);
    }

    watch_t w;
    fresh_t *F = &w.F;
    size_t total = WARM_EVENTS + (size_t)(rate * opt.seconds + 0.5);
    fresh_init(F, PATHS, total);
    fresh_reset(F, 0, total);
    char dir[4400];
    snprintf(dir, sizeof dir, "%s/%s-store", W.work, name);
    w.store = store_open(&c, dir, total, &w.table);
    F->path[P_KAFKA].consumer = rk_watcher("fstore-bench-agg-events", c.input);
    F->path[P_OUTPUT].consumer =
        rk_watcher("fstore-bench-agg-output", c.output);
    pthread_t th[PATHS];
    for (int k = P_KAFKA; k <= P_OUTPUT; k++)
        if (pthread_create(&th[k], NULL, fresh_consumer_main, &F->path[k]) != 0)
            die("pthread_create failed");
    if (pthread_create(&th[P_STORE], NULL, store_main, &w) != 0)
        die("pthread_create failed");

    producer_t p;
    producer_init(&p, c.input, FRESH_LINGER_MS, FRESH_NAGLE_DISABLE,
                  "fstore-bench-agg-fresh");
    char key[KEY_STRIDE];
    uint8_t v[64];
    uint64_t t0 = now_ns(), first = 0, last = 0;
    cpu_sample m0 = {0, 0};
    double c0 = 0, b0 = 0;
    for (size_t i = 0; i < F->total; i++) {
        if (i < WARM_EVENTS) {
            sleep_until(t0 + i * 1000000u); /* 1 ms apart */
        } else {
            if (i == WARM_EVENTS) {
                /* The clients, the aggregator and the tailer are connected
                 * and warm once the warm-up events went every way. */
                uint64_t end = now_ns() + WARM_TIMEOUT_S * 1000000000ull;
                for (int k = 0; k < PATHS; k++)
                    while (atomic_load(&F->path[k].nseen) < WARM_EVENTS) {
                        producer_poll(&p, 1);
                        bench_tail_check(w.store, "freshness warm-up");
                        if (atomic_load(&run.done))
                            runner_join(&run, "fstore_aggregator_run");
                        if (now_ns() > end) {
                            /* What the store and the aggregator saw, for
                             * the reader of a failed run. */
                            char *js = NULL;
                            if (fstore_stats_json(w.store, &js) == FSTORE_OK)
                                fprintf(stderr, "the store's stats: %s\n", js);
                            fstore_free(js);
                            json_t *as = agg_stats(a);
                            char *ajs = json_dumps(as, JSON_COMPACT);
                            fprintf(stderr, "the aggregator's stats: %s\n",
                                    ajs ? ajs : "?");
                            free(ajs);
                            json_decref(as);
                            die("freshness at %u/s: the %d warm-up events were "
                                "not seen (%s: %zu of them) within %d s",
                                rate, WARM_EVENTS, PATH_NAME[k],
                                (size_t)atomic_load(&F->path[k].nseen),
                                WARM_TIMEOUT_S);
                        }
                    }
                t0 = now_ns();
                m0 = machine_cpu();
                c0 = cpu_s();
                b0 = opt.broker_pid ? proc_cpu_s(opt.broker_pid) : 0;
            }
            sleep_until(t0 +
                        (uint64_t)((double)(i - WARM_EVENTS) * 1e9 / rate));
        }
        key_of(key, (uint32_t)i);
        size_t len = encode_event(v, wall_ms(), (double)(i % 100), "fr");
        uint64_t t = now_ns();
        F->sent[i] = t;
        atomic_store_explicit(&F->produced, i + 1, memory_order_release);
        produce(&p, key, v, len, (uint32_t)i);
        producer_poll(&p, 0);
        if (i == WARM_EVENTS)
            first = t;
        last = t;
    }
    cpu_sample m1 = machine_cpu();
    double c1 = cpu_s(), b1 = opt.broker_pid ? proc_cpu_s(opt.broker_pid) : 0;
    producer_flush(&p);
    atomic_store(&F->done_at, now_ns());
    for (int i = 0; i < PATHS; i++)
        pthread_join(th[i], NULL);
    bench_tail_check(w.store, "freshness");
    if (atomic_load(&run.done)) /* it stopped on an error: say which */
        runner_join(&run, "fstore_aggregator_run");

    memset(R, 0, sizeof *R);
    R->rate = rate;
    R->produced = F->total - WARM_EVENTS;
    R->produce_s = secs(last - first);
    R->achieved =
        R->produce_s > 0 ? (double)(R->produced - 1) / R->produce_s : 0;
    R->busy_pct = busy_pct(m0, m1);
    R->cpu_pct = R->produce_s > 0 ? 100.0 * (c1 - c0) / R->produce_s : 0;
    R->broker_pct = R->produce_s > 0 ? 100.0 * (b1 - b0) / R->produce_s : 0;
    for (int k = 0; k < PATHS; k++)
        R->seen[k] = fresh_collect(&F->path[k], WARM_EVENTS, &R->h[k],
                                   PATH_NAME[k], rate, "events");
    json_t *st = agg_stats(a);
    R->commits = stat_u(st, "commits");
    R->commit_p50 = stat_commit(st, "p50");
    R->commit_p99 = stat_commit(st, "p99");
    json_decref(st);
    double apply[4];
    bench_apply_ms(w.store, apply);
    R->apply_p99 = apply[1];

    fstore_aggregator_stop(a);
    runner_join(&run, "fstore_aggregator_run");
    fstore_aggregator_destroy(a);
    producer_free(&p);
    for (int k = 0; k < PATHS; k++)
        if (F->path[k].consumer != NULL) {
            rd_kafka_consumer_close(F->path[k].consumer);
            rd_kafka_destroy(F->path[k].consumer);
        }
    fs_check(fstore_tail_stop(w.store), "fstore_tail_stop", NULL);
    fstore_store_close(w.store);
    sup_rm_tree(dir);
    fresh_free(F);
    case_free(&c);
}

/* ---- reporting ---------------------------------------------------------- */

typedef struct {
    throughput_t tp;
    restart_t rs;
    fresh_result fresh[MAX_RATES];
    ratios_t ratios;
} report_t;

static double per_s(const run_result *r)
{
    return ratio((double)opt.events, r->caught_up_s);
}

static double per_cpu_s(const run_result *r)
{
    return ratio((double)opt.events, r->cpu_s);
}

static void compute(report_t *R)
{
    add_ratio(&R->ratios, "aggregate_events_per_cpu_s",
              "aggregation: events per CPU-second (this process)",
              per_cpu_s(&R->tp.run), ">= 100000", 1, 100000);
    add_ratio(&R->ratios, "restart_ready_wiped_over_sigkill",
              "restart: time to ready, wiped state / after SIGKILL",
              ratio(R->rs.wiped.ready_s, R->rs.after_kill.ready_s), NULL, 0, 0);
    for (int r = 0; r < opt.nrates; r++) {
        static char ids[MAX_RATES][64], whats[MAX_RATES][112];
        const fresh_result *f = &R->fresh[r];
        snprintf(ids[r], sizeof ids[r], "fresh_p99_store_over_kafka_at_%u",
                 f->rate);
        snprintf(whats[r], sizeof whats[r],
                 "freshness at %u/s: p99 event -> visible in the store / Kafka",
                 f->rate);
        add_ratio(&R->ratios, ids[r], whats[r],
                  ratio((double)fs_hist_quantile_high(&f->h[P_STORE], .99),
                        (double)fs_hist_quantile_high(&f->h[P_KAFKA], .99)),
                  NULL, 0, 0);
        if (f->rate == 10000)
            add_ratio(&R->ratios, "fresh_store_p99_ms_at_10000",
                      "event -> visible in the store, p99 at 10k events/s (ms)",
                      pms(&f->h[P_STORE], .99), "<= 50 ms", 0, 50.0);
    }
}

static const char *saturation_note(const fresh_result *f)
{
    if (f->achieved < 0.95 * f->rate)
        return "the producer fell behind the target: the machine is saturated";
    if (f->busy_pct >= 90)
        return "the machine's CPUs were nearly all busy: saturated";
    return "";
}

static void print_restart_row(FILE *f, int md, const char *name,
                              const run_result *r, const char *entities)
{
    if (md)
        fprintf(f, "| %s | %.3f | %.3f | %" PRIu64 " | %" PRIu64 " | %s |\n",
                name, r->ready_s, r->caught_up_s, r->restored, r->events,
                entities);
    else
        fprintf(f, "  %-40s %8.3f %10.3f %12" PRIu64 " %10" PRIu64 " %10s\n",
                name, r->ready_s, r->caught_up_s, r->restored, r->events,
                entities);
}

static void print_tables(FILE *f, int md, const void *report)
{
    const report_t *R = report;
    const throughput_t *t = &R->tp;
    const run_result *tr = &t->run;
    double per_entity = ratio((double)t->state_bytes, (double)tr->entities);
    if (md) {
        fprintf(f,
                "### Throughput (%u events over %u entities, %" PRIu64
                " of them with events; %d partitions, default windows, "
                "six features)\n\n"
                "| figure | value |\n|---|--:|\n",
                opt.events, opt.entities, t->distinct, NPARTS);
        fprintf(f,
                "| producing the events (linger.ms=" LOAD_LINGER_MS
                ") | %.2f s, %.0f events/s |\n",
                t->load_s, ratio(opt.events, t->load_s));
        fprintf(
            f,
            "| aggregating until caught up, wall | %.2f s, %.0f events/s |\n",
            tr->caught_up_s, per_s(tr));
        fprintf(f,
                "| CPU of this process (librdkafka's threads included) | %.2f "
                "s, %.0f events per CPU-second |\n",
                tr->cpu_s, per_cpu_s(tr));
        fprintf(f, "| start until every partition is assigned | %.3f s |\n",
                tr->ready_s);
        fprintf(f,
                "| transactions | %" PRIu64
                ", commit p50 %.1f ms, p99 %.1f ms, max %.1f ms |\n",
                tr->commits, tr->commit_p50, tr->commit_p99, tr->commit_max);
        fprintf(f, "| feature records produced | %" PRIu64 " |\n", tr->emitted);
        fprintf(
            f, "| local state on disk | %" PRIu64 " bytes, %.0f per entity |\n",
            t->state_bytes, per_entity);
    } else {
        fprintf(f,
                "throughput: %u events over %u entities (%" PRIu64
                " with events), %d partitions, default windows, six features\n",
                opt.events, opt.entities, t->distinct, NPARTS);
        fprintf(f,
                "  producing (linger.ms=" LOAD_LINGER_MS
                "): %.2f s, %.0f events/s\n",
                t->load_s, ratio(opt.events, t->load_s));
        fprintf(
            f,
            "  aggregating until caught up: %.2f s wall (%.0f events/s), %.2f "
            "s CPU (%.0f events per CPU-second); partitions assigned after "
            "%.3f s\n",
            tr->caught_up_s, per_s(tr), tr->cpu_s, per_cpu_s(tr), tr->ready_s);
        fprintf(f,
                "  %" PRIu64
                " transactions, commit p50 %.1f ms, p99 %.1f ms, max %.1f ms; "
                "%" PRIu64 " feature records\n",
                tr->commits, tr->commit_p50, tr->commit_p99, tr->commit_max,
                tr->emitted);
        fprintf(f,
                "  local state: %" PRIu64 " bytes on disk, %.0f per entity\n",
                t->state_bytes, per_entity);
    }

    const restart_t *rs = &R->rs;
    char ents[32];
    snprintf(ents, sizeof ents, "%" PRIu64, rs->after_kill.entities);
    if (md)
        fprintf(
            f,
            "\n### Restart (%" PRIu64 " entities; the aggregating process was "
            "SIGKILLed after %.2f s, %.0f ms after its last commit, with "
            "%" PRIu64 " of %u events and %" PRIu64
            " entities in its committed state after %" PRIu64 " commits)\n\n"
            "| restart | ready s | caught up s | changelog records restored "
            "| events read | entities after |\n"
            "|---|--:|--:|--:|--:|--:|\n",
            t->distinct, rs->killed.seconds, rs->killed.after_commit_ms,
            rs->killed.events, opt.events, rs->killed.entities,
            rs->killed.commits);
    else
        fprintf(f,
                "\nrestart: %" PRIu64
                " entities; the aggregating process was SIGKILLed "
                "after %.2f s, %.0f ms after its last commit, with %" PRIu64
                " of %u events and %" PRIu64
                " entities in its committed state after %" PRIu64 " commits\n"
                "  %-40s %8s %10s %12s %10s %10s\n",
                t->distinct, rs->killed.seconds, rs->killed.after_commit_ms,
                rs->killed.events, opt.events, rs->killed.entities,
                rs->killed.commits, "restart", "ready s", "caught up s",
                "restored", "events", "entities");
    print_restart_row(f, md, "after SIGKILL, its state directory",
                      &rs->after_kill, ents);
    print_restart_row(f, md, "after a clean stop, its state directory",
                      &rs->after_clean, md ? "" : "-");
    print_restart_row(f, md, "wiped state directory (full restore)", &rs->wiped,
                      md ? "" : "-");
    print_note(
        f, md,
        "ready = from fstore_aggregator_new() until every partition is "
        "assigned and restored from the changelog (statistics polled every "
        "1 ms; with nothing left to read, the run may end between two "
        "polls, and ready is then its end); caught up = until "
        "fstore_aggregator_run(until_caught_up) returned. Events read: "
        "after the SIGKILL, every event the dead process had not "
        "committed: those of its open transaction, and the rest of the "
        "stream. The kill came one commit interval and half a median "
        "commit (%.0f ms) after the first report of %.0f %% of the "
        "entities committed. The changelog is as young as the run: it "
        "holds every state written (%.1f records per entity here), not yet "
        "compacted to one per entity.\n",
        rs->killed.delay_ms, KILL_ENTITIES * 100,
        ratio((double)rs->wiped.restored, (double)t->distinct));

    if (md)
        fprintf(f,
                "\n### Freshness (an event of a new entity each, %.1f s per "
                "rate; producer linger.ms=" FRESH_LINGER_MS
                ", socket.nagle.disable=" FRESH_NAGLE_DISABLE
                "; consumers and tailer read_committed, "
                "fetch.wait.max.ms=" FETCH_WAIT_MS ")\n\n"
                "| rate target | path | seen | p50 ms | p99 ms | p999 ms "
                "| max ms |\n"
                "|--:|---|--:|--:|--:|--:|--:|\n",
                opt.seconds);
    else
        fprintf(f,
                "\nfreshness: an event of a new entity each, %.1f s per rate; "
                "producer linger.ms=" FRESH_LINGER_MS
                ", socket.nagle.disable=" FRESH_NAGLE_DISABLE
                "; consumers and tailer read_committed, "
                "fetch.wait.max.ms=" FETCH_WAIT_MS
                "\n  %8s %-38s %8s %8s %8s %8s %8s\n",
                opt.seconds, "target/s", "path", "seen", "p50 ms", "p99 ms",
                "p999 ms", "max ms");
    for (int r = 0; r < opt.nrates; r++) {
        const fresh_result *x = &R->fresh[r];
        for (int k = 0; k < PATHS; k++)
            fprintf(f,
                    md ? "| %u | %s | %" PRIu64
                         " | %.2f | %.2f | %.2f | %.2f |\n"
                       : "  %8u %-38s %8" PRIu64 " %8.2f %8.2f %8.2f %8.2f\n",
                    x->rate, PATH_NAME[k], x->seen[k], pms(&x->h[k], .5),
                    pms(&x->h[k], .99), pms(&x->h[k], .999), ms(x->h[k].max));
    }
    if (md)
        fprintf(f, "\n| rate target | achieved events/s | machine CPU busy "
                   "| this process | broker | transactions | commit p50 ms "
                   "| commit p99 ms | tailer apply p99 ms | |\n"
                   "|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n");
    else
        fprintf(f, "  %8s %10s %7s %7s %8s %8s %10s %10s %10s\n", "target/s",
                "achieved/s", "busy %", "proc %", "broker %", "commits",
                "commit p50", "commit p99", "apply p99");
    for (int r = 0; r < opt.nrates; r++) {
        const fresh_result *x = &R->fresh[r];
        char broker[32];
        if (opt.broker_pid)
            snprintf(broker, sizeof broker, md ? "%.0f %%" : "%.0f",
                     x->broker_pct);
        else
            snprintf(broker, sizeof broker, "-");
        fprintf(f,
                md ? "| %u | %.0f | %.0f %% | %.0f %% | %s | %" PRIu64
                     " | %.1f | %.1f | %.2f | %s |\n"
                   : "  %8u %10.0f %7.0f %7.0f %8s %8" PRIu64
                     " %10.1f %10.1f %10.2f %s\n",
                x->rate, x->achieved, x->busy_pct, x->cpu_pct, broker,
                x->commits, x->commit_p50, x->commit_p99, x->apply_p99,
                saturation_note(x));
    }
    print_note(
        f, md,
        "latency = when the event was consumed from the events topic "
        "(Kafka), its feature record consumed from the output topic, or "
        "its entity first found by a reader of the tailing store refreshed "
        "every 0.1 ms - the time taken just before the event's produce "
        "call. Every event was seen on every path. CPU while the events "
        "were produced: machine busy = all CPUs of the machine "
        "(/proc/stat; whatever else runs on it included), this process "
        "(aggregator, tailer, consumers, producer) and the broker in %% of "
        "one CPU. The aggregator's commits and the tailer's apply_ms "
        "(docs/stats.md) cover the whole case.\n");

    print_ratios(f, md, R->ratios.r, R->ratios.n, 62);
}

static void json_run(FILE *f, const char *name, const run_result *r,
                     int with_entities, const char *tail)
{
    fprintf(f,
            "    \"%s\": {\"ready_s\": %.4f, \"caught_up_s\": %.4f, "
            "\"restored_records\": "
            "%" PRIu64 ", \"events_read\": %" PRIu64,
            name, r->ready_s, r->caught_up_s, r->restored, r->events);
    if (with_entities)
        fprintf(f, ", \"entities\": %" PRIu64 ", \"commits\": %" PRIu64,
                r->entities, r->commits);
    fprintf(f, "}%s\n", tail);
}

static void json_path(FILE *f, const char *name, uint64_t seen,
                      const fs_hist *h, const char *tail)
{
    fprintf(f,
            "     \"%s\": {\"seen\": %" PRIu64 ", \"samples\": %" PRIu64
            ", \"mean_ms\": %.4f, \"p50_ms\": %.4f, \"p99_ms\": %.4f, "
            "\"p999_ms\": %.4f, "
            "\"max_ms\": %.4f}%s\n",
            name, seen, h->count, fs_hist_mean(h) / 1e6, pms(h, .5),
            pms(h, .99), pms(h, .999), ms(h->max), tail);
}

static void write_json(FILE *f, const void *report)
{
    const report_t *R = report;
    const throughput_t *t = &R->tp;
    const run_result *tr = &t->run;
    fprintf(f,
            "{\n  \"bench\": \"aggregate\",\n  \"fstore_version\": \"%s\",\n"
            "  \"librdkafka_version\": \"%s\",\n  \"events\": %u,\n  "
            "\"entities\": %u,\n"
            "  \"partitions\": %d,\n  \"seconds_per_case\": %.2f,\n"
            "  \"spec\": \"windows 5m/1m 1h/5m 1d/1h; count, sum, mean, "
            "min, max of amount, last country\",\n",
            fstore_version_str(), rd_kafka_version_str(), opt.events,
            opt.entities, NPARTS, opt.seconds);
    fprintf(f,
            "  \"load\": {\"events\": %u, \"distinct_entities\": %" PRIu64
            ", \"seconds\": %.4f, \"events_per_s\": %.1f},\n",
            opt.events, t->distinct, t->load_s, ratio(opt.events, t->load_s));
    fprintf(f,
            "  \"throughput\": {\"events\": %" PRIu64
            ", \"wall_s\": %.4f, \"cpu_s\": %.4f, "
            "\"events_per_s\": %.1f, \"events_per_cpu_s\": %.1f, "
            "\"ready_s\": %.4f, "
            "\"commits\": %" PRIu64
            ", \"commit_p50_ms\": %.3f, \"commit_p99_ms\": %.3f, "
            "\"commit_max_ms\": %.3f, \"emitted\": %" PRIu64
            ", \"entities\": %" PRIu64 ", \"state_bytes\": %" PRIu64
            ", \"state_bytes_per_entity\": %.1f},\n",
            tr->events, tr->caught_up_s, tr->cpu_s, per_s(tr), per_cpu_s(tr),
            tr->ready_s, tr->commits, tr->commit_p50, tr->commit_p99,
            tr->commit_max, tr->emitted, tr->entities, t->state_bytes,
            ratio((double)t->state_bytes, (double)tr->entities));
    const restart_t *rs = &R->rs;
    fprintf(f,
            "  \"restart\": {\n    \"entities\": %" PRIu64 ",\n"
            "    \"killed\": {\"seconds_before_kill\": %.4f, "
            "\"ms_after_last_commit\": %.1f, \"planned_delay_ms\": %.1f, "
            "\"events_at_kill\": %" PRIu64 ", \"entities_at_kill\": %" PRIu64
            ", \"commits_at_kill\": %" PRIu64 "},\n",
            t->distinct, rs->killed.seconds, rs->killed.after_commit_ms,
            rs->killed.delay_ms, rs->killed.events, rs->killed.entities,
            rs->killed.commits);
    json_run(f, "after_sigkill", &rs->after_kill, 1, ",");
    json_run(f, "after_clean_stop", &rs->after_clean, 0, ",");
    json_run(f, "wiped", &rs->wiped, 0, ",");
    fprintf(f, "    \"ratio_ready_wiped_over_sigkill\": %.4f\n  },\n",
            ratio(rs->wiped.ready_s, rs->after_kill.ready_s));
    fprintf(f, "  \"freshness\": [\n");
    for (int r = 0; r < opt.nrates; r++) {
        const fresh_result *x = &R->fresh[r];
        fprintf(f,
                "    {\"rate\": %u, \"produced\": %" PRIu64
                ", \"achieved_rate\": %.1f, "
                "\"machine_busy_pct\": %.1f, \"process_cpu_pct\": %.1f, ",
                x->rate, x->produced, x->achieved, x->busy_pct, x->cpu_pct);
        if (opt.broker_pid)
            fprintf(f, "\"broker_cpu_pct\": %.1f, ", x->broker_pct);
        fprintf(f,
                "\"aggregator_commits\": %" PRIu64
                ", \"aggregator_commit_p50_ms\": %.3f, "
                "\"aggregator_commit_p99_ms\": %.3f, "
                "\"tailer_apply_p99_ms\": %.3f,\n",
                x->commits, x->commit_p50, x->commit_p99, x->apply_p99);
        for (int k = 0; k < PATHS; k++)
            json_path(f, PATH_ID[k], x->seen[k], &x->h[k],
                      k + 1 < PATHS ? "," : "");
        fprintf(f, "    }%s\n", r + 1 < opt.nrates ? "," : "");
    }
    fprintf(f, "  ],\n  \"ratios\": {\n");
    json_ratios(f, R->ratios.r, R->ratios.n, 4);
    fprintf(f, "  }\n}\n");
}

static void write_hists(const report_t *R)
{
    for (int r = 0; r < opt.nrates; r++) {
        const fresh_result *x = &R->fresh[r];
        for (int k = 0; k < PATHS; k++) {
            char name[64], label[160];
            snprintf(name, sizeof name, "agg_fresh_%s_%u", PATH_ID[k], x->rate);
            snprintf(label, sizeof label, "%s, %u/s", PATH_NAME[k], x->rate);
            h_write_dat_in(&x->h[k], opt.hist_dir, name, label);
        }
    }
}

int main(int argc, char **argv)
{
    bench_set_prog("aggregate");
    parse_args(argc, argv);
    bench_kafka_t k = {opt.brokers, NULL, 0, "fstore-bench-agg-admin", 0};
    bench_kafka_init(&k);
    W.made_work = bench_make_parent(W.work, sizeof W.work, opt.dir,
                                    "fstore-bench-aggregate-XXXXXX");
    if (W.made_work)
        atexit(cleanup_work);
    snprintf(W.run, sizeof W.run, "fstore-bench-agg-%u-%ld", (unsigned)getpid(),
             (long)time(NULL));
    char path[4400];
    snprintf(path, sizeof path, "%s/events.avsc", W.work);
    write_file(path, events_schema);
    static report_t R; /* histograms: keep off the stack */

    printf("aggregate: fstore %s, librdkafka %s, broker %s; work in %s\n\n",
           fstore_version_str(), rd_kafka_version_str(), opt.brokers, W.work);
    fflush(stdout);

    agg_case tp, kill;
    case_init(&tp, "tp", NULL);
    case_topics(&tp, 1);
    phase_throughput(&tp, &R.tp);
    case_free(&tp);
    case_init(&kill, "kill", tp.input);
    case_topics(&kill, 0);
    phase_restart(&kill, R.tp.distinct, &R.rs);
    case_free(&kill);
    for (int r = 0; r < opt.nrates; r++)
        phase_freshness(opt.rates[r], &R.fresh[r]);
    delete_topics();
    compute(&R);

    bench_tables(print_tables, &R, opt.markdown);
    if (opt.hist_dir != NULL)
        write_hists(&R);
    bench_json(write_json, &R, opt.json);
    return 0;
}
