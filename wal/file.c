/* DESIGN: the real file behind the storage seam.
 *
 * The seam is a method table, as in SQLite's VFS: the log only ever calls
 * methods->pwrite, ->sync and ->close, so crashsim can wrap this file and
 * see (or fail) every call.  Writes use pwrite at offsets the log reserved,
 * so several writer threads can share one descriptor.  Short writes and
 * EINTR are completed here; every other error goes back to the caller, named
 * by the call that failed.  A failed sync is never retried: after Linux
 * reports a writeback error once, a second fsync may return success without
 * the data being on disk (PostgreSQL's "fsyncgate", 2018).
 *
 * Creating the log is made durable too: after the create, the directory is
 * synced, or a power cut could take the whole file with it however often
 * its data was synced (docs/crash-model.md).  That fsync goes through
 * syscall() so that fault-injection runs aimed at the log's own syncs
 * (fiu-run's posix/io/sync points, tests/e2e/failing_disk.sh) reach those
 * and not this one; its own libfiu point, wal/file/dirsync, fails it.
 */
#include "wal/wal.h"

#include <errno.h>
#include <fcntl.h>
#include <fiu.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

struct posix_file {
    struct wal_file base;
    int fd;
    enum wal_sync_method method;
    char path[];   /* for messages that name the file, as open's does */
};

