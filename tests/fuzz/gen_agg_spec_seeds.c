/*
 * Generates the seed corpus of the agg_spec fuzz target: aggregation
 * specs, each prefixed by its mode's digit ('0' + mode, fuzz_agg_spec.h):
 * the spec of docs/aggregate.md, specs using every op, every window form
 * and every column type of the events, specs naming files, schemaless
 * JSON specs, and one spec for each mistake the parser names.
 *
 * Usage: fuzz_gen_agg_spec_seeds OUTDIR (deterministic output).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_agg_spec.h"
#include "seed_out.h"

#define E "0" /* FUZZ_SPEC_EVENTS */
#define C "1" /* FUZZ_SPEC_CLICKS */
#define F "2" /* FUZZ_SPEC_FILES */

#define IN_E "\"input\":{\"topic\":\"events\",\"time\":\"ts\"}"
#define OUT "\"output\":{\"topic\":\"features\",\"schema_id\":7}"
#define COUNT "{\"name\":\"n\",\"op\":\"count\"}"
#define SPEC(in, rest) "{" in "," OUT "," rest "}"
#define FEATURES(list) "\"features\":[" list "]"

static const struct {
    const char *name, *text;
} SEEDS[] = {
    /* Specs that parse. */
    {"doc-example",
     E "{\"input\":{\"topic\":\"events\",\"format\":\"confluent\","
       "\"schema\":\"events.avsc\",\"time\":\"ts\"},"
       "\"output\":{\"topic\":\"user_features\",\"name\":\"user_features\","
       "\"schema_id\":42},\"changelog\":\"user_features-state\","
       "\"windows\":{\"5m\":\"1m\",\"1h\":\"5m\",\"1d\":\"1h\"},"
       "\"features\":[{\"name\":\"events\",\"op\":\"count\"},"
       "{\"name\":\"amount_sum\",\"op\":\"sum\",\"field\":\"amount\"},"
       "{\"name\":\"amount_mean\",\"op\":\"mean\",\"field\":\"amount\"},"
       "{\"name\":\"amount_min\",\"op\":\"min\",\"field\":\"amount\"},"
       "{\"name\":\"amount_max\",\"op\":\"max\",\"field\":\"amount\"},"
       "{\"name\":\"country\",\"op\":\"last\",\"field\":\"country\"}]}"},
    {"minimal", E "{\"input\":{\"topic\":\"e\"},\"output\":{\"topic\":"
                  "\"9out.put-x\"}," FEATURES(COUNT) "}"},
    {"every-op",
     E SPEC(IN_E,
            FEATURES(COUNT
                     ",{\"name\":\"a\",\"op\":\"sum\",\"field\":\"ms\"},"
                     "{\"name\":\"b\",\"op\":\"mean\",\"field\":\"qty\"},"
                     "{\"name\":\"c\",\"op\":\"min\",\"field\":\"price\"},"
                     "{\"name\":\"d\",\"op\":\"max\",\"field\":\"total\"},"
                     "{\"name\":\"e\",\"op\":\"sum\",\"field\":\"day\"},"
                     "{\"name\":\"f\",\"op\":\"max\",\"field\":\"micros\"},"
                     "{\"name\":\"g\",\"op\":\"min\",\"field\":\"amount\"},"
                     "{\"name\":\"h\",\"op\":\"mean\",\"field\":\"ts\"}"))},
    {"regress-every-last-enum-twice",
     E SPEC(
         IN_E,
         FEATURES("{\"name\":\"l0\",\"op\":\"last\",\"field\":\"ts\"},"
                  "{\"name\":\"l1\",\"op\":\"last\",\"field\":\"day\"},"
                  "{\"name\":\"l2\",\"op\":\"last\",\"field\":\"amount\"},"
                  "{\"name\":\"l3\",\"op\":\"last\",\"field\":\"price\"},"
                  "{\"name\":\"l4\",\"op\":\"last\",\"field\":\"total\"},"
                  "{\"name\":\"l5\",\"op\":\"last\",\"field\":\"ok\"},"
                  "{\"name\":\"l6\",\"op\":\"last\",\"field\":\"country\"},"
                  "{\"name\":\"l7\",\"op\":\"last\",\"field\":\"tag\"},"
                  "{\"name\":\"l8\",\"op\":\"last\",\"field\":\"color\"},"
                  "{\"name\":\"l9\",\"op\":\"last\",\"field\":\"color2\"},"
                  "{\"name\":\"la\",\"op\":\"last\",\"field\":\"hash\"},"
                  "{\"name\":\"lb\",\"op\":\"last\",\"field\":\"blob\"},"
                  "{\"name\":\"lc\",\"op\":\"last\",\"field\":\"scores\"},"
                  "{\"name\":\"ld\",\"op\":\"last\",\"field\":\"ids\"},"
                  "{\"name\":\"le\",\"op\":\"last\",\"field\":\"ints\"},"
                  "{\"name\":\"lf\",\"op\":\"last\",\"field\":\"floats\"},"
                  "{\"name\":\"lg\",\"op\":\"last\",\"field\":\"id\"},"
                  "{\"name\":\"li\",\"op\":\"last\",\"field\":\"tod\"},"
                  "{\"name\":\"lh\",\"op\":\"last\",\"field\":\"micros\"}"))},
    {"windows-units",
     E SPEC(IN_E,
            "\"windows\":{\"2000ms\":\"500ms\",\"90s\":\"30s\","
            "\"2h\":\"1h\",\"7d\":\"1d\",\"366d\":\"366d\"}," FEATURES(COUNT))},
    {"windows-most-tiles",
     E SPEC(IN_E, "\"windows\":{\"9999ms\":\"1ms\"}," FEATURES(COUNT))},
    {"avro-format-no-time",
     E "{\"input\":{\"topic\":\"e\",\"format\":\"avro\"},\"output\":{"
       "\"topic\":\"o\",\"name\":\"_O\",\"schema_id\":0},\"changelog\":\"c\","
       "\"windows\":{\"1m\":\"1m\"}," FEATURES(COUNT) "}"},
    {"time-ms",
     E "{\"input\":{\"topic\":\"e\",\"time\":\"ms\"},"
       "\"output\":{\"topic\":\"o\",\"schema_id\":2147483647}," FEATURES(
           COUNT) "}"},
    {"clicks-kinds",
     C "{\"input\":{\"topic\":\"clicks\",\"time\":\"at\"},"
       "\"output\":{\"topic\":\"click_features\"},"
       "\"features\":[{\"name\":\"v\",\"op\":\"sum\",\"field\":\"v\"},"
       "{\"name\":\"k\",\"op\":\"last\",\"field\":\"kind\"},"
       "{\"name\":\"i\",\"op\":\"last\",\"field\":\"id\"}]}"},
    {"regress-two-enums-one-short-name",
     C "{\"input\":{\"topic\":\"clicks\"},\"output\":{\"topic\":\"o\"},"
       "\"features\":[{\"name\":\"k\",\"op\":\"last\",\"field\":\"kind\"},"
       "{\"name\":\"o\",\"op\":\"last\",\"field\":\"other_kind\"}]}"},
    {"regress-output-named-like-an-events-type",
     C "{\"input\":{\"topic\":\"clicks\"},\"output\":{\"topic\":\"o\","
       "\"name\":\"Kind\"},"
       "\"features\":[{\"name\":\"k\",\"op\":\"last\",\"field\":\"kind\"}]}"},
    {"clicks-field-named-like-type",
     C "{\"input\":{\"topic\":\"clicks\"},\"output\":{\"topic\":\"Color\"},"
       "\"features\":[{\"name\":\"Color\",\"op\":\"last\",\"field\":"
       "\"Color\"}]}"},
    {"files-events",
     F "{\"input\":{\"topic\":\"e\",\"schema\":\"events.avsc\",\"time\":"
       "\"ts\"},\"output\":{\"topic\":\"o\"},"
       "\"features\":[" COUNT ",{\"name\":\"c\",\"op\":\"last\",\"field\":"
       "\"color\"}]}"},
    {"files-clicks",
     F "{\"input\":{\"topic\":\"e\",\"format\":\"avro\",\"schema\":"
       "\"clicks.avsc\"},\"output\":{\"topic\":\"o\"},"
       "\"features\":[{\"name\":\"m\",\"op\":\"min\",\"field\":\"v\"}]}"},
    {"json-schemaless",
     F "{\"input\":{\"topic\":\"e\",\"format\":\"json\",\"time\":\"t\"},"
       "\"output\":{\"topic\":\"o\"},"
       "\"features\":[" COUNT ",{\"name\":\"s\",\"op\":\"sum\",\"field\":"
       "\"x\"},{\"name\":\"m\",\"op\":\"mean\",\"field\":\"x\"},"
       "{\"name\":\"l\",\"op\":\"last\",\"field\":\"anything\"},"
       "{\"name\":\"t\",\"op\":\"last\",\"field\":\"t\"}]}"},
    {"json-with-schema",
     E "{\"input\":{\"topic\":\"e\",\"format\":\"json\",\"time\":\"ts\"},"
       "\"output\":{\"topic\":\"o\"},"
       "\"features\":[{\"name\":\"l\",\"op\":\"last\",\"field\":\"hash\"}]}"},
    /* Mistakes, one each. */
    {"bad-not-json", E "{\"input\":"},
    {"bad-not-object", E "[1,2]"},
    {"bad-empty", E ""},
    {"bad-duplicate-key",
     E "{\"input\":{\"topic\":\"e\"},\"input\":{\"topic\":\"f\"}}"},
    {"bad-unknown-key", E SPEC(IN_E, "\"extra\":1," FEATURES(COUNT))},
    {"bad-input-not-object", E "{\"input\":\"events\"," OUT "}"},
    {"bad-input-unknown-key",
     E SPEC("\"input\":{\"topic\":\"e\",\"group\":\"g\"}", FEATURES(COUNT))},
    {"bad-input-topic-empty",
     E SPEC("\"input\":{\"topic\":\"\"}", FEATURES(COUNT))},
    {"bad-format",
     E SPEC("\"input\":{\"topic\":\"e\",\"format\":\"csv\"}", FEATURES(COUNT))},
    {"bad-time-unknown",
     E SPEC("\"input\":{\"topic\":\"e\",\"time\":\"when\"}", FEATURES(COUNT))},
    {"bad-time-int",
     E SPEC("\"input\":{\"topic\":\"e\",\"time\":\"day\"}", FEATURES(COUNT))},
    {"bad-time-micros",
     E SPEC("\"input\":{\"topic\":\"e\",\"time\":\"micros\"}",
            FEATURES(COUNT))},
    {"time-nullable",
     E SPEC("\"input\":{\"topic\":\"e\",\"time\":\"total\"}", FEATURES(COUNT))},
    {"bad-output-missing", E "{" IN_E "," FEATURES(COUNT) "}"},
    {"bad-output-name", E "{" IN_E ",\"output\":{\"topic\":\"o\",\"name\":"
                          "\"a-b\"}," FEATURES(COUNT) "}"},
    {"bad-schema-id-negative",
     E "{" IN_E
       ",\"output\":{\"topic\":\"o\",\"schema_id\":-1}," FEATURES(COUNT) "}"},
    {"bad-schema-id-too-big",
     E "{" IN_E
       ",\"output\":{\"topic\":\"o\",\"schema_id\":2147483648}," FEATURES(
           COUNT) "}"},
    {"bad-schema-id-string", E
     "{" IN_E
     ",\"output\":{\"topic\":\"o\",\"schema_id\":\"7\"}," FEATURES(COUNT) "}"},
    {"bad-changelog-empty",
     E SPEC(IN_E, "\"changelog\":\"\"," FEATURES(COUNT))},
    {"bad-windows-empty", E SPEC(IN_E, "\"windows\":{}," FEATURES(COUNT))},
    {"bad-windows-array",
     E SPEC(IN_E, "\"windows\":[\"5m\",\"1m\"]," FEATURES(COUNT))},
    {"bad-window-duration",
     E SPEC(IN_E, "\"windows\":{\"5x\":\"1m\"}," FEATURES(COUNT))},
    {"bad-window-zero",
     E SPEC(IN_E, "\"windows\":{\"0m\":\"1m\"}," FEATURES(COUNT))},
    {"bad-window-367d",
     E SPEC(IN_E, "\"windows\":{\"367d\":\"1d\"}," FEATURES(COUNT))},
    {"bad-window-overflow",
     E SPEC(IN_E,
            "\"windows\":{\"99999999999999999999d\":\"1d\"}," FEATURES(COUNT))},
    {"bad-hop-not-string",
     E SPEC(IN_E, "\"windows\":{\"5m\":60000}," FEATURES(COUNT))},
    {"bad-hop-not-dividing",
     E SPEC(IN_E, "\"windows\":{\"5m\":\"2m\"}," FEATURES(COUNT))},
    {"bad-hop-longer",
     E SPEC(IN_E, "\"windows\":{\"1m\":\"5m\"}," FEATURES(COUNT))},
    {"bad-window-upper",
     E SPEC(IN_E, "\"windows\":{\"5M\":\"1m\"}," FEATURES(COUNT))},
    {"bad-windows-same-size",
     E SPEC(IN_E, "\"windows\":{\"1000ms\":\"1s\",\"1s\":\"500ms\"}," FEATURES(
                      COUNT))},
    {"bad-too-many-tiles",
     E SPEC(IN_E, "\"windows\":{\"10000ms\":\"1ms\"}," FEATURES(COUNT))},
    {"bad-features-missing", E SPEC(IN_E, "\"windows\":{\"5m\":\"1m\"}")},
    {"bad-features-empty", E SPEC(IN_E, FEATURES(""))},
    {"bad-feature-not-object", E SPEC(IN_E, FEATURES("\"count\""))},
    {"bad-feature-unknown-key",
     E SPEC(IN_E, FEATURES("{\"name\":\"n\",\"op\":\"count\",\"x\":1}"))},
    {"bad-feature-no-name", E SPEC(IN_E, FEATURES("{\"op\":\"count\"}"))},
    {"bad-feature-name", E SPEC(IN_E, FEATURES("{\"name\":\"1n\",\"op\":"
                                               "\"count\"}"))},
    {"bad-op", E SPEC(IN_E, FEATURES("{\"name\":\"n\",\"op\":\"median\","
                                     "\"field\":\"qty\"}"))},
    {"bad-count-field", E SPEC(IN_E, FEATURES("{\"name\":\"n\",\"op\":"
                                              "\"count\",\"field\":\"qty\"}"))},
    {"bad-sum-no-field", E SPEC(IN_E, FEATURES("{\"name\":\"n\",\"op\":"
                                               "\"sum\"}"))},
    {"bad-sum-string", E SPEC(IN_E, FEATURES("{\"name\":\"n\",\"op\":\"sum\","
                                             "\"field\":\"country\"}"))},
    {"bad-max-array", E SPEC(IN_E, FEATURES("{\"name\":\"n\",\"op\":\"max\","
                                            "\"field\":\"scores\"}"))},
    {"bad-field-unknown",
     E SPEC(IN_E, FEATURES("{\"name\":\"n\",\"op\":\"last\",\"field\":"
                           "\"nope\"}"))},
    {"bad-names-twice", E SPEC(IN_E, FEATURES(COUNT "," COUNT))},
    {"bad-names-window-clash",
     E SPEC(IN_E, "\"windows\":{\"5m\":\"1m\"}," FEATURES(
                      COUNT ",{\"name\":\"n_5m\",\"op\":\"last\",\"field\":"
                            "\"qty\"}"))},
    {"bad-names-as-of",
     E SPEC(IN_E, FEATURES("{\"name\":\"as_of\",\"op\":\"last\",\"field\":"
                           "\"qty\"}"))},
    {"bad-avro-no-schema",
     F "{\"input\":{\"topic\":\"e\",\"format\":\"avro\"},\"output\":{"
       "\"topic\":\"o\"}," FEATURES(COUNT) "}"},
    {"bad-file-missing",
     F "{\"input\":{\"topic\":\"e\",\"schema\":\"nope.avsc\"},\"output\":{"
       "\"topic\":\"o\"}," FEATURES(COUNT) "}"},
    {"bad-file-empty",
     F "{\"input\":{\"topic\":\"e\",\"schema\":\"empty.avsc\"},\"output\":{"
       "\"topic\":\"o\"}," FEATURES(COUNT) "}"},
    {"bad-file-not-json",
     F "{\"input\":{\"topic\":\"e\",\"schema\":\"not-json.avsc\"},"
       "\"output\":{\"topic\":\"o\"}," FEATURES(COUNT) "}"},
    {"bad-file-not-record",
     F "{\"input\":{\"topic\":\"e\",\"schema\":\"not-record.avsc\"},"
       "\"output\":{\"topic\":\"o\"}," FEATURES(COUNT) "}"},
    {"bad-file-directory",
     F "{\"input\":{\"topic\":\"e\",\"schema\":\"dir.avsc\"},\"output\":{"
       "\"topic\":\"o\"}," FEATURES(COUNT) "}"},
};

/* A spec whose windows object nests depth levels of objects. */
static void deep(int depth)
{
    buf_t b = {0};
    buf_put(&b, E, 1);
    for (int i = 0; i < depth; i++)
        buf_put(&b, "{\"a\":", 5);
    buf_put(&b, "1", 1);
    for (int i = 0; i < depth; i++)
        buf_byte(&b, '}');
    char name[32];
    snprintf(name, sizeof name, "bad-nested-%d", depth);
    write_seed(name, b.data, b.len);
    free(b.data);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_gen_agg_spec_seeds OUTDIR\n");
        return 2;
    }
    seed_begin("fuzz_gen_agg_spec_seeds", argv[1]);
    for (size_t i = 0; i < sizeof SEEDS / sizeof SEEDS[0]; i++)
        write_seed(SEEDS[i].name, SEEDS[i].text, strlen(SEEDS[i].text));
    deep(3000);
    seed_end();
    return 0;
}
