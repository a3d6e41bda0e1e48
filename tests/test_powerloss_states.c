/* Unit tests for powerloss/: the unsynced tail under torn, reorder, lie and
 * writeback, the keep set, and the state's determinism and hash. */
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

/* ---- the unsynced tail ---------------------------------------------------------------- */
static unsigned char big[10000];

static void torn_at(unsigned sector, uint64_t off)
{
    pl_list_free(&L);
    setup();
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (unsigned char)('a' + i % 26);
    create(2, 1, "log");
    pl_list_mark_base(&L);
    wr_at(2, off, big, sizeof big, 0);
    int seen_partial = 0, seen_none = 0, seen_all = 0;
    for (uint64_t seed = 0; seed < 300; seed++) {
        decide_cut("torn", sector, L.n, seed);
        const unsigned char *d;
        size_t n;
        ck_assert_int_eq(pl_state_content(E, &S, 2, &d, &n, err, sizeof err), 0);
        if (n == 0) {
            seen_none = 1;
            continue;
        }
        ck_assert_uint_gt(n, off);
        uint64_t kept = n - off;
        ck_assert_msg(kept == sizeof big || n % sector == 0, "kept %llu bytes: not at a %u-byte sector",
                      (unsigned long long)kept, sector);
        ck_assert_int_eq(memcmp(d + off, big, kept), 0);   /* a prefix of the write */
        for (uint64_t i = 0; i < off; i++)
            ck_assert_uint_eq(d[i], 0);
        seen_partial |= kept < sizeof big;
        seen_all |= kept == sizeof big;
    }
    ck_assert(seen_partial && seen_none && seen_all);
    done();
}

START_TEST(torn_cuts_the_last_write_at_a_512_byte_sector) { torn_at(512, 0); torn_at(512, 100); }
END_TEST
START_TEST(torn_cuts_the_last_write_at_a_4096_byte_sector)
{
    torn_at(4096, 0);
    /* At 4096 a 10,000-byte write can only keep 0, 4096, 8192 or all. */
    pl_list_free(&L);
    setup();
    create(2, 1, "log");
    pl_list_mark_base(&L);
    wr_at(2, 0, big, sizeof big, 0);
    for (uint64_t seed = 0; seed < 100; seed++) {
        decide_cut("torn", 4096, L.n, seed);
        const unsigned char *d;
        size_t n;
        ck_assert_int_eq(pl_state_content(E, &S, 2, &d, &n, err, sizeof err), 0);
        ck_assert(n == 0 || n == 4096 || n == 8192 || n == 10000);
    }
    done();
}
END_TEST

START_TEST(reorder_keeps_a_later_write_without_an_earlier_one)
{
    create(2, 1, "log");
    pl_list_mark_base(&L);
    wr(2, 0, "A");
    wr(2, 512, "B");
    int later_only = 0;
    for (uint64_t seed = 0; seed < 64 && !later_only; seed++) {
        decide("reorder", seed);
        const unsigned char *d;
        size_t n;
        ck_assert_int_eq(pl_state_content(E, &S, 2, &d, &n, err, sizeof err), 0);
        later_only = n == 513 && d[0] == 0 && d[512] == 'B';
    }
    ck_assert(later_only);
    decide("drop", 1);
    ASSERT_CONTENT(1, "log", "");
    done();
}
END_TEST

START_TEST(lie_loses_synced_bytes_and_never_invents_any)
{
    create(2, 1, "log");
    pl_list_mark_base(&L);
    wr_at(2, 0, big, 4096, 0);
    sync_(2, PL_SYNC_FSYNC);
    wr_at(2, 4096, big, 512, 0);   /* unsynced: lie keeps none of it either */
    int lost = 0;
    for (uint64_t seed = 0; seed < 50; seed++) {
        decide("lie", seed);
        const unsigned char *d;
        size_t n;
        ck_assert_int_eq(pl_state_content(E, &S, 2, &d, &n, err, sizeof err), 0);
        ck_assert_uint_le(n, 4096);
        ck_assert_uint_eq(n % 512, 0);
        lost |= n < 4096;
    }
    ck_assert(lost);
    decide("drop", 1);
    ck_assert_uint_eq(S.bytes, 4096);
    done();
}
END_TEST

