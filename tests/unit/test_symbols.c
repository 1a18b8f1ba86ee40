/*
 * Every exported function is referenced here, so removing or renaming one
 * breaks this build, and each is looked up by name in the shared library,
 * so one missing its FSTORE_API visibility fails at run time.
 *
 * Source of truth: libfstore/include/fstore/fstore.h. Every function
 * declared FSTORE_API there must appear in `symbols` below, in header
 * order; keep the two in step by hand when the header changes.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "testutil.h"

typedef void (*fn_t)(void);

#define SYM(f)                                                                 \
    {                                                                          \
#f, (fn_t)(f)                                                          \
    }
static const struct {
    const char *name;
    fn_t addr;
} symbols[] = {
    SYM(fstore_version_number),
    SYM(fstore_version_str),
    SYM(fstore_strerror),
    SYM(fstore_err_name),
    SYM(fstore_conf_new),
    SYM(fstore_conf_dup),
    SYM(fstore_conf_destroy),
    SYM(fstore_conf_set),
    SYM(fstore_conf_get),
    SYM(fstore_conf_set_log_cb),
    SYM(fstore_store_open),
    SYM(fstore_store_close),
    SYM(fstore_store_read_only),
    SYM(fstore_table_create),
    SYM(fstore_table_open),
    SYM(fstore_table_count),
    SYM(fstore_table_at),
    SYM(fstore_table_name),
    SYM(fstore_table_schema),
    SYM(fstore_table_format),
    SYM(fstore_table_column_count),
    SYM(fstore_table_column_index),
    SYM(fstore_table_column_name),
    SYM(fstore_table_column_type),
    SYM(fstore_table_column_logical),
    SYM(fstore_table_column_nullable),
    SYM(fstore_table_column_size),
    SYM(fstore_table_enum_symbol),
    SYM(fstore_schema_register),
    SYM(fstore_reader_new),
    SYM(fstore_reader_destroy),
    SYM(fstore_reader_refresh),
    SYM(fstore_reader_reset),
    SYM(fstore_reader_errmsg),
    SYM(fstore_get),
    SYM(fstore_reader_offset),
    SYM(fstore_reader_offsets),
    SYM(fstore_reader_row_count),
    SYM(fstore_row_timestamp),
    SYM(fstore_row_partition),
    SYM(fstore_row_offset),
    SYM(fstore_row_schema_id),
    SYM(fstore_row_verify),
    SYM(fstore_row_is_null),
    SYM(fstore_row_bool),
    SYM(fstore_row_int),
    SYM(fstore_row_long),
    SYM(fstore_row_float),
    SYM(fstore_row_double),
    SYM(fstore_row_bytes),
    SYM(fstore_row_array),
    SYM(fstore_row_array_float),
    SYM(fstore_get_batch),
    SYM(fstore_cursor_open),
    SYM(fstore_cursor_next),
    SYM(fstore_cursor_close),
    SYM(fstore_batch_begin),
    SYM(fstore_batch_put),
    SYM(fstore_batch_advance),
    SYM(fstore_batch_size),
    SYM(fstore_batch_commit),
    SYM(fstore_batch_abort),
    SYM(fstore_tail_add),
    SYM(fstore_tail_start),
    SYM(fstore_tail_wait_ready),
    SYM(fstore_tail_stop),
    SYM(fstore_tail_error),
    SYM(fstore_stats_json),
    SYM(fstore_snapshot),
    SYM(fstore_snapshot_fd),
    SYM(fstore_restore),
    SYM(fstore_restore_fd),
    SYM(fstore_verify),
    SYM(fstore_free),
    SYM(fstore_partition_for_key),
    SYM(fstore_get_batch_arrow),
    SYM(fstore_row_checksum),
    SYM(fstore_aggregator_new),
    SYM(fstore_aggregator_run),
    SYM(fstore_aggregator_stop),
    SYM(fstore_aggregator_stats_json),
    SYM(fstore_aggregator_destroy),
};
#undef SYM
#define NSYMBOLS (sizeof symbols / sizeof symbols[0])

Test(symbols, every_api_function_is_referenced)
{
    for (size_t i = 0; i < NSYMBOLS; i++) {
        cr_assert_not_null(symbols[i].addr, "%s", symbols[i].name);
        cr_assert_eq(strncmp(symbols[i].name, "fstore_", 7), 0);
        for (size_t j = i + 1; j < NSYMBOLS; j++)
            cr_assert_neq(symbols[i].addr, symbols[j].addr, "%s and %s",
                          symbols[i].name, symbols[j].name);
    }
}

/* The list above must name every function the header exports: count the
 * FSTORE_API declarations in the header itself, so the list cannot drift. */
Test(symbols, list_matches_the_header)
{
    FILE *f = fopen(FSTORE_SOURCE_DIR "/libfstore/include/fstore/fstore.h", "r");
    cr_assert_not_null(f, "cannot read the public header");
    char line[512];
    size_t n = 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "FSTORE_API ", 11) == 0)
            n++;
    fclose(f);
    cr_assert_eq(n, NSYMBOLS, "the header exports %zu functions, the list has %zu",
                 n, (size_t)NSYMBOLS);
}

/* The shared library sits at <build>/libfstore/libfstore.so; this test at
 * <build>/tests/test_symbols. @return a malloc'd path, or NULL. */
static char *shared_lib_path(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    char *d = dirname(exe); /* <build>/tests */
    char *p = NULL;
    if (asprintf(&p, "%s/../libfstore/libfstore.so", d) < 0)
        return NULL;
    if (access(p, R_OK) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

Test(symbols, every_api_function_is_exported)
{
    char *path = shared_lib_path();
    if (path == NULL)
        cr_skip_test("libfstore.so not found beside the test build");
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    cr_assert_not_null(h, "dlopen %s: %s", path, dlerror());
    for (size_t i = 0; i < NSYMBOLS; i++)
        cr_assert_not_null(dlsym(h, symbols[i].name),
                           "%s is not exported by libfstore.so",
                           symbols[i].name);
    /* The exported function is the library's own, and works. */
    void *sym = dlsym(h, "fstore_version_str");
    const char *(*version_str)(void);
    memcpy(&version_str, &sym, sizeof version_str);
    cr_assert_str_eq(version_str(), fstore_version_str());
    dlclose(h);
    free(path);
}
