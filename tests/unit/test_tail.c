/*
 * The tailer against librdkafka's in-process mock cluster: bootstrap into the
 * expected latest-value map, live updates, skipped records, exact resume,
 * partition subsets, offset-out-of-range policies and a broker outage.
 * The same behaviours run against a real broker in tests/integration.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#include "reader.h"
#include "store.h"

#define NPART 4
#define NKEYS 400

typedef struct mock {
    rd_kafka_t *p; /* producer owning the mock cluster */
    rd_kafka_mock_cluster_t *mc;
    const char *bootstraps;
    int64_t expect[NKEYS]; /* latest n per key, -1 deleted/absent */
    int64_t version[NKEYS];
    /* Every update produced, in order, with where it landed (from the
     * delivery reports): what the store must hold up to any offsets. */
    struct produced {
        int key;
        int64_t n; /* -1: tombstone */
        int32_t partition;
        int64_t offset; /* -1: not delivered (yet) */
    } *log;
    size_t nlog, caplog;
} mock_t;

static mock_t M;
static char *dir;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk, (void)opaque;
    size_t i = (size_t)(uintptr_t)m->_private;
    if (i && !m->err && i <= M.nlog) {
        M.log[i - 1].partition = m->partition;
        M.log[i - 1].offset = m->offset;
    }
}

static void setup_brokers(const char *nbrokers)
{
    char e[512];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    cr_assert_eq(rd_kafka_conf_set(c, "test.mock.num.brokers", nbrokers, e, sizeof e), 0);
    rd_kafka_conf_set(c, "log_level", "2", e, sizeof e);
    rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
    /* Kafka's default partitioner (the Java client's), so keys land where
     * fstore_partition_for_key says. */
    cr_assert_eq(rd_kafka_conf_set(c, "partitioner", "murmur2_random", e, sizeof e), 0);
    M.p = rd_kafka_new(RD_KAFKA_PRODUCER, c, e, sizeof e);
    cr_assert(M.p, "%s", e);
    M.mc = rd_kafka_handle_mock_cluster(M.p);
    M.bootstraps = rd_kafka_mock_cluster_bootstraps(M.mc);
    cr_assert_eq(rd_kafka_mock_topic_create(M.mc, "feat", NPART, 1), 0);
    for (int i = 0; i < NKEYS; i++)
        M.expect[i] = -1, M.version[i] = 0;
    M.log = NULL;
    M.nlog = M.caplog = 0;
    dir = tu_tmpdir();
}

static void setup(void) { setup_brokers("1"); }

static void teardown(void);

/* Runs after the suite's setup (as a test's own init does): a cluster of
 * two brokers instead, the last partition led by the second, which answers
 * 300 ms late, so its records reach the tailer after the others'. */
static void setup_late_partition(void)
{
    teardown();
    setup_brokers("2");
    cr_assert_eq(rd_kafka_mock_partition_set_leader(M.mc, "feat", NPART - 1, 2), 0);
    cr_assert_eq(rd_kafka_mock_broker_set_rtt(M.mc, 2, 300), 0);
}

static void teardown(void)
{
    rd_kafka_destroy(M.p);
    free(M.log);
    tu_rmtree(dir);
    free(dir);
}

static void key_of(int i, char *buf, size_t n) { snprintf(buf, n, "user:%d", i); }

/* Produces one record; logged (its delivery report fills in where it
 * landed) when it is an update of key index key (n: its value, -1 for a
 * tombstone). */
