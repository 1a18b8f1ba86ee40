/* Configuration properties: names, defaults, validation and their
 * documentation (the table docs/configuration.md is generated from). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "conf.h"

enum { FS_G_STORE, FS_G_SCHEMAS, FS_G_TAIL, FS_G_AGG, FS_G_KAFKA, FS_G_LOG, FS_G_N };

static const fs_pgroup fs_pgroups[FS_G_N] = {
    [FS_G_STORE] =
        {.title = "Store (`store.*`)",
         .intro = "Read when a store is opened (`fstore_store_open()`) and "
                  "when one is created from a snapshot (`fstore_restore()`)."},
    [FS_G_SCHEMAS] =
        {.title = "Writer schemas (`registry.*`, `schemas.*`)",
         .intro = "Where the writer schema of a record comes from when the "
                  "store has not seen its schema id yet.",
         .notes = "Lookup order for a schema id: the store, the registry, "
                  "the directory."},
    [FS_G_TAIL] = {.title = "Tailing (`tail.*`)",
                   .intro = "Read when tailing starts (`fstore_tail_start()`, "
                            "`fstore tail`)."},
    [FS_G_AGG] = {.title = "Aggregation (`aggregate.*`)",
                  .intro = "Read when an aggregator is created "
                           "(`fstore_aggregator_new()`, `fstore aggregate`)."},
    [FS_G_KAFKA] =
        {.title = "Kafka client (`kafka.*`)",
         .notes = "fstore sets these librdkafka properties on its consumer "
                  "and on the dead-letter producer. Defaults give way to "
                  "`kafka.*`; forced settings do not."},
    [FS_G_LOG] = {.title = "Logging (`log.*`)"},
};

static const fs_pdef fs_pdefs[] = {
    {.name = "store.read_only",
     .type = FS_P_BOOL,
     .def = "false",
     .group = FS_G_STORE,
     .doc = "Open without writing; fails with `FSTORE_ERR_NO_STORE` when no "
            "store exists at the path."},
    {.name = "store.file_mode",
     .type = FS_P_OCTAL,
     .def = "0600",
     .max = 0777,
     .group = FS_G_STORE,
     .doc = "Permission bits of the store's files (`data.mdb`, `lock.mdb`, "
            "`writer.lock`), exactly, whatever the process's umask: given "
            "when a file is made, and again at every writable open to a file "
            "whose bits differ. Readers open `lock.mdb` for writing (LMDB's "
            "reader table), so readers running as another user of the group "
            "need `0660`."},
    {.name = "store.dir_mode",
     .type = FS_P_OCTAL,
     .max = 0777,
     .group = FS_G_STORE,
     .doc = "Permission bits of the store directory when the store makes it, "
            "exactly, whatever the umask (a directory that exists keeps its "
            "own). Unset: `store.file_mode` with `x` wherever it has `r`, "
            "`0700` for the default."},
    {.name = "store.map_size",
     .type = FS_P_U64,
     .def = "17179869184",
     .min = 65536,
     .max = UINT64_MAX,
     .unit = "bytes",
     .group = FS_G_STORE,
     .doc = "Initial memory-map size. It reserves address space only: the "
            "file grows with the data. When the map is full it doubles; "
            "growing waits (at most 60 s) until every reader of the process "
            "has reset or refreshed, so a generous size avoids the wait."},
    {.name = "store.map_size.max",
     .type = FS_P_U64,
     .def = "1099511627776",
     .min = 65536,
     .max = UINT64_MAX,
     .unit = "bytes",
     .group = FS_G_STORE,
     .doc = "Growth of the map stops here with `FSTORE_ERR_MAP_FULL`."},
    {.name = "store.max_tables",
     .type = FS_P_U64,
     .def = "64",
     .min = 1,
     .max = 32000,
     .group = FS_G_STORE,
     .doc = "Tables one store may hold."},
    {.name = "store.max_readers",
     .type = FS_P_U64,
     .def = "512",
     .min = 1,
     .max = 1000000,
     .group = FS_G_STORE,
     .doc = "Concurrent reader handles over all processes; beyond them, "
            "`FSTORE_ERR_READERS_FULL`."},
    {.name = "store.sync",
     .type = FS_P_ENUM,
     .def = "none",
     .choices = "full|meta|none",
     .group = FS_G_STORE,
     .doc = "When commits reach the disk. `none`: no fsync at commit "
            "(commits cost microseconds); process crashes are always safe "
            "(the page cache survives them), and a store that was open for "
            "writing when its machine crashed is emptied at the next "
            "writable open and reloaded by tailing, since its last commits "
            "may be torn (`writer.lock` records the boot it was opened in). "
            "`meta`: fsync the data at every commit but not the metadata "
            "page (a machine crash may lose the last commit, never "
            "integrity). `full`: fsync data and metadata. Syncing commits "
            "costs milliseconds each on typical disks and bounds freshness "
            "accordingly. A clean close always syncs. A restore "
            "(`fstore_restore()`, `store.seed`) under `none` does not wait "
            "for the disk either: the store it makes counts as open for "
            "writing in this boot, so a machine crash before its pages "
            "reach the disk empties it at its next writable open; under "
            "`meta` and `full` it syncs the store before moving it into "
            "place."},
    {.name = "store.seed",
     .type = FS_P_STRING,
     .group = FS_G_STORE,
     .doc = "A snapshot to start an empty store from: a file path, `-` for "
            "standard input, or an `http://` or `https://` URL (streamed, "
            "never held whole). A writable open of a directory that holds "
            "no store restores it first (`fstore_restore()`), so tailing "
            "resumes at the snapshot's offsets instead of bootstrapping the "
            "topic; a directory that holds a store ignores it. A damaged, "
            "truncated or unreachable seed fails the open and leaves the "
            "directory without a store. Messages show a URL without its "
            "user information and query string."},
    {.name = "store.snapshot_threads",
     .type = FS_P_U64,
     .def = "0",
     .max = 64,
     .group = FS_G_STORE,
     .doc = "Compression threads of `fstore_snapshot()`: 0 for one per "
            "online core (at most 4), 1 to compress on the calling thread "
            "alone. Restore decompresses on the calling thread."},
    {.name = "registry.url",
     .type = FS_P_STRING,
     .group = FS_G_SCHEMAS,
     .doc = "Schema Registry base URL: writer schemas are fetched from "
            "`GET {url}/schemas/ids/{id}` and cached in the store, so a "
            "restart needs no registry."},
    {.name = "registry.timeout_ms",
     .type = FS_P_U64,
     .def = "5000",
     .min = 1,
     .max = 3600000,
     .unit = "ms",
     .group = FS_G_SCHEMAS,
     .doc = "Timeout of one registry request."},
    {.name = "schemas.dir",
     .type = FS_P_STRING,
     .group = FS_G_SCHEMAS,
     .doc = "Directory of `<id>.avsc` writer schema files, consulted after "
            "the registry."},
    {.name = "tail.batch.max_records",
     .type = FS_P_U64,
     .def = "10000",
     .min = 1,
     .max = 10000000,
     .group = FS_G_TAIL,
     .doc = "Most records applied per write transaction."},
    {.name = "tail.batch.max_ms",
     .type = FS_P_U64,
     .def = "2",
     .min = 0,
     .max = 60000,
     .unit = "ms",
     .group = FS_G_TAIL,
     .doc = "Most time a received record waits for its batch to commit; "
            "bounds the added produce-to-visible latency. Both batch limits "
            "apply once the store is ready; before, batches are larger."},
    {.name = "tail.bootstrap.max_bytes",
     .type = FS_P_U64,
     .def = "1073741824",
     .min = 0,
     .max = UINT64_MAX,
     .unit = "bytes",
     .group = FS_G_TAIL,
     .doc = "Memory of the first bootstrap (no table has offsets yet): "
            "its rows are loaded in key order in one transaction when caught "
            "up, several times faster than random inserts, and appear all at "
            "once at readiness. The rows are gathered in runs (64 MiB at "
            "first, doubling every 8 runs, at most half of this), each sorted "
            "and written to a temporary file in the store's directory (gone "
            "when done, or with a crash) on a thread of its own while the "
            "next fills; the runs are merged at the end. Needs about as much "
            "free disk as the store itself beside it. After 64 runs the load "
            "commits and the rest applies in record order. 0 disables it: "
            "the first bootstrap then commits every 200 000 records or 2 s, "
            "as later ones do before readiness."},
    {.name = "tail.offset_reset",
     .type = FS_P_ENUM,
     .def = "fail",
     .choices = "fail|rebuild",
     .group = FS_G_TAIL,
     .doc = "What to do when a stored offset no longer exists in the topic "
            "(truncated, or deleted and recreated), or the topic was "
            "replaced (the offset of the record the store applied last holds "
            "another record: docs/architecture.md, \"A replaced topic\"): "
            "`fail` "
            "stops the tailer with an error; `rebuild` empties the table and "
            "reloads it from the beginning of the topic."},
    {.name = "tail.dead_letter_topic",
     .type = FS_P_STRING,
     .group = FS_G_TAIL,
     .doc = "Every record the tailer skips (no key, undecodable, unknown or "
            "unresolvable writer schema) is also produced to this topic, "
            "unchanged, with headers `fstore.topic`, `fstore.partition`, "
            "`fstore.offset`, `fstore.error`, `fstore.reason`."},
    {.name = "aggregate.group",
     .type = FS_P_STRING,
     .def = "fstore-aggregate",
     .group = FS_G_AGG,
     .doc = "Kafka consumer group of the aggregator: instances with the same "
            "group share the input partitions, and the group holds the "
            "input offsets that each transaction commits."},
    {.name = "aggregate.commit_ms",
     .type = FS_P_U64,
     .def = "100",
     .min = 1,
     .max = 60000,
     .unit = "ms",
     .group = FS_G_AGG,
     .doc = "How long one Kafka transaction gathers events before it "
            "commits: input offsets, output records and changelog records "
            "together. It bounds event-to-output latency from below; "
            "shorter intervals cost more transactions."},
    {.name = "aggregate.dead_letter_topic",
     .type = FS_P_STRING,
     .group = FS_G_AGG,
     .doc = "Every event the aggregator skips (no key, undecodable, unknown "
            "writer schema, no usable time) is also produced to this topic, "
            "unchanged, in the same transaction as the rest, with headers "
            "`fstore.topic`, `fstore.partition`, `fstore.offset`, "
            "`fstore.reason`. Created if absent, partitioned as the events."},
    {.name = "aggregate.instance",
     .type = FS_P_STRING,
     .group = FS_G_AGG,
     .doc = "This instance's name, the suffix of its transactional id "
            "(`<group>-<instance>`). Unset: derived from the state "
            "directory's absolute path, so a restarted instance fences its "
            "own earlier incarnation. Two live instances must differ."},
    {.name = "tail.stats_interval_ms",
     .type = FS_P_U64,
     .def = "1000",
     .min = 10,
     .max = 3600000,
     .unit = "ms",
     .group = FS_G_TAIL,
     .doc = "How often the tailer records its statistics in the store, "
            "where `fstore_stats_json()` in other processes reads them."},
    {.name = "kafka.*",
     .type = FS_P_PREFIX,
     .group = FS_G_KAFKA,
     .doc = "Passed to the Kafka client (librdkafka) with the prefix "
            "removed; `kafka.bootstrap.servers` is required to tail. "
            "Security settings (`kafka.security.protocol`, `kafka.sasl.*`, "
            "`kafka.ssl.*`) pass untouched and never appear in logs or "
            "stats. librdkafka checks the values when tailing starts."},
    {.name = "log.level",
     .type = FS_P_U64,
     .def = "4",
     .min = 0,
     .max = 7,
     .group = FS_G_LOG,
     .doc = "Most verbose level logged: 0 nothing, 3 errors, 4 warnings, "
            "6 info, 7 debug. Lines go to the log callback "
            "(`fstore_conf_set_log_cb()`), or to stderr."},
};

#define FS_NPDEFS (sizeof fs_pdefs / sizeof fs_pdefs[0])

#define FS_K_BOTH (FS_K_CONSUMER | FS_K_PRODUCER)
static const fs_kdef fs_kdefs[] = {
    {"group.id", "fstore", FS_K_CONSUMER, 0,
     "No group is joined and nothing is committed to it; the consumer only "
     "needs a name."},
    {"isolation.level", "read_committed", FS_K_CONSUMER, 0,
     "Records of aborted transactions are never applied."},
    {"enable.partition.eof", "false", FS_K_CONSUMER, 0,
     "Readiness comes from positions, not end-of-partition events."},
    {"fetch.wait.max.ms", "10", FS_K_CONSUMER, 0,
     "A fetch returns soon when the broker has nothing new: freshness."},
    {"queued.min.messages", "1000000", FS_K_CONSUMER, 0,
     "A bootstrap's fetches never stop for a full local queue: with "
     "librdkafka's 100000 a partition holding more is not fetched again for "
     "fetch.error.backoff.ms, and a bootstrap waited for the broker half its "
     "time. The queue stays bounded by queued.max.messages.kbytes."},
    {"enable.idempotence", "true", FS_K_PRODUCER, 0,
     "Dead letters are written once, in order."},
    {"linger.ms", "5", FS_K_PRODUCER, 0, "Dead letters leave in small batches."},
    {"client.id", "fstore", FS_K_BOTH, 0, "How the broker's logs name fstore."},
    {"socket.nagle.disable", "true", FS_K_BOTH, 0,
     "Requests leave at once instead of waiting for acknowledgements of "
     "earlier ones (Kafka's own clients set TCP_NODELAY too)."},
    {"enable.auto.commit", "false", FS_K_CONSUMER, 1,
     "Offsets live in the store, committed with the rows."},
    {"enable.auto.offset.store", "false", FS_K_CONSUMER, 1,
     "Offsets live in the store, committed with the rows."},
    {"auto.offset.reset", "error", FS_K_CONSUMER, 1,
     "A vanished offset is handled by `tail.offset_reset`, never silently."},
};

const fs_kdef *fs_conf_kafka_defaults(size_t *n)
{
    *n = sizeof fs_kdefs / sizeof fs_kdefs[0];
    return fs_kdefs;
}

const fs_pdef *fs_conf_props(size_t *n)
{
    *n = FS_NPDEFS;
    return fs_pdefs;
}

const fs_pgroup *fs_conf_groups(size_t *n)
{
    *n = FS_G_N;
    return fs_pgroups;
}

/* A prefix entry "kafka.*" matches "kafka." followed by at least one
 * character. */
