/* DESIGN: the forked writer, the child side of a trial.
 *
 * The writer is one process with cfg->writers threads (1 to 256), each
 * appending its share of the entries (wal_writer_share, as bench's writer
 * threads) to the one log, whose file is wrapped by seam.c.  Each thread
 * records its acknowledgements in the ledger (step A2 of THE ORDERING
 * ARGUMENT, ledger.c) right after wal_log_append returns (A1).
 *
 * The child never closes or cleans up anything: it appends, then waits,
 * and the only way out is the parent's SIGKILL (or its own at a failure
 * point).  A setup failure is written to the ledger, naming the call, and
 * ends the child with _exit.  It dies with the parent (PR_SET_PDEATHSIG)
 * rather than wait forever for a kill that will not come.
 *
 * Its life has two halves: prepare creates and wraps the scratch file (the
 * sync of the directory included) and touches nothing in the ledger; run
 * opens the log on it under the trial's id and appends.  A fork server's
 * spare (forkserver.c) runs the first half before its trial, while the
 * ledger still belongs to the trial before, so a failure there is kept and
 * reported by the second half, in the trial it belongs to.
 */
#include "crashsim/internal.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

/* msg names the failing call; err is its negative errno. */
static _Noreturn void writer_setup_failed(struct crashsim_ledger *l, const char *msg, int err)
{
    snprintf(l->sh->error, sizeof l->sh->error, "%s", msg);
    atomic_store_explicit(&l->sh->append_rc, err, memory_order_release);
    atomic_store_explicit(&l->sh->writer, CRASHSIM_WRITER_SETUP_FAILED, memory_order_release);
    _exit(1);
}

static int writes_are_durable(enum wal_sync_method m)
{
    return m == WAL_SYNC_O_DSYNC || m == WAL_SYNC_O_DIRECT_DSYNC;
}

/* Enough for wal_log_append and libfiu, also under ASan; 256 threads of
 * the default 8 MiB would map 2 GiB for nothing. */
#define WRITER_STACK (512u << 10)

/* One writer thread: its share of the entries. */
struct writer_thread {
    pthread_t thread;
    struct wal_log *log;
    struct crashsim_ledger *l;
    timer_t kill_timer;
    uint64_t entries;
    unsigned lane;    /* 1.. */
};

/* The ack the kill waits for is in: the kill, at a random fraction of one
 * mean ack interval from now, so that it falls while the writer still
 * appends.  The kernel sends it, from a timer, at whatever instruction the
 * writer is at; the parent needs not be awake for it.  Should the timer
 * not arm, the writer dies at once, and that instant is the crash's. */
static void writer_arm_kill(struct writer_thread *t)
{
    struct crashsim_shared *sh = t->l->sh;
    uint64_t now = wal_now_ns();
    uint64_t acked = atomic_load_explicit(&sh->acked, memory_order_acquire);
    uint64_t first = atomic_load_explicit(&sh->first_ack_ns, memory_order_acquire);
    uint64_t mean = acked > 1 && now > first ? (now - first) / (acked - 1)
                    : now > sh->start_ns ? now - sh->start_ns : 0;
    if (mean > 500000000ull)
        mean = 500000000ull;
    uint64_t at = now + sh->kill_draw % (mean + 1);
    struct itimerspec its = { .it_value = { .tv_sec = (time_t)(at / 1000000000ull),
                                            .tv_nsec = (long)(at % 1000000000ull) } };
    /* The parent is woken first: a timer armed for an instant already
     * past kills at once, before a wake after it.  The writer appends
     * nothing in between, so the instant is still the crash's. */
    atomic_store_explicit(&sh->kill_at_ns, at, memory_order_release);
    crashsim_ledger_wake(t->l);
    if (timer_settime(t->kill_timer, TIMER_ABSTIME, &its, NULL) < 0) {
        atomic_store_explicit(&sh->kill_at_ns, wal_now_ns(), memory_order_release);
        raise(SIGKILL);
    }
}

static void *writer_thread_main(void *arg)
{
    struct writer_thread *t = arg;
    struct crashsim_shared *sh = t->l->sh;
    crashsim_ledger_set_lane(t->lane);   /* a timeline's lane for its acks and syncs */
    for (uint64_t i = 0; i < t->entries; i++) {
        uint64_t seq = 0, ack = 0;
        int rc = wal_log_append(t->log, &seq, &ack);                      /* A1 */
        if (rc < 0) {
            /* The first thread to fail reports; the log is failed for
             * every thread now, and the others just stop. */
            int none = 0;
            if (atomic_compare_exchange_strong_explicit(&sh->append_rc, &none, rc,
                                                        memory_order_acq_rel,
                                                        memory_order_relaxed)) {
                int err = 0;
                enum wal_op op = wal_log_failed_op(t->log, &err);
                atomic_store_explicit(&sh->append_op, (int)op, memory_order_release);
                int again = wal_log_append(t->log, NULL, NULL);
                atomic_store_explicit(&sh->append_rc_next, again, memory_order_release);
                atomic_store_explicit(&sh->writer, CRASHSIM_WRITER_APPEND_FAILED,
                                      memory_order_release);
            }
            break;
        }
        if (crashsim_ledger_ack(t->l, seq, ack))                          /* A2 */
            writer_arm_kill(t);
    }
    return NULL;
}