static void produce_logged(const char *key, const void *v, size_t len, int ki,
                           int64_t n)
{
    uintptr_t id = 0;
    if (ki >= 0) {
        if (M.nlog == M.caplog) {
            /* Reports name their entry by index: growing is safe. */
            M.caplog = M.caplog ? 2 * M.caplog : 4096;
            M.log = realloc(M.log, M.caplog * sizeof *M.log);
            cr_assert_not_null(M.log);
        }
        M.log[M.nlog] = (struct produced){ki, n, -1, -1};
        id = ++M.nlog;
    }
    rd_kafka_resp_err_t e;
    while ((e = rd_kafka_producev(M.p, RD_KAFKA_V_TOPIC("feat"),
                                  RD_KAFKA_V_KEY((void *)(uintptr_t)key, key ? strlen(key) : 0),
                                  RD_KAFKA_V_VALUE((void *)(uintptr_t)v, len),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_OPAQUE((void *)id),
                                  RD_KAFKA_V_END)) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(M.p, 10);
    cr_assert_eq(e, 0, "produce: %s", rd_kafka_err2str(e));
}

static void produce_raw(const char *key, const void *v, size_t len)
{
    produce_logged(key, v, len, -1, 0);
}

/* n updates over random keys; every 10th is a tombstone. The value of a key
 * is its version counter, so a row applied twice or out of order shows. */
static void produce_updates(int n, unsigned seed)
{
    for (int k = 0; k < n; k++) {
        int i = (int)(rand_r(&seed) % NKEYS);
        char key[32];
        key_of(i, key, sizeof key);
        if (k % 10 == 9) {
            produce_logged(key, NULL, 0, i, -1);
            M.expect[i] = -1;
        } else {
            tu_buf_t v = tu_simple_value(++M.version[i], 2);
            produce_logged(key, v.data, v.len, i, M.version[i]);
            tu_buf_free(&v);
            M.expect[i] = M.version[i];
        }
    }
    cr_assert_eq(rd_kafka_flush(M.p, 10000), 0);
}

/* Opens the store with conf (destroyed here) and starts tailing "feat". */
static fstore_store_t *
start_tailing(fstore_conf_t *conf, const fstore_table_t **t, const char *parts)
{
    fstore_store_t *s = tu_store_open(dir, conf);
    fstore_conf_destroy(conf);
    *t = tu_simple_table(s, "feat");
    char e[512] = "";
    cr_assert_eq(fstore_tail_add(s, *t, "feat", parts, e, sizeof e), FSTORE_OK, "%s", e);
    cr_assert_eq(fstore_tail_start(s, e, sizeof e), FSTORE_OK, "%s", e);
    return s;
}

static fstore_store_t *open_tailing(const fstore_table_t **t, const char *parts,
                                    const char *reset)
{
    return start_tailing(tu_conf("kafka.bootstrap.servers", M.bootstraps,
                                 "tail.offset_reset", reset, "log.level", "3",
                                 NULL),
                         t, parts);
}

/* Asserts the table equals the expected map (for keys in wanted partitions). */
static void assert_view(fstore_store_t *s, const fstore_table_t *t,
                        const int *wanted)
{
    fstore_reader_t *r;
    cr_assert_eq(fstore_reader_new(s, &r), FSTORE_OK);
    uint64_t rows = 0, expect_rows = 0;
    for (int i = 0; i < NKEYS; i++) {
        char key[32];
        key_of(i, key, sizeof key);
        int32_t p = fstore_partition_for_key(key, strlen(key), NPART);
        int want = !wanted || wanted[p];
        const fstore_row_t *row;
        fstore_err_t e = fstore_get(r, t, key, strlen(key), &row);
        if (want && M.expect[i] >= 0) {
            expect_rows++;
            cr_assert_eq(e, FSTORE_OK, "%s missing", key);
            tu_simple_assert(t, row, M.expect[i], 2);
            cr_assert_eq(fstore_row_partition(row), p, "%s partition", key);
        } else {
            cr_assert_eq(e, FSTORE_NOT_FOUND, "%s should be absent (%lld)", key,
                         (long long)M.expect[i]);
        }
    }
    cr_assert_eq(fstore_reader_row_count(r, t, &rows), FSTORE_OK);
    cr_assert_eq(rows, expect_rows);
    fstore_reader_destroy(r);
}

static json_t *stats(fstore_store_t *s)
{
    char *txt;
    cr_assert_eq(fstore_stats_json(s, &txt), FSTORE_OK);
    json_t *j = json_loads(txt, 0, NULL);
    fstore_free(txt);
    cr_assert(j);
    return j;
}

static json_int_t stat_int(json_t *j, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = j;
    for (char *tok = strtok(buf, "."); tok; tok = strtok(NULL, "."))
        cur = json_object_get(cur, tok);
    cr_assert(json_is_integer(cur), "stat %s missing", path);
    return json_integer_value(cur);
}

/* Waits until the view holds the newest expected value of every key. */
static void wait_visible(fstore_store_t *s, const fstore_table_t *t)
{
    fstore_reader_t *r;
    fstore_reader_new(s, &r);
    for (int tries = 0; tries < 200; tries++) {
        int ok = 1;
        fstore_reader_refresh(r);
        for (int i = 0; i < NKEYS && ok; i++) {
            char key[32];
            key_of(i, key, sizeof key);
            const fstore_row_t *row;
            fstore_err_t e = fstore_get(r, t, key, strlen(key), &row);
            int64_t n = -1;
            if (e == FSTORE_OK)
                fstore_row_long(t, row, 1, &n);
            ok = n == M.expect[i];
        }
        if (ok)
            break;
        usleep(50000);
    }
    fstore_reader_destroy(r);
}

TestSuite(ingest, .init = setup, .fini = teardown, .timeout = 120);

Test(ingest, bootstrap_equals_latest_value_map)
{
    produce_updates(20000, 1);
    const fstore_table_t *t;
    fstore_store_t *s = open_tailing(&t, NULL, "fail");
    cr_assert_eq(fstore_tail_wait_ready(s, 60000), FSTORE_OK);
    assert_view(s, t, NULL);
    json_t *j = stats(s);
    cr_assert_eq(stat_int(j, "tables.feat.counters.applied") +
                     stat_int(j, "tables.feat.counters.deleted"),
                 20000);
    cr_assert_str_eq(json_string_value(json_object_get(j, "state")), "ready");
    /* Space: the table's pages hold its rows, within the used part of the
     * file. */
    json_int_t rows = stat_int(j, "tables.feat.rows");
    json_int_t tbytes = stat_int(j, "tables.feat.bytes");
    json_int_t used = stat_int(j, "store.used_bytes");
    json_int_t data = stat_int(j, "store.data_bytes");
    cr_assert_gt(tbytes, rows * 16, "table bytes %lld for %lld rows",
                 (long long)tbytes, (long long)rows);
    cr_assert_leq(tbytes, used);
    cr_assert_eq(used + stat_int(j, "store.free_bytes"), data);
    cr_assert_eq(data % stat_int(j, "store.page_size"), 0);
    cr_assert_geq(stat_int(j, "store.map_size"), data);
    json_decref(j);
    cr_assert_eq(fstore_tail_stop(s), FSTORE_OK);
    fstore_store_close(s);
}

/* A bootstrap bigger than its memory (tail.bootstrap.max_bytes) spills
 * sorted runs to disk and merges them at the end: the same view, every
 * record applied once, no file left behind. */
Test(ingest, bootstrap_in_sorted_runs_equals_latest_value_map)
{
    produce_updates(20000, 1);
    const fstore_table_t *t;
    fstore_store_t *s = start_tailing(
        tu_conf("kafka.bootstrap.servers", M.bootstraps, "log.level", "3",
                "tail.bootstrap.max_bytes", "400000", NULL),
        &t, NULL);
    cr_assert_eq(fstore_tail_wait_ready(s, 60000), FSTORE_OK);
    assert_view(s, t, NULL);
    json_t *j = stats(s);
    cr_assert_eq(stat_int(j, "tables.feat.counters.applied") +
                     stat_int(j, "tables.feat.counters.deleted"),
                 20000);
    cr_assert_geq(stat_int(j, "bootstrap_runs"), 3);
    json_decref(j);
    cr_assert_eq(tu_count_prefixed(dir, ".bulk-"), 0);
    cr_assert_eq(fstore_tail_stop(s), FSTORE_OK);
    fstore_store_close(s);
}

Test(ingest, live_updates_become_visible)
{
    produce_updates(1000, 2);
    const fstore_table_t *t;
    fstore_store_t *s = open_tailing(&t, NULL, "fail");
    cr_assert_eq(fstore_tail_wait_ready(s, 60000), FSTORE_OK);
    produce_updates(3000, 3);
    wait_visible(s, t);
    assert_view(s, t, NULL);
    fstore_store_close(s); /* stops the tailer too */
}

Test(ingest, bad_records_are_skipped_and_counted)
{
    produce_updates(500, 4);
    produce_raw("user:1", "junk", 4);                     /* no framing */
    produce_raw("user:2", "\0\0\0\0\x63\x02", 6);         /* schema id 99 */
    tu_buf_t v = tu_simple_value(7, 2);
    produce_raw(NULL, v.data, v.len);                     /* no key */
    v.data[v.len - 1] ^= 0x7f;                            /* corrupt tail */
    produce_raw("user:3", v.data, v.len - 3);             /* truncated */
    tu_buf_free(&v);
    produce_updates(500, 5);
    const fstore_table_t *t;
    fstore_store_t *s = open_tailing(&t, NULL, "fail");
    cr_assert_eq(fstore_tail_wait_ready(s, 60000), FSTORE_OK);
    assert_view(s, t, NULL);
    json_t *j = stats(s);
    cr_assert_eq(stat_int(j, "tables.feat.counters.skipped.decode"), 2);
    cr_assert_eq(stat_int(j, "tables.feat.counters.skipped.schema"), 1);
    cr_assert_eq(stat_int(j, "tables.feat.counters.skipped.no_key"), 1);
    json_decref(j);
    fstore_store_close(s);
}

Test(ingest, resume_applies_each_record_once)
{
    produce_updates(5000, 6);
    const fstore_table_t *t;
    fstore_store_t *s = open_tailing(&t, NULL, "fail");
    cr_assert_eq(fstore_tail_wait_ready(s, 60000), FSTORE_OK);
    fstore_store_close(s);
    produce_updates(5000, 7);
    s = open_tailing(&t, NULL, "fail");
    cr_assert_eq(fstore_tail_wait_ready(s, 60000), FSTORE_OK);
    assert_view(s, t, NULL);
    json_t *j = stats(s);
    /* The second run read only what was produced after the first. */
    cr_assert_eq(stat_int(j, "tables.feat.counters.applied") +
                     stat_int(j, "tables.feat.counters.deleted"),
                 5000);
    json_decref(j);
    fstore_reader_t *r;
    fstore_reader_new(s, &r);
    int64_t total = 0;
    for (int p = 0; p < NPART; p++) {
        int64_t off;
        cr_assert_eq(fstore_reader_offset(r, t, p, &off), FSTORE_OK);
        total += off + 1;
    }
    cr_assert_eq(total, 10000, "offsets cover every produced record");
    fstore_reader_destroy(r);
    fstore_store_close(s);
}

Test(ingest, partition_subset)
{
    produce_updates(4000, 8);
    const fstore_table_t *t;
    fstore_store_t *s = open_tailing(&t, "1,3", "fail");
    cr_assert_eq(fstore_tail_wait_ready(s, 60000), FSTORE_OK);
    int wanted[NPART] = {0, 1, 0, 1};
    assert_view(s, t, wanted);
    fstore_store_close(s);
}

static void poison_offset(void)
{
    /* A stored offset far past the topic's end: what a store sees after its
     * topic was truncated or recreated. */
    fstore_store_t *s = tu_store_open(dir, NULL);
    const fstore_table_t *t = tu_simple_table(s, "feat");
    fstore_batch_t *b = tu_begin(s);
    cr_assert_eq(fstore_batch_advance(b, t, 0, 1000000), FSTORE_OK);
    tu_commit(b);
    fstore_store_close(s);
}

Test(ingest, offset_out_of_range_fails_loudly)
{
    produce_updates(1000, 9);
    const fstore_table_t *t;
    fstore_store_t *s = open_tailing(&t, NULL, "fail");
    cr_assert_eq(fstore_tail_wait_ready(s, 60000), FSTORE_OK);
    fstore_store_close(s);
    poison_offset();
    s = open_tailing(&t, NULL, "fail");
    cr_assert_eq(fstore_tail_wait_ready(s, 60000), FSTORE_ERR_STATE);
    char msg[512];
    cr_assert_eq(fstore_tail_error(s, msg, sizeof msg), FSTORE_ERR_KAFKA);
    cr_assert(strstr(msg, "no longer exists"), "%s", msg);
    /* Readers keep serving what the store holds. */
    assert_view(s, t, NULL);
    fstore_store_close(s);
}

/* A new table starts at the low watermarks the tailer queried; should the
 * log start move before the first fetch (retention, DeleteRecords), that
 * fetch is out of range with nothing read yet: the tailer reads from the
 * new beginning instead of failing, even with tail.offset_reset=fail. */
Test(ingest, first_fetch_out_of_range_reads_from_the_beginning)
{
    produce_updates(2000, 13);
    /* Fetch is Kafka API key 1: its next response says out of range. */
    rd_kafka_mock_push_request_errors(M.mc, 1, 1,
                                      RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE);
    const fstore_table_t *t;
    fstore_store_t *s = open_tailing(&t, NULL, "fail");
    cr_assert_eq(fstore_tail_wait_ready(s, 60000), FSTORE_OK);
    assert_view(s, t, NULL);
    json_t *j = stats(s);
    cr_assert_eq(stat_int(j, "tables.feat.counters.applied") +
                     stat_int(j, "tables.feat.counters.deleted"),
                 2000);
    cr_assert_eq(stat_int(j, "tables.feat.counters.rebuilds"), 0);
    json_decref(j);
    fstore_store_close(s);
}

Test(ingest, offset_out_of_range_rebuilds)
{
    produce_updates(1000, 10);
    const fstore_table_t *t;
    fstore_store_t *s = open_tailing(&t, NULL, "rebuild");
    cr_assert_eq(fstore_tail_wait_ready(s, 60000), FSTORE_OK);
    fstore_store_close(s);
    poison_offset();
    produce_updates(500, 11);
    s = open_tailing(&t, NULL, "rebuild");
    cr_assert_eq(fstore_tail_wait_ready(s, 60000), FSTORE_OK);
    wait_visible(s, t);
    assert_view(s, t, NULL);
    json_t *j = stats(s);
    cr_assert_eq(stat_int(j, "tables.feat.counters.rebuilds"), 1);
    json_decref(j);
    fstore_store_close(s);
}

/* Tails the topic until ready, then replaces the fingerprint of the record
 * the store applied last in partition p by another: what the store sees
 * when its topic was deleted and recreated with other records (the mock
 * cluster deletes no topics). Returns the record's offset. */
static int64_t forge_fingerprint(int32_t p)
{
    const fstore_table_t *t;
    fstore_store_t *s = open_tailing(&t, NULL, "fail");
    cr_assert_eq(fstore_tail_wait_ready(s, 60000), FSTORE_OK);
    fstore_store_close(s);
    s = tu_store_open(dir, NULL);
    t = tu_simple_table(s, "feat");
    fstore_reader_t *r;
    cr_assert_eq(fstore_reader_new(s, &r), FSTORE_OK);
    int64_t fo = -1, stored = -1;
    uint64_t fp = 0;
    cr_assert_eq(fstore_reader_offset(r, t, p, &stored), FSTORE_OK);
    cr_assert_eq(fs_reader_fprint(r, t, p, &fo, &fp), FSTORE_OK,
                 "the tailer stored no fingerprint");
    cr_assert(fo >= 0 && fo <= stored, "fingerprint of offset %lld, stored %lld",
              (long long)fo, (long long)stored);
    fstore_reader_destroy(r);
    MDB_txn *txn;
    char e[256];
    cr_assert_eq(fs_txn_begin(s, 0, &txn, e, sizeof e), FSTORE_OK, "%s", e);
    uint8_t kb[300], v[16];
    MDB_val k = {fs_part_key(FS_META_FPRINT, t, p, kb, sizeof kb), kb};
    fs_store_u64(v, (uint64_t)fo);
    fs_store_u64(v + 8, fp ^ 0x5a5a);
    MDB_val val = {sizeof v, v};
    cr_assert_eq(mdb_put(txn, s->meta, &k, &val, 0), 0);
    cr_assert_eq(fs_txn_commit(s, txn), 0);
    fstore_store_close(s);
    return fo;
}

/* A resume starts at the record applied last and skips it (and what follows
 * up to the stored offset): nothing is applied twice. */
Test(ingest, resume_checks_and_skips_the_record_applied_last)
{
    produce_updates(1000, 13);
    const fstore_table_t *t;
    fstore_store_t *s = open_tailing(&t, NULL, "fail");
    cr_assert_eq(fstore_tail_wait_ready(s, 60000), FSTORE_OK);
    fstore_store_close(s);
    produce_updates(200, 14);
    s = open_tailing(&t, NULL, "fail");
    cr_assert_eq(fstore_tail_wait_ready(s, 60000), FSTORE_OK);
    wait_visible(s, t);
    assert_view(s, t, NULL);
    json_t *j = stats(s);
    cr_assert_eq(stat_int(j, "tables.feat.counters.applied") +
                     stat_int(j, "tables.feat.counters.deleted"),
                 200, "applied again what the store held");
    cr_assert_eq(stat_int(j, "tables.feat.counters.rebuilds"), 0);
    json_decref(j);
    fstore_store_close(s);
}

Test(ingest, replaced_topic_fails_loudly)
{
    produce_updates(1000, 15);
    int64_t fo = forge_fingerprint(0);
    const fstore_table_t *t;
    fstore_store_t *s = open_tailing(&t, NULL, "fail");
    fstore_err_t e = fstore_tail_wait_ready(s, 60000);
    cr_assert_eq(e, FSTORE_ERR_STATE, "fstore_tail_wait_ready: %s",
                 fstore_err_name(e));
    char msg[512], want[64];
    cr_assert_eq(fstore_tail_error(s, msg, sizeof msg), FSTORE_ERR_KAFKA);
    snprintf(want, sizeof want, "feat [0]: the record at offset %lld ",
             (long long)fo);
    cr_assert(strstr(msg, want) && strstr(msg, "deleted and recreated") &&
                  strstr(msg, "tail.offset_reset=rebuild"),
              "%s", msg);
    assert_view(s, t, NULL); /* readers keep serving the store */
    fstore_store_close(s);
}

Test(ingest, replaced_topic_rebuilds)
{
    produce_updates(1000, 16);
    forge_fingerprint(0);
    produce_updates(300, 17);
    const fstore_table_t *t;
    fstore_store_t *s = open_tailing(&t, NULL, "rebuild");
    cr_assert_eq(fstore_tail_wait_ready(s, 60000), FSTORE_OK);
    wait_visible(s, t);
    assert_view(s, t, NULL);
    json_t *j = stats(s);
    cr_assert_eq(stat_int(j, "tables.feat.counters.rebuilds"), 1);
    json_decref(j);
    fstore_store_close(s);
}

/* Every commit of the tailer, checked from its log line as it happens (on
 * the tail thread, before anything else runs there): for every partition,
 * the table holds exactly the records up to the stored offset. */
static struct commit_check {
    fstore_store_t *store; /* set once the store is open */
    const fstore_table_t *table;
    int rebuilding; /* the tailer said it rebuilds the table */
    int held;       /* the tail thread was held once */
    int checked, checked_in_rebuild;
    char bad[512]; /* the first difference */
} C;

static void check_partition(fstore_reader_t *r, int32_t p)
{
    int64_t stored = -1;
    if (fstore_reader_offset(r, C.table, p, &stored) != FSTORE_OK)
        stored = -1;
    int64_t want[NKEYS], at[NKEYS];
    for (int i = 0; i < NKEYS; i++)
        want[i] = -1, at[i] = -1;
    for (size_t k = 0; k < M.nlog; k++) {
        const struct produced *e = &M.log[k];
        if (e->partition == p && e->offset >= 0 && e->offset <= stored &&
            e->offset > at[e->key])
            want[e->key] = e->n, at[e->key] = e->offset;
    }
    for (int i = 0; i < NKEYS && !C.bad[0]; i++) {
        char key[32];
        key_of(i, key, sizeof key);
        if (fstore_partition_for_key(key, strlen(key), NPART) != p)
            continue;
        const fstore_row_t *row;
        int64_t n = -1;
        if (fstore_get(r, C.table, key, strlen(key), &row) == FSTORE_OK &&
            fstore_row_long(C.table, row, 1, &n) != FSTORE_OK)
            n = -2;
        if (n != want[i])
            snprintf(C.bad, sizeof C.bad,
                     "partition %d stored up to offset %lld: %s holds %lld, "
                     "its record at offset %lld says %lld",
                     (int)p, (long long)stored, key, (long long)n,
                     (long long)at[i], (long long)want[i]);
    }
}

static void check_commit(void *opaque, int level, const char *msg)
{
    (void)opaque, (void)level;
    if (strstr(msg, "rebuilding table"))
        C.rebuilding = 1;
    /* The first record checked at its resume: holding the tail thread here
     * lets every partition's fetch arrive, so the rounds that follow are
     * full and the one with the rebuild holds records after it. */
    if (strstr(msg, "still holds the record applied last") && !C.held) {
        C.held = 1;
        usleep(1000000);
    }
    fstore_store_t *s = __atomic_load_n(&C.store, __ATOMIC_ACQUIRE);
    if (!s || strncmp(msg, "applied ", 8) != 0 || C.bad[0])
        return;
    fstore_reader_t *r;
    if (fstore_reader_new(s, &r) != FSTORE_OK) {
        snprintf(C.bad, sizeof C.bad, "no reader");
        return;
    }
    for (int32_t p = 0; p < NPART; p++)
        check_partition(r, p);
    fstore_reader_destroy(r);
    C.checked++;
    C.checked_in_rebuild += C.rebuilding;
}

/* A rebuild first commits what its round handled before it; the records of
 * the round after it are not applied, so that commit must not store offsets
 * past them (a crash before the table is cleared would resume after records
 * never applied). The last partition's records come late (its leader is
 * slow) and it is the one found replaced. */
Test(ingest, every_commit_holds_what_its_offsets_say, .init = setup_late_partition)
{
    produce_updates(1000, 18);
    forge_fingerprint(NPART - 1);
    produce_updates(3000, 19);
    memset(&C, 0, sizeof C);
    fstore_conf_t *conf =
        tu_conf("kafka.bootstrap.servers", M.bootstraps, "tail.offset_reset",
                "rebuild", "log.level", "7", NULL);
    cr_assert_eq(fstore_conf_set_log_cb(conf, check_commit, NULL), FSTORE_OK);
    fstore_store_t *s = tu_store_open(dir, conf);
    fstore_conf_destroy(conf);
    const fstore_table_t *t = tu_simple_table(s, "feat");
    C.table = t;
    __atomic_store_n(&C.store, s, __ATOMIC_RELEASE);
    char e[512] = "";
    cr_assert_eq(fstore_tail_add(s, t, "feat", NULL, e, sizeof e), FSTORE_OK, "%s", e);
    cr_assert_eq(fstore_tail_start(s, e, sizeof e), FSTORE_OK, "%s", e);
    cr_assert_eq(fstore_tail_wait_ready(s, 60000), FSTORE_OK);
    wait_visible(s, t);
    fstore_tail_stop(s);
    cr_assert_eq(C.bad[0], 0, "%s", C.bad);
    cr_assert(C.held, "no record was checked at its resume");
    cr_assert(C.checked_in_rebuild >= 1, "no commit checked after the rebuild "
                                         "began (%d in all)", C.checked);
    assert_view(s, t, NULL);
    fstore_store_close(s);
}

/* What docs/stats.md says of an outage, from one stats document. */
typedef struct outage_view {
    char state[32];
    int ready, connected;
    json_int_t time_ms, last_current_ms;
    json_int_t staleness_ms; /* -1: absent */
    char last_error[512], error[512];
    json_int_t kafka_errors;
} outage_view;

static outage_view outage_sample(fstore_store_t *s)
{
    outage_view v;
    json_t *j = stats(s);
    const char *str = json_string_value(json_object_get(j, "state"));
    snprintf(v.state, sizeof v.state, "%s", str ? str : "?");
    v.ready = json_is_true(json_object_get(j, "ready"));
    v.connected = json_is_true(json_object_get(j, "connected"));
    v.time_ms = stat_int(j, "time_ms");
    v.last_current_ms = stat_int(j, "last_current_ms");
    json_t *st = json_object_get(j, "staleness_ms");
    v.staleness_ms = json_is_integer(st) ? json_integer_value(st) : -1;
    str = json_string_value(json_object_get(j, "last_error"));
    snprintf(v.last_error, sizeof v.last_error, "%s", str ? str : "");
    str = json_string_value(json_object_get(j, "error"));
    snprintf(v.error, sizeof v.error, "%s", str ? str : "");
    v.kafka_errors = stat_int(j, "kafka_errors");
    json_decref(j);
    return v;
}

Test(ingest, broker_outage_keeps_readers_serving)
{
    produce_updates(2000, 12);
    const fstore_table_t *t;
    /* librdkafka's reconnect backoff grows to 10 s by default; capped, the
     * tailer is back within about a second of the broker. */
    fstore_store_t *s =
        start_tailing(tu_conf("kafka.bootstrap.servers", M.bootstraps,
                              "tail.offset_reset", "fail", "log.level", "3",
                              "kafka.reconnect.backoff.max.ms", "500", NULL),
                      &t, NULL);
    cr_assert_eq(fstore_tail_wait_ready(s, 60000), FSTORE_OK);
    /* Current before the outage: connected, staleness small. */
    outage_view v = outage_sample(s);
    for (int i = 0; i < 100 && !(v.connected && v.staleness_ms >= 0 &&
                                 v.staleness_ms < 1000);
         i++) {
        usleep(50000);
        v = outage_sample(s);
    }
    cr_assert(v.connected, "not connected before the outage");
    cr_assert(v.staleness_ms >= 0 && v.staleness_ms < 1000,
              "staleness %lld ms before the outage", (long long)v.staleness_ms);
    outage_view before = v;

    cr_assert_eq(rd_kafka_mock_broker_set_down(M.mc, 1), 0);
    /* The stats show the outage within about a second (the tailer asks for
     * metadata every 0.5 s): connected false and a connection error. */
    for (int i = 0; i < 100 && v.connected; i++) {
        usleep(50000);
        v = outage_sample(s);
    }
    cr_assert(!v.connected, "connected still true 5 s into the outage");
    cr_assert(v.last_error[0] && strcmp(v.last_error, before.last_error),
              "last_error \"%s\" does not report the outage", v.last_error);
    /* The tailer keeps running (no failure) and the view stops being
     * current: staleness_ms grows with the clock, last_current_ms stays. */
    outage_view a = outage_sample(s);
    usleep(1200000);
    outage_view b = outage_sample(s);
    for (const outage_view *x = &a; x; x = x == &a ? &b : NULL) {
        cr_assert_str_eq(x->state, "ready", "state %s during the outage",
                         x->state);
        cr_assert(x->ready, "ready false during the outage");
        cr_assert(!x->connected, "connected during the outage");
        cr_assert_str_empty(x->error, "the tailer failed: %s", x->error);
        cr_assert(x->last_error[0], "no last_error during the outage");
        cr_assert_eq(x->staleness_ms, x->time_ms - x->last_current_ms);
    }
    cr_assert_eq(b.last_current_ms, a.last_current_ms,
                 "the view was current while the broker was down");
    cr_assert_geq(b.staleness_ms - a.staleness_ms, 1100,
                  "staleness went from %lld to %lld ms in 1.2 s",
                  (long long)a.staleness_ms, (long long)b.staleness_ms);
    cr_assert_geq(b.staleness_ms, 1200);
    /* The Kafka client's own error events reach the stats. */
    for (int i = 0; i < 100 && b.kafka_errors <= before.kafka_errors; i++) {
        usleep(50000);
        b = outage_sample(s);
    }
    cr_assert_gt(b.kafka_errors, before.kafka_errors,
                 "no Kafka client error counted during the outage");
    assert_view(s, t, NULL); /* still serving */

    cr_assert_eq(rd_kafka_mock_broker_set_up(M.mc, 1), 0);
    produce_updates(2000, 13);
    wait_visible(s, t);
    assert_view(s, t, NULL);
    /* Recovered: connected and current again, no error. */
    v = outage_sample(s);
    for (int i = 0; i < 200 && !(v.connected && v.staleness_ms >= 0 &&
                                 v.staleness_ms < 1000);
         i++) {
        usleep(50000);
        v = outage_sample(s);
    }
    cr_assert(v.connected, "not connected 10 s after the broker came back");
    cr_assert(v.staleness_ms >= 0 && v.staleness_ms < 1000,
              "staleness %lld ms 10 s after the broker came back",
              (long long)v.staleness_ms);
    cr_assert_gt(v.last_current_ms, b.last_current_ms);
    cr_assert_str_eq(v.state, "ready");
    cr_assert_str_empty(v.error);
    char msg[256];
    cr_assert_eq(fstore_tail_error(s, msg, sizeof msg), FSTORE_OK, "%s", msg);
    fstore_store_close(s);
}

Test(ingest, tail_api_misuse)
{
    char e[512];
    fstore_store_t *s = tu_store_open(dir, NULL);
    const fstore_table_t *t = tu_simple_table(s, "feat");
    cr_assert_eq(fstore_tail_start(s, e, sizeof e), FSTORE_ERR_STATE);
    cr_assert_eq(fstore_tail_wait_ready(s, 10), FSTORE_ERR_STATE);
    cr_assert_eq(fstore_tail_add(s, t, "feat", "1,x", e, sizeof e), FSTORE_ERR_CONF);
    cr_assert_eq(fstore_tail_add(s, t, "feat", NULL, e, sizeof e), FSTORE_OK);
    cr_assert_eq(fstore_tail_add(s, t, "feat", NULL, e, sizeof e), FSTORE_ERR_STATE);
    /* No bootstrap servers configured. */
    cr_assert_eq(fstore_tail_start(s, e, sizeof e), FSTORE_ERR_CONF);
    cr_assert(strstr(e, "bootstrap.servers"), "%s", e);
    cr_assert_eq(fstore_tail_stop(s), FSTORE_OK);
    fstore_store_close(s);
    cr_assert_eq(fstore_partition_for_key("k", 1, 0), -1);
    /* Kafka's murmur2 partitioner, as the Java client assigns keys. */
    int32_t p = fstore_partition_for_key("user:1", 6, NPART);
    cr_assert(p >= 0 && p < NPART);
}
