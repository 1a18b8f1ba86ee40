/*
 * fstore_verify(): a clean store is clean, and bytes changed in the data
 * file at chosen places (a row body, a row header, a stored offset, a key,
 * the full key of a long key) are reported exactly: kind, table, key, what,
 * expected and found. Also checks made while a writer commits, and stopping
 * through the progress callback.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tables.h"
#include "testutil.h"

static char *dir;

/* Table "t": key-000 .. key-019, value n = 1000 + i, partition i % 2 at
 * offset i (stored offsets: 18 for partition 0, 19 for partition 1), and
 * one long key of 600 bytes (partition 0, offset 4); all in one commit. */
#define NROWS 20
static char longkey[600];

static void setup(void)
{
    dir = tu_tmpdir();
    fstore_store_t *s = tu_store_open(dir, NULL);
    const fstore_table_t *t = tu_simple_table(s, "t");
    fstore_batch_t *b = tu_begin(s);
    for (int i = 0; i < NROWS; i++) {
        char key[16];
        snprintf(key, sizeof key, "key-%03d", i);
        tu_simple_put(b, t, key, 1000 + i, 3, i % 2, i, 1700000000000 + i);
    }
    memset(longkey, 'L', sizeof longkey);
    memcpy(longkey + sizeof longkey - 4, "tail", 4);
    tu_buf_t v = tu_simple_value(77, 1);
    cr_assert_eq(fstore_batch_put(b, t, longkey, sizeof longkey, v.data, v.len,
                                  0, 4, 1700000000999, NULL, 0),
                 FSTORE_OK);
    tu_buf_free(&v);
    tu_commit(b);
    fstore_store_close(s);
}

static void teardown(void)
{
    tu_rmtree(dir);
    free(dir);
}

TestSuite(verify, .init = setup, .fini = teardown, .timeout = 120);

/* ---- the data file ---- */

static tu_buf_t data_file(void)
{
    char *p = tu_path(dir, "data.mdb");
    FILE *f = fopen(p, "rb");
    cr_assert_not_null(f);
    struct stat st;
    cr_assert_eq(fstat(fileno(f), &st), 0);
    tu_buf_t b = {malloc((size_t)st.st_size), (size_t)st.st_size};
    cr_assert_eq(fread(b.data, 1, b.len, f), b.len);
    fclose(f);
    free(p);
    return b;
}

/* Where the n bytes at pat are in the data file: exactly one place. */
static size_t find_once(const void *pat, size_t n)
{
    tu_buf_t f = data_file();
    size_t at = 0, hits = 0;
    for (size_t i = 0; i + n <= f.len; i++)
        if (!memcmp(f.data + i, pat, n)) {
            at = i;
            hits++;
        }
    tu_buf_free(&f);
    cr_assert_eq(hits, 1, "the pattern is %zu times in the data file", hits);
    return at;
}

static void write_at(size_t at, const void *bytes, size_t n)
{
    char *p = tu_path(dir, "data.mdb");
    int fd = open(p, O_WRONLY);
    cr_assert_geq(fd, 0);
    cr_assert_eq(pwrite(fd, bytes, n, (off_t)at), (ssize_t)n);
    close(fd);
    free(p);
}

static void read_at(size_t at, void *bytes, size_t n)
{
    tu_buf_t f = data_file();
    cr_assert_leq(at + n, f.len);
    memcpy(bytes, f.data + at, n);
    tu_buf_free(&f);
}

/* The row of key (NUL-terminated) as stored: 40 header bytes at *hdr, and
 * where the row starts in the data file. */
static size_t row_at(const char *key, size_t key_len, uint8_t hdr[FS_ROW_HDR])
{
    fstore_store_t *s = tu_store_open_ro(dir);
    const fstore_table_t *t;
    cr_assert_eq(fstore_table_open(s, "t", &t), FSTORE_OK);
    fstore_reader_t *r;
    cr_assert_eq(fstore_reader_new(s, &r), FSTORE_OK);
    const fstore_row_t *row;
    cr_assert_eq(fstore_get(r, t, key, key_len, &row), FSTORE_OK);
    memcpy(hdr, row, FS_ROW_HDR);
    fstore_reader_destroy(r);
    fstore_store_close(s);
    return find_once(hdr, FS_ROW_HDR);
}