static int fs_pdef_matches(const fs_pdef *d, const char *name)
{
    if (d->type != FS_P_PREFIX)
        return strcmp(d->name, name) == 0;
    size_t stem = strlen(d->name) - 1;
    return strncmp(d->name, name, stem) == 0 && name[stem] != '\0';
}

static const fs_pdef *fs_pdef_find(const char *name)
{
    for (size_t i = 0; i < FS_NPDEFS; i++)
        if (fs_pdef_matches(&fs_pdefs[i], name))
            return &fs_pdefs[i];
    return NULL;
}

int fs_parse_bool(const char *s, int *out)
{
    if (!strcasecmp(s, "true") || !strcmp(s, "1") || !strcasecmp(s, "yes") ||
        !strcasecmp(s, "on"))
        *out = 1;
    else if (!strcasecmp(s, "false") || !strcmp(s, "0") ||
             !strcasecmp(s, "no") || !strcasecmp(s, "off"))
        *out = 0;
    else
        return -1;
    return 0;
}

static int fs_parse_base(const char *s, int base, uint64_t *out)
{
    if (*s == '\0' || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, base);
    if (errno || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

int fs_parse_u64(const char *s, uint64_t *out) { return fs_parse_base(s, 10, out); }

static int fs_choice_ok(const char *choices, const char *v)
{
    size_t n = strlen(v);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0)
            return 1;
        p += len + (bar ? 1 : 0);
    }
    return 0;
}

