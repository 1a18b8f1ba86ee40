/*
 * The tailer thread applies a live stream from librdkafka's mock cluster
 * while reader threads look rows up: readers only ever see whole rows and
 * never go back in time for a key, and once the stream ends the view holds
 * every key's last value.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "stress.h"

#define KEYS 500
#define RECORDS 30000
#define READERS 2

static fstore_store_t *S;
static const fstore_table_t *T;
static atomic_int done;
static int64_t last[KEYS];

static void *reader(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    fstore_reader_t *rd;
    if (fstore_reader_new(S, &rd))
        ST_FAIL("reader_new");
    int64_t seen[KEYS];
    memset(seen, 0, sizeof seen);
    while (!atomic_load(&done)) {
        fstore_reader_refresh(rd);
        for (int i = 0; i < 500; i++) {
            int k = (int)(rand_r(&seed) % KEYS);
            char key[32];
            snprintf(key, sizeof key, "e%d", k);
            st_read_key(rd, T, key, k, KEYS, seen);
        }
        usleep(1000);
    }
    fstore_reader_destroy(rd);
    return NULL;
}

int main(void)
{
    char err[512];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "test.mock.num.brokers", "1", err, sizeof err);
    rd_kafka_conf_set(c, "linger.ms", "1", err, sizeof err);
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof err);
    if (!p)
        ST_FAIL("producer: %s", err);
    rd_kafka_mock_cluster_t *mc = rd_kafka_handle_mock_cluster(p);
    rd_kafka_mock_topic_create(mc, "s", 3, 1);

    char dir[] = "/tmp/fstore-stress-XXXXXX";
    if (!mkdtemp(dir))
        ST_FAIL("mkdtemp");
    fstore_conf_t *conf = fstore_conf_new();
    fstore_conf_set(conf, "kafka.bootstrap.servers",
                    rd_kafka_mock_cluster_bootstraps(mc), err, sizeof err);
    fstore_conf_set(conf, "log.level", "3", err, sizeof err);
    if (fstore_store_open(dir, conf, &S, err, sizeof err))
        ST_FAIL("open: %s", err);
    fstore_conf_destroy(conf);
    if (fstore_table_create(S, "s", ST_SCHEMA, FSTORE_FORMAT_AVRO, -1, &T, err,
                            sizeof err) ||
        fstore_tail_add(S, T, "s", NULL, err, sizeof err) ||
        fstore_tail_start(S, err, sizeof err))
        ST_FAIL("tail: %s", err);
    if (fstore_tail_wait_ready(S, 30000))
        ST_FAIL("not ready");
    pthread_t r[READERS];
    for (int i = 0; i < READERS; i++)
        pthread_create(&r[i], NULL, reader, (void *)(uintptr_t)(i + 7));
    uint8_t v[256];
    unsigned seed = 42;
    for (int i = 0; i < RECORDS; i++) {
        int k = (int)(rand_r(&seed) % KEYS);
        int64_t n = (int64_t)(i + 1) * KEYS + k;
        last[k] = n;
        char key[32];
        int kl = snprintf(key, sizeof key, "e%d", k);
        size_t len = st_encode(v, n);
        while (rd_kafka_producev(p, RD_KAFKA_V_TOPIC("s"), RD_KAFKA_V_KEY(key, (size_t)kl),
                                 RD_KAFKA_V_VALUE(v, len),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(p, 5);
        if (i % 1000 == 0)
            rd_kafka_poll(p, 0);
    }
    if (rd_kafka_flush(p, 30000))
        ST_FAIL("flush");
    /* Wait until every key shows its last value. */
    fstore_reader_t *rd;
    fstore_reader_new(S, &rd);
    int ok = 0;
    for (int tries = 0; tries < 600 && !ok; tries++) {
        ok = 1;
        fstore_reader_refresh(rd);
        for (int k = 0; k < KEYS && ok; k++) {
            char key[32];
            int kl = snprintf(key, sizeof key, "e%d", k);
            const fstore_row_t *row;
            int64_t n = 0;
            if (fstore_get(rd, T, key, (size_t)kl, &row) == FSTORE_OK)
                fstore_row_long(T, row, 0, &n);
            ok = last[k] == 0 || n == last[k];
        }
        if (!ok)
            usleep(50000);
    }
    fstore_reader_destroy(rd);
    atomic_store(&done, 1);
    for (int i = 0; i < READERS; i++)
        pthread_join(r[i], NULL);
    if (!ok)
        ST_FAIL("the view never reached the last values");
    if (fstore_tail_stop(S))
        ST_FAIL("tailer error");
    fstore_store_close(S);
    rd_kafka_destroy(p);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    printf("stress_tail: %d records over %d keys, %d readers: ok\n", RECORDS,
           KEYS, READERS);
    return 0;
}
