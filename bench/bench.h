/* bench: runs strategies against a scratch log on a real file system and
 * measures them, and sweeps the durability-throughput curve.  Used by the
 * node (fsync_benchmark) and the command line; report/ prints the results.
 *
 * Functions return 0 or a negative errno.
 */
#ifndef FSYNCLAB_BENCH_H
#define FSYNCLAB_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "crashsim/crashsim.h"
#include "hist/hist.h"
#include "stats/stats.h"
#include "verifier/verifier.h"
#include "wal/wal.h"

#define BENCH_MAX_ENTRIES 10000000ull
#define BENCH_MAX_STRATEGIES 64
#define BENCH_DEFAULT_ENTRY_SIZE 128u
#define BENCH_DEFAULT_SECONDS 4.0
#define BENCH_MAX_SECONDS 3600.0
#define BENCH_MAX_WRITERS 256u
#define BENCH_MAX_REPEAT 100u
#define BENCH_SHORT_RUN_SECONDS 0.1   /* a run shorter than this is mostly start-up */

enum bench_warmup {
    BENCH_WARMUP_AUTO = 0,   /* one discarded run per strategy when repeat > 1 */
    BENCH_WARMUP_ON = 1,
    BENCH_WARMUP_OFF = -1,
};

struct bench_env {
    char dir[WAL_PATH_MAX];
    char fs_type[32];       /* "ext4", "tmpfs", "overlayfs", ... */
    char device[128];       /* from /proc/self/mountinfo, "" when unknown */
    char warning[256];      /* "" when a sync on this file system means something */
    long dirty_expire_cs;   /* /proc/sys/vm/dirty_expire_centisecs, -1 unknown */
    long dirty_writeback_cs;
};

/* Fills env for the data directory dir (statfs, /proc/self/mountinfo,
 * /proc/sys/vm).  Fails only when dir cannot be examined. */
int bench_env_probe(const char *dir, struct bench_env *env);

/* The data directory: --dir if given, else $FSYNCLAB_DIR, else ".". */
const char *bench_data_dir(const char *flag);

struct bench_config {
    uint64_t entries;                 /* 1 .. BENCH_MAX_ENTRIES */
    uint32_t entry_size;              /* whole record, WAL_HEADER_SIZE .. WAL_MAX_RECORD */
    enum wal_sync_method sync_method;
    double max_seconds;               /* the whole request's budget, (0, 3600] */
    const char *dir;
    unsigned writers;                 /* threads appending to one log, 1..256 (0 means 1) */
    int prealloc;                     /* fallocate and zero-fill the file first */
    /* Left zero, a request runs each strategy once for `entries`, exactly as
     * before these existed. */
    unsigned repeat;                  /* measured runs per strategy, 1..BENCH_MAX_REPEAT (0: 1) */
    double seconds;                   /* > 0: each run lasts this long and `entries` is only a
                                       * cap (lowered to what the free space holds); 0: by count */
    enum bench_warmup warmup;
};

struct bench_result {
    struct wal_strategy strategy;
    uint32_t record_size;             /* on disk: entry_size, padded for o_direct_dsync */
    uint64_t entries_requested;
    uint64_t entries_written;         /* acknowledged */
    int complete;                     /* wrote them all within its budget */
    double seconds;                   /* first append to last acknowledgement */
    uint64_t ops_per_sec;
    struct hist ack_ns;               /* acknowledgement latency */
    struct wal_stats wal;             /* syncs, sync latency, exposure */
    /* With repeat > 1, ops_per_sec is the median of the measured runs (the
     * warm-up is not one of them); entries, seconds, syncs and uncovered are
     * their sums, entries_requested is per run times runs, complete means
     * every run was, the histograms and exposure cover every run. */
    unsigned runs;                    /* measured runs */
    uint64_t run_ops_per_sec[BENCH_MAX_REPEAT];
    uint64_t run_entries[BENCH_MAX_REPEAT];
    double run_seconds[BENCH_MAX_REPEAT];
    uint64_t run_start_ns[BENCH_MAX_REPEAT];   /* CLOCK_MONOTONIC: shows the interleaving */
    unsigned short_runs;              /* measured runs under BENCH_SHORT_RUN_SECONDS */
    int warmed_up;                    /* a discarded run came first */
    int timed;                        /* runs lasted cfg->seconds, not a count */
    struct stats_summary ops;         /* over run_ops_per_sec */
};

