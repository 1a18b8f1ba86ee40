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
    fputs("Usage: fstore snapshot --store DIR --out FILE|- [-X PROP=VALUE "
          "...]\n\n"
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
          "  -X PROP=VALUE   a store.* property or log.level "
          "(docs/configuration.md), e.g.\n"
          "                  store.snapshot_threads=1 or store.file_mode=0640; "
          "repeatable\n"
          "  -h, --help      print this help\n\n"
          "Exit status: 0 ok, 1 runtime error, 2 usage error (also --out - "
          "to a terminal).\n",
          out);
}

void cmd_restore_usage(FILE *out)
{
    fputs("Usage: fstore restore --in FILE|-|URL --store DIR [-X PROP=VALUE "
          "...]\n\n"
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
          "  -X PROP=VALUE a store.* property or log.level for the new "
          "store, e.g.\n"
          "                store.sync=full (sync the store before moving it "
          "into place;\n"
          "                with the default, none, a machine crash soon after "
          "empties it\n"
          "                at its next writable open) or store.file_mode=0640; "
          "repeatable\n"
          "  -h, --help    print this help\n\n"
          "Exit status: 0 ok, 1 runtime error (damaged, truncated or "
          "unreachable source,\n"
          "DIR not empty), 2 usage error (also --in - from a terminal).\n",
          out);
}

/* Sets -X PROP=VALUE into conf: store properties and log.level only (the
 * store's files, sync, map, compression threads; nothing of Kafka).
 * Messages name the property, never its value. */
static int snap_prop(const char *cmd, char *arg, fstore_conf_t *conf)
{
    char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return tool_usage(cmd, "-X wants PROP=VALUE");
    *eq = '\0';
    int rc = TOOL_OK;
    char errstr[512] = "";
    if (strncmp(arg, "store.", 6) && strcmp(arg, "log.level"))
        rc = tool_usage(cmd,
                        "-X %s: only store.* properties and log.level apply "
                        "here",
                        arg);
    else if (!strcmp(arg, "store.read_only") || !strcmp(arg, "store.seed"))
        rc = tool_usage(cmd, "-X %s: not a property of fstore %s", arg, cmd);
    else if (fstore_conf_set(conf, arg, eq + 1, errstr, sizeof errstr))
        rc = tool_usage(cmd, "-X %s: %s", arg, errstr);
    *eq = '=';
    return rc;
}

/* Parses --store/--out/--in and -X into conf; returns TOOL_OK or a
 * usage/exit code (-1 after --help). */
static int snap_args(const char *cmd, int argc, char **argv, const char **store,
                     const char **file, const char *file_opt,
                     fstore_conf_t *conf, void (*usage)(FILE *))
{
    static const struct option opts[] = {
        {"store", required_argument, NULL, 's'},
        {"out", required_argument, NULL, 'o'},
        {"in", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, rc;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hX:", opts, NULL)) != -1) {
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
        case 'X':
            if ((rc = snap_prop(cmd, optarg, conf)))
                return rc;
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

static int snapshot_run(int argc, char **argv, fstore_conf_t *conf)
{
    const char *dir = NULL, *out = NULL;
    int rc = snap_args("snapshot", argc, argv, &dir, &out, "--out", conf,
                       cmd_snapshot_usage);
    if (rc)
        return rc < 0 ? TOOL_OK : rc;
    int to_stdout = !strcmp(out, "-");
    /* Compressed bytes would garble the terminal. */
    if (to_stdout && isatty(STDOUT_FILENO))
        return tool_usage("snapshot",
                          "--out -: standard output is a terminal; redirect "
                          "it to a file or a pipe");
    char err[1024] = "", size[32];
    fstore_store_t *store = NULL;
    fstore_err_t e =
        fstore_conf_set(conf, "store.read_only", "true", err, sizeof err);
    if (!e)
        e = fstore_store_open(dir, conf, &store, err, sizeof err);
    if (e)
        return tool_fail("snapshot", e, err, "cannot open store %s", dir);
    double t0 = tool_now();
    long long before = to_stdout ? snap_fd_pos(STDOUT_FILENO) : -1;
    e = to_stdout ? fstore_snapshot_fd(store, STDOUT_FILENO, err, sizeof err)
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

static int restore_run(int argc, char **argv, fstore_conf_t *conf)
{
    const char *dir = NULL, *in = NULL;
    int rc = snap_args("restore", argc, argv, &dir, &in, "--in", conf,
                       cmd_restore_usage);
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
    fstore_err_t e = fstore_restore(in, dir, conf, err, sizeof err);
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

/* Runs run() with a conf for the -X properties. */
static int snap_with_conf(const char *cmd, int argc, char **argv,
                          int (*run)(int, char **, fstore_conf_t *))
{
    fstore_conf_t *conf = fstore_conf_new();
    if (!conf)
        return tool_fail(cmd, FSTORE_ERR_NO_MEMORY, "", "starting");
    int rc = run(argc, argv, conf);
    fstore_conf_destroy(conf);
    return rc;
}

int cmd_snapshot(int argc, char **argv)
{
    return snap_with_conf("snapshot", argc, argv, snapshot_run);
}

int cmd_restore(int argc, char **argv)
{
    return snap_with_conf("restore", argc, argv, restore_run);
}
