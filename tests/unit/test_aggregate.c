/*
 * The aggregator's public API against librdkafka's in-process mock cluster:
 * a run until caught up whose output records hold every event, mistakes
 * refused by name, a forced abort, and the statistics document. (The mock
 * cluster keeps no transactional offsets, writes no transaction markers
 * and fences no zombie, so restarts, exactly-once and fencing run against
 * the real broker, tests/python/test_aggregate_kafka.py.) Under the
 * sanitizer builds this is where the aggregator's loop meets ASan and
 * UBSan.
 */
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <criterion/criterion.h>

#include "testutil.h"

#define NPART 2
#define NKEYS 12

static rd_kafka_t *P; /* owns the mock cluster */
static rd_kafka_mock_cluster_t *MC;
static const char *BOOT;
static char *dir;
static int64_t counts[NKEYS];

static const char spec[] =
    "{\"input\":{\"topic\":\"ev\",\"format\":\"json\",\"time\":\"ts\"},"
    "\"output\":{\"topic\":\"feat\",\"schema_id\":9},"
    "\"windows\":{\"1d\":\"1h\"},"
    "\"features\":[{\"name\":\"n\",\"op\":\"count\"},"
    "{\"name\":\"a\",\"op\":\"sum\",\"field\":\"amount\"},"
    "{\"name\":\"c\",\"op\":\"last\",\"field\":\"tag\"}]}";

static void setup(void)
{
    char e[512];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    cr_assert_eq(rd_kafka_conf_set(c, "test.mock.num.brokers", "1", e, sizeof e), 0);
    rd_kafka_conf_set(c, "log_level", "2", e, sizeof e);
    P = rd_kafka_new(RD_KAFKA_PRODUCER, c, e, sizeof e);
    cr_assert(P, "%s", e);
    MC = rd_kafka_handle_mock_cluster(P);
    BOOT = rd_kafka_mock_cluster_bootstraps(MC);
    /* The mock cluster creates unknown topics with its own partition
     * count on first sight: create them all as a real cluster would. */
    cr_assert_eq(rd_kafka_mock_topic_create(MC, "ev", NPART, 1), 0);
    cr_assert_eq(rd_kafka_mock_topic_create(MC, "feat", NPART, 1), 0);
    cr_assert_eq(rd_kafka_mock_topic_create(MC, "feat-state", NPART, 1), 0);
    memset(counts, 0, sizeof counts);
    dir = tu_tmpdir();
}

static void teardown(void)
{
    rd_kafka_destroy(P);
    tu_rmtree(dir);
    free(dir);
}

TestSuite(aggregate, .init = setup, .fini = teardown, .timeout = 120);

/* n events over the keys, all within one hour, amount 1 each. */
static void produce(int n, int64_t t0)
{
    for (int i = 0; i < n; i++) {
        char key[16], val[128];
        int k = i % NKEYS;
        snprintf(key, sizeof key, "k%d", k);
        snprintf(val, sizeof val, "{\"ts\":%lld,\"amount\":1,\"tag\":\"t%d\"}",
                 (long long)(t0 + i), i);
        cr_assert_eq(rd_kafka_producev(P, RD_KAFKA_V_TOPIC("ev"),
                                       RD_KAFKA_V_PARTITION(k % NPART),
                                       RD_KAFKA_V_KEY(key, strlen(key)),
                                       RD_KAFKA_V_VALUE(val, strlen(val)),
                                       RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                       RD_KAFKA_V_END),
                     0);
        counts[k]++;
    }
    cr_assert_eq(rd_kafka_flush(P, 10000), 0);
}

static fstore_conf_t *conf(void)
{
    char *schemas = tu_path(dir, "schemas");
    cr_assert_eq(mkdir(schemas, 0700), 0);
    fstore_conf_t *c = tu_conf("kafka.bootstrap.servers", BOOT, "schemas.dir", schemas,
                               "aggregate.commit_ms", "20", "store.sync", "none",
                               "log.level", "3", NULL);
    free(schemas);
    return c;
}

static char *stats(fstore_aggregator_t *a)
{
    char *json = NULL;
    cr_assert_eq(fstore_aggregator_stats_json(a, &json), FSTORE_OK);
    return json;
}

