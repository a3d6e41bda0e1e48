/* state: a state's bytes and names, its content hash, writing it out.
 *
 * DESIGN.  Materializing replays the state's pieces, in list order, into
 * per-file buffers and a name map that the engine keeps from state to
 * state; a generation number makes both empty again without clearing them.
 * The hash walks the tree from the root, each directory's entries sorted
 * by name, so it depends only on what a reader of the tree would see:
 * names, kinds, bytes, symbolic link targets, and how many names each
 * file has (a hard link is not a copy); never on ids or on which
 * operations produced the bytes.  Bytes are hashed 8 at a time, in four
 * lanes, with h = xorshift((h ^ word) * odd), and the lanes are combined
 * by bijective mixes: every step is a bijection of the word it takes in,
 * so two contents of one length that differ in one word always hash apart.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "powerloss/internal.h"

#define PL_K1 0xff51afd7ed558ccdull
#define PL_K2 0xc4ceb9fe1a85ec53ull

static inline uint64_t pl_fmix(uint64_t h)
{
    h ^= h >> 33;
    h *= PL_K1;
    h ^= h >> 33;
    h *= PL_K2;
    return h ^ (h >> 33);
}

uint64_t pl_hash_bytes(const unsigned char *p, size_t n, uint64_t h)
{
    /* Four lanes, so the multiplies of neighbouring words overlap. */
    uint64_t l[4] = {h ^ (uint64_t)n * 0x9E3779B97F4A7C15ull, h + PL_K1, h + PL_K2, h ^ 0x6a09e667f3bcc909ull};
    for (; n >= 32; p += 32, n -= 32)
        for (int k = 0; k < 4; k++) {
            uint64_t v;
            memcpy(&v, p + 8 * k, 8);
            l[k] = (l[k] ^ v) * PL_K1;
            l[k] ^= l[k] >> 32;
        }
    for (int k = 0; n > 0; k++) {
        uint64_t v = 0;
        size_t m = n < 8 ? n : 8;
        memcpy(&v, p, m);
        l[k] = (l[k] ^ v) * PL_K1;
        l[k] ^= l[k] >> 32;
        p += m;
        n -= m;
    }
    /* Each step is a bijection of the lane it takes in, given the others. */
    uint64_t c = l[0];
    for (int k = 1; k < 4; k++)
        c = pl_fmix(c) ^ l[k];
    return pl_fmix(c);
}

uint64_t pl_name_hash(uint32_t dir, const char *name)
{
    uint64_t h = 1469598103934665603ull ^ ((uint64_t)dir * 0x9E3779B97F4A7C15ull);
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        h = (h ^ *c) * 1099511628211ull;
    return pl_fmix(h);
}

/* ---- the name map -------------------------------------------------------------- */

static struct pl_slot *pl_find(const struct pl_engine *e, uint32_t dir, const char *name, uint64_t h)
{
    size_t mask = e->mapcap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct pl_slot *s = &e->map[i];
        if (s->gen != e->gen || (s->h == h && s->dir == dir && strcmp(s->name, name) == 0))
            return s;
    }
}

uint32_t pl_map_get(const struct pl_engine *e, uint32_t dir, const char *name, uint64_t h)
{
    const struct pl_slot *s = pl_find(e, dir, name, h);
    return s->gen == e->gen ? s->file : 0;
}

/* The map has room for every name the list makes (engine.c sizes it), so
 * a put never fails; removal leaves the slot (file 0) so probes go on. */
void pl_map_put(struct pl_engine *e, uint32_t dir, const char *name, uint64_t h, uint32_t file)
{
    struct pl_slot *s = pl_find(e, dir, name, h);
    if (s->gen != e->gen) {
        if (!file)
            return;
        s->gen = e->gen;
        s->dir = dir;
        s->name = name;
        s->h = h;
    }
    s->file = file;
}

/* ---- bytes ----------------------------------------------------------------------- */

static struct pl_buf *pl_buf(struct pl_engine *e, uint32_t f)
{
    struct pl_buf *b = &e->bufs[f];
    if (b->gen != e->gen) {
        b->gen = e->gen;
        b->len = 0;
        b->mode = 0;
    }
    return b;
}

static int pl_resize(struct pl_buf *b, uint64_t len)
{
    if (len > SIZE_MAX / 2)
        return -EFBIG;
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
        memset(b->data + b->len, 0, (size_t)len - b->len);
    b->len = (size_t)len;
    return 0;
}