START_TEST(writeback_keeps_what_the_flusher_found_older_than_expire)
{
    create(2, 1, "old");
    create(3, 1, "young");
    sync_(0, PL_SYNC_ALL);
    pl_list_mark_base(&L);
    add((struct pl_op){.kind = PL_WRITE, .file = 2, .len = 3, .data = (const unsigned char *)"old", .ns = 1000000000ull});
    add((struct pl_op){.kind = PL_WRITE, .file = 3, .len = 5, .data = (const unsigned char *)"young", .ns = 99000000000ull});
    ck_assert_int_eq(pl_engine_new(&L, &E, err, sizeof err), 0);
    struct pl_model m = model("writeback", 512);   /* expire 30 s, interval 5 s */
    for (uint64_t seed = 0; seed < 20; seed++) {
        ck_assert_int_eq(pl_decide(E, &m, L.n, 100000000000ull, seed, &S, err, sizeof err), 0);
        ASSERT_CONTENT(1, "old", "old");
        ASSERT_CONTENT(1, "young", "");
    }
    ck_assert_int_eq(pl_decide(E, &m, L.n, 2000000000ull, 1, &S, err, sizeof err), 0);
    ASSERT_CONTENT(1, "old", "");   /* two seconds in: nothing is 30 s old */
    done();
}
END_TEST

START_TEST(the_keep_set_builds_any_state_between_durable_and_everything)
{
    base_db();
    create(4, 1, "db.tmp");
    wr(4, 0, "new");
    rename_(1, "db.tmp", 1, "db");
    ck_assert_int_eq(pl_engine_new(&L, &E, err, sizeof err), 0);
    struct pl_model m = model("drop", 512);
    const struct pl_piece *c;
    size_t n;
    ck_assert_int_eq(pl_unsynced(E, &m, L.n, &c, &n, err, sizeof err), 0);
    ck_assert_uint_eq(n, 3);   /* create, write, rename */
    struct pl_piece keep[3];
    memcpy(keep, c, sizeof keep);
    /* The rename reached the disk, the data did not: the classic empty file. */
    struct pl_piece no_data[2] = {keep[0], keep[2]};
    ck_assert_int_eq(pl_keep(E, &m, L.n, no_data, 2, &S, err, sizeof err), 0);
    ASSERT_CONTENT(1, "db", "");
    ck_assert_int_eq(pl_keep(E, &m, L.n, keep, 3, &S, err, sizeof err), 0);
    ASSERT_CONTENT(1, "db", "new");
    uint64_t all = S.hash;
    decide("process", 1);
    ck_assert_uint_eq(S.hash, all);
    /* Out of order, or a durable op, is refused with the reason. */
    struct pl_piece bad[2] = {keep[2], keep[0]};
    ck_assert_int_eq(pl_keep(E, &m, L.n, bad, 2, &S, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "pl_unsynced"));
    struct pl_piece durable = {0, PL_PART_ALL, 0, 0};
    ck_assert_int_eq(pl_keep(E, &m, L.n, &durable, 1, &S, err, sizeof err), -EINVAL);
    done();
}
END_TEST

/* ---- determinism and the hash ------------------------------------------------------------- */

START_TEST(the_same_seed_gives_the_same_state_and_hash)
{
    create(2, 1, "log");
    pl_list_mark_base(&L);
    for (int i = 0; i < 40; i++)
        wr_at(2, (uint64_t)i * 300, big, 300, 0);
    const char *models[] = {"torn", "reorder", "lie", "writeback"};
    for (size_t k = 0; k < 4; k++) {
        int differ = 0;
        for (uint64_t seed = 0; seed < 20; seed++) {
            uint64_t a = decide(models[k], seed);
            size_t np = S.npieces;
            struct pl_engine *e2 = NULL;
            struct pl_state s2 = {0};
            ck_assert_int_eq(pl_engine_new(&L, &e2, err, sizeof err), 0);
            struct pl_model m = model(models[k], 512);
            ck_assert_int_eq(pl_decide(e2, &m, L.n, clock_ns + 1, seed, &s2, err, sizeof err), 0);
            ck_assert_uint_eq(s2.hash, a);
            ck_assert_uint_eq(s2.npieces, np);
            ck_assert_int_eq(memcmp(s2.pieces, S.pieces, np * sizeof *S.pieces), 0);
            pl_state_free(&s2);
            pl_engine_free(e2);
            differ |= decide(models[k], seed + 1000) != a;
        }
        if (k < 2)
            ck_assert_msg(differ, "%s: every seed gave one state", models[k]);
    }
    done();
}
END_TEST

