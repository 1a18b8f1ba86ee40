/*
 * Apply batches beyond the public fstore_batch_* calls: what a writer in
 * the library (the tailer) needs to size its batches and to publish its
 * statistics with its rows. Knows nothing of Kafka.
 */
#ifndef FSTORE_BATCH_H
#define FSTORE_BATCH_H

#include "tables.h"

/* Bytes queued in b so far (keys, rows and framing). */
size_t fs_batch_bytes(const fstore_batch_t *b);

/* Records json as the store's statistics document (fs_store_get_stats) in
 * b's transaction, replacing what an earlier call set, so that readers in
 * other processes see figures that match the rows. A failed copy (out of
 * memory) only loses these figures. */
void fs_batch_set_stats(fstore_batch_t *b, const char *json);

/* Records fp as the fingerprint of the record at offset of (t, partition),
 * to be stored beside the partition's offset when b commits (the last call
 * with the highest offset wins). fstore_batch_advance() must be called for
 * an offset at least this one. @return 0, or FSTORE_ERR_NO_MEMORY. */
fstore_err_t fs_batch_fprint(fstore_batch_t *b, const fstore_table_t *t,
                             int32_t partition, int64_t offset, uint64_t fp);

#endif
