/*
 * aggregate_bench: fstore aggregate against a real Kafka broker.
 *
 * 1. Throughput: N Confluent-Avro events over E entities (the default
 *    windows, six features) aggregated until caught up: events per second
 *    of wall time and per second of the process's CPU, commit times,
 *    bytes of local state per entity.
 * 2. Restart: a new aggregator on the same state (the changelog's tail
 *    only) against one on a wiped state (a full restore from the
 *    changelog): time to caught up and records read.
 * 3. Freshness: on fresh topics, events produced at fixed rates while the
 *    aggregator runs; event produced -> its feature record consumed
 *    (read_committed), beside Kafka's own produce -> consume of the same
 *    events in the same run.
 *
 * Measurement only: it never asserts speed. Topics it creates are deleted.
 */
#include <errno.h>
#include <fstore/fstore.h>
#include <getopt.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"
#include "support/avro_enc.h"
#include "support/hist.h"
#include "support/kafka_admin.h"

#define PARTS 4
#define WRITER_ID 1

static const char events_schema[] =
    "{\"type\":\"record\",\"name\":\"ev\",\"fields\":["
    "{\"name\":\"ts\",\"type\":\"long\"},{\"name\":\"amount\",\"type\":\"double\"},"
    "{\"name\":\"country\",\"type\":\"string\"}]}";

typedef struct opts {
    const char *brokers, *json;
    unsigned events, entities, seconds;
    unsigned rates[8];
    int nrates;
} opts;

static double wall_s(void) { return (double)now_ns() / 1e9; }

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

/* ---- Kafka helpers ---- */

static rd_kafka_t *client(const char *brokers, rd_kafka_type_t type,
                          const char *const *props)
{
    char err[512];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", brokers, NULL, 0);
    for (const char *const *p = props; p && *p; p += 2)
        if (rd_kafka_conf_set(c, p[0], p[1], err, sizeof err))
            die("%s: %s", p[0], err);
    rd_kafka_t *rk = rd_kafka_new(type, c, err, sizeof err);
    if (!rk)
        die("Kafka client: %s", err);
    return rk;
}

static void create_topic(rd_kafka_t *rk, const char *name)
{
    char err[512];
    sup_topic t = {name, PARTS, 1, NULL};
    if (sup_create_topics(rk, &t, 1, 0, 30000, err, sizeof err) < 0)
        die("creating %s: %s", name, err);
}

static void delete_topics(rd_kafka_t *rk, const char *prefix)
{
    char names[3][256], err[512];
    const char *n[3] = {names[0], names[1], names[2]};
    snprintf(names[0], sizeof names[0], "%s-events", prefix);
    snprintf(names[1], sizeof names[1], "%s-features", prefix);
    snprintf(names[2], sizeof names[2], "%s-features-state", prefix);
    if (sup_delete_topics(rk, n, 3, 30000, err, sizeof err))
        fprintf(stderr, "bench_aggregate: deleting %s topics: %s\n", prefix, err);
}

/* The Confluent-framed Avro value of one event. */
static size_t encode_event(uint8_t *buf, int64_t ts, double amount, const char *country)
{
    size_t n = 0;
    buf[n++] = 0;
    buf[n++] = 0, buf[n++] = 0, buf[n++] = 0, buf[n++] = WRITER_ID;
    n += sup_put_long(buf + n, ts);
    n += sup_put_double(buf + n, amount);
    n += sup_put_bytes(buf + n, country, strlen(country));
    return n;
}

