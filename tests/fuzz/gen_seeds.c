/*
 * Generates the seed corpus of the decode fuzz target with avro-c.
 *
 * Usage: fuzz_gen_seeds OUTDIR
 * (the committed corpus is tests/fuzz/seeds/decode; regenerate it with
 *  `cmake --build BUILD --target fuzz_gen_seeds &&
 *   BUILD/tests/fuzz/fuzz_gen_seeds tests/fuzz/seeds/decode`).
 *
 * For every writer schema of fuzz_schemas.h it encodes four records
 * (typical values, empty/zero/null values, extreme values, big values) in
 * Confluent framing; then raw-Avro inputs for the raw tables; then damaged
 * inputs: short frames, bad magic, unknown ids, truncations, trailing bytes,
 * bad lengths, varints, enum indexes, union branches and array blocks. The
 * output is deterministic, so regenerating leaves the corpus unchanged.
 */
#include <avro.h>

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_schemas.h"
#include "seed_out.h"

enum variant { V_TYPICAL, V_EMPTY, V_EXTREME, V_BIG, V_COUNT };
static const char *const VARIANT_NAMES[V_COUNT] = {"typical", "empty",
                                                   "extreme", "big"};



static void fail(const char *what)
{
    fprintf(stderr, "fuzz_gen_seeds: %s: %s\n", what, avro_strerror());
    exit(1);
}

static void buf_header(buf_t *b, uint8_t magic, uint32_t id)
{
    uint8_t h[5] = {magic, (uint8_t)(id >> 24), (uint8_t)(id >> 16),
                    (uint8_t)(id >> 8), (uint8_t)id};
    buf_put(b, h, sizeof h);
}

/* ---- filling generic values ------------------------------------------ */

static size_t collection_len(enum variant v, int depth)
{
    switch (v) {
    case V_TYPICAL: return 3;
    case V_EMPTY: return 0;
    case V_EXTREME: return 1;
    case V_BIG: return depth <= 1 ? 200 : 2;
    default: return 0;
    }
}

static void fill(avro_value_t *val, enum variant v, int depth, unsigned salt);

