/*
 * Verification of a whole store, as a reader: every row of every table
 * checked against its header, its table's layout, its checksum, its key and
 * the stored offset of its partition; every metadata entry; LMDB's key order
 * and its page accounting. Each damage found is named in a JSON report
 * (docs/cli.md, `fstore verify`). Knows nothing of Kafka.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tables.h"

/* The report lists this many damages; it counts every one. */
#define FS_V_LIST_MAX 1000
/* A check keeps one snapshot at most this long, so that a writer can reuse
 * the pages it frees meanwhile instead of growing the file. */
#define FS_V_SNAPSHOT_US 500000
/* Progress is reported every this many rows. */
#define FS_V_PROGRESS_ROWS 4096
/* Keys are shown up to this many bytes. */
#define FS_V_KEY_SHOWN 200
/* LMDB's two meta pages come before every other page of the file. */
#define FS_V_META_PAGES 2
/* LMDB's own databases, always open: the free list, and the main database
 * that records the named ones (store.c reads the free list the same way).
 * Opening them by name would race with other threads' transactions. */
#define FS_V_FREE_DBI 0
#define FS_V_MAIN_DBI 1

typedef struct fs_voff {
    int32_t part;
    int64_t off;    /* the stored offset; -1 none */
    int64_t fp_off; /* the offset of the fingerprinted record; -1 none */
} fs_voff;

/* A table under check and its stored offsets, sorted by partition. */
typedef struct fs_vtab {
    const fstore_table_t *t;
    fs_voff *offs;
    size_t noffs, cap;
    uint64_t rows, damaged;
} fs_vtab;

typedef struct fs_verify {
    fstore_store_t *s;
    MDB_txn *txn;   /* the snapshot read now */
    int64_t txn_us; /* when it began */
    fs_vtab *tabs;
    size_t ntabs;
    json_t *damage; /* the listed damages */
    json_t *lmdb;   /* page accounting */
    uint64_t ndamage, rows, rows_total, damaged_rows, nstored, ndbs;
    fstore_verify_cb *cb;
    void *opaque;
    int stopped;
} fs_verify;

/* One row under check; its key is shown only once a damage needs it. */
typedef struct fs_vrow {
    fs_verify *v;
    fs_vtab *vt;
    const MDB_val *k;
    const uint8_t *p;
    size_t n;
    uint32_t body;
    int damaged;
    fs_buf shown;
} fs_vrow;

static int64_t fs_v_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- showing keys ---- */

/* The length of the UTF-8 sequence at p (of n bytes) when it is valid and
 * printable (U+00A0 or above), else 0. */
