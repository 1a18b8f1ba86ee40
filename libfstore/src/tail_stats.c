/* The tailer's statistics document (see docs/stats.md). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "tail_int.h"

static const char *const fs_skip_names[SK_N] = {"decode", "schema", "resolve",
                                                "no_key"};
static const char *const fs_state_names[] = {
    "idle", "connecting", "bootstrapping", "ready", "failed", "stopped"};

static json_t *fs_hist_json(const fs_hist *h)
{
    return json_pack("{s:I, s:f, s:f, s:f, s:f, s:f}", "count", (json_int_t)h->count,
                     "p50", fs_hist_quantile(h, 0.50) / 1000.0, "p99",
                     fs_hist_quantile(h, 0.99) / 1000.0, "p999",
                     fs_hist_quantile(h, 0.999) / 1000.0, "max",
                     h->max / 1000.0, "mean",
                     h->count ? (double)h->sum / (double)h->count / 1000.0 : 0.0);
}

json_t *fs_stats_build(fs_tailer *T)
{
    json_t *root = json_object(), *tables = json_object();
    fs_hist *all = calloc(1, sizeof *all);
    if (!root || !tables || !all) {
        json_decref(root);
        json_decref(tables);
        free(all);
        return NULL;
    }
    int64_t now = fs_wall_ms();
    pthread_mutex_lock(&T->mu);
    json_object_set_new(root, "recorded_at_ms", json_integer(now));
    json_object_set_new(root, "state", json_string(fs_state_names[T->state]));
    json_object_set_new(root, "ready", json_boolean(T->ready));
    json_object_set_new(root, "connected", json_boolean(T->connected));
    json_object_set_new(root, "started_at_ms", json_integer(T->started_ms));
    json_object_set_new(root, "bootstrap_ms",
                        T->ready ? json_integer(T->ready_ms - T->started_ms) : json_null());
    json_object_set_new(root, "last_commit_ms", json_integer(T->last_commit_ms));
    json_object_set_new(root, "last_current_ms", json_integer(T->last_current_ms));
    json_object_set_new(root, "last_error", json_string(T->last_error));
    json_object_set_new(root, "kafka_errors", json_integer((json_int_t)T->kafka_errors));
    json_object_set_new(root, "bootstrap_runs", json_integer((json_int_t)T->bulk_runs));
    json_object_set_new(root, "paused", json_boolean(T->paused_since_ms != 0));
    json_object_set_new(root, "paused_since_ms",
                        T->paused_since_ms ? json_integer(T->paused_since_ms) : json_null());
    json_object_set_new(root, "error", json_string(T->errmsg));
    for (size_t i = 0; i < T->ntopics; i++) {
        fs_ttopic *tt = &T->topics[i];
        json_t *t = json_object(), *parts = json_object(), *sk = json_object();
        for (int32_t p = 0; p < tt->nparts; p++) {
            fs_tpart *tp = &tt->parts[p];
            if (!tp->assigned)
                continue;
            char name[16];
            snprintf(name, sizeof name, "%d", p);
            int64_t lag = tp->end >= 0 && tp->position >= 0 ? tp->end - tp->position
                          : tp->end >= 0 && tp->start >= 0 ? tp->end - tp->start
                                                           : -1;
            json_object_set_new(
                parts, name,
                json_pack("{s:I, s:I, s:I, s:I, s:b}", "position",
                          (json_int_t)tp->position, "end_offset", (json_int_t)tp->end,
                          "lag", (json_int_t)(lag < 0 ? 0 : lag),
                          "last_record_timestamp_ms", (json_int_t)tp->last_ts,
                          "caught_up", tp->ready));
        }
        for (int k = 0; k < SK_N; k++)
            json_object_set_new(sk, fs_skip_names[k], json_integer((json_int_t)tt->c.skipped[k]));
        json_object_set_new(t, "topic", json_string(tt->topic));
        json_object_set_new(t, "topic_missing",
                            json_boolean(__atomic_load_n(&tt->missing, __ATOMIC_ACQUIRE)));
        json_object_set_new(t, "partitions", parts);
        json_object_set_new(t, "counters",
                            json_pack("{s:I, s:I, s:I, s:o, s:I}", "applied",
                                      (json_int_t)tt->c.applied, "deleted",
                                      (json_int_t)tt->c.deleted, "bytes",
                                      (json_int_t)tt->c.bytes, "skipped", sk,
                                      "rebuilds", (json_int_t)tt->rebuilds));
        json_object_set_new(t, "freshness_ms", fs_hist_json(&tt->fresh));
        fs_hist_merge(all, &tt->fresh);
        json_object_set_new(tables, tt->table->name, t);
    }
    json_object_set_new(root, "apply_ms", fs_hist_json(&T->apply));
    pthread_mutex_unlock(&T->mu);
    json_object_set_new(root, "freshness_ms", fs_hist_json(all));
    json_object_set_new(root, "tables", tables);
    free(all);
    return root;
}

/* The statistics as compact JSON text (malloc'ed), or NULL. */
char *fs_stats_text(fs_tailer *T)
{
    json_t *st = fs_stats_build(T);
    char *txt = st ? json_dumps(st, JSON_COMPACT) : NULL;
    json_decref(st);
    return txt;
}
