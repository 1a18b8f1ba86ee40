/* Store lifecycle, tables, writer schemas and map growth. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ingest.h"
#include "registry.h"
#include "store.h"

fstore_err_t fs_mdb_err(int rc, const char *what, char *errstr,
                        size_t errstr_size)
{
    fstore_err_t e;
    switch (rc) {
    case MDB_MAP_FULL:
        e = FSTORE_ERR_MAP_FULL;
        break;
    case MDB_READERS_FULL:
        return fstore__err(errstr, errstr_size, FSTORE_ERR_READERS_FULL,
                           "%s: the reader table is full; raise "
                           "store.max_readers or destroy idle readers",
                           what);
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_PANIC:
    case MDB_INVALID:
        e = FSTORE_ERR_CORRUPT;
        break;
    case MDB_VERSION_MISMATCH:
        e = FSTORE_ERR_VERSION;
        break;
    case ENOMEM:
        e = FSTORE_ERR_NO_MEMORY;
        break;
    case EIO:
    case ENOSPC:
    case EACCES:
    case EPERM:
    case EROFS:
    case ENOENT:
        e = FSTORE_ERR_IO;
        break;
    default:
        e = FSTORE_ERR_STORAGE;
        break;
    }
    return fstore__err(errstr, errstr_size, e, "%s: %s", what, mdb_strerror(rc));
}

int fs_key_is_hashed(size_t len) { return len >= FS_KEY_HASHED; }

size_t fs_offset_key(const fstore_table_t *t, int32_t partition, uint8_t *buf,
                     size_t cap)
{
    size_t n = strlen(t->name);
    if (n + 6 > cap)
        return 0;
    buf[0] = FS_META_OFFSET;
    memcpy(buf + 1, t->name, n);
    buf[1 + n] = 0;
    fs_store_be32(buf + 2 + n, (uint32_t)partition);
    return n + 6;
}

/* ---- map size ---- */

/* Takes the remap lock exclusively: waits until every transaction of this
 * process has ended. A thread that holds a reader snapshot while it
 * commits would wait for itself, so the wait is bounded. */
static int fs_remap_lock(fstore_store_t *s)
{
    for (int waited = 0;; waited += 5) {
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += 5;
        int rc = pthread_rwlock_timedwrlock(&s->remap, &dl);
        if (rc != ETIMEDOUT)
            return rc;
        if (waited >= 55)
            return rc;
        fs_log(s->conf, 4,
               "store %s: waiting for readers of this process to reset or "
               "refresh so the memory map can grow",
               s->path);
    }
}

fstore_err_t fs_store_grow(fstore_store_t *s, char *errstr, size_t errstr_size)
{
    MDB_envinfo info;
    fstore_err_t err = FSTORE_OK;
    if (fs_remap_lock(s))
        return fstore__err(errstr, errstr_size, FSTORE_ERR_MAP_FULL,
                           "the memory map must grow, but readers of this "
                           "process kept their snapshots for 60 s; reset or "
                           "refresh readers between requests (or raise "
                           "store.map_size)");
    mdb_env_info(s->env, &info);
    uint64_t cur = info.me_mapsize;
    if (cur >= s->map_max) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_MAP_FULL,
                          "the store is full at store.map_size.max = %llu "
                          "bytes; raise it",
                          (unsigned long long)s->map_max);
    } else {
        uint64_t next = cur * 2 > s->map_max ? s->map_max : cur * 2;
        int rc = mdb_env_set_mapsize(s->env, (size_t)next);
        if (rc)
            err = fs_mdb_err(rc, "growing the memory map", errstr, errstr_size);
    }
    pthread_rwlock_unlock(&s->remap);
    return err;
}

void fs_store_adopt_size(fstore_store_t *s)
{
    if (fs_remap_lock(s))
        return; /* the caller's retry reports the failure */
    /* Size 0 adopts the size another process recorded in the store. */
    mdb_env_set_mapsize(s->env, 0);
    pthread_rwlock_unlock(&s->remap);
}

/* Begins a transaction while holding the remap lock shared; on success the
 * caller must release it with fs_txn_end after the transaction ends. */
fstore_err_t fs_txn_begin(fstore_store_t *s, unsigned flags, MDB_txn **txn,
                          char *errstr, size_t errstr_size)
{
    for (int tries = 0;; tries++) {
        pthread_rwlock_rdlock(&s->remap);
        int rc = mdb_txn_begin(s->env, NULL, flags, txn);
        if (rc == 0)
            return FSTORE_OK;
        pthread_rwlock_unlock(&s->remap);
        if (rc == MDB_MAP_RESIZED && tries < 3) {
            fs_store_adopt_size(s);
            continue;
        }
        return fs_mdb_err(rc, "starting a transaction", errstr, errstr_size);
    }
}

