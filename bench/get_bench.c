/*
 * get_bench: point and batch lookups of fstore against the floor of its
 * design, a plain LMDB mdb_get loop (the targets in docs/performance.md
 * measure against it). Measurement only: it prints figures and never judges
 * them.
 *
 *   bench_get_bench [--rows N] [--dir DIR] [--seconds S] [--json FILE]
 *                   [--sync none|meta|full] [--keep]
 *
 * 1. Load: N rows (default 1,000,000) of a realistic feature record (32
 *    scalar columns, a string category and a 16-float embedding), encoded as
 *    Confluent-framed Avro with avro-c, under shuffled keys "user:%09u", in
 *    batches of 10,000: through fstore_batch_put/commit into a store, and the
 *    same keys with the same Avro value bytes into a plain LMDB environment
 *    next to it (the raw baseline stores the Kafka record value as is; fstore
 *    stores the decoded row, whose length the public API does not expose, so
 *    sizes on disk are reported instead).
 * 1b. Bulk load: the same rows in a shuffled order into empty stores of
 *    their own, one transaction each, as a first bootstrap applies them:
 *    fstore_batch_put of all of them (decode + queue), then the commit (sort
 *    + MDB_APPEND + write), against sorting the (key, value) pairs and
 *    appending them with MDB_APPEND into plain LMDB.
 * 2. Point lookups over one random key sequence, one reader snapshot each:
 *    (a) fstore_get + 4 typed column reads, (b) mdb_get + 4 byte reads.
 * 3. Batch lookups of 256 keys x 32 columns into a float32 matrix:
 *    (c) fstore_get_batch, (d) 256 x mdb_get + memcpy of 32 floats.
 *
 * Each case runs untimed passes (throughput: a clock read every 1024
 * operations) and timed passes (latency: clock_gettime(CLOCK_MONOTONIC)
 * around each operation into a log-linear histogram, no allocation in the
 * loop; the clock's cost is measured and reported). Cases alternate in two
 * rounds so drift hits both sides alike.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "lookup.h"

#include <lmdb.h>

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ROUNDS 2

/* ---- options ------------------------------------------------------------ */

static lookup_opts_t opt = {1000000, NULL, 4.0, NULL, 0};
static const char *sync_mode = "none"; /* --sync */

static void usage(const char *argv0) __attribute__((noreturn));
static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--rows N] [--dir DIR] [--seconds S] [--json FILE]\n"
            "          [--sync none|meta|full] [--keep]\n"
            "  --rows N     rows to load (default 1000000)\n"
            "  --dir DIR    parent directory for the two stores (default: a\n"
            "               new temporary directory, removed at the end)\n"
            "  --seconds S  measuring time per case (default 4)\n"
            "  --json FILE  also write the figures as JSON\n"
            "  --sync MODE  store.sync of fstore and the matching LMDB flags\n"
            "               of the raw baseline (default none)\n"
            "  --keep       keep the stores afterwards\n",
            argv0);
    exit(2);
}

/* The options of this program alone (lookup_parse_args takes the rest). */
static int own_option(const char *a, const char *v)
{
    if (strcmp(a, "--sync") != 0)
        return 0;
    if (strcmp(v, "none") && strcmp(v, "meta") && strcmp(v, "full"))
        die("--sync wants none, meta or full");
    sync_mode = v;
    return 1;
}

/* ---- the two stores ---------------------------------------------------- */

static void make_dirs(lookup_t *b)
{
    lookup_dirs(b, opt.dir, "fstore-get-bench-XXXXXX");
    struct stat st;
    if (stat(b->fdir, &st) == 0 || stat(b->rdir, &st) == 0)
        die("%s already holds a bench store; use an empty --dir", b->parent);
    if (mkdir(b->rdir, 0700) != 0 || mkdir(b->fdir, 0700) != 0)
        die("mkdir in %s: %s", b->parent, strerror(errno));
}

/* ---- loading rows ------------------------------------------------------- */

typedef struct {
    lookup_load_t lk;  /* times, value bytes, sizes on disk */
    uint64_t raw_live; /* raw LMDB B-tree pages in use (mdb_stat) */
} load_t;

