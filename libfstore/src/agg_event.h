/*
 * Events in: the values an aggregation needs (event time, numeric fields,
 * last-feature values) read from an event, either a row of the events'
 * layout (Avro events, decoded by a plan) or a JSON object. A last value
 * is kept as the Avro binary of the field's type, ready for the output
 * record. Pure: no Kafka, no LMDB.
 */
#ifndef FSTORE_AGG_EVENT_H
#define FSTORE_AGG_EVENT_H

#include "agg_tiles.h"

/* Scratch for one event's values, reused from event to event. The event
 * filled in points into it until the next call. */
typedef struct fs_agg_input fs_agg_input;

fs_agg_input *fs_agg_input_new(const fs_agg_spec *s);
void fs_agg_input_free(fs_agg_input *in); /* accepts NULL */

/* The event in the n bytes of row (a row of s->events, as fs_plan_decode
 * writes it). record_ts is the Kafka record's timestamp, the event time
 * when the spec names no time field. FSTORE_ERR_DECODE_MALFORMED (with a message
 * naming the field) when the event has no usable time. */
fstore_err_t fs_agg_event_from_row(fs_agg_input *in, const fs_agg_spec *s,
                                   const uint8_t *row, size_t n,
                                   int64_t record_ts, fs_agg_event *ev,
                                   char *errstr, size_t errstr_size);

/* The event in a JSON object of n bytes. With the spec's schema each field
 * must have its type (a number for numeric fields; for last-features the
 * JSON form of the field's Avro type); schemaless, numeric fields must be
 * numbers and last values are kept as text (strings as they are, anything
 * else as compact JSON). A missing or null field is null.
 * FSTORE_ERR_DECODE_MALFORMED with a message naming the field for anything
 * else. */
fstore_err_t fs_agg_event_from_json(fs_agg_input *in, const fs_agg_spec *s,
                                    const char *json, size_t n,
                                    int64_t record_ts, fs_agg_event *ev,
                                    char *errstr, size_t errstr_size);

#endif
