/*
 * bench_keyenc: would a hashed key encoding make lookups faster? The same
 * rows in two plain LMDB environments, timed with the same random lookups:
 *
 *   string   the key as fstore stores it today ("user:%09u", 14 bytes,
 *            memcmp order); the row as the value
 *   hash64   the key's 64-bit XXH3 under MDB_INTEGERKEY (native-order u64
 *            compares); the row as the value, followed by the full key,
 *            which every lookup compares (a collision must never return
 *            another entity's row)
 *
 * Both environments are loaded in key order with MDB_APPEND (as a
 * bootstrap loads), so their pages are full and their depth is the
 * smallest it can be. A lookup is one mdb_get (plus the hash and the key
 * compare for hash64) and a 4-byte read of the value, in a read
 * transaction renewed every 1024 lookups, as fstore's readers do. The rows
 * are --value-bytes of filler (default 300: fstore's rows for the bench
 * schema are about that).
 *
 * Usage: bench_keyenc [--rows N] [--seconds S] [--value-bytes B] [--dir DIR]
 *                     [--json FILE]
 *
 * Prints lookups/s, p50 and p99 for each encoding, the B-tree depth and
 * page counts, and the ratio hash64 / string. The question it answers
 * (docs/performance.md): does the encoding alone pay 1.3x? If it does not
 * at the raw LMDB level, it cannot in fstore either.
 *
 * Copyright 2026 The fstore authors. Licensed under the Apache License 2.0.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench_common.h"

#include <errno.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

enum { ENC_STRING, ENC_HASH, NENC };
static const char *const ENC_NAME[NENC] = {"string", "hash64"};

static struct {
    unsigned rows;
    double seconds;
    unsigned value_bytes;
    const char *dir;
    const char *json;
} opt = {.rows = 1000000, .seconds = 2.0, .value_bytes = 300};

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--rows N] [--seconds S] [--value-bytes B] [--dir DIR] "
            "[--json FILE]\n",
            argv0);
    exit(2);
}

static void mdb_ok(int rc, const char *what)
{
    if (rc)
        die("%s: %s", what, mdb_strerror(rc));
}

typedef struct {
    char dir[4200];
    MDB_env *env;
    MDB_dbi dbi;
    MDB_stat st;
    double load_s;
    uint64_t lookups;
    double elapsed;
    fs_hist h;
} env_t;

typedef struct {
    uint64_t hash;
    uint32_t id;
} hk_t;

static int hk_cmp(const void *a, const void *b)
{
    uint64_t x = ((const hk_t *)a)->hash, y = ((const hk_t *)b)->hash;
    return x < y ? -1 : x > y;
}

static void fill_value(uint8_t *v, uint32_t id)
{
    memset(v, (int)(id & 0xff), opt.value_bytes);
    memcpy(v, &id, 4);
}

static void open_env(env_t *E, const char *name, unsigned flags)
{
    snprintf(E->dir, sizeof E->dir, "%s/%s", opt.dir, name);
    if (mkdir(E->dir, 0700) && errno != EEXIST)
        die("mkdir %s: %s", E->dir, strerror(errno));
    mdb_ok(mdb_env_create(&E->env), "mdb_env_create");
    size_t map = (size_t)opt.rows * (opt.value_bytes + 128) * 2 + (1u << 30);
    mdb_ok(mdb_env_set_mapsize(E->env, map), "mdb_env_set_mapsize");
    mdb_ok(mdb_env_open(E->env, E->dir, MDB_NOSYNC | MDB_NORDAHEAD, 0600),
           "mdb_env_open");
    MDB_txn *txn;
    mdb_ok(mdb_txn_begin(E->env, NULL, 0, &txn), "mdb_txn_begin");
    mdb_ok(mdb_dbi_open(txn, NULL, flags, &E->dbi), "mdb_dbi_open");
    mdb_ok(mdb_txn_commit(txn), "mdb_txn_commit");
}

/* Loads in key order with MDB_APPEND, committing every 100k rows. */
static void load(env_t *E, int enc, const char *keys)
{
    uint8_t *v = malloc(opt.value_bytes + KEY_STRIDE);
    hk_t *order = NULL;
    if (enc == ENC_HASH) {
        order = malloc((size_t)opt.rows * sizeof *order);
        if (!order)
            die("out of memory");
        for (uint32_t i = 0; i < opt.rows; i++) {
            const char *k = keys + (size_t)i * KEY_STRIDE;
            order[i].hash = XXH3_64bits(k, strlen(k));
            order[i].id = i;
        }
        qsort(order, opt.rows, sizeof *order, hk_cmp);
        for (uint32_t i = 1; i < opt.rows; i++)
            if (order[i].hash == order[i - 1].hash)
                die("two keys share a 64-bit hash at %u rows; the bench "
                    "does not handle it", opt.rows);
    }
    uint64_t t0 = now_ns();
    MDB_txn *txn = NULL;
    for (uint32_t i = 0; i < opt.rows; i++) {
        if (!txn)
            mdb_ok(mdb_txn_begin(E->env, NULL, 0, &txn), "mdb_txn_begin");
        /* make_keys' ids sort as their keys do: "user:%09u". */
        uint32_t id = enc == ENC_HASH ? order[i].id : i;
        const char *k = keys + (size_t)id * KEY_STRIDE;
        size_t klen = strlen(k);
        fill_value(v, id);
        MDB_val key, val = {opt.value_bytes, v};
        uint64_t h;
        if (enc == ENC_HASH) {
            h = order[i].hash;
            key = (MDB_val){sizeof h, &h};
            memcpy(v + opt.value_bytes, k, klen);
            val.mv_size = opt.value_bytes + klen;
        } else {
            key = (MDB_val){klen, (void *)(uintptr_t)k};
        }
        mdb_ok(mdb_put(txn, E->dbi, &key, &val, MDB_APPEND), "mdb_put");
        if ((i + 1) % 100000 == 0 || i + 1 == opt.rows) {
            mdb_ok(mdb_txn_commit(txn), "mdb_txn_commit");
            txn = NULL;
        }
    }
    E->load_s = secs(now_ns() - t0);
    MDB_txn *r;
    mdb_ok(mdb_txn_begin(E->env, NULL, MDB_RDONLY, &r), "mdb_txn_begin");
    mdb_ok(mdb_stat(r, E->dbi, &E->st), "mdb_stat");
    mdb_txn_abort(r);
    free(order);
    free(v);
}