static void load(lookup_t *b, load_t *ld)
{
    const unsigned n = opt.rows;
    lookup_loader_t l;
    lookup_load_begin(&l, b, n, &ld->lk);
    while (lookup_load_next(&l)) {
        if (l.done % 100000u == 0 || l.done == n) {
            double el = (double)(now_ns() - l.t_start) / 1e9;
            fprintf(stderr,
                    "%sloading: %u/%u rows, %.1f s, fstore %.0f rows/s, "
                    "raw LMDB %.0f rows/s%s",
                    l.tty ? "\r" : "", l.done, n, el, l.done / ld->lk.fstore_s,
                    l.done / ld->lk.raw_s, l.tty ? "   " : "\n");
        }
    }
    lookup_load_end(&l);
    lookup_sizes(b, &ld->lk);

    MDB_txn *txn;
    MDB_stat ms;
    mdb_check(mdb_txn_begin(b->env, NULL, MDB_RDONLY, &txn), "mdb_txn_begin");
    mdb_check(mdb_stat(txn, b->dbi, &ms), "mdb_stat");
    mdb_txn_abort(txn);
    ld->raw_live = (uint64_t)(ms.ms_branch_pages + ms.ms_leaf_pages +
                              ms.ms_overflow_pages) *
                   ms.ms_psize;
}

/* ---- bulk load: a bootstrap's one transaction ---------------------------- */

/* The rows again, arriving in a shuffled order, into empty stores of their
 * own in one transaction each, as a first bootstrap applies them: fstore
 * queues every record (decode + copy) and commits (sort + MDB_APPEND +
 * write); the raw baseline sorts the (key, value) pairs and appends them
 * with MDB_APPEND, the floor of that path. */
typedef struct {
    double encode_s, queue_s, commit_s; /* fstore */
    double raw_s;                       /* raw: sort + MDB_APPEND + commit */
} bulk_t;

typedef struct {
    const char *key;
    size_t off, len; /* of the value in the copies */
} kv_t;

static int kv_cmp(const void *a, const void *b)
{
    return memcmp(((const kv_t *)a)->key, ((const kv_t *)b)->key, KEY_LEN);
}

