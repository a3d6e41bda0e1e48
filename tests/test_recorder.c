/* Unit tests for recorder/: the preload library's journal of a probe
 * program (tests/rec_probe.c: writes, syncs, renames, stdio, a mapping,
 * forks, an exec), and the image builder on hand-made journals under each
 * model: what a sync covers, what a directory sync adds, what ext4's one
 * ordered journal adds, what torn and reorder let through.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "recorder/recorder.h"
#include "tests/recorder_hand.h"
START_TEST(synced_write_is_kept_and_unsynced_lost_under_drop)
{
    struct hand h;
    char img[PATH_MAX];
    hand_begin(&h, "synced");
    jopen(1, "", O_RDONLY | O_DIRECTORY);
    jopen(2, "f", O_CREAT | O_WRONLY);
    jwrite(2, 0, "abc");
    jsync(2);
    jsync(1);
    jwrite(2, 3, "def");   /* never synced */
    assert_content(hand_image(&h, "drop", UINT64_MAX, 1, "drop", img), "f", "abc");
    assert_content(hand_image(&h, "ext4", UINT64_MAX, 1, "ext4", img), "f", "abc");
}
END_TEST

START_TEST(a_write_journaled_after_the_sync_began_is_not_covered)
{
    struct hand h;
    char img[PATH_MAX];
    hand_begin(&h, "race");
    jopen(1, "", O_RDONLY | O_DIRECTORY);
    jopen(2, "f", O_CREAT | O_WRONLY);
    jsync(1);
    jwrite(2, 0, "abc");
    jrec(RECORDER_SYNC_BEGIN, 0, 0, 2, 99, 0, NULL, 0);
    jwrite(2, 3, "def");   /* the main thread writes while the bio thread syncs */
    jrec(RECORDER_SYNC_END, 0, 0, 2, 99, 0, NULL, 0);
    assert_content(hand_image(&h, "drop", UINT64_MAX, 1, "drop", img), "f", "abc");
}
END_TEST

START_TEST(a_sync_that_had_not_returned_at_the_cut_covers_nothing)
{
    struct hand h;
    char img[PATH_MAX];
    hand_begin(&h, "cut");
    jopen(1, "", O_RDONLY | O_DIRECTORY);
    jopen(2, "f", O_CREAT | O_WRONLY);
    jsync(1);
    jwrite(2, 0, "abc");
    jrec(RECORDER_SYNC_BEGIN, 0, 0, 2, 5, 0, NULL, 0);
    uint64_t began = jw_ns;
    jrec(RECORDER_SYNC_END, 0, 0, 2, 5, 0, NULL, 0);
    assert_content(hand_image(&h, "drop", began, 1, "before", img), "f", "");
    assert_content(hand_image(&h, "drop", UINT64_MAX, 1, "after", img), "f", "abc");
}
END_TEST

START_TEST(a_file_whose_directory_was_never_synced_is_lost_under_drop_kept_under_ext4)
{
    struct hand h;
    char img[PATH_MAX];
    hand_begin(&h, "dirsync");
    jopen(2, "f", O_CREAT | O_WRONLY);
    jwrite(2, 0, "abc");
    jsync(2);
    jopen(3, "g", O_CREAT | O_WRONLY);   /* created, written, never synced */
    jwrite(3, 0, "xyz");
    assert_content(hand_image(&h, "drop", UINT64_MAX, 1, "drop", img), "f", NULL);
    hand_image(&h, "ext4", UINT64_MAX, 1, "ext4", img);
    assert_content(img, "f", "abc");
    assert_content(img, "g", NULL);   /* created after the last commit */

    /* ext4: a later fsync of another file commits g's creation, not its data */
    hand_begin(&h, "dirsync2");
    jopen(3, "g", O_CREAT | O_WRONLY);
    jwrite(3, 0, "xyz");
    jopen(2, "f", O_CREAT | O_WRONLY);
    jsync(2);
    hand_image(&h, "ext4", UINT64_MAX, 1, "ext4", img);
    assert_content(img, "g", "");
    assert_content(hand_image(&h, "drop", UINT64_MAX, 1, "drop", img), "g", NULL);
}
END_TEST

