/* explore_cause: a point's failing states, laid on the operations whose
 * absence explains them, grouped into vulnerabilities (explore.c's DESIGN).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "powerloss/powerloss.h"
#include "recorder/targets/internal.h"

/* ---- causes ----------------------------------------------------------------------------- */
static const char *xp_op_name(unsigned kind)
{
    static const char *const names[PL_KIND_MAX] = {
        [PL_WRITE] = "write", [PL_SETSIZE] = "setsize", [PL_CREATE] = "create", [PL_MKDIR] = "mkdir",
        [PL_SYMLINK] = "symlink", [PL_LINK] = "link", [PL_UNLINK] = "unlink", [PL_RENAME] = "rename",
        [PL_SYNC_BEGIN] = "sync", [PL_SYNC_END] = "sync", [PL_CHMOD] = "chmod", [PL_FALLOCATE] = "fallocate",
    };
    return kind < PL_KIND_MAX && names[kind] ? names[kind] : "change";
}

static void xp_name_path(const struct xp *x, uint32_t dir, const char *name, char *out, size_t len)
{
    const char *d = recorder_ops_path(&x->rops, dir);
    snprintf(out, len, "%s%s%s", d ? d : "?", d && !*d ? "" : "/", name ? name : "?");
}

/* The kind of missing sync list operation i stands for at a cut, and its path. */
static const char *xp_describe(const struct xp *x, size_t i, size_t cut, char *path, size_t len)
{
    const struct pl_op *o = &x->rops.list.ops[i];
    char a[PATH_MAX], b[PATH_MAX];
    switch (o->kind) {
    case PL_RENAME:
        xp_name_path(x, o->dir, o->name, a, sizeof a);
        xp_name_path(x, o->dir2, o->name2, b, sizeof b);
        snprintf(path, len, "%s -> %s", a, b);
        return "dir-fsync";
    case PL_CREATE: case PL_MKDIR: case PL_SYMLINK: case PL_LINK: case PL_UNLINK:
        xp_name_path(x, o->dir, o->name, path, len);
        return "dir-fsync";
    default:
        break;
    }
    const char *p = recorder_ops_path(&x->rops, o->file);
    snprintf(path, len, "%s", p ? p : "?");
    for (size_t j = i + 1; j < cut; j++) {   /* renamed before the point: its data had to go first */
        const struct pl_op *r = &x->rops.list.ops[j];
        if (r->kind != PL_RENAME)
            continue;
        xp_name_path(x, r->dir, r->name, a, sizeof a);
        if (strcmp(a, path) == 0)
            return "rename-data";
    }
    return "file-fsync";
}

/* Each run of digits as one *: k1, k2 ... are k*. */
static void xp_pattern(char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        int digit = *r >= '0' && *r <= '9';
        if (digit && w > s && w[-1] == '*' && r > s && r[-1] >= '0' && r[-1] <= '9')
            continue;
        *w++ = digit ? '*' : *r;
    }
    *w = '\0';
}

static void xp_fix(const struct recorder_vuln *v, char *out, size_t len)
{
    if (!strcmp(v->kind, "file-fsync"))
        snprintf(out, len, "fsync or fdatasync %.60s after this %s, before acknowledging", v->path, v->op);
    else if (!strcmp(v->kind, "dir-fsync"))
        snprintf(out, len, "fsync the directory of %.60s after this %s, before acknowledging", v->path, v->op);
    else if (!strcmp(v->kind, "rename-data"))
        snprintf(out, len, "fsync %.60s before renaming it over the old file", v->path);
    else if (!strcmp(v->kind, "torn-write"))
        snprintf(out, len, "recover from a write torn at a sector boundary (checksum it), or write whole sectors");
    else
        snprintf(out, len, "the state with every operation kept fails too: not a missing sync (a process crash "
                 "here fails)");
}

