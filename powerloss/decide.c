/* decide: the durable set of a cut, the unsynced candidates, the models.
 *
 * A state is the durable pieces of the cut (under the base rule) merged,
 * in list order, with a chosen set of unsynced pieces.  The random models
 * only choose that set (or, for lie, shorten the durable one), always in
 * units of the disk: a write is cut at sector boundaries of the file
 * (offsets multiple of the sector size), every other op is one unit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "powerloss/internal.h"

struct pl_dur_pass {
    uint32_t *d, *d2, *pf, *pd, *lastmeta, *aux, *lost, *pl;
    uint32_t *lastchg;   /* per file, 1 + its last change of any kind (ext4: fsync commits past it) */
    uint32_t *born;      /* per file, 1 + its creation in the run (0: the snapshot's) */
    uint64_t *size;
    size_t pa, pm, commit_upto;
    size_t full_at;      /* the begin of the last completed sync() or syncfs() */
};

/* Btrfs commits its transaction every 30 s (commit=30) and at sync(). */
#define PL_BTRFS_COMMIT_NS 30000000000ull

static inline void pl_set(uint32_t *d, size_t j, size_t end)
{
    if (d[j] == PL_NEVER)
        d[j] = (uint32_t)end;
}

static void pl_mark_file(const struct pl_engine *e, struct pl_dur_pass *p, uint32_t f, size_t b, size_t end)
{
    uint32_t k = e->fstart[f] + p->pf[f];
    while (k < e->fstart[f + 1] && e->fops[k] < b) {
        pl_set(p->d, e->fops[k], end);
        k++;
    }
    p->pf[f] = k - e->fstart[f];
}

/* A failed sync of file f, begun at b, ended at end: its writes before b
 * that nothing had made durable are the pages Linux marked clean. */
static void pl_mark_lost(const struct pl_engine *e, struct pl_dur_pass *p, uint32_t f, size_t b, size_t end)
{
    uint32_t k = e->fstart[f] + p->pl[f];
    for (; k < e->fstart[f + 1] && e->fops[k] < b; k++) {
        uint32_t j = e->fops[k];
        if (e->l->ops[j].kind == PL_WRITE && p->d[j] == PL_NEVER)
            pl_set(p->lost, j, end);
    }
    p->pl[f] = k - e->fstart[f];
}

static void pl_mark_dir(const struct pl_engine *e, struct pl_dur_pass *p, uint32_t dir, size_t b, size_t end)
{
    const struct pl_op *ops = e->l->ops;
    uint32_t k = e->dstart[dir] + p->pd[dir];
    for (; k < e->dstart[dir + 1] && e->dops[k] < b; k++) {
        uint32_t j = e->dops[k];
        if (ops[j].kind != PL_RENAME) {
            pl_set(p->d, j, end);
            continue;
        }
        if (ops[j].dir2 == dir)
            pl_set(p->d, j, end);
        if (ops[j].dir == dir)
            pl_set(p->d2, j, end);
    }
    p->pd[dir] = k - e->dstart[dir];
}

static void pl_mark_all(const struct pl_engine *e, struct pl_dur_pass *p, size_t b, size_t end)
{
    for (; p->pa < b; p->pa++) {
        pl_set(p->d, p->pa, end);
        pl_set(p->d2, p->pa, end);
    }
    (void)e;
}

/* One journal commit, begun at b and done at end. */
static void pl_commit(const struct pl_engine *e, struct pl_dur_pass *p, size_t b, size_t end, int base)
{
    for (; p->pm < e->nmeta && e->meta[p->pm] < b; p->pm++) {
        uint32_t j = e->meta[p->pm];
        const struct pl_op *o = &e->l->ops[j];
        if (base == PL_BASE_BTRFS && (o->kind == PL_SETSIZE || o->kind == PL_FALLOCATE || o->kind == PL_CHMOD))
            continue;   /* the log carries names, not other inodes' sizes: their own sync does */
        pl_set(p->d, j, end);
        if (o->kind != PL_RENAME)
            continue;
        pl_set(p->d2, j, end);
        uint32_t moved = e->res[j];
        if (base == PL_BASE_EXT4 && moved && e->over[j] && e->ftype[moved] == PL_T_FILE
            && e->ftype[e->over[j]] == PL_T_FILE && !(o->flags & PL_RENAME_EXCHANGE))
            pl_mark_file(e, p, moved, j, end);   /* auto_da_alloc */
    }
    if (b > p->commit_upto)
        p->commit_upto = b;
}

