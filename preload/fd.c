/* preload/fd.c: descriptors made or closed by calls other than open and
 * close, and data that moves kernel to kernel.
 *
 * DESIGN.  The fd table must never hold an entry for a descriptor that
 * is no longer the file it was bound to: every call that closes several
 * descriptors, or makes one that cannot be a file under the root (pipes,
 * sockets, event, signal and memory fds), or one the recorder cannot name
 * (received over a socket, opened by handle), sets its entry; mkstemp's file is
 * recorded as created.  The journal's descriptor survives close_range and
 * closefrom.  sendfile, splice and copy_file_range move data the process
 * never holds: after the call, with the writers' lock held when the
 * offset is shared, the bytes are read back from the destination file
 * (through /proc/self/fd when it is open write-only).  dprintf writes
 * inside glibc, past the write hook: it is formatted here and written
 * through the hook.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "preload/internal.h"

static void *rec_real_close_range, *rec_real_closedir, *rec_real_opendir,
    *rec_real_socket, *rec_real_socketpair, *rec_real_accept, *rec_real_accept4, *rec_real_pipe,
    *rec_real_pipe2, *rec_real_eventfd, *rec_real_timerfd_create, *rec_real_epoll_create,
    *rec_real_epoll_create1, *rec_real_inotify_init, *rec_real_inotify_init1,
    *rec_real_memfd_create, *rec_real_mkstemp, *rec_real_mkostemp, *rec_real_mkstemps,
    *rec_real_mkostemps, *rec_real_mkdtemp, *rec_real_tmpfile, *rec_real_sendfile,
    *rec_real_splice, *rec_real_copy_file_range, *rec_real_vdprintf, *rec_real_open,
    *rec_real_close, *rec_real_pread, *rec_real_ioctl, *rec_real_signalfd, *rec_real_recvmsg,
    *rec_real_open_by_handle_at;

void rec_forget(int fd)
{
    if (rec_armed && fd >= 0)
        rec_set_handle(fd, 0);
}

static int rec_outside(int fd)
{
    if (rec_armed && fd >= 0)
        rec_set_handle(fd, REC_OUTSIDE);
    return fd;
}

/* ---- closing many ------------------------------------------------------------------ */
int close_range(unsigned first, unsigned last, int flags)
{
    if (!rec_armed)
        return REAL(close_range)(first, last, flags);
    int r = 0;
    unsigned j = (unsigned)rec_journal_fd();
    if (j >= first && j <= last) {   /* around the journal */
        if (j > first)
            r = REAL(close_range)(first, j - 1, flags);
        if (r == 0 && j < last)
            r = REAL(close_range)(j + 1, last, flags);
    } else {
        r = REAL(close_range)(first, last, flags);
    }
    if (r == 0 && !(flags & CLOSE_RANGE_CLOEXEC)) {
        int saved = errno;
        for (unsigned fd = first; fd <= last && fd < 65536; fd++)
            if (fd != j)
                rec_forget((int)fd);
        errno = saved;
    }
    return r;
}

void closefrom(int low)
{
    if (close_range((unsigned)low, ~0u, 0) == 0)
        return;
    long max = sysconf(_SC_OPEN_MAX);
    for (long fd = low; fd < (max > 0 ? max : 1024); fd++)
        close((int)fd);   /* the hook: it spares the journal */
}

int closedir(DIR *d)
{
    rec_forget(dirfd(d));
    return REAL(closedir)(d);
}

DIR *opendir(const char *path)
{
    DIR *d = REAL(opendir)(path);
    if (d)
        rec_forget(dirfd(d));   /* bound when it is used */
    return d;
}

