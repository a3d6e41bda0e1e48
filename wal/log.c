/* DESIGN: the appender and its strategies.
 *
 * One mutex orders appends: a writer takes the next seq, writes its record
 * at seq's offset and, under `always`, syncs before it lets go, so that an
 * acknowledgement always follows the sync that covered it.  Under
 * `batch_<N>ms` a flusher thread wakes on a fixed cadence (absolute
 * CLOCK_MONOTONIC deadlines, so a slow sync does not push every later tick
 * back) and syncs whatever was written since the last sync, also while the
 * writers are idle; it sleeps on a condition variable of its own rather than
 * in clock_nanosleep so that closing the log does not wait out a 10 s
 * interval, and writers step aside when it wants the log's mutex.
 * The sync itself runs outside the mutex: writers keep appending while the
 * disk flushes, which is the point of batching.
 *
 * Exposure is measured, not assumed: when a sync starts, the flusher takes
 * the acknowledgement time of the oldest record that no earlier sync covered;
 * when that sync returns, end - that time is the longest any record it
 * covers waited.  This needs two numbers, not one per record.
 *
 * Under `group` a writer puts its record in a staging buffer and either
 * leads (writes everything staged with one pwrite, then runs one sync
 * covering it) or, when a leader is already at work, waits for it and looks
 * again: that leader's sync may have started before its write, and then it
 * cannot count.  One write and one sync thus serve every writer waiting,
 * with no fixed delay (see "group commit" below).  `always` is the naive
 * contrast: every writer writes and runs its own sync.
 *
 * A failed sync fails the log for good: the error is sticky, every later
 * append returns it, and the records it covered are never counted as
 * synced.  Retrying would be a lie after Linux has dropped the dirty pages
 * it could not write (the 2018 "fsyncgate" lesson).
 */
#include "wal/internal.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


struct wal_log {
    struct wal_file *file;
    struct wal_strategy strategy;
    uint32_t record_size;
    struct wal_log_id id;           /* epoch and payload seed of every record */
    uint32_t epoch_crc;             /* wal_epoch_crc(id.epoch), computed once */
    unsigned char *record;          /* encode buffer, used under mu */

    pthread_mutex_t mu;
    /* The flusher sleeps on its own mutex and condition, so that waking up
     * does not mean queueing for mu behind a busy writer; stopping is
     * guarded by tick_mu. */
    pthread_mutex_t tick_mu;
    pthread_cond_t wake;
    atomic_int flusher_waiting;     /* the flusher wants mu: writers step aside */
    int group_leading;              /* a group leader's sync is running */
    pthread_cond_t group_arrived;   /* a gathering leader waits on it for writers */
    struct group_waiter *group_waiters; /* parked behind the running leader */
    unsigned group_parked;          /* writers inside group commit, leader included */
    unsigned group_peak;            /* the most ever parked at once */
    int group_gathering;            /* the leader is waiting for writers to arrive */
    uint64_t group_last_sync_ns;    /* how long the last group sync took */
    unsigned char *stage;           /* group: records encoded, not yet written */
    unsigned char *stage_spare;     /* the leader writes from this one */
    size_t stage_cap, stage_spare_cap;  /* records each can hold */
    size_t stage_count;             /* records in stage */
    uint64_t staged_seq;            /* last seq encoded into stage */
    uint64_t last_seq;              /* last seq whose write completed */
    uint64_t synced_seq;            /* last seq covered by a successful sync */
    uint64_t oldest_unsynced_ack;   /* ack time of the oldest record after synced_seq, 0 if none */
    int stopping;
    int error;                      /* sticky negative errno */
    enum wal_op failed_op;
    struct wal_stats stats;

    int has_flusher;
    pthread_t flusher;
    uint64_t opened_ns;
};

uint64_t wal_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void fail_locked(struct wal_log *log, enum wal_op op, int err)
{
    if (log->error == 0) {
        log->error = err;
        log->failed_op = op;
    }
}

/* Runs one sync covering everything written so far; unless forced, none
 * when nothing is uncovered.  Called with mu held; drops it around the sync
 * itself. */
