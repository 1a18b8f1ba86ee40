/*
 * Scenario 3: exact resume of the `fstore tail` CLI under SIGKILL.
 *
 * usage: it_resume PATH-OF-fstore
 *
 * A producer thread keeps writing records of FSTORE_IT_RESUME_KEYS (3000)
 * keys at FSTORE_IT_RESUME_RATE (3000) records/s, each value carrying a
 * per-key version counter (1, 2, 3, ... per key; 3 % tombstones), over 4
 * partitions. Meanwhile `fstore tail` runs on the topic and is SIGKILLed at
 * random moments FSTORE_IT_KILLS (12) times, restarted each time: two runs
 * in three FSTORE_IT_KILL_MIN_MS..FSTORE_IT_KILL_MAX_MS (200..4000) ms
 * after start, every third 0..1000 ms after its first commit (so kills
 * surely land mid-stream).
 *
 * After every kill, with the producer paused and flushed, the store (opened
 * read-only) must equal exactly the topic's latest values up to the offsets
 * it says it applied: for every key, the row is the record with the highest
 * offset <= the applied offset of its partition (same version, same
 * offset), tombstoned and unwritten keys are absent, the row count matches,
 * and applied offsets never move backwards. A record applied twice, out of
 * order, lost, or an offset committed apart from its rows fails this.
 *
 * Then a key the store holds (`fstore get` finds it) gets a tombstone.
 * Finally `fstore tail --until-caught-up` must exit 0, and the store must
 * equal the latest value of every key with applied offsets = end offsets -
 * 1, also as reported by fstore_stats_json; `fstore get` finds a live key
 * at its last version and no longer finds the tombstoned one.
 *
 * The topic is not compacted: the per-kill check compares against every
 * record up to an offset, which the cleaner could otherwise remove between
 * two runs of the tailer (the view would still be right, the check not).
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define NPARTS 4

/* argv strings: execv takes char *const[], the literals are const. */
static char *A(const char *s)
{
    return (char *)(uintptr_t)s;
}

typedef struct prod {
    it_producer *p;
    int64_t nkeys;
    long rate;
    uint64_t rs;
    int64_t *ver;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int pause_req, paused, stop;
    int64_t written;
} prod;

static void *producer_main(void *arg)
{
    prod *P = arg;
    int64_t t0 = it_now_us(), sent = 0;
    for (;;) {
        pthread_mutex_lock(&P->mu);
        if (P->pause_req && !P->stop) {
            pthread_mutex_unlock(&P->mu);
            it_flush(P->p);
            pthread_mutex_lock(&P->mu);
            P->paused = 1;
            pthread_cond_broadcast(&P->cond);
            while (P->pause_req && !P->stop)
                pthread_cond_wait(&P->cond, &P->mu);
            P->paused = 0;
            t0 = it_now_us();
            sent = 0;
        }
        int stop = P->stop;
        pthread_mutex_unlock(&P->mu);
        if (stop)
            break;
        int64_t due = t0 + sent * 1000000 / P->rate;
        int64_t now = it_now_us();
        if (due > now) {
            it_poll(P->p, (int)((due - now + 999) / 1000));
            continue;
        }
        int64_t id = (int64_t)(it_rand(&P->rs) % (uint64_t)P->nkeys);
        /* The version counts every record of the key, tombstones too, so
         * it always grows. */
        int64_t v = ++P->ver[id];
        if (v > 1 && it_rand(&P->rs) % 100 < 3)
            it_del(P->p, id);
        else
            it_put(P->p, id, v, IT_ID_SERVING);
        sent++;
        P->written++;
    }
    it_flush(P->p);
    return NULL;
}

static void producer_pause(prod *P, int pause)
{
    pthread_mutex_lock(&P->mu);
    P->pause_req = pause;
    pthread_cond_broadcast(&P->cond);
    while (pause && !P->paused)
        pthread_cond_wait(&P->cond, &P->mu);
    pthread_mutex_unlock(&P->mu);
}

/* `fstore get` of key id: asserts exit status 0 and returns the one line it
 * printed (in line). */
