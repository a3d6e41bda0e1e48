/* DESIGN: --timeline for `crash` on fsynclab's own writer.
 *
 * crashsim calls back after each trial while its ledger still holds the
 * trial's events (crashsim_config.trial_done).  The capture keeps one
 * trial a strategy: --timeline-trial's, or the worst so far (a valid trial
 * before an invalid one, then the widest loss window, then the most
 * acknowledged entries lost), copying its write and ack times, its threads
 * and its syncs out of the ledger.  Memory is one trial's entries (18 bytes
 * each) and its last CRASHSIM_SYNC_LOG syncs, whatever the number of
 * trials.  After the run the kept trial is streamed into a view/ timeline
 * (pixel-column counters) and drawn.
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "view/view.h"

struct capture_trial {
    int have;
    uint32_t index;
    struct crashsim_trial_result r;
    uint64_t n;                  /* seqs kept: 1..n */
    uint64_t *write_ns, *ack_ns;
    uint16_t *lane;
    struct crashsim_sync_event *syncs;
    size_t nsyncs;
    uint64_t syncs_total;
    uint32_t entry_size;
    unsigned writers;
};

struct cli_capture {
    const struct cli *o;
    const struct wal_strategy *strategies;
    size_t n;
    struct capture_trial *t;     /* [n] */
};

int cli_timeline_trial(const char *arg, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = arg[0] >= '0' && arg[0] <= '9' ? strtoull(arg, &end, 10) : 0;
    if (arg[0] < '0' || arg[0] > '9' || errno || *end || v < 1 || v > CRASHSIM_MAX_TRIALS) {
        fprintf(stderr, "fsynclab: --timeline-trial must be a whole number from 1 to %u (the "
                "trial's number in the run), not \"%s\"\n(try fsynclab --help)\n",
                CRASHSIM_MAX_TRIALS, arg);
        return CLI_EXIT_USAGE;
    }
    *out = (uint32_t)v;
    return 0;
}

int cli_timeline_check(const struct cli *o)
{
    if (o->timeline && !view_timeline_format_ok(o->timeline))
        return cli_usage_error("--timeline: \"%s\" must end in .png or .svg", o->timeline);
    if (o->timeline_trial && !o->timeline && !o->html)
        return cli_usage_error("--timeline-trial needs --timeline FILE or --html FILE%s", "");
    if (o->timeline_trial && o->trials && o->timeline_trial > o->trials)
        return cli_usage_error("--timeline-trial: the run has fewer trials (see --trials)%s", "");
    if (o->html && !*o->html)
        return cli_usage_error("--html needs a file name%s", "");
    return 0;
}

void cli_timeline_path(const char *file, const char *strategy, size_t n, char *out, size_t outlen)
{
    if (n <= 1) {
        snprintf(out, outlen, "%s", file);
        return;
    }
    const char *dot = strrchr(file, '.');
    int stem = (int)(dot ? dot - file : (ptrdiff_t)strlen(file));
    snprintf(out, outlen, "%.*s-%s%s", stem, file, strategy, dot ? dot : "");
}

static void on_trial(void *arg, const struct crashsim_config *cfg, uint32_t index,
                     const struct crashsim_trial_result *r, const struct crashsim_ledger *l);

int cli_capture_new(const struct cli *o, const struct wal_strategy *strategies, size_t n,
                    struct crashsim_config *cfg, struct cli_capture **out)
{
    struct cli_capture *c = calloc(1, sizeof *c);
    if (!c || !(c->t = calloc(n, sizeof *c->t))) {
        free(c);
        fprintf(stderr, "fsynclab: timeline: out of memory\n");
        return CLI_EXIT_RUN;
    }
    c->o = o;
    c->strategies = strategies;
    c->n = n;
    cfg->trial_done = on_trial;
    cfg->trial_done_arg = c;
    *out = c;
    return 0;
}

static void trial_clear(struct capture_trial *t)
{
    free(t->write_ns);
    free(t->ack_ns);
    free(t->lane);
    free(t->syncs);
    memset(t, 0, sizeof *t);
}

void cli_capture_free(struct cli_capture *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        trial_clear(&c->t[i]);
    free(c->t);
    free(c);
}

/* Whether trial r is worse than the one kept. */
static int worse(const struct crashsim_trial_result *r, const struct capture_trial *kept)
{
    if (!kept->have)
        return 1;
    const struct verifier_trial *a = &r->verdict, *b = &kept->r.verdict;
    if ((a->invalid == VERIFIER_VALID) != (b->invalid == VERIFIER_VALID))
        return a->invalid == VERIFIER_VALID;
    if (a->loss_window_ns != b->loss_window_ns)
        return a->loss_window_ns > b->loss_window_ns;
    return a->acked_lost > b->acked_lost;
}

