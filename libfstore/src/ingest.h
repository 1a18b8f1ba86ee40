/*
 * The tailer: one librdkafka consumer thread per store that applies its
 * topics to their tables through apply batches. The only module that knows
 * Kafka.
 */
#ifndef FSTORE_INGEST_H
#define FSTORE_INGEST_H

#include "store.h"

typedef struct fs_tailer fs_tailer;

void fs_tailer_free(fs_tailer *T);
int fs_tailer_running(const fs_tailer *T);

/* Live statistics of the tailer as a jansson object (new reference), or
 * NULL when the store has no tailer. */
struct json_t;
struct json_t *fs_tailer_stats(fs_tailer *T);

/* Store internals the tailer uses. */
fstore_err_t fs_table_clear(fstore_table_t *t, char *errstr, size_t errstr_size);
void fs_batch_set_stats(fstore_batch_t *b, const char *json);
size_t fs_batch_bytes(const fstore_batch_t *b);
fstore_err_t fs_store_put_stats(fstore_store_t *s, const char *json);
char *fs_store_get_stats(fstore_store_t *s);

#endif
