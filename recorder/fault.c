/* fault: the one parser of --fault, and the canonical list the preload
 * library decodes (RECORDER_ENV_FAULTS in preload/journal.h).
 *
 * DESIGN.  A spec is CALL:ERROR@WHEN.  CALL fsync stands for fsync,
 * fdatasync and sync_file_range with SYNC_FILE_RANGE_WAIT_AFTER (the
 * calls that report a failed writeback); write for write, pwrite, writev
 * and their kin.  WHEN is the Nth such call of a regular file under the
 * root, counted from 1 across every process of the run, or (fsync only)
 * path=GLOB: the first sync of a file whose path under the root matches,
 * or N,path=GLOB: the Nth of those.
 * Counting calls, not drawing them, makes a run's faults the same every
 * time: a trial replays from its seed with the same --fault.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "powerloss/powerloss.h"
#include "recorder/recorder.h"

#define FAULT_FIX "write CALL:ERROR@WHEN, one of " RECORDER_FAULT_FORMS

static int fault_error(const char *spec, size_t len, const char *call)
{
    if (len == 3 && strncmp(spec, "eio", 3) == 0)
        return EIO;
    if (len == 6 && strncmp(spec, "enospc", 6) == 0 && strcmp(call, "write") == 0)
        return ENOSPC;
    return 0;
}

static int fault_when(const char *spec, const char *when, struct recorder_fault *f, char *err, size_t errlen)
{
    char *end = NULL;
    errno = 0;
    unsigned long long n = when[0] >= '0' && when[0] <= '9' ? strtoull(when, &end, 10) : 0;
    const char *path = strncmp(when, "path=", 5) == 0 ? when : end && strncmp(end, ",path=", 6) == 0 ? end + 1 : NULL;
    if ((end && (path ? end + 1 != path : *end)) || errno || (end && (n < 1 || n > UINT32_MAX)) || (!end && !path))
        return PL_ERR(err, errlen, -EINVAL, "--fault %s: \"@%s\" is not a call number; give the Nth "
                      "call counting from 1 (e.g. @1 for the first, at most %u)%s", spec, when, UINT32_MAX,
                      f->sync ? ", or @path=GLOB, or @N,path=GLOB" : "");
    f->n = end ? (uint32_t)n : 1;
    f->glob[0] = '\0';
    if (path) {
        const char *glob = path + 5;
        if (!f->sync)
            return PL_ERR(err, errlen, -EINVAL, "--fault %s: @path= applies to fsync only; give a write "
                          "by its number (e.g. write:eio@3)", spec);
        if (!*glob)
            return PL_ERR(err, errlen, -EINVAL, "--fault %s: @path= needs a glob, the file's path under "
                          "the data directory (e.g. fsync:eio@path=*.db)", spec);
        if (strchr(glob, ';') || strlen(glob) >= sizeof f->glob)
            return PL_ERR(err, errlen, -EINVAL, "--fault %s: the glob must be shorter than %zu "
                          "characters and hold no ';'", spec, sizeof f->glob);
        snprintf(f->glob, sizeof f->glob, "%s", glob);
    }
    return 0;
}

int recorder_fault_parse(const char *spec, struct recorder_fault *f, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    if (!spec || !*spec)
        return PL_ERR(err, errlen, -EINVAL, "--fault: empty; " FAULT_FIX);
    const char *colon = strchr(spec, ':'), *at = strchr(spec, '@');
    if (!colon || (at && at < colon))
        return PL_ERR(err, errlen, -EINVAL, "--fault %s: no CALL: before the error; " FAULT_FIX, spec);
    size_t clen = (size_t)(colon - spec);
    if (clen == 5 && strncmp(spec, "fsync", 5) == 0)
        f->sync = 1;
    else if (clen == 5 && strncmp(spec, "write", 5) == 0)
        f->sync = 0;
    else
        return PL_ERR(err, errlen, -EINVAL, "--fault %s: unknown call \"%.*s\"; use fsync (fsync, fdatasync, "
                      "sync_file_range with a wait) or write", spec, (int)clen, spec);
    const char *call = f->sync ? "fsync" : "write";
    if (!at)
        return PL_ERR(err, errlen, -EINVAL, "--fault %s: no @WHEN; add the call's number (%s:eio@3)%s", spec,
                      call, f->sync ? " or a path (fsync:eio@path=GLOB)" : "");
    f->err = fault_error(colon + 1, (size_t)(at - colon - 1), call);
    if (!f->err)
        return PL_ERR(err, errlen, -EINVAL, "--fault %s: error \"%.*s\" for %s; use %s", spec,
                      (int)(at - colon - 1), colon + 1, call, f->sync ? "eio" : "eio or enospc");
    return fault_when(spec, at + 1, f, err, errlen);
}

int recorder_fault_add(struct recorder_faults *fs, const char *spec, char *err, size_t errlen)
{
    if (fs->n == RECORDER_MAX_FAULTS)
        return PL_ERR(err, errlen, -EINVAL, "--fault %s: at most %d faults in a run", spec ? spec : "",
                      RECORDER_MAX_FAULTS);
    struct recorder_fault f;
    int rc = recorder_fault_parse(spec, &f, err, errlen);
    if (rc)
        return rc;
    for (unsigned i = 0; i < fs->n; i++)
        if (fs->f[i].sync == f.sync && fs->f[i].n == f.n && strcmp(fs->f[i].glob, f.glob) == 0)
            return PL_ERR(err, errlen, -EINVAL, "--fault %s: that call is already faulted by --fault %s; "
                          "give each call one fault", spec, recorder_fault_spec(&fs->f[i]));
    fs->f[fs->n++] = f;
    return 0;
}

const char *recorder_fault_spec(const struct recorder_fault *f)
{
    static __thread char buf[320];
    const char *e = f->err == ENOSPC ? "enospc" : "eio", *call = f->sync ? "fsync" : "write";
    if (!f->glob[0])
        snprintf(buf, sizeof buf, "%s:%s@%u", call, e, f->n);
    else if (f->n == 1)
        snprintf(buf, sizeof buf, "%s:%s@path=%s", call, e, f->glob);
    else
        snprintf(buf, sizeof buf, "%s:%s@%u,path=%s", call, e, f->n, f->glob);
    return buf;
}

int recorder_fault_env(const struct recorder_faults *fs, char *out, size_t outlen)
{
    size_t at = 0;
    if (outlen)
        out[0] = '\0';
    for (unsigned i = 0; i < fs->n; i++) {
        const struct recorder_fault *f = &fs->f[i];
        int w = snprintf(out + at, outlen - at, "%s%s:%d:%u:%s", i ? ";" : "", f->sync ? "sync" : "write",
                         f->err, f->n, f->glob);
        if (w < 0 || (size_t)w >= outlen - at)
            return -ENAMETOOLONG;
        at += (size_t)w;
    }
    return 0;
}
