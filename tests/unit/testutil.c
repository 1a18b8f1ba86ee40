/* Shared helpers of the unit suites; see testutil.h. */
#define _GNU_SOURCE
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "support/files.h"

/* ---- temporary directories ---------------------------------------------- */

char *tu_tmpdir(void)
{
    char *dir = strdup("/tmp/fstore-unit-XXXXXX");
    cr_assert_not_null(dir);
    cr_assert_not_null(mkdtemp(dir), "mkdtemp: %s", strerror(errno));
    return dir;
}

void tu_rmtree(const char *path)
{
    if (path != NULL)
        sup_rm_tree(path);
}

char *tu_path(const char *dir, const char *name)
{
    char *p = NULL;
    cr_assert_geq(asprintf(&p, "%s/%s", dir, name), 0);
    return p;
}

void tu_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "fopen %s: %s", path, strerror(errno));
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

/* ---- conf and store ------------------------------------------------------ */

fstore_conf_t *tu_conf(const char *name, ...)
{
    fstore_conf_t *conf = fstore_conf_new();
    cr_assert_not_null(conf);
    va_list ap;
    va_start(ap, name);
    for (const char *n = name; n != NULL; n = va_arg(ap, const char *)) {
        const char *v = va_arg(ap, const char *);
        char err[256] = "";
        fstore_err_t rc = fstore_conf_set(conf, n, v, err, sizeof err);
        cr_assert_eq(rc, FSTORE_OK, "conf_set %s=%s: %s (%s)", n, v,
                     fstore_err_name(rc), err);
    }
    va_end(ap);
    return conf;
}

fstore_store_t *tu_store_open(const char *dir, const fstore_conf_t *conf)
{
    fstore_store_t *s = NULL;
    char err[512] = "";
    fstore_err_t rc = fstore_store_open(dir, conf, &s, err, sizeof err);
    cr_assert_eq(rc, FSTORE_OK, "store_open %s: %s (%s)", dir,
                 fstore_err_name(rc), err);
    cr_assert_not_null(s);
    return s;
}

fstore_store_t *tu_store_open_ro(const char *dir)
{
    fstore_conf_t *conf = tu_conf("store.read_only", "true", NULL);
    fstore_store_t *s = tu_store_open(dir, conf);
    fstore_conf_destroy(conf);
    return s;
}

const fstore_table_t *tu_table(fstore_store_t *store, const char *name,
                               const char *schema_json)
{
    const fstore_table_t *t = NULL;
    char err[512] = "";
    fstore_err_t rc =
        fstore_table_create(store, name, schema_json, FSTORE_FORMAT_CONFLUENT,
                            -1, &t, err, sizeof err);
    cr_assert_eq(rc, FSTORE_OK, "table_create %s: %s (%s)\nschema: %s", name,
                 fstore_err_name(rc), err, schema_json);
    cr_assert_not_null(t);
    return t;
}

void tu_register(fstore_store_t *store, int32_t id, const char *json)
{
    char err[512] = "";
    fstore_err_t rc = fstore_schema_register(store, id, json, err, sizeof err);
    cr_assert_eq(rc, FSTORE_OK, "schema_register %d: %s (%s)\nschema: %s",
                 (int)id, fstore_err_name(rc), err, json);
}

char *tu_record_schema(const char *fields)
{
    char *p = NULL;
    cr_assert_geq(
        asprintf(&p, "{\"type\":\"record\",\"name\":\"R\",\"fields\":[%s]}",
                 fields),
        0);
    return p;
}

/* ---- byte buffers ----------------------------------------------------------
 */

void tu_buf_free(tu_buf_t *b)
{
    if (b != NULL) {
        free(b->data);
        b->data = NULL;
        b->len = 0;
    }
}

tu_buf_t tu_frame(int32_t id, const void *payload, size_t len)
{
    tu_buf_t b;
    b.len = len + 5;
    b.data = malloc(b.len);
    cr_assert_not_null(b.data);
    uint32_t u = (uint32_t)id;
    b.data[0] = 0;
    b.data[1] = (uint8_t)(u >> 24);
    b.data[2] = (uint8_t)(u >> 16);
    b.data[3] = (uint8_t)(u >> 8);
    b.data[4] = (uint8_t)u;
    if (len > 0)
        memcpy(b.data + 5, payload, len);
    return b;
}

