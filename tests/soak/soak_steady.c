/*
 * Campaign "steady": a long run of steady traffic, sampled.
 *
 * `fstore tail` (the CLI, its own process) tails a topic that a producer
 * updates at --rate records/s over --keys keys, while --readers reader
 * processes (this program again, in reader mode) look random keys up in
 * tight loops on the same store, and a probe key is updated every 50 ms
 * and polled until the store shows it (produce -> visible). Every
 * --sample-s seconds one line of samples goes to samples.csv in --out:
 * the tailer's RSS (anonymous and file-backed), its open descriptors, the
 * readers' largest RSS and descriptors, the store file's size and
 * allocated bytes, the records produced, the lookups served, and the
 * window's produce -> visible p50/p99. With gnuplot on the machine,
 * steady.png plots them.
 *
 * What must hold (each checked, the run fails otherwise):
 * - every lookup of every reader succeeds (found or not found; a found row
 *   passes fstore_row_verify) and every reader lasts the run;
 * - every probe becomes visible (within 30 s);
 * - after the producer stops, the store equals the topic's latest value of
 *   every key and its offsets are the end offsets - 1; `fstore tail` exits
 *   0 on SIGTERM;
 * - nothing grows without bound: in the second half of the run, the
 *   tailer's and the readers' anonymous memory stay under 1.5 x the first
 *   half's peak + 32 MiB, and their descriptors under the first half's
 *   peak + 4. (Flat is the goal; these bounds catch a leak of a few bytes
 *   per record or a descriptor per reconnect in a long run, not noise.)
 *
 * Usage: soak_steady FSTORE-CLI [--seconds S] [--rate R] [--keys K]
 *            [--readers N] [--sample-s S] [--out DIR]
 *        soak_steady --reader STORE TABLE KEYS STOPFILE STATUSFILE
 * (the second form is the reader process this program starts).
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "itest.h"

#define NPARTS 4
#define PROBE_EVERY_MS 50
#define PROBE_GIVE_UP_MS 30000
#define MAX_READERS 16
#define MAX_SAMPLES 4096

static char *A(const char *s) { return (char *)(uintptr_t)s; }

/* ---- the reader process ------------------------------------------------- */

static int64_t now_us(void) { return it_now_us(); }

static int reader_main(char **argv)
{
    const char *store_dir = argv[2], *table_name = argv[3];
    long keys = atol(argv[4]);
    const char *stopfile = argv[5], *statusfile = argv[6];
    fstore_conf_t *conf = fstore_conf_new();
    char errstr[512] = "";
    if (!conf ||
        fstore_conf_set(conf, "store.read_only", "true", errstr,
                        sizeof errstr)) {
        fprintf(stderr, "reader: conf: %s\n", errstr);
        return 1;
    }
    fstore_store_t *s = NULL;
    const fstore_table_t *t = NULL;
    /* The tailer creates the store and the table: wait for both. */
    for (int i = 0; i < 600; i++) {
        if (!s && fstore_store_open(store_dir, conf, &s, errstr,
                                    sizeof errstr) != FSTORE_OK)
            s = NULL;
        if (s && fstore_table_open(s, table_name, &t) == FSTORE_OK)
            break;
        if (s) {
            fstore_store_close(s);
            s = NULL;
        }
        usleep(100000);
    }
    fstore_conf_destroy(conf);
    if (!s || !t) {
        fprintf(stderr, "reader: no table %s in %s after 60 s\n", table_name,
                store_dir);
        return 1;
    }
    fstore_reader_t *r;
    if (fstore_reader_new(s, &r)) {
        fprintf(stderr, "reader: fstore_reader_new failed\n");
        return 1;
    }
    uint64_t rs = (uint64_t)getpid() * 0x9e3779b97f4a7c15ULL;
    long long lookups = 0, found = 0, failures = 0;
    int64_t last_ok = now_us(), max_gap = 0, last_status = 0;
    char key[IT_KEY_MAX];
    for (;;) {
        for (int i = 0; i < 1024; i++) {
            size_t kl = it_key(key, (int64_t)(it_rand(&rs) % (uint64_t)keys));
            const fstore_row_t *row;
            fstore_err_t e = fstore_get(r, t, key, kl, &row);
            if (e == FSTORE_OK && fstore_row_verify(row) != FSTORE_OK)
                e = FSTORE_ERR_CORRUPT;
            if (e != FSTORE_OK && e != FSTORE_NOT_FOUND) {
                if (failures++ < 5)
                    fprintf(stderr, "reader %d: lookup of %s: %s (%s)\n",
                            (int)getpid(), key, fstore_err_name(e),
                            fstore_reader_errmsg(r));
                continue;
            }
            found += e == FSTORE_OK;
            lookups++;
            int64_t now = now_us();
            if (now - last_ok > max_gap)
                max_gap = now - last_ok;
            last_ok = now;
        }
        fstore_err_t e = fstore_reader_refresh(r);
        if (e != FSTORE_OK && failures++ < 5)
            fprintf(stderr, "reader %d: refresh: %s (%s)\n", (int)getpid(),
                    fstore_err_name(e), fstore_reader_errmsg(r));
        int64_t now = now_us();
        int stop = access(stopfile, F_OK) == 0;
        if (stop || now - last_status > 1000000) {
            last_status = now;
            char tmp[4400];
            snprintf(tmp, sizeof tmp, "%s.tmp", statusfile);
            FILE *f = fopen(tmp, "w");
            if (f) {
                fprintf(f, "%lld %lld %lld %lld %d\n", lookups, found,
                        failures, (long long)max_gap, stop);
                fclose(f);
                rename(tmp, statusfile);
            }
        }
        if (stop)
            break;
    }
    fstore_reader_destroy(r);
    fstore_store_close(s);
    return failures ? 1 : 0;
}

