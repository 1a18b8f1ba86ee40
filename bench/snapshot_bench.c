/*
 * snapshot_bench: snapshots, restores and a seeded start, each against its
 * baseline in one run. Measurement only: it prints figures and ratios next
 * to the targets in docs/performance.md and never judges them; it fails
 * (exit 1) when a measurement is not valid (a restored or seeded store
 * that does not hold what its source held, a client error).
 *
 *   bench_snapshot [--rows N | --store DIR] [--rounds R] [--brokers B]
 *                  [--seed-rows N] [--gap G] [--only files|seeded]
 *                  [--dir DIR] [--keep] [--json FILE] [--markdown FILE]
 *
 * 1. Files. A store of N entities (default 3,000,000) of the bench row
 *    (bench_common: 32 scalars, a string, a 16-float embedding,
 *    Confluent-framed Avro) written in key order through fstore batches of
 *    10,000, so that its pages are full as after a bootstrap; or, with
 *    --store, an existing store (opened read-only; --keep keeps the one
 *    written for another run's --store). Then, in each of R
 *    rounds (default 2), on the same data.mdb:
 *    - fstore_snapshot() to a file, store.snapshot_threads at its default
 *      (T threads), then zstd level 3 of data.mdb with the same number of
 *      threads (ZSTD_c_nbWorkers as the library sets it);
 *    - the same two with one thread;
 *    - fstore_restore() of the default snapshot into a new directory, then
 *      zstd decompression of the one-thread zstd output;
 *    - a plain copy of data.mdb (read + write, 128 KiB at a time).
 *    The baselines stream as `zstd -3` does: ZSTD_compressStream2 with
 *    ZSTD_CStreamInSize / ZSTD_CStreamOutSize buffers, the content
 *    checksum on, the source size pledged; decompression with
 *    ZSTD_decompressStream and the ZSTD_DStream buffer sizes. Every input
 *    is read once before its timed run (warm page cache). fstore_snapshot
 *    syncs its file inside the timed run, fstore_restore syncs the store it
 *    makes as store.sync (at its default) says; the baselines do not sync
 *    (as the zstd tool does not): their output is synced after the timed
 *    run, and that fsync is timed apart. Each case's
 *    figure is its best round; throughput is given per byte of data.mdb
 *    and per byte of the compressed stream. A restored store must hold as
 *    many rows as the source.
 * 2. Seeded start (needs --brokers; skipped with a note otherwise). N
 *    records (--seed-rows, default --rows), one per entity, shuffled, to a
 *    new topic (4 partitions, compacted); store A bootstraps from it
 *    (fstore_tail_start -> fstore_tail_wait_ready) and is snapshotted
 *    while its tailer runs; then a gap of G records (--gap, default 1 % of
 *    N): half updates of random existing entities, half new entities.
 *    Time to ready of two new replicas, each from fstore_store_open() of
 *    an empty directory to fstore_tail_wait_ready():
 *    (ii) seeded: store.seed = the snapshot (the open restores it, tailing
 *    resumes at its offsets and reads the gap), then
 *    (i) full: a plain bootstrap of the whole topic.
 *    The seeded one runs first. Before each, the file system is synced
 *    (syncfs, untimed), so that no writeback of the topic or of the other
 *    replica's pages falls into a replica's time. Both
 *    must hold the same rows (count, stored offsets per partition, and the
 *    partition and offset of the row of every gap entity and of 10,000
 *    random others).
 * The 1-minute load average (/proc/loadavg) is taken before each timed run
 * and reported with it; CPU seconds are this process's (all its threads).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench_kafka.h"
#include "support/files.h"

#include <zstd.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ROUNDS 10
#define PATH_LEN 4400
#define ZSTD_LEVEL 3
#define COPY_BUF (128u << 10) /* what cp reads and writes at a time */
#define WARM_BUF (1u << 20)
#define LOAD_LINGER_MS "5"
#define SAMPLE_OTHERS 10000 /* untouched entities compared after a seed */
#define READY_TIMEOUT_S 1800

/* ---- options ------------------------------------------------------------ */

static struct {
    unsigned rows;
    const char *store; /* --store: an existing store */
    unsigned rounds;
    const char *brokers;
    unsigned seed_rows; /* 0: rows */
    long gap;           /* -1: 1 % of seed_rows */
    int files, seeded;  /* the parts to run */
    const char *dir;
    int keep; /* keep the store written for the file cases */
    const char *json;
    const char *markdown;
} opt = {.rows = 3000000, .rounds = 2, .gap = -1, .files = 1, .seeded = 1};

static void usage(const char *argv0) __attribute__((noreturn));
static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--rows N | --store DIR] [--rounds R] [--brokers B]\n"
            "          [--seed-rows N] [--gap G] [--only files|seeded]\n"
            "          [--dir DIR] [--keep] [--json FILE] [--markdown FILE]\n"
            "  --rows N         entities of the store to snapshot (default\n"
            "                   3000000)\n"
            "  --store DIR      snapshot this existing store instead (opened\n"
            "                   read-only; --rows is then its row count)\n"
            "  --rounds R       rounds of the file cases, best kept "
            "(default 2)\n"
            "  --brokers B      a Kafka broker for the seeded start (without\n"
            "                   it that part is skipped, with a note)\n"
            "  --seed-rows N    entities of the seeded start (default "
            "--rows)\n"
            "  --gap G          records produced after the snapshot (default\n"
            "                   1 %% of --seed-rows)\n"
            "  --only PART      files (snapshot, restore, zstd, copy) or\n"
            "                   seeded (seeded start vs full bootstrap)\n"
            "  --dir DIR        work directory (default: a new temporary\n"
            "                   directory, removed after)\n"
            "  --keep           keep the store written for the file cases\n"
            "                   (as DIR/store, for a later --store)\n"
            "  --json FILE      also write the figures as JSON\n"
            "  --markdown FILE  also write the tables as markdown\n",
            argv0);
    exit(2);
}

static void parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--keep") == 0) {
            opt.keep = 1;
            i--; /* no value */
            continue;
        }
        if (v == NULL)
            usage(argv[0]);
        if (strcmp(a, "--rows") == 0) {
            opt.rows = bench_parse_uint(a, v, 1000, 100000000ul);
        } else if (strcmp(a, "--store") == 0) {
            opt.store = v;
        } else if (strcmp(a, "--rounds") == 0) {
            opt.rounds = bench_parse_uint(a, v, 1, MAX_ROUNDS);
        } else if (strcmp(a, "--brokers") == 0) {
            opt.brokers = v[0] ? v : NULL;
        } else if (strcmp(a, "--seed-rows") == 0) {
            opt.seed_rows = bench_parse_uint(a, v, 1000, 100000000ul);
        } else if (strcmp(a, "--gap") == 0) {
            opt.gap = (long)bench_parse_uint(a, v, 2, 100000000ul);
        } else if (strcmp(a, "--only") == 0) {
            if (strcmp(v, "files") != 0 && strcmp(v, "seeded") != 0)
                die("--only wants files or seeded");
            opt.files = strcmp(v, "files") == 0;
            opt.seeded = !opt.files;
        } else if (strcmp(a, "--dir") == 0) {
            opt.dir = v;
        } else if (strcmp(a, "--json") == 0) {
            opt.json = v;
        } else if (strcmp(a, "--markdown") == 0) {
            opt.markdown = v;
        } else {
            usage(argv[0]);
        }
    }
    if (opt.seed_rows == 0)
        opt.seed_rows = opt.rows;
    if (opt.keep && opt.store != NULL)
        die("--keep keeps the store the bench writes; --store names one");
    if (opt.gap < 0)
        opt.gap = opt.seed_rows / 100 < 2 ? 2 : opt.seed_rows / 100;
    if ((unsigned long)opt.gap > opt.seed_rows)
        die("--gap may be at most --seed-rows");
}

