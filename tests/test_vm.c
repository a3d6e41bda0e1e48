/* Unit tests for vm/: the dm-log-writes parser and replay on hand-made logs
 * (a stale header count, a last entry cut short, invalid and empty entries),
 * the console protocol, the comparison with the drop model (proven by
 * breaking what it guards) and the bodies and tables, byte for byte.  No QEMU here: the
 * guest runs in tests/e2e/vm.sh. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "report/report.h"
#include "vm/internal.h"

#define SS 512u

static char log_path[4096], img_path[4096];

static void setup(void)
{
    const char *dir = getenv("FSYNCLAB_DIR");
    if (!dir || !*dir)
        dir = "build/scratch";
    mkdir(dir, 0755);
    snprintf(log_path, sizeof log_path, "%s/test-vm-%ld.log", dir, (long)getpid());
    snprintf(img_path, sizeof img_path, "%s/test-vm-%ld.img", dir, (long)getpid());
}

static void teardown(void)
{
    unlink(log_path);
    unlink(img_path);
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* A log under construction: header, then entries appended in memory. */
struct mklog {
    unsigned char buf[64 * SS];
    size_t len;
    uint64_t count;
};

static void mk_header(struct mklog *m, uint64_t nr_entries)
{
    memset(m->buf, 0, SS);
    put64(m->buf, VM_LOG_MAGIC);
    put64(m->buf + 8, 1);
    put64(m->buf + 16, nr_entries);
    m->buf[24] = SS & 0xff;
    m->buf[25] = SS >> 8;
    if (m->len < SS)
        m->len = SS;
}

/* Appends an entry; data sectors are filled with fill. */
static void mk_entry(struct mklog *m, uint64_t sector, uint64_t nr, uint64_t flags, int fill)
{
    unsigned char *e = m->buf + m->len;
    memset(e, 0, SS);
    put64(e, sector);
    put64(e + 8, nr);
    put64(e + 16, flags);
    m->len += SS;
    if (!(flags & VM_LOG_DISCARD)) {
        memset(m->buf + m->len, fill, nr * SS);
        m->len += nr * SS;
    }
    m->count++;
}

static int mk_write(const struct mklog *m, size_t len)
{
    int fd = open(log_path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, m->buf, len), (ssize_t)len);
    return fd;
}

/* Four entries: write, flush, write, write; header says 1 (it lags). */
static void mk_sample(struct mklog *m)
{
    memset(m, 0, sizeof *m);
    mk_header(m, 1);
    mk_entry(m, 2, 2, 0, 'a');
    mk_entry(m, 0, 0, VM_LOG_FLUSH, 0);
    mk_entry(m, 3, 1, 0, 'b');
    mk_entry(m, 8, 2, VM_LOG_FUA, 'c');
}

START_TEST(stale_header_count_is_scanned_past)
{
    struct mklog m;
    mk_sample(&m);
    int fd = mk_write(&m, m.len);
    struct vm_log log;
    char err[256];
    ck_assert_int_eq(vm_log_parse(fd, 0, &log, err, sizeof err), 0);
    ck_assert_uint_eq(log.header_entries, 1);
    ck_assert_uint_eq(log.n, 4);
    ck_assert_uint_eq(log.n_flushes, 1);
    ck_assert_uint_eq(log.flushes[0], 1);
    ck_assert_int_eq(log.dropped_short, 0);
    ck_assert_uint_eq(log.entries[3].sector, 8);
    ck_assert_uint_eq(log.entries[3].end_off, m.len);
    vm_log_free(&log);
    close(fd);
}
END_TEST

START_TEST(truncated_last_entry_is_dropped)
{
    struct mklog m;
    mk_sample(&m);
    /* The last entry's header is there, one of its two data sectors is not. */
    int fd = mk_write(&m, m.len - SS);
    struct vm_log log;
    char err[256];
    ck_assert_int_eq(vm_log_parse(fd, 0, &log, err, sizeof err), 0);
    ck_assert_uint_eq(log.n, 3);
    ck_assert_int_eq(log.dropped_short, 1);
    vm_log_free(&log);
    close(fd);
    /* Half an entry header at the end. */
    fd = mk_write(&m, m.len - 3 * SS + 100);
    ck_assert_int_eq(vm_log_parse(fd, 0, &log, err, sizeof err), 0);
    ck_assert_uint_eq(log.n, 3);
    ck_assert_int_eq(log.dropped_short, 1);
    vm_log_free(&log);
    close(fd);
}
END_TEST

