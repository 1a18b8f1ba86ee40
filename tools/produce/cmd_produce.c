/*
 * fstore produce: JSON lines → Confluent-framed Avro records on a topic, for
 * loading test data and replaying fixtures into what `fstore tail` reads.
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <avro.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include "common/common.h"
#include "produce_json.h"
#include "support/lines.h"

#define CMD "produce"

void cmd_produce_usage(FILE *out)
{
    fputs("Usage: fstore produce --brokers B --topic T --schema S.avsc "
          "--schema-id ID\n"
          "                      --input FILE.jsonl [-X PROP=VALUE ...]\n\n"
          "Sends one Kafka record per input line {\"key\":K,\"value\":V}: K "
          "a non-empty\n"
          "string (the record key, its UTF-8 bytes); V an object of the "
          "schema's fields,\n"
          "Avro-encoded and Confluent-framed (magic byte 0, ID as 4 bytes "
          "big-endian), or\n"
          "null for a tombstone. Values: null, booleans, integers, numbers "
          "(also \"NaN\",\n"
          "\"Infinity\", \"-Infinity\"), strings (also enum symbols; bytes "
          "and fixed as\n"
          "code points U+0000-U+00FF, one per byte), arrays, objects; a "
          "union takes null\n"
          "or a plain value; logical types take their base type's form; a "
          "missing field\n"
          "takes the schema's default. Records are keyed and partitioned as "
          "the Java\n"
          "client does (murmur2_random), by an idempotent producer.\n"
          "Bad lines (invalid JSON, no key, a value that does not match the "
          "schema) are\n"
          "reported with their line number and not sent; empty lines are "
          "skipped. At the\n"
          "end, once every record is delivered or failed, a summary goes to "
          "stderr.\n\n"
          "Options:\n"
          "  --brokers B        Kafka bootstrap servers "
          "(bootstrap.servers)\n"
          "  --topic T          the topic to produce to\n"
          "  --schema FILE      the Avro schema (a record) of the values\n"
          "  --schema-id ID     its Schema Registry id, written in each "
          "record's frame\n"
          "  --input FILE       the JSON lines; \"-\" = stdin\n"
          "  -X PROP=VALUE      a librdkafka producer property (a kafka. "
          "prefix is\n"
          "                     removed); repeatable; --brokers wins\n"
          "  -h, --help         print this help\n\n"
          "Exit status: 0 every line sent and delivered, 1 a bad line or a "
          "failed delivery\n"
          "(or a runtime error), 2 usage error.\n",
          out);
}

typedef struct produce_args {
    const char *brokers, *topic, *schema, *input;
    int32_t schema_id;
    char **props; /* -X values */
    int nprops;
} produce_args;

/* What happened, counted by the delivery callback (the main thread runs it
 * from rd_kafka_poll/flush). */
typedef struct produce_stats {
    long lines, bad, queued, values, tombstones, failed;
    unsigned long long bytes;
    long *per_part; /* delivered records per partition */
    int32_t nparts;
    char first_error[256];
    /* The broker refused the login or its certificate failed: nothing can
     * be delivered, so the run stops at once (error callback). */
    int refused;
    char refused_msg[512];
} produce_stats;

typedef struct produce_ctx {
    const produce_args *a;
    avro_schema_t schema;
    json_t *fields; /* the schema's "fields" array as JSON, for defaults */
    avro_value_iface_t *iface;
    avro_value_t value;
    unsigned char *buf;
    size_t cap;
    rd_kafka_conf_t *conf; /* until the producer takes it */
    rd_kafka_t *rk;        /* created at the first good line */
    produce_stats st;
} produce_ctx;

