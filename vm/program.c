/* DESIGN: any program in the guest: `crash --vm --target contract`.
 *
 * The guest sees the host's root file system read-only over virtio-9p, so
 * every installed program runs there unchanged (static and Go programs
 * too, which LD_PRELOAD cannot see).  The guest's init builds a root of
 * tmpfs with the host's top-level directories bound into it, tmpfs on /tmp
 * and /run and the data disk on /data, and runs the contract's --run
 * command under /bin/sh in /data (FSYNCLAB_DATA=/data).  Its `ack KEY`
 * lines are the console; the host timestamps each as it reads it (a lower
 * bound of what the program acknowledged) and cuts the power as for the
 * writer (vm_guest_trial).  The images are those of a writer's trial
 * (vm_plan_images).  One check boot a trial takes them all: for each, a
 * mount and unmount (the log replay of a real mount), the file system's
 * own checker from the host's root (e2fsck -fn, xfs_repair -n, btrfs
 * check), a mount, the --check command on it, whose lines are the keys it
 * found.  An acknowledged key read before an image's cut and not found on
 * it is lost.  A failed mount, checker or check is counted, never hidden.
 *
 * The commands reach the guest as script files in the scratch directory,
 * which the guest sees through the shared root at the same path.  Unless
 * cfg->record is 0, --run goes under `fsynclab record` in the guest and
 * the images at the kill are judged by the drop and ext4 models as well
 * (predict.c).
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
#include "report/report.h"

struct key_ack {
    char *key;
    uint64_t ns;
};

struct prog_trial {
    struct key_ack *acks;
    size_t n, cap;
    int oom;
};

static void on_key(void *ctx, const char *key, uint64_t now)
{
    struct prog_trial *pt = ctx;
    if (pt->n == pt->cap) {
        size_t c = pt->cap ? pt->cap * 2 : 256;
        struct key_ack *q = realloc(pt->acks, c * sizeof *q);
        if (!q) {
            pt->oom = 1;
            return;
        }
        pt->acks = q;
        pt->cap = c;
    }
    char *k = strdup(key);
    if (!k) {
        pt->oom = 1;
        return;
    }
    pt->acks[pt->n++] = (struct key_ack){ k, now };
}

static void prog_free(struct prog_trial *pt)
{
    for (size_t i = 0; i < pt->n; i++)
        free(pt->acks[i].key);
    free(pt->acks);
    memset(pt, 0, sizeof *pt);
}

/* ---- the check boot's lines ----------------------------------------------------------- */
struct found {
    char **keys;
    size_t n, cap;
    int mounted_fail, umount_fail, fsck_status, check_status, seen_check;
};

struct prog_check {
    struct found *img;
    size_t n;
    int oom;
    char error[200];
};

