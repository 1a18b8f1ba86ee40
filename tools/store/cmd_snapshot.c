/* fstore snapshot / fstore restore: a consistent copy of a store as one
 * compressed, checksummed stream (to a file or standard output), and a new
 * store made from one (a file, standard input or an http(s) URL). */
#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "common/status.h"

void cmd_snapshot_usage(FILE *out)
{
    fputs("Usage: fstore snapshot --store DIR --out FILE|-\n\n"
          "Writes a point-in-time copy of the store: every table, the schemas "
          "and the\n"
          "per-partition offsets of one instant, taken in one read "
          "transaction while a\n"
          "tailer keeps writing. The copy is zstd-compressed as it streams "
          "(memory stays\n"
          "bounded) and checksummed. FILE appears only when complete. With "
          "--out - the\n"
          "snapshot streams to standard output, which must be a file or a "
          "pipe, not a\n"
          "terminal (e.g. | fstore restore --in - --store DIR2); a snapshot "
          "that fails\n"
          "midway leaves a stream that restore refuses. Messages go to "
          "stderr.\n\n"
          "Options:\n"
          "  --store DIR     the store (opened read-only)\n"
          "  --out FILE|-    the snapshot file to write, or - for standard "
          "output\n"
          "  -h, --help      print this help\n\n"
          "Exit status: 0 ok, 1 runtime error, 2 usage error (also --out - "
          "to a terminal).\n",
          out);
}

void cmd_restore_usage(FILE *out)
{
    fputs("Usage: fstore restore --in FILE|-|URL --store DIR\n\n"
          "Creates store DIR from a snapshot, read once, as it arrives, "
          "from FILE, from\n"
          "standard input (-, a pipe or a file, not a terminal) or from an "
          "http:// or\n"
          "https:// URL (an HTTP error status fails). Every entry is "
          "checked as it\n"
          "is read (format version, each row against its table, key order, "
          "entry count,\n"
          "checksum); the store is built inside DIR and moved into place "
          "only once all\n"
          "of it verified. DIR must not exist, or be an empty directory (a "
          "mount point\n"
          "will do). A damaged, truncated or unreachable source leaves no "
          "store: DIR\n"
          "stays empty (or absent, when it did not exist) and can be "
          "restored into\n"
          "again. Messages show a URL without its user:password@ and its "
          "query string.\n"
          "`fstore tail` on the restored store resumes at the snapshot's "
          "offsets.\n\n"
          "Options:\n"
          "  --in SRC      the snapshot: a file, - for standard input, or an "
          "http(s) URL\n"
          "  --store DIR   the store directory to create\n"
          "  -h, --help    print this help\n\n"
          "Exit status: 0 ok, 1 runtime error (damaged, truncated or "
          "unreachable source,\n"
          "DIR not empty), 2 usage error (also --in - from a terminal).\n",
          out);
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
            /* argv[optind - 1] may be the option's value: name it. */
            if ((c == 'o') != (file_opt[2] == 'o'))
                return tool_usage(cmd, "unknown option %s",
                                  c == 'o' ? "--out" : "--in");
            *file = optarg;
            break;
        case 'h': usage(stdout); return -1;
        default: return tool_bad_option(cmd, c, optopt, argv);
        }
    }
    if (!*store)
        return tool_usage(cmd, "missing --store DIR");
    if (!*file)
        return tool_usage(cmd, "missing %s %s", file_opt,
                          file_opt[2] == 'o' ? "FILE|-" : "FILE|-|URL");
    if (optind < argc)
        return tool_usage(cmd, "unexpected argument '%s'", argv[optind]);
    return TOOL_OK;
}

/* A size for people: "812 bytes", "4.2 KiB", "1.3 MiB", "2.0 GiB". */
static const char *snap_size(long long n, char *buf, size_t size)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
    if (n < 1024) {
        snprintf(buf, size, "%lld bytes", n);
        return buf;
    }
    double v = (double)n / 1024;
    size_t u = 0;
    while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024;
        u++;
    }
    snprintf(buf, size, "%.1f %s", v, units[u]);
    return buf;
}

/* The position of fd when it is a regular file (what it wrote or read so
 * far), or -1 for a pipe, a socket, a terminal. */
