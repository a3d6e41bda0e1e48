/* explore: every crash point of one recorded run, the states a disk can
 * leave at each, checked, and the missing sync named (`fsynclab explore`).
 *
 * DESIGN.  One run of the target under the recorder, with a bounded
 * workload: FSYNCLAB_OPS acknowledgements, then the program ends by itself
 * (a run still going at --seconds is an error, never a kill: what follows
 * a kill is not the workload's end).  The journal becomes the power-loss
 * engine's operation list (recorder_ops_build).  Crash points: the end of
 * each completed sync and each O_SYNC write (the durable set changes
 * there), each acknowledgement (the promise grows there), and the end of
 * the run; --max-points keeps that many, evenly spaced, the last always.
 * At a point, under the base rule (drop or ext4) the states are chosen,
 * not drawn: the durable state; each prefix of the unsynced operations in
 * list order (in-order writeback), each with its last write torn after its
 * first sector when it spans more; and the full set with exactly one
 * operation left out (ALICE's reordering heuristic; not a write sharing a
 * sector with a later write to its file: the page cache writes that sector
 * whole, with both).  --max-states bounds
 * the states generated; the rest are counted as cut.  A state's content
 * hash (the engine's) says whether it was checked before: each distinct
 * state is written out and checked once, as crash --target checks an
 * image, and judged at every point against the acks read before it.
 * Causes: where the full set passes and "all but operation k" fails, k
 * had to be durable before the acks of the point; each failing state of
 * the point is laid on every such k it lacks.  A failing state that lacks
 * none is a torn write's (its last write torn) or, with no single cause
 * (SQLite's journal unlink is undone by its next create of the name as
 * well), laid on the operation whose arrival in list order first makes a
 * prefix pass; where even the full
 * set fails, no sync would have helped (process-crash).  Failures group
 * into vulnerabilities by (kind, operation, path with digits as *, call
 * site).
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "powerloss/powerloss.h"
#include "recorder/targets/internal.h"



static uint64_t xp_hash_slot(uint64_t h, size_t cap)
{
    return (h ^ (h >> 29)) & (cap - 1);
}

/* The distinct state of hash h (NULL: not seen). */
static struct xp_seen *xp_lookup(struct xp *x, uint64_t h)
{
    if (!x->seencap)
        return NULL;
    for (size_t i = xp_hash_slot(h, x->seencap);; i = (i + 1) & (x->seencap - 1)) {
        if (!x->seen[i].used)
            return NULL;
        if (x->seen[i].hash == h)
            return &x->seen[i];
    }
}

static struct xp_seen *xp_insert(struct xp *x, uint64_t h)
{
    if ((x->nseen + 1) * 2 > x->seencap) {
        size_t cap = x->seencap ? x->seencap * 2 : 256;
        struct xp_seen *g = calloc(cap, sizeof *g);
        if (!g)
            return NULL;
        for (size_t i = 0; i < x->seencap; i++) {
            if (!x->seen[i].used)
                continue;
            size_t k = xp_hash_slot(x->seen[i].hash, cap);
            while (g[k].used)
                k = (k + 1) & (cap - 1);
            g[k] = x->seen[i];
        }
        free(x->seen);
        x->seen = g;
        x->seencap = cap;
    }
    size_t k = xp_hash_slot(h, x->seencap);
    while (x->seen[k].used)
        k = (k + 1) & (x->seencap - 1);
    x->seen[k].used = 1;
    x->seen[k].hash = h;
    x->nseen++;
    return &x->seen[k];
}

