/*
 * fstore-kafka-tool: the small admin and protocol checker used by
 * tests/kafka/broker.sh and tests/kafka/selftest.sh.
 *
 * Why this exists: the broker is assembled from Maven jars without the
 * kafka-tools module, so there is no kafka-topics.sh.  Creating topics with
 * per-topic configs (the compaction knobs the tests rely on) and growing the
 * partition count is done here through librdkafka's Admin API instead.  The
 * same binary also checks that the installed librdkafka talks to the chosen
 * broker for the features fstore uses: idempotent produce, transactions
 * (commit and abort) and read_committed consumption.
 *
 * Build (broker.sh does it): cc -O2 -Wall -Wextra -I../../support/include
 *     -o fstore-kafka-tool kafka_tool.c ../../support/kafka_admin.c -lrdkafka
 *
 * Usage: fstore-kafka-tool BROKERS COMMAND [ARGS...]
 *   create-topic NAME PARTITIONS [key=value ...]
 *   add-partitions NAME TOTAL
 *   delete-topic NAME
 *   describe-topic NAME            print the topic's non-default configs
 *   wait-topic NAME PARTITIONS     wait until every partition has a leader
 *   idempotent-check TOPIC [COUNT]
 *   txn-check TOPIC
 *   follow TOPIC SECONDS           print new records of partition 0
 *
 * Exit status: 0 on success, 1 on a failed operation or check, 2 on usage.
 */
#include <librdkafka/rdkafka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "support/kafka_admin.h"

/* Every blocking call is bounded so a broken broker fails a test instead of
 * hanging it. */
#define OP_TIMEOUT_MS 30000

static const char *brokers;

static void die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fstore-kafka-tool: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void conf_set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
    char errstr[512];
    if (rd_kafka_conf_set(conf, k, v, errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK)
        die("config %s=%s: %s", k, v, errstr);
}

/* Log librdkafka's own messages at warning level or worse only (the checks
 * print their own progress), unless FSTORE_KAFKA_TOOL_DEBUG asks for
 * librdkafka debug contexts, e.g. FSTORE_KAFKA_TOOL_DEBUG=protocol,eos. */
static int debug_on;

static void log_cb(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf)
{
    (void)rk;
    if (level <= 4 || debug_on)
        fprintf(stderr, "librdkafka %s: %s\n", fac, buf);
}

/* A secured broker (broker.sh start --security sasl_ssl): the client
 * settings of FSTORE_KAFKA_CLIENT_CONFIG, librdkafka properties one
 * key=value a line, '#' comments. A refused line is named by its key only:
 * the value may be a secret. */
static void client_config(rd_kafka_conf_t *conf)
{
    const char *path = getenv("FSTORE_KAFKA_CLIENT_CONFIG");
    if (!path || !*path)
        return;
    FILE *f = fopen(path, "r");
    if (!f)
        die("FSTORE_KAFKA_CLIENT_CONFIG %s: %s", path, strerror(errno));
    char line[4096], errstr[512];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        char *eq = strchr(line, '=');
        if (!line[0] || line[0] == '#' || !eq)
            continue;
        *eq = 0;
        if (rd_kafka_conf_set(conf, line, eq + 1, errstr, sizeof errstr) !=
            RD_KAFKA_CONF_OK)
            die("%s: property %s refused", path, line);
    }
    fclose(f);
}

static rd_kafka_conf_t *base_conf(void)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    conf_set(conf, "bootstrap.servers", brokers);
    client_config(conf);
    conf_set(conf, "client.id", "fstore-kafka-tool");
    /* Tests stop and restart the broker; fail fast rather than retrying for
     * the default five minutes. */
    conf_set(conf, "socket.timeout.ms", "10000");
    rd_kafka_conf_set_log_cb(conf, log_cb);
    const char *dbg = getenv("FSTORE_KAFKA_TOOL_DEBUG");
    if (dbg && *dbg) {
        conf_set(conf, "debug", dbg);
        debug_on = 1;
    }
    return conf;
}