/* Copies the trial out of the ledger; on failure the strategy keeps none. */
static void keep(struct capture_trial *t, uint32_t index, const struct crashsim_config *cfg,
                 const struct crashsim_trial_result *r, const struct crashsim_ledger *l)
{
    trial_clear(t);
    uint64_t n = (r->ledger.intent_bytes + cfg->entry_size - 1) / cfg->entry_size;
    if (r->ledger.acked_max_seq > n)
        n = r->ledger.acked_max_seq;
    if (n > r->ledger.entries)
        n = r->ledger.entries;
    uint64_t total = crashsim_ledger_sync_count(l);
    uint64_t from = total > CRASHSIM_SYNC_LOG ? total - CRASHSIM_SYNC_LOG : 0;
    t->write_ns = malloc((n + 1) * sizeof *t->write_ns);
    t->ack_ns = malloc((n + 1) * sizeof *t->ack_ns);
    t->lane = malloc((n + 1) * sizeof *t->lane);
    t->syncs = malloc((total - from + 1) * sizeof *t->syncs);
    if (!t->write_ns || !t->ack_ns || !t->lane || !t->syncs) {
        trial_clear(t);
        return;
    }
    for (uint64_t s = 1; s <= n; s++) {
        t->write_ns[s - 1] = crashsim_ledger_write_ns(l, s);
        t->ack_ns[s - 1] = crashsim_ledger_ack_ns(l, s);
        t->lane[s - 1] = (uint16_t)crashsim_ledger_ack_lane(l, s);
    }
    for (uint64_t i = from; i < total; i++)
        if (crashsim_ledger_sync_event(l, i, &t->syncs[t->nsyncs]) == 0)
            t->nsyncs++;
    t->syncs_total = total;
    t->n = n;
    t->r = *r;
    t->index = index;
    t->entry_size = cfg->entry_size;
    t->writers = cfg->writers > 1 ? cfg->writers : 1;
    t->have = 1;
}

static void on_trial(void *arg, const struct crashsim_config *cfg, uint32_t index,
                     const struct crashsim_trial_result *r, const struct crashsim_ledger *l)
{
    struct cli_capture *c = arg;
    for (size_t i = 0; i < c->n; i++) {
        if (c->strategies[i].kind != cfg->strategy.kind ||
            c->strategies[i].interval_ms != cfg->strategy.interval_ms)
            continue;
        struct capture_trial *t = &c->t[i];
        if (c->o->timeline_trial ? index + 1 == c->o->timeline_trial : worse(r, t))
            keep(t, index, cfg, r, l);
        return;
    }
}

/* The settings printed on the picture. */
static void settings(struct view_timeline *tl, const struct cli *o, const struct capture_trial *t,
                     const struct bench_env *env, const struct verifier_summary *sum,
                     const char *name)
{
    char line[512];
    snprintf(line, sizeof line, "strategy %s, model %s, sync by %s, %u-byte entries, %u writer%s",
             name, pl_model_name(&o->model), wal_sync_method_name(o->sync_method),
             t->entry_size, t->writers, t->writers > 1 ? "s" : "");
    view_setting(tl, line);
    snprintf(line, sizeof line, "file system %s on %s%s%s", env->fs_type, env->device,
             env->warning[0] ? "  WARNING: " : "", env->warning);
    view_setting(tl, line);
    snprintf(line, sizeof line, "run seed %llu, trial seed %llu (replay: --seed %llu --trials %u)",
             (unsigned long long)o->seed, (unsigned long long)t->r.seed,
             (unsigned long long)o->seed, t->index + 1);
    view_setting(tl, line);
    if (sum->promised_window_ms < 0)
        snprintf(line, sizeof line, "promise: none (the strategy promises nothing)");
    else
        snprintf(line, sizeof line, "promise: %lld ms, allowance %.2f ms (promise + sync p99)",
                 (long long)sum->promised_window_ms, (double)sum->allowance_ns / 1e6);
    view_setting(tl, line);
    const struct verifier_trial *v = &t->r.verdict;
    snprintf(line, sizeof line, "acknowledged %llu, lost %llu, window %.3f ms%s",
             (unsigned long long)v->acked, (unsigned long long)v->acked_lost,
             (double)v->loss_window_ns / 1e6,
             v->invalid != VERIFIER_VALID ? " (trial not valid: could not have shown a loss)" : "");
    view_setting(tl, line);
    snprintf(line, sizeof line, "recovered %llu records of %llu written; durable prefix %llu bytes",
             (unsigned long long)v->recovered, (unsigned long long)v->written,
             (unsigned long long)t->r.ledger.durable_bytes);
    view_setting(tl, line);
}

