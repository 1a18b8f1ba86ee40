/*
 * The store environment: opening and closing the LMDB environment, the
 * writer lock and machine-crash detection, the metadata sub-database's
 * format version and statistics record, transactions under the remap lock,
 * map growth, space accounting and the translation of LMDB's error codes.
 * Knows nothing of tables' contents, writer schemas or Kafka.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

fstore_err_t fs_mdb_err(int rc, const char *what, char *errstr,
                        size_t errstr_size)
{
    fstore_err_t e;
    switch (rc) {
    case MDB_MAP_FULL:
        e = FSTORE_ERR_MAP_FULL;
        break;
    case MDB_READERS_FULL:
        return fstore__err(errstr, errstr_size, FSTORE_ERR_READERS_FULL,
                           "%s: the reader table is full; raise "
                           "store.max_readers or destroy idle readers",
                           what);
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_PANIC:
    case MDB_INVALID:
        e = FSTORE_ERR_CORRUPT;
        break;
    case MDB_VERSION_MISMATCH:
        e = FSTORE_ERR_VERSION;
        break;
    case ENOMEM:
        e = FSTORE_ERR_NO_MEMORY;
        break;
    case EIO:
    case ENOSPC:
    case EACCES:
    case EPERM:
    case EROFS:
    case ENOENT:
        e = FSTORE_ERR_IO;
        break;
    default:
        e = FSTORE_ERR_STORAGE;
        break;
    }
    return fstore__err(errstr, errstr_size, e, "%s: %s", what, mdb_strerror(rc));
}

/* ---- map size ---- */

/* Takes the remap lock exclusively: waits until every transaction of this
 * process has ended. A thread that holds a reader snapshot while it
 * commits would wait for itself, so the wait is bounded. */
static int fs_remap_lock(fstore_store_t *s)
{
    for (int waited = 0;; waited += 5) {
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += 5;
        int rc = pthread_rwlock_timedwrlock(&s->remap, &dl);
        if (rc != ETIMEDOUT)
            return rc;
        if (waited >= 55)
            return rc;
        fs_log(s->conf, 4,
               "store %s: waiting for readers of this process to reset or "
               "refresh so the memory map can grow",
               s->path);
    }
}

fstore_err_t fs_store_grow(fstore_store_t *s, char *errstr, size_t errstr_size)
{
    MDB_envinfo info;
    fstore_err_t err = FSTORE_OK;
    if (fs_remap_lock(s))
        return fstore__err(errstr, errstr_size, FSTORE_ERR_MAP_FULL,
                           "the memory map must grow, but readers of this "
                           "process kept their snapshots for 60 s; reset or "
                           "refresh readers between requests (or raise "
                           "store.map_size)");
    mdb_env_info(s->env, &info);
    uint64_t cur = info.me_mapsize;
    if (cur >= s->map_max) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_MAP_FULL,
                          "the store is full at store.map_size.max = %llu "
                          "bytes; raise it",
                          (unsigned long long)s->map_max);
    } else {
        uint64_t next = cur * 2 > s->map_max ? s->map_max : cur * 2;
        int rc = mdb_env_set_mapsize(s->env, (size_t)next);
        if (rc)
            err = fs_mdb_err(rc, "growing the memory map", errstr, errstr_size);
    }
    pthread_rwlock_unlock(&s->remap);
    return err;
}

void fs_store_adopt_size(fstore_store_t *s)
{
    if (fs_remap_lock(s))
        return; /* the caller's retry reports the failure */
    /* Size 0 adopts the size another process recorded in the store. */
    mdb_env_set_mapsize(s->env, 0);
    pthread_rwlock_unlock(&s->remap);
}

/* Begins a transaction while holding the remap lock shared; on success the
 * caller must release it with fs_txn_end after the transaction ends. */
fstore_err_t fs_txn_begin(fstore_store_t *s, unsigned flags, MDB_txn **txn,
                          char *errstr, size_t errstr_size)
{
    for (int tries = 0;; tries++) {
        pthread_rwlock_rdlock(&s->remap);
        int rc = mdb_txn_begin(s->env, NULL, flags, txn);
        if (rc == 0)
            return FSTORE_OK;
        pthread_rwlock_unlock(&s->remap);
        if (rc == MDB_MAP_RESIZED && tries < 3) {
            fs_store_adopt_size(s);
            continue;
        }
        return fs_mdb_err(rc, "starting a transaction", errstr, errstr_size);
    }
}

