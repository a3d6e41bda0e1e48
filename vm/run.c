/* DESIGN: the trials of `crash --vm`, the images each one gives, and the
 * comparison with the drop model.
 *
 * A trial boots the guest on a fresh copy of the base image with an empty
 * write log, lets vm_guest_trial cut the power, and parses the log.  The
 * disk after the cut can be any state that keeps every write before the
 * last flush the guest saw complete; the images try some of them:
 *   last_flush  entries up to the last FLUSH (the unflushed cache all lost)
 *   end         every entry (the whole cache reached the platter)
 *   subset      up to the end, each write after the last FLUSH kept or not
 *               at random (the cache wrote back some of it, in any order)
 *   flush       entries up to an earlier FLUSH: a power cut at that moment.
 * The first three are judged against everything the host saw before the
 * kill.  An earlier flush is judged against what the host saw before the
 * flush reached the log: the host noted the log's size at every poll, so
 * the last poll at which the log ended before the flush entry is a time by
 * which the flush had not happened; acks and completed syncs read before it
 * certainly came before the flush (acks in between are treated as never
 * made, which can only hide a loss, never invent one).
 *
 * Each image: e2fsck replays the journal, a full e2fsck -n must pass (a
 * failure is counted and reported), debugfs dumps /LOG, and the verifier
 * recovers it against the ledger.  The drop model's prediction comes from
 * the same ledger: an acked seq is kept when a completed sync that began
 * after its write covered it (the guest's s<n> lines).  An image that lost
 * an acked seq the model kept makes the model optimistic (a finding); one
 * that kept an acked seq the model dropped makes it pessimistic.
 */
#include "vm/internal.h"
#include "powerloss/powerloss.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crashsim/crashsim.h"

enum image_kind { IMG_LAST_FLUSH, IMG_END, IMG_SUBSET, IMG_FLUSH };
static const char *const kind_names[] = { "last_flush", "end", "subset", "flush" };

struct paths {
    char disk[WAL_PATH_MAX], wlog[WAL_PATH_MAX], img[WAL_PATH_MAX], dump[WAL_PATH_MAX], errlog[WAL_PATH_MAX], out[WAL_PATH_MAX];
    char imgs[VM_CHECK_MAX][WAL_PATH_MAX];    /* a check boot's images (xfs, btrfs) */
    const char *list[6 + VM_CHECK_MAX];
};
#define N_PATHS (6 + VM_CHECK_MAX)

/* The kit's empty image of cfg's file system. */
void vm_base_image(const struct vm_config *cfg, char *buf, size_t len)
{
    const char *fs = vm_fs_name(cfg);
    if (strcmp(fs, "ext4") == 0)
        snprintf(buf, len, "%s/base.img", vm_kit_dir(cfg));
    else
        snprintf(buf, len, "%s/base-%s.img", vm_kit_dir(cfg), fs);
}

struct ledger_view {
    const struct vm_trial *t;
    uint64_t cut_ns;
};

static uint64_t view_ack(const void *ctx, uint64_t seq)
{
    const struct ledger_view *v = ctx;
    if (seq == 0 || seq > v->t->entries)
        return 0;
    uint64_t a = v->t->ack_ns[seq];
    return a && a <= v->cut_ns ? a : 0;
}

const char *vm_kit_dir(const struct vm_config *cfg)
{
    if (cfg->kit)
        return cfg->kit;
    const char *e = getenv("FSYNCLAB_VM_KIT");
    return e && *e ? e : "build/vm";
}

static int in_path(const char *prog)
{
    if (strchr(prog, '/'))
        return access(prog, X_OK) == 0;
    const char *path = getenv("PATH");
    char dir[4096];
    while (path && *path) {
        size_t n = strcspn(path, ":");
        snprintf(dir, sizeof dir, "%.*s/%s", (int)n, path, prog);
        if (access(dir, X_OK) == 0)
            return 1;
        path += n + (path[n] == ':');
    }
    return 0;
}

