#include "hist.h"

static uint64_t fs_hist_low(unsigned i)
{
    if (i < 64)
        return i;
    unsigned e = (i - 64u) / 32u + 6u, sub = (i - 64u) % 32u;
    return (uint64_t)(32u + sub) << (e - 5u);
}

uint64_t fs_hist_quantile(const fs_hist *h, double q)
{
    if (!h->count)
        return 0;
    uint64_t want = (uint64_t)(q * (double)h->count);
    if (want >= h->count)
        want = h->count - 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < FS_HIST_N; i++) {
        seen += h->b[i];
        if (seen > want) {
            uint64_t lo = fs_hist_low(i);
            uint64_t hi = i + 1 < FS_HIST_N ? fs_hist_low(i + 1) : lo;
            uint64_t mid = lo + (hi - lo) / 2;
            return mid > h->max ? h->max : mid;
        }
    }
    return h->max;
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
