/* Snapshots: a consistent copy of a whole store in one zstd-compressed,
 * checksummed file, and its restore, which checks every byte it is given
 * before it creates anything. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include "reader.h"

/* ---- snapshot file format ----
 * 64-byte header: "FSTORESNAP\0\0", u32 version, u64 XXH64 of the content,
 * u64 content length, u64 entry count, u64 creation time (ms), zero pad.
 * Then one zstd stream of the content: records of
 *   'M' u32 klen key u32 vlen value      a metadata entry
 *   'T' u32 nlen name                    the rows that follow are this table's
 *   'R' u32 klen key u32 vlen row        a row (LMDB key as stored)
 *   'E'                                  the end
 * Entries of one sub-database come in key order, so restore appends. */

#define SNAP_MAGIC "FSTORESNAP\0\0"
#define SNAP_VERSION 1
#define SNAP_HDR 64

typedef struct snap_out {
    FILE *f;
    ZSTD_CStream *z;
    XXH64_state_t *h;
    uint64_t len, entries;
    uint8_t *zbuf;
    size_t zcap;
    int failed;
} snap_out;

static void snap_emit(snap_out *o, const void *p, size_t n, ZSTD_EndDirective end)
{
    if (o->failed)
        return;
    XXH64_update(o->h, p, n);
    o->len += n;
    ZSTD_inBuffer in = {p, n, 0};
    for (;;) {
        ZSTD_outBuffer out = {o->zbuf, o->zcap, 0};
        size_t left = ZSTD_compressStream2(o->z, &out, &in, end);
        if (ZSTD_isError(left) || fwrite(o->zbuf, 1, out.pos, o->f) != out.pos) {
            o->failed = 1;
            return;
        }
        if (end == ZSTD_e_end ? left == 0 : in.pos == in.size)
            return;
    }
}

static void snap_u32(snap_out *o, uint32_t v) { snap_emit(o, &v, 4, ZSTD_e_continue); }

static void snap_kv(snap_out *o, char tag, const MDB_val *k, const MDB_val *v)
{
    snap_emit(o, &tag, 1, ZSTD_e_continue);
    snap_u32(o, (uint32_t)k->mv_size);
    snap_emit(o, k->mv_data, k->mv_size, ZSTD_e_continue);
    snap_u32(o, (uint32_t)v->mv_size);
    snap_emit(o, v->mv_data, v->mv_size, ZSTD_e_continue);
    o->entries++;
}

static int snap_dbi(snap_out *o, MDB_txn *txn, MDB_dbi dbi, char tag, int skip_stats)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, dbi, &c);
    if (rc)
        return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && !o->failed;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        /* Statistics describe the tailer of the source, not the copy. */
        if (skip_stats && k.mv_size == 1 && *(uint8_t *)k.mv_data == FS_META_STATS)
            continue;
        snap_kv(o, tag, &k, &v);
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

