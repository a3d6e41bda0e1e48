/* Unit tests for crashsim/: the ledger as the wrapper records it (records
 * marked only when whole, acks in any order, overlapping syncs) and the
 * wrapper's injected errors. */
#include <check.h>
#include <errno.h>
#include <fiu-control.h>
#include <fiu.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crashsim/internal.h"
#include "tests/support.h"

/* ---- the ledger and the wrapper ----------------------------------------- */

START_TEST(ledger_marks_records_only_when_whole)
{
    struct crashsim_ledger *l;
    ck_assert_int_eq(crashsim_ledger_create(100, 100, &l), 0);
    crashsim_ledger_write_begin(l, 0, 150);
    crashsim_ledger_write_done(l, 0, 150, 7);
    ck_assert_uint_eq(crashsim_ledger_write_ns(l, 1), 7);
    ck_assert_uint_eq(crashsim_ledger_write_ns(l, 2), 0);    /* half written */
    crashsim_ledger_write_begin(l, 150, 250);
    crashsim_ledger_write_done(l, 150, 250, 9);
    ck_assert_uint_eq(crashsim_ledger_write_ns(l, 2), 9);
    ck_assert_uint_eq(crashsim_ledger_write_ns(l, 4), 9);
    /* Past a gap only whole records inside the write count, and the
     * contiguous prefix does not move. */
    crashsim_ledger_write_done(l, 450, 200, 11);
    ck_assert_uint_eq(crashsim_ledger_write_ns(l, 5), 0);
    ck_assert_uint_eq(crashsim_ledger_write_ns(l, 6), 11);
    struct crashsim_ledger_state st;
    crashsim_ledger_state(l, &st);
    ck_assert_uint_eq(st.intent_bytes, 400);
    ck_assert_uint_eq(st.written_bytes, 400);
    /* A sync covers what was written when it started, once it returns. */
    uint64_t covered = crashsim_ledger_sync_begin(l, 100);
    ck_assert_uint_eq(covered, 400);
    crashsim_ledger_state(l, &st);
    ck_assert_uint_eq(st.sync_inflight_ns, 100);
    ck_assert_uint_eq(st.sync_inflight_bytes, 400);
    ck_assert_uint_eq(st.durable_bytes, 0);
    crashsim_ledger_sync_end(l, covered, 100, 350, 0);
    crashsim_ledger_ack(l, 3, 400);
    crashsim_ledger_state(l, &st);
    ck_assert_uint_eq(st.durable_bytes, 400);
    ck_assert_uint_eq(st.sync_inflight_ns, 0);
    ck_assert_uint_eq(st.sync_max_ns, 250);
    ck_assert_uint_eq(st.syncs_ok, 1);
    ck_assert_uint_eq(st.acked, 1);
    ck_assert_uint_eq(st.acked_max_seq, 3);
    ck_assert_uint_eq(crashsim_ledger_ack_ns(l, 3), 400);
    /* A failed sync makes nothing durable. */
    covered = crashsim_ledger_sync_begin(l, 500);
    crashsim_ledger_sync_end(l, covered + 100, 500, 600, -EIO);
    crashsim_ledger_state(l, &st);
    ck_assert_uint_eq(st.durable_bytes, 400);
    ck_assert_uint_eq(st.syncs_failed, 1);
    crashsim_ledger_reset(l);
    crashsim_ledger_state(l, &st);
    ck_assert_uint_eq(st.intent_bytes + st.written_bytes + st.durable_bytes + st.acked +
                      st.acked_max_seq + st.last_ack_ns + st.syncs_inflight, 0);
    ck_assert_uint_eq(crashsim_ledger_write_ns(l, 2), 0);
    ck_assert_uint_eq(crashsim_ledger_ack_ns(l, 3), 0);
    ck_assert_uint_eq(st.entries, 100);
    crashsim_ledger_destroy(l);
}
END_TEST

/* What several writer threads leave: acks in any seq order, and syncs that
 * overlap (always with several writers: each syncs on its own). */