void fs_txn_abort(fstore_store_t *s, MDB_txn *txn)
{
    mdb_txn_abort(txn);
    pthread_rwlock_unlock(&s->remap);
}

int fs_txn_commit(fstore_store_t *s, MDB_txn *txn)
{
    int rc = mdb_txn_commit(txn);
    pthread_rwlock_unlock(&s->remap);
    return rc;
}

/* ---- tables ---- */

static int fs_table_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 249)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static void fs_table_free(fstore_table_t *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nplans; i++) {
        fs_plan_free(t->plans[i].plan);
        free(t->plans[i].why);
    }
    free(t->plans);
    fs_layout_free(t->L);
    free(t->name);
    free(t->schema_json);
    free(t);
}

static fstore_table_t *fs_table_find(fstore_store_t *s, const char *name)
{
    size_t n = __atomic_load_n(&s->ntables, __ATOMIC_ACQUIRE);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(s->tables[i]->name, name))
            return s->tables[i];
    return NULL;
}

static const char *fs_format_name(fstore_format_t f)
{
    return f == FSTORE_FORMAT_AVRO ? "avro" : "confluent";
}

/* Parses a stored definition into a table (dbi not yet opened). */
static fstore_err_t fs_table_from_def(fstore_store_t *s, const char *name,
                                      const char *def, size_t def_len,
                                      fstore_table_t **out, char *errstr,
                                      size_t errstr_size)
{
    json_error_t jerr;
    json_t *j = json_loadb(def, def_len, 0, &jerr);
    const char *schema = j ? json_string_value(json_object_get(j, "schema")) : NULL;
    const char *fmt = j ? json_string_value(json_object_get(j, "format")) : NULL;
    if (!schema || !fmt) {
        json_decref(j);
        return fstore__err(errstr, errstr_size, FSTORE_ERR_CORRUPT,
                           "table \"%s\": its stored definition is unreadable",
                           name);
    }
    fstore_table_t *t = calloc(1, sizeof *t);
    fstore_err_t err = FSTORE_ERR_NO_MEMORY;
    if (!t || !(t->name = fs_strdup(name)) || !(t->schema_json = fs_strdup(schema)))
        goto fail;
    t->store = s;
    t->format = strcmp(fmt, "avro") == 0 ? FSTORE_FORMAT_AVRO : FSTORE_FORMAT_CONFLUENT;
    t->avro_schema_id = (int32_t)json_integer_value(json_object_get(j, "avro_schema_id"));
    if ((err = fs_layout_new(schema, &t->L, errstr, errstr_size)))
        goto fail;
    json_decref(j);
    *out = t;
    return FSTORE_OK;
fail:
    if (err == FSTORE_ERR_NO_MEMORY)
        fstore__err(errstr, errstr_size, err, "out of memory");
    json_decref(j);
    fs_table_free(t);
    return err;
}

/* Opens the table's dbi inside txn and appends it to the store's list. The
 * caller holds s->mu and commits txn before readers may use the table. */
static fstore_err_t fs_table_attach(fstore_store_t *s, MDB_txn *txn,
                                    fstore_table_t *t, size_t pending,
                                    unsigned flags, char *errstr,
                                    size_t errstr_size)
{
    size_t slot = s->ntables + pending;
    char dbname[256];
    snprintf(dbname, sizeof dbname, "t/%s", t->name);
    int rc = mdb_dbi_open(txn, dbname, flags, &t->dbi);
    if (rc == MDB_DBS_FULL)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_STATE,
                           "table \"%s\": the store holds its maximum of "
                           "tables; raise store.max_tables",
                           t->name);
    if (rc)
        return fs_mdb_err(rc, "opening a table", errstr, errstr_size);
    if (slot >= s->cap_tables)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_STATE,
                           "table \"%s\": the store holds its maximum of %zu "
                           "tables; raise store.max_tables",
                           t->name, s->cap_tables);
    t->index = slot;
    s->tables[slot] = t;
    return FSTORE_OK;
}

static void fs_table_publish(fstore_store_t *s)
{
    /* Readers sample ntables before starting a snapshot, so a table becomes
     * visible only once its dbi was committed. */
    __atomic_store_n(&s->ntables, s->ntables + 1, __ATOMIC_RELEASE);
}

/* Loads tables defined in the store that this handle does not know yet.
 * Caller holds s->mu. */
