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

/* Sorts what b queued so far (all of it for empty tables) into a run in an
 * unlinked file of the store's directory and empties the queue, so that a
 * bootstrap larger than memory still loads by sorted append: the commit
 * merges the runs and the queue in one pass in key order, the newest
 * operation on a key winning. Offsets and statistics stay with b.
 * @return FSTORE_OK; FSTORE_ERR_STATE when a queued table has rows or b
 * holds 64 runs already (then nothing changed: commit instead); FSTORE_ERR_IO or NO_MEMORY, with
 * nothing changed either. */
fstore_err_t fs_batch_spill(fstore_batch_t *b, char *errstr, size_t errstr_size);

/* Loads with runs that went in record order instead of by merge (a table
 * with rows, no memory to sort, a merge that failed): for tests. */
extern unsigned long fs_batch_in_order_loads;

/* Queue size at which the next run of a load limited to max_bytes of
 * memory is due: 64 MiB at first (a run sorts on its own thread while the
 * queue fills again, and the merge reads runs in order where one big queue
 * would be visited at random), doubling every 8 runs so that a load many
 * times its memory stays within 64 runs, never over max_bytes / 2 (the
 * queue and the run being written are in memory together). */
size_t fs_batch_run_bytes(const fstore_batch_t *b, size_t max_bytes);

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
