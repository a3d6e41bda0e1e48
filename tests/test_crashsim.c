/* Unit tests for crashsim/: crashes at exact points through the libfiu
 * failure points (no timing luck needed), failures handed to the writer,
 * and runs of random trials through the real fork-and-SIGKILL path.  The
 * models on hand-made files are in test_crashsim_models.c, the ledger and
 * the wrapper in test_crashsim_ledger.c. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <fiu-control.h>
#include <fiu.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crashsim/internal.h"
#include "tests/support.h"

/* The models the exact-crash tests go through, in the order their _i picks. */
static const char *const five_models[] = { "drop", "torn", "reorder", "writeback", "process" };

static struct crashsim_config base_config(const char *strategy, const char *model,
                                          uint64_t entries)
{
    struct crashsim_config c = {
        .entries = entries,
        .entry_size = 128,
        .sync_method = WAL_SYNC_FDATASYNC,
        .seed = 42,
        .trials = 1,
        .max_seconds = 30,
        .dir = support_scratch_dir(),
        .writeback_expire_ms = -1,
        .writeback_interval_ms = -1,
    };
    ck_assert_int_eq(wal_strategy_parse(strategy, &c.strategy), 0);
    ck_assert_int_eq(crashsim_model_parse(model, &c.model), 0);
    return c;
}

/* No scratch file of this process may be left behind. */
static void assert_no_scratch_left(void)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "fsynclab-crash-%ld-", (long)getpid());
    support_assert_none_left(support_scratch_dir(), prefix);
}

/* ---- crashes at exact points ---------------------------------------------- */

struct nth {
    const char *point;
    int n;
    void *info;
    unsigned flags;
};
static _Atomic int nth_seen;   /* several writer threads may pass a point at once */
static int nth_target;

static int nth_cb(const char *name, int *failnum, void **failinfo, unsigned *flags)
{
    (void)name, (void)failnum, (void)failinfo, (void)flags;
    return atomic_fetch_add(&nth_seen, 1) + 1 == nth_target;
}

/* Runs in the writer, right after fork. */
static void fail_at_nth(void *arg)
{
    struct nth *n = arg;
    nth_seen = 0;
    nth_target = n->n;
    fiu_enable_external(n->point, 1, n->info, n->flags, nth_cb);
}

static struct crashsim_trial_result trial_at(const struct crashsim_config *cfg, struct nth *n)
{
    struct crashsim_trial_opts o = {
        .kill = CRASHSIM_KILL_WAIT,
        .deadline_ns = wal_now_ns() + 20000000000ull,   /* a bound for a stuck test only */
        .child_hook = fail_at_nth,
        .hook_arg = n,
        .writeback_expire_ms = 1,
        .writeback_interval_ms = 1,
    };
    struct crashsim_trial_result r;
    char err[512];
    int rc = crashsim_trial(cfg, NULL, 9, &o, &r, err, sizeof err);
    ck_assert_msg(rc == 0, "crashsim_trial: %s", err);
    return r;
}

static const char *const exact_strategies[] = { "always", "group", "batch_2ms", "none" };

