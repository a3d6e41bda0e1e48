/* preload/map.c: stores through shared mappings of files under the root.
 *
 * DESIGN.  Mappings are tracked by the file they map (dev, ino), not by
 * descriptor: a store is in the page cache until some sync of that file,
 * through any descriptor, or msync; munmap, mremap, exec and exit capture
 * what the process stored, and a later sync covers it.  Pages are copied
 * through /proc/self/mem, which stops at a page past the end of the file
 * where a load would SIGBUS, and never past the file's size when it is
 * known; the image builder never lets a mapped write extend a file.
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

static void *rec_real_mmap, *rec_real_munmap, *rec_real_msync, *rec_real_open, *rec_real_close;
#define REC_MAPS 64
static struct {
    char *addr;
    size_t len;
    uint64_t handle, off, dev, ino;
    char path[PATH_MAX];   /* to ask the file's size when no descriptor is at hand */
} rec_maps[REC_MAPS];
static pthread_mutex_t rec_maps_lock = PTHREAD_MUTEX_INITIALIZER;
static void *rec_real_mremap;

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    void *p = REAL(mmap)(addr, len, prot, flags, fd, off);
    uint64_t h;
    struct stat st;
    if (p != MAP_FAILED && (flags & MAP_SHARED) && (prot & PROT_WRITE) && (h = rec_handle(fd)) &&
        fstat(fd, &st) == 0) {
        int saved = errno, kept = 0;
        char link[64];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        pthread_mutex_lock(&rec_maps_lock);
        for (int i = 0; i < REC_MAPS && !kept; i++)
            if (!rec_maps[i].addr) {
                rec_maps[i].addr = p, rec_maps[i].len = len;
                rec_maps[i].handle = h, rec_maps[i].off = (uint64_t)off;
                rec_maps[i].dev = (uint64_t)st.st_dev, rec_maps[i].ino = (uint64_t)st.st_ino;
                ssize_t n = readlink(link, rec_maps[i].path, sizeof rec_maps[i].path - 1);
                rec_maps[i].path[n > 0 ? n : 0] = '\0';
                kept = 1;
            }
        pthread_mutex_unlock(&rec_maps_lock);
        if (!kept)
            rec_flag("more than %d shared mappings: stores through the rest are not seen", REC_MAPS);
        errno = saved;
    }
    return p;
}
void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
    return mmap(addr, len, prot, flags, fd, (off_t)off);
}

/* The file's size now: from fd when given, else by the path checked
 * against the mapping's inode; -1 when neither tells. */
static off_t rec_map_size(int i, int fd)
{
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0)
        return st.st_size;
    if (rec_maps[i].path[0] == '/' && stat(rec_maps[i].path, &st) == 0 &&
        (uint64_t)st.st_ino == rec_maps[i].ino && (uint64_t)st.st_dev == rec_maps[i].dev)
        return st.st_size;
    return -1;
}

/* Records [lo, hi) of mapping i as a mapped write (caller holds the maps
 * lock).  Whatever cannot be read (past the end of the file) is left out;
 * the image builder also never lets a mapped write extend a file. */
static void rec_capture_range(int i, char *lo, char *hi, int fd)
{
    char *a = rec_maps[i].addr;
    off_t size = rec_map_size(i, fd);
    if (size >= 0) {
        off_t room = size - (off_t)rec_maps[i].off;
        char *end = room > 0 ? a + room : a;
        if (end < hi)
            hi = end;
    }
    /* opened each time: a descriptor kept open could be closed and reused by the program */
    int memfd = hi > lo ? REAL(open)("/proc/self/mem", O_RDONLY | O_CLOEXEC) : -1;
    const size_t chunk = 16u << 20;
    char *buf = hi > lo ? malloc(hi - lo < (ptrdiff_t)chunk ? (size_t)(hi - lo) : chunk) : NULL;
    if (hi > lo && (!buf || memfd < 0)) {
        rec_flag("a shared mapping of %zu bytes could not be copied (%s)", (size_t)(hi - lo),
                 buf ? "/proc/self/mem" : "out of memory");
        free(buf);
        if (memfd >= 0)
            REAL(close)(memfd);
        return;
    }
    /* Read and record under the writers' lock: another process's copy of
     * the same page, read before a store here, must not land after it. */
    rec_lock();
    while (lo < hi) {
        size_t want = hi - lo < (ptrdiff_t)chunk ? (size_t)(hi - lo) : chunk;
        ssize_t got = pread(memfd, buf, want, (off_t)(uintptr_t)lo);
        if (got <= 0)
            break;   /* past the end of the file */
        struct iovec p = {buf, (size_t)got};
        rec_emit(RECORDER_WRITE, RECORDER_F_MAPPED, 0, rec_maps[i].handle,
                 rec_maps[i].off + (uint64_t)(lo - a), (uint64_t)got, &p, 1);
        lo += got;
        if ((size_t)got < want)
            break;
    }
    rec_unlock();
    free(buf);
    if (memfd >= 0)
        REAL(close)(memfd);
}

