/* ops: the recorder as a producer: a snapshot and a journal become the
 * power-loss engine's operation list (struct pl_list).
 *
 * DESIGN.  The snapshot comes first, as the list's base (durable under
 * every model): each directory, file (its bytes read into memory the
 * producer owns) and symbolic link of the root, a second name of a file as
 * a link.  Then one pass over the journal replays names as the program saw
 * them (a map of (directory id, name) -> id, and the handles of OPEN
 * records) and turns each record into operations on ids:
 *   OPEN          a new file or directory when the path did not resolve
 *                 (an open without O_CREAT is counted in unknown_opens: a
 *                 call the recorder did not see made it); O_TRUNC: setsize 0
 *   WRITE         a write; O_SYNC/O_DSYNC handles: durable when it returned;
 *                 F_MAPPED: never grows the file; F_REPLACE (stdio): the
 *                 file is exactly the payload (setsize when it shrinks, write)
 *   TRUNCATE*, FALLOCATE, CHMOD   setsize, fallocate (its mode), chmod
 *   SYNC_BEGIN/END a sync of its handle's file or directory (handle 0: every
 *                 file); the end names its begin by (pid, sync id); a failed
 *                 sync (aux != 0) is an end with that errno: it covers nothing
 *   names         create, mkdir, symlink, link, unlink, rename (EXCHANGE swaps)
 *   FLAG          counted, never an operation: what the recorder could not see
 * Records whose file or directory never resolved are left out (as a call
 * on something outside the root).  Bytes and names point into the journal's
 * mapping, which must outlive the list.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "recorder/recorder.h"

#define OPS_T_FILE 0
#define OPS_T_DIR 1
#define OPS_T_LINK 2

struct ops_slot {
    uint32_t dir, file;   /* file 0: removed */
    const char *name;
};

struct ops_sync {         /* begun, not ended */
    uint32_t pid, file;
    uint64_t id, ns;
    size_t begin;         /* its begin in the list; SIZE_MAX: not in the list */
};

/* The pass's state: what the program saw. */
struct ops_pass {
    struct recorder_ops *o;
    const struct recorder_journal *j;
    struct ops_slot *map;
    size_t mapcap, mapused;
    uint64_t *hkey;       /* handle -> hfile/hsync, open addressing; key 0 empty */
    uint32_t *hfile;
    uint8_t *hsync;       /* PL_O_SYNC / PL_O_DSYNC of the handle's open flags */
    size_t hcap, hused;
    struct ops_sync *syncs;
    size_t nsyncs, capsyncs;
    uint8_t *type;        /* [id] OPS_T_* */
    uint64_t *size;       /* [id] the size the program saw */
    size_t captype, capsize;
    struct snap_link { uint64_t dev, ino; uint32_t file; } *links;
    size_t nlinks, caplinks;
    char *err;
    size_t errlen;
};

/* ---- growing things ----------------------------------------------------------------- */
static int ops_grow(void *pv, size_t *cap, size_t need, size_t size)
{
    void **p = pv;
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *g = realloc(*p, c * size);
    if (!g)
        return -ENOMEM;
    memset((char *)g + *cap * size, 0, (c - *cap) * size);
    *p = g;
    *cap = c;
    return 0;
}

static const char *ops_own(struct recorder_ops *o, void *p)
{
    if (!p || ops_grow(&o->owned, &o->capowned, o->nowned + 1, sizeof *o->owned)) {
        free(p);
        return NULL;
    }
    o->owned[o->nowned++] = p;
    return p;
}

static int ops_add(struct ops_pass *p, struct pl_op op, uint32_t rec)
{
    struct recorder_ops *o = p->o;
    int rc = pl_list_add(&o->list, &op, p->err, p->errlen);
    if (rc)
        return rc;
    if (ops_grow(&o->rec, &o->caprec, o->list.n, sizeof *o->rec))
        return -ENOMEM;
    o->rec[o->list.n - 1] = rec;
    return 0;
}