static void fill_string(avro_value_t *val, enum variant v, int depth,
                        unsigned salt, int as_bytes)
{
    char tmp[512];
    size_t n = 0;
    switch (v) {
    case V_TYPICAL:
        n = (size_t)snprintf(tmp, sizeof tmp, "user-%04u", salt);
        break;
    case V_EMPTY:
        n = 0;
        tmp[0] = '\0';
        break;
    case V_EXTREME: /* multi-byte UTF-8 and an embedded NUL for bytes */
        n = (size_t)snprintf(tmp, sizeof tmp,
                             "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
        if (as_bytes)
            tmp[n++] = '\0';
        break;
    case V_BIG:
        n = depth <= 1 ? 300 : 5;
        for (size_t i = 0; i < n; i++)
            tmp[i] = (char)('a' + (i + salt) % 26);
        tmp[n] = '\0';
        break;
    default: break;
    }
    int rc = as_bytes ? avro_value_set_bytes(val, tmp, n)
                      : avro_value_set_string_len(val, tmp, n + 1);
    if (rc != 0)
        fail("set string/bytes");
}

static void fill_union(avro_value_t *val, enum variant v, int depth,
                       unsigned salt)
{
    avro_schema_t s = avro_value_get_schema(val);
    int n = (int)avro_schema_union_size(s);
    int null_branch = -1, first_value = -1;
    for (int i = 0; i < n; i++) {
        if (is_avro_null(avro_schema_union_branch(s, i))) {
            if (null_branch < 0)
                null_branch = i;
        } else if (first_value < 0) {
            first_value = i;
        }
    }
    int pick;
    if (depth > 12) /* recursive schemas: end the chain */
        v = V_EMPTY;
    switch (v) {
    case V_EMPTY: pick = null_branch >= 0 ? null_branch : 0; break;
    case V_EXTREME: pick = n - 1; break;
    default: pick = first_value >= 0 ? first_value : 0; break;
    }
    avro_value_t branch;
    if (avro_value_set_branch(val, pick, &branch) != 0)
        fail("set branch");
    fill(&branch, v, depth, salt);
}

static void fill(avro_value_t *val, enum variant v, int depth, unsigned salt)
{
    avro_schema_t s = avro_value_get_schema(val);
    int rc = 0;
    switch (avro_value_get_type(val)) {
    case AVRO_NULL: rc = avro_value_set_null(val); break;
    case AVRO_BOOLEAN: rc = avro_value_set_boolean(val, v != V_EMPTY); break;
    case AVRO_INT32: {
        int32_t x = v == V_TYPICAL   ? 42 + (int32_t)salt
                    : v == V_EMPTY   ? 0
                    : v == V_EXTREME ? (salt & 1 ? INT32_MAX : INT32_MIN)
                                     : -1000000;
        rc = avro_value_set_int(val, x);
        break;
    }
    case AVRO_INT64: {
        int64_t x = v == V_TYPICAL   ? 1700000000123LL + salt
                    : v == V_EMPTY   ? 0
                    : v == V_EXTREME ? (salt & 1 ? INT64_MAX : INT64_MIN)
                                     : -123456789012345LL;
        rc = avro_value_set_long(val, x);
        break;
    }
    case AVRO_FLOAT: {
        float x = v == V_TYPICAL   ? 1.5f + (float)salt
                  : v == V_EMPTY   ? 0.0f
                  : v == V_EXTREME ? (salt % 3 == 0   ? NAN
                                      : salt % 3 == 1 ? -INFINITY
                                                      : FLT_MIN / 2)
                                   : FLT_MAX;
        rc = avro_value_set_float(val, x);
        break;
    }
    case AVRO_DOUBLE: {
        double x = v == V_TYPICAL   ? 3.25 + salt
                   : v == V_EMPTY   ? 0.0
                   : v == V_EXTREME ? (salt % 3 == 0   ? -0.0
                                       : salt % 3 == 1 ? INFINITY
                                                       : NAN)
                                    : -DBL_MAX;
        rc = avro_value_set_double(val, x);
        break;
    }
    case AVRO_STRING: fill_string(val, v, depth, salt, 0); return;
    case AVRO_BYTES: fill_string(val, v, depth, salt, 1); return;
    case AVRO_ENUM: {
        int n = avro_schema_enum_number_of_symbols(s);
        int x = v == V_TYPICAL ? 1 % n : v == V_EXTREME ? n - 1 : 0;
        rc = avro_value_set_enum(val, x);
        break;
    }
    case AVRO_FIXED: {
        uint8_t tmp[64];
        size_t n = (size_t)avro_schema_fixed_size(s);
        for (size_t i = 0; i < n && i < sizeof tmp; i++)
            tmp[i] = v == V_EMPTY ? 0 : (uint8_t)(0xA5 ^ (i * 7 + salt));
        rc = avro_value_set_fixed(val, tmp, n);
        break;
    }
    case AVRO_ARRAY: {
        size_t n = collection_len(v, depth);
        /* avro-c cannot grow an array of zero-size records; deep_seeds()
         * hand-writes those. */
        avro_schema_t items = avro_schema_array_items(s);
        if (is_avro_record(items) && avro_schema_record_size(items) == 0)
            n = 0;
        for (size_t i = 0; i < n && rc == 0; i++) {
            avro_value_t item;
            rc = avro_value_append(val, &item, NULL);
            if (rc == 0)
                fill(&item, v, depth + 1, salt + (unsigned)i);
        }
        break;
    }
    case AVRO_MAP: {
        size_t n = collection_len(v, depth);
        if (n > 20)
            n = 20;
        for (size_t i = 0; i < n && rc == 0; i++) {
            char key[32];
            avro_value_t item;
            snprintf(key, sizeof key, "key%zu", i);
            rc = avro_value_add(val, key, &item, NULL, NULL);
            if (rc == 0)
                fill(&item, v, depth + 1, salt + (unsigned)i);
        }
        break;
    }
    case AVRO_UNION: fill_union(val, v, depth, salt); return;
    case AVRO_RECORD: {
        size_t n = 0;
        rc = avro_value_get_size(val, &n);
        for (size_t i = 0; i < n && rc == 0; i++) {
            avro_value_t field;
            rc = avro_value_get_by_index(val, i, &field, NULL);
            if (rc == 0)
                fill(&field, v, depth + 1, salt + (unsigned)i);
        }
        break;
    }
    default: fprintf(stderr, "fuzz_gen_seeds: unexpected Avro type\n"); exit(1);
    }
    if (rc != 0)
        fail("set value");
}

/* avro-c cannot write a fixed(0) value; "null" has the same (empty) wire
 * encoding, so writer 10's records are encoded with this twin schema. */
static const char WRITER_ODD_WIRE[] =
    "{\"type\":\"record\",\"name\":\"Features\",\"namespace\":\"fuzz\","
    "\"fields\":["
    "{\"name\":\"s\",\"type\":\"string\"},"
    "{\"name\":\"x_nn\",\"type\":[\"null\",\"null\"]},"
    "{\"name\":\"s\",\"type\":[\"null\",\"string\"]},"
    "{\"name\":\"x_nested\",\"type\":[\"int\",[\"null\",\"int\"]]},"
    "{\"name\":\"i\",\"type\":[\"int\",[\"null\",\"int\"]]},"
    "{\"name\":\"x_fz\",\"type\":\"null\"},"
    "{\"name\":\"x_fzs\",\"type\":{\"type\":\"array\",\"items\":\"null\"}},"
    "{\"name\":\"ns\",\"type\":[\"null\",\"string\"]},"
    "{\"name\":\"ns\",\"type\":\"string\"}"
    "]}";

/* avro-c crashes building values of a fixed with a negative size: writer
 * 11's records are encoded with bytes in place of the fixed branches (a
 * non-null branch then claims bytes no fixed(-1)/fixed(4e9) can hold). */
static const char WRITER_BIGFIXED_WIRE[] =
    "{\"type\":\"record\",\"name\":\"Features\",\"namespace\":\"fuzz\","
    "\"fields\":["
    "{\"name\":\"i\",\"type\":\"int\"},"
    "{\"name\":\"x_fneg\",\"type\":[\"null\",\"bytes\"]},"
    "{\"name\":\"x_fbig\",\"type\":[\"null\",\"bytes\"]}"
    "]}";

static const char *wire_schema(int id)
{
    switch (id) {
    case 10: return WRITER_ODD_WIRE;
    case 11: return WRITER_BIGFIXED_WIRE;
    default: return FUZZ_WRITERS[id];
    }
}

/* Encodes one record of writer schema @p id, variant @p v, as Avro binary
 * (no framing) appended to @p out. */
static void encode(int id, enum variant v, buf_t *out)
{
    avro_schema_t schema;
    const char *json = wire_schema(id);
    if (avro_schema_from_json_length(json, strlen(json), &schema) != 0)
        fail("parse writer schema");
    avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
    if (iface == NULL)
        fail("generic class");
    avro_value_t val;
    if (avro_generic_value_new(iface, &val) != 0)
        fail("generic value");
    fill(&val, v, 0, (unsigned)id * 10);

    size_t size = 0;
    if (avro_value_sizeof(&val, &size) != 0)
        fail("sizeof");
    uint8_t *tmp = malloc(size > 0 ? size : 1);
    avro_writer_t w = avro_writer_memory((const char *)tmp, (int64_t)size);
    if (tmp == NULL || w == NULL || avro_value_write(w, &val) != 0)
        fail("write");
    buf_put(out, tmp, size);
    avro_writer_free(w);
    free(tmp);
    avro_value_decref(&val);
    avro_value_iface_decref(iface);
    avro_schema_decref(schema);
}

static void framed(int id, enum variant v, buf_t *out)
{
    buf_header(out, 0, (uint32_t)id);
    encode(id, v, out);
}

/* ---- seeds ------------------------------------------------------------ */

static void valid_seeds(void)
{
    char name[128];
    for (int id = 1; id < FUZZ_NWRITERS; id++) {
        for (int v = 0; v < V_COUNT; v++) {
            buf_t b = {0};
            framed(id, (enum variant)v, &b);
            snprintf(name, sizeof name, "confluent-w%d-%s", id,
                     VARIANT_NAMES[v]);
            write_seed(name, b.data, b.len);
            free(b.data);
        }
    }
    static const struct {
        uint8_t mode;
        int id;
        const char *name;
    } raw[] = {{FUZZ_MODE_RAW_SERVING, 1, "raw-serving"},
               {FUZZ_MODE_RAW_EXTRA, 2, "raw-extra"},
               {FUZZ_MODE_RAW_PROMOTE, 4, "raw-promote"}};
    for (size_t r = 0; r < sizeof raw / sizeof raw[0]; r++) {
        for (int v = 0; v < V_COUNT; v++) {
            buf_t b = {0};
            buf_byte(&b, raw[r].mode);
            encode(raw[r].id, (enum variant)v, &b);
            snprintf(name, sizeof name, "%s-%s", raw[r].name, VARIANT_NAMES[v]);
            write_seed(name, b.data, b.len);
            if (v == V_TYPICAL) {
                snprintf(name, sizeof name, "%s-truncated", raw[r].name);
                write_seed(name, b.data, b.len / 2);
                buf_byte(&b, 0x00);
                snprintf(name, sizeof name, "%s-trailing", raw[r].name);
                write_seed(name, b.data, b.len);
            }
            free(b.data);
        }
    }
}

/* Frames: short, bad magic, ids nobody registered, bodies under the wrong
 * writer id, truncation at several points, trailing bytes. */
static void frame_seeds(void)
{
    buf_t base = {0};
    framed(1, V_TYPICAL, &base);
    char name[64];

    for (size_t k = 0; k <= 5; k++) {
        snprintf(name, sizeof name, "frame-short-%zu", k);
        write_seed(name, base.data, k);
    }
    static const struct {
        const char *name;
        uint8_t magic;
        uint32_t id;
    } hdr[] = {{"frame-bad-magic", 1, 1},
               {"frame-magic-ff", 0xff, 1},
               {"frame-unknown-id", 0, 999},
               {"frame-id-zero", 0, 0},
               {"frame-id-negative", 0, 0xffffffffu},
               {"frame-id-max", 0, 0x7fffffffu},
               {"body1-as-w3", 0, 3},
               {"body1-as-w5", 0, 5},
               {"body1-as-w7", 0, 7},
               {"body1-as-w8", 0, 8}};
    for (size_t i = 0; i < sizeof hdr / sizeof hdr[0]; i++) {
        buf_t b = {0};
        buf_header(&b, hdr[i].magic, hdr[i].id);
        buf_put(&b, base.data + 5, base.len - 5);
        write_seed(hdr[i].name, b.data, b.len);
        free(b.data);
    }
    write_seed("trunc-half", base.data, base.len / 2);
    write_seed("trunc-minus-1", base.data, base.len - 1);
    write_seed("trunc-minus-8", base.data, base.len - 8);

    buf_t t = {0};
    buf_put(&t, base.data, base.len);
    buf_byte(&t, 0x00);
    write_seed("trailing-1", t.data, t.len);
    buf_put(&t, "\xde\xad\xbe\xef", 4);
    write_seed("trailing-5", t.data, t.len);
    free(t.data);
    free(base.data);
}

/* Damage at known offsets. In the "empty" variant of writer 1 the body
 * starts s="" (0x00), by="" (0x00), e (enum index), e2 (enum index),
 * b (boolean). */
static void field_seeds(void)
{
    buf_t empty = {0};
    framed(1, V_EMPTY, &empty);
    const uint8_t *rest = empty.data + 6; /* after the string length */
    size_t rest_len = empty.len - 6;

    static const struct {
        const char *name;
        int64_t len;
    } lens[] = {{"string-len-huge", (int64_t)1 << 40},
                {"string-len-2g", (int64_t)1 << 31},
                {"string-len-negative", -1},
                {"string-len-min", INT64_MIN},
                {"string-len-past-end", 64}};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        buf_t b = {0};
        buf_header(&b, 0, 1);
        buf_varint(&b, lens[i].len);
        buf_put(&b, rest, rest_len);
        write_seed(lens[i].name, b.data, b.len);
        free(b.data);
    }

    /* An 11-byte varint (longer than any 64-bit value) and a 10-byte one. */
    buf_t b = {0};
    buf_header(&b, 0, 1);
    for (int i = 0; i < 10; i++)
        buf_byte(&b, 0xff);
    buf_byte(&b, 0x01);
    buf_put(&b, rest, rest_len);
    write_seed("varint-overlong", b.data, b.len);
    b.len = 5;
    for (int i = 0; i < 9; i++)
        buf_byte(&b, 0xff);
    write_seed("varint-unterminated", b.data, b.len);
    free(b.data);

    /* Enum index (offset 7) and boolean byte (offset 8). */
    static const struct {
        const char *name;
        size_t at;
        uint8_t byte;
    } pokes[] = {{"enum-index-3", 7, 0x06},    {"enum-index-negative", 7, 0x01},
                 {"enum-index-huge", 7, 0x7e}, {"enum2-index-3", 8, 0x06},
                 {"boolean-2", 9, 0x02},       {"boolean-ff", 9, 0xff}};
    for (size_t i = 0; i < sizeof pokes / sizeof pokes[0]; i++) {
        buf_t p = {0};
        buf_put(&p, empty.data, empty.len);
        p.data[pokes[i].at] = pokes[i].byte;
        write_seed(pokes[i].name, p.data, p.len);
        free(p.data);
    }
    free(empty.data);

    /* Union branch of writer 5's first field ["null","string"], offset 5. */
    buf_t u = {0};
    framed(5, V_EMPTY, &u);
    static const struct {
        const char *name;
        uint8_t byte;
    } branches[] = {{"union-branch-2", 0x04},
                    {"union-branch-negative", 0x01},
                    {"union-branch-huge", 0x7e}};
    for (size_t i = 0; i < sizeof branches / sizeof branches[0]; i++) {
        u.data[5] = branches[i].byte;
        write_seed(branches[i].name, u.data, u.len);
    }
    free(u.data);
}