fstore_err_t fstore_snapshot(fstore_store_t *s, const char *path, char *errstr,
                             size_t errstr_size)
{
    if (!s || !path || !*path)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_INVALID_ARG,
                           "store and path are required");
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    snap_out o = {0};
    /* A copy of every row: as private as the store's own files
     * (store.file_mode), whatever the umask. */
    unsigned fmode, dmode;
    fs_conf_modes(s->conf, &fmode, &dmode);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)fmode);
    if (fd >= 0 && fchmod(fd, (mode_t)fmode) != 0) {
        close(fd);
        unlink(tmp);
        fd = -1;
    }
    o.f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!o.f) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return fstore__err(errstr, errstr_size, FSTORE_ERR_IO,
                           "cannot create %s: %s", tmp, strerror(e));
    }
    o.z = ZSTD_createCStream();
    o.h = XXH64_createState();
    o.zcap = ZSTD_CStreamOutSize();
    o.zbuf = malloc(o.zcap);
    fstore_err_t err = FSTORE_OK;
    if (!o.z || !o.h || !o.zbuf) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
        goto out;
    }
    ZSTD_CCtx_setParameter(o.z, ZSTD_c_compressionLevel, 3);
    XXH64_reset(o.h, 0);
    uint8_t hdr[SNAP_HDR] = {0};
    if (fwrite(hdr, 1, SNAP_HDR, o.f) != SNAP_HDR) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_IO, "writing %s: %s",
                          tmp, strerror(errno));
        goto out;
    }
    /* One read transaction: tables, schemas and offsets of one instant. */
    MDB_txn *txn;
    if ((err = fs_txn_begin(s, MDB_RDONLY, &txn, errstr, errstr_size)))
        goto out;
    size_t nt = fstore_table_count(s);
    int rc = snap_dbi(&o, txn, s->meta, 'M', 1);
    for (size_t i = 0; i < nt && !rc && !o.failed; i++) {
        const fstore_table_t *t = s->tables[i];
        char tag = 'T';
        snap_emit(&o, &tag, 1, ZSTD_e_continue);
        snap_u32(&o, (uint32_t)strlen(t->name));
        snap_emit(&o, t->name, strlen(t->name), ZSTD_e_continue);
        rc = snap_dbi(&o, txn, t->dbi, 'R', 0);
    }
    fs_txn_abort(s, txn);
    char end = 'E';
    snap_emit(&o, &end, 1, ZSTD_e_end);
    if (rc) {
        err = fs_mdb_err(rc, "reading the store for a snapshot", errstr, errstr_size);
        goto out;
    }
    if (o.failed) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_IO,
                          "writing %s failed (disk full?)", tmp);
        goto out;
    }
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint32_t ver = SNAP_VERSION;
    uint64_t sum = XXH64_digest(o.h);
    uint64_t ms = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
    memcpy(hdr, SNAP_MAGIC, 12);
    memcpy(hdr + 12, &ver, 4);
    memcpy(hdr + 16, &sum, 8);
    memcpy(hdr + 24, &o.len, 8);
    memcpy(hdr + 32, &o.entries, 8);
    memcpy(hdr + 40, &ms, 8);
    if (fseek(o.f, 0, SEEK_SET) || fwrite(hdr, 1, SNAP_HDR, o.f) != SNAP_HDR ||
        fflush(o.f) || fsync(fileno(o.f))) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_IO, "writing %s: %s",
                          tmp, strerror(errno));
        goto out;
    }
out:
    if (o.f && fclose(o.f) && !err)
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_IO, "closing %s: %s",
                          tmp, strerror(errno));
    ZSTD_freeCStream(o.z);
    XXH64_freeState(o.h);
    free(o.zbuf);
    if (!err && rename(tmp, path))
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_IO,
                          "renaming %s to %s: %s", tmp, path, strerror(errno));
    if (err)
        unlink(tmp);
    return err;
}

/* ---- restore ---- */

typedef struct snap_in {
    FILE *f;
    ZSTD_DStream *z;
    uint8_t *ibuf, *obuf;
    size_t icap, ocap;
    ZSTD_inBuffer in;
    size_t opos, olen; /* decompressed bytes available: obuf[opos..olen) */
    int eof;
    XXH64_state_t *h;
    uint64_t len;   /* content bytes decompressed so far */
    uint64_t limit; /* content length the header declares */
    fstore_err_t err;
} snap_in;

/* Reads exactly n content bytes (NULL dst: discard); 0 on success. */
static int snap_read(snap_in *s, void *dst, size_t n)
{
    uint8_t *d = dst;
    while (n) {
        if (s->opos == s->olen) {
            if (s->eof)
                return -1;
            if (s->in.pos == s->in.size) {
                s->in.size = fread(s->ibuf, 1, s->icap, s->f);
                s->in.pos = 0;
                if (s->in.size == 0) {
                    s->eof = 1;
                    return -1;
                }
            }
            ZSTD_outBuffer out = {s->obuf, s->ocap, 0};
            size_t r = ZSTD_decompressStream(s->z, &out, &s->in);
            if (ZSTD_isError(r))
                return -1;
            XXH64_update(s->h, s->obuf, out.pos);
            s->len += out.pos;
            s->opos = 0;
            s->olen = out.pos;
            continue;
        }
        size_t k = s->olen - s->opos < n ? s->olen - s->opos : n;
        if (d) {
            memcpy(d, s->obuf + s->opos, k);
            d += k;
        }
        s->opos += k;
        n -= k;
    }
    return 0;
}

