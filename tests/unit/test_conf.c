/* Unit suite of the conf module: defaults, validation, copies, buffers,
 * and the property table the documentation is generated from. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include <librdkafka/rdkafka.h>

#include "conf.h"
#include "testutil.h"

/* Returns the value of @p name or asserts; the string lives in a static. */
static const char *get(const fstore_conf_t *conf, const char *name)
{
    static char buf[4096];
    size_t size = sizeof buf;
    fstore_err_t rc = fstore_conf_get(conf, name, buf, &size);
    cr_assert_eq(rc, FSTORE_OK, "conf_get %s: %s", name, fstore_err_name(rc));
    cr_assert_eq(size, strlen(buf) + 1, "size of %s", name);
    return buf;
}

static fstore_err_t set(fstore_conf_t *conf, const char *name,
                        const char *value, char *err, size_t errsz)
{
    if (err != NULL)
        err[0] = '\0';
    return fstore_conf_set(conf, name, value, err, errsz);
}

Test(conf, defaults)
{
    fstore_conf_t *c = fstore_conf_new();
    cr_assert_not_null(c);

    const char *ro = get(c, "store.read_only");
    cr_assert(strcmp(ro, "false") == 0 || strcmp(ro, "0") == 0,
              "store.read_only default \"%s\"", ro);
    cr_assert_eq(strtol(get(c, "store.file_mode"), NULL, 8), 0600);
    cr_assert_eq(strtoull(get(c, "store.map_size"), NULL, 10), 17179869184ULL);
    cr_assert_eq(strtoull(get(c, "store.map_size.max"), NULL, 10),
                 1099511627776ULL);
    cr_assert_eq(strtol(get(c, "store.max_tables"), NULL, 10), 64);
    cr_assert_eq(strtol(get(c, "store.max_readers"), NULL, 10), 512);
    cr_assert_str_eq(get(c, "store.sync"), "none");
    cr_assert_eq(strtol(get(c, "registry.timeout_ms"), NULL, 10), 5000);
    cr_assert_eq(strtol(get(c, "tail.batch.max_records"), NULL, 10), 10000);
    cr_assert_eq(strtol(get(c, "tail.batch.max_ms"), NULL, 10), 2);
    cr_assert_str_eq(get(c, "tail.offset_reset"), "fail");
    cr_assert_eq(strtol(get(c, "tail.stats_interval_ms"), NULL, 10), 1000);
    cr_assert_eq(strtol(get(c, "log.level"), NULL, 10), 4);

    char buf[64];
    size_t size = sizeof buf;
    cr_assert_eq(fstore_conf_get(c, "schemas.dir", buf, &size),
                 FSTORE_NOT_FOUND, "schemas.dir is unset by default");
    size = sizeof buf;
    cr_assert_eq(fstore_conf_get(c, "registry.url", buf, &size),
                 FSTORE_NOT_FOUND, "registry.url is unset by default");
    size = sizeof buf;
    cr_assert_eq(fstore_conf_get(c, "tail.dead_letter_topic", buf, &size),
                 FSTORE_NOT_FOUND, "tail.dead_letter_topic is unset");
    size = sizeof buf;
    cr_assert_eq(fstore_conf_get(c, "kafka.bootstrap.servers", buf, &size),
                 FSTORE_NOT_FOUND);
    fstore_conf_destroy(c);
}

Test(conf, set_get_round_trip)
{
    static const char *const pairs[][2] = {
        {"store.read_only", "true"},
        {"store.file_mode", "0640"},
        {"store.map_size", "2097152"},
        {"store.map_size.max", "4294967296"},
        {"store.max_tables", "8"},
        {"store.max_readers", "126"},
        {"store.sync", "full"},
        {"store.sync", "none"},
        {"store.sync", "meta"},
        {"schemas.dir", "/tmp/some where/schemas"},
        {"store.read_only", "false"},
        {"registry.url", "http://localhost:8081"},
        {"registry.timeout_ms", "250"},
        {"tail.batch.max_records", "500"},
        {"tail.batch.max_ms", "0"},
        {"tail.offset_reset", "rebuild"},
        {"tail.offset_reset", "fail"},
        {"tail.dead_letter_topic", "features.dlq"},
        {"tail.stats_interval_ms", "100"},
        {"log.level", "7"},
        {"log.level", "0"},
    };
    fstore_conf_t *c = fstore_conf_new();
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        char err[256];
        fstore_err_t rc = set(c, pairs[i][0], pairs[i][1], err, sizeof err);
        cr_assert_eq(rc, FSTORE_OK, "%s=%s: %s (%s)", pairs[i][0], pairs[i][1],
                     fstore_err_name(rc), err);
        cr_assert_str_eq(get(c, pairs[i][0]), pairs[i][1]);
    }
    fstore_conf_destroy(c);
}