static void check_line(void *ctx, const char *text)
{
    struct prog_check *c = ctx;
    if (text[0] == 'E') {
        if (!c->error[0])
            snprintf(c->error, sizeof c->error, "%s", text + 1);
        return;
    }
    char *end;
    unsigned long i = strtoul(text + 1, &end, 10);
    if (end == text + 1 || i >= c->n)
        return;
    struct found *f = &c->img[i];
    const char *rest = *end == ' ' ? end + 1 : end;
    switch (text[0]) {
    case 'M': f->mounted_fail = 1; break;
    case 'U': f->umount_fail = 1; break;
    case 'X': f->fsck_status = atoi(rest); break;
    case 'S': f->check_status = atoi(rest); f->seen_check = 1; break;
    case 'K':
        if (f->n == f->cap) {
            size_t cap = f->cap ? f->cap * 2 : 256;
            char **q = realloc(f->keys, cap * sizeof *q);
            if (!q) {
                c->oom = 1;
                return;
            }
            f->keys = q;
            f->cap = cap;
        }
        if (!(f->keys[f->n] = strdup(rest)))
            c->oom = 1;
        else
            f->n++;
        break;
    }
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Acks read by cut whose key the image did not hand back; *oldest: the
 * host's time of the first of them (0: none lost). */
static uint64_t lost_on(const struct prog_trial *pt, struct found *f, uint64_t cut,
                        uint64_t *acked, uint64_t *oldest)
{
    qsort(f->keys, f->n, sizeof *f->keys, cmp_str);
    uint64_t lost = 0;
    *acked = 0;
    *oldest = 0;
    for (size_t i = 0; i < pt->n; i++) {
        if (pt->acks[i].ns > cut)
            continue;
        ++*acked;
        const char *k = pt->acks[i].key;
        if (bsearch(&k, f->keys, f->n, sizeof *f->keys, cmp_str) == NULL) {
            lost++;
            if (!*oldest || pt->acks[i].ns < *oldest)
                *oldest = pt->acks[i].ns;
        }
    }
    return lost;
}

/* The image's loss window and how far back its acks reach, both from its
 * cut, into the run's maxima (promise.c judges them). */
static void note_window(const struct prog_trial *pt, uint64_t cut, uint64_t oldest,
                        struct report_vm_prog *s)
{
    if (oldest && cut > oldest && (double)(cut - oldest) / 1e6 > s->loss_window_ms_max)
        s->loss_window_ms_max = (double)(cut - oldest) / 1e6;
    uint64_t first = pt->n ? pt->acks[0].ns : 0;   /* in the order the host read them */
    if (first && first <= cut && (double)(cut - first) / 1e6 > s->reach_ms_max)
        s->reach_ms_max = (double)(cut - first) / 1e6;
}

/* ---- a trial ---------------------------------------------------------------------------- */
struct prog_paths {
    char disk[WAL_PATH_MAX], wlog[WAL_PATH_MAX], errlog[WAL_PATH_MAX], out[WAL_PATH_MAX], run[WAL_PATH_MAX], check[WAL_PATH_MAX];
    char imgs[VM_CHECK_MAX][WAL_PATH_MAX];
    const char *list[6 + VM_CHECK_MAX];
    /* The recorder (predict.c): the user's --run, the share, the journal,
     * an empty snapshot and the model's image.  share is NULL when the run
     * is not recorded. */
    char inner[WAL_PATH_MAX], share_dir[WAL_PATH_MAX], journal[WAL_PATH_MAX], snap[WAL_PATH_MAX],
         model[WAL_PATH_MAX];
    const char *share;
};

static int write_script(const char *path, const char *cmd, char *err, size_t errlen)
{
    FILE *f = fopen(path, "w");
    if (!f || fprintf(f, "%s\n", cmd) < 0 || fclose(f) != 0) {
        int rc = -errno;
        snprintf(err, errlen, "writing %s: %s", path, strerror(errno));
        return rc ? rc : -EIO;
    }
    return 0;
}

/* One line per image on stderr when $FSYNCLAB_VM_TRACE is set, with the
 * first keys the check found on it (tests/e2e/vm_ext4.sh compares them
 * with the model's image). */
static void trace_image(const struct vm_config *cfg, size_t i, const struct vm_plan *pl,
                        const struct found *f, uint64_t acked, uint64_t lost)
{
    char keys[512] = "";
    size_t at = 0;
    for (size_t k = 0; k < f->n && at < sizeof keys; k++) {
        int w = snprintf(keys + at, sizeof keys - at, " %s", f->keys[k]);
        if (w < 0 || (size_t)w >= sizeof keys - at) {
            snprintf(keys + at, sizeof keys - at, " ...");
            break;
        }
        at += (size_t)w;
    }
    fprintf(stderr, "vm: %s image %zu (kind %d, entries %zu) acked %" PRIu64 " found %zu "
            "lost %" PRIu64 " fsck %d check %d%s keys:%s\n", vm_fs_name(cfg), i, pl->kind,
            pl->upto, acked, f->n, lost, f->fsck_status, f->check_status,
            f->mounted_fail ? " MOUNT-FAILED" : "", keys);
}

/* The recorder's model m against image f, cut at the kill: acked keys
 * the model's image lacks, and whether the kernel lost one it kept
 * (optimistic) or kept one it lost (pessimistic). */
static void compare_model(const struct prog_trial *pt, const struct found *f, uint64_t cut,
                          const struct vm_keys *m, struct report_vm_model_cmp *out)
{
    struct vm_keys real = { f->keys, f->n };
    int opt = 0, pess = 0;
    for (size_t i = 0; i < pt->n; i++) {
        if (pt->acks[i].ns > cut)
            continue;
        int kept = vm_keys_has(&real, pt->acks[i].key), predicted = vm_keys_has(m, pt->acks[i].key);
        out->predicted_lost_total += !predicted;
        opt |= !kept && predicted;
        pess |= kept && !predicted;
    }
    out->optimistic += (uint32_t)opt;
    out->pessimistic += (uint32_t)pess;
}

static void judge_images(const struct vm_config *cfg, const struct prog_trial *pt,
                         struct prog_check *c, const struct vm_plan *plans, size_t n,
                         uint64_t kill_ns, const struct vm_keys *models, struct report_vm_prog *s)
{
    for (size_t i = 0; i < n; i++) {
        struct found *f = &c->img[i];
        uint64_t acked = 0, lost = 0, oldest = 0;
        int failed = f->mounted_fail || f->umount_fail || f->fsck_status != 0;
        s->images++;
        s->fsck_failed += failed;
        s->images_unchecked += f->mounted_fail != 0;
        if (!f->mounted_fail && (!f->seen_check || f->check_status != 0)) {
            s->check_failed++;
        } else if (!f->mounted_fail) {
            lost = lost_on(pt, f, plans[i].cut, &acked, &oldest);   /* sorts f->keys */
            note_window(pt, plans[i].cut, oldest, s);
            if (models && plans[i].cut == kill_ns && !failed) {
                s->images_compared++;
                compare_model(pt, f, plans[i].cut, &models[0], &s->drop);
                compare_model(pt, f, plans[i].cut, &models[1], &s->ext4);
                if (vm_fs_model(vm_fs_name(cfg)))
                    compare_model(pt, f, plans[i].cut, &models[2], &s->fsm);
            }
        }
        s->acked_total += acked;
        s->lost_total += lost;
        s->images_lost += lost > 0;
        if (lost > s->lost_max)
            s->lost_max = lost;
        if (getenv("FSYNCLAB_VM_TRACE"))
            trace_image(cfg, i, &plans[i], f, acked, lost);
    }
}

/* The keys --check finds in the drop and ext4 images of the trial's
 * journal; *recorded stays 0 when the guest left no journal (the kill
 * came before the recorder started) or a model's check failed. */
static int predict(const struct prog_paths *p, const char *fs, struct report_vm_prog *s,
                   struct vm_keys *models, int *recorded, char *err, size_t errlen)
{
    struct stat st;
    if (stat(p->journal, &st) < 0 || st.st_size == 0)
        return 0;
    const char *names[3] = { "drop", "ext4", vm_fs_model(fs) };
    struct report_vm_model_cmp *cmp[3] = { &s->drop, &s->ext4, &s->fsm };
    int ok = 1;
    for (int k = 0; k < 3 && names[k]; k++) {
        int failed = 0;
        uint64_t flags = 0, unknown = 0;
        int rc = vm_model_keys(p->journal, p->snap, p->model, names[k], p->check, &models[k],
                               &flags, &unknown, &failed, err, errlen);
        if (rc < 0)
            return rc;
        cmp[k]->check_failed += (uint32_t)failed;
        ok &= !failed;
        if (k == 0) {
            s->journal_flags += flags;
            s->unknown_opens += unknown;
        }
    }
    vm_remove_tree(p->model);
    s->trials_recorded++;
    *recorded = ok;
    return 0;
}

static int check_trial(const struct prog_paths *p, const struct vm_config *cfg,
                       const struct report_vm_env *env, const struct vm_trial *t,
                       const struct prog_trial *pt, uint64_t seed, struct report_vm_prog *s,
                       char *err, size_t errlen)
{
    char base[WAL_PATH_MAX];
    struct stat st;
    vm_base_image(cfg, base, sizeof base);
    int fd = stat(base, &st) == 0 ? open(p->wlog, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0) {
        int rc = -errno;
        snprintf(err, errlen, "open(%s): %s", p->wlog, strerror(errno));
        return rc;
    }
    struct vm_log log;
    int rc = vm_log_parse(fd, (uint64_t)st.st_size, &log, err, errlen);
    if (rc < 0) {
        close(fd);
        return rc;
    }
    uint64_t rng = seed;
    struct vm_plan plans[VM_CHECK_MAX];
    size_t n = vm_plan_images(cfg, t, &log, &rng, plans, VM_CHECK_MAX);
    double sync_ms = (double)vm_log_sync_ns_max(t, &log) / 1e6;
    if (sync_ms > s->sync_ms_max)
        s->sync_ms_max = sync_ms;
    if (getenv("FSYNCLAB_VM_TRACE"))
        fprintf(stderr, "vm: trial seed %" PRIu64 ": longest sync in the block log %.1f ms, "
                "%zu entries, %zu flushes\n", seed, sync_ms, log.n, log.n_flushes);
    const char *imgs[VM_CHECK_MAX];
    for (size_t i = 0; i < n && rc == 0; i++) {
        imgs[i] = p->imgs[i];
        rc = vm_build_image(p->imgs[i], base, &log, fd, &plans[i], &rng, err, errlen);
    }
    vm_log_free(&log);
    close(fd);
    struct found found[VM_CHECK_MAX];
    memset(found, 0, sizeof found);
    struct prog_check c = { found, n, 0, "" };
    int ofd = rc == 0 ? open(p->out, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
    if (rc == 0 && (ofd < 0 || ftruncate(ofd, 1 << 20) < 0 || close(ofd) < 0)) {
        rc = -errno;
        snprintf(err, errlen, "open/ftruncate(%s): %s", p->out, strerror(errno));
    }
    if (rc == 0) {
        struct vm_guest_args a = { .qemu = cfg->qemu ? cfg->qemu : "qemu-system-x86_64",
                                   .accel = env->accel, .kit = vm_kit_dir(cfg),
                                   .errlog = p->errlog, .out = p->out,
                                   /* a check may cost a minute an image under TCG (etcd:
                                      its binaries over 9p) */
                                   .boot_timeout_s = 120 + 60 * (double)n,
                                   .images = imgs, .n_images = n, .root9p = 1,
                                   .memory_mib = vm_memory_mib(cfg) };
        snprintf(a.append, sizeof a.append, "fsl_mode=progcheck fsl_fs=%s fsl_n=%zu "
                 "fsl_script=%.400s%s%s", vm_fs_name(cfg), n, p->check,
                 cfg->mount_opts ? " fsl_mopts=" : "", cfg->mount_opts ? cfg->mount_opts : "");
        rc = vm_guest_check(&a, check_line, &c, err, errlen);
        if (rc == 0 && (c.error[0] || c.oom)) {
            snprintf(err, errlen, "check boot: %s", c.oom ? "out of memory" : c.error);
            rc = c.oom ? -ENOMEM : -EIO;
        }
    }
    struct vm_keys models[3] = { { NULL, 0 }, { NULL, 0 }, { NULL, 0 } };
    int recorded = 0;
    if (rc == 0 && p->share)
        rc = predict(p, vm_fs_name(cfg), s, models, &recorded, err, errlen);
    if (rc == 0)
        judge_images(cfg, pt, &c, plans, n, t->kill_ns, recorded ? models : NULL, s);
    vm_keys_free(&models[0]);
    vm_keys_free(&models[1]);
    vm_keys_free(&models[2]);
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < found[i].n; k++)
            free(found[i].keys[k]);
        free(found[i].keys);
        unlink(p->imgs[i]);
    }
    unlink(p->out);
    return rc;
}

