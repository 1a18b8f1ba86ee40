/* Configuration properties: names, defaults and validation. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "conf.h"

typedef enum { P_BOOL, P_U64, P_OCTAL, P_ENUM, P_STRING } fs_ptype;

typedef struct fs_pdef {
    const char *name;
    fs_ptype type;
    const char *def;     /* default, NULL when unset */
    const char *choices; /* P_ENUM: '|'-separated */
    uint64_t min, max;   /* P_U64 / P_OCTAL bounds */
} fs_pdef;

static const fs_pdef fs_pdefs[] = {
    {"store.read_only", P_BOOL, "false", NULL, 0, 0},
    {"store.file_mode", P_OCTAL, "0600", NULL, 0, 0777},
    {"store.map_size", P_U64, "17179869184", NULL, 65536, UINT64_MAX},
    {"store.map_size.max", P_U64, "1099511627776", NULL, 65536, UINT64_MAX},
    {"store.max_tables", P_U64, "64", NULL, 1, 32000},
    {"store.max_readers", P_U64, "512", NULL, 1, 1000000},
    {"store.sync", P_ENUM, "none", "full|meta|none", 0, 0},
    {"schemas.dir", P_STRING, NULL, NULL, 0, 0},
    {"registry.url", P_STRING, NULL, NULL, 0, 0},
    {"registry.timeout_ms", P_U64, "5000", NULL, 1, 3600000},
    {"tail.batch.max_records", P_U64, "10000", NULL, 1, 10000000},
    {"tail.batch.max_ms", P_U64, "2", NULL, 0, 60000},
    {"tail.bootstrap.max_bytes", P_U64, "1073741824", NULL, 0, UINT64_MAX},
    {"tail.offset_reset", P_ENUM, "fail", "fail|rebuild", 0, 0},
    {"tail.dead_letter_topic", P_STRING, NULL, NULL, 0, 0},
    {"tail.stats_interval_ms", P_U64, "1000", NULL, 10, 3600000},
    {"log.level", P_U64, "4", NULL, 0, 7},
};

static const fs_pdef *fs_pdef_find(const char *name)
{
    for (size_t i = 0; i < sizeof fs_pdefs / sizeof fs_pdefs[0]; i++)
        if (strcmp(fs_pdefs[i].name, name) == 0)
            return &fs_pdefs[i];
    return NULL;
}

static int fs_is_passthrough(const char *name)
{
    return strncmp(name, "kafka.", 6) == 0 && name[6] != '\0';
}

int fs_parse_bool(const char *s, int *out)
{
    if (!strcasecmp(s, "true") || !strcmp(s, "1") || !strcasecmp(s, "yes") ||
        !strcasecmp(s, "on"))
        *out = 1;
    else if (!strcasecmp(s, "false") || !strcmp(s, "0") ||
             !strcasecmp(s, "no") || !strcasecmp(s, "off"))
        *out = 0;
    else
        return -1;
    return 0;
}

static int fs_parse_base(const char *s, int base, uint64_t *out)
{
    if (*s == '\0' || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, base);
    if (errno || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

int fs_parse_u64(const char *s, uint64_t *out) { return fs_parse_base(s, 10, out); }

static int fs_choice_ok(const char *choices, const char *v)
{
    size_t n = strlen(v);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0)
            return 1;
        p += len + (bar ? 1 : 0);
    }
    return 0;
}

fstore_conf_t *fstore_conf_new(void) { return calloc(1, sizeof(fstore_conf_t)); }

void fstore_conf_destroy(fstore_conf_t *conf)
{
    if (!conf)
        return;
    for (size_t i = 0; i < conf->n; i++) {
        free(conf->props[i].name);
        free(conf->props[i].value);
    }
    free(conf->props);
    free(conf);
}

static fs_prop *fs_conf_find(const fstore_conf_t *conf, const char *name)
{
    for (size_t i = 0; i < conf->n; i++)
        if (strcmp(conf->props[i].name, name) == 0)
            return &conf->props[i];
    return NULL;
}

static fstore_err_t fs_conf_put(fstore_conf_t *conf, const char *name,
                                const char *value)
{
    fs_prop *p = fs_conf_find(conf, name);
    char *v = fs_strdup(value);
    if (!v)
        return FSTORE_ERR_NO_MEMORY;
    if (p) {
        free(p->value);
        p->value = v;
        return FSTORE_OK;
    }
    if (conf->n == conf->cap) {
        size_t cap = conf->cap ? conf->cap * 2 : 8;
        fs_prop *np = realloc(conf->props, cap * sizeof *np);
        if (!np) {
            free(v);
            return FSTORE_ERR_NO_MEMORY;
        }
        conf->props = np;
        conf->cap = cap;
    }
    char *n = fs_strdup(name);
    if (!n) {
        free(v);
        return FSTORE_ERR_NO_MEMORY;
    }
    conf->props[conf->n].name = n;
    conf->props[conf->n].value = v;
    conf->n++;
    return FSTORE_OK;
}

fstore_err_t fstore_conf_set_log_cb(fstore_conf_t *conf, fstore_log_cb *cb,
                                    void *opaque)
{
    if (!conf)
        return FSTORE_ERR_INVALID_ARG;
    conf->log_cb = cb;
    conf->log_opaque = opaque;
    return FSTORE_OK;
}

