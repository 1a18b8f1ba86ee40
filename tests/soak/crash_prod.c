/* The crash campaign's producer; see crash_prod.h. */
#include "crash_prod.h"

#include <stdlib.h>
#include <string.h>

#define CP_TOMBSTONE_PCT 4
#define CP_V2_PCT 5

struct cp_prod {
    it_producer *p;
    int64_t nkeys;
    long rate;
    uint64_t rs;
    int64_t *ver;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int run, running, stop;
    int64_t written;
};

/* One record of a random key: the key's next version, or a tombstone. */
static void cp_one(cp_prod *P)
{
    int64_t id = (int64_t)(it_rand(&P->rs) % (uint64_t)P->nkeys);
    int64_t v = ++P->ver[id];
    uint64_t r = it_rand(&P->rs) % 100;
    if (v > 1 && r < CP_TOMBSTONE_PCT)
        it_del(P->p, id);
    else
        it_put(P->p, id, v,
               r < CP_TOMBSTONE_PCT + CP_V2_PCT ? IT_ID_V2 : IT_ID_SERVING);
    __atomic_add_fetch(&P->written, 1, __ATOMIC_RELAXED);
}

/* Waits while stopped; returns 0 when the thread must end. */
static int cp_wait_run(cp_prod *P)
{
    pthread_mutex_lock(&P->mu);
    if (!P->run && !P->stop) {
        pthread_mutex_unlock(&P->mu);
        it_flush(P->p);
        pthread_mutex_lock(&P->mu);
        P->running = 0;
        pthread_cond_broadcast(&P->cond);
        while (!P->run && !P->stop)
            pthread_cond_wait(&P->cond, &P->mu);
    }
    int go = !P->stop;
    if (go && !P->running) {
        P->running = 1;
        pthread_cond_broadcast(&P->cond);
    }
    pthread_mutex_unlock(&P->mu);
    return go;
}

static void *cp_main(void *arg)
{
    cp_prod *P = arg;
    int64_t t0 = 0, sent = 0;
    int was_running = 0;
    while (cp_wait_run(P)) {
        if (!was_running) { /* the pace restarts after every stop */
            t0 = it_now_us();
            sent = 0;
        }
        int64_t due = t0 + sent * 1000000 / P->rate, now = it_now_us();
        if (due > now) {
            it_poll(P->p, (int)((due - now + 999) / 1000));
        } else {
            cp_one(P);
            sent++;
        }
        pthread_mutex_lock(&P->mu);
        was_running = P->run;
        pthread_mutex_unlock(&P->mu);
    }
    it_flush(P->p);
    return NULL;
}

cp_prod *cp_start(const char *topic, it_reclog *log, int64_t nkeys, long rate,
                  uint64_t seed)
{
    cp_prod *P = calloc(1, sizeof *P);
    IT_CHECK(P != NULL && nkeys > 0 && rate > 0, "producer set-up");
    P->p = it_producer_new(topic, log, NULL, NULL);
    P->nkeys = nkeys;
    P->rate = rate;
    P->rs = seed ? seed : 1;
    P->ver = calloc((size_t)nkeys, sizeof *P->ver);
    IT_CHECK(P->ver != NULL, "calloc");
    pthread_mutex_init(&P->mu, NULL);
    pthread_cond_init(&P->cond, NULL);
    IT_CHECK(pthread_create(&P->th, NULL, cp_main, P) == 0, "thread");
    return P;
}

void cp_run(cp_prod *P, int run)
{
    pthread_mutex_lock(&P->mu);
    P->run = run;
    pthread_cond_broadcast(&P->cond);
    while (P->running != run)
        pthread_cond_wait(&P->cond, &P->mu);
    pthread_mutex_unlock(&P->mu);
}

void cp_burst(cp_prod *P, int64_t n)
{
    pthread_mutex_lock(&P->mu);
    IT_CHECK(!P->run && !P->running, "burst while the producer runs");
    pthread_mutex_unlock(&P->mu);
    for (int64_t i = 0; i < n; i++)
        cp_one(P);
    it_flush(P->p);
}

int64_t cp_written(cp_prod *P)
{
    return __atomic_load_n(&P->written, __ATOMIC_RELAXED);
}

void cp_free(cp_prod *P)
{
    if (!P)
        return;
    pthread_mutex_lock(&P->mu);
    P->stop = 1;
    pthread_cond_broadcast(&P->cond);
    pthread_mutex_unlock(&P->mu);
    pthread_join(P->th, NULL);
    it_producer_free(P->p);
    pthread_mutex_destroy(&P->mu);
    pthread_cond_destroy(&P->cond);
    free(P->ver);
    free(P);
}
