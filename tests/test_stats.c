/* Unit tests for stats/: quantiles, the median's order-statistics interval
 * against coverages worked out by hand from the binomial, and the
 * Hodges-Lehmann difference with its Mann-Whitney interval, which must
 * exclude 0 for sets that clearly differ and hold it for sets that do not. */
#include <check.h>
#include <errno.h>
#include <math.h>

#include "stats/stats.h"

#define EPS 1e-9

START_TEST(five_runs_give_the_median_and_the_whole_range_at_93_75_percent)
{
    const double x[] = { 5, 1, 3, 2, 4 };
    struct stats_summary s;
    ck_assert_int_eq(stats_summarize(x, 5, &s), 0);
    ck_assert_double_eq_tol(s.median, 3, EPS);
    ck_assert_double_eq_tol(s.min, 1, EPS);
    ck_assert_double_eq_tol(s.max, 5, EPS);
    ck_assert_double_eq_tol(s.p10, 1.4, EPS);
    ck_assert_double_eq_tol(s.p90, 4.6, EPS);
    ck_assert_double_eq_tol(s.ci_low, 1, EPS);          /* no k > 1 reaches 95% */
    ck_assert_double_eq_tol(s.ci_high, 5, EPS);
    ck_assert_double_eq_tol(s.ci_coverage, 1 - 2.0 / 32, EPS);
    ck_assert_double_eq_tol(s.rel_spread, 4.0 / 3, EPS);
    ck_assert_double_eq_tol(stats_rel_half_width(&s), 2.0 / 3, EPS);
    ck_assert_double_eq_tol(x[0], 5, EPS);              /* input untouched */
}
END_TEST

START_TEST(the_interval_narrows_as_runs_are_added)
{
    double x[20];
    for (int i = 0; i < 20; i++)
        x[i] = 20 - i;   /* 20 .. 1, unsorted on purpose */
    struct stats_summary s;
    /* n = 6: the range, 1 - 2/64 */
    ck_assert_int_eq(stats_summarize(x + 14, 6, &s), 0);
    ck_assert_double_eq_tol(s.median, 3.5, EPS);
    ck_assert_double_eq_tol(s.ci_low, 1, EPS);
    ck_assert_double_eq_tol(s.ci_high, 6, EPS);
    ck_assert_double_eq_tol(s.ci_coverage, 1 - 2.0 / 64, EPS);
    /* n = 9: x(2)..x(8), 1 - 2 (1 + 9) / 512 */
    ck_assert_int_eq(stats_summarize(x + 11, 9, &s), 0);
    ck_assert_double_eq_tol(s.ci_low, 2, EPS);
    ck_assert_double_eq_tol(s.ci_high, 8, EPS);
    ck_assert_double_eq_tol(s.ci_coverage, 1 - 20.0 / 512, EPS);
    /* n = 20: x(6)..x(15), 1 - 2 (1 + 20 + 190 + 1140 + 4845 + 15504) / 2^20 */
    ck_assert_int_eq(stats_summarize(x, 20, &s), 0);
    ck_assert_double_eq_tol(s.median, 10.5, EPS);
    ck_assert_double_eq_tol(s.ci_low, 6, EPS);
    ck_assert_double_eq_tol(s.ci_high, 15, EPS);
    ck_assert_double_eq_tol(s.ci_coverage, 1 - 2 * 21700.0 / 1048576, EPS);
}
END_TEST

START_TEST(one_run_has_no_interval_to_speak_of)
{
    const double x[] = { 42 };
    struct stats_summary s;
    ck_assert_int_eq(stats_summarize(x, 1, &s), 0);
    ck_assert_double_eq_tol(s.median, 42, EPS);
    ck_assert_double_eq_tol(s.ci_low, 42, EPS);
    ck_assert_double_eq_tol(s.ci_high, 42, EPS);
    ck_assert_double_eq_tol(s.ci_coverage, 0, EPS);
}
END_TEST

START_TEST(bad_input_is_refused)
{
    double x[STATS_MAX_SAMPLES + 1] = { 0 };
    struct stats_summary s;
    struct stats_diff d;
    ck_assert_int_eq(stats_summarize(x, 0, &s), -EINVAL);
    ck_assert_int_eq(stats_summarize(x, STATS_MAX_SAMPLES + 1, &s), -EINVAL);
    x[1] = NAN;
    ck_assert_int_eq(stats_summarize(x, 3, &s), -EINVAL);
    ck_assert_int_eq(stats_diff(x, 3, x + 2, 3, &d), -EINVAL);
    ck_assert_int_eq(stats_diff(x + 2, 0, x + 2, 3, &d), -EINVAL);
}
END_TEST

START_TEST(a_clear_shift_of_five_runs_each_is_proven_with_the_textbook_interval)
{
    /* m = n = 5: P(U <= 2) = 4/252, so the interval runs from the 3rd smallest
     * to the 3rd largest of the 25 differences, which are 10 + (j - i). */
    const double a[] = { 1, 2, 3, 4, 5 }, b[] = { 15, 11, 14, 12, 13 };
    struct stats_diff d;
    ck_assert_int_eq(stats_diff(a, 5, b, 5, &d), 0);
    ck_assert_double_eq_tol(d.median_diff, 10, EPS);
    ck_assert_double_eq_tol(d.shift, 10, EPS);
    ck_assert_double_eq_tol(d.low, 7, EPS);
    ck_assert_double_eq_tol(d.high, 13, EPS);
    ck_assert_double_eq_tol(d.coverage, 1 - 8.0 / 252, EPS);
    ck_assert_int_eq(d.verdict, STATS_B_HIGHER);
    /* and the other way round */
    ck_assert_int_eq(stats_diff(b, 5, a, 5, &d), 0);
    ck_assert_double_eq_tol(d.shift, -10, EPS);
    ck_assert_double_eq_tol(d.low, -13, EPS);
    ck_assert_double_eq_tol(d.high, -7, EPS);
    ck_assert_int_eq(d.verdict, STATS_B_LOWER);
}
END_TEST

