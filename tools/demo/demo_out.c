/* Terminal output of `fstore demo`; see demo_out.h. */
#include "demo_out.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

/* Guards stderr and `drawn`: log lines come from the tailer's and
 * librdkafka's threads while the main thread redraws the status line. */
static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;
static int out_quiet, out_live;
static int drawn; /* a status line is on screen, without a newline */

void demo_out_init(int quiet)
{
    out_quiet = quiet;
    out_live = !quiet && isatty(STDERR_FILENO);
}

static void vline(int status, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void vline(int status, const char *fmt, va_list ap)
{
    pthread_mutex_lock(&out_mu);
    fprintf(stderr, "%sfstore demo: ", drawn ? "\r\033[K" : "");
    vfprintf(stderr, fmt, ap);
    if (!status)
        fputc('\n', stderr);
    fflush(stderr);
    drawn = status;
    pthread_mutex_unlock(&out_mu);
}

void demo_status(const char *fmt, ...)
{
    if (!out_live)
        return;
    va_list ap;
    va_start(ap, fmt);
    vline(1, fmt, ap);
    va_end(ap);
}

void demo_step(const char *fmt, ...)
{
    if (out_quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    vline(0, fmt, ap);
    va_end(ap);
}

void demo_status_clear(void)
{
    pthread_mutex_lock(&out_mu);
    if (drawn)
        fputs("\r\033[K", stderr);
    drawn = 0;
    pthread_mutex_unlock(&out_mu);
}

static const char *level_name(int level)
{
    static const char *const names[] = {"emerg",   "alert",  "crit", "error",
                                        "warning", "notice", "info", "debug"};
    return names[level & 7];
}

void demo_log_fstore(void *opaque, int level, const char *msg)
{
    (void)opaque;
    pthread_mutex_lock(&out_mu);
    fprintf(stderr, "%sfstore demo: %s: %s\n", drawn ? "\r\033[K" : "",
            level_name(level), msg);
    drawn = 0;
    pthread_mutex_unlock(&out_mu);
}

void demo_log_kafka(const rd_kafka_t *rk, int level, const char *fac,
                    const char *buf)
{
    (void)rk;
    if (level > 4)
        return;
    pthread_mutex_lock(&out_mu);
    fprintf(stderr, "%sfstore demo: kafka %s: %s: %s\n",
            drawn ? "\r\033[K" : "", level_name(level), fac, buf);
    drawn = 0;
    pthread_mutex_unlock(&out_mu);
}

const char *demo_duration(double ns, char *buf, size_t size)
{
    static const struct {
        double scale;
        const char *unit;
    } units[] = {{1e9, "s"}, {1e6, "ms"}, {1e3, "us"}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (ns >= units[i].scale) {
            double v = ns / units[i].scale;
            snprintf(buf, size, "%.*f %s",
                     v < 10    ? 2
                     : v < 100 ? 1
                               : 0,
                     v, units[i].unit);
            return buf;
        }
    }
    snprintf(buf, size, "%.0f ns", ns);
    return buf;
}
