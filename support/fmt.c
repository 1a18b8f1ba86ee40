/* Number formatting of the support library; see fmt.h. */
#include "support/fmt.h"

#include <inttypes.h>
#include <stdio.h>

/* The magnitude of @p v as unsigned: no negation of INT64_MIN in int64_t. */
static uint64_t magnitude(int64_t v)
{
    return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

const char *sup_grouped(int64_t v, char *buf, size_t size)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%" PRIu64, magnitude(v));
    size_t o = 0;
    if (v < 0 && o + 1 < size)
        buf[o++] = '-';
    for (int i = 0; i < n; i++) {
        int comma = i > 0 && (n - i) % 3 == 0;
        if (o + (size_t)comma + 1 >= size)
            break; /* no room for the digit and the NUL */
        if (comma)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}