int vm_kit_check(const struct vm_config *cfg, char *err, size_t errlen)
{
    const char *kit = vm_kit_dir(cfg);
    static const char *const need[] = { "vmlinux", "initramfs.cpio", "" };
    char p[WAL_PATH_MAX];
    for (size_t i = 0; i < 3; i++) {
        if (need[i][0])
            snprintf(p, sizeof p, "%s/%s", kit, need[i]);
        else
            vm_base_image(cfg, p, sizeof p);
        if (access(p, R_OK) < 0) {
            snprintf(err, errlen, "no guest kit: %s is missing (run `make vm`)", p);
            return -ENOENT;
        }
    }
    const char *fs = vm_fs_name(cfg);
    int xfs = strcmp(fs, "xfs") == 0, btrfs = strcmp(fs, "btrfs") == 0;
    const char *tools[] = { cfg->qemu ? cfg->qemu : "qemu-system-x86_64",
                            xfs ? "xfs_repair" : btrfs ? "btrfs" : "e2fsck",
                            xfs || btrfs ? "true" : "debugfs" };
    const char *pkgs[] = { "qemu-system-x86", xfs ? "xfsprogs" : btrfs ? "btrfs-progs" : "e2fsprogs",
                           "e2fsprogs" };
    for (size_t i = 0; i < 3; i++) {
        if (!in_path(tools[i])) {
            snprintf(err, errlen, "%s is not installed (apt-get install %s)", tools[i], pkgs[i]);
            return -ENOENT;
        }
    }
    if (access("/usr/share/qemu/qboot.rom", R_OK) < 0) {
        snprintf(err, errlen, "/usr/share/qemu/qboot.rom is missing (apt-get install qemu-system-data)");
        return -ENOENT;
    }
    return 0;
}

