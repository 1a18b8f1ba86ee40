/*
 * baselines: point and batch lookups of fstore side by side with the
 * baselines of the targets in docs/performance.md, on the same generated
 * data in one run: raw LMDB mdb_get (the floor of the design), RocksDB
 * Get/MultiGet (the engine of Kafka Streams state stores) and Redis GET
 * through hiredis on loopback (what online feature stores use). Measurement only: it prints
 * figures and ratios next to the targets and never judges them.
 *
 *   bench_baselines [--rows N] [--dir DIR] [--seconds S] [--json FILE]
 *                   [--markdown FILE] [--hist-dir DIR]
 *                   [--redis-server PATH] [--keep]
 *
 * 1. Load: N rows (default 1,000,000) of the realistic feature record of
 *    get_bench (32 scalars, a string category, a 16-float embedding) as
 *    Confluent-framed Avro under shuffled keys "user:%09u", in batches of
 *    10,000, into: an fstore store (decoded rows), a plain LMDB environment,
 *    a RocksDB database (WAL off, no compression, block cache sized to hold
 *    every block, full bloom filter 10 bits/key, then one full compaction)
 *    and a redis-server the program starts on a free 127.0.0.1 port without
 *    persistence (--save '' --appendonly no) and stops at the end. The three
 *    baselines store the same Avro value bytes under the same keys.
 * 2. Point lookups over one random key sequence: fstore_get + 4 typed column
 *    reads; mdb_get, RocksDB Get (pinned, default read options) and Redis GET
 *    + 4 byte reads; Redis GET pipelined 16 deep (redisAppendCommand +
 *    redisGetReply). fstore and raw LMDB also with 2 threads, and on
 *    machines with more cores with one thread per core (up to 64).
 * 3. Batch lookups of 256 keys x 32 columns into a float32 matrix:
 *    fstore_get_batch; 256 x mdb_get + memcpy of 32 floats; RocksDB
 *    MultiGet (batched, pinned) + the same memcpy. fstore and raw LMDB also
 *    with 2 threads.
 *
 * Every case runs untimed passes (throughput: a clock read every 1024
 * operations) and timed passes (latency: a clock read around each operation
 * into a log-linear histogram). Cases alternate in two rounds so drift hits
 * every side alike. The baselines only touch value bytes where fstore reads
 * decoded columns, so they are given the advantage of skipping decode.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "lookup.h"

#include <hiredis/hiredis.h>
#include <lmdb.h>
#include <rocksdb/c.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROUNDS 2
#define CHUNK 1024
#define PIPE_DEPTH 16
#define MAX_THREADS 64 /* reader threads of a case, at most */
#define NCASES_FIXED 12 /* the cases of every run */
#define NCASES_MAX 14   /* and two more with more than two cores */

/* ---- options ------------------------------------------------------------ */

static lookup_opts_t opt = {1000000, NULL, 2.0, NULL, 0};
/* The options of this program alone. */
static const char *markdown;                      /* --markdown FILE */
static const char *hist_dir;                      /* --hist-dir DIR */
static const char *redis_server = "redis-server"; /* --redis-server PATH */

static void usage(const char *argv0) __attribute__((noreturn));
static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--rows N] [--dir DIR] [--seconds S] [--json FILE]\n"
            "          [--markdown FILE] [--hist-dir DIR]\n"
            "          [--redis-server PATH] [--keep]\n"
            "  --rows N            rows to load (default 1000000)\n"
            "  --dir DIR           parent directory for the stores (default:\n"
            "                      a new temporary directory, removed after)\n"
            "  --seconds S         measuring time per case (default 2)\n"
            "  --json FILE         also write the figures as JSON\n"
            "  --markdown FILE     also write the tables as markdown\n"
            "  --hist-dir DIR      write each case's latency distribution\n"
            "                      as DIR/<case>.dat (for plots)\n"
            "  --redis-server PATH redis-server to start (default: from "
            "PATH)\n"
            "  --keep              keep the stores afterwards\n",
            argv0);
    exit(2);
}

/* The options of this program alone (lookup_parse_args takes the rest). */
static int own_option(const char *a, const char *v)
{
    if (strcmp(a, "--markdown") == 0)
        markdown = v;
    else if (strcmp(a, "--hist-dir") == 0)
        hist_dir = v;
    else if (strcmp(a, "--redis-server") == 0)
        redis_server = v;
    else
        return 0;
    return 1;
}

/* ---- the stores --------------------------------------------------------- */

typedef struct {
    lookup_t lk; /* fstore and raw LMDB, keys, key sequence */
    char kdir[4200], xdir[4200];
    rocksdb_t *rdb;
    rocksdb_options_t *ropts;
    rocksdb_block_based_table_options_t *bbto;
    rocksdb_cache_t *cache;
    rocksdb_readoptions_t *rread;
    rocksdb_column_family_handle_t *cf;
    size_t cache_bytes;
    int redis_port;
} bench_t;

static bench_t B;
static volatile pid_t g_redis_pid;
static volatile uint64_t g_sink; /* keeps reads from being optimised out */

static void stop_redis(void)
{
    pid_t pid = g_redis_pid;
    if (pid > 0) {
        g_redis_pid = 0;
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
    }
}

