/* Unit tests for report/: the JSON writer (byte for byte what Python's
 * json.dumps prints: expected strings were produced by Python and pasted
 * here), the limits both front ends share, and the curve's files. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report/report.h"
#include "tests/support.h"

static void assert_prints(const cJSON *item, const char *want)
{
    char *got = report_json_print(item);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, want);
    free(got);
}

static void assert_parsed_prints(const char *json, const char *want)
{
    cJSON *item = cJSON_Parse(json);
    ck_assert_ptr_nonnull(item);
    assert_prints(item, want);
    cJSON_Delete(item);
}

/* ---- printer ------------------------------------------------------------ */

START_TEST(printer_escapes_quotes_backslash_and_control_chars_like_python)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "a", "q\"b\\n\nr\rt\tb\bf\f\x01\x1f\x7f/~ ");
    assert_prints(o, "{\"a\": \"q\\\"b\\\\n\\nr\\rt\\tb\\bf\\f\\u0001\\u001f\\u007f/~ \"}");
    cJSON_Delete(o);
}
END_TEST

START_TEST(printer_writes_non_ascii_as_u_escapes_and_astral_as_surrogate_pairs)
{
    cJSON *a = cJSON_CreateArray();
    cJSON_AddItemToArray(a, cJSON_CreateString("\xc3\xa9\xe2\x82\xac"));      /* é€ */
    cJSON_AddItemToArray(a, cJSON_CreateString("\xf0\x9f\x98\x80"));          /* U+1F600 */
    cJSON_AddItemToArray(a, cJSON_CreateString("a\xe2\x80\xa8" "b"));         /* U+2028 */
    assert_prints(a, "[\"\\u00e9\\u20ac\", \"\\ud83d\\ude00\", \"a\\u2028b\"]");
    cJSON_Delete(a);
}
END_TEST

START_TEST(printer_escapes_keys_like_values)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "k\"\xc3\xa9", 1);
    assert_prints(o, "{\"k\\\"\\u00e9\": 1}");
    cJSON_Delete(o);
}
END_TEST

START_TEST(printer_replaces_invalid_utf8_instead_of_failing)
{
    cJSON *s = cJSON_CreateString("a\xff" "b\xc3");
    assert_prints(s, "\"a\\ufffdb\\ufffd\"");
    cJSON_Delete(s);
}
END_TEST

START_TEST(printer_nests_arrays_objects_and_literals_with_python_separators)
{
    assert_parsed_prints("{\"a\":[1,[2,[]],{}],\"b\":{\"c\":{\"d\":null}},\"t\":true,\"f\":false}",
                         "{\"a\": [1, [2, []], {}], \"b\": {\"c\": {\"d\": null}}, \"t\": true, \"f\": false}");
}
END_TEST

START_TEST(printer_keeps_insertion_order_and_duplicate_keys)
{
    assert_parsed_prints("{\"z\":1,\"a\":2,\"z\":3}", "{\"z\": 1, \"a\": 2, \"z\": 3}");
}
END_TEST

START_TEST(printer_roundtrips_parsed_unicode_escapes)
{
    assert_parsed_prints("{\"x\": \"\\u00e9\\ud83d\\ude00\\n\", \"y\": [0.5, -0, 3]}",
                         "{\"x\": \"\\u00e9\\ud83d\\ude00\\n\", \"y\": [0.5, 0, 3]}");
}
END_TEST

/* repr(v) from Python 3.11 for each v. */
static const struct { double v; const char *repr; } floats[] = {
    {0.1, "0.1"},
    {1e-05, "1e-05"},
    {1e16, "1e+16"},
    {2.5, "2.5"},
    {2.0, "2.0"},
    {1e15, "1000000000000000.0"},
    {0.0001, "0.0001"},
    {123.456, "123.456"},
    {-0.5, "-0.5"},
    {1.0 / 3, "0.3333333333333333"},
    {1e300, "1e+300"},
    {5e-324, "5e-324"},
    {1.7976931348623157e308, "1.7976931348623157e+308"},
    {12345.678, "12345.678"},
    {-0.0, "-0.0"},
    {0.0, "0.0"},
    {1e22, "1e+22"},
    {1.5e-7, "1.5e-07"},
    {100.0, "100.0"},
    {0.001, "0.001"},
    {9007199254740992.0, "9007199254740992.0"},
    {272.384, "272.384"},
};

