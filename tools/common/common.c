/* Helpers shared by the subcommands; see common.h. */
#include "common.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void tool_vmsg(const char *cmd, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void tool_vmsg(const char *cmd, const char *fmt, va_list ap)
{
    fprintf(stderr, "fstore %s: ", cmd);
    vfprintf(stderr, fmt, ap);
}

void tool_msg(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tool_vmsg(cmd, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int tool_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tool_vmsg(cmd, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nRun 'fstore %s --help' for usage.\n", cmd);
    return TOOL_USAGE;
}

int tool_fail(const char *cmd, fstore_err_t err, const char *detail,
              const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tool_vmsg(cmd, fmt, ap);
    va_end(ap);
    fprintf(stderr, ": %s (%s)\n",
            detail && *detail ? detail : fstore_strerror(err),
            fstore_err_name(err));
    return TOOL_FAIL;
}

int tool_bad_option(const char *cmd, int opt, int opt_char, char **argv)
{
    const char *arg = argv[optind - 1];
    if (opt == ':')
        return tool_usage(cmd, "option %s needs a value", arg);
    if (opt_char && strncmp(arg, "--", 2) != 0)
        return tool_usage(cmd, "unknown option -%c", opt_char);
    return tool_usage(cmd, "unknown option %s", arg);
}

char *tool_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, f);
        if (ferror(f) || feof(f))
            break;
        char *nb = cap > ((size_t)-1) / 2 ? NULL : realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            errno = ENOMEM;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int failed = !buf || ferror(f);
    int saved = errno;
    fclose(f);
    if (failed) {
        free(buf);
        errno = saved ? saved : EIO;
        return NULL;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

int tool_table_name_ok(const char *name)
{
    if (!*name)
        return 0;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
            return 0;
    return 1;
}

/* Reads a partition number at *p; @return 0 and advances, or -1. */
static int tool_part_number(const char **p, long *out)
{
    if (!isdigit((unsigned char)**p))
        return -1;
    char *end;
    errno = 0;
    *out = strtol(*p, &end, 10);
    if (errno || *out > INT32_MAX)
        return -1;
    *p = end;
    return 0;
}

int tool_partitions_ok(const char *list)
{
    const char *p = list;
    for (;;) {
        long lo, hi;
        if (tool_part_number(&p, &lo))
            return 0;
        if (*p == '-') {
            p++;
            if (tool_part_number(&p, &hi) || hi < lo)
                return 0;
        }
        if (*p == '\0')
            return 1;
        if (*p++ != ',')
            return 0;
    }
}

int tool_parse_seconds(const char *s, int *ms)
{
    if (!isdigit((unsigned char)*s) && *s != '.')
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end != '\0' || !(v >= 0) || v > 2000000.0)
        return -1;
    *ms = (int)(v * 1000.0 + 0.5);
    return 0;
}

fstore_store_t *tool_open_read_only(const char *cmd, const char *dir)
{
    char errstr[512] = "";
    fstore_conf_t *conf = fstore_conf_new();
    if (!conf) {
        tool_fail(cmd, FSTORE_ERR_NO_MEMORY, "", "cannot open store %s", dir);
        return NULL;
    }
    fstore_err_t err =
        fstore_conf_set(conf, "store.read_only", "true", errstr, sizeof errstr);
    fstore_store_t *store = NULL;
    if (!err)
        err = fstore_store_open(dir, conf, &store, errstr, sizeof errstr);
    fstore_conf_destroy(conf);
    if (err) {
        tool_fail(cmd, err, errstr, "cannot open store %s", dir);
        return NULL;
    }
    return store;
}

const fstore_table_t *tool_open_table(const char *cmd, fstore_store_t *store,
                                      const char *dir, const char *name)
{
    const fstore_table_t *t = NULL;
    fstore_err_t err = fstore_table_open(store, name, &t);
    if (err == FSTORE_OK)
        return t;
    if (err != FSTORE_ERR_NO_TABLE) {
        tool_fail(cmd, err, "", "cannot open table \"%s\"", name);
        return NULL;
    }
    fprintf(stderr, "fstore %s: no table \"%s\" in store %s; ", cmd, name, dir);
    size_t n = fstore_table_count(store);
    if (n == 0)
        fprintf(stderr, "the store has no tables yet (fstore tail creates "
                        "them)\n");
    else {
        fprintf(stderr, "use --table with one of:");
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, " %s",
                    fstore_table_name(fstore_table_at(store, i)));
        fputc('\n', stderr);
    }
    return NULL;
}

int tool_parse_id(const char *s, int32_t *id)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > INT32_MAX)
        return -1;
    *id = (int32_t)v;
    return 0;
}

const char *tool_prop_name(const char *prop, const char *const *ours, char *buf,
                           size_t size)
{
    for (; *ours; ours++) {
        size_t n = strlen(*ours);
        if ((*ours)[n - 1] == '.' ? strncmp(prop, *ours, n) == 0 : strcmp(prop, *ours) == 0)
            return prop;
    }
    snprintf(buf, size, "kafka.%s", prop);
    return buf;
}
