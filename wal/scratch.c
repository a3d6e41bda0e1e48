/* DESIGN: scratch logs and the signals that must not leave them behind.
 *
 * The benchmark and the crash trials each write one scratch log at a time
 * in the data directory.  A guard names that path (and, for a crash trial,
 * the writer process) so that SIGINT or SIGTERM removes the file, kills and
 * reaps the writer, restores the handler that was there before (the
 * default, if it was ignored) and raises the signal again: the program then
 * ends by the signal with nothing left on disk and no writer running
 * (pg_test_fsync's rule).
 *
 * Guards nest (a crash run holds one around its trials, each trial one
 * around its file): the handler is installed by the outermost enter and
 * restored by the matching leave.  Only async-signal-safe calls run in the
 * handler; the path is written before it is marked live.
 *
 * It is the one guard of fsynclab: besides the one log and its writer, it
 * takes process groups (a server and its children: kill(-g) and reap every
 * member) and scratch directories (removed whole, with openat, getdents64
 * and unlinkat, no allocation), so the targets' runner and the guest's
 * QEMU can hand it theirs instead of keeping a handler of their own.
 *
 * A runner whose every wait looks for a stop (the targets' runner) enters
 * it deferred instead: the first SIGINT or SIGTERM is only noted, for
 * wal_scratch_stopped(), and interrupts a blocking call (no SA_RESTART),
 * so that the runner unwinds through its usual kill, reap and removal and
 * then ends by the signal itself.  A second signal does not wait for that:
 * it takes the immediate path above, as if the guard were not deferred.
 */
#include "wal/wal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static char live_path[WAL_PATH_MAX];
static volatile sig_atomic_t live_path_set;
static volatile sig_atomic_t live_pid;
static struct sigaction old_int, old_term;
static int guard_depth;
static volatile sig_atomic_t live_group[WAL_GUARD_MAX];
static char live_tree[WAL_GUARD_MAX][WAL_PATH_MAX];
static volatile sig_atomic_t live_tree_set[WAL_GUARD_MAX];
static const char *const *volatile live_list;   /* the caller's, unlinked on a signal */
static volatile sig_atomic_t live_list_n;
static volatile sig_atomic_t defer_depth;   /* deferred enters not yet left */
static volatile sig_atomic_t stop_sig;      /* the signal a deferred guard noted */

/* Removes name (under dirfd) and, for a directory, everything in it, with
 * async-signal-safe calls only; depth bounds the stack it takes. */
static void remove_at(int dirfd, const char *name, int depth)
{
    if (unlinkat(dirfd, name, 0) == 0 || (errno != EISDIR && errno != EPERM) || depth <= 0)
        return;
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    char buf[1024];
    /* Read from the start again after a pass that found entries: removing
     * entries while reading a directory may make getdents skip some.  A few
     * passes at most (an entry that cannot be removed stays). */
    for (int pass = 0; pass < 4; pass++) {
        long n, seen = 0;
        lseek(fd, 0, SEEK_SET);
        while ((n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
            for (long at = 0; at < n;) {
                struct dirent64 *de = (struct dirent64 *)(void *)(buf + at);
                at += de->d_reclen;
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
                    remove_at(fd, de->d_name, depth - 1);
                    seen++;
                }
            }
        if (seen == 0)
            break;
    }
    close(fd);
    unlinkat(dirfd, name, AT_REMOVEDIR);
}

static void on_fatal_signal(int sig)
{
    if (defer_depth > 0 && !stop_sig) {
        stop_sig = sig;   /* the runner unwinds; a second signal does not wait */
        return;
    }
    int saved = errno;
    if (live_pid > 0) {
        kill((pid_t)live_pid, SIGKILL);
        /* ECHILD: already reaped, or SIGCHLD ignored (then the kernel reaps
         * it once it has died). */
        while (waitpid((pid_t)live_pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    for (int i = 0; i < WAL_GUARD_MAX; i++) {
        pid_t g = (pid_t)live_group[i];
        if (g <= 0)
            continue;
        kill(-g, SIGKILL);
        while (waitpid(-g, NULL, 0) > 0 || errno == EINTR)
            ;
        live_group[i] = 0;
    }
    if (live_path_set)
        unlink(live_path);
    for (int i = 0; i < live_list_n; i++)
        if (live_list[i] && live_list[i][0])
            unlink(live_list[i]);
    for (int i = 0; i < WAL_GUARD_MAX; i++)
        if (live_tree_set[i])
            remove_at(AT_FDCWD, live_tree[i], 32);
    /* The scratch file is gone, so the program must end now: a previous
     * handler of the program's own gets the signal; an ignored one (a
     * background job's SIGINT) or the default means dying by it. */
    struct sigaction *old = sig == SIGINT ? &old_int : &old_term;
    if (old->sa_handler == SIG_IGN)
        signal(sig, SIG_DFL);
    else
        sigaction(sig, old, NULL);
    raise(sig);   /* delivered once this handler returns */
    errno = saved;
}

void wal_scratch_guard_enter(void)
{
    if (guard_depth++ > 0)
        return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
}

void wal_scratch_guard_leave(void)
{
    if (guard_depth == 0 || --guard_depth > 0)
        return;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
}

void wal_scratch_guard_enter_deferred(void)
{
    wal_scratch_guard_enter();
    if (defer_depth++ == 0)
        stop_sig = 0;
}

void wal_scratch_guard_leave_deferred(void)
{
    if (defer_depth > 0)
        defer_depth--;
    wal_scratch_guard_leave();
}

int wal_scratch_stopped(void)
{
    return (int)stop_sig;
}

int wal_scratch_path(char *buf, size_t len, const char *dir, const char *what, unsigned n)
{
    int w = snprintf(buf, len, "%s/fsynclab-%s-%ld-%u.wal", dir, what, (long)getpid(), n);
    return w < 0 || (size_t)w >= len ? -ENAMETOOLONG : 0;
}

void wal_scratch_live(const char *path)
{
    live_path_set = 0;
    if (!path)
        return;
    snprintf(live_path, sizeof live_path, "%s", path);
    live_path_set = 1;
}

void wal_scratch_child(pid_t pid)
{
    live_pid = pid > 0 ? pid : 0;
}

void wal_scratch_list(const char *const *paths, size_t n)
{
    live_list_n = 0;   /* the handler never sees a count with the old list */
    live_list = paths;
    live_list_n = paths ? (sig_atomic_t)n : 0;
}

int wal_scratch_group(pid_t pgid, int add)
{
    for (int i = 0; i < WAL_GUARD_MAX; i++)
        if (add ? live_group[i] == 0 : live_group[i] == pgid) {
            live_group[i] = add ? pgid : 0;
            return 0;
        }
    return add ? -ENOSPC : 0;
}

int wal_scratch_tree(const char *dir, int add)
{
    for (int i = 0; i < WAL_GUARD_MAX; i++) {
        if (!add && live_tree_set[i] && strcmp(live_tree[i], dir) == 0) {
            live_tree_set[i] = 0;
            return 0;
        }
        if (add && !live_tree_set[i]) {
            if ((size_t)snprintf(live_tree[i], sizeof live_tree[i], "%s", dir) >= sizeof live_tree[i])
                return -ENAMETOOLONG;
            live_tree_set[i] = 1;   /* after the path is written: the handler may run now */
            return 0;
        }
    }
    return add ? -ENOSPC : 0;
}
