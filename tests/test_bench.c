/* Unit tests for bench/: the file-system probe, the runner's measurements,
 * its shared time budget, its refusal to fill a disk, and that it leaves no
 * scratch file behind. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/bench.h"
#include "tests/support.h"

static char dir[WAL_PATH_MAX];

static void make_dir(void)
{
    support_make_dir(dir, sizeof dir, "bench");
}

static void dir_must_be_empty(void)
{
    support_rmdir_empty(dir);
}

static struct bench_config config(uint64_t entries)
{
    return (struct bench_config){ .entries = entries, .entry_size = 128,
                                  .sync_method = WAL_SYNC_FSYNC, .max_seconds = 30,
                                  .dir = dir };
}

START_TEST(probe_names_the_file_system_and_reads_writeback_settings)
{
    struct bench_env env;
    ck_assert_int_eq(bench_env_probe(".", &env), 0);
    ck_assert_str_ne(env.fs_type, "");
    ck_assert_int_ge(env.dirty_expire_cs, 0);
    ck_assert_int_ge(env.dirty_writeback_cs, 0);
}
END_TEST

START_TEST(probe_warns_that_tmpfs_syncs_measure_nothing)
{
    struct stat st;
    struct bench_env env;
    if (stat("/dev/shm", &st) != 0 || bench_env_probe("/dev/shm", &env) != 0 ||
        strcmp(env.fs_type, "tmpfs") != 0)
        return;   /* no tmpfs here to probe; the mapping is tested by the lab doc's run */
    ck_assert_ptr_nonnull(strstr(env.warning, "tmpfs"));
}
END_TEST

START_TEST(probe_fails_for_a_missing_directory)
{
    struct bench_env env;
    ck_assert_int_eq(bench_env_probe("build/no/such/dir", &env), -ENOENT);
}
END_TEST

START_TEST(results_come_in_requested_order_with_counted_syncs)
{
    make_dir();
    struct wal_strategy s[3];
    ck_assert_int_eq(wal_strategy_parse("always", &s[0]), 0);
    ck_assert_int_eq(wal_strategy_parse("batch_10ms", &s[1]), 0);
    ck_assert_int_eq(wal_strategy_parse("none", &s[2]), 0);
    struct bench_config cfg = config(200);
    static struct bench_result r[3];
    char err[256] = "";
    ck_assert_int_eq(bench_run(&cfg, s, 3, r, err, sizeof err), 0);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(r[i].strategy.kind, s[i].kind);
        ck_assert_uint_eq(r[i].entries_written, 200);
        ck_assert(r[i].complete);
        ck_assert_uint_gt(r[i].ops_per_sec, 0);
        ck_assert_uint_eq(r[i].ack_ns.count, 200);
    }
    ck_assert_uint_eq(r[0].wal.syncs, 200);          /* always: one per entry */
    ck_assert_uint_eq(r[0].wal.exposure_max_ns, 0);
    ck_assert_uint_ge(r[1].wal.syncs, 1);            /* batch: at least the closing one */
    ck_assert_uint_eq(r[1].wal.uncovered, 0);
    ck_assert_uint_eq(r[2].wal.syncs, 0);            /* none: never */
    ck_assert_uint_eq(r[2].wal.uncovered, 200);
    dir_must_be_empty();
}
END_TEST

START_TEST(a_strategy_out_of_budget_stops_and_reports_what_it_wrote)
{
    make_dir();
    struct wal_strategy s;
    ck_assert_int_eq(wal_strategy_parse("always", &s), 0);
    struct bench_config cfg = config(10000000);
    cfg.max_seconds = 0.05;
    static struct bench_result r;
    char err[256] = "";
    ck_assert_int_eq(bench_run(&cfg, &s, 1, &r, err, sizeof err), 0);
    ck_assert(!r.complete);
    ck_assert_uint_ge(r.entries_written, 1);
    ck_assert_uint_lt(r.entries_written, 10000000);
    ck_assert_uint_eq(r.wal.syncs, r.entries_written);
    dir_must_be_empty();
}
END_TEST