/* Whether a failing state breaks the promise (else the promise allows it). */
static int xp_breaks(const struct xp *x, const struct xp_point *p, const struct xp_verdict *v)
{
    const struct recorder_crash_result *r = &x->out->run;
    if (!v->ok)
        return 1;
    if (!v->lost || r->integrity_only || r->promised_window_ms < 0)
        return 0;
    if (r->promised_window_ms == 0)
        return 1;
    uint64_t at = x->rops.list.ops[p->cut - 1].ns, acked = x->ans[p->acked - 1];
    at = at > acked ? at : acked;
    return (double)(at - x->ans[v->oldest]) / 1e6 > r->promised_window_ms;
}

/* Lays a failing state of point pi on the vulnerability (kind, list op opi). */
static void xp_vuln(struct xp *x, size_t pi, const char *kind, size_t opi, const struct xp_verdict *v,
                    const char *state, uint64_t *laid)
{
    const struct xp_point *p = &x->pts[pi];
    struct recorder_vuln key = {0};
    snprintf(key.kind, sizeof key.kind, "%s", kind);
    snprintf(key.op, sizeof key.op, "%s", opi == SIZE_MAX ? "-" : xp_op_name(x->rops.list.ops[opi].kind));
    snprintf(key.site, sizeof key.site, "-");
    if (opi != SIZE_MAX) {
        char path[2 * PATH_MAX + 8];
        const char *k2 = xp_describe(x, opi, p->cut, path, sizeof path);
        (void)k2;
        xp_pattern(path);
        snprintf(key.path, sizeof key.path, "%.159s", path);
        uint32_t rec = x->rops.rec[opi];
        if (rec == UINT32_MAX || recorder_site_name(x->sites, rec, key.site, sizeof key.site) != 0)
            snprintf(key.site, sizeof key.site, "?");
    } else {
        snprintf(key.path, sizeof key.path, "-");
    }
    struct recorder_explore_result *out = x->out;
    unsigned i = 0;
    while (i < out->nvulns && (strcmp(out->vulns[i].kind, key.kind) || strcmp(out->vulns[i].op, key.op) ||
                               strcmp(out->vulns[i].path, key.path) || strcmp(out->vulns[i].site, key.site)))
        i++;
    if (i == out->nvulns) {
        if (i == RECORDER_MAX_VULNS) {
            out->vulns_dropped++;
            return;
        }
        out->vulns[out->nvulns++] = key;
        char fix[sizeof out->vulns[i].fix];
        xp_fix(&out->vulns[i], fix, sizeof fix);
        memcpy(out->vulns[i].fix, fix, sizeof fix);
        if (v->ok)
            snprintf(out->vulns[i].example, sizeof out->vulns[i].example,
                     "point %zu of %zu, after %zu ack%s: %s lost %llu acknowledged key%s (the first: %s)", pi + 1,
                     x->npts, p->acked, p->acked == 1 ? "" : "s", state, (unsigned long long)v->lost,
                     v->lost == 1 ? "" : "s", x->t->acks[v->oldest].key);
        else
            snprintf(out->vulns[i].example, sizeof out->vulns[i].example,
                     "point %zu of %zu, after %zu ack%s: %s did not recover", pi + 1, x->npts, p->acked,
                     p->acked == 1 ? "" : "s", state);
    }
    struct recorder_vuln *vu = &out->vulns[i];
    if (*laid & (1ull << i))
        return;   /* one state counts once for a vulnerability, whatever it lacks */
    *laid |= 1ull << i;
    vu->states++;
    vu->keys_lost = v->lost > vu->keys_lost ? v->lost : vu->keys_lost;
    vu->breaks |= xp_breaks(x, p, v);
    if (x->last_point[i] != pi + 1) {
        x->last_point[i] = pi + 1;
        vu->points++;
    }
}

/* "the state without write(log)" and the like, for the example. */
static void xp_state_text(const struct xp *x, const char *how, size_t opi, char *out, size_t len)
{
    char path[2 * PATH_MAX + 8];
    xp_describe(x, opi, x->rops.list.n, path, sizeof path);
    snprintf(out, len, "%s %s(%.200s)", how, xp_op_name(x->rops.list.ops[opi].kind), path);
}