/* Btrfs's fsync of f, begun at b, logs f's parent directory, so the names
 * with it, only when f is new in the running transaction: created after
 * the last sync() and less than a transaction's 30 s before.  An older
 * file's fsync logs that file alone. */
static int pl_btrfs_new(const struct pl_engine *e, const struct pl_dur_pass *p, uint32_t f, size_t b)
{
    if (!p->born[f] || p->born[f] - 1 < p->full_at || e->ftype[f] != PL_T_FILE)
        return 0;
    uint64_t made = e->l->ops[p->born[f] - 1].ns, at = e->l->ops[b].ns;
    return at <= made || at - made <= PL_BTRFS_COMMIT_NS;
}

/* Whether a sync of f (0: everything) begun at b commits the journal under
 * base, its file having changed since the last commit. */
static int pl_commits(const struct pl_engine *e, const struct pl_dur_pass *p, int base, uint32_t f, size_t b)
{
    return base != PL_BASE_POSIX && (base != PL_BASE_BTRFS || !f || pl_btrfs_new(e, p, f, b));
}

/* A change of f's inode: meta 1 when an fdatasync must commit it too. */
static inline void pl_changed(struct pl_dur_pass *p, uint32_t f, size_t i, int meta)
{
    p->lastchg[f] = (uint32_t)i + 1;
    if (meta)
        p->lastmeta[f] = (uint32_t)i + 1;
}

/* base: enum pl_base; any but POSIX is a journal. */
static void pl_dur_op(const struct pl_engine *e, struct pl_dur_pass *p, size_t i, int base)
{
    const struct pl_op *o = &e->l->ops[i];
    switch (o->kind) {
    case PL_WRITE:
        pl_changed(p, o->file, i, 0);
        if (!(o->flags & PL_W_MAPPED) && o->off + o->len > p->size[o->file]) {
            p->size[o->file] = o->off + o->len;
            pl_changed(p, o->file, i, 1);
        }
        if (o->flags & (PL_O_SYNC | PL_O_DSYNC)) {
            pl_set(p->d, i, i);
            if (pl_commits(e, p, base, o->file, i)
                && ((o->flags & PL_O_SYNC) || p->lastmeta[o->file] > p->commit_upto))
                pl_commit(e, p, i, i, base);
        }
        break;
    case PL_SETSIZE:
        p->size[o->file] = o->off;
        pl_changed(p, o->file, i, 1);
        break;
    case PL_FALLOCATE:
        p->size[o->file] = pl_falloc_size(p->size[o->file], o);
        pl_changed(p, o->file, i, 1);
        break;
    case PL_CHMOD:
        pl_changed(p, o->file, i, 0);
        break;
    case PL_CREATE:
    case PL_MKDIR:
    case PL_SYMLINK:
        if (i >= e->l->nbase)
            p->born[o->file] = (uint32_t)i + 1;
        /* fall through */
    case PL_LINK:
        pl_changed(p, o->file, i, 1);
        pl_changed(p, o->dir, i, 1);
        break;
    case PL_UNLINK:
    case PL_RENAME:
        pl_changed(p, o->dir, i, 1);
        if (o->kind == PL_RENAME)
            pl_changed(p, o->dir2, i, 1);
        if (e->res[i])
            pl_changed(p, e->res[i], i, 0);
        if (o->kind == PL_RENAME && e->over[i])
            pl_changed(p, e->over[i], i, 0);
        break;
    case PL_SYNC_BEGIN:
        p->aux[i] = !o->file ? 0 : o->flags == PL_SYNC_FSYNC ? p->lastchg[o->file] : p->lastmeta[o->file];
        break;
    case PL_SYNC_END: {
        size_t b = (size_t)o->off;
        unsigned kind = e->l->ops[b].flags;
        uint32_t f = o->file;
        if (o->rc != 0) {   /* a failed sync promises nothing, and may lose what it covered */
            if (kind != PL_SYNC_ALL && f != 0 && e->ftype[f] == PL_T_FILE)
                pl_mark_lost(e, p, f, b, i);
            break;
        }
        if (kind == PL_SYNC_ALL || f == 0) {
            pl_mark_all(e, p, b, i);
            if (base != PL_BASE_POSIX)
                pl_commit(e, p, b, i, base);
            p->full_at = b;
            break;
        }
        if (e->ftype[f] == PL_T_DIR)
            pl_mark_dir(e, p, f, b, i);
        pl_mark_file(e, p, f, b, i);   /* a directory's own ops: its chmods */
        if (pl_commits(e, p, base, f, b) && p->aux[b] > p->commit_upto)
            pl_commit(e, p, b, i, base);
        break;
    }
    default:
        break;
    }
}

