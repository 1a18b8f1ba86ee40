/* Snapshots: a consistent copy of a whole store as one zstd-compressed,
 * checksummed stream (to a file, or any file descriptor), and its restore
 * from a file, standard input or a URL (source.h), which checks every
 * entry as it arrives and builds the store beside its place, moving it
 * there only once the whole stream verified. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "reader.h"
#include "snapshot.h"
#include "source.h"

/* ---- snapshot file format ----
 * 64-byte header: "FSTORESNAP\0\0", u32 version (2), u32 flags (0), u64
 * creation time (ms), zero pad. Written first, so a snapshot streams (to a
 * pipe, to standard output) and restores as it arrives.
 * Then one zstd frame, with zstd's content checksum, of the content:
 * records of
 *   'M' u32 klen key u32 vlen value      a metadata entry
 *   'T' u32 nlen name                    the rows that follow are this table's
 *   'R' u32 klen key u32 vlen row        a row (LMDB key as stored)
 *   'E' u64 entries                      the end: how many M and R came
 * Entries of one sub-database come in key order, so restore appends. The
 * frame must end right after 'E' and nothing may follow it.
 * Version 1 (still read): the header holds, after the version, u64 XXH64
 * of the content, u64 content length, u64 entry count, u64 creation time;
 * its frame has no checksum and its 'E' no count. */

#define SNAP_MAGIC "FSTORESNAP\0\0"
#define SNAP_V1 1
#define SNAP_VERSION 2
#define SNAP_HDR 64
/* Records are staged and handed to zstd in chunks of this size. */
#define SNAP_STAGE (256u << 10)

typedef struct snap_out {
    int fd;
    ZSTD_CCtx *z;
    uint8_t *stage, *zbuf;
    size_t slen, zcap;
    uint64_t entries;
    int err; /* errno of a failed write; -1: zstd failed */
} snap_out;

static int snap_write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? errno : EIO;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

static void snap_compress(snap_out *o, const void *p, size_t n, ZSTD_EndDirective end)
{
    ZSTD_inBuffer in = {p, n, 0};
    while (!o->err) {
        ZSTD_outBuffer out = {o->zbuf, o->zcap, 0};
        size_t left = ZSTD_compressStream2(o->z, &out, &in, end);
        if (ZSTD_isError(left)) {
            o->err = -1;
            return;
        }
        if (out.pos)
            o->err = snap_write_all(o->fd, o->zbuf, out.pos);
        if (end == ZSTD_e_end ? left == 0 : in.pos == in.size)
            return;
    }
}

static void snap_put(snap_out *o, const void *p, size_t n)
{
    if (o->slen + n > SNAP_STAGE) {
        snap_compress(o, o->stage, o->slen, ZSTD_e_continue);
        o->slen = 0;
    }
    if (n > SNAP_STAGE) {
        snap_compress(o, p, n, ZSTD_e_continue);
        return;
    }
    memcpy(o->stage + o->slen, p, n);
    o->slen += n;
}

static void snap_u32(snap_out *o, uint32_t v) { snap_put(o, &v, 4); }

static void snap_kv(snap_out *o, char tag, const MDB_val *k, const MDB_val *v)
{
    uint8_t h[5];
    h[0] = (uint8_t)tag;
    fs_store_u32(h + 1, (uint32_t)k->mv_size);
    snap_put(o, h, 5);
    snap_put(o, k->mv_data, k->mv_size);
    snap_u32(o, (uint32_t)v->mv_size);
    snap_put(o, v->mv_data, v->mv_size);
    o->entries++;
}

static int snap_dbi(snap_out *o, MDB_txn *txn, MDB_dbi dbi, char tag, int skip_stats)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, dbi, &c);
    if (rc)
        return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && !o->err;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        /* Statistics describe the tailer of the source, not the copy. */
        if (skip_stats && k.mv_size == 1 && *(uint8_t *)k.mv_data == FS_META_STATS)
            continue;
        snap_kv(o, tag, &k, &v);
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Compression threads: store.snapshot_threads, 0 for one per core. */
static int snap_workers(const fstore_conf_t *conf)
{
    uint64_t n = fs_conf_u64(conf, "store.snapshot_threads");
    if (n == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        n = cpus < 1 ? 1 : cpus > 4 ? 4 : (uint64_t)cpus;
    }
    /* zstd's nbWorkers counts the threads beside the caller's: 1 thread
     * is the caller alone. */
    return n <= 1 ? 0 : (int)n;
}

