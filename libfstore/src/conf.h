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

/* The value of name: the one set, else the default, else NULL. */
const char *fs_conf_str(const fstore_conf_t *conf, const char *name);

/* Parses helpers shared with validation; return 0 on success. */
int fs_parse_bool(const char *s, int *out);
int fs_parse_u64(const char *s, uint64_t *out);

/* Typed reads of properties already validated by fstore_conf_set. */
int fs_conf_bool(const fstore_conf_t *conf, const char *name);
uint64_t fs_conf_u64(const fstore_conf_t *conf, const char *name);

/* Calls fn for every set property whose name starts with prefix. */
void fs_conf_each(const fstore_conf_t *conf, const char *prefix,
                  void (*fn)(const char *name, const char *value, void *arg),
                  void *arg);

/* Logs through the conf's callback, or to stderr, if level passes
 * log.level. */
void fs_log(const fstore_conf_t *conf, int level, const char *fmt, ...)
    FS_PRINTF(3, 4);

#endif