/* A new id of type t, first named path (by reference). */
static uint32_t ops_new_id(struct ops_pass *p, int t, const char *path)
{
    struct recorder_ops *o = p->o;
    uint32_t f = o->nfiles;
    if (f >= (1u << 24) - 1 || ops_grow(&p->type, &p->captype, f + 1, 1)
        || ops_grow(&p->size, &p->capsize, f + 1, sizeof *p->size)
        || ops_grow(&o->paths, &o->cappaths, f + 1, sizeof *o->paths))
        return 0;
    o->nfiles = f + 1;
    p->type[f] = (uint8_t)t;
    p->size[f] = 0;
    o->paths[f] = path;
    return f;
}

/* ---- names ------------------------------------------------------------------------------ */
static uint64_t ops_hash(uint32_t dir, const char *name)
{
    uint64_t h = 1469598103934665603ull ^ ((uint64_t)dir * 0x9E3779B97F4A7C15ull);
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        h = (h ^ *c) * 1099511628211ull;
    return h ^ (h >> 29);
}

static struct ops_slot *ops_find(const struct ops_pass *p, uint32_t dir, const char *name)
{
    size_t mask = p->mapcap - 1;
    for (size_t i = ops_hash(dir, name) & mask;; i = (i + 1) & mask) {
        struct ops_slot *s = &p->map[i];
        if (!s->name || (s->dir == dir && strcmp(s->name, name) == 0))
            return s;
    }
}

static uint32_t ops_get(const struct ops_pass *p, uint32_t dir, const char *name)
{
    return p->mapcap ? ops_find(p, dir, name)->file : 0;
}

/* name must outlive the pass (the journal's mapping, or owned). */
static int ops_put(struct ops_pass *p, uint32_t dir, const char *name, uint32_t file)
{
    if ((p->mapused + 1) * 2 > p->mapcap) {
        struct ops_pass g = {.mapcap = p->mapcap ? p->mapcap * 2 : 1024};
        g.map = calloc(g.mapcap, sizeof *g.map);
        if (!g.map)
            return -ENOMEM;
        for (size_t i = 0; i < p->mapcap; i++)
            if (p->map[i].name)
                *ops_find(&g, p->map[i].dir, p->map[i].name) = p->map[i];
        free(p->map);
        p->map = g.map;
        p->mapcap = g.mapcap;
    }
    struct ops_slot *s = ops_find(p, dir, name);
    if (!s->name) {
        s->dir = dir;
        s->name = name;
        p->mapused++;
    }
    s->file = file;
    return 0;
}