/* ---- descriptors that are never files under the root -------------------------------- */
int socket(int domain, int type, int proto)
{
    return rec_outside(REAL(socket)(domain, type, proto));
}
int socketpair(int domain, int type, int proto, int sv[2])
{
    int r = REAL(socketpair)(domain, type, proto, sv);
    if (r == 0)
        rec_outside(sv[0]), rec_outside(sv[1]);
    return r;
}
int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
    return rec_outside(REAL(accept)(fd, addr, len));
}
int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    return rec_outside(REAL(accept4)(fd, addr, len, flags));
}
int pipe(int p[2])
{
    int r = REAL(pipe)(p);
    if (r == 0)
        rec_outside(p[0]), rec_outside(p[1]);
    return r;
}
int pipe2(int p[2], int flags)
{
    int r = REAL(pipe2)(p, flags);
    if (r == 0)
        rec_outside(p[0]), rec_outside(p[1]);
    return r;
}
int eventfd(unsigned init, int flags)
{
    return rec_outside(REAL(eventfd)(init, flags));
}
int timerfd_create(int clock, int flags)
{
    return rec_outside(REAL(timerfd_create)(clock, flags));
}
int epoll_create(int size)
{
    return rec_outside(REAL(epoll_create)(size));
}
int epoll_create1(int flags)
{
    return rec_outside(REAL(epoll_create1)(flags));
}
int inotify_init(void)
{
    return rec_outside(REAL(inotify_init)());
}
int inotify_init1(int flags)
{
    return rec_outside(REAL(inotify_init1)(flags));
}
int memfd_create(const char *name, unsigned flags)
{
    return rec_outside(REAL(memfd_create)(name, flags));
}
int signalfd(int fd, const sigset_t *mask, int flags)
{
    return rec_outside(REAL(signalfd)(fd, mask, flags));
}
/* A descriptor received over a socket: its entry is looked up at first use. */
ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    ssize_t r = REAL(recvmsg)(fd, msg, flags);
    if (r >= 0 && rec_armed && msg && msg->msg_controllen)
        for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
                size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t k = 0; k < n; k++) {
                    int got;
                    memcpy(&got, CMSG_DATA(c) + k * sizeof(int), sizeof got);
                    rec_forget(got);
                }
            }
    return r;
}
int open_by_handle_at(int mount_fd, struct file_handle *h, int flags)
{
    int fd = REAL(open_by_handle_at)(mount_fd, h, flags);
    rec_forget(fd);
    return fd;
}
FILE *tmpfile(void)
{
    FILE *f = REAL(tmpfile)();
    if (f)
        rec_forget(fileno(f));
    return f;
}
FILE *tmpfile64(void)
{
    return tmpfile();
}

/* ---- mkstemp: a file created under a name the call chose ------------------------------- */
#define MKSTEMP(name, call, flags)                                                      \
    {                                                                                   \
        int fd = call;                                                                  \
        return rec_after_open(AT_FDCWD, tmpl, O_RDWR | O_CREAT | O_EXCL | (flags), fd); \
    }
int mkstemp(char *tmpl) MKSTEMP(mkstemp, REAL(mkstemp)(tmpl), 0)
int mkstemp64(char *tmpl) MKSTEMP(mkstemp, REAL(mkstemp)(tmpl), 0)
int mkostemp(char *tmpl, int fl) MKSTEMP(mkostemp, REAL(mkostemp)(tmpl, fl), fl)
int mkostemp64(char *tmpl, int fl) MKSTEMP(mkostemp, REAL(mkostemp)(tmpl, fl), fl)
int mkstemps(char *tmpl, int sl) MKSTEMP(mkstemps, REAL(mkstemps)(tmpl, sl), 0)
int mkstemps64(char *tmpl, int sl) MKSTEMP(mkstemps, REAL(mkstemps)(tmpl, sl), 0)
int mkostemps(char *tmpl, int sl, int fl) MKSTEMP(mkostemps, REAL(mkostemps)(tmpl, sl, fl), fl)
int mkostemps64(char *tmpl, int sl, int fl) MKSTEMP(mkostemps, REAL(mkostemps)(tmpl, sl, fl), fl)

char *mkdtemp(char *tmpl)
{
    char *r = REAL(mkdtemp)(tmpl);
    char rel[PATH_MAX];
    struct stat st;
    if (r && rec_armed) {
        int saved = errno;
        if (rec_rel(AT_FDCWD, r, rel, sizeof rel))
            rec_emit_path(RECORDER_MKDIR, 0, lstat(r, &st) == 0 ? (uint64_t)st.st_mode : 0, rel, NULL);
        errno = saved;
    }
    return r;
}

