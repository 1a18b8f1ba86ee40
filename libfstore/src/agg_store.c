/* The local state of an aggregation (agg_store.h). */
#include <stdio.h>
#include <stdlib.h>

#include "agg_store.h"

#define FS_META_AGG 'A' /* the spec's shape: output schema and windows */

/* Sub-databases: entities by (be32 partition, key) → next change (i64),
 * written at (i64), state bytes; the index by (be32 partition, biased be64
 * next change, key) → nothing; partitions by be32 → q, changelog_next. */
struct fs_agg_store {
    fstore_store_t *s;
    const fs_agg_spec *spec;
    MDB_dbi ents, due, parts;
    fs_agg_txn *open;
    fs_agg_entity *scratch;
};

struct fs_agg_txn {
    fs_agg_store *st;
    MDB_txn *txn;
    fs_buf val;
};

/* ---- keys ---- */

static size_t fs_ent_key(uint8_t *buf, int32_t p, const void *key, size_t len)
{
    fs_store_be32(buf, (uint32_t)p);
    memcpy(buf + 4, key, len);
    return 4 + len;
}

static void fs_be64(uint8_t *b, uint64_t v)
{
    fs_store_be32(b, (uint32_t)(v >> 32));
    fs_store_be32(b + 4, (uint32_t)v);
}

static size_t fs_due_key(uint8_t *buf, int32_t p, int64_t at, const void *key,
                         size_t len)
{
    fs_store_be32(buf, (uint32_t)p);
    fs_be64(buf + 4, (uint64_t)at ^ (UINT64_C(1) << 63)); /* signed order */
    memcpy(buf + 12, key, len);
    return 12 + len;
}

/* ---- open ---- */

static char *fs_shape(const fs_agg_spec *s)
{
    char *schema = fs_agg_output_schema(s);
    fs_buf b = {0};
    int bad = !schema || fs_buf_append(&b, schema, strlen(schema));
    for (int w = 0; w < s->nwindows && !bad; w++) {
        char one[64];
        int n = snprintf(one, sizeof one, " %lld/%lld", (long long)s->windows[w].size_ms,
                         (long long)s->windows[w].hop_ms);
        bad = fs_buf_append(&b, one, (size_t)n);
    }
    bad = bad || fs_buf_append(&b, "", 1);
    free(schema);
    if (bad)
        fs_buf_free(&b);
    return bad ? NULL : (char *)b.data;
}

/* Opens the sub-databases and checks (or records) the spec's shape. */
static fstore_err_t fs_agg_init(fs_agg_store *st, char *errstr, size_t errstr_size)
{
    char *shape = fs_shape(st->spec);
    if (!shape)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
    MDB_txn *txn;
    fstore_err_t err = fs_txn_begin(st->s, 0, &txn, errstr, errstr_size);
    if (err) {
        free(shape);
        return err;
    }
    int rc = mdb_dbi_open(txn, "agg/entities", MDB_CREATE, &st->ents);
    if (!rc)
        rc = mdb_dbi_open(txn, "agg/due", MDB_CREATE, &st->due);
    if (!rc)
        rc = mdb_dbi_open(txn, "agg/partitions", MDB_CREATE, &st->parts);
    uint8_t tag = FS_META_AGG;
    MDB_val k = {1, &tag}, v;
    if (!rc && (rc = mdb_get(txn, st->s->meta, &k, &v)) == MDB_NOTFOUND) {
        v.mv_size = strlen(shape);
        v.mv_data = shape;
        rc = mdb_put(txn, st->s->meta, &k, &v, 0);
    } else if (!rc && (v.mv_size != strlen(shape) || memcmp(v.mv_data, shape, v.mv_size))) {
        fs_txn_abort(st->s, txn);
        free(shape);
        return fstore__err(errstr, errstr_size, FSTORE_ERR_SCHEMA_MISMATCH,
                           "the state in %s belongs to a spec with other "
                           "windows or features; give this spec its own "
                           "--state directory (and changelog topic)",
                           st->s->path);
    }
    free(shape);
    if (rc) {
        fs_txn_abort(st->s, txn);
        return fs_mdb_err(rc, "opening the aggregation state", errstr, errstr_size);
    }
    rc = fs_txn_commit(st->s, txn);
    return rc ? fs_mdb_err(rc, "opening the aggregation state", errstr, errstr_size)
              : FSTORE_OK;
}

