/* DESIGN: one trial, the parent side.
 *
 * A trial runs in four phases, each a function below:
 *   1. set up: check the configuration, ready the ledger, draw every
 *      random number the trial will use from its seed, name the scratch
 *      file; then fork the writer (writer.c) under the scratch guard, so
 *      that SIGINT/SIGTERM kill it and remove the file;
 *   2. wait for the crash point: the writer dies at a failure point, its
 *      append fails, it is done, the deadline comes, or (CRASHSIM_KILL_RANDOM)
 *      the ack numbered target_acks arms the writer's own kill, a timer
 *      that sends it SIGKILL at a random instant within one mean ack
 *      interval (writer.c).  The kernel delivers it when drawn whatever
 *      the parent is doing, so a run may start the next trial meanwhile
 *      (run.c) and the parent's scheduling never delays a kill;
 *   3. reap and classify: SIGKILL (unless the timer sends it) and
 *      waitpid, then decide from the ledger and the wait status alone how
 *      the writer ended;
 *   4. apply the model and verify: decide first, act after, as SQLite's
 *      crash VFS (test6.c) does: the crash instant and the ledger snapshot
 *      are fixed once the writer is gone, and only then is the file
 *      touched by the power-loss model (model.c) and read by the verifier.
 * Whatever happened, the scratch file is removed and the guard left.
 *
 * The ledger is read only after the writer is reaped; THE ORDERING
 * ARGUMENT (ledger.c) says why that snapshot errs only towards "less
 * durable" and "not acknowledged".
 */
#include "crashsim/internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <fiu.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long proc_ms(const char *file, long fallback_ms)
{
    FILE *fp = fopen(file, "re");
    long cs;
    if (!fp)
        return fallback_ms;
    int ok = fscanf(fp, "%ld", &cs) == 1 && cs >= 0;
    fclose(fp);
    return ok ? cs * 10 : fallback_ms;
}

void crashsim_resolve_writeback(long expire_ms, long interval_ms, long *e, long *i)
{
    *e = expire_ms >= 0 ? expire_ms : proc_ms("/proc/sys/vm/dirty_expire_centisecs", 30000);
    *i = interval_ms >= 0 ? interval_ms
                          : proc_ms("/proc/sys/vm/dirty_writeback_centisecs", 5000);
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull),
                           .tv_nsec = (long)(ns % 1000000000ull) };
    nanosleep(&ts, NULL);
}

static uint64_t view_ack_ns(const void *ctx, uint64_t seq)
{
    return crashsim_ledger_ack_ns(ctx, seq);
}

int crashsim_check_config(const struct crashsim_config *cfg, char *err, size_t errlen)
{
    const char *bad = NULL;
    if (cfg->entries < 1 || cfg->entries > CRASHSIM_MAX_ENTRIES)
        bad = "entries";
    else if (cfg->entry_size < WAL_HEADER_SIZE || cfg->entry_size > WAL_MAX_RECORD)
        bad = "entry_size";
    else if (cfg->strategy.kind == WAL_BATCH && (cfg->strategy.interval_ms < WAL_BATCH_MIN_MS ||
                                                 cfg->strategy.interval_ms > WAL_BATCH_MAX_MS))
        bad = "strategy";
    else if (crashsim_model_check(&cfg->model) != 0)
        bad = "model";
    else if (!cfg->dir || !*cfg->dir)
        bad = "dir";
    else if (cfg->writers > CRASHSIM_MAX_WRITERS)
        bad = "writers";
    else if (cfg->sector_size != 0 && cfg->sector_size != 512 && cfg->sector_size != 4096)
        bad = "sector_size (512 or 4096)";
    if (bad && err)
        snprintf(err, errlen, "crash config: invalid %s", bad);
    return bad ? -EINVAL : 0;
}

/* The batch flusher has nothing left to do: everything written is durable,
 * or a sync failed and the log stopped. */
