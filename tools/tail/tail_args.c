/* The arguments of `fstore tail`; see tail_args.h. */
#include "tail_args.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

#define CMD "tail"

void cmd_tail_usage(FILE *out)
{
    fputs(
        "Usage: fstore tail --brokers B --store DIR [OPTIONS]\n"
        "                   --topic T --schema S.avsc [TOPIC OPTIONS]\n"
        "                   [--topic T2 --schema S2.avsc [TOPIC OPTIONS]]...\n\n"
        "Creates (or opens) table NAME in the store with the serving schema "
        "S.avsc, then\n"
        "consumes topic T and applies every record to the table, each batch "
        "with its\n"
        "offsets in one transaction; a restart resumes where it stopped. "
        "Several topics\n"
        "fill several tables of one store: repeat --topic, each followed by "
        "its own\n"
        "--schema and topic options. Runs until\n"
        "SIGINT, SIGTERM or SIGHUP (then applies what it consumed and exits "
        "0; a second\n"
        "signal quits at once), or with --until-caught-up until the store "
        "has caught up\n"
        "with the end of the topic. On a terminal, stderr shows progress "
        "(records/s,\n"
        "lag, ETA).\n\n"
        "Required:\n"
        "  --brokers B          Kafka bootstrap servers, host:port[,...]\n"
        "                       (kafka.bootstrap.servers)\n"
        "  --topic T            the log-compacted topic to read\n"
        "  --schema FILE        the table's serving schema: an Avro record "
        "schema (.avsc)\n"
        "  --store DIR          the store directory (created if absent; one "
        "writer per\n"
        "                       store)\n"
        "Topic options (each belongs to the --topic before it; before any, "
        "to the first):\n"
        "  --table NAME         table name, [A-Za-z0-9._-] (default: the "
        "topic name)\n"
        "  --partitions LIST    only these partitions, e.g. 0,2-5 (default: "
        "all, also\n"
        "                       ones added later)\n"
        "  --format F           record values: confluent (magic byte, schema "
        "id, Avro;\n"
        "                       the default) or avro (plain Avro binary)\n"
        "  --writer-schema-id ID  with --format avro: the registry id of "
        "the schema the\n"
        "                       values are written with (default: the "
        "serving schema)\n"
        "Options:\n"
        "  --registry URL       Schema Registry base URL for writer schemas\n"
        "                       (registry.url)\n"
        "  --schemas DIR        directory of <id>.avsc writer schemas "
        "(schemas.dir)\n"
        "  --seed SRC           when DIR holds no store: restore it first "
        "from the\n"
        "                       snapshot SRC (a file, - for standard input, "
        "or an\n"
        "                       http(s) URL), so tailing resumes at the "
        "snapshot's\n"
        "                       offsets instead of reading the topic from its "
        "start;\n"
        "                       ignored when DIR holds a store. A damaged, "
        "truncated or\n"
        "                       unreachable seed exits 1 and leaves no store "
        "(store.seed)\n"
        "  --until-caught-up    exit 0 once the store has caught up with the "
        "end offsets\n"
        "                       the topics had at start\n"
        "  --timeout SECONDS    with --until-caught-up: give up after "
        "SECONDS (exit 1)\n"
        "  -X PROP=VALUE        set a property; repeatable. Names starting "
        "with kafka.,\n"
        "                       store., tail., registry., schemas. and "
        "log.level are\n"
        "                       fstore properties (docs/configuration.md); "
        "any other\n"
        "                       name is a librdkafka property and gets the "
        "prefix kafka.\n"
        "                       (-X security.protocol=SSL sets "
        "kafka.security.protocol).\n"
        "                       The flags above win over -X.\n"
        "  -q, --quiet          no progress and no \"caught up\" line "
        "(warnings and\n"
        "                       errors still show)\n"
        "  -h, --help           print this help\n\n"
        "Exit status: 0 stopped by a signal, or caught up with "
        "--until-caught-up;\n"
        "1 runtime error (store, schema, Kafka, timeout, tailer stopped on "
        "an error,\n"
        "second signal); 2 usage error.\n",
        out);
}

/* @return the property name -X PROP sets (see the usage). */
static const char *tail_prop_name(const char *prop, char *buf, size_t size)
{
    static const char *const ours[] = {"kafka.", "store.", "tail.", "registry.",
                                       "schemas.", "log.level", NULL};
    return tool_prop_name(prop, ours, buf, size);
}

static int tail_parse_format(const char *s, fstore_format_t *f)
{
    if (strcmp(s, "confluent") == 0)
        *f = FSTORE_FORMAT_CONFLUENT;
    else if (strcmp(s, "avro") == 0)
        *f = FSTORE_FORMAT_AVRO;
    else
        return -1;
    return 0;
}

/* An option given twice for one topic. @return TOOL_USAGE. */
static int tail_twice(const tail_table *t, const char *opt)
{
    if (t->topic)
        return tool_usage(CMD, "%s given twice for --topic %s (each --topic "
                               "takes its own, after it)",
                          opt, t->topic);
    return tool_usage(CMD, "%s given twice before the first --topic", opt);
}

/* Checks table i of a and fills in its defaults. @return TOOL_OK or
 * TOOL_USAGE (message printed). */
