/*
 * The tailer's internals, shared by its files and by nothing else:
 *   tail.c         the public lifecycle (add, start, wait, stop, free)
 *   tail_loop.c    the thread's main loop, batching and commit policy
 *   tail_faults.c  consumer errors, offsets out of range, dead letters
 *   tail_verify.c  record fingerprints: a resumed or returning partition
 *                  must still hold the record applied last, or its topic
 *                  was replaced (tail.offset_reset decides)
 *   tail_assign.c  the Kafka clients, partition assignment, the watcher
 *   tail_stats.c   the statistics document
 *   tail_state.c   failure, state changes, readiness, waits
 * Each file calls only files listed below it.
 *
 * Threads. Three kinds of thread touch a tailer: the tail thread
 * (fs_tail_main, the only one that consumes, decodes and writes), the
 * watcher thread (fs_watch_main, metadata requests only) and the caller's
 * threads (the public fstore_tail_* and fstore_stats_json calls). Each
 * declaration below says which of them runs it ("@thread") and what it
 * takes or expects held ("@locks"). T->mu guards every field that another
 * thread reads: state, ready, connected, errors, the timestamps, the
 * partition table and the counters and histograms; T->stop and each
 * topic's seen_parts and vanished are atomics. Everything else (the batch, pending
 * samples, staged counters, timers) belongs to the tail thread alone.
 */
#ifndef FSTORE_TAIL_INT_H
#define FSTORE_TAIL_INT_H

#include <librdkafka/rdkafka.h>
#include <time.h>

#include "batch.h"
#include "hist.h"

typedef struct fs_tailer fs_tailer; /* also in tail.h */

/* Reasons a record is skipped, counted apart. */
enum { SK_DECODE, SK_SCHEMA, SK_RESOLVE, SK_NO_KEY, SK_N };

/* The tailer's states, as the statistics name them. */
enum { ST_IDLE, ST_CONNECTING, ST_BOOTSTRAPPING, ST_READY, ST_FAILED, ST_STOPPED };

typedef struct fs_tpart {
    int assigned;
    int64_t start;        /* offset the assignment started at (or logical) */
    int64_t end_at_start; /* end offset captured at start; -1 unknown */
    int64_t position;     /* next offset the consumer will deliver */
    int64_t delivered;    /* offset after the last record delivered, -1 */
    int from_low;         /* fetching from a queried low watermark */
    int64_t end;          /* latest known end offset */
    int64_t last_ts;      /* timestamp of the last applied record */
    int64_t applied;      /* offset stored in the view, -1 none */
    int ready;
    /* The last record applied (from the store's fingerprint at assignment,
     * then from every record): its offset (-1: none) and fingerprint. While
     * verify is set, the partition was assigned at that record, which must
     * come back unchanged; records up to skip_through are applied already.
     * Tail thread only. */
    int64_t fp_offset;
    uint64_t fp;
    int verify;
    int64_t skip_through;
    int recheck;  /* the topic vanished: seek back to fp_offset, then verify */
    int replaced; /* the check failed: nothing more is applied from it */
} fs_tpart;

typedef struct fs_counters {
    uint64_t applied, deleted, bytes, skipped[SK_N];
} fs_counters;

typedef struct fs_ttopic {
    const fstore_table_t *table;
    char *topic;
    int32_t *only; /* listed partitions, or NULL for all */
    size_t nonly;
    rd_kafka_topic_t *rkt;
    fs_tpart *parts;
    int32_t nparts;
    fs_counters c;
    fs_hist fresh; /* record timestamp → visible, microseconds */
    uint64_t rebuilds;
    int32_t seen_parts; /* partition count the watcher last saw (atomic) */
    int vanished;       /* the watcher found the topic gone (atomic) */
    int missing;        /* ... and has not seen it back since (atomic) */
} fs_ttopic;