START_TEST(a_request_bigger_than_the_free_space_is_refused_before_writing)
{
    make_dir();
    struct wal_strategy s;
    ck_assert_int_eq(wal_strategy_parse("none", &s), 0);
    struct bench_config cfg = config(10000000);
    cfg.entry_size = WAL_MAX_RECORD;   /* 10 TiB */
    static struct bench_result r;
    char err[256] = "";
    ck_assert_int_eq(bench_run(&cfg, &s, 1, &r, err, sizeof err), -ENOSPC);
    ck_assert_ptr_nonnull(strstr(err, "needs"));
    ck_assert_ptr_nonnull(strstr(err, "MiB free"));
    dir_must_be_empty();
}
END_TEST

START_TEST(an_unwritable_directory_is_reported_naming_open)
{
    struct wal_strategy s;
    ck_assert_int_eq(wal_strategy_parse("none", &s), 0);
    snprintf(dir, sizeof dir, "build/no/such/dir");
    struct bench_config cfg = config(10);
    static struct bench_result r;
    char err[256] = "";
    int rc = bench_run(&cfg, &s, 1, &r, err, sizeof err);
    ck_assert_int_lt(rc, 0);
    ck_assert_msg(strncmp(err, "statvfs(", 8) == 0 || strncmp(err, "open(", 5) == 0, "%s", err);
}
END_TEST

/* ---- repeats, warm-up, time-based runs ------------------------------------ */

static void assert_runs_summarized(const struct bench_result *r, unsigned runs)
{
    ck_assert_uint_eq(r->runs, runs);
    ck_assert_uint_eq(r->ops.n, runs);
    double lo = 1e300, hi = 0;
    for (unsigned k = 0; k < runs; k++) {
        ck_assert_uint_gt(r->run_ops_per_sec[k], 0);
        lo = r->run_ops_per_sec[k] < lo ? (double)r->run_ops_per_sec[k] : lo;
        hi = r->run_ops_per_sec[k] > hi ? (double)r->run_ops_per_sec[k] : hi;
    }
    ck_assert_uint_eq(r->ops_per_sec, (uint64_t)(r->ops.median + 0.5));
    ck_assert(r->ops.ci_low <= r->ops.median && r->ops.median <= r->ops.ci_high);
    ck_assert(lo <= r->ops.ci_low && r->ops.ci_high <= hi);
}

START_TEST(repeats_keep_every_run_and_report_their_median)
{
    make_dir();
    struct wal_strategy s[2];
    ck_assert_int_eq(wal_strategy_parse("always", &s[0]), 0);
    ck_assert_int_eq(wal_strategy_parse("none", &s[1]), 0);
    struct bench_config cfg = config(100);
    cfg.repeat = 5;
    static struct bench_result r[2];
    char err[256] = "";
    ck_assert_int_eq(bench_run(&cfg, s, 2, r, err, sizeof err), 0);
    for (int i = 0; i < 2; i++) {
        assert_runs_summarized(&r[i], 5);
        ck_assert(r[i].warmed_up);              /* on by default with repeats */
        ck_assert(r[i].complete);
        for (int k = 0; k < 5; k++)
            ck_assert_uint_eq(r[i].run_entries[k], 100);
        ck_assert_uint_eq(r[i].entries_written, 500);
        ck_assert_uint_eq(r[i].entries_requested, 500);
        ck_assert_uint_eq(r[i].ack_ns.count, 500);  /* the warm-up is not counted */
    }
    ck_assert_uint_eq(r[0].wal.syncs, 500);
    ck_assert_uint_eq(r[1].wal.uncovered, 500);
    /* round-robin, cheapest first in every round: none's k-th run, then
     * always's k-th, then none's next */
    for (int k = 0; k < 5; k++) {
        ck_assert_uint_lt(r[1].run_start_ns[k], r[0].run_start_ns[k]);
        if (k < 4)
            ck_assert_uint_lt(r[0].run_start_ns[k], r[1].run_start_ns[k + 1]);
    }
    dir_must_be_empty();
}
END_TEST