/* ---- data the process never holds ------------------------------------------------------ */
/* Records the n bytes now at off in the file open on fd. */
static void rec_readback(int fd, uint64_t raw, off_t off, size_t n, const char *call)
{
    char *data = malloc(n ? n : 1);
    size_t got = 0;
    int rfd = fd, opened = 0;
    while (data && got < n) {
        ssize_t r = REAL(pread)(rfd, data + got, n - got, off + (off_t)got);
        if (r < 0 && errno == EBADF && !opened) {   /* write-only */
            char link[64];
            snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
            rfd = REAL(open)(link, O_RDONLY | O_CLOEXEC);
            opened = 1;
            if (rfd < 0)
                break;
            continue;
        }
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (opened && rfd >= 0)
        REAL(close)(rfd);
    if (data && got == n)
        rec_record_write(raw, (uint64_t)off, data, n);
    else
        rec_flag("%s of %zu bytes to fd %d could not be read back: its data is not in the journal", call, n,
                 fd);
    free(data);
}

/* A kernel-to-kernel copy into out: out_off NULL means out's file offset
 * (shared: under the writers' lock).  run performs the call. */
#define REC_COPY_INTO(out, out_off, call, expr)                                   \
    uint64_t h = rec_handle_raw(out);                                             \
    if (!h)                                                                       \
        return expr;                                                              \
    int shared = (out_off) == NULL || (h & REC_MARK_APPEND);                      \
    off_t at0 = (out_off) ? (off_t) * (out_off) : 0;                              \
    if (shared)                                                                   \
        rec_lock();                                                               \
    ssize_t r = expr;                                                             \
    if (r > 0) {                                                                  \
        int saved = errno;                                                        \
        off_t at = shared ? rec_landed(out, (h & REC_MARK_APPEND) != 0, r) : at0; \
        if (at >= 0)                                                              \
            rec_readback(out, h, at, (size_t)r, call);                            \
        else                                                                      \
            rec_flag("%s to fd %d: where it landed could not be told", call, out); \
        errno = saved;                                                            \
    }                                                                             \
    if (shared)                                                                   \
        rec_unlock();                                                             \
    return r;

ssize_t sendfile(int out, int in, off_t *off, size_t n)
{
    off_t *none = NULL;
    REC_COPY_INTO(out, none, "sendfile", REAL(sendfile)(out, in, off, n))
}
ssize_t sendfile64(int out, int in, off64_t *off, size_t n)
{
    return sendfile(out, in, (off_t *)off, n);
}
ssize_t splice(int in, loff_t *in_off, int out, loff_t *out_off, size_t n, unsigned flags)
{
    REC_COPY_INTO(out, out_off, "splice", REAL(splice)(in, in_off, out, out_off, n, flags))
}
ssize_t copy_file_range(int in, off64_t *in_off, int out, off64_t *out_off, size_t n, unsigned flags)
{
    REC_COPY_INTO(out, out_off, "copy_file_range", REAL(copy_file_range)(in, in_off, out, out_off, n, flags))
}

/* ---- dprintf ---------------------------------------------------------------------------- */
int vdprintf(int fd, const char *fmt, va_list ap)
{
    if (!rec_handle_raw(fd))
        return REAL(vdprintf)(fd, fmt, ap);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    if (n < 0)
        return -1;
    for (int done = 0; done < n;) {
        ssize_t w = write(fd, s + done, (size_t)(n - done));   /* the hook */
        if (w < 0) {
            int e = errno;
            free(s);
            errno = e;
            return -1;
        }
        done += (int)w;
    }
    free(s);
    return n;
}
int dprintf(int fd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vdprintf(fd, fmt, ap);
    va_end(ap);
    return n;
}

/* ---- reflinks: ioctl(FICLONE, FICLONERANGE) share blocks with another file ------------------ */
int ioctl(int fd, unsigned long req, ...);
int ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    va_start(ap, req);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    int r = ((int (*)(int, unsigned long, ...))REAL(ioctl))(fd, req, arg);
    uint64_t h;
    if (r != 0 || (req != FICLONE && req != FICLONERANGE) || !(h = rec_handle_raw(fd)))
        return r;
    int saved = errno;
    struct stat st;
    if (req == FICLONE && fstat(fd, &st) == 0) {
        rec_emit(RECORDER_TRUNCATE, 0, 0, h & ~REC_MARKS, 0, 0, NULL, 0);
        rec_readback(fd, h, 0, (size_t)st.st_size, "ioctl(FICLONE)");
    } else if (req == FICLONERANGE && fstat(fd, &st) == 0) {
        const struct file_clone_range *c = arg;
        uint64_t len = c->src_length ? c->src_length : (uint64_t)st.st_size - c->dest_offset;
        rec_readback(fd, h, (off_t)c->dest_offset, (size_t)len, "ioctl(FICLONERANGE)");
    } else {
        rec_flag("ioctl clone into fd %d: its data is not in the journal", fd);
    }
    errno = saved;
    return r;
}