static fstore_err_t fs_tables_load(fstore_store_t *s, char *errstr,
                                   size_t errstr_size)
{
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    fstore_err_t err = fs_txn_begin(s, MDB_RDONLY, &txn, errstr, errstr_size);
    if (err)
        return err;
    int rc = mdb_cursor_open(txn, s->meta, &cur);
    uint8_t tag = FS_META_TABLE;
    MDB_val k = {1, &tag}, v;
    size_t added = 0;
    if (!rc)
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (!rc && k.mv_size > 1 && ((uint8_t *)k.mv_data)[0] == FS_META_TABLE) {
        char name[256];
        size_t n = k.mv_size - 1 < 255 ? k.mv_size - 1 : 255;
        memcpy(name, (char *)k.mv_data + 1, n);
        name[n] = 0;
        if (!fs_table_find(s, name)) {
            fstore_table_t *t = NULL;
            err = fs_table_from_def(s, name, v.mv_data, v.mv_size, &t, errstr,
                                    errstr_size);
            if (!err && (err = fs_table_attach(s, txn, t, added, 0, errstr,
                                            errstr_size)))
                fs_table_free(t);
            if (err)
                break;
            added++;
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (!err && rc && rc != MDB_NOTFOUND)
        err = fs_mdb_err(rc, "reading table definitions", errstr, errstr_size);
    if (err) {
        /* Tables attached in this txn were never published. */
        for (size_t i = 0; i < added; i++)
            fs_table_free(s->tables[s->ntables + i]);
        fs_txn_abort(s, txn);
        return err;
    }
    /* Committing a read transaction keeps the dbi handles it opened. */
    rc = fs_txn_commit(s, txn);
    if (rc) {
        for (size_t i = 0; i < added; i++)
            fs_table_free(s->tables[s->ntables + i]);
        return fs_mdb_err(rc, "opening tables", errstr, errstr_size);
    }
    for (size_t i = 0; i < added; i++)
        fs_table_publish(s);
    return FSTORE_OK;
}

fstore_err_t fstore_table_create(fstore_store_t *s, const char *name,
                                 const char *schema_json,
                                 fstore_format_t format, int32_t avro_schema_id,
                                 const fstore_table_t **tablep, char *errstr,
                                 size_t errstr_size)
{
    if (!s || !name || !schema_json || !tablep ||
        (format != FSTORE_FORMAT_CONFLUENT && format != FSTORE_FORMAT_AVRO))
        return fstore__err(errstr, errstr_size, FSTORE_ERR_INVALID_ARG,
                           "store, name, schema and table pointer are "
                           "required; format must be confluent or avro");
    *tablep = NULL;
    if (!fs_table_name_ok(name))
        return fstore__err(errstr, errstr_size, FSTORE_ERR_INVALID_ARG,
                           "table name \"%s\" is invalid: use 1-249 of "
                           "[A-Za-z0-9._-] (as Kafka topic names)",
                           name);
    fs_layout *L;
    fstore_err_t err = fs_layout_new(schema_json, &L, errstr, errstr_size);
    if (err)
        return err;
    pthread_mutex_lock(&s->mu);
    fstore_table_t *t = fs_table_find(s, name);
    if (!t) {
        err = fs_tables_load(s, errstr, errstr_size);
        t = err ? NULL : fs_table_find(s, name);
    }
    if (err)
        goto out;
    if (t) {
        if (strcmp(t->L->canonical, L->canonical) != 0) {
            err = fstore__err(errstr, errstr_size, FSTORE_ERR_SCHEMA_MISMATCH,
                              "table \"%s\" exists with a different serving "
                              "schema; rows are stored in that layout, so use "
                              "a new table name or a new store",
                              name);
            goto out;
        }
        if (t->format == format &&
            (format != FSTORE_FORMAT_AVRO || t->avro_schema_id == avro_schema_id))
            goto out;
        if (s->read_only) {
            err = fstore__err(errstr, errstr_size, FSTORE_ERR_READ_ONLY,
                              "table \"%s\": cannot change its value format "
                              "in a read-only store",
                              name);
            goto out;
        }
    } else if (s->read_only) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_READ_ONLY,
                          "table \"%s\" does not exist and the store is open "
                          "read-only",
                          name);
        goto out;
    }

    /* Write the definition (new table, or a changed value format). */
    json_t *def = json_pack("{s:s, s:s, s:i, s:i}", "schema", schema_json,
                            "format", fs_format_name(format), "avro_schema_id",
                            (json_int_t)avro_schema_id, "layout", FS_ROW_VERSION);
    char *deftext = def ? json_dumps(def, JSON_COMPACT) : NULL;
    json_decref(def);
    if (!deftext) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
        goto out;
    }
    MDB_txn *txn;
    if ((err = fs_txn_begin(s, 0, &txn, errstr, errstr_size))) {
        free(deftext);
        goto out;
    }
    size_t nlen = strlen(name);
    uint8_t kbuf[256];
    kbuf[0] = FS_META_TABLE;
    memcpy(kbuf + 1, name, nlen);
    MDB_val k = {nlen + 1, kbuf}, v = {strlen(deftext), deftext};
    int rc = mdb_put(txn, s->meta, &k, &v, 0);
    free(deftext);
    fstore_table_t *nt = NULL;
    if (rc) {
        err = fs_mdb_err(rc, "writing the table definition", errstr, errstr_size);
    } else if (!t) {
        nt = calloc(1, sizeof *nt);
        if (!nt || !(nt->name = fs_strdup(name)) ||
            !(nt->schema_json = fs_strdup(schema_json))) {
            err = fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
        } else {
            nt->store = s;
            nt->L = L;
            L = NULL;
            nt->format = format;
            nt->avro_schema_id = avro_schema_id;
            err = fs_table_attach(s, txn, nt, 0, MDB_CREATE, errstr,
                                  errstr_size);
        }
    }
    if (err) {
        fs_txn_abort(s, txn);
        fs_table_free(nt);
        goto out;
    }
    rc = fs_txn_commit(s, txn);
    if (rc) {
        /* MDB_MAP_FULL here is practically impossible (a few bytes). */
        err = fs_mdb_err(rc, "creating the table", errstr, errstr_size);
        fs_table_free(nt);
        goto out;
    }
    if (nt) {
        fs_table_publish(s);
        t = nt;
    } else {
        /* Only the writer thread reads these; a format change between
         * batches is the caller's to order. */
        t->format = format;
        t->avro_schema_id = avro_schema_id;
    }