START_TEST(ledger_takes_acks_in_any_order_and_overlapping_syncs)
{
    struct crashsim_ledger *l;
    ck_assert_int_eq(crashsim_ledger_create(100, 100, &l), 0);
    for (uint64_t s = 1; s <= 6; s++) {
        crashsim_ledger_write_begin(l, (s - 1) * 100, 100);
        crashsim_ledger_write_done(l, (s - 1) * 100, 100, 10 * s);
    }
    crashsim_ledger_ack(l, 5, 500);
    crashsim_ledger_ack(l, 3, 450);   /* a smaller seq, acknowledged earlier, recorded later */
    crashsim_ledger_ack(l, 4, 520);
    struct crashsim_ledger_state st;
    crashsim_ledger_state(l, &st);
    ck_assert_uint_eq(st.acked, 3);
    ck_assert_uint_eq(st.acked_max_seq, 5);
    ck_assert_uint_eq(st.first_ack_ns, 500);   /* the first recorded */
    ck_assert_uint_eq(st.last_ack_ns, 520);    /* the latest in time */
    ck_assert_uint_eq(crashsim_ledger_ack_ns(l, 3), 450);
    ck_assert_uint_eq(crashsim_ledger_ack_ns(l, 6), 0);

    /* Two syncs in flight: the oldest is the one that counts to the crash. */
    uint64_t a = crashsim_ledger_sync_begin(l, 1000);
    crashsim_ledger_write_begin(l, 600, 100);
    crashsim_ledger_write_done(l, 600, 100, 1050);
    uint64_t b = crashsim_ledger_sync_begin(l, 1100);
    ck_assert_uint_eq(a, 600);
    ck_assert_uint_eq(b, 700);
    crashsim_ledger_state(l, &st);
    ck_assert_uint_eq(st.syncs_inflight, 2);
    ck_assert_uint_eq(st.sync_inflight_ns, 1000);
    ck_assert_uint_eq(st.sync_inflight_bytes, 600);
    crashsim_ledger_sync_end(l, b, 1100, 1200, 0);   /* the later one returns first */
    crashsim_ledger_state(l, &st);
    ck_assert_uint_eq(st.durable_bytes, 700);
    ck_assert_uint_eq(st.syncs_inflight, 1);
    ck_assert_uint_eq(st.sync_inflight_ns, 1000);
    ck_assert_uint_eq(st.sync_inflight_bytes, 600);
    crashsim_ledger_sync_end(l, a, 1000, 1400, 0);
    crashsim_ledger_state(l, &st);
    ck_assert_uint_eq(st.durable_bytes, 700);        /* never moves back */
    ck_assert_uint_eq(st.syncs_inflight, 0);
    ck_assert_uint_eq(st.sync_inflight_ns, 0);
    ck_assert_uint_eq(st.sync_max_ns, 400);
    ck_assert_uint_eq(st.syncs_ok, 2);

    /* Two syncs that start in the same nanosecond, and a slot per sync up
     * to the limit. */
    uint64_t c = crashsim_ledger_sync_begin(l, 2000);
    uint64_t d = crashsim_ledger_sync_begin(l, 2000);
    crashsim_ledger_sync_end(l, c, 2000, 2100, 0);
    crashsim_ledger_state(l, &st);
    ck_assert_uint_eq(st.syncs_inflight, 1);
    ck_assert_uint_eq(st.sync_inflight_ns, 2000);
    crashsim_ledger_sync_end(l, d, 2000, 2200, 0);
    for (unsigned i = 0; i < CRASHSIM_SYNC_SLOTS; i++)
        crashsim_ledger_sync_begin(l, 3000 + i);
    crashsim_ledger_state(l, &st);
    ck_assert_uint_eq(st.syncs_inflight, CRASHSIM_SYNC_SLOTS);
    ck_assert_uint_eq(st.sync_inflight_ns, 3000);
    for (unsigned i = CRASHSIM_SYNC_SLOTS; i-- > 0;)
        crashsim_ledger_sync_end(l, 700, 3000 + i, 4000, 0);
    crashsim_ledger_state(l, &st);
    ck_assert_uint_eq(st.syncs_inflight, 0);
    crashsim_ledger_destroy(l);
}
END_TEST