fstore_err_t fs_agg_store_open(const char *dir, const fs_agg_spec *s,
                               const fstore_conf_t *conf, fs_agg_store **out,
                               char *errstr, size_t errstr_size)
{
    *out = NULL;
    fs_agg_store *st = calloc(1, sizeof *st);
    if (!st || !(st->scratch = fs_agg_entity_new(s))) {
        free(st);
        return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
    }
    st->spec = s;
    fstore_err_t err = fs_store_open(dir, conf, &st->s, errstr, errstr_size);
    if (!err && st->s->read_only)
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_READ_ONLY,
                          "aggregation state must be writable");
    if (!err)
        err = fs_agg_init(st, errstr, errstr_size);
    if (err) {
        fs_agg_store_close(st);
        return err;
    }
    *out = st;
    return FSTORE_OK;
}

void fs_agg_store_close(fs_agg_store *st)
{
    if (!st)
        return;
    fs_agg_txn_abort(st->open);
    fs_store_free(st->s);
    fs_agg_entity_free(st->scratch);
    free(st);
}

fstore_store_t *fs_agg_store_env(fs_agg_store *st) { return st->s; }

/* ---- transactions ---- */

fstore_err_t fs_agg_txn_begin(fs_agg_store *st, fs_agg_txn **out, char *errstr,
                              size_t errstr_size)
{
    *out = NULL;
    if (st->open)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_STATE,
                           "an aggregation state transaction is open");
    fs_agg_txn *tx = calloc(1, sizeof *tx);
    if (!tx)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
    fstore_err_t err = fs_txn_begin(st->s, 0, &tx->txn, errstr, errstr_size);
    if (err) {
        free(tx);
        return err;
    }
    tx->st = st;
    st->open = tx;
    *out = tx;
    return FSTORE_OK;
}

static void fs_txn_done(fs_agg_txn *tx)
{
    tx->st->open = NULL;
    fs_buf_free(&tx->val);
    free(tx);
}

fstore_err_t fs_agg_txn_commit(fs_agg_txn *tx, char *errstr, size_t errstr_size)
{
    int rc = fs_txn_commit(tx->st->s, tx->txn);
    fs_txn_done(tx);
    return rc ? fs_mdb_err(rc, "committing the aggregation state", errstr, errstr_size)
              : FSTORE_OK;
}

void fs_agg_txn_abort(fs_agg_txn *tx)
{
    if (!tx)
        return;
    fs_txn_abort(tx->st->s, tx->txn);
    fs_txn_done(tx);
}

/* ---- partitions ---- */

fstore_err_t fs_agg_txn_part(fs_agg_txn *tx, int32_t p, fs_agg_part *out)
{
    uint8_t kb[4];
    fs_store_be32(kb, (uint32_t)p);
    MDB_val k = {4, kb}, v;
    out->q = INT64_MIN;
    out->changelog_next = 0;
    int rc = mdb_get(tx->txn, tx->st->parts, &k, &v);
    if (rc == MDB_NOTFOUND)
        return FSTORE_NOT_FOUND;
    if (rc)
        return fs_mdb_err(rc, "reading a partition's state", NULL, 0);
    if (v.mv_size != 16)
        return FSTORE_ERR_CORRUPT;
    out->q = (int64_t)fs_load_u64(v.mv_data);
    out->changelog_next = (int64_t)fs_load_u64((uint8_t *)v.mv_data + 8);
    return FSTORE_OK;
}

fstore_err_t fs_agg_txn_part_put(fs_agg_txn *tx, int32_t p, const fs_agg_part *in)
{
    uint8_t kb[4], vb[16];
    fs_store_be32(kb, (uint32_t)p);
    fs_store_u64(vb, (uint64_t)in->q);
    fs_store_u64(vb + 8, (uint64_t)in->changelog_next);
    MDB_val k = {4, kb}, v = {16, vb};
    int rc = mdb_put(tx->txn, tx->st->parts, &k, &v, 0);
    return rc ? fs_mdb_err(rc, "writing a partition's state", NULL, 0) : FSTORE_OK;
}

/* ---- entities ---- */

static fstore_err_t fs_key_ok(size_t len, char *errstr, size_t errstr_size)
{
    return len && len <= FS_AGG_MAX_KEY
               ? FSTORE_OK
               : fstore__err(errstr, errstr_size, FSTORE_ERR_KEY,
                             "an entity key of %zu bytes: aggregation keys "
                             "hold 1 to %d bytes",
                             len, FS_AGG_MAX_KEY);
}

