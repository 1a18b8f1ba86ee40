/*
 * The tail thread: poll the consumer, decode records into a batch, and
 * commit the batch with every partition's position when it is due (size,
 * age, or caught up during a bootstrap); a pause while the store has no
 * room for a batch; periodic housekeeping.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "tail_int.h"

#define FS_POLL_MAX 1000

/* Bootstrap batches are larger than live ones: latency does not matter
 * before the view is ready, and bigger transactions write each page once. */
#define FS_BOOT_MAX_RECORDS 200000
#define FS_BOOT_MAX_US 2000000
/* Before readiness, positions are asked for at most this often (and the
 * poll waits no longer) while the queue runs dry. */
#define FS_POS_EVERY_US 10000

/* A pause: the last commit failed for want of room (the store's file
 * system full, or its memory map at store.map_size.max). LMDB aborted the
 * transaction, so nothing of the batch was applied; the records are read
 * again from the stored offsets once the wait is over, and applying them
 * is retried, with waits that grow from FS_PAUSE_MIN_US to FS_PAUSE_MAX_US.
 * Owned by the tail thread (fs_tail_main). */
typedef struct fs_pause {
    int64_t since_us; /* 0: not paused */
    int64_t retry_us; /* when to read the records again */
    int64_t delay_us; /* the wait after the next failure */
    unsigned fails;   /* commits failed since the pause began */
} fs_pause;
#define FS_PAUSE_MIN_US 1000000
#define FS_PAUSE_MAX_US 30000000

static double fs_mib(uint64_t bytes) { return (double)bytes / 1048576.0; }

/* What is full, how much, and what to do, for a commit of nops records
 * that failed with err (why: its message). The file system counts as full
 * when the write said so or less than FS_FULL_BYTES are left (LMDB turns
 * a short write into EIO). Fits the tailer's errmsg. */
#define FS_FULL_BYTES (1u << 20)
static void fs_pause_text(fs_tailer *T, fstore_err_t err, const char *why,
                          size_t nops, char *buf, size_t size)
{
    const char *path = T->store->path;
    char data[4096];
    struct stat st;
    struct statvfs vfs;
    snprintf(data, sizeof data, "%s/data.mdb", path);
    double file = stat(data, &st) == 0 ? fs_mib((uint64_t)st.st_size) : 0;
    if (err == FSTORE_ERR_MAP_FULL) {
        snprintf(buf, size,
                 "the store's memory map is full (%.160s): %zu records wait; "
                 "raise store.map_size.max and restart the tailer, or reset "
                 "readers that hold old snapshots; it retries and loses "
                 "nothing, readers serve the last commit",
                 why, nops);
        return;
    }
    int known = statvfs(path, &vfs) == 0;
    uint64_t avail = known ? (uint64_t)vfs.f_bavail * vfs.f_frsize : 0;
    uint64_t total = known ? (uint64_t)vfs.f_blocks * vfs.f_frsize : 0;
    if (strstr(why, strerror(ENOSPC)) || (known && avail < FS_FULL_BYTES))
        snprintf(buf, size,
                 "the store's file system is full (%.100s): %zu records wait; "
                 "%.150s: %.1f of %.1f MiB free, data.mdb %.1f MiB; free "
                 "space or grow the file system: the tailer retries and "
                 "loses nothing, readers serve the last commit",
                 why, nops, path, fs_mib(avail), fs_mib(total), file);
    else
        snprintf(buf, size,
                 "the store cannot be written (%.100s): %zu records wait; "
                 "%.150s: %.1f of %.1f MiB free, data.mdb %.1f MiB; check "
                 "the file system (read-only? permissions? device errors?): "
                 "the tailer retries and loses nothing, readers serve the "
                 "last commit",
                 why, nops, path, fs_mib(avail), fs_mib(total), file);
}

/* Reads every assigned partition again from its stored offset: what was
 * consumed since the last commit was not applied. Returns 0, or -1 after
 * failing the tailer. */
