/* fstore verify: checks every row, offset and page of a store, as a reader. */
#include <getopt.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "common/status.h"
#include "support/fmt.h"

#define CMD "verify"

int cmd_verify(int argc, char **argv);
void cmd_verify_usage(FILE *out);

void cmd_verify_usage(FILE *out)
{
    fprintf(out,
            "Usage: fstore verify --store DIR [--json] [-q]\n\n"
            "Checks the whole store as a reader (a tailer may keep writing): "
            "every row of\n"
            "every table (header, fit to the table's schema, body checksum, "
            "key, offset\n"
            "against its partition's stored offset), every metadata entry, "
            "the key order\n"
            "of every database and LMDB's page accounting. Prints one line "
            "per damage\n"
            "(table, key, what is wrong: expected, found), then a summary. "
            "See docs/cli.md.\n\n"
            "Options:\n"
            "  --store DIR   the store directory (opened read-only)\n"
            "  --json        print the report as one JSON document instead\n"
            "  -q, --quiet   no progress line (shown on a terminal)\n"
            "  -h, --help    print this help\n\n"
            "Exit status: 0 no damage, 1 damage found or the check could "
            "not run, 2 usage\n"
            "error.\n");
}

typedef struct verify_progress {
    int live;
    double last;
} verify_progress;

static int verify_tick(void *opaque, uint64_t checked, uint64_t total)
{
    verify_progress *p = opaque;
    double now = tool_now();
    if (!p->live || now - p->last < 0.25)
        return 0;
    p->last = now;
    char a[SUP_GROUPED_MAX], b[SUP_GROUPED_MAX];
    sup_grouped((int64_t)checked, a, sizeof a);
    sup_grouped((int64_t)total, b, sizeof b);
    tool_status_line(CMD, 1, "%s of %s rows checked (%d%%)", a, b,
                     total ? (int)(100.0 * (double)checked / (double)total)
                           : 100);
    return 0;
}

static const char *verify_str(json_t *o, const char *name)
{
    const char *s = json_string_value(json_object_get(o, name));
    return s ? s : "";
}

/* One line per damage listed: where, what, expected, found. */
static void verify_print_damage(json_t *report)
{
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(report, "damage"), i, d)
    {
        json_t *table = json_object_get(d, "table"),
               *key = json_object_get(d, "key");
        if (table)
            printf("table %s", json_string_value(table));
        else
            printf("%s", verify_str(d, "kind"));
        if (key)
            printf(", key \"%s\"", json_string_value(key));
        printf(": %s: expected %s, found %s\n", verify_str(d, "what"),
               verify_str(d, "expected"), verify_str(d, "found"));
    }
}

static void verify_print_summary(json_t *report)
{
    json_int_t rows =
        json_integer_value(json_object_get(report, "rows_checked"));
    json_int_t bad =
        json_integer_value(json_object_get(report, "damaged_rows"));
    json_int_t n = json_integer_value(json_object_get(report, "damage_count"));
    json_int_t listed =
        json_integer_value(json_object_get(report, "damage_listed"));
    size_t ntables = json_array_size(json_object_get(report, "tables"));
    const char *acc = verify_str(json_object_get(report, "lmdb"), "accounting");
    char r[SUP_GROUPED_MAX], s[SUP_GROUPED_MAX], b[SUP_GROUPED_MAX];
    sup_grouped(rows, r, sizeof r);
    sup_grouped(json_integer_value(json_object_get(report, "stored_offsets")),
                s, sizeof s);
    printf("%s rows in %zu table%s, %s stored offsets, LMDB's page accounting "
           "%s: ",
           r, ntables, ntables == 1 ? "" : "s", s,
           !strcmp(acc, "checked") ? "checked" : "not checked");
    if (!n) {
        printf("no damage\n");
    } else {
        sup_grouped(n, s, sizeof s);
        sup_grouped(bad, b, sizeof b);
        printf("%s problem%s, %s damaged row%s\n", s, n == 1 ? "" : "s", b,
               bad == 1 ? "" : "s");
    }
    if (listed < n)
        printf("(the first %lld problems are listed)\n", (long long)listed);
    if (strcmp(acc, "checked") != 0)
        printf("LMDB's page accounting %s\n", acc);
}

static int verify_run(const char *dir, int as_json, int quiet)
{
    fstore_store_t *store = tool_open_read_only(CMD, dir);
    if (!store)
        return TOOL_FAIL;
    verify_progress p = {!quiet && isatty(STDERR_FILENO), 0};
    char errstr[512] = "", *text = NULL;
    fstore_err_t err =
        fstore_verify(store, verify_tick, &p, &text, errstr, sizeof errstr);
    if (p.live)
        tool_status_clear();
    fstore_store_close(store);
    if (!text)
        return tool_fail(CMD, err, errstr, "cannot check store %s", dir);
    json_t *report = as_json ? NULL : json_loads(text, 0, NULL);
    int rc = err == FSTORE_OK ? TOOL_OK : TOOL_FAIL;
    if (as_json)
        printf("%s\n", text);
    else if (!report)
        rc = tool_fail(CMD, FSTORE_ERR_NO_MEMORY, "", "cannot read the report");
    else {
        verify_print_damage(report);
        verify_print_summary(report);
    }
    if (err == FSTORE_ERR_CORRUPT)
        tool_msg(CMD, "%s", errstr);
    json_decref(report);
    fstore_free(text);
    return rc;
}

int cmd_verify(int argc, char **argv)
{
    static const struct option opts[] = {
        {"store", required_argument, NULL, 's'},
        {"json", no_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL;
    int as_json = 0, quiet = 0, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hq", opts, NULL)) != -1) {
        switch (c) {
        case 's': dir = optarg; break;
        case 'j': as_json = 1; break;
        case 'q': quiet = 1; break;
        case 'h': cmd_verify_usage(stdout); return TOOL_OK;
        default: return tool_bad_option(CMD, c, optopt, argv);
        }
    }
    if (!dir)
        return tool_usage(CMD, "missing --store DIR");
    if (optind < argc)
        return tool_usage(CMD, "unexpected argument '%s'", argv[optind]);
    return verify_run(dir, as_json, quiet);
}
