/*
 * Aggregation specs: parsing and checking the spec JSON, and deriving the
 * output schema from it (agg_spec.h, docs/aggregate.md).
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "agg_spec.h"

#define FS_AGG_MAX_MS (366LL * 86400000LL)

int64_t fs_agg_duration(const char *text)
{
    if (!text || *text < '1' || *text > '9')
        return -1;
    char *end;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (errno || n <= 0)
        return -1;
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (!strcmp(end, units[i].unit))
            return n > FS_AGG_MAX_MS / units[i].ms ? -1 : n * units[i].ms;
    return -1;
}

void fs_agg_spec_free(fs_agg_spec *s)
{
    if (!s)
        return;
    free(s->input_topic);
    free(s->schema_json);
    fs_layout_free(s->events);
    free(s->time_field);
    free(s->output_topic);
    free(s->output_name);
    free(s->changelog);
    for (int i = 0; i < s->nwindows; i++)
        free(s->windows[i].name);
    free(s->windows);
    for (int i = 0; i < s->nfeatures; i++) {
        free(s->features[i].name);
        free(s->features[i].field);
    }
    free(s->features);
    free(s->num_cols);
    for (int i = 0; i < s->nnum; i++)
        free(s->num_names[i]);
    free(s->num_names);
    free(s);
}

/* ---- small checks ---- */

typedef struct fs_pctx {
    fs_agg_spec *s;
    char *errstr;
    size_t errstr_size;
} fs_pctx;

#define FS_BAD(c, ...) fstore__err((c)->errstr, (c)->errstr_size, FSTORE_ERR_CONF, __VA_ARGS__)
#define FS_OOM(c) fstore__err((c)->errstr, (c)->errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory")

/* Refuses keys of obj outside allowed (a NULL-terminated list). */
static fstore_err_t fs_keys_known(fs_pctx *c, json_t *obj, const char *where,
                                  const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        int ok = 0;
        for (const char *const *a = allowed; *a; a++)
            ok |= !strcmp(key, *a);
        if (!ok)
            return FS_BAD(c, "spec: unknown key \"%s\" in %s", key, where);
    }
    return FSTORE_OK;
}

/* A string member: required (absent is an error) or optional (*out NULL). */
static fstore_err_t fs_str(fs_pctx *c, json_t *obj, const char *key,
                           const char *where, int required, char **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v && !required)
        return FSTORE_OK;
    if (!json_is_string(v) || !json_string_length(v))
        return FS_BAD(c, "spec: %s.%s must be a non-empty string", where, key);
    if (!(*out = fs_strdup(json_string_value(v))))
        return FS_OOM(c);
    return FSTORE_OK;
}

/* An Avro name: [A-Za-z_][A-Za-z0-9_]*. */
static int fs_avro_name_ok(const char *n)
{
    if (!*n || !((*n >= 'A' && *n <= 'Z') || (*n >= 'a' && *n <= 'z') || *n == '_'))
        return 0;
    for (; *n; n++)
        if (!((*n >= 'A' && *n <= 'Z') || (*n >= 'a' && *n <= 'z') ||
              (*n >= '0' && *n <= '9') || *n == '_'))
            return 0;
    return 1;
}

/* ---- input ---- */

static fstore_err_t fs_load_schema(fs_pctx *c, const char *path,
                                   const char *base_dir)
{
    char full[4096];
    if (path[0] == '/' || !base_dir)
        snprintf(full, sizeof full, "%s", path);
    else
        snprintf(full, sizeof full, "%s/%s", base_dir, path);
    if (!(c->s->schema_json = fs_read_file(full, 16u << 20)))
        return FS_BAD(c, "spec: input.schema: cannot read %s: %s", full,
                      errno == EFBIG ? "larger than 16 MiB" : strerror(errno));
    return FSTORE_OK;
}

static int fs_is_numeric(const fs_col *col)
{
    return col->type == FSTORE_TYPE_INT || col->type == FSTORE_TYPE_LONG ||
           col->type == FSTORE_TYPE_FLOAT || col->type == FSTORE_TYPE_DOUBLE;
}

