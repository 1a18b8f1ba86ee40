/*
 * Generates the seed corpus of the produce_json fuzz target: lines of
 * `fstore produce` input for the schemas of fuzz_produce_json.h, each
 * prefixed by its schema's digit ('0' + index: the target takes the first
 * byte modulo the number of schemas). Lines that fit, lines that take
 * defaults, and lines wrong in each way the conversion names: types,
 * ranges, code points, symbols, sizes, unknown and missing fields, union
 * branches, deep nesting, long paths.
 *
 * Usage: fuzz_gen_produce_json_seeds OUTDIR (deterministic output).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_produce_json.h"
#include "seed_out.h"

static void line(const char *name, size_t k, const char *text)
{
    buf_t b = {0};
    buf_byte(&b, (uint8_t)('0' + k));
    buf_put(&b, text, strlen(text));
    write_seed(name, b.data, b.len);
    free(b.data);
}

/* {"key":"k","value":<value>} */
static void value(const char *name, size_t k, const char *v)
{
    buf_t b = {0};
    static const char head[] = "{\"key\":\"k\",\"value\":";
    buf_byte(&b, (uint8_t)('0' + k));
    buf_put(&b, head, sizeof head - 1);
    buf_put(&b, v, strlen(v));
    buf_byte(&b, '}');
    write_seed(name, b.data, b.len);
    free(b.data);
}

enum { EVERY, LOGICAL, TREE, UNIONS, BAD_DEFAULTS, EMPTY };

