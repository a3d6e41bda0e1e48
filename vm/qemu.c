/* DESIGN: one QEMU guest per trial, and its power cut.
 *
 * QEMU runs in its own process group with no network (-nic none), the data
 * disk behind blklogwrites with a write cache (so that the guest sends
 * flushes; cache.no-flush=on skips only the host's own fdatasync, which a
 * killed QEMU on a living host does not need), and the serial console on a
 * pipe.  The host reads the console with poll() every millisecond or
 * sooner and timestamps each line as it reads it: the guest acknowledged
 * before the host saw the line, so the host's acks are a lower bound of
 * the guest's, with times that are late, never early.  At each poll the
 * host also notes the write log's size, which later dates the flushes in
 * the log (see run.c).  The kill is SIGKILL to the whole group, then
 * waitpid; lines still in the pipe were written before the kill and get
 * the kill's time.
 *
 * KVM is probed once per run with a boot that must answer within seconds:
 * on paravirtual hosts /dev/kvm opens and the guest then hangs, so trying
 * KVM first with TCG as QEMU's fallback does not work.
 */
#include "vm/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- the scratch directory and signals ------------------------------------
 * wal's guard (wal/scratch.c) is fsynclab's one SIGINT/SIGTERM handler:
 * QEMU's process group and a running e2fsck or debugfs are handed to it,
 * and the run's scratch directory, so that a signal kills and reaps them
 * first, then removes the directory whole and passes the signal on. */
int vm_scratch_open(const char *dir, char *sub, size_t len, char *err, size_t errlen)
{
    if ((size_t)snprintf(sub, len, "%s/fsynclab-vm-%ld", dir ? dir : ".", (long)getpid()) >= len) {
        snprintf(err, errlen, "--dir %s: the path is too long", dir ? dir : ".");
        return -ENAMETOOLONG;
    }
    if (mkdir(sub, 0700) < 0) {
        int rc = -errno;
        snprintf(err, errlen, "mkdir(%s): %s", sub, strerror(errno));
        return rc;
    }
    wal_scratch_guard_enter();
    int rc = wal_scratch_tree(sub, 1);
    if (rc < 0) {
        snprintf(err, errlen, "the signal guard cannot take %s: %s", sub, strerror(-rc));
        wal_scratch_guard_leave();
        rmdir(sub);
    }
    return rc;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

void vm_remove_tree(const char *path)
{
    nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

void vm_scratch_close(const char *sub, const char *const *paths, size_t n)
{
    for (size_t i = 0; i < n; i++)
        unlink(paths[i]);
    vm_remove_tree(sub);
    wal_scratch_tree(sub, 0);
    wal_scratch_guard_leave();
}

/* ---- running programs ------------------------------------------------------- */

/* SIGINT and SIGTERM held back from a fork until the child is recorded,
 * so that the handler never misses one; *old restores the mask. */
static void block_fatal_signals(sigset_t *old)
{
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, old);
}
int vm_exec(const char *const *argv)
{
    return vm_exec_in(argv, NULL, NULL);
}

int vm_exec_in(const char *const *argv, const char *cwd, const char *out)
{
    sigset_t old;
    block_fatal_signals(&old);   /* the handler must see the child */
    pid_t pid = fork();
    if (pid < 0) {
        int rc = -errno;
        sigprocmask(SIG_SETMASK, &old, NULL);
        return rc;
    }
    if (pid == 0) {
        setpgid(0, 0);   /* a check may start a server: the group ends with it */
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        sigprocmask(SIG_SETMASK, &old, NULL);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, STDIN_FILENO);
            dup2(null, STDOUT_FILENO);
            dup2(null, STDERR_FILENO);
        }
        int to = out ? open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644) : -1;
        if ((out && (to < 0 || dup2(to, STDOUT_FILENO) < 0)) || (cwd && chdir(cwd) < 0))
            _exit(126);
        alarm(300);   /* a command that hangs ends, as a check boot does */
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    setpgid(pid, pid);   /* either side may run first */
    wal_scratch_child(pid);
    int grouped = wal_scratch_group(pid, 1) == 0;
    sigprocmask(SIG_SETMASK, &old, NULL);
    int status, rc = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            rc = -errno;
            break;
        }
    kill(-pid, SIGKILL);   /* whatever the command left running in its group (a server) */
    while (waitpid(-pid, NULL, WNOHANG) > 0)
        ;
    if (grouped)
        wal_scratch_group(pid, 0);
    wal_scratch_child(0);
    if (rc < 0)
        return rc;
    if (!WIFEXITED(status))
        return -EINTR;
    return WEXITSTATUS(status) == 127 ? -ENOENT : WEXITSTATUS(status);
}