START_TEST(scan_stops_at_an_invalid_or_empty_entry)
{
    struct mklog m;
    mk_sample(&m);
    size_t at = m.len;
    m.len += SS;                       /* an all-zero entry: nothing logged there */
    mk_entry(&m, 1, 1, 0, 'z');        /* a valid-looking entry after it is not read */
    int fd = mk_write(&m, m.len);
    struct vm_log log;
    char err[256];
    ck_assert_int_eq(vm_log_parse(fd, 0, &log, err, sizeof err), 0);
    ck_assert_uint_eq(log.n, 4);
    vm_log_free(&log);
    close(fd);
    put64(m.buf + at + 16, 0x40);      /* unknown flag */
    put64(m.buf + at + 8, 1);
    fd = mk_write(&m, m.len);
    ck_assert_int_eq(vm_log_parse(fd, 0, &log, err, sizeof err), 0);
    ck_assert_uint_eq(log.n, 4);
    vm_log_free(&log);
    close(fd);
    /* A write past the disk's end (disk of 9 sectors; the last entry ends at 10). */
    mk_sample(&m);
    fd = mk_write(&m, m.len);
    ck_assert_int_eq(vm_log_parse(fd, 9 * SS, &log, err, sizeof err), 0);
    ck_assert_uint_eq(log.n, 3);
    vm_log_free(&log);
    close(fd);
}
END_TEST

START_TEST(bad_header_is_refused)
{
    struct mklog m;
    mk_sample(&m);
    m.buf[0] ^= 1;
    int fd = mk_write(&m, m.len);
    struct vm_log log;
    char err[256] = "";
    ck_assert_int_eq(vm_log_parse(fd, 0, &log, err, sizeof err), -EBADMSG);
    ck_assert_ptr_nonnull(strstr(err, "dm-log-writes"));
    close(fd);
    fd = mk_write(&m, 10);
    ck_assert_int_eq(vm_log_parse(fd, 0, &log, err, sizeof err), -EBADMSG);
    close(fd);
}
END_TEST

static void read_img(unsigned char *out, size_t len)
{
    int fd = open(img_path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pread(fd, out, len, 0), (ssize_t)len);
    close(fd);
}

static int fresh_img(void)
{
    int fd = open(img_path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, 16 * SS), 0);
    return fd;
}

START_TEST(replay_up_to_a_flush_with_and_without_skips)
{
    struct mklog m;
    mk_sample(&m);
    mk_entry(&m, 3, 1, VM_LOG_DISCARD, 0);   /* discard: zeros */
    int fd = mk_write(&m, m.len);
    struct vm_log log;
    char err[256];
    ck_assert_int_eq(vm_log_parse(fd, 16 * SS, &log, err, sizeof err), 0);
    ck_assert_uint_eq(log.n, 5);
    unsigned char img[16 * SS];

    int ifd = fresh_img();   /* up to the flush: only 'a' at sectors 2..3 */
    ck_assert_int_eq(vm_log_replay(&log, fd, ifd, log.flushes[0] + 1, NULL, err, sizeof err), 0);
    close(ifd);
    read_img(img, sizeof img);
    ck_assert_int_eq(img[2 * SS], 'a');
    ck_assert_int_eq(img[4 * SS - 1], 'a');
    ck_assert_int_eq(img[4 * SS], 0);
    ck_assert_int_eq(img[8 * SS], 0);

    ifd = fresh_img();       /* everything but entry 3: 'b' over 'a' then discarded */
    unsigned char skip[5] = { 0, 0, 0, 1, 0 };
    ck_assert_int_eq(vm_log_replay(&log, fd, ifd, log.n, skip, err, sizeof err), 0);
    close(ifd);
    read_img(img, sizeof img);
    ck_assert_int_eq(img[2 * SS], 'a');
    ck_assert_int_eq(img[3 * SS], 0);
    ck_assert_int_eq(img[8 * SS], 0);

    ifd = fresh_img();       /* up to before the discard */
    ck_assert_int_eq(vm_log_replay(&log, fd, ifd, 4, NULL, err, sizeof err), 0);
    close(ifd);
    read_img(img, sizeof img);
    ck_assert_int_eq(img[3 * SS], 'b');
    ck_assert_int_eq(img[8 * SS], 'c');
    ck_assert_int_eq(img[10 * SS - 1], 'c');
    vm_log_free(&log);
    close(fd);
}
END_TEST

