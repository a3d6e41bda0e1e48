/* preload/io.c: the hooks that change data, durability and names.
 *
 * DESIGN.  A data call is recorded after it returned, with what it really
 * wrote (a short write records its short length), so a record always
 * describes a completed call.  A sync is recorded twice: begin before the
 * real call, end after it; the image builder counts a write as covered
 * only when its record precedes the begin.  stdio and shared mappings
 * write past the hooks, so their content is captured whole (stdio:
 * through /proc/self/fd, since the fd is often write-only) at fflush,
 * fclose and before a sync, and mapped pages at msync and before a sync.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "preload/internal.h"

static void *rec_real_write, *rec_real_pwrite, *rec_real_pwrite64, *rec_real_writev,
    *rec_real_pwritev, *rec_real_pwritev2, *rec_real_fsync, *rec_real_fdatasync,
    *rec_real_sync_file_range, *rec_real_syncfs, *rec_real_sync, *rec_real_ftruncate,
    *rec_real_truncate, *rec_real_fallocate, *rec_real_posix_fallocate, *rec_real_rename,
    *rec_real_renameat, *rec_real_renameat2, *rec_real_unlink, *rec_real_unlinkat,
    *rec_real_remove, *rec_real_mkdir, *rec_real_mkdirat, *rec_real_rmdir, *rec_real_link,
    *rec_real_linkat, *rec_real_symlinkat, *rec_real_fchmodat, *rec_real_fchmod, *rec_real_fopen, *rec_real_fdopen, *rec_real_fclose,
    *rec_real_fflush, *rec_real_open, *rec_real_close, *rec_real_pread;

/* ---- data ------------------------------------------------------------------------ */
/* O_SYNC/O_DSYNC (or RWF_DSYNC): the write was durable when it returned. */
static void rec_durable(uint64_t raw)
{
    if (raw & REC_MARK_SYNCW) {
        uint64_t id = rec_sync_id();
        rec_emit(RECORDER_SYNC_BEGIN, 0, RECORDER_SYNC_FDATASYNC, raw, id, 0, NULL, 0);
        rec_emit(RECORDER_SYNC_END, 0, 0, raw, id, 0, NULL, 0);
    }
}

static void rec_write(uint64_t raw, uint64_t off, const void *buf, size_t n)
{
    struct iovec p = {(void *)buf, n};
    rec_emit(RECORDER_WRITE, 0, 0, raw, off, n, &p, 1);
    rec_durable(raw);
}

/* The first n bytes of an iovec array, as one record. */
static void rec_writev(uint64_t raw, uint64_t off, const struct iovec *iov, int cnt, size_t n)
{
    struct iovec p[7];
    int k = 0;
    size_t left = n;
    for (int i = 0; i < cnt && left > 0; i++) {
        size_t take = iov[i].iov_len < left ? iov[i].iov_len : left;
        if (k == 7) {   /* too many pieces for one writev of the journal: copy */
            char *flat = malloc(n);
            if (!flat) {
                rec_flag("out of memory recording a writev of %zu bytes", n);
                return;
            }
            size_t at = 0;
            for (int j = 0; j < cnt && at < n; j++) {
                size_t t = iov[j].iov_len < n - at ? iov[j].iov_len : n - at;
                memcpy(flat + at, iov[j].iov_base, t);
                at += t;
            }
            rec_write(raw, off, flat, n);
            free(flat);
            return;
        }
        p[k++] = (struct iovec){iov[i].iov_base, take};
        left -= take;
    }
    rec_emit(RECORDER_WRITE, 0, 0, raw, off, n, p, k);
    rec_durable(raw);
}

/* Where a write through fd of r bytes landed, asked after it returned and
 * with the writers' lock held: the end of the file for an append (Linux
 * appends pwrite on O_APPEND too), else the file offset the call moved. */
off_t rec_landed(int fd, int append, ssize_t r)
{
    if (append) {
        struct stat st;
        return fstat(fd, &st) == 0 ? st.st_size - r : -1;
    }
    off_t end = lseek(fd, 0, SEEK_CUR);
    return end >= r ? end - r : -1;
}

static void rec_lost_offset(int fd, ssize_t r)
{
    rec_flag("a write of %zd bytes through fd %d: where it landed could not be told", r, fd);
}

