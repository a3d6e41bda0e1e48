/* DESIGN: the benchmark runner.
 *
 * Each strategy gets a fresh scratch file in the data directory, writes its
 * entries through the log under test, and the file is removed afterwards:
 * also when SIGINT or SIGTERM arrive mid-run (a handler unlinks the one
 * scratch path in use, then lets the signal take its default course, as
 * pg_test_fsync does).
 *
 * A request has one time budget.  Strategies run cheapest first (none,
 * then batch from the longest interval down, then always) and each may use
 * an equal share of what is left, so what a fast strategy leaves over goes to
 * the slow ones instead of the first in the list taking it all.  Results are
 * stored in the requested order whatever the running order.
 *
 * With several writers, each thread appends its share of the entries to the
 * one log; ops/sec is all acknowledgements over the wall time of the run.
 *
 * Repeats interleave: a round runs every strategy once (in the same cheapest
 * first order) and the next round starts over, so that a disk drifting
 * during the request moves every strategy alike.  A warm-up round, when
 * asked for, runs first and is thrown away.  The budget's share is then per
 * run: what is left over the runs still to go.  A time-based run writes
 * until its seconds are up; `entries` only caps it.
 *
 * Nothing here keeps a sample per entry: latencies go into histograms.
 */
#include "bench/bench.h"

#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* ---- environment -------------------------------------------------------- */

const char *bench_data_dir(const char *flag)
{
    if (flag && *flag)
        return flag;
    const char *env = getenv("FSYNCLAB_DIR");
    if (env && *env)
        return env;
    return ".";
}

static const char *fs_name(unsigned long magic)
{
    switch (magic) {
    case 0xEF53: return "ext4";
    case 0x01021994: return "tmpfs";
    case 0x858458f6: return "ramfs";
    case 0x794c7630: return "overlayfs";
    case 0x58465342: return "xfs";
    case 0x9123683e: return "btrfs";
    case 0xF2F52010: return "f2fs";
    case 0x2fc12fc1: return "zfs";
    case 0x6969: return "nfs";
    case 0x65735546: return "fuse";
    case 0x01021997: return "9p";
    case 0x4d44: return "vfat";
    default: return NULL;
    }
}

static long read_proc_long(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    long v;
    int ok = fscanf(f, "%ld", &v) == 1;
    fclose(f);
    return ok ? v : -1;
}

/* Finds dir's mount in /proc/self/mountinfo by device number: its source
 * (the device) and whether it carries the `volatile` option. */
static void probe_mount(const char *dir, struct bench_env *env, int *is_volatile)
{
    struct stat st;
    *is_volatile = 0;
    if (stat(dir, &st) != 0)
        return;
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        unsigned maj, min;
        if (sscanf(line, "%*s %*s %u:%u", &maj, &min) != 2)
            continue;
        if (maj != major(st.st_dev) || min != minor(st.st_dev))
            continue;
        char *sep = strstr(line, " - ");
        if (!sep)
            continue;
        char fstype[64], source[128], opts[1024] = "";
        if (sscanf(sep + 3, "%63s %127s %1023s", fstype, source, opts) >= 2)
            snprintf(env->device, sizeof env->device, "%s", source);
        if (strstr(opts, "volatile"))
            *is_volatile = 1;
        /* a later line for the same device is a mount on top: keep reading */
    }
    fclose(f);
}

int bench_env_probe(const char *dir, struct bench_env *env)
{
    memset(env, 0, sizeof *env);
    snprintf(env->dir, sizeof env->dir, "%s", dir);
    struct statfs sfs;
    if (statfs(dir, &sfs) != 0)
        return -errno;
    const char *name = fs_name((unsigned long)sfs.f_type);
    if (name)
        snprintf(env->fs_type, sizeof env->fs_type, "%s", name);
    else
        snprintf(env->fs_type, sizeof env->fs_type, "0x%lx", (unsigned long)sfs.f_type);

    int is_volatile;
    probe_mount(dir, env, &is_volatile);
    if (strcmp(env->fs_type, "tmpfs") == 0 || strcmp(env->fs_type, "ramfs") == 0)
        snprintf(env->warning, sizeof env->warning,
                 "%s keeps files in memory: a sync returns at once and measures nothing",
                 env->fs_type);
    else if (strcmp(env->fs_type, "overlayfs") == 0 && is_volatile)
        snprintf(env->warning, sizeof env->warning,
                 "overlayfs mounted volatile: sync is a no-op and measures nothing");
    else if (strcmp(env->fs_type, "overlayfs") == 0)
        snprintf(env->warning, sizeof env->warning,
                 "overlayfs: syncs reach a hidden upper file system; results cannot be judged");

    env->dirty_expire_cs = read_proc_long("/proc/sys/vm/dirty_expire_centisecs");
    env->dirty_writeback_cs = read_proc_long("/proc/sys/vm/dirty_writeback_centisecs");
    return 0;
}

