/*
 * Scenario 5c: undecodable records in the middle of the stream.
 *
 * Writer schemas come from a schemas.dir directory (1 = the serving schema,
 * 2 = an evolved schema that resolves, 3 = one that does not). Between good
 * records, on keys that already have values, the topic gets:
 *   - a value that is not Confluent-framed ("not-avro")     skipped.decode
 *   - a 3-byte frame                                        skipped.decode
 *   - a valid frame whose Avro payload is cut in half        skipped.decode
 *   - a valid record followed by two stray bytes            skipped.decode
 *   - a valid frame naming schema id 999 (unknown)           skipped.schema
 *   - a record in writer schema 3 (does not resolve)        skipped.resolve
 *   - a good value without a key                            skipped.no_key
 * then more good records, some in writer schema 2. The bootstrapped store
 * must hold every good record (the bad ones changed nothing), count each
 * skip by reason in fstore_stats_json (tables.<t>.counters.skipped.*), log
 * each with topic and offset, dead-letter each unchanged with fstore.*
 * headers (tail.dead_letter_topic), count the skipped offsets as consumed,
 * and keep running: the same mix produced live is skipped and counted
 * again while the good records around it apply.
 *
 * The topic uses cleanup.policy=delete: a compacted topic refuses records
 * without a key.
 */
#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <string.h>

#include "itest.h"

#define NPARTS 2
#define NBAD 7

typedef struct logbuf {
    pthread_mutex_t mu;
    char *text;
    size_t len, cap;
} logbuf;

static void log_cb(void *opaque, int level, const char *msg)
{
    logbuf *lb = opaque;
    size_t n = strlen(msg);
    pthread_mutex_lock(&lb->mu);
    if (lb->len + n + 2 > lb->cap) {
        lb->cap = (lb->len + n + 2) * 2;
        lb->text = realloc(lb->text, lb->cap);
    }
    if (lb->text) {
        memcpy(lb->text + lb->len, msg, n);
        lb->len += n;
        lb->text[lb->len++] = '\n';
        lb->text[lb->len] = 0;
    }
    pthread_mutex_unlock(&lb->mu);
    if (level <= 3)
        fprintf(stderr, "fstore: %s\n", msg);
}

/* The mix of bad records, on keys first..first+5 plus one without a key. */
static void produce_bad(it_producer *p, int64_t first)
{
    char key[IT_KEY_MAX];
    uint8_t v[512];
    size_t kl, n;

    kl = it_key(key, first);
    it_put_raw(p, -1, key, kl, "not-avro", 8, -1);

    kl = it_key(key, first + 1);
    it_put_raw(p, -1, key, kl, "\0\0\1", 3, -1);

    kl = it_key(key, first + 2);
    n = it_encode(v, IT_ID_SERVING, first + 2, 77);
    it_put_raw(p, -1, key, kl, v, 5 + (n - 5) / 2, -1);

    kl = it_key(key, first + 3);
    n = it_encode(v, IT_ID_SERVING, first + 3, 77);
    v[n] = 0x02;
    v[n + 1] = 0x04;
    it_put_raw(p, -1, key, kl, v, n + 2, -1);

    kl = it_key(key, first + 4);
    n = it_encode(v, IT_ID_SERVING, first + 4, 77);
    v[1] = 0, v[2] = 0, v[3] = IT_ID_UNKNOWN >> 8, v[4] = IT_ID_UNKNOWN & 0xff;
    it_put_raw(p, -1, key, kl, v, n, -1);

    kl = it_key(key, first + 5);
    n = it_encode(v, IT_ID_BAD, first + 5, 77);
    it_put_raw(p, -1, key, kl, v, n, -1);

    n = it_encode(v, IT_ID_SERVING, first + 6, 77);
    it_put_raw(p, -1, NULL, 0, v, n, -1);
}

static const char *const reasons[] = {"decode", "schema", "resolve", "no_key"};
static const int64_t per_mix[] = {4, 1, 1, 1};

static void check_counters(fstore_store_t *s, int mixes)
{
    json_t *st = it_stats(s);
    for (int i = 0; i < 4; i++) {
        int64_t got = it_json_int(st, -1, "tables", "skipped", "counters",
                                  "skipped", reasons[i], NULL);
        IT_CHECK(got == per_mix[i] * mixes,
                 "counters.skipped.%s = %lld, want %lld", reasons[i],
                 (long long)got, (long long)(per_mix[i] * mixes));
    }
    const char *state = json_string_value(it_json_at(st, "state", NULL));
    const char *error = json_string_value(it_json_at(st, "error", NULL));
    IT_CHECK(state && !strcmp(state, "ready"), "state %s", state ? state : "?");
    IT_CHECK(!error || !*error, "the tailer reports an error: %s", error);
    json_decref(st);
}