static int parse_args(int argc, char **argv, produce_args *a)
{
    static const struct option opts[] = {
        {"brokers", required_argument, NULL, 'b'},
        {"topic", required_argument, NULL, 't'},
        {"schema", required_argument, NULL, 's'},
        {"schema-id", required_argument, NULL, 'i'},
        {"input", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *id = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hX:", opts, NULL)) != -1) {
        switch (c) {
        case 'b': a->brokers = optarg; break;
        case 't': a->topic = optarg; break;
        case 's': a->schema = optarg; break;
        case 'i': id = optarg; break;
        case 'f': a->input = optarg; break;
        case 'X':
            if (!strchr(optarg, '=') || optarg[0] == '=')
                return tool_usage(CMD, "-X wants PROP=VALUE, not '%s'", optarg);
            a->props[a->nprops++] = optarg;
            break;
        case 'h': cmd_produce_usage(stdout); return -1;
        default: return tool_bad_option(CMD, c, optopt, argv);
        }
    }
    if (optind < argc)
        return tool_usage(CMD, "unexpected argument '%s'", argv[optind]);
    if (!a->brokers)
        return tool_usage(CMD, "missing --brokers B");
    if (!a->topic || !a->topic[0])
        return tool_usage(CMD, "missing --topic T");
    if (!a->schema)
        return tool_usage(CMD, "missing --schema FILE");
    if (!id)
        return tool_usage(CMD, "missing --schema-id ID (the registry id of "
                               "--schema, written in every record)");
    if (tool_parse_id(id, &a->schema_id))
        return tool_usage(CMD,
                          "--schema-id wants a number 0 to 2147483647, "
                          "not '%s'",
                          id);
    if (!a->input)
        return tool_usage(CMD, "missing --input FILE (\"-\" for stdin)");
    return TOOL_OK;
}

/* Replaces every occurrence of value in msg (librdkafka quotes a refused
 * value) by "[redacted]": a mistyped property name may hold a password. */
static void redact_value(char *msg, size_t size, const char *value)
{
    size_t vl = strlen(value);
    char *at;
    if (!vl)
        return;
    while ((at = strstr(msg, value)) != NULL) {
        static const char mark[] = "[redacted]";
        size_t tail = strlen(at + vl), ml = sizeof mark - 1;
        if ((size_t)(at - msg) + ml + tail + 1 > size)
            tail = size - 1 - (size_t)(at - msg) - ml;
        memmove(at + ml, at + vl, tail);
        memcpy(at, mark, ml);
        at[ml + tail] = '\0';
    }
}

/* Builds the producer's configuration: idempotence and the Java client's
 * partitioner first, then -X, then --brokers. Refused properties are usage
 * errors, naming the property but never its value. */
static int make_conf(const produce_args *a, rd_kafka_conf_t **confp)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int rc = TOOL_OK;
    if (rd_kafka_conf_set(conf, "enable.idempotence", "true", errstr,
                          sizeof errstr) ||
        rd_kafka_conf_set(conf, "partitioner", "murmur2_random", errstr,
                          sizeof errstr))
        rc = tool_fail(CMD, FSTORE_ERR_KAFKA, errstr, "librdkafka");
    for (int i = 0; rc == TOOL_OK && i < a->nprops; i++) {
        char *prop = strdup(a->props[i]);
        if (!prop) {
            rc = tool_fail(CMD, FSTORE_ERR_NO_MEMORY, "", "-X");
            break;
        }
        char *eq = strchr(prop, '=');
        *eq = '\0';
        const char *name = strncmp(prop, "kafka.", 6) ? prop : prop + 6;
        if (rd_kafka_conf_set(conf, name, eq + 1, errstr, sizeof errstr)) {
            redact_value(errstr, sizeof errstr, eq + 1);
            rc = tool_usage(CMD, "-X %s=...: %s", prop, errstr);
        }
        free(prop);
    }
    if (rc == TOOL_OK && rd_kafka_conf_set(conf, "bootstrap.servers",
                                           a->brokers, errstr, sizeof errstr))
        rc = tool_usage(CMD, "--brokers %s: %s", a->brokers, errstr);
    if (rc != TOOL_OK) {
        rd_kafka_conf_destroy(conf);
        return rc;
    }
    *confp = conf;
    return TOOL_OK;
}

