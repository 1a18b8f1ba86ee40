/*
 * libFuzzer target: aggregation state bytes, read by fs_agg_state_read.
 *
 * An entity's state comes back from the changelog topic and the local
 * state store: untrusted. The input's first 8 bytes are a stream time q
 * (little-endian), the rest the state of the spec in fuzz_agg_state.h.
 * Reading must either refuse with FSTORE_ERR_CORRUPT and a message, or
 * give an entity whose windows, expiry, output record and state at q all
 * work; the state written at q must read back, and writing it again must
 * give the same bytes. Anything else (a crash, a sanitizer report, a leak,
 * an unstable round trip) is a bug.
 *
 * Internal API (agg_tiles.h): linked with the static library.
 * tests/fuzz/replay.c links this same file to replay corpora as ordinary
 * tests, so it builds with gcc too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg_output.h"
#include "fuzz_agg_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fs_agg_spec *g_spec;

static void die(const char *what, const char *errstr)
{
    fprintf(stderr, "fuzz_agg_state: %s: %s\n", what, errstr ? errstr : "");
    abort();
}

static void setup(void)
{
    char err[512] = "";
    if (fs_agg_spec_parse(fuzz_agg_spec, NULL, fuzz_agg_events, &g_spec, err,
                          sizeof err))
        die("the spec", err);
}

/* Everything an entity read from bytes offers, at stream time q. */
static void exercise(fs_agg_entity *e, int64_t q)
{
    const fs_agg_spec *s = g_spec;
    for (int w = 0; w < s->nwindows; w++) {
        uint64_t count, n[2];
        double sum[2], min[2], max[2];
        fs_agg_window_values(e, s, w, q, &count, n, sum, min, max);
        for (int f = 0; f < s->nnum; f++)
            if (n[f] > count)
                die("more values than events in a window", NULL);
    }
    int64_t next = fs_agg_next_change(e, s, q);
    if (next != INT64_MAX && next <= q)
        die("a change due at or before the stream time", NULL);
    if (fs_agg_empty(e, s, q) != (next == INT64_MAX))
        die("empty and next change disagree", NULL);
    fs_buf rec = {0};
    if (fs_agg_encode(e, s, q, &rec))
        die("encoding the record", "out of memory");
    fs_buf_free(&rec);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_spec)
        setup();
    if (size < 8)
        return 0;
    int64_t q;
    memcpy(&q, data, 8);
    /* Stream times stay far from the ends of int64 in practice. */
    if (q < -(INT64_C(1) << 52) || q > (INT64_C(1) << 52))
        return 0;
    fs_agg_entity *e = fs_agg_entity_new(g_spec), *r = fs_agg_entity_new(g_spec);
    if (!e || !r)
        die("fs_agg_entity_new", "out of memory");
    char err[256];
    memset(err, 0, sizeof err);
    fstore_err_t rc = fs_agg_state_read(e, g_spec, data + 8, size - 8, err, sizeof err);
    if (rc != FSTORE_OK) {
        if (rc != FSTORE_ERR_CORRUPT || !err[0])
            die("refused without FSTORE_ERR_CORRUPT and a message", err);
    } else {
        exercise(e, q);
        fs_buf a = {0}, b = {0};
        if (fs_agg_state_write(e, g_spec, q, &a))
            die("writing the state", "out of memory");
        if (fs_agg_state_read(r, g_spec, a.data, a.len, err, sizeof err))
            die("a written state does not read back", err);
        if (fs_agg_state_write(r, g_spec, q, &b))
            die("writing the state again", "out of memory");
        if (a.len != b.len || memcmp(a.data, b.data, a.len))
            die("the state changed in a round trip", NULL);
        exercise(r, q);
        fs_buf_free(&a);
        fs_buf_free(&b);
    }
    fs_agg_entity_free(e);
    fs_agg_entity_free(r);
    return 0;
}