START_TEST(names_change_only_once_their_directory_is_synced)
{
    struct hand h;
    char img[PATH_MAX];
    hand_begin(&h, "names");
    spit(h.snap, "x", "old");
    spit(h.snap, "cfg", "v1");
    jname(RECORDER_UNLINK, "x", NULL);
    jopen(4, "cfg.tmp", O_CREAT | O_WRONLY | O_TRUNC);
    jwrite(4, 0, "v2");
    jname(RECORDER_RENAME, "cfg.tmp", "cfg");   /* replace by rename, no fsync of cfg.tmp */
    jname(RECORDER_MKDIR, "d", NULL);
    jopen(5, "other", O_CREAT | O_WRONLY);
    jsync(5);
    hand_image(&h, "drop", UINT64_MAX, 1, "drop", img);
    assert_content(img, "x", "old");
    assert_content(img, "cfg", "v1");
    /* ext4: the commit carries every name, and auto_da_alloc the replaced file's data */
    hand_image(&h, "ext4", UINT64_MAX, 1, "ext4", img);
    assert_content(img, "x", NULL);
    assert_content(img, "cfg", "v2");
    assert_content(img, "cfg.tmp", NULL);
    struct stat st;
    char d[PATH_MAX * 2];
    snprintf(d, sizeof d, "%s/d", img);
    ck_assert_int_eq(stat(d, &st) == 0 && S_ISDIR(st.st_mode), 1);
    /* drop, with the directory synced: names durable, cfg's data not */
    jw = fopen(h.journal, "ab");
    ck_assert_ptr_nonnull(jw);
    jopen(1, "", O_RDONLY | O_DIRECTORY);
    jsync(1);
    hand_image(&h, "drop", UINT64_MAX, 1, "drop2", img);
    assert_content(img, "x", NULL);
    assert_content(img, "cfg", "");
}
END_TEST

START_TEST(sync_of_everything_covers_every_file_and_name)
{
    struct hand h;
    char img[PATH_MAX];
    hand_begin(&h, "syncall");
    jname(RECORDER_MKDIR, "d", NULL);
    jopen(2, "d/f", O_CREAT | O_WRONLY);
    jwrite(2, 0, "abc");
    jsync(0);
    jwrite(2, 3, "def");
    assert_content(hand_image(&h, "drop", UINT64_MAX, 1, "drop", img), "d/f", "abc");
}
END_TEST

/* Unsynced 4 KB: torn keeps a whole-sector prefix, reorder any sectors. */
START_TEST(torn_and_reorder_let_part_of_the_unsynced_data_through)
{
    struct hand h;
    char img[PATH_MAX], data[4097];
    hand_begin(&h, "torn");
    jopen(1, "", O_RDONLY | O_DIRECTORY);
    jopen(2, "f", O_CREAT | O_WRONLY);
    jsync(1);
    jsync(2);
    memset(data, 'z', 4096);
    data[4096] = '\0';
    jwrite(2, 0, data);
    int torn_lengths[9] = {0}, holes = 0, partial = 0;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        size_t len;
        hand_image(&h, "torn", UINT64_MAX, seed, "t", img);
        char *got = slurp(img, "f", &len);
        ck_assert_ptr_nonnull(got);
        ck_assert_uint_eq(len % 512, 0);
        for (size_t i = 0; i < len; i++)
            ck_assert_int_eq(got[i], 'z');
        torn_lengths[len / 512] = 1;
        free(got);
        hand_image(&h, "reorder", UINT64_MAX, seed, "r", img);
        got = slurp(img, "f", &len);
        ck_assert_ptr_nonnull(got);
        int zero_seen = 0;
        for (size_t s = 0; s < len; s += 512) {
            if (got[s] == 0)
                zero_seen = 1;
            else if (zero_seen)
                holes = 1;   /* a later sector survived, an earlier one did not */
        }
        partial |= len > 0 && len < 4096;
        free(got);
    }
    int distinct = 0;
    for (int i = 0; i <= 8; i++)
        distinct += torn_lengths[i];
    ck_assert_int_ge(distinct, 3);
    ck_assert_int_eq(holes, 1);
    ck_assert_int_eq(partial, 1);
    assert_content(hand_image(&h, "drop", UINT64_MAX, 1, "d", img), "f", "");
}
END_TEST

