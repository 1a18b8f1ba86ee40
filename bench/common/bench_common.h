/*
 * bench_common: what the benchmarks share - the realistic feature record and
 * its Avro encoding, the keys, opening a store with the record's table,
 * reading a row's point columns and checking its tailer, a log-linear latency
 * histogram (and its plot data), clocks and sleeps, parsing options, store
 * sizes, ratios against targets, writing the report (tables as text and
 * markdown, JSON) and small file helpers. Built as a static library for the
 * bench programs; it is not a program of its own. What the benches against
 * a Kafka broker share besides is in bench_kafka.h.
 *
 * Copyright 2026 The fstore authors. Licensed under the Apache License 2.0.
 */
#ifndef FSTORE_BENCH_COMMON_H
#define FSTORE_BENCH_COMMON_H

#include <fstore/fstore.h>

#include <avro.h>

#include "support/hist.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define BATCH_ROWS 10000
#define KEY_LEN 14    /* "user:%09u" */
#define KEY_STRIDE 16 /* keys live in one array, 16 bytes apart */
#define EMB_DIM 16
#define GET_BATCH 256
#define MATRIX_COLS 32
#define SEQ_LEN (1u << 22) /* random key sequence, reused cyclically */
#define NSCALARS 32
#define BENCH_TABLE "user_features"

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

/* The name bench_set_prog() set ("bench" before): the prefix of die()'s
 * messages and of the benches' own warnings. */
const char *bench_prog(void);

void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* calloc() of @p n (at least 1) items; dies when out of memory. */
void *xcalloc(size_t n, size_t size);

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Nanoseconds as seconds, and as milliseconds. */
static inline double secs(uint64_t ns)
{
    return (double)ns / 1e9;
}

static inline double ms(uint64_t ns)
{
    return (double)ns / 1e6;
}

/* Sleeps @p ns nanoseconds (on after a signal). */
void sleep_ns(uint64_t ns);

/* Sleeps until now_ns() reaches @p when (not at all when it has). */
void sleep_until(uint64_t when);

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

/* a / b, or 0 when b is not positive (a case that measured nothing). */
static inline double ratio(double a, double b)
{
    return b > 0 ? a / b : 0.0;
}

/* ---- options ------------------------------------------------------------ */

/* The integer @p v of option @p name; dies unless it is one in
 * [@p lo, @p hi]. */
unsigned bench_parse_uint(const char *name, const char *v, unsigned long lo,
                          unsigned long hi);

/* The rates @p v of --rates, "R1,R2,...", into @p rates: at most @p max,
 * each in [1, @p hi] and listed once; dies otherwise.
 * @return how many. */
int bench_parse_rates(const char *v, unsigned *rates, int max,
                      unsigned long hi);

/* The NAME of @p prop, a NAME=VALUE, after @p prefix into @p name;
 * @return its VALUE. */
const char *prop_split(const char *prop, const char *prefix, char *name,
                       size_t size);

/* ---- files -------------------------------------------------------------- */

/* Makes the directory a bench works in, as @p buf: @p dir (created when
 * missing) or, when @p dir is NULL, a new one $TMPDIR/@p tmpl (a mkdtemp
 * template; /tmp without TMPDIR). @return 1 when it made a new temporary
 * directory (the caller removes it), else 0. Dies on errors. */
int bench_make_parent(char *buf, size_t size, const char *dir,
                      const char *tmpl);

/* Removes the regular files of @p path, then the directory. */
void remove_flat_dir(const char *path);

/* Bytes allocated on disk by the files of @p path (not recursive). */
uint64_t dir_disk_bytes(const char *path);

/* Best (lowest) cost of one clock_gettime(CLOCK_MONOTONIC), in ns. */
double clock_overhead_ns(void);

/* ---- the fstore store --------------------------------------------------- */

/* A store map size: @p row_bytes for each of @p rows rows, at least 1 GiB. */
size_t bench_map_size(unsigned rows, size_t row_bytes);

/* A new configuration with store.map_size = @p map_size. */
fstore_conf_t *bench_conf_new(size_t map_size);

/* Sets property @p name; dies naming it when fstore refuses it. */
void bench_conf_set(fstore_conf_t *conf, const char *name, const char *value);

/* Opens (creating) the store in @p dir with @p conf, which it destroys,
 * registers the record's schema as writer schema 1 and creates the table
 * BENCH_TABLE of Confluent-framed values for it (@p table). Dies on errors.
 * @return the store (fstore_store_close() it). */
fstore_store_t *bench_store_open(const char *dir, fstore_conf_t *conf,
                                 const fstore_table_t **table);

/* The index of column @p name of @p table; dies when it has none. */
int bench_column(const fstore_table_t *table, const char *name);

/* The indexes of POINT_COLS in @p table. */
void bench_point_cols(const fstore_table_t *table, int cols[4]);