static int sync_covering_locked(struct wal_log *log, int force)
{
    uint64_t covered = log->last_seq;
    uint64_t oldest_ack = log->oldest_unsynced_ack;
    if (covered == log->synced_seq && !force)
        return 0;
    log->oldest_unsynced_ack = 0;
    pthread_mutex_unlock(&log->mu);

    uint64_t t0 = wal_now_ns();
    int rc = log->file->methods->sync(log->file);
    uint64_t t1 = wal_now_ns();

    pthread_mutex_lock(&log->mu);
    if (rc < 0) {
        fail_locked(log, WAL_OP_SYNC, rc);
        return rc;
    }
    log->stats.syncs++;
    hist_add(&log->stats.sync_ns, t1 - t0);
    if (oldest_ack && t1 > oldest_ack && t1 - oldest_ack > log->stats.exposure_max_ns)
        log->stats.exposure_max_ns = t1 - oldest_ack;
    if (covered > log->synced_seq)
        log->synced_seq = covered;
    assert(log->synced_seq <= log->last_seq);
    return 0;
}

static struct timespec ns_to_timespec(uint64_t ns)
{
    return (struct timespec){ .tv_sec = (time_t)(ns / 1000000000ull),
                              .tv_nsec = (long)(ns % 1000000000ull) };
}

/* glibc's mutex is not fair: a writer that unlocks and relocks in a tight
 * loop can keep a woken flusher off mu for most of an interval (measured
 * here: 10 ms ticks starting up to 9.8 ms late under one busy writer).  So
 * the flusher announces itself and writers yield until it has the lock. */
static void lock_as_flusher(struct wal_log *log)
{
    atomic_store_explicit(&log->flusher_waiting, 1, memory_order_relaxed);
    pthread_mutex_lock(&log->mu);
    atomic_store_explicit(&log->flusher_waiting, 0, memory_order_relaxed);
}

static void *flusher_main(void *arg)
{
    struct wal_log *log = arg;
    const uint64_t interval = (uint64_t)log->strategy.interval_ms * 1000000ull;
    uint64_t next = log->opened_ns + interval;   /* the cadence counts from the open,
                                                    not from when this thread ran */
    int failed = 0;

    pthread_mutex_lock(&log->tick_mu);
    while (!log->stopping && !failed) {
        struct timespec deadline = ns_to_timespec(next);
        int rc = pthread_cond_timedwait(&log->wake, &log->tick_mu, &deadline);
        if (log->stopping)
            break;
        if (rc != ETIMEDOUT && wal_now_ns() < next)
            continue;   /* spurious wake-up: keep the cadence */
        pthread_mutex_unlock(&log->tick_mu);
        lock_as_flusher(log);
        failed = sync_covering_locked(log, 0) < 0 || log->error != 0;
        pthread_mutex_unlock(&log->mu);
        pthread_mutex_lock(&log->tick_mu);
        /* Fixed cadence: the next tick is a multiple of the interval after
         * the first; ticks missed behind a slow sync are skipped, not bunched. */
        uint64_t now = wal_now_ns();
        next += interval;
        if (next <= now)
            next += ((now - next) / interval + 1) * interval;
    }
    pthread_mutex_unlock(&log->tick_mu);
    return NULL;
}

static void log_free(struct wal_log *log)
{
    pthread_cond_destroy(&log->wake);
    pthread_cond_destroy(&log->group_arrived);
    pthread_mutex_destroy(&log->mu);
    pthread_mutex_destroy(&log->tick_mu);
    free(log->record);
    free(log->stage);
    free(log->stage_spare);
    free(log);
}

int wal_log_open(struct wal_log **out, struct wal_file *f, const struct wal_strategy *s,
                 uint32_t record_size)
{
    return wal_log_open_id(out, f, s, record_size, NULL);
}

