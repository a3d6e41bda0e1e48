/* image: what a power cut at instant T leaves, from a snapshot and a journal.
 *
 * DESIGN.  One pass over the journal up to the cut (the longest prefix
 * whose records are stamped at or before T: a prefix of a causal order is
 * a state the machine was in) replays names into the current map and
 * queues, per file, its data changes and, per directory, its entry
 * changes.  A completed sync (its end record inside the cut) makes durable
 * what was journaled before its begin record:
 *   drop  the file's data; for a directory, its entry changes;
 *         sync()/syncfs(): everything;
 *   ext4  as drop, and a sync that commits ext4's journal carries every
 *         earlier metadata change: every directory entry and every size
 *         change by truncate, O_TRUNC or fallocate (one ordered journal).
 *         A sync commits when its file has a change the last commit did not
 *         carry: any change for fsync; for fdatasync and msync only one
 *         that changes the size or allocates (a pure overwrite commits
 *         nothing).  A rename over an existing file, once durable, carries
 *         the data written to the renamed file before it (auto_da_alloc).
 *         The truncate-then-close flush of auto_da_alloc, the periodic
 *         5-second commit and writes into holes are left out.
 * torn and reorder start from drop and let some unsynced data through
 * (image_write.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "powerloss/powerloss.h"
#include "recorder/image.h"


int recorder_model_parse(const char *name, enum recorder_model *out)
{
    static const char *const names[] = {"drop", "ext4", "torn", "reorder"};
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = (enum recorder_model)i;
            return 0;
        }
    return -EINVAL;
}

const char *recorder_model_name(enum recorder_model m)
{
    static const char *const names[] = {"drop", "ext4", "torn", "reorder"};
    return (unsigned)m < 4 ? names[m] : "unknown";
}

/* ---- the name map -------------------------------------------------------------- */
static size_t img_hash(uint32_t dir, const char *name)
{
    uint64_t h = 1469598103934665603ull ^ dir;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return (size_t)(h ^ (h >> 29));
}

static struct img_slot *img_map_find(const struct img_map *m, uint32_t dir, const char *name)
{
    size_t mask = m->cap - 1;
    for (size_t i = img_hash(dir, name) & mask;; i = (i + 1) & mask) {
        struct img_slot *s = &m->slots[i];
        if (!s->name || (s->dir == dir && strcmp(s->name, name) == 0))
            return s;
    }
}

/* Removal leaves the slot (file 0) so that probe chains stay whole. */
int img_map_put(struct img_map *m, uint32_t dir, const char *name, uint32_t file)
{
    if ((m->used + 1) * 2 > m->cap) {
        struct img_map g = {calloc(m->cap ? m->cap * 2 : 256, sizeof *g.slots), m->cap ? m->cap * 2 : 256, 0};
        if (!g.slots)
            return -ENOMEM;
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i].name) {
                *img_map_find(&g, m->slots[i].dir, m->slots[i].name) = m->slots[i];
                g.used++;
            }
        free(m->slots);
        *m = g;
    }
    struct img_slot *s = img_map_find(m, dir, name);
    if (!s->name) {
        s->dir = dir;
        s->name = name;
        m->used++;
    }
    s->file = file;
    return 0;
}

uint32_t img_map_get(const struct img_map *m, uint32_t dir, const char *name)
{
    return m->cap ? img_map_find(m, dir, name)->file : 0;
}

/* ---- files and entry changes --------------------------------------------------- */
static uint32_t img_new_file(struct img *im, int is_dir, mode_t mode)
{
    if (im->nfiles == im->capfiles) {
        size_t cap = im->capfiles ? im->capfiles * 2 : 64;
        struct img_file *g = realloc(im->files, cap * sizeof *g);
        if (!g)
            return 0;
        im->files = g;
        im->capfiles = cap;
    }
    memset(&im->files[im->nfiles], 0, sizeof im->files[0]);
    im->files[im->nfiles].is_dir = is_dir;
    im->files[im->nfiles].mode = mode;
    return (uint32_t)im->nfiles++;
}

static int img_push_op(struct img *im, uint32_t f, size_t idx)
{
    struct img_file *file = &im->files[f];
    if (file->nops == file->cap) {
        size_t cap = file->cap ? file->cap * 2 : 16;
        uint32_t *g = realloc(file->ops, cap * sizeof *g);
        if (!g)
            return -ENOMEM;
        file->ops = g;
        file->cap = cap;
    }
    file->ops[file->nops++] = (uint32_t)idx;
    return 0;
}

