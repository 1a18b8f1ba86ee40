/*
 * Writer schemas: the catalog of writer schemas by id in the metadata,
 * the lookup chain for an unknown id (the store, then the Schema Registry,
 * then the schemas directory; what is found is remembered in the store),
 * and each table's decode plans by writer schema id.
 */
#include <stdio.h>
#include <stdlib.h>

#include "registry.h"
#include "schemas.h"

static fstore_err_t fs_schema_get(fstore_store_t *s, int32_t id, char **json,
                                  char *errstr, size_t errstr_size)
{
    *json = NULL;
    MDB_txn *txn;
    fstore_err_t err = fs_txn_begin(s, MDB_RDONLY, &txn, errstr, errstr_size);
    if (err)
        return err;
    uint8_t kb[5] = {FS_META_SCHEMA};
    fs_store_be32(kb + 1, (uint32_t)id);
    MDB_val k = {5, kb}, v;
    int rc = mdb_get(txn, s->meta, &k, &v);
    if (rc == 0 && !(*json = fs_strndup(v.mv_data, v.mv_size)))
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
    else if (rc && rc != MDB_NOTFOUND)
        err = fs_mdb_err(rc, "reading a writer schema", errstr, errstr_size);
    else if (rc == MDB_NOTFOUND)
        err = FSTORE_NOT_FOUND;
    fs_txn_abort(s, txn);
    return err;
}

fstore_err_t fstore_schema_register(fstore_store_t *s, int32_t id,
                                    const char *schema_json, char *errstr,
                                    size_t errstr_size)
{
    if (!s || !schema_json)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_INVALID_ARG,
                           "store and schema must not be NULL");
    if (s->read_only)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_READ_ONLY,
                           "cannot register schema %d: the store is open "
                           "read-only",
                           id);
    avro_schema_t sch;
    if (fs_avro_parse(schema_json, &sch))
        return fstore__err(errstr, errstr_size, FSTORE_ERR_WRITER_SCHEMA,
                           "schema %d is not valid Avro: %s", id, avro_strerror());
    avro_schema_decref(sch);
    char *canon = fs_json_canonical(schema_json, errstr, errstr_size);
    if (!canon)
        return FSTORE_ERR_WRITER_SCHEMA;
    pthread_mutex_lock(&s->mu);
    MDB_txn *txn;
    fstore_err_t err = fs_txn_begin(s, 0, &txn, errstr, errstr_size);
    if (err)
        goto out;
    uint8_t kb[5] = {FS_META_SCHEMA};
    fs_store_be32(kb + 1, (uint32_t)id);
    MDB_val k = {5, kb}, v;
    int rc = mdb_get(txn, s->meta, &k, &v);
    if (rc == 0) {
        char *old = fs_strndup(v.mv_data, v.mv_size);
        char *oldc = old ? fs_json_canonical(old, NULL, 0) : NULL;
        if (!oldc || strcmp(oldc, canon) != 0)
            err = fstore__err(errstr, errstr_size, FSTORE_ERR_SCHEMA_MISMATCH,
                              "schema id %d is already registered with a "
                              "different schema",
                              id);
        free(old);
        free(oldc);
        fs_txn_abort(s, txn);
        goto out;
    }
    v.mv_data = (void *)(uintptr_t)schema_json;
    v.mv_size = strlen(schema_json);
    rc = rc == MDB_NOTFOUND ? mdb_put(txn, s->meta, &k, &v, 0) : rc;
    if (rc) {
        fs_txn_abort(s, txn);
        err = fs_mdb_err(rc, "registering a writer schema", errstr, errstr_size);
        goto out;
    }
    rc = fs_txn_commit(s, txn);
    if (rc)
        err = fs_mdb_err(rc, "registering a writer schema", errstr, errstr_size);
out:
    pthread_mutex_unlock(&s->mu);
    free(canon);
    return err;
}