/* Writes the snapshot to fd (what: its name for messages). */
static fstore_err_t snap_write(fstore_store_t *s, int fd, const char *what,
                               char *errstr, size_t errstr_size)
{
    snap_out o = {.fd = fd};
    o.z = ZSTD_createCCtx();
    o.zcap = ZSTD_CStreamOutSize();
    o.zbuf = malloc(o.zcap);
    o.stage = malloc(SNAP_STAGE);
    fstore_err_t err = FSTORE_OK;
    if (!o.z || !o.zbuf || !o.stage) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
        goto out;
    }
    ZSTD_CCtx_setParameter(o.z, ZSTD_c_compressionLevel, 3);
    ZSTD_CCtx_setParameter(o.z, ZSTD_c_checksumFlag, 1);
    /* Refused by a zstd built without threads: then it compresses here. */
    ZSTD_CCtx_setParameter(o.z, ZSTD_c_nbWorkers, snap_workers(s->conf));
    uint8_t hdr[SNAP_HDR] = {0};
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    memcpy(hdr, SNAP_MAGIC, 12);
    fs_store_u32(hdr + 12, SNAP_VERSION);
    fs_store_u64(hdr + 24, (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000);
    int we = snap_write_all(fd, hdr, SNAP_HDR);
    if (we) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_IO, "writing %s: %s",
                          what, strerror(we));
        goto out;
    }
    /* One read transaction: tables, schemas and offsets of one instant. */
    MDB_txn *txn;
    if ((err = fs_txn_begin(s, MDB_RDONLY, &txn, errstr, errstr_size)))
        goto out;
    size_t nt = fstore_table_count(s);
    int rc = snap_dbi(&o, txn, s->meta, 'M', 1);
    for (size_t i = 0; i < nt && !rc && !o.err; i++) {
        const fstore_table_t *t = s->tables[i];
        char tag = 'T';
        snap_put(&o, &tag, 1);
        snap_u32(&o, (uint32_t)strlen(t->name));
        snap_put(&o, t->name, strlen(t->name));
        rc = snap_dbi(&o, txn, t->dbi, 'R', 0);
    }
    fs_txn_abort(s, txn);
    uint8_t end[9] = {'E'};
    fs_store_u64(end + 1, o.entries);
    snap_put(&o, end, sizeof end);
    snap_compress(&o, o.stage, o.slen, ZSTD_e_end);
    if (rc)
        err = fs_mdb_err(rc, "reading the store for a snapshot", errstr, errstr_size);
    else if (o.err)
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_IO, "writing %s: %s", what,
                          o.err < 0 ? "compression failed" : strerror(o.err));
out:
    ZSTD_freeCCtx(o.z);
    free(o.zbuf);
    free(o.stage);
    return err;
}

fstore_err_t fstore_snapshot_fd(fstore_store_t *s, int fd, char *errstr,
                                size_t errstr_size)
{
    if (!s || fd < 0)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_INVALID_ARG,
                           "store and file descriptor are required");
    char what[64];
    snprintf(what, sizeof what, "file descriptor %d", fd);
    return snap_write(s, fd, what, errstr, errstr_size);
}

fstore_err_t fstore_snapshot(fstore_store_t *s, const char *path, char *errstr,
                             size_t errstr_size)
{
    if (!s || !path || !*path)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_INVALID_ARG,
                           "store and path are required");
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
    /* A copy of every row: as private as the store's own files
     * (store.file_mode), whatever the umask. */
    unsigned fmode, dmode;
    fs_conf_modes(s->conf, &fmode, &dmode);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)fmode);
    if (fd >= 0 && fchmod(fd, (mode_t)fmode) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        errno = e;
        fd = -1;
    }
    if (fd < 0)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_IO,
                           "cannot create %s: %s", tmp, strerror(errno));
    fstore_err_t err = snap_write(s, fd, tmp, errstr, errstr_size);
    if (!err && fsync(fd))
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_IO, "writing %s: %s",
                          tmp, strerror(errno));
    if (close(fd) && !err)
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_IO, "closing %s: %s",
                          tmp, strerror(errno));
    if (!err && rename(tmp, path))
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_IO,
                          "renaming %s to %s: %s", tmp, path, strerror(errno));
    if (err)
        unlink(tmp);
    return err;
}

/* ---- restore ---- */

