/* target_contract: any program, through `--run CMD --check CMD`.
 *
 * DESIGN.  Both commands run under /bin/sh -c with FSYNCLAB_DATA naming
 * the data directory (the run) or the image (the check).  The run prints
 * `ack KEY` after each write it acknowledges; the line is timestamped when
 * fsynclab reads it, which is after the program acknowledged, so the cut
 * rule (an ack counts for a cut only if read before it) never blames the
 * program for an ack it had not given yet.  The check prints the keys it
 * finds, one a line, and exits 0, or non-zero when it cannot recover the
 * image.  The sqlite target reuses the reading half (target_read_acks).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "recorder/targets/targets.h"

#define SET_ERR(...) ((void)(err ? snprintf(err, errlen, __VA_ARGS__) : 0))

static int contract_setup(const struct recorder_crash_config *cfg, struct recorder_crash_result *out,
                          char *err, size_t errlen)
{
    if (!cfg->run_cmd || !cfg->check_cmd) {
        SET_ERR("target contract needs --run CMD and --check CMD");
        return -EINVAL;
    }
    out->promised = target_setting(cfg, "promise", "an acknowledged write is durable");
    out->promised_window_ms = atof(target_setting(cfg, "promised_window_ms", "0"));
    return 0;
}

int target_read_acks(struct target_trial *t, int fd, char *err, size_t errlen)
{
    char buf[65536];
    size_t have = 0;
    for (;;) {
        uint64_t now = target_now_ns();
        if (now >= t->kill_ns)
            return 0;
        struct pollfd p = {fd, POLLIN, 0};
        int wait_ms = (int)((t->kill_ns - now + 999999) / 1000000);
        int r = poll(&p, 1, wait_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            SET_ERR("poll: %s", strerror(e));
            return -e;
        }
        if (r == 0)
            continue;
        ssize_t n = read(fd, buf + have, sizeof buf - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {   /* the program ended (or closed stdout): the kill is now */
            t->kill_ns = target_now_ns();
            return 0;
        }
        uint64_t ns = target_now_ns();
        have += (size_t)n;
        size_t start = 0;
        for (size_t i = 0; i < have; i++) {
            if (buf[i] != '\n')
                continue;
            if (i - start > 4 && memcmp(buf + start, "ack ", 4) == 0 &&
                target_ack(t, buf + start + 4, i - start - 4, ns) != 0) {
                SET_ERR("recording an ack: %s", strerror(ENOMEM));
                return -ENOMEM;
            }
            start = i + 1;
        }
        memmove(buf, buf + start, have - start);
        have -= start;
        if (have == sizeof buf)
            have = 0;   /* a line longer than the buffer is not an ack */
    }
}

static int contract_run(struct target_trial *t, char *err, size_t errlen)
{
    char env[PATH_MAX + 32];
    snprintf(env, sizeof env, "FSYNCLAB_DATA=%s", t->data);
    char *envv[] = {env, NULL};
    char *argv[] = {"/bin/sh", "-c", (char *)t->cfg->run_cmd, NULL};
    int fd;
    pid_t pid;
    int rc = target_spawn(t, argv, envv, 1, 0, &fd, &pid, err, errlen);
    if (rc)
        return rc;
    t->kill_ns = target_now_ns() + t->run_ns;
    rc = target_read_acks(t, fd, err, errlen);
    uint64_t kill_ns = target_now_ns();
    target_kill_group(pid);
    close(fd);
    if (kill_ns < t->kill_ns)
        t->kill_ns = kill_ns;
    return rc;
}

static int contract_check(struct target_trial *t, const char *image, struct target_keyset *found,
                          int *ok, char *err, size_t errlen)
{
    char env[PATH_MAX + 32];
    snprintf(env, sizeof env, "FSYNCLAB_DATA=%s", image);
    char *envv[] = {env, NULL};
    char *argv[] = {"/bin/sh", "-c", (char *)t->cfg->check_cmd, NULL};
    int fd;
    pid_t pid;
    int rc = target_spawn(t, argv, envv, 0, 0, &fd, &pid, err, errlen);
    if (rc)
        return rc;
    FILE *in = fdopen(fd, "r");
    if (!in) {
        int e = errno;
        close(fd);
        target_kill_group(pid);
        SET_ERR("fdopen: %s", strerror(e));
        return -e;
    }
    char line[4096];
    while (rc == 0 && fgets(line, sizeof line, in)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (*line)
            rc = target_keyset_add(found, line);
    }
    fclose(in);
    int st = 0;
    *ok = target_wait(pid, 60000, &st) && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    target_kill_group(pid);
    if (rc)
        SET_ERR("recording a key: %s", strerror(-rc));
    return rc;
}

const struct target_ops target_contract = {
    .name = "contract",
    .setup = contract_setup,
    .run = contract_run,
    .check = contract_check,
};