static rd_kafka_t *new_client(rd_kafka_type_t type, rd_kafka_conf_t *conf)
{
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
    if (!rk)
        die("rd_kafka_new: %s", errstr);
    return rk;
}

/* Options of an Admin API request, bounded by OP_TIMEOUT_MS; dies on
 * failure. */
static rd_kafka_AdminOptions_t *admin_opts(rd_kafka_t *rk,
                                           rd_kafka_admin_op_t op)
{
    char errstr[512];
    rd_kafka_AdminOptions_t *o =
        sup_admin_options(rk, op, OP_TIMEOUT_MS, errstr, sizeof errstr);
    if (!o)
        die("%s", errstr);
    return o;
}

/* Waits for one Admin API result event of the given type; dies without
 * one. */
static rd_kafka_event_t *admin_wait(rd_kafka_queue_t *q,
                                    rd_kafka_event_type_t want)
{
    char errstr[512];
    rd_kafka_event_t *ev =
        sup_admin_wait(q, want, OP_TIMEOUT_MS + 5000, errstr, sizeof errstr);
    if (!ev)
        die("admin request failed: %s", errstr);
    return ev;
}

static int parse_int(const char *s, const char *what)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v <= 0 || v > 100000)
        die("bad %s: %s", what, s);
    return (int)v;
}

static int cmd_create_topic(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    /* argv[argc] is NULL: the configs after the count are a list. */
    sup_topic t = {argv[0], parse_int(argv[1], "partition count"), 1,
                   (const char *const *)(argv + 2)};
    char errstr[512];
    rd_kafka_t *rk = new_client(RD_KAFKA_PRODUCER, base_conf());
    if (sup_create_topics(rk, &t, 1, 0, OP_TIMEOUT_MS, errstr, sizeof errstr) <
        0)
        die("create topic %s: %s", t.name, errstr);
    rd_kafka_destroy(rk);
    return 0;
}

static int cmd_add_partitions(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    int total = parse_int(argv[1], "partition total");
    char errstr[512];
    rd_kafka_t *rk = new_client(RD_KAFKA_PRODUCER, base_conf());
    if (sup_add_partitions(rk, argv[0], total, OP_TIMEOUT_MS, errstr,
                           sizeof errstr))
        die("add partitions to %s: %s", argv[0], errstr);
    rd_kafka_destroy(rk);
    return 0;
}

static int cmd_delete_topic(int argc, char **argv)
{
    if (argc != 1)
        return 2;
    const char *names[] = {argv[0]};
    char errstr[512];
    rd_kafka_t *rk = new_client(RD_KAFKA_PRODUCER, base_conf());
    if (sup_delete_topics(rk, names, 1, OP_TIMEOUT_MS, errstr, sizeof errstr))
        die("delete topic %s: %s", argv[0], errstr);
    rd_kafka_destroy(rk);
    return 0;
}

static int cmd_describe_topic(int argc, char **argv)
{
    if (argc != 1)
        return 2;
    rd_kafka_t *rk = new_client(RD_KAFKA_PRODUCER, base_conf());
    rd_kafka_ConfigResource_t *cr =
        rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, argv[0]);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_AdminOptions_t *o =
        admin_opts(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_DescribeConfigs(rk, &cr, 1, o, q);
    rd_kafka_event_t *ev = admin_wait(q, RD_KAFKA_EVENT_DESCRIBECONFIGS_RESULT);
    size_t n;
    const rd_kafka_ConfigResource_t **res =
        rd_kafka_DescribeConfigs_result_resources(
            rd_kafka_event_DescribeConfigs_result(ev), &n);
    if (n != 1)
        die("describe topic: %zu resources returned", n);
    if (rd_kafka_ConfigResource_error(res[0]))
        die("describe topic %s: %s", argv[0],
            rd_kafka_ConfigResource_error_string(res[0]));
    size_t cnt;
    const rd_kafka_ConfigEntry_t **ents =
        rd_kafka_ConfigResource_configs(res[0], &cnt);
    /* Only the topic's own overrides: those are what create-topic set. */
    for (size_t i = 0; i < cnt; i++) {
        if (rd_kafka_ConfigEntry_source(ents[i]) !=
            RD_KAFKA_CONFIG_SOURCE_DYNAMIC_TOPIC_CONFIG)
            continue;
        const char *v = rd_kafka_ConfigEntry_value(ents[i]);
        printf("%s=%s\n", rd_kafka_ConfigEntry_name(ents[i]), v ? v : "");
    }
    rd_kafka_event_destroy(ev);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_ConfigResource_destroy(cr);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
    return 0;
}

