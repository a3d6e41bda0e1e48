/* preload: arming the recorder, the journal, the fd table, and the hooks
 * that open, duplicate, close and exec.
 *
 * DESIGN.  The constructor reads FSYNCLAB_REC_ROOT and
 * FSYNCLAB_REC_JOURNAL; without both the library does nothing, so a
 * program that drops them from its environment runs unrecorded (execve
 * puts them back).  The journal is opened at a high fd in every process
 * image, so an exec re-arms it and a fork shares it.  Each record is one
 * pwritev at the end the header page keeps, under its process-shared
 * lock: not O_APPEND, which on the guest's 9p share appends at a size
 * other processes left stale (docs/ground-truth.md, PostgreSQL).  The fd table maps an
 * fd to the handle its OPEN record bound; an fd inherited across exec is
 * looked up once in /proc/self/fd.  Every hook keeps errno as the real
 * call left it.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "preload/internal.h"

int rec_armed;
static int rec_jfd = -1;
static char rec_root[PATH_MAX];
static size_t rec_rootlen;
static uint32_t rec_pid;
static uint64_t rec_counter;
static uint64_t rec_sync_counter;
static dev_t rec_root_dev;
static pthread_mutex_t *rec_jlock;   /* in the journal's header page, shared by every process */
static struct recorder_jhead *rec_jhead;   /* that page: the fault counters, the end */
static int rec_at_end;   /* records go by pwritev at rec_jhead->end (DESIGN) */

#define REC_FDS 65536
static uint64_t rec_fdtab[REC_FDS];
/* The file each bound fd was open on, to tell a stale entry (an fd closed
 * by a call the recorder did not see and reused) at a sync. */
static struct { uint64_t dev, ino; } rec_fdid[REC_FDS];

void *rec_real(const char *name)
{
    return dlsym(RTLD_NEXT, name);
}

static void *rec_real_open, *rec_real_openat, *rec_real_close, *rec_real_dup, *rec_real_dup2,
    *rec_real_pwritev,
    *rec_real_dup3, *rec_real_fcntl, *rec_real_execve, *rec_real_syscall, *rec_real_writev,
    *rec_real_readlink, *rec_real_getcwd, *rec_real_write;

/* ---- the journal ------------------------------------------------------------- */
void rec_lock(void)
{
    if (rec_jlock && pthread_mutex_lock(rec_jlock) == EOWNERDEAD) {
        pthread_mutex_consistent(rec_jlock);   /* its holder was killed: the journal is whole */
        rec_jhead->end = 0;   /* it may have written past end: read the size afresh */
    }
}
void rec_unlock(void)
{
    if (rec_jlock)
        pthread_mutex_unlock(rec_jlock);
}

int rec_on_root_fs(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && st.st_dev == rec_root_dev;
}

/* One record at the journal's end (see DESIGN). */
static ssize_t rec_append(const struct iovec *iov, int n)
{
    if (!rec_at_end)
        return REAL(writev)(rec_jfd, iov, n);
    rec_lock();
    uint64_t end = rec_jhead->end;
    struct stat st;
    if (end == 0 && fstat(rec_jfd, &st) == 0)
        end = (uint64_t)st.st_size;
    ssize_t w = end ? REAL(pwritev)(rec_jfd, iov, n, (off_t)end) : -1;
    rec_jhead->end = w > 0 ? end + (uint64_t)w : 0;
    rec_unlock();
    return w;
}

void rec_emit(unsigned type, unsigned flags, int32_t aux, uint64_t handle, uint64_t off,
              uint64_t len, const struct iovec *payload, int npayload)
{
    if (!rec_armed)
        return;
    struct recorder_rec h = {0};
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    struct iovec iov[8];
    int n = 0;
    size_t size = RECORDER_HEADER;
    iov[n++] = (struct iovec){&h, RECORDER_HEADER};
    for (int i = 0; i < npayload && n < 8; i++) {
        iov[n++] = payload[i];
        size += payload[i].iov_len;
    }
    h.size = (uint32_t)size;
    h.type = (uint16_t)type;
    h.flags = (uint16_t)flags;
    h.pid = rec_pid;
    h.aux = aux;
    h.ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    h.handle = handle & ~REC_MARKS;
    h.off = off;
    h.len = len;
    rec_site_fill(&h);
    int saved = errno;
    /* Payloads are memory the real call just read (mapped pages are
     * copied safely first), so a short append means a full disk or a
     * closed journal: say so once; the reader counts the torn bytes. */
    ssize_t w = rec_append(iov, n);
    static int warned;
    if (w != (ssize_t)size && !__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED)) {
        char msg[160];
        int len = snprintf(msg, sizeof msg, "fsynclab recorder: pid %u: journal append short (%zd of %zu "
                           "bytes): the journal is incomplete\n", rec_pid, w, size);
        if (len > 0)
            (void)!REAL(write)(2, msg, (size_t)len < sizeof msg ? (size_t)len : sizeof msg - 1);
    }
    errno = saved;
}