int wal_log_open_id(struct wal_log **out, struct wal_file *f, const struct wal_strategy *s,
                    uint32_t record_size, const struct wal_log_id *id)
{
    if (record_size < WAL_HEADER_SIZE || record_size > WAL_MAX_RECORD)
        return -EINVAL;
    if (s->kind == WAL_BATCH &&
        (s->interval_ms < WAL_BATCH_MIN_MS || s->interval_ms > WAL_BATCH_MAX_MS))
        return -EINVAL;
    struct wal_log *log = calloc(1, sizeof *log);
    if (!log)
        return -ENOMEM;
    /* aligned for O_DIRECT, whatever the method */
    if (posix_memalign((void **)&log->record, 4096, record_size) != 0) {
        free(log);
        return -ENOMEM;
    }
    log->file = f;
    log->strategy = *s;
    log->record_size = record_size;
    if (id)
        log->id = *id;
    log->epoch_crc = wal_epoch_crc(log->id.epoch);
    hist_init(&log->stats.sync_ns);

    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&log->wake, &ca);
    pthread_cond_init(&log->group_arrived, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&log->mu, NULL);
    pthread_mutex_init(&log->tick_mu, NULL);

    log->opened_ns = wal_now_ns();
    if (s->kind == WAL_BATCH) {
        int rc = pthread_create(&log->flusher, NULL, flusher_main, log);
        if (rc != 0) {
            log_free(log);
            return -rc;
        }
        log->has_flusher = 1;
    }
    *out = log;
    return 0;
}

int wal_log_set_id(struct wal_log *log, const struct wal_log_id *id)
{
    pthread_mutex_lock(&log->mu);
    int started = log->last_seq > 0 || log->staged_seq > 0;
    if (!started) {
        log->id = *id;
        log->epoch_crc = wal_epoch_crc(id->epoch);
    }
    pthread_mutex_unlock(&log->mu);
    return started ? -EBUSY : 0;
}

/* ---- group commit --------------------------------------------------------
 * A writer encodes its record into the stage and, if no leader is running,
 * leads: it writes the whole stage with one pwrite and syncs it, outside mu,
 * while later writers fill the other stage.  Otherwise it parks on a
 * semaphore of its own, and the leader hands it its result and posts it
 * after letting go of mu, so that a woken writer returns without queueing
 * for mu behind the others.  On the 2-vCPU VM of docs/performance.md a
 * wake-up across CPUs costs 10 to 12 us and every thread switch a few
 * system calls, so one pwrite per batch instead of one per writer under the
 * mutex, and no hand-over chain for mu on wake-up, matter: measured back to
 * back against writers that each wrote and waited on a condition variable
 * (16 writers, five alternating runs), 20k-29k appends/s against 14k-19k.
 *
 * A leader first gathers: it waits until as many records are staged as
 * writers have ever been in group commit at once (group_peak), or for as
 * long as the last sync took, whichever comes first.  Without that, the
 * writers just released by one sync write while the next has already
 * started, and two cohorts take turns at half the batch each (measured: 8
 * records a sync with 16 writers).  The wait adapts to the writers present
 * and to the disk; a lone writer never waits. */

/* A writer parked behind a running leader.  It lives on the writer's stack;
 * the leader unlinks it under mu, so it is only posted once. */
struct group_waiter {
    sem_t woken;
    uint64_t seq;
    int result;                 /* 0 covered, < 0 the log's error, GROUP_AGAIN */
    struct group_waiter *next;
};
#define GROUP_AGAIN 1           /* not covered by that sync: look again */

static int stage_record_locked(struct wal_log *log, uint64_t *seq_out)
{
    if (log->stage_count == log->stage_cap) {
        size_t cap = log->stage_cap ? 2 * log->stage_cap : 16;
        unsigned char *bigger;
        if (posix_memalign((void **)&bigger, 4096, cap * log->record_size) != 0)
            return -ENOMEM;
        if (log->stage_count)
            memcpy(bigger, log->stage, log->stage_count * log->record_size);
        free(log->stage);
        log->stage = bigger;
        log->stage_cap = cap;
    }
    uint64_t seq = log->staged_seq + 1;
    wal_record_encode_crc(log->stage + log->stage_count * log->record_size,
                          log->id.payload_seed, log->epoch_crc, seq,
                          log->record_size - WAL_HEADER_SIZE);
    log->stage_count++;
    log->staged_seq = seq;
    *seq_out = seq;
    return 0;
}

/* Waits until the stage holds a record from every writer seen at once, or
 * for as long as the last sync took. */
