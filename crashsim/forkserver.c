/* DESIGN: the fork server, which makes a run's writers.
 *
 * A trial's writer used to be forked from the harness itself.  That fork
 * copies the harness's page tables (some 270 mappings: fsynclab links
 * about fifty libraries) and write-protects every private page on both
 * sides, so that afterwards each page the parent or the writer writes to
 * first faults to be copied or made writable again.  perf put the fork and
 * those faults at about 40% of a trial's CPU time (docs/performance.md).
 *
 * So a run forks one helper, once, right after its ledger is mapped, and
 * the helper makes the writers:
 *   - clone(CLONE_PARENT): the writer is the harness's child, not the
 *     helper's.  The parent waits for it, kills it with SIGKILL, reaps it
 *     and reads its wait status exactly as before, and PR_SET_PDEATHSIG
 *     still names the parent.  The helper only hands back the pid.
 *   - writers ahead: the parent asks for the next writer, naming the
 *     next trial's scratch path, so that the clone, the new process's start
 *     and the creation of its file (with the sync of its directory,
 *     milliseconds on a disk that flushes) run beside the trial before it,
 *     not in its own.  Under none (and no O_DSYNC) it asks as soon as it has
 *     released the last writer, so all of that overlaps the appends; under
 *     a strategy that syncs, only once the last writer is reaped, so that
 *     no journal commit of the spare's lands among the trial's own syncs
 *     (its file is then made while the trial is checked, and what is not
 *     done by the release still counts in the next trial, as it always
 *     did).  The spare opens that file, keeping any failure for later
 *     (writer.c), and waits on a futex word in a shared page until the
 *     parent releases it (it opens its log ahead too, but under a
 *     placeholder id, except under batch, whose flusher would sync);
 *     only then does it touch the ledger, take the trial's id and append.
 *     A trial's clock starts at the release.
 *     Under none a run releases the next writer once the last one's kill
 *     is armed (run.c), so that one dies and is checked while the next
 *     appends: writer n appends to ledger n % 2 and file n % 4 (the trial
 *     being checked, the next, and two spares: then each spare has two
 *     trials' time to be made and to make its file, whose directory sync
 *     alone takes longer than one trial).  All four paths are on the
 *     scratch guard's list, and the end of a run removes the spares'
 *     files.
 *   - the helper leads a process group of its own, holding the spare and
 *     every writer, which the scratch guard lists (wal_scratch_group): a
 *     SIGINT or SIGTERM kills and reaps the helper and the spare as well
 *     as the trial's writer.  The end of a run does the same.
 * The helper writes nothing but its stack, so the pages a writer inherits
 * stay shared until the writer writes to them.
 *
 * The clone is a raw system call (glibc's fork cannot take CLONE_PARENT).
 * Its child does not run glibc's fork handlers: the helper is
 * single-threaded and clones between two reads of its pipe, so it holds
 * no lock.  The child's thread descriptor keeps the helper's thread id;
 * nothing a writer calls depends on it (raise() asks gettid()).
 */
#include "crashsim/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* The shared page: for writer n, its futex word released[n % 4], set to n
 * to release it, and its path path[n % 4], written before it is asked
 * for.  A word each, so that a release wakes only the writer released. */
struct crashsim_go {
    _Atomic uint32_t released[CRASHSIM_SPARE_PATHS];
    char path[CRASHSIM_SPARE_PATHS][WAL_PATH_MAX];
};

/* A spare writer: waits for its number, then is the trial's writer. */
static _Noreturn void spare_main(struct crashsim_forkserver *fs, uint32_t n)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != fs->parent)
        _exit(1);
    close(fs->req_fd);
    close(fs->pid_fd);
    const char *path = fs->go->path[n % CRASHSIM_SPARE_PATHS];
    struct crashsim_ledger *l = fs->l[n % 2];
    struct crashsim_writer_file o;
    crashsim_writer_prepare(fs->cfg, l, path, fs->opts, fs->parent, &o);
    uint32_t now;
    _Atomic uint32_t *word = &fs->go->released[n % CRASHSIM_SPARE_PATHS];
    while ((now = atomic_load_explicit(word, memory_order_acquire)) != n)
        syscall(SYS_futex, word, FUTEX_WAIT, now, NULL, NULL, 0);
    crashsim_writer_run(fs->cfg, l, path, &o);
}

