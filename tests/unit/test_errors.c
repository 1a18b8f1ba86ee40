/* Unit suite of the errors module: codes, names, descriptions, versions. */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "testutil.h"

#define E(x)                                                                   \
    {                                                                          \
        x, #x                                                                  \
    }
static const struct {
    fstore_err_t code;
    const char *name;
} codes[] = {
    E(FSTORE_OK),
    E(FSTORE_NOT_FOUND),
    E(FSTORE_NULL),
    E(FSTORE_ERR_INVALID_ARG),
    E(FSTORE_ERR_NO_MEMORY),
    E(FSTORE_ERR_CONF),
    E(FSTORE_ERR_NO_TABLE),
    E(FSTORE_ERR_NO_COLUMN),
    E(FSTORE_ERR_TYPE),
    E(FSTORE_ERR_READ_ONLY),
    E(FSTORE_ERR_STATE),
    E(FSTORE_ERR_KEY),
    E(FSTORE_ERR_SCHEMA),
    E(FSTORE_ERR_SCHEMA_MISMATCH),
    E(FSTORE_ERR_RANGE),
    E(FSTORE_ERR_TIMED_OUT),
    E(FSTORE_ERR_IO),
    E(FSTORE_ERR_CORRUPT),
    E(FSTORE_ERR_VERSION),
    E(FSTORE_ERR_LOCKED),
    E(FSTORE_ERR_READERS_FULL),
    E(FSTORE_ERR_MAP_FULL),
    E(FSTORE_ERR_STORAGE),
    E(FSTORE_ERR_NO_STORE),
    E(FSTORE_ERR_KAFKA),
    E(FSTORE_ERR_DECODE_FRAME),
    E(FSTORE_ERR_DECODE_SCHEMA_ID),
    E(FSTORE_ERR_DECODE_TRUNCATED),
    E(FSTORE_ERR_DECODE_MALFORMED),
    E(FSTORE_ERR_DECODE_TRAILING),
    E(FSTORE_ERR_RESOLVE),
    E(FSTORE_ERR_WRITER_SCHEMA),
};
#undef E
#define NCODES (sizeof codes / sizeof codes[0])

/* Codes no version of this header defines: gaps inside and around families. */
static const int unknown_codes[] = {-1,  3,   99,  113, 199, 208,   299,
                                    301, 399, 407, 499, 500, 100000};
#define NUNKNOWN (sizeof unknown_codes / sizeof unknown_codes[0])

Test(errors, pinned_values)
{
    /* Values are pinned forever: a renumbering breaks every binding. */
    cr_assert_eq(FSTORE_OK, 0);
    cr_assert_eq(FSTORE_NOT_FOUND, 1);
    cr_assert_eq(FSTORE_NULL, 2);
    cr_assert_eq(FSTORE_ERR_INVALID_ARG, 100);
    cr_assert_eq(FSTORE_ERR_TIMED_OUT, 112);
    cr_assert_eq(FSTORE_ERR_IO, 200);
    cr_assert_eq(FSTORE_ERR_NO_STORE, 207);
    cr_assert_eq(FSTORE_ERR_KAFKA, 300);
    cr_assert_eq(FSTORE_ERR_DECODE_FRAME, 400);
    cr_assert_eq(FSTORE_ERR_WRITER_SCHEMA, 406);
}

Test(errors, names_are_the_symbols)
{
    for (size_t i = 0; i < NCODES; i++) {
        const char *n = fstore_err_name(codes[i].code);
        cr_assert_not_null(n, "name of %d", (int)codes[i].code);
        cr_assert_str_eq(n, codes[i].name, "name of %d", (int)codes[i].code);
    }
}

Test(errors, names_distinct)
{
    for (size_t i = 0; i < NCODES; i++)
        for (size_t j = i + 1; j < NCODES; j++)
            cr_assert_str_neq(fstore_err_name(codes[i].code),
                              fstore_err_name(codes[j].code));
}

Test(errors, strerror_nonempty_and_distinct)
{
    for (size_t i = 0; i < NCODES; i++) {
        const char *s = fstore_strerror(codes[i].code);
        cr_assert_not_null(s, "strerror(%s)", codes[i].name);
        cr_assert_gt(strlen(s), 0, "strerror(%s) is empty", codes[i].name);
    }
    for (size_t i = 0; i < NCODES; i++)
        for (size_t j = i + 1; j < NCODES; j++)
            cr_assert_str_neq(
                fstore_strerror(codes[i].code), fstore_strerror(codes[j].code),
                "%s and %s share a description", codes[i].name, codes[j].name);
}

Test(errors, strerror_is_static)
{
    /* Static strings: the same pointer each time, still readable later. */
    for (size_t i = 0; i < NCODES; i++) {
        cr_assert_eq(fstore_strerror(codes[i].code),
                     fstore_strerror(codes[i].code));
        cr_assert_eq(fstore_err_name(codes[i].code),
                     fstore_err_name(codes[i].code));
    }
}

Test(errors, unknown_codes)
{
    for (size_t i = 0; i < NUNKNOWN; i++) {
        fstore_err_t c = (fstore_err_t)unknown_codes[i];
        const char *s = fstore_strerror(c);
        const char *n = fstore_err_name(c);
        cr_assert_not_null(s, "strerror(%d)", unknown_codes[i]);
        cr_assert_not_null(n, "err_name(%d)", unknown_codes[i]);
        cr_assert(strstr(s, "unknown") != NULL,
                  "strerror(%d) = \"%s\" does not say unknown",
                  unknown_codes[i], s);
        for (size_t j = 0; j < NCODES; j++) {
            cr_assert_str_neq(n, codes[j].name, "unknown code %d named like %s",
                              unknown_codes[i], codes[j].name);
            cr_assert_str_neq(s, fstore_strerror(codes[j].code),
                              "unknown code %d described like %s",
                              unknown_codes[i], codes[j].name);
        }
    }
}

Test(errors, version_agrees_with_macros)
{
    cr_assert_eq(fstore_version_number(), (unsigned)FSTORE_VERSION_NUMBER);
    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d", FSTORE_VERSION_MAJOR,
             FSTORE_VERSION_MINOR, FSTORE_VERSION_PATCH);
    cr_assert_not_null(fstore_version_str());
    cr_assert_str_eq(fstore_version_str(), want);
    cr_assert_eq(FSTORE_VERSION_NUMBER, FSTORE_VERSION_MAJOR * 10000 +
                                            FSTORE_VERSION_MINOR * 100 +
                                            FSTORE_VERSION_PATCH);
}
