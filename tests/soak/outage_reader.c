/* The outage campaign's reader process; see outage_reader.h. */
#define _GNU_SOURCE
#include "outage_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "itest.h"

or_shared *or_map(const char *path, int create)
{
    int fd = open(path, create ? O_RDWR | O_CREAT | O_TRUNC : O_RDWR, 0644);
    if (fd < 0)
        IT_FAIL("open %s: %s", path, strerror(errno));
    if (create && ftruncate(fd, (off_t)sizeof(or_shared)))
        IT_FAIL("ftruncate %s: %s", path, strerror(errno));
    void *m = mmap(NULL, sizeof(or_shared), PROT_READ | PROT_WRITE, MAP_SHARED,
                   fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        IT_FAIL("mmap %s: %s", path, strerror(errno));
    return m;
}

pid_t or_spawn(const char *self, const char *store, const char *table, int cpu,
               long nkeys, const char *shared, const char *log_path)
{
    char n[32], c[16];
    snprintf(n, sizeof n, "%ld", nkeys);
    snprintf(c, sizeof c, "%d", cpu);
    char *argv[] = {(char *)(uintptr_t)self,
                    (char *)(uintptr_t) "--reader",
                    (char *)(uintptr_t)store,
                    (char *)(uintptr_t)table,
                    n,
                    (char *)(uintptr_t)shared,
                    c,
                    NULL};
    return it_spawn(argv, log_path);
}

/* The reader thread's context switches, taken at most every millisecond
 * (one system call per millisecond of lookups): a gap over 10 ms spans at
 * least one sample. */
typedef struct or_sw {
    int64_t at_us;
    long vol, invol;
} or_sw;

static void or_sw_take(or_sw *s, int64_t now)
{
    struct rusage ru;
    s->at_us = now;
    if (getrusage(RUSAGE_THREAD, &ru))
        return;
    s->vol = ru.ru_nvcsw;
    s->invol = ru.ru_nivcsw;
}

/* Counts a gap of gap_us ending at now into c; sw: the switches since the
 * last sample before the gap began. */
static void or_gap(or_counts *c, int64_t gap_us, int64_t now, long vol,
                   long invol)
{
    if (gap_us > 10000) {
        if (vol > 0)
            atomic_fetch_add(&c->gaps10_blocked, 1);
        else if (invol > 0)
            atomic_fetch_add(&c->gaps10_preempted, 1);
    }
    if (gap_us > atomic_load(&c->max_gap_us)) {
        atomic_store(&c->max_gap_us, gap_us);
        atomic_store(&c->max_gap_end_us, now);
    }
    for (int k = 0, lim = 1000; k < 3; k++, lim *= 10)
        if (gap_us > lim)
            atomic_fetch_add(&c->gaps_over[k], 1);
}

static void or_failed(or_shared *sh, or_counts *ph, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void or_failed(or_shared *sh, or_counts *ph, const char *fmt, ...)
{
    atomic_fetch_add(&sh->all.failed, 1);
    atomic_fetch_add(&ph->failed, 1);
    if (atomic_exchange(&sh->why_set, 1))
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sh->why, sizeof sh->why, fmt, ap);
    va_end(ap);
    fprintf(stderr, "reader: %s\n", sh->why);
}

/* One lookup of key id; returns 1 when it found a valid row. */
static int or_lookup(or_shared *sh, or_counts *ph, fstore_reader_t *r,
                     const fstore_table_t *t, int col, int64_t id,
                     int64_t *last)
{
    char key[IT_KEY_MAX];
    size_t kl = it_key(key, id);
    const fstore_row_t *row = NULL;
    fstore_err_t e = fstore_reader_refresh(r);
    if (!e)
        e = fstore_get(r, t, key, kl, &row);
    int ok = 0;
    if (e == FSTORE_NOT_FOUND) {
        atomic_fetch_add(&sh->all.not_found, 1);
        atomic_fetch_add(&ph->not_found, 1);
        if (!atomic_load(&sh->allow_not_found))
            or_failed(sh, ph, "%s: not found", key);
    } else if (e) {
        or_failed(sh, ph, "%s: %s: %s", key, fstore_err_name(e),
                  fstore_reader_errmsg(r));
    } else {
        int64_t v = -1;
        const char *why = NULL;
        if (fstore_row_long(t, row, col, &v))
            why = "version unreadable";
        else
            why = it_row_check(t, row, id, v, IT_ID_SERVING);
        if (why)
            or_failed(sh, ph, "%s: %s", key, why);
        else if (v < last[id])
            or_failed(sh, ph, "%s: version went back from %lld to %lld", key,
                      (long long)last[id], (long long)v);
        else {
            last[id] = v;
            ok = 1;
        }
    }
    fstore_reader_reset(r);
    return ok;
}

int or_main(int argc, char **argv)
{
    if (argc != 5)
        IT_FAIL("usage: --reader STORE TABLE NKEYS SHARED CPU");
    const char *dir = argv[0], *name = argv[1];
    long nkeys = atol(argv[2]);
    IT_CHECK(nkeys > 0, "NKEYS %s", argv[2]);
    int cpu = atoi(argv[4]);
    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        IT_CHECK(sched_setaffinity(0, sizeof set, &set) == 0,
                 "pinning the reader to CPU %d: %s", cpu, strerror(errno));
    }
    or_shared *sh = or_map(argv[3], 0);

    char errstr[1024];
    fstore_conf_t *conf = fstore_conf_new();
    IT_CHECK(conf && !fstore_conf_set(conf, "store.read_only", "true", errstr,
                                      sizeof errstr),
             "conf: %s", errstr);
    fstore_store_t *s = NULL;
    fstore_err_t e = fstore_store_open(dir, conf, &s, errstr, sizeof errstr);
    fstore_conf_destroy(conf);
    if (e)
        IT_FAIL("reader: opening %s read-only: %s: %s", dir, fstore_err_name(e),
                errstr);
    IT_CHECK(fstore_store_read_only(s), "the store is not read-only");
    const fstore_table_t *t;
    e = fstore_table_open(s, name, &t);
    if (e)
        IT_FAIL("reader: table %s: %s", name, fstore_err_name(e));
    int col = fstore_table_column_index(t, "version");
    IT_CHECK(col >= 0, "no version column");
    fstore_reader_t *r;
    IT_CHECK(fstore_reader_new(s, &r) == FSTORE_OK, "reader");
    int64_t *last = calloc((size_t)nkeys, sizeof *last);
    IT_CHECK(last != NULL, "calloc");

    uint64_t rs = (uint64_t)getpid() * 0x9E3779B97F4A7C15ULL + 1;
    int64_t prev = -1;
    or_sw sw = {0, 0, 0};
    or_sw_take(&sw, it_now_us());
    while (!atomic_load(&sh->stop)) {
        int p = atomic_load(&sh->phase);
        or_counts *ph = &sh->ph[p >= 0 && p < OR_PHASES ? p : 0];
        int64_t id = (int64_t)(it_rand(&rs) % (uint64_t)nkeys);
        if (!or_lookup(sh, ph, r, t, col, id, last))
            continue;
        int64_t now = it_now_us();
        long vol = 0, invol = 0;
        if (now - sw.at_us >= 1000 || now - prev > 10000) {
            or_sw cur = sw;
            or_sw_take(&cur, now);
            vol = cur.vol - sw.vol;
            invol = cur.invol - sw.invol;
            sw = cur;
        }
        if (prev >= 0) {
            or_gap(&sh->all, now - prev, now, vol, invol);
            or_gap(ph, now - prev, now, vol, invol);
        }
        prev = now;
        atomic_fetch_add(&sh->all.lookups, 1);
        atomic_fetch_add(&ph->lookups, 1);
        atomic_store(&sh->started, 1);
    }
    fstore_reader_destroy(r);
    fstore_store_close(s);
    free(last);
    printf("reader: %lld lookups, %lld not found, %lld failed, longest gap "
           "%.3f ms\n",
           (long long)atomic_load(&sh->all.lookups),
           (long long)atomic_load(&sh->all.not_found),
           (long long)atomic_load(&sh->all.failed),
           (double)atomic_load(&sh->all.max_gap_us) / 1e3);
    return 0;
}