void fs_txn_abort(fstore_store_t *s, MDB_txn *txn)
{
    mdb_txn_abort(txn);
    pthread_rwlock_unlock(&s->remap);
}

int fs_txn_commit(fstore_store_t *s, MDB_txn *txn)
{
    int rc = mdb_txn_commit(txn);
    pthread_rwlock_unlock(&s->remap);
    return rc;
}

/* ---- open / close ---- */

/* Gives path (through fd when it is open) exactly the permission bits
 * mode, whatever the umask was when it was made; other mode bits (setgid
 * on a directory) stay. A failure (a file of another owner) is logged, not
 * fatal: the store works with the modes it has. */
static void fs_set_mode(fstore_store_t *s, const char *path, int fd,
                        unsigned mode)
{
    struct stat st;
    if ((fd >= 0 ? fstat(fd, &st) : stat(path, &st)) != 0 ||
        (st.st_mode & 0777) == mode)
        return;
    mode_t want = (st.st_mode & 07000) | (mode_t)mode;
    if ((fd >= 0 ? fchmod(fd, want) : chmod(path, want)) != 0)
        fs_log(s->conf, 4, "store %s: cannot give %s mode %04o: %s", s->path,
               path, mode, strerror(errno));
    else
        fs_log(s->conf, 6, "store %s: %s had mode %04o, now %04o", s->path,
               path, (unsigned)(st.st_mode & 0777), mode);
}

/* The store's files get store.file_mode at every writable open, the ones
 * an earlier open made included. */
static void fs_set_file_modes(fstore_store_t *s, unsigned mode)
{
    static const char *const files[] = {"data.mdb", "lock.mdb"};
    char p[4096];
    for (size_t i = 0; i < 2; i++)
        if (snprintf(p, sizeof p, "%s/%s", s->path, files[i]) < (int)sizeof p)
            fs_set_mode(s, p, -1, mode);
}

static fstore_err_t fs_lock_writer(fstore_store_t *s, mode_t mode, char *errstr,
                                   size_t errstr_size)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/writer.lock", s->path);
    s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, mode);
    if (s->lock_fd < 0)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_IO,
                           "cannot open %s: %s", path, strerror(errno));
    fs_set_mode(s, path, s->lock_fd, (unsigned)mode);
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "";
        ssize_t n = pread(s->lock_fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = 0;
        pid[strcspn(pid, " \n")] = 0;
        close(s->lock_fd);
        s->lock_fd = -1;
        return fstore__err(errstr, errstr_size, FSTORE_ERR_LOCKED,
                           "store %s is open for writing by another handle "
                           "(pid %s); one writer per store — open it read-only "
                           "(store.read_only=true) to read",
                           s->path, pid[0] ? pid : "unknown");
    }
    return FSTORE_OK;
}

/* The kernel's id of this boot: a store left open by a writer of another
 * boot was not closed before the machine went down. */
static void fs_boot_id(char *buf, size_t size)
{
    buf[0] = 0;
    FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
    if (f) {
        if (!fgets(buf, (int)size, f))
            buf[0] = 0;
        fclose(f);
    }
    buf[strcspn(buf, "\n")] = 0;
}

/* writer.lock holds "<pid> <boot id> open|closed". Without per-commit syncs
 * (store.sync=none) a machine crash can leave pages of the last commits
 * unwritten under a metadata page that was written: a store that was open
 * for writing when its machine went down cannot be trusted and is rebuilt
 * (emptied; tailing reloads it). Process crashes are always safe: the page
 * cache survives them. */
static int fs_writer_line(char *line, size_t size, const char *state)
{
    char boot[64];
    fs_boot_id(boot, sizeof boot);
    return snprintf(line, size, "%ld %s %s\n", (long)getpid(),
                    boot[0] ? boot : "-", state);
}

int fs_writer_lock_open(const char *dir, unsigned mode)
{
    char path[4200], line[160];
    snprintf(path, sizeof path, "%s/writer.lock", dir);
    int n = fs_writer_line(line, sizeof line, "open");
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, (mode_t)mode);
    if (fd < 0)
        return errno;
    int rc = fchmod(fd, (mode_t)mode) || write(fd, line, (size_t)n) != n ||
                     fdatasync(fd)
                 ? (errno ? errno : EIO)
                 : 0;
    close(fd);
    return rc;
}

