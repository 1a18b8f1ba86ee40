/* Terminal output of `fstore demo`; see demo_out.h. */
#include "demo_out.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "common/status.h"

static int out_quiet, out_live;

void demo_out_init(int quiet)
{
    out_quiet = quiet;
    out_live = !quiet && isatty(STDERR_FILENO);
}

void demo_status(const char *fmt, ...)
{
    if (!out_live)
        return;
    va_list ap;
    va_start(ap, fmt);
    tool_status_vline("demo", 1, fmt, ap);
    va_end(ap);
}

void demo_step(const char *fmt, ...)
{
    if (out_quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    tool_status_vline("demo", 0, fmt, ap);
    va_end(ap);
}

void demo_status_clear(void) { tool_status_clear(); }

void demo_log_fstore(void *opaque, int level, const char *msg)
{
    (void)opaque;
    tool_status_line("demo", 0, "%s: %s", tool_level_name(level), msg);
}

void demo_log_kafka(const rd_kafka_t *rk, int level, const char *fac,
                    const char *buf)
{
    (void)rk;
    if (level > 4)
        return;
    tool_status_line("demo", 0, "kafka %s: %s: %s", tool_level_name(level), fac, buf);
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