START_TEST(float_prints_as_python_repr)
{
    cJSON *f = report_json_float(floats[_i].v);
    ck_assert_ptr_nonnull(f);
    assert_prints(f, floats[_i].repr);
    cJSON_Delete(f);
}
END_TEST

START_TEST(float_rejects_nan_and_infinity)
{
    ck_assert_ptr_null(report_json_float(NAN));
    ck_assert_ptr_null(report_json_float(INFINITY));
    ck_assert_ptr_null(report_json_float(-INFINITY));
}
END_TEST

START_TEST(printer_prints_integral_numbers_below_2p53_as_ints_and_others_as_repr)
{
    cJSON *a = cJSON_CreateArray();
    double v[] = {0, -1, 9007199254740991.0, 9007199254740992.0, 1e17, 1.5, -2.25};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    assert_prints(a, "[0, -1, 9007199254740991, 9007199254740992.0, 1e+17, 1.5, -2.25]");
    cJSON_Delete(a);
}
END_TEST

/* ---- limits --------------------------------------------------------------- */

START_TEST(limits_accept_their_bounds_and_refuse_one_past)
{
    ck_assert(report_limit_ok(REPORT_ENTRIES, 1));
    ck_assert(report_limit_ok(REPORT_ENTRIES, (double)BENCH_MAX_ENTRIES));
    ck_assert(!report_limit_ok(REPORT_ENTRIES, 0));
    ck_assert(!report_limit_ok(REPORT_ENTRIES, (double)BENCH_MAX_ENTRIES + 1));
    ck_assert(!report_limit_ok(REPORT_ENTRIES, 1.5));
    ck_assert(!report_limit_ok(REPORT_ENTRIES, NAN));
    ck_assert(report_limit_ok(REPORT_CRASH_ENTRIES, (double)REPORT_CRASH_MAX_ENTRIES));
    ck_assert(!report_limit_ok(REPORT_CRASH_ENTRIES, (double)REPORT_CRASH_MAX_ENTRIES + 1));
    ck_assert(report_limit_ok(REPORT_SEED, 0));
    ck_assert(report_limit_ok(REPORT_SEED, REPORT_MAX_SEED));
    ck_assert(!report_limit_ok(REPORT_SEED, REPORT_MAX_SEED + 2));
    ck_assert(!report_limit_ok(REPORT_WRITEBACK_INTERVAL_MS, 0));
    ck_assert(report_limit_ok(REPORT_WRITEBACK_EXPIRE_MS, 0));
}
END_TEST

START_TEST(max_seconds_takes_any_number_above_zero_up_to_its_limit)
{
    ck_assert(report_limit_ok(REPORT_MAX_SECONDS, 0.001));
    ck_assert(report_limit_ok(REPORT_MAX_SECONDS, BENCH_MAX_SECONDS));
    ck_assert(!report_limit_ok(REPORT_MAX_SECONDS, 0));
    ck_assert(!report_limit_ok(REPORT_MAX_SECONDS, BENCH_MAX_SECONDS + 0.5));
    ck_assert(!report_limit_ok(REPORT_MAX_SECONDS, INFINITY));
}
END_TEST

START_TEST(limit_texts_name_the_range_in_the_words_both_front_ends_print)
{
    char buf[96];
    ck_assert_str_eq(report_limit_text(REPORT_ENTRIES, buf, sizeof buf),
                     "a whole number from 1 to 10000000");
    ck_assert_str_eq(report_limit_text(REPORT_SEED, buf, sizeof buf),
                     "a whole number from 0 to 9007199254740991");
    ck_assert_str_eq(report_limit_text(REPORT_MAX_SECONDS, buf, sizeof buf),
                     "a number greater than 0 and at most 3600");
    ck_assert_str_eq(report_limit(REPORT_TRIALS)->field, "trials");
    ck_assert_str_eq(report_limit(REPORT_TRIALS)->flag, "--trials");
}
END_TEST

/* ---- the curve's files ----------------------------------------------------- */

static char dir[WAL_PATH_MAX];

static void make_dir(void)
{
    support_make_dir(dir, sizeof dir, "report");
}

