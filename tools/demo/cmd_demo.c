/*
 * fstore demo: the whole pipeline on one machine with no broker. Starts
 * librdkafka's in-process mock cluster (or uses --brokers), streams
 * synthetic entity features into a topic, bootstraps a store from it,
 * keeps tailing live updates while timing lookups, and prints the figures.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "demo_bench.h"
#include "demo_data.h"
#include "demo_kafka.h"
#include "demo_live.h"
#include "demo_out.h"
#include "demo_pipe.h"
#include "demo_report.h"
#include "support/fmt.h"
#include "tail/tail_progress.h"

#define CMD "demo"
#define TABLE "features"
#define TICK_NS 250000000u /* status line redraw */
#define CATCH_UP_MS 30000  /* most time to apply the live records at the end */
#define DEMO_MAX_PROPS 64

typedef struct demo_args {
    uint64_t entities, records;
    int records_set, live_ms, partitions, keep, quiet;
    int store_only, commit_ms, batch;
    const char *model, *json;
    double rate; /* < 0: the mode's default */
    const char *store, *brokers, *topic;
    char **props; /* the -X values, in order */
    int nprops;
} demo_args;

/* Everything one run holds, released by demo_end(). */
typedef struct demo_run {
    demo_args a;
    char dir[PATH_MAX];
    int made_dir;  /* this run created dir (remove it, not just its files) */
    int dir_owned; /* dir holds only what this run wrote */
    demo_kafka k;
    uint64_t retained; /* records the topic holds after the load */
    demo_zipf z;
    fstore_store_t *store;
    const fstore_table_t *table;
    demo_live live;
    demo_lookup look;
    demo_report rep;
} demo_run;

static volatile sig_atomic_t demo_signal;

static void demo_on_signal(int sig)
{
    demo_signal = sig;
}

void cmd_demo_usage(FILE *out)
{
    fputs(
        "Usage: fstore demo [--entities N] [--seconds S] [--rate R] [--commit-ms MS]\n"
        "                   [--batch N] [--model FILE] [--json FILE] [--partitions P]\n"
        "                   [--store DIR] [--keep] [--brokers B] [-X PROP=VALUE ...]\n"
        "                   [-q]\n"
        "       fstore demo --store-only [--entities N] [--records N] [--seconds S]\n"
        "                   [--rate R] [--partitions P] [--store DIR] [--keep]\n"
        "                   [--brokers B [--topic T]] [-X PROP=VALUE ...] [-q]\n\n"
        "Runs the whole pipeline with no broker (librdkafka's in-process mock\n"
        "cluster; or a real one with --brokers): payment events produced at a paced\n"
        "rate -> fstore aggregate (window features, exactly once) -> the compacted\n"
        "feature topic -> a tailing store -> a logistic-regression model scoring the\n"
        "user after each payment, in micro-batches through fstore_get_batch ->\n"
        "predictions produced to a topic. Prints p50/p99 from an event produced to\n"
        "its feature record committed, visible in the store and its prediction\n"
        "produced, beside Kafka's own produce->consume of the same events; figures\n"
        "per stage; one user's story. Takes about 20 s with the defaults.\n\n"
        "With --store-only, the store alone: streams synthetic per-entity features\n"
        "(Zipf-distributed activity, updates and deletes) into a compacted topic,\n"
        "bootstraps a store, then keeps tailing live updates while it times lookups;\n"
        "prints the bootstrap rate, lookup and batch figures, produce->visible and\n"
        "freshness percentiles and one entity's feature vector.\n\n"
        "Options:\n"
        "  --entities N     users (default 10000), or with --store-only entities\n"
        "                   (default 100000)\n"
        "  --seconds S      how long events are produced (default 15), or with\n"
        "                   --store-only the live phase (default 5)\n"
        "  --rate R         events per second (default 1000), or with --store-only\n"
        "                   live updates per second (default 5000; 0: none)\n"
        "  --commit-ms MS   the aggregator's transaction interval (default 100)\n"
        "  --batch N        requests per micro-batch, at most (default 64)\n"
        "  --model FILE     the model (default: the shipped\n"
        "                   examples/pipeline/model.json)\n"
        "  --json FILE      also write every figure of the pipeline to FILE as JSON\n"
        "  --records N      --store-only: records of the bootstrap (default 3 x\n"
        "                   entities)\n"
        "  --partitions P   partitions of the topics (default 4)\n"
        "  --store DIR      work in DIR (store, state, schemas), new or empty\n"
        "                   (default: a temporary directory)\n"
        "  --keep           keep DIR (and topics on a real cluster) at exit\n"
        "  --brokers B      use this Kafka cluster instead of the mock one; topics\n"
        "                   get unique names (deleted at exit unless --keep)\n"
        "  --topic T        --store-only: the topic's name (with --brokers; an\n"
        "                   existing topic is used)\n"
        "  -X PROP=VALUE    a property of the library (repeatable), e.g.\n"
        "                   -X tail.batch.max_ms=5 or -X store.sync=none\n"
        "  -q, --quiet      print only the results (no progress or step lines)\n"
        "  -h, --help       print this help\n\n"
        "Results go to stdout; progress and steps to stderr.\n"
        "Exit status: 0 ok, 1 runtime error, 2 usage error.\n",
        out);
}