fstore_conf_t *fstore_conf_dup(const fstore_conf_t *conf)
{
    if (!conf)
        return NULL;
    fstore_conf_t *d = fstore_conf_new();
    if (!d)
        return NULL;
    d->log_cb = conf->log_cb;
    d->log_opaque = conf->log_opaque;
    for (size_t i = 0; i < conf->n; i++) {
        if (fs_conf_put(d, conf->props[i].name, conf->props[i].value)) {
            fstore_conf_destroy(d);
            return NULL;
        }
    }
    return d;
}

fstore_err_t fstore_conf_set(fstore_conf_t *conf, const char *name,
                             const char *value, char *errstr,
                             size_t errstr_size)
{
    if (!conf || !name || !value)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_INVALID_ARG,
                           "conf, name and value must not be NULL");
    if (fs_is_passthrough(name))
        return fs_conf_put(conf, name, value);
    const fs_pdef *d = fs_pdef_find(name);
    if (!d)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_CONF,
                           "unknown property \"%s\" (Kafka client properties "
                           "take the prefix \"kafka.\")",
                           name);
    uint64_t u;
    int b;
    switch (d->type) {
    case P_BOOL:
        if (fs_parse_bool(value, &b))
            return fstore__err(errstr, errstr_size, FSTORE_ERR_CONF,
                               "%s: \"%s\" is not a boolean (use true or false)",
                               name, value);
        break;
    case P_U64:
        if (fs_parse_u64(value, &u) || u < d->min || u > d->max)
            return fstore__err(errstr, errstr_size, FSTORE_ERR_CONF,
                               "%s: \"%s\" is not an integer in [%llu, %llu]",
                               name, value, (unsigned long long)d->min,
                               (unsigned long long)d->max);
        break;
    case P_OCTAL:
        if (fs_parse_base(value, 8, &u) || u > d->max)
            return fstore__err(errstr, errstr_size, FSTORE_ERR_CONF,
                               "%s: \"%s\" is not octal permission bits "
                               "(e.g. 0600)",
                               name, value);
        break;
    case P_ENUM:
        if (!fs_choice_ok(d->choices, value))
            return fstore__err(errstr, errstr_size, FSTORE_ERR_CONF,
                               "%s: \"%s\" is not one of %s", name, value,
                               d->choices);
        break;
    case P_STRING:
        if (*value == '\0')
            return fstore__err(errstr, errstr_size, FSTORE_ERR_CONF,
                               "%s: the value must not be empty", name);
        break;
    }
    fstore_err_t err = fs_conf_put(conf, name, value);
    if (err)
        return fstore__err(errstr, errstr_size, err, "out of memory");
    return FSTORE_OK;
}

const char *fs_conf_str(const fstore_conf_t *conf, const char *name)
{
    const fs_prop *p = conf ? fs_conf_find(conf, name) : NULL;
    if (p)
        return p->value;
    const fs_pdef *d = fs_pdef_find(name);
    return d ? d->def : NULL;
}

fstore_err_t fstore_conf_get(const fstore_conf_t *conf, const char *name,
                             char *buf, size_t *size)
{
    if (!conf || !name || !size || (*size && !buf))
        return FSTORE_ERR_INVALID_ARG;
    const char *v = fs_conf_str(conf, name);
    if (!v)
        return FSTORE_NOT_FOUND;
    size_t need = strlen(v) + 1;
    size_t have = *size;
    *size = need;
    if (have < need)
        return FSTORE_ERR_RANGE;
    memcpy(buf, v, need);
    return FSTORE_OK;
}

int fs_conf_bool(const fstore_conf_t *conf, const char *name)
{
    int b = 0;
    const char *v = fs_conf_str(conf, name);
    if (v)
        fs_parse_bool(v, &b);
    return b;
}

uint64_t fs_conf_u64(const fstore_conf_t *conf, const char *name)
{
    uint64_t u = 0;
    const char *v = fs_conf_str(conf, name);
    const fs_pdef *d = fs_pdef_find(name);
    if (v)
        fs_parse_base(v, d && d->type == P_OCTAL ? 8 : 10, &u);
    return u;
}

void fs_conf_each(const fstore_conf_t *conf, const char *prefix,
                  void (*fn)(const char *name, const char *value, void *arg),
                  void *arg)
{
    size_t n = strlen(prefix);
    for (size_t i = 0; conf && i < conf->n; i++)
        if (strncmp(conf->props[i].name, prefix, n) == 0)
            fn(conf->props[i].name, conf->props[i].value, arg);
}

void fs_log(const fstore_conf_t *conf, int level, const char *fmt, ...)
{
    if ((uint64_t)level > fs_conf_u64(conf, "log.level"))
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (conf && conf->log_cb) {
        conf->log_cb(conf->log_opaque, level, line);
        return;
    }
    static const char *const names[] = {"EMERG", "ALERT", "CRIT", "ERROR",
                                        "WARN",  "NOTICE", "INFO", "DEBUG"};
    fprintf(stderr, "fstore %s: %s\n", names[level & 7], line);
}
