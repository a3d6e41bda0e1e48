/* image_write: file contents under a model, and the image directory.
 *
 * DESIGN.  A file's content is its snapshot content with its data changes
 * replayed in journal order: all the durable ones (a prefix), and of the
 * rest what the model lets through:
 *   drop, ext4  nothing;
 *   torn        a random prefix of them, the last one cut to a whole
 *               number of 512-byte sectors (a power cut in the middle of
 *               writeback in order);
 *   reorder     each sector of each write, and each size change, on its
 *               own with probability 1/2 (writeback in any order).
 * ext4 adds the size changes (truncate, O_TRUNC, fallocate) that a commit
 * carried past the file's own last sync: sizes only, never their data.
 * A mapped write never extends a file (stores past the end are lost).
 * Only names in the durable map are written; a directory reachable under
 * two names (a strict model can keep both halves of a rename) is written
 * once, at the first; a file with two names is written once and linked.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "powerloss/powerloss.h"
#include "recorder/image.h"

#define SECTOR 512u

struct img_buf {
    unsigned char *data;
    size_t len, cap;
};

static int img_resize(struct img_buf *b, size_t len)
{
    if (len > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < len)
            cap *= 2;
        unsigned char *g = realloc(b->data, cap);
        if (!g)
            return -ENOMEM;
        b->data = g;
        b->cap = cap;
    }
    if (len > b->len)
        memset(b->data + b->len, 0, len - b->len);
    b->len = len;
    return 0;
}

static int img_put(struct img_buf *b, uint64_t off, const unsigned char *src, size_t n)
{
    if (n == 0)
        return 0;
    if (off + n > b->len && img_resize(b, (size_t)(off + n)) != 0)
        return -ENOMEM;
    memcpy(b->data + off, src, n);
    return 0;
}

uint64_t img_fallocate_size(uint64_t size, const struct recorder_rec *r)
{
    int mode = r->aux;
    if (mode & FALLOC_FL_COLLAPSE_RANGE)
        return r->off + r->len <= size ? size - r->len : size;
    if (mode & FALLOC_FL_INSERT_RANGE)
        return r->off < size ? size + r->len : size;
    if (!(mode & (FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) && r->off + r->len > size)
        return r->off + r->len;
    return size;
}

static void img_zero(struct img_buf *b, uint64_t off, uint64_t len)
{
    size_t end = off + len < b->len ? (size_t)(off + len) : b->len;
    if (off < end)
        memset(b->data + off, 0, end - (size_t)off);
}

static int img_fallocate(struct img_buf *b, const struct recorder_rec *r)
{
    size_t old = b->len, off = (size_t)r->off, len = (size_t)r->len;
    uint64_t size = img_fallocate_size(old, r);
    if (r->aux & FALLOC_FL_COLLAPSE_RANGE) {   /* the range goes; what follows moves down */
        if (size != old)
            memmove(b->data + off, b->data + off + len, old - off - len);
        b->len = (size_t)size;
        return 0;
    }
    if (r->aux & FALLOC_FL_INSERT_RANGE) {     /* a hole opens at off */
        if (size == old)
            return 0;
        if (img_resize(b, (size_t)size) != 0)
            return -ENOMEM;
        memmove(b->data + off + len, b->data + off, old - off);
        memset(b->data + off, 0, len);
        return 0;
    }
    if (r->aux & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
        img_zero(b, r->off, r->len);
    return size > old ? img_resize(b, (size_t)size) : 0;
}

/* The size change of r alone (ext4: committed metadata without its data). */
static int img_apply_size(struct img_buf *b, const struct recorder_rec *r)
{
    uint64_t size = b->len;
    switch (r->type) {
    case RECORDER_OPEN:   /* O_TRUNC */
        size = 0;
        break;
    case RECORDER_TRUNCATE:
    case RECORDER_TRUNCATE_PATH:
        size = r->off;
        break;
    case RECORDER_FALLOCATE:
        size = img_fallocate_size(b->len, r);
        break;
    default:
        return 0;
    }
    if (size < b->len) {
        b->len = (size_t)size;
        return 0;
    }
    return img_resize(b, (size_t)size);
}