fstore_conf_t *fstore_conf_new(void) { return calloc(1, sizeof(fstore_conf_t)); }

void fstore_conf_destroy(fstore_conf_t *conf)
{
    if (!conf)
        return;
    for (size_t i = 0; i < conf->n; i++) {
        free(conf->props[i].name);
        free(conf->props[i].value);
    }
    free(conf->props);
    free(conf);
}

static fs_prop *fs_conf_find(const fstore_conf_t *conf, const char *name)
{
    for (size_t i = 0; i < conf->n; i++)
        if (strcmp(conf->props[i].name, name) == 0)
            return &conf->props[i];
    return NULL;
}

static fstore_err_t fs_conf_put(fstore_conf_t *conf, const char *name,
                                const char *value)
{
    fs_prop *p = fs_conf_find(conf, name);
    char *v = fs_strdup(value);
    if (!v)
        return FSTORE_ERR_NO_MEMORY;
    if (p) {
        free(p->value);
        p->value = v;
        return FSTORE_OK;
    }
    if (conf->n == conf->cap) {
        size_t cap = conf->cap ? conf->cap * 2 : 8;
        fs_prop *np = realloc(conf->props, cap * sizeof *np);
        if (!np) {
            free(v);
            return FSTORE_ERR_NO_MEMORY;
        }
        conf->props = np;
        conf->cap = cap;
    }
    char *n = fs_strdup(name);
    if (!n) {
        free(v);
        return FSTORE_ERR_NO_MEMORY;
    }
    conf->props[conf->n].name = n;
    conf->props[conf->n].value = v;
    conf->n++;
    return FSTORE_OK;
}

