/*
 * Runs of the `fstore` CLI under the crash campaign: a child process whose
 * output goes to a log file of its own, watched line by line for what the
 * tailer says ("caught up", "rebuilding table", an interrupted bootstrap
 * reloaded, errors, sanitizer reports), and SIGKILLed at the moment the
 * campaign picks. Children are started with it_spawn, so they die with the
 * campaign.
 */
#ifndef FSTORE_SOAK_CRASH_RUN_H
#define FSTORE_SOAK_CRASH_RUN_H

#include "itest.h"

#define CR_MAX_ARGS 48

/* An argument vector being built (strings are not copied). */
typedef struct cr_argv {
    char *v[CR_MAX_ARGS + 1];
    int n;
} cr_argv;

void cr_arg(cr_argv *a, const char *s);

typedef struct cr_run {
    pid_t pid;
    int64_t t0_us;
    char log[4200];
    long scanned;                 /* bytes of the log read so far */
    int64_t ready_ms, rebuild_ms; /* since start; -1 until seen */
    double caught_up_s;           /* what the "caught up in" line says */
    int rebuilds;                 /* "rebuilding table" lines */
    int reloads;                  /* interrupted bootstraps reloaded */
    int errors;                   /* lines at level error */
    int sanitizer;                /* sanitizer report lines */
    int status;                   /* waitpid status once ended, else -1 */
    int64_t end_ms;               /* when it was seen ended, since start */
} cr_run;

/* Starts argv with stdout and stderr to the file log (emptied first). */
void cr_start(cr_run *r, cr_argv *a, const char *log);
/* Reads the new complete lines of the log. Returns 1 while the child runs,
 * 0 once it has ended (r->status). */
int cr_poll(cr_run *r);
/* Milliseconds since the start. */
int64_t cr_ms(const cr_run *r);
/* SIGKILLs the child and reaps it. Fails the campaign, with the last lines
 * of the log, when it had already ended by itself. */
void cr_kill(cr_run *r, const char *what);
/* Waits up to timeout_ms for the child to end by itself; fails the
 * campaign on a timeout or an exit status other than 0. */
void cr_finish(cr_run *r, int timeout_ms, const char *what);

#endif