/* The events of t into tl: the file's writes, each thread's acks and syncs. */
static int events(struct view_timeline *tl, const struct capture_trial *t)
{
    int file = view_lane(tl, "the log file: writes");
    int flusher = -1, first = -1;
    char name[48];
    for (unsigned w = 1; w <= t->writers; w++) {
        snprintf(name, sizeof name, "writer thread %u", w);
        int lane = view_lane(tl, name);
        if (lane < 0)
            return lane;
        if (first < 0)
            first = lane;
    }
    for (size_t i = 0; i < t->nsyncs && flusher < 0; i++)
        if (t->syncs[i].lane == 0 && (flusher = view_lane(tl, "the log's flusher")) < 0)
            return flusher;
    uint64_t durable = t->r.ledger.durable_bytes, crash = t->r.crash_ns;
    for (uint64_t s = 1; s <= t->n; s++) {
        if (t->write_ns[s - 1])
            view_mark(tl, file, s * t->entry_size <= durable ? VIEW_COVERED : VIEW_WRITE,
                      t->write_ns[s - 1]);
        if (t->ack_ns[s - 1]) {
            unsigned w = t->lane[s - 1];
            int lane = w >= 1 && w <= t->writers ? first + (int)w - 1 : first;
            view_mark(tl, lane, s > t->r.verdict.recovered ? VIEW_LOST : VIEW_ACK,
                      t->ack_ns[s - 1]);
        }
    }
    for (size_t i = 0; i < t->nsyncs; i++) {
        const struct crashsim_sync_event *e = &t->syncs[i];
        int lane = e->lane == 0 ? flusher : e->lane <= t->writers ? first + (int)e->lane - 1 : first;
        enum view_span k = !e->end_ns ? VIEW_SYNC_OPEN : e->rc ? VIEW_SYNC_FAILED : VIEW_SYNC;
        view_span(tl, lane, k, e->start_ns, e->end_ns ? e->end_ns : crash);
    }
    return 0;
}

int cli_capture_draw(struct cli_capture *c, size_t i, const struct bench_env *env,
                     const struct verifier_summary *sum, const char *path, char *err,
                     size_t errlen)
{
    const struct capture_trial *t = &c->t[i];
    if (!t->have)
        return -ENOENT;
    uint64_t t0 = t->r.start_ns, crash = t->r.crash_ns;
    uint64_t span = crash > t0 ? crash - t0 : 1000000;
    struct view_timeline *tl;
    int rc = view_timeline_new(t0, crash + span / 40 + 1, &tl);
    if (rc < 0) {
        snprintf(err, errlen, "timeline: %s", strerror(-rc));
        return rc;
    }
    char name[32], title[160];
    wal_strategy_name(&c->strategies[i], name, sizeof name);
    snprintf(title, sizeof title, "fsynclab crash: %s, trial %u of %u (%s)", name, t->index + 1,
             sum->trials, c->o->timeline_trial ? "chosen" : "the worst");
    view_title(tl, title);
    settings(tl, c->o, t, env, sum, name);
    if ((rc = events(tl, t)) < 0) {
        snprintf(err, errlen, "timeline: %s", strerror(-rc));
        view_timeline_free(tl);
        return rc;
    }
    view_kill(tl, crash);
    const struct verifier_trial *v = &t->r.verdict;
    if (v->oldest_lost_seq && v->oldest_lost_seq <= t->n)
        view_window(tl, t->ack_ns[v->oldest_lost_seq - 1], crash);
    char note[160];
    if (t->syncs_total > t->nsyncs) {
        snprintf(note, sizeof note, "%llu earlier syncs not drawn (the ledger keeps the last %u)",
                 (unsigned long long)(t->syncs_total - t->nsyncs), CRASHSIM_SYNC_LOG);
        view_note(tl, note);
    }
    if (!v->acked_lost)
        view_note(tl, "no acknowledged entry was lost in this trial: there is no loss window");
    rc = view_timeline_draw(tl, path, err, errlen);
    view_timeline_free(tl);
    return rc;
}

uint64_t cli_capture_acked(const struct cli_capture *c, size_t i)
{
    return c->t[i].have ? c->t[i].r.verdict.acked : 0;
}
