/* DESIGN: the floor a machine sets under `crash --strategies none`.
 *
 * A crash trial cannot cost less than the system calls and the process it
 * is made of.  This program does only those, with no fsynclab code and no
 * library but libc, so that bench/crash_rate.sh can print fsynclab's rate
 * next to what the same machine allows at best:
 *   - a small child process per trial (fork), which creates its log file,
 *     syncs the directory (as wal_file_open does), makes a POSIX timer
 *     that sends it SIGKILL, and waits to be released;
 *   - released, it appends records of 128 bytes with pwrite, counting them
 *     in shared memory; at a target drawn uniformly from 1 to entries - 1
 *     it wakes the parent and arms its timer for now;
 *   - the parent reaps it, reads the file back, and removes it.
 * Serial: the next child is released once the last is reaped.  Overlapped:
 * once the last one's kill is armed, as crashsim/run.c does under none.
 * There is no ledger per record, no checksum, no model and no verifier: a
 * trial of fsynclab's does all of this and more.
 *
 *   usage: crash_floor DIR [TRIALS [ENTRIES]]   (defaults 1000, 1000)
 *   built by `make`, into build/bench/model/crash_floor.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RECORD 128
#define SLOTS 3   /* files: the trial being read back, the next, the one after */

struct shared {
    _Atomic uint32_t released;    /* child n appends once this is n */
    _Atomic uint32_t armed[2];    /* child n's kill armed: armed[n % 2] */
};

static struct shared *sh;
static const char *dir;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *call)
{
    fprintf(stderr, "crash_floor: %s: %s\n", call, strerror(errno));
    exit(1);
}

/* Child n's file; parent is the pid of the run. */
static void path_of(char *buf, size_t len, pid_t parent, uint32_t n)
{
    snprintf(buf, len, "%s/crash-floor-%ld-%u.wal", dir, (long)parent, n % SLOTS);
}

static void futex(_Atomic uint32_t *word, int op, uint32_t val)
{
    syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

/* A child that cannot go on: the parent, woken as if the kill were armed,
 * finds it exited and says so. */
static _Noreturn void child_failed(uint32_t n, const char *call)
{
    fprintf(stderr, "crash_floor: child %u: %s: %s\n", n, call, strerror(errno));
    atomic_store(&sh->armed[n % 2], 1);
    futex(&sh->armed[n % 2], FUTEX_WAKE, 1);
    _exit(2);
}

/* The child: never returns; only its timer's SIGKILL ends it. */
static _Noreturn void child(uint32_t n, uint32_t entries, uint32_t target, pid_t parent_pid)
{
    char path[4200];
    path_of(path, sizeof path, parent_pid, n);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
    if (fd < 0)
        child_failed(n, "open");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) < 0)
        child_failed(n, "fsync(directory)");
    close(dfd);
    timer_t timer;
    struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGKILL };
    if (timer_create(CLOCK_MONOTONIC, &ev, &timer) < 0)
        child_failed(n, "timer_create");
    uint32_t v;
    while ((v = atomic_load(&sh->released)) != n)
        futex(&sh->released, FUTEX_WAIT, v);
    char rec[RECORD];
    memset(rec, (int)n, sizeof rec);
    for (uint32_t i = 0; i < entries; i++) {
        if (pwrite(fd, rec, sizeof rec, (off_t)i * RECORD) != RECORD)
            child_failed(n, "pwrite");
        if (i + 1 == target) {
            uint64_t at = now_ns();
            struct itimerspec its = { .it_value = { .tv_sec = (time_t)(at / 1000000000ull),
                                                    .tv_nsec = (long)(at % 1000000000ull) } };
            atomic_store(&sh->armed[n % 2], 1);
            futex(&sh->armed[n % 2], FUTEX_WAKE, 1);
            if (timer_settime(timer, TIMER_ABSTIME, &its, NULL) < 0)
                raise(SIGKILL);
        }
    }
    for (;;)
        pause();
}

static pid_t spawn(uint32_t n, uint32_t entries, uint64_t *rng)
{
    *rng = *rng * 6364136223846793005ull + 1442695040888963407ull;
    uint32_t target = 1 + (uint32_t)((*rng >> 33) % (entries > 1 ? entries - 1 : 1));
    pid_t parent_pid = getpid();
    atomic_store(&sh->armed[n % 2], 0);   /* its slot's last child is reaped */
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0)
        child(n, entries, target, parent_pid);
    return pid;
}

static void release(uint32_t n)
{
    atomic_store(&sh->released, n);
    futex(&sh->released, FUTEX_WAKE, INT32_MAX);
}

/* Reaps child n (which must have died by SIGKILL), reads its file back and
 * removes it. */
static void finish(uint32_t n, pid_t pid, char *buf, size_t buflen)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            die("waitpid");
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
        fprintf(stderr, "crash_floor: child %u ended otherwise than by its timer's SIGKILL\n", n);
        exit(1);
    }
    char path[4200];
    path_of(path, sizeof path, getpid(), n);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die("open");
    if (pread(fd, buf, buflen, 0) < 0)
        die("pread");
    close(fd);
    if (unlink(path) < 0)
        die("unlink");
}

static double cpu_seconds(void)
{
    struct rusage self, kids;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);
    return (double)(self.ru_utime.tv_sec + self.ru_stime.tv_sec + kids.ru_utime.tv_sec +
                    kids.ru_stime.tv_sec) +
           (double)(self.ru_utime.tv_usec + self.ru_stime.tv_usec + kids.ru_utime.tv_usec +
                    kids.ru_stime.tv_usec) / 1e6;
}

static void run(uint32_t trials, uint32_t entries, int overlap, char *buf, size_t buflen)
{
    uint64_t rng = 2026120700u + (uint64_t)overlap;
    pid_t pid[2];
    double c0 = cpu_seconds();
    uint64_t t0 = now_ns();
    atomic_store(&sh->released, 0);
    pid[1] = spawn(1, entries, &rng);
    release(1);
    for (uint32_t n = 1; n <= trials; n++) {
        int more = n < trials;
        if (more)
            pid[(n + 1) % 2] = spawn(n + 1, entries, &rng);   /* made ahead */
        while (!atomic_load(&sh->armed[n % 2]))
            futex(&sh->armed[n % 2], FUTEX_WAIT, 0);
        if (overlap && more)
            release(n + 1);
        finish(n, pid[n % 2], buf, buflen);
        if (!overlap && more)
            release(n + 1);
    }
    double s = (double)(now_ns() - t0) / 1e9;
    printf("floor, %s: %u trials in %.2f s, %.0f trials/s, %.2f ms CPU a trial\n",
           overlap ? "overlapped" : "serial", trials, s, trials / s,
           (cpu_seconds() - c0) * 1000 / trials);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: crash_floor DIR [TRIALS [ENTRIES]]\n");
        return 2;
    }
    dir = argv[1];
    uint32_t trials = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 1000;
    uint32_t entries = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 1000;
    if (trials < 1 || entries < 2 || entries > 1000000) {
        fprintf(stderr, "crash_floor: TRIALS from 1, ENTRIES from 2 to 1000000\n");
        return 2;
    }
    sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (sh == MAP_FAILED)
        die("mmap");
    size_t buflen = (size_t)entries * RECORD;
    char *buf = malloc(buflen);
    if (!buf)
        die("malloc");
    run(trials, entries, 0, buf, buflen);
    run(trials, entries, 1, buf, buflen);
    free(buf);
    return 0;
}