static int pl_dur(struct pl_engine *e, enum pl_base base)
{
    int b = (int)base;
    if (e->dur[b])
        return 0;
    size_t n = e->n, nf = e->nfiles, nbase = e->l->nbase;
    struct pl_dur_pass p = {0};
    p.d = malloc((n + 1) * sizeof *p.d);
    p.d2 = malloc((n + 1) * sizeof *p.d2);
    p.pf = calloc(nf, sizeof *p.pf);
    p.pd = calloc(nf, sizeof *p.pd);
    p.lastmeta = calloc(nf, sizeof *p.lastmeta);
    p.lastchg = calloc(nf, sizeof *p.lastchg);
    p.aux = calloc(n + 1, sizeof *p.aux);
    p.size = calloc(nf, sizeof *p.size);
    p.born = calloc(nf, sizeof *p.born);
    p.lost = malloc((n + 1) * sizeof *p.lost);
    p.pl = calloc(nf, sizeof *p.pl);
    int rc = -ENOMEM;
    if (p.d && p.d2 && p.pf && p.pd && p.lastmeta && p.lastchg && p.aux && p.size && p.lost && p.pl && p.born) {
        for (size_t i = 0; i < n; i++) {
            p.d[i] = p.d2[i] = i < nbase ? 0 : PL_NEVER;
            p.lost[i] = PL_NEVER;
        }
        p.pa = p.commit_upto = p.full_at = nbase;
        for (size_t i = 0; i < n; i++)
            pl_dur_op(e, &p, i, b);
        e->lost[b] = p.lost;
        p.lost = NULL;
        if ((rc = pl_eio_build(e, b)) == 0) {
            e->dur[b] = p.d;
            e->dur2[b] = p.d2;
            p.d = p.d2 = NULL;
        } else {
            p.lost = e->lost[b];
            e->lost[b] = NULL;
        }
    }
    free(p.d);
    free(p.d2);
    free(p.pf);
    free(p.pd);
    free(p.lastmeta);
    free(p.lastchg);
    free(p.aux);
    free(p.size);
    free(p.born);
    free(p.lost);
    free(p.pl);
    return rc;
}

/* ---- the pieces of a cut ------------------------------------------------------------ */

static int pl_has_effect(const struct pl_engine *e, size_t i)
{
    const struct pl_op *o = &e->l->ops[i];
    switch (o->kind) {
    case PL_WRITE:
        return o->len > 0;
    case PL_UNLINK:
    case PL_RENAME:
        return e->res[i] != 0;
    case PL_SYNC_BEGIN:
    case PL_SYNC_END:
        return 0;
    default:
        return 1;
    }
}

/* Write i's pages were marked clean by a failed sync before the cut. */
static int pl_lost(const struct pl_engine *e, const struct pl_model *m, size_t cut, size_t i)
{
    return m->eio_pages_clean && e->lost[m->base][i] < cut;
}