START_TEST(wrapper_records_writes_and_syncs_and_injects_errors)
{
    char path[WAL_PATH_MAX];
    support_scratch_file(path, sizeof path, "crashsim-wrap");
    struct crashsim_ledger *l;
    ck_assert_int_eq(crashsim_ledger_create(10, 64, &l), 0);
    struct wal_file *f, *w;
    ck_assert_int_eq(wal_file_open(path, WAL_SYNC_FDATASYNC, &f, NULL, 0), 0);
    ck_assert_int_eq(crashsim_file_wrap(f, l, 0, &w), 0);
    unsigned char rec[64];
    for (uint64_t s = 1; s <= 3; s++) {
        wal_record_encode(rec, NULL, s, 64 - WAL_HEADER_SIZE);
        ck_assert_int_eq(w->methods->pwrite(w, rec, 64, (off_t)((s - 1) * 64)), 0);
    }
    struct crashsim_ledger_state st;
    crashsim_ledger_state(l, &st);
    ck_assert_uint_eq(st.written_bytes, 192);
    ck_assert_uint_eq(st.durable_bytes, 0);
    ck_assert_uint_gt(crashsim_ledger_write_ns(l, 3), 0);
    ck_assert_int_eq(w->methods->sync(w), 0);
    crashsim_ledger_state(l, &st);
    ck_assert_uint_eq(st.durable_bytes, 192);

    ck_assert_int_eq(fiu_init(0), 0);
    ck_assert_int_eq(fiu_enable(CRASHSIM_FIU_WRITE_BEFORE, 1, CRASHSIM_FIU_ERRNO(ENOSPC), 0), 0);
    wal_record_encode(rec, NULL, 4, 64 - WAL_HEADER_SIZE);
    ck_assert_int_eq(w->methods->pwrite(w, rec, 64, 192), -ENOSPC);
    fiu_disable(CRASHSIM_FIU_WRITE_BEFORE);
    crashsim_ledger_state(l, &st);
    ck_assert_uint_eq(st.intent_bytes, 192);        /* never attempted */
    ck_assert_int_eq(w->methods->pwrite(w, rec, 64, 192), 0);

    ck_assert_int_eq(fiu_enable(CRASHSIM_FIU_SYNC_BEFORE, 1, CRASHSIM_FIU_ERRNO(EIO), 0), 0);
    ck_assert_int_eq(w->methods->sync(w), -EIO);
    fiu_disable(CRASHSIM_FIU_SYNC_BEFORE);
    crashsim_ledger_state(l, &st);
    ck_assert_uint_eq(st.durable_bytes, 192);
    ck_assert_uint_eq(st.syncs_failed, 1);
    ck_assert_uint_eq(st.sync_inflight_ns, 0);
    ck_assert_int_eq(w->methods->close(w), 0);

    /* O_DSYNC: each write is its own sync. */
    crashsim_ledger_reset(l);
    ck_assert_int_eq(wal_file_open(path, WAL_SYNC_O_DSYNC, &f, NULL, 0), 0);
    ck_assert_int_eq(crashsim_file_wrap(f, l, 1, &w), 0);
    wal_record_encode(rec, NULL, 1, 64 - WAL_HEADER_SIZE);
    ck_assert_int_eq(w->methods->pwrite(w, rec, 64, 0), 0);
    crashsim_ledger_state(l, &st);
    ck_assert_uint_eq(st.durable_bytes, 64);
    ck_assert_int_eq(w->methods->close(w), 0);
    unlink(path);
    crashsim_ledger_destroy(l);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("crashsim_ledger");
    TCase *ledger = tcase_create("ledger");
    tcase_add_test(ledger, ledger_marks_records_only_when_whole);
    tcase_add_test(ledger, ledger_takes_acks_in_any_order_and_overlapping_syncs);
    tcase_add_test(ledger, wrapper_records_writes_and_syncs_and_injects_errors);
    suite_add_tcase(s, ledger);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