static void on_signal(int sig)
{
    pid_t pid = g_redis_pid;
    if (pid > 0)
        kill(pid, SIGTERM);
    _exit(128 + sig);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket: %s", strerror(errno));
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0)
        die("bind 127.0.0.1:0: %s", strerror(errno));
    close(fd);
    return ntohs(sa.sin_port);
}

static redisContext *redis_connect(void)
{
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", B.redis_port, tv);
    if (c == NULL || c->err)
        return c ? (redisFree(c), NULL) : NULL;
    return c;
}

/* Starts redis-server on a free loopback port, no persistence. */
static void start_redis(void)
{
    char port[16], log[4300];
    B.redis_port = free_port();
    snprintf(port, sizeof port, "%d", B.redis_port);
    snprintf(log, sizeof log, "%s/redis.log", B.xdir);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        execlp(redis_server, redis_server, "--port", port, "--bind",
               "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", B.xdir,
               "--daemonize", "no", (char *)NULL);
        fprintf(stderr, "exec %s: %s\n", redis_server, strerror(errno));
        _exit(127);
    }
    g_redis_pid = pid;
    atexit(stop_redis);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    for (int i = 0; i < 200; i++) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            g_redis_pid = 0;
            die("%s exited at start (see %s)", redis_server, log);
        }
        redisContext *c = redis_connect();
        if (c != NULL) {
            redisReply *r = redisCommand(c, "PING");
            int ok = r != NULL && r->type == REDIS_REPLY_STATUS;
            if (r)
                freeReplyObject(r);
            redisFree(c);
            if (ok)
                return;
        }
        usleep(50000);
    }
    die("%s did not answer on 127.0.0.1:%d within 10 s (see %s)", redis_server,
        B.redis_port, log);
}

static void make_dirs(void)
{
    lookup_dirs(&B.lk, opt.dir, "fstore-baselines-XXXXXX");
    snprintf(B.kdir, sizeof B.kdir, "%s/rocksdb", B.lk.parent);
    snprintf(B.xdir, sizeof B.xdir, "%s/redis", B.lk.parent);
    const char *dirs[4] = {B.lk.fdir, B.lk.rdir, B.kdir, B.xdir};
    struct stat st;
    for (int i = 0; i < 4; i++)
        if (stat(dirs[i], &st) == 0)
            die("%s already holds bench stores; use an empty --dir",
                B.lk.parent);
    for (int i = 0; i < 4; i++)
        if (mkdir(dirs[i], 0700) != 0)
            die("mkdir %s: %s", dirs[i], strerror(errno));
}

/* fstore and raw LMDB (flags matching store.sync=none), RocksDB, Redis. */
static void open_stores(void)
{
    lookup_open(&B.lk, opt.rows, "none");

    /* RocksDB: block cache for every block (values + keys + block overhead,
     * uncompressed, with a margin), full bloom filter at 10 bits/key. */
    B.cache_bytes = (size_t)opt.rows * 512u + ((size_t)64 << 20);
    B.cache = rocksdb_cache_create_lru(B.cache_bytes);
    B.bbto = rocksdb_block_based_options_create();
    rocksdb_block_based_options_set_block_cache(B.bbto, B.cache);
    rocksdb_block_based_options_set_filter_policy(
        B.bbto, rocksdb_filterpolicy_create_bloom_full(10));
    B.ropts = rocksdb_options_create();
    rocksdb_options_set_create_if_missing(B.ropts, 1);
    rocksdb_options_set_compression(B.ropts, rocksdb_no_compression);
    rocksdb_options_set_block_based_table_factory(B.ropts, B.bbto);
    char *err = NULL;
    const char *cf_names[1] = {"default"};
    const rocksdb_options_t *cf_opts[1] = {B.ropts};
    B.rdb = rocksdb_open_column_families(B.ropts, B.kdir, 1, cf_names, cf_opts,
                                         &B.cf, &err);
    if (err != NULL)
        die("rocksdb open %s: %s", B.kdir, err);
    B.rread = rocksdb_readoptions_create();

    start_redis();
}

/* ---- loading ------------------------------------------------------------ */

typedef struct {
    lookup_load_t lk; /* encoding, fstore, raw LMDB: times and sizes */
    double rocks_s, rocks_compact_s, redis_s;
    uint64_t rocks_disk;
    uint64_t redis_mem;
} load_t;

static uint64_t redis_used_memory(redisContext *c)
{
    redisReply *r = redisCommand(c, "INFO memory");
    uint64_t v = 0;
    if (r != NULL && r->type == REDIS_REPLY_STRING) {
        const char *p = strstr(r->str, "used_memory:");
        if (p != NULL)
            v = strtoull(p + strlen("used_memory:"), NULL, 10);
    }
    if (r)
        freeReplyObject(r);
    return v;
}

