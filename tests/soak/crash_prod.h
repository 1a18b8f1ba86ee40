/*
 * The crash campaign's producer: a thread that writes records of the
 * campaign's keys at a steady rate while `fstore tail` runs, and stops (all
 * delivered) while the campaign kills, checks, cuts or bursts. Every record
 * of a key carries the next version of that key (tombstones count too, so
 * versions only grow); a few are tombstones, a few are written with the
 * evolved writer schema IT_ID_V2. Deliveries go into a it_reclog through
 * the itest producer, which only serves to check that the independent
 * consumer (crash_view.h) read exactly what was written: expectations never
 * come from it.
 */
#ifndef FSTORE_SOAK_CRASH_PROD_H
#define FSTORE_SOAK_CRASH_PROD_H

#include "itest.h"

typedef struct cp_prod cp_prod;

/* Starts the thread paused. rate: records/s while running. seed: of the
 * key, tombstone and schema choices. */
cp_prod *cp_start(const char *topic, it_reclog *log, int64_t nkeys, long rate,
                  uint64_t seed);
/* Lets the thread write (run = 1), or stops it with everything it wrote
 * delivered (run = 0; returns once it is stopped). */
void cp_run(cp_prod *p, int run);
/* With the thread stopped: writes n records as fast as the producer takes
 * them, all delivered on return. */
void cp_burst(cp_prod *p, int64_t n);
/* Records written so far (all delivered whenever the thread is stopped). */
int64_t cp_written(cp_prod *p);
/* Stops and joins the thread and frees everything. */
void cp_free(cp_prod *p);

#endif