Test(conf, unknown_property_named_in_message)
{
    static const char *const names[] = {"store.no_such_thing", "bogus", "store",
                                        "schemas.directory", "Store.map_size"};
    fstore_conf_t *c = fstore_conf_new();
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char err[256];
        fstore_err_t rc = set(c, names[i], "1", err, sizeof err);
        cr_assert_eq(rc, FSTORE_ERR_CONF, "%s accepted (%s)", names[i],
                     fstore_err_name(rc));
        cr_assert(strstr(err, names[i]) != NULL,
                  "message \"%s\" does not name %s", err, names[i]);
    }
    fstore_conf_destroy(c);
}

Test(conf, bad_values_refused_and_value_kept)
{
    static const char *const bad[][2] = {
        {"store.file_mode", "0abc"},
        {"store.file_mode", "999"},
        {"store.file_mode", "0689"},
        {"store.file_mode", "rw-------"},
        {"store.file_mode", ""},
        {"store.file_mode", "-1"},
        {"store.file_mode", "010000"},
        {"store.map_size", "-1"},
        {"store.map_size", "abc"},
        {"store.map_size", "12abc"},
        {"store.map_size", ""},
        {"store.map_size", "99999999999999999999999999"},
        {"store.map_size.max", "-4096"},
        {"store.map_size.max", "lots"},
        {"store.max_tables", "-5"},
        {"store.max_tables", "x"},
        {"store.max_readers", "-1"},
        {"store.max_readers", "many"},
        {"store.sync", "sometimes"},
        {"store.sync", ""},
        {"store.read_only", "maybe"},
        {"registry.timeout_ms", "-1"},
        {"registry.timeout_ms", "soon"},
        {"tail.batch.max_records", "-1"},
        {"tail.batch.max_records", "lots"},
        {"tail.batch.max_ms", "-5"},
        {"tail.offset_reset", "earliest"},
        {"tail.stats_interval_ms", "x"},
        {"log.level", "loud"},
        {"log.level", "-1"},
    };
    fstore_conf_t *c = fstore_conf_new();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char before[4096];
        strcpy(before, get(c, bad[i][0]));
        char err[256];
        fstore_err_t rc = set(c, bad[i][0], bad[i][1], err, sizeof err);
        cr_assert_eq(rc, FSTORE_ERR_CONF, "%s=\"%s\" accepted (%s)", bad[i][0],
                     bad[i][1], fstore_err_name(rc));
        cr_assert_gt(strlen(err), 0, "%s=\"%s\": empty message", bad[i][0],
                     bad[i][1]);
        cr_assert_str_eq(get(c, bad[i][0]), before,
                         "%s changed by a refused set", bad[i][0]);
    }
    fstore_conf_destroy(c);
}

Test(conf, invalid_args)
{
    fstore_conf_t *c = fstore_conf_new();
    char err[128];
    cr_assert_eq(set(NULL, "store.sync", "full", err, sizeof err),
                 FSTORE_ERR_INVALID_ARG);
    cr_assert_eq(set(c, NULL, "full", err, sizeof err), FSTORE_ERR_INVALID_ARG);
    char buf[16];
    size_t size = sizeof buf;
    cr_assert_eq(fstore_conf_get(NULL, "store.sync", buf, &size),
                 FSTORE_ERR_INVALID_ARG);
    cr_assert_eq(fstore_conf_get(c, NULL, buf, &size), FSTORE_ERR_INVALID_ARG);
    cr_assert_eq(fstore_conf_get(c, "store.sync", buf, NULL),
                 FSTORE_ERR_INVALID_ARG);
    /* errstr may be NULL. */
    cr_assert_eq(set(c, "no.such", "1", NULL, 0), FSTORE_ERR_CONF);
    cr_assert_eq(set(c, "store.sync", "full", NULL, 0), FSTORE_OK);
    fstore_conf_destroy(c);
    fstore_conf_destroy(NULL);
}

