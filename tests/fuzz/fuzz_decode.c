/*
 * libFuzzer target: the record-value decoder, driven through the public API.
 *
 * A Kafka record value is untrusted bytes. Whatever they are, putting them in
 * a batch must return FSTORE_OK or an error of the decode family (400-499),
 * with a message, and a Confluent frame naming a schema id nobody registered
 * must give FSTORE_ERR_DECODE_SCHEMA_ID; anything else (another code, a
 * crash, a sanitizer report, a leak) is a bug. No input writes to disk:
 * every batch is aborted.
 *
 * The first call opens a store in a fresh temporary directory (removed at
 * exit), creates the tables and registers the writer schemas of
 * fuzz_schemas.h. The first input byte picks the table: see FUZZ_MODE_*.
 *
 * tests/fuzz/replay.c links this same file to replay corpora as ordinary
 * tests, so it builds with gcc too.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fstore/fstore.h>

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_schemas.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct {
    fstore_store_t *store;
    const fstore_table_t *confluent;
    const fstore_table_t *raw_serving;
    const fstore_table_t *raw_extra;
    const fstore_table_t *raw_promote;
    char dir[64];
    int64_t offset;
    int verbose; /* FUZZ_DECODE_VERBOSE set: print each outcome */
    int lax_ids; /* FUZZ_DECODE_LAX_IDS set: no unregistered-id check */
} g;

static void die(const char *what, fstore_err_t err, const char *errstr)
{
    fprintf(stderr, "fuzz_decode: %s: %s (%s): %s\n", what,
            fstore_err_name(err), fstore_strerror(err), errstr ? errstr : "");
    abort();
}

