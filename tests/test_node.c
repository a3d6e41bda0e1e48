/* DESIGN: unit tests for the protocol node.  Output is compared as bytes
 * against strings produced by Python's json.dumps (generated once, pasted
 * here), because byte identity with Python is the contract.  Disk work is
 * replaced by fakes through struct node_ops that count their calls, so the
 * tests can prove that a rejected request never reached the disk. */
#include "node/node.h"
#include "report/report.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- fakes ------------------------------------------------------------- */

static int bench_calls, probe_calls, bench_rc;
static struct bench_config seen_cfg;
static char seen_dir[256];

static int fake_probe(const char *dir, struct bench_env *env)
{
    probe_calls++;
    memset(env, 0, sizeof *env);
    snprintf(env->dir, sizeof env->dir, "%s", dir);
    strcpy(env->fs_type, "ext4");
    strcpy(env->device, "/dev/vda1");
    env->dirty_expire_cs = 3000;
    env->dirty_writeback_cs = 500;
    return 0;
}

static int failing_probe(const char *dir, struct bench_env *env)
{
    (void)dir, (void)env;
    probe_calls++;
    return -ENOENT;
}

/* Result i is made from strategies[i] with values whose printed form is
 * known: one sample per histogram, so every quantile is that sample. */
static int fake_benchmark(const struct bench_config *cfg, const struct wal_strategy *s, size_t n,
                          struct bench_result *res, char *err, size_t errlen)
{
    bench_calls++;
    seen_cfg = *cfg;
    snprintf(seen_dir, sizeof seen_dir, "%s", cfg->dir ? cfg->dir : "(null)");
    if (bench_rc < 0) {
        snprintf(err, errlen, "fsync: Input/output error");
        return bench_rc;
    }
    for (size_t i = 0; i < n; i++) {
        struct bench_result *r = &res[i];
        memset(r, 0, sizeof *r);
        r->strategy = s[i];
        r->entries_requested = cfg->entries;
        r->entries_written = cfg->entries - i;
        r->complete = i == 0;
        r->seconds = 1.23456 + (double)i;
        r->ops_per_sec = 1000 * (i + 1);
        hist_init(&r->ack_ns);
        hist_add(&r->ack_ns, 1500 + i);
        hist_init(&r->wal.sync_ns);
        if (s[i].kind != WAL_NONE) {
            hist_add(&r->wal.sync_ns, 2000000);
            r->wal.syncs = 7;
            r->wal.exposure_max_ns = 1234567;
        }
    }
    return 0;
}

/* crash_test's fake: records what it was asked, then fails (crash_rc < 0,
 * with crash_text if set) or fills each summary through the real
 * verifier_summary_add from trials whose printed figures are known (see
 * CRASH_RESULTS), chosen by the strategy's kind so that the reply's order
 * shows which answer went where.  crash_no_trials: every summary has 0
 * trials, as when the budget ran out before the first. */
static int crash_calls, crash_rc, crash_no_trials;
static const char *crash_text;
static struct crashsim_config seen_crash;
static char seen_crash_dir[256];
static size_t seen_crash_n;
static struct wal_strategy seen_crash_strategies[BENCH_MAX_STRATEGIES];

static void add_trial(struct verifier_summary *v, uint64_t acked, uint64_t lost, uint64_t window_ns,
                      uint64_t max_sync_ns, uint64_t unacked, uint64_t corrupt)
{
    struct verifier_trial t = {
        .written = acked + unacked, .acked = acked, .recovered = acked - lost + unacked,
        .acked_lost = lost, .oldest_lost_seq = lost ? acked - lost + 1 : 0,
        .loss_window_ns = window_ns, .unacked_recovered = unacked,
        .corrupt_recovered = corrupt, .max_sync_ns = max_sync_ns,
    };
    verifier_summary_add(v, &t, 1);
}

static int fake_crash(const struct crashsim_config *base, const struct wal_strategy *s, size_t n,
                      struct verifier_summary *out,
                      void (*progress)(void *arg, size_t strategy, uint32_t done, uint32_t total),
                      void *progress_arg, char *err, size_t errlen)
{
    (void)progress, (void)progress_arg;
    crash_calls++;
    seen_crash = *base;
    snprintf(seen_crash_dir, sizeof seen_crash_dir, "%s", base->dir ? base->dir : "(null)");
    seen_crash_n = n;
    memcpy(seen_crash_strategies, s, n * sizeof *s);
    if (crash_rc < 0) {
        if (crash_text)
            snprintf(err, errlen, "%s", crash_text);
        return crash_rc;
    }
    for (size_t i = 0; i < n; i++) {
        struct verifier_summary *v = &out[i];
        verifier_summary_init(v, &s[i]);
        if (crash_no_trials)
            continue;
        switch (s[i].kind) {
        case WAL_NONE:
            add_trial(v, 10, 7, 2000000, 0, 3, 0);
            break;
        case WAL_BATCH:   /* both losses within the allowance: 10 ms + a 3 ms sync p99 */
            verifier_summary_set_allowance(v, 13000000);
            v->calibration_sync_p50_ns = 1000000;
            v->calibration_sync_p99_ns = 3000000;
            add_trial(v, 50, 1, 12345678, 3000000, 0, 0);
            add_trial(v, 40, 2, 1499136, 1000000, 0, 0);   /* the middle of its histogram bucket */
            add_trial(v, 30, 0, 0, 0, 0, 0);
            break;
        case WAL_ALWAYS:
            add_trial(v, 100, 0, 0, 1234567, 0, 0);
            add_trial(v, 100, 0, 0, 0, 0, 0);
            break;
        case WAL_GROUP:
            add_trial(v, 30, 1, 2500000, 0, 0, 2);
            add_trial(v, 30, 1, 2500000, 0, 0, 0);
            add_trial(v, 30, 0, 0, 0, 0, 0);
            break;
        }
    }
    return 0;
}

static const struct node_ops fake_ops = {.benchmark = fake_benchmark, .probe = fake_probe,
                                         .crash = fake_crash};

/* ---- harness ------------------------------------------------------------ */

static char *out_buf, *log_buf;
static size_t out_len, log_len;

/* Feeds input (lines separated by '\n') through node_handle_line and
 * returns everything written to stdout; the log is left in log_buf. */
static const char *feed_ops(const char *input, const struct node_ops *ops)
{
    free(out_buf);
    free(log_buf);
    FILE *out = open_memstream(&out_buf, &out_len);
    FILE *log = open_memstream(&log_buf, &log_len);
    ck_assert_ptr_nonnull(out);
    ck_assert_ptr_nonnull(log);
    struct node *n = node_new(out, ops);
    ck_assert_ptr_nonnull(n);
    node_set_log(n, log);
    for (const char *p = input; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        node_handle_line(n, p, len);
        p += len + (nl != NULL);
    }
    node_free(n);
    fclose(out);
    fclose(log);
    return out_buf;
}

