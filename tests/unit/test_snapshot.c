/* Cursors, snapshots and restore: a restored store equals its source
 * (rows, offsets, schemas, tables), streams restore as they arrive,
 * format 1 files still restore, damaged ones are refused whole, and
 * store.seed starts an empty store from a snapshot. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <xxhash.h>
#include <zstd.h>

#include "testutil.h"

static char *dir, *dst, *snap;
static fstore_store_t *S;
static const fstore_table_t *T;

#define N 3000

static void setup(void)
{
    dir = tu_tmpdir();
    char *base = tu_tmpdir();
    dst = tu_path(base, "restored");
    snap = tu_path(base, "snap.fst");
    free(base);
    S = tu_store_open(dir, NULL);
    T = tu_simple_table(S, "t");
    fstore_batch_t *b = tu_begin(S);
    char key[700];
    for (int i = 0; i < N; i++) {
        /* Some keys long enough to be stored under a digest. */
        int n = i % 100 == 0 ? 600 : snprintf(key, sizeof key, "key-%05d", i);
        if (i % 100 == 0) {
            memset(key, 'x', 600);
            snprintf(key + 590, 10, "%09d", i);
        }
        tu_buf_t v = tu_simple_value(i, (size_t)(i % 5));
        cr_assert_eq(fstore_batch_put(b, T, key, (size_t)n, v.data, v.len, i % 3,
                                      i, 1000 + i, NULL, 0), FSTORE_OK);
        tu_buf_free(&v);
    }
    tu_commit(b);
}

static void teardown(void)
{
    fstore_store_close(S);
    tu_rmtree(dir);
    char *base = strdup(dst);
    *strrchr(base, '/') = 0;
    tu_rmtree(base);
    free(base);
    free(dir);
    free(dst);
    free(snap);
}

TestSuite(snapshot, .init = setup, .fini = teardown, .timeout = 120);

static void assert_same(fstore_store_t *a, fstore_store_t *b)
{
    const fstore_table_t *ta, *tb;
    cr_assert_eq(fstore_table_open(a, "t", &ta), FSTORE_OK);
    cr_assert_eq(fstore_table_open(b, "t", &tb), FSTORE_OK);
    cr_assert_str_eq(fstore_table_schema(ta), fstore_table_schema(tb));
    fstore_reader_t *ra, *rb;
    fstore_reader_new(a, &ra);
    fstore_reader_new(b, &rb);
    fstore_cursor_t *c;
    cr_assert_eq(fstore_cursor_open(ra, ta, &c), FSTORE_OK);
    const void *k;
    size_t kl;
    const fstore_row_t *row, *other;
    size_t n = 0;
    while (fstore_cursor_next(c, &k, &kl, &row) == FSTORE_OK) {
        cr_assert_eq(fstore_get(rb, tb, k, kl, &other), FSTORE_OK);
        cr_assert_eq(fstore_row_checksum(row), fstore_row_checksum(other));
        cr_assert_eq(fstore_row_offset(row), fstore_row_offset(other));
        cr_assert_eq(fstore_row_verify(other), FSTORE_OK);
        n++;
    }
    fstore_cursor_close(c);
    uint64_t rows;
    cr_assert_eq(fstore_reader_row_count(rb, tb, &rows), FSTORE_OK);
    cr_assert_eq(n, rows);
    for (int p = 0; p < 3; p++) {
        int64_t oa, ob;
        cr_assert_eq(fstore_reader_offset(ra, ta, p, &oa), FSTORE_OK);
        cr_assert_eq(fstore_reader_offset(rb, tb, p, &ob), FSTORE_OK);
        cr_assert_eq(oa, ob);
    }
    fstore_reader_destroy(ra);
    fstore_reader_destroy(rb);
}

