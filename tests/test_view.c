/* Unit tests for view/ (the timeline and the HTML page) and for what
 * crashsim keeps for a timeline: which thread acknowledged each seq, and
 * the sync log, by hand and through real trials. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crashsim/crashsim.h"
#include "tests/support.h"
#include "view/view.h"

/* Under LeakSanitizer: fontconfig keeps its configuration for the life of
 * the process (tests/lsan.supp says the same for the e2e scripts). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libfontconfig.so\n";
}

static void path_of(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/test-view-%ld-%s", support_scratch_dir(), (long)getpid(), name);
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

START_TEST(marks_are_counted_by_kind_and_outside_ones_are_not)
{
    struct view_timeline *tl;
    ck_assert_int_eq(view_timeline_new(1000, 2000, &tl), 0);
    int a = view_lane(tl, "a");
    ck_assert_int_eq(a, 0);
    for (int i = 0; i < 100000; i++)
        view_mark(tl, a, VIEW_ACK, 1000 + (uint64_t)i % 1001);
    view_mark(tl, a, VIEW_LOST, 1999);
    view_mark(tl, a, VIEW_LOST, 2001);    /* after the end: not drawn */
    view_mark(tl, a, VIEW_LOST, 999);     /* before the start */
    view_mark(tl, 7, VIEW_LOST, 1500);    /* no such lane */
    ck_assert_uint_eq(view_count(tl, VIEW_ACK), 100000);
    ck_assert_uint_eq(view_count(tl, VIEW_LOST), 1);
    ck_assert_uint_eq(view_count(tl, VIEW_WRITE), 0);
    view_timeline_free(tl);
    ck_assert_int_eq(view_timeline_new(5, 5, &tl), -EINVAL);
}
END_TEST

START_TEST(lanes_stop_at_the_limit)
{
    struct view_timeline *tl;
    ck_assert_int_eq(view_timeline_new(0, 10, &tl), 0);
    for (int i = 0; i < VIEW_MAX_LANES; i++)
        ck_assert_int_eq(view_lane(tl, "x"), i);
    ck_assert_int_eq(view_lane(tl, "one too many"), -ENOSPC);
    view_timeline_free(tl);
}
END_TEST

/* A picture of 100,000 acks, some lost, with a window: PNG and SVG. */
static struct view_timeline *busy(void)
{
    struct view_timeline *tl;
    ck_assert_int_eq(view_timeline_new(0, 2000000000ull, &tl), 0);
    view_title(tl, "test <&> title");
    view_setting(tl, "settings line");
    int f = view_lane(tl, "file"), w = view_lane(tl, "writer"), s = view_lane(tl, "flusher");
    for (uint64_t i = 0; i < 100000; i++) {
        view_mark(tl, f, i < 99000 ? VIEW_COVERED : VIEW_WRITE, i * 19000);
        view_mark(tl, w, i < 99000 ? VIEW_ACK : VIEW_LOST, i * 19000 + 500);
    }
    for (uint64_t t = 0; t < 1900000000ull; t += 10000000ull)
        view_span(tl, s, VIEW_SYNC, t, t + 2000000);
    view_span(tl, s, VIEW_SYNC_OPEN, 1890000000ull, 1900000000ull);
    view_kill(tl, 1900000000ull);
    view_window(tl, 99000ull * 19000 + 500, 1900000000ull);
    view_instant(tl, 1000000000ull, "cut 1");
    view_note(tl, "a note");
    return tl;
}

START_TEST(a_busy_timeline_draws_as_png_and_svg)
{
    struct view_timeline *tl = busy();
    char png[512], svg[512], bad[512], err[512];
    path_of(png, sizeof png, "busy.PNG");
    path_of(svg, sizeof svg, "busy.svg");
    path_of(bad, sizeof bad, "busy.jpg");
    ck_assert_int_eq(view_timeline_draw(tl, png, err, sizeof err), 0);
    ck_assert_int_eq(view_timeline_draw(tl, svg, err, sizeof err), 0);
    ck_assert_int_eq(view_timeline_draw(tl, bad, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, ".png or .svg"));
    ck_assert_int_eq(file_size(bad), -1);
    ck_assert_int_gt(file_size(png), 10000);
    ck_assert_int_eq(memcmp(slurp(png) + 1, "PNG", 3), 0);
    ck_assert_ptr_nonnull(strstr(slurp(svg), "<svg"));
    char nodir[600];
    snprintf(nodir, sizeof nodir, "%s/no/such/dir/t.png", support_scratch_dir());
    ck_assert_int_lt(view_timeline_draw(tl, nodir, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, nodir));
    view_timeline_free(tl);
    unlink(png);
    unlink(svg);
}
END_TEST