/* Copies the file at from over to (created or truncated). */
int vm_copy_file(const char *from, const char *to, char *err, size_t errlen)
{
    int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, rc = 0;
    if (in < 0 || (out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        rc = -errno;
        snprintf(err, errlen, "open(%s): %s", in < 0 ? from : to, strerror(errno));
    }
    /* Only the data extents: the XFS and Btrfs images are mostly holes. */
    struct stat st;
    if (rc == 0 && (fstat(in, &st) < 0 || ftruncate(out, st.st_size) < 0)) {
        rc = -errno;
        snprintf(err, errlen, "fstat/ftruncate(%s): %s", to, strerror(errno));
    }
    off_t at = 0;
    while (rc == 0 && at < st.st_size) {
        off_t data = lseek(in, at, SEEK_DATA), hole;
        if (data < 0 && errno == ENXIO)
            break;
        if (data < 0 || (hole = lseek(in, data, SEEK_HOLE)) < 0) {
            rc = -errno;
            snprintf(err, errlen, "lseek(%s): %s", from, strerror(errno));
            break;
        }
        loff_t src = data, dst = data;
        while (rc == 0 && src < hole) {
            ssize_t n = copy_file_range(in, &src, out, &dst, (size_t)(hole - src), 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                rc = n < 0 ? -errno : -EIO;
                snprintf(err, errlen, "copy_file_range(%s, %s): %s", from, to,
                         n < 0 ? strerror(errno) : "short");
            }
        }
        at = hole;
    }
    if (in >= 0)
        close(in);
    if (out >= 0 && close(out) < 0 && rc == 0) {
        rc = -errno;
        snprintf(err, errlen, "close(%s): %s", to, strerror(errno));
    }
    return rc;
}

struct image_result {
    struct verifier_trial v;
    int fsck_failed, log_missing, optimistic, pessimistic;
    uint64_t predicted_lost;
};

/* e2fsck and debugfs on the image at p->img; the log file to p->dump. */
static int check_fs(const struct paths *p, struct image_result *r)
{
    const char *replay[] = { "e2fsck", "-y", "-E", "journal_only", p->img, NULL };
    const char *full[] = { "e2fsck", "-fn", p->img, NULL };
    char req[4300];
    snprintf(req, sizeof req, "dump /LOG %s", p->dump);
    const char *dump[] = { "debugfs", "-R", req, p->img, NULL };
    int rc = vm_exec(replay);
    if (rc < 0)
        return rc;
    if (rc & ~3)
        r->fsck_failed = 1;
    if ((rc = vm_exec(full)) < 0)
        return rc;
    if (rc != 0)
        r->fsck_failed = 1;
    unlink(p->dump);
    if ((rc = vm_exec(dump)) < 0)
        return rc;
    if (access(p->dump, F_OK) < 0)
        r->log_missing = 1;
    return 0;
}

/* The drop model's covered prefix for a cut: the widest sync seen by then.
 * The longest sync includes one still running at the cut, as the
 * verifier's batch promise asks: the host matches the b lines (a sync
 * began) with the s lines in order, so the oldest begin left over is the
 * sync in flight (under batch there is one flusher, so this is exact; with
 * several syncing writers it is the longest any of them can have run). */
static uint64_t model_covered(const struct vm_trial *t, uint64_t cut, uint64_t *max_sync_ns)
{
    uint64_t covered = 0;
    size_t done = 0, begun = 0;
    *max_sync_ns = 0;
    while (begun < t->n_begins && t->begins[begun] <= cut)
        begun++;
    for (size_t i = 0; i < t->n_syncs; i++) {
        if (t->syncs[i].host_ns > cut)
            continue;
        done++;
        if (t->syncs[i].covered > covered)
            covered = t->syncs[i].covered;
        if (t->syncs[i].dur_ns > *max_sync_ns)
            *max_sync_ns = t->syncs[i].dur_ns;
    }
    if (begun > done && cut - t->begins[done] > *max_sync_ns)
        *max_sync_ns = cut - t->begins[done];
    return covered;
}

void vm_compare(const struct vm_trial *t, uint64_t cut_ns, uint64_t recovered,
                struct vm_compare *out)
{
    struct ledger_view view = { t, cut_ns };
    memset(out, 0, sizeof *out);
    out->covered = model_covered(t, cut_ns, &out->max_sync_ns);
    for (uint64_t seq = 1; seq <= t->entries; seq++) {
        if (!view_ack(&view, seq))
            continue;
        out->predicted_lost += seq > out->covered;
        out->real_lost += seq > recovered;
        out->optimistic += seq > recovered && seq <= out->covered;
        out->pessimistic += seq <= recovered && seq > out->covered;
    }
}

/* The verifier and the drop model on p->dump (or an empty log when
 * r->log_missing). */
static int verify_image(const struct paths *p, const struct vm_config *cfg, const struct vm_trial *t,
                        const struct wal_strategy *st, uint64_t cut, struct image_result *r,
                        char *err, size_t errlen)
{
    int rc;
    struct ledger_view view = { t, cut };
    uint32_t size = t->record_size ? t->record_size : cfg->entry_size;
    struct verifier_ledger l = { .entry_size = size, .written = t->entries,
                                 .acked = t->entries, .ack_ns = view_ack, .ctx = &view,
                                 .crash_ns = cut,
                                 .run_ns = t->ready_ns && cut > t->ready_ns ? cut - t->ready_ns : 0 };
    model_covered(t, cut, &l.max_sync_ns);
    for (size_t i = 0; i < t->n_syncs; i++)   /* the guest's log has epoch and seed 0 */
        l.syncs_ok += t->syncs[i].host_ns <= cut;
    int fd = open(r->log_missing ? "/dev/null" : p->dump, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        snprintf(err, errlen, "open(%s): %s", p->dump, strerror(errno));
        return rc;
    }
    rc = verifier_check_trial(fd, st, &l, &r->v, err, errlen);
    close(fd);
    if (rc < 0)
        return rc;
    struct vm_compare c;
    vm_compare(t, cut, r->v.recovered, &c);
    r->predicted_lost = c.predicted_lost;
    r->optimistic = c.optimistic != 0;
    r->pessimistic = c.pessimistic != 0;
    return 0;
}

static int judge_image(const struct paths *p, const struct vm_config *cfg, const struct vm_trial *t,
                       const struct wal_strategy *st, uint64_t cut, struct image_result *r,
                       char *err, size_t errlen)
{
    int rc = check_fs(p, r);
    if (rc < 0) {
        snprintf(err, errlen, "e2fsck/debugfs on %s: %s", p->img, strerror(-rc));
        return rc;
    }
    return verify_image(p, cfg, t, st, cut, r, err, errlen);
}

uint64_t vm_log_seen_ns(const struct vm_trial *t, const struct vm_log_entry *e)
{
    for (size_t i = 0; i < t->n_sizes; i++)
        if (t->sizes[i].size >= e->end_off)
            return t->sizes[i].before_ns;
    return t->kill_ns;
}

size_t vm_plan_images(const struct vm_config *cfg, const struct vm_trial *t,
                          const struct vm_log *log, uint64_t *rng, struct vm_plan *out, size_t cap)
{
    size_t n = 0, last = log->n_flushes ? log->flushes[log->n_flushes - 1] + 1 : 0;
    out[n++] = (struct vm_plan){ IMG_LAST_FLUSH, last, t->kill_ns, 0 };
    out[n++] = (struct vm_plan){ IMG_END, log->n, t->kill_ns, 0 };
    for (unsigned i = 0; i < cfg->subset_images && n < cap && last < log->n; i++)
        out[n++] = (struct vm_plan){ IMG_SUBSET, log->n, t->kill_ns, 1 };
    for (unsigned i = 0; i < cfg->flush_images && n < cap && log->n_flushes > 1; i++) {
        size_t j = (size_t)(pl_splitmix64(rng) % (log->n_flushes - 1));
        const struct vm_log_entry *e = &log->entries[log->flushes[j]];
        out[n++] = (struct vm_plan){ IMG_FLUSH, log->flushes[j] + 1, vm_log_seen_ns(t, e), 0 };
    }
    return n;
}

/* The allowance of a batch promise for one image: N ms plus the longest
 * guest sync by its cut, the one the cut interrupted included.  crash
 * calibrates the allowance before its trials; a guest's syncs are known
 * only as the trial runs, so each image gets its own. */
static uint64_t image_allowance(const struct report_vm_result *s, const struct image_result *r)
{
    int64_t promised = s->v.promised_window_ms;
    return promised > 0 ? (uint64_t)promised * 1000000ull + r->v.max_sync_ns : 0;
}

static void add_image(struct report_vm_result *s, const struct image_result *r, uint64_t seed)
{
    verifier_summary_set_allowance(&s->v, image_allowance(s, r));
    verifier_summary_add(&s->v, &r->v, seed);
    s->images++;
    s->fsck_failed += r->fsck_failed;
    s->log_missing += r->log_missing;
    s->model_optimistic += r->optimistic;
    s->model_pessimistic += r->pessimistic;
    s->predicted_lost_total += r->predicted_lost;
}

int vm_build_image(const char *img, const char *base, const struct vm_log *log,
                       int wlog_fd, const struct vm_plan *pl, uint64_t *rng, char *err,
                       size_t errlen)
{
    int rc = vm_copy_file(base, img, err, errlen);
    if (rc < 0)
        return rc;
    unsigned char *skip = NULL;
    size_t last = log->n_flushes ? log->flushes[log->n_flushes - 1] + 1 : 0;
    if (pl->subset && !(skip = calloc(log->n ? log->n : 1, 1))) {
        snprintf(err, errlen, "calloc: %s", strerror(ENOMEM));
        return -ENOMEM;
    }
    for (size_t i = last; skip && i < log->n; i++)
        skip[i] = pl_splitmix64(rng) & 1;
    int fd = open(img, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        snprintf(err, errlen, "open(%s): %s", img, strerror(errno));
    } else {
        rc = vm_log_replay(log, wlog_fd, fd, pl->upto, skip, err, errlen);
        if (close(fd) < 0 && rc == 0) {
            rc = -errno;
            snprintf(err, errlen, "close(%s): %s", img, strerror(errno));
        }
    }
    free(skip);
    return rc;
}

/* One line per image on stderr when $FSYNCLAB_VM_TRACE is set (the figures
 * of docs/ground-truth.md come from these lines). */
static void trace_image(const struct report_vm_result *s, uint64_t seed, const struct vm_plan *pl,
                        size_t entries, const struct image_result *r)
{
    if (!getenv("FSYNCLAB_VM_TRACE"))
        return;
    int over = r->v.invalid == VERIFIER_VALID &&
               verifier_trial_held(s->v.promised_window_ms, image_allowance(s, r), &r->v) ==
                   VERIFIER_HELD_FALSE;
    fprintf(stderr, "vm: seed %" PRIu64 " %-10s entries %zu/%zu acked %" PRIu64 " recovered %"
            PRIu64 " lost %" PRIu64 " predicted %" PRIu64 " window %.3f ms sync_max %.3f ms"
            "%s%s%s%s%s\n", seed, kind_names[pl->kind], pl->upto, entries, r->v.acked,
            r->v.recovered, r->v.acked_lost, r->predicted_lost,
            (double)r->v.loss_window_ns / 1e6, (double)r->v.max_sync_ns / 1e6,
            over ? " OVER-PROMISE" : "", r->fsck_failed ? " FSCK-FAILED" : "",
            r->log_missing ? " no-LOG" : "", r->optimistic ? " OPTIMISTIC" : "",
            r->pessimistic ? " pessimistic" : "");
}

/* A timeline's capture: the trial, its flushes and its worst image. */
static void export_trial(const struct vm_config *cfg, const struct vm_trial *t,
                         const struct vm_log *log, uint64_t seed, const struct report_vm_result *s,
                         const struct image_result *worst, const char *image)
{
    uint64_t *flush_ns = calloc(log->n_flushes + 1, sizeof *flush_ns);
    if (!flush_ns)
        return;   /* no picture of this trial, the run goes on */
    for (size_t i = 0; i < log->n_flushes; i++)
        flush_ns[i] = vm_log_seen_ns(t, &log->entries[log->flushes[i]]);
    struct vm_trial_events ev = { &s->v.strategy, s->trials - 1, seed, t->start_ns, t->ready_ns,
                                  t->kill_ns, t->ack_ns, t->entries, t->syncs, t->n_syncs,
                                  flush_ns, log->n_flushes, worst->v.recovered,
                                  worst->v.acked_lost, image };
    cfg->trial_done(cfg->trial_done_arg, &ev);
    free(flush_ns);
}

/* XFS and Btrfs: the images of one trial built, checked in one check boot
 * (check.c), then judged. */
static int judge_booted(const struct paths *p, const struct vm_config *cfg, const struct report_vm_env *env,
                        const struct vm_trial *t, uint64_t seed, struct report_vm_result *s,
                        const struct vm_log *log, int wlog_fd, const struct vm_plan *plans, size_t n,
                        uint64_t *rng, char *err, size_t errlen)
{
    char base[WAL_PATH_MAX];
    const char *imgs[VM_CHECK_MAX];
    struct vm_checked res[VM_CHECK_MAX];
    vm_base_image(cfg, base, sizeof base);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        imgs[i] = p->imgs[i];
        rc = vm_build_image(p->imgs[i], base, log, wlog_fd, &plans[i], rng, err, errlen);
    }
    if (rc == 0 && n)
        rc = vm_check_images(cfg, env, imgs, n, p->out, p->errlog, res, err, errlen);
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct image_result r;
        memset(&r, 0, sizeof r);
        r.fsck_failed = res[i].fsck_failed || res[i].mount_failed || res[i].umount_failed ||
                        !(res[i].mounted || res[i].mount_failed);
        r.log_missing = !res[i].has_log;
        if (res[i].has_log)
            rc = vm_check_extract(p->out, i, res[i].size, p->dump, err, errlen);
        if (rc == 0)
            rc = verify_image(p, cfg, t, &s->v.strategy, plans[i].cut, &r, err, errlen);
        if (rc == 0) {
            add_image(s, &r, seed);
            trace_image(s, seed, &plans[i], log->n, &r);
        }
    }
    for (size_t i = 0; i < n; i++)
        unlink(p->imgs[i]);
    unlink(p->out);
    return rc;
}