fstore_err_t fs_agg_txn_get(fs_agg_txn *tx, int32_t p, const void *key,
                            size_t len, fs_agg_entity *e, char *errstr,
                            size_t errstr_size)
{
    fstore_err_t err = fs_key_ok(len, errstr, errstr_size);
    if (err)
        return err;
    uint8_t kb[4 + FS_AGG_MAX_KEY];
    MDB_val k = {fs_ent_key(kb, p, key, len), kb}, v;
    int rc = mdb_get(tx->txn, tx->st->ents, &k, &v);
    if (rc == MDB_NOTFOUND) {
        fs_agg_entity_clear(e, tx->st->spec);
        return FSTORE_NOT_FOUND;
    }
    if (rc)
        return fs_mdb_err(rc, "reading an entity's state", errstr, errstr_size);
    if (v.mv_size < 16)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_CORRUPT,
                           "an entity's stored state is cut short");
    return fs_agg_state_read(e, tx->st->spec, (uint8_t *)v.mv_data + 16,
                             v.mv_size - 16, errstr, errstr_size);
}

/* Deletes the entity and its index entry, if it exists. */
static int fs_ent_del(fs_agg_txn *tx, int32_t p, const void *key, size_t len)
{
    uint8_t kb[4 + FS_AGG_MAX_KEY], db[12 + FS_AGG_MAX_KEY];
    MDB_val k = {fs_ent_key(kb, p, key, len), kb}, v;
    int rc = mdb_get(tx->txn, tx->st->ents, &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc || v.mv_size < 16)
        return rc ? rc : MDB_CORRUPTED;
    int64_t at = (int64_t)fs_load_u64(v.mv_data);
    if (at != INT64_MAX) {
        MDB_val dk = {fs_due_key(db, p, at, key, len), db};
        rc = mdb_del(tx->txn, tx->st->due, &dk, NULL);
        if (rc && rc != MDB_NOTFOUND)
            return rc;
    }
    return mdb_del(tx->txn, tx->st->ents, &k, NULL);
}

/* Writes the entity's value (next change, written at, state) from tx->val
 * and indexes it. */
static int fs_ent_put(fs_agg_txn *tx, int32_t p, const void *key, size_t len,
                      int64_t at)
{
    int rc = fs_ent_del(tx, p, key, len);
    if (rc)
        return rc;
    uint8_t kb[4 + FS_AGG_MAX_KEY], db[12 + FS_AGG_MAX_KEY];
    MDB_val k = {fs_ent_key(kb, p, key, len), kb}, v = {tx->val.len, tx->val.data};
    rc = mdb_put(tx->txn, tx->st->ents, &k, &v, 0);
    if (!rc && at != INT64_MAX) {
        MDB_val dk = {fs_due_key(db, p, at, key, len), db}, dv = {0, NULL};
        rc = mdb_put(tx->txn, tx->st->due, &dk, &dv, 0);
    }
    return rc;
}

fstore_err_t fs_agg_txn_put(fs_agg_txn *tx, int32_t p, const void *key,
                            size_t len, const fs_agg_entity *e, int64_t q,
                            char *errstr, size_t errstr_size)
{
    fstore_err_t err = fs_key_ok(len, errstr, errstr_size);
    if (err)
        return err;
    int rc;
    if (!e) {
        rc = fs_ent_del(tx, p, key, len);
    } else {
        uint8_t head[16];
        int64_t at = fs_agg_next_change(e, tx->st->spec, q);
        fs_store_u64(head, (uint64_t)at);
        fs_store_u64(head + 8, (uint64_t)q);
        tx->val.len = 0;
        if (fs_buf_append(&tx->val, head, 16) ||
            fs_agg_state_write(e, tx->st->spec, q, &tx->val))
            return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
        rc = fs_ent_put(tx, p, key, len, at);
    }
    return rc ? fs_mdb_err(rc, "writing an entity's state", errstr, errstr_size)
              : FSTORE_OK;
}

const void *fs_agg_txn_put_state(const fs_agg_txn *tx, size_t *n)
{
    /* The stored value: when it next changes (8 bytes), then the changelog
     * value. */
    *n = tx->val.len - 8;
    return tx->val.data + 8;
}

