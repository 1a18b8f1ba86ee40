/*
 * Generates the seed corpora of the schema and registry fuzz targets: texts
 * only, so it needs no library.
 *
 * Usage: fuzz_gen_text_seeds schema|registry OUTDIR
 * (the committed corpora are tests/fuzz/seeds/schema and seeds/registry;
 *  `cmake --build BUILD --target fuzz_seeds` rewrites them).
 *
 * schema: every writer schema of fuzz_schemas.h, then schemas that are not
 * records, not Avro, not JSON, or hard to parse or resolve.
 * registry: answers of a Schema Registry (status byte, then body, see
 * fuzz_registry.h): schemas of fuzz_schemas.h inside {"schema": ...}, other
 * schema types, error answers, and bodies that are not what they should be.
 * The output is deterministic.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_registry.h"
#include "fuzz_schemas.h"
#include "seed_out.h"

static void write_text(const char *name, const char *text)
{
    write_seed(name, text, strlen(text));
}

/* ---- schema ---- */

static const struct {
    const char *name;
    const char *text;
} ODD_SCHEMAS[] = {
    {"empty", ""},
    {"not-json", "record {"},
    {"null", "null"},
    {"array", "[]"},
    {"object-empty", "{}"},
    {"primitive-int", "\"int\""},
    {"primitive-object", "{\"type\":\"long\"}"},
    {"union-top", "[\"null\",\"string\"]"},
    {"record-no-name", "{\"type\":\"record\",\"fields\":[]}"},
    {"record-no-fields", "{\"type\":\"record\",\"name\":\"R\"}"},
    {"record-fields-object",
     "{\"type\":\"record\",\"name\":\"R\",\"fields\":{}}"},
    {"record-unknown-type",
     "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"i\","
     "\"type\":\"Nope\"}]}"},
    {"record-bad-default",
     "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"id\","
     "\"type\":\"long\",\"default\":\"x\"}]}"},
    {"small-writer",
     "{\"type\":\"record\",\"name\":\"Small\",\"namespace\":\"other\","
     "\"fields\":[{\"name\":\"id\",\"type\":\"int\"},"
     "{\"name\":\"s\",\"type\":\"string\"},"
     "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"Color\","
     "\"symbols\":[\"BLUE\",\"RED\"]}},"
     "{\"name\":\"tags\",\"type\":{\"type\":\"array\",\"items\":\"int\"}},"
     "{\"name\":\"h\",\"type\":{\"type\":\"fixed\",\"name\":\"H4\","
     "\"size\":4}}]}"},
    {"required-writer",
     "{\"type\":\"record\",\"name\":\"Features\",\"namespace\":\"fuzz\","
     "\"fields\":[{\"name\":\"ad\",\"type\":{\"type\":\"array\","
     "\"items\":\"float\"}},{\"name\":\"i\",\"type\":\"int\"}]}"},
    {"enum-duplicate-symbols",
     "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"e\","
     "\"type\":{\"type\":\"enum\",\"name\":\"Color\",\"symbols\":"
     "[\"RED\",\"RED\"]}}]}"},
    {"enum-no-symbols",
     "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"e\","
     "\"type\":{\"type\":\"enum\",\"name\":\"Color\",\"symbols\":[]}}]}"},
    {"fixed-huge",
     "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"fx\","
     "\"type\":{\"type\":\"fixed\",\"name\":\"Hash\",\"size\":"
     "99999999999999999999}}]}"},
    {"type-redefined",
     "{\"type\":\"record\",\"name\":\"R\",\"fields\":["
     "{\"name\":\"a\",\"type\":{\"type\":\"fixed\",\"name\":\"X\",\"size\":4}},"
     "{\"name\":\"b\",\"type\":{\"type\":\"enum\",\"name\":\"X\","
     "\"symbols\":[\"A\"]}}]}"},
    {"logical-decimal",
     "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"d\","
     "\"type\":{\"type\":\"bytes\",\"logicalType\":\"decimal\","
     "\"precision\":4,\"scale\":2}}]}"},
    {"aliases",
     "{\"type\":\"record\",\"name\":\"R\",\"aliases\":[\"Features\"],"
     "\"fields\":[{\"name\":\"x\",\"aliases\":[\"i\"],\"type\":\"int\"}]}"},
    {"unicode-names",
     "{\"type\":\"record\",\"name\":\"R\\u00e9\",\"fields\":[{\"name\":"
     "\"\\u0069\",\"type\":\"int\"}]}"},
    {"map-of-unions",
     "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":\"m\","
     "\"type\":{\"type\":\"map\",\"values\":[\"null\",\"R\"]}},"
     "{\"name\":\"i\",\"type\":\"int\"}]}"},
};