/* ---- running ------------------------------------------------------------ */

/* Lower runs first: none, batch by falling interval, group, always. */
static uint64_t run_cost(const struct wal_strategy *s)
{
    switch (s->kind) {
    case WAL_NONE: return 0;
    case WAL_BATCH: return 1 + (WAL_BATCH_MAX_MS - s->interval_ms);
    case WAL_GROUP: return 2 + WAL_BATCH_MAX_MS;
    case WAL_ALWAYS: return 3 + WAL_BATCH_MAX_MS;
    }
    return 0;
}

/* Strategies run one after another and each file is removed before the
 * next, so the need is one run's file plus a little slack.  A time-based run
 * has no count to check: its cap becomes what the free space holds. */
static int check_free_space(const struct bench_config *cfg, uint32_t record_size,
                            uint64_t *cap, char *err, size_t errlen)
{
    struct statvfs vfs;
    if (statvfs(cfg->dir, &vfs) != 0) {
        int e = errno;
        snprintf(err, errlen, "statvfs(%s): %s", cfg->dir, strerror(e));
        return -e;
    }
    unsigned long long need = (unsigned long long)cfg->entries * record_size;
    unsigned long long avail = (unsigned long long)vfs.f_bavail * vfs.f_frsize;
    *cap = cfg->entries;
    if (cfg->seconds > 0 && need + (1ull << 20) > avail && avail > (2ull << 20)) {
        *cap = (avail - (1ull << 20)) / record_size;
        need = *cap * record_size;
    }
    if (need + (1ull << 20) > avail) {
        snprintf(err, errlen, "not enough space in %s: needs %llu MiB, %llu MiB free",
                 cfg->dir, (need >> 20) + 1, avail >> 20);
        return -ENOSPC;
    }
    return 0;
}

/* One writer thread's share of a run. */
struct writer {
    pthread_t thread;
    struct wal_log *log;
    uint64_t entries;
    uint64_t deadline_ns;
    uint64_t written;
    uint64_t last_ack;
    struct hist ack_ns;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    for (uint64_t i = 0; i < w->entries; i++) {
        uint64_t t0 = wal_now_ns(), ack;
        if (wal_log_append(w->log, NULL, &ack) < 0)
            break;   /* the log is failed; close reports which call */
        hist_add(&w->ack_ns, ack - t0);
        w->written++;
        w->last_ack = ack;
        if (ack >= w->deadline_ns)
            break;
    }
    return NULL;
}

/* What one run may do: how many entries at most, until when (the budget),
 * and for a time-based run how long it lasts once started. */
struct run_plan {
    uint64_t entries;
    uint64_t deadline_ns;
    double seconds;
};

/* The scratch log for one run: created (live for the signal guard before it
 * exists), preallocated when asked, opened under s.  On failure nothing is
 * left open; the caller removes the file. */
static int open_log(const struct bench_config *cfg, const struct wal_strategy *s,
                    uint32_t record_size, uint64_t entries, const char *path,
                    struct wal_log **log, char *err, size_t errlen)
{
    struct wal_file *file;
    int rc = wal_file_open(path, cfg->sync_method, &file, err, errlen);
    if (rc < 0)
        return rc;
    if (cfg->prealloc && (rc = wal_file_prealloc(file, entries * record_size, err, errlen)) < 0) {
        file->methods->close(file);
        return rc;
    }
    rc = wal_log_open(log, file, s, record_size);
    if (rc < 0) {
        snprintf(err, errlen, "wal_log_open: %s", strerror(-rc));
        file->methods->close(file);
    }
    return rc;
}

/* Runs the writers of one run (a thread each, none for one writer) until
 * their shares are written or deadline_ns; sums them into r.  Returns how
 * many threads started (nw when all did) and the last ack in *last_ack. */
static unsigned write_entries(struct wal_log *log, struct writer *w, unsigned nw,
                              uint64_t entries, uint64_t start, uint64_t deadline_ns,
                              struct bench_result *r, uint64_t *last_ack)
{
    unsigned started = 0;
    for (unsigned i = 0; i < nw; i++) {
        w[i].log = log;
        w[i].entries = wal_writer_share(entries, nw, i);
        w[i].deadline_ns = deadline_ns;
        w[i].last_ack = start;
        hist_init(&w[i].ack_ns);
        if (w[i].entries == 0)
            continue;
        if (nw == 1) {
            writer_main(&w[i]);   /* no thread for the common case */
            started = 1;
            continue;
        }
        if (pthread_create(&w[i].thread, NULL, writer_main, &w[i]) != 0)
            break;
        started = i + 1;
    }
    *last_ack = start;
    for (unsigned i = 0; i < nw; i++) {
        if (nw > 1 && i < started && w[i].entries)
            pthread_join(w[i].thread, NULL);
        hist_merge(&r->ack_ns, &w[i].ack_ns);
        r->entries_written += w[i].written;
        if (w[i].last_ack > *last_ack)
            *last_ack = w[i].last_ack;
    }
    return nw == 1 ? 1 : started;
}

