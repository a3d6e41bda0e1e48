/* Unit tests for powerloss/: hand-made operation lists under every preset.
 * Each list is what a small program did; each test states what a power cut
 * may and may not leave, and would fail if the engine kept too much or too
 * little.  Here: the base rules, names and bad input, and what the
 * recorder's journal adds; a failed sync is in test_powerloss_failed_sync.c,
 * the unsynced tail and the state's hash in test_powerloss_states.c. */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "powerloss/internal.h"
#include "tests/powerloss_lists.h"
#include "tests/support.h"

/* ---- the base rules ----------------------------------------------------------------- */

START_TEST(rename_over_an_existing_file_under_every_rule)
{
    base_db();
    create(4, 1, "db.tmp");
    wr(4, 0, "new");
    rename_(1, "db.tmp", 1, "db");
    size_t cut_rename = L.n;
    wr(3, 0, "bbbbb");
    sync_(3, PL_SYNC_FSYNC);   /* a commit under ext4, nothing for /db under drop */

    decide("drop", 1);
    ASSERT_CONTENT(1, "db", "old");
    ASSERT_CONTENT(1, "db.tmp", NULL);
    decide("ext4", 1);   /* the commit carries the rename and, by auto_da_alloc, its data */
    ASSERT_CONTENT(1, "db", "new");
    ASSERT_CONTENT(1, "db.tmp", NULL);
    decide_cut("ext4", 512, cut_rename, 1);   /* no commit yet */
    ASSERT_CONTENT(1, "db", "old");
    decide("process", 1);
    ASSERT_CONTENT(1, "db", "new");
    ASSERT_CONTENT(1, "other", "bbbbb");
    done();

    /* The careful program: data synced, then the directory. */
    sync_(4, PL_SYNC_FSYNC);
    sync_(1, PL_SYNC_FSYNC);
    const char *all[] = {"drop", "ext4", "torn", "reorder", "writeback", "process"};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        decide(all[i], 7);
        ASSERT_CONTENT(1, "db", "new");
        ASSERT_CONTENT(1, "db.tmp", NULL);
    }
    done();
}
END_TEST

START_TEST(a_created_file_whose_directory_was_never_synced)
{
    pl_list_mark_base(&L);
    mkdir_(2, 1, "d");
    sync_(1, PL_SYNC_FSYNC);   /* d itself is durable */
    create(3, 2, "f");
    wr(3, 0, "data");
    sync_(3, PL_SYNC_FSYNC);
    decide("drop", 1);
    ck_assert_uint_eq(lookup(1, "d"), 2);
    ASSERT_CONTENT(2, "f", NULL);   /* POSIX: the entry needs an fsync of d */
    decide("ext4", 1);              /* ext4: the fsync's commit carries the create */
    ASSERT_CONTENT(2, "f", "data");
    done();
    sync_(2, PL_SYNC_FSYNC);
    decide("drop", 1);
    ASSERT_CONTENT(2, "f", "data");
    done();
}
END_TEST

START_TEST(truncate_is_ext4_metadata_committed_by_another_files_fsync)
{
    base_db();
    setsize(2, 0);              /* ftruncate(db, 0) */
    wr(3, 0, "bbbb");
    sync_(3, PL_SYNC_FSYNC);    /* fsync(other) */
    decide("ext4", 1);
    ASSERT_CONTENT(1, "db", "");
    decide("drop", 1);          /* POSIX: only db's own sync would */
    ASSERT_CONTENT(1, "db", "old");
    done();
}
END_TEST

START_TEST(ext4_fdatasync_of_a_pure_overwrite_commits_nothing)
{
    base_db();
    create(4, 1, "new");
    wr(3, 0, "bbbb");                  /* same size: a pure overwrite */
    sync_(3, PL_SYNC_FDATASYNC);
    decide("ext4", 1);
    ASSERT_CONTENT(1, "other", "bbbb");
    ASSERT_CONTENT(1, "new", NULL);
    done();
    wr(3, 4, "cc");                    /* extends: its size must be committed */
    sync_(3, PL_SYNC_FDATASYNC);
    decide("ext4", 1);
    ASSERT_CONTENT(1, "other", "bbbbcc");
    ASSERT_CONTENT(1, "new", "");
    done();
}
END_TEST

