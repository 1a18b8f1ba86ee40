/*
 * The write side of `fstore demo`: the bootstrap load (Zipf-distributed
 * updates and deletes, then every entity once), the live producer thread at
 * a fixed rate, and the probe thread that measures produce→visible: it
 * produces a record with a known value and polls a refreshed reader until
 * the store shows it.
 */
#ifndef FSTORE_TOOLS_DEMO_LIVE_H
#define FSTORE_TOOLS_DEMO_LIVE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "demo_bench.h"
#include "demo_data.h"
#include "demo_kafka.h"
#include "fstore/fstore.h"

/** The share of records that are tombstones (deleted entities). */
#define DEMO_DELETE_SHARE 0.01

/**
 * Produces @p records records for the @p z->n entities: updates and deletes
 * of Zipf-drawn entities, then the latest value (or a delete) of each
 * entity once, by rank, while records last.
 * Calls @p tick(@p opaque, done) every few thousand records; a non-zero
 * return stops the load. @p deletes receives the tombstones produced.
 * @return 0, 1 when stopped by @p tick, or -1 with a message in @p errstr.
 */
int demo_load(demo_kafka *k, const demo_zipf *z, uint64_t records,
              uint64_t *deletes, int (*tick)(void *opaque, uint64_t done),
              void *opaque, char *errstr, size_t size);

typedef struct demo_live {
    /* Set before demo_live_start(). */
    demo_kafka *k;
    const demo_zipf *z;
    double rate; /* records/s of the producer thread; 0: none */
    fstore_store_t *store;
    const fstore_table_t *table;
    /* Live figures. */
    atomic_int stop;
    atomic_int failed; /* a thread stopped on an error: see err */
    atomic_long produced, deleted, probes;
    /* Owned by the probe thread until demo_live_stop(). */
    fs_hist probe_ns;
    /* probe_ns's p99 so far, published by the probe thread (0: none yet). */
    _Atomic uint64_t probe_p99_ns;
    long probes_lost;
    char err[512];
    pthread_t producer, prober;
    int producer_on, prober_on;
} demo_live;

/** Starts the producer and probe threads. @return 0 or -1 (message in err). */
int demo_live_start(demo_live *l);

/** Stops and joins both threads. @return 0, or -1 if one failed (err). */
int demo_live_stop(demo_live *l);

#endif
