/*
 * Synthetic data of `fstore demo`: the feature schema, per-entity feature
 * records as a stream processor would emit them (window counts, sums and
 * means, a segment enum, an embedding, the last event time), their
 * Confluent-framed Avro encoding, and Zipf-distributed entity activity.
 */
#ifndef FSTORE_TOOLS_DEMO_DATA_H
#define FSTORE_TOOLS_DEMO_DATA_H

#include <stddef.h>
#include <stdint.h>

/** The writer schema id the values carry (registered in the store). */
#define DEMO_SCHEMA_ID 1
/** Embedding dimension. */
#define DEMO_DIM 16
/** Upper bound of one encoded value, framing included. */
#define DEMO_VALUE_MAX 256
/** Upper bound of one key ("user-4294967295") with its NUL. */
#define DEMO_KEY_MAX 24

/** The serving schema, also the writer schema of every value. */
extern const char demo_schema[];

/** A small fast generator (splitmix64); one per thread. */
typedef struct demo_rng {
    uint64_t s;
} demo_rng;

uint64_t demo_rng_next(demo_rng *r);
/** @return a uniform double in [0, 1). */
double demo_rng_unit(demo_rng *r);

/**
 * Zipf(s) over popularity ranks 0..n-1 (rank 0 the most active), sampled by
 * binary search of the cumulative distribution. Ranks map to entity ids
 * through a fixed permutation, so the busy entities are spread over the id
 * space (and over partitions).
 */
typedef struct demo_zipf {
    double *cdf;
    uint32_t n;
    uint64_t mult; /* rank → entity: rank * mult mod n, gcd(mult, n) = 1 */
} demo_zipf;

/** @return 0, or -1 when out of memory. */
int demo_zipf_init(demo_zipf *z, uint32_t n, double s);
void demo_zipf_free(demo_zipf *z);
/** @return a rank drawn from the distribution. */
uint32_t demo_zipf_rank(const demo_zipf *z, demo_rng *r);
/** @return the entity id of popularity rank @p rank. */
uint32_t demo_zipf_entity(const demo_zipf *z, uint32_t rank);

/** Writes entity @p id's key into @p buf (DEMO_KEY_MAX). @return its length. */
size_t demo_key(uint32_t id, char *buf);

/** One feature record, as the columns of demo_schema. */
typedef struct demo_features {
    int64_t count[3];      /* events in the last 5 min, 1 h, 1 day */
    double amount_sum[3];  /* spend in those windows */
    double amount_mean[3]; /* spend per event; NAN when count is 0 (null) */
    float dwell_mean[2];   /* session seconds, 1 h and 1 day; NAN = null */
    int segment;           /* index into the enum's symbols */
    const char *country;
    float embedding[DEMO_DIM];
    int64_t last_event_ms; /* timestamp-millis */
} demo_features;

/**
 * Fills @p f with plausible features of entity @p id of popularity
 * @p rank at wall time @p now_ms: busier ranks have more events; spend per
 * event, session length, country and the embedding's direction are stable
 * per entity, with noise from @p r.
 */
void demo_features_gen(demo_features *f, uint32_t id, uint32_t rank,
                       int64_t now_ms, demo_rng *r);

/**
 * Encodes @p f as a Confluent-framed Avro value (magic 0, schema id
 * DEMO_SCHEMA_ID) into @p buf of DEMO_VALUE_MAX bytes. @return its length.
 */
size_t demo_encode(const demo_features *f, uint8_t *buf);

#endif
