/* DESIGN: one table of the numeric options.  The protocol's field and the
 * command line's flag share a row, so that a range is written once and
 * both front ends accept, refuse and describe the same values.  The
 * library's own guards (bench_run, crashsim_run) check their contracts,
 * which are wider; these are the limits a user meets. */
#include "report/report.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static const struct report_range ranges[REPORT_LIMITS] = {
    [REPORT_ENTRIES] = { "entries", "--entries", 1, (double)BENCH_MAX_ENTRIES, 1 },
    [REPORT_CRASH_ENTRIES] = { "entries", "--entries", 1, (double)REPORT_CRASH_MAX_ENTRIES, 1 },
    [REPORT_ENTRY_SIZE] = { "entry_size", "--entry-size", WAL_HEADER_SIZE, WAL_MAX_RECORD, 1 },
    [REPORT_MAX_SECONDS] = { "max_seconds", "--max-seconds", 0, BENCH_MAX_SECONDS, 0 },
    [REPORT_WRITERS] = { "writers", "--writers", 1, BENCH_MAX_WRITERS, 1 },
    [REPORT_TRIALS] = { "trials", "--trials", 1, REPORT_CRASH_MAX_TRIALS, 1 },
    [REPORT_SEED] = { "seed", "--seed", 0, REPORT_MAX_SEED, 1 },
    [REPORT_WRITEBACK_EXPIRE_MS] = { "writeback_expire_ms", "--writeback-expire-ms", 0,
                                     REPORT_MAX_MS, 1 },
    [REPORT_WRITEBACK_INTERVAL_MS] = { "writeback_interval_ms", "--writeback-interval-ms", 1,
                                       REPORT_MAX_MS, 1 },
    [REPORT_INTERVAL_MS] = { "intervals", "--intervals", WAL_BATCH_MIN_MS, WAL_BATCH_MAX_MS, 1 },
    [REPORT_REPEAT] = { "repeat", "--repeat", 1, BENCH_MAX_REPEAT, 1 },
    [REPORT_SECONDS] = { "seconds", "--seconds", 0, BENCH_MAX_SECONDS, 0 },
    [REPORT_CUTS] = { "cuts", "--cuts", 0, RECORDER_MAX_CUTS, 1 },
    [REPORT_OPS] = { "ops", "--ops", 1, RECORDER_MAX_OPS, 1 },
    [REPORT_MAX_POINTS] = { "max_points", "--max-points", 1, 10000000, 1 },
    [REPORT_MAX_STATES] = { "max_states", "--max-states", 1, 100000000, 1 },
};

const struct report_range *report_limit(enum report_limit which)
{
    return &ranges[which];
}

int report_limit_ok(enum report_limit which, double v)
{
    const struct report_range *r = &ranges[which];
    if (!isfinite(v) || v > r->hi)
        return 0;
    if (!r->whole)
        return v > r->lo;
    return v >= r->lo && v == trunc(v);
}

const char *report_limit_text(enum report_limit which, char *buf, size_t len)
{
    const struct report_range *r = &ranges[which];
    if (r->whole)
        snprintf(buf, len, "a whole number from %.0f to %.0f", r->lo, r->hi);
    else
        snprintf(buf, len, "a number greater than %g and at most %g", r->lo, r->hi);
    return buf;
}

/* Edit distance of two short strings; SIZE_MAX when either is over 64 bytes. */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[65];
    if (la > 64 || lb > 64)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[lb];
}

const char *report_nearest(const char *given, const char *const *words, size_t max)
{
    const char *best = NULL;
    size_t best_d = SIZE_MAX;
    for (; words && *words; words++) {
        size_t d = distance(given, *words);
        if (d < best_d) {
            best_d = d;
            best = *words;
        }
    }
    return best && best_d <= max ? best : NULL;
}
