/*
 * The input layout of the registry fuzz target, shared with the seed
 * generator: the first byte picks the HTTP status of the answer.
 */
#ifndef FSTORE_FUZZ_REGISTRY_H
#define FSTORE_FUZZ_REGISTRY_H

/* Statuses a registry or a proxy in front of it may answer with. */
static const long FUZZ_REGISTRY_STATUSES[] = {
    404, 0,   100, 201, 204, 301, 302, 304, 400, 401, 403,
    405, 409, 422, 429, 500, 502, 503, 504, 599, -1,  1000};
#define FUZZ_REGISTRY_NSTATUSES                                                \
    (sizeof FUZZ_REGISTRY_STATUSES / sizeof FUZZ_REGISTRY_STATUSES[0])

/* First bytes below 0x80 mean 200 (most answers are); bytes from 0x80 on
 * index FUZZ_REGISTRY_STATUSES, wrapping around. */
#define FUZZ_REGISTRY_OK_BYTE 'A'
#define FUZZ_REGISTRY_404_BYTE 0x80

static inline long fuzz_registry_status(unsigned char first)
{
    if (first < 0x80)
        return 200;
    return FUZZ_REGISTRY_STATUSES[(first - 0x80) % FUZZ_REGISTRY_NSTATUSES];
}

#endif /* FSTORE_FUZZ_REGISTRY_H */
