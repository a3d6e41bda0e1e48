/* hist: fixed-size log-linear histogram of non-negative integers (nanoseconds).
 *
 * Latency distributions must not cost memory per sample (a run may have ten
 * million entries), so values are counted into buckets: 64 linear sub-buckets
 * per power of two, which bounds the relative error of a quantile at 1/64.
 * min, max, count and sum are exact.
 */
#ifndef FSYNCLAB_HIST_H
#define FSYNCLAB_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 6
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_BUCKETS ((64 - HIST_SUB_BITS + 1) * HIST_SUB)

struct hist {
    uint64_t count;
    uint64_t sum;
    uint64_t min;
    uint64_t max;
    uint64_t bucket[HIST_BUCKETS];
};

void hist_init(struct hist *h);
void hist_add(struct hist *h, uint64_t value);
void hist_merge(struct hist *into, const struct hist *from);
/* The value below which a fraction q (0..1) of the samples lie; 0 when empty.
 * Exact for the extremes (q = 0 gives min, q = 1 gives max). */
uint64_t hist_quantile(const struct hist *h, double q);

#endif
