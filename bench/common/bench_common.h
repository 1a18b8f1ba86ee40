/*
 * bench_common: what the benchmarks share - the realistic feature record and
 * its Avro encoding, the keys, a log-linear latency histogram (and its plot
 * data), clocks, store sizes and small file helpers. Built as a static
 * library for the bench programs; it is not a program of its own.
 *
 * Copyright 2026 The fstore authors. Licensed under the Apache License 2.0.
 */
#ifndef FSTORE_BENCH_COMMON_H
#define FSTORE_BENCH_COMMON_H

#include <fstore/fstore.h>

#include <avro.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define BATCH_ROWS 10000
#define KEY_LEN 14    /* "user:%09u" */
#define KEY_STRIDE 16 /* keys live in one array, 16 bytes apart */
#define EMB_DIM 16
#define GET_BATCH 256
#define MATRIX_COLS 32
#define SEQ_LEN (1u << 22) /* random key sequence, reused cyclically */
#define NSCALARS 32

/* ---- the feature record --------------------------------------------- */

enum kind { K_LONG, K_DOUBLE, K_FLOAT, K_INT, K_BOOL, K_ENUM, K_NDOUBLE };

struct column {
    const char *name;
    enum kind kind;
};

/* The 32 scalar columns, in schema order (then "category", "embedding"). */
extern const struct column SCALARS[NSCALARS];

/* The four columns read per point lookup: one of each numeric width. */
extern const char *const POINT_COLS[4];

/* The record's Avro schema as JSON (malloc'd; NULL when out of memory). */
char *schema_json(void);

/* ---- small utilities ---------------------------------------------------- */

/* Sets the program name die() prints before its message. */
void bench_set_prog(const char *name);

void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline double unit(uint64_t *st) /* [0, 1) */
{
    return (double)(splitmix64(st) >> 11) * 0x1.0p-53;
}

void mdb_check(int rc, const char *what);
void fs_check(fstore_err_t err, const char *what, const char *msg);

/* Removes the regular files of @p path, then the directory. */
void remove_flat_dir(const char *path);

/* Bytes allocated on disk by the files of @p path (not recursive). */
uint64_t dir_disk_bytes(const char *path);

/* Page use of the LMDB environment in directory @p path (an fstore store or
 * a plain LMDB environment). */
typedef struct {
    uint64_t page_size;
    uint64_t pages;      /* last page number + 1: the file's extent */
    uint64_t free_pages; /* pages on LMDB's free list, reusable */
} lmdb_usage_t;

/* Reads @p path's page use through a read-only environment of its own.
 * LMDB forbids two environments on one file in one process, so no other
 * handle of this process (fstore store included) may have it open.
 * @return 0 or an LMDB error code (mdb_strerror). */
int lmdb_usage(const char *path, lmdb_usage_t *u);

/* Bytes of the pages holding data: (pages - free_pages) * page_size. */
static inline uint64_t lmdb_used_bytes(const lmdb_usage_t *u)
{
    return (u->pages - u->free_pages) * u->page_size;
}

/* Best (lowest) cost of one clock_gettime(CLOCK_MONOTONIC), in ns. */
double clock_overhead_ns(void);

/* ---- histogram: exact below 64 ns, then 32 sub-buckets per power of 2 -- */

#define H_SUB_BITS 5
#define H_SUB (1u << H_SUB_BITS)
#define H_LINEAR 64u
#define H_BUCKETS (H_LINEAR + (64 - 6) * H_SUB)

typedef struct {
    uint64_t counts[H_BUCKETS];
    uint64_t n, sum, max;
} hist_t;

static inline unsigned h_index(uint64_t v)
{
    if (v < H_LINEAR)
        return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v); /* >= 6 */
    unsigned sub = (unsigned)(v >> (msb - H_SUB_BITS)) & (H_SUB - 1);
    return H_LINEAR + (msb - 6) * H_SUB + sub;
}

static inline void h_add(hist_t *h, uint64_t v)
{
    h->counts[h_index(v)]++;
    h->n++;
    h->sum += v;
    if (v > h->max)
        h->max = v;
}

/* Upper bound of bucket @p i (within 1/32 of any value in it). */
uint64_t h_upper(unsigned i);
/* The @p p quantile (0..1), as the upper bound of its bucket. */
uint64_t h_pct(const hist_t *h, double p);
double h_mean(const hist_t *h);
/* Adds the samples of @p src to @p dst. */
void h_merge(hist_t *dst, const hist_t *src);

/* Writes @p h as plot data for bench/run.sh: a first line
 * "# <label>: latency_ns cumulative_fraction nines(-log10(1-fraction))",
 * then one line per non-empty bucket with those three columns (nines are
 * capped at 6). Dies on I/O errors. */
void h_write_dat(const hist_t *h, const char *path, const char *label);

/* ---- generating rows ---------------------------------------------------- */

typedef struct {
    avro_schema_t schema;
    avro_value_iface_t *iface;
    avro_value_t rec;
    avro_value_t fields[NSCALARS + 2];
    avro_writer_t writer;
    char *arena;
    size_t arena_size;
    size_t *starts; /* BATCH_ROWS + 1 */
} encoder_t;

void encoder_init(encoder_t *e);
void encoder_free(encoder_t *e);

/* Encodes the rows of ids[0..n) (n <= BATCH_ROWS), deterministic per id, as
 * Confluent-framed values (magic 0, schema id 1) into the arena: value i is
 * arena[starts[i] .. starts[i + 1]). */
void encode_batch(encoder_t *e, const uint32_t *ids, size_t n);

/* As encode_batch, but the values are those of update @p version of each
 * entity: deterministic per (id, version), different for every version.
 * Version 0 is what encode_batch writes. */
void encode_batch_version(encoder_t *e, const uint32_t *ids, size_t n,
                          uint32_t version);

/* Keys "user:%09u" of ids 0..n-1, KEY_STRIDE bytes apart (malloc'd). */
char *make_keys(unsigned n);

/* A shuffled permutation of 0..n-1: the load order (malloc'd). */
uint32_t *make_perm(unsigned n);

/* SEQ_LEN random ids below @p n: the lookup sequence (malloc'd). */
uint32_t *make_seq(unsigned n);

#endif