/* The images of one trial whose log is at p->wlog, into s. */
static int judge_trial(const struct paths *p, const struct vm_config *cfg, const struct report_vm_env *env,
                       const struct vm_trial *t, uint64_t seed, struct report_vm_result *s, char *err,
                       size_t errlen)
{
    char base[WAL_PATH_MAX];
    struct stat st;
    vm_base_image(cfg, base, sizeof base);
    if (stat(base, &st) < 0) {
        snprintf(err, errlen, "stat(%s): %s", base, strerror(errno));
        return -errno;
    }
    int fd = open(p->wlog, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int rc = -errno;
        snprintf(err, errlen, "open(%s): %s", p->wlog, strerror(errno));
        return rc;
    }
    struct vm_log log;
    int rc = vm_log_parse(fd, (uint64_t)st.st_size, &log, err, errlen);
    int parsed = rc == 0;
    uint64_t rng = seed;
    struct vm_plan plans[64];
    size_t n = rc == 0 ? vm_plan_images(cfg, t, &log, &rng, plans, VM_CHECK_MAX) : 0;
    if (strcmp(vm_fs_name(cfg), "ext4") != 0) {
        if (rc == 0)
            rc = judge_booted(p, cfg, env, t, seed, s, &log, fd, plans, n, &rng, err, errlen);
        n = 0;
    }
    struct image_result worst;
    memset(&worst, 0, sizeof worst);
    const char *worst_name = "none";
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct image_result r;
        memset(&r, 0, sizeof r);
        rc = vm_build_image(p->img, base, &log, fd, &plans[i], &rng, err, errlen);
        if (rc == 0)
            rc = judge_image(p, cfg, t, &s->v.strategy, plans[i].cut, &r, err, errlen);
        if (rc == 0)
            add_image(s, &r, seed);
        if (rc == 0)
            trace_image(s, seed, &plans[i], log.n, &r);
        /* At the kill, not an earlier flush: the picture's cut is the kill. */
        if (rc == 0 && plans[i].cut == t->kill_ns && (i == 0 || r.v.acked_lost > worst.v.acked_lost)) {
            worst = r;
            worst_name = kind_names[plans[i].kind];
        }
    }
    if (rc == 0 && n && cfg->trial_done)
        export_trial(cfg, t, &log, seed, s, &worst, worst_name);
    if (parsed)
        vm_log_free(&log);
    close(fd);
    return rc;
}

