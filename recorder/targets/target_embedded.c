/* target_embedded: the embedded stores' targets (rocksdb, lmdb): their worker
 * programs, driven the same way.
 *
 * DESIGN.  A worker is a small program next to the preload library
 * (fsynclab-<name>-worker) with two modes: `run ARGS...` writes one key a
 * transaction into $FSYNCLAB_DATA and prints `ack KEY` after each returns;
 * `check DIR` opens DIR as a restart would and prints `key K` lines, then
 * `ok` (or `fail REASON`, exit 3).  The check's output is read with a
 * deadline, so a worker that hangs on a broken image ends the trial with a
 * message instead of hanging fsynclab.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "recorder/targets/internal.h"
#include "powerloss/powerloss.h"

#define WORKER_CHECK_MS 60000
#define WORKER_MAX_ARGS 8

static int worker_path(const struct target_trial *t, const char *name, char *out, size_t outlen, char *err,
                       size_t errlen)
{
    char file[64];
    snprintf(file, sizeof file, "fsynclab-%s-worker", name);
    int rc = target_helper(t, file, out, outlen);
    if (rc)
        (void)PL_ERR(err, errlen, 0, "%s next to %s: %s (make builds it; make install puts it there)", file, t->lib, strerror(-rc));
    return rc;
}

/* Asynchronous I/O the recorder cannot see, open in process pid: an io_uring
 * descriptor, or a Linux AIO ring mapped as /[aio]. */
int target_aio_open(pid_t pid)
{
    char path[64], link[128], line[512];
    int found = 0;
    snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(path);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        char fd[330];
        snprintf(fd, sizeof fd, "%s/%s", path, de->d_name);
        ssize_t n = readlink(fd, link, sizeof link - 1);
        if (n > 0 && (link[n] = '\0', strstr(link, "io_uring")))
            found = 1;
    }
    if (d)
        closedir(d);
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        found |= strstr(line, "/[aio]") != NULL;
    if (f)
        fclose(f);
    return found;
}

/* Starts `worker MODE ARGS...` with FSYNCLAB_DATA=t->data. */
static int worker_spawn(struct target_trial *t, const char *name, const char *mode, const char *const args[],
                        int recorded, int *fd, pid_t *pid, char *err, size_t errlen)
{
    char worker[PATH_MAX], env[PATH_MAX + 32];
    int rc = worker_path(t, name, worker, sizeof worker, err, errlen);
    if (rc)
        return rc;
    snprintf(env, sizeof env, "FSYNCLAB_DATA=%s", t->data);
    char *envv[] = {env, NULL}, *argv[WORKER_MAX_ARGS + 3] = {worker, (char *)mode};
    for (int i = 0; args[i] && i < WORKER_MAX_ARGS; i++)
        argv[i + 2] = (char *)args[i];
    return target_spawn(t, argv, envv, recorded, t->drop_privileges, fd, pid, err, errlen);
}

int target_worker_prepare(struct target_trial *t, const char *name, const char *const args[], char *err,
                          size_t errlen)
{
    pid_t pid;
    int st = 0, rc = worker_spawn(t, name, "prepare", args, 0, NULL, &pid, err, errlen);
    if (rc)
        return rc;
    int exited = target_wait(pid, WORKER_CHECK_MS, &st);
    target_kill_group(pid);
    if (!exited || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        (void)PL_ERR(err, errlen, 0, "fsynclab-%s-worker prepare on %s: %s (its messages: %s/stderr.log, or FSYNCLAB_REC_VERBOSE=1)",
                name, t->data, exited ? "failed" : "no exit in time", t->base);
        return -EIO;
    }
    return 0;
}

int target_worker_run(struct target_trial *t, const char *name, const char *const args[], int *aio, char *err,
                      size_t errlen)
{
    int fd;
    pid_t pid;
    const char *argv[WORKER_MAX_ARGS + 1];
    char ops[24];
    size_t n = 0;
    while (args[n] && n < WORKER_MAX_ARGS - 1) {
        argv[n] = args[n];
        n++;
    }
    snprintf(ops, sizeof ops, "%u", t->ops);   /* explore: the worker closes the store after that many */
    argv[n++] = t->ops ? ops : NULL;
    argv[n] = NULL;
    int rc = worker_spawn(t, name, "run", argv, 1, &fd, &pid, err, errlen);
    if (rc)
        return rc;
    t->kill_ns = target_now_ns() + t->run_ns;
    rc = target_read_acks(t, fd, err, errlen);
    uint64_t kill_ns = target_now_ns();
    *aio = target_aio_open(pid);   /* an io_uring opened at any time stays open until exit */
    /* Its stdout closed: it is closing the store (explore), or failed. */
    if (t->exited && !target_wait(pid, target_timeout_ms(t), &t->exit_status))
        t->exit_status = -1;
    target_kill_group(pid);
    target_drain_acks(t, fd);
    close(fd);
    if (kill_ns < t->kill_ns)
        t->kill_ns = kill_ns;
    return rc;
}

