/* DESIGN: the timeline, counted as it is filled, drawn with cairo.
 *
 * Every mark lands in a counter of its lane, kind and pixel column; every
 * span adds the part of each column it covers.  Drawing is then one pass
 * over the columns: a column with one mark is a thin tick, with many a
 * taller one (log scale), so 100,000 acknowledgements in 1,100 columns
 * stay one readable band.  A lane has three rows: syncs on top, the file's
 * writes and operations in the middle, acknowledgements at the bottom,
 * where the lost ones are red and drawn last, so that density never hides
 * them.
 */
#include "view/internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int view_timeline_new(uint64_t t0_ns, uint64_t t1_ns, struct view_timeline **out)
{
    if (t1_ns <= t0_ns)
        return -EINVAL;
    struct view_timeline *tl = calloc(1, sizeof *tl);
    if (!tl)
        return -ENOMEM;
    tl->t0 = t0_ns;
    tl->t1 = t1_ns;
    *out = tl;
    return 0;
}

void view_timeline_free(struct view_timeline *tl)
{
    if (!tl)
        return;
    for (int i = 0; i < tl->nlanes; i++)
        free(tl->lanes[i]);
    free(tl);
}

void view_title(struct view_timeline *tl, const char *title)
{
    snprintf(tl->title, sizeof tl->title, "%s", title);
}

void view_setting(struct view_timeline *tl, const char *line)
{
    if (tl->nsettings < VIEW_MAX_SETTINGS)
        snprintf(tl->settings[tl->nsettings++], sizeof tl->settings[0], "%s", line);
}

void view_note(struct view_timeline *tl, const char *note)
{
    size_t at = strlen(tl->notes);
    snprintf(tl->notes + at, sizeof tl->notes - at, "%s%s", at ? "; " : "", note);
}

int view_lane(struct view_timeline *tl, const char *name)
{
    if (tl->nlanes >= VIEW_MAX_LANES)
        return -ENOSPC;
    struct view_lane *l = calloc(1, sizeof *l);
    if (!l)
        return -ENOMEM;
    snprintf(l->name, sizeof l->name, "%s", name);
    tl->lanes[tl->nlanes] = l;
    return tl->nlanes++;
}

/* The column of ns, or -1 outside the range. */
static int column(const struct view_timeline *tl, uint64_t ns)
{
    if (ns < tl->t0 || ns > tl->t1)
        return -1;
    double x = (double)(ns - tl->t0) / (double)(tl->t1 - tl->t0) * VIEW_COLUMNS;
    int c = (int)x;
    return c >= VIEW_COLUMNS ? VIEW_COLUMNS - 1 : c;
}

void view_mark(struct view_timeline *tl, int lane, enum view_kind kind, uint64_t ns)
{
    if (lane < 0 || lane >= tl->nlanes || (unsigned)kind >= VIEW_KINDS)
        return;
    int c = column(tl, ns);
    if (c < 0) {
        tl->outside++;
        return;
    }
    struct view_lane *l = tl->lanes[lane];
    l->count[kind][c]++;
    if (l->count[kind][c] > tl->max_count)
        tl->max_count = l->count[kind][c];
    tl->total[kind]++;
}

void view_span(struct view_timeline *tl, int lane, enum view_span kind, uint64_t begin_ns,
               uint64_t end_ns)
{
    if (lane < 0 || lane >= tl->nlanes || (unsigned)kind >= VIEW_SPANS || end_ns < begin_ns ||
        end_ns < tl->t0 || begin_ns > tl->t1)
        return;
    if (begin_ns < tl->t0)
        begin_ns = tl->t0;
    if (end_ns > tl->t1)
        end_ns = tl->t1;
    double scale = (double)VIEW_COLUMNS / (double)(tl->t1 - tl->t0);
    double a = (double)(begin_ns - tl->t0) * scale, b = (double)(end_ns - tl->t0) * scale;
    struct view_lane *l = tl->lanes[lane];
    int ca = (int)a, cb = (int)b;
    if (cb >= VIEW_COLUMNS)
        cb = VIEW_COLUMNS - 1;
    if (ca >= VIEW_COLUMNS)
        ca = VIEW_COLUMNS - 1;
    for (int c = ca; c <= cb; c++) {
        double lo = a > c ? a : c, hi = b < c + 1 ? b : c + 1;
        /* A sync shorter than a column still shows: at least a sliver. */
        float part = hi > lo ? (float)(hi - lo) : 0.0f;
        l->cover[kind][c] += part > 0.05f ? part : 0.05f;
    }
    tl->spans[kind]++;
}