static inline uint32_t lookup(env_t *E, int enc, MDB_txn *txn, const char *k)
{
    size_t klen = strlen(k);
    MDB_val key, val;
    uint64_t h;
    if (enc == ENC_HASH) {
        h = XXH3_64bits(k, klen);
        key = (MDB_val){sizeof h, &h};
    } else {
        key = (MDB_val){klen, (void *)(uintptr_t)k};
    }
    if (mdb_get(txn, E->dbi, &key, &val))
        die("key %s not found", k);
    if (enc == ENC_HASH &&
        (val.mv_size != opt.value_bytes + klen ||
         memcmp((const char *)val.mv_data + opt.value_bytes, k, klen) != 0))
        die("key %s: the row holds another key", k);
    uint32_t id;
    memcpy(&id, val.mv_data, 4);
    return id;
}

static void run(env_t *E, int enc, const char *keys, const uint32_t *seq)
{
    MDB_txn *txn;
    mdb_ok(mdb_txn_begin(E->env, NULL, MDB_RDONLY, &txn), "mdb_txn_begin");
    /* Warm: every key once, so both run from the page cache. */
    for (uint32_t i = 0; i < opt.rows; i++)
        lookup(E, enc, txn, keys + (size_t)i * KEY_STRIDE);
    uint64_t start = now_ns(), deadline = start + (uint64_t)(opt.seconds * 1e9), t;
    size_t pos = 0;
    uint64_t sink = 0;
    do {
        mdb_txn_reset(txn);
        mdb_ok(mdb_txn_renew(txn), "mdb_txn_renew");
        for (int k = 0; k < 1024; k++) {
            const char *key = keys + (size_t)seq[pos++ & (SEQ_LEN - 1)] * KEY_STRIDE;
            uint64_t t0 = now_ns();
            sink += lookup(E, enc, txn, key);
            t = now_ns();
            fs_hist_add(&E->h, t - t0);
        }
        E->lookups += 1024;
    } while (t < deadline);
    E->elapsed = secs(t - start);
    mdb_txn_abort(txn);
    if (sink == 42)
        printf(" ");
}