static int run_one(const struct bench_config *cfg, const struct wal_strategy *s,
                   uint32_t record_size, const struct run_plan *plan, unsigned index,
                   struct bench_result *r, char *err, size_t errlen)
{
    unsigned nw = cfg->writers ? cfg->writers : 1;
    memset(r, 0, sizeof *r);
    r->strategy = *s;
    r->record_size = record_size;
    r->entries_requested = plan->entries;
    hist_init(&r->ack_ns);
    hist_init(&r->wal.sync_ns);

    char scratch_path[WAL_PATH_MAX];
    int rc = wal_scratch_path(scratch_path, sizeof scratch_path, cfg->dir, "bench", index);
    if (rc < 0) {
        snprintf(err, errlen, "scratch path in %s: %s", cfg->dir, strerror(-rc));
        return rc;
    }
    /* Live before it exists: a signal during the create (and the directory
     * sync after it) must still remove it. */
    wal_scratch_live(scratch_path);
    struct writer *w = calloc(nw, sizeof *w);
    struct wal_log *log = NULL;
    if (!w) {
        rc = -ENOMEM;
        snprintf(err, errlen, "calloc: %s", strerror(ENOMEM));
    } else {
        rc = open_log(cfg, s, record_size, plan->entries, scratch_path, &log, err, errlen);
    }
    if (rc < 0)
        goto out;

    uint64_t start = wal_now_ns(), deadline_ns = plan->deadline_ns, last_ack;
    int cut_by_budget = 0;
    if (plan->seconds > 0) {
        uint64_t timed = start + (uint64_t)(plan->seconds * 1e9);
        cut_by_budget = timed > deadline_ns;
        if (!cut_by_budget)
            deadline_ns = timed;
    }
    unsigned started = write_entries(log, w, nw, plan->entries, start, deadline_ns, r, &last_ack);
    rc = wal_log_close(log, &r->wal);
    if (rc < 0) {
        snprintf(err, errlen, "%s(%s): %s", wal_op_call(r->wal.failed_op, cfg->sync_method),
                 scratch_path, strerror(-rc));
        goto out;
    }
    if (started < nw && r->entries_written < plan->entries) {
        rc = -EAGAIN;
        snprintf(err, errlen, "pthread_create: could not start %u writer threads", nw);
        goto out;
    }
    if (plan->seconds > 0)   /* it lasted its time, neither budget nor cap stopping it */
        r->complete = !cut_by_budget && last_ack >= deadline_ns;
    else
        r->complete = r->entries_written == plan->entries;
    r->seconds = (double)(last_ack - start) / 1e9;
    r->ops_per_sec = r->seconds > 0 ? (uint64_t)((double)r->entries_written / r->seconds + 0.5)
                                    : r->entries_written;
out:
    free(w);
    if (unlink(scratch_path) != 0 && rc == 0) {
        int e = errno;
        snprintf(err, errlen, "unlink(%s): %s", scratch_path, strerror(e));
        rc = -e;
    }
    wal_scratch_live(NULL);
    return rc;
}

/* Adds one measured run to its strategy's result: the first is copied
 * whole, so that a single run reads exactly as it always did. */
static void add_run(struct bench_result *into, const struct bench_result *run, uint64_t start_ns)
{
    unsigned k = into->runs;
    if (k == 0) {
        unsigned warmed = into->warmed_up;
        /* the arrays come after the fields a run fills: copy those only */
        memcpy(into, run, offsetof(struct bench_result, runs));
        into->warmed_up = warmed;
    } else {
        into->entries_requested += run->entries_requested;
        into->entries_written += run->entries_written;
        into->complete = into->complete && run->complete;
        into->seconds += run->seconds;
        hist_merge(&into->ack_ns, &run->ack_ns);
        into->wal.appended += run->wal.appended;
        into->wal.syncs += run->wal.syncs;
        hist_merge(&into->wal.sync_ns, &run->wal.sync_ns);
        if (run->wal.exposure_max_ns > into->wal.exposure_max_ns)
            into->wal.exposure_max_ns = run->wal.exposure_max_ns;
        into->wal.uncovered += run->wal.uncovered;
    }
    into->run_ops_per_sec[k] = run->ops_per_sec;
    into->run_entries[k] = run->entries_written;
    into->run_seconds[k] = run->seconds;
    into->run_start_ns[k] = start_ns;
    if (run->seconds < BENCH_SHORT_RUN_SECONDS)
        into->short_runs++;
    into->runs = k + 1;
}