static void fs_writer_state(fstore_store_t *s, const char *state)
{
    char line[160];
    int n = fs_writer_line(line, sizeof line, state);
    /* Over the old line, then cut: on a full file system, truncating first
     * would give up the block the new line needs. A reader of a line cut
     * short by a crash still finds its three fields first. */
    if (pwrite(s->lock_fd, line, (size_t)n, 0) != n || ftruncate(s->lock_fd, n) != 0)
        fs_log(s->conf, 4, "store %s: cannot record the writer state: %s",
               s->path, strerror(errno));
    else if (!strcmp(state, "open"))
        fdatasync(s->lock_fd);
}

static int fs_crashed_with_machine(fstore_store_t *s)
{
    char line[160] = "", boot[64];
    ssize_t n = pread(s->lock_fd, line, sizeof line - 1, 0);
    line[n > 0 ? n : 0] = 0;
    char their[64] = "", state[16] = "";
    long pid;
    if (sscanf(line, "%ld %63s %15s", &pid, their, state) != 3)
        return 0; /* new store, or one from before this record existed */
    fs_boot_id(boot, sizeof boot);
    return !strcmp(state, "open") && boot[0] && strcmp(their, boot) != 0;
}

/* LMDB's reader table (lock.mdb) is written through a shared memory map,
 * a page at a time as readers arrive: on a full file system, a reader that
 * first touches a page the file does not hold yet dies of SIGBUS. The
 * writer reserves the whole table at open. The reservation goes through
 * LMDB's own descriptor of the file, found in /proc/self/fd: closing any
 * other descriptor of it would drop LMDB's locks on it. */
static void fs_reserve_reader_table(fstore_store_t *s)
{
    char want[4096], link[4096], fdpath[300];
    snprintf(want, sizeof want, "%s/lock.mdb", s->path);
    char *real = realpath(want, NULL);
    DIR *d = real ? opendir("/proc/self/fd") : NULL;
    struct dirent *e;
    int fd = -1;
    while (d && fd < 0 && (e = readdir(d))) {
        snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%s", e->d_name);
        ssize_t n = readlink(fdpath, link, sizeof link - 1);
        if (n > 0 && (link[n] = 0, !strcmp(link, real)))
            fd = atoi(e->d_name);
    }
    if (d)
        closedir(d);
    free(real);
    struct stat st;
    int rc = fd < 0 ? ENOENT : fstat(fd, &st) != 0 ? errno
                                                   : posix_fallocate(fd, 0, st.st_size);
    if (rc)
        fs_log(s->conf, 4,
               "store %s: cannot reserve LMDB's reader table (lock.mdb): %s; "
               "while the file system is full, new readers may fail",
               s->path, strerror(rc));
}

static void fs_discard_store_files(fstore_store_t *s)
{
    static const char *const files[] = {"data.mdb", "lock.mdb"};
    char p[4096];
    for (size_t i = 0; i < 2; i++)
        if (snprintf(p, sizeof p, "%s/%s", s->path, files[i]) < (int)sizeof p)
            unlink(p);
}

static fstore_err_t fs_meta_init(fstore_store_t *s, char *errstr,
                                 size_t errstr_size)
{
    MDB_txn *txn;
    unsigned flags = s->read_only ? MDB_RDONLY : 0;
    fstore_err_t err = fs_txn_begin(s, flags, &txn, errstr, errstr_size);
    if (err)
        return err;
    int rc = mdb_dbi_open(txn, "__meta", s->read_only ? 0 : MDB_CREATE, &s->meta);
    if (rc == MDB_NOTFOUND) {
        fs_txn_abort(s, txn);
        return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_STORE,
                           "%s holds no fstore store yet (no writer has "
                           "opened it)",
                           s->path);
    }
    if (rc) {
        fs_txn_abort(s, txn);
        return fs_mdb_err(rc, "opening the metadata", errstr, errstr_size);
    }
    uint8_t tag = FS_META_VERSION;
    MDB_val k = {1, &tag}, v;
    rc = mdb_get(txn, s->meta, &k, &v);
    if (rc == 0) {
        uint32_t ver = v.mv_size == 4 ? fs_load_u32(v.mv_data) : 0;
        if (ver != FS_STORE_VERSION) {
            fs_txn_abort(s, txn);
            return fstore__err(errstr, errstr_size, FSTORE_ERR_VERSION,
                               "store %s has format version %u; this fstore "
                               "(%s) reads version %u",
                               s->path, ver, fstore_version_str(),
                               FS_STORE_VERSION);
        }
    } else if (rc == MDB_NOTFOUND && !s->read_only) {
        uint32_t ver = FS_STORE_VERSION;
        v.mv_data = &ver;
        v.mv_size = 4;
        rc = mdb_put(txn, s->meta, &k, &v, 0);
    }
    if (rc && !(rc == MDB_NOTFOUND && s->read_only)) {
        fs_txn_abort(s, txn);
        return fs_mdb_err(rc, "initialising the metadata", errstr, errstr_size);
    }
    rc = fs_txn_commit(s, txn);
    if (rc)
        return fs_mdb_err(rc, "initialising the metadata", errstr, errstr_size);
    return FSTORE_OK;
}

