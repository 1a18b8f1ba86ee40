/*
 * bench_kafka: what the benchmarks against a real Kafka broker
 * (bench_ingest, bench_aggregate) share - librdkafka clients configured for
 * the run (its broker, the extra properties of every client, librdkafka's
 * errors on stderr), consumers that read as fstore's tailer does, creating
 * and deleting the run's topics (through support/kafka_admin.h), a producer
 * of one topic that counts its deliveries, the bookkeeping of a freshness
 * run (when each produced record was first seen on each path: a consumer,
 * a store's reader), and a store's statistics (its tailer's apply_ms). Every
 * error dies (bench_common's die()). Built as a static library linked only
 * into those benches.
 *
 * Copyright 2026 The fstore authors. Licensed under the Apache License 2.0.
 */
#ifndef FSTORE_BENCH_KAFKA_H
#define FSTORE_BENCH_KAFKA_H

#include "bench_common.h"

#include <jansson.h>
#include <librdkafka/rdkafka.h>

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define NPARTS 4               /* partitions of every bench topic */
#define KAFKA_TIMEOUT_MS 30000 /* admin requests, metadata, watermarks */
/* fstore's tailer default, used by every consumer of the benches. */
#define FETCH_WAIT_MS "10"

/* ---- the run's clients -------------------------------------------------- */

typedef struct {
    const char *brokers;
    const char *const *props; /* NAME=VALUE set on every client, or NULL */
    int nprops;
    const char *admin_id; /* client.id of the admin clients */
    /* 1: an error callback names the broker when all brokers are down or
     * an error is fatal, and says nothing of the transport errors
     * librdkafka retries (the bounded waits of the bench fail the run with
     * context); 0: librdkafka logs every error (at level 3, on stderr). */
    int broker_down_only;
} bench_kafka_t;

/* Sets what every client of the run gets; the strings must outlive them.
 * Called once, before any client is made. */
void bench_kafka_init(const bench_kafka_t *k);

/* Sets librdkafka property @p name; dies naming it when refused. */
void rk_set(rd_kafka_conf_t *c, const char *name, const char *value);

/* A new configuration: the broker, client.id @p client_id, the extra
 * properties, and librdkafka's messages of level 3 and worse on stderr. */
rd_kafka_conf_t *rk_conf(const char *client_id);

/* A new client of @p type; consumes @p c on success, as rd_kafka_new does.
 * Dies naming @p what. */
rd_kafka_t *rk_new(rd_kafka_type_t type, rd_kafka_conf_t *c, const char *what);

/* A consumer reading as the tailer does (read_committed, its
 * fetch.wait.max.ms), client and group @p id, committing nothing and
 * failing rather than resetting an offset; the caller assigns partitions.
 * @p what names it in errors. */
rd_kafka_t *rk_consumer(const char *id, const char *what);

/* Assigns @p rk the NPARTS partitions of @p topic at their high watermarks
 * (retrying while a topic just made has no leader), so that it reads what
 * comes next, and routes its events to rd_kafka_consumer_poll. */
void rk_assign_end(rd_kafka_t *rk, const char *topic, const char *what);

/* ---- topics ------------------------------------------------------------- */

/* Checks that the broker answers, then creates topics @p names[0..n) of
 * NPARTS partitions, compacted from @p first_compacted on, and waits until
 * every partition has a leader. With @p exist_ok, a topic that exists is
 * left as it is. */
void bench_create_topics(const char *const *names, int n, int first_compacted,
                         int exist_ok);

/* Records in @p topic (high minus low watermarks over its NPARTS
 * partitions), or -1 when it has not NPARTS partitions. */
int64_t bench_topic_records(const char *topic);

/* Deletes topics @p names[0..n); a failure only warns (the data is the
 * broker's to keep, and nothing measured depends on it). */
void bench_delete_topics(const char *const *names, int n);

/* ---- producing ---------------------------------------------------------- */

/* A producer of one topic (idempotent, the Java client's partitioner).
 * Delivery reports run on the thread that polls it, which is the one thread
 * that produces; others read the counters after that thread is done (or
 * delivered, atomically). */
typedef struct producer producer_t;
struct producer {
    rd_kafka_t *rk;
    const char *topic;
    _Atomic uint64_t delivered;
    uint64_t failed;
    char first_error[256];
    int64_t max_offset[NPARTS]; /* highest delivered offset per partition */
    /* Optional, set after producer_init(): called for every delivered
     * record with the id produce() was given, on the polling thread. */
    void (*on_delivered)(producer_t *p, uint32_t id, int32_t partition,
                         int64_t offset);
    void *ctx; /* for on_delivered */
};