out:
    pthread_mutex_unlock(&s->mu);
    fs_layout_free(L);
    if (!err)
        *tablep = t;
    return err;
}

fstore_err_t fstore_table_open(fstore_store_t *s, const char *name,
                               const fstore_table_t **tablep)
{
    if (!s || !name || !tablep)
        return FSTORE_ERR_INVALID_ARG;
    fstore_err_t err = FSTORE_OK;
    pthread_mutex_lock(&s->mu);
    *tablep = fs_table_find(s, name);
    if (!*tablep) {
        err = fs_tables_load(s, NULL, 0);
        *tablep = err ? NULL : fs_table_find(s, name);
    }
    pthread_mutex_unlock(&s->mu);
    if (err)
        return err;
    return *tablep ? FSTORE_OK : FSTORE_ERR_NO_TABLE;
}

size_t fstore_table_count(fstore_store_t *s)
{
    return s ? __atomic_load_n(&s->ntables, __ATOMIC_ACQUIRE) : 0;
}

const fstore_table_t *fstore_table_at(fstore_store_t *s, size_t i)
{
    if (!s || i >= fstore_table_count(s))
        return NULL;
    return s->tables[i];
}

const char *fstore_table_name(const fstore_table_t *t) { return t ? t->name : NULL; }
const char *fstore_table_schema(const fstore_table_t *t)
{
    return t ? t->schema_json : NULL;
}
fstore_format_t fstore_table_format(const fstore_table_t *t)
{
    return t ? t->format : FSTORE_FORMAT_CONFLUENT;
}
int fstore_table_column_count(const fstore_table_t *t) { return t ? t->L->ncols : 0; }
int fstore_table_column_index(const fstore_table_t *t, const char *name)
{
    return t && name ? fs_layout_col(t->L, name) : -1;
}

static const fs_col *fs_col_at(const fstore_table_t *t, int col)
{
    return t && col >= 0 && col < t->L->ncols ? &t->L->cols[col] : NULL;
}

