/* The status line of the progress-showing commands; see status.h. */
#include "status.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Guards stderr and `drawn`: log lines come from library threads while the
 * main thread redraws the status line. */
static pthread_mutex_t status_mu = PTHREAD_MUTEX_INITIALIZER;
static int drawn; /* a status line is on screen, without a newline */

void tool_status_vline(const char *cmd, int status, const char *fmt, va_list ap)
{
    pthread_mutex_lock(&status_mu);
    fprintf(stderr, "%sfstore %s: ", drawn ? "\r\033[K" : "", cmd);
    vfprintf(stderr, fmt, ap);
    if (!status)
        fputc('\n', stderr);
    fflush(stderr);
    drawn = status;
    pthread_mutex_unlock(&status_mu);
}

void tool_status_line(const char *cmd, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tool_status_vline(cmd, status, fmt, ap);
    va_end(ap);
}

void tool_status_clear(void)
{
    pthread_mutex_lock(&status_mu);
    if (drawn)
        fputs("\r\033[K", stderr);
    drawn = 0;
    pthread_mutex_unlock(&status_mu);
}

const char *tool_level_name(int level)
{
    static const char *const names[] = {"emerg",   "alert",  "crit", "error",
                                        "warning", "notice", "info", "debug"};
    return names[level & 7];
}

double tool_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

const char *tool_duration(double s, char *buf, size_t size)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, size, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, size, "%ld:%02ld", t / 60, t % 60);
    return buf;
}

void tool_rate_init(tool_rate *r, int64_t n0)
{
    memset(r, 0, sizeof *r);
    r->t[0] = tool_now();
    r->n[0] = n0;
    r->nsamples = r->next = 1;
    r->rate = -1;
}

void tool_rate_sample(tool_rate *r, int64_t n)
{
    const int cap = (int)(sizeof r->t / sizeof r->t[0]);
    double now = tool_now();
    r->t[r->next] = now;
    r->n[r->next] = n;
    r->next = (r->next + 1) % cap;
    if (r->nsamples < cap)
        r->nsamples++;
    if (r->nsamples < 2)
        return;
    /* The oldest sample is where the next one will go, once full. */
    int old = r->nsamples < cap ? 0 : r->next;
    double dt = now - r->t[old];
    if (dt > 0)
        r->rate = (double)(n - r->n[old]) / dt;
}
