/*
 * Number formatting for terminal output of the tools and benchmarks:
 * integers with thousands separators.
 */
#ifndef FSTORE_SUPPORT_FMT_H
#define FSTORE_SUPPORT_FMT_H

#include <stddef.h>
#include <stdint.h>

/* Room for any int64_t grouped: sign, 19 digits, 6 commas and the NUL. */
#define SUP_GROUPED_MAX 27

/**
 * Formats @p v with a comma between groups of three digits ("-1,234,567")
 * into @p buf of @p size bytes (at least 1), cutting what does not fit.
 * Every value works, INT64_MIN included. @return @p buf.
 */
const char *sup_grouped(int64_t v, char *buf, size_t size);

#endif
