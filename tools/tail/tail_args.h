/* The arguments of `fstore tail`: usage, parsing, and the conf they make. */
#ifndef FSTORE_TOOLS_TAIL_ARGS_H
#define FSTORE_TOOLS_TAIL_ARGS_H

#include "fstore/fstore.h"

/* One topic into one table: a --topic and the flags that follow it. */
typedef struct tail_table {
    const char *topic, *schema, *table, *partitions;
    fstore_format_t format;
    int32_t writer_id;
    int have_format, have_id;
} tail_table;

typedef struct tail_args {
    const char *brokers, *store, *registry, *schemas, *seed;
    tail_table *tables; /* in the order of their --topic */
    int ntables;
    int until_caught_up, timeout_ms, quiet;
    char **props; /* the -X values, in order */
    int nprops;
} tail_args;

/**
 * Parses argv into @p a (zero it first); @p a->props and @p a->tables must
 * have room for @p argc entries. @return TOOL_OK, TOOL_USAGE (message
 * printed), or -1 after printing --help.
 */
int tail_args_parse(int argc, char **argv, tail_args *a);

/**
 * Sets the properties of @p a into @p conf: the -X ones, then those of the
 * flags (so the flags win). @return TOOL_OK or TOOL_USAGE (message printed).
 */
int tail_args_conf(const tail_args *a, fstore_conf_t *conf);

#endif