static int fs_reread(fs_tailer *T)
{
    for (size_t i = 0; i < T->ntopics; i++) {
        fs_ttopic *tt = &T->topics[i];
        rd_kafka_topic_partition_list_t *l =
            rd_kafka_topic_partition_list_new(tt->nparts > 0 ? tt->nparts : 1);
        for (int32_t p = 0; p < tt->nparts; p++)
            if (tt->parts[p].assigned)
                rd_kafka_topic_partition_list_add(l, tt->topic, p);
        rd_kafka_error_t *e = l->cnt ? rd_kafka_incremental_unassign(T->rk, l) : NULL;
        rd_kafka_topic_partition_list_destroy(l);
        if (e) {
            fs_fail(T, FSTORE_ERR_KAFKA, "unassigning %s to read it again: %s",
                    tt->topic, rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            return -1;
        }
        pthread_mutex_lock(&T->mu);
        for (int32_t p = 0; p < tt->nparts; p++) {
            tt->parts[p].assigned = 0;
            tt->parts[p].position = -1;
            tt->parts[p].delivered = -1;
        }
        pthread_mutex_unlock(&T->mu);
        if (fs_assign_new(T, tt, tt->nparts, !T->ready)) {
            fs_fail(T, FSTORE_ERR_KAFKA, "assigning %s again after a pause failed",
                    tt->topic);
            return -1;
        }
    }
    return 0;
}

/* The commit of nops records failed with err for want of room: the error
 * says so (fstore_tail_error, the statistics, the log) while the tailer
 * waits and then reads the records again. What the batch staged is
 * dropped: it counts when it applies. When stopping, there is no retry. */
static void fs_pause_begin(fs_tailer *T, fs_pause *P, fstore_err_t err,
                           const char *why, size_t nops)
{
    char msg[sizeof T->errmsg];
    fs_pause_text(T, err, why, nops, msg, sizeof msg);
    int64_t now = fs_now_us();
    if (!P->since_us) {
        P->since_us = now;
        P->delay_us = FS_PAUSE_MIN_US;
        P->fails = 0;
    }
    P->fails++;
    P->retry_us = now + P->delay_us;
    pthread_mutex_lock(&T->mu);
    if (!T->paused_since_ms)
        T->paused_since_ms = fs_wall_ms();
    T->err = err;
    snprintf(T->errmsg, sizeof T->errmsg, "%s", msg);
    snprintf(T->last_error, sizeof T->last_error, "%s", msg);
    T->npend = 0;
    for (size_t i = 0; i < T->ntopics; i++)
        memset(&T->staged[i], 0, sizeof T->staged[i]);
    pthread_mutex_unlock(&T->mu);
    if (__atomic_load_n(&T->stop, __ATOMIC_ACQUIRE)) {
        TLOG(T, 3, "tailer stopped while paused: %s", msg);
        return;
    }
    if (P->fails == 1)
        TLOG(T, 3, "tailer paused: %s; retrying in %.0f s", msg,
             (double)P->delay_us / 1e6);
    else
        TLOG(T, 3, "tailer still paused after %.0f s (%u attempts): %s; "
             "retrying in %.0f s",
             (double)(now - P->since_us) / 1e6, P->fails, msg,
             (double)P->delay_us / 1e6);
    P->delay_us = P->delay_us * 2 > FS_PAUSE_MAX_US ? FS_PAUSE_MAX_US : P->delay_us * 2;
    fs_reread(T);
}

/* A commit applied: a pause, if any, is over and its error goes. */
static void fs_pause_end(fs_tailer *T, fs_pause *P, size_t nops)
{
    if (!P->since_us)
        return;
    pthread_mutex_lock(&T->mu);
    if (T->state != ST_FAILED) {
        T->err = FSTORE_OK;
        T->errmsg[0] = 0;
    }
    T->paused_since_ms = 0;
    pthread_mutex_unlock(&T->mu);
    TLOG(T, 4, "tailer resumed: %zu records applied after %.1f s paused (%u "
         "failed attempts)",
         nops, (double)(fs_now_us() - P->since_us) / 1e6, P->fails);
    P->since_us = 0;
}

/* Within a round, the consumer's positions already count the records of
 * the round not handled yet: a commit there may only cover what the round
 * handled, on top of the positions known at the end of the last round. */
static void fs_positions_handled(fs_tailer *T)
{
    pthread_mutex_lock(&T->mu);
    for (size_t i = 0; i < T->ntopics; i++)
        for (int32_t p = 0; p < T->topics[i].nparts; p++) {
            fs_tpart *tp = &T->topics[i].parts[p];
            if (tp->assigned && tp->delivered > tp->position)
                tp->position = tp->delivered;
        }
    pthread_mutex_unlock(&T->mu);
}

/* Applies the open batch, if any, together with every partition's consumed
 * position: everything before a position was delivered (or was a control
 * record or a compaction gap), so the store may resume after it. With no
 * batch open it commits the offsets alone when positions moved (e.g. past
 * aborted transactions), so resume and readiness never wait for a record.
 * mid_round: records of this round are still to be handled (a rebuild
 * commits what came before it), so only what was handled counts. */
static fstore_err_t fs_commit(fs_tailer *T, fs_pause *P, int mid_round)
{
    if (mid_round)
        fs_positions_handled(T);
    else
        fs_positions(T);
    int moved = 0;
    for (size_t i = 0; i < T->ntopics; i++)
        for (int32_t p = 0; p < T->topics[i].nparts; p++) {
            const fs_tpart *tp = &T->topics[i].parts[p];
            if (tp->assigned && tp->position > 0 && tp->position - 1 > tp->applied)
                moved = 1;
        }
    if (!T->batch && moved) {
        if (fstore_batch_begin(T->store, &T->batch)) {
            fs_fail(T, FSTORE_ERR_STATE, "cannot start a batch: another batch "
                                         "is open on this store");
            return FSTORE_ERR_STATE;
        }
        T->batch_started_us = fs_now_us();
        T->batch_cpu_us = fs_cpu_us();
    }
    if (!T->batch) {
        fs_update_ready(T, fs_wall_ms());
        return FSTORE_OK;
    }
    for (size_t i = 0; i < T->ntopics; i++)
        for (int32_t p = 0; p < T->topics[i].nparts; p++) {
            const fs_tpart *tp = &T->topics[i].parts[p];
            if (tp->assigned && tp->position > 0)
                fstore_batch_advance(T->batch, T->topics[i].table, p,
                                     tp->position - 1);
        }
    int64_t now_ms = fs_wall_ms();
    if (now_ms - T->last_stats_ms >= (int64_t)T->stats_interval_ms) {
        char *txt = fs_stats_text(T);
        if (txt)
            fs_batch_set_stats(T->batch, txt);
        free(txt);
        T->last_stats_ms = now_ms;
    }
    char err[512];
    fstore_batch_t *b = T->batch;
    T->batch = NULL;
    size_t nops = fstore_batch_size(b);
    int64_t t0 = fs_now_us(), c0 = fs_cpu_us();
    fstore_err_t e = fstore_batch_commit(b, err, sizeof err);
    if (e == FSTORE_ERR_IO || e == FSTORE_ERR_MAP_FULL) {
        fs_pause_begin(T, P, e, err, nops);
        return e;
    }
    if (e) {
        fs_fail(T, e, "applying a batch failed: %s", err);
        return e;
    }
    fs_pause_end(T, P, nops);
    TLOG(T, 7, "applied %zu records in %.3f ms (batch open %.3f ms, "
         "using %.3f ms of the tailer's CPU)", nops,
         (double)(fs_now_us() - t0) / 1e3,
         (double)(t0 - T->batch_started_us) / 1e3,
         (double)(c0 - T->batch_cpu_us) / 1e3);
    /* Visible now: account freshness, the tailer's own latency and the
     * counters. */
    int64_t vis = fs_wall_ms(), vis_us = fs_now_us();
    pthread_mutex_lock(&T->mu);
    for (size_t i = 0; i < T->npend; i++) {
        fs_ttopic *tt = &T->topics[T->pend[i].topic];
        if (T->pend[i].ts > 0) {
            int64_t d = vis - T->pend[i].ts;
            fs_hist_add(&tt->fresh, (uint64_t)(d < 0 ? 0 : d) * 1000u);
        }
        int64_t a = vis_us - T->pend[i].deq_us;
        fs_hist_add(&T->apply, (uint64_t)(a < 0 ? 0 : a));
    }
    for (size_t i = 0; i < T->ntopics; i++) {
        fs_counters *a = &T->topics[i].c, *s = &T->staged[i];
        a->applied += s->applied;
        a->deleted += s->deleted;
        a->bytes += s->bytes;
        for (int k = 0; k < SK_N; k++)
            a->skipped[k] += s->skipped[k];
        memset(s, 0, sizeof *s);
    }
    T->npend = 0;
    T->last_commit_ms = vis;
    for (size_t i = 0; i < T->ntopics; i++)
        for (int32_t p = 0; p < T->topics[i].nparts; p++) {
            fs_tpart *tp = &T->topics[i].parts[p];
            if (tp->assigned && tp->position > 0 && tp->position - 1 > tp->applied)
                tp->applied = tp->position - 1;
        }
    pthread_mutex_unlock(&T->mu);
    fs_update_ready(T, vis);
    return FSTORE_OK;
}

/* Latency samples a batch keeps (the first records of a bigger one). */
#define FS_PEND_MAX ((size_t)1 << 20)

/* Handles one record. Returns 1 when the record must be retried (passing
 * failure), 0 otherwise. */
static int fs_record(fs_tailer *T, const rd_kafka_message_t *m)
{
    size_t ti;
    fs_ttopic *tt = fs_topic_of(T, m, &ti);
    if (!tt)
        return 0;
    if (!T->batch) {
        if (fstore_batch_begin(T->store, &T->batch)) {
            fs_fail(T, FSTORE_ERR_STATE, "cannot start a batch: another batch "
                                         "is open on this store");
            return 0;
        }
        T->batch_started_us = fs_now_us();
        T->batch_cpu_us = fs_cpu_us();
    }
    rd_kafka_timestamp_type_t tstype;
    int64_t ts = rd_kafka_message_timestamp(m, &tstype);
    char err[512] = "";
    fstore_err_t e = fstore_batch_put(T->batch, tt->table, m->key, m->key_len,
                                      m->payload, m->payload ? m->len : 0,
                                      m->partition, m->offset, ts, err, sizeof err);
    fs_counters *c = &T->staged[ti];
    if (e == FSTORE_ERR_IO || e == FSTORE_ERR_NO_MEMORY) {
        TLOG(T, 4, "%s [%d] offset %lld: %s; will retry", tt->topic,
             m->partition, (long long)m->offset, err);
        pthread_mutex_lock(&T->mu);
        snprintf(T->last_error, sizeof T->last_error, "%s", err);
        pthread_mutex_unlock(&T->mu);
        return 1;
    }
    /* Consumed for good (applied or skipped): the last record of its
     * partition so far, which a resume checks is still there. */
    uint64_t fp = fs_record_fp(m);
    if (fs_batch_fprint(T->batch, tt->table, m->partition, m->offset, fp) ==
        FSTORE_OK) {
        fs_tpart *fpp = fs_part(tt, m->partition);
        if (fpp) {
            fpp->fp_offset = m->offset;
            fpp->fp = fp;
        }
    }
    if (e) {
        int reason = e == FSTORE_ERR_KEY                ? SK_NO_KEY
                     : e == FSTORE_ERR_RESOLVE          ? SK_RESOLVE
                     : e == FSTORE_ERR_DECODE_SCHEMA_ID ||
                             e == FSTORE_ERR_WRITER_SCHEMA
                         ? SK_SCHEMA
                         : SK_DECODE;
        c->skipped[reason]++;
        TLOG(T, 4, "%s [%d] offset %lld skipped (%s): %s", tt->topic,
             m->partition, (long long)m->offset, fstore_err_name(e), err);
        fs_dead_letter(T, m, e, err);
        return 0;
    }
    if (m->payload)
        c->applied++;
    else
        c->deleted++;
    c->bytes += m->len + m->key_len;
    pthread_mutex_lock(&T->mu);
    fs_tpart *tp = fs_part(tt, m->partition);
    if (tp) {
        tp->last_ts = ts;
        tp->delivered = m->offset + 1;
    }
    pthread_mutex_unlock(&T->mu);
    if (T->npend == T->cap_pend) {
        /* A bootstrap larger than memory keeps a sample of its records'
         * latencies, not one entry per record. */
        if (T->cap_pend >= FS_PEND_MAX)
            return 0;
        size_t cap = T->cap_pend ? T->cap_pend * 2 : 1024;
        void *np = realloc(T->pend, cap * sizeof *T->pend);
        if (!np)
            return 0; /* latency samples lost, nothing else */
        T->pend = np;
        T->cap_pend = cap;
    }
    T->pend[T->npend].topic = (uint16_t)ti;
    T->pend[T->npend].ts = ts;
    T->pend[T->npend].deq_us = T->round_us;
    T->npend++;
    return 0;
}

/* Periodic: new partitions, end offsets, positions moved without records
 * (aborted transactions), statistics for other processes. */
static void fs_housekeeping(fs_tailer *T, fs_pause *P)
{
    int64_t now = fs_wall_ms();
    if (now - T->last_meta_ms < 2000)
        return;
    T->last_meta_ms = now;
    for (size_t i = 0; i < T->ntopics; i++) {
        fs_ttopic *tt = &T->topics[i];
        int32_t n = __atomic_load_n(&tt->seen_parts, __ATOMIC_ACQUIRE);
        if (n > tt->nparts) {
            TLOG(T, 6, "topic %s grew to %d partitions", tt->topic, n);
            fs_assign_new(T, tt, n, 0);
        }
        pthread_mutex_lock(&T->mu);
        for (int32_t p = 0; p < tt->nparts; p++) {
            fs_tpart *tp = &tt->parts[p];
            int64_t lo, hi;
            if (tp->assigned &&
                rd_kafka_get_watermark_offsets(T->rk, tt->topic, p, &lo, &hi) == 0 &&
                hi >= 0)
                tp->end = hi;
        }
        pthread_mutex_unlock(&T->mu);
    }
    /* Records nothing unless positions moved; while paused, only once the
     * wait is over (it may be the commit to retry). */
    if (T->ready && !T->batch && (!P->since_us || fs_now_us() >= P->retry_us))
        fs_commit(T, P, 0);
    if (!T->batch && now - T->last_stats_ms >= (int64_t)T->stats_interval_ms) {
        char *txt = fs_stats_text(T);
        if (txt)
            fs_store_put_stats(T->store, txt);
        free(txt);
        T->last_stats_ms = now;
    }
}

/* Is every partition still bootstrapping at the end captured at start:
 * by its consumer position (which also moves past transaction markers and
 * compacted gaps), or by the records delivered to the tailer (known at no
 * cost, while positions are a list built and searched per call)? Call with
 * mu held. */
static int fs_at_end(fs_tailer *T, int by_delivered)
{
    for (size_t i = 0; i < T->ntopics; i++) {
        fs_ttopic *tt = &T->topics[i];
        for (int32_t p = 0; p < tt->nparts; p++) {
            fs_tpart *tp = &tt->parts[p];
            int64_t at = by_delivered ? tp->delivered : tp->position;
            if (tp->assigned && !tp->ready && at < tp->end_at_start)
                return 0;
        }
    }
    return 1;
}

/* How long the open batch may stay open, in microseconds. A bulk load
 * stays open until caught up (or full), whatever its age: its poll waits
 * are bounded by FS_POS_EVERY_US instead, and must never drop to zero (a
 * poll loop that spins steals the core the consumer's fetches need). */
static int64_t fs_batch_window_us(const fs_tailer *T)
{
    if (T->ready)
        return (int64_t)T->max_ms * 1000;
    return T->bulk ? INT64_MAX / 2 : FS_BOOT_MAX_US;
}

/* Spills the bulk load's queue as a sorted run (fs_batch_spill). Returns 0
 * when it could not, and the load commits instead. */
static int fs_bulk_spill(fs_tailer *T)
{
    char err[512];
    size_t n = fstore_batch_size(T->batch);
    int64_t t0 = fs_now_us();
    size_t bytes = fs_batch_bytes(T->batch);
    fstore_err_t e = fs_batch_spill(T->batch, err, sizeof err);
    if (e) {
        TLOG(T, e == FSTORE_ERR_STATE ? 6 : 4,
             "bootstrap: %s; loading what was gathered instead", err);
        return 0;
    }
    pthread_mutex_lock(&T->mu);
    T->bulk_runs++;
    pthread_mutex_unlock(&T->mu);
    TLOG(T, 6, "bootstrap: %zu records so far; %.1f MB of rows go to disk as "
         "a sorted run (handed over in %.3f s)", n, (double)bytes / 1e6,
         (double)(fs_now_us() - t0) / 1e6);
    return 1;
}

/* Should the open batch (or the positions alone) commit now? drained: the
 * last poll emptied the consumer's queue. */
static int fs_commit_due(fs_tailer *T, int drained)
{
    int64_t now = fs_now_us();
    if (T->batch) {
        int64_t age = now - T->batch_started_us;
        if (T->ready)
            return fstore_batch_size(T->batch) >= T->max_records ||
                   age >= (int64_t)T->max_ms * 1000;
        if (T->bulk && fs_batch_bytes(T->batch) >=
                           fs_batch_run_bytes(T->batch, T->bulk_bytes)) {
            /* The rows gathered so far go to disk as a sorted run, on a
             * thread of their own while the queue fills again, and are
             * merged with the others at the commit. */
            if (!fs_bulk_spill(T))
                return 1;
        } else if (!T->bulk && (fstore_batch_size(T->batch) >= FS_BOOT_MAX_RECORDS ||
                                age >= FS_BOOT_MAX_US)) {
            return 1;
        }
    } else if (T->ready) {
        return 0; /* positions alone are committed by housekeeping */
    }
    /* Before readiness: commit as soon as every partition is at its end.
     * Records delivered up to the end say so at no cost; otherwise
     * positions (which also move past transaction markers and compacted
     * gaps) are asked for when the queue is drained, at most every
     * FS_POS_EVERY_US, and every 200 ms in any case. */
    pthread_mutex_lock(&T->mu);
    int done = fs_at_end(T, 1);
    pthread_mutex_unlock(&T->mu);
    if (done)
        return 1;
    if (now - T->last_pos_us < (drained ? FS_POS_EVERY_US : 200000))
        return 0;
    T->last_pos_us = now;
    fs_positions(T);
    pthread_mutex_lock(&T->mu);
    done = fs_at_end(T, 0);
    pthread_mutex_unlock(&T->mu);
    return done;
}

/* Waits up to wait_ms for the first record, then takes whatever else is
 * already queued without waiting: a poll returns as soon as there is
 * anything to apply (a batch poll would wait for a full batch). */
static ssize_t fs_poll(fs_tailer *T, int wait_ms, rd_kafka_message_t **msgs,
                       size_t room)
{
    rd_kafka_message_t *m = rd_kafka_consume_queue(T->q, wait_ms);
    if (!m)
        return 0;
    msgs[0] = m;
    ssize_t more = room > 1 ? rd_kafka_consume_batch_queue(T->q, 0, msgs + 1, room - 1)
                            : 0;
    return 1 + (more > 0 ? more : 0);
}

/* A table with rows but no offsets holds a bulk load that crashed before
 * its commit finished: start it over. Decides whether this start is a
 * bulk bootstrap (no table has offsets yet). */
static void fs_bootstrap_prepare(fs_tailer *T)
{
    fstore_reader_t *r;
    T->bulk = T->bulk_bytes > 0;
    if (fstore_reader_new(T->store, &r))
        return;
    for (size_t i = 0; i < T->ntopics; i++) {
        const fstore_table_t *t = T->topics[i].table;
        size_t noffs = 0;
        uint64_t rows = 0;
        fstore_reader_offsets(r, t, NULL, NULL, 0, &noffs);
        fstore_reader_row_count(r, t, &rows);
        if (noffs)
            T->bulk = 0;
        else if (rows) {
            char err[256];
            fstore_reader_reset(r);
            TLOG(T, 4, "table \"%s\" holds %llu rows but no offsets (an "
                 "interrupted bootstrap): reloading it",
                 t->name, (unsigned long long)rows);
            if (fs_table_clear(t, err, sizeof err))
                TLOG(T, 3, "clearing table \"%s\": %s", t->name, err);
        }
    }
    fstore_reader_destroy(r);
}

void *fs_tail_main(void *arg)
{
    fs_tailer *T = arg;
    rd_kafka_message_t **msgs = malloc(FS_POLL_MAX * sizeof *msgs);
    /* At most one rewind per record of a round. */
    struct fs_rewound {
        rd_kafka_topic_t *rkt;
        int32_t partition;
    } *rewound = malloc(FS_POLL_MAX * sizeof *rewound);
    /* Topics rebuilt this round: the rest of their round is dropped (the
     * errors of their other partitions too: one rebuild reloads them all). */
    fs_ttopic **rebuilt = malloc((T->ntopics + 1) * sizeof *rebuilt);
    if (!msgs || !rewound || !rebuilt) {
        free(msgs);
        free(rewound);
        free(rebuilt);
        fs_fail(T, FSTORE_ERR_NO_MEMORY, "out of memory");
        return NULL;
    }
    fs_bootstrap_prepare(T);
    fs_pause pause = {0};
    while (!__atomic_load_n(&T->stop, __ATOMIC_ACQUIRE)) {
        if (pause.since_us && fs_now_us() < pause.retry_us) {
            /* Nothing is read while paused; the statistics still go out
             * (a small record may fit where a batch did not). */
            fs_tail_backoff(T);
            fs_housekeeping(T, &pause);
            continue;
        }
        if (!T->assigned) {
            fs_set_state(T, ST_CONNECTING);
            if (fs_assign_all(T) == FSTORE_OK) {
                pthread_mutex_lock(&T->mu);
                T->assigned = 1;
                if (T->state == ST_CONNECTING)
                    T->state = ST_BOOTSTRAPPING;
                if (fs_all_ready(T)) {
                    T->ready = 1;
                    T->ready_ms = fs_wall_ms();
                    T->state = ST_READY;
                }
                pthread_cond_broadcast(&T->cond);
                pthread_mutex_unlock(&T->mu);
            } else {
                fs_tail_backoff(T); /* broker unreachable or topic missing */
                continue;
            }
        }
        for (size_t i = 0; i < T->ntopics; i++)
            if (__atomic_exchange_n(&T->topics[i].vanished, 0, __ATOMIC_ACQ_REL))
                fs_partition_vanished(T, &T->topics[i], -1);
        int wait_ms = 100;
        if (T->batch) {
            int64_t left = fs_batch_window_us(T) - (fs_now_us() - T->batch_started_us);
            if (left < 100000)
                wait_ms = left <= 0 ? 0 : (int)((left + 999) / 1000);
        }
        if (!T->ready && wait_ms > FS_POS_EVERY_US / 1000)
            wait_ms = FS_POS_EVERY_US / 1000;
        size_t room = FS_POLL_MAX;
        if (T->ready && T->max_records - fstore_batch_size(T->batch) < room)
            room = T->max_records - fstore_batch_size(T->batch);
        ssize_t n = fs_poll(T, wait_ms, msgs, room);
        int drained = (size_t)n < room;
        if (n > 0)
            T->round_us = fs_now_us();
        /* Partitions rewound this round: their later records are dropped
         * here and fetched again after the seek. */
        int nrewound = 0, retry = 0, delivered = 0;
        size_t nrebuilt = 0;
        for (ssize_t i = 0; i < n; i++) {
            rd_kafka_message_t *m = msgs[i];
            int skip = 0;
            for (int k = 0; k < nrewound; k++)
                if (rewound[k].rkt == m->rkt && rewound[k].partition == m->partition)
                    skip = 1;
            if (nrebuilt && m->rkt) {
                size_t ti;
                fs_ttopic *mt = fs_topic_of(T, m, &ti);
                for (size_t k = 0; k < nrebuilt; k++)
                    skip |= rebuilt[k] == mt;
            }
            /* A pause in this round: the rest is read again after it. */
            if (skip || pause.retry_us > T->round_us) {
                rd_kafka_message_destroy(m);
                continue;
            }
            fs_ttopic *rb = NULL;
            int v = 0;
            if (m->err) {
                rb = fs_message_error(T, m);
            } else if ((v = fs_verify_record(T, m, &rb))) {
                /* Applied before, or the topic was replaced (rb), or the
                 * partition went back to its last record (2). */
                if (v == 2 && nrewound < FS_POLL_MAX) {
                    rewound[nrewound].rkt = m->rkt;
                    rewound[nrewound].partition = m->partition;
                    nrewound++;
                }
            } else {
                delivered = 1;
                if (fs_record(T, m)) {
                    /* Rewind to the record; what came before it applies. */
                    retry = 1;
                    rd_kafka_topic_partition_list_t *l =
                        rd_kafka_topic_partition_list_new(1);
                    rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(m->rkt),
                                                      m->partition)->offset = m->offset;
                    rd_kafka_error_t *se = rd_kafka_seek_partitions(T->rk, l, 5000);
                    if (se) {
                        fs_fail(T, FSTORE_ERR_KAFKA, "rewinding %s [%d]: %s",
                                rd_kafka_topic_name(m->rkt), m->partition,
                                rd_kafka_error_string(se));
                        rd_kafka_error_destroy(se);
                    }
                    rd_kafka_topic_partition_list_destroy(l);
                    rewound[nrewound].rkt = m->rkt;
                    rewound[nrewound].partition = m->partition;
                    nrewound++;
                }
            }
            /* What came before applies first; then the table restarts. */
            if (rb && fs_commit(T, &pause, 1) == FSTORE_OK) {
                fs_rebuild(T, rb);
                if (nrebuilt < T->ntopics)
                    rebuilt[nrebuilt++] = rb;
            }
            rd_kafka_message_destroy(m);
        }
        if (delivered) {
            pthread_mutex_lock(&T->mu);
            T->connected = 1;
            pthread_mutex_unlock(&T->mu);
        }
        if ((retry && T->batch) || fs_commit_due(T, drained))
            fs_commit(T, &pause, 0);
        /* Current: everything the broker handed over is visible, and
         * every topic is there to hand more over. */
        int missing = 0;
        for (size_t i = 0; i < T->ntopics; i++)
            missing |= __atomic_load_n(&T->topics[i].missing, __ATOMIC_ACQUIRE);
        if (drained && !T->batch && T->ready && !missing) {
            pthread_mutex_lock(&T->mu);
            if (T->connected)
                T->last_current_ms = fs_wall_ms();
            pthread_mutex_unlock(&T->mu);
        }
        if (retry)
            fs_tail_backoff(T); /* before asking the schema registry again */
        /* The clients' error events wait on their main queues. */
        rd_kafka_poll(T->rk, 0);
        if (T->dlq)
            rd_kafka_poll(T->dlq, 0);
        fs_housekeeping(T, &pause);
    }
    if (T->state != ST_FAILED)
        fs_commit(T, &pause, 0);
    if (T->batch) {
        fstore_batch_abort(T->batch);
        T->batch = NULL;
    }
    free(msgs);
    free(rewound);
    free(rebuilt);
    return NULL;
}