static int quiescent(struct crashsim_shared *sh)
{
    return atomic_load_explicit(&sh->syncs_failed, memory_order_acquire) > 0 ||
           atomic_load_explicit(&sh->durable_bytes, memory_order_acquire) >=
               atomic_load_explicit(&sh->written_bytes, memory_order_acquire);
}

static int reap(pid_t pid, int *status)
{
    for (;;) {
        pid_t r = waitpid(pid, status, 0);
        if (r == pid)
            return 0;
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == ECHILD) {
            /* SIGCHLD ignored: the kernel reaps it; wait until it is gone. */
            while (kill(pid, 0) == 0)
                sleep_ns(20000);
            *status = SIGKILL;   /* as if killed: the writer's state tells the rest */
            return 0;
        }
        return r < 0 ? -errno : -ECHILD;
    }
}

static pthread_once_t fiu_once = PTHREAD_ONCE_INIT;
static void fiu_start(void)
{
    fiu_init(0);
}

void crashsim_fiu_start(void)
{
    pthread_once(&fiu_once, fiu_start);
}

static _Atomic unsigned scratch_counter;

int crashsim_scratch_path(char *buf, size_t len, const char *dir)
{
    return wal_scratch_path(buf, len, dir, "crash", atomic_fetch_add(&scratch_counter, 1));
}

/* The fork server that makes this trial's writer (it names the file, which
 * the writer opens before the trial), or NULL: the trial forks its own. */
static struct crashsim_forkserver *trial_server(const struct crashsim_inflight *t)
{
    struct crashsim_forkserver *fs = t->opts->server;
    return fs && fs->cfg == t->cfg && crashsim_forkserver_ledger(fs) == t->l ? fs : NULL;
}

/* ---- 1. set up ------------------------------------------------------------ */

/* Everything that can be decided without the writer.  On failure the
 * caller destroys t->own. */
static int trial_setup(struct crashsim_inflight *t, uint64_t seed,
                       struct crashsim_trial_result *out, char *err, size_t errlen)
{
    const struct crashsim_config *cfg = t->cfg;
    int rc = crashsim_check_config(cfg, err, errlen);
    if (rc < 0)
        return rc;
    if (!t->l) {
        rc = crashsim_ledger_create(cfg->entries, cfg->entry_size, &t->own);
        if (rc < 0) {
            if (err)
                snprintf(err, errlen, "mmap(ledger): %s", strerror(-rc));
            return rc;
        }
        t->l = t->own;
    }
    if (t->l->sh->entries < cfg->entries || t->l->sh->entry_size != cfg->entry_size) {
        if (err)
            snprintf(err, errlen, "crashsim_trial: ledger made for another configuration");
        return -EINVAL;
    }
    crashsim_ledger_reset(t->l);
    crashsim_fiu_start();

    crashsim_resolve_writeback(t->opts->writeback_expire_ms, t->opts->writeback_interval_ms,
                               &t->expire_ms, &t->interval_ms);
    /* The kill comes after target_acks acknowledgements, short of the
     * last, so that it falls while the writer is still appending. */
    uint64_t rng = seed;
    out->target_acks = 1 + pl_splitmix64(&rng) % (cfg->entries > 1 ? cfg->entries - 1 : 1);
    if (t->opts->kill == CRASHSIM_KILL_RANDOM)
        t->l->sh->wake_acks = out->target_acks;
    t->l->sh->kill_draw = pl_splitmix64(&rng);
    t->model_seed = pl_splitmix64(&rng);
    /* What the log is written under: a stale record of another trial's
     * file fails its CRC, and the verifier knows every payload. */
    t->l->sh->id.epoch = pl_splitmix64(&rng);
    t->l->sh->id.payload_seed = pl_splitmix64(&rng);

    if (trial_server(t))
        return 0;   /* the server names the file */
    rc = crashsim_scratch_path(t->path, sizeof t->path, cfg->dir);
    if (rc < 0 && err)
        snprintf(err, errlen, "scratch path in %s: %s", cfg->dir, strerror(-rc));
    return rc;
}

