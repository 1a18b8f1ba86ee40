/* The Avro writer of `fstore export`; see export_avro.h. */
#include "export_avro.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <avro.h>
#include <jansson.h>

#include "common/json.h"

/* Rows are buffered into blocks of this size before compression; one
 * encoded row must fit in a block (Kafka's default record limit is 1 MiB). */
#define EXPORT_AVRO_BLOCK (8u << 20)

/* The row metadata fields, after the columns. */
static const char *const META_FIELDS[] = {"__key", "__timestamp", "__partition",
                                          "__offset"};
#define NMETA 4

struct export_avro {
    const fstore_table_t *t;
    int ncols, key_bytes;
    avro_schema_t schema;
    avro_value_iface_t *iface;
    avro_value_t rec;
    avro_file_writer_t fw;
    int *null_branch;  /* per column: the union's null branch, or -1 */
    int *value_branch; /* per column: the union's value branch, or -1 */
    char *key;         /* NUL-terminated copy of a string key */
    size_t key_cap;
};

static int fail(char *err, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

/* Builds the export schema: the serving record's name, namespace and
 * fields (logical types, defaults and docs kept verbatim), then the row
 * metadata. @return the JSON text (free()) or NULL + message. */
static char *export_schema_json(const fstore_table_t *t, int key_bytes,
                                char *err, size_t n)
{
    json_error_t jerr;
    json_t *serving = json_loads(fstore_table_schema(t), 0, &jerr);
    json_t *fields = serving ? json_object_get(serving, "fields") : NULL;
    if (!json_is_array(fields)) {
        fail(err, n, "the serving schema of table %s is not a record: %s",
             fstore_table_name(t), serving ? "no fields" : jerr.text);
        json_decref(serving);
        return NULL;
    }
    for (int m = 0; m < NMETA; m++)
        if (fstore_table_column_index(t, META_FIELDS[m]) >= 0) {
            fail(err, n,
                 "column %s of table %s clashes with the row metadata "
                 "field of that name; export it as jsonl or csv",
                 META_FIELDS[m], fstore_table_name(t));
            json_decref(serving);
            return NULL;
        }
    json_t *out = json_object(), *outf = json_deep_copy(fields);
    json_object_set_new(out, "type", json_string("record"));
    json_object_set(out, "name", json_object_get(serving, "name"));
    json_t *ns = json_object_get(serving, "namespace");
    if (ns)
        json_object_set(out, "namespace", ns);
    json_array_append_new(outf, json_pack("{s:s, s:s}", "name", "__key", "type",
                                          key_bytes ? "bytes" : "string"));
    json_array_append_new(outf, json_pack("{s:s, s:{s:s, s:s}}", "name",
                                          "__timestamp", "type", "type", "long",
                                          "logicalType", "timestamp-millis"));
    json_array_append_new(
        outf, json_pack("{s:s, s:s}", "name", "__partition", "type", "int"));
    json_array_append_new(
        outf, json_pack("{s:s, s:s}", "name", "__offset", "type", "long"));
    json_object_set_new(out, "fields", outf);
    char *text = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(out);
    json_decref(serving);
    if (!text)
        fail(err, n, "out of memory");
    return text;
}

/* 16 bytes that mark block boundaries; unpredictable so that row data does
 * not contain them by chance. */
static void sync_marker(unsigned char sync[16])
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    ssize_t got = fd >= 0 ? read(fd, sync, 16) : -1;
    if (fd >= 0)
        close(fd);
    if (got == 16)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec +
                 ((uint64_t)getpid() << 40);
    for (int i = 0; i < 16; i++) { /* splitmix64 */
        uint64_t z = (x += 0x9e3779b97f4a7c15u);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        sync[i] = (unsigned char)(z ^ (z >> 31));
    }
}

/* Writes the container header: magic, the metadata map (avro.schema,
 * avro.codec) and the sync marker. avro-c's own header would carry its
 * re-serialised schema, which drops logical types and defaults; appending
 * with avro_file_writer_open_bs() keeps ours. */
