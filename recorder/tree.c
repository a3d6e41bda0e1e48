/* tree: copying, removing and handing over directory trees.
 *
 * DESIGN.  A snapshot is a plain recursive copy of the root before the
 * program starts (regular files, directories, symbolic links; modes kept);
 * the image builder reads it back; a file with several names is copied
 * once and linked.  nftw walks without following links.
 * nftw's callbacks take no argument, so the walk's state is file-static:
 * one walk at a time per process.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "powerloss/powerloss.h"
#include "recorder/recorder.h"


static struct {
    struct tree_link { dev_t dev; ino_t ino; char *dst; } *links;   /* files with nlink > 1 */
    size_t nlinks, caplinks;
    const char *from, *to;
    size_t fromlen;
    uid_t uid;
    gid_t gid;
    char *err;
    size_t errlen;
} tree_walk;

static int tree_fail(const char *call, const char *path, int e)
{
    if (tree_walk.err)
        snprintf(tree_walk.err, tree_walk.errlen, "%s(%s): %s", call, path, strerror(e));
    return -e;
}

static int tree_copy_file(const char *src, const char *dst, mode_t mode)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return tree_fail("open", src, errno);
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 07777);
    if (out < 0) {
        int e = errno;
        close(in);
        return tree_fail("open", dst, e);
    }
    char buf[65536];
    int rc = 0;
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0) {
            rc = tree_fail("read", src, errno);
            break;
        }
        if (n == 0)
            break;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(out, buf + done, (size_t)(n - done));
            if (w < 0) {
                rc = tree_fail("write", dst, errno);
                break;
            }
            done += w;
        }
        if (rc)
            break;
    }
    close(in);
    if (close(out) != 0 && rc == 0)
        rc = tree_fail("close", dst, errno);
    return rc;
}

static int tree_copy_linked(const char *src, const char *dst, const struct stat *st)
{
    for (size_t i = 0; i < tree_walk.nlinks; i++)
        if (tree_walk.links[i].dev == st->st_dev && tree_walk.links[i].ino == st->st_ino)
            return link(tree_walk.links[i].dst, dst) == 0 ? 0 : tree_fail("link", dst, errno);
    if (tree_walk.nlinks == tree_walk.caplinks) {
        size_t cap = tree_walk.caplinks ? tree_walk.caplinks * 2 : 16;
        struct tree_link *g = realloc(tree_walk.links, cap * sizeof *g);
        if (!g)
            return tree_fail("realloc", src, ENOMEM);
        tree_walk.links = g;
        tree_walk.caplinks = cap;
    }
    char *copy = strdup(dst);
    if (!copy)
        return tree_fail("strdup", src, ENOMEM);
    tree_walk.links[tree_walk.nlinks++] = (struct tree_link){st->st_dev, st->st_ino, copy};
    return tree_copy_file(src, dst, st->st_mode);
}

static int tree_copy_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)ftw;
    char dst[PATH_MAX];
    if ((size_t)snprintf(dst, sizeof dst, "%s%s", tree_walk.to, path + tree_walk.fromlen) >= sizeof dst)
        return tree_fail("snprintf", path, ENAMETOOLONG);
    switch (type) {
    case FTW_D:
        if (mkdir(dst, st->st_mode & 07777) != 0 && !(errno == EEXIST && ftw->level == 0))
            return tree_fail("mkdir", dst, errno);
        return 0;
    case FTW_F:
        if (!S_ISREG(st->st_mode))
            return 0;
        if (st->st_nlink > 1)
            return tree_copy_linked(path, dst, st);
        return tree_copy_file(path, dst, st->st_mode);
    case FTW_SL: {
        char target[PATH_MAX];
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n < 0)
            return tree_fail("readlink", path, errno);
        target[n] = '\0';
        if (symlink(target, dst) != 0)
            return tree_fail("symlink", dst, errno);
        return 0;
    }
    default:
        return tree_fail("nftw", path, EACCES);
    }
}

int recorder_tree_copy(const char *from, const char *to, char *err, size_t errlen)
{
    tree_walk.from = from;
    tree_walk.fromlen = strlen(from);
    tree_walk.to = to;
    tree_walk.err = err;
    tree_walk.errlen = errlen;
    int rc = nftw(from, tree_copy_one, 32, FTW_PHYS);
    for (size_t i = 0; i < tree_walk.nlinks; i++)
        free(tree_walk.links[i].dst);
    free(tree_walk.links);
    tree_walk.links = NULL;
    tree_walk.nlinks = tree_walk.caplinks = 0;
    if (rc == -1) {
        int e = errno;
        (void)PL_ERR(err, errlen, 0, "nftw(%s): %s", from, strerror(e));
        return -e;
    }
    return rc;
}

static int tree_remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if ((type == FTW_DP ? rmdir(path) : unlink(path)) != 0 && errno != ENOENT)
        return tree_fail(type == FTW_DP ? "rmdir" : "unlink", path, errno);
    return 0;
}

int recorder_tree_remove(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -errno;
    tree_walk.err = err;
    tree_walk.errlen = errlen;
    int rc = nftw(path, tree_remove_one, 32, FTW_PHYS | FTW_DEPTH);
    if (rc == -1) {
        int e = errno;
        (void)PL_ERR(err, errlen, 0, "nftw(%s): %s", path, strerror(e));
        return -e;
    }
    return rc;
}

static int tree_chown_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    if (lchown(path, tree_walk.uid, tree_walk.gid) != 0)
        return tree_fail("lchown", path, errno);
    return 0;
}

int recorder_tree_chown(const char *path, uid_t uid, gid_t gid, char *err, size_t errlen)
{
    tree_walk.uid = uid;
    tree_walk.gid = gid;
    tree_walk.err = err;
    tree_walk.errlen = errlen;
    int rc = nftw(path, tree_chown_one, 32, FTW_PHYS);
    if (rc == -1) {
        int e = errno;
        (void)PL_ERR(err, errlen, 0, "nftw(%s): %s", path, strerror(e));
        return -e;
    }
    return rc;
}