/* A failing state that lacks the candidates [from, n) and the one at skip:
 * laid on each cause it lacks; *hit says whether there was one. */
static void xp_lay(struct xp *x, size_t pi, const struct xp_verdict *v, const struct xp_verdict *minus, size_t from,
                   size_t skip, const char *state, int *hit)
{
    *hit = 0;
    uint64_t laid = 0;
    for (size_t c = 0; c < x->ncand; c++)
        if ((c >= from || c == skip) && minus[c].fail) {
            char path[2 * PATH_MAX + 8];
            size_t opi = x->cand[c].op;
            xp_vuln(x, pi, xp_describe(x, opi, x->pts[pi].cut, path, sizeof path), opi, v, state, &laid);
            *hit = 1;
        }
}

int xp_explain(struct xp *x, size_t pi, const struct xp_verdict *pre, const struct xp_verdict *minus,
                      char *err, size_t errlen)
{
    size_t n = x->ncand;
    char state[400];
    if (!x->last_point && !(x->last_point = calloc(RECORDER_MAX_VULNS, sizeof *x->last_point)))
        return PL_ERR(err, errlen, -ENOMEM, "explore: %s", strerror(ENOMEM));
    if (pre[n].fail) {   /* everything kept fails: no sync would have helped */
        /* Every failing state here counts to process-crash, the state
         * with every operation kept first (the example, which defines
         * it), then the others each named as what it is: the durable
         * state or a prefix lose more than it does. */
        xp_vuln(x, pi, "process-crash", SIZE_MAX, &pre[n], "the state with every operation kept",
                &(uint64_t){0});
        for (size_t k = 0; k < n; k++) {
            if (!pre[k].fail)
                continue;
            snprintf(state, sizeof state, k ? "the state with the first %zu unsynced operations"
                                             : "the durable state", k);
            xp_vuln(x, pi, "process-crash", SIZE_MAX, &pre[k], state, &(uint64_t){0});
        }
        for (size_t k = 0; k + 1 < n; k++)
            if (minus[k].fail) {
                xp_state_text(x, "the state without", x->cand[k].op, state, sizeof state);
                xp_vuln(x, pi, "process-crash", SIZE_MAX, &minus[k], state, &(uint64_t){0});
            }
        return 0;
    }
    for (size_t k = 0; k + 1 < n; k++)
        if (minus[k].fail) {
            int hit;
            xp_state_text(x, "the state without", x->cand[k].op, state, sizeof state);
            xp_lay(x, pi, &minus[k], minus, SIZE_MAX, k, state, &hit);
        }
    for (size_t p = 0; p < n; p++) {
        if (!pre[p].fail)
            continue;
        int hit;
        snprintf(state, sizeof state, p ? "the state with the first %zu unsynced operations" : "the durable state", p);
        xp_lay(x, pi, &pre[p], minus, p, SIZE_MAX, state, &hit);
        if (!hit) {   /* no single cause: the operation whose arrival in order first makes it pass */
            size_t q = p + 1;
            while (q < n && pre[q].fail)
                q++;
            char path[2 * PATH_MAX + 8];
            size_t opi = x->cand[q - 1].op;
            xp_vuln(x, pi, xp_describe(x, opi, x->pts[pi].cut, path, sizeof path), opi, &pre[p], state, &(uint64_t){0});
        }
    }
    return 0;
}

int xp_explain_torn(struct xp *x, size_t pi, size_t k, const struct xp_verdict *v,
                           const struct xp_verdict *pre, const struct xp_verdict *minus, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    char state[400];
    xp_state_text(x, "the state with the first unsynced operations up to a torn", x->cand[k].op, state, sizeof state);
    if (pre[x->ncand].fail) {
        xp_vuln(x, pi, "process-crash", SIZE_MAX, v, state, &(uint64_t){0});
        return 0;
    }
    int hit;
    xp_lay(x, pi, v, minus, k, SIZE_MAX, state, &hit);
    if (!hit)
        xp_vuln(x, pi, "torn-write", x->cand[k].op, v, state, &(uint64_t){0});
    return 0;
}