static int write_header(const char *path, const char *schema_json,
                        const char *codec, char *err, size_t n)
{
    avro_schema_t bytes = avro_schema_bytes();
    avro_schema_t map = avro_schema_map(bytes);
    avro_value_iface_t *iface = avro_generic_class_from_schema(map);
    avro_value_t meta = {0}, v = {0};
    int have_meta = iface && !avro_generic_value_new(iface, &meta);
    int rc = !have_meta ||
             avro_value_add(&meta, "avro.schema", &v, NULL, NULL) ||
             avro_value_set_bytes(&v, (void *)(uintptr_t)schema_json,
                                  strlen(schema_json)) ||
             avro_value_add(&meta, "avro.codec", &v, NULL, NULL) ||
             avro_value_set_bytes(&v, (void *)(uintptr_t)codec, strlen(codec));
    if (rc)
        fail(err, n, "avro-c: %s", avro_strerror());
    FILE *fp = rc ? NULL : fopen(path, "wb");
    if (!rc && !fp)
        rc = fail(err, n, "cannot create %s: %s", path, strerror(errno));
    if (fp) {
        unsigned char sync[16];
        sync_marker(sync);
        avro_writer_t w = NULL;
        errno = 0;
        if (fwrite("Obj\1", 1, 4, fp) != 4 ||
            !(w = avro_writer_file_fp(fp, 0)) || avro_value_write(w, &meta))
            rc = -1;
        if (w) {
            avro_writer_flush(w);
            avro_writer_free(w);
        }
        if (fwrite(sync, 1, 16, fp) != 16)
            rc = -1;
        if (fclose(fp) != 0)
            rc = -1;
        if (rc)
            fail(err, n, "cannot write %s: %s", path,
                 errno ? strerror(errno) : avro_strerror());
    }
    if (have_meta)
        avro_value_decref(&meta);
    if (iface)
        avro_value_iface_decref(iface);
    avro_schema_decref(map);
    avro_schema_decref(bytes);
    return rc ? -1 : 0;
}

/* Finds the null and value branches of each nullable column's union. */
static int find_branches(export_avro *a, char *err, size_t n)
{
    for (int c = 0; c < a->ncols; c++) {
        avro_schema_t f = avro_schema_record_field_get_by_index(a->schema, c);
        a->null_branch[c] = a->value_branch[c] = -1;
        if (!is_avro_union(f))
            continue;
        for (size_t b = 0; b < avro_schema_union_size(f); b++) {
            avro_schema_t s = avro_schema_union_branch(f, (int)b);
            if (is_avro_null(s))
                a->null_branch[c] = (int)b;
            else if (a->value_branch[c] < 0)
                a->value_branch[c] = (int)b;
            else
                return fail(err, n,
                            "column %s: a union of more than null "
                            "and one type cannot be exported",
                            fstore_table_column_name(a->t, c));
        }
    }
    return 0;
}

export_avro *export_avro_create(const fstore_table_t *t, const char *path,
                                const char *codec, int key_bytes, char *err,
                                size_t n)
{
    export_avro *a = calloc(1, sizeof *a);
    char *json = a ? export_schema_json(t, key_bytes, err, n) : NULL;
    if (!json) {
        if (!a)
            fail(err, n, "out of memory");
        free(a);
        return NULL;
    }
    a->t = t;
    a->key_bytes = key_bytes;
    a->ncols = fstore_table_column_count(t);
    int rc = avro_schema_from_json_length(json, strlen(json), &a->schema);
    if (rc) {
        fail(err, n, "avro-c refuses the export schema: %s", avro_strerror());
        a->schema = NULL;
    } else if ((int)avro_schema_record_size(a->schema) != a->ncols + NMETA) {
        rc = fail(err, n,
                  "the serving schema has %zu fields, the table %d "
                  "columns",
                  avro_schema_record_size(a->schema) - NMETA, a->ncols);
    }
    a->null_branch = calloc((size_t)a->ncols + 1, sizeof(int));
    a->value_branch = calloc((size_t)a->ncols + 1, sizeof(int));
    if (!rc && (!a->null_branch || !a->value_branch))
        rc = fail(err, n, "out of memory");
    if (!rc)
        rc = find_branches(a, err, n);
    if (!rc && !(a->iface = avro_generic_class_from_schema(a->schema)))
        rc = fail(err, n, "avro-c: %s", avro_strerror());
    if (!rc && avro_generic_value_new(a->iface, &a->rec)) {
        a->rec.self = NULL;
        rc = fail(err, n, "avro-c: %s", avro_strerror());
    }
    if (!rc)
        rc = write_header(path, json, codec, err, n);
    if (!rc && avro_file_writer_open_bs(path, &a->fw, EXPORT_AVRO_BLOCK)) {
        a->fw = NULL;
        rc = fail(err, n, "cannot write %s: %s", path, avro_strerror());
    }
    free(json);
    if (rc) {
        export_avro_close(a, NULL, 0);
        return NULL;
    }
    return a;
}

