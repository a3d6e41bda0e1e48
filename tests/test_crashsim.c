/* Unit tests for crashsim/: the power-loss models on hand-made files and
 * ledgers, the ledger as the wrapper records it, crashes at exact points
 * through the libfiu failure points (no timing luck needed), and runs of
 * random trials through the real fork-and-SIGKILL path. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <fiu-control.h>
#include <fiu.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crashsim/internal.h"
#include "tests/support.h"

static struct crashsim_config base_config(const char *strategy, enum crashsim_model model,
                                          uint64_t entries)
{
    struct crashsim_config c = {
        .entries = entries,
        .entry_size = 128,
        .sync_method = WAL_SYNC_FDATASYNC,
        .model = model,
        .seed = 42,
        .trials = 1,
        .max_seconds = 30,
        .dir = support_scratch_dir(),
        .writeback_expire_ms = -1,
        .writeback_interval_ms = -1,
    };
    ck_assert_int_eq(wal_strategy_parse(strategy, &c.strategy), 0);
    return c;
}

/* No scratch file of this process may be left behind. */
static void assert_no_scratch_left(void)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "fsynclab-crash-%ld-", (long)getpid());
    support_assert_none_left(support_scratch_dir(), prefix);
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
    const char *names[] = { "drop", "torn", "reorder", "writeback", "process" };
    for (unsigned i = 0; i < 5; i++) {
        enum crashsim_model m;
        ck_assert_int_eq(crashsim_model_parse(names[i], &m), 0);
        ck_assert_str_eq(crashsim_model_name(m), names[i]);
    }
    enum crashsim_model m;
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
    ck_assert_int_eq(crashsim_apply_model(h.fd, h.l, CRASHSIM_DROP, 1, 2000000, 0, 0, 0, &d, NULL, 0), 0);
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
    ck_assert_int_eq(crashsim_apply_model(h.fd, h.l, CRASHSIM_PROCESS, 1, 2000000, 0, 0, 0, &d, NULL, 0), 0);
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
        ck_assert_int_eq(crashsim_apply_model(h.fd, h.l, CRASHSIM_TORN, seed, 0, 0, 0, 4096, &d, NULL, 0), 0);
        ck_assert(d.size_after == 1300 || d.size_after == 4000);
        none += d.size_after == 1300;
        all += d.size_after == 4000;
    }
    ck_assert_int_gt(none, 0);
    ck_assert_int_gt(all, 0);
    handmade_restore(&h);
    ck_assert_int_eq(crashsim_apply_model(h.fd, h.l, CRASHSIM_TORN, 1, 0, 0, 0, 1000, NULL, NULL, 0), -EINVAL);
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
        ck_assert_int_eq(crashsim_apply_model(h.fd, h.l, CRASHSIM_TORN, seed, 0, 0, 0, 0, &d, NULL, 0), 0);
        unsigned char *now;
        uint64_t size;
        handmade_reload(&h, &now, &size);
        ck_assert_uint_eq(size, d.size_after);
        ck_assert_uint_ge(size, 1300);
        /* Ends on the durable boundary, a sector boundary, or the old end. */
        ck_assert(size == 1300 || size % CRASHSIM_SECTOR == 0 || size == 4000);
        uint64_t intact = d.garbled_len ? d.garbled_off : size;
        ck_assert_uint_ge(intact, 1300);
        ck_assert_int_eq(memcmp(now, h.orig, intact), 0);
        if (d.garbled_len) {
            garbled++;
            ck_assert_uint_eq(d.garbled_off + d.garbled_len, size);
            /* never reaches back into another sector */
            ck_assert_uint_ge(d.garbled_off, (size - 1) / CRASHSIM_SECTOR * CRASHSIM_SECTOR);
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
        ck_assert_int_eq(crashsim_apply_model(h.fd, h.l, CRASHSIM_REORDER, seed, 0, 0, 0, 0, &d, NULL, 0), 0);
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
        ck_assert_int_eq(crashsim_apply_model(h.fd, h.l, CRASHSIM_WRITEBACK, seed, base + 30 * ms,
                                              10, 1, 0, &d, NULL, 0), 0);
        uint64_t rec = handmade_recovered(&h);
        ck_assert_uint_ge(rec, 19);
        ck_assert_uint_le(rec, 20);
        ck_assert_uint_eq(d.size_after, rec * 128);
    }
    /* The default expiry (30 s) keeps nothing of a young tail. */
    handmade_restore(&h);
    ck_assert_int_eq(crashsim_apply_model(h.fd, h.l, CRASHSIM_WRITEBACK, 1, base + 30 * ms,
                                          30000, 5000, 0, NULL, NULL, 0), 0);
    ck_assert_uint_eq(handmade_recovered(&h), 5);
    /* No flusher at all (dirty_writeback_centisecs = 0): as drop. */
    handmade_restore(&h);
    ck_assert_int_eq(crashsim_apply_model(h.fd, h.l, CRASHSIM_WRITEBACK, 1, base + 30 * ms,
                                          10, 0, 0, NULL, NULL, 0), 0);
    ck_assert_uint_eq(handmade_recovered(&h), 5);
    handmade_close(&h);
}
END_TEST

