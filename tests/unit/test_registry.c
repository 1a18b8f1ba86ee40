/* Writer schemas from a Schema Registry: fetched over HTTP, cached in the
 * store (a restart needs no registry), unknown ids refused, and an
 * unreachable registry leaves the record unconsumed so it can be retried.
 * The registry here is a minimal HTTP server on 127.0.0.1 in a thread; the
 * parsing of its answers is also tested on its own, without a network. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "registry.h"
#include "testutil.h"

static int srv_fd = -1;
static int port;
static pthread_t srv_thread;
static int requests;
static char *dir;

/* Answers GET /schemas/ids/1 with the simple schema, a registration under
 * feat-value with id 7, one under old-value with 409 (incompatible),
 * anything else 404. */
static void *serve(void *arg)
{
    (void)arg;
    for (;;) {
        int c = accept(srv_fd, NULL, NULL);
        if (c < 0)
            return NULL;
        char req[2048];
        ssize_t n = read(c, req, sizeof req - 1);
        req[n > 0 ? n : 0] = 0;
        __atomic_add_fetch(&requests, 1, __ATOMIC_SEQ_CST);
        char body[4200], resp[8400];
        int status = 404;
        if (strncmp(req, "GET /schemas/ids/1 ", 19) == 0) {
            /* The schema as a JSON string inside the answer. */
            char esc[4096];
            size_t k = 0;
            for (const char *p = TU_SIMPLE_SCHEMA; *p && k < sizeof esc - 2; p++) {
                if (*p == '"' || *p == '\\')
                    esc[k++] = '\\';
                esc[k++] = *p;
            }
            esc[k] = 0;
            snprintf(body, sizeof body, "{\"schema\":\"%s\"}", esc);
            status = 200;
        } else if (strncmp(req, "POST /subjects/feat-value/versions ", 35) == 0 &&
                   strstr(req, "{\"schema\":\"")) {
            snprintf(body, sizeof body, "{\"id\":7}");
            status = 200;
        } else if (strncmp(req, "POST /subjects/old-value/versions ", 34) == 0) {
            snprintf(body, sizeof body,
                     "{\"error_code\":409,\"message\":\"Schema being registered is "
                     "incompatible with an earlier schema\"}");
            status = 409;
        } else {
            snprintf(body, sizeof body,
                     "{\"error_code\":40403,\"message\":\"Schema not found\"}");
        }
        int len = snprintf(resp, sizeof resp,
                           "HTTP/1.1 %d X\r\nContent-Type: application/json\r\n"
                           "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                           status, strlen(body), body);
        if (write(c, resp, (size_t)len) != len)
            fprintf(stderr, "short write\n");
        close(c);
    }
}

static void setup(void)
{
    dir = tu_tmpdir();
    srv_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(srv_fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t al = sizeof a;
    getsockname(srv_fd, (struct sockaddr *)&a, &al);
    port = ntohs(a.sin_port);
    cr_assert_eq(listen(srv_fd, 8), 0);
    cr_assert_eq(pthread_create(&srv_thread, NULL, serve, NULL), 0);
}

static void teardown(void)
{
    shutdown(srv_fd, SHUT_RDWR);
    close(srv_fd);
    pthread_join(srv_thread, NULL);
    tu_rmtree(dir);
    free(dir);
}

TestSuite(registry, .init = setup, .fini = teardown, .timeout = 60);

static fstore_store_t *open_with(const char *url)
{
    fstore_conf_t *c = tu_conf("registry.url", url, "registry.timeout_ms", "2000", NULL);
    fstore_store_t *s = tu_store_open(dir, c);
    fstore_conf_destroy(c);
    return s;
}

Test(registry, fetches_caches_and_refuses_unknown_ids)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", port);
    fstore_store_t *s = open_with(url);
    const fstore_table_t *t = tu_table(s, "t", TU_SIMPLE_SCHEMA);
    tu_buf_t v = tu_simple_value(5, 2); /* framed with schema id 1 */
    char err[512] = "";
    cr_assert_eq(tu_put_rc(s, t, "k", 1, v.data, v.len, 1, err, sizeof err),
                 FSTORE_OK, "%s", err);
    cr_assert_eq(__atomic_load_n(&requests, __ATOMIC_SEQ_CST), 1);
    /* An id the registry does not know. */
    v.data[4] = 9;
    cr_assert_eq(tu_put_rc(s, t, "k2", 2, v.data, v.len, 2, err, sizeof err),
                 FSTORE_ERR_DECODE_SCHEMA_ID);
    cr_assert(strstr(err, "9"), "%s", err);
    v.data[4] = 1;
    fstore_store_close(s);

    /* Restart with a registry that is gone: the schema comes from the
     * store, no request is made. */
    s = open_with("http://127.0.0.1:1/");
    t = tu_table(s, "t", TU_SIMPLE_SCHEMA);
    int before = __atomic_load_n(&requests, __ATOMIC_SEQ_CST);
    cr_assert_eq(tu_put_rc(s, t, "k3", 2, v.data, v.len, 3, err, sizeof err),
                 FSTORE_OK, "%s", err);
    cr_assert_eq(__atomic_load_n(&requests, __ATOMIC_SEQ_CST), before);
    fstore_reader_t *r;
    fstore_reader_new(s, &r);
    const fstore_row_t *row;
    cr_assert_eq(tu_get(r, t, "k3", &row), FSTORE_OK);
    tu_simple_assert(t, row, 5, 2);
    fstore_reader_destroy(r);
    fstore_store_close(s);
    tu_buf_free(&v);
}

Test(registry, unreachable_registry_leaves_the_record_unconsumed)
{
    /* Credentials in the URL never appear in the message. */
    fstore_store_t *s = open_with("http://reader:hunter2@127.0.0.1:1/");
    const fstore_table_t *t = tu_table(s, "t", TU_SIMPLE_SCHEMA);
    tu_buf_t v = tu_simple_value(5, 2);
    char err[512] = "";
    fstore_batch_t *b = tu_begin(s);
    cr_assert_eq(fstore_batch_put(b, t, "k", 1, v.data, v.len, 0, 7, 0, err, sizeof err),
                 FSTORE_ERR_IO);
    cr_assert(strstr(err, "unreachable") && strstr(err, "http://127.0.0.1:1/"), "%s", err);
    cr_assert(!strstr(err, "hunter2") && !strstr(err, "reader"), "%s", err);
    tu_commit(b);
    fstore_reader_t *r;
    fstore_reader_new(s, &r);
    int64_t off;
    /* Not consumed: a tailer retries it instead of skipping it. */
    cr_assert_eq(fstore_reader_offset(r, t, 0, &off), FSTORE_NOT_FOUND);
    fstore_reader_destroy(r);
    fstore_store_close(s);
    tu_buf_free(&v);
}

Test(registry, registers_a_schema_and_names_a_refusal)
{
    char url[64], err[512] = "";
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    int32_t id = 0;
    cr_assert_eq(fs_registry_register(url, 2000, "feat", "\"int\"", &id, err, sizeof err),
                 FSTORE_ERR_IO, "an unknown subject path is a 404");
    cr_assert_eq(id, -1);
    cr_assert_eq(fs_registry_register(url, 2000, "feat-value", TU_SIMPLE_SCHEMA, &id, err,
                                      sizeof err),
                 FSTORE_OK, "%s", err);
    cr_assert_eq(id, 7);
    cr_assert_eq(fs_registry_register(url, 2000, "old-value", TU_SIMPLE_SCHEMA, &id, err,
                                      sizeof err),
                 FSTORE_ERR_SCHEMA_MISMATCH);
    cr_assert_not_null(strstr(err, "old-value"), "%s", err);
    cr_assert_not_null(strstr(err, "incompatible with an earlier schema"), "%s", err);
    cr_assert_eq(fs_registry_register("http://127.0.0.1:1", 2000, "feat-value", "\"int\"",
                                      &id, err, sizeof err),
                 FSTORE_ERR_IO);
    cr_assert_not_null(strstr(err, "unreachable"), "%s", err);
}

/* ---- answers, parsed without a network (fs_registry_parse) ---- */

TestSuite(registry_parse, .timeout = 30);

/* Parses body (a C string) as the answer for id 7 with status. */
static fstore_err_t parse(long status, const char *body, char **json, char *err,
                          size_t err_size)
{
    return fs_registry_parse(status, body, body ? strlen(body) : 0, 7,
                             "http://r/schemas/ids/7", json, err, err_size);
}

Test(registry_parse, a_200_with_a_schema_gives_its_text)
{
    char err[256] = "", *json = NULL;
    cr_assert_eq(parse(200, "{\"schema\":\"{\\\"type\\\":\\\"string\\\"}\"}",
                       &json, err, sizeof err),
                 FSTORE_OK, "%s", err);
    cr_assert_str_eq(json, "{\"type\":\"string\"}");
    free(json);
    cr_assert_eq(parse(200,
                       "{\"schemaType\":\"AVRO\",\"schema\":\"\\\"int\\\"\","
                       "\"references\":[]}",
                       &json, err, sizeof err),
                 FSTORE_OK, "%s", err);
    cr_assert_str_eq(json, "\"int\"");
    free(json);
}

Test(registry_parse, the_body_needs_no_terminator)
{
    static const char body[] = "{\"schema\":\"\\\"long\\\"\"}garbage";
    char err[256] = "", *json = NULL;
    cr_assert_eq(fs_registry_parse(200, body, strlen(body) - 7, 1, NULL, &json,
                                   err, sizeof err),
                 FSTORE_OK, "%s", err);
    cr_assert_str_eq(json, "\"long\"");
    free(json);
}

Test(registry_parse, a_404_is_an_unknown_id)
{
    static char untouched[] = "untouched";
    char err[256] = "", *json = untouched;
    cr_assert_eq(
        parse(404, "{\"error_code\":40403,\"message\":\"Schema not found\"}",
              &json, err, sizeof err),
        FSTORE_ERR_DECODE_SCHEMA_ID);
    cr_assert_null(json);
    cr_assert(strstr(err, "id 7"), "%s", err);
    /* Whatever the body says. */
    cr_assert_eq(
        parse(404, "{\"schema\":\"\\\"int\\\"\"}", &json, err, sizeof err),
        FSTORE_ERR_DECODE_SCHEMA_ID);
    cr_assert_null(json);
}

Test(registry_parse, other_statuses_are_io_errors_naming_the_request)
{
    static const long statuses[] = {0, 201, 301, 401, 500, 503, -1};
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        char err[256] = "", *json = NULL;
        cr_assert_eq(parse(statuses[i], "{\"schema\":\"\\\"int\\\"\"}", &json,
                           err, sizeof err),
                     FSTORE_ERR_IO, "status %ld", statuses[i]);
        cr_assert_null(json);
        cr_assert(strstr(err, "http://r/schemas/ids/7"), "%s", err);
    }
    char err[256] = "", *json = NULL;
    cr_assert_eq(
        fs_registry_parse(500, NULL, 0, 7, NULL, &json, err, sizeof err),
        FSTORE_ERR_IO);
    cr_assert(strstr(err, "HTTP 500"), "%s", err);
}