/* Lost write i, page by page: the bytes of each page go with the page's
 * owner at the cut (durable, or unsynced), or nowhere.  Runs of pages with
 * one owner are one piece. */
static int pl_split_lost(struct pl_engine *e, const struct pl_model *m, size_t cut, int want, size_t i,
                         struct pl_piece **v, size_t *n, size_t *cap)
{
    const struct pl_op *o = &e->l->ops[i];
    const uint32_t *d = e->dur[m->base];
    uint32_t prev = PL_NEVER;
    for (uint64_t at = 0; at < o->len;) {
        uint64_t pg = (o->off + at) / PL_PAGE, end = (pg + 1) * PL_PAGE - o->off;
        end = end < o->len ? end : o->len;
        uint32_t w = pl_page_owner(e, m, cut, i, pg);
        if (w != PL_NEVER && (d[w] < cut) == want) {
            if (w == prev && (*v)[*n - 1].to == at)
                (*v)[*n - 1].to = end;
            else if (pl_push(v, n, cap, (struct pl_piece){(uint32_t)i, PL_PART_ALL, at, end}))
                return -ENOMEM;
            prev = w;
        } else {
            prev = PL_NEVER;
        }
        at = end;
    }
    return 0;
}

/* The durable pieces (want 1) or the unsynced ones (want 0) of ops[0 .. cut);
 * a lost write is neither. */
static int pl_split(struct pl_engine *e, const struct pl_model *m, size_t cut, int want, struct pl_piece **v,
                    size_t *n, size_t *cap)
{
    const uint32_t *d = e->dur[m->base], *d2 = e->dur2[m->base];
    *n = 0;
    for (size_t i = want ? 0 : e->l->nbase; i < cut; i++) {
        if (!pl_has_effect(e, i))
            continue;
        if (pl_lost(e, m, cut, i)) {
            if (pl_split_lost(e, m, cut, want, i, v, n, cap))
                return -ENOMEM;
            continue;
        }
        const struct pl_op *o = &e->l->ops[i];
        int in = d[i] < cut;
        struct pl_piece p = {(uint32_t)i, PL_PART_ALL, 0, o->kind == PL_WRITE ? o->len : 0};
        if (o->kind == PL_RENAME) {
            int in2 = d2[i] < cut;
            if (in == want && in2 == want) {
                if (pl_push(v, n, cap, p))
                    return -ENOMEM;
                continue;
            }
            p.part = PL_PART_OLD;
            if (in2 == want && pl_push(v, n, cap, p))
                return -ENOMEM;
            p.part = PL_PART_NEW;
            if (in == want && pl_push(v, n, cap, p))
                return -ENOMEM;
            continue;
        }
        if (in == want && pl_push(v, n, cap, p))
            return -ENOMEM;
    }
    return 0;
}

static int pl_prepare(struct pl_engine *e, const struct pl_model *m, size_t cut, char *err, size_t errlen)
{
    if (!m || (unsigned)m->base >= PL_BASE_MAX || m->tail > PL_TAIL_WRITEBACK
        || (m->sector != 512 && m->sector != 4096))
        return PL_ERR(err, errlen, -EINVAL, "powerloss model: invalid flags (sector size 512 or 4096)");
    if (cut > e->n || cut < e->l->nbase)
        return PL_ERR(err, errlen, -EINVAL, "powerloss cut %zu: outside the list (%zu snapshot ops, %zu in all)",
                      cut, e->l->nbase, e->n);
    if (pl_dur(e, m->base))
        return PL_ERR(err, errlen, -ENOMEM, "powerloss engine: out of memory");
    return 0;
}

int pl_unsynced(struct pl_engine *e, const struct pl_model *m, size_t cut, const struct pl_piece **out,
                size_t *n, char *err, size_t errlen)
{
    int rc = pl_prepare(e, m, cut, err, errlen);
    if (rc)
        return rc;
    if (pl_split(e, m, cut, 0, &e->cand, &e->ncand, &e->capcand))
        return PL_ERR(err, errlen, -ENOMEM, "powerloss engine: out of memory");
    *out = e->cand;
    *n = e->ncand;
    return 0;
}

