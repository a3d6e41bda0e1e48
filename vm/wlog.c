/* DESIGN: read a dm-log-writes log (as QEMU's blklogwrites writes it) and
 * replay it onto a disk image.
 *
 * The header's entry count is rewritten only when the guest flushes, so
 * after a SIGKILL it lags: the parser ignores it and scans entries until
 * one is invalid (unknown flags, a write outside the disk, a flush carrying
 * data) or empty (all zero: the file was extended by a later entry, or the
 * scan reached zeros), or the file ends.  QEMU writes an entry's data to
 * the disk before the entry to the log, so an entry cut short by the kill
 * describes a write the log cannot give back: it is dropped.
 */
#include "vm/internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int read_at(int fd, void *buf, size_t len, uint64_t off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t r = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -ENODATA;
        done += (size_t)r;
    }
    return 0;
}

static int push(struct vm_log *log, size_t *cap, const struct vm_log_entry *e)
{
    if (log->n == *cap) {
        size_t c = *cap ? *cap * 2 : 1024;
        struct vm_log_entry *p = realloc(log->entries, c * sizeof *p);
        if (!p)
            return -ENOMEM;
        log->entries = p;
        *cap = c;
    }
    log->entries[log->n++] = *e;
    return 0;
}

static int index_flushes(struct vm_log *log)
{
    size_t n = 0;
    for (size_t i = 0; i < log->n; i++)
        n += (log->entries[i].flags & VM_LOG_FLUSH) != 0;
    log->flushes = malloc((n ? n : 1) * sizeof *log->flushes);
    if (!log->flushes)
        return -ENOMEM;
    for (size_t i = 0; i < log->n; i++)
        if (log->entries[i].flags & VM_LOG_FLUSH)
            log->flushes[log->n_flushes++] = i;
    return 0;
}

/* Whether the entry header h describes something QEMU could have logged. */
static int entry_valid(const unsigned char *h, uint64_t disk_sectors)
{
    uint64_t sector = le64(h), nr = le64(h + 8), flags = le64(h + 16);
    if (flags & ~(uint64_t)(VM_LOG_FLUSH | VM_LOG_FUA | VM_LOG_DISCARD | VM_LOG_MARK))
        return 0;
    if (nr == 0 && flags == 0)
        return 0;                      /* empty: nothing was logged here */
    if (disk_sectors && (sector > disk_sectors || nr > disk_sectors - sector))
        return 0;
    return 1;
}

int vm_log_parse(int fd, uint64_t disk_bytes, struct vm_log *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int rc = -errno;
        snprintf(err, errlen, "fstat(write log): %s", strerror(errno));
        return rc;
    }
    unsigned char hdr[32];
    int rc = read_at(fd, hdr, sizeof hdr, 0);
    uint32_t ss = rc == 0 ? le32(hdr + 24) : 0;
    if (rc < 0 || le64(hdr) != VM_LOG_MAGIC || le64(hdr + 8) != 1 || ss < 512 || ss > 65536 ||
        (ss & (ss - 1))) {
        snprintf(err, errlen, "write log: no dm-log-writes version 1 header (%s)",
                 rc < 0 ? strerror(-rc) : "bad magic, version or sector size");
        return -EBADMSG;
    }
    out->sector_size = ss;
    out->header_entries = le64(hdr + 16);
    uint64_t size = (uint64_t)st.st_size, off = ss;
    size_t cap = 0;
    while (off + ss <= size) {
        unsigned char h[32];
        if ((rc = read_at(fd, h, sizeof h, off)) < 0) {
            snprintf(err, errlen, "pread(write log, %llu): %s", (unsigned long long)off,
                     strerror(-rc));
            vm_log_free(out);
            return rc;
        }
        if (!entry_valid(h, disk_bytes / ss))
            break;
        struct vm_log_entry e = { .sector = le64(h), .nr_sectors = le64(h + 8),
                                  .flags = le64(h + 16), .data_off = off + ss };
        uint64_t data = (e.flags & VM_LOG_DISCARD) ? 0 : e.nr_sectors * ss;
        if (data > size - e.data_off) {
            out->dropped_short = 1;    /* the kill cut it short */
            break;
        }
        e.end_off = e.data_off + data;
        if ((rc = push(out, &cap, &e)) < 0) {
            snprintf(err, errlen, "realloc: %s", strerror(-rc));
            vm_log_free(out);
            return rc;
        }
        off = e.end_off;
    }
    if (off < size && off + ss > size)
        out->dropped_short = 1;        /* half an entry header */
    if ((rc = index_flushes(out)) < 0) {
        snprintf(err, errlen, "malloc: %s", strerror(-rc));
        vm_log_free(out);
        return rc;
    }
    return 0;
}

void vm_log_free(struct vm_log *log)
{
    free(log->entries);
    free(log->flushes);
    memset(log, 0, sizeof *log);
}

static int write_all_at(int fd, const void *buf, size_t len, uint64_t off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t w = pwrite(fd, (const char *)buf + done, len - done, (off_t)(off + done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        done += (size_t)w;
    }
    return 0;
}

/* Copies (or, for a discard, zeroes) one entry's sectors onto the image. */
static int apply(const struct vm_log *log, const struct vm_log_entry *e, int log_fd, int img_fd,
                 unsigned char *buf, size_t cap, char *err, size_t errlen)
{
    uint64_t len = e->nr_sectors * log->sector_size, at = e->sector * log->sector_size;
    if (e->flags & VM_LOG_DISCARD)
        memset(buf, 0, cap);
    for (uint64_t done = 0; done < len;) {
        size_t chunk = len - done < cap ? (size_t)(len - done) : cap;
        int rc = 0;
        if (!(e->flags & VM_LOG_DISCARD) && (rc = read_at(log_fd, buf, chunk, e->data_off + done))) {
            snprintf(err, errlen, "pread(write log): %s", strerror(-rc));
            return rc;
        }
        if ((rc = write_all_at(img_fd, buf, chunk, at + done)) < 0) {
            snprintf(err, errlen, "pwrite(image): %s", strerror(-rc));
            return rc;
        }
        done += chunk;
    }
    return 0;
}

int vm_log_replay(const struct vm_log *log, int log_fd, int img_fd, size_t upto,
                  const unsigned char *skip, char *err, size_t errlen)
{
    size_t cap = 1u << 20;
    unsigned char *buf = malloc(cap);
    if (!buf) {
        snprintf(err, errlen, "malloc: %s", strerror(ENOMEM));
        return -ENOMEM;
    }
    int rc = 0;
    for (size_t i = 0; i < upto && i < log->n && rc == 0; i++) {
        const struct vm_log_entry *e = &log->entries[i];
        if ((skip && skip[i]) || e->nr_sectors == 0)
            continue;
        rc = apply(log, e, log_fd, img_fd, buf, cap, err, errlen);
    }
    free(buf);
    return rc;
}