/* ---- the command line --------------------------------------------------------- */
#define MAX_ARGS (48 + 4 * (VM_CHECK_MAX + 1))

struct argv_buf {
    const char *v[MAX_ARGS];
    size_t n;
    char store[7][4400];
    char disks[VM_CHECK_MAX + 1][4400];
};

static void add(struct argv_buf *b, const char *s)
{
    if (b->n < MAX_ARGS - 1)
        b->v[b->n++] = s;
    b->v[b->n] = NULL;
}

/* A check boot's disks: the output disk, then the images, plain files
 * (no write log).  The guest's mounts replay journals into the images. */
static void add_check_disks(struct argv_buf *b, const struct vm_guest_args *a)
{
    for (size_t i = 0; i <= a->n_images && i <= VM_CHECK_MAX; i++) {
        snprintf(b->disks[i], sizeof b->disks[i],
                 "file=%s,if=virtio,format=raw,cache=unsafe", i ? a->images[i - 1] : a->out);
        add(b, "-drive");
        add(b, b->disks[i]);
    }
}

static void build_argv(struct argv_buf *b, const struct vm_guest_args *a, int probe)
{
    int kvm = strcmp(a->accel, "kvm") == 0;
    b->n = 0;
    snprintf(b->store[0], sizeof b->store[0], "%s/vmlinux", a->kit);
    snprintf(b->store[1], sizeof b->store[1], "%s/initramfs.cpio", a->kit);
    snprintf(b->store[2], sizeof b->store[2], "console=ttyS0 quiet loglevel=3 panic=-1 %s",
             probe ? "fsl_mode=probe" : a->append);
    snprintf(b->store[5], sizeof b->store[5], "%u", a->memory_mib ? a->memory_mib : 256);
    const char *items[] = {
        a->qemu, "-accel", kvm ? "kvm" : "tcg", "-cpu", kvm ? "host" : "max", "-m", b->store[5],
        "-smp", "1", "-nodefaults", "-no-user-config", "-display", "none", "-bios",
        "/usr/share/qemu/qboot.rom", "-serial", "stdio", "-monitor", "none", "-no-reboot",
        "-nic", "none", "-kernel", b->store[0], "-initrd", b->store[1], "-append", b->store[2],
    };
    for (size_t i = 0; i < sizeof items / sizeof items[0]; i++)
        add(b, items[i]);
    if (!probe && a->root9p) {
        add(b, "-fsdev");
        add(b, "local,id=hostroot,path=/,security_model=none,readonly=on");
        add(b, "-device");
        add(b, "virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot");
    }
    if (!probe && a->share) {
        snprintf(b->store[6], sizeof b->store[6],
                 "local,id=fslshare,path=%s,security_model=none", a->share);
        add(b, "-fsdev");
        add(b, b->store[6]);
        add(b, "-device");
        add(b, "virtio-9p-pci,fsdev=fslshare,mount_tag=fslshare");
    }
    if (!probe && a->out) {
        add_check_disks(b, a);
        return;
    }
    if (probe) {
        snprintf(b->store[3], sizeof b->store[3],
                 "driver=file,filename=%s/base.img,node-name=base,read-only=on", a->kit);
        add(b, "-blockdev");
        add(b, b->store[3]);
        add(b, "-device");
        add(b, "virtio-blk-pci,drive=base");
        return;
    }
    snprintf(b->store[3], sizeof b->store[3],
             "driver=file,filename=%s,node-name=base,cache.no-flush=on", a->disk);
    snprintf(b->store[4], sizeof b->store[4],
             "driver=file,filename=%s,node-name=logf,cache.no-flush=on", a->wlog);
    add(b, "-blockdev");
    add(b, b->store[3]);
    add(b, "-blockdev");
    add(b, b->store[4]);
    add(b, "-blockdev");
    add(b, "driver=blklogwrites,file=base,log=logf,log-sector-size=512,node-name=lw");
    add(b, "-device");
    add(b, "virtio-blk-pci,drive=lw,write-cache=on");
}

