/* fstore aggregate: windowed features from a topic of raw events. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agg_progress.h"
#include "common/common.h"

#define CMD "aggregate"

typedef struct agg_args {
    const char *brokers, *spec, *state, *group, *registry, *schemas;
    int until_caught_up, timeout_ms, quiet;
    char **props;
    int nprops;
} agg_args;

void cmd_aggregate_usage(FILE *out)
{
    fputs("Usage: fstore aggregate --brokers B --spec SPEC.json --state DIR\n"
          "                        [--group G] [--registry URL | --schemas DIR]\n"
          "                        [--until-caught-up [--timeout S]] "
          "[-q] [-X PROP=VALUE ...]\n\n"
          "Reads the events topic the spec names, keeps every entity's windows\n"
          "(counts, sums, means, minima, maxima, last values), and produces each\n"
          "changed entity's feature record to the spec's compacted output\n"
          "topic, exactly once: input offsets, outputs and the state's\n"
          "changelog commit in one Kafka transaction. Instances with the same\n"
          "--group share the input partitions. docs/aggregate.md describes\n"
          "the spec and the windows. On a terminal, stderr shows progress\n"
          "(events/s, entities, commits, records left to catch up); at the end\n"
          "a summary line and the statistics as JSON.\n\n"
          "Options:\n"
          "  --brokers B          Kafka bootstrap servers\n"
          "  --spec FILE          the aggregation spec (JSON); its schema path is\n"
          "                       read relative to the spec's folder\n"
          "  --state DIR          local state (created if absent); a restart\n"
          "                       catches it up from the changelog's tail\n"
          "  --group G            consumer group (default fstore-aggregate)\n"
          "  --registry URL       Schema Registry for the events' writer schemas;\n"
          "                       the output schema is registered there under\n"
          "                       <output topic>-value\n"
          "  --schemas DIR        directory of <id>.avsc writer schemas; the output\n"
          "                       schema is written there as <schema_id>.avsc\n"
          "  --until-caught-up    exit 0 once every input partition is consumed to\n"
          "                       its end at start and committed\n"
          "  --timeout S          with --until-caught-up: give up after S seconds\n"
          "  -q, --quiet          no progress line and no summary (the statistics\n"
          "                       line stays)\n"
          "  -X PROP=VALUE        a property (docs/configuration.md); names not\n"
          "                       starting with aggregate., store., registry.,\n"
          "                       schemas., log. or kafka. go to librdkafka\n\n"
          "Runs until SIGINT or SIGTERM (then commits what it holds and exits 0).\n"
          "Exit status: 0 stopped or caught up; 1 runtime error; 2 usage error.\n",
          out);
}

static const char *agg_prop_name(const char *prop, char *buf, size_t size)
{
    static const char *const ours[] = {"kafka.", "store.", "aggregate.", "registry.",
                                       "schemas.", "log.", NULL};
    return tool_prop_name(prop, ours, buf, size);
}

static int agg_parse(int argc, char **argv, agg_args *a)
{
    static const struct option opts[] = {
        {"brokers", required_argument, NULL, 'b'},
        {"spec", required_argument, NULL, 'S'},
        {"state", required_argument, NULL, 's'},
        {"group", required_argument, NULL, 'g'},
        {"registry", required_argument, NULL, 'r'},
        {"schemas", required_argument, NULL, 'd'},
        {"until-caught-up", no_argument, NULL, 'u'},
        {"timeout", required_argument, NULL, 'w'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    a->timeout_ms = -1;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "X:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'b': a->brokers = optarg; break;
        case 'S': a->spec = optarg; break;
        case 's': a->state = optarg; break;
        case 'g': a->group = optarg; break;
        case 'r': a->registry = optarg; break;
        case 'd': a->schemas = optarg; break;
        case 'u': a->until_caught_up = 1; break;
        case 'q': a->quiet = 1; break;
        case 'w':
            if (tool_parse_seconds(optarg, &a->timeout_ms))
                return tool_usage(CMD, "--timeout wants seconds, not '%s'", optarg);
            break;
        case 'X':
            if (!strchr(optarg, '='))
                return tool_usage(CMD, "-X wants PROP=VALUE, not '%s'", optarg);
            a->props[a->nprops++] = optarg;
            break;
        case 'h': cmd_aggregate_usage(stdout); return -1;
        default: return tool_bad_option(CMD, optopt, c, argv);
        }
    }
    if (optind < argc)
        return tool_usage(CMD, "unexpected argument '%s'", argv[optind]);
    if (!a->brokers || !a->spec || !a->state)
        return tool_usage(CMD, "--brokers, --spec and --state are required");
    if (a->registry && a->schemas)
        return tool_usage(CMD, "give --registry or --schemas, not both");
    if (a->timeout_ms >= 0 && !a->until_caught_up)
        return tool_usage(CMD, "--timeout needs --until-caught-up");
    return TOOL_OK;
}

static int agg_conf(const agg_args *a, fstore_conf_t *conf)
{
    char errstr[512], name[256];
    for (int i = 0; i < a->nprops; i++) {
        char *eq = strchr(a->props[i], '=');
        *eq = '\0';
        const char *n = agg_prop_name(a->props[i], name, sizeof name);
        fstore_err_t err = fstore_conf_set(conf, n, eq + 1, errstr, sizeof errstr);
        *eq = '=';
        if (err)
            return tool_usage(CMD, "-X %s: %s", a->props[i], errstr);
    }
    fstore_conf_set_log_cb(conf, agg_progress_log, NULL);
    const char *set[][2] = {{"kafka.bootstrap.servers", a->brokers},
                            {"aggregate.group", a->group},
                            {"registry.url", a->registry},
                            {"schemas.dir", a->schemas}};
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++)
        if (set[i][1] && fstore_conf_set(conf, set[i][0], set[i][1], errstr, sizeof errstr))
            return tool_usage(CMD, "%s: %s", set[i][0], errstr);
    return TOOL_OK;
}

/* The stop signals go to a thread that asks the aggregator to stop; a
 * second one quits at once (safe: nothing is committed twice or lost,
 * the next run resumes from the last commit). */