static void cli_get(char *cli, char *store, char *table, int64_t id, char *line,
                    size_t size)
{
    char key[IT_KEY_MAX], out[4200];
    it_key(key, id);
    snprintf(out, sizeof out, "%s/get-%lld.out", it_dir(), (long long)id);
    unlink(out);
    char *get_argv[] = {cli,          A("get"), A("--store"), store,
                        A("--table"), table,    key,          NULL};
    pid_t pid = it_spawn(get_argv, out);
    int st = it_wait(pid, 30000);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        it_tail_file(out, 5);
        IT_FAIL("fstore get %s: status %d, want exit status 0 (missing keys "
                "are not errors)",
                key, st);
    }
    FILE *f = fopen(out, "r");
    IT_CHECK(f && fgets(line, (int)size, f), "fstore get %s printed nothing",
             key);
    fclose(f);
}

int main(int argc, char **argv)
{
    it_init("resume");
    if (argc < 2 || access(argv[1], X_OK))
        IT_FAIL("usage: it_resume PATH-OF-fstore (the CLI, built from tools/)");
    char *cli = argv[1];
    const int64_t nkeys = it_env_long("FSTORE_IT_RESUME_KEYS", 3000);
    const long rate = it_env_long("FSTORE_IT_RESUME_RATE", 3000);
    const long kills = it_env_long("FSTORE_IT_KILLS", 12);
    const long kmin = it_env_long("FSTORE_IT_KILL_MIN_MS", 200);
    const long kmax = it_env_long("FSTORE_IT_KILL_MAX_MS", 4000);
    IT_CHECK(nkeys > 0 && rate > 0 && kmax >= kmin, "sizes");
    uint64_t rs = it_seed();

    char *topic = it_topic_name("resume");
    it_create_topic(topic, NPARTS, NULL);
    char store[4200], schema[4200], schemas[4200], logf[4200];
    snprintf(store, sizeof store, "%s/store", it_dir());
    snprintf(schema, sizeof schema, "%s/serving.avsc", it_dir());
    snprintf(schemas, sizeof schemas, "%s/schemas", it_dir());
    snprintf(logf, sizeof logf, "%s/tail.log", it_dir());
    it_write_file(schema, IT_SCHEMA);
    it_write_schemas_dir(schemas);
    char *tail_argv[] = {cli,
                         A("tail"),
                         A("--brokers"),
                         A(it_brokers()),
                         A("--topic"),
                         topic,
                         A("--schema"),
                         schema,
                         A("--store"),
                         store,
                         A("--schemas"),
                         schemas,
                         A("-q"),
                         NULL,
                         NULL,
                         NULL,
                         NULL,
                         NULL,
                         NULL};
    /* FSTORE_IT_TAIL_X=PROP=VALUE: one more -X for every run (debugging). */
    int xargs = 13;
    if (getenv("FSTORE_IT_TAIL_X") && *getenv("FSTORE_IT_TAIL_X")) {
        tail_argv[xargs++] = A("-X");
        tail_argv[xargs++] = getenv("FSTORE_IT_TAIL_X");
    }

    it_reclog log;
    it_reclog_init(&log);
    prod P;
    memset(&P, 0, sizeof P);
    P.p = it_producer_new(topic, &log, NULL, NULL);
    P.nkeys = nkeys;
    P.rate = rate;
    P.rs = rs ^ 0x9e3779b97f4a7c15ULL;
    P.ver = calloc((size_t)nkeys, sizeof *P.ver);
    IT_CHECK(P.ver != NULL, "calloc");
    pthread_mutex_init(&P.mu, NULL);
    pthread_cond_init(&P.cond, NULL);
    pthread_t th;
    IT_CHECK(pthread_create(&th, NULL, producer_main, &P) == 0, "thread");

    int64_t prev[NPARTS] = {-1, -1, -1, -1};
    long empty_kills = 0, progress_kills = 0;
    for (long k = 1; k <= kills; k++) {
        pid_t pid = it_spawn(tail_argv, logf);
        int64_t spawned = it_now_us();
        int ms =
            (int)(kmin + (long)(it_rand(&rs) % (uint64_t)(kmax - kmin + 1)));
        /* Every third run dies a random 0..1000 ms after its first commit,
         * so some kills surely land mid-stream whatever the tailer's
         * start-up takes; the others at a random time after start. */
        int after_commit = k % 3 == 0;
        int extra = (int)(it_rand(&rs) % 1001);
        if (after_commit)
            ms = 30000;
        int st = -1, first_ms = -1;
        /* Until the kill: watch when this run first commits. */
        while (st == -1 && it_now_us() - spawned < (int64_t)ms * 1000) {
            int64_t left = (int64_t)ms * 1000 - (it_now_us() - spawned);
            st = it_wait(pid, (int)(left / 1000 < 50 ? left / 1000 : 50));
            if (first_ms >= 0 || st != -1)
                continue;
            const fstore_table_t *wt = NULL;
            fstore_store_t *ws = it_store_open_ro(store, topic, &wt);
            int64_t now_lim[NPARTS];
            it_stored_offsets(ws, wt, now_lim, NPARTS);
            fstore_store_close(ws);
            for (int p = 0; p < NPARTS; p++)
                if (now_lim[p] != prev[p])
                    first_ms = (int)((it_now_us() - spawned) / 1000);
            if (first_ms >= 0 && after_commit)
                ms = first_ms + extra;
        }
        if (after_commit && first_ms < 0 && st == -1)
            IT_FAIL("run %ld of fstore tail applied nothing within 30 s", k);
        if (st != -1) {
            it_tail_file(logf, 30);
            IT_FAIL("fstore tail exited by itself (status %d) before kill %ld",
                    st, k);
        }
        kill(pid, SIGKILL);
        st = it_wait(pid, 10000);
        IT_CHECK(st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
                 "fstore tail did not die by SIGKILL (status %d)", st);

        producer_pause(&P, 1);
        const fstore_table_t *t = NULL;
        fstore_store_t *s = it_store_open_ro(store, topic, &t);
        int64_t lim[NPARTS];
        it_stored_offsets(s, t, lim, NPARTS);
        int64_t moved = 0;
        for (int p = 0; p < NPARTS; p++) {
            IT_CHECK(lim[p] >= prev[p],
                     "applied offset of partition %d went back from %lld to "
                     "%lld after kill %ld",
                     p, (long long)prev[p], (long long)lim[p], k);
            moved += lim[p] - prev[p];
            prev[p] = lim[p];
        }
        progress_kills += moved > 0;
        size_t live = 0;
        if (s) {
            it_expect *exp = it_expected(&log, nkeys, lim, NPARTS, NULL, NULL);
            live = it_live_count(exp, nkeys);
            size_t bad = it_compare(s, t, exp, nkeys, NPARTS);
            if (bad)
                IT_FAIL("after kill %ld (at %d ms) the store is not the "
                        "topic up to its applied offsets %lld,%lld,%lld,%lld: "
                        "%zu differences (above)",
                        k, ms, (long long)lim[0], (long long)lim[1],
                        (long long)lim[2], (long long)lim[3], bad);
            free(exp);
            fstore_store_close(s);
        } else {
            empty_kills++;
        }
        it_log("kill %2ld at %4d ms (first commit at %d ms): applied "
               "%lld,%lld,%lld,%lld (+%lld), %zu live keys, view = topic "
               "prefix; %lld records produced",
               k, ms, first_ms, (long long)lim[0], (long long)lim[1],
               (long long)lim[2], (long long)lim[3], (long long)moved, live,
               (long long)P.written);
        producer_pause(&P, 0);
    }
    IT_CHECK(progress_kills >= kills / 3,
             "only %ld of %ld runs applied anything before their SIGKILL",
             progress_kills, kills);

    pthread_mutex_lock(&P.mu);
    P.stop = 1;
    pthread_cond_broadcast(&P.cond);
    pthread_mutex_unlock(&P.mu);
    pthread_join(th, NULL);
    it_log("producer stopped after %lld records", (long long)P.written);

    /* A key the store holds now (its row is the latest record up to the
     * offsets of the last kill, as checked above) and whose last record is
     * a put gets a tombstone: the catch-up must delete it. `fstore get`
     * finds it before, so the check after the catch-up can fail. */
    int64_t del_id = -1, del_version = -1;
    {
        it_expect *before = it_expected(&log, nkeys, prev, NPARTS, NULL, NULL);
        it_expect *latest = it_expected(&log, nkeys, NULL, 0, NULL, NULL);
        for (int64_t id = 0; id < nkeys && del_id < 0; id++)
            if (before[id].version >= 0 && latest[id].version >= 0) {
                del_id = id;
                del_version = before[id].version;
            }
        free(before);
        free(latest);
    }
    IT_CHECK(del_id >= 0,
             "no key with a row in the store before the catch-up (applied "
             "%lld,%lld,%lld,%lld)",
             (long long)prev[0], (long long)prev[1], (long long)prev[2],
             (long long)prev[3]);
    char del_key[IT_KEY_MAX], line[8192], want[128];
    it_key(del_key, del_id);
    cli_get(cli, store, topic, del_id, line, sizeof line);
    snprintf(want, sizeof want, "\"version\":%lld", (long long)del_version);
    IT_CHECK(strstr(line, "\"found\":true") && strstr(line, want),
             "before its tombstone, fstore get %s printed %s (want found, %s)",
             del_key, line, want);
    ++P.ver[del_id];
    it_del(P.p, del_id);
    it_flush(P.p);
    it_log("%s (version %lld in the store) tombstoned; catching up with "
           "--until-caught-up",
           del_key, (long long)del_version);

    tail_argv[xargs] = A("--until-caught-up");
    tail_argv[xargs + 1] = A("--timeout");
    tail_argv[xargs + 2] = A("120");
    int64_t c0 = it_now_us();
    pid_t pid = it_spawn(tail_argv, logf);
    int st = it_wait(pid, 150000);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        it_tail_file(logf, 30);
        IT_FAIL("fstore tail --until-caught-up: status %d", st);
    }
    it_log("caught up in %.1f s", (double)(it_now_us() - c0) / 1e6);

    const fstore_table_t *t = NULL;
    fstore_store_t *s = it_store_open_ro(store, topic, &t);
    IT_CHECK(s != NULL, "no store after catching up");
    it_expect *exp = it_expected(&log, nkeys, NULL, 0, NULL, NULL);
    size_t live = it_live_count(exp, nkeys);
    size_t bad = it_compare(s, t, exp, nkeys, NPARTS);
    IT_CHECK(bad == 0, "the final store differs in %zu places", bad);
    /* Every key's version is the last one produced for it. */
    for (int64_t id = 0; id < nkeys; id++)
        if (exp[id].version >= 0)
            IT_CHECK(exp[id].version == P.ver[id],
                     "key %lld: expected version %lld, last produced %lld",
                     (long long)id, (long long)exp[id].version,
                     (long long)P.ver[id]);
    it_check_offsets(s, t, topic, NPARTS, NULL, NULL);
    json_t *stj = it_stats(s);
    IT_CHECK(it_json_int(stj, -1, "tables", topic, "rows", NULL) ==
                 (int64_t)live,
             "stats rows");
    for (int p = 0; p < NPARTS; p++) {
        char ps[16];
        snprintf(ps, sizeof ps, "%d", p);
        int64_t lo, hi;
        it_watermarks(topic, p, &lo, &hi);
        IT_CHECK(it_json_int(stj, -2, "tables", topic, "partitions", ps,
                             "applied_offset", NULL) == hi - 1,
                 "stats applied_offset of partition %d", p);
    }
    json_decref(stj);
    fstore_store_close(s);
    it_log("after %ld SIGKILLs (%ld before the store existed, %ld after the "
           "run applied records) and a catch-up: %zu live keys of %lld, "
           "every key at its last produced version, applied offsets = end "
           "offsets - 1",
           kills, empty_kills, progress_kills, live, (long long)nkeys);

    /* The CLI reads the same: a live key at its last version, and the key
     * tombstoned before the catch-up is gone (it_compare above found it
     * absent through the library). */
    IT_CHECK(exp[del_id].version < 0 && exp[del_id].partition >= 0,
             "test bug: %s is not deleted in the topic", del_key);
    int64_t found_id = -1;
    for (int64_t id = 0; id < nkeys && found_id < 0; id++)
        if (exp[id].version >= 0)
            found_id = id;
    IT_CHECK(found_id >= 0, "no live key after the catch-up");
    char key[IT_KEY_MAX];
    it_key(key, found_id);
    cli_get(cli, store, topic, found_id, line, sizeof line);
    snprintf(want, sizeof want, "\"version\":%lld",
             (long long)exp[found_id].version);
    IT_CHECK(strstr(line, "\"found\":true") && strstr(line, want),
             "fstore get %s printed %s (want found, %s)", key, line, want);
    cli_get(cli, store, topic, del_id, line, sizeof line);
    IT_CHECK(strstr(line, "\"found\":false") && !strstr(line, "\"value\""),
             "after its tombstone, fstore get %s printed %s (want not found)",
             del_key, line);
    it_log("fstore get: %s found at version %lld, %s (deleted) not found", key,
           (long long)exp[found_id].version, del_key);
    free(exp);
    it_producer_free(P.p);
    free(P.ver);
    it_reclog_free(&log);
    free(topic);
    return it_pass();
}
