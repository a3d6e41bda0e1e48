/* target_contract: any program, through `--run CMD --check CMD`.
 *
 * DESIGN.  Both commands run under /bin/sh -c in the directory they work
 * on, which FSYNCLAB_DATA also names: the data directory (the run) or the
 * image (the check).  The run prints `ack KEY` after each write it
 * acknowledges; the line is timestamped when fsynclab reads it, which is
 * after the program acknowledged, so the cut rule (an ack counts for a cut
 * only if read before it) never blames the program for an ack it had not
 * given yet.  A program that buffers its stdout hands over its acks late
 * and in bursts: its windows look shorter than they are.  Such reads end
 * in the middle of a line (a program that writes whole lines gives reads
 * that end at one), which is counted and warned about.  The check prints
 * the keys it finds, one a line, and exits 0, or non-zero when it cannot
 * recover the image; it gets --check-timeout.  The sqlite target reuses
 * the reading half (target_read_acks), which also takes `setting KEY
 * VALUE` lines: a setting as the program reports it.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "recorder/targets/internal.h"
#include "powerloss/powerloss.h"


static const char *const contract_keys[] = {"promise", "promised_window_ms", "on_fsync_error", NULL};

static int contract_setup(const struct recorder_crash_config *cfg, struct recorder_crash_result *out,
                          char *err, size_t errlen)
{
    if (!cfg->run_cmd || !cfg->check_cmd) {
        (void)PL_ERR(err, errlen, 0, "target contract needs --run CMD and --check CMD");
        return -EINVAL;
    }
    out->promised = target_setting(cfg, "promise", "an acknowledged write is durable");
    out->fault.documented = target_setting(cfg, "on_fsync_error", NULL);   /* --fault: its documentation */
    const char *w = target_setting(cfg, "promised_window_ms", "0");
    if (target_number(w, 0, 3600000, &out->promised_window_ms) != 0) {
        (void)PL_ERR(err, errlen, 0, "--set promised_window_ms: milliseconds from 0 to 3600000, not \"%s\"", w);
        return -EINVAL;
    }
    for (unsigned i = 0; i < cfg->nsettings; i++)   /* fsynclab's own: applied as given */
        target_applied(out, cfg->settings[i].key, cfg->settings[i].value);
    return 0;
}

/* "KEY VALUE" */
static void contract_setting(struct target_trial *t, const char *line, size_t len)
{
    char kv[256];
    snprintf(kv, sizeof kv, "%.*s", (int)len, line);
    char *sp = strchr(kv, ' ');
    if (!sp)
        return;
    *sp = '\0';
    target_applied(t->out, kv, sp + 1);
}

int target_read_acks(struct target_trial *t, int fd, char *err, size_t errlen)
{
    char buf[65536];
    size_t have = 0;
    for (;;) {
        if (target_stopped()) {
            (void)PL_ERR(err, errlen, 0, "interrupted");
            return -EINTR;
        }
        if (!target_running(t))
            return 0;
        uint64_t now = target_now_ns(), until = t->kill_ns;
        if (now >= until)   /* no ack yet: wait for the first */
            until += (uint64_t)target_timeout_ms(t) * 1000000ull;
        struct pollfd p = {fd, POLLIN, 0};
        int wait_ms = now < until ? (int)((until - now + 999999) / 1000000) : 0;
        int r = poll(&p, 1, wait_ms);
        if (target_stopped()) {
            (void)PL_ERR(err, errlen, 0, "interrupted");
            return -EINTR;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            (void)PL_ERR(err, errlen, 0, "poll: %s", strerror(e));
            return -e;
        }
        if (r == 0)
            continue;
        ssize_t n = read(fd, buf + have, sizeof buf - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {   /* the program ended (or closed stdout): the kill is now */
            t->kill_ns = target_now_ns();
            t->exited = 1;
            return 0;
        }
        uint64_t ns = target_now_ns();
        have += (size_t)n;
        t->ack_reads++;
        t->ack_reads_partial += buf[have - 1] != '\n';
        size_t start = 0;
        for (size_t i = 0; i < have; i++) {
            if (buf[i] != '\n')
                continue;
            if (i - start > 4 && memcmp(buf + start, "ack ", 4) == 0 &&
                target_ack(t, buf + start + 4, i - start - 4, ns) != 0) {
                (void)PL_ERR(err, errlen, 0, "recording an ack: %s", strerror(ENOMEM));
                return -ENOMEM;
            }
            if (i - start > 8 && memcmp(buf + start, "setting ", 8) == 0)
                contract_setting(t, buf + start + 8, i - start - 8);
            if (i - start > 6 && memcmp(buf + start, "error ", 6) == 0) {   /* told its client */
                char what[160];
                snprintf(what, sizeof what, "%.*s", (int)(i - start), buf + start);
                target_client_error(t, ns, what, 0);
            }
            start = i + 1;
        }
        memmove(buf, buf + start, have - start);
        have -= start;
        if (have == sizeof buf)
            have = 0;   /* a line longer than the buffer is not an ack */
    }
}

void target_drain_acks(struct target_trial *t, int fd)
{
    char buf[65536];
    size_t have = 0;
    for (;;) {   /* the writers are dead: what is left is in the pipe, or nothing */
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 0) <= 0 || have == sizeof buf)
            return;
        ssize_t n = read(fd, buf + have, sizeof buf - have);
        if (n <= 0)
            return;
        have += (size_t)n;
        size_t start = 0;
        for (size_t i = 0; i < have; i++) {
            if (buf[i] != '\n')
                continue;
            buf[i] = '\0';
            if (i - start > 4 && memcmp(buf + start, "ack ", 4) == 0 &&
                target_keyset_add(&t->late, buf + start + 4) != 0)
                return;
            start = i + 1;
        }
        memmove(buf, buf + start, have - start);
        have -= start;
    }
}

