/*
 * libFuzzer target: aggregation specs (`fstore aggregate --spec`), parsed
 * by fs_agg_spec_parse, and the output schema a parsed spec derives.
 *
 * A spec is a file a user writes: untrusted text. The first input byte
 * picks how the spec meets its events' schema (fuzz_agg_spec.h: given, or
 * read from a file the spec names, in a folder of this target's); the
 * rest, as a C string, is the spec. In the file mode, inputs holding '/'
 * or '\' are skipped, so a spec can name only the folder's files (a
 * fuzzer must not read /dev/stdin).
 *
 * What must hold. Parsing returns FSTORE_OK with a spec, or FSTORE_ERR_CONF
 * (FSTORE_ERR_NO_MEMORY) with no spec and a message "spec: ..." naming
 * the mistake. A parsed spec is valid: every string present and not empty,
 * the output name an Avro name, at least one window, windows sorted by
 * size with no two of one size, each hop dividing its window, each window's
 * tile count size / hop + 1 and at most FS_AGG_MAX_TILES in all, window
 * names lower case; at least one feature, each with an Avro name, count
 * without a field, the others with a field of the events (numeric for
 * sum/mean/min/max) whose column and slot agree with the spec's numeric
 * fields and last values; the time field a long of milliseconds. Its
 * output schema (fs_agg_output_schema) is a record of the output name that
 * avro-c parses, with the fields docs/aggregate.md gives in that order,
 * each last feature's of ["null", its field's own type], and that compiles
 * into a row layout (what `fstore tail` serves). An
 * entity of two events (fs_agg_event_from_json of values of the events'
 * types) encodes to a record (fs_agg_encode) that avro-c reads with that
 * schema to its end, with the counts, event_time and as_of expected; so
 * does an entity without events. Anything else (a crash, a sanitizer
 * report, a leak) is a bug.
 *
 * Internal API (agg_spec.h, agg_output.h, agg_event.h): linked with the
 * static library. tests/fuzz/replay.c links this same file to replay
 * corpora as ordinary tests, so it builds with gcc too.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <avro.h>
#include <jansson.h>

#include "agg_event.h"
#include "agg_output.h"
#include "fuzz_agg_spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define T0 INT64_C(1700000000000)

static char g_dir[64]; /* the FUZZ_SPEC_FILES folder */

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_agg_spec: %s%s%s\n", what, detail ? ": " : "",
            detail ? detail : "");
    abort();
}

