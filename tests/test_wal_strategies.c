/* Unit tests for wal/: the strategies' semantics counted through the storage
 * seam (a fake file that logs every call), and logs on real files. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

int main(void)
{
    Suite *s = suite_create("wal_strategies");
    TCase *str = tcase_create("strategy");
    tcase_set_timeout(str, 30);
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