const char *fstore_table_column_name(const fstore_table_t *t, int col)
{
    const fs_col *c = fs_col_at(t, col);
    return c ? c->name : NULL;
}
int fstore_table_column_type(const fstore_table_t *t, int col)
{
    const fs_col *c = fs_col_at(t, col);
    return c ? (int)c->type : -1;
}
int fstore_table_column_logical(const fstore_table_t *t, int col)
{
    const fs_col *c = fs_col_at(t, col);
    return c ? (int)c->logical : -1;
}
int fstore_table_column_nullable(const fstore_table_t *t, int col)
{
    const fs_col *c = fs_col_at(t, col);
    return c ? c->nullable : -1;
}
int fstore_table_column_size(const fstore_table_t *t, int col)
{
    const fs_col *c = fs_col_at(t, col);
    if (!c)
        return -1;
    return c->type == FSTORE_TYPE_ENUM    ? c->nsyms
           : c->type == FSTORE_TYPE_FIXED ? c->fixed_size
                                          : 0;
}
const char *fstore_table_enum_symbol(const fstore_table_t *t, int col, int i)
{
    const fs_col *c = fs_col_at(t, col);
    return c && c->type == FSTORE_TYPE_ENUM && i >= 0 && i < c->nsyms ? c->syms[i]
                                                                      : NULL;
}

/* ---- writer schemas ---- */

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

static char *fs_read_file(const char *path, size_t max)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fs_buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > max || fs_buf_append(&b, chunk, n)) {
            fs_buf_free(&b);
            fclose(f);
            return NULL;
        }
    }
    fclose(f);
    if (fs_buf_append(&b, "", 1)) {
        fs_buf_free(&b);
        return NULL;
    }
    return (char *)b.data;
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

fstore_err_t fs_table_plan(fstore_table_t *t, int64_t key, const fs_plan **out,
                           char *errstr, size_t errstr_size)
{
    for (size_t i = 0; i < t->nplans; i++) {
        if (t->plans[i].key == key) {
            *out = t->plans[i].plan;
            if (!*out)
                return fstore__err(errstr, errstr_size, FSTORE_ERR_RESOLVE,
                                   "%s", t->plans[i].why);
            return FSTORE_OK;
        }
    }
    char *json = NULL;
    fstore_err_t err;
    if (key == FS_PLAN_SERVING) {
        json = fs_strdup(t->schema_json);
        err = json ? FSTORE_OK : FSTORE_ERR_NO_MEMORY;
    } else {
        err = fs_schema_find(t->store, (int32_t)key, &json, errstr, errstr_size);
    }
    if (err)
        return err;
    fs_plan *p = NULL;
    char why[512] = "";
    err = fs_plan_new(json, t->L, &p, why, sizeof why);
    free(json);
    if (err)
        fstore__err(errstr, errstr_size, err, "%s", why);
    if (err && err != FSTORE_ERR_RESOLVE && err != FSTORE_ERR_WRITER_SCHEMA)
        return err;
    /* An unresolvable schema is remembered too, with its reason, so every
     * record that uses it fails fast and says why. */
    if (t->nplans == t->cap_plans) {
        size_t cap = t->cap_plans ? t->cap_plans * 2 : 4;
        fs_plan_slot *np = realloc(t->plans, cap * sizeof *np);
        if (!np) {
            fs_plan_free(p);
            return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY,
                               "out of memory");
        }
        t->plans = np;
        t->cap_plans = cap;
    }
    t->plans[t->nplans].key = key;
    t->plans[t->nplans].plan = p;
    t->plans[t->nplans].why = err ? fs_strdup(why) : NULL;
    t->nplans++;
    *out = p;
    return err ? FSTORE_ERR_RESOLVE : FSTORE_OK;
}

/* ---- open / close ---- */

static fstore_err_t fs_lock_writer(fstore_store_t *s, mode_t mode, char *errstr,
                                   size_t errstr_size)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/writer.lock", s->path);
    s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, mode);
    if (s->lock_fd < 0)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_IO,
                           "cannot open %s: %s", path, strerror(errno));
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "";
        ssize_t n = pread(s->lock_fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = 0;
        pid[strcspn(pid, " \n")] = 0;
        close(s->lock_fd);
        s->lock_fd = -1;
        return fstore__err(errstr, errstr_size, FSTORE_ERR_LOCKED,
                           "store %s is open for writing by another handle "
                           "(pid %s); one writer per store — open it read-only "
                           "(store.read_only=true) to read",
                           s->path, pid[0] ? pid : "unknown");
    }
    return FSTORE_OK;
}

/* The kernel's id of this boot: a store left open by a writer of another
 * boot was not closed before the machine went down. */
static void fs_boot_id(char *buf, size_t size)
{
    buf[0] = 0;
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (f) {
        if (!fgets(buf, (int)size, f))
            buf[0] = 0;
        fclose(f);
    }
    buf[strcspn(buf, "\n")] = 0;
}

/* writer.lock holds "<pid> <boot id> open|closed". Without per-commit syncs
 * (store.sync=none) a machine crash can leave pages of the last commits
 * unwritten under a metadata page that was written: a store that was open
 * for writing when its machine went down cannot be trusted and is rebuilt
 * (emptied; tailing reloads it). Process crashes are always safe: the page
 * cache survives them. */