static long long snap_fd_pos(int fd)
{
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode))
        return -1;
    off_t pos = lseek(fd, 0, SEEK_CUR);
    return pos < 0 ? -1 : (long long)pos;
}

int cmd_snapshot(int argc, char **argv)
{
    const char *dir = NULL, *out = NULL;
    int rc = snap_args("snapshot", argc, argv, &dir, &out, "--out",
                       cmd_snapshot_usage);
    if (rc)
        return rc < 0 ? TOOL_OK : rc;
    int to_stdout = !strcmp(out, "-");
    /* Compressed bytes would garble the terminal. */
    if (to_stdout && isatty(STDOUT_FILENO))
        return tool_usage("snapshot",
                          "--out -: standard output is a terminal; redirect "
                          "it to a file or a pipe");
    fstore_store_t *store = tool_open_read_only("snapshot", dir);
    if (!store)
        return TOOL_FAIL;
    char err[1024] = "", size[32];
    double t0 = tool_now();
    long long before = to_stdout ? snap_fd_pos(STDOUT_FILENO) : -1;
    fstore_err_t e =
        to_stdout ? fstore_snapshot_fd(store, STDOUT_FILENO, err, sizeof err)
                  : fstore_snapshot(store, out, err, sizeof err);
    fstore_store_close(store);
    if (e)
        return tool_fail("snapshot", e, err, "cannot write %s",
                         to_stdout ? "the snapshot to standard output" : out);
    double secs = tool_now() - t0;
    struct stat st;
    long long bytes = -1;
    if (!to_stdout && stat(out, &st) == 0)
        bytes = (long long)st.st_size;
    else if (before >= 0 && snap_fd_pos(STDOUT_FILENO) >= before)
        bytes = snap_fd_pos(STDOUT_FILENO) - before;
    if (bytes >= 0)
        tool_msg("snapshot", "wrote %s (%s) in %.2f s",
                 to_stdout ? "standard output" : out,
                 snap_size(bytes, size, sizeof size), secs);
    else
        tool_msg("snapshot", "wrote standard output in %.2f s", secs);
    return TOOL_OK;
}

int cmd_restore(int argc, char **argv)
{
    const char *dir = NULL, *in = NULL;
    int rc =
        snap_args("restore", argc, argv, &dir, &in, "--in", cmd_restore_usage);
    if (rc)
        return rc < 0 ? TOOL_OK : rc;
    if (!strcmp(in, "-") && isatty(STDIN_FILENO))
        return tool_usage("restore",
                          "--in -: standard input is a terminal; pipe or "
                          "redirect a snapshot into it");
    /* The source's size, when it is a regular file (a path, or standard
     * input redirected from one); a URL's or a pipe's is not known. */
    struct stat st;
    long long in_bytes = -1;
    if (!strcmp(in, "-")) {
        long long pos = snap_fd_pos(STDIN_FILENO);
        if (pos >= 0 && fstat(STDIN_FILENO, &st) == 0)
            in_bytes = (long long)st.st_size - pos;
    } else if (!strstr(in, "://") && stat(in, &st) == 0 && S_ISREG(st.st_mode))
        in_bytes = (long long)st.st_size;
    char err[1024] = "", size[32], snap[64] = "";
    double t0 = tool_now();
    fstore_err_t e = fstore_restore(in, dir, NULL, err, sizeof err);
    /* The library's message names the source as it may be shown: a URL
     * without credentials or query, which the raw --in value may hold. */
    if (e)
        return tool_fail("restore", e, err, "cannot restore into %s", dir);
    double secs = tool_now() - t0;
    char data[4200];
    snprintf(data, sizeof data, "%s/data.mdb", dir);
    long long store_bytes = stat(data, &st) == 0 ? (long long)st.st_size : -1;
    if (in_bytes >= 0)
        snprintf(snap, sizeof snap, ", from a snapshot of %s",
                 snap_size(in_bytes, size, sizeof size));
    tool_msg("restore", "created %s in %.2f s: store of %s%s", dir, secs,
             store_bytes >= 0 ? snap_size(store_bytes, size, sizeof size)
                              : "unknown size",
             snap);
    return TOOL_OK;
}