/* Restore decompresses on a thread of its own, a few blocks ahead of the
 * thread that checks and writes the entries: on two cores the two halves
 * of the work overlap (decompression alone is about half of it). A small
 * file is decompressed on the calling thread, block by block as it is read
 * (a thread and its blocks would cost more than they save). */
#define SNAP_BLOCKS 4
#define SNAP_BLOCK (1u << 20)
#define SNAP_THREAD_MIN (4u << 20) /* compressed bytes */

typedef struct snap_in {
    /* The decompressing thread's. */
    fs_source *src;
    ZSTD_DStream *z;
    uint8_t *ibuf;
    size_t icap;
    ZSTD_inBuffer in;
    XXH64_state_t *h; /* version 1: its own checksum of the content */
    char pmsg[512];   /* the source's error message */
    int eof, end, dframe; /* the source ended; decompression ended; the
                           * frame did (its trailing bytes still to check) */
    const char *why_z;     /* what decompression found wrong */
    /* Shared, under mu. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint8_t *blk[SNAP_BLOCKS];
    size_t blen[SNAP_BLOCKS];
    unsigned head, tail; /* blocks filled and not yet taken: [tail, head) */
    int finished;        /* the decompressing thread ended */
    int frame_done;      /* the frame ended (and its checksum held) */
    int trailing;        /* bytes follow the frame */
    const char *pwhy;    /* what the decompression found wrong */
    fstore_err_t psrc_err; /* the source failed (message in pmsg) */
    int stop;              /* the reader gives up */
    pthread_t th;
    int threaded, started, sync_ok;
    /* The reading thread's. */
    const uint8_t *cur; /* the block being read, or NULL */
    size_t cpos, clen;
    uint32_t version;
    uint64_t len;   /* content bytes handed to the reader so far */
    uint64_t limit; /* version 1: the content length the header declares */
    fstore_err_t src_err; /* the source failed: its message is in errstr */
    const char *why;      /* what is wrong with the content, when known */
    char *errstr;
    size_t errstr_size;
} snap_in;

static const char *snap_zstd_why(size_t r)
{
    return ZSTD_getErrorCode(r) == ZSTD_error_checksum_wrong
               ? "its checksum does not match its content"
               : "its compressed data is damaged";
}

/* More compressed bytes from the source; 0, or -1 at its end (eof) or on
 * its error (psrc_err). */
static int snap_more(snap_in *s, int *eof)
{
    size_t got = 0;
    fstore_err_t e = fs_source_read(s->src, s->ibuf, s->icap, &got, s->pmsg,
                                    sizeof s->pmsg);
    s->in.size = got;
    s->in.pos = 0;
    if (e)
        s->psrc_err = e;
    if (e || got == 0) {
        *eof = 1;
        return -1;
    }
    return 0;
}

/* One step of decompression: fills the next block, or, once the frame
 * ended, checks that nothing follows it. Returns 1 when decompression is
 * over (finished is set), 0 when a block was handed over. Run by the
 * decompressing thread, or by the reader itself for a small file. */
static int snap_step(snap_in *s)
{
    if (s->dframe) {
        /* The content is all handed over: nothing may follow the frame
         * (for a pipe, that is known at its end). */
        int trailing = s->in.pos != s->in.size || (!s->eof && snap_more(s, &s->eof) == 0);
        pthread_mutex_lock(&s->mu);
        s->finished = 1;
        s->frame_done = 1;
        s->trailing = trailing;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        return 1;
    }
    pthread_mutex_lock(&s->mu);
    while (!s->stop && s->head - s->tail == SNAP_BLOCKS)
        pthread_cond_wait(&s->cv, &s->mu);
    int stop = s->stop;
    unsigned slot = s->head % SNAP_BLOCKS;
    pthread_mutex_unlock(&s->mu);
    if (stop)
        return 1;
    if (!s->blk[slot] && !(s->blk[slot] = malloc(SNAP_BLOCK))) {
        s->psrc_err = fstore__err(s->pmsg, sizeof s->pmsg, FSTORE_ERR_NO_MEMORY,
                                  "out of memory");
        s->end = 1;
    }
    uint8_t *b = s->blk[slot];
    size_t len = 0;
    while (b && len < SNAP_BLOCK) {
        if (s->in.pos == s->in.size && (s->eof || snap_more(s, &s->eof))) {
            s->end = 1;
            break;
        }
        ZSTD_outBuffer out = {b + len, SNAP_BLOCK - len, 0};
        size_t r = ZSTD_decompressStream(s->z, &out, &s->in);
        if (ZSTD_isError(r)) {
            s->why_z = snap_zstd_why(r);
            s->end = 1;
            break;
        }
        if (s->h)
            XXH64_update(s->h, b + len, out.pos);
        len += out.pos;
        if (r == 0) {
            s->dframe = 1; /* hand this block over first */
            break;
        }
    }
    pthread_mutex_lock(&s->mu);
    s->blen[slot] = len;
    if (len)
        s->head++;
    if (s->end) {
        s->finished = 1;
        s->pwhy = s->why_z;
    }
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return s->end;
}