/* Starts the clock and the writer; the child never returns from here. */
static int trial_fork(struct crashsim_inflight *t, struct crashsim_trial_result *out, char *err,
                      size_t errlen)
{
    struct crashsim_forkserver *fs = trial_server(t);
    if (fs) {
        /* Made ahead by the fork server, its file open; the clock starts
         * at its release. */
        /* Its path is on the guard's list and its process group is the
         * helper's, also while the next trial runs beside this one. */
        int rc = crashsim_forkserver_take(fs, t->path, sizeof t->path, &t->pid, err, errlen);
        if (rc < 0)
            return rc;
        t->start = wal_now_ns();
        t->deadline = t->opts->deadline_ns ? t->opts->deadline_ns : t->start + 60000000000ull;
        out->start_ns = t->l->sh->start_ns = t->start;
        crashsim_forkserver_go(fs);
        return 0;
    }
    t->start = wal_now_ns();
    t->deadline = t->opts->deadline_ns ? t->opts->deadline_ns : t->start + 60000000000ull;
    out->start_ns = t->l->sh->start_ns = t->start;
    wal_scratch_live(t->path);
    pid_t parent = getpid();
    t->pid = fork();
    if (t->pid < 0) {
        int rc = -errno;
        if (err)
            snprintf(err, errlen, "fork: %s", strerror(-rc));
        return rc;
    }
    if (t->pid == 0)
        crashsim_writer_main(t->cfg, t->l, t->path, t->opts, parent);
    wal_scratch_child(t->pid);
    return 0;
}

/* ---- 2. wait for the crash point ------------------------------------------ */

/* Returns the parent's clock at the crash point; t->reaped when the writer
 * was already gone. */
uint64_t crashsim_trial_watch(struct crashsim_inflight *t)
{
    struct crashsim_shared *sh = t->l->sh;
    const struct crashsim_trial_opts *opts = t->opts;
    for (;;) {
        int w = atomic_load_explicit(&sh->writer, memory_order_acquire);
        if (w == CRASHSIM_WRITER_DIED || w == CRASHSIM_WRITER_APPEND_FAILED ||
            w == CRASHSIM_WRITER_SETUP_FAILED)
            break;
        pid_t r = waitpid(t->pid, &t->status, WNOHANG);
        if (r == t->pid) {
            t->reaped = 1;
            break;
        }
        uint64_t now = wal_now_ns();
        if (now >= t->deadline)
            break;
        if (opts->kill == CRASHSIM_KILL_WAIT && w == CRASHSIM_WRITER_DONE &&
            (t->cfg->strategy.kind != WAL_BATCH || quiescent(sh)))
            break;   /* nothing left that could reach a failure point */
        if (opts->kill == CRASHSIM_KILL_RANDOM) {
            if (atomic_load_explicit(&sh->kill_at_ns, memory_order_acquire)) {
                t->timer_kill = 1;   /* within one mean ack interval, at most 0.5 s */
                break;
            }
            /* Asleep until the target ack wakes us (a round a millisecond
             * at most, to see a writer that died or the deadline): no
             * polling beside a writer that needs the CPU. */
            uint64_t left = t->deadline - now < 1000000u ? t->deadline - now : 1000000u;
            struct timespec ts = {0, (long)left};
            syscall(SYS_futex, &sh->wake, FUTEX_WAIT, 0, &ts, NULL, 0);
            continue;
        }
        sleep_ns(20000);
    }
    return wal_now_ns();
}

/* ---- 3. reap and classify ------------------------------------------------- */

/* How long past the instant its timer was armed for a writer may take to
 * die before the trial gives up on the timer: a safety net only, far
 * beyond any scheduling delay. */
#define TIMER_KILL_GRACE_MS 10000

/* Waits for a writer whose own timer kills it; -ETIME when it still lives
 * TIMER_KILL_GRACE_MS past the instant (without pidfd_open, Linux < 5.3,
 * it simply waits). */