fstore_err_t fstore_conf_set_log_cb(fstore_conf_t *conf, fstore_log_cb *cb,
                                    void *opaque)
{
    if (!conf)
        return FSTORE_ERR_INVALID_ARG;
    conf->log_cb = cb;
    conf->log_opaque = opaque;
    return FSTORE_OK;
}

fstore_conf_t *fstore_conf_dup(const fstore_conf_t *conf)
{
    if (!conf)
        return NULL;
    fstore_conf_t *d = fstore_conf_new();
    if (!d)
        return NULL;
    d->log_cb = conf->log_cb;
    d->log_opaque = conf->log_opaque;
    for (size_t i = 0; i < conf->n; i++) {
        if (fs_conf_put(d, conf->props[i].name, conf->props[i].value)) {
            fstore_conf_destroy(d);
            return NULL;
        }
    }
    return d;
}

fstore_err_t fstore_conf_set(fstore_conf_t *conf, const char *name,
                             const char *value, char *errstr,
                             size_t errstr_size)
{
    if (!conf || !name || !value)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_INVALID_ARG,
                           "conf, name and value must not be NULL");
    const fs_pdef *d = fs_pdef_find(name);
    if (!d)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_CONF,
                           "unknown property \"%s\" (Kafka client properties "
                           "take the prefix \"kafka.\")",
                           name);
    uint64_t u;
    int b;
    switch (d->type) {
    case FS_P_PREFIX: return fs_conf_put(conf, name, value);
    case FS_P_BOOL:
        if (fs_parse_bool(value, &b))
            return fstore__err(errstr, errstr_size, FSTORE_ERR_CONF,
                               "%s: \"%s\" is not a boolean (use true or false)",
                               name, value);
        break;
    case FS_P_U64:
        if (fs_parse_u64(value, &u) || u < d->min || u > d->max)
            return fstore__err(errstr, errstr_size, FSTORE_ERR_CONF,
                               "%s: \"%s\" is not an integer in [%llu, %llu]",
                               name, value, (unsigned long long)d->min,
                               (unsigned long long)d->max);
        break;
    case FS_P_OCTAL:
        if (fs_parse_base(value, 8, &u) || u > d->max)
            return fstore__err(errstr, errstr_size, FSTORE_ERR_CONF,
                               "%s: \"%s\" is not octal permission bits "
                               "(e.g. 0600)",
                               name, value);
        break;
    case FS_P_ENUM:
        if (!fs_choice_ok(d->choices, value))
            return fstore__err(errstr, errstr_size, FSTORE_ERR_CONF,
                               "%s: \"%s\" is not one of %s", name, value,
                               d->choices);
        break;
    case FS_P_STRING:
        if (*value == '\0')
            return fstore__err(errstr, errstr_size, FSTORE_ERR_CONF,
                               "%s: the value must not be empty", name);
        break;
    }
    fstore_err_t err = fs_conf_put(conf, name, value);
    if (err)
        return fstore__err(errstr, errstr_size, err, "out of memory");
    return FSTORE_OK;
}

