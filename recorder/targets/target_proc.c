/* target_proc: starting, killing and reaping the programs under test, and
 * the small containers every target uses (acks, key sets, settings).
 *
 * DESIGN.  Every program runs in its own process group, so that one
 * kill(-pgid, SIGKILL) takes the whole tree (PostgreSQL's backends,
 * Redis's rewrite child, a shell's children).  The caller becomes a child
 * subreaper once, so orphans of the group are reparented to it and
 * waitpid(-pgid) can reap them: nothing is left behind, not even a zombie.
 * Dropping privileges (PostgreSQL refuses root) happens in the child
 * between fork and exec: setgid, then setuid.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "recorder/targets/internal.h"
#include "powerloss/powerloss.h"
#include "wal/wal.h"


uint64_t target_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The kill comes no earlier than the first ack (a trial without one could
 * not have lost anything): a slow start on a loaded machine moves it. */
int target_running(const struct target_trial *t)
{
    uint64_t now = target_now_ns();
    if (target_stopped())
        return 0;
    return now < t->kill_ns || (!t->nacks && now < t->kill_ns + (uint64_t)target_timeout_ms(t) * 1000000ull);
}

int target_ack(struct target_trial *t, const char *key, size_t len, uint64_t ns)
{
    if (!t->nacks && ns > t->kill_ns)
        t->kill_ns = ns;
    if (t->nacks == t->capacks) {
        size_t cap = t->capacks ? t->capacks * 2 : 1024;
        struct target_ack *g = realloc(t->acks, cap * sizeof *g);
        if (!g)
            return -ENOMEM;
        t->acks = g;
        t->capacks = cap;
    }
    char *k = strndup(key, len);
    if (!k)
        return -ENOMEM;
    t->acks[t->nacks++] = (struct target_ack){k, ns};
    return 0;
}

/* ---- key sets --------------------------------------------------------------------- */
static size_t keyset_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ull;
    return (size_t)(h ^ (h >> 31));
}

int target_keyset_add(struct target_keyset *s, const char *key)
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        char **g = calloc(cap, sizeof *g);
        if (!g)
            return -ENOMEM;
        for (size_t i = 0; i < s->cap; i++)
            if (s->slots[i]) {
                size_t k = keyset_hash(s->slots[i]) & (cap - 1);
                while (g[k])
                    k = (k + 1) & (cap - 1);
                g[k] = s->slots[i];
            }
        free(s->slots);
        s->slots = g;
        s->cap = cap;
    }
    size_t k = keyset_hash(key) & (s->cap - 1);
    while (s->slots[k]) {
        if (strcmp(s->slots[k], key) == 0)
            return 0;
        k = (k + 1) & (s->cap - 1);
    }
    s->slots[k] = strdup(key);
    if (!s->slots[k])
        return -ENOMEM;
    s->n++;
    return 0;
}

int target_keyset_has(const struct target_keyset *s, const char *key)
{
    if (!s->cap)
        return 0;
    for (size_t k = keyset_hash(key) & (s->cap - 1); s->slots[k]; k = (k + 1) & (s->cap - 1))
        if (strcmp(s->slots[k], key) == 0)
            return 1;
    return 0;
}

void target_keyset_free(struct target_keyset *s)
{
    for (size_t i = 0; i < s->cap; i++)
        free(s->slots[i]);
    free(s->slots);
    memset(s, 0, sizeof *s);
}

/* ---- SIGINT and SIGTERM ---------------------------------------------------------------
 * The guard is fsynclab's one (wal/scratch.c), entered deferred while a
 * crash run holds it: a SIGINT or SIGTERM is only noted, and every loop
 * that waits (acks, a server's start, a check, target_wait) looks at
 * target_stopped() and unwinds through the same kill, reap and IPC removal
 * as a normal end; then target_crash_run removes the trial directories and
 * ends the program by the signal.  A second signal ends fsynclab at once.
 * The processes target_spawn started are listed for target_reap_all. */
int target_stopped(void)
{
    return wal_scratch_stopped();
}

void target_guard(int enter)
{
    static int guarded;
    if (enter && !guarded)
        wal_scratch_guard_enter_deferred();
    else if (!enter && guarded)
        wal_scratch_guard_leave_deferred();
    else
        return;
    guarded = enter;
}