/* Reads a length-prefixed field into buf. A length past the content the
 * header declares is damage; and since the header itself may lie, the
 * buffer grows a mebibyte at a time as the bytes really arrive, so a
 * small file can never make restore allocate much. */
static int snap_field(snap_in *s, fs_buf *buf)
{
    uint32_t n;
    if (snap_read(s, &n, 4))
        return -1;
    uint64_t consumed = s->len - (s->olen - s->opos);
    if (consumed > s->limit || n > s->limit - consumed)
        return -1;
    buf->len = 0;
    while (buf->len < n) {
        size_t step = n - buf->len < (1u << 20) ? n - buf->len : (1u << 20);
        if (fs_buf_reserve(buf, step + 1) || snap_read(s, buf->data + buf->len, step))
            return -1;
        buf->len += step;
    }
    if (fs_buf_reserve(buf, 1))
        return -1;
    buf->data[n] = 0;
    return 0;
}

typedef struct snap_hdr {
    uint32_t version;
    uint64_t sum, len, entries;
} snap_hdr;

static fstore_err_t snap_open(snap_in *s, const char *path, snap_hdr *h,
                              char *errstr, size_t errstr_size)
{
    memset(s, 0, sizeof *s);
    s->f = fopen(path, "rb");
    if (!s->f)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_IO, "cannot open %s: %s",
                           path, strerror(errno));
    uint8_t hdr[SNAP_HDR];
    if (fread(hdr, 1, SNAP_HDR, s->f) != SNAP_HDR || memcmp(hdr, SNAP_MAGIC, 12))
        return fstore__err(errstr, errstr_size, FSTORE_ERR_CORRUPT,
                           "%s is not an fstore snapshot (no header)", path);
    memcpy(&h->version, hdr + 12, 4);
    memcpy(&h->sum, hdr + 16, 8);
    memcpy(&h->len, hdr + 24, 8);
    memcpy(&h->entries, hdr + 32, 8);
    s->limit = h->len;
    if (h->version != SNAP_VERSION)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_VERSION,
                           "%s is snapshot format %u; this fstore (%s) reads "
                           "format %u",
                           path, h->version, fstore_version_str(), SNAP_VERSION);
    s->z = ZSTD_createDStream();
    s->h = XXH64_createState();
    s->icap = ZSTD_DStreamInSize();
    s->ocap = ZSTD_DStreamOutSize();
    s->ibuf = malloc(s->icap);
    s->obuf = malloc(s->ocap);
    if (!s->z || !s->h || !s->ibuf || !s->obuf)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
    s->in.src = s->ibuf;
    XXH64_reset(s->h, 0);
    return FSTORE_OK;
}

static void snap_close(snap_in *s)
{
    if (s->f)
        fclose(s->f);
    ZSTD_freeDStream(s->z);
    XXH64_freeState(s->h);
    free(s->ibuf);
    free(s->obuf);
}

/* Walks the content; with env, writes it. Returns 0 or an error message. */
typedef struct snap_sink {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta, table;
    int have_table;
    uint64_t in_txn;
} snap_sink;

static int snap_sink_put(snap_sink *k, MDB_dbi dbi, fs_buf *key, fs_buf *val)
{
    MDB_val kv = {key->len, key->data}, vv = {val->len, val->data};
    int rc = mdb_put(k->txn, dbi, &kv, &vv, MDB_APPEND);
    /* Commit every so often so the transaction's dirty pages stay bounded. */
    if (!rc && ++k->in_txn >= 100000) {
        rc = mdb_txn_commit(k->txn);
        k->txn = NULL;
        k->in_txn = 0;
        if (!rc)
            rc = mdb_txn_begin(k->env, NULL, 0, &k->txn);
    }
    return rc;
}

/* The row layouts of the tables a snapshot defines, so that the rows it
 * carries are checked before anything is restored. */
typedef struct snap_layouts {
    char **names;
    fs_layout **L;
    size_t n;
    const fs_layout *cur; /* of the table whose rows come now */
} snap_layouts;

