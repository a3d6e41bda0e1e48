/* journal: reading the recorder's journal, and running a command under it.
 *
 * DESIGN.  The journal is mapped read-only and indexed once; records are
 * used in place.  A record whose header claims more bytes than remain is
 * the torn tail of a process killed inside its writev: it and anything
 * after it are left out (a later record cannot exist after a torn one: the
 * kernel appends each writev whole, so only the last can be short).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "recorder/recorder.h"

#define SET_ERR(...) ((void)(err ? snprintf(err, errlen, __VA_ARGS__) : 0))

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
    };
    return type < RECORDER_TYPE_MAX && names[type] ? names[type] : "unknown";
}

int recorder_journal_open(const char *path, struct recorder_journal *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        SET_ERR("open(%s): %s", path, strerror(e));
        return -e;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        SET_ERR("fstat(%s): %s", path, strerror(e));
        close(fd);
        return -e;
    }
    out->bytes = (size_t)st.st_size;
    if (out->bytes > 0) {
        void *m = mmap(NULL, out->bytes, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            int e = errno;
            SET_ERR("mmap(%s): %s", path, strerror(e));
            close(fd);
            return -e;
        }
        out->base = m;
    }
    close(fd);
    size_t cap = 0, at = 0;
    while (at + RECORDER_HEADER <= out->bytes) {
        const struct recorder_rec *r = (const void *)(out->base + at);
        if (r->size < RECORDER_HEADER || r->size > out->bytes - at)
            break;
        if (out->n == cap) {
            cap = cap ? cap * 2 : 1024;
            const struct recorder_rec **grown = realloc(out->recs, cap * sizeof *grown);
            if (!grown) {
                SET_ERR("realloc(%zu records): %s", cap, strerror(ENOMEM));
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
            SET_ERR("readlink(/proc/self/exe): %s", strerror(e));
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
        SET_ERR("access(%s): %s (set %s)", out, strerror(e), RECORDER_ENV_LIB);
        return -e;
    }
    return 0;
}

/* Absolute paths: the program may chdir before it execs the next one. */
int recorder_arm_env(const char *lib, const char *root, const char *journal)
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
    return 0;
}

int recorder_record(const char *root, const char *journal, char *const argv[], int *status,
                    char *err, size_t errlen)
{
    char lib[PATH_MAX];
    int rc = recorder_lib_path(lib, sizeof lib, err, errlen);
    if (rc)
        return rc;
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        SET_ERR("fork: %s", strerror(e));
        return -e;
    }
    if (pid == 0) {
        setpgid(0, 0);
        if (recorder_arm_env(lib, root, journal) != 0)
            _exit(127);
        execvp(argv[0], argv);
        fprintf(stderr, "execvp(%s): %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) {
            int e = errno;
            SET_ERR("waitpid(%d): %s", (int)pid, strerror(e));
            kill(-pid, SIGKILL);
            return -e;
        }
    }
    /* Whatever the command left behind in its group goes with it. */
    kill(-pid, SIGKILL);
    *status = st;
    return 0;
}