static int img_push_eop(struct img_eop **v, size_t *n, size_t *cap, struct img_eop e)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        struct img_eop *g = realloc(*v, c * sizeof *g);
        if (!g)
            return -ENOMEM;
        *v = g;
        *cap = c;
    }
    (*v)[(*n)++] = e;
    return 0;
}

/* Changes the current entry now, and queues the change for the durable map. */
static int img_entry(struct img *im, size_t idx, uint32_t dir, const char *name, uint32_t file)
{
    im->files[dir].chg = im->files[dir].dchg = idx + 1;   /* a directory's entries are its data */
    if (file)
        im->files[file].chg = idx + 1;   /* its link count or ctime */
    if (img_map_put(&im->cur, dir, name, file) != 0)
        return -ENOMEM;
    return img_push_eop(&im->eops, &im->neops, &im->capeops, (struct img_eop){idx, dir, file, name});
}

/* Splits path into its directory (a number, 0 when it does not resolve) and
 * its last component, which points into path. */
static uint32_t img_parent(const struct img *im, const char *path, const char **last)
{
    uint32_t dir = 1;
    const char *p = path;
    for (;;) {
        const char *slash = strchr(p, '/');
        if (!slash) {
            *last = p;
            return dir;
        }
        char comp[NAME_MAX + 1];
        size_t len = (size_t)(slash - p);
        if (len > NAME_MAX)
            return 0;
        memcpy(comp, p, len);
        comp[len] = '\0';
        dir = img_map_get(&im->cur, dir, comp);
        if (!dir || !im->files[dir].is_dir)
            return 0;
        p = slash + 1;
    }
}

static uint32_t img_lookup(const struct img *im, const char *path)
{
    if (!*path)
        return 1;
    const char *last;
    uint32_t dir = img_parent(im, path, &last);
    return dir ? img_map_get(&im->cur, dir, last) : 0;
}

/* ---- the snapshot --------------------------------------------------------------- */
static int img_load_dir(struct img *im, const char *path, uint32_t dir);