static void fs_writer_state(fstore_store_t *s, const char *state)
{
    char boot[64], line[160];
    fs_boot_id(boot, sizeof boot);
    int n = snprintf(line, sizeof line, "%ld %s %s\n", (long)getpid(),
                     boot[0] ? boot : "-", state);
    if (ftruncate(s->lock_fd, 0) != 0 || pwrite(s->lock_fd, line, (size_t)n, 0) != n)
        fs_log(s->conf, 4, "store %s: cannot record the writer state", s->path);
    else if (!strcmp(state, "open"))
        fdatasync(s->lock_fd);
}

static int fs_crashed_with_machine(fstore_store_t *s)
{
    char line[160] = "", boot[64];
    ssize_t n = pread(s->lock_fd, line, sizeof line - 1, 0);
    line[n > 0 ? n : 0] = 0;
    char their[64] = "", state[16] = "";
    long pid;
    if (sscanf(line, "%ld %63s %15s", &pid, their, state) != 3)
        return 0; /* new store, or one from before this record existed */
    fs_boot_id(boot, sizeof boot);
    return !strcmp(state, "open") && boot[0] && strcmp(their, boot) != 0;
}

static void fs_discard_store_files(fstore_store_t *s)
{
    static const char *const files[] = {"data.mdb", "lock.mdb"};
    char p[4096];
    for (size_t i = 0; i < 2; i++)
        if (snprintf(p, sizeof p, "%s/%s", s->path, files[i]) < (int)sizeof p)
            unlink(p);
}

static fstore_err_t fs_meta_init(fstore_store_t *s, char *errstr,
                                 size_t errstr_size)
{
    MDB_txn *txn;
    unsigned flags = s->read_only ? MDB_RDONLY : 0;
    fstore_err_t err = fs_txn_begin(s, flags, &txn, errstr, errstr_size);
    if (err)
        return err;
    int rc = mdb_dbi_open(txn, "__meta", s->read_only ? 0 : MDB_CREATE, &s->meta);
    if (rc == MDB_NOTFOUND) {
        fs_txn_abort(s, txn);
        return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_STORE,
                           "%s holds no fstore store yet (no writer has "
                           "opened it)",
                           s->path);
    }
    if (rc) {
        fs_txn_abort(s, txn);
        return fs_mdb_err(rc, "opening the metadata", errstr, errstr_size);
    }
    uint8_t tag = FS_META_VERSION;
    MDB_val k = {1, &tag}, v;
    rc = mdb_get(txn, s->meta, &k, &v);
    if (rc == 0) {
        uint32_t ver = v.mv_size == 4 ? fs_load_u32(v.mv_data) : 0;
        if (ver != FS_STORE_VERSION) {
            fs_txn_abort(s, txn);
            return fstore__err(errstr, errstr_size, FSTORE_ERR_VERSION,
                               "store %s has format version %u; this fstore "
                               "(%s) reads version %u",
                               s->path, ver, fstore_version_str(),
                               FS_STORE_VERSION);
        }
    } else if (rc == MDB_NOTFOUND && !s->read_only) {
        uint32_t ver = FS_STORE_VERSION;
        v.mv_data = &ver;
        v.mv_size = 4;
        rc = mdb_put(txn, s->meta, &k, &v, 0);
    }
    if (rc && !(rc == MDB_NOTFOUND && s->read_only)) {
        fs_txn_abort(s, txn);
        return fs_mdb_err(rc, "initialising the metadata", errstr, errstr_size);
    }
    rc = fs_txn_commit(s, txn);
    if (rc)
        return fs_mdb_err(rc, "initialising the metadata", errstr, errstr_size);
    return FSTORE_OK;
}

