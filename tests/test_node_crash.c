/* Unit tests for the protocol node's crash_test: each invalid field refused
 * naming it before any trial runs, the reply's bytes as Python prints them,
 * and what reaches the fake crash simulator. */
#include "node/node.h"
#include "report/report.h"
#include "tests/node_harness.h"
#include "tests/support.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- crash_test validation ---------------------------------------------------- */

#define MODELS_ALLOWED "allowed: drop, torn, reorder, writeback, process, lie"
#define STRATEGIES_ALLOWED_TEXT "allowed: always, group, none, batch_<N>ms with N 1..10000"
#define TRIALS_TEXT "trials must be a whole number from 1 to 10000"
#define SEED_TEXT "seed must be a whole number from 0 to 9007199254740991"
#define EXPIRE_TEXT "writeback_expire_ms must be a whole number from 0 to 3600000"
#define INTERVAL_TEXT "writeback_interval_ms must be a whole number from 1 to 3600000"
#define MODEL_TYPE_TEXT "model must be a string; " MODELS_ALLOWED
#define WRITERS_TEXT "writers must be a whole number from 1 to 256"
#define PREALLOC_TEXT "prealloc must be true or false"
#define CRASH_OK "\"strategies\":[\"always\"],\"entries\":10,\"trials\":5"

/* Each body fragment must be refused with code 12 and exactly this text
 * (as JSON escapes it), before the data directory is looked at. */
