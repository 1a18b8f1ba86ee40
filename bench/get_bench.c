/*
 * get_bench: point and batch lookups of fstore against the floor of its
 * design, a plain LMDB mdb_get loop (DESIGN.md §8). Measurement only: it
 * prints figures and never judges them.
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
#include "bench_common.h"

#include <lmdb.h>

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 2

/* ---- options ------------------------------------------------------------ */

static struct {
    unsigned rows;
    const char *dir;
    double seconds;
    const char *json;
    const char *sync;
    int keep;
} opt = {1000000, NULL, 4.0, NULL, "none", 0};

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

static void parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--keep") == 0) {
            opt.keep = 1;
            continue;
        }
        if (v == NULL)
            usage(argv[0]);
        if (strcmp(a, "--rows") == 0) {
            char *end;
            unsigned long n = strtoul(v, &end, 10);
            if (*end != '\0' || n < GET_BATCH || n > 999999999ul)
                die("--rows wants an integer in [%d, 999999999]", GET_BATCH);
            opt.rows = (unsigned)n;
        } else if (strcmp(a, "--dir") == 0) {
            opt.dir = v;
        } else if (strcmp(a, "--seconds") == 0) {
            opt.seconds = atof(v);
            if (!(opt.seconds > 0.0))
                die("--seconds wants a positive number");
        } else if (strcmp(a, "--json") == 0) {
            opt.json = v;
        } else if (strcmp(a, "--sync") == 0) {
            if (strcmp(v, "none") && strcmp(v, "meta") && strcmp(v, "full"))
                die("--sync wants none, meta or full");
            opt.sync = v;
        } else {
            usage(argv[0]);
        }
        i++;
    }
}

/* ---- the two stores ---------------------------------------------------- */

typedef struct {
    char parent[4096], fdir[4200], rdir[4200];
    int made_parent;
    fstore_store_t *store;
    const fstore_table_t *table;
    MDB_env *env;
    MDB_dbi dbi;
    char *keys; /* rows * KEY_STRIDE */
    uint32_t *seq;
    int point_cols[4];
    int matrix_cols[MATRIX_COLS];
} bench_t;

static void make_dirs(bench_t *b)
{
    if (opt.dir != NULL) {
        snprintf(b->parent, sizeof b->parent, "%s", opt.dir);
        if (mkdir(b->parent, 0700) != 0 && errno != EEXIST)
            die("mkdir %s: %s", b->parent, strerror(errno));
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(b->parent, sizeof b->parent, "%s/fstore-get-bench-XXXXXX",
                 tmp ? tmp : "/tmp");
        if (mkdtemp(b->parent) == NULL)
            die("mkdtemp %s: %s", b->parent, strerror(errno));
        b->made_parent = 1;
    }
    snprintf(b->fdir, sizeof b->fdir, "%s/fstore", b->parent);
    snprintf(b->rdir, sizeof b->rdir, "%s/raw-lmdb", b->parent);
    struct stat st;
    if (stat(b->fdir, &st) == 0 || stat(b->rdir, &st) == 0)
        die("%s already holds a bench store; use an empty --dir", b->parent);
    if (mkdir(b->rdir, 0700) != 0 || mkdir(b->fdir, 0700) != 0)
        die("mkdir in %s: %s", b->parent, strerror(errno));
}