static int contract_run(struct target_trial *t, char *err, size_t errlen)
{
    char env[PATH_MAX + 32], ops[32];
    snprintf(env, sizeof env, "FSYNCLAB_DATA=%s", t->data);
    snprintf(ops, sizeof ops, "FSYNCLAB_OPS=%u", t->ops);   /* explore: stop after this many acks */
    char *envv[] = {env, t->ops ? ops : NULL, NULL};
    char *argv[] = {"/bin/sh", "-c", (char *)t->cfg->run_cmd, NULL};
    int fd;
    pid_t pid;
    t->cwd = t->data;
    int rc = target_spawn(t, argv, envv, 1, 0, &fd, &pid, err, errlen);
    t->cwd = NULL;
    if (rc)
        return rc;
    t->kill_ns = target_now_ns() + t->run_ns;
    rc = target_read_acks(t, fd, err, errlen);
    uint64_t kill_ns = target_now_ns();
    if (t->exited && !target_wait(pid, 500, &t->exit_status))
        t->exit_status = -1;   /* it closed its stdout and went on */
    target_kill_group(pid);
    target_drain_acks(t, fd);
    close(fd);
    if (kill_ns < t->kill_ns)
        t->kill_ns = kill_ns;
    return rc;
}

/* Reads the check's keys until it closes its stdout or the deadline. */
static int contract_keys_in(struct target_trial *t, int fd, uint64_t deadline, struct target_keyset *found,
                            char *err, size_t errlen)
{
    char buf[8192], line[4096];
    size_t have = 0;
    for (;;) {
        uint64_t now = target_now_ns();
        if (target_stopped()) {
            (void)PL_ERR(err, errlen, 0, "interrupted");
            return -EINTR;
        }
        if (now >= deadline) {
            (void)PL_ERR(err, errlen, 0, "--check did not finish within %d ms (--check-timeout S): %s", target_timeout_ms(t),
                    t->cfg->check_cmd);
            return -ETIMEDOUT;
        }
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, (int)((deadline - now + 999999) / 1000000));
        if (r <= 0)
            continue;   /* EINTR or the deadline: both checked above */
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] != '\n' && buf[i] != '\r') {
                if (have < sizeof line - 1)
                    line[have++] = buf[i];
                continue;
            }
            line[have] = '\0';
            int rc = have ? target_keyset_add(found, line) : 0;
            have = 0;
            if (rc) {
                (void)PL_ERR(err, errlen, 0, "recording a key: %s", strerror(-rc));
                return rc;
            }
        }
    }
    line[have] = '\0';
    int rc = have ? target_keyset_add(found, line) : 0;
    if (rc)
        (void)PL_ERR(err, errlen, 0, "recording a key: %s", strerror(-rc));
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
    t->cwd = image;
    int rc = target_spawn(t, argv, envv, 0, 0, &fd, &pid, err, errlen);
    t->cwd = NULL;
    if (rc)
        return rc;
    uint64_t deadline = target_now_ns() + (uint64_t)target_timeout_ms(t) * 1000000ull;
    rc = contract_keys_in(t, fd, deadline, found, err, errlen);
    close(fd);
    int st = 0;
    uint64_t now = target_now_ns();
    int left_ms = now < deadline ? (int)((deadline - now) / 1000000) : 0;
    int exited = rc == 0 && target_wait(pid, left_ms, &st);
    *ok = exited && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (rc == 0 && !exited) {
        rc = target_stopped() ? -EINTR : -ETIMEDOUT;
        (void)PL_ERR(err, errlen, 0, "--check did not exit within %d ms (--check-timeout S): %s", target_timeout_ms(t),
                t->cfg->check_cmd);
    }
    target_kill_group(pid);
    return rc;
}

const struct target_ops target_contract = {
    .name = "contract",
    .keys = contract_keys,
    .setup = contract_setup,
    .run = contract_run,
    .check = contract_check,
};