/* ---- processes --------------------------------------------------------------------- */
static void target_child(struct target_trial *t, char *const argv[], char *const env[], int recorded,
                         int drop, int pipe_w)
{
    setpgid(0, 0);
    signal(SIGPIPE, SIG_DFL);
    if (pipe_w >= 0 && dup2(pipe_w, STDOUT_FILENO) < 0)
        _exit(126);
    char log[PATH_MAX + 16];   /* servers talk on stderr (Redis on stdout): keep it with the trial */
    snprintf(log, sizeof log, "%s/stderr.log", t->base);
    int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int quiet = logfd >= 0 && getenv("FSYNCLAB_REC_VERBOSE") == NULL;
    if (pipe_w < 0) {
        int null = quiet ? logfd : open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, STDOUT_FILENO);
    }
    if (quiet)
        dup2(logfd, STDERR_FILENO);
    for (size_t i = 0; env && env[i]; i++)
        if (putenv(env[i]) != 0)
            _exit(126);
    if (t->cwd && chdir(t->cwd) != 0) {
        fprintf(stderr, "chdir(%s): %s\n", t->cwd, strerror(errno));
        _exit(126);
    }
    char faults[RECORDER_MAX_FAULTS * 300];
    if (recorded && (recorder_fault_env(&t->cfg->faults, faults, sizeof faults) != 0 ||
                     recorder_arm_env(t->lib, t->data, t->journal, faults) != 0))
        _exit(126);
    if (drop && (setgid(t->gid) != 0 || setuid(t->uid) != 0))
        _exit(126);
    execvp(argv[0], argv);
    fprintf(stderr, "execvp(%s): %s\n", argv[0], strerror(errno));
    _exit(127);
}

int target_spawn(struct target_trial *t, char *const argv[], char *const env[], int recorded,
                 int drop, int *out_fd, pid_t *pid, char *err, size_t errlen)
{
    static int subreaper;
    if (!subreaper && prctl(PR_SET_CHILD_SUBREAPER, 1) == 0)
        subreaper = 1;
    int p[2] = {-1, -1};
    if (out_fd && pipe2(p, O_CLOEXEC) != 0) {
        int e = errno;
        (void)PL_ERR(err, errlen, 0, "pipe2: %s", strerror(e));
        return -e;
    }
    fflush(NULL);
    pid_t c = fork();
    if (c < 0) {
        int e = errno;
        (void)PL_ERR(err, errlen, 0, "fork: %s", strerror(e));
        if (out_fd)
            close(p[0]), close(p[1]);
        return -e;
    }
    if (c == 0)
        target_child(t, argv, env, recorded, drop, p[1]);
    setpgid(c, c);   /* also here: no race with a kill right after fork */
    if (out_fd) {
        close(p[1]);
        *out_fd = p[0];
    }
    *pid = c;
    return 0;
}

/* The children of parent, from /proc/N/stat (field 4, after the ')' that
 * ends the command name). */
static size_t proc_children(pid_t parent, pid_t *out, size_t max)
{
    DIR *d = opendir("/proc");
    size_t n = 0;
    struct dirent *de;
    while (d && n < max && (de = readdir(d)) != NULL) {
        char path[300], line[512];
        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(line, 1, sizeof line - 1, f);
        fclose(f);
        line[len] = '\0';
        const char *close_paren = strrchr(line, ')');
        int ppid;
        char state;
        if (close_paren && sscanf(close_paren + 1, " %c %d", &state, &ppid) == 2 && ppid == parent)
            out[n++] = (pid_t)atoi(de->d_name);
    }
    if (d)
        closedir(d);
    return n;
}

/* PostgreSQL's backends call setsid(): a process group does not hold the
 * whole tree.  So the tree is frozen with SIGSTOP, parent before children
 * (a stopped process forks no more), then killed, then reaped parents
 * first: a parent's exit hands its children to us, the subreaper. */
