/* Unit tests for vm/'s targets in the guest: the run and check commands a
 * built-in target becomes, the promise looked up by target name and
 * settings, the verdict on it (held, proven by a window just past the
 * allowance) and the longest sync read from a block log's times.  No QEMU
 * here: the guest runs in tests/e2e/vm.sh and vm_targets_pg.sh. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report/report.h"
#include "vm/internal.h"

START_TEST(builtin_targets_become_a_run_and_a_check_command)
{
    /* --target sqlite: crash --target's worker (next to this test binary,
     * as next to fsynclab) with the settings; the check opens the database
     * read-write and lists the rows.  redis: appendfsync in lower case, a
     * prepared start unless fresh=yes.  Anything else is refused. */
    char run[4096], check[4096], err[512];
    struct recorder_setting sq[2] = { { "journal_mode", "DELETE" }, { "synchronous", "EXTRA" } };
    int rc = vm_target_commands("sqlite", sq, 2, run, sizeof run, check, sizeof check, err,
                                sizeof err);
    if (rc == 0) {
        ck_assert_ptr_nonnull(strstr(run, "/fsynclab-sqlite-worker DELETE EXTRA"));
        ck_assert_ptr_nonnull(strstr(check, "PRAGMA integrity_check"));
        ck_assert_ptr_nonnull(strstr(check, "SELECT k FROM t"));
    } else {   /* no worker or no sqlite3 here: the message says which */
        ck_assert_int_eq(rc, -ENOENT);
        ck_assert_ptr_nonnull(strstr(err, "sqlite"));
    }
    struct recorder_setting rd[2] = { { "appendfsync", "ALWAYS" }, { "fresh", "yes" } };
    rc = vm_target_commands("redis", rd, 2, run, sizeof run, check, sizeof check, err, sizeof err);
    if (rc == 0) {
        ck_assert_ptr_nonnull(strstr(run, "--appendfsync always"));
        ck_assert_ptr_null(strstr(run, "SHUTDOWN"));   /* fresh=yes: no prepared start */
        ck_assert_ptr_nonnull(strstr(check, "KEYS"));
        rc = vm_target_commands("redis", rd, 1, run, sizeof run, check, sizeof check, err,
                                sizeof err);
        ck_assert_int_eq(rc, 0);
        ck_assert_ptr_nonnull(strstr(run, "SHUTDOWN"));
    } else {
        ck_assert_int_eq(rc, -ENOENT);
        ck_assert_ptr_nonnull(strstr(err, "redis"));
    }
    ck_assert_int_eq(vm_target_commands("mariadb", NULL, 0, run, sizeof run, check,
                                        sizeof check, err, sizeof err), -ENOENT);
    ck_assert_ptr_nonnull(strstr(err, VM_TARGETS));
    /* postgres: a value that is not a plain word never reaches the shell */
    struct recorder_setting pg[1] = { { "synchronous_commit", "off;reboot" } };
    ck_assert_int_eq(vm_target_commands("postgres", pg, 1, run, sizeof run, check, sizeof check,
                                        err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "synchronous_commit"));
    pg[0].value = "off";
    rc = vm_target_commands("postgres", pg, 1, run, sizeof run, check, sizeof check, err,
                            sizeof err);
    if (rc == 0) {   /* the cluster could be made (a kit, PostgreSQL installed) */
        ck_assert_ptr_nonnull(strstr(run, "-c synchronous_commit=off"));
        ck_assert_ptr_nonnull(strstr(run, "listen_addresses= "));
        ck_assert_ptr_nonnull(strstr(check, "--single"));
    } else {
        ck_assert_int_lt(rc, 0);
        ck_assert_ptr_nonnull(err[0] ? err : NULL);
    }
}
END_TEST

START_TEST(the_promise_is_looked_up_by_target_name_and_settings)
{
    /* crash --target's own promises: Redis everysec 1000 ms, always 0;
     * SQLite EXTRA 0; a contract's promised_window_ms; a bad value or an
     * unknown key refused as crash --target refuses it. */
    char err[512];
    struct report_vm_prog s;
    struct recorder_setting rd[1] = { { "appendfsync", "everysec" } };
    struct vm_config cfg = { .target = "redis", .settings = rd, .nsettings = 1 };
    memset(&s, 0, sizeof s);
    ck_assert_int_eq(vm_promise_lookup(&cfg, &s, err, sizeof err), 0);
    ck_assert_double_eq(s.promised_window_ms, 1000);
    ck_assert_ptr_nonnull(strstr(s.promised, "everysec"));
    rd[0].value = "always";
    ck_assert_int_eq(vm_promise_lookup(&cfg, &s, err, sizeof err), 0);
    ck_assert_double_eq(s.promised_window_ms, 0);
    struct recorder_setting sq[2] = { { "journal_mode", "DELETE" }, { "synchronous", "EXTRA" } };
    cfg = (struct vm_config){ .target = "sqlite", .settings = sq, .nsettings = 2 };
    ck_assert_int_eq(vm_promise_lookup(&cfg, &s, err, sizeof err), 0);
    ck_assert_double_eq(s.promised_window_ms, 0);
    struct recorder_setting ct[1] = { { "promised_window_ms", "250" } };
    cfg = (struct vm_config){ .run_cmd = "true", .check_cmd = "true", .settings = ct,
                              .nsettings = 1 };
    ck_assert_int_eq(vm_promise_lookup(&cfg, &s, err, sizeof err), 0);
    ck_assert_double_eq(s.promised_window_ms, 250);
    cfg.nsettings = 0;
    ck_assert_int_eq(vm_promise_lookup(&cfg, &s, err, sizeof err), 0);
    ck_assert_double_eq(s.promised_window_ms, 0);   /* a contract promises 0 unless told */
    struct recorder_setting bad[1] = { { "appendfsync", "sometimes" } };
    cfg = (struct vm_config){ .target = "redis", .settings = bad, .nsettings = 1 };
    ck_assert_int_eq(vm_promise_lookup(&cfg, &s, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "always, everysec or no"));
    /* a target only the guest runs: no promise, held null saying so */
    memset(&s, 0, sizeof s);
    cfg = (struct vm_config){ .target = "etcd" };
    ck_assert_int_eq(vm_promise_lookup(&cfg, &s, err, sizeof err), 0);
    ck_assert_ptr_null(s.promised);
    s.trials = 1;
    s.acked_total = 5;
    vm_promise_verdict(&s);
    ck_assert_int_eq(s.held, -1);
    ck_assert_str_eq(s.held_reason, "crash --target has no etcd: no promise to judge the run "
                                    "against");
}
END_TEST