static const struct { const char *fields; const char *text; } bad_crash_requests[] = {
    /* trials */
    {"\"strategies\":[\"always\"],\"entries\":10", "trials is required: a whole number from 1 to 10000"},
    {"\"strategies\":[\"always\"],\"entries\":10,\"trials\":0", TRIALS_TEXT},
    {"\"strategies\":[\"always\"],\"entries\":10,\"trials\":10001", TRIALS_TEXT},
    {"\"strategies\":[\"always\"],\"entries\":10,\"trials\":1.5", TRIALS_TEXT},
    {"\"strategies\":[\"always\"],\"entries\":10,\"trials\":true", TRIALS_TEXT},
    {"\"strategies\":[\"always\"],\"entries\":10,\"trials\":\"5\"", TRIALS_TEXT},
    {"\"strategies\":[\"always\"],\"entries\":10,\"trials\":null", TRIALS_TEXT},
    {"\"strategies\":[\"always\"],\"entries\":10,\"trials\":-1", TRIALS_TEXT},
    {"\"strategies\":[\"always\"],\"entries\":10,\"trials\":[5]", TRIALS_TEXT},
    {"\"strategies\":[\"always\"],\"entries\":10,\"trials\":1e999", TRIALS_TEXT},
    /* entries: capped at a million, not fsync_benchmark's ten million */
    {"\"strategies\":[\"always\"],\"trials\":5", "entries is required: a whole number from 1 to 1000000"},
    {"\"strategies\":[\"always\"],\"trials\":5,\"entries\":0", "entries must be a whole number from 1 to 1000000"},
    {"\"strategies\":[\"always\"],\"trials\":5,\"entries\":1000001", "entries must be a whole number from 1 to 1000000"},
    {"\"strategies\":[\"always\"],\"trials\":5,\"entries\":10000000", "entries must be a whole number from 1 to 1000000"},
    {"\"strategies\":[\"always\"],\"trials\":5,\"entries\":2.5", "entries must be a whole number from 1 to 1000000"},
    {"\"strategies\":[\"always\"],\"trials\":5,\"entries\":\"10\"", "entries must be a whole number from 1 to 1000000"},
    /* model */
    {CRASH_OK ",\"model\":\"chaos\"", "model: unknown model \\\"chaos\\\"; " MODELS_ALLOWED},
    {CRASH_OK ",\"model\":\"Drop\"", "model: unknown model \\\"Drop\\\"; " MODELS_ALLOWED},
    {CRASH_OK ",\"model\":\"TORN\"", "model: unknown model \\\"TORN\\\"; " MODELS_ALLOWED},
    {CRASH_OK ",\"model\":\"drop \"", "model: unknown model \\\"drop \\\"; " MODELS_ALLOWED},
    {CRASH_OK ",\"model\":\"\"", "model: unknown model \\\"\\\"; " MODELS_ALLOWED},
    {CRASH_OK ",\"model\":1", MODEL_TYPE_TEXT},
    {CRASH_OK ",\"model\":null", MODEL_TYPE_TEXT},
    {CRASH_OK ",\"model\":true", MODEL_TYPE_TEXT},
    {CRASH_OK ",\"model\":[\"drop\"]", MODEL_TYPE_TEXT},
    /* seed */
    {CRASH_OK ",\"seed\":-1", SEED_TEXT},
    {CRASH_OK ",\"seed\":9007199254740992", SEED_TEXT},
    {CRASH_OK ",\"seed\":1.5", SEED_TEXT},
    {CRASH_OK ",\"seed\":\"1\"", SEED_TEXT},
    {CRASH_OK ",\"seed\":true", SEED_TEXT},
    {CRASH_OK ",\"seed\":null", SEED_TEXT},
    {CRASH_OK ",\"seed\":1e999", SEED_TEXT},
    {CRASH_OK ",\"seed\":{}", SEED_TEXT},
    /* the writeback model's settings */
    {CRASH_OK ",\"writeback_expire_ms\":-1", EXPIRE_TEXT},
    {CRASH_OK ",\"writeback_expire_ms\":3600001", EXPIRE_TEXT},
    {CRASH_OK ",\"writeback_expire_ms\":1.5", EXPIRE_TEXT},
    {CRASH_OK ",\"writeback_expire_ms\":\"30000\"", EXPIRE_TEXT},
    {CRASH_OK ",\"writeback_expire_ms\":null", EXPIRE_TEXT},
    {CRASH_OK ",\"writeback_interval_ms\":0", INTERVAL_TEXT},
    {CRASH_OK ",\"writeback_interval_ms\":3600001", INTERVAL_TEXT},
    {CRASH_OK ",\"writeback_interval_ms\":2.5", INTERVAL_TEXT},
    {CRASH_OK ",\"writeback_interval_ms\":true", INTERVAL_TEXT},
    {CRASH_OK ",\"writeback_interval_ms\":-1", INTERVAL_TEXT},
    /* writers and prealloc, as for fsync_benchmark */
    {CRASH_OK ",\"writers\":0", WRITERS_TEXT},
    {CRASH_OK ",\"writers\":257", WRITERS_TEXT},
    {CRASH_OK ",\"writers\":null", WRITERS_TEXT},
    {CRASH_OK ",\"writers\":\"4\"", WRITERS_TEXT},
    {CRASH_OK ",\"prealloc\":1", PREALLOC_TEXT},
    {CRASH_OK ",\"prealloc\":\"true\"", PREALLOC_TEXT},
    /* the fields shared with fsync_benchmark, as there */
    {"\"entries\":10,\"trials\":5", "strategies is required: a list of 1 to 64 strategy names; " STRATEGIES_ALLOWED_TEXT},
    {"\"entries\":10,\"trials\":5,\"strategies\":[]", "strategies must be a list of 1 to 64 strategy names; " STRATEGIES_ALLOWED_TEXT},
    {"\"entries\":10,\"trials\":5,\"strategies\":\"always\"", "strategies must be a list of 1 to 64 strategy names; " STRATEGIES_ALLOWED_TEXT},
    {"\"entries\":10,\"trials\":5,\"strategies\":[\"always\",1]", "strategies[1] must be a string; " STRATEGIES_ALLOWED_TEXT},
    {"\"entries\":10,\"trials\":5,\"strategies\":[\"Always\"]", "strategies[0]: unknown strategy \\\"Always\\\"; " STRATEGIES_ALLOWED_TEXT},
    {"\"entries\":10,\"trials\":5,\"strategies\":[\"none\",\"batch_0ms\"]", "strategies[1]: unknown strategy \\\"batch_0ms\\\"; " STRATEGIES_ALLOWED_TEXT},
    {"\"entries\":10,\"trials\":5,\"strategies\":[\"batch_10001ms\"]", "strategies[0]: unknown strategy \\\"batch_10001ms\\\"; " STRATEGIES_ALLOWED_TEXT},
    {CRASH_OK ",\"entry_size\":15", "entry_size must be a whole number from 16 to 1048576"},
    {CRASH_OK ",\"entry_size\":1048577", "entry_size must be a whole number from 16 to 1048576"},
    {CRASH_OK ",\"sync_method\":\"FSYNC\"", "sync_method: unknown method \\\"FSYNC\\\"; allowed: fsync, fdatasync, o_dsync, o_direct_dsync"},
    {CRASH_OK ",\"sync_method\":1", "sync_method must be a string; allowed: fsync, fdatasync, o_dsync, o_direct_dsync"},
    {CRASH_OK ",\"max_seconds\":0", "max_seconds must be a number greater than 0 and at most 3600"},
    {CRASH_OK ",\"max_seconds\":3601", "max_seconds must be a number greater than 0 and at most 3600"},
    {CRASH_OK ",\"max_seconds\":\"4\"", "max_seconds must be a number greater than 0 and at most 3600"},
};