/* ---- small helpers ------------------------------------------------------ */

static volatile uint64_t g_sink;

/* The 1-minute load average, or -1 when /proc/loadavg cannot be read. */
static double load1(void)
{
    double l = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f != NULL) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1;
        fclose(f);
    }
    return l;
}

/* CPU seconds of this process so far, all its threads. */
static double cpu_self(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* @p dir/@p name into @p buf; dies when it does not fit. */
static void join(char *buf, size_t size, const char *dir, const char *name)
{
    if (snprintf(buf, size, "%s/%s", dir, name) >= (int)size)
        die("path too long: %s/%s", dir, name);
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        die("stat %s: %s", path, strerror(errno));
    return (uint64_t)st.st_size;
}

static int open_or_die(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC, 0600);
    if (fd < 0)
        die("open %s: %s", path, strerror(errno));
    return fd;
}

/* read() that dies on errors; 0 at the end. */
static size_t read_some(int fd, void *buf, size_t n, const char *path)
{
    for (;;) {
        ssize_t r = read(fd, buf, n);
        if (r >= 0)
            return (size_t)r;
        if (errno != EINTR)
            die("reading %s: %s", path, strerror(errno));
    }
}

static void write_all(int fd, const void *p, size_t n, const char *path)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            die("writing %s: %s", path, w < 0 ? strerror(errno) : "no room");
        b += w;
        n -= (size_t)w;
    }
}

/* Reads @p path once, so that the timed run that follows finds it in the
 * page cache. */
static void warm(const char *path)
{
    static uint8_t buf[WARM_BUF];
    int fd = open_or_die(path, O_RDONLY);
    uint64_t sum = 0;
    size_t n;
    while ((n = read_some(fd, buf, sizeof buf, path)) > 0)
        sum += buf[n - 1];
    close(fd);
    g_sink += sum;
}

/* Syncs and closes @p fd; @return the seconds the fsync took. */
static double sync_close(int fd, const char *path)
{
    uint64_t t0 = now_ns();
    if (fsync(fd) != 0)
        die("fsync %s: %s", path, strerror(errno));
    double s = secs(now_ns() - t0);
    if (close(fd) != 0)
        die("closing %s: %s", path, strerror(errno));
    return s;
}

/* A read-only store handle on @p dir; @p threads, unless NULL, as its
 * store.snapshot_threads. */
static fstore_store_t *open_read_only(const char *dir, const char *threads)
{
    fstore_conf_t *conf = fstore_conf_new();
    if (conf == NULL)
        die("fstore_conf_new: out of memory");
    bench_conf_set(conf, "store.read_only", "true");
    if (threads != NULL)
        bench_conf_set(conf, "store.snapshot_threads", threads);
    char errstr[512] = "";
    fstore_store_t *s;
    fs_check(fstore_store_open(dir, conf, &s, errstr, sizeof errstr),
             "fstore_store_open", errstr);
    fstore_conf_destroy(conf);
    return s;
}

/* Rows of every table of @p store. */
static uint64_t store_rows(fstore_store_t *store)
{
    fstore_reader_t *rd;
    uint64_t total = 0;
    fs_check(fstore_reader_new(store, &rd), "fstore_reader_new", NULL);
    for (size_t i = 0; i < fstore_table_count(store); i++) {
        uint64_t n = 0;
        fs_check(fstore_reader_row_count(rd, fstore_table_at(store, i), &n),
                 "fstore_reader_row_count", fstore_reader_errmsg(rd));
        total += n;
    }
    fstore_reader_destroy(rd);
    return total;
}

static uint64_t dir_rows(const char *dir)
{
    fstore_store_t *s = open_read_only(dir, NULL);
    uint64_t n = store_rows(s);
    fstore_store_close(s);
    return n;
}

static void progress(const char *what, uint64_t done, uint64_t total,
                     uint64_t t0)
{
    double el = secs(now_ns() - t0);
    fprintf(stderr, "  %s: %" PRIu64 "/%" PRIu64 ", %.0f/s, %.1f s\n", what,
            done, total, ratio((double)done, el), el);
}

/* ---- part 1: files ------------------------------------------------------ */

/* The cases of a round, in the order they run. */
enum {
    C_SNAP,    /* fstore_snapshot, default threads */
    C_ZSTD,    /* zstd -3, the same threads */
    C_SNAP1,   /* fstore_snapshot, store.snapshot_threads=1 */
    C_ZSTD1,   /* zstd -3, one thread */
    C_RESTORE, /* fstore_restore of the C_SNAP snapshot */
    C_UNZSTD,  /* zstd decompression of the C_ZSTD1 output */
    C_COPY,    /* read + write of data.mdb */
    NCASES
};
static const char *const CASE_ID[NCASES] = {
    "snapshot", "zstd_compress",   "snapshot_1t", "zstd_compress_1t",
    "restore",  "zstd_decompress", "copy"};

typedef struct {
    double s[MAX_ROUNDS], cpu[MAX_ROUNDS], load[MAX_ROUNDS];
    double fsync_s[MAX_ROUNDS]; /* baselines: the fsync after the run */
    int best;                   /* the round of the lowest seconds */
    uint64_t stream_bytes;      /* the compressed stream written or read */
} fcase_t;

typedef struct {
    int given;               /* --store */
    uint64_t rows;           /* rows of the store */
    uint64_t store_bytes;    /* data.mdb's size */
    uint64_t store_disk;     /* allocated on disk */
    double build_s;          /* writing the store (not given) */
    unsigned threads;        /* store.snapshot_threads' default here */
    int workers;             /* ZSTD_c_nbWorkers for those threads */
    uint64_t restored_bytes; /* data.mdb of the restored store */
    fcase_t c[NCASES];
} files_t;

static struct {
    char work[4096];
    int made_work;
    char files[PATH_LEN], seeded[PATH_LEN]; /* our subdirectories of work */
} W;

static void cleanup_work(void)
{
    if (W.files[0])
        sup_rm_tree(W.files);
    if (W.seeded[0])
        sup_rm_tree(W.seeded);
    if (W.made_work)
        rmdir(W.work);
}

/* Writes @p n entities in key order, 10,000 to an fstore batch, over 4
 * partitions (offsets rising in each). */