static int await_timer_kill(const struct crashsim_inflight *t, char *err, size_t errlen)
{
    int pfd = (int)syscall(SYS_pidfd_open, t->pid, 0);
    if (pfd < 0)
        return 0;
    uint64_t at = atomic_load_explicit(&t->l->sh->kill_at_ns, memory_order_acquire);
    uint64_t now = wal_now_ns();
    long ms = (long)(at > now ? (at - now) / 1000000u : 0) + TIMER_KILL_GRACE_MS;
    struct pollfd p = { .fd = pfd, .events = POLLIN };
    int r;
    while ((r = poll(&p, 1, (int)ms)) < 0 && errno == EINTR)
        ;
    close(pfd);
    if (r != 0)
        return 0;
    kill(t->pid, SIGKILL);
    if (err)
        snprintf(err, errlen, "writer %ld: its kill timer had not fired %d ms after the instant "
                 "drawn; nothing of this trial is counted", (long)t->pid, TIMER_KILL_GRACE_MS);
    return -ETIME;
}

static int trial_reap(struct crashsim_inflight *t, char *err, size_t errlen)
{
    if (!t->reaped) {
        int late = t->timer_kill ? await_timer_kill(t, err, errlen) : 0;
        if (!t->timer_kill)
            kill(t->pid, SIGKILL);
        int rc = reap(t->pid, &t->status);
        if (rc == 0 && late < 0) {
            t->reaped = 1;
            return late;
        }
        if (rc < 0) {
            if (err)
                snprintf(err, errlen, "waitpid(%ld): %s", (long)t->pid, strerror(-rc));
            return rc;
        }
    }
    if (!trial_server(t))
        wal_scratch_child(0);
    return 0;
}

/* How the writer ended. */
enum trial_end {
    TRIAL_CRASHED,        /* by the parent's SIGKILL: the model and the verifier run */
    TRIAL_DIED,           /* by its own SIGKILL at a failure point: likewise */
    TRIAL_SETUP_FAILED,   /* no log: its message is the trial's error */
    TRIAL_NOT_STARTED,    /* the deadline came before it had its log open */
    TRIAL_EXITED,         /* exited, or another signal: never meant to happen */
};

/* Decided from the writer's last state in the ledger and its wait status
 * alone, in this order of precedence. */
static enum trial_end trial_classify(enum crashsim_writer w, int status)
{
    if (w == CRASHSIM_WRITER_SETUP_FAILED)
        return TRIAL_SETUP_FAILED;
    if (w == CRASHSIM_WRITER_STARTING)
        return TRIAL_NOT_STARTED;
    if (w == CRASHSIM_WRITER_DIED)
        return TRIAL_DIED;
    if (WIFEXITED(status) || (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL))
        return TRIAL_EXITED;
    return TRIAL_CRASHED;
}

/* The error for an end with no trial (every end but crashed and died). */
static int trial_refuse(const struct crashsim_inflight *t, enum trial_end end, char *err,
                        size_t errlen)
{
    int rc;
    switch (end) {
    case TRIAL_SETUP_FAILED:
        rc = atomic_load(&t->l->sh->append_rc);
        if (rc >= 0)
            rc = -EIO;
        if (err)
            snprintf(err, errlen, "%s", t->l->sh->error);
        return rc;
    case TRIAL_NOT_STARTED:
        if (err)
            snprintf(err, errlen, "crash trial: the time budget ended before the writer started");
        return -ETIMEDOUT;
    default:
        break;
    }
    if (err) {
        if (WIFEXITED(t->status))
            snprintf(err, errlen, "writer %ld: exited with status %d", (long)t->pid,
                     WEXITSTATUS(t->status));
        else
            snprintf(err, errlen, "writer %ld: killed by signal %d (%s)", (long)t->pid,
                     WTERMSIG(t->status), strsignal(WTERMSIG(t->status)));
    }
    return -ECHILD;
}

/* ---- 4. apply the model and verify ---------------------------------------- */