/* fallocate: the size change, and the bytes it zeroes or moves. */
static int pl_falloc(struct pl_buf *b, const struct pl_op *o)
{
    uint64_t old = b->len, size = pl_falloc_size(old, o);
    if (o->flags & PL_FA_COLLAPSE) {   /* the range goes; what follows moves down */
        if (size != old)
            memmove(b->data + o->off, b->data + o->off + o->len, (size_t)(old - o->off - o->len));
        b->len = (size_t)size;
        return 0;
    }
    if (o->flags & PL_FA_INSERT) {     /* a hole opens at off */
        if (size == old)
            return 0;
        int rc = pl_resize(b, size);
        if (rc)
            return rc;
        memmove(b->data + o->off + o->len, b->data + o->off, (size_t)(old - o->off));
        memset(b->data + o->off, 0, (size_t)o->len);
        return 0;
    }
    if ((o->flags & (PL_FA_PUNCH | PL_FA_ZERO)) && o->off < old) {
        uint64_t end = o->off + o->len < old ? o->off + o->len : old;
        memset(b->data + o->off, 0, (size_t)(end - o->off));
    }
    return size > old ? pl_resize(b, size) : 0;
}

static int pl_apply(struct pl_engine *e, const struct pl_piece *p)
{
    const struct pl_op *o = &e->l->ops[p->op];
    struct pl_buf *b;
    switch (o->kind) {
    case PL_WRITE: {
        b = pl_buf(e, o->file);
        uint64_t at = o->off + p->from, end = o->off + p->to;
        if (o->flags & PL_W_MAPPED) {   /* a store past the end of the file is lost */
            if (end > b->len)
                end = b->len;
            if (at >= end)
                return 0;
        }
        if (end > b->len) {
            int rc = pl_resize(b, end);
            if (rc)
                return rc;
        }
        memcpy(b->data + at, o->data + p->from, (size_t)(end - at));
        return 0;
    }
    case PL_FALLOCATE:
        return pl_falloc(pl_buf(e, o->file), o);
    case PL_CHMOD:
        pl_buf(e, o->file)->mode = (uint32_t)(o->off & 07777);
        return 0;
    case PL_SETSIZE:
        b = pl_buf(e, o->file);
        if (o->off <= b->len) {
            b->len = (size_t)o->off;
            return 0;
        }
        return pl_resize(b, o->off);
    case PL_SYMLINK:
        b = pl_buf(e, o->file);
        b->len = 0;
        if (o->len && pl_resize(b, o->len))
            return -ENOMEM;
        if (o->len)
            memcpy(b->data, o->data, (size_t)o->len);   /* its target */
        pl_map_put(e, o->dir, o->name, e->nh[p->op], o->file);
        return 0;
    case PL_CREATE:
    case PL_MKDIR:
        b = pl_buf(e, o->file);
        b->len = 0;   /* a new inode */
        b->mode = (uint32_t)(o->off & 07777);
        /* fall through */
    case PL_LINK:
        pl_map_put(e, o->dir, o->name, e->nh[p->op], o->file);
        return 0;
    case PL_UNLINK:
        if (pl_map_get(e, o->dir, o->name, e->nh[p->op]) == e->res[p->op])
            pl_map_put(e, o->dir, o->name, e->nh[p->op], 0);
        return 0;
    case PL_RENAME: {
        uint32_t f = e->res[p->op];
        if (o->flags & PL_RENAME_EXCHANGE) {
            if (p->part != PL_PART_NEW)
                pl_map_put(e, o->dir, o->name, e->nh[p->op], e->over[p->op]);
        } else if (p->part != PL_PART_NEW && pl_map_get(e, o->dir, o->name, e->nh[p->op]) == f)
            pl_map_put(e, o->dir, o->name, e->nh[p->op], 0);
        if (p->part != PL_PART_OLD)
            pl_map_put(e, o->dir2, o->name2, e->nh2[p->op], f);
        return 0;
    }
    default:
        return 0;
    }
}

/* ---- the tree ---------------------------------------------------------------------- */