static void group_gather_locked(struct wal_log *log)
{
    uint64_t deadline = wal_now_ns() + log->group_last_sync_ns;
    log->group_gathering = 1;
    while (log->stage_count < log->group_peak && wal_now_ns() < deadline) {
        struct timespec ts = ns_to_timespec(deadline);
        pthread_cond_timedwait(&log->group_arrived, &log->mu, &ts);
    }
    log->group_gathering = 0;
}

/* Writes and syncs the stage; called with mu held by the one leader, which
 * drops it meanwhile.  A failed write or sync fails the log. */
static void group_write_and_sync_locked(struct wal_log *log)
{
    unsigned char *buf = log->stage;
    size_t n = log->stage_count, cap = log->stage_cap;
    uint64_t first = log->staged_seq - n + 1;
    assert(log->synced_seq <= log->last_seq && log->last_seq <= log->staged_seq);
    assert(first == log->last_seq + 1);
    log->stage = log->stage_spare;
    log->stage_cap = log->stage_spare_cap;
    log->stage_spare = buf;
    log->stage_spare_cap = cap;
    log->stage_count = 0;
    pthread_mutex_unlock(&log->mu);

    int wrc = log->file->methods->pwrite(log->file, buf, n * log->record_size,
                                        (off_t)((first - 1) * log->record_size));
    uint64_t t0 = wal_now_ns();
    int src = wrc == 0 ? log->file->methods->sync(log->file) : 0;
    uint64_t t1 = wal_now_ns();

    pthread_mutex_lock(&log->mu);
    if (wrc < 0) {
        fail_locked(log, WAL_OP_WRITE, wrc);
        return;
    }
    log->last_seq = first + n - 1;
    assert(log->synced_seq <= log->last_seq && log->last_seq <= log->staged_seq);
    if (src < 0) {
        fail_locked(log, WAL_OP_SYNC, src);
        return;
    }
    log->stats.syncs++;
    hist_add(&log->stats.sync_ns, t1 - t0);
    log->group_last_sync_ns = t1 - t0;
    log->synced_seq = log->last_seq;
    assert(log->synced_seq <= log->last_seq && log->last_seq <= log->staged_seq);
}

/* After a leader's write and sync, with mu held: hands every parked writer
 * its result (covered, failed, or look again) and counts the covered ones
 * out.  Returns the list, which the leader posts once it lets go of mu. */
static struct group_waiter *group_settle_locked(struct wal_log *log)
{
    struct group_waiter *list = log->group_waiters;
    assert(log->synced_seq <= log->last_seq && log->last_seq <= log->staged_seq);
    log->group_waiters = NULL;
    for (struct group_waiter *w = list; w; w = w->next) {
        if (log->synced_seq >= w->seq) {
            w->result = 0;
            log->stats.appended++;
            log->group_parked--;
        } else if (log->error) {
            w->result = log->error;
            log->group_parked--;
        } else {
            w->result = GROUP_AGAIN;
        }
    }
    return list;
}

/* Called with mu held; returns without it, with 0 once a sync that started
 * after seq's write returned, or with the log's error. */
static int group_append_locked(struct wal_log *log, uint64_t *seq_out)
{
    uint64_t seq;
    int rc = stage_record_locked(log, &seq);
    if (rc < 0) {
        pthread_mutex_unlock(&log->mu);
        return rc;
    }
    *seq_out = seq;
    log->group_parked++;
    if (log->group_parked > log->group_peak)
        log->group_peak = log->group_parked;
    if (log->group_gathering && log->stage_count >= log->group_peak)
        pthread_cond_signal(&log->group_arrived);

    struct group_waiter *settled = NULL;
    while (log->synced_seq < seq && !log->error) {
        if (log->group_leading) {
            struct group_waiter w = { .seq = seq, .next = log->group_waiters };
            sem_init(&w.woken, 0, 0);
            log->group_waiters = &w;
            pthread_mutex_unlock(&log->mu);
            while (sem_wait(&w.woken) != 0)
                ;   /* EINTR */
            sem_destroy(&w.woken);
            if (w.result != GROUP_AGAIN)
                return w.result;   /* the leader counted it out */
            pthread_mutex_lock(&log->mu);
        } else {
            log->group_leading = 1;
            group_gather_locked(log);
            group_write_and_sync_locked(log);   /* covers seq, or fails the log */
            log->group_leading = 0;
            settled = group_settle_locked(log);
        }
    }
    rc = log->synced_seq >= seq ? 0 : log->error;
    if (rc == 0)
        log->stats.appended++;
    log->group_parked--;
    pthread_mutex_unlock(&log->mu);
    while (settled) {
        struct group_waiter *next = settled->next;   /* gone once posted */
        sem_post(&settled->woken);
        settled = next;
    }
    return rc;
}

