/* DESIGN: runs of trials.
 *
 * A run is cfg->trials trials of one strategy (trial.c) within one time
 * budget, on one ledger made for the run and reset between trials, each
 * with its own seed derived from the run's (crashsim_trial_seed), so that
 * any trial replays alone.  The verdicts go into one verifier summary.
 * A run of several strategies splits what is left of the budget evenly
 * among the strategies still to come.
 *
 * Before the trials, the syncs are measured (calibrate.c): that fixes the
 * allowance a batch window is judged against, and syncs too fast to reach
 * a disk leave every verdict null.  Under O_DSYNC every write is durable
 * when it returns, so every strategy promises 0 ms.
 *
 * The scratch guard is held around the whole run, so that a signal between
 * two trials finds the handler already in place.
 */
#include "crashsim/internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

uint64_t crashsim_trial_seed(uint64_t run_seed, uint32_t index)
{
    uint64_t s = run_seed ^ ((uint64_t)index * 0xD1B54A32D192ED03ull);
    return pl_splitmix64(&s);
}

/* The promise's terms, fixed before the first trial; and, when the caller
 * left it open (entries 0), how many entries a trial's writer appends. */
static int calibrate(struct crashsim_config *cfg, struct verifier_summary *out, char *err,
                     size_t errlen)
{
    if (wal_sync_method_writes_durable(cfg->sync_method))
        verifier_summary_writes_durable(out);
    uint64_t p50, p99, rate;
    int rc = crashsim_calibrate(cfg, &p50, &p99, &rate, err, errlen);
    if (rc < 0)
        return rc;
    out->calibration_sync_p50_ns = p50;
    out->calibration_sync_p99_ns = p99;
    if (out->promised_window_ms > 0)
        verifier_summary_set_allowance(out, (uint64_t)out->promised_window_ms * 1000000ull + p99);
    if (p50 < WAL_FAST_SYNC_NS)
        verifier_summary_distrust(out);
    if (cfg->entries == 0) {
        /* A batch_<N>ms trial shows something only once the writer has run
         * two intervals: append for eight at the rate just measured, so that
         * most kills (drawn over the run) fall after the first two. */
        uint64_t entries = CRASHSIM_AUTO_ENTRIES;
        if (cfg->strategy.kind == WAL_BATCH) {
            uint64_t eight = rate * 8 * cfg->strategy.interval_ms / 1000;
            if (eight > entries)
                entries = eight;
        }
        cfg->entries = entries < CRASHSIM_AUTO_MAX_ENTRIES ? entries : CRASHSIM_AUTO_MAX_ENTRIES;
    }
    out->entries_per_trial = cfg->entries;
    return 0;
}

/* The run's configuration, o_direct_dsync records padded to the direct I/O
 * alignment as the benchmark pads them (the ledger and the verifier see the
 * padded size), and checked. */
static int prepare(const struct crashsim_config *given, struct crashsim_config *cfg, char *err,
                   size_t errlen)
{
    *cfg = *given;
    char msg[256];
    int rc = wal_record_size(given->dir ? given->dir : ".", given->sync_method, given->entry_size,
                             &cfg->entry_size, msg, sizeof msg);
    if (rc < 0) {
        if (err)
            snprintf(err, errlen, "%s", msg);
        return rc;
    }
    struct crashsim_config check = *cfg;
    if (check.entries == 0)
        check.entries = 1;   /* sized after calibration */
    rc = crashsim_check_config(&check, err, errlen);
    if (rc < 0)
        return rc;
    if (cfg->trials < 1 || cfg->trials > CRASHSIM_MAX_TRIALS || !(cfg->max_seconds > 0) ||
        cfg->max_seconds > CRASHSIM_MAX_SECONDS) {
        if (err)
            snprintf(err, errlen, "crash config: invalid %s",
                     cfg->max_seconds > 0 && cfg->max_seconds <= CRASHSIM_MAX_SECONDS
                         ? "trials" : "max_seconds");
        return -EINVAL;
    }
    return 0;
}