/* Starts QEMU in a process group of its own, console on *out_fd. */
static int start_qemu(const struct vm_guest_args *a, int probe, pid_t *pid_out, int *out_fd,
                      char *err, size_t errlen)
{
    static struct argv_buf b;
    build_argv(&b, a, probe);
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        int rc = -errno;
        snprintf(err, errlen, "pipe2: %s", strerror(errno));
        return rc;
    }
    sigset_t old;
    block_fatal_signals(&old);   /* the handler must see the group */
    pid_t pid = fork();
    if (pid < 0) {
        int rc = -errno;
        snprintf(err, errlen, "fork: %s", strerror(errno));
        sigprocmask(SIG_SETMASK, &old, NULL);
        close(p[0]);
        close(p[1]);
        return rc;
    }
    if (pid == 0) {
        setpgid(0, 0);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        sigprocmask(SIG_SETMASK, &old, NULL);
        int in = open("/dev/null", O_RDONLY);
        int errf = open(a->errlog, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || errf < 0 || dup2(in, STDIN_FILENO) < 0 || dup2(p[1], STDOUT_FILENO) < 0 ||
            dup2(errf, STDERR_FILENO) < 0)
            _exit(126);
        execvp(b.v[0], (char *const *)b.v);
        _exit(127);
    }
    setpgid(pid, pid);   /* also here: the child may not have run yet */
    int rc = wal_scratch_group(pid, 1);
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (rc < 0) {   /* the guard is full: no QEMU that a signal could leave behind */
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        close(p[0]);
        close(p[1]);
        snprintf(err, errlen, "the signal guard cannot take QEMU's process group: %s",
                 strerror(-rc));
        return rc;
    }
    close(p[1]);
    *pid_out = pid;
    *out_fd = p[0];
    return 0;
}

static void kill_and_reap(pid_t pid)
{
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    wal_scratch_group(pid, 0);
}

/* ---- the console ----------------------------------------------------------------- */
static int grow(void **p, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 256;
    void *q = realloc(*p, c * size);
    if (!q)
        return -ENOMEM;
    *p = q;
    *cap = c;
    return 0;
}

static void keep_tail(struct vm_trial *t, const char *line)
{
    size_t have = strlen(t->tail), add_len = strlen(line) + 1, cap = sizeof t->tail - 1;
    if (add_len > cap)
        return;
    if (have + add_len > cap) {
        memmove(t->tail, t->tail + (have + add_len - cap), cap - add_len + 1);
        have = strlen(t->tail);
    }
    snprintf(t->tail + have, sizeof t->tail - have, "%s|", line);
}

void vm_trial_line(struct vm_trial *t, const char *line, uint64_t now)
{
    char *end;
    unsigned long long a, b;
    switch (line[0]) {
    case 'R':
        a = strtoull(line + 1, &end, 10);
        if (*end || t->ready_ns)
            break;
        t->ready_ns = now;
        t->record_size = (uint32_t)a;
        return;
    case 'a':
        if (t->on_key && strncmp(line, "ack ", 4) == 0 && line[4]) {
            t->on_key(t->key_ctx, line + 4, now);
            t->acks++;
            if (!t->first_ack_ns)
                t->first_ack_ns = now;
            return;
        }
        a = strtoull(line + 1, &end, 10);
        if (*end || a == 0 || a > t->entries)
            break;
        if (!t->ack_ns[a]) {
            t->ack_ns[a] = now;
            t->acks++;
            if (!t->first_ack_ns)
                t->first_ack_ns = now;
        }
        return;
    case 's':
        a = strtoull(line + 1, &end, 10);
        if (*end != ' ')
            break;
        b = strtoull(end + 1, &end, 10);
        if (*end || grow((void **)&t->syncs, &t->cap_syncs, t->n_syncs, sizeof *t->syncs) < 0)
            break;
        t->syncs[t->n_syncs++] = (struct vm_sync_seen){ now, a, b * 1000ull };
        return;
    case 'b':
        if (line[1] || grow((void **)&t->begins, &t->cap_begins, t->n_begins, sizeof *t->begins) < 0)
            break;
        t->begins[t->n_begins++] = now;
        return;
    case 'D':
        t->done = 1;
        return;
    case 'E':
        if (!t->error[0])
            snprintf(t->error, sizeof t->error, "%s", line + 1);
        return;
    }
    keep_tail(t, line);
}

/* Reads what the pipe holds; complete lines go to fn(ctx, line, now).
 * Returns 0, or 1 at end of file. */
