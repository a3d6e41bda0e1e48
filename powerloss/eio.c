/* eio: the pages a failed sync marked clean, and the writes that dirtied
 * them again (eio_pages_clean).
 *
 * DESIGN.  Linux keeps file data in 4 KiB page cache pages, whatever the
 * disk's sector.  A failed writeback leaves its pages clean but keeps
 * their bytes in memory; a later write into such a page dirties the whole
 * page again, so the next successful sync writes all of it: the bytes the
 * failed sync dropped included.  So a write lost to a failed sync is lost
 * page by page: in each of its pages it shares the fate of the first write
 * into that page after the failed sync began (its "reviver"), and is lost
 * only where no such write came before the cut.  Once per list and base
 * rule, each failed sync that dropped writes gets a sorted table of the
 * pages it dropped and each page's reviver; a cut then looks them up.
 */
#include <errno.h>
#include <stdlib.h>

#include "powerloss/internal.h"

struct pl_lostpage { uint32_t end; uint64_t page; };

static int pl_lostpage_cmp(const void *a, const void *b)
{
    const struct pl_lostpage *x = a, *y = b;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return x->page < y->page ? -1 : x->page > y->page;
}

/* The first index of rvpage[lo .. hi) holding a page >= pg. */
static uint32_t pl_page_lower(const uint64_t *pages, uint32_t lo, uint32_t hi, uint64_t pg)
{
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (pages[mid] < pg)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Fills the revivers of failed sync t: the writes of its file after its
 * begin, in order, until every page it dropped has one. */
static void pl_fill_revivers(const struct pl_engine *e, const struct pl_eio *t, uint64_t *pages, uint32_t *rv)
{
    const struct pl_op *ops = e->l->ops;
    uint32_t f = ops[t->end].file, begin = (uint32_t)ops[t->end].off, left = t->hi - t->lo;
    uint32_t lo = e->fstart[f], hi = e->fstart[f + 1];
    while (lo < hi) {   /* the file's first data op after the begin */
        uint32_t mid = lo + (hi - lo) / 2;
        if (e->fops[mid] <= begin)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (uint32_t k = lo; k < e->fstart[f + 1] && left; k++) {
        const struct pl_op *o = &ops[e->fops[k]];
        if (o->kind != PL_WRITE || !o->len)
            continue;
        uint64_t last = (o->off + o->len - 1) / PL_PAGE;
        for (uint32_t x = pl_page_lower(pages, t->lo, t->hi, o->off / PL_PAGE); x < t->hi && pages[x] <= last; x++)
            if (rv[x] == PL_NEVER) {
                rv[x] = e->fops[k];
                left--;
            }
    }
}

int pl_eio_build(struct pl_engine *e, int b)
{
    const struct pl_op *ops = e->l->ops;
    const uint32_t *lost = e->lost[b];
    size_t n = 0;
    for (size_t i = 0; i < e->n; i++)
        if (lost[i] != PL_NEVER && ops[i].len)
            n += (ops[i].off + ops[i].len - 1) / PL_PAGE - ops[i].off / PL_PAGE + 1;
    if (!n)
        return 0;
    struct pl_lostpage *lp = malloc(n * sizeof *lp);
    uint64_t *pages = malloc(n * sizeof *pages);
    uint32_t *rv = malloc(n * sizeof *rv);
    struct pl_eio *t = malloc(n * sizeof *t);
    if (!lp || !pages || !rv || !t) {
        free(lp), free(pages), free(rv), free(t);
        return -ENOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < e->n; i++)
        if (lost[i] != PL_NEVER && ops[i].len)
            for (uint64_t pg = ops[i].off / PL_PAGE; pg <= (ops[i].off + ops[i].len - 1) / PL_PAGE; pg++)
                lp[k++] = (struct pl_lostpage){lost[i], pg};
    qsort(lp, n, sizeof *lp, pl_lostpage_cmp);
    size_t np = 0, nt = 0;
    for (size_t i = 0; i < n; i++) {
        if (np && lp[i].end == t[nt - 1].end && pages[np - 1] == lp[i].page)
            continue;
        if (!nt || t[nt - 1].end != lp[i].end)
            t[nt++] = (struct pl_eio){lp[i].end, (uint32_t)np, (uint32_t)np};
        pages[np] = lp[i].page;
        rv[np++] = PL_NEVER;
        t[nt - 1].hi = (uint32_t)np;
    }
    free(lp);
    for (size_t i = 0; i < nt; i++)
        pl_fill_revivers(e, &t[i], pages, rv);
    e->eio[b] = t;
    e->neio[b] = nt;
    e->rvpage[b] = pages;
    e->rvop[b] = rv;
    return 0;
}

/* The write that dirtied page pg of lost write i again (PL_NEVER: none). */
static uint32_t pl_reviver(const struct pl_engine *e, int b, size_t i, uint64_t pg)
{
    uint32_t end = e->lost[b][i];
    size_t lo = 0, hi = e->neio[b];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e->eio[b][mid].end < end)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == e->neio[b] || e->eio[b][lo].end != end)
        return PL_NEVER;
    const struct pl_eio *t = &e->eio[b][lo];
    uint32_t x = pl_page_lower(e->rvpage[b], t->lo, t->hi, pg);
    return x < t->hi && e->rvpage[b][x] == pg ? e->rvop[b][x] : PL_NEVER;
}

uint32_t pl_page_owner(const struct pl_engine *e, const struct pl_model *m, size_t cut, size_t i, uint64_t pg)
{
    int b = (int)m->base;
    while (m->eio_pages_clean && e->lost[b][i] < cut) {
        uint32_t r = pl_reviver(e, b, i, pg);
        if (r >= cut)
            return PL_NEVER;
        i = r;   /* a reviver is later than the write it carries: this ends */
    }
    return (uint32_t)i;
}
