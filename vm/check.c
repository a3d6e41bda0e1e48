/* DESIGN: checking XFS and Btrfs images with the real kernel.
 *
 * ext4's images are checked on the host (e2fsck replays the journal as a
 * mount would, debugfs reads /LOG without mounting; run.c).  XFS and Btrfs
 * have no host tool that replays their log and reads a file without a
 * mount: xfs_repair -n refuses a dirty log, and Btrfs keeps what fsync
 * wrote in a log tree that only a mount replays.  So a trial's images go
 * to one check boot: the guest kernel mounts each in turn (the replay a
 * real mount does), copies /LOG to its slot of an output disk and
 * unmounts it.  One boot for all of a trial's images, not one each: under
 * TCG a boot costs seconds.  Then the file system's own checker runs on
 * the host on each image as the mount left it: `xfs_repair -n -f`, `btrfs
 * check --readonly`.  A failed mount, unmount or check is counted as a
 * failed fsck, never hidden.
 */
#include "vm/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int vm_fs_valid(const char *fs)
{
    return fs && (strcmp(fs, "ext4") == 0 || strcmp(fs, "xfs") == 0 || strcmp(fs, "btrfs") == 0);
}

int vm_mount_opts_valid(const char *opts)
{
    size_t n = strlen(opts);
    return n > 0 && n <= VM_MOUNT_OPTS_MAX && strspn(opts,
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789=,_.:-") == n;
}

const char *vm_fs_name(const struct vm_config *cfg)
{
    return cfg->fs ? cfg->fs : "ext4";
}

struct check_state {
    struct vm_checked *res;
    size_t n;
    char error[200];
};

static void on_line(void *ctx, const char *text)
{
    struct check_state *c = ctx;
    char *end;
    unsigned long i = strtoul(text + 1, &end, 10);
    if (text[0] == 'E') {
        if (!c->error[0])
            snprintf(c->error, sizeof c->error, "%s", text + 1);
        return;
    }
    if (end == text + 1 || i >= c->n)
        return;
    struct vm_checked *r = &c->res[i];
    switch (text[0]) {
    case 'F':
        r->mounted = 1;
        if (strcmp(end, " -") == 0)
            break;
        r->has_log = 1;
        r->size = strtoull(end + 1, NULL, 10);
        break;
    case 'M': r->mount_failed = 1; break;
    case 'U': r->umount_failed = 1; break;
    }
}

/* The file system's own checker on the host; 1 when it found a problem. */
static int host_fsck(const char *fs, const char *img, int *failed)
{
    const char *xfs[] = { "xfs_repair", "-n", "-f", img, NULL };
    const char *btrfs[] = { "btrfs", "check", "--readonly", img, NULL };
    int rc = vm_exec(strcmp(fs, "xfs") == 0 ? xfs : btrfs);
    if (rc < 0)
        return rc;
    *failed = rc != 0;
    return 0;
}

int vm_check_images(const struct vm_config *cfg, const struct report_vm_env *env,
                    const char *const *images, size_t n, const char *out, const char *errlog,
                    struct vm_checked *res, char *err, size_t errlen)
{
    memset(res, 0, n * sizeof *res);
    int fd = open(out, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || ftruncate(fd, (off_t)(VM_CHECK_SLOT * n)) < 0 || close(fd) < 0) {
        int rc = -errno;
        snprintf(err, errlen, "open/ftruncate(%s): %s", out, strerror(errno));
        if (fd >= 0)
            close(fd);
        return rc;
    }
    struct vm_guest_args a = { .qemu = cfg->qemu ? cfg->qemu : "qemu-system-x86_64",
                               .accel = env->accel, .kit = vm_kit_dir(cfg), .errlog = errlog,
                               .boot_timeout_s = 120, .out = out, .images = images,
                               .n_images = n };
    snprintf(a.append, sizeof a.append, "fsl_mode=check fsl_fs=%s fsl_n=%zu%s%s",
             vm_fs_name(cfg), n, cfg->mount_opts ? " fsl_mopts=" : "",
             cfg->mount_opts ? cfg->mount_opts : "");
    struct check_state c = { res, n, "" };
    int rc = vm_guest_check(&a, on_line, &c, err, errlen);
    if (rc == 0 && c.error[0]) {
        snprintf(err, errlen, "check boot: %s", c.error);
        rc = -EIO;
    }
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (res[i].has_log && res[i].size > VM_CHECK_SLOT) {
            snprintf(err, errlen, "check boot: /LOG of image %zu has %" PRIu64 " bytes, more "
                     "than its %llu MiB slot", i, res[i].size, VM_CHECK_SLOT >> 20);
            return -EFBIG;
        }
        if ((rc = host_fsck(vm_fs_name(cfg), images[i], &res[i].fsck_failed)) < 0)
            snprintf(err, errlen, "%s on %s: %s", strcmp(vm_fs_name(cfg), "xfs") == 0 ?
                     "xfs_repair" : "btrfs check", images[i], strerror(-rc));
    }
    return rc;
}

int vm_check_extract(const char *out, size_t i, uint64_t size, const char *dump, char *err,
                     size_t errlen)
{
    int in = open(out, O_RDONLY | O_CLOEXEC), to = -1, rc = 0;
    if (in < 0 || (to = open(dump, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        rc = -errno;
        snprintf(err, errlen, "open(%s): %s", in < 0 ? out : dump, strerror(errno));
    }
    loff_t off = (loff_t)(i * VM_CHECK_SLOT);
    uint64_t left = size;
    while (rc == 0 && left > 0) {
        ssize_t w = copy_file_range(in, &off, to, NULL, left, 0);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = w < 0 ? -errno : -EIO;
            snprintf(err, errlen, "copy_file_range(%s, %s): %s", out, dump,
                     w < 0 ? strerror(errno) : "short");
            break;
        }
        left -= (uint64_t)w;
    }
    if (in >= 0)
        close(in);
    if (to >= 0 && close(to) < 0 && rc == 0) {
        rc = -errno;
        snprintf(err, errlen, "close(%s): %s", dump, strerror(errno));
    }
    return rc;
}