/* ---- process figures from /proc ------------------------------------------ */

typedef struct proc_fig {
    long rss_anon_kb, rss_file_kb, fds;
} proc_fig;

static proc_fig proc_read(pid_t pid)
{
    proc_fig f = {-1, -1, -1};
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *fp = fopen(path, "r");
    if (fp) {
        while (fgets(line, sizeof line, fp)) {
            sscanf(line, "RssAnon: %ld", &f.rss_anon_kb);
            sscanf(line, "RssFile: %ld", &f.rss_file_kb);
        }
        fclose(fp);
    }
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    if (d) {
        f.fds = 0;
        for (struct dirent *e; (e = readdir(d));)
            f.fds += e->d_name[0] != '.';
        closedir(d);
    }
    return f;
}

/* ---- the producer thread ------------------------------------------------- */

typedef struct prod {
    it_producer *p;
    int64_t keys;
    long rate;
    int64_t *ver;
    atomic_int stop;
    atomic_llong produced;
    uint64_t rs;
} prod;

static void *producer_main(void *arg)
{
    prod *P = arg;
    int64_t t0 = now_us();
    long long n = 0;
    while (!atomic_load(&P->stop)) {
        long long due = (now_us() - t0) * P->rate / 1000000;
        for (; n < due; n++) {
            int64_t id = (int64_t)(it_rand(&P->rs) % (uint64_t)P->keys);
            if (it_rand(&P->rs) % 50 == 0) {
                P->ver[id]++;
                it_del(P->p, id);
            } else {
                it_put(P->p, id, ++P->ver[id], IT_ID_SERVING);
            }
        }
        atomic_store(&P->produced, n);
        it_poll(P->p, 0);
        it_sleep_ms(2);
    }
    it_flush(P->p);
    return NULL;
}

/* ---- samples ------------------------------------------------------------- */