/* Reads and parses --schema, with avro-c (encoding) and jansson (defaults). */
static int load_schema(produce_ctx *x)
{
    const char *path = x->a->schema;
    size_t len;
    char *text = tool_read_file(path, &len);
    if (!text) {
        tool_msg(CMD, "cannot read --schema %s: %s", path, strerror(errno));
        return TOOL_FAIL;
    }
    int rc = TOOL_OK;
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, JSON_DECODE_ANY, &jerr);
    if (!doc) {
        tool_msg(CMD, "--schema %s is not JSON (line %d: %s)", path, jerr.line,
                 jerr.text);
        rc = TOOL_FAIL;
    } else if (avro_schema_from_json_length(text, len, &x->schema)) {
        x->schema = NULL;
        tool_msg(CMD, "--schema %s is not a valid Avro schema: %s", path,
                 avro_strerror());
        rc = TOOL_FAIL;
    } else if (!is_avro_record(x->schema)) {
        tool_msg(CMD, "--schema %s must be an Avro record", path);
        rc = TOOL_FAIL;
    } else if (!(x->iface = avro_generic_class_from_schema(x->schema)) ||
               avro_generic_value_new(x->iface, &x->value)) {
        x->value.self = NULL;
        tool_msg(CMD, "cannot use --schema %s: %s", path, avro_strerror());
        rc = TOOL_FAIL;
    }
    if (doc) {
        x->fields = json_incref(json_object_get(doc, "fields"));
        json_decref(doc);
    }
    free(text);
    return rc;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                        void *opaque)
{
    (void)rk;
    produce_stats *st = opaque;
    if (m->err) {
        if (st->failed++ == 0)
            snprintf(st->first_error, sizeof st->first_error, "line %ld: %s",
                     (long)(intptr_t)m->_private, rd_kafka_err2str(m->err));
        return;
    }
    if (m->payload)
        st->values++;
    else
        st->tombstones++;
    st->bytes += m->len + m->key_len;
    if (m->partition >= st->nparts) {
        int32_t n = m->partition + 1;
        long *p = realloc(st->per_part, (size_t)n * sizeof *p);
        if (!p)
            return;
        memset(p + st->nparts, 0, (size_t)(n - st->nparts) * sizeof *p);
        st->per_part = p;
        st->nparts = n;
    }
    if (m->partition >= 0)
        st->per_part[m->partition]++;
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf)
{
    /* Refused by the broker: the records left behind are expected (the
     * cause is the run's last message). */
    const produce_stats *st = rd_kafka_opaque(rk);
    if (st && st->refused && !strcmp(fac, "TERMINATE"))
        return;
    static const char *const names[] = {"emerg",   "alert",  "crit", "error",
                                        "warning", "notice", "info", "debug"};
    fprintf(stderr, "fstore %s: %s: kafka %s: %s\n", CMD, names[level & 7], fac,
            buf);
}

/* Fatal errors (the idempotent producer cannot go on) fail the remaining
 * records through their delivery reports; the others are retried. */
static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    produce_stats *st = opaque;
    int tls = err == RD_KAFKA_RESP_ERR__SSL ||
              (err == RD_KAFKA_RESP_ERR__TRANSPORT && strstr(reason, "SSL"));
    if ((tls || err == RD_KAFKA_RESP_ERR__AUTHENTICATION) && !st->refused) {
        st->refused = 1;
        snprintf(st->refused_msg, sizeof st->refused_msg, "%s: %s; check %s",
                 tls ? "TLS handshake with the broker failed"
                     : "Kafka authentication failed",
                 reason,
                 tls ? "ssl.ca.location and the broker's certificate"
                     : "sasl.mechanisms, sasl.username and sasl.password");
        return;
    }
    char fatal[256];
    if (err == RD_KAFKA_RESP_ERR__FATAL &&
        rd_kafka_fatal_error(rk, fatal, sizeof fatal))
        fprintf(stderr, "fstore %s: fatal Kafka error: %s\n", CMD, fatal);
    else
        fprintf(stderr, "fstore %s: kafka: %s\n", CMD, reason);
}

static int start_producer(produce_ctx *x)
{
    char errstr[512];
    rd_kafka_conf_set_opaque(x->conf, &x->st);
    rd_kafka_conf_set_dr_msg_cb(x->conf, on_delivery);
    rd_kafka_conf_set_log_cb(x->conf, on_log);
    rd_kafka_conf_set_error_cb(x->conf, on_error);
    x->rk = rd_kafka_new(RD_KAFKA_PRODUCER, x->conf, errstr, sizeof errstr);
    if (!x->rk)
        return tool_fail(CMD, FSTORE_ERR_KAFKA, errstr,
                         "cannot create the producer");
    x->conf = NULL; /* the producer owns it now */
    return TOOL_OK;
}