static struct vm_trial *new_trial(uint64_t entries)
{
    struct vm_trial *t = calloc(1, sizeof *t);
    ck_assert_ptr_nonnull(t);
    t->entries = entries;
    t->ack_ns = calloc(entries + 1, sizeof *t->ack_ns);
    ck_assert_ptr_nonnull(t->ack_ns);
    return t;
}

static void free_trial(struct vm_trial *t)
{
    free(t->ack_ns);
    free(t->syncs);
    free(t->begins);
    free(t->sizes);
    free(t);
}

START_TEST(console_lines_fill_the_ledger)
{
    struct vm_trial *t = new_trial(10);
    vm_trial_line(t, "R512", 5);
    vm_trial_line(t, "s2 850", 9);
    vm_trial_line(t, "a2", 10);
    vm_trial_line(t, "a1", 11);
    vm_trial_line(t, "a1", 12);        /* a repeat keeps the first time */
    vm_trial_line(t, "a11", 13);       /* beyond entries: ignored */
    vm_trial_line(t, "a3x", 14);       /* garbled: ignored */
    vm_trial_line(t, "[ 1.0] kernel says", 15);
    ck_assert_uint_eq(t->ready_ns, 5);
    ck_assert_uint_eq(t->record_size, 512);
    ck_assert_uint_eq(t->acks, 2);
    ck_assert_uint_eq(t->ack_ns[1], 11);
    ck_assert_uint_eq(t->ack_ns[2], 10);
    ck_assert_uint_eq(t->first_ack_ns, 10);
    ck_assert_uint_eq(t->n_syncs, 1);
    ck_assert_uint_eq(t->syncs[0].covered, 2);
    ck_assert_uint_eq(t->syncs[0].dur_ns, 850000);
    ck_assert_ptr_nonnull(strstr(t->tail, "kernel says"));
    ck_assert_int_eq(t->done, 0);
    vm_trial_line(t, "D", 16);
    vm_trial_line(t, "Efdatasync(/mnt/LOG): Input/output error", 17);
    ck_assert_int_eq(t->done, 1);
    ck_assert_str_eq(t->error, "fdatasync(/mnt/LOG): Input/output error");
    free_trial(t);
}
END_TEST

START_TEST(comparison_flags_an_optimistic_model)
{
    /* Acks 1..6 at times 10..60; a sync covering 1..4 seen at 45. */
    struct vm_trial *t = new_trial(10);
    char line[32];
    for (int s = 1; s <= 6; s++) {
        snprintf(line, sizeof line, "a%d", s);
        vm_trial_line(t, line, (uint64_t)s * 10);
    }
    vm_trial_line(t, "s4 100", 45);
    struct vm_compare c;
    vm_compare(t, 100, 4, &c);         /* the image kept what the model kept */
    ck_assert_uint_eq(c.covered, 4);
    ck_assert_uint_eq(c.predicted_lost, 2);
    ck_assert_uint_eq(c.real_lost, 2);
    ck_assert_uint_eq(c.optimistic, 0);
    ck_assert_uint_eq(c.pessimistic, 0);
    vm_compare(t, 100, 2, &c);         /* broken: a synced record is gone */
    ck_assert_uint_eq(c.optimistic, 2);
    vm_compare(t, 100, 6, &c);         /* the disk kept more than the model */
    ck_assert_uint_eq(c.pessimistic, 2);
    ck_assert_uint_eq(c.real_lost, 0);
    vm_compare(t, 40, 2, &c);          /* a cut before the sync was seen */
    ck_assert_uint_eq(c.covered, 0);
    ck_assert_uint_eq(c.predicted_lost, 4);   /* acks 1..4 by then, none synced */
    ck_assert_uint_eq(c.real_lost, 2);
    ck_assert_uint_eq(c.pessimistic, 2);
    free_trial(t);
}
END_TEST