void rec_emit_path(unsigned type, int32_t aux, uint64_t off, const char *a, const char *b)
{
    struct iovec p[2] = {{(void *)a, strlen(a) + 1}, {(void *)(b ? b : ""), b ? strlen(b) + 1 : 0}};
    rec_emit(type, 0, aux, 0, off, 0, p, b ? 2 : 1);
}

void rec_flag(const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    rec_emit_path(RECORDER_FLAG, 0, 0, text, NULL);
}

uint64_t rec_sync_id(void)
{
    return __atomic_add_fetch(&rec_sync_counter, 1, __ATOMIC_RELAXED);
}

/* ---- paths ----------------------------------------------------------------- */
/* Lexical: "." and ".." and repeated slashes go; symbolic links are not
 * followed (docs/real-programs.md says so). */
static void rec_normalize(char *p)
{
    char *out = p, *in = p;
    while (*in) {
        while (*in == '/')
            in++;
        char *seg = in;
        while (*in && *in != '/')
            in++;
        size_t len = (size_t)(in - seg);
        if (len == 0 || (len == 1 && seg[0] == '.'))
            continue;
        if (len == 2 && seg[0] == '.' && seg[1] == '.') {
            while (out > p && *--out != '/')
                ;
            continue;
        }
        *out++ = '/';
        memmove(out, seg, len);
        out += len;
    }
    if (out == p)
        *out++ = '/';
    *out = '\0';
}

const char *rec_rel(int dirfd, const char *path, char *rel, size_t rellen)
{
    char abs[PATH_MAX * 2];
    if (!rec_armed || !path)
        return NULL;
    if (path[0] == '/') {
        if (strlen(path) >= sizeof abs)
            return NULL;
        strcpy(abs, path);
    } else {
        size_t base;
        if (dirfd == AT_FDCWD) {
            if (!REAL(getcwd)(abs, PATH_MAX))
                return NULL;
            base = strlen(abs);
        } else {
            char link[64];
            snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
            ssize_t r = REAL(readlink)(link, abs, PATH_MAX - 1);
            if (r <= 0)
                return NULL;
            base = (size_t)r;
        }
        if (base + 1 + strlen(path) >= sizeof abs)
            return NULL;
        abs[base] = '/';
        strcpy(abs + base + 1, path);
    }
    rec_normalize(abs);
    if (strncmp(abs, rec_root, rec_rootlen) != 0)
        return NULL;
    const char *tail = abs + rec_rootlen;
    if (*tail != '\0' && *tail != '/')
        return NULL;
    while (*tail == '/')
        tail++;
    if (strlen(tail) >= rellen)
        return NULL;
    strcpy(rel, tail);
    return rel;
}

/* ---- the fd table ---------------------------------------------------------- */
void rec_set_handle(int fd, uint64_t h)
{
    if (fd >= 0 && fd < REC_FDS)
        __atomic_store_n(&rec_fdtab[fd], h, __ATOMIC_RELAXED);
}

void rec_mark(int fd, uint64_t mark)
{
    if (fd >= 0 && fd < REC_FDS && rec_fdtab[fd] > REC_OUTSIDE)
        __atomic_fetch_or(&rec_fdtab[fd], mark, __ATOMIC_RELAXED);
}

static uint64_t rec_new_handle(void)
{
    return ((uint64_t)rec_pid << 32) | __atomic_add_fetch(&rec_counter, 1, __ATOMIC_RELAXED);
}

