/*
 * The five-step pipeline of `fstore demo`: raw payment events produced at a
 * paced rate → the aggregator (exactly-once window features) → the
 * compacted feature topic → a tailing store → a logistic-regression model
 * scoring micro-batches of requests through fstore_get_batch() →
 * predictions produced to a topic. It times each event through the stages
 * (feature record committed, visible in the store, prediction produced)
 * beside Kafka's own produce → consume of the same events, and tells one
 * user's story.
 */
#ifndef FSTORE_TOOLS_DEMO_PIPE_H
#define FSTORE_TOOLS_DEMO_PIPE_H

#include <signal.h>
#include <stdint.h>

typedef struct pipe_args {
    uint32_t users;     /* distinct users */
    double rate;        /* events per second */
    int run_ms;         /* how long events are produced */
    int partitions;     /* of the events topic */
    int commit_ms;      /* aggregate.commit_ms */
    int batch;          /* requests per micro-batch, at most */
    const char *brokers; /* NULL: the in-process mock cluster */
    const char *model;  /* a model file, or NULL for the shipped one */
    const char *dir;    /* work directory, or NULL for a temporary one */
    const char *json;   /* write every figure there as JSON, or NULL */
    int keep, quiet;
    char **props; /* -X PROP=VALUE for the store and the aggregator */
    int nprops;
    const volatile sig_atomic_t *interrupted; /* set by a signal: stop */
} pipe_args;

/** Runs the pipeline and prints its figures on stdout.
 * @return TOOL_OK, TOOL_FAIL (with a message on stderr). */
int demo_pipeline(const pipe_args *a);

#endif
