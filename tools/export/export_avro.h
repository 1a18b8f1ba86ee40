/*
 * The Avro writer of `fstore export`: an Avro object container file (avro-c)
 * whose record schema is the table's serving schema plus the row metadata
 * fields __key, __timestamp, __partition and __offset.
 */
#ifndef FSTORE_TOOLS_EXPORT_AVRO_H
#define FSTORE_TOOLS_EXPORT_AVRO_H

#include <stddef.h>

#include "fstore/fstore.h"

typedef struct export_avro export_avro;

/**
 * Creates the container file @p path for the rows of @p table.
 * @param codec "deflate" or "null".
 * @param key_bytes 1: __key is Avro bytes; 0: a string (keys must then be
 *        valid UTF-8).
 * @return the writer, or NULL with a message in @p err.
 */
export_avro *export_avro_create(const fstore_table_t *table, const char *path,
                                const char *codec, int key_bytes, char *err,
                                size_t err_size);

/**
 * Appends one row (@p key of @p key_len bytes and its row view).
 * @return 0, or -1 with a message in @p err.
 */
int export_avro_row(export_avro *a, const void *key, size_t key_len,
                    const fstore_row_t *row, char *err, size_t err_size);

/**
 * Writes the last block, closes the file and frees @p a (NULL is fine).
 * @return 0, or -1 with a message in @p err (the file is incomplete).
 */
int export_avro_close(export_avro *a, char *err, size_t err_size);

#endif