static void build_store(const char *dir, unsigned n, files_t *F)
{
    const fstore_table_t *table;
    fstore_store_t *store =
        bench_store_open(dir, bench_conf_new(bench_map_size(n, 1024u)), &table);
    encoder_t enc;
    encoder_init(&enc);
    uint32_t *ids = xcalloc(BATCH_ROWS, sizeof *ids);
    char key[KEY_STRIDE], errstr[512] = "";
    int64_t ts = (int64_t)time(NULL) * 1000;
    uint64_t t0 = now_ns(), next = t0 + 5000000000ull;
    for (unsigned base = 0; base < n; base += BATCH_ROWS) {
        size_t cnt = n - base < BATCH_ROWS ? n - base : BATCH_ROWS;
        for (size_t i = 0; i < cnt; i++)
            ids[i] = base + (uint32_t)i;
        encode_batch(&enc, ids, cnt);
        fstore_batch_t *batch;
        fs_check(fstore_batch_begin(store, &batch), "fstore_batch_begin", NULL);
        for (size_t i = 0; i < cnt; i++) {
            key_of(key, ids[i]);
            fs_check(fstore_batch_put(
                         batch, table, key, KEY_LEN, enc.arena + enc.starts[i],
                         enc.starts[i + 1] - enc.starts[i],
                         (int32_t)(ids[i] % NPARTS), (int64_t)(ids[i] / NPARTS),
                         ts, errstr, sizeof errstr),
                     "fstore_batch_put", errstr);
        }
        fs_check(fstore_batch_commit(batch, errstr, sizeof errstr),
                 "fstore_batch_commit", errstr);
        if (now_ns() >= next) {
            next += 5000000000ull;
            progress("writing the store", base + cnt, n, t0);
        }
    }
    F->build_s = secs(now_ns() - t0);
    free(ids);
    encoder_free(&enc);
    fstore_store_close(store);
}

/* store.snapshot_threads' default: one thread per online core, at most 4
 * (docs/configuration.md); and the nbWorkers the library gives zstd for
 * @p threads (zstd counts the threads beside the caller's; one thread is
 * the caller alone). */
static unsigned default_threads(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return cpus < 1 ? 1 : cpus > 4 ? 4 : (unsigned)cpus;
}

static int workers_for(unsigned threads)
{
    return threads <= 1 ? 0 : (int)threads;
}

typedef struct {
    uint64_t t0;
    double cpu0;
} stopwatch_t;

static stopwatch_t run_begin(fcase_t *c, unsigned r)
{
    c->load[r] = load1();
    return (stopwatch_t){now_ns(), cpu_self()};
}

static void run_end(fcase_t *c, unsigned r, stopwatch_t t)
{
    c->s[r] = secs(now_ns() - t.t0);
    c->cpu[r] = cpu_self() - t.cpu0;
}

static void case_snapshot(fcase_t *c, unsigned r, const char *store,
                          const char *data, const char *threads,
                          const char *out)
{
    warm(data);
    fstore_store_t *s = open_read_only(store, threads);
    char errstr[512] = "";
    stopwatch_t t = run_begin(c, r);
    fs_check(fstore_snapshot(s, out, errstr, sizeof errstr), "fstore_snapshot",
             errstr);
    run_end(c, r, t);
    fstore_store_close(s);
    c->stream_bytes = file_size(out);
}

/* zstd level 3 of @p in into @p out as `zstd -3` does it. */
static void case_zstd(fcase_t *c, unsigned r, const char *in, const char *out,
                      int workers)
{
    warm(in);
    size_t icap = ZSTD_CStreamInSize(), ocap = ZSTD_CStreamOutSize();
    uint8_t *ibuf = xcalloc(icap, 1), *obuf = xcalloc(ocap, 1);
    uint64_t size = file_size(in);
    stopwatch_t t = run_begin(c, r);
    int fi = open_or_die(in, O_RDONLY);
    int fo = open_or_die(out, O_WRONLY | O_CREAT | O_TRUNC);
    ZSTD_CCtx *z = ZSTD_createCCtx();
    if (z == NULL)
        die("ZSTD_createCCtx: out of memory");
    size_t e = ZSTD_CCtx_setParameter(z, ZSTD_c_compressionLevel, ZSTD_LEVEL);
    if (!ZSTD_isError(e))
        e = ZSTD_CCtx_setParameter(z, ZSTD_c_checksumFlag, 1);
    if (!ZSTD_isError(e))
        e = ZSTD_CCtx_setParameter(z, ZSTD_c_nbWorkers, workers);
    if (!ZSTD_isError(e))
        e = ZSTD_CCtx_setPledgedSrcSize(z, size);
    if (ZSTD_isError(e))
        die("zstd parameters (%d workers): %s%s", workers, ZSTD_getErrorName(e),
            workers ? "; is libzstd built without threads?" : "");
    size_t n;
    do {
        n = read_some(fi, ibuf, icap, in);
        ZSTD_EndDirective end = n == 0 ? ZSTD_e_end : ZSTD_e_continue;
        ZSTD_inBuffer ib = {ibuf, n, 0};
        for (;;) {
            ZSTD_outBuffer ob = {obuf, ocap, 0};
            size_t left = ZSTD_compressStream2(z, &ob, &ib, end);
            if (ZSTD_isError(left))
                die("ZSTD_compressStream2: %s", ZSTD_getErrorName(left));
            write_all(fo, obuf, ob.pos, out);
            if (end == ZSTD_e_end ? left == 0 : ib.pos == ib.size)
                break;
        }
    } while (n > 0);
    ZSTD_freeCCtx(z);
    close(fi);
    run_end(c, r, t);
    c->fsync_s[r] = sync_close(fo, out);
    free(ibuf);
    free(obuf);
    c->stream_bytes = file_size(out);
}

/* Decompresses @p in into @p out; dies unless it gives @p expect bytes. */
static void case_unzstd(fcase_t *c, unsigned r, const char *in, const char *out,
                        uint64_t expect)
{
    warm(in);
    size_t icap = ZSTD_DStreamInSize(), ocap = ZSTD_DStreamOutSize();
    uint8_t *ibuf = xcalloc(icap, 1), *obuf = xcalloc(ocap, 1);
    uint64_t total = 0;
    stopwatch_t t = run_begin(c, r);
    int fi = open_or_die(in, O_RDONLY);
    int fo = open_or_die(out, O_WRONLY | O_CREAT | O_TRUNC);
    ZSTD_DCtx *z = ZSTD_createDCtx();
    if (z == NULL)
        die("ZSTD_createDCtx: out of memory");
    size_t n, last = 1;
    while ((n = read_some(fi, ibuf, icap, in)) > 0) {
        ZSTD_inBuffer ib = {ibuf, n, 0};
        while (ib.pos < ib.size) {
            ZSTD_outBuffer ob = {obuf, ocap, 0};
            last = ZSTD_decompressStream(z, &ob, &ib);
            if (ZSTD_isError(last))
                die("ZSTD_decompressStream %s: %s", in,
                    ZSTD_getErrorName(last));
            write_all(fo, obuf, ob.pos, out);
            total += ob.pos;
        }
    }
    /* Until the frame ends (0), output may stay in zstd's buffer. */
    while (last != 0) {
        ZSTD_inBuffer ib = {ibuf, 0, 0};
        ZSTD_outBuffer ob = {obuf, ocap, 0};
        last = ZSTD_decompressStream(z, &ob, &ib);
        if (ZSTD_isError(last))
            die("ZSTD_decompressStream %s: %s", in, ZSTD_getErrorName(last));
        write_all(fo, obuf, ob.pos, out);
        total += ob.pos;
        if (ob.pos == 0)
            break;
    }
    ZSTD_freeDCtx(z);
    close(fi);
    run_end(c, r, t);
    c->fsync_s[r] = sync_close(fo, out);
    free(ibuf);
    free(obuf);
    if (last != 0 || total != expect)
        die("decompressing %s gave %" PRIu64 " bytes%s; %" PRIu64
            " were compressed",
            in, total, last != 0 ? " (its frame does not end)" : "", expect);
    c->stream_bytes = file_size(in);
}