START_TEST(a_hard_link_is_one_file_with_two_names)
{
    pl_list_mark_base(&L);
    create(2, 1, "a");
    wr(2, 0, "shared");
    link_(2, 1, "b");
    sync_(2, PL_SYNC_FSYNC);
    sync_(1, PL_SYNC_FSYNC);
    uint64_t linked = decide("drop", 1);
    ASSERT_CONTENT(1, "a", "shared");
    ASSERT_CONTENT(1, "b", "shared");
    ck_assert_uint_eq(S.files, 1);
    char dir[PATH_MAX], pa[PATH_MAX + 8], pb[PATH_MAX + 8];
    snprintf(dir, sizeof dir, "%s/test-powerloss-link-%ld", support_scratch_dir(), (long)getpid());
    ck_assert_msg(pl_state_write(E, &S, dir, err, sizeof err) == 0, "%s", err);
    snprintf(pa, sizeof pa, "%s/a", dir);
    snprintf(pb, sizeof pb, "%s/b", dir);
    struct stat sa, sb;
    ck_assert_int_eq(stat(pa, &sa), 0);
    ck_assert_int_eq(stat(pb, &sb), 0);
    ck_assert_uint_eq(sa.st_ino, sb.st_ino);
    ck_assert_uint_eq(sa.st_nlink, 2);
    ck_assert_int_eq(sa.st_size, 6);
    ck_assert_int_eq(unlink(pa), 0);
    ck_assert_int_eq(unlink(pb), 0);
    ck_assert_int_eq(rmdir(dir), 0);
    done();

    /* Two files with the same bytes are not a link: another hash. */
    pl_list_free(&L);
    setup();
    pl_list_mark_base(&L);
    create(2, 1, "a");
    wr(2, 0, "shared");
    create(3, 1, "b");
    wr(3, 0, "shared");
    sync_(0, PL_SYNC_ALL);
    ck_assert_uint_ne(decide("drop", 1), linked);
    ck_assert_uint_eq(S.files, 2);
    done();
}
END_TEST

START_TEST(an_o_dsync_write_is_durable_when_it_returns)
{
    base_db();
    size_t w = wr_at(3, 0, "zz", 2, PL_O_DSYNC);
    wr(3, 2, "yy");   /* plain: not durable */
    decide("drop", 1);
    ASSERT_CONTENT(1, "other", "zzaa");
    decide_cut("drop", 512, w, 1);   /* cut before it returned */
    ASSERT_CONTENT(1, "other", "aaaa");
    done();
}
END_TEST

START_TEST(an_unlink_needs_its_directory_synced_under_drop)
{
    base_db();
    unlink_(1, "other");
    wr(2, 0, "OLD");
    sync_(2, PL_SYNC_FSYNC);
    decide("drop", 1);
    ASSERT_CONTENT(1, "other", "aaaa");
    ASSERT_CONTENT(1, "db", "OLD");
    decide("ext4", 1);
    ASSERT_CONTENT(1, "other", NULL);
    done();
    sync_(1, PL_SYNC_FSYNC);
    decide("drop", 1);
    ASSERT_CONTENT(1, "other", NULL);
    done();
}
END_TEST

START_TEST(an_o_sync_write_commits_ext4_metadata_and_msync_is_a_data_sync)
{
    base_db();
    create(4, 1, "new");
    wr(2, 0, "OLD");
    add((struct pl_op){.kind = PL_SYNC_BEGIN, .file = 2, .flags = PL_SYNC_MSYNC});
    add((struct pl_op){.kind = PL_SYNC_END, .file = 2, .off = L.n - 1});
    decide("drop", 1);
    ASSERT_CONTENT(1, "db", "OLD");
    decide("ext4", 1);   /* a pure overwrite: no commit */
    ASSERT_CONTENT(1, "new", NULL);
    done();
    wr_at(3, 0, "s", 1, PL_O_SYNC);   /* O_SYNC: the inode too, so ext4 commits */
    decide("ext4", 1);
    ASSERT_CONTENT(1, "new", "");
    ASSERT_CONTENT(1, "other", "saaa");
    decide("drop", 1);
    ASSERT_CONTENT(1, "new", NULL);
    ASSERT_CONTENT(1, "other", "saaa");
    done();
}
END_TEST

START_TEST(a_symbolic_link_is_written_as_one)
{
    pl_list_mark_base(&L);
    add((struct pl_op){.kind = PL_SYMLINK, .file = 2, .dir = 1, .name = "current", .len = 6,
                       .data = (const unsigned char *)"db.001"});
    sync_(1, PL_SYNC_FSYNC);
    decide("drop", 1);
    char dir[PATH_MAX], p[PATH_MAX + 16], target[32] = {0};
    snprintf(dir, sizeof dir, "%s/test-powerloss-symlink-%ld", support_scratch_dir(), (long)getpid());
    ck_assert_msg(pl_state_write(E, &S, dir, err, sizeof err) == 0, "%s", err);
    snprintf(p, sizeof p, "%s/current", dir);
    ck_assert_int_eq(readlink(p, target, sizeof target - 1), 6);
    ck_assert_str_eq(target, "db.001");
    ck_assert_int_eq(unlink(p), 0);
    support_rmdir_empty(dir);
    done();
}
END_TEST