static int one_trial(const struct prog_paths *p, const struct vm_config *cfg,
                     const struct report_vm_env *env, uint64_t seed, struct report_vm_prog *s,
                     char *err, size_t errlen)
{
    struct vm_guest_args a;
    struct vm_trial_files files = { p->disk, p->wlog, p->errlog };
    int rc = vm_trial_start(cfg, env, &files, seed, 300, &a, err, errlen);
    if (rc < 0)
        return rc;
    a.root9p = 1;
    a.memory_mib = vm_memory_mib(cfg);
    a.share = p->share;
    if (p->share)
        unlink(p->journal);   /* record makes its journal afresh */
    snprintf(a.append, sizeof a.append, "fsl_mode=program fsl_fs=%s fsl_script=%.400s%s%s",
             vm_fs_name(cfg), p->run, cfg->mount_opts ? " fsl_mopts=" : "",
             cfg->mount_opts ? cfg->mount_opts : "");
    struct prog_trial pt = { 0 };
    struct vm_trial t;
    memset(&t, 0, sizeof t);
    static uint64_t none_acked[1];
    t.ack_ns = none_acked;
    t.on_key = on_key;
    t.key_ctx = &pt;
    rc = vm_guest_trial(&a, &t, err, errlen);
    if (rc == 0 && pt.oom) {
        snprintf(err, errlen, "out of memory for the acknowledgements");
        rc = -ENOMEM;
    }
    if (rc == 0 && !t.acks) {
        snprintf(err, errlen, "the program acknowledged nothing (no `ack KEY` line); "
                 "console: %.300s", t.tail);
        rc = -EIO;
    }
    if (rc == 0) {
        s->trials++;
        s->acks_seen += t.acks;
        if (t.ready_ns && t.ready_ns - t.start_ns > s->boot_ns_max)
            s->boot_ns_max = t.ready_ns - t.start_ns;
        uint64_t c0 = wal_now_ns();
        rc = check_trial(p, cfg, env, &t, &pt, seed, s, err, errlen);
        s->check_ns_total += wal_now_ns() - c0;
    }
    free(t.syncs);
    free(t.begins);
    free(t.sizes);
    prog_free(&pt);
    return rc;
}

