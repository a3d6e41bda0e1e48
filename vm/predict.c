/* DESIGN: the recorder's models beside the real kernel, on the same run.
 *
 * The contract's --run command runs in the guest under `fsynclab record`
 * (this very binary and its LD_PRELOAD library, seen by the guest through
 * the host's root shared read-only).  Its journal goes to a host directory
 * shared writable over a second virtio-9p device: 9p writes go straight to
 * the host, so the journal holds every call made before QEMU was killed,
 * and it never touches the data disk whose block log makes the real
 * images.  (cache=mmap: the recorder maps the journal's header page for
 * its process-shared lock, which 9p without it refuses.)
 *
 * After the trial the host builds, from that journal and an empty snapshot
 * (the data disk starts empty), the image a cut at the journal's end leaves
 * under `drop` and under `ext4`, with `fsynclab image` itself (the command
 * line, not the image builder's C interface, which is being reworked), and
 * runs the contract's --check in it; on XFS and Btrfs also under the
 * model of that file system (`xfs`, `btrfs`: ext4's optimism there is why
 * they exist, so ext4 stays beside them).  Those keys stand beside the keys the
 * guest's kernel kept on each image at the kill.  Images of earlier
 * flushes are not compared: the journal's clock is the guest's, the
 * flushes' the host's, and nothing maps one onto the other yet.
 */
#include "vm/internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "recorder/recorder.h"

void vm_keys_free(struct vm_keys *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->v[i]);
    free(k->v);
    k->v = NULL;
    k->n = 0;
}

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int vm_keys_has(const struct vm_keys *k, const char *key)
{
    return k->n && bsearch(&key, k->v, k->n, sizeof *k->v, cmp_key) != NULL;
}

/* The lines of path (no empty ones), sorted. */
static int read_keys(const char *path, struct vm_keys *k, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        int rc = -errno;
        snprintf(err, errlen, "fopen(%s): %s", path, strerror(errno));
        return rc;
    }
    char *line = NULL;
    size_t cap = 0, room = 0;
    ssize_t len;
    int rc = 0;
    while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (!len)
            continue;
        if (k->n == room) {
            size_t c = room ? room * 2 : 64;
            char **q = realloc(k->v, c * sizeof *q);
            if (!q) {
                rc = -ENOMEM;
                break;
            }
            k->v = q;
            room = c;
        }
        if (!(k->v[k->n] = strdup(line)))
            rc = -ENOMEM;
        else
            k->n++;
    }
    free(line);
    fclose(f);
    if (rc < 0)
        snprintf(err, errlen, "reading the keys of %s: out of memory", path);
    else
        qsort(k->v, k->n, sizeof *k->v, cmp_key);
    return rc;
}

/* Only characters a shell word needs no quoting for. */
static int plain(const char *s)
{
    return *s && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_.+-") ==
                     strlen(s);
}

/* This binary's path, for the guest (which sees the host's root). */
static int self_path(char *out, size_t len, char *err, size_t errlen)
{
    char *real = realpath("/proc/self/exe", NULL);
    if (!real) {
        int rc = -errno;
        snprintf(err, errlen, "realpath(/proc/self/exe): %s", strerror(errno));
        return rc;
    }
    int rc = (size_t)snprintf(out, len, "%s", real) < len ? 0 : -ENAMETOOLONG;
    free(real);
    if (rc < 0)
        snprintf(err, errlen, "the path of fsynclab is too long");
    return rc;
}

int vm_record_script(const char *path, const char *inner, char *err, size_t errlen)
{
    char exe[PATH_MAX], lib[PATH_MAX], why[300];
    if (self_path(exe, sizeof exe, why, sizeof why) < 0 ||
        recorder_lib_path(lib, sizeof lib, why, sizeof why) < 0) {
        snprintf(err, errlen, "the recorder cannot run in the guest: %s", why);
        return -ENOTSUP;
    }
    if (!plain(exe) || !plain(lib) || !plain(inner)) {
        snprintf(err, errlen, "the recorder cannot run in the guest: the paths of fsynclab, its "
                 "library or the scratch directory have characters other than letters, digits "
                 "and /_.+-");
        return -ENOTSUP;
    }
    FILE *f = fopen(path, "w");
    if (!f || fprintf(f, "mkdir -p /tmp/fslshare && mount -t 9p -o trans=virtio,version=9p2000.L,"
                      "cache=mmap fslshare /tmp/fslshare || { echo \"Emount of the recorder's "
                      "share (virtio-9p) failed\"; exit 1; }\n"
                      "%s=%s exec %s record --root /data --journal /tmp/fslshare/journal -- "
                      "/bin/sh %s\n", RECORDER_ENV_LIB, lib, exe, inner) < 0 ||
        fclose(f) != 0) {
        int rc = errno ? -errno : -EIO;
        snprintf(err, errlen, "writing %s: %s", path, strerror(-rc));
        return rc;
    }
    return 0;
}

/* "N unknown opens, M flags" from the image command's summary line. */
static void image_counts(const char *path, uint64_t *flags, uint64_t *unknown)
{
    FILE *f = fopen(path, "r");
    char line[1024];
    while (f && fgets(line, sizeof line, f)) {
        unsigned long long u, fl;
        const char *at = strstr(line, " unknown opens, ");
        if (!at)
            continue;
        while (at > line && at[-1] >= '0' && at[-1] <= '9')
            at--;
        if (sscanf(at, "%llu unknown opens, %llu flags", &u, &fl) == 2) {
            *unknown += u;
            *flags += fl;
        }
    }
    if (f)
        fclose(f);
}

int vm_model_keys(const char *journal, const char *snap, const char *out, const char *model,
                  const char *check, struct vm_keys *keys, uint64_t *flags, uint64_t *unknown,
                  int *check_failed, char *err, size_t errlen)
{
    char exe[PATH_MAX], said[PATH_MAX + 16];
    int rc = self_path(exe, sizeof exe, err, errlen);
    if (rc < 0)
        return rc;
    if ((size_t)snprintf(said, sizeof said, "%s.out", out) >= sizeof said) {
        snprintf(err, errlen, "%s: the path is too long", out);
        return -ENAMETOOLONG;
    }
    vm_remove_tree(out);
    const char *image[] = { exe, "image", "--journal", journal, "--snapshot", snap, "--out", out,
                            "--model", model, NULL };
    rc = vm_exec_in(image, NULL, said);
    if (rc != 0) {
        snprintf(err, errlen, "fsynclab image --model %s of the guest's journal %s: %s", model,
                 journal, rc < 0 ? strerror(-rc) : "it failed");
        unlink(said);
        return rc < 0 ? rc : -EIO;
    }
    image_counts(said, flags, unknown);
    /* --check runs in the image as in the guest: in the data directory. */
    char data[PATH_MAX + 32];
    snprintf(data, sizeof data, "FSYNCLAB_DATA=%s", out);
    const char *run[] = { "env", data, "/bin/sh", check, NULL };
    rc = vm_exec_in(run, out, said);
    *check_failed = rc != 0;
    rc = rc == 0 ? read_keys(said, keys, err, errlen) : 0;
    unlink(said);
    return rc;
}

const char *vm_fs_model(const char *fs)
{
    if (fs && strcmp(fs, "xfs") == 0)
        return "xfs";
    if (fs && strcmp(fs, "btrfs") == 0)
        return "btrfs";
    return NULL;
}
