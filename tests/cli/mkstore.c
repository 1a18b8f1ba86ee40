/*
 * mkstore DIR: builds the store the CLI golden tests read, with the public
 * API only: raw Avro values (FSTORE_FORMAT_AVRO, written with the serving
 * schema) encoded by avro-c and applied through fstore_batch_put().
 *
 * Table "features" has a column of every type, nullable ones, strings that
 * need escaping, an updated key, a deleted key and rows in two partitions;
 * table "other" has one long column. The contents are fixed, so the output
 * of `fstore get` and `fstore stats` over them is too.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avro.h>

#include "fstore/fstore.h"

static const char FEATURES[] =
    "{\"type\":\"record\",\"name\":\"Features\",\"namespace\":\"cli.test\","
    "\"fields\":["
    "{\"name\":\"active\",\"type\":\"boolean\"},"
    "{\"name\":\"visits\",\"type\":\"int\"},"
    "{\"name\":\"total\",\"type\":\"long\"},"
    "{\"name\":\"score\",\"type\":\"float\"},"
    "{\"name\":\"ratio\",\"type\":\"double\"},"
    "{\"name\":\"name\",\"type\":\"string\"},"
    "{\"name\":\"blob\",\"type\":\"bytes\"},"
    "{\"name\":\"tier\",\"type\":{\"type\":\"enum\",\"name\":\"Tier\","
    "\"symbols\":[\"FREE\",\"PRO\",\"ENTERPRISE\"]}},"
    "{\"name\":\"hash\",\"type\":{\"type\":\"fixed\",\"name\":\"Hash4\","
    "\"size\":4}},"
    "{\"name\":\"embedding\",\"type\":{\"type\":\"array\",\"items\":\"float\"}}"
    ","
    "{\"name\":\"weights\",\"type\":{\"type\":\"array\",\"items\":\"double\"}},"
    "{\"name\":\"counts\",\"type\":{\"type\":\"array\",\"items\":\"int\"}},"
    "{\"name\":\"ids\",\"type\":{\"type\":\"array\",\"items\":\"long\"}},"
    "{\"name\":\"last_seen\",\"type\":{\"type\":\"long\","
    "\"logicalType\":\"timestamp-millis\"}},"
    "{\"name\":\"birthday\",\"type\":{\"type\":\"int\","
    "\"logicalType\":\"date\"}},"
    "{\"name\":\"nickname\",\"type\":[\"null\",\"string\"],\"default\":null},"
    "{\"name\":\"bonus\",\"type\":[\"null\",\"double\"],\"default\":null},"
    "{\"name\":\"lucky\",\"type\":[\"null\",\"long\"],\"default\":null},"
    "{\"name\":\"flag\",\"type\":[\"null\",\"boolean\"],\"default\":null},"
    "{\"name\":\"plan\",\"type\":[\"null\",{\"type\":\"enum\","
    "\"name\":\"Plan\",\"symbols\":[\"BASIC\",\"PLUS\",\"MAX\"]}],"
    "\"default\":null},"
    "{\"name\":\"history\",\"type\":[\"null\",{\"type\":\"array\","
    "\"items\":\"float\"}],\"default\":null}"
    "]}";

static const char OTHER[] =
    "{\"type\":\"record\",\"name\":\"Other\",\"fields\":["
    "{\"name\":\"x\",\"type\":\"long\"}]}";

/* One row of "features". Nullable columns are null unless their has_*
 * flag is set (nickname: unless non-NULL; plan: unless > 0, symbol
 * plan - 1). Arrays hold their first n_* elements. */
typedef struct frow {
    const char *key;
    int32_t partition;
    int64_t offset, ts;
    int active, visits;
    int64_t total;
    float score;
    double ratio;
    const char *name;
    size_t name_len;
    const char *blob;
    size_t blob_len;
    int tier;
    const char *hash;
    size_t n_emb, n_w, n_c, n_ids;
    float emb[4];
    double w[3];
    int32_t c[4];
    int64_t ids[3];
    int64_t last_seen;
    int32_t birthday;
    const char *nickname; /* NULL → null */
    int has_bonus, has_lucky, has_flag, plan, has_history;
    double bonus;
    int64_t lucky;
    int flag;
    size_t n_hist;
    float hist[2];
} frow;

#define S(f, s) .f = s, .f##_len = sizeof(s) - 1
#define ZERO4 .hash = "\0\0\0\0"

