/* The results of `fstore demo`; see demo_report.h. */
#include "demo_report.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "demo_out.h"
#include "support/fmt.h"

#define LABEL "  %-26s "

/* "1.21 us / 3.40 us" from a histogram of nanoseconds. */
static const char *p50_p99(const fs_hist *h, char *buf, size_t size)
{
    char a[32], b[32];
    snprintf(buf, size, "p50 %s  p99 %s",
             demo_duration((double)fs_hist_quantile(h, 0.50), a, sizeof a),
             demo_duration((double)fs_hist_quantile(h, 0.99), b, sizeof b));
    return buf;
}

static void print_setup(FILE *out, const demo_report *r)
{
    char a[32], b[32];
    if (r->k->mock)
        fprintf(out, LABEL "librdkafka mock cluster (in-process, %s)\n",
                "Kafka", r->k->bootstraps);
    else
        fprintf(out, LABEL "%s\n", "Kafka", r->k->bootstraps);
    fprintf(out, LABEL "%s (%d partitions), table \"features\"\n", "topic",
            r->k->topic, r->k->partitions);
    fprintf(out, LABEL "%s\n", "tailer settings", r->settings);
    fprintf(out, LABEL "%s (%s)\n", "store", r->store_dir,
            r->store_kept ? "kept" : "removed at exit");
    fprintf(out,
            LABEL "%s (of %s entities written; the others' latest record "
                  "is a delete)\n",
            "entities bootstrapped", sup_grouped((int64_t)r->rows, a, sizeof a),
            sup_grouped((int64_t)r->entities, b, sizeof b));
    double rate = r->boot_s > 0 ? (double)r->boot_records / r->boot_s : 0;
    fprintf(out,
            LABEL "%s records/s (%s records in %.2f s, tail start to "
                  "ready)\n",
            "bootstrap rate", sup_grouped((int64_t)rate, a, sizeof a),
            sup_grouped((int64_t)r->boot_records, b, sizeof b), r->boot_s);
}

static void print_reads(FILE *out, const demo_report *r)
{
    const demo_lookup *l = r->look;
    char a[64], b[32], c[32];
    double hit = l->gets ? 100.0 * (double)l->hits / (double)l->gets : 0;
    double per_s =
        l->get_total_ns ? (double)l->gets * 1e9 / (double)l->get_total_ns : 0;
    fprintf(out,
            LABEL "%s (fstore_get + %d columns; %s lookups, %s/s on one "
                  "thread, %.1f%% found)\n",
            "lookup", p50_p99(&l->get_ns, a, sizeof a), l->ncols,
            sup_grouped((int64_t)l->gets, b, sizeof b),
            sup_grouped((int64_t)per_s, c, sizeof c), hit);
    double keys_s = l->batch_total_ns ? (double)l->batch_keys * 1e9 /
                                            (double)l->batch_total_ns
                                      : 0;
    fprintf(out,
            LABEL "%s keys/s (fstore_get_batch of %d keys x %zu columns "
                  "into float32; %s per batch)\n",
            "batch throughput", sup_grouped((int64_t)keys_s, b, sizeof b),
            DEMO_BATCH, l->nbcols, p50_p99(&l->batch_ns, a, sizeof a));
}

static void print_live(FILE *out, const demo_report *r)
{
    const demo_live *v = r->live;
    char a[64], b[32], c[32], d[32];
    long produced = atomic_load(&v->produced);
    fprintf(out,
            LABEL "%s records in %.1f s (%s/s, %s deletes) while looking "
                  "up; %s applied with the probes\n",
            "live updates", sup_grouped(produced, b, sizeof b), r->live_s,
            sup_grouped(
                (int64_t)((double)produced / (r->live_s > 0 ? r->live_s : 1)),
                c, sizeof c),
            sup_grouped(atomic_load(&v->deleted), d, sizeof d),
            sup_grouped((int64_t)r->live_applied, a, sizeof a));
    long probes = atomic_load(&v->probes);
    if (v->probe_ns.count)
        fprintf(out,
                LABEL "%s (%s probes: produce a known value, poll a "
                      "refreshed reader until seen%s)\n",
                "produce->visible", p50_p99(&v->probe_ns, a, sizeof a),
                sup_grouped(probes, b, sizeof b),
                v->probes_lost ? "; some never seen" : "");
    else
        fprintf(out, LABEL "n/a (no probe completed)\n", "produce->visible");
    if (r->fresh_count > 0)
        fprintf(out,
                LABEL "p50 %.1f ms  p99 %.1f ms (tailer: record timestamp "
                      "-> commit, fstore_stats_json freshness_ms over %s "
                      "live records)\n",
                "freshness", r->fresh_p50, r->fresh_p99,
                sup_grouped(r->fresh_count, b, sizeof b));
    else
        fprintf(out, LABEL "n/a (no live record applied)\n", "freshness");
    if (r->fresh_count > 0 && r->apply_count > 0)
        fprintf(out,
                LABEL "p50 %.1f ms  p99 %.1f ms (tailer: taken off the "
                      "consumer's queue -> commit, apply_ms)\n",
                "  of which fstore's", r->apply_p50, r->apply_p99);
}

