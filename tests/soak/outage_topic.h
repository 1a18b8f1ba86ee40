/*
 * What the topic itself says, read by a consumer of its own (not the
 * tailer, not the producer's delivery log): the latest state of every key,
 * decoded from the records (key "key-%08d"; the Confluent frame's schema
 * id; the Avro id and version fields, which lead every writer schema of
 * itest.h), to compare a store with.
 */
#ifndef FSTORE_SOAK_OUTAGE_TOPIC_H
#define FSTORE_SOAK_OUTAGE_TOPIC_H

#include "itest.h"

/* Reads every partition p < nparts of topic from its log start to the end
 * offset taken when it starts (read_committed), and returns a calloc'd
 * array of the latest state of each key id < nids (it_expect, as
 * it_expected() gives). Fails the campaign on a record it cannot decode.
 * records: how many it read (may be NULL). */
it_expect *ot_latest(const char *topic, int32_t nparts, int64_t nids,
                     int64_t *records);

/* Compares two views of the latest state of nids keys; prints up to 10
 * differences under label and returns how many there are. */
size_t ot_diff(const char *label, const it_expect *a, const it_expect *b,
               int64_t nids);

#endif