START_TEST(a_sync_running_at_the_cut_counts_as_the_longest)
{
    /* The batch promise allows N ms plus the longest sync, one the crash cut
     * short included: the b lines tell the host that one is running. */
    struct vm_trial *t = new_trial(4);
    vm_trial_line(t, "b", 1000);
    vm_trial_line(t, "s2 5", 6000);      /* took 5 us = 5000 ns */
    vm_trial_line(t, "b", 10000);
    struct vm_compare c;
    vm_compare(t, 8000, 0, &c);
    ck_assert_uint_eq(c.max_sync_ns, 5000);
    vm_compare(t, 50000, 0, &c);
    ck_assert_uint_eq(c.max_sync_ns, 40000);
    vm_trial_line(t, "s2 70", 90000);
    vm_compare(t, 100000, 0, &c);       /* it finished: its own time counts */
    ck_assert_uint_eq(c.max_sync_ns, 70000);
    free_trial(t);
}
END_TEST

/* Two strategies with every count set, printed as crash --vm and crash
 * --vm --target contract print them, on ext4 and on xfs -o wsync. */
static void print_outputs(FILE *to)
{
    struct wal_strategy st[2];
    ck_assert_int_eq(wal_strategy_parse("always", &st[0]), 0);
    ck_assert_int_eq(wal_strategy_parse("batch_10ms", &st[1]), 0);
    static struct report_vm_result s[2];
    memset(s, 0, sizeof s);
    for (unsigned i = 0; i < 2; i++) {
        verifier_summary_init(&s[i].v, &st[i]);
        struct verifier_trial t;
        memset(&t, 0, sizeof t);
        t.acked = 40 + i;
        t.acked_lost = i * 3;
        t.loss_window_ns = i * 12345678ull;
        t.max_sync_ns = 2000000;
        verifier_summary_add(&s[i].v, &t, 77);
        s[i].trials = 2;
        s[i].images = 9 + i;
        s[i].fsck_failed = i;
        s[i].log_missing = 2 * i;
        s[i].model_optimistic = 1;
        s[i].model_pessimistic = 3 + i;
        s[i].predicted_lost_total = 17;
        s[i].acks_seen = 123;
        s[i].syncs_seen = 45;
        s[i].boot_ns_max = 3456789012ull;
    }
    struct vm_config cfg = { .entry_size = 128, .trials = 2, .writers = 4, .seed = 99,
                             .flush_images = 3, .subset_images = 3 };
    struct report_vm_env env = { .accel = "tcg", .kernel = "6.1.0-57-amd64", .probe = "no KVM" };
    struct bench_env benv = { .fs_type = "ext4", .device = "vda", .warning = "" };
    struct report_vm_prog ps = { .trials = 3, .images = 12, .images_lost = 2, .fsck_failed = 1,
                                 .check_failed = 1, .acks_seen = 77, .acked_total = 60,
                                 .lost_max = 2, .lost_total = 3, .boot_ns_max = 4567000000ull,
                                 .check_ns_total = 8900000000ull,
                                 .promised = "everysec: you may lose 1 second of data",
                                 .promised_window_ms = 1000, .sync_ms_max = 43.25,
                                 .allowance_ms = 1043.25, .loss_window_ms_max = 1500.125,
                                 .reach_ms_max = 1700.5, .held = 0,
                                 .held_reason = "an image lost a key acknowledged 1500.1 ms "
                                                "before its cut" };
    for (int k = 0; k < 2; k++) {
        if (k) {
            cfg.fs = "xfs";
            cfg.mount_opts = "wsync";
            cfg.entries = 5000;
        }
        struct report_vm_run run;
        vm_report_run(&cfg, &run);
        cJSON *b = report_vm_body(&benv, &run, &env, s, 2);
        char *t = report_json_print(b);
        ck_assert_ptr_nonnull(t);
        fprintf(to, "%s\n", t);
        free(t);
        cJSON_Delete(b);
        report_print_vm_table(to, &run, &env, s, 2);
        b = report_vm_program_body(&run, &env, &ps);
        t = report_json_print(b);
        ck_assert_ptr_nonnull(t);
        fprintf(to, "%s\n", t);
        free(t);
        cJSON_Delete(b);
        report_print_vm_program_table(to, &run, &env, &ps);
    }
}

