/*
 * The tailer: one librdkafka consumer thread per store that applies its
 * topics to their tables through apply batches. The only part of the
 * library that knows Kafka. This header is what the rest of the library
 * may use; the tailer's own files share tail_int.h.
 */
#ifndef FSTORE_TAIL_H
#define FSTORE_TAIL_H

typedef struct fs_tailer fs_tailer;

/* Stops the tailer if it runs and frees it (at store close). Accepts NULL.
 * @thread the caller of fstore_store_close */
void fs_tailer_free(fs_tailer *T);
/* Whether the tailer's threads run. @thread any */
int fs_tailer_running(const fs_tailer *T);

/* Live statistics of the tailer as a jansson object (new reference), or
 * NULL when the store has no tailer. @thread any  @locks takes T's mutex */
struct json_t;
struct json_t *fs_tailer_stats(fs_tailer *T);

#endif
