/*
 * Generates the seed corpus of the aggregation-state fuzz target: states
 * of the spec in fuzz_agg_state.h built by adding events, each prefixed by
 * the stream time it was written at, plus cut and flipped variants.
 *
 * Usage: fuzz_gen_agg_seeds OUTDIR (deterministic output).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg_tiles.h"
#include "fuzz_agg_state.h"
#include "seed_out.h"

static fs_agg_spec *g_spec;

static void state_seed(const char *name, int nevents, int64_t step, int with_nulls)
{
    fs_agg_entity *e = fs_agg_entity_new(g_spec);
    int64_t q = 1700000000000;
    for (int i = 0; i < nevents; i++) {
        int64_t t = q + (i % 3 == 2 ? -step * 4 : step);
        q = t > q ? t : q;
        double num[2] = {i * 1.25, (double)(i % 7)};
        uint8_t nul[2] = {(uint8_t)(with_nulls && i % 2), 0};
        char country[8];
        snprintf(country, sizeof country, "\x04%c%c", 'a' + i % 26, 'a' + i % 7);
        fs_agg_value last = {country, 3, with_nulls && i % 4 == 3};
        fs_agg_event ev = {t, num, nul, &last};
        if (fs_agg_add(e, g_spec, &ev, q) < 0)
            exit(1);
    }
    buf_t b = {0};
    buf_put(&b, &q, 8);
    fs_buf st = {0};
    if (fs_agg_state_write(e, g_spec, q, &st))
        exit(1);
    buf_put(&b, st.data, st.len);
    write_seed(name, b.data, b.len);
    char variant[96];
    /* Cut in the middle and one byte short. */
    snprintf(variant, sizeof variant, "%s-cut-half", name);
    write_seed(variant, b.data, 8 + st.len / 2);
    snprintf(variant, sizeof variant, "%s-cut-1", name);
    write_seed(variant, b.data, b.len - 1);
    /* A later stream time: some tiles expired. */
    int64_t later = q + 3600000;
    memcpy(b.data, &later, 8);
    snprintf(variant, sizeof variant, "%s-later", name);
    write_seed(variant, b.data, b.len);
    free(b.data);
    fs_buf_free(&st);
    fs_agg_entity_free(e);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_gen_agg_seeds OUTDIR\n");
        return 2;
    }
    char err[512] = "";
    if (fs_agg_spec_parse(fuzz_agg_spec, NULL, fuzz_agg_events, &g_spec, err, sizeof err)) {
        fprintf(stderr, "fuzz_gen_agg_seeds: %s\n", err);
        return 1;
    }
    seed_begin("fuzz_gen_agg_seeds", argv[1]);
    state_seed("empty", 0, 0, 0);
    state_seed("one-event", 1, 500, 0);
    state_seed("seconds", 40, 300, 1);
    state_seed("minutes", 60, 7000, 0);
    state_seed("hours", 80, 1500000, 1);
    uint8_t version_2[16] = {0};
    version_2[8] = 2;
    write_seed("version-2", version_2, sizeof version_2);
    seed_end();
    fs_agg_spec_free(g_spec);
    return 0;
}
