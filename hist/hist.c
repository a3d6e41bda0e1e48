/* DESIGN: a value v < 64 has its own bucket; above that, v's power of two
 * (the index of its top bit) picks a group of 64 buckets and the next six bits
 * pick the bucket inside it.  A quantile answers with the middle of its bucket,
 * clamped to the exact min and max. */
#include "hist/hist.h"

#include <string.h>

static unsigned bucket_of(uint64_t v)
{
    if (v < HIST_SUB)
        return (unsigned)v;
    unsigned top = 63u - (unsigned)__builtin_clzll(v);      /* >= HIST_SUB_BITS */
    unsigned shift = top - HIST_SUB_BITS;
    unsigned sub = (unsigned)(v >> shift) & (HIST_SUB - 1);
    return (shift + 1) * HIST_SUB + sub;
}

static uint64_t bucket_low(unsigned b)
{
    if (b < HIST_SUB)
        return b;
    unsigned shift = b / HIST_SUB - 1;
    uint64_t sub = b % HIST_SUB;
    return (HIST_SUB + sub) << shift;
}

static uint64_t bucket_width(unsigned b)
{
    return b < HIST_SUB ? 1 : (uint64_t)1 << (b / HIST_SUB - 1);
}

void hist_init(struct hist *h)
{
    memset(h, 0, sizeof *h);
}

void hist_add(struct hist *h, uint64_t v)
{
    if (h->count == 0 || v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
    h->count++;
    h->sum += v;
    h->bucket[bucket_of(v)]++;
}

void hist_merge(struct hist *into, const struct hist *from)
{
    if (from->count == 0)
        return;
    if (into->count == 0 || from->min < into->min)
        into->min = from->min;
    if (from->max > into->max)
        into->max = from->max;
    into->count += from->count;
    into->sum += from->sum;
    for (unsigned b = 0; b < HIST_BUCKETS; b++)
        into->bucket[b] += from->bucket[b];
}

uint64_t hist_quantile(const struct hist *h, double q)
{
    if (h->count == 0)
        return 0;
    if (q <= 0)
        return h->min;
    if (q >= 1)
        return h->max;
    /* rank of the sample wanted, 1-based: the smallest r with r >= q * count */
    double want = q * (double)h->count;
    uint64_t rank = (uint64_t)want;
    if ((double)rank < want)
        rank++;
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned b = 0; b < HIST_BUCKETS; b++) {
        seen += h->bucket[b];
        if (seen >= rank) {
            uint64_t mid = bucket_low(b) + bucket_width(b) / 2;
            if (mid < h->min)
                mid = h->min;
            if (mid > h->max)
                mid = h->max;
            return mid;
        }
    }
    return h->max;
}