static void open_stores(bench_t *b)
{
    char errstr[512] = "", num[32];
    size_t map = (size_t)opt.rows * 1024u;
    if (map < ((size_t)1 << 30))
        map = (size_t)1 << 30;

    fstore_conf_t *conf = fstore_conf_new();
    if (conf == NULL)
        die("fstore_conf_new: out of memory");
    snprintf(num, sizeof num, "%zu", map);
    fs_check(
        fstore_conf_set(conf, "store.sync", opt.sync, errstr, sizeof errstr),
        "store.sync", errstr);
    fs_check(
        fstore_conf_set(conf, "store.map_size", num, errstr, sizeof errstr),
        "store.map_size", errstr);
    fs_check(fstore_store_open(b->fdir, conf, &b->store, errstr, sizeof errstr),
             "fstore_store_open", errstr);
    fstore_conf_destroy(conf);

    char *json = schema_json();
    if (json == NULL)
        die("out of memory");
    fs_check(fstore_schema_register(b->store, 1, json, errstr, sizeof errstr),
             "fstore_schema_register", errstr);
    fs_check(fstore_table_create(b->store, "user_features", json,
                                 FSTORE_FORMAT_CONFLUENT, -1, &b->table, errstr,
                                 sizeof errstr),
             "fstore_table_create", errstr);
    free(json);

    for (int i = 0; i < 4; i++) {
        b->point_cols[i] = fstore_table_column_index(b->table, POINT_COLS[i]);
        if (b->point_cols[i] < 0)
            die("column %s missing", POINT_COLS[i]);
    }
    for (int i = 0; i < MATRIX_COLS; i++) {
        b->matrix_cols[i] =
            fstore_table_column_index(b->table, SCALARS[i].name);
        if (b->matrix_cols[i] < 0)
            die("column %s missing", SCALARS[i].name);
    }

    unsigned flags = 0;
    if (strcmp(opt.sync, "none") == 0)
        flags |= MDB_NOSYNC;
    else if (strcmp(opt.sync, "meta") == 0)
        flags |= MDB_NOMETASYNC;
    mdb_check(mdb_env_create(&b->env), "mdb_env_create");
    mdb_check(mdb_env_set_mapsize(b->env, map), "mdb_env_set_mapsize");
    mdb_check(mdb_env_open(b->env, b->rdir, flags, 0600), "mdb_env_open");
    MDB_txn *txn;
    mdb_check(mdb_txn_begin(b->env, NULL, 0, &txn), "mdb_txn_begin");
    mdb_check(mdb_dbi_open(txn, NULL, 0, &b->dbi), "mdb_dbi_open");
    mdb_check(mdb_txn_commit(txn), "mdb_txn_commit");
}

/* ---- generating and loading rows ---------------------------------------- */

typedef struct {
    double encode_s, fstore_s, raw_s;
    uint64_t value_bytes;
    uint64_t fstore_disk, raw_disk;
    uint64_t raw_live; /* raw LMDB B-tree pages in use (mdb_stat) */
} load_t;