uint32_t crashsim_trials_planned(const struct crashsim_config *cfg)
{
    uint32_t step = cfg->shard_count > 1 ? cfg->shard_count : 1;
    uint32_t first = step > 1 ? cfg->shard_index : 0;
    return first < cfg->trials ? (cfg->trials - first + step - 1) / step : 0;
}

/* The ledger trial i's writer will append to. */
static struct crashsim_ledger *trial_ledger(const struct crashsim_trial_opts *opts,
                                            struct crashsim_ledger *l)
{
    return opts->server ? crashsim_forkserver_ledger(opts->server) : l;
}

/* What a finished trial adds to the run: 1 to go on, 0 to stop without an
 * error (the budget ended before the trial's writer started), or rc < 0. */
static int trial_add(const struct crashsim_config *cfg, struct crashsim_ledger *l, uint32_t i,
                     int rc, struct crashsim_trial_result *r, struct verifier_summary *out,
                     char *err, size_t errlen)
{
    if (rc == -ETIMEDOUT && r->writer == CRASHSIM_WRITER_STARTING) {
        if (err && errlen)
            err[0] = '\0';
        return 0;
    }
    if (rc == 0 && r->append_rc < 0)
        rc = r->append_rc;   /* a real I/O error: err names the call */
    if (rc < 0)
        return rc;
    verifier_summary_add(out, &r->verdict, r->seed);
    if (cfg->on_trial)
        cfg->on_trial(cfg->on_trial_arg, out, i, r->seed, &r->verdict);
    if (cfg->trial_done)
        cfg->trial_done(cfg->trial_done_arg, cfg, i, r, l);
    return 1;
}

/* The trials, one after the other; stops early when the budget ends.
 * Where nothing syncs (crashsim_trials_overlap) and a fork server makes
 * the writers, the next trial's writer is released as soon as this one's
 * kill is armed, so that this writer's death, its reaping and the check of
 * its log run beside the next writer's appends.  One writer appends at a
 * time all the same, bar the fraction of an ack interval before the kill,
 * and each writer has a ledger and a file of its own. */
static int trials(const struct crashsim_config *cfg, struct crashsim_ledger *l,
                  const struct crashsim_trial_opts *opts, struct verifier_summary *out,
                  void (*progress)(void *arg, uint32_t done, uint32_t total), void *progress_arg,
                  char *err, size_t errlen)
{
    uint32_t step = cfg->shard_count > 1 ? cfg->shard_count : 1, done = 0;
    uint32_t first = step > 1 ? cfg->shard_index : 0;
    uint32_t total = crashsim_trials_planned(cfg);
    int overlap = opts->server && crashsim_trials_overlap(cfg);
    struct crashsim_inflight t[2];
    struct crashsim_trial_result r[2];
    if (first >= cfg->trials)
        return 0;
    int rc = crashsim_trial_start(&t[0], cfg, trial_ledger(opts, l),
                                  crashsim_trial_seed(cfg->seed, first), opts, &r[0], err, errlen);
    unsigned cur = 0;
    for (uint32_t i = first; rc == 0; i += step, cur ^= 1) {
        uint64_t crash = crashsim_trial_watch(&t[cur]);
        uint32_t next = i + step;
        int more = next < cfg->trials && next > i;
        int started = 0, next_rc = 0;
        char next_err[512] = "";
        if (overlap && more && crashsim_trial_armed(&t[cur]) && wal_now_ns() < opts->deadline_ns) {
            next_rc = crashsim_trial_start(&t[cur ^ 1], cfg, trial_ledger(opts, l),
                                           crashsim_trial_seed(cfg->seed, next), opts,
                                           &r[cur ^ 1], next_err, sizeof next_err);
            started = next_rc == 0;
        }
        struct crashsim_ledger *tl = t[cur].l;
        rc = crashsim_trial_finish(&t[cur], crash, err, errlen);
        rc = trial_add(cfg, tl, i, rc, &r[cur], out, err, errlen);
        if (rc <= 0) {
            if (started)
                crashsim_trial_abort(&t[cur ^ 1]);
            return rc < 0 ? rc : 0;
        }
        if (progress)
            progress(progress_arg, ++done, total);
        rc = 0;
        if (next_rc < 0) {
            if (err)
                snprintf(err, errlen, "%s", next_err);
            return next_rc;
        }
        if (!started) {
            if (!more || wal_now_ns() >= opts->deadline_ns)
                return 0;
            rc = crashsim_trial_start(&t[cur ^ 1], cfg, trial_ledger(opts, l),
                                      crashsim_trial_seed(cfg->seed, next), opts, &r[cur ^ 1],
                                      err, errlen);
        }
    }
    return rc;
}