/* Writer 3 starts with "af" (array of float): hand-written array blocks,
 * followed by s="", i=0, d=0.0, nd=null, ts=0. */
static void array_seeds(void)
{
    static const uint8_t tail[] = {0x00, 0x00, 0, 0, 0,    0,
                                   0,    0,    0, 0, 0x00, 0x00};
    static const float one = 1.0f, two = 2.0f;
    struct {
        const char *name;
        buf_t b;
    } s[8];
    int n = 0;

    /* Negative count: -2 items, then the block's byte size, then items. */
    s[n].name = "array-negative-count";
    s[n].b = (buf_t){0};
    buf_header(&s[n].b, 0, 3);
    buf_varint(&s[n].b, -2);
    buf_varint(&s[n].b, 8);
    buf_put(&s[n].b, &one, 4);
    buf_put(&s[n].b, &two, 4);
    buf_varint(&s[n].b, 0);
    n++;

    /* Negative count whose byte size lies. */
    s[n].name = "array-negative-count-bad-size";
    s[n].b = (buf_t){0};
    buf_header(&s[n].b, 0, 3);
    buf_varint(&s[n].b, -2);
    buf_varint(&s[n].b, 1000000);
    buf_put(&s[n].b, &one, 4);
    buf_put(&s[n].b, &two, 4);
    buf_varint(&s[n].b, 0);
    n++;

    /* Two blocks of one item each. */
    s[n].name = "array-two-blocks";
    s[n].b = (buf_t){0};
    buf_header(&s[n].b, 0, 3);
    buf_varint(&s[n].b, 1);
    buf_put(&s[n].b, &one, 4);
    buf_varint(&s[n].b, 1);
    buf_put(&s[n].b, &two, 4);
    buf_varint(&s[n].b, 0);
    n++;

    /* A count far beyond the input: must not allocate for it. */
    s[n].name = "array-count-huge";
    s[n].b = (buf_t){0};
    buf_header(&s[n].b, 0, 3);
    buf_varint(&s[n].b, (int64_t)1 << 31);
    buf_put(&s[n].b, &one, 4);
    buf_varint(&s[n].b, 0);
    n++;

    s[n].name = "array-count-int64-max";
    s[n].b = (buf_t){0};
    buf_header(&s[n].b, 0, 3);
    buf_varint(&s[n].b, INT64_MAX);
    buf_put(&s[n].b, &one, 4);
    buf_varint(&s[n].b, 0);
    n++;

    s[n].name = "array-count-int64-min";
    s[n].b = (buf_t){0};
    buf_header(&s[n].b, 0, 3);
    buf_varint(&s[n].b, INT64_MIN);
    buf_varint(&s[n].b, 8);
    buf_put(&s[n].b, &one, 4);
    buf_varint(&s[n].b, 0);
    n++;

    /* Many one-item blocks: the total grows block by block. */
    s[n].name = "array-many-blocks";
    s[n].b = (buf_t){0};
    buf_header(&s[n].b, 0, 3);
    for (int i = 0; i < 300; i++) {
        buf_varint(&s[n].b, 1);
        buf_put(&s[n].b, &one, 4);
    }
    buf_varint(&s[n].b, 0);
    n++;

    /* Items truncated inside the block. */
    s[n].name = "array-items-truncated";
    s[n].b = (buf_t){0};
    buf_header(&s[n].b, 0, 3);
    buf_varint(&s[n].b, 3);
    buf_put(&s[n].b, &one, 4);
    buf_put(&s[n].b, &two, 2);
    n++;

    for (int i = 0; i < n; i++) {
        if (strcmp(s[i].name, "array-items-truncated") != 0)
            buf_put(&s[i].b, tail, sizeof tail);
        write_seed(s[i].name, s[i].b.data, s[i].b.len);
        free(s[i].b.data);
    }
}

