/* Schema Registry client: GET {url}/schemas/ids/{id} over libcurl, and the
 * parsing of its answers, which needs no network. */
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

#endif