/* ---- running the check ---- */

static json_t *verify_report(fstore_err_t want)
{
    fstore_store_t *s = tu_store_open_ro(dir);
    char *text = NULL, err[512] = "";
    fstore_err_t e = fstore_verify(s, NULL, NULL, &text, err, sizeof err);
    fstore_store_close(s);
    cr_assert_eq(e, want, "fstore_verify: %s (%s), want %s", fstore_err_name(e),
                 err, fstore_err_name(want));
    cr_assert_not_null(text);
    json_t *rep = json_loads(text, 0, NULL);
    cr_assert_not_null(rep, "the report is not JSON: %s", text);
    fstore_free(text);
    return rep;
}

static const char *str_at(json_t *o, const char *name)
{
    json_t *v = json_object_get(o, name);
    return v ? json_string_value(v) : NULL;
}

static void assert_str(json_t *o, const char *name, const char *want)
{
    const char *got = str_at(o, name);
    if (!want)
        cr_assert_null(got, "%s: \"%s\", want none", name, got);
    else
        cr_assert(got && !strcmp(got, want), "%s: \"%s\", want \"%s\"", name,
                  got ? got : "(none)", want);
}

static void assert_damage(json_t *d, const char *kind, const char *table,
                          const char *key, const char *what,
                          const char *expected, const char *found)
{
    cr_assert_not_null(d);
    assert_str(d, "kind", kind);
    assert_str(d, "table", table);
    assert_str(d, "key", key);
    assert_str(d, "what", what);
    assert_str(d, "expected", expected);
    assert_str(d, "found", found);
}

static int64_t int_at(json_t *o, const char *name)
{
    json_t *v = json_object_get(o, name);
    cr_assert(json_is_integer(v), "%s is not an integer", name);
    return json_integer_value(v);
}

/* The report lists exactly n damages; returns them. */
static json_t *damages(json_t *rep, size_t n)
{
    json_t *d = json_object_get(rep, "damage");
    cr_assert_eq(json_array_size(d), n, "%zu damages listed, want %zu",
                 json_array_size(d), n);
    cr_assert_eq(int_at(rep, "damage_count"), (int64_t)n);
    cr_assert_eq(json_is_true(json_object_get(rep, "clean")), n == 0);
    return d;
}

/* ---- clean ---- */

Test(verify, a_clean_store_is_clean)
{
    json_t *rep = verify_report(FSTORE_OK);
    damages(rep, 0);
    cr_assert_eq(int_at(rep, "rows_checked"), NROWS + 1);
    cr_assert_eq(int_at(rep, "damaged_rows"), 0);
    cr_assert_eq(int_at(rep, "stored_offsets"), 2);
    json_t *tables = json_object_get(rep, "tables");
    cr_assert_eq(json_array_size(tables), 1);
    assert_str(json_array_get(tables, 0), "name", "t");
    cr_assert_eq(int_at(json_array_get(tables, 0), "rows"), NROWS + 1);
    json_t *lmdb = json_object_get(rep, "lmdb");
    assert_str(lmdb, "accounting", "checked");
    cr_assert_gt(int_at(lmdb, "pages"), 2);
    json_decref(rep);
}

/* ---- rows ---- */

Test(verify, a_changed_body_byte_fails_the_checksum)
{
    uint8_t hdr[FS_ROW_HDR];
    size_t at = row_at("key-007", 7, hdr);
    uint32_t body = fs_row_body_size(hdr);
    /* The last byte of the body: the array's last element (a float). */
    uint8_t b;
    read_at(at + FS_ROW_HDR + body - 1, &b, 1);
    b ^= 0x40;
    write_at(at + FS_ROW_HDR + body - 1, &b, 1);
    uint8_t *row = malloc(FS_ROW_HDR + body);
    read_at(at, row, FS_ROW_HDR + body);
    char want[64], got[64];
    snprintf(want, sizeof want, "0x%016llx (stored in the header)",
             (unsigned long long)fs_load_u64(hdr + FS_H_CSUM));
    snprintf(got, sizeof got, "0x%016llx (XXH3-64 of the body)",
             (unsigned long long)fs_row_hash(row + FS_ROW_HDR, body));
    free(row);

    json_t *rep = verify_report(FSTORE_ERR_CORRUPT);
    json_t *d = damages(rep, 1);
    assert_damage(json_array_get(d, 0), "row_checksum", "t", "key-007",
                  "body checksum", want, got);
    cr_assert_eq(int_at(rep, "damaged_rows"), 1);
    cr_assert_eq(int_at(json_array_get(json_object_get(rep, "tables"), 0),
                        "damaged_rows"),
                 1);
    json_decref(rep);
}