/* An OPEN record binding a new handle to fd, open on rel (under the root). */
static void rec_bind(int fd, const char *rel, int flags)
{
    uint64_t h = rec_new_handle();
    if (flags & (O_SYNC | O_DSYNC))
        h |= REC_MARK_SYNCW;
    if (flags & O_APPEND)
        h |= REC_MARK_APPEND;
    if (flags & O_DIRECT)
        rec_flag("O_DIRECT open of %s: its writes are durable only after a flush", rel);
    if ((flags & __O_TMPFILE) == __O_TMPFILE) {   /* bound to nothing: its sync is not its directory's */
        rec_flag("O_TMPFILE in %s%s: an unnamed file is not followed", *rel ? "" : "the root directory",
                 rel);
        rec_set_handle(fd, REC_OUTSIDE);
        return;
    }
    struct stat st;
    int known = fstat(fd, &st) == 0;
    if (known && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {   /* a FIFO, socket, device */
        rec_set_handle(fd, REC_OUTSIDE);
        return;
    }
    struct iovec p = {(void *)rel, strlen(rel) + 1};
    rec_emit(RECORDER_OPEN, 0, flags, h, known ? (uint64_t)st.st_mode : 0, 0, &p, 1);
    if (fd < REC_FDS) {
        rec_fdid[fd].dev = known ? (uint64_t)st.st_dev : 0;
        rec_fdid[fd].ino = known ? (uint64_t)st.st_ino : 0;
        rec_set_handle(fd, h);
    } else
        rec_flag("fd %d above the fd table: its calls are not recorded", fd);
}

void rec_opened(int fd, const char *abs, int flags)
{
    char rel[PATH_MAX];
    if (fd < 0 || !rec_armed)
        return;
    if (!rec_rel(AT_FDCWD, abs, rel, sizeof rel))
        rec_set_handle(fd, REC_OUTSIDE);
    else
        rec_bind(fd, rel, flags);
}

uint64_t rec_handle_raw(int fd)
{
    if (!rec_armed || fd < 0 || fd >= REC_FDS || fd == rec_jfd)
        return 0;
    uint64_t h = __atomic_load_n(&rec_fdtab[fd], __ATOMIC_RELAXED);
    if (h == 0) {
        /* Inherited across exec, or opened by a call the recorder missed. */
        char link[64], abs[PATH_MAX];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t r = REAL(readlink)(link, abs, sizeof abs - 1);
        if (r <= 0 || abs[0] != '/') {
            rec_set_handle(fd, REC_OUTSIDE);
            return 0;
        }
        abs[r] = '\0';
        int fl = fcntl(fd, F_GETFL);
        rec_opened(fd, abs, fl < 0 ? 0 : fl & ~(O_CREAT | O_TRUNC | O_EXCL));
        if (fd == 1 || fd == 2)   /* printf into a file under the root: glibc writes past the hook */
            rec_mark(fd, REC_MARK_STDIO);
        h = __atomic_load_n(&rec_fdtab[fd], __ATOMIC_RELAXED);
    }
    return h == REC_OUTSIDE ? 0 : h;
}

uint64_t rec_handle(int fd)
{
    return rec_handle_raw(fd) & ~REC_MARKS;
}

/* At a sync: the entry if fd is still open on the file it was bound to;
 * else it is stale (closed by a call not seen, and reused) and is bound
 * afresh from /proc. */
uint64_t rec_handle_checked(int fd, struct stat *st)
{
    uint64_t h = rec_handle_raw(fd);
    if (!h || fd >= REC_FDS || fstat(fd, st) != 0)
        return h;
    if (rec_fdid[fd].ino && (rec_fdid[fd].dev != (uint64_t)st->st_dev || rec_fdid[fd].ino != (uint64_t)st->st_ino)) {
        rec_set_handle(fd, 0);
        h = rec_handle_raw(fd);
    }
    return h;
}

/* ---- arming ----------------------------------------------------------------- */
static int rec_lib_seen(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    (void)arg;
    if (info->dlpi_name && (strstr(info->dlpi_name, "liburing") || strstr(info->dlpi_name, "libaio")))
        rec_flag("%s is loaded: its asynchronous I/O escapes the recorder", info->dlpi_name);
    return 0;
}

static void rec_atfork_child(void)
{
    uint32_t parent = rec_pid;
    rec_pid = (uint32_t)getpid();
    rec_emit(RECORDER_FORK, 0, (int32_t)parent, 0, 0, 0, NULL, 0);
}

static void rec_say(const char *what, const char *path)
{
    char msg[PATH_MAX + 160];
    int len = snprintf(msg, sizeof msg, "fsynclab recorder: %s %s: %s; this process is not recorded\n", what,
                       path, strerror(errno));
    if (len > 0)
        (void)!REAL(write)(2, msg, (size_t)len < sizeof msg ? (size_t)len : sizeof msg - 1);
}

/* The journal's header: written by the first process when the file is
 * empty; its lock initialized once (under flock, so racing starts agree). */
static int rec_journal_arm(int fd, const char *journal)
{
    struct stat st;
    struct recorder_jhead h;
    if (flock(fd, LOCK_EX) != 0 || fstat(fd, &st) != 0) {
        rec_say("flock/fstat of the journal", journal);
        return -1;
    }
    if (st.st_size == 0) {
        memset(&h, 0, sizeof h);
        memcpy(h.magic, RECORDER_MAGIC, 8);
        h.version = RECORDER_VERSION;
        h.header_size = RECORDER_JHEAD_SIZE;
        if (REAL(write)(fd, &h, sizeof h) != (ssize_t)sizeof h) {
            rec_say("writing the header of", journal);
            flock(fd, LOCK_UN);
            return -1;
        }
    } else if (pread(fd, &h, 16, 0) != 16 || memcmp(h.magic, RECORDER_MAGIC, 8) != 0 ||
               h.version != RECORDER_VERSION) {
        errno = EINVAL;
        rec_say("not a journal (no header):", journal);
        flock(fd, LOCK_UN);
        return -1;
    }
    struct recorder_jhead *m = mmap(NULL, RECORDER_JHEAD_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m != MAP_FAILED) {
        if (!m->lock_ready) {
            pthread_mutexattr_t a;
            pthread_mutexattr_init(&a);
            pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
            pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
            /* recursive: a signal handler that writes while its thread holds it */
            pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
            pthread_mutex_init((pthread_mutex_t *)(void *)m->lock, &a);
            pthread_mutexattr_destroy(&a);
            m->lock_ready = 1;
        }
        rec_jlock = (pthread_mutex_t *)(void *)m->lock;
        rec_jhead = m;
    }
    flock(fd, LOCK_UN);
    return 0;
}

__attribute__((constructor)) static void rec_init(void)
{
    const char *root = getenv(RECORDER_ENV_ROOT), *journal = getenv(RECORDER_ENV_JOURNAL);
    if (!root || !journal)
        return;
    struct stat rst;
    if (!realpath(root, rec_root) || stat(rec_root, &rst) != 0) {
        rec_say("root", root);
        return;
    }
    rec_root_dev = rst.st_dev;
    rec_rootlen = strlen(rec_root);
    if (rec_rootlen == 1)   /* the root directory "/": every path is under it */
        rec_rootlen = 0;
    int fd = REAL(open)(journal, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        rec_say("open of the journal", journal);
        return;
    }
    if (rec_journal_arm(fd, journal) != 0) {
        REAL(close)(fd);
        return;
    }
    /* With the header's end and lock, records go by pwritev (DESIGN),
     * which O_APPEND would send to the size the kernel believes instead. */
    if (rec_jhead) {   /* else (or if fcntl fails) each record is a writev on O_APPEND */
        int fl = REAL(fcntl)(fd, F_GETFL);
        rec_at_end = fl >= 0 && REAL(fcntl)(fd, F_SETFL, fl & ~O_APPEND) == 0;
    }
    int high = REAL(fcntl)(fd, F_DUPFD_CLOEXEC, 900);
    if (high >= 0) {
        REAL(close)(fd);
        fd = high;
    }
    rec_jfd = fd;
    rec_pid = (uint32_t)getpid();
    rec_armed = 1;
    pthread_atfork(NULL, NULL, rec_atfork_child);
    rec_emit(RECORDER_START, 0, (int32_t)getppid(), 0, 0, 0, NULL, 0);
    if (!rec_jlock)
        rec_flag("the journal's lock could not be mapped: appends through a shared offset may be "
                 "recorded at the wrong place");
    dl_iterate_phdr(rec_lib_seen, NULL);
    rec_fault_init(rec_jhead);
}

int rec_journal_fd(void)
{
    return rec_jfd;
}

/* ---- the open family --------------------------------------------------------- */
int rec_after_open(int dirfd, const char *path, int flags, int fd)
{
    if (fd < 0 || !rec_armed)
        return fd;
    int saved = errno;
    char rel[PATH_MAX];
    if (!rec_rel(dirfd, path, rel, sizeof rel))
        rec_set_handle(fd, REC_OUTSIDE);
    else
        rec_bind(fd, rel, flags);
    errno = saved;
    return fd;
}

#define OPEN_MODE(flags, mode)                                      \
    mode_t mode = 0;                                                \
    if ((flags) & (O_CREAT | __O_TMPFILE)) {                        \
        va_list ap;                                                 \
        va_start(ap, flags);                                        \
        mode = (mode_t)va_arg(ap, int);                             \
        va_end(ap);                                                 \
    }

int open(const char *path, int flags, ...)
{
    OPEN_MODE(flags, mode);
    return rec_after_open(AT_FDCWD, path, flags, REAL(open)(path, flags, mode));
}
int open64(const char *path, int flags, ...)
{
    OPEN_MODE(flags, mode);
    return rec_after_open(AT_FDCWD, path, flags, REAL(open)(path, flags, mode));
}
int openat(int dirfd, const char *path, int flags, ...)
{
    OPEN_MODE(flags, mode);
    return rec_after_open(dirfd, path, flags, REAL(openat)(dirfd, path, flags, mode));
}
int openat64(int dirfd, const char *path, int flags, ...)
{
    OPEN_MODE(flags, mode);
    return rec_after_open(dirfd, path, flags, REAL(openat)(dirfd, path, flags, mode));
}
int __open_2(const char *path, int flags);
int __open_2(const char *path, int flags)
{
    return rec_after_open(AT_FDCWD, path, flags, REAL(open)(path, flags, 0));
}
int __open64_2(const char *path, int flags);
int __open64_2(const char *path, int flags)
{
    return rec_after_open(AT_FDCWD, path, flags, REAL(open)(path, flags, 0));
}
int __openat_2(int dirfd, const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags)
{
    return rec_after_open(dirfd, path, flags, REAL(openat)(dirfd, path, flags, 0));
}
int __openat64_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags)
{
    return rec_after_open(dirfd, path, flags, REAL(openat)(dirfd, path, flags, 0));
}
int creat(const char *path, mode_t mode)
{
    int flags = O_WRONLY | O_CREAT | O_TRUNC;
    return rec_after_open(AT_FDCWD, path, flags, REAL(open)(path, flags, mode));
}
int creat64(const char *path, mode_t mode)
{
    return creat(path, mode);
}