/* Every mapping of file (dev, ino) (dev 0 ino 0: all of them), whole. */
static void rec_capture_file(uint64_t dev, uint64_t ino, int fd)
{
    pthread_mutex_lock(&rec_maps_lock);
    for (int i = 0; i < REC_MAPS; i++)
        if (rec_maps[i].addr && ((!dev && !ino) || (rec_maps[i].dev == dev && rec_maps[i].ino == ino)))
            rec_capture_range(i, rec_maps[i].addr, rec_maps[i].addr + rec_maps[i].len, fd);
    pthread_mutex_unlock(&rec_maps_lock);
}

void rec_maps_capture_all(void)
{
    if (rec_armed)
        rec_capture_file(0, 0, -1);
}

/* A fork while another thread holds the table's lock must not leave the
 * child a lock nobody will release. */
static void rec_maps_prefork(void)
{
    pthread_mutex_lock(&rec_maps_lock);
}
static void rec_maps_postfork(void)
{
    pthread_mutex_unlock(&rec_maps_lock);
}
__attribute__((constructor)) static void rec_maps_init(void)
{
    pthread_atfork(rec_maps_prefork, rec_maps_postfork, rec_maps_postfork);
}

__attribute__((destructor)) static void rec_maps_at_exit(void)
{
    rec_maps_capture_all();
}

int munmap(void *addr, size_t len)
{
    char *lo = addr, *hi = (char *)addr + len;
    pthread_mutex_lock(&rec_maps_lock);
    for (int i = 0; rec_armed && i < REC_MAPS; i++) {
        char *a = rec_maps[i].addr, *e = a + rec_maps[i].len;
        if (!a || e <= lo || a >= hi)
            continue;
        char *clo = a > lo ? a : lo, *chi = e < hi ? e : hi;
        rec_capture_range(i, clo, chi, -1);
        if (clo == a && chi == e) {
            rec_maps[i].addr = NULL;
        } else if (clo == a) {   /* the head goes */
            rec_maps[i].off += (uint64_t)(chi - a);
            rec_maps[i].addr = chi;
            rec_maps[i].len = (size_t)(e - chi);
        } else if (chi == e) {   /* the tail goes */
            rec_maps[i].len = (size_t)(clo - a);
        } else {                 /* a hole: the head stays here, the tail takes a free slot */
            int k = 0;
            while (k < REC_MAPS && rec_maps[k].addr)
                k++;
            if (k < REC_MAPS) {
                rec_maps[k] = rec_maps[i];
                rec_maps[k].addr = chi;
                rec_maps[k].len = (size_t)(e - chi);
                rec_maps[k].off += (uint64_t)(chi - a);
            } else {
                rec_flag("more than %d shared mappings: stores through the rest are not seen", REC_MAPS);
            }
            rec_maps[i].len = (size_t)(clo - a);
        }
    }
    pthread_mutex_unlock(&rec_maps_lock);
    return REAL(munmap)(addr, len);
}

void *mremap(void *old, size_t oldlen, size_t newlen, int flags, ...);
void *mremap(void *old, size_t oldlen, size_t newlen, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    void *to = (flags & MREMAP_FIXED) ? va_arg(ap, void *) : NULL;
    va_end(ap);
    int tracked = 0;
    pthread_mutex_lock(&rec_maps_lock);
    for (int i = 0; rec_armed && i < REC_MAPS; i++)
        if (rec_maps[i].addr == old) {
            rec_capture_range(i, rec_maps[i].addr, rec_maps[i].addr + rec_maps[i].len, -1);
            tracked = 1;
        }
    pthread_mutex_unlock(&rec_maps_lock);
    void *p = ((void *(*)(void *, size_t, size_t, int, ...))REAL(mremap))(old, oldlen, newlen, flags, to);
    if (tracked && p != MAP_FAILED) {
        int saved = errno;
        pthread_mutex_lock(&rec_maps_lock);
        for (int i = 0; i < REC_MAPS; i++)
            if (rec_maps[i].addr == old)
                rec_maps[i].addr = p, rec_maps[i].len = newlen;
        pthread_mutex_unlock(&rec_maps_lock);
        errno = saved;
    }
    return p;
}

int msync(void *addr, size_t len, int flags)
{
    uint64_t handle = 0;
    char *lo = addr, *hi = (char *)addr + len;
    pthread_mutex_lock(&rec_maps_lock);
    for (int i = 0; rec_armed && i < REC_MAPS; i++) {
        char *a = rec_maps[i].addr, *e = a + rec_maps[i].len;
        if (!a || e <= lo || a >= hi)
            continue;
        rec_capture_range(i, a > lo ? a : lo, e < hi ? e : hi, -1);
        handle = rec_maps[i].handle;
    }
    pthread_mutex_unlock(&rec_maps_lock);
    if (!handle)
        return REAL(msync)(addr, len, flags);
    uint64_t id = rec_sync_id();
    int durable = (flags & MS_SYNC) != 0;
    if (durable)
        rec_emit(RECORDER_SYNC_BEGIN, 0, RECORDER_SYNC_MSYNC, handle, id, 0, NULL, 0);
    int r = REAL(msync)(addr, len, flags);
    if (durable)
        rec_emit(RECORDER_SYNC_END, 0, r == 0 ? 0 : errno, handle, id, 0, NULL, 0);
    return r;
}

void rec_capture_for_sync(int fd, uint64_t raw)
{
    if (raw & REC_MARK_STDIO)
        rec_stdio_capture(fd, raw);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0)
        rec_capture_file((uint64_t)st.st_dev, (uint64_t)st.st_ino, fd);
}