/* Removes the temporary store directory (flat: LMDB files only). */
static void cleanup(void)
{
    fstore_store_close(g.store);
    g.store = NULL;
    if (g.dir[0] == '\0')
        return;
    DIR *d = opendir(g.dir);
    if (d != NULL) {
        struct dirent *e;
        char path[sizeof g.dir + 256];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", g.dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(g.dir);
    g.dir[0] = '\0';
}

static const fstore_table_t *make_table(const char *name,
                                        fstore_format_t format, int32_t id)
{
    char errstr[512] = "";
    const fstore_table_t *t = NULL;
    fstore_err_t err =
        fstore_table_create(g.store, name, FUZZ_SERVING_SCHEMA, format, id, &t,
                            errstr, sizeof errstr);
    if (err != FSTORE_OK || t == NULL)
        die("fstore_table_create", err, errstr);
    return t;
}

static void setup(void)
{
    char errstr[512] = "";
    const char *tmp = getenv("TMPDIR");
    snprintf(g.dir, sizeof g.dir, "%s/fstore-fuzz-XXXXXX",
             tmp != NULL && strlen(tmp) < 40 ? tmp : "/tmp");
    if (mkdtemp(g.dir) == NULL) {
        perror("fuzz_decode: mkdtemp");
        abort();
    }
    atexit(cleanup);
    g.verbose = getenv("FUZZ_DECODE_VERBOSE") != NULL;
    /* Lets a fuzzing campaign go on past a known, open failure of that
     * check; never set for the regression replay. */
    g.lax_ids = getenv("FUZZ_DECODE_LAX_IDS") != NULL;

    fstore_conf_t *conf = fstore_conf_new();
    if (conf == NULL)
        die("fstore_conf_new", FSTORE_ERR_NO_MEMORY, NULL);
    fstore_err_t err =
        fstore_conf_set(conf, "store.sync", "none", errstr, sizeof errstr);
    if (err == FSTORE_OK)
        err = fstore_conf_set(conf, "store.map_size", "16777216", errstr,
                              sizeof errstr);
    if (err != FSTORE_OK)
        die("fstore_conf_set", err, errstr);
    err = fstore_store_open(g.dir, conf, &g.store, errstr, sizeof errstr);
    fstore_conf_destroy(conf);
    if (err != FSTORE_OK)
        die("fstore_store_open", err, errstr);

    for (int id = 1; id < FUZZ_NWRITERS; id++) {
        err = fstore_schema_register(g.store, id, FUZZ_WRITERS[id], errstr,
                                     sizeof errstr);
        if (err != FSTORE_OK) {
            fprintf(stderr, "fuzz_decode: writer schema id %d\n", id);
            die("fstore_schema_register", err, errstr);
        }
    }

    g.confluent = make_table("confluent", FSTORE_FORMAT_CONFLUENT, -1);
    g.raw_serving = make_table("raw_serving", FSTORE_FORMAT_AVRO, -1);
    g.raw_extra = make_table("raw_extra", FSTORE_FORMAT_AVRO, 2);
    g.raw_promote = make_table("raw_promote", FSTORE_FORMAT_AVRO, 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g.store == NULL)
        setup();

    const fstore_table_t *table = g.confluent;
    if (size > 0) {
        switch (data[0]) {
        case FUZZ_MODE_RAW_SERVING: table = g.raw_serving; break;
        case FUZZ_MODE_RAW_EXTRA: table = g.raw_extra; break;
        case FUZZ_MODE_RAW_PROMOTE: table = g.raw_promote; break;
        default: break;
        }
        if (table != g.confluent) {
            data++;
            size--;
        }
    }

    /* Copy into an exact-size heap buffer so ASan sees any over-read, even
     * for the empty input (a non-NULL zero-length value is a record, not a
     * tombstone). */
    uint8_t *value = malloc(size > 0 ? size : 1);
    if (value == NULL)
        abort();
    if (size > 0)
        memcpy(value, data, size);

    fstore_batch_t *batch = NULL;
    fstore_err_t err = fstore_batch_begin(g.store, &batch);
    if (err != FSTORE_OK || batch == NULL)
        die("fstore_batch_begin", err, NULL);

    /* 0xff filler: a message that is not NUL-terminated is caught below. */
    char errstr[256];
    memset(errstr, 0xff, sizeof errstr);
    err = fstore_batch_put(batch, table, "k", 1, value, size, 0, g.offset++,
                           1700000000000LL, errstr, sizeof errstr);
    fstore_batch_abort(batch);
    free(value);

    if (g.verbose)
        fprintf(stderr, "fuzz_decode: %s %s\n", fstore_err_name(err),
                err == FSTORE_OK || memchr(errstr, '\0', sizeof errstr) == NULL
                    ? ""
                    : errstr);
    /* A Confluent frame naming an id nobody registered (no schemas.dir is
     * set) must be refused as such, never decoded with some other schema. */
    if (table == g.confluent && size >= 5 && data[0] == 0 && !g.lax_ids) {
        int32_t id =
            (int32_t)((uint32_t)data[1] << 24 | (uint32_t)data[2] << 16 |
                      (uint32_t)data[3] << 8 | data[4]);
        if ((id < 1 || id >= FUZZ_NWRITERS) &&
            err != FSTORE_ERR_DECODE_SCHEMA_ID) {
            fprintf(stderr, "fuzz_decode: schema id %d is not registered\n",
                    id);
            errstr[sizeof errstr - 1] = '\0';
            die("fstore_batch_put did not return FSTORE_ERR_DECODE_SCHEMA_ID",
                err, err == FSTORE_OK ? "" : errstr);
        }
    }
    if (err == FSTORE_OK)
        return 0;
    if ((int)err < 400 || (int)err > 499) {
        errstr[sizeof errstr - 1] = '\0';
        die("fstore_batch_put returned a code outside the decode family", err,
            errstr);
    }
    if (memchr(errstr, '\0', sizeof errstr) == NULL)
        die("fstore_batch_put left errstr without a NUL", err, NULL);
    if (errstr[0] == '\0')
        die("fstore_batch_put failed without a message", err, errstr);
    return 0;
}
