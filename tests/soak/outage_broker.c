/* The outage campaign's own broker; see outage_broker.h. */
#define _GNU_SOURCE
#include "outage_broker.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"
#include "support/files.h"

/* broker.sh waits up to 90 s for a start by default; a loaded machine may
 * need most of it. */
#define OB_START_MS 150000
#define OB_STOP_MS 60000

static char *ob_str(const char *s)
{
    return (char *)(uintptr_t)s;
}

static void ob_log_path(const ob_broker *b, const char *cmd, char *buf,
                        size_t n)
{
    snprintf(buf, n, "%s/broker-%s.log", b->base, cmd);
}

/* Starts `broker.sh CMD [OPTS...] --dir DIR` with its output in
 * base/broker-CMD.log. */
static pid_t ob_spawn(ob_broker *b, const char *cmd, const char *opt1,
                      const char *opt2)
{
    char logp[4400];
    ob_log_path(b, cmd, logp, sizeof logp);
    remove(logp);
    char *argv[8];
    int a = 0;
    argv[a++] = b->sh;
    argv[a++] = ob_str(cmd);
    if (opt1)
        argv[a++] = ob_str(opt1);
    if (opt2)
        argv[a++] = ob_str(opt2);
    argv[a++] = ob_str("--dir");
    argv[a++] = b->dir;
    argv[a] = NULL;
    return it_spawn(argv, logp);
}

/* The end of a broker.sh run with wait status st: captures the address
 * line when addr is set. Returns 0, or -1 (after printing the log's tail)
 * when it failed. */
static int ob_collect(ob_broker *b, const char *cmd, int st, char *addr,
                      size_t n)
{
    char logp[4400];
    ob_log_path(b, cmd, logp, sizeof logp);
    if (addr) {
        addr[0] = 0;
        FILE *f = fopen(logp, "r");
        char line[512];
        while (f && fgets(line, sizeof line, f))
            if (!strncmp(line, "127.0.0.1:", 10))
                snprintf(addr, n, "%.*s", (int)strcspn(line, "\n"), line);
        if (f)
            fclose(f);
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st)) {
        it_tail_file(logp, 30);
        return -1;
    }
    return 0;
}

/* Runs broker.sh to its end (bounded); see ob_spawn and ob_collect. */
static int ob_run(ob_broker *b, const char *cmd, const char *opt1,
                  const char *opt2, int timeout_ms, char *addr, size_t n)
{
    pid_t pid = ob_spawn(b, cmd, opt1, opt2);
    int st = it_wait(pid, timeout_ms);
    if (st == -1) {
        char logp[4400];
        ob_log_path(b, cmd, logp, sizeof logp);
        it_tail_file(logp, 30);
        IT_FAIL("broker.sh %s did not finish within %d s (log above)", cmd,
                timeout_ms / 1000);
    }
    return ob_collect(b, cmd, st, addr, n);
}

/* The guardian: waits for the campaign to end. 'd' on the pipe means the
 * broker is gone already; end of file without it means the campaign died
 * first, and the broker is SIGKILLed with its run directory kept. */
static void ob_guard(ob_broker *b, int rfd)
{
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    char logp[4400];
    snprintf(logp, sizeof logp, "%s/guardian.log", b->base);
    int fd = open(logp, O_WRONLY | O_CREAT | O_APPEND, 0644);
    int nul = open("/dev/null", O_RDONLY);
    if (fd < 0 || nul < 0)
        _exit(1);
    dup2(nul, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    /* Nothing of the campaign's stays open here: ctest waits for the end
     * of the output pipes it gave the campaign. */
    for (int i = 3; i < 1024; i++)
        if (i != rfd)
            close(i);
    char c = 0;
    ssize_t r;
    while ((r = read(rfd, &c, 1)) < 0 && errno == EINTR)
        ;
    if (r == 1 && c == 'd')
        _exit(0);
    fprintf(stderr, "the campaign ended without removing its broker: "
                    "stopping it (SIGKILL), run directory kept\n");
    fflush(stderr);
    char *argv[] = {b->sh,
                    ob_str("stop"),
                    ob_str("--kill"),
                    ob_str("--keep"),
                    ob_str("--dir"),
                    b->dir,
                    NULL};
    execv(argv[0], argv);
    _exit(127);
}

/* Starts the guardian two forks away, in a session of its own, so that
 * neither a signal to the campaign's process group nor ctest killing the
 * campaign's process tree reaches it. */
static void ob_start_guardian(ob_broker *b)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC))
        IT_FAIL("pipe: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    pid_t mid = fork();
    if (mid < 0)
        IT_FAIL("fork: %s", strerror(errno));
    if (mid == 0) {
        close(fds[1]);
        setsid();
        pid_t g = fork();
        if (g == 0)
            ob_guard(b, fds[0]);
        _exit(g < 0);
    }
    close(fds[0]);
    int st = 0;
    if (waitpid(mid, &st, 0) != mid || !WIFEXITED(st) || WEXITSTATUS(st))
        IT_FAIL("starting the broker's guardian failed");
    b->guard_fd = fds[1];
}