/* The detector, broken on purpose: the same sets, moved until they overlap,
 * must stop being called different; a set against itself never is. */
START_TEST(overlapping_or_identical_sets_prove_nothing)
{
    const double a[] = { 100, 130, 90, 120, 110 };
    double b[5];
    struct stats_diff d;
    ck_assert_int_eq(stats_diff(a, 5, a, 5, &d), 0);
    ck_assert_double_eq_tol(d.shift, 0, EPS);
    ck_assert(d.low < 0 && d.high > 0);
    ck_assert_int_eq(d.verdict, STATS_NO_DIFFERENCE);
    ck_assert_str_eq(stats_verdict_name(d.verdict), "no difference proven");

    for (int i = 0; i < 5; i++)
        b[i] = a[i] + 100;   /* clearly apart */
    ck_assert_int_eq(stats_diff(a, 5, b, 5, &d), 0);
    ck_assert_int_eq(d.verdict, STATS_B_HIGHER);
    for (int i = 0; i < 5; i++)
        b[i] = a[i] + 10;    /* within the spread */
    ck_assert_int_eq(stats_diff(a, 5, b, 5, &d), 0);
    ck_assert(d.low <= 0 && d.high >= 0);
    ck_assert_int_eq(d.verdict, STATS_NO_DIFFERENCE);
}
END_TEST

START_TEST(three_runs_each_cannot_prove_even_a_huge_difference)
{
    /* P(U = 0) = 1/20 for m = n = 3: the best interval covers 90% only. */
    const double a[] = { 1, 2, 3 }, b[] = { 1001, 1002, 1003 };
    struct stats_diff d;
    ck_assert_int_eq(stats_diff(a, 3, b, 3, &d), 0);
    ck_assert_double_eq_tol(d.coverage, 0.9, EPS);
    ck_assert_int_eq(d.verdict, STATS_TOO_FEW);
    /* four each suffice: P(U = 0) = 1/70 */
    const double a4[] = { 1, 2, 3, 4 }, b4[] = { 1001, 1002, 1003, 1004 };
    ck_assert_int_eq(stats_diff(a4, 4, b4, 4, &d), 0);
    ck_assert_double_eq_tol(d.coverage, 1 - 2.0 / 70, EPS);
    ck_assert_double_eq_tol(d.low, 997, EPS);
    ck_assert_double_eq_tol(d.high, 1003, EPS);
    ck_assert_int_eq(d.verdict, STATS_B_HIGHER);
    /* one run against one: no interval at all */
    ck_assert_int_eq(stats_diff(a, 1, b, 1, &d), 0);
    ck_assert_double_eq_tol(d.coverage, 0, EPS);
    ck_assert_int_eq(d.verdict, STATS_TOO_FEW);
}
END_TEST

START_TEST(unequal_and_large_sets_stay_just_above_95_percent)
{
    static double a[STATS_MAX_SAMPLES], b[STATS_MAX_SAMPLES];
    for (int i = 0; i < STATS_MAX_SAMPLES; i++) {
        a[i] = (i * 37) % 101;
        b[i] = (i * 53) % 103;
    }
    struct stats_diff d;
    ck_assert_int_eq(stats_diff(a, STATS_MAX_SAMPLES, b, STATS_MAX_SAMPLES, &d), 0);
    ck_assert(d.coverage >= 0.95 && d.coverage < 0.951);
    ck_assert_int_eq(d.verdict, STATS_NO_DIFFERENCE);
    /* m = 4, n = 6: P(U <= 2) = 4/210, P(U <= 3) = 7/210: k = 3 */
    const double a4[] = { 0, 1, 2, 3 }, b6[] = { 10, 11, 12, 13, 14, 15 };
    ck_assert_int_eq(stats_diff(a4, 4, b6, 6, &d), 0);
    ck_assert_double_eq_tol(d.coverage, 1 - 8.0 / 210, EPS);
    ck_assert_double_eq_tol(d.low, 8, EPS);    /* 3rd smallest of 7, 8, 8, 9, ... */
    ck_assert_double_eq_tol(d.high, 14, EPS);  /* 3rd largest of 15, 14, 14, 13, ... */
    ck_assert_double_eq_tol(d.shift, 11, EPS);
    ck_assert_double_eq_tol(d.median_diff, 11, EPS);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, five_runs_give_the_median_and_the_whole_range_at_93_75_percent);
    tcase_add_test(tc, the_interval_narrows_as_runs_are_added);
    tcase_add_test(tc, one_run_has_no_interval_to_speak_of);
    tcase_add_test(tc, bad_input_is_refused);
    tcase_add_test(tc, a_clear_shift_of_five_runs_each_is_proven_with_the_textbook_interval);
    tcase_add_test(tc, overlapping_or_identical_sets_prove_nothing);
    tcase_add_test(tc, three_runs_each_cannot_prove_even_a_huge_difference);
    tcase_add_test(tc, unequal_and_large_sets_stay_just_above_95_percent);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
