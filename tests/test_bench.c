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

static char dir[4096];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "%s/test-bench-%ld", bench_data_dir(NULL), (long)getpid());
    mkdir(bench_data_dir(NULL), 0755);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
}

/* Removes the directory, failing the test if anything was left in it. */
static void dir_must_be_empty(void)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    int left = 0;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            left++;
    closedir(d);
    ck_assert_int_eq(left, 0);
    ck_assert_int_eq(rmdir(dir), 0);
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

/* ---- the curve ------------------------------------------------------------ */

static struct bench_curve_config curve_config(void)
{
    struct bench_curve_config cfg = { .intervals = { 5, 50 }, .n_intervals = 2, .entries = 300,
                                      .crash_entries = 200, .trials = 2, .model = CRASHSIM_DROP,
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
        ck_assert_uint_eq(p[i].crash.trials, 2);
        ck_assert_uint_ge(p[i].crash_entries, 200);
        ck_assert_uint_eq(p[i].crash.corrupt_recovered, 0);
    }
    ck_assert_uint_eq(p[0].crash.acked_lost_max, 0);     /* always under drop */
    /* trials long enough for three 50 ms intervals at the measured rate */
    ck_assert_uint_ge(p[2].crash_entries, p[2].ops_per_sec * 150 / 1000);
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
    tcase_add_test(tc, curve_measures_always_every_interval_and_none);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
