/* Byte strings and seed files for the seed generators (seed_out.h). */
#include "seed_out.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/avro_enc.h"

static const char *g_prog = "fuzz_gen";
static const char *g_outdir = ".";
static int g_files;

void buf_put(buf_t *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n)
            cap *= 2;
        b->data = realloc(b->data, cap);
        if (b->data == NULL) {
            fprintf(stderr, "%s: out of memory\n", g_prog);
            exit(1);
        }
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
}

void buf_byte(buf_t *b, uint8_t v) { buf_put(b, &v, 1); }

void buf_u32(buf_t *b, uint32_t v) { buf_put(b, &v, 4); }

void buf_varint(buf_t *b, int64_t v)
{
    uint8_t tmp[SUP_VARINT_MAX];
    buf_put(b, tmp, sup_put_long(tmp, v));
}

void seed_begin(const char *prog, const char *outdir)
{
    g_prog = prog;
    g_outdir = outdir;
    g_files = 0;
}

void write_seed(const char *name, const void *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", g_outdir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || (len > 0 && fwrite(data, 1, len, f) != len) ||
        fclose(f) != 0) {
        fprintf(stderr, "%s: %s: %s\n", g_prog, path, strerror(errno));
        exit(1);
    }
    g_files++;
}

void seed_end(void)
{
    printf("%s: wrote %d seeds to %s\n", g_prog, g_files, g_outdir);
}