static void case_copy(fcase_t *c, unsigned r, const char *in, const char *out)
{
    warm(in);
    uint8_t *buf = xcalloc(COPY_BUF, 1);
    stopwatch_t t = run_begin(c, r);
    int fi = open_or_die(in, O_RDONLY);
    int fo = open_or_die(out, O_WRONLY | O_CREAT | O_TRUNC);
    size_t n;
    while ((n = read_some(fi, buf, COPY_BUF, in)) > 0)
        write_all(fo, buf, n, out);
    close(fi);
    run_end(c, r, t);
    c->fsync_s[r] = sync_close(fo, out);
    free(buf);
}

static void case_restore(fcase_t *c, unsigned r, const char *snap,
                         const char *dir, files_t *F)
{
    warm(snap);
    char errstr[512] = "";
    stopwatch_t t = run_begin(c, r);
    fs_check(fstore_restore(snap, dir, NULL, errstr, sizeof errstr),
             "fstore_restore", errstr);
    run_end(c, r, t);
    c->stream_bytes = file_size(snap);
    char data[PATH_LEN];
    join(data, sizeof data, dir, "data.mdb");
    F->restored_bytes = file_size(data);
    uint64_t rows = dir_rows(dir);
    if (rows != F->rows)
        die("the restored store holds %" PRIu64 " rows; its source %" PRIu64,
            rows, F->rows);
    sup_rm_tree(dir);
}

static void say_case(const files_t *F, int i, unsigned r)
{
    const fcase_t *c = &F->c[i];
    fprintf(stderr,
            "  round %u: %-17s %8.3f s  %7.1f MB/s  cpu %6.2f s  "
            "load %.2f\n",
            r + 1, CASE_ID[i], c->s[r],
            ratio((double)F->store_bytes, c->s[r]) / 1e6, c->cpu[r],
            c->load[r]);
}

static void files_part(files_t *F)
{
    char store[PATH_LEN], data[PATH_LEN], snap[PATH_LEN], snap1[PATH_LEN],
        zst[PATH_LEN], zstmt[PATH_LEN], plain[PATH_LEN], copy[PATH_LEN],
        restored[PATH_LEN];
    join(W.files, sizeof W.files, W.work, "files");
    if (mkdir(W.files, 0700) != 0)
        die("mkdir %s: %s (use an empty --dir)", W.files, strerror(errno));
    if (opt.store != NULL) {
        F->given = 1;
        snprintf(store, sizeof store, "%s", opt.store);
    } else {
        /* Kept: beside the scratch files, which all go. */
        join(store, sizeof store, opt.keep ? W.work : W.files, "store");
        struct stat st;
        if (stat(store, &st) == 0)
            die("%s exists: pass it as --store, or use another --dir", store);
        fprintf(stderr, "writing a store of %u entities (key order)...\n",
                opt.rows);
        build_store(store, opt.rows, F);
    }
    join(data, sizeof data, store, "data.mdb");
    join(snap, sizeof snap, W.files, "snapshot.fsnap");
    join(snap1, sizeof snap1, W.files, "snapshot-1t.fsnap");
    join(zst, sizeof zst, W.files, "data.mdb.zst");
    join(zstmt, sizeof zstmt, W.files, "data.mdb.mt.zst");
    join(plain, sizeof plain, W.files, "data.mdb.out");
    join(copy, sizeof copy, W.files, "data.mdb.copy");
    join(restored, sizeof restored, W.files, "restored");
    F->rows = dir_rows(store);
    F->store_bytes = file_size(data);
    struct stat st;
    F->store_disk = stat(data, &st) == 0 ? (uint64_t)st.st_blocks * 512u : 0;
    F->threads = default_threads();
    F->workers = workers_for(F->threads);
    fprintf(stderr,
            "store: %" PRIu64 " rows, data.mdb %" PRIu64
            " bytes; snapshot threads %u (zstd nbWorkers %d) and 1; %u "
            "round(s)\n",
            F->rows, F->store_bytes, F->threads, F->workers, opt.rounds);
    for (unsigned r = 0; r < opt.rounds; r++) {
        case_snapshot(&F->c[C_SNAP], r, store, data, NULL, snap);
        say_case(F, C_SNAP, r);
        case_zstd(&F->c[C_ZSTD], r, data, zstmt, F->workers);
        say_case(F, C_ZSTD, r);
        case_snapshot(&F->c[C_SNAP1], r, store, data, "1", snap1);
        say_case(F, C_SNAP1, r);
        case_zstd(&F->c[C_ZSTD1], r, data, zst, 0);
        say_case(F, C_ZSTD1, r);
        case_restore(&F->c[C_RESTORE], r, snap, restored, F);
        say_case(F, C_RESTORE, r);
        case_unzstd(&F->c[C_UNZSTD], r, zst, plain, F->store_bytes);
        say_case(F, C_UNZSTD, r);
        unlink(plain);
        case_copy(&F->c[C_COPY], r, data, copy);
        say_case(F, C_COPY, r);
        unlink(copy);
    }
    for (int i = 0; i < NCASES; i++) {
        fcase_t *c = &F->c[i];
        for (unsigned r = 1; r < opt.rounds; r++)
            if (c->s[r] < c->s[c->best])
                c->best = (int)r;
    }
    unlink(snap1);
    unlink(zst);
    unlink(zstmt);
    unlink(snap);
    if (!F->given && !opt.keep)
        sup_rm_tree(store);
    else if (!F->given)
        fprintf(stderr, "store kept in %s (for --store)\n", store);
}

/* ---- part 2: seeded start vs full bootstrap ----------------------------- */

typedef struct {
    double s;    /* seconds */
    double load; /* 1-minute load average before */
    uint64_t records;
} step_t;

typedef struct {
    int ran;
    unsigned entities, gap_updates, gap_new;
    step_t produce, boot_a, snap, gap;
    uint64_t snap_bytes;
    /* the two replicas: open (with the seed's restore), then tail to ready */
    step_t open[2], ready[2];
    uint64_t rows[2], store_bytes[2];
    uint64_t checked; /* entities whose rows were compared */
} seeded_t;

enum { R_SEEDED, R_FULL };
static const char *const REPLICA_ID[2] = {"seeded", "full"};

typedef struct {
    char topic[128];
    char *keys; /* entities + gap_new */
    uint32_t *gap_ids;
    size_t ngap;
    int64_t max_offset[NPARTS]; /* the last record of each partition */
} topic_t;

static double step_total(const seeded_t *S, int i)
{
    return S->open[i].s + S->ready[i].s;
}

static void note_offsets(topic_t *T, const producer_t *p)
{
    for (int i = 0; i < NPARTS; i++)
        if (p->max_offset[i] > T->max_offset[i])
            T->max_offset[i] = p->max_offset[i];
}

