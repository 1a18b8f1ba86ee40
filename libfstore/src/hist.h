/* A log-linear latency histogram: exact below 64, then 32 sub-buckets per
 * power of two (about 3% resolution), fixed size, no allocation per value.
 * The library's freshness and apply times use it, and so do the tools,
 * benchmarks and tests (through their support library). */
#ifndef FSTORE_HIST_H
#define FSTORE_HIST_H

#include <stdint.h>

#define FS_HIST_N 1920

typedef struct fs_hist {
    uint64_t count;
    uint64_t max;
    uint64_t sum;
    uint64_t b[FS_HIST_N];
} fs_hist;

static inline unsigned fs_hist_index(uint64_t v)
{
    if (v < 64)
        return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v); /* >= 6 */
    return 64u + (e - 6u) * 32u + (unsigned)((v >> (e - 5u)) & 31u);
}

static inline void fs_hist_add(fs_hist *h, uint64_t v)
{
    h->b[fs_hist_index(v)]++;
    h->count++;
    h->sum += v;
    if (v > h->max)
        h->max = v;
}

/* The value at quantile q (0..1): the midpoint of its bucket. */
uint64_t fs_hist_quantile(const fs_hist *h, double q);
void fs_hist_merge(fs_hist *into, const fs_hist *from);

/* The lowest and the highest value bucket i (< FS_HIST_N) holds. */
uint64_t fs_hist_bucket_low(unsigned i);
uint64_t fs_hist_bucket_high(unsigned i);

/* The q quantile (0..1) by nearest rank (the ceil(q * count)-th smallest
 * value, at least the first) as the highest value of its bucket, capped at
 * the maximum: never below the true quantile. 0 when empty. */
uint64_t fs_hist_quantile_high(const fs_hist *h, double q);

/* The mean of the values added, 0 when empty. */
double fs_hist_mean(const fs_hist *h);

#endif