/* One line of the check's output. */
static int worker_line(char *line, struct target_keyset *found, int *ok, char *reason, size_t rlen)
{
    if (strncmp(line, "key ", 4) == 0)
        return target_keyset_add(found, line + 4);
    if (strcmp(line, "ok") == 0)
        *ok = 1;
    else if (strncmp(line, "fail ", 5) == 0)
        snprintf(reason, rlen, "%s", line + 5);
    return 0;
}

/* Reads the check's lines until end of file or the deadline; 1: in time. */
static int worker_read(int fd, struct target_keyset *found, int *ok, char *reason, size_t rlen, int *rc)
{
    char buf[8192];
    size_t have = 0;
    uint64_t deadline = target_now_ns() + (uint64_t)WORKER_CHECK_MS * 1000000u;
    for (;;) {
        uint64_t now = target_now_ns();
        if (now >= deadline)
            return 0;
        struct pollfd p = {fd, POLLIN, 0};
        int n = poll(&p, 1, (int)((deadline - now) / 1000000u) + 1);
        if (n < 0 && errno == EINTR)
            continue;
        ssize_t got = n > 0 ? read(fd, buf + have, sizeof buf - 1 - have) : 0;
        if (n > 0 && got < 0 && errno == EINTR)
            continue;
        if (n > 0 && got <= 0)
            return 1;   /* end of file (or a read error: the worker's exit status tells) */
        have += (size_t)(got > 0 ? got : 0);
        buf[have] = '\0';
        char *start = buf, *nl;
        while (*rc == 0 && (nl = strchr(start, '\n')) != NULL) {
            *nl = '\0';
            *rc = worker_line(start, found, ok, reason, rlen);
            start = nl + 1;
        }
        have -= (size_t)(start - buf);
        memmove(buf, start, have);
        if (have == sizeof buf - 1)
            have = 0;   /* a line longer than any key: not one of ours */
    }
}

int target_worker_check(struct target_trial *t, const char *name, const char *dir, struct target_keyset *found,
                        int *ok, char *reason, size_t rlen, char *err, size_t errlen)
{
    char worker[PATH_MAX];
    int rc = worker_path(t, name, worker, sizeof worker, err, errlen);
    if (rc)
        return rc;
    char *argv[] = {worker, "check", (char *)dir, NULL};
    int fd;
    pid_t pid;
    if ((rc = target_spawn(t, argv, NULL, 0, t->drop_privileges, &fd, &pid, err, errlen)) != 0)
        return rc;
    int saw_ok = 0, st = 0;
    reason[0] = '\0';
    int in_time = worker_read(fd, found, &saw_ok, reason, rlen, &rc);
    int exited = in_time && target_wait(pid, WORKER_CHECK_MS, &st);
    target_kill_group(pid);
    close(fd);
    if (rc) {
        (void)PL_ERR(err, errlen, 0, "recording a key: %s", strerror(-rc));
        return rc;
    }
    if (!exited) {
        (void)PL_ERR(err, errlen, 0, "fsynclab-%s-worker check %s: no answer within %d ms", name, dir, WORKER_CHECK_MS);
        return -ETIMEDOUT;
    }
    *ok = saw_ok && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (!*ok && !reason[0])
        snprintf(reason, rlen, "the worker ended with status %d", st);
    return 0;
}

int target_worker_killed(struct target_trial *t, const char *name, uint64_t *acked, uint64_t *lost, char *reason,
                         size_t rlen, char *err, size_t errlen)
{
    char killed[PATH_MAX + 16];
    snprintf(killed, sizeof killed, "%s/killed", t->base);
    int rc = recorder_tree_copy(t->data, killed, err, errlen);
    if (rc)
        return rc;
    if (t->drop_privileges && (rc = recorder_tree_chown(killed, t->uid, t->gid, err, errlen)) != 0)
        return rc;
    struct target_keyset found = {0};
    int ok = 0;
    rc = target_worker_check(t, name, killed, &found, &ok, reason, rlen, err, errlen);
    *acked = *lost = 0;
    for (size_t i = 0; rc == 0 && i < t->nacks; i++) {
        if (t->acks[i].ns > t->kill_ns)
            continue;
        ++*acked;
        *lost += !ok || !target_keyset_has(&found, t->acks[i].key);
    }
    target_keyset_free(&found);
    if (!t->cfg->keep) {
        int rm = recorder_tree_remove(killed, rc ? NULL : err, errlen);
        rc = rc ? rc : rm;
    }
    return rc;
}