ssize_t write(int fd, const void *buf, size_t n)
{
    uint64_t h = rec_handle_raw(fd);
    if (!h && fd == 1)
        rec_acks(buf, n);   /* the program's promise, journaled before it leaves (ack.c) */
    if (!h)
        return REAL(write)(fd, buf, n);
    int fe = rec_fault_write(h);
    if (fe) {
        errno = fe;
        return -1;
    }
    rec_lock();
    ssize_t r = REAL(write)(fd, buf, n);
    if (r > 0) {
        int saved = errno;
        off_t at = rec_landed(fd, (h & REC_MARK_APPEND) != 0, r);
        if (at >= 0)
            rec_write(h, (uint64_t)at, buf, (size_t)r);
        else
            rec_lost_offset(fd, r);
        errno = saved;
    }
    rec_unlock();
    return r;
}

void rec_record_write(uint64_t raw, uint64_t off, const void *buf, size_t n)
{
    rec_write(raw, off, buf, n);
}

static ssize_t rec_pwrite(int fd, const void *buf, size_t n, off_t off,
                          ssize_t (*real)(int, const void *, size_t, off_t))
{
    uint64_t h = rec_handle_raw(fd);
    if (!h)
        return real(fd, buf, n, off);
    int fe = rec_fault_write(h);
    if (fe) {
        errno = fe;
        return -1;
    }
    int append = (h & REC_MARK_APPEND) != 0;
    if (append)
        rec_lock();
    ssize_t r = real(fd, buf, n, off);
    if (r > 0) {
        int saved = errno;
        off_t at = append ? rec_landed(fd, 1, r) : off;
        if (at >= 0)
            rec_write(h, (uint64_t)at, buf, (size_t)r);
        else
            rec_lost_offset(fd, r);
        errno = saved;
    }
    if (append)
        rec_unlock();
    return r;
}
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    return rec_pwrite(fd, buf, n, off, REAL(pwrite));
}
ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
    return rec_pwrite(fd, buf, n, (off_t)off, (ssize_t(*)(int, const void *, size_t, off_t))REAL(pwrite64));
}

/* writev, pwritev, pwritev2: off -1 is the file offset; append as above. */
static ssize_t rec_vwrite(int fd, const struct iovec *iov, int cnt, off_t off, int flags, int kind)
{
    uint64_t h = rec_handle_raw(fd);
    if (!h) {
        if (kind == 0)
            return REAL(writev)(fd, iov, cnt);
        if (kind == 1)
            return REAL(pwritev)(fd, iov, cnt, off);
        return REAL(pwritev2)(fd, iov, cnt, off, flags);
    }
    int fe = rec_fault_write(h);
    if (fe) {
        errno = fe;
        return -1;
    }
    int append = (h & REC_MARK_APPEND) || (kind == 2 && (flags & RWF_APPEND));
    int shared = append || off == -1;
    if (shared)
        rec_lock();
    ssize_t r = kind == 0 ? REAL(writev)(fd, iov, cnt)
              : kind == 1 ? REAL(pwritev)(fd, iov, cnt, off)
                          : REAL(pwritev2)(fd, iov, cnt, off, flags);
    if (r > 0) {
        int saved = errno;
        off_t at = shared ? rec_landed(fd, append, r) : off;
        if (at >= 0)
            rec_writev(h, (uint64_t)at, iov, cnt, (size_t)r);
        else
            rec_lost_offset(fd, r);
        if (kind == 2 && (flags & (RWF_DSYNC | RWF_SYNC)))
            rec_durable(h | REC_MARK_SYNCW);
        errno = saved;
    }
    if (shared)
        rec_unlock();
    return r;
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    return rec_vwrite(fd, iov, cnt, -1, 0, 0);
}
ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    return rec_vwrite(fd, iov, cnt, off, 0, 1);
}
ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
    return pwritev(fd, iov, cnt, (off_t)off);
}
ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    return rec_vwrite(fd, iov, cnt, off, flags, 2);
}
ssize_t pwritev64v2(int fd, const struct iovec *iov, int cnt, off64_t off, int flags);
ssize_t pwritev64v2(int fd, const struct iovec *iov, int cnt, off64_t off, int flags)
{
    return pwritev2(fd, iov, cnt, (off_t)off, flags);
}

/* ---- sizes ------------------------------------------------------------------------ */
int ftruncate(int fd, off_t len)
{
    int r = REAL(ftruncate)(fd, len);
    uint64_t h;
    if (r == 0 && (h = rec_handle(fd)))
        rec_emit(RECORDER_TRUNCATE, 0, 0, h, (uint64_t)len, 0, NULL, 0);
    return r;
}
int ftruncate64(int fd, off64_t len)
{
    return ftruncate(fd, (off_t)len);
}