/* Every bad record of the log: logged by fstore with topic and offset. */
static void check_logged(it_reclog *log, logbuf *lb, const char *topic)
{
    pthread_mutex_lock(&log->mu);
    pthread_mutex_lock(&lb->mu);
    for (size_t i = 0; i < log->n; i++) {
        const it_rec *r = &log->recs[i];
        if (r->kind != IT_BAD)
            continue;
        char want[64];
        snprintf(want, sizeof want, "offset %lld", (long long)r->offset);
        int found = 0;
        for (const char *line = lb->text; line && *line && !found;) {
            const char *end = strchr(line, '\n');
            size_t len = end ? (size_t)(end - line) : strlen(line);
            char *l = strndup(line, len);
            char part[16];
            snprintf(part, sizeof part, "%d", r->partition);
            const char *o = strstr(l, want);
            found = o && strstr(l, topic) && strstr(l, part) &&
                    (o[strlen(want)] < '0' || o[strlen(want)] > '9');
            free(l);
            line = end ? end + 1 : line + len;
        }
        IT_CHECK(found, "no log line names %s partition %d %s", topic,
                 r->partition, want);
    }
    pthread_mutex_unlock(&lb->mu);
    pthread_mutex_unlock(&log->mu);
}

/* Reads the dead-letter topic: one record per bad record, unchanged, with
 * headers naming where it came from. */
