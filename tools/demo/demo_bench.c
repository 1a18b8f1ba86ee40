/* The read side of `fstore demo`; see demo_bench.h. */
#include "demo_bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define GETS_PER_ROUND 4096
#define BATCHES_PER_ROUND 16

uint64_t demo_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t demo_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int numeric_scalar(int type)
{
    return type == FSTORE_TYPE_BOOLEAN || type == FSTORE_TYPE_INT ||
           type == FSTORE_TYPE_LONG || type == FSTORE_TYPE_FLOAT ||
           type == FSTORE_TYPE_DOUBLE || type == FSTORE_TYPE_ENUM;
}

fstore_err_t demo_lookup_init(demo_lookup *l, fstore_store_t *store,
                              const fstore_table_t *table, const demo_zipf *z,
                              uint64_t seed)
{
    memset(l, 0, sizeof *l);
    l->table = table;
    l->ncols = fstore_table_column_count(table);
    if (l->ncols > DEMO_MAX_COLS)
        l->ncols = DEMO_MAX_COLS;
    for (int c = 0; c < l->ncols; c++) {
        l->types[c] = fstore_table_column_type(table, c);
        if (numeric_scalar(l->types[c]))
            l->bcols[l->nbcols++] = c;
    }
    l->keybuf = malloc(DEMO_POOL * sizeof *l->keybuf);
    l->keys = malloc(DEMO_POOL * sizeof *l->keys);
    l->lens = malloc(DEMO_POOL * sizeof *l->lens);
    l->matrix =
        malloc(DEMO_BATCH * (l->nbcols ? l->nbcols : 1) * sizeof *l->matrix);
    if (!l->keybuf || !l->keys || !l->lens || !l->matrix)
        return FSTORE_ERR_NO_MEMORY;
    demo_rng r = {seed};
    for (size_t i = 0; i < DEMO_POOL; i++) {
        uint32_t id = demo_zipf_entity(z, demo_zipf_rank(z, &r));
        l->lens[i] = demo_key(id, l->keybuf[i]);
        l->keys[i] = l->keybuf[i];
    }
    return fstore_reader_new(store, &l->reader);
}

/* Reads every column of @p row as a model would: scalars, the string and
 * the embedding as floats. @return a sum of what was read. */
static double read_columns(const demo_lookup *l, const fstore_row_t *row)
{
    const fstore_table_t *t = l->table;
    double sum = 0;
    for (int c = 0; c < l->ncols; c++) {
        switch (l->types[c]) {
        case FSTORE_TYPE_INT:
        case FSTORE_TYPE_LONG: {
            int64_t v = 0;
            if (fstore_row_long(t, row, c, &v) == FSTORE_OK)
                sum += (double)v;
            break;
        }
        case FSTORE_TYPE_ENUM: {
            int32_t v = 0;
            if (fstore_row_int(t, row, c, &v) == FSTORE_OK)
                sum += v;
            break;
        }
        case FSTORE_TYPE_FLOAT:
        case FSTORE_TYPE_DOUBLE: {
            double v = 0;
            if (fstore_row_double(t, row, c, &v) == FSTORE_OK)
                sum += v;
            break;
        }
        case FSTORE_TYPE_STRING:
        case FSTORE_TYPE_BYTES: {
            const char *s = NULL;
            size_t n = 0;
            if (fstore_row_bytes(t, row, c, &s, &n) == FSTORE_OK && n)
                sum += (unsigned char)s[0];
            break;
        }
        case FSTORE_TYPE_ARRAY_FLOAT: {
            float e[DEMO_DIM];
            size_t n = 0;
            fstore_err_t err =
                fstore_row_array_float(t, row, c, e, DEMO_DIM, &n);
            if (err == FSTORE_OK || err == FSTORE_ERR_RANGE)
                for (size_t k = 0; k < n && k < DEMO_DIM; k++)
                    sum += e[k];
            break;
        }
        default: break;
        }
    }
    return sum;
}

static fstore_err_t demo_gets(demo_lookup *l, char *errstr, size_t size)
{
    for (int i = 0; i < GETS_PER_ROUND; i++) {
        size_t k = l->next_get++ % DEMO_POOL;
        const fstore_row_t *row = NULL;
        uint64_t t0 = demo_now_ns();
        fstore_err_t err =
            fstore_get(l->reader, l->table, l->keys[k], l->lens[k], &row);
        if (err == FSTORE_OK)
            l->sink += read_columns(l, row);
        uint64_t t1 = demo_now_ns();
        if (err == FSTORE_OK)
            l->hits++;
        else if (err != FSTORE_NOT_FOUND) {
            snprintf(errstr, size, "fstore_get: %s",
                     fstore_reader_errmsg(l->reader));
            return err;
        }
        fs_hist_add(&l->get_ns, t1 - t0);
        l->get_total_ns += t1 - t0;
        l->gets++;
    }
    return FSTORE_OK;
}

static fstore_err_t demo_batches(demo_lookup *l, char *errstr, size_t size)
{
    for (int i = 0; i < BATCHES_PER_ROUND; i++) {
        size_t k = (l->next_batch++ * DEMO_BATCH) % DEMO_POOL;
        uint64_t t0 = demo_now_ns();
        fstore_err_t err = fstore_get_batch(
            l->reader, l->table, DEMO_BATCH, l->keys + k, l->lens + k, l->bcols,
            l->nbcols, l->matrix, l->nbcols, l->found);
        uint64_t t1 = demo_now_ns();
        if (err) {
            snprintf(errstr, size, "fstore_get_batch: %s",
                     fstore_reader_errmsg(l->reader));
            return err;
        }
        fs_hist_add(&l->batch_ns, t1 - t0);
        l->batch_total_ns += t1 - t0;
        l->batches++;
        l->batch_keys += DEMO_BATCH;
        for (int j = 0; j < DEMO_BATCH; j++)
            l->batch_hits += l->found[j];
        l->sink += l->matrix[0];
    }
    return FSTORE_OK;
}

fstore_err_t demo_lookup_round(demo_lookup *l, char *errstr, size_t size)
{
    fstore_err_t err = demo_gets(l, errstr, size);
    if (!err)
        err = demo_batches(l, errstr, size);
    if (!err && (err = fstore_reader_refresh(l->reader)))
        snprintf(errstr, size, "fstore_reader_refresh: %s",
                 fstore_reader_errmsg(l->reader));
    return err;
}

void demo_lookup_free(demo_lookup *l)
{
    fstore_reader_destroy(l->reader);
    free(l->keybuf);
    free(l->keys);
    free(l->lens);
    free(l->matrix);
    l->reader = NULL;
    l->keybuf = NULL;
    l->keys = NULL;
    l->lens = NULL;
    l->matrix = NULL;
}