START_TEST(crash_after_a_write_before_its_sync)
{
    const char *strategy = exact_strategies[_i / 5];
    const char *model = five_models[_i % 5];
    struct crashsim_config cfg = base_config(strategy, model, 50);
    struct nth n = { CRASHSIM_FIU_WRITE_AFTER, 3, CRASHSIM_FIU_DIE, 0 };
    struct crashsim_trial_result r = trial_at(&cfg, &n);
    const struct verifier_trial *v = &r.verdict;
    ck_assert_int_eq(r.writer, CRASHSIM_WRITER_DIED);
    ck_assert_uint_eq(r.ledger.acked, 2);          /* seq 3 was written, never acknowledged */
    ck_assert_uint_eq(v->written, 3);
    ck_assert_uint_eq(v->corrupt_recovered, 0);
    ck_assert_uint_ge(v->recovered, r.ledger.durable_bytes / 128);
    if (strcmp(model, "process") == 0) {
        ck_assert_uint_eq(v->recovered, 3);        /* the page cache kept seq 3 */
        ck_assert_uint_eq(v->unacked_recovered, 1);
        ck_assert_uint_eq(v->acked_lost, 0);
    }
    if (cfg.strategy.kind == WAL_ALWAYS || cfg.strategy.kind == WAL_GROUP) {
        ck_assert_uint_eq(r.ledger.durable_bytes, 2 * 128);
        ck_assert_uint_eq(v->acked_lost, 0);
        if (strcmp(model, "drop") == 0)
            ck_assert_uint_eq(v->recovered, 2);
    }
    if (cfg.strategy.kind == WAL_NONE && strcmp(model, "drop") == 0) {
        ck_assert_uint_eq(v->recovered, 0);
        ck_assert_uint_eq(v->acked_lost, 2);
        ck_assert_uint_eq(v->oldest_lost_seq, 1);
        ck_assert_uint_gt(v->loss_window_ns, 0);
    }
    assert_no_scratch_left();
}
END_TEST

/* Sync number 3 under always/group (the third append's); the flusher's
 * first under batch. */
static void crash_at_sync(int i, const char *point)
{
    const char *strategy = exact_strategies[i / 5];
    const char *model = five_models[i % 5];
    struct crashsim_config cfg = base_config(strategy, model, 2000);
    int batch = cfg.strategy.kind == WAL_BATCH;
    struct nth n = { point, batch ? 1 : 3, CRASHSIM_FIU_DIE, 0 };
    struct crashsim_trial_result r = trial_at(&cfg, &n);
    const struct verifier_trial *v = &r.verdict;
    ck_assert_int_eq(r.writer, CRASHSIM_WRITER_DIED);
    ck_assert_uint_eq(v->corrupt_recovered, 0);
    ck_assert_uint_eq(r.ledger.syncs_started, n.n);
    ck_assert_uint_eq(r.ledger.syncs_ok, n.n - 1);
    ck_assert_uint_gt(r.ledger.sync_inflight_ns, 0);   /* the crash caught it in flight */
    /* The sync in flight proves nothing: only completed syncs count. */
    ck_assert_uint_eq(v->max_sync_ns, r.ledger.sync_max_ns);
    if (batch) {
        ck_assert_uint_eq(r.ledger.durable_bytes, 0);
        if (strcmp(model, "drop") == 0) {
            ck_assert_uint_eq(v->recovered, 0);
            ck_assert_uint_eq(v->acked_lost, v->acked);
        }
    } else {
        ck_assert_uint_eq(r.ledger.acked, 2);
        ck_assert_uint_eq(r.ledger.durable_bytes, 2 * 128);
        ck_assert_uint_eq(v->acked_lost, 0);
        ck_assert_uint_ge(v->recovered, 2);
        if (strcmp(model, "drop") == 0)
            ck_assert_uint_eq(v->recovered, 2);
        if (strcmp(model, "process") == 0)
            ck_assert_uint_eq(v->recovered, 3);
    }
    if (strcmp(model, "process") == 0)
        ck_assert_uint_eq(v->acked_lost, 0);
    assert_no_scratch_left();
}

START_TEST(crash_in_the_middle_of_a_sync)
{
    crash_at_sync(_i, CRASHSIM_FIU_SYNC_BEFORE);
}
END_TEST

/* The sync returned but its success was never published (nor anything
 * acknowledged on it): the model loses data that was really durable, and
 * still no acknowledged entry. */
START_TEST(crash_after_a_sync_before_the_ack)
{
    crash_at_sync(_i, CRASHSIM_FIU_SYNC_AFTER);
}
END_TEST

/* Four writer threads, and the writer dies at the third sync, in it or
 * just after it returned: whoever was waiting for that sync was never
 * acknowledged, and every acknowledged entry lies in the durable prefix.
 * Under group only the leader syncs, so exactly two syncs had returned;
 * under always the writers sync side by side. */
