/* fstore snapshot / fstore restore: a consistent copy of a store in one
 * compressed, checksummed file, and a new store made from it. */
#include <getopt.h>

#include "common/common.h"

void cmd_snapshot_usage(FILE *out)
{
    fprintf(out, "Usage: fstore snapshot --store DIR --out FILE\n\n"
                 "Writes a point-in-time copy of the store: every table, the "
                 "schemas and the\n"
                 "per-partition offsets of one instant, taken in one read "
                 "transaction while a\n"
                 "tailer keeps writing. The file is zstd-compressed as it "
                 "streams (memory stays\n"
                 "bounded) and checksummed; it appears under FILE only when "
                 "complete.\n\n"
                 "Options:\n"
                 "  --store DIR   the store (opened read-only)\n"
                 "  --out FILE    the snapshot file to write\n"
                 "  -h, --help    print this help\n\n"
                 "Exit status: 0 ok, 1 runtime error, 2 usage error.\n");
}

void cmd_restore_usage(FILE *out)
{
    fprintf(out,
            "Usage: fstore restore --in FILE --store DIR\n\n"
            "Creates store DIR from a snapshot. The whole file is verified "
            "first (format\n"
            "version and checksum): a corrupt or truncated file is refused "
            "and nothing is\n"
            "created. DIR must not exist or be empty; it appears complete or "
            "not at all.\n"
            "`fstore tail` on the restored store resumes at the snapshot's "
            "offsets.\n\n"
            "Options:\n"
            "  --in FILE     the snapshot file\n"
            "  --store DIR   the store directory to create\n"
            "  -h, --help    print this help\n\n"
            "Exit status: 0 ok, 1 runtime error (corrupt file, DIR not "
            "empty), 2 usage error.\n");
}

/* Parses --store/--out/--in; returns TOOL_OK or a usage/exit code. */
static int snap_args(const char *cmd, int argc, char **argv, const char **store,
                     const char **file, const char *file_opt,
                     void (*usage)(FILE *))
{
    static const struct option opts[] = {
        {"store", required_argument, NULL, 's'},
        {"out", required_argument, NULL, 'o'},
        {"in", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 's': *store = optarg; break;
        case 'o':
        case 'i':
            if ((c == 'o') != (file_opt[2] == 'o'))
                return tool_usage(cmd, "unknown option %s", argv[optind - 1]);
            *file = optarg;
            break;
        case 'h': usage(stdout); return -1;
        default: return tool_bad_option(cmd, c, optopt, argv);
        }
    }
    if (!*store)
        return tool_usage(cmd, "missing --store DIR");
    if (!*file)
        return tool_usage(cmd, "missing %s FILE", file_opt);
    if (optind < argc)
        return tool_usage(cmd, "unexpected argument '%s'", argv[optind]);
    return TOOL_OK;
}

int cmd_snapshot(int argc, char **argv)
{
    const char *dir = NULL, *out = NULL;
    int rc = snap_args("snapshot", argc, argv, &dir, &out, "--out",
                       cmd_snapshot_usage);
    if (rc)
        return rc < 0 ? TOOL_OK : rc;
    fstore_store_t *store = tool_open_read_only("snapshot", dir);
    if (!store)
        return TOOL_FAIL;
    char err[512] = "";
    fstore_err_t e = fstore_snapshot(store, out, err, sizeof err);
    fstore_store_close(store);
    if (e)
        return tool_fail("snapshot", e, err, "cannot write %s", out);
    fprintf(stderr, "fstore snapshot: wrote %s\n", out);
    return TOOL_OK;
}

int cmd_restore(int argc, char **argv)
{
    const char *dir = NULL, *in = NULL;
    int rc =
        snap_args("restore", argc, argv, &dir, &in, "--in", cmd_restore_usage);
    if (rc)
        return rc < 0 ? TOOL_OK : rc;
    char err[512] = "";
    fstore_err_t e = fstore_restore(in, dir, NULL, err, sizeof err);
    if (e)
        return tool_fail("restore", e, err, "cannot restore %s", in);
    fprintf(stderr, "fstore restore: created %s from %s\n", dir, in);
    return TOOL_OK;
}