Test(snapshot, cursor_visits_every_row_with_full_keys)
{
    fstore_reader_t *r;
    fstore_reader_new(S, &r);
    fstore_cursor_t *c;
    cr_assert_eq(fstore_cursor_open(r, T, &c), FSTORE_OK);
    const void *k;
    size_t kl, n = 0, longkeys = 0;
    const fstore_row_t *row;
    fstore_err_t e;
    while ((e = fstore_cursor_next(c, &k, &kl, &row)) == FSTORE_OK) {
        const fstore_row_t *again;
        cr_assert_eq(fstore_get(r, T, k, kl, &again), FSTORE_OK);
        cr_assert_eq(again, row);
        longkeys += kl == 600;
        n++;
    }
    cr_assert_eq(e, FSTORE_NOT_FOUND);
    cr_assert_eq(n, N);
    cr_assert_eq(longkeys, N / 100);
    fstore_cursor_close(c);
    fstore_reader_destroy(r);
}

Test(snapshot, restore_equals_source_and_resumes_offsets)
{
    char err[512] = "";
    tu_register(S, 7, TU_SIMPLE_SCHEMA);
    cr_assert_eq(fstore_snapshot(S, snap, err, sizeof err), FSTORE_OK, "%s", err);
    cr_assert_eq(fstore_restore(snap, dst, NULL, err, sizeof err), FSTORE_OK, "%s", err);
    fstore_store_t *r = tu_store_open(dst, NULL);
    assert_same(S, r);
    /* Writer schemas came along: the same schema under id 7 is a no-op, a
     * different one a mismatch. */
    cr_assert_eq(fstore_schema_register(r, 7, TU_SIMPLE_SCHEMA, err, sizeof err), FSTORE_OK);
    cr_assert_eq(fstore_schema_register(r, 7, "{\"type\":\"record\",\"name\":\"X\","
                                              "\"fields\":[{\"name\":\"a\",\"type\":\"int\"}]}",
                                        err, sizeof err),
                 FSTORE_ERR_SCHEMA_MISMATCH);
    /* The restored store takes batches where the source left off. */
    const fstore_table_t *rt;
    cr_assert_eq(fstore_table_open(r, "t", &rt), FSTORE_OK);
    fstore_batch_t *b = tu_begin(r);
    tu_simple_put(b, rt, "late", 1, 1, 0, N + 10, 0);
    tu_commit(b);
    fstore_reader_t *rd;
    fstore_reader_new(r, &rd);
    int64_t off;
    cr_assert_eq(fstore_reader_offset(rd, rt, 0, &off), FSTORE_OK);
    cr_assert_eq(off, N + 10);
    fstore_reader_destroy(rd);
    fstore_store_close(r);
}

/* A snapshot holds every row: its file, and the store restored from it,
 * are as private as the store's own (store.file_mode, 0600 by default;
 * the directory 0700), whatever the umask. */