static void snap_layouts_free(snap_layouts *ls)
{
    for (size_t i = 0; i < ls->n; i++) {
        free(ls->names[i]);
        fs_layout_free(ls->L[i]);
    }
    free(ls->names);
    free(ls->L);
}

/* A metadata entry: remembers the layout when it defines a table. */
static int snap_layouts_meta(snap_layouts *ls, const fs_buf *key, const fs_buf *val)
{
    if (key->len < 2 || key->data[0] != FS_META_TABLE)
        return 0;
    fs_layout *L;
    if (fs_table_def_layout(val->data, val->len, &L, NULL, 0))
        return -1;
    char **nn = realloc(ls->names, (ls->n + 1) * sizeof *nn);
    if (nn)
        ls->names = nn;
    fs_layout **nl = nn ? realloc(ls->L, (ls->n + 1) * sizeof *nl) : NULL;
    if (nl)
        ls->L = nl;
    char *name = nl ? fs_strndup((const char *)key->data + 1, key->len - 1) : NULL;
    if (!name) {
        fs_layout_free(L);
        return -1;
    }
    ls->names[ls->n] = name;
    ls->L[ls->n++] = L;
    return 0;
}

/* The rows of table name come next: 0, or -1 when it has no definition. */
static int snap_layouts_table(snap_layouts *ls, const char *name)
{
    ls->cur = NULL;
    for (size_t i = 0; i < ls->n; i++)
        if (!strcmp(ls->names[i], name))
            ls->cur = ls->L[i];
    return ls->cur ? 0 : -1;
}

/* Walks the content, checking every entry (when ls is given) or writing
 * it into k (when k is given). */
static fstore_err_t snap_walk(snap_in *s, snap_sink *k, snap_layouts *ls,
                              uint64_t *entries, char *errstr,
                              size_t errstr_size)
{
    fs_buf key = {0}, val = {0};
    fstore_err_t err = FSTORE_OK;
    *entries = 0;
    for (;;) {
        char tag;
        if (snap_read(s, &tag, 1)) {
            err = FSTORE_ERR_CORRUPT;
            break;
        }
        if (tag == 'E')
            break;
        if (tag == 'T') {
            if (snap_field(s, &key) || (ls && snap_layouts_table(ls, (char *)key.data))) {
                err = FSTORE_ERR_CORRUPT;
                break;
            }
            if (k) {
                char name[300];
                snprintf(name, sizeof name, "t/%s", (char *)key.data);
                int rc = mdb_dbi_open(k->txn, name, MDB_CREATE, &k->table);
                if (rc) {
                    err = fs_mdb_err(rc, "creating a table", errstr, errstr_size);
                    break;
                }
                k->have_table = 1;
            }
            continue;
        }
        if ((tag != 'M' && tag != 'R') || snap_field(s, &key) || snap_field(s, &val)) {
            err = FSTORE_ERR_CORRUPT;
            break;
        }
        (*entries)++;
        if (ls && (tag == 'M' ? snap_layouts_meta(ls, &key, &val)
                              : !ls->cur || !fs_row_fits(ls->cur, val.data, val.len))) {
            err = FSTORE_ERR_CORRUPT;
            break;
        }
        if (k) {
            if (tag == 'R' && !k->have_table) {
                err = FSTORE_ERR_CORRUPT;
                break;
            }
            int rc = snap_sink_put(k, tag == 'M' ? k->meta : k->table, &key, &val);
            if (rc) {
                err = fs_mdb_err(rc, "writing the restored store", errstr, errstr_size);
                break;
            }
        }
    }
    fs_buf_free(&key);
    fs_buf_free(&val);
    if (err == FSTORE_ERR_CORRUPT)
        fstore__err(errstr, errstr_size, err,
                    "the snapshot's content is truncated or damaged");
    return err;
}

static int fs_dir_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 1 : -1;
    struct dirent *e;
    int empty = 1;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            empty = 0;
    closedir(d);
    return empty;
}