/* The scratch directory as the guest sees it: an absolute path the
 * kernel command line can carry. */
static int guest_dir(const char *dir, char *out, size_t len, char *err, size_t errlen)
{
    char *real = realpath(dir ? dir : ".", NULL);
    if (!real) {
        int rc = -errno;
        snprintf(err, errlen, "realpath(%s): %s", dir ? dir : ".", strerror(errno));
        return rc;
    }
    int ok = strlen(real) < 300 && strspn(real, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                           "0123456789/_.-+") == strlen(real);
    if (ok)
        snprintf(out, len, "%s", real);
    else
        snprintf(err, errlen, "--dir %s: the guest reads its scripts there through the kernel "
                 "command line, which takes only letters, digits and /_.-+ (and at most 300 "
                 "characters): use another --dir", real);
    free(real);
    return ok ? 0 : -EINVAL;
}

/* The run goes under the recorder: the user's command moves to p->inner,
 * p->run mounts the share and records it.  When the recorder cannot run
 * in the guest, s->recorder_reason says why and the run is not recorded. */
static int setup_recorder(struct prog_paths *p, const char *sub, long pid,
                          const struct vm_config *cfg, struct report_vm_prog *s, char *err,
                          size_t errlen)
{
    snprintf(p->inner, sizeof p->inner, "%s/fsynclab-vm-%ld-inner.sh", sub, pid);
    snprintf(p->share_dir, sizeof p->share_dir, "%s/share", sub);
    snprintf(p->journal, sizeof p->journal, "%s/share/journal", sub);
    snprintf(p->snap, sizeof p->snap, "%s/snap", sub);
    snprintf(p->model, sizeof p->model, "%s/model", sub);
    if (mkdir(p->share_dir, 0700) < 0 || mkdir(p->snap, 0700) < 0) {
        int rc = -errno;
        snprintf(err, errlen, "mkdir(%s): %s", p->share_dir, strerror(errno));
        return rc;
    }
    int rc = write_script(p->inner, cfg->run_cmd, err, errlen);
    if (rc < 0)
        return rc;
    rc = vm_record_script(p->run, p->inner, s->recorder_reason, sizeof s->recorder_reason);
    if (rc == -ENOTSUP)
        return write_script(p->run, cfg->run_cmd, err, errlen);   /* as it was */
    if (rc < 0) {
        snprintf(err, errlen, "%s", s->recorder_reason);
        return rc;
    }
    s->recorded = 1;
    p->share = p->share_dir;
    return 0;
}