struct fs_tailer {
    fstore_store_t *store;
    fs_ttopic *topics;
    size_t ntopics;
    rd_kafka_t *rk;
    rd_kafka_queue_t *q;
    rd_kafka_t *dlq; /* dead-letter producer, optional */
    char *dlq_topic;
    pthread_t thread;
    pthread_t watcher; /* metadata requests, off the apply path */
    int started;
    int stop; /* atomic */
    /* mu guards everything read by other threads: states, counters,
     * partitions, histograms. The thread holds it only briefly. */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int state;
    int assigned;
    int connected;
    int ready;
    fstore_err_t err;
    char errmsg[512];
    char last_error[512]; /* last non-fatal error, for stats */
    uint64_t kafka_errors; /* error events of the Kafka clients, for stats */
    uint64_t bulk_runs;    /* sorted runs the first bootstrap spilled */
    int64_t paused_since_ms; /* a pause (no room for a batch) began; 0: none */
    int64_t started_ms, ready_ms, last_current_ms, last_commit_ms;
    /* the batch being filled (thread only) */
    fstore_batch_t *batch;
    int64_t batch_started_us, batch_cpu_us; /* wall and thread CPU clocks */
    struct {
        uint16_t topic;
        int64_t ts;     /* record timestamp (ms), or <= 0 */
        int64_t deq_us; /* when the tailer took it from the consumer */
    } * pend;
    int64_t round_us; /* when this poll round's records were taken */
    fs_hist apply;    /* taken from the consumer -> visible, microseconds */
    size_t npend, cap_pend;
    fs_counters *staged; /* per topic, folded in at commit */
    uint64_t max_records, max_ms, stats_interval_ms, bulk_bytes;
    int rebuild;
    /* Bootstrap of empty tables: one growing batch, committed when caught
     * up (or at bulk_bytes), so the store loads by sorted append. */
    int bulk;
    int64_t last_pos_us;
    int64_t last_stats_ms, last_meta_ms, last_warn_ms;
};

static inline int64_t fs_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* CPU time of the calling thread. */
static inline int64_t fs_cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline int64_t fs_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define TLOG(T, lvl, ...) fs_log((T)->store->conf, lvl, __VA_ARGS__)

/* ---- tail_state.c ---- */

/* Sets the state unless the tailer failed or stopped; wakes waiters.
 * @thread tail  @locks takes T->mu */
void fs_set_state(fs_tailer *T, int st);
/* Stops the tailer with err and a message (the first failure wins), logs
 * it and wakes every waiter. @thread tail  @locks takes T->mu */
void fs_fail(fs_tailer *T, fstore_err_t err, const char *fmt, ...)
    FS_PRINTF(3, 4);
/* Whether every assigned (and every listed) partition is caught up.
 * @thread tail  @locks T->mu held */
int fs_all_ready(fs_tailer *T);
/* Marks partitions at their start-time end and the tailer ready once all
 * are. Positions must be fresh and everything before them applied.
 * @thread tail  @locks takes T->mu */
void fs_update_ready(fs_tailer *T, int64_t now_ms);
/* Waits up to one second, or until stopped. @thread tail  @locks takes T->mu */
void fs_tail_backoff(fs_tailer *T);

/* ---- tail_stats.c ---- */

/* The statistics as a jansson object (new reference) / compact JSON text
 * (malloc'ed), or NULL. @thread any  @locks takes T->mu */
struct json_t *fs_stats_build(fs_tailer *T);
char *fs_stats_text(fs_tailer *T);

/* ---- tail_assign.c ---- */

/* Parses "0,2-5" into a malloc'ed list. 0, or -1 when invalid or empty. */
int fs_parse_partitions(const char *spec, int32_t **out, size_t *n);
/* A consumer (read_committed, offsets kept in the store) or a producer
 * (the dead-letter topic), from the store's kafka.* properties.
 * @thread caller of fstore_tail_start */
rd_kafka_t *fs_rk_new(fs_tailer *T, rd_kafka_type_t type, char *errstr,
                      size_t errstr_size, fstore_err_t *err);
