/* Unit tests for powerloss/'s file system presets, xfs and btrfs, beside
 * ext4 and drop: hand-made operation lists of what a small program did,
 * each test stating what a power cut leaves under each preset.  The rules
 * are the ones the real kernels showed in the guest (docs/ground-truth.md,
 * "XFS and Btrfs presets"); every test fails if xfs or btrfs behaved as
 * ext4 or as drop where the kernels did not. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "powerloss/internal.h"
#include "tests/powerloss_lists.h"

/* The lists' teardown, and the engine and state this file's tests leave. */
static void fs_teardown(void)
{
    done();
    teardown();
}

/* /name in the state decided under model holds want (NULL: absent). */
#define ASSERT_UNDER(model, name, want)                                                         \
    do {                                                                                        \
        const char *got_ = content(1, name), *want_ = (want);                                   \
        if (!want_)                                                                             \
            ck_assert_msg(!got_, "%s: %s present (\"%s\"), want absent", model, name, got_);    \
        else                                                                                    \
            ck_assert_msg(got_ && strcmp(got_, want_) == 0, "%s: %s is \"%s\", want \"%s\"",    \
                          model, name, got_ ? got_ : "(absent)", want_);                        \
    } while (0)

static const char *const journals[] = {"xfs", "btrfs"};

/* g: made by the program (as tests/rec_ext4.c's setup does), fsync'd with
 * its directory: under btrfs a file new in the running transaction. */
static void new_g(void)
{
    create(5, 1, "g");
    wr(5, 0, "G");
    sync_(5, PL_SYNC_FSYNC);
    sync_(1, PL_SYNC_FSYNC);
}

/* The measured case (tests/rec_ext4.c run): new written, renamed over db
 * without a sync of its data, then another file's fsync. */
START_TEST(a_rename_over_a_file_committed_by_another_fsync_leaves_it_empty_on_xfs_and_btrfs)
{
    base_db();
    new_g();
    create(4, 1, "db.tmp");
    wr(4, 0, "new");
    rename_(1, "db.tmp", 1, "db");
    size_t before_sync = L.n;
    wr(5, 1, "b");
    sync_(5, PL_SYNC_FSYNC);
    for (size_t k = 0; k < 2; k++) {
        decide(journals[k], 1);   /* the log carries the rename, not db.tmp's data */
        ASSERT_UNDER(journals[k], "db", "");
        ASSERT_UNDER(journals[k], "db.tmp", NULL);
        ASSERT_UNDER(journals[k], "g", "Gb");
        decide_cut(journals[k], 512, before_sync, 1);   /* nothing committed yet */
        ASSERT_UNDER(journals[k], "db", "old");
    }
    decide("ext4", 1);   /* auto_da_alloc: the commit carries the data */
    ASSERT_UNDER("ext4", "db", "new");
    decide("drop", 1);   /* POSIX: no directory sync, so no rename */
    ASSERT_UNDER("drop", "db", "old");
}
END_TEST

START_TEST(a_rename_over_a_file_then_a_directory_fsync_leaves_it_empty_on_xfs_and_btrfs)
{
    base_db();
    create(4, 1, "db.tmp");
    wr(4, 0, "new");
    rename_(1, "db.tmp", 1, "db");
    sync_(1, PL_SYNC_FSYNC);
    for (size_t k = 0; k < 2; k++) {
        decide(journals[k], 1);
        ASSERT_UNDER(journals[k], "db", "");
    }
    decide("drop", 1);
    ASSERT_UNDER("drop", "db", "");
    decide("ext4", 1);
    ASSERT_UNDER("ext4", "db", "new");
}
END_TEST

START_TEST(a_rename_over_a_file_whose_data_was_synced_first_keeps_the_new_data_everywhere)
{
    base_db();
    new_g();
    create(4, 1, "db.tmp");
    wr(4, 0, "new");
    sync_(4, PL_SYNC_FSYNC);
    rename_(1, "db.tmp", 1, "db");
    wr(5, 1, "b");
    sync_(5, PL_SYNC_FSYNC);
    static const char *const all[] = {"xfs", "btrfs", "ext4"};
    for (size_t k = 0; k < 3; k++) {
        decide(all[k], 1);
        ASSERT_UNDER(all[k], "db", "new");
    }
    decide("drop", 1);   /* the directory was never synced */
    ASSERT_UNDER("drop", "db", "old");
}
END_TEST

