/* Unit tests for the protocol node's input: malformed lines, numbers,
 * nesting, NUL bytes, long lines, a last line without its newline, and a
 * failed write. */
#include "node/node.h"
#include "report/report.h"
#include "tests/node_harness.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int main(void)
{
    Suite *s = suite_create("node_input");
    TCase *t;
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
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
