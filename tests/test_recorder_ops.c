/* Unit tests for the recorder as a producer of the power-loss engine
 * (recorder/ops.c): a journal becomes an operation list on file ids; the
 * same scenario written as a journal and as a hand-made list gives the
 * same states under every preset; every model applies to images. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "recorder/recorder.h"
#include "tests/recorder_hand.h"

/* Every model of the engine applies to images: process keeps what was
 * written, lie may lose synced bytes (never invents any), writeback keeps
 * what the flusher had found older than expire, and torn cuts at 4096. */
START_TEST(process_lie_writeback_and_a_4096_sector_apply_to_images)
{
    struct hand h;
    char img[PATH_MAX], data[8193];
    hand_begin(&h, "models");
    jopen(1, "", O_RDONLY | O_DIRECTORY);
    jopen(2, "f", O_CREAT | O_WRONLY);
    jwrite(2, 0, "synced");
    jsync(2);
    jsync(1);
    jopen(3, "g", O_CREAT | O_WRONLY);
    jwrite(3, 0, "old enough");          /* 60 s before the cut: the flusher found it */
    jw_ns += 60000000000ull;
    memset(data, 'z', 8192);
    data[8192] = '\0';
    jwrite(2, 6, data);                   /* unsynced 8 KiB at the end of f */
    hand_image(&h, "drop", UINT64_MAX, 1, "drop", img);
    assert_content(img, "f", "synced");
    assert_content(img, "g", NULL);
    hand_image(&h, "process", UINT64_MAX, 1, "process", img);
    assert_content(img, "g", "old enough");
    size_t len;
    char *got = slurp(img, "f", &len);
    ck_assert_uint_eq(len, 6 + 8192);
    free(got);
    hand_image(&h, "writeback", UINT64_MAX, 1, "wb", img);
    assert_content(img, "g", "old enough");
    got = slurp(img, "f", &len);
    ck_assert_uint_eq(len, 6);            /* the new write was not old enough */
    free(got);
    int lost = 0;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        got = slurp(hand_image(&h, "lie", UINT64_MAX, seed, "lie", img), "f", &len);
        ck_assert_msg(!got || (len <= 6 && memcmp(got, "synced", len) == 0), "lie invented bytes");
        lost |= !got || len < 6;
        free(got);
    }
    ck_assert_int_eq(lost, 1);
    struct pl_model torn = M("torn");
    ck_assert_int_eq(pl_model_set_sector(&torn, "4096", NULL, 0), 0);
    struct recorder_journal j;
    char err[256] = "";
    int lengths = 0;
    ck_assert_int_eq(recorder_journal_open(h.journal, &j, err, sizeof err), 0);
    for (uint64_t seed = 1; seed <= 30; seed++) {
        char t4096[PATH_MAX + 16];
        snprintf(t4096, sizeof t4096, "%s/t4096", h.dir);
        ck_assert_int_eq(recorder_tree_remove(t4096, NULL, 0), 0);
        ck_assert_msg(recorder_image_build(&j, h.snap, UINT64_MAX, &torn, seed, t4096, NULL, err, sizeof err) == 0,
                      "%s", err);
        got = slurp(t4096, "f", &len);
        if (got) {   /* f's bytes end at a 4096 boundary of the file, or at the write's end */
            ck_assert_msg(len == 6 || len % 4096 == 0 || len == 6 + 8192, "torn at 4096 left %zu bytes", len);
            lengths |= len == 4096 ? 1 : len == 8192 ? 2 : 0;
        }
        free(got);
    }
    ck_assert_int_ne(lengths, 0);
    recorder_journal_close(&j);
}
END_TEST

/* ---- one scenario, two producers: a hand-made list and a journal ------------------------ */
static struct pl_list twin;
static uint32_t twin_rec[64];
static uint32_t jw_recs;   /* records written since hand_begin */

static void jrec_n(unsigned type, unsigned flags, int32_t aux, uint64_t handle, uint64_t off, uint64_t len,
                   const void *payload, size_t plen)
{
    jrec(type, flags, aux, handle, off, len, payload, plen);
    jw_recs++;
}