static int pl_by_dir_name(const void *a, const void *b)
{
    const struct pl_slot *x = *(const struct pl_slot *const *)a, *y = *(const struct pl_slot *const *)b;
    if (x->dir != y->dir)
        return x->dir < y->dir ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* The live entries, sorted; each file's number of names. */
static void pl_entries(struct pl_engine *e)
{
    e->nents = 0;
    for (size_t i = 0; i < e->mapcap; i++) {
        struct pl_slot *s = &e->map[i];
        if (s->gen != e->gen || !s->file)
            continue;
        e->ents[e->nents++] = s;
        struct pl_buf *b = pl_buf(e, s->file);
        if (b->hgen != e->gen) {
            b->hgen = e->gen;
            b->nlink = 0;
            b->hash = 0;
        }
        b->nlink++;
    }
    qsort(e->ents, e->nents, sizeof *e->ents, pl_by_dir_name);
}

static size_t pl_first_entry(const struct pl_engine *e, uint32_t dir)
{
    size_t lo = 0, hi = e->nents;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (e->ents[mid]->dir < dir)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* A mode the default leaves out hashes as the default (a snapshot without modes). */
static uint32_t pl_eff_mode(const struct pl_buf *b, uint32_t dflt)
{
    return b->mode ? b->mode : dflt;
}

static uint64_t pl_hash_dir(struct pl_engine *e, struct pl_state *st, uint32_t dir, unsigned depth)
{
    uint64_t h = 0x6469720000000000ull;
    pl_buf(e, dir)->vgen = e->gen;
    st->dirs++;
    for (size_t k = pl_first_entry(e, dir); k < e->nents && e->ents[k]->dir == dir; k++) {
        uint32_t f = e->ents[k]->file;
        struct pl_buf *b = pl_buf(e, f);
        uint64_t c;
        if (e->ftype[f] == PL_T_DIR) {
            /* A directory a strict model left under two names (both halves
             * of a rename) is hashed once; the second is a marker. */
            c = b->vgen == e->gen || depth > 4096 ? 0x616761696eull : pl_hash_dir(e, st, f, depth + 1);
            c ^= (uint64_t)(pl_eff_mode(b, 0755) ^ 0755) << 40;
        } else {
            if (b->vgen != e->gen) {
                b->vgen = e->gen;
                b->hash = pl_hash_bytes(b->data, b->len, e->ftype[f]);
                st->files++;
                st->bytes += b->len;
            }
            c = b->hash ^ ((uint64_t)b->nlink << 56);
            if (e->ftype[f] == PL_T_FILE)
                c ^= (uint64_t)(pl_eff_mode(b, 0644) ^ 0644) << 40;
        }
        h = pl_fmix(h * PL_K2 + pl_hash_bytes((const unsigned char *)e->ents[k]->name,
                                              strlen(e->ents[k]->name), c));
    }
    return h;
}

int pl_materialize(struct pl_engine *e, struct pl_state *st)
{
    e->gen++;
    for (size_t i = 0; i < st->npieces; i++) {
        int rc = pl_apply(e, &st->pieces[i]);
        if (rc)
            return rc;
    }
    pl_entries(e);
    st->files = st->dirs = st->bytes = 0;
    st->hash = pl_hash_dir(e, st, 1, 0);
    uint32_t root = pl_eff_mode(pl_buf(e, 1), 0755) ^ 0755;
    if (root)
        st->hash = pl_fmix(st->hash ^ ((uint64_t)root << 40));
    st->serial = e->gen;
    return 0;
}

static int pl_current(struct pl_engine *e, const struct pl_state *st, char *err, size_t errlen)
{
    if (st->serial == e->gen)
        return 0;
    struct pl_state copy = *st;
    int rc = pl_materialize(e, &copy);
    if (!rc && copy.hash != st->hash)
        rc = -EINVAL;
    return rc ? PL_ERR(err, errlen, rc, "powerloss state: not a state of this engine (%s)", strerror(-rc)) : 0;
}

/* ---- writing it out ------------------------------------------------------------------ */

static int pl_write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int pl_put_file(const struct pl_buf *b, const char *path, int flags, mode_t mode, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | flags, mode);
    if (fd < 0)
        return PL_ERR(err, errlen, -errno, "open(%s): %s", path, strerror(errno));
    int rc = pl_write_all(fd, b->data, b->len);
    if (!rc && (flags & O_EXCL) && fchmod(fd, mode) != 0)   /* the program's mode, whatever our umask */
        rc = -errno;
    if (rc) {
        close(fd);
        return PL_ERR(err, errlen, rc, "write(%s): %s", path, strerror(-rc));
    }
    if (close(fd) != 0)
        return PL_ERR(err, errlen, -errno, "close(%s): %s", path, strerror(errno));
    return 0;
}

/* Paths of the files written, so that a second name becomes a link. */
struct pl_paths {
    char **v;
    size_t n, cap;
};

static const char *pl_keep_path(struct pl_paths *ps, const char *path)
{
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 64;
        char **g = realloc(ps->v, cap * sizeof *g);
        if (!g)
            return NULL;
        ps->v = g;
        ps->cap = cap;
    }
    char *c = strdup(path);
    if (c)
        ps->v[ps->n++] = c;
    return c;
}

