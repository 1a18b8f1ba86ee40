/*
 * Opening and closing a store handle: the one place that composes the
 * layers, so that none of them reaches up. Opening brings up the
 * environment (store.c), then the tables (tables.c); closing tears down in
 * the opposite order, the tailer (tail.c) first.
 */
#include "tables.h"
#include "tail.h"

fstore_err_t fstore_store_open(const char *path, const fstore_conf_t *conf,
                               fstore_store_t **storep, char *errstr,
                               size_t errstr_size)
{
    fstore_err_t err = fs_store_open(path, conf, storep, errstr, errstr_size);
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