START_TEST(a_torn_record_at_the_end_of_the_journal_is_left_out)
{
    struct hand h;
    hand_begin(&h, "tornjournal");
    jopen(2, "f", O_CREAT | O_WRONLY);
    struct recorder_rec r = {.size = 4096, .type = RECORDER_WRITE};
    ck_assert_uint_eq(fwrite(&r, sizeof r, 1, jw), 1);
    ck_assert_int_eq(fclose(jw), 0);
    jw = NULL;
    struct recorder_journal j;
    ck_assert_int_eq(recorder_journal_open(h.journal, &j, NULL, 0), 0);
    ck_assert_uint_eq(j.n, 1);
    ck_assert_uint_eq(j.torn_bytes, RECORDER_HEADER);
    recorder_journal_close(&j);
}
END_TEST

/* ---- the image builder: finding by finding ----------------------------------------------- */
static void jsync_kind(uint64_t h, int kind)
{
    jrec(RECORDER_SYNC_BEGIN, 0, kind, h, ++jsync_id, 0, NULL, 0);
    jrec(RECORDER_SYNC_END, 0, 0, h, jsync_id, 0, NULL, 0);
}

static void assert_bytes(const char *dir, const char *name, const char *want, size_t wantlen)
{
    size_t len = 0;
    char *got = slurp(dir, name, &len);
    ck_assert_msg(got != NULL, "%s/%s missing", dir, name);
    ck_assert_uint_eq(len, wantlen);
    ck_assert_int_eq(memcmp(got, want, wantlen), 0);
    free(got);
}

START_TEST(fallocate_zero_collapse_and_insert_change_the_image_as_linux_does)
{
    struct hand h;
    char img[PATH_MAX];
    hand_begin(&h, "falloc");
    jopen(1, "", O_RDONLY | O_DIRECTORY);
    jopen(2, "f", O_CREAT | O_WRONLY);
    jwrite(2, 0, "AAAABBBBCCCCDDDD");
    jrec(RECORDER_FALLOCATE, 0, 0x10 /* ZERO_RANGE */, 2, 2, 4, NULL, 0);
    jrec(RECORDER_FALLOCATE, 0, 0x08 /* COLLAPSE_RANGE */, 2, 8, 4, NULL, 0);
    jrec(RECORDER_FALLOCATE, 0, 0x20 /* INSERT_RANGE */, 2, 0, 2, NULL, 0);
    jrec(RECORDER_FALLOCATE, 0, 0x10, 2, 14, 4, NULL, 0);   /* zeroes past the end: grows */
    jsync(2);
    jsync(1);
    hand_image(&h, "drop", UINT64_MAX, 1, "drop", img);
    assert_bytes(img, "f", "\0\0AA\0\0\0\0BBDDDD\0\0\0\0", 18);
}
END_TEST

START_TEST(a_mapped_write_never_extends_its_file)
{
    struct hand h;
    char img[PATH_MAX];
    hand_begin(&h, "mapped");
    jopen(1, "", O_RDONLY | O_DIRECTORY);
    jopen(2, "f", O_CREAT | O_RDWR);
    jwrite(2, 0, "abcd");
    jrec(RECORDER_WRITE, RECORDER_F_MAPPED, 0, 2, 2, 8, "WXYZ1234", 8);   /* a page past the end */
    jsync(2);
    jsync(1);
    assert_content(hand_image(&h, "drop", UINT64_MAX, 1, "drop", img), "f", "abWX");
}
END_TEST

START_TEST(a_torn_journal_is_a_flag_in_the_image_stats)
{
    struct hand h;
    hand_begin(&h, "tornflag");
    jopen(2, "f", O_CREAT | O_WRONLY);
    struct recorder_rec r = {.size = 4096, .type = RECORDER_WRITE};
    ck_assert_uint_eq(fwrite(&r, sizeof r, 1, jw), 1);
    ck_assert_int_eq(fclose(jw), 0);
    jw = NULL;
    struct recorder_journal j;
    struct recorder_image_stats st;
    char img[PATH_MAX + 8], err[256] = "";
    ck_assert_int_eq(recorder_journal_open(h.journal, &j, NULL, 0), 0);
    snprintf(img, sizeof img, "%s/img", h.dir);
    struct pl_model drop = M("drop");
    ck_assert_msg(recorder_image_build(&j, h.snap, UINT64_MAX, &drop, 1, img, &st, err, sizeof err) == 0,
                  "%s", err);
    ck_assert_uint_eq(st.torn_bytes, RECORDER_HEADER);
    ck_assert_uint_ge(st.flags, 1);
    recorder_journal_close(&j);
}
END_TEST