/* ---- units of the disk --------------------------------------------------------------- */

static uint64_t pl_units(const struct pl_op *o, const struct pl_piece *p, unsigned s)
{
    if (o->kind != PL_WRITE)
        return 1;
    return (o->off + p->to - 1) / s - (o->off + p->from) / s + 1;
}

/* The end (in payload bytes) of the first k units of piece p. */
static uint64_t pl_units_end(const struct pl_op *o, const struct pl_piece *p, uint64_t k, unsigned s)
{
    uint64_t end = ((o->off + p->from) / s + k) * s - o->off;
    return end < p->to ? end : p->to;
}

/* The first k units of src, in order. */
static int pl_prefix(const struct pl_engine *e, const struct pl_piece *src, size_t n, uint64_t k, unsigned s,
                     struct pl_piece **v, size_t *nv, size_t *cap)
{
    for (size_t i = 0; i < n && k > 0; i++) {
        const struct pl_op *o = &e->l->ops[src[i].op];
        uint64_t u = pl_units(o, &src[i], s);
        struct pl_piece p = src[i];
        if (k < u)
            p.to = pl_units_end(o, &p, k, s);
        k -= k < u ? k : u;
        if (pl_push(v, nv, cap, p))
            return -ENOMEM;
    }
    return 0;
}

static uint64_t pl_count_units(const struct pl_engine *e, const struct pl_piece *src, size_t n, unsigned s)
{
    uint64_t u = 0;
    for (size_t i = 0; i < n; i++)
        u += pl_units(&e->l->ops[src[i].op], &src[i], s);
    return u;
}

/* Each unit on its own, kept with probability 1/2; runs of kept units of
 * one write stay one piece. */
static int pl_reorder(const struct pl_engine *e, const struct pl_piece *src, size_t n, unsigned s,
                      uint64_t *rng, struct pl_piece **v, size_t *nv, size_t *cap)
{
    for (size_t i = 0; i < n; i++) {
        const struct pl_op *o = &e->l->ops[src[i].op];
        if (o->kind != PL_WRITE) {
            if ((pl_splitmix64(rng) & 1) && pl_push(v, nv, cap, src[i]))
                return -ENOMEM;
            continue;
        }
        struct pl_piece run = src[i];
        int open = 0;
        for (uint64_t at = src[i].from; at < src[i].to;) {
            struct pl_piece one = src[i];
            one.from = at;
            uint64_t end = pl_units_end(o, &one, 1, s);
            if (pl_splitmix64(rng) & 1) {
                if (!open)
                    run.from = at;
                run.to = end;
                open = 1;
            } else if (open) {
                if (pl_push(v, nv, cap, run))
                    return -ENOMEM;
                open = 0;
            }
            at = end;
        }
        if (open && pl_push(v, nv, cap, run))
            return -ENOMEM;
    }
    return 0;
}

/* The flusher wakes every interval (at a phase drawn from the seed) and
 * writes back what has been dirty longer than expire: what its last tick
 * before the crash found is what survives (earlier ticks wrote a subset). */
static int pl_writeback(const struct pl_engine *e, const struct pl_model *m, size_t cut, const struct pl_piece *src,
                        size_t n, uint64_t crash_ns, uint64_t *rng, struct pl_piece **v, size_t *nv,
                        size_t *cap)
{
    if (m->interval_ms <= 0 || m->expire_ms < 0)
        return 0;
    uint64_t interval = (uint64_t)m->interval_ms * 1000000ull, expire = (uint64_t)m->expire_ms * 1000000ull;
    uint64_t phase = pl_splitmix64(rng) % interval;
    if (crash_ns < phase)
        return 0;
    uint64_t tick = crash_ns - (crash_ns - phase) % interval;
    if (tick < expire)
        return 0;
    for (size_t i = 0; i < n; i++) {
        /* a page a failed sync dropped is dirty again since its owner's write */
        const struct pl_op *o = &e->l->ops[src[i].op];
        uint32_t w = pl_page_owner(e, m, cut, src[i].op, (o->off + src[i].from) / PL_PAGE);
        if (e->l->ops[w].ns <= tick - expire && pl_push(v, nv, cap, src[i]))
            return -ENOMEM;
    }
    return 0;
}

