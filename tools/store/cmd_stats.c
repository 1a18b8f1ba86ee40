/* fstore stats: a store's statistics as JSON (read-only). */
#include <getopt.h>

#include "common/common.h"

#define CMD "stats"

void cmd_stats_usage(FILE *out)
{
    fprintf(out,
            "Usage: fstore stats --store DIR\n\n"
            "Prints the statistics of the store as one JSON document: per "
            "table its row count\n"
            "and, per partition, the applied offset; and what the tailer "
            "last recorded (every\n"
            "tail.stats_interval_ms): state, end offsets, lag, last record "
            "timestamps,\n"
            "freshness percentiles and counters (applied, deleted, skipped, "
            "bytes).\n"
            "\"source\" says where the tailer's figures come from: "
            "\"recorded\" (what a tailer\n"
            "wrote into the store) or \"none\" (no tailer has run). "
            "See docs/stats.md.\n\n"
            "Options:\n"
            "  --store DIR   the store directory (opened read-only; a "
            "tailer may be writing)\n"
            "  -h, --help    print this help\n\n"
            "Exit status: 0 ok, 1 runtime error (no store), 2 usage "
            "error.\n");
}

int cmd_stats(int argc, char **argv)
{
    static const struct option opts[] = {
        {"store", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 's': dir = optarg; break;
        case 'h': cmd_stats_usage(stdout); return TOOL_OK;
        default: return tool_bad_option(CMD, c, optopt, argv);
        }
    }
    if (!dir)
        return tool_usage(CMD, "missing --store DIR");
    if (optind < argc)
        return tool_usage(CMD, "unexpected argument '%s'", argv[optind]);

    fstore_store_t *store = tool_open_read_only(CMD, dir);
    if (!store)
        return TOOL_FAIL;
    char *json = NULL;
    fstore_err_t err = fstore_stats_json(store, &json);
    int rc = TOOL_OK;
    if (err)
        rc = tool_fail(CMD, err, "", "cannot read the statistics of %s", dir);
    else
        printf("%s\n", json);
    fstore_free(json);
    fstore_store_close(store);
    return rc;
}