static void check_dead_letters(const char *dlq, const char *topic,
                               it_reclog *log, size_t want)
{
    char errstr[512];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", it_brokers(), NULL, 0);
    rd_kafka_conf_set(c, "group.id", "fstore-it-dlq", NULL, 0);
    rd_kafka_conf_set(c, "enable.partition.eof", "true", NULL, 0);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, errstr, sizeof errstr);
    IT_CHECK(rk != NULL, "%s", errstr);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, dlq, 0)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
    IT_CHECK(!rd_kafka_assign(rk, l), "assign");
    rd_kafka_topic_partition_list_destroy(l);
    size_t got = 0;
    int64_t deadline = it_now_us() + 30 * 1000000LL;
    while (got < want) {
        IT_CHECK(it_now_us() < deadline, "%zu of %zu dead letters after 30 s",
                 got, want);
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        if (m->err) {
            rd_kafka_message_destroy(m);
            continue;
        }
        rd_kafka_headers_t *h = NULL;
        const void *hv[5];
        size_t hl[5];
        const char *names[] = {"fstore.topic", "fstore.partition",
                               "fstore.offset", "fstore.error",
                               "fstore.reason"};
        IT_CHECK(!rd_kafka_message_headers(m, &h),
                 "dead letter without headers");
        for (int i = 0; i < 5; i++)
            IT_CHECK(!rd_kafka_header_get_last(h, names[i], &hv[i], &hl[i]),
                     "dead letter without header %s", names[i]);
        IT_CHECK(hl[0] == strlen(topic) && !memcmp(hv[0], topic, hl[0]),
                 "fstore.topic header");
        char buf[32];
        snprintf(buf, sizeof buf, "%.*s", (int)hl[1], (const char *)hv[1]);
        int32_t part = atoi(buf);
        snprintf(buf, sizeof buf, "%.*s", (int)hl[2], (const char *)hv[2]);
        int64_t off = atoll(buf);
        int known = 0;
        pthread_mutex_lock(&log->mu);
        for (size_t i = 0; i < log->n; i++)
            if (log->recs[i].kind == IT_BAD && log->recs[i].partition == part &&
                log->recs[i].offset == off)
                known = 1;
        pthread_mutex_unlock(&log->mu);
        IT_CHECK(known, "dead letter for %d/%lld, which is not a bad record",
                 part, (long long)off);
        IT_CHECK(hl[3] > 0 && hl[4] > 0, "empty fstore.error / fstore.reason");
        got++;
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

/* Until key id has version v (the record after a mix is applied). */
static void wait_version(fstore_store_t *s, const fstore_table_t *t, int64_t id,
                         int64_t v)
{
    fstore_reader_t *r;
    IT_CHECK(fstore_reader_new(s, &r) == FSTORE_OK, "reader");
    char key[IT_KEY_MAX];
    size_t kl = it_key(key, id);
    int64_t deadline = it_now_us() + 30 * 1000000LL;
    for (;;) {
        const fstore_row_t *row;
        int64_t got = -1;
        IT_CHECK(fstore_reader_refresh(r) == FSTORE_OK, "refresh");
        if (fstore_get(r, t, key, kl, &row) == FSTORE_OK)
            fstore_row_long(t, row, fstore_table_column_index(t, "version"),
                            &got);
        if (got == v)
            break;
        IT_CHECK(it_now_us() < deadline,
                 "key %lld not at version %lld after "
                 "30 s (tailer stuck on a bad record?)",
                 (long long)id, (long long)v);
        it_sleep_ms(20);
    }
    fstore_reader_destroy(r);
}

/* Waits until every partition's applied offset reaches its end: one key
 * being visible says nothing of the other partitions. */
static void wait_caught_up(fstore_store_t *s, const fstore_table_t *t,
                           const char *topic)
{
    fstore_reader_t *r;
    IT_CHECK(fstore_reader_new(s, &r) == FSTORE_OK, "reader");
    int64_t deadline = it_now_us() + 30 * 1000000LL;
    for (int done = 0; !done;) {
        IT_CHECK(fstore_reader_refresh(r) == FSTORE_OK, "refresh");
        done = 1;
        for (int32_t p = 0; p < NPARTS; p++) {
            int64_t lo, hi, off = -1;
            it_watermarks(topic, p, &lo, &hi);
            fstore_reader_offset(r, t, p, &off);
            if (off + 1 < hi)
                done = 0;
        }
        IT_CHECK(done || it_now_us() < deadline,
                 "partitions not caught up after 30 s");
        if (!done)
            it_sleep_ms(20);
    }
    fstore_reader_destroy(r);
}

int main(void)
{
    it_init("skipped");
    const int64_t nids = 1000;
    char *topic = it_topic_name("skipped");
    char *dlq = it_topic_name("skipped-dlq");
    it_create_topic(topic, NPARTS, NULL);
    it_create_topic(dlq, 1, NULL);

    it_reclog log;
    it_reclog_init(&log);
    it_producer *p = it_producer_new(topic, &log, NULL, NULL);
    for (int64_t id = 0; id < 500; id++)
        it_put(p, id, 1, IT_ID_SERVING);
    produce_bad(p, 0);
    for (int64_t id = 250; id < 750; id++)
        it_put(p, id, 2, id % 2 ? IT_ID_V2 : IT_ID_SERVING);
    it_flush(p);

    char dir[4200], schemas[4200], errstr[1024], dlq_prop[512], dir_prop[4300];
    snprintf(dir, sizeof dir, "%s/store", it_dir());
    snprintf(schemas, sizeof schemas, "%s/schemas", it_dir());
    it_write_schemas_dir(schemas);
    snprintf(dir_prop, sizeof dir_prop, "schemas.dir=%s", schemas);
    snprintf(dlq_prop, sizeof dlq_prop, "tail.dead_letter_topic=%s", dlq);
    const char *const props[] = {dir_prop, dlq_prop, NULL};
    logbuf lb;
    memset(&lb, 0, sizeof lb);
    pthread_mutex_init(&lb.mu, NULL);
    it_set_store_log_cb(log_cb, &lb);
    const fstore_table_t *t;
    fstore_store_t *s = it_store_open(dir, "skipped", props, &t);
    IT_CHECK(!fstore_tail_add(s, t, topic, NULL, errstr, sizeof errstr), "%s",
             errstr);
    IT_CHECK(!fstore_tail_start(s, errstr, sizeof errstr), "%s", errstr);
    fstore_err_t err = fstore_tail_wait_ready(s, 60000);
    if (err) {
        fstore_tail_error(s, errstr, sizeof errstr);
        IT_FAIL("not ready: %s %s", fstore_err_name(err), errstr);
    }

    it_expect *exp = it_expected(&log, nids, NULL, 0, NULL, NULL);
    size_t bad = it_compare(s, t, exp, nids, NPARTS);
    IT_CHECK(bad == 0, "the store differs from the good records in %zu places",
             bad);
    free(exp);
    check_counters(s, 1);
    it_check_offsets(s, t, topic, NPARTS, NULL, NULL);
    check_logged(&log, &lb, topic);
    it_log("bootstrap: %d bad records skipped and counted by reason (decode 4, "
           "schema 1, resolve 1, no_key 1), logged with topic and offset; "
           "every good record applied, incl. writer schema 2",
           NBAD);

    /* The same mix, live, between good records. */
    for (int64_t id = 750; id < 800; id++)
        it_put(p, id, 1, IT_ID_SERVING);
    produce_bad(p, 100);
    for (int64_t id = 800; id < 850; id++)
        it_put(p, id, 1, IT_ID_V2);
    it_put(p, 999, 9, IT_ID_SERVING);
    it_flush(p);
    wait_version(s, t, 999, 9);
    wait_caught_up(s, t, topic);
    exp = it_expected(&log, nids, NULL, 0, NULL, NULL);
    bad = it_compare(s, t, exp, nids, NPARTS);
    IT_CHECK(bad == 0, "after the live mix the store differs in %zu places",
             bad);
    free(exp);
    check_counters(s, 2);
    it_check_offsets(s, t, topic, NPARTS, NULL, NULL);
    check_logged(&log, &lb, topic);
    it_log("live: the same mix skipped and counted again, the good records "
           "around it applied, the tailer still ready");

    IT_CHECK(fstore_tail_stop(s) == FSTORE_OK, "tail stop");
    fstore_store_close(s);
    check_dead_letters(dlq, topic, &log, 2 * NBAD);
    it_log("dead-letter topic: %d records with fstore.* headers naming each "
           "bad record",
           2 * NBAD);
    it_producer_free(p);
    it_reclog_free(&log);
    free(lb.text);
    free(topic);
    free(dlq);
    return it_pass();
}