/* The operation the last record means, by hand. */
static size_t T(struct pl_op o)
{
    char err[256];
    o.ns = jw_ns;
    ck_assert_uint_lt(twin.n, 64);
    twin_rec[twin.n] = jw_recs - 1;
    ck_assert_msg(pl_list_add(&twin, &o, err, sizeof err) == 0, "%s", err);
    return twin.n - 1;
}
static void twin_sync(uint64_t h, uint32_t f)
{
    jrec_n(RECORDER_SYNC_BEGIN, 0, RECORDER_SYNC_FSYNC, h, ++jsync_id, 0, NULL, 0);
    size_t b = T((struct pl_op){.kind = PL_SYNC_BEGIN, .file = f, .flags = PL_SYNC_FSYNC});
    jrec_n(RECORDER_SYNC_END, 0, 0, h, jsync_id, 0, NULL, 0);
    T((struct pl_op){.kind = PL_SYNC_END, .file = f, .off = b});
}

static uint64_t twin_hash(struct pl_engine *e, const char *model, unsigned sector, size_t cut, uint64_t seed)
{
    struct pl_model m = M(model);
    char err[256];
    m.sector = sector;
    struct pl_state st = {0};
    ck_assert_msg(pl_decide(e, &m, cut, jw_ns + 1, seed, &st, err, sizeof err) == 0, "%s", err);
    uint64_t h = st.hash;
    pl_state_free(&st);
    return h;
}

/* The scenario: a rename over an existing file, a file created in a
 * directory never synced, a truncate, a hard link, an O_DSYNC write, a
 * chmod, a collapse-range, and an unsynced write whose last sector tears. */
