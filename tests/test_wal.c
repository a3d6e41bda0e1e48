/* Unit tests for wal/: the record format, recovery on damaged tails, and the
 * names of the strategies and sync methods.  The strategies' semantics are
 * in test_wal_strategies.c, the scratch guard in test_wal_guard.c. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "tests/support.h"
#include "wal/wal.h"

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

/* A log opened ahead takes its id before its first append, and only
 * then: its records recover under the new epoch, not the placeholder's. */
START_TEST(a_log_takes_its_id_before_its_first_append_only)
{
    char path[WAL_PATH_MAX];
    support_scratch_file(path, sizeof path, "wal-id");
    struct wal_file *f;
    char msg[256];
    ck_assert_int_eq(wal_file_open(path, WAL_SYNC_FDATASYNC, &f, msg, sizeof msg), 0);
    struct wal_strategy none;
    ck_assert_int_eq(wal_strategy_parse("none", &none), 0);
    struct wal_log *log;
    const struct wal_log_id placeholder = {0}, id = { .epoch = 41, .payload_seed = 5 };
    ck_assert_int_eq(wal_log_open_id(&log, f, &none, 128, &placeholder), 0);
    ck_assert_int_eq(wal_log_set_id(log, &id), 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(wal_log_append(log, NULL, NULL), 0);
    ck_assert_int_eq(wal_log_set_id(log, &placeholder), -EBUSY);
    ck_assert_int_eq(wal_log_close(log, NULL), 0);
    int fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    struct wal_recovery r;
    ck_assert_int_eq(wal_recover_fd(fd, 41, &r, NULL, NULL), 0);
    ck_assert_uint_eq(r.records, 3);
    ck_assert_int_eq(wal_recover_fd(fd, 0, &r, NULL, NULL), 0);
    ck_assert_uint_eq(r.records, 0);
    close(fd);
    unlink(path);
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
    tcase_add_test(rec, a_log_takes_its_id_before_its_first_append_only);
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
    tcase_add_test(str, sync_method_names_parse_exactly);
    tcase_add_test(str, under_o_dsync_every_strategy_is_durable_at_every_write);
    suite_add_tcase(s, str);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