START_TEST(crash_at_a_sync_with_four_writers)
{
    const char *strategy = _i < 10 ? "group" : "always";
    const char *point = (_i / 5) % 2 ? CRASHSIM_FIU_SYNC_AFTER : CRASHSIM_FIU_SYNC_BEFORE;
    const char *model = five_models[_i % 5];
    struct crashsim_config cfg = base_config(strategy, model, 200);
    cfg.writers = 4;
    struct nth n = { point, 3, CRASHSIM_FIU_DIE, 0 };
    struct crashsim_trial_result r = trial_at(&cfg, &n);
    const struct verifier_trial *v = &r.verdict;
    ck_assert_int_eq(r.writer, CRASHSIM_WRITER_DIED);
    ck_assert_uint_eq(v->corrupt_recovered, 0);
    ck_assert_uint_eq(v->acked_lost, 0);
    ck_assert_uint_le(r.ledger.acked_max_seq * 128, r.ledger.durable_bytes);
    ck_assert_uint_ge(v->recovered * 128, r.ledger.durable_bytes);
    ck_assert_uint_ge(r.ledger.syncs_inflight, 1);
    if (cfg.strategy.kind == WAL_GROUP) {
        ck_assert_uint_eq(r.ledger.syncs_started, 3);
        ck_assert_uint_eq(r.ledger.syncs_ok, 2);
        ck_assert_uint_eq(r.ledger.syncs_inflight, 1);
    }
    if (strcmp(model, "drop") == 0)
        ck_assert_uint_eq(v->recovered * 128, r.ledger.durable_bytes);
    assert_no_scratch_left();
}
END_TEST

/* Each writer thread appends its own share: the pwrites come from as many
 * threads as have entries (recorded by a failure point that never fails,
 * into memory shared with the test). */
struct tids {
    _Atomic int n;
    _Atomic long tid[CRASHSIM_MAX_WRITERS + 1];
};
static struct tids *seen_tids;

static int note_tid(const char *name, int *failnum, void **failinfo, unsigned *flags)
{
    (void)name, (void)failnum, (void)failinfo, (void)flags;
    long me = (long)syscall(SYS_gettid);
    int n = atomic_load(&seen_tids->n);
    for (int i = 0; i < n; i++)
        if (atomic_load(&seen_tids->tid[i]) == me)
            return 0;
    int at = atomic_fetch_add(&seen_tids->n, 1);   /* only this thread adds me */
    if (at <= (int)CRASHSIM_MAX_WRITERS)
        atomic_store(&seen_tids->tid[at], me);
    return 0;
}

static void count_writing_threads(void *arg)
{
    (void)arg;
    fiu_enable_external(CRASHSIM_FIU_WRITE_BEFORE, 1, NULL, 0, note_tid);
}

START_TEST(each_writer_thread_appends_its_share)
{
    static const struct { unsigned writers; uint64_t entries; const char *strategy; } cases[] = {
        { 1, 30, "group" }, { 16, 40, "group" }, { 4, 400, "always" }, { 8, 3, "none" },
        { 256, 600, "batch_1ms" },
    };
    seen_tids = mmap(NULL, sizeof *seen_tids, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                     -1, 0);
    ck_assert_ptr_ne(seen_tids, MAP_FAILED);
    for (unsigned c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        memset(seen_tids, 0, sizeof *seen_tids);
        struct crashsim_config cfg = base_config(cases[c].strategy, "process",
                                                 cases[c].entries);
        cfg.writers = cases[c].writers;
        struct crashsim_trial_opts o = {
            .kill = CRASHSIM_KILL_WAIT,
            .deadline_ns = wal_now_ns() + 20000000000ull,
            .child_hook = count_writing_threads,
            .writeback_expire_ms = -1,
            .writeback_interval_ms = -1,
        };
        struct crashsim_trial_result r;
        char err[512];
        ck_assert_msg(crashsim_trial(&cfg, NULL, 3, &o, &r, err, sizeof err) == 0, "%s", err);
        ck_assert_int_eq(r.writer, CRASHSIM_WRITER_DONE);
        ck_assert_uint_eq(r.verdict.recovered, cases[c].entries);
        ck_assert_uint_eq(r.verdict.acked, cases[c].entries);
        ck_assert_uint_eq(r.ledger.acked, cases[c].entries);
        ck_assert_uint_eq(r.verdict.unacked_recovered + r.verdict.acked_lost +
                          r.verdict.corrupt_recovered, 0);
        unsigned expect = cases[c].writers < cases[c].entries ? cases[c].writers
                                                              : (unsigned)cases[c].entries;
        if (strcmp(cases[c].strategy, "group") == 0) {
            /* Only leaders write, each for every writer waiting. */
            ck_assert_int_ge(atomic_load(&seen_tids->n), 1);
            ck_assert_int_le(atomic_load(&seen_tids->n), (int)expect);
        } else {
            ck_assert_int_eq(atomic_load(&seen_tids->n), (int)expect);
        }
    }
    munmap(seen_tids, sizeof *seen_tids);
    assert_no_scratch_left();
}
END_TEST

