/*
 * Opening and closing a store handle: the one place that composes the
 * layers, so that none of them reaches up. Opening brings up the
 * environment (store.c), then the tables (tables.c); closing tears down in
 * the opposite order, the tailer (tail.c) first.
 */
#include <stdio.h>
#include <sys/stat.h>

#include "snapshot.h"
#include "tables.h"
#include "tail.h"

/* store.seed: a writable open of a directory without a store restores the
 * seed snapshot into it first. */
static fstore_err_t fs_seed(const char *path, const fstore_conf_t *conf,
                            char *errstr, size_t errstr_size)
{
    const char *seed = conf ? fs_conf_str(conf, "store.seed") : NULL;
    if (!seed || !*seed || !path || fs_conf_bool(conf, "store.read_only"))
        return FSTORE_OK;
    char data[4200];
    struct stat st;
    snprintf(data, sizeof data, "%s/data.mdb", path);
    if (stat(data, &st) == 0)
        return FSTORE_OK; /* a store is there: the seed is for empty ones */
    char err[512] = "";
    fstore_err_t e = fstore_restore(seed, path, conf, err, sizeof err);
    if (e)
        return fstore__err(errstr, errstr_size, e, "seeding %s (store.seed): %s",
                           path, err);
    return FSTORE_OK;
}

fstore_err_t fstore_store_open(const char *path, const fstore_conf_t *conf,
                               fstore_store_t **storep, char *errstr,
                               size_t errstr_size)
{
    /* A restore killed in this directory left its work behind: a store
     * made here now would keep it forever. */
    if (path && !(conf && fs_conf_bool(conf, "store.read_only")))
        fs_restore_leftovers(path);
    fstore_err_t err = fs_seed(path, conf, errstr, errstr_size);
    if (err) {
        *storep = NULL;
        return err;
    }
    err = fs_store_open(path, conf, storep, errstr, errstr_size);
    if (err)
        return err;
    fstore_store_t *s = *storep;
    pthread_mutex_lock(&s->mu);
    err = fs_tables_load(s, errstr, errstr_size);
    pthread_mutex_unlock(&s->mu);
    if (err) {
        *storep = NULL;
        fstore_store_close(s);
    }
    return err;
}

void fstore_store_close(fstore_store_t *s)
{
    if (!s)
        return;
    fs_tailer_free(s->tail);
    fs_tables_free(s);
    fs_store_free(s);
}
