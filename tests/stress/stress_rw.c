/*
 * One writer thread rewrites every row in many batches, starting from a
 * 1 MiB map so the map must grow many times, while reader threads of the
 * same process look rows up and project batches. Readers must only ever see
 * whole rows, never a version older than one they saw before, and the map
 * growth must not pull the memory out from under them.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "stress.h"

#define KEYS 2000
#define ROUNDS 60
#define READERS 2

static fstore_store_t *S;
static const fstore_table_t *T;
static atomic_int done;

static void *writer(void *arg)
{
    (void)arg;
    uint8_t v[256];
    char err[512];
    for (int r = 1; r <= ROUNDS; r++) {
        fstore_batch_t *b;
        if (fstore_batch_begin(S, &b))
            ST_FAIL("batch_begin");
        for (int k = 0; k < KEYS; k++) {
            char key[32];
            int kl = snprintf(key, sizeof key, "key-%05d", k);
            /* Every row of round r carries n = r * KEYS + k. */
            size_t n = st_encode(v, (int64_t)r * KEYS + k);
            if (fstore_batch_put(b, T, key, (size_t)kl, v, n, 0,
                                 (int64_t)r * KEYS + k, r, err, sizeof err))
                ST_FAIL("put: %s", err);
        }
        if (fstore_batch_commit(b, err, sizeof err))
            ST_FAIL("commit round %d: %s", r, err);
    }
    atomic_store(&done, 1);
    return NULL;
}

static void *reader(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    fstore_reader_t *rd;
    if (fstore_reader_new(S, &rd))
        ST_FAIL("reader_new");
    int64_t seen[KEYS];
    memset(seen, 0, sizeof seen);
    long lookups = 0;
    while (!atomic_load(&done) || lookups < 1000) {
        if (fstore_reader_refresh(rd))
            ST_FAIL("refresh: %s", fstore_reader_errmsg(rd));
        for (int i = 0; i < 200; i++, lookups++) {
            int k = (int)(rand_r(&seed) % KEYS);
            char key[32];
            snprintf(key, sizeof key, "key-%05d", k);
            st_read_key(rd, T, key, k, KEYS, seen);
        }
        /* Batch projection over the same snapshot. */
        const void *keys[16];
        size_t lens[16];
        char kb[16][32];
        for (int i = 0; i < 16; i++) {
            lens[i] = (size_t)snprintf(kb[i], sizeof kb[i], "key-%05d",
                                       (int)(rand_r(&seed) % KEYS));
            keys[i] = kb[i];
        }
        int cols[2] = {0, 1};
        float m[32];
        uint8_t found[16];
        if (fstore_get_batch(rd, T, 16, keys, lens, cols, 2, m, 2, found))
            ST_FAIL("get_batch: %s", fstore_reader_errmsg(rd));
        for (int i = 0; i < 16; i++)
            if (found[i] && m[i * 2 + 1] != (float)((double)m[i * 2] * 0.5) &&
                m[i * 2] < 16777216.0f)
                ST_FAIL("batch row %d mixed", i);
        /* Let the writer grow the map now and then. */
        fstore_reader_reset(rd);
    }
    fstore_reader_destroy(rd);
    return NULL;
}

int main(int argc, char **argv)
{
    char dir[] = "/tmp/fstore-stress-XXXXXX";
    if (!mkdtemp(dir))
        ST_FAIL("mkdtemp");
    char err[512];
    fstore_conf_t *conf = fstore_conf_new();
    fstore_conf_set(conf, "store.map_size", "1048576", err, sizeof err);
    fstore_conf_set(conf, "store.sync", "none", err, sizeof err);
    if (fstore_store_open(dir, conf, &S, err, sizeof err))
        ST_FAIL("open: %s", err);
    fstore_conf_destroy(conf);
    if (fstore_table_create(S, "t", ST_SCHEMA, FSTORE_FORMAT_AVRO, -1, &T, err,
                            sizeof err))
        ST_FAIL("table: %s", err);
    pthread_t w, r[READERS];
    pthread_create(&w, NULL, writer, NULL);
    for (int i = 0; i < READERS; i++)
        pthread_create(&r[i], NULL, reader, (void *)(uintptr_t)(i + 1));
    pthread_join(w, NULL);
    for (int i = 0; i < READERS; i++)
        pthread_join(r[i], NULL);
    fstore_reader_t *rd;
    fstore_reader_new(S, &rd);
    uint64_t rows;
    int64_t off;
    fstore_reader_row_count(rd, T, &rows);
    fstore_reader_offset(rd, T, 0, &off);
    if (rows != KEYS || off != (int64_t)ROUNDS * KEYS + KEYS - 1)
        ST_FAIL("rows %llu offset %lld", (unsigned long long)rows, (long long)off);
    fstore_reader_destroy(rd);
    fstore_store_close(S);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    (void)argc;
    (void)argv;
    printf("stress_rw: %d rounds x %d rows, %d readers: ok\n", ROUNDS, KEYS, READERS);
    return 0;
}