/* The decompressing thread. */
static void *snap_decoder(void *arg)
{
    snap_in *s = arg;
    while (!snap_step(s))
        ;
    pthread_mutex_lock(&s->mu);
    s->finished = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* After the decompressing thread ended with nothing left to read: what
 * went wrong, as the reader reports it (-1), or 0 when the frame ended
 * cleanly with nothing after it. */
static int snap_outcome(snap_in *s, const char *if_clean)
{
    if (s->psrc_err) {
        s->src_err = s->psrc_err;
        if (s->errstr && s->errstr_size)
            snprintf(s->errstr, s->errstr_size, "%s", s->pmsg);
        return -1;
    }
    if (s->pwhy)
        s->why = s->pwhy;
    else if (!s->frame_done)
        s->why = "it ends early (truncated)";
    else if (s->trailing)
        s->why = "bytes follow its end";
    else if (if_clean)
        s->why = if_clean;
    else
        return 0;
    return -1;
}

/* Hands the current block back and waits for the next one or for the
 * decompressing thread's end. With take, the next block becomes current.
 * Returns whether there was one. */
static int snap_wait_block(snap_in *s, int take)
{
    pthread_mutex_lock(&s->mu);
    if (s->cur) {
        s->tail++;
        s->cur = NULL;
        pthread_cond_broadcast(&s->cv);
    }
    while (!s->threaded && s->head == s->tail && !s->finished) {
        pthread_mutex_unlock(&s->mu);
        snap_step(s);
        pthread_mutex_lock(&s->mu);
    }
    while (s->head == s->tail && !s->finished)
        pthread_cond_wait(&s->cv, &s->mu);
    int more = s->head != s->tail;
    if (more && take) {
        s->cur = s->blk[s->tail % SNAP_BLOCKS];
        s->clen = s->blen[s->tail % SNAP_BLOCKS];
        s->cpos = 0;
        s->len += s->clen;
    }
    pthread_mutex_unlock(&s->mu);
    return more;
}

/* Takes the next block: 0, or -1 when there is none (with why or src_err
 * set). */
static int snap_next(snap_in *s)
{
    if (snap_wait_block(s, 1))
        return 0;
    s->clen = s->cpos = 0;
    return snap_outcome(s, "its content ends before its end record");
}

/* Reads exactly n content bytes (NULL dst: discard); 0 on success. */
static int snap_read(snap_in *s, void *dst, size_t n)
{
    uint8_t *d = dst;
    while (n) {
        if (s->cpos == s->clen) {
            if (snap_next(s))
                return -1;
            continue;
        }
        size_t k = s->clen - s->cpos < n ? s->clen - s->cpos : n;
        if (d) {
            memcpy(d, s->cur + s->cpos, k);
            d += k;
        }
        s->cpos += k;
        n -= k;
    }
    return 0;
}

/* After the end record: the frame ends there (its checksum checked) and
 * nothing follows it. 0, or -1 with s->why. */
static int snap_finish(snap_in *s)
{
    if (s->cpos != s->clen) {
        s->why = "content past its end record";
        return -1;
    }
    if (snap_wait_block(s, 0)) {
        s->why = "content past its end record";
        return -1;
    }
    return snap_outcome(s, NULL);
}

/* The length of the next field. In a version 1 file a length past the
 * content its header declares is damage. */
static int snap_field_len(snap_in *s, uint32_t *n)
{
    if (snap_read(s, n, 4))
        return -1;
    uint64_t consumed = s->len - (s->clen - s->cpos);
    if (consumed > s->limit || *n > s->limit - consumed) {
        s->why = "a length past its content";
        return -1;
    }
    return 0;
}

/* Reads n bytes into buf, NUL-terminated. The buffer grows a mebibyte at a
 * time as the bytes really arrive, so a lying length can never make
 * restore allocate much more than the input holds. */
static int snap_field_body(snap_in *s, uint32_t n, fs_buf *buf)
{
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

/* Reads a length-prefixed field into buf (NUL-terminated). */
static int snap_field(snap_in *s, fs_buf *buf)
{
    uint32_t n;
    return snap_field_len(s, &n) || snap_field_body(s, n, buf) ? -1 : 0;
}

/* The next length-prefixed field as *view (data and len; no NUL): in place
 * when it lies in the current block, valid until the next read, else read
 * into buf. Rows are checked and written straight from the block. */
static int snap_field_view(snap_in *s, fs_buf *buf, fs_buf *view)
{
    uint32_t n;
    if (snap_field_len(s, &n))
        return -1;
    if (s->clen - s->cpos >= n) {
        view->data = (uint8_t *)(uintptr_t)(s->cur + s->cpos);
        view->len = n;
        view->cap = 0;
        s->cpos += n;
        return 0;
    }
    if (snap_field_body(s, n, buf))
        return -1;
    *view = *buf;
    return 0;
}

typedef struct snap_hdr {
    uint32_t version;
    uint64_t sum, len, entries; /* version 1 */
} snap_hdr;

/* Reads the header from src and starts the decompressing thread; errors
 * say what is wrong with the source's name. */
static fstore_err_t snap_open(snap_in *s, fs_source *src, snap_hdr *h,
                              char *errstr, size_t errstr_size)
{
    memset(s, 0, sizeof *s);
    memset(h, 0, sizeof *h);
    s->src = src;
    s->errstr = errstr;
    s->errstr_size = errstr_size;
    s->limit = UINT64_MAX;
    const char *name = fs_source_name(src);
    uint8_t hdr[SNAP_HDR];
    size_t have = 0;
    while (have < SNAP_HDR) {
        size_t got = 0;
        fstore_err_t e = fs_source_read(src, hdr + have, SNAP_HDR - have, &got,
                                        errstr, errstr_size);
        if (e)
            return e;
        if (!got)
            break;
        have += got;
    }
    if (have < SNAP_HDR || memcmp(hdr, SNAP_MAGIC, 12))
        return fstore__err(errstr, errstr_size, FSTORE_ERR_CORRUPT,
                           "%s is not an fstore snapshot (%s)", name,
                           have ? "no snapshot header" : "it is empty");
    h->version = fs_load_u32(hdr + 12);
    if (h->version != SNAP_VERSION && h->version != SNAP_V1)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_VERSION,
                           "%s is snapshot format %u; this fstore (%s) reads "
                           "formats %u and %u",
                           name, h->version, fstore_version_str(), SNAP_V1,
                           SNAP_VERSION);
    s->version = h->version;
    uint32_t flags = h->version == SNAP_VERSION ? fs_load_u32(hdr + 16) : 0;
    if (flags)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_VERSION,
                           "%s uses snapshot features this fstore (%s) does "
                           "not know (flags 0x%x)",
                           name, fstore_version_str(), flags);
    if (h->version == SNAP_V1) {
        h->sum = fs_load_u64(hdr + 16);
        h->len = fs_load_u64(hdr + 24);
        h->entries = fs_load_u64(hdr + 32);
        s->limit = h->len;
        if (!(s->h = XXH64_createState()))
            return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
        XXH64_reset(s->h, 0);
    }
    s->z = ZSTD_createDStream();
    s->icap = ZSTD_DStreamInSize();
    s->ibuf = malloc(s->icap);
    if (!s->z || !s->ibuf)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
    s->in.src = s->ibuf;
    if (pthread_mutex_init(&s->mu, NULL) || pthread_cond_init(&s->cv, NULL))
        return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY,
                           "cannot make a lock");
    s->sync_ok = 1;
    long long size = fs_source_size(src);
    s->threaded = size < 0 || size >= SNAP_THREAD_MIN;
    if (s->threaded && pthread_create(&s->th, NULL, snap_decoder, s))
        return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY,
                           "cannot start the decompressing thread");
    s->started = s->threaded;
    return FSTORE_OK;
}