fstore_err_t fs_agg_txn_put_bytes(fs_agg_txn *tx, int32_t p, const void *key,
                                  size_t len, const void *data, size_t n,
                                  char *errstr, size_t errstr_size)
{
    if (!data)
        return fs_agg_txn_put(tx, p, key, len, NULL, 0, errstr, errstr_size);
    if (n < 8)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_CORRUPT,
                           "a changelog record of %zu bytes is cut short", n);
    fs_agg_entity *e = tx->st->scratch;
    fstore_err_t err = fs_agg_state_read(e, tx->st->spec, (const uint8_t *)data + 8,
                                         n - 8, errstr, errstr_size);
    if (err)
        return err;
    return fs_agg_txn_put(tx, p, key, len, e, (int64_t)fs_load_u64(data), errstr,
                          errstr_size);
}

int fs_agg_txn_due(fs_agg_txn *tx, int32_t p, int64_t q, fs_agg_due_fn *fn,
                   void *arg)
{
    uint8_t first[12], keycopy[FS_AGG_MAX_KEY], prev[FS_AGG_MAX_KEY];
    int64_t prev_at = 0;
    size_t prev_len = SIZE_MAX;
    for (;;) {
        /* Seek afresh each time: fn may change the index under us. */
        MDB_cursor *cur;
        int rc = mdb_cursor_open(tx->txn, tx->st->due, &cur);
        if (rc)
            return rc;
        MDB_val k = {fs_due_key(first, p, INT64_MIN, "", 0), first}, v;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        int stop = rc != 0 || k.mv_size < 12 || fs_load_be32(k.mv_data) != (uint32_t)p;
        int64_t at = 0;
        size_t len = 0;
        if (!stop) {
            const uint8_t *kp = k.mv_data;
            at = (int64_t)(((uint64_t)fs_load_be32(kp + 4) << 32 | fs_load_be32(kp + 8)) ^
                           (UINT64_C(1) << 63));
            len = k.mv_size - 12;
            stop = at > q || len > FS_AGG_MAX_KEY;
            if (!stop)
                memcpy(keycopy, kp + 12, len);
        }
        mdb_cursor_close(cur);
        if (rc && rc != MDB_NOTFOUND)
            return rc;
        if (stop)
            return 0;
        /* fn must move or delete the entity it is given, or this would
         * never end. */
        if (at == prev_at && len == prev_len && !memcmp(prev, keycopy, len))
            return -1;
        prev_at = at;
        prev_len = len;
        memcpy(prev, keycopy, len);
        int r = fn(arg, keycopy, len);
        if (r)
            return r;
    }
}

/* Deletes every key of dbi that starts with the 4-byte partition prefix. */
static int fs_drop_prefix(MDB_txn *txn, MDB_dbi dbi, int32_t p)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc)
        return rc;
    uint8_t pb[4];
    fs_store_be32(pb, (uint32_t)p);
    MDB_val k = {4, pb}, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < 4 || memcmp(k.mv_data, pb, 4))
            break;
        if ((rc = mdb_cursor_del(cur, 0)))
            break;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

fstore_err_t fs_agg_txn_drop(fs_agg_txn *tx, int32_t p, char *errstr,
                             size_t errstr_size)
{
    int rc = fs_drop_prefix(tx->txn, tx->st->ents, p);
    if (!rc)
        rc = fs_drop_prefix(tx->txn, tx->st->due, p);
    if (!rc)
        rc = fs_drop_prefix(tx->txn, tx->st->parts, p);
    return rc ? fs_mdb_err(rc, "dropping a partition's state", errstr, errstr_size)
              : FSTORE_OK;
}

uint64_t fs_agg_txn_count(fs_agg_txn *tx, int32_t p)
{
    if (p < 0) {
        MDB_stat stat;
        return mdb_stat(tx->txn, tx->st->ents, &stat) ? 0 : stat.ms_entries;
    }
    MDB_cursor *cur;
    if (mdb_cursor_open(tx->txn, tx->st->ents, &cur))
        return 0;
    uint8_t pb[4];
    fs_store_be32(pb, (uint32_t)p);
    MDB_val k = {4, pb}, v;
    uint64_t n = 0;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
         rc == 0 && k.mv_size >= 4 && !memcmp(k.mv_data, pb, 4);
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        n++;
    mdb_cursor_close(cur);
    return n;
}