static int pl_before(const struct pl_piece *a, const struct pl_piece *b)
{
    if (a->op != b->op)
        return a->op < b->op;
    if (a->part != b->part)
        return a->part < b->part;
    return a->from < b->from;
}

/* st->pieces = a merged with b, both in list order. */
static int pl_merge(struct pl_state *st, const struct pl_piece *a, size_t na, const struct pl_piece *b, size_t nb)
{
    st->npieces = 0;
    size_t i = 0, k = 0;
    while (i < na || k < nb) {
        const struct pl_piece *p = k >= nb || (i < na && pl_before(&a[i], &b[k])) ? &a[i++] : &b[k++];
        if (pl_push(&st->pieces, &st->npieces, &st->cap, *p))
            return -ENOMEM;
    }
    return 0;
}

struct pl_lists {
    struct pl_piece *dur, *cand, *pick;
    size_t ndur, capdur, ncand, capcand, npick, cappick;
};

/* The lists live in the engine between states: no allocation per state. */
static void pl_lists_take(struct pl_engine *e, struct pl_lists *x)
{
    *x = (struct pl_lists){.dur = e->ldur, .cand = e->lcand, .pick = e->lpick, .capdur = e->capdur,
                           .capcand = e->capcand2, .cappick = e->cappick};
}

static void pl_lists_give(struct pl_engine *e, const struct pl_lists *x)
{
    e->ldur = x->dur, e->lcand = x->cand, e->lpick = x->pick;
    e->capdur = x->capdur, e->capcand2 = x->capcand, e->cappick = x->cappick;
}

static int pl_choose(struct pl_engine *e, const struct pl_model *m, size_t cut, uint64_t crash_ns, uint64_t seed,
                     struct pl_lists *x, struct pl_state *st)
{
    unsigned s = m->sector;
    uint64_t rng = seed;
    if (pl_split(e, m, cut, 1, &x->dur, &x->ndur, &x->capdur))
        return -ENOMEM;
    st->durable = x->ndur;
    if (m->lie) {
        /* The snapshot stays; of what the syncs of the run made durable,
         * the disk kept an in-order prefix, cut at a sector. */
        size_t nb = 0;
        while (nb < x->ndur && x->dur[nb].op < e->l->nbase)
            nb++;
        uint64_t u = pl_count_units(e, x->dur + nb, x->ndur - nb, s);
        uint64_t k = pl_splitmix64(&rng) % (u + 1);
        if (pl_prefix(e, x->dur + nb, x->ndur - nb, k, s, &x->pick, &x->npick, &x->cappick))
            return -ENOMEM;
        st->lied_pieces = (x->ndur - nb) - x->npick;
        st->extra = 0;
        return pl_merge(st, x->dur, nb, x->pick, x->npick);
    }
    if (m->tail != PL_TAIL_NONE && pl_split(e, m, cut, 0, &x->cand, &x->ncand, &x->capcand))
        return -ENOMEM;
    int rc = 0;
    switch (m->tail) {
    case PL_TAIL_NONE:
        break;
    case PL_TAIL_ALL:
        rc = pl_prefix(e, x->cand, x->ncand, UINT64_MAX, s, &x->pick, &x->npick, &x->cappick);
        break;
    case PL_TAIL_TORN: {
        uint64_t u = pl_count_units(e, x->cand, x->ncand, s);
        rc = pl_prefix(e, x->cand, x->ncand, pl_splitmix64(&rng) % (u + 1), s, &x->pick, &x->npick, &x->cappick);
        break;
    }
    case PL_TAIL_REORDER:
        rc = pl_reorder(e, x->cand, x->ncand, s, &rng, &x->pick, &x->npick, &x->cappick);
        break;
    case PL_TAIL_WRITEBACK:
        rc = pl_writeback(e, m, cut, x->cand, x->ncand, crash_ns, &rng, &x->pick, &x->npick, &x->cappick);
        break;
    }
    if (rc)
        return rc;
    st->extra = x->npick;
    st->lied_pieces = 0;
    return pl_merge(st, x->dur, x->ndur, x->pick, x->npick);
}

