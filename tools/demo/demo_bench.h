/*
 * The read side of `fstore demo`: rounds of timed point lookups (fstore_get
 * + reading every column) and batch lookups (fstore_get_batch into a
 * float32 matrix) over Zipf-distributed keys, their latencies in fs_hist
 * histograms. Nothing is allocated inside a round.
 */
#ifndef FSTORE_TOOLS_DEMO_BENCH_H
#define FSTORE_TOOLS_DEMO_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "demo_data.h"
#include "fstore/fstore.h"
#include "support/hist.h"

/** @return nanoseconds on the monotonic clock. */
uint64_t demo_now_ns(void);
/** @return milliseconds since the epoch (Kafka timestamps). */
int64_t demo_wall_ms(void);

#define DEMO_POOL 65536 /* lookup keys drawn once, used in turn */
#define DEMO_BATCH 256  /* keys per fstore_get_batch */
#define DEMO_MAX_COLS 64

typedef struct demo_lookup {
    fstore_reader_t *reader;
    const fstore_table_t *table;
    char (*keybuf)[DEMO_KEY_MAX];
    const void **keys;
    size_t *lens;
    size_t next_get, next_batch;
    int ncols; /* every column, read per lookup */
    int types[DEMO_MAX_COLS];
    int bcols[DEMO_MAX_COLS]; /* the numeric scalar columns, batched */
    size_t nbcols;
    float *matrix;
    uint8_t found[DEMO_BATCH];
    fs_hist get_ns, batch_ns;
    uint64_t gets, hits, batches, batch_keys, batch_hits;
    uint64_t get_total_ns, batch_total_ns; /* time inside the timed calls */
    double sink; /* keeps the column reads from being optimised away */
} demo_lookup;

/**
 * Prepares @p l (zeroed by the call) to read @p table of @p store: draws the
 * key pool from @p z with @p seed, plans the columns, makes a reader.
 * @return FSTORE_OK, FSTORE_ERR_NO_MEMORY or a reader error.
 */
fstore_err_t demo_lookup_init(demo_lookup *l, fstore_store_t *store,
                              const fstore_table_t *table, const demo_zipf *z,
                              uint64_t seed);

/**
 * One round: 4096 timed point lookups, 16 timed batches of DEMO_BATCH
 * keys, then a reader refresh so the next round sees newer rows.
 * @return FSTORE_OK or the first lookup error (message in @p errstr).
 */
fstore_err_t demo_lookup_round(demo_lookup *l, char *errstr, size_t size);

void demo_lookup_free(demo_lookup *l);

#endif