static const struct {
    const char *name;
    size_t schema;
    const char *value;
} VALUES[] = {
    /* every */
    {"every-defaults", EVERY, "{\"id\":1}"},
    {"every-missing-id", EVERY, "{}"},
    {"every-int-too-big", EVERY, "{\"id\":1,\"i\":2147483648}"},
    {"every-extremes", EVERY,
     "{\"id\":-9223372036854775808,\"i\":-2147483648,\"f\":3.4e38,"
     "\"d\":2.2250738585072014e-308}"},
    {"every-long-as-real", EVERY, "{\"id\":1.0}"},
    {"every-nan-strings", EVERY,
     "{\"id\":1,\"f\":\"NaN\",\"d\":\"-Infinity\"}"},
    {"every-infinity", EVERY, "{\"id\":1,\"f\":\"Infinity\",\"d\":1e308}"},
    {"every-float-overflow", EVERY, "{\"id\":1,\"f\":1e300,\"d\":-0.0}"},
    {"every-real-as-string", EVERY, "{\"id\":1,\"d\":\"1.5\"}"},
    {"every-bool-as-int", EVERY, "{\"id\":1,\"ok\":1}"},
    {"every-null-not-null", EVERY, "{\"id\":1,\"nothing\":0}"},
    {"every-bytes-high", EVERY, "{\"id\":1,\"raw\":\"\\u00ff\\u0080\\u0000\"}"},
    {"every-bytes-too-high", EVERY, "{\"id\":1,\"raw\":\"\\u0100\"}"},
    {"every-bytes-emoji", EVERY, "{\"id\":1,\"raw\":\"\\ud83d\\ude00\"}"},
    {"every-bytes-not-string", EVERY, "{\"id\":1,\"raw\":[1,2]}"},
    {"every-fixed-short", EVERY, "{\"id\":1,\"h\":\"abc\"}"},
    {"every-fixed-code-points", EVERY,
     "{\"id\":1,\"h\":\"\\u00e9\\u00e9\\u00e9\\u00e9\"}"},
    {"every-fixed-long", EVERY, "{\"id\":1,\"h\":\"abcde\"}"},
    {"every-enum-unknown", EVERY, "{\"id\":1,\"color\":\"PURPLE\"}"},
    {"every-enum-number", EVERY, "{\"id\":1,\"color\":1}"},
    {"every-enum-nul", EVERY, "{\"id\":1,\"color\":\"RED\\u0000x\"}"},
    {"every-string-nul", EVERY, "{\"id\":1,\"s\":\"a\\u0000b\"}"},
    {"every-string-number", EVERY, "{\"id\":1,\"s\":5}"},
    {"every-array-not-array", EVERY, "{\"id\":1,\"scores\":{}}"},
    {"every-array-bad-item", EVERY, "{\"id\":1,\"scores\":[1,\"x\",3]}"},
    {"every-map-not-object", EVERY, "{\"id\":1,\"counts\":[]}"},
    {"every-map-bad-value", EVERY, "{\"id\":1,\"counts\":{\"a\":1,\"b\":1.5}}"},
    {"every-map-empty-key", EVERY, "{\"id\":1,\"counts\":{\"\":1}}"},
    {"every-map-of-fixed", EVERY,
     "{\"id\":1,\"hashes\":{\"a\":\"1234\",\"b\":\"12\"}}"},
    {"every-union-string", EVERY, "{\"id\":1,\"note\":\"x\"}"},
    {"every-union-wrong", EVERY, "{\"id\":1,\"note\":7}"},
    {"every-enum-array", EVERY, "{\"id\":1,\"hues\":[\"RED\",\"BLUE\",\"X\"]}"},
    {"every-matrix", EVERY, "{\"id\":1,\"matrix\":[[1,2],[],[3],[\"x\"]]}"},
    {"every-flags", EVERY,
     "{\"id\":1,\"flags\":{\"a\":[null,true,false],\"b\":[1]}}"},
    {"every-unknown-field", EVERY, "{\"id\":1,\"zzz\":1}"},
    /* logical */
    {"logical-ts-only", LOGICAL, "{\"ts\":0}"},
    {"logical-ts-negative", LOGICAL, "{\"ts\":-62135596800000}"},
    {"logical-ts-text", LOGICAL, "{\"ts\":\"2024-01-01T00:00:00Z\"}"},
    {"logical-date-too-big", LOGICAL, "{\"ts\":0,\"day\":3000000000}"},
    {"logical-uuid-any", LOGICAL, "{\"ts\":0,\"uid\":\"not a uuid\"}"},
    {"logical-decimal-bytes", LOGICAL,
     "{\"ts\":0,\"price\":\"\\u00ff\\u00ff\\u00ff\\u00ff\\u00ff\"}"},
    {"logical-decimal-number", LOGICAL, "{\"ts\":0,\"price\":12.34}"},
    {"logical-decimal-fixed-short", LOGICAL, "{\"ts\":0,\"big\":\"\\u0001\"}"},
    {"logical-duration", LOGICAL,
     "{\"ts\":0,\"span\":\"\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000"
     "\\u0000\\u0000\\u0000\\u0000\\u0000\\u0000\"}"},
    {"logical-seen", LOGICAL, "{\"ts\":0,\"seen\":null}"},
    /* tree */
    {"tree-leaf", TREE, "{\"value\":1}"},
    {"tree-child-defaults", TREE, "{\"value\":1,\"children\":[{\"value\":2}]}"},
    {"tree-attr-missing", TREE,
     "{\"value\":1,\"attrs\":{\"a\":{\"k\":\"x\"}}}"},
    {"tree-attr-extra", TREE,
     "{\"value\":1,\"attrs\":{\"a\":{\"k\":\"x\",\"w\":null,\"v\":1}}}"},
    {"tree-pair-b", TREE,
     "{\"value\":1,\"pair\":{\"a\":{\"k\":\"x\",\"w\":1},\"b\":{\"k\":\"y\","
     "\"w\":\"z\"}}}"},
    {"tree-next-not-record", TREE, "{\"value\":1,\"next\":5}"},
    /* unions */
    {"unions-int", UNIONS, "{\"num\":1,\"text\":\"A\"}"},
    {"unions-long", UNIONS, "{\"num\":5000000000,\"text\":\"ab\"}"},
    {"unions-real", UNIONS, "{\"num\":1.5,\"text\":\"\\u00ff\"}"},
    {"unions-nan", UNIONS, "{\"num\":\"NaN\",\"text\":\"\\u0100\"}"},
    {"unions-no-branch", UNIONS, "{\"num\":true,\"text\":5}"},
    {"unions-null-in-non-null", UNIONS, "{\"num\":null,\"text\":null}"},
    {"unions-array", UNIONS,
     "{\"num\":1,\"text\":\"A\",\"coll\":[\"a\",null,\"b\"]}"},
    {"unions-map", UNIONS,
     "{\"num\":1,\"text\":\"A\",\"coll\":{\"a\":1,\"b\":null,\"c\":\"x\"}}"},
    {"unions-coll-wrong", UNIONS, "{\"num\":1,\"text\":\"A\",\"coll\":5}"},
    {"unions-rec-r1", UNIONS, "{\"num\":1,\"text\":\"A\",\"rec\":{\"x\":1}}"},
    {"unions-rec-r2", UNIONS,
     "{\"num\":1,\"text\":\"A\",\"rec\":{\"x\":\"s\",\"y\":null}}"},
    {"unions-rec-deep-fail", UNIONS,
     "{\"num\":1,\"text\":\"A\",\"rec\":{\"x\":\"s\",\"y\":{\"x\":\"bad\"}}}"},
    {"unions-rec-none", UNIONS, "{\"num\":1,\"text\":\"A\",\"rec\":{\"z\":1}}"},
    {"unions-only-null-set", UNIONS,
     "{\"num\":1,\"text\":\"A\",\"only_null\":1}"},
    {"unions-last-null", UNIONS,
     "{\"num\":1,\"text\":\"A\",\"last_null\":null}"},
    /* bad-defaults */
    {"bad-defaults-none", BAD_DEFAULTS, "{}"},
    {"bad-defaults-word", BAD_DEFAULTS,
     "{\"wide\":1,\"inner\":{\"a\":1},\"sym\":\"X\",\"fx\":\"x\",\"opt\":1,"
     "\"no_default\":\"\"}"},
    {"bad-defaults-wide", BAD_DEFAULTS,
     "{\"word\":1,\"inner\":{\"a\":1},\"sym\":\"X\",\"fx\":\"x\",\"opt\":1,"
     "\"no_default\":\"\"}"},
    {"bad-defaults-inner", BAD_DEFAULTS,
     "{\"word\":1,\"wide\":1,\"sym\":\"X\",\"fx\":\"x\",\"opt\":1,"
     "\"no_default\":\"\"}"},
    {"bad-defaults-sym", BAD_DEFAULTS,
     "{\"word\":1,\"wide\":1,\"inner\":{\"a\":1},\"fx\":\"x\",\"opt\":1,"
     "\"no_default\":\"\"}"},
    {"bad-defaults-fx", BAD_DEFAULTS,
     "{\"word\":1,\"wide\":1,\"inner\":{\"a\":1},\"sym\":\"X\",\"opt\":1,"
     "\"no_default\":\"\"}"},
    {"bad-defaults-opt", BAD_DEFAULTS,
     "{\"word\":1,\"wide\":1,\"inner\":{\"a\":1},\"sym\":\"X\",\"fx\":\"x\","
     "\"no_default\":\"\"}"},
    /* empty */
    {"empty-extra", EMPTY, "{\"x\":1}"},
};