/* The guest's kernel: ftruncate(f, 0), then fsync(g), power cut: f is empty. */
START_TEST(ext4_a_commit_carries_another_files_truncation)
{
    struct hand h;
    char img[PATH_MAX];
    hand_begin(&h, "ext4trunc");
    spit(h.snap, "f", "old bytes");
    spit(h.snap, "o", "old too");
    jopen(2, "f", O_WRONLY);
    jrec(RECORDER_TRUNCATE, 0, 0, 2, 0, 0, NULL, 0);
    jopen(4, "o", O_WRONLY | O_TRUNC);
    jwrite(4, 0, "new, never synced");
    jopen(3, "g", O_CREAT | O_WRONLY);
    jwrite(3, 0, "g");
    jsync(3);
    hand_image(&h, "ext4", UINT64_MAX, 1, "ext4", img);
    assert_content(img, "f", "");
    assert_content(img, "o", "");
    hand_image(&h, "drop", UINT64_MAX, 1, "drop", img);
    assert_content(img, "f", "old bytes");
    assert_content(img, "o", "old too");
}
END_TEST

/* The guest's kernel: a file created, then fdatasync of a pure overwrite of
 * another: no commit, the new file is gone.  An append or an fsync commits. */
START_TEST(ext4_fdatasync_of_a_pure_overwrite_commits_nothing)
{
    struct hand h;
    char img[PATH_MAX];
    hand_begin(&h, "ext4dsync");
    spit(h.snap, "f", "0123456789");
    jopen(2, "f", O_WRONLY);
    jopen(3, "new", O_CREAT | O_WRONLY);
    jwrite(2, 0, "AB");
    jsync_kind(2, RECORDER_SYNC_FDATASYNC);
    hand_image(&h, "ext4", UINT64_MAX, 1, "ext4", img);
    assert_content(img, "f", "AB23456789");
    assert_content(img, "new", NULL);

    jw = fopen(h.journal, "ab");
    ck_assert_ptr_nonnull(jw);
    jwrite(2, 2, "CD");
    jsync_kind(2, RECORDER_SYNC_FDATASYNC);   /* still nothing to commit */
    assert_content(hand_image(&h, "ext4", UINT64_MAX, 1, "ext4b", img), "new", NULL);
    jw = fopen(h.journal, "ab");
    ck_assert_ptr_nonnull(jw);
    jwrite(2, 10, "+");                        /* an append: the size must be committed */
    jsync_kind(2, RECORDER_SYNC_FDATASYNC);
    hand_image(&h, "ext4", UINT64_MAX, 1, "ext4c", img);
    assert_content(img, "new", "");
    assert_content(img, "f", "ABCD456789+");

    hand_begin(&h, "ext4fsync");
    spit(h.snap, "f", "0123456789");
    jopen(2, "f", O_WRONLY);
    jopen(3, "new", O_CREAT | O_WRONLY);
    jwrite(2, 0, "AB");
    jsync_kind(2, RECORDER_SYNC_FSYNC);       /* the mtime is metadata: fsync commits */
    assert_content(hand_image(&h, "ext4", UINT64_MAX, 1, "ext4", img), "new", "");
}
END_TEST