/* Appends the elements of array column @p col to Avro array @p arr. */
static fstore_err_t put_array(export_avro *a, const fstore_row_t *row, int col,
                              int type, avro_value_t *arr)
{
    const void *data;
    size_t count;
    fstore_err_t err = fstore_row_array(a->t, row, col, &data, &count);
    if (err)
        return err;
    int size = type == FSTORE_TYPE_ARRAY_FLOAT || type == FSTORE_TYPE_ARRAY_INT
                   ? 4
                   : 8;
    const unsigned char *p = data;
    for (size_t i = 0; i < count; i++, p += size) {
        avro_value_t e = {0};
        uint64_t u = tool_load_le(p, size);
        int rc = avro_value_append(arr, &e, NULL);
        if (!rc && type == FSTORE_TYPE_ARRAY_FLOAT) {
            uint32_t u32 = (uint32_t)u;
            float f;
            memcpy(&f, &u32, 4);
            rc = avro_value_set_float(&e, f);
        } else if (!rc && type == FSTORE_TYPE_ARRAY_DOUBLE) {
            double d;
            memcpy(&d, &u, 8);
            rc = avro_value_set_double(&e, d);
        } else if (!rc && type == FSTORE_TYPE_ARRAY_INT)
            rc = avro_value_set_int(&e, (int32_t)(uint32_t)u);
        else if (!rc)
            rc = avro_value_set_long(&e, (int64_t)u);
        if (rc)
            return FSTORE_ERR_NO_MEMORY;
    }
    return FSTORE_OK;
}

/* Sets Avro value @p v from non-null column @p col. avro-c's setters fail
 * only when out of memory: the schema was built from the column types. */
static fstore_err_t put_value(export_avro *a, const fstore_row_t *row, int col,
                              avro_value_t *v)
{
    const fstore_table_t *t = a->t;
    int type = fstore_table_column_type(t, col), rc = 0;
    fstore_err_t err;
    union {
        int b;
        int32_t i;
        int64_t l;
        float f;
        double d;
    } x;
    const char *data;
    size_t len;
    switch (type) {
    case FSTORE_TYPE_BOOLEAN:
        if (!(err = fstore_row_bool(t, row, col, &x.b)))
            rc = avro_value_set_boolean(v, x.b);
        break;
    case FSTORE_TYPE_INT:
        if (!(err = fstore_row_int(t, row, col, &x.i)))
            rc = avro_value_set_int(v, x.i);
        break;
    case FSTORE_TYPE_LONG:
        if (!(err = fstore_row_long(t, row, col, &x.l)))
            rc = avro_value_set_long(v, x.l);
        break;
    case FSTORE_TYPE_FLOAT:
        if (!(err = fstore_row_float(t, row, col, &x.f)))
            rc = avro_value_set_float(v, x.f);
        break;
    case FSTORE_TYPE_DOUBLE:
        if (!(err = fstore_row_double(t, row, col, &x.d)))
            rc = avro_value_set_double(v, x.d);
        break;
    case FSTORE_TYPE_ENUM: /* the serving schema's symbol index */
        if (!(err = fstore_row_int(t, row, col, &x.i)))
            rc = avro_value_set_enum(v, x.i);
        break;
    case FSTORE_TYPE_STRING: /* NUL-terminated, which avro-c counts */
        if (!(err = fstore_row_bytes(t, row, col, &data, &len)))
            rc = avro_value_set_string_len(v, data, len + 1);
        break;
    case FSTORE_TYPE_BYTES:
        if (!(err = fstore_row_bytes(t, row, col, &data, &len)))
            rc = avro_value_set_bytes(v, (void *)(uintptr_t)data, len);
        break;
    case FSTORE_TYPE_FIXED:
        if (!(err = fstore_row_bytes(t, row, col, &data, &len)))
            rc = avro_value_set_fixed(v, (void *)(uintptr_t)data, len);
        break;
    case FSTORE_TYPE_ARRAY_FLOAT:
    case FSTORE_TYPE_ARRAY_DOUBLE:
    case FSTORE_TYPE_ARRAY_INT:
    case FSTORE_TYPE_ARRAY_LONG: return put_array(a, row, col, type, v);
    default: return FSTORE_ERR_TYPE; /* a type newer than this tool */
    }
    return err ? err : rc ? FSTORE_ERR_NO_MEMORY : FSTORE_OK;
}