Test(snapshot, files_are_private_whatever_the_umask)
{
    char err[512] = "";
    mode_t old = umask(0);
    fstore_err_t e1 = fstore_snapshot(S, snap, err, sizeof err);
    fstore_err_t e2 = fstore_restore(snap, dst, NULL, err, sizeof err);
    umask(old);
    cr_assert_eq(e1, FSTORE_OK, "%s", err);
    cr_assert_eq(e2, FSTORE_OK, "%s", err);
    struct stat st;
    cr_assert_eq(stat(snap, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0600, "snapshot file mode %o", st.st_mode & 07777);
    cr_assert_eq(stat(dst, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0700, "restored directory mode %o", st.st_mode & 07777);
    char path[4200];
    snprintf(path, sizeof path, "%s/data.mdb", dst);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 07777, 0600, "restored data.mdb mode %o", st.st_mode & 07777);
}

Test(snapshot, damaged_files_are_refused_whole)
{
    char err[512] = "";
    cr_assert_eq(fstore_snapshot(S, snap, err, sizeof err), FSTORE_OK, "%s", err);
    FILE *f = fopen(snap, "rb");
    cr_assert(f);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc((size_t)len);
    cr_assert_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    struct stat st;

    /* A flipped byte in the compressed content. */
    buf[len / 2] ^= 0x40;
    tu_write_file(snap, buf, (size_t)len);
    cr_assert_eq(fstore_restore(snap, dst, NULL, err, sizeof err), FSTORE_ERR_CORRUPT, "%s", err);
    cr_assert_neq(stat(dst, &st), 0, "nothing is created");
    buf[len / 2] ^= 0x40;

    /* Truncated. */
    tu_write_file(snap, buf, (size_t)len - 100);
    cr_assert_eq(fstore_restore(snap, dst, NULL, err, sizeof err), FSTORE_ERR_CORRUPT, "%s", err);
    cr_assert_neq(stat(dst, &st), 0);

    /* Bytes after its end. */
    uint8_t *longer = malloc((size_t)len + 1);
    memcpy(longer, buf, (size_t)len);
    longer[len] = 0;
    tu_write_file(snap, longer, (size_t)len + 1);
    free(longer);
    cr_assert_eq(fstore_restore(snap, dst, NULL, err, sizeof err), FSTORE_ERR_CORRUPT, "%s", err);
    cr_assert(strstr(err, "follow its end"), "%s", err);
    cr_assert_neq(stat(dst, &st), 0);

    /* Another format version. */
    uint8_t version = buf[12];
    buf[12] = 99;
    tu_write_file(snap, buf, (size_t)len);
    cr_assert_eq(fstore_restore(snap, dst, NULL, err, sizeof err), FSTORE_ERR_VERSION, "%s", err);
    buf[12] = version;

    /* Not a snapshot at all. */
    tu_write_file(snap, "hello", 5);
    cr_assert_eq(fstore_restore(snap, dst, NULL, err, sizeof err), FSTORE_ERR_CORRUPT);

    /* A destination that holds something. */
    tu_write_file(snap, buf, (size_t)len);
    cr_assert_eq(fstore_restore(snap, dir, NULL, err, sizeof err), FSTORE_ERR_IO);
    cr_assert(strstr(err, "not empty"), "%s", err);
    cr_assert_eq(fstore_restore(snap, dst, NULL, err, sizeof err), FSTORE_OK, "%s", err);
    fstore_store_t *r = tu_store_open_ro(dst);
    assert_same(S, r);
    fstore_store_close(r);
    free(buf);
}

/* The whole file in memory. */
static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "%s", path);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(*len);
    cr_assert_eq(fread(buf, 1, *len, f), *len);
    fclose(f);
    return buf;
}

/* Rewrites the current snapshot file in format 1: the header holds the
 * content's XXH64, length and entry count; the frame has no checksum and
 * the end record no count. */
static void rewrite_as_format_1(void)
{
    size_t len;
    uint8_t *file = slurp(snap, &len);
    cr_assert_eq(memcmp(file, "FSTORESNAP", 10), 0);
    cr_assert_eq(file[12], 2, "format %d written", file[12]);
    unsigned long long clen = ZSTD_getFrameContentSize(file + 64, len - 64);
    size_t cap = clen == ZSTD_CONTENTSIZE_UNKNOWN ? 64u << 20 : (size_t)clen;
    uint8_t *content = malloc(cap);
    ZSTD_DCtx *d = ZSTD_createDCtx();
    ZSTD_inBuffer in = {file + 64, len - 64, 0};
    ZSTD_outBuffer out = {content, cap, 0};
    size_t r = ZSTD_decompressStream(d, &out, &in);
    cr_assert_eq(r, 0, "one whole frame: %s", ZSTD_isError(r) ? ZSTD_getErrorName(r) : "more");
    ZSTD_freeDCtx(d);
    cr_assert(out.pos > 9 && content[out.pos - 9] == 'E');
    uint64_t entries;
    memcpy(&entries, content + out.pos - 8, 8);
    size_t v1len = out.pos - 8; /* without the count */
    size_t zcap = ZSTD_compressBound(v1len);
    uint8_t *v1 = calloc(1, 64 + zcap);
    size_t z = ZSTD_compress(v1 + 64, zcap, content, v1len, 3);
    cr_assert(!ZSTD_isError(z));
    uint32_t ver = 1;
    uint64_t sum = XXH64(content, v1len, 0), l = v1len, ms = 0;
    memcpy(v1, "FSTORESNAP\0\0", 12);
    memcpy(v1 + 12, &ver, 4);
    memcpy(v1 + 16, &sum, 8);
    memcpy(v1 + 24, &l, 8);
    memcpy(v1 + 32, &entries, 8);
    memcpy(v1 + 40, &ms, 8);
    tu_write_file(snap, v1, 64 + z);
    free(v1);
    free(content);
    free(file);
}

