/* DESIGN: --timeline for `crash --target`: one lane per file the program
 * touched (writes, syncs, creates, renames, unlinks, from the recorder's
 * journal), a lane of the acknowledgements fsynclab read from the program
 * (the keys the image at the kill lacked in red), the kill, and the
 * earlier cut points with what each image lost.
 *
 * The journal and the acks are the trial's own and gone after it, so the
 * trial to draw is streamed into a view/ timeline at once, whose memory is
 * its lanes' pixel columns; a worse trial later replaces it.  Past
 * TARGET_LANES files the rest share one lane, named with their number.
 */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "recorder/targets/targets.h"
#include "view/view.h"

#define TARGET_LANES 24

struct cli_target_capture {
    const struct cli *o;
    struct view_timeline *tl;
    unsigned index;
    uint64_t lost, window_ns;
    char err[256];
};

/* The files seen so far, by path, and their lanes. */
struct files {
    char *path[TARGET_LANES];
    int lane[TARGET_LANES];
    unsigned n, others;
    int other_lane;
    struct {
        uint64_t handle;
        int lane;
    } handles[256];
    unsigned nhandles;
};

static const char *short_name(const char *path, const char *data)
{
    size_t n = strlen(data);
    if (strncmp(path, data, n) == 0 && (path[n] == '\0' || (path[n] == '/' && !path[n + 1])))
        return "(the data directory)";
    if (strncmp(path, data, n) == 0 && path[n] == '/')
        return path + n + 1;
    return *path ? path : "(no name)";
}

static int file_lane(struct view_timeline *tl, struct files *f, const char *path, const char *data,
                     int *fresh)
{
    *fresh = 0;
    for (unsigned i = 0; i < f->n; i++)
        if (strcmp(f->path[i], path) == 0)
            return f->lane[i];
    *fresh = 1;
    if (f->n == TARGET_LANES) {
        f->others++;
        if (f->other_lane < 0)
            f->other_lane = view_lane(tl, "other files");
        return f->other_lane;
    }
    const char *name = short_name(path, data);
    size_t len = strlen(name);
    char label[48];
    snprintf(label, sizeof label, "%s%s", len > 24 ? "..." : "", len > 24 ? name + len - 21 : name);
    int lane = view_lane(tl, label);
    f->path[f->n] = strdup(path);
    if (!f->path[f->n])
        return -ENOMEM;
    f->lane[f->n++] = lane;
    return lane;
}

static int handle_lane(const struct files *f, uint64_t handle)
{
    for (unsigned i = f->nhandles; i-- > 0;)
        if (f->handles[i].handle == handle)
            return f->handles[i].lane;
    return -1;
}

static void bind_handle(struct files *f, uint64_t handle, int lane)
{
    for (unsigned i = 0; i < f->nhandles; i++)
        if (f->handles[i].handle == handle) {
            f->handles[i].lane = lane;
            return;
        }
    if (f->nhandles < sizeof f->handles / sizeof f->handles[0]) {
        f->handles[f->nhandles].handle = handle;
        f->handles[f->nhandles++].lane = lane;
    }
}

/* The sync that begins at recs[i], to its end (searched forward by handle
 * and sync id; none: still in flight at the kill). */
static void journal_sync(struct view_timeline *tl, int lane, const struct recorder_journal *j,
                         size_t i, uint64_t kill)
{
    const struct recorder_rec *b = j->recs[i], *e = NULL;
    for (size_t k = i + 1; k < j->n && !e; k++)
        if (j->recs[k]->type == RECORDER_SYNC_END && j->recs[k]->handle == b->handle &&
            j->recs[k]->off == b->off)
            e = j->recs[k];
    enum view_span kind = !e ? VIEW_SYNC_OPEN : e->aux ? VIEW_SYNC_FAILED : VIEW_SYNC;
    view_span(tl, lane, kind, b->ns, e ? e->ns : kill);
}

