/*
 * bench_common: see bench_common.h.
 *
 * Copyright 2026 The fstore authors. Licensed under the Apache License 2.0.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "bench_common.h"

#include <lmdb.h>

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const struct column SCALARS[NSCALARS] = {
    {"clicks_5m", K_LONG},
    {"clicks_1h", K_LONG},
    {"clicks_1d", K_LONG},
    {"views_5m", K_LONG},
    {"views_1h", K_LONG},
    {"views_1d", K_LONG},
    {"purchases_7d", K_LONG},
    {"sessions_7d", K_LONG},
    {"spend_sum_5m", K_DOUBLE},
    {"spend_sum_1h", K_DOUBLE},
    {"spend_sum_1d", K_DOUBLE},
    {"spend_mean_1h", K_DOUBLE},
    {"spend_mean_1d", K_DOUBLE},
    {"dwell_mean_1h", K_DOUBLE},
    {"dwell_mean_1d", K_DOUBLE},
    {"ctr_1h", K_DOUBLE},
    {"ctr_1d", K_DOUBLE},
    {"price_mean_30d", K_DOUBLE},
    {"score_a", K_FLOAT},
    {"score_b", K_FLOAT},
    {"score_c", K_FLOAT},
    {"score_d", K_FLOAT},
    {"recency_days", K_FLOAT},
    {"discount_ratio", K_FLOAT},
    {"age_days", K_INT},
    {"n_devices", K_INT},
    {"country_id", K_INT},
    {"last_hour", K_INT},
    {"tier", K_INT},
    {"is_premium", K_BOOL},
    {"segment", K_ENUM},
    {"credit_score", K_NDOUBLE},
};

static const char *const CATEGORIES[] = {
    "electronics", "books",  "fashion", "home-garden", "sports", "toys",
    "grocery",     "beauty", "auto",    "health",      "music",  "travel"};

const char *const POINT_COLS[4] = {"clicks_1h", "spend_mean_1d", "score_a",
                                   "age_days"};

char *schema_json(void)
{
    static const char *const avro_type[] = {
        [K_LONG] = "\"long\"",
        [K_DOUBLE] = "\"double\"",
        [K_FLOAT] = "\"float\"",
        [K_INT] = "\"int\"",
        [K_BOOL] = "\"boolean\"",
        [K_ENUM] = ("{\"type\":\"enum\",\"name\":\"Segment\",\"symbols\":"
                    "[\"NEW\",\"CASUAL\",\"REGULAR\",\"POWER\",\"CHURNED\"]}"),
        [K_NDOUBLE] = "[\"null\",\"double\"]",
    };
    size_t cap = 8192, len = 0;
    char *s = malloc(cap);
    if (s == NULL)
        return NULL;
    len += (size_t)snprintf(s + len, cap - len,
                            "{\"type\":\"record\",\"name\":\"UserFeatures\","
                            "\"namespace\":\"bench\",\"fields\":[");
    for (int i = 0; i < NSCALARS; i++)
        len += (size_t)snprintf(s + len, cap - len,
                                "{\"name\":\"%s\",\"type\":%s},",
                                SCALARS[i].name, avro_type[SCALARS[i].kind]);
    snprintf(s + len, cap - len,
             "{\"name\":\"category\",\"type\":\"string\"},"
             "{\"name\":\"embedding\",\"type\":{\"type\":\"array\","
             "\"items\":\"float\"}}]}");
    return s;
}

/* ---- small utilities ---------------------------------------------------- */

static const char *g_prog = "bench";

void bench_set_prog(const char *name)
{
    g_prog = name;
}

const char *bench_prog(void)
{
    return g_prog;
}

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", g_prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (p == NULL)
        die("out of memory (%zu x %zu bytes)", n, size);
    return p;
}

void sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void sleep_until(uint64_t when)
{
    uint64_t now = now_ns();
    if (when > now)
        sleep_ns(when - now);
}

void mdb_check(int rc, const char *what)
{
    if (rc != MDB_SUCCESS)
        die("%s: %s", what, mdb_strerror(rc));
}

