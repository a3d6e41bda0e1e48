/* bench: runs strategies against a scratch log on a real file system and
 * measures them.  Used by the node (fsync_benchmark) and the command line.
 *
 * Functions return 0 or a negative errno.
 */
#ifndef FSYNCLAB_BENCH_H
#define FSYNCLAB_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "hist/hist.h"
#include "wal/wal.h"

#define BENCH_MAX_ENTRIES 10000000ull
#define BENCH_MAX_STRATEGIES 64
#define BENCH_DEFAULT_ENTRY_SIZE 128u
#define BENCH_DEFAULT_SECONDS 4.0
#define BENCH_MAX_SECONDS 3600.0
#define BENCH_MAX_WRITERS 256u

struct bench_env {
    char dir[4096];
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

#endif
