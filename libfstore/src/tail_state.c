/* The tailer's state: failure, state changes, readiness and waits. */
#include <stdarg.h>
#include <stdio.h>

#include "tail_int.h"

void fs_set_state(fs_tailer *T, int st)
{
    pthread_mutex_lock(&T->mu);
    if (T->state != ST_FAILED && T->state != ST_STOPPED)
        T->state = st;
    pthread_cond_broadcast(&T->cond);
    pthread_mutex_unlock(&T->mu);
}

void fs_fail(fs_tailer *T, fstore_err_t err, const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&T->mu);
    if (T->state == ST_FAILED) {
        pthread_mutex_unlock(&T->mu); /* the first failure is the story */
        return;
    }
    va_start(ap, fmt);
    vsnprintf(T->errmsg, sizeof T->errmsg, fmt, ap);
    va_end(ap);
    T->err = err;
    T->state = ST_FAILED;
    snprintf(T->last_error, sizeof T->last_error, "%s", T->errmsg);
    __atomic_store_n(&T->stop, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&T->cond);
    pthread_mutex_unlock(&T->mu);
    TLOG(T, 3, "tailer stopped: %s", T->errmsg);
}

int fs_all_ready(fs_tailer *T)
{
    for (size_t i = 0; i < T->ntopics; i++) {
        fs_ttopic *tt = &T->topics[i];
        for (int32_t p = 0; p < tt->nparts; p++)
            if (tt->parts[p].assigned && !tt->parts[p].ready)
                return 0;
        if (tt->only)
            for (size_t k = 0; k < tt->nonly; k++)
                if (tt->only[k] >= tt->nparts)
                    return 0;
    }
    return 1;
}

/* Marks partitions whose position reached the end captured at start, and
 * the tailer ready once all are. Positions must be fresh and everything
 * before them applied. */
void fs_update_ready(fs_tailer *T, int64_t now_ms)
{
    pthread_mutex_lock(&T->mu);
    for (size_t i = 0; i < T->ntopics; i++) {
        fs_ttopic *tt = &T->topics[i];
        for (int32_t p = 0; p < tt->nparts; p++) {
            fs_tpart *tp = &tt->parts[p];
            /* Not before its last record was checked (tail_verify.c). */
            if (tp->assigned && !tp->ready && !tp->verify && !tp->recheck &&
                !tp->replaced && tp->position >= tp->end_at_start &&
                tp->applied + 1 >= tp->end_at_start)
                tp->ready = 1;
        }
    }
    /* A tailer that failed stays failed: its waiters get the error. */
    if (!T->ready && T->assigned && T->state != ST_FAILED && fs_all_ready(T)) {
        T->ready = 1;
        T->ready_ms = now_ms;
        T->state = ST_READY;
        TLOG(T, 6, "caught up in %lld ms", (long long)(now_ms - T->started_ms));
    }
    pthread_cond_broadcast(&T->cond);
    pthread_mutex_unlock(&T->mu);
}

void fs_tail_backoff(fs_tailer *T)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 1;
    pthread_mutex_lock(&T->mu);
    if (!T->stop)
        pthread_cond_timedwait(&T->cond, &T->mu, &ts);
    pthread_mutex_unlock(&T->mu);
}