void view_kill(struct view_timeline *tl, uint64_t ns)
{
    tl->kill_ns = ns;
    tl->have_kill = 1;
}

void view_instant(struct view_timeline *tl, uint64_t ns, const char *label)
{
    if (tl->ninstants >= VIEW_MAX_INSTANTS)
        return;
    tl->instants[tl->ninstants].ns = ns;
    snprintf(tl->instants[tl->ninstants].label, sizeof tl->instants[0].label, "%s", label);
    tl->ninstants++;
}

void view_window(struct view_timeline *tl, uint64_t from_ns, uint64_t to_ns)
{
    tl->window_from = from_ns;
    tl->window_to = to_ns;
    tl->have_window = to_ns >= from_ns;
}

uint64_t view_count(const struct view_timeline *tl, enum view_kind kind)
{
    return (unsigned)kind < VIEW_KINDS ? tl->total[kind] : 0;
}

static int has_suffix(const char *path, const char *suffix)
{
    size_t n = strlen(path), m = strlen(suffix);
    return n > m && strcasecmp(path + n - m, suffix) == 0;
}

int view_timeline_format_ok(const char *path)
{
    return path && (has_suffix(path, ".png") || has_suffix(path, ".svg"));
}

int view_timeline_draw(const struct view_timeline *tl, const char *path, char *err, size_t errlen)
{
    if (!view_timeline_format_ok(path)) {
        if (err)
            snprintf(err, errlen, "timeline %s: the file name must end in .png or .svg", path);
        return -EINVAL;
    }
    return view_draw(tl, path, has_suffix(path, ".svg"), err, errlen);
}

/* ---- the colours and the layout, shared with draw.c ---------------------- */

const struct view_style view_kind_style[VIEW_KINDS] = {
    [VIEW_WRITE] = { "write, no completed sync covered it", 0.55, 0.55, 0.55, 1 },
    [VIEW_COVERED] = { "write covered by a completed sync", 0.10, 0.60, 0.20, 1 },
    [VIEW_FILE_WRITE] = { "write (journaled by the recorder)", 0.40, 0.40, 0.40, 1 },
    [VIEW_CREATE] = { "create", 0.00, 0.55, 0.75, 1 },
    [VIEW_RENAME] = { "rename", 0.55, 0.25, 0.75, 1 },
    [VIEW_UNLINK] = { "unlink", 0.85, 0.45, 0.00, 1 },
    [VIEW_FLUSH] = { "cache flush the disk received", 0.10, 0.60, 0.20, 1 },
    [VIEW_ACK] = { "acknowledged, survived", 0.15, 0.35, 0.85, 2 },
    [VIEW_LOST] = { "acknowledged, LOST", 0.90, 0.05, 0.05, 2 },
};

const struct view_style view_span_style[VIEW_SPANS] = {
    [VIEW_SYNC] = { "sync (call to return)", 0.95, 0.65, 0.10, 0 },
    [VIEW_SYNC_FAILED] = { "sync that failed", 0.60, 0.00, 0.00, 0 },
    [VIEW_SYNC_OPEN] = { "sync in flight at the cut", 0.80, 0.40, 0.90, 0 },
};

/* The tick's share of its row for a column of count marks: one mark a
 * third, the fullest column all of it. */
double view_density(const struct view_timeline *tl, uint32_t count)
{
    if (count == 0)
        return 0;
    if (tl->max_count <= 1)
        return 0.45;
    return 0.35 + 0.65 * log1p((double)count - 1) / log1p((double)tl->max_count - 1);
}