static void dir_must_be_empty(void)
{
    support_rmdir_empty(dir);
}

static struct bench_curve_config curve_config(void)
{
    struct bench_curve_config cfg = { .intervals = { 5, 50 }, .n_intervals = 2, .entries = 300,
                                      .crash_entries = 200, .trials = 2, .model = support_model("drop"),
                                      .seed = 3, .entry_size = 128,
                                      .sync_method = WAL_SYNC_FSYNC, .dir = dir };
    return cfg;
}

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    int n = 0, c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void remove_outputs(const char *out)
{
    const char *names[] = { "curve.csv", "curve.json", "curve.gp", "curve.svg", "curve.png" };
    char path[WAL_PATH_MAX];
    for (size_t i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/%s", out, names[i]);
        unlink(path);
    }
    rmdir(out);
}

static void fake_points(struct bench_curve_point *p, const struct bench_curve_config *cfg)
{
    memset(p, 0, 4 * sizeof *p);
    const uint64_t ops[4] = { 3000, 300000, 350000, 400000 };
    const uint64_t window_ns[4] = { 0, 6000000, 52000000, 900000000 };
    for (int i = 0; i < 4; i++) {
        p[i].strategy = i == 0 ? (struct wal_strategy){ WAL_ALWAYS, 0 }
                      : i == 3 ? (struct wal_strategy){ WAL_NONE, 0 }
                               : (struct wal_strategy){ WAL_BATCH, cfg->intervals[i - 1] };
        verifier_summary_init(&p[i].crash, &p[i].strategy);
        p[i].ops_per_sec = ops[i];
        p[i].crash.trials = 2;
        p[i].crash.trials_valid = 2;
        p[i].crash.loss_window_ns_max = window_ns[i];
        hist_add(&p[i].crash.loss_window_ns, window_ns[i]);
        hist_add(&p[i].crash.loss_window_ns, window_ns[i]);
        p[i].crash_entries = 200;
    }
}

START_TEST(curve_csv_and_json_have_one_row_a_point_in_the_documented_schema)
{
    make_dir();
    struct bench_curve_config cfg = curve_config();
    struct bench_curve_point p[4];
    fake_points(p, &cfg);
    struct bench_env env;
    ck_assert_int_eq(bench_env_probe(dir, &env), 0);
    char out[WAL_PATH_MAX + 8], path[WAL_PATH_MAX + 100], err[256] = "";
    snprintf(out, sizeof out, "%s/out", dir);
    ck_assert_int_eq(report_curve_write(out, &env, &cfg, p, 4, NULL, err, sizeof err), 0);

    snprintf(path, sizeof path, "%s/curve.csv", out);
    ck_assert_int_eq(count_lines(path), 5);
    char *csv = slurp(path);
    ck_assert(strncmp(csv, "strategy,interval_ms,ops_per_sec,loss_window_ms_max,"
                           "loss_window_ms_p50,acked_lost_max,acked_lost_mean,trials,"
                           "promised_window_ms,held,crash_entries\n", 130) == 0);
    ck_assert_ptr_nonnull(strstr(csv, "\nalways,0,3000,0.000,"));
    ck_assert_ptr_nonnull(strstr(csv, "\nbatch_5ms,5,300000,6.000,"));
    ck_assert_ptr_nonnull(strstr(csv, "\nnone,,400000,900.000,"));

    snprintf(path, sizeof path, "%s/curve.json", out);
    char *json = slurp(path);
    const char *first = "{\"points\": [{\"strategy\": \"always\", \"interval_ms\": 0, "
                        "\"ops_per_sec\": 3000, \"loss_window_ms_max\": 0.0, ";
    ck_assert_msg(strncmp(json, first, strlen(first)) == 0, "%s", json);
    ck_assert_ptr_nonnull(strstr(json, "\"loss_window_ms_max\": 6.0, "));
    ck_assert_ptr_nonnull(strstr(json, "{\"strategy\": \"none\", \"interval_ms\": null, "));
    ck_assert_ptr_nonnull(strstr(json, "\"promised_window_ms\": 50, \"held\": "));
    ck_assert_ptr_nonnull(strstr(json, "\"model\": \"drop\", \"seed\": 3, "));
    snprintf(path, sizeof path, "%s/curve.gp", out);
    ck_assert_ptr_nonnull(strstr(slurp(path), "$points << EOD"));
    remove_outputs(out);
    dir_must_be_empty();
}
END_TEST

