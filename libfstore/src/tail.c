/*
 * The tailer's public lifecycle: tables added, the threads started and
 * stopped, readiness waited for, the first failure reported, and the
 * tailer freed when its store closes. One tailer per store, created by the
 * first fstore_tail_add.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "tail.h"
#include "tail_int.h"

static fs_tailer *fs_tailer_get(fstore_store_t *s)
{
    if (s->tail)
        return s->tail;
    fs_tailer *T = calloc(1, sizeof *T);
    if (!T)
        return NULL;
    T->store = s;
    pthread_mutex_init(&T->mu, NULL);
    pthread_cond_init(&T->cond, NULL);
    s->tail = T;
    return T;
}

fstore_err_t fstore_tail_add(fstore_store_t *s, const fstore_table_t *table,
                             const char *topic, const char *partitions,
                             char *errstr, size_t errstr_size)
{
    if (!s || !table || !topic || !*topic || table->store != s)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_INVALID_ARG,
                           "store, table (of that store) and topic are required");
    if (s->read_only)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_READ_ONLY,
                           "a read-only store cannot tail; open it writable "
                           "in one process");
    pthread_mutex_lock(&s->mu);
    fstore_err_t err = FSTORE_OK;
    fs_tailer *T = fs_tailer_get(s);
    if (!T) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
        goto out;
    }
    if (T->started) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_STATE,
                          "the tailer already runs; add tables before "
                          "fstore_tail_start");
        goto out;
    }
    for (size_t i = 0; i < T->ntopics; i++) {
        if (T->topics[i].table == table || !strcmp(T->topics[i].topic, topic)) {
            err = fstore__err(errstr, errstr_size, FSTORE_ERR_STATE,
                              "table \"%s\" or topic \"%s\" was already added",
                              table->name, topic);
            goto out;
        }
    }
    fs_ttopic tt;
    memset(&tt, 0, sizeof tt);
    tt.table = table;
    if (partitions && fs_parse_partitions(partitions, &tt.only, &tt.nonly)) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_CONF,
                          "partition list \"%s\" is invalid: use numbers and "
                          "ranges such as 0,2-5",
                          partitions);
        goto out;
    }
    fs_ttopic *nt = realloc(T->topics, (T->ntopics + 1) * sizeof *nt);
    if (!nt || !(tt.topic = fs_strdup(topic))) {
        if (nt)
            T->topics = nt;
        free(tt.only);
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
        goto out;
    }
    T->topics = nt;
    T->topics[T->ntopics++] = tt;
out:
    pthread_mutex_unlock(&s->mu);
    return err;
}

fstore_err_t fstore_tail_start(fstore_store_t *s, char *errstr,
                               size_t errstr_size)
{
    if (!s)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_INVALID_ARG,
                           "store must not be NULL");
    pthread_mutex_lock(&s->mu);
    fs_tailer *T = s->tail;
    fstore_err_t err = FSTORE_OK;
    if (!T || !T->ntopics) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_STATE,
                          "no table to tail: call fstore_tail_add first");
        goto out;
    }
    if (T->started) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_STATE,
                          "the tailer already runs");
        goto out;
    }
    T->max_records = fs_conf_u64(s->conf, "tail.batch.max_records");
    T->max_ms = fs_conf_u64(s->conf, "tail.batch.max_ms");
    T->stats_interval_ms = fs_conf_u64(s->conf, "tail.stats_interval_ms");
    T->bulk_bytes = fs_conf_u64(s->conf, "tail.bootstrap.max_bytes");
    T->rebuild = !strcmp(fs_conf_str(s->conf, "tail.offset_reset"), "rebuild");
    T->staged = calloc(T->ntopics, sizeof *T->staged);
    if (!T->staged) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
        goto out;
    }
    if (!(T->rk = fs_rk_new(T, RD_KAFKA_CONSUMER, errstr, errstr_size, &err)))
        goto out;
    const char *dlq = fs_conf_str(s->conf, "tail.dead_letter_topic");
    if (dlq) {
        T->dlq_topic = fs_strdup(dlq);
        if (!T->dlq_topic ||
            !(T->dlq = fs_rk_new(T, RD_KAFKA_PRODUCER, errstr, errstr_size, &err)))
            goto undo;
    }
    for (size_t i = 0; i < T->ntopics; i++)
        T->topics[i].rkt = rd_kafka_topic_new(T->rk, T->topics[i].topic, NULL);
    T->q = rd_kafka_queue_get_consumer(T->rk);
    if (!T->q) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_KAFKA,
                          "cannot get the consumer queue");
        goto undo;
    }
    T->stop = 0;
    T->state = ST_CONNECTING;
    T->err = FSTORE_OK;
    T->started_ms = fs_wall_ms();
    if (pthread_create(&T->thread, NULL, fs_tail_main, T) != 0) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY,
                          "cannot start the tailer thread");
        goto undo;
    }
    pthread_setname_np(T->thread, "fstore:tail");
    if (pthread_create(&T->watcher, NULL, fs_watch_main, T) != 0) {
        pthread_mutex_lock(&T->mu);
        __atomic_store_n(&T->stop, 1, __ATOMIC_RELEASE);
        pthread_cond_broadcast(&T->cond);
        pthread_mutex_unlock(&T->mu);
        pthread_join(T->thread, NULL);
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY,
                          "cannot start the tailer's watcher thread");
        goto undo;
    }
    pthread_setname_np(T->watcher, "fstore:watch");
    T->started = 1;
    goto out;
undo:
    if (T->q)
        rd_kafka_queue_destroy(T->q);
    T->q = NULL;
    for (size_t i = 0; i < T->ntopics; i++)
        if (T->topics[i].rkt)
            rd_kafka_topic_destroy(T->topics[i].rkt), T->topics[i].rkt = NULL;
    if (T->rk)
        rd_kafka_destroy(T->rk);
    if (T->dlq)
        rd_kafka_destroy(T->dlq);
    T->rk = T->dlq = NULL;
out:
    pthread_mutex_unlock(&s->mu);
    return err;
}

fstore_err_t fstore_tail_wait_ready(fstore_store_t *s, int timeout_ms)
{
    if (!s)
        return FSTORE_ERR_INVALID_ARG;
    fs_tailer *T = s->tail;
    if (!T || !T->started)
        return FSTORE_ERR_STATE;
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    if (timeout_ms >= 0) {
        dl.tv_sec += timeout_ms / 1000;
        dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (dl.tv_nsec >= 1000000000L)
            dl.tv_sec++, dl.tv_nsec -= 1000000000L;
    }
    fstore_err_t err = FSTORE_OK;
    pthread_mutex_lock(&T->mu);
    while (!T->ready && T->state != ST_FAILED && T->state != ST_STOPPED) {
        int rc = timeout_ms < 0 ? pthread_cond_wait(&T->cond, &T->mu)
                                : pthread_cond_timedwait(&T->cond, &T->mu, &dl);
        if (rc == ETIMEDOUT) {
            err = T->ready ? FSTORE_OK : FSTORE_ERR_TIMED_OUT;
            break;
        }
    }
    if (!T->ready && err == FSTORE_OK)
        err = FSTORE_ERR_STATE;
    pthread_mutex_unlock(&T->mu);
    return err;
}

fstore_err_t fstore_tail_error(fstore_store_t *s, char *buf, size_t size)
{
    if (!s)
        return FSTORE_ERR_INVALID_ARG;
    fs_tailer *T = s->tail;
    if (buf && size)
        buf[0] = 0;
    if (!T)
        return FSTORE_OK;
    pthread_mutex_lock(&T->mu);
    fstore_err_t e = T->err;
    if (buf && size)
        snprintf(buf, size, "%s", T->errmsg);
    pthread_mutex_unlock(&T->mu);
    return e;
}

fstore_err_t fstore_tail_stop(fstore_store_t *s)
{
    if (!s || !s->tail)
        return FSTORE_OK;
    fs_tailer *T = s->tail;
    if (T->started) {
        pthread_mutex_lock(&T->mu);
        __atomic_store_n(&T->stop, 1, __ATOMIC_RELEASE);
        pthread_cond_broadcast(&T->cond);
        pthread_mutex_unlock(&T->mu);
        pthread_join(T->thread, NULL);
        pthread_join(T->watcher, NULL);
        T->started = 0;
        /* Record the final figures for other processes. */
        pthread_mutex_lock(&T->mu);
        if (T->state != ST_FAILED)
            T->state = ST_STOPPED;
        pthread_cond_broadcast(&T->cond);
        pthread_mutex_unlock(&T->mu);
        char *txt = fs_stats_text(T);
        if (txt)
            fs_store_put_stats(s, txt);
        free(txt);
        if (T->dlq) {
            rd_kafka_flush(T->dlq, 5000);
            rd_kafka_destroy(T->dlq);
            T->dlq = NULL;
        }
        rd_kafka_queue_destroy(T->q);
        T->q = NULL;
        for (size_t i = 0; i < T->ntopics; i++)
            if (T->topics[i].rkt)
                rd_kafka_topic_destroy(T->topics[i].rkt), T->topics[i].rkt = NULL;
        /* No group membership to leave: close only stops the fetchers. */
        rd_kafka_consumer_close(T->rk);
        rd_kafka_destroy(T->rk);
        T->rk = NULL;
        T->assigned = 0;
    }
    return T->err;
}

void fs_tailer_free(fs_tailer *T)
{
    if (!T)
        return;
    fstore_tail_stop(T->store);
    for (size_t i = 0; i < T->ntopics; i++) {
        free(T->topics[i].topic);
        free(T->topics[i].only);
        free(T->topics[i].parts);
    }
    free(T->topics);
    free(T->staged);
    free(T->pend);
    free(T->dlq_topic);
    pthread_mutex_destroy(&T->mu);
    pthread_cond_destroy(&T->cond);
    free(T);
}

int fs_tailer_running(const fs_tailer *T) { return T && T->started; }

json_t *fs_tailer_stats(fs_tailer *T) { return T ? fs_stats_build(T) : NULL; }