static const frow rows[] = {
    /* user-1, first version: replaced by the one at offset 4 below. */
    {.key = "user-1",
     .offset = 0,
     .ts = 1700000000000,
     .visits = 1,
     .total = 1,
     S(name, "old"),
     S(blob, ""),
     ZERO4},
    /* A key and a string that need escaping; negative zero; big double. */
    {.key = "quote\"key\\",
     .offset = 1,
     .ts = 1700000000500,
     .active = 1,
     .visits = -3,
     .total = -1,
     .score = 1.5f,
     .ratio = 2.0,
     S(name, "tab\there \x01\x1f\x7f / </end>"),
     S(blob, "\xff"),
     .tier = 2,
     .hash = "\x01\x02\x03\x04",
     .n_emb = 1,
     .emb = {-0.0f},
     .birthday = -1,
     .nickname = "",
     .has_bonus = 1,
     .bonus = 1e300,
     .plan = 1},
    /* gone: put at offset 2, deleted at offset 3 (see main). */
    {.key = "gone",
     .offset = 2,
     .ts = 1700000000600,
     S(name, "bye"),
     S(blob, ""),
     ZERO4},
    {.key = "user-1",
     .offset = 4,
     .ts = 1700000001000,
     .active = 1,
     .visits = 42,
     .total = 9007199254740993LL,
     .score = 0.1f,
     .ratio = 1.0 / 3.0,
     S(name, "Zo\xc3\xab \"the\" \\coder\\\n\xe2\x9c\x93"),
     S(blob, "\x00\xff\x10"
             "a"),
     .tier = 1,
     .hash = "\xde\xad\xbe\xef",
     .n_emb = 3,
     .emb = {0.5f, -1.25f, 3.4028235e38f},
     .n_w = 2,
     .w = {0.1, 1e-300},
     .n_c = 3,
     .c = {-1, 0, 2147483647},
     .n_ids = 2,
     .ids = {INT64_MIN, 1},
     .last_seen = 1700000000123,
     .birthday = 19000,
     .nickname = "zo\xc3\xab",
     .has_bonus = 1,
     .bonus = 2.5,
     .has_lucky = 1,
     .lucky = -7,
     .has_flag = 1,
     .flag = 0,
     .plan = 3,
     .has_history = 1,
     .n_hist = 1,
     .hist = {1.5f}},
    /* user-2: nulls, empty string, bytes and arrays; non-finite numbers
     * (set in encode()) that print as null. */
    {.key = "user-2",
     .partition = 1,
     .offset = 5,
     .ts = 1700000002000,
     S(name, ""),
     S(blob, ""),
     ZERO4,
     .has_flag = 1,
     .flag = 1,
     .has_history = 1},
    /* A UTF-8 key and string (4-byte sequence included). */
    {.key = "\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87",
     .partition = 1,
     .offset = 6,
     .ts = 1700000003000,
     .active = 1,
     .visits = 7,
     .total = 7,
     .score = 7.0f,
     .ratio = 7.0,
     S(name, "\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87 \xf0\x9f\x94\x91"),
     S(blob, "k"),
     .tier = 2,
     .hash = "kkkk",
     .n_ids = 1,
     .ids = {7}},
};

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "mkstore: %s: %s\n", what, detail);
    exit(1);
}

static void check(int rc, const char *what)
{
    if (rc)
        die(what, avro_strerror());
}

static avro_value_t field(avro_value_t *rec, const char *name)
{
    avro_value_t f = {0};
    check(avro_value_get_by_name(rec, name, &f, NULL), name);
    return f;
}

/* Selects the null branch (@p present 0) or the value branch of a union. */
static avro_value_t branch(avro_value_t *rec, const char *name, int present)
{
    avro_value_t f = field(rec, name), b = {0};
    check(avro_value_set_branch(&f, present ? 1 : 0, &b), name);
    if (!present)
        check(avro_value_set_null(&b), name);
    return b;
}

static avro_value_t elem(avro_value_t *arr)
{
    avro_value_t e = {0};
    check(avro_value_append(arr, &e, NULL), "append");
    return e;
}

static void set_arrays(avro_value_t *rec, const frow *r)
{
    avro_value_t a = field(rec, "embedding"), e;
    for (size_t i = 0; i < r->n_emb; i++)
        e = elem(&a), check(avro_value_set_float(&e, r->emb[i]), "embedding");
    a = field(rec, "weights");
    for (size_t i = 0; i < r->n_w; i++)
        e = elem(&a), check(avro_value_set_double(&e, r->w[i]), "weights");
    a = field(rec, "counts");
    for (size_t i = 0; i < r->n_c; i++)
        e = elem(&a), check(avro_value_set_int(&e, r->c[i]), "counts");
    a = field(rec, "ids");
    for (size_t i = 0; i < r->n_ids; i++)
        e = elem(&a), check(avro_value_set_long(&e, r->ids[i]), "ids");
    a = branch(rec, "history", r->has_history);
    for (size_t i = 0; r->has_history && i < r->n_hist; i++)
        e = elem(&a), check(avro_value_set_float(&e, r->hist[i]), "history");
}

static void set_nullables(avro_value_t *rec, const frow *r)
{
    avro_value_t b = branch(rec, "nickname", r->nickname != NULL);
    if (r->nickname)
        check(avro_value_set_string(&b, r->nickname), "nickname");
    b = branch(rec, "bonus", r->has_bonus);
    if (r->has_bonus)
        check(avro_value_set_double(&b, r->bonus), "bonus");
    b = branch(rec, "lucky", r->has_lucky);
    if (r->has_lucky)
        check(avro_value_set_long(&b, r->lucky), "lucky");
    b = branch(rec, "flag", r->has_flag);
    if (r->has_flag)
        check(avro_value_set_boolean(&b, r->flag), "flag");
    b = branch(rec, "plan", r->plan > 0);
    if (r->plan > 0)
        check(avro_value_set_enum(&b, r->plan - 1), "plan");
}