START_TEST(curve_files_carry_the_throughput_interval_and_the_window_spread)
{
    make_dir();
    struct bench_curve_config cfg = curve_config();
    struct bench_curve_point p[4];
    fake_points(p, &cfg);
    const double runs[3] = { 320000, 290000, 300000 };
    for (int k = 0; k < 3; k++)
        p[1].run_ops_per_sec[k] = (uint64_t)runs[k];
    ck_assert_int_eq(stats_summarize(runs, 3, &p[1].ops), 0);
    p[1].ops_per_sec = 300000;
    hist_init(&p[2].crash.loss_window_ns);   /* ten trials: 1 ms .. 10 ms */
    for (int t = 1; t <= 10; t++)
        hist_add(&p[2].crash.loss_window_ns, (uint64_t)t * 1000000);
    struct bench_env env;
    ck_assert_int_eq(bench_env_probe(dir, &env), 0);
    char out[WAL_PATH_MAX + 8], path[WAL_PATH_MAX + 100], err[256] = "";
    snprintf(out, sizeof out, "%s/out", dir);
    ck_assert_int_eq(report_curve_write(out, &env, &cfg, p, 4, NULL, err, sizeof err), 0);

    snprintf(path, sizeof path, "%s/curve.csv", out);
    char *csv = slurp(path);
    ck_assert_ptr_nonnull(strstr(csv, ",crash_entries,ops_per_sec_ci_low,ops_per_sec_ci_high,runs,"
                                      "loss_window_ms_p10,loss_window_ms_p90,trials_valid,allowance_ms\n"));
    ck_assert_msg(strstr(csv, ",200,290000,320000,3,") != NULL, "%s", csv);   /* batch_5ms */
    ck_assert_msg(strstr(csv, ",200,3000,3000,1,") != NULL, "%s", csv);       /* one run */
    double p10, p90;
    report_curve_window_spread(&p[2], &p10, &p90);
    /* the histogram holds a quantile to 1/64 */
    ck_assert_msg(p10 >= 1.0 && p10 <= 2.0 && p90 >= 8.8 && p90 <= 10.0, "%g %g", p10, p90);

    snprintf(path, sizeof path, "%s/curve.json", out);
    char *json = slurp(path);
    ck_assert_msg(strstr(json, "\"ops_per_sec_runs\": [320000, 290000, 300000], "
                               "\"ops_per_sec_ci95\": [290000, 320000], "
                               "\"ops_per_sec_ci_coverage\": 0.75, \"loss_window_ms_p10\": ") != NULL,
                  "%s", json);
    ck_assert_ptr_nonnull(strstr(json, "\"ops_per_sec_runs\": [3000], "
                                       "\"ops_per_sec_ci95\": [3000, 3000], "));
    snprintf(path, sizeof path, "%s/curve.gp", out);
    char *gp = slurp(path);
    ck_assert_ptr_nonnull(strstr(gp, "using (x($10)):3:8:9:6:7 with xyerrorbars"));
    ck_assert_ptr_nonnull(strstr(gp, "(75.0% with 3 runs)") ? gp : strstr(gp, "p10-p90"));
    ck_assert_ptr_nonnull(strstr(gp, " batch_5ms 290000 320000 "));
    remove_outputs(out);
    dir_must_be_empty();
}
END_TEST

