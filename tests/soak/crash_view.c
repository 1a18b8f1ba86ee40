/* The topic as an independent consumer reads it; see crash_view.h. */
#include "crash_view.h"

#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <string.h>

#include "support/avro_enc.h"

/* Every wait on the broker is bounded: a broken broker fails the campaign,
 * it never hangs it. */
#define CV_TIMEOUT_MS 30000
#define CV_READ_S 300

struct cv_view {
    rd_kafka_t *rk;
    char *topic;
    int32_t nparts;
    int64_t nids;
    int64_t *next; /* per partition: the offset of the next record */
    it_rec *recs;
    size_t n, cap;
};

static void cv_conf(rd_kafka_conf_t *c, const char *k, const char *v)
{
    char errstr[512];
    if (rd_kafka_conf_set(c, k, v, errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
        IT_FAIL("librdkafka property %s=%s: %s", k, v, errstr);
}

/* The watermarks of p, retried while the client's metadata of a new topic
 * or a moved leader is not current yet. */
static void cv_watermarks(cv_view *v, int32_t p, int64_t *lo, int64_t *hi)
{
    int64_t deadline = it_now_us() + CV_TIMEOUT_MS * 1000LL;
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
            v->rk, v->topic, p, lo, hi, CV_TIMEOUT_MS);
        if (!e)
            return;
        int retriable = e == RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION ||
                        e == RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE ||
                        e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                        e == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION;
        if (!retriable || it_now_us() > deadline)
            IT_FAIL("watermarks of %s [%d]: %s", v->topic, p,
                    rd_kafka_err2str(e));
        it_sleep_ms(100);
    }
}

cv_view *cv_new(const char *topic, int32_t nparts, int64_t nids)
{
    cv_view *v = calloc(1, sizeof *v);
    IT_CHECK(v != NULL, "calloc");
    v->topic = strdup(topic);
    v->nparts = nparts;
    v->nids = nids;
    v->next = calloc((size_t)nparts, sizeof *v->next);
    IT_CHECK(v->topic && v->next, "calloc");
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    cv_conf(c, "bootstrap.servers", it_brokers());
    cv_conf(c, "client.id", "fstore-soak-crash-view");
    cv_conf(c, "group.id", "fstore-soak-crash-view");
    cv_conf(c, "enable.auto.commit", "false");
    cv_conf(c, "enable.partition.eof", "false");
    /* A position that vanished is the campaign's error, never skipped. */
    cv_conf(c, "auto.offset.reset", "error");
    cv_conf(c, "fetch.wait.max.ms", "10");
    char errstr[512];
    v->rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, errstr, sizeof errstr);
    if (!v->rk)
        IT_FAIL("rd_kafka_new: %s", errstr);
    rd_kafka_poll_set_consumer(v->rk);
    rd_kafka_topic_partition_list_t *l =
        rd_kafka_topic_partition_list_new(nparts);
    for (int32_t p = 0; p < nparts; p++) {
        int64_t lo, hi;
        cv_watermarks(v, p, &lo, &hi);
        v->next[p] = lo;
        rd_kafka_topic_partition_list_add(l, topic, p)->offset = lo;
    }
    if (rd_kafka_assign(v->rk, l))
        IT_FAIL("assigning %s to the independent consumer", topic);
    rd_kafka_topic_partition_list_destroy(l);
    return v;
}

void cv_free(cv_view *v)
{
    if (!v)
        return;
    rd_kafka_consumer_close(v->rk);
    rd_kafka_destroy(v->rk);
    free(v->recs);
    free(v->next);
    free(v->topic);
    free(v);
}

/* The record m as the campaign wrote it; fails on anything else. */
static void cv_decode(const cv_view *v, const rd_kafka_message_t *m, it_rec *r)
{
    char key[IT_KEY_MAX + 1], want[IT_KEY_MAX];
    if (!m->key || m->key_len < 5 || m->key_len > IT_KEY_MAX)
        IT_FAIL("%s [%d] offset %lld: a record without the campaign's key",
                v->topic, m->partition, (long long)m->offset);
    memcpy(key, m->key, m->key_len);
    key[m->key_len] = 0;
    char *end = NULL;
    long long id = strncmp(key, "key-", 4) ? -1 : strtoll(key + 4, &end, 10);
    if (id < 0 || id >= v->nids || !end || *end ||
        it_key(want, id) != m->key_len || memcmp(want, key, m->key_len))
        IT_FAIL("%s [%d] offset %lld: key '%s' is not one of the campaign's "
                "%lld",
                v->topic, m->partition, (long long)m->offset, key,
                (long long)v->nids);
    memset(r, 0, sizeof *r);
    r->id = id;
    r->partition = m->partition;
    r->offset = m->offset;
    r->state = IT_COMMITTED;
    r->version = -1;
    r->kind = IT_DEL;
    if (!m->payload)
        return;
    const uint8_t *b = m->payload;
    int64_t vid = -1, ver = -1;
    size_t k1 =
        m->len > 5 && b[0] == 0 ? sup_get_long(b + 5, m->len - 5, &vid) : 0;
    size_t k2 = k1 ? sup_get_long(b + 5 + k1, m->len - 5 - k1, &ver) : 0;
    int32_t sid = k2 ? (int32_t)((uint32_t)b[1] << 24 | (uint32_t)b[2] << 16 |
                                 (uint32_t)b[3] << 8 | (uint32_t)b[4])
                     : -1;
    uint8_t enc[256];
    if (!k2 || vid != id || ver < 0 ||
        (sid != IT_ID_SERVING && sid != IT_ID_V2))
        IT_FAIL("%s [%d] offset %lld: the value of %s does not decode to its "
                "id and a version",
                v->topic, m->partition, (long long)m->offset, key);
    size_t el = it_encode(enc, sid, id, ver);
    if (el != m->len || memcmp(enc, b, el))
        IT_FAIL("%s [%d] offset %lld: the value of %s is not record (id %lld, "
                "version %lld, schema %d) as it_encode writes it",
                v->topic, m->partition, (long long)m->offset, key, id,
                (long long)ver, sid);
    r->version = ver;
    r->schema_id = sid;
    r->kind = IT_PUT;
}