START_TEST(one_run_without_warmup_is_what_it_always_was)
{
    make_dir();
    struct wal_strategy s;
    ck_assert_int_eq(wal_strategy_parse("none", &s), 0);
    struct bench_config cfg = config(100);
    static struct bench_result r;
    char err[256] = "";
    ck_assert_int_eq(bench_run(&cfg, &s, 1, &r, err, sizeof err), 0);
    ck_assert_uint_eq(r.runs, 1);
    ck_assert(!r.warmed_up);
    ck_assert_uint_eq(r.entries_requested, 100);
    ck_assert_uint_eq(r.ops_per_sec, r.run_ops_per_sec[0]);
    ck_assert_uint_eq(r.ops_per_sec,
                      (uint64_t)((double)r.entries_written / r.seconds + 0.5));
    ck_assert_uint_eq(r.short_runs, 1);   /* 100 buffered appends: far under 100 ms */
    ck_assert_double_eq(r.ops.ci_coverage, 0);
    /* a warm-up can be asked for with one run, and refused with several */
    cfg.warmup = BENCH_WARMUP_ON;
    ck_assert_int_eq(bench_run(&cfg, &s, 1, &r, err, sizeof err), 0);
    ck_assert(r.warmed_up);
    ck_assert_uint_eq(r.runs, 1);
    cfg.warmup = BENCH_WARMUP_OFF;
    cfg.repeat = 3;
    ck_assert_int_eq(bench_run(&cfg, &s, 1, &r, err, sizeof err), 0);
    ck_assert(!r.warmed_up);
    assert_runs_summarized(&r, 3);
    dir_must_be_empty();
}
END_TEST

START_TEST(a_time_based_run_lasts_its_seconds_and_counts_its_entries)
{
    make_dir();
    struct wal_strategy s[2];
    ck_assert_int_eq(wal_strategy_parse("always", &s[0]), 0);
    ck_assert_int_eq(wal_strategy_parse("none", &s[1]), 0);
    struct bench_config cfg = config(BENCH_MAX_ENTRIES);   /* a cap, not a count */
    cfg.seconds = 0.3;
    static struct bench_result r[2];
    char err[256] = "";
    ck_assert_int_eq(bench_run(&cfg, s, 2, r, err, sizeof err), 0);
    for (int i = 0; i < 2; i++) {
        ck_assert_msg(r[i].complete, "run %d stopped early", i);
        ck_assert(r[i].seconds >= 0.3 && r[i].seconds < 3);
        ck_assert_uint_gt(r[i].entries_written, 0);
        ck_assert_uint_lt(r[i].entries_written, BENCH_MAX_ENTRIES);
        ck_assert_uint_eq(r[i].short_runs, 0);
    }
    ck_assert_uint_eq(r[0].wal.syncs, r[0].entries_written);
    /* a budget shorter than the seconds cuts the run and says so */
    cfg.seconds = 2;
    cfg.max_seconds = 0.1;
    ck_assert_int_eq(bench_run(&cfg, &s[1], 1, r, err, sizeof err), 0);
    ck_assert(!r[0].complete);
    ck_assert(r[0].seconds < 1);
    dir_must_be_empty();
}
END_TEST

START_TEST(repeat_seconds_and_warmup_out_of_range_are_refused)
{
    struct wal_strategy s;
    ck_assert_int_eq(wal_strategy_parse("none", &s), 0);
    static struct bench_result r;
    char err[256] = "";
    struct bench_config cfg = config(10);
    cfg.repeat = BENCH_MAX_REPEAT + 1;
    ck_assert_int_eq(bench_run(&cfg, &s, 1, &r, err, sizeof err), -EINVAL);
    cfg = config(10);
    cfg.seconds = -1;
    ck_assert_int_eq(bench_run(&cfg, &s, 1, &r, err, sizeof err), -EINVAL);
    cfg = config(10);
    cfg.seconds = BENCH_MAX_SECONDS + 1;
    ck_assert_int_eq(bench_run(&cfg, &s, 1, &r, err, sizeof err), -EINVAL);
    cfg = config(10);
    cfg.warmup = 2;
    ck_assert_int_eq(bench_run(&cfg, &s, 1, &r, err, sizeof err), -EINVAL);
}
END_TEST