/* Reports bad line @p lineno. @return 0 (the line is not sent). */
static int bad_line(produce_ctx *x, long lineno, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad_line(produce_ctx *x, long lineno, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fstore %s: %s:%ld: ", CMD, x->a->input, lineno);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    x->st.bad++;
    return 0;
}

/* Encodes the current value, framed, into x->buf. @return its length. */
static long encode(produce_ctx *x, long lineno)
{
    size_t size = 0;
    if (avro_value_sizeof(&x->value, &size))
        return bad_line(x, lineno, "cannot encode: %s", avro_strerror()) - 1;
    if (size + 5 > x->cap) {
        unsigned char *b = realloc(x->buf, size + 5);
        if (!b)
            return bad_line(x, lineno, "out of memory") - 1;
        x->buf = b;
        x->cap = size + 5;
    }
    uint32_t id = (uint32_t)x->a->schema_id;
    x->buf[0] = 0;
    x->buf[1] = (unsigned char)(id >> 24);
    x->buf[2] = (unsigned char)(id >> 16);
    x->buf[3] = (unsigned char)(id >> 8);
    x->buf[4] = (unsigned char)id;
    avro_writer_t w = avro_writer_memory((char *)x->buf + 5, (int64_t)size);
    int rc = !w || avro_value_write(w, &x->value);
    avro_writer_free(w);
    if (rc)
        return bad_line(x, lineno, "cannot encode: %s", avro_strerror()) - 1;
    return (long)(size + 5);
}

static int send_record(produce_ctx *x, long lineno, const char *key,
                       size_t key_len, const void *val, size_t len)
{
    if (!x->rk && start_producer(x) != TOOL_OK)
        return TOOL_FAIL;
    rd_kafka_resp_err_t err;
    while ((err = rd_kafka_producev(
                x->rk, RD_KAFKA_V_TOPIC(x->a->topic),
                RD_KAFKA_V_KEY((void *)(uintptr_t)key, key_len),
                RD_KAFKA_V_VALUE((void *)(uintptr_t)val, len),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_OPAQUE((void *)(intptr_t)lineno), RD_KAFKA_V_END)) ==
           RD_KAFKA_RESP_ERR__QUEUE_FULL && !x->st.refused)
        rd_kafka_poll(x->rk, 100);
    if (x->st.refused)
        return TOOL_FAIL;
    if (err) {
        if (x->st.failed++ == 0)
            snprintf(x->st.first_error, sizeof x->st.first_error,
                     "line %ld: %s", lineno, rd_kafka_err2str(err));
        return TOOL_OK;
    }
    x->st.queued++;
    rd_kafka_poll(x->rk, 0);
    return x->st.refused ? TOOL_FAIL : TOOL_OK;
}

/* Handles one input line. @return TOOL_OK, or TOOL_FAIL to stop. */
static int produce_line(produce_ctx *x, long lineno, const char *line, size_t n)
{
    json_error_t jerr;
    json_t *doc = json_loadb(
        line, n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
        &jerr);
    if (!doc)
        return bad_line(x, lineno, "invalid JSON at column %d: %s", jerr.column,
                        jerr.text);
    json_t *key = json_object_get(doc, "key");
    json_t *value = json_object_get(doc, "value");
    const char *k;
    json_t *member;
    int rc = TOOL_OK;
    if (!json_is_object(doc)) {
        bad_line(x, lineno, "expected an object {\"key\":..,\"value\":..}");
        goto out;
    }
    json_object_foreach(doc, k, member)
    {
        if (strcmp(k, "key") && strcmp(k, "value")) {
            bad_line(x, lineno,
                     "unknown member \"%s\" (a line holds key "
                     "and value)",
                     k);
            goto out;
        }
    }
    if (!key) {
        bad_line(x, lineno, "missing \"key\"");
        goto out;
    }
    if (!json_is_string(key) || json_string_length(key) == 0) {
        bad_line(x, lineno, "\"key\" must be a non-empty string");
        goto out;
    }
    if (!value) {
        bad_line(x, lineno, "missing \"value\" (null for a tombstone)");
        goto out;
    }
    long len = 0;
    if (!json_is_null(value)) {
        char msg[512];
        if (produce_json_to_avro(&x->value, x->schema, value, x->fields, msg,
                                 sizeof msg)) {
            bad_line(x, lineno, "%s", msg);
            goto out;
        }
        if ((len = encode(x, lineno)) < 0)
            goto out;
    }
    rc = send_record(x, lineno, json_string_value(key), json_string_length(key),
                     len ? x->buf : NULL, (size_t)len);
out:
    json_decref(doc);
    return rc;
}

static int produce_input(produce_ctx *x)
{
    const char *path = x->a->input;
    sup_lines in;
    if (sup_lines_open(&in, path)) {
        tool_msg(CMD, "cannot open --input %s: %s", path, strerror(errno));
        return TOOL_FAIL;
    }
    ssize_t n;
    int rc = TOOL_OK;
    while (rc == TOOL_OK && (n = sup_lines_next(&in)) >= 0) {
        x->st.lines++;
        if (strspn(in.line, " \t") == (size_t)n)
            continue;
        rc = produce_line(x, x->st.lines, in.line, (size_t)n);
    }
    if (rc == TOOL_OK && sup_lines_failed(&in)) {
        tool_msg(CMD, "cannot read --input %s: %s", path, strerror(errno));
        rc = TOOL_FAIL;
    }
    sup_lines_close(&in);
    return rc;
}

/* Waits for every delivery report (each record is delivered or fails by
 * message.timeout.ms), then prints the summary. */
static int produce_finish(produce_ctx *x, int rc)
{
    produce_stats *st = &x->st;
    /* Refused: what waits cannot be delivered; it fails now rather than at
     * message.timeout.ms. */
    if (x->rk && st->refused)
        rd_kafka_purge(x->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    if (x->rk)
        while (rd_kafka_outq_len(x->rk) > 0 && !st->refused)
            rd_kafka_flush(x->rk, 1000);
    /* The purged records' reports (those never assigned a partition stay
     * until the producer closes). */
    for (int i = 0; x->rk && st->refused && rd_kafka_outq_len(x->rk) > 0 && i < 20; i++)
        rd_kafka_poll(x->rk, 100);
    fprintf(stderr,
            "fstore %s: delivered %ld records to %s (values %ld, "
            "tombstones %ld, bytes %llu)",
            CMD, st->values + st->tombstones, x->a->topic, st->values,
            st->tombstones, st->bytes);
    const char *sep = "; per partition: ";
    for (int32_t p = 0; p < st->nparts; p++)
        if (st->per_part[p]) {
            fprintf(stderr, "%s%d: %ld", sep, (int)p, st->per_part[p]);
            sep = ", ";
        }
    fputc('\n', stderr);
    if (st->bad)
        tool_msg(CMD, "%ld bad line%s not sent", st->bad,
                 st->bad == 1 ? "" : "s");
    if (st->failed)
        tool_msg(CMD, "%ld record%s not delivered; first: %s", st->failed,
                 st->failed == 1 ? "" : "s", st->first_error);
    if (st->refused)
        tool_msg(CMD, "%s", st->refused_msg);
    return rc != TOOL_OK || st->bad || st->failed || st->refused ? TOOL_FAIL
                                                                  : TOOL_OK;
}

int cmd_produce(int argc, char **argv)
{
    produce_args a = {0};
    a.props = calloc((size_t)argc + 1, sizeof *a.props);
    if (!a.props)
        return tool_fail(CMD, FSTORE_ERR_NO_MEMORY, "", "arguments");
    produce_ctx x = {0};
    x.a = &a;
    int rc = parse_args(argc, argv, &a);
    if (rc == TOOL_OK)
        rc = make_conf(&a, &x.conf);
    if (rc == TOOL_OK && (rc = load_schema(&x)) == TOOL_OK) {
        rc = produce_input(&x);
        rc = produce_finish(&x, rc);
    }
    if (x.rk)
        rd_kafka_destroy(x.rk);
    if (x.conf)
        rd_kafka_conf_destroy(x.conf);
    if (x.value.self)
        avro_value_decref(&x.value);
    if (x.iface)
        avro_value_iface_decref(x.iface);
    if (x.schema)
        avro_schema_decref(x.schema);
    json_decref(x.fields);
    free(x.buf);
    free(x.st.per_part);
    free(a.props);
    return rc < 0 ? TOOL_OK : rc;
}
