/* DESIGN: --timeline for `crash --vm`: what the host saw of a guest trial.
 * The guest's acknowledgements and syncs are console lines the host read
 * (so their times are the host's, a little after the guest's), a sync's
 * start is its end minus the duration the guest measured; the flushes are
 * the block log's, placed at the last poll of the log's size before the
 * log held them (the log itself has no clock).  Lost entries are those of
 * the image at the kill that lost the most.  Each strategy's trial to draw
 * is streamed into a view/ timeline as the trial ends, so memory is the
 * picture's, whatever the trials.
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "view/view.h"
#include "vm/vm.h"

struct vm_pick {
    struct view_timeline *tl;
    uint64_t window_ns, lost;
};

struct cli_vm_capture {
    const struct cli *o;
    const struct wal_strategy *strategies;
    size_t n;
    struct vm_pick pick[BENCH_MAX_STRATEGIES];
};

static struct view_timeline *vm_build(const struct cli *o, const struct vm_trial_events *ev,
                                      uint64_t oldest)
{
    uint64_t t0 = ev->ready_ns ? ev->ready_ns : ev->start_ns, kill = ev->kill_ns;
    for (size_t i = 0; i < ev->n_flushes; i++)
        if (ev->flush_ns[i] && ev->flush_ns[i] < t0)
            t0 = ev->flush_ns[i];
    struct view_timeline *tl;
    if (kill <= t0 || view_timeline_new(t0, kill + (kill - t0) / 40 + 1, &tl) < 0)
        return NULL;
    char name[32], line[200];
    wal_strategy_name(ev->strategy, name, sizeof name);
    snprintf(line, sizeof line, "fsynclab crash --vm: %s, trial %u (%s)", name, ev->index + 1,
             o->timeline_trial ? "chosen" : "the worst");
    view_title(tl, line);
    snprintf(line, sizeof line, "strategy %s in a QEMU guest (real kernel, ext4), sync by %s, "
             "%u-byte entries", name, wal_sync_method_name(o->sync_method), o->entry_size);
    view_setting(tl, line);
    snprintf(line, sizeof line, "run seed %llu (replay: --vm --seed %llu --trials %u)",
             (unsigned long long)o->seed, (unsigned long long)o->seed, ev->index + 1);
    view_setting(tl, line);
    snprintf(line, sizeof line, "image \"%s\": recovered %llu, lost %llu acknowledged", ev->image,
             (unsigned long long)ev->recovered, (unsigned long long)ev->lost);
    view_setting(tl, line);
    view_setting(tl, "time: the host's, from the guest being ready; flushes at the last poll "
                     "before the block log held them");
    int acks = view_lane(tl, "guest: acks (host saw)");
    int syncs = view_lane(tl, "guest: syncs (host saw)");
    int flushes = view_lane(tl, "virtual disk: flushes");
    for (uint64_t s = 1; s <= ev->entries; s++)
        if (ev->ack_ns[s])
            view_mark(tl, acks, s > ev->recovered ? VIEW_LOST : VIEW_ACK, ev->ack_ns[s]);
    for (size_t i = 0; i < ev->n_syncs; i++) {
        uint64_t end = ev->syncs[i].host_ns, dur = ev->syncs[i].dur_ns;
        view_span(tl, syncs, VIEW_SYNC, end > dur ? end - dur : end, end);
    }
    for (size_t i = 0; i < ev->n_flushes; i++)
        if (ev->flush_ns[i])
            view_mark(tl, flushes, VIEW_FLUSH, ev->flush_ns[i]);
    view_kill(tl, kill);
    if (oldest)
        view_window(tl, oldest, kill);
    else
        view_note(tl, "no image at the kill lost an acknowledged entry: no loss window");
    return tl;
}

static void vm_on_trial(void *arg, const struct vm_trial_events *ev)
{
    struct cli_vm_capture *c = arg;
    size_t i = 0;
    while (i < c->n && (c->strategies[i].kind != ev->strategy->kind ||
                        c->strategies[i].interval_ms != ev->strategy->interval_ms))
        i++;
    if (i == c->n)
        return;
    uint64_t oldest = 0;
    for (uint64_t s = ev->recovered + 1; s <= ev->entries; s++)
        if (ev->ack_ns[s] && (!oldest || ev->ack_ns[s] < oldest))
            oldest = ev->ack_ns[s];
    uint64_t window = oldest && ev->kill_ns > oldest ? ev->kill_ns - oldest : 0;
    struct vm_pick *p = &c->pick[i];
    if (c->o->timeline_trial ? ev->index + 1 != c->o->timeline_trial
                             : p->tl && (window < p->window_ns ||
                                         (window == p->window_ns && ev->lost <= p->lost)))
        return;
    struct view_timeline *tl = vm_build(c->o, ev, oldest);
    if (!tl)
        return;
    view_timeline_free(p->tl);
    p->tl = tl;
    p->window_ns = window;
    p->lost = ev->lost;
}

int cli_vm_capture_new(const struct cli *o, const struct wal_strategy *strategies, size_t n,
                       struct vm_config *cfg, struct cli_vm_capture **out)
{
    struct cli_vm_capture *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->o = o;
    c->strategies = strategies;
    c->n = n < BENCH_MAX_STRATEGIES ? n : BENCH_MAX_STRATEGIES;
    cfg->trial_done = vm_on_trial;
    cfg->trial_done_arg = c;
    *out = c;
    return 0;
}

void cli_vm_capture_free(struct cli_vm_capture *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        view_timeline_free(c->pick[i].tl);
    free(c);
}

int cli_vm_pictures(const struct cli *o, struct cli_vm_capture *c, cJSON *body)
{
    static char paths[BENCH_MAX_STRATEGIES][4096], captions[BENCH_MAX_STRATEGIES][96];
    static struct view_image images[BENCH_MAX_STRATEGIES];
    char base[4096], err[512] = "", name[32];
    snprintf(base, sizeof base, "%s", o->timeline ? o->timeline : "");
    if (!o->timeline)
        snprintf(base, sizeof base, "%s.timeline.png", o->html);
    size_t drawn = 0;
    int rc = 0;
    for (size_t i = 0; i < c->n && rc == 0; i++) {
        wal_strategy_name(&c->strategies[i], name, sizeof name);
        if (!c->pick[i].tl) {
            fprintf(stderr, "fsynclab: timeline: %s: no such trial was judged: no picture\n", name);
            continue;
        }
        cli_timeline_path(base, name, c->n, paths[drawn], sizeof paths[0]);
        if (view_timeline_draw(c->pick[i].tl, paths[drawn], err, sizeof err) < 0) {
            fprintf(stderr, "fsynclab: %s\n", err);
            rc = CLI_EXIT_RUN;
            break;
        }
        snprintf(captions[drawn], sizeof captions[0], "%s in the guest", name);
        images[drawn].path = paths[drawn];
        images[drawn].caption = captions[drawn];
        drawn++;
    }
    if (rc == 0 && o->html)
        rc = body ? cli_html(o->html, body, "fsynclab crash --vm", images, drawn) : CLI_EXIT_RUN;
    for (size_t i = 0; i < drawn && !o->timeline; i++)
        unlink(paths[i]);
    return rc;
}