/* ---- avro-c reference encoder ---------------------------------------------
 */

void tu_rec_init(tu_rec_t *r, const char *json)
{
    memset(r, 0, sizeof *r);
    int rc = avro_schema_from_json_length(json, strlen(json), &r->schema);
    cr_assert_eq(rc, 0, "avro-c cannot parse %s: %s", json, avro_strerror());
    r->iface = avro_generic_class_from_schema(r->schema);
    cr_assert_not_null(r->iface, "avro-c class: %s", avro_strerror());
    cr_assert_eq(avro_generic_value_new(r->iface, &r->value), 0);
}

void tu_rec_free(tu_rec_t *r)
{
    avro_value_decref(&r->value);
    avro_value_iface_decref(r->iface);
    avro_schema_decref(r->schema);
    memset(r, 0, sizeof *r);
}

avro_value_t tu_field(tu_rec_t *r, const char *name)
{
    avro_value_t f;
    cr_assert_eq(avro_value_get_by_name(&r->value, name, &f, NULL), 0,
                 "no field %s", name);
    return f;
}

static int union_branch(avro_value_t *u, int want_null)
{
    avro_schema_t us = avro_value_get_schema(u);
    cr_assert(is_avro_union(us), "not a union");
    size_t n = avro_schema_union_size(us);
    for (size_t i = 0; i < n; i++) {
        int isnull = is_avro_null(avro_schema_union_branch(us, (int)i));
        if (isnull == want_null)
            return (int)i;
    }
    cr_assert_fail("union has no %s branch", want_null ? "null" : "non-null");
    return -1;
}

void tu_set_null(avro_value_t *u)
{
    avro_value_t br;
    cr_assert_eq(avro_value_set_branch(u, union_branch(u, 1), &br), 0);
    cr_assert_eq(avro_value_set_null(&br), 0);
}

avro_value_t tu_nonnull(avro_value_t *u)
{
    avro_value_t br;
    cr_assert_eq(avro_value_set_branch(u, union_branch(u, 0), &br), 0);
    return br;
}

tu_buf_t tu_encode(avro_value_t *v)
{
    size_t size = 0;
    cr_assert_eq(avro_value_sizeof(v, &size), 0, "sizeof: %s", avro_strerror());
    tu_buf_t b;
    b.data = malloc(size + 1);
    cr_assert_not_null(b.data);
    avro_writer_t w =
        avro_writer_memory((const char *)b.data, (int64_t)size + 1);
    int rc = avro_value_write(w, v);
    cr_assert_eq(rc, 0, "avro_value_write: %s", avro_strerror());
    b.len = (size_t)avro_writer_tell(w);
    avro_writer_free(w);
    cr_assert_eq(b.len, size);
    return b;
}

tu_buf_t tu_encode_framed(tu_rec_t *r, int32_t id)
{
    tu_buf_t raw = tu_encode(&r->value);
    tu_buf_t framed = tu_frame(id, raw.data, raw.len);
    tu_buf_free(&raw);
    return framed;
}

/* ---- batches
 * ----------------------------------------------------------------- */

fstore_batch_t *tu_begin(fstore_store_t *store)
{
    fstore_batch_t *b = NULL;
    fstore_err_t rc = fstore_batch_begin(store, &b);
    cr_assert_eq(rc, FSTORE_OK, "batch_begin: %s", fstore_err_name(rc));
    cr_assert_not_null(b);
    return b;
}

void tu_commit(fstore_batch_t *b)
{
    char err[512] = "";
    fstore_err_t rc = fstore_batch_commit(b, err, sizeof err);
    cr_assert_eq(rc, FSTORE_OK, "batch_commit: %s (%s)", fstore_err_name(rc),
                 err);
}