/* ---- descriptors ------------------------------------------------------------ */
int close(int fd)
{
    if (rec_armed && fd == rec_jfd)
        return 0;   /* the program closing every fd must not close the journal */
    if (rec_armed && fd >= 0 && fd < REC_FDS) {
        uint64_t h = __atomic_load_n(&rec_fdtab[fd], __ATOMIC_RELAXED);
        if (h > REC_OUTSIDE && (h & REC_MARK_STDIO))
            rec_stdio_capture(fd, h);
        if (h)
            rec_set_handle(fd, 0);
    }
    return REAL(close)(fd);
}

static int rec_dup_to(int from, int to)
{
    if (to >= 0 && rec_armed) {
        uint64_t h = from >= 0 && from < REC_FDS ? __atomic_load_n(&rec_fdtab[from], __ATOMIC_RELAXED) : 0;
        if ((to == 1 || to == 2) && h > REC_OUTSIDE)   /* stdout into the root: printf writes past the hook */
            h |= REC_MARK_STDIO;
        if (from >= 0 && from < REC_FDS && to < REC_FDS)
            rec_fdid[to] = rec_fdid[from];
        rec_set_handle(to, h);
    }
    return to;
}

/* dup2 onto the journal's fd: move the journal out of the way first. */
static void rec_protect(int target)
{
    if (rec_armed && target == rec_jfd) {
        int moved = REAL(fcntl)(rec_jfd, F_DUPFD_CLOEXEC, rec_jfd + 1);
        if (moved >= 0)
            rec_jfd = moved;
    }
}

