/* Unit tests for wal/: the record format, recovery on damaged tails, and the
 * strategies' semantics counted through the storage seam (a fake file that
 * logs every call). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "tests/support.h"
#include "wal/wal.h"

/* ---- a fake file behind the seam ---------------------------------------- */

enum ev { EV_WRITE, EV_SYNC_START, EV_SYNC_END, EV_ACK };

struct fake {
    struct wal_file base;
    pthread_mutex_t mu;
    pthread_cond_t changed;
    enum ev events[4096];
    unsigned nevents;
    unsigned writes, syncs;
    uint64_t written;    /* bytes: the end of the furthest write */
    int sync_error;      /* returned by every sync when set */
    int write_error;
    uint64_t covered;    /* bytes written when the last completed sync started */
    int hold_syncs;      /* syncs block until the test clears this */
};

static void fake_event(struct fake *f, enum ev e, uint64_t end)
{
    pthread_mutex_lock(&f->mu);
    if (end > f->written)
        f->written = end;
    if (f->nevents < 4096)
        f->events[f->nevents++] = e;
    if (e == EV_WRITE)
        f->writes++;
    if (e == EV_SYNC_END)
        f->syncs++;
    pthread_cond_broadcast(&f->changed);
    pthread_mutex_unlock(&f->mu);
}

static int fake_pwrite(struct wal_file *wf, const void *buf, size_t len, off_t off)
{
    (void)buf;
    struct fake *f = (struct fake *)wf;
    if (f->write_error)
        return f->write_error;
    fake_event(f, EV_WRITE, (uint64_t)off + len);
    return 0;
}

static int fake_sync(struct wal_file *wf)
{
    struct fake *f = (struct fake *)wf;
    fake_event(f, EV_SYNC_START, 0);
    pthread_mutex_lock(&f->mu);
    uint64_t written_at_start = f->written;
    while (f->hold_syncs)
        pthread_cond_wait(&f->changed, &f->mu);
    pthread_mutex_unlock(&f->mu);
    if (f->sync_error)
        return f->sync_error;
    pthread_mutex_lock(&f->mu);
    f->covered = written_at_start;
    pthread_mutex_unlock(&f->mu);
    fake_event(f, EV_SYNC_END, 0);
    return 0;
}

/* Waits (bounded, for a stuck test) until pred(f) holds. */
static int fake_wait(struct fake *f, int (*pred)(struct fake *))
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&f->mu);
    while (!pred(f) && pthread_cond_timedwait(&f->changed, &f->mu, &until) == 0)
        ;
    int ok = pred(f);
    pthread_mutex_unlock(&f->mu);
    return ok;
}

static int fake_close(struct wal_file *wf)
{
    (void)wf;   /* the test owns the fake */
    return 0;
}

static const struct wal_file_methods fake_methods = { fake_pwrite, fake_sync, fake_close };

static void fake_init(struct fake *f)
{
    memset(f, 0, sizeof *f);
    f->base.methods = &fake_methods;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->changed, NULL);
}

/* Waits (up to 10 s, a bound for a stuck test, not a timing assumption) for
 * the fake to have seen at least n completed syncs. */
static unsigned fake_wait_syncs(struct fake *f, unsigned n)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&f->mu);
    while (f->syncs < n && pthread_cond_timedwait(&f->changed, &f->mu, &until) == 0)
        ;
    unsigned got = f->syncs;
    pthread_mutex_unlock(&f->mu);
    return got;
}

static struct wal_strategy strategy(const char *name)
{
    struct wal_strategy s;
    ck_assert_int_eq(wal_strategy_parse(name, &s), 0);
    return s;
}

/* ---- record format ------------------------------------------------------ */

START_TEST(record_roundtrips_with_seq_length_and_payload)
{
    unsigned char buf[256];
    size_t n = wal_record_encode(buf, NULL, 42, 100);
    ck_assert_uint_eq(n, WAL_HEADER_SIZE + 100);
    uint64_t seq;
    const unsigned char *payload;
    uint32_t len;
    ck_assert_int_eq(wal_record_decode(buf, n, wal_epoch_crc(0), &seq, &payload, &len), (ssize_t)n);
    ck_assert_uint_eq(seq, 42);
    ck_assert_uint_eq(len, 100);
    ck_assert(wal_payload_matches(payload, len, 0, 42));
    ck_assert(!wal_payload_matches(payload, len, 0, 43));
}
END_TEST

START_TEST(record_layout_is_crc_then_length_then_seq_little_endian)
{
    /* The layout docs/design.md gives: what a reader in another language
     * would code against. */
    unsigned char buf[64];
    ck_assert_uint_eq(wal_record_encode(buf, NULL, 0x0102030405060708ull, 20), 36);
    /* The CRC starts from the epoch's: eight little-endian bytes, zero here. */
    const unsigned char epoch[8] = { 0 };
    uint32_t epoch_crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), epoch, 8);
    ck_assert_uint_eq(wal_epoch_crc(0), epoch_crc);
    uint32_t crc = (uint32_t)crc32(epoch_crc, buf + 4, 32);
    ck_assert_uint_eq(buf[0] | buf[1] << 8 | buf[2] << 16 | (uint32_t)buf[3] << 24, crc);
    const unsigned char len_and_seq[12] = { 20, 0, 0, 0, 8, 7, 6, 5, 4, 3, 2, 1 };
    ck_assert_mem_eq(buf + 4, len_and_seq, 12);
}
END_TEST

START_TEST(payload_of_any_length_matches_only_its_seq)
{
    unsigned char buf[WAL_HEADER_SIZE + 40];
    for (uint32_t len = 0; len <= 40; len++) {
        wal_record_encode(buf, NULL, 1000 + len, len);
        const unsigned char *p = buf + WAL_HEADER_SIZE;
        ck_assert(wal_payload_matches(p, len, 0, 1000 + len));
        if (len == 0)
            continue;
        ck_assert(!wal_payload_matches(p, len, 0, 999 + len));
        ck_assert(!wal_payload_matches(p, len, 1, 1000 + len));   /* another seed */
        buf[WAL_HEADER_SIZE + len - 1] ^= 1;   /* the last byte counts, also in a tail */
        ck_assert(!wal_payload_matches(p, len, 0, 1000 + len));
    }
}
END_TEST

