/* powerloss/internal.h: what the files of powerloss/ share and nobody else
 * may use (the unit test includes it to look inside).
 *
 *   list.c    the operation list, its checks, the error helper
 *   model.c   the model flags, the preset table, the parser
 *   engine.c  which operations each base rule makes durable, and when;
 *             the models that decide a state
 *   state.c   a state's bytes and names, its hash, writing it out
 *   eio.c     the pages a failed sync dropped, and the writes that
 *             dirtied them again
 */
#ifndef FSYNCLAB_POWERLOSS_INTERNAL_H
#define FSYNCLAB_POWERLOSS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "powerloss/powerloss.h"

#define PL_NEVER UINT32_MAX
#define PL_MAX_FILE (1u << 24)
/* The page cache's unit (eio_pages_clean), whatever the model's sector. */
#define PL_PAGE 4096u

enum pl_ftype { PL_T_FILE = 0, PL_T_DIR, PL_T_LINK };

struct pl_buf {
    unsigned char *data;
    size_t len, cap;
    uint64_t gen;        /* the materialization it belongs to; older: empty */
    uint64_t hgen, hash; /* its content hash, memoised for one materialization */
    uint64_t vgen;       /* visited (hashing, writing) in that one */
    uint32_t nlink;
    uint32_t mode;       /* 07777 bits from its create or last chmod; 0: the default */
    const char *path;    /* where it was first written (pl_state_write) */
};

struct pl_slot {
    uint64_t gen;        /* a slot of an older materialization is empty */
    uint32_t dir, file;  /* file 0: the name was removed */
    const char *name;
    uint64_t h;
};

/* A failed sync end that dropped writes: its pages are rvpage[lo .. hi). */
struct pl_eio {
    uint32_t end, lo, hi;
};

struct pl_engine {
    const struct pl_list *l;
    size_t n;
    uint32_t nfiles;
    uint8_t *ftype;      /* [nfiles] enum pl_ftype */
    uint32_t *res;       /* [n] rename: the file moved; unlink: the file unlinked (0: none) */
    uint32_t *over;      /* [n] rename: the file the new name replaced (0: none) */
    uint64_t *nh, *nh2;  /* [n] hashes of (dir, name) and (dir2, name2) */
    uint32_t *fstart, *fops;   /* per file, its data ops (write, setsize) in order */
    uint32_t *dstart, *dops;   /* per directory, the ops that change its entries */
    uint32_t *meta;            /* the journals' metadata ops in order */
    size_t nmeta;
    uint32_t *dur[PL_BASE_MAX], *dur2[PL_BASE_MAX];   /* per base rule: the sync end that made op i (a
                                   * rename's new name / old name's removal) durable */
    uint32_t *lost[PL_BASE_MAX];  /* per base rule: the failed sync end that dropped write i
                                   * (eio_pages_clean), PL_NEVER if none */
    struct pl_eio *eio[PL_BASE_MAX];   /* per base rule: the failed syncs that dropped writes, by end */
    size_t neio[PL_BASE_MAX];
    uint64_t *rvpage[PL_BASE_MAX];     /* their dropped pages, sorted per failed sync */
    uint32_t *rvop[PL_BASE_MAX];       /* each page's first write after that sync began (PL_NEVER: none) */
    /* scratch of one state */
    struct pl_buf *bufs;       /* [nfiles] */
    struct pl_slot *map;
    size_t mapcap;
    uint64_t gen;              /* materialization counter (also the state serial) */
    struct pl_piece *cand;     /* pl_unsynced's answer */
    size_t ncand, capcand;
    struct pl_slot **ents;     /* live entries sorted by (dir, name) */
    size_t nents;
    struct pl_piece *ldur, *lcand, *lpick;   /* pl_decide's lists, kept for the next state */
    size_t capdur, capcand2, cappick;
};

/* engine.c */
int pl_grow(struct pl_piece **v, size_t *cap);
static inline int pl_push(struct pl_piece **v, size_t *n, size_t *cap, struct pl_piece p)
{
    if (*n == *cap && pl_grow(v, cap))
        return -1;
    (*v)[(*n)++] = p;
    return 0;
}
/* eio.c: the tables of e->lost[b] (after the durability pass). */
int pl_eio_build(struct pl_engine *e, int b);
/* Whose fate page pg of write i shares at cut under m: i itself, unless a
 * failed sync before the cut dropped it; then the write that dirtied the
 * page again before the cut (and so on); PL_NEVER when the page is lost. */
uint32_t pl_page_owner(const struct pl_engine *e, const struct pl_model *m, size_t cut, size_t i, uint64_t pg);
/* state.c: makes the engine's scratch hold st's bytes and names; sets
 * st->hash, files, dirs, bytes, serial. */
int pl_materialize(struct pl_engine *e, struct pl_state *st);
uint64_t pl_hash_bytes(const unsigned char *p, size_t n, uint64_t h);
uint64_t pl_name_hash(uint32_t dir, const char *name);
/* The name map of the current materialization (e->gen). */
uint32_t pl_map_get(const struct pl_engine *e, uint32_t dir, const char *name, uint64_t h);
void pl_map_put(struct pl_engine *e, uint32_t dir, const char *name, uint64_t h, uint32_t file);

#endif