Test(registry_parse, bad_200_answers_are_io_errors)
{
    static const char *const bodies[] = {
        NULL,
        "",
        "not json",
        "{\"schema\":",
        "[\"schema\"]",
        "\"schema\"",
        "{}",
        "{\"schema\":null}",
        "{\"schema\":42}",
        "{\"schema\":{\"type\":\"string\"}}",
        "{\"Schema\":\"\\\"int\\\"\"}",
        "{\"schema\":\"a\\u0000b\"}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        char err[256] = "", *json = NULL;
        cr_assert_eq(parse(200, bodies[i], &json, err, sizeof err),
                     FSTORE_ERR_IO, "body %zu: %s", i, err);
        cr_assert_null(json);
        cr_assert(strstr(err, "\"schema\" string"), "%s", err);
    }
}

Test(registry_parse, schemas_of_other_kinds_are_refused)
{
    char err[256] = "", *json = NULL;
    cr_assert_eq(parse(200,
                       "{\"schemaType\":\"PROTOBUF\",\"schema\":\"syntax\"}",
                       &json, err, sizeof err),
                 FSTORE_ERR_WRITER_SCHEMA);
    cr_assert_null(json);
    cr_assert(strstr(err, "PROTOBUF"), "%s", err);
}

Test(registry_parse, a_null_errstr_is_fine)
{
    char *json = NULL;
    cr_assert_eq(fs_registry_parse(200, "{}", 2, 7, NULL, &json, NULL, 0),
                 FSTORE_ERR_IO);
    cr_assert_eq(fs_registry_parse(404, NULL, 0, 7, NULL, &json, NULL, 0),
                 FSTORE_ERR_DECODE_SCHEMA_ID);
    cr_assert_null(json);
}

