/* Schema Registry client. Only the one call a consumer needs: the HTTP
 * request, and the parsing of its answer (kept apart so that it can be
 * tested and fuzzed without a network). */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "registry.h"

static pthread_once_t fs_curl_once = PTHREAD_ONCE_INIT;
static void fs_curl_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

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

fstore_err_t fs_registry_fetch(const char *url, long timeout_ms, int32_t id,
                               char **json, char *errstr, size_t errstr_size)
{
    *json = NULL;
    pthread_once(&fs_curl_once, fs_curl_init);
    char full[4096];
    size_t ul = strlen(url);
    while (ul && url[ul - 1] == '/')
        ul--;
    snprintf(full, sizeof full, "%.*s/schemas/ids/%d", (int)ul, url, id);
    CURL *c = curl_easy_init();
    if (!c)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY,
                           "cannot create an HTTP client");
    fs_buf body = {0};
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, full);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fs_curl_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    struct curl_slist *hdr = curl_slist_append(
        NULL, "Accept: application/vnd.schemaregistry.v1+json, application/json");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdr);
    curl_easy_cleanup(c);
    fstore_err_t err;
    if (rc != CURLE_OK)
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_IO,
                          "schema registry %s unreachable: %s", full,
                          cerr[0] ? cerr : curl_easy_strerror(rc));
    else
        err = fs_registry_parse(status, (const char *)body.data, body.len, id,
                                full, json, errstr, errstr_size);
    fs_buf_free(&body);
    return err;
}
