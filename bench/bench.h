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
#include "verifier/verifier.h"
#include "wal/wal.h"

#define BENCH_MAX_ENTRIES 10000000ull
#define BENCH_MAX_STRATEGIES 64
#define BENCH_DEFAULT_ENTRY_SIZE 128u
#define BENCH_DEFAULT_SECONDS 4.0
#define BENCH_MAX_SECONDS 3600.0
#define BENCH_MAX_WRITERS 256u

struct bench_env {
    char dir[WAL_PATH_MAX];
    char fs_type[32];       /* "ext4", "tmpfs", "overlayfs", ... */
    char device[128];       /* from /proc/self/mountinfo, "" when unknown */
    char warning[160];      /* "" when a sync on this file system means something */
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
};

/* Runs each strategy on a fresh scratch file in cfg->dir, removed afterwards
 * (also on SIGINT/SIGTERM).  results[i] answers strategies[i].  The budget is
 * shared: the cheapest strategies run first and pass on what they leave.
 * On an I/O failure stops and returns the negative errno, with a message
 * naming the call in err. */
int bench_run(const struct bench_config *cfg, const struct wal_strategy *strategies, size_t n,
              struct bench_result *results, char *err, size_t errlen);

/* ---- the durability-throughput curve --------------------------------------
 * One point per strategy: always, batch_<N>ms for each interval, none.  Each
 * point's ops/sec comes from bench_run and its loss window from crash trials,
 * both on this machine. */
#define BENCH_CURVE_MAX_INTERVALS 32
#define BENCH_CURVE_DEFAULT_INTERVALS "1,2,5,10,20,50,100,200,500,1000"

struct bench_curve_config {
    unsigned intervals[BENCH_CURVE_MAX_INTERVALS];   /* batch intervals, ms */
    size_t n_intervals;
    uint64_t entries;                 /* benchmark entries per point */
    uint64_t crash_entries;           /* at least this many per crash trial */
    uint32_t trials;                  /* crash trials per point */
    enum crashsim_model model;
    uint64_t seed;
    uint32_t entry_size;
    enum wal_sync_method sync_method;
    const char *dir;                  /* data directory */
    unsigned writers;                 /* threads appending, in benchmark and trials (0: 1) */
    int prealloc;                     /* preallocate each log first */
};

struct bench_curve_point {
    struct wal_strategy strategy;
    uint64_t ops_per_sec;
    uint64_t bench_entries;           /* written by the benchmark */
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