Test(verify, a_changed_header_version_is_named)
{
    uint8_t hdr[FS_ROW_HDR];
    size_t at = row_at("key-003", 7, hdr);
    uint8_t ver = 7;
    write_at(at + FS_H_VERSION, &ver, 1);
    json_t *rep = verify_report(FSTORE_ERR_CORRUPT);
    /* An unknown format: nothing else of the row is read. */
    assert_damage(json_array_get(damages(rep, 1), 0), "row_header", "t",
                  "key-003", "row format version", "1", "7");
    json_decref(rep);
}

Test(verify, a_body_size_past_the_row_is_named)
{
    uint8_t hdr[FS_ROW_HDR];
    size_t at = row_at("key-012", 7, hdr);
    uint32_t body = fs_row_body_size(hdr), big = body + 9;
    write_at(at + FS_H_BODY, &big, 4);
    char want[96], got[32];
    snprintf(want, sizeof want,
             "at most %u (the row's %u bytes less the header)", body,
             body + FS_ROW_HDR);
    snprintf(got, sizeof got, "%u", big);
    json_t *rep = verify_report(FSTORE_ERR_CORRUPT);
    assert_damage(json_array_get(damages(rep, 1), 0), "row_header", "t",
                  "key-012", "body size", want, got);
    json_decref(rep);
}

Test(verify, a_row_offset_past_its_partitions_stored_offset)
{
    uint8_t hdr[FS_ROW_HDR];
    size_t at = row_at("key-005", 7, hdr);
    /* Outside the body: the checksum still holds. */
    int64_t off = 1005;
    write_at(at + FS_H_OFFSET, &off, 8);
    json_t *rep = verify_report(FSTORE_ERR_CORRUPT);
    assert_damage(json_array_get(damages(rep, 1), 0), "row_offset", "t",
                  "key-005", "row offset",
                  "at most 19 (the stored offset of partition 1)", "1005");
    json_decref(rep);
}

Test(verify, a_column_slot_past_the_body_is_named)
{
    uint8_t hdr[FS_ROW_HDR];
    size_t at = row_at("key-009", 7, hdr);
    /* Column 4, "s" (string "v1009"): its slot holds offset, then length. */
    fstore_store_t *s = tu_store_open_ro(dir);
    const fstore_table_t *t;
    cr_assert_eq(fstore_table_open(s, "t", &t), FSTORE_OK);
    uint32_t slot = t->L->cols[4].slot;
    fstore_store_close(s);
    uint8_t sl[8];
    read_at(at + FS_ROW_HDR + slot, sl, 8);
    cr_assert_eq(fs_load_u32(sl + 4), 5);
    uint32_t body = fs_row_body_size(hdr), len = 500;
    write_at(at + FS_ROW_HDR + slot + 4, &len, 4);
    char want[96], got[64];
    snprintf(want, sizeof want, "a string inside the %u-byte body, then a NUL",
             body);
    snprintf(got, sizeof got, "500 bytes at offset %u", fs_load_u32(sl));

    json_t *rep = verify_report(FSTORE_ERR_CORRUPT);
    json_t *d = damages(rep, 2);
    /* The slot is in the body: the checksum fails too. */
    assert_str(json_array_get(d, 0), "kind", "row_checksum");
    assert_damage(json_array_get(d, 1), "row_layout", "t", "key-009",
                  "column \"s\"", want, got);
    cr_assert_eq(int_at(rep, "damaged_rows"), 1);
    json_decref(rep);
}

