/* Progress of `fstore tail` on stderr; see tail_progress.h. */
#include "tail_progress.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "support/fmt.h"

/* Guards stderr and `drawn`: log lines come from the tailer thread while the
 * main thread redraws the progress line. */
static pthread_mutex_t tail_mu = PTHREAD_MUTEX_INITIALIZER;
static int drawn; /* a progress line is on screen, without a newline */

double tail_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

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
    p->t0 = tail_now();
    p->rate = -1;
    /* The counters of a new tailer start at 0. */
    p->t[0] = p->t0;
    p->nsamples = p->next = 1;
}

/* Formats a duration in seconds as H:MM:SS or M:SS. */
static const char *duration(double s, char *buf, size_t size)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, size, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, size, "%ld:%02ld", t / 60, t % 60);
    return buf;
}

/* Adds a sample of the record count and updates the rate over the window
 * of samples kept. */
static void tail_rate_sample(tail_progress *p, int64_t records)
{
    const int cap = (int)(sizeof p->t / sizeof p->t[0]);
    double now = tail_now();
    p->t[p->next] = now;
    p->r[p->next] = records;
    p->next = (p->next + 1) % cap;
    if (p->nsamples < cap)
        p->nsamples++;
    if (p->nsamples < 2)
        return;
    /* The oldest sample is where the next one will go, once full. */
    int old = p->nsamples < cap ? 0 : p->next;
    double dt = now - p->t[old];
    if (dt > 0)
        p->rate = (double)(records - p->r[old]) / dt;
}

void tail_progress_tick(tail_progress *p, fstore_store_t *store)
{
    tail_figures f;
    if (!p->live || tail_figures_read(store, &f))
        return;
    tail_rate_sample(p, f.records);
    char line[256], a[32], b[32], c[32];
    int n =
        snprintf(line, sizeof line, "fstore tail: %s  %s records  %s rec/s",
                 f.state, sup_grouped(f.records, a, sizeof a),
                 sup_grouped(p->rate < 0 ? 0 : (int64_t)p->rate, b, sizeof b));
    if (f.lag >= 0 && n > 0 && (size_t)n < sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n, "  lag %s",
                      sup_grouped(f.lag, c, sizeof c));
    int boot = strcmp(f.state, "ready") != 0;
    if (boot && f.lag > 0 && p->rate > 1 && n > 0 && (size_t)n < sizeof line)
        n += snprintf(line + n, sizeof line - (size_t)n, "  ETA %s",
                      duration((double)f.lag / p->rate, a, sizeof a));
    if (!boot && f.fresh_p99 >= 0 && n > 0 && (size_t)n < sizeof line)
        snprintf(line + n, sizeof line - (size_t)n, "  freshness p99 %.1f ms",
                 f.fresh_p99);
    pthread_mutex_lock(&tail_mu);
    fprintf(stderr, "\r\033[K%s", line);
    fflush(stderr);
    drawn = 1;
    pthread_mutex_unlock(&tail_mu);
}

void tail_progress_caught_up(tail_progress *p, fstore_store_t *store)
{
    if (p->quiet)
        return;
    tail_figures f;
    if (tail_figures_read(store, &f))
        f.records = 0, f.skipped = 0;
    double s = tail_now() - p->t0;
    char a[32], b[32], c[32];
    pthread_mutex_lock(&tail_mu);
    fprintf(
        stderr, "%sfstore tail: caught up in %.1f s: %s records (%s rec/s)",
        drawn ? "\r\033[K" : "", s, sup_grouped(f.records, a, sizeof a),
        sup_grouped(s > 0 ? (int64_t)((double)f.records / s) : 0, b, sizeof b));
    if (f.skipped)
        fprintf(stderr, ", %s skipped (see fstore stats)",
                sup_grouped(f.skipped, c, sizeof c));
    fputc('\n', stderr);
    drawn = 0;
    pthread_mutex_unlock(&tail_mu);
}

void tail_progress_clear(tail_progress *p)
{
    (void)p;
    pthread_mutex_lock(&tail_mu);
    if (drawn)
        fputs("\r\033[K", stderr);
    drawn = 0;
    pthread_mutex_unlock(&tail_mu);
}

void tail_progress_log(void *opaque, int level, const char *msg)
{
    (void)opaque;
    static const char *const names[] = {"emerg",   "alert",  "crit", "error",
                                        "warning", "notice", "info", "debug"};
    pthread_mutex_lock(&tail_mu);
    fprintf(stderr, "%sfstore tail: %s: %s\n", drawn ? "\r\033[K" : "",
            names[level & 7], msg);
    drawn = 0;
    pthread_mutex_unlock(&tail_mu);
}