START_TEST(same_seed_same_damage)
{
    struct handmade h;
    handmade_open(&h, 40, 100, 3, 1000000, 1000);
    for (int m = CRASHSIM_TORN; m <= CRASHSIM_REORDER; m++) {
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

/* ---- crashes at exact points ---------------------------------------------- */

struct nth {
    const char *point;
    int n;
    void *info;
    unsigned flags;
};
static _Atomic int nth_seen;   /* several writer threads may pass a point at once */
static int nth_target;

static int nth_cb(const char *name, int *failnum, void **failinfo, unsigned *flags)
{
    (void)name, (void)failnum, (void)failinfo, (void)flags;
    return atomic_fetch_add(&nth_seen, 1) + 1 == nth_target;
}

/* Runs in the writer, right after fork. */
static void fail_at_nth(void *arg)
{
    struct nth *n = arg;
    nth_seen = 0;
    nth_target = n->n;
    fiu_enable_external(n->point, 1, n->info, n->flags, nth_cb);
}

static struct crashsim_trial_result trial_at(const struct crashsim_config *cfg, struct nth *n)
{
    struct crashsim_trial_opts o = {
        .kill = CRASHSIM_KILL_WAIT,
        .deadline_ns = wal_now_ns() + 20000000000ull,   /* a bound for a stuck test only */
        .child_hook = fail_at_nth,
        .hook_arg = n,
        .writeback_expire_ms = 1,
        .writeback_interval_ms = 1,
    };
    struct crashsim_trial_result r;
    char err[512];
    int rc = crashsim_trial(cfg, NULL, 9, &o, &r, err, sizeof err);
    ck_assert_msg(rc == 0, "crashsim_trial: %s", err);
    return r;
}

static const char *const exact_strategies[] = { "always", "group", "batch_2ms", "none" };

START_TEST(crash_after_a_write_before_its_sync)
{
    const char *strategy = exact_strategies[_i / 5];
    enum crashsim_model model = (enum crashsim_model)(_i % 5);
    struct crashsim_config cfg = base_config(strategy, model, 50);
    struct nth n = { CRASHSIM_FIU_WRITE_AFTER, 3, CRASHSIM_FIU_DIE, 0 };
    struct crashsim_trial_result r = trial_at(&cfg, &n);
    const struct verifier_trial *v = &r.verdict;
    ck_assert_int_eq(r.writer, CRASHSIM_WRITER_DIED);
    ck_assert_uint_eq(r.ledger.acked, 2);          /* seq 3 was written, never acknowledged */
    ck_assert_uint_eq(v->written, 3);
    ck_assert_uint_eq(v->corrupt_recovered, 0);
    ck_assert_uint_ge(v->recovered, r.ledger.durable_bytes / 128);
    if (model == CRASHSIM_PROCESS) {
        ck_assert_uint_eq(v->recovered, 3);        /* the page cache kept seq 3 */
        ck_assert_uint_eq(v->unacked_recovered, 1);
        ck_assert_uint_eq(v->acked_lost, 0);
    }
    if (cfg.strategy.kind == WAL_ALWAYS || cfg.strategy.kind == WAL_GROUP) {
        ck_assert_uint_eq(r.ledger.durable_bytes, 2 * 128);
        ck_assert_uint_eq(v->acked_lost, 0);
        if (model == CRASHSIM_DROP)
            ck_assert_uint_eq(v->recovered, 2);
    }
    if (cfg.strategy.kind == WAL_NONE && model == CRASHSIM_DROP) {
        ck_assert_uint_eq(v->recovered, 0);
        ck_assert_uint_eq(v->acked_lost, 2);
        ck_assert_uint_eq(v->oldest_lost_seq, 1);
        ck_assert_uint_gt(v->loss_window_ns, 0);
    }
    assert_no_scratch_left();
}
END_TEST

/* Sync number 3 under always/group (the third append's); the flusher's
 * first under batch. */
static void crash_at_sync(int i, const char *point)
{
    const char *strategy = exact_strategies[i / 5];
    enum crashsim_model model = (enum crashsim_model)(i % 5);
    struct crashsim_config cfg = base_config(strategy, model, 2000);
    int batch = cfg.strategy.kind == WAL_BATCH;
    struct nth n = { point, batch ? 1 : 3, CRASHSIM_FIU_DIE, 0 };
    struct crashsim_trial_result r = trial_at(&cfg, &n);
    const struct verifier_trial *v = &r.verdict;
    ck_assert_int_eq(r.writer, CRASHSIM_WRITER_DIED);
    ck_assert_uint_eq(v->corrupt_recovered, 0);
    ck_assert_uint_eq(r.ledger.syncs_started, n.n);
    ck_assert_uint_eq(r.ledger.syncs_ok, n.n - 1);
    ck_assert_uint_gt(r.ledger.sync_inflight_ns, 0);   /* the crash caught it in flight */
    /* The sync in flight proves nothing: only completed syncs count. */
    ck_assert_uint_eq(v->max_sync_ns, r.ledger.sync_max_ns);
    if (batch) {
        ck_assert_uint_eq(r.ledger.durable_bytes, 0);
        if (model == CRASHSIM_DROP) {
            ck_assert_uint_eq(v->recovered, 0);
            ck_assert_uint_eq(v->acked_lost, v->acked);
        }
    } else {
        ck_assert_uint_eq(r.ledger.acked, 2);
        ck_assert_uint_eq(r.ledger.durable_bytes, 2 * 128);
        ck_assert_uint_eq(v->acked_lost, 0);
        ck_assert_uint_ge(v->recovered, 2);
        if (model == CRASHSIM_DROP)
            ck_assert_uint_eq(v->recovered, 2);
        if (model == CRASHSIM_PROCESS)
            ck_assert_uint_eq(v->recovered, 3);
    }
    if (model == CRASHSIM_PROCESS)
        ck_assert_uint_eq(v->acked_lost, 0);
    assert_no_scratch_left();
}

START_TEST(crash_in_the_middle_of_a_sync)
{
    crash_at_sync(_i, CRASHSIM_FIU_SYNC_BEFORE);
}
END_TEST

/* The sync returned but its success was never published (nor anything
 * acknowledged on it): the model loses data that was really durable, and
 * still no acknowledged entry. */
START_TEST(crash_after_a_sync_before_the_ack)
{
    crash_at_sync(_i, CRASHSIM_FIU_SYNC_AFTER);
}
END_TEST

/* Four writer threads, and the writer dies at the third sync, in it or
 * just after it returned: whoever was waiting for that sync was never
 * acknowledged, and every acknowledged entry lies in the durable prefix.
 * Under group only the leader syncs, so exactly two syncs had returned;
 * under always the writers sync side by side. */
START_TEST(crash_at_a_sync_with_four_writers)
{
    const char *strategy = _i < 10 ? "group" : "always";
    const char *point = (_i / 5) % 2 ? CRASHSIM_FIU_SYNC_AFTER : CRASHSIM_FIU_SYNC_BEFORE;
    enum crashsim_model model = (enum crashsim_model)(_i % 5);
    struct crashsim_config cfg = base_config(strategy, model, 200);
    cfg.writers = 4;
    struct nth n = { point, 3, CRASHSIM_FIU_DIE, 0 };
    struct crashsim_trial_result r = trial_at(&cfg, &n);
    const struct verifier_trial *v = &r.verdict;
    ck_assert_int_eq(r.writer, CRASHSIM_WRITER_DIED);
    ck_assert_uint_eq(v->corrupt_recovered, 0);
    ck_assert_uint_eq(v->acked_lost, 0);
    ck_assert_uint_le(r.ledger.acked_max_seq * 128, r.ledger.durable_bytes);
    ck_assert_uint_ge(v->recovered * 128, r.ledger.durable_bytes);
    ck_assert_uint_ge(r.ledger.syncs_inflight, 1);
    if (cfg.strategy.kind == WAL_GROUP) {
        ck_assert_uint_eq(r.ledger.syncs_started, 3);
        ck_assert_uint_eq(r.ledger.syncs_ok, 2);
        ck_assert_uint_eq(r.ledger.syncs_inflight, 1);
    }
    if (model == CRASHSIM_DROP)
        ck_assert_uint_eq(v->recovered * 128, r.ledger.durable_bytes);
    assert_no_scratch_left();
}
END_TEST

/* Each writer thread appends its own share: the pwrites come from as many
 * threads as have entries (recorded by a failure point that never fails,
 * into memory shared with the test). */
struct tids {
    _Atomic int n;
    _Atomic long tid[CRASHSIM_MAX_WRITERS + 1];
};
static struct tids *seen_tids;

static int note_tid(const char *name, int *failnum, void **failinfo, unsigned *flags)
{
    (void)name, (void)failnum, (void)failinfo, (void)flags;
    long me = (long)syscall(SYS_gettid);
    int n = atomic_load(&seen_tids->n);
    for (int i = 0; i < n; i++)
        if (atomic_load(&seen_tids->tid[i]) == me)
            return 0;
    int at = atomic_fetch_add(&seen_tids->n, 1);   /* only this thread adds me */
    if (at <= (int)CRASHSIM_MAX_WRITERS)
        atomic_store(&seen_tids->tid[at], me);
    return 0;
}

static void count_writing_threads(void *arg)
{
    (void)arg;
    fiu_enable_external(CRASHSIM_FIU_WRITE_BEFORE, 1, NULL, 0, note_tid);
}

START_TEST(each_writer_thread_appends_its_share)
{
    static const struct { unsigned writers; uint64_t entries; const char *strategy; } cases[] = {
        { 1, 30, "group" }, { 16, 40, "group" }, { 4, 400, "always" }, { 8, 3, "none" },
        { 256, 600, "batch_1ms" },
    };
    seen_tids = mmap(NULL, sizeof *seen_tids, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                     -1, 0);
    ck_assert_ptr_ne(seen_tids, MAP_FAILED);
    for (unsigned c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        memset(seen_tids, 0, sizeof *seen_tids);
        struct crashsim_config cfg = base_config(cases[c].strategy, CRASHSIM_PROCESS,
                                                 cases[c].entries);
        cfg.writers = cases[c].writers;
        struct crashsim_trial_opts o = {
            .kill = CRASHSIM_KILL_WAIT,
            .deadline_ns = wal_now_ns() + 20000000000ull,
            .child_hook = count_writing_threads,
            .writeback_expire_ms = -1,
            .writeback_interval_ms = -1,
        };
        struct crashsim_trial_result r;
        char err[512];
        ck_assert_msg(crashsim_trial(&cfg, NULL, 3, &o, &r, err, sizeof err) == 0, "%s", err);
        ck_assert_int_eq(r.writer, CRASHSIM_WRITER_DONE);
        ck_assert_uint_eq(r.verdict.recovered, cases[c].entries);
        ck_assert_uint_eq(r.verdict.acked, cases[c].entries);
        ck_assert_uint_eq(r.ledger.acked, cases[c].entries);
        ck_assert_uint_eq(r.verdict.unacked_recovered + r.verdict.acked_lost +
                          r.verdict.corrupt_recovered, 0);
        unsigned expect = cases[c].writers < cases[c].entries ? cases[c].writers
                                                              : (unsigned)cases[c].entries;
        if (strcmp(cases[c].strategy, "group") == 0) {
            /* Only leaders write, each for every writer waiting. */
            ck_assert_int_ge(atomic_load(&seen_tids->n), 1);
            ck_assert_int_le(atomic_load(&seen_tids->n), (int)expect);
        } else {
            ck_assert_int_eq(atomic_load(&seen_tids->n), (int)expect);
        }
    }
    munmap(seen_tids, sizeof *seen_tids);
    assert_no_scratch_left();
}
END_TEST

/* ---- failures handed to the writer ---------------------------------------- */

START_TEST(failed_sync_fails_the_append_and_is_never_retried)
{
    struct crashsim_config cfg = base_config("always", CRASHSIM_DROP, 100);
    struct nth n = { CRASHSIM_FIU_SYNC_BEFORE, 4, CRASHSIM_FIU_ERRNO(EIO), FIU_ONETIME };
    struct crashsim_trial_result r = trial_at(&cfg, &n);
    ck_assert_int_eq(r.writer, CRASHSIM_WRITER_APPEND_FAILED);
    ck_assert_int_eq(r.append_rc, -EIO);
    ck_assert_int_eq(r.append_rc_next, -EIO);   /* the log stays failed */
    /* A retry would have succeeded (the point fails once): there was none. */
    ck_assert_uint_eq(r.ledger.syncs_started, 4);
    ck_assert_uint_eq(r.ledger.syncs_failed, 1);
    ck_assert_uint_eq(r.ledger.acked, 3);
    ck_assert_uint_eq(r.verdict.acked_lost, 0);
    ck_assert_uint_eq(r.verdict.recovered, 3);   /* seq 4 is not claimed durable */
    assert_no_scratch_left();
}
END_TEST

START_TEST(failed_flusher_sync_fails_later_appends)
{
    struct crashsim_config cfg = base_config("batch_1ms", CRASHSIM_PROCESS, 2000000);
    struct nth n = { CRASHSIM_FIU_SYNC_BEFORE, 1, CRASHSIM_FIU_ERRNO(EIO), FIU_ONETIME };
    struct crashsim_trial_opts o = {
        .kill = CRASHSIM_KILL_WAIT,
        .deadline_ns = wal_now_ns() + 20000000000ull,
        .child_hook = fail_at_nth,
        .hook_arg = &n,
        .writeback_expire_ms = -1,
        .writeback_interval_ms = -1,
    };
    struct crashsim_trial_result r;
    char err[512];
    ck_assert_int_eq(crashsim_trial(&cfg, NULL, 5, &o, &r, err, sizeof err), 0);
    ck_assert_int_eq(r.writer, CRASHSIM_WRITER_APPEND_FAILED);
    ck_assert_int_eq(r.append_rc, -EIO);
    ck_assert_int_eq(r.append_rc_next, -EIO);
    ck_assert_uint_eq(r.ledger.syncs_ok, 0);
    ck_assert_msg(strstr(err, "fdatasync(") && strstr(err, "Input/output error"), "err: %s", err);
    assert_no_scratch_left();
}
END_TEST

START_TEST(failed_write_fails_the_append)
{
    struct crashsim_config cfg = base_config("none", CRASHSIM_PROCESS, 100);
    struct nth n = { CRASHSIM_FIU_WRITE_BEFORE, 5, CRASHSIM_FIU_ERRNO(ENOSPC), 0 };
    struct crashsim_trial_result r = trial_at(&cfg, &n);
    ck_assert_int_eq(r.writer, CRASHSIM_WRITER_APPEND_FAILED);
    ck_assert_int_eq(r.append_rc, -ENOSPC);
    ck_assert_uint_eq(r.verdict.recovered, 4);
    ck_assert_uint_eq(r.verdict.acked_lost, 0);
    assert_no_scratch_left();
}
END_TEST

/* The failed call is named as the benchmark names it (wal_op_call): under
 * O_DSYNC the write is the sync, and says so. */
START_TEST(failed_o_dsync_write_names_the_call_as_bench_does)
{
    struct crashsim_config cfg = base_config("none", CRASHSIM_PROCESS, 100);
    cfg.sync_method = WAL_SYNC_O_DSYNC;
    struct nth n = { CRASHSIM_FIU_WRITE_BEFORE, 5, CRASHSIM_FIU_ERRNO(ENOSPC), 0 };
    struct crashsim_trial_opts o = {
        .kill = CRASHSIM_KILL_WAIT,
        .deadline_ns = wal_now_ns() + 20000000000ull,
        .child_hook = fail_at_nth,
        .hook_arg = &n,
        .writeback_expire_ms = -1,
        .writeback_interval_ms = -1,
    };
    struct crashsim_trial_result r;
    char err[WAL_PATH_MAX + 128], want[WAL_PATH_MAX];
    ck_assert_int_eq(crashsim_trial(&cfg, NULL, 5, &o, &r, err, sizeof err), 0);
    ck_assert_int_eq(r.writer, CRASHSIM_WRITER_APPEND_FAILED);
    ck_assert_int_eq(r.append_rc, -ENOSPC);
    snprintf(want, sizeof want, "pwrite(O_DSYNC)(%s/fsynclab-crash-%ld-", cfg.dir,
             (long)getpid());
    ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "err: %s", err);
    const char *tail = ".wal): No space left on device";
    ck_assert_msg(strlen(err) > strlen(tail) && strcmp(err + strlen(err) - strlen(tail), tail) == 0,
                  "err: %s", err);
    assert_no_scratch_left();
}
END_TEST

START_TEST(setup_failure_is_reported_and_nothing_is_left)
{
    struct crashsim_config cfg = base_config("none", CRASHSIM_DROP, 10);
    cfg.dir = "build/scratch/no/such/dir";
    struct verifier_summary s;
    char err[512];
    int rc = crashsim_run(&cfg, &s, NULL, NULL, err, sizeof err);
    ck_assert_int_eq(rc, -ENOENT);
    /* The first file a run makes is the calibration's. */
    ck_assert_msg(strstr(err, "open(build/scratch/no/such/dir/fsynclab-calibrate-") != NULL, "err: %s", err);
    ck_assert_uint_eq(s.trials, 0);
    cfg.dir = support_scratch_dir();
    cfg.entry_size = 8;
    ck_assert_int_eq(crashsim_run(&cfg, &s, NULL, NULL, err, sizeof err), -EINVAL);
    ck_assert_str_eq(err, "crash config: invalid entry_size");
    cfg.entry_size = 128;
    cfg.writers = CRASHSIM_MAX_WRITERS + 1;
    ck_assert_int_eq(crashsim_run(&cfg, &s, NULL, NULL, err, sizeof err), -EINVAL);
    ck_assert_str_eq(err, "crash config: invalid writers");
}
END_TEST

/* ---- random trials through the real crash path ---------------------------- */

static struct verifier_summary run_with(const char *strategy, enum crashsim_model model,
                                        uint64_t entries, uint32_t trials, unsigned writers)
{
    struct crashsim_config cfg = base_config(strategy, model, entries);
    cfg.trials = trials;
    cfg.writers = writers;
    cfg.writeback_expire_ms = 2;
    cfg.writeback_interval_ms = 1;
    struct verifier_summary s;
    char err[512];
    int rc = crashsim_run(&cfg, &s, NULL, NULL, err, sizeof err);
    ck_assert_msg(rc == 0, "crashsim_run: %s", err);
    ck_assert_uint_eq(s.trials, trials);
    ck_assert_uint_eq(s.corrupt_recovered, 0);
    assert_no_scratch_left();
    return s;
}

static struct verifier_summary run(const char *strategy, enum crashsim_model model,
                                   uint64_t entries, uint32_t trials)
{
    return run_with(strategy, model, entries, trials, 1);
}

START_TEST(o_direct_dsync_pads_records_and_every_acknowledged_write_survives_power_loss)
{
    /* 128-byte entries are padded to the direct I/O alignment, as bench pads
     * them; each O_DIRECT|O_DSYNC write is durable when it returns, so even
     * none loses nothing acknowledged under drop. */
    struct crashsim_config cfg = base_config("none", CRASHSIM_DROP, 200);
    cfg.sync_method = WAL_SYNC_O_DIRECT_DSYNC;
    cfg.trials = 10;
    struct verifier_summary s;
    char err[512];
    int rc = crashsim_run(&cfg, &s, NULL, NULL, err, sizeof err);
    ck_assert_msg(rc == 0, "crashsim_run: %s", err);
    ck_assert_uint_eq(s.trials, 10);
    ck_assert_uint_eq(s.acked_lost_max, 0);
    ck_assert_uint_gt(s.acked_total, 0);
    ck_assert_uint_eq(s.corrupt_recovered, 0);
    assert_no_scratch_left();
}
END_TEST

START_TEST(preallocated_logs_recover_like_growing_ones)
{
    /* The zero-filled space after the last record must read as the end of
     * the log, never as records: always keeps everything, process loses
     * nothing, drop loses what none never synced. */
    const struct { const char *strategy; enum crashsim_model model; int loses; } cases[] = {
        { "always", CRASHSIM_DROP, 0 },
        { "none", CRASHSIM_PROCESS, 0 },
        { "none", CRASHSIM_DROP, 1 },
    };
    for (size_t i = 0; i < 3; i++) {
        struct crashsim_config cfg = base_config(cases[i].strategy, cases[i].model, 300);
        cfg.prealloc = 1;
        cfg.trials = 10;
        struct verifier_summary s;
        char err[512];
        int rc = crashsim_run(&cfg, &s, NULL, NULL, err, sizeof err);
        ck_assert_msg(rc == 0, "crashsim_run: %s", err);
        ck_assert_uint_eq(s.corrupt_recovered, 0);
        if (cases[i].loses)
            ck_assert_uint_gt(s.acked_lost_max, 0);
        else
            ck_assert_uint_eq(s.acked_lost_max, 0);
        assert_no_scratch_left();
    }
}
END_TEST

START_TEST(always_never_loses_an_acknowledged_entry)
{
    struct verifier_summary s = run("always", CRASHSIM_DROP, 30, 100);
    ck_assert_uint_eq(s.acked_lost_max, 0);
    ck_assert_int_eq(s.held, VERIFIER_HELD_TRUE);
    ck_assert_int_eq(s.promised_window_ms, 0);
    ck_assert_uint_gt(s.acked_total, 0);
    s = run("group", CRASHSIM_TORN, 30, 30);
    ck_assert_uint_eq(s.acked_lost_max, 0);
    ck_assert_int_eq(s.held, VERIFIER_HELD_TRUE);
}
END_TEST

/* Group commit with 8 and 16 writers: one leader's sync serves all who
 * wait, and no acknowledgement may come before the sync that covers it. */
START_TEST(group_never_loses_an_acknowledged_entry_with_many_writers)
{
    unsigned writers = _i == 0 ? 8 : 16;
    struct verifier_summary s = run_with("group", CRASHSIM_DROP, 160, 100, writers);
    ck_assert_uint_eq(s.acked_lost_max, 0);
    ck_assert_int_eq(s.held, VERIFIER_HELD_TRUE);
    ck_assert_uint_gt(s.acked_total, 0);
    ck_assert_uint_gt(s.max_sync_ns, 0);
}
END_TEST

START_TEST(always_never_loses_an_acknowledged_entry_with_four_writers)
{
    struct verifier_summary s = run_with("always", CRASHSIM_DROP, 40, 100, 4);
    ck_assert_uint_eq(s.acked_lost_max, 0);
    ck_assert_int_eq(s.held, VERIFIER_HELD_TRUE);
    ck_assert_uint_gt(s.acked_total, 0);
}
END_TEST

/* Batch acknowledges before the sync: with four writers and enough entries
 * for the flusher to be behind at the crash, power loss takes some, and
 * still no damaged record comes back. */
START_TEST(batch_with_four_writers_loses_some_and_hands_back_nothing_corrupt)
{
    struct verifier_summary s = run_with("batch_2ms", CRASHSIM_DROP, 20000, 20, 4);
    ck_assert_uint_gt(s.acked_lost_total, 0);
    ck_assert_uint_gt(s.acked_total, s.acked_lost_total);   /* the flusher synced some */
    ck_assert_int_ne(s.held, VERIFIER_HELD_NULL);
    s = run_with("batch_2ms", CRASHSIM_TORN, 5000, 20, 4);
    ck_assert_uint_eq(s.corrupt_recovered, 0);
}
END_TEST

START_TEST(torn_and_reorder_never_hand_back_a_corrupt_entry)
{
    const char *strategies[] = { "none", "batch_1ms", "always" };
    for (int m = CRASHSIM_TORN; m <= CRASHSIM_REORDER; m++)
        for (int i = 0; i < 3; i++)
            run(strategies[i], (enum crashsim_model)m, i == 2 ? 20 : 1000, i == 2 ? 20 : 60);
}
END_TEST

START_TEST(process_crash_loses_nothing_under_none)
{
    struct verifier_summary s = run("none", CRASHSIM_PROCESS, 1000, 100);
    ck_assert_uint_eq(s.acked_lost_max, 0);
    ck_assert_uint_gt(s.acked_total, 0);
    ck_assert_int_eq(s.held, VERIFIER_HELD_NULL);
    ck_assert_int_eq(s.promised_window_ms, -1);
}
END_TEST

START_TEST(power_loss_under_none_loses_acknowledged_entries)
{
    struct verifier_summary s = run("none", CRASHSIM_DROP, 1000, 30);
    /* Nothing was ever synced: every trial loses all it acknowledged. */
    ck_assert_uint_eq(s.acked_lost_total, s.acked_total);
    ck_assert_double_ge(verifier_summary_acked_lost_mean(&s), 1.0);
    ck_assert_uint_gt(s.loss_window_ns_max, 0);
    ck_assert_int_eq(s.held, VERIFIER_HELD_NULL);
    s = run("none", CRASHSIM_WRITEBACK, 1000, 30);
    ck_assert_uint_eq(s.corrupt_recovered, 0);
}
END_TEST

/* The promise is N ms plus the sync.  The flusher wakes on a timer, and a
 * loaded two-core machine delays it (tens of ms when several test binaries
 * run at once), so the maximum gets a wide margin; the median, which a
 * flusher that never synced would push to half the writing period (about
 * 40 ms for 20000 entries), gets a narrow one. */
START_TEST(batch_loses_at_most_its_interval_plus_a_sync)
{
    struct verifier_summary s = run("batch_2ms", CRASHSIM_DROP, 20000, 40);
    ck_assert_int_eq(s.promised_window_ms, 2);
    ck_assert_int_ne(s.held, VERIFIER_HELD_NULL);
    double sync = verifier_summary_max_sync_ms(&s);
    ck_assert_msg(verifier_summary_window_ms_p50(&s) <= 2 + sync + 10,
                  "median window %.3f ms, max sync %.3f ms", verifier_summary_window_ms_p50(&s),
                  sync);
    ck_assert_msg(verifier_summary_window_ms_max(&s) <= 2 + sync + 100,
                  "window %.3f ms, max sync %.3f ms", verifier_summary_window_ms_max(&s), sync);
    ck_assert_uint_gt(s.max_sync_ns, 0);   /* the flusher did sync */
}
END_TEST

/* The writers come from the run's fork server as children of the caller
 * (so it kills and reaps them itself), and the end of the run takes the
 * server and its spare writer too: no child is left, not even a zombie. */
START_TEST(a_run_leaves_no_child_behind_not_even_a_zombie)
{
    struct verifier_summary s = run("none", CRASHSIM_DROP, 300, 20);
    ck_assert_uint_eq(s.trials, 20);
    int status;
    errno = 0;
    ck_assert_int_eq(waitpid(-1, &status, WNOHANG), -1);
    ck_assert_int_eq(errno, ECHILD);
}
END_TEST

START_TEST(budget_ends_a_run_early)
{
    struct crashsim_config cfg = base_config("none", CRASHSIM_DROP, 1000);
    cfg.trials = CRASHSIM_MAX_TRIALS;
    /* 1 s: on a loaded machine the calibration before the trials can take
     * a few hundred ms of the budget, and at least one trial must fit. */
    cfg.max_seconds = 1.0;
    struct verifier_summary s;
    char err[512];
    uint64_t t0 = wal_now_ns();
    ck_assert_int_eq(crashsim_run(&cfg, &s, NULL, NULL, err, sizeof err), 0);
    ck_assert_uint_ge(s.trials, 1);
    ck_assert_uint_lt(s.trials, CRASHSIM_MAX_TRIALS);
    /* Loose: all 10,000 trials would take well over a minute here. */
    ck_assert_uint_lt(wal_now_ns() - t0, 20000000000ull);
    assert_no_scratch_left();
}
END_TEST

static void count_progress(void *arg, uint32_t done, uint32_t total)
{
    uint32_t *seen = arg;
    ck_assert_uint_eq(done, *seen + 1);
    ck_assert_uint_eq(total, 7);
    *seen = done;
}

START_TEST(progress_is_reported_after_each_trial)
{
    struct crashsim_config cfg = base_config("none", CRASHSIM_PROCESS, 100);
    cfg.trials = 7;
    struct verifier_summary s;
    uint32_t seen = 0;
    char err[512];
    ck_assert_int_eq(crashsim_run(&cfg, &s, count_progress, &seen, err, sizeof err), 0);
    ck_assert_uint_eq(seen, 7);
    ck_assert_uint_eq(s.trials, 7);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("crashsim");
    TCase *model = tcase_create("model");
    tcase_add_test(model, model_names_parse_exactly);
    tcase_add_test(model, drop_truncates_to_the_durable_prefix);
    tcase_add_test(model, process_keeps_the_file_as_the_page_cache_had_it);
    tcase_add_test(model, torn_keeps_whole_sectors_of_the_tail_and_may_garble_the_last);
    tcase_add_test(model, reorder_keeps_a_subset_of_sectors_and_zeroes_the_holes);
    tcase_add_test(model, writeback_keeps_what_had_expired_before_the_last_tick);
    tcase_add_test(model, same_seed_same_damage);
    suite_add_tcase(s, model);
    TCase *ledger = tcase_create("ledger");
    tcase_add_test(ledger, ledger_marks_records_only_when_whole);
    tcase_add_test(ledger, ledger_takes_acks_in_any_order_and_overlapping_syncs);
    tcase_add_test(ledger, wrapper_records_writes_and_syncs_and_injects_errors);
    suite_add_tcase(s, ledger);
    TCase *exact = tcase_create("exact");
    tcase_set_timeout(exact, 60);
    tcase_add_loop_test(exact, crash_after_a_write_before_its_sync, 0, 20);
    tcase_add_loop_test(exact, crash_in_the_middle_of_a_sync, 0, 15);   /* none never syncs */
    tcase_add_loop_test(exact, crash_after_a_sync_before_the_ack, 0, 15);
    tcase_add_loop_test(exact, crash_at_a_sync_with_four_writers, 0, 20);
    tcase_add_test(exact, each_writer_thread_appends_its_share);
    tcase_add_test(exact, failed_sync_fails_the_append_and_is_never_retried);
    tcase_add_test(exact, failed_flusher_sync_fails_later_appends);
    tcase_add_test(exact, failed_write_fails_the_append);
    tcase_add_test(exact, failed_o_dsync_write_names_the_call_as_bench_does);
    tcase_add_test(exact, setup_failure_is_reported_and_nothing_is_left);
    suite_add_tcase(s, exact);
    TCase *random = tcase_create("random");
    tcase_set_timeout(random, 60);
    tcase_add_test(random, always_never_loses_an_acknowledged_entry);
    tcase_add_loop_test(random, group_never_loses_an_acknowledged_entry_with_many_writers, 0, 2);
    tcase_add_test(random, always_never_loses_an_acknowledged_entry_with_four_writers);
    tcase_add_test(random, batch_with_four_writers_loses_some_and_hands_back_nothing_corrupt);
    tcase_add_test(random, torn_and_reorder_never_hand_back_a_corrupt_entry);
    tcase_add_test(random, process_crash_loses_nothing_under_none);
    tcase_add_test(random, power_loss_under_none_loses_acknowledged_entries);
    tcase_add_test(random, batch_loses_at_most_its_interval_plus_a_sync);
    tcase_add_test(random, a_run_leaves_no_child_behind_not_even_a_zombie);
    tcase_add_test(random, budget_ends_a_run_early);
    tcase_add_test(random, torn_at_4096_keeps_the_tail_whole_or_not_at_all);
    tcase_add_test(random, o_direct_dsync_pads_records_and_every_acknowledged_write_survives_power_loss);
    tcase_add_test(random, preallocated_logs_recover_like_growing_ones);
    tcase_add_test(random, progress_is_reported_after_each_trial);
    suite_add_tcase(s, random);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
