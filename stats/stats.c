/* DESIGN: intervals from order statistics, no resampling.
 *
 * A bootstrap would need a random generator and a seed to replay it, and
 * with the 3 to 10 runs a benchmark can afford its percentile interval is
 * known to be too narrow.  Order statistics give an exact coverage for any
 * distribution of the runs, computed here rather than looked up in a table:
 * - the median: the number of runs below the true median is Bin(n, 1/2);
 * - the shift between two sets: under "no difference but a shift", the
 *   Mann-Whitney count U (pairs with b > a) has a known distribution, the
 *   coefficients of the Gaussian binomial [m+n choose m]_q, which is built
 *   factor by factor: multiply by (1 - q^(n+i)), divide by (1 - q^i).
 * Counts are held in doubles, exact up to about 25 runs a side; past that
 * U is close enough to normal (see mann_whitney_cdf).
 */
#include "stats/stats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *pa, const void *pb)
{
    double a = *(const double *)pa, b = *(const double *)pb;
    return (a > b) - (a < b);
}

static int valid(const double *x, size_t n)
{
    if (n == 0 || n > STATS_MAX_SAMPLES)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return 0;
    return 1;
}

double stats_quantile(const double *sorted, size_t n, double q)
{
    if (q <= 0)
        return sorted[0];
    if (q >= 1)
        return sorted[n - 1];
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)pos;
    double frac = pos - (double)lo;
    if (lo + 1 >= n)
        return sorted[n - 1];
    return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
}

/* P(Bin(n, 1/2) <= k), in log space so that no term underflows. */
static double binom_half_cdf(size_t n, size_t k)
{
    double sum = 0;
    for (size_t i = 0; i <= k && i <= n; i++)
        sum += exp(lgamma((double)n + 1) - lgamma((double)i + 1) - lgamma((double)(n - i) + 1) -
                   (double)n * log(2.0));
    return sum;
}

int stats_summarize(const double *x, size_t n, struct stats_summary *out)
{
    if (!valid(x, n))
        return -EINVAL;
    double s[STATS_MAX_SAMPLES];
    memcpy(s, x, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_double);
    memset(out, 0, sizeof *out);
    out->n = n;
    out->min = s[0];
    out->max = s[n - 1];
    out->median = stats_quantile(s, n, 0.5);
    out->p10 = stats_quantile(s, n, 0.1);
    out->p90 = stats_quantile(s, n, 0.9);
    out->rel_spread = out->median != 0 ? (out->max - out->min) / fabs(out->median) : 0;

    /* The largest k whose interval still covers 95%; k = 1 (the whole range)
     * when none does, with its real coverage. */
    size_t k = 1;
    while (k + 1 <= (n + 1) / 2 && 1 - 2 * binom_half_cdf(n, k) >= STATS_CONFIDENCE)
        k++;
    out->ci_low = s[k - 1];
    out->ci_high = s[n - k];
    out->ci_coverage = n == 1 ? 0 : 1 - 2 * binom_half_cdf(n, k - 1);
    return 0;
}

double stats_rel_half_width(const struct stats_summary *s)
{
    if (s->median == 0)
        return 0;
    double up = s->ci_high - s->median, down = s->median - s->ci_low;
    return (up > down ? up : down) / fabs(s->median);
}

/* The Mann-Whitney null distribution for sizes m and n as cumulative
 * probabilities: cdf[u] = P(U <= u), u = 0 .. m*n.  Exact while every count
 * is an integer a double holds (C(m+n, m) < 2^50, about 25 runs a side);
 * beyond that the subtractions would cancel, and the normal approximation
 * with continuity correction is used, as the printed tables do past 20.
 * NULL when out of memory. */
static double *mann_whitney_cdf(size_t m, size_t n)
{
    size_t top = m * n;
    double *c = calloc(top + 1, sizeof *c);
    if (!c)
        return NULL;
    double log_total = lgamma((double)(m + n) + 1) - lgamma((double)m + 1) - lgamma((double)n + 1);
    if (log_total > 50 * log(2.0)) {
        double mean = (double)top / 2, sd = sqrt((double)top * (double)(m + n + 1) / 12);
        for (size_t u = 0; u <= top; u++)
            c[u] = 0.5 * erfc(-((double)u + 0.5 - mean) / (sd * sqrt(2.0)));
        return c;
    }
    c[0] = 1;   /* [n choose 0]_q = 1 */
    for (size_t i = 1; i <= m; i++) {
        size_t deg = (i - 1) * n;   /* degree before this factor */
        /* times (1 - q^(n+i)), from the top down */
        for (size_t u = deg + n + i; u >= n + i; u--) {
            if (u <= top)
                c[u] -= c[u - (n + i)];
            if (u == n + i)
                break;
        }
        /* over (1 - q^i): a running sum with stride i */
        for (size_t u = i; u <= top; u++)
            c[u] += c[u - i];
    }
    double total = 0, run = 0;
    for (size_t u = 0; u <= top; u++)
        total += c[u];
    for (size_t u = 0; u <= top; u++) {
        run += c[u];
        c[u] = run / total;
    }
    return c;
}

static double median_of(const double *x, size_t n, double *buf)
{
    memcpy(buf, x, n * sizeof *buf);
    qsort(buf, n, sizeof *buf, cmp_double);
    return stats_quantile(buf, n, 0.5);
}

int stats_diff(const double *a, size_t na, const double *b, size_t nb, struct stats_diff *out)
{
    if (!valid(a, na) || !valid(b, nb))
        return -EINVAL;
    size_t total = na * nb;
    double *d = malloc(total * sizeof *d);
    double *cdf = mann_whitney_cdf(na, nb);
    if (!d || !cdf) {
        free(d);
        free(cdf);
        return -ENOMEM;
    }
    memset(out, 0, sizeof *out);
    double buf[STATS_MAX_SAMPLES];
    out->median_diff = median_of(b, nb, buf) - median_of(a, na, buf);

    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            d[i * nb + j] = b[j] - a[i];
    qsort(d, total, sizeof *d, cmp_double);
    out->shift = stats_quantile(d, total, 0.5);

    /* [d(k), d(total+1-k)] misses with probability 2 P(U <= k-1). */
    size_t k = 1;
    while (k + 1 <= (total + 1) / 2 && 1 - 2 * cdf[k] >= STATS_CONFIDENCE)
        k++;
    out->low = d[k - 1];
    out->high = d[total - k];
    out->coverage = 1 - 2 * cdf[k - 1];
    if (out->coverage < 0)
        out->coverage = 0;
    if (out->coverage < STATS_CONFIDENCE)
        out->verdict = STATS_TOO_FEW;
    else if (out->low > 0)
        out->verdict = STATS_B_HIGHER;
    else if (out->high < 0)
        out->verdict = STATS_B_LOWER;
    else
        out->verdict = STATS_NO_DIFFERENCE;
    free(d);
    free(cdf);
    return 0;
}

const char *stats_verdict_name(enum stats_verdict v)
{
    switch (v) {
    case STATS_NO_DIFFERENCE: return "no difference proven";
    case STATS_B_HIGHER: return "difference proven: B higher";
    case STATS_B_LOWER: return "difference proven: B lower";
    case STATS_TOO_FEW: return "no difference proven (too few runs for 95%)";
    }
    return "?";
}