static void load(bench_t *b, load_t *ld)
{
    const unsigned n = opt.rows;
    uint32_t *perm = make_perm(n);
    b->keys = make_keys(n);

    encoder_t enc;
    encoder_init(&enc);
    memset(ld, 0, sizeof *ld);
    int tty = isatty(STDERR_FILENO);
    int64_t offset = 0;
    int64_t ts = (int64_t)time(NULL) * 1000;
    uint64_t t_start = now_ns();

    for (unsigned base = 0; base < n; base += BATCH_ROWS) {
        size_t cnt = n - base < BATCH_ROWS ? n - base : BATCH_ROWS;
        const uint32_t *ids = perm + base;

        uint64_t t0 = now_ns();
        encode_batch(&enc, ids, cnt);
        uint64_t t1 = now_ns();

        fstore_batch_t *batch;
        char errstr[512] = "";
        fs_check(fstore_batch_begin(b->store, &batch), "fstore_batch_begin",
                 NULL);
        for (size_t i = 0; i < cnt; i++) {
            const char *key = b->keys + (size_t)ids[i] * KEY_STRIDE;
            fstore_err_t err = fstore_batch_put(
                batch, b->table, key, KEY_LEN, enc.arena + enc.starts[i],
                enc.starts[i + 1] - enc.starts[i], 0, offset++, ts, errstr,
                sizeof errstr);
            fs_check(err, "fstore_batch_put", errstr);
        }
        fs_check(fstore_batch_commit(batch, errstr, sizeof errstr),
                 "fstore_batch_commit", errstr);
        uint64_t t2 = now_ns();

        MDB_txn *txn;
        mdb_check(mdb_txn_begin(b->env, NULL, 0, &txn), "mdb_txn_begin");
        for (size_t i = 0; i < cnt; i++) {
            MDB_val k = {KEY_LEN, b->keys + (size_t)ids[i] * KEY_STRIDE};
            MDB_val v = {enc.starts[i + 1] - enc.starts[i],
                         enc.arena + enc.starts[i]};
            mdb_check(mdb_put(txn, b->dbi, &k, &v, 0), "mdb_put");
        }
        mdb_check(mdb_txn_commit(txn), "mdb_txn_commit");
        uint64_t t3 = now_ns();

        ld->encode_s += (double)(t1 - t0) / 1e9;
        ld->fstore_s += (double)(t2 - t1) / 1e9;
        ld->raw_s += (double)(t3 - t2) / 1e9;
        ld->value_bytes += enc.starts[cnt];

        unsigned done = base + (unsigned)cnt;
        if (done % 100000u == 0 || done == n) {
            double el = (double)(now_ns() - t_start) / 1e9;
            fprintf(stderr,
                    "%sloading: %u/%u rows, %.1f s, fstore %.0f rows/s, "
                    "raw LMDB %.0f rows/s%s",
                    tty ? "\r" : "", done, n, el, done / ld->fstore_s,
                    done / ld->raw_s, tty ? "   " : "\n");
        }
    }
    if (tty)
        fputc('\n', stderr);
    encoder_free(&enc);
    free(perm);

    mdb_env_sync(b->env, 1);
    ld->fstore_disk = dir_disk_bytes(b->fdir);
    ld->raw_disk = dir_disk_bytes(b->rdir);

    MDB_txn *txn;
    MDB_stat ms;
    mdb_check(mdb_txn_begin(b->env, NULL, MDB_RDONLY, &txn), "mdb_txn_begin");
    mdb_check(mdb_stat(txn, b->dbi, &ms), "mdb_stat");
    mdb_txn_abort(txn);
    ld->raw_live = (uint64_t)(ms.ms_branch_pages + ms.ms_leaf_pages +
                              ms.ms_overflow_pages) *
                   ms.ms_psize;
}

/* ---- measuring ----------------------------------------------------------- */

static volatile uint64_t g_sink; /* keeps reads from being optimised out */

typedef struct {
    hist_t h;       /* timed passes: one sample per operation */
    uint64_t ops;   /* untimed passes: operations ... */
    double seconds; /* ... and their wall time, for the throughput */
    size_t cursor;  /* position in the shared key sequence */
} run_t;

static inline const char *key_at(const bench_t *b, size_t pos)
{
    return b->keys + (size_t)b->seq[pos & (SEQ_LEN - 1)] * KEY_STRIDE;
}

/*
 * Every case runs in two modes over the same key sequence: timed (a clock
 * read around each operation, into the histogram) for latencies, and
 * untimed (clock reads only every 1024 operations) for throughput, so the
 * clock's own cost does not flatten the throughput ratio.
 */
#define CHUNK 1024

static inline uint64_t point_fstore_op(bench_t *b, fstore_reader_t *rd,
                                       const char *key)
{
    const fstore_row_t *row;
    int64_t l = 0;
    double d = 0;
    float f = 0;
    int32_t i = 0;
    fstore_err_t err = fstore_get(rd, b->table, key, KEY_LEN, &row);
    if (err != FSTORE_OK)
        die("fstore_get %.*s: %s (%s)", KEY_LEN, key, fstore_err_name(err),
            fstore_reader_errmsg(rd));
    fstore_row_long(b->table, row, b->point_cols[0], &l);
    fstore_row_double(b->table, row, b->point_cols[1], &d);
    fstore_row_float(b->table, row, b->point_cols[2], &f);
    fstore_row_int(b->table, row, b->point_cols[3], &i);
    return (uint64_t)l + (uint64_t)d + (uint64_t)(f * 8) + (uint64_t)i;
}

static inline uint64_t point_raw_op(bench_t *b, MDB_txn *txn, const char *key)
{
    MDB_val kv = {KEY_LEN, (void *)(uintptr_t)key}, v;
    int rc = mdb_get(txn, b->dbi, &kv, &v);
    if (rc != MDB_SUCCESS)
        die("mdb_get %.*s: %s", KEY_LEN, key, mdb_strerror(rc));
    const uint8_t *p = v.mv_data;
    size_t n = v.mv_size;
    return (uint64_t)p[5] + p[n / 3] + p[2 * n / 3] + p[n - 1];
}