START_TEST(each_invalid_crash_test_field_gives_error_12_naming_it_and_runs_nothing)
{
    char line[512], want[512];
    snprintf(line, sizeof line, "{\"src\":\"c1\",\"body\":{\"type\":\"crash_test\",\"msg_id\":4,%s}}",
             bad_crash_requests[_i].fields);
    snprintf(want, sizeof want,
             "{\"src\": \"n0\", \"dest\": \"c1\", \"body\": {\"type\": \"error\", \"in_reply_to\": 4, "
             "\"msg_id\": 0, \"code\": 12, \"text\": \"%s\"}}\n", bad_crash_requests[_i].text);
    const char *out = feed(line);
    ck_assert_msg(strcmp(out, want) == 0, "for %s\n got %s\nwant %s", line, out, want);
    ck_assert_int_eq(crash_calls, 0);
    ck_assert_int_eq(probe_calls, 0);
    ck_assert_int_eq(bench_calls, 0);
}
END_TEST

/* The shared fields first (entries, strategies, entry_size, sync_method,
 * max_seconds, writers, prealloc), then trials, model, seed,
 * writeback_expire_ms, writeback_interval_ms: each request below is bad in
 * its first field and in every later one, and only the first is named. */
START_TEST(crash_test_names_only_the_first_bad_field_in_documented_order)
{
    static const char *const lines[] = {
        "\"writers\":0,\"entries\":0,\"trials\":0,\"model\":\"x\",\"seed\":-1",
        "\"entries\":0,\"strategies\":[],\"trials\":0,\"model\":\"x\"",
        "\"entries\":1,\"strategies\":[\"x\"],\"entry_size\":1,\"trials\":0",
        "\"entries\":1,\"strategies\":[\"none\"],\"max_seconds\":0,\"writers\":0,\"trials\":0,\"model\":1",
        "\"entries\":1,\"strategies\":[\"none\"],\"writers\":0,\"prealloc\":1,\"trials\":0,\"model\":1",
        "\"entries\":1,\"strategies\":[\"none\"],\"prealloc\":1,\"trials\":0,\"model\":1",
        "\"entries\":1,\"strategies\":[\"none\"],\"trials\":0,\"model\":1,\"seed\":-1",
        "\"entries\":1,\"strategies\":[\"none\"],\"trials\":1,\"model\":1,\"seed\":-1,\"writeback_expire_ms\":-1",
        "\"entries\":1,\"strategies\":[\"none\"],\"trials\":1,\"seed\":-1,\"writeback_expire_ms\":-1",
        "\"entries\":1,\"strategies\":[\"none\"],\"trials\":1,\"writeback_expire_ms\":-1,\"writeback_interval_ms\":0",
        "\"entries\":1,\"strategies\":[\"none\"],\"trials\":1,\"writeback_interval_ms\":0",
    };
    static const char *const first[] = {
        "entries must be", "entries must be", "strategies[0]: unknown strategy", "max_seconds must be",
        WRITERS_TEXT, PREALLOC_TEXT,
        TRIALS_TEXT, "model must be a string", SEED_TEXT, EXPIRE_TEXT, INTERVAL_TEXT,
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        char line[512], want[256];
        snprintf(line, sizeof line, "{\"src\":\"c1\",\"body\":{\"type\":\"crash_test\",%s}}", lines[i]);
        snprintf(want, sizeof want, "\"code\": 12, \"text\": \"%s", first[i]);
        const char *out = feed(line);
        ck_assert_msg(strstr(out, want) != NULL, "for %s\n got %s\nwant %s", line, out, want);
    }
    ck_assert_int_eq(crash_calls + probe_calls, 0);
}
END_TEST

START_TEST(crash_test_with_65_strategies_is_refused_and_64_run)
{
    char line[2048] = "{\"src\":\"c1\",\"body\":{\"type\":\"crash_test\",\"msg_id\":4,\"entries\":1,\"trials\":1,\"strategies\":[";
    for (int i = 0; i < 65; i++)
        strcat(line, i ? ",\"none\"" : "\"none\"");
    strcat(line, "]}}");
    const char *out = feed(line);
    ck_assert_ptr_nonnull(strstr(out, "\"code\": 12, \"text\": \"strategies must be a list of 1 to 64 strategy names"));
    ck_assert_int_eq(crash_calls, 0);
    strcpy(strstr(line, ",\"none\"]"), "]}}");
    out = feed(line);
    ck_assert_ptr_nonnull(strstr(out, "crash_test_ok"));
    ck_assert_int_eq(crash_calls, 1);
    ck_assert_uint_eq(seen_crash_n, 64);
}
END_TEST