static void fs_rm_store_dir(const char *dir)
{
    static const char *const files[] = {"data.mdb", "lock.mdb", "writer.lock"};
    char p[4096];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if (snprintf(p, sizeof p, "%s/%s", dir, files[i]) < (int)sizeof p)
            unlink(p);
    }
    rmdir(dir);
}

fstore_err_t fstore_restore(const char *path, const char *dir,
                            const fstore_conf_t *conf, char *errstr,
                            size_t errstr_size)
{
    if (!path || !dir || !*dir)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_INVALID_ARG,
                           "snapshot path and store directory are required");
    if (fs_dir_empty(dir) != 1)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_IO,
                           "%s exists and is not empty: restore into a new "
                           "directory",
                           dir);
    /* Pass 1: the whole file must verify before anything is created: its
     * checksum, and every row against its table's layout. */
    snap_in s;
    snap_hdr h;
    snap_layouts ls = {0};
    uint64_t entries = 0;
    fstore_err_t err = snap_open(&s, path, &h, errstr, errstr_size);
    if (!err)
        err = snap_walk(&s, NULL, &ls, &entries, errstr, errstr_size);
    snap_layouts_free(&ls);
    if (!err && (s.len != h.len || XXH64_digest(s.h) != h.sum || entries != h.entries))
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_CORRUPT,
                          "%s fails its checksum (damaged or truncated); "
                          "nothing was restored",
                          path);
    snap_close(&s);
    if (err)
        return err;

    /* Pass 2: build the store beside its destination, then rename it. */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.restore-%ld", dir, (long)getpid());
    fstore_conf_t *c = conf ? fstore_conf_dup(conf) : fstore_conf_new();
    if (!c)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
    unsigned fmode, dmode;
    fs_conf_modes(c, &fmode, &dmode);
    mode_t mode = (mode_t)fmode;
    uint64_t map = fs_conf_u64(c, "store.map_size");
    if (map < 2 * h.len + (64u << 20))
        map = 2 * h.len + (64u << 20);
    snap_sink k = {0};
    int rc = mkdir(tmp, (mode_t)dmode) || chmod(tmp, (mode_t)dmode) ? errno : 0;
    if (!rc)
        rc = mdb_env_create(&k.env);
    if (!rc)
        rc = mdb_env_set_maxdbs(k.env, (MDB_dbi)fs_conf_u64(c, "store.max_tables") + 1);
    if (!rc)
        rc = mdb_env_set_mapsize(k.env, (size_t)map);
    if (!rc)
        rc = mdb_env_open(k.env, tmp, MDB_NOSYNC, mode);
    /* Exactly store.file_mode, whatever the umask. */
    for (int i = 0; !rc && i < 2; i++) {
        char f[4200];
        snprintf(f, sizeof f, "%s/%s", tmp, i ? "lock.mdb" : "data.mdb");
        rc = chmod(f, mode) ? errno : 0;
    }
    if (!rc)
        rc = mdb_txn_begin(k.env, NULL, 0, &k.txn);
    if (!rc)
        rc = mdb_dbi_open(k.txn, "__meta", MDB_CREATE, &k.meta);
    if (rc)
        err = fs_mdb_err(rc, "creating the restored store", errstr, errstr_size);
    if (!err)
        err = snap_open(&s, path, &h, errstr, errstr_size);
    if (!err)
        err = snap_walk(&s, &k, NULL, &entries, errstr, errstr_size);
    snap_close(&s);
    if (!err && k.txn) {
        rc = mdb_txn_commit(k.txn);
        k.txn = NULL;
        if (!rc)
            rc = mdb_env_sync(k.env, 1);
        if (rc)
            err = fs_mdb_err(rc, "writing the restored store", errstr, errstr_size);
    }
    if (k.txn)
        mdb_txn_abort(k.txn);
    if (k.env)
        mdb_env_close(k.env);
    fstore_conf_destroy(c);
    if (!err) {
        rmdir(dir); /* empty (checked above) or absent */
        if (rename(tmp, dir))
            err = fstore__err(errstr, errstr_size, FSTORE_ERR_IO,
                              "renaming %s to %s: %s", tmp, dir, strerror(errno));
    }
    if (err)
        fs_rm_store_dir(tmp);
    return err;
}