/* ---- failures handed to the writer ---------------------------------------- */

START_TEST(failed_sync_fails_the_append_and_is_never_retried)
{
    struct crashsim_config cfg = base_config("always", "drop", 100);
    struct nth n = { CRASHSIM_FIU_SYNC_BEFORE, 4, CRASHSIM_FIU_ERRNO(EIO), FIU_ONETIME };
    struct crashsim_trial_result r = trial_at(&cfg, &n);
    ck_assert_int_eq(r.writer, CRASHSIM_WRITER_APPEND_FAILED);
    ck_assert_int_eq(r.append_rc, -EIO);
    ck_assert_int_eq(r.append_rc_next, -EIO);   /* the log stays failed */
    /* A retry would have succeeded (the point fails once): there was none. */
    ck_assert_uint_eq(r.ledger.syncs_started, 4);
    ck_assert_uint_eq(r.ledger.syncs_failed, 1);
    ck_assert_uint_eq(r.ledger.acked, 3);
    ck_assert_uint_eq(r.verdict.acked_lost, 0);
    ck_assert_uint_eq(r.verdict.recovered, 3);   /* seq 4 is not claimed durable */
    assert_no_scratch_left();
}
END_TEST

START_TEST(failed_flusher_sync_fails_later_appends)
{
    struct crashsim_config cfg = base_config("batch_1ms", "process", 2000000);
    struct nth n = { CRASHSIM_FIU_SYNC_BEFORE, 1, CRASHSIM_FIU_ERRNO(EIO), FIU_ONETIME };
    struct crashsim_trial_opts o = {
        .kill = CRASHSIM_KILL_WAIT,
        .deadline_ns = wal_now_ns() + 20000000000ull,
        .child_hook = fail_at_nth,
        .hook_arg = &n,
        .writeback_expire_ms = -1,
        .writeback_interval_ms = -1,
    };
    struct crashsim_trial_result r;
    char err[512];
    ck_assert_int_eq(crashsim_trial(&cfg, NULL, 5, &o, &r, err, sizeof err), 0);
    ck_assert_int_eq(r.writer, CRASHSIM_WRITER_APPEND_FAILED);
    ck_assert_int_eq(r.append_rc, -EIO);
    ck_assert_int_eq(r.append_rc_next, -EIO);
    ck_assert_uint_eq(r.ledger.syncs_ok, 0);
    ck_assert_msg(strstr(err, "fdatasync(") && strstr(err, "Input/output error"), "err: %s", err);
    assert_no_scratch_left();
}
END_TEST

START_TEST(failed_write_fails_the_append)
{
    struct crashsim_config cfg = base_config("none", "process", 100);
    struct nth n = { CRASHSIM_FIU_WRITE_BEFORE, 5, CRASHSIM_FIU_ERRNO(ENOSPC), 0 };
    struct crashsim_trial_result r = trial_at(&cfg, &n);
    ck_assert_int_eq(r.writer, CRASHSIM_WRITER_APPEND_FAILED);
    ck_assert_int_eq(r.append_rc, -ENOSPC);
    ck_assert_uint_eq(r.verdict.recovered, 4);
    ck_assert_uint_eq(r.verdict.acked_lost, 0);
    assert_no_scratch_left();
}
END_TEST

