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
 */
#include "wal/wal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char live_path[WAL_PATH_MAX];
static volatile sig_atomic_t live_path_set;
static volatile sig_atomic_t live_pid;
static struct sigaction old_int, old_term;
static int guard_depth;

static void on_fatal_signal(int sig)
{
    int saved = errno;
    if (live_pid > 0) {
        kill((pid_t)live_pid, SIGKILL);
        /* ECHILD: already reaped, or SIGCHLD ignored (then the kernel reaps
         * it once it has died). */
        while (waitpid((pid_t)live_pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    if (live_path_set)
        unlink(live_path);
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
