/*
 * fstore: the command-line tool. Dispatches `fstore CMD ...` to one
 * subcommand; each lives in its own cmd_*.c file, in the folder of its
 * family (tools/CMakeLists.txt lists them), and uses the public API only.
 * To add a command, write cmd_NAME.c with cmd_NAME() and cmd_NAME_usage(),
 * declare them in common/common.h, list the file in tools/CMakeLists.txt
 * and add a row below.
 */
#include <stdio.h>
#include <string.h>

#include "common/common.h"

static const tool_cmd tool_cmds[] = {
    {"demo", "run the whole pipeline on a mock Kafka cluster and time it",
     cmd_demo, cmd_demo_usage},
    {"tail", "keep a store current from a Kafka topic (the writer)", cmd_tail,
     cmd_tail_usage},
    {"aggregate", "compute windowed features from a topic of events",
     cmd_aggregate, cmd_aggregate_usage},
    {"get", "print the rows of keys as JSON lines", cmd_get, cmd_get_usage},
    {"stats", "print a store's statistics as JSON", cmd_stats, cmd_stats_usage},
    {"export", "write every row of a table to a JSON lines, CSV or Avro file",
     cmd_export, cmd_export_usage},
    {"produce", "send JSON lines to a topic as Confluent-framed Avro records",
     cmd_produce, cmd_produce_usage},
    {"snapshot", "write a consistent, compressed copy of a store", cmd_snapshot,
     cmd_snapshot_usage},
    {"restore", "create a store from a snapshot (a file, stdin or a URL)", cmd_restore,
     cmd_restore_usage},
    {"verify", "check every row, offset and page of a store", cmd_verify,
     cmd_verify_usage},
};

#define TOOL_NCMDS (sizeof tool_cmds / sizeof tool_cmds[0])

static void usage(FILE *out)
{
    fprintf(out, "Usage: fstore COMMAND [OPTIONS]\n"
                 "       fstore COMMAND --help\n"
                 "       fstore --help | --version\n\n"
                 "Serve the current features of every entity of a "
                 "log-compacted Kafka topic\n"
                 "from a memory-mapped store.\n\n"
                 "Commands:\n");
    for (size_t i = 0; i < TOOL_NCMDS; i++)
        fprintf(out, "  %-9s %s\n", tool_cmds[i].name, tool_cmds[i].summary);
    fprintf(out, "  %-9s %s\n", "help", "print the usage of a command");
    fprintf(out, "\nExit status: 0 success, 1 runtime error, 2 usage error.\n"
                 "Documentation: docs/cli.md.\n");
}

static const tool_cmd *find_cmd(const char *name)
{
    for (size_t i = 0; i < TOOL_NCMDS; i++)
        if (strcmp(tool_cmds[i].name, name) == 0)
            return &tool_cmds[i];
    return NULL;
}

static int unknown_cmd(const char *name)
{
    fprintf(stderr, "fstore: unknown command '%s'\n\n", name);
    usage(stderr);
    return TOOL_USAGE;
}

/* `fstore help [CMD]` */
static int help(int argc, char **argv)
{
    if (argc < 2) {
        usage(stdout);
        return TOOL_OK;
    }
    const tool_cmd *c = find_cmd(argv[1]);
    if (!c)
        return unknown_cmd(argv[1]);
    c->usage(stdout);
    return TOOL_OK;
}

static int flush_stdout(int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("fstore: cannot write the output");
        return rc ? rc : TOOL_FAIL;
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return TOOL_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
        usage(stdout);
        return flush_stdout(TOOL_OK);
    }
    if (!strcmp(name, "--version") || !strcmp(name, "-V")) {
        printf("fstore %s\n", fstore_version_str());
        return flush_stdout(TOOL_OK);
    }
    if (!strcmp(name, "help"))
        return flush_stdout(help(argc - 1, argv + 1));
    const tool_cmd *c = find_cmd(name);
    if (!c)
        return unknown_cmd(name);
    return flush_stdout(c->run(argc - 1, argv + 1));
}