/* Applies record r; for a write, only bytes [from, to) of its payload. */
static int img_apply(struct img_buf *b, const struct recorder_rec *r, size_t from, size_t to)
{
    switch (r->type) {
    case RECORDER_OPEN:   /* O_TRUNC */
        return img_resize(b, 0);
    case RECORDER_WRITE:
        if (r->flags & RECORDER_F_REPLACE) {
            b->len = 0;
            return img_put(b, 0, recorder_payload(r), (size_t)r->len);
        }
        if (r->flags & RECORDER_F_MAPPED) {   /* a store past the end of the file is lost */
            size_t room = r->off < b->len ? b->len - (size_t)r->off : 0;
            if (to > room)
                to = room;
        }
        return to > from ? img_put(b, r->off + from, (const unsigned char *)recorder_payload(r) + from,
                                   to - from)
                         : 0;
    case RECORDER_TRUNCATE:
    case RECORDER_TRUNCATE_PATH:
        return img_apply_size(b, r);
    case RECORDER_FALLOCATE:
        return img_fallocate(b, r);
    default:
        return 0;
    }
}

static int img_content(const struct img *im, uint32_t f, struct img_buf *b)
{
    const struct img_file *file = &im->files[f];
    b->len = 0;
    if (img_resize(b, file->init_len) != 0)
        return -ENOMEM;
    if (file->init_len)
        memcpy(b->data, file->init, file->init_len);
    size_t k = 0;
    for (; k < file->nops && file->ops[k] < file->data_idx; k++) {
        const struct recorder_rec *r = im->j->recs[file->ops[k]];
        if (img_apply(b, r, 0, (size_t)r->len) != 0)
            return -ENOMEM;
    }
    if (im->model == RECORDER_EXT4)
        for (size_t s = k; s < file->nops && file->ops[s] < im->global_meta_idx; s++)
            if (img_apply_size(b, im->j->recs[file->ops[s]]) != 0)
                return -ENOMEM;
    if (im->model != RECORDER_TORN && im->model != RECORDER_REORDER)
        return 0;
    uint64_t rng = im->seed ^ ((uint64_t)f * 0xD1B54A32D192ED03ull);
    size_t left = file->nops - k;
    size_t cut = im->model == RECORDER_TORN ? (size_t)(pl_splitmix64(&rng) % (left + 1)) : left;
    for (size_t n = 0; n < cut; n++, k++) {
        const struct recorder_rec *r = im->j->recs[file->ops[k]];
        int partial = r->type == RECORDER_WRITE && !(r->flags & RECORDER_F_REPLACE);
        if (im->model == RECORDER_REORDER && !partial) {
            if ((pl_splitmix64(&rng) & 1) && img_apply(b, r, 0, 0) != 0)
                return -ENOMEM;
            continue;
        }
        if (im->model == RECORDER_REORDER) {
            for (size_t s = 0; s < r->len; s += SECTOR) {
                size_t e = s + SECTOR < r->len ? s + SECTOR : (size_t)r->len;
                if ((pl_splitmix64(&rng) & 1) && img_apply(b, r, s, e) != 0)
                    return -ENOMEM;
            }
            continue;
        }
        if (img_apply(b, r, 0, (size_t)r->len) != 0)
            return -ENOMEM;
    }
    if (im->model == RECORDER_TORN && k < file->nops) {   /* the write the cut fell in */
        const struct recorder_rec *r = im->j->recs[file->ops[k]];
        if (r->type == RECORDER_WRITE && !(r->flags & RECORDER_F_REPLACE)) {
            size_t sectors = (size_t)(r->len / SECTOR);
            size_t keep = (size_t)(pl_splitmix64(&rng) % (sectors + 1)) * SECTOR;
            if (img_apply(b, r, 0, keep) != 0)
                return -ENOMEM;
        }
    }
    return 0;
}

static int img_fail(struct img *im, const char *call, const char *path, int e)
{
    if (im->err)
        snprintf(im->err, im->errlen, "%s(%s): %s", call, path, strerror(e));
    return -e;
}

