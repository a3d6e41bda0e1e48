/* target_fault: what a program did with an injected fault (--fault), and
 * what it lost (docs/fsync-failures.md).
 *
 * DESIGN.  A trial's journal says whether and when a fault fired (its
 * FAULT record).  The run says what the program did after it: an error
 * reply to its client (an `error KEY` line of the contract, a refused
 * command of a server), an exit or a dropped connection (crashed), no
 * acknowledgement after the fault while up (refused), acknowledgements
 * after it (went on); the journal whether it retried (a later successful
 * sync of the faulted file through the same descriptor).  What it lost is
 * judged on two states the engine builds from the snapshot and the journal
 * with the EIO rule (eio_pages_clean), both at the kill, both checked by
 * the target's own check:
 *   power cut  the run's model: what a power cut after the fault leaves;
 *   restart    the process model: no power cut, the kernel wrote back all
 *              it still could, so what is missing is what the fault cost
 *              (pages marked clean are never written, unless a later
 *              write dirtied them again).
 * A trial's class, from safe to worst:
 *   corrupts           a state the check could not recover
 *   retries-and-loses  acked keys missing after the restart, and it synced
 *                      the file again with success (the pages were clean)
 *   ignores-and-loses  acked keys missing after the restart, no retry
 *   ignores            went on acknowledging, told nobody, lost nothing here
 *   reports            told its client, stayed up, lost nothing
 *   stops              exited, dropped its client or refused further
 *                      writes, and lost nothing
 * ("lost nothing": or, for a program that promises a window, lost only
 * keys acknowledged within the allowance before the fault: its promise)
 * The run's classification is its worst trial's; null, with the reason,
 * when no trial's fault fired (N beyond the run's calls) or a trial's
 * states could not be judged.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "powerloss/powerloss.h"
#include "recorder/targets/internal.h"

const char *recorder_fault_class_name(unsigned c)
{
    static const char *const names[RECORDER_FAULT_NCLASSES] = {
        [RECORDER_FAULT_STOPS] = "stops", [RECORDER_FAULT_REPORTS] = "reports",
        [RECORDER_FAULT_IGNORES] = "ignores", [RECORDER_FAULT_RETRIES_AND_LOSES] = "retries-and-loses",
        [RECORDER_FAULT_IGNORES_AND_LOSES] = "ignores-and-loses", [RECORDER_FAULT_CORRUPTS] = "corrupts",
    };
    return c < RECORDER_FAULT_NCLASSES ? names[c] : "unknown";
}

int target_client_error(struct target_trial *t, uint64_t ns, const char *what, int lost)
{
    if (!t->cfg->faults.n)
        return 0;
    if (!t->client_error_ns)
        t->client_error_ns = ns;
    if (lost)   /* no answer: the program died or dropped its client, told it nothing */
        t->conn_lost = 1;
    else if (!t->client_errors++)
        snprintf(t->client_error, sizeof t->client_error, "%s", what);
    return 1;
}

static const char *fault_call_name(uint64_t call)
{
    static const char *const names[] = {"fsync", "fdatasync", "sync_file_range", "write"};
    return call < 4 ? names[call] : "unknown";
}

/* One state at the kill under model m, written, checked: *lost acked keys
 * missing (*oldest: the earliest ack of them), *ok the check recovered it. */
