/*
 * The aggregator's internals, shared by its files and by nothing else:
 *   aggregate.c    the public lifecycle (new, run, stop, stats, destroy)
 *   agg_loop.c     the run loop: events in, one Kafka transaction per
 *                  commit interval, expiry, the rebalance callback
 *   agg_restore.c  catching a partition's state up from the changelog
 *   agg_kafka.c    the Kafka clients, the topics, the output schema
 * Each file calls only files listed below it.
 *
 * Exactly-once: the input offsets, the output records and the changelog
 * records of an interval commit in one Kafka transaction; the local state
 * (agg_store.h), staged in one LMDB transaction meanwhile, commits only
 * after it, with the changelog offsets it reflects. After a crash between
 * the two, the changelog's tail brings the state up to date; an aborted
 * Kafka transaction discards the staged state and rewinds the input.
 *
 * Threads: everything runs on the thread that calls fstore_aggregator_run
 * (librdkafka calls the rebalance and delivery callbacks from inside its
 * poll calls on that thread), except fstore_aggregator_stop (any thread:
 * an atomic flag) and fstore_aggregator_stats_json (any thread: takes mu).
 */
#ifndef FSTORE_AGG_INT_H
#define FSTORE_AGG_INT_H

#include <librdkafka/rdkafka.h>
#include <pthread.h>

#include "agg_event.h"
#include "agg_output.h"
#include "agg_store.h"
#include "hist.h"
#include "schemas.h"

/* Changelog keys: a type byte, then the entity key (or nothing). An
 * entity's value: its stream time (8 bytes) and state; a partition's: its
 * stream time (8 bytes) and the aggregate.group that writes it. */
#define FS_CL_ENTITY 'e'
#define FS_CL_PART 'p'

enum { FS_AGG_SK_DECODE, FS_AGG_SK_SCHEMA, FS_AGG_SK_NO_KEY, FS_AGG_SK_TIME, FS_AGG_SK_N };

/* What the aggregator knows of an input partition it owns. */
typedef struct fs_agg_ppart {
    int assigned;
    int64_t q;        /* stream time (committed or staged) */
    int64_t q_saved;  /* as committed, to restore on abort */
    int64_t cl_next;  /* changelog offset the state reflects up to */
    int64_t cl_last;  /* largest changelog offset delivered this txn, -1 */
    int touched;      /* events or expiry in the open transaction */
    int64_t end_at_assign; /* input end offset when assigned (caught up) */
    int64_t position;      /* next input offset to process */
} fs_agg_ppart;

/* One entity of the open transaction. Events change its cached copy e
 * (loaded from the local state on first touch); the commit writes the
 * copy back once, before expiry and emission. */
typedef struct fs_agg_dirty {
    int32_t p;
    uint16_t len;
    uint8_t loaded;  /* e holds the entity's staged state */
    uint8_t changed; /* its values changed: emit it */
    fs_agg_entity *e; /* kept across transactions for reuse */
    uint8_t key[FS_AGG_MAX_KEY];
} fs_agg_dirty;

typedef struct fs_agg_counters {
    uint64_t events, late, emitted, tombstones, restored, commits, aborts;
    uint64_t skipped[FS_AGG_SK_N];
} fs_agg_counters;

struct fstore_aggregator_s {
    fs_agg_spec *spec;
    fstore_conf_t *conf;
    fs_agg_store *st;
    fs_agg_txn *tx;    /* the open local transaction, or NULL */
    int kafka_txn;     /* a Kafka transaction is open */
    int ran;           /* fstore_aggregator_run was called */
    int doomed;        /* a produce of the open transaction failed: abort it */
    char doom_why[512];
    unsigned aborts_in_row; /* since the last commit */
    int64_t txn_started_us;
    uint64_t commit_ms;
    rd_kafka_t *consumer, *producer, *reader;
    rd_kafka_topic_t *out_rkt, *cl_rkt;
    rd_kafka_topic_t *dlq_rkt; /* aggregate.dead_letter_topic, or NULL */
    int32_t nparts;
    fs_agg_ppart *parts; /* the loop's own */
    fs_agg_ppart *pub;   /* a copy for the statistics, under mu (fs_agg_publish) */
    /* Entities changed in the open transaction, deduplicated. */
    fs_agg_dirty *dirty;
    size_t ndirty, cap_dirty;
    uint32_t *dirty_set; /* open-addressing set of index + 1; 0 empty */
    size_t set_cap;
    /* Scratch, reused. */
    fs_agg_entity *e;
    fs_agg_input *in;
    fs_buf row, rec, state; /* state: the partition record's value */
    fs_plan_cache *plans;
    int stop;   /* atomic */
    int failed; /* a fatal error stopped the run */
    fstore_err_t fail_err; /* its code */
    char errmsg[512];
    pthread_mutex_t mu; /* guards c, hist, the partitions' figures for stats */
    fs_agg_counters c;
    /* Counts of the open transaction (loop thread only), added to c when
     * it commits: the figures count committed work once. */
    uint64_t c_emitted, c_tombstones, c_events, c_late;
    uint64_t entities; /* in the local state, as of the last commit */
    fs_hist commit_us;
    int64_t started_ms;
};

/* ---- agg_kafka.c ---- */

/* The consumer (group aggregate.group, cooperative-sticky, static member
 * named as the instance, read_committed, offsets committed only through
 * transactions), with rebalance_cb. */
fstore_err_t fs_agg_consumer(fstore_aggregator_t *a, const char *state_dir,
                             void (*rebalance_cb)(rd_kafka_t *, rd_kafka_resp_err_t,
                                                  rd_kafka_topic_partition_list_t *,
                                                  void *),
                             char *errstr, size_t errstr_size);
/* The transactional producer (transactional.id "<group>-<instance>",
 * the instance from aggregate.instance or state_dir), transactions
 * initialized. */
fstore_err_t fs_agg_producer(fstore_aggregator_t *a, const char *state_dir,
                             char *errstr, size_t errstr_size);
/* The changelog reader: no group, manual assignment, read_committed. */
fstore_err_t fs_agg_reader(fstore_aggregator_t *a, char *errstr,
                           size_t errstr_size);
/* Creates the output and changelog topics (compacted, with the input's
 * partition count) where absent, and checks them where present. */
fstore_err_t fs_agg_topics(fstore_aggregator_t *a, char *errstr,
                           size_t errstr_size);
/* Writes the output schema to schemas.dir/<id>.avsc, or checks the copy
 * there (or the registry's) against it. */
fstore_err_t fs_agg_output_schema_check(fstore_aggregator_t *a, char *errstr,
                                        size_t errstr_size);

/* ---- agg_loop.c, also used by agg_restore.c's caller ---- */

/* Copies the partitions' figures for the statistics (loop thread). */
void fs_agg_publish(fstore_aggregator_t *a);

/* ---- agg_restore.c ---- */

/* Brings partition p's local state up to the changelog's end, in its own
 * local transaction (none may be open). */
fstore_err_t fs_agg_restore(fstore_aggregator_t *a, int32_t p, char *errstr,
                            size_t errstr_size);

/* ---- agg_loop.c ---- */

/* The rebalance callback (commits the open transaction before partitions
 * go; restores partitions that come). */
void fs_agg_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t *parts, void *opaque);
/* Runs until stopped, failed, timed out, or (until_caught_up) caught up. */
fstore_err_t fs_agg_loop(fstore_aggregator_t *a, int until_caught_up,
                         int timeout_ms, char *errstr, size_t errstr_size);

#endif
