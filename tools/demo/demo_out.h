/*
 * Terminal output of `fstore demo` on stderr: a status line redrawn in
 * place (on a TTY only), step lines that stay (unless quiet), and log lines
 * of the library and librdkafka that never tear the status line.
 */
#ifndef FSTORE_TOOLS_DEMO_OUT_H
#define FSTORE_TOOLS_DEMO_OUT_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "common/common.h"

/** Sets the mode: @p quiet prints only errors; the status line needs a TTY. */
void demo_out_init(int quiet);

/** Redraws the status line "fstore demo: ..." (TTY and not quiet only). */
void demo_status(const char *fmt, ...) TOOL_PRINTF(1, 2);

/** Prints a step line "fstore demo: ..." unless quiet, over the status. */
void demo_step(const char *fmt, ...) TOOL_PRINTF(1, 2);

/** Erases the status line, so what follows starts clean. */
void demo_status_clear(void);

/** fstore log callback: "fstore demo: LEVEL: message". */
void demo_log_fstore(void *opaque, int level, const char *msg);

/** librdkafka log callback of the producer: errors and warnings only. */
void demo_log_kafka(const rd_kafka_t *rk, int level, const char *fac,
                    const char *buf);

/** Formats a duration of @p ns nanoseconds with a fitting unit. */
const char *demo_duration(double ns, char *buf, size_t size);

#endif