static void load(load_t *ld)
{
    const unsigned n = opt.rows;
    lookup_loader_t l;
    memset(ld, 0, sizeof *ld);
    lookup_load_begin(&l, &B.lk, n, &ld->lk);

    rocksdb_writeoptions_t *wo = rocksdb_writeoptions_create();
    rocksdb_writeoptions_disable_WAL(wo, 1);
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    redisContext *rc = redis_connect();
    if (rc == NULL)
        die("connect to redis on 127.0.0.1:%d failed", B.redis_port);

    /* Each batch goes to fstore and raw LMDB (lookup_load_next), then to
     * RocksDB and Redis, the same value bytes under the same keys. */
    while (lookup_load_next(&l)) {
        const char *keys = B.lk.keys;
        const uint32_t *ids = l.ids;
        const encoder_t *enc = &l.enc;
        size_t cnt = l.cnt;
        uint64_t t3 = now_ns();

        rocksdb_writebatch_clear(wb);
        for (size_t i = 0; i < cnt; i++)
            rocksdb_writebatch_put(wb, keys + (size_t)ids[i] * KEY_STRIDE,
                                   KEY_LEN, enc->arena + enc->starts[i],
                                   enc->starts[i + 1] - enc->starts[i]);
        char *err = NULL;
        rocksdb_write(B.rdb, wo, wb, &err);
        if (err != NULL)
            die("rocksdb_write: %s", err);
        uint64_t t4 = now_ns();

        for (size_t i = 0; i < cnt; i++)
            if (redisAppendCommand(
                    rc, "SET %b %b", keys + (size_t)ids[i] * KEY_STRIDE,
                    (size_t)KEY_LEN, enc->arena + enc->starts[i],
                    enc->starts[i + 1] - enc->starts[i]) != REDIS_OK)
                die("redis SET: %s", rc->errstr);
        for (size_t i = 0; i < cnt; i++) {
            void *rep = NULL;
            if (redisGetReply(rc, &rep) != REDIS_OK || rep == NULL ||
                ((redisReply *)rep)->type == REDIS_REPLY_ERROR)
                die("redis SET reply: %s", rc->err ? rc->errstr : "error");
            freeReplyObject(rep);
        }
        uint64_t t5 = now_ns();

        ld->rocks_s += (double)(t4 - t3) / 1e9;
        ld->redis_s += (double)(t5 - t4) / 1e9;

        if (l.done % 100000u == 0 || l.done == n)
            fprintf(stderr, "%sloading: %u/%u rows, %.1f s%s",
                    l.tty ? "\r" : "", l.done, n,
                    (double)(now_ns() - l.t_start) / 1e9, l.tty ? "   " : "\n");
    }
    lookup_load_end(&l);
    rocksdb_writebatch_destroy(wb);
    rocksdb_writeoptions_destroy(wo);

    fprintf(stderr, "rocksdb: flush + full compaction...\n");
    uint64_t t0 = now_ns();
    rocksdb_flushoptions_t *fo = rocksdb_flushoptions_create();
    rocksdb_flushoptions_set_wait(fo, 1);
    char *err = NULL;
    rocksdb_flush(B.rdb, fo, &err);
    if (err != NULL)
        die("rocksdb_flush: %s", err);
    rocksdb_flushoptions_destroy(fo);
    rocksdb_compact_range(B.rdb, NULL, 0, NULL, 0);
    ld->rocks_compact_s = (double)(now_ns() - t0) / 1e9;

    lookup_sizes(&B.lk, &ld->lk);
    ld->rocks_disk = dir_disk_bytes(B.kdir);
    ld->redis_mem = redis_used_memory(rc);
    redisFree(rc);
}

/* ---- measuring ---------------------------------------------------------- */

enum op {
    PT_FSTORE,
    PT_RAW,
    PT_ROCKS,
    PT_REDIS,
    PT_REDIS_PIPE,
    BT_FSTORE,
    BT_RAW,
    BT_ROCKS,
};

typedef struct {
    const char *id, *name;
    enum op op;
    int threads;
    int per; /* keys per operation */
    fs_hist h;
    uint64_t ops;
    double seconds;
    size_t cursor[MAX_THREADS];
} case_t;

typedef struct {
    lookup_batch_t lb; /* keys, their lengths, the matrix, found flags */
    const char *ckeys[GET_BATCH]; /* the keys again, as RocksDB takes them */
    rocksdb_pinnableslice_t *vals[GET_BATCH];
    char *errs[GET_BATCH];
} batchbuf_t;

typedef struct {
    case_t *c;
    int tid, timed;
    double seconds;
    pthread_barrier_t *bar;
    fstore_reader_t *rd;
    MDB_txn *txn;
    redisContext *redis;
    batchbuf_t *bb;
    size_t cursor;
    fs_hist h;
    uint64_t ops;
    double elapsed;
} work_t;

static inline uint64_t pt_rocks(const char *key)
{
    char *err = NULL;
    size_t n;
    rocksdb_pinnableslice_t *ps =
        rocksdb_get_pinned(B.rdb, B.rread, key, KEY_LEN, &err);
    if (err != NULL)
        die("rocksdb_get_pinned: %s", err);
    const char *v = ps ? rocksdb_pinnableslice_value(ps, &n) : NULL;
    if (v == NULL)
        die("rocksdb: key %.*s not found", KEY_LEN, key);
    uint64_t s = touch4(v, n);
    rocksdb_pinnableslice_destroy(ps);
    return s;
}

static inline uint64_t redis_value(redisContext *c, redisReply *r,
                                   const char *key)
{
    if (r == NULL)
        die("redis GET: %s", c->errstr);
    if (r->type != REDIS_REPLY_STRING)
        die("redis GET %.*s: reply type %d", KEY_LEN, key, r->type);
    uint64_t s = touch4(r->str, (size_t)r->len);
    freeReplyObject(r);
    return s;
}