START_TEST(a_failed_sync_promises_nothing)
{
    base_db();
    wr(3, 0, "bbbb");
    sync_rc(3, PL_SYNC_FSYNC, EIO);
    decide("drop", 1);
    ASSERT_CONTENT(1, "other", "aaaa");
    decide("ext4", 1);
    ASSERT_CONTENT(1, "other", "aaaa");
    done();
}
END_TEST

/* ---- names and bad input ------------------------------------------------------------------- */

START_TEST(model_names_and_flags_parse_in_one_place)
{
    struct pl_model m;
    const char *names[] = {"drop", "ext4", "torn", "reorder", "writeback", "process", "lie"};
    for (int i = 0; i < 7; i++) {
        ck_assert_int_eq(pl_model_parse(names[i], &m, err, sizeof err), 0);
        ck_assert_str_eq(pl_model_name(&m), names[i]);
        ck_assert_uint_eq(m.sector, 512);
    }
    ck_assert_int_eq(pl_model_parse("ext4", &m, err, sizeof err), 0);
    ck_assert_int_eq(m.base, PL_BASE_EXT4);
    ck_assert_int_eq(pl_model_parse("fast", &m, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, PL_MODELS));
    ck_assert_int_eq(pl_model_parse("ext4+torn", &m, err, sizeof err), 0);
    ck_assert(m.base == PL_BASE_EXT4 && m.tail == PL_TAIL_TORN);
    ck_assert_int_eq(pl_model_parse("torn+reorder", &m, err, sizeof err), -EINVAL);
    ck_assert_int_eq(pl_model_parse("lie+torn", &m, err, sizeof err), -EINVAL);
    ck_assert_int_eq(pl_model_set_sector(&m, "4096", err, sizeof err), 0);
    ck_assert_uint_eq(m.sector, 4096);
    ck_assert_int_eq(pl_model_set_sector(&m, "1000", err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "512 or 4096"));
}
END_TEST

START_TEST(impossible_operations_are_refused_with_the_reason)
{
    struct pl_op o = {.kind = PL_SYNC_END, .file = 2, .off = 0};
    ck_assert_int_eq(pl_list_add(&L, &o, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "sync begin"));
    o = (struct pl_op){.kind = PL_CREATE, .file = 2, .dir = 1, .name = "a/b"};
    ck_assert_int_eq(pl_list_add(&L, &o, err, sizeof err), -EINVAL);
    o = (struct pl_op){.kind = 99};
    ck_assert_int_eq(pl_list_add(&L, &o, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "unknown kind"));
    create(2, 1, "a");
    create(2, 1, "b");   /* the same id made twice */
    ck_assert_int_eq(pl_engine_new(&L, &E, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "created twice"));
    ck_assert_ptr_null(E);
}
END_TEST

/* ---- what the recorder's journal adds: chmod, fallocate, exchange, mappings ------------ */
static size_t op_(unsigned kind, uint32_t f, uint64_t off, uint64_t len, unsigned flags)
{
    return add((struct pl_op){.kind = (uint8_t)kind, .file = f, .off = off, .len = len, .flags = (uint8_t)flags});
}

START_TEST(chmod_is_durable_with_its_file_and_changes_the_hash)
{
    base_db();
    uint64_t before = decide("drop", 1);
    done();
    op_(PL_CHMOD, 2, 0600, 0, 0);
    ck_assert_uint_eq(decide("drop", 1), before);   /* not synced */
    done();
    sync_(2, PL_SYNC_FSYNC);
    ck_assert_uint_ne(decide("drop", 1), before);
    ck_assert_uint_eq(E->bufs[2].mode, 0600);
    done();
}
END_TEST

