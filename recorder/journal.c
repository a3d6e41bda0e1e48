/* journal: reading the recorder's journal, and running a command under it.
 *
 * DESIGN.  The journal is mapped read-only and indexed once; records are
 * used in place.  A record whose header claims more bytes than remain is
 * the torn tail of a process killed inside its writev: it and anything
 * after it are left out (a later record cannot exist after a torn one: the
 * kernel appends each writev whole, so only the last can be short).
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "powerloss/powerloss.h"
#include "recorder/recorder.h"


const char *recorder_type_name(unsigned type)
{
    static const char *const names[RECORDER_TYPE_MAX] = {
        [RECORDER_START] = "start",       [RECORDER_FORK] = "fork",
        [RECORDER_OPEN] = "open",         [RECORDER_WRITE] = "write",
        [RECORDER_TRUNCATE] = "truncate", [RECORDER_TRUNCATE_PATH] = "truncate_path",
        [RECORDER_FALLOCATE] = "fallocate", [RECORDER_SYNC_BEGIN] = "sync_begin",
        [RECORDER_SYNC_END] = "sync_end", [RECORDER_RANGE_HINT] = "sync_file_range",
        [RECORDER_RENAME] = "rename",     [RECORDER_UNLINK] = "unlink",
        [RECORDER_MKDIR] = "mkdir",       [RECORDER_RMDIR] = "rmdir",
        [RECORDER_LINK] = "link",         [RECORDER_FLAG] = "flag",
        [RECORDER_SYMLINK] = "symlink",   [RECORDER_CHMOD] = "chmod",
        [RECORDER_FAULT] = "fault",
        [RECORDER_OBJECT] = "object",     [RECORDER_ACK] = "ack",
    };
    return type < RECORDER_TYPE_MAX && names[type] ? names[type] : "unknown";
}

static int journal_map(const char *path, struct recorder_journal *out, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        (void)PL_ERR(err, errlen, 0, "open(%s): %s", path, strerror(e));
        return -e;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        (void)PL_ERR(err, errlen, 0, "fstat(%s): %s", path, strerror(e));
        close(fd);
        return -e;
    }
    if (!S_ISREG(st.st_mode)) {
        (void)PL_ERR(err, errlen, 0, "%s is not a journal: not a regular file (give the FILE `fsynclab record --journal` wrote)",
                path);
        close(fd);
        return -EINVAL;
    }
    out->bytes = (size_t)st.st_size;
    if (out->bytes > 0) {
        void *m = mmap(NULL, out->bytes, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            int e = errno;
            (void)PL_ERR(err, errlen, 0, "mmap(%s): %s", path, strerror(e));
            close(fd);
            return -e;
        }
        out->base = m;
    }
    close(fd);
    return 0;
}

/* An empty file is an empty journal (made by a trial before any program
 * armed); anything else must carry the header. */
static int journal_check_head(const char *path, const struct recorder_journal *j, char *err, size_t errlen)
{
    if (j->bytes == 0)
        return 0;
    const struct recorder_jhead *h = (const void *)j->base;
    if (j->bytes < RECORDER_JHEAD_SIZE || memcmp(h->magic, RECORDER_MAGIC, 8) != 0) {
        (void)PL_ERR(err, errlen, 0, "%s is not a journal: no %s header (give the FILE `fsynclab record --journal` wrote)", path,
                RECORDER_MAGIC);
        return -EINVAL;
    }
    if (h->version == 1) {
        (void)PL_ERR(err, errlen, 0, "%s: journal version 1 (48-byte records, without call sites); this fsynclab reads "
                     "version %u (record it again)", path, RECORDER_VERSION);
        return -EINVAL;
    }
    if (h->version != RECORDER_VERSION || h->header_size < RECORDER_JHEAD_SIZE || h->header_size > j->bytes) {
        (void)PL_ERR(err, errlen, 0, "%s: journal version %u, header %u bytes; this fsynclab reads version %u (record it again)",
                path, h->version, h->header_size, RECORDER_VERSION);
        return -EINVAL;
    }
    return 0;
}

int recorder_journal_open(const char *path, struct recorder_journal *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int rc = journal_map(path, out, err, errlen);
    if (rc == 0 && (rc = journal_check_head(path, out, err, errlen)) != 0)
        recorder_journal_close(out);
    if (rc)
        return rc;
    size_t cap = 0, at = out->bytes ? ((const struct recorder_jhead *)out->base)->header_size : 0;
    while (at + RECORDER_HEADER <= out->bytes) {
        const struct recorder_rec *r = (const void *)(out->base + at);
        if (r->size < RECORDER_HEADER || r->size > out->bytes - at)
            break;
        if (out->n == cap) {
            cap = cap ? cap * 2 : 1024;
            const struct recorder_rec **grown = realloc(out->recs, cap * sizeof *grown);
            if (!grown) {
                (void)PL_ERR(err, errlen, 0, "realloc(%zu records): %s", cap, strerror(ENOMEM));
                recorder_journal_close(out);
                return -ENOMEM;
            }
            out->recs = grown;
        }
        out->recs[out->n++] = r;
        at += r->size;
    }
    out->torn_bytes = out->bytes - at;
    return 0;
}