static void trial_free(struct vm_trial *t)
{
    free(t->ack_ns);
    free(t->syncs);
    free(t->begins);
    free(t->sizes);
    memset(t, 0, sizeof *t);
}

static uint64_t t_entries(const struct vm_config *cfg)
{
    return cfg->entries ? cfg->entries : (uint64_t)VM_DEFAULT_ENTRIES;
}

int vm_trial_start(const struct vm_config *cfg, const struct report_vm_env *env,
                   const struct vm_trial_files *f, uint64_t seed, double boot_timeout_s,
                   struct vm_guest_args *a, char *err, size_t errlen)
{
    char base[WAL_PATH_MAX];
    vm_base_image(cfg, base, sizeof base);
    int rc = vm_copy_file(base, f->disk, err, errlen);
    int fd = rc == 0 ? open(f->wlog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
    if (rc == 0 && (fd < 0 || close(fd) < 0)) {
        rc = -errno;
        snprintf(err, errlen, "open(%s): %s", f->wlog, strerror(errno));
    }
    if (rc < 0)
        return rc;
    uint64_t rng = seed;
    *a = (struct vm_guest_args){ .qemu = cfg->qemu ? cfg->qemu : "qemu-system-x86_64",
                                 .accel = env->accel, .kit = vm_kit_dir(cfg), .disk = f->disk,
                                 .wlog = f->wlog, .errlog = f->errlog,
                                 .boot_timeout_s = boot_timeout_s };
    double within = cfg->kill_within_s > 0 ? cfg->kill_within_s : VM_DEFAULT_KILL_WITHIN_S;
    a->kill_after_s = within * (double)(pl_splitmix64(&rng) >> 11) / 9007199254740992.0;
    return 0;
}

/* One trial: a fresh disk and log, the guest, the power cut, the images. */
static int one_trial(const struct paths *p, const struct vm_config *cfg, const struct report_vm_env *env,
                     const struct wal_strategy *st, uint64_t seed, struct report_vm_result *s,
                     char *err, size_t errlen)
{
    char name[32];
    struct vm_guest_args a;
    struct vm_trial_files files = { p->disk, p->wlog, p->errlog };
    int rc = vm_trial_start(cfg, env, &files, seed, 120, &a, err, errlen);
    if (rc < 0)
        return rc;
    snprintf(a.append, sizeof a.append,
             "fsl_strategy=%s fsl_writers=%u fsl_entry_size=%u fsl_sync_method=%s "
             "fsl_entries=%" PRIu64 "%s fsl_fs=%s%s%s", wal_strategy_name(st, name, sizeof name),
             cfg->writers ? cfg->writers : 1, cfg->entry_size,
             wal_sync_method_name(cfg->sync_method), t_entries(cfg),
             cfg->no_dirsync ? " fsl_dirsync=0" : "", vm_fs_name(cfg),
             cfg->mount_opts ? " fsl_mopts=" : "", cfg->mount_opts ? cfg->mount_opts : "");
    struct vm_trial t;
    memset(&t, 0, sizeof t);
    t.entries = t_entries(cfg);
    if (!(t.ack_ns = calloc(t.entries + 1, sizeof *t.ack_ns))) {
        snprintf(err, errlen, "calloc: %s", strerror(ENOMEM));
        return -ENOMEM;
    }
    rc = vm_guest_trial(&a, &t, err, errlen);
    if (rc == 0) {
        s->trials++;
        s->acks_seen += t.acks;
        s->syncs_seen += t.n_syncs;
        if (t.ready_ns && t.ready_ns - t.start_ns > s->boot_ns_max)
            s->boot_ns_max = t.ready_ns - t.start_ns;
        rc = judge_trial(p, cfg, env, &t, seed, s, err, errlen);
    }
    trial_free(&t);
    return rc;
}

static void make_paths(struct paths *p, const char *dir)
{
    long pid = (long)getpid();
    snprintf(p->disk, sizeof p->disk, "%s/fsynclab-vm-%ld-disk.img", dir, pid);
    snprintf(p->wlog, sizeof p->wlog, "%s/fsynclab-vm-%ld-writes.log", dir, pid);
    snprintf(p->img, sizeof p->img, "%s/fsynclab-vm-%ld-image.img", dir, pid);
    snprintf(p->dump, sizeof p->dump, "%s/fsynclab-vm-%ld-LOG", dir, pid);
    snprintf(p->errlog, sizeof p->errlog, "%s/fsynclab-vm-%ld-qemu.err", dir, pid);
    snprintf(p->out, sizeof p->out, "%s/fsynclab-vm-%ld-out.img", dir, pid);
    p->list[0] = p->disk;
    p->list[1] = p->wlog;
    p->list[2] = p->img;
    p->list[3] = p->dump;
    p->list[4] = p->errlog;
    p->list[5] = p->out;
    for (size_t i = 0; i < VM_CHECK_MAX; i++) {
        snprintf(p->imgs[i], sizeof p->imgs[i], "%s/fsynclab-vm-%ld-image%zu.img", dir, pid, i);
        p->list[6 + i] = p->imgs[i];
    }
}

int vm_crash_run(const struct vm_config *cfg, const struct wal_strategy *strategies, size_t n,
                 struct report_vm_result *out, struct report_vm_env *env,
                 void (*progress)(void *arg, size_t strategy, uint32_t done, uint32_t total),
                 void *progress_arg, char *err, size_t errlen)
{
    memset(env, 0, sizeof *env);
    for (size_t i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof out[i]);
        verifier_summary_init(&out[i].v, &strategies[i]);
        if (wal_sync_method_writes_durable(cfg->sync_method))
            verifier_summary_writes_durable(&out[i].v);
    }
    int rc = vm_kit_check(cfg, err, errlen);
    if (rc < 0)
        return rc;
    char kv[WAL_PATH_MAX];
    snprintf(kv, sizeof kv, "%s/kernel-version", vm_kit_dir(cfg));
    FILE *f = fopen(kv, "r");
    if (f) {
        if (fgets(env->kernel, sizeof env->kernel, f))
            env->kernel[strcspn(env->kernel, "\n")] = 0;
        fclose(f);
    }
    static struct paths p;
    static char sub[VM_SCRATCH_DIR_MAX];
    if ((rc = vm_scratch_open(cfg->dir, sub, sizeof sub, err, errlen)) < 0)
        return rc;
    make_paths(&p, sub);
    vm_accel_probe(cfg, p.errlog, env);
    if (strcmp(env->accel, "none") == 0) {
        snprintf(err, errlen, "FSYNCLAB_VM_ACCEL=kvm: %s", env->probe);
        rc = -ENODEV;
    }
    uint64_t start = wal_now_ns();
    for (size_t i = 0; i < n && rc == 0; i++) {
        for (uint32_t k = 0; k < cfg->trials && rc == 0; k++) {
            if (cfg->max_seconds > 0 && (double)(wal_now_ns() - start) / 1e9 > cfg->max_seconds)
                break;
            uint64_t seed = crashsim_trial_seed(cfg->seed, (uint32_t)(i * cfg->trials + k));
            rc = one_trial(&p, cfg, env, &strategies[i], seed, &out[i], err, errlen);
            if (rc == 0 && progress)
                progress(progress_arg, i, k + 1, cfg->trials);
        }
    }
    vm_scratch_close(sub, p.list, N_PATHS);
    return rc;
}