/* ---- registration answers (fs_registry_parse_id) ---- */

Test(registry_parse, registration_answers)
{
    char err[512];
    int32_t id;
    const char *ok = "{\"id\":2147483647}";
    cr_assert_eq(fs_registry_parse_id(200, ok, strlen(ok), "s", &id, err, sizeof err),
                 FSTORE_OK, "%s", err);
    cr_assert_eq(id, INT32_MAX);
    static const char *const bad[] = {"", "{}", "{\"id\":-1}", "{\"id\":2147483648}",
                                      "{\"id\":\"7\"}", "[7]", "{\"id\":7.5}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_assert_eq(fs_registry_parse_id(200, bad[i], strlen(bad[i]), "s", &id, err,
                                          sizeof err),
                     FSTORE_ERR_IO, "%s", bad[i]);
        cr_assert_eq(id, -1);
        cr_assert_not_null(strstr(err, "\"id\""), "%s", err);
    }
    const char *inv = "{\"error_code\":42201,\"message\":\"Invalid schema\"}";
    cr_assert_eq(fs_registry_parse_id(422, inv, strlen(inv), "s", &id, err, sizeof err),
                 FSTORE_ERR_SCHEMA);
    cr_assert_not_null(strstr(err, "Invalid schema"), "%s", err);
    cr_assert_eq(fs_registry_parse_id(500, NULL, 0, "subj", &id, err, sizeof err),
                 FSTORE_ERR_IO);
    cr_assert_not_null(strstr(err, "HTTP 500"), "%s", err);
    cr_assert_not_null(strstr(err, "subj"), "%s", err);
}
