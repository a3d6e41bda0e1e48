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

static struct pl_list L;
static uint64_t clock_ns;
static char err[512];
static struct pl_engine *E;
static struct pl_state S;

static void setup(void)
{
    pl_list_init(&L);
    clock_ns = 0;
}

static void teardown(void)
{
    pl_state_free(&S);
    pl_engine_free(E);
    E = NULL;
    pl_list_free(&L);
}

static size_t add(struct pl_op o)
{
    o.ns = clock_ns += 1000;
    ck_assert_msg(pl_list_add(&L, &o, err, sizeof err) == 0, "%s", err);
    return L.n - 1;
}

static void wr(uint32_t f, uint64_t off, const char *s)
{
    add((struct pl_op){.kind = PL_WRITE, .file = f, .off = off, .len = strlen(s), .data = (const void *)s});
}
static void create(uint32_t f, uint32_t dir, const char *name)
{
    add((struct pl_op){.kind = PL_CREATE, .file = f, .dir = dir, .name = name});
}
static void rename_(const char *a, const char *b)
{
    add((struct pl_op){.kind = PL_RENAME, .dir = 1, .name = a, .dir2 = 1, .name2 = b});
}
static void setsize(uint32_t f, uint64_t size)
{
    add((struct pl_op){.kind = PL_SETSIZE, .file = f, .off = size});
}
static void sync_(uint32_t f, unsigned kind)
{
    size_t b = add((struct pl_op){.kind = PL_SYNC_BEGIN, .file = f, .flags = (uint8_t)kind});
    add((struct pl_op){.kind = PL_SYNC_END, .file = f, .off = b});
}

