/* fstore get: the rows of keys as JSON lines (read-only). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "common/json.h"
#include "support/lines.h"

#define CMD "get"

void cmd_get_usage(FILE *out)
{
    fputs("Usage: fstore get --store DIR --table NAME [--keys-from FILE] "
          "[--] [KEY...]\n\n"
          "Looks up each KEY (the Kafka record key, as text) in table NAME "
          "and prints one\n"
          "JSON object per key, in the order given, all read from one "
          "consistent snapshot:\n"
          "  {\"key\":K,\"found\":true,\"value\":{COLUMN:VALUE,...},"
          "\"timestamp\":MS,\n"
          "   \"partition\":P,\"offset\":O}\n"
          "  {\"key\":K,\"found\":false}\n"
          "Values: null, booleans, integers (int, long, dates and "
          "timestamps as numbers),\n"
          "numbers (float, double; NaN and infinities as null), strings "
          "(string, enum\n"
          "symbol), base64 strings (bytes, fixed) and arrays.\n\n"
          "Options:\n"
          "  --store DIR       the store directory, opened read-only (a "
          "tailer may be\n"
          "                    writing it meanwhile)\n"
          "  --table NAME      the table to read\n"
          "  --keys-from FILE  also read keys from FILE, one per line "
          "(\"-\" = stdin; empty\n"
          "                    lines are skipped, a trailing CR is "
          "removed)\n"
          "  -h, --help        print this help\n"
          "Keys that start with '-' go after \"--\".\n\n"
          "Exit status: 0 (also when keys are not found), 1 runtime error "
          "(no store, no\n"
          "such table, damaged row), 2 usage error.\n",
          out);
}

typedef struct get_ctx {
    fstore_reader_t *reader;
    const fstore_table_t *table;
    jbuf line;
} get_ctx;

/* Prints the line of one key. @return TOOL_OK or TOOL_FAIL (message out). */
static int get_one(get_ctx *g, const char *key, size_t len)
{
    const fstore_row_t *row = NULL;
    fstore_err_t err = fstore_get(g->reader, g->table, key, len, &row);
    if (err && err != FSTORE_NOT_FOUND)
        return tool_fail(CMD, err, fstore_reader_errmsg(g->reader),
                         "lookup of key \"%s\" failed", key);
    jbuf *b = &g->line;
    jbuf_clear(b);
    jbuf_puts(b, "{\"key\":");
    jbuf_string(b, key, len);
    if (err == FSTORE_NOT_FOUND) {
        jbuf_puts(b, ",\"found\":false}\n");
    } else {
        jbuf_puts(b, ",\"found\":true,\"value\":");
        if ((err = jbuf_row(b, g->table, row)))
            return tool_fail(CMD, err, "",
                             "cannot read the row of key \"%s\" (check the "
                             "store with fstore stats; rebuild it if damaged)",
                             key);
        jbuf_row_origin(b, row);
        jbuf_puts(b, "}\n");
    }
    if (b->oom)
        return tool_fail(CMD, FSTORE_ERR_NO_MEMORY, "", "key \"%s\"", key);
    if (fwrite(b->data, 1, b->len, stdout) != b->len) {
        tool_msg(CMD, "cannot write the output: %s", strerror(errno));
        return TOOL_FAIL;
    }
    return TOOL_OK;
}

static int get_from_file(get_ctx *g, const char *path)
{
    sup_lines in;
    if (sup_lines_open(&in, path)) {
        tool_msg(CMD, "cannot open --keys-from %s: %s", path, strerror(errno));
        return TOOL_FAIL;
    }
    ssize_t n;
    int rc = TOOL_OK;
    while (rc == TOOL_OK && (n = sup_lines_next(&in)) >= 0)
        if (n > 0)
            rc = get_one(g, in.line, (size_t)n);
    if (rc == TOOL_OK && sup_lines_failed(&in)) {
        tool_msg(CMD, "cannot read --keys-from %s: %s", path, strerror(errno));
        rc = TOOL_FAIL;
    }
    sup_lines_close(&in);
    return rc;
}

int cmd_get(int argc, char **argv)
{
    static const struct option opts[] = {
        {"store", required_argument, NULL, 's'},
        {"table", required_argument, NULL, 't'},
        {"keys-from", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL, *name = NULL, *keys_from = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 's': dir = optarg; break;
        case 't': name = optarg; break;
        case 'f': keys_from = optarg; break;
        case 'h': cmd_get_usage(stdout); return TOOL_OK;
        default: return tool_bad_option(CMD, c, optopt, argv);
        }
    }
    if (!dir)
        return tool_usage(CMD, "missing --store DIR");
    if (!name)
        return tool_usage(CMD, "missing --table NAME");
    if (optind == argc && !keys_from)
        return tool_usage(CMD, "give at least one KEY, or --keys-from FILE");
    for (int i = optind; i < argc; i++)
        if (!argv[i][0])
            return tool_usage(CMD, "keys must not be empty");

    fstore_store_t *store = tool_open_read_only(CMD, dir);
    if (!store)
        return TOOL_FAIL;
    get_ctx g = {NULL, NULL, {NULL, 0, 0, 0}};
    int rc = TOOL_OK;
    fstore_err_t err;
    if (!(g.table = tool_open_table(CMD, store, dir, name)))
        rc = TOOL_FAIL;
    else if ((err = fstore_reader_new(store, &g.reader)))
        rc = tool_fail(CMD, err, "", "cannot create a reader");
    for (int i = optind; rc == TOOL_OK && i < argc; i++)
        rc = get_one(&g, argv[i], strlen(argv[i]));
    if (rc == TOOL_OK && keys_from)
        rc = get_from_file(&g, keys_from);
    jbuf_free(&g.line);
    fstore_reader_destroy(g.reader);
    fstore_store_close(store);
    return rc;
}