void fs_check(fstore_err_t err, const char *what, const char *msg)
{
    if (err != FSTORE_OK)
        die("%s: %s: %s", what, fstore_err_name(err),
            msg && msg[0] ? msg : fstore_strerror(err));
}

/* ---- options ------------------------------------------------------------ */

unsigned bench_parse_uint(const char *name, const char *v, unsigned long lo,
                          unsigned long hi)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (errno || end == v || *end != '\0' || n < lo || n > hi)
        die("%s wants an integer in [%lu, %lu]", name, lo, hi);
    return (unsigned)n;
}

int bench_parse_rates(const char *v, unsigned *rates, int max, unsigned long hi)
{
    int n = 0;
    const char *p = v;
    while (*p) {
        char *end;
        unsigned long r = strtoul(p, &end, 10);
        if (end == p || (*end != ',' && *end != '\0') || r < 1 || r > hi ||
            n == max)
            die("--rates wants up to %d comma-separated integers in [1, %lu], "
                "e.g. 1000,10000",
                max, hi);
        for (int i = 0; i < n; i++)
            if (rates[i] == r)
                die("--rates lists %lu twice", r);
        rates[n++] = (unsigned)r;
        p = *end == ',' ? end + 1 : end;
    }
    if (n == 0)
        die("--rates wants at least one rate");
    return n;
}

const char *prop_split(const char *prop, const char *prefix, char *name,
                       size_t size)
{
    size_t n = (size_t)(strchr(prop, '=') - prop);
    snprintf(name, size, "%s%.*s", prefix, (int)n, prop);
    return prop + n + 1;
}

/* ---- files -------------------------------------------------------------- */