int pl_decide(struct pl_engine *e, const struct pl_model *m, size_t cut, uint64_t crash_ns, uint64_t seed,
              struct pl_state *st, char *err, size_t errlen)
{
    int rc = pl_prepare(e, m, cut, err, errlen);
    if (rc)
        return rc;
    struct pl_lists x;
    pl_lists_take(e, &x);
    st->cut = cut;
    rc = pl_choose(e, m, cut, crash_ns, seed, &x, st);
    pl_lists_give(e, &x);
    if (!rc)
        rc = pl_materialize(e, st);
    return rc ? PL_ERR(err, errlen, rc, "powerloss engine: out of memory deciding a state") : 0;
}

/* A keep piece must be one of pl_unsynced's, or a narrower range of a write. */
static int pl_keep_ok(const struct pl_engine *e, const struct pl_model *m, size_t cut, const struct pl_piece *k,
                      const struct pl_piece *prev)
{
    int b = (int)m->base;
    if (k->op < e->l->nbase || k->op >= cut || !pl_has_effect(e, k->op) || (prev && !pl_before(prev, k)))
        return 0;
    const struct pl_op *o = &e->l->ops[k->op];
    if (pl_lost(e, m, cut, k->op)) {   /* only bytes of pages dirtied again, not yet synced */
        if (k->part != PL_PART_ALL || k->from >= k->to || k->to > o->len
            || (prev && prev->op == k->op && prev->to > k->from))
            return 0;
        for (uint64_t pg = (o->off + k->from) / PL_PAGE; pg <= (o->off + k->to - 1) / PL_PAGE; pg++) {
            uint32_t w = pl_page_owner(e, m, cut, k->op, pg);
            if (w == PL_NEVER || e->dur[b][w] < cut)
                return 0;
        }
        return 1;
    }
    int in = e->dur[b][k->op] < cut, in2 = e->dur2[b][k->op] < cut;
    if (o->kind == PL_RENAME)
        return k->part == PL_PART_OLD ? !in2 : k->part == PL_PART_NEW ? !in : k->part == PL_PART_ALL && !in && !in2;
    if (k->part != PL_PART_ALL || in)
        return 0;
    if (o->kind == PL_WRITE)
        return k->from < k->to && k->to <= o->len && (!prev || prev->op != k->op || prev->to <= k->from);
    return 1;
}

int pl_keep(struct pl_engine *e, const struct pl_model *m, size_t cut, const struct pl_piece *keep, size_t nkeep,
            struct pl_state *st, char *err, size_t errlen)
{
    int rc = pl_prepare(e, m, cut, err, errlen);
    if (rc)
        return rc;
    for (size_t i = 0; i < nkeep; i++)
        if (!pl_keep_ok(e, m, cut, &keep[i], i ? &keep[i - 1] : NULL))
            return PL_ERR(err, errlen, -EINVAL, "powerloss keep set: piece %zu (operation %u, part %u, bytes "
                          "%llu..%llu) is not an unsynced operation of the cut, or is out of order; take them "
                          "from pl_unsynced", i, keep[i].op, keep[i].part, (unsigned long long)keep[i].from,
                          (unsigned long long)keep[i].to);
    struct pl_lists x;
    pl_lists_take(e, &x);
    st->cut = cut;
    rc = pl_split(e, m, cut, 1, &x.dur, &x.ndur, &x.capdur);
    if (!rc) {
        st->durable = x.ndur;
        st->extra = nkeep;
        st->lied_pieces = 0;
        rc = pl_merge(st, x.dur, x.ndur, keep, nkeep);
    }
    pl_lists_give(e, &x);
    if (!rc)
        rc = pl_materialize(e, st);
    return rc ? PL_ERR(err, errlen, rc, "powerloss engine: out of memory building a state") : 0;
}