static void bulk(const lookup_t *b, bulk_t *bk)
{
    const unsigned n = opt.rows;
    char fdir[4300], rdir[4300];
    snprintf(fdir, sizeof fdir, "%s/fstore-bulk", b->parent);
    snprintf(rdir, sizeof rdir, "%s/raw-bulk", b->parent);
    if (mkdir(fdir, 0700) != 0 || mkdir(rdir, 0700) != 0)
        die("mkdir in %s: %s", b->parent, strerror(errno));
    size_t map = bench_map_size(n, 1024u);
    fstore_conf_t *conf = bench_conf_new(map);
    bench_conf_set(conf, "store.sync", sync_mode);
    const fstore_table_t *t;
    fstore_store_t *s = bench_store_open(fdir, conf, &t);

    uint32_t *perm = make_perm(n);
    kv_t *kv = malloc((size_t)n * sizeof *kv);
    if (kv == NULL)
        die("out of memory");
    uint8_t *vals = NULL;
    size_t vals_len = 0, vals_cap = 0;
    encoder_t enc;
    encoder_init(&enc);
    memset(bk, 0, sizeof *bk);
    fstore_batch_t *batch;
    fs_check(fstore_batch_begin(s, &batch), "fstore_batch_begin", NULL);
    char err[512];
    for (unsigned base = 0; base < n; base += BATCH_ROWS) {
        size_t cnt = n - base < BATCH_ROWS ? n - base : BATCH_ROWS;
        uint64_t t0 = now_ns();
        encode_batch(&enc, perm + base, cnt);
        uint64_t t1 = now_ns();
        for (size_t i = 0; i < cnt; i++) {
            const char *key = b->keys + (size_t)perm[base + i] * KEY_STRIDE;
            size_t vlen = enc.starts[i + 1] - enc.starts[i];
            fs_check(fstore_batch_put(batch, t, key, KEY_LEN,
                                      enc.arena + enc.starts[i], vlen,
                                      (int32_t)(perm[base + i] & 3),
                                      (int64_t)(base + i), 1, err, sizeof err),
                     "fstore_batch_put", err);
        }
        uint64_t t2 = now_ns();
        /* The raw side's copies, outside both timings. */
        for (size_t i = 0; i < cnt; i++) {
            size_t vlen = enc.starts[i + 1] - enc.starts[i];
            kv[base + i].key = b->keys + (size_t)perm[base + i] * KEY_STRIDE;
            if (vals_len + vlen > vals_cap) {
                vals_cap = vals_cap ? vals_cap * 2 : (size_t)1 << 20;
                if ((vals = realloc(vals, vals_cap)) == NULL)
                    die("out of memory for %zu bytes of values", vals_cap);
            }
            kv[base + i].off = vals_len;
            kv[base + i].len = vlen;
            memcpy(vals + vals_len, enc.arena + enc.starts[i], vlen);
            vals_len += vlen;
        }
        bk->encode_s += (double)(t1 - t0) / 1e9;
        bk->queue_s += (double)(t2 - t1) / 1e9;
    }
    fprintf(stderr, "bulk load: committing %u rows in one transaction...\n",
            n);
    uint64_t t0 = now_ns();
    fs_check(fstore_batch_commit(batch, err, sizeof err), "fstore_batch_commit",
             err);
    bk->commit_s = (double)(now_ns() - t0) / 1e9;
    fstore_store_close(s);

    MDB_env *env;
    MDB_dbi dbi;
    MDB_txn *txn;
    mdb_check(mdb_env_create(&env), "mdb_env_create");
    mdb_check(mdb_env_set_mapsize(env, map), "mdb_env_set_mapsize");
    mdb_check(mdb_env_open(env, rdir, MDB_NOSYNC, 0600), "mdb_env_open");
    fprintf(stderr, "bulk load: raw LMDB sort + MDB_APPEND...\n");
    t0 = now_ns();
    qsort(kv, n, sizeof *kv, kv_cmp);
    mdb_check(mdb_txn_begin(env, NULL, 0, &txn), "mdb_txn_begin");
    mdb_check(mdb_dbi_open(txn, NULL, 0, &dbi), "mdb_dbi_open");
    for (unsigned i = 0; i < n; i++) {
        MDB_val k = {KEY_LEN, (void *)(uintptr_t)kv[i].key};
        MDB_val v = {kv[i].len, vals + kv[i].off};
        mdb_check(mdb_put(txn, dbi, &k, &v, MDB_APPEND), "mdb_put(APPEND)");
    }
    mdb_check(mdb_txn_commit(txn), "mdb_txn_commit");
    bk->raw_s = (double)(now_ns() - t0) / 1e9;
    mdb_env_close(env);

    encoder_free(&enc);
    free(vals);
    free(kv);
    free(perm);
    if (!opt.keep) {
        remove_flat_dir(fdir);
        remove_flat_dir(rdir);
    }
}

/* ---- measuring ----------------------------------------------------------- */

static volatile uint64_t g_sink; /* keeps reads from being optimised out */

typedef struct {
    fs_hist h;      /* timed passes: one sample per operation */
    uint64_t ops;   /* untimed passes: operations ... */
    double seconds; /* ... and their wall time, for the throughput */
    size_t cursor;  /* position in the shared key sequence */
} run_t;

/*
 * Every case runs in two modes over the same key sequence: timed (a clock
 * read around each operation, into the histogram) for latencies, and
 * untimed (clock reads only every 1024 operations) for throughput, so the
 * clock's own cost does not flatten the throughput ratio.
 */
#define CHUNK 1024

enum side { FSTORE_SIDE, RAW_SIDE };

/* One point lookup: fstore's through @p rd or raw LMDB's through @p txn. */
static inline uint64_t point_op(const lookup_t *b, enum side side,
                                fstore_reader_t *rd, MDB_txn *txn,
                                const char *key)
{
    return side == FSTORE_SIDE ? lookup_point_fstore(b, rd, key)
                               : lookup_point_raw(b, txn, key);
}

/* Point lookups for @p seconds on @p side: fstore's through @p rd or raw
 * LMDB's through @p txn. The side is a constant at each call, so that the
 * compiler makes a loop of each (no test per lookup). */