int truncate(const char *path, off_t len)
{
    int r = REAL(truncate)(path, len);
    char rel[PATH_MAX];
    if (r == 0 && rec_rel(AT_FDCWD, path, rel, sizeof rel))
        rec_emit_path(RECORDER_TRUNCATE_PATH, 0, (uint64_t)len, rel, NULL);
    return r;
}
int truncate64(const char *path, off64_t len)
{
    return truncate(path, (off_t)len);
}

int fallocate(int fd, int mode, off_t off, off_t len)
{
    int r = REAL(fallocate)(fd, mode, off, len);
    uint64_t h;
    if (r == 0 && (h = rec_handle(fd)))
        rec_emit(RECORDER_FALLOCATE, 0, mode, h, (uint64_t)off, (uint64_t)len, NULL, 0);
    return r;
}
int fallocate64(int fd, int mode, off64_t off, off64_t len)
{
    return fallocate(fd, mode, (off_t)off, (off_t)len);
}
int posix_fallocate(int fd, off_t off, off_t len)
{
    int r = REAL(posix_fallocate)(fd, off, len);
    uint64_t h;
    if (r == 0 && (h = rec_handle(fd)))
        rec_emit(RECORDER_FALLOCATE, 0, 0, h, (uint64_t)off, (uint64_t)len, NULL, 0);
    return r;
}
int posix_fallocate64(int fd, off64_t off, off64_t len)
{
    return posix_fallocate(fd, (off_t)off, (off_t)len);
}

/* ---- syncs ------------------------------------------------------------------------- */
static int rec_sync(int fd, int kind, int (*real)(int))
{
    struct stat st;
    uint64_t raw = rec_handle_checked(fd, &st);
    if (!raw)
        return real(fd);
    rec_capture_for_sync(fd, raw);
    uint64_t id = rec_sync_id();
    rec_emit(RECORDER_SYNC_BEGIN, 0, kind, raw, id, 0, NULL, 0);
    int fe = rec_fault_sync(fd, raw, kind == RECORDER_SYNC_FDATASYNC ? RECORDER_FAULT_FDATASYNC
                                                                      : RECORDER_FAULT_FSYNC);
    int r = fe ? -1 : real(fd);
    if (fe)
        errno = fe;   /* the faulted call does not reach the kernel (fault.c says why) */
    rec_emit(RECORDER_SYNC_END, 0, r == 0 ? 0 : errno, raw, id, 0, NULL, 0);
    return r;
}

int fsync(int fd)
{
    return rec_sync(fd, RECORDER_SYNC_FSYNC, REAL(fsync));
}
int fdatasync(int fd)
{
    return rec_sync(fd, RECORDER_SYNC_FDATASYNC, REAL(fdatasync));
}

/* sync flushes everything; syncfs the file system of fd, which is a
 * durability point for the root only when the root is on it. */
static int rec_sync_all(int fd, int (*real)(int), void (*real_void)(void))
{
    if (!rec_armed || (real && !rec_on_root_fs(fd))) {
        if (real)
            return real(fd);
        real_void();
        return 0;
    }
    rec_maps_capture_all();
    uint64_t id = rec_sync_id();
    rec_emit(RECORDER_SYNC_BEGIN, 0, RECORDER_SYNC_ALL, 0, id, 0, NULL, 0);
    int r = 0;
    if (real)
        r = real(fd);
    else
        real_void();
    rec_emit(RECORDER_SYNC_END, 0, r == 0 ? 0 : errno, 0, id, 0, NULL, 0);
    return r;
}
int syncfs(int fd)
{
    return rec_sync_all(fd, REAL(syncfs), NULL);
}
void sync(void)
{
    (void)rec_sync_all(-1, NULL, REAL(sync));
}

/* With SYNC_FILE_RANGE_WAIT_AFTER it can report a failed writeback: a
 * fault makes it a failed fdatasync of the whole file (the engine then
 * drops every unsynced write of the file, not only the range's:
 * pessimistic). */
static int rec_range_fault(int fd, unsigned flags)
{
    uint64_t raw;
    if (!(flags & SYNC_FILE_RANGE_WAIT_AFTER) || !(raw = rec_handle_raw(fd)))
        return 0;
    uint64_t id = rec_sync_id();
    int fe = rec_fault_sync(fd, raw, RECORDER_FAULT_SYNC_RANGE);
    if (fe) {
        rec_emit(RECORDER_SYNC_BEGIN, 0, RECORDER_SYNC_FDATASYNC, raw, id, 0, NULL, 0);
        rec_emit(RECORDER_SYNC_END, 0, fe, raw, id, 0, NULL, 0);
    }
    return fe;
}

