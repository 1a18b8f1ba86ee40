/* fstore tail: the writer. Keeps a table current from a Kafka topic. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "tail_args.h"
#include "tail_progress.h"

#define CMD "tail"
#define TICK_MS 500

/* Whether opening store a->store restores conf's store.seed first: the
 * library's rule (a seed, and no store in the directory yet), checked
 * here only to tell the user what the open is doing. */
static int tail_will_seed(const tail_args *a, const fstore_conf_t *conf)
{
    char buf[2];
    size_t n = sizeof buf;
    fstore_err_t err = fstore_conf_get(conf, "store.seed", buf, &n);
    if (err != FSTORE_OK && err != FSTORE_ERR_RANGE)
        return 0;
    char data[4200];
    struct stat st;
    snprintf(data, sizeof data, "%s/data.mdb", a->store);
    return stat(data, &st) != 0;
}

/* Reads every table's serving schema into schemas[]. @return TOOL_OK or
 * TOOL_FAIL (message out). */
static int tail_read_schemas(const tail_args *a, char **schemas)
{
    for (int i = 0; i < a->ntables; i++) {
        size_t len;
        schemas[i] = tool_read_file(a->tables[i].schema, &len);
        if (!schemas[i]) {
            tool_msg(CMD, "cannot read --schema %s: %s", a->tables[i].schema,
                     strerror(errno));
            return TOOL_FAIL;
        }
    }
    return TOOL_OK;
}

/* Opens the store, restoring store.seed into it first when it holds no
 * store. @return TOOL_OK or TOOL_FAIL (message out). */
static int tail_open(const tail_args *a, const fstore_conf_t *conf,
                     fstore_store_t **storep)
{
    char errstr[1024] = "";
    int seed = tail_will_seed(a, conf);
    if (seed && !a->quiet)
        tool_msg(CMD,
                 "%s holds no store: restoring the seed snapshot "
                 "(store.seed) first",
                 a->store);
    double t0 = tool_now();
    fstore_err_t err =
        fstore_store_open(a->store, conf, storep, errstr, sizeof errstr);
    if (err)
        return tool_fail(CMD, err, errstr, "cannot open store %s", a->store);
    if (seed && !a->quiet)
        tool_msg(CMD,
                 "seeded %s in %.2f s; tailing resumes at the "
                 "snapshot's offsets",
                 a->store, tool_now() - t0);
    return TOOL_OK;
}

/* Creates the tables in the open store, adds their topics and starts the
 * tailer. @return TOOL_OK or TOOL_FAIL (message out). */
static int tail_begin(const tail_args *a, char *const *schemas,
                      fstore_store_t *store)
{
    char errstr[1024] = "";
    fstore_err_t err;
    for (int i = 0; i < a->ntables; i++) {
        const tail_table *x = &a->tables[i];
        const fstore_table_t *t = NULL;
        err = fstore_table_create(store, x->table, schemas[i], x->format,
                                  x->writer_id, &t, errstr, sizeof errstr);
        if (err == FSTORE_ERR_SCHEMA_MISMATCH)
            return tool_fail(CMD, err, errstr,
                             "table %s exists with another serving schema; "
                             "give the schema it was created with, or a new "
                             "--table",
                             x->table);
        if (err)
            return tool_fail(CMD, err, errstr, "cannot create table %s from %s",
                             x->table, x->schema);
        if ((err = fstore_tail_add(store, t, x->topic, x->partitions, errstr,
                                   sizeof errstr)))
            return tool_fail(CMD, err, errstr, "cannot tail topic %s", x->topic);
    }
    if ((err = fstore_tail_start(store, errstr, sizeof errstr)))
        return tool_fail(CMD, err, errstr, "cannot start tailing %s%s",
                         a->tables[0].topic, a->ntables > 1 ? " and the other topics" : "");
    return TOOL_OK;
}

/* Waits up to @p ms for a stop signal. @return the signal or 0. */
static int tail_signal(const sigset_t *set, int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    int sig;
    while ((sig = sigtimedwait(set, NULL, &ts)) < 0 && errno == EINTR)
        ;
    return sig < 0 ? 0 : sig;
}

/* Reports the error that stopped the tailer. @return TOOL_FAIL. */
static int tail_failed(fstore_store_t *store, tail_progress *p)
{
    char msg[1024];
    fstore_err_t err = fstore_tail_error(store, msg, sizeof msg);
    tail_progress_clear(p);
    return tool_fail(CMD, err ? err : FSTORE_ERR_STATE, msg,
                     "the tailer stopped on an error");
}

/* Whether the tailer stopped on its error (state failed), rather than
 * paused with it until a retry applies (a full disk: docs/stats.md). */
static int tail_stopped(fstore_store_t *store)
{
    if (fstore_tail_error(store, NULL, 0) == FSTORE_OK)
        return 0;
    tail_figures f;
    return tail_figures_read(store, &f) != 0 || !strcmp(f.state, "failed") ||
           !strcmp(f.state, "stopped");
}

/* Runs until caught up (with --until-caught-up), a signal, a timeout or a
 * tailer error (a pause is waited out; the library logs it). @return the
 * exit status. */