static fstore_err_t fs_parse_time(fs_pctx *c)
{
    fs_agg_spec *s = c->s;
    s->time_col = -1;
    if (!s->time_field || !s->events)
        return FSTORE_OK;
    s->time_col = fs_layout_col(s->events, s->time_field);
    if (s->time_col < 0)
        return FS_BAD(c, "spec: input.time: the events have no field \"%s\"",
                      s->time_field);
    const fs_col *col = &s->events->cols[s->time_col];
    if (col->type != FSTORE_TYPE_LONG || (col->logical != FSTORE_LOGICAL_NONE &&
                                          col->logical != FSTORE_LOGICAL_TIMESTAMP_MILLIS))
        return FS_BAD(c, "spec: input.time: field \"%s\" must be a long of "
                         "milliseconds (or timestamp-millis)",
                      s->time_field);
    return FSTORE_OK;
}

static fstore_err_t fs_parse_input(fs_pctx *c, json_t *in, const char *base_dir,
                                   const char *schema_json)
{
    static const char *const keys[] = {"topic", "format", "schema", "time", NULL};
    fs_agg_spec *s = c->s;
    if (!json_is_object(in))
        return FS_BAD(c, "spec: \"input\" must be an object with at least a topic");
    fstore_err_t err = fs_keys_known(c, in, "input", keys);
    char *fmt = NULL, *schema_path = NULL;
    if (!err)
        err = fs_str(c, in, "topic", "input", 1, &s->input_topic);
    if (!err)
        err = fs_str(c, in, "format", "input", 0, &fmt);
    if (!err)
        err = fs_str(c, in, "time", "input", 0, &s->time_field);
    if (!err)
        err = fs_str(c, in, "schema", "input", 0, &schema_path);
    s->format = FS_AGG_CONFLUENT;
    if (!err && fmt)
        s->format = !strcmp(fmt, "confluent") ? FS_AGG_CONFLUENT
                    : !strcmp(fmt, "avro")    ? FS_AGG_AVRO
                    : !strcmp(fmt, "json")    ? FS_AGG_JSON
                                              : -1;
    if (!err && (int)s->format < 0)
        err = FS_BAD(c, "spec: input.format \"%s\" is not confluent, avro or json", fmt);
    if (!err && schema_json && !(s->schema_json = fs_strdup(schema_json)))
        err = FS_OOM(c);
    else if (!err && !schema_json && schema_path)
        err = fs_load_schema(c, schema_path, base_dir);
    if (!err && !s->schema_json && s->format != FS_AGG_JSON)
        err = FS_BAD(c, "spec: input.schema is required for the %s format (the "
                        "events' reader schema, an .avsc file)",
                     s->format == FS_AGG_AVRO ? "avro" : "confluent");
    if (!err && s->schema_json) {
        char why[512] = "";
        if (fs_layout_new(s->schema_json, &s->events, why, sizeof why))
            err = FS_BAD(c, "spec: input.schema: %s", why);
    }
    free(fmt);
    free(schema_path);
    return err ? err : fs_parse_time(c);
}

/* ---- output, changelog ---- */