int crashsim_run(const struct crashsim_config *given, struct verifier_summary *out,
                 void (*progress)(void *arg, uint32_t done, uint32_t total), void *progress_arg,
                 char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    verifier_summary_init(out, &given->strategy);
    struct crashsim_config cfg;
    int rc = prepare(given, &cfg, err, errlen);
    if (rc < 0)
        return rc;
    struct crashsim_trial_opts opts = { .kill = CRASHSIM_KILL_RANDOM };
    crashsim_resolve_writeback(cfg.writeback_expire_ms, cfg.writeback_interval_ms,
                               &opts.writeback_expire_ms, &opts.writeback_interval_ms);
    opts.deadline_ns = wal_now_ns() + (uint64_t)(cfg.max_seconds * 1e9);

    wal_scratch_guard_enter();
    rc = calibrate(&cfg, out, err, errlen);
    struct crashsim_ledger *l = NULL, *l2 = NULL;
    if (rc == 0 && (rc = crashsim_ledger_create(cfg.entries, cfg.entry_size, &l)) < 0 && err)
        snprintf(err, errlen, "mmap(ledger): %s", strerror(-rc));
    /* A second ledger for the writer that runs while the last trial is
     * checked (trials()). */
    if (rc == 0 && crashsim_trials_overlap(&cfg) &&
        (rc = crashsim_ledger_create(cfg.entries, cfg.entry_size, &l2)) < 0 && err)
        snprintf(err, errlen, "mmap(ledger): %s", strerror(-rc));
    struct crashsim_forkserver fs = {0};
    if (rc == 0 &&
        (rc = crashsim_forkserver_start(&fs, &cfg, l, l2 ? l2 : l, &opts, err, errlen)) == 0)
        opts.server = &fs;
    if (rc == 0)
        rc = trials(&cfg, l, &opts, out, progress, progress_arg, err, errlen);
    if (opts.server)
        crashsim_forkserver_stop(&fs);
    wal_scratch_guard_leave();
    crashsim_ledger_destroy(l);
    crashsim_ledger_destroy(l2);
    return rc;
}

/* ---- several strategies ------------------------------------------------------ */

struct progress_relay {
    void (*fn)(void *arg, size_t strategy, uint32_t done, uint32_t total);
    void *arg;
    size_t strategy;
};

static void relay_progress(void *arg, uint32_t done, uint32_t total)
{
    struct progress_relay *p = arg;
    p->fn(p->arg, p->strategy, done, total);
}

int crashsim_run_all(const struct crashsim_config *base, const struct wal_strategy *strategies,
                     size_t n, struct verifier_summary *out,
                     void (*progress)(void *arg, size_t strategy, uint32_t done, uint32_t total),
                     void *progress_arg, char *err, size_t errlen)
{
    uint64_t end = wal_now_ns() + (uint64_t)(base->max_seconds * 1e9);
    for (size_t i = 0; i < n; i++) {
        struct crashsim_config cfg = *base;
        uint64_t now = wal_now_ns();
        uint64_t share = now < end ? (end - now) / (n - i) : 0;
        /* A late strategy still gets a moment; if that is too short for a
         * trial, its summary says trials: 0 rather than nothing at all. */
        cfg.max_seconds = share > 50000000 ? (double)share / 1e9 : 0.05;
        cfg.strategy = strategies[i];
        struct progress_relay relay = { progress, progress_arg, i };
        int rc = crashsim_run(&cfg, &out[i], progress ? relay_progress : NULL, &relay, err, errlen);
        if (rc < 0)
            return rc;
    }
    return 0;
}