START_TEST(a_record_of_another_epoch_fails_its_crc)
{
    unsigned char buf[64];
    struct wal_log_id a = { .epoch = 7, .payload_seed = 99 }, b = { .epoch = 8, .payload_seed = 99 };
    size_t n = wal_record_encode(buf, &a, 1, 40);
    uint64_t seq;
    const unsigned char *payload;
    uint32_t len;
    ck_assert_int_eq(wal_record_decode(buf, n, wal_epoch_crc(7), &seq, &payload, &len), (ssize_t)n);
    ck_assert_int_eq(wal_record_decode(buf, n, wal_epoch_crc(8), &seq, &payload, &len), -EBADMSG);
    ck_assert(wal_payload_matches(payload, len, 99, 1));
    /* the same seq and seed under another epoch: same payload, other CRC */
    unsigned char other[64];
    wal_record_encode(other, &b, 1, 40);
    ck_assert_mem_eq(buf + 4, other + 4, n - 4);
    ck_assert(memcmp(buf, other, 4) != 0);
}
END_TEST

START_TEST(payloads_differ_between_seeds)
{
    unsigned char a[WAL_HEADER_SIZE + 64], b[WAL_HEADER_SIZE + 64];
    wal_record_encode(a, &(struct wal_log_id){ 0, 1 }, 5, 64);
    wal_record_encode(b, &(struct wal_log_id){ 0, 2 }, 5, 64);
    ck_assert(memcmp(a + WAL_HEADER_SIZE, b + WAL_HEADER_SIZE, 64) != 0);
    ck_assert(wal_payload_matches(a + WAL_HEADER_SIZE, 64, 1, 5));
    ck_assert(!wal_payload_matches(a + WAL_HEADER_SIZE, 64, 2, 5));
}
END_TEST

START_TEST(record_decode_asks_for_more_when_short)
{
    unsigned char buf[64];
    size_t n = wal_record_encode(buf, NULL, 1, 40);
    uint64_t seq;
    const unsigned char *payload;
    uint32_t len;
    for (size_t cut = 0; cut < n; cut++)
        ck_assert_int_eq(wal_record_decode(buf, cut, wal_epoch_crc(0), &seq, &payload, &len), 0);
}
END_TEST

START_TEST(record_decode_rejects_any_flipped_bit)
{
    unsigned char buf[48];
    size_t n = wal_record_encode(buf, NULL, 7, 32);
    uint64_t seq;
    const unsigned char *payload;
    uint32_t len;
    for (size_t byte = 0; byte < n; byte++) {
        for (int bit = 0; bit < 8; bit++) {
            buf[byte] ^= (unsigned char)(1 << bit);
            ssize_t r = wal_record_decode(buf, n, wal_epoch_crc(0), &seq, &payload, &len);
            /* a flipped length bit may also make the record look longer */
            ck_assert_msg(r == -EBADMSG || r == 0, "byte %zu bit %d accepted", byte, bit);
            buf[byte] ^= (unsigned char)(1 << bit);
        }
    }
}
END_TEST

START_TEST(record_decode_rejects_zeroed_header)
{
    unsigned char buf[WAL_HEADER_SIZE] = { 0 };
    uint64_t seq;
    const unsigned char *payload;
    uint32_t len;
    ck_assert_int_eq(wal_record_decode(buf, sizeof buf, wal_epoch_crc(0), &seq, &payload, &len), -EBADMSG);
}
END_TEST

START_TEST(record_header_only_entry_is_valid)
{
    unsigned char buf[WAL_HEADER_SIZE];
    ck_assert_uint_eq(wal_record_encode(buf, NULL, 1, 0), WAL_HEADER_SIZE);
    uint64_t seq;
    const unsigned char *payload;
    uint32_t len;
    ck_assert_int_eq(wal_record_decode(buf, sizeof buf, wal_epoch_crc(0), &seq, &payload, &len), WAL_HEADER_SIZE);
}
END_TEST

/* ---- recovery ----------------------------------------------------------- */

static char scratch[WAL_PATH_MAX];