int bench_make_parent(char *buf, size_t size, const char *dir, const char *tmpl)
{
    if (dir != NULL) {
        snprintf(buf, size, "%s", dir);
        if (mkdir(buf, 0700) != 0 && errno != EEXIST)
            die("mkdir %s: %s", buf, strerror(errno));
        return 0;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(buf, size, "%s/%s", tmp ? tmp : "/tmp", tmpl);
    if (mkdtemp(buf) == NULL)
        die("mkdtemp %s: %s", buf, strerror(errno));
    return 1;
}

void remove_flat_dir(const char *path)
{
    DIR *d = opendir(path);
    if (d == NULL)
        return;
    struct dirent *e;
    char p[8400];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(path);
}

uint64_t dir_disk_bytes(const char *path)
{
    uint64_t total = 0;
    DIR *d = opendir(path);
    if (d == NULL)
        return 0;
    struct dirent *e;
    char p[8400];
    struct stat st;
    while ((e = readdir(d)) != NULL) {
        snprintf(p, sizeof p, "%s/%s", path, e->d_name);
        if (e->d_name[0] != '.' && stat(p, &st) == 0 && S_ISREG(st.st_mode))
            total += (uint64_t)st.st_blocks * 512u;
    }
    closedir(d);
    return total;
}

static volatile uint64_t g_clock_sink;

double clock_overhead_ns(void)
{
    uint64_t best = UINT64_MAX;
    for (int round = 0; round < 5; round++) {
        uint64_t t0 = now_ns(), t = 0;
        for (int i = 0; i < 200000; i++)
            t += now_ns();
        uint64_t el = now_ns() - t0;
        g_clock_sink += t;
        if (el < best)
            best = el;
    }
    return (double)best / 200000.0;
}

/* ---- the fstore store --------------------------------------------------- */

size_t bench_map_size(unsigned rows, size_t row_bytes)
{
    size_t map = (size_t)rows * row_bytes;
    return map < ((size_t)1 << 30) ? (size_t)1 << 30 : map;
}

fstore_conf_t *bench_conf_new(size_t map_size)
{
    char num[32];
    fstore_conf_t *conf = fstore_conf_new();
    if (conf == NULL)
        die("fstore_conf_new: out of memory");
    snprintf(num, sizeof num, "%zu", map_size);
    bench_conf_set(conf, "store.map_size", num);
    return conf;
}

void bench_conf_set(fstore_conf_t *conf, const char *name, const char *value)
{
    char errstr[512] = "";
    fs_check(fstore_conf_set(conf, name, value, errstr, sizeof errstr), name,
             errstr);
}

fstore_store_t *bench_store_open(const char *dir, fstore_conf_t *conf,
                                 const fstore_table_t **table)
{
    char errstr[512] = "";
    fstore_store_t *store;
    fs_check(fstore_store_open(dir, conf, &store, errstr, sizeof errstr),
             "fstore_store_open", errstr);
    fstore_conf_destroy(conf);
    char *json = schema_json();
    if (json == NULL)
        die("out of memory");
    fs_check(fstore_schema_register(store, 1, json, errstr, sizeof errstr),
             "fstore_schema_register", errstr);
    fs_check(fstore_table_create(store, BENCH_TABLE, json,
                                 FSTORE_FORMAT_CONFLUENT, -1, table, errstr,
                                 sizeof errstr),
             "fstore_table_create", errstr);
    free(json);
    return store;
}

int bench_column(const fstore_table_t *table, const char *name)
{
    int col = fstore_table_column_index(table, name);
    if (col < 0)
        die("column %s missing", name);
    return col;
}

void bench_point_cols(const fstore_table_t *table, int cols[4])
{
    for (int i = 0; i < 4; i++)
        cols[i] = bench_column(table, POINT_COLS[i]);
}

void bench_tail_check(fstore_store_t *store, const char *when)
{
    char msg[1024] = "";
    fstore_err_t err = fstore_tail_error(store, msg, sizeof msg);
    if (err != FSTORE_OK)
        die("%s: the tailer stopped: %s: %s", when, fstore_err_name(err),
            msg[0] ? msg : fstore_strerror(err));
}

/* ---- histogram ---------------------------------------------------------- */

void h_write_dat(const fs_hist *h, const char *path, const char *label)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        die("%s: %s", path, strerror(errno));
    fprintf(f,
            "# %s: latency_ns cumulative_fraction "
            "nines(-log10(1-fraction))\n",
            label);
    uint64_t seen = 0;
    for (unsigned i = 0; i < FS_HIST_N && seen < h->count; i++) {
        if (h->b[i] == 0)
            continue;
        seen += h->b[i];
        double q = (double)seen / (double)h->count;
        double nines = q < 1.0 ? -log10(1.0 - q) : 6.0;
        uint64_t u = fs_hist_bucket_high(i);
        fprintf(f, "%" PRIu64 " %.7f %.4f\n", u < h->max ? u : h->max, q,
                nines > 6.0 ? 6.0 : nines);
    }
    if (fclose(f) != 0)
        die("%s: write failed", path);
}

void h_write_dat_in(const fs_hist *h, const char *dir, const char *name,
                    const char *label)
{
    char path[4400];
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        die("mkdir %s: %s", dir, strerror(errno));
    snprintf(path, sizeof path, "%s/%s.dat", dir, name);
    h_write_dat(h, path, label);
}

/* ---- ratios ------------------------------------------------------------- */

void print_note(FILE *f, int md, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(md ? "\n" : "  ", f);
    vfprintf(f, fmt, ap);
    va_end(ap);
}

void add_ratio(ratios_t *rs, const char *id, const char *what, double value,
               const char *target, int at_least, double goal)
{
    if (rs->n == MAX_RATIOS)
        die("more than %d ratios", MAX_RATIOS);
    rs->r[rs->n++] = (ratio_t){id, what, value, target, at_least, goal};
}

const char *ratio_verdict(const ratio_t *r)
{
    if (r->target == NULL)
        return "-";
    int ok = r->at_least ? r->value >= r->goal : r->value <= r->goal;
    return ok ? "met" : "missed";
}

void print_ratios(FILE *f, int md, const ratio_t *r, int n, int width)
{
    fprintf(f, md ? "\n### Ratios (targets in docs/performance.md)\n\n"
                    "| ratio | measured | target | |\n|---|--:|--:|---|\n"
                  : "\nratios (targets in docs/performance.md)\n");
    for (int i = 0; i < n; i++) {
        const char *target = r[i].target ? r[i].target : "-";
        if (md)
            fprintf(f, "| %s | %.2f | %s | %s |\n", r[i].what, r[i].value,
                    target, ratio_verdict(&r[i]));
        else
            fprintf(f, "  %-*s %8.2f  %-8s %s\n", width, r[i].what, r[i].value,
                    target, ratio_verdict(&r[i]));
    }
}