START_TEST(ext4_a_rename_over_is_durable_with_the_next_commit_and_carries_its_data)
{
    struct hand h;
    char img[PATH_MAX];
    hand_begin(&h, "ext4rename");
    spit(h.snap, "cfg", "v1");
    spit(h.snap, "f", "0123");
    jopen(2, "cfg.tmp", O_CREAT | O_WRONLY | O_TRUNC);
    jwrite(2, 0, "v2");
    jname(RECORDER_RENAME, "cfg.tmp", "cfg");
    jopen(3, "f", O_WRONLY);
    jwrite(3, 0, "X");
    jsync_kind(3, RECORDER_SYNC_FDATASYNC);   /* a pure overwrite: no commit */
    assert_content(hand_image(&h, "ext4", UINT64_MAX, 1, "a", img), "cfg", "v1");
    jw = fopen(h.journal, "ab");
    ck_assert_ptr_nonnull(jw);
    jsync_kind(3, RECORDER_SYNC_FSYNC);       /* f's mtime: commits the rename */
    hand_image(&h, "ext4", UINT64_MAX, 1, "b", img);
    assert_content(img, "cfg", "v2");
    assert_content(img, "cfg.tmp", NULL);
}
END_TEST

START_TEST(hard_links_stay_one_file_and_modes_are_kept)
{
    struct hand h;
    char img[PATH_MAX], a[PATH_MAX * 2], b[PATH_MAX * 2];
    hand_begin(&h, "links");
    spit(h.snap, "a", "shared");
    snprintf(a, sizeof a, "%s/a", h.snap);
    snprintf(b, sizeof b, "%s/b", h.snap);
    ck_assert_int_eq(link(a, b), 0);
    jopen(1, "", O_RDONLY | O_DIRECTORY);
    jrec(RECORDER_OPEN, 0, O_CREAT | O_WRONLY, 2, 0100600, 0, "p", 2);
    jrec(RECORDER_MKDIR, 0, 0, 0, 040700, 0, "d", 2);
    jname(RECORDER_LINK, "p", "q");
    jsync(2);
    jsync(1);
    hand_image(&h, "drop", UINT64_MAX, 1, "drop", img);
    struct stat sa, sb, sp, sq, sd;
    snprintf(a, sizeof a, "%s/a", img);
    snprintf(b, sizeof b, "%s/b", img);
    ck_assert_int_eq(stat(a, &sa) | stat(b, &sb), 0);
    ck_assert_uint_eq(sa.st_ino, sb.st_ino);
    snprintf(a, sizeof a, "%s/p", img);
    snprintf(b, sizeof b, "%s/q", img);
    ck_assert_int_eq(stat(a, &sp) | stat(b, &sq), 0);
    ck_assert_uint_eq(sp.st_ino, sq.st_ino);
    ck_assert_uint_eq(sp.st_mode & 07777, 0600);
    snprintf(a, sizeof a, "%s/d", img);
    ck_assert_int_eq(stat(a, &sd), 0);
    ck_assert_uint_eq(sd.st_mode & 07777, 0700);
}
END_TEST

START_TEST(what_is_not_a_journal_is_refused_by_name)
{
    char d[PATH_MAX], path[PATH_MAX * 2], err[512] = "";
    fresh("notjournal", d);
    spit(d, "script.sh", "#!/bin/sh\necho hello, this is long enough to hold a record header\n");
    snprintf(path, sizeof path, "%s/script.sh", d);
    struct recorder_journal j;
    ck_assert_int_eq(recorder_journal_open(path, &j, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "is not a journal"));
    ck_assert_int_eq(recorder_journal_open(d, &j, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "not a regular file"));
    struct recorder_jhead head = {.magic = RECORDER_MAGIC, .version = 99, .header_size = RECORDER_JHEAD_SIZE};
    snprintf(path, sizeof path, "%s/v99", d);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(&head, sizeof head, 1, f), 1);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(recorder_journal_open(path, &j, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "version 99"));
    snprintf(path, sizeof path, "%s/empty", d);
    spit(d, "empty", "");
    ck_assert_int_eq(recorder_journal_open(path, &j, err, sizeof err), 0);   /* a trial nothing armed */
    ck_assert_uint_eq(j.n, 0);
    recorder_journal_close(&j);
}
END_TEST

/* ---- the preload library, on tests/rec_probe.c ------------------------------------ */
static struct recorder_journal probe_j;
static char probe_dir[PATH_MAX], probe_root[PATH_MAX + 8];

