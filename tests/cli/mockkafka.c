/*
 * mockkafka TOPIC[,TOPIC...] PARTITIONS RECORDS: starts librdkafka's
 * in-process mock cluster (it listens on a real loopback port), creates each
 * TOPIC and produces RECORDS records to it, prints the bootstrap servers on
 * stdout, then keeps
 * the cluster up until its stdin closes. This lets the golden tests run
 * `fstore tail` against a Kafka address without a broker.
 *
 * Record i has key "k<i>" and a Confluent-framed value of writer schema
 * id 7, {"type":"record","name":"R","fields":[{"name":"x","type":"long"}]},
 * with x = i * 10. Then key "k0" is deleted (a tombstone): so after
 * catching up, k0 is not found and k1..k(RECORDS-1) are.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "support/avro_enc.h"

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "mockkafka: %s: %s\n", what, detail);
    exit(1);
}

static long failed;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                        void *opaque)
{
    (void)rk;
    (void)opaque;
    if (m->err)
        failed++;
}

/* Confluent framing (magic 0, big-endian id 7) + Avro long (zig-zag). */
static size_t value_of(long long x, uint8_t *buf)
{
    static const uint8_t head[5] = {0, 0, 0, 0, 7};
    memcpy(buf, head, 5);
    return 5 + sup_put_long(buf + 5, x);
}

static void produce(rd_kafka_t *rk, const char *topic, const char *key,
                    const void *val, size_t len)
{
    rd_kafka_resp_err_t err;
    while ((err = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY((void *)(uintptr_t)key, strlen(key)),
                RD_KAFKA_V_VALUE((void *)(uintptr_t)val, len),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END)) ==
           RD_KAFKA_RESP_ERR__QUEUE_FULL)
        rd_kafka_poll(rk, 100);
    if (err)
        die("produce", rd_kafka_err2str(err));
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: mockkafka TOPIC[,TOPIC...] PARTITIONS RECORDS\n");
        return 2;
    }
    char *topics = argv[1];
    int parts = atoi(argv[2]);
    long records = atol(argv[3]);
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "test.mock.num.brokers", "1", errstr,
                          sizeof errstr) ||
        rd_kafka_conf_set(conf, "linger.ms", "5", errstr, sizeof errstr))
        die("conf", errstr);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_t *rk =
        rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk)
        die("producer", errstr);
    rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(rk);
    if (!mc)
        die("mock cluster", "not created");
    for (char *topic = strtok(topics, ","); topic; topic = strtok(NULL, ",")) {
        rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(mc, topic, parts, 1);
        if (err)
            die("topic", rd_kafka_err2str(err));
        uint8_t val[16];
        char key[32];
        for (long i = 0; i < records; i++) {
            snprintf(key, sizeof key, "k%ld", i);
            produce(rk, topic, key, val, value_of(i * 10, val));
            rd_kafka_poll(rk, 0);
        }
        produce(rk, topic, "k0", NULL, 0);
    }
    if (rd_kafka_flush(rk, 30000))
        die("flush", "records not delivered in 30 s");
    if (failed)
        die("produce", "some records were not delivered");
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    while (getchar() != EOF)
        ;
    rd_kafka_destroy(rk);
    return 0;
}