/* Stops the decompressing thread (a read it waits in gives up, see
 * fs_source_abort) and frees everything. */
static void snap_close(snap_in *s)
{
    if (s->started) {
        pthread_mutex_lock(&s->mu);
        s->stop = 1;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        fs_source_abort(s->src);
        pthread_join(s->th, NULL);
    }
    if (s->sync_ok) {
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cv);
    }
    ZSTD_freeDStream(s->z);
    XXH64_freeState(s->h);
    free(s->ibuf);
    for (int i = 0; i < SNAP_BLOCKS; i++)
        free(s->blk[i]);
}

/* Walks the content; with env, writes it. Returns 0 or an error message. */
typedef struct snap_sink {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta, table;
    int have_table;
    uint64_t in_txn;
    uint64_t map, map_max; /* the map's size, and how far it may grow */
} snap_sink;

/* Between transactions: doubles the map once half of it is used (the
 * snapshot's size is not known before its end). */
static int snap_sink_grow(snap_sink *k)
{
    MDB_envinfo info;
    MDB_stat st;
    int rc = mdb_env_info(k->env, &info);
    if (!rc)
        rc = mdb_env_stat(k->env, &st);
    if (rc)
        return rc;
    uint64_t used = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
    if (used < k->map / 2 || k->map >= k->map_max)
        return 0;
    uint64_t map = k->map * 2 < k->map_max ? k->map * 2 : k->map_max;
    rc = mdb_env_set_mapsize(k->env, (size_t)map);
    if (!rc)
        k->map = map;
    return rc;
}

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
            rc = snap_sink_grow(k);
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