Test(conf, small_errstr_truncated_and_terminated)
{
    fstore_conf_t *c = fstore_conf_new();
    char err[8];
    memset(err, 'X', sizeof err);
    cr_assert_eq(set(c, "store.unknown_long_property_name", "1", err, 5),
                 FSTORE_ERR_CONF);
    cr_assert_leq(strlen(err), 4, "message overran errstr_size");
    cr_assert_eq(err[5], 'X', "wrote past errstr_size");
    fstore_conf_destroy(c);
}

Test(conf, kafka_passthrough_accepted)
{
    static const char *const pairs[][2] = {
        {"kafka.bootstrap.servers", "localhost:9092"},
        {"kafka.security.protocol", "SASL_SSL"},
        {"kafka.sasl.mechanisms", "PLAIN"},
        {"kafka.fetch.max.bytes", "52428800"},
        {"kafka.client.id", "fstore unit test"},
    };
    fstore_conf_t *c = fstore_conf_new();
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        char err[256];
        fstore_err_t rc = set(c, pairs[i][0], pairs[i][1], err, sizeof err);
        cr_assert_eq(rc, FSTORE_OK, "%s: %s (%s)", pairs[i][0],
                     fstore_err_name(rc), err);
        cr_assert_str_eq(get(c, pairs[i][0]), pairs[i][1]);
    }
    /* Setting again replaces. */
    cr_assert_eq(set(c, "kafka.client.id", "other", NULL, 0), FSTORE_OK);
    cr_assert_str_eq(get(c, "kafka.client.id"), "other");
    fstore_conf_destroy(c);
}

Test(conf, dup_is_independent)
{
    fstore_conf_t *a = tu_conf("store.map_size", "2097152", "kafka.client.id",
                               "a", "schemas.dir", "/tmp/a", NULL);
    fstore_conf_t *b = fstore_conf_dup(a);
    cr_assert_not_null(b);
    cr_assert_str_eq(get(b, "store.map_size"), "2097152");
    cr_assert_str_eq(get(b, "kafka.client.id"), "a");
    cr_assert_str_eq(get(b, "schemas.dir"), "/tmp/a");

    cr_assert_eq(set(a, "store.map_size", "4194304", NULL, 0), FSTORE_OK);
    cr_assert_eq(set(a, "kafka.client.id", "a2", NULL, 0), FSTORE_OK);
    cr_assert_str_eq(get(b, "store.map_size"), "2097152");
    cr_assert_str_eq(get(b, "kafka.client.id"), "a");

    cr_assert_eq(set(b, "store.sync", "full", NULL, 0), FSTORE_OK);
    cr_assert_eq(set(b, "kafka.acks", "all", NULL, 0), FSTORE_OK);
    cr_assert_str_eq(get(a, "store.sync"), "none");
    char buf[32];
    size_t size = sizeof buf;
    cr_assert_eq(fstore_conf_get(a, "kafka.acks", buf, &size),
                 FSTORE_NOT_FOUND);

    /* The copy outlives its source. */
    fstore_conf_destroy(a);
    cr_assert_str_eq(get(b, "schemas.dir"), "/tmp/a");
    cr_assert_str_eq(get(b, "kafka.acks"), "all");
    fstore_conf_destroy(b);
}