typedef struct sample {
    double t;
    proc_fig tail, reader_max;
    long long store_bytes, store_alloc, produced, lookups;
    double p50_ms, p99_ms;
    long probes;
} sample;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double quantile(double *v, size_t n, double q)
{
    if (!n)
        return -1;
    qsort(v, n, sizeof *v, cmp_double);
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

static long long reader_lookups(char status[][4200], int n, long long *fails,
                                long long *max_gap)
{
    long long sum = 0;
    *fails = 0;
    *max_gap = 0;
    for (int i = 0; i < n; i++) {
        FILE *f = fopen(status[i], "r");
        long long l = 0, found = 0, fl = 0, gap = 0;
        int stop = 0;
        if (f) {
            if (fscanf(f, "%lld %lld %lld %lld %d", &l, &found, &fl, &gap,
                       &stop) != 5)
                l = fl = gap = 0;
            fclose(f);
        }
        sum += l;
        *fails += fl;
        if (gap > *max_gap)
            *max_gap = gap;
    }
    return sum;
}

static void write_plot(const char *out)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/steady.gp", out);
    FILE *f = fopen(path, "w");
    if (!f)
        return;
    fprintf(f,
            "set terminal pngcairo size 1200,900 noenhanced\n"
            "set output '%s/steady.png'\n"
            "set datafile separator ','\n"
            "set key autotitle columnhead left top\n"
            "set multiplot layout 2,2 title 'fstore steady traffic'\n"
            "set xlabel 'seconds'\n"
            "set ylabel 'MiB'\n"
            "plot '%s/samples.csv' using 1:($2/1024) with linespoints, "
            "'' using 1:($3/1024) with linespoints, "
            "'' using 1:($5/1024) with linespoints\n"
            "set ylabel 'descriptors'\n"
            "plot '%s/samples.csv' using 1:4 with linespoints, "
            "'' using 1:6 with linespoints\n"
            "set ylabel 'MiB'\n"
            "plot '%s/samples.csv' using 1:($7/1048576) with linespoints, "
            "'' using 1:($8/1048576) with linespoints\n"
            "set ylabel 'produce -> visible, ms'\n"
            "plot '%s/samples.csv' using 1:11 with linespoints, "
            "'' using 1:12 with linespoints\n"
            "unset multiplot\n",
            out, out, out, out, out);
    fclose(f);
    char cmd[9000];
    snprintf(cmd, sizeof cmd,
             "command -v gnuplot >/dev/null 2>&1 && gnuplot '%s' 2>&1", path);
    if (system(cmd) == 0)
        it_log("plot: %s/steady.png", out);
}