/* Parses a whole number in [lo, hi]. @return 0 or -1. */
static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    if (*s < '0' || *s > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Sets the -X properties into @p conf (NULL: a scratch conf, to check
 * them). @return TOOL_OK, or TOOL_USAGE after a message. */
static int demo_set_props(const demo_args *a, fstore_conf_t *conf)
{
    fstore_conf_t *own = conf ? NULL : fstore_conf_new();
    if (!conf && !(conf = own))
        return tool_fail(CMD, FSTORE_ERR_NO_MEMORY, "", "starting");
    int rc = TOOL_OK;
    for (int i = 0; i < a->nprops && rc == TOOL_OK; i++) {
        char errstr[512] = "", *eq = strchr(a->props[i], '=');
        *eq = '\0';
        fstore_err_t err =
            fstore_conf_set(conf, a->props[i], eq + 1, errstr, sizeof errstr);
        *eq = '=';
        if (err)
            rc = tool_usage(CMD, "-X %s: %s", a->props[i],
                            *errstr ? errstr : fstore_strerror(err));
    }
    fstore_conf_destroy(own);
    return rc;
}

static int demo_parse(int argc, char **argv, demo_args *a)
{
    static const struct option opts[] = {
        {"entities", required_argument, NULL, 'e'},
        {"records", required_argument, NULL, 'r'},
        {"seconds", required_argument, NULL, 's'},
        {"rate", required_argument, NULL, 'R'},
        {"partitions", required_argument, NULL, 'p'},
        {"store", required_argument, NULL, 'd'},
        {"keep", no_argument, NULL, 'k'},
        {"brokers", required_argument, NULL, 'b'},
        {"topic", required_argument, NULL, 't'},
        {"quiet", no_argument, NULL, 'q'},
        {"store-only", no_argument, NULL, 'O'},
        {"commit-ms", required_argument, NULL, 'C'},
        {"batch", required_argument, NULL, 'B'},
        {"model", required_argument, NULL, 'M'},
        {"json", required_argument, NULL, 'J'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    uint64_t v = 0;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":qhX:", opts, NULL)) != -1) {
        switch (c) {
        case 'e':
            if (parse_u64(optarg, 1, 50000000, &a->entities))
                return tool_usage(CMD, "--entities wants 1 to 50000000");
            break;
        case 'r':
            if (parse_u64(optarg, 1, 1000000000, &a->records))
                return tool_usage(CMD, "--records wants 1 to 1000000000");
            a->records_set = 1;
            break;
        case 's':
            if (tool_parse_seconds(optarg, &a->live_ms) || a->live_ms < 100 ||
                a->live_ms > 3600000)
                return tool_usage(CMD, "--seconds wants 0.1 to 3600");
            break;
        case 'R':
            if (parse_u64(optarg, 0, 1000000, &v))
                return tool_usage(CMD, "--rate wants 0 to 1000000 records/s");
            a->rate = (double)v;
            break;
        case 'p':
            if (parse_u64(optarg, 1, 1024, &v))
                return tool_usage(CMD, "--partitions wants 1 to 1024");
            a->partitions = (int)v;
            break;
        case 'd': a->store = optarg; break;
        case 'k': a->keep = 1; break;
        case 'b': a->brokers = optarg; break;
        case 't': a->topic = optarg; break;
        case 'q': a->quiet = 1; break;
        case 'O': a->store_only = 1; break;
        case 'C':
            if (parse_u64(optarg, 1, 60000, &v))
                return tool_usage(CMD, "--commit-ms wants 1 to 60000");
            a->commit_ms = (int)v;
            break;
        case 'B':
            if (parse_u64(optarg, 1, 1024, &v))
                return tool_usage(CMD, "--batch wants 1 to 1024");
            a->batch = (int)v;
            break;
        case 'M': a->model = optarg; break;
        case 'J': a->json = optarg; break;
        case 'X':
            if (!strchr(optarg, '=') || *optarg == '=')
                return tool_usage(CMD, "-X wants PROP=VALUE, not '%s'", optarg);
            if (a->nprops >= DEMO_MAX_PROPS)
                return tool_usage(CMD, "more than %d -X options",
                                  DEMO_MAX_PROPS);
            a->props[a->nprops++] = optarg;
            break;
        case 'h': cmd_demo_usage(stdout); return -1;
        default: return tool_bad_option(CMD, c, optopt, argv);
        }
    }
    if (optind < argc)
        return tool_usage(CMD, "unexpected argument '%s'", argv[optind]);
    if (a->topic && !a->brokers)
        return tool_usage(CMD, "--topic needs --brokers (the mock cluster "
                               "always uses fstore-demo)");
    if (a->store_only && (a->commit_ms || a->batch || a->model || a->json))
        return tool_usage(CMD, "--commit-ms, --batch, --model and --json are for "
                               "the pipeline, not --store-only");
    if (!a->store_only && (a->topic || a->records_set))
        return tool_usage(CMD, "--topic and --records are for --store-only");
    /* The mode's defaults. */
    if (!a->entities)
        a->entities = a->store_only ? 100000 : 10000;
    if (!a->live_ms)
        a->live_ms = a->store_only ? 5000 : 15000;
    if (a->rate < 0)
        a->rate = a->store_only ? 5000 : 1000;
    if (!a->store_only && a->rate < 1)
        return tool_usage(CMD, "--rate wants at least 1 event/s for the pipeline");
    if (!a->commit_ms)
        a->commit_ms = 100;
    if (!a->batch)
        a->batch = 64;
    if (a->store && !*a->store)
        return tool_usage(CMD, "--store wants a directory");
    if (!a->records_set)
        a->records = a->entities * 3;
    return demo_set_props(a, NULL);
}

