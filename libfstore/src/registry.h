/* Schema Registry client: GET {url}/schemas/ids/{id} over libcurl. */
#ifndef FSTORE_REGISTRY_H
#define FSTORE_REGISTRY_H

#include "internal.h"

/* Fetches the Avro schema text of id. FSTORE_ERR_DECODE_SCHEMA_ID when the
 * registry does not know it, FSTORE_ERR_IO when the
 * registry cannot be reached or answers badly. *json is malloc'ed. */
fstore_err_t fs_registry_fetch(const char *url, long timeout_ms, int32_t id,
                               char **json, char *errstr, size_t errstr_size);

#endif
