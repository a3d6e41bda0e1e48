/* What makes crash trials fast must not change what they find.
 *   - The fork server's spares (crashsim/forkserver.c) open their trial's
 *     scratch file before the trial.  A spare that cannot make its file
 *     fails the trial that releases it, with the failing call named, and
 *     the file a spare made ahead of the end of a run is removed with it.
 *   - The writer's kill is its own timer's (crashsim/writer.c): it lands at
 *     the instant drawn with nobody watching, and that instant is the
 *     crash's.
 *   - Under none the next trial's writer runs while the last trial is
 *     checked (crashsim/run.c), each with its own ledger and file. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fiu-control.h>
#include <fiu.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "crashsim/internal.h"
#include "tests/support.h"

static struct crashsim_config none_config(uint64_t entries, uint32_t trials)
{
    struct crashsim_config c = {
        .entries = entries,
        .entry_size = 128,
        .sync_method = WAL_SYNC_FDATASYNC,
        .model = support_model("drop"),
        .seed = 42,
        .trials = trials,
        .max_seconds = 60,
        .dir = support_scratch_dir(),
        .writeback_expire_ms = -1,
        .writeback_interval_ms = -1,
    };
    ck_assert_int_eq(wal_strategy_parse("none", &c.strategy), 0);
    return c;
}

static void crash_prefix(char *buf, size_t len)
{
    snprintf(buf, len, "fsynclab-crash-%ld-", (long)getpid());
}

static void assert_nothing_left(void)
{
    char prefix[64];
    crash_prefix(prefix, sizeof prefix);
    support_assert_none_left(support_scratch_dir(), prefix);
    int status;
    errno = 0;
    ck_assert_int_eq(waitpid(-1, &status, WNOHANG), -1);
    ck_assert_int_eq(errno, ECHILD);
}

/* The directory syncs of wal_file_open: the first (the calibration's, in
 * this process) passes, every later one fails.  The fork server's helper
 * is forked after the calibration, so its count starts at one and every
 * spare it makes fails. */
static int dirsync_calls;
static int fail_after_first(const char *name, int *failnum, void **failinfo, unsigned *flags)
{
    (void)name, (void)failnum, (void)failinfo, (void)flags;
    return ++dirsync_calls >= 2;
}

START_TEST(a_spare_that_cannot_make_its_file_fails_the_trial_that_releases_it)
{
    ck_assert_int_eq(fiu_init(0), 0);
    ck_assert_int_eq(fiu_enable_external("wal/file/dirsync", 1, (void *)(intptr_t)EIO, 0,
                                         fail_after_first), 0);
    struct crashsim_config cfg = none_config(200, 5);
    struct verifier_summary s;
    char err[512];
    int rc = crashsim_run(&cfg, &s, NULL, NULL, err, sizeof err);
    fiu_disable("wal/file/dirsync");
    ck_assert_int_eq(rc, -EIO);
    char want[600];
    snprintf(want, sizeof want, "fsync(%s): Input/output error", support_scratch_dir());
    ck_assert_str_eq(err, want);
    ck_assert_uint_eq(s.trials, 0);
    assert_nothing_left();
}
END_TEST