static int scratch_log(unsigned records, uint32_t record_size)
{
    support_scratch_file(scratch, sizeof scratch, "wal");
    int fd = open(scratch, O_RDWR | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    unsigned char *buf = malloc(record_size);
    for (unsigned i = 1; i <= records; i++) {
        wal_record_encode(buf, NULL, i, record_size - WAL_HEADER_SIZE);
        ck_assert_int_eq(pwrite(fd, buf, record_size, (off_t)(i - 1) * record_size),
                         (ssize_t)record_size);
    }
    free(buf);
    return fd;
}

static void scratch_done(int fd)
{
    close(fd);
    unlink(scratch);
}

START_TEST(recovery_reads_every_record_of_an_intact_log)
{
    int fd = scratch_log(5000, 128);
    struct wal_recovery r;
    ck_assert_int_eq(wal_recover_fd(fd, 0, &r, NULL, NULL), 0);
    ck_assert_uint_eq(r.records, 5000);
    ck_assert_uint_eq(r.valid_bytes, 5000 * 128);
    ck_assert_int_eq(r.stop, WAL_STOP_END);
    scratch_done(fd);
}
END_TEST

START_TEST(recovery_stops_before_a_truncated_tail)
{
    int fd = scratch_log(100, 128);
    ck_assert_int_eq(ftruncate(fd, 100 * 128 - 7), 0);
    struct wal_recovery r;
    ck_assert_int_eq(wal_recover_fd(fd, 0, &r, NULL, NULL), 0);
    ck_assert_uint_eq(r.records, 99);
    ck_assert_int_eq(r.stop, WAL_STOP_SHORT);
    scratch_done(fd);
}
END_TEST

START_TEST(recovery_stops_at_a_zeroed_tail)
{
    int fd = scratch_log(100, 128);
    unsigned char zeros[512] = { 0 };
    ck_assert_int_eq(pwrite(fd, zeros, sizeof zeros, 60 * 128), (ssize_t)sizeof zeros);
    struct wal_recovery r;
    ck_assert_int_eq(wal_recover_fd(fd, 0, &r, NULL, NULL), 0);
    ck_assert_uint_eq(r.records, 60);
    ck_assert_int_eq(r.stop, WAL_STOP_CORRUPT);
    scratch_done(fd);
}
END_TEST

START_TEST(recovery_stops_at_a_corrupted_record_and_ignores_good_ones_after_it)
{
    int fd = scratch_log(100, 128);
    unsigned char junk = 0x5a;
    ck_assert_int_eq(pwrite(fd, &junk, 1, 30 * 128 + 40), 1);
    struct wal_recovery r;
    ck_assert_int_eq(wal_recover_fd(fd, 0, &r, NULL, NULL), 0);
    ck_assert_uint_eq(r.records, 30);
    ck_assert_int_eq(r.stop, WAL_STOP_CORRUPT);
    scratch_done(fd);
}
END_TEST

START_TEST(recovery_refuses_a_stale_record_of_an_earlier_log)
{
    /* A reused file: records 1..5 of this log (epoch 0), then what an
     * earlier log (epoch 1) left at slot 6, seq 6 and all. */
    int fd = scratch_log(5, 64);
    unsigned char buf[64];
    wal_record_encode(buf, &(struct wal_log_id){ .epoch = 1 }, 6, 64 - WAL_HEADER_SIZE);
    ck_assert_int_eq(pwrite(fd, buf, 64, 5 * 64), 64);
    struct wal_recovery r;
    ck_assert_int_eq(wal_recover_fd(fd, 0, &r, NULL, NULL), 0);
    ck_assert_uint_eq(r.records, 5);
    ck_assert_int_eq(r.stop, WAL_STOP_CORRUPT);
    /* recovered under the earlier epoch, record 1 already fails */
    ck_assert_int_eq(wal_recover_fd(fd, 1, &r, NULL, NULL), 0);
    ck_assert_uint_eq(r.records, 0);
    scratch_done(fd);
}
END_TEST

START_TEST(recovery_refuses_a_valid_record_out_of_sequence)
{
    int fd = scratch_log(10, 64);
    unsigned char buf[64];
    wal_record_encode(buf, NULL, 3, 64 - WAL_HEADER_SIZE);   /* a stale copy of record 3 at slot 6 */
    ck_assert_int_eq(pwrite(fd, buf, 64, 5 * 64), 64);
    struct wal_recovery r;
    ck_assert_int_eq(wal_recover_fd(fd, 0, &r, NULL, NULL), 0);
    ck_assert_uint_eq(r.records, 5);
    ck_assert_int_eq(r.stop, WAL_STOP_SEQ);
    scratch_done(fd);
}
END_TEST

static void count_record(void *arg, uint64_t seq, const unsigned char *payload, uint32_t len)
{
    (void)len;
    (void)payload;
    uint64_t *n = arg;
    ck_assert_uint_eq(seq, *n + 1);
    (*n)++;
}

START_TEST(recovery_streams_logs_larger_than_its_buffer)
{
    /* 3 MiB of 64 KiB records: more than the 2 MiB buffer holds at once */
    int fd = scratch_log(48, 65536);
    uint64_t seen = 0;
    struct wal_recovery r;
    ck_assert_int_eq(wal_recover_fd(fd, 0, &r, count_record, &seen), 0);
    ck_assert_uint_eq(seen, 48);
    ck_assert_uint_eq(r.records, 48);
    scratch_done(fd);
}
END_TEST

/* ---- strategy names ----------------------------------------------------- */

START_TEST(strategy_names_parse_exactly)
{
    struct wal_strategy s;
    ck_assert_int_eq(wal_strategy_parse("batch_10ms", &s), 0);
    ck_assert_int_eq(s.kind, WAL_BATCH);
    ck_assert_uint_eq(s.interval_ms, 10);
    ck_assert_int_eq(wal_strategy_parse("batch_1ms", &s), 0);
    ck_assert_int_eq(wal_strategy_parse("batch_10000ms", &s), 0);
    ck_assert_int_eq(wal_strategy_parse("group", &s), 0);
    ck_assert_int_eq(s.kind, WAL_GROUP);
    const char *bad[] = { "Group", "Always", "ALWAYS", "always ", "", "batch_0ms", "batch_010ms",
                          "batch_+5ms", "batch_-5ms", "batch_10001ms", "batch_ms", "batch_10",
                          "batch_10s", "batch_99999999999999999999ms", "nONE", "batch_1.5ms" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(wal_strategy_parse(bad[i], &s) == -EINVAL, "accepted \"%s\"", bad[i]);
    char buf[32];
    ck_assert_str_eq(wal_strategy_name(&(struct wal_strategy){ WAL_BATCH, 250 }, buf, sizeof buf),
                     "batch_250ms");
    ck_assert_str_eq(wal_strategy_durability(&(struct wal_strategy){ WAL_BATCH, 10 }, WAL_SYNC_FSYNC, buf,
                                             sizeof buf), "every_10ms");
    ck_assert_str_eq(wal_strategy_window(&(struct wal_strategy){ WAL_NONE, 0 }, WAL_SYNC_FSYNC, buf, sizeof buf),
                     "seconds");
}
END_TEST

START_TEST(under_o_dsync_every_strategy_is_durable_at_every_write)
{
    char buf[32];
    const struct wal_strategy batch = { WAL_BATCH, 10 }, none = { WAL_NONE, 0 };
    for (enum wal_sync_method m = WAL_SYNC_O_DSYNC; m <= WAL_SYNC_O_DIRECT_DSYNC; m++) {
        ck_assert(wal_sync_method_writes_durable(m));
        ck_assert_str_eq(wal_strategy_durability(&batch, m, buf, sizeof buf), "every_write");
        ck_assert_str_eq(wal_strategy_durability(&none, m, buf, sizeof buf), "every_write");
        ck_assert_str_eq(wal_strategy_window(&batch, m, buf, sizeof buf), "0ms");
        ck_assert_str_eq(wal_strategy_window(&none, m, buf, sizeof buf), "0ms");
    }
    ck_assert(!wal_sync_method_writes_durable(WAL_SYNC_FDATASYNC));
    ck_assert_str_eq(wal_strategy_durability(&none, WAL_SYNC_FDATASYNC, buf, sizeof buf),
                     "os_dependent");
}
END_TEST

START_TEST(sync_method_names_parse_exactly)
{
    enum wal_sync_method m;
    ck_assert_int_eq(wal_sync_method_parse("fdatasync", &m), 0);
    ck_assert_int_eq(m, WAL_SYNC_FDATASYNC);
    ck_assert_int_eq(wal_sync_method_parse("o_dsync", &m), 0);
    ck_assert_int_eq(wal_sync_method_parse("FSYNC", &m), -EINVAL);
}
END_TEST

/* ---- strategy semantics through the seam -------------------------------- */

START_TEST(always_acknowledges_only_after_its_sync_returned)
{
    struct fake f;
    fake_init(&f);
    struct wal_log *log;
    struct wal_strategy s = strategy("always");
    ck_assert_int_eq(wal_log_open(&log, &f.base, &s, 128), 0);
    for (int i = 0; i < 20; i++) {
        ck_assert_int_eq(wal_log_append(log, NULL, NULL), 0);
        fake_event(&f, EV_ACK, 0);
    }
    struct wal_stats st;
    ck_assert_int_eq(wal_log_close(log, &st), 0);
    ck_assert_uint_eq(f.nevents, 20 * 4);
    for (int i = 0; i < 20; i++) {
        ck_assert_int_eq(f.events[4 * i + 0], EV_WRITE);
        ck_assert_int_eq(f.events[4 * i + 1], EV_SYNC_START);
        ck_assert_int_eq(f.events[4 * i + 2], EV_SYNC_END);
        ck_assert_int_eq(f.events[4 * i + 3], EV_ACK);
    }
    ck_assert_uint_eq(st.syncs, 20);
    ck_assert_uint_eq(st.exposure_max_ns, 0);
    ck_assert_uint_eq(st.uncovered, 0);
}
END_TEST

START_TEST(none_never_syncs)
{
    struct fake f;
    fake_init(&f);
    struct wal_log *log;
    struct wal_strategy s = strategy("none");
    ck_assert_int_eq(wal_log_open(&log, &f.base, &s, 64), 0);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(wal_log_append(log, NULL, NULL), 0);
    struct wal_stats st;
    ck_assert_int_eq(wal_log_close(log, &st), 0);
    ck_assert_uint_eq(f.writes, 1000);
    ck_assert_uint_eq(f.syncs, 0);
    ck_assert_uint_eq(st.syncs, 0);
    ck_assert_uint_eq(st.uncovered, 1000);
}
END_TEST

START_TEST(batch_acknowledges_without_waiting_for_a_sync)
{
    struct fake f;
    fake_init(&f);
    struct wal_log *log;
    struct wal_strategy s = strategy("batch_10000ms");   /* no tick during the test */
    ck_assert_int_eq(wal_log_open(&log, &f.base, &s, 64), 0);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(wal_log_append(log, NULL, NULL), 0);
    ck_assert_uint_eq(f.writes, 100);
    ck_assert_uint_eq(f.syncs, 0);
    struct wal_stats st;
    ck_assert_int_eq(wal_log_close(log, &st), 0);
    /* a clean close covers everything with one last sync */
    ck_assert_uint_eq(f.syncs, 1);
    ck_assert_uint_eq(st.uncovered, 0);
    ck_assert_uint_gt(st.exposure_max_ns, 0);
}
END_TEST

START_TEST(batch_flusher_syncs_while_writers_are_idle)
{
    struct fake f;
    fake_init(&f);
    struct wal_log *log;
    struct wal_strategy s = strategy("batch_5ms");
    ck_assert_int_eq(wal_log_open(&log, &f.base, &s, 64), 0);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(wal_log_append(log, NULL, NULL), 0);
    /* no further appends: only the flusher can produce this sync */
    ck_assert_uint_ge(fake_wait_syncs(&f, 1), 1);
    unsigned syncs_before_close = f.syncs;
    struct wal_stats st;
    ck_assert_int_eq(wal_log_close(log, &st), 0);
    ck_assert_uint_eq(st.uncovered, 0);
    /* nothing new after the flusher's sync: close had nothing to cover */
    ck_assert_uint_eq(f.syncs, syncs_before_close);
}
END_TEST

START_TEST(failed_sync_under_always_fails_the_log_and_is_never_retried)
{
    struct fake f;
    fake_init(&f);
    struct wal_log *log;
    struct wal_strategy s = strategy("always");
    ck_assert_int_eq(wal_log_open(&log, &f.base, &s, 64), 0);
    ck_assert_int_eq(wal_log_append(log, NULL, NULL), 0);
    f.sync_error = -EIO;
    ck_assert_int_eq(wal_log_append(log, NULL, NULL), -EIO);
    unsigned events = f.nevents;
    ck_assert_int_eq(wal_log_append(log, NULL, NULL), -EIO);
    ck_assert_uint_eq(f.nevents, events);   /* no write, no second sync */
    int err;
    ck_assert_int_eq(wal_log_failed_op(log, &err), WAL_OP_SYNC);
    ck_assert_int_eq(err, -EIO);
    struct wal_stats st;
    ck_assert_int_eq(wal_log_close(log, &st), -EIO);
    ck_assert_int_eq(st.failed_op, WAL_OP_SYNC);
    ck_assert_uint_eq(st.syncs, 1);
    ck_assert_uint_eq(st.uncovered, 1);
}
END_TEST

START_TEST(failed_sync_in_the_batch_flusher_fails_later_appends)
{
    struct fake f;
    fake_init(&f);
    f.sync_error = -EIO;
    struct wal_log *log;
    struct wal_strategy s = strategy("batch_1ms");
    ck_assert_int_eq(wal_log_open(&log, &f.base, &s, 64), 0);
    ck_assert_int_eq(wal_log_append(log, NULL, NULL), 0);
    /* Wait until the log has taken in the flusher's failed sync.  The fake's
     * sync event comes before the flusher marks the log failed, so waiting
     * for the event alone let the second append slip in between. */
    uint64_t deadline = wal_now_ns() + 10ull * 1000 * 1000 * 1000;
    while (wal_log_failed_op(log, NULL) != WAL_OP_SYNC && wal_now_ns() < deadline)
        sched_yield();
    ck_assert_int_eq(wal_log_failed_op(log, NULL), WAL_OP_SYNC);
    ck_assert_int_eq(wal_log_append(log, NULL, NULL), -EIO);
    struct wal_stats st;
    ck_assert_int_eq(wal_log_close(log, &st), -EIO);
    ck_assert_int_eq(st.failed_op, WAL_OP_SYNC);
    ck_assert_uint_eq(st.syncs, 0);
    ck_assert_uint_eq(st.uncovered, 1);
}
END_TEST

START_TEST(failed_write_is_reported_with_its_call)
{
    struct fake f;
    fake_init(&f);
    f.write_error = -ENOSPC;
    struct wal_log *log;
    struct wal_strategy s = strategy("none");
    ck_assert_int_eq(wal_log_open(&log, &f.base, &s, 64), 0);
    ck_assert_int_eq(wal_log_append(log, NULL, NULL), -ENOSPC);
    struct wal_stats st;
    ck_assert_int_eq(wal_log_close(log, &st), -ENOSPC);
    ck_assert_int_eq(st.failed_op, WAL_OP_WRITE);
    ck_assert_uint_eq(st.appended, 0);
}
END_TEST

struct group_writer {
    pthread_t thread;
    struct wal_log *log;
    struct fake *fake;
    unsigned appends;
    int rc;           /* the first failed append's */
    int violations;   /* acknowledged before a sync that started after the write returned */
};

static void *group_writer_main(void *arg)
{
    struct group_writer *w = arg;
    for (unsigned i = 0; i < w->appends; i++) {
        uint64_t seq;
        w->rc = wal_log_append(w->log, &seq, NULL);
        if (w->rc != 0)
            break;
        pthread_mutex_lock(&w->fake->mu);
        if (w->fake->covered < seq * 64)   /* records of 64 bytes, in seq order */
            w->violations++;
        pthread_mutex_unlock(&w->fake->mu);
    }
    return NULL;
}

START_TEST(group_acknowledges_only_after_a_sync_that_started_after_the_write)
{
    struct fake f;
    fake_init(&f);
    struct wal_log *log;
    struct wal_strategy s = strategy("group");
    ck_assert_int_eq(wal_log_open(&log, &f.base, &s, 64), 0);
    struct group_writer w[8];
    for (int i = 0; i < 8; i++) {
        w[i] = (struct group_writer){ .log = log, .fake = &f, .appends = 200 };
        ck_assert_int_eq(pthread_create(&w[i].thread, NULL, group_writer_main, &w[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(w[i].thread, NULL);
        ck_assert_int_eq(w[i].rc, 0);
        ck_assert_int_eq(w[i].violations, 0);
    }
    struct wal_stats st;
    ck_assert_int_eq(wal_log_close(log, &st), 0);
    ck_assert_uint_eq(st.appended, 1600);
    ck_assert_uint_eq(st.uncovered, 0);
    ck_assert_uint_eq(st.exposure_max_ns, 0);
}
END_TEST

static int one_synced(struct fake *f)
{
    return f->syncs >= 1;
}

/* Polls (up to 10 s, a bound for a stuck test) until n writers are inside
 * group commit: parked writers do not touch the file, so the log is the
 * only place that knows. */
static int wait_group_waiting(struct wal_log *log, unsigned n)
{
    for (int i = 0; i < 10000; i++) {
        if (wal_log_group_waiting(log) == n)
            return 1;
        nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
    }
    return 0;
}

START_TEST(group_serves_every_waiting_writer_with_one_write_and_one_sync)
{
    struct fake f;
    fake_init(&f);
    f.hold_syncs = 1;
    struct wal_log *log;
    struct wal_strategy s = strategy("group");
    ck_assert_int_eq(wal_log_open(&log, &f.base, &s, 64), 0);
    /* The first writer leads a sync that the fake holds; three more append
     * meanwhile and must wait, since that sync started before their writes. */
    struct group_writer w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct group_writer){ .log = log, .fake = &f, .appends = 1 };
        ck_assert_int_eq(pthread_create(&w[i].thread, NULL, group_writer_main, &w[i]), 0);
        if (i == 0) {
            pthread_mutex_lock(&f.mu);
            while (f.nevents < 2)   /* write, sync start */
                pthread_cond_wait(&f.changed, &f.mu);
            pthread_mutex_unlock(&f.mu);
        }
    }
    ck_assert(wait_group_waiting(log, 4));
    ck_assert_uint_eq(f.writes, 1);   /* the three wait in memory, unwritten */
    ck_assert_uint_eq(f.syncs, 0);
    pthread_mutex_lock(&f.mu);
    f.hold_syncs = 0;
    pthread_cond_broadcast(&f.changed);
    pthread_mutex_unlock(&f.mu);
    ck_assert(fake_wait(&f, one_synced));
    for (int i = 0; i < 4; i++) {
        pthread_join(w[i].thread, NULL);
        ck_assert_int_eq(w[i].rc, 0);
        ck_assert_int_eq(w[i].violations, 0);
    }
    ck_assert_uint_eq(wal_log_group_waiting(log), 0);
    struct wal_stats st;
    ck_assert_int_eq(wal_log_close(log, &st), 0);
    ck_assert_uint_eq(st.syncs, 2);   /* the held one, then one for all three */
    ck_assert_uint_eq(f.writes, 2);   /* and one pwrite carried all three */
    ck_assert_uint_eq(f.written, 4 * 64);
    ck_assert_uint_eq(st.appended, 4);
}
END_TEST

START_TEST(group_with_one_writer_syncs_every_append_and_never_gathers)
{
    /* Gathering waits for writers that have been seen at once; a lone
     * writer is all there is, so each append leads its own sync at once. */
    struct fake f;
    fake_init(&f);
    struct wal_log *log;
    struct wal_strategy s = strategy("group");
    ck_assert_int_eq(wal_log_open(&log, &f.base, &s, 64), 0);
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(wal_log_append(log, NULL, NULL), 0);
    struct wal_stats st;
    ck_assert_int_eq(wal_log_close(log, &st), 0);
    ck_assert_uint_eq(st.syncs, 200);
    ck_assert_uint_eq(st.appended, 200);
}
END_TEST

START_TEST(failed_group_sync_fails_every_waiting_writer)
{
    struct fake f;
    fake_init(&f);
    f.hold_syncs = 1;
    struct wal_log *log;
    struct wal_strategy s = strategy("group");
    ck_assert_int_eq(wal_log_open(&log, &f.base, &s, 64), 0);
    /* The first writer leads a sync that the fake holds, three park behind
     * it; then that sync fails, and all four get its error: nothing is
     * written or synced again. */
    struct group_writer w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct group_writer){ .log = log, .fake = &f, .appends = 1 };
        ck_assert_int_eq(pthread_create(&w[i].thread, NULL, group_writer_main, &w[i]), 0);
    }
    ck_assert(wait_group_waiting(log, 4));
    pthread_mutex_lock(&f.mu);
    f.sync_error = -EIO;
    f.hold_syncs = 0;
    pthread_cond_broadcast(&f.changed);
    pthread_mutex_unlock(&f.mu);
    for (int i = 0; i < 4; i++) {
        pthread_join(w[i].thread, NULL);
        ck_assert_int_eq(w[i].rc, -EIO);
    }
    ck_assert_uint_eq(wal_log_group_waiting(log), 0);
    ck_assert_uint_eq(f.nevents, 2);   /* one write, one sync start */
    ck_assert_uint_eq(f.syncs, 0);
    struct wal_stats st;
    ck_assert_int_eq(wal_log_close(log, &st), -EIO);
    ck_assert_int_eq(st.failed_op, WAL_OP_SYNC);
    ck_assert_uint_eq(st.appended, 0);
}
END_TEST

START_TEST(failed_group_write_or_sync_fails_the_log_and_is_never_retried)
{
    /* The leader writes the batch, then syncs it.  Whichever fails, the log
     * is failed: no sync after a failed write, no second try of either. */
    static const struct { int write_error, sync_error; enum wal_op op; unsigned events; } cases[] = {
        { -ENOSPC, 0, WAL_OP_WRITE, 0 },   /* nothing reached the fake */
        { 0, -EIO, WAL_OP_SYNC, 2 },       /* write, sync start */
    };
    for (unsigned c = 0; c < 2; c++) {
        struct fake f;
        fake_init(&f);
        f.write_error = cases[c].write_error;
        f.sync_error = cases[c].sync_error;
        int err = cases[c].write_error ? cases[c].write_error : cases[c].sync_error;
        struct wal_log *log;
        struct wal_strategy s = strategy("group");
        ck_assert_int_eq(wal_log_open(&log, &f.base, &s, 64), 0);
        ck_assert_int_eq(wal_log_append(log, NULL, NULL), err);
        ck_assert_int_eq(wal_log_append(log, NULL, NULL), err);
        ck_assert_uint_eq(f.nevents, cases[c].events);
        struct wal_stats st;
        ck_assert_int_eq(wal_log_close(log, &st), err);
        ck_assert_int_eq(st.failed_op, cases[c].op);
        ck_assert_uint_eq(st.appended, 0);
        ck_assert_uint_eq(st.syncs, 0);
    }
}
END_TEST

START_TEST(real_file_log_recovers_every_acknowledged_record)
{
    const char *dir = support_scratch_dir();
    char path[WAL_PATH_MAX];
    support_scratch_file(path, sizeof path, "wal-real");
    const char *methods[] = { "fsync", "fdatasync", "o_dsync", "o_direct_dsync" };
    uint32_t align;
    ck_assert_int_eq(wal_direct_alignment(dir, &align), 0);
    ck_assert_uint_ge(align, 512);
    for (int m = 0; m < 4; m++) {
        uint32_t size = m == 3 ? align : 100;
        enum wal_sync_method sm;
        ck_assert_int_eq(wal_sync_method_parse(methods[m], &sm), 0);
        struct wal_file *f;
        ck_assert_int_eq(wal_file_open(path, sm, &f, NULL, 0), 0);
        struct wal_log *log;
        struct wal_strategy s = strategy("always");
        ck_assert_int_eq(wal_log_open(&log, f, &s, size), 0);
        for (int i = 0; i < 50; i++)
            ck_assert_int_eq(wal_log_append(log, NULL, NULL), 0);
        ck_assert_int_eq(wal_log_close(log, NULL), 0);
        int fd = open(path, O_RDONLY);
        struct wal_recovery r;
        ck_assert_int_eq(wal_recover_fd(fd, 0, &r, NULL, NULL), 0);
        close(fd);
        ck_assert_uint_eq(r.records, 50);
        ck_assert_int_eq(r.stop, WAL_STOP_END);
    }
    unlink(path);
}
END_TEST

START_TEST(preallocated_log_recovers_up_to_the_zeroed_space)
{
    char path[WAL_PATH_MAX];
    support_scratch_file(path, sizeof path, "wal-prealloc");
    struct wal_file *f;
    ck_assert_int_eq(wal_file_open(path, WAL_SYNC_FDATASYNC, &f, NULL, 0), 0);
    ck_assert_int_eq(wal_file_prealloc(f, 100 * 128, NULL, 0), 0);
    struct stat st;
    ck_assert_int_eq(fstat(wal_file_fd(f), &st), 0);
    ck_assert_int_eq(st.st_size, 100 * 128);
    struct wal_log *log;
    struct wal_strategy s = strategy("always");
    ck_assert_int_eq(wal_log_open(&log, f, &s, 128), 0);
    for (int i = 0; i < 40; i++)
        ck_assert_int_eq(wal_log_append(log, NULL, NULL), 0);
    ck_assert_int_eq(wal_log_close(log, NULL), 0);
    int fd = open(path, O_RDONLY);
    struct wal_recovery r;
    ck_assert_int_eq(wal_recover_fd(fd, 0, &r, NULL, NULL), 0);
    close(fd);
    ck_assert_uint_eq(r.records, 40);
    ck_assert_int_eq(r.stop, WAL_STOP_CORRUPT);   /* the zeros after them */
    unlink(path);
}
END_TEST

START_TEST(open_names_the_call_and_path_when_it_fails)
{
    struct wal_file *f;
    char err[256];
    ck_assert_int_eq(wal_file_open("build/no/such/dir/x.wal", WAL_SYNC_FSYNC, &f, err, sizeof err),
                     -ENOENT);
    ck_assert_str_eq(err, "open(build/no/such/dir/x.wal): No such file or directory");
}
END_TEST

/* The one guard serves runners of other programs: on SIGTERM, a process
 * group it was given is killed and reaped and a scratch tree removed
 * whole, and the program still ends by the signal. */
START_TEST(scratch_guard_kills_a_process_group_and_removes_a_tree_on_sigterm)
{
    char tree[512], sub[600], file[700];
    snprintf(tree, sizeof tree, "%s/test-guard-%ld", support_scratch_dir(), (long)getpid());
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        close(fds[0]);
        signal(SIGTERM, SIG_DFL);   /* check's own handler would pass it to the whole test */
        wal_scratch_guard_enter();
        snprintf(sub, sizeof sub, "%s/a/b", tree);
        snprintf(file, sizeof file, "%s/a/b/f", tree);
        char mid[560];
        snprintf(mid, sizeof mid, "%s/a", tree);
        if (mkdir(tree, 0755) || mkdir(mid, 0755) || mkdir(sub, 0755))
            _exit(10);
        int fd = open(file, O_CREAT | O_WRONLY, 0644);
        if (fd < 0 || write(fd, "x", 1) != 1 || close(fd))
            _exit(11);
        pid_t server = fork();
        if (server == 0) {
            close(fds[1]);
            setpgid(0, 0);
            for (;;)
                pause();
        }
        setpgid(server, server);
        if (wal_scratch_group(server, 1) || wal_scratch_tree(tree, 1))
            _exit(12);
        if (write(fds[1], &server, sizeof server) != (ssize_t)sizeof server)
            _exit(13);
        raise(SIGTERM);
        _exit(14);   /* not reached: the guard raises SIGTERM again with its default */
    }
    close(fds[1]);
    pid_t server = 0;
    ssize_t got = read(fds[0], &server, sizeof server);
    close(fds[0]);
    int status = 0;
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert_msg(got == (ssize_t)sizeof server, "the child failed before its signal: status %d", status);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "status %d", status);
    struct stat st;
    ck_assert_int_eq(stat(tree, &st), -1);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_int_eq(kill(-server, 0), -1);   /* killed and reaped: no such group left */
    ck_assert_int_eq(errno, ESRCH);
}
END_TEST

