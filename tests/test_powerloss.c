/* Unit tests for powerloss/: hand-made operation lists under every preset.
 * Each list is what a small program did; each test states what a power cut
 * may and may not leave, and would fail if the engine kept too much or too
 * little. */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "powerloss/internal.h"
#include "tests/support.h"

/* ---- building lists ---------------------------------------------------------------- */
static struct pl_list L;
static uint64_t clock_ns;
static char err[512];

static void setup(void)
{
    pl_list_init(&L);
    clock_ns = 0;
}

static void teardown(void)
{
    pl_list_free(&L);
}

static size_t add(struct pl_op o)
{
    if (!o.ns)
        o.ns = clock_ns += 1000;
    ck_assert_msg(pl_list_add(&L, &o, err, sizeof err) == 0, "%s", err);
    return L.n - 1;
}

static size_t wr_at(uint32_t f, uint64_t off, const void *data, uint64_t len, unsigned flags)
{
    return add((struct pl_op){.kind = PL_WRITE, .file = f, .off = off, .len = len, .data = data, .flags = (uint8_t)flags});
}
static size_t wr(uint32_t f, uint64_t off, const char *s) { return wr_at(f, off, s, strlen(s), 0); }
static size_t create(uint32_t f, uint32_t dir, const char *name)
{
    return add((struct pl_op){.kind = PL_CREATE, .file = f, .dir = dir, .name = name});
}
static size_t mkdir_(uint32_t f, uint32_t dir, const char *name)
{
    return add((struct pl_op){.kind = PL_MKDIR, .file = f, .dir = dir, .name = name});
}
static size_t link_(uint32_t f, uint32_t dir, const char *name)
{
    return add((struct pl_op){.kind = PL_LINK, .file = f, .dir = dir, .name = name});
}
static size_t unlink_(uint32_t dir, const char *name)
{
    return add((struct pl_op){.kind = PL_UNLINK, .dir = dir, .name = name});
}
static size_t rename_(uint32_t d, const char *a, uint32_t d2, const char *b)
{
    return add((struct pl_op){.kind = PL_RENAME, .dir = d, .name = a, .dir2 = d2, .name2 = b});
}
static size_t setsize(uint32_t f, uint64_t size)
{
    return add((struct pl_op){.kind = PL_SETSIZE, .file = f, .off = size});
}
static size_t sync_rc(uint32_t f, unsigned kind, int rc)
{
    size_t b = add((struct pl_op){.kind = PL_SYNC_BEGIN, .file = f, .flags = (uint8_t)kind});
    return add((struct pl_op){.kind = PL_SYNC_END, .file = f, .off = b, .rc = rc});
}
static size_t sync_(uint32_t f, unsigned kind) { return sync_rc(f, kind, 0); }

/* ---- looking at states ---------------------------------------------------------------- */
static struct pl_engine *E;
static struct pl_state S;

static struct pl_model model(const char *name, unsigned sector)
{
    struct pl_model m;
    ck_assert_msg(pl_model_parse(name, &m, err, sizeof err) == 0, "%s", err);
    m.sector = sector;
    return m;
}

/* Decides the state of a cut after the whole list (or the first cut ops). */
static uint64_t decide_cut(const char *name, unsigned sector, size_t cut, uint64_t seed)
{
    if (!E)
        ck_assert_msg(pl_engine_new(&L, &E, err, sizeof err) == 0, "%s", err);
    struct pl_model m = model(name, sector);
    ck_assert_msg(pl_decide(E, &m, cut, clock_ns + 1, seed, &S, err, sizeof err) == 0, "%s", err);
    return S.hash;
}
static uint64_t decide(const char *name, uint64_t seed) { return decide_cut(name, 512, L.n, seed); }

static void done(void)
{
    pl_state_free(&S);
    pl_engine_free(E);
    E = NULL;
}

/* The file a name in dir holds in the decided state (0: none). */
static uint32_t lookup(uint32_t dir, const char *name)
{
    return pl_map_get(E, dir, name, pl_name_hash(dir, name));
}

/* The bytes under dir/name, or NULL when the name is absent. */
static char *content(uint32_t dir, const char *name)
{
    static char buf[1 << 16];
    uint32_t f = lookup(dir, name);
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

#define ASSERT_CONTENT(dir, name, want)                                                        \
    do {                                                                                       \
        const char *got_ = content(dir, name);                                                 \
        const char *want_ = (want);                                                            \
        if (!want_)                                                                            \
            ck_assert_msg(!got_, "%s: present (\"%s\"), want absent", name, got_);             \
        else                                                                                   \
            ck_assert_msg(got_ && strcmp(got_, want_) == 0, "%s: \"%s\", want \"%s\"", name,   \
                          got_ ? got_ : "(absent)", want_);                                    \
    } while (0)

/* n bytes at off of dir/name in the decided state, and its size, equal want
 * (the name must be present). */
#define ASSERT_BYTES(dir, name, off, want, size)                                               \
    do {                                                                                       \
        uint32_t f_ = lookup(dir, name);                                                       \
        const unsigned char *d_;                                                               \
        size_t n_, w_ = sizeof(want) - 1;                                                      \
        ck_assert_msg(f_, "%s: absent", name);                                                 \
        ck_assert_msg(pl_state_content(E, &S, f_, &d_, &n_, err, sizeof err) == 0, "%s", err); \
        ck_assert_uint_eq(n_, (size));                                                         \
        ck_assert_msg(memcmp(d_ + (off), (want), w_) == 0, "%s: bytes %llu..: \"%.*s\", want \"%s\"", \
                      name, (unsigned long long)(off), (int)w_, (const char *)d_ + (off), (want)); \
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
    tcase_add_test(tc, a_failed_fsync_then_a_successful_one_loses_the_first_writes);
    tcase_add_test(tc, data_written_again_after_a_failed_fsync_is_kept);
    tcase_add_test(tc, a_one_byte_write_into_a_dropped_page_carries_the_whole_page_back);
    tcase_add_test(tc, a_write_into_another_page_does_not_save_a_dropped_page);
    tcase_add_test(tc, a_page_dirtied_again_and_dropped_again_needs_a_third_write);
    tcase_add_test(tc, a_failed_fsync_loses_only_its_own_file_and_only_from_its_end);
    tcase_add_test(tc, a_failed_sync_of_everything_or_of_a_directory_loses_no_file_data);
    tcase_add_test(tc, a_sync_covers_only_what_was_written_before_it_began);
    tcase_add_test(tc, torn_cuts_the_last_write_at_a_512_byte_sector);
    tcase_add_test(tc, torn_cuts_the_last_write_at_a_4096_byte_sector);
    tcase_add_test(tc, reorder_keeps_a_later_write_without_an_earlier_one);
    tcase_add_test(tc, lie_loses_synced_bytes_and_never_invents_any);
    tcase_add_test(tc, writeback_keeps_what_the_flusher_found_older_than_expire);
    tcase_add_test(tc, the_keep_set_builds_any_state_between_durable_and_everything);
    tcase_add_test(tc, the_same_seed_gives_the_same_state_and_hash);
    tcase_add_test(tc, the_hash_detects_a_one_byte_difference);
    tcase_add_test(tc, a_state_written_to_disk_is_what_was_decided);
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