int sync_file_range(int fd, off64_t off, off64_t n, unsigned flags)
{
    int fe = rec_range_fault(fd, flags);
    if (fe) {
        errno = fe;
        return -1;
    }
    int r = REAL(sync_file_range)(fd, off, n, flags);
    uint64_t h;
    if (r == 0 && (h = rec_handle(fd)))
        rec_emit(RECORDER_RANGE_HINT, 0, (int32_t)flags, h, (uint64_t)off, (uint64_t)n, NULL, 0);
    return r;
}

/* ---- names ------------------------------------------------------------------------- */
static void rec_name2(unsigned type, int32_t aux, int olddir, const char *old, int newdir,
                      const char *new_, int r)
{
    if (r != 0 || !rec_armed)
        return;
    int saved = errno;
    char a[PATH_MAX], b[PATH_MAX];
    const char *ra = rec_rel(olddir, old, a, sizeof a), *rb = rec_rel(newdir, new_, b, sizeof b);
    if (ra && rb)
        rec_emit_path(type, aux, 0, ra, rb);
    else if (ra && type == RECORDER_RENAME)   /* moved out of the root: gone from it */
        rec_emit_path(RECORDER_UNLINK, 0, 0, ra, NULL);
    else if (rb)
        rec_flag("%s into the root from outside (%s): its content is not in the journal",
                 type == RECORDER_RENAME ? "rename" : "link", rb);
    errno = saved;
}

static void rec_name1(unsigned type, int dirfd, const char *path, int r)
{
    if (r != 0 || !rec_armed)
        return;
    int saved = errno;
    char rel[PATH_MAX];
    struct stat st;
    uint64_t mode = type == RECORDER_MKDIR && fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st.st_mode : 0;
    if (rec_rel(dirfd, path, rel, sizeof rel))
        rec_emit_path(type, 0, mode, rel, NULL);
    errno = saved;
}

int rename(const char *old, const char *new_)
{
    int r = REAL(rename)(old, new_);
    rec_name2(RECORDER_RENAME, 0, AT_FDCWD, old, AT_FDCWD, new_, r);
    return r;
}
int renameat(int od, const char *old, int nd, const char *new_)
{
    int r = REAL(renameat)(od, old, nd, new_);
    rec_name2(RECORDER_RENAME, 0, od, old, nd, new_, r);
    return r;
}
int renameat2(int od, const char *old, int nd, const char *new_, unsigned flags)
{
    int r = REAL(renameat2)(od, old, nd, new_, flags);
    rec_name2(RECORDER_RENAME, (int32_t)flags, od, old, nd, new_, r);
    return r;
}
int link(const char *old, const char *new_)
{
    int r = REAL(link)(old, new_);
    rec_name2(RECORDER_LINK, 0, AT_FDCWD, old, AT_FDCWD, new_, r);
    return r;
}
int linkat(int od, const char *old, int nd, const char *new_, int flags)
{
    int r = REAL(linkat)(od, old, nd, new_, flags);
    rec_name2(RECORDER_LINK, 0, od, old, nd, new_, r);
    return r;
}
int unlink(const char *path)
{
    int r = REAL(unlink)(path);
    rec_name1(RECORDER_UNLINK, AT_FDCWD, path, r);
    return r;
}
int unlinkat(int dirfd, const char *path, int flags)
{
    int r = REAL(unlinkat)(dirfd, path, flags);
    rec_name1((flags & AT_REMOVEDIR) ? RECORDER_RMDIR : RECORDER_UNLINK, dirfd, path, r);
    return r;
}
int remove(const char *path)
{
    struct stat st;
    int is_dir = lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
    int r = REAL(remove)(path);
    rec_name1(is_dir ? RECORDER_RMDIR : RECORDER_UNLINK, AT_FDCWD, path, r);
    return r;
}
int mkdir(const char *path, mode_t mode)
{
    int r = REAL(mkdir)(path, mode);
    rec_name1(RECORDER_MKDIR, AT_FDCWD, path, r);
    return r;
}
int mkdirat(int dirfd, const char *path, mode_t mode)
{
    int r = REAL(mkdirat)(dirfd, path, mode);
    rec_name1(RECORDER_MKDIR, dirfd, path, r);
    return r;
}
int symlink(const char *target, const char *path)
{
    return symlinkat(target, AT_FDCWD, path);
}
int symlinkat(const char *target, int dirfd, const char *path)
{
    int r = REAL(symlinkat)(target, dirfd, path);
    char rel[PATH_MAX];
    if (r == 0 && rec_armed) {
        int saved = errno;
        if (rec_rel(dirfd, path, rel, sizeof rel))
            rec_emit_path(RECORDER_SYMLINK, 0, 0, target, rel);
        errno = saved;
    }
    return r;
}

int fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
    int r = REAL(fchmodat)(dirfd, path, mode, flags);
    char rel[PATH_MAX];
    if (r == 0 && rec_armed) {
        int saved = errno;
        if (rec_rel(dirfd, path, rel, sizeof rel))
            rec_emit_path(RECORDER_CHMOD, 0, mode & 07777, rel, NULL);
        errno = saved;
    }
    return r;
}
int chmod(const char *path, mode_t mode)
{
    return fchmodat(AT_FDCWD, path, mode, 0);
}
int fchmod(int fd, mode_t mode)
{
    int r = REAL(fchmod)(fd, mode);
    uint64_t h;
    if (r == 0 && (h = rec_handle(fd)))
        rec_emit(RECORDER_CHMOD, 0, 0, h, mode & 07777, 0, NULL, 0);
    return r;
}

int rmdir(const char *path)
{
    int r = REAL(rmdir)(path);
    rec_name1(RECORDER_RMDIR, AT_FDCWD, path, r);
    return r;
}

/* ---- stdio ------------------------------------------------------------------------- */
void rec_stdio_capture(int fd, uint64_t raw)
{
    int saved = errno;
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    int rfd = REAL(open)(link, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (rfd < 0 || fstat(rfd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (rfd >= 0)
            REAL(close)(rfd);
        rec_flag("stdio file on fd %d could not be read back", fd);
        errno = saved;
        return;
    }
    size_t size = (size_t)st.st_size, got = 0;
    char *data = malloc(size ? size : 1);
    while (data && got < size) {
        ssize_t r = REAL(pread)(rfd, data + got, size - got, (off_t)got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    REAL(close)(rfd);
    if (data && got == size) {
        struct iovec p = {data, size};
        rec_emit(RECORDER_WRITE, RECORDER_F_REPLACE, 0, raw, 0, size, &p, 1);
    } else {
        rec_flag("stdio file on fd %d: %zu of %zu bytes read back", fd, got, size);
    }
    free(data);
    errno = saved;
}

static int rec_mode_flags(const char *mode)
{
    int flags = strchr(mode, '+') ? O_RDWR : (mode[0] == 'r' ? O_RDONLY : O_WRONLY);
    if (mode[0] == 'w')
        flags |= O_CREAT | O_TRUNC;
    if (mode[0] == 'a')
        flags |= O_CREAT | O_APPEND;
    return flags;
}

static FILE *rec_fopened(const char *path, const char *mode, FILE *fp)
{
    if (fp && rec_armed) {
        int saved = errno, fd = fileno(fp);
        rec_after_open(AT_FDCWD, path, rec_mode_flags(mode), fd);
        rec_mark(fd, REC_MARK_STDIO);
        errno = saved;
    }
    return fp;
}
FILE *fopen(const char *path, const char *mode)
{
    return rec_fopened(path, mode, REAL(fopen)(path, mode));
}
FILE *fopen64(const char *path, const char *mode)
{
    return rec_fopened(path, mode, REAL(fopen)(path, mode));
}
FILE *fdopen(int fd, const char *mode)
{
    FILE *fp = REAL(fdopen)(fd, mode);
    if (fp && rec_handle(fd))
        rec_mark(fd, REC_MARK_STDIO);
    return fp;
}

int fflush(FILE *fp)
{
    rec_stdout_acks(fp);   /* ack lines on stdout, before they leave (ack.c) */
    int r = REAL(fflush)(fp);
    if (fp && rec_armed) {
        int fd = fileno(fp);
        uint64_t h = rec_handle_raw(fd);
        if (h & REC_MARK_STDIO)
            rec_stdio_capture(fd, h);
    }
    return r;
}

int fclose(FILE *fp)
{
    if (fp && rec_armed) {
        int fd = fileno(fp);
        uint64_t h = rec_handle_raw(fd);
        if (h & REC_MARK_STDIO) {
            REAL(fflush)(fp);
            rec_stdio_capture(fd, h);
        }
        rec_set_handle(fd, 0);   /* fclose's close does not pass through close() */
    }
    return REAL(fclose)(fp);
}
