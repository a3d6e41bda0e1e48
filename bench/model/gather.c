/* DESIGN: a model of group commit's gather, with no fsynclab code in it.
 *
 * docs/performance.md (group commit, steps 6, 7 and 9) leans on three facts
 * about this machine that should not depend on fsynclab's own code:
 *   - what a leader that waits for "as many writers parked as ever" gets,
 *     against one that waits for as many records staged since the last sync;
 *   - what one thread waking another costs (a semaphore ping-pong);
 *   - how long a real fdatasync takes with 1 thread against 16 waiting.
 * So this program models them directly: THREADS threads each stage one
 * record at a time under one mutex and wait on a condition variable until
 * a sync covers it; whoever finds no leader gathers, then "syncs" by
 * sleeping or by pwrite + fdatasync of a real file.  It is a model, not a
 * benchmark: no CRC, no payload, one condition variable for all.
 *
 *   usage: gather THREADS parked|staged sleep MICROSECONDS
 *          gather THREADS parked|staged file PATH     (PATH is truncated, then removed)
 *          gather pingpong
 *   built by `make`, into build/bench/model/gather.
 */
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define APPENDS_PER_THREAD 2000u
#define RECORD 128u

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t synced = PTHREAD_COND_INITIALIZER;
static pthread_cond_t arrived = PTHREAD_COND_INITIALIZER;
static unsigned active;          /* threads not yet done */
static unsigned parked;          /* threads between staging and leaving */
static int leading, count_staged;
static uint64_t staged, covered, syncs, sync_ns;
static long sleep_us;
static int fd = -1;
static off_t file_end;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *call)
{
    perror(call);
    exit(1);
}

/* The "sync": outside the mutex, like fsynclab's leader. */
static void sync_batch(uint64_t records)
{
    uint64_t t0 = now_ns();
    if (fd < 0) {
        struct timespec ts = { .tv_sec = sleep_us / 1000000, .tv_nsec = sleep_us % 1000000 * 1000 };
        nanosleep(&ts, NULL);
    } else {
        static char buf[RECORD * 256];
        size_t len = (size_t)records * RECORD;
        if (len > sizeof buf)
            len = sizeof buf;
        if (pwrite(fd, buf, len, file_end) != (ssize_t)len)
            die("pwrite");
        file_end += (off_t)len;
        t0 = now_ns();
        if (fdatasync(fd) != 0)
            die("fdatasync");
    }
    sync_ns += now_ns() - t0;
}

/* Has every writer that can come staged a record? */
static int all_in(void)
{
    return count_staged ? staged - covered >= active : parked >= active;
}

static void *writer(void *arg)
{
    (void)arg;
    for (unsigned i = 0; i < APPENDS_PER_THREAD; i++) {
        pthread_mutex_lock(&mu);
        uint64_t seq = ++staged;
        parked++;
        if (all_in())
            pthread_cond_signal(&arrived);
        while (covered < seq) {
            if (leading) {
                pthread_cond_wait(&synced, &mu);
                continue;
            }
            leading = 1;
            while (!all_in())
                pthread_cond_wait(&arrived, &mu);
            uint64_t upto = staged;
            pthread_mutex_unlock(&mu);
            sync_batch(upto - covered);
            pthread_mutex_lock(&mu);
            covered = upto;
            syncs++;
            leading = 0;
            pthread_cond_broadcast(&synced);
        }
        parked--;
        pthread_mutex_unlock(&mu);
    }
    pthread_mutex_lock(&mu);
    active--;   /* a leader must not wait for a writer that has finished */
    pthread_cond_signal(&arrived);
    pthread_mutex_unlock(&mu);
    return NULL;
}

static sem_t ping, pong;

static void *ponger(void *arg)
{
    unsigned n = *(unsigned *)arg;
    for (unsigned i = 0; i < n; i++) {
        while (sem_wait(&ping) != 0)
            ;
        sem_post(&pong);
    }
    return NULL;
}

static int pingpong(void)
{
    unsigned n = 100000;
    pthread_t t;
    sem_init(&ping, 0, 0);
    sem_init(&pong, 0, 0);
    if (pthread_create(&t, NULL, ponger, &n) != 0)
        die("pthread_create");
    uint64_t t0 = now_ns();
    for (unsigned i = 0; i < n; i++) {
        sem_post(&ping);
        while (sem_wait(&pong) != 0)
            ;
    }
    uint64_t t1 = now_ns();
    pthread_join(t, NULL);
    printf("semaphore round trip between two threads: %.2f us (%u round trips)\n",
           (double)(t1 - t0) / 1e3 / n, n);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "pingpong") == 0)
        return pingpong();
    unsigned threads = argc == 5 ? (unsigned)strtoul(argv[1], NULL, 10) : 0;
    if (threads < 1 || threads > 256 ||
        (strcmp(argv[2], "parked") != 0 && strcmp(argv[2], "staged") != 0) ||
        (strcmp(argv[3], "sleep") != 0 && strcmp(argv[3], "file") != 0)) {
        fprintf(stderr, "usage: gather THREADS parked|staged sleep MICROSECONDS\n"
                        "       gather THREADS parked|staged file PATH\n"
                        "       gather pingpong\n");
        return 2;
    }
    count_staged = strcmp(argv[2], "staged") == 0;
    if (strcmp(argv[3], "sleep") == 0) {
        sleep_us = strtol(argv[4], NULL, 10);
    } else if ((fd = open(argv[4], O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0) {
        die("open");
    }
    active = threads;
    pthread_t *t = calloc(threads, sizeof *t);
    if (!t)
        die("calloc");
    uint64_t t0 = now_ns();
    for (unsigned i = 0; i < threads; i++)
        if (pthread_create(&t[i], NULL, writer, NULL) != 0)
            die("pthread_create");
    for (unsigned i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    double secs = (double)(now_ns() - t0) / 1e9;
    if (fd >= 0) {
        close(fd);
        unlink(argv[4]);
    }
    double records = (double)threads * APPENDS_PER_THREAD;
    printf("%u threads, gather counts %s: %.0f records/s, %llu syncs, %.1f records a sync, "
           "cycle %.0f us, sync %.0f us mean\n",
           threads, argv[2], records / secs, (unsigned long long)syncs, records / (double)syncs,
           secs * 1e6 / (double)syncs, (double)sync_ns / 1e3 / (double)syncs);
    free(t);
    return 0;
}
