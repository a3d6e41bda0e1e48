/* stats: how sure a set of repeated measurements lets one be.
 *
 * Distribution-free and without randomness, so that the same runs always
 * give the same interval:
 * - the median's interval comes from order statistics: [x(k), x(n+1-k)]
 *   covers the true median with probability 1 - 2 P(Bin(n, 1/2) < k),
 *   whatever the distribution of the runs;
 * - the difference between two sets is the Hodges-Lehmann shift (the median
 *   of every pairwise difference b - a) with its exact Mann-Whitney interval
 *   (the k-th smallest and k-th largest pairwise difference), exact up to
 *   about 25 runs a side and from the normal approximation beyond;
 * Below 6 runs (median) or 4 runs each (difference) no interval reaches 95%;
 * the widest one there is is returned with its real, smaller coverage, and
 * a difference is never called proven on it.
 *
 * Functions return 0 or a negative errno.
 */
#ifndef FSYNCLAB_STATS_H
#define FSYNCLAB_STATS_H

#include <stddef.h>

#define STATS_CONFIDENCE 0.95
#define STATS_MAX_SAMPLES 256   /* per set: the Mann-Whitney table grows as m * n */

struct stats_summary {
    size_t n;
    double min, max;
    double median;
    double p10, p90;          /* linear interpolation between order statistics */
    double ci_low, ci_high;   /* interval for the median */
    double ci_coverage;       /* its exact coverage: >= 0.95 from n = 6 on, less below */
    double rel_spread;        /* (max - min) / median; 0 when the median is 0 */
};

/* Summarizes x[0..n-1] (1 <= n <= STATS_MAX_SAMPLES; x is not changed).
 * -EINVAL for n out of range or a value that is not finite. */
int stats_summarize(const double *x, size_t n, struct stats_summary *out);

/* The q-quantile (0 <= q <= 1) of sorted[0..n-1], n >= 1, interpolating
 * linearly between neighbours (q = 0.5 is the median). */
double stats_quantile(const double *sorted, size_t n, double q);

/* Half of the median's interval as a fraction of the median (0.1 is +-10%);
 * asymmetric intervals use their wider side.  0 when the median is 0. */
double stats_rel_half_width(const struct stats_summary *s);

enum stats_verdict {
    STATS_NO_DIFFERENCE,   /* the 95% interval holds 0 */
    STATS_B_HIGHER,        /* the whole interval is above 0 */
    STATS_B_LOWER,         /* the whole interval is below 0 */
    STATS_TOO_FEW,         /* no interval reaches 95% with so few runs */
};

struct stats_diff {
    double median_diff;      /* median(b) - median(a) */
    double shift;            /* Hodges-Lehmann: median of all b[j] - a[i] */
    double low, high;        /* interval for the shift */
    double coverage;         /* its exact coverage under the shift model */
    enum stats_verdict verdict;
};

/* Compares b against a (each 1 .. STATS_MAX_SAMPLES values).  -EINVAL for a
 * size out of range or a value that is not finite, -ENOMEM. */
int stats_diff(const double *a, size_t na, const double *b, size_t nb, struct stats_diff *out);

/* "no difference proven", "difference proven: B higher" (or lower), or
 * "no difference proven (too few runs for 95%)". */
const char *stats_verdict_name(enum stats_verdict v);

#endif