START_TEST(held_follows_the_window_the_allowance_and_what_could_be_seen)
{
    struct report_vm_prog s;
    memset(&s, 0, sizeof s);
    s.promised = "everysec";
    s.promised_window_ms = 1000;
    s.trials = 1;
    s.acked_total = 100;
    s.sync_ms_max = 50;
    s.reach_ms_max = 2000;
    s.loss_window_ms_max = 1040;
    vm_promise_verdict(&s);
    ck_assert_int_eq(s.held, 1);                      /* within 1000 + 50 */
    ck_assert_double_eq(s.allowance_ms, 1050);
    s.loss_window_ms_max = 1060;                      /* the mutation: beyond it */
    vm_promise_verdict(&s);
    ck_assert_int_eq(s.held, 0);
    ck_assert_ptr_nonnull(strstr(s.held_reason, "beyond the allowance of 1050.0 ms"));
    s.loss_window_ms_max = 500;
    s.reach_ms_max = 900;                             /* no image could have shown it */
    vm_promise_verdict(&s);
    ck_assert_int_eq(s.held, -1);
    ck_assert_ptr_nonnull(strstr(s.held_reason, "FSYNCLAB_VM_KILL_WITHIN"));
    s.reach_ms_max = 2000;
    s.images_unchecked = 1;                           /* an image not seen: no true */
    vm_promise_verdict(&s);
    ck_assert_int_eq(s.held, -1);
    ck_assert_ptr_nonnull(strstr(s.held_reason, "could not be mounted"));
    s.check_failed = 1;                               /* but a failed check is false */
    vm_promise_verdict(&s);
    ck_assert_int_eq(s.held, 0);
    memset(&s, 0, sizeof s);                          /* a promise of 0 */
    s.promised = "FULL";
    s.trials = 1;
    s.acked_total = 10;
    vm_promise_verdict(&s);
    ck_assert_int_eq(s.held, 1);
    ck_assert_str_eq(s.held_reason, "");
    s.lost_max = 1;
    s.images_lost = 1;
    vm_promise_verdict(&s);
    ck_assert_int_eq(s.held, 0);
    s.promised_window_ms = -1;                        /* no number */
    vm_promise_verdict(&s);
    ck_assert_int_eq(s.held, -1);
    s.promised_window_ms = 0;
    s.acked_total = 0;                                /* nothing acknowledged */
    vm_promise_verdict(&s);
    ck_assert_int_eq(s.held, -1);
}
END_TEST

START_TEST(the_longest_sync_runs_from_a_write_to_the_next_flush)
{
    /* A log of: write, flush (seen 10 ms later), FUA write alone, write,
     * write, flush (30 ms), write left at the kill (5 ms before it). */
    struct vm_log_entry e[7] = {
        { .nr_sectors = 1, .end_off = 100 }, { .flags = VM_LOG_FLUSH, .end_off = 200 },
        { .nr_sectors = 1, .flags = VM_LOG_FUA, .end_off = 300 },
        { .nr_sectors = 1, .end_off = 400 }, { .nr_sectors = 1, .end_off = 500 },
        { .flags = VM_LOG_FLUSH, .end_off = 600 }, { .nr_sectors = 1, .end_off = 700 },
    };
    struct vm_log log = { .entries = e, .n = 7 };
    struct vm_size_seen sizes[6] = { { 1000000, 100 }, { 11000000, 300 }, { 20000000, 400 },
                                     { 40000000, 500 }, { 50000000, 600 }, { 95000000, 700 } };
    struct vm_trial t = { .sizes = sizes, .n_sizes = 6, .kill_ns = 100000000 };
    ck_assert_uint_eq(vm_log_sync_ns_max(&t, &log), 30000000);
    t.kill_ns = 150000000;                    /* the write at the end waits 55 ms */
    ck_assert_uint_eq(vm_log_sync_ns_max(&t, &log), 55000000);
    t.kill_ns = 100000000;
    t.first_ack_ns = 60000000;                /* syncs over before the first ack: not counted */
    ck_assert_uint_eq(vm_log_sync_ns_max(&t, &log), 5000000);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vm_targets");
    TCase *tc = tcase_create("targets");
    tcase_add_test(tc, builtin_targets_become_a_run_and_a_check_command);
    tcase_add_test(tc, the_promise_is_looked_up_by_target_name_and_settings);
    tcase_add_test(tc, held_follows_the_window_the_allowance_and_what_could_be_seen);
    tcase_add_test(tc, the_longest_sync_runs_from_a_write_to_the_next_flush);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