/* The failed call is named as the benchmark names it (wal_op_call): under
 * O_DSYNC the write is the sync, and says so. */
START_TEST(failed_o_dsync_write_names_the_call_as_bench_does)
{
    struct crashsim_config cfg = base_config("none", "process", 100);
    cfg.sync_method = WAL_SYNC_O_DSYNC;
    struct nth n = { CRASHSIM_FIU_WRITE_BEFORE, 5, CRASHSIM_FIU_ERRNO(ENOSPC), 0 };
    struct crashsim_trial_opts o = {
        .kill = CRASHSIM_KILL_WAIT,
        .deadline_ns = wal_now_ns() + 20000000000ull,
        .child_hook = fail_at_nth,
        .hook_arg = &n,
        .writeback_expire_ms = -1,
        .writeback_interval_ms = -1,
    };
    struct crashsim_trial_result r;
    char err[WAL_PATH_MAX + 128], want[WAL_PATH_MAX];
    ck_assert_int_eq(crashsim_trial(&cfg, NULL, 5, &o, &r, err, sizeof err), 0);
    ck_assert_int_eq(r.writer, CRASHSIM_WRITER_APPEND_FAILED);
    ck_assert_int_eq(r.append_rc, -ENOSPC);
    snprintf(want, sizeof want, "pwrite(O_DSYNC)(%s/fsynclab-crash-%ld-", cfg.dir,
             (long)getpid());
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "err: %s", err);
    const char *tail = ".wal): No space left on device";
    ck_assert_msg(strlen(err) > strlen(tail) && strcmp(err + strlen(err) - strlen(tail), tail) == 0,
                  "err: %s", err);
    assert_no_scratch_left();
}
END_TEST

START_TEST(setup_failure_is_reported_and_nothing_is_left)
{
    struct crashsim_config cfg = base_config("none", "drop", 10);
    cfg.dir = "build/scratch/no/such/dir";
    struct verifier_summary s;
    char err[512];
    int rc = crashsim_run(&cfg, &s, NULL, NULL, err, sizeof err);
    ck_assert_int_eq(rc, -ENOENT);
    /* The first file a run makes is the calibration's. */
    ck_assert_msg(strstr(err, "open(build/scratch/no/such/dir/fsynclab-calibrate-") != NULL, "err: %s", err);
    ck_assert_uint_eq(s.trials, 0);
    cfg.dir = support_scratch_dir();
    cfg.entry_size = 8;
    ck_assert_int_eq(crashsim_run(&cfg, &s, NULL, NULL, err, sizeof err), -EINVAL);
    ck_assert_str_eq(err, "crash config: invalid entry_size");
    cfg.entry_size = 128;
    cfg.writers = CRASHSIM_MAX_WRITERS + 1;
    ck_assert_int_eq(crashsim_run(&cfg, &s, NULL, NULL, err, sizeof err), -EINVAL);
    ck_assert_str_eq(err, "crash config: invalid writers");
}
END_TEST

/* ---- random trials through the real crash path ---------------------------- */

static struct verifier_summary run_with(const char *strategy, const char *model,
                                        uint64_t entries, uint32_t trials, unsigned writers)
{
    struct crashsim_config cfg = base_config(strategy, model, entries);
    cfg.trials = trials;
    cfg.writers = writers;
    cfg.writeback_expire_ms = 2;
    cfg.writeback_interval_ms = 1;
    struct verifier_summary s;
    char err[512];
    int rc = crashsim_run(&cfg, &s, NULL, NULL, err, sizeof err);
    ck_assert_msg(rc == 0, "crashsim_run: %s", err);
    ck_assert_uint_eq(s.trials, trials);
    ck_assert_uint_eq(s.corrupt_recovered, 0);
    assert_no_scratch_left();
    return s;
}