/* ---- crash_test execution ---------------------------------------------------- */

#define CRASH_REQ "{\"src\":\"c1\",\"dest\":\"n1\",\"body\":{\"type\":\"crash_test\",\"msg_id\":7," \
    "\"strategies\":[\"none\",\"batch_10ms\",\"always\",\"group\"],\"trials\":5,\"entries\":1000," \
    "\"model\":\"torn\",\"seed\":42,\"entry_size\":256,\"sync_method\":\"fdatasync\",\"unknown\":1}}\n"
/* json.dumps of the reply the fake implies, generated with Python:
 * trials is what ran (1, 3, 2, 3), trials_requested what was asked (5);
 * 12.345678 ms rounds to 12.346, 2/3 to 0.667, 1.234567 to 1.235.  Every
 * trial is valid; batch's 12.346 ms passes its 10 ms label (over_promise
 * 1) but not its 13 ms allowance; a p99 over three trials is their max. */
#define CRASH_RESULTS "\"results\": [{\"strategy\": \"none\", \"model\": \"torn\", \"trials\": 1, \"acked_lost_max\": 7, \"acked_lost_mean\": 7.0, \"loss_window_ms_max\": 2.0, \"loss_window_ms_p50\": 2.0, \"promised_window_ms\": null, \"held\": null, \"corrupt_recovered\": 0, \"trials_requested\": 5, \"acked_total\": 10, \"acked_lost_total\": 7, \"unacked_recovered\": 3, \"trials_over_promise\": 0, \"max_sync_ms\": 0.0, \"trials_valid\": 1, \"trials_invalid\": 0, \"invalid_reasons\": {\"no_ack\": 0, \"too_short\": 0, \"no_sync\": 0}, \"loss_window_ms_p99\": 2.0, \"allowance_ms\": null, \"trials_over_allowance\": 0, \"calibration_sync_p50_us\": 0.0, \"calibration_sync_p99_us\": 0.0, \"syncs_trusted\": true, \"kill_delay_us_p50\": 0.0, \"kill_delay_us_max\": 0.0, \"model_optimistic\": false, \"entries_per_trial\": 0}, {\"strategy\": \"batch_10ms\", \"model\": \"torn\", \"trials\": 3, \"acked_lost_max\": 2, \"acked_lost_mean\": 1.0, \"loss_window_ms_max\": 12.346, \"loss_window_ms_p50\": 1.499, \"promised_window_ms\": 10, \"held\": true, \"corrupt_recovered\": 0, \"trials_requested\": 5, \"acked_total\": 120, \"acked_lost_total\": 3, \"unacked_recovered\": 0, \"trials_over_promise\": 1, \"max_sync_ms\": 3.0, \"trials_valid\": 3, \"trials_invalid\": 0, \"invalid_reasons\": {\"no_ack\": 0, \"too_short\": 0, \"no_sync\": 0}, \"loss_window_ms_p99\": 12.346, \"allowance_ms\": 13.0, \"trials_over_allowance\": 0, \"calibration_sync_p50_us\": 1000.0, \"calibration_sync_p99_us\": 3000.0, \"syncs_trusted\": true, \"kill_delay_us_p50\": 0.0, \"kill_delay_us_max\": 0.0, \"model_optimistic\": false, \"entries_per_trial\": 0}, {\"strategy\": \"always\", \"model\": \"torn\", \"trials\": 2, \"acked_lost_max\": 0, \"acked_lost_mean\": 0.0, \"loss_window_ms_max\": 0.0, \"loss_window_ms_p50\": 0.0, \"promised_window_ms\": 0, \"held\": true, \"corrupt_recovered\": 0, \"trials_requested\": 5, \"acked_total\": 200, \"acked_lost_total\": 0, \"unacked_recovered\": 0, \"trials_over_promise\": 0, \"max_sync_ms\": 1.235, \"trials_valid\": 2, \"trials_invalid\": 0, \"invalid_reasons\": {\"no_ack\": 0, \"too_short\": 0, \"no_sync\": 0}, \"loss_window_ms_p99\": 0.0, \"allowance_ms\": 0.0, \"trials_over_allowance\": 0, \"calibration_sync_p50_us\": 0.0, \"calibration_sync_p99_us\": 0.0, \"syncs_trusted\": true, \"kill_delay_us_p50\": 0.0, \"kill_delay_us_max\": 0.0, \"model_optimistic\": false, \"entries_per_trial\": 0}, {\"strategy\": \"group\", \"model\": \"torn\", \"trials\": 3, \"acked_lost_max\": 1, \"acked_lost_mean\": 0.667, \"loss_window_ms_max\": 2.5, \"loss_window_ms_p50\": 2.5, \"promised_window_ms\": 0, \"held\": false, \"corrupt_recovered\": 2, \"trials_requested\": 5, \"acked_total\": 90, \"acked_lost_total\": 2, \"unacked_recovered\": 0, \"trials_over_promise\": 2, \"max_sync_ms\": 0.0, \"trials_valid\": 3, \"trials_invalid\": 0, \"invalid_reasons\": {\"no_ack\": 0, \"too_short\": 0, \"no_sync\": 0}, \"loss_window_ms_p99\": 2.5, \"allowance_ms\": 0.0, \"trials_over_allowance\": 2, \"calibration_sync_p50_us\": 0.0, \"calibration_sync_p99_us\": 0.0, \"syncs_trusted\": true, \"kill_delay_us_p50\": 0.0, \"kill_delay_us_max\": 0.0, \"model_optimistic\": false, \"entries_per_trial\": 0}], \"model\": \"torn\", \"seed\": 42, \"entries\": 1000, \"entry_size\": 256, \"sync_method\": \"fdatasync\", \"environment\": {\"fs_type\": \"ext4\", \"device\": \"/dev/vda1\", \"warning\": \"\"}"