void tu_batch_put(fstore_batch_t *b, const fstore_table_t *t, const char *key,
                  const tu_buf_t *value, int32_t partition, int64_t offset,
                  int64_t timestamp_ms)
{
    char err[512] = "";
    fstore_err_t rc =
        fstore_batch_put(b, t, key, strlen(key), value ? value->data : NULL,
                         value ? value->len : 0, partition, offset,
                         timestamp_ms, err, sizeof err);
    cr_assert_eq(rc, FSTORE_OK, "batch_put %s: %s (%s)", key,
                 fstore_err_name(rc), err);
}

void tu_put1(fstore_store_t *store, const fstore_table_t *t, const char *key,
             const tu_buf_t *value, int32_t partition, int64_t offset)
{
    fstore_batch_t *b = tu_begin(store);
    tu_batch_put(b, t, key, value, partition, offset, 1000 + offset);
    tu_commit(b);
}

fstore_err_t tu_put_rc(fstore_store_t *store, const fstore_table_t *t,
                       const void *key, size_t key_len, const void *value,
                       size_t value_len, int64_t offset, char *errstr,
                       size_t errstr_size)
{
    fstore_batch_t *b = tu_begin(store);
    fstore_err_t rc =
        fstore_batch_put(b, t, key, key_len, value, value_len, 0, offset,
                         1000 + offset, errstr, errstr_size);
    tu_commit(b);
    return rc;
}

fstore_err_t tu_get(fstore_reader_t *rd, const fstore_table_t *t,
                    const char *key, const fstore_row_t **rowp)
{
    cr_assert_eq(fstore_reader_refresh(rd), FSTORE_OK);
    return fstore_get(rd, t, key, strlen(key), rowp);
}

/* ---- the simple table
 * -------------------------------------------------------- */

const char *const TU_SIMPLE_SCHEMA =
    "{\"type\":\"record\",\"name\":\"Simple\",\"namespace\":\"fstore.test\","
    "\"fields\":["
    "{\"name\":\"i\",\"type\":\"int\"},"
    "{\"name\":\"l\",\"type\":\"long\"},"
    "{\"name\":\"f\",\"type\":\"float\"},"
    "{\"name\":\"d\",\"type\":\"double\"},"
    "{\"name\":\"s\",\"type\":\"string\"},"
    "{\"name\":\"b\",\"type\":\"boolean\"},"
    "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"E\","
    "\"symbols\":[\"E0\",\"E1\",\"E2\",\"E3\"]}},"
    "{\"name\":\"a\",\"type\":{\"type\":\"array\",\"items\":\"float\"}},"
    "{\"name\":\"n\",\"type\":[\"null\",\"long\"]}"
    "]}";

const fstore_table_t *tu_simple_table(fstore_store_t *store, const char *name)
{
    tu_register(store, TU_SIMPLE_ID, TU_SIMPLE_SCHEMA);
    return tu_table(store, name, TU_SIMPLE_SCHEMA);
}

tu_buf_t tu_simple_value(int64_t n, size_t alen)
{
    /* The parsed schema and its class are kept for the process (thousands
     * of rows must not re-parse it); the value is fresh each time, so
     * nothing a leak checker could call lost outlives the call. */
    static avro_schema_t schema;
    static avro_value_iface_t *iface;
    if (iface == NULL) {
        const char *js = TU_SIMPLE_SCHEMA;
        cr_assert_eq(avro_schema_from_json_length(js, strlen(js), &schema),
                     0);
        iface = avro_generic_class_from_schema(schema);
        cr_assert_not_null(iface);
    }
    tu_rec_t rec = {schema, iface, {NULL, NULL}};
    cr_assert_eq(avro_generic_value_new(iface, &rec.value), 0);
    tu_rec_t *r = &rec;
    avro_value_t f = tu_field(r, "i");
    avro_value_set_int(&f, (int32_t)n);
    f = tu_field(r, "l");
    avro_value_set_long(&f, n);
    f = tu_field(r, "f");
    avro_value_set_float(&f, (float)n);
    f = tu_field(r, "d");
    avro_value_set_double(&f, (double)n);
    char s[32];
    snprintf(s, sizeof s, "v%" PRId64, n);
    f = tu_field(r, "s");
    avro_value_set_string(&f, s);
    f = tu_field(r, "b");
    avro_value_set_boolean(&f, (int)(n & 1));
    f = tu_field(r, "e");
    avro_value_set_enum(&f, (int)(((n % 4) + 4) % 4));
    f = tu_field(r, "a");
    for (size_t k = 0; k < alen; k++) {
        avro_value_t el;
        cr_assert_eq(avro_value_append(&f, &el, NULL), 0);
        avro_value_set_float(&el, (float)(n + (int64_t)k));
    }
    f = tu_field(r, "n");
    if (n % 5 == 0) {
        tu_set_null(&f);
    } else {
        avro_value_t br = tu_nonnull(&f);
        avro_value_set_long(&br, n);
    }
    tu_buf_t out = tu_encode_framed(r, TU_SIMPLE_ID);
    avro_value_decref(&r->value);
    return out;
}

