/* Progress of `fstore aggregate` on stderr; see agg_progress.h. */
#include "agg_progress.h"

#include <jansson.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/status.h"
#include "support/fmt.h"

typedef struct agg_figures {
    int64_t events, entities, commits, aborts, late, skipped, behind;
    double commit_p99;
} agg_figures;

static int64_t jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

static int agg_figures_read(fstore_aggregator_t *agg, agg_figures *f)
{
    memset(f, 0, sizeof *f);
    char *txt = NULL;
    if (fstore_aggregator_stats_json(agg, &txt) != FSTORE_OK)
        return -1;
    json_t *root = json_loads(txt, 0, NULL);
    fstore_free(txt);
    if (!root)
        return -1;
    f->events = jint(root, "events");
    f->entities = jint(root, "entities");
    f->commits = jint(root, "commits");
    f->aborts = jint(root, "aborts");
    f->late = jint(root, "late_dropped");
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(root, "skipped"), k, v)
    {
        if (json_is_integer(v))
            f->skipped += (int64_t)json_integer_value(v);
    }
    json_object_foreach(json_object_get(root, "partitions"), k, v)
    {
        int64_t pos = jint(v, "position"), end = jint(v, "end_offset_at_assign");
        if (pos >= 0 && end > pos)
            f->behind += end - pos;
    }
    json_t *p99 = json_object_get(json_object_get(root, "commit_ms"), "p99");
    f->commit_p99 = json_is_number(p99) ? json_number_value(p99) : 0;
    json_decref(root);
    return 0;
}

static void *agg_progress_thread(void *arg)
{
    agg_progress *p = arg;
    tool_rate rate;
    tool_rate_init(&rate, 0);
    while (!__atomic_load_n(&p->done, __ATOMIC_ACQUIRE)) {
        struct timespec half = {0, 500000000};
        nanosleep(&half, NULL);
        agg_figures f;
        if (__atomic_load_n(&p->done, __ATOMIC_ACQUIRE) || agg_figures_read(p->agg, &f))
            continue;
        tool_rate_sample(&rate, f.events);
        char a[32], b[32], c[32], d[32], behind[64] = "";
        if (f.behind > 0)
            snprintf(behind, sizeof behind, "  %s to catch up",
                     sup_grouped(f.behind, d, sizeof d));
        tool_status_line("aggregate", 1,
                         "%s events  %s ev/s  %s entities  %s commits (p99 %.0f ms)%s",
                         sup_grouped(f.events, a, sizeof a),
                         sup_grouped(rate.rate < 0 ? 0 : (int64_t)rate.rate, b, sizeof b),
                         sup_grouped(f.entities, c, sizeof c),
                         sup_grouped(f.commits, d, sizeof d), f.commit_p99, behind);
    }
    return NULL;
}

void agg_progress_start(agg_progress *p, fstore_aggregator_t *agg, int quiet)
{
    memset(p, 0, sizeof *p);
    p->agg = agg;
    p->quiet = quiet;
    p->t0 = tool_now();
    p->live = !quiet && isatty(STDERR_FILENO) &&
              pthread_create(&p->th, NULL, agg_progress_thread, p) == 0;
}

void agg_progress_stop(agg_progress *p)
{
    __atomic_store_n(&p->done, 1, __ATOMIC_RELEASE);
    if (p->live)
        pthread_join(p->th, NULL);
    tool_status_clear();
    agg_figures f;
    if (p->quiet || agg_figures_read(p->agg, &f))
        return;
    double s = tool_now() - p->t0;
    char a[32], b[32], c[32], d[32], e[32], g[32], h[32];
    tool_status_line("aggregate", 0,
                     "%.1f s: %s events (%s/s), %s entities, %s commits, %s aborts, "
                     "%s late, %s skipped",
                     s, sup_grouped(f.events, a, sizeof a),
                     sup_grouped(s > 0 ? (int64_t)((double)f.events / s) : 0, b, sizeof b),
                     sup_grouped(f.entities, c, sizeof c),
                     sup_grouped(f.commits, d, sizeof d), sup_grouped(f.aborts, e, sizeof e),
                     sup_grouped(f.late, g, sizeof g), sup_grouped(f.skipped, h, sizeof h));
}

void agg_progress_log(void *opaque, int level, const char *msg)
{
    (void)opaque;
    tool_status_line("aggregate", 0, "%s: %s", tool_level_name(level), msg);
}