/* Decide: the append's outcome, the ledger as the writer left it, and the
 * crash instant.  Returns the crash instant. */
static uint64_t trial_decide(struct crashsim_inflight *t, enum trial_end end, uint64_t crash,
                             struct crashsim_trial_result *out, char *err, size_t errlen)
{
    struct crashsim_shared *sh = t->l->sh;
    if (end == TRIAL_DIED)
        crash = atomic_load_explicit(&sh->died_ns, memory_order_acquire);
    /* Armed, the writer's timer killed it at kill_at: the parent's clock
     * (crash) was read when it saw the kill armed, before that instant.
     * Only a SIGKILL of the parent's own (at the deadline, or after a
     * failed append) can have come first. */
    else if ((t->kill_at = atomic_load_explicit(&sh->kill_at_ns, memory_order_acquire)) &&
             (t->timer_kill || t->kill_at < crash))
        crash = t->kill_at;
    out->append_rc = atomic_load(&sh->append_rc);
    out->append_rc_next = atomic_load(&sh->append_rc_next);
    if (out->append_rc < 0 && err)
        snprintf(err, errlen, "%s(%s): %s",
                 wal_op_call((enum wal_op)atomic_load(&sh->append_op), t->cfg->sync_method),
                 t->path, strerror(-out->append_rc));

    crashsim_ledger_state(t->l, &out->ledger);
    /* The writer is gone, so nothing moves: whatever instruction the kill
     * stopped each thread at, W1 precedes W3 and S1 reads what W3 wrote
     * (ledger.c), so nothing is durable before it is written, nor written
     * before it was meant to be. */
    assert(out->ledger.durable_bytes <= out->ledger.written_bytes);
    assert(out->ledger.written_bytes <= out->ledger.intent_bytes);
    /* The writer may have run on for a moment after the parent read its
     * clock: an ack any of its threads got in counts as before the crash. */
    if (out->ledger.last_ack_ns > crash)
        crash = out->ledger.last_ack_ns;
    out->crash_ns = crash;
    out->verdict.kill_delay_ns = t->kill_at && crash > t->kill_at ? crash - t->kill_at : 0;
    return crash;
}

/* Act: the power-loss model on the file, then the verifier on the result. */
static int trial_verify(const struct crashsim_inflight *t, uint64_t crash,
                        struct crashsim_trial_result *out, char *err, size_t errlen)
{
    const struct crashsim_config *cfg = t->cfg;
    int fd = open(t->path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        int rc = -errno;
        if (err)
            snprintf(err, errlen, "open(%s): %s", t->path, strerror(-rc));
        return rc;
    }
    int rc = crashsim_apply_model(fd, t->l, &cfg->model, t->model_seed, crash, t->expire_ms,
                                  t->interval_ms, cfg->sector_size, &out->damage, err, errlen);
    if (rc == 0) {
        /* A sync still running at the crash proves nothing and adds
         * nothing: the allowance was fixed before the trials. */
        const struct crashsim_ledger_state *st = &out->ledger;
        uint64_t es = cfg->entry_size;
        struct verifier_ledger vl = {
            .entry_size = cfg->entry_size,
            .written = (st->intent_bytes + es - 1) / es,
            .acked = st->acked_max_seq,
            .ack_ns = view_ack_ns,
            .ctx = t->l,
            .crash_ns = crash,
            .max_sync_ns = st->sync_max_ns,
            .epoch = t->l->sh->id.epoch,
            .payload_seed = t->l->sh->id.payload_seed,
            .run_ns = st->first_ack_ns && crash > st->first_ack_ns ? crash - st->first_ack_ns : 0,
            .syncs_ok = st->syncs_ok,
        };
        uint64_t delay = out->verdict.kill_delay_ns;
        rc = verifier_check_trial(fd, &cfg->strategy, &vl, &out->verdict, err, errlen);
        out->verdict.kill_delay_ns = delay;
    }
    close(fd);
    return rc;
}

/* ---- the trial -------------------------------------------------------------- */