static void point_run(const lookup_t *b, enum side side, fstore_reader_t *rd,
                      MDB_txn *txn, run_t *r, double seconds, int timed)
{
    uint64_t sink = 0, t = 0, start = now_ns();
    uint64_t deadline = start + (uint64_t)(seconds * 1e9);
    do {
        if (timed) {
            for (int k = 0; k < CHUNK; k++) {
                const char *key = lookup_key(b, r->cursor++);
                uint64_t t0 = now_ns();
                sink += point_op(b, side, rd, txn, key);
                t = now_ns();
                fs_hist_add(&r->h, t - t0);
            }
        } else {
            for (int k = 0; k < CHUNK; k++)
                sink += point_op(b, side, rd, txn, lookup_key(b, r->cursor++));
            t = now_ns();
            r->ops += CHUNK;
        }
    } while (t < deadline);
    if (!timed)
        r->seconds += (double)(t - start) / 1e9;
    g_sink += sink;
}

static void batch_keys(const lookup_t *b, lookup_batch_t *bb, run_t *r)
{
    for (int i = 0; i < GET_BATCH; i++) {
        bb->keys[i] = lookup_key(b, r->cursor++);
        bb->lens[i] = KEY_LEN;
    }
}

/* Batch lookups for @p seconds: fstore's through @p rd, or raw LMDB's
 * through @p txn when @p rd is NULL. Batches are checked outside the timed
 * region: every key must be found. */
static void batch_run(const lookup_t *b, fstore_reader_t *rd, MDB_txn *txn,
                      lookup_batch_t *bb, run_t *r, double seconds, int timed)
{
    uint64_t sink = 0, t = 0, start = now_ns();
    uint64_t deadline = start + (uint64_t)(seconds * 1e9);
    const char *what = rd ? "fstore_get_batch" : "raw batch";
    do {
        batch_keys(b, bb, r);
        uint64_t t0 = timed ? now_ns() : 0;
        sink +=
            rd ? lookup_batch_fstore(b, rd, bb) : lookup_batch_raw(b, txn, bb);
        t = now_ns();
        if (timed)
            fs_hist_add(&r->h, t - t0);
        else
            r->ops++;
        lookup_batch_check(bb, what);
    } while (t < deadline);
    if (!timed)
        r->seconds += (double)(t - start) / 1e9;
    g_sink += sink;
}

/* Touches every key once in order on both sides, so neither pays first
 * page faults of the memory map inside the measurement. */
static void warm_up(const lookup_t *b, fstore_reader_t *rd, MDB_txn *txn)
{
    uint64_t sink = 0;
    for (unsigned i = 0; i < opt.rows; i++) {
        const char *key = b->keys + (size_t)i * KEY_STRIDE;
        const fstore_row_t *row;
        int32_t x = 0;
        fstore_err_t err = fstore_get(rd, b->table, key, KEY_LEN, &row);
        if (err != FSTORE_OK)
            die("warm-up fstore_get %.*s: %s (%s)", KEY_LEN, key,
                fstore_err_name(err), fstore_reader_errmsg(rd));
        fstore_row_int(b->table, row, b->point_cols[3], &x);
        MDB_val kv = {KEY_LEN, (void *)(uintptr_t)key}, v;
        mdb_check(mdb_get(txn, b->dbi, &kv, &v), "warm-up mdb_get");
        sink += (uint64_t)x + ((const uint8_t *)v.mv_data)[v.mv_size - 1];
    }
    g_sink += sink;
}

/* ---- reporting ------------------------------------------------------------
 */

typedef struct {
    const char *name;
    run_t *run;
    double per; /* keys per operation */
} row_t;

static void print_case(const row_t *c)
{
    const fs_hist *h = &c->run->h;
    double rate = (double)c->run->ops / c->run->seconds;
    printf("  %-34s %11.0f %9.1f %9.0f %8" PRIu64 " %8" PRIu64 " %8" PRIu64
           "\n",
           c->name, rate, 1e9 / (rate * c->per), fs_hist_mean(h),
           fs_hist_quantile_high(h, 0.50), fs_hist_quantile_high(h, 0.99),
           fs_hist_quantile_high(h, 0.999));
}