/* Decides the state a cut after ops[0 .. cut) leaves under the preset. */
static void decide_cut(const char *name, size_t cut)
{
    if (!E)
        ck_assert_msg(pl_engine_new(&L, &E, err, sizeof err) == 0, "%s", err);
    struct pl_model m;
    ck_assert_msg(pl_model_parse(name, &m, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(pl_decide(E, &m, cut, clock_ns + 1, 1, &S, err, sizeof err) == 0, "%s", err);
}
static void decide(const char *name) { decide_cut(name, L.n); }

/* The list grew: the next decide builds a new engine. */
static void again(void)
{
    pl_engine_free(E);
    E = NULL;
}

/* The bytes under /name in the decided state, NULL when absent. */
static const char *content(const char *name)
{
    static char buf[256];
    uint32_t f = pl_map_get(E, 1, name, pl_name_hash(1, name));
    if (!f)
        return NULL;
    const unsigned char *d;
    size_t n;
    ck_assert_msg(pl_state_content(E, &S, f, &d, &n, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_lt(n, sizeof buf);
    memcpy(buf, d, n);
    buf[n] = '\0';
    return buf;
}

#define ASSERT_CONTENT(model, name, want)                                                       \
    do {                                                                                        \
        const char *got_ = content(name), *want_ = (want);                                      \
        if (!want_)                                                                             \
            ck_assert_msg(!got_, "%s: %s present (\"%s\"), want absent", model, name, got_);    \
        else                                                                                    \
            ck_assert_msg(got_ && strcmp(got_, want_) == 0, "%s: %s is \"%s\", want \"%s\"",    \
                          model, name, got_ ? got_ : "(absent)", want_);                        \
    } while (0)

/* The snapshot: /db holding "old", /other holding "aaaa". */
static void base_db(void)
{
    create(2, 1, "db");
    wr(2, 0, "old");
    create(3, 1, "other");
    wr(3, 0, "aaaa");
    pl_list_mark_base(&L);
}

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
    rename_("db.tmp", "db");
    size_t before_sync = L.n;
    wr(5, 1, "b");
    sync_(5, PL_SYNC_FSYNC);
    for (size_t k = 0; k < 2; k++) {
        decide(journals[k]);   /* the log carries the rename, not db.tmp's data */
        ASSERT_CONTENT(journals[k], "db", "");
        ASSERT_CONTENT(journals[k], "db.tmp", NULL);
        ASSERT_CONTENT(journals[k], "g", "Gb");
        decide_cut(journals[k], before_sync);   /* nothing committed yet */
        ASSERT_CONTENT(journals[k], "db", "old");
    }
    decide("ext4");   /* auto_da_alloc: the commit carries the data */
    ASSERT_CONTENT("ext4", "db", "new");
    decide("drop");   /* POSIX: no directory sync, so no rename */
    ASSERT_CONTENT("drop", "db", "old");
}
END_TEST

START_TEST(a_rename_over_a_file_then_a_directory_fsync_leaves_it_empty_on_xfs_and_btrfs)
{
    base_db();
    create(4, 1, "db.tmp");
    wr(4, 0, "new");
    rename_("db.tmp", "db");
    sync_(1, PL_SYNC_FSYNC);
    for (size_t k = 0; k < 2; k++) {
        decide(journals[k]);
        ASSERT_CONTENT(journals[k], "db", "");
    }
    decide("drop");
    ASSERT_CONTENT("drop", "db", "");
    decide("ext4");
    ASSERT_CONTENT("ext4", "db", "new");
}
END_TEST

START_TEST(a_rename_over_a_file_whose_data_was_synced_first_keeps_the_new_data_everywhere)
{
    base_db();
    new_g();
    create(4, 1, "db.tmp");
    wr(4, 0, "new");
    sync_(4, PL_SYNC_FSYNC);
    rename_("db.tmp", "db");
    wr(5, 1, "b");
    sync_(5, PL_SYNC_FSYNC);
    static const char *const all[] = {"xfs", "btrfs", "ext4"};
    for (size_t k = 0; k < 3; k++) {
        decide(all[k]);
        ASSERT_CONTENT(all[k], "db", "new");
    }
    decide("drop");   /* the directory was never synced */
    ASSERT_CONTENT("drop", "db", "old");
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
    decide("xfs");
    ASSERT_CONTENT("xfs", "db", "");
    decide("btrfs");
    ASSERT_CONTENT("btrfs", "db", "old");
    again();
    sync_(2, PL_SYNC_FSYNC);   /* its own fsync: durable everywhere */
    decide("btrfs");
    ASSERT_CONTENT("btrfs", "db", "");
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
        decide(journals[k]);
        ASSERT_CONTENT(journals[k], "log", "");
    }
    decide("drop");
    ASSERT_CONTENT("drop", "log", NULL);
}
END_TEST

START_TEST(an_fdatasync_of_a_pure_overwrite_commits_no_name_on_xfs_and_btrfs)
{
    base_db();
    create(4, 1, "h");
    wr(3, 0, "bbbb");   /* same size: no metadata for the fdatasync to log */
    sync_(3, PL_SYNC_FDATASYNC);
    for (size_t k = 0; k < 2; k++) {
        decide(journals[k]);
        ASSERT_CONTENT(journals[k], "other", "bbbb");
        ASSERT_CONTENT(journals[k], "h", NULL);
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
    rename_("db.tmp", "db");
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
    decide("xfs+process");
    ASSERT_CONTENT("xfs+process", "db", "new");
}
END_TEST

/* Measured (seeds 2026120733, 2026120734): with g older than the running
 * transaction, Btrfs's fsync of g logged g alone and old kept its old
 * data; XFS's log force carried the rename all the same. */
static void rename_then_fsync_g(void)
{
    create(4, 1, "db.tmp");
    wr(4, 0, "new");
    rename_("db.tmp", "db");
    wr(5, 1, "b");
    sync_(5, PL_SYNC_FSYNC);
}

START_TEST(on_btrfs_an_older_files_fsync_carries_no_name)
{
    base_db();   /* other, from the snapshot, is old */
    create(4, 1, "db.tmp");
    wr(4, 0, "new");
    rename_("db.tmp", "db");
    wr(3, 4, "b");
    sync_(3, PL_SYNC_FSYNC);
    decide("btrfs");
    ASSERT_CONTENT("btrfs", "db", "old");
    ASSERT_CONTENT("btrfs", "db.tmp", NULL);
    ASSERT_CONTENT("btrfs", "other", "aaaab");   /* its own data, as always */
    decide("xfs");
    ASSERT_CONTENT("xfs", "db", "");
}
END_TEST

START_TEST(on_btrfs_a_sync_of_everything_makes_every_file_made_before_it_old)
{
    base_db();
    new_g();
    wr(5, 1, "s");
    sync_(0, PL_SYNC_ALL);   /* syncfs: Btrfs commits its transaction */
    rename_then_fsync_g();
    decide("btrfs");
    ASSERT_CONTENT("btrfs", "db", "old");
    decide("xfs");
    ASSERT_CONTENT("xfs", "db", "");
}
END_TEST

START_TEST(on_btrfs_a_file_made_more_than_a_transaction_ago_is_old)
{
    base_db();
    new_g();
    clock_ns += 31000000000ull;   /* 31 s: the 30-second commit has come */
    rename_then_fsync_g();
    decide("btrfs");
    ASSERT_CONTENT("btrfs", "db", "old");
    again();
    pl_list_free(&L);
    pl_list_init(&L);
    clock_ns = 0;
    base_db();
    new_g();
    clock_ns += 29000000000ull;   /* 29 s: still the same transaction */
    rename_then_fsync_g();
    decide("btrfs");
    ASSERT_CONTENT("btrfs", "db", "");
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
    tcase_add_checked_fixture(tc, setup, teardown);
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
