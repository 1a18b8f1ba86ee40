/* Schema Registry client over libcurl: GET {url}/schemas/ids/{id} and
 * POST {url}/subjects/{subject}/versions, and the parsing of their answers,
 * which needs no network. */
#ifndef FSTORE_REGISTRY_H
#define FSTORE_REGISTRY_H

#include "internal.h"

/* Fetches the Avro schema text of id. FSTORE_ERR_DECODE_SCHEMA_ID when the
 * registry does not know it, FSTORE_ERR_IO when the
 * registry cannot be reached or answers badly. *json is malloc'ed. */
fstore_err_t fs_registry_fetch(const char *url, long timeout_ms, int32_t id,
                               char **json, char *errstr, size_t errstr_size);

/* Turns the registry's answer for id (HTTP status and the len bytes of body,
 * which need not be NUL-terminated) into the schema text in *json
 * (malloc'ed; NULL on error). FSTORE_ERR_DECODE_SCHEMA_ID for 404,
 * FSTORE_ERR_IO for any other status but 200 or a body without a "schema"
 * string, FSTORE_ERR_WRITER_SCHEMA for a schemaType other than AVRO.
 * what names the request in messages (NULL: "the schema registry"). */
fstore_err_t fs_registry_parse(long http_status, const char *body, size_t len,
                               int32_t id, const char *what, char **json,
                               char *errstr, size_t errstr_size);

/* Registers the Avro schema text under subject (or finds it there, as the
 * registry does for a schema it already holds) and gives its id.
 * FSTORE_ERR_SCHEMA_MISMATCH when the registry refuses it as incompatible,
 * FSTORE_ERR_SCHEMA as invalid, FSTORE_ERR_IO when the registry cannot be
 * reached or answers badly. */
fstore_err_t fs_registry_register(const char *url, long timeout_ms, const char *subject,
                                  const char *schema, int32_t *id, char *errstr,
                                  size_t errstr_size);

/* Turns the registry's answer to a registration under subject into *id
 * (-1 on error): 200 with an "id" from 0 to INT32_MAX; 409
 * FSTORE_ERR_SCHEMA_MISMATCH, 422 FSTORE_ERR_SCHEMA, anything else
 * FSTORE_ERR_IO, each with the registry's own "message" when it gives one. */
fstore_err_t fs_registry_parse_id(long http_status, const char *body, size_t len,
                                  const char *subject, int32_t *id, char *errstr,
                                  size_t errstr_size);

#endif