/* Record i of the journal onto its file's lane. */
static void journal_rec(struct view_timeline *tl, struct files *f, const struct recorder_journal *j,
                        size_t i, const char *data, int *all_lane, uint64_t kill)
{
    const struct recorder_rec *r = j->recs[i];
    const char *p = recorder_payload(r);
    int fresh, lane;
    switch (r->type) {
    case RECORDER_OPEN:
        lane = file_lane(tl, f, p, data, &fresh);
        bind_handle(f, r->handle, lane);
        if (fresh && (r->aux & O_CREAT))
            view_mark(tl, lane, VIEW_CREATE, r->ns);
        break;
    case RECORDER_WRITE:
    case RECORDER_TRUNCATE:
    case RECORDER_FALLOCATE:
        view_mark(tl, handle_lane(f, r->handle), VIEW_FILE_WRITE, r->ns);
        break;
    case RECORDER_SYNC_BEGIN:
        if (!r->handle && *all_lane < 0)
            *all_lane = view_lane(tl, "sync(), syncfs()");
        journal_sync(tl, r->handle ? handle_lane(f, r->handle) : *all_lane, j, i, kill);
        break;
    case RECORDER_RENAME:
        view_mark(tl, file_lane(tl, f, p, data, &fresh), VIEW_RENAME, r->ns);
        view_mark(tl, file_lane(tl, f, p + strlen(p) + 1, data, &fresh), VIEW_RENAME, r->ns);
        break;
    case RECORDER_UNLINK:
        view_mark(tl, file_lane(tl, f, p, data, &fresh), VIEW_UNLINK, r->ns);
        break;
    default:
        break;
    }
}

static void settings(struct view_timeline *tl, const struct cli *o,
                     const struct target_trial_events *ev)
{
    char line[160];
    size_t at = (size_t)snprintf(line, sizeof line, "target %s, model %s",
                                 o->target ? o->target : "contract",
                                 o->model_name ? o->model_name : "drop");
    for (unsigned i = 0; i < o->nsettings && at < sizeof line; i++)
        at += (size_t)snprintf(line + at, sizeof line - at, ", %s=%s", o->settings[i].key,
                               o->settings[i].value);
    view_setting(tl, line);
    snprintf(line, sizeof line, "run seed %llu (replay: --seed %llu --trials %u); %u cut points",
             (unsigned long long)o->seed, (unsigned long long)o->seed, ev->index + 1, ev->ncuts);
    view_setting(tl, line);
    size_t acked = 0;
    for (size_t i = 0; i < ev->nacks; i++)
        acked += ev->acks[i].ns <= ev->kill_ns;
    snprintf(line, sizeof line, "acknowledged before the kill %zu, lost at the kill %llu",
             acked, (unsigned long long)ev->lost_at[0]);
    view_setting(tl, line);
}

/* The trial into a new timeline; NULL when it could not be made. */
static struct view_timeline *build(struct cli_target_capture *c, const struct target_trial_events *ev)
{
    const struct recorder_journal *j = ev->journal;
    uint64_t t0 = ev->kill_ns, kill = ev->kill_ns;
    if (j->n && j->recs[0]->ns < t0)
        t0 = j->recs[0]->ns;
    for (size_t i = 0; i < ev->nacks; i++)
        if (ev->acks[i].ns < t0)
            t0 = ev->acks[i].ns;
    struct view_timeline *tl;
    if (view_timeline_new(t0, kill + (kill - t0) / 40 + 1, &tl) < 0)
        return NULL;
    char title[160];
    snprintf(title, sizeof title, "fsynclab crash --target %s: trial %u (%s)",
             c->o->target ? c->o->target : "contract", ev->index + 1,
             c->o->timeline_trial ? "chosen" : "the worst");
    view_title(tl, title);
    settings(tl, c->o, ev);
    int acks = view_lane(tl, "acknowledgements"), all = -1;
    struct files f = { .other_lane = -1 };
    for (size_t i = 0; i < j->n; i++)
        journal_rec(tl, &f, j, i, ev->data, &all, kill);
    uint64_t oldest = 0;
    for (size_t i = 0; i < ev->nacks; i++) {
        if (ev->acks[i].ns > kill)
            continue;
        view_mark(tl, acks, ev->lost[i] ? VIEW_LOST : VIEW_ACK, ev->acks[i].ns);
        if (ev->lost[i] && (!oldest || ev->acks[i].ns < oldest))
            oldest = ev->acks[i].ns;
    }
    view_kill(tl, kill);
    if (oldest)
        view_window(tl, oldest, kill);
    for (unsigned k = 1; k < ev->ncuts; k++) {
        char label[32];
        snprintf(label, sizeof label, "cut %u: lost %llu", k, (unsigned long long)ev->lost_at[k]);
        view_instant(tl, ev->cut[k], label);
    }
    char note[96];
    if (f.others) {
        snprintf(note, sizeof note, "%u more files share the lane \"other files\"", f.others);
        view_note(tl, note);
    }
    if (!oldest)
        view_note(tl, "the image at the kill lacked no acknowledged key: no loss window");
    for (unsigned i = 0; i < f.n; i++)
        free(f.path[i]);
    return tl;
}