static void produce(rd_kafka_t *p, const char *topic, const char *key, const void *v,
                    size_t len)
{
    rd_kafka_resp_err_t e;
    while ((e = rd_kafka_producev(p, RD_KAFKA_V_TOPIC(topic),
                                  RD_KAFKA_V_KEY((void *)(uintptr_t)key, strlen(key)),
                                  RD_KAFKA_V_VALUE((void *)(uintptr_t)v, len),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(p, 10);
    if (e)
        die("producing to %s: %s", topic, rd_kafka_err2str(e));
}

/* ---- the aggregator ---- */

typedef struct agg_env {
    char prefix[128], dir[512], state[600], schemas[600];
    char spec[2048];
    fstore_conf_t *conf;
} agg_env;

static void env_init(agg_env *e, const opts *o, const char *name, const char *dir)
{
    snprintf(e->prefix, sizeof e->prefix, "bagg-%ld-%s", (long)getpid(), name);
    snprintf(e->dir, sizeof e->dir, "%s", dir);
    snprintf(e->state, sizeof e->state, "%s/%s-state", dir, name);
    /* Each spec has its own output schema: a schemas directory each. */
    snprintf(e->schemas, sizeof e->schemas, "%s/%s-schemas", dir, name);
    mkdir(e->schemas, 0700);
    char path[700];
    const char *files[2] = {e->schemas, dir};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", files[i], i ? "events.avsc" : "1.avsc");
        FILE *f = fopen(path, "w");
        if (!f || fputs(events_schema, f) < 0 || fclose(f))
            die("writing %s: %s", path, strerror(errno));
    }
    snprintf(e->spec, sizeof e->spec,
             "{\"input\":{\"topic\":\"%s-events\",\"time\":\"ts\","
             "\"schema\":\"events.avsc\"},"
             "\"output\":{\"topic\":\"%s-features\",\"schema_id\":2},"
             "\"features\":[{\"name\":\"events\",\"op\":\"count\"},"
             "{\"name\":\"amount_sum\",\"op\":\"sum\",\"field\":\"amount\"},"
             "{\"name\":\"amount_mean\",\"op\":\"mean\",\"field\":\"amount\"},"
             "{\"name\":\"amount_min\",\"op\":\"min\",\"field\":\"amount\"},"
             "{\"name\":\"amount_max\",\"op\":\"max\",\"field\":\"amount\"},"
             "{\"name\":\"country\",\"op\":\"last\",\"field\":\"country\"}]}",
             e->prefix, e->prefix);
    char err[512];
    e->conf = fstore_conf_new();
    const char *set[][2] = {{"kafka.bootstrap.servers", o->brokers},
                            {"schemas.dir", e->schemas},
                            {"aggregate.group", e->prefix},
                            {"store.sync", "none"},
                            {"log.level", "3"}};
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++)
        if (fstore_conf_set(e->conf, set[i][0], set[i][1], err, sizeof err))
            die("%s: %s", set[i][0], err);
}

/* An aggregator of the spec; its schema path is relative to the bench's
 * directory. */
static fstore_aggregator_t *agg_new(agg_env *e)
{
    char err[1024];
    fstore_aggregator_t *a = NULL;
    if (fstore_aggregator_new(e->spec, e->dir, e->state, e->conf, &a, err, sizeof err))
        die("aggregator: %s", err);
    return a;
}

static json_t *agg_stats(fstore_aggregator_t *a)
{
    char *txt = NULL;
    if (fstore_aggregator_stats_json(a, &txt))
        die("aggregator statistics");
    json_error_t jerr;
    json_t *j = json_loads(txt, 0, &jerr);
    fstore_free(txt);
    if (!j)
        die("aggregator statistics: %s", jerr.text);
    return j;
}

static int64_t stat_int(json_t *j, const char *name)
{
    return json_integer_value(json_object_get(j, name));
}

/* Runs a new aggregator until caught up: wall and CPU seconds, and its
 * statistics (new reference). */
static json_t *run_caught_up(agg_env *e, double *wall, double *cpu)
{
    fstore_aggregator_t *a = agg_new(e);
    char err[1024];
    double w0 = wall_s(), c0 = cpu_s();
    if (fstore_aggregator_run(a, 1, 600000, err, sizeof err))
        die("aggregating: %s", err);
    *wall = wall_s() - w0;
    *cpu = cpu_s() - c0;
    json_t *st = agg_stats(a);
    fstore_aggregator_destroy(a);
    return st;
}

/* ---- 1 and 2: throughput and restarts ---- */

static void phase_throughput(const opts *o, const char *dir, FILE *json)
{
    agg_env e;
    env_init(&e, o, "tp", dir);
    static const char *const pprops[] = {"linger.ms", "20", "partitioner", "murmur2_random",
                                         NULL};
    rd_kafka_t *p = client(o->brokers, RD_KAFKA_PRODUCER, pprops);
    char topic[256];
    snprintf(topic, sizeof topic, "%s-events", e.prefix);
    create_topic(p, topic);
    fprintf(stderr, "bench_aggregate: producing %u events over %u entities...\n",
            o->events, o->entities);
    uint64_t rng = 7;
    int64_t t = wall_ms() - 86400000;
    static const char *const countries[] = {"fr", "de", "it", "es"};
    for (unsigned i = 0; i < o->events; i++) {
        uint8_t v[64];
        char key[32];
        snprintf(key, sizeof key, "e%u", (unsigned)(splitmix64(&rng) % o->entities));
        t += 2;
        size_t n = encode_event(v, t, unit(&rng) * 100, countries[i % 4]);
        produce(p, topic, key, v, n);
    }
    if (rd_kafka_flush(p, 120000))
        die("flushing the events");
    fprintf(stderr, "bench_aggregate: aggregating until caught up...\n");
    double wall, cpu;
    json_t *st = run_caught_up(&e, &wall, &cpu);
    int64_t entities = stat_int(st, "entities");
    json_t *cm = json_object_get(st, "commit_ms");
    char data[800];
    snprintf(data, sizeof data, "%s/data.mdb", e.state);
    struct stat sb;
    double state_bytes = stat(data, &sb) == 0 ? (double)sb.st_blocks * 512 : 0;
    printf("throughput: %u events, %u entities, default windows, six features\n",
           o->events, o->entities);
    printf("  wall %.2f s (%.0f events/s), CPU %.2f s (%.0f events per CPU-second)\n", wall,
           o->events / wall, cpu, o->events / cpu);
    printf("  %lld commits, commit p50 %.1f ms, p99 %.1f ms; %lld output records\n",
           (long long)stat_int(st, "commits"),
           json_real_value(json_object_get(cm, "p50")),
           json_real_value(json_object_get(cm, "p99")), (long long)stat_int(st, "emitted"));
    printf("  state: %lld entities, %.0f bytes each on disk\n", (long long)entities,
           entities ? state_bytes / (double)entities : 0);
    fprintf(json,
            "  \"throughput\": {\"events\": %u, \"entities\": %lld, \"wall_s\": %.3f, "
            "\"cpu_s\": %.3f, \"events_per_s\": %.0f, \"events_per_cpu_s\": %.0f, "
            "\"commits\": %lld, \"commit_p50_ms\": %.2f, \"commit_p99_ms\": %.2f, "
            "\"state_bytes_per_entity\": %.0f},\n",
            o->events, (long long)entities, wall, cpu, o->events / wall, o->events / cpu,
            (long long)stat_int(st, "commits"), json_real_value(json_object_get(cm, "p50")),
            json_real_value(json_object_get(cm, "p99")),
            entities ? state_bytes / (double)entities : 0);
    json_decref(st);

    /* 2: a restart reads the changelog's tail; a wiped state all of it. */
    double w1, c1, w2, c2;
    st = run_caught_up(&e, &w1, &c1);
    int64_t tail = stat_int(st, "restored_records");
    json_decref(st);
    remove_flat_dir(e.state);
    st = run_caught_up(&e, &w2, &c2);
    int64_t full = stat_int(st, "restored_records");
    json_decref(st);
    printf("restart: with its state %.2f s (%lld changelog records read); wiped state "
           "%.2f s (%lld records)\n",
           w1, (long long)tail, w2, (long long)full);
    fprintf(json,
            "  \"restart\": {\"with_state_s\": %.3f, \"with_state_records\": %lld, "
            "\"wiped_s\": %.3f, \"wiped_records\": %lld},\n",
            w1, (long long)tail, w2, (long long)full);
    remove_flat_dir(e.state);
    delete_topics(p, e.prefix);
    rd_kafka_destroy(p);
    fstore_conf_destroy(e.conf);
}

/* ---- 3: freshness ---- */

typedef struct watch {
    rd_kafka_t *c;
    int64_t *sent_us; /* by event number; 0 not yet */
    unsigned n;
    fs_hist h;
    unsigned seen;
    volatile int stop;
    pthread_t th;
} watch;

static int64_t mono_us(void) { return (int64_t)(now_ns() / 1000); }

/* Records, per event number in the key ("f<rate>-<n>"), the first
 * consumption's delay after its produce call. */
static void *watch_main(void *arg)
{
    watch *w = arg;
    uint8_t *got = calloc(w->n, 1);
    while (!w->stop) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(w->c, 10);
        if (!m)
            continue;
        int64_t now = mono_us();
        if (!m->err && m->key_len > 0) {
            const char *dash = memchr(m->key, '-', m->key_len);
            unsigned i = dash ? (unsigned)strtoul(dash + 1, NULL, 10) : w->n;
            if (i < w->n && !got[i] && w->sent_us[i]) {
                got[i] = 1;
                w->seen++;
                fs_hist_add(&w->h, (uint64_t)(now - w->sent_us[i]));
            }
        }
        rd_kafka_message_destroy(m);
    }
    free(got);
    return NULL;
}