/* A record whose one extra field nests arrays depth times. */
static void deep_schema(int depth)
{
    size_t cap = 200 + (size_t)depth * 40;
    char *s = malloc(cap);
    if (s == NULL)
        exit(1);
    size_t n = (size_t)snprintf(s, cap,
                                "{\"type\":\"record\",\"name\":\"R\","
                                "\"fields\":[{\"name\":\"x\",\"type\":");
    for (int i = 0; i < depth; i++)
        n += (size_t)snprintf(s + n, cap - n, "{\"type\":\"array\",\"items\":");
    n += (size_t)snprintf(s + n, cap - n, "\"int\"");
    for (int i = 0; i < depth; i++)
        s[n++] = '}';
    n += (size_t)snprintf(s + n, cap - n,
                          "},{\"name\":\"i\",\"type\":\"int\"}]}");
    char name[32];
    snprintf(name, sizeof name, "deep-arrays-%d", depth);
    write_seed(name, s, n);
    free(s);
}

static void schema_seeds(void)
{
    char name[64];
    for (int id = 1; id < FUZZ_NWRITERS; id++) {
        snprintf(name, sizeof name, "writer-%d", id);
        write_text(name, FUZZ_WRITERS[id]);
    }
    for (size_t i = 0; i < sizeof ODD_SCHEMAS / sizeof ODD_SCHEMAS[0]; i++)
        write_text(ODD_SCHEMAS[i].name, ODD_SCHEMAS[i].text);
    deep_schema(8);
    deep_schema(200);
    /* The serving schema cut short, and with a NUL inside. */
    write_seed("serving-cut", FUZZ_SERVING_SCHEMA,
               sizeof FUZZ_SERVING_SCHEMA / 2);
    write_seed("serving-nul", FUZZ_SERVING_SCHEMA, 40);
}

/* ---- registry ---- */

/* Writes a registry answer: status byte, then body. */
static void answer(const char *name, unsigned char status, const char *body,
                   size_t len)
{
    char *s = malloc(len + 1);
    if (s == NULL)
        exit(1);
    s[0] = (char)status;
    memcpy(s + 1, body, len);
    write_seed(name, s, len + 1);
    free(s);
}

/* {"schema": "<text, escaped>"<extra>} as a 200 answer. */
static void schema_answer(const char *name, const char *text, const char *extra)
{
    size_t cap = 2 * strlen(text) + strlen(extra) + 32;
    char *b = malloc(cap);
    if (b == NULL)
        exit(1);
    size_t n = (size_t)snprintf(b, cap, "{\"schema\":\"");
    for (const char *p = text; *p; p++) {
        if (*p == '"' || *p == '\\')
            b[n++] = '\\';
        b[n++] = *p;
    }
    n += (size_t)snprintf(b + n, cap - n, "\"%s}", extra);
    answer(name, FUZZ_REGISTRY_OK_BYTE, b, n);
    free(b);
}

