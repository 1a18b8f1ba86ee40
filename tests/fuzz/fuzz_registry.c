/*
 * libFuzzer target: Schema Registry answers, parsed by fs_registry_parse
 * (a schema by id) and fs_registry_parse_id (a registration).
 *
 * A registry's answer is untrusted: a status code and a body. The first
 * input byte picks the status (see fuzz_registry_status); the rest is the
 * body, in an exact-size buffer with no terminator. The answer must give:
 * for 200, FSTORE_OK with a NUL-terminated schema text no longer than the
 * body, or FSTORE_ERR_IO / FSTORE_ERR_WRITER_SCHEMA; for 404,
 * FSTORE_ERR_DECODE_SCHEMA_ID; for any other status, FSTORE_ERR_IO. Every
 * error comes with a message and no schema. A registration answer must
 * give an id from 0 to INT32_MAX only for a 200, else -1 and an error with
 * a message: FSTORE_ERR_SCHEMA_MISMATCH for 409, FSTORE_ERR_SCHEMA for
 * 422, FSTORE_ERR_IO otherwise. Anything else (another code, a
 * crash, a sanitizer report, a leak) is a bug.
 *
 * Internal API (registry.h): linked with the static library.
 * tests/fuzz/replay.c links this same file to replay corpora as ordinary
 * tests, so it builds with gcc too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_registry.h"
#include "registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what, long status, fstore_err_t err,
                const char *errstr)
{
    fprintf(stderr, "fuzz_registry: HTTP %ld: %s: %s (%d): %s\n", status, what,
            fstore_err_name(err), (int)err, errstr ? errstr : "");
    abort();
}

static void check_error(long status, fstore_err_t err, const char *json,
                        char *errstr, size_t errstr_size)
{
    if (json != NULL)
        die("an error with a schema", status, err, NULL);
    if (memchr(errstr, '\0', errstr_size) == NULL)
        die("errstr left without a NUL", status, err, NULL);
    if (errstr[0] == '\0')
        die("an error without a message", status, err, NULL);
    int expected;
    if (status == 404)
        expected = err == FSTORE_ERR_DECODE_SCHEMA_ID;
    else if (status != 200)
        expected = err == FSTORE_ERR_IO;
    else
        expected = err == FSTORE_ERR_IO || err == FSTORE_ERR_WRITER_SCHEMA;
    if (!expected)
        die("unexpected error code", status, err, errstr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    long status = fuzz_registry_status(size > 0 ? data[0] : 0);
    if (size > 0) {
        data++;
        size--;
    }
    /* An exact-size copy, so ASan sees a read past the body's end. */
    char *body = calloc(size > 0 ? size : 1, 1);
    if (body == NULL)
        abort();
    if (size > 0)
        memcpy(body, data, size);

    char errstr[256];
    memset(errstr, 0xff, sizeof errstr);
    int32_t id = 0;
    fstore_err_t ierr =
        fs_registry_parse_id(status, body, size, "s-value", &id, errstr, sizeof errstr);
    if (ierr == FSTORE_OK ? status != 200 || id < 0 : id != -1)
        die("a registration id against its status", status, ierr, NULL);
    if (ierr != FSTORE_OK) {
        if (memchr(errstr, '\0', sizeof errstr) == NULL || errstr[0] == '\0')
            die("a registration error without a message", status, ierr, NULL);
        fstore_err_t want = status == 409   ? FSTORE_ERR_SCHEMA_MISMATCH
                            : status == 422 ? FSTORE_ERR_SCHEMA
                                            : FSTORE_ERR_IO;
        if (ierr != want)
            die("unexpected registration error code", status, ierr, errstr);
    }

    char *json = NULL;
    memset(errstr, 0xff, sizeof errstr);
    fstore_err_t err =
        fs_registry_parse(status, body, size, 42, "http://registry/ids/42",
                          &json, errstr, sizeof errstr);
    free(body);
    if (err != FSTORE_OK) {
        check_error(status, err, json, errstr, sizeof errstr);
        return 0;
    }
    if (status != 200)
        die("a schema from an answer that is not a 200", status, err, NULL);
    if (json == NULL)
        die("FSTORE_OK without a schema", status, err, NULL);
    /* The schema is a JSON string of the body, unescaped: never longer. */
    if (strlen(json) > size)
        die("a schema longer than the body", status, err, json);
    free(json);
    return 0;
}