/* XFS logged f's truncation with g's fsync; Btrfs did not (seed 2026120724):
 * its log carries names, and an inode's size with that inode's own fsync. */
START_TEST(a_truncation_is_committed_by_another_fsync_on_xfs_but_not_on_btrfs)
{
    base_db();
    new_g();
    setsize(2, 0);
    wr(5, 1, "b");
    sync_(5, PL_SYNC_FSYNC);
    decide("xfs", 1);
    ASSERT_UNDER("xfs", "db", "");
    decide("btrfs", 1);
    ASSERT_UNDER("btrfs", "db", "old");
    done();
    sync_(2, PL_SYNC_FSYNC);   /* its own fsync: durable everywhere */
    decide("btrfs", 1);
    ASSERT_UNDER("btrfs", "db", "");
}
END_TEST

/* XFS updates a file's on-disk size when its data's I/O completes: a
 * created file whose data was never synced comes out empty, its name
 * committed by another file's fsync. */
START_TEST(a_created_file_committed_by_another_fsync_is_empty_on_xfs_and_btrfs)
{
    base_db();
    new_g();
    create(4, 1, "log");
    wr(4, 0, "abc");
    wr(5, 1, "b");
    sync_(5, PL_SYNC_FSYNC);
    for (size_t k = 0; k < 2; k++) {
        decide(journals[k], 1);
        ASSERT_UNDER(journals[k], "log", "");
    }
    decide("drop", 1);
    ASSERT_UNDER("drop", "log", NULL);
}
END_TEST

START_TEST(an_fdatasync_of_a_pure_overwrite_commits_no_name_on_xfs_and_btrfs)
{
    base_db();
    create(4, 1, "h");
    wr(3, 0, "bbbb");   /* same size: no metadata for the fdatasync to log */
    sync_(3, PL_SYNC_FDATASYNC);
    for (size_t k = 0; k < 2; k++) {
        decide(journals[k], 1);
        ASSERT_UNDER(journals[k], "other", "bbbb");
        ASSERT_UNDER(journals[k], "h", NULL);
    }
}
END_TEST

/* The unsynced data stays a candidate, so exploration and the tails can
 * still reach the state where the flusher had written it. */