#define KILL_MAX 1024
void target_kill_group(pid_t root)
{
    if (root <= 0)
        return;
    static pid_t tree[KILL_MAX];
    size_t n = 0;
    kill(root, SIGSTOP);
    kill(-root, SIGSTOP);
    tree[n++] = root;
    for (size_t i = 0; i < n && n < KILL_MAX; i++) {
        pid_t kids[256];
        size_t k = proc_children(tree[i], kids, 256);
        for (size_t j = 0; j < k && n < KILL_MAX; j++) {
            kill(kids[j], SIGSTOP);
            tree[n++] = kids[j];
        }
    }
    kill(-root, SIGKILL);
    for (size_t i = 0; i < n; i++)
        kill(tree[i], SIGKILL);
    int st;
    for (size_t i = 0; i < n; i++)
        while (waitpid(tree[i], &st, 0) < 0 && errno == EINTR)
            ;
    for (;;) {   /* whatever else the group held */
        pid_t r = waitpid(-root, &st, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;   /* ECHILD: no member of the group is left to reap */
    }
}

int target_wait(pid_t pid, int timeout_ms, int *status)
{
    for (int waited = 0;; waited += 10) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 1;
        if (r < 0 && errno != EINTR)
            return 0;
        if (waited >= timeout_ms || target_stopped())
            return 0;
        poll(NULL, 0, 10);
    }
}

int target_helper(const struct target_trial *t, const char *name, char *out, size_t outlen)
{
    const char *slash = strrchr(t->lib, '/');
    int len = slash ? (int)(slash - t->lib) : 1;
    if ((size_t)snprintf(out, outlen, "%.*s/%s", len, slash ? t->lib : ".", name) >= outlen)
        return -ENAMETOOLONG;
    return access(out, X_OK) == 0 ? 0 : -errno;
}

int target_run_quiet(struct target_trial *t, char *const argv[], int drop, int timeout_ms,
                     int *status, char *err, size_t errlen)
{
    pid_t pid;
    int rc = target_spawn(t, argv, NULL, 0, drop, NULL, &pid, err, errlen);
    if (rc)
        return rc;
    if (!target_wait(pid, timeout_ms, status)) {
        target_kill_group(pid);
        if (target_stopped()) {
            (void)PL_ERR(err, errlen, 0, "%s: interrupted", argv[0]);
            return -EINTR;
        }
        (void)PL_ERR(err, errlen, 0, "%s: no exit within %d ms", argv[0], timeout_ms);
        return -ETIMEDOUT;
    }
    target_kill_group(pid);
    return 0;
}

void target_reap_all(void)
{
    for (int round = 0; round < 64; round++) {
        pid_t kids[256];
        size_t n = proc_children(getpid(), kids, 256);
        if (!n)
            break;
        for (size_t i = 0; i < n; i++)
            target_kill_group(kids[i]);
    }
}

int target_timeout_ms(const struct target_trial *t)
{
    return t->cfg->check_timeout_ms ? (int)t->cfg->check_timeout_ms : 60000;
}

long target_log_size(const struct target_trial *t)
{
    char log[PATH_MAX + 16];
    snprintf(log, sizeof log, "%s/stderr.log", t->base);
    struct stat st;
    return stat(log, &st) == 0 ? (long)st.st_size : 0;
}

void target_log_tail(const struct target_trial *t, long from, char *out, size_t outlen)
{
    char log[PATH_MAX + 16], buf[2048];
    out[0] = '\0';
    snprintf(log, sizeof log, "%s/stderr.log", t->base);
    int fd = open(log, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    long end = target_log_size(t);
    long at = end - (long)sizeof buf + 1 > from ? end - (long)sizeof buf + 1 : from;
    ssize_t n = at < end ? pread(fd, buf, sizeof buf - 1, at) : 0;
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    const char *lines[3] = {0};   /* the last three non-empty lines, oldest first */
    int k = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        if (!*line)
            continue;
        if (k == 3)
            lines[0] = lines[1], lines[1] = lines[2], k = 2;
        lines[k++] = line;
    }
    size_t used = 0;
    for (int i = 0; i < k && used < outlen; i++) {
        int w = snprintf(out + used, outlen - used, "%s%s", i ? " | " : "", lines[i]);
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

void target_status_text(int status, char *out, size_t outlen)
{
    if (status < 0)
        snprintf(out, outlen, "no exit status");
    else if (WIFEXITED(status))
        snprintf(out, outlen, "exit status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, outlen, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(out, outlen, "wait status %d", status);
}