int recorder_journal_create(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        (void)PL_ERR(err, errlen, 0, "open(%s): %s (--journal must name a file that can be written)", path, strerror(e));
        return -e;
    }
    struct stat st;
    struct recorder_jhead h;
    int rc = 0;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        (void)PL_ERR(err, errlen, 0, "fstat(%s): %s", path, strerror(-rc));
    } else if (!S_ISREG(st.st_mode)) {
        rc = -EINVAL;
        (void)PL_ERR(err, errlen, 0, "--journal %s: not a regular file", path);
    } else if (st.st_size > 0 && (pread(fd, &h, 8, 0) != 8 || memcmp(h.magic, RECORDER_MAGIC, 8) != 0)) {
        rc = -EEXIST;
        (void)PL_ERR(err, errlen, 0, "--journal %s: the file exists and is not a journal; not overwriting it (remove it, or "
                "name another)", path);
    }
    memset(&h, 0, sizeof h);
    memcpy(h.magic, RECORDER_MAGIC, 8);
    h.version = RECORDER_VERSION;
    h.header_size = RECORDER_JHEAD_SIZE;
    if (rc == 0 && (ftruncate(fd, 0) != 0 || pwrite(fd, &h, sizeof h, 0) != (ssize_t)sizeof h)) {
        rc = errno ? -errno : -EIO;
        (void)PL_ERR(err, errlen, 0, "writing the journal header to %s: %s", path, strerror(-rc));
    }
    if (close(fd) != 0 && rc == 0) {
        rc = -errno;
        (void)PL_ERR(err, errlen, 0, "close(%s): %s", path, strerror(-rc));
    }
    return rc;
}

int recorder_elf_is_static(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    Elf64_Ehdr eh;
    int is_static = 0;
    if (pread(fd, &eh, sizeof eh, 0) == (ssize_t)sizeof eh && memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 &&
        eh.e_ident[EI_CLASS] == ELFCLASS64) {
        is_static = 1;
        for (unsigned i = 0; i < eh.e_phnum; i++) {
            Elf64_Phdr ph;
            if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)) != (ssize_t)sizeof ph)
                break;
            if (ph.p_type == PT_INTERP)
                is_static = 0;
        }
    }
    close(fd);
    return is_static;
}

void recorder_journal_close(struct recorder_journal *j)
{
    if (j->base)
        munmap((void *)j->base, j->bytes);
    free(j->recs);
    memset(j, 0, sizeof *j);
}

#ifndef FSYNCLAB_LIBDIR
#define FSYNCLAB_LIBDIR "/usr/local/lib/fsynclab"
#endif

/* $FSYNCLAB_REC_LIB; else next to the running binary (a build tree); else
 * the install's library directory. */
int recorder_lib_path(char *out, size_t outlen, char *err, size_t errlen)
{
    const char *env = getenv(RECORDER_ENV_LIB);
    if (env && *env) {
        if ((size_t)snprintf(out, outlen, "%s", env) >= outlen)
            return -ENAMETOOLONG;
    } else {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0) {
            int e = n < 0 ? errno : ENOENT;
            (void)PL_ERR(err, errlen, 0, "readlink(/proc/self/exe): %s", strerror(e));
            return -e;
        }
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = '\0';
        if ((size_t)snprintf(out, outlen, "%s/%s", exe, RECORDER_LIB_NAME) >= outlen)
            return -ENAMETOOLONG;
        if (access(out, R_OK) != 0 &&
            (size_t)snprintf(out, outlen, "%s/%s", FSYNCLAB_LIBDIR, RECORDER_LIB_NAME) >= outlen)
            return -ENAMETOOLONG;
    }
    if (access(out, R_OK) != 0) {
        int e = errno;
        (void)PL_ERR(err, errlen, 0, "access(%s): %s (set %s)", out, strerror(e), RECORDER_ENV_LIB);
        return -e;
    }
    return 0;
}

/* Absolute paths: the program may chdir before it execs the next one. */
int recorder_arm_env(const char *lib, const char *root, const char *journal, const char *faults)
{
    char abs[PATH_MAX], aroot[PATH_MAX], ajournal[PATH_MAX];
    if (!realpath(lib, abs) || !realpath(root, aroot))
        return -errno;
    if (journal[0] == '/') {
        snprintf(ajournal, sizeof ajournal, "%s", journal);
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd))
            return -errno;
        if ((size_t)snprintf(ajournal, sizeof ajournal, "%s/%s", cwd, journal) >= sizeof ajournal)
            return -ENAMETOOLONG;
    }
    if (setenv("LD_PRELOAD", abs, 1) != 0 || setenv(RECORDER_ENV_ROOT, aroot, 1) != 0 ||
        setenv(RECORDER_ENV_JOURNAL, ajournal, 1) != 0)
        return -errno;
    /* Only the faults asked for: never one left in fsynclab's own environment. */
    if (faults && *faults ? setenv(RECORDER_ENV_FAULTS, faults, 1) != 0 : unsetenv(RECORDER_ENV_FAULTS) != 0)
        return -errno;
    return 0;
}

