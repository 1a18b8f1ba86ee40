/*
 * lookup: see lookup.h.
 *
 * Copyright 2026 The fstore authors. Licensed under the Apache License 2.0.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "lookup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- options ------------------------------------------------------------ */

void lookup_parse_args(int argc, char **argv, lookup_opts_t *o,
                       int (*extra)(const char *name, const char *value),
                       lookup_usage_fn usage)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--keep") == 0) {
            o->keep = 1;
            continue;
        }
        if (v == NULL)
            usage(argv[0]);
        if (strcmp(a, "--rows") == 0) {
            char *end;
            unsigned long n = strtoul(v, &end, 10);
            if (*end != '\0' || n < GET_BATCH || n > 999999999ul)
                die("--rows wants an integer in [%d, 999999999]", GET_BATCH);
            o->rows = (unsigned)n;
        } else if (strcmp(a, "--dir") == 0) {
            o->dir = v;
        } else if (strcmp(a, "--seconds") == 0) {
            o->seconds = atof(v);
            if (!(o->seconds > 0.0))
                die("--seconds wants a positive number");
        } else if (strcmp(a, "--json") == 0) {
            o->json = v;
        } else if (!extra(a, v)) {
            usage(argv[0]);
        }
        i++;
    }
}

/* ---- the two stores ----------------------------------------------------- */

void lookup_dirs(lookup_t *L, const char *dir, const char *tmpl)
{
    L->made_parent = bench_make_parent(L->parent, sizeof L->parent, dir, tmpl);
    snprintf(L->fdir, sizeof L->fdir, "%s/fstore", L->parent);
    snprintf(L->rdir, sizeof L->rdir, "%s/raw-lmdb", L->parent);
}

void lookup_open(lookup_t *L, unsigned rows, const char *sync)
{
    size_t map = bench_map_size(rows, 1024u);
    fstore_conf_t *conf = bench_conf_new(map);
    bench_conf_set(conf, "store.sync", sync);
    L->store = bench_store_open(L->fdir, conf, &L->table);
    bench_point_cols(L->table, L->point_cols);
    for (int i = 0; i < MATRIX_COLS; i++)
        L->matrix_cols[i] = bench_column(L->table, SCALARS[i].name);

    unsigned flags = 0;
    if (strcmp(sync, "none") == 0)
        flags |= MDB_NOSYNC;
    else if (strcmp(sync, "meta") == 0)
        flags |= MDB_NOMETASYNC;
    mdb_check(mdb_env_create(&L->env), "mdb_env_create");
    mdb_check(mdb_env_set_mapsize(L->env, map), "mdb_env_set_mapsize");
    mdb_check(mdb_env_open(L->env, L->rdir, flags, 0600), "mdb_env_open");
    MDB_txn *txn;
    mdb_check(mdb_txn_begin(L->env, NULL, 0, &txn), "mdb_txn_begin");
    mdb_check(mdb_dbi_open(txn, NULL, 0, &L->dbi), "mdb_dbi_open");
    mdb_check(mdb_txn_commit(txn), "mdb_txn_commit");
}

void lookup_close(lookup_t *L, int keep)
{
    fstore_store_close(L->store);
    mdb_env_close(L->env);
    free(L->keys);
    free(L->seq);
    if (!keep) {
        remove_flat_dir(L->fdir);
        remove_flat_dir(L->rdir);
        if (L->made_parent)
            rmdir(L->parent);
    }
}

/* ---- loading ------------------------------------------------------------ */

void lookup_load_begin(lookup_loader_t *ld, lookup_t *L, unsigned n,
                       lookup_load_t *fig)
{
    memset(ld, 0, sizeof *ld);
    ld->L = L;
    ld->fig = fig;
    ld->n = n;
    ld->perm = make_perm(n);
    L->keys = make_keys(n);
    encoder_init(&ld->enc);
    memset(fig, 0, sizeof *fig);
    ld->tty = isatty(STDERR_FILENO);
    ld->ts = (int64_t)time(NULL) * 1000;
    ld->t_start = now_ns();
}

/* The batch's values into the fstore store through one fstore batch. */
static void put_fstore(lookup_loader_t *ld)
{
    const lookup_t *L = ld->L;
    const encoder_t *enc = &ld->enc;
    fstore_batch_t *batch;
    char errstr[512] = "";
    fs_check(fstore_batch_begin(L->store, &batch), "fstore_batch_begin", NULL);
    for (size_t i = 0; i < ld->cnt; i++) {
        const char *key = L->keys + (size_t)ld->ids[i] * KEY_STRIDE;
        fstore_err_t err = fstore_batch_put(
            batch, L->table, key, KEY_LEN, enc->arena + enc->starts[i],
            enc->starts[i + 1] - enc->starts[i], 0, ld->offset++, ld->ts,
            errstr, sizeof errstr);
        fs_check(err, "fstore_batch_put", errstr);
    }
    fs_check(fstore_batch_commit(batch, errstr, sizeof errstr),
             "fstore_batch_commit", errstr);
}

/* The batch's values as they are into the LMDB environment, one write
 * transaction. */
static void put_raw(lookup_loader_t *ld)
{
    const lookup_t *L = ld->L;
    const encoder_t *enc = &ld->enc;
    MDB_txn *txn;
    mdb_check(mdb_txn_begin(L->env, NULL, 0, &txn), "mdb_txn_begin");
    for (size_t i = 0; i < ld->cnt; i++) {
        MDB_val k = {KEY_LEN, L->keys + (size_t)ld->ids[i] * KEY_STRIDE};
        MDB_val v = {enc->starts[i + 1] - enc->starts[i],
                     enc->arena + enc->starts[i]};
        mdb_check(mdb_put(txn, L->dbi, &k, &v, 0), "mdb_put");
    }
    mdb_check(mdb_txn_commit(txn), "mdb_txn_commit");
}

int lookup_load_next(lookup_loader_t *ld)
{
    if (ld->done >= ld->n)
        return 0;
    unsigned left = ld->n - ld->done;
    ld->cnt = left < BATCH_ROWS ? left : BATCH_ROWS;
    ld->ids = ld->perm + ld->done;

    uint64_t t0 = now_ns();
    encode_batch(&ld->enc, ld->ids, ld->cnt);
    uint64_t t1 = now_ns();
    put_fstore(ld);
    uint64_t t2 = now_ns();
    put_raw(ld);
    uint64_t t3 = now_ns();

    lookup_load_t *fig = ld->fig;
    fig->encode_s += (double)(t1 - t0) / 1e9;
    fig->fstore_s += (double)(t2 - t1) / 1e9;
    fig->raw_s += (double)(t3 - t2) / 1e9;
    fig->value_bytes += ld->enc.starts[ld->cnt];
    ld->done += (unsigned)ld->cnt;
    return 1;
}

void lookup_load_end(lookup_loader_t *ld)
{
    if (ld->tty)
        fputc('\n', stderr);
    encoder_free(&ld->enc);
    free(ld->perm);
    ld->perm = NULL;
}

void lookup_sizes(lookup_t *L, lookup_load_t *fig)
{
    mdb_env_sync(L->env, 1);
    fig->fstore_disk = dir_disk_bytes(L->fdir);
    fig->raw_disk = dir_disk_bytes(L->rdir);
}