int vm_program_run(const struct vm_config *cfg, struct report_vm_prog *s, struct report_vm_env *env,
                   void (*progress)(void *arg, uint32_t done, uint32_t total), void *progress_arg,
                   char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    memset(env, 0, sizeof *env);
    int rc = vm_kit_check(cfg, err, errlen);
    static struct prog_paths p;
    memset(&p, 0, sizeof p);
    static char sub[VM_SCRATCH_DIR_MAX];
    char dir[400];
    if (rc == 0)
        rc = guest_dir(cfg->dir, dir, sizeof dir, err, errlen);
    if (rc == 0)
        rc = vm_scratch_open(dir, sub, sizeof sub, err, errlen);
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
    long pid = (long)getpid();
    char *const fields[] = { p.disk, p.wlog, p.errlog, p.out, p.run, p.check };
    static const char *const names[] = { "disk.img", "writes.log", "qemu.err", "out.img",
                                         "run.sh", "check.sh" };
    for (size_t i = 0; i < 6; i++) {
        snprintf(fields[i], WAL_PATH_MAX, "%s/fsynclab-vm-%ld-%s", sub, pid, names[i]);
        p.list[i] = fields[i];
    }
    for (size_t i = 0; i < VM_CHECK_MAX; i++) {
        snprintf(p.imgs[i], sizeof p.imgs[i], "%s/fsynclab-vm-%ld-image%zu.img", sub, pid, i);
        p.list[6 + i] = p.imgs[i];
    }
    rc = vm_promise_lookup(cfg, s, err, errlen);
    if (rc == 0)
        rc = write_script(p.run, cfg->run_cmd, err, errlen);
    if (rc == 0)
        rc = write_script(p.check, cfg->check_cmd, err, errlen);
    if (rc == 0 && cfg->record)
        rc = setup_recorder(&p, sub, pid, cfg, s, err, errlen);
    else if (rc == 0)
        snprintf(s->recorder_reason, sizeof s->recorder_reason, "FSYNCLAB_VM_RECORD=0: the run "
                 "was not recorded in the guest");
    if (rc == 0) {
        vm_accel_probe(cfg, p.errlog, env);
        if (strcmp(env->accel, "none") == 0) {
            snprintf(err, errlen, "FSYNCLAB_VM_ACCEL=kvm: %s", env->probe);
            rc = -ENODEV;
        }
    }
    uint64_t start = wal_now_ns();
    for (uint32_t k = 0; k < cfg->trials && rc == 0; k++) {
        if (cfg->max_seconds > 0 && (double)(wal_now_ns() - start) / 1e9 > cfg->max_seconds)
            break;
        rc = one_trial(&p, cfg, env, crashsim_trial_seed(cfg->seed, k), s, err, errlen);
        if (rc == 0 && progress)
            progress(progress_arg, k + 1, cfg->trials);
    }
    vm_scratch_close(sub, p.list, 6 + VM_CHECK_MAX);
    if (rc == 0)
        vm_promise_verdict(s);
    return rc;
}

unsigned vm_memory_mib(const struct vm_config *cfg)
{
    return cfg->memory_mib ? cfg->memory_mib : VM_PROGRAM_MEMORY_MIB;
}

void vm_report_run(const struct vm_config *cfg, struct report_vm_run *out)
{
    *out = (struct report_vm_run){
        .entries = cfg->entries ? cfg->entries : VM_DEFAULT_ENTRIES,
        .entry_size = cfg->entry_size, .sync_method = cfg->sync_method,
        .writers = cfg->writers ? cfg->writers : 1, .trials = cfg->trials, .seed = cfg->seed,
        .images_max = 2 + cfg->flush_images + cfg->subset_images, .fs = vm_fs_name(cfg),
        .mount_opts = cfg->mount_opts, .memory_mib = vm_memory_mib(cfg), .target = cfg->target,
    };
}