/* The helper: a writer for each byte read, its pid (or -errno) written
 * back; ends when the parent closes its end. */
static _Noreturn void server_main(struct crashsim_forkserver *fs)
{
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != fs->parent)
        _exit(1);
    setpgid(0, 0);
    for (uint32_t n = 1;;) {
        char c;
        ssize_t r = read(fs->req_fd, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            _exit(r == 0 ? 0 : 1);
        long pid = syscall(SYS_clone, (unsigned long)(CLONE_PARENT | SIGCHLD), NULL, NULL, NULL,
                           NULL);
        if (pid == 0)
            spare_main(fs, n);
        int32_t reply = pid < 0 ? -errno : (int32_t)pid;
        if (pid > 0)
            n++;
        while ((r = write(fs->pid_fd, &reply, sizeof reply)) < 0 && errno == EINTR)
            ;
        if (r != (ssize_t)sizeof reply)
            _exit(1);
    }
}

/* Asks for writer asked + 1, naming its scratch path first. */
static int ask(struct crashsim_forkserver *fs)
{
    char *path = fs->paths[(fs->asked + 1) % CRASHSIM_SPARE_PATHS];
    int rc = crashsim_scratch_path(path, WAL_PATH_MAX, fs->cfg->dir);
    if (rc < 0)
        return rc;
    memcpy(fs->go->path[(fs->asked + 1) % CRASHSIM_SPARE_PATHS], path, WAL_PATH_MAX);
    char c = 1;
    ssize_t r;
    while ((r = write(fs->req_fd, &c, 1)) < 0 && errno == EINTR)
        ;
    if (r == 1)
        fs->asked++;
    return r == 1 ? 0 : -(r < 0 ? errno : EIO);
}

int crashsim_forkserver_start(struct crashsim_forkserver *fs, const struct crashsim_config *cfg,
                              struct crashsim_ledger *l0, struct crashsim_ledger *l1,
                              const struct crashsim_trial_opts *opts, char *err, size_t errlen)
{
    memset(fs, 0, sizeof *fs);
    fs->req_fd = fs->pid_fd = -1;
    fs->cfg = cfg;
    fs->l[0] = l0;
    fs->l[1] = l1;
    fs->opts = opts;
    fs->parent = getpid();
    for (unsigned i = 0; i < CRASHSIM_SPARE_PATHS; i++)
        fs->list[i] = fs->paths[i];
    crashsim_fiu_start();   /* the writers inherit libfiu's state from the helper */
    fs->go = mmap(NULL, sizeof *fs->go, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (fs->go == MAP_FAILED) {
        int rc = -errno;
        fs->go = NULL;
        if (err)
            snprintf(err, errlen, "mmap(fork server): %s", strerror(-rc));
        return rc;
    }
    int req[2] = {-1, -1}, rep[2];
    if (pipe2(req, O_CLOEXEC) < 0 || pipe2(rep, O_CLOEXEC) < 0) {
        int rc = -errno;
        if (req[0] >= 0) {
            close(req[0]);
            close(req[1]);
        }
        crashsim_forkserver_stop(fs);
        if (err)
            snprintf(err, errlen, "pipe2(fork server): %s", strerror(-rc));
        return rc;
    }
    /* SIGINT and SIGTERM wait until the guard lists the helper's group. */
    sigset_t fatal, old;
    sigemptyset(&fatal);
    sigaddset(&fatal, SIGINT);
    sigaddset(&fatal, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &fatal, &old);
    pid_t pid = fork();
    if (pid == 0) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        close(req[1]);
        close(rep[0]);
        fs->req_fd = req[0];
        fs->pid_fd = rep[1];
        server_main(fs);
    }
    close(req[0]);
    close(rep[1]);
    fs->req_fd = req[1];
    fs->pid_fd = rep[0];
    if (pid < 0) {
        int rc = -errno;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        crashsim_forkserver_stop(fs);
        if (err)
            snprintf(err, errlen, "fork(fork server): %s", strerror(-rc));
        return rc;
    }
    setpgid(pid, pid);   /* also here: the group exists before the guard kills it */
    fs->pid = pid;
    int rc = wal_scratch_group(pid, 1);
    wal_scratch_list(fs->list, CRASHSIM_SPARE_PATHS);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0)
        rc = ask(fs);   /* the first trial's writer */
    if (rc < 0) {
        crashsim_forkserver_stop(fs);
        if (err && rc == -ENAMETOOLONG)
            snprintf(err, errlen, "scratch path in %s: %s", cfg->dir, strerror(-rc));
        else if (err)
            snprintf(err, errlen, "fork server: %s", strerror(-rc));
    }
    return rc;
}

