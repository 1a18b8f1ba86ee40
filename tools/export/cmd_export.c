/* fstore export: every row of a table as JSON lines, CSV or an Avro file. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "common/json.h"
#include "export_avro.h"

#define CMD "export"
#define PROGRESS_MS 500

void cmd_export_usage(FILE *out)
{
    fputs("Usage: fstore export --store DIR --table NAME --format "
          "jsonl|csv|avro --out FILE\n"
          "                     [--codec deflate|null] [--key-type "
          "string|bytes]\n\n"
          "Writes every row of table NAME, read from one consistent "
          "snapshot in key order,\n"
          "with its key, record timestamp, partition and offset. Each row's "
          "checksum is\n"
          "verified; a damaged row stops the export with status 1.\n"
          "  jsonl  one object per line: {\"key\":K,\"timestamp\":MS,"
          "\"partition\":P,\n"
          "         \"offset\":O,\"value\":{COLUMN:VALUE,...}} (values as "
          "fstore get prints them)\n"
          "  csv    a header row (key,timestamp,partition,offset, then the "
          "columns), then\n"
          "         one row per line; RFC 4180 quoting; null = empty field, "
          "empty string = \"\";\n"
          "         bytes and fixed in base64; arrays as a JSON array; NaN, "
          "inf, -inf\n"
          "  avro   an Avro object container file: the serving schema's "
          "fields plus __key,\n"
          "         __timestamp (timestamp-millis), __partition and "
          "__offset\n\n"
          "Options:\n"
          "  --store DIR        the store directory, opened read-only (a "
          "tailer may be\n"
          "                     writing it meanwhile)\n"
          "  --table NAME       the table to export\n"
          "  --format F         jsonl, csv or avro\n"
          "  --out FILE         the output file, written as FILE.tmp and "
          "renamed when\n"
          "                     complete; \"-\" = stdout (jsonl and csv)\n"
          "  --codec C          avro block compression: deflate (default) or "
          "null\n"
          "  --key-type T       avro type of __key: string (default; keys "
          "must be UTF-8)\n"
          "                     or bytes\n"
          "  -h, --help         print this help\n"
          "On a terminal, progress (rows written of the total) shows on "
          "stderr.\n\n"
          "Exit status: 0 ok, 1 runtime error (no store, no such table, "
          "damaged row,\n"
          "cannot write FILE), 2 usage error.\n",
          out);
}

enum { FMT_JSONL, FMT_CSV, FMT_AVRO };

typedef struct export_args {
    const char *dir, *table, *out, *codec;
    int format, key_bytes;
} export_args;

typedef struct export_ctx {
    const export_args *a;
    const fstore_table_t *t;
    FILE *fp;         /* jsonl and csv */
    export_avro *avr; /* avro */
    jbuf line;
    uint64_t total, written;
    int progress; /* stderr is a terminal */
    struct timespec last;
} export_ctx;

static int parse_args(int argc, char **argv, export_args *a)
{
    static const struct option opts[] = {
        {"store", required_argument, NULL, 's'},
        {"table", required_argument, NULL, 't'},
        {"format", required_argument, NULL, 'f'},
        {"out", required_argument, NULL, 'o'},
        {"codec", required_argument, NULL, 'c'},
        {"key-type", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *format = NULL, *key_type = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 's': a->dir = optarg; break;
        case 't': a->table = optarg; break;
        case 'f': format = optarg; break;
        case 'o': a->out = optarg; break;
        case 'c': a->codec = optarg; break;
        case 'k': key_type = optarg; break;
        case 'h': cmd_export_usage(stdout); return -1;
        default: return tool_bad_option(CMD, c, optopt, argv);
        }
    }
    if (optind < argc)
        return tool_usage(CMD, "unexpected argument '%s'", argv[optind]);
    if (!a->dir)
        return tool_usage(CMD, "missing --store DIR");
    if (!a->table)
        return tool_usage(CMD, "missing --table NAME");
    if (!format)
        return tool_usage(CMD, "missing --format jsonl|csv|avro");
    if (!a->out)
        return tool_usage(CMD, "missing --out FILE (\"-\" for stdout)");
    if (!strcmp(format, "jsonl"))
        a->format = FMT_JSONL;
    else if (!strcmp(format, "csv"))
        a->format = FMT_CSV;
    else if (!strcmp(format, "avro"))
        a->format = FMT_AVRO;
    else
        return tool_usage(CMD, "--format is jsonl, csv or avro, not '%s'",
                          format);
    if (!a->out[0])
        return tool_usage(CMD, "--out must not be empty");
    if (a->format == FMT_AVRO && !strcmp(a->out, "-"))
        return tool_usage(CMD, "--format avro writes a file: give --out FILE");
    if ((a->codec || key_type) && a->format != FMT_AVRO)
        return tool_usage(CMD, "--codec and --key-type need --format avro");
    if (!a->codec)
        a->codec = "deflate";
    if (strcmp(a->codec, "deflate") && strcmp(a->codec, "null"))
        return tool_usage(CMD, "--codec is deflate or null, not '%s'",
                          a->codec);
    if (key_type && strcmp(key_type, "string") && strcmp(key_type, "bytes"))
        return tool_usage(CMD, "--key-type is string or bytes, not '%s'",
                          key_type);
    a->key_bytes = key_type && !strcmp(key_type, "bytes");
    return TOOL_OK;
}