static void twin_scenario(struct hand *h, int mutate)
{
    static char big[1001], tail[5001];
    memset(big, 'b', 1000);
    memset(tail, 't', 5000);
    char path[PATH_MAX * 2];
    hand_begin(h, "twin");
    jw_recs = 0;
    spit(h->snap, "db", "old");
    spit(h->snap, "other", "aaaa");
    snprintf(path, sizeof path, "%s/db", h->snap);
    ck_assert_int_eq(chmod(path, 0644), 0);
    snprintf(path, sizeof path, "%s/other", h->snap);
    ck_assert_int_eq(chmod(path, 0644), 0);
    ck_assert_int_eq(chmod(h->snap, 0755), 0);
    pl_list_init(&twin);
    T((struct pl_op){.kind = PL_CREATE, .file = 2, .dir = 1, .name = "db", .off = 0644});
    T((struct pl_op){.kind = PL_WRITE, .file = 2, .len = 3, .data = (const unsigned char *)"old"});
    T((struct pl_op){.kind = PL_CREATE, .file = 3, .dir = 1, .name = "other", .off = 0644});
    T((struct pl_op){.kind = PL_WRITE, .file = 3, .len = 4, .data = (const unsigned char *)"aaaa"});
    pl_list_mark_base(&twin);
    jrec_n(RECORDER_OPEN, 0, O_RDONLY | O_DIRECTORY, 1, 0, 0, "", 1);
    jrec_n(RECORDER_OPEN, 0, O_CREAT | O_WRONLY, 4, 0100644, 0, "db.tmp", 7);
    T((struct pl_op){.kind = PL_CREATE, .file = 4, .dir = 1, .name = "db.tmp", .off = 0644});
    jrec_n(RECORDER_WRITE, 0, 0, 4, 0, 3, "new", 3);
    T((struct pl_op){.kind = PL_WRITE, .file = 4, .len = 3, .data = (const unsigned char *)"new"});
    jrec_n(RECORDER_RENAME, 0, 0, 0, 0, 0, "db.tmp\0db", 10);
    T((struct pl_op){.kind = PL_RENAME, .dir = 1, .name = "db.tmp", .dir2 = 1, .name2 = "db"});
    jrec_n(RECORDER_MKDIR, 0, 0, 0, 040755, 0, "d", 2);
    T((struct pl_op){.kind = PL_MKDIR, .file = 5, .dir = 1, .name = "d", .off = 0755});
    jrec_n(RECORDER_OPEN, 0, O_CREAT | O_WRONLY, 6, 0100644, 0, "d/f", 4);
    T((struct pl_op){.kind = PL_CREATE, .file = 6, .dir = 5, .name = "f", .off = 0644});
    jrec_n(RECORDER_WRITE, 0, 0, 6, 0, 4, "data", 4);
    T((struct pl_op){.kind = PL_WRITE, .file = 6, .len = 4, .data = (const unsigned char *)"data"});
    twin_sync(6, 6);   /* f's data, never d's entry */
    jrec_n(RECORDER_OPEN, 0, O_WRONLY, 7, 0, 0, "other", 6);
    jrec_n(RECORDER_TRUNCATE, 0, 0, 7, 1, 0, NULL, 0);
    T((struct pl_op){.kind = PL_SETSIZE, .file = 3, .off = 1});
    jrec_n(RECORDER_LINK, 0, 0, 0, 0, 0, "other\0other2", 13);
    T((struct pl_op){.kind = PL_LINK, .file = 3, .dir = 1, .name = "other2"});
    jrec_n(RECORDER_OPEN, 0, O_CREAT | O_WRONLY | O_DSYNC, 8, 0100644, 0, "ds", 3);
    T((struct pl_op){.kind = PL_CREATE, .file = 7, .dir = 1, .name = "ds", .off = 0644});
    jrec_n(RECORDER_WRITE, 0, 0, 8, 0, 6, "dsync!", 6);
    T((struct pl_op){.kind = PL_WRITE, .file = 7, .len = 6, .data = (const unsigned char *)"dsync!",
                     .flags = mutate ? 0 : PL_O_DSYNC});
    jrec_n(RECORDER_CHMOD, 0, 0, 7, 0600, 0, NULL, 0);
    T((struct pl_op){.kind = PL_CHMOD, .file = 3, .off = 0600});
    jrec_n(RECORDER_OPEN, 0, O_CREAT | O_WRONLY, 9, 0100644, 0, "big", 4);
    T((struct pl_op){.kind = PL_CREATE, .file = 8, .dir = 1, .name = "big", .off = 0644});
    jrec_n(RECORDER_WRITE, 0, 0, 9, 0, 1000, big, 1000);
    T((struct pl_op){.kind = PL_WRITE, .file = 8, .len = 1000, .data = (const unsigned char *)big});
    jrec_n(RECORDER_FALLOCATE, 0, 0x08 /* COLLAPSE_RANGE */, 9, 0, 512, NULL, 0);
    T((struct pl_op){.kind = PL_FALLOCATE, .file = 8, .off = 0, .len = 512, .flags = PL_FA_COLLAPSE});
    twin_sync(1, 1);
    jrec_n(RECORDER_WRITE, 0, 0, 9, 488, 5000, tail, 5000);   /* unsynced: torn at 512 or 4096 */
    T((struct pl_op){.kind = PL_WRITE, .file = 8, .off = 488, .len = 5000, .data = (const unsigned char *)tail});
    ck_assert_int_eq(fclose(jw), 0);
    jw = NULL;
}

/* Compares the two producers' states under every preset, both sector
 * sizes, at every record prefix, for 8 seeds; returns how many differ. */