Test(snapshot, format_1_files_still_restore)
{
    char err[512] = "";
    cr_assert_eq(fstore_snapshot(S, snap, err, sizeof err), FSTORE_OK, "%s", err);
    rewrite_as_format_1();
    cr_assert_eq(fstore_restore(snap, dst, NULL, err, sizeof err), FSTORE_OK, "%s", err);
    fstore_store_t *r = tu_store_open_ro(dst);
    assert_same(S, r);
    fstore_store_close(r);
    /* Its own checksum still guards it. */
    tu_rmtree(dst);
    size_t len;
    uint8_t *file = slurp(snap, &len);
    file[16] ^= 1;
    tu_write_file(snap, file, len);
    free(file);
    cr_assert_eq(fstore_restore(snap, dst, NULL, err, sizeof err), FSTORE_ERR_CORRUPT, "%s", err);
    cr_assert(strstr(err, "checksum"), "%s", err);
}

struct pipe_writer {
    int fd;
    fstore_err_t err;
    char msg[512];
};

static void *write_snapshot(void *arg)
{
    struct pipe_writer *w = arg;
    w->err = fstore_snapshot_fd(S, w->fd, w->msg, sizeof w->msg);
    close(w->fd);
    return NULL;
}

/* A snapshot streamed through a pipe restores as it arrives: nothing is
 * written after the fact, nothing read twice. */
Test(snapshot, streams_through_a_pipe)
{
    int p[2];
    cr_assert_eq(pipe(p), 0);
    struct pipe_writer w = {.fd = p[1]};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, write_snapshot, &w), 0);
    char err[512] = "";
    fstore_err_t e = fstore_restore_fd(p[0], dst, NULL, err, sizeof err);
    pthread_join(th, NULL);
    close(p[0]);
    cr_assert_eq(w.err, FSTORE_OK, "%s", w.msg);
    cr_assert_eq(e, FSTORE_OK, "%s", err);
    fstore_store_t *r = tu_store_open_ro(dst);
    assert_same(S, r);
    fstore_store_close(r);
}

/* A stream cut short (its writer died) restores nothing, and the directory
 * that was there (a mount point, say) stays, empty and usable. */
Test(snapshot, a_cut_stream_leaves_the_directory_empty)
{
    char err[512] = "";
    cr_assert_eq(fstore_snapshot(S, snap, err, sizeof err), FSTORE_OK, "%s", err);
    size_t len;
    uint8_t *file = slurp(snap, &len);
    cr_assert_eq(mkdir(dst, 0700), 0);
    for (size_t cut = 10; cut < len; cut = cut * 3 + 1) {
        int p[2];
        cr_assert_eq(pipe(p), 0);
        /* Small enough for the pipe's buffer, or written in a loop. */
        size_t off = 0;
        pid_t child = fork();
        if (child == 0) {
            close(p[0]);
            while (off < cut) {
                ssize_t n = write(p[1], file + off, cut - off);
                if (n <= 0)
                    _exit(1);
                off += (size_t)n;
            }
            _exit(0);
        }
        close(p[1]);
        fstore_err_t e = fstore_restore_fd(p[0], dst, NULL, err, sizeof err);
        close(p[0]);
        waitpid(child, NULL, 0);
        cr_assert_eq(e, FSTORE_ERR_CORRUPT, "cut at %zu: %s", cut, err);
        cr_assert(strstr(err, "nothing was restored"), "%s", err);
        struct stat st;
        cr_assert_eq(stat(dst, &st), 0, "the directory stays");
        char *data = tu_path(dst, "data.mdb");
        cr_assert_neq(stat(data, &st), 0, "no store after a cut at %zu", cut);
        free(data);
    }
    /* Usable: the whole stream restores into it. */
    cr_assert_eq(fstore_restore(snap, dst, NULL, err, sizeof err), FSTORE_OK, "%s", err);
    fstore_store_t *r = tu_store_open_ro(dst);
    assert_same(S, r);
    fstore_store_close(r);
    free(file);
}