START_TEST(fallocate_modes_zero_collapse_insert_and_keep_size)
{
    pl_list_mark_base(&L);
    create(2, 1, "f");
    wr(2, 0, "AAAABBBBCCCCDDDD");
    op_(PL_FALLOCATE, 2, 2, 4, PL_FA_ZERO);
    op_(PL_FALLOCATE, 2, 8, 4, PL_FA_COLLAPSE);
    op_(PL_FALLOCATE, 2, 0, 2, PL_FA_INSERT);
    op_(PL_FALLOCATE, 2, 14, 4, PL_FA_ZERO);           /* past the end: grows */
    op_(PL_FALLOCATE, 2, 0, 100, PL_FA_KEEP_SIZE);     /* allocates, changes nothing */
    op_(PL_FALLOCATE, 2, 16, 2, PL_FA_PUNCH | PL_FA_KEEP_SIZE);
    sync_(0, PL_SYNC_ALL);
    decide("drop", 1);
    const unsigned char *d;
    size_t n;
    ck_assert_int_eq(pl_state_content(E, &S, 2, &d, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 18);
    ck_assert_int_eq(memcmp(d, "\0\0AA\0\0\0\0BBDDDD\0\0\0\0", 18), 0);
    done();
}
END_TEST

START_TEST(rename_exchange_swaps_each_name_with_its_directory)
{
    base_db();
    mkdir_(4, 1, "d");
    sync_(1, PL_SYNC_FSYNC);
    create(5, 4, "x");
    wr(5, 0, "xx");
    sync_(5, PL_SYNC_FSYNC);
    sync_(4, PL_SYNC_FSYNC);
    add((struct pl_op){.kind = PL_RENAME, .dir = 1, .name = "db", .dir2 = 4, .name2 = "x",
                       .flags = PL_RENAME_EXCHANGE});
    decide("process", 1);
    ASSERT_CONTENT(1, "db", "xx");
    ASSERT_CONTENT(4, "x", "old");
    decide("drop", 1);
    ASSERT_CONTENT(1, "db", "old");
    ASSERT_CONTENT(4, "x", "xx");
    done();
    sync_(4, PL_SYNC_FSYNC);   /* only d's half: x names the old db, and so does /db */
    decide("drop", 1);
    ASSERT_CONTENT(1, "db", "old");
    ASSERT_CONTENT(4, "x", "old");
    done();
}
END_TEST

START_TEST(a_mapped_write_never_grows_its_file)
{
    base_db();
    wr_at(3, 2, "WXYZ", 4, PL_W_MAPPED);
    sync_(3, PL_SYNC_MSYNC);
    decide("drop", 1);
    ASSERT_CONTENT(1, "other", "aaWX");
    done();
}
END_TEST

START_TEST(ext4_fsync_of_an_unchanged_file_commits_nothing)
{
    base_db();
    sync_(0, PL_SYNC_ALL);
    create(4, 1, "new");
    sync_(2, PL_SYNC_FSYNC);    /* db has not changed since the last commit */
    decide("ext4", 1);
    ASSERT_CONTENT(1, "new", NULL);
    done();
    op_(PL_CHMOD, 2, 0600, 0, 0);
    sync_(2, PL_SYNC_FSYNC);    /* now it has */
    decide("ext4", 1);
    ASSERT_CONTENT(1, "new", "");
    done();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("powerloss");
    TCase *tc = tcase_create("powerloss");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, rename_over_an_existing_file_under_every_rule);
    tcase_add_test(tc, a_created_file_whose_directory_was_never_synced);
    tcase_add_test(tc, truncate_is_ext4_metadata_committed_by_another_files_fsync);
    tcase_add_test(tc, ext4_fdatasync_of_a_pure_overwrite_commits_nothing);
    tcase_add_test(tc, a_hard_link_is_one_file_with_two_names);
    tcase_add_test(tc, an_o_dsync_write_is_durable_when_it_returns);
    tcase_add_test(tc, an_unlink_needs_its_directory_synced_under_drop);
    tcase_add_test(tc, an_o_sync_write_commits_ext4_metadata_and_msync_is_a_data_sync);
    tcase_add_test(tc, a_symbolic_link_is_written_as_one);
    tcase_add_test(tc, a_failed_sync_promises_nothing);
    tcase_add_test(tc, model_names_and_flags_parse_in_one_place);
    tcase_add_test(tc, impossible_operations_are_refused_with_the_reason);
    tcase_add_test(tc, chmod_is_durable_with_its_file_and_changes_the_hash);
    tcase_add_test(tc, fallocate_modes_zero_collapse_insert_and_keep_size);
    tcase_add_test(tc, rename_exchange_swaps_each_name_with_its_directory);
    tcase_add_test(tc, a_mapped_write_never_grows_its_file);
    tcase_add_test(tc, ext4_fsync_of_an_unchanged_file_commits_nothing);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
