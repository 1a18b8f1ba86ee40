/*
 * Helpers of the real-broker integration tests (tests/integration/it_*.c).
 *
 * Every test is a plain C program driven by ctest (label `kafka`). It reads
 * the broker address from FSTORE_TEST_BROKERS and fails (never skips) when
 * that is unset or the broker does not answer. What is here:
 *
 * - failing: IT_FAIL / IT_CHECK print file:line and a message and exit 1;
 *   the test's scratch directory is kept and child processes are killed.
 * - topics: unique names, CreateTopics / CreatePartitions, DeleteRecords,
 *   watermarks.
 * - records: one key space ("key-%08d" of an integer id) whose values are a
 *   pure function of (id, version), Confluent-framed Avro encoded by hand
 *   for the serving schema and for evolved writer schemas.
 * - producing: a librdkafka producer whose partitioner is murmur2_random,
 *   the Java client's, so a key lands where fstore_partition_for_key() says
 *   (checked on every delivery). Every delivered record goes into a log of
 *   (partition, offset, id, version); transactional producers mark their
 *   records committed or aborted.
 * - expecting: the latest committed value of every key, from the log, up to
 *   optional per-partition offset limits; comparison of a store with it
 *   (every key, every column, row metadata, row count).
 * - consuming: a plain librdkafka consumer over a whole topic (record
 *   counts, offset gaps left by compaction, the consume-only rate).
 * - stats: fstore_stats_json() parsed with jansson.
 */
#ifndef FSTORE_ITEST_H
#define FSTORE_ITEST_H

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "fstore/fstore.h"

/* ---- failing ------------------------------------------------------------ */