/* Writes the engine's current state out, checks it, notes what it holds. */
static int xp_check(struct xp *x, struct xp_seen *s, char *err, size_t errlen)
{
    char dir[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/state%llu", x->t->base, (unsigned long long)x->out->states_checked);
    uint64_t t0 = target_now_ns();
    int rc = pl_state_write(x->e, &x->st, dir, err, errlen);
    if (rc == 0 && x->t->drop_privileges)
        rc = recorder_tree_chown(dir, x->t->uid, x->t->gid, err, errlen);
    struct target_keyset found = {0};
    int ok = 0;
    if (rc == 0)
        rc = x->ops->check(x->t, dir, &found, &ok, err, errlen);
    if (rc == 0) {
        s->ok = ok;
        s->found = calloc(x->nacks / 8 + 1, 1);
        if (!s->found)
            rc = PL_ERR(err, errlen, -ENOMEM, "explore: %s", strerror(ENOMEM));
        for (size_t i = 0; rc == 0 && i < x->nacks; i++)
            if (target_keyset_has(&found, x->t->acks[i].key))
                s->found[i / 8] |= (unsigned char)(1u << (i % 8));
        x->out->states_checked++;
        x->out->states_unrecovered += !ok;
    }
    target_keyset_free(&found);
    if (!x->cfg->crash.keep) {
        int rm = recorder_tree_remove(dir, rc ? NULL : err, errlen);
        rc = rc ? rc : rm;
    }
    x->out->check_s += (double)(target_now_ns() - t0) / 1e9;
    if (rc == 0 && target_stopped())
        rc = PL_ERR(err, errlen, -EINTR, "interrupted");
    return rc;
}

/* One state of point p: the durable set plus keep[0..n); its verdict. */
static int xp_state(struct xp *x, const struct xp_point *p, const struct pl_piece *keep, size_t n, struct xp_verdict *v,
             char *err, size_t errlen)
{
    int rc = pl_keep(x->e, &x->m, p->cut, keep, n, &x->st, err, errlen);
    if (rc)
        return rc;
    x->out->states_generated++;
    struct xp_seen *s = xp_lookup(x, x->st.hash);
    if (!s) {
        if (!(s = xp_insert(x, x->st.hash)))
            return PL_ERR(err, errlen, -ENOMEM, "explore: %s", strerror(ENOMEM));
        x->out->states_distinct++;
        if ((rc = xp_check(x, s, err, errlen)) != 0)
            return rc;
    }
    v->ok = s->ok;
    v->lost = 0;
    v->oldest = SIZE_MAX;
    for (size_t i = 0; i < p->acked; i++)
        if (!(s->found[i / 8] & (1u << (i % 8)))) {
            v->lost++;
            if (v->oldest == SIZE_MAX)
                v->oldest = i;
        }
    v->fail = !v->ok || v->lost > 0;
    x->out->states_failed += v->fail;
    return 0;
}

/* ---- crash points ------------------------------------------------------------------- */
static int xp_point_cmp(const void *a, const void *b)
{
    const struct xp_point *p = a, *q = b;
    return p->cut < q->cut ? -1 : p->cut > q->cut;
}

/* The acks given by the time ops[0 .. cut) happened. */
static size_t xp_acked_at(const struct xp *x, size_t cut)
{
    size_t lo = 0, hi = x->nacks;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (x->apos[mid] <= cut)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The operations journaled before record rec. */
static size_t xp_ops_before(const struct xp *x, size_t rec)
{
    size_t lo = x->rops.list.nbase, hi = x->rops.list.n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (x->rops.rec[mid] < rec)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Where each ack stands: after the operations journaled before the
 * program's own `ack KEY` record (preload/ack.c), or, without one (the
 * acks of a server fsynclab drives, a line flushed at exit), those
 * stamped by the time fsynclab read it; never before an earlier ack. */
static int xp_ack_positions(struct xp *x, char *err, size_t errlen)
{
    size_t *recs = malloc((x->j.n + 1) * sizeof *recs), nrecs = 0, at = 0, prev = x->rops.list.nbase;
    x->apos = calloc(x->nacks + 1, sizeof *x->apos);
    x->ans = calloc(x->nacks + 1, sizeof *x->ans);
    if (!recs || !x->apos || !x->ans) {
        free(recs);
        return PL_ERR(err, errlen, -ENOMEM, "explore: %zu acks: %s", x->nacks, strerror(ENOMEM));
    }
    for (size_t i = 0; i < x->j.n; i++)
        if (x->j.recs[i]->type == RECORDER_ACK && x->j.recs[i]->size > RECORDER_HEADER)
            recs[nrecs++] = i;
    for (size_t k = 0; k < x->nacks; k++) {
        size_t q = at;
        while (q < nrecs && strcmp(recorder_payload(x->j.recs[recs[q]]), x->t->acks[k].key) != 0)
            q++;
        size_t cut;
        if (q < nrecs) {
            cut = xp_ops_before(x, recs[q]);
            x->ans[k] = x->j.recs[recs[q]]->ns;
            x->out->acks_journaled++;
            at = q + 1;
        } else {
            cut = pl_cut_at(x->e, x->t->acks[k].ns);
            x->ans[k] = x->t->acks[k].ns;
        }
        x->apos[k] = prev = cut > prev ? cut : prev;
    }
    free(recs);
    return 0;
}

static int xp_add_point(struct xp *x, size_t cut, size_t acked, size_t *cap)
{
    if (x->npts == *cap) {
        size_t c = *cap ? *cap * 2 : 256;
        struct xp_point *g = realloc(x->pts, c * sizeof *g);
        if (!g)
            return -ENOMEM;
        x->pts = g;
        *cap = c;
    }
    x->pts[x->npts++] = (struct xp_point){cut, acked};
    return 0;
}

/* Every point, merged by cut (the most acks wins), then --max-points. */
static int xp_points(struct xp *x, char *err, size_t errlen)
{
    const struct pl_list *l = &x->rops.list;
    size_t cap = 0;
    int rc = 0;
    for (size_t i = l->nbase; rc == 0 && i < l->n; i++) {
        const struct pl_op *o = &l->ops[i];
        if ((o->kind == PL_SYNC_END && o->rc == 0) || (o->kind == PL_WRITE && (o->flags & (PL_O_SYNC | PL_O_DSYNC))))
            rc = xp_add_point(x, i + 1, xp_acked_at(x, i + 1), &cap);
    }
    for (size_t k = 0; rc == 0 && k < x->nacks; k++)
        rc = xp_add_point(x, x->apos[k], k + 1, &cap);
    if (rc == 0)
        rc = xp_add_point(x, l->n, x->nacks, &cap);   /* the run's end */
    if (rc)
        return PL_ERR(err, errlen, -ENOMEM, "explore: crash points: %s", strerror(ENOMEM));
    qsort(x->pts, x->npts, sizeof *x->pts, xp_point_cmp);
    size_t m = 0;
    for (size_t i = 0; i < x->npts; i++) {
        if (x->pts[i].cut <= l->nbase)
            continue;   /* before the program's first operation: the snapshot */
        if (m && x->pts[m - 1].cut == x->pts[i].cut) {
            if (x->pts[i].acked > x->pts[m - 1].acked)
                x->pts[m - 1].acked = x->pts[i].acked;
            continue;
        }
        x->pts[m++] = x->pts[i];
    }
    x->npts = m;
    x->out->points_total = m;
    size_t keep = x->cfg->max_points;
    if (m > keep) {
        for (size_t k = 0; k < keep; k++)   /* evenly spaced, the first and the last kept */
            x->pts[k] = x->pts[keep == 1 ? m - 1 : k * (m - 1) / (keep - 1)];
        x->npts = keep;
        snprintf(x->out->points_choice, sizeof x->out->points_choice,
                 "%zu of %zu points, evenly spaced in the run (the last kept): --max-points %u", keep, m,
                 x->cfg->max_points);
    }
    x->out->points = x->npts;
    return 0;
}

/* ---- the states of one point ---------------------------------------------------------- */
/* The pieces of the point's unsynced operations, copied (the engine's
 * answer lives until its next call). */
static int xp_candidates(struct xp *x, const struct xp_point *p, char *err, size_t errlen)
{
    const struct pl_piece *c;
    size_t n;
    int rc = pl_unsynced(x->e, &x->m, p->cut, &c, &n, err, errlen);
    if (rc)
        return rc;
    if (n + 1 > x->capcand) {
        size_t cap = n + 1;
        struct pl_piece *a = realloc(x->cand, cap * sizeof *a), *b = a ? realloc(x->keep, cap * sizeof *b) : NULL;
        struct xp_verdict *v = b ? realloc(x->vp, 2 * cap * sizeof *v) : NULL;
        x->cand = a ? a : x->cand;
        x->keep = b ? b : x->keep;
        x->vp = v ? v : x->vp;
        if (!v)
            return PL_ERR(err, errlen, -ENOMEM, "explore: %zu unsynced operations: %s", n, strerror(ENOMEM));
        x->capcand = cap;
    }
    if (n)
        memcpy(x->cand, c, n * sizeof *c);
    x->ncand = n;
    return 0;
}

/* Whether a disk can hold every unsynced piece but k: not when k is a
 * write that shares a sector with a later piece written to the same file
 * (the page cache holds that sector with both, and writes it whole). */
static int xp_can_miss(const struct xp *x, size_t k)
{
    const struct pl_op *o = &x->rops.list.ops[x->cand[k].op];
    if (o->kind != PL_WRITE)
        return 1;
    uint64_t s = x->m.sector, lo = (o->off + x->cand[k].from) / s, hi = (o->off + x->cand[k].to - 1) / s;
    for (size_t j = k + 1; j < x->ncand; j++) {
        const struct pl_op *q = &x->rops.list.ops[x->cand[j].op];
        if (q->kind != PL_WRITE || q->file != o->file || x->cand[j].to <= x->cand[j].from)
            continue;
        uint64_t qlo = (q->off + x->cand[j].from) / s, qhi = (q->off + x->cand[j].to - 1) / s;
        if (qlo <= hi && lo <= qhi)
            return 0;
    }
    return 1;
}

/* States a point generates: durable, n prefixes (+ torn ones), n minus-one
 * (the last is the prefix of n - 1: not generated twice). */
static uint64_t xp_planned(const struct xp *x)
{
    uint64_t torn = 0, minus = 0;
    for (size_t i = 0; i < x->ncand; i++) {
        torn += xp_torn_end(x, &x->cand[i]) != 0;
        minus += i + 1 < x->ncand && xp_can_miss(x, i);
    }
    return 1 + x->ncand + torn + minus;
}

/* Where the first sector of a write piece ends (payload bytes), or 0 when
 * the piece is not a write spanning more than one sector. */
uint64_t xp_torn_end(const struct xp *x, const struct pl_piece *p)
{
    const struct pl_op *o = &x->rops.list.ops[p->op];
    if (o->kind != PL_WRITE || p->to <= p->from)
        return 0;
    uint64_t s = x->m.sector, end = ((o->off + p->from) / s + 1) * s - o->off;
    return end < p->to ? end : 0;
}

static int xp_point(struct xp *x, size_t pi, char *err, size_t errlen)
{
    const struct xp_point *p = &x->pts[pi];
    int rc = xp_candidates(x, p, err, errlen);
    if (rc)
        return rc;
    uint64_t planned = xp_planned(x);
    if (x->out->states_generated + planned > x->cfg->max_states) {
        x->out->states_cut += planned;
        return 0;
    }
    size_t n = x->ncand;
    struct xp_verdict *pre = x->vp, *minus = x->vp + n + 1;   /* pre[p]: prefix of p; minus[k] */
    for (size_t k = 0; rc == 0 && k <= n; k++)
        rc = xp_state(x, p, x->cand, k, &pre[k], err, errlen);
    for (size_t k = 0; rc == 0 && k + 1 < n; k++) {
        if (!xp_can_miss(x, k)) {   /* not a state a disk can hold: as if it passed */
            minus[k] = pre[n];
            continue;
        }
        memcpy(x->keep, x->cand, k * sizeof *x->keep);
        memcpy(x->keep + k, x->cand + k + 1, (n - k - 1) * sizeof *x->keep);
        rc = xp_state(x, p, x->keep, n - 1, &minus[k], err, errlen);
    }
    if (rc == 0 && n)
        minus[n - 1] = pre[n - 1];
    if (rc == 0)
        rc = xp_explain(x, pi, pre, minus, err, errlen);
    for (size_t k = 1; rc == 0 && k <= n; k++) {   /* prefix k with its last write torn */
        uint64_t end = xp_torn_end(x, &x->cand[k - 1]);
        if (!end)
            continue;
        memcpy(x->keep, x->cand, k * sizeof *x->keep);
        x->keep[k - 1].to = end;
        struct xp_verdict v;
        if ((rc = xp_state(x, p, x->keep, k, &v, err, errlen)) == 0 && v.fail)
            rc = xp_explain_torn(x, pi, k - 1, &v, pre, minus, err, errlen);
    }
    return rc;
}

/* ---- the run ------------------------------------------------------------------------------ */
static int xp_validate(const struct recorder_explore_config *cfg, char *err, size_t errlen)
{
    if (cfg->crash.model.tail != PL_TAIL_NONE || cfg->crash.model.lie)
        return PL_ERR(err, errlen, -EINVAL, "explore: --model %s: explore chooses the unsynced operations itself; "
                      "give the base rule, drop or ext4 (or xfs, btrfs)", pl_model_name(&cfg->crash.model));
    if (cfg->ops < 1 || cfg->ops > RECORDER_MAX_OPS || cfg->max_points < 1 || cfg->max_states < 1 || !cfg->crash.dir ||
        !(cfg->crash.seconds > 0 && cfg->crash.seconds <= 3600))
        return PL_ERR(err, errlen, -EINVAL, "explore: need --dir, 1..%u ops, --max-points and --max-states >= 1, "
                      "0 < seconds <= 3600", RECORDER_MAX_OPS);
    return 0;
}

/* The one run: it must end by itself, having acknowledged something. */
static int xp_record(struct xp *x, char *err, size_t errlen)
{
    struct target_trial *t = x->t;
    char snap[PATH_MAX + 16];
    snprintf(snap, sizeof snap, "%s/snap", t->base);
    if (mkdir(t->base, 0755) != 0 || mkdir(t->data, 0700) != 0)
        return PL_ERR(err, errlen, -errno, "mkdir(%s): %s", t->base, strerror(errno));
    int rc = recorder_journal_create(t->journal, err, errlen);
    if (rc || (x->ops->prepare && (rc = x->ops->prepare(t, err, errlen)) != 0) ||
        (rc = recorder_tree_copy(t->data, snap, err, errlen)) != 0)
        return rc;
    t->run_ns = (uint64_t)(x->cfg->crash.seconds * 1e9);
    t->exited = 0;
    t->exit_status = -1;
    long log_from = target_log_size(t);
    if ((rc = x->ops->run(t, err, errlen)) != 0)
        return rc;
    if (target_stopped())
        return PL_ERR(err, errlen, -EINTR, "interrupted");
    char tail[400], how[64];
    target_log_tail(t, log_from, tail, sizeof tail);
    target_status_text(t->exit_status, how, sizeof how);
    if (!t->exited)
        return PL_ERR(err, errlen, -ETIMEDOUT, "explore: the run did not end by itself within --seconds %g after %zu "
                      "acks (it must stop after $FSYNCLAB_OPS = %u acknowledgements)", x->cfg->crash.seconds,
                      t->nacks, x->cfg->ops);
    if (t->exit_status < 0 || !WIFEXITED(t->exit_status) || WEXITSTATUS(t->exit_status) != 0 || !t->nacks)
        return PL_ERR(err, errlen, -EIO, "explore: the run ended (%s) after %zu acks%s%s", how, t->nacks,
                      *tail ? "; its stderr ends: " : "", tail);
    x->nacks = t->nacks;
    x->out->acks = t->nacks;
    x->out->run.trials = x->out->run.trials_valid = 1;
    return 0;
}

static int xp_explore(struct xp *x, char *err, size_t errlen)
{
    char snap[PATH_MAX + 16];
    snprintf(snap, sizeof snap, "%s/snap", x->t->base);
    int rc = recorder_journal_open(x->t->journal, &x->j, err, errlen);
    if (rc)
        return rc;
    target_journal_flags(&x->j, &x->out->run);
    x->out->journal_records = x->j.n;
    if ((rc = recorder_ops_build(&x->j, snap, &x->rops, err, errlen)) != 0 ||
        (rc = recorder_sites_open(&x->j, &x->sites, err, errlen)) != 0 ||
        (rc = pl_engine_new(&x->rops.list, &x->e, err, errlen)) != 0)
        return rc;
    x->out->list_ops = x->rops.list.n - x->rops.list.nbase;
    x->out->run.unknown_opens = x->rops.unknown_opens;
    if ((rc = xp_ack_positions(x, err, errlen)) != 0 || (rc = xp_points(x, err, errlen)) != 0)
        return rc;
    for (size_t i = 0; rc == 0 && i < x->npts; i++)
        rc = xp_point(x, i, err, errlen);
    return rc;
}

static void xp_verdict(struct xp *x)
{
    struct recorder_explore_result *out = x->out;
    struct recorder_crash_result *r = &out->run;
    char *why = r->held_null_reason;
    size_t len = sizeof r->held_null_reason;
    out->held = -1;
    if (!out->acks)
        snprintf(why, len, "the run acknowledged nothing");
    else if (r->runs_without_writes)
        snprintf(why, len, "the run wrote and synced nothing under the data directory");
    else if (r->unseen_flags > r->unseen_flags_answered)
        snprintf(why, len, "the recorder could not see %llu call%s (first: %.150s)",
                 (unsigned long long)r->unseen_flags, r->unseen_flags == 1 ? "" : "s", r->unseen);
    else if (r->journal_torn_bytes)
        snprintf(why, len, "the journal ends in %llu torn bytes", (unsigned long long)r->journal_torn_bytes);
    else if (r->target_null_reason[0])
        snprintf(why, len, "%s", r->target_null_reason);
    else if (!out->states_checked)
        snprintf(why, len, "no state was checked (--max-states %u cut them all)", x->cfg->max_states);
    else if (r->promised_window_ms < 0 && !r->integrity_only)
        snprintf(why, len, "the promise gives no number to judge");
    if (why[0])
        return;
    out->held = 1;
    for (unsigned i = 0; i < out->nvulns; i++)
        if (out->vulns[i].breaks)
            out->held = 0;
}

static void xp_free(struct xp *x)
{
    for (size_t i = 0; i < x->seencap; i++)
        free(x->seen[i].found);
    free(x->seen);
    free(x->pts);
    free(x->cand);
    free(x->keep);
    free(x->vp);
    free(x->last_point);
    free(x->apos);
    free(x->ans);
    pl_state_free(&x->st);
    pl_engine_free(x->e);
    recorder_sites_free(x->sites);
    recorder_ops_free(&x->rops);
    if (x->j.base || x->j.recs)
        recorder_journal_close(&x->j);
}

/* The directories of the one trial, under run; sockets under sockroot. */
static int xp_paths(struct target_trial *t, const char *run, const char *sockroot, char *err, size_t errlen)
{
    if ((size_t)snprintf(t->base, sizeof t->base, "%s/t0", run) >= sizeof t->base ||
        (size_t)snprintf(t->data, sizeof t->data, "%s/data", t->base) >= sizeof t->data ||
        (size_t)snprintf(t->journal, sizeof t->journal, "%s/journal", t->base) >= sizeof t->journal ||
        (size_t)snprintf(t->sock, sizeof t->sock, "%s/t0", sockroot) >= sizeof t->sock)
        return PL_ERR(err, errlen, -ENAMETOOLONG, "explore: directory name %s too long", run);
    if (mkdir(t->sock, 0700) != 0)
        return PL_ERR(err, errlen, -errno, "mkdir(%s): %s", t->sock, strerror(errno));
    return 0;
}

static int xp_setup(const struct recorder_explore_config *cfg, struct recorder_explore_result *out,
                    const struct target_ops **ops, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const struct recorder_crash_config *cc = &cfg->crash;
    if (!(*ops = target_find(cc->target)))
        return PL_ERR(err, errlen, -EINVAL, "unknown target %s (contract, sqlite, redis, postgres, mariadb, rocksdb, lmdb)",
                      cc->target ? cc->target : "(none)");
    if (strcmp((*ops)->name, "contract") != 0 && strcmp((*ops)->name, "sqlite") != 0 &&
        strcmp((*ops)->name, "redis") != 0 && strcmp((*ops)->name, "rocksdb") != 0 && strcmp((*ops)->name, "lmdb") != 0)
        return PL_ERR(err, errlen, -EINVAL, "explore: target %s cannot end its workload by itself after --ops "
                      "acknowledgements yet; explore takes contract, sqlite, redis, rocksdb and lmdb", (*ops)->name);
    int rc = xp_validate(cfg, err, errlen);
    if (rc || (rc = target_check_keys(*ops, cc, err, errlen)) != 0)
        return rc;
    snprintf(out->run.target, sizeof out->run.target, "%s", (*ops)->name);
    snprintf(out->model, sizeof out->model, "%s", pl_model_name(&cc->model));
    out->run.model = cc->model;
    out->run.promised_window_ms = -1;
    return (*ops)->setup(cc, &out->run, err, errlen);
}

int target_explore_run(const struct recorder_explore_config *cfg, struct recorder_explore_result *out,
                       char *err, size_t errlen)
{
    const struct target_ops *ops;
    int rc = xp_setup(cfg, out, &ops, err, errlen);
    if (rc)
        return rc;
    struct target_trial t = {.cfg = &cfg->crash, .uid = getuid(), .gid = getgid(), .out = &out->run, .ops = cfg->ops};
    struct xp x = {.cfg = cfg, .ops = ops, .t = &t, .out = out};
    x.m = cfg->crash.model;   /* parsed once, by the command line (sector size included) */
    char run[PATH_MAX], sockroot[80];
    if ((rc = recorder_lib_path(t.lib, sizeof t.lib, err, errlen)) != 0 ||
        (rc = target_run_dir(&cfg->crash, run, sizeof run, err, errlen)) != 0)
        return rc;
    if ((rc = target_sock_root(sockroot, sizeof sockroot, err, errlen)) != 0) {
        recorder_tree_remove(run, NULL, 0);
        return rc;
    }
    uint64_t t0 = target_now_ns();
    target_guard(1);
    rc = xp_paths(&t, run, sockroot, err, errlen);
    if (rc == 0 && (rc = xp_record(&x, err, errlen)) == 0)
        rc = xp_explore(&x, err, errlen);
    xp_free(&x);
    for (size_t k = 0; k < t.nacks; k++)
        free(t.acks[k].key);
    free(t.acks);
    target_keyset_free(&t.late);
    target_reap_all();
    int sig = target_stopped();
    int rm = recorder_tree_remove(sockroot, rc ? NULL : err, errlen);
    rc = rc ? rc : rm;
    if (!cfg->crash.keep) {
        rm = recorder_tree_remove(run, rc ? NULL : err, errlen);
        rc = rc ? rc : rm;
    } else {
        fprintf(stderr, "fsynclab: --keep: the run's journal, snapshot and states are in %s/t0\n", run);
    }
    target_guard(0);
    if (sig) {
        fprintf(stderr, "fsynclab: %s: every program stopped and reaped, %s\n", sig == SIGINT ? "SIGINT" : "SIGTERM",
                cfg->crash.keep ? "the run's directory kept" : "the run's directory removed");
        signal(sig, SIG_DFL);
        raise(sig);
    }
    out->explore_s = (double)(target_now_ns() - t0) / 1e9;
    if (rc == 0)
        xp_verdict(&x);
    return rc;
}
