/* DESIGN: the durability-throughput curve.
 *
 * Every point is measured twice on this machine: its throughput by the
 * benchmark runner, its data-loss window by crash trials.  A crash trial only
 * shows a batch interval if the writer runs through several of them before
 * the kill, and a trial counts only if the writer ran two intervals
 * (verifier.h), so each batch point's trials append at least eight
 * intervals' worth of entries at the rate the benchmark just measured
 * (capped at a million), as crash trials left to size themselves do; `none` gets as long as the longest batch, so that its window (the
 * whole unsynced run) sits to the right of every batch point.
 *
 * Each point's benchmark runs `repeat` times (3 by default) after a
 * warm-up, every run with the 4 s a single run used to have, so that the
 * plot can say which neighbours differ and which only seem to.
 *
 * The points' files and plots are report/'s (report_curve_write).
 */
#include "bench/bench.h"

#include <string.h>

#define CRASH_ENTRIES_CAP 1000000ull

size_t bench_curve_points(const struct bench_curve_config *cfg)
{
    return cfg->n_intervals + 2;
}

static struct wal_strategy point_strategy(const struct bench_curve_config *cfg, size_t i)
{
    if (i == 0)
        return (struct wal_strategy){ .kind = WAL_ALWAYS };
    if (i <= cfg->n_intervals)
        return (struct wal_strategy){ .kind = WAL_BATCH, .interval_ms = cfg->intervals[i - 1] };
    return (struct wal_strategy){ .kind = WAL_NONE };
}

int bench_curve_run(const struct bench_curve_config *cfg, struct bench_curve_point *points,
                    void (*progress)(void *arg, size_t point, size_t points, const char *phase),
                    void *progress_arg, char *err, size_t errlen)
{
    size_t n = bench_curve_points(cfg);
    uint64_t longest = cfg->crash_entries;
    for (size_t i = 0; i < n; i++) {
        struct bench_curve_point *p = &points[i];
        memset(p, 0, sizeof *p);
        p->strategy = point_strategy(cfg, i);

        if (progress)
            progress(progress_arg, i, n, "bench");
        struct bench_config bc = { .entries = cfg->entries, .entry_size = cfg->entry_size,
                                   .sync_method = cfg->sync_method, .dir = cfg->dir,
                                   .writers = cfg->writers ? cfg->writers : 1,
                                   .prealloc = cfg->prealloc,
                                   .repeat = cfg->repeat ? cfg->repeat
                                                         : BENCH_CURVE_DEFAULT_REPEAT };
        bc.max_seconds = bench_default_budget(&bc, 1);   /* 4 s a run, as one run had */
        static struct bench_result r;   /* two histograms: too big for a thread's stack */
        int rc = bench_run(&bc, &p->strategy, 1, &r, err, errlen);
        if (rc < 0)
            return rc;
        p->ops_per_sec = r.ops_per_sec;
        p->ops = r.ops;
        memcpy(p->run_ops_per_sec, r.run_ops_per_sec, sizeof p->run_ops_per_sec);
        p->bench_entries = r.entries_written;

        uint64_t entries = cfg->crash_entries;
        if (p->strategy.kind == WAL_BATCH) {
            uint64_t eight = p->ops_per_sec * 8 * p->strategy.interval_ms / 1000;
            if (eight > entries)
                entries = eight;
        } else if (p->strategy.kind == WAL_NONE) {
            entries = longest;
        }
        if (entries > CRASH_ENTRIES_CAP)
            entries = CRASH_ENTRIES_CAP;
        if (entries > longest)
            longest = entries;
        p->crash_entries = entries;

        if (progress)
            progress(progress_arg, i, n, "crash");
        struct crashsim_config cc = { .strategy = p->strategy, .entries = entries,
                                      .entry_size = cfg->entry_size,
                                      .sync_method = cfg->sync_method, .model = cfg->model,
                                      .seed = cfg->seed + i, .trials = cfg->trials,
                                      .max_seconds = BENCH_CURVE_CRASH_SECONDS, .dir = cfg->dir,
                                      .writeback_expire_ms = -1, .writeback_interval_ms = -1,
                                      .writers = cfg->writers, .prealloc = cfg->prealloc };
        rc = crashsim_run(&cc, &p->crash, NULL, NULL, err, errlen);
        if (rc < 0)
            return rc;
    }
    return 0;
}