/* Encodes @p r (with the special values of some rows) into @p buf. */
static size_t encode(avro_value_iface_t *iface, const frow *r, char *buf,
                     size_t cap)
{
    avro_value_t rec, f;
    check(avro_generic_value_new(iface, &rec), "value");
    f = field(&rec, "active"),
    check(avro_value_set_boolean(&f, r->active), "b");
    f = field(&rec, "visits"), check(avro_value_set_int(&f, r->visits), "i");
    f = field(&rec, "total"), check(avro_value_set_long(&f, r->total), "l");
    /* user-2 carries the non-finite values, which print as null. */
    int special = strcmp(r->key, "user-2") == 0;
    f = field(&rec, "score");
    check(avro_value_set_float(&f, special ? NAN : r->score), "f");
    f = field(&rec, "ratio");
    check(avro_value_set_double(&f, special ? -INFINITY : r->ratio), "d");
    f = field(&rec, "name");
    check(avro_value_set_string_len(&f, r->name, r->name_len + 1), "s");
    f = field(&rec, "blob");
    check(avro_value_set_bytes(&f, (void *)(uintptr_t)r->blob, r->blob_len),
          "bytes");
    f = field(&rec, "tier"), check(avro_value_set_enum(&f, r->tier), "enum");
    f = field(&rec, "hash");
    check(avro_value_set_fixed(&f, (void *)(uintptr_t)r->hash, 4), "fixed");
    f = field(&rec, "last_seen");
    check(avro_value_set_long(&f, r->last_seen), "ts");
    f = field(&rec, "birthday");
    check(avro_value_set_int(&f, r->birthday), "date");
    set_arrays(&rec, r);
    if (special) {
        avro_value_t a = field(&rec, "weights"), e = elem(&a);
        check(avro_value_set_double(&e, NAN), "weights");
        e = elem(&a);
        check(avro_value_set_double(&e, INFINITY), "weights");
    }
    set_nullables(&rec, r);
    avro_writer_t w = avro_writer_memory(buf, (int64_t)cap);
    check(avro_value_write(w, &rec), "write");
    size_t n = (size_t)avro_writer_tell(w);
    avro_writer_free(w);
    avro_value_decref(&rec);
    return n;
}

static void put(fstore_batch_t *b, const fstore_table_t *t, const char *key,
                const char *val, size_t len, int32_t p, int64_t off, int64_t ts)
{
    char err[512] = "";
    fstore_err_t rc = fstore_batch_put(b, t, key, strlen(key), val, len, p, off,
                                       ts, err, sizeof err);
    if (rc)
        die(key, err[0] ? err : fstore_strerror(rc));
}

static const fstore_table_t *table(fstore_store_t *s, const char *name,
                                   const char *schema)
{
    const fstore_table_t *t = NULL;
    char err[512] = "";
    if (fstore_table_create(s, name, schema, FSTORE_FORMAT_AVRO, -1, &t, err,
                            sizeof err))
        die(name, err);
    return t;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mkstore DIR\n");
        return 2;
    }
    char err[512] = "";
    fstore_store_t *s = NULL;
    if (fstore_store_open(argv[1], NULL, &s, err, sizeof err))
        die(argv[1], err);
    const fstore_table_t *ft = table(s, "features", FEATURES);
    const fstore_table_t *ot = table(s, "other", OTHER);

    avro_schema_t schema;
    check(avro_schema_from_json_length(FEATURES, sizeof FEATURES - 1, &schema),
          "schema");
    avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
    fstore_batch_t *b = NULL;
    /* Two batches, so the update of user-1 lands in a later transaction. */
    char buf[4096];
    size_t nrows = sizeof rows / sizeof rows[0];
    for (size_t i = 0; i < nrows; i++) {
        if (i == 0 || i == 3) {
            if (b && fstore_batch_commit(b, err, sizeof err))
                die("commit", err);
            if (fstore_batch_begin(s, &b))
                die("batch", "cannot begin");
        }
        size_t n = encode(iface, &rows[i], buf, sizeof buf);
        put(b, ft, rows[i].key, buf, n, rows[i].partition, rows[i].offset,
            rows[i].ts);
        if (i == 2) /* the tombstone of "gone" */
            put(b, ft, "gone", NULL, 0, 0, 3, 1700000000700);
    }
    /* "other": x = 12345 (zig-zag varint), partition 3 offset 99. */
    static const char x[] = {(char)0xf2, (char)0xc0, 0x01};
    put(b, ot, "only", x, sizeof x, 3, 99, 1700000009000);
    if (fstore_batch_commit(b, err, sizeof err))
        die("commit", err);
    avro_value_iface_decref(iface);
    avro_schema_decref(schema);
    fstore_store_close(s);
    return 0;
}