static inline uint64_t pt_redis(work_t *w, const char *key)
{
    redisReply *r = redisCommand(w->redis, "GET %b", key, (size_t)KEY_LEN);
    return redis_value(w->redis, r, key);
}

static inline uint64_t pt_redis_pipe(work_t *w)
{
    const char *keys[PIPE_DEPTH];
    uint64_t s = 0;
    for (int i = 0; i < PIPE_DEPTH; i++) {
        keys[i] = lookup_key(&B.lk, w->cursor++);
        if (redisAppendCommand(w->redis, "GET %b", keys[i], (size_t)KEY_LEN) !=
            REDIS_OK)
            die("redisAppendCommand: %s", w->redis->errstr);
    }
    for (int i = 0; i < PIPE_DEPTH; i++) {
        void *r = NULL;
        if (redisGetReply(w->redis, &r) != REDIS_OK)
            r = NULL;
        s += redis_value(w->redis, r, keys[i]);
    }
    return s;
}

static inline void batch_keys(work_t *w)
{
    batchbuf_t *bb = w->bb;
    for (int i = 0; i < GET_BATCH; i++) {
        bb->ckeys[i] = lookup_key(&B.lk, w->cursor++);
        bb->lb.keys[i] = bb->ckeys[i];
        bb->lb.lens[i] = KEY_LEN;
    }
}

static inline uint64_t bt_rocks(work_t *w)
{
    batchbuf_t *bb = w->bb;
    const size_t want = MATRIX_COLS * sizeof(float);
    rocksdb_batched_multi_get_cf(B.rdb, B.rread, B.cf, GET_BATCH, bb->ckeys,
                                 bb->lb.lens, bb->vals, bb->errs, 0);
    for (int i = 0; i < GET_BATCH; i++) {
        float *row = bb->lb.out + (size_t)i * MATRIX_COLS;
        size_t n = 0;
        const char *v =
            bb->vals[i] ? rocksdb_pinnableslice_value(bb->vals[i], &n) : NULL;
        if (bb->errs[i] != NULL)
            die("rocksdb multi-get: %s", bb->errs[i]);
        if (v != NULL && n >= 5 + want) {
            memcpy(row, v + 5, want);
            bb->lb.found[i] = 1;
        } else {
            bb->lb.found[i] = 0;
        }
        if (bb->vals[i])
            rocksdb_pinnableslice_destroy(bb->vals[i]);
    }
    return lookup_batch_sink(&bb->lb);
}

/* One operation of the case's kind; batches are checked by the caller. */
static inline uint64_t do_op(work_t *w, enum op op)
{
    switch (op) {
    case PT_FSTORE:
        return lookup_point_fstore(&B.lk, w->rd,
                                   lookup_key(&B.lk, w->cursor++));
    case PT_RAW:
        return lookup_point_raw(&B.lk, w->txn, lookup_key(&B.lk, w->cursor++));
    case PT_ROCKS: return pt_rocks(lookup_key(&B.lk, w->cursor++));
    case PT_REDIS: return pt_redis(w, lookup_key(&B.lk, w->cursor++));
    case PT_REDIS_PIPE: return pt_redis_pipe(w);
    case BT_FSTORE: return lookup_batch_fstore(&B.lk, w->rd, &w->bb->lb);
    case BT_RAW: return lookup_batch_raw(&B.lk, w->txn, &w->bb->lb);
    case BT_ROCKS: return bt_rocks(w);
    }
    return 0;
}

static void *worker(void *arg)
{
    work_t *w = arg;
    const enum op op = w->c->op;
    const int batch = op >= BT_FSTORE;
    if (op == PT_FSTORE || op == BT_FSTORE)
        fs_check(fstore_reader_new(B.lk.store, &w->rd), "fstore_reader_new",
                 NULL);
    if (op == PT_RAW || op == BT_RAW)
        mdb_check(mdb_txn_begin(B.lk.env, NULL, MDB_RDONLY, &w->txn),
                  "mdb_txn_begin(RDONLY)");
    if (op == PT_REDIS || op == PT_REDIS_PIPE) {
        w->redis = redis_connect();
        if (w->redis == NULL)
            die("connect to redis on 127.0.0.1:%d failed", B.redis_port);
    }
    if (batch) {
        w->bb = calloc(1, sizeof *w->bb);
        if (w->bb == NULL)
            die("out of memory");
    }
    /* One untimed operation: takes the reader's snapshot, fills buffers. */
    size_t saved = w->cursor;
    if (batch)
        batch_keys(w);
    g_sink += do_op(w, op);
    w->cursor = saved;

    pthread_barrier_wait(w->bar);
    uint64_t sink = 0, t = 0, start = now_ns();
    uint64_t deadline = start + (uint64_t)(w->seconds * 1e9);
    const int chunk = batch || op == PT_REDIS_PIPE ? 1 : CHUNK;
    do {
        if (batch)
            batch_keys(w);
        if (w->timed) {
            for (int k = 0; k < chunk; k++) {
                uint64_t t0 = now_ns();
                sink += do_op(w, op);
                t = now_ns();
                fs_hist_add(&w->h, t - t0);
            }
        } else {
            for (int k = 0; k < chunk; k++)
                sink += do_op(w, op);
            t = now_ns();
            w->ops += (uint64_t)chunk;
        }
        if (batch)
            lookup_batch_check(&w->bb->lb, w->c->name);
    } while (t < deadline);
    w->elapsed = (double)(t - start) / 1e9;
    g_sink += sink;

    if (w->rd)
        fstore_reader_destroy(w->rd);
    if (w->txn)
        mdb_txn_abort(w->txn);
    if (w->redis)
        redisFree(w->redis);
    free(w->bb);
    return NULL;
}

