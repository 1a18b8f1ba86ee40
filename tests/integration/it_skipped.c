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

/* Every bad record produced, by the tag it_put_raw logs as its id (BAD_TAG +
 * index): its exact key and value and the error fstore must name, so that
 * each dead letter can be compared with the record it stands for. */
#define BAD_TAG 1000000
typedef struct bad_rec {
    char key[IT_KEY_MAX];
    size_t key_len;
    int has_key;
    uint8_t value[512];
    size_t len;
    const char *error; /* fstore_err_name() the fstore.error header holds */
    int32_t partition; /* where it was delivered (from the record log) */
    int64_t offset;
    int seen; /* dead letters found for it */
} bad_rec;

static bad_rec bads[4 * NBAD];
static int nbads;

static void put_bad(it_producer *p, const char *key, size_t key_len,
                    const void *value, size_t len, const char *error)
{
    IT_CHECK(nbads < (int)(sizeof bads / sizeof bads[0]),
             "too many bad records");
    IT_CHECK(len <= sizeof bads[0].value, "bad value too long");
    bad_rec *b = &bads[nbads];
    b->has_key = key != NULL;
    b->key_len = key_len;
    if (key)
        memcpy(b->key, key, key_len);
    memcpy(b->value, value, len);
    b->len = len;
    b->error = error;
    b->partition = -1;
    b->offset = -1;
    it_put_raw(p, BAD_TAG + nbads, key, key_len, value, len, -1);
    nbads++;
}

