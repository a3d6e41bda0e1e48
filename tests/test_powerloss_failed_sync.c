/* Unit tests for powerloss/: what a power cut leaves after a failed sync
 * (eio_pages_clean: the pages it dropped, what a later write brings back). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "powerloss/internal.h"
#include "tests/powerloss_lists.h"
#include "tests/support.h"

/* ---- a failed sync (eio_pages_clean) ------------------------------------------------ */
static uint64_t decide_model(struct pl_model *m, size_t cut)
{
    if (!E)
        ck_assert_msg(pl_engine_new(&L, &E, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(pl_decide(E, m, cut, clock_ns + 1, 1, &S, err, sizeof err) == 0, "%s", err);
    return S.hash;
}

START_TEST(a_failed_fsync_then_a_successful_one_loses_the_first_writes)
{
    static const char *const names[] = {"drop", "ext4", "torn", "reorder", "process"};
    base_db();
    wr(3, 0, "bbbb");
    sync_rc(3, PL_SYNC_FSYNC, EIO);
    sync_(3, PL_SYNC_FSYNC);
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        struct pl_model m = model(names[k], 512);
        ck_assert_int_eq(m.eio_pages_clean, 1);   /* every preset: as Linux does */
        decide_model(&m, L.n);
        ASSERT_CONTENT(1, "other", "aaaa");        /* not durable, not even in the tail */
        m.eio_pages_clean = 0;                     /* a kernel that keeps the pages dirty */
        decide_model(&m, L.n);
        ASSERT_CONTENT(1, "other", "bbbb");
    }
    done();
}
END_TEST

START_TEST(data_written_again_after_a_failed_fsync_is_kept)
{
    base_db();
    wr(3, 0, "bbbb");
    sync_rc(3, PL_SYNC_FDATASYNC, EIO);
    wr(3, 0, "cc");   /* the program rewrites half of it: the page is dirty again, all of it */
    sync_(3, PL_SYNC_FDATASYNC);
    decide("drop", 1);
    ASSERT_CONTENT(1, "other", "ccbb");
    decide("ext4", 1);
    ASSERT_CONTENT(1, "other", "ccbb");
    done();
}
END_TEST

START_TEST(a_one_byte_write_into_a_dropped_page_carries_the_whole_page_back)
{
    static const char *const names[] = {"drop", "ext4", "torn", "reorder", "process", "writeback"};
    base_db();
    size_t lost = wr(3, 0, "bbbb");
    sync_rc(3, PL_SYNC_FSYNC, EIO);
    size_t before = wr(3, 4095, "c");   /* the last byte of the same 4 KiB page */
    size_t synced = sync_(3, PL_SYNC_FSYNC);
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        struct pl_model m = model(names[k], 512);   /* the unit is the page, not the sector */
        decide_model(&m, L.n);
        ASSERT_BYTES(1, "other", 0, "bbbb", 4096);
        ASSERT_BYTES(1, "other", 4095, "c", 4096);
        m.sector = 4096;
        decide_model(&m, L.n);
        ASSERT_BYTES(1, "other", 0, "bbbb", 4096);
    }
    /* before that sync the page goes with the write that dirtied it: unsynced */
    decide_cut("drop", 512, synced - 1, 1);
    ASSERT_CONTENT(1, "other", "aaaa");
    decide_cut("process", 512, synced - 1, 1);
    ASSERT_BYTES(1, "other", 0, "bbbb", 4096);
    decide_cut("process", 512, before, 1);   /* before the write: the page is clean, lost */
    ASSERT_CONTENT(1, "other", "aaaa");
    /* and it is a candidate of the cut: a keep set may name it */
    struct pl_model m = model("drop", 512);
    const struct pl_piece *cand;
    size_t n, found = 0;
    ck_assert_int_eq(pl_unsynced(E, &m, synced - 1, &cand, &n, err, sizeof err), 0);
    for (size_t i = 0; i < n; i++)
        found += cand[i].op == lost && cand[i].from == 0 && cand[i].to == 4;
    ck_assert_uint_eq(found, 1);
    struct pl_piece keep[2] = {{(uint32_t)lost, PL_PART_ALL, 0, 4}, {(uint32_t)before, PL_PART_ALL, 0, 1}};
    ck_assert_msg(pl_keep(E, &m, synced - 1, keep, 2, &S, err, sizeof err) == 0, "%s", err);
    ASSERT_BYTES(1, "other", 0, "bbbb", 4096);
    done();
}
END_TEST

START_TEST(a_write_into_another_page_does_not_save_a_dropped_page)
{
    static char two[8193];
    memset(two, 'b', 8192);   /* pages 0 and 1 */
    base_db();
    wr_at(3, 0, two, 8192, 0);
    sync_rc(3, PL_SYNC_FSYNC, EIO);
    wr(3, 5000, "c");   /* page 1 only */
    sync_(3, PL_SYNC_FSYNC);
    decide("drop", 1);
    ASSERT_BYTES(1, "other", 0, "aaaa\0\0\0\0", 8192);
    ASSERT_BYTES(1, "other", 4095, "\0bbbb", 8192);
    ASSERT_BYTES(1, "other", 4999, "bcb", 8192);
    decide("ext4", 1);
    ASSERT_BYTES(1, "other", 0, "aaaa\0", 8192);
    ASSERT_BYTES(1, "other", 8191, "b", 8192);
    /* the flag off: a kernel that keeps the pages dirty saves both */
    struct pl_model m = model("drop", 512);
    m.eio_pages_clean = 0;
    decide_model(&m, L.n);
    ASSERT_BYTES(1, "other", 0, "bbbb", 8192);
    ASSERT_BYTES(1, "other", 4999, "bcb", 8192);
    /* a write into page 0 before the failed sync began carries nothing back */
    done();
    pl_list_free(&L);
    pl_list_init(&L);
    base_db();
    wr(3, 0, "bbbb");
    wr(3, 8, "x");
    sync_rc(3, PL_SYNC_FSYNC, EIO);
    sync_(3, PL_SYNC_FSYNC);
    decide("process", 1);
    ASSERT_CONTENT(1, "other", "aaaa");
    done();
}
END_TEST

