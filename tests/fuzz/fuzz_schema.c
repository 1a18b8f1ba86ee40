/*
 * libFuzzer target: writer schemas, compiled into decode plans.
 *
 * A writer schema is untrusted text: it comes from a Schema Registry or a
 * schemas directory. The input, as a C string, is compiled with fs_plan_new
 * against each fixed serving layout of SERVING below. Compiling must return
 * FSTORE_OK with a plan, or FSTORE_ERR_WRITER_SCHEMA / FSTORE_ERR_RESOLVE
 * with a message and no plan. Every plan built then decodes a few fixed
 * records and the input bytes themselves as Avro data: each decode returns
 * FSTORE_OK or an error of the decode family, and every row it builds must
 * keep its values inside its body (checked column by column). Anything else
 * (another code, a crash, a sanitizer report, a leak) is a bug.
 *
 * Leaks inside avro-c are not reported (see __lsan_default_suppressions):
 * its schema parser leaks part of a schema it refuses for defining a name
 * twice, which is avro-c's, not fstore's, to fix.
 *
 * Internal API (decode.h, layout.h): linked with the static library.
 * tests/fuzz/replay.c links this same file to replay corpora as ordinary
 * tests, so it builds with gcc too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "fuzz_schemas.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* Read by LeakSanitizer at start-up, where there is one. This also hides
 * an avro-c object fstore would fail to free; the decode target, which
 * parses no refused schema, still catches those. */
const char *__lsan_default_suppressions(void)
{
    return "leak:libavro.so\n";
}

/* A small layout of other names and types, whose enum has a default for
 * symbols it lacks, and a record name no writer of fuzz_schemas.h uses. */
static const char SERVING_SMALL[] =
    "{\"type\":\"record\",\"name\":\"Small\",\"namespace\":\"other\","
    "\"fields\":["
    "{\"name\":\"id\",\"type\":\"long\"},"
    "{\"name\":\"score\",\"type\":\"float\",\"default\":0.5},"
    "{\"name\":\"s\",\"type\":[\"null\",\"string\"],\"default\":null},"
    "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"Color\","
    "\"symbols\":[\"RED\",\"GREEN\"],\"default\":\"RED\"},\"default\":"
    "\"GREEN\"},"
    "{\"name\":\"tags\",\"type\":[\"null\",{\"type\":\"array\","
    "\"items\":\"long\"}],\"default\":null},"
    "{\"name\":\"h\",\"type\":{\"type\":\"fixed\",\"name\":\"H4\",\"size\":4},"
    "\"default\":\"abcd\"}"
    "]}";

/* One column without a default: a writer lacking it cannot resolve. */
static const char SERVING_REQUIRED[] =
    "{\"type\":\"record\",\"name\":\"Features\",\"namespace\":\"fuzz\","
    "\"fields\":[{\"name\":\"i\",\"type\":\"int\"},"
    "{\"name\":\"ad\",\"type\":{\"type\":\"array\",\"items\":\"double\"}}]}";

static const char *const SERVING[] = {FUZZ_SERVING_SCHEMA, SERVING_SMALL,
                                      SERVING_REQUIRED};
#define NSERVING (sizeof SERVING / sizeof SERVING[0])

/* Records every plan decodes besides the input itself: empty, zeros, a
 * plausible record of the small layout, overlong varints, odd bytes. */
#define RECORD(s)                                                              \
    {                                                                          \
        .bytes = (s), .len = sizeof(s) - 1                                     \
    }
static const struct {
    const char *bytes;
    size_t len;
} RECORDS[] = {
    RECORD(""),
    RECORD("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"),
    RECORD("\x02\x00\x00\x3f\x02\x02\x61\x02\x02\x04\x02\x04\x00"
           "abcd"),
    RECORD("\x02\x61\x02\x62\x04\x06\x01\x02\x00\x00\x80\x3f\x00\x00"
           "\x00\x00\x00\x00\xf0\x3f" FUZZ_FIXED_DEFAULT "\x04\x00\x00"
           "\x80\x3f\x00\x00\x00\x40\x00"),
    RECORD("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x7f\x7f\x7f\x7f"),
    RECORD("\x01\x03\x05\x07\x09\x0b\x0d\x0f"),
};
#define NRECORDS (sizeof RECORDS / sizeof RECORDS[0])

static fs_layout *g_layouts[NSERVING];

static void die(const char *what, fstore_err_t err, const char *errstr)
{
    fprintf(stderr, "fuzz_schema: %s: %s (%d): %s\n", what,
            fstore_err_name(err), (int)err, errstr ? errstr : "");
    abort();
}

static void free_layouts(void)
{
    for (size_t i = 0; i < NSERVING; i++) {
        fs_layout_free(g_layouts[i]);
        g_layouts[i] = NULL;
    }
}