START_TEST(bodies_and_tables_are_byte_for_byte_the_pinned_ones)
{
    /* tests/vm-golden.txt is what vm/json.c and vm/program.c printed before
     * report/ took the bodies and tables over: crash --vm's crash_test_ok
     * body (crash's own object, "model" "vm", trials counting QEMU runs,
     * the comparison appended), its table, and the contract's body and
     * table.  Any byte that moves fails here. */
    char *got = NULL, *want = NULL;
    size_t got_len = 0, want_len = 0;
    FILE *m = open_memstream(&got, &got_len);
    ck_assert_ptr_nonnull(m);
    print_outputs(m);
    ck_assert_int_eq(fclose(m), 0);
    FILE *f = fopen("tests/vm-golden.txt", "r");
    ck_assert_msg(f != NULL, "tests/vm-golden.txt: run the test from the top of the tree");
    m = open_memstream(&want, &want_len);
    int c;
    while ((c = fgetc(f)) != EOF)
        fputc(c, m);
    fclose(f);
    ck_assert_int_eq(fclose(m), 0);
    ck_assert_str_eq(got, want);
    ck_assert_ptr_nonnull(strstr(got, "\"model_optimistic\": 1, \"entries_per_trial\""));
    free(got);
    free(want);
}
END_TEST

START_TEST(recorded_contract_body_carries_both_models)
{
    struct report_vm_prog ps = { .trials = 1, .images = 5, .acked_total = 8, .recorded = 1,
                                 .trials_recorded = 1, .images_compared = 2,
                                 .drop = { .predicted_lost_total = 4, .pessimistic = 2 } };
    struct vm_config cfg = { .seed = 5, .flush_images = 3, .subset_images = 3 };
    struct report_vm_env env = { .accel = "tcg", .kernel = "6.1.0-57-amd64", .probe = "TCG" };
    struct report_vm_run run;
    vm_report_run(&cfg, &run);
    cJSON *b = report_vm_program_body(&run, &env, &ps);
    char *t = report_json_print(b);
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_nonnull(strstr(t, "\"recorder\": {\"trials_recorded\": 1, \"images_compared\": 2"));
    ck_assert_ptr_nonnull(strstr(t, "\"drop\": {\"predicted_lost_total\": 4, \"images_optimistic\": 0, "
                                    "\"images_pessimistic\": 2, \"check_failed\": 0}"));
    ck_assert_ptr_nonnull(strstr(t, "\"ext4\": {\"predicted_lost_total\": 0"));
    ck_assert_ptr_nonnull(strstr(t, "\"recorder_reason\": null"));
    free(t);
    cJSON_Delete(b);
    /* flags in the journal: the reason names them, in the JSON and the table */
    ps.journal_flags = 3;
    b = report_vm_program_body(&run, &env, &ps);
    t = report_json_print(b);
    ck_assert_ptr_nonnull(strstr(t, "\"recorder_reason\": \"the journals carry 3 flags"));
    free(t);
    cJSON_Delete(b);
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    report_print_vm_program_table(m, &run, &env, &ps);
    fclose(m);
    ck_assert_ptr_nonnull(strstr(text, "drop                4          0           2            0"));
    ck_assert_ptr_nonnull(strstr(text, "WARNING: the journals carry 3 flags"));
    free(text);
    /* not recorded, with a reason */
    ps.recorded = 0;
    snprintf(ps.recorder_reason, sizeof ps.recorder_reason, "FSYNCLAB_VM_RECORD=0: not recorded");
    b = report_vm_program_body(&run, &env, &ps);
    t = report_json_print(b);
    ck_assert_ptr_nonnull(strstr(t, "\"recorder\": null, \"recorder_reason\": \"FSYNCLAB_VM_RECORD=0"));
    free(t);
    cJSON_Delete(b);
}
END_TEST

