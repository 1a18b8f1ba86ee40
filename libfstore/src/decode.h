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

/* Decodes one Avro record into a row in b (fs_row_begin is done here; the
 * caller finishes the header). */
fstore_err_t fs_plan_decode(const fs_plan *p, const uint8_t *data, size_t len,
                            fs_buf *b, char *errstr, size_t errstr_size);

#endif