static void json_case(FILE *f, const char *id, const row_t *c, int last)
{
    const fs_hist *h = &c->run->h;
    fprintf(f,
            "    \"%s\": {\"name\": \"%s\", \"keys_per_op\": %.0f, "
            "\"untimed_ops\": %" PRIu64 ", \"ops_per_s\": %.1f, "
            "\"ns_per_key\": %.2f, \"samples\": %" PRIu64
            ", \"mean_ns\": %.1f, \"p50_ns\": %" PRIu64 ", \"p99_ns\": %" PRIu64
            ", \"p999_ns\": %" PRIu64 ", \"max_ns\": %" PRIu64 "}%s\n",
            id, c->name, c->per, c->run->ops,
            (double)c->run->ops / c->run->seconds,
            c->run->seconds * 1e9 / ((double)c->run->ops * c->per), h->count,
            fs_hist_mean(h), fs_hist_quantile_high(h, 0.50),
            fs_hist_quantile_high(h, 0.99), fs_hist_quantile_high(h, 0.999),
            h->max, last ? "" : ",");
}

int main(int argc, char **argv)
{
    bench_set_prog("get_bench");
    lookup_parse_args(argc, argv, &opt, own_option, usage);
    static lookup_t b;
    make_dirs(&b);
    lookup_open(&b, opt.rows, sync_mode);

    printf("get_bench: fstore %s, %u rows, 34 columns (32 scalars + string "
           "category + %d-float embedding), store.sync=%s\n",
           fstore_version_str(), opt.rows, EMB_DIM, sync_mode);
    printf("stores in %s\n", b.parent);
    printf("raw baseline: plain LMDB (same machine, same keys), key -> the "
           "Confluent-framed Avro value bytes exactly as produced to Kafka;\n"
           "              fstore stores the decoded row layout instead "
           "(its length is not public API; see sizes on disk)\n\n");
    fflush(stdout);

    load_t ld;
    load(&b, &ld);

    printf("load (%u rows, batches of %d, shuffled keys)\n", opt.rows,
           BATCH_ROWS);
    printf("  %-44s %12.0f rows/s  (%.2f s)\n",
           "fstore batch_put + commit (decode + write)",
           opt.rows / ld.lk.fstore_s, ld.lk.fstore_s);
    printf("  %-44s %12.0f rows/s  (%.2f s)\n", "raw LMDB mdb_put + commit",
           opt.rows / ld.lk.raw_s, ld.lk.raw_s);
    printf("  %-44s %12.0f rows/s  (%.2f s, not in either figure)\n",
           "avro-c encoding of the values", opt.rows / ld.lk.encode_s,
           ld.lk.encode_s);
    printf("  %-44s %12.1f bytes\n", "mean Avro value (framed)",
           (double)ld.lk.value_bytes / opt.rows);
    printf("  %-44s %12.1f MB\n", "raw Avro values, total",
           ld.lk.value_bytes / 1e6);
    printf("  %-44s %12.1f MB  (%.2fx raw values)\n", "fstore store on disk",
           ld.lk.fstore_disk / 1e6,
           ratio((double)ld.lk.fstore_disk, (double)ld.lk.value_bytes));
    printf("  %-44s %12.1f MB  (%.2fx raw values)\n", "raw LMDB on disk",
           ld.lk.raw_disk / 1e6,
           ratio((double)ld.lk.raw_disk, (double)ld.lk.value_bytes));
    printf("  %-44s %12.1f MB  (%.2fx raw values; files above also hold "
           "free pages)\n\n",
           "raw LMDB B-tree pages in use", ld.raw_live / 1e6,
           ratio((double)ld.raw_live, (double)ld.lk.value_bytes));
    fflush(stdout);

    bulk_t bk;
    bulk(&b, &bk);
    printf("bulk load (%u rows in one transaction into empty stores, as a "
           "first bootstrap; shuffled arrival)\n",
           opt.rows);
    printf("  %-44s %12.0f rows/s  (%.2f s)\n",
           "fstore batch_put (decode + queue)", opt.rows / bk.queue_s,
           bk.queue_s);
    printf("  %-44s %12.0f rows/s  (%.2f s)\n",
           "fstore commit (sort + MDB_APPEND + write)", opt.rows / bk.commit_s,
           bk.commit_s);
    printf("  %-44s %12.0f rows/s  (%.2f s)\n",
           "raw LMDB sort + MDB_APPEND + commit", opt.rows / bk.raw_s,
           bk.raw_s);
    printf("  %-44s %12.2fx  (raw time / fstore time; encoding %.2f s in "
           "neither)\n\n",
           "fstore commit vs raw", ratio(bk.raw_s, bk.commit_s), bk.encode_s);
    fflush(stdout);

    /* One random key sequence for every case. */
    b.seq = make_seq(opt.rows);

    fstore_reader_t *rd;
    fs_check(fstore_reader_new(b.store, &rd), "fstore_reader_new", NULL);
    MDB_txn *txn;
    mdb_check(mdb_txn_begin(b.env, NULL, MDB_RDONLY, &txn),
              "mdb_txn_begin(RDONLY)");
    double clk = clock_overhead_ns();
    fprintf(stderr, "warming up (every key once, both stores)...\n");
    warm_up(&b, rd, txn);

    static run_t ra, rb, rc, rdd;
    static lookup_batch_t bb;
    double slice = opt.seconds / ROUNDS;
    for (int round = 0; round < ROUNDS; round++) {
        fprintf(stderr, "measuring: round %d/%d...\n", round + 1, ROUNDS);
        for (int timed = 0; timed <= 1; timed++) {
            point_run(&b, FSTORE_SIDE, rd, NULL, &ra, slice / 2, timed);
            point_run(&b, RAW_SIDE, NULL, txn, &rb, slice / 2, timed);
            batch_run(&b, rd, NULL, &bb, &rc, slice / 2, timed);
            batch_run(&b, NULL, txn, &bb, &rdd, slice / 2, timed);
        }
    }
    mdb_txn_abort(txn);
    fstore_reader_destroy(rd);

    row_t cases[4] = {{"(a) fstore_get + 4 columns", &ra, 1},
                      {"(b) raw mdb_get + 4 bytes", &rb, 1},
                      {"(c) fstore_get_batch 256x32", &rc, GET_BATCH},
                      {"(d) raw 256x(mdb_get+memcpy 32f)", &rdd, GET_BATCH}};

    printf("point lookups: random keys, one reader snapshot, %.1f s each\n",
           opt.seconds);
    printf("  %-34s %11s %9s %9s %8s %8s %8s\n", "case", "ops/s", "ns/key",
           "mean ns", "p50 ns", "p99 ns", "p999 ns");
    print_case(&cases[0]);
    print_case(&cases[1]);
    double tput_pt = ratio(ra.ops / ra.seconds, rb.ops / rb.seconds);
    printf("  fstore/raw: throughput %.2fx, mean latency %.2fx, p50 %.2fx, "
           "p99 %.2fx, p999 %.2fx\n\n",
           tput_pt, ratio(fs_hist_mean(&ra.h), fs_hist_mean(&rb.h)),
           ratio((double)fs_hist_quantile_high(&ra.h, .5),
                 (double)fs_hist_quantile_high(&rb.h, .5)),
           ratio((double)fs_hist_quantile_high(&ra.h, .99),
                 (double)fs_hist_quantile_high(&rb.h, .99)),
           ratio((double)fs_hist_quantile_high(&ra.h, .999),
                 (double)fs_hist_quantile_high(&rb.h, .999)));

    printf("batch lookups: %d random keys x %d columns -> float32 matrix, "
           "%.1f s each (ops = batches)\n",
           GET_BATCH, MATRIX_COLS, opt.seconds);
    printf("  %-34s %11s %9s %9s %8s %8s %8s\n", "case", "batches/s", "ns/key",
           "mean ns", "p50 ns", "p99 ns", "p999 ns");
    print_case(&cases[2]);
    print_case(&cases[3]);
    double tput_b = ratio(rc.ops / rc.seconds, rdd.ops / rdd.seconds);
    printf("  fstore/raw: throughput %.2fx, mean latency %.2fx, p50 %.2fx, "
           "p99 %.2fx\n\n",
           tput_b, ratio(fs_hist_mean(&rc.h), fs_hist_mean(&rdd.h)),
           ratio((double)fs_hist_quantile_high(&rc.h, .5),
                 (double)fs_hist_quantile_high(&rdd.h, .5)),
           ratio((double)fs_hist_quantile_high(&rc.h, .99),
                 (double)fs_hist_quantile_high(&rdd.h, .99)));
    printf("ops/s and ns/key come from untimed passes (a clock read per %d "
           "operations);\nlatencies from timed passes, each sample including "
           "one clock_gettime (%.1f ns here), both sides alike.\n"
           "Throughput ratio > 1 or latency ratio < 1: fstore is faster.\n",
           CHUNK, clk);

    if (opt.json != NULL) {
        FILE *f = fopen(opt.json, "w");
        if (f == NULL)
            die("%s: %s", opt.json, strerror(errno));
        fprintf(f,
                "{\n  \"bench\": \"get_bench\",\n  \"fstore_version\": "
                "\"%s\",\n  \"rows\": %u,\n  \"columns\": 34,\n"
                "  \"sync\": \"%s\",\n  \"seconds_per_case\": %.2f,\n"
                "  \"clock_overhead_ns\": %.2f,\n"
                "  \"raw_baseline\": \"plain LMDB, key -> Confluent-framed "
                "Avro value bytes\",\n",
                fstore_version_str(), opt.rows, sync_mode, opt.seconds, clk);
        fprintf(f,
                "  \"load\": {\"fstore_rows_per_s\": %.1f, "
                "\"raw_rows_per_s\": %.1f, \"encode_rows_per_s\": %.1f, "
                "\"mean_value_bytes\": %.2f, \"raw_value_bytes\": %" PRIu64
                ", \"fstore_disk_bytes\": %" PRIu64
                ", \"raw_lmdb_disk_bytes\": %" PRIu64
                ", \"raw_lmdb_live_bytes\": %" PRIu64
                ", \"fstore_disk_over_values\": %.3f},\n",
                opt.rows / ld.lk.fstore_s, opt.rows / ld.lk.raw_s,
                opt.rows / ld.lk.encode_s, (double)ld.lk.value_bytes / opt.rows,
                ld.lk.value_bytes, ld.lk.fstore_disk, ld.lk.raw_disk,
                ld.raw_live,
                ratio((double)ld.lk.fstore_disk, (double)ld.lk.value_bytes));
        fprintf(f,
                "  \"bulk\": {\"fstore_queue_rows_per_s\": %.1f, "
                "\"fstore_commit_rows_per_s\": %.1f, "
                "\"raw_append_rows_per_s\": %.1f, "
                "\"raw_over_fstore_commit\": %.3f},\n",
                opt.rows / bk.queue_s, opt.rows / bk.commit_s,
                opt.rows / bk.raw_s, ratio(bk.raw_s, bk.commit_s));
        fprintf(f, "  \"cases\": {\n");
        json_case(f, "point_fstore", &cases[0], 0);
        json_case(f, "point_raw", &cases[1], 0);
        json_case(f, "batch_fstore", &cases[2], 0);
        json_case(f, "batch_raw", &cases[3], 1);
        fprintf(f, "  },\n");
        fprintf(f,
                "  \"ratios\": {\"point_throughput\": %.3f, "
                "\"point_p50\": %.3f, \"point_p99\": %.3f, "
                "\"batch_throughput\": %.3f, \"batch_p99\": %.3f}\n}\n",
                tput_pt,
                ratio((double)fs_hist_quantile_high(&ra.h, .5),
                      (double)fs_hist_quantile_high(&rb.h, .5)),
                ratio((double)fs_hist_quantile_high(&ra.h, .99),
                      (double)fs_hist_quantile_high(&rb.h, .99)),
                tput_b,
                ratio((double)fs_hist_quantile_high(&rc.h, .99),
                      (double)fs_hist_quantile_high(&rdd.h, .99)));
        if (fclose(f) != 0)
            die("%s: write failed", opt.json);
        printf("figures written to %s\n", opt.json);
    }

    lookup_close(&b, opt.keep);
    return 0;
}