START_TEST(crash_test_reply_has_results_in_requested_order_and_keys_in_documented_order)
{
    const char *out = feed(INIT CRASH_REQ);
    ck_assert_str_eq(out, INIT_OK
        "{\"src\": \"n1\", \"dest\": \"c1\", \"body\": {\"type\": \"crash_test_ok\", \"in_reply_to\": 7, \"msg_id\": 1, "
        CRASH_RESULTS "}}\n");
    ck_assert_int_eq(crash_calls, 1);
    ck_assert_int_eq(probe_calls, 1);
    ck_assert_int_eq(bench_calls, 0);
    ck_assert_uint_eq(log_len, 0);
}
END_TEST

START_TEST(crash_body_equals_node_reply_without_ids)
{
    struct crashsim_config cfg = {.entries = 1000, .entry_size = 256, .sync_method = WAL_SYNC_FDATASYNC,
                                  .model = support_model("torn"), .seed = 42, .trials = 5, .max_seconds = 4,
                                  .dir = "/x", .writeback_expire_ms = -1, .writeback_interval_ms = -1};
    struct wal_strategy s[4] = {{WAL_NONE, 0}, {WAL_BATCH, 10}, {WAL_ALWAYS, 0}, {WAL_GROUP, 0}};
    static struct verifier_summary out[4];
    struct bench_env env;
    char err[64];
    fake_probe("/x", &env);
    ck_assert_int_eq(fake_crash(&cfg, s, 4, out, NULL, NULL, err, sizeof err), 0);
    cJSON *body = report_crash_body(&env, &cfg, out, 4);
    ck_assert_ptr_nonnull(body);
    assert_prints(body, "{\"type\": \"crash_test_ok\", " CRASH_RESULTS "}");
    cJSON_Delete(body);
}
END_TEST

/* A run whose budget ended before any trial: held is null for every
 * strategy (nothing is known), promised_window_ms still says the promise. */