/* The wrapped scratch file, or the failure that will end the writer. */
static void writer_open_file(const struct crashsim_config *cfg, struct crashsim_ledger *l,
                             const char *path, struct crashsim_writer_file *o)
{
    struct wal_file *f;
    o->file = NULL;
    o->log = NULL;
    o->msg[0] = '\0';
    struct sigevent kill_event = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGKILL };
    if (timer_create(CLOCK_MONOTONIC, &kill_event, &o->kill_timer) < 0) {
        o->rc = -errno;
        snprintf(o->msg, sizeof o->msg, "timer_create(CLOCK_MONOTONIC, SIGKILL): %s",
                 strerror(errno));
        return;
    }
    o->rc = wal_file_open(path, cfg->sync_method, &f, o->msg, sizeof o->msg);
    if (o->rc < 0)
        return;
    if (cfg->prealloc &&
        (o->rc = wal_file_prealloc(f, cfg->entries * cfg->entry_size, o->msg, sizeof o->msg)) < 0)
        return;
    o->rc = crashsim_file_wrap(f, l, writes_are_durable(cfg->sync_method), &o->file);
    if (o->rc < 0) {
        snprintf(o->msg, sizeof o->msg, "crashsim_file_wrap(%s): %s", path, strerror(-o->rc));
        return;
    }
    /* The log too, its memory taken ahead, under a placeholder id until
     * the trial's is known; not under batch, whose flusher would start
     * syncing (and noting its syncs in the ledger) before the trial. */
    if (cfg->strategy.kind != WAL_BATCH) {
        static const struct wal_log_id placeholder;
        int rc = wal_log_open_id(&o->log, o->file, &cfg->strategy, cfg->entry_size,
                                 &placeholder);
        if (rc < 0)
            o->log = NULL;   /* opened in the trial, which reports a failure */
    }
}

/* The log on the file opened; any failure ends the writer. */
static struct wal_log *writer_open_log(const struct crashsim_config *cfg,
                                       struct crashsim_ledger *l, const char *path,
                                       struct crashsim_writer_file *o)
{
    if (o->rc < 0)
        writer_setup_failed(l, o->msg, o->rc);
    struct wal_log *log = o->log;
    int rc = log ? wal_log_set_id(log, &l->sh->id)
                 : wal_log_open_id(&log, o->file, &cfg->strategy, cfg->entry_size, &l->sh->id);
    if (rc < 0) {
        snprintf(o->msg, sizeof o->msg, "wal_log_open(%s): %s", path, strerror(-rc));
        writer_setup_failed(l, o->msg, rc);
    }
    return log;
}

void crashsim_writer_prepare(const struct crashsim_config *cfg, struct crashsim_ledger *l,
                             const char *path, const struct crashsim_trial_opts *opts,
                             pid_t parent, struct crashsim_writer_file *o)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    /* Past RLIMIT_FSIZE a write should fail with EFBIG, named like any other
     * I/O error, not kill the writer as a crash nobody asked for. */
    signal(SIGXFSZ, SIG_IGN);
    /* Die with the parent rather than wait forever for its SIGKILL. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);
    if (opts && opts->child_hook)
        opts->child_hook(opts->hook_arg);
    writer_open_file(cfg, l, path, o);
}

_Noreturn void crashsim_writer_main(const struct crashsim_config *cfg, struct crashsim_ledger *l,
                                    const char *path, const struct crashsim_trial_opts *opts,
                                    pid_t parent)
{
    struct crashsim_writer_file o;
    crashsim_writer_prepare(cfg, l, path, opts, parent, &o);
    crashsim_writer_run(cfg, l, path, &o);
}

_Noreturn void crashsim_writer_run(const struct crashsim_config *cfg, struct crashsim_ledger *l,
                                   const char *path, struct crashsim_writer_file *o)
{
    struct wal_log *log = writer_open_log(cfg, l, path, o);

    /* The threads start one after the other; the first may be appending
     * while the last is created, as clients connecting to a database. */
    unsigned nw = cfg->writers > 1 ? cfg->writers : 1;
    struct writer_thread *wt = calloc(nw, sizeof *wt);
    if (!wt)
        writer_setup_failed(l, "calloc(writer threads): Cannot allocate memory", -ENOMEM);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, WRITER_STACK);
    atomic_store_explicit(&l->sh->writer, CRASHSIM_WRITER_RUNNING, memory_order_release);
    unsigned started = 0;
    for (unsigned i = 0; i < nw; i++) {
        wt[i].log = log;
        wt[i].l = l;
        wt[i].kill_timer = o->kill_timer;
        wt[i].entries = wal_writer_share(cfg->entries, nw, i);
        wt[i].lane = i + 1;
        if (nw == 1)
            break;   /* no thread for the common case */
        if (wt[i].entries == 0)
            continue;
        int rc = pthread_create(&wt[i].thread, &attr, writer_thread_main, &wt[i]);
        if (rc != 0) {
            char msg[sizeof l->sh->error];
            snprintf(msg, sizeof msg, "pthread_create(writer %u of %u): %s", i + 1, nw,
                     strerror(rc));
            writer_setup_failed(l, msg, -rc);   /* _exit ends the threads started */
        }
        started = i + 1;
    }
    pthread_attr_destroy(&attr);
    if (nw == 1)
        writer_thread_main(&wt[0]);
    for (unsigned i = 0; i < started; i++)
        if (wt[i].entries)
            pthread_join(wt[i].thread, NULL);
    int running = CRASHSIM_WRITER_RUNNING;
    atomic_compare_exchange_strong_explicit(&l->sh->writer, &running, CRASHSIM_WRITER_DONE,
                                            memory_order_acq_rel, memory_order_relaxed);
    /* Nothing is closed or cleaned up: the only way out is SIGKILL. */
    for (;;)
        pause();
}