static int read_lines(int fd, char *buf, size_t cap, size_t *have,
                      void (*fn)(void *ctx, const char *line, uint64_t now), void *ctx,
                      uint64_t now)
{
    ssize_t r = read(fd, buf + *have, cap - 1 - *have);
    if (r < 0)
        return errno == EINTR || errno == EAGAIN ? 0 : 1;
    if (r == 0)
        return 1;
    *have += (size_t)r;
    size_t start = 0;
    for (size_t i = 0; i < *have; i++) {
        if (buf[i] != '\n')
            continue;
        buf[i] = 0;
        if (i > start && buf[i - 1] == '\r')
            buf[i - 1] = 0;
        fn(ctx, buf + start, now);
        start = i + 1;
    }
    memmove(buf, buf + start, *have - start);
    *have -= start;
    if (*have == cap - 1)
        *have = 0;   /* a line too long for anything we print: forget it */
    return 0;
}

static void trial_line(void *ctx, const char *line, uint64_t now)
{
    vm_trial_line(ctx, line, now);
}

static int read_console(int fd, char *buf, size_t cap, size_t *have, struct vm_trial *t,
                        uint64_t now)
{
    return read_lines(fd, buf, cap, have, trial_line, t, now);
}

/* ---- the check boot ------------------------------------------------------------------ */
struct check_ctx {
    void (*line)(void *ctx, const char *text);
    void *ctx;
    int done;
    char tail[300];
};

static void check_line(void *arg, const char *line, uint64_t now)
{
    struct check_ctx *c = arg;
    (void)now;
    if (strcmp(line, "C") == 0) {
        c->done = 1;
        return;
    }
    if (strchr("FMUEKXS", line[0]) && line[0])
        c->line(c->ctx, line);
    size_t have = strlen(c->tail);
    if (have + strlen(line) + 2 >= sizeof c->tail)
        have = 0;
    snprintf(c->tail + have, sizeof c->tail - have, "%s|", line);
}

int vm_guest_check(const struct vm_guest_args *a, void (*line)(void *ctx, const char *text),
                   void *ctx, char *err, size_t errlen)
{
    pid_t pid;
    int fd, rc;
    if (a->n_images > VM_CHECK_MAX) {
        snprintf(err, errlen, "a check boot takes at most %d images, not %zu", VM_CHECK_MAX,
                 a->n_images);
        return -EINVAL;
    }
    if ((rc = start_qemu(a, 0, &pid, &fd, err, errlen)) < 0)
        return rc;
    static char buf[8192];
    size_t have = 0;
    struct check_ctx c = { line, ctx, 0, "" };
    uint64_t start = wal_now_ns(), limit = (uint64_t)(a->boot_timeout_s * 1e9);
    int eof = 0;
    while (!c.done && !eof && wal_now_ns() - start < limit) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 50) > 0)
            eof = read_lines(fd, buf, sizeof buf, &have, check_line, &c, wal_now_ns());
    }
    kill_and_reap(pid);
    close(fd);
    if (c.done)
        return 0;
    char qerr[200] = "";
    FILE *f = fopen(a->errlog, "r");
    if (f) {
        size_t n = fread(qerr, 1, sizeof qerr - 1, f);
        qerr[n] = 0;
        fclose(f);
    }
    snprintf(err, errlen, "check boot %s within %.0f s (%s accel); console: %.150s; QEMU: %.150s",
             eof ? "ended before it was done" : "did not finish", a->boot_timeout_s, a->accel,
             c.tail, qerr);
    return eof ? -EIO : -ETIMEDOUT;
}

static void note_size(struct vm_trial *t, int wlog_fd, uint64_t last_poll_ns)
{
    struct stat st;
    if (wlog_fd < 0 || fstat(wlog_fd, &st) < 0)
        return;
    uint64_t size = (uint64_t)st.st_size;
    if (t->n_sizes && t->sizes[t->n_sizes - 1].size == size)
        return;
    if (grow((void **)&t->sizes, &t->cap_sizes, t->n_sizes, sizeof *t->sizes) == 0)
        t->sizes[t->n_sizes++] = (struct vm_size_seen){ last_poll_ns, size };
}