Test(verify, a_changed_full_key_of_a_long_key_is_named)
{
    /* The full key is kept after the body, outside the checksum. */
    size_t at = find_once(longkey, sizeof longkey);
    uint8_t last = 'X';
    write_at(at + sizeof longkey - 1, &last, 1);
    json_t *rep = verify_report(FSTORE_ERR_CORRUPT);
    json_t *d = json_array_get(damages(rep, 1), 0);
    char shown[300];
    memset(shown, 'L', 200);
    snprintf(shown + 200, sizeof shown - 200, "...(600 bytes)");
    assert_str(d, "kind", "row_key");
    assert_str(d, "key", shown);
    assert_str(d, "what", "full key digest");
    cr_assert(strstr(str_at(d, "expected"), "(the stored digest key)"));
    cr_assert(strstr(str_at(d, "found"), "(of the full key after the body)"));
    json_decref(rep);
}

/* ---- stored offsets ---- */

/* Where the stored offset of partition p of table "t" is: the value right
 * after its key in the metadata's leaf. */
static size_t stored_offset_at(int32_t p)
{
    uint8_t key[7] = {'O', 't', 0, 0, 0, 0, (uint8_t)p};
    return find_once(key, sizeof key) + sizeof key;
}

Test(verify, a_lowered_stored_offset_names_every_row_past_it)
{
    size_t at = stored_offset_at(1);
    int64_t off;
    read_at(at, &off, 8);
    cr_assert_eq(off, 19);
    off = 12;
    write_at(at, &off, 8);
    json_t *rep = verify_report(FSTORE_ERR_CORRUPT);
    /* Partition 1 holds key-001, key-003, ... at offsets 1, 3, ...: 13, 15,
     * 17 and 19 are past 12. */
    json_t *d = damages(rep, 4);
    for (int i = 0; i < 4; i++) {
        char key[16], found[16];
        snprintf(key, sizeof key, "key-%03d", 13 + 2 * i);
        snprintf(found, sizeof found, "%d", 13 + 2 * i);
        assert_damage(json_array_get(d, (size_t)i), "row_offset", "t", key,
                      "row offset",
                      "at most 12 (the stored offset of partition 1)", found);
    }
    cr_assert_eq(int_at(rep, "damaged_rows"), 4);
    json_decref(rep);
}

Test(verify, a_stored_offset_moved_to_another_partition)
{
    /* The key of partition 0's offset now says partition 2: its entry sorts
     * after partition 1's, and partition 0 has no offset left. */
    uint8_t key[7] = {'O', 't', 0, 0, 0, 0, 0};
    size_t at = find_once(key, sizeof key);
    uint8_t two = 2;
    write_at(at + 6, &two, 1);
    json_t *rep = verify_report(FSTORE_ERR_CORRUPT);
    json_t *d = json_object_get(rep, "damage");
    /* The key order of the metadata, then the 11 rows of partition 0 (ten
     * short keys and the long one). */
    cr_assert_eq(json_array_size(d), 12);
    assert_damage(json_array_get(d, 0), "key_order", NULL,
                  "Ot\\x00\\x00\\x00\\x00\\x01", "key order of the metadata",
                  "a key after \"Ot\\x00\\x00\\x00\\x00\\x02\"",
                  "a key that sorts before it, or the same key");
    size_t rows = 0;
    for (size_t i = 1; i < json_array_size(d); i++) {
        json_t *e = json_array_get(d, i);
        assert_str(e, "kind", "row_offset");
        assert_str(e, "what", "stored offset");
        assert_str(e, "expected",
                   "an offset stored for partition 0, the row's");
        assert_str(e, "found", "none");
        rows++;
    }
    cr_assert_eq(rows, 11);
    cr_assert_eq(int_at(rep, "damaged_rows"), 11);
    json_decref(rep);
}

/* ---- LMDB ---- */

Test(verify, keys_out_of_order_are_named)
{
    /* key-005 becomes key-0z5: it sorts after key-006 but stays before it. */
    size_t at = find_once("key-005", 7);
    write_at(at + 5, "z", 1);
    json_t *rep = verify_report(FSTORE_ERR_CORRUPT);
    assert_damage(json_array_get(damages(rep, 1), 0), "key_order", "t",
                  "key-006", "key order of the rows", "a key after \"key-0z5\"",
                  "a key that sorts before it, or the same key");
    json_decref(rep);
}

/* ---- the call ---- */