static size_t fs_v_utf8(const uint8_t *p, size_t n)
{
    size_t len = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
    if (!len || len > n || p[0] > 0xf4)
        return 0;
    uint32_t cp = p[0] & (0x3f >> (len - 1));
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    static const uint32_t least[] = {0, 0, 0xa0, 0x800, 0x10000};
    if (cp < least[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* Appends the n bytes at p as printable text: printable ASCII and UTF-8 as
 * they are, quotes and backslashes escaped, other bytes as \xNN; at most
 * FS_V_KEY_SHOWN bytes, then how many there are. NUL-terminated. */
static void fs_v_show(fs_buf *b, const uint8_t *p, size_t n)
{
    size_t shown = n > FS_V_KEY_SHOWN ? FS_V_KEY_SHOWN : n;
    char esc[40];
    for (size_t i = 0; i < shown;) {
        uint8_t c = p[i];
        size_t u = c >= 0x80 ? fs_v_utf8(p + i, shown - i) : 0;
        if (u) {
            fs_buf_append(b, p + i, u);
            i += u;
            continue;
        }
        if (c == '"' || c == '\\')
            snprintf(esc, sizeof esc, "\\%c", c);
        else if (c == '\n' || c == '\t' || c == '\r')
            snprintf(esc, sizeof esc, "\\%c",
                     c == '\n'   ? 'n'
                     : c == '\t' ? 't'
                                 : 'r');
        else if (c < 0x20 || c >= 0x7f)
            snprintf(esc, sizeof esc, "\\x%02x", c);
        else
            snprintf(esc, sizeof esc, "%c", c);
        fs_buf_append(b, esc, strlen(esc));
        i++;
    }
    if (shown < n) {
        snprintf(esc, sizeof esc, "...(%zu bytes)", n);
        fs_buf_append(b, esc, strlen(esc));
    }
    fs_buf_append(b, "", 1);
}

/* ---- recording damage ---- */

static void fs_v_vdamage(fs_verify *v, const char *table, const char *key,
                         const char *kind, const char *expected,
                         const char *found, const char *fmt, va_list ap)
    FS_PRINTF(7, 0);
static void fs_v_vdamage(fs_verify *v, const char *table, const char *key,
                         const char *kind, const char *expected,
                         const char *found, const char *fmt, va_list ap)
{
    v->ndamage++;
    if (json_array_size(v->damage) >= FS_V_LIST_MAX)
        return;
    char what[512];
    vsnprintf(what, sizeof what, fmt, ap);
    json_t *d = json_pack("{s:s, s:s, s:s, s:s}", "kind", kind, "what", what,
                          "expected", expected, "found", found);
    if (d && table)
        json_object_set_new(d, "table", json_string(table));
    if (d && key)
        json_object_set_new(d, "key", json_string(key));
    json_array_append_new(v->damage, d);
}

/* A damage outside any row: metadata, LMDB. key is raw bytes (or NULL). */
static void fs_v_damage(fs_verify *v, const char *table, const MDB_val *key,
                        const char *kind, const char *expected,
                        const char *found, const char *fmt, ...)
    FS_PRINTF(7, 8);
static void fs_v_damage(fs_verify *v, const char *table, const MDB_val *key,
                        const char *kind, const char *expected,
                        const char *found, const char *fmt, ...)
{
    fs_buf shown = {0};
    if (key)
        fs_v_show(&shown, key->mv_data, key->mv_size);
    va_list ap;
    va_start(ap, fmt);
    fs_v_vdamage(v, table, shown.data ? (const char *)shown.data : NULL, kind,
                 expected, found, fmt, ap);
    va_end(ap);
    fs_buf_free(&shown);
}

/* The row's key as shown: the full key kept after the body of a row stored
 * under a digest key, when the header can say where it is. */
static const char *fs_vrow_key(fs_vrow *r)
{
    if (r->shown.data)
        return (const char *)r->shown.data;
    const uint8_t *k = r->k->mv_data;
    size_t kn = r->k->mv_size;
    if (kn == FS_KEY_HASHED && fs_row_sane(r->p, r->n) &&
        (r->p[FS_H_FLAGS] & FS_ROW_F_FULLKEY)) {
        size_t at = FS_ROW_HDR + fs_row_body_size(r->p);
        if (r->n > at) {
            k = r->p + at;
            kn = r->n - at;
        }
    }
    fs_v_show(&r->shown, k, kn);
    return r->shown.data ? (const char *)r->shown.data : "?";
}

static void fs_vrow_damage(fs_vrow *r, const char *kind, const char *expected,
                           const char *found, const char *fmt, ...)
    FS_PRINTF(5, 6);
static void fs_vrow_damage(fs_vrow *r, const char *kind, const char *expected,
                           const char *found, const char *fmt, ...)
{
    r->damaged = 1;
    va_list ap;
    va_start(ap, fmt);
    fs_v_vdamage(r->v, r->vt->t->name, fs_vrow_key(r), kind, expected, found,
                 fmt, ap);
    va_end(ap);
}

/* ---- stored offsets ---- */

static fs_vtab *fs_vtab_find(fs_verify *v, const char *name, size_t len)
{
    for (size_t i = 0; i < v->ntabs; i++)
        if (strlen(v->tabs[i].t->name) == len &&
            !memcmp(v->tabs[i].t->name, name, len))
            return &v->tabs[i];
    return NULL;
}

static int fs_voff_cmp(const void *a, const void *b)
{
    const fs_voff *x = a, *y = b;
    return x->part < y->part ? -1 : x->part > y->part;
}

static fs_voff *fs_voff_find(fs_vtab *vt, int32_t part)
{
    fs_voff key = {part, -1, -1};
    return vt->noffs
               ? bsearch(&key, vt->offs, vt->noffs, sizeof key, fs_voff_cmp)
               : NULL;
}

/* The entry of partition part of vt, made (with nothing stored) when new,
 * keeping the list sorted; NULL when out of memory. */
static fs_voff *fs_voff_get(fs_vtab *vt, int32_t part)
{
    fs_voff *o = fs_voff_find(vt, part);
    if (o)
        return o;
    if (vt->noffs == vt->cap) {
        size_t cap = vt->cap ? vt->cap * 2 : 16;
        fs_voff *n = realloc(vt->offs, cap * sizeof *n);
        if (!n)
            return NULL;
        vt->offs = n;
        vt->cap = cap;
    }
    size_t i = vt->noffs;
    while (i > 0 && vt->offs[i - 1].part > part)
        i--;
    memmove(vt->offs + i + 1, vt->offs + i, (vt->noffs - i) * sizeof *vt->offs);
    vt->offs[i] = (fs_voff){part, -1, -1};
    vt->noffs++;
    return &vt->offs[i];
}

/* The stored offset of (vt, part) in the current snapshot: the list was
 * read from an earlier one, and offsets only move forward. 1 when found. */
static int fs_voff_now(fs_verify *v, fs_vtab *vt, int32_t part, int64_t *off)
{
    uint8_t kb[300];
    MDB_val k = {fs_offset_key(vt->t, part, kb, sizeof kb), kb}, d;
    if (!k.mv_size || mdb_get(v->txn, v->s->meta, &k, &d) || d.mv_size != 8)
        return 0;
    *off = (int64_t)fs_load_u64(d.mv_data);
    fs_voff *o = fs_voff_get(vt, part);
    if (o)
        o->off = *off;
    return 1;
}

/* ---- one row ---- */

/* Checks the header fields every reader relies on. 0 when it is sound. */
static int fs_vrow_header(fs_vrow *r)
{
    char e[96], f[64];
    if (r->n < FS_ROW_HDR) {
        snprintf(f, sizeof f, "%zu bytes", r->n);
        fs_vrow_damage(r, "row_header", "at least 40 bytes", f, "row size");
        return -1;
    }
    const uint8_t *p = r->p;
    if (p[FS_H_VERSION] != FS_ROW_VERSION) {
        snprintf(e, sizeof e, "%d", FS_ROW_VERSION);
        snprintf(f, sizeof f, "%u", p[FS_H_VERSION]);
        fs_vrow_damage(r, "row_header", e, f, "row format version");
    }
    uint16_t hs;
    memcpy(&hs, p + FS_H_HDRSIZE, 2);
    if (hs != FS_ROW_HDR) {
        snprintf(f, sizeof f, "%u", hs);
        fs_vrow_damage(r, "row_header", "40", f, "header size");
    }
    if (p[FS_H_FLAGS] & ~FS_ROW_F_FULLKEY) {
        snprintf(f, sizeof f, "0x%02x", p[FS_H_FLAGS]);
        fs_vrow_damage(r, "row_header", "0x00 or 0x01", f, "flags");
    }
    r->body = fs_row_body_size(p);
    if (r->body > r->n - FS_ROW_HDR) {
        snprintf(e, sizeof e,
                 "at most %zu (the row's %zu bytes less the header)",
                 r->n - FS_ROW_HDR, r->n);
        snprintf(f, sizeof f, "%u", r->body);
        fs_vrow_damage(r, "row_header", e, f, "body size");
    }
    return r->damaged ? -1 : 0;
}

static void fs_v_hex(char *out, size_t size, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n && 2 * i + 2 < size; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
}

/* The LMDB key against the row: keys of 480 bytes or more are stored under
 * their digest, with the full key after the body. */
static void fs_vrow_key_check(fs_vrow *r)
{
    size_t kn = r->k->mv_size, tail = r->n - FS_ROW_HDR - r->body;
    char e[160], f[160];
    if (kn == 0)
        fs_vrow_damage(r, "row_key", "a key of 1 byte or more", "an empty key",
                       "key");
    if (!(r->p[FS_H_FLAGS] & FS_ROW_F_FULLKEY)) {
        if (kn >= FS_KEY_HASHED) {
            snprintf(f, sizeof f, "a %zu-byte key without it", kn);
            fs_vrow_damage(r, "row_key", "the full-key flag (0x01)", f,
                           "full-key flag");
        }
        if (tail) {
            snprintf(e, sizeof e, "%zu (header and body)", r->n - tail);
            snprintf(f, sizeof f, "%zu", r->n);
            fs_vrow_damage(r, "row_header", e, f, "row size");
        }
        return;
    }
    if (kn != FS_KEY_HASHED || tail < FS_KEY_HASHED) {
        snprintf(f, sizeof f, "a %zu-byte key, %zu bytes after the body", kn,
                 tail);
        fs_vrow_damage(r, "row_key",
                       "a 480-byte digest key, a full key of 480 bytes or "
                       "more after the body",
                       f, "full key");
        return;
    }
    uint8_t buf[FS_KEY_HASHED];
    MDB_val mk;
    fs_key_make(r->p + FS_ROW_HDR + r->body, tail, buf, &mk);
    if (memcmp(mk.mv_data, r->k->mv_data, FS_KEY_HASHED) != 0) {
        char want[40] = "", got[40] = "";
        fs_v_hex(want, sizeof want,
                 (const uint8_t *)r->k->mv_data + FS_KEY_PREFIX, 16);
        fs_v_hex(got, sizeof got, buf + FS_KEY_PREFIX, 16);
        snprintf(e, sizeof e, "%s (the stored digest key)", want);
        snprintf(f, sizeof f, "%s (of the full key after the body)", got);
        fs_vrow_damage(r, "row_key", e, f, "full key digest");
    }
}

static void fs_vrow_checksum(fs_vrow *r)
{
    uint64_t want = fs_load_u64(r->p + FS_H_CSUM);
    uint64_t got = fs_row_hash(r->p + FS_ROW_HDR, r->body);
    if (want == got)
        return;
    char e[64], f[64];
    snprintf(e, sizeof e, "0x%016llx (stored in the header)",
             (unsigned long long)want);
    snprintf(f, sizeof f, "0x%016llx (XXH3-64 of the body)",
             (unsigned long long)got);
    fs_vrow_damage(r, "row_checksum", e, f, "body checksum");
}

/* Names what is wrong with column c of a row that does not fit. */
static void fs_vrow_column(fs_vrow *r, const fs_col *c)
{
    const uint8_t *slot = r->p + FS_ROW_HDR + c->slot;
    char e[160], f[96];
    if (c->type == FSTORE_TYPE_ENUM) {
        snprintf(e, sizeof e, "a symbol index in [0, %d)", c->nsyms);
        snprintf(f, sizeof f, "%d", (int32_t)fs_load_u32(slot));
    } else {
        uint32_t off = fs_load_u32(slot), count = fs_load_u32(slot + 4);
        if (c->type == FSTORE_TYPE_FIXED)
            snprintf(e, sizeof e, "%d bytes inside the %u-byte body",
                     c->fixed_size, r->body);
        else if (c->elem)
            snprintf(e, sizeof e,
                     "%u-byte elements at a multiple of %u, inside the "
                     "%u-byte body",
                     c->elem, c->elem, r->body);
        else if (c->type == FSTORE_TYPE_STRING)
            snprintf(e, sizeof e,
                     "a string inside the %u-byte body, then a NUL", r->body);
        else
            snprintf(e, sizeof e, "bytes inside the %u-byte body", r->body);
        snprintf(f, sizeof f, "%u %s at offset %u", count,
                 c->elem ? "elements" : "bytes", off);
    }
    fs_vrow_damage(r, "row_layout", e, f, "column \"%s\"", c->name);
}

/* The row against its table's layout (fs_row_fits); when it does not fit,
 * the first column that does not, found by checking ever longer prefixes
 * of the columns with the same function. */
static void fs_vrow_layout(fs_vrow *r)
{
    const fs_layout *L = r->vt->t->L;
    if (fs_row_fits(L, r->p, r->n))
        return;
    char e[96], f[32];
    if (r->body < L->var_start) {
        snprintf(e, sizeof e,
                 "at least %u (the null bitmap and slots of %d columns)",
                 L->var_start, L->ncols);
        snprintf(f, sizeof f, "%u", r->body);
        fs_vrow_damage(r, "row_layout", e, f, "body size");
        return;
    }
    fs_layout pre = *L;
    for (pre.ncols = 1; pre.ncols <= L->ncols; pre.ncols++) {
        if (!fs_row_fits(&pre, r->p, r->n)) {
            fs_vrow_column(r, &L->cols[pre.ncols - 1]);
            return;
        }
    }
    fs_vrow_damage(r, "row_layout", "a row of the table's layout",
                   "one that does not fit", "layout");
}

/* The row's origin against the stored offset of its partition: a row is
 * written in the same transaction as an offset at least its own. */
static void fs_vrow_offset(fs_vrow *r)
{
    int32_t part = (int32_t)fs_load_u32(r->p + FS_H_PART);
    int64_t off = (int64_t)fs_load_u64(r->p + FS_H_OFFSET), stored = 0;
    char e[96], f[64];
    if (part < 0 || off < 0) {
        snprintf(f, sizeof f, "partition %d, offset %lld", part,
                 (long long)off);
        fs_vrow_damage(r, "row_offset",
                       "a partition and an offset of 0 or more", f, "origin");
        return;
    }
    fs_voff *o = fs_voff_find(r->vt, part);
    int have = o && o->off >= 0;
    if (have)
        stored = o->off;
    if (!have || off > stored)
        have = fs_voff_now(r->v, r->vt, part, &stored);
    if (!have) {
        snprintf(e, sizeof e, "an offset stored for partition %d, the row's",
                 part);
        fs_vrow_damage(r, "row_offset", e, "none", "stored offset");
    } else if (off > stored) {
        snprintf(e, sizeof e,
                 "at most %lld (the stored offset of partition %d)",
                 (long long)stored, part);
        snprintf(f, sizeof f, "%lld", (long long)off);
        fs_vrow_damage(r, "row_offset", e, f, "row offset");
    }
}

static void fs_vrow_check(fs_verify *v, fs_vtab *vt, const MDB_val *k,
                          const MDB_val *d)
{
    fs_vrow r = {.v = v, .vt = vt, .k = k, .p = d->mv_data, .n = d->mv_size};
    if (fs_vrow_header(&r) == 0) {
        fs_vrow_key_check(&r);
        fs_vrow_checksum(&r);
        fs_vrow_layout(&r);
        fs_vrow_offset(&r);
    }
    vt->rows++;
    v->rows++;
    if (r.damaged) {
        vt->damaged++;
        v->damaged_rows++;
    }
    fs_buf_free(&r.shown);
}

/* ---- snapshots and walks ---- */

static fstore_err_t fs_v_begin(fs_verify *v, char *errstr, size_t errstr_size)
{
    fstore_err_t err =
        fs_txn_begin(v->s, MDB_RDONLY, &v->txn, errstr, errstr_size);
    if (err)
        v->txn = NULL;
    v->txn_us = fs_v_now_us();
    return err;
}

static void fs_v_end(fs_verify *v)
{
    if (v->txn)
        fs_txn_abort(v->s, v->txn);
    v->txn = NULL;
}

static int fs_v_progress(fs_verify *v)
{
    if (v->cb && !v->stopped && v->cb(v->opaque, v->rows, v->rows_total))
        v->stopped = 1;
    return v->stopped;
}

/* Walks the sub-database dbi in key order: fn gets every entry; the order
 * LMDB keeps is checked with its own comparison. With renew, the snapshot
 * is renewed every FS_V_SNAPSHOT_US, the walk resuming after the last key.
 * @return 0, or a storage error that ends the check (message in errstr). */
typedef void (*fs_v_fn)(fs_verify *v, void *arg, const MDB_val *k,
                        const MDB_val *d);
static fstore_err_t fs_v_walk(fs_verify *v, MDB_dbi dbi, const char *table,
                              const char *what, int renew, fs_v_fn fn,
                              void *arg, char *errstr, size_t errstr_size)
{
    uint8_t last[512];
    MDB_val lk = {0, last}, k, d;
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(v->txn, dbi, &cur);
    MDB_cursor_op op = MDB_FIRST;
    while (!rc && !v->stopped) {
        rc = mdb_cursor_get(cur, &k, &d, op);
        op = MDB_NEXT;
        if (rc)
            break;
        if (lk.mv_size && mdb_cmp(v->txn, dbi, &lk, &k) >= 0) {
            fs_buf prev = {0};
            fs_v_show(&prev, last, lk.mv_size);
            char e[300];
            snprintf(e, sizeof e, "a key after \"%s\"",
                     prev.data ? (char *)prev.data : "");
            fs_buf_free(&prev);
            fs_v_damage(v, table, &k, "key_order", e,
                        "a key that sorts before it, or the same key",
                        "key order of the %s", what);
        }
        fn(v, arg, &k, &d);
        lk.mv_size = k.mv_size < sizeof last ? k.mv_size : sizeof last;
        memcpy(last, k.mv_data, lk.mv_size);
        if (!renew || v->rows % FS_V_PROGRESS_ROWS || fs_v_progress(v) ||
            fs_v_now_us() - v->txn_us < FS_V_SNAPSHOT_US)
            continue;
        mdb_cursor_close(cur);
        cur = NULL;
        fs_v_end(v);
        fstore_err_t err = fs_v_begin(v, errstr, errstr_size);
        if (err)
            return err;
        if ((rc = mdb_cursor_open(v->txn, dbi, &cur)))
            break;
        k = lk;
        rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
        op = rc == 0 && mdb_cmp(v->txn, dbi, &k, &lk) == 0 ? MDB_NEXT
                                                           : MDB_GET_CURRENT;
        if (rc == MDB_NOTFOUND)
            break;
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND) {
        /* The walk cannot go past a page LMDB refuses. */
        fs_v_damage(v, table, lk.mv_size ? &lk : NULL, "lmdb",
                    "entries LMDB can read", mdb_strerror(rc),
                    "%s, after the key shown", what);
    }
    return FSTORE_OK;
}

/* ---- metadata ---- */

static void fs_vmeta_version(fs_verify *v, const MDB_val *k, const MDB_val *d)
{
    char e[16], f[64];
    snprintf(e, sizeof e, "%d", FS_STORE_VERSION);
    if (d->mv_size == 4 && fs_load_u32(d->mv_data) == FS_STORE_VERSION)
        return;
    if (d->mv_size == 4)
        snprintf(f, sizeof f, "%u", fs_load_u32(d->mv_data));
    else
        snprintf(f, sizeof f, "a %zu-byte value", d->mv_size);
    fs_v_damage(v, NULL, k, "metadata", e, f, "store format version");
}

static void fs_vmeta_table(fs_verify *v, const MDB_val *k, const MDB_val *d)
{
    const char *name = (const char *)k->mv_data + 1;
    size_t len = k->mv_size - 1;
    fs_layout *L = NULL;
    char err[256] = "";
    if (fs_table_def_layout(d->mv_data, d->mv_size, &L, err, sizeof err))
        fs_v_damage(v, NULL, k, "metadata", "JSON naming the serving schema",
                    err, "table definition");
    else if (!fs_vtab_find(v, name, len))
        fs_v_damage(v, NULL, k, "metadata", "a table this handle opened",
                    "none", "table definition");
    fs_layout_free(L);
}

static void fs_vmeta_schema(fs_verify *v, const MDB_val *k, const MDB_val *d)
{
    json_error_t jerr;
    json_t *j =
        k->mv_size == 5 ? json_loadb(d->mv_data, d->mv_size, 0, &jerr) : NULL;
    if (k->mv_size != 5)
        fs_v_damage(v, NULL, k, "metadata", "S and a 4-byte schema id",
                    "another key", "writer schema");
    else if (!j)
        fs_v_damage(v, NULL, k, "metadata", "schema JSON", jerr.text,
                    "writer schema %u",
                    fs_load_be32((const uint8_t *)k->mv_data + 1));
    json_decref(j);
}

/* A stored offset (O) or the fingerprint of the record at it (F): tag,
 * the name of an existing table, NUL, a partition of 0 or more; an offset
 * of 0 or more (F: the fingerprinted record's, then 8 bytes of hash). */
static void fs_vmeta_offset(fs_verify *v, const MDB_val *k, const MDB_val *d)
{
    const uint8_t *p = k->mv_data;
    size_t n = k->mv_size, size = p[0] == FS_META_OFFSET ? 8 : 16;
    const char *what = p[0] == FS_META_OFFSET ? "stored offset" : "fingerprint";
    if (n < 7 || p[n - 5] != 0 || memchr(p + 1, 0, n - 6)) {
        fs_v_damage(v, NULL, k, "metadata",
                    p[0] == FS_META_OFFSET
                        ? "O, a table name, NUL, a 4-byte partition"
                        : "F, a table name, NUL, a 4-byte partition",
                    "another key", "%s", what);
        return;
    }
    int32_t part = (int32_t)fs_load_be32(p + n - 4);
    char e[32], f[64];
    fs_vtab *vt = fs_vtab_find(v, (const char *)p + 1, n - 6);
    const char *table = vt ? vt->t->name : NULL;
    if (d->mv_size != size) {
        snprintf(e, sizeof e, "%zu bytes", size);
        snprintf(f, sizeof f, "%zu bytes", d->mv_size);
        fs_v_damage(v, table, k, "metadata", e, f, "%s of partition %d", what,
                    part);
        return;
    }
    int64_t off = (int64_t)fs_load_u64(d->mv_data);
    fs_voff *o = NULL;
    if (!vt)
        fs_v_damage(v, NULL, k, "metadata", "a table of that name",
                    "no such table", "%s of partition %d", what, part);
    else if (part < 0 || off < 0) {
        snprintf(f, sizeof f, "partition %d, offset %lld", part,
                 (long long)off);
        fs_v_damage(v, table, k, "metadata",
                    "a partition and an offset of 0 or more", f, "%s", what);
    } else if (!(o = fs_voff_get(vt, part)))
        v->stopped = -1; /* out of memory */
    else if (size == 8)
        o->off = off;
    else
        o->fp_off = off;
    v->nstored += size == 8;
}

/* A fingerprint names a record at or before its partition's stored
 * offset (the fingerprints come first in key order: checked after). */
static void fs_vmeta_fingerprints(fs_verify *v)
{
    for (size_t i = 0; i < v->ntabs; i++) {
        for (size_t j = 0; j < v->tabs[i].noffs; j++) {
            const fs_voff *o = &v->tabs[i].offs[j];
            char e[96], f[48];
            if (o->fp_off < 0 || (o->off >= 0 && o->fp_off <= o->off))
                continue;
            if (o->off < 0)
                snprintf(e, sizeof e, "a stored offset of partition %d",
                         o->part);
            else
                snprintf(e, sizeof e,
                         "at most %lld (the stored offset of partition %d)",
                         (long long)o->off, o->part);
            snprintf(f, sizeof f, "%lld", (long long)o->fp_off);
            fs_v_damage(v, v->tabs[i].t->name, NULL, "metadata", e, f,
                        "offset of the fingerprinted record");
        }
    }
}

static void fs_vmeta_entry(fs_verify *v, void *arg, const MDB_val *k,
                           const MDB_val *d)
{
    (void)arg;
    uint8_t tag = k->mv_size ? ((const uint8_t *)k->mv_data)[0] : 0;
    json_t *j = NULL;
    if (tag == FS_META_VERSION && k->mv_size == 1)
        fs_vmeta_version(v, k, d);
    else if (tag == FS_META_TABLE && k->mv_size > 1)
        fs_vmeta_table(v, k, d);
    else if (tag == FS_META_SCHEMA)
        fs_vmeta_schema(v, k, d);
    else if (tag == FS_META_OFFSET || tag == FS_META_FPRINT)
        fs_vmeta_offset(v, k, d);
    else if (tag == FS_META_STATS && k->mv_size == 1) {
        if (!(j = json_loadb(d->mv_data, d->mv_size, 0, NULL)))
            fs_v_damage(v, NULL, k, "metadata", "statistics JSON",
                        "text that does not parse", "statistics record");
        json_decref(j);
    } else
        fs_v_damage(v, NULL, k, "metadata", "a key tagged V, T, S, O, F or X",
                    "another key", "metadata entry");
}

/* Every database the main database names is the metadata's or a table's. */
static void fs_vdb_entry(fs_verify *v, void *arg, const MDB_val *k,
                         const MDB_val *d)
{
    (void)arg;
    (void)d;
    const char *name = k->mv_data;
    v->ndbs++;
    if ((k->mv_size == 6 && !memcmp(name, "__meta", 6)) ||
        (k->mv_size > 2 && !memcmp(name, "t/", 2) &&
         fs_vtab_find(v, name + 2, k->mv_size - 2)))
        return;
    fs_v_damage(v, NULL, k, "lmdb", "__meta, or t/ and the name of a table",
                "a database no table definition names", "database");
}

static void fs_vrow_entry(fs_verify *v, void *arg, const MDB_val *k,
                          const MDB_val *d)
{
    fs_vrow_check(v, arg, k, d);
}

/* ---- LMDB's page accounting ---- */

static uint64_t fs_v_pages(const MDB_stat *st)
{
    return (uint64_t)st->ms_branch_pages + st->ms_leaf_pages +
           st->ms_overflow_pages;
}

/* Pages on LMDB's free list in txn, each record checked: a count, then
 * that many page numbers below the file's extent. */
static int fs_v_free_pages(fs_verify *v, MDB_txn *txn, uint64_t extent,
                           uint64_t *count)
{
    MDB_cursor *cur;
    MDB_val k, d;
    int rc = mdb_cursor_open(txn, 0, &cur);
    while (!rc && !(rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT))) {
        size_t n = 0, bad = 0;
        if (d.mv_size >= sizeof n)
            memcpy(&n, d.mv_data, sizeof n);
        for (size_t i = 1; d.mv_size == (n + 1) * sizeof n && i <= n; i++) {
            size_t pg;
            memcpy(&pg, (const uint8_t *)d.mv_data + i * sizeof pg, sizeof pg);
            bad += pg < FS_V_META_PAGES || pg >= extent;
        }
        if (d.mv_size != (n + 1) * sizeof n || bad) {
            char f[96];
            snprintf(f, sizeof f, "%zu bytes listing %zu pages, %zu outside",
                     d.mv_size, n, bad);
            fs_v_damage(v, NULL, NULL, "lmdb",
                        "a count, then that many pages of the file", f,
                        "free list record");
        }
        *count += n;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* The database that the main database records under name: the metadata's
 * or a table's, opened already. */
static int fs_v_named_dbi(fs_verify *v, const MDB_val *name, MDB_dbi *dbi)
{
    const char *p = name->mv_data;
    if (name->mv_size == 6 && !memcmp(p, "__meta", 6)) {
        *dbi = v->s->meta;
        return 1;
    }
    size_t n = fstore_table_count(v->s);
    for (size_t i = 0; name->mv_size > 2 && !memcmp(p, "t/", 2) && i < n; i++) {
        const fstore_table_t *t = fstore_table_at(v->s, i);
        if (strlen(t->name) == name->mv_size - 2 &&
            !memcmp(t->name, p + 2, name->mv_size - 2)) {
            *dbi = t->dbi;
            return 1;
        }
    }
    return 0;
}

/* Pages of the trees of every database in txn: the free list, the main
 * database and each named one. MDB_NOTFOUND when a named database is not
 * open in this handle (its pages cannot be counted). */
static int fs_v_tree_pages(fs_verify *v, MDB_txn *txn, uint64_t *count)
{
    MDB_stat st;
    MDB_cursor *cur = NULL;
    MDB_val k, d;
    int rc = mdb_stat(txn, FS_V_FREE_DBI, &st);
    *count = rc ? 0 : fs_v_pages(&st);
    if (!rc && !(rc = mdb_stat(txn, FS_V_MAIN_DBI, &st)))
        *count += fs_v_pages(&st);
    if (!rc)
        rc = mdb_cursor_open(txn, FS_V_MAIN_DBI, &cur);
    while (!rc && !(rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT))) {
        MDB_dbi dbi;
        if (!fs_v_named_dbi(v, &k, &dbi)) {
            mdb_cursor_close(cur);
            return MDB_NOTFOUND;
        }
        if (!(rc = mdb_stat(txn, dbi, &st)))
            *count += fs_v_pages(&st);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Every page of the file is a meta page, a page of a tree, or on the free
 * list, exactly once (what LMDB's own audit checks). The sums hold for a
 * snapshot that is the newest commit, whose extent mdb_env_info gives, so
 * the check waits for a moment when the writer is not committing. */
static void fs_v_accounting(fs_verify *v)
{
    for (int tries = 0; tries < 100; tries++) {
        MDB_txn *txn;
        MDB_envinfo info;
        MDB_stat est;
        if (fs_txn_begin(v->s, MDB_RDONLY, &txn, NULL, 0))
            break;
        mdb_env_info(v->s->env, &info);
        mdb_env_stat(v->s->env, &est);
        if (info.me_last_txnid != mdb_txn_id(txn)) {
            fs_txn_abort(v->s, txn);
            struct timespec ts = {0, 10000000};
            nanosleep(&ts, NULL);
            continue;
        }
        uint64_t extent = (uint64_t)info.me_last_pgno + 1, free = 0, trees = 0;
        int rc = fs_v_tree_pages(v, txn, &trees);
        if (!rc)
            rc = fs_v_free_pages(v, txn, extent, &free);
        fs_txn_abort(v->s, txn);
        json_object_set_new(v->lmdb, "pages", json_integer((json_int_t)extent));
        json_object_set_new(v->lmdb, "free_pages",
                            json_integer((json_int_t)free));
        json_object_set_new(v->lmdb, "page_size", json_integer(est.ms_psize));
        if (rc == MDB_NOTFOUND) {
            json_object_set_new(v->lmdb, "accounting",
                                json_string("skipped: a database this handle "
                                            "has not opened"));
            return;
        }
        if (rc) {
            fs_v_damage(v, NULL, NULL, "lmdb", "pages LMDB can read",
                        mdb_strerror(rc), "page accounting");
        } else if (FS_V_META_PAGES + trees + free != extent) {
            char e[96], f[128];
            snprintf(e, sizeof e, "%llu (the file's extent)",
                     (unsigned long long)extent);
            snprintf(f, sizeof f, "%llu (2 meta, %llu in trees, %llu free)",
                     (unsigned long long)(FS_V_META_PAGES + trees + free),
                     (unsigned long long)trees, (unsigned long long)free);
            fs_v_damage(v, NULL, NULL, "lmdb", e, f, "pages accounted for");
        }
        json_object_set_new(v->lmdb, "accounting", json_string("checked"));
        return;
    }
    json_object_set_new(v->lmdb, "accounting",
                        json_string("skipped: the writer kept committing"));
}

/* ---- the whole check ---- */

/* Loads tables defined since this handle opened, into the check's list.
 * An unreadable definition is damage (its message kept in bad), anything
 * else ends the check. */
static fstore_err_t fs_v_tables(fs_verify *v, char *bad, size_t bad_size,
                                char *errstr, size_t errstr_size)
{
    fstore_store_t *s = v->s;
    pthread_mutex_lock(&s->mu);
    fstore_err_t err = fs_tables_load(s, bad, bad_size);
    pthread_mutex_unlock(&s->mu);
    if (err && err != FSTORE_ERR_CORRUPT)
        return fstore__err(errstr, errstr_size, err, "%s", bad);
    if (!err)
        bad[0] = 0;
    free(v->tabs);
    v->ntabs = fstore_table_count(s);
    v->tabs = calloc(v->ntabs ? v->ntabs : 1, sizeof *v->tabs);
    if (!v->tabs)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY,
                           "out of memory");
    for (size_t i = 0; i < v->ntabs; i++)
        v->tabs[i].t = fstore_table_at(s, i);
    return FSTORE_OK;
}

/* Whether the check knows every table the snapshot defines: one created
 * after the tables were loaded is not. */
static int fs_v_all_known(fs_verify *v)
{
    MDB_cursor *cur;
    uint8_t tag = FS_META_TABLE;
    MDB_val k = {1, &tag}, d;
    int known = 1;
    if (mdb_cursor_open(v->txn, v->s->meta, &cur))
        return 1; /* the walk of the metadata reports it */
    for (int rc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
         !rc && known && k.mv_size > 1 && *(const uint8_t *)k.mv_data == tag;
         rc = mdb_cursor_get(cur, &k, &d, MDB_NEXT))
        known =
            fs_vtab_find(v, (const char *)k.mv_data + 1, k.mv_size - 1) != NULL;
    mdb_cursor_close(cur);
    return known;
}

/* Loads the tables and begins the first snapshot, again when a table was
 * created in between (the mutex that loading takes must never be waited
 * for inside a transaction). */
static fstore_err_t fs_v_start(fs_verify *v, char *errstr, size_t errstr_size)
{
    char bad[512] = "";
    for (int tries = 0;; tries++) {
        fstore_err_t err = fs_v_tables(v, bad, sizeof bad, errstr, errstr_size);
        if (!err)
            err = fs_v_begin(v, errstr, errstr_size);
        if (err)
            return err;
        if (bad[0] || tries == 3 || fs_v_all_known(v))
            break;
        fs_v_end(v);
    }
    if (bad[0])
        fs_v_damage(v, NULL, NULL, "metadata",
                    "definitions every table opens from", bad,
                    "table definitions");
    for (size_t i = 0; i < v->ntabs; i++) {
        MDB_stat st;
        if (!mdb_stat(v->txn, v->tabs[i].t->dbi, &st))
            v->rows_total += st.ms_entries;
    }
    return FSTORE_OK;
}

static fstore_err_t fs_v_run(fs_verify *v, char *errstr, size_t errstr_size)
{
    fstore_err_t err = fs_v_start(v, errstr, errstr_size);
    if (err)
        return err;
    fs_v_progress(v);
    if (!(err = fs_v_walk(v, v->s->meta, NULL, "metadata", 0, fs_vmeta_entry,
                          NULL, errstr, errstr_size))) {
        fs_vmeta_fingerprints(v);
        err = fs_v_walk(v, FS_V_MAIN_DBI, NULL, "databases", 0, fs_vdb_entry,
                        NULL, errstr, errstr_size);
    }
    for (size_t i = 0; !err && i < v->ntabs && !v->stopped; i++)
        err = fs_v_walk(v, v->tabs[i].t->dbi, v->tabs[i].t->name, "rows", 1,
                        fs_vrow_entry, &v->tabs[i], errstr, errstr_size);
    fs_v_end(v);
    if (err)
        return err;
    if (v->stopped < 0)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY,
                           "out of memory");
    if (v->stopped || fs_v_progress(v))
        return fstore__err(errstr, errstr_size, FSTORE_ERR_STATE,
                           "the check was stopped after %llu rows",
                           (unsigned long long)v->rows);
    fs_v_accounting(v);
    return FSTORE_OK;
}

static size_t fs_vtab_stored(const fs_vtab *vt)
{
    size_t n = 0;
    for (size_t i = 0; i < vt->noffs; i++)
        n += vt->offs[i].off >= 0;
    return n;
}

static char *fs_v_report(fs_verify *v)
{
    json_t *tables = json_array();
    for (size_t i = 0; i < v->ntabs; i++) {
        const fs_vtab *vt = &v->tabs[i];
        json_array_append_new(
            tables, json_pack("{s:s, s:I, s:I, s:I}", "name", vt->t->name,
                              "rows", (json_int_t)vt->rows, "damaged_rows",
                              (json_int_t)vt->damaged, "stored_offsets",
                              (json_int_t)fs_vtab_stored(vt)));
    }
    json_object_set_new(v->lmdb, "databases",
                        json_integer((json_int_t)v->ndbs));
    json_t *root = json_pack(
        "{s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:o, s:O, s:O}", "path",
        v->s->path, "clean", v->ndamage == 0, "rows_checked",
        (json_int_t)v->rows, "damaged_rows", (json_int_t)v->damaged_rows,
        "damage_count", (json_int_t)v->ndamage, "damage_listed",
        (json_int_t)json_array_size(v->damage), "stored_offsets",
        (json_int_t)v->nstored, "tables", tables, "lmdb", v->lmdb, "damage",
        v->damage);
    char *text =
        root ? json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    json_decref(root);
    return text;
}

fstore_err_t fstore_verify(fstore_store_t *store, fstore_verify_cb *progress,
                           void *opaque, char **report, char *errstr,
                           size_t errstr_size)
{
    if (!store || !report)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_INVALID_ARG,
                           "store and report pointer are required");
    *report = NULL;
    fs_verify v = {.s = store, .cb = progress, .opaque = opaque};
    v.damage = json_array();
    v.lmdb = json_object();
    fstore_err_t err = v.damage && v.lmdb ? fs_v_run(&v, errstr, errstr_size)
                                          : FSTORE_ERR_NO_MEMORY;
    if (!err && !(*report = fs_v_report(&v)))
        err = FSTORE_ERR_NO_MEMORY;
    if (err == FSTORE_ERR_NO_MEMORY)
        fstore__err(errstr, errstr_size, err, "out of memory");
    else if (!err && v.ndamage)
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_CORRUPT,
                          "store %s is damaged: problems %llu, damaged rows "
                          "%llu of %llu (the report names each)",
                          store->path, (unsigned long long)v.ndamage,
                          (unsigned long long)v.damaged_rows,
                          (unsigned long long)v.rows);
    for (size_t i = 0; i < v.ntabs; i++)
        free(v.tabs[i].offs);
    free(v.tabs);
    json_decref(v.damage);
    json_decref(v.lmdb);
    return err;
}
