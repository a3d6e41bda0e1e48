/* Unit tests for crashsim/: the power-loss models on hand-made files and
 * ledgers (drop, process, torn, reorder, writeback, and the seed). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <fiu-control.h>
#include <fiu.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crashsim/internal.h"
#include "tests/support.h"

/* The engine's preset `name`, good until the next call. */
static const struct pl_model *preset(const char *name)
{
    static struct pl_model m;
    m = support_model(name);
    return &m;
}

/* ---- hand-made logs ---------------------------------------------------- */

struct handmade {
    char path[WAL_PATH_MAX];
    int fd;
    uint32_t es;
    uint64_t records;
    unsigned char *orig;
    uint64_t size;
    struct crashsim_ledger *l;
};

/* records of es bytes, each written at base + seq * step ns; the first
 * durable ones covered by a sync. */
static void handmade_open(struct handmade *h, uint64_t records, uint32_t es, uint64_t durable,
                          uint64_t base, uint64_t step)
{
    memset(h, 0, sizeof *h);
    support_scratch_file(h->path, sizeof h->path, "crashsim");
    h->fd = open(h->path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(h->fd, 0);
    h->es = es;
    h->records = records;
    h->size = records * es;
    h->orig = malloc(h->size);
    ck_assert_int_eq(crashsim_ledger_create(records + 10, es, &h->l), 0);
    for (uint64_t s = 1; s <= records; s++) {
        unsigned char *rec = h->orig + (s - 1) * es;
        wal_record_encode(rec, NULL, s, es - WAL_HEADER_SIZE);
        crashsim_ledger_write_begin(h->l, (s - 1) * es, es);
        ck_assert_int_eq(pwrite(h->fd, rec, es, (off_t)((s - 1) * es)), (ssize_t)es);
        crashsim_ledger_write_done(h->l, (s - 1) * es, es, base + s * step);
        crashsim_ledger_ack(h->l, s, base + s * step + 1);
        if (s == durable) {
            uint64_t covered = crashsim_ledger_sync_begin(h->l, base + s * step + 2);
            ck_assert_uint_eq(covered, durable * es);
            crashsim_ledger_sync_end(h->l, covered, base + s * step + 2, base + s * step + 3, 0);
        }
    }
}

static void handmade_reload(struct handmade *h, unsigned char **now, uint64_t *size)
{
    struct stat sb;
    ck_assert_int_eq(fstat(h->fd, &sb), 0);
    *size = (uint64_t)sb.st_size;
    *now = malloc(*size + 1);
    ck_assert_int_eq(pread(h->fd, *now, *size, 0), (ssize_t)*size);
}

/* Puts the original content back so that another seed can be tried. */
static void handmade_restore(struct handmade *h)
{
    ck_assert_int_eq(ftruncate(h->fd, 0), 0);
    ck_assert_int_eq(pwrite(h->fd, h->orig, h->size, 0), (ssize_t)h->size);
}

static uint64_t handmade_recovered(struct handmade *h)
{
    struct wal_recovery r;
    ck_assert_int_eq(wal_recover_fd(h->fd, 0, &r, NULL, NULL), 0);
    return r.records;
}

static void handmade_close(struct handmade *h)
{
    close(h->fd);
    unlink(h->path);
    free(h->orig);
    crashsim_ledger_destroy(h->l);
}

START_TEST(model_names_parse_exactly)
{
    const char *names[] = { "drop", "torn", "reorder", "writeback", "process", "lie" };
    for (unsigned i = 0; i < 6; i++) {
        struct pl_model m;
        ck_assert_int_eq(crashsim_model_parse(names[i], &m), 0);
        ck_assert_str_eq(pl_model_name(&m), names[i]);
    }
    struct pl_model m;
    /* the engine's presets crash's one-file log does not take, and combinations */
    ck_assert_int_eq(crashsim_model_parse("ext4", &m), -EINVAL);
    ck_assert_int_eq(crashsim_model_parse("drop+torn", &m), -EINVAL);
    ck_assert_int_eq(crashsim_model_parse("Drop", &m), -EINVAL);
    ck_assert_int_eq(crashsim_model_parse("", &m), -EINVAL);
    ck_assert_int_eq(crashsim_model_parse("drop ", &m), -EINVAL);
}
END_TEST

START_TEST(drop_truncates_to_the_durable_prefix)
{
    struct handmade h;
    handmade_open(&h, 40, 100, 13, 1000000, 1000);
    struct crashsim_damage d;
    ck_assert_int_eq(crashsim_apply_model(h.fd, h.l, preset("drop"), 1, 2000000, 0, 0, 0, &d, NULL, 0), 0);
    ck_assert_uint_eq(d.size_before, 4000);
    ck_assert_uint_eq(d.durable_bytes, 1300);
    ck_assert_uint_eq(d.size_after, 1300);
    unsigned char *now;
    uint64_t size;
    handmade_reload(&h, &now, &size);
    ck_assert_uint_eq(size, 1300);
    ck_assert_int_eq(memcmp(now, h.orig, size), 0);
    ck_assert_uint_eq(handmade_recovered(&h), 13);
    free(now);
    handmade_close(&h);
}
END_TEST

START_TEST(process_keeps_the_file_as_the_page_cache_had_it)
{
    struct handmade h;
    handmade_open(&h, 40, 100, 0, 1000000, 1000);
    struct crashsim_damage d;
    ck_assert_int_eq(crashsim_apply_model(h.fd, h.l, preset("process"), 1, 2000000, 0, 0, 0, &d, NULL, 0), 0);
    ck_assert_uint_eq(d.size_after, 4000);
    ck_assert_uint_eq(d.kept_bytes, 4000);
    ck_assert_uint_eq(handmade_recovered(&h), 40);
    handmade_close(&h);
}
END_TEST

/* --sector-size 4096: the 4,000-byte log's unsynced tail (1300 .. 4000)
 * lies inside one 4 KiB sector, so torn keeps all of it or none, where at
 * 512 bytes it keeps some sectors (the test above). */
START_TEST(torn_at_4096_keeps_the_tail_whole_or_not_at_all)
{
    struct handmade h;
    handmade_open(&h, 40, 100, 13, 1000000, 1000);
    int none = 0, all = 0;
    for (uint64_t seed = 1; seed <= 100; seed++) {
        handmade_restore(&h);
        struct crashsim_damage d;
        ck_assert_int_eq(crashsim_apply_model(h.fd, h.l, preset("torn"), seed, 0, 0, 0, 4096, &d, NULL, 0), 0);
        ck_assert(d.size_after == 1300 || d.size_after == 4000);
        none += d.size_after == 1300;
        all += d.size_after == 4000;
    }
    ck_assert_int_gt(none, 0);
    ck_assert_int_gt(all, 0);
    handmade_restore(&h);
    ck_assert_int_eq(crashsim_apply_model(h.fd, h.l, preset("torn"), 1, 0, 0, 0, 1000, NULL, NULL, 0), -EINVAL);
    handmade_close(&h);
}
END_TEST

/* Records of 100 bytes straddle 512-byte sectors and the durable boundary
 * (1300) lies inside a sector: the awkward case. */
START_TEST(torn_keeps_whole_sectors_of_the_tail_and_may_garble_the_last)
{
    struct handmade h;
    handmade_open(&h, 40, 100, 13, 1000000, 1000);
    int kept_some = 0, kept_none = 0, garbled = 0, kept_all = 0;
    for (uint64_t seed = 1; seed <= 300; seed++) {
        handmade_restore(&h);
        struct crashsim_damage d;
        ck_assert_int_eq(crashsim_apply_model(h.fd, h.l, preset("torn"), seed, 0, 0, 0, 0, &d, NULL, 0), 0);
        unsigned char *now;
        uint64_t size;
        handmade_reload(&h, &now, &size);
        ck_assert_uint_eq(size, d.size_after);
        ck_assert_uint_ge(size, 1300);
        /* Ends on the durable boundary, a sector boundary, or the old end. */
        ck_assert(size == 1300 || size % 512u == 0 || size == 4000);
        uint64_t intact = d.garbled_len ? d.garbled_off : size;
        ck_assert_uint_ge(intact, 1300);
        ck_assert_int_eq(memcmp(now, h.orig, intact), 0);
        if (d.garbled_len) {
            garbled++;
            ck_assert_uint_eq(d.garbled_off + d.garbled_len, size);
            /* never reaches back into another sector */
            ck_assert_uint_ge(d.garbled_off, (size - 1) / 512u * 512u);
        }
        kept_none += size == 1300;
        kept_all += size == 4000;
        kept_some += size > 1300 && size < 4000;
        /* Recovery hands back the durable records at least, nothing damaged. */
        uint64_t rec = handmade_recovered(&h);
        ck_assert_uint_ge(rec, 13);
        ck_assert_uint_le(rec * 100, intact);
        free(now);
    }
    ck_assert_int_gt(kept_some, 0);
    ck_assert_int_gt(kept_none, 0);
    ck_assert_int_gt(kept_all, 0);
    ck_assert_int_gt(garbled, 0);
    handmade_close(&h);
}
END_TEST

START_TEST(reorder_keeps_a_subset_of_sectors_and_zeroes_the_holes)
{
    struct handmade h;
    handmade_open(&h, 40, 100, 13, 1000000, 1000);
    int holes_before_survivor = 0;
    for (uint64_t seed = 1; seed <= 200; seed++) {
        handmade_restore(&h);
        struct crashsim_damage d;
        ck_assert_int_eq(crashsim_apply_model(h.fd, h.l, preset("reorder"), seed, 0, 0, 0, 0, &d, NULL, 0), 0);
        unsigned char *now;
        uint64_t size;
        handmade_reload(&h, &now, &size);
        ck_assert_uint_eq(size, 4000);   /* the size is kept */
        ck_assert_int_eq(memcmp(now, h.orig, 1300), 0);
        ck_assert_uint_eq(d.kept_bytes + d.zeroed_bytes, 2700);
        int seen_hole = 0;
        for (uint64_t off = 1300; off < size;) {
            uint64_t end = (off / 512 + 1) * 512;
            if (end > size)
                end = size;
            int same = memcmp(now + off, h.orig + off, end - off) == 0;
            int zero = 1;
            for (uint64_t i = off; i < end; i++)
                zero &= now[i] == 0;
            ck_assert_msg(same || zero, "unit at %llu is neither kept nor zeroed",
                          (unsigned long long)off);
            if (zero && !same)
                seen_hole = 1;
            else if (seen_hole)
                holes_before_survivor = 1;
            off = end;
        }
        ck_assert_uint_ge(handmade_recovered(&h), 13);
        free(now);
    }
    ck_assert_int_eq(holes_before_survivor, 1);
    handmade_close(&h);
}
END_TEST

/* Record s written at 1 s + s ms; crash at 1 s + 30 ms.  The flusher wakes
 * every ms and writes back what is 10 ms old: everything up to about 19 ms
 * survives, the younger records do not. */
START_TEST(writeback_keeps_what_had_expired_before_the_last_tick)
{
    struct handmade h;
    const uint64_t base = 1000000000ull, ms = 1000000ull;
    handmade_open(&h, 25, 128, 5, base, ms);
    for (uint64_t seed = 1; seed <= 20; seed++) {
        handmade_restore(&h);
        struct crashsim_damage d;
        ck_assert_int_eq(crashsim_apply_model(h.fd, h.l, preset("writeback"), seed, base + 30 * ms,
                                              10, 1, 0, &d, NULL, 0), 0);
        uint64_t rec = handmade_recovered(&h);
        ck_assert_uint_ge(rec, 19);
        ck_assert_uint_le(rec, 20);
        ck_assert_uint_eq(d.size_after, rec * 128);
    }
    /* The default expiry (30 s) keeps nothing of a young tail. */
    handmade_restore(&h);
    ck_assert_int_eq(crashsim_apply_model(h.fd, h.l, preset("writeback"), 1, base + 30 * ms,
                                          30000, 5000, 0, NULL, NULL, 0), 0);
    ck_assert_uint_eq(handmade_recovered(&h), 5);
    /* No flusher at all (dirty_writeback_centisecs = 0): as drop. */
    handmade_restore(&h);
    ck_assert_int_eq(crashsim_apply_model(h.fd, h.l, preset("writeback"), 1, base + 30 * ms,
                                          10, 0, 0, NULL, NULL, 0), 0);
    ck_assert_uint_eq(handmade_recovered(&h), 5);
    handmade_close(&h);
}
END_TEST

START_TEST(same_seed_same_damage)
{
    struct handmade h;
    handmade_open(&h, 40, 100, 3, 1000000, 1000);
    const struct pl_model models[] = { support_model("torn"), support_model("reorder") };
    for (const struct pl_model *m = models; m < models + 2; m++) {
        unsigned char *a, *b;
        uint64_t sa, sb;
        handmade_restore(&h);
        ck_assert_int_eq(crashsim_apply_model(h.fd, h.l, m, 77, 0, 0, 0, 0, NULL, NULL, 0), 0);
        handmade_reload(&h, &a, &sa);
        handmade_restore(&h);
        ck_assert_int_eq(crashsim_apply_model(h.fd, h.l, m, 77, 0, 0, 0, 0, NULL, NULL, 0), 0);
        handmade_reload(&h, &b, &sb);
        ck_assert_uint_eq(sa, sb);
        ck_assert_int_eq(memcmp(a, b, sa), 0);
        free(a);
        free(b);
    }
    handmade_close(&h);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("crashsim_models");
    TCase *model = tcase_create("model");
    tcase_add_test(model, model_names_parse_exactly);
    tcase_add_test(model, drop_truncates_to_the_durable_prefix);
    tcase_add_test(model, process_keeps_the_file_as_the_page_cache_had_it);
    tcase_add_test(model, torn_at_4096_keeps_the_tail_whole_or_not_at_all);
    tcase_add_test(model, torn_keeps_whole_sectors_of_the_tail_and_may_garble_the_last);
    tcase_add_test(model, reorder_keeps_a_subset_of_sectors_and_zeroes_the_holes);
    tcase_add_test(model, writeback_keeps_what_had_expired_before_the_last_tick);
    tcase_add_test(model, same_seed_same_damage);
    suite_add_tcase(s, model);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