/* Runs the probe under the recorder once; the journal stays open. */
static void probe_run(void)
{
    if (probe_j.n)
        return;
    char lib[PATH_MAX], probe[PATH_MAX + 16], journal[PATH_MAX + 16], err[256] = "";
    ck_assert_msg(recorder_lib_path(lib, sizeof lib, err, sizeof err) == 0, "%s", err);
    snprintf(probe, sizeof probe, "%.*s/rec_probe", (int)(strrchr(lib, '/') - lib), lib);
    fresh("probe", probe_dir);
    snprintf(probe_root, sizeof probe_root, "%s/root", probe_dir);
    snprintf(journal, sizeof journal, "%s/journal", probe_dir);
    ck_assert_int_eq(mkdir(probe_root, 0755), 0);
    char *argv[] = {probe, probe_root, NULL};
    int st = -1;
    ck_assert_msg(recorder_record(probe_root, journal, argv, NULL, &st, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "probe status %d", st);
    ck_assert_int_eq(recorder_journal_open(journal, &probe_j, err, sizeof err), 0);
}

/* The index of the first record from `from` on of type with payload
 * starting with text (NULL: any), or -1. */
static long probe_find(size_t from, unsigned type, const char *text, size_t tlen)
{
    for (size_t i = from; i < probe_j.n; i++) {
        const struct recorder_rec *r = probe_j.recs[i];
        if (r->type == type && (!text || (r->size - RECORDER_HEADER >= tlen &&
                                          memcmp(recorder_payload(r), text, tlen) == 0)))
            return (long)i;
    }
    return -1;
}
static long find_text(long from, unsigned type, const char *text)
{
    return probe_find((size_t)from, type, text, text ? strlen(text) : 0);
}
#define FIND(from, type, text) find_text(from, type, text)

START_TEST(the_probe_journal_holds_every_call)
{
    probe_run();
    ck_assert_uint_eq(probe_j.torn_bytes, 0);
    long open_a = FIND(0, RECORDER_OPEN, "a.txt");
    ck_assert_int_ge(open_a, 0);
    uint64_t h = probe_j.recs[open_a]->handle;
    uint32_t pid = probe_j.recs[open_a]->pid;
    ck_assert_int_ne(probe_j.recs[open_a]->aux & O_CREAT, 0);
    long w1 = FIND(open_a, RECORDER_WRITE, "hello");
    ck_assert_int_ge(w1, 0);
    ck_assert_uint_eq(probe_j.recs[w1]->handle, h);
    long sb = FIND(w1, RECORDER_SYNC_BEGIN, NULL), se = FIND(sb, RECORDER_SYNC_END, NULL);
    ck_assert_int_ge(sb, 0);
    ck_assert_int_ge(se, 0);
    ck_assert_uint_eq(probe_j.recs[sb]->off, probe_j.recs[se]->off);   /* one sync id */
    long wv = FIND(se, RECORDER_WRITE, " world");   /* writev through a dup'd fd */
    ck_assert_int_ge(wv, 0);
    ck_assert_uint_eq(probe_j.recs[wv]->handle, h);
    ck_assert_uint_eq(probe_j.recs[wv]->off, 5);
    long pw = FIND(wv, RECORDER_WRITE, "H");
    ck_assert_int_ge(pw, 0);
    ck_assert_uint_eq(probe_j.recs[pw]->off, 0);
    long ds = FIND(pw, RECORDER_SYNC_BEGIN, NULL);
    ck_assert_int_eq(probe_j.recs[ds]->aux, RECORDER_SYNC_FDATASYNC);
    long rn = probe_find((size_t)ds, RECORDER_RENAME, "a.txt\0b.txt", 12);
    ck_assert_int_ge(rn, 0);
    long md = FIND(rn, RECORDER_MKDIR, "sub");
    long od = probe_find((size_t)md, RECORDER_OPEN, "", 1);   /* the root directory */
    ck_assert_int_ge(md, 0);
    ck_assert_int_ge(od, 0);
    long dsb = FIND(od, RECORDER_SYNC_BEGIN, NULL);
    ck_assert_uint_eq(probe_j.recs[dsb]->handle, probe_j.recs[od]->handle);
    /* stdio: captured whole, before the fsync that follows fflush */
    long so = FIND(dsb, RECORDER_OPEN, "sub/s.txt"), sw = FIND(so, RECORDER_WRITE, "stdio!");
    ck_assert_int_ge(sw, 0);
    ck_assert_uint_ne(probe_j.recs[sw]->flags & RECORDER_F_REPLACE, 0);
    /* the mapping: its pages at msync, then a durability point */
    long mw = FIND(so, RECORDER_WRITE, "mapped");
    ck_assert_int_ge(mw, 0);
    ck_assert_uint_ne(probe_j.recs[mw]->flags & RECORDER_F_MAPPED, 0);
    ck_assert_int_eq(probe_j.recs[mw + 1]->type, RECORDER_SYNC_BEGIN);
    ck_assert_int_eq(probe_j.recs[mw + 1]->aux, RECORDER_SYNC_MSYNC);
    ck_assert_int_ge(FIND(mw, RECORDER_UNLINK, "tmp"), 0);
    ck_assert_int_ge(FIND(mw, RECORDER_FLAG, "raw syscall"), 0);
    /* the forked child records under its own pid, into the same journal */
    long fk = FIND(mw, RECORDER_FORK, NULL);
    ck_assert_int_ge(fk, 0);
    ck_assert_uint_ne(probe_j.recs[fk]->pid, pid);
    ck_assert_int_eq(probe_j.recs[fk]->aux, (int32_t)pid);
    long ck = FIND(fk, RECORDER_OPEN, "child.txt");
    ck_assert_uint_eq(probe_j.recs[ck]->pid, probe_j.recs[fk]->pid);
    /* the exec'd child re-armed: a start record, then its own calls */
    long st = FIND(ck, RECORDER_START, NULL), ex = FIND(ck, RECORDER_OPEN, "exec.txt");
    ck_assert_int_ge(st, 0);
    ck_assert_int_gt(ex, st);
    ck_assert_uint_eq(probe_j.recs[ex]->pid, probe_j.recs[st]->pid);
}
END_TEST

START_TEST(the_probe_image_follows_its_syncs)
{
    probe_run();
    char snap[PATH_MAX + 16], img[PATH_MAX + 16], err[256] = "";
    snprintf(snap, sizeof snap, "%s/snap", probe_dir);   /* the root was empty at the start */
    ck_assert_int_eq(recorder_tree_remove(snap, NULL, 0), 0);
    ck_assert_int_eq(mkdir(snap, 0755), 0);
    snprintf(img, sizeof img, "%s/drop", probe_dir);
    ck_assert_int_eq(recorder_tree_remove(img, NULL, 0), 0);
    struct pl_model drop = M("drop"), ext4 = M("ext4");
    ck_assert_msg(recorder_image_build(&probe_j, snap, UINT64_MAX, &drop, 1, img, NULL, err,
                                       sizeof err) == 0, "%s", err);
    assert_content(img, "b.txt", "Hello world");   /* fdatasync, then rename and mkdir, dir synced */
    assert_content(img, "a.txt", NULL);
    assert_content(img, "sub/s.txt", NULL);        /* sub itself was never synced */
    assert_content(img, "child.txt", NULL);        /* the root was not synced after it */
    snprintf(img, sizeof img, "%s/ext4", probe_dir);
    ck_assert_int_eq(recorder_tree_remove(img, NULL, 0), 0);
    ck_assert_msg(recorder_image_build(&probe_j, snap, UINT64_MAX, &ext4, 1, img, NULL, err,
                                       sizeof err) == 0, "%s", err);
    assert_content(img, "sub/s.txt", "stdio!");
    assert_content(img, "child.txt", "kid");
    assert_content(img, "exec.txt", "exec");
    size_t len;
    char *m = slurp(img, "m.bin", &len);
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(len, 4096);
    ck_assert_str_eq(m, "mapped");
    free(m);
    assert_content(img, "tmp", NULL);
}
END_TEST

/* The call site in each record: the probe's own functions and lines, in
 * the forked child and in the exec'd image (a fresh object table). */
static void assert_site(struct recorder_sites *s, long i, const char *want)
{
    char name[256];
    ck_assert_int_ge(i, 0);
    ck_assert_int_eq(recorder_site_name(s, (size_t)i, name, sizeof name), 0);
    ck_assert_msg(strstr(name, want) != NULL, "record %ld: site %s, want %s", i, name, want);
}

START_TEST(every_probe_call_names_its_site_in_the_program)
{
    probe_run();
    struct recorder_sites *s = NULL;
    char err[256] = "", a[256], b[256];
    ck_assert_msg(recorder_sites_open(&probe_j, &s, err, sizeof err) == 0, "%s", err);
    long rename = FIND(0, RECORDER_RENAME, "a.txt"), mkd = FIND(0, RECORDER_MKDIR, "sub");
    assert_site(s, rename, "main (rec_probe.c:");
    assert_site(s, mkd, "main (rec_probe.c:");
    recorder_site_name(s, (size_t)rename, a, sizeof a);
    recorder_site_name(s, (size_t)mkd, b, sizeof b);
    ck_assert_str_ne(a, b);   /* two lines of main */
    long open_a = FIND(0, RECORDER_OPEN, "a.txt");
    for (long i = open_a; i >= 0 && i < rename; i++)   /* write, writev, pwrite, the syncs */
        if (probe_j.recs[i]->type == RECORDER_WRITE || probe_j.recs[i]->type == RECORDER_SYNC_BEGIN)
            assert_site(s, i, "rec_probe.c:");
    assert_site(s, FIND(0, RECORDER_OPEN, "sub/s.txt"), "rec_probe.c:");   /* fopen */
    assert_site(s, FIND(0, RECORDER_OPEN, "child.txt"), "rec_probe.c:");   /* the forked child */
    long exec = FIND(0, RECORDER_OPEN, "exec.txt");
    assert_site(s, exec, "rec_probe.c:");                                 /* the exec'd image */
    ck_assert_int_eq(recorder_site_name(s, 0, a, sizeof a), -ENOENT);     /* START: no call */
    ck_assert_str_eq(a, "?");
    const char *object;
    uint64_t off;
    ck_assert_int_eq(recorder_site_of(s, (size_t)exec, &object, &off), 0);
    ck_assert_msg(strstr(object, "rec_probe") != NULL, "%s", object);
    recorder_sites_free(s);
}
END_TEST

int main(void)
{
    const char *dir = getenv("FSYNCLAB_DIR");
    snprintf(scratch, sizeof scratch, "%s/test_recorder-%d", dir ? dir : "build/scratch", (int)getpid());
    if (recorder_tree_remove(scratch, NULL, 0) != 0 || mkdir(scratch, 0755) != 0) {
        perror(scratch);
        return 1;
    }
    Suite *s = suite_create("recorder");
    TCase *tc = tcase_create("recorder");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, synced_write_is_kept_and_unsynced_lost_under_drop);
    tcase_add_test(tc, a_write_journaled_after_the_sync_began_is_not_covered);
    tcase_add_test(tc, a_sync_that_had_not_returned_at_the_cut_covers_nothing);
    tcase_add_test(tc, a_file_whose_directory_was_never_synced_is_lost_under_drop_kept_under_ext4);
    tcase_add_test(tc, names_change_only_once_their_directory_is_synced);
    tcase_add_test(tc, sync_of_everything_covers_every_file_and_name);
    tcase_add_test(tc, torn_and_reorder_let_part_of_the_unsynced_data_through);
    tcase_add_test(tc, a_torn_record_at_the_end_of_the_journal_is_left_out);
    tcase_add_test(tc, fallocate_zero_collapse_and_insert_change_the_image_as_linux_does);
    tcase_add_test(tc, a_mapped_write_never_extends_its_file);
    tcase_add_test(tc, a_torn_journal_is_a_flag_in_the_image_stats);
    tcase_add_test(tc, ext4_a_commit_carries_another_files_truncation);
    tcase_add_test(tc, ext4_fdatasync_of_a_pure_overwrite_commits_nothing);
    tcase_add_test(tc, ext4_a_rename_over_is_durable_with_the_next_commit_and_carries_its_data);
    tcase_add_test(tc, hard_links_stay_one_file_and_modes_are_kept);
    tcase_add_test(tc, what_is_not_a_journal_is_refused_by_name);
    tcase_add_test(tc, the_probe_journal_holds_every_call);
    tcase_add_test(tc, the_probe_image_follows_its_syncs);
    tcase_add_test(tc, every_probe_call_names_its_site_in_the_program);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (failed == 0)
        recorder_tree_remove(scratch, NULL, 0);
    return failed ? 1 : 0;
}