START_TEST(curve_point_without_a_valid_trial_is_missing_not_zero)
{
    make_dir();
    struct bench_curve_config cfg = curve_config();
    struct bench_curve_point p[4];
    fake_points(p, &cfg);
    p[1].crash.trials_valid = 0;   /* batch_5ms: its trials saw nothing */
    hist_init(&p[1].crash.loss_window_ns);
    p[1].crash.loss_window_ns_max = 0;
    struct bench_env env;
    ck_assert_int_eq(bench_env_probe(dir, &env), 0);
    char out[WAL_PATH_MAX + 8], path[WAL_PATH_MAX + 100], err[256] = "";
    snprintf(out, sizeof out, "%s/out", dir);
    ck_assert_int_eq(report_curve_write(out, &env, &cfg, p, 4, NULL, err, sizeof err), 0);

    snprintf(path, sizeof path, "%s/curve.csv", out);
    char *csv = slurp(path);
    ck_assert_msg(strstr(csv, "\nbatch_5ms,5,300000,,,,,2,5,,200,300000,300000,1,,,0,") != NULL,
                  "%s", csv);
    ck_assert_ptr_nonnull(strstr(csv, "\nalways,0,3000,0.000,0.000,0,0.000,2,"));   /* a real 0 */
    snprintf(path, sizeof path, "%s/curve.json", out);
    char *json = slurp(path);
    ck_assert_msg(strstr(json, "\"strategy\": \"batch_5ms\", \"interval_ms\": 5, \"ops_per_sec\": "
                               "300000, \"loss_window_ms_max\": null, \"loss_window_ms_p50\": null, "
                               "\"acked_lost_max\": null, \"acked_lost_mean\": null, ") != NULL,
                  "%s", json);
    snprintf(path, sizeof path, "%s/curve.gp", out);
    char *gp = slurp(path);
    ck_assert_msg(strstr(gp, "\n\"5 ms\" ") && strstr(strstr(gp, "\n\"5 ms\" "), " 0\n\"50 ms\" "),
                  "%s", gp);
    ck_assert_ptr_nonnull(strstr(gp, "not drawn (no valid crash trial): batch_5ms"));
    remove_outputs(out);
    dir_must_be_empty();
}
END_TEST

START_TEST(curve_table_says_a_point_ran_fewer_crash_trials_than_asked)
{
    struct bench_curve_config cfg = curve_config();
    cfg.trials = 5;
    struct bench_curve_point p[4];
    fake_points(p, &cfg);   /* two trials ran of each point */
    p[0].crash.trials = 5;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    report_print_curve_table(f, &cfg, p, 4);
    ck_assert_int_eq(fclose(f), 0);
    const char *note = "  (out of time: ran 2 of 5 crash trials in the point's 60 s)\n";
    size_t notes = 0;
    for (const char *at = text; (at = strstr(at, note)); at += strlen(note))
        notes++;
    ck_assert_msg(notes == 3, "%s", text);   /* not under always, which ran all five */
    free(text);
}
END_TEST

START_TEST(curve_renders_svg_and_png_when_gnuplot_is_present)
{
    if (access("/usr/bin/gnuplot", X_OK) != 0)
        return;   /* .ci/run installs gnuplot-nox, so CI always runs this */
    make_dir();
    struct bench_curve_config cfg = curve_config();
    struct bench_curve_point p[4];
    fake_points(p, &cfg);
    struct bench_env env;
    ck_assert_int_eq(bench_env_probe(dir, &env), 0);
    char out[WAL_PATH_MAX + 8], path[WAL_PATH_MAX + 100], err[256] = "";
    snprintf(out, sizeof out, "%s/out", dir);
    ck_assert_int_eq(report_curve_write(out, &env, &cfg, p, 4, NULL, err, sizeof err), 0);
    unsetenv("FSYNCLAB_GNUPLOT");
    ck_assert_msg(report_curve_render(out, err, sizeof err) == 0, "%s", err);
    snprintf(path, sizeof path, "%s/curve.png", out);
    char *png = slurp(path);
    ck_assert(memcmp(png, "\x89PNG", 4) == 0);
    snprintf(path, sizeof path, "%s/curve.svg", out);
    ck_assert_ptr_nonnull(strstr(slurp(path), "<svg"));
    remove_outputs(out);
    dir_must_be_empty();
}
END_TEST

START_TEST(curve_without_gnuplot_keeps_the_data_and_says_so)
{
    make_dir();
    struct bench_curve_config cfg = curve_config();
    struct bench_curve_point p[4];
    fake_points(p, &cfg);
    struct bench_env env;
    ck_assert_int_eq(bench_env_probe(dir, &env), 0);
    char out[WAL_PATH_MAX + 8], path[WAL_PATH_MAX + 100], err[256] = "";
    snprintf(out, sizeof out, "%s/out", dir);
    ck_assert_int_eq(report_curve_write(out, &env, &cfg, p, 4, NULL, err, sizeof err), 0);
    setenv("FSYNCLAB_GNUPLOT", "build/no/such/gnuplot", 1);
    ck_assert_int_eq(report_curve_render(out, err, sizeof err), -ENOENT);
    ck_assert_str_eq(err, "gnuplot is not installed");
    unsetenv("FSYNCLAB_GNUPLOT");
    snprintf(path, sizeof path, "%s/curve.csv", out);
    ck_assert_int_eq(access(path, R_OK), 0);
    snprintf(path, sizeof path, "%s/curve.png", out);
    ck_assert_int_ne(access(path, F_OK), 0);
    remove_outputs(out);
    dir_must_be_empty();
}
END_TEST