static int posix_pwrite(struct wal_file *f, const void *buf, size_t len, off_t off)
{
    struct posix_file *p = (struct posix_file *)f;
    const char *c = buf;
    while (len > 0) {
        ssize_t n = pwrite(p->fd, c, len, off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            return -EIO;   /* no progress and no error: do not spin */
        c += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

static int posix_sync(struct wal_file *f)
{
    struct posix_file *p = (struct posix_file *)f;
    int rc;
    do {
        switch (p->method) {
        case WAL_SYNC_FSYNC:
            rc = fsync(p->fd);
            break;
        case WAL_SYNC_FDATASYNC:
            rc = fdatasync(p->fd);
            break;
        default:
            return 0;   /* O_DSYNC: each write returned only once durable */
        }
        /* EINTR means the call was cut short before it judged anything, so
         * no error was consumed and a second call still sees it.  Any other
         * failure is final: see the DESIGN note above. */
    } while (rc != 0 && errno == EINTR);
    return rc == 0 ? 0 : -errno;
}

static int posix_close(struct wal_file *f)
{
    struct posix_file *p = (struct posix_file *)f;
    int rc = close(p->fd) == 0 ? 0 : -errno;
    free(p);
    /* close may report a deferred write error, but the descriptor is gone
     * either way (POSIX leaves EINTR unspecified; Linux frees it). */
    return rc == -EINTR ? 0 : rc;
}

static const struct wal_file_methods posix_methods = {
    .pwrite = posix_pwrite,
    .sync = posix_sync,
    .close = posix_close,
};

/* fsync of the directory that holds path, so that its new entry survives
 * a power cut.  EINTR is completed as for the log's own syncs. */
static int sync_parent_dir(const char *path, char *errbuf, size_t errlen)
{
    char copy[WAL_PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    const char *dir = dirname(copy);
    int dfd;
    do
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    while (dfd < 0 && errno == EINTR);
    if (dfd < 0) {
        int e = errno;
        if (errbuf)
            snprintf(errbuf, errlen, "open(%s): %s", dir, strerror(e));
        return -e;
    }
    long rc;
    do {
        rc = syscall(SYS_fsync, dfd);
        if (rc == 0 && fiu_fail("wal/file/dirsync")) {
            intptr_t e = (intptr_t)fiu_failinfo();
            errno = e > 0 && e < 4096 ? (int)e : EIO;
            rc = -1;
        }
    } while (rc != 0 && errno == EINTR);
    int e = rc == 0 ? 0 : errno;
    close(dfd);
    if (e && errbuf)
        snprintf(errbuf, errlen, "fsync(%s): %s", dir, strerror(e));
    return -e;
}

int wal_file_open(const char *path, enum wal_sync_method method, struct wal_file **out,
                  char *errbuf, size_t errlen)
{
    int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
    if (method == WAL_SYNC_O_DSYNC)
        flags |= O_DSYNC;
    if (method == WAL_SYNC_O_DIRECT_DSYNC)
        flags |= O_DSYNC | O_DIRECT;
    struct posix_file *p = malloc(sizeof *p + strlen(path) + 1);
    if (!p) {
        if (errbuf)
            snprintf(errbuf, errlen, "malloc: %s", strerror(ENOMEM));
        return -ENOMEM;
    }
    int fd;
    do
        fd = open(path, flags, 0644);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) {
        int e = errno;
        if (errbuf)
            snprintf(errbuf, errlen, "open(%s): %s", path, strerror(e));
        free(p);
        return -e;
    }
    int rc = sync_parent_dir(path, errbuf, errlen);
    if (rc < 0) {
        close(fd);
        unlink(path);
        free(p);
        return rc;
    }
    p->base.methods = &posix_methods;
    p->fd = fd;
    p->method = method;
    strcpy(p->path, path);
    *out = &p->base;
    return 0;
}

int wal_file_fd(const struct wal_file *f)
{
    return ((const struct posix_file *)f)->fd;
}

int wal_sync_method_parse(const char *name, enum wal_sync_method *out)
{
    static const struct { const char *name; enum wal_sync_method m; } known[] = {
        { "fsync", WAL_SYNC_FSYNC },
        { "fdatasync", WAL_SYNC_FDATASYNC },
        { "o_dsync", WAL_SYNC_O_DSYNC },
        { "o_direct_dsync", WAL_SYNC_O_DIRECT_DSYNC },
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strcmp(name, known[i].name) == 0) {
            *out = known[i].m;
            return 0;
        }
    }
    return -EINVAL;
}

const char *wal_sync_method_name(enum wal_sync_method method)
{
    switch (method) {
    case WAL_SYNC_FSYNC: return "fsync";
    case WAL_SYNC_FDATASYNC: return "fdatasync";
    case WAL_SYNC_O_DSYNC: return "o_dsync";
    case WAL_SYNC_O_DIRECT_DSYNC: return "o_direct_dsync";
    }
    return "unknown";
}

/* Each call below is repeated on EINTR, which interrupts it before it did
 * or judged anything; other errors name the call and the file. */
int wal_file_prealloc(struct wal_file *f, uint64_t bytes, char *errbuf, size_t errlen)
{
    struct posix_file *p = (struct posix_file *)f;
    const size_t chunk = 1u << 20;
    int rc;
    do
        rc = posix_fallocate(p->fd, 0, (off_t)bytes);
    while (rc == EINTR);
    if (rc != 0 && rc != EOPNOTSUPP && rc != EINVAL) {
        if (errbuf)
            snprintf(errbuf, errlen, "posix_fallocate(%s): %s", p->path, strerror(rc));
        return -rc;
    }
    void *zeros;
    if (posix_memalign(&zeros, 4096, chunk) != 0) {
        if (errbuf)
            snprintf(errbuf, errlen, "posix_memalign: %s", strerror(ENOMEM));
        return -ENOMEM;
    }
    memset(zeros, 0, chunk);
    /* Whole chunks, so that O_DIRECT's alignment holds; the size is trimmed
     * back afterwards. */
    for (uint64_t off = 0; off < bytes && rc >= 0; off += chunk) {
        rc = posix_pwrite(f, zeros, chunk, (off_t)off);
        if (rc < 0 && errbuf)
            snprintf(errbuf, errlen, "pwrite(%s): %s", p->path, strerror(-rc));
    }
    free(zeros);
    while (rc >= 0 && ftruncate(p->fd, (off_t)bytes) != 0) {
        if (errno == EINTR)
            continue;
        rc = -errno;
        if (errbuf)
            snprintf(errbuf, errlen, "ftruncate(%s): %s", p->path, strerror(-rc));
    }
    /* As in posix_sync: an EINTR consumed no error; anything else is final. */
    while (rc >= 0 && fdatasync(p->fd) != 0) {
        if (errno == EINTR)
            continue;
        rc = -errno;
        if (errbuf)
            snprintf(errbuf, errlen, "fdatasync(%s): %s", p->path, strerror(-rc));
    }
    return rc < 0 ? rc : 0;
}

int wal_direct_alignment(const char *dir, uint32_t *align)
{
#ifdef STATX_DIOALIGN
    struct statx stx;
    if (statx(AT_FDCWD, dir, 0, STATX_DIOALIGN, &stx) == 0 && (stx.stx_mask & STATX_DIOALIGN) &&
        stx.stx_dio_offset_align > 0) {
        *align = stx.stx_dio_offset_align;
        return 0;
    }
#endif
    struct statvfs vfs;
    if (statvfs(dir, &vfs) != 0)
        return -errno;
    *align = vfs.f_bsize ? (uint32_t)vfs.f_bsize : 4096;
    return 0;
}

int wal_record_size(const char *dir, enum wal_sync_method method, uint32_t entry_size,
                    uint32_t *out, char *errbuf, size_t errlen)
{
    *out = entry_size;
    if (method != WAL_SYNC_O_DIRECT_DSYNC)
        return 0;
    uint32_t align;
    int rc = wal_direct_alignment(dir, &align);
    if (rc < 0) {
        if (errbuf)
            snprintf(errbuf, errlen, "statvfs(%s): %s", dir, strerror(-rc));
        return rc;
    }
    uint64_t padded = ((uint64_t)entry_size + align - 1) / align * align;
    if (padded > WAL_MAX_RECORD) {
        if (errbuf)
            snprintf(errbuf, errlen, "entry_size %u padded to the direct I/O alignment %u "
                     "exceeds %u", entry_size, align, WAL_MAX_RECORD);
        return -EINVAL;
    }
    *out = (uint32_t)padded;
    return 0;
}