/* Entered deferred (the targets' runner), the guard only notes the first
 * signal: the program goes on, a blocking read returns EINTR, the live file
 * stays for the runner to remove; a second signal ends the program by it
 * at once, removing the live file and killing the listed group. */
START_TEST(deferred_guard_notes_the_first_signal_and_ends_on_the_second)
{
    char path[WAL_PATH_MAX];
    support_scratch_file(path, sizeof path, "guard-deferred");
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);   /* check's own handler would pass it to the whole test */
        wal_scratch_guard_enter_deferred();
        if (wal_scratch_stopped() != 0)
            _exit(10);
        int fd = open(path, O_CREAT | O_WRONLY, 0644);
        if (fd < 0 || close(fd))
            _exit(11);
        wal_scratch_live(path);
        pid_t server = fork();
        if (server == 0) {
            setpgid(0, 0);
            signal(SIGTERM, SIG_DFL);
            prctl(PR_SET_PDEATHSIG, SIGKILL);   /* gone with the child, whatever happens */
            for (;;)
                pause();
        }
        setpgid(server, server);
        if (wal_scratch_group(server, 1))
            _exit(12);
        alarm(10);   /* SIGALRM ends it if the read below were not interrupted */
        int quiet[2];
        char c;
        if (pipe(quiet))
            _exit(17);
        if (fork() == 0) {
            /* A SIGINT once the parent is blocked in read (its
             * /proc/PID/syscall names the call it sleeps in). */
            char sys[64], want[32];
            snprintf(sys, sizeof sys, "/proc/%ld/syscall", (long)getppid());
            snprintf(want, sizeof want, "%d ", SYS_read);
            for (;;) {
                char line[64] = "";
                FILE *f = fopen(sys, "re");
                if (f && fgets(line, sizeof line, f) && strncmp(line, want, strlen(want)) == 0)
                    break;
                if (f)
                    fclose(f);
                sched_yield();
            }
            kill(getppid(), SIGINT);
            _exit(0);
        }
        if (read(quiet[0], &c, 1) != -1 || errno != EINTR)
            _exit(13);
        alarm(0);
        wait(NULL);
        if (wal_scratch_stopped() != SIGINT || access(path, F_OK) != 0 || kill(-server, 0) != 0)
            _exit(14);   /* only noted: the file and the group are still there */
        if (write(fds[1], &server, sizeof server) != (ssize_t)sizeof server)
            _exit(15);
        raise(SIGTERM);
        _exit(16);   /* not reached: the second signal ends it */
    }
    close(fds[1]);
    pid_t server = 0;
    ssize_t got = read(fds[0], &server, sizeof server);
    close(fds[0]);
    int status = 0;
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert_msg(got == (ssize_t)sizeof server, "the child failed before its second signal: status %d",
                  status);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "status %d", status);
    ck_assert_int_eq(access(path, F_OK), -1);
    ck_assert_int_eq(kill(-server, 0), -1);
    ck_assert_int_eq(errno, ESRCH);
}
END_TEST

