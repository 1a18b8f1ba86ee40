/*
 * Output records of an aggregation: an entity's window values at a stream
 * time, encoded as the output schema of its spec (fs_agg_output_schema)
 * in Confluent framing. Pure: no Kafka, no LMDB.
 */
#ifndef FSTORE_AGG_OUTPUT_H
#define FSTORE_AGG_OUTPUT_H

#include "agg_tiles.h"

/* Appends to out the record of e at stream time q (its as_of): magic byte
 * 0, the output schema id (4 bytes, big-endian), then the Avro binary of
 * the fields. 0, or -1 when out of memory. */
int fs_agg_encode(const fs_agg_entity *e, const fs_agg_spec *s, int64_t q,
                  fs_buf *out);

#endif