START_TEST(crash_test_strategy_with_no_trial_run_reports_trials_0_and_held_null)
{
    crash_no_trials = 1;
    const char *out = feed("{\"src\":\"c1\",\"body\":{\"type\":\"crash_test\",\"entries\":10,\"trials\":3,"
                           "\"strategies\":[\"always\",\"batch_5ms\"]}}");
    ck_assert_ptr_nonnull(strstr(out,
        "{\"strategy\": \"always\", \"model\": \"drop\", \"trials\": 0, \"acked_lost_max\": 0, \"acked_lost_mean\": 0.0, "
        "\"loss_window_ms_max\": 0.0, \"loss_window_ms_p50\": 0.0, \"promised_window_ms\": 0, \"held\": null, "
        "\"corrupt_recovered\": 0, \"trials_requested\": 3, \"acked_total\": 0, \"acked_lost_total\": 0, "
        "\"unacked_recovered\": 0, \"trials_over_promise\": 0, \"max_sync_ms\": 0.0, \"trials_valid\": 0, "
        "\"trials_invalid\": 0, \"invalid_reasons\": {\"no_ack\": 0, \"too_short\": 0, \"no_sync\": 0}, "
        "\"loss_window_ms_p99\": 0.0, \"allowance_ms\": 0.0, \"trials_over_allowance\": 0, "
        "\"calibration_sync_p50_us\": 0.0, \"calibration_sync_p99_us\": 0.0, \"syncs_trusted\": true, "
        "\"kill_delay_us_p50\": 0.0, \"kill_delay_us_max\": 0.0, \"model_optimistic\": false, \"entries_per_trial\": 0}"));
    ck_assert_ptr_nonnull(strstr(out, "{\"strategy\": \"batch_5ms\", \"model\": \"drop\", \"trials\": 0,"));
    ck_assert_ptr_nonnull(strstr(out, "\"promised_window_ms\": 5, \"held\": null,"));
}
END_TEST

START_TEST(crash_test_io_failure_gives_error_14_with_crash_text_and_the_node_serves_on)
{
    crash_rc = -EIO;
    crash_text = "fsync(/fake/data/dir/fsynclab-crash-1-0.wal): Input/output error";
    const char *out = feed("{\"src\":\"c1\",\"body\":{\"type\":\"crash_test\",\"msg_id\":3,\"entries\":5,\"trials\":2,"
                           "\"strategies\":[\"always\"]}}\n" INIT);
    ck_assert_str_eq(out,
        "{\"src\": \"n0\", \"dest\": \"c1\", \"body\": {\"type\": \"error\", \"in_reply_to\": 3, \"msg_id\": 0, \"code\": 14, "
        "\"text\": \"fsync(/fake/data/dir/fsynclab-crash-1-0.wal): Input/output error\"}}\n"
        "{\"src\": \"n1\", \"dest\": \"c0\", \"body\": {\"type\": \"init_ok\", \"in_reply_to\": 1, \"msg_id\": 1}}\n");
    ck_assert_int_eq(crash_calls, 1);
    ck_assert_ptr_nonnull(strstr(log_buf,
        "line 1: crash_test failed: fsync(/fake/data/dir/fsynclab-crash-1-0.wal): Input/output error\n"));
}
END_TEST

START_TEST(crash_test_failure_without_text_gives_error_14_with_the_errno_text)
{
    crash_rc = -ENOSPC;
    const char *out = feed("{\"src\":\"c1\",\"body\":{\"type\":\"crash_test\",\"msg_id\":3,\"entries\":5,\"trials\":2,"
                           "\"strategies\":[\"always\"]}}");
    ck_assert_str_eq(out,
        "{\"src\": \"n0\", \"dest\": \"c1\", \"body\": {\"type\": \"error\", \"in_reply_to\": 3, \"msg_id\": 0, \"code\": 14, "
        "\"text\": \"No space left on device\"}}\n");
}
END_TEST

START_TEST(crash_test_probe_failure_gives_error_14_and_runs_no_trials)
{
    static const struct node_ops ops = {.benchmark = fake_benchmark, .probe = failing_probe,
                                        .crash = fake_crash};
    const char *out = feed_ops("{\"src\":\"c1\",\"body\":{\"type\":\"crash_test\",\"msg_id\":3,\"entries\":5,\"trials\":2,"
                               "\"strategies\":[\"always\"]}}", &ops);
    ck_assert_ptr_nonnull(strstr(out, "\"in_reply_to\": 3, \"msg_id\": 0, \"code\": 14, \"text\": "
                                      "\"cannot examine the data directory /fake/data/dir: No such file or directory\""));
    ck_assert_int_eq(crash_calls, 0);
}
END_TEST