void it_fail_at(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
#define IT_FAIL(...) it_fail_at(__FILE__, __LINE__, __VA_ARGS__)
#define IT_CHECK(cond, ...)                                                    \
    do {                                                                       \
        if (!(cond))                                                           \
            it_fail_at(__FILE__, __LINE__,                                     \
                       "check failed: " #cond ": " __VA_ARGS__);               \
    } while (0)

/* ---- set-up ------------------------------------------------------------- */

/* Reads FSTORE_TEST_BROKERS, checks the broker answers (fails otherwise),
 * makes the scratch directory and prints the test's banner. */
void it_init(const char *test_name);
/* Prints "PASS name (N s)", removes the scratch directory; returns 0. */
int it_pass(void);
const char *it_brokers(void);
/* The test's scratch directory (removed on success, kept on failure). */
const char *it_dir(void);
/* "[  12.3s] ..." progress line on stdout. */
void it_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* An integer knob from the environment (sizes of the scenarios). */
long it_env_long(const char *name, long def);
int64_t it_now_us(void); /* monotonic */
int64_t it_wall_ms(void);
void it_sleep_ms(int ms);
/* A topic name no earlier run used: fstore-it-WHAT-PID-N-TIME. Static
 * buffer per call is not used: the result is malloc'd and never freed. */
char *it_topic_name(const char *what);
/* A small deterministic PRNG (xorshift64*), seeded from FSTORE_IT_SEED or
 * the clock; the seed is printed so a failure can be replayed. */
uint64_t it_seed(void);
uint64_t it_rand(uint64_t *state);

/* Child processes started by it_spawn are SIGKILLed when the test fails. */
pid_t it_spawn(char *const argv[], const char *log_path);
/* Waits up to timeout_ms for pid; returns the waitpid status, or -1 on
 * timeout (the child is left running). */
int it_wait(pid_t pid, int timeout_ms);
void it_forget_child(pid_t pid);
/* Prints the last lines of a file to stderr (logs of children). */
void it_tail_file(const char *path, int lines);
void it_write_file(const char *path, const char *text);

/* ---- topics ------------------------------------------------------------- */

/* Creates a topic with NULL-terminated "key=value" configs and waits until
 * every partition has a leader. */
void it_create_topic(const char *name, int partitions,
                     const char *const *configs);
/* The configs that make the broker compact within about a second. */
extern const char *const it_compact_configs[];
void it_add_partitions(const char *name, int total);
/* DeleteRecords: for each of the n partitions parts[i], removes every record
 * before offset before[i] (the partition's log start moves there). Fails
 * unless the broker reports the new log start of each as before[i]. Topics
 * with cleanup.policy=compact refuse it. */
void it_delete_records(const char *topic, const int32_t *parts,
                       const int64_t *before, int n);
void it_watermarks(const char *topic, int32_t partition, int64_t *lo,
                   int64_t *hi);

/* ---- records ------------------------------------------------------------ */

/* The serving schema (registered as writer schema 1), an evolved writer
 * schema that resolves to it (2: an added string field, "cnt" as int,
 * "opt" missing so it takes its default) and one that does not resolve
 * (3: "version" is a string). 999 is never registered. */
extern const char IT_SCHEMA[];
extern const char IT_SCHEMA_V2[];
extern const char IT_SCHEMA_BAD[];
enum { IT_ID_SERVING = 1, IT_ID_V2 = 2, IT_ID_BAD = 3, IT_ID_UNKNOWN = 999 };

#define IT_KEY_MAX 32
/* "key-%08d" of id; returns its length. */
size_t it_key(char *buf, int64_t id);
/* Confluent frame + Avro of the record (id, version) in writer schema
 * schema_id (1, 2 or 3). Returns the length (buf holds >= 256 bytes). */
size_t it_encode(uint8_t *buf, int32_t schema_id, int64_t id, int64_t version);
/* NULL when the row is exactly (id, version) as written with schema_id,
 * else what differs (static buffer). Also verifies the row checksum. */
const char *it_row_check(const fstore_table_t *t, const fstore_row_t *row,
                         int64_t id, int64_t version, int32_t schema_id);
/* Opens writable store DIR with kafka.bootstrap.servers set (plus optional
 * NULL-terminated "name=value" properties), creates table NAME with the
 * serving schema and registers writer schemas 1..3 unless schemas_dir is
 * set (then schemas come from that directory). */
fstore_store_t *it_store_open(const char *dir, const char *table_name,
                              const char *const *props,
                              const fstore_table_t **tablep);
/* Opens store dir read-only with table name in *tablep. NULL when the
 * store or the table does not exist (yet); any other failure fails. */
fstore_store_t *it_store_open_ro(const char *dir, const char *table_name,
                                 const fstore_table_t **tablep);
/* A log callback for the stores it_store_open opens from now on (NULL:
 * fstore's default, stderr). */
void it_set_store_log_cb(fstore_log_cb *cb, void *opaque);
/* Writes 1.avsc, 2.avsc and 3.avsc into dir (created). */
void it_write_schemas_dir(const char *dir);

/* ---- producing and the record log ---------------------------------------- */

enum { IT_PUT = 0, IT_DEL = 1, IT_BAD = 2 };
enum { IT_PENDING = 0, IT_COMMITTED = 1, IT_ABORTED = 2 };

typedef struct it_rec {
    int64_t id;      /* key id; -1 for records without a usable key */
    int64_t version; /* of puts */
    int64_t offset;
    int32_t partition;
    int32_t schema_id; /* of puts */
    uint8_t kind;      /* IT_PUT, IT_DEL, IT_BAD */
    uint8_t state;     /* IT_PENDING (in a transaction), IT_COMMITTED, ... */
} it_rec;

typedef struct it_reclog {
    pthread_mutex_t mu;
    it_rec *recs;
    size_t n, cap;
} it_reclog;

void it_reclog_init(it_reclog *log);
void it_reclog_free(it_reclog *log);

typedef struct it_producer it_producer;

/* A producer for topic (idempotent; transactional when txn_id is set)
 * logging its deliveries into log. extra: NULL-terminated "k=v" librdkafka
 * properties. */
it_producer *it_producer_new(const char *topic, it_reclog *log,
                             const char *txn_id, const char *const *extra);
/* Queues a put of (id, version) in writer schema schema_id. */
void it_put(it_producer *p, int64_t id, int64_t version, int32_t schema_id);
void it_del(it_producer *p, int64_t id);
/* Queues an arbitrary record (bad ones); key NULL = no key; partition -1 =
 * by key. id is what the log records (-1 if none). */
void it_put_raw(it_producer *p, int64_t id, const void *key, size_t key_len,
                const void *value, size_t len, int32_t partition);
/* Serves delivery reports; fails the test on any delivery error. */
void it_poll(it_producer *p, int timeout_ms);
/* Waits for every delivery (bounded); fails on errors or timeout. */
void it_flush(it_producer *p);
size_t it_producer_delivered(it_producer *p);
void it_txn_begin(it_producer *p);
void it_txn_commit(it_producer *p);
/* Flushes first, so the aborted records do reach the log. */
void it_txn_abort(it_producer *p);
void it_producer_free(it_producer *p);

/* ---- expecting ----------------------------------------------------------- */

typedef struct it_expect {
    int64_t version;   /* -1: absent (never put, or deleted) */
    int64_t offset;    /* of the record that decided the state; -1 none */
    int32_t partition; /* -1 when the key was never seen */
    int32_t schema_id;
} it_expect;

/* The latest committed state of every key id < nids from log: only records
 * of partitions with want(p) (all when want is NULL) and with offset <=
 * limit[p] when limit is set (limit[p] < 0: nothing of p). Returns a
 * calloc'd array of nids entries. */
it_expect *it_expected(it_reclog *log, int64_t nids, const int64_t *limit,
                       int32_t nlimit, int (*want)(int32_t p, void *arg),
                       void *arg);
/* Compares the table with exp: every key with a value is found with exactly
 * that value and metadata, every other key is absent, and the row count is
 * the number of live keys. Prints up to 10 differences; returns how many. */
size_t it_compare(fstore_store_t *store, const fstore_table_t *t,
                  const it_expect *exp, int64_t nids, int32_t nparts);
size_t it_live_count(const it_expect *exp, int64_t nids);
/* The stored offsets of table t: lim[p] for each partition p < nparts, -1
 * where none (all -1 when s is NULL). A stored offset of a partition >=
 * nparts fails the test. */
void it_stored_offsets(fstore_store_t *s, const fstore_table_t *t,
                       int64_t *lim, int32_t nparts);
/* Checks the applied offset of every partition p < nparts with want(p)
 * equals hi(p) - 1 and no other partition has one. */
void it_check_offsets(fstore_store_t *store, const fstore_table_t *t,
                      const char *topic, int32_t nparts,
                      int (*want)(int32_t p, void *arg), void *arg);

/* ---- consuming ------------------------------------------------------------
 */

typedef struct it_scan {
    int64_t records, tombstones;
    int64_t gaps;         /* offset jumps > 1 between consecutive records */
    int64_t parts_gapped; /* partitions with at least one gap or lo > 0 */
    double seconds;       /* from assign to the last partition's end */
} it_scan;

/* Reads every partition of topic (nparts) from the beginning to the high
 * watermark taken at start. isolation: "read_committed" or
 * "read_uncommitted". If seen is set, seen[id] counts the records of each
 * key id < nseen. */
it_scan it_consume_all(const char *topic, int32_t nparts, const char *isolation,
                       int64_t *seen, int64_t nseen);

/* ---- stats ----------------------------------------------------------------
 */

json_t *it_stats(fstore_store_t *store);
/* Follows a NULL-terminated path of object keys; NULL if missing. */
json_t *it_json_at(json_t *root, ...) __attribute__((sentinel));
/* The integer at the path, or def when missing / not an integer. */
int64_t it_json_int(json_t *root, int64_t def, ...) __attribute__((sentinel));

/* ---- latency --------------------------------------------------------------
 */

/* Sorts v in place and returns the q-quantile (0..1). */
double it_quantile(double *v, size_t n, double q);

#endif