static const char *feed(const char *input)
{
    return feed_ops(input, &fake_ops);
}

static void setup(void)
{
    bench_calls = probe_calls = bench_rc = 0;
    crash_calls = crash_rc = crash_no_trials = 0;
    crash_text = NULL;
    memset(&seen_cfg, 0, sizeof seen_cfg);
    memset(&seen_crash, 0, sizeof seen_crash);
    seen_crash_n = 0;
    setenv("FSYNCLAB_DIR", "/fake/data/dir", 1);
}

static void teardown(void)
{
    free(out_buf);
    free(log_buf);
    out_buf = log_buf = NULL;
}

static void assert_prints(const cJSON *item, const char *want)
{
    char *got = report_json_print(item);
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, want);
    free(got);
}

/* ---- envelope and ids ---------------------------------------------------- */

#define INIT "{\"src\":\"c0\",\"dest\":\"n1\",\"body\":{\"type\":\"init\",\"msg_id\":1,\"node_id\":\"n1\",\"node_ids\":[\"n1\"]}}\n"
#define INIT_OK "{\"src\": \"n1\", \"dest\": \"c0\", \"body\": {\"type\": \"init_ok\", \"in_reply_to\": 1, \"msg_id\": 0}}\n"

START_TEST(init_ok_bytes_are_exactly_the_maelstrom_reply)
{
    ck_assert_str_eq(feed(INIT), INIT_OK);
    ck_assert_uint_eq(log_len, 0);
}
END_TEST

START_TEST(msg_id_counts_every_reply_including_errors)
{
    const char *out = feed(INIT
        "{\"src\":\"c1\",\"body\":{\"type\":\"nope\",\"msg_id\":5}}\n"
        "{\"src\":\"c1\",\"body\":{\"type\":\"fsync_benchmark\",\"msg_id\":6,\"entries\":0,\"strategies\":[\"none\"]}}\n"
        "{\"src\":\"c1\",\"body\":{\"type\":\"init\",\"msg_id\":7,\"node_id\":\"n1\"}}\n");
    ck_assert_str_eq(out, INIT_OK
        "{\"src\": \"n1\", \"dest\": \"c1\", \"body\": {\"type\": \"error\", \"in_reply_to\": 5, \"msg_id\": 1, \"code\": 10, \"text\": \"unsupported message type \\\"nope\\\"\"}}\n"
        "{\"src\": \"n1\", \"dest\": \"c1\", \"body\": {\"type\": \"error\", \"in_reply_to\": 6, \"msg_id\": 2, \"code\": 12, \"text\": \"entries must be a whole number from 1 to 10000000\"}}\n"
        "{\"src\": \"n1\", \"dest\": \"c1\", \"body\": {\"type\": \"init_ok\", \"in_reply_to\": 7, \"msg_id\": 3}}\n");
}
END_TEST

START_TEST(reply_src_before_init_is_request_dest_else_n0)
{
    const char *out = feed("{\"src\":\"c1\",\"dest\":\"n7\",\"body\":{\"type\":\"x\"}}\n"
                           "{\"src\":\"c1\",\"dest\":5,\"body\":{\"type\":\"x\"}}\n");
    ck_assert_str_eq(out,
        "{\"src\": \"n7\", \"dest\": \"c1\", \"body\": {\"type\": \"error\", \"msg_id\": 0, \"code\": 10, \"text\": \"unsupported message type \\\"x\\\"\"}}\n"
        "{\"src\": \"n0\", \"dest\": \"c1\", \"body\": {\"type\": \"error\", \"msg_id\": 1, \"code\": 10, \"text\": \"unsupported message type \\\"x\\\"\"}}\n");
}
END_TEST

static const char *bad_msg_ids[] = {"-1", "1.5", "\"3\"", "true", "null", "9007199254740992", "1e999"};

START_TEST(bad_msg_id_gives_error_12_naming_msg_id_without_in_reply_to)
{
    char line[256];
    snprintf(line, sizeof line, "{\"src\":\"c1\",\"body\":{\"type\":\"init\",\"node_id\":\"n1\",\"msg_id\":%s}}",
             bad_msg_ids[_i]);
    ck_assert_str_eq(feed(line),
        "{\"src\": \"n0\", \"dest\": \"c1\", \"body\": {\"type\": \"error\", \"msg_id\": 0, \"code\": 12, "
        "\"text\": \"msg_id must be a whole number from 0 to 9007199254740991\"}}\n");
}
END_TEST

START_TEST(init_without_string_node_id_gives_error_12)
{
    const char *out = feed("{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"msg_id\":1,\"node_id\":3}}\n"
                           "{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"msg_id\":2,\"node_id\":\"n1\",\"node_ids\":[1]}}\n");
    ck_assert_ptr_nonnull(strstr(out, "\"code\": 12, \"text\": \"node_id must be a non-empty string\""));
    ck_assert_ptr_nonnull(strstr(out, "\"code\": 12, \"text\": \"node_ids must be a list of strings\""));
    ck_assert_ptr_null(strstr(out, "init_ok"));
}
END_TEST

START_TEST(unknown_type_gives_error_10_naming_the_type)
{
    const char *out = feed(INIT "{\"src\":\"c1\",\"body\":{\"type\":\"crash_tset\",\"msg_id\":2}}\n");
    ck_assert_ptr_nonnull(strstr(out,
        "{\"type\": \"error\", \"in_reply_to\": 2, \"msg_id\": 1, \"code\": 10, \"text\": \"unsupported message type \\\"crash_tset\\\"\"}"));
}
END_TEST

START_TEST(duplicate_keys_do_not_crash_and_first_wins)
{
    const char *out = feed("{\"src\":\"c0\",\"src\":\"c9\",\"body\":{\"type\":\"init\",\"type\":\"x\",\"msg_id\":1,"
                           "\"node_id\":\"n1\",\"node_id\":\"n2\"}}\n");
    ck_assert_str_eq(out, INIT_OK);
}
END_TEST

START_TEST(unknown_extra_fields_are_ignored)
{
    const char *out = feed("{\"src\":\"c0\",\"extra\":[1],\"body\":{\"type\":\"init\",\"msg_id\":1,\"node_id\":\"n1\",\"zz\":{}}}\n");
    ck_assert_str_eq(out, INIT_OK);
}
END_TEST

/* ---- fsync_benchmark validation -------------------------------------------- */

/* Each body fragment must be refused with code 12 and a text that starts
 * with the field's name. */