int dup(int fd)
{
    return rec_dup_to(fd, REAL(dup)(fd));
}
int dup2(int fd, int to)
{
    rec_protect(to);
    return rec_dup_to(fd, REAL(dup2)(fd, to));
}
int dup3(int fd, int to, int flags)
{
    rec_protect(to);
    return rec_dup_to(fd, REAL(dup3)(fd, to, flags));
}

static int rec_fcntl(int fd, int cmd, va_list ap)
{
    long arg = va_arg(ap, long);
    int r = REAL(fcntl)(fd, cmd, arg);
    if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
        rec_dup_to(fd, r);
    if (cmd == F_SETFL && r == 0 && rec_armed && fd >= 0 && fd < REC_FDS &&
        __atomic_load_n(&rec_fdtab[fd], __ATOMIC_RELAXED) > REC_OUTSIDE) {
        if (arg & O_APPEND)
            __atomic_fetch_or(&rec_fdtab[fd], REC_MARK_APPEND, __ATOMIC_RELAXED);
        else
            __atomic_fetch_and(&rec_fdtab[fd], ~REC_MARK_APPEND, __ATOMIC_RELAXED);
    }
    return r;
}
int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    int r = rec_fcntl(fd, cmd, ap);
    va_end(ap);
    return r;
}
int fcntl64(int fd, int cmd, ...);
int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    int r = rec_fcntl(fd, cmd, ap);
    va_end(ap);
    return r;
}