static void watch_start(watch *w, const opts *o, const char *topic, int64_t *sent,
                        unsigned n)
{
    static const char *const props[] = {"group.id", "bench-aggregate-watch",
                                        "isolation.level", "read_committed",
                                        "fetch.wait.max.ms", "10",
                                        "socket.nagle.disable", "true", NULL};
    memset(w, 0, sizeof *w);
    w->c = client(o->brokers, RD_KAFKA_CONSUMER, props);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(PARTS);
    for (int p = 0; p < PARTS; p++)
        rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_END;
    rd_kafka_assign(w->c, l);
    rd_kafka_topic_partition_list_destroy(l);
    w->sent_us = sent;
    w->n = n;
    pthread_create(&w->th, NULL, watch_main, w);
}

static void watch_stop(watch *w)
{
    w->stop = 1;
    pthread_join(w->th, NULL);
    rd_kafka_consumer_close(w->c);
    rd_kafka_destroy(w->c);
}

static void *agg_thread(void *arg)
{
    char err[1024];
    if (fstore_aggregator_run(arg, 0, -1, err, sizeof err))
        fprintf(stderr, "bench_aggregate: aggregator: %s\n", err);
    return NULL;
}

static void phase_freshness(const opts *o, const char *dir, unsigned rate, FILE *json,
                            int last)
{
    agg_env e;
    char name[32];
    snprintf(name, sizeof name, "f%u", rate);
    env_init(&e, o, name, dir);
    static const char *const pprops[] = {"linger.ms", "0", "socket.nagle.disable", "true",
                                         "partitioner", "murmur2_random", NULL};
    rd_kafka_t *p = client(o->brokers, RD_KAFKA_PRODUCER, pprops);
    char events[256], features[256];
    snprintf(events, sizeof events, "%s-events", e.prefix);
    snprintf(features, sizeof features, "%s-features", e.prefix);
    create_topic(p, events);
    fstore_aggregator_t *a = agg_new(&e);
    pthread_t th;
    pthread_create(&th, NULL, agg_thread, a);
    /* Wait for the aggregator's partitions before measuring. */
    for (int i = 0; i < 300; i++) {
        json_t *st = agg_stats(a);
        size_t n = json_object_size(json_object_get(st, "partitions"));
        json_decref(st);
        if (n == PARTS)
            break;
        usleep(100000);
    }
    unsigned n = rate * o->seconds;
    int64_t *sent = calloc(n, sizeof *sent);
    watch out, kafka;
    watch_start(&out, o, features, sent, n);
    watch_start(&kafka, o, events, sent, n);
    sleep(2); /* the watchers' assignments */
    int64_t t0 = mono_us();
    for (unsigned i = 0; i < n; i++) {
        int64_t due = t0 + (int64_t)i * 1000000 / rate;
        while (mono_us() < due)
            rd_kafka_poll(p, 0);
        char key[48];
        uint8_t v[64];
        snprintf(key, sizeof key, "f%u-%u", rate, i);
        size_t len = encode_event(v, wall_ms(), (double)(i % 100), "fr");
        sent[i] = mono_us();
        produce(p, events, key, v, len);
        rd_kafka_poll(p, 0);
    }
    rd_kafka_flush(p, 30000);
    for (int i = 0; i < 100 && (out.seen < n || kafka.seen < n); i++)
        usleep(100000);
    watch_stop(&out);
    watch_stop(&kafka);
    fstore_aggregator_stop(a);
    pthread_join(th, NULL);
    fstore_aggregator_destroy(a);
    printf("freshness at %u events/s, %u s: event -> feature record p50 %.1f ms, "
           "p99 %.1f ms (%u/%u seen); Kafka produce -> consume p50 %.1f ms, p99 %.1f ms\n",
           rate, o->seconds, fs_hist_quantile(&out.h, 0.5) / 1e3,
           fs_hist_quantile_high(&out.h, 0.99) / 1e3, out.seen, n,
           fs_hist_quantile(&kafka.h, 0.5) / 1e3,
           fs_hist_quantile_high(&kafka.h, 0.99) / 1e3);
    fprintf(json,
            "    {\"rate\": %u, \"events\": %u, \"seen\": %u, \"p50_ms\": %.2f, "
            "\"p99_ms\": %.2f, \"kafka_p50_ms\": %.2f, \"kafka_p99_ms\": %.2f}%s\n",
            rate, n, out.seen, fs_hist_quantile(&out.h, 0.5) / 1e3,
            fs_hist_quantile_high(&out.h, 0.99) / 1e3,
            fs_hist_quantile(&kafka.h, 0.5) / 1e3,
            fs_hist_quantile_high(&kafka.h, 0.99) / 1e3, last ? "" : ",");
    free(sent);
    remove_flat_dir(e.state);
    delete_topics(p, e.prefix);
    rd_kafka_destroy(p);
    fstore_conf_destroy(e.conf);
}