static struct verifier_summary run(const char *strategy, const char *model,
                                   uint64_t entries, uint32_t trials)
{
    return run_with(strategy, model, entries, trials, 1);
}

START_TEST(o_direct_dsync_pads_records_and_every_acknowledged_write_survives_power_loss)
{
    /* 128-byte entries are padded to the direct I/O alignment, as bench pads
     * them; each O_DIRECT|O_DSYNC write is durable when it returns, so even
     * none loses nothing acknowledged under drop. */
    struct crashsim_config cfg = base_config("none", "drop", 200);
    cfg.sync_method = WAL_SYNC_O_DIRECT_DSYNC;
    cfg.trials = 10;
    struct verifier_summary s;
    char err[512];
    int rc = crashsim_run(&cfg, &s, NULL, NULL, err, sizeof err);
    ck_assert_msg(rc == 0, "crashsim_run: %s", err);
    ck_assert_uint_eq(s.trials, 10);
    ck_assert_uint_eq(s.acked_lost_max, 0);
    ck_assert_uint_gt(s.acked_total, 0);
    ck_assert_uint_eq(s.corrupt_recovered, 0);
    assert_no_scratch_left();
}
END_TEST

START_TEST(preallocated_logs_recover_like_growing_ones)
{
    /* The zero-filled space after the last record must read as the end of
     * the log, never as records: always keeps everything, process loses
     * nothing, drop loses what none never synced. */
    const struct { const char *strategy; const char *model; int loses; } cases[] = {
        { "always", "drop", 0 },
        { "none", "process", 0 },
        { "none", "drop", 1 },
    };
    for (size_t i = 0; i < 3; i++) {
        struct crashsim_config cfg = base_config(cases[i].strategy, cases[i].model, 300);
        cfg.prealloc = 1;
        cfg.trials = 10;
        struct verifier_summary s;
        char err[512];
        int rc = crashsim_run(&cfg, &s, NULL, NULL, err, sizeof err);
        ck_assert_msg(rc == 0, "crashsim_run: %s", err);
        ck_assert_uint_eq(s.corrupt_recovered, 0);
        if (cases[i].loses)
            ck_assert_uint_gt(s.acked_lost_max, 0);
        else
            ck_assert_uint_eq(s.acked_lost_max, 0);
        assert_no_scratch_left();
    }
}
END_TEST

START_TEST(always_never_loses_an_acknowledged_entry)
{
    struct verifier_summary s = run("always", "drop", 30, 100);
    ck_assert_uint_eq(s.acked_lost_max, 0);
    ck_assert_int_eq(s.held, VERIFIER_HELD_TRUE);
    ck_assert_int_eq(s.promised_window_ms, 0);
    ck_assert_uint_gt(s.acked_total, 0);
    s = run("group", "torn", 30, 30);
    ck_assert_uint_eq(s.acked_lost_max, 0);
    ck_assert_int_eq(s.held, VERIFIER_HELD_TRUE);
}
END_TEST

/* Group commit with 8 and 16 writers: one leader's sync serves all who
 * wait, and no acknowledgement may come before the sync that covers it. */
START_TEST(group_never_loses_an_acknowledged_entry_with_many_writers)
{
    unsigned writers = _i == 0 ? 8 : 16;
    struct verifier_summary s = run_with("group", "drop", 160, 100, writers);
    ck_assert_uint_eq(s.acked_lost_max, 0);
    ck_assert_int_eq(s.held, VERIFIER_HELD_TRUE);
    ck_assert_uint_gt(s.acked_total, 0);
    ck_assert_uint_gt(s.max_sync_ns, 0);
}
END_TEST

START_TEST(always_never_loses_an_acknowledged_entry_with_four_writers)
{
    struct verifier_summary s = run_with("always", "drop", 40, 100, 4);
    ck_assert_uint_eq(s.acked_lost_max, 0);
    ck_assert_int_eq(s.held, VERIFIER_HELD_TRUE);
    ck_assert_uint_gt(s.acked_total, 0);
}
END_TEST