static int tail_table_check(tail_args *a, int i)
{
    tail_table *t = &a->tables[i];
    if (!t->topic || !*t->topic)
        return tool_usage(CMD, "missing --topic T");
    if ((!t->schema || !*t->schema) && a->ntables > 1)
        return tool_usage(CMD, "missing --schema FILE for --topic %s", t->topic);
    if (!t->schema || !*t->schema)
        return tool_usage(CMD, "missing --schema FILE");
    if (!t->table)
        t->table = t->topic;
    if (!tool_table_name_ok(t->table))
        return tool_usage(
            CMD, "table name '%s' may only use A-Z a-z 0-9 . _ -%s", t->table,
            t->table == t->topic ? " (give --table)" : "");
    for (int j = 0; j < i; j++)
        if (strcmp(a->tables[j].table, t->table) == 0)
            return tool_usage(CMD,
                              "table %s would be filled from --topic %s and "
                              "--topic %s; give one of them another --table",
                              t->table, a->tables[j].topic, t->topic);
    if (t->partitions && !tool_partitions_ok(t->partitions))
        return tool_usage(CMD,
                          "--partitions wants a list such as 0,2-5, "
                          "not '%s'",
                          t->partitions);
    if (t->have_id && t->format != FSTORE_FORMAT_AVRO)
        return tool_usage(CMD, "--writer-schema-id needs --format avro");
    return TOOL_OK;
}

int tail_args_parse(int argc, char **argv, tail_args *a)
{
    static const struct option opts[] = {
        {"brokers", required_argument, NULL, 'b'},
        {"topic", required_argument, NULL, 'T'},
        {"schema", required_argument, NULL, 'S'},
        {"store", required_argument, NULL, 's'},
        {"table", required_argument, NULL, 't'},
        {"registry", required_argument, NULL, 'r'},
        {"schemas", required_argument, NULL, 'd'},
        {"partitions", required_argument, NULL, 'p'},
        {"format", required_argument, NULL, 'F'},
        {"seed", required_argument, NULL, 'e'},
        {"writer-schema-id", required_argument, NULL, 'i'},
        {"until-caught-up", no_argument, NULL, 'u'},
        {"timeout", required_argument, NULL, 'w'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    a->timeout_ms = -1;
    a->ntables = 1; /* the first --topic fills it; options before it too */
    tail_table *cur = &a->tables[0];
    cur->writer_id = -1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hqX:", opts, NULL)) != -1) {
        switch (c) {
        case 'b': a->brokers = optarg; break;
        case 'T':
            if (cur->topic) {
                cur = &a->tables[a->ntables++];
                cur->writer_id = -1;
            }
            cur->topic = optarg;
            break;
        case 'S':
            if (cur->schema)
                return tail_twice(cur, "--schema");
            cur->schema = optarg;
            break;
        case 's': a->store = optarg; break;
        case 't':
            if (cur->table)
                return tail_twice(cur, "--table");
            cur->table = optarg;
            break;
        case 'r': a->registry = optarg; break;
        case 'd': a->schemas = optarg; break;
        case 'p':
            if (cur->partitions)
                return tail_twice(cur, "--partitions");
            cur->partitions = optarg;
            break;
        case 'e': a->seed = optarg; break;
        case 'u': a->until_caught_up = 1; break;
        case 'q': a->quiet = 1; break;
        case 'X':
            if (!strchr(optarg, '=') || optarg[0] == '=')
                return tool_usage(CMD, "-X wants PROP=VALUE, not '%s'", optarg);
            a->props[a->nprops++] = optarg;
            break;
        case 'F':
            if (cur->have_format)
                return tail_twice(cur, "--format");
            if (tail_parse_format(optarg, &cur->format))
                return tool_usage(
                    CMD, "--format is confluent or avro, not '%s'", optarg);
            cur->have_format = 1;
            break;
        case 'i':
            if (cur->have_id)
                return tail_twice(cur, "--writer-schema-id");
            if (tool_parse_id(optarg, &cur->writer_id))
                return tool_usage(CMD,
                                  "--writer-schema-id wants a schema id "
                                  "(0 or more), not '%s'",
                                  optarg);
            cur->have_id = 1;
            break;
        case 'w':
            if (tool_parse_seconds(optarg, &a->timeout_ms))
                return tool_usage(CMD, "--timeout wants seconds, not '%s'",
                                  optarg);
            break;
        case 'h': cmd_tail_usage(stdout); return -1;
        default: return tool_bad_option(CMD, c, optopt, argv);
        }
    }
    if (optind < argc)
        return tool_usage(CMD, "unexpected argument '%s'", argv[optind]);
    if (!a->brokers || !*a->brokers)
        return tool_usage(CMD, "missing --brokers B");
    for (int i = 0; i < a->ntables; i++) {
        int rc = tail_table_check(a, i);
        if (rc != TOOL_OK)
            return rc;
    }
    if (!a->store || !*a->store)
        return tool_usage(CMD, "missing --store DIR");
    if (a->timeout_ms >= 0 && !a->until_caught_up)
        return tool_usage(CMD, "--timeout needs --until-caught-up");
    return TOOL_OK;
}

int tail_args_conf(const tail_args *a, fstore_conf_t *conf)
{
    char errstr[512], name[256];
    for (int i = 0; i < a->nprops; i++) {
        char *eq = strchr(a->props[i], '=');
        *eq = '\0';
        const char *n = tail_prop_name(a->props[i], name, sizeof name);
        fstore_err_t err =
            fstore_conf_set(conf, n, eq + 1, errstr, sizeof errstr);
        *eq = '=';
        if (err)
            return tool_usage(CMD, "-X %s: %s", a->props[i], errstr);
        if (strcmp(n, "store.read_only") == 0)
            return tool_usage(CMD, "-X store.read_only: tail writes the store");
    }
    const char *set[][2] = {{"kafka.bootstrap.servers", a->brokers},
                            {"registry.url", a->registry},
                            {"schemas.dir", a->schemas},
                            {"store.seed", a->seed}};
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++) {
        if (!set[i][1])
            continue;
        if (fstore_conf_set(conf, set[i][0], set[i][1], errstr, sizeof errstr))
            return tool_usage(CMD, "%s: %s", set[i][0], errstr);
    }
    return TOOL_OK;
}