static int pl_write_dir(struct pl_engine *e, uint32_t dir, const char *path, struct pl_paths *ps, char *err,
                        size_t errlen)
{
    pl_buf(e, dir)->vgen = e->gen + 1;   /* written (distinct from hashed) */
    for (size_t k = pl_first_entry(e, dir); k < e->nents && e->ents[k]->dir == dir; k++) {
        uint32_t f = e->ents[k]->file;
        struct pl_buf *b = pl_buf(e, f);
        char child[PATH_MAX];
        if ((size_t)snprintf(child, sizeof child, "%s/%s", path, e->ents[k]->name) >= sizeof child)
            return PL_ERR(err, errlen, -ENAMETOOLONG, "%s/%s: path too long", path, e->ents[k]->name);
        int rc = 0;
        if (e->ftype[f] == PL_T_DIR) {
            if (b->vgen == e->gen + 1)
                continue;   /* a directory reachable twice is written once, at the first */
            if (mkdir(child, 0700) != 0)
                return PL_ERR(err, errlen, -errno, "mkdir(%s): %s", child, strerror(errno));
            rc = pl_write_dir(e, f, child, ps, err, errlen);
            /* its mode once its entries are in (a directory without write permission) */
            if (!rc && chmod(child, pl_eff_mode(b, 0755)) != 0)
                return PL_ERR(err, errlen, -errno, "chmod(%s): %s", child, strerror(errno));
        } else if (b->vgen == e->gen + 1) {
            if (link(b->path, child) != 0)
                return PL_ERR(err, errlen, -errno, "link(%s, %s): %s", b->path, child, strerror(errno));
        } else {
            b->vgen = e->gen + 1;
            b->path = pl_keep_path(ps, child);
            if (!b->path)
                return PL_ERR(err, errlen, -ENOMEM, "%s: out of memory", child);
            if (e->ftype[f] == PL_T_LINK) {
                char target[PATH_MAX];
                if (b->len >= sizeof target)
                    return PL_ERR(err, errlen, -ENAMETOOLONG, "symlink(%s): target of %zu bytes", child, b->len);
                if (b->len)
                    memcpy(target, b->data, b->len);
                target[b->len] = '\0';
                if (symlink(target, child) != 0)
                    return PL_ERR(err, errlen, -errno, "symlink(%s): %s", child, strerror(errno));
            } else {
                rc = pl_put_file(b, child, O_EXCL, pl_eff_mode(b, 0644), err, errlen);
            }
        }
        if (rc)
            return rc;
    }
    return 0;
}

int pl_state_write(struct pl_engine *e, const struct pl_state *st, const char *dir, char *err, size_t errlen)
{
    int rc = pl_current(e, st, err, errlen);
    if (rc)
        return rc;
    if (mkdir(dir, 0700) != 0)
        return PL_ERR(err, errlen, -errno, "mkdir(%s): %s", dir, strerror(errno));
    struct pl_paths ps = {0};
    rc = pl_write_dir(e, 1, dir, &ps, err, errlen);
    if (!rc && chmod(dir, pl_eff_mode(pl_buf(e, 1), 0755)) != 0)
        rc = PL_ERR(err, errlen, -errno, "chmod(%s): %s", dir, strerror(errno));
    for (size_t i = 0; i < ps.n; i++)
        free(ps.v[i]);
    free(ps.v);
    e->gen++;   /* the written marks and paths must not outlive this call */
    return rc;
}

int pl_state_content(struct pl_engine *e, const struct pl_state *st, uint32_t file, const unsigned char **data,
                     size_t *len, char *err, size_t errlen)
{
    if (file == 0 || file >= e->nfiles || e->ftype[file] == PL_T_DIR)
        return PL_ERR(err, errlen, -EINVAL, "powerloss state: %u is not a file id of the list", file);
    int rc = pl_current(e, st, err, errlen);
    if (rc)
        return rc;
    const struct pl_buf *b = pl_buf(e, file);
    *data = b->data ? b->data : (const unsigned char *)"";   /* never NULL: callers memcpy it */
    *len = b->len;
    return 0;
}

int pl_state_write_file(struct pl_engine *e, const struct pl_state *st, uint32_t file, const char *path,
                        char *err, size_t errlen)
{
    const unsigned char *data = NULL;
    size_t len = 0;
    int rc = pl_state_content(e, st, file, &data, &len, err, errlen);
    if (rc)
        return rc;
    struct pl_buf b = {.data = (unsigned char *)data, .len = len};
    return pl_put_file(&b, path, O_TRUNC, 0644, err, errlen);
}