static int tail_loop(const tail_args *a, fstore_store_t *store,
                     const sigset_t *stop)
{
    tail_progress p;
    tail_progress_init(&p, a->quiet);
    double deadline = a->timeout_ms >= 0 ? p.t0 + a->timeout_ms / 1000.0 : -1;
    int ready = 0;
    for (;;) {
        int wait = TICK_MS;
        if (deadline >= 0 && (deadline - tool_now()) * 1000 < wait)
            wait = (int)((deadline - tool_now()) * 1000);
        if (wait < 0)
            wait = 0;
        int sig;
        if (!ready) {
            fstore_err_t err = fstore_tail_wait_ready(store, wait);
            if (err == FSTORE_OK) {
                ready = 1;
                tail_progress_caught_up(&p, store);
                if (a->until_caught_up)
                    return TOOL_OK;
            } else if (err != FSTORE_ERR_TIMED_OUT && tail_stopped(store))
                return tail_failed(store, &p);
            sig = tail_signal(stop, 0);
        } else
            sig = tail_signal(stop, wait);
        if (tail_stopped(store))
            return tail_failed(store, &p);
        if (sig) {
            tail_progress_clear(&p);
            if (!a->until_caught_up || ready)
                return TOOL_OK;
            tool_msg(CMD,
                     "stopped by %s before catching up; run again to "
                     "continue where it stopped",
                     strsignal(sig));
            return TOOL_FAIL;
        }
        if (deadline >= 0 && !ready && tool_now() >= deadline) {
            tail_figures f;
            tail_progress_clear(&p);
            if (tail_figures_read(store, &f) == 0 && f.lag >= 0)
                tool_msg(CMD,
                         "not caught up after %g s (state %s, lag %lld); "
                         "check --brokers and the topic, or raise "
                         "--timeout",
                         a->timeout_ms / 1000.0, f.state, (long long)f.lag);
            else
                tool_msg(CMD,
                         "not caught up after %g s; check --brokers and "
                         "the topic, or raise --timeout",
                         a->timeout_ms / 1000.0);
            return TOOL_FAIL;
        }
        tail_progress_tick(&p, store);
    }
}

/* SIGTERM, and SIGINT and SIGHUP unless ignored: a blocked signal is
 * queued even when ignored, which would undo nohup or `cmd &`. */
static void tail_stop_signals(sigset_t *set)
{
    static const int sigs[] = {SIGINT, SIGHUP};
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction sa;
        if (sigaction(sigs[i], NULL, &sa) == 0 && sa.sa_handler != SIG_IGN)
            sigaddset(set, sigs[i]);
    }
}

/* Stopping can take seconds (the tailer finishes a blocking Kafka call
 * first). A second stop signal meanwhile quits at once: safe, because the
 * store commits rows and offsets together and survives any crash. */
static void *tail_force_quit(void *arg)
{
    const sigset_t *stop = arg;
    int sig;
    if (sigwait(stop, &sig) == 0) {
        static const char msg[] =
            "\nfstore tail: quitting without waiting for the tailer; the "
            "next run resumes from the stored offsets\n";
        ssize_t n = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)n;
        _exit(TOOL_FAIL);
    }
    return NULL;
}

int cmd_tail(int argc, char **argv)
{
    tail_args a;
    memset(&a, 0, sizeof a);
    a.props = calloc((size_t)argc + 1, sizeof *a.props);
    a.tables = calloc((size_t)argc + 1, sizeof *a.tables);
    char **schemas = calloc((size_t)argc + 1, sizeof *schemas);
    if (!a.props || !a.tables || !schemas) {
        free(a.props);
        free(a.tables);
        free(schemas);
        return tool_fail(CMD, FSTORE_ERR_NO_MEMORY, "", "starting");
    }
    int rc = tail_args_parse(argc, argv, &a);
    fstore_conf_t *conf = NULL;
    if (rc == TOOL_OK && !(conf = fstore_conf_new()))
        rc = tool_fail(CMD, FSTORE_ERR_NO_MEMORY, "", "starting");
    if (rc == TOOL_OK)
        rc = tail_args_conf(&a, conf);
    if (rc != TOOL_OK) {
        fstore_conf_destroy(conf);
        free(a.props);
        free(a.tables);
        free(schemas);
        return rc < 0 ? TOOL_OK : rc;
    }
    fstore_conf_set_log_cb(conf, tail_progress_log, NULL);

    /* The open may restore a seed snapshot, which can take minutes: it
     * runs before the stop signals are blocked, so a signal ends it at
     * once (the directory keeps no store; the next restore clears what
     * the killed one left). No thread of the open outlives it. */
    fstore_store_t *store = NULL;
    rc = tail_read_schemas(&a, schemas);
    if (rc == TOOL_OK)
        rc = tail_open(&a, conf, &store);
    fstore_conf_destroy(conf);

    /* Block the stop signals before any thread exists, so every thread
     * (the tailer, librdkafka's) inherits the mask and the main thread
     * takes them with sigtimedwait(): no signal handler at all. */
    static sigset_t stop; /* static: the force-quit thread outlives us */
    tail_stop_signals(&stop);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    if (rc == TOOL_OK)
        rc = tail_begin(&a, schemas, store);
    for (int i = 0; i < a.ntables; i++)
        free(schemas[i]);
    free(schemas);
    if (rc == TOOL_OK)
        rc = tail_loop(&a, store, &stop);
    if (store) {
        pthread_t quit;
        if (pthread_create(&quit, NULL, tail_force_quit, &stop) == 0)
            pthread_detach(quit);
        /* Applies what was consumed; reports an error that stopped the
         * tailer meanwhile (not already reported). */
        fstore_err_t err = fstore_tail_stop(store);
        if (err && rc == TOOL_OK) {
            char msg[1024];
            fstore_tail_error(store, msg, sizeof msg);
            rc = tool_fail(CMD, err, msg, "the tailer stopped on an error");
        }
        fstore_store_close(store);
    }
    free(a.props);
    free(a.tables);
    return rc;
}
