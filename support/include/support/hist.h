/*
 * The latency histogram of the tools, benchmarks and tests: libfstore's own
 * (fs_hist in libfstore/src/hist.h), so that one copy measures everything.
 * The support library compiles libfstore/src/hist.c; this header only
 * forwards to the library's, which depends on nothing but <stdint.h>.
 */
#ifndef FSTORE_SUPPORT_HIST_H
#define FSTORE_SUPPORT_HIST_H

#include "../../../libfstore/src/hist.h"

#endif