void ob_start(ob_broker *b, const char *broker_sh)
{
    memset(b, 0, sizeof *b);
    b->guard_fd = -1;
    if (access(broker_sh, X_OK))
        IT_FAIL("%s: %s (pass tests/kafka/broker.sh with --broker-sh)",
                broker_sh, strerror(errno));
    snprintf(b->sh, sizeof b->sh, "%s", broker_sh);
    const char *tmp = getenv("TMPDIR");
    snprintf(b->base, sizeof b->base, "%s/fstore-soak-outage-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(b->base))
        IT_FAIL("mkdtemp %s: %s", b->base, strerror(errno));
    snprintf(b->dir, sizeof b->dir, "%s/kafka", b->base);
    if (mkdir(b->dir, 0755))
        IT_FAIL("mkdir %s: %s", b->dir, strerror(errno));
    ob_start_guardian(b);
    if (ob_run(b, "start", NULL, NULL, OB_START_MS, b->addr, sizeof b->addr) ||
        !b->addr[0])
        IT_FAIL("starting the campaign's broker failed (broker.sh start "
                "--dir %s, output above)",
                b->dir);
    b->up = 1;
    printf("own broker at %s (broker.sh --dir %s)\n", b->addr, b->dir);
    fflush(stdout);
}

double ob_down(ob_broker *b, int kill)
{
    int64_t t0 = it_now_us();
    if (ob_run(b, "stop", "--keep", kill ? "--kill" : NULL, OB_STOP_MS, NULL,
               0))
        IT_FAIL("broker.sh stop --keep%s failed (output above)",
                kill ? " --kill" : "");
    b->up = 0;
    return (double)(it_now_us() - t0) / 1e6;
}

pid_t ob_up_begin(ob_broker *b)
{
    b->up_t0 = it_now_us();
    return ob_spawn(b, "restart", NULL, NULL);
}

int ob_up_poll(ob_broker *b, pid_t pid, int timeout_ms, double *secs)
{
    int st = it_wait(pid, timeout_ms);
    if (st == -1) {
        if (it_now_us() - b->up_t0 > OB_START_MS * 1000LL)
            IT_FAIL("broker.sh restart did not finish within %d s",
                    OB_START_MS / 1000);
        return 1;
    }
    char addr[128];
    if (ob_collect(b, "restart", st, addr, sizeof addr))
        IT_FAIL("broker.sh restart failed (output above)");
    if (strcmp(addr, b->addr))
        IT_FAIL("the broker came back at '%s', not at %s", addr, b->addr);
    b->up = 1;
    *secs = (double)(it_now_us() - b->up_t0) / 1e6;
    return 0;
}

void ob_finish(ob_broker *b, int keep)
{
    if (ob_run(b, "stop", keep ? "--keep" : NULL, NULL, OB_STOP_MS, NULL, 0))
        IT_FAIL("broker.sh stop failed (output above)");
    b->up = 0;
    if (b->guard_fd >= 0) {
        if (write(b->guard_fd, "d", 1) != 1)
            fprintf(stderr, "telling the guardian: %s\n", strerror(errno));
        close(b->guard_fd);
        b->guard_fd = -1;
    }
    if (keep || getenv("FSTORE_IT_KEEP"))
        printf("broker run directory kept: %s\n", b->dir);
    else
        sup_rm_tree(b->base);
}
