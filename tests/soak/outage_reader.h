/*
 * The outage campaign's reader: another process (the campaign's own
 * program, started with --reader) that opens the store read-only and looks
 * keys up in a tight loop, as a serving process would while the writer
 * tails. Every lookup must succeed with a valid row (checksum, every column
 * the function of (key, version) it was written as, and versions of a key
 * never going back); it records the longest gap between two successful
 * lookups.
 *
 * It reports through a small shared file both processes map: counters for
 * the whole run and per phase (the campaign names the phase: before,
 * during and after the outage), the first failure's text, and flags to
 * start and stop.
 */
#ifndef FSTORE_SOAK_OUTAGE_READER_H
#define FSTORE_SOAK_OUTAGE_READER_H

#include <stdint.h>
#include <sys/types.h>

#define OR_PHASES 8

typedef struct or_counts {
    _Atomic int64_t lookups;   /* successful, valid rows */
    _Atomic int64_t not_found; /* FSTORE_NOT_FOUND */
    _Atomic int64_t failed;    /* errors and invalid rows */
    _Atomic int64_t max_gap_us;
    _Atomic int64_t max_gap_end_us; /* when it ended (it_now_us) */
    /* Gaps longer than 1, 10 and 100 ms. */
    _Atomic int64_t gaps_over[3];
    /* Of the gaps over 10 ms: those during which the reader blocked
     * (voluntary context switches: a lock, a page read from disk), and
     * those during which it was only preempted (involuntary switches: the
     * machine's other processes had the CPU). */
    _Atomic int64_t gaps10_blocked, gaps10_preempted;
} or_counts;

typedef struct or_shared {
    _Atomic int started; /* the first lookup succeeded */
    _Atomic int stop;    /* set by the campaign */
    _Atomic int phase;   /* set by the campaign, < OR_PHASES */
    /* Set by the campaign: NOT_FOUND is a failure unless this is set (a
     * rebuild empties the table before it reloads it). */
    _Atomic int allow_not_found;
    or_counts all, ph[OR_PHASES];
    _Atomic int why_set;
    char why[512]; /* the first failure */
} or_shared;

/* Creates (create) or opens the shared file at path and maps it. */
or_shared *or_map(const char *path, int create);

/* Starts `self --reader STORE TABLE NKEYS SHARED` with its output in
 * log_path. */
/* cpu >= 0: the reader runs on that CPU only. */
pid_t or_spawn(const char *self, const char *store, const char *table, int cpu,
               long nkeys, const char *shared, const char *log_path);

/* The reader process: argv as given to or_spawn after --reader. Returns
 * the exit status. */
int or_main(int argc, char **argv);

#endif