Test(conf, get_small_buffer)
{
    fstore_conf_t *c = tu_conf("store.map_size", "2097152", NULL);
    char buf[16];
    memset(buf, 'X', sizeof buf);
    size_t size = 4;
    cr_assert_eq(fstore_conf_get(c, "store.map_size", buf, &size),
                 FSTORE_ERR_RANGE);
    cr_assert_eq(size, strlen("2097152") + 1, "needed size %zu", size);
    cr_assert_eq(buf[4], 'X', "wrote past the buffer");

    size = strlen("2097152"); /* one short: no room for the NUL */
    cr_assert_eq(fstore_conf_get(c, "store.map_size", buf, &size),
                 FSTORE_ERR_RANGE);
    cr_assert_eq(size, 8);

    size = 8; /* exactly enough */
    cr_assert_eq(fstore_conf_get(c, "store.map_size", buf, &size), FSTORE_OK);
    cr_assert_str_eq(buf, "2097152");
    cr_assert_eq(size, 8);
    fstore_conf_destroy(c);
}

Test(conf, store_copies_conf)
{
    /* The conf may be destroyed right after open; the store keeps its copy. */
    char *dir = tu_tmpdir();
    fstore_conf_t *c = tu_conf("store.map_size", "1048576", NULL);
    fstore_store_t *s = NULL;
    char err[256] = "";
    cr_assert_eq(fstore_store_open(dir, c, &s, err, sizeof err), FSTORE_OK,
                 "%s", err);
    fstore_conf_destroy(c);
    const fstore_table_t *t = tu_simple_table(s, "t");
    tu_buf_t v = tu_simple_value(7, 3);
    tu_put1(s, t, "k", &v, 0, 1);
    tu_buf_free(&v);
    fstore_reader_t *rd = NULL;
    cr_assert_eq(fstore_reader_new(s, &rd), FSTORE_OK);
    const fstore_row_t *row = NULL;
    cr_assert_eq(tu_get(rd, t, "k", &row), FSTORE_OK);
    tu_simple_assert(t, row, 7, 3);
    fstore_reader_destroy(rd);
    fstore_store_close(s);
    tu_rmtree(dir);
    free(dir);
}

static void log_cb(void *opaque, int level, const char *msg)
{
    (void)opaque;
    (void)level;
    (void)msg;
}

Test(conf, log_cb)
{
    fstore_conf_t *c = fstore_conf_new();
    int token = 0;
    cr_assert_eq(fstore_conf_set_log_cb(NULL, log_cb, &token),
                 FSTORE_ERR_INVALID_ARG);
    cr_assert_eq(fstore_conf_set_log_cb(c, log_cb, &token), FSTORE_OK);
    fstore_conf_t *d = fstore_conf_dup(c);
    cr_assert_not_null(d);
    cr_assert_eq(fstore_conf_set_log_cb(c, NULL, NULL), FSTORE_OK);
    fstore_conf_destroy(c);
    fstore_conf_destroy(d);
}

/* The property table documents what validation does: docs/configuration.md
 * is generated from it, so a default it states must be accepted, and the
 * bounds it states must be exactly those enforced. */

static void assert_set(const char *name, const char *value, fstore_err_t want)
{
    fstore_conf_t *c = fstore_conf_new();
    char err[256];
    fstore_err_t rc = set(c, name, value, err, sizeof err);
    cr_assert_eq(rc, want, "%s=\"%s\": %s (%s)", name, value,
                 fstore_err_name(rc), err);
    fstore_conf_destroy(c);
}

static void assert_u64_set(const char *name, uint64_t v, fstore_err_t want)
{
    char value[32];
    snprintf(value, sizeof value, "%llu", (unsigned long long)v);
    assert_set(name, value, want);
}