/* ---- the curve ------------------------------------------------------------ */

static struct bench_curve_config curve_config(void)
{
    struct bench_curve_config cfg = { .intervals = { 5, 50 }, .n_intervals = 2, .entries = 300,
                                      .crash_entries = 200, .trials = 2, .model = support_model("drop"),
                                      .seed = 3, .entry_size = 128,
                                      .sync_method = WAL_SYNC_FSYNC, .dir = dir };
    return cfg;
}

START_TEST(curve_measures_always_every_interval_and_none)
{
    make_dir();
    struct bench_curve_config cfg = curve_config();
    struct bench_curve_point p[4];
    char err[256] = "";
    ck_assert_uint_eq(bench_curve_points(&cfg), 4);
    ck_assert_int_eq(bench_curve_run(&cfg, p, NULL, NULL, err, sizeof err), 0);
    ck_assert_int_eq(p[0].strategy.kind, WAL_ALWAYS);
    ck_assert_int_eq(p[1].strategy.kind, WAL_BATCH);
    ck_assert_uint_eq(p[1].strategy.interval_ms, 5);
    ck_assert_uint_eq(p[2].strategy.interval_ms, 50);
    ck_assert_int_eq(p[3].strategy.kind, WAL_NONE);
    for (int i = 0; i < 4; i++) {
        ck_assert_uint_gt(p[i].ops_per_sec, 0);
        ck_assert_uint_eq(p[i].ops.n, BENCH_CURVE_DEFAULT_REPEAT);   /* three runs a point */
        ck_assert(p[i].ops.ci_low <= p[i].ops.median && p[i].ops.median <= p[i].ops.ci_high);
        ck_assert_uint_eq(p[i].crash.trials, 2);
        ck_assert_uint_ge(p[i].crash_entries, 200);
        ck_assert_uint_eq(p[i].crash.corrupt_recovered, 0);
    }
    ck_assert_uint_eq(p[0].crash.acked_lost_max, 0);     /* always under drop */
    /* trials long enough for eight 50 ms intervals at the measured rate (or the cap) */
    ck_assert_uint_ge(p[2].crash_entries, p[2].ops_per_sec * 400 / 1000 < 1000000 ? p[2].ops_per_sec * 400 / 1000 : 1000000);
    /* none runs as long as the longest batch point */
    ck_assert_uint_eq(p[3].crash_entries, p[2].crash_entries);
    dir_must_be_empty();
}
END_TEST




int main(void)
{
    Suite *s = suite_create("bench");
    TCase *tc = tcase_create("bench");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, probe_names_the_file_system_and_reads_writeback_settings);
    tcase_add_test(tc, probe_warns_that_tmpfs_syncs_measure_nothing);
    tcase_add_test(tc, probe_fails_for_a_missing_directory);
    tcase_add_test(tc, results_come_in_requested_order_with_counted_syncs);
    tcase_add_test(tc, a_strategy_out_of_budget_stops_and_reports_what_it_wrote);
    tcase_add_test(tc, a_request_bigger_than_the_free_space_is_refused_before_writing);
    tcase_add_test(tc, an_unwritable_directory_is_reported_naming_open);
    tcase_add_test(tc, repeats_keep_every_run_and_report_their_median);
    tcase_add_test(tc, one_run_without_warmup_is_what_it_always_was);
    tcase_add_test(tc, a_time_based_run_lasts_its_seconds_and_counts_its_entries);
    tcase_add_test(tc, repeat_seconds_and_warmup_out_of_range_are_refused);
    tcase_add_test(tc, curve_measures_always_every_interval_and_none);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
