/*
 * libFuzzer target: `fstore produce` input lines, JSON turned into Avro by
 * produce_json_to_avro (tools/produce/produce_json.c).
 *
 * A line of the input file is untrusted. The first input byte picks one of
 * the record schemas of fuzz_produce_json.h (modulo their number); the rest
 * is the line, parsed as `fstore produce` parses it (jansson, duplicates
 * refused, NUL allowed in strings). Inputs that are not JSON stop there.
 * A line {"key":..,"value":V} (no other member) converts V, as the command
 * does, and a null V (a tombstone) converts nothing; any other JSON is
 * converted whole, so non-objects reach the function too. The schema's
 * "fields" array gives the defaults, as in the command; avro-c gets the
 * schema without its defaults (it ignores them, and refuses a NUL in one).
 *
 * What must hold: the conversion returns 0 or -1. On 0 the value encodes
 * with avro-c (avro_value_sizeof, then avro_value_write of exactly that
 * many bytes), the encoding reads back with avro-c to its end, and the
 * value read encodes to the same bytes. On -1 the message is
 * NUL-terminated and not empty. The same line converted into a value that
 * already holds another line (a full one; the command reuses one value
 * from line to line) gives the same result: the same bytes, or the same
 * message. Anything else (another return, a crash, a sanitizer report, a
 * leak) is a bug.
 *
 * The fuzz build compiles produce_json.c with coverage for this target;
 * tests/fuzz/replay.c links this same file and produce_json.c to replay
 * corpora as ordinary tests, so it builds with gcc too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avro.h>
#include <jansson.h>

#include "fuzz_produce_json.h"
#include "produce_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* `fstore produce` gives the conversion a buffer of this size. */
#define MSG_SIZE 512

static struct {
    avro_schema_t schema;
    json_t *fields; /* the schema's "fields", for defaults */
    json_t *full;   /* FUZZ_PJ_SCHEMAS[].full, parsed */
    avro_value_iface_t *iface;
} g[FUZZ_PJ_NSCHEMAS];
static int g_ready;

static void die(size_t k, const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_produce_json: schema %s: %s%s%s\n",
            FUZZ_PJ_SCHEMAS[k].name, what, detail ? ": " : "",
            detail ? detail : "");
    abort();
}

static void teardown(void)
{
    for (size_t k = 0; k < FUZZ_PJ_NSCHEMAS; k++) {
        json_decref(g[k].fields);
        json_decref(g[k].full);
        if (g[k].iface)
            avro_value_iface_decref(g[k].iface);
        if (g[k].schema)
            avro_schema_decref(g[k].schema);
    }
    memset(g, 0, sizeof g);
}

static void new_value(size_t k, avro_value_t *v)
{
    if (avro_generic_value_new(g[k].iface, v))
        die(k, "avro_generic_value_new", avro_strerror());
}

/* The Avro binary of v, in an exact-size buffer (*len bytes). */
static char *encode(size_t k, avro_value_t *v, size_t *len)
{
    size_t size = 0;
    if (avro_value_sizeof(v, &size))
        die(k, "a converted value has no size", avro_strerror());
    char *buf = malloc(size > 0 ? size : 1);
    if (buf == NULL)
        abort();
    avro_writer_t w = avro_writer_memory(buf, (int64_t)size);
    if (w == NULL)
        abort();
    if (avro_value_write(w, v))
        die(k, "a converted value does not encode", avro_strerror());
    if (avro_writer_tell(w) != (int64_t)size)
        die(k, "a value encodes to another size than avro_value_sizeof says",
            NULL);
    avro_writer_free(w);
    *len = size;
    return buf;
}

/* The encoding reads back to its end and encodes to the same bytes. */
static void read_back(size_t k, const char *buf, size_t len)
{
    avro_value_t r;
    new_value(k, &r);
    avro_reader_t rd = avro_reader_memory(buf, (int64_t)len);
    if (rd == NULL)
        abort();
    if (avro_value_read(rd, &r))
        die(k, "an encoded value does not read back", avro_strerror());
    char more; /* avro-c has no eof for memory: one more byte must fail */
    if (avro_read(rd, &more, 1) == 0)
        die(k, "an encoded value reads back short of its end", NULL);
    avro_reader_free(rd);
    size_t len2;
    char *buf2 = encode(k, &r, &len2);
    if (len2 != len || (len > 0 && memcmp(buf, buf2, len) != 0))
        die(k, "a value read back encodes to other bytes", NULL);
    free(buf2);
    avro_value_decref(&r);
}

static int convert(size_t k, avro_value_t *v, json_t *json, char *msg)
{
    memset(msg, 0xff, MSG_SIZE);
    int rc =
        produce_json_to_avro(v, g[k].schema, json, g[k].fields, msg, MSG_SIZE);
    if (rc != 0 && rc != -1)
        die(k, "produce_json_to_avro returned neither 0 nor -1", NULL);
    if (rc == -1) {
        if (memchr(msg, '\0', MSG_SIZE) == NULL)
            die(k, "an error message without a NUL", NULL);
        if (msg[0] == '\0')
            die(k, "an error without a message", NULL);
    }
    return rc;
}