START_TEST(record_script_runs_the_command_under_record_or_says_why_not)
{
    char script[4200], inner[4200], err[400] = "";
    snprintf(script, sizeof script, "%s.sh", log_path);
    snprintf(inner, sizeof inner, "%s.inner", log_path);
    int rc = vm_record_script(script, inner, err, sizeof err);
    if (rc == -ENOTSUP && strstr(err, "access(")) {
        unlink(script);
        return;   /* no recorder library next to this test: nothing to check */
    }
    ck_assert_msg(rc == 0, "%s", err);
    FILE *f = fopen(script, "r");
    ck_assert_ptr_nonnull(f);
    char text[8192] = "";
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
    ck_assert_ptr_nonnull(strstr(text, "mount -t 9p -o trans=virtio,version=9p2000.L,cache=mmap "
                                       "fslshare /tmp/fslshare"));
    ck_assert_ptr_nonnull(strstr(text, " record --root /data --journal /tmp/fslshare/journal -- "
                                       "/bin/sh "));
    ck_assert_ptr_nonnull(strstr(text, inner));
    ck_assert_ptr_nonnull(strstr(text, "FSYNCLAB_REC_LIB="));
    /* a path the script could not carry unquoted: refused with the reason */
    ck_assert_int_eq(vm_record_script(script, "/tmp/a b", err, sizeof err), -ENOTSUP);
    ck_assert_ptr_nonnull(strstr(err, "letters, digits"));
    unlink(script);
}
END_TEST

START_TEST(fs_and_mount_opts_are_checked)
{
    ck_assert(vm_fs_valid("ext4") && vm_fs_valid("xfs") && vm_fs_valid("btrfs"));
    ck_assert(!vm_fs_valid("zfs") && !vm_fs_valid("") && !vm_fs_valid(NULL) &&
              !vm_fs_valid("ext4 "));
    ck_assert(vm_mount_opts_valid("data=journal,commit=1"));
    ck_assert(vm_mount_opts_valid("nodelalloc"));
    /* they travel on the kernel command line: no spaces, quotes or shell */
    ck_assert(!vm_mount_opts_valid("data=journal commit=1"));
    ck_assert(!vm_mount_opts_valid("a;reboot"));
    ck_assert(!vm_mount_opts_valid("$(x)"));
    ck_assert(!vm_mount_opts_valid(""));
    char big[VM_MOUNT_OPTS_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    ck_assert(!vm_mount_opts_valid(big));
    big[VM_MOUNT_OPTS_MAX] = 0;
    ck_assert(vm_mount_opts_valid(big));
    struct vm_config cfg = { 0 };
    ck_assert_str_eq(vm_fs_name(&cfg), "ext4");
    cfg.fs = "btrfs";
    ck_assert_str_eq(vm_fs_name(&cfg), "btrfs");
}
END_TEST

START_TEST(check_slot_is_extracted_exactly)
{
    /* The check boot copies image i's /LOG to byte i * VM_CHECK_SLOT of the
     * output disk; the host takes back exactly size bytes of slot i. */
    int fd = open(log_path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(ftruncate(fd, (off_t)(3 * VM_CHECK_SLOT)), 0);
    ck_assert_int_eq(pwrite(fd, "slot-one-data", 13, (off_t)VM_CHECK_SLOT), 13);
    ck_assert_int_eq(pwrite(fd, "XX", 2, (off_t)(2 * VM_CHECK_SLOT)), 2);
    close(fd);
    char err[256] = "";
    ck_assert_int_eq(vm_check_extract(log_path, 1, 8, img_path, err, sizeof err), 0);
    char buf[32] = "";
    fd = open(img_path, O_RDONLY);
    ck_assert_int_eq(read(fd, buf, sizeof buf), 8);
    close(fd);
    ck_assert_str_eq(buf, "slot-one");
    /* a size past the end of the output disk is an error, never a short file */
    ck_assert_int_lt(vm_check_extract(log_path, 3, 1u << 20, img_path, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "copy_file_range"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("vm");
    TCase *tc = tcase_create("vm");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, stale_header_count_is_scanned_past);
    tcase_add_test(tc, truncated_last_entry_is_dropped);
    tcase_add_test(tc, scan_stops_at_an_invalid_or_empty_entry);
    tcase_add_test(tc, bad_header_is_refused);
    tcase_add_test(tc, replay_up_to_a_flush_with_and_without_skips);
    tcase_add_test(tc, console_lines_fill_the_ledger);
    tcase_add_test(tc, comparison_flags_an_optimistic_model);
    tcase_add_test(tc, a_sync_running_at_the_cut_counts_as_the_longest);
    tcase_add_test(tc, bodies_and_tables_are_byte_for_byte_the_pinned_ones);
    tcase_add_test(tc, recorded_contract_body_carries_both_models);
    tcase_add_test(tc, record_script_runs_the_command_under_record_or_says_why_not);
    tcase_add_test(tc, fs_and_mount_opts_are_checked);
    tcase_add_test(tc, check_slot_is_extracted_exactly);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
