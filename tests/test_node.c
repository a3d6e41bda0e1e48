/* DESIGN: unit tests for the protocol node.  Output is compared as bytes
 * against strings produced by Python's json.dumps (generated once, pasted
 * here), because byte identity with Python is the contract.  Disk work is
 * replaced by fakes through struct node_ops that count their calls, so the
 * tests can prove that a rejected request never reached the disk.
 * Here: the envelope and fsync_benchmark; crash_test is in
 * test_node_crash.c, malformed input in test_node_input.c. */
#include "node/node.h"
#include "report/report.h"
#include "tests/node_harness.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- envelope and ids ---------------------------------------------------- */

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

int main(void)
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
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