static int img_load_entry(struct img *im, const char *path, uint32_t dir, const char *name)
{
    char full[PATH_MAX];
    struct stat st;
    if ((size_t)snprintf(full, sizeof full, "%s/%s", path, name) >= sizeof full || lstat(full, &st) != 0)
        return -ENAMETOOLONG;
    uint32_t f = 0;
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1)   /* another name of a file already loaded */
        for (uint32_t k = 2; k < im->nfiles && !f; k++)
            if (im->files[k].ino == (uint64_t)st.st_ino && im->files[k].dev == (uint64_t)st.st_dev)
                f = k;
    int again = f != 0;
    if (!f)
        f = img_new_file(im, S_ISDIR(st.st_mode), st.st_mode & 07777);
    char *owned = strdup(name);
    if (!f || !owned || img_map_put(&im->cur, dir, owned, f) || img_map_put(&im->dur, dir, owned, f)) {
        free(owned);
        return -ENOMEM;
    }
    if (im->nowned == im->capowned) {
        size_t cap = im->capowned ? im->capowned * 2 : 64;
        char **g = realloc(im->owned, cap * sizeof *g);
        if (!g) {
            free(owned);
            return -ENOMEM;
        }
        im->owned = g;
        im->capowned = cap;
    }
    im->owned[im->nowned++] = owned;
    struct img_file *file = &im->files[f];
    if (again)
        return 0;
    file->dev = (uint64_t)st.st_dev;
    file->ino = (uint64_t)st.st_ino;
    if (S_ISDIR(st.st_mode))
        return img_load_dir(im, full, f);
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlink(full, target, sizeof target - 1);
        if (n < 0)
            return -errno;
        target[n] = '\0';
        file->link = strdup(target);
        return file->link ? 0 : -ENOMEM;
    }
    int fd = open(full, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    file->init = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (file->init && got < (size_t)st.st_size) {
        ssize_t n = read(fd, file->init + got, (size_t)st.st_size - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    file->init_len = got;
    file->size = got;
    return file->init && got == (size_t)st.st_size ? 0 : -EIO;
}

static int img_load_dir(struct img *im, const char *path, uint32_t dir)
{
    DIR *d = opendir(path);
    if (!d) {
        int e = errno;
        if (im->err)
            snprintf(im->err, im->errlen, "opendir(%s): %s", path, strerror(e));
        return -e;
    }
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        rc = img_load_entry(im, path, dir, de->d_name);
        if (rc && im->err)
            snprintf(im->err, im->errlen, "snapshot %s/%s: %s", path, de->d_name, strerror(-rc));
    }
    closedir(d);
    return rc;
}

/* ---- the journal -------------------------------------------------------------------- */
struct img_pass {
    uint64_t *handles;   /* handle -> file, open addressing: key 0 is empty */
    uint32_t *hfile;
    size_t hcap, hused;
    struct { uint32_t pid; uint64_t id; size_t idx; uint64_t ns; size_t dirty; } *syncs;   /* begun, not ended */
    size_t nsyncs, capsyncs;
};

static int img_bind(struct img_pass *p, uint64_t h, uint32_t f)
{
    if ((p->hused + 1) * 2 > p->hcap) {
        size_t cap = p->hcap ? p->hcap * 2 : 256;
        uint64_t *keys = calloc(cap, sizeof *keys);
        uint32_t *vals = calloc(cap, sizeof *vals);
        if (!keys || !vals) {
            free(keys);
            free(vals);
            return -ENOMEM;
        }
        for (size_t i = 0; i < p->hcap; i++) {
            if (!p->handles[i])
                continue;
            size_t k = (p->handles[i] * 0x9E3779B97F4A7C15ull >> 20) & (cap - 1);
            while (keys[k])
                k = (k + 1) & (cap - 1);
            keys[k] = p->handles[i];
            vals[k] = p->hfile[i];
        }
        free(p->handles);
        free(p->hfile);
        p->handles = keys, p->hfile = vals, p->hcap = cap;
    }
    size_t k = (h * 0x9E3779B97F4A7C15ull >> 20) & (p->hcap - 1);
    while (p->handles[k] && p->handles[k] != h)
        k = (k + 1) & (p->hcap - 1);
    if (!p->handles[k])
        p->hused++;
    p->handles[k] = h;
    p->hfile[k] = f;
    return 0;
}

static uint32_t img_handle(const struct img_pass *p, uint64_t h)
{
    if (!p->hcap || !h)
        return 0;
    size_t k = (h * 0x9E3779B97F4A7C15ull >> 20) & (p->hcap - 1);
    while (p->handles[k] && p->handles[k] != h)
        k = (k + 1) & (p->hcap - 1);
    return p->handles[k] ? p->hfile[k] : 0;
}

static int img_open(struct img *im, struct img_pass *p, size_t i, const struct recorder_rec *r)
{
    const char *path = recorder_payload(r), *last;
    uint32_t f = img_lookup(im, path);
    int rc = 0;
    if (!f) {
        uint32_t dir = *path ? img_parent(im, path, &last) : 0;
        if (!dir) {
            im->stats.unknown_opens++;
            return 0;
        }
        if (!(r->aux & O_CREAT))
            im->stats.unknown_opens++;   /* made by a call the recorder did not see */
        mode_t mode = r->off & 07777 ? (mode_t)(r->off & 07777) : 0644;   /* 0: an old journal */
        f = img_new_file(im, (r->aux & O_DIRECTORY) != 0, mode);
        if (!f || img_entry(im, i, dir, last, f) != 0)
            return -ENOMEM;
        im->files[f].chg = im->files[f].dchg = i + 1;
    } else if ((r->aux & O_TRUNC) && !im->files[f].is_dir) {
        rc = img_push_op(im, f, i);
        im->files[f].size = 0;
        im->files[f].chg = im->files[f].dchg = i + 1;
    }
    return rc ? rc : img_bind(p, r->handle, f);
}

/* payload target\0path\0 */
static int img_symlink(struct img *im, size_t i, const char *target)
{
    const char *path = target + strlen(target) + 1, *last;
    uint32_t d = img_parent(im, path, &last), f = 0;
    if (!d || !*last)
        return 0;
    if (!(f = img_new_file(im, 0, 0777)) || !(im->files[f].link = strdup(target)))
        return -ENOMEM;
    return img_entry(im, i, d, last, f);
}

static int img_names(struct img *im, size_t i, const struct recorder_rec *r)
{
    const char *a = recorder_payload(r), *la, *lb;
    if (r->type == RECORDER_SYMLINK)
        return img_symlink(im, i, a);
    uint32_t da = img_parent(im, a, &la);
    if (!da || !*la)
        return 0;
    uint32_t fa = img_map_get(&im->cur, da, la);
    switch (r->type) {
    case RECORDER_MKDIR: {
        uint32_t f = img_new_file(im, 1, r->off & 07777 ? (mode_t)(r->off & 07777) : 0755);
        return f ? img_entry(im, i, da, la, f) : -ENOMEM;
    }
    case RECORDER_UNLINK:
    case RECORDER_RMDIR:
        return fa ? img_entry(im, i, da, la, 0) : 0;
    default:
        break;
    }
    const char *b = a + strlen(a) + 1;   /* RENAME, LINK: old\0new\0 */
    uint32_t db = img_parent(im, b, &lb);
    if (!fa || !db || !*lb)
        return 0;
    uint32_t fb = img_map_get(&im->cur, db, lb);
    int rc = 0;
    if (r->type == RECORDER_LINK)
        return img_entry(im, i, db, lb, fa);
    if (r->aux & 2 /* RENAME_EXCHANGE */)
        return img_entry(im, i, da, la, fb) ? -ENOMEM : img_entry(im, i, db, lb, fa);
    if (fb == fa)
        return 0;   /* rename(2) of a name onto another link of the same file does nothing */
    if (fb && !im->files[fb].is_dir)
        rc = img_push_eop(&im->replaces, &im->nreplaces, &im->capreplaces,
                          (struct img_eop){i, db, fa, lb});
    if (!rc)
        rc = img_entry(im, i, da, la, 0);
    return rc ? rc : img_entry(im, i, db, lb, fa);
}

static size_t img_max(size_t a, size_t b)
{
    return a > b ? a : b;
}

static int img_sync_end(struct img *im, struct img_pass *p, const struct recorder_rec *r)
{
    for (size_t k = 0; k < p->nsyncs; k++) {
        if (p->syncs[k].pid != r->pid || p->syncs[k].id != r->off)
            continue;
        size_t b = p->syncs[k].idx, dirty = p->syncs[k].dirty;
        uint64_t took = r->ns - p->syncs[k].ns;
        p->syncs[k] = p->syncs[--p->nsyncs];
        if (r->aux != 0)
            return 0;   /* a failed sync promises nothing */
        if (took > im->stats.max_sync_ns)
            im->stats.max_sync_ns = took;
        uint32_t f = r->handle ? img_handle(p, r->handle) : 0;
        if (!r->handle) {
            im->global_data_idx = img_max(im->global_data_idx, b);
            im->global_meta_idx = img_max(im->global_meta_idx, b);
        } else if (f) {
            im->files[f].data_idx = img_max(im->files[f].data_idx, b);
            if (im->files[f].is_dir)
                im->files[f].meta_idx = img_max(im->files[f].meta_idx, b);
        }
        /* ext4: the sync commits the journal only if its file had a change
         * the last commit did not carry (dirty is 1 + that change's index) */
        if (im->model == RECORDER_EXT4 && r->handle && dirty > im->global_meta_idx)
            im->global_meta_idx = b;
        return 0;
    }
    return 0;
}

/* The size the program saw after a data change, and whether it changed
 * the size or allocated (what an fdatasync must commit). */
static void img_track_size(struct img_file *file, const struct recorder_rec *r, size_t i)
{
    uint64_t before = file->size;
    switch (r->type) {
    case RECORDER_WRITE:
        if (r->flags & RECORDER_F_REPLACE)
            file->size = r->len;
        else if (!(r->flags & RECORDER_F_MAPPED) && r->off + r->len > file->size)
            file->size = r->off + r->len;
        break;
    case RECORDER_TRUNCATE:
    case RECORDER_TRUNCATE_PATH:
        file->size = r->off;
        file->dchg = i + 1;
        break;
    case RECORDER_FALLOCATE:
        file->size = img_fallocate_size(file->size, r);
        file->dchg = i + 1;
        break;
    default:
        break;
    }
    if (file->size != before)
        file->dchg = i + 1;
    file->chg = i + 1;
}

static int img_record(struct img *im, struct img_pass *p, size_t i, const struct recorder_rec *r)
{
    uint32_t f;
    switch (r->type) {
    case RECORDER_OPEN:
        return img_open(im, p, i, r);
    case RECORDER_WRITE:
    case RECORDER_TRUNCATE:
    case RECORDER_FALLOCATE:
    case RECORDER_TRUNCATE_PATH:
        f = r->type == RECORDER_TRUNCATE_PATH ? img_lookup(im, recorder_payload(r)) : img_handle(p, r->handle);
        if (!f || im->files[f].is_dir)
            return 0;
        img_track_size(&im->files[f], r, i);
        return img_push_op(im, f, i);
    case RECORDER_SYNC_BEGIN:
        if (p->nsyncs == p->capsyncs) {
            size_t cap = p->capsyncs ? p->capsyncs * 2 : 16;
            void *g = realloc(p->syncs, cap * sizeof *p->syncs);
            if (!g)
                return -ENOMEM;
            p->syncs = g;
            p->capsyncs = cap;
        }
        p->syncs[p->nsyncs].pid = r->pid;
        p->syncs[p->nsyncs].id = r->off;
        p->syncs[p->nsyncs].idx = i;
        f = img_handle(p, r->handle);
        p->syncs[p->nsyncs].dirty = !f ? 0
                                   : r->aux == RECORDER_SYNC_FSYNC ? im->files[f].chg : im->files[f].dchg;
        p->syncs[p->nsyncs++].ns = r->ns;
        return 0;
    case RECORDER_SYNC_END:
        return img_sync_end(im, p, r);
    case RECORDER_RENAME:
    case RECORDER_UNLINK:
    case RECORDER_MKDIR:
    case RECORDER_RMDIR:
    case RECORDER_LINK:
    case RECORDER_SYMLINK:
        return img_names(im, i, r);
    case RECORDER_CHMOD:   /* durable as the file's data is */
        f = r->handle ? img_handle(p, r->handle) : img_lookup(im, recorder_payload(r));
        if (!f)
            return 0;
        im->files[f].chg = i + 1;
        return img_push_op(im, f, i);
    case RECORDER_FLAG:
        im->stats.flags++;
        return 0;
    default:
        return 0;
    }
}

/* What the cut made durable: data per file, entries per directory. */
static int img_settle(struct img *im)
{
    for (size_t f = 1; f < im->nfiles; f++) {
        struct img_file *file = &im->files[f];
        if (im->global_data_idx > file->data_idx)
            file->data_idx = im->global_data_idx;
        if (im->global_meta_idx > file->meta_idx)
            file->meta_idx = im->global_meta_idx;
    }
    for (size_t k = 0; k < im->neops; k++) {
        const struct img_eop *e = &im->eops[k];
        if (e->idx < im->files[e->dir].meta_idx && img_map_put(&im->dur, e->dir, e->name, e->file))
            return -ENOMEM;
    }
    if (im->model == RECORDER_EXT4)
        for (size_t k = 0; k < im->nreplaces; k++) {
            const struct img_eop *e = &im->replaces[k];
            if (e->idx < im->files[e->dir].meta_idx && e->idx > im->files[e->file].data_idx)
                im->files[e->file].data_idx = e->idx;
        }
    return 0;
}

static void img_free(struct img *im)
{
    for (size_t f = 0; f < im->nfiles; f++) {
        free(im->files[f].first_path);
        free(im->files[f].init);
        free(im->files[f].link);
        free(im->files[f].ops);
    }
    for (size_t k = 0; k < im->nowned; k++)
        free(im->owned[k]);
    free(im->owned);
    free(im->files);
    free(im->cur.slots);
    free(im->dur.slots);
    free(im->eops);
    free(im->replaces);
}

int recorder_image_build(const struct recorder_journal *j, const char *snapshot_dir,
                         uint64_t at_ns, enum recorder_model model, uint64_t seed,
                         const char *out_dir, struct recorder_image_stats *stats,
                         char *err, size_t errlen)
{
    struct img im = {.j = j, .model = model, .seed = seed, .err = err, .errlen = errlen};
    struct img_pass p = {0};
    struct stat st;
    int rc = -ENOMEM;
    if (stat(snapshot_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        rc = -(errno ? errno : ENOTDIR);
        (void)PL_ERR(err, errlen, 0, "stat(%s): %s", snapshot_dir, strerror(-rc));
        return rc;
    }
    if (img_new_file(&im, 1, 0) != 0 || img_new_file(&im, 1, st.st_mode & 07777) != 1)
        goto out;   /* number 0 means none; 1 is the root */
    rc = img_load_dir(&im, snapshot_dir, 1);
    if (rc)
        goto out;
    size_t i = 0;
    for (; i < j->n && j->recs[i]->ns <= at_ns; i++) {
        rc = img_record(&im, &p, i, j->recs[i]);
        if (rc) {
            (void)PL_ERR(err, errlen, 0, "journal record %zu (%s): %s", i, recorder_type_name(j->recs[i]->type), strerror(-rc));
            goto out;
        }
    }
    im.stats.records = i;
    im.stats.torn_bytes = j->torn_bytes;
    im.stats.flags += j->torn_bytes != 0;   /* what follows a torn record is not seen */
    rc = img_settle(&im);
    if (rc == 0)
        rc = img_write_tree(&im, out_dir);
    if (rc == 0 && stats)
        *stats = im.stats;
out:
    if (rc == -ENOMEM)
        (void)PL_ERR(err, errlen, 0, "building the image: %s", strerror(ENOMEM));
    free(p.handles);
    free(p.hfile);
    free(p.syncs);
    img_free(&im);
    return rc;
}