/* Walks the content, checking every entry against the layouts ls and
 * writing it into k. */
static fstore_err_t snap_walk(snap_in *s, snap_sink *k, snap_layouts *ls,
                              const snap_hdr *h, char *errstr,
                              size_t errstr_size)
{
    fs_buf key = {0}, val = {0};
    fstore_err_t err = FSTORE_OK;
    uint64_t entries = 0;
    for (;;) {
        char tag;
        if (snap_read(s, &tag, 1)) {
            err = FSTORE_ERR_CORRUPT;
            break;
        }
        if (tag == 'E') {
            uint64_t declared = h->entries;
            if (s->version != SNAP_V1 && snap_read(s, &declared, 8)) {
                err = FSTORE_ERR_CORRUPT;
                break;
            }
            if (declared != entries) {
                s->why = "its entry count does not match its content";
                err = FSTORE_ERR_CORRUPT;
            } else if (snap_finish(s))
                err = FSTORE_ERR_CORRUPT;
            else if (s->version == SNAP_V1 &&
                     (s->len != h->len || XXH64_digest(s->h) != h->sum)) {
                s->why = "its checksum does not match its content";
                err = FSTORE_ERR_CORRUPT;
            }
            break;
        }
        if (tag == 'T') {
            if (snap_field(s, &key)) {
                err = FSTORE_ERR_CORRUPT;
                break;
            }
            if (snap_layouts_table(ls, (char *)key.data)) {
                s->why = "rows of a table it does not define";
                err = FSTORE_ERR_CORRUPT;
                break;
            }
            char name[300];
            snprintf(name, sizeof name, "t/%s", (char *)key.data);
            int rc = mdb_dbi_open(k->txn, name, MDB_CREATE, &k->table);
            if (rc) {
                err = fs_mdb_err(rc, "creating a table", errstr, errstr_size);
                break;
            }
            k->have_table = 1;
            continue;
        }
        if (tag != 'M' && tag != 'R') {
            s->why = "an unknown record";
            err = FSTORE_ERR_CORRUPT;
            break;
        }
        fs_buf v; /* the value: in place in the block, or in val */
        if (snap_field(s, &key) || snap_field_view(s, &val, &v)) {
            err = FSTORE_ERR_CORRUPT;
            break;
        }
        entries++;
        if (tag == 'M' ? snap_layouts_meta(ls, &key, &v) != 0
                       : !k->have_table || !ls->cur ||
                             !fs_row_fits(ls->cur, v.data, v.len)) {
            s->why = tag == 'M' ? "a table definition that does not parse"
                                : "a row that does not fit its table";
            err = FSTORE_ERR_CORRUPT;
            break;
        }
        int rc = snap_sink_put(k, tag == 'M' ? k->meta : k->table, &key, &v);
        if (rc) {
            /* MDB_APPEND refuses keys out of order: damage, not I/O. */
            if (rc == MDB_KEYEXIST) {
                s->why = "keys out of order";
                err = FSTORE_ERR_CORRUPT;
            } else
                err = fs_mdb_err(rc, "writing the restored store", errstr,
                                 errstr_size);
            break;
        }
    }
    fs_buf_free(&key);
    fs_buf_free(&val);
    if (err == FSTORE_ERR_CORRUPT && s->src_err)
        err = s->src_err; /* the source's message is in errstr */
    else if (err == FSTORE_ERR_CORRUPT)
        fstore__err(errstr, errstr_size, err, "%s is damaged: %s",
                    fs_source_name(s->src),
                    s->why ? s->why : "its content does not parse");
    return err;
}

