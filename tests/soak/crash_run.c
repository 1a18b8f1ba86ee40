/* Runs of the `fstore` CLI under the crash campaign; see crash_run.h. */
#include "crash_run.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void cr_arg(cr_argv *a, const char *s)
{
    IT_CHECK(a->n < CR_MAX_ARGS, "too many arguments");
    /* execv takes char *const[]; the strings are never written. */
    a->v[a->n++] = (char *)(uintptr_t)s;
    a->v[a->n] = NULL;
}

void cr_start(cr_run *r, cr_argv *a, const char *log)
{
    memset(r, 0, sizeof *r);
    snprintf(r->log, sizeof r->log, "%s", log);
    unlink(log);
    r->ready_ms = r->rebuild_ms = r->end_ms = -1;
    r->caught_up_s = -1;
    r->status = -1;
    r->t0_us = it_now_us();
    r->pid = it_spawn(a->v, log);
}

int64_t cr_ms(const cr_run *r)
{
    return (it_now_us() - r->t0_us) / 1000;
}

static void cr_line(cr_run *r, const char *line)
{
    const char *cu = strstr(line, "caught up in ");
    if (cu && r->ready_ms < 0) {
        r->ready_ms = cr_ms(r);
        r->caught_up_s = atof(cu + strlen("caught up in "));
    }
    if (strstr(line, "rebuilding table")) {
        if (r->rebuild_ms < 0)
            r->rebuild_ms = cr_ms(r);
        r->rebuilds++;
    }
    if (strstr(line, "interrupted bootstrap"))
        r->reloads++;
    /* A sanitizer build's report goes to the child's log, where ctest's
     * failure pattern cannot see it: echoed, and counted. */
    if (strstr(line, "Sanitizer") || strstr(line, "runtime error:")) {
        r->sanitizer++;
        fprintf(stderr, "  %s: %s", r->log, line);
    }
    if (strstr(line, ": error: ")) {
        if (r->errors++ < 3)
            fprintf(stderr, "  %s: %s", r->log, line);
    }
}

/* Reads complete lines only: a line still being written is read next
 * time. */
static void cr_scan(cr_run *r)
{
    FILE *f = fopen(r->log, "r");
    if (!f)
        return;
    if (fseek(f, r->scanned, SEEK_SET) == 0) {
        char line[4096];
        while (fgets(line, sizeof line, f)) {
            size_t n = strlen(line);
            if (n && line[n - 1] != '\n' && n < sizeof line - 1)
                break;
            r->scanned += (long)n;
            cr_line(r, line);
        }
    }
    fclose(f);
}

/* The child's status, once it has ended (-1 before). */
static void cr_reap(cr_run *r, int timeout_ms)
{
    if (r->status != -1)
        return;
    r->status = it_wait(r->pid, timeout_ms);
    if (r->status != -1)
        r->end_ms = cr_ms(r);
}

int cr_poll(cr_run *r)
{
    cr_reap(r, 0);
    cr_scan(r);
    return r->status == -1;
}

void cr_kill(cr_run *r, const char *what)
{
    if (cr_poll(r)) {
        kill(r->pid, SIGKILL);
        cr_reap(r, 30000);
        cr_scan(r);
        if (r->status != -1 && WIFSIGNALED(r->status) &&
            WTERMSIG(r->status) == SIGKILL)
            return;
    }
    it_tail_file(r->log, 30);
    IT_FAIL("%s ended by itself (status %d) before its SIGKILL", what,
            r->status);
}

void cr_finish(cr_run *r, int timeout_ms, const char *what)
{
    cr_reap(r, timeout_ms);
    cr_scan(r);
    if (r->status != -1 && WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0)
        return;
    it_tail_file(r->log, 30);
    IT_FAIL("%s: status %d, want exit status 0%s", what, r->status,
            r->status == -1 ? " (still running after the timeout)" : "");
}