/* Makes dst with what a restore that died there leaves: the work
 * directory of a pid that no longer runs, holding part of a store.
 * Returns that directory's path. */
static char *dead_restore_leftovers(void)
{
    cr_assert_eq(mkdir(dst, 0700), 0);
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    waitpid(child, NULL, 0); /* a pid that no longer runs */
    char name[64];
    snprintf(name, sizeof name, ".restore-%ld", (long)child);
    char *left = tu_path(dst, name);
    cr_assert_eq(mkdir(left, 0700), 0);
    char *junk = tu_path(left, "data.mdb");
    tu_write_file(junk, "partial", 7);
    free(junk);
    return left;
}

/* What a restore killed midway leaves (its work directory) does not block
 * the next one. */
Test(snapshot, leftovers_of_a_dead_restore_are_removed)
{
    char err[512] = "";
    cr_assert_eq(fstore_snapshot(S, snap, err, sizeof err), FSTORE_OK, "%s", err);
    char *left = dead_restore_leftovers();
    cr_assert_eq(fstore_restore(snap, dst, NULL, err, sizeof err), FSTORE_OK, "%s", err);
    struct stat st;
    cr_assert_neq(stat(left, &st), 0, "leftover removed");
    fstore_store_t *r = tu_store_open_ro(dst);
    assert_same(S, r);
    fstore_store_close(r);
    free(left);
}

/* store.seed: an empty directory starts from the snapshot; one that holds
 * a store ignores it; a damaged seed fails the open and leaves no store. */
Test(snapshot, store_seed_starts_an_empty_store)
{
    char err[512] = "";
    cr_assert_eq(fstore_snapshot(S, snap, err, sizeof err), FSTORE_OK, "%s", err);
    fstore_conf_t *c = tu_conf("store.seed", snap, NULL);
    fstore_store_t *r = NULL;
    cr_assert_eq(fstore_store_open(dst, c, &r, err, sizeof err), FSTORE_OK, "%s", err);
    assert_same(S, r);
    fstore_store_close(r);
    /* Held a store: the seed is not applied again (a damaged one would
     * fail the open). */
    tu_write_file(snap, "garbage", 7);
    cr_assert_eq(fstore_store_open(dst, c, &r, err, sizeof err), FSTORE_OK, "%s", err);
    assert_same(S, r);
    fstore_store_close(r);
    /* A damaged seed into an empty directory. */
    tu_rmtree(dst);
    fstore_err_t e = fstore_store_open(dst, c, &r, err, sizeof err);
    cr_assert_eq(e, FSTORE_ERR_CORRUPT, "%s", fstore_err_name(e));
    cr_assert_null(r);
    cr_assert(strstr(err, "store.seed") && strstr(err, "not an fstore snapshot"), "%s", err);
    struct stat st;
    cr_assert_neq(stat(dst, &st), 0, "no store left behind");
    fstore_conf_destroy(c);
    /* Without the seed, the directory opens as a new, empty store. */
    r = tu_store_open(dst, NULL);
    cr_assert_eq(fstore_table_count(r), 0);
    fstore_store_close(r);
}

struct held_writer {
    int fd;
    const uint8_t *data;
    size_t len;
    int release; /* atomic: close once set */
};

static void *write_and_hold(void *arg)
{
    struct held_writer *w = arg;
    size_t off = 0;
    while (off < w->len) {
        ssize_t n = write(w->fd, w->data + off, w->len - off);
        if (n <= 0)
            break;
        off += (size_t)n;
    }
    while (!__atomic_load_n(&w->release, __ATOMIC_ACQUIRE))
        usleep(10000);
    close(w->fd);
    return NULL;
}

/* A restore that fails while its source is still open (a writer that has
 * not closed its end of the pipe) returns: the read waiting for more data
 * gives up. Here the store's map is too small for the rows. */
