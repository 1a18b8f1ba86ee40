/* Progress of `fstore tail` on stderr; see tail_progress.h. */
#include "tail_progress.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/status.h"
#include "support/fmt.h"

static int64_t jint(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : 0;
}

/* Adds one table's counters and lag to @p f. */
static void tail_figures_table(json_t *t, tail_figures *f, int *have_lag)
{
    json_t *c = json_object_get(t, "counters");
    f->records += jint(c, "applied") + jint(c, "deleted");
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(c, "skipped"), k, v)
    {
        if (json_is_integer(v)) {
            f->records += json_integer_value(v);
            f->skipped += json_integer_value(v);
        }
    }
    json_object_foreach(json_object_get(t, "partitions"), k, v)
    {
        json_t *lag = json_object_get(v, "lag");
        if (json_is_integer(lag)) {
            f->lag += json_integer_value(lag);
            *have_lag = 1;
        }
    }
}

int tail_figures_read(fstore_store_t *store, tail_figures *f)
{
    memset(f, 0, sizeof *f);
    f->lag = -1;
    f->fresh_p99 = -1;
    char *txt = NULL;
    if (fstore_stats_json(store, &txt) != FSTORE_OK)
        return -1;
    json_t *root = json_loads(txt, 0, NULL);
    fstore_free(txt);
    if (!root)
        return -1;
    const char *state = json_string_value(json_object_get(root, "state"));
    snprintf(f->state, sizeof f->state, "%s", state ? state : "starting");
    json_t *p99 = json_object_get(json_object_get(root, "freshness_ms"), "p99");
    json_t *cnt =
        json_object_get(json_object_get(root, "freshness_ms"), "count");
    if (json_is_number(p99) && json_integer_value(cnt) > 0)
        f->fresh_p99 = json_number_value(p99);
    int have_lag = 0;
    f->lag = 0;
    const char *name;
    json_t *t;
    json_object_foreach(json_object_get(root, "tables"), name, t)
    {
        tail_figures_table(t, f, &have_lag);
    }
    if (!have_lag)
        f->lag = -1;
    json_decref(root);
    return 0;
}

void tail_progress_init(tail_progress *p, int quiet)
{
    memset(p, 0, sizeof *p);
    p->quiet = quiet;
    p->live = !quiet && isatty(STDERR_FILENO);
    p->t0 = tool_now();
    /* The counters of a new tailer start at 0. */
    tool_rate_init(&p->rate, 0);
}

void tail_progress_tick(tail_progress *p, fstore_store_t *store)
{
    tail_figures f;
    if (!p->live || tail_figures_read(store, &f))
        return;
    tool_rate_sample(&p->rate, f.records);
    double rate = p->rate.rate;
    char line[256], a[32], b[32], c[32];
    int n = snprintf(line, sizeof line, "%s  %s records  %s rec/s", f.state,
                     sup_grouped(f.records, a, sizeof a),
                     sup_grouped(rate < 0 ? 0 : (int64_t)rate, b, sizeof b));
    if (f.lag >= 0 && n > 0 && (size_t)n < sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n, "  lag %s",
                      sup_grouped(f.lag, c, sizeof c));
    int boot = strcmp(f.state, "ready") != 0;
    if (boot && f.lag > 0 && rate > 1 && n > 0 && (size_t)n < sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n, "  ETA %s",
                      tool_duration((double)f.lag / rate, a, sizeof a));
    if (!boot && f.fresh_p99 >= 0 && n > 0 && (size_t)n < sizeof line)
        snprintf(line + n, sizeof line - (size_t)n, "  freshness p99 %.1f ms",
                 f.fresh_p99);
    tool_status_line("tail", 1, "%s", line);
}

/* With several tables, a line for each: its rows and what was applied. */
static void tail_progress_tables(fstore_store_t *store)
{
    char *txt = NULL;
    if (fstore_stats_json(store, &txt) != FSTORE_OK)
        return;
    json_t *root = json_loads(txt, 0, NULL);
    fstore_free(txt);
    json_t *tables = json_object_get(root, "tables");
    if (json_object_size(tables) > 1) {
        const char *name;
        json_t *t;
        json_object_foreach(tables, name, t)
        {
            tail_figures one = {.lag = 0};
            int have_lag = 0;
            tail_figures_table(t, &one, &have_lag);
            const char *topic = json_string_value(json_object_get(t, "topic"));
            char a[32], b[32];
            tool_status_line("tail", 0, "  table %s (topic %s): %s rows, %s records",
                             name, topic ? topic : "?",
                             sup_grouped(jint(t, "rows"), a, sizeof a),
                             sup_grouped(one.records, b, sizeof b));
        }
    }
    json_decref(root);
}

void tail_progress_caught_up(tail_progress *p, fstore_store_t *store)
{
    if (p->quiet)
        return;
    tail_figures f;
    if (tail_figures_read(store, &f))
        f.records = 0, f.skipped = 0;
    double s = tool_now() - p->t0;
    char a[32], b[32], c[32], skipped[80] = "";
    if (f.skipped)
        snprintf(skipped, sizeof skipped, ", %s skipped (see fstore stats)",
                 sup_grouped(f.skipped, c, sizeof c));
    tool_status_line(
        "tail", 0, "caught up in %.1f s: %s records (%s rec/s)%s", s,
        sup_grouped(f.records, a, sizeof a),
        sup_grouped(s > 0 ? (int64_t)((double)f.records / s) : 0, b, sizeof b), skipped);
    tail_progress_tables(store);
}

void tail_progress_clear(tail_progress *p)
{
    (void)p;
    tool_status_clear();
}

void tail_progress_log(void *opaque, int level, const char *msg)
{
    (void)opaque;
    tool_status_line("tail", 0, "%s: %s", tool_level_name(level), msg);
}