/* Remembers a schema found elsewhere in the store (not possible, and not
 * needed, when read-only); on failure frees it. */
static fstore_err_t fs_schema_adopt(fstore_store_t *s, int32_t id, char **json,
                                    char *errstr, size_t errstr_size)
{
    fstore_err_t err = fstore_schema_register(s, id, *json, errstr, errstr_size);
    if (err == FSTORE_ERR_READ_ONLY)
        err = FSTORE_OK;
    if (err) {
        free(*json);
        *json = NULL;
    }
    return err;
}

/* Finds the writer schema for id: the store first, then schemas.dir (and
 * remembers it in the store so later opens need no directory). */
static fstore_err_t fs_schema_find(fstore_store_t *s, int32_t id, char **json,
                                   char *errstr, size_t errstr_size)
{
    fstore_err_t err = fs_schema_get(s, id, json, errstr, errstr_size);
    if (err != FSTORE_NOT_FOUND)
        return err;
    const char *url = fs_conf_str(s->conf, "registry.url");
    if (url) {
        err = fs_registry_fetch(url, (long)fs_conf_u64(s->conf, "registry.timeout_ms"),
                                id, json, errstr, errstr_size);
        if (!err) {
            return fs_schema_adopt(s, id, json, errstr, errstr_size);
        }
        /* An unreachable registry is worth a fallback to the directory. */
        if (!fs_conf_str(s->conf, "schemas.dir"))
            return err;
    }
    const char *dir = fs_conf_str(s->conf, "schemas.dir");
    if (dir) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%d.avsc", dir, id);
        *json = fs_read_file(path, 16u << 20);
        if (*json) {
            return fs_schema_adopt(s, id, json, errstr, errstr_size);
        }
    }
    return fstore__err(errstr, errstr_size, FSTORE_ERR_DECODE_SCHEMA_ID,
                       "writer schema id %d is unknown: register it, or put "
                       "%d.avsc in the directory set as schemas.dir%s%s",
                       id, id, dir ? " (now " : "", dir ? dir : "");
}

fstore_err_t fs_schema_plan(fstore_store_t *s, fs_plan_cache *cache,
                            const fs_layout *L, const char *reader_json,
                            int64_t key, const fs_plan **out, char *errstr,
                            size_t errstr_size)
{
    const char *why = NULL;
    if (fs_plan_cache_get(cache, key, out, &why)) {
        if (!*out)
            return fstore__err(errstr, errstr_size, FSTORE_ERR_RESOLVE, "%s", why);
        return FSTORE_OK;
    }
    char *json = NULL;
    fstore_err_t err;
    if (key == FS_PLAN_SERVING) {
        json = fs_strdup(reader_json);
        err = json ? FSTORE_OK : FSTORE_ERR_NO_MEMORY;
    } else {
        err = fs_schema_find(s, (int32_t)key, &json, errstr, errstr_size);
    }
    if (err)
        return err;
    fs_plan *p = NULL;
    char reason[512] = "";
    err = fs_plan_new(json, L, &p, reason, sizeof reason);
    free(json);
    if (err)
        fstore__err(errstr, errstr_size, err, "%s", reason);
    if (err && err != FSTORE_ERR_RESOLVE && err != FSTORE_ERR_WRITER_SCHEMA)
        return err;
    /* An unresolvable schema is remembered too, with its reason, so every
     * record that uses it fails fast and says why. */
    if (fs_plan_cache_put(cache, key, p, err ? reason : NULL))
        return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY,
                           "out of memory");
    *out = p;
    return err ? FSTORE_ERR_RESOLVE : FSTORE_OK;
}

fstore_err_t fs_table_plan(const fstore_table_t *t, int64_t key,
                           const fs_plan **out, char *errstr,
                           size_t errstr_size)
{
    return fs_schema_plan(t->store, t->plans, t->L, t->schema_json, key, out,
                          errstr, errstr_size);
}