int main(int argc, char **argv)
{
    if (argc >= 7 && !strcmp(argv[1], "--reader"))
        return reader_main(argv);
    it_init("steady");
    if (argc < 2 || access(argv[1], X_OK))
        IT_FAIL("usage: soak_steady PATH-OF-fstore [--seconds S] [--rate R] "
                "[--keys K] [--readers N] [--sample-s S] [--out DIR]");
    char *cli = argv[1];
    long seconds = 60, rate = 5000, keys = 100000, nreaders = 4, sample_s = 10;
    const char *out = NULL;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--seconds"))
            seconds = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--rate"))
            rate = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--keys"))
            keys = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--readers"))
            nreaders = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--sample-s"))
            sample_s = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--out"))
            out = argv[i + 1];
        else
            IT_FAIL("unknown option %s", argv[i]);
    }
    IT_CHECK(seconds >= 4 && rate > 0 && keys > 0 && nreaders > 0 &&
                 nreaders <= MAX_READERS && sample_s > 0 &&
                 seconds / sample_s >= 4 && seconds / sample_s < MAX_SAMPLES,
             "sizes: at least 4 samples, at most %d readers", MAX_READERS);
    if (!out)
        out = it_dir();
    else if (mkdir(out, 0755) && errno != EEXIST)
        IT_FAIL("mkdir %s: %s", out, strerror(errno));
    it_log("steady: %ld s of %ld records/s over %ld keys, %ld reader "
           "processes, samples every %ld s into %s/samples.csv",
           seconds, rate, keys, nreaders, sample_s, out);

    char *topic = it_topic_name("steady");
    it_create_topic(topic, NPARTS, NULL);
    char store[4200], schema[4200], schemas[4200], logf[4200], stopf[4200];
    snprintf(store, sizeof store, "%s/store", it_dir());
    snprintf(schema, sizeof schema, "%s/serving.avsc", it_dir());
    snprintf(schemas, sizeof schemas, "%s/schemas", it_dir());
    snprintf(logf, sizeof logf, "%s/tail.log", it_dir());
    snprintf(stopf, sizeof stopf, "%s/readers.stop", it_dir());
    it_write_file(schema, IT_SCHEMA);
    it_write_schemas_dir(schemas);

    /* The tailer first, then the readers (they wait for its table). */
    char *tail_argv[] = {cli,    A("tail"),     A("--brokers"), A(it_brokers()),
                         A("--topic"), topic,   A("--schema"),  schema,
                         A("--store"), store,   A("--schemas"), schemas,
                         A("-q"),      NULL};
    pid_t tail_pid = it_spawn(tail_argv, logf);
    char self[4200];
    ssize_t sl = readlink("/proc/self/exe", self, sizeof self - 1);
    IT_CHECK(sl > 0, "readlink /proc/self/exe: %s", strerror(errno));
    self[sl] = '\0';
    pid_t readers[MAX_READERS];
    char status[MAX_READERS][4200], rlog[4200], keys_s[32];
    snprintf(keys_s, sizeof keys_s, "%ld", keys);
    for (long i = 0; i < nreaders; i++) {
        snprintf(status[i], sizeof status[i], "%s/reader-%ld.status",
                 it_dir(), i);
        snprintf(rlog, sizeof rlog, "%s/reader-%ld.log", it_dir(), i);
        char *rargv[] = {self,  A("--reader"), store,     topic,
                         keys_s, stopf,        status[i], NULL};
        readers[i] = it_spawn(rargv, rlog);
    }

    it_reclog log;
    it_reclog_init(&log);
    static const char *const fast[] = {"linger.ms=0", NULL};
    it_producer *probe_p = it_producer_new(topic, &log, NULL, fast);
    prod P = {0};
    static const char *const batched[] = {"linger.ms=5", NULL};
    P.p = it_producer_new(topic, &log, NULL, batched);
    P.keys = keys;
    P.rate = rate;
    P.rs = it_seed();
    P.ver = calloc((size_t)keys + 1, sizeof *P.ver);
    IT_CHECK(P.ver != NULL, "calloc");

    /* The probe reader: this process, read-only, once the table exists. */
    fstore_store_t *rs = NULL;
    const fstore_table_t *rt = NULL;
    int64_t wait_until = now_us() + 60000000;
    while (!(rs = it_store_open_ro(store, topic, &rt))) {
        IT_CHECK(now_us() < wait_until,
                 "fstore tail made no table %s in 60 s (log: %s)", topic, logf);
        it_sleep_ms(100);
    }
    fstore_reader_t *pr;
    IT_CHECK(fstore_reader_new(rs, &pr) == FSTORE_OK, "probe reader");

    pthread_t th;
    IT_CHECK(pthread_create(&th, NULL, producer_main, &P) == 0, "thread");

    char csv[4400];
    snprintf(csv, sizeof csv, "%s/samples.csv", out);
    FILE *cf = fopen(csv, "w");
    IT_CHECK(cf != NULL, "%s: %s", csv, strerror(errno));
    fprintf(cf, "seconds,tail_rss_anon_kb,tail_rss_file_kb,tail_fds,"
                "reader_rss_anon_kb_max,reader_fds_max,store_bytes,"
                "store_allocated_bytes,produced,lookups,visible_p50_ms,"
                "visible_p99_ms,probes\n");
    fflush(cf);

    const int64_t probe_id = keys; /* one past the producer's keys */
    int64_t probe_ver = 0;
    double *lat = malloc(sizeof *lat * (size_t)(sample_s * 1000 / PROBE_EVERY_MS + 16));
    IT_CHECK(lat != NULL, "malloc");
    size_t nlat = 0;
    sample *S = calloc(MAX_SAMPLES, sizeof *S);
    IT_CHECK(S != NULL, "calloc");
    size_t ns = 0;
    long probes_total = 0;
    char pkey[IT_KEY_MAX], data_mdb[4300];
    size_t pkl = it_key(pkey, probe_id);
    snprintf(data_mdb, sizeof data_mdb, "%s/data.mdb", store);
    int64_t t0 = now_us(), next_sample = t0 + sample_s * 1000000;
    while (now_us() - t0 < seconds * 1000000) {
        /* One probe: produce, then poll until visible. */
        int64_t p0 = now_us();
        it_put(probe_p, probe_id, ++probe_ver, IT_ID_SERVING);
        it_poll(probe_p, 0);
        for (;;) {
            IT_CHECK(fstore_reader_refresh(pr) == FSTORE_OK, "refresh: %s",
                     fstore_reader_errmsg(pr));
            const fstore_row_t *row;
            fstore_err_t e = fstore_get(pr, rt, pkey, pkl, &row);
            IT_CHECK(e == FSTORE_OK || e == FSTORE_NOT_FOUND,
                     "probe lookup: %s", fstore_reader_errmsg(pr));
            if (e == FSTORE_OK && !it_row_check(rt, row, probe_id, probe_ver,
                                                IT_ID_SERVING))
                break;
            IT_CHECK(now_us() - p0 < PROBE_GIVE_UP_MS * 1000LL,
                     "probe version %lld not visible after %d s",
                     (long long)probe_ver, PROBE_GIVE_UP_MS / 1000);
            it_poll(probe_p, 0);
            usleep(200);
        }
        lat[nlat++] = (double)(now_us() - p0) / 1000.0;
        probes_total++;
        int64_t now = now_us();
        if (now >= next_sample) {
            next_sample += sample_s * 1000000;
            sample *x = &S[ns++];
            x->t = (double)(now - t0) / 1e6;
            x->tail = proc_read(tail_pid);
            IT_CHECK(x->tail.rss_anon_kb >= 0, "fstore tail is gone (log: %s)",
                     logf);
            x->reader_max = (proc_fig){0, 0, 0};
            for (long i = 0; i < nreaders; i++) {
                proc_fig f = proc_read(readers[i]);
                IT_CHECK(f.rss_anon_kb >= 0, "reader %ld is gone (log in %s)",
                         i, it_dir());
                if (f.rss_anon_kb > x->reader_max.rss_anon_kb)
                    x->reader_max.rss_anon_kb = f.rss_anon_kb;
                if (f.fds > x->reader_max.fds)
                    x->reader_max.fds = f.fds;
            }
            struct stat st;
            x->store_bytes = stat(data_mdb, &st) ? -1 : (long long)st.st_size;
            x->store_alloc = x->store_bytes < 0 ? -1 : (long long)st.st_blocks * 512;
            x->produced = atomic_load(&P.produced);
            long long fails, gap;
            x->lookups = reader_lookups(status, (int)nreaders, &fails, &gap);
            IT_CHECK(fails == 0, "readers report %lld failed lookups", fails);
            x->probes = (long)nlat;
            x->p99_ms = quantile(lat, nlat, 0.99);
            x->p50_ms = quantile(lat, nlat, 0.50);
            nlat = 0;
            fprintf(cf, "%.1f,%ld,%ld,%ld,%ld,%ld,%lld,%lld,%lld,%lld,%.2f,%.2f,%ld\n",
                    x->t, x->tail.rss_anon_kb, x->tail.rss_file_kb,
                    x->tail.fds, x->reader_max.rss_anon_kb, x->reader_max.fds,
                    x->store_bytes, x->store_alloc, x->produced, x->lookups,
                    x->p50_ms, x->p99_ms, x->probes);
            fflush(cf);
            it_log("%5.0f s: tail rss %ld+%ld KiB, %ld fds; readers <= %ld "
                   "KiB, %ld fds; store %lld MiB; %lld produced, %lld lookups "
                   "(longest gap %.1f ms); produce->visible p50 %.1f p99 %.1f ms",
                   x->t, x->tail.rss_anon_kb, x->tail.rss_file_kb, x->tail.fds,
                   x->reader_max.rss_anon_kb, x->reader_max.fds,
                   x->store_alloc >> 20, x->produced, x->lookups,
                   (double)gap / 1000.0, x->p50_ms, x->p99_ms);
        }
        int64_t next = p0 + PROBE_EVERY_MS * 1000;
        if (now_us() < next)
            usleep((useconds_t)(next - now_us()));
    }
    fclose(cf);

    /* Stop producing; the tailer catches up; the readers stop. */
    atomic_store(&P.stop, 1);
    pthread_join(th, NULL);
    it_flush(probe_p);
    int64_t end[NPARTS], lo;
    for (int p = 0; p < NPARTS; p++)
        it_watermarks(topic, p, &lo, &end[p]);
    int64_t until = now_us() + 120000000;
    for (int done = 0; !done;) {
        IT_CHECK(now_us() < until, "fstore tail did not catch up in 120 s");
        IT_CHECK(fstore_reader_refresh(pr) == FSTORE_OK, "refresh");
        done = 1;
        for (int p = 0; p < NPARTS && done; p++) {
            int64_t off = -1;
            fstore_reader_offset(pr, rt, p, &off);
            done = off == end[p] - 1;
        }
        if (!done)
            it_sleep_ms(100);
    }
    it_write_file(stopf, "stop\n");
    long long fails = 0, gap = 0, lookups = 0;
    for (long i = 0; i < nreaders; i++) {
        int st = it_wait(readers[i], 30000);
        IT_CHECK(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
                 "reader %ld: status %d (log in %s)", i, st, it_dir());
    }
    lookups = reader_lookups(status, (int)nreaders, &fails, &gap);
    IT_CHECK(fails == 0, "readers report %lld failed lookups", fails);
    kill(tail_pid, SIGTERM);
    int st = it_wait(tail_pid, 30000);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        it_tail_file(logf, 20);
        IT_FAIL("fstore tail: status %d on SIGTERM, want exit status 0", st);
    }

    it_expect *exp = it_expected(&log, keys + 1, NULL, 0, NULL, NULL);
    size_t bad = it_compare(rs, rt, exp, keys + 1, NPARTS);
    IT_CHECK(bad == 0, "the store differs from the topic in %zu places", bad);
    it_check_offsets(rs, rt, topic, NPARTS, NULL, NULL);
    free(exp);

    /* Flat: the second half's peaks against the first half's. */
    size_t half = ns / 2;
    long tail_a1 = 0, tail_a2 = 0, tail_f1 = 0, tail_f2 = 0;
    long rd_a1 = 0, rd_a2 = 0, rd_f1 = 0, rd_f2 = 0;
    for (size_t i = 0; i < ns; i++) {
        long *ta = i < half ? &tail_a1 : &tail_a2, *tf = i < half ? &tail_f1 : &tail_f2;
        long *ra = i < half ? &rd_a1 : &rd_a2, *rf = i < half ? &rd_f1 : &rd_f2;
        if (S[i].tail.rss_anon_kb > *ta)
            *ta = S[i].tail.rss_anon_kb;
        if (S[i].tail.fds > *tf)
            *tf = S[i].tail.fds;
        if (S[i].reader_max.rss_anon_kb > *ra)
            *ra = S[i].reader_max.rss_anon_kb;
        if (S[i].reader_max.fds > *rf)
            *rf = S[i].reader_max.fds;
    }
    it_log("summary: %zu samples, %lld records produced, %ld probes, %lld "
           "lookups (longest gap %.1f ms); tailer anon RSS peak %ld -> %ld "
           "KiB, fds %ld -> %ld; readers anon RSS peak %ld -> %ld KiB, fds "
           "%ld -> %ld (first half -> second half); store %lld MiB",
           ns, (long long)atomic_load(&P.produced), probes_total, lookups,
           (double)gap / 1000.0, tail_a1, tail_a2, tail_f1, tail_f2, rd_a1,
           rd_a2, rd_f1, rd_f2, ns ? S[ns - 1].store_alloc >> 20 : 0);
    IT_CHECK(tail_a2 <= tail_a1 * 3 / 2 + 32768,
             "the tailer's anonymous memory grew from a peak of %ld KiB to "
             "%ld KiB",
             tail_a1, tail_a2);
    IT_CHECK(tail_f2 <= tail_f1 + 4,
             "the tailer's descriptors grew from %ld to %ld", tail_f1, tail_f2);
    IT_CHECK(rd_a2 <= rd_a1 * 3 / 2 + 32768,
             "a reader's anonymous memory grew from a peak of %ld KiB to %ld "
             "KiB",
             rd_a1, rd_a2);
    IT_CHECK(rd_f2 <= rd_f1 + 4, "a reader's descriptors grew from %ld to %ld",
             rd_f1, rd_f2);
    write_plot(out);

    fstore_reader_destroy(pr);
    fstore_store_close(rs);
    it_producer_free(P.p);
    it_producer_free(probe_p);
    it_reclog_free(&log);
    free(P.ver);
    free(lat);
    free(S);
    return it_pass();
}