/* The budget for n strategies when none is given: BENCH_DEFAULT_SECONDS a
 * round of runs (the warm-up is one), or for time-based runs their seconds
 * plus a quarter and a second; at most BENCH_MAX_SECONDS. */
double bench_default_budget(const struct bench_config *cfg, size_t n);

/* Runs each strategy on a fresh scratch file in cfg->dir, removed afterwards
 * (also on SIGINT/SIGTERM).  results[i] answers strategies[i].  The budget is
 * shared: the cheapest strategies run first and pass on what they leave.
 * Repeats go round-robin: every strategy's warm-up, then every strategy's
 * first measured run, and so on, so that drift moves all of them alike.
 * On an I/O failure stops and returns the negative errno, with a message
 * naming the call in err. */
int bench_run(const struct bench_config *cfg, const struct wal_strategy *strategies, size_t n,
              struct bench_result *results, char *err, size_t errlen);

/* Puts a WARNING in env (unless it has one already) when the syncs that
 * results measured returned in under WAL_FAST_SYNC_NS at the median: the
 * fastest strategy's sync p50, or under O_DSYNC its acknowledgement p50.
 * Returns 1 when it did. */
int bench_check_syncs(struct bench_env *env, const struct bench_config *cfg,
                      const struct bench_result *results, size_t n);
/* The same for crash trials, from their calibration (out[i] with
 * syncs_untrusted set). */
int bench_check_crash_syncs(struct bench_env *env, const struct verifier_summary *out, size_t n);

/* ---- the durability-throughput curve --------------------------------------
 * One point per strategy: always, batch_<N>ms for each interval, none.  Each
 * point's ops/sec comes from bench_run and its loss window from crash trials,
 * both on this machine. */
#define BENCH_CURVE_MAX_INTERVALS 32
#define BENCH_CURVE_DEFAULT_INTERVALS "1,2,5,10,20,50,100,200,500,1000"
#define BENCH_CURVE_DEFAULT_REPEAT 3u
#define BENCH_CURVE_CRASH_SECONDS 60.0   /* each point's crash trials' budget */

struct bench_curve_config {
    unsigned intervals[BENCH_CURVE_MAX_INTERVALS];   /* batch intervals, ms */
    size_t n_intervals;
    uint64_t entries;                 /* benchmark entries per point */
    uint64_t crash_entries;           /* at least this many per crash trial */
    uint32_t trials;                  /* crash trials per point */
    struct pl_model model;
    uint64_t seed;
    uint32_t entry_size;
    enum wal_sync_method sync_method;
    const char *dir;                  /* data directory */
    unsigned writers;                 /* threads appending, in benchmark and trials (0: 1) */
    int prealloc;                     /* preallocate each log first */
    unsigned repeat;                  /* benchmark runs per point, after a warm-up when > 1
                                       * (0: BENCH_CURVE_DEFAULT_REPEAT) */
};

struct bench_curve_point {
    struct wal_strategy strategy;
    uint64_t ops_per_sec;             /* the median of the runs */
    struct stats_summary ops;         /* the runs: interval, p10/p90 */
    uint64_t run_ops_per_sec[BENCH_MAX_REPEAT];
    uint64_t bench_entries;           /* written by the benchmark, all runs */
    uint64_t crash_entries;           /* per crash trial */
    struct verifier_summary crash;
};

/* Number of points for cfg: always + intervals + none. */
size_t bench_curve_points(const struct bench_curve_config *cfg);

/* Measures every point into points (bench_curve_points(cfg) of them).
 * progress, when set, is told which point is running ("bench" or "crash"). */
int bench_curve_run(const struct bench_curve_config *cfg, struct bench_curve_point *points,
                    void (*progress)(void *arg, size_t point, size_t points, const char *phase),
                    void *progress_arg, char *err, size_t errlen);

#endif
