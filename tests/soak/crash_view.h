/*
 * The topic as an independent consumer reads it: a plain librdkafka
 * consumer of its own (not the tailer, not the producer's delivery log)
 * that reads every partition from its log start and keeps every record it
 * ever saw, so the campaign can say what a store must hold up to any
 * offsets, also after DeleteRecords removed the older records from the
 * topic.
 *
 * Records are the campaign's own (itest.h): key "key-%08d", a
 * Confluent-framed Avro value whose leading id and version fields are
 * decoded, and which must be byte for byte what it_encode() makes of them,
 * or a tombstone. Anything else fails the campaign: the check would be of a
 * topic it does not understand.
 */
#ifndef FSTORE_SOAK_CRASH_VIEW_H
#define FSTORE_SOAK_CRASH_VIEW_H

#include "itest.h"

typedef struct cv_view cv_view;

/* A consumer of nparts partitions of topic, assigned at each partition's
 * log start; records of key ids >= nids fail the campaign. */
cv_view *cv_new(const char *topic, int32_t nparts, int64_t nids);
void cv_free(cv_view *v);

/* Reads every partition from where the last call stopped to the end offset
 * it has now. Offsets must follow one another without a gap (the topic is
 * neither compacted nor transactional). Returns the records read. */
int64_t cv_read(cv_view *v);

/* Records read since cv_new. */
int64_t cv_records(const cv_view *v);

/* The latest state of every key id < nids among the records read of
 * partition p with base[p] <= offset <= limit[p] (limit[p] < 0: none of
 * p): what a store that applied exactly those records holds. A calloc'd
 * array, as it_expected() gives. */
it_expect *cv_expected(cv_view *v, const int64_t *base, const int64_t *limit);

/* Compares the records read with what the producer's delivery log says was
 * written (same partition, offset, key, version and kind for every one):
 * the consumer missed nothing and invented nothing. Returns the number of
 * differences and prints the first few. */
size_t cv_diff_log(cv_view *v, it_reclog *produced);

#endif