static void setup(void)
{
    char errstr[512] = "";
    for (size_t i = 0; i < NSERVING; i++) {
        fstore_err_t err =
            fs_layout_new(SERVING[i], &g_layouts[i], errstr, sizeof errstr);
        if (err != FSTORE_OK)
            die("fs_layout_new", err, errstr);
    }
    atexit(free_layouts);
}

/* errstr must hold a NUL-terminated, non-empty message. */
static void check_message(const char *what, fstore_err_t err,
                          const char *errstr, size_t size)
{
    if (memchr(errstr, '\0', size) == NULL)
        die(what, err, "errstr left without a NUL");
    if (errstr[0] == '\0')
        die(what, err, "failed without a message");
}

/* Checks that column c of a finished row keeps its value inside the body. */
static void check_column(const fs_layout *L, int col, const uint8_t *row)
{
    const fs_col *c = &L->cols[col];
    const uint8_t *body = row + FS_ROW_HDR;
    uint32_t body_size = fs_row_body_size(row);
    if ((body[col >> 3] >> (col & 7)) & 1) {
        if (!c->nullable)
            die("a column that cannot be null is null", FSTORE_OK, c->name);
        return;
    }
    const uint8_t *slot = body + c->slot;
    if (c->type == FSTORE_TYPE_ENUM) {
        int32_t idx = (int32_t)fs_load_u32(slot);
        if (idx < 0 || idx >= c->nsyms)
            die("enum index outside the serving symbols", FSTORE_OK, c->name);
        return;
    }
    if (c->type < FSTORE_TYPE_STRING)
        return;
    uint64_t off = fs_load_u32(slot), count = fs_load_u32(slot + 4);
    uint64_t end = off + count * (c->elem ? c->elem : 1);
    if (c->type == FSTORE_TYPE_STRING)
        end++; /* the terminator */
    if (off < L->var_start || end > body_size)
        die("a value lies outside its row's body", FSTORE_OK, c->name);
    if (c->type == FSTORE_TYPE_STRING && body[off + count] != '\0')
        die("a string is not NUL-terminated", FSTORE_OK, c->name);
    if (c->type == FSTORE_TYPE_FIXED && count != (uint64_t)c->fixed_size)
        die("a fixed value has the wrong size", FSTORE_OK, c->name);
    if (c->elem && off % 8 != 0)
        die("an array is not 8-aligned in the body", FSTORE_OK, c->name);
}

static void decode_one(const fs_plan *p, const fs_layout *L,
                       const uint8_t *bytes, size_t len)
{
    /* An exact-size copy, so ASan sees any over-read. */
    uint8_t *copy = malloc(len > 0 ? len : 1);
    if (copy == NULL)
        abort();
    if (len > 0)
        memcpy(copy, bytes, len);
    fs_buf b = {0};
    char errstr[256];
    memset(errstr, 0xff, sizeof errstr);
    fstore_err_t err = fs_plan_decode(p, copy, len, &b, errstr, sizeof errstr);
    free(copy);
    if (err == FSTORE_OK) {
        fs_row_finish(&b, 0, 1, 0, 0, 0);
        for (int col = 0; col < L->ncols; col++)
            check_column(L, col, b.data);
    } else if ((int)err < 400 || (int)err > 499) {
        errstr[sizeof errstr - 1] = '\0';
        die("fs_plan_decode returned a code outside the decode family", err,
            errstr);
    } else {
        check_message("fs_plan_decode", err, errstr, sizeof errstr);
    }
    fs_buf_free(&b);
}

static void plan_one(const fs_layout *L, const char *json, const uint8_t *data,
                     size_t size)
{
    fs_plan *p = NULL;
    char errstr[512];
    memset(errstr, 0xff, sizeof errstr);
    fstore_err_t err = fs_plan_new(json, L, &p, errstr, sizeof errstr);
    if (err != FSTORE_OK) {
        if (p != NULL)
            die("fs_plan_new failed but returned a plan", err, NULL);
        if (err != FSTORE_ERR_WRITER_SCHEMA && err != FSTORE_ERR_RESOLVE) {
            errstr[sizeof errstr - 1] = '\0';
            die("fs_plan_new returned an unexpected code", err, errstr);
        }
        check_message("fs_plan_new", err, errstr, sizeof errstr);
        return;
    }
    if (p == NULL)
        die("fs_plan_new succeeded without a plan", err, NULL);
    for (size_t i = 0; i < NRECORDS; i++)
        decode_one(p, L, (const uint8_t *)RECORDS[i].bytes, RECORDS[i].len);
    decode_one(p, L, data, size);
    fs_plan_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g_layouts[0] == NULL)
        setup();
    /* Schema texts are C strings: the input up to its first NUL. */
    char *json = malloc(size + 1);
    if (json == NULL)
        abort();
    if (size > 0)
        memcpy(json, data, size);
    json[size] = '\0';
    for (size_t i = 0; i < NSERVING; i++)
        plan_one(g_layouts[i], json, data, size);
    free(json);
    return 0;
}