/* Dies with the tailer's own error when the tailer of @p store stopped on
 * one; @p when says what the bench was doing. */
void bench_tail_check(fstore_store_t *store, const char *when);

/* One point lookup: fstore_get of @p key and a typed read of the columns
 * @p cols (bench_point_cols). Dies when the key is missing. Inline: it runs
 * inside the timed loops. @return a sum of the values, for a sink. */
static inline uint64_t point_get(fstore_reader_t *rd,
                                 const fstore_table_t *table, const int cols[4],
                                 const char *key)
{
    const fstore_row_t *row;
    int64_t l = 0;
    double d = 0;
    float f = 0;
    int32_t i = 0;
    fstore_err_t err = fstore_get(rd, table, key, KEY_LEN, &row);
    if (err != FSTORE_OK)
        die("fstore_get %.*s: %s (%s)", KEY_LEN, key, fstore_err_name(err),
            fstore_reader_errmsg(rd));
    fstore_row_long(table, row, cols[0], &l);
    fstore_row_double(table, row, cols[1], &d);
    fstore_row_float(table, row, cols[2], &f);
    fstore_row_int(table, row, cols[3], &i);
    return (uint64_t)l + (uint64_t)d + (uint64_t)(f * 8) + (uint64_t)i;
}

/* ---- latency histograms: fs_hist (support/hist.h), in ns ------------- */

/* Quantile @p q of @p h (its bucket's upper bound) in milliseconds. */
static inline double pms(const fs_hist *h, double q)
{
    return ms(fs_hist_quantile_high(h, q));
}

/* Writes @p h as plot data for bench/run.sh: a first line
 * "# <label>: latency_ns cumulative_fraction nines(-log10(1-fraction))",
 * then one line per non-empty bucket with those three columns (nines are
 * capped at 6). Dies on I/O errors. */
void h_write_dat(const fs_hist *h, const char *path, const char *label);

/* h_write_dat() into @p dir/@p name.dat, making @p dir when missing. */
void h_write_dat_in(const fs_hist *h, const char *dir, const char *name,
                    const char *label);

/* ---- ratios against the targets in docs/performance.md ------------------ */

typedef struct {
    const char *id, *what;
    double value;
    const char *target; /* NULL: no target in docs/performance.md */
    int at_least;       /* 1: value >= goal, 0: value <= goal */
    double goal;
} ratio_t;

/* A bench's ratios, in the order they are printed. */
#define MAX_RATIOS 24
typedef struct {
    ratio_t r[MAX_RATIOS];
    int n;
} ratios_t;

/* Appends {id, what, value, target, at_least, goal} to @p rs; dies when it
 * is full. */
void add_ratio(ratios_t *rs, const char *id, const char *what, double value,
               const char *target, int at_least, double goal);

/* "met" or "missed" against the target, "-" without one. */
const char *ratio_verdict(const ratio_t *r);

/* Writes the ratios table: its heading, then one row per ratio (its
 * description in a column of @p width characters in text). @p md: markdown
 * rather than text. */
void print_ratios(FILE *f, int md, const ratio_t *r, int n, int width);

/* Writes the members of a JSON object "ratios", one line each, the values
 * with @p decimals decimals (the caller writes the braces around them). */
void json_ratios(FILE *f, const ratio_t *r, int n, int decimals);

/* ---- writing the report ------------------------------------------------- */

/* A bench's writers of its figures, @p report: tables as text or (@p md)
 * markdown, and the JSON document. */
typedef void bench_tables_fn(FILE *f, int md, const void *report);
typedef void bench_json_fn(FILE *f, const void *report);

/* Prints the tables on stdout, then, unless @p markdown is NULL, as
 * markdown into that file. Dies on I/O errors. */
void bench_tables(bench_tables_fn *print, const void *report,
                  const char *markdown);

/* Unless @p path is NULL, writes the JSON document into that file and says
 * so on stdout. Dies on I/O errors. */
void bench_json(bench_json_fn *emit, const void *report, const char *path);

/* Writes a note under a table: a paragraph of its own in markdown (@p md),
 * indented by two spaces in text. */
void print_note(FILE *f, int md, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

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

/* The key "user:%09u" of @p id into @p buf (KEY_STRIDE bytes).
 * @return KEY_LEN. */
size_t key_of(char *buf, uint32_t id);

/* The id of a key "user:%09u", or UINT32_MAX for any other key. */
uint32_t id_of(const void *key, size_t len);

/* Keys "user:%09u" of ids 0..n-1, KEY_STRIDE bytes apart (malloc'd). */
char *make_keys(unsigned n);

/* A shuffled permutation of 0..n-1: the load order (malloc'd). */
uint32_t *make_perm(unsigned n);

/* SEQ_LEN random ids below @p n: the lookup sequence (malloc'd). */
uint32_t *make_seq(unsigned n);

#endif
