/* What the powerloss/ tests share: hand-made operation lists (each is what
 * a small program did) and a look at the state a power cut leaves.  One list
 * L per test, made and freed by setup and teardown (a checked fixture);
 * decide() takes the state, done() frees it.  Header-only, like support.h,
 * so that each test binary stays one .c file. */
#ifndef FSYNCLAB_TESTS_POWERLOSS_LISTS_H
#define FSYNCLAB_TESTS_POWERLOSS_LISTS_H

#include <check.h>
#include <string.h>

#include "powerloss/internal.h"

/* ---- building lists ---------------------------------------------------------------- */
static struct pl_list L;
static uint64_t clock_ns;
static char err[512];

static inline void setup(void)
{
    pl_list_init(&L);
    clock_ns = 0;
}

static inline void teardown(void)
{
    pl_list_free(&L);
}

static inline size_t add(struct pl_op o)
{
    if (!o.ns)
        o.ns = clock_ns += 1000;
    ck_assert_msg(pl_list_add(&L, &o, err, sizeof err) == 0, "%s", err);
    return L.n - 1;
}

static inline size_t wr_at(uint32_t f, uint64_t off, const void *data, uint64_t len, unsigned flags)
{
    return add((struct pl_op){.kind = PL_WRITE, .file = f, .off = off, .len = len, .data = data, .flags = (uint8_t)flags});
}
static inline size_t wr(uint32_t f, uint64_t off, const char *s) { return wr_at(f, off, s, strlen(s), 0); }
static inline size_t create(uint32_t f, uint32_t dir, const char *name)
{
    return add((struct pl_op){.kind = PL_CREATE, .file = f, .dir = dir, .name = name});
}
static inline size_t mkdir_(uint32_t f, uint32_t dir, const char *name)
{
    return add((struct pl_op){.kind = PL_MKDIR, .file = f, .dir = dir, .name = name});
}
static inline size_t link_(uint32_t f, uint32_t dir, const char *name)
{
    return add((struct pl_op){.kind = PL_LINK, .file = f, .dir = dir, .name = name});
}
static inline size_t unlink_(uint32_t dir, const char *name)
{
    return add((struct pl_op){.kind = PL_UNLINK, .dir = dir, .name = name});
}
static inline size_t rename_(uint32_t d, const char *a, uint32_t d2, const char *b)
{
    return add((struct pl_op){.kind = PL_RENAME, .dir = d, .name = a, .dir2 = d2, .name2 = b});
}
static inline size_t setsize(uint32_t f, uint64_t size)
{
    return add((struct pl_op){.kind = PL_SETSIZE, .file = f, .off = size});
}
static inline size_t sync_rc(uint32_t f, unsigned kind, int rc)
{
    size_t b = add((struct pl_op){.kind = PL_SYNC_BEGIN, .file = f, .flags = (uint8_t)kind});
    return add((struct pl_op){.kind = PL_SYNC_END, .file = f, .off = b, .rc = rc});
}
static inline size_t sync_(uint32_t f, unsigned kind) { return sync_rc(f, kind, 0); }

/* ---- looking at states ---------------------------------------------------------------- */
static struct pl_engine *E;
static struct pl_state S;

static inline struct pl_model model(const char *name, unsigned sector)
{
    struct pl_model m;
    ck_assert_msg(pl_model_parse(name, &m, err, sizeof err) == 0, "%s", err);
    m.sector = sector;
    return m;
}

/* Decides the state of a cut after the whole list (or the first cut ops). */
static inline uint64_t decide_cut(const char *name, unsigned sector, size_t cut, uint64_t seed)
{
    if (!E)
        ck_assert_msg(pl_engine_new(&L, &E, err, sizeof err) == 0, "%s", err);
    struct pl_model m = model(name, sector);
    ck_assert_msg(pl_decide(E, &m, cut, clock_ns + 1, seed, &S, err, sizeof err) == 0, "%s", err);
    return S.hash;
}
static inline uint64_t decide(const char *name, uint64_t seed) { return decide_cut(name, 512, L.n, seed); }

static inline void done(void)
{
    pl_state_free(&S);
    pl_engine_free(E);
    E = NULL;
}

/* The file a name in dir holds in the decided state (0: none). */
static inline uint32_t lookup(uint32_t dir, const char *name)
{
    return pl_map_get(E, dir, name, pl_name_hash(dir, name));
}

/* The bytes under dir/name, or NULL when the name is absent. */
static inline char *content(uint32_t dir, const char *name)
{
    static char buf[1 << 16];
    uint32_t f = lookup(dir, name);
    if (!f)
        return NULL;
    const unsigned char *d;
    size_t n;
    ck_assert_msg(pl_state_content(E, &S, f, &d, &n, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_lt(n, sizeof buf);
    memcpy(buf, d, n);
    buf[n] = '\0';
    return buf;
}

#define ASSERT_CONTENT(dir, name, want)                                                        \
    do {                                                                                       \
        const char *got_ = content(dir, name);                                                 \
        const char *want_ = (want);                                                            \
        if (!want_)                                                                            \
            ck_assert_msg(!got_, "%s: present (\"%s\"), want absent", name, got_);             \
        else                                                                                   \
            ck_assert_msg(got_ && strcmp(got_, want_) == 0, "%s: \"%s\", want \"%s\"", name,   \
                          got_ ? got_ : "(absent)", want_);                                    \
    } while (0)

/* n bytes at off of dir/name in the decided state, and its size, equal want
 * (the name must be present). */
#define ASSERT_BYTES(dir, name, off, want, size)                                               \
    do {                                                                                       \
        uint32_t f_ = lookup(dir, name);                                                       \
        const unsigned char *d_;                                                               \
        size_t n_, w_ = sizeof(want) - 1;                                                      \
        ck_assert_msg(f_, "%s: absent", name);                                                 \
        ck_assert_msg(pl_state_content(E, &S, f_, &d_, &n_, err, sizeof err) == 0, "%s", err); \
        ck_assert_uint_eq(n_, (size));                                                         \
        ck_assert_msg(memcmp(d_ + (off), (want), w_) == 0, "%s: bytes %llu..: \"%.*s\", want \"%s\"", \
                      name, (unsigned long long)(off), (int)w_, (const char *)d_ + (off), (want)); \
    } while (0)

/* The snapshot: /db holding "old", /other holding "aaaa". */
static inline void base_db(void)
{
    create(2, 1, "db");
    wr(2, 0, "old");
    create(3, 1, "other");
    wr(3, 0, "aaaa");
    pl_list_mark_base(&L);
}

#endif