typedef struct calls {
    uint64_t n, last_checked, last_total;
    int stop_after;
} calls;

static int count_calls(void *opaque, uint64_t checked, uint64_t total)
{
    calls *c = opaque;
    c->n++;
    c->last_checked = checked;
    c->last_total = total;
    return c->stop_after && (int)c->n >= c->stop_after;
}

Test(verify, progress_reports_the_end_and_may_stop_the_check)
{
    fstore_store_t *s = tu_store_open_ro(dir);
    calls c = {0};
    char *text = NULL;
    cr_assert_eq(fstore_verify(s, count_calls, &c, &text, NULL, 0), FSTORE_OK);
    cr_assert_geq(c.n, 2);
    cr_assert_eq(c.last_checked, NROWS + 1);
    cr_assert_eq(c.last_total, NROWS + 1);
    fstore_free(text);
    calls stop = {.stop_after = 1};
    char err[256];
    cr_assert_eq(fstore_verify(s, count_calls, &stop, &text, err, sizeof err),
                 FSTORE_ERR_STATE);
    cr_assert_null(text);
    cr_assert(strstr(err, "stopped"), "%s", err);
    cr_assert_eq(fstore_verify(NULL, NULL, NULL, &text, NULL, 0),
                 FSTORE_ERR_INVALID_ARG);
    cr_assert_eq(fstore_verify(s, NULL, NULL, NULL, NULL, 0),
                 FSTORE_ERR_INVALID_ARG);
    fstore_store_close(s);
}

/* A writer commits (overwrites with later offsets, deletes, new keys, a
 * new table) while checks run, one of them slowed down by its progress
 * callback so that it renews its snapshot mid-table: never a false report. */
typedef struct writer {
    fstore_store_t *s;
    int stop;
    int batches;
} writer;

static void *write_loop(void *arg)
{
    writer *w = arg;
    const fstore_table_t *t;
    cr_assert_eq(fstore_table_open(w->s, "t", &t), FSTORE_OK);
    for (int64_t i = 0; !__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE); i++) {
        fstore_batch_t *b = tu_begin(w->s);
        for (int k = 0; k < 50; k++) {
            char key[32];
            int64_t n = i * 50 + k;
            snprintf(key, sizeof key, "w-%06lld", (long long)(n % 20000));
            tu_buf_t v = tu_simple_value(n, 2);
            int del = n % 7 == 0;
            cr_assert_eq(fstore_batch_put(b, t, key, strlen(key),
                                          del ? NULL : v.data, del ? 0 : v.len,
                                          (int32_t)(n % 3), 100 + n, 1, NULL,
                                          0),
                         FSTORE_OK);
            tu_buf_free(&v);
        }
        tu_commit(b);
        if (i == 20) {
            const fstore_table_t *t2;
            char err[256];
            cr_assert_eq(fstore_table_create(w->s, "late", TU_SIMPLE_SCHEMA,
                                             FSTORE_FORMAT_CONFLUENT, -1, &t2,
                                             err, sizeof err),
                         FSTORE_OK, "%s", err);
        }
        w->batches++;
    }
    return NULL;
}

static int slow(void *opaque, uint64_t checked, uint64_t total)
{
    (void)checked;
    (void)total;
    int *n = opaque;
    if (++*n <= 3)
        usleep(600000);
    return 0;
}

Test(verify, checks_beside_a_writer_report_nothing)
{
    fstore_store_t *s = tu_store_open(dir, NULL);
    /* Enough rows for the slow check to renew its snapshot mid-table. */
    const fstore_table_t *t;
    cr_assert_eq(fstore_table_open(s, "t", &t), FSTORE_OK);
    fstore_batch_t *b = tu_begin(s);
    for (int i = 0; i < 20000; i++) {
        char key[32];
        snprintf(key, sizeof key, "w-%06d", i);
        tu_simple_put(b, t, key, i, 2, i % 3, 50, 1);
    }
    tu_commit(b);
    writer w = {.s = s};
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, write_loop, &w), 0);
    /* The same handle: LMDB forbids opening one environment twice in a
     * process (other processes are what `fstore verify` is for). */
    for (int round = 0; round < 4; round++) {
        int n = 0;
        char *text = NULL, err[512] = "";
        fstore_err_t e = fstore_verify(s, round == 0 ? slow : NULL, &n, &text,
                                       err, sizeof err);
        cr_assert_eq(e, FSTORE_OK, "round %d: %s: %s\n%s", round,
                     fstore_err_name(e), err, text ? text : "");
        fstore_free(text);
    }
    __atomic_store_n(&w.stop, 1, __ATOMIC_RELEASE);
    pthread_join(th, NULL);
    cr_assert_gt(w.batches, 20);
    fstore_store_close(s);
    /* Quiet now: the page accounting is checked. */
    json_t *rep = verify_report(FSTORE_OK);
    assert_str(json_object_get(rep, "lmdb"), "accounting", "checked");
    cr_assert_eq(json_array_size(json_object_get(rep, "tables")), 2);
    json_decref(rep);
}