static int64_t stat_of(const char *json, const char *name)
{
    json_error_t err;
    json_t *j = json_loads(json, 0, &err);
    cr_assert_not_null(j, "%s", json);
    int64_t v = json_integer_value(json_object_get(j, name));
    json_decref(j);
    return v;
}

/* The latest output record per key: its count (the first long of the
 * record, after the 5-byte frame), -1 for none. */
static void latest_counts(int64_t *out)
{
    char e[512];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", BOOT, e, sizeof e);
    rd_kafka_conf_set(c, "group.id", "check", e, sizeof e);
    rd_kafka_conf_set(c, "enable.partition.eof", "true", e, sizeof e);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, e, sizeof e);
    cr_assert(rk, "%s", e);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(NPART);
    for (int p = 0; p < NPART; p++)
        rd_kafka_topic_partition_list_add(l, "feat", p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    cr_assert_eq(rd_kafka_assign(rk, l), 0);
    rd_kafka_topic_partition_list_destroy(l);
    for (int k = 0; k < NKEYS; k++)
        out[k] = -1;
    int eof = 0;
    for (int idle = 0; eof < NPART && idle < 100;) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            idle++;
            continue;
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
            eof++;
        else if (!m->err && m->key_len > 1) {
            int k = atoi((const char *)m->key + 1);
            int64_t v = -1;
            if (m->payload && m->len > 5) {
                const uint8_t *p = (const uint8_t *)m->payload + 5;
                uint64_t z = 0;
                for (int i = 0, s = 0; i < 10; i++, s += 7) {
                    z |= (uint64_t)(p[i] & 0x7f) << s;
                    if (!(p[i] & 0x80))
                        break;
                }
                v = (int64_t)((z >> 1) ^ (~(z & 1) + 1));
            }
            if (k >= 0 && k < NKEYS)
                out[k] = v;
        }
        rd_kafka_message_destroy(m);
    }
    cr_assert_eq(eof, NPART, "the output topic was read to its end");
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

static void run_until_caught_up(fstore_conf_t *c, const char *state, int64_t want_events)
{
    fstore_aggregator_t *a = NULL;
    char err[1024] = "";
    cr_assert_eq(fstore_aggregator_new(spec, NULL, state, c, &a, err, sizeof err), FSTORE_OK,
                 "%s", err);
    cr_assert_eq(fstore_aggregator_run(a, 1, 60000, err, sizeof err), FSTORE_OK, "%s", err);
    char *json = stats(a);
    cr_assert_eq(stat_of(json, "events"), want_events, "%s", json);
    cr_assert_eq(stat_of(json, "late_dropped"), 0);
    cr_assert_gt(stat_of(json, "commits"), 0);
    fstore_free(json);
    fstore_aggregator_destroy(a);
}

Test(aggregate, counts_every_event)
{
    fstore_conf_t *c = conf();
    char *state = tu_path(dir, "state");
    produce(600, 1700000000000);
    run_until_caught_up(c, state, 600);
    int64_t got[NKEYS];
    latest_counts(got);
    for (int k = 0; k < NKEYS; k++)
        cr_assert_eq(got[k], counts[k], "key %d", k);
    /* (A second run would start over: the mock cluster does not keep the
     * offsets a transaction commits. Restarts are tested on the real
     * broker.) */
    free(state);
    fstore_conf_destroy(c);
}

