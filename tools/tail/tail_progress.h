/*
 * Progress of `fstore tail` on stderr: a line redrawn in place on a TTY
 * (records applied, records/s, lag, ETA while bootstrapping), a "caught up"
 * line, and library log lines that do not tear the progress line.
 */
#ifndef FSTORE_TOOLS_TAIL_PROGRESS_H
#define FSTORE_TOOLS_TAIL_PROGRESS_H

#include <stdint.h>

#include "common/status.h"
#include "fstore/fstore.h"

/** What the tailer's statistics say, summed over tables and partitions. */
typedef struct tail_figures {
    char state[24];   /* "connecting", "bootstrapping", "ready", ... */
    int64_t records;  /* applied + deleted + skipped */
    int64_t skipped;  /* of which skipped */
    int64_t lag;      /* records behind the end offsets; -1 unknown */
    double fresh_p99; /* record timestamp → visible, ms; -1 unknown */
} tail_figures;

typedef struct tail_progress {
    int live;  /* redraw a progress line (stderr is a TTY) */
    int quiet; /* no progress, no "caught up" line */
    double t0; /* when tailing started (s, monotonic) */
    tool_rate rate; /* records/s */
} tail_progress;

/**
 * Reads the tailer's figures from fstore_stats_json().
 * @return 0, or -1 when the statistics cannot be read or parsed.
 */
int tail_figures_read(fstore_store_t *store, tail_figures *f);

/** Starts timing; @p quiet suppresses everything but errors. */
void tail_progress_init(tail_progress *p, int quiet);

/** Redraws the progress line (only on a TTY); call every ~0.5 s. */
void tail_progress_tick(tail_progress *p, fstore_store_t *store);

/** Prints the "caught up" line (also without a TTY, unless quiet). */
void tail_progress_caught_up(tail_progress *p, fstore_store_t *store);

/** Erases the progress line, so messages that follow start clean. */
void tail_progress_clear(tail_progress *p);

/**
 * Log callback for the store: prints "fstore tail: LEVEL: message" on
 * stderr, erasing the progress line first. @p opaque is the tail_progress.
 */
void tail_progress_log(void *opaque, int level, const char *msg);

#endif