static void point_fstore(bench_t *b, fstore_reader_t *rd, run_t *r,
                         double seconds, int timed)
{
    uint64_t sink = 0, t = 0, start = now_ns();
    uint64_t deadline = start + (uint64_t)(seconds * 1e9);
    do {
        if (timed) {
            for (int k = 0; k < CHUNK; k++) {
                const char *key = key_at(b, r->cursor++);
                uint64_t t0 = now_ns();
                sink += point_fstore_op(b, rd, key);
                t = now_ns();
                h_add(&r->h, t - t0);
            }
        } else {
            for (int k = 0; k < CHUNK; k++)
                sink += point_fstore_op(b, rd, key_at(b, r->cursor++));
            t = now_ns();
            r->ops += CHUNK;
        }
    } while (t < deadline);
    if (!timed)
        r->seconds += (double)(t - start) / 1e9;
    g_sink += sink;
}

static void point_raw(bench_t *b, MDB_txn *txn, run_t *r, double seconds,
                      int timed)
{
    uint64_t sink = 0, t = 0, start = now_ns();
    uint64_t deadline = start + (uint64_t)(seconds * 1e9);
    do {
        if (timed) {
            for (int k = 0; k < CHUNK; k++) {
                const char *key = key_at(b, r->cursor++);
                uint64_t t0 = now_ns();
                sink += point_raw_op(b, txn, key);
                t = now_ns();
                h_add(&r->h, t - t0);
            }
        } else {
            for (int k = 0; k < CHUNK; k++)
                sink += point_raw_op(b, txn, key_at(b, r->cursor++));
            t = now_ns();
            r->ops += CHUNK;
        }
    } while (t < deadline);
    if (!timed)
        r->seconds += (double)(t - start) / 1e9;
    g_sink += sink;
}

typedef struct {
    const void *keys[GET_BATCH];
    size_t lens[GET_BATCH];
    float out[GET_BATCH * MATRIX_COLS];
    uint8_t found[GET_BATCH];
} batchbuf_t;

static void batch_keys(bench_t *b, batchbuf_t *bb, run_t *r)
{
    for (int i = 0; i < GET_BATCH; i++) {
        bb->keys[i] = key_at(b, r->cursor++);
        bb->lens[i] = KEY_LEN;
    }
}

static uint64_t batch_fstore_op(bench_t *b, fstore_reader_t *rd, batchbuf_t *bb)
{
    fstore_err_t err = fstore_get_batch(rd, b->table, GET_BATCH, bb->keys,
                                        bb->lens, b->matrix_cols, MATRIX_COLS,
                                        bb->out, MATRIX_COLS, bb->found);
    if (err != FSTORE_OK)
        die("fstore_get_batch: %s (%s)", fstore_err_name(err),
            fstore_reader_errmsg(rd));
    uint32_t bits;
    memcpy(&bits, &bb->out[(GET_BATCH - 1) * MATRIX_COLS], 4);
    return bits;
}

static uint64_t batch_raw_op(bench_t *b, MDB_txn *txn, batchbuf_t *bb)
{
    const size_t want = MATRIX_COLS * sizeof(float);
    for (int i = 0; i < GET_BATCH; i++) {
        MDB_val kv = {KEY_LEN, (void *)(uintptr_t)bb->keys[i]}, v;
        float *row = bb->out + (size_t)i * MATRIX_COLS;
        if (mdb_get(txn, b->dbi, &kv, &v) == MDB_SUCCESS &&
            v.mv_size >= 5 + want) {
            memcpy(row, (const uint8_t *)v.mv_data + 5, want);
            bb->found[i] = 1;
        } else {
            bb->found[i] = 0;
        }
    }
    uint32_t bits;
    memcpy(&bits, &bb->out[(GET_BATCH - 1) * MATRIX_COLS], 4);
    return bits;
}

