/*
 * Decode: Confluent framing and Avro binary → row layout, through a plan
 * compiled once per (writer schema, serving layout) pair. Pure: no Kafka, no
 * LMDB, no allocation per record beyond the caller's row buffer. Every read
 * is bounds-checked; untrusted bytes yield an error code, never a crash.
 */
#ifndef FSTORE_DECODE_H
#define FSTORE_DECODE_H

#include "layout.h"

typedef struct fs_plan fs_plan;

/* Splits a Confluent-framed value into schema id and Avro payload. */
fstore_err_t fs_frame_parse(const void *value, size_t len, int32_t *schema_id,
                            const uint8_t **payload, size_t *payload_len,
                            char *errstr, size_t errstr_size);

/* Compiles the resolution of writer schema (Avro JSON) to layout L.
 * FSTORE_ERR_WRITER_SCHEMA if the JSON is not Avro, FSTORE_ERR_RESOLVE
 * (naming the field) if it cannot resolve. */
fstore_err_t fs_plan_new(const char *writer_json, const fs_layout *L,
                         fs_plan **out, char *errstr, size_t errstr_size);
void fs_plan_free(fs_plan *p);

/* Plans by key (a writer schema id, or any other 64-bit key the owner
 * chooses), remembering for a key that failed why it failed. Not
 * synchronized: one thread at a time. */
typedef struct fs_plan_cache fs_plan_cache;
fs_plan_cache *fs_plan_cache_new(void);
void fs_plan_cache_free(fs_plan_cache *c); /* frees the plans; accepts NULL */
/* 1 when key is cached: *plan is its plan, or NULL with *why the reason it
 * has none. 0 when the key was never put. */
int fs_plan_cache_get(const fs_plan_cache *c, int64_t key, const fs_plan **plan,
                      const char **why);
/* Caches plan (owned by the cache from now on, even on failure) or, with
 * plan NULL, the reason why (copied). 0, or -1 when out of memory. */
int fs_plan_cache_put(fs_plan_cache *c, int64_t key, fs_plan *plan,
                      const char *why);

/* Decodes one Avro record into a row in b (fs_row_begin is done here; the
 * caller finishes the header). */
fstore_err_t fs_plan_decode(const fs_plan *p, const uint8_t *data, size_t len,
                            fs_buf *b, char *errstr, size_t errstr_size);

#endif
