/* preload/fault.c: injecting the faults of FSYNCLAB_REC_FAULTS.
 *
 * DESIGN.  fsynclab (recorder/fault.c) parses --fault and hands the
 * library a canonical list (preload/journal.h says its form); this file
 * only decodes it, and a list it cannot decode injects nothing and says
 * so (stderr and a flag record), so a run never goes on with faults other
 * than the ones asked for.  Calls are counted in the journal's header page
 * with atomic adds, so the Nth call is the Nth of the whole run, across
 * threads, forks and execs.
 *
 * A faulted call does not reach the kernel.  It stands for a writeback
 * that failed: on Linux the page cache still holds the data (the pages are
 * marked clean) and the disk does not.  Not calling the kernel gives the
 * program the same view (it reads back what it wrote); the crash images
 * drop the data (powerloss's eio_pages_clean).  Passing the call on and
 * replacing its result would have the kernel make the data durable on the
 * real disk, a disk that contradicts the fault.  A faulted write writes
 * nothing (a failed write, not a short one).
 */
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "preload/internal.h"

struct rec_fault {
    int sync;            /* 1: a sync, 0: a write */
    int err;
    uint32_t n;          /* the Nth call; with a glob, the Nth sync of a file matching it */
    char glob[256];
};

static void *rec_real_write;
static struct rec_fault rec_faults[RECORDER_MAX_FAULTS];
static unsigned rec_nfaults;
static int rec_any_sync, rec_any_write;
static struct recorder_jhead *rec_fhead;

/* One CLASS:ERRNO:N:GLOB entry of len bytes at s; 0 or -1. */
static int rec_fault_decode(const char *s, size_t len, struct rec_fault *f)
{
    char e[320], *end;
    if (len >= sizeof e)
        return -1;
    memcpy(e, s, len);
    e[len] = '\0';
    char *c = strchr(e, ':');
    if (!c)
        return -1;
    *c = '\0';
    if (strcmp(e, "sync") == 0)
        f->sync = 1;
    else if (strcmp(e, "write") == 0)
        f->sync = 0;
    else
        return -1;
    unsigned long err = strtoul(c + 1, &end, 10), n;
    if (end == c + 1 || *end != ':' || err == 0 || err > 4095)
        return -1;
    char *ns = end + 1;
    n = strtoul(ns, &end, 10);
    if (end == ns || *end != ':' || n == 0 || n > UINT32_MAX || strlen(end + 1) >= sizeof f->glob ||
        (end[1] && !f->sync))
        return -1;
    f->err = (int)err;
    f->n = (uint32_t)n;
    strcpy(f->glob, end + 1);
    return 0;
}

void rec_fault_init(struct recorder_jhead *head)
{
    const char *env = getenv(RECORDER_ENV_FAULTS);
    if (!env || !*env)
        return;
    const char *why = NULL;
    unsigned n = 0;
    for (const char *s = env; *s && !why;) {
        const char *semi = strchr(s, ';');
        size_t len = semi ? (size_t)(semi - s) : strlen(s);
        if (n == RECORDER_MAX_FAULTS)
            why = "too many entries";
        else if (rec_fault_decode(s, len, &rec_faults[n]) != 0)
            why = "an entry is not CLASS:ERRNO:N:GLOB";
        n++;
        s += len + (semi != NULL);
    }
    if (!why && !head)
        why = "the journal's header page could not be mapped, so calls cannot be counted";
    if (why) {
        char msg[512];
        int len = snprintf(msg, sizeof msg, "fsynclab recorder: %s=%.200s: %s; no fault is injected\n",
                           RECORDER_ENV_FAULTS, env, why);
        if (len > 0)
            (void)!REAL(write)(2, msg, (size_t)len < sizeof msg ? (size_t)len : sizeof msg - 1);
        rec_flag("%s could not be used (%s): no fault was injected", RECORDER_ENV_FAULTS, why);
        return;
    }
    rec_nfaults = n;
    rec_fhead = head;
    for (unsigned i = 0; i < n; i++) {
        rec_any_sync |= rec_faults[i].sync;
        rec_any_write |= !rec_faults[i].sync;
    }
}

/* Fault i fires on call number n of fd: marked fired, recorded; returns
 * its errno. */
static int rec_fault_fire(unsigned i, uint64_t raw, uint32_t n, unsigned call)
{
    __atomic_fetch_or(&rec_fhead->fired, 1u << i, __ATOMIC_SEQ_CST);
    rec_emit(RECORDER_FAULT, i, rec_faults[i].err, raw, n, call, NULL, 0);
    return rec_faults[i].err;
}

int rec_fault_sync(int fd, uint64_t raw, unsigned call)
{
    struct stat st;
    if (!rec_any_sync || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return 0;
    int saved = errno;
    uint32_t n = __atomic_add_fetch(&rec_fhead->syncs, 1, __ATOMIC_SEQ_CST);
    char rel[PATH_MAX];
    const char *path = NULL;
    int e = 0;
    for (unsigned i = 0; i < rec_nfaults && !e; i++) {
        const struct rec_fault *f = &rec_faults[i];
        if (!f->sync || (!f->glob[0] && f->n != n))
            continue;
        if (f->glob[0]) {   /* counted among the syncs of matching files only */
            if (!path && !(path = rec_rel(fd, "", rel, sizeof rel)))
                continue;
            if (fnmatch(f->glob, path, 0) != 0 ||
                __atomic_add_fetch(&rec_fhead->matched[i], 1, __ATOMIC_SEQ_CST) != f->n)
                continue;
        }
        e = rec_fault_fire(i, raw, n, call);
    }
    errno = saved;
    return e;
}

int rec_fault_write(uint64_t raw)
{
    if (!rec_any_write)
        return 0;
    uint32_t n = __atomic_add_fetch(&rec_fhead->writes, 1, __ATOMIC_SEQ_CST);
    for (unsigned i = 0; i < rec_nfaults; i++)
        if (!rec_faults[i].sync && rec_faults[i].n == n)
            return rec_fault_fire(i, raw, n, RECORDER_FAULT_WRITE);
    return 0;
}