/* A runner's list of scratch files (a guest's disk copies, more than the
 * guard's own slots) is unlinked on SIGTERM, empty entries skipped, and
 * the program still ends by the signal. */
START_TEST(scratch_guard_unlinks_a_callers_list_of_files_on_sigterm)
{
    char a[WAL_PATH_MAX], b[WAL_PATH_MAX];
    support_scratch_file(a, sizeof a, "guard-list-a");
    support_scratch_file(b, sizeof b, "guard-list-b");
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        signal(SIGTERM, SIG_DFL);   /* check's own handler would pass it to the whole test */
        const char *const list[] = {a, "", NULL, b};
        for (int i = 0; i < 4; i += 3) {
            int fd = open(list[i], O_CREAT | O_WRONLY, 0644);
            if (fd < 0 || close(fd))
                _exit(10);
        }
        wal_scratch_guard_enter();
        wal_scratch_list(list, 4);
        raise(SIGTERM);
        _exit(11);   /* not reached: the guard raises SIGTERM again with its default */
    }
    int status = 0;
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "status %d", status);
    ck_assert_int_eq(access(a, F_OK), -1);
    ck_assert_int_eq(access(b, F_OK), -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("wal");
    TCase *rec = tcase_create("record");
    tcase_add_test(rec, record_roundtrips_with_seq_length_and_payload);
    tcase_add_test(rec, record_layout_is_crc_then_length_then_seq_little_endian);
    tcase_add_test(rec, payload_of_any_length_matches_only_its_seq);
    tcase_add_test(rec, a_record_of_another_epoch_fails_its_crc);
    tcase_add_test(rec, payloads_differ_between_seeds);
    tcase_add_test(rec, record_decode_asks_for_more_when_short);
    tcase_add_test(rec, record_decode_rejects_any_flipped_bit);
    tcase_add_test(rec, record_decode_rejects_zeroed_header);
    tcase_add_test(rec, record_header_only_entry_is_valid);
    suite_add_tcase(s, rec);
    TCase *rcv = tcase_create("recovery");
    tcase_add_test(rcv, recovery_reads_every_record_of_an_intact_log);
    tcase_add_test(rcv, recovery_stops_before_a_truncated_tail);
    tcase_add_test(rcv, recovery_stops_at_a_zeroed_tail);
    tcase_add_test(rcv, recovery_stops_at_a_corrupted_record_and_ignores_good_ones_after_it);
    tcase_add_test(rcv, recovery_refuses_a_stale_record_of_an_earlier_log);
    tcase_add_test(rcv, recovery_refuses_a_valid_record_out_of_sequence);
    tcase_add_test(rcv, recovery_streams_logs_larger_than_its_buffer);
    suite_add_tcase(s, rcv);
    TCase *str = tcase_create("strategy");
    tcase_set_timeout(str, 30);
    tcase_add_test(str, strategy_names_parse_exactly);
    tcase_add_test(str, scratch_guard_kills_a_process_group_and_removes_a_tree_on_sigterm);
    tcase_add_test(str, deferred_guard_notes_the_first_signal_and_ends_on_the_second);
    tcase_add_test(str, scratch_guard_unlinks_a_callers_list_of_files_on_sigterm);
    tcase_add_test(str, sync_method_names_parse_exactly);
    tcase_add_test(str, under_o_dsync_every_strategy_is_durable_at_every_write);
    tcase_add_test(str, always_acknowledges_only_after_its_sync_returned);
    tcase_add_test(str, none_never_syncs);
    tcase_add_test(str, batch_acknowledges_without_waiting_for_a_sync);
    tcase_add_test(str, batch_flusher_syncs_while_writers_are_idle);
    tcase_add_test(str, failed_sync_under_always_fails_the_log_and_is_never_retried);
    tcase_add_test(str, failed_sync_in_the_batch_flusher_fails_later_appends);
    tcase_add_test(str, failed_write_is_reported_with_its_call);
    tcase_add_test(str, group_acknowledges_only_after_a_sync_that_started_after_the_write);
    tcase_add_test(str, group_serves_every_waiting_writer_with_one_write_and_one_sync);
    tcase_add_test(str, group_with_one_writer_syncs_every_append_and_never_gathers);
    tcase_add_test(str, failed_group_sync_fails_every_waiting_writer);
    tcase_add_test(str, failed_group_write_or_sync_fails_the_log_and_is_never_retried);
    tcase_add_test(str, real_file_log_recovers_every_acknowledged_record);
    tcase_add_test(str, preallocated_log_recovers_up_to_the_zeroed_space);
    tcase_add_test(str, open_names_the_call_and_path_when_it_fails);
    suite_add_tcase(s, str);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