fstore_err_t fs_store_open(const char *path, const fstore_conf_t *conf,
                               fstore_store_t **storep, char *errstr,
                               size_t errstr_size)
{
    if (!path || !storep || !*path)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_INVALID_ARG,
                           "path and store pointer are required");
    *storep = NULL;
    fstore_store_t *s = calloc(1, sizeof *s);
    if (!s)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
    s->lock_fd = -1;
    pthread_mutex_init(&s->mu, NULL);
    /* Writer-preferring: with readers refreshing in a loop, a reader-first
     * lock would postpone map growth indefinitely. */
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&s->remap, &ra);
    pthread_rwlockattr_destroy(&ra);
    fstore_err_t err = FSTORE_ERR_NO_MEMORY;
    s->conf = conf ? fstore_conf_dup(conf) : fstore_conf_new();
    if (!s->conf || !(s->path = fs_strdup(path))) {
        fstore__err(errstr, errstr_size, err, "out of memory");
        goto fail;
    }
    s->read_only = fs_conf_bool(s->conf, "store.read_only");
    unsigned fmode, dmode;
    fs_conf_modes(s->conf, &fmode, &dmode);
    mode_t mode = (mode_t)fmode;
    s->map_max = fs_conf_u64(s->conf, "store.map_size.max");
    uint64_t map_size = fs_conf_u64(s->conf, "store.map_size");
    /* The table array never moves, so the writer and readers index it
     * without a lock while tables are added. */
    s->cap_tables = (size_t)fs_conf_u64(s->conf, "store.max_tables");
    s->tables = calloc(s->cap_tables, sizeof *s->tables);
    if (!s->tables) {
        fstore__err(errstr, errstr_size, err, "out of memory");
        goto fail;
    }
    if (map_size > s->map_max)
        map_size = s->map_max;

    struct stat st;
    if (s->read_only) {
        char data[4096];
        snprintf(data, sizeof data, "%s/data.mdb", path);
        if (stat(data, &st) != 0) {
            err = fstore__err(errstr, errstr_size, FSTORE_ERR_NO_STORE,
                              "no store at %s (%s); run a writer (fstore tail) "
                              "first, or check the path",
                              path, strerror(errno));
            goto fail;
        }
    } else {
        if (mkdir(path, (mode_t)dmode) == 0) {
            fs_set_mode(s, path, -1, dmode);
        } else if (errno != EEXIST) {
            err = fstore__err(errstr, errstr_size, FSTORE_ERR_IO,
                              "cannot create store directory %s: %s", path,
                              strerror(errno));
            goto fail;
        }
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
            err = fstore__err(errstr, errstr_size, FSTORE_ERR_IO,
                              "%s is not a directory", path);
            goto fail;
        }
        if ((err = fs_lock_writer(s, mode, errstr, errstr_size)))
            goto fail;
        if (fs_crashed_with_machine(s)) {
            fs_log(s->conf, 4,
                   "store %s was open for writing when its machine went "
                   "down; its last commits may be torn, so it starts empty "
                   "and tailing reloads it",
                   s->path);
            fs_discard_store_files(s);
        }
        fs_writer_state(s, "open");
    }

    int rc = mdb_env_create(&s->env);
    if (!rc)
        rc = mdb_env_set_maxdbs(s->env, (MDB_dbi)fs_conf_u64(s->conf, "store.max_tables") + 1);
    if (!rc)
        rc = mdb_env_set_maxreaders(s->env, (unsigned)fs_conf_u64(s->conf, "store.max_readers"));
    if (!rc)
        rc = mdb_env_set_mapsize(s->env, (size_t)map_size);
    if (rc) {
        err = fs_mdb_err(rc, "creating the environment", errstr, errstr_size);
        goto fail;
    }
    /* NOTLS: reader handles are not tied to threads (a Python thread pool
     * or an async runtime may move them). NORDAHEAD: lookups are random. */
    unsigned flags = MDB_NOTLS | MDB_NORDAHEAD;
    const char *sync = fs_conf_str(s->conf, "store.sync");
    if (s->read_only)
        flags |= MDB_RDONLY;
    else if (!strcmp(sync, "none"))
        flags |= MDB_NOSYNC;
    else if (!strcmp(sync, "meta"))
        flags |= MDB_NOMETASYNC;
    rc = mdb_env_open(s->env, path, flags, mode);
    if (rc) {
        err = fs_mdb_err(rc, "opening the store", errstr, errstr_size);
        if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
            fstore__err(errstr, errstr_size, err,
                        "%s does not hold an fstore store this version can "
                        "read (%s)",
                        path, mdb_strerror(rc));
        goto fail;
    }
    if (!s->read_only) {
        fs_set_file_modes(s, fmode);
        fs_reserve_reader_table(s);
    }
    if ((err = fs_meta_init(s, errstr, errstr_size)))
        goto fail;
    *storep = s;
    return FSTORE_OK;
