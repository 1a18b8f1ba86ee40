/*
 * Helpers shared by the fstore subcommands: exit codes, messages, argument
 * checks, file reading and opening a store. The CLI uses the public API only.
 */
#ifndef FSTORE_TOOLS_COMMON_H
#define FSTORE_TOOLS_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include "fstore/fstore.h"

/* Exit codes: a contract documented in docs/cli.md. */
enum { TOOL_OK = 0, TOOL_FAIL = 1, TOOL_USAGE = 2 };

#define TOOL_PRINTF(f, a) __attribute__((format(printf, f, a)))

/** One subcommand: `fstore NAME ...` runs @p run with argv[0] = NAME. */
typedef struct tool_cmd {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
    void (*usage)(FILE *out);
} tool_cmd;

/* The subcommands (one file each). */
int cmd_demo(int argc, char **argv);
void cmd_demo_usage(FILE *out);
int cmd_tail(int argc, char **argv);
void cmd_tail_usage(FILE *out);
int cmd_aggregate(int argc, char **argv);
void cmd_aggregate_usage(FILE *out);
int cmd_get(int argc, char **argv);
void cmd_get_usage(FILE *out);
int cmd_stats(int argc, char **argv);
void cmd_stats_usage(FILE *out);
int cmd_export(int argc, char **argv);
void cmd_export_usage(FILE *out);
int cmd_produce(int argc, char **argv);
void cmd_produce_usage(FILE *out);
int cmd_snapshot(int argc, char **argv);
void cmd_snapshot_usage(FILE *out);
int cmd_restore(int argc, char **argv);
void cmd_restore_usage(FILE *out);
int cmd_verify(int argc, char **argv);
void cmd_verify_usage(FILE *out);

/** Prints "fstore CMD: message" and a newline to stderr. */
void tool_msg(const char *cmd, const char *fmt, ...) TOOL_PRINTF(2, 3);

/**
 * Reports a usage error of @p cmd and where to read the usage.
 * @return ::TOOL_USAGE, so callers can `return tool_usage(...)`.
 */
int tool_usage(const char *cmd, const char *fmt, ...) TOOL_PRINTF(2, 3);

/**
 * Reports a runtime error: the message, then the library's code name and
 * detail when @p detail is not empty. @return ::TOOL_FAIL.
 */
int tool_fail(const char *cmd, fstore_err_t err, const char *detail,
              const char *fmt, ...) TOOL_PRINTF(4, 5);

/**
 * Reports a getopt_long() failure of @p cmd for the option at
 * argv[optind - 1] (@p opt is what getopt returned: '?' or ':').
 * @return ::TOOL_USAGE.
 */
/** Parses a schema id (0..INT32_MAX); 0 on success, -1 otherwise. */
int tool_parse_id(const char *s, int32_t *id);

int tool_bad_option(const char *cmd, int opt, int opt_char, char **argv);

/** Reads the whole file @p path (NUL-terminated, malloc'd) or NULL + errno. */
char *tool_read_file(const char *path, size_t *len);

/** @return 1 when @p name is a usable table name ([A-Za-z0-9._-]+). */
int tool_table_name_ok(const char *name);

/** @return 1 when @p list is a partition list such as "0,2-5". */
int tool_partitions_ok(const char *list);

/**
 * Parses a non-negative number of seconds ("30", "0.5") into milliseconds.
 * @return 0, or -1 when @p s is not such a number or too large.
 */
int tool_parse_seconds(const char *s, int *ms);

/**
 * The property name -X @p prop sets: @p prop itself when it matches one
 * of @p ours (a NULL-terminated list; an entry ending in '.' matches as a
 * prefix, any other exactly), else "kafka." + @p prop (written to @p buf).
 */
const char *tool_prop_name(const char *prop, const char *const *ours, char *buf,
                           size_t size);

/**
 * Opens the store at @p dir read-only (store.read_only=true) and reports
 * failures as @p cmd. @return the store, or NULL after a message.
 */
fstore_store_t *tool_open_read_only(const char *cmd, const char *dir);

/**
 * Finds table @p name of @p store (in directory @p dir); when it is missing,
 * says which tables the store has. @return the table, or NULL after a
 * message.
 */
const fstore_table_t *tool_open_table(const char *cmd, fstore_store_t *store,
                                      const char *dir, const char *name);

#endif
