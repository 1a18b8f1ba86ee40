/*
 * Writer schemas and decode plans. A record's writer schema id leads to
 * the schema text (the store's catalog, else the Schema Registry, else the
 * schemas directory; what is found elsewhere is remembered in the store),
 * and the pair (table, writer schema) to a cached decode plan.
 */
#ifndef FSTORE_SCHEMAS_H
#define FSTORE_SCHEMAS_H

#include "tables.h"

/* Plan cache key of "written with the serving schema itself" (raw Avro);
 * registry ids are 32-bit, so no id collides with it. */
#define FS_PLAN_SERVING INT64_MIN

/* The decode plan of (writer schema id or FS_PLAN_SERVING) for reader
 * layout L (whose schema text is reader_json), from cache or built and
 * cached: writer schemas come from store s's catalog, else its registry,
 * else its schemas directory. A schema that does not resolve is cached too
 * (FSTORE_ERR_RESOLVE, with its reason, on every later call). For any
 * owner of a layout: tables, and the events of an aggregation. */
fstore_err_t fs_schema_plan(fstore_store_t *s, fs_plan_cache *cache,
                            const fs_layout *L, const char *reader_json,
                            int64_t key, const fs_plan **out, char *errstr,
                            size_t errstr_size);

/* The decode plan of (table, writer schema id or FS_PLAN_SERVING), built
 * and cached on first use; a schema that does not resolve is cached too
 * and fails every later call fast with its reason (FSTORE_ERR_RESOLVE).
 * Only the thread that holds the store's batch calls this. */
fstore_err_t fs_table_plan(const fstore_table_t *t, int64_t key,
                           const fs_plan **out, char *errstr,
                           size_t errstr_size);

#endif