/* ---- the store directory ------------------------------------------------ */

/* Picks the store directory: a new temporary one, or --store DIR, which
 * must be absent or empty (the demo's topic is new: an old store's offsets
 * would not match it). */
static int demo_dir(demo_run *r)
{
    if (!r->a.store) {
        const char *tmp = getenv("TMPDIR");
        snprintf(r->dir, sizeof r->dir, "%s/fstore-demo-XXXXXX",
                 tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(r->dir)) {
            tool_msg(CMD, "cannot create a temporary directory %s: %s", r->dir,
                     strerror(errno));
            return TOOL_FAIL;
        }
        r->made_dir = r->dir_owned = 1;
        return TOOL_OK;
    }
    snprintf(r->dir, sizeof r->dir, "%s", r->a.store);
    DIR *d = opendir(r->dir);
    if (!d) {
        if (errno != ENOENT) {
            tool_msg(CMD, "cannot use --store %s: %s", r->dir, strerror(errno));
            return TOOL_FAIL;
        }
        if (mkdir(r->dir, 0700) != 0) {
            tool_msg(CMD, "cannot create --store %s: %s", r->dir,
                     strerror(errno));
            return TOOL_FAIL;
        }
        r->made_dir = r->dir_owned = 1;
        return TOOL_OK;
    }
    struct dirent *e;
    int empty = 1;
    while (empty && (e = readdir(d)))
        empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
    closedir(d);
    if (!empty) {
        tool_msg(CMD,
                 "--store %s is not empty; the demo builds a new store: give "
                 "a new or empty directory",
                 r->dir);
        return TOOL_FAIL;
    }
    r->dir_owned = 1;
    return TOOL_OK;
}

/* Removes the files the store wrote into dir (and dir, if ours). */
static void demo_dir_remove(demo_run *r)
{
    if (!r->dir_owned)
        return;
    DIR *d = opendir(r->dir);
    if (d) {
        struct dirent *e;
        char path[PATH_MAX + 256];
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(path, sizeof path, "%s/%s", r->dir, e->d_name);
                unlink(path);
            }
        closedir(d);
    }
    if (r->made_dir)
        rmdir(r->dir);
}