static void cleanup(void)
{
    char path[sizeof g_dir + 64];
    for (size_t i = 0; i < FUZZ_SPEC_NFILES; i++) {
        snprintf(path, sizeof path, "%s/%s", g_dir, FUZZ_SPEC_FILES_LIST[i][0]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/dir.avsc", g_dir);
    rmdir(path);
    rmdir(g_dir);
}

static void setup(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/fstore-fuzz-spec-XXXXXX",
             tmp != NULL && strlen(tmp) < 30 ? tmp : "/tmp");
    if (mkdtemp(g_dir) == NULL)
        die("mkdtemp", g_dir);
    atexit(cleanup);
    char path[sizeof g_dir + 64];
    for (size_t i = 0; i < FUZZ_SPEC_NFILES; i++) {
        snprintf(path, sizeof path, "%s/%s", g_dir, FUZZ_SPEC_FILES_LIST[i][0]);
        FILE *f = fopen(path, "wb");
        if (f == NULL || fputs(FUZZ_SPEC_FILES_LIST[i][1], f) < 0 ||
            fclose(f) != 0)
            die("cannot write", path);
    }
    snprintf(path, sizeof path, "%s/dir.avsc", g_dir);
    if (mkdir(path, 0700) != 0)
        die("cannot make", path);
}

static int avro_name_ok(const char *n)
{
    if (n == NULL ||
        !((*n >= 'A' && *n <= 'Z') || (*n >= 'a' && *n <= 'z') || *n == '_'))
        return 0;
    for (; *n; n++)
        if (!((*n >= 'A' && *n <= 'Z') || (*n >= 'a' && *n <= 'z') ||
              (*n >= '0' && *n <= '9') || *n == '_'))
            return 0;
    return 1;
}

static int nonempty(const char *s)
{
    return s != NULL && s[0] != '\0';
}

static int numeric(const fs_col *c)
{
    return c->type == FSTORE_TYPE_INT || c->type == FSTORE_TYPE_LONG ||
           c->type == FSTORE_TYPE_FLOAT || c->type == FSTORE_TYPE_DOUBLE;
}

/* The column of field name in the events, checked against the spec's. */
static void check_col(const fs_agg_spec *s, const char *field, int col)
{
    if (s->events == NULL) {
        if (col != -1)
            die("a column without an events schema", field);
        return;
    }
    if (col < 0 || col >= s->events->ncols ||
        strcmp(s->events->cols[col].name, field) != 0)
        die("a field's column is not the events' column of that name", field);
}

static void check_spec(const fs_agg_spec *s)
{
    if (!nonempty(s->input_topic) || !nonempty(s->output_topic) ||
        !nonempty(s->changelog))
        die("a topic missing or empty", NULL);
    if (!avro_name_ok(s->output_name))
        die("the output name is not an Avro name", s->output_name);
    if (s->format != FS_AGG_CONFLUENT && s->format != FS_AGG_AVRO &&
        s->format != FS_AGG_JSON)
        die("an unknown format", NULL);
    if ((s->schema_json == NULL) != (s->events == NULL))
        die("an events schema without its layout, or the reverse", NULL);
    if (s->events == NULL && s->format != FS_AGG_JSON)
        die("an Avro format without an events schema", NULL);
    if (s->output_schema_id < -1)
        die("a negative output schema id", NULL);
    if (s->time_field == NULL || s->events == NULL) {
        if (s->time_col != -1)
            die("a time column without a time field or schema", NULL);
        if (s->time_field != NULL && s->time_field[0] == '\0')
            die("an empty time field", NULL);
    } else {
        check_col(s, s->time_field, s->time_col);
        const fs_col *c = &s->events->cols[s->time_col];
        if (c->type != FSTORE_TYPE_LONG ||
            (c->logical != FSTORE_LOGICAL_NONE &&
             c->logical != FSTORE_LOGICAL_TIMESTAMP_MILLIS))
            die("the time field is not a long of milliseconds", s->time_field);
    }

    if (s->nwindows < 1 || s->windows == NULL)
        die("no window", NULL);
    int64_t tiles = 0;
    for (int w = 0; w < s->nwindows; w++) {
        const fs_agg_window *x = &s->windows[w];
        if (!nonempty(x->name))
            die("a window without a name", NULL);
        for (const char *p = x->name; *p; p++)
            if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z')))
                die("a window name not lower case", x->name);
        if (x->size_ms != fs_agg_duration(x->name) || x->size_ms <= 0)
            die("a window's size is not its name's duration", x->name);
        if (x->hop_ms <= 0 || x->size_ms % x->hop_ms != 0)
            die("a hop that does not divide its window", x->name);
        if (x->ntiles != x->size_ms / x->hop_ms + 1)
            die("a window's tile count is not size / hop + 1", x->name);
        if (w > 0 && s->windows[w - 1].size_ms >= x->size_ms)
            die("windows not in order of size, or two of one size", x->name);
        tiles += x->ntiles;
    }
    if (tiles > FS_AGG_MAX_TILES)
        die("more tiles than FS_AGG_MAX_TILES", NULL);

    if (s->nfeatures < 1 || s->features == NULL)
        die("no feature", NULL);
    if (s->nnum < 0 || s->nlast < 0)
        die("negative counts", NULL);
    int nlast = 0;
    uint8_t *num_used = calloc((size_t)s->nnum + 1, 1);
    if (num_used == NULL)
        abort();
    for (int i = 0; i < s->nfeatures; i++) {
        const fs_agg_feature *f = &s->features[i];
        if (!avro_name_ok(f->name))
            die("a feature name is not an Avro name", f->name);
        switch (f->op) {
        case FS_AGG_COUNT:
            if (f->field != NULL || f->col != -1 || f->slot != -1)
                die("count with a field, column or slot", f->name);
            break;
        case FS_AGG_LAST:
            if (!nonempty(f->field))
                die("last without a field", f->name);
            check_col(s, f->field, f->col);
            if (f->slot != nlast++)
                die("last values not numbered in order", f->name);
            break;
        case FS_AGG_SUM:
        case FS_AGG_MEAN:
        case FS_AGG_MIN:
        case FS_AGG_MAX:
            if (!nonempty(f->field))
                die("a numeric op without a field", f->name);
            check_col(s, f->field, f->col);
            if (s->events != NULL && !numeric(&s->events->cols[f->col]))
                die("a numeric op on a field that is not numeric", f->name);
            if (f->slot < 0 || f->slot >= s->nnum ||
                strcmp(s->num_names[f->slot], f->field) != 0 ||
                s->num_cols[f->slot] != f->col)
                die("a numeric field's slot is not its own", f->name);
            num_used[f->slot] = 1;
            break;
        default: die("an unknown op", f->name);
        }
    }
    if (nlast != s->nlast)
        die("nlast is not the number of last features", NULL);
    for (int i = 0; i < s->nnum; i++) {
        if (!num_used[i])
            die("a numeric field no feature reads", s->num_names[i]);
        for (int j = 0; j < i; j++)
            if (strcmp(s->num_names[i], s->num_names[j]) == 0)
                die("a numeric field twice", s->num_names[i]);
    }
    free(num_used);
}

/* The output field names, in order, as docs/aggregate.md gives them. */
static char **expected_fields(const fs_agg_spec *s, size_t *n)
{
    size_t cap = (size_t)s->nfeatures * (size_t)s->nwindows + 2, k = 0;
    char **names = calloc(cap, sizeof *names);
    if (names == NULL)
        abort();
    for (int i = 0; i < s->nfeatures; i++) {
        const fs_agg_feature *f = &s->features[i];
        int per = f->op == FS_AGG_LAST ? 1 : s->nwindows;
        for (int w = 0; w < per; w++) {
            size_t len =
                strlen(f->name) + 2 +
                (f->op == FS_AGG_LAST ? 0 : strlen(s->windows[w].name));
            names[k] = malloc(len);
            if (names[k] == NULL)
                abort();
            if (f->op == FS_AGG_LAST)
                snprintf(names[k], len, "%s", f->name);
            else
                snprintf(names[k], len, "%s_%s", f->name, s->windows[w].name);
            k++;
        }
    }
    names[k++] = strdup("event_time");
    names[k++] = strdup("as_of");
    *n = k;
    return names;
}

/* A JSON value of column c's type, as an event would hold it. */
static json_t *sample(const fs_agg_spec *s, const fs_agg_feature *f)
{
    if (s->events == NULL)
        return json_pack("{s:[i,s]}", "any", 1, "json");
    const fs_col *c = &s->events->cols[f->col];
    switch (c->type) {
    case FSTORE_TYPE_BOOLEAN: return json_true();
    case FSTORE_TYPE_INT:
    case FSTORE_TYPE_LONG:
    case FSTORE_TYPE_FLOAT:
    case FSTORE_TYPE_DOUBLE: return json_integer(3);
    case FSTORE_TYPE_ENUM: return json_string(c->syms[c->nsyms - 1]);
    case FSTORE_TYPE_STRING:
    case FSTORE_TYPE_BYTES: return json_string("ab");
    case FSTORE_TYPE_FIXED: {
        char *x = malloc((size_t)c->fixed_size + 1);
        if (x == NULL)
            abort();
        memset(x, 'x', (size_t)c->fixed_size);
        x[c->fixed_size] = '\0';
        json_t *j = json_string(x);
        free(x);
        return j;
    }
    default: return json_pack("[i,i]", 1, 2);
    }
}

/* Adds two events at T0 and T0 + 1 (stream time T0 + 1) to e. */
static void add_events(const fs_agg_spec *s, fs_agg_entity *e)
{
    json_t *obj = json_object();
    for (int i = 0; i < s->nfeatures; i++)
        if (s->features[i].op == FS_AGG_LAST)
            json_object_set_new(obj, s->features[i].field,
                                sample(s, &s->features[i]));
    for (int i = 0; i < s->nnum; i++)
        json_object_set_new(obj, s->num_names[i], json_integer(3));
    fs_agg_input *in = fs_agg_input_new(s);
    if (obj == NULL || in == NULL)
        abort();
    for (int64_t t = T0; t <= T0 + 1; t++) {
        if (s->time_field)
            json_object_set_new(obj, s->time_field, json_integer(t));
        char *text = json_dumps(obj, JSON_COMPACT);
        if (text == NULL)
            abort();
        fs_agg_event ev;
        char err[256] = "";
        if (fs_agg_event_from_json(in, s, text, strlen(text), t, &ev, err,
                                   sizeof err))
            die("an event of the events' types is refused", err);
        free(text);
        if (fs_agg_add(e, s, &ev, t) != 1)
            die("an event at the stream time does not count", NULL);
    }
    fs_agg_input_free(in);
    json_decref(obj);
}

static int64_t long_field(avro_value_t *rec, const char *name)
{
    avro_value_t v;
    int64_t x = 0;
    if (avro_value_get_by_name(rec, name, &v, NULL) ||
        avro_value_get_long(&v, &x))
        die("an output record field is not a long", name);
    return x;
}

/* The record of e at stream time q reads back with the output schema. */
static void check_record(const fs_agg_spec *s, avro_schema_t schema,
                         const char *text, fs_agg_entity *e, int64_t q,
                         int64_t count)
{
    fs_buf rec = {0};
    if (fs_agg_encode(e, s, q, &rec))
        die("fs_agg_encode", "out of memory");
    if (rec.len < 5 || rec.data[0] != 0 ||
        fs_load_be32(rec.data + 1) != (uint32_t)s->output_schema_id)
        die("an output record without its Confluent frame", NULL);
    avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
    avro_value_t v;
    if (iface == NULL || avro_generic_value_new(iface, &v))
        die("avro-c cannot make a value of the output schema", avro_strerror());
    avro_reader_t rd =
        avro_reader_memory((const char *)rec.data + 5, (int64_t)rec.len - 5);
    if (rd == NULL)
        abort();
    if (avro_value_read(rd, &v)) {
        fprintf(stderr, "%s\n", text);
        die("an output record does not read with the output schema",
            avro_strerror());
    }
    char more;
    if (avro_read(rd, &more, 1) == 0) { /* avro-c has no eof for memory */
        fprintf(stderr, "%s\n", text);
        for (size_t i = 5; i < rec.len; i++)
            fprintf(stderr, "%02x%s", rec.data[i],
                    i + 1 < rec.len ? " " : "\n");
        die("an output record is longer than the output schema reads", NULL);
    }
    avro_reader_free(rd);
    for (int i = 0; i < s->nfeatures; i++) {
        const fs_agg_feature *f = &s->features[i];
        for (int w = 0; f->op == FS_AGG_COUNT && w < s->nwindows; w++) {
            char name[512];
            snprintf(name, sizeof name, "%s_%s", f->name, s->windows[w].name);
            if (long_field(&v, name) != count)
                die("a count is not the number of events", name);
        }
    }
    if (long_field(&v, "event_time") != (count ? T0 + 1 : INT64_MIN) ||
        long_field(&v, "as_of") != q)
        die("event_time or as_of is not the entity's", NULL);
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    fs_buf_free(&rec);
}

static void check_output(const fs_agg_spec *s)
{
    char *text = fs_agg_output_schema(s);
    if (text == NULL)
        die("fs_agg_output_schema", "out of memory");
    avro_schema_t schema;
    if (avro_schema_from_json_length(text, strlen(text), &schema)) {
        fprintf(stderr, "%s\n", text);
        die("avro-c refuses the output schema", avro_strerror());
    }
    if (!is_avro_record(schema) ||
        strcmp(avro_schema_name(schema), s->output_name) != 0)
        die("the output schema is not a record of the output name", text);
    size_t n;
    char **names = expected_fields(s, &n);
    if (avro_schema_record_size(schema) != n)
        die("the output schema has another number of fields", text);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(avro_schema_record_field_name(schema, (int)i), names[i]))
            die("an output field has another name", names[i]);
        free(names[i]);
    }
    free(names);
    /* A last feature's field is ["null", the events' type]: that type,
     * not another of its name. */
    for (int i = 0; s->events != NULL && i < s->nfeatures; i++) {
        const fs_agg_feature *f = &s->features[i];
        if (f->op != FS_AGG_LAST)
            continue;
        avro_schema_t u = avro_schema_record_field_get(schema, f->name);
        avro_schema_t b =
            u && is_avro_union(u) && avro_schema_union_size(u) == 2
                ? avro_schema_union_branch(u, 1)
                : NULL;
        if (b != NULL && is_avro_link(b))
            b = avro_schema_link_target(b);
        if (b == NULL ||
            !avro_schema_equal(b, s->events->cols[f->col].schema)) {
            fprintf(stderr, "%s\n", text);
            die("a last feature's output type is not its field's type",
                f->name);
        }
    }
    fs_layout *L = NULL;
    char err[512] = "";
    if (fs_layout_new(text, &L, err, sizeof err)) {
        fprintf(stderr, "%s\n", text);
        die("the output schema does not compile into a layout", err);
    }
    fs_layout_free(L);

    fs_agg_entity *e = fs_agg_entity_new(s);
    if (e == NULL)
        die("fs_agg_entity_new", "out of memory");
    check_record(s, schema, text, e, T0, 0);
    add_events(s, e);
    check_record(s, schema, text, e, T0 + 1, 2);
    fs_agg_entity_free(e);
    avro_schema_decref(schema);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (g_dir[0] == '\0')
        setup();
    if (size == 0)
        return 0;
    int mode = data[0] % FUZZ_SPEC_NMODES;
    const char *schema_json = mode == FUZZ_SPEC_EVENTS ? FUZZ_SPEC_EVENTS_SCHEMA
                              : mode == FUZZ_SPEC_CLICKS
                                  ? FUZZ_SPEC_CLICKS_SCHEMA
                                  : NULL;
    if (mode == FUZZ_SPEC_FILES &&
        (memchr(data + 1, '/', size - 1) || memchr(data + 1, '\\', size - 1)))
        return 0;
    /* An exact-size, NUL-terminated copy, so ASan sees any over-read. */
    char *text = malloc(size);
    if (text == NULL)
        abort();
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';

    fs_agg_spec *s = NULL;
    char err[512];
    memset(err, 0xff, sizeof err);
    fstore_err_t rc =
        fs_agg_spec_parse(text, g_dir, schema_json, &s, err, sizeof err);
    free(text);
    if (rc != FSTORE_OK) {
        if (s != NULL)
            die("a refused spec with a spec", NULL);
        if (rc != FSTORE_ERR_CONF && rc != FSTORE_ERR_NO_MEMORY)
            die("a refused spec without FSTORE_ERR_CONF", fstore_err_name(rc));
        if (memchr(err, '\0', sizeof err) == NULL)
            die("a message without a NUL", NULL);
        if (strncmp(err, "spec: ", 6) != 0 || err[6] == '\0')
            die("a message that does not say what is wrong with the spec", err);
        return 0;
    }
    if (s == NULL)
        die("FSTORE_OK without a spec", NULL);
    check_spec(s);
    check_output(s);
    fs_agg_spec_free(s);
    return 0;
}
