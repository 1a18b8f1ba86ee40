/* Configuration: validated string properties with defaults. */
#ifndef FSTORE_CONF_H
#define FSTORE_CONF_H

#include "internal.h"

typedef struct fs_prop {
    char *name;
    char *value;
} fs_prop;

struct fstore_conf_s {
    fs_prop *props;
    size_t n;
    size_t cap;
    fstore_log_cb *log_cb;
    void *log_opaque;
};

/*
 * The property table: every property fstore_conf_set accepts, with its
 * validation rules and its documentation. docs/configuration.md is
 * generated from it (tests/docs/gen_conf_doc.c), so a property is described
 * here and nowhere else.
 */
typedef enum fs_ptype {
    FS_P_BOOL,
    FS_P_U64,
    FS_P_OCTAL,
    FS_P_ENUM,
    FS_P_STRING,
    FS_P_PREFIX /* "prefix.*": any name under it, passed through unchecked */
} fs_ptype;

/* A section of the documentation: properties that belong together. */
typedef struct fs_pgroup {
    const char *title; /* heading, markdown */
    const char *intro; /* markdown before the property list, or NULL */
    const char *notes; /* markdown after it, or NULL */
} fs_pgroup;

typedef struct fs_pdef {
    const char *name;
    fs_ptype type;
    const char *def;     /* default, NULL when unset */
    const char *choices; /* FS_P_ENUM: '|'-separated */
    uint64_t min, max;   /* FS_P_U64 / FS_P_OCTAL bounds */
    const char *unit;    /* FS_P_U64: "bytes", "ms", or NULL */
    size_t group;        /* index into fs_conf_groups() */
    const char *doc;     /* one markdown paragraph, no newlines */
} fs_pdef;

/*
 * The librdkafka properties fstore sets on its own clients: defaults that
 * kafka.* may override, and forced settings it may not. The tailer applies
 * exactly this table and the documentation lists it.
 */
enum { FS_K_CONSUMER = 1, FS_K_PRODUCER = 2 };
typedef struct fs_kdef {
    const char *name, *value;
    unsigned clients; /* FS_K_CONSUMER | FS_K_PRODUCER */
    int forced;       /* applied after kafka.*, so it always wins */
    const char *why;  /* markdown, no newlines */
} fs_kdef;
const fs_kdef *fs_conf_kafka_defaults(size_t *n);

/* The property table in documentation order; *n receives its length. */
const fs_pdef *fs_conf_props(size_t *n);

/* The documentation's sections, in order; *n receives their number. */
const fs_pgroup *fs_conf_groups(size_t *n);

/* The value of name: the one set, else the default, else NULL. */
const char *fs_conf_str(const fstore_conf_t *conf, const char *name);

/* Parses helpers shared with validation; return 0 on success. */
int fs_parse_bool(const char *s, int *out);
int fs_parse_u64(const char *s, uint64_t *out);

/* Typed reads of properties already validated by fstore_conf_set. */
int fs_conf_bool(const fstore_conf_t *conf, const char *name);
uint64_t fs_conf_u64(const fstore_conf_t *conf, const char *name);

/* The permission bits of a store's files and of its directory
 * (store.file_mode, store.dir_mode or its default made from file_mode). */
void fs_conf_modes(const fstore_conf_t *conf, unsigned *file_mode,
                   unsigned *dir_mode);

/* Calls fn for every set property whose name starts with prefix. */
void fs_conf_each(const fstore_conf_t *conf, const char *prefix,
                  void (*fn)(const char *name, const char *value, void *arg),
                  void *arg);

/* Logs through the conf's callback, or to stderr, if level passes
 * log.level. */
void fs_log(const fstore_conf_t *conf, int level, const char *fmt, ...)
    FS_PRINTF(3, 4);

#endif