int wal_log_append(struct wal_log *log, uint64_t *seq_out, uint64_t *ack_ns_out)
{
    while (atomic_load_explicit(&log->flusher_waiting, memory_order_relaxed))
        sched_yield();
    pthread_mutex_lock(&log->mu);
    if (log->error) {
        int e = log->error;
        pthread_mutex_unlock(&log->mu);
        return e;
    }
    if (log->strategy.kind == WAL_GROUP) {
        uint64_t seq;
        int rc = group_append_locked(log, &seq);
        if (rc < 0)
            return rc;
        if (seq_out)
            *seq_out = seq;
        if (ack_ns_out)
            *ack_ns_out = wal_now_ns();
        return 0;
    }
    uint64_t seq = log->last_seq + 1;
    size_t n = wal_record_encode_crc(log->record, log->id.payload_seed, log->epoch_crc, seq,
                                     log->record_size - WAL_HEADER_SIZE);
    off_t off = (off_t)((seq - 1) * log->record_size);
    int rc = log->file->methods->pwrite(log->file, log->record, n, off);
    if (rc < 0) {
        fail_locked(log, WAL_OP_WRITE, rc);
        pthread_mutex_unlock(&log->mu);
        return rc;
    }
    log->last_seq = seq;

    if (log->strategy.kind == WAL_ALWAYS) {
        rc = sync_covering_locked(log, 1);
    }
    if (rc < 0) {
        pthread_mutex_unlock(&log->mu);
        return rc;
    }
    uint64_t ack = wal_now_ns();
    if (log->synced_seq < seq && log->oldest_unsynced_ack == 0)
        log->oldest_unsynced_ack = ack;
    log->stats.appended++;
    pthread_mutex_unlock(&log->mu);

    if (seq_out)
        *seq_out = seq;
    if (ack_ns_out)
        *ack_ns_out = ack;
    return 0;
}

unsigned wal_log_group_waiting(const struct wal_log *log)
{
    struct wal_log *l = (struct wal_log *)log;   /* the mutex is not logical state */
    pthread_mutex_lock(&l->mu);
    unsigned n = l->group_parked;
    pthread_mutex_unlock(&l->mu);
    return n;
}

enum wal_op wal_log_failed_op(const struct wal_log *log, int *err)
{
    struct wal_log *l = (struct wal_log *)log;   /* the mutex is not logical state */
    pthread_mutex_lock(&l->mu);
    enum wal_op op = l->failed_op;
    if (err)
        *err = l->error;
    pthread_mutex_unlock(&l->mu);
    return op;
}

int wal_log_close(struct wal_log *log, struct wal_stats *stats)
{
    pthread_mutex_lock(&log->tick_mu);
    log->stopping = 1;
    pthread_cond_signal(&log->wake);
    pthread_mutex_unlock(&log->tick_mu);
    if (log->has_flusher)
        pthread_join(log->flusher, NULL);

    pthread_mutex_lock(&log->mu);
    if (log->strategy.kind == WAL_BATCH && log->error == 0)
        sync_covering_locked(log, 0);
    pthread_mutex_unlock(&log->mu);

    int rc = log->file->methods->close(log->file);
    if (rc < 0)
        fail_locked(log, WAL_OP_CLOSE, rc);

    log->stats.uncovered = log->last_seq - log->synced_seq;
    log->stats.failed_op = log->failed_op;
    log->stats.error = log->error;
    if (stats)
        *stats = log->stats;
    int err = log->error;
    log_free(log);
    return err;
}