/* Mutation test of the detector: one byte changed anywhere in a file, or
 * in a name, must change the hash. */
START_TEST(the_hash_detects_a_one_byte_difference)
{
    static unsigned char a[777], b[777];
    for (size_t i = 0; i < sizeof a; i++)
        a[i] = (unsigned char)(i * 7);
    create(2, 1, "f");
    wr_at(2, 0, a, sizeof a, 0);
    sync_(0, PL_SYNC_ALL);
    uint64_t ref = decide("drop", 1);
    done();
    for (size_t pos = 0; pos < sizeof a; pos++) {
        memcpy(b, a, sizeof a);
        b[pos] ^= (unsigned char)(1u << (pos % 8));
        pl_list_free(&L);
        setup();
        create(2, 1, "f");
        wr_at(2, 0, b, sizeof b, 0);
        sync_(0, PL_SYNC_ALL);
        ck_assert_msg(decide("drop", 1) != ref, "byte %zu changed, same hash", pos);
        done();
    }
    pl_list_free(&L);
    setup();
    create(2, 1, "g");
    wr_at(2, 0, a, sizeof a, 0);
    sync_(0, PL_SYNC_ALL);
    ck_assert_uint_ne(decide("drop", 1), ref);   /* the name differs */
    done();
    ck_assert_uint_eq(pl_hash_bytes(a, sizeof a, 0), pl_hash_bytes(a, sizeof a, 0));
}
END_TEST

START_TEST(a_state_written_to_disk_is_what_was_decided)
{
    base_db();
    mkdir_(4, 1, "sub");
    create(5, 4, "x");
    wr(5, 0, "xyz");
    sync_(0, PL_SYNC_ALL);
    decide("drop", 1);
    char dir[PATH_MAX], p[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/test-powerloss-tree-%ld", support_scratch_dir(), (long)getpid());
    ck_assert_msg(pl_state_write(E, &S, dir, err, sizeof err) == 0, "%s", err);
    const char *files[] = {"db", "other", "sub/x"}, *want[] = {"old", "aaaa", "xyz"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        FILE *fp = fopen(p, "r");
        ck_assert_ptr_nonnull(fp);
        char got[16] = {0};
        ck_assert_uint_eq(fread(got, 1, sizeof got - 1, fp), strlen(want[i]));
        fclose(fp);
        ck_assert_str_eq(got, want[i]);
        ck_assert_int_eq(unlink(p), 0);
    }
    snprintf(p, sizeof p, "%s/sub", dir);
    ck_assert_int_eq(rmdir(p), 0);
    support_rmdir_empty(dir);
    /* A second write of the same state refuses an existing directory. */
    snprintf(p, sizeof p, "%s/test-powerloss-one-%ld", support_scratch_dir(), (long)getpid());
    ck_assert_int_eq(pl_state_write_file(E, &S, 5, p, err, sizeof err), 0);
    struct stat sb;
    ck_assert_int_eq(stat(p, &sb), 0);
    ck_assert_int_eq(sb.st_size, 3);
    ck_assert_int_eq(unlink(p), 0);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    ck_assert_int_lt(pl_state_write(E, &S, dir, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "mkdir("));
    ck_assert_int_eq(rmdir(dir), 0);
    done();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("powerloss_states");
    TCase *tc = tcase_create("powerloss");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, torn_cuts_the_last_write_at_a_512_byte_sector);
    tcase_add_test(tc, torn_cuts_the_last_write_at_a_4096_byte_sector);
    tcase_add_test(tc, reorder_keeps_a_later_write_without_an_earlier_one);
    tcase_add_test(tc, lie_loses_synced_bytes_and_never_invents_any);
    tcase_add_test(tc, writeback_keeps_what_the_flusher_found_older_than_expire);
    tcase_add_test(tc, the_keep_set_builds_any_state_between_durable_and_everything);
    tcase_add_test(tc, the_same_seed_gives_the_same_state_and_hash);
    tcase_add_test(tc, the_hash_detects_a_one_byte_difference);
    tcase_add_test(tc, a_state_written_to_disk_is_what_was_decided);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
