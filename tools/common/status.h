/*
 * One status line on stderr, redrawn in place on a terminal, and whole
 * lines (steps, log messages) printed from any thread without tearing it.
 * Used by the commands that show progress (tail, aggregate, demo).
 */
#ifndef FSTORE_TOOLS_STATUS_H
#define FSTORE_TOOLS_STATUS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

/**
 * Prints "fstore CMD: " and the formatted text on stderr, first erasing a
 * status line on screen. With @p status the text becomes the status line
 * (no newline, redrawn by the next call); without, it is a whole line.
 */
void tool_status_line(const char *cmd, int status, const char *fmt, ...) TOOL_PRINTF(3, 4);
void tool_status_vline(const char *cmd, int status, const char *fmt, va_list ap)
    TOOL_PRINTF(3, 0);

/** Erases the status line, so what follows starts clean. */
void tool_status_clear(void);

/** The syslog name of a log level ("error", "warning", ...). */
const char *tool_level_name(int level);

/** Seconds on the monotonic clock. */
double tool_now(void);

/** Formats a duration in seconds as H:MM:SS or M:SS. */
const char *tool_duration(double s, char *buf, size_t size);

/** A rate over the last few samples of a growing count: it follows
 * changes within seconds without jumping per batch. */
typedef struct tool_rate {
    double t[5];
    int64_t n[5];
    int nsamples, next;
    double rate; /* per second; < 0 before the second sample */
} tool_rate;

/** Starts with the count @p n0 at the current time. */
void tool_rate_init(tool_rate *r, int64_t n0);

/** Adds a sample of the count; updates r->rate. */
void tool_rate_sample(tool_rate *r, int64_t n);

#endif
