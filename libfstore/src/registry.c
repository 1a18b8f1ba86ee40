/* Schema Registry client. The two calls fstore needs: a schema by id (the
 * tailer's and the aggregator's writer schemas) and registering a schema
 * under a subject (the aggregator's output schema). The HTTP requests and
 * the parsing of their answers are kept apart so that the parsing can be
 * tested and fuzzed without a network. */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "registry.h"
#include "source.h"

static size_t fs_curl_write(char *p, size_t size, size_t n, void *arg)
{
    fs_buf *b = arg;
    /* Schemas are small; refuse absurd answers instead of buffering them. */
    if (b->len + size * n > (64u << 20) || fs_buf_append(b, p, size * n))
        return 0;
    return size * n;
}

/* The answer of a 200: {"schema": "...", "schemaType": "AVRO"} (no
 * schemaType means Avro). */
static fstore_err_t fs_registry_body(const char *body, size_t len, int32_t id,
                                     char **json, char *errstr,
                                     size_t errstr_size)
{
    json_error_t jerr;
    json_t *j = json_loadb(body ? body : "", body ? len : 0, 0, &jerr);
    const char *type = json_string_value(json_object_get(j, "schemaType"));
    const char *schema = json_string_value(json_object_get(j, "schema"));
    fstore_err_t err = FSTORE_OK;
    if (type && strcmp(type, "AVRO") != 0)
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_WRITER_SCHEMA,
                          "schema %d is a %s schema; fstore reads Avro", id,
                          type);
    else if (!schema)
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_IO,
                          "schema registry answer for id %d has no "
                          "\"schema\" string",
                          id);
    else if (!(*json = fs_strdup(schema)))
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY,
                          "out of memory");
    json_decref(j);
    return err;
}

fstore_err_t fs_registry_parse(long http_status, const char *body, size_t len,
                               int32_t id, const char *what, char **json,
                               char *errstr, size_t errstr_size)
{
    *json = NULL;
    if (http_status == 404)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_DECODE_SCHEMA_ID,
                           "schema registry has no schema with id %d", id);
    if (http_status != 200)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_IO,
                           "schema registry answered HTTP %ld for %s",
                           http_status, what ? what : "the schema registry");
    return fs_registry_body(body, len, id, json, errstr, errstr_size);
}

/* The "message" of an error answer, or "" (into msg). */
static void fs_registry_message(const char *body, size_t len, char *msg, size_t n)
{
    json_error_t jerr;
    json_t *j = json_loadb(body ? body : "", body ? len : 0, 0, &jerr);
    const char *m = json_string_value(json_object_get(j, "message"));
    snprintf(msg, n, "%s%.300s", m ? ": " : "", m ? m : "");
    json_decref(j);
}

fstore_err_t fs_registry_parse_id(long http_status, const char *body, size_t len,
                                  const char *subject, int32_t *id, char *errstr,
                                  size_t errstr_size)
{
    *id = -1;
    char msg[320];
    if (http_status != 200) {
        fs_registry_message(body, len, msg, sizeof msg);
        if (http_status == 409)
            return fstore__err(errstr, errstr_size, FSTORE_ERR_SCHEMA_MISMATCH,
                               "the schema registry refused the schema for subject %s as "
                               "incompatible with its earlier versions%s",
                               subject, msg);
        if (http_status == 422)
            return fstore__err(errstr, errstr_size, FSTORE_ERR_SCHEMA,
                               "the schema registry refused the schema for subject %s as "
                               "invalid%s",
                               subject, msg);
        return fstore__err(errstr, errstr_size, FSTORE_ERR_IO,
                           "the schema registry answered HTTP %ld registering subject "
                           "%s%s",
                           http_status, subject, msg);
    }
    json_error_t jerr;
    json_t *j = json_loadb(body ? body : "", body ? len : 0, 0, &jerr);
    json_t *v = json_object_get(j, "id");
    int ok = json_is_integer(v) && json_integer_value(v) >= 0 &&
             json_integer_value(v) <= INT32_MAX;
    if (ok)
        *id = (int32_t)json_integer_value(v);
    json_decref(j);
    if (!ok)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_IO,
                           "the schema registry's answer registering subject %s has no "
                           "\"id\" from 0 to 2147483647",
                           subject);
    return FSTORE_OK;
}

/* One request: GET, or POST of post (a JSON body) when not NULL. The
 * status and body of the answer, or FSTORE_ERR_IO when there is none. */
static fstore_err_t fs_registry_http(const char *full, const char *post, long timeout_ms,
                                     long *status, fs_buf *body, char *errstr,
                                     size_t errstr_size)
{
    fs_curl_global_init();
    CURL *c = curl_easy_init();
    if (!c)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY,
                           "cannot create an HTTP client");
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, full);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fs_curl_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    struct curl_slist *hdr = curl_slist_append(
        NULL, "Accept: application/vnd.schemaregistry.v1+json, application/json");
    if (post) {
        hdr = curl_slist_append(hdr, "Content-Type: application/vnd.schemaregistry.v1+json");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, post);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    CURLcode rc = curl_easy_perform(c);
    *status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        char shown[4096];
        fs_source_redact(full, shown, sizeof shown); /* no user:password@ */
        return fstore__err(errstr, errstr_size, FSTORE_ERR_IO,
                           "schema registry %s unreachable: %s", shown,
                           cerr[0] ? cerr : curl_easy_strerror(rc));
    }
    return FSTORE_OK;
}

/* url without its trailing slashes, then the path (printf-style). */
static void fs_registry_url(char *full, size_t n, const char *url, const char *path)
{
    size_t ul = strlen(url);
    while (ul && url[ul - 1] == '/')
        ul--;
    snprintf(full, n, "%.*s%s", (int)ul, url, path);
}

fstore_err_t fs_registry_fetch(const char *url, long timeout_ms, int32_t id,
                               char **json, char *errstr, size_t errstr_size)
{
    *json = NULL;
    char path[32], full[4096];
    snprintf(path, sizeof path, "/schemas/ids/%d", id);
    fs_registry_url(full, sizeof full, url, path);
    fs_buf body = {0};
    long status;
    fstore_err_t err = fs_registry_http(full, NULL, timeout_ms, &status, &body, errstr,
                                        errstr_size);
    char shown[4096];
    fs_source_redact(full, shown, sizeof shown);
    if (!err)
        err = fs_registry_parse(status, (const char *)body.data, body.len, id, shown, json,
                                errstr, errstr_size);
    fs_buf_free(&body);
    return err;
}

fstore_err_t fs_registry_register(const char *url, long timeout_ms, const char *subject,
                                  const char *schema, int32_t *id, char *errstr,
                                  size_t errstr_size)
{
    *id = -1;
    /* The subject goes into the path: escaped. */
    char *esc = curl_easy_escape(NULL, subject, 0);
    json_t *req = json_pack("{s:s}", "schema", schema);
    char *post = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    fstore_err_t err = FSTORE_OK;
    if (!esc || !post) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
    } else {
        char path[1200], full[4096];
        snprintf(path, sizeof path, "/subjects/%.1000s/versions", esc);
        fs_registry_url(full, sizeof full, url, path);
        fs_buf body = {0};
        long status;
        err = fs_registry_http(full, post, timeout_ms, &status, &body, errstr, errstr_size);
        if (!err)
            err = fs_registry_parse_id(status, (const char *)body.data, body.len, subject, id,
                                       errstr, errstr_size);
        fs_buf_free(&body);
    }
    curl_free(esc);
    free(post);
    return err;
}