/* Writer 9 starts with a recursive linked list, then arrays and maps of
 * zero-size items: nesting and item counts beyond any sane limit. */
static void deep_seeds(void)
{
    static const int depths[] = {100, 5000};
    char name[64];
    for (size_t d = 0; d < sizeof depths / sizeof depths[0]; d++) {
        buf_t b = {0};
        buf_header(&b, 0, 9);
        for (int i = 0; i < depths[d]; i++) {
            buf_varint(&b, i); /* v */
            buf_varint(&b, 1); /* next: branch "Node" */
        }
        buf_varint(&b, 0);                /* v */
        buf_varint(&b, 0);                /* next: null */
        buf_put(&b, "\0\0\0\0\0\0\0", 7); /* empty collections, i, s */
        snprintf(name, sizeof name, "deep-list-%d", depths[d]);
        write_seed(name, b.data, b.len);
        free(b.data);
    }

    static const struct {
        const char *name;
        int field; /* 0: array of null, 1: map of null, 2: array of Empty */
        int64_t count;
    } zs[] = {{"zero-size-array-1e12", 0, 1000000000000LL},
              {"zero-size-array-1000", 0, 1000},
              {"zero-size-map-1e6", 1, 1000000},
              {"zero-size-records-1e12", 2, 1000000000000LL},
              {"zero-size-array-negative", 0, -1000000000000LL}};
    for (size_t z = 0; z < sizeof zs / sizeof zs[0]; z++) {
        buf_t b = {0};
        buf_header(&b, 0, 9);
        buf_varint(&b, 0); /* x_list.v */
        buf_varint(&b, 0); /* x_list.next = null */
        for (int f = 0; f < 3; f++) {
            if (f == zs[z].field) {
                buf_varint(&b, zs[z].count);
                if (zs[z].count < 0)
                    buf_varint(&b, 0); /* block byte size */
                if (f == 1) /* one map key, then the items run short */
                    buf_put(&b, "\x02k", 2);
            }
            buf_varint(&b, 0); /* end of the collection */
        }
        buf_put(&b, "\0\0\0\0", 4); /* x_tree, x_nested_nulls, i, s */
        write_seed(zs[z].name, b.data, b.len);
        free(b.data);
    }

    /* Arrays of arrays of null: every inner array claims many items in
     * three bytes, so the work per input byte must stay bounded. */
    static const struct {
        const char *name;
        int outer;
        int64_t inner;
    } nz[] = {{"zero-size-nested-10x1e6", 10, 1000000},
              {"zero-size-nested-300x1e6", 300, 1000000}};
    for (size_t z = 0; z < sizeof nz / sizeof nz[0]; z++) {
        buf_t b = {0};
        buf_header(&b, 0, 9);
        buf_put(&b, "\0\0\0\0\0\0", 6); /* x_list, 4 collections */
        buf_varint(&b, nz[z].outer);
        for (int k = 0; k < nz[z].outer; k++) {
            buf_varint(&b, nz[z].inner);
            buf_varint(&b, 0);
        }
        buf_put(&b, "\0\0\0", 3); /* end of outer array, i, s */
        write_seed(nz[z].name, b.data, b.len);
        free(b.data);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    seed_begin("fuzz_gen_seeds", argv[1]);
    valid_seeds();
    frame_seeds();
    field_seeds();
    array_seeds();
    deep_seeds();
    seed_end();
    return 0;
}
