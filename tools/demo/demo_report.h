/*
 * The results of `fstore demo` on stdout: the summary table of figures and
 * one entity's feature vector, column by column.
 */
#ifndef FSTORE_TOOLS_DEMO_REPORT_H
#define FSTORE_TOOLS_DEMO_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "demo_bench.h"
#include "demo_data.h"
#include "demo_live.h"
#include "fstore/fstore.h"

typedef struct demo_report {
    const demo_kafka *k;
    const char *store_dir;
    const char *settings; /* the tailer's latency settings, as PROP=VALUE */
    int store_kept;
    uint64_t entities;     /* asked for */
    uint64_t rows;         /* rows after the bootstrap */
    uint64_t boot_records; /* records the bootstrap applied */
    double boot_s;         /* tail start → ready */
    const demo_lookup *look;
    const demo_live *live;
    double live_s;
    uint64_t live_applied; /* records the tailer applied in the live phase */
    double fresh_p50, fresh_p99; /* tailer's freshness_ms; < 0 unknown */
    int64_t fresh_count;
    double apply_p50, apply_p99; /* tailer's apply_ms: its own part */
    int64_t apply_count;
} demo_report;

/** Prints the summary table. */
void demo_report_print(FILE *out, const demo_report *r);

/**
 * Prints the feature vector of the most active entity still present from
 * popularity rank @p rank of @p z on, read through a new reader of
 * @p store. Keys are made by @p key (demo_key when NULL).
 * @return FSTORE_OK, or a reader error.
 */
fstore_err_t demo_report_sample(FILE *out, fstore_store_t *store,
                                const fstore_table_t *table,
                                const demo_zipf *z, uint32_t rank,
                                size_t (*key)(uint32_t id, char *buf));

#endif
