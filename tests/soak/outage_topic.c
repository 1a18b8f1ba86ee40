/* The topic read by a consumer of its own; see outage_topic.h. */
#include "outage_topic.h"

#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <string.h>

#include "support/avro_enc.h"

static void ot_conf(rd_kafka_conf_t *c, const char *k, const char *v)
{
    char errstr[512];
    if (rd_kafka_conf_set(c, k, v, errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
        IT_FAIL("librdkafka property %s=%s: %s", k, v, errstr);
}

/* Decodes one record into id and state; fails on anything the campaign
 * never writes. */
static void ot_decode(const rd_kafka_message_t *m, int64_t *id, it_expect *x)
{
    char key[IT_KEY_MAX + 1];
    if (!m->key || m->key_len < 5 || m->key_len > IT_KEY_MAX)
        IT_FAIL("%s [%d] offset %lld: unexpected key",
                rd_kafka_topic_name(m->rkt), m->partition,
                (long long)m->offset);
    memcpy(key, m->key, m->key_len);
    key[m->key_len] = 0;
    char *end = NULL;
    *id = strncmp(key, "key-", 4) ? -1 : strtoll(key + 4, &end, 10);
    if (*id < 0 || !end || *end)
        IT_FAIL("%s [%d] offset %lld: key '%s' is not the campaign's",
                rd_kafka_topic_name(m->rkt), m->partition, (long long)m->offset,
                key);
    x->partition = m->partition;
    x->offset = m->offset;
    x->version = -1;
    x->schema_id = 0;
    if (!m->payload)
        return; /* a tombstone */
    const uint8_t *v = m->payload;
    size_t len = m->len, at = 5;
    int64_t vid = -1, ver = -1;
    size_t k = len > 5 && v[0] == 0 ? sup_get_long(v + at, len - at, &vid) : 0;
    size_t k2 = k ? sup_get_long(v + at + k, len - at - k, &ver) : 0;
    if (!k2 || vid != *id || ver < 0)
        IT_FAIL("%s [%d] offset %lld: value of %s does not decode to its id "
                "and a version",
                rd_kafka_topic_name(m->rkt), m->partition, (long long)m->offset,
                key);
    x->version = ver;
    x->schema_id = (int32_t)((uint32_t)v[1] << 24 | (uint32_t)v[2] << 16 |
                             (uint32_t)v[3] << 8 | (uint32_t)v[4]);
}

it_expect *ot_latest(const char *topic, int32_t nparts, int64_t nids,
                     int64_t *records)
{
    it_expect *e = calloc((size_t)nids, sizeof *e);
    IT_CHECK(e != NULL, "calloc");
    for (int64_t i = 0; i < nids; i++) {
        e[i].version = -1;
        e[i].offset = -1;
        e[i].partition = -1;
    }
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    ot_conf(c, "bootstrap.servers", it_brokers());
    ot_conf(c, "client.id", "fstore-soak-outage-check");
    ot_conf(c, "group.id", "fstore-soak-outage-check");
    ot_conf(c, "enable.auto.commit", "false");
    ot_conf(c, "enable.partition.eof", "true");
    ot_conf(c, "isolation.level", "read_committed");
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, errstr, sizeof errstr);
    if (!rk)
        IT_FAIL("rd_kafka_new: %s", errstr);
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *l =
        rd_kafka_topic_partition_list_new(nparts);
    int left = 0;
    char *done = calloc((size_t)nparts, 1);
    IT_CHECK(done != NULL, "calloc");
    for (int32_t p = 0; p < nparts; p++) {
        int64_t lo, hi;
        rd_kafka_resp_err_t err =
            rd_kafka_query_watermark_offsets(rk, topic, p, &lo, &hi, 30000);
        if (err)
            IT_FAIL("watermarks of %s [%d]: %s", topic, p,
                    rd_kafka_err2str(err));
        if (hi > lo) {
            rd_kafka_topic_partition_list_add(l, topic, p)->offset = lo;
            left++;
        }
    }
    if (left && rd_kafka_assign(rk, l))
        IT_FAIL("assign %s", topic);
    rd_kafka_topic_partition_list_destroy(l);
    int64_t n = 0, deadline = it_now_us() + 120 * 1000000LL;
    while (left > 0) {
        if (it_now_us() > deadline)
            IT_FAIL("reading %s to its end took over 120 s", topic);
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (m->partition >= 0 && m->partition < nparts &&
                !done[m->partition]) {
                done[m->partition] = 1;
                left--;
            }
        } else if (m->err) {
            IT_FAIL("reading %s: %s", topic, rd_kafka_message_errstr(m));
        } else {
            int64_t id;
            it_expect x;
            ot_decode(m, &id, &x);
            n++;
            if (id < nids && x.offset > e[id].offset)
                e[id] = x;
        }
        rd_kafka_message_destroy(m);
    }
    free(done);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    if (records)
        *records = n;
    return e;
}

size_t ot_diff(const char *label, const it_expect *a, const it_expect *b,
               int64_t nids)
{
    size_t bad = 0;
    for (int64_t id = 0; id < nids; id++) {
        const it_expect *x = &a[id], *y = &b[id];
        if (x->version == y->version && x->partition == y->partition &&
            x->offset == y->offset &&
            (x->version < 0 || x->schema_id == y->schema_id))
            continue;
        if (bad++ < 10)
            fprintf(stderr,
                    "  %s: key id %lld: version %lld at %d/%lld vs version "
                    "%lld at %d/%lld\n",
                    label, (long long)id, (long long)x->version, x->partition,
                    (long long)x->offset, (long long)y->version, y->partition,
                    (long long)y->offset);
    }
    return bad;
}