/* ---- the store -------------------------------------------------------- */

/* The demo's settings of the store, before those of -X. */
static const char *const demo_defaults[][2] = {
    {"tail.batch.max_ms", "1"},
    {"kafka.fetch.wait.max.ms", "1"},
};

/* Opens the store with tailing, registers the writer schema, creates the
 * table and starts the tailer. @return TOOL_OK or TOOL_FAIL (message). */
static int demo_store_open(demo_run *r)
{
    char errstr[1024] = "";
    fstore_conf_t *conf = fstore_conf_new();
    if (!conf)
        return tool_fail(CMD, FSTORE_ERR_NO_MEMORY, "", "starting");
    fstore_conf_set_log_cb(conf, demo_log_fstore, NULL);
    /* Latency first: a record waits at most 1 ms for its batch to commit,
     * and fetches wait at most 1 ms for data, for more fetches and
     * commits than the library's defaults (10 ms). -X overrides them. */
    fstore_err_t err = FSTORE_OK;
    for (size_t i = 0; i < sizeof demo_defaults / sizeof *demo_defaults && !err;
         i++)
        err = fstore_conf_set(conf, demo_defaults[i][0], demo_defaults[i][1],
                              errstr, sizeof errstr);
    if (!err && demo_set_props(&r->a, conf) != TOOL_OK) {
        fstore_conf_destroy(conf);
        return TOOL_FAIL; /* checked at parse time: not reached */
    }
    if (!err)
        err = fstore_conf_set(conf, "kafka.bootstrap.servers", r->k.bootstraps,
                              errstr, sizeof errstr);
    if (!err)
        err = fstore_store_open(r->dir, conf, &r->store, errstr, sizeof errstr);
    fstore_conf_destroy(conf);
    if (err)
        return tool_fail(CMD, err, errstr, "cannot open the store in %s",
                         r->dir);
    /* The writer schema under its id, so no registry is needed. */
    if ((err = fstore_schema_register(r->store, DEMO_SCHEMA_ID, demo_schema,
                                      errstr, sizeof errstr)))
        return tool_fail(CMD, err, errstr, "cannot register schema id %d",
                         DEMO_SCHEMA_ID);
    if ((err = fstore_table_create(r->store, TABLE, demo_schema,
                                   FSTORE_FORMAT_CONFLUENT, -1, &r->table,
                                   errstr, sizeof errstr)))
        return tool_fail(CMD, err, errstr, "cannot create table " TABLE);
    if ((err = fstore_tail_add(r->store, r->table, r->k.topic, NULL, errstr,
                               sizeof errstr)))
        return tool_fail(CMD, err, errstr, "cannot tail topic %s", r->k.topic);
    if ((err = fstore_tail_start(r->store, errstr, sizeof errstr)))
        return tool_fail(CMD, err, errstr, "cannot start tailing %s",
                         r->k.topic);
    return TOOL_OK;
}

/* Stops the tailer and closes the store. @return TOOL_OK or TOOL_FAIL. */
static int demo_store_close(demo_run *r)
{
    if (!r->store)
        return TOOL_OK;
    int rc = TOOL_OK;
    fstore_err_t err = fstore_tail_stop(r->store);
    if (err) {
        char msg[1024];
        fstore_tail_error(r->store, msg, sizeof msg);
        rc = tool_fail(CMD, err, msg, "the tailer stopped on an error");
    }
    fstore_store_close(r->store);
    r->store = NULL;
    r->table = NULL;
    return rc;
}

static int demo_interrupted(void)
{
    if (!demo_signal)
        return 0;
    demo_status_clear();
    tool_msg(CMD, "stopped by %s", strsignal(demo_signal));
    return 1;
}

/* Reports the error that stopped the tailer. @return TOOL_FAIL. */
static int demo_tail_failed(demo_run *r)
{
    char msg[1024];
    fstore_err_t err = fstore_tail_error(r->store, msg, sizeof msg);
    demo_status_clear();
    return tool_fail(CMD, err ? err : FSTORE_ERR_STATE, msg,
                     "the tailer stopped on an error");
}

/* Waits until the tailer is ready, redrawing the status line with @p what.
 * @return TOOL_OK or TOOL_FAIL (message). */