fstore_err_t fstore_store_open(const char *path, const fstore_conf_t *conf,
                               fstore_store_t **storep, char *errstr,
                               size_t errstr_size)
{
    if (!path || !storep || !*path)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_INVALID_ARG,
                           "path and store pointer are required");
    *storep = NULL;
    fstore_store_t *s = calloc(1, sizeof *s);
    if (!s)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
    s->lock_fd = -1;
    pthread_mutex_init(&s->mu, NULL);
    /* Writer-preferring: with readers refreshing in a loop, a reader-first
     * lock would postpone map growth indefinitely. */
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&s->remap, &ra);
    pthread_rwlockattr_destroy(&ra);
    fstore_err_t err = FSTORE_ERR_NO_MEMORY;
    s->conf = conf ? fstore_conf_dup(conf) : fstore_conf_new();
    if (!s->conf || !(s->path = fs_strdup(path))) {
        fstore__err(errstr, errstr_size, err, "out of memory");
        goto fail;
    }
    s->read_only = fs_conf_bool(s->conf, "store.read_only");
    mode_t mode = (mode_t)fs_conf_u64(s->conf, "store.file_mode");
    s->map_max = fs_conf_u64(s->conf, "store.map_size.max");
    uint64_t map_size = fs_conf_u64(s->conf, "store.map_size");
    /* The table array never moves, so the writer and readers index it
     * without a lock while tables are added. */
    s->cap_tables = (size_t)fs_conf_u64(s->conf, "store.max_tables");
    s->tables = calloc(s->cap_tables, sizeof *s->tables);
    if (!s->tables) {
        fstore__err(errstr, errstr_size, err, "out of memory");
        goto fail;
    }
    if (map_size > s->map_max)
        map_size = s->map_max;

    struct stat st;
    if (s->read_only) {
        char data[4096];
        snprintf(data, sizeof data, "%s/data.mdb", path);
        if (stat(data, &st) != 0) {
            err = fstore__err(errstr, errstr_size, FSTORE_ERR_NO_STORE,
                              "no store at %s (%s); run a writer (fstore tail) "
                              "first, or check the path",
                              path, strerror(errno));
            goto fail;
        }
    } else {
        /* Directories need x wherever the files get r. */
        mode_t dmode = mode | ((mode & 0444) >> 2);
        if (mkdir(path, dmode) != 0 && errno != EEXIST) {
            err = fstore__err(errstr, errstr_size, FSTORE_ERR_IO,
                              "cannot create store directory %s: %s", path,
                              strerror(errno));
            goto fail;
        }
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
            err = fstore__err(errstr, errstr_size, FSTORE_ERR_IO,
                              "%s is not a directory", path);
            goto fail;
        }
        if ((err = fs_lock_writer(s, mode, errstr, errstr_size)))
            goto fail;
        if (fs_crashed_with_machine(s)) {
            fs_log(s->conf, 4,
                   "store %s was open for writing when its machine went "
                   "down; its last commits may be torn, so it starts empty "
                   "and tailing reloads it",
                   s->path);
            fs_discard_store_files(s);
        }
        fs_writer_state(s, "open");
    }

    int rc = mdb_env_create(&s->env);
    if (!rc)
        rc = mdb_env_set_maxdbs(s->env, (MDB_dbi)fs_conf_u64(s->conf, "store.max_tables") + 1);
    if (!rc)
        rc = mdb_env_set_maxreaders(s->env, (unsigned)fs_conf_u64(s->conf, "store.max_readers"));
    if (!rc)
        rc = mdb_env_set_mapsize(s->env, (size_t)map_size);
    if (rc) {
        err = fs_mdb_err(rc, "creating the environment", errstr, errstr_size);
        goto fail;
    }
    /* NOTLS: reader handles are not tied to threads (a Python thread pool
     * or an async runtime may move them). NORDAHEAD: lookups are random. */
    unsigned flags = MDB_NOTLS | MDB_NORDAHEAD;
    const char *sync = fs_conf_str(s->conf, "store.sync");
    if (s->read_only)
        flags |= MDB_RDONLY;
    else if (!strcmp(sync, "none"))
        flags |= MDB_NOSYNC;
    else if (!strcmp(sync, "meta"))
        flags |= MDB_NOMETASYNC;
    rc = mdb_env_open(s->env, path, flags, mode);
    if (rc) {
        err = fs_mdb_err(rc, "opening the store", errstr, errstr_size);
        if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
            fstore__err(errstr, errstr_size, err,
                        "%s does not hold an fstore store this version can "
                        "read (%s)",
                        path, mdb_strerror(rc));
        goto fail;
    }
    if ((err = fs_meta_init(s, errstr, errstr_size)))
        goto fail;
    pthread_mutex_lock(&s->mu);
    err = fs_tables_load(s, errstr, errstr_size);
    pthread_mutex_unlock(&s->mu);
    if (err)
        goto fail;
    *storep = s;
    return FSTORE_OK;
fail:
    fstore_store_close(s);
    return err;
}

int fstore_store_read_only(const fstore_store_t *s) { return s ? s->read_only : 0; }