static const struct { const char *fields; const char *field; } bad_requests[] = {
    {"\"entries\":0,\"strategies\":[\"always\"]", "entries must be"},
    {"\"entries\":1.5,\"strategies\":[\"always\"]", "entries must be"},
    {"\"entries\":true,\"strategies\":[\"always\"]", "entries must be"},
    {"\"entries\":\"10\",\"strategies\":[\"always\"]", "entries must be"},
    {"\"entries\":1e300,\"strategies\":[\"always\"]", "entries must be"},
    {"\"entries\":10000001,\"strategies\":[\"always\"]", "entries must be"},
    {"\"entries\":-1,\"strategies\":[\"always\"]", "entries must be"},
    {"\"entries\":null,\"strategies\":[\"always\"]", "entries must be"},
    {"\"strategies\":[\"always\"]", "entries is required"},
    {"\"entries\":10", "strategies is required"},
    {"\"entries\":10,\"strategies\":[]", "strategies must be"},
    {"\"entries\":10,\"strategies\":\"always\"", "strategies must be"},
    {"\"entries\":10,\"strategies\":{\"a\":\"always\"}", "strategies must be"},
    {"\"entries\":10,\"strategies\":[1]", "strategies[0] must be a string"},
    {"\"entries\":10,\"strategies\":[\"always\",null]", "strategies[1] must be a string"},
    {"\"entries\":10,\"strategies\":[\"Always\"]", "strategies[0]: unknown strategy \\\"Always\\\""},
    {"\"entries\":10,\"strategies\":[\"batch_0ms\"]", "strategies[0]: unknown strategy"},
    {"\"entries\":10,\"strategies\":[\"batch_010ms\"]", "strategies[0]: unknown strategy"},
    {"\"entries\":10,\"strategies\":[\"batch_+5ms\"]", "strategies[0]: unknown strategy"},
    {"\"entries\":10,\"strategies\":[\"batch_10001ms\"]", "strategies[0]: unknown strategy"},
    {"\"entries\":10,\"strategies\":[\"none\",\"batch_ms\"]", "strategies[1]: unknown strategy"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"entry_size\":15", "entry_size must be"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"entry_size\":1048577", "entry_size must be"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"entry_size\":64.5", "entry_size must be"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"entry_size\":\"128\"", "entry_size must be"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"sync_method\":\"fsync2\"", "sync_method: unknown method \\\"fsync2\\\""},
    {"\"entries\":10,\"strategies\":[\"always\"],\"sync_method\":\"FSYNC\"", "sync_method: unknown method"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"sync_method\":1", "sync_method must be a string"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"max_seconds\":0", "max_seconds must be"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"max_seconds\":3601", "max_seconds must be"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"max_seconds\":3600.5", "max_seconds must be"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"max_seconds\":-1", "max_seconds must be"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"max_seconds\":\"4\"", "max_seconds must be"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"max_seconds\":false", "max_seconds must be"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"max_seconds\":1e999", "max_seconds must be"},
    /* Every JSON kind that is not a number, infinities both ways, numbers that
     * round to an edge, and names that differ from a valid one by a byte. */
    {"\"entries\":{},\"strategies\":[\"always\"]", "entries must be"},
    {"\"entries\":[5],\"strategies\":[\"always\"]", "entries must be"},
    {"\"entries\":-1e999,\"strategies\":[\"always\"]", "entries must be"},
    {"\"entries\":1e-400,\"strategies\":[\"always\"]", "entries must be"},
    {"\"entries\":-0,\"strategies\":[\"always\"]", "entries must be"},
    {"\"entries\":10000000.5,\"strategies\":[\"always\"]", "entries must be"},
    {"\"entries\":18446744073709551617,\"strategies\":[\"always\"]", "entries must be"},
    {"\"entries\":10,\"strategies\":null", "strategies must be"},
    {"\"entries\":10,\"strategies\":[[\"always\"]]", "strategies[0] must be a string"},
    {"\"entries\":10,\"strategies\":[{\"name\":\"always\"}]", "strategies[0] must be a string"},
    {"\"entries\":10,\"strategies\":[true]", "strategies[0] must be a string"},
    {"\"entries\":10,\"strategies\":[\"\"]", "strategies[0]: unknown strategy \\\"\\\""},
    {"\"entries\":10,\"strategies\":[\"always \"]", "strategies[0]: unknown strategy"},
    {"\"entries\":10,\"strategies\":[\" none\"]", "strategies[0]: unknown strategy"},
    {"\"entries\":10,\"strategies\":[\"Group\"]", "strategies[0]: unknown strategy"},
    {"\"entries\":10,\"strategies\":[\"batch_5\"]", "strategies[0]: unknown strategy"},
    {"\"entries\":10,\"strategies\":[\"batch_5Ms\"]", "strategies[0]: unknown strategy"},
    {"\"entries\":10,\"strategies\":[\"batch_5msx\"]", "strategies[0]: unknown strategy"},
    {"\"entries\":10,\"strategies\":[\"batch_5.0ms\"]", "strategies[0]: unknown strategy"},
    {"\"entries\":10,\"strategies\":[\"batch_1e3ms\"]", "strategies[0]: unknown strategy"},
    {"\"entries\":10,\"strategies\":[\"batch_-5ms\"]", "strategies[0]: unknown strategy"},
    {"\"entries\":10,\"strategies\":[\"batch_ 5ms\"]", "strategies[0]: unknown strategy"},
    {"\"entries\":10,\"strategies\":[\"batch_0x10ms\"]", "strategies[0]: unknown strategy"},
    {"\"entries\":10,\"strategies\":[\"batch_\\uff15ms\"]", "strategies[0]: unknown strategy"},
    {"\"entries\":10,\"strategies\":[\"batch_18446744073709551621ms\"]", "strategies[0]: unknown strategy"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"entry_size\":true", "entry_size must be"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"entry_size\":null", "entry_size must be"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"entry_size\":{}", "entry_size must be"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"entry_size\":[128]", "entry_size must be"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"entry_size\":1e999", "entry_size must be"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"entry_size\":-1e999", "entry_size must be"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"entry_size\":0", "entry_size must be"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"entry_size\":-128", "entry_size must be"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"sync_method\":null", "sync_method must be a string"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"sync_method\":[\"fsync\"]", "sync_method must be a string"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"sync_method\":\"\"", "sync_method: unknown method \\\"\\\""},
    {"\"entries\":10,\"strategies\":[\"always\"],\"sync_method\":\"fsync \"", "sync_method: unknown method"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"sync_method\":\"o_direct\"", "sync_method: unknown method"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"max_seconds\":null", "max_seconds must be"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"max_seconds\":{}", "max_seconds must be"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"max_seconds\":[1]", "max_seconds must be"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"max_seconds\":-1e999", "max_seconds must be"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"max_seconds\":-0.0", "max_seconds must be"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"repeat\":0", "repeat must be a whole number from 1 to 100"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"repeat\":101", "repeat must be"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"repeat\":2.5", "repeat must be"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"repeat\":\"3\"", "repeat must be"},
    {"\"entries\":10,\"strategies\":[\"always\"],\"max_seconds\":1e-400", "max_seconds must be"},
    {"\"entries\":10,\"strategies\":[\"group\"],\"writers\":0", "writers must be"},
    {"\"entries\":10,\"strategies\":[\"group\"],\"writers\":257", "writers must be"},
    {"\"entries\":10,\"strategies\":[\"group\"],\"writers\":1.5", "writers must be"},
    {"\"entries\":10,\"strategies\":[\"group\"],\"writers\":\"4\"", "writers must be"},
    {"\"entries\":10,\"strategies\":[\"group\"],\"writers\":true", "writers must be"},
    {"\"entries\":10,\"strategies\":[\"group\"],\"writers\":null", "writers must be"},
    {"\"entries\":10,\"strategies\":[\"group\"],\"writers\":1e999", "writers must be"},
    {"\"entries\":10,\"strategies\":[\"none\"],\"prealloc\":1", "prealloc must be"},
    {"\"entries\":10,\"strategies\":[\"none\"],\"prealloc\":\"true\"", "prealloc must be"},
    {"\"entries\":10,\"strategies\":[\"none\"],\"prealloc\":null", "prealloc must be"},
};