/* The partition slot p of tt, or NULL. @locks T->mu held, or tail thread */
fs_tpart *fs_part(fs_ttopic *tt, int32_t p);
/* The topic a message belongs to (index in *idx), or NULL. @thread tail */
fs_ttopic *fs_topic_of(fs_tailer *T, const rd_kafka_message_t *m, size_t *idx);
/* Assigns the partitions of tt below n not yet assigned, from the stored
 * offset + 1 or the beginning; capture: record end offsets for readiness.
 * @thread tail  @locks takes T->mu */
fstore_err_t fs_assign_new(fs_tailer *T, fs_ttopic *tt, int32_t n, int capture);
/* Assigns every topic at start. @thread tail */
fstore_err_t fs_assign_all(fs_tailer *T);
/* Partition count of tt from the broker, or -1 (and connected = 0).
 * @thread tail or watcher  @locks takes T->mu */
int32_t fs_partition_count(fs_tailer *T, fs_ttopic *tt, int timeout_ms);
/* Refreshes every assigned partition's consumer position.
 * @thread tail  @locks takes T->mu */
void fs_positions(fs_tailer *T);
/* The watcher thread's body. @thread watcher */
void *fs_watch_main(void *arg);

/* ---- tail_verify.c ---- */

/* The fingerprint of a record: its key, its value, and whether it is a
 * tombstone. @thread tail */
uint64_t fs_record_fp(const rd_kafka_message_t *m);
/* What tail.offset_reset says when partition p of tt lost the records the
 * store holds (why: what happened, for the error and the log): fails the
 * tailer (fail), or returns tt for the caller to commit what it holds and
 * rebuild its table (rebuild). @thread tail  @locks takes T->mu */
fs_ttopic *fs_reset_policy(fs_tailer *T, fs_ttopic *tt, int32_t p,
                           const char *why);
/* Checks a delivered record against its partition's pending verification.
 * Returns 0 when the record is to be applied; 1 when it is consumed here
 * (its partition is not assigned now; it is the record applied last, or one
 * applied before; or it shows the
 * topic was replaced, and then *rebuild may name the topic to rebuild, as
 * fs_reset_policy says); 2 when the partition was sought back to its last
 * record, so the rest of its records this round must be dropped.
 * @thread tail  @locks takes T->mu */
int fs_verify_record(fs_tailer *T, const rd_kafka_message_t *m,
                     fs_ttopic **rebuild);
/* Partition p of tt (every assigned one when p < 0) vanished from the
 * broker (its topic deleted): when records come again, the partition seeks
 * back to the last record applied, which must be unchanged.
 * @thread tail  @locks takes T->mu */
void fs_partition_vanished(fs_tailer *T, fs_ttopic *tt, int32_t p);
/* An offset error on a partition with a check pending. Resumed at its last
 * record, below a log start that keeps the stored offset (retention): gives
 * up the check and reassigns it after the stored offset (returns 1). Back
 * from a deletion shorter than what was applied: the check is dropped and
 * the error is the topic's replacement (returns 0, for the caller's
 * policy). @thread tail  @locks takes T->mu */
int fs_verify_give_up(fs_tailer *T, fs_ttopic *tt, int32_t p);

/* ---- tail_faults.c ---- */

/* Produces m to the dead-letter topic, if one is set. @thread tail */
void fs_dead_letter(fs_tailer *T, const rd_kafka_message_t *m, fstore_err_t e,
                    const char *why);
/* Handles a consumer error. Returns the topic whose table must be rebuilt
 * (its stored offsets are gone and tail.offset_reset=rebuild): the caller
 * commits what it holds, then calls fs_rebuild. NULL otherwise.
 * @thread tail  @locks takes T->mu */
fs_ttopic *fs_message_error(fs_tailer *T, const rd_kafka_message_t *m);
/* Empties tt's table and reads its topic again from the beginning.
 * @thread tail, with no batch open  @locks takes T->mu */
void fs_rebuild(fs_tailer *T, fs_ttopic *tt);

/* ---- tail_loop.c ---- */

/* The tail thread's body. @thread tail */
void *fs_tail_main(void *arg);

#endif
