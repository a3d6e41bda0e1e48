/* DESIGN: fsynclab's writer inside the QEMU guest of `crash --vm`.
 *
 * It runs fsynclab's own log (wal/) unchanged on the guest's ext4, and
 * tells the host on the serial console, one short line per event, written
 * with one write(2) each so that lines from several threads never mix:
 *   R<size>        the log is open with records of size bytes (entry size,
 *                  padded for o_direct_dsync); appends start
 *   b              a sync begins (so that the host knows one is in flight)
 *   a<seq>         seq was acknowledged (the line is the acknowledgement:
 *                  an application replies to its client the same way)
 *   s<n> <us>      a sync returned success that began after records 1..n
 *                  had all been written; it took us microseconds
 *   D              every entry was acknowledged; the writer then waits
 *   E<message>     a call failed; the writer stops
 * The sync lines are the guest's own ledger: from them and the acks the
 * host predicts, with the drop model, what a power cut may take, and
 * compares that with what the real kernel's disk kept.
 *
 * The file seam is wrapped (as crashsim wraps it) to learn which records a
 * sync covers: the contiguous prefix of records whose pwrite returned
 * before the sync began.  With o_dsync and o_direct_dsync each write is
 * durable when it returns, so the wrapper reports the prefix after writes.
 *
 * Built static, without sanitizers, from wal/ and hist/ only.
 * Usage: fsynclab-guest PATH STRATEGY WRITERS ENTRY_SIZE SYNC_METHOD ENTRIES [DIRSYNC]
 * DIRSYNC 0 creates the file without syncing its directory (wal_file_open
 * syncs it), for the experiment of docs/ground-truth.md.
 */
#include "wal/wal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tracked {
    struct wal_file base;
    struct wal_file *inner;
    uint32_t record_size;
    int writes_durable;
    pthread_mutex_t mu;
    unsigned char *done;     /* one byte a record: its pwrite returned */
    uint64_t entries;
    uint64_t prefix;         /* records 1..prefix all written */
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    ssize_t w;
    do
        w = write(STDOUT_FILENO, line, (size_t)n);
    while (w < 0 && errno == EINTR);
}

static uint64_t prefix_now(struct tracked *t)
{
    pthread_mutex_lock(&t->mu);
    uint64_t p = t->prefix;
    pthread_mutex_unlock(&t->mu);
    return p;
}

static int tracked_pwrite(struct wal_file *f, const void *buf, size_t len, off_t off)
{
    struct tracked *t = (struct tracked *)f;
    int rc = t->inner->methods->pwrite(t->inner, buf, len, off);
    if (rc < 0)
        return rc;
    uint64_t first = (uint64_t)off / t->record_size;
    uint64_t end = ((uint64_t)off + len) / t->record_size;
    pthread_mutex_lock(&t->mu);
    for (uint64_t i = first; i < end && i < t->entries; i++)
        t->done[i] = 1;
    while (t->prefix < t->entries && t->done[t->prefix])
        t->prefix++;
    uint64_t p = t->prefix;
    pthread_mutex_unlock(&t->mu);
    if (t->writes_durable)
        say("s%" PRIu64 " 0", p);
    return 0;
}

static int tracked_sync(struct wal_file *f)
{
    struct tracked *t = (struct tracked *)f;
    uint64_t covered = prefix_now(t);
    if (!t->writes_durable)
        say("b");
    uint64_t t0 = wal_now_ns();
    int rc = t->inner->methods->sync(t->inner);
    if (rc == 0 && !t->writes_durable)
        say("s%" PRIu64 " %" PRIu64, covered, (wal_now_ns() - t0) / 1000);
    return rc;
}

static int tracked_close(struct wal_file *f)
{
    struct tracked *t = (struct tracked *)f;
    return t->inner->methods->close(t->inner);   /* t itself lives until exit */
}

static const struct wal_file_methods tracked_methods = {
    tracked_pwrite, tracked_sync, tracked_close,
};

/* The file without wal_file_open's directory sync: open, pwrite, the sync
 * method's call, close. */
struct plain {
    struct wal_file base;
    int fd;
    enum wal_sync_method method;
};

