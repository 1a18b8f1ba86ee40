/*
 * The table catalog: table definitions in the metadata, their LMDB
 * sub-databases, the store's list of open tables (appended under the store
 * mutex, read without a lock), the public table and column accessors, and
 * clearing a table for a rebuild.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "tables.h"

size_t fs_offset_key(const fstore_table_t *t, int32_t partition, uint8_t *buf,
                     size_t cap)
{
    return fs_part_key(FS_META_OFFSET, t, partition, buf, cap);
}

size_t fs_part_key(uint8_t tag, const fstore_table_t *t, int32_t partition,
                   uint8_t *buf, size_t cap)
{
    size_t n = strlen(t->name);
    if (n + 6 > cap)
        return 0;
    buf[0] = tag;
    memcpy(buf + 1, t->name, n);
    buf[1 + n] = 0;
    fs_store_be32(buf + 2 + n, (uint32_t)partition);
    return n + 6;
}

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
    fs_plan_cache_free(t->plans);
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

fstore_err_t fs_table_def_layout(const void *def, size_t def_len, fs_layout **out,
                                char *errstr, size_t errstr_size)
{
    json_error_t jerr;
    json_t *j = json_loadb(def, def_len, 0, &jerr);
    const char *schema = j ? json_string_value(json_object_get(j, "schema")) : NULL;
    fstore_err_t err = schema ? fs_layout_new(schema, out, errstr, errstr_size)
                              : fstore__err(errstr, errstr_size, FSTORE_ERR_CORRUPT,
                                            "a table definition is unreadable");
    json_decref(j);
    return err;
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
    if (!t || !(t->name = fs_strdup(name)) ||
        !(t->schema_json = fs_strdup(schema)) || !(t->plans = fs_plan_cache_new()))
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
fstore_err_t fs_tables_load(fstore_store_t *s, char *errstr,
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
            !(nt->schema_json = fs_strdup(schema_json)) ||
            !(nt->plans = fs_plan_cache_new())) {
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

fstore_err_t fs_table_clear(const fstore_table_t *t, char *errstr, size_t errstr_size)
{
    fstore_store_t *s = t->store;
    MDB_txn *txn;
    fstore_err_t err = fs_txn_begin(s, 0, &txn, errstr, errstr_size);
    if (err)
        return err;
    int rc = mdb_drop(txn, t->dbi, 0);
    /* The offsets and the fingerprints of the records at them go too. */
    static const uint8_t tags[] = {FS_META_OFFSET, FS_META_FPRINT};
    for (size_t i = 0; !rc && i < sizeof tags; i++) {
        uint8_t kb[300];
        size_t plen = fs_part_key(tags[i], t, 0, kb, sizeof kb) - 4;
        MDB_cursor *cur = NULL;
        rc = mdb_cursor_open(txn, s->meta, &cur);
        MDB_val k = {plen, kb}, v;
        if (rc)
            break;
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

uint64_t fs_table_pages(const fstore_table_t *t, MDB_txn *txn)
{
    MDB_stat st;
    if (mdb_stat(txn, t->dbi, &st))
        return 0;
    return (uint64_t)st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
}

void fs_tables_free(fstore_store_t *s)
{
    for (size_t i = 0; i < s->ntables; i++)
        fs_table_free(s->tables[i]);
    s->ntables = 0;
}