START_TEST(each_invalid_benchmark_field_gives_error_12_naming_it_and_runs_nothing)
{
    char line[512], want[256];
    snprintf(line, sizeof line, "{\"src\":\"c1\",\"body\":{\"type\":\"fsync_benchmark\",\"msg_id\":4,%s}}",
             bad_requests[_i].fields);
    snprintf(want, sizeof want, "\"in_reply_to\": 4, \"msg_id\": 0, \"code\": 12, \"text\": \"%s",
             bad_requests[_i].field);
    const char *out = feed(line);
    ck_assert_msg(strstr(out, want) != NULL, "for %s\n got %s\nwant %s", line, out, want);
    ck_assert_int_eq(bench_calls, 0);
    ck_assert_int_eq(probe_calls, 0);
}
END_TEST

/* The first invalid field in document order of the checks is the one named,
 * and nothing after it is looked at: one request, one error. */
START_TEST(a_request_with_several_bad_fields_gets_one_error_naming_the_first_checked)
{
    const char *out = feed("{\"src\":\"c1\",\"body\":{\"type\":\"fsync_benchmark\",\"msg_id\":4,"
                           "\"max_seconds\":0,\"sync_method\":1,\"entry_size\":1,\"strategies\":[\"x\"],\"entries\":0}}");
    ck_assert_str_eq(out, "{\"src\": \"n0\", \"dest\": \"c1\", \"body\": {\"type\": \"error\", \"in_reply_to\": 4, "
                          "\"msg_id\": 0, \"code\": 12, \"text\": \"entries must be a whole number from 1 to 10000000\"}}\n");
    ck_assert_int_eq(bench_calls + probe_calls, 0);
}
END_TEST

START_TEST(whole_numbers_written_as_floats_or_exponents_are_accepted)
{
    feed("{\"src\":\"c1\",\"body\":{\"type\":\"fsync_benchmark\",\"entries\":1e7,\"strategies\":[\"batch_10000ms\",\"batch_1ms\"],"
         "\"entry_size\":1.6e1,\"max_seconds\":3600}}");
    ck_assert_int_eq(bench_calls, 1);
    ck_assert_uint_eq(seen_cfg.entries, 10000000);
    ck_assert_uint_eq(seen_cfg.entry_size, 16);
    ck_assert_double_eq(seen_cfg.max_seconds, 3600);
    feed("{\"src\":\"c1\",\"body\":{\"type\":\"fsync_benchmark\",\"entries\":5.0,\"strategies\":[\"group\"],"
         "\"entry_size\":1048576.0,\"max_seconds\":1e-3}}");
    ck_assert_int_eq(bench_calls, 2);
    ck_assert_uint_eq(seen_cfg.entries, 5);
    ck_assert_uint_eq(seen_cfg.entry_size, 1048576);
    ck_assert_double_eq(seen_cfg.max_seconds, 0.001);
}
END_TEST

START_TEST(duplicate_benchmark_fields_do_not_crash_and_the_first_wins)
{
    const char *out = feed("{\"src\":\"c1\",\"body\":{\"type\":\"fsync_benchmark\",\"msg_id\":1,\"entries\":5,\"entries\":\"x\","
                           "\"strategies\":[\"none\"],\"strategies\":7,\"sync_method\":\"fdatasync\",\"sync_method\":null}}\n"
                           "{\"src\":\"c1\",\"body\":{\"type\":\"fsync_benchmark\",\"msg_id\":2,\"entries\":\"x\",\"entries\":5,"
                           "\"strategies\":[\"none\"]}}");
    ck_assert_int_eq(bench_calls, 1);
    ck_assert_uint_eq(seen_cfg.entries, 5);
    ck_assert_int_eq(seen_cfg.sync_method, WAL_SYNC_FDATASYNC);
    ck_assert_ptr_nonnull(strstr(out, "\"in_reply_to\": 1, \"msg_id\": 0, \"results\": ["));
    ck_assert_ptr_nonnull(strstr(out, "\"in_reply_to\": 2, \"msg_id\": 1, \"code\": 12, \"text\": \"entries must be"));
}
END_TEST

/* dest is the request's src and src the node_id, both escaped as json.dumps
 * does (bytes generated with Python 3). */
START_TEST(odd_src_and_node_id_are_echoed_as_python_prints_them)
{
    const char *out = feed("{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"msg_id\":1,\"node_id\":\"n\\\"\xc3\xa9\\u0007\"}}\n"
                           "{\"src\":\"\\\"\\\\\\u0001\\n\x7f\xe2\x80\xa8\xf0\x9f\x98\x80\\/\",\"body\":{\"type\":\"x\",\"msg_id\":2}}\n");
    ck_assert_str_eq(out,
        "{\"src\": \"n\\\"\\u00e9\\u0007\", \"dest\": \"c0\", \"body\": {\"type\": \"init_ok\", \"in_reply_to\": 1, \"msg_id\": 0}}\n"
        "{\"src\": \"n\\\"\\u00e9\\u0007\", \"dest\": \"\\\"\\\\\\u0001\\n\\u007f\\u2028\\ud83d\\ude00/\", \"body\": "
        "{\"type\": \"error\", \"in_reply_to\": 2, \"msg_id\": 1, \"code\": 10, \"text\": \"unsupported message type \\\"x\\\"\"}}\n");
    ck_assert_uint_eq(log_len, 0);
}
END_TEST

START_TEST(sixty_five_strategies_are_refused)
{
    char line[2048] = "{\"src\":\"c1\",\"body\":{\"type\":\"fsync_benchmark\",\"msg_id\":4,\"entries\":1,\"strategies\":[";
    for (int i = 0; i < 65; i++)
        strcat(line, i ? ",\"none\"" : "\"none\"");
    strcat(line, "]}}");
    const char *out = feed(line);
    ck_assert_ptr_nonnull(strstr(out, "\"code\": 12, \"text\": \"strategies must be a list of 1 to 64 strategy names"));
    ck_assert_int_eq(bench_calls, 0);
    /* 64 is still fine */
    strcpy(strstr(line, ",\"none\"]"), "]}}");
    out = feed(line);
    ck_assert_ptr_nonnull(strstr(out, "fsync_benchmark_ok"));
    ck_assert_int_eq(bench_calls, 1);
}
END_TEST