static void on_trial(void *arg, const struct target_trial_events *ev)
{
    struct cli_target_capture *c = arg;
    uint64_t oldest = 0;
    for (size_t i = 0; i < ev->nacks; i++)
        if (ev->lost[i] && ev->acks[i].ns <= ev->kill_ns && (!oldest || ev->acks[i].ns < oldest))
            oldest = ev->acks[i].ns;
    uint64_t window = oldest ? ev->kill_ns - oldest : 0;
    if (c->o->timeline_trial ? ev->index + 1 != c->o->timeline_trial
                             : c->tl && (window < c->window_ns ||
                                         (window == c->window_ns && ev->lost_at[0] <= c->lost)))
        return;
    struct view_timeline *tl = build(c, ev);
    if (!tl)
        return;
    view_timeline_free(c->tl);
    c->tl = tl;
    c->index = ev->index;
    c->lost = ev->lost_at[0];
    c->window_ns = window;
}

int cli_target_capture_new(const struct cli *o, struct cli_target_capture **out)
{
    struct cli_target_capture *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->o = o;
    target_crash_on_trial(on_trial, c);
    *out = c;
    return 0;
}

int cli_target_capture_draw(struct cli_target_capture *c, const char *path, char *err,
                            size_t errlen)
{
    if (!c->tl)
        return -ENOENT;
    return view_timeline_draw(c->tl, path, err, errlen);
}

void cli_target_capture_free(struct cli_target_capture *c)
{
    target_crash_on_trial(NULL, NULL);
    if (c)
        view_timeline_free(c->tl);
    free(c);
}

int cli_target_pictures(const struct cli *o, struct cli_target_capture *c,
                        const struct bench_env *env, const struct recorder_crash_config *cfg,
                        const struct recorder_crash_result *res)
{
    char path[4096], err[512] = "";
    snprintf(path, sizeof path, "%s", o->timeline ? o->timeline : "");
    if (!o->timeline)
        snprintf(path, sizeof path, "%s.timeline.png", o->html);
    uint64_t t0 = wal_now_ns();
    int rc = cli_target_capture_draw(c, path, err, sizeof err), drawn = rc == 0;
    if (rc == -ENOENT)
        fprintf(stderr, "fsynclab: timeline: %s\n", o->timeline_trial
                ? "the run had no valid trial of that number: no picture"
                : "no trial acknowledged anything before its kill: no picture");
    else if (rc < 0) {
        fprintf(stderr, "fsynclab: %s\n", err);
        return CLI_EXIT_RUN;
    } else if (getenv("FSYNCLAB_TIMELINE_TIME"))
        fprintf(stderr, "timeline %s drawn in %.1f ms\n", path, (double)(wal_now_ns() - t0) / 1e6);
    rc = 0;
    if (o->html) {
        struct view_image im = { path, "the worst trial's timeline" };
        if (o->timeline_trial)
            im.caption = "the chosen trial's timeline";
        cJSON *body = report_recorder_body(env, cfg, res);
        rc = body ? cli_html(o->html, body, "fsynclab crash --target", &im, (size_t)drawn)
                  : CLI_EXIT_RUN;
        cJSON_Delete(body);
        if (!o->timeline && drawn)
            unlink(path);
    }
    return rc;
}
