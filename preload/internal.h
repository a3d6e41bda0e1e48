/* preload/internal.h: internals shared by the two halves of libfsynclab-rec.so.
 *
 * DESIGN.  preload.c arms the recorder (environment, journal, fd table,
 * path resolution) and hooks the calls that create, name or pass file
 * descriptors; io.c hooks the calls that change data or names.
 * Not part of libfsynclab.a: the library is preloaded into other programs,
 * so nothing here may depend on fsynclab code or be built with sanitizers.
 */
#ifndef FSYNCLAB_PRELOAD_INTERNAL_H
#define FSYNCLAB_PRELOAD_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "preload/journal.h"

/* Resolves the next definition of a symbol once (thread-safe enough: the
 * pointer is written with the same value by every racer). */
void *rec_real(const char *name);
/* Every hook evaluates REAL before its real call: that notes the call site
 * (the hook's caller, site.c). */
#define REAL(fn) (rec_site_note(__builtin_return_address(0)), \
                  (__typeof__(&fn))rec_real_cached(&rec_real_##fn, #fn))
static inline void *rec_real_cached(void **slot, const char *name)
{
    void *p = __atomic_load_n(slot, __ATOMIC_RELAXED);
    if (!p) {
        p = rec_real(name);
        __atomic_store_n(slot, p, __ATOMIC_RELAXED);
    }
    return p;
}

extern int rec_armed;

/* ack.c: `ack KEY` lines the program writes to its stdout (fd 1, not a
 * file under the root), as RECORDER_ACK records; a stream's pending bytes
 * before its fflush. */
void rec_acks(const void *buf, size_t n);
struct _IO_FILE;
void rec_stdout_acks(struct _IO_FILE *fp);

/* site.c: the call site noted by REAL, copied into each record header. */
void rec_site_note(void *ret);
void rec_site_fill(struct recorder_rec *h);

/* Handles in the fd table: 0 unknown (ask /proc), REC_OUTSIDE not under
 * the root, otherwise pid << 32 | counter, with the marks below. */
#define REC_OUTSIDE 1ull
#define REC_MARK_STDIO (1ull << 63)
#define REC_MARK_SYNCW (1ull << 62)   /* O_SYNC / O_DSYNC: each write is durable */
#define REC_MARK_APPEND (1ull << 61)  /* O_APPEND: pwrite appends too (Linux) */
#define REC_MARKS (REC_MARK_STDIO | REC_MARK_SYNCW | REC_MARK_APPEND)

uint64_t rec_handle(int fd);          /* 0: not under the root; marks stripped */
struct stat;
/* rec_handle_raw, after checking (fstat into st) that fd is still open on
 * the file its entry was bound to; a stale entry is bound afresh. */
uint64_t rec_handle_checked(int fd, struct stat *st);
uint64_t rec_handle_raw(int fd);      /* with marks, 0 when not under the root */
void rec_set_handle(int fd, uint64_t h);
void rec_mark(int fd, uint64_t mark);
/* An OPEN record for fd, now open on path (absolute); flags as open(2). */
void rec_opened(int fd, const char *abs, int flags);
/* Records fd (the result of an open of path relative to dirfd); returns fd. */
int rec_after_open(int dirfd, const char *path, int flags, int fd);
/* Relative to the root into rel (NULL when outside); dirfd as the *at calls. */
const char *rec_rel(int dirfd, const char *path, char *rel, size_t rellen);

void rec_emit(unsigned type, unsigned flags, int32_t aux, uint64_t handle, uint64_t off,
              uint64_t len, const struct iovec *payload, int npayload);
void rec_emit_path(unsigned type, int32_t aux, uint64_t off, const char *a, const char *b);
void rec_flag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* elf.c: flags an exec of a binary whose calls LD_PRELOAD cannot see
 * (static, or Go). */
void rec_check_static(const char *path);
uint64_t rec_sync_id(void);
/* The writers' lock (in the journal's header page, shared across threads
 * and processes): held around a data call whose offset is shared and its
 * record, so the record's offset and its place in the journal are the
 * kernel's. */
void rec_lock(void);
void rec_unlock(void);
int rec_journal_fd(void);
int rec_on_root_fs(int fd);
/* io.c: where a write of r bytes through fd landed (writers' lock
 * held); -1 when it cannot be told. */
off_t rec_landed(int fd, int append, ssize_t r);
void rec_record_write(uint64_t raw, uint64_t off, const void *buf, size_t n);   /* fd is on the file system that holds the root */

/* io.c: shared mappings and stdio capture before a sync of h. */
void rec_capture_for_sync(int fd, uint64_t raw_handle);
void rec_stdio_capture(int fd, uint64_t handle);
void rec_maps_capture_all(void);      /* before exec and at exit */
/* fault.c: FSYNCLAB_REC_FAULTS, decoded once a process is armed (head:
 * the journal's mapped header page, where calls are counted; NULL: none). */
void rec_fault_init(struct recorder_jhead *head);
/* 0, or the errno a sync (call: enum recorder_fault_call) of fd must fail
 * with instead of reaching the kernel; its FAULT record is made. */
int rec_fault_sync(int fd, uint64_t raw, unsigned call);
/* The same for a write through a handle under the root. */
int rec_fault_write(uint64_t raw);
/* fd.c: a descriptor that is no longer (or not) a file under the root. */
void rec_forget(int fd);

#endif
