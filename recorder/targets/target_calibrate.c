/* target_calibrate: the syncs of the trials' file system, measured before
 * the trials.
 *
 * DESIGN.  A promise with a window (Redis everysec, PostgreSQL with
 * synchronous_commit off, a contract's promised_window_ms) is judged
 * against the window plus what a sync takes here.  That sync must be
 * measured before the trials, as `crash` does (crashsim/calibrate.c):
 * taken from the trials' own journals, the allowance grows with the very
 * stall it should bound (a 477 ms sync() stall let a 573 ms window pass a
 * 100 ms promise).  So a scratch file in the run's directory gets
 * CALIBRATE_SMALL appends of 4 KiB and CALIBRATE_BIG appends of 1 MiB
 * (about what a second of Redis's AOF or PostgreSQL's WAL writes here),
 * each followed by fdatasync, within CALIBRATE_NS but at least one of
 * each; the median and the 99th percentile of those syncs are kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "recorder/targets/internal.h"
#include "powerloss/powerloss.h"

#define CALIBRATE_SMALL 24
#define CALIBRATE_BIG 4
#define CALIBRATE_NS 1000000000ull

static int calibrate_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Appends len bytes and syncs them; the sync's time into *ns. */
static int calibrate_one(int fd, const char *path, const char *buf, size_t len, uint64_t *ns, char *err,
                         size_t errlen)
{
    for (size_t done = 0; done < len;) {
        ssize_t w = write(fd, buf + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            int e = errno;
            (void)PL_ERR(err, errlen, 0, "write(%s): %s", path, strerror(e));
            return -e;
        }
        done += (size_t)w;
    }
    uint64_t t0 = target_now_ns();
    if (fdatasync(fd) != 0) {
        int e = errno;
        (void)PL_ERR(err, errlen, 0, "fdatasync(%s): %s", path, strerror(e));
        return -e;
    }
    *ns = target_now_ns() - t0;
    return 0;
}

int target_calibrate(const char *dir, double *p50_us, double *p99_us, char *err, size_t errlen)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/calibrate", dir);
    size_t big = 1u << 20;
    char *buf = malloc(big);
    if (!buf) {
        (void)PL_ERR(err, errlen, 0, "calibration: %s", strerror(ENOMEM));
        return -ENOMEM;
    }
    memset(buf, 'c', big);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600), rc = 0;
    if (fd < 0) {
        rc = -errno;
        (void)PL_ERR(err, errlen, 0, "open(%s): %s", path, strerror(-rc));
        free(buf);
        return rc;
    }
    uint64_t ns[CALIBRATE_SMALL + CALIBRATE_BIG], end = target_now_ns() + CALIBRATE_NS;
    size_t n = 0;
    for (unsigned i = 0; rc == 0 && i < CALIBRATE_SMALL + CALIBRATE_BIG && !target_stopped(); i++) {
        int is_big = i % (CALIBRATE_SMALL / CALIBRATE_BIG + 1) == 1;   /* interleaved, one early */
        if (i > 1 && target_now_ns() >= end)
            break;
        rc = calibrate_one(fd, path, buf, is_big ? big : 4096, &ns[n], err, errlen);
        n += rc == 0;
    }
    if (close(fd) != 0 && rc == 0) {
        rc = -errno;
        (void)PL_ERR(err, errlen, 0, "close(%s): %s", path, strerror(-rc));
    }
    if (unlink(path) != 0 && rc == 0) {
        rc = -errno;
        (void)PL_ERR(err, errlen, 0, "unlink(%s): %s", path, strerror(-rc));
    }
    free(buf);
    if (rc == 0 && n == 0) {
        (void)PL_ERR(err, errlen, 0, "calibration: interrupted");
        rc = -EINTR;
    }
    if (rc)
        return rc;
    qsort(ns, n, sizeof *ns, calibrate_cmp);
    *p50_us = (double)ns[(n - 1) / 2] / 1e3;
    size_t q = (size_t)(0.99 * (double)(n - 1) + 0.999);
    *p99_us = (double)ns[q < n ? q : n - 1] / 1e3;
    return 0;
}