/* Removes every "default" of a schema's JSON. */
static void strip_defaults(json_t *j)
{
    if (json_is_array(j)) {
        size_t i;
        json_t *e;
        json_array_foreach(j, i, e) strip_defaults(e);
    } else if (json_is_object(j)) {
        json_object_del(j, "default");
        const char *k;
        json_t *e;
        json_object_foreach(j, k, e) strip_defaults(e);
    }
}

/* avro-c refuses a NUL in a default ("\u0000", common in bytes, fixed and
 * decimal defaults), and ignores defaults anyway: it gets the schema
 * without them, as the library's fs_avro_parse gives it. */
static int parse_schema(size_t k, json_t *doc)
{
    json_t *copy = json_deep_copy(doc);
    if (copy == NULL)
        abort();
    strip_defaults(copy);
    char *text = json_dumps(copy, JSON_COMPACT);
    json_decref(copy);
    if (text == NULL)
        abort();
    int rc = avro_schema_from_json_length(text, strlen(text), &g[k].schema);
    free(text);
    return rc;
}

static void setup(void)
{
    for (size_t k = 0; k < FUZZ_PJ_NSCHEMAS; k++) {
        const char *text = FUZZ_PJ_SCHEMAS[k].schema;
        json_error_t jerr;
        /* JSON_ALLOW_NUL: defaults of bytes and fixed hold NUL bytes
         * ("\u0000"), decimals' most of all. */
        json_t *doc = json_loads(text, JSON_ALLOW_NUL, &jerr);
        if (doc == NULL)
            die(k, "the schema is not JSON", jerr.text);
        g[k].fields = json_incref(json_object_get(doc, "fields"));
        if (parse_schema(k, doc))
            die(k, "avro-c refuses the schema", avro_strerror());
        json_decref(doc);
        g[k].iface = avro_generic_class_from_schema(g[k].schema);
        if (g[k].iface == NULL)
            die(k, "avro_generic_class_from_schema", avro_strerror());
        g[k].full = json_loads(FUZZ_PJ_SCHEMAS[k].full, JSON_ALLOW_NUL, &jerr);
        if (g[k].full == NULL)
            die(k, "the full line is not JSON", jerr.text);
        /* The full line must convert, or the reuse check means nothing. */
        avro_value_t v;
        char msg[MSG_SIZE];
        new_value(k, &v);
        if (convert(k, &v, g[k].full, msg))
            die(k, "the full line does not convert", msg);
        avro_value_decref(&v);
    }
    atexit(teardown);
    g_ready = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_ready)
        setup();
    if (size == 0)
        return 0;
    size_t k = data[0] % FUZZ_PJ_NSCHEMAS;
    json_error_t jerr;
    json_t *doc = json_loadb(
        (const char *)data + 1, size - 1,
        JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (doc == NULL)
        return 0;
    json_t *value = doc;
    json_t *v = json_object_get(doc, "value");
    if (v != NULL &&
        json_object_size(doc) == 1 + (json_object_get(doc, "key") != NULL))
        value = v;
    if (json_is_null(value) && value != doc) {
        json_decref(doc); /* a tombstone: nothing to convert */
        return 0;
    }

    /* A fresh value. */
    avro_value_t fresh;
    char msg1[MSG_SIZE];
    new_value(k, &fresh);
    int rc1 = convert(k, &fresh, value, msg1);
    char *enc1 = NULL;
    size_t len1 = 0;
    if (rc1 == 0) {
        enc1 = encode(k, &fresh, &len1);
        read_back(k, enc1, len1);
    }
    avro_value_decref(&fresh);

    /* A value that held a full line first. */
    avro_value_t used;
    char msg2[MSG_SIZE];
    new_value(k, &used);
    if (convert(k, &used, g[k].full, msg2))
        die(k, "the full line does not convert", msg2);
    int rc2 = convert(k, &used, value, msg2);
    if (rc2 != rc1)
        die(k,
            rc1 ? "a line fails in a fresh value, not in a used one"
                : "a line fails in a used value, not in a fresh one",
            rc1 ? msg1 : msg2);
    if (rc2 == 0) {
        size_t len2;
        char *enc2 = encode(k, &used, &len2);
        if (len2 != len1 || (len1 > 0 && memcmp(enc1, enc2, len1) != 0))
            die(k, "a line encodes otherwise in a used value", NULL);
        free(enc2);
    } else if (strcmp(msg1, msg2) != 0) {
        fprintf(stderr, "fresh: %s\nused:  %s\n", msg1, msg2);
        die(k, "a line fails otherwise in a used value", NULL);
    }
    avro_value_decref(&used);
    free(enc1);
    json_decref(doc);
    return 0;
}