static int demo_wait_ready(demo_run *r, const char *what, uint64_t total)
{
    uint64_t t0 = demo_now_ns();
    for (;;) {
        fstore_err_t err = fstore_tail_wait_ready(r->store, 250);
        if (err == FSTORE_OK)
            return TOOL_OK;
        if (err != FSTORE_ERR_TIMED_OUT)
            return demo_tail_failed(r);
        if (demo_interrupted())
            return TOOL_FAIL;
        if (demo_now_ns() - t0 > 600 * 1000000000ull) {
            demo_status_clear();
            tool_msg(CMD, "not caught up with topic %s after 10 minutes",
                     r->k.topic);
            return TOOL_FAIL;
        }
        tail_figures f;
        if (tail_figures_read(r->store, &f) == 0) {
            double s = (double)(demo_now_ns() - t0) / 1e9;
            char a[32], b[32], c[32];
            demo_status(
                "%s %s%s%s records  %s rec/s", what,
                sup_grouped(f.records, a, sizeof a), total ? " / " : "",
                total ? sup_grouped((int64_t)total, b, sizeof b) : "",
                sup_grouped((int64_t)((double)f.records / s), c, sizeof c));
        }
    }
}

/* ---- phases ------------------------------------------------------------ */

static int load_tick(void *opaque, uint64_t done)
{
    demo_run *r = opaque;
    static uint64_t t0, last;
    uint64_t now = demo_now_ns();
    if (!t0)
        t0 = last = now;
    if (now - last >= TICK_NS) {
        last = now;
        char a[32], b[32], c[32];
        double s = (double)(now - t0) / 1e9;
        demo_status(
            "producing %s / %s records  %s rec/s",
            sup_grouped((int64_t)done, a, sizeof a),
            sup_grouped((int64_t)r->a.records, b, sizeof b),
            sup_grouped(s > 0 ? (int64_t)((double)done / s) : 0, c, sizeof c));
    }
    return demo_signal != 0;
}

/* Phase 1: the mock cluster (or the real one), the topic, the records. */
static int demo_produce(demo_run *r)
{
    char errstr[1024] = "", topic[200];
    if (r->a.topic)
        snprintf(topic, sizeof topic, "%s", r->a.topic);
    else if (r->a.brokers)
        snprintf(topic, sizeof topic, "fstore-demo-%ld-%lld", (long)getpid(),
                 (long long)(demo_wall_ms() / 1000));
    else
        snprintf(topic, sizeof topic, "fstore-demo");
    if (demo_kafka_open(&r->k, r->a.brokers, topic, r->a.partitions, 1,
                        demo_log_kafka, errstr, sizeof errstr)) {
        tool_msg(CMD, "%s%s", errstr, r->a.brokers ? "; check --brokers" : "");
        return TOOL_FAIL;
    }
    demo_step("%s at %s, topic %s (%d partitions)",
              r->k.mock ? "mock Kafka cluster (in-process)" : "Kafka",
              r->k.bootstraps, r->k.topic, r->k.partitions);
    uint64_t t0 = demo_now_ns();
    uint64_t deletes = 0;
    int rc = demo_load(&r->k, &r->z, r->a.records, &deletes, load_tick, r,
                       errstr, sizeof errstr);
    if (rc == 0)
        rc = demo_kafka_flush(&r->k, 120000, errstr, sizeof errstr);
    if (rc) {
        demo_status_clear();
        if (!demo_interrupted())
            tool_msg(CMD, "%s", errstr);
        return TOOL_FAIL;
    }
    double s = (double)(demo_now_ns() - t0) / 1e9;
    char a[32], b[32], c[32], d[32];
    demo_step("produced %s records for %s entities (%s deletes) in %.1f s "
              "(%s rec/s)",
              sup_grouped((int64_t)r->a.records, a, sizeof a),
              sup_grouped((int64_t)r->a.entities, b, sizeof b),
              sup_grouped((int64_t)deletes, c, sizeof c), s,
              sup_grouped((int64_t)((double)r->a.records / s), d, sizeof d));
    int64_t kept = demo_kafka_retained(&r->k);
    r->retained = kept >= 0 ? (uint64_t)kept : r->a.records;
    uint64_t latest =
        r->a.entities < r->a.records ? r->a.entities : r->a.records;
    char e[32];
    if (r->k.mock && kept >= 0 && (uint64_t)kept < latest) {
        demo_status_clear();
        tool_msg(CMD,
                 "warning: the mock cluster keeps the newest 5 MB of each "
                 "partition: %s records remain, fewer than the %s entities; "
                 "use more --partitions or fewer --entities",
                 sup_grouped(kept, a, sizeof a),
                 sup_grouped((int64_t)latest, e, sizeof e));
    } else if (r->k.mock && kept >= 0 && (uint64_t)kept < r->a.records)
        demo_step("the mock cluster keeps the newest 5 MB of each partition: "
                  "%s records remain; the dropped ones are old, superseded "
                  "updates, as compaction would remove",
                  sup_grouped(kept, a, sizeof a));
    return TOOL_OK;
}

