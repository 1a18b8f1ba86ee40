/*
 * Generates docs/configuration.md from the property table of
 * libfstore/src/conf.c, the one place where properties are described.
 *
 * Usage: gen_conf_doc             print the document
 *        gen_conf_doc -o FILE     write it to FILE
 *        gen_conf_doc --check FILE
 *                                 exit 1, saying how to regenerate, when
 *                                 FILE differs from the document
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

static const char fs_doc_head[] =
    "<!-- Generated from the property table in libfstore/src/conf.c by\n"
    "     tests/docs/gen_conf_doc.c. Edit the table, then run\n"
    "     scripts/gen-docs.sh. -->\n"
    "# Configuration\n"
    "\n"
    "All settings are string properties of a conf object "
    "(`fstore_conf_set`), the\n"
    "CLI's `-X name=value`, or the Python binding's keyword arguments. "
    "Unknown\n"
    "names and invalid values are refused with a message naming them.\n"
    "\n"
    "Booleans are `true` or `false` (also `1`/`0`, `yes`/`no`, `on`/`off`, "
    "in any\n"
    "case). Integers are decimal; sizes are in bytes and times in "
    "milliseconds.\n"
    "A property that is not set has its default; \"unset\" means no value "
    "at all.\n";

/* Writes a paragraph of prose wrapped at 79 columns. */
static void fs_prose(FILE *out, const char *s)
{
    size_t col = 0;
    while (*s) {
        size_t len = strcspn(s, " ");
        if (col > 0 && col + 1 + len > 79) {
            fputc('\n', out);
            col = 0;
        } else if (col > 0) {
            fputc(' ', out);
            col++;
        }
        fprintf(out, "%.*s", (int)len, s);
        col += len;
        s += len + (s[len] == ' ');
    }
    fputc('\n', out);
}

/* Writes s, escaping what would end a table cell. */
static void fs_cell(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputc('\\', out);
        fputc(*s, out);
    }
}

/* "16 GiB" for a whole number of binary units, else "" (buf of 32). */
static const char *fs_human_bytes(uint64_t v, char *buf)
{
    static const char *const units[] = {"bytes", "KiB", "MiB",
                                        "GiB",   "TiB", "PiB"};
    size_t u = 0;
    buf[0] = '\0';
    if (v < 1024 || v == UINT64_MAX)
        return buf;
    while (u + 1 < sizeof units / sizeof units[0] && v % 1024 == 0) {
        v /= 1024;
        u++;
    }
    if (u > 0)
        snprintf(buf, 32, "%" PRIu64 " %s", v, units[u]);
    return buf;
}

static int fs_is_bytes(const fs_pdef *d)
{
    return d->unit && strcmp(d->unit, "bytes") == 0;
}

/* A number as the allowed-values column shows it: "65536 (64 KiB)". */
static void fs_number(FILE *out, const fs_pdef *d, uint64_t v)
{
    char human[32];
    fprintf(out, "%" PRIu64, v);
    if (fs_is_bytes(d) && *fs_human_bytes(v, human))
        fprintf(out, " (%s)", human);
}

static void fs_type(FILE *out, const fs_pdef *d)
{
    switch (d->type) {
    case FS_P_BOOL: fputs("boolean", out); break;
    case FS_P_U64:
        fputs("integer", out);
        if (d->unit)
            fprintf(out, " (%s)", d->unit);
        break;
    case FS_P_OCTAL: fputs("octal", out); break;
    case FS_P_ENUM: fputs("enum", out); break;
    case FS_P_STRING:
    case FS_P_PREFIX: fputs("string", out); break;
    }
}

static void fs_default(FILE *out, const fs_pdef *d)
{
    char human[32];
    if (d->type == FS_P_PREFIX) {
        fputs("—", out); /* one per property under the prefix */
        return;
    }
    if (!d->def) {
        fputs("unset", out);
        return;
    }
    fprintf(out, "`%s`", d->def);
    if (fs_is_bytes(d) && *fs_human_bytes(strtoull(d->def, NULL, 10), human))
        fprintf(out, " (%s)", human);
}

static void fs_choices(FILE *out, const char *choices)
{
    const char *p = choices;
    while (*p) {
        size_t len = strcspn(p, "|");
        fprintf(out, "%s`%.*s`", p == choices ? "" : ", ", (int)len, p);
        p += len + (p[len] == '|');
    }
}

static void fs_allowed(FILE *out, const fs_pdef *d)
{
    switch (d->type) {
    case FS_P_BOOL: fputs("`true`, `false`", out); break;
    case FS_P_U64:
        fs_number(out, d, d->min);
        if (d->max == UINT64_MAX) {
            fputs(" or more", out);
            break;
        }
        fputs(" to ", out);
        fs_number(out, d, d->max);
        break;
    case FS_P_OCTAL:
        fprintf(out, "`%#" PRIo64 "` to `%#" PRIo64 "`", d->min, d->max);
        break;
    case FS_P_ENUM: fs_choices(out, d->choices); break;
    case FS_P_STRING: fputs("any non-empty string", out); break;
    case FS_P_PREFIX: fputs("any librdkafka property", out); break;
    }
}