/* Produces ids[0..n) with values of @p version; waits for every delivery. */
static void produce_ids(topic_t *T, const uint32_t *ids, size_t n,
                        uint32_t version, const char *what, step_t *st)
{
    producer_t p;
    producer_init(&p, T->topic, LOAD_LINGER_MS, NULL, "fstore-bench-snapshot");
    encoder_t enc;
    encoder_init(&enc);
    st->load = load1();
    uint64_t t0 = now_ns(), next = t0 + 5000000000ull;
    for (size_t base = 0; base < n; base += BATCH_ROWS) {
        size_t cnt = n - base < BATCH_ROWS ? n - base : BATCH_ROWS;
        encode_batch_version(&enc, ids + base, cnt, version);
        for (size_t i = 0; i < cnt; i++)
            produce(&p, T->keys + (size_t)ids[base + i] * KEY_STRIDE,
                    enc.arena + enc.starts[i],
                    enc.starts[i + 1] - enc.starts[i], ids[base + i]);
        producer_poll(&p, 0);
        if (now_ns() >= next) {
            next += 5000000000ull;
            progress(what, atomic_load(&p.delivered), n, t0);
        }
    }
    producer_flush(&p);
    st->s = secs(now_ns() - t0);
    st->records = atomic_load(&p.delivered);
    if (st->records != n)
        die("%s: %" PRIu64 " of %zu records were delivered", what, st->records,
            n);
    note_offsets(T, &p);
    producer_free(&p);
    encoder_free(&enc);
}

/* Writes back what is dirty on the file system of the work directory (the
 * topic, earlier stores), so that a timed run does not pay for it. */
static void settle(void)
{
    int fd = open(W.work, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || syncfs(fd) != 0)
        die("syncfs %s: %s", W.work, strerror(errno));
    close(fd);
}

/* Opens a new replica in @p dir (seeded from @p seed unless NULL), adds
 * the topic and tails until ready (on a settled disk); the store stays
 * open, its tailer stopped when @p stop. */
static fstore_store_t *replica(const char *dir, const char *seed,
                               const topic_t *T, unsigned entities, int stop,
                               step_t *open_st, step_t *ready_st,
                               const fstore_table_t **table)
{
    fstore_conf_t *conf = bench_conf_new(bench_map_size(entities, 2048u));
    bench_conf_set(conf, "kafka.bootstrap.servers", opt.brokers);
    if (seed != NULL)
        bench_conf_set(conf, "store.seed", seed);
    char errstr[512] = "";
    settle();
    open_st->load = ready_st->load = load1();
    uint64_t t0 = now_ns();
    fstore_store_t *s = bench_store_open(dir, conf, table);
    uint64_t t1 = now_ns();
    fs_check(fstore_tail_add(s, *table, T->topic, NULL, errstr, sizeof errstr),
             "fstore_tail_add", errstr);
    fs_check(fstore_tail_start(s, errstr, sizeof errstr), "fstore_tail_start",
             errstr);
    fstore_err_t err;
    int waited = 0;
    while ((err = fstore_tail_wait_ready(s, 5000)) == FSTORE_ERR_TIMED_OUT &&
           (waited += 5) < READY_TIMEOUT_S)
        fprintf(stderr, "  not ready yet after %d s...\n", waited);
    uint64_t t2 = now_ns();
    bench_tail_check(s, "waiting for the replica to be ready");
    if (err == FSTORE_ERR_TIMED_OUT)
        die("the replica in %s was not ready %d s after fstore_tail_start", dir,
            READY_TIMEOUT_S);
    fs_check(err, "fstore_tail_wait_ready", NULL);
    if (stop)
        fs_check(fstore_tail_stop(s), "fstore_tail_stop", NULL);
    open_st->s = secs(t1 - t0);
    ready_st->s = secs(t2 - t1);
    return s;
}

/* The row of @p key in both replicas must come from the same record. */
static void same_row(fstore_reader_t *const rd[2],
                     const fstore_table_t *const tb[2], const char *key)
{
    const fstore_row_t *row[2];
    for (int i = 0; i < 2; i++) {
        fstore_err_t err = fstore_get(rd[i], tb[i], key, KEY_LEN, &row[i]);
        if (err != FSTORE_OK)
            die("the %s replica has no row for %.*s (%s)", REPLICA_ID[i],
                KEY_LEN, key, fstore_err_name(err));
    }
    if (fstore_row_partition(row[0]) != fstore_row_partition(row[1]) ||
        fstore_row_offset(row[0]) != fstore_row_offset(row[1]))
        die("%.*s: the seeded replica holds the record at [%d] %" PRId64
            ", the full one [%d] %" PRId64,
            KEY_LEN, key, fstore_row_partition(row[0]),
            fstore_row_offset(row[0]), fstore_row_partition(row[1]),
            fstore_row_offset(row[1]));
}

/* Both replicas hold every record of the topic, and the same rows. */
static void compare(seeded_t *S, const topic_t *T, fstore_store_t *const st[2],
                    const fstore_table_t *const tb[2])
{
    fstore_reader_t *rd[2];
    uint64_t want = (uint64_t)S->entities + S->gap_new;
    for (int i = 0; i < 2; i++) {
        fs_check(fstore_reader_new(st[i], &rd[i]), "fstore_reader_new", NULL);
        fs_check(fstore_reader_row_count(rd[i], tb[i], &S->rows[i]),
                 "fstore_reader_row_count", fstore_reader_errmsg(rd[i]));
        if (S->rows[i] != want)
            die("the %s replica holds %" PRIu64 " rows; the topic has %" PRIu64
                " entities",
                REPLICA_ID[i], S->rows[i], want);
        for (int32_t p = 0; p < NPARTS; p++) {
            int64_t off = -1;
            fstore_err_t err = fstore_reader_offset(rd[i], tb[i], p, &off);
            if (err != FSTORE_OK && err != FSTORE_NOT_FOUND)
                fs_check(err, "fstore_reader_offset",
                         fstore_reader_errmsg(rd[i]));
            if (off != T->max_offset[p])
                die("the %s replica applied partition %d up to offset "
                    "%" PRId64 "; its last record is at %" PRId64,
                    REPLICA_ID[i], p, off, T->max_offset[p]);
        }
    }
    for (size_t i = 0; i < T->ngap; i++)
        same_row(rd, tb, T->keys + (size_t)T->gap_ids[i] * KEY_STRIDE);
    uint64_t st_ = 0x5a3b1e;
    for (int i = 0; i < SAMPLE_OTHERS; i++)
        same_row(rd, tb,
                 T->keys +
                     (size_t)(splitmix64(&st_) % S->entities) * KEY_STRIDE);
    S->checked = T->ngap + SAMPLE_OTHERS;
    for (int i = 0; i < 2; i++)
        fstore_reader_destroy(rd[i]);
}