/* The mode after the durable chmods (ext4: and those a commit carried). */
static mode_t img_mode(const struct img *im, const struct img_file *file, mode_t dflt)
{
    mode_t mode = file->mode ? file->mode : dflt;
    size_t upto = file->data_idx;
    if (im->model == RECORDER_EXT4 && im->global_meta_idx > upto)
        upto = im->global_meta_idx;
    for (size_t k = 0; k < file->nops && file->ops[k] < upto; k++) {
        const struct recorder_rec *r = im->j->recs[file->ops[k]];
        if (r->type == RECORDER_CHMOD)
            mode = (mode_t)(r->off & 07777);
    }
    return mode;
}

static int img_write_file(struct img *im, uint32_t f, const char *path, struct img_buf *b)
{
    struct img_file *file = &im->files[f];
    if (file->first_path)   /* another name of a file already written */
        return linkat(AT_FDCWD, file->first_path, AT_FDCWD, path, 0) == 0 ? 0 : img_fail(im, "link", path, errno);
    if (!(file->first_path = strdup(path)))
        return img_fail(im, "malloc", path, ENOMEM);
    if (file->link)
        return symlink(file->link, path) == 0 ? 0 : img_fail(im, "symlink", path, errno);
    if (img_content(im, f, b) != 0)
        return img_fail(im, "malloc", path, ENOMEM);
    mode_t mode = img_mode(im, file, 0644);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return img_fail(im, "open", path, errno);
    if (fchmod(fd, mode) != 0) {   /* the mode the program's file had, whatever our umask */
        int e = errno;
        close(fd);
        return img_fail(im, "fchmod", path, e);
    }
    for (size_t done = 0; done < b->len;) {
        ssize_t n = write(fd, b->data + done, b->len - done);
        if (n < 0) {
            int e = errno;
            close(fd);
            return img_fail(im, "write", path, e);
        }
        done += (size_t)n;
    }
    if (close(fd) != 0)
        return img_fail(im, "close", path, errno);
    im->stats.files++;
    im->stats.bytes += b->len;
    return 0;
}

static int img_by_dir(const void *a, const void *b)
{
    const struct img_slot *x = *(const struct img_slot *const *)a, *y = *(const struct img_slot *const *)b;
    return x->dir < y->dir ? -1 : x->dir > y->dir;
}

static int img_write_dir(struct img *im, uint32_t dir, const char *path, struct img_slot **kids,
                         size_t nkids, struct img_buf *b)
{
    im->files[dir].written = 1;
    im->stats.dirs++;
    size_t lo = 0, hi = nkids;   /* first entry of dir */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (kids[mid]->dir < dir)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t k = lo; k < nkids && kids[k]->dir == dir; k++) {
        uint32_t f = kids[k]->file;
        char child[PATH_MAX];
        if ((size_t)snprintf(child, sizeof child, "%s/%s", path, kids[k]->name) >= sizeof child)
            return img_fail(im, "snprintf", path, ENAMETOOLONG);
        int rc = 0;
        if (!im->files[f].is_dir)
            rc = img_write_file(im, f, child, b);
        else if (!im->files[f].written) {
            mode_t mode = img_mode(im, &im->files[f], 0755);
            if (mkdir(child, mode) != 0 || chmod(child, mode) != 0)
                return img_fail(im, "mkdir", child, errno);
            rc = img_write_dir(im, f, child, kids, nkids, b);
        }
        if (rc)
            return rc;
    }
    return 0;
}

int img_write_tree(struct img *im, const char *out_dir)
{
    if (mkdir(out_dir, im->files[1].mode ? im->files[1].mode : 0755) != 0)
        return img_fail(im, "mkdir", out_dir, errno);
    struct img_slot **kids = malloc((im->dur.used + 1) * sizeof *kids);
    if (!kids)
        return img_fail(im, "malloc", out_dir, ENOMEM);
    size_t n = 0;
    for (size_t i = 0; i < im->dur.cap; i++)
        if (im->dur.slots[i].name && im->dur.slots[i].file)
            kids[n++] = &im->dur.slots[i];
    qsort(kids, n, sizeof *kids, img_by_dir);
    struct img_buf b = {0};
    int rc = img_write_dir(im, 1, out_dir, kids, n, &b);
    free(b.data);
    free(kids);
    return rc;
}
