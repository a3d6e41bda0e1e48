/* DESIGN: an LD_PRELOAD for tests: every fsync and fdatasync first sleeps
 * FSYNCLAB_TEST_SYNC_DELAY_MS (default 2000) milliseconds, then does the
 * real call.  A disk whose syncs stall must not make a batch strategy look
 * as if it kept its promise (tests/e2e/crash_verdicts.sh). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

static void stall(void)
{
    const char *v = getenv("FSYNCLAB_TEST_SYNC_DELAY_MS");
    long ms = v ? atol(v) : 2000;
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

int fsync(int fd)
{
    static int (*real)(int);
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    stall();
    return real(fd);
}

int fdatasync(int fd)
{
    static int (*real)(int);
    if (!real)
        real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    stall();
    return real(fd);
}