#define SNAP_TMP_PREFIX ".restore-"

/* Removes what a restore builds in tmp (a store directory) and tmp. */
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

/* 1 when dir holds nothing but the leftovers of restores that died (which
 * go), 0 when it holds something else, -1 when it cannot be read. A restore
 * still running into dir makes it busy (0, with its pid in *busy). */
static int fs_dir_empty(const char *dir, long *busy)
{
    DIR *d = opendir(dir);
    *busy = 0;
    if (!d)
        return -1;
    struct dirent *e;
    int empty = 1;
    size_t plen = strlen(SNAP_TMP_PREFIX);
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char *end;
        long pid = strncmp(e->d_name, SNAP_TMP_PREFIX, plen)
                       ? 0
                       : strtol(e->d_name + plen, &end, 10);
        if (pid > 0 && !*end && kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
            char p[4096];
            if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < (int)sizeof p)
                fs_rm_store_dir(p);
            continue;
        }
        if (pid > 0 && !*end)
            *busy = pid;
        empty = 0;
    }
    closedir(d);
    return empty;
}

void fs_restore_leftovers(const char *dir)
{
    long busy;
    (void)fs_dir_empty(dir, &busy);
}

/* Restores from src into dir (which must be absent or empty). */
static fstore_err_t snap_restore(fs_source *src, const char *dir,
                                 const fstore_conf_t *conf, char *errstr,
                                 size_t errstr_size)
{
    fstore_conf_t *c = conf ? fstore_conf_dup(conf) : fstore_conf_new();
    if (!c)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
    unsigned fmode, dmode;
    fs_conf_modes(c, &fmode, &dmode);
    /* The directory: made here (so exactly store.dir_mode), or one that is
     * there and empty (a mount point, say: it stays, only the store file is
     * moved into it at the end). */
    int made = mkdir(dir, (mode_t)dmode) == 0;
    fstore_err_t err = FSTORE_OK;
    long busy = 0;
    if (made && chmod(dir, (mode_t)dmode))
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_IO, "cannot set the mode of %s: %s",
                          dir, strerror(errno));
    else if (!made && errno != EEXIST)
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_IO, "cannot create %s: %s",
                          dir, strerror(errno));
    else if (!made && fs_dir_empty(dir, &busy) != 1)
        err = busy ? fstore__err(errstr, errstr_size, FSTORE_ERR_IO,
                                 "another restore into %s is running (pid %ld)",
                                 dir, busy)
                   : fstore__err(errstr, errstr_size, FSTORE_ERR_IO,
                                 "%s exists and is not empty: restore into a "
                                 "new directory",
                                 dir);
    if (err) {
        fstore_conf_destroy(c);
        return err;
    }
    /* The store is built beside its place and moved there once complete:
     * dir holds no store until then, and none after a failure. */
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/" SNAP_TMP_PREFIX "%ld", dir, (long)getpid());
    mode_t mode = (mode_t)fmode;
    snap_in s;
    snap_hdr h;
    snap_layouts ls = {0};
    snap_sink k = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    err = snap_open(&s, src, &h, errstr, errstr_size);
    k.map = fs_conf_u64(c, "store.map_size");
    k.map_max = fs_conf_u64(c, "store.map_size.max");
    if (h.version == SNAP_V1 && k.map < 2 * h.len + (64u << 20))
        k.map = 2 * h.len + (64u << 20);
    if (k.map > k.map_max)
        k.map_max = k.map;
    /* Under store.sync=none nothing waits for the disk: the store carries
     * the writer state of a store open for writing in this boot, which a
     * machine crash turns into "rebuild me" (store.c); otherwise the data
     * is synced before the store moves into place. */
    int nosync = !strcmp(fs_conf_str(c, "store.sync"), "none");
    int rc = 0;
    if (!err) {
        rc = mkdir(tmp, (mode_t)dmode) || chmod(tmp, (mode_t)dmode) ? errno : 0;
        if (!rc && nosync)
            rc = fs_writer_lock_open(tmp, (unsigned)mode);
        if (!rc)
            rc = mdb_env_create(&k.env);
        if (!rc)
            rc = mdb_env_set_maxdbs(k.env, (MDB_dbi)fs_conf_u64(c, "store.max_tables") + 1);
        if (!rc)
            rc = mdb_env_set_mapsize(k.env, (size_t)k.map);
        if (!rc)
            rc = mdb_env_open(k.env, tmp, MDB_NOSYNC, mode);
        if (!rc) {
            char f[4200];
            snprintf(f, sizeof f, "%s/data.mdb", tmp);
            rc = chmod(f, mode) ? errno : 0; /* exactly store.file_mode */
        }
        if (!rc)
            rc = mdb_txn_begin(k.env, NULL, 0, &k.txn);
        if (!rc)
            rc = mdb_dbi_open(k.txn, "__meta", MDB_CREATE, &k.meta);
        if (rc)
            err = fs_mdb_err(rc, "creating the restored store", errstr, errstr_size);
    }
    if (!err)
        err = snap_walk(&s, &k, &ls, &h, errstr, errstr_size);
    snap_layouts_free(&ls);
    if (!err && k.txn) {
        rc = mdb_txn_commit(k.txn);
        k.txn = NULL;
        if (!rc && !nosync)
            rc = mdb_env_sync(k.env, 1);
        if (rc)
            err = fs_mdb_err(rc, "writing the restored store", errstr, errstr_size);
    }
    if (k.txn)
        mdb_txn_abort(k.txn);
    if (k.env)
        mdb_env_close(k.env);
    snap_close(&s);
    if (!err) {
        /* data.mdb makes the store: it moves last, after its writer state;
         * LMDB makes lock.mdb again at the first open. */
        char from[4200], to[4200];
        snprintf(from, sizeof from, "%s/writer.lock", tmp);
        snprintf(to, sizeof to, "%s/writer.lock", dir);
        if (nosync && rename(from, to))
            err = fstore__err(errstr, errstr_size, FSTORE_ERR_IO,
                              "moving the restored store into %s: %s", dir,
                              strerror(errno));
        snprintf(from, sizeof from, "%s/data.mdb", tmp);
        snprintf(to, sizeof to, "%s/data.mdb", dir);
        if (!err && rename(from, to)) {
            err = fstore__err(errstr, errstr_size, FSTORE_ERR_IO,
                              "moving the restored store into %s: %s", dir,
                              strerror(errno));
            snprintf(to, sizeof to, "%s/writer.lock", dir);
            if (nosync)
                unlink(to);
        }
        int dfd = err ? -1 : open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    fs_rm_store_dir(tmp);
    if (err && made)
        rmdir(dir);
    if (!err) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double kib = (double)fs_source_bytes(src) / 1024.0;
        fs_log(c, 6, "restored %s from %s (%.1f %s) in %.2f s", dir,
               fs_source_name(src), kib < 1024 ? kib : kib / 1024.0,
               kib < 1024 ? "KiB" : "MiB",
               (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    } else {
        /* Whatever failed once the source was opened, the directory holds
         * no store: say so every time. */
        size_t n = strlen(errstr ? errstr : "");
        if (errstr && n + 24 < errstr_size)
            snprintf(errstr + n, errstr_size - n, "; nothing was restored");
    }
    fstore_conf_destroy(c);
    return err;
}

fstore_err_t fstore_restore(const char *source, const char *dir,
                            const fstore_conf_t *conf, char *errstr,
                            size_t errstr_size)
{
    if (!source || !*source || !dir || !*dir)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_INVALID_ARG,
                           "snapshot source and store directory are required");
    fs_source *src;
    fstore_err_t err = fs_source_open(source, &src, errstr, errstr_size);
    if (err)
        return err;
    err = snap_restore(src, dir, conf, errstr, errstr_size);
    fs_source_close(src);
    return err;
}

fstore_err_t fstore_restore_fd(int fd, const char *dir, const fstore_conf_t *conf,
                               char *errstr, size_t errstr_size)
{
    if (fd < 0 || !dir || !*dir)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_INVALID_ARG,
                           "file descriptor and store directory are required");
    char name[64];
    snprintf(name, sizeof name, "file descriptor %d", fd);
    fs_source *src;
    fstore_err_t err = fs_source_fd(fd, name, &src, errstr, errstr_size);
    if (err)
        return err;
    err = snap_restore(src, dir, conf, errstr, errstr_size);
    fs_source_close(src);
    return err;
}