/* argv0 as execvp would find it, into out; -ENOENT when there is none. */
static int journal_which(const char *argv0, char *out, size_t outlen)
{
    if (strchr(argv0, '/')) {
        if ((size_t)snprintf(out, outlen, "%s", argv0) >= outlen)
            return -ENAMETOOLONG;
        return access(out, X_OK) == 0 ? 0 : -errno;
    }
    const char *path = getenv("PATH");
    for (const char *p = path ? path : "/usr/local/bin:/usr/bin:/bin"; *p;) {
        const char *colon = strchr(p, ':');
        size_t len = colon ? (size_t)(colon - p) : strlen(p);
        if ((size_t)snprintf(out, outlen, "%.*s%s%s", (int)len, p, len ? "/" : "", argv0) < outlen &&
            access(out, X_OK) == 0)
            return 0;
        p += len + (colon != NULL);
    }
    return -ENOENT;
}

/* The flag a preloaded exec would have written, for the first exec. */
static int journal_flag_static(const char *journal, const char *path)
{
    char text[PATH_MAX + 64];
    int n = snprintf(text, sizeof text, "exec of static binary %s: its calls are not recorded", path);
    if (n < 0 || (size_t)n >= sizeof text)
        n = (int)sizeof text - 1;
    text[n] = '\0';
    struct recorder_rec r = {.size = (uint32_t)(RECORDER_HEADER + (size_t)n + 1), .type = RECORDER_FLAG,
                             .pid = (uint32_t)getpid()};
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    r.ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    int fd = open(journal, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct iovec iov[2] = {{&r, RECORDER_HEADER}, {text, (size_t)n + 1}};
    ssize_t w = writev(fd, iov, 2);
    int e = w == (ssize_t)r.size ? 0 : (w < 0 ? errno : EIO);
    if (close(fd) != 0 && !e)
        e = errno;
    return -e;
}

static int journal_preflight(const char *root, const char *journal, const char *argv0, char *err,
                             size_t errlen)
{
    struct stat st;
    int e = stat(root, &st) != 0 ? errno : (S_ISDIR(st.st_mode) ? 0 : ENOTDIR);
    if (e) {
        (void)PL_ERR(err, errlen, 0, "--root %s: %s (give an existing directory)", root, strerror(e));
        return -EINVAL;
    }
    char exe[PATH_MAX];
    int rc = journal_which(argv0, exe, sizeof exe);
    if (rc) {
        (void)PL_ERR(err, errlen, 0, "record: cannot run %s: %s", argv0, strerror(-rc));
        return -EINVAL;
    }
    if ((rc = recorder_journal_create(journal, err, errlen)) != 0)
        return rc == -EEXIST ? -EINVAL : rc;
    if (recorder_elf_is_static(exe)) {
        fprintf(stderr, "fsynclab: warning: %s is a static binary: LD_PRELOAD cannot record its calls; "
                        "the journal holds a flag saying so\n", exe);
        if ((rc = journal_flag_static(journal, exe)) != 0) {
            (void)PL_ERR(err, errlen, 0, "writing a flag to %s: %s", journal, strerror(-rc));
            return rc;
        }
    }
    return 0;
}

int recorder_record(const char *root, const char *journal, char *const argv[], const char *faults,
                    int *status, char *err, size_t errlen)
{
    char lib[PATH_MAX];
    int rc = recorder_lib_path(lib, sizeof lib, err, errlen);
    if (rc)
        return rc;
    if ((rc = journal_preflight(root, journal, argv[0], err, errlen)) != 0)
        return rc;
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        (void)PL_ERR(err, errlen, 0, "fork: %s", strerror(e));
        return -e;
    }
    if (pid == 0) {
        setpgid(0, 0);
        int e = recorder_arm_env(lib, root, journal, faults);
        if (e != 0) {
            fprintf(stderr, "fsynclab: arming the recorder on %s: %s\n", root, strerror(-e));
            _exit(127);
        }
        execvp(argv[0], argv);
        fprintf(stderr, "fsynclab: execvp(%s): %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            int e = errno;
            (void)PL_ERR(err, errlen, 0, "waitpid(%d): %s", (int)pid, strerror(e));
            kill(-pid, SIGKILL);
            return -e;
        }
    }
    /* Whatever the command left behind in its group goes with it. */
    kill(-pid, SIGKILL);
    *status = st;
    return 0;
}