const char *fs_conf_str(const fstore_conf_t *conf, const char *name)
{
    const fs_prop *p = conf ? fs_conf_find(conf, name) : NULL;
    if (p)
        return p->value;
    const fs_pdef *d = fs_pdef_find(name);
    return d ? d->def : NULL;
}

fstore_err_t fstore_conf_get(const fstore_conf_t *conf, const char *name,
                             char *buf, size_t *size)
{
    if (!conf || !name || !size || (*size && !buf))
        return FSTORE_ERR_INVALID_ARG;
    const char *v = fs_conf_str(conf, name);
    if (!v)
        return FSTORE_NOT_FOUND;
    size_t need = strlen(v) + 1;
    size_t have = *size;
    *size = need;
    if (have < need)
        return FSTORE_ERR_RANGE;
    memcpy(buf, v, need);
    return FSTORE_OK;
}

int fs_conf_bool(const fstore_conf_t *conf, const char *name)
{
    int b = 0;
    const char *v = fs_conf_str(conf, name);
    if (v)
        fs_parse_bool(v, &b);
    return b;
}

uint64_t fs_conf_u64(const fstore_conf_t *conf, const char *name)
{
    uint64_t u = 0;
    const char *v = fs_conf_str(conf, name);
    const fs_pdef *d = fs_pdef_find(name);
    if (v)
        fs_parse_base(v, d && d->type == FS_P_OCTAL ? 8 : 10, &u);
    return u;
}