/* The mix of bad records, on keys first..first+5 plus one without a key. */
static void produce_bad(it_producer *p, int64_t first)
{
    char key[IT_KEY_MAX];
    uint8_t v[512];
    size_t kl, n;

    kl = it_key(key, first);
    put_bad(p, key, kl, "not-avro", 8, "FSTORE_ERR_DECODE_FRAME");

    kl = it_key(key, first + 1);
    put_bad(p, key, kl, "\0\0\1", 3, "FSTORE_ERR_DECODE_FRAME");

    kl = it_key(key, first + 2);
    n = it_encode(v, IT_ID_SERVING, first + 2, 77);
    put_bad(p, key, kl, v, 5 + (n - 5) / 2, "FSTORE_ERR_DECODE_TRUNCATED");

    kl = it_key(key, first + 3);
    n = it_encode(v, IT_ID_SERVING, first + 3, 77);
    v[n] = 0x02;
    v[n + 1] = 0x04;
    put_bad(p, key, kl, v, n + 2, "FSTORE_ERR_DECODE_TRAILING");

    kl = it_key(key, first + 4);
    n = it_encode(v, IT_ID_SERVING, first + 4, 77);
    v[1] = 0, v[2] = 0, v[3] = IT_ID_UNKNOWN >> 8, v[4] = IT_ID_UNKNOWN & 0xff;
    put_bad(p, key, kl, v, n, "FSTORE_ERR_DECODE_SCHEMA_ID");

    kl = it_key(key, first + 5);
    n = it_encode(v, IT_ID_BAD, first + 5, 77);
    put_bad(p, key, kl, v, n, "FSTORE_ERR_RESOLVE");

    n = it_encode(v, IT_ID_SERVING, first + 6, 77);
    put_bad(p, NULL, 0, v, n, "FSTORE_ERR_KEY");
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

/* The value of header name of m, which must occur exactly once. */
static void header_once(const rd_kafka_message_t *m, const char *name,
                        const char **v, size_t *len)
{
    rd_kafka_headers_t *h = NULL;
    const void *val;
    size_t n;
    IT_CHECK(!rd_kafka_message_headers(m, &h),
             "dead letter at offset %lld without headers",
             (long long)m->offset);
    IT_CHECK(!rd_kafka_header_get(h, 0, name, &val, &n),
             "dead letter at offset %lld without header %s",
             (long long)m->offset, name);
    IT_CHECK(rd_kafka_header_get(h, 1, name, &(const void *){0},
                                 &(size_t){0}) == RD_KAFKA_RESP_ERR__NOENT,
             "dead letter at offset %lld has header %s twice",
             (long long)m->offset, name);
    *v = val;
    *len = n;
}

/* A header holding a decimal integer, nothing else. */
static int64_t header_int(const rd_kafka_message_t *m, const char *name)
{
    const char *v;
    size_t n;
    header_once(m, name, &v, &n);
    char buf[32], *end;
    IT_CHECK(n > 0 && n < sizeof buf, "header %s of %zu bytes", name, n);
    memcpy(buf, v, n);
    buf[n] = 0;
    long long x = strtoll(buf, &end, 10);
    IT_CHECK(*end == 0 && (buf[0] == '-' || (buf[0] >= '0' && buf[0] <= '9')),
             "header %s is \"%s\", not a number", name, buf);
    return x;
}

/* Reads the whole dead-letter topic, from its start to the end offset, and
 * requires it to be exactly the bad records: every bad record once, with
 * its key and value unchanged and headers naming its topic, partition and
 * offset, the error it failed with and a reason; nothing else. */
static void check_dead_letters(const char *dlq, const char *topic,
                               it_reclog *log)
{
    /* Where each bad record landed, from the producer's delivery log. */
    pthread_mutex_lock(&log->mu);
    size_t logged = 0;
    for (size_t i = 0; i < log->n; i++) {
        const it_rec *r = &log->recs[i];
        if (r->kind != IT_BAD)
            continue;
        IT_CHECK(r->id >= BAD_TAG && r->id < BAD_TAG + nbads,
                 "bad record with tag %lld", (long long)r->id);
        bad_rec *b = &bads[r->id - BAD_TAG];
        IT_CHECK(b->offset < 0, "bad record %lld delivered twice",
                 (long long)(r->id - BAD_TAG));
        b->partition = r->partition;
        b->offset = r->offset;
        logged++;
    }
    pthread_mutex_unlock(&log->mu);
    IT_CHECK(logged == (size_t)nbads, "%zu of %d bad records delivered", logged,
             nbads);

    int64_t lo, hi;
    it_watermarks(dlq, 0, &lo, &hi);
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
    int64_t next = lo, deadline = it_now_us() + 30 * 1000000LL;
    while (next < hi) {
        IT_CHECK(it_now_us() < deadline,
                 "dead-letter topic read to offset %lld of %lld after 30 s",
                 (long long)next, (long long)hi);
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 200);
        if (!m)
            continue;
        if (m->err) {
            IT_CHECK(m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF,
                     "reading the dead-letter topic: %s",
                     rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        IT_CHECK(m->offset == next, "dead letter at offset %lld, want %lld",
                 (long long)m->offset, (long long)next);
        next++;
        const char *v;
        size_t n;
        header_once(m, "fstore.topic", &v, &n);
        IT_CHECK(n == strlen(topic) && !memcmp(v, topic, n),
                 "dead letter at offset %lld: fstore.topic \"%.*s\"",
                 (long long)m->offset, (int)n, v);
        int64_t part = header_int(m, "fstore.partition");
        int64_t off = header_int(m, "fstore.offset");
        bad_rec *b = NULL;
        for (int i = 0; i < nbads && !b; i++)
            if (bads[i].partition == part && bads[i].offset == off)
                b = &bads[i];
        IT_CHECK(b != NULL,
                 "dead letter for %s [%lld] offset %lld, which is not a bad "
                 "record",
                 topic, (long long)part, (long long)off);
        IT_CHECK(!b->seen++, "a second dead letter for %s [%lld] offset %lld",
                 topic, (long long)part, (long long)off);
        IT_CHECK(b->has_key ? m->key && m->key_len == b->key_len &&
                                  !memcmp(m->key, b->key, b->key_len)
                            : !m->key && m->key_len == 0,
                 "dead letter for [%lld] offset %lld: key %.*s, want %.*s",
                 (long long)part, (long long)off, (int)m->key_len,
                 m->key ? (const char *)m->key : "(none)", (int)b->key_len,
                 b->has_key ? b->key : "(none)");
        IT_CHECK(m->payload && m->len == b->len &&
                     !memcmp(m->payload, b->value, b->len),
                 "dead letter for [%lld] offset %lld: value of %zu bytes "
                 "differs from the record's %zu",
                 (long long)part, (long long)off, m->len, b->len);
        header_once(m, "fstore.error", &v, &n);
        IT_CHECK(n == strlen(b->error) && !memcmp(v, b->error, n),
                 "dead letter for [%lld] offset %lld: fstore.error \"%.*s\", "
                 "want %s",
                 (long long)part, (long long)off, (int)n, v, b->error);
        header_once(m, "fstore.reason", &v, &n);
        IT_CHECK(n > 0,
                 "dead letter for [%lld] offset %lld: empty "
                 "fstore.reason",
                 (long long)part, (long long)off);
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    for (int i = 0; i < nbads; i++)
        IT_CHECK(bads[i].seen == 1,
                 "no dead letter for bad record %s [%d] offset %lld (want "
                 "%s)",
                 topic, bads[i].partition, (long long)bads[i].offset,
                 bads[i].error);
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
    IT_CHECK(nbads == 2 * NBAD, "%d bad records produced", nbads);
    check_dead_letters(dlq, topic, &log);
    it_log("dead-letter topic read to its end: exactly the %d bad records, "
           "each once, key and value unchanged, fstore.* headers naming its "
           "topic, partition, offset and error",
           nbads);
    it_producer_free(p);
    it_reclog_free(&log);
    free(lb.text);
    free(topic);
    free(dlq);
    return it_pass();
}