/* Batch acknowledges before the sync: with four writers and enough entries
 * for the flusher to be behind at the crash, power loss takes some, and
 * still no damaged record comes back. */
START_TEST(batch_with_four_writers_loses_some_and_hands_back_nothing_corrupt)
{
    struct verifier_summary s = run_with("batch_2ms", "drop", 20000, 20, 4);
    ck_assert_uint_gt(s.acked_lost_total, 0);
    ck_assert_uint_gt(s.acked_total, s.acked_lost_total);   /* the flusher synced some */
    ck_assert_int_ne(s.held, VERIFIER_HELD_NULL);
    s = run_with("batch_2ms", "torn", 5000, 20, 4);
    ck_assert_uint_eq(s.corrupt_recovered, 0);
}
END_TEST

START_TEST(torn_and_reorder_never_hand_back_a_corrupt_entry)
{
    const char *strategies[] = { "none", "batch_1ms", "always" };
    const char *models[] = { "torn", "reorder" };
    for (int m = 0; m < 2; m++)
        for (int i = 0; i < 3; i++)
            run(strategies[i], models[m], i == 2 ? 20 : 1000, i == 2 ? 20 : 60);
}
END_TEST

START_TEST(process_crash_loses_nothing_under_none)
{
    struct verifier_summary s = run("none", "process", 1000, 100);
    ck_assert_uint_eq(s.acked_lost_max, 0);
    ck_assert_uint_gt(s.acked_total, 0);
    ck_assert_int_eq(s.held, VERIFIER_HELD_NULL);
    ck_assert_int_eq(s.promised_window_ms, -1);
}
END_TEST

START_TEST(power_loss_under_none_loses_acknowledged_entries)
{
    struct verifier_summary s = run("none", "drop", 1000, 30);
    /* Nothing was ever synced: every trial loses all it acknowledged. */
    ck_assert_uint_eq(s.acked_lost_total, s.acked_total);
    ck_assert_double_ge(verifier_summary_acked_lost_mean(&s), 1.0);
    ck_assert_uint_gt(s.loss_window_ns_max, 0);
    ck_assert_int_eq(s.held, VERIFIER_HELD_NULL);
    s = run("none", "writeback", 1000, 30);
    ck_assert_uint_eq(s.corrupt_recovered, 0);
}
END_TEST

/* The promise is N ms plus the sync.  The flusher wakes on a timer, and a
 * loaded two-core machine delays it (tens of ms when several test binaries
 * run at once), so the maximum gets a wide margin; the median, which a
 * flusher that never synced would push to half the writing period (about
 * 40 ms for 20000 entries), gets a narrow one. */
START_TEST(batch_loses_at_most_its_interval_plus_a_sync)
{
    struct verifier_summary s = run("batch_2ms", "drop", 20000, 40);
    ck_assert_int_eq(s.promised_window_ms, 2);
    ck_assert_int_ne(s.held, VERIFIER_HELD_NULL);
    double sync = verifier_summary_max_sync_ms(&s);
    ck_assert_msg(verifier_summary_window_ms_p50(&s) <= 2 + sync + 10,
                  "median window %.3f ms, max sync %.3f ms", verifier_summary_window_ms_p50(&s),
                  sync);
    ck_assert_msg(verifier_summary_window_ms_max(&s) <= 2 + sync + 100,
                  "window %.3f ms, max sync %.3f ms", verifier_summary_window_ms_max(&s), sync);
    ck_assert_uint_gt(s.max_sync_ns, 0);   /* the flusher did sync */
}
END_TEST

/* The writers come from the run's fork server as children of the caller
 * (so it kills and reaps them itself), and the end of the run takes the
 * server and its spare writer too: no child is left, not even a zombie. */
START_TEST(a_run_leaves_no_child_behind_not_even_a_zombie)
{
    struct verifier_summary s = run("none", "drop", 300, 20);
    ck_assert_uint_eq(s.trials, 20);
    int status;
    errno = 0;
    ck_assert_int_eq(waitpid(-1, &status, WNOHANG), -1);
    ck_assert_int_eq(errno, ECHILD);
}
END_TEST