/* Sets field @p col of the record, selecting the union branch. */
static int put_column(export_avro *a, const fstore_row_t *row, int col,
                      char *err, size_t n)
{
    const char *name = fstore_table_column_name(a->t, col);
    avro_value_t f = {0}, b = {0};
    if (avro_value_get_by_index(&a->rec, (size_t)col, &f, NULL))
        return fail(err, n, "avro-c: %s", avro_strerror());
    int is_null = fstore_row_is_null(a->t, row, col) == 1;
    if (is_null && a->null_branch[col] < 0)
        return fail(err, n, "column %s is null but not nullable", name);
    int branch = is_null ? a->null_branch[col] : a->value_branch[col];
    if (branch >= 0) {
        if (avro_value_set_branch(&f, branch, &b))
            return fail(err, n, "avro-c: %s", avro_strerror());
        f = b;
    }
    if (is_null)
        return avro_value_set_null(&f) ? fail(err, n, "out of memory") : 0;
    fstore_err_t e = put_value(a, row, col, &f);
    if (e)
        return fail(err, n, "column %s: %s (%s)", name, fstore_strerror(e),
                    fstore_err_name(e));
    return 0;
}

/* Sets the row metadata fields. */
static int put_meta(export_avro *a, const char *key, size_t key_len,
                    const fstore_row_t *row, char *err, size_t n)
{
    avro_value_t f[NMETA];
    for (int m = 0; m < NMETA; m++) {
        memset(&f[m], 0, sizeof f[m]);
        if (avro_value_get_by_index(&a->rec, (size_t)(a->ncols + m), &f[m],
                                    NULL))
            return fail(err, n, "avro-c: %s", avro_strerror());
    }
    int rc;
    if (a->key_bytes)
        rc = avro_value_set_bytes(&f[0], (void *)(uintptr_t)key, key_len);
    else {
        if (!json_utf8_valid(key, key_len))
            return fail(err, n,
                        "a key is not valid UTF-8, so it cannot be "
                        "an Avro string; use --key-type bytes");
        if (key_len + 1 > a->key_cap) {
            char *k = realloc(a->key, key_len + 1);
            if (!k)
                return fail(err, n, "out of memory");
            a->key = k;
            a->key_cap = key_len + 1;
        }
        memcpy(a->key, key, key_len);
        a->key[key_len] = '\0';
        rc = avro_value_set_string_len(&f[0], a->key, key_len + 1);
    }
    rc = rc || avro_value_set_long(&f[1], fstore_row_timestamp(row)) ||
         avro_value_set_int(&f[2], fstore_row_partition(row)) ||
         avro_value_set_long(&f[3], fstore_row_offset(row));
    return rc ? fail(err, n, "out of memory") : 0;
}

int export_avro_row(export_avro *a, const void *key, size_t key_len,
                    const fstore_row_t *row, char *err, size_t n)
{
    avro_value_reset(&a->rec);
    for (int c = 0; c < a->ncols; c++)
        if (put_column(a, row, c, err, n))
            return -1;
    if (put_meta(a, key, key_len, row, err, n))
        return -1;
    size_t size = 0;
    if (!avro_value_sizeof(&a->rec, &size) && size > EXPORT_AVRO_BLOCK)
        return fail(err, n,
                    "a row is %zu bytes encoded, more than the %u "
                    "bytes of an Avro block",
                    size, EXPORT_AVRO_BLOCK);
    if (avro_file_writer_append_value(a->fw, &a->rec))
        return fail(err, n, "cannot write: %s", avro_strerror());
    return 0;
}

int export_avro_close(export_avro *a, char *err, size_t n)
{
    if (!a)
        return 0;
    int rc = 0;
    if (a->fw && avro_file_writer_close(a->fw))
        rc = fail(err, n, "cannot write: %s", avro_strerror());
    if (a->rec.self)
        avro_value_decref(&a->rec);
    if (a->iface)
        avro_value_iface_decref(a->iface);
    if (a->schema)
        avro_schema_decref(a->schema);
    free(a->null_branch);
    free(a->value_branch);
    free(a->key);
    free(a);
    return rc;
}