/* How many files of this process's crash trials the scratch directory holds. */
static int crash_files(void)
{
    char prefix[64];
    crash_prefix(prefix, sizeof prefix);
    DIR *d = opendir(support_scratch_dir());
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

/* After the last trial (its own file already removed): waits until the
 * spares asked for at that trial's release (two, under none) have made
 * their files (a bound of a minute only for a stuck test), and notes that
 * they did. */
static int spare_file_seen;
static void wait_for_the_spare(void *arg, const struct crashsim_config *cfg, uint32_t index,
                               const struct crashsim_trial_result *r,
                               const struct crashsim_ledger *l)
{
    (void)arg, (void)r, (void)l;
    if (index + 1 != cfg->trials)
        return;
    for (int i = 0; i < 60000 && !spare_file_seen; i++) {
        spare_file_seen = crash_files() == CRASHSIM_SPARES_AHEAD;
        if (!spare_file_seen)
            nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
}

START_TEST(the_file_a_spare_made_ahead_goes_with_the_run)
{
    struct crashsim_config cfg = none_config(200, 3);
    cfg.trial_done = wait_for_the_spare;
    struct verifier_summary s;
    char err[512];
    int rc = crashsim_run(&cfg, &s, NULL, NULL, err, sizeof err);
    ck_assert_msg(rc == 0, "crashsim_run: %s", err);
    ck_assert_uint_eq(s.trials, 3);
    ck_assert_msg(spare_file_seen, "the last spares made no files ahead");
    assert_nothing_left();
}
END_TEST

/* The parent starts a trial and then only waits for its writer to die,
 * without reaping it: the kill must come from the writer's own timer, at
 * a fraction of one mean ack interval past the target ack, and be the
 * crash instant.  Without the timer the writer would append to the end and
 * wait for a SIGKILL that never comes (the test's timeout). */
START_TEST(the_writer_dies_at_the_instant_drawn_with_nobody_watching)
{
    struct crashsim_config cfg = none_config(20000, 1);
    struct crashsim_trial_opts opts = { .writeback_expire_ms = -1, .writeback_interval_ms = -1 };
    struct crashsim_inflight t;
    struct crashsim_trial_result r;
    char err[512];
    ck_assert_msg(crashsim_trial_start(&t, &cfg, NULL, 77, &opts, &r, err, sizeof err) == 0,
                  "crashsim_trial_start: %s", err);
    siginfo_t si = {0};
    while (waitid(P_PID, (id_t)t.pid, &si, WEXITED | WNOWAIT) < 0)
        ck_assert_int_eq(errno, EINTR);
    ck_assert_int_eq(si.si_code, CLD_KILLED);
    ck_assert_int_eq(si.si_status, SIGKILL);
    uint64_t target_ns = crashsim_ledger_ack_ns(t.l, r.target_acks);
    uint64_t armed = atomic_load(&t.l->sh->kill_at_ns);
    ck_assert_uint_gt(target_ns, 0);
    ck_assert_uint_ge(armed, target_ns);
    int rc = crashsim_trial_finish(&t, wal_now_ns(), err, sizeof err);
    ck_assert_msg(rc == 0, "crashsim_trial_finish: %s", err);
    /* The crash is the armed instant (or a later ack), not the moment the
     * parent looked; the writer stopped soon after the target (a few acks;
     * a bound of 1,000 for a loaded host), far short of its 20,000 entries. */
    ck_assert_uint_eq(r.crash_ns, armed + r.verdict.kill_delay_ns);
    ck_assert_uint_ge(r.ledger.acked, r.target_acks);
    ck_assert_uint_le(r.ledger.acked, r.target_acks + 1000);   /* a loaded host may delay the signal */
    ck_assert_uint_lt(r.ledger.acked, cfg.entries);
    ck_assert_int_eq(r.verdict.invalid, VERIFIER_VALID);
    assert_nothing_left();
}
END_TEST

/* Trial i's own ledger and start, and when the run handed it back. */
#define OVERLAP_TRIALS 12
static struct {
    uint64_t start_ns, done_ns, target, acked, lost, seed, crash_ns, armed_ns, delay_ns;
    const struct crashsim_ledger *l;
} seen[OVERLAP_TRIALS];
static void note_trial(void *arg, const struct crashsim_config *cfg, uint32_t index,
                       const struct crashsim_trial_result *r, const struct crashsim_ledger *l)
{
    (void)arg, (void)cfg;
    seen[index].done_ns = wal_now_ns();
    seen[index].start_ns = r->start_ns;
    seen[index].target = r->target_acks;
    seen[index].acked = r->verdict.acked;
    seen[index].lost = r->verdict.acked_lost;
    seen[index].seed = r->seed;
    seen[index].crash_ns = r->crash_ns;
    seen[index].armed_ns = atomic_load(&l->sh->kill_at_ns);
    seen[index].delay_ns = r->verdict.kill_delay_ns;
    seen[index].l = l;
}

/* Each trial of a run crashed at the instant its writer's timer was armed
 * for (or at a later ack, the kill delay), never at the moment the parent
 * saw it armed, which comes before. */
static void assert_crashed_when_armed(unsigned trials)
{
    for (unsigned i = 0; i < trials; i++) {
        ck_assert_uint_gt(seen[i].armed_ns, 0);
        ck_assert_msg(seen[i].crash_ns == seen[i].armed_ns + seen[i].delay_ns,
                      "trial %u crashed at %llu, armed for %llu (delay %llu)", i,
                      (unsigned long long)seen[i].crash_ns, (unsigned long long)seen[i].armed_ns,
                      (unsigned long long)seen[i].delay_ns);
    }
}

/* Under none, each trial's writer is released before the trial before it
 * is handed back (so they overlap), on the other ledger; and each trial
 * still finds what it finds alone: the same target, and under drop every
 * acknowledged entry lost, no more and no fewer. */
START_TEST(under_none_the_next_writer_runs_while_the_last_trial_is_checked)
{
    struct crashsim_config cfg = none_config(2000, OVERLAP_TRIALS);
    cfg.trial_done = note_trial;
    struct verifier_summary s;
    char err[512];
    int rc = crashsim_run(&cfg, &s, NULL, NULL, err, sizeof err);
    ck_assert_msg(rc == 0, "crashsim_run: %s", err);
    ck_assert_uint_eq(s.trials, OVERLAP_TRIALS);
    ck_assert_uint_eq(s.trials_valid, OVERLAP_TRIALS);
    for (unsigned i = 0; i < OVERLAP_TRIALS; i++) {
        ck_assert_uint_eq(seen[i].lost, seen[i].acked);
        ck_assert_uint_ge(seen[i].acked, seen[i].target);
        if (i + 1 == OVERLAP_TRIALS)
            break;
        ck_assert_msg(seen[i + 1].start_ns < seen[i].done_ns,
                      "trial %u started only after trial %u was checked", i + 1, i);
        ck_assert_ptr_ne(seen[i + 1].l, seen[i].l);
    }
    assert_crashed_when_armed(OVERLAP_TRIALS);
    struct crashsim_trial_result alone;
    ck_assert_msg(crashsim_trial(&cfg, NULL, seen[5].seed, NULL, &alone, err, sizeof err) == 0,
                  "crashsim_trial: %s", err);
    ck_assert_uint_eq(alone.target_acks, seen[5].target);
    assert_nothing_left();
}
END_TEST

/* A strategy that syncs never overlaps: a trial's syncs are timed alone. */
START_TEST(a_strategy_that_syncs_runs_one_trial_at_a_time)
{
    struct crashsim_config cfg = none_config(300, 6);
    ck_assert_int_eq(wal_strategy_parse("always", &cfg.strategy), 0);
    cfg.trial_done = note_trial;
    struct verifier_summary s;
    char err[512];
    int rc = crashsim_run(&cfg, &s, NULL, NULL, err, sizeof err);
    ck_assert_msg(rc == 0, "crashsim_run: %s", err);
    ck_assert_uint_eq(s.trials, 6);
    for (unsigned i = 0; i + 1 < 6; i++) {
        ck_assert_uint_gt(seen[i + 1].start_ns, seen[i].done_ns);
        ck_assert_ptr_eq(seen[i + 1].l, seen[i].l);
    }
    assert_crashed_when_armed(6);
    assert_nothing_left();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("crashrate");
    TCase *tc = tcase_create("spares");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, a_spare_that_cannot_make_its_file_fails_the_trial_that_releases_it);
    tcase_add_test(tc, the_file_a_spare_made_ahead_goes_with_the_run);
    tcase_add_test(tc, the_writer_dies_at_the_instant_drawn_with_nobody_watching);
    tcase_add_test(tc, under_none_the_next_writer_runs_while_the_last_trial_is_checked);
    tcase_add_test(tc, a_strategy_that_syncs_runs_one_trial_at_a_time);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