void tu_simple_put(fstore_batch_t *b, const fstore_table_t *t, const char *key,
                   int64_t n, size_t alen, int32_t partition, int64_t offset,
                   int64_t timestamp_ms)
{
    tu_buf_t v = tu_simple_value(n, alen);
    tu_batch_put(b, t, key, &v, partition, offset, timestamp_ms);
    tu_buf_free(&v);
}

int tu_simple_check_try(const fstore_table_t *t, const fstore_row_t *row,
                        int64_t *n_out)
{
    int64_t n;
    if (fstore_row_long(t, row, 1, &n) != FSTORE_OK)
        return 2;
    int32_t i;
    if (fstore_row_int(t, row, 0, &i) != FSTORE_OK || i != (int32_t)n)
        return 1;
    float f;
    if (fstore_row_float(t, row, 2, &f) != FSTORE_OK || f != (float)n)
        return 3;
    double d;
    if (fstore_row_double(t, row, 3, &d) != FSTORE_OK || d != (double)n)
        return 4;
    const char *s;
    size_t slen;
    char want[32];
    snprintf(want, sizeof want, "v%" PRId64, n);
    if (fstore_row_bytes(t, row, 4, &s, &slen) != FSTORE_OK ||
        slen != strlen(want) || memcmp(s, want, slen) != 0 || s[slen] != '\0')
        return 5;
    int bv;
    if (fstore_row_bool(t, row, 5, &bv) != FSTORE_OK || bv != (int)(n & 1))
        return 6;
    int32_t e;
    if (fstore_row_int(t, row, 6, &e) != FSTORE_OK ||
        e != (int32_t)(((n % 4) + 4) % 4))
        return 7;
    const void *adata;
    size_t acount;
    if (fstore_row_array(t, row, 7, &adata, &acount) != FSTORE_OK)
        return 8;
    for (size_t k = 0; k < acount; k++) {
        float el;
        memcpy(&el, (const char *)adata + 4 * k, 4);
        if (el != (float)(n + (int64_t)k))
            return 8;
    }
    int64_t nv = 0;
    fstore_err_t rc = fstore_row_long(t, row, 8, &nv);
    if (n % 5 == 0 ? rc != FSTORE_NULL : (rc != FSTORE_OK || nv != n))
        return 9;
    if (fstore_row_verify(row) != FSTORE_OK)
        return 20;
    *n_out = n;
    return 0;
}

void tu_simple_assert(const fstore_table_t *t, const fstore_row_t *row,
                      int64_t n, size_t alen)
{
    cr_assert_not_null(row);
    int64_t got = -1;
    int bad = tu_simple_check_try(t, row, &got);
    cr_assert_eq(bad, 0, "row for %" PRId64 " is not whole: column %d", n,
                 bad - 1);
    cr_assert_eq(got, n, "row holds %" PRId64 ", expected %" PRId64, got, n);
    const void *adata;
    size_t acount = 0;
    cr_assert_eq(fstore_row_array(t, row, 7, &adata, &acount), FSTORE_OK);
    cr_assert_eq(acount, alen);
}

int tu_count_prefixed(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    size_t len = strlen(prefix);
    for (struct dirent *e; (e = readdir(d));)
        n += strncmp(e->d_name, prefix, len) == 0;
    closedir(d);
    return n;
}