START_TEST(budget_ends_a_run_early)
{
    struct crashsim_config cfg = base_config("none", "drop", 1000);
    cfg.trials = CRASHSIM_MAX_TRIALS;
    /* 1 s: on a loaded machine the calibration before the trials can take
     * a few hundred ms of the budget, and at least one trial must fit. */
    cfg.max_seconds = 1.0;
    struct verifier_summary s;
    char err[512];
    uint64_t t0 = wal_now_ns();
    ck_assert_int_eq(crashsim_run(&cfg, &s, NULL, NULL, err, sizeof err), 0);
    ck_assert_uint_ge(s.trials, 1);
    ck_assert_uint_lt(s.trials, CRASHSIM_MAX_TRIALS);
    /* Loose: all 10,000 trials would take well over a minute here. */
    ck_assert_uint_lt(wal_now_ns() - t0, 20000000000ull);
    assert_no_scratch_left();
}
END_TEST

static void count_progress(void *arg, uint32_t done, uint32_t total)
{
    uint32_t *seen = arg;
    ck_assert_uint_eq(done, *seen + 1);
    ck_assert_uint_eq(total, 7);
    *seen = done;
}

START_TEST(progress_is_reported_after_each_trial)
{
    struct crashsim_config cfg = base_config("none", "process", 100);
    cfg.trials = 7;
    struct verifier_summary s;
    uint32_t seen = 0;
    char err[512];
    ck_assert_int_eq(crashsim_run(&cfg, &s, count_progress, &seen, err, sizeof err), 0);
    ck_assert_uint_eq(seen, 7);
    ck_assert_uint_eq(s.trials, 7);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("crashsim");
    TCase *exact = tcase_create("exact");
    tcase_set_timeout(exact, 60);
    tcase_add_loop_test(exact, crash_after_a_write_before_its_sync, 0, 20);
    tcase_add_loop_test(exact, crash_in_the_middle_of_a_sync, 0, 15);   /* none never syncs */
    tcase_add_loop_test(exact, crash_after_a_sync_before_the_ack, 0, 15);
    tcase_add_loop_test(exact, crash_at_a_sync_with_four_writers, 0, 20);
    tcase_add_test(exact, each_writer_thread_appends_its_share);
    tcase_add_test(exact, failed_sync_fails_the_append_and_is_never_retried);
    tcase_add_test(exact, failed_flusher_sync_fails_later_appends);
    tcase_add_test(exact, failed_write_fails_the_append);
    tcase_add_test(exact, failed_o_dsync_write_names_the_call_as_bench_does);
    tcase_add_test(exact, setup_failure_is_reported_and_nothing_is_left);
    suite_add_tcase(s, exact);
    TCase *random = tcase_create("random");
    tcase_set_timeout(random, 60);
    tcase_add_test(random, always_never_loses_an_acknowledged_entry);
    tcase_add_loop_test(random, group_never_loses_an_acknowledged_entry_with_many_writers, 0, 2);
    tcase_add_test(random, always_never_loses_an_acknowledged_entry_with_four_writers);
    tcase_add_test(random, batch_with_four_writers_loses_some_and_hands_back_nothing_corrupt);
    tcase_add_test(random, torn_and_reorder_never_hand_back_a_corrupt_entry);
    tcase_add_test(random, process_crash_loses_nothing_under_none);
    tcase_add_test(random, power_loss_under_none_loses_acknowledged_entries);
    tcase_add_test(random, batch_loses_at_most_its_interval_plus_a_sync);
    tcase_add_test(random, a_run_leaves_no_child_behind_not_even_a_zombie);
    tcase_add_test(random, budget_ends_a_run_early);
    tcase_add_test(random, o_direct_dsync_pads_records_and_every_acknowledged_write_survives_power_loss);
    tcase_add_test(random, preallocated_logs_recover_like_growing_ones);
    tcase_add_test(random, progress_is_reported_after_each_trial);
    suite_add_tcase(s, random);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