void demo_report_print(FILE *out, const demo_report *r)
{
    fprintf(out, "\nfstore demo results\n");
    print_setup(out, r);
    print_reads(out, r);
    print_live(out, r);
}

/* Prints a timestamp-millis as UTC with its age. */
static void print_time(FILE *out, int64_t ms)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    char buf[64];
    if (!gmtime_r(&s, &tm) ||
        !strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm)) {
        fprintf(out, "%" PRId64, ms);
        return;
    }
    fprintf(out, "%s.%03d UTC (%.1f s ago)", buf, (int)(ms % 1000),
            (double)(demo_wall_ms() - ms) / 1000.0);
}

static void print_array(FILE *out, const fstore_table_t *t,
                        const fstore_row_t *row, int col)
{
    float e[64];
    size_t n = 0;
    fstore_err_t err = fstore_row_array_float(t, row, col, e, 64, &n);
    if (err != FSTORE_OK && err != FSTORE_ERR_RANGE) {
        fputs(err == FSTORE_NULL ? "null" : "?", out);
        return;
    }
    fputc('[', out);
    for (size_t i = 0; i < n && i < 64; i++) {
        if (i && i % 8 == 0)
            fprintf(out, ",\n" LABEL " ", "");
        else if (i)
            fputs(", ", out);
        fprintf(out, "%6.3f", (double)e[i]);
    }
    fprintf(out, "]%s (%zu floats)", n > 64 ? " ..." : "", n);
}

/* Prints one column's value, readably. */
static void print_value(FILE *out, const fstore_table_t *t,
                        const fstore_row_t *row, int col)
{
    int type = fstore_table_column_type(t, col);
    char buf[32];
    int64_t l = 0;
    double d = 0;
    int b = 0;
    const char *s = NULL;
    size_t n = 0;
    if (fstore_row_is_null(t, row, col) == 1) {
        fputs("null", out);
        return;
    }
    switch (type) {
    case FSTORE_TYPE_BOOLEAN:
        fstore_row_bool(t, row, col, &b);
        fputs(b ? "true" : "false", out);
        break;
    case FSTORE_TYPE_INT:
    case FSTORE_TYPE_LONG:
        fstore_row_long(t, row, col, &l);
        if (fstore_table_column_logical(t, col) ==
            FSTORE_LOGICAL_TIMESTAMP_MILLIS)
            print_time(out, l);
        else
            fputs(sup_grouped(l, buf, sizeof buf), out);
        break;
    case FSTORE_TYPE_FLOAT:
    case FSTORE_TYPE_DOUBLE:
        fstore_row_double(t, row, col, &d);
        fprintf(out, "%.2f", d);
        break;
    case FSTORE_TYPE_STRING:
    case FSTORE_TYPE_ENUM:
        if (fstore_row_bytes(t, row, col, &s, &n) == FSTORE_OK)
            fprintf(out, "%.*s", (int)n, s);
        break;
    case FSTORE_TYPE_ARRAY_FLOAT:
    case FSTORE_TYPE_ARRAY_DOUBLE:
    case FSTORE_TYPE_ARRAY_INT:
    case FSTORE_TYPE_ARRAY_LONG: print_array(out, t, row, col); break;
    default: fputs("(bytes)", out); break;
    }
}

fstore_err_t demo_report_sample(FILE *out, fstore_store_t *store,
                                const fstore_table_t *table, const demo_zipf *z,
                                uint32_t first_rank,
                                size_t (*key_of)(uint32_t id, char *buf))
{
    if (!key_of)
        key_of = demo_key;
    fstore_reader_t *rd = NULL;
    fstore_err_t err = fstore_reader_new(store, &rd);
    if (err)
        return err;
    const fstore_row_t *row = NULL;
    char key[DEMO_KEY_MAX];
    size_t klen = 0;
    uint32_t rank = first_rank;
    /* The busiest entity, unless its last record deleted it. */
    for (; rank < z->n && rank < first_rank + 100; rank++) {
        klen = key_of(demo_zipf_entity(z, rank), key);
        err = fstore_get(rd, table, key, klen, &row);
        if (err != FSTORE_NOT_FOUND)
            break;
    }
    if (err || !row) {
        fstore_reader_destroy(rd);
        return err == FSTORE_NOT_FOUND ? FSTORE_OK : err;
    }
    char a[32], b[32];
    fprintf(out,
            "\nfeature vector of %s (popularity rank %s of %s; partition "
            "%d, offset %" PRId64 ")\n",
            key, sup_grouped(rank + 1, a, sizeof a),
            sup_grouped(z->n, b, sizeof b), (int)fstore_row_partition(row),
            fstore_row_offset(row));
    int ncols = fstore_table_column_count(table);
    for (int c = 0; c < ncols; c++) {
        fprintf(out, LABEL, fstore_table_column_name(table, c));
        print_value(out, table, row, c);
        fputc('\n', out);
    }
    fstore_reader_destroy(rd);
    return FSTORE_OK;
}