/* Appends one CSV field: quoted when it holds a comma, quote, CR or LF
 * (RFC 4180), or when it is an empty string (so that it differs from a
 * null). Invalid UTF-8 bytes become U+FFFD. */
static void csv_text(jbuf *b, const char *s, size_t n)
{
    int quote = n == 0;
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (!quote) {
        jbuf_utf8(b, s, n);
        return;
    }
    jbuf_add(b, "\"", 1);
    for (const char *q; (q = memchr(s, '"', n)) != NULL;) {
        jbuf_utf8(b, s, (size_t)(q - s) + 1);
        jbuf_add(b, "\"", 1); /* "" */
        n -= (size_t)(q - s) + 1;
        s = q + 1;
    }
    jbuf_utf8(b, s, n);
    jbuf_add(b, "\"", 1);
}

static void csv_real(jbuf *b, double v, int is_float)
{
    if (isnan(v))
        jbuf_puts(b, "NaN");
    else if (isinf(v))
        jbuf_puts(b, v > 0 ? "inf" : "-inf");
    else if (is_float)
        jbuf_float(b, (float)v);
    else
        jbuf_double(b, v);
}

/* Appends the CSV field of column @p col (non-null). */
static fstore_err_t csv_value(jbuf *b, const fstore_table_t *t,
                              const fstore_row_t *row, int col)
{
    int type = fstore_table_column_type(t, col);
    fstore_err_t err;
    const char *data;
    size_t len;
    switch (type) {
    case FSTORE_TYPE_FLOAT: {
        float f;
        if (!(err = fstore_row_float(t, row, col, &f)))
            csv_real(b, f, 1);
        return err;
    }
    case FSTORE_TYPE_DOUBLE: {
        double d;
        if (!(err = fstore_row_double(t, row, col, &d)))
            csv_real(b, d, 0);
        return err;
    }
    case FSTORE_TYPE_STRING:
    case FSTORE_TYPE_ENUM:
        if (!(err = fstore_row_bytes(t, row, col, &data, &len)))
            csv_text(b, data, len);
        return err;
    case FSTORE_TYPE_BYTES:
    case FSTORE_TYPE_FIXED:
        if (!(err = fstore_row_bytes(t, row, col, &data, &len))) {
            if (len == 0)
                jbuf_add(b, "\"\"", 2); /* empty, not null */
            jbuf_base64_raw(b, data, len);
        }
        return err;
    case FSTORE_TYPE_ARRAY_FLOAT:
    case FSTORE_TYPE_ARRAY_DOUBLE:
    case FSTORE_TYPE_ARRAY_INT:
    case FSTORE_TYPE_ARRAY_LONG: {
        /* A JSON array, which always holds commas: quoted, and it holds
         * no quotes. */
        jbuf_add(b, "\"", 1);
        err = jbuf_value(b, t, row, col);
        jbuf_add(b, "\"", 1);
        return err;
    }
    default: /* booleans and integers print as in JSON */
        return jbuf_value(b, t, row, col);
    }
}

static void csv_header(jbuf *b, const fstore_table_t *t)
{
    jbuf_puts(b, "key,timestamp,partition,offset");
    for (int c = 0; c < fstore_table_column_count(t); c++) {
        const char *name = fstore_table_column_name(t, c);
        jbuf_add(b, ",", 1);
        csv_text(b, name, strlen(name));
    }
    jbuf_add(b, "\n", 1);
}

static void meta_csv(jbuf *b, const fstore_row_t *row)
{
    jbuf_add(b, ",", 1);
    jbuf_long(b, fstore_row_timestamp(row));
    jbuf_add(b, ",", 1);
    jbuf_long(b, fstore_row_partition(row));
    jbuf_add(b, ",", 1);
    jbuf_long(b, fstore_row_offset(row));
}