static void seeded_part(seeded_t *S)
{
    S->ran = 1;
    S->entities = opt.seed_rows;
    S->gap_updates = (unsigned)opt.gap / 2;
    S->gap_new = (unsigned)opt.gap - S->gap_updates;
    static topic_t T;
    snprintf(T.topic, sizeof T.topic, "fstore-bench-snapshot-%u-%ld",
             (unsigned)getpid(), (long)time(NULL));
    for (int i = 0; i < NPARTS; i++)
        T.max_offset[i] = -1;
    bench_kafka_t k = {opt.brokers, NULL, 0, "fstore-bench-admin", 1};
    bench_kafka_init(&k);
    const char *topics[1] = {T.topic};
    bench_create_topics(topics, 1, 0, 0);
    T.keys = make_keys(S->entities + S->gap_new);

    join(W.seeded, sizeof W.seeded, W.work, "seeded");
    if (mkdir(W.seeded, 0700) != 0)
        die("mkdir %s: %s (use an empty --dir)", W.seeded, strerror(errno));
    char a[PATH_LEN], snap[PATH_LEN], dirs[2][PATH_LEN];
    join(a, sizeof a, W.seeded, "a");
    join(snap, sizeof snap, W.seeded, "a.fsnap");
    for (int i = 0; i < 2; i++)
        join(dirs[i], sizeof dirs[i], W.seeded, REPLICA_ID[i]);

    fprintf(stderr, "producing %u records (one per entity) to %s...\n",
            S->entities, T.topic);
    uint32_t *perm = make_perm(S->entities);
    produce_ids(&T, perm, S->entities, 0, "producing", &S->produce);
    free(perm);

    fprintf(stderr, "store A: bootstrap, then a snapshot while it tails...\n");
    const fstore_table_t *ta;
    step_t open_a;
    fstore_store_t *sa =
        replica(a, NULL, &T, S->entities, 0, &open_a, &S->boot_a, &ta);
    S->boot_a.s += open_a.s;
    S->boot_a.records = S->entities;
    char errstr[512] = "";
    S->snap.load = load1();
    uint64_t t0 = now_ns();
    fs_check(fstore_snapshot(sa, snap, errstr, sizeof errstr),
             "fstore_snapshot", errstr);
    S->snap.s = secs(now_ns() - t0);
    S->snap_bytes = file_size(snap);
    fs_check(fstore_tail_stop(sa), "fstore_tail_stop", NULL);
    fstore_store_close(sa);
    sup_rm_tree(a);

    /* The gap: updates of random existing entities, then new ones. */
    T.ngap = (size_t)opt.gap;
    T.gap_ids = xcalloc(T.ngap, sizeof *T.gap_ids);
    uint64_t st = 0x9a9;
    for (unsigned i = 0; i < S->gap_updates; i++)
        T.gap_ids[i] = (uint32_t)(splitmix64(&st) % S->entities);
    for (unsigned i = 0; i < S->gap_new; i++)
        T.gap_ids[S->gap_updates + i] = S->entities + i;
    fprintf(stderr, "the gap: %u updates and %u new entities...\n",
            S->gap_updates, S->gap_new);
    produce_ids(&T, T.gap_ids, T.ngap, 1, "producing the gap", &S->gap);

    fstore_store_t *rs[2];
    const fstore_table_t *rt[2];
    for (int i = 0; i < 2; i++) {
        fprintf(stderr, "replica %s: open -> ready...\n", REPLICA_ID[i]);
        rs[i] = replica(dirs[i], i == R_SEEDED ? snap : NULL, &T, S->entities,
                        1, &S->open[i], &S->ready[i], &rt[i]);
        fprintf(stderr, "  open %.3f s + tail to ready %.3f s = %.3f s\n",
                S->open[i].s, S->ready[i].s, step_total(S, i));
    }
    compare(S, &T, rs, rt);
    for (int i = 0; i < 2; i++) {
        fstore_store_close(rs[i]);
        char data[PATH_LEN];
        join(data, sizeof data, dirs[i], "data.mdb");
        S->store_bytes[i] = file_size(data);
        sup_rm_tree(dirs[i]);
    }
    unlink(snap);
    bench_delete_topics(topics, 1);
    free(T.keys);
    free(T.gap_ids);
}

/* ---- reporting ---------------------------------------------------------- */

typedef struct {
    files_t files;
    seeded_t seeded;
    double load_start[3], load_end[3];
    ratios_t ratios;
} report_t;

static void loadavg3(double l[3])
{
    l[0] = l[1] = l[2] = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f != NULL) {
        if (fscanf(f, "%lf %lf %lf", &l[0], &l[1], &l[2]) != 3)
            l[0] = l[1] = l[2] = -1;
        fclose(f);
    }
}

static double best_s(const files_t *F, int i)
{
    return F->c[i].s[F->c[i].best];
}

/* MB/s (10^6 bytes) of @p bytes in case @p i's best run. */
static double mbs(const files_t *F, int i, uint64_t bytes)
{
    return ratio((double)bytes, best_s(F, i)) / 1e6;
}

static void compute(report_t *R)
{
    const files_t *F = &R->files;
    if (opt.files) {
        add_ratio(&R->ratios, "snapshot_over_zstd",
                  "snapshot / zstd -3, same threads (data.mdb MB/s)",
                  ratio(best_s(F, C_ZSTD), best_s(F, C_SNAP)), ">= 0.8", 1,
                  0.8);
        add_ratio(&R->ratios, "snapshot_1t_over_zstd_1t",
                  "snapshot / zstd -3, one thread (data.mdb MB/s)",
                  ratio(best_s(F, C_ZSTD1), best_s(F, C_SNAP1)), ">= 0.8", 1,
                  0.8);
        add_ratio(&R->ratios, "restore_over_zstd_decompress",
                  "restore / zstd -d (data.mdb MB/s)",
                  ratio(best_s(F, C_UNZSTD), best_s(F, C_RESTORE)), ">= 0.8", 1,
                  0.8);
        const fcase_t *z = &F->c[C_ZSTD], *z1 = &F->c[C_ZSTD1],
                      *u = &F->c[C_UNZSTD];
        add_ratio(
            &R->ratios, "snapshot_over_zstd_with_fsync",
            "snapshot / (zstd -3 + its fsync), same threads",
            ratio(best_s(F, C_ZSTD) + z->fsync_s[z->best], best_s(F, C_SNAP)),
            NULL, 1, 0);
        add_ratio(&R->ratios, "snapshot_1t_over_zstd_1t_with_fsync",
                  "snapshot / (zstd -3 + its fsync), one thread",
                  ratio(best_s(F, C_ZSTD1) + z1->fsync_s[z1->best],
                        best_s(F, C_SNAP1)),
                  NULL, 1, 0);
        add_ratio(&R->ratios, "restore_over_zstd_decompress_with_fsync",
                  "restore / (zstd -d + its fsync)",
                  ratio(best_s(F, C_UNZSTD) + u->fsync_s[u->best],
                        best_s(F, C_RESTORE)),
                  NULL, 1, 0);
        add_ratio(&R->ratios, "snapshot_threads_speedup",
                  "snapshot: default threads / one thread (speed)",
                  ratio(best_s(F, C_SNAP1), best_s(F, C_SNAP)), NULL, 1, 0);
        add_ratio(&R->ratios, "zstd_threads_speedup",
                  "zstd -3: same threads / one thread (speed)",
                  ratio(best_s(F, C_ZSTD1), best_s(F, C_ZSTD)), NULL, 1, 0);
        add_ratio(&R->ratios, "snapshot_bytes_over_zstd_bytes",
                  "snapshot size / zstd -3 size of data.mdb",
                  ratio((double)F->c[C_SNAP].stream_bytes,
                        (double)F->c[C_ZSTD1].stream_bytes),
                  NULL, 0, 0);
    }
    const seeded_t *S = &R->seeded;
    if (S->ran)
        add_ratio(&R->ratios, "full_over_seeded_ready",
                  "time to ready: full bootstrap / seeded",
                  ratio(step_total(S, R_FULL), step_total(S, R_SEEDED)), ">= 5",
                  1, 5.0);
}