/* Phase 2: bootstrap a new store from the topic, then close it and open
 * it again: the tailer resumes from the offsets stored with the rows, and
 * its freshness figures cover only the live phase. */
static int demo_bootstrap(demo_run *r)
{
    uint64_t t0 = demo_now_ns();
    int rc = demo_store_open(r);
    if (rc == TOOL_OK)
        rc = demo_wait_ready(r, "bootstrapping", r->retained);
    if (rc != TOOL_OK)
        return rc;
    r->rep.boot_s = (double)(demo_now_ns() - t0) / 1e9;
    tail_figures f;
    r->rep.boot_records = tail_figures_read(r->store, &f) == 0
                              ? (uint64_t)f.records
                              : r->retained;
    fstore_reader_t *rd = NULL;
    fstore_err_t err = fstore_reader_new(r->store, &rd);
    if (!err)
        err = fstore_reader_row_count(rd, r->table, &r->rep.rows);
    fstore_reader_destroy(rd);
    demo_status_clear();
    if (err)
        return tool_fail(CMD, err, "", "cannot count the rows");
    char a[32], b[32], c[32];
    demo_step(
        "bootstrapped %s entities from %s records in %.2f s (%s "
        "records/s)",
        sup_grouped((int64_t)r->rep.rows, a, sizeof a),
        sup_grouped((int64_t)r->rep.boot_records, b, sizeof b), r->rep.boot_s,
        sup_grouped((int64_t)((double)r->rep.boot_records / r->rep.boot_s), c,
                    sizeof c));
    if ((rc = demo_store_close(r)) != TOOL_OK)
        return rc;
    t0 = demo_now_ns();
    if ((rc = demo_store_open(r)) != TOOL_OK ||
        (rc = demo_wait_ready(r, "resuming", 0)) != TOOL_OK)
        return rc;
    demo_step("reopened the store: the tailer resumed from the stored "
              "offsets in %.0f ms",
              (double)(demo_now_ns() - t0) / 1e6);
    return TOOL_OK;
}

static void live_status(demo_run *r, double s)
{
    tail_figures f;
    char a[32], b[32], c[32], d[32];
    uint64_t p99 = atomic_load(&r->live.probe_p99_ns);
    if (tail_figures_read(r->store, &f))
        f.lag = -1;
    demo_status(
        "live %.1f / %.1f s  %s updates  %s lookups  lag %s  "
        "produce->visible p99 %s",
        s, r->a.live_ms / 1000.0,
        sup_grouped(atomic_load(&r->live.produced), a, sizeof a),
        sup_grouped((int64_t)(r->look.gets + r->look.batch_keys), b, sizeof b),
        f.lag < 0 ? "?" : sup_grouped(f.lag, c, sizeof c),
        p99 ? demo_duration((double)p99, d, sizeof d) : "-");
}

/* Waits until the tailer applied every record of the live phase. */
static int demo_catch_up(demo_run *r, uint64_t expected)
{
    uint64_t t0 = demo_now_ns();
    tail_figures f;
    for (;;) {
        if (tail_figures_read(r->store, &f) == 0 &&
            (uint64_t)f.records >= expected) {
            r->rep.live_applied = (uint64_t)f.records;
            return TOOL_OK;
        }
        if (fstore_tail_error(r->store, NULL, 0) != FSTORE_OK)
            return demo_tail_failed(r);
        if (demo_interrupted())
            return TOOL_FAIL;
        if (demo_now_ns() - t0 > CATCH_UP_MS * 1000000ull) {
            demo_status_clear();
            tool_msg(CMD,
                     "the store applied %lld of the %llu live records "
                     "within %d s",
                     (long long)f.records, (unsigned long long)expected,
                     CATCH_UP_MS / 1000);
            return TOOL_FAIL;
        }
        struct timespec ts = {0, 10000000L};
        nanosleep(&ts, NULL);
    }
}

