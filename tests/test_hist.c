/* Unit tests for hist/: quantiles within the promised 1/64 relative error,
 * exact extremes, merging. */
#include <check.h>
#include <stdlib.h>

#include "hist/hist.h"

START_TEST(empty_histogram_answers_zero)
{
    struct hist h;
    hist_init(&h);
    ck_assert_uint_eq(hist_quantile(&h, 0.5), 0);
    ck_assert_uint_eq(h.count, 0);
}
END_TEST

START_TEST(small_values_are_exact)
{
    struct hist h;
    hist_init(&h);
    for (uint64_t v = 1; v <= 63; v++)
        hist_add(&h, v);
    ck_assert_uint_eq(hist_quantile(&h, 0.5), 32);
    ck_assert_uint_eq(hist_quantile(&h, 0), 1);
    ck_assert_uint_eq(hist_quantile(&h, 1), 63);
}
END_TEST

START_TEST(quantiles_stay_within_relative_error)
{
    struct hist h;
    hist_init(&h);
    for (uint64_t v = 1; v <= 1000000; v++)
        hist_add(&h, v * 997);
    const double qs[] = { 0.01, 0.5, 0.9, 0.99, 0.999 };
    for (size_t i = 0; i < 5; i++) {
        double want = qs[i] * 1000000 * 997;
        double got = (double)hist_quantile(&h, qs[i]);
        ck_assert_msg(got > want * (1 - 1.0 / 64) && got < want * (1 + 1.0 / 64),
                      "q=%g want %g got %g", qs[i], want, got);
    }
    ck_assert_uint_eq(hist_quantile(&h, 1), 1000000ull * 997);
    ck_assert_uint_eq(h.max, 1000000ull * 997);
}
END_TEST

START_TEST(huge_values_do_not_overflow_buckets)
{
    struct hist h;
    hist_init(&h);
    hist_add(&h, UINT64_MAX);
    hist_add(&h, 0);
    ck_assert_uint_eq(hist_quantile(&h, 1), UINT64_MAX);
    ck_assert_uint_eq(hist_quantile(&h, 0), 0);
}
END_TEST

START_TEST(merge_equals_adding_everything_to_one)
{
    struct hist a, b, all;
    hist_init(&a);
    hist_init(&b);
    hist_init(&all);
    for (uint64_t v = 0; v < 5000; v++) {
        hist_add(v % 2 ? &a : &b, v * 31);
        hist_add(&all, v * 31);
    }
    hist_merge(&a, &b);
    ck_assert_uint_eq(a.count, all.count);
    ck_assert_uint_eq(a.sum, all.sum);
    ck_assert_uint_eq(a.min, all.min);
    ck_assert_uint_eq(a.max, all.max);
    ck_assert_uint_eq(hist_quantile(&a, 0.5), hist_quantile(&all, 0.5));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hist");
    TCase *tc = tcase_create("hist");
    tcase_add_test(tc, empty_histogram_answers_zero);
    tcase_add_test(tc, small_values_are_exact);
    tcase_add_test(tc, quantiles_stay_within_relative_error);
    tcase_add_test(tc, huge_values_do_not_overflow_buckets);
    tcase_add_test(tc, merge_equals_adding_everything_to_one);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