void json_ratios(FILE *f, const ratio_t *r, int n, int decimals)
{
    for (int i = 0; i < n; i++) {
        fprintf(f, "    \"%s\": {\"what\": \"%s\", \"value\": %.*f", r[i].id,
                r[i].what, decimals, r[i].value);
        if (r[i].target != NULL)
            fprintf(f, ", \"target\": \"%s\", \"met\": %s", r[i].target,
                    strcmp(ratio_verdict(&r[i]), "met") == 0 ? "true"
                                                             : "false");
        fprintf(f, "}%s\n", i + 1 < n ? "," : "");
    }
}

/* ---- writing the report ------------------------------------------------- */

static FILE *open_w(const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        die("%s: %s", path, strerror(errno));
    return f;
}

static void close_w(FILE *f, const char *path)
{
    if (fclose(f) != 0)
        die("%s: write failed", path);
}

void bench_tables(bench_tables_fn *print, const void *report,
                  const char *markdown)
{
    print(stdout, 0, report);
    if (markdown != NULL) {
        FILE *md = open_w(markdown);
        print(md, 1, report);
        close_w(md, markdown);
    }
}

void bench_json(bench_json_fn *emit, const void *report, const char *path)
{
    if (path == NULL)
        return;
    FILE *f = open_w(path);
    emit(f, report);
    close_w(f, path);
    printf("figures written to %s\n", path);
}

/* ---- generating rows ---------------------------------------------------- */

void encoder_init(encoder_t *e)
{
    char *json = schema_json();
    if (json == NULL ||
        avro_schema_from_json_length(json, strlen(json), &e->schema) != 0)
        die("avro schema: %s", avro_strerror());
    free(json);
    e->iface = avro_generic_class_from_schema(e->schema);
    if (e->iface == NULL || avro_generic_value_new(e->iface, &e->rec) != 0)
        die("avro value: %s", avro_strerror());
    for (int i = 0; i < NSCALARS + 2; i++)
        if (avro_value_get_by_index(&e->rec, (size_t)i, &e->fields[i], NULL))
            die("avro field %d: %s", i, avro_strerror());
    e->arena_size = (size_t)BATCH_ROWS * 512u;
    e->arena = malloc(e->arena_size);
    e->starts = malloc(sizeof *e->starts * (BATCH_ROWS + 1));
    if (e->arena == NULL || e->starts == NULL)
        die("out of memory");
    e->writer = avro_writer_memory(e->arena, (int64_t)e->arena_size);
    if (e->writer == NULL)
        die("avro writer: %s", avro_strerror());
}

void encoder_free(encoder_t *e)
{
    avro_writer_free(e->writer);
    avro_value_decref(&e->rec);
    avro_value_iface_decref(e->iface);
    avro_schema_decref(e->schema);
    free(e->arena);
    free(e->starts);
}

/* Sets the record to entity @p id's features at update @p version:
 * deterministic per (id, version). */
