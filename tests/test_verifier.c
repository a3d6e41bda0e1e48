/* Unit tests for verifier/: one trial checked against a hand-made log and a
 * fake ledger, and the per-strategy summary (held, window, mean, p50). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/support.h"
#include "verifier/verifier.h"

#define ES 64u

static char path[WAL_PATH_MAX];
static const struct wal_strategy ALWAYS = { .kind = WAL_ALWAYS };
static uint64_t acks[64];   /* acks[seq], 0 = never acknowledged */

static uint64_t fake_ack(const void *ctx, uint64_t seq)
{
    (void)ctx;
    return seq < 64 ? acks[seq] : 0;
}

/* A log of records 1..n, each ES bytes. */
static int log_with(unsigned n)
{
    support_scratch_file(path, sizeof path, "verifier");
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    unsigned char rec[ES];
    for (unsigned s = 1; s <= n; s++) {
        wal_record_encode(rec, NULL, s, ES - WAL_HEADER_SIZE);
        ck_assert_int_eq(pwrite(fd, rec, ES, (off_t)(s - 1) * ES), (ssize_t)ES);
    }
    memset(acks, 0, sizeof acks);
    return fd;
}

static void log_done(int fd)
{
    close(fd);
    unlink(path);
}

static struct verifier_ledger ledger(uint64_t written, uint64_t acked, uint64_t crash)
{
    return (struct verifier_ledger){
        .entry_size = ES, .written = written, .acked = acked,
        .ack_ns = fake_ack, .ctx = NULL, .crash_ns = crash, .max_sync_ns = 5,
    };
}

START_TEST(everything_acknowledged_and_recovered)
{
    int fd = log_with(10);
    for (int s = 1; s <= 10; s++)
        acks[s] = 100 * s;
    struct verifier_ledger l = ledger(10, 10, 5000);
    struct verifier_trial t;
    ck_assert_int_eq(verifier_check_trial(fd, &ALWAYS, &l, &t, NULL, 0), 0);
    ck_assert_uint_eq(t.recovered, 10);
    ck_assert_uint_eq(t.acked, 10);
    ck_assert_uint_eq(t.acked_lost, 0);
    ck_assert_uint_eq(t.loss_window_ns, 0);
    ck_assert_uint_eq(t.oldest_lost_seq, 0);
    ck_assert_uint_eq(t.unacked_recovered, 0);
    ck_assert_uint_eq(t.corrupt_recovered, 0);
    ck_assert_int_eq(t.stop, WAL_STOP_END);
    ck_assert_uint_eq(t.max_sync_ns, 5);
    log_done(fd);
}
END_TEST

START_TEST(lost_entries_and_the_window_from_the_oldest)
{
    int fd = log_with(10);
    ck_assert_int_eq(ftruncate(fd, 6 * ES + 10), 0);   /* seq 7 cut short */
    for (int s = 1; s <= 8; s++)
        acks[s] = 100 * s;
    struct verifier_ledger l = ledger(10, 8, 1000);
    struct verifier_trial t;
    ck_assert_int_eq(verifier_check_trial(fd, &ALWAYS, &l, &t, NULL, 0), 0);
    ck_assert_uint_eq(t.recovered, 6);
    ck_assert_int_eq(t.stop, WAL_STOP_SHORT);
    ck_assert_uint_eq(t.acked, 8);
    ck_assert_uint_eq(t.acked_lost, 2);
    ck_assert_uint_eq(t.oldest_lost_seq, 7);
    ck_assert_uint_eq(t.loss_window_ns, 1000 - 700);
    ck_assert_uint_eq(t.unacked_recovered, 0);
    log_done(fd);
}
END_TEST

/* Several writer threads acknowledge in any seq order: seq 9 before seq 7,
 * seq 8 never.  The window runs from the oldest acknowledgement among the
 * lost, which is not the smallest lost seq. */
