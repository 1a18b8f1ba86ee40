/*
 * The outage campaign's own Kafka broker (tests/soak/soak_outage.c), run
 * through tests/kafka/broker.sh with a --dir of its own, never the shared
 * broker: started, stopped cleanly (`stop --keep`) or SIGKILLed (`stop
 * --keep --kill`) with its data kept, started again on the same port and
 * data (`restart`), and removed at the end.
 *
 * A guardian process, in a session of its own, holds the read end of a
 * pipe whose write end only the campaign holds. When the campaign ends
 * without saying it removed the broker (a failed check, a crash, ctest's
 * timeout), the pipe closes and the guardian SIGKILLs the broker, keeping
 * its run directory (and broker.log) for inspection: no broker outlives a
 * run.
 */
#ifndef FSTORE_SOAK_OUTAGE_BROKER_H
#define FSTORE_SOAK_OUTAGE_BROKER_H

#include <stdint.h>
#include <sys/types.h>

typedef struct ob_broker {
    char sh[4096];   /* tests/kafka/broker.sh */
    char base[4096]; /* scratch: broker.sh logs, the guardian's log */
    char dir[4200];  /* base/kafka: broker.sh --dir */
    char addr[128];  /* 127.0.0.1:PORT, the same across restarts */
    int guard_fd;    /* write end of the guardian's pipe */
    int64_t up_t0;   /* when the last restart began */
    pid_t guardian;
    int up;
} ob_broker;

/* Makes the scratch directory ($TMPDIR or /tmp, fstore-soak-outage-*),
 * starts the guardian and then the broker. Fails the campaign when the
 * broker does not start. */
void ob_start(ob_broker *b, const char *broker_sh);
/* Takes the broker down, data kept: SIGTERM and a clean shutdown, or
 * SIGKILL when kill is set. Returns the seconds broker.sh took. */
double ob_down(ob_broker *b, int kill);
/* Starts the stopped broker again on the same port and data directory
 * (broker.sh restart) and returns at once; ob_up_poll() waits for it. */
pid_t ob_up_begin(ob_broker *b);
/* Waits up to timeout_ms for the restart pid: 1 while broker.sh still
 * runs; 0 once the broker serves again at its address, with the seconds
 * since ob_up_begin() in *secs. Fails the campaign when the restart fails
 * or takes longer than a start may. */
int ob_up_poll(ob_broker *b, pid_t pid, int timeout_ms, double *secs);
/* Stops the broker and lets the guardian go; removes the data and the
 * scratch directory unless keep is set (a failed run) or FSTORE_IT_KEEP
 * is. */
void ob_finish(ob_broker *b, int keep);

#endif