void fs_conf_modes(const fstore_conf_t *conf, unsigned *file_mode,
                   unsigned *dir_mode)
{
    *file_mode = (unsigned)fs_conf_u64(conf, "store.file_mode");
    /* A directory needs x wherever its files get r. */
    *dir_mode = fs_conf_str(conf, "store.dir_mode")
                    ? (unsigned)fs_conf_u64(conf, "store.dir_mode")
                    : *file_mode | ((*file_mode & 0444) >> 2);
}

void fs_conf_each(const fstore_conf_t *conf, const char *prefix,
                  void (*fn)(const char *name, const char *value, void *arg),
                  void *arg)
{
    size_t n = strlen(prefix);
    for (size_t i = 0; conf && i < conf->n; i++)
        if (strncmp(conf->props[i].name, prefix, n) == 0)
            fn(conf->props[i].name, conf->props[i].value, arg);
}

void fs_log(const fstore_conf_t *conf, int level, const char *fmt, ...)
{
    if ((uint64_t)level > fs_conf_u64(conf, "log.level"))
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (conf && conf->log_cb) {
        conf->log_cb(conf->log_opaque, level, line);
        return;
    }
    static const char *const names[] = {"EMERG", "ALERT", "CRIT", "ERROR",
                                        "WARN",  "NOTICE", "INFO", "DEBUG"};
    fprintf(stderr, "fstore %s: %s\n", names[level & 7], line);
}