START_TEST(crash_test_gets_validated_config_and_dir_from_environment_only)
{
    feed("{\"src\":\"c1\",\"body\":{\"type\":\"crash_test\",\"entries\":777,\"trials\":33,"
         "\"strategies\":[\"batch_7ms\",\"group\"],\"model\":\"writeback\",\"seed\":123456789,"
         "\"entry_size\":64,\"sync_method\":\"o_dsync\",\"max_seconds\":2.5,"
         "\"writeback_expire_ms\":1500,\"writeback_interval_ms\":250,\"dir\":\"/etc\","
         "\"writers\":16,\"prealloc\":true}}");
    ck_assert_int_eq(probe_calls, 1);
    ck_assert_uint_eq(seen_crash.writers, 16);
    ck_assert_int_eq(seen_crash.prealloc, 1);
    ck_assert_int_eq(crash_calls, 1);
    ck_assert_uint_eq(seen_crash.entries, 777);
    ck_assert_uint_eq(seen_crash.trials, 33);
    ck_assert_str_eq(pl_model_name(&seen_crash.model), "writeback");
    ck_assert_uint_eq(seen_crash.seed, 123456789);
    ck_assert_uint_eq(seen_crash.entry_size, 64);
    ck_assert_int_eq(seen_crash.sync_method, WAL_SYNC_O_DSYNC);
    ck_assert_double_eq(seen_crash.max_seconds, 2.5);
    ck_assert_int_eq(seen_crash.writeback_expire_ms, 1500);
    ck_assert_int_eq(seen_crash.writeback_interval_ms, 250);
    ck_assert_str_eq(seen_crash_dir, "/fake/data/dir");
    ck_assert_uint_eq(seen_crash_n, 2);
    ck_assert_int_eq(seen_crash_strategies[0].kind, WAL_BATCH);
    ck_assert_uint_eq(seen_crash_strategies[0].interval_ms, 7);
    ck_assert_int_eq(seen_crash_strategies[1].kind, WAL_GROUP);
}
END_TEST

START_TEST(crash_test_defaults_are_drop_128_bytes_fsync_4_seconds_and_writeback_from_proc)
{
    const char *out = feed("{\"src\":\"c1\",\"body\":{\"type\":\"crash_test\",\"entries\":10,\"trials\":1,"
                           "\"strategies\":[\"always\"]}}");
    ck_assert_int_eq(crash_calls, 1);
    ck_assert_str_eq(pl_model_name(&seen_crash.model), "drop");
    ck_assert_uint_eq(seen_crash.entry_size, 128);
    ck_assert_int_eq(seen_crash.sync_method, WAL_SYNC_FSYNC);
    ck_assert_double_eq(seen_crash.max_seconds, 4.0);
    ck_assert_int_eq(seen_crash.writeback_expire_ms, -1);
    ck_assert_int_eq(seen_crash.writeback_interval_ms, -1);
    ck_assert_ptr_nonnull(strstr(out, "\"model\": \"drop\", \"seed\": "));
    ck_assert_ptr_nonnull(strstr(out, ", \"entries\": 10, \"entry_size\": 128, \"sync_method\": \"fsync\", \"environment\": "));
}
END_TEST

START_TEST(crash_test_accepts_every_limit_and_whole_numbers_written_as_floats)
{
    feed("{\"src\":\"c1\",\"body\":{\"type\":\"crash_test\",\"entries\":1e6,\"trials\":10000,\"strategies\":[\"none\"],"
         "\"seed\":9007199254740991,\"writeback_expire_ms\":3600000,\"writeback_interval_ms\":3600000,"
         "\"entry_size\":1048576,\"max_seconds\":3600}}");
    ck_assert_int_eq(crash_calls, 1);
    ck_assert_uint_eq(seen_crash.entries, 1000000);
    ck_assert_uint_eq(seen_crash.trials, 10000);
    ck_assert_uint_eq(seen_crash.seed, 9007199254740991ull);
    ck_assert_int_eq(seen_crash.writeback_expire_ms, 3600000);
    ck_assert_int_eq(seen_crash.writeback_interval_ms, 3600000);
    feed("{\"src\":\"c1\",\"body\":{\"type\":\"crash_test\",\"entries\":1.0,\"trials\":1.0,\"strategies\":[\"none\"],"
         "\"seed\":0,\"writeback_expire_ms\":0,\"writeback_interval_ms\":1e0,\"entry_size\":16}}");
    ck_assert_int_eq(crash_calls, 2);
    ck_assert_uint_eq(seen_crash.entries, 1);
    ck_assert_uint_eq(seen_crash.trials, 1);
    ck_assert_uint_eq(seen_crash.seed, 0);
    ck_assert_int_eq(seen_crash.writeback_expire_ms, 0);
    ck_assert_int_eq(seen_crash.writeback_interval_ms, 1);
}
END_TEST

static const struct { const char *name; } crash_models[] = {
    {"drop"}, {"torn"}, {"reorder"}, {"writeback"}, {"process"}, {"lie"},
};