int vm_guest_trial(const struct vm_guest_args *a, struct vm_trial *t, char *err, size_t errlen)
{
    pid_t pid;
    int fd, rc;
    int wlog_fd = open(a->wlog, O_RDONLY | O_CLOEXEC);
    t->start_ns = wal_now_ns();
    if ((rc = start_qemu(a, 0, &pid, &fd, err, errlen)) < 0) {
        if (wlog_fd >= 0)
            close(wlog_fd);
        return rc;
    }
    static char buf[8192];
    size_t have = 0;
    uint64_t kill_at = 0, last_poll = t->start_ns;
    uint64_t boot_deadline = t->start_ns + (uint64_t)(a->boot_timeout_s * 1e9);
    int eof = 0;
    rc = 0;
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int pr = poll(&p, 1, 1);
        uint64_t now = wal_now_ns();
        if (pr > 0)
            eof = read_console(fd, buf, sizeof buf, &have, t, now);
        note_size(t, wlog_fd, last_poll);
        last_poll = now;
        if (t->first_ack_ns && !kill_at)
            kill_at = t->first_ack_ns + (uint64_t)(a->kill_after_s * 1e9);
        if (t->error[0] || eof || (kill_at && now >= kill_at) || t->done)
            break;
        if (!t->first_ack_ns && now > boot_deadline) {
            rc = -ETIMEDOUT;
            break;
        }
    }
    t->kill_ns = wal_now_ns();
    kill_and_reap(pid);
    /* Lines still in the pipe were written before the kill. */
    while (!eof && read_console(fd, buf, sizeof buf, &have, t, t->kill_ns) == 0)
        ;
    close(fd);
    if (wlog_fd >= 0) {
        note_size(t, wlog_fd, t->kill_ns);
        close(wlog_fd);
    }
    if (t->error[0]) {
        snprintf(err, errlen, "guest writer: %s", t->error);
        return -EIO;
    }
    if (rc == -ETIMEDOUT || (eof && !t->first_ack_ns)) {
        char qerr[200] = "";
        FILE *f = fopen(a->errlog, "r");
        if (f) {
            size_t n = fread(qerr, 1, sizeof qerr - 1, f);
            qerr[n] = 0;
            fclose(f);
        }
        snprintf(err, errlen, "guest gave no acknowledgement within %.0f s (%s accel); "
                 "console: %.150s; QEMU: %.150s", a->boot_timeout_s, a->accel, t->tail, qerr);
        return rc ? rc : -EIO;
    }
    return 0;
}

/* ---- KVM or TCG ---------------------------------------------------------------------- */
void vm_accel_probe(const struct vm_config *cfg, const char *errlog, struct report_vm_env *env)
{
    snprintf(env->accel, sizeof env->accel, "tcg");
    const char *want = cfg->accel ? cfg->accel : "auto";
    if (strcmp(want, "tcg") == 0) {
        snprintf(env->probe, sizeof env->probe, "TCG requested");
        return;
    }
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) {
        snprintf(env->probe, sizeof env->probe, "open(/dev/kvm): %s; TCG", strerror(errno));
        return;
    }
    close(kvm);
    struct vm_guest_args a = { .qemu = cfg->qemu ? cfg->qemu : "qemu-system-x86_64",
                               .accel = "kvm", .kit = vm_kit_dir(cfg), .errlog = errlog };
    pid_t pid;
    int fd;
    char err[200];
    if (start_qemu(&a, 1, &pid, &fd, err, sizeof err) < 0) {
        snprintf(env->probe, sizeof env->probe, "KVM probe: %.120s; TCG", err);
        return;
    }
    struct vm_trial t = { 0 };
    static char buf[4096];
    size_t have = 0;
    uint64_t start = wal_now_ns(), limit = 8000000000ull;
    int seen = 0, eof = 0;
    while (!seen && !eof && wal_now_ns() - start < limit) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 20) > 0)
            eof = read_console(fd, buf, sizeof buf, &have, &t, wal_now_ns());
        seen = strstr(t.tail, "P|") != NULL;
    }
    kill_and_reap(pid);
    close(fd);
    if (seen) {
        snprintf(env->accel, sizeof env->accel, "kvm");
        snprintf(env->probe, sizeof env->probe, "KVM guest booted in %.1f s",
                 (double)(wal_now_ns() - start) / 1e9);
    } else {
        snprintf(env->probe, sizeof env->probe, "KVM guest %s within %.0f s; TCG",
                 eof ? "exited" : "did not boot", (double)limit / 1e9);
    }
    if (strcmp(want, "kvm") == 0 && !seen)
        snprintf(env->accel, sizeof env->accel, "none");
}