static fstore_err_t csv_row(jbuf *b, const fstore_table_t *t, const char *key,
                            size_t key_len, const fstore_row_t *row)
{
    csv_text(b, key, key_len);
    meta_csv(b, row);
    for (int c = 0; c < fstore_table_column_count(t); c++) {
        jbuf_add(b, ",", 1);
        if (fstore_row_is_null(t, row, c) == 1)
            continue;
        fstore_err_t err = csv_value(b, t, row, c);
        if (err)
            return err;
    }
    jbuf_add(b, "\n", 1);
    return FSTORE_OK;
}

static fstore_err_t jsonl_row(jbuf *b, const fstore_table_t *t, const char *key,
                              size_t key_len, const fstore_row_t *row)
{
    jbuf_puts(b, "{\"key\":");
    jbuf_string(b, key, key_len);
    jbuf_row_origin(b, row);
    jbuf_puts(b, ",\"value\":");
    fstore_err_t err = jbuf_row(b, t, row);
    jbuf_puts(b, "}\n");
    return err;
}

/* A key for messages: as a JSON string, so any bytes print safely. */
static const char *key_text(jbuf *b, const char *key, size_t len)
{
    jbuf_clear(b);
    jbuf_string(b, key, len);
    return b->oom ? "(a key)" : b->data;
}

static long elapsed_ms(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)(now.tv_sec - since->tv_sec) * 1000 +
           (now.tv_nsec - since->tv_nsec) / 1000000;
}

static void progress(export_ctx *x, int final)
{
    if (!x->progress)
        return;
    if (!final && elapsed_ms(&x->last) < PROGRESS_MS)
        return;
    clock_gettime(CLOCK_MONOTONIC, &x->last);
    if (final)
        fprintf(stderr, "\r\033[Kfstore %s: wrote %llu rows to %s\n", CMD,
                (unsigned long long)x->written, x->a->out);
    else
        fprintf(stderr, "\r\033[Kfstore %s: %llu / %llu rows (%d%%)", CMD,
                (unsigned long long)x->written, (unsigned long long)x->total,
                x->total ? (int)(x->written * 100 / x->total) : 100);
}

/* Writes one row in the chosen format. @return TOOL_OK or TOOL_FAIL. */
static int export_row(export_ctx *x, const char *key, size_t key_len,
                      const fstore_row_t *row)
{
    fstore_err_t err = fstore_row_verify(row);
    if (err)
        return tool_fail(CMD, err, "",
                         "the row of key %s (partition %d, offset %lld) "
                         "fails its checksum: the store is damaged; rebuild "
                         "it (fstore restore, or tail into a new store)",
                         key_text(&x->line, key, key_len),
                         (int)fstore_row_partition(row),
                         (long long)fstore_row_offset(row));
    if (x->a->format == FMT_AVRO) {
        char msg[512];
        if (export_avro_row(x->avr, key, key_len, row, msg, sizeof msg)) {
            tool_msg(CMD, "key %s: %s", key_text(&x->line, key, key_len), msg);
            return TOOL_FAIL;
        }
        return TOOL_OK;
    }
    jbuf *b = &x->line;
    jbuf_clear(b);
    err = x->a->format == FMT_CSV ? csv_row(b, x->t, key, key_len, row)
                                  : jsonl_row(b, x->t, key, key_len, row);
    if (err)
        return tool_fail(CMD, err, "",
                         "cannot read the row of key %s (check the store "
                         "with fstore stats; rebuild it if damaged)",
                         key_text(b, key, key_len));
    if (b->oom)
        return tool_fail(CMD, FSTORE_ERR_NO_MEMORY, "", "cannot format a row");
    if (fwrite(b->data, 1, b->len, x->fp) != b->len) {
        tool_msg(CMD, "cannot write %s: %s", x->a->out, strerror(errno));
        return TOOL_FAIL;
    }
    return TOOL_OK;
}

/* Exports every row of the reader's snapshot. */
static int export_rows(export_ctx *x, fstore_reader_t *r)
{
    fstore_cursor_t *cur = NULL;
    fstore_err_t err = fstore_cursor_open(r, x->t, &cur);
    if (err)
        return tool_fail(CMD, err, fstore_reader_errmsg(r),
                         "cannot scan table %s", x->a->table);
    int rc = TOOL_OK;
    const void *key;
    size_t key_len;
    const fstore_row_t *row;
    while (rc == TOOL_OK &&
           (err = fstore_cursor_next(cur, &key, &key_len, &row)) == FSTORE_OK) {
        rc = export_row(x, key, key_len, row);
        x->written++;
        if ((x->written & 1023) == 0)
            progress(x, 0);
    }
    if (rc == TOOL_OK && err != FSTORE_NOT_FOUND)
        rc = tool_fail(CMD, err, fstore_reader_errmsg(r),
                       "cannot scan table %s after %llu rows%s", x->a->table,
                       (unsigned long long)x->written,
                       err == FSTORE_ERR_CORRUPT
                           ? " (the store is damaged; rebuild it)"
                           : "");
    fstore_cursor_close(cur);
    return rc;
}

