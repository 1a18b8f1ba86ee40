/*
 * Progress of `fstore aggregate` on stderr: on a terminal, a status line
 * redrawn every half second from a thread that reads the aggregator's
 * statistics (events, events/s, entities, commits, records left to catch
 * up); at the end, one summary line. Library log lines do not tear it.
 */
#ifndef FSTORE_TOOLS_AGG_PROGRESS_H
#define FSTORE_TOOLS_AGG_PROGRESS_H

#include <pthread.h>

#include "fstore/fstore.h"

typedef struct agg_progress {
    fstore_aggregator_t *agg;
    int live;     /* a status line is drawn (stderr is a TTY, not quiet) */
    int quiet;    /* no status line, no summary */
    int done;     /* atomic: the run returned */
    double t0;    /* when the run started (s, monotonic) */
    pthread_t th; /* the drawing thread, when live */
} agg_progress;

/** Starts the status line for @p agg (on a TTY unless @p quiet). */
void agg_progress_start(agg_progress *p, fstore_aggregator_t *agg, int quiet);

/** Stops the status line and prints the summary (unless quiet). */
void agg_progress_stop(agg_progress *p);

/** Log callback of the aggregator's configuration: "fstore aggregate:
 * LEVEL: message" over the status line. */
void agg_progress_log(void *opaque, int level, const char *msg);

#endif