int crashsim_forkserver_take(struct crashsim_forkserver *fs, char *path, size_t pathlen,
                             pid_t *pid, char *err, size_t errlen)
{
    int rc = fs->asked > fs->taken ? 0 : ask(fs);
    int32_t reply = 0;
    ssize_t r = 0;
    if (rc == 0) {
        while ((r = read(fs->pid_fd, &reply, sizeof reply)) < 0 && errno == EINTR)
            ;
        rc = r == (ssize_t)sizeof reply ? (reply > 0 ? 0 : reply) : r < 0 ? -errno : -ECHILD;
    }
    if (rc < 0) {
        if (err)
            snprintf(err, errlen, "%s: %s", r == (ssize_t)sizeof reply ? "clone(writer)"
                                            : rc == -ENAMETOOLONG ? "scratch path"
                                            : "fork server", strerror(-rc));
        return rc;
    }
    fs->taken++;
    snprintf(path, pathlen, "%s", fs->paths[fs->taken % CRASHSIM_SPARE_PATHS]);
    *pid = (pid_t)reply;
    return 0;
}

int crashsim_trials_overlap(const struct crashsim_config *cfg)
{
    return cfg->strategy.kind == WAL_NONE && !wal_sync_method_writes_durable(cfg->sync_method);
}

struct crashsim_ledger *crashsim_forkserver_ledger(const struct crashsim_forkserver *fs)
{
    return fs->l[(fs->taken + 1) % 2];
}

void crashsim_forkserver_go(struct crashsim_forkserver *fs)
{
    _Atomic uint32_t *word = &fs->go->released[fs->taken % CRASHSIM_SPARE_PATHS];
    atomic_store_explicit(word, fs->taken, memory_order_release);
    syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
    /* The next writer now, while this one appends, if this trial makes no
     * sync the spare's sync of the directory could land among (a failure
     * shows at the next take, which asks again); otherwise once this
     * writer is reaped (_ahead). */
    if (crashsim_trials_overlap(fs->cfg))
        while (fs->asked < fs->taken + CRASHSIM_SPARES_AHEAD && ask(fs) == 0)
            ;
}

void crashsim_forkserver_ahead(struct crashsim_forkserver *fs)
{
    /* A failure shows at the next take, which asks again. */
    if (fs->pid > 0 && fs->asked == fs->taken)
        (void)ask(fs);
}

void crashsim_forkserver_stop(struct crashsim_forkserver *fs)
{
    if (fs->req_fd >= 0)
        close(fs->req_fd);
    if (fs->pid_fd >= 0)
        close(fs->pid_fd);
    fs->req_fd = fs->pid_fd = -1;
    if (fs->pid > 0) {
        /* The helper and any spare; the trial's writer is already reaped. */
        kill(-fs->pid, SIGKILL);
        while (waitpid(-fs->pid, NULL, 0) > 0 || errno == EINTR)
            ;
        /* SIGCHLD ignored: the kernel reaps them; wait until they are gone. */
        while (kill(-fs->pid, 0) == 0) {
            struct timespec ts = {0, 20000};
            nanosleep(&ts, NULL);
        }
        wal_scratch_group(fs->pid, 0);
        fs->pid = 0;
        /* The spares' files, if they made them (the trials remove theirs). */
        for (uint32_t n = fs->taken + 1; n <= fs->asked; n++)
            unlink(fs->paths[n % CRASHSIM_SPARE_PATHS]);
    }
    wal_scratch_list(NULL, 0);
    if (fs->go)
        munmap(fs->go, sizeof *fs->go);
    fs->go = NULL;
}