/* Batches are checked outside the timed region: every key must be found. */
static void batch_check(const batchbuf_t *bb, const char *what)
{
    for (int i = 0; i < GET_BATCH; i++)
        if (!bb->found[i])
            die("%s: key %.*s not found (or value short)", what, KEY_LEN,
                (const char *)bb->keys[i]);
}

static void batch_run(bench_t *b, fstore_reader_t *rd, MDB_txn *txn,
                      batchbuf_t *bb, run_t *r, double seconds, int timed)
{
    uint64_t sink = 0, t = 0, start = now_ns();
    uint64_t deadline = start + (uint64_t)(seconds * 1e9);
    const char *what = rd ? "fstore_get_batch" : "raw batch";
    do {
        batch_keys(b, bb, r);
        uint64_t t0 = timed ? now_ns() : 0;
        sink += rd ? batch_fstore_op(b, rd, bb) : batch_raw_op(b, txn, bb);
        t = now_ns();
        if (timed)
            h_add(&r->h, t - t0);
        else
            r->ops++;
        batch_check(bb, what);
    } while (t < deadline);
    if (!timed)
        r->seconds += (double)(t - start) / 1e9;
    g_sink += sink;
}

/* Touches every key once in order on both sides, so neither pays first
 * page faults of the memory map inside the measurement. */
static void warm_up(bench_t *b, fstore_reader_t *rd, MDB_txn *txn)
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
    const hist_t *h = &c->run->h;
    double rate = (double)c->run->ops / c->run->seconds;
    printf("  %-34s %11.0f %9.1f %9.0f %8" PRIu64 " %8" PRIu64 " %8" PRIu64
           "\n",
           c->name, rate, 1e9 / (rate * c->per), h_mean(h), h_pct(h, 0.50),
           h_pct(h, 0.99), h_pct(h, 0.999));
}

static void json_case(FILE *f, const char *id, const row_t *c, int last)
{
    const hist_t *h = &c->run->h;
    fprintf(f,
            "    \"%s\": {\"name\": \"%s\", \"keys_per_op\": %.0f, "
            "\"untimed_ops\": %" PRIu64 ", \"ops_per_s\": %.1f, "
            "\"ns_per_key\": %.2f, \"samples\": %" PRIu64
            ", \"mean_ns\": %.1f, \"p50_ns\": %" PRIu64 ", \"p99_ns\": %" PRIu64
            ", \"p999_ns\": %" PRIu64 ", \"max_ns\": %" PRIu64 "}%s\n",
            id, c->name, c->per, c->run->ops,
            (double)c->run->ops / c->run->seconds,
            c->run->seconds * 1e9 / ((double)c->run->ops * c->per), h->n,
            h_mean(h), h_pct(h, 0.50), h_pct(h, 0.99), h_pct(h, 0.999), h->max,
            last ? "" : ",");
}

static double ratio(double a, double b)
{
    return b > 0 ? a / b : 0.0;
}