static void cv_append(cv_view *v, const it_rec *r)
{
    if (v->n == v->cap) {
        v->cap = v->cap ? v->cap * 2 : 65536;
        v->recs = realloc(v->recs, v->cap * sizeof *v->recs);
        IT_CHECK(v->recs != NULL, "out of memory");
    }
    v->recs[v->n++] = *r;
}

int64_t cv_read(cv_view *v)
{
    int64_t *hi = calloc((size_t)v->nparts, sizeof *hi);
    IT_CHECK(hi != NULL, "calloc");
    int left = 0;
    for (int32_t p = 0; p < v->nparts; p++) {
        int64_t lo;
        cv_watermarks(v, p, &lo, &hi[p]);
        if (v->next[p] < lo)
            IT_FAIL("%s [%d]: the independent consumer is at %lld, but the "
                    "log now starts at %lld (records deleted before it read "
                    "them)",
                    v->topic, p, (long long)v->next[p], (long long)lo);
        left += v->next[p] < hi[p];
    }
    int64_t read = 0, deadline = it_now_us() + CV_READ_S * 1000000LL;
    while (left > 0) {
        if (it_now_us() > deadline)
            IT_FAIL("the independent consumer did not reach the end of %s "
                    "within %d s",
                    v->topic, CV_READ_S);
        rd_kafka_message_t *m = rd_kafka_consumer_poll(v->rk, 100);
        if (!m)
            continue;
        int32_t p = m->partition;
        if (m->err)
            IT_FAIL("the independent consumer reading %s [%d]: %s", v->topic, p,
                    rd_kafka_message_errstr(m));
        IT_CHECK(p >= 0 && p < v->nparts, "record of partition %d", p);
        if (m->offset != v->next[p])
            IT_FAIL("%s [%d]: the independent consumer read offset %lld "
                    "after %lld (the topic has no gaps)",
                    v->topic, p, (long long)m->offset,
                    (long long)v->next[p] - 1);
        it_rec r;
        cv_decode(v, m, &r);
        cv_append(v, &r);
        read++;
        if (++v->next[p] == hi[p])
            left--;
        rd_kafka_message_destroy(m);
    }
    free(hi);
    return read;
}

int64_t cv_records(const cv_view *v)
{
    return (int64_t)v->n;
}

it_expect *cv_expected(cv_view *v, const int64_t *base, const int64_t *limit)
{
    it_reclog sel;
    it_reclog_init(&sel);
    sel.recs = malloc((v->n ? v->n : 1) * sizeof *sel.recs);
    IT_CHECK(sel.recs != NULL, "out of memory");
    for (size_t i = 0; i < v->n; i++) {
        const it_rec *r = &v->recs[i];
        if (r->offset >= base[r->partition] && r->offset <= limit[r->partition])
            sel.recs[sel.n++] = *r;
    }
    sel.cap = sel.n;
    it_expect *e = it_expected(&sel, v->nids, NULL, 0, NULL, NULL);
    it_reclog_free(&sel);
    return e;
}

static int cv_rec_cmp(const void *a, const void *b)
{
    const it_rec *x = a, *y = b;
    if (x->partition != y->partition)
        return x->partition < y->partition ? -1 : 1;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

size_t cv_diff_log(cv_view *v, it_reclog *produced)
{
    pthread_mutex_lock(&produced->mu);
    size_t np = produced->n;
    it_rec *p = malloc((np ? np : 1) * sizeof *p);
    IT_CHECK(p != NULL, "out of memory");
    memcpy(p, produced->recs, np * sizeof *p);
    pthread_mutex_unlock(&produced->mu);
    it_rec *c = malloc((v->n ? v->n : 1) * sizeof *c);
    IT_CHECK(c != NULL, "out of memory");
    memcpy(c, v->recs, v->n * sizeof *c);
    qsort(p, np, sizeof *p, cv_rec_cmp);
    qsort(c, v->n, sizeof *c, cv_rec_cmp);
    size_t bad = 0, i = 0, j = 0;
    while (i < np || j < v->n) {
        const it_rec *a = i < np ? &p[i] : NULL, *b = j < v->n ? &c[j] : NULL;
        int cmp = !a ? 1 : !b ? -1 : cv_rec_cmp(a, b);
        const char *why = NULL;
        if (cmp < 0)
            why = "produced, never read";
        else if (cmp > 0)
            why = "read, never produced";
        else if (a->id != b->id || a->kind != b->kind ||
                 (a->kind == IT_PUT &&
                  (a->version != b->version || a->schema_id != b->schema_id)))
            why = "read differs from what was produced";
        if (why) {
            const it_rec *r = cmp > 0 ? b : a;
            if (bad < 10)
                fprintf(stderr, "  record %d/%lld (key id %lld): %s\n",
                        r->partition, (long long)r->offset, (long long)r->id,
                        why);
            bad++;
        }
        i += cmp <= 0;
        j += cmp >= 0;
    }
    free(p);
    free(c);
    return bad;
}