/* ---- repeated runs: bodies and tables -------------------------------------- */

/* A result of `runs` runs with the given rates, as bench_run leaves it. */
static void fake_result(struct bench_result *r, const uint64_t *ops, unsigned runs)
{
    memset(r, 0, sizeof *r);
    r->strategy = (struct wal_strategy){ WAL_ALWAYS, 0 };
    hist_init(&r->ack_ns);
    hist_init(&r->wal.sync_ns);
    r->complete = 1;
    r->runs = runs;
    r->warmed_up = runs > 1;
    double x[BENCH_MAX_REPEAT];
    for (unsigned k = 0; k < runs; k++) {
        r->run_ops_per_sec[k] = ops[k];
        r->run_entries[k] = 1000;
        r->run_seconds[k] = 1;
        x[k] = (double)ops[k];
    }
    r->entries_requested = r->entries_written = 1000ull * runs;
    ck_assert_int_eq(stats_summarize(x, runs, &r->ops), 0);
    r->ops_per_sec = (uint64_t)(r->ops.median + 0.5);
}

static char *body_text(const struct bench_result *r)
{
    struct bench_env env = { .fs_type = "ext4", .dirty_expire_cs = 3000,
                             .dirty_writeback_cs = 500 };
    struct bench_config cfg = { .entries = 1000, .entry_size = 128 };
    cJSON *body = report_benchmark_body(&env, &cfg, r, 1);
    ck_assert_ptr_nonnull(body);
    char *text = report_json_print(body);
    cJSON_Delete(body);
    ck_assert_ptr_nonnull(text);
    return text;
}

START_TEST(one_run_adds_no_key_and_several_add_runs_interval_and_spread)
{
    static struct bench_result r;
    const uint64_t ops[5] = { 1000, 1200, 900, 1100, 1050 };
    fake_result(&r, ops, 1);
    char *text = body_text(&r);
    ck_assert_ptr_null(strstr(text, "runs"));
    ck_assert_ptr_null(strstr(text, "ci95"));
    free(text);
    fake_result(&r, ops, 5);
    text = body_text(&r);
    ck_assert_ptr_nonnull(strstr(text, "\"ops_per_sec\": 1050, "));
    ck_assert_ptr_nonnull(strstr(text, "\"runs\": 5, \"warmup\": true, \"ops_per_sec_runs\": "
                                       "[1000, 1200, 900, 1100, 1050], \"ops_per_sec_ci95\": "
                                       "[900, 1200], \"ops_per_sec_ci_coverage\": 0.9375, "
                                       "\"ops_per_sec_rel_spread\": 0.2857, \"entries_runs\": "
                                       "[1000, 1000, 1000, 1000, 1000], \"short_runs\": 0, "));
    free(text);
}
END_TEST

static char *table_text(const struct bench_result *r)
{
    static char buf[8192];
    struct bench_env env = { .fs_type = "ext4", .dirty_expire_cs = -1 };
    FILE *f = fmemopen(buf, sizeof buf, "w");
    ck_assert_ptr_nonnull(f);
    struct bench_config cfg = { .sync_method = WAL_SYNC_FSYNC };
    report_print_bench_table(f, &env, &cfg, r, 1);
    ck_assert_int_eq(fclose(f), 0);
    return buf;
}