START_TEST(a_page_dirtied_again_and_dropped_again_needs_a_third_write)
{
    base_db();
    wr(3, 0, "bbbb");
    sync_rc(3, PL_SYNC_FSYNC, EIO);
    wr(3, 8, "c");
    sync_rc(3, PL_SYNC_FDATASYNC, EIO);   /* the page, b's and c, marked clean again */
    size_t second = sync_(3, PL_SYNC_FSYNC);
    wr(3, 12, "d");
    sync_(3, PL_SYNC_FSYNC);
    decide_cut("process", 512, second + 1, 1);
    ASSERT_CONTENT(1, "other", "aaaa");
    decide("drop", 1);
    ASSERT_BYTES(1, "other", 0, "bbbb\0\0\0\0c\0\0\0d", 13);
    done();
}
END_TEST

START_TEST(a_failed_fsync_loses_only_its_own_file_and_only_from_its_end)
{
    base_db();
    wr(2, 0, "new");
    wr(3, 0, "bbbb");
    size_t b = add((struct pl_op){.kind = PL_SYNC_BEGIN, .file = 3});
    wr(3, 4096, "dd");   /* after the begin (and in another page): not what the failed sync was writing */
    size_t end = add((struct pl_op){.kind = PL_SYNC_END, .file = 3, .off = b, .rc = EIO});
    sync_(3, PL_SYNC_FSYNC);
    sync_(2, PL_SYNC_FSYNC);
    decide("drop", 1);
    ASSERT_BYTES(1, "other", 0, "aaaa", 4098);
    ASSERT_BYTES(1, "other", 4096, "dd", 4098);
    ASSERT_CONTENT(1, "db", "new");
    /* a cut before the failure: the write was only unsynced, the process model keeps it */
    struct pl_model m = model("process", 512);
    decide_model(&m, end);
    ASSERT_BYTES(1, "other", 0, "bbbb", 4098);
    /* after it, the lost write is no candidate, and a keep set naming it is refused */
    const struct pl_piece *cand;
    size_t n;
    ck_assert_int_eq(pl_unsynced(E, &m, end + 1, &cand, &n, err, sizeof err), 0);
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_ne(cand[i].op, 5);   /* wr(3, "bbbb") */
    struct pl_piece k = {5, PL_PART_ALL, 0, 4};
    ck_assert_int_eq(pl_keep(E, &m, end + 1, &k, 1, &S, err, sizeof err), -EINVAL);
    done();
}
END_TEST

START_TEST(a_failed_sync_of_everything_or_of_a_directory_loses_no_file_data)
{
    base_db();
    wr(3, 0, "bbbb");
    sync_rc(0, PL_SYNC_ALL, EIO);
    sync_rc(1, PL_SYNC_FSYNC, EIO);
    sync_(3, PL_SYNC_FSYNC);
    decide("drop", 1);
    ASSERT_CONTENT(1, "other", "bbbb");   /* which file failed is not known */
    done();
}
END_TEST

START_TEST(a_sync_covers_only_what_was_written_before_it_began)
{
    base_db();
    size_t b = add((struct pl_op){.kind = PL_SYNC_BEGIN, .file = 3});
    wr(3, 0, "late");   /* written while the fsync ran */
    add((struct pl_op){.kind = PL_SYNC_END, .file = 3, .off = b});
    wr(2, 0, "NEW");
    sync_(0, PL_SYNC_ALL);
    size_t before_all = L.n - 2;
    decide_cut("drop", 512, before_all, 1);
    ASSERT_CONTENT(1, "other", "aaaa");
    ASSERT_CONTENT(1, "db", "old");
    decide("drop", 1);
    ASSERT_CONTENT(1, "other", "late");
    ASSERT_CONTENT(1, "db", "NEW");
    done();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("powerloss_failed_sync");
    TCase *tc = tcase_create("powerloss");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, a_failed_fsync_then_a_successful_one_loses_the_first_writes);
    tcase_add_test(tc, data_written_again_after_a_failed_fsync_is_kept);
    tcase_add_test(tc, a_one_byte_write_into_a_dropped_page_carries_the_whole_page_back);
    tcase_add_test(tc, a_write_into_another_page_does_not_save_a_dropped_page);
    tcase_add_test(tc, a_page_dirtied_again_and_dropped_again_needs_a_third_write);
    tcase_add_test(tc, a_failed_fsync_loses_only_its_own_file_and_only_from_its_end);
    tcase_add_test(tc, a_failed_sync_of_everything_or_of_a_directory_loses_no_file_data);
    tcase_add_test(tc, a_sync_covers_only_what_was_written_before_it_began);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