Test(snapshot, a_failed_restore_does_not_wait_for_its_source)
{
    char err[512] = "";
    cr_assert_eq(fstore_snapshot(S, snap, err, sizeof err), FSTORE_OK, "%s", err);
    size_t len;
    uint8_t *file = slurp(snap, &len);
    int p[2];
    cr_assert_eq(pipe(p), 0);
    struct held_writer w = {.fd = p[1], .data = file, .len = len};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, write_and_hold, &w), 0);
    fstore_conf_t *c = tu_conf("store.map_size", "65536", "store.map_size.max",
                               "65536", NULL);
    signal(SIGPIPE, SIG_IGN); /* the writer may still be writing */
    fstore_err_t e = fstore_restore_fd(p[0], dst, c, err, sizeof err);
    close(p[0]);
    __atomic_store_n(&w.release, 1, __ATOMIC_RELEASE);
    pthread_join(th, NULL);
    fstore_conf_destroy(c);
    cr_assert_neq(e, FSTORE_OK, "restored into a 64 KiB map");
    cr_assert(err[0], "no message");
    struct stat st;
    cr_assert_neq(stat(dst, &st), 0, "nothing restored");
    free(file);
}

/* Under store.sync=none restore does not wait for the disk: the restored
 * store says it is open for writing in this boot, so a machine crash
 * before its pages reached the disk empties it at its next writable open
 * (tailing reloads it) instead of serving torn pages. Under store.sync=full
 * its data is synced and it carries no such state. */
Test(snapshot, an_unsynced_restore_is_rebuilt_after_a_machine_crash)
{
    char err[512] = "";
    cr_assert_eq(fstore_snapshot(S, snap, err, sizeof err), FSTORE_OK, "%s", err);
    cr_assert_eq(fstore_restore(snap, dst, NULL, err, sizeof err), FSTORE_OK, "%s", err);
    char *lock = tu_path(dst, "writer.lock");
    size_t len = 0;
    uint8_t *line = slurp(lock, &len);
    char boot[64] = "";
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    cr_assert(f && fgets(boot, sizeof boot, f));
    fclose(f);
    boot[strcspn(boot, "\n")] = 0;
    cr_assert(len > 0 && memmem(line, len, boot, strlen(boot)) &&
                  memmem(line, len, " open", 5),
              "writer.lock: %.*s", (int)len, (const char *)line);
    free(line);
    /* This boot: kept. */
    fstore_store_t *r = tu_store_open(dst, NULL);
    assert_same(S, r);
    fstore_store_close(r);
    /* As if the machine had gone down right after the restore. */
    cr_assert_eq(fstore_restore(snap, dst, NULL, err, sizeof err), FSTORE_ERR_IO,
                 "a second restore into a store");
    tu_rmtree(dst);
    cr_assert_eq(fstore_restore(snap, dst, NULL, err, sizeof err), FSTORE_OK, "%s", err);
    const char *other = "1 00000000-0000-0000-0000-000000000000 open\n";
    tu_write_file(lock, other, strlen(other));
    r = tu_store_open(dst, NULL);
    cr_assert_eq(fstore_table_count(r), 0, "the unsynced store starts empty");
    fstore_store_close(r);
    /* Synced: no writer state. */
    tu_rmtree(dst);
    fstore_conf_t *c = tu_conf("store.sync", "full", NULL);
    cr_assert_eq(fstore_restore(snap, dst, c, err, sizeof err), FSTORE_OK, "%s", err);
    fstore_conf_destroy(c);
    struct stat st;
    cr_assert_neq(stat(lock, &st), 0, "store.sync=full: no writer.lock");
    free(lock);
}

/* A store opened for writing where a restore died (Ctrl-C during a seeded
 * start, then a plain start) removes the dead restore's work directory. */
Test(snapshot, a_writable_open_removes_a_dead_restores_leftovers)
{
    char *left = dead_restore_leftovers();
    fstore_store_t *r = tu_store_open(dst, NULL);
    fstore_store_close(r);
    struct stat st;
    cr_assert_neq(stat(left, &st), 0, "the dead restore's leftovers stayed");
    free(left);
}