static const struct {
    const char *name;
    unsigned char status;
    const char *body;
} ODD_ANSWERS[] = {
    {"200-empty", FUZZ_REGISTRY_OK_BYTE, ""},
    {"200-not-json", FUZZ_REGISTRY_OK_BYTE, "<html>Bad Gateway</html>"},
    {"200-schema-null", FUZZ_REGISTRY_OK_BYTE, "{\"schema\":null}"},
    {"200-schema-number", FUZZ_REGISTRY_OK_BYTE, "{\"schema\":1e999}"},
    {"200-schema-object", FUZZ_REGISTRY_OK_BYTE,
     "{\"schema\":{\"type\":\"string\"}}"},
    {"200-schema-escapes", FUZZ_REGISTRY_OK_BYTE,
     "{\"schema\":\"\\\"str\\u0069ng\\\"\\t\\ud83d\\ude00\"}"},
    {"200-schema-nul", FUZZ_REGISTRY_OK_BYTE, "{\"schema\":\"a\\u0000b\"}"},
    {"200-schema-lone-surrogate", FUZZ_REGISTRY_OK_BYTE,
     "{\"schema\":\"\\ud800\"}"},
    {"200-duplicate-keys", FUZZ_REGISTRY_OK_BYTE,
     "{\"schema\":\"\\\"int\\\"\",\"schema\":\"\\\"long\\\"\"}"},
    {"200-trailing", FUZZ_REGISTRY_OK_BYTE, "{\"schema\":\"\\\"int\\\"\"} x"},
    {"200-array", FUZZ_REGISTRY_OK_BYTE, "[{\"schema\":\"\\\"int\\\"\"}]"},
    {"200-type-protobuf", FUZZ_REGISTRY_OK_BYTE,
     "{\"schemaType\":\"PROTOBUF\",\"schema\":\"syntax = \\\"proto3\\\";\"}"},
    {"200-type-json", FUZZ_REGISTRY_OK_BYTE,
     "{\"schemaType\":\"JSON\",\"schema\":\"{}\"}"},
    {"200-type-number", FUZZ_REGISTRY_OK_BYTE,
     "{\"schemaType\":3,\"schema\":\"\\\"int\\\"\"}"},
    {"200-bom", FUZZ_REGISTRY_OK_BYTE,
     "\xef\xbb\xbf{\"schema\":\"\\\"int\\\"\"}"},
    {"404-not-found", FUZZ_REGISTRY_404_BYTE,
     "{\"error_code\":40403,\"message\":\"Schema 42 not found\"}"},
    {"404-empty", FUZZ_REGISTRY_404_BYTE, ""},
    {"status-0", FUZZ_REGISTRY_404_BYTE + 1, ""},
    {"status-500", FUZZ_REGISTRY_404_BYTE + 15,
     "{\"error_code\":50001,\"message\":\"Error in the backend\"}"},
    {"status-301-with-schema", FUZZ_REGISTRY_404_BYTE + 5,
     "{\"schema\":\"\\\"int\\\"\"}"},
    /* Answers to a registration. */
    {"200-id", FUZZ_REGISTRY_OK_BYTE, "{\"id\":7}"},
    {"200-id-max", FUZZ_REGISTRY_OK_BYTE, "{\"id\":2147483647}"},
    {"200-id-too-big", FUZZ_REGISTRY_OK_BYTE, "{\"id\":2147483648}"},
    {"200-id-negative", FUZZ_REGISTRY_OK_BYTE, "{\"id\":-1}"},
    {"200-id-real", FUZZ_REGISTRY_OK_BYTE, "{\"id\":7.0}"},
    {"200-id-string", FUZZ_REGISTRY_OK_BYTE, "{\"id\":\"7\"}"},
    {"409-incompatible", FUZZ_REGISTRY_404_BYTE + 12,
     "{\"error_code\":409,\"message\":\"Schema being registered is incompatible\"}"},
    {"422-invalid", FUZZ_REGISTRY_404_BYTE + 13,
     "{\"error_code\":42201,\"message\":\"Invalid schema\"}"},
    {"422-message-not-string", FUZZ_REGISTRY_404_BYTE + 13, "{\"message\":[1]}"},
};

static void deep_answer(int depth)
{
    size_t cap = (size_t)depth * 2 + 16;
    char *b = malloc(cap);
    if (b == NULL)
        exit(1);
    size_t n = 0;
    for (int i = 0; i < depth; i++)
        b[n++] = '[';
    for (int i = 0; i < depth; i++)
        b[n++] = ']';
    char name[32];
    snprintf(name, sizeof name, "200-nested-%d", depth);
    answer(name, FUZZ_REGISTRY_OK_BYTE, b, n);
    free(b);
}

static void registry_seeds(void)
{
    char name[64];
    static const int ids[] = {1, 3, 9, 12};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        snprintf(name, sizeof name, "200-writer-%d", ids[i]);
        schema_answer(name, FUZZ_WRITERS[ids[i]], "");
    }
    schema_answer("200-avro-full", FUZZ_WRITERS[8],
                  ",\"schemaType\":\"AVRO\",\"subject\":\"t-value\","
                  "\"version\":3,\"id\":42,\"references\":[]");
    for (size_t i = 0; i < sizeof ODD_ANSWERS / sizeof ODD_ANSWERS[0]; i++)
        answer(ODD_ANSWERS[i].name, ODD_ANSWERS[i].status, ODD_ANSWERS[i].body,
               strlen(ODD_ANSWERS[i].body));
    deep_answer(3000);
}

int main(int argc, char **argv)
{
    if (argc != 3 ||
        (strcmp(argv[1], "schema") != 0 && strcmp(argv[1], "registry") != 0)) {
        fprintf(stderr, "usage: %s schema|registry OUTDIR\n", argv[0]);
        return 2;
    }
    seed_begin("fuzz_gen_text_seeds", argv[2]);
    if (strcmp(argv[1], "schema") == 0)
        schema_seeds();
    else
        registry_seeds();
    seed_end();
    return 0;
}