int main(int argc, char **argv)
{
    bench_set_prog("keyenc");
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage(argv[0]);
        if (!strcmp(a, "--rows"))
            opt.rows = bench_parse_uint(a, v, 1000, 100000000ul);
        else if (!strcmp(a, "--seconds"))
            opt.seconds = atof(v);
        else if (!strcmp(a, "--value-bytes"))
            opt.value_bytes = bench_parse_uint(a, v, 8, 65536);
        else if (!strcmp(a, "--dir"))
            opt.dir = v;
        else if (!strcmp(a, "--json"))
            opt.json = v;
        else
            usage(argv[0]);
    }
    if (!(opt.seconds >= 0.1 && opt.seconds <= 3600))
        die("--seconds wants a number in [0.1, 3600]");
    char tmp[] = "/tmp/fstore-bench-keyenc-XXXXXX";
    int made = 0;
    if (!opt.dir) {
        if (!mkdtemp(tmp))
            die("mkdtemp: %s", strerror(errno));
        opt.dir = tmp;
        made = 1;
    }
    char *keys = make_keys(opt.rows);
    uint32_t *seq = make_seq(opt.rows);
    static env_t E[NENC];
    for (int e = 0; e < NENC; e++) {
        open_env(&E[e], ENC_NAME[e], MDB_CREATE | (e == ENC_HASH ? MDB_INTEGERKEY : 0));
        fprintf(stderr, "loading %u rows, %s keys...\n", opt.rows, ENC_NAME[e]);
        load(&E[e], e, keys);
    }
    /* Alternate the runs so drift in the machine's load hits both. */
    static env_t R[NENC][2];
    for (int round = 0; round < 2; round++)
        for (int e = 0; e < NENC; e++) {
            R[e][round] = E[e];
            memset(&R[e][round].h, 0, sizeof R[e][round].h);
            R[e][round].lookups = 0;
            run(&R[e][round], e, keys, seq);
        }
    printf("keyenc: %u rows, values %u bytes, %.1f s per run, two runs each "
           "(alternating)\n",
           opt.rows, opt.value_bytes, opt.seconds);
    printf("  %-8s %6s %10s %10s %12s %9s %9s %8s\n", "keys", "depth", "leaf pg",
           "branch pg", "lookups/s", "p50 ns", "p99 ns", "load s");
    double tput[NENC] = {0}, p99[NENC] = {0}, p50[NENC] = {0};
    for (int e = 0; e < NENC; e++) {
        for (int round = 0; round < 2; round++) {
            env_t *r = &R[e][round];
            double t = (double)r->lookups / r->elapsed;
            double q50 = (double)fs_hist_quantile_high(&r->h, 0.5);
            double q99 = (double)fs_hist_quantile_high(&r->h, 0.99);
            printf("  %-8s %6u %10zu %10zu %12.0f %9.0f %9.0f %8.2f\n", ENC_NAME[e],
                   E[e].st.ms_depth, E[e].st.ms_leaf_pages, E[e].st.ms_branch_pages,
                   t, q50, q99, E[e].load_s);
            tput[e] += t / 2;
            p50[e] += q50 / 2;
            p99[e] += q99 / 2;
        }
    }
    printf("  hash64 / string: throughput %.2fx, p50 %.2fx, p99 %.2fx (goal: "
           "throughput >= 1.3x)\n",
           tput[ENC_HASH] / tput[ENC_STRING], p50[ENC_HASH] / p50[ENC_STRING],
           p99[ENC_HASH] / p99[ENC_STRING]);
    if (opt.json) {
        FILE *f = fopen(opt.json, "w");
        if (!f)
            die("%s: %s", opt.json, strerror(errno));
        fprintf(f, "{\"bench\": \"keyenc\", \"rows\": %u, \"value_bytes\": %u",
                opt.rows, opt.value_bytes);
        for (int e = 0; e < NENC; e++)
            fprintf(f,
                    ", \"%s\": {\"depth\": %u, \"leaf_pages\": %zu, "
                    "\"branch_pages\": %zu, \"lookups_per_s\": %.1f, "
                    "\"p50_ns\": %.1f, \"p99_ns\": %.1f, \"load_s\": %.3f}",
                    ENC_NAME[e], E[e].st.ms_depth, E[e].st.ms_leaf_pages,
                    E[e].st.ms_branch_pages, tput[e], p50[e], p99[e], E[e].load_s);
        fprintf(f, ", \"ratio_throughput_hash_over_string\": %.4f, "
                   "\"ratio_p99_hash_over_string\": %.4f}\n",
                tput[ENC_HASH] / tput[ENC_STRING], p99[ENC_HASH] / p99[ENC_STRING]);
        fclose(f);
    }
    for (int e = 0; e < NENC; e++) {
        mdb_env_close(E[e].env);
        char p[4300];
        snprintf(p, sizeof p, "%.4200s/data.mdb", E[e].dir);
        unlink(p);
        snprintf(p, sizeof p, "%.4200s/lock.mdb", E[e].dir);
        unlink(p);
        rmdir(E[e].dir);
    }
    if (made)
        rmdir(tmp);
    free(keys);
    free(seq);
    return 0;
}