static int ops_bad_name(const char *name)
{
    return !*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

/* The directory of path (0 when it does not resolve) and its last
 * component, which points into path. */
static uint32_t ops_parent(const struct ops_pass *p, const char *path, const char **last)
{
    uint32_t dir = 1;
    for (const char *c = path;;) {
        const char *slash = strchr(c, '/');
        if (!slash) {
            *last = c;
            return ops_bad_name(c) ? 0 : dir;
        }
        char comp[NAME_MAX + 1];
        size_t len = (size_t)(slash - c);
        if (len > NAME_MAX)
            return 0;
        memcpy(comp, c, len);
        comp[len] = '\0';
        dir = ops_get(p, dir, comp);
        if (!dir || p->type[dir] != OPS_T_DIR)
            return 0;
        c = slash + 1;
    }
}

static uint32_t ops_lookup(const struct ops_pass *p, const char *path)
{
    if (!*path)
        return 1;
    const char *last;
    uint32_t dir = ops_parent(p, path, &last);
    return dir ? ops_get(p, dir, last) : 0;
}

/* ---- handles ------------------------------------------------------------------------------ */
static size_t ops_hslot(const uint64_t *keys, size_t cap, uint64_t h)
{
    size_t k = (h * 0x9E3779B97F4A7C15ull >> 20) & (cap - 1);
    while (keys[k] && keys[k] != h)
        k = (k + 1) & (cap - 1);
    return k;
}

static int ops_bind(struct ops_pass *p, uint64_t h, uint32_t f, uint8_t sync)
{
    if ((p->hused + 1) * 2 > p->hcap) {
        size_t cap = p->hcap ? p->hcap * 2 : 256;
        uint64_t *keys = calloc(cap, sizeof *keys);
        uint32_t *vals = calloc(cap, sizeof *vals);
        uint8_t *syn = calloc(cap, 1);
        if (!keys || !vals || !syn) {
            free(keys);
            free(vals);
            free(syn);
            return -ENOMEM;
        }
        for (size_t i = 0; i < p->hcap; i++)
            if (p->hkey[i]) {
                size_t k = ops_hslot(keys, cap, p->hkey[i]);
                keys[k] = p->hkey[i], vals[k] = p->hfile[i], syn[k] = p->hsync[i];
            }
        free(p->hkey);
        free(p->hfile);
        free(p->hsync);
        p->hkey = keys, p->hfile = vals, p->hsync = syn, p->hcap = cap;
    }
    size_t k = ops_hslot(p->hkey, p->hcap, h);
    if (!p->hkey[k])
        p->hused++;
    p->hkey[k] = h, p->hfile[k] = f, p->hsync[k] = sync;
    return 0;
}

static uint32_t ops_handle(const struct ops_pass *p, uint64_t h, uint8_t *sync)
{
    if (!p->hcap || !h)
        return 0;
    size_t k = ops_hslot(p->hkey, p->hcap, h);
    if (sync)
        *sync = p->hsync[k];
    return p->hkey[k] ? p->hfile[k] : 0;
}

/* ---- the snapshot -------------------------------------------------------------------------- */
static int ops_load_dir(struct ops_pass *p, const char *full, const char *rel, uint32_t dir);

static int ops_read_file(struct ops_pass *p, const char *full, uint32_t f, const struct stat *st)
{
    if (st->st_size == 0)
        return 0;
    int fd = open(full, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return PL_ERR(p->err, p->errlen, -errno, "open(%s): %s", full, strerror(errno));
    unsigned char *data = malloc((size_t)st->st_size);
    size_t got = 0;
    while (data && got < (size_t)st->st_size) {
        ssize_t n = read(fd, data + got, (size_t)st->st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (!data || got != (size_t)st->st_size) {
        free(data);
        return PL_ERR(p->err, p->errlen, data ? -EIO : -ENOMEM, "read(%s): %s", full,
                      data ? "the file changed while the snapshot was read" : strerror(ENOMEM));
    }
    if (!ops_own(p->o, data))
        return -ENOMEM;
    p->size[f] = got;
    return ops_add(p, (struct pl_op){.kind = PL_WRITE, .file = f, .len = got, .data = data}, UINT32_MAX);
}

/* A second name of a file already loaded (nlink > 1), or 0. */
static uint32_t ops_linked(struct ops_pass *p, const struct stat *st)
{
    for (size_t k = 0; k < p->nlinks; k++)
        if (p->links[k].dev == (uint64_t)st->st_dev && p->links[k].ino == (uint64_t)st->st_ino)
            return p->links[k].file;
    return 0;
}

static int ops_load_entry(struct ops_pass *p, const char *full, const char *rel, uint32_t dir, const char *name)
{
    struct stat st;
    if (lstat(full, &st) != 0)
        return PL_ERR(p->err, p->errlen, -errno, "snapshot: lstat(%s): %s", full, strerror(errno));
    uint32_t f = S_ISDIR(st.st_mode) || st.st_nlink < 2 ? 0 : ops_linked(p, &st);
    if (f) {
        ops_put(p, dir, name, f);
        return ops_add(p, (struct pl_op){.kind = PL_LINK, .file = f, .dir = dir, .name = name}, UINT32_MAX);
    }
    const char *path = ops_own(p->o, strdup(rel));
    int t = S_ISDIR(st.st_mode) ? OPS_T_DIR : S_ISLNK(st.st_mode) ? OPS_T_LINK : OPS_T_FILE;
    if (!path || !(f = ops_new_id(p, t, path)) || ops_put(p, dir, name, f))
        return PL_ERR(p->err, p->errlen, -ENOMEM, "snapshot %s: out of memory", full);
    struct pl_op op = {.file = f, .dir = dir, .name = name, .off = st.st_mode & 07777};
    if (t == OPS_T_LINK) {
        char target[PATH_MAX];
        ssize_t n = readlink(full, target, sizeof target - 1);
        if (n < 0)
            return PL_ERR(p->err, p->errlen, -errno, "snapshot: readlink(%s): %s", full, strerror(errno));
        target[n] = '\0';
        op = (struct pl_op){.kind = PL_SYMLINK, .file = f, .dir = dir, .name = name, .len = (uint64_t)n,
                            .data = (const unsigned char *)ops_own(p->o, strdup(target))};
        return op.data ? ops_add(p, op, UINT32_MAX) : -ENOMEM;
    }
    op.kind = t == OPS_T_DIR ? PL_MKDIR : PL_CREATE;
    int rc = ops_add(p, op, UINT32_MAX);
    if (rc)
        return rc;
    if (t == OPS_T_DIR)
        return ops_load_dir(p, full, rel, f);
    if (st.st_nlink > 1) {
        if (ops_grow(&p->links, &p->caplinks, p->nlinks + 1, sizeof *p->links))
            return -ENOMEM;
        p->links[p->nlinks++] = (struct snap_link){(uint64_t)st.st_dev, (uint64_t)st.st_ino, f};
    }
    return S_ISREG(st.st_mode) ? ops_read_file(p, full, f, &st) : 0;
}

static int ops_load_dir(struct ops_pass *p, const char *full, const char *rel, uint32_t dir)
{
    DIR *d = opendir(full);
    if (!d)
        return PL_ERR(p->err, p->errlen, -errno, "snapshot: opendir(%s): %s", full, strerror(errno));
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        char cfull[PATH_MAX], crel[PATH_MAX];
        const char *name = ops_own(p->o, strdup(de->d_name));
        if (!name) {
            rc = -ENOMEM;
            break;
        }
        if ((size_t)snprintf(cfull, sizeof cfull, "%s/%s", full, name) >= sizeof cfull
            || (size_t)snprintf(crel, sizeof crel, "%s%s%s", rel, *rel ? "/" : "", name) >= sizeof crel)
            rc = PL_ERR(p->err, p->errlen, -ENAMETOOLONG, "snapshot %s/%s: path too long", full, name);
        else
            rc = ops_load_entry(p, cfull, crel, dir, name);
    }
    closedir(d);
    return rc;
}

/* ---- the journal ------------------------------------------------------------------------------- */
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static int ops_unknown(struct ops_pass *p, size_t i)
{
    struct recorder_ops *o = p->o;
    if (ops_grow(&o->unknown_at, &o->capunknown, o->unknown_opens + 1, sizeof *o->unknown_at))
        return -ENOMEM;
    o->unknown_at[o->unknown_opens++] = (uint32_t)i;
    return 0;
}

/* What a handle's open flags promise of each write. */
static uint8_t ops_sync_flags(int32_t oflags)
{
    if ((oflags & O_SYNC) == O_SYNC)
        return PL_O_SYNC;
    return oflags & O_DSYNC ? PL_O_DSYNC : 0;
}

static int ops_open(struct ops_pass *p, size_t i, const struct recorder_rec *r)
{
    const char *path = recorder_payload(r), *last;
    uint32_t f = ops_lookup(p, path);
    int rc = 0;
    if (!f) {
        uint32_t dir = *path ? ops_parent(p, path, &last) : 0;
        if (!dir)
            return ops_unknown(p, i);
        if (!(r->aux & O_CREAT) && ops_unknown(p, i))   /* made by a call the recorder did not see */
            return -ENOMEM;
        int isdir = (r->aux & O_DIRECTORY) != 0;
        if (!(f = ops_new_id(p, isdir ? OPS_T_DIR : OPS_T_FILE, path)) || ops_put(p, dir, last, f))
            return -ENOMEM;
        rc = ops_add(p, (struct pl_op){.ns = r->ns, .kind = isdir ? PL_MKDIR : PL_CREATE, .file = f, .dir = dir,
                                       .name = last, .off = r->off & 07777}, (uint32_t)i);
    } else if ((r->aux & O_TRUNC) && p->type[f] == OPS_T_FILE) {
        p->size[f] = 0;
        rc = ops_add(p, (struct pl_op){.ns = r->ns, .kind = PL_SETSIZE, .file = f, .off = 0}, (uint32_t)i);
    }
    return rc ? rc : ops_bind(p, r->handle, f, ops_sync_flags(r->aux));
}

static int ops_write(struct ops_pass *p, size_t i, const struct recorder_rec *r)
{
    uint8_t sync = 0;
    uint32_t f = ops_handle(p, r->handle, &sync);
    if (!f || p->type[f] != OPS_T_FILE)
        return 0;
    uint64_t len = r->len, room = r->size - RECORDER_HEADER;
    struct pl_op op = {.ns = r->ns, .kind = PL_WRITE, .file = f, .off = r->off, .len = len < room ? len : room,
                       .data = recorder_payload(r), .flags = sync};
    if (r->flags & RECORDER_F_REPLACE) {   /* the file is exactly the payload */
        op.off = 0;
        op.flags = 0;
        if (p->size[f] > op.len) {
            int rc = ops_add(p, (struct pl_op){.ns = r->ns, .kind = PL_SETSIZE, .file = f, .off = op.len},
                             (uint32_t)i);
            if (rc)
                return rc;
        }
        p->size[f] = op.len;
    } else if (r->flags & RECORDER_F_MAPPED) {
        op.flags = PL_W_MAPPED;   /* written back at a sync; stores past the end are lost */
    } else if (op.off + op.len > p->size[f]) {
        p->size[f] = op.off + op.len;
    }
    return op.len ? ops_add(p, op, (uint32_t)i) : 0;
}

static uint8_t ops_falloc_flags(int32_t mode)
{
    uint8_t f = 0;
    f |= mode & FALLOC_FL_KEEP_SIZE ? PL_FA_KEEP_SIZE : 0;
    f |= mode & FALLOC_FL_PUNCH_HOLE ? PL_FA_PUNCH | PL_FA_KEEP_SIZE : 0;
    f |= mode & FALLOC_FL_ZERO_RANGE ? PL_FA_ZERO : 0;
    f |= mode & FALLOC_FL_COLLAPSE_RANGE ? PL_FA_COLLAPSE : 0;
    f |= mode & FALLOC_FL_INSERT_RANGE ? PL_FA_INSERT : 0;
    if ((f & PL_FA_COLLAPSE) && (f & PL_FA_INSERT))
        f = PL_FA_KEEP_SIZE;   /* fallocate(2) refuses it: nothing changed */
    return f;
}

/* truncate, ftruncate, fallocate, chmod: an op on the file's inode. */
static int ops_inode(struct ops_pass *p, size_t i, const struct recorder_rec *r)
{
    int by_path = r->type == RECORDER_TRUNCATE_PATH || (r->type == RECORDER_CHMOD && !r->handle);
    uint32_t f = by_path ? ops_lookup(p, recorder_payload(r)) : ops_handle(p, r->handle, NULL);
    if (!f || (p->type[f] != OPS_T_FILE && !(r->type == RECORDER_CHMOD && p->type[f] == OPS_T_DIR)))
        return 0;
    struct pl_op op = {.ns = r->ns, .file = f, .off = r->off};
    if (r->type == RECORDER_CHMOD) {
        op.kind = PL_CHMOD;
        op.off &= 07777;
    } else if (r->type == RECORDER_FALLOCATE) {
        op.kind = PL_FALLOCATE;
        op.len = r->len;
        op.flags = ops_falloc_flags(r->aux);
        if (op.off + op.len < op.off)
            return 0;   /* fallocate(2) refuses a range that wraps */
        p->size[f] = pl_falloc_size(p->size[f], &op);
    } else {
        op.kind = PL_SETSIZE;
        p->size[f] = r->off;
    }
    return ops_add(p, op, (uint32_t)i);
}

static int ops_sync_begin(struct ops_pass *p, size_t i, const struct recorder_rec *r)
{
    static const uint8_t kinds[] = {[RECORDER_SYNC_FSYNC] = PL_SYNC_FSYNC,
                                    [RECORDER_SYNC_FDATASYNC] = PL_SYNC_FDATASYNC,
                                    [RECORDER_SYNC_MSYNC] = PL_SYNC_MSYNC, [RECORDER_SYNC_ALL] = PL_SYNC_ALL};
    uint8_t kind = r->aux >= 0 && r->aux <= RECORDER_SYNC_ALL ? kinds[r->aux] : PL_SYNC_FSYNC;
    uint32_t f = 0;
    if (kind != PL_SYNC_ALL && r->handle)
        f = ops_handle(p, r->handle, NULL);
    else
        kind = PL_SYNC_ALL;
    int in = kind == PL_SYNC_ALL || f != 0;   /* a sync of a file never resolved covers nothing we know */
    if (ops_grow(&p->syncs, &p->capsyncs, p->nsyncs + 1, sizeof *p->syncs))
        return -ENOMEM;
    p->syncs[p->nsyncs++] = (struct ops_sync){r->pid, f, r->off, r->ns, in ? p->o->list.n : SIZE_MAX};
    return in ? ops_add(p, (struct pl_op){.ns = r->ns, .kind = PL_SYNC_BEGIN, .file = f, .flags = kind},
                        (uint32_t)i)
              : 0;
}

static int ops_sync_end(struct ops_pass *p, size_t i, const struct recorder_rec *r)
{
    struct recorder_ops *o = p->o;
    for (size_t k = p->nsyncs; k-- > 0;) {
        if (p->syncs[k].pid != r->pid || p->syncs[k].id != r->off)
            continue;
        struct ops_sync s = p->syncs[k];
        p->syncs[k] = p->syncs[--p->nsyncs];
        if (r->aux == 0) {   /* a failed sync covered nothing: not in the longest */
            if (ops_grow(&o->syncs, &o->capsyncs, o->nsyncs + 1, sizeof *o->syncs))
                return -ENOMEM;
            o->syncs[o->nsyncs++] = (struct recorder_ops_sync){(uint32_t)i, r->ns - s.ns};
        }
        if (s.begin == SIZE_MAX)
            return 0;
        return ops_add(p, (struct pl_op){.ns = r->ns, .kind = PL_SYNC_END, .file = s.file, .off = s.begin,
                                         .rc = r->aux}, (uint32_t)i);
    }
    return 0;   /* its begin is not in the journal */
}

/* payload target\0path\0 */
static int ops_symlink(struct ops_pass *p, size_t i, const struct recorder_rec *r, const char *target)
{
    const char *path = target + strlen(target) + 1, *last;
    uint32_t d = ops_parent(p, path, &last), f;
    if (!d)
        return 0;
    if (!(f = ops_new_id(p, OPS_T_LINK, path)) || ops_put(p, d, last, f))
        return -ENOMEM;
    return ops_add(p, (struct pl_op){.ns = r->ns, .kind = PL_SYMLINK, .file = f, .dir = d, .name = last,
                                     .len = strlen(target), .data = (const unsigned char *)target}, (uint32_t)i);
}

static int ops_names(struct ops_pass *p, size_t i, const struct recorder_rec *r)
{
    const char *a = recorder_payload(r), *la, *lb;
    if (r->type == RECORDER_SYMLINK)
        return ops_symlink(p, i, r, a);
    uint32_t da = ops_parent(p, a, &la);
    if (!da)
        return 0;
    uint32_t fa = ops_get(p, da, la);
    struct pl_op op = {.ns = r->ns, .dir = da, .name = la};
    if (r->type == RECORDER_MKDIR) {
        if (!(op.file = ops_new_id(p, OPS_T_DIR, a)) || ops_put(p, da, la, op.file))
            return -ENOMEM;
        op.kind = PL_MKDIR;
        op.off = r->off & 07777;
        return ops_add(p, op, (uint32_t)i);
    }
    if (r->type == RECORDER_UNLINK || r->type == RECORDER_RMDIR) {
        op.kind = PL_UNLINK;
        return !fa ? 0 : ops_put(p, da, la, 0) ? -ENOMEM : ops_add(p, op, (uint32_t)i);
    }
    const char *b = a + strlen(a) + 1;   /* RENAME, LINK: old\0new\0 */
    uint32_t db = ops_parent(p, b, &lb);
    if (!fa || !db)
        return 0;
    uint32_t fb = ops_get(p, db, lb);
    if (r->type == RECORDER_LINK) {
        if (p->type[fa] == OPS_T_DIR)
            return 0;
        op = (struct pl_op){.ns = r->ns, .kind = PL_LINK, .file = fa, .dir = db, .name = lb};
        return ops_put(p, db, lb, fa) ? -ENOMEM : ops_add(p, op, (uint32_t)i);
    }
    if (fa == fb)
        return 0;   /* rename(2) of a name onto another link of the same file does nothing */
    int exchange = (r->aux & RENAME_EXCHANGE) && fb;   /* NOREPLACE: a rename that found no target */
    op.kind = PL_RENAME;
    op.dir2 = db;
    op.name2 = lb;
    op.flags = exchange ? PL_RENAME_EXCHANGE : 0;
    if (ops_put(p, da, la, exchange ? fb : 0) || ops_put(p, db, lb, fa))
        return -ENOMEM;
    return ops_add(p, op, (uint32_t)i);
}

static int ops_record(struct ops_pass *p, size_t i, const struct recorder_rec *r)
{
    switch (r->type) {
    case RECORDER_OPEN:
        return ops_open(p, i, r);
    case RECORDER_WRITE:
        return ops_write(p, i, r);
    case RECORDER_TRUNCATE:
    case RECORDER_TRUNCATE_PATH:
    case RECORDER_FALLOCATE:
    case RECORDER_CHMOD:
        return ops_inode(p, i, r);
    case RECORDER_SYNC_BEGIN:
        return ops_sync_begin(p, i, r);
    case RECORDER_SYNC_END:
        return ops_sync_end(p, i, r);
    case RECORDER_RENAME:
    case RECORDER_UNLINK:
    case RECORDER_MKDIR:
    case RECORDER_RMDIR:
    case RECORDER_LINK:
    case RECORDER_SYMLINK:
        return ops_names(p, i, r);
    case RECORDER_FLAG:
        p->o->flags++;
        return 0;
    default:
        return 0;   /* start, fork, sync_file_range hints: nothing on disk */
    }
}

static int ops_journal(struct ops_pass *p)
{
    const struct recorder_journal *j = p->j;
    for (size_t i = 0; i < j->n; i++) {
        if (i >= UINT32_MAX)
            return PL_ERR(p->err, p->errlen, -E2BIG, "journal: more than %u records", UINT32_MAX - 1);
        int rc = ops_record(p, i, j->recs[i]);
        if (rc == -ENOMEM)
            return rc;
        if (rc) {
            char why[256];
            snprintf(why, sizeof why, "%s", p->err ? p->err : "");
            return PL_ERR(p->err, p->errlen, rc, "journal record %zu (%s): %s", i,
                          recorder_type_name(j->recs[i]->type), why);
        }
    }
    p->o->records = j->n;
    return 0;
}

/* ---- the API -------------------------------------------------------------------------------------- */
const char *recorder_ops_path(const struct recorder_ops *o, uint32_t file)
{
    return file >= 1 && file < o->nfiles ? o->paths[file] : NULL;
}

void recorder_ops_free(struct recorder_ops *o)
{
    pl_list_free(&o->list);
    for (size_t k = 0; k < o->nowned; k++)
        free(o->owned[k]);
    free(o->owned);
    free(o->rec);
    free(o->paths);
    free(o->unknown_at);
    free(o->syncs);
    memset(o, 0, sizeof *o);
}

static void ops_pass_free(struct ops_pass *p)
{
    free(p->map);
    free(p->hkey);
    free(p->hfile);
    free(p->hsync);
    free(p->syncs);
    free(p->type);
    free(p->size);
    free(p->links);
}

int recorder_ops_build(const struct recorder_journal *j, const char *snapshot_dir, struct recorder_ops *out,
                       char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    pl_list_init(&out->list);
    struct ops_pass p = {.o = out, .j = j, .err = err, .errlen = errlen};
    struct stat st;
    if (stat(snapshot_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        int e = errno && !S_ISDIR(st.st_mode) ? errno : ENOTDIR;
        return PL_ERR(err, errlen, -e, "snapshot %s: %s (give the directory the root was copied to)",
                      snapshot_dir, strerror(e));
    }
    out->nfiles = 1;   /* id 0 is none */
    int rc = ops_new_id(&p, OPS_T_DIR, "") == 1 ? 0 : -ENOMEM;
    if (!rc && (st.st_mode & 07777) != 0755)
        rc = ops_add(&p, (struct pl_op){.kind = PL_CHMOD, .file = 1, .off = st.st_mode & 07777}, UINT32_MAX);
    if (!rc)
        rc = ops_load_dir(&p, snapshot_dir, "", 1);
    if (!rc) {
        pl_list_mark_base(&out->list);
        rc = ops_journal(&p);
    }
    out->torn_bytes = j->torn_bytes;
    out->flags += j->torn_bytes != 0;   /* what follows a torn record is not seen */
    ops_pass_free(&p);
    if (rc == -ENOMEM)
        (void)PL_ERR(err, errlen, rc, "recorder operations: out of memory");
    if (rc)
        recorder_ops_free(out);
    return rc;
}