static unsigned twin_compare(struct hand *h, unsigned *states)
{
    struct recorder_journal j;
    struct recorder_ops o;
    struct pl_engine *ej, *eh;
    char err[256] = "";
    ck_assert_int_eq(recorder_journal_open(h->journal, &j, err, sizeof err), 0);
    ck_assert_msg(recorder_ops_build(&j, h->snap, &o, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(o.list.n - o.list.nbase, twin.n - twin.nbase);
    ck_assert_msg(pl_engine_new(&o.list, &ej, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(pl_engine_new(&twin, &eh, err, sizeof err) == 0, "%s", err);
    static const char *const models[] = {"drop", "ext4", "torn", "reorder", "writeback", "process", "lie",
                                         "ext4+torn"};
    unsigned differ = 0;
    *states = 0;
    for (uint32_t k = 0; k <= jw_recs; k++) {
        size_t cj = o.list.nbase, ch = twin.nbase;
        while (cj < o.list.n && o.rec[cj] < k)
            cj++;
        while (ch < twin.n && twin_rec[ch] < k)
            ch++;
        for (size_t mi = 0; mi < sizeof models / sizeof models[0]; mi++)
            for (unsigned sector = 512; sector <= 4096; sector *= 8)
                for (uint64_t seed = 1; seed <= 8; seed++) {
                    (*states)++;
                    differ += twin_hash(ej, models[mi], sector, cj, seed)
                              != twin_hash(eh, models[mi], sector, ch, seed);
                }
    }
    pl_engine_free(ej);
    pl_engine_free(eh);
    recorder_ops_free(&o);
    recorder_journal_close(&j);
    pl_list_free(&twin);
    return differ;
}

START_TEST(a_journal_and_the_same_hand_made_list_give_the_same_states)
{
    struct hand h;
    unsigned states;
    twin_scenario(&h, 0);
    ck_assert_uint_eq(twin_compare(&h, &states), 0);
    ck_assert_uint_eq(states, 22 * 8 * 2 * 8);   /* 22 record prefixes, 8 models, 2 sector sizes, 8 seeds */
    /* The comparison can fail: a hand list that forgets O_DSYNC differs. */
    twin_scenario(&h, 1);
    ck_assert_uint_gt(twin_compare(&h, &states), 0);
}
END_TEST

/* ---- the producer: journal + snapshot -> operation list ------------------------------ */
START_TEST(the_journal_becomes_an_operation_list_on_file_ids)
{
    struct hand h;
    hand_begin(&h, "ops");
    spit(h.snap, "old", "0123");
    jopen(1, "", O_RDONLY | O_DIRECTORY);
    jrec(RECORDER_OPEN, 0, O_CREAT | O_WRONLY | O_DSYNC, 2, 0100600, 0, "f", 2);
    jwrite(2, 0, "abc");                           /* O_DSYNC: durable when it returned */
    jrec(RECORDER_CHMOD, 0, 0, 2, 0640, 0, NULL, 0);
    jrec(RECORDER_FALLOCATE, 0, 0x08 /* COLLAPSE_RANGE */, 2, 0, 1, NULL, 0);
    jrec(RECORDER_FLAG, 0, 0, 0, 0, 0, "seen nothing", 13);
    jrec(RECORDER_RENAME, 0, 2 /* RENAME_EXCHANGE */, 0, 0, 0, "f\0old", 6);
    jrec(RECORDER_OPEN, 0, O_WRONLY, 3, 0, 0, "nowhere/x", 10);   /* its directory never existed */
    jrec(RECORDER_SYNC_BEGIN, 0, 0, 1, 9, 0, NULL, 0);
    jrec(RECORDER_SYNC_END, 0, EIO, 1, 9, 0, NULL, 0);            /* failed */
    ck_assert_int_eq(fclose(jw), 0);
    jw = NULL;
    struct recorder_journal j;
    struct recorder_ops o;
    char err[256] = "";
    ck_assert_int_eq(recorder_journal_open(h.journal, &j, err, sizeof err), 0);
    ck_assert_msg(recorder_ops_build(&j, h.snap, &o, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(o.list.nbase, 2);   /* create old, its bytes */
    ck_assert_uint_eq(o.rec[0], UINT32_MAX);
    ck_assert_str_eq(recorder_ops_path(&o, 2), "old");
    ck_assert_str_eq(recorder_ops_path(&o, 3), "f");
    ck_assert_str_eq(recorder_ops_path(&o, 1), "");
    ck_assert_ptr_null(recorder_ops_path(&o, 4));
    const struct pl_op *ops = o.list.ops;
    size_t i = o.list.nbase;
    ck_assert_int_eq(ops[i].kind, PL_CREATE);
    ck_assert_uint_eq(ops[i].off, 0600);
    ck_assert_uint_eq(o.rec[i], 1);
    ck_assert_int_eq(ops[++i].kind, PL_WRITE);
    ck_assert_uint_eq(ops[i].flags, PL_O_DSYNC);
    ck_assert_int_eq(ops[++i].kind, PL_CHMOD);
    ck_assert_uint_eq(ops[i].off, 0640);
    ck_assert_int_eq(ops[++i].kind, PL_FALLOCATE);
    ck_assert_uint_eq(ops[i].flags, PL_FA_COLLAPSE);
    ck_assert_int_eq(ops[++i].kind, PL_RENAME);
    ck_assert_uint_eq(ops[i].flags, PL_RENAME_EXCHANGE);
    ck_assert_int_eq(ops[++i].kind, PL_SYNC_BEGIN);
    ck_assert_uint_eq(ops[i].file, 1);
    ck_assert_int_eq(ops[++i].kind, PL_SYNC_END);
    ck_assert_int_eq(ops[i].rc, EIO);
    ck_assert_uint_eq(i + 1, o.list.n);
    ck_assert_uint_eq(o.unknown_opens, 1);
    ck_assert_uint_eq(o.flags, 1);
    ck_assert_uint_eq(o.nsyncs, 0);   /* the failed sync is not a completed one */
    struct pl_engine *e;
    ck_assert_msg(pl_engine_new(&o.list, &e, err, sizeof err) == 0, "%s", err);
    pl_engine_free(e);
    recorder_ops_free(&o);
    recorder_journal_close(&j);
}
END_TEST

/* An image's figures count only the records inside its cut. */
START_TEST(image_stats_count_only_records_inside_the_cut)
{
    struct hand h;
    hand_begin(&h, "cutstats");
    jopen(1, "", O_RDONLY | O_DIRECTORY);
    jopen(2, "f", O_CREAT | O_WRONLY);
    jwrite(2, 0, "abc");
    jrec(RECORDER_SYNC_BEGIN, 0, 0, 2, 1, 0, NULL, 0);
    jw_ns += 5000000;                                   /* a 5 ms sync */
    jrec(RECORDER_SYNC_END, 0, 0, 2, 1, 0, NULL, 0);
    uint64_t early = jw_ns;
    jrec(RECORDER_OPEN, 0, O_WRONLY, 3, 0, 0, "made-unseen", 12);   /* no O_CREAT: not seen */
    jrec(RECORDER_FLAG, 0, 0, 0, 0, 0, "sendfile", 9);
    ck_assert_int_eq(fclose(jw), 0);
    jw = NULL;
    struct recorder_journal j;
    struct recorder_image_stats st;
    struct pl_model drop = M("drop");
    char img[PATH_MAX + 16], err[256] = "";
    ck_assert_int_eq(recorder_journal_open(h.journal, &j, err, sizeof err), 0);
    snprintf(img, sizeof img, "%s/early", h.dir);
    ck_assert_msg(recorder_image_build(&j, h.snap, early, &drop, 1, img, &st, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(st.records, 5);
    ck_assert_uint_eq(st.unknown_opens, 0);
    ck_assert_uint_eq(st.flags, 0);
    ck_assert_uint_ge(st.max_sync_ns, 5000000);
    snprintf(img, sizeof img, "%s/end", h.dir);
    ck_assert_msg(recorder_image_build(&j, h.snap, UINT64_MAX, &drop, 1, img, &st, err, sizeof err) == 0, "%s",
                  err);
    ck_assert_uint_eq(st.records, 7);
    ck_assert_uint_eq(st.unknown_opens, 1);
    ck_assert_uint_eq(st.flags, 1);
    recorder_journal_close(&j);
}
END_TEST

int main(void)
{
    const char *dir = getenv("FSYNCLAB_DIR");
    snprintf(scratch, sizeof scratch, "%s/test_recorder_ops-%d", dir ? dir : "build/scratch", (int)getpid());
    if (recorder_tree_remove(scratch, NULL, 0) != 0 || mkdir(scratch, 0755) != 0) {
        perror(scratch);
        return 1;
    }
    Suite *s = suite_create("recorder_ops");
    TCase *tc = tcase_create("recorder_ops");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, the_journal_becomes_an_operation_list_on_file_ids);
    tcase_add_test(tc, a_journal_and_the_same_hand_made_list_give_the_same_states);
    tcase_add_test(tc, process_lie_writeback_and_a_4096_sector_apply_to_images);
    tcase_add_test(tc, image_stats_count_only_records_inside_the_cut);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (failed == 0)
        recorder_tree_remove(scratch, NULL, 0);
    return failed ? 1 : 0;
}