static int trial_cleanup(struct crashsim_inflight *t, int rc, char *err, size_t errlen);

int crashsim_trial_start(struct crashsim_inflight *t, const struct crashsim_config *cfg,
                         struct crashsim_ledger *l, uint64_t seed,
                         const struct crashsim_trial_opts *opts, struct crashsim_trial_result *out,
                         char *err, size_t errlen)
{
    static const struct crashsim_trial_opts no_opts = {
        .writeback_expire_ms = -1, .writeback_interval_ms = -1,
    };
    memset(t, 0, sizeof *t);
    t->cfg = cfg;
    t->opts = opts ? opts : &no_opts;
    t->l = l;
    t->out = out;
    memset(out, 0, sizeof *out);
    out->seed = seed;
    if (err && errlen)
        err[0] = '\0';
    int rc = trial_setup(t, seed, out, err, errlen);
    if (rc < 0) {
        crashsim_ledger_destroy(t->own);
        return rc;
    }
    wal_scratch_guard_enter();
    rc = trial_fork(t, out, err, errlen);
    if (rc < 0)
        (void)trial_cleanup(t, rc, NULL, 0);
    return rc;
}

int crashsim_trial_armed(const struct crashsim_inflight *t)
{
    return atomic_load_explicit(&t->l->sh->kill_at_ns, memory_order_acquire) != 0;
}

/* Phases 3 and 4, the writer's crash point reached at crash. */
static int trial_end(struct crashsim_inflight *t, uint64_t crash, char *err, size_t errlen)
{
    struct crashsim_trial_result *out = t->out;
    int rc = trial_reap(t, err, errlen);
    if (rc < 0)
        return rc;
    if (trial_server(t))
        crashsim_forkserver_ahead(t->opts->server);   /* if _go did not ask */
    out->writer = (enum crashsim_writer)atomic_load_explicit(&t->l->sh->writer,
                                                             memory_order_acquire);
    enum trial_end end = trial_classify(out->writer, t->status);
    if (end != TRIAL_CRASHED && end != TRIAL_DIED)
        return trial_refuse(t, end, err, errlen);
    crash = trial_decide(t, end, crash, out, err, errlen);
    return trial_verify(t, crash, out, err, errlen);
}

/* What every trial leaves: its file removed (a failure to remove it is
 * the trial's error when it had none), the guard left. */
static int trial_cleanup(struct crashsim_inflight *t, int rc, char *err, size_t errlen)
{
    if (t->path[0] && unlink(t->path) < 0 && errno != ENOENT && rc == 0) {
        rc = -errno;
        if (err)
            snprintf(err, errlen, "unlink(%s): %s", t->path, strerror(-rc));
    }
    if (!trial_server(t)) {
        wal_scratch_live(NULL);
        wal_scratch_child(0);
    }
    wal_scratch_guard_leave();
    crashsim_ledger_destroy(t->own);
    t->own = NULL;
    return rc;
}

int crashsim_trial_finish(struct crashsim_inflight *t, uint64_t crash, char *err, size_t errlen)
{
    return trial_cleanup(t, trial_end(t, crash, err, errlen), err, errlen);
}

void crashsim_trial_abort(struct crashsim_inflight *t)
{
    if (t->pid > 0 && !t->reaped) {
        int status;
        kill(t->pid, SIGKILL);
        (void)reap(t->pid, &status);
    }
    (void)trial_cleanup(t, 0, NULL, 0);
}

int crashsim_trial(const struct crashsim_config *cfg, struct crashsim_ledger *l, uint64_t seed,
                   const struct crashsim_trial_opts *opts, struct crashsim_trial_result *out,
                   char *err, size_t errlen)
{
    struct crashsim_inflight t;
    int rc = crashsim_trial_start(&t, cfg, l, seed, opts, out, err, errlen);
    if (rc < 0)
        return rc;
    return crashsim_trial_finish(&t, crashsim_trial_watch(&t), err, errlen);
}
