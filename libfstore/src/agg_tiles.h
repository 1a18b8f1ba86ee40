/*
 * The window state of one entity: for every window of a spec a ring of
 * tiles, one per hop, each holding the partial aggregates of the events
 * whose time falls in that hop (count, and per numeric field the number of
 * values, their sum, minimum and maximum), plus the entity's latest event
 * time and the values of its last-features. Memory is bounded by the
 * number of hops, never by the number of events. Window values are
 * recomputed from the tiles in range, so nothing is ever subtracted.
 *
 * Also the entity's state as bytes (for the changelog and the local state
 * store): only the tiles still in a window, versioned, and read back with
 * every length checked (the bytes come from a topic: untrusted).
 *
 * Pure: no Kafka, no LMDB, no clock; stream time is the caller's.
 */
#ifndef FSTORE_AGG_TILES_H
#define FSTORE_AGG_TILES_H

#include "agg_spec.h"

typedef struct fs_agg_entity fs_agg_entity;

/* A last-feature's value: the Avro binary encoding of the field's non-null
 * type (schemaless JSON: the value's JSON text), or null. */
typedef struct fs_agg_value {
    const void *data;
    size_t len;
    int null;
} fs_agg_value;

/* One event, as the spec sees it. */
typedef struct fs_agg_event {
    int64_t t;               /* event time, ms */
    const double *num;       /* the spec's numeric fields (nnum) */
    const uint8_t *num_null; /* 1: that field is null or absent */
    const fs_agg_value *last; /* the spec's last-features (nlast) */
} fs_agg_event;

/* An entity with no events. NULL when out of memory. */
fs_agg_entity *fs_agg_entity_new(const fs_agg_spec *s);
void fs_agg_entity_free(fs_agg_entity *e); /* accepts NULL */
/* Forgets every event (the entity is then as new). */
void fs_agg_entity_clear(fs_agg_entity *e, const fs_agg_spec *s);

/* Adds ev at stream time q (the largest event time of the partition, this
 * event's included: q >= ev->t). Returns 1 when the event counts in at
 * least one window, 0 when it is older than every window's first tile
 * (late: dropped, nothing changes), -1 when out of memory. */
int fs_agg_add(fs_agg_entity *e, const fs_agg_spec *s, const fs_agg_event *ev,
               int64_t q);

/* The aggregates of window w at stream time q: the event count, and per
 * numeric field (arrays of s->nnum) the number of values, their sum,
 * minimum and maximum (min and max are 0 where n is 0). */
void fs_agg_window_values(const fs_agg_entity *e, const fs_agg_spec *s, int w,
                   int64_t q, uint64_t *count, uint64_t *n, double *sum,
                   double *min, double *max);

/* Whether every window is empty at stream time q (the entity expired). */
int fs_agg_empty(const fs_agg_entity *e, const fs_agg_spec *s, int64_t q);

/* The first stream time after q at which a window of e loses a non-empty
 * tile (its values change without an event), or INT64_MAX. */
int64_t fs_agg_next_change(const fs_agg_entity *e, const fs_agg_spec *s,
                           int64_t q);

/* The entity's latest event time (INT64_MIN when none) and the value of
 * last-feature i (null when none). */
int64_t fs_agg_event_time(const fs_agg_entity *e);
fs_agg_value fs_agg_last(const fs_agg_entity *e, int i);

/* Appends the state of e at stream time q to out (tiles out of every
 * window are left out). 0, or -1 when out of memory. */
int fs_agg_state_write(const fs_agg_entity *e, const fs_agg_spec *s, int64_t q,
                       fs_buf *out);
/* Replaces e with the state in the n bytes at p. FSTORE_ERR_CORRUPT (with a
 * message) when they are not a state of this spec's shape: damaged, or
 * written for other windows or features. */
fstore_err_t fs_agg_state_read(fs_agg_entity *e, const fs_agg_spec *s,
                               const void *p, size_t n, char *errstr,
                               size_t errstr_size);

#endif