START_TEST(acks_out_of_seq_order_window_from_the_oldest_ack)
{
    int fd = log_with(10);
    ck_assert_int_eq(ftruncate(fd, 5 * ES), 0);   /* seqs 1..5 survive */
    for (int s = 1; s <= 5; s++)
        acks[s] = 100 * s;
    acks[3] = 0;            /* recovered, its writer never saw the ack */
    acks[6] = 900;
    acks[7] = 800;
    acks[9] = 600;          /* the oldest lost ack */
    acks[10] = 950;
    struct verifier_ledger l = ledger(10, 10, 1000);
    struct verifier_trial t;
    ck_assert_int_eq(verifier_check_trial(fd, &ALWAYS, &l, &t, NULL, 0), 0);
    ck_assert_uint_eq(t.recovered, 5);
    ck_assert_uint_eq(t.acked, 8);
    ck_assert_uint_eq(t.acked_lost, 4);
    ck_assert_uint_eq(t.oldest_lost_seq, 9);
    ck_assert_uint_eq(t.loss_window_ns, 1000 - 600);
    ck_assert_uint_eq(t.unacked_recovered, 1);
    ck_assert_uint_eq(t.corrupt_recovered, 0);
    /* The scan reaches the acknowledgement bound even past what was written
     * (a hand-made ledger; the writer's acks always lie within it). */
    l = ledger(8, 10, 1000);
    ck_assert_int_eq(verifier_check_trial(fd, &ALWAYS, &l, &t, NULL, 0), 0);
    ck_assert_uint_eq(t.acked_lost, 4);
    ck_assert_uint_eq(t.oldest_lost_seq, 9);
    log_done(fd);
}
END_TEST

START_TEST(a_record_with_other_bytes_than_written_is_counted_corrupt)
{
    /* What recovery cannot know and the verifier can: the payload seed.
     * Seq 4 is rewritten with the right seq and a good CRC, but the bytes of
     * another log (another seed): recovery hands it back, the verifier
     * counts it. */
    int fd = log_with(6);
    unsigned char rec[ES];
    wal_record_encode(rec, &(struct wal_log_id){ .payload_seed = 77 }, 4, ES - WAL_HEADER_SIZE);
    ck_assert_int_eq(pwrite(fd, rec, ES, 3 * ES), (ssize_t)ES);
    for (int s = 1; s <= 6; s++)
        acks[s] = 100 * s;
    struct verifier_ledger l = ledger(6, 6, 5000);
    struct verifier_trial t;
    ck_assert_int_eq(verifier_check_trial(fd, &ALWAYS, &l, &t, NULL, 0), 0);
    ck_assert_uint_eq(t.recovered, 6);
    ck_assert_uint_eq(t.corrupt_recovered, 1);
    log_done(fd);
}
END_TEST

START_TEST(a_trial_is_valid_only_if_it_could_show_a_loss)
{
    int fd = log_with(4);
    struct verifier_trial t;
    struct verifier_ledger l = ledger(4, 0, 5000);
    ck_assert_int_eq(verifier_check_trial(fd, &ALWAYS, &l, &t, NULL, 0), 0);
    ck_assert_int_eq(t.invalid, VERIFIER_NO_ACK);
    ck_assert_str_eq(verifier_invalid_name(t.invalid), "no_ack");
    for (int s = 1; s <= 4; s++)
        acks[s] = 100 * s;
    l = ledger(4, 4, 5000);
    ck_assert_int_eq(verifier_check_trial(fd, &ALWAYS, &l, &t, NULL, 0), 0);
    ck_assert_int_eq(t.invalid, VERIFIER_VALID);
    const struct wal_strategy batch = { .kind = WAL_BATCH, .interval_ms = 10 };
    l.run_ns = 19999999;   /* under two intervals */
    l.syncs_ok = 3;
    ck_assert_int_eq(verifier_check_trial(fd, &batch, &l, &t, NULL, 0), 0);
    ck_assert_int_eq(t.invalid, VERIFIER_TOO_SHORT);
    l.run_ns = 20000000;
    l.syncs_ok = 0;
    ck_assert_int_eq(verifier_check_trial(fd, &batch, &l, &t, NULL, 0), 0);
    ck_assert_int_eq(t.invalid, VERIFIER_NO_SYNC);
    l.syncs_ok = 1;
    ck_assert_int_eq(verifier_check_trial(fd, &batch, &l, &t, NULL, 0), 0);
    ck_assert_int_eq(t.invalid, VERIFIER_VALID);
    log_done(fd);
}
END_TEST