/* ---- store file modes ----
 * The modes store.c gives a store's directory and files (store.file_mode,
 * store.dir_mode), here beside the check that reads those files: exact
 * whatever the umask, so each test sets a umask that would change them.
 * (Criterion runs each test in its own process: the umask stays there.) */

static unsigned mode_of(const char *dir_path, const char *name)
{
    char *p = name ? tu_path(dir_path, name) : strdup(dir_path);
    struct stat st;
    cr_assert_eq(stat(p, &st), 0, "stat %s", p);
    free(p);
    return (unsigned)(st.st_mode & 07777);
}

static void assert_modes(const char *d, unsigned dmode, unsigned fmode)
{
    cr_assert_eq(mode_of(d, NULL), dmode, "directory: %04o, want %04o",
                 mode_of(d, NULL), dmode);
    static const char *const files[] = {"data.mdb", "lock.mdb", "writer.lock"};
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(mode_of(d, files[i]), fmode, "%s: %04o, want %04o",
                     files[i], mode_of(d, files[i]), fmode);
}

/* A store made in a new directory under umask mask with the conf's modes. */
static char *store_made(mode_t mask, fstore_conf_t *conf)
{
    char *base = tu_tmpdir(), *d = tu_path(base, "store");
    free(base);
    umask(mask);
    fstore_store_close(tu_store_open(d, conf));
    fstore_conf_destroy(conf);
    return d;
}

static void remove_store(char *d)
{
    char *base = strdup(d);
    *strrchr(base, '/') = 0;
    tu_rmtree(base);
    free(base);
    free(d);
}

TestSuite(store_modes, .timeout = 60);

Test(store_modes, owner_only_by_default_even_under_umask_0)
{
    char *d = store_made(0, NULL);
    assert_modes(d, 0700, 0600);
    remove_store(d);
}

Test(store_modes, configured_modes_are_exact_under_a_strict_umask)
{
    char *d = store_made(077, tu_conf("store.file_mode", "0640", NULL));
    /* The directory: x wherever the files have r. */
    assert_modes(d, 0750, 0640);
    remove_store(d);
    d = store_made(027, tu_conf("store.file_mode", "0660", "store.dir_mode",
                                "0710", NULL));
    assert_modes(d, 0710, 0660);
    remove_store(d);
}

Test(store_modes, a_writable_open_brings_files_back_to_the_mode)
{
    char *d = store_made(022, NULL);
    static const char *const files[] = {"data.mdb", "lock.mdb", "writer.lock"};
    for (size_t i = 0; i < 3; i++) {
        char *p = tu_path(d, files[i]);
        cr_assert_eq(chmod(p, 0644), 0);
        free(p);
    }
    /* A reader changes nothing. */
    fstore_store_close(tu_store_open_ro(d));
    cr_assert_eq(mode_of(d, "data.mdb"), 0644);
    fstore_store_close(tu_store_open(d, NULL));
    assert_modes(d, 0700, 0600);
    remove_store(d);
}

Test(store_modes, a_directory_that_exists_keeps_its_mode)
{
    char *base = tu_tmpdir(), *d = tu_path(base, "store");
    free(base);
    umask(0);
    cr_assert_eq(mkdir(d, 0755), 0);
    fstore_store_close(tu_store_open(d, NULL));
    assert_modes(d, 0755, 0600);
    remove_store(d);
}