START_TEST(error_texts_are_exact_for_entries_and_unknown_strategy)
{
    const char *out = feed(
        "{\"src\":\"c1\",\"body\":{\"type\":\"fsync_benchmark\",\"entries\":1.5,\"strategies\":[\"none\"]}}\n"
        "{\"src\":\"c1\",\"body\":{\"type\":\"fsync_benchmark\",\"entries\":5,\"strategies\":[\"none\",\"always\",\"foo\"]}}\n");
    ck_assert_str_eq(out,
        "{\"src\": \"n0\", \"dest\": \"c1\", \"body\": {\"type\": \"error\", \"msg_id\": 0, \"code\": 12, \"text\": "
        "\"entries must be a whole number from 1 to 10000000\"}}\n"
        "{\"src\": \"n0\", \"dest\": \"c1\", \"body\": {\"type\": \"error\", \"msg_id\": 1, \"code\": 12, \"text\": "
        "\"strategies[2]: unknown strategy \\\"foo\\\"; allowed: always, group, none, batch_<N>ms with N 1..10000\"}}\n");
}
END_TEST

START_TEST(long_client_strings_are_clipped_in_error_texts)
{
    char line[1024];
    char name[301];
    memset(name, 'x', 300);
    name[300] = '\0';
    snprintf(line, sizeof line, "{\"src\":\"c1\",\"body\":{\"type\":\"%s\"}}", name);
    const char *out = feed(line);
    ck_assert_ptr_nonnull(strstr(out, "unsupported message type \\\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\\\""));
}
END_TEST

/* ---- fsync_benchmark execution --------------------------------------------- */

START_TEST(benchmark_io_failure_gives_error_14_with_bench_text)
{
    bench_rc = -EIO;
    const char *out = feed("{\"src\":\"c1\",\"body\":{\"type\":\"fsync_benchmark\",\"msg_id\":3,\"entries\":5,\"strategies\":[\"always\"]}}\n"
                           INIT);
    ck_assert_str_eq(out,
        "{\"src\": \"n0\", \"dest\": \"c1\", \"body\": {\"type\": \"error\", \"in_reply_to\": 3, \"msg_id\": 0, \"code\": 14, "
        "\"text\": \"fsync: Input/output error\"}}\n"
        "{\"src\": \"n1\", \"dest\": \"c0\", \"body\": {\"type\": \"init_ok\", \"in_reply_to\": 1, \"msg_id\": 1}}\n");
    ck_assert_int_eq(bench_calls, 1);
}
END_TEST

START_TEST(probe_failure_gives_error_14_and_skips_the_benchmark)
{
    static const struct node_ops ops = {.benchmark = fake_benchmark, .probe = failing_probe};
    const char *out = feed_ops("{\"src\":\"c1\",\"body\":{\"type\":\"fsync_benchmark\",\"msg_id\":3,\"entries\":5,\"strategies\":[\"always\"]}}\n", &ops);
    ck_assert_ptr_nonnull(strstr(out, "\"code\": 14, \"text\": \"cannot examine the data directory /fake/data/dir: No such file or directory\""));
    ck_assert_int_eq(bench_calls, 0);
}
END_TEST

#define BENCH_REQ "{\"src\":\"c1\",\"dest\":\"n1\",\"body\":{\"type\":\"fsync_benchmark\",\"msg_id\":7,\"entries\":100," \
    "\"strategies\":[\"none\",\"batch_10ms\",\"always\"],\"entry_size\":256,\"sync_method\":\"fdatasync\",\"unknown\":1}}\n"
/* json.dumps of the reply the fakes imply, generated with Python. */
#define BENCH_RESULTS "\"results\": [{\"strategy\": \"none\", \"ops_per_sec\": 1000, \"durability\": \"os_dependent\", \"data_loss_window\": \"seconds\", \"entries\": 100, \"entries_requested\": 100, \"complete\": true, \"seconds\": 1.235, \"ack_p50_us\": 1.5, \"ack_p99_us\": 1.5, \"ack_max_us\": 1.5, \"syncs\": 0, \"sync_p50_us\": 0.0, \"sync_p99_us\": 0.0, \"sync_max_us\": 0.0, \"writeback_bound_ms\": 35000}, {\"strategy\": \"batch_10ms\", \"ops_per_sec\": 2000, \"durability\": \"every_10ms\", \"data_loss_window\": \"10ms\", \"entries\": 99, \"entries_requested\": 100, \"complete\": false, \"seconds\": 2.235, \"ack_p50_us\": 1.501, \"ack_p99_us\": 1.501, \"ack_max_us\": 1.501, \"syncs\": 7, \"sync_p50_us\": 2000.0, \"sync_p99_us\": 2000.0, \"sync_max_us\": 2000.0, \"exposure_ms\": 1.235}, {\"strategy\": \"always\", \"ops_per_sec\": 3000, \"durability\": \"every_write\", \"data_loss_window\": \"0ms\", \"entries\": 98, \"entries_requested\": 100, \"complete\": false, \"seconds\": 3.235, \"ack_p50_us\": 1.502, \"ack_p99_us\": 1.502, \"ack_max_us\": 1.502, \"syncs\": 7, \"sync_p50_us\": 2000.0, \"sync_p99_us\": 2000.0, \"sync_max_us\": 2000.0, \"exposure_ms\": 1.235}], \"environment\": {\"fs_type\": \"ext4\", \"device\": \"/dev/vda1\", \"warning\": \"\", \"dirty_expire_ms\": 30000, \"dirty_writeback_ms\": 5000}, \"sync_method\": \"fdatasync\", \"entry_size\": 256"

START_TEST(benchmark_reply_has_results_in_requested_order_and_keys_in_documented_order)
{
    const char *out = feed(INIT BENCH_REQ);
    ck_assert_str_eq(out, INIT_OK
        "{\"src\": \"n1\", \"dest\": \"c1\", \"body\": {\"type\": \"fsync_benchmark_ok\", \"in_reply_to\": 7, \"msg_id\": 1, "
        BENCH_RESULTS "}}\n");
}
END_TEST

START_TEST(benchmark_gets_validated_config_and_dir_from_environment_only)
{
    feed("{\"src\":\"c1\",\"body\":{\"type\":\"fsync_benchmark\",\"entries\":42,\"strategies\":[\"batch_7ms\"],"
         "\"entry_size\":16,\"sync_method\":\"o_dsync\",\"max_seconds\":0.25,\"dir\":\"/etc\"}}");
    ck_assert_int_eq(probe_calls, 1);
    ck_assert_int_eq(bench_calls, 1);
    ck_assert_uint_eq(seen_cfg.entries, 42);
    ck_assert_uint_eq(seen_cfg.entry_size, 16);
    ck_assert_int_eq(seen_cfg.sync_method, WAL_SYNC_O_DSYNC);
    ck_assert_double_eq(seen_cfg.max_seconds, 0.25);
    ck_assert_str_eq(seen_dir, "/fake/data/dir");
}
END_TEST