/* Phase 3: live updates and probes while the main thread looks up. */
static int demo_live_phase(demo_run *r)
{
    char errstr[1024] = "";
    fstore_err_t err =
        demo_lookup_init(&r->look, r->store, r->table, &r->z, 1234);
    if (err)
        return tool_fail(CMD, err, "", "cannot prepare the lookups");
    r->live.k = &r->k;
    r->live.z = &r->z;
    r->live.rate = r->a.rate;
    r->live.store = r->store;
    r->live.table = r->table;
    demo_step("live for %.1f s: %s updates/s, probes every 20 ms, lookups "
              "on this thread",
              r->a.live_ms / 1000.0,
              sup_grouped((int64_t)r->a.rate, errstr, sizeof errstr));
    if (demo_live_start(&r->live))
        return tool_fail(CMD, FSTORE_ERR_NO_MEMORY, r->live.err,
                         "cannot start the live phase");
    uint64_t t0 = demo_now_ns(), end = t0 + (uint64_t)r->a.live_ms * 1000000u,
             next_tick = t0, now;
    int rc = TOOL_OK;
    while ((now = demo_now_ns()) < end) {
        if ((err = demo_lookup_round(&r->look, errstr, sizeof errstr))) {
            rc = tool_fail(CMD, err, errstr, "a lookup failed");
            break;
        }
        if (atomic_load(&r->live.failed) || demo_signal ||
            fstore_tail_error(r->store, NULL, 0) != FSTORE_OK)
            break;
        if (now >= next_tick) {
            live_status(r, (double)(now - t0) / 1e9);
            next_tick = now + TICK_NS;
        }
    }
    r->rep.live_s = (double)(demo_now_ns() - t0) / 1e9;
    demo_status_clear();
    if (demo_live_stop(&r->live) && rc == TOOL_OK)
        rc = tool_fail(CMD, FSTORE_ERR_KAFKA, r->live.err,
                       "the live phase failed");
    if (rc != TOOL_OK)
        return rc;
    if (fstore_tail_error(r->store, NULL, 0) != FSTORE_OK)
        return demo_tail_failed(r);
    if (demo_interrupted())
        return TOOL_FAIL;
    if (demo_kafka_flush(&r->k, 30000, errstr, sizeof errstr)) {
        tool_msg(CMD, "%s", errstr);
        return TOOL_FAIL;
    }
    return demo_catch_up(r, (uint64_t)(atomic_load(&r->live.produced) +
                                       atomic_load(&r->live.probes)));
}

/* Count, p50 and p99 of the histogram @p name of the statistics @p root;
 * count -1 when it is absent or empty. */
static void demo_stat_hist(json_t *root, const char *name, int64_t *count,
                           double *p50, double *p99)
{
    json_t *f = json_object_get(root, name);
    json_t *n = json_object_get(f, "count");
    *count = -1;
    if (json_is_integer(n) && json_integer_value(n) > 0) {
        *count = (int64_t)json_integer_value(n);
        *p50 = json_number_value(json_object_get(f, "p50"));
        *p99 = json_number_value(json_object_get(f, "p99"));
    }
}

/* The tailer's freshness percentiles (record timestamp → commit) and its
 * own part of them (taken off the consumer's queue → commit). */
static void demo_freshness(demo_run *r)
{
    r->rep.fresh_count = -1;
    r->rep.apply_count = -1;
    char *txt = NULL;
    if (fstore_stats_json(r->store, &txt) != FSTORE_OK)
        return;
    json_t *root = json_loads(txt, 0, NULL);
    fstore_free(txt);
    demo_stat_hist(root, "freshness_ms", &r->rep.fresh_count, &r->rep.fresh_p50,
                   &r->rep.fresh_p99);
    demo_stat_hist(root, "apply_ms", &r->rep.apply_count, &r->rep.apply_p50,
                   &r->rep.apply_p99);
    json_decref(root);
}

/* Writes the demo's settings and the -X ones as "P=V, P=V" (the last of a
 * property wins, as in the conf). */