int main(int argc, char **argv)
{
    bench_set_prog("get_bench");
    parse_args(argc, argv);
    static bench_t b;
    make_dirs(&b);
    open_stores(&b);

    printf("get_bench: fstore %s, %u rows, 34 columns (32 scalars + string "
           "category + %d-float embedding), store.sync=%s\n",
           fstore_version_str(), opt.rows, EMB_DIM, opt.sync);
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
           "fstore batch_put + commit (decode + write)", opt.rows / ld.fstore_s,
           ld.fstore_s);
    printf("  %-44s %12.0f rows/s  (%.2f s)\n", "raw LMDB mdb_put + commit",
           opt.rows / ld.raw_s, ld.raw_s);
    printf("  %-44s %12.0f rows/s  (%.2f s, not in either figure)\n",
           "avro-c encoding of the values", opt.rows / ld.encode_s,
           ld.encode_s);
    printf("  %-44s %12.1f bytes\n", "mean Avro value (framed)",
           (double)ld.value_bytes / opt.rows);
    printf("  %-44s %12.1f MB\n", "raw Avro values, total",
           ld.value_bytes / 1e6);
    printf("  %-44s %12.1f MB  (%.2fx raw values)\n", "fstore store on disk",
           ld.fstore_disk / 1e6,
           ratio((double)ld.fstore_disk, (double)ld.value_bytes));
    printf("  %-44s %12.1f MB  (%.2fx raw values)\n", "raw LMDB on disk",
           ld.raw_disk / 1e6,
           ratio((double)ld.raw_disk, (double)ld.value_bytes));
    printf("  %-44s %12.1f MB  (%.2fx raw values; files above also hold "
           "free pages)\n\n",
           "raw LMDB B-tree pages in use", ld.raw_live / 1e6,
           ratio((double)ld.raw_live, (double)ld.value_bytes));
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
    static batchbuf_t bb;
    double slice = opt.seconds / ROUNDS;
    for (int round = 0; round < ROUNDS; round++) {
        fprintf(stderr, "measuring: round %d/%d...\n", round + 1, ROUNDS);
        for (int timed = 0; timed <= 1; timed++) {
            point_fstore(&b, rd, &ra, slice / 2, timed);
            point_raw(&b, txn, &rb, slice / 2, timed);
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
           tput_pt, ratio(h_mean(&ra.h), h_mean(&rb.h)),
           ratio((double)h_pct(&ra.h, .5), (double)h_pct(&rb.h, .5)),
           ratio((double)h_pct(&ra.h, .99), (double)h_pct(&rb.h, .99)),
           ratio((double)h_pct(&ra.h, .999), (double)h_pct(&rb.h, .999)));

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
           tput_b, ratio(h_mean(&rc.h), h_mean(&rdd.h)),
           ratio((double)h_pct(&rc.h, .5), (double)h_pct(&rdd.h, .5)),
           ratio((double)h_pct(&rc.h, .99), (double)h_pct(&rdd.h, .99)));
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
                fstore_version_str(), opt.rows, opt.sync, opt.seconds, clk);
        fprintf(f,
                "  \"load\": {\"fstore_rows_per_s\": %.1f, "
                "\"raw_rows_per_s\": %.1f, \"encode_rows_per_s\": %.1f, "
                "\"mean_value_bytes\": %.2f, \"raw_value_bytes\": %" PRIu64
                ", \"fstore_disk_bytes\": %" PRIu64
                ", \"raw_lmdb_disk_bytes\": %" PRIu64
                ", \"raw_lmdb_live_bytes\": %" PRIu64
                ", \"fstore_disk_over_values\": %.3f},\n",
                opt.rows / ld.fstore_s, opt.rows / ld.raw_s,
                opt.rows / ld.encode_s, (double)ld.value_bytes / opt.rows,
                ld.value_bytes, ld.fstore_disk, ld.raw_disk, ld.raw_live,
                ratio((double)ld.fstore_disk, (double)ld.value_bytes));
        fprintf(f, "  \"cases\": {\n");
        json_case(f, "point_fstore", &cases[0], 0);
        json_case(f, "point_raw", &cases[1], 0);
        json_case(f, "batch_fstore", &cases[2], 0);
        json_case(f, "batch_raw", &cases[3], 1);
        fprintf(f, "  },\n");
        fprintf(
            f,
            "  \"ratios\": {\"point_throughput\": %.3f, "
            "\"point_p50\": %.3f, \"point_p99\": %.3f, "
            "\"batch_throughput\": %.3f, \"batch_p99\": %.3f}\n}\n",
            tput_pt, ratio((double)h_pct(&ra.h, .5), (double)h_pct(&rb.h, .5)),
            ratio((double)h_pct(&ra.h, .99), (double)h_pct(&rb.h, .99)), tput_b,
            ratio((double)h_pct(&rc.h, .99), (double)h_pct(&rdd.h, .99)));
        if (fclose(f) != 0)
            die("%s: write failed", opt.json);
        printf("figures written to %s\n", opt.json);
    }

    fstore_store_close(b.store);
    mdb_env_close(b.env);
    free(b.keys);
    free(b.seq);
    if (!opt.keep) {
        remove_flat_dir(b.fdir);
        remove_flat_dir(b.rdir);
        if (b.made_parent)
            rmdir(b.parent);
    }
    return 0;
}