START_TEST(benchmark_defaults_are_128_bytes_fsync_and_4_seconds)
{
    feed("{\"src\":\"c1\",\"body\":{\"type\":\"fsync_benchmark\",\"entries\":10000000,\"strategies\":[\"always\"],"
         "\"entry_size\":1048576}}\n"
         "{\"src\":\"c1\",\"body\":{\"type\":\"fsync_benchmark\",\"entries\":1,\"strategies\":[\"always\"]}}");
    ck_assert_int_eq(bench_calls, 2);
    ck_assert_uint_eq(seen_cfg.entries, 1);
    ck_assert_uint_eq(seen_cfg.entry_size, 128);
    ck_assert_int_eq(seen_cfg.sync_method, WAL_SYNC_FSYNC);
    ck_assert_double_eq(seen_cfg.max_seconds, 4.0);
}
END_TEST

START_TEST(benchmark_body_equals_node_reply_without_ids)
{
    struct bench_config cfg = {.entries = 100, .entry_size = 256, .sync_method = WAL_SYNC_FDATASYNC,
                               .max_seconds = 4, .dir = "/x"};
    struct wal_strategy s[3] = {{WAL_NONE, 0}, {WAL_BATCH, 10}, {WAL_ALWAYS, 0}};
    static struct bench_result res[3];
    struct bench_env env;
    char err[64];
    fake_probe("/x", &env);
    ck_assert_int_eq(fake_benchmark(&cfg, s, 3, res, err, sizeof err), 0);
    cJSON *body = report_benchmark_body(&env, &cfg, res, 3);
    ck_assert_ptr_nonnull(body);
    assert_prints(body, "{\"type\": \"fsync_benchmark_ok\", " BENCH_RESULTS "}");
    cJSON_Delete(body);
}
END_TEST

START_TEST(unknown_writeback_settings_print_null)
{
    struct bench_config cfg = {.entries = 1, .entry_size = 128, .max_seconds = 4, .dir = "."};
    struct wal_strategy s = {WAL_NONE, 0};
    static struct bench_result res;
    struct bench_env env;
    char err[64];
    fake_probe(".", &env);
    env.dirty_expire_cs = -1;
    fake_benchmark(&cfg, &s, 1, &res, err, sizeof err);
    cJSON *body = report_benchmark_body(&env, &cfg, &res, 1);
    char *txt = report_json_print(body);
    ck_assert_ptr_nonnull(strstr(txt, "\"writeback_bound_ms\": null}"));
    ck_assert_ptr_nonnull(strstr(txt, "\"dirty_expire_ms\": null, \"dirty_writeback_ms\": 5000}"));
    ck_assert_ptr_null(strstr(txt, "exposure_ms"));
    free(txt);
    cJSON_Delete(body);
}
END_TEST

/* ---- fsync_benchmark: writers and prealloc ----------------------------------- */

START_TEST(benchmark_passes_writers_and_prealloc_through_and_defaults_to_one_writer_without_prealloc)
{
    feed("{\"src\":\"c1\",\"body\":{\"type\":\"fsync_benchmark\",\"entries\":10,\"strategies\":[\"group\"],"
         "\"writers\":8,\"prealloc\":true}}");
    ck_assert_int_eq(bench_calls, 1);
    ck_assert_uint_eq(seen_cfg.writers, 8);
    ck_assert_int_eq(seen_cfg.prealloc, 1);
    feed("{\"src\":\"c1\",\"body\":{\"type\":\"fsync_benchmark\",\"entries\":10,\"strategies\":[\"group\"],"
         "\"writers\":2.56e2,\"prealloc\":false}}");
    ck_assert_int_eq(bench_calls, 2);
    ck_assert_uint_eq(seen_cfg.writers, 256);
    ck_assert_int_eq(seen_cfg.prealloc, 0);
    feed("{\"src\":\"c1\",\"body\":{\"type\":\"fsync_benchmark\",\"entries\":10,\"strategies\":[\"group\"]}}");
    ck_assert_int_eq(bench_calls, 3);
    ck_assert_uint_eq(seen_cfg.writers, 1);
    ck_assert_int_eq(seen_cfg.prealloc, 0);
}
END_TEST

START_TEST(benchmark_passes_repeat_through_growing_only_an_absent_budget)
{
    feed("{\"src\":\"c1\",\"body\":{\"type\":\"fsync_benchmark\",\"entries\":10,\"strategies\":[\"none\"]}}");
    ck_assert_int_eq(bench_calls, 1);
    ck_assert_uint_eq(seen_cfg.repeat, 1);
    ck_assert_double_eq(seen_cfg.max_seconds, BENCH_DEFAULT_SECONDS);
    feed("{\"src\":\"c1\",\"body\":{\"type\":\"fsync_benchmark\",\"entries\":10,\"strategies\":[\"none\"],"
         "\"repeat\":5}}");
    ck_assert_int_eq(bench_calls, 2);
    ck_assert_uint_eq(seen_cfg.repeat, 5);
    ck_assert_double_eq(seen_cfg.max_seconds, 6 * BENCH_DEFAULT_SECONDS);   /* 5 + warm-up */
    feed("{\"src\":\"c1\",\"body\":{\"type\":\"fsync_benchmark\",\"entries\":10,\"strategies\":[\"none\"],"
         "\"repeat\":5,\"max_seconds\":2}}");
    ck_assert_int_eq(bench_calls, 3);
    ck_assert_double_eq(seen_cfg.max_seconds, 2);
}
END_TEST

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
                                  .model = CRASHSIM_TORN, .seed = 42, .trials = 5, .max_seconds = 4,
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
    ck_assert_int_eq(seen_crash.model, CRASHSIM_WRITEBACK);
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
    ck_assert_int_eq(seen_crash.model, CRASHSIM_DROP);
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

static const struct { const char *name; enum crashsim_model model; } crash_models[] = {
    {"drop", CRASHSIM_DROP}, {"torn", CRASHSIM_TORN}, {"reorder", CRASHSIM_REORDER},
    {"writeback", CRASHSIM_WRITEBACK}, {"process", CRASHSIM_PROCESS}, {"lie", CRASHSIM_LIE},
};