Test(aggregate, mistakes_are_refused_by_name)
{
    fstore_conf_t *c = conf();
    char *state = tu_path(dir, "state");
    fstore_aggregator_t *a = (fstore_aggregator_t *)1;
    char err[1024] = "";
    cr_assert_eq(fstore_aggregator_new("{\"input\":{}}", NULL, state, c, &a, err, sizeof err),
                 FSTORE_ERR_CONF);
    cr_assert_null(a);
    cr_assert_not_null(strstr(err, "input.topic"), "%s", err);
    cr_assert_eq(fstore_aggregator_new(spec, NULL, NULL, c, &a, err, sizeof err),
                 FSTORE_ERR_INVALID_ARG);
    /* An output topic partitioned otherwise than the events: named. */
    cr_assert_eq(rd_kafka_mock_topic_create(MC, "odd", NPART + 1, 1), 0);
    char other[sizeof spec + 8];
    snprintf(other, sizeof other, "%s", spec);
    memcpy(strstr(other, "\"feat\""), "\"odd\" ", 6);
    cr_assert_eq(fstore_aggregator_new(other, NULL, state, c, &a, err, sizeof err),
                 FSTORE_ERR_KAFKA, "%s", err);
    cr_assert_not_null(strstr(err, "topic odd has 3 partitions"), "%s", err);
    /* Without a registry, the output schema's id comes from the spec. */
    char noid[sizeof spec];
    snprintf(noid, sizeof noid, "%s", spec);
    char *at = strstr(noid, ",\"schema_id\":9");
    memmove(at, at + 14, strlen(at + 14) + 1);
    char *state2 = tu_path(dir, "state2");
    cr_assert_eq(fstore_aggregator_new(noid, NULL, state2, c, &a, err, sizeof err),
                 FSTORE_ERR_CONF, "%s", err);
    free(state2);
    cr_assert_not_null(strstr(err, "output.schema_id is required"), "%s", err);
    fstore_aggregator_destroy(NULL);
    fstore_aggregator_stop(NULL);
    cr_assert_eq(fstore_aggregator_stats_json(NULL, NULL), FSTORE_ERR_INVALID_ARG);
    free(state);
    fstore_conf_destroy(c);
}

static int64_t stats_after_run(fstore_aggregator_t *a, const char *name)
{
    char *json = stats(a);
    int64_t v = stat_of(json, name);
    fstore_free(json);
    return v;
}

/* A failed produce makes the first transaction abortable: the staged state
 * is discarded and the input replayed from the committed offsets (none
 * yet), so each event still counts once. */
Test(aggregate, forced_abort_discards_state_and_replays)
{
    fstore_conf_t *c = conf();
    char *state = tu_path(dir, "state");
    produce(600, 1700000000000);
    /* The next produce request (Kafka API key 0: the aggregator's first
     * commit) fails. */
    rd_kafka_mock_push_request_errors(MC, 0, 1,
                                      RD_KAFKA_RESP_ERR_INVALID_RECORD);
    fstore_aggregator_t *a = NULL;
    char err[1024] = "";
    cr_assert_eq(fstore_aggregator_new(spec, NULL, state, c, &a, err, sizeof err), FSTORE_OK,
                 "%s", err);
    cr_assert_eq(fstore_aggregator_run(a, 1, 60000, err, sizeof err), FSTORE_OK, "%s", err);
    /* (The failed produce costs librdkafka an epoch bump, which can abort
     * the next transaction too.) */
    cr_assert_geq(stats_after_run(a, "aborts"), 1);
    cr_assert_geq(stats_after_run(a, "commits"), 1);
    fstore_aggregator_destroy(a);
    int64_t got[NKEYS];
    latest_counts(got);
    for (int k = 0; k < NKEYS; k++)
        cr_assert_eq(got[k], counts[k], "key %d counted once", k);
    free(state);
    fstore_conf_destroy(c);
}

/* One run per aggregator: a second is refused by name. (Fencing a zombie
 * needs the broker's epochs, which the mock cluster does not check: it is
 * tested on the real broker, tests/python/test_aggregate_kafka.py.) */
Test(aggregate, second_run_is_refused)
{
    fstore_conf_t *c = conf();
    char *state = tu_path(dir, "state");
    produce(24, 1700000000000);
    fstore_aggregator_t *a = NULL;
    char err[1024] = "";
    cr_assert_eq(fstore_aggregator_new(spec, NULL, state, c, &a, err, sizeof err), FSTORE_OK,
                 "%s", err);
    cr_assert_eq(fstore_aggregator_run(a, 1, 60000, err, sizeof err), FSTORE_OK, "%s", err);
    cr_assert_eq(fstore_aggregator_run(a, 1, 1000, err, sizeof err), FSTORE_ERR_STATE);
    cr_assert_not_null(strstr(err, "runs once"), "%s", err);
    fstore_aggregator_destroy(a);
    free(state);
    fstore_conf_destroy(c);
}