static void fill_row(encoder_t *e, uint32_t id, uint32_t version)
{
    uint64_t st = 0x5eed0000ULL + id + ((uint64_t)version << 32);
    double activity = unit(&st) * 50.0;
    int rc = 0;
    for (int i = 0; i < NSCALARS && rc == 0; i++) {
        avro_value_t *f = &e->fields[i];
        switch (SCALARS[i].kind) {
        case K_LONG:
            rc = avro_value_set_long(
                f, (int64_t)(activity * (1 + i) * unit(&st) * 40.0));
            break;
        case K_DOUBLE:
            rc = avro_value_set_double(f, activity * unit(&st) * 12.5);
            break;
        case K_FLOAT: rc = avro_value_set_float(f, (float)unit(&st)); break;
        case K_INT:
            rc = avro_value_set_int(f, (int32_t)(splitmix64(&st) % 4000));
            break;
        case K_BOOL: rc = avro_value_set_boolean(f, unit(&st) < 0.2); break;
        case K_ENUM:
            rc = avro_value_set_enum(f, (int)(splitmix64(&st) % 5));
            break;
        case K_NDOUBLE: {
            avro_value_t br;
            if (unit(&st) < 0.1) {
                rc = avro_value_set_branch(f, 0, &br);
                if (rc == 0)
                    rc = avro_value_set_null(&br);
            } else {
                rc = avro_value_set_branch(f, 1, &br);
                if (rc == 0)
                    rc = avro_value_set_double(&br, 300.0 + unit(&st) * 550);
            }
            break;
        }
        }
    }
    const char *cat = CATEGORIES[splitmix64(&st) % 12];
    if (rc == 0)
        rc = avro_value_set_string(&e->fields[NSCALARS], cat);
    avro_value_t *emb = &e->fields[NSCALARS + 1];
    if (rc == 0)
        rc = avro_value_reset(emb);
    for (int i = 0; i < EMB_DIM && rc == 0; i++) {
        avro_value_t item;
        rc = avro_value_append(emb, &item, NULL);
        if (rc == 0)
            rc = avro_value_set_float(&item, (float)(unit(&st) * 2.0 - 1.0));
    }
    if (rc != 0)
        die("avro set: %s", avro_strerror());
}

void encode_batch(encoder_t *e, const uint32_t *ids, size_t n)
{
    encode_batch_version(e, ids, n, 0);
}

void encode_batch_version(encoder_t *e, const uint32_t *ids, size_t n,
                          uint32_t version)
{
    static uint8_t hdr[5] = {0, 0, 0, 0, 1}; /* magic 0, schema id 1 */
    avro_writer_memory_set_dest(e->writer, e->arena, (int64_t)e->arena_size);
    for (size_t i = 0; i < n; i++) {
        e->starts[i] = (size_t)avro_writer_tell(e->writer);
        fill_row(e, ids[i], version);
        if (avro_write(e->writer, hdr, sizeof hdr) != 0 ||
            avro_value_write(e->writer, &e->rec) != 0)
            die("avro encode: %s", avro_strerror());
    }
    e->starts[n] = (size_t)avro_writer_tell(e->writer);
}

size_t key_of(char *buf, uint32_t id)
{
    snprintf(buf, KEY_STRIDE, "user:%09u", id);
    return KEY_LEN;
}

uint32_t id_of(const void *key, size_t len)
{
    const char *k = key;
    if (key == NULL || len != KEY_LEN || memcmp(k, "user:", 5) != 0)
        return UINT32_MAX;
    uint32_t id = 0;
    for (size_t i = 5; i < KEY_LEN; i++) {
        if (k[i] < '0' || k[i] > '9')
            return UINT32_MAX;
        id = id * 10 + (uint32_t)(k[i] - '0');
    }
    return id;
}

char *make_keys(unsigned n)
{
    char *keys = malloc((size_t)n * KEY_STRIDE);
    if (keys == NULL)
        die("out of memory");
    for (unsigned i = 0; i < n; i++)
        key_of(keys + (size_t)i * KEY_STRIDE, i);
    return keys;
}

uint32_t *make_perm(unsigned n)
{
    uint32_t *perm = malloc(sizeof *perm * (n ? n : 1));
    if (perm == NULL)
        die("out of memory");
    for (unsigned i = 0; i < n; i++)
        perm[i] = i;
    uint64_t st = 42;
    for (unsigned i = n - 1; n > 0 && i > 0; i--) {
        unsigned j = (unsigned)(splitmix64(&st) % (i + 1));
        uint32_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    return perm;
}

uint32_t *make_seq(unsigned n)
{
    uint32_t *seq = malloc(sizeof *seq * SEQ_LEN);
    if (seq == NULL)
        die("out of memory");
    uint64_t st = 7;
    for (size_t i = 0; i < SEQ_LEN; i++)
        seq[i] = (uint32_t)(splitmix64(&st) % n);
    return seq;
}