START_TEST(recovered_but_never_acknowledged_is_allowed)
{
    int fd = log_with(10);
    for (int s = 1; s <= 7; s++)
        acks[s] = 100 * s;
    struct verifier_ledger l = ledger(10, 7, 1000);
    struct verifier_trial t;
    ck_assert_int_eq(verifier_check_trial(fd, &ALWAYS, &l, &t, NULL, 0), 0);
    ck_assert_uint_eq(t.unacked_recovered, 3);
    ck_assert_uint_eq(t.acked_lost, 0);
    ck_assert_uint_eq(t.corrupt_recovered, 0);
    log_done(fd);
}
END_TEST

START_TEST(a_record_the_writer_never_wrote_is_corrupt)
{
    int fd = log_with(10);
    struct verifier_ledger l = ledger(8, 0, 1000);
    struct verifier_trial t;
    ck_assert_int_eq(verifier_check_trial(fd, &ALWAYS, &l, &t, NULL, 0), 0);
    ck_assert_uint_eq(t.corrupt_recovered, 2);
    /* A record of another size than the writer's is not its record either. */
    l = ledger(10, 0, 1000);
    l.entry_size = ES * 2;
    ck_assert_int_eq(verifier_check_trial(fd, &ALWAYS, &l, &t, NULL, 0), 0);
    ck_assert_uint_eq(t.corrupt_recovered, 10);
    log_done(fd);
}
END_TEST