static fstore_err_t fs_parse_output(fs_pctx *c, json_t *out, json_t *changelog)
{
    static const char *const keys[] = {"topic", "name", "schema_id", NULL};
    fs_agg_spec *s = c->s;
    if (!json_is_object(out))
        return FS_BAD(c, "spec: \"output\" must be an object with a topic");
    fstore_err_t err = fs_keys_known(c, out, "output", keys);
    if (!err)
        err = fs_str(c, out, "topic", "output", 1, &s->output_topic);
    if (!err)
        err = fs_str(c, out, "name", "output", 0, &s->output_name);
    if (err)
        return err;
    if (!s->output_name) {
        /* The topic's name made an Avro name. */
        if (!(s->output_name = fs_strdup(s->output_topic)))
            return FS_OOM(c);
        for (char *p = s->output_name; *p; p++)
            if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                  (*p >= '0' && *p <= '9')))
                *p = '_';
        if (*s->output_name >= '0' && *s->output_name <= '9')
            *s->output_name = '_';
    }
    if (!fs_avro_name_ok(s->output_name))
        return FS_BAD(c, "spec: output.name \"%s\" is not an Avro name "
                         "([A-Za-z_][A-Za-z0-9_]*)",
                      s->output_name);
    json_t *id = json_object_get(out, "schema_id");
    if (id && (!json_is_integer(id) || json_integer_value(id) < 0 ||
               json_integer_value(id) > INT32_MAX))
        return FS_BAD(c, "spec: output.schema_id must be an integer from 0 to "
                         "2147483647 (the id the output schema is registered "
                         "under)");
    s->output_schema_id = id ? (int32_t)json_integer_value(id) : -1;
    if (changelog) {
        if (!json_is_string(changelog) || !json_string_length(changelog))
            return FS_BAD(c, "spec: \"changelog\" must be a non-empty topic name");
        s->changelog = fs_strdup(json_string_value(changelog));
    } else {
        size_t n = strlen(s->output_topic) + sizeof "-state";
        if ((s->changelog = malloc(n)))
            snprintf(s->changelog, n, "%s-state", s->output_topic);
    }
    return s->changelog ? FSTORE_OK : FS_OOM(c);
}

/* ---- windows ---- */

static int fs_window_cmp(const void *a, const void *b)
{
    const fs_agg_window *x = a, *y = b;
    if (x->size_ms != y->size_ms)
        return x->size_ms < y->size_ms ? -1 : 1;
    return x->hop_ms < y->hop_ms ? -1 : x->hop_ms > y->hop_ms;
}