static fstore_aggregator_t *volatile g_agg;

static void *agg_signals(void *arg)
{
    const sigset_t *set = arg;
    int sig;
    if (sigwait(set, &sig) == 0 && g_agg)
        fstore_aggregator_stop(g_agg);
    if (sigwait(set, &sig) == 0) {
        static const char msg[] = "\nfstore aggregate: quitting now; the next run "
                                  "resumes from the last commit\n";
        ssize_t n = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)n;
        _exit(TOOL_FAIL);
    }
    return NULL;
}

static int agg_run(const agg_args *a, fstore_conf_t *conf)
{
    size_t len;
    char *spec = tool_read_file(a->spec, &len);
    if (!spec) {
        tool_msg(CMD, "cannot read --spec %s: %s", a->spec, strerror(errno));
        return TOOL_FAIL;
    }
    char *dir_copy = strdup(a->spec);
    const char *base = dir_copy ? dirname(dir_copy) : ".";
    char errstr[1024] = "";
    fstore_aggregator_t *agg = NULL;
    fstore_err_t err = fstore_aggregator_new(spec, base, a->state, conf, &agg, errstr,
                                             sizeof errstr);
    free(spec);
    free(dir_copy);
    if (err)
        return tool_fail(CMD, err, errstr, "cannot start aggregating with %s", a->spec);
    g_agg = agg;
    agg_progress progress;
    agg_progress_start(&progress, agg, a->quiet);
    err = fstore_aggregator_run(agg, a->until_caught_up, a->timeout_ms, errstr,
                                sizeof errstr);
    agg_progress_stop(&progress);
    char *stats = NULL;
    if (fstore_aggregator_stats_json(agg, &stats) == FSTORE_OK) {
        fprintf(stderr, "fstore aggregate: %s\n", stats);
        fstore_free(stats);
    }
    g_agg = NULL;
    fstore_aggregator_destroy(agg);
    if (err)
        return tool_fail(CMD, err, errstr, "aggregation stopped");
    return TOOL_OK;
}

int cmd_aggregate(int argc, char **argv)
{
    agg_args a;
    memset(&a, 0, sizeof a);
    a.props = calloc((size_t)argc + 1, sizeof *a.props);
    if (!a.props)
        return tool_fail(CMD, FSTORE_ERR_NO_MEMORY, "", "starting");
    int rc = agg_parse(argc, argv, &a);
    fstore_conf_t *conf = NULL;
    if (rc == TOOL_OK && !(conf = fstore_conf_new()))
        rc = tool_fail(CMD, FSTORE_ERR_NO_MEMORY, "", "starting");
    if (rc == TOOL_OK)
        rc = agg_conf(&a, conf);
    if (rc == TOOL_OK) {
        static sigset_t stop; /* static: the signal thread outlives nothing */
        sigemptyset(&stop);
        sigaddset(&stop, SIGINT);
        sigaddset(&stop, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &stop, NULL);
        pthread_t th;
        if (pthread_create(&th, NULL, agg_signals, &stop) == 0)
            pthread_detach(th);
        rc = agg_run(&a, conf);
    }
    fstore_conf_destroy(conf);
    free(a.props);
    return rc < 0 ? TOOL_OK : rc;
}