/* The "next" chain of tree records, depth deep. */
static void deep_next(int depth)
{
    buf_t b = {0};
    for (int i = 0; i < depth; i++)
        buf_put(&b, "{\"value\":1,\"next\":", 18);
    buf_put(&b, "null", 4);
    for (int i = 0; i < depth; i++)
        buf_byte(&b, '}');
    buf_byte(&b, '\0');
    char name[32];
    snprintf(name, sizeof name, "tree-next-%d", depth);
    value(name, TREE, (const char *)b.data);
    free(b.data);
}

/* Nested "matrix" arrays deeper than the schema's two levels. */
static void deep_arrays(int depth)
{
    buf_t b = {0};
    buf_put(&b, "{\"id\":1,\"matrix\":", 17);
    for (int i = 0; i < depth; i++)
        buf_byte(&b, '[');
    for (int i = 0; i < depth; i++)
        buf_byte(&b, ']');
    buf_put(&b, "}", 2); /* with the terminator */
    value("every-matrix-deep", EVERY, (const char *)b.data);
    free(b.data);
}

/* Map keys longer than the message's field path. */
static void long_path(void)
{
    buf_t b = {0};
    buf_put(&b, "{\"id\":1,\"flags\":{\"", 18);
    for (int i = 0; i < 300; i++)
        buf_byte(&b, 'k');
    buf_put(&b, "\":[1]}}", 8); /* with the terminator */
    value("every-long-path", EVERY, (const char *)b.data);
    free(b.data);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_gen_produce_json_seeds OUTDIR\n");
        return 2;
    }
    seed_begin("fuzz_gen_produce_json_seeds", argv[1]);
    char name[96];
    for (size_t k = 0; k < FUZZ_PJ_NSCHEMAS; k++) {
        const char *n = FUZZ_PJ_SCHEMAS[k].name;
        snprintf(name, sizeof name, "%s-full", n);
        value(name, k, FUZZ_PJ_SCHEMAS[k].full);
        snprintf(name, sizeof name, "%s-bare", n);
        line(name, k, FUZZ_PJ_SCHEMAS[k].full);
        snprintf(name, sizeof name, "%s-tombstone", n);
        value(name, k, "null");
        snprintf(name, sizeof name, "%s-not-object", n);
        value(name, k, "[1]");
    }
    for (size_t i = 0; i < sizeof VALUES / sizeof VALUES[0]; i++)
        value(VALUES[i].name, VALUES[i].schema, VALUES[i].value);
    line("line-not-json", EVERY, "{\"key\":\"k\",\"value\":{");
    line("line-duplicate-key", EVERY, "{\"id\":1,\"id\":2}");
    line("line-extra-member", EVERY,
         "{\"key\":\"k\",\"value\":{\"id\":1},\"partition\":0}");
    line("line-value-only", EVERY, "{\"value\":{\"id\":1}}");
    line("line-number", EVERY, "42");
    line("line-string", EVERY, "\"text\"");
    line("line-empty", EVERY, "");
    deep_next(2);
    deep_next(400);
    deep_arrays(500);
    long_path();
    seed_end();
    return 0;
}