START_TEST(the_unsynced_data_of_a_renamed_file_is_a_candidate_under_xfs)
{
    base_db();
    create(4, 1, "db.tmp");
    wr(4, 0, "new");
    rename_(1, "db.tmp", 1, "db");
    wr(3, 4, "b");
    sync_(3, PL_SYNC_FSYNC);   /* xfs: any file's fsync forces the whole log */
    ck_assert_msg(pl_engine_new(&L, &E, err, sizeof err) == 0, "%s", err);
    struct pl_model m;
    ck_assert_int_eq(pl_model_parse("xfs", &m, err, sizeof err), 0);
    const struct pl_piece *c;
    size_t n;
    ck_assert_msg(pl_unsynced(E, &m, L.n, &c, &n, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(L.ops[c[0].op].kind, PL_WRITE);
    ck_assert_uint_eq(L.ops[c[0].op].file, 4);
    decide("xfs+process", 1);
    ASSERT_UNDER("xfs+process", "db", "new");
}
END_TEST

/* Measured (seeds 2026120733, 2026120734): with g older than the running
 * transaction, Btrfs's fsync of g logged g alone and old kept its old
 * data; XFS's log force carried the rename all the same. */
static void rename_then_fsync_g(void)
{
    create(4, 1, "db.tmp");
    wr(4, 0, "new");
    rename_(1, "db.tmp", 1, "db");
    wr(5, 1, "b");
    sync_(5, PL_SYNC_FSYNC);
}

START_TEST(on_btrfs_an_older_files_fsync_carries_no_name)
{
    base_db();   /* other, from the snapshot, is old */
    create(4, 1, "db.tmp");
    wr(4, 0, "new");
    rename_(1, "db.tmp", 1, "db");
    wr(3, 4, "b");
    sync_(3, PL_SYNC_FSYNC);
    decide("btrfs", 1);
    ASSERT_UNDER("btrfs", "db", "old");
    ASSERT_UNDER("btrfs", "db.tmp", NULL);
    ASSERT_UNDER("btrfs", "other", "aaaab");   /* its own data, as always */
    decide("xfs", 1);
    ASSERT_UNDER("xfs", "db", "");
}
END_TEST

START_TEST(on_btrfs_a_sync_of_everything_makes_every_file_made_before_it_old)
{
    base_db();
    new_g();
    wr(5, 1, "s");
    sync_(0, PL_SYNC_ALL);   /* syncfs: Btrfs commits its transaction */
    rename_then_fsync_g();
    decide("btrfs", 1);
    ASSERT_UNDER("btrfs", "db", "old");
    decide("xfs", 1);
    ASSERT_UNDER("xfs", "db", "");
}
END_TEST

START_TEST(on_btrfs_a_file_made_more_than_a_transaction_ago_is_old)
{
    base_db();
    new_g();
    clock_ns += 31000000000ull;   /* 31 s: the 30-second commit has come */
    rename_then_fsync_g();
    decide("btrfs", 1);
    ASSERT_UNDER("btrfs", "db", "old");
    done();
    pl_list_free(&L);
    pl_list_init(&L);
    clock_ns = 0;
    base_db();
    new_g();
    clock_ns += 29000000000ull;   /* 29 s: still the same transaction */
    rename_then_fsync_g();
    decide("btrfs", 1);
    ASSERT_UNDER("btrfs", "db", "");
}
END_TEST

START_TEST(xfs_and_btrfs_parse_alone_and_with_a_tail_but_not_with_another_base)
{
    struct pl_model m;
    ck_assert_int_eq(pl_model_parse("xfs", &m, err, sizeof err), 0);
    ck_assert(m.base == PL_BASE_XFS && m.tail == PL_TAIL_NONE && m.lie == 0);
    ck_assert_str_eq(pl_model_name(&m), "xfs");
    ck_assert_int_eq(pl_model_parse("btrfs", &m, err, sizeof err), 0);
    ck_assert(m.base == PL_BASE_BTRFS);
    ck_assert_int_eq(pl_model_parse("btrfs+torn", &m, err, sizeof err), 0);
    ck_assert(m.base == PL_BASE_BTRFS && m.tail == PL_TAIL_TORN);
    ck_assert_str_eq(pl_model_name(&m), "btrfs+torn");
    ck_assert_int_eq(pl_model_parse("ext4+xfs", &m, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "two base rules"));
    ck_assert_int_eq(pl_model_parse("zfs", &m, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "lie, xfs, btrfs"));
    ck_assert_ptr_nonnull(strstr(PL_MODELS, "xfs"));
    ck_assert_ptr_nonnull(strstr(PL_MODELS, "btrfs"));
    m.base = PL_BASE_MAX;   /* flags no preset has are refused, not read out of bounds */
    base_db();
    ck_assert_msg(pl_engine_new(&L, &E, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(pl_decide(E, &m, L.n, 0, 1, &S, err, sizeof err), -EINVAL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("powerloss_fs");
    TCase *tc = tcase_create("powerloss_fs");
    tcase_add_checked_fixture(tc, setup, fs_teardown);
    tcase_add_test(tc, a_rename_over_a_file_committed_by_another_fsync_leaves_it_empty_on_xfs_and_btrfs);
    tcase_add_test(tc, a_rename_over_a_file_then_a_directory_fsync_leaves_it_empty_on_xfs_and_btrfs);
    tcase_add_test(tc, a_rename_over_a_file_whose_data_was_synced_first_keeps_the_new_data_everywhere);
    tcase_add_test(tc, a_truncation_is_committed_by_another_fsync_on_xfs_but_not_on_btrfs);
    tcase_add_test(tc, a_created_file_committed_by_another_fsync_is_empty_on_xfs_and_btrfs);
    tcase_add_test(tc, an_fdatasync_of_a_pure_overwrite_commits_no_name_on_xfs_and_btrfs);
    tcase_add_test(tc, the_unsynced_data_of_a_renamed_file_is_a_candidate_under_xfs);
    tcase_add_test(tc, on_btrfs_an_older_files_fsync_carries_no_name);
    tcase_add_test(tc, on_btrfs_a_sync_of_everything_makes_every_file_made_before_it_old);
    tcase_add_test(tc, on_btrfs_a_file_made_more_than_a_transaction_ago_is_old);
    tcase_add_test(tc, xfs_and_btrfs_parse_alone_and_with_a_tail_but_not_with_another_base);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