/* The flag, proven both ways: a spread of +-2% passes, +-20% is flagged. */
START_TEST(table_shows_median_plus_minus_and_flags_only_a_wide_interval)
{
    static struct bench_result r;
    const uint64_t narrow[6] = { 1000, 1010, 990, 1020, 980, 1005 };
    const uint64_t wide[6] = { 1000, 1200, 800, 1100, 900, 1050 };
    fake_result(&r, narrow, 6);
    char *t = table_text(&r);
    ck_assert_ptr_nonnull(strstr(t, "1003 \u00b1 22 "));
    ck_assert_ptr_null(strstr(t, "noisy"));
    ck_assert_ptr_nonnull(strstr(t, "96.9% with 6"));
    fake_result(&r, wide, 6);
    t = table_text(&r);
    ck_assert_ptr_nonnull(strstr(t, "(noisy: run longer or repeat; runs ranged 800..1200"));
    r.short_runs = 2;
    t = table_text(&r);
    ck_assert_ptr_nonnull(strstr(t, "2 of 6 runs lasted under 100 ms"));
}
END_TEST

START_TEST(diff_row_names_the_verdict)
{
    const double a[5] = { 100, 101, 102, 103, 104 }, b[5] = { 200, 201, 202, 203, 204 };
    struct stats_summary sa, sb;
    struct stats_diff d;
    ck_assert_int_eq(stats_summarize(a, 5, &sa), 0);
    ck_assert_int_eq(stats_summarize(b, 5, &sb), 0);
    ck_assert_int_eq(stats_diff(a, 5, b, 5, &d), 0);
    static char buf[1024];
    FILE *f = fmemopen(buf, sizeof buf, "w");
    ck_assert_ptr_nonnull(f);
    report_print_diff_row(f, "always", &sa, &sb, &d);
    ck_assert_int_eq(stats_diff(a, 5, a, 5, &d), 0);
    report_print_diff_row(f, "none", &sa, &sa, &d);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_ptr_nonnull(strstr(buf, "+100 (+98.0%)"));
    ck_assert_ptr_nonnull(strstr(buf, "+97 .. +103  difference proven: B higher\n"));
    ck_assert_ptr_nonnull(strstr(buf, "-3 .. +3  no difference proven\n"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("report");
    TCase *t = tcase_create("printer");
    tcase_add_test(t, printer_escapes_quotes_backslash_and_control_chars_like_python);
    tcase_add_test(t, printer_writes_non_ascii_as_u_escapes_and_astral_as_surrogate_pairs);
    tcase_add_test(t, printer_escapes_keys_like_values);
    tcase_add_test(t, printer_replaces_invalid_utf8_instead_of_failing);
    tcase_add_test(t, printer_nests_arrays_objects_and_literals_with_python_separators);
    tcase_add_test(t, printer_keeps_insertion_order_and_duplicate_keys);
    tcase_add_test(t, printer_roundtrips_parsed_unicode_escapes);
    tcase_add_loop_test(t, float_prints_as_python_repr, 0, sizeof floats / sizeof floats[0]);
    tcase_add_test(t, float_rejects_nan_and_infinity);
    tcase_add_test(t, printer_prints_integral_numbers_below_2p53_as_ints_and_others_as_repr);
    suite_add_tcase(s, t);

    t = tcase_create("limits");
    tcase_add_test(t, limits_accept_their_bounds_and_refuse_one_past);
    tcase_add_test(t, max_seconds_takes_any_number_above_zero_up_to_its_limit);
    tcase_add_test(t, limit_texts_name_the_range_in_the_words_both_front_ends_print);
    suite_add_tcase(s, t);

    t = tcase_create("repeats");
    tcase_add_test(t, one_run_adds_no_key_and_several_add_runs_interval_and_spread);
    tcase_add_test(t, table_shows_median_plus_minus_and_flags_only_a_wide_interval);
    tcase_add_test(t, diff_row_names_the_verdict);
    suite_add_tcase(s, t);

    t = tcase_create("curve files");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, curve_csv_and_json_have_one_row_a_point_in_the_documented_schema);
    tcase_add_test(t, curve_files_carry_the_throughput_interval_and_the_window_spread);
    tcase_add_test(t, curve_point_without_a_valid_trial_is_missing_not_zero);
    tcase_add_test(t, curve_table_says_a_point_ran_fewer_crash_trials_than_asked);
    tcase_add_test(t, curve_renders_svg_and_png_when_gnuplot_is_present);
    tcase_add_test(t, curve_without_gnuplot_keeps_the_data_and_says_so);
    suite_add_tcase(s, t);

    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