/* The median over the runs becomes ops_per_sec; one run keeps its own. */
static void summarize_runs(struct bench_result *r)
{
    double x[BENCH_MAX_REPEAT];
    for (unsigned k = 0; k < r->runs; k++)
        x[k] = (double)r->run_ops_per_sec[k];
    if (stats_summarize(x, r->runs, &r->ops) == 0 && r->runs > 1)
        r->ops_per_sec = (uint64_t)(r->ops.median + 0.5);
}

static unsigned warmup_runs(const struct bench_config *cfg, unsigned repeat)
{
    return cfg->warmup == BENCH_WARMUP_ON || (cfg->warmup == BENCH_WARMUP_AUTO && repeat > 1);
}

double bench_default_budget(const struct bench_config *cfg, size_t n)
{
    unsigned repeat = cfg->repeat ? cfg->repeat : 1;
    unsigned rounds = repeat + warmup_runs(cfg, repeat);
    double budget = cfg->seconds > 0 ? cfg->seconds * (double)n * rounds * 1.25 + 1
                                     : BENCH_DEFAULT_SECONDS * rounds;
    return budget < BENCH_MAX_SECONDS ? budget : BENCH_MAX_SECONDS;
}

static int valid_config(const struct bench_config *cfg)
{
    return cfg->entries > 0 && cfg->entries <= BENCH_MAX_ENTRIES &&
           cfg->entry_size >= WAL_HEADER_SIZE && cfg->entry_size <= WAL_MAX_RECORD &&
           cfg->max_seconds > 0 && cfg->max_seconds <= BENCH_MAX_SECONDS &&
           cfg->writers <= BENCH_MAX_WRITERS && cfg->repeat <= BENCH_MAX_REPEAT &&
           cfg->seconds >= 0 && cfg->seconds <= BENCH_MAX_SECONDS &&
           (cfg->warmup == BENCH_WARMUP_AUTO || cfg->warmup == BENCH_WARMUP_ON ||
            cfg->warmup == BENCH_WARMUP_OFF);
}

int bench_run(const struct bench_config *cfg, const struct wal_strategy *strategies, size_t n,
              struct bench_result *results, char *err, size_t errlen)
{
    if (n == 0 || n > BENCH_MAX_STRATEGIES || !valid_config(cfg)) {
        snprintf(err, errlen, "bench_run: invalid configuration");
        return -EINVAL;
    }
    /* A write past RLIMIT_FSIZE must fail with EFBIG, which names the call
     * and lets the scratch file be removed, rather than kill the process
     * (SIGXFSZ's default) with the file left behind and no reply. */
    signal(SIGXFSZ, SIG_IGN);
    uint32_t record_size;
    int rc = wal_record_size(cfg->dir, cfg->sync_method, cfg->entry_size, &record_size, err,
                             errlen);
    if (rc < 0)
        return rc;
    uint64_t cap = cfg->entries;
    rc = check_free_space(cfg, record_size, &cap, err, errlen);
    if (rc < 0)
        return rc;

    size_t order[BENCH_MAX_STRATEGIES];
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = 1; i < n; i++) {   /* stable insertion sort by cost */
        size_t k = order[i], j = i;
        while (j > 0 && run_cost(&strategies[order[j - 1]]) > run_cost(&strategies[k])) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = k;
    }

    unsigned repeat = cfg->repeat ? cfg->repeat : 1;
    unsigned warm = warmup_runs(cfg, repeat);
    size_t total = n * (repeat + warm), done = 0;
    for (size_t i = 0; i < n; i++) {
        memset(&results[i], 0, sizeof results[i]);
        results[i].warmed_up = (int)warm;
        results[i].timed = cfg->seconds > 0;
    }
    static struct bench_result run;   /* histograms and arrays: too big for a stack */
    uint64_t end = wal_now_ns() + (uint64_t)(cfg->max_seconds * 1e9);
    wal_scratch_guard_enter();
    for (unsigned round = 0; round < repeat + warm && rc == 0; round++) {
        for (size_t i = 0; i < n && rc == 0; i++, done++) {
            uint64_t now = wal_now_ns();
            uint64_t share = now < end ? (end - now) / (total - done) : 0;
            struct run_plan plan = { .entries = cap, .deadline_ns = now + share,
                                     .seconds = cfg->seconds };
            rc = run_one(cfg, &strategies[order[i]], record_size, &plan, (unsigned)order[i],
                         &run, err, errlen);
            if (rc == 0 && round >= warm)
                add_run(&results[order[i]], &run, now);
        }
    }
    wal_scratch_guard_leave();
    for (size_t i = 0; i < n && rc == 0; i++)
        summarize_runs(&results[i]);
    return rc;
}