void fstore_store_close(fstore_store_t *s)
{
    if (!s)
        return;
    fs_tailer_free(s->tail);
    for (size_t i = 0; i < s->ntables; i++)
        fs_table_free(s->tables[i]);
    free(s->tables);
    if (s->env) {
        /* A clean close makes everything durable before saying so. */
        if (s->lock_fd >= 0 && mdb_env_sync(s->env, 1) == 0)
            fs_writer_state(s, "closed");
        mdb_env_close(s->env);
    }
    if (s->lock_fd >= 0)
        close(s->lock_fd); /* releases the writer lock */
    fstore_conf_destroy(s->conf);
    pthread_mutex_destroy(&s->mu);
    pthread_rwlock_destroy(&s->remap);
    free(s->path);
    free(s);
}

/* ---- internals for the tailer ---- */

fstore_err_t fs_table_clear(fstore_table_t *t, char *errstr, size_t errstr_size)
{
    fstore_store_t *s = t->store;
    MDB_txn *txn;
    fstore_err_t err = fs_txn_begin(s, 0, &txn, errstr, errstr_size);
    if (err)
        return err;
    int rc = mdb_drop(txn, t->dbi, 0);
    uint8_t kb[300];
    size_t plen = fs_offset_key(t, 0, kb, sizeof kb) - 4;
    MDB_cursor *cur = NULL;
    if (!rc)
        rc = mdb_cursor_open(txn, s->meta, &cur);
    MDB_val k = {plen, kb}, v;
    if (!rc) {
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            if (k.mv_size != plen + 4 || memcmp(k.mv_data, kb, plen) != 0)
                break;
            if ((rc = mdb_cursor_del(cur, 0)))
                break;
        }
        if (rc == MDB_NOTFOUND)
            rc = 0;
        mdb_cursor_close(cur);
    }
    if (rc) {
        fs_txn_abort(s, txn);
        return fs_mdb_err(rc, "clearing a table", errstr, errstr_size);
    }
    rc = fs_txn_commit(s, txn);
    return rc ? fs_mdb_err(rc, "clearing a table", errstr, errstr_size) : FSTORE_OK;
}

fstore_err_t fs_store_put_stats(fstore_store_t *s, const char *json)
{
    for (int tries = 0; tries < 3; tries++) {
        MDB_txn *txn;
        fstore_err_t err = fs_txn_begin(s, 0, &txn, NULL, 0);
        if (err)
            return err;
        uint8_t tag = FS_META_STATS;
        MDB_val k = {1, &tag}, v = {strlen(json), (void *)(uintptr_t)json};
        int rc = mdb_put(txn, s->meta, &k, &v, 0);
        if (rc)
            fs_txn_abort(s, txn);
        else
            rc = fs_txn_commit(s, txn);
        if (rc == MDB_MAP_FULL && fs_store_grow(s, NULL, 0) == FSTORE_OK)
            continue;
        return rc ? fs_mdb_err(rc, "recording statistics", NULL, 0) : FSTORE_OK;
    }
    return FSTORE_ERR_MAP_FULL;
}

char *fs_store_get_stats(fstore_store_t *s)
{
    MDB_txn *txn;
    if (fs_txn_begin(s, MDB_RDONLY, &txn, NULL, 0))
        return NULL;
    uint8_t tag = FS_META_STATS;
    MDB_val k = {1, &tag}, v;
    char *out = NULL;
    if (mdb_get(txn, s->meta, &k, &v) == 0)
        out = fs_strndup(v.mv_data, v.mv_size);
    fs_txn_abort(s, txn);
    return out;
}

int fs_store_usage(fstore_store_t *s, MDB_txn *txn, fs_usage *u)
{
    MDB_envinfo info;
    MDB_stat st;
    MDB_cursor *cur;
    MDB_val k, v;
    memset(u, 0, sizeof *u);
    int rc = mdb_env_info(s->env, &info);
    if (!rc)
        rc = mdb_env_stat(s->env, &st);
    /* Database 0 is LMDB's free list: each value lists page numbers, its
     * first word their count. */
    if (!rc)
        rc = mdb_cursor_open(txn, 0, &cur);
    if (rc)
        return rc;
    while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
        size_t n;
        if (v.mv_size >= sizeof n) {
            memcpy(&n, v.mv_data, sizeof n);
            u->free_pages += n;
        }
    }
    mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND)
        return rc;
    u->page_size = st.ms_psize;
    u->pages = (uint64_t)info.me_last_pgno + 1;
    u->map_size = info.me_mapsize;
    if (u->free_pages > u->pages)
        u->free_pages = u->pages;
    return 0;
}

uint64_t fs_table_pages(const fstore_table_t *t, MDB_txn *txn)
{
    MDB_stat st;
    if (mdb_stat(txn, t->dbi, &st))
        return 0;
    return (uint64_t)st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
}