START_TEST(each_crash_model_is_accepted_and_named_in_the_reply_and_each_result)
{
    char line[256], top[64], each[96];
    snprintf(line, sizeof line, "{\"src\":\"c1\",\"body\":{\"type\":\"crash_test\",\"entries\":10,\"trials\":1,"
             "\"strategies\":[\"always\",\"none\"],\"model\":\"%s\"}}", crash_models[_i].name);
    const char *out = feed(line);
    ck_assert_int_eq(crash_calls, 1);
    ck_assert_int_eq(seen_crash.model, crash_models[_i].model);
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

/* ---- malformed input ------------------------------------------------------ */

static const char *malformed[] = {
    "not json",
    "{\"src\":\"c0\",\"body\":{\"type\":\"init\"}} trailing",
    "[1,2,3]",
    "\"just a string\"",
    "{\"dest\":\"n1\",\"body\":{\"type\":\"init\",\"msg_id\":1,\"node_id\":\"n1\"}}",
    "{\"src\":7,\"body\":{\"type\":\"init\",\"msg_id\":1,\"node_id\":\"n1\"}}",
    "{\"src\":\"c0\",\"body\":[{\"type\":\"init\"}]}",
    "{\"src\":\"c0\"}",
    "{\"src\":\"c0\",\"body\":{\"type\":3,\"msg_id\":1}}",
    "{\"src\":\"c0\",\"body\":{\"msg_id\":1}}",
    "{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"node_id\":\"n\xff\"}}",           /* invalid byte */
    "{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"node_id\":\"n\xc0\xaf\"}}",       /* overlong */
    "{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"node_id\":\"n\xed\xa0\x80\"}}",   /* UTF-8 surrogate */
    "{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"node_id\":\"n\xe2\x82\"}}",       /* truncated */
    "\xef\xbb\xbf{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"node_id\":\"n1\"}}",  /* BOM */
    "{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"node_id\":\"a\tb\"}}",            /* raw tab */
    "{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"node_id\":\"a\\u0000b\"}}",
    "{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"node_id\":\"a\\ud800\"}}",       /* lone surrogate */
    "{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"node_id\":\"a\\q\"}}",           /* bad escape */
    "{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"msg_id\":1,}}",
    "{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"msg_id\":NaN}}",
    "{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"msg_id\":Infinity}}",
    "{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"msg_id\":0x10}}",
    /* numbers cJSON's strtod takes but JSON (and Python) does not */
    "{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"msg_id\":01}}",
    "{\"src\":\"c1\",\"body\":{\"type\":\"fsync_benchmark\",\"entries\":010,\"strategies\":[\"none\"]}}",
    "{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"msg_id\":-01}}",
    "{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"msg_id\":00}}",
    "{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"msg_id\":1.}}",
    "{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"msg_id\":1.e5}}",
    "{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"msg_id\":-.5}}",
    "{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"msg_id\":1e}}",
    "{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"msg_id\":1e+}}",
    "{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"msg_id\":-}}",
    "{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"msg_id\":+1}}",
    "{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"msg_id\":.5}}",
    "{'src':'c0','body':{'type':'init'}}",
    "5", "null", "true", "[]", "{}",
    "{\"src\":null,\"body\":{\"type\":\"init\",\"node_id\":\"n1\"}}",
    "{\"src\":[\"c0\"],\"body\":{\"type\":\"init\",\"node_id\":\"n1\"}}",
    "{\"src\":\"c0\",\"body\":null}",
    "{\"src\":\"c0\",\"body\":\"init\"}",
    "{\"src\":\"c0\",\"body\":{\"type\":null,\"msg_id\":1}}",
    "{\"src\":\"c0\",\"body\":{\"type\":{\"name\":\"init\"},\"msg_id\":1}}",
    "{\"src\":\"c0\",\"body\":{\"type\":[\"init\"],\"msg_id\":1}}",
    "{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"node_id\":\"n\xf4\x90\x80\x80\"}}",   /* above U+10FFFF */
    "{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"node_id\":\"n\xe0\x80\xaf\"}}",       /* overlong, 3 bytes */
    "{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"node_id\":\"n\x80\"}}",               /* lone continuation */
    "{\"src\":\"c0\"\x01,\"body\":{\"type\":\"init\",\"node_id\":\"n1\"}}",             /* control byte outside */
    "{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"node_id\":\"n1\"}}}",                 /* one brace too many */
};

START_TEST(malformed_line_produces_no_output_and_one_log_line)
{
    ck_assert_str_eq(feed(malformed[_i]), "");
    ck_assert_uint_gt(log_len, 0);
    ck_assert_ptr_eq(strchr(log_buf, '\n'), log_buf + log_len - 1);
}
END_TEST

START_TEST(every_form_of_a_json_number_is_accepted)
{
    const char *out = feed("{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"msg_id\":1,\"node_id\":\"n1\","
                           "\"pad\":[0,-0,-0.0,0.5,-12.25e-3,1E+05,1e05,9e999,10,[-1],{\"k\":2}],\"x\":-7}}");
    ck_assert_str_eq(out, INIT_OK);
    ck_assert_uint_eq(log_len, 0);
}
END_TEST

START_TEST(nul_byte_in_line_is_refused)
{
    FILE *out = open_memstream(&out_buf, &out_len), *log = open_memstream(&log_buf, &log_len);
    struct node *n = node_new(out, &fake_ops);
    node_set_log(n, log);
    static const char line[] = "{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"node_id\":\"n1\"}}\0";
    node_handle_line(n, line, sizeof line - 1);
    node_free(n);
    fclose(out);
    fclose(log);
    ck_assert_uint_eq(out_len, 0);
    ck_assert_uint_gt(log_len, 0);
}
END_TEST

static char *nested(int depth)
{
    /* {"src":"c0","body":{"type":"x","d":[[[...]]]}}: the body adds 2 levels */
    char *s = malloc((size_t)depth * 2 + 64);
    int p = sprintf(s, "{\"src\":\"c0\",\"body\":{\"type\":\"x\",\"d\":");
    for (int i = 0; i < depth - 2; i++)
        s[p++] = '[';
    for (int i = 0; i < depth - 2; i++)
        s[p++] = ']';
    strcpy(s + p, "}}");
    return s;
}

START_TEST(nesting_of_64_is_answered_and_65_is_skipped)
{
    char *ok = nested(64), *deep = nested(65);
    ck_assert_ptr_nonnull(strstr(feed(ok), "unsupported message type"));
    ck_assert_str_eq(feed(deep), "");
    ck_assert_ptr_nonnull(strstr(log_buf, "nested deeper than 64"));
    free(ok);
    free(deep);
}
END_TEST

START_TEST(brackets_inside_strings_do_not_count_as_nesting)
{
    char *s = malloc(200);
    strcpy(s, "{\"src\":\"c0\",\"body\":{\"type\":\"");
    for (int i = 0; i < 100; i++)
        strcat(s, i % 2 ? "[" : "{");
    strcat(s, "\"}}");
    ck_assert_ptr_nonnull(strstr(feed(s), "\"code\": 10"));
    free(s);
}
END_TEST

START_TEST(blank_lines_are_ignored_silently)
{
    ck_assert_str_eq(feed("\n   \n\t\r\n"), "");
    ck_assert_uint_eq(log_len, 0);
}
END_TEST

/* Runs node_run over input (len bytes) and returns stdout. */
static const char *run_bytes(const char *input, size_t len, int *rc)
{
    FILE *in = tmpfile();
    ck_assert_ptr_nonnull(in);
    ck_assert_uint_eq(fwrite(input, 1, len, in), len);
    rewind(in);
    free(out_buf);
    free(log_buf);
    FILE *out = open_memstream(&out_buf, &out_len), *log = open_memstream(&log_buf, &log_len);
    struct node *n = node_new(out, &fake_ops);
    node_set_log(n, log);
    *rc = node_run(n, in);
    node_free(n);
    fclose(out);
    fclose(log);
    fclose(in);
    return out_buf;
}

START_TEST(two_mib_line_is_skipped_and_next_line_answered)
{
    size_t big = 2u << 20;
    const char *tail = "\n" INIT;
    char *input = malloc(big + strlen(tail) + 1);
    memset(input, 'a', big);
    memcpy(input, "{\"src\":\"", 8);
    strcpy(input + big, tail);
    int rc;
    const char *out = run_bytes(input, strlen(input), &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(out, INIT_OK);
    ck_assert_ptr_nonnull(strstr(log_buf, "line 1: skipped: longer than 1048576 bytes"));
    free(input);
}
END_TEST

START_TEST(line_of_exactly_1_mib_is_read_and_one_byte_more_is_not)
{
    const char *msg = "{\"src\":\"c0\",\"body\":{\"type\":\"init\",\"msg_id\":1,\"node_id\":\"n1\"}}";
    size_t max = NODE_MAX_LINE;
    char *input = malloc(2 * max + 8);
    /* line 1: message padded with spaces to exactly 1 MiB; line 2: 1 MiB + 1 */
    memset(input, ' ', 2 * max + 8);
    memcpy(input, msg, strlen(msg));
    input[max] = '\n';
    memcpy(input + max + 1, msg, strlen(msg));
    input[2 * max + 2] = '\n';
    int rc;
    const char *out = run_bytes(input, 2 * max + 3, &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(out, "{\"src\": \"n1\", \"dest\": \"c0\", \"body\": {\"type\": \"init_ok\", \"in_reply_to\": 1, \"msg_id\": 0}}\n");
    ck_assert_ptr_nonnull(strstr(log_buf, "line 2: skipped: longer than"));
    free(input);
}
END_TEST

START_TEST(last_line_without_newline_is_answered)
{
    int rc;
    const char in[] = "garbage\n" INIT;
    const char *out = run_bytes(in, sizeof in - 2, &rc);   /* drop INIT's newline */
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(out, INIT_OK);
}
END_TEST

START_TEST(write_error_stops_the_run_with_negative_errno)
{
    FILE *full = fopen("/dev/full", "w");
    if (!full)
        return;   /* no /dev/full here: nothing to prove */
    FILE *in = tmpfile(), *log = open_memstream(&log_buf, &log_len);
    fputs(INIT INIT INIT, in);
    rewind(in);
    struct node *n = node_new(full, &fake_ops);
    node_set_log(n, log);
    int rc = node_run(n, in);
    ck_assert_int_eq(rc, -ENOSPC);
    node_free(n);
    fclose(full);
    fclose(in);
    fclose(log);
}
END_TEST

static Suite *node_suite(void)
{
    Suite *s = suite_create("node");
    TCase *t;
    t = tcase_create("protocol");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, init_ok_bytes_are_exactly_the_maelstrom_reply);
    tcase_add_test(t, msg_id_counts_every_reply_including_errors);
    tcase_add_test(t, reply_src_before_init_is_request_dest_else_n0);
    tcase_add_loop_test(t, bad_msg_id_gives_error_12_naming_msg_id_without_in_reply_to, 0,
                        sizeof bad_msg_ids / sizeof bad_msg_ids[0]);
    tcase_add_test(t, init_without_string_node_id_gives_error_12);
    tcase_add_test(t, unknown_type_gives_error_10_naming_the_type);
    tcase_add_test(t, duplicate_keys_do_not_crash_and_first_wins);
    tcase_add_test(t, unknown_extra_fields_are_ignored);
    tcase_add_loop_test(t, each_invalid_benchmark_field_gives_error_12_naming_it_and_runs_nothing, 0,
                        sizeof bad_requests / sizeof bad_requests[0]);
    tcase_add_test(t, a_request_with_several_bad_fields_gets_one_error_naming_the_first_checked);
    tcase_add_test(t, whole_numbers_written_as_floats_or_exponents_are_accepted);
    tcase_add_test(t, duplicate_benchmark_fields_do_not_crash_and_the_first_wins);
    tcase_add_test(t, odd_src_and_node_id_are_echoed_as_python_prints_them);
    tcase_add_test(t, sixty_five_strategies_are_refused);
    tcase_add_test(t, error_texts_are_exact_for_entries_and_unknown_strategy);
    tcase_add_test(t, long_client_strings_are_clipped_in_error_texts);
    tcase_add_test(t, benchmark_io_failure_gives_error_14_with_bench_text);
    tcase_add_test(t, probe_failure_gives_error_14_and_skips_the_benchmark);
    tcase_add_test(t, benchmark_reply_has_results_in_requested_order_and_keys_in_documented_order);
    tcase_add_test(t, benchmark_gets_validated_config_and_dir_from_environment_only);
    tcase_add_test(t, benchmark_defaults_are_128_bytes_fsync_and_4_seconds);
    tcase_add_test(t, benchmark_body_equals_node_reply_without_ids);
    tcase_add_test(t, unknown_writeback_settings_print_null);
    tcase_add_test(t, benchmark_passes_writers_and_prealloc_through_and_defaults_to_one_writer_without_prealloc);
    tcase_add_test(t, benchmark_passes_repeat_through_growing_only_an_absent_budget);
    suite_add_tcase(s, t);

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

    t = tcase_create("input");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_loop_test(t, malformed_line_produces_no_output_and_one_log_line, 0,
                        sizeof malformed / sizeof malformed[0]);
    tcase_add_test(t, every_form_of_a_json_number_is_accepted);
    tcase_add_test(t, nul_byte_in_line_is_refused);
    tcase_add_test(t, nesting_of_64_is_answered_and_65_is_skipped);
    tcase_add_test(t, brackets_inside_strings_do_not_count_as_nesting);
    tcase_add_test(t, blank_lines_are_ignored_silently);
    tcase_add_test(t, two_mib_line_is_skipped_and_next_line_answered);
    tcase_add_test(t, line_of_exactly_1_mib_is_read_and_one_byte_more_is_not);
    tcase_add_test(t, last_line_without_newline_is_answered);
    tcase_add_test(t, write_error_stops_the_run_with_negative_errno);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(node_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