/* Makes @p p, producing to @p topic with linger.ms @p linger_ms and, unless
 * NULL, socket.nagle.disable @p nagle_disable. */
void producer_init(producer_t *p, const char *topic, const char *linger_ms,
                   const char *nagle_disable, const char *client_id);

/* Dies when a delivery failed or the producer hit a fatal error. */
void producer_check(producer_t *p);

/* Serves delivery reports for up to @p timeout_ms, then producer_check(). */
void producer_poll(producer_t *p, int timeout_ms);

/* Queues one record of key @p key (KEY_LEN bytes) and value @p value (copied);
 * waits, serving delivery reports, while the local queue is full. @p id
 * travels with it to on_delivered. */
void produce(producer_t *p, const char *key, const void *value, size_t len,
             uint32_t id);

/* Waits for every delivery (bounded) and dies on any error. */
void producer_flush(producer_t *p);

void producer_free(producer_t *p);

/* ---- freshness: produce -> seen ------------------------------------------ */

#define SEEN_TIMEOUT_S 30 /* bound on a record's produce -> seen */
#define FRESH_MAX_PATHS 3

typedef struct fresh fresh_t;

/* One way a record of a freshness run can be seen. */
typedef struct {
    fresh_t *F;
    uint64_t *seen;         /* per record, ns when first seen; 0: not yet */
    _Atomic uint64_t nseen; /* written by the path's watching thread only */
    rd_kafka_t *consumer;   /* for fresh_consumer_main(), else NULL */
} fresh_path_t;

/* One freshness run: records [0, total) of keys base + i, watched on
 * npaths paths. The producing thread sets sent[i] (the time taken just
 * before its produce call), then stores produced = i + 1 with release: a
 * watcher that loads produced with acquire may read sent[] below it. */
struct fresh {
    uint32_t base;
    size_t total; /* records, the uncounted warm-up ones first */
    uint64_t *sent;
    _Atomic size_t produced;
    _Atomic uint64_t done_at; /* every delivery confirmed at, or 0 */
    int npaths;
    fresh_path_t path[FRESH_MAX_PATHS];
};

/* Makes @p F for runs of up to @p cap records on @p npaths paths. */
void fresh_init(fresh_t *F, int npaths, size_t cap);

/* Starts a run of @p total records (at most the cap) of keys base + i. */
void fresh_reset(fresh_t *F, uint32_t base, size_t total);

void fresh_free(fresh_t *F);

/* 1 once every path saw every record, or SEEN_TIMEOUT_S after done_at. */
int fresh_finished(fresh_t *F);

/* Notes on @p p, at @p t, the record of key id @p id if it belongs to the
 * run, was produced and was not seen yet. */
void fresh_mark(fresh_path_t *p, uint32_t id, uint64_t t);

/* A watching thread (its argument a fresh_path_t): polls the path's
 * consumer until fresh_finished(), marking each record it receives at the
 * time the poll returned. */
void *fresh_consumer_main(void *path);

/* Looks up in @p rd (just refreshed, at @p t) every record from @p lo on
 * that was produced and not seen on @p p yet; notes those found as seen at
 * @p t. @return the first record not seen yet (the next @p lo). */
size_t fresh_lookup(fresh_path_t *p, fstore_reader_t *rd,
                    const fstore_table_t *table, size_t lo, uint64_t t);

/* Adds produce -> seen of the records after the @p warm warm-up ones to
 * @p h. When one was never seen, lists the first missing keys and dies,
 * naming the path @p what, the @p rate and the @p unit ("records",
 * "events"). @return how many were seen: all the counted records. */
uint64_t fresh_collect(const fresh_path_t *p, size_t warm, fs_hist *h,
                       const char *what, unsigned rate, const char *unit);

/* ---- a tailing store's statistics --------------------------------------- */

/* The live statistics of @p store, parsed (json_decref() it). */
json_t *bench_store_stats(fstore_store_t *store);

/* The tailer's apply_ms since it started (taking a record off the consumer
 * -> visible; docs/stats.md): p50, p99, p999 and max in ms. */
void bench_apply_ms(fstore_store_t *store, double out[4]);

#endif