START_TEST(the_page_inlines_its_images_and_escapes_text)
{
    struct view_timeline *tl = busy();
    char png[512], html[512], err[512];
    path_of(png, sizeof png, "page.png");
    path_of(html, sizeof html, "page.html");
    ck_assert_int_eq(view_timeline_draw(tl, png, err, sizeof err), 0);
    view_timeline_free(tl);
    cJSON *body = cJSON_Parse("{\"type\": \"crash_test_ok\", \"seed\": 5, \"results\": "
                              "[{\"strategy\": \"<b>\", \"held\": false, \"promised_window_ms\": 10,"
                              " \"reasons\": {\"no_ack\": 1}}], \"environment\": {\"fs_type\": \"ext4\"}}");
    ck_assert_ptr_nonnull(body);
    struct view_image im = { png, "caption & more" };
    ck_assert_int_eq(view_html_write(html, body, "t", "fsynclab crash --seed 5", &im, 1, err,
                                     sizeof err), 0);
    const char *page = slurp(html);
    ck_assert_ptr_nonnull(strstr(page, "data:image/png;base64,iVBORw0KGgo"));
    ck_assert_ptr_nonnull(strstr(page, "&lt;b&gt;"));
    ck_assert_ptr_null(strstr(page, "<b>:"));
    ck_assert_ptr_nonnull(strstr(page, "caption &amp; more"));
    ck_assert_ptr_nonnull(strstr(page, "fsynclab crash --seed 5"));
    ck_assert_ptr_nonnull(strstr(page, "environment.fs_type"));
    ck_assert_ptr_nonnull(strstr(page, "reasons.no_ack"));
    ck_assert_ptr_nonnull(strstr(page, "class=\"broken\""));
    ck_assert_ptr_null(strstr(page, "http:"));
    ck_assert_ptr_null(strstr(page, "https:"));
    ck_assert_ptr_null(strstr(page, "<script"));
    /* A missing image fails the page, and no half page is left. */
    im.path = "/nonexistent/x.png";
    ck_assert_int_lt(view_html_write(html, body, "t", NULL, &im, 1, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/x.png"));
    ck_assert_int_eq(file_size(html), -1);
    cJSON_Delete(body);
    unlink(png);
}
END_TEST

START_TEST(ledger_keeps_the_acking_thread_and_the_syncs)
{
    struct crashsim_ledger *l;
    ck_assert_int_eq(crashsim_ledger_create(100, 128, &l), 0);
    crashsim_ledger_set_lane(3);
    crashsim_ledger_write_begin(l, 0, 256);
    crashsim_ledger_write_done(l, 0, 256, 10);
    uint64_t covered = crashsim_ledger_sync_begin(l, 20);
    crashsim_ledger_sync_end(l, covered, 20, 30, 0);
    crashsim_ledger_ack(l, 1, 31);
    crashsim_ledger_set_lane(0);   /* a thread of the log's own */
    covered = crashsim_ledger_sync_begin(l, 40);
    crashsim_ledger_sync_end(l, covered, 40, 45, -EIO);
    (void)crashsim_ledger_sync_begin(l, 50);   /* in flight at the crash */
    crashsim_ledger_set_lane(2);
    crashsim_ledger_ack(l, 2, 51);
    ck_assert_uint_eq(crashsim_ledger_ack_lane(l, 1), 3);
    ck_assert_uint_eq(crashsim_ledger_ack_lane(l, 2), 2);
    ck_assert_uint_eq(crashsim_ledger_ack_lane(l, 3), 0);
    ck_assert_uint_eq(crashsim_ledger_sync_count(l), 3);
    struct crashsim_sync_event e;
    ck_assert_int_eq(crashsim_ledger_sync_event(l, 0, &e), 0);
    ck_assert_uint_eq(e.start_ns, 20);
    ck_assert_uint_eq(e.end_ns, 30);
    ck_assert_uint_eq(e.covered, 256);
    ck_assert_uint_eq(e.lane, 3);
    ck_assert_int_eq(e.rc, 0);
    ck_assert_int_eq(crashsim_ledger_sync_event(l, 1, &e), 0);
    ck_assert_int_eq(e.rc, -EIO);
    ck_assert_uint_eq(e.lane, 0);
    ck_assert_int_eq(crashsim_ledger_sync_event(l, 2, &e), 0);
    ck_assert_uint_eq(e.end_ns, 0);
    crashsim_ledger_reset(l);
    ck_assert_uint_eq(crashsim_ledger_sync_count(l), 0);
    ck_assert_uint_eq(crashsim_ledger_ack_lane(l, 1), 0);
    ck_assert_int_eq(crashsim_ledger_sync_event(l, 0, &e), -ENOENT);
    crashsim_ledger_destroy(l);
}
END_TEST

START_TEST(the_sync_log_keeps_the_last_syncs_when_it_wraps)
{
    struct crashsim_ledger *l;
    ck_assert_int_eq(crashsim_ledger_create(10, 128, &l), 0);
    crashsim_ledger_set_lane(1);
    uint64_t n = CRASHSIM_SYNC_LOG + 10;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t c = crashsim_ledger_sync_begin(l, 100 + 2 * i);
        crashsim_ledger_sync_end(l, c, 100 + 2 * i, 101 + 2 * i, 0);
    }
    ck_assert_uint_eq(crashsim_ledger_sync_count(l), n);
    struct crashsim_sync_event e;
    ck_assert_int_eq(crashsim_ledger_sync_event(l, 9, &e), -ENOENT);   /* overwritten */
    ck_assert_int_eq(crashsim_ledger_sync_event(l, 10, &e), 0);
    ck_assert_uint_eq(e.start_ns, 120);
    ck_assert_int_eq(crashsim_ledger_sync_event(l, n - 1, &e), 0);
    ck_assert_uint_eq(e.end_ns, 101 + 2 * (n - 1));
    crashsim_ledger_destroy(l);
}
END_TEST

struct seen {
    uint32_t calls, last_index;
    uint64_t acked_lanes_bad, acks, flusher_syncs, syncs;
};

static void on_trial(void *arg, const struct crashsim_config *cfg, uint32_t index,
                     const struct crashsim_trial_result *r, const struct crashsim_ledger *l)
{
    struct seen *s = arg;
    s->calls++;
    s->last_index = index;
    for (uint64_t q = 1; q <= r->ledger.acked_max_seq; q++) {
        if (!crashsim_ledger_ack_ns(l, q))
            continue;
        s->acks++;
        unsigned lane = crashsim_ledger_ack_lane(l, q);
        s->acked_lanes_bad += lane < 1 || lane > cfg->writers;
    }
    uint64_t n = crashsim_ledger_sync_count(l);
    struct crashsim_sync_event e;
    for (uint64_t i = 0; i < n; i++)
        if (crashsim_ledger_sync_event(l, i, &e) == 0) {
            s->syncs++;
            s->flusher_syncs += e.lane == 0;
        }
}

/* Through real trials: two writer threads under batch, whose flusher is
 * the log's own thread. */
START_TEST(real_trials_hand_each_trial_to_the_hook_with_its_threads_and_syncs)
{
    struct crashsim_config cfg = {
        .entries = 4000, .entry_size = 128, .sync_method = WAL_SYNC_FDATASYNC,
        .model = support_model("drop"), .seed = 3, .trials = 3, .max_seconds = 30,
        .dir = support_scratch_dir(), .writeback_expire_ms = -1, .writeback_interval_ms = -1,
        .writers = 2,
    };
    ck_assert_int_eq(wal_strategy_parse("batch_2ms", &cfg.strategy), 0);
    struct seen s = {0};
    cfg.trial_done = on_trial;
    cfg.trial_done_arg = &s;
    struct verifier_summary sum;
    char err[512];
    ck_assert_int_eq(crashsim_run(&cfg, &sum, NULL, NULL, err, sizeof err), 0);
    ck_assert_uint_eq(s.calls, sum.trials);
    ck_assert_uint_eq(s.last_index, sum.trials - 1);
    ck_assert_uint_gt(s.acks, 0);
    ck_assert_uint_eq(s.acked_lanes_bad, 0);
    ck_assert_uint_gt(s.syncs, 0);
    ck_assert_uint_eq(s.flusher_syncs, s.syncs);   /* only the flusher syncs under batch */
}
END_TEST

int main(void)
{
    Suite *s = suite_create("view");
    TCase *view = tcase_create("view");
    tcase_set_timeout(view, 60);
    tcase_add_test(view, marks_are_counted_by_kind_and_outside_ones_are_not);
    tcase_add_test(view, lanes_stop_at_the_limit);
    tcase_add_test(view, a_busy_timeline_draws_as_png_and_svg);
    tcase_add_test(view, the_page_inlines_its_images_and_escapes_text);
    suite_add_tcase(s, view);
    TCase *capture = tcase_create("capture");
    tcase_set_timeout(capture, 60);
    tcase_add_test(capture, ledger_keeps_the_acking_thread_and_the_syncs);
    tcase_add_test(capture, the_sync_log_keeps_the_last_syncs_when_it_wraps);
    tcase_add_test(capture, real_trials_hand_each_trial_to_the_hook_with_its_threads_and_syncs);
    suite_add_tcase(s, capture);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