Test(conf, table_entries_are_documented)
{
    size_t n, ngroups;
    const fs_pdef *p = fs_conf_props(&n);
    const fs_pgroup *g = fs_conf_groups(&ngroups);
    cr_assert_gt(n, 0);
    for (size_t i = 0; i < ngroups; i++)
        cr_assert(g[i].title && *g[i].title, "group %zu has no title", i);
    for (size_t i = 0; i < n; i++) {
        cr_assert(p[i].doc && *p[i].doc, "%s has no description", p[i].name);
        cr_assert_null(strchr(p[i].doc, '\n'), "%s: newline in a table cell",
                       p[i].name);
        cr_assert_lt(p[i].group, ngroups, "%s: no such group", p[i].name);
        for (size_t j = i + 1; j < n; j++)
            cr_assert_str_neq(p[i].name, p[j].name, "listed twice");
        if (p[i].type == FS_P_ENUM)
            cr_assert_not_null(p[i].choices, "%s: no choices", p[i].name);
        if (p[i].type == FS_P_PREFIX)
            cr_assert_eq(p[i].name[strlen(p[i].name) - 1], '*', "%s",
                         p[i].name);
    }
    /* Every group holds a property, so no section comes out empty. */
    for (size_t k = 0; k < ngroups; k++) {
        size_t members = 0;
        for (size_t i = 0; i < n; i++)
            members += p[i].group == k;
        cr_assert_gt(members, 0, "group \"%s\" is empty", g[k].title);
    }
}

Test(conf, table_defaults_are_valid_and_returned)
{
    size_t n;
    const fs_pdef *p = fs_conf_props(&n);
    fstore_conf_t *c = fstore_conf_new();
    for (size_t i = 0; i < n; i++) {
        if (p[i].type == FS_P_PREFIX)
            continue;
        char buf[64];
        size_t size = sizeof buf;
        fstore_err_t rc = fstore_conf_get(c, p[i].name, buf, &size);
        if (!p[i].def) {
            cr_assert_eq(rc, FSTORE_NOT_FOUND, "%s", p[i].name);
            continue;
        }
        cr_assert_eq(rc, FSTORE_OK, "%s", p[i].name);
        cr_assert_str_eq(buf, p[i].def, "%s", p[i].name);
        assert_set(p[i].name, p[i].def, FSTORE_OK);
    }
    fstore_conf_destroy(c);
}

Test(conf, table_bounds_are_the_enforced_ones)
{
    size_t n;
    const fs_pdef *p = fs_conf_props(&n);
    for (size_t i = 0; i < n; i++) {
        if (p[i].type != FS_P_U64)
            continue;
        assert_u64_set(p[i].name, p[i].min, FSTORE_OK);
        assert_u64_set(p[i].name, p[i].max, FSTORE_OK);
        if (p[i].min > 0)
            assert_u64_set(p[i].name, p[i].min - 1, FSTORE_ERR_CONF);
        if (p[i].max < UINT64_MAX)
            assert_u64_set(p[i].name, p[i].max + 1, FSTORE_ERR_CONF);
    }
}

Test(conf, table_choices_are_the_enforced_ones)
{
    size_t n;
    const fs_pdef *p = fs_conf_props(&n);
    for (size_t i = 0; i < n; i++) {
        if (p[i].type != FS_P_ENUM)
            continue;
        char choices[256];
        snprintf(choices, sizeof choices, "%s", p[i].choices);
        for (char *save = NULL, *c = strtok_r(choices, "|", &save); c;
             c = strtok_r(NULL, "|", &save))
            assert_set(p[i].name, c, FSTORE_OK);
        assert_set(p[i].name, "no-such-choice", FSTORE_ERR_CONF);
    }
}

/* fstore's own librdkafka settings are real properties with valid values
 * for the clients they are applied to. */
Test(conf, kafka_defaults_are_valid_librdkafka_settings)
{
    size_t n;
    const fs_kdef *k = fs_conf_kafka_defaults(&n);
    cr_assert_gt(n, 0);
    for (size_t i = 0; i < n; i++) {
        cr_assert(k[i].clients & (FS_K_CONSUMER | FS_K_PRODUCER), "%s", k[i].name);
        cr_assert(k[i].why && *k[i].why && !strchr(k[i].why, '\n'), "%s", k[i].name);
        rd_kafka_conf_t *rc = rd_kafka_conf_new();
        char err[256] = "";
        cr_assert_eq(rd_kafka_conf_set(rc, k[i].name, k[i].value, err, sizeof err),
                     RD_KAFKA_CONF_OK, "%s=%s: %s", k[i].name, k[i].value, err);
        rd_kafka_conf_destroy(rc);
    }
}