START_TEST(each_crash_model_is_accepted_and_named_in_the_reply_and_each_result)
{
    char line[256], top[64], each[96];
    snprintf(line, sizeof line, "{\"src\":\"c1\",\"body\":{\"type\":\"crash_test\",\"entries\":10,\"trials\":1,"
             "\"strategies\":[\"always\",\"none\"],\"model\":\"%s\"}}", crash_models[_i].name);
    const char *out = feed(line);
    ck_assert_int_eq(crash_calls, 1);
    ck_assert_str_eq(pl_model_name(&seen_crash.model), crash_models[_i].name);
    snprintf(top, sizeof top, "], \"model\": \"%s\", \"seed\": ", crash_models[_i].name);
    ck_assert_ptr_nonnull(strstr(out, top));
    snprintf(each, sizeof each, "{\"strategy\": \"always\", \"model\": \"%s\",", crash_models[_i].name);
    ck_assert_ptr_nonnull(strstr(out, each));
    snprintf(each, sizeof each, "{\"strategy\": \"none\", \"model\": \"%s\",", crash_models[_i].name);
    ck_assert_ptr_nonnull(strstr(out, each));
}
END_TEST

START_TEST(crash_test_echoes_an_explicit_seed_as_an_integer)
{
    const char *out = feed("{\"src\":\"c1\",\"body\":{\"type\":\"crash_test\",\"entries\":10,\"trials\":1,"
                           "\"strategies\":[\"always\"],\"seed\":9007199254740991}}\n"
                           "{\"src\":\"c1\",\"body\":{\"type\":\"crash_test\",\"entries\":10,\"trials\":1,"
                           "\"strategies\":[\"always\"],\"seed\":7.0}}");
    ck_assert_ptr_nonnull(strstr(out, "\"seed\": 9007199254740991, \"entries\": 10,"));
    ck_assert_ptr_nonnull(strstr(out, "\"seed\": 7, \"entries\": 10,"));
    ck_assert_uint_eq(seen_crash.seed, 7);
}
END_TEST

START_TEST(crash_test_without_seed_reports_the_whole_number_seed_it_used)
{
    const char *out = feed("{\"src\":\"c1\",\"body\":{\"type\":\"crash_test\",\"entries\":10,\"trials\":1,"
                           "\"strategies\":[\"always\"]}}");
    ck_assert_int_eq(crash_calls, 1);
    const char *p = strstr(out, "\"seed\": ");
    ck_assert_ptr_nonnull(p);
    p += strlen("\"seed\": ");
    char *end;
    errno = 0;
    unsigned long long seed = strtoull(p, &end, 10);
    ck_assert_int_eq(errno, 0);
    ck_assert_msg(end > p && strncmp(end, ", \"entries\": ", 13) == 0,
                  "seed is not printed as an integer: %.40s", p);
    ck_assert_uint_le(seed, 9007199254740991ull);
    ck_assert_uint_eq(seed, seen_crash.seed);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("node_crash");
    TCase *t;
    t = tcase_create("crash_test");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_loop_test(t, each_invalid_crash_test_field_gives_error_12_naming_it_and_runs_nothing, 0,
                        sizeof bad_crash_requests / sizeof bad_crash_requests[0]);
    tcase_add_test(t, crash_test_names_only_the_first_bad_field_in_documented_order);
    tcase_add_test(t, crash_test_with_65_strategies_is_refused_and_64_run);
    tcase_add_test(t, crash_test_reply_has_results_in_requested_order_and_keys_in_documented_order);
    tcase_add_test(t, crash_body_equals_node_reply_without_ids);
    tcase_add_test(t, crash_test_strategy_with_no_trial_run_reports_trials_0_and_held_null);
    tcase_add_test(t, crash_test_io_failure_gives_error_14_with_crash_text_and_the_node_serves_on);
    tcase_add_test(t, crash_test_failure_without_text_gives_error_14_with_the_errno_text);
    tcase_add_test(t, crash_test_probe_failure_gives_error_14_and_runs_no_trials);
    tcase_add_test(t, crash_test_gets_validated_config_and_dir_from_environment_only);
    tcase_add_test(t, crash_test_defaults_are_drop_128_bytes_fsync_4_seconds_and_writeback_from_proc);
    tcase_add_test(t, crash_test_accepts_every_limit_and_whole_numbers_written_as_floats);
    tcase_add_loop_test(t, each_crash_model_is_accepted_and_named_in_the_reply_and_each_result, 0,
                        sizeof crash_models / sizeof crash_models[0]);
    tcase_add_test(t, crash_test_echoes_an_explicit_seed_as_an_integer);
    tcase_add_test(t, crash_test_without_seed_reports_the_whole_number_seed_it_used);
    suite_add_tcase(s, t);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