/* ---- main ---- */

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_aggregate --brokers HOST:PORT [--events N] [--entities E]\n"
            "          [--rates R1,R2] [--seconds S] [--json FILE]\n"
            "  --events N     events of the throughput run (default 1000000)\n"
            "  --entities E   entities they are spread over (default 100000)\n"
            "  --rates R,...  freshness rates in events/s (default 1000,10000)\n"
            "  --seconds S    seconds per freshness rate (default 10)\n"
            "  --json FILE    also write the figures as JSON\n");
    exit(2);
}

int main(int argc, char **argv)
{
    bench_set_prog("bench_aggregate");
    opts o = {NULL, NULL, 1000000, 100000, 10, {1000, 10000}, 2};
    static const struct option lo[] = {{"brokers", 1, NULL, 'b'}, {"events", 1, NULL, 'n'},
                                       {"entities", 1, NULL, 'e'}, {"rates", 1, NULL, 'r'},
                                       {"seconds", 1, NULL, 's'}, {"json", 1, NULL, 'j'},
                                       {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'b': o.brokers = optarg; break;
        case 'n': o.events = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'e': o.entities = (unsigned)strtoul(optarg, NULL, 10); break;
        case 's': o.seconds = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'j': o.json = optarg; break;
        case 'r': {
            o.nrates = 0;
            for (char *s = optarg; *s && o.nrates < 8;) {
                o.rates[o.nrates++] = (unsigned)strtoul(s, &s, 10);
                s += *s == ',';
            }
            break;
        }
        default: usage();
        }
    }
    if (!o.brokers || !o.events || !o.entities || !o.seconds || !o.nrates)
        usage();
    char dir[] = "/tmp/fstore-bench-aggregate-XXXXXX";
    if (!mkdtemp(dir))
        die("mkdtemp: %s", strerror(errno));
    FILE *json = o.json ? fopen(o.json, "w") : fopen("/dev/null", "w");
    if (!json)
        die("opening %s", o.json);
    fprintf(json, "{\n");
    phase_throughput(&o, dir, json);
    fprintf(json, "  \"freshness\": [\n");
    for (int i = 0; i < o.nrates; i++)
        phase_freshness(&o, dir, o.rates[i], json, i == o.nrates - 1);
    fprintf(json, "  ]\n}\n");
    fclose(json);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_aggregate: could not remove %s\n", dir);
    return 0;
}