static void run_case(case_t *c, double seconds, int timed)
{
    static work_t ws[MAX_THREADS]; /* holds histograms: keep off the stack */
    pthread_t th[MAX_THREADS];
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, (unsigned)c->threads);
    for (int i = 0; i < c->threads; i++) {
        memset(&ws[i], 0, sizeof ws[i]);
        ws[i].c = c;
        ws[i].tid = i;
        ws[i].timed = timed;
        ws[i].seconds = seconds;
        ws[i].bar = &bar;
        ws[i].cursor = c->cursor[i];
        if (pthread_create(&th[i], NULL, worker, &ws[i]) != 0)
            die("pthread_create failed");
    }
    double el = 0;
    for (int i = 0; i < c->threads; i++) {
        pthread_join(th[i], NULL);
        c->cursor[i] = ws[i].cursor;
        if (timed)
            fs_hist_merge(&c->h, &ws[i].h);
        else
            c->ops += ws[i].ops;
        el += ws[i].elapsed;
    }
    if (!timed)
        c->seconds += el / c->threads;
    pthread_barrier_destroy(&bar);
}

/* Touches every key once in order in every engine except Redis (in memory
 * already): no first page faults or cache misses inside the measurement. */
static void warm_up(void)
{
    fstore_reader_t *rd;
    MDB_txn *txn;
    fs_check(fstore_reader_new(B.lk.store, &rd), "fstore_reader_new", NULL);
    mdb_check(mdb_txn_begin(B.lk.env, NULL, MDB_RDONLY, &txn), "mdb_txn_begin");
    uint64_t sink = 0;
    for (unsigned i = 0; i < opt.rows; i++) {
        const char *key = B.lk.keys + (size_t)i * KEY_STRIDE;
        sink += lookup_point_fstore(&B.lk, rd, key) +
                lookup_point_raw(&B.lk, txn, key) + pt_rocks(key);
    }
    g_sink += sink;
    mdb_txn_abort(txn);
    fstore_reader_destroy(rd);
}

/* ---- reporting ---------------------------------------------------------- */

static double rate(const case_t *c)
{
    return ratio((double)c->ops, c->seconds);
}

static double keys_per_s(const case_t *c)
{
    return rate(c) * c->per;
}

static double p(const case_t *c, double q)
{
    return (double)fs_hist_quantile_high(&c->h, q);
}

static void print_case(FILE *f, const case_t *c, int md)
{
    if (md)
        fprintf(
            f, "| %s | %d | %.0f | %.0f | %.1f | %.0f | %.0f | %.0f | %.0f |\n",
            c->name, c->threads, rate(c), keys_per_s(c),
            ratio(1e9, keys_per_s(c)), fs_hist_mean(&c->h), p(c, .5), p(c, .99),
            p(c, .999));
    else
        fprintf(f, "  %-36s %2d %11.0f %11.0f %8.1f %9.0f %8.0f %8.0f %9.0f\n",
                c->name, c->threads, rate(c), keys_per_s(c),
                ratio(1e9, keys_per_s(c)), fs_hist_mean(&c->h), p(c, .5),
                p(c, .99), p(c, .999));
}

static void print_header(FILE *f, int md, const char *unit_op)
{
    if (md) {
        fprintf(f, "| case | threads | %s/s | keys/s | ns/key | mean ns | "
                   "p50 ns | p99 ns | p999 ns |\n",
                unit_op);
        fprintf(f, "|---|--:|--:|--:|--:|--:|--:|--:|--:|\n");
    } else {
        char h[32];
        snprintf(h, sizeof h, "%s/s", unit_op);
        fprintf(f, "  %-36s %2s %11s %11s %8s %9s %8s %8s %9s\n", "case",
                "th", h, "keys/s", "ns/key", "mean ns", "p50 ns", "p99 ns",
                "p999 ns");
    }
}

static void write_hist(const case_t *c)
{
    char path[4400], label[128];
    snprintf(path, sizeof path, "%s/%s.dat", hist_dir, c->id);
    snprintf(label, sizeof label, "%s, %d thread(s)", c->name, c->threads);
    h_write_dat(&c->h, path, label);
}