/* Flushes @p path to disk, so the rename never exposes a partial file. */
static int sync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* Opens the output; for a file, FILE.tmp (in @p tmp). */
static int export_open(export_ctx *x, const char *tmp)
{
    const export_args *a = x->a;
    char msg[1024] = "";
    if (a->format == FMT_AVRO) {
        x->avr = export_avro_create(x->t, tmp, a->codec, a->key_bytes, msg,
                                    sizeof msg);
        if (!x->avr) {
            tool_msg(CMD, "%s", msg);
            return TOOL_FAIL;
        }
        return TOOL_OK;
    }
    x->fp = tmp ? fopen(tmp, "w") : stdout;
    if (!x->fp) {
        tool_msg(CMD, "cannot create %s: %s", tmp, strerror(errno));
        return TOOL_FAIL;
    }
    if (a->format == FMT_CSV) {
        jbuf_clear(&x->line);
        csv_header(&x->line, x->t);
        if (fwrite(x->line.data, 1, x->line.len, x->fp) != x->line.len) {
            tool_msg(CMD, "cannot write %s: %s", a->out, strerror(errno));
            return TOOL_FAIL;
        }
    }
    return TOOL_OK;
}

/* Closes the output; on success renames FILE.tmp to FILE, else removes it. */
static int export_finish(export_ctx *x, const char *tmp, int rc)
{
    char msg[512] = "";
    if (x->avr && export_avro_close(x->avr, msg, sizeof msg) && rc == TOOL_OK) {
        tool_msg(CMD, "%s", msg);
        rc = TOOL_FAIL;
    }
    if (x->fp && x->fp != stdout) {
        int bad = fflush(x->fp) != 0 || ferror(x->fp);
        if (fclose(x->fp) != 0)
            bad = 1;
        if (bad && rc == TOOL_OK) {
            tool_msg(CMD, "cannot write %s: %s", x->a->out, strerror(errno));
            rc = TOOL_FAIL;
        }
    }
    if (!tmp)
        return rc;
    if (rc == TOOL_OK && (sync_path(tmp) || rename(tmp, x->a->out))) {
        tool_msg(CMD, "cannot write %s: %s", x->a->out, strerror(errno));
        rc = TOOL_FAIL;
    }
    if (rc != TOOL_OK)
        unlink(tmp);
    return rc;
}

int cmd_export(int argc, char **argv)
{
    export_args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc < 0 ? TOOL_OK : rc;
    fstore_store_t *store = tool_open_read_only(CMD, a.dir);
    if (!store)
        return TOOL_FAIL;
    export_ctx x = {0};
    x.a = &a;
    x.progress = isatty(STDERR_FILENO);
    clock_gettime(CLOCK_MONOTONIC, &x.last);
    fstore_reader_t *r = NULL;
    char *tmp = NULL;
    fstore_err_t err;
    if (!(x.t = tool_open_table(CMD, store, a.dir, a.table)))
        rc = TOOL_FAIL;
    else if ((err = fstore_reader_new(store, &r)))
        rc = tool_fail(CMD, err, "", "cannot create a reader");
    /* The count takes the reader's snapshot; the cursor reads the same. */
    else if ((err = fstore_reader_row_count(r, x.t, &x.total)))
        rc = tool_fail(CMD, err, fstore_reader_errmsg(r),
                       "cannot count the rows of table %s", a.table);
    else if (strcmp(a.out, "-") != 0) {
        size_t n = strlen(a.out) + 5;
        if (!(tmp = malloc(n)))
            rc = tool_fail(CMD, FSTORE_ERR_NO_MEMORY, "", "export");
        else
            snprintf(tmp, n, "%s.tmp", a.out);
    }
    if (rc == TOOL_OK && (rc = export_open(&x, tmp)) == TOOL_OK)
        rc = export_rows(&x, r);
    if (tmp || x.fp)
        rc = export_finish(&x, tmp, rc);
    if (rc == TOOL_OK)
        progress(&x, 1);
    else if (x.progress)
        fputs("\r\033[K", stderr);
    free(tmp);
    jbuf_free(&x.line);
    fstore_reader_destroy(r);
    fstore_store_close(store);
    return rc;
}