static int cmd_wait_topic(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    int parts = parse_int(argv[1], "partition count");
    char errstr[512];
    rd_kafka_t *rk = new_client(RD_KAFKA_PRODUCER, base_conf());
    if (sup_wait_leaders(rk, argv[0], parts, OP_TIMEOUT_MS, errstr,
                         sizeof errstr) < 0)
        die("%s", errstr);
    rd_kafka_destroy(rk);
    return 0;
}

/* ---- produce / consume checks ------------------------------------------ */

static int delivery_failures;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err) {
        delivery_failures++;
        fprintf(stderr, "fstore-kafka-tool: delivery failed: %s\n",
                rd_kafka_err2str(m->err));
    }
}

static void produce_one(rd_kafka_t *rk, const char *topic, const char *key,
                        const char *val)
{
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
            RD_KAFKA_V_KEY(key, strlen(key)),
            RD_KAFKA_V_VALUE((void *)val, strlen(val)),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            rd_kafka_poll(rk, 100);
            continue;
        }
        if (err)
            die("produce: %s", rd_kafka_err2str(err));
        return;
    }
}

/* Read partition 0 of TOPIC from the beginning up to its end (the high
 * watermark, or the last stable offset under read_committed) and count the
 * records whose key starts with each of the prefixes. */
static void count_keys(const char *topic, const char *isolation,
                       const char *const *prefixes, int *counts, int nprefix)
{
    rd_kafka_conf_t *conf = base_conf();
    /* assign() without a group would do, but a group id makes librdkafka
     * also exercise FindCoordinator against the broker. */
    conf_set(conf, "group.id", "fstore-kafka-tool-check");
    conf_set(conf, "enable.auto.commit", "false");
    conf_set(conf, "enable.partition.eof", "true");
    conf_set(conf, "isolation.level", isolation);
    rd_kafka_t *rk = new_client(RD_KAFKA_CONSUMER, conf);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(tp, topic, 0)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_resp_err_t err = rd_kafka_assign(rk, tp);
    if (err)
        die("assign: %s", rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(tp);
    for (int i = 0; i < nprefix; i++)
        counts[i] = 0;
    int64_t deadline = now_ms() + OP_TIMEOUT_MS;
    for (;;) {
        if (now_ms() > deadline)
            die("consume (%s) did not reach the end of %s", isolation, topic);
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 500);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            rd_kafka_message_destroy(m);
            break;
        }
        if (m->err)
            die("consume (%s): %s", isolation, rd_kafka_message_errstr(m));
        for (int i = 0; i < nprefix; i++) {
            size_t pl = strlen(prefixes[i]);
            if (m->key && m->key_len >= pl && !memcmp(m->key, prefixes[i], pl))
                counts[i]++;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

static int cmd_idempotent_check(int argc, char **argv)
{
    if (argc < 1 || argc > 2)
        return 2;
    const char *topic = argv[0];
    int count = argc == 2 ? parse_int(argv[1], "count") : 1000;
    char tag[64], key[128];
    snprintf(tag, sizeof tag, "idem-%ld-%d-", (long)time(NULL), (int)getpid());

    rd_kafka_conf_t *conf = base_conf();
    conf_set(conf, "enable.idempotence", "true");
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_t *rk = new_client(RD_KAFKA_PRODUCER, conf);
    for (int i = 0; i < count; i++) {
        snprintf(key, sizeof key, "%s%d", tag, i % 10);
        produce_one(rk, topic, key, "v");
        rd_kafka_poll(rk, 0);
    }
    if (rd_kafka_flush(rk, OP_TIMEOUT_MS))
        die("idempotent producer: flush timed out");
    char errstr[512];
    rd_kafka_resp_err_t ferr = rd_kafka_fatal_error(rk, errstr, sizeof errstr);
    if (ferr)
        die("idempotent producer fatal error: %s", errstr);
    rd_kafka_destroy(rk);
    if (delivery_failures)
        die("idempotent producer: %d delivery failures", delivery_failures);

    const char *pfx[1] = {tag};
    int got[1];
    count_keys(topic, "read_uncommitted", pfx, got, 1);
    if (got[0] != count)
        die("idempotent producer: produced %d, read back %d", count, got[0]);
    printf("idempotent-check: ok (%d records)\n", count);
    return 0;
}

static void txn_ok(rd_kafka_error_t *e, const char *what)
{
    if (!e)
        return;
    fprintf(stderr, "fstore-kafka-tool: %s: %s (%s)%s%s\n", what,
            rd_kafka_error_string(e), rd_kafka_error_name(e),
            rd_kafka_error_is_fatal(e) ? " fatal" : "",
            rd_kafka_error_txn_requires_abort(e) ? " requires-abort" : "");
    exit(1);
}

static int cmd_txn_check(int argc, char **argv)
{
    if (argc != 1)
        return 2;
    const char *topic = argv[0];
    const int ncommit = 50, nabort = 30;
    char tag[64], pc[96], pa[96], key[160], txnid[96];
    snprintf(tag, sizeof tag, "txn-%ld-%d-", (long)time(NULL), (int)getpid());
    snprintf(pc, sizeof pc, "%scommit-", tag);
    snprintf(pa, sizeof pa, "%sabort-", tag);
    snprintf(txnid, sizeof txnid, "fstore-kafka-tool-%d", (int)getpid());

    rd_kafka_conf_t *conf = base_conf();
    conf_set(conf, "transactional.id", txnid);
    /* The broker caps this at transaction.max.timeout.ms; a short value
     * makes a crashed check not block compaction for long. */
    conf_set(conf, "transaction.timeout.ms", "60000");
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_t *rk = new_client(RD_KAFKA_PRODUCER, conf);

    txn_ok(rd_kafka_init_transactions(rk, OP_TIMEOUT_MS), "init_transactions");

    /* 1: a committed transaction. */
    txn_ok(rd_kafka_begin_transaction(rk), "begin_transaction");
    for (int i = 0; i < ncommit; i++) {
        snprintf(key, sizeof key, "%s%d", pc, i);
        produce_one(rk, topic, key, "committed");
    }
    txn_ok(rd_kafka_commit_transaction(rk, OP_TIMEOUT_MS), "commit_transaction");

    /* 2: an aborted one; its records must stay invisible to read_committed. */
    txn_ok(rd_kafka_begin_transaction(rk), "begin_transaction");
    for (int i = 0; i < nabort; i++) {
        snprintf(key, sizeof key, "%s%d", pa, i);
        produce_one(rk, topic, key, "aborted");
    }
    /* Flush first so the aborted records really reach the log: an abort of
     * records still queued in the client would prove nothing about the
     * broker. */
    if (rd_kafka_flush(rk, OP_TIMEOUT_MS))
        die("flush before abort timed out");
    txn_ok(rd_kafka_abort_transaction(rk, OP_TIMEOUT_MS), "abort_transaction");

    /* 3: commit again after an abort: the producer must still be usable. */
    txn_ok(rd_kafka_begin_transaction(rk), "begin_transaction");
    snprintf(key, sizeof key, "%s%d", pc, ncommit);
    produce_one(rk, topic, key, "committed");
    txn_ok(rd_kafka_commit_transaction(rk, OP_TIMEOUT_MS), "commit_transaction");
    rd_kafka_destroy(rk);
    /* Records of the aborted transaction do get a failed delivery report
     * (purged) only if they were still queued; after the flush above none
     * were, so any failure here is real. */
    if (delivery_failures)
        die("transactional producer: %d delivery failures", delivery_failures);

    const char *pfx[2] = {pc, pa};
    int rc[2], ru[2];
    count_keys(topic, "read_committed", pfx, rc, 2);
    count_keys(topic, "read_uncommitted", pfx, ru, 2);
    printf("txn-check: read_committed sees %d committed, %d aborted; "
           "read_uncommitted sees %d committed, %d aborted\n",
           rc[0], rc[1], ru[0], ru[1]);
    if (rc[0] != ncommit + 1 || rc[1] != 0)
        die("txn-check: read_committed expected %d committed and 0 aborted",
            ncommit + 1);
    if (ru[0] != ncommit + 1 || ru[1] != nabort)
        die("txn-check: read_uncommitted expected %d committed and %d aborted",
            ncommit + 1, nabort);
    printf("txn-check: ok\n");
    return 0;
}

/* Print every new record of partition 0 as "key:value" lines, flushed one
 * by one, for SECONDS seconds.  Transient errors (a broker restart) are
 * reported on stderr and otherwise ignored: librdkafka reconnects by itself,
 * and showing that it does is the point. */
static int cmd_follow(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    const char *topic = argv[0];
    int seconds = parse_int(argv[1], "seconds");
    rd_kafka_conf_t *conf = base_conf();
    conf_set(conf, "group.id", "fstore-kafka-tool-follow");
    conf_set(conf, "enable.auto.commit", "false");
    /* Reconnect quickly once the broker is back. */
    conf_set(conf, "reconnect.backoff.max.ms", "1000");
    rd_kafka_t *rk = new_client(RD_KAFKA_CONSUMER, conf);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *tp = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(tp, topic, 0)->offset = RD_KAFKA_OFFSET_END;
    rd_kafka_resp_err_t err = rd_kafka_assign(rk, tp);
    if (err)
        die("assign: %s", rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(tp);
    int64_t deadline = now_ms() + (int64_t)seconds * 1000;
    while (now_ms() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        if (m->err) {
            fprintf(stderr, "fstore-kafka-tool: follow: %s\n",
                    rd_kafka_message_errstr(m));
        } else {
            printf("%.*s:%.*s\n", (int)m->key_len,
                   m->key ? (const char *)m->key : "", (int)m->len,
                   m->payload ? (const char *)m->payload : "");
            fflush(stdout);
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return 0;
}

static void usage(void)
{
    fputs("usage: fstore-kafka-tool BROKERS COMMAND [ARGS...]\n"
          "  create-topic NAME PARTITIONS [key=value ...]\n"
          "  add-partitions NAME TOTAL\n"
          "  delete-topic NAME\n"
          "  describe-topic NAME\n"
          "  wait-topic NAME PARTITIONS\n"
          "  idempotent-check TOPIC [COUNT]\n"
          "  txn-check TOPIC\n"
          "  follow TOPIC SECONDS\n",
          stderr);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        usage();
        return 2;
    }
    brokers = argv[1];
    const char *cmd = argv[2];
    int n = argc - 3;
    char **a = argv + 3;
    int rc;
    if (!strcmp(cmd, "create-topic"))
        rc = cmd_create_topic(n, a);
    else if (!strcmp(cmd, "add-partitions"))
        rc = cmd_add_partitions(n, a);
    else if (!strcmp(cmd, "delete-topic"))
        rc = cmd_delete_topic(n, a);
    else if (!strcmp(cmd, "describe-topic"))
        rc = cmd_describe_topic(n, a);
    else if (!strcmp(cmd, "wait-topic"))
        rc = cmd_wait_topic(n, a);
    else if (!strcmp(cmd, "idempotent-check"))
        rc = cmd_idempotent_check(n, a);
    else if (!strcmp(cmd, "txn-check"))
        rc = cmd_txn_check(n, a);
    else if (!strcmp(cmd, "follow"))
        rc = cmd_follow(n, a);
    else
        rc = 2;
    if (rc == 2)
        usage();
    return rc;
}