static const char *const CASE_NAME[NCASES] = {
    "fstore_snapshot, default threads",
    "zstd -3, same threads",
    "fstore_snapshot, 1 thread",
    "zstd -3, 1 thread",
    "fstore_restore",
    "zstd -d",
    "copy (read + write)"};

static void print_files(FILE *f, int md, const files_t *F)
{
    fprintf(f,
            md ? "### Snapshot and restore against zstd (%" PRIu64
                 " rows, data.mdb %.3f GB, %u round(s), best kept)\n\n"
                 "| case | threads | seconds | data.mdb MB/s | stream "
                 "MB/s | stream bytes | CPU s | fsync s | load |\n"
                 "|---|--:|--:|--:|--:|--:|--:|--:|--:|\n"
               : "snapshot and restore against zstd: %" PRIu64
                 " rows, data.mdb %.3f GB, %u round(s), best kept\n"
                 "  %-34s %4s %8s %8s %8s %13s %7s %7s %5s\n",
            F->rows, (double)F->store_bytes / 1e9, opt.rounds, "case", "thr",
            "seconds", "MB/s", "strm/s", "stream bytes", "CPU s", "fsync",
            "load");
    for (int i = 0; i < NCASES; i++) {
        const fcase_t *c = &F->c[i];
        unsigned thr = i == C_SNAP || i == C_ZSTD ? F->threads : 1;
        int has_stream = i != C_COPY;
        int has_fsync =
            i == C_ZSTD || i == C_ZSTD1 || i == C_UNZSTD || i == C_COPY;
        char stream[32] = "-", sbytes[32] = "-", fs[32] = "in run";
        if (i == C_RESTORE)
            snprintf(fs, sizeof fs, "%s", "st.sync");
        if (has_stream) {
            snprintf(stream, sizeof stream, "%.1f", mbs(F, i, c->stream_bytes));
            snprintf(sbytes, sizeof sbytes, "%" PRIu64, c->stream_bytes);
        }
        if (has_fsync)
            snprintf(fs, sizeof fs, "%.3f", c->fsync_s[c->best]);
        fprintf(f,
                md ? "| %s | %u | %.3f | %.1f | %s | %s | %.2f | %s | %.2f |\n"
                   : "  %-34s %4u %8.3f %8.1f %8s %13s %7.2f %7s %5.2f\n",
                CASE_NAME[i], thr, best_s(F, i), mbs(F, i, F->store_bytes),
                stream, sbytes, c->cpu[c->best], fs, c->load[c->best]);
    }
    print_note(f, md,
               "data.mdb: %" PRIu64 " bytes (%" PRIu64 " allocated on disk, "
               "%.1f bytes per row), %s; restored data.mdb %" PRIu64
               " bytes. MB = 10^6 bytes. Every input was read once before "
               "its timed run (warm page cache). fstore_snapshot syncs its "
               "file inside the run, fstore_restore the store as store.sync "
               "(default) says; the baselines' fsync follows the run and is "
               "timed apart. zstd: "
               "level %d, content checksum, streaming (ZSTD_CStreamInSize / "
               "OutSize buffers), nbWorkers %d for %u threads, libzstd %s. "
               "CPU s: this process, all threads; load: 1-minute load "
               "average before the run.\n",
               F->store_bytes, F->store_disk,
               ratio((double)F->store_bytes, (double)F->rows),
               F->given ? "an existing store (--store)"
                        : "written in key order in batches of 10,000",
               F->restored_bytes, ZSTD_LEVEL, F->workers, F->threads,
               ZSTD_versionString());
}

/* One row of the seeded table: @p records may be "" (none). */
static void seeded_row(FILE *f, int md, const char *step, const char *records,
                       double s, double load, int bold)
{
    char sec[32], ld[32];
    snprintf(sec, sizeof sec, md && bold ? "**%.3f**" : "%.3f", s);
    snprintf(ld, sizeof ld, load >= 0 ? "%.2f" : "-", load);
    if (md)
        fprintf(
            f, bold ? "| **%s** | %s | %s | %s |\n" : "| %s | %s | %s | %s |\n",
            step, records, sec, ld);
    else
        fprintf(f, "  %-50s %12s %9s %5s\n", step, records, sec, ld);
}

static void print_seeded(FILE *f, int md, const seeded_t *S)
{
    fprintf(f,
            md ? "\n### Seeded start against a full bootstrap (%u entities, "
                 "gap %u records)\n\n"
                 "| step | records (bytes) | seconds | load |\n"
                 "|---|--:|--:|--:|\n"
               : "\nseeded start against a full bootstrap: %u entities, gap "
                 "%u records\n  %-50s %12s %9s %5s\n",
            S->entities, S->gap_updates + S->gap_new, "step", "records",
            "seconds", "load");
    char n[32];
    snprintf(n, sizeof n, "%" PRIu64, S->produce.records);
    seeded_row(f, md, "producing the entities", n, S->produce.s,
               S->produce.load, 0);
    seeded_row(f, md, "store A: bootstrap (open -> ready)", n, S->boot_a.s,
               S->boot_a.load, 0);
    snprintf(n, sizeof n, "(%" PRIu64 " B)", S->snap_bytes);
    seeded_row(f, md, "store A: fstore_snapshot while tailing", n, S->snap.s,
               S->snap.load, 0);
    snprintf(n, sizeof n, "%" PRIu64, S->gap.records);
    seeded_row(f, md, "producing the gap (half updates, half new)", n, S->gap.s,
               S->gap.load, 0);
    for (int i = 0; i < 2; i++) {
        char name[96];
        snprintf(name, sizeof name, "%s: open%s", REPLICA_ID[i],
                 i == R_SEEDED ? " (restores the snapshot)" : "");
        seeded_row(f, md, name, "", S->open[i].s, S->open[i].load, 0);
        snprintf(name, sizeof name, "%s: tail until ready", REPLICA_ID[i]);
        snprintf(n, sizeof n, "%" PRIu64,
                 i == R_SEEDED ? S->gap.records
                               : S->produce.records + S->gap.records);
        seeded_row(f, md, name, n, S->ready[i].s, S->ready[i].load, 0);
        snprintf(name, sizeof name, "%s: time to ready", REPLICA_ID[i]);
        seeded_row(f, md, name, "", step_total(S, i), -1, 1);
    }
    print_note(f, md,
               "records: for tailing, what the topic held past the store's "
               "offsets. Both replicas hold %" PRIu64 " rows, the same "
               "stored offsets and the same records for %" PRIu64
               " entities compared (every gap entity and %d others); "
               "data.mdb %" PRIu64 " bytes seeded, %" PRIu64 " full. Time "
               "to ready: fstore_store_open of an empty directory to "
               "fstore_tail_wait_ready; the seeded replica ran first, each "
               "after a syncfs of the work directory's file system.\n",
               S->rows[0], S->checked, SAMPLE_OTHERS, S->store_bytes[0],
               S->store_bytes[1]);
}