/* ---- exec ---------------------------------------------------------------------- */
static int rec_env_has(char *const envp[], const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; envp && envp[i]; i++)
        if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=')
            return 1;
    return 0;
}

int execve(const char *path, char *const argv[], char *const envp[])
{
    if (!rec_armed)
        return REAL(execve)(path, argv, envp);
    rec_check_static(path);
    rec_maps_capture_all();   /* the mappings go; their stores stay in the page cache */
    static const char *const keep[] = {"LD_PRELOAD", RECORDER_ENV_ROOT, RECORDER_ENV_JOURNAL, RECORDER_ENV_FAULTS};
    size_t n = 0;
    while (envp && envp[n])
        n++;
    char **env = malloc((n + 5) * sizeof *env);
    if (!env)
        return REAL(execve)(path, argv, envp);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        env[m++] = envp[i];
    /* Put back what a program dropped from its children's environment. */
    for (size_t k = 0; k < sizeof keep / sizeof keep[0]; k++) {
        const char *v = getenv(keep[k]);
        if (v && !rec_env_has(envp, keep[k])) {
            size_t len = strlen(keep[k]) + strlen(v) + 2;
            char *s = malloc(len);
            if (s) {
                snprintf(s, len, "%s=%s", keep[k], v);
                env[m++] = s;
            }
        }
    }
    env[m] = NULL;
    int r = REAL(execve)(path, argv, env);
    int saved = errno;
    for (size_t i = n; i < m; i++)
        free(env[i]);
    free(env);
    errno = saved;
    return r;
}

/* Raw syscall(): watched, not recorded. */
long syscall(long nr, ...)
{
    va_list ap;
    va_start(ap, nr);
    long a[6];
    for (int i = 0; i < 6; i++)
        a[i] = va_arg(ap, long);
    va_end(ap);
    if (rec_armed) {
        static const long watched[] = {
            SYS_write, SYS_pwrite64, SYS_writev, SYS_pwritev, SYS_pwritev2, SYS_open, SYS_openat,
            SYS_openat2, SYS_creat, SYS_rename, SYS_renameat, SYS_renameat2, SYS_unlink,
            SYS_unlinkat, SYS_fsync, SYS_fdatasync, SYS_sync, SYS_syncfs, SYS_msync,
            SYS_ftruncate, SYS_truncate, SYS_fallocate, SYS_mkdir, SYS_mkdirat, SYS_rmdir,
            SYS_link, SYS_linkat, SYS_symlink, SYS_symlinkat, SYS_io_uring_setup, SYS_io_setup,
            SYS_copy_file_range, SYS_sendfile, SYS_splice, SYS_close, SYS_close_range, SYS_dup2,
            SYS_dup3, SYS_mmap, SYS_munmap};
        for (size_t i = 0; i < sizeof watched / sizeof watched[0]; i++)
            if (nr == watched[i]) {
                int saved = errno;
                rec_flag("raw syscall(%ld): not recorded", nr);
                errno = saved;
            }
    }
    return REAL(syscall)(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