fail:
    fs_store_free(s);
    return err;
}

int fstore_store_read_only(const fstore_store_t *s) { return s ? s->read_only : 0; }

void fs_store_free(fstore_store_t *s)
{
    if (!s)
        return;
    free(s->tables);
    if (s->env) {
        /* A clean close makes everything durable before saying so. */
        if (s->lock_fd >= 0 && mdb_env_sync(s->env, 1) == 0)
            fs_writer_state(s, "closed");
        mdb_env_close(s->env);
    }
    if (s->lock_fd >= 0)
        close(s->lock_fd); /* releases the writer lock */
    fstore_conf_destroy(s->conf);
    pthread_mutex_destroy(&s->mu);
    pthread_rwlock_destroy(&s->remap);
    free(s->path);
    free(s);
}

int fs_meta_put_stats(fstore_store_t *s, MDB_txn *txn, const char *json)
{
    uint8_t tag = FS_META_STATS;
    MDB_val k = {1, &tag}, v = {strlen(json), (void *)(uintptr_t)json};
    return mdb_put(txn, s->meta, &k, &v, 0);
}

fstore_err_t fs_store_put_stats(fstore_store_t *s, const char *json)
{
    for (int tries = 0; tries < 3; tries++) {
        MDB_txn *txn;
        fstore_err_t err = fs_txn_begin(s, 0, &txn, NULL, 0);
        if (err)
            return err;
        int rc = fs_meta_put_stats(s, txn, json);
        if (rc)
            fs_txn_abort(s, txn);
        else
            rc = fs_txn_commit(s, txn);
        if (rc == MDB_MAP_FULL && fs_store_grow(s, NULL, 0) == FSTORE_OK)
            continue;
        return rc ? fs_mdb_err(rc, "recording statistics", NULL, 0) : FSTORE_OK;
    }
    return FSTORE_ERR_MAP_FULL;
}

char *fs_store_get_stats(fstore_store_t *s)
{
    MDB_txn *txn;
    if (fs_txn_begin(s, MDB_RDONLY, &txn, NULL, 0))
        return NULL;
    uint8_t tag = FS_META_STATS;
    MDB_val k = {1, &tag}, v;
    char *out = NULL;
    if (mdb_get(txn, s->meta, &k, &v) == 0)
        out = fs_strndup(v.mv_data, v.mv_size);
    fs_txn_abort(s, txn);
    return out;
}

int fs_store_usage(fstore_store_t *s, MDB_txn *txn, fs_usage *u)
{
    MDB_envinfo info;
    MDB_stat st;
    MDB_cursor *cur;
    MDB_val k, v;
    memset(u, 0, sizeof *u);
    int rc = mdb_env_info(s->env, &info);
    if (!rc)
        rc = mdb_env_stat(s->env, &st);
    /* Database 0 is LMDB's free list: each value lists page numbers, its
     * first word their count. */
    if (!rc)
        rc = mdb_cursor_open(txn, 0, &cur);
    if (rc)
        return rc;
    while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
        size_t n;
        if (v.mv_size >= sizeof n) {
            memcpy(&n, v.mv_data, sizeof n);
            u->free_pages += n;
        }
    }
    mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND)
        return rc;
    u->page_size = st.ms_psize;
    u->pages = (uint64_t)info.me_last_pgno + 1;
    u->map_size = info.me_mapsize;
    if (u->free_pages > u->pages)
        u->free_pages = u->pages;
    return 0;
}