static int plain_pwrite(struct wal_file *f, const void *buf, size_t len, off_t off)
{
    struct plain *p = (struct plain *)f;
    for (size_t done = 0; done < len;) {
        ssize_t w = pwrite(p->fd, (const char *)buf + done, len - done, off + (off_t)done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        done += (size_t)w;
    }
    return 0;
}

static int plain_sync(struct wal_file *f)
{
    struct plain *p = (struct plain *)f;
    int rc = 0;
    if (p->method == WAL_SYNC_FSYNC)
        while ((rc = fsync(p->fd)) < 0 && errno == EINTR)
            ;
    else if (p->method == WAL_SYNC_FDATASYNC)
        while ((rc = fdatasync(p->fd)) < 0 && errno == EINTR)
            ;
    return rc < 0 ? -errno : 0;
}

static int plain_close(struct wal_file *f)
{
    struct plain *p = (struct plain *)f;
    int rc = close(p->fd) < 0 ? -errno : 0;
    free(p);
    return rc;
}

static const struct wal_file_methods plain_methods = { plain_pwrite, plain_sync, plain_close };

static int plain_open(const char *path, enum wal_sync_method m, struct wal_file **out, char *err,
                      size_t errlen)
{
    int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
    if (m == WAL_SYNC_O_DSYNC)
        flags |= O_DSYNC;
    if (m == WAL_SYNC_O_DIRECT_DSYNC)
        flags |= O_DSYNC | O_DIRECT;
    struct plain *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    if ((p->fd = open(path, flags, 0644)) < 0) {
        int rc = -errno;
        snprintf(err, errlen, "open(%s): %s", path, strerror(errno));
        free(p);
        return rc;
    }
    p->base.methods = &plain_methods;
    p->method = m;
    *out = &p->base;
    return 0;
}

struct writer {
    pthread_t thread;
    struct wal_log *log;
    uint64_t count;
    int rc;
};

static void *write_loop(void *arg)
{
    struct writer *w = arg;
    for (uint64_t i = 0; i < w->count; i++) {
        uint64_t seq;
        int rc = wal_log_append(w->log, &seq, NULL);
        if (rc < 0) {
            say("Ewal_log_append: %s", strerror(-rc));
            w->rc = rc;
            return NULL;
        }
        say("a%" PRIu64, seq);
    }
    return NULL;
}

static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi)
        return -EINVAL;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    struct wal_strategy st;
    enum wal_sync_method method;
    uint64_t writers, entry_size, entries;
    if ((argc != 7 && argc != 8) || wal_strategy_parse(argv[2], &st) < 0 ||
        parse_u64(argv[3], 1, 256, &writers) < 0 ||
        parse_u64(argv[4], WAL_HEADER_SIZE, WAL_MAX_RECORD, &entry_size) < 0 ||
        wal_sync_method_parse(argv[5], &method) < 0 ||
        parse_u64(argv[6], 1, 100000000, &entries) < 0) {
        say("Eusage: fsynclab-guest PATH STRATEGY WRITERS ENTRY_SIZE SYNC_METHOD ENTRIES [DIRSYNC]");
        return 2;
    }
    char err[256] = "";
    uint32_t record_size;
    /* O_DIRECT's alignment is the data disk's, not the initramfs's. */
    char dir[256];
    snprintf(dir, sizeof dir, "%s", argv[1]);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = 0;
    int rc = wal_record_size(slash ? dir : ".", method, (uint32_t)entry_size, &record_size, err, sizeof err);
    struct wal_file *inner = NULL;
    if (rc == 0)
        rc = argc == 8 && strcmp(argv[7], "0") == 0
                 ? plain_open(argv[1], method, &inner, err, sizeof err)
                 : wal_file_open(argv[1], method, &inner, err, sizeof err);
    static struct tracked t;
    t.base.methods = &tracked_methods;
    t.inner = inner;
    t.record_size = record_size;
    t.writes_durable = method == WAL_SYNC_O_DSYNC || method == WAL_SYNC_O_DIRECT_DSYNC;
    t.entries = entries;
    pthread_mutex_init(&t.mu, NULL);
    struct wal_log *log = NULL;
    if (rc == 0 && !(t.done = calloc(entries, 1)))
        rc = -ENOMEM;
    if (rc == 0 && (rc = wal_log_open(&log, &t.base, &st, record_size)) < 0)
        snprintf(err, sizeof err, "wal_log_open: %s", strerror(-rc));
    if (rc < 0) {
        say("E%s", err[0] ? err : strerror(-rc));
        return 1;
    }
    say("R%" PRIu32, record_size);
    struct writer *w = calloc(writers, sizeof *w);
    if (!w) {
        say("Ecalloc: %s", strerror(ENOMEM));
        return 1;
    }
    for (uint64_t i = 0; i < writers; i++) {
        w[i].log = log;
        w[i].count = entries / writers + (i < entries % writers);
        if ((rc = pthread_create(&w[i].thread, NULL, write_loop, &w[i])) != 0) {
            say("Epthread_create: %s", strerror(rc));
            return 1;
        }
    }
    int failed = 0;
    for (uint64_t i = 0; i < writers; i++) {
        pthread_join(w[i].thread, NULL);
        failed |= w[i].rc != 0;
    }
    if (!failed)
        say("D");
    /* No close: the host cuts the power on a log as the writers left it. */
    for (;;)
        pause();
}
