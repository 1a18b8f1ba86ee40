/* The log-linear latency histogram; see hist.h. */
#include "hist.h"

uint64_t fs_hist_bucket_low(unsigned i)
{
    if (i < 64)
        return i;
    unsigned e = (i - 64u) / 32u + 6u, sub = (i - 64u) % 32u;
    return (uint64_t)(32u + sub) << (e - 5u);
}

uint64_t fs_hist_bucket_high(unsigned i)
{
    if (i < 64)
        return i;
    unsigned e = (i - 64u) / 32u + 6u;
    return fs_hist_bucket_low(i) + ((uint64_t)1 << (e - 5u)) - 1;
}

/* The bucket holding the @p rank-th smallest value (1-based, at most the
 * count); FS_HIST_N when the counts fall short. */
static unsigned fs_hist_bucket_of_rank(const fs_hist *h, uint64_t rank)
{
    uint64_t seen = 0;
    for (unsigned i = 0; i < FS_HIST_N; i++) {
        seen += h->b[i];
        if (seen >= rank)
            return i;
    }
    return FS_HIST_N;
}

uint64_t fs_hist_quantile(const fs_hist *h, double q)
{
    if (!h->count)
        return 0;
    uint64_t want = (uint64_t)(q * (double)h->count);
    if (want >= h->count)
        want = h->count - 1;
    unsigned i = fs_hist_bucket_of_rank(h, want + 1);
    if (i == FS_HIST_N)
        return h->max;
    uint64_t lo = fs_hist_bucket_low(i);
    uint64_t hi = i + 1 < FS_HIST_N ? fs_hist_bucket_low(i + 1) : lo;
    uint64_t mid = lo + (hi - lo) / 2;
    return mid > h->max ? h->max : mid;
}

uint64_t fs_hist_quantile_high(const fs_hist *h, double q)
{
    if (!h->count)
        return 0;
    double r = q * (double)h->count;
    uint64_t rank = (uint64_t)r;
    if ((double)rank < r)
        rank++; /* the ceiling */
    if (rank == 0)
        rank = 1;
    unsigned i = fs_hist_bucket_of_rank(h, rank);
    if (i == FS_HIST_N)
        return h->max;
    uint64_t hi = fs_hist_bucket_high(i);
    return hi < h->max ? hi : h->max;
}

double fs_hist_mean(const fs_hist *h)
{
    return h->count ? (double)h->sum / (double)h->count : 0.0;
}

void fs_hist_merge(fs_hist *into, const fs_hist *from)
{
    for (unsigned i = 0; i < FS_HIST_N; i++)
        into->b[i] += from->b[i];
    into->count += from->count;
    into->sum += from->sum;
    if (from->max > into->max)
        into->max = from->max;
}