static void print_tables(FILE *f, int md, const void *report)
{
    const report_t *R = report;
    if (opt.files)
        print_files(f, md, &R->files);
    if (R->seeded.ran)
        print_seeded(f, md, &R->seeded);
    else if (opt.seeded)
        print_note(f, md,
                   "seeded start: not measured (no --brokers; start one "
                   "with tests/kafka/broker.sh start).\n");
    print_ratios(f, md, R->ratios.r, R->ratios.n, 50);
    fprintf(f,
            md ? "\nLoad average (1, 5, 15 min): %.2f %.2f %.2f at the "
                 "start, %.2f %.2f %.2f at the end.\n"
               : "  load average (1, 5, 15 min): %.2f %.2f %.2f at the "
                 "start, %.2f %.2f %.2f at the end\n",
            R->load_start[0], R->load_start[1], R->load_start[2],
            R->load_end[0], R->load_end[1], R->load_end[2]);
}

static void json_list(FILE *f, const char *name, const double *v, unsigned n,
                      const char *tail)
{
    fprintf(f, "\"%s\": [", name);
    for (unsigned i = 0; i < n; i++)
        fprintf(f, "%s%.4f", i ? ", " : "", v[i]);
    fprintf(f, "]%s", tail);
}

static void json_files(FILE *f, const files_t *F)
{
    fprintf(f,
            "  \"files\": {\n    \"store\": \"%s\", \"rows\": %" PRIu64
            ", \"store_bytes\": %" PRIu64 ", \"store_disk_bytes\": %" PRIu64
            ", \"store_bytes_per_row\": %.2f, \"build_s\": %.3f, "
            "\"restored_bytes\": %" PRIu64
            ",\n    \"rounds\": %u, \"threads\": %u, \"zstd_workers\": %d, "
            "\"zstd_level\": %d,\n    \"cases\": {\n",
            F->given ? "given" : "built", F->rows, F->store_bytes,
            F->store_disk, ratio((double)F->store_bytes, (double)F->rows),
            F->build_s, F->restored_bytes, opt.rounds, F->threads, F->workers,
            ZSTD_LEVEL);
    for (int i = 0; i < NCASES; i++) {
        const fcase_t *c = &F->c[i];
        fprintf(f,
                "      \"%s\": {\"threads\": %u, \"seconds\": %.4f, "
                "\"store_mb_per_s\": %.2f, \"cpu_s\": %.3f, \"load1\": %.2f, ",
                CASE_ID[i], i == C_SNAP || i == C_ZSTD ? F->threads : 1,
                best_s(F, i), mbs(F, i, F->store_bytes), c->cpu[c->best],
                c->load[c->best]);
        if (i != C_COPY)
            fprintf(f,
                    "\"stream_bytes\": %" PRIu64 ", \"stream_mb_per_s\": "
                    "%.2f, ",
                    c->stream_bytes, mbs(F, i, c->stream_bytes));
        if (i == C_ZSTD || i == C_ZSTD1 || i == C_UNZSTD || i == C_COPY)
            fprintf(f, "\"fsync_s\": %.4f, ", c->fsync_s[c->best]);
        json_list(f, "runs_s", c->s, opt.rounds, ", ");
        json_list(f, "runs_load1", c->load, opt.rounds, "");
        fprintf(f, "}%s\n", i + 1 < NCASES ? "," : "");
    }
    fprintf(f, "    }\n  },\n");
}

static void json_step(FILE *f, const char *name, const step_t *s,
                      const char *tail)
{
    fprintf(f,
            "\"%s\": {\"records\": %" PRIu64
            ", \"seconds\": %.4f, \"load1\": %.2f}%s",
            name, s->records, s->s, s->load, tail);
}

static void json_seeded(FILE *f, const seeded_t *S)
{
    fprintf(f,
            "  \"seeded_start\": {\n    \"entities\": %u, \"gap_updates\": %u, "
            "\"gap_new\": %u, \"snapshot_bytes\": %" PRIu64
            ", \"rows_compared\": %" PRIu64 ",\n    ",
            S->entities, S->gap_updates, S->gap_new, S->snap_bytes, S->checked);
    json_step(f, "produce", &S->produce, ",\n    ");
    json_step(f, "bootstrap_a", &S->boot_a, ",\n    ");
    fprintf(f,
            "\"snapshot_a\": {\"bytes\": %" PRIu64
            ", \"seconds\": %.4f, \"load1\": %.2f},\n    ",
            S->snap_bytes, S->snap.s, S->snap.load);
    json_step(f, "gap", &S->gap, ",\n");
    for (int i = 0; i < 2; i++) {
        fprintf(f,
                "    \"%s\": {\"open_s\": %.4f, \"ready_s\": %.4f, "
                "\"time_to_ready_s\": %.4f, \"load1\": %.2f, \"rows\": "
                "%" PRIu64 ", \"store_bytes\": %" PRIu64 "},\n",
                REPLICA_ID[i], S->open[i].s, S->ready[i].s, step_total(S, i),
                S->open[i].load, S->rows[i], S->store_bytes[i]);
    }
    fprintf(f, "    \"ratio_full_over_seeded\": %.4f\n  },\n",
            ratio(step_total(S, R_FULL), step_total(S, R_SEEDED)));
}

static void write_json(FILE *f, const void *report)
{
    const report_t *R = report;
    fprintf(f,
            "{\n  \"bench\": \"snapshot\",\n  \"fstore_version\": \"%s\",\n"
            "  \"zstd_version\": \"%s\",\n  \"cpus\": %ld,\n"
            "  \"load_start\": [%.2f, %.2f, %.2f],\n"
            "  \"load_end\": [%.2f, %.2f, %.2f],\n",
            fstore_version_str(), ZSTD_versionString(),
            sysconf(_SC_NPROCESSORS_ONLN), R->load_start[0], R->load_start[1],
            R->load_start[2], R->load_end[0], R->load_end[1], R->load_end[2]);
    if (opt.files)
        json_files(f, &R->files);
    if (R->seeded.ran)
        json_seeded(f, &R->seeded);
    else if (opt.seeded)
        fprintf(f, "  \"seeded_start\": {\"skipped\": \"no --brokers\"},\n");
    fprintf(f, "  \"ratios\": {\n");
    json_ratios(f, R->ratios.r, R->ratios.n, 4);
    fprintf(f, "  }\n}\n");
}

int main(int argc, char **argv)
{
    bench_set_prog("snapshot");
    parse_args(argc, argv);
    static report_t R;
    loadavg3(R.load_start);
    W.made_work = bench_make_parent(W.work, sizeof W.work, opt.dir,
                                    "fstore-snapshot-XXXXXX");
    atexit(cleanup_work);
    printf("snapshot: fstore %s, libzstd %s, %ld CPUs, work in %s\n",
           fstore_version_str(), ZSTD_versionString(),
           sysconf(_SC_NPROCESSORS_ONLN), W.work);
    fflush(stdout);
    if (opt.files)
        files_part(&R.files);
    if (opt.seeded && opt.brokers != NULL)
        seeded_part(&R.seeded);
    else if (opt.seeded)
        fprintf(stderr, "seeded start: skipped (no --brokers; start a broker "
                        "with tests/kafka/broker.sh start)\n");
    loadavg3(R.load_end);
    compute(&R);
    bench_tables(print_tables, &R, opt.markdown);
    bench_json(write_json, &R, opt.json);
    return 0;
}