START_TEST(a_garbled_record_is_lost_not_handed_back)
{
    int fd = log_with(10);
    unsigned char junk[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    ck_assert_int_eq(pwrite(fd, junk, sizeof junk, 4 * ES + 30), (ssize_t)sizeof junk);
    for (int s = 1; s <= 10; s++)
        acks[s] = 100 * s;
    struct verifier_ledger l = ledger(10, 10, 2000);
    struct verifier_trial t;
    ck_assert_int_eq(verifier_check_trial(fd, &ALWAYS, &l, &t, NULL, 0), 0);
    ck_assert_uint_eq(t.recovered, 4);
    ck_assert_int_eq(t.stop, WAL_STOP_CORRUPT);
    ck_assert_uint_eq(t.corrupt_recovered, 0);
    ck_assert_uint_eq(t.acked_lost, 6);
    ck_assert_uint_eq(t.loss_window_ns, 2000 - 500);
    log_done(fd);
}
END_TEST

START_TEST(an_ack_after_the_crash_instant_gives_a_zero_window_not_a_wrap)
{
    int fd = log_with(2);
    ck_assert_int_eq(ftruncate(fd, 0), 0);
    acks[1] = 900;
    struct verifier_ledger l = ledger(2, 1, 800);
    struct verifier_trial t;
    ck_assert_int_eq(verifier_check_trial(fd, &ALWAYS, &l, &t, NULL, 0), 0);
    ck_assert_uint_eq(t.acked_lost, 1);
    ck_assert_uint_eq(t.loss_window_ns, 0);
    log_done(fd);
}
END_TEST

START_TEST(unreadable_log_names_the_call)
{
    struct verifier_ledger l = ledger(1, 0, 1);
    struct verifier_trial t;
    char err[128];
    ck_assert_int_eq(verifier_check_trial(-1, &ALWAYS, &l, &t, err, sizeof err), -EBADF);
    ck_assert_str_eq(err, "wal_recover_fd: Bad file descriptor");
}
END_TEST

/* ---- summary ---------------------------------------------------------------- */

static struct verifier_trial trial(uint64_t lost, uint64_t window_ms, uint64_t sync_ms)
{
    struct verifier_trial t;
    memset(&t, 0, sizeof t);
    t.acked = 100;
    t.acked_lost = lost;
    t.loss_window_ns = window_ms * 1000000ull;
    t.max_sync_ns = sync_ms * 1000000ull;
    t.unacked_recovered = 1;
    return t;
}

START_TEST(always_holds_until_one_acknowledged_entry_is_lost)
{
    struct wal_strategy st = { .kind = WAL_ALWAYS };
    struct verifier_summary s;
    verifier_summary_init(&s, &st);
    ck_assert_int_eq(s.held, VERIFIER_HELD_NULL);   /* nothing known yet */
    ck_assert_int_eq(s.promised_window_ms, 0);
    struct verifier_trial t = trial(0, 0, 3);
    verifier_summary_add(&s, &t, 1);
    verifier_summary_add(&s, &t, 2);
    ck_assert_int_eq(s.held, VERIFIER_HELD_TRUE);
    t = trial(1, 4, 3);
    verifier_summary_add(&s, &t, 3);
    ck_assert_int_eq(s.held, VERIFIER_HELD_FALSE);
    t = trial(0, 0, 3);
    verifier_summary_add(&s, &t, 4);
    ck_assert_int_eq(s.held, VERIFIER_HELD_FALSE);
    ck_assert_uint_eq(s.trials, 4);
    ck_assert_uint_eq(s.trials_over_promise, 1);
    ck_assert_uint_eq(s.worst_seed, 3);
    ck_assert_uint_eq(s.unacked_recovered, 4);
    ck_assert_str_eq(verifier_held_name(s.held), "false");

    st.kind = WAL_GROUP;
    verifier_summary_init(&s, &st);
    ck_assert_int_eq(s.promised_window_ms, 0);
}
END_TEST

START_TEST(batch_holds_within_the_allowance_fixed_before_the_trials)
{
    struct wal_strategy st = { .kind = WAL_BATCH, .interval_ms = 10 };
    struct verifier_summary s;
    verifier_summary_init(&s, &st);
    ck_assert_int_eq(s.promised_window_ms, 10);
    verifier_summary_set_allowance(&s, 13000000);  /* 10 ms + a 3 ms sync p99 */
    struct verifier_trial t = trial(5, 13, 3);     /* 13 <= 13: held, but past the label */
    verifier_summary_add(&s, &t, 1);
    ck_assert_int_eq(s.held, VERIFIER_HELD_TRUE);
    ck_assert_uint_eq(s.trials_over_promise, 1);
    ck_assert_uint_eq(s.trials_over_allowance, 0);
    /* A trial's own long sync widens nothing: 14 > 13 whatever it saw. */
    t = trial(5, 14, 200);
    ck_assert_int_eq(verifier_trial_held(s.promised_window_ms, s.allowance_ns, &t),
                     VERIFIER_HELD_FALSE);
    verifier_summary_add(&s, &t, 2);
    ck_assert_int_eq(s.held, VERIFIER_HELD_FALSE);
    ck_assert_uint_eq(s.trials_over_allowance, 1);
    ck_assert_uint_eq(s.acked_lost_max, 5);
    ck_assert_double_eq_tol(verifier_summary_window_ms_max(&s), 14.0, 1e-9);
    ck_assert_double_eq_tol(verifier_summary_max_sync_ms(&s), 200.0, 1e-9);
}
END_TEST

START_TEST(held_rests_on_valid_trials_only_and_is_null_without_one)
{
    struct wal_strategy st = { .kind = WAL_ALWAYS };
    struct verifier_summary s;
    verifier_summary_init(&s, &st);
    struct verifier_trial t = trial(0, 0, 1);
    t.acked = 0;
    t.invalid = VERIFIER_NO_ACK;
    verifier_summary_add(&s, &t, 1);
    verifier_summary_add(&s, &t, 2);
    ck_assert_uint_eq(s.trials, 2);
    ck_assert_uint_eq(s.trials_valid, 0);
    ck_assert_uint_eq(s.invalid[VERIFIER_NO_ACK], 2);
    ck_assert_uint_eq(verifier_summary_invalid(&s), 2);
    ck_assert_int_eq(s.held, VERIFIER_HELD_NULL);
    /* an invalid trial's loss breaks nothing either */
    t = trial(3, 50, 1);
    t.invalid = VERIFIER_TOO_SHORT;
    verifier_summary_add(&s, &t, 3);
    ck_assert_int_eq(s.held, VERIFIER_HELD_NULL);
    ck_assert_uint_eq(s.acked_lost_max, 0);
    t = trial(0, 0, 1);
    verifier_summary_add(&s, &t, 4);
    ck_assert_int_eq(s.held, VERIFIER_HELD_TRUE);
    ck_assert_uint_eq(s.trials_valid, 1);
}
END_TEST

START_TEST(untrusted_syncs_leave_held_null_whatever_the_trials_show)
{
    struct wal_strategy st = { .kind = WAL_ALWAYS };
    struct verifier_summary s;
    verifier_summary_init(&s, &st);
    verifier_summary_distrust(&s);
    struct verifier_trial t = trial(0, 0, 0);
    verifier_summary_add(&s, &t, 1);
    ck_assert_int_eq(s.held, VERIFIER_HELD_NULL);
    ck_assert_uint_eq(s.trials_valid, 1);
}
END_TEST

START_TEST(under_o_dsync_none_promises_0_ms)
{
    struct wal_strategy st = { .kind = WAL_NONE };
    struct verifier_summary s;
    verifier_summary_init(&s, &st);
    verifier_summary_writes_durable(&s);
    ck_assert_int_eq(s.promised_window_ms, 0);
    struct verifier_trial t = trial(0, 0, 0);
    verifier_summary_add(&s, &t, 1);
    ck_assert_int_eq(s.held, VERIFIER_HELD_TRUE);
    t = trial(1, 2, 0);
    verifier_summary_add(&s, &t, 2);
    ck_assert_int_eq(s.held, VERIFIER_HELD_FALSE);
}
END_TEST

START_TEST(none_promises_nothing)
{
    struct wal_strategy st = { .kind = WAL_NONE };
    struct verifier_summary s;
    verifier_summary_init(&s, &st);
    struct verifier_trial t = trial(100, 5000, 0);
    verifier_summary_add(&s, &t, 1);
    ck_assert_int_eq(s.held, VERIFIER_HELD_NULL);
    ck_assert_int_eq(s.promised_window_ms, -1);
    ck_assert_str_eq(verifier_held_name(s.held), "null");
    ck_assert_str_eq(verifier_held_name(VERIFIER_HELD_TRUE), "true");
}
END_TEST

START_TEST(mean_max_and_median_in_fixed_memory)
{
    struct wal_strategy st = { .kind = WAL_NONE };
    static struct verifier_summary s;
    verifier_summary_init(&s, &st);
    size_t before = sizeof s;
    for (uint64_t i = 1; i <= 100000; i++) {
        struct verifier_trial t = trial(i % 10, i % 100 + 1, 0);   /* windows 1..100 ms */
        verifier_summary_add(&s, &t, i);
    }
    ck_assert_uint_eq(sizeof s, before);
    ck_assert_uint_eq(s.trials, 100000);
    ck_assert_double_eq_tol(verifier_summary_acked_lost_mean(&s), 4.5, 1e-9);
    ck_assert_uint_eq(s.acked_lost_max, 9);
    ck_assert_double_eq_tol(verifier_summary_window_ms_max(&s), 100.0, 1e-9);
    double p50 = verifier_summary_window_ms_p50(&s);
    ck_assert_msg(p50 > 49.0 && p50 < 52.0, "p50 %.3f", p50);
    /* An empty summary answers zeros, not NaN. */
    verifier_summary_init(&s, &st);
    ck_assert_double_eq(verifier_summary_acked_lost_mean(&s), 0.0);
    ck_assert_double_eq(verifier_summary_window_ms_p50(&s), 0.0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("verifier");
    TCase *tr = tcase_create("trial");
    tcase_add_test(tr, everything_acknowledged_and_recovered);
    tcase_add_test(tr, lost_entries_and_the_window_from_the_oldest);
    tcase_add_test(tr, acks_out_of_seq_order_window_from_the_oldest_ack);
    tcase_add_test(tr, recovered_but_never_acknowledged_is_allowed);
    tcase_add_test(tr, a_record_with_other_bytes_than_written_is_counted_corrupt);
    tcase_add_test(tr, a_trial_is_valid_only_if_it_could_show_a_loss);
    tcase_add_test(tr, a_record_the_writer_never_wrote_is_corrupt);
    tcase_add_test(tr, a_garbled_record_is_lost_not_handed_back);
    tcase_add_test(tr, an_ack_after_the_crash_instant_gives_a_zero_window_not_a_wrap);
    tcase_add_test(tr, unreadable_log_names_the_call);
    suite_add_tcase(s, tr);
    TCase *sum = tcase_create("summary");
    tcase_add_test(sum, always_holds_until_one_acknowledged_entry_is_lost);
    tcase_add_test(sum, batch_holds_within_the_allowance_fixed_before_the_trials);
    tcase_add_test(sum, held_rests_on_valid_trials_only_and_is_null_without_one);
    tcase_add_test(sum, untrusted_syncs_leave_held_null_whatever_the_trials_show);
    tcase_add_test(sum, under_o_dsync_none_promises_0_ms);
    tcase_add_test(sum, none_promises_nothing);
    tcase_add_test(sum, mean_max_and_median_in_fixed_memory);
    suite_add_tcase(s, sum);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