static int fault_state(const struct target_ops *ops, struct target_trial *t, struct pl_engine *e, size_t cut,
                       const struct pl_model *m, const char *name, uint64_t *lost, uint64_t *oldest, int *ok,
                       char *err, size_t errlen)
{
    int rc;
    char dir[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/%s", t->base, name);
    struct pl_state st = {0};
    if ((rc = pl_decide(e, m, cut, t->kill_ns, 1, &st, err, errlen)) == 0 &&
        (rc = pl_state_write(e, &st, dir, err, errlen)) == 0 && t->drop_privileges)
        rc = recorder_tree_chown(dir, t->uid, t->gid, err, errlen);
    pl_state_free(&st);
    struct target_keyset found = {0};
    if (rc == 0 && (rc = ops->check(t, dir, &found, ok, err, errlen)) == 0) {
        *lost = 0;
        *oldest = UINT64_MAX;
        for (size_t i = 0; i < t->nacks; i++)
            if (t->acks[i].ns <= t->kill_ns && !target_keyset_has(&found, t->acks[i].key)) {
                (*lost)++;
                if (t->acks[i].ns < *oldest)
                    *oldest = t->acks[i].ns;
            }
    }
    target_keyset_free(&found);
    if (!t->cfg->keep) {
        int rm = recorder_tree_remove(dir, rc ? NULL : err, errlen);
        rc = rc ? rc : rm;
    }
    return rc;
}

/* The two states of a trial whose fault fired: lost keys, and whether
 * both recovered. */
static int fault_states(const struct target_ops *ops, struct target_trial *t, const struct recorder_journal *j,
                        uint64_t *lost_power, uint64_t *lost_restart, uint64_t *oldest, int *ok, char *err,
                        size_t errlen)
{
    char snap[PATH_MAX + 16];
    snprintf(snap, sizeof snap, "%s/snap", t->base);
    struct recorder_ops o;
    struct pl_engine *e = NULL;
    int rc = recorder_ops_build(j, snap, &o, err, errlen);
    if (rc)
        return rc;
    int ok1 = 0, ok2 = 0;
    struct pl_model power = t->cfg->model, restart;
    power.eio_pages_clean = 1;   /* whatever the run's model says: this is the fault's state */
    if ((rc = pl_model_parse("process", &restart, err, errlen)) == 0 &&
        (rc = pl_engine_new(&o.list, &e, err, errlen)) == 0) {
        size_t cut = pl_cut_at(e, t->kill_ns);
        restart.sector = power.sector;
        uint64_t unused;
        rc = fault_state(ops, t, e, cut, &power, "fault-powercut", lost_power, &unused, &ok1, err, errlen);
        if (rc == 0)
            rc = fault_state(ops, t, e, cut, &restart, "fault-restart", lost_restart, oldest, &ok2, err, errlen);
    }
    *ok = ok1 && ok2;
    pl_engine_free(e);
    recorder_ops_free(&o);
    return rc;
}

/* The path an OPEN record bound handle to, or NULL. */
static const char *fault_path(const struct recorder_journal *j, uint64_t handle)
{
    for (size_t i = 0; i < j->n; i++)
        if (j->recs[i]->type == RECORDER_OPEN && j->recs[i]->handle == handle)
            return recorder_payload(j->recs[i]);
    return NULL;
}

/* A later successful sync of the faulted file, through any descriptor
 * opened on its path (PostgreSQL's checkpointer reopens files). */
static int fault_retried(const struct recorder_journal *j, size_t at, uint64_t handle)
{
    const char *path = fault_path(j, handle);
    for (size_t i = at + 1; i < j->n; i++) {
        const struct recorder_rec *r = j->recs[i];
        if (r->type != RECORDER_SYNC_END || r->aux != 0 || !r->handle)
            continue;
        const char *p = r->handle == handle ? path : fault_path(j, r->handle);
        if (r->handle == handle || (path && p && strcmp(p, path) == 0))
            return 1;
    }
    return 0;
}

/* 1 when record r (a WRITE) is to the file at path (r bound by an OPEN to it). */
static int fault_same_file(const struct recorder_journal *j, const struct recorder_rec *r, uint64_t handle,
                           const char *path)
{
    const char *p;
    return r->handle == handle || (path && (p = fault_path(j, r->handle)) && strcmp(p, path) == 0);
}

#define FAULT_PAGE 4096u
#define FAULT_MAX_PAGES 4096

/* The 4 KiB pages the failed sync dropped bytes of (writes of its file
 * after the file's last successful sync, before its begin) that a later
 * write, before the kill, dirtied again without writing all those bytes
 * itself.  That write carries them back to the disk (the page cache kept
 * them), in the engine as on Linux: the count says how often the page,
 * not the program's rewrite, saved them. */
struct fault_page { uint64_t page, lo, hi; int touched, covered; };

static void fault_page_lost(struct fault_page *pg, size_t *np, uint64_t page, uint64_t lo, uint64_t hi)
{
    size_t k = 0;
    while (k < *np && pg[k].page != page)
        k++;
    if (k == *np) {
        if (*np == FAULT_MAX_PAGES)
            return;
        pg[(*np)++] = (struct fault_page){page, lo, hi, 0, 0};
        return;
    }
    pg[k].lo = lo < pg[k].lo ? lo : pg[k].lo;
    pg[k].hi = hi > pg[k].hi ? hi : pg[k].hi;
}

static uint64_t fault_rewritten_pages(const struct recorder_journal *j, size_t at, uint64_t handle, uint64_t kill_ns)
{
    const char *path = fault_path(j, handle);
    size_t begin = at, from = 0;
    while (begin > 0 && !(j->recs[begin]->type == RECORDER_SYNC_BEGIN && j->recs[begin]->handle == handle))
        begin--;
    for (size_t i = begin; i-- > 0;)
        if (j->recs[i]->type == RECORDER_SYNC_END && j->recs[i]->aux == 0 &&
            fault_same_file(j, j->recs[i], handle, path)) {
            from = i + 1;
            break;
        }
    static struct fault_page pg[FAULT_MAX_PAGES];
    size_t np = 0;
    for (size_t i = from; i < begin; i++) {
        const struct recorder_rec *r = j->recs[i];
        if (r->type != RECORDER_WRITE || !r->len || !fault_same_file(j, r, handle, path))
            continue;
        for (uint64_t p = r->off / FAULT_PAGE; p <= (r->off + r->len - 1) / FAULT_PAGE; p++) {
            uint64_t lo = p * FAULT_PAGE > r->off ? p * FAULT_PAGE : r->off;
            uint64_t hi = (p + 1) * FAULT_PAGE < r->off + r->len ? (p + 1) * FAULT_PAGE : r->off + r->len;
            fault_page_lost(pg, &np, p, lo, hi);
        }
    }
    for (size_t i = at + 1; i < j->n && j->recs[i]->ns <= kill_ns; i++) {
        const struct recorder_rec *r = j->recs[i];
        if (r->type != RECORDER_WRITE || !r->len || !fault_same_file(j, r, handle, path))
            continue;
        for (size_t k = 0; k < np; k++) {
            if (pg[k].page < r->off / FAULT_PAGE || pg[k].page > (r->off + r->len - 1) / FAULT_PAGE)
                continue;
            pg[k].touched = 1;
            pg[k].covered |= r->off <= pg[k].lo && r->off + r->len >= pg[k].hi;
        }
    }
    uint64_t n = 0;
    for (size_t k = 0; k < np; k++)
        n += pg[k].touched && !pg[k].covered;
    return n;
}

static unsigned fault_class(int ok, uint64_t lost, int retried, int stopped, int reported, uint64_t after)
{
    if (!ok)
        return RECORDER_FAULT_CORRUPTS;
    if (lost)
        return retried ? RECORDER_FAULT_RETRIES_AND_LOSES : RECORDER_FAULT_IGNORES_AND_LOSES;
    if (stopped || (!reported && !after))
        return RECORDER_FAULT_STOPS;
    return reported ? RECORDER_FAULT_REPORTS : RECORDER_FAULT_IGNORES;
}

int target_fault_trial(const struct target_ops *ops, struct target_trial *t, const struct recorder_journal *j,
                       struct recorder_crash_result *out, char *err, size_t errlen)
{
    struct recorder_fault_result *f = &out->fault;
    size_t at = SIZE_MAX;
    for (size_t i = 0; i < j->n && at == SIZE_MAX; i++)
        if (j->recs[i]->type == RECORDER_FAULT)
            at = i;
    if (at == SIZE_MAX) {
        f->not_fired++;
        return 0;
    }
    const struct recorder_rec *r = j->recs[at];
    double ms = (double)(r->ns - j->recs[0]->ns) / 1e6;
    if (!f->fired++ || ms < f->fired_ms_min)
        f->fired_ms_min = ms;
    if (ms > f->fired_ms_max)
        f->fired_ms_max = ms;
    if (!f->call[0])
        snprintf(f->call, sizeof f->call, "%s", fault_call_name(r->len));
    /* Acks are timestamped when fsynclab reads them: one given just before
     * the fault may be read after it.  After the program's first error
     * report, an ack is surely a new one. */
    uint64_t from = t->client_error_ns > r->ns ? t->client_error_ns : r->ns, after = 0;
    for (size_t i = 0; i < t->nacks; i++)
        after += t->acks[i].ns > from && t->acks[i].ns <= t->kill_ns;
    int died = t->exited && t->exit_status >= 0 &&
               !(WIFEXITED(t->exit_status) && WEXITSTATUS(t->exit_status) == 0);
    int stopped = died || t->conn_lost;
    int reported = t->client_errors > 0, retried = fault_retried(j, at, r->handle);
    if (r->len != RECORDER_FAULT_WRITE)
        f->pages_rewritten += fault_rewritten_pages(j, at, r->handle, t->kill_ns);
    f->reported += reported;
    f->crashed += stopped;
    f->refused += !stopped && !after;
    f->went_on += after > 0;
    f->retried += retried;
    f->acked_after += after;
    uint64_t lost_power = 0, lost_restart = 0, oldest = UINT64_MAX;
    int ok = 0;
    int rc = fault_states(ops, t, j, &lost_power, &lost_restart, &oldest, &ok, err, errlen);
    if (rc)
        return rc;
    /* A program that promises a window (Redis everysec) may lose what it
     * acknowledged within it: a loss to the fault no older than the
     * allowance is within its promise, and does not make it a loser. */
    int within = lost_restart && out->promised_window_ms > 0 && oldest <= r->ns &&
                 (double)(r->ns - oldest) / 1e6 <= out->allowance_ms;
    f->within_promise += within;
    f->images += 2;
    f->images_ok += ok ? 2 : 0;
    if (lost_power > f->lost_power_max)
        f->lost_power_max = lost_power;
    if (lost_restart > f->lost_restart_max)
        f->lost_restart_max = lost_restart;
    f->lost_restart_total += lost_restart;
    f->classes[fault_class(ok, within ? 0 : lost_restart, retried, stopped, reported, after)]++;
    return 0;
}

void target_fault_verdict(struct recorder_crash_result *out)
{
    struct recorder_fault_result *f = &out->fault;
    f->classification = -1;
    if (!f->fired) {
        snprintf(f->null_reason, sizeof f->null_reason, "the fault never fired in %u trial%s: the run made "
                 "fewer such calls under the data directory (or none matched)", f->not_fired,
                 f->not_fired == 1 ? "" : "s");
        return;
    }
    for (int c = RECORDER_FAULT_NCLASSES - 1; c >= 0 && f->classification < 0; c--)
        if (f->classes[c])
            f->classification = c;
}