static fstore_err_t fs_add_window(fs_pctx *c, const char *name, const char *hop)
{
    fs_agg_spec *s = c->s;
    fs_agg_window *w = &s->windows[s->nwindows];
    w->size_ms = fs_agg_duration(name);
    w->hop_ms = fs_agg_duration(hop);
    if (w->size_ms < 0)
        return FS_BAD(c, "spec: window \"%s\" is not a duration "
                         "(<n>ms|s|m|h|d, up to 366 days)",
                      name);
    if (w->hop_ms < 0)
        return FS_BAD(c, "spec: the hop \"%s\" of window \"%s\" is not a "
                         "duration (<n>ms|s|m|h|d)",
                      hop ? hop : "", name);
    if (w->size_ms % w->hop_ms)
        return FS_BAD(c, "spec: the hop %s does not divide window %s", hop, name);
    int64_t tiles = w->size_ms / w->hop_ms + 1;
    for (int i = 0; i < s->nwindows; i++)
        tiles += s->windows[i].ntiles;
    if (tiles > FS_AGG_MAX_TILES)
        return FS_BAD(c, "spec: window %s with hop %s makes %lld tiles (one per "
                         "hop, plus one, over all windows); at most %d: use "
                         "longer hops",
                      name, hop, (long long)tiles, FS_AGG_MAX_TILES);
    w->ntiles = (int32_t)(w->size_ms / w->hop_ms) + 1;
    for (const char *p = name; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z')))
            return FS_BAD(c, "spec: window name \"%s\" must be lower case", name);
    if (!(w->name = fs_strdup(name)))
        return FS_OOM(c);
    s->nwindows++;
    return FSTORE_OK;
}

static fstore_err_t fs_parse_windows(fs_pctx *c, json_t *win)
{
    static const char *const defaults[][2] = {{"5m", "1m"}, {"1h", "5m"}, {"1d", "1h"}};
    fs_agg_spec *s = c->s;
    if (win && (!json_is_object(win) || !json_object_size(win)))
        return FS_BAD(c, "spec: \"windows\" must be an object of window: hop, "
                         "e.g. {\"5m\": \"1m\"}");
    size_t n = win ? json_object_size(win) : 3;
    if (!(s->windows = calloc(n, sizeof *s->windows)))
        return FS_OOM(c);
    fstore_err_t err = FSTORE_OK;
    if (!win) {
        for (size_t i = 0; i < 3 && !err; i++)
            err = fs_add_window(c, defaults[i][0], defaults[i][1]);
    } else {
        const char *key;
        json_t *v;
        json_object_foreach(win, key, v) {
            if (!err)
                err = fs_add_window(c, key, json_string_value(v));
        }
    }
    if (err)
        return err;
    qsort(s->windows, (size_t)s->nwindows, sizeof *s->windows, fs_window_cmp);
    for (int i = 1; i < s->nwindows; i++)
        if (s->windows[i].size_ms == s->windows[i - 1].size_ms)
            return FS_BAD(c, "spec: windows \"%s\" and \"%s\" have the same size",
                          s->windows[i - 1].name, s->windows[i].name);
    return FSTORE_OK;
}

/* ---- features ---- */

static fstore_err_t fs_op_of(fs_pctx *c, const char *op, const char *name,
                             fs_agg_op *out)
{
    static const char *const names[] = {"count", "sum", "mean", "min", "max", "last"};
    for (int i = 0; i < 6; i++)
        if (op && !strcmp(op, names[i])) {
            *out = (fs_agg_op)i;
            return FSTORE_OK;
        }
    return FS_BAD(c, "spec: feature \"%s\": op \"%s\" is not count, sum, mean, "
                     "min, max or last",
                  name, op ? op : "");
}

/* The numeric field slot for name, added on first use. */
static int fs_num_slot(fs_pctx *c, const char *field, int col)
{
    fs_agg_spec *s = c->s;
    for (int i = 0; i < s->nnum; i++)
        if (!strcmp(s->num_names[i], field))
            return i;
    int *nc = realloc(s->num_cols, (size_t)(s->nnum + 1) * sizeof *nc);
    if (nc)
        s->num_cols = nc;
    char **nn = nc ? realloc(s->num_names, (size_t)(s->nnum + 1) * sizeof *nn) : NULL;
    if (nn)
        s->num_names = nn;
    if (!nn || !(nn[s->nnum] = fs_strdup(field)))
        return -1;
    s->num_cols[s->nnum] = col;
    return s->nnum++;
}

/* Checks the field of a feature against the events' layout. */
static fstore_err_t fs_feature_field(fs_pctx *c, fs_agg_feature *f)
{
    fs_agg_spec *s = c->s;
    f->col = -1;
    if (s->events) {
        f->col = fs_layout_col(s->events, f->field);
        if (f->col < 0)
            return FS_BAD(c, "spec: feature \"%s\": the events have no field \"%s\"",
                          f->name, f->field);
        if (f->op != FS_AGG_LAST && !fs_is_numeric(&s->events->cols[f->col]))
            return FS_BAD(c, "spec: feature \"%s\": %s needs a numeric field (int, "
                             "long, float or double); \"%s\" is not",
                          f->name, f->op == FS_AGG_SUM    ? "sum"
                                   : f->op == FS_AGG_MEAN ? "mean"
                                   : f->op == FS_AGG_MIN  ? "min"
                                                          : "max",
                          f->field);
    }
    if (f->op == FS_AGG_LAST) {
        /* The output record has no namespace: a named type of none, of the
         * output record's name, would define that name twice. */
        avro_schema_t t = s->events ? s->events->cols[f->col].schema : NULL;
        const char *ns = t ? avro_schema_namespace(t) : NULL;
        if (t && (is_avro_enum(t) || is_avro_fixed(t)) && (!ns || !*ns) &&
            !strcmp(avro_schema_name(t), s->output_name))
            return FS_BAD(c, "spec: feature \"%s\": the type of field \"%s\" is "
                             "named \"%s\", as the output record is (output.name, "
                             "by default the output topic): give output.name "
                             "another name",
                          f->name, f->field, s->output_name);
        f->slot = s->nlast++;
        return FSTORE_OK;
    }
    f->slot = fs_num_slot(c, f->field, f->col);
    return f->slot < 0 ? FS_OOM(c) : FSTORE_OK;
}

static fstore_err_t fs_parse_feature(fs_pctx *c, json_t *j, size_t i)
{
    static const char *const keys[] = {"name", "op", "field", NULL};
    fs_agg_spec *s = c->s;
    fs_agg_feature *f = &s->features[s->nfeatures];
    f->slot = -1;
    f->col = -1;
    char where[32];
    snprintf(where, sizeof where, "features[%zu]", i);
    if (!json_is_object(j))
        return FS_BAD(c, "spec: %s must be an object with a name and an op", where);
    fstore_err_t err = fs_keys_known(c, j, where, keys);
    char *op = NULL;
    if (!err)
        err = fs_str(c, j, "name", where, 1, &f->name);
    if (!err)
        err = fs_str(c, j, "op", where, 1, &op);
    if (!err)
        err = fs_op_of(c, op, f->name, &f->op);
    free(op);
    if (!err)
        err = fs_str(c, j, "field", where, 0, &f->field);
    s->nfeatures++; /* owns what it holds from here on */
    if (err)
        return err;
    if (!fs_avro_name_ok(f->name))
        return FS_BAD(c, "spec: feature name \"%s\" is not an Avro name "
                         "([A-Za-z_][A-Za-z0-9_]*)",
                      f->name);
    if (f->op == FS_AGG_COUNT)
        return f->field ? FS_BAD(c, "spec: feature \"%s\": count takes no field "
                                    "(it counts events)",
                                 f->name)
                        : FSTORE_OK;
    if (!f->field)
        return FS_BAD(c, "spec: feature \"%s\" needs a field", f->name);
    return fs_feature_field(c, f);
}

/* Every output field name once, event_time and as_of included. */
static fstore_err_t fs_names_unique(fs_pctx *c)
{
    const fs_agg_spec *s = c->s;
    size_t cap = (size_t)s->nfeatures * (size_t)(s->nwindows + 1) + 2, n = 0;
    char **names = calloc(cap, sizeof *names);
    if (!names)
        return FS_OOM(c);
    fstore_err_t err = FSTORE_OK;
    names[n++] = fs_strdup("event_time");
    names[n++] = fs_strdup("as_of");
    for (int i = 0; i < s->nfeatures && !err; i++) {
        const fs_agg_feature *f = &s->features[i];
        int per = f->op == FS_AGG_LAST ? 1 : s->nwindows;
        for (int w = 0; w < per && !err; w++) {
            char name[512];
            if (f->op == FS_AGG_LAST)
                snprintf(name, sizeof name, "%s", f->name);
            else
                snprintf(name, sizeof name, "%s_%s", f->name, s->windows[w].name);
            for (size_t k = 0; k < n && !err; k++)
                if (names[k] && !strcmp(names[k], name))
                    err = FS_BAD(c, "spec: two output fields would be named "
                                    "\"%s\"; rename a feature",
                                 name);
            names[n++] = fs_strdup(name);
        }
    }
    for (size_t k = 0; k < n; k++)
        free(names[k]);
    free(names);
    return err;
}

static fstore_err_t fs_parse_features(fs_pctx *c, json_t *fs)
{
    fs_agg_spec *s = c->s;
    if (!json_is_array(fs) || !json_array_size(fs))
        return FS_BAD(c, "spec: \"features\" must be a non-empty array");
    if (!(s->features = calloc(json_array_size(fs), sizeof *s->features)))
        return FS_OOM(c);
    for (size_t i = 0; i < json_array_size(fs); i++) {
        fstore_err_t err = fs_parse_feature(c, json_array_get(fs, i), i);
        if (err)
            return err;
    }
    return fs_names_unique(c);
}

fstore_err_t fs_agg_spec_parse(const char *spec_json, const char *base_dir,
                               const char *schema_json, fs_agg_spec **out,
                               char *errstr, size_t errstr_size)
{
    static const char *const keys[] = {"input", "output", "changelog", "windows",
                                       "features", NULL};
    *out = NULL;
    json_error_t jerr;
    json_t *j = json_loads(spec_json, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(j)) {
        json_decref(j);
        if (j)
            return fstore__err(errstr, errstr_size, FSTORE_ERR_CONF,
                               "spec: not a JSON object");
        return fstore__err(errstr, errstr_size, FSTORE_ERR_CONF,
                           "spec: not a JSON object: %s (line %d)", jerr.text,
                           jerr.line);
    }
    fs_pctx c = {calloc(1, sizeof(fs_agg_spec)), errstr, errstr_size};
    fstore_err_t err = c.s ? fs_keys_known(&c, j, "the spec", keys) : FS_OOM(&c);
    if (!err)
        err = fs_parse_input(&c, json_object_get(j, "input"), base_dir, schema_json);
    if (!err)
        err = fs_parse_output(&c, json_object_get(j, "output"),
                              json_object_get(j, "changelog"));
    if (!err)
        err = fs_parse_windows(&c, json_object_get(j, "windows"));
    if (!err)
        err = fs_parse_features(&c, json_object_get(j, "features"));
    json_decref(j);
    if (err) {
        fs_agg_spec_free(c.s);
        return err;
    }
    *out = c.s;
    return FSTORE_OK;
}

/* ---- the output schema ---- */

/* The Avro type of the events' column col (its non-null branch) as JSON,
 * or the full name of a named type already written (by its full name: two
 * types of other namespaces may share a short name). */
static json_t *fs_last_type(const fs_agg_spec *s, int col, json_t *named)
{
    if (!s->events)
        return json_string("string"); /* schemaless JSON: the value's text */
    avro_schema_t t = s->events->cols[col].schema;
    const char *name = avro_schema_name(t);
    char full[1024] = "";
    if (name && (is_avro_enum(t) || is_avro_fixed(t) || is_avro_record(t))) {
        const char *ns = avro_schema_namespace(t);
        snprintf(full, sizeof full, "%s%s%s", ns && *ns ? ns : "",
                 ns && *ns ? "." : "", name);
        if (json_object_get(named, full))
            return json_string(full);
        json_object_set_new(named, full, json_true());
    }
    char buf[65536];
    avro_writer_t w = avro_writer_memory(buf, sizeof buf);
    json_t *out = NULL;
    if (w && !avro_schema_to_json(t, w)) {
        json_error_t jerr;
        out = json_loadb(buf, (size_t)avro_writer_tell(w), 0, &jerr);
    }
    avro_writer_free(w);
    /* A primitive as its plain name: {"type":"string"} is "string". */
    json_t *prim = json_object_size(out) == 1 ? json_object_get(out, "type") : NULL;
    if (json_is_string(prim)) {
        json_t *plain = json_string(json_string_value(prim));
        json_decref(out);
        out = plain;
    }
    return out;
}

static json_t *fs_field(const char *name, json_t *type)
{
    return type ? json_pack("{s:s, s:o}", "name", name, "type", type) : NULL;
}

static json_t *fs_nullable(json_t *t)
{
    return t ? json_pack("[s, o]", "null", t) : NULL;
}

char *fs_agg_output_schema(const fs_agg_spec *s)
{
    json_t *fields = json_array(), *named = json_object();
    int bad = !fields || !named;
    for (int i = 0; i < s->nfeatures && !bad; i++) {
        const fs_agg_feature *f = &s->features[i];
        if (f->op == FS_AGG_LAST) {
            json_t *t = fs_nullable(fs_last_type(s, f->col, named));
            bad |= json_array_append_new(fields, fs_field(f->name, t)) != 0;
            continue;
        }
        for (int w = 0; w < s->nwindows && !bad; w++) {
            char name[512];
            snprintf(name, sizeof name, "%s_%s", f->name, s->windows[w].name);
            json_t *t = f->op == FS_AGG_COUNT ? json_string("long")
                        : f->op == FS_AGG_SUM ? json_string("double")
                                              : fs_nullable(json_string("double"));
            bad |= json_array_append_new(fields, fs_field(name, t)) != 0;
        }
    }
    const char *const times[] = {"event_time", "as_of"};
    for (int i = 0; i < 2 && !bad; i++)
        bad |= json_array_append_new(
                   fields, json_pack("{s:s, s:{s:s, s:s}}", "name", times[i], "type",
                                     "type", "long", "logicalType",
                                     "timestamp-millis")) != 0;
    json_t *rec = bad ? NULL
                      : json_pack("{s:s, s:s, s:O}", "type", "record", "name",
                                  s->output_name, "fields", fields);
    char *text = rec ? json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(rec);
    json_decref(fields);
    json_decref(named);
    return text;
}
