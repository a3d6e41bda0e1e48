/* The fork server's spares (crashsim/forkserver.c) open their trial's
 * scratch file before the trial: what that must not change.  A spare that
 * cannot make its file fails the trial that releases it, with the failing
 * call named, and the file a spare made ahead of the end of a run is
 * removed with it. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fiu-control.h>
#include <fiu.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
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
 * spare asked for at that trial's release has made its file (a bound of a
 * minute only for a stuck test), and notes that it did. */
static int spare_file_seen;
static void wait_for_the_spare(void *arg, const struct crashsim_config *cfg, uint32_t index,
                               const struct crashsim_trial_result *r,
                               const struct crashsim_ledger *l)
{
    (void)arg, (void)r, (void)l;
    if (index + 1 != cfg->trials)
        return;
    for (int i = 0; i < 60000 && !spare_file_seen; i++) {
        spare_file_seen = crash_files() == 1;
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
    ck_assert_msg(spare_file_seen, "the last spare made no file ahead");
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
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