static void demo_settings(const demo_run *r, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof demo_defaults / sizeof *demo_defaults; i++) {
        const char *name = demo_defaults[i][0], *value = demo_defaults[i][1];
        size_t len = strlen(name);
        for (int j = 0; j < r->a.nprops; j++)
            if (!strncmp(r->a.props[j], name, len) && r->a.props[j][len] == '=')
                value = r->a.props[j] + len + 1;
        n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s%s=%s",
                              n ? ", " : "", name, value);
    }
    for (int j = 0; j < r->a.nprops; j++) {
        int dup = 0;
        for (size_t i = 0; i < sizeof demo_defaults / sizeof *demo_defaults;
             i++) {
            size_t len = strlen(demo_defaults[i][0]);
            dup |= !strncmp(r->a.props[j], demo_defaults[i][0], len) &&
                   r->a.props[j][len] == '=';
        }
        if (!dup)
            n += (size_t)snprintf(buf + n, n < size ? size - n : 0, ", %s",
                                  r->a.props[j]);
    }
}

/* Prints the results. @return TOOL_OK or TOOL_FAIL. */
static int demo_results(demo_run *r)
{
    char settings[1024];
    demo_settings(r, settings, sizeof settings);
    demo_freshness(r);
    r->rep.settings = settings;
    r->rep.k = &r->k;
    r->rep.store_dir = r->dir;
    r->rep.store_kept = r->a.keep || !r->dir_owned;
    r->rep.entities =
        r->a.entities < r->a.records ? r->a.entities : r->a.records;
    r->rep.look = &r->look;
    r->rep.live = &r->live;
    demo_report_print(stdout, &r->rep);
    fstore_err_t err = demo_report_sample(stdout, r->store, r->table, &r->z, 0, NULL);
    if (err)
        return tool_fail(CMD, err, "", "cannot read the sample entity");
    if (r->a.keep && !r->a.quiet) {
        char key[DEMO_KEY_MAX];
        demo_key(demo_zipf_entity(&r->z, 0), key);
        printf("\nThe store stays in %s:\n"
               "  fstore get --store %s --table " TABLE " %s\n"
               "  fstore stats --store %s\n",
               r->dir, r->dir, key, r->dir);
    }
    return TOOL_OK;
}

/* Releases everything; @return @p rc, or TOOL_FAIL if closing failed. */
static int demo_end(demo_run *r, int rc)
{
    demo_live_stop(&r->live);
    demo_lookup_free(&r->look);
    if (demo_store_close(r) != TOOL_OK)
        rc = TOOL_FAIL;
    demo_kafka_close(&r->k, !r->a.keep);
    demo_zipf_free(&r->z);
    if (!r->a.keep)
        demo_dir_remove(r);
    return rc;
}

int cmd_demo(int argc, char **argv)
{
    static demo_run run; /* large (histograms): not on the stack */
    demo_run *r = &run;
    memset(r, 0, sizeof *r);
    r->a.rate = -1;
    r->a.partitions = 4;
    static char *props[DEMO_MAX_PROPS];
    r->a.props = props;
    int rc = demo_parse(argc, argv, &r->a);
    if (rc != TOOL_OK)
        return rc < 0 ? TOOL_OK : rc;
    demo_out_init(r->a.quiet);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = demo_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (!r->a.store_only) {
        pipe_args p = {
            .users = (uint32_t)r->a.entities,
            .rate = r->a.rate,
            .run_ms = r->a.live_ms,
            .partitions = r->a.partitions,
            .commit_ms = r->a.commit_ms,
            .batch = r->a.batch,
            .brokers = r->a.brokers,
            .model = r->a.model,
            .json = r->a.json,
            .dir = r->a.store,
            .keep = r->a.keep,
            .quiet = r->a.quiet,
            .props = r->a.props,
            .nprops = r->a.nprops,
            .interrupted = &demo_signal,
        };
        return demo_pipeline(&p);
    }
    if (demo_zipf_init(&r->z, (uint32_t)r->a.entities, 0.99))
        return tool_fail(CMD, FSTORE_ERR_NO_MEMORY, "", "starting");

    rc = demo_dir(r);
    if (rc == TOOL_OK)
        rc = demo_produce(r);
    if (rc == TOOL_OK)
        rc = demo_bootstrap(r);
    if (rc == TOOL_OK)
        rc = demo_live_phase(r);
    if (rc == TOOL_OK)
        rc = demo_results(r);
    return demo_end(r, rc);
}