static void fs_property(FILE *out, const fs_pdef *d)
{
    fprintf(out, "| `%s` | ", d->name);
    fs_type(out, d);
    fputs(" | ", out);
    fs_default(out, d);
    fputs(" | ", out);
    fs_allowed(out, d);
    fputs(" | ", out);
    fs_cell(out, d->doc);
    fputs(" |\n", out);
}

/* The group of the kafka.* pass-through, whose notes list fstore's own
 * librdkafka settings; SIZE_MAX when there is none. */
static size_t fs_kafka_group(const fs_pdef *props, size_t nprops)
{
    for (size_t i = 0; i < nprops; i++)
        if (props[i].type == FS_P_PREFIX && !strcmp(props[i].name, "kafka.*"))
            return props[i].group;
    return SIZE_MAX;
}

static void fs_kafka_defaults(FILE *out)
{
    size_t n;
    const fs_kdef *k = fs_conf_kafka_defaults(&n);
    fputs("\n| librdkafka property | value | clients | kind | why |\n", out);
    fputs("|---------------------|-------|---------|------|-----|\n", out);
    for (size_t i = 0; i < n; i++) {
        fprintf(out, "| `%s` | `%s` | %s | %s | ", k[i].name, k[i].value,
                k[i].clients == FS_K_CONSUMER   ? "consumer"
                : k[i].clients == FS_K_PRODUCER ? "dead-letter producer"
                                                : "both",
                k[i].forced ? "forced" : "default");
        fs_cell(out, k[i].why);
        fputs(" |\n", out);
    }
}

static void fs_group(FILE *out, size_t g, const fs_pgroup *group,
                     const fs_pdef *props, size_t nprops)
{
    fprintf(out, "\n## %s\n\n", group->title);
    if (group->intro) {
        fs_prose(out, group->intro);
        fputc('\n', out);
    }
    fputs("| property | type | default | allowed values | meaning |\n", out);
    fputs("|----------|------|---------|----------------|---------|\n", out);
    for (size_t i = 0; i < nprops; i++)
        if (props[i].group == g)
            fs_property(out, &props[i]);
    if (group->notes) {
        fputc('\n', out);
        fs_prose(out, group->notes);
    }
    if (g == fs_kafka_group(props, nprops))
        fs_kafka_defaults(out);
}

static void fs_document(FILE *out)
{
    size_t ngroups, nprops;
    const fs_pgroup *groups = fs_conf_groups(&ngroups);
    const fs_pdef *props = fs_conf_props(&nprops);
    fputs(fs_doc_head, out);
    for (size_t g = 0; g < ngroups; g++)
        fs_group(out, g, &groups[g], props, nprops);
}

/* The document in a malloc'd string, or NULL. */
static char *fs_render(size_t *len)
{
    char *buf = NULL;
    FILE *out = open_memstream(&buf, len);
    if (!out)
        return NULL;
    fs_document(out);
    if (fclose(out) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* The contents of path in a malloc'd string, or NULL. */
static char *fs_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    FILE *out = open_memstream(&buf, len);
    char chunk[4096];
    size_t n;
    while (out && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, out);
    int bad = ferror(f);
    fclose(f);
    if (!out || fclose(out) != 0 || bad) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* 1-based number of the first line where a and b differ. */
static size_t fs_first_diff_line(const char *a, const char *b)
{
    size_t line = 1;
    for (; *a && *a == *b; a++, b++)
        line += *a == '\n';
    return line;
}

static int fs_check(const char *path, const char *doc, size_t len)
{
    size_t have_len;
    char *have = fs_slurp(path, &have_len);
    if (!have) {
        fprintf(stderr, "gen_conf_doc: cannot read %s\n", path);
        return 1;
    }
    int same = have_len == len && memcmp(have, doc, len) == 0;
    if (!same)
        fprintf(stderr,
                "%s differs from the property table in libfstore/src/conf.c "
                "(first at line %zu).\nIt is generated: edit the table, then "
                "run scripts/gen-docs.sh and commit the result.\n",
                path, fs_first_diff_line(have, doc));
    free(have);
    return same ? 0 : 1;
}

static int fs_write(const char *path, const char *doc, size_t len)
{
    FILE *f = path ? fopen(path, "wb") : stdout;
    if (!f || fwrite(doc, 1, len, f) != len || (path && fclose(f) != 0)) {
        fprintf(stderr, "gen_conf_doc: cannot write %s\n",
                path ? path : "stdout");
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int check = argc == 3 && strcmp(argv[1], "--check") == 0;
    int to_file = argc == 3 && strcmp(argv[1], "-o") == 0;
    if (argc != 1 && !check && !to_file) {
        fputs("usage: gen_conf_doc [-o FILE | --check FILE]\n", stderr);
        return 2;
    }
    size_t len;
    char *doc = fs_render(&len);
    if (!doc) {
        fputs("gen_conf_doc: out of memory\n", stderr);
        return 1;
    }
    int rc = check ? fs_check(argv[2], doc, len)
                   : fs_write(to_file ? argv[2] : NULL, doc, len);
    free(doc);
    return rc;
}
