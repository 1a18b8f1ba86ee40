/*
 * The aggregator's public lifecycle: created from a spec (clients, topics,
 * state), run on the caller's thread, stopped from any thread, its figures
 * as JSON, destroyed.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "agg_int.h"

static fstore_err_t fs_agg_setup(fstore_aggregator_t *a, const char *state_dir,
                                 char *errstr, size_t errstr_size)
{
    /* The output schema first: a spec mistake found there creates nothing. */
    fstore_err_t err = fs_agg_output_schema_check(a, errstr, errstr_size);
    if (!err)
        err = fs_agg_store_open(state_dir, a->spec, a->conf, &a->st, errstr, errstr_size);
    if (!err)
        err = fs_agg_producer(a, state_dir, errstr, errstr_size);
    if (!err)
        err = fs_agg_topics(a, errstr, errstr_size);
    if (!err)
        err = fs_agg_reader(a, errstr, errstr_size);
    if (!err)
        err = fs_agg_consumer(a, state_dir, fs_agg_rebalance, errstr, errstr_size);
    if (!err && (!(a->e = fs_agg_entity_new(a->spec)) ||
                 !(a->in = fs_agg_input_new(a->spec)) ||
                 !(a->plans = fs_plan_cache_new())))
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
    return err;
}

fstore_err_t fstore_aggregator_new(const char *spec_json, const char *base_dir,
                                   const char *state_dir, const fstore_conf_t *conf,
                                   fstore_aggregator_t **aggp, char *errstr,
                                   size_t errstr_size)
{
    if (!spec_json || !state_dir || !*state_dir || !aggp)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_INVALID_ARG,
                           "spec, state directory and aggregator pointer are required");
    *aggp = NULL;
    fstore_aggregator_t *a = calloc(1, sizeof *a);
    if (!a)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
    pthread_mutex_init(&a->mu, NULL);
    a->conf = conf ? fstore_conf_dup(conf) : fstore_conf_new();
    fstore_err_t err = a->conf ? fs_agg_spec_parse(spec_json, base_dir, NULL, &a->spec,
                                                   errstr, errstr_size)
                               : fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY,
                                             "out of memory");
    if (!err) {
        a->commit_ms = fs_conf_u64(a->conf, "aggregate.commit_ms");
        err = fs_agg_setup(a, state_dir, errstr, errstr_size);
    }
    if (err) {
        fstore_aggregator_destroy(a);
        return err;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    a->started_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    *aggp = a;
    return FSTORE_OK;
}

fstore_err_t fstore_aggregator_run(fstore_aggregator_t *a, int until_caught_up,
                                   int timeout_ms, char *errstr, size_t errstr_size)
{
    if (!a)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_INVALID_ARG,
                           "aggregator must not be NULL");
    if (__atomic_exchange_n(&a->ran, 1, __ATOMIC_ACQ_REL))
        return fstore__err(errstr, errstr_size, FSTORE_ERR_STATE,
                           "an aggregator runs once: create a new one to run again");
    return fs_agg_loop(a, until_caught_up, timeout_ms, errstr, errstr_size);
}

void fstore_aggregator_stop(fstore_aggregator_t *a)
{
    if (a)
        __atomic_store_n(&a->stop, 1, __ATOMIC_RELEASE);
}

static json_t *fs_agg_parts_json(const fstore_aggregator_t *a)
{
    json_t *o = json_object();
    for (int32_t p = 0; o && p < a->nparts; p++) {
        const fs_agg_ppart *pp = &a->pub[p];
        if (!pp->assigned)
            continue;
        char name[16];
        snprintf(name, sizeof name, "%d", p);
        json_object_set_new(o, name,
                            json_pack("{s:I, s:I, s:I}", "stream_time_ms",
                                      (json_int_t)(pp->q == INT64_MIN ? -1 : pp->q),
                                      "position", (json_int_t)pp->position,
                                      "end_offset_at_assign",
                                      (json_int_t)pp->end_at_assign));
    }
    return o;
}

fstore_err_t fstore_aggregator_stats_json(fstore_aggregator_t *a, char **json)
{
    if (!a || !json)
        return FSTORE_ERR_INVALID_ARG;
    pthread_mutex_lock(&a->mu);
    const fs_agg_counters *c = &a->c;
    json_t *root = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I},"
        " s:{s:I, s:f, s:f, s:f}, s:s, s:o}",
        "started_at_ms", (json_int_t)a->started_ms, "events", (json_int_t)c->events,
        "late_dropped", (json_int_t)c->late, "emitted", (json_int_t)c->emitted,
        "tombstones", (json_int_t)c->tombstones, "entities", (json_int_t)a->entities,
        "commits", (json_int_t)c->commits, "aborts", (json_int_t)c->aborts,
        "restored_records", (json_int_t)c->restored, "skipped", "decode",
        (json_int_t)c->skipped[FS_AGG_SK_DECODE], "schema",
        (json_int_t)c->skipped[FS_AGG_SK_SCHEMA], "no_key",
        (json_int_t)c->skipped[FS_AGG_SK_NO_KEY], "time",
        (json_int_t)c->skipped[FS_AGG_SK_TIME], "commit_ms", "count",
        (json_int_t)a->commit_us.count, "p50", fs_hist_quantile(&a->commit_us, 0.5) / 1e3,
        "p99", fs_hist_quantile(&a->commit_us, 0.99) / 1e3, "max",
        a->commit_us.max / 1e3, "error", a->errmsg, "partitions", fs_agg_parts_json(a));
    pthread_mutex_unlock(&a->mu);
    char *txt = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    *json = txt;
    return txt ? FSTORE_OK : FSTORE_ERR_NO_MEMORY;
}

void fstore_aggregator_destroy(fstore_aggregator_t *a)
{
    if (!a)
        return;
    if (a->consumer) {
        rd_kafka_consumer_close(a->consumer);
        rd_kafka_destroy(a->consumer);
    }
    if (a->reader) {
        rd_kafka_consumer_close(a->reader);
        rd_kafka_destroy(a->reader);
    }
    if (a->out_rkt)
        rd_kafka_topic_destroy(a->out_rkt);
    if (a->cl_rkt)
        rd_kafka_topic_destroy(a->cl_rkt);
    if (a->dlq_rkt)
        rd_kafka_topic_destroy(a->dlq_rkt);
    if (a->producer)
        rd_kafka_destroy(a->producer);
    fs_agg_txn_abort(a->tx);
    fs_agg_store_close(a->st);
    fs_agg_entity_free(a->e);
    fs_agg_input_free(a->in);
    fs_plan_cache_free(a->plans);
    fs_buf_free(&a->row);
    fs_buf_free(&a->rec);
    fs_buf_free(&a->state);
    free(a->parts);
    free(a->pub);
    for (size_t i = 0; a->dirty && i < a->cap_dirty; i++)
        fs_agg_entity_free(a->dirty[i].e);
    free(a->dirty);
    free(a->dirty_set);
    fs_agg_spec_free(a->spec);
    fstore_conf_destroy(a->conf);
    pthread_mutex_destroy(&a->mu);
    free(a);
}