int main(int argc, char **argv)
{
    bench_set_prog("baselines");
    lookup_parse_args(argc, argv, &opt, own_option, usage);
    make_dirs();
    open_stores();

    printf("baselines: fstore %s, %u rows, 34 columns (32 scalars + string "
           "category + %d-float embedding)\n",
           fstore_version_str(), opt.rows, EMB_DIM);
    printf("stores in %s; redis-server on 127.0.0.1:%d (no persistence)\n\n",
           B.lk.parent, B.redis_port);
    fflush(stdout);

    load_t ld;
    load(&ld);
    printf("load (%u rows, batches of %d, shuffled keys)\n", opt.rows,
           BATCH_ROWS);
    printf("  %-42s %11.0f rows/s (%.2f s)\n",
           "fstore batch_put + commit (decode+write)",
           opt.rows / ld.lk.fstore_s, ld.lk.fstore_s);
    printf("  %-42s %11.0f rows/s (%.2f s)\n", "raw LMDB mdb_put + commit",
           opt.rows / ld.lk.raw_s, ld.lk.raw_s);
    printf("  %-42s %11.0f rows/s (%.2f s; + %.2f s flush/compaction)\n",
           "RocksDB WriteBatch, no WAL", opt.rows / ld.rocks_s, ld.rocks_s,
           ld.rocks_compact_s);
    printf("  %-42s %11.0f rows/s (%.2f s)\n", "Redis SET, pipelined 10000",
           opt.rows / ld.redis_s, ld.redis_s);
    printf("  %-42s %11.1f bytes\n", "mean Avro value (framed)",
           (double)ld.lk.value_bytes / opt.rows);
    printf("  %-42s %11.1f MB (%.2fx raw values)\n", "fstore on disk",
           ld.lk.fstore_disk / 1e6,
           ratio((double)ld.lk.fstore_disk, (double)ld.lk.value_bytes));
    printf("  %-42s %11.1f MB (%.2fx raw values)\n", "raw LMDB on disk",
           ld.lk.raw_disk / 1e6,
           ratio((double)ld.lk.raw_disk, (double)ld.lk.value_bytes));
    printf("  %-42s %11.1f MB (%.2fx raw values)\n", "RocksDB on disk",
           ld.rocks_disk / 1e6,
           ratio((double)ld.rocks_disk, (double)ld.lk.value_bytes));
    printf("  %-42s %11.1f MB (%.2fx raw values)\n\n", "Redis used_memory",
           ld.redis_mem / 1e6,
           ratio((double)ld.redis_mem, (double)ld.lk.value_bytes));
    fflush(stdout);

    B.lk.seq = make_seq(opt.rows);
    double clk = clock_overhead_ns();
    fprintf(stderr, "warming up (every key once: fstore, LMDB, RocksDB)...\n");
    warm_up();
    size_t cache_used = rocksdb_cache_get_usage(B.cache);

#define CASE(ID, NAME, OP, TH, PER)                                            \
    {.id = ID, .name = NAME, .op = OP, .threads = TH, .per = PER}
    static case_t cases[NCASES_MAX] = {
        CASE("point_fstore", "fstore_get + 4 columns", PT_FSTORE, 1, 1),
        CASE("point_raw", "raw mdb_get + 4 bytes", PT_RAW, 1, 1),
        CASE("point_rocksdb", "RocksDB Get (pinned) + 4 bytes", PT_ROCKS, 1, 1),
        CASE("point_redis", "Redis GET (hiredis) + 4 bytes", PT_REDIS, 1, 1),
        CASE("point_redis_pipe16", "Redis GET pipelined x16", PT_REDIS_PIPE, 1,
             PIPE_DEPTH),
        CASE("point_fstore_2t", "fstore_get + 4 columns", PT_FSTORE, 2, 1),
        CASE("point_raw_2t", "raw mdb_get + 4 bytes", PT_RAW, 2, 1),
        CASE("batch_fstore", "fstore_get_batch 256x32", BT_FSTORE, 1,
             GET_BATCH),
        CASE("batch_raw", "raw 256x(mdb_get+memcpy 32f)", BT_RAW, 1, GET_BATCH),
        CASE("batch_rocksdb", "RocksDB MultiGet 256 + memcpy", BT_ROCKS, 1,
             GET_BATCH),
        CASE("batch_fstore_2t", "fstore_get_batch 256x32", BT_FSTORE, 2,
             GET_BATCH),
        CASE("batch_raw_2t", "raw 256x(mdb_get+memcpy 32f)", BT_RAW, 2,
             GET_BATCH),
    };
    /* With more than two cores, point lookups also on all of them. */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int nall = ncpu > MAX_THREADS ? MAX_THREADS : (int)ncpu;
    int NCASES = NCASES_FIXED;
    if (cases[NCASES_FIXED - 1].id == NULL || cases[NCASES_FIXED].id != NULL)
        die("NCASES_FIXED does not match the cases listed");
    if (nall > 2) {
        cases[NCASES++] = (case_t)CASE("point_fstore_all", "fstore_get + 4 columns",
                                       PT_FSTORE, nall, 1);
        cases[NCASES++] = (case_t)CASE("point_raw_all", "raw mdb_get + 4 bytes",
                                       PT_RAW, nall, 1);
    }
#undef CASE
    for (int i = 0; i < NCASES; i++)
        for (int t = 0; t < cases[i].threads; t++)
            cases[i].cursor[t] = (size_t)t * (SEQ_LEN / MAX_THREADS);

    double slice = opt.seconds / ROUNDS / 2;
    for (int round = 0; round < ROUNDS; round++) {
        fprintf(stderr, "measuring: round %d/%d...\n", round + 1, ROUNDS);
        for (int timed = 0; timed <= 1; timed++)
            for (int i = 0; i < NCASES; i++)
                run_case(&cases[i], slice, timed);
    }
    const case_t *pf = &cases[0], *pr = &cases[1], *pk = &cases[2],
                 *px = &cases[3], *pp = &cases[4], *pf2 = &cases[5],
                 *pr2 = &cases[6], *bf = &cases[7], *br = &cases[8],
                 *bk = &cases[9], *bf2 = &cases[10], *br2 = &cases[11];

    ratio_t ratios[] = {
        {"point_tput_fstore_over_raw", "point: throughput fstore / raw LMDB",
         ratio(rate(pf), rate(pr)), ">= 0.9", 1, 0.9},
        {"point_p50_fstore_over_raw", "point: p50 fstore / raw LMDB",
         ratio(p(pf, .5), p(pr, .5)), NULL, 0, 0},
        {"point_p99_fstore_over_raw", "point: p99 fstore / raw LMDB",
         ratio(p(pf, .99), p(pr, .99)), "<= 2", 0, 2.0},
        {"point_tput_fstore_over_rocksdb", "point: throughput fstore / RocksDB",
         ratio(rate(pf), rate(pk)), ">= 3", 1, 3.0},
        {"point_p99_rocksdb_over_fstore", "point: p99 RocksDB / fstore",
         ratio(p(pk, .99), p(pf, .99)), NULL, 0, 0},
        {"point_tput_fstore_over_redis", "point: throughput fstore / Redis GET",
         ratio(rate(pf), rate(px)), ">= 30", 1, 30.0},
        {"point_p50_redis_over_fstore", "point: p50 Redis GET / fstore",
         ratio(p(px, .5), p(pf, .5)), NULL, 0, 0},
        {"point_keys_fstore_over_redis_pipe16",
         "point: keys/s fstore / Redis pipelined x16",
         ratio(keys_per_s(pf), keys_per_s(pp)), NULL, 0, 0},
        {"point_2t_over_1t_fstore", "point: 2 threads / 1, fstore",
         ratio(rate(pf2), rate(pf)), ">= 1.8", 1, 1.8},
        {"point_2t_over_1t_raw", "point: 2 threads / 1, raw LMDB",
         ratio(rate(pr2), rate(pr)), NULL, 0, 0},
        {"batch_keys_fstore_over_raw", "batch: keys/s fstore / raw loop",
         ratio(keys_per_s(bf), keys_per_s(br)), ">= 0.9", 1, 0.9},
        {"batch_p99_fstore_over_raw", "batch: p99 fstore / raw loop",
         ratio(p(bf, .99), p(br, .99)), NULL, 0, 0},
        {"batch_keys_fstore_over_rocksdb",
         "batch: keys/s fstore / RocksDB MultiGet",
         ratio(keys_per_s(bf), keys_per_s(bk)), NULL, 0, 0},
        {"batch_2t_over_1t_fstore", "batch: 2 threads / 1, fstore",
         ratio(rate(bf2), rate(bf)), ">= 1.8", 1, 1.8},
        {"batch_2t_over_1t_raw", "batch: 2 threads / 1, raw loop",
         ratio(rate(br2), rate(br)), NULL, 0, 0},
        {"store_size_fstore_over_values",
         "size: fstore on disk / raw Avro values",
         ratio((double)ld.lk.fstore_disk, (double)ld.lk.value_bytes), "<= 1.5",
         0, 1.5},
        {0}, {0}, /* room for the all-cores ratios */
    };
    int NRATIOS = (int)(sizeof ratios / sizeof ratios[0]) - 2;
    if (NCASES > NCASES_FIXED) {
        const case_t *pfa = &cases[NCASES_FIXED], *pra = &cases[NCASES_FIXED + 1];
        ratios[NRATIOS++] = (ratio_t){"point_all_over_1t_fstore",
                                      "point: all cores / 1 thread, fstore",
                                      ratio(rate(pfa), rate(pf)), NULL, 0, 0};
        ratios[NRATIOS++] = (ratio_t){"point_all_over_1t_raw",
                                      "point: all cores / 1 thread, raw LMDB",
                                      ratio(rate(pra), rate(pr)), NULL, 0, 0};
    }

    FILE *md = NULL;
    if (markdown != NULL && (md = fopen(markdown, "w")) == NULL)
        die("%s: %s", markdown, strerror(errno));
    FILE *outs[2] = {stdout, md};
    for (int o = 0; o < 2; o++) {
        FILE *f = outs[o];
        if (f == NULL)
            continue;
        int m = o == 1;
        fprintf(f, m ? "### Point lookups (random keys, %.1f s per case)\n\n"
                     : "point lookups: random keys, %.1f s per case\n",
                opt.seconds);
        print_header(f, m, "ops");
        for (int i = 0; i < 7; i++)
            print_case(f, &cases[i], m);
        for (int i = NCASES_FIXED; i < NCASES; i++)
            print_case(f, &cases[i], m);
        fprintf(f, m ? "\n### Batch lookups (%d random keys x %d columns -> "
                       "float32 matrix; ops = batches)\n\n"
                     : "\nbatch lookups: %d random keys x %d columns -> "
                       "float32 matrix (ops = batches)\n",
                GET_BATCH, MATRIX_COLS);
        print_header(f, m, "batches");
        for (int i = 7; i < NCASES_FIXED; i++)
            print_case(f, &cases[i], m);
        print_ratios(f, m, ratios, NRATIOS, 44);
        fprintf(f,
                "%sops/s and keys/s come from untimed passes (a clock read "
                "per %d ops; per op for batches and pipelines); latencies "
                "from timed passes, each sample including one clock_gettime "
                "(%.1f ns here). Multi-thread rows: summed throughput, merged "
                "histograms. RocksDB block cache %.0f MB, %.0f MB in use "
                "after warm-up.\n",
                m ? "\n" : "\n", CHUNK, clk, B.cache_bytes / 1e6,
                cache_used / 1e6);
    }
    if (md != NULL && fclose(md) != 0)
        die("%s: write failed", markdown);

    if (hist_dir != NULL) {
        if (mkdir(hist_dir, 0755) != 0 && errno != EEXIST)
            die("mkdir %s: %s", hist_dir, strerror(errno));
        for (int i = 0; i < NCASES; i++)
            write_hist(&cases[i]);
    }

    if (opt.json != NULL) {
        FILE *f = fopen(opt.json, "w");
        if (f == NULL)
            die("%s: %s", opt.json, strerror(errno));
        fprintf(f,
                "{\n  \"bench\": \"baselines\",\n  \"fstore_version\": "
                "\"%s\",\n  \"rows\": %u,\n  \"columns\": 34,\n"
                "  \"seconds_per_case\": %.2f,\n"
                "  \"clock_overhead_ns\": %.2f,\n"
                "  \"cpus_online\": %ld,\n"
                "  \"rocksdb\": {\"block_cache_bytes\": %zu, "
                "\"block_cache_used_bytes\": %zu, \"bloom_bits_per_key\": 10, "
                "\"compression\": \"none\"},\n"
                "  \"redis_pipeline_depth\": %d,\n",
                fstore_version_str(), opt.rows, opt.seconds, clk,
                sysconf(_SC_NPROCESSORS_ONLN), B.cache_bytes, cache_used,
                PIPE_DEPTH);
        fprintf(f,
                "  \"load\": {\"fstore_rows_per_s\": %.1f, "
                "\"raw_rows_per_s\": %.1f, \"rocksdb_rows_per_s\": %.1f, "
                "\"rocksdb_compact_s\": %.3f, \"redis_rows_per_s\": %.1f, "
                "\"encode_rows_per_s\": %.1f, \"mean_value_bytes\": %.2f, "
                "\"raw_value_bytes\": %" PRIu64
                ", \"fstore_disk_bytes\": %" PRIu64
                ", \"raw_lmdb_disk_bytes\": %" PRIu64
                ", \"rocksdb_disk_bytes\": %" PRIu64
                ", \"redis_used_memory_bytes\": %" PRIu64 "},\n",
                opt.rows / ld.lk.fstore_s, opt.rows / ld.lk.raw_s,
                opt.rows / ld.rocks_s, ld.rocks_compact_s,
                opt.rows / ld.redis_s, opt.rows / ld.lk.encode_s,
                (double)ld.lk.value_bytes / opt.rows, ld.lk.value_bytes,
                ld.lk.fstore_disk, ld.lk.raw_disk, ld.rocks_disk, ld.redis_mem);
        fprintf(f, "  \"cases\": {\n");
        for (int i = 0; i < NCASES; i++) {
            const case_t *c = &cases[i];
            fprintf(f,
                    "    \"%s\": {\"name\": \"%s\", \"threads\": %d, "
                    "\"keys_per_op\": %d, \"untimed_ops\": %" PRIu64
                    ", \"ops_per_s\": %.1f, \"keys_per_s\": %.1f, "
                    "\"ns_per_key\": %.2f, \"samples\": %" PRIu64
                    ", \"mean_ns\": %.1f, \"p50_ns\": %.0f, \"p99_ns\": %.0f"
                    ", \"p999_ns\": %.0f, \"max_ns\": %" PRIu64 "}%s\n",
                    c->id, c->name, c->threads, c->per, c->ops, rate(c),
                    keys_per_s(c), ratio(1e9, keys_per_s(c)), c->h.count,
                    fs_hist_mean(&c->h), p(c, .5), p(c, .99), p(c, .999),
                    c->h.max, i + 1 < NCASES ? "," : "");
        }
        fprintf(f, "  },\n  \"ratios\": {\n");
        json_ratios(f, ratios, NRATIOS, 3);
        fprintf(f, "  }\n}\n");
        if (fclose(f) != 0)
            die("%s: write failed", opt.json);
        printf("figures written to %s\n", opt.json);
    }

    stop_redis();
    rocksdb_readoptions_destroy(B.rread);
    rocksdb_column_family_handle_destroy(B.cf);
    rocksdb_close(B.rdb);
    rocksdb_options_destroy(B.ropts);
    rocksdb_block_based_options_destroy(B.bbto);
    rocksdb_cache_destroy(B.cache);
    if (!opt.keep) {
        remove_flat_dir(B.kdir);
        remove_flat_dir(B.xdir);
    }
    lookup_close(&B.lk, opt.keep);
    return 0;
}
